"""Assemble the synthetic data set: performances -> clips -> xsub / xview splits on disk.

Every random draw comes from a seed derived from the sample's identity (seed,
subject, action, replication, camera), as SURREAL does per clip: a subject has the
same body in all its clips, and any subset of the set regenerates identically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.data.ntu import NTU_ACTIONS, XSUB_TRAIN_SUBJECTS, XVIEW_TRAIN_CAMERAS, format_sample_name
from ciasa.data.stgcn import save_split
from ciasa.data.synth.body import forward_kinematics, sample_body
from ciasa.data.synth.motions import ACTIONS, Action, PoseBuilder, Style, select_actions
from ciasa.data.synth.posture import add_posture_cues, class_signature
from ciasa.data.synth.realism import Realism
from ciasa.data.synth.scene import CAMERA_YAW_DEG, View, kinect_jitter, sample_view, to_camera_space
from ciasa.io import atomic_write_json

log = logging.getLogger(__name__)

FPS = 30.0
SETUP = 1
FORMAT = "ciasa-synth/2"  # 2: 30 classes (16 fine-grained ones added), --actions subsets


@dataclass(frozen=True)
class SynthConfig:
    seed: int = 0
    frames: int = 64
    bodies: int = 1
    subjects: tuple[int, ...] = tuple(range(1, 41))
    replications: int = 2
    cameras: tuple[int, ...] = (1, 2, 3)
    all_views: bool = False  # True: every performance seen by every camera (NTU-style)
    jitter_m: float = 0.008
    posture_cues: bool = True  # class-typical lean / weight shift (ciasa.data.synth.posture)
    actions: str = "all"  # 'all', 'gross', 'fine' or A-numbers '1,3,28'; labels 0..k-1 in ACTIONS order
    # measured sensor effects (ciasa.data.synth.realism); all off = the set as it always was
    realism: Realism = field(default_factory=Realism)

    def __post_init__(self) -> None:
        try:
            select_actions(self.actions)
        except ValueError as err:
            raise BadInput(f"--actions: {err}") from None
        if self.frames < 16:
            raise BadInput(f"--frames must be at least 16 (an action needs room), got {self.frames}")
        if self.bodies < 1:
            raise BadInput(f"--bodies must be at least 1, got {self.bodies}")
        if not self.subjects or min(self.subjects) < 1 or max(self.subjects) > 999:
            raise BadInput(f"subjects must be numbers 1..999, got {self.subjects}")
        if self.replications < 1:
            raise BadInput(f"--replications must be at least 1, got {self.replications}")
        bad = [c for c in self.cameras if c not in CAMERA_YAW_DEG]
        if bad or not self.cameras:
            raise BadInput(f"cameras must be among {sorted(CAMERA_YAW_DEG)}, got {self.cameras}")

    @property
    def action_list(self) -> tuple[Action, ...]:
        """The chosen classes, label order."""
        return select_actions(self.actions)


def class_names(actions: Sequence[Action] = ACTIONS) -> list[str]:
    return [NTU_ACTIONS[a.ntu_id - 1] for a in actions]


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def perform(
    seed: int, subject: int, label: int | Action, replication: int, frames: int, posture_cues: bool = True
) -> np.ndarray:
    """One performance in the subject's body frame, (T, 25, 3), before any camera.

    ``label`` indexes the full :data:`ACTIONS` (or is the action itself); the draws
    depend on the action's A-number, not on its label, so a class looks the same in
    every subset."""
    action = label if isinstance(label, Action) else ACTIONS[label]
    body = sample_body(_rng(seed, 1, subject))
    rng = _rng(seed, 2, subject, action.ntu_id, replication)
    t = np.arange(frames, dtype=float)
    start = rng.uniform(0.03, 0.14) * frames
    end = frames - 1 - rng.uniform(0.03, 0.14) * frames
    u = np.clip((t - start) / (end - start), 0.0, 1.0)
    warp = rng.uniform(-0.35, 0.35)  # the action speeds up / slows down within itself
    u = u + warp * np.sin(2 * np.pi * u) / (2 * np.pi)
    style = Style(amp=float(rng.uniform(0.82, 1.12)), jitter=0.022)
    builder = PoseBuilder(body, u, t / FPS, rng, style)
    if posture_cues:  # first, so hand-to-body targets of the action see the final trunk and head
        add_posture_cues(builder, class_signature(seed, action.ntu_id))
    action.motion(builder)
    return forward_kinematics(body, builder.build())


def render_clip(
    performance: np.ndarray,
    view: View,
    rng: np.random.Generator,
    jitter_m: float,
    bodies: int,
    realism: Realism | None = None,
    realism_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A performance seen from ``view``: (3, T, 25, bodies) float32, bodies beyond the first zero.

    ``realism`` (with its own ``realism_rng``, so the default draws stay as they were) adds
    bone wobble and dropouts, and with ``kinect_noise`` replaces the default jitter."""
    cam = to_camera_space(performance, view)
    if realism is not None and realism.on:
        if realism_rng is None:
            raise ValueError("render_clip: realism effects need their own realism_rng")
        cam = realism.apply(realism_rng, cam)
    if realism is not None and realism.kinect_noise:
        cam = cam + realism.noise(realism_rng, cam.shape[0])  # type: ignore[arg-type]
    else:
        cam = cam + kinect_jitter(rng, cam.shape[:2], jitter_m)
    clip = np.zeros((3, cam.shape[0], cam.shape[1], bodies), np.float32)
    clip[..., 0] = cam.transpose(2, 0, 1)
    return clip


@dataclass
class Sample:
    name: str
    label: int
    subject: int
    camera: int
    clip: np.ndarray
    view: View


def generate(config: SynthConfig, progress: bool = False) -> list[Sample]:
    """All samples of the set, in a fixed order (subject, action, replication, camera)."""
    from tqdm import tqdm

    actions = config.action_list
    jobs = []
    for subject in config.subjects:
        for label in range(len(actions)):
            for rep in range(1, config.replications + 1):
                if config.all_views:
                    cams = list(config.cameras)
                else:  # one sensor per performance, rotating so every camera gets its share
                    cams = [config.cameras[(subject + label + rep) % len(config.cameras)]]
                jobs.append((subject, label, rep, cams))
    samples: list[Sample] = []
    for subject, label, rep, cams in tqdm(jobs, desc="synth", unit="perf", disable=not progress):
        ntu_id = actions[label].ntu_id
        perf = perform(config.seed, subject, actions[label], rep, config.frames, config.posture_cues)
        for cam in cams:
            rng = _rng(config.seed, 3, subject, ntu_id, rep, cam)
            view = sample_view(rng, cam)
            extra = _rng(config.seed, 5, subject, ntu_id, rep, cam) if config.realism.on else None
            clip = render_clip(perf, view, rng, config.jitter_m, config.bodies, config.realism, extra)
            name = format_sample_name(SETUP, cam, subject, rep, ntu_id)
            samples.append(Sample(name, label, subject, cam, clip, view))
    return samples


def split_of(sample: Sample, benchmark: str) -> str:
    if benchmark == "xsub":
        return "train" if sample.subject in XSUB_TRAIN_SUBJECTS else "val"
    return "train" if sample.camera in XVIEW_TRAIN_CAMERAS else "val"


def write_dataset(out: str | Path, config: SynthConfig, progress: bool = True) -> dict:
    """Generate and write ``OUT/xsub``, ``OUT/xview``, ``OUT/views.json`` and ``OUT/meta.json``
    (last, so its presence means the set is complete); return the meta."""
    out = Path(out)
    t0 = time.perf_counter()
    samples = generate(config, progress=progress)
    gen_s = time.perf_counter() - t0
    actions = config.action_list
    names = class_names(actions)
    sizes: dict[str, dict[str, int]] = {}
    parts = {
        (b, split): [s for s in samples if split_of(s, b) == split]
        for b in ("xsub", "xview")
        for split in ("train", "val")
    }
    for (benchmark, split), part in parts.items():  # every split checked before any is written
        if not part:
            raise BadInput(
                f"{out}/{benchmark}: the {split} split is empty with subjects {list(config.subjects)} and "
                f"cameras {list(config.cameras)}; include training and test subjects/cameras"
            )
    for benchmark in ("xsub", "xview"):
        sizes[benchmark] = {}
        for split in ("train", "val"):
            part = parts[benchmark, split]
            save_split(
                out / benchmark,
                split,
                np.stack([s.clip for s in part]),
                [s.name for s in part],
                [s.label for s in part],
                names,
            )
            sizes[benchmark][split] = len(part)
    meta = {
        "format": FORMAT,
        "seed": config.seed,
        "frames": config.frames,
        "bodies": config.bodies,
        "fps": FPS,
        "layout": "ntu-rgb+d",
        "coordinates": "kinect camera space: metres, x to the sensor's left, y up, z away",
        "subjects": list(config.subjects),
        "replications": config.replications,
        "all_views": config.all_views,
        "cameras": {str(c): {"yaw_deg": CAMERA_YAW_DEG[c]} for c in config.cameras},
        "camera_views": "yaw = the subject's heading relative to facing the sensor; +45 = turned to its own left",
        "distance_m": [2.5, 4.0],
        "camera_height_m": [0.7, 1.2],
        "jitter_m": config.jitter_m,
        "posture_cues": config.posture_cues,
        **({"realism": config.realism.to_json()} if config.realism.on else {}),
        "actions": config.actions,
        "classes": [
            {"label": i, "ntu_action": f"A{a.ntu_id:03d}", "name": n} for i, (a, n) in enumerate(zip(actions, names))
        ],
        "xsub_train_subjects": list(XSUB_TRAIN_SUBJECTS),
        "xview_train_cameras": list(XVIEW_TRAIN_CAMERAS),
        "sizes": sizes,
        "samples": len(samples),
        "generation_seconds": round(gen_s, 3),
    }
    # per clip: where the sensor stood, so a renderer can put the floor and camera back
    atomic_write_json(out / "views.json", {s.name: s.view.to_json() for s in samples})
    atomic_write_json(out / "meta.json", meta)
    log.info("wrote %d samples to %s in %.1f s", len(samples), out, time.perf_counter() - t0)
    return meta


def parse_subjects(text: str) -> tuple[int, ...]:
    """'1-40' or '1,2,5-8' -> tuple of ints."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise BadInput(f"cannot read subject list {text!r} (use e.g. 1-40 or 1,2,5-8)") from None
    return tuple(sorted(set(out)))
