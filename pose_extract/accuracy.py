"""Error measures between an extracted skeleton and the one that was rendered.

All take joints as (T, V, 3) arrays in metres, frames aligned, and return per-frame or
per-joint values so callers can aggregate as they like. Used by
``benchmarks/pose_accuracy.py``; kept here so the tests can pin their definitions.
"""

from __future__ import annotations

import numpy as np

from ciasa.pose_metrics import SWAP_PAIRS, joint_errors, similarity_procrustes, swapped_frames  # noqa: F401 (re-exported)
from ciasa.skeleton import NTU_RGBD


def pa_errors(pred: np.ndarray, truth: np.ndarray, joints: tuple[int, ...]) -> np.ndarray:
    """Per-frame similarity-Procrustes errors (T, len(joints)), fitted on ``joints`` only."""
    idx = list(joints)
    return joint_errors(similarity_procrustes(pred[:, idx], truth[:, idx]), truth[:, idx])


def root_depth_error(pred: np.ndarray, truth: np.ndarray, root: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Signed depth error of the root per frame: metres and fraction of the true depth
    (positive = placed too far from the camera). Depth is the skeleton's z."""
    dz = pred[:, root, 2] - truth[:, root, 2]
    return dz, dz / truth[:, root, 2]


def swap_rate(
    pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None, root: int = NTU_RGBD.index("spine_base")
) -> float:
    """Fraction of the ``valid`` frames (all by default) of (T, V, 3) joints whose left/right
    labels are swapped (:func:`swapped_frames`); NaN when no frame is valid."""
    swapped = swapped_frames(np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64), root)
    mask = np.ones(len(swapped), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    return float(swapped[mask].mean()) if mask.any() else float("nan")


def clip_swap_rate(extracted: np.ndarray, source: np.ndarray, body: int = 0) -> dict:
    """Left/right swaps of one extracted clip against the skeleton it was rendered from.

    ``extracted`` and ``source``: (3, T, 25, M) NTU-25 clips in the same (skeleton) space,
    e.g. ``CLIP.npy`` of ``python -m pose_extract`` and the clip given to ``python -m
    render``. Frames are compared from the first on, over the shorter clip (the renderer
    trims trailing padding), where both have body ``body`` (a frame without a pose, zero in
    either clip, is left out rather than counted). Returns ``swap_rate`` (fraction of the
    compared frames; None when there are none), ``swapped_frames`` and ``frames`` (compared).
    """
    e, s = np.asarray(extracted), np.asarray(source)
    for name, a in (("extracted", e), ("source", s)):
        if a.ndim != 4 or a.shape[0] != 3 or a.shape[2] != len(NTU_RGBD.joint_names) or a.shape[3] <= body:
            raise ValueError(f"{name} clip has shape {a.shape}, expected (3, T, 25, M) with body {body}")
    n = min(e.shape[1], s.shape[1])
    p = np.transpose(e[:, :n, :, body], (1, 2, 0)).astype(np.float64)
    t = np.transpose(s[:, :n, :, body], (1, 2, 0)).astype(np.float64)
    both = (np.abs(p).sum(axis=(1, 2)) > 0) & (np.abs(t).sum(axis=(1, 2)) > 0)
    swapped = int(swapped_frames(p[both], t[both], NTU_RGBD.index("spine_base")).sum()) if both.any() else 0
    frames = int(both.sum())
    return {"swap_rate": round(swapped / frames, 4) if frames else None, "swapped_frames": swapped, "frames": frames}
