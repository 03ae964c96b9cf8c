"""BlazePose 33 -> NTU 25: direct joints, derived joints, sides, affine invariance."""

from __future__ import annotations

import numpy as np
import pytest

from ciasa.skeleton import NTU_RGBD
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS, DEFAULT_RULES, mapping_matrix, observed_joints, to_ntu


def lm(points: np.ndarray, name: str) -> np.ndarray:
    return points[..., BLAZEPOSE_LANDMARKS.index(name), :]


def j(joints: np.ndarray, name: str) -> np.ndarray:
    return joints[..., NTU_RGBD.index(name), :]


@pytest.fixture
def landmarks() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(33, 3))


def test_landmark_names_follow_blazepose_indices():
    assert len(BLAZEPOSE_LANDMARKS) == 33
    for index, name in [
        (0, "nose"),
        (7, "left_ear"),
        (11, "left_shoulder"),
        (16, "right_wrist"),
        (21, "left_thumb"),
        (23, "left_hip"),
        (28, "right_ankle"),
        (32, "right_foot_index"),
    ]:
        assert BLAZEPOSE_LANDMARKS[index] == name


def test_directly_observed_joints_copy_their_landmark_on_the_same_side(landmarks):
    ntu = to_ntu(landmarks)
    for side in ("left", "right"):
        for joint in ("shoulder", "elbow", "wrist", "knee", "ankle", "thumb"):
            np.testing.assert_allclose(j(ntu, f"{side}_{joint}"), lm(landmarks, f"{side}_{joint}"))
    assert len(observed_joints()) == 12


def test_derived_joints_follow_the_documented_rules(landmarks):
    r = dict(
        hip_widen=0.1,
        spine_base_raise=0.05,
        spine_shoulder_drop=0.02,
        spine_mid_at=0.4,
        head_raise=0.2,
        neck_at=0.3,
        hand_at=0.6,
        hand_tip_at=1.8,
        foot_at=0.75,
    )
    ntu = to_ntu(landmarks, mapping_matrix(**r))
    hip_l, hip_r = lm(landmarks, "left_hip"), lm(landmarks, "right_hip")
    sh_mid = (lm(landmarks, "left_shoulder") + lm(landmarks, "right_shoulder")) / 2
    hip_mid = (hip_l + hip_r) / 2
    ear_mid = (lm(landmarks, "left_ear") + lm(landmarks, "right_ear")) / 2
    base = hip_mid + 0.05 * (sh_mid - hip_mid)
    top = sh_mid - 0.02 * (sh_mid - hip_mid)
    np.testing.assert_allclose(j(ntu, "spine_base"), base)
    np.testing.assert_allclose(j(ntu, "spine_shoulder"), top)
    np.testing.assert_allclose(j(ntu, "spine_mid"), base + 0.4 * (top - base))
    np.testing.assert_allclose(j(ntu, "head"), ear_mid + 0.2 * (ear_mid - sh_mid))
    np.testing.assert_allclose(j(ntu, "neck"), top + 0.3 * (ear_mid - top))
    np.testing.assert_allclose(j(ntu, "left_hip"), hip_l + 0.1 * (hip_l - hip_r))
    np.testing.assert_allclose(j(ntu, "right_hip"), hip_r + 0.1 * (hip_r - hip_l))
    for side in ("left", "right"):
        wrist = lm(landmarks, f"{side}_wrist")
        knuckles = (lm(landmarks, f"{side}_index") + lm(landmarks, f"{side}_pinky")) / 2
        np.testing.assert_allclose(j(ntu, f"{side}_hand"), wrist + 0.6 * (knuckles - wrist))
        np.testing.assert_allclose(j(ntu, f"{side}_hand_tip"), wrist + 1.8 * (knuckles - wrist))
        ankle = lm(landmarks, f"{side}_ankle")
        np.testing.assert_allclose(j(ntu, f"{side}_foot"), ankle + 0.75 * (lm(landmarks, f"{side}_foot_index") - ankle))


def test_mapping_commutes_with_rigid_motion_and_batches(landmarks):
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    shift = np.array([0.3, -1.0, 2.5])
    moved = landmarks @ q.T + shift
    np.testing.assert_allclose(to_ntu(moved), to_ntu(landmarks) @ q.T + shift, atol=1e-12)
    batch = np.stack([landmarks, moved])[None]  # (1, 2, 33, 3)
    assert to_ntu(batch).shape == (1, 2, 25, 3)


def test_unknown_rule_and_wrong_shape_are_rejected(landmarks):
    with pytest.raises(KeyError, match="unknown mapping rule"):
        mapping_matrix(elbow_at=0.5)
    with pytest.raises(ValueError, match="33 BlazePose landmarks"):
        to_ntu(landmarks[:25])
    assert set(DEFAULT_RULES) >= {"spine_mid_at", "hand_tip_at", "foot_at"}
