"""A Kinetics-skeleton-like 2-D variant of a 3-D NTU-25 data set (the embedded demo set).

Real Kinetics-skeleton is OpenPose-18 run on YouTube videos resized to 340x256: per
joint ``(x, y, score)``, with x, y divided by the image size. The official ST-GCN feeder
then centres them (``x - 0.5``, ``y - 0.5``; y keeps pointing down the image) and zeroes
x, y wherever the score is 0 (an undetected joint), exactly as :mod:`ciasa.data.kinetics`
reads the real json files. This module makes data of that form from 3-D
Kinect-space sequences, so the 2-D attack and its sweeps run without the real set:

1. NTU-25 -> OpenPose-18 in 3-D: neck = spine shoulder; limbs map one to one; nose,
   eyes and ears are placed around the head joint from the face direction (forward =
   shoulder axis x neck->head axis);
2. pinhole projection through a :class:`ciasa.camera.Camera` (default: the sensor's
   viewpoint, 340x256, 60 degrees horizontal field of view), plus ~1 px detector noise;
3. a plausible score per joint: high for the torso, lower for wrists/ankles and the
   face, lower still for joints facing away or hidden behind the body, zero outside
   the image; plus occasional random misses (score 0, x = y = 0);
4. the feeder's normalisation; bodies sorted by total score per frame, as the feeder does.

Zero-padded frames and absent bodies stay exactly zero in all three channels.

CLI: ``python -m ciasa.data.kinetics_synth --from DIR --out DIR2`` converts every
ST-GCN-layout split under DIR (e.g. the synthetic set's ``xview/``) into DIR2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from ciasa import cli
from ciasa.camera import Camera
from ciasa.io import atomic_write_json
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18

log = logging.getLogger(__name__)

IMAGE_SIZE = (340, 256)  # Kinetics-skeleton videos were resized to 340x256
DEFAULT_HFOV = 60.0
DEFAULT_MISSING_RATE = 0.02
DEFAULT_NOISE_PX = 1.0
MIN_SCORE = 0.1  # OpenPose drops keypoints below its detection threshold

# OpenPose joint -> NTU joint it is copied from (face points are built separately).
_COPIED = {
    "neck": "spine_shoulder",
    "right_shoulder": "right_shoulder",
    "right_elbow": "right_elbow",
    "right_wrist": "right_wrist",
    "left_shoulder": "left_shoulder",
    "left_elbow": "left_elbow",
    "left_wrist": "left_wrist",
    "right_hip": "right_hip",
    "right_knee": "right_knee",
    "right_ankle": "right_ankle",
    "left_hip": "left_hip",
    "left_knee": "left_knee",
    "left_ankle": "left_ankle",
}
# Face points relative to the NTU head joint, metres: (forward, up, lateral-to-the-left).
_FACE = {
    "nose": (0.10, -0.02, 0.0),
    "right_eye": (0.08, 0.02, -0.035),
    "left_eye": (0.08, 0.02, 0.035),
    "right_ear": (-0.01, 0.0, -0.08),
    "left_ear": (-0.01, 0.0, 0.08),
}
# Typical OpenPose confidence per joint before view-dependent losses.
_BASE_SCORE = {
    "nose": 0.85,
    "neck": 0.9,
    "right_shoulder": 0.85,
    "left_shoulder": 0.85,
    "right_elbow": 0.75,
    "left_elbow": 0.75,
    "right_wrist": 0.65,
    "left_wrist": 0.65,
    "right_hip": 0.7,
    "left_hip": 0.7,
    "right_knee": 0.7,
    "left_knee": 0.7,
    "right_ankle": 0.6,
    "left_ankle": 0.6,
    "right_eye": 0.8,
    "left_eye": 0.8,
    "right_ear": 0.6,
    "left_ear": 0.6,
}


def _unit(v: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + eps)


def ntu_to_openpose_3d(ntu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NTU-25 joints ``(..., 25, 3)`` -> OpenPose-18 joints ``(..., 18, 3)`` and the face frame.

    Returns the joints and ``(forward, lateral)`` unit vectors ``(..., 2, 3)`` of the head
    (forward: where the face looks; lateral: towards the body's left).
    """
    j = NTU_RGBD.index
    head, neck = ntu[..., j("head"), :], ntu[..., j("neck"), :]
    lateral = _unit(ntu[..., j("left_shoulder"), :] - ntu[..., j("right_shoulder"), :])
    up = _unit(head - neck)
    forward = _unit(np.cross(lateral, up))
    lateral = np.cross(up, forward)  # re-orthogonalised
    out = np.zeros(ntu.shape[:-2] + (OPENPOSE_18.num_joints, 3), dtype=np.float64)
    for op_name, ntu_name in _COPIED.items():
        out[..., OPENPOSE_18.index(op_name), :] = ntu[..., j(ntu_name), :]
    for name, (f, u, l) in _FACE.items():
        out[..., OPENPOSE_18.index(name), :] = head + f * forward + u * up + l * lateral
    return out, np.stack([forward, lateral], axis=-2)


def _scores(joints: np.ndarray, face: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """Plausible OpenPose scores ``(..., 18)`` for 3-D joints ``(..., 18, 3)`` seen by ``camera``."""
    names = OPENPOSE_18.joint_names
    base = np.array([_BASE_SCORE[n] for n in names])
    centre = camera.from_camera(np.zeros(3))  # camera centre in skeleton space
    view = _unit(joints - centre)  # camera -> joint
    forward, lateral = face[..., 0, :], face[..., 1, :]
    head_view = view[..., OPENPOSE_18.index("nose"), :]
    facing = -(forward * head_view).sum(-1)  # 1: looks at the camera, -1: back turned
    side = -(lateral * head_view).sum(-1)  # > 0: the body's left side faces the camera
    factor = np.ones(joints.shape[:-1])
    for n in ("nose", "right_eye", "left_eye"):
        factor[..., names.index(n)] = np.clip(0.35 + 0.85 * facing, 0.0, 1.0)
    factor[..., names.index("left_ear")] = np.clip(0.5 + 0.8 * side, 0.0, 1.0)
    factor[..., names.index("right_ear")] = np.clip(0.5 - 0.8 * side, 0.0, 1.0)
    # self-occlusion: joints on the far side of the body from the camera lose confidence
    depth = camera.to_camera(joints)[..., 2]
    torso = depth[..., [OPENPOSE_18.index(n) for n in ("neck", "right_hip", "left_hip")]].mean(-1, keepdims=True)
    factor *= np.clip(1.0 - 2.0 * np.maximum(depth - torso - 0.05, 0.0), 0.3, 1.0)
    score = base * factor + rng.normal(0.0, 0.05, size=factor.shape)
    return np.clip(score, 0.0, 1.0)


def project_to_kinetics(
    ntu: np.ndarray,
    camera: Camera | None = None,
    missing_rate: float = DEFAULT_MISSING_RATE,
    noise_px: float = DEFAULT_NOISE_PX,
    seed: int = 0,
) -> np.ndarray:
    """``(N, 3, T, 25, M)`` NTU skeletons (Kinect space) -> ``(N, 3, T, 18, M)`` Kinetics-like.

    Channels are the feeder's ``(x, y, score)``: ``x = u / W - 0.5``, ``y = v / H - 0.5``
    with (u, v) the pixel (v down), and x = y = score = 0 for undetected joints, padded frames
    and absent bodies.
    """
    ntu = np.asarray(ntu)
    if ntu.ndim != 5 or ntu.shape[1] != 3 or ntu.shape[3] != NTU_RGBD.num_joints:
        raise ValueError(f"expected NTU-25 3-D skeletons (N, 3, T, 25, M), got shape {ntu.shape}")
    if not 0.0 <= missing_rate < 1.0:
        raise cli.BadInput(f"missing_rate must lie in [0, 1), got {missing_rate}")
    camera = camera or Camera.from_fov(*IMAGE_SIZE, hfov_deg=DEFAULT_HFOV)
    rng = np.random.default_rng(seed)
    pts = np.moveaxis(ntu, 1, -1).astype(np.float64)  # (N, T, V, M, 3)
    pts = np.moveaxis(pts, 3, 2)  # (N, T, M, V, 3)
    present = np.abs(pts).sum(axis=(-1, -2)) > 0  # (N, T, M) body-frames with data
    joints, face = ntu_to_openpose_3d(pts)  # (N, T, M, 18, 3)
    with np.errstate(invalid="ignore"):
        uv = camera.project(joints)  # (N, T, M, 18, 2), NaN behind the camera
    uv = uv + rng.normal(0.0, noise_px, size=uv.shape)
    score = _scores(joints, face, camera, rng)
    inside = (
        np.isfinite(uv).all(-1)
        & (uv[..., 0] >= 0)
        & (uv[..., 0] < camera.width)
        & (uv[..., 1] >= 0)
        & (uv[..., 1] < camera.height)
    )
    detected = inside & (score >= MIN_SCORE) & (rng.random(score.shape) >= missing_rate) & present[..., None]
    x = np.where(detected, uv[..., 0] / camera.width - 0.5, 0.0)
    y = np.where(detected, uv[..., 1] / camera.height - 0.5, 0.0)
    s = np.where(detected, np.maximum(score, MIN_SCORE), 0.0)
    out = np.stack([x, y, s], axis=1)  # (N, 3, T, M, 18)
    out = np.moveaxis(out, -1, 3)  # (N, 3, T, 18, M)
    return sort_bodies_by_score(out.astype(np.float32))


def sort_bodies_by_score(data: np.ndarray) -> np.ndarray:
    """Per frame, order bodies by their summed score (highest first), as the official feeder does."""
    if data.shape[-1] < 2:
        return data
    order = np.argsort(-data[:, 2].sum(axis=2), axis=-1, kind="stable")  # (N, T, M)
    idx = np.broadcast_to(order[:, None, :, None, :], data.shape)
    return np.take_along_axis(data, idx, axis=-1)


def convert_dir(
    src: str | Path,
    dst: str | Path,
    splits: tuple[str, ...] | None = None,
    camera: Camera | None = None,
    missing_rate: float = DEFAULT_MISSING_RATE,
    noise_px: float = DEFAULT_NOISE_PX,
    seed: int = 0,
) -> dict:
    """Convert every split of an NTU ST-GCN-layout directory into a Kinetics-like one.

    Names, labels and ``classes.json`` carry over; ``DST/meta.json`` records the camera
    and settings. Returns that meta dict.
    """
    from ciasa.data.stgcn import load_split, save_split

    src, dst = Path(src), Path(dst)
    if splits is None:
        splits = tuple(sorted(p.name[: -len("_data.npy")] for p in src.glob("*_data.npy")))
    if not splits:
        raise FileNotFoundError(f"{src}: no '*_data.npy' split to convert")
    camera = camera or Camera.from_fov(*IMAGE_SIZE, hfov_deg=DEFAULT_HFOV)
    stats = {}
    for k, split in enumerate(splits):
        data = load_split(src, split, mmap=True, layout=NTU_RGBD)
        if data.data.shape[1] != 3:
            raise cli.BadInput(f"{src}/{split}_data.npy: expected 3-D NTU joints, got {data.data.shape[1]} channels")
        out = project_to_kinetics(np.asarray(data.data), camera, missing_rate, noise_px, seed + 1000 * k)
        save_split(dst, split, out, data.names, data.labels, data.class_names, layout=OPENPOSE_18)
        present = np.abs(out).sum(axis=(1, 3)) > 0  # (N, T, M)
        detected = (out[:, 2] > 0).transpose(0, 1, 3, 2)[present]  # (frames, 18)
        stats[split] = {
            "samples": len(data),
            "shape": list(out.shape),
            "detected_fraction": float(detected.mean()) if detected.size else 0.0,
            "mean_score": float(out[:, 2][out[:, 2] > 0].mean()) if (out[:, 2] > 0).any() else 0.0,
        }
        log.info("%s/%s -> %s/%s: %s", src, split, dst, split, stats[split])
    meta = {
        "format": "ciasa-kinetics-synth/1",
        "source": str(src),
        "layout": OPENPOSE_18.name,
        "channels": ["x", "y", "score"],
        "normalisation": "x = u/W - 0.5, y = v/H - 0.5 (official Kinetics-skeleton feeder, y down); 0 where score is 0",
        "camera": camera.to_json(),
        "missing_rate": missing_rate,
        "noise_px": noise_px,
        "seed": seed,
        "splits": stats,
    }
    atomic_write_json(dst / "meta.json", meta)
    return meta


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m ciasa.data.kinetics_synth",
        "Project a 3-D NTU-25 ST-GCN-layout data set (e.g. the synthetic demo set's xview/) "
        "onto OpenPose-18 image joints with confidences, normalised like Kinetics-skeleton.",
    )
    p.add_argument("--from", dest="src", required=True, type=Path, help="NTU ST-GCN layout directory")
    p.add_argument("--out", required=True, type=Path, help="output directory (ST-GCN layout, OpenPose-18)")
    p.add_argument("--splits", nargs="+", default=None, help="splits to convert (default: all found)")
    p.add_argument(
        "--width", type=cli.positive_int, default=IMAGE_SIZE[0], help="image width in pixels (Kinetics: 340)"
    )
    p.add_argument(
        "--height", type=cli.positive_int, default=IMAGE_SIZE[1], help="image height in pixels (Kinetics: 256)"
    )
    p.add_argument("--hfov", type=float, default=DEFAULT_HFOV, help="horizontal field of view, degrees")
    p.add_argument(
        "--camera", type=Path, default=None, help="a *.camera.json to use instead of --width/--height/--hfov"
    )
    p.add_argument("--missing-rate", type=float, default=DEFAULT_MISSING_RATE, help="random joint misses per detection")
    p.add_argument("--noise-px", type=float, default=DEFAULT_NOISE_PX, help="detector noise, pixels (std)")
    p.add_argument("--seed", type=int, default=0, help="seed of the misses and the noise")
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.missing_rate < 1:
        raise cli.BadInput(f"--missing-rate must lie in [0, 1), got {args.missing_rate}")
    if not 0 < args.hfov < 180:
        raise cli.BadInput(f"--hfov must lie in (0, 180) degrees, got {args.hfov}")
    camera = Camera.load(args.camera) if args.camera else Camera.from_fov(args.width, args.height, hfov_deg=args.hfov)
    meta = convert_dir(
        args.src,
        args.out,
        tuple(args.splits) if args.splits else None,
        camera,
        args.missing_rate,
        args.noise_px,
        args.seed,
    )
    print(json.dumps(meta["splits"], indent=2))
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())
