"""The benchmark's error measures: Procrustes, swap detection, root depth sign."""

from __future__ import annotations

import numpy as np

from ciasa.skeleton import NTU_RGBD
from pose_extract.accuracy import SWAP_PAIRS, pa_errors, root_depth_error, similarity_procrustes, swapped_frames


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
