"""Pose recovery per condition (issue 21, item 4) on hand-made skeletons with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from ciasa.pose_metrics import SWAP_PAIRS
from ciasa.skeleton import NTU_RGBD
from pipeline import recovery as R


def _body(rng, frames=10) -> np.ndarray:
    """A (T, 25, 3) skeleton a few metres in front of the camera."""
    joints = rng.normal(0, 0.3, size=(frames, 25, 3))
    joints[..., 2] += 3.0
    return joints


def _rotate(joints: np.ndarray, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return joints @ rot.T


def test_pa_mpjpe_ignores_a_similarity_and_measures_the_rest():
    rng = np.random.default_rng(0)
    truth = _body(rng)
    moved = 1.3 * _rotate(truth, 25.0) + np.array([0.4, -0.1, 0.7])
    assert R.pa_mpjpe(moved, truth) == pytest.approx(0.0, abs=1e-9)
    # one joint off by 10 cm in every frame, the rest exact: the fit spreads the error, but its
    # root-mean-square can never exceed the identity's, sqrt(0.1**2 / 25) = 2 cm, and the mean is below it
    bent = truth.copy()
    bent[:, 14, 0] += 0.1
    assert 0 < R.pa_mpjpe(bent, truth) <= 0.02 + 1e-12


def test_same_numbers_as_pose_extract_accuracy():
    """Both stages use ciasa.pose_metrics: the pipeline's PA-MPJPE is pose_extract's."""
    from pose_extract import accuracy as A

    rng = np.random.default_rng(1)
    truth = _body(rng, 30)
    pred = truth + rng.normal(0, 0.05, size=truth.shape)
    pred[::3] = pred[::3][:, [*range(12), 16, 17, 18, 19, 12, 13, 14, 15, *range(20, 25)]]  # legs swapped
    assert R.similarity_procrustes is A.similarity_procrustes and R.swapped_frames is A.swapped_frames
    assert R.pa_mpjpe(pred, truth) == pytest.approx(float(A.pa_errors(pred, truth, tuple(range(25))).mean()))


def test_recovery_per_condition_by_hand():
    """Clean recovered exactly; the perturbed leg displacement comes back at half its size, the
    control's not at all; the control's video swaps left and right in 4 of 10 frames."""
    rng = np.random.default_rng(2)
    clean = _body(rng)
    legs = [NTU_RGBD.index(n) for n in ("left_knee", "left_ankle", "left_foot")]
    delta = np.zeros_like(clean)
    delta[:, legs] = rng.normal(0, 0.05, size=(10, 3, 3))
    perturbed = clean + delta
    control = clean - delta  # same per-joint, per-frame size, another direction
    recovered_control = clean.copy()
    swap = list(range(25))
    for left, right in SWAP_PAIRS:
        swap[left], swap[right] = right, left
    recovered_control[:4] = recovered_control[:4][:, swap]
    out = R.recovery(
        {"clean": clean, "control": control, "perturbed": perturbed},
        {"clean": clean.copy(), "control": recovered_control, "perturbed": clean + 0.5 * delta},
    )
    assert out["moved_joints"] == sorted(legs)
    c = out["conditions"]
    assert c["clean"]["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-6) and c["clean"]["swap_rate"] == 0.0
    assert "survival" not in c["clean"]
    assert c["perturbed"]["survival"] == pytest.approx(0.5)
    rel = delta - delta[:, [0]]  # spine base is not moved: the displacement relative to it is delta
    assert c["perturbed"]["displacement_mm"] == pytest.approx(1000 * np.linalg.norm(rel[:, legs], axis=-1).mean())
    assert c["control"]["displacement_mm"] == pytest.approx(c["perturbed"]["displacement_mm"])  # same size
    assert c["perturbed"]["swap_rate"] == 0.0 and c["perturbed"]["pa_mpjpe_mm"] > 0
    # the control's recovered frames 4..9 are the clean pose: none of the control displacement comes back
    # there, and the swapped frames 0..3 bring the left leg's clean position (not its displacement) over
    assert c["control"]["swap_rate"] == pytest.approx(0.4)
    assert c["control"]["frames"] == 10
    assert abs(c["control"]["survival"]) < 0.5
    unswapped = R.recovery(
        {"clean": clean, "control": control, "perturbed": perturbed},
        {"clean": clean, "control": clean, "perturbed": perturbed},
    )
    assert unswapped["conditions"]["control"]["survival"] == pytest.approx(0.0)
    assert unswapped["conditions"]["perturbed"]["survival"] == pytest.approx(1.0)
    assert unswapped["conditions"]["perturbed"]["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-6)


def test_failed_videos_padding_and_unequal_lengths():
    rng = np.random.default_rng(3)
    clean = _body(rng, 12)
    clean[10:] = 0.0  # trailing padding of the source
    perturbed = clean.copy()
    perturbed[:10, 14] += 0.05
    recovered = clean[:11].copy()  # the video ends a frame later than the body
    recovered[3] = 0.0  # an undetected frame
    out = R.recovery({"clean": clean, "perturbed": perturbed}, {"clean": recovered, "perturbed": None})
    assert out["conditions"]["clean"]["frames"] == 9  # 10 frames with a body, one not detected
    assert out["conditions"]["perturbed"] == {
        "frames": 0,
        "pa_mpjpe_mm": None,
        "swap_rate": None,
        "survival": None,
        "displacement_mm": pytest.approx(50.0 * 3**0.5),
    }  # (5, 5, 5) cm
    with pytest.raises(ValueError, match="expected a \\(3, T, 25, M\\) skeleton"):
        R.joints_of(np.zeros((3, 4, 17, 1)))
