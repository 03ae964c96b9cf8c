"""The benchmark's error measures: Procrustes, swap detection, root depth sign."""

from __future__ import annotations

import numpy as np
import pytest

from ciasa.skeleton import NTU_RGBD
from pose_extract.accuracy import (
    SWAP_PAIRS,
    clip_swap_rate,
    pa_errors,
    root_depth_error,
    similarity_procrustes,
    swap_rate,
    swapped_frames,
)


def truth_pose(frames: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(scale=0.3, size=(frames, 25, 3)) + np.array([0.0, 0.0, 3.0])


def test_procrustes_undoes_a_similarity_transform():
    truth = truth_pose()
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    pred = 1.3 * truth @ q.T + np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(similarity_procrustes(pred, truth), truth, atol=1e-9)
    assert pa_errors(pred, truth, tuple(range(25))).max() < 1e-9


def test_procrustes_does_not_reflect():
    truth = truth_pose()
    mirrored = truth * np.array([-1.0, 1.0, 1.0])
    assert pa_errors(mirrored, truth, tuple(range(25))).mean() > 0.01


def test_swap_detection():
    truth = truth_pose()
    pred = truth + 0.01
    assert not swapped_frames(pred, truth).any()
    swapped = pred.copy()
    for a, b in SWAP_PAIRS:
        swapped[:2, [a, b]] = pred[:2, [b, a]]
    assert swapped_frames(swapped, truth).tolist() == [True, True, False, False]


def test_root_depth_error_sign():
    truth = truth_pose()
    pred = truth.copy()
    pred[..., 2] *= 1.05
    dz, frac = root_depth_error(pred, truth, NTU_RGBD.index("spine_base"))
    assert np.all(dz > 0)
    np.testing.assert_allclose(frac, 0.05)


def test_swap_rate_of_a_clip_against_its_source():
    """What the pipeline records per clip: the extracted (3, T, 25, 1) against the rendered
    (3, T', 25, M) skeleton, over the frames where both have a body."""
    truth = truth_pose(6)
    pred = truth + 0.01
    for a, b in SWAP_PAIRS:
        pred[1, [a, b]], pred[4, [a, b]] = pred[1, [b, a]], pred[4, [b, a]]
    extracted = np.transpose(pred, (2, 0, 1))[..., None].astype(np.float32)
    source = np.zeros((3, 8, 25, 2), dtype=np.float32)  # two padding frames, a second body slot
    source[:, :6, :, 0] = np.transpose(truth, (2, 0, 1))
    assert swap_rate(pred, truth) == pytest.approx(2 / 6)
    assert swap_rate(pred, truth, np.array([1, 1, 1, 0, 0, 0], bool)) == pytest.approx(1 / 3)
    assert np.isnan(swap_rate(pred, truth, np.zeros(6, bool)))
    assert clip_swap_rate(extracted, source) == {"swap_rate": round(2 / 6, 4), "swapped_frames": 2, "frames": 6}
    extracted[:, 4] = 0.0  # a frame without a pose is left out, not counted as right
    assert clip_swap_rate(extracted, source) == {"swap_rate": 0.2, "swapped_frames": 1, "frames": 5}
    assert clip_swap_rate(np.zeros_like(extracted), source)["swap_rate"] is None
    with pytest.raises(ValueError, match="extracted"):
        clip_swap_rate(extracted[0], source)
