"""Render one skeleton clip to a video: input checks, framing, scene, figures, encoding.

:class:`Renderer` holds one Blender session; call :meth:`Renderer.render` once per clip
(batch mode calls it many times, reusing the built bodies).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ciasa.camera import Camera
from ciasa.io import atomic_path, atomic_write_json
from render.retarget import J, LAYOUT, assemble_joints, blender_to_kinect, joint_error, retarget, subject_size
from render.scene_params import scene_params, seed_from_name

log = logging.getLogger(__name__)

BODIES = ("default", "makehuman")
RENDER_FORMAT = "ciasa-render/1"
# Extra room the mesh needs around its joints when checking the framing (metres):
# the crown of the head sits ~12 cm above Kinect's head joint, soles ~5 cm below the feet.
_HEAD_TOP = 0.13
_MAX_AUTO_HFOV = 120.0


class RenderInputError(ValueError):
    """The skeleton cannot be rendered (bad file, shape, values)."""


@dataclass
class RenderOptions:
    body: str = "default"
    engine: str = "workbench"
    width: int = 480
    height: int = 360
    hfov: float = 70.0
    fps: float = 30.0
    adapt_fov: bool = False
    cycles_samples: int = 16
    cycles_denoise: bool = True
    cycles_device: str = "auto"
    crf: int = 18
    # FXAA renders ~2x faster than 8 samples here and looks the same at 480x360.
    workbench_aa: str = "FXAA"

    def __post_init__(self) -> None:
        from render.blender import ENGINES

        if self.body not in BODIES:
            raise ValueError(f"unknown body {self.body!r} (known: {', '.join(BODIES)})")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r} (known: {', '.join(ENGINES)})")
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(f"resolution must be even and at least 16x16 (H.264 yuv420p), got {self.width}x{self.height}")
        if not 1.0 < self.hfov < 179.0:
            raise ValueError(f"--hfov must lie in (1, 179) degrees, got {self.hfov}")
        if not (self.fps > 0 and math.isfinite(self.fps)):
            raise ValueError(f"--fps must be positive, got {self.fps}")


def parse_resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"resolution must look like 480x360, got {text!r}") from None
    return w, h


def load_skeleton(path: str | Path) -> np.ndarray:
    """Read a ``(3, T, 25, M)`` clip (.npy); errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise RenderInputError(f"{path}: skeleton file not found")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise RenderInputError(f"{path}: not a readable .npy array: {err}") from None
    return check_clip(arr, str(path))


def check_clip(arr: np.ndarray, source: str = "<array>") -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 3:  # a single body (3, T, 25)
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[0] != 3 or arr.shape[2] != LAYOUT.num_joints:
        raise RenderInputError(
            f"{source}: expected an NTU clip of shape (3, T, {LAYOUT.num_joints}, M) "
            f"(x, y, z in metres, Kinect camera space), got {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise RenderInputError(f"{source}: expected numbers, got dtype {arr.dtype}")
    if arr.shape[1] == 0 or arr.shape[3] == 0:
        raise RenderInputError(f"{source}: empty sequence (shape {arr.shape})")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        t = np.nonzero(bad.any(axis=(0, 2, 3)))[0]
        raise RenderInputError(f"{source}: {int(bad.sum())} NaN/inf values (first in frame {int(t[0])})")
    return arr


def trim_padding(clip: np.ndarray) -> tuple[np.ndarray, int]:
    """Drop the trailing all-zero frames (NTU pads every clip to 300 frames)."""
    nonzero = np.nonzero(np.any(clip != 0.0, axis=(0, 2, 3)))[0]
    if len(nonzero) == 0:
        return clip[:, :0], clip.shape[1]
    end = int(nonzero[-1]) + 1
    return clip[:, :end], clip.shape[1] - end


def fill_missing_joints(clip: np.ndarray) -> tuple[np.ndarray, int]:
    """Joints at exactly (0, 0, 0) inside a tracked body (a tracker's dropout) take the same
    joint's value from the nearest frame that has it, or else their parent's position."""
    clip = clip.copy()
    filled = 0
    for m in range(clip.shape[3]):
        body = clip[..., m]  # (3, T, V)
        present = np.any(body != 0.0, axis=(0, 2))
        missing = np.all(body == 0.0, axis=0) & present[:, None]  # (T, V)
        if not missing.any():
            continue
        for v in np.nonzero(missing.any(axis=0))[0]:
            have = np.nonzero(present & ~missing[:, v])[0]
            for t in np.nonzero(missing[:, v])[0]:
                if len(have):
                    src = have[np.argmin(np.abs(have - t))]
                    body[:, t, v] = body[:, src, v]
                filled += 1
        for v in [j for level in LAYOUT.tree_levels[1:] for j in level]:  # parents first
            still = np.all(body[:, :, v] == 0.0, axis=0) & present
            body[:, still, v] = body[:, still, LAYOUT.parents[v]]
    return clip, filled


def _framing_points(clip: np.ndarray, present: np.ndarray, bodies: list[int]) -> np.ndarray:
    """Every tracked joint plus the crown of each head (N, 3), Kinect space."""
    pts = [clip[..., m][:, present[:, m]].transpose(1, 2, 0).reshape(-1, 3) for m in bodies]
    crowns = [clip[..., m][:, present[:, m], J["head"]].T + [0.0, _HEAD_TOP, 0.0] for m in bodies]
    return np.concatenate(pts + crowns)


def _outside(camera: Camera, points: np.ndarray) -> np.ndarray:
    uv = camera.project(points)
    return ~((uv[:, 0] >= 0) & (uv[:, 0] <= camera.width) & (uv[:, 1] >= 0) & (uv[:, 1] <= camera.height))


def required_hfov(points: np.ndarray, width: int, height: int) -> float:
    """Smallest horizontal FOV (degrees) that keeps Kinect-space ``points`` (N, 3) in the image."""
    z = points[:, 2]
    tx = np.max(np.abs(points[:, 0] / z))
    ty = np.max(np.abs(points[:, 1] / z)) * width / height
    return math.degrees(2.0 * math.atan(max(tx, ty)))


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Blender prints a few lines per rendered frame on the C-level stdout; keep stdout clean."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


@dataclass
class ClipReport:
    """What render.json holds."""

    format: str = RENDER_FORMAT
    source: str = ""
    video: str = ""
    frames_rendered: int = 0
    frames_input: int = 0
    trimmed_padding_frames: int = 0
    hidden_frames: list[int] = field(default_factory=list)
    bodies: int = 0
    body: str = "default"
    engine: str = "workbench"
    width: int = 0
    height: int = 0
    fps: float = 30.0
    hfov_deg: float = 70.0
    seed: int = 0
    scene_id: str | None = None
    scene: dict = field(default_factory=dict)
    retarget_error_mm: dict = field(default_factory=dict)
    blender_joint_error_mm: float | None = None
    out_of_frame_fraction: float = 0.0
    warnings: list[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


def _body_factory(body: str, appearance):
    """(cache key, builder) of the body for one appearance: the default body is one mesh
    for everyone, MakeHuman bodies differ by gender and shape."""
    if body == "default":
        from render.body_default import build_default_body

        return ("default",), build_default_body
    import functools

    from render.body_makehuman import build_makehuman_body

    return ("makehuman", appearance.gender, appearance.makehuman_shape), functools.partial(
        build_makehuman_body, shape=appearance.makehuman_shape, gender=appearance.gender)


class Renderer:
    """A Blender session that renders clips one after another."""

    def __init__(self, options: RenderOptions | None = None):
        from render.blender import BlenderSession

        self.options = options or RenderOptions()
        t0 = time.perf_counter()
        with _quiet_stdout():
            self.session = BlenderSession(self.options.engine, self.options.width, self.options.height,
                                          self.options.cycles_samples, self.options.cycles_denoise,
                                          self.options.cycles_device, self.options.workbench_aa)
        self.startup_s = time.perf_counter() - t0

    def render(self, clip: np.ndarray, out: str | Path, *, seed: int | None = None, scene_id: str | None = None,
               frames_dir: str | Path | None = None, source: str = "<array>", verify_frames: int = 3,
               reference: np.ndarray | None = None) -> ClipReport:
        """Render ``clip`` (3, T, 25, M) to ``out`` (.mp4) plus ``.camera.json`` and ``.render.json``.

        ``reference`` (the clean version of a perturbed clip) fixes the floor height, the
        back wall and the figures' girth, so that the clean and the perturbed render of
        one clip differ only where the skeletons differ.
        """
        opt = self.options
        times: dict[str, float] = {}
        t_start = time.perf_counter()
        out = Path(out)
        if out.suffix.lower() != ".mp4":
            raise RenderInputError(f"{out}: the output must be an .mp4 file")
        clip = check_clip(clip, source)
        frames_input = clip.shape[1]
        clip, trimmed = trim_padding(clip)
        if clip.shape[1] == 0:
            raise RenderInputError(f"{source}: empty sequence: all {frames_input} frames are zero")
        clip, n_filled = fill_missing_joints(clip)
        if scene_id is None and seed is None:
            scene_id = out.stem
        if seed is None:
            seed = seed_from_name(scene_id)
        n_frames = clip.shape[1]
        bodies = [m for m in range(clip.shape[3]) if np.any(clip[..., m] != 0.0)]
        present = np.zeros((n_frames, clip.shape[3]), dtype=bool)
        for m in bodies:
            present[:, m] = np.any(clip[..., m] != 0.0, axis=(0, 2))
        report = ClipReport(source=source, video=str(out), frames_rendered=n_frames, frames_input=frames_input,
                            trimmed_padding_frames=trimmed, bodies=len(bodies), body=opt.body, engine=opt.engine,
                            width=opt.width, height=opt.height, fps=opt.fps, seed=int(seed), scene_id=scene_id)
        report.hidden_frames = [int(t) for t in np.nonzero(~present.any(axis=1))[0]]
        if report.hidden_frames:
            report.warnings.append(f"{len(report.hidden_frames)} frames without any tracked body: rendered empty")
        if trimmed:
            log.info("%s: trimmed %d trailing zero frames", source, trimmed)
        if n_filled:
            report.warnings.append(f"{n_filled} joint positions at (0, 0, 0) inside tracked bodies: "
                                   "taken from the nearest frame with that joint")

        geo = clip
        if reference is not None:
            geo, _ = trim_padding(check_clip(reference, f"{source} (reference)"))
            geo, _ = fill_missing_joints(geo)
            if geo.shape[3] != clip.shape[3] or geo.shape[1] == 0:
                raise RenderInputError(f"{source}: the reference clip has shape {geo.shape}, "
                                       f"which does not match the clip's {clip.shape}")
        geo_present = np.any(geo != 0.0, axis=(0, 2))  # (T, M)
        geo_bodies = [m for m in range(geo.shape[3]) if geo_present[:, m].any()] or bodies
        if reference is None or not geo_present.any():
            geo, geo_present, geo_bodies = clip, present, bodies
        # Every tracked joint, plus the crown above the head, must be in front of the sensor.
        check_pts = _framing_points(clip, present, bodies)
        if np.any(check_pts[:, 2] <= 0.1):
            raise RenderInputError(f"{source}: joints at or behind the sensor (z <= 0.1 m): "
                                   "not Kinect camera space (x left, y up, z away, metres)?")
        # The view is widened (--adapt-fov) to hold the reference's motion, so the clean and
        # the perturbed render of a clip keep one camera.
        fit_pts = check_pts if reference is None else _framing_points(geo, geo_present, geo_bodies)
        hfov = opt.hfov
        if opt.adapt_fov and _outside(Camera.from_fov(opt.width, opt.height, hfov), fit_pts).any():
            need = required_hfov(fit_pts, opt.width, opt.height) * 1.03
            hfov = min(need, _MAX_AUTO_HFOV)
            report.warnings.append(f"motion leaves the {opt.hfov:.1f} deg view: widened to {hfov:.1f} deg")
        camera = Camera.from_fov(opt.width, opt.height, hfov, fps=opt.fps)
        outside = _outside(camera, check_pts)
        if outside.any():
            report.out_of_frame_fraction = float(outside.mean())
            need = required_hfov(check_pts, opt.width, opt.height) * 1.03
            report.warnings.append(
                f"{outside.mean() * 100:.1f} % of joint positions fall outside the {hfov:.1f} deg view "
                f"(a {need:.1f} deg view would hold them{'' if opt.adapt_fov else '; pass --adapt-fov'})"
            )
        report.hfov_deg = hfov

        params = scene_params(int(seed), bodies=max(len(bodies), 1))
        report.scene = params.to_json()
        feet = [J["left_foot"], J["right_foot"], J["left_ankle"], J["right_ankle"]]
        floor_y = min(float(geo[1, :, feet, m][:, geo_present[:, m]].min()) for m in geo_bodies)
        floor_z = floor_y - 0.04
        max_depth = max(float(geo[2, :, :, m][geo_present[:, m]].max()) for m in geo_bodies)
        wall_y = max(max_depth + 2.0, 4.5)
        # The rendered floor, in the camera file like Kinect's FloorClipPlane: a x + b y + c z + d = 0.
        camera = Camera(**{**asdict(camera), "extra": {
            "renderer": "render", "engine": opt.engine, "body": opt.body,
            "floor_plane": [0.0, 1.0, 0.0, -floor_z], "floor_normal": [0.0, 1.0, 0.0], "floor_offset": floor_z}})
        sess = self.session
        sess.set_camera(camera.fx, opt.width, opt.height)
        sess.set_scene(params, floor_z=floor_z, wall_y=wall_y, fps=opt.fps)

        t0 = time.perf_counter()
        used = set()
        figures = []
        errors = []
        for k, m in enumerate(bodies):
            joints = clip[..., m].transpose(1, 2, 0)  # (T, 25, 3)
            appearance = params.appearances[k]
            variant, factory = _body_factory(opt.body, appearance)
            key = (*variant, k)
            with _quiet_stdout():
                fig = sess.figure(key, factory)
            size = None
            if reference is not None and geo_present[:, m].any():
                size = subject_size(geo[..., m].transpose(1, 2, 0), fig.rest)
            motion = retarget(joints, fig.rest, build=appearance.build, size=size)
            report.warnings.extend(f"body {m}: {w}" for w in motion.warnings)
            sess.animate(fig, motion, appearance)
            used.add(key)
            figures.append((m, fig, motion, joints))
            err = joint_error(motion, joints)
            errors.append(err)
        sess.hide_unused(used)
        report.retarget_error_mm = {
            "max": round(max(e["max_m"] for e in errors) * 1000, 4),
            "mean": round(float(np.mean([e["mean_m"] for e in errors])) * 1000, 4),
            "max_nonterminal": round(max(e["max_nonterminal_m"] for e in errors) * 1000, 4),
        }
        if report.retarget_error_mm["max"] > 1.0:
            report.warnings.append(
                f"posed joints differ from the input by up to {report.retarget_error_mm['max']:.1f} mm "
                "(bones whose input length left the drawable band around their median length)"
            )
        # Read the pose back from Blender on a few frames: the keyed armature must hit the input.
        worst = 0.0
        for m, fig, motion, joints in figures:
            tracked = np.nonzero(motion.present)[0]
            for t in tracked[np.linspace(0, len(tracked) - 1, min(verify_frames, len(tracked))).astype(int)]:
                h, tl = sess.posed_joints(fig, int(t) + 1)
                posed = assemble_joints(h, tl)
                worst = max(worst, float(np.abs(np.linalg.norm(blender_to_kinect(posed) - joints[t], axis=-1)).max()))
        report.blender_joint_error_mm = round(worst * 1000, 4) if figures else None
        times["retarget_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        keep = frames_dir is not None
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(frames_dir) if keep else Path(tempfile.mkdtemp(prefix=f".{out.stem}.frames.", dir=out.parent))
        work.mkdir(parents=True, exist_ok=True)
        for stale in work.glob("[0-9][0-9][0-9][0-9][0-9][0-9].png"):
            stale.unlink()
        try:
            from tqdm import tqdm

            with tqdm(total=n_frames, desc=f"render {out.stem}", unit="frame", leave=False,
                      disable=None) as bar, _quiet_stdout():
                sess.render_frames(work, n_frames, progress=bar)
            times["render_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            from ciasa.video import encode_png_frames

            with atomic_path(out) as tmp:
                encode_png_frames(work, tmp, opt.fps, crf=opt.crf)
                camera.save(out.with_suffix(".camera.json"))
            times["encode_s"] = time.perf_counter() - t0
        finally:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)
        times["total_s"] = time.perf_counter() - t_start
        times["per_frame_render_s"] = times["render_s"] / n_frames
        report.seconds = {k: round(v, 4) for k, v in times.items()}
        for w in report.warnings:
            log.warning("%s: %s", out.name, w)
        atomic_write_json(out.with_suffix(".render.json"), asdict(report))
        return report


def render_clip(skeleton: str | Path | np.ndarray, out: str | Path, options: RenderOptions | None = None, *,
                seed: int | None = None, scene_id: str | None = None, frames_dir: str | Path | None = None,
                reference: str | Path | np.ndarray | None = None) -> ClipReport:
    """One clip, one Blender session: the Python form of ``python -m render``."""
    if isinstance(skeleton, (str, Path)):
        source = str(skeleton)
        clip = load_skeleton(skeleton)
    else:
        source, clip = "<array>", check_clip(skeleton)
    if isinstance(reference, (str, Path)):
        reference = load_skeleton(reference)
    renderer = Renderer(options)
    report = renderer.render(clip, out, seed=seed, scene_id=scene_id, frames_dir=frames_dir, source=source,
                             reference=reference)
    report.seconds["startup_s"] = round(renderer.startup_s, 4)
    atomic_write_json(Path(out).with_suffix(".render.json"), asdict(report))
    return report
