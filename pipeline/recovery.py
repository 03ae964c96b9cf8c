"""Pose recovery per condition: how close the re-extracted skeleton comes to the rendered one,
and how much of a perturbation survives the render -> pose-extraction round trip.

The RGB-domain drop is only about the attack if the round trip keeps what the attack put in;
these numbers say whether it did, for the clean, control and perturbed renders alike:

* ``pa_mpjpe_mm``: per-frame similarity-Procrustes MPJPE over all 25 joints (mm);
* ``swap_rate``: share of frames whose left/right labels fit the rendered skeleton better
  exchanged (camera space, root-centred, no rotation);
* ``survival``: the share of a perturbation (perturbed or control minus clean, spine-base
  relative, over the joints the attack moved) that the extraction keeps: the least-squares
  projection of recovered-minus-recovered-clean onto rendered-minus-rendered-clean
  (1 = kept in full, 0 = erased, negative = reversed).

The definitions are ``ciasa.pose_metrics``' (``similarity_procrustes``,
``swapped_frames``), the same ones ``pose_extract.accuracy`` uses;
tests/test_pipeline_recovery.py checks that both give the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ciasa.pose_metrics import similarity_procrustes, swapped_frames
from ciasa.skeleton import NTU_RGBD
from pipeline.guard import is_failed, read_record
from pipeline.paths import CONDITIONS, Paths

ROOT = NTU_RGBD.index("spine_base")
# A joint counts as attacked when the perturbation moves it this far (m) in some frame.
MOVED_M = 1e-3


def joints_of(clip: np.ndarray) -> np.ndarray:
    """Body 0 of a ``(3, T, 25, M)`` skeleton as ``(T, 25, 3)``."""
    if clip.ndim != 4 or clip.shape[0] != 3 or clip.shape[2] != 25:
        raise ValueError(f"expected a (3, T, 25, M) skeleton, got shape {clip.shape}")
    return np.transpose(clip[..., 0], (1, 2, 0)).astype(np.float64)


def present(joints: np.ndarray) -> np.ndarray:
    """Frames that hold a body (padding and undetected frames are all zeros)."""
    return np.isfinite(joints).all(axis=(1, 2)) & (np.abs(joints).sum(axis=(1, 2)) > 0)


def pa_mpjpe(pred: np.ndarray, truth: np.ndarray) -> float | None:
    """Mean similarity-Procrustes joint error (m) over frames and all joints; None for no frame."""
    if len(pred) == 0:
        return None
    return float(np.linalg.norm(similarity_procrustes(pred, truth) - truth, axis=-1).mean())


def moved_joints(perturbed: np.ndarray, clean: np.ndarray, threshold: float = MOVED_M) -> list[int]:
    """Joints (of ``(T, 25, 3)`` skeletons) the perturbation moves by more than ``threshold`` somewhere."""
    n = min(len(perturbed), len(clean))
    both = present(perturbed[:n]) & present(clean[:n])
    if not both.any():
        return []
    moved = np.linalg.norm(perturbed[:n][both] - clean[:n][both], axis=-1).max(axis=0)
    return [int(j) for j in np.flatnonzero(moved > threshold)]


def survival(
    rendered: np.ndarray,
    rendered_clean: np.ndarray,
    recovered: np.ndarray,
    recovered_clean: np.ndarray,
    joints: list[int],
    root: int = ROOT,
) -> tuple[float | None, int]:
    """``(share, frames)``: least-squares projection of the recovered perturbation onto the rendered
    one, both root-relative, over ``joints`` and the frames all four skeletons hold; None when the
    rendered perturbation is zero there (or no frame is left). A perturbation far below the
    extractor's own error (see :func:`displacement_mm`) gives a share that is mostly noise."""
    n = min(len(rendered), len(rendered_clean), len(recovered), len(recovered_clean))
    arrays = [a[:n] for a in (rendered, rendered_clean, recovered, recovered_clean)]
    valid = np.logical_and.reduce([present(a) for a in arrays])
    if not valid.any() or not joints:
        return None, int(valid.sum())
    rel = [(a - a[:, root : root + 1])[valid][:, joints] for a in arrays]
    true = rel[0] - rel[1]
    got = rel[2] - rel[3]
    denom = float((true * true).sum())
    if denom <= 0:
        return None, int(valid.sum())
    return float((got * true).sum() / denom), int(valid.sum())


def displacement_mm(
    rendered: np.ndarray, rendered_clean: np.ndarray, joints: list[int], root: int = ROOT
) -> float | None:
    """Mean root-relative displacement (mm) of ``joints`` from the clean skeleton, over the frames both hold."""
    n = min(len(rendered), len(rendered_clean))
    a, b = rendered[:n], rendered_clean[:n]
    valid = present(a) & present(b)
    if not valid.any() or not joints:
        return None
    rel = [(x - x[:, root : root + 1])[valid][:, joints] for x in (a, b)]
    return 1000.0 * float(np.linalg.norm(rel[0] - rel[1], axis=-1).mean())


def condition_recovery(rendered: np.ndarray, recovered: np.ndarray) -> dict:
    """PA-MPJPE (mm) and swap rate of one recovered ``(T', 25, 3)`` skeleton against the rendered one."""
    n = min(len(rendered), len(recovered))
    valid = present(rendered[:n]) & present(recovered[:n])
    p, t = recovered[:n][valid], rendered[:n][valid]
    error = pa_mpjpe(p, t)
    return {
        "frames": int(valid.sum()),
        "pa_mpjpe_mm": None if error is None else 1000.0 * error,
        "swap_rate": float(swapped_frames(p, t).mean()) if len(p) else None,
    }


def recovery(rendered: dict[str, np.ndarray], recovered: dict[str, np.ndarray | None]) -> dict:
    """Per condition: PA-MPJPE, swap rate and, for every condition but clean, the surviving share
    of its perturbation over the joints the *attack* moved (the same joints for the control,
    which perturbs those joints by the same amounts). Skeletons are ``(T, 25, 3)``; a recovered
    one is None when the video gave none."""
    out: dict = {"conditions": {}, "moved_joints": []}
    clean, clean_rec = rendered.get("clean"), recovered.get("clean")
    joints = moved_joints(rendered["perturbed"], clean) if clean is not None and "perturbed" in rendered else []
    out["moved_joints"] = joints
    for condition, source in rendered.items():
        rec = recovered.get(condition)
        row = {"frames": 0, "pa_mpjpe_mm": None, "swap_rate": None} if rec is None else condition_recovery(source, rec)
        if condition != "clean":
            share = None
            if rec is not None and clean is not None and clean_rec is not None:
                share, _ = survival(source, clean, rec, clean_rec, joints)
            row["survival"] = share
            row["displacement_mm"] = None if clean is None else displacement_mm(source, clean, joints)
        out["conditions"][condition] = row
    return out


def _recovered(paths: Paths, clip: str, condition: str) -> np.ndarray | None:
    """The re-extracted skeleton as ``(T, 25, 3)``, or None when the render or extraction failed."""
    for record in (paths.render_info(clip, condition), paths.pose_info(clip, condition)):
        if not Path(record).is_file() or is_failed(record):
            return None
    info = read_record(paths.pose_info(clip, condition))
    pose = Path(paths.pose(clip, condition))
    if info.get("detected", 1) == 0 or not pose.is_file():
        return None
    return joints_of(np.load(pose))


def clip_recovery(paths: Paths, clip: str, conditions: tuple[str, ...] = CONDITIONS) -> dict:
    """:func:`recovery` for one clip from the pipeline's files (rendered: ``skeletons/CLIP/COND.npy``,
    recovered: ``poses/CLIP/COND.npy``)."""
    rendered = {c: joints_of(np.load(paths.skeleton(clip, c))) for c in conditions}
    recovered = {c: _recovered(paths, clip, c) for c in conditions}
    return recovery(rendered, recovered)
