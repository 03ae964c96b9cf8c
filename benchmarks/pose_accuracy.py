"""Pose extraction accuracy on renders of the synthetic set's validation clips.

For a few clips per camera view (the synthetic set's cameras sit at yaw 0 and +-45 deg,
like NTU's), the clip is rendered with the default body (``python -m render``),
extracted (``pose_extract.extract``), and compared with the source skeleton:

* detection rate;
* PA-MPJPE: per-frame similarity Procrustes fitted on, and measured over, all 25 joints
  (the usual definition; ``pa_mpjpe_all_fit_all_mm``), over the 12 limb joints BlazePose
  observes directly (shoulders, elbows, wrists, hips, knees, ankles; fitted on those), and
  over all 25 joints moved by the similarity fitted on the 12;
* camera-space MPJPE, no alignment at all, over the 12 and over all 25 joints;
* signed root (spine base) depth error, metres and % of the true depth;
* left/right swap rate in camera space (``pose_extract.accuracy.swapped_frames``);
* per-joint and per-axis errors; extraction speed in frames/s per CPU core.

The videos and MediaPipe's raw landmarks are cached under ``--work`` (re-rendered when the
data set's clip changes); the variants (the defaults, chosen on real motion; the previous
defaults; with the refiner; with the body-size prior; both; without jump rejection; the
facing prior off or per-frame; without the ray lifting; a prior measured on the training
split; the renderer's floor plane; the synthetic set's own floor from ``views.json``) are
re-lifted from the cached landmarks, so they compare on the very same detections.

The real-motion clips (``--real``, default ``../shared/real_motion`` when present; see
``benchmarks/pose_real.py``) are measured the same way and written beside the synthetic
numbers under ``real_motion`` in the same JSON.

The validation clips are spread over the classes (``--classes`` narrows them, e.g. to the
fine-grained ones); errors are also reported per class group (the synthetic set's gross-motion
and fine-grained classes).

``--tune`` fits the mapping constants of :mod:`pose_extract.landmarks` on renders of
*training* clips (never the validation clips the numbers are reported on) and prints
them; the defaults in that module were set from its output. ``--fit-refiner`` renders
the training clips of its ``--fit-draw`` samples and fits the pose refiner
(:mod:`pose_extract.refine`) on them; the packaged one came from

    python benchmarks/pose_accuracy.py --fit-refiner --fit-draw gross@1:150 --fit-draw fine:120 --fit-perturbed 100

(the first draw is the 14-class set's sample the refiner was first fitted on, so its renders
are reused; the second adds the 16 fine-grained classes).

    python benchmarks/pose_accuracy.py                 # numbers (320x240, 6 clips per view) -> benchmarks/results/pose_accuracy.json
    python benchmarks/pose_accuracy.py --classes fine --per-view 3 --out benchmarks/results/pose_accuracy_fine.json
    python benchmarks/pose_accuracy.py --tune          # fit mapping constants on train clips
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.camera import Camera  # noqa: E402
from ciasa.data.stgcn import load_split  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.skeleton import NTU_RGBD  # noqa: E402
from pose_extract.accuracy import pa_errors, root_depth_error, similarity_procrustes, swapped_frames  # noqa: E402
from pose_extract.detect import Detections  # noqa: E402
from pose_extract.extract import ExtractOptions, extract, floor_plane_for, lift, prepare, write_outputs  # noqa: E402
from pose_extract.facing import mirror  # noqa: E402
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS, DEFAULT_RULES, mapping_matrix, observed_joints, to_ntu  # noqa: E402
from pose_extract.lifting import mediapipe_to_kinect, onto_rays  # noqa: E402
from pose_extract.prior import DEFAULT_PRIOR, prior_from_skeletons, resolve_prior  # noqa: E402
from pose_extract.refine import DEFAULT_REFINER_PATH, features, fit, fit_mlp, resolve_refiner, targets  # noqa: E402

log = logging.getLogger("pose_accuracy")
PY = sys.executable
ROOT = NTU_RGBD.index("spine_base")
LIMBS = observed_joints()
# The sole height that goes with the synthetic set's own floor (views.json), fitted like
# the default (which goes with the floor the renderer writes) by --tune.
CALIBRATED_SOLE_HEIGHT = -0.03
ALL = tuple(range(25))


# ----------------------------------------------------------------------------- data


def ensure_synth(data: Path) -> Path:
    """The synthetic set at ``data``, generated (with its defaults) when absent or of an older
    format, so the clips compared are the current generator's."""
    from ciasa.data.synth.generate import FORMAT

    meta = data / "meta.json"
    found = json.loads(meta.read_text()).get("format") if meta.is_file() else None
    if found != FORMAT:
        log.info("generating the synthetic set (%s) into %s (found: %s)", FORMAT, data, found)
        subprocess.run([PY, "-m", "ciasa.data.synth", "--out", str(data)], check=True, cwd=REPO)
    return data


def class_labels(spec: str, meta: dict) -> set[int]:
    """Labels of the set's classes named by ``spec`` (``all``, ``gross``, ``fine`` or
    A-numbers, as ``python -m ciasa.data.synth --actions`` reads them)."""
    from ciasa.data.synth.motions import select_actions

    wanted = {a.ntu_id for a in select_actions(spec)}
    return {int(c["label"]) for c in meta["classes"] if int(str(c["ntu_action"]).lstrip("A")) in wanted}


def class_group(label: int, meta: dict) -> str:
    """'gross' or 'fine' (the synthetic set's two kinds of classes, ciasa.data.synth.motions)."""
    return "gross" if label in class_labels("gross", meta) else "fine"


def fit_draw(split, meta: dict, spec: str) -> list[tuple[int, int]]:
    """Training clips for ``--fit-refiner`` from one ``CLASSES[@REPLICATION]:N`` draw.

    The clips of those classes (and that replication) keep the split's order; a fixed
    permutation (seed 3) of them gives the first N. Returns (split index, position in that
    subset); the position seeds a clip's leg perturbation, so a draw's clips and their
    perturbations do not change when the set gains classes or replications.
    """
    from ciasa.data.ntu import parse_sample_name

    try:
        what, n = spec.rsplit(":", 1)
        classes, _, rep = what.partition("@")
        count, replication = int(n), int(rep) if rep else None
    except ValueError:
        raise SystemExit(
            f"--fit-draw {spec!r}: expected CLASSES[@REPLICATION]:N, e.g. gross@1:150 or fine:120"
        ) from None
    labels = class_labels(classes, meta)
    subset = [
        i
        for i, (name, label) in enumerate(zip(split.names, split.labels))
        if int(label) in labels and (replication is None or parse_sample_name(name).replication == replication)
    ]
    order = np.random.default_rng(3).permutation(len(subset))[:count]
    if len(order) < count:
        raise SystemExit(f"--fit-draw {spec!r}: only {len(subset)} training clips match")
    return [(subset[k], int(k)) for k in order]


def view_of(name: str, meta: dict) -> str:
    """Camera view label ('yaw+0', ...) of a sample, from the set's meta.json."""
    from ciasa.data.ntu import parse_sample_name

    cam = parse_sample_name(name).camera
    yaw = meta.get("cameras", {}).get(str(cam), {}).get("yaw_deg")
    return f"C{cam:03d}" if yaw is None else f"yaw{float(yaw):+.0f}"


def pick_clips(split, meta: dict, per_view: int, seed: int = 0, classes: str = "all") -> list[int]:
    """``per_view`` clips per camera view of the ``classes`` (see :func:`class_labels`),
    spread over the classes."""
    rng = np.random.default_rng(seed)
    labels = class_labels(classes, meta)
    chosen: list[int] = []
    by_view: dict[str, list[int]] = {}
    for i, name in enumerate(split.names):
        if int(split.labels[i]) in labels:
            by_view.setdefault(view_of(name, meta), []).append(i)
    for view in sorted(by_view):
        idx = np.array(by_view[view])
        rng.shuffle(idx)
        seen: set[int] = set()
        for i in idx:  # different classes first
            if int(split.labels[i]) not in seen and len([c for c in chosen if c in by_view[view]]) < per_view:
                chosen.append(int(i))
                seen.add(int(split.labels[i]))
    return chosen


def clip_frames(clip: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Body 0 of a source clip (3, T, 25, M) over the first ``frames`` frames (the renderer
    trims trailing padding only) as (frames, 25, 3), and the mask of frames with a body."""
    joints = np.transpose(clip[..., 0], (1, 2, 0))[:frames]
    return joints, np.abs(joints).sum(axis=(1, 2)) > 0


# ----------------------------------------------------------------------------- running


def render_and_extract(name: str, clip: np.ndarray, work: Path, args, **detector) -> tuple[dict, dict]:
    """Render ``clip`` (C, T, V, M) and extract its pose, both cached in ``work`` under ``name``
    (a changed source clip invalidates the cache); returns (render record, extraction summary)."""
    npy = work / f"{name}.src.npy"
    if not (npy.is_file() and np.array_equal(np.load(npy), clip)):
        for stale in work.glob(f"{name}.*"):
            stale.unlink()
        np.save(npy, clip)
    mp4 = work / f"{name}.mp4"
    render_record = render(npy, mp4, name, args)
    return render_record, extract_cached(mp4, work / f"{name}.npy", **detector)


def render(npy: Path, mp4: Path, name: str, args) -> dict:
    if not (mp4.is_file() and mp4.with_name(mp4.stem + ".render.json").is_file()):
        cmd = [PY, "-m", "render", "--skeleton", str(npy), "--out", str(mp4), "--scene-id", name]
        cmd += args.render_args.split() if args.render_args else []
        log.info("rendering %s", name)
        subprocess.run(cmd, check=True, cwd=args.render_root, stdout=subprocess.DEVNULL)
    return json.loads(mp4.with_name(mp4.stem + ".render.json").read_text())


def extract_cached(mp4: Path, out: Path, **detector) -> dict:
    """Extract once (timed in wall and CPU seconds); later runs reuse the cached landmarks.
    ``detector``: MediaPipe-side options (``smooth``, ``redetect``) that change what is cached."""
    summary_path = out.with_suffix(".json")
    if out.is_file() and summary_path.is_file():
        return json.loads(summary_path.read_text())
    cpu0 = time.process_time()
    # MediaPipe's landmarks are what is cached; the refiner (a (T, 198) x (198, 75) product)
    # is left out here so that the landmarks can be cached before a refiner is fitted.
    raw = ExtractOptions(
        refiner=None, facing="off", max_jump=None, **detector
    )  # raw detections: variants re-apply these
    extraction = extract(mp4, mp4.with_name(mp4.stem + ".camera.json"), raw, progress=False)
    cpu = time.process_time() - cpu0
    extraction.summary["cpu_seconds"] = round(cpu, 3)
    write_outputs(extraction, out)
    return extraction.summary


def cached_detections(out: Path) -> Detections:
    """MediaPipe's raw output, rebuilt from a clip's cached ``.landmarks.npz``."""
    z = np.load(out.with_suffix(".landmarks.npz"))
    arrays = [z[k].astype(np.float64) for k in ("image", "image_z", "world", "visibility", "presence")]
    if "mirrored" in z:  # the facing prior is its own inverse
        arrays = list(mirror(z["mirrored"], *arrays))
    return Detections(*arrays, detected=z["detected"], seconds=0.0)


def relift(out: Path, camera: Camera, options: ExtractOptions, full: bool = False):
    """Skeleton (T, 25, 3) and valid mask from the cached detections under ``options``
    (with ``full``: also the lifted record and the prepared landmarks)."""
    p = prepare(cached_detections(out), options)
    floor = floor_plane_for(camera, options.floor_plane)
    lifted = lift(
        p["image"],
        p["world"],
        p["visibility"],
        p["valid"],
        camera,
        resolve_prior(options.body_prior),
        options.rules,
        floor,
        options.sole_height,
        options.rays,
        resolve_refiner(options.refiner),
    )
    return (lifted.joints, p["valid"], lifted, p) if full else (lifted.joints, p["valid"])


def render_floor(r: dict, camera: Camera) -> tuple[float, ...]:
    """The floor the renderer drew, as it writes it into the camera file (extra.floor_plane);
    for videos rendered before it did, the same rule (render/clip.py): 4 cm below the clip's
    lowest foot or ankle joint."""
    if "floor_plane" in camera.extra:
        return tuple(float(v) for v in camera.extra["floor_plane"])
    feet = [NTU_RGBD.index(n) for n in ("left_foot", "right_foot", "left_ankle", "right_ankle")]
    floor_y = float(r["truth"][r["present"]][:, feet, 1].min()) - 0.04
    return (0.0, 1.0, 0.0, -floor_y)


def calibrated_floor(views: dict, name: str) -> tuple[float, float, float, float]:
    """The clip's floor plane from the synthetic set's ``views.json`` (the sensor's pose over
    the floor, what a Kinect reports as its FloorClipPlane): n . X = d -> (n, -d)."""
    v = views[name]
    return (*(float(x) for x in v["floor_normal"]), -float(v["floor_offset"]))


# ----------------------------------------------------------------------------- metrics


def scale_analysis(records: list[dict], cameras: dict[str, Camera]) -> dict:
    """Is MediaPipe's depth consistent with its idea of the body's size?

    Per clip (MediaPipe's own size, scale 1): ``ideal_scale`` = true root depth / lifted
    root depth (median over frames; the factor that would make the depth right) and
    ``size_ratio`` = the truth's :data:`~pose_extract.lifting.SIZE_SEGMENTS` total over
    MediaPipe's (what a body-size prior equal to the true body would apply). A body-size
    prior can only work where the two agree (ratio ~1)."""
    from pose_extract.lifting import segment_lengths, solve_translation

    matrix = mapping_matrix()
    ideal, size, prior = [], [], []
    for r in records:
        cam = cameras[r["name"]]
        z = np.load(r["out"].with_suffix(".landmarks.npz"))
        det = z["detected"] & r["present"]
        world = mediapipe_to_kinect(z["world"][det])
        t = solve_translation(world, z["image"][det], cam, np.clip(z["visibility"][det], 0.05, 1.0))
        lifted = to_ntu(world + t[:, None], matrix)
        truth = cam.to_camera(r["truth"][det])
        ideal.append(float(np.median(truth[:, ROOT, 2] / lifted[:, ROOT, 2])))
        true_total = float(np.median(segment_lengths(truth), 0).sum())
        size.append(true_total / float(np.median(segment_lengths(to_ntu(world, matrix)), 0).sum()))
        prior.append(true_total / DEFAULT_PRIOR.total)
    ideal_a, size_a = np.array(ideal), np.array(size)
    return {
        "ideal_scale_mean": round(float(ideal_a.mean()), 3),
        "ideal_scale_sd": round(float(ideal_a.std()), 3),
        "size_ratio_mean": round(float(size_a.mean()), 3),
        "ideal_over_size_ratio": round(float((ideal_a / size_a).mean()), 3),
        "truth_over_default_prior": round(float(np.mean(prior)), 3),
        "clips": len(records),
    }


def clip_metrics(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> dict:
    p, t = pred[valid], truth[valid]
    cam = np.linalg.norm(p - t, axis=-1)  # (T, 25)
    pa_limbs = pa_errors(p, t, LIMBS)
    pa_all = _pa_all(p, t)  # all 25 joints, moved by the similarity fitted on the limbs
    pa_all_fit_all = pa_errors(p, t, ALL)  # the usual PA-MPJPE: fitted on, and measured over, all 25
    dz, frac = root_depth_error(p, t, ROOT)
    pr, tr = p - p[:, ROOT : ROOT + 1], t - t[:, ROOT : ROOT + 1]
    return {
        "frames": int(valid.sum()),
        "pa_mpjpe_limbs_mm": 1000 * float(pa_limbs.mean()),
        "pa_mpjpe_all_mm": 1000 * float(pa_all.mean()),
        "pa_mpjpe_all_fit_all_mm": 1000 * float(pa_all_fit_all.mean()),
        "mpjpe_limbs_mm": 1000 * float(cam[:, list(LIMBS)].mean()),
        "mpjpe_all_mm": 1000 * float(cam.mean()),
        "root_relative_mpjpe_mm": 1000 * float(np.linalg.norm(pr - tr, axis=-1).mean()),
        "root_depth_error_mm": 1000 * float(dz.mean()),
        "root_depth_error_pct": 100 * float(frac.mean()),
        "root_depth_abs_error_pct": 100 * float(np.abs(frac.mean())),
        "swap_rate": float(swapped_frames(p, t, ROOT).mean()),
        "per_joint_mm": (1000 * cam.mean(axis=0)).tolist(),
        "per_joint_pa_mm": (1000 * pa_all.mean(axis=0)).tolist(),
        "per_joint_pa_fit_all_mm": (1000 * pa_all_fit_all.mean(axis=0)).tolist(),
        "per_axis_pa_fit_all_abs_mm": (1000 * np.abs(similarity_procrustes(p, t) - t).mean(axis=(0, 1))).tolist(),
        "per_axis_abs_mm": (1000 * np.abs(p - t).mean(axis=(0, 1))).tolist(),
        "per_axis_root_relative_abs_mm": (1000 * np.abs(pr - tr).mean(axis=(0, 1))).tolist(),
    }


def _pa_all(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Errors of all joints after the similarity fitted on the limb joints."""
    idx = list(LIMBS)
    mp, mt = p[:, idx].mean(1, keepdims=True), t[:, idx].mean(1, keepdims=True)
    a, b = p[:, idx] - mp, t[:, idx] - mt
    u, s, vt = np.linalg.svd(np.einsum("fvi,fvj->fij", b, a))
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones_like(s)
    fix[:, -1] = d
    rot = u @ (fix[..., None] * vt)
    scale = (s * fix).sum(1) / (a**2).sum(axis=(1, 2))
    moved = scale[:, None, None] * np.einsum("fij,fvj->fvi", rot, p - mp) + mt
    return np.linalg.norm(moved - t, axis=-1)


def aggregate(rows: list[dict]) -> dict:
    """Frame-weighted means over clips."""
    w = np.array([r["frames"] for r in rows], dtype=float)
    out: dict = {"clips": len(rows), "frames": int(w.sum())}
    for key, _value in rows[0].items():
        if key == "frames":
            continue
        vals = np.array([r[key] for r in rows], dtype=float)
        mean = (vals * w.reshape((-1,) + (1,) * (vals.ndim - 1))).sum(0) / w.sum()
        out[key] = np.round(mean, 2).tolist() if vals.ndim > 1 else round(float(mean), 3 if "rate" in key else 1)
    return out


# ----------------------------------------------------------------------------- tuning


def fit_rules(items: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Closed-form fit of the mapping constants.

    ``items``: (camera-space BlazePose landmarks (T, 33, 3), truth (T, 25, 3), valid).
    Each frame's landmarks are first moved onto the truth by the similarity fitted on
    shoulders, elbows, wrists, knees and ankles, so the constants describe where Kinect
    puts a joint relative to the body, not the lifting's depth error. Every rule is
    ``joint = a + k (b - a)``; its k has a 1-D least-squares solution, solved in an
    order where a rule's a and b are already fixed.
    """
    lm = {n: i for i, n in enumerate(BLAZEPOSE_LANDMARKS)}
    ref_lm = [lm[f"{s}_{j}"] for s in ("left", "right") for j in ("shoulder", "elbow", "wrist", "knee", "ankle")]
    ref_ntu = [
        NTU_RGBD.index(f"{s}_{j}") for s in ("left", "right") for j in ("shoulder", "elbow", "wrist", "knee", "ankle")
    ]
    L_all, T_all = [], []
    for landmarks, truth, valid in items:
        x, y = landmarks[valid], truth[valid]
        L_all.append(_align(x, ref_lm, y, ref_ntu))
        T_all.append(y)
    L, T = np.concatenate(L_all), np.concatenate(T_all)

    def g(name: str) -> np.ndarray:
        return L[:, lm[name]]

    def k_of(a: np.ndarray, b: np.ndarray, target: np.ndarray) -> float:
        d = b - a
        return float(((target - a) * d).sum() / (d * d).sum())

    def t(name: str) -> np.ndarray:
        return T[:, NTU_RGBD.index(name)]

    rules: dict[str, float] = {}
    hip_mid = (g("left_hip") + g("right_hip")) / 2
    sh_mid = (g("left_shoulder") + g("right_shoulder")) / 2
    ear_mid = (g("left_ear") + g("right_ear")) / 2
    torso = sh_mid - hip_mid
    rules["spine_base_raise"] = k_of(hip_mid, sh_mid, t("spine_base"))
    rules["spine_shoulder_drop"] = -k_of(sh_mid, sh_mid + torso, t("spine_shoulder"))
    base = hip_mid + rules["spine_base_raise"] * torso
    top = sh_mid - rules["spine_shoulder_drop"] * torso
    rules["spine_mid_at"] = k_of(base, top, t("spine_mid"))
    rules["neck_at"] = k_of(top, ear_mid, t("neck"))
    rules["head_raise"] = k_of(ear_mid, 2 * ear_mid - sh_mid, t("head"))
    a = np.concatenate([g("left_hip"), g("right_hip")])
    b = np.concatenate([2 * g("left_hip") - g("right_hip"), 2 * g("right_hip") - g("left_hip")])
    rules["hip_widen"] = k_of(a, b, np.concatenate([t("left_hip"), t("right_hip")]))
    wrist = np.concatenate([g("left_wrist"), g("right_wrist")])
    knuckles = np.concatenate([(g("left_index") + g("left_pinky")) / 2, (g("right_index") + g("right_pinky")) / 2])
    rules["hand_at"] = k_of(wrist, knuckles, np.concatenate([t("left_hand"), t("right_hand")]))
    rules["hand_tip_at"] = k_of(wrist, knuckles, np.concatenate([t("left_hand_tip"), t("right_hand_tip")]))
    ankle = np.concatenate([g("left_ankle"), g("right_ankle")])
    toe = np.concatenate([g("left_foot_index"), g("right_foot_index")])
    rules["foot_at"] = k_of(ankle, toe, np.concatenate([t("left_foot"), t("right_foot")]))
    return {k: round(v, 3) for k, v in rules.items()}


def _align(x: np.ndarray, xi: list[int], y: np.ndarray, yi: list[int]) -> np.ndarray:
    """Move every point of ``x`` (T, N, 3) by the per-frame similarity mapping x[:, xi] onto y[:, yi]."""
    a, b = x[:, xi], y[:, yi]
    ma, mb = a.mean(1, keepdims=True), b.mean(1, keepdims=True)
    u, s, vt = np.linalg.svd(np.einsum("fvi,fvj->fij", b - mb, a - ma))
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones_like(s)
    fix[:, -1] = d
    rot = u @ (fix[..., None] * vt)
    scale = (s * fix).sum(1) / ((a - ma) ** 2).sum(axis=(1, 2))
    return scale[:, None, None] * np.einsum("fij,fvj->fvi", rot, x - ma) + mb


def camera_landmarks(out: Path, camera: Camera) -> np.ndarray:
    """Cached landmarks (facing prior applied) lifted into skeleton space (T, 33, 3), no body prior."""
    from pose_extract.lifting import solve_translation

    p = prepare(cached_detections(out), ExtractOptions())
    valid = p["valid"]
    world = mediapipe_to_kinect(p["world"])
    t = np.zeros((len(valid), 3))
    t[valid] = solve_translation(world[valid], p["image"][valid], camera, np.clip(p["visibility"][valid], 0.05, 1.0))
    return camera.from_camera(onto_rays(world + t[:, None], p["image"], camera))


# ----------------------------------------------------------------------------- refiner


def perturb_legs(clip: np.ndarray, rng: np.random.Generator, strength: float = 0.8) -> np.ndarray:
    """A training clip (3, T, 25, M) with attack-like leg perturbations: every leg joint moved,
    per axis, by up to ``strength`` times the advanced mode's clipping radius (hips 1 cm ...
    feet 25 cm), changing from frame to frame about as fast as CIASA's do (Gaussian noise,
    smoothed over ~1.5 frames, clipped). Only for training the refiner, so that it learns
    that unusual legs in the landmarks are real."""
    from scipy.ndimage import gaussian_filter1d

    out = np.array(clip, dtype=np.float32, copy=True)
    eps = NTU_RGBD.hierarchical_eps()  # (25,), 0 outside the legs
    legs = list(NTU_RGBD.leg_joints)
    frames = out.shape[1]
    noise = gaussian_filter1d(rng.normal(size=(3, frames, len(legs))), sigma=1.5, axis=1)
    noise /= noise.std(axis=1, keepdims=True) + 1e-9
    delta = strength * eps[legs] * np.clip(noise, -1.0, 1.0)
    present = np.abs(out[..., 0]).sum(axis=(0, 2)) > 0  # body 0's frames; padding stays zero
    out[:, :, legs, 0] += np.where(present[None, :, None], delta, 0.0).astype(np.float32)
    return out


def fit_refiner(records: list[dict], kind: str, alpha: float, holdout: float = 0.2) -> tuple:
    """Fit the pose refiner (:mod:`pose_extract.refine`) on renders of training clips.

    Each clip is lifted with the defaults minus the refiner; features and targets are taken
    from its valid frames. As a check, ridge and the MLP are first fitted without a
    ``holdout`` share of the clips (a clip's frames never straddle the split) and scored
    on them; then the chosen ``kind`` is fitted on all clips.
    Returns (refiner, {model: held-out mean joint error, mm}).
    """
    feats, tgts, groups = [], [], []
    for g, r in enumerate(records):
        cam = Camera.load(r["out"].with_name(f"{r['name']}.camera.json"))
        _, valid, lifted, p = relift(r["out"], cam, ExtractOptions(refiner=None), full=True)
        v = valid & r["present"]
        feats.append(features(lifted.on_rays[v], lifted.pose_points[v], p["visibility"][v]))
        tgts.append(targets(cam.to_camera(lifted.joints[v]), cam.to_camera(r["truth"][v]), ROOT))
        groups.append(np.full(int(v.sum()), g))
    x, y, grp = np.concatenate(feats), np.concatenate(tgts), np.concatenate(groups)
    held = np.random.default_rng(0).permutation(len(records))[: max(1, round(holdout * len(records)))]
    test = np.isin(grp, held)

    def score(correction: np.ndarray) -> float:
        return round(1000 * float(np.linalg.norm((y[test] - correction).reshape(-1, 25, 3), axis=-1).mean()), 2)

    check = {
        "none": score(np.zeros_like(y[test])),
        "ridge": score(fit(x[~test], y[~test], alpha).correction(x[test]).reshape(-1, 75)),
        "mlp": score(fit_mlp(x[~test], y[~test]).correction(x[test]).reshape(-1, 75)),
    }
    log.info("held-out mean joint error of the correction target (mm): %s", check)
    meta = {
        "source": "built-in refiner",
        "clips": [f"{r['out'].parent.name}/{r['name']}" for r in records],
        "frames": len(x),
        "held_out_clips": len(held),
        "held_out_joint_error_mm": check,
    }
    refiner = fit_mlp(x, y, meta=meta) if kind == "mlp" else fit(x, y, alpha, meta=meta)
    return refiner, check


# ----------------------------------------------------------------------------- perturbations


def perturbation_survival(results: Path) -> dict:
    """How much of an attack's perturbation the extraction keeps, with and without the refiner.

    Reads a pipeline results directory (``skeletons/CLIP/{clean,perturbed}.npy``,
    ``videos/CLIP/*.camera.json`` + ``.render.json``, ``poses/CLIP/*.landmarks.npz``) and
    compares, over the leg joints (the advanced mode's region), the perturbation put in
    (perturbed minus clean source) with the one that comes out (perturbed minus clean
    extraction), both relative to the spine base. ``gain``: least-squares slope of the
    extracted on the true perturbation (1 = kept in full, 0 = erased); ``error_mm``: mean
    distance between the two.
    """
    legs = list(NTU_RGBD.leg_joints)
    variants = {"default": ExtractOptions(), "with_refiner": ExtractOptions(refiner="default")}
    rows: dict[str, list[dict]] = {v: [] for v in variants}
    for clip in sorted(p for p in (results / "poses").iterdir() if (p / "perturbed.landmarks.npz").is_file()):
        lifted: dict = {}
        for cond in ("clean", "perturbed"):
            video = results / "videos" / clip.name
            cam = Camera.load(video / f"{cond}.camera.json")
            record = json.loads((video / f"{cond}.render.json").read_text())
            truth, present = clip_frames(
                np.load(results / "skeletons" / clip.name / f"{cond}.npy"), record["frames_rendered"]
            )
            for vname, options in variants.items():
                pred, valid = relift(clip / f"{cond}.npy", cam, options)
                lifted[cond, vname] = (
                    pred - pred[:, ROOT : ROOT + 1],
                    valid & present,
                    truth - truth[:, ROOT : ROOT + 1],
                )
        for vname in variants:
            (pc, vc, tc), (pp, vp, tp) = lifted["clean", vname], lifted["perturbed", vname]
            n = min(len(pc), len(pp))
            v = vc[:n] & vp[:n]
            true = (tp[:n] - tc[:n])[v][:, legs]
            got = (pp[:n] - pc[:n])[v][:, legs]
            rows[vname].append(
                {
                    "clip": clip.name,
                    "frames": int(v.sum()),
                    "true_mm": 1000 * float(np.linalg.norm(true, axis=-1).mean()),
                    "extracted_mm": 1000 * float(np.linalg.norm(got, axis=-1).mean()),
                    "gain": float((got * true).sum() / (true * true).sum()),
                    "error_mm": 1000 * float(np.linalg.norm(got - true, axis=-1).mean()),
                }
            )
    if not rows["default"]:
        raise SystemExit(f"{results}: no poses/CLIP/perturbed.landmarks.npz to compare")
    out: dict = {
        "what": "leg perturbation (perturbed - clean, spine-base relative) put in vs extracted",
        "results": str(results),
        "clips": len(rows["default"]),
    }
    for vname, r in rows.items():
        out[vname] = {
            k: round(float(np.mean([x[k] for x in r])), 3) for k in ("true_mm", "extracted_mm", "gain", "error_mm")
        }
        out[vname]["per_clip"] = r
    return out


# ----------------------------------------------------------------------------- main


def facing_rows(args, out: Path | None) -> dict | int:
    """The facing benchmark (``benchmarks/pose_facing.py``): swaps, PA-MPJPE and camera MPJPE
    per motion kind (straight, turning, side view, back view), dev and held out, for the
    default facing decision and the previous one. With ``out``: write its JSON there, print
    the table, return 0; without: return the per-kind rows for this benchmark's JSON."""
    import pose_facing

    work = (args.facing_work or pose_facing.DEFAULT_WORK).resolve()
    result = pose_facing.run(work, args.real, pose_facing.ensure_synth(work / "synth"), 4 if out else 0, 1)
    if out is None:
        return {
            m: {"per_kind": v["per_kind"], "dev": v["dev"], "held_out": v["held_out"]}
            for m, v in result["methods"].items()
        }
    result["command"] = "python benchmarks/pose_accuracy.py " + " ".join(sys.argv[1:])
    atomic_write_json(out, result)
    pose_facing.print_table(result)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO / "build" / "synth", help="synthetic set (generated if absent)")
    p.add_argument("--benchmark", default="xsub")
    p.add_argument("--work", type=Path, default=REPO / "build" / "pose_320", help="renders and landmarks cache")
    p.add_argument("--per-view", type=int, default=6, help="clips per camera view (different classes)")
    p.add_argument("--tune", action="store_true", help="fit the mapping constants on training clips instead")
    p.add_argument(
        "--fit-refiner",
        action="store_true",
        help="fit the pose refiner on renders of the --fit-draw training clips instead",
    )
    p.add_argument(
        "--classes",
        default="all",
        help="classes the validation clips are drawn from: all, gross, fine or A-numbers (as synth's --actions)",
    )
    p.add_argument(
        "--fit-draw",
        action="append",
        metavar="CLASSES[@R]:N",
        help="--fit-refiner: N random training clips of CLASSES (all, gross, fine, A-numbers), only "
        "replication R if given; repeatable (default: all:150)",
    )
    p.add_argument(
        "--fit-perturbed",
        type=int,
        default=0,
        help="--fit-refiner also renders the first N clips of the first draw with attack-like leg perturbations",
    )
    p.add_argument("--refiner-out", type=Path, default=DEFAULT_REFINER_PATH, help="where --fit-refiner writes")
    p.add_argument("--refiner-kind", choices=("mlp", "ridge"), default="mlp", help="what --fit-refiner fits")
    p.add_argument("--alpha", type=float, default=0.3, help="ridge penalty for --fit-refiner")
    p.add_argument(
        "--perturbation",
        type=Path,
        metavar="RESULTS",
        help="instead: how much of the attacks' perturbations survive extraction, from a pipeline "
        "results directory (-> benchmarks/results/pose_accuracy_perturbation.json)",
    )
    p.add_argument(
        "--render-args",
        default="--resolution 320x240",
        help="arguments for python -m render (default: the pipeline's resolution, config/config.yaml)",
    )
    p.add_argument(
        "--real",
        type=Path,
        default=REPO.parent / "shared" / "real_motion",
        help="real-motion folder (index.json + NAME.npy) measured beside the synthetic clips "
        "(benchmarks/pose_real.py); skipped when the default folder is absent",
    )
    p.add_argument("--no-real", dest="real", action="store_const", const=None, help="synthetic clips only")
    p.add_argument(
        "--real-work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pose_real",
        help="render and landmark cache of the real-motion clips (outside the repository)",
    )
    p.add_argument(
        "--render-root",
        type=Path,
        default=REPO,
        help="directory `python -m render` runs in (e.g. an export of a fixed commit, for stable renders)",
    )
    p.add_argument(
        "--facing",
        action="store_true",
        help="instead: only the facing benchmark (benchmarks/pose_facing.py: real motion and turned clips, "
        "one row per motion kind) -> benchmarks/results/pose_facing.json",
    )
    p.add_argument(
        "--facing-work",
        type=Path,
        default=None,
        help="render and landmark cache of the facing benchmark (default: pose_facing.py's)",
    )
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pose_accuracy.json")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.facing:
        return facing_rows(args, REPO / "benchmarks" / "results" / "pose_facing.json")

    if args.perturbation:
        survival = perturbation_survival(args.perturbation)
        survival["command"] = "python benchmarks/pose_accuracy.py " + " ".join(sys.argv[1:])
        atomic_write_json(REPO / "benchmarks" / "results" / "pose_accuracy_perturbation.json", survival)
        print(
            json.dumps(
                {
                    k: {m: v for m, v in d.items() if m != "per_clip"}
                    for k, d in survival.items()
                    if isinstance(d, dict)
                },
                indent=2,
            )
        )
        return 0
    data = ensure_synth(args.data)
    meta = json.loads((data / "meta.json").read_text())
    views = json.loads((data / "views.json").read_text())
    split_name = "train" if args.tune or args.fit_refiner else "val"
    split = load_split(data / args.benchmark, split_name, mmap=False)
    if args.fit_refiner:  # many clips, any view: random samples of the training split's classes
        draws = [fit_draw(split, meta, spec) for spec in (args.fit_draw or ["all:150"])]
        work = args.work / "train_fit"
    else:
        draws = [
            [(i, i) for i in pick_clips(split, meta, args.per_view, seed=1 if args.tune else 0, classes=args.classes)]
        ]
        work = args.work / split_name
    work.mkdir(parents=True, exist_ok=True)

    jobs = [(int(i), split.names[i], split.data[i : i + 1, ..., :1][0], work) for draw in draws for i, _ in draw]
    if args.fit_refiner and args.fit_perturbed:  # clips of the first draw with their legs perturbed like an attack's
        jobs += [
            (
                i,
                split.names[i],
                perturb_legs(split.data[i : i + 1, ..., :1][0], np.random.default_rng(1000 + k)),
                args.work / "train_fit_perturbed",
            )
            for i, k in draws[0][: args.fit_perturbed]
        ]
    records = []
    for i, name, clip, work in jobs:
        work.mkdir(parents=True, exist_ok=True)
        npy = work / f"{name}.src.npy"
        if not (npy.is_file() and np.array_equal(np.load(npy), clip.astype(np.float32))):
            for stale in work.glob(f"{name}.*"):  # another data set version: render afresh
                stale.unlink()
            np.save(npy, clip.astype(np.float32))
        mp4 = work / f"{name}.mp4"
        t0 = time.perf_counter()
        render_record = render(npy, mp4, name, args)
        render_s = time.perf_counter() - t0
        out = work / f"{name}.npy"
        summary = extract_cached(mp4, out)
        truth, present = clip_frames(clip, render_record["frames_rendered"])
        if len(truth) != summary["frames"]:
            raise RuntimeError(f"{name}: {len(truth)} source frames but the video has {summary['frames']}")
        records.append(
            {
                "name": name,
                "index": i,
                "view": view_of(name, meta),
                "label": int(split.labels[i]),
                "truth": truth,
                "present": present,
                "out": out,
                "summary": summary,
                "render": render_record,
                "render_wall_s": render_s,
            }
        )
        log.info("%s (%s): detected %d/%d", name, records[-1]["view"], summary["detected"], summary["frames"])

    if args.fit_refiner:
        refiner, check = fit_refiner(records, args.refiner_kind, args.alpha)
        refiner.save(args.refiner_out)
        print(
            json.dumps(
                {
                    "refiner": str(args.refiner_out),
                    "kind": refiner.meta["kind"],
                    "frames": refiner.meta["frames"],
                    "clips": len(records),
                    "held_out_joint_error_mm": check,
                },
                indent=2,
            )
        )
        return 0
    camera = {r["name"]: Camera.load(r["out"].parent / f"{r['name']}.camera.json") for r in records}
    if args.tune:
        items = []
        for r in records:
            z = np.load(r["out"].with_suffix(".landmarks.npz"))
            valid = (z["detected"] | z["filled"]) & r["present"]
            items.append((camera_landmarks(r["out"], camera[r["name"]]), r["truth"], valid))
        rules = fit_rules(items)
        # the sole landmark's height over the floor: the value that zeroes the mean root depth error
        sole: dict[str, dict[float, float]] = {"render_floor": {}, "calibrated_floor": {}}
        for h in np.round(np.arange(-0.06, 0.081, 0.01), 3):
            for which in sole:
                errs = []
                for r in records:
                    plane = (
                        render_floor(r, camera[r["name"]])
                        if which == "render_floor"
                        else calibrated_floor(views, r["name"])
                    )
                    pred, valid = relift(
                        r["out"], camera[r["name"]], ExtractOptions(floor_plane=plane, sole_height=float(h))
                    )
                    v = valid & r["present"]
                    errs.append(root_depth_error(pred[v], r["truth"][v], ROOT)[1].mean())
                sole[which][float(h)] = round(100 * float(np.mean(errs)), 2)
        print(
            json.dumps(
                {
                    "fitted_rules": rules,
                    "root_depth_error_pct_by_sole_height": sole,
                    "clips": [r["name"] for r in records],
                },
                indent=2,
            )
        )
        return 0

    train = load_split(data / args.benchmark, "train", mmap=True)
    train_prior = prior_from_skeletons(np.asarray(train.data[:, :, :, :, :1]), f"{args.benchmark}/train")
    variants = {  # one change at a time from the first (the defaults, chosen on real motion: benchmarks/pose_real.py)
        "default": lambda r: ExtractOptions(),
        # the defaults before they were chosen on real motion: body prior, per-frame facing rule, refiner
        "previous_defaults": lambda r: ExtractOptions(body_prior="default", facing="turn", refiner="default"),
        "with_refiner": lambda r: ExtractOptions(refiner="default"),
        "with_body_prior": lambda r: ExtractOptions(body_prior="default"),
        "with_body_prior_and_refiner": lambda r: ExtractOptions(body_prior="default", refiner="default"),
        "no_jump_rejection": lambda r: ExtractOptions(max_jump=None),
        "facing_off": lambda r: ExtractOptions(facing="off"),
        "facing_turn90": lambda r: ExtractOptions(facing="turn"),
        "facing_continuity": lambda r: ExtractOptions(facing="continuity"),  # the previous default
        "no_rays": lambda r: ExtractOptions(rays=False),
        "train_split_body_prior": lambda r: ExtractOptions(body_prior=train_prior),
        # the renderer's floor (render writes it into the camera file; placed from the source
        # skeleton, so off by default) and the synthetic set's own floor (views.json)
        "render_floor": lambda r: ExtractOptions(floor_plane=render_floor(r, camera[r["name"]])),
        "calibrated_floor": lambda r: ExtractOptions(
            floor_plane=calibrated_floor(views, r["name"]), sole_height=CALIBRATED_SOLE_HEIGHT
        ),
    }
    results: dict = {"variants": {}}
    for vname, make_options in variants.items():
        per_view: dict[str, list[dict]] = {}
        per_group: dict[str, dict[str, list[dict]]] = {}
        for r in records:
            pred, valid = relift(r["out"], camera[r["name"]], make_options(r))
            m = clip_metrics(pred, r["truth"], valid & r["present"])
            per_view.setdefault(r["view"], []).append(m)
            per_group.setdefault(class_group(r["label"], meta), {}).setdefault(r["view"], []).append(m)
        results["variants"][vname] = {
            "per_view": {v: aggregate(rows) for v, rows in sorted(per_view.items())},
            "all": aggregate([m for rows in per_view.values() for m in rows]),
            # the synthetic set's gross-motion classes and its fine-grained hand-near-head/torso ones
            "per_class_group": {
                g: {
                    "per_view": {v: aggregate(rows) for v, rows in sorted(pv.items())},
                    "all": aggregate([m for rows in pv.values() for m in rows]),
                }
                for g, pv in sorted(per_group.items())
            },
        }

    detected = sum(r["summary"]["detected"] for r in records)
    frames = sum(r["summary"]["frames"] for r in records)
    det_by_view: dict[str, list[int]] = {}
    for r in records:
        d = det_by_view.setdefault(r["view"], [0, 0])
        d[0] += r["summary"]["detected"]
        d[1] += r["summary"]["frames"]
    cpu = sum(r["summary"].get("cpu_seconds", np.nan) for r in records)
    wall = sum(r["summary"]["seconds"] for r in records)
    results.update(
        {
            "what": "pose extraction accuracy on default-body renders of synthetic validation clips",
            "command": "python benchmarks/pose_accuracy.py " + " ".join(sys.argv[1:]),
            "benchmark": args.benchmark,
            "split": split_name,
            "classes": args.classes,
            "clips": [
                {
                    "name": r["name"],
                    "view": r["view"],
                    "label": r["label"],
                    "class_group": class_group(r["label"], meta),
                    "frames": r["summary"]["frames"],
                    "detected": r["summary"]["detected"],
                    "filled": r["summary"]["filled_frames"],
                    "mirrored_by_facing_prior": int(
                        prepare(cached_detections(r["out"]), ExtractOptions())["mirrored"].sum()
                    ),
                    "rejected_as_jumps": np.flatnonzero(
                        prepare(cached_detections(r["out"]), ExtractOptions())["rejected"]
                    ).tolist(),
                    "render": {
                        "engine": r["render"].get("engine"),
                        "body": r["render"].get("body"),
                        "size": f"{r['render'].get('width')}x{r['render'].get('height')}",
                        "retarget_error_mm": r["render"].get("retarget_error_mm"),
                    },
                }
                for r in records
            ],
            "detection_rate": {
                "all": round(detected / frames, 4),
                **{v: round(d / f, 4) for v, (d, f) in sorted(det_by_view.items())},
            },
            "speed": {
                "frames": frames,
                "wall_seconds": round(wall, 2),
                "cpu_seconds": round(cpu, 2),
                "frames_per_second_wall": round(frames / wall, 1),
                "frames_per_cpu_second": round(frames / cpu, 1),
                "cpu_cores": os.cpu_count(),
                "note": "extraction only (decode + MediaPipe + lifting); frames per CPU-second = frames/s per core",
            },
            "joint_names": list(NTU_RGBD.joint_names),
            "limb_joints": [NTU_RGBD.joint_names[j] for j in LIMBS],
            "axes": ["x (left)", "y (up)", "z (depth)"],
            "mapping_rules": DEFAULT_RULES,
            "refiner": resolve_refiner("default").meta if DEFAULT_REFINER_PATH.is_file() else None,
            "default_prior_total_m": round(DEFAULT_PRIOR.total, 3),
            "scale_analysis": scale_analysis(records, camera),
            "train_prior_total_m": round(train_prior.total, 3),
            "machine": platform.platform(),
        }
    )
    if args.real is not None:
        import pose_real

        if args.real == pose_real.DEFAULT_REAL and not args.real.exists():
            log.info("no real-motion folder at %s: synthetic numbers only", args.real)
        else:
            try:
                results["real_motion"], _ = pose_real.real_motion_results(
                    args.real, args.real_work.resolve(), args.render_args, args.render_root
                )
            except pose_real.BadRealSet as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
            # one row per motion kind (straight, turning, side view, back view): real and turned clips
            results["facing_by_motion_kind"] = facing_rows(args, None)
    atomic_write_json(args.out, results)
    _print(results)
    if "real_motion" in results:
        pose_real.print_table(results["real_motion"])
    return 0


def _print(results: dict) -> None:
    print(f"detection rate: {results['detection_rate']}")
    print(
        f"speed: {results['speed']['frames_per_second_wall']} frames/s wall, "
        f"{results['speed']['frames_per_cpu_second']} frames per CPU-second"
    )
    for vname, v in results["variants"].items():
        print(f"\n[{vname}]")
        print(
            f"{'view':>16} {'PA-limb':>8} {'PA-all':>8} {'PA-all*':>8} {'cam-limb':>9} {'cam-all':>8} {'rootrel':>8} "
            f"{'dz mm':>7} {'dz %':>6} {'|dz|%':>6} {'swap':>5}"
        )
        rows = [*v["per_view"].items(), ("all", v["all"])]
        for g, gv in v["per_class_group"].items():
            rows += [(f"{g[:5]} {view}", a) for view, a in [*gv["per_view"].items(), ("all", gv["all"])]]
        for view, a in rows:
            print(
                f"{view:>16} {a['pa_mpjpe_limbs_mm']:8.1f} {a['pa_mpjpe_all_mm']:8.1f} {a['pa_mpjpe_all_fit_all_mm']:8.1f} {a['mpjpe_limbs_mm']:9.1f} "
                f"{a['mpjpe_all_mm']:8.1f} {a['root_relative_mpjpe_mm']:8.1f} {a['root_depth_error_mm']:7.1f} "
                f"{a['root_depth_error_pct']:6.2f} {a['root_depth_abs_error_pct']:6.2f} {a['swap_rate']:5.3f}"
            )


if __name__ == "__main__":
    sys.exit(main())
