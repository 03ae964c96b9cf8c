"""Error measures between two skeletons of the same frames: one definition for every stage.

Pose extraction's benchmarks (``pose_extract.accuracy``) and the pipeline's per-condition
pose recovery (``pipeline.recovery``) both compare a recovered skeleton with the one that
was rendered; they import these so the two can never disagree on what a Procrustes error
or a left/right swap is. Joints are ``(T, V, 3)`` arrays in metres, frames aligned.
"""

from __future__ import annotations

import numpy as np

from ciasa.skeleton import NTU_RGBD

# The limb pairs checked for left/right swaps: joints BlazePose observes directly.
SWAP_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (NTU_RGBD.index(f"left_{p}"), NTU_RGBD.index(f"right_{p}"))
    for p in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
)


def joint_errors(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Euclidean distance per frame and joint (T, V)."""
    return np.linalg.norm(pred - truth, axis=-1)


def similarity_procrustes(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``pred`` (T, V, 3) moved by the per-frame similarity (scale, rotation, translation)
    that best fits it to ``truth`` in least squares (Umeyama's closed form, reflection excluded)."""
    mp, mt = pred.mean(axis=1, keepdims=True), truth.mean(axis=1, keepdims=True)
    p, t = pred - mp, truth - mt
    cov = np.einsum("fvi,fvj->fij", t, p)  # (T, 3, 3) truth x pred
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones_like(s)
    fix[:, -1] = d
    rot = u @ (fix[..., None] * vt)
    var = (p**2).sum(axis=(1, 2))
    scale = (s * fix).sum(axis=1) / np.maximum(var, 1e-12)
    return scale[:, None, None] * np.einsum("fij,fvj->fvi", rot, p) + mt


def swapped_frames(pred: np.ndarray, truth: np.ndarray, root: int = 0) -> np.ndarray:
    """Per frame, whether the body's left/right labels are swapped, in camera space.

    Both skeletons are centred on their own root (a translation; no rotation, which
    could turn a mirrored pose into a better fit). A frame is swapped when relabelling
    every left joint of :data:`SWAP_PAIRS` as right and vice versa brings the pose
    closer to the truth than its own labels do.
    """
    p = pred - pred[:, root : root + 1]
    t = truth - truth[:, root : root + 1]
    left = [a for a, _ in SWAP_PAIRS]
    right = [b for _, b in SWAP_PAIRS]
    own = joint_errors(p[:, left], t[:, left]).sum(1) + joint_errors(p[:, right], t[:, right]).sum(1)
    flipped = joint_errors(p[:, left], t[:, right]).sum(1) + joint_errors(p[:, right], t[:, left]).sum(1)
    return flipped < own
