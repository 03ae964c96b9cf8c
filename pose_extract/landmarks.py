"""BlazePose's 33 landmarks and the rules that turn them into the 25 NTU (Kinect v2) joints.

MediaPipe's mapping (:mod:`pose_extract.estimators.mediapipe` declares it to the rest of
``pose_extract``; another estimator brings its own).

BlazePose and Kinect disagree on more than names: Kinect's skeleton has joints with no
BlazePose counterpart (spine base/mid/shoulder, neck, hand, hand tip, foot) and places
some shared ones differently (its "head" is the centre of the skull, its "foot" sits on
the forefoot, not the toe tip). Every rule is a fixed linear combination of landmarks,
so the mapping is one (25, 33) matrix: it applies alike to world points, camera-space
points and, for the joints whose rule is a convex combination, to image points.

The rules (all "left"/"right" are the subject's own, in both conventions):

=================  ===============================================================
NTU joint          rule (BlazePose landmarks)
=================  ===============================================================
shoulders, elbows, wrists, knees, ankles   the landmark of the same name
hips               hip landmark moved ``HIP_WIDEN`` of the hip width outwards
                   (Kinect's hip joints sit wider apart than BlazePose's)
spine_base         hip midpoint, raised by ``SPINE_BASE_RAISE`` of the torso
                   (hip midpoint -> shoulder midpoint)
spine_shoulder     shoulder midpoint, lowered by ``SPINE_SHOULDER_DROP`` of the torso
spine_mid          ``SPINE_MID_AT`` of the way from spine_base to spine_shoulder
head               mean of the two ears (the skull's centre), raised by ``HEAD_RAISE``
                   of the ear-to-shoulder-midpoint distance
neck               ``NECK_AT`` of the way from spine_shoulder to the ear midpoint
hand               ``HAND_AT`` of the way from the wrist to the index/pinky midpoint
hand_tip           the wrist extended ``HAND_TIP_AT`` times the wrist -> index/pinky
                   midpoint vector (BlazePose's index/pinky are knuckles, not tips)
thumb              the thumb landmark
foot               ``FOOT_AT`` of the way from the ankle to the toe tip (foot index)
=================  ===============================================================

The constants were chosen on renders of the synthetic set's *training* clips
(``benchmarks/pose_accuracy.py --tune``); see ``docs/pose_extract.md``.
"""

from __future__ import annotations

import numpy as np

from ciasa.cli import UnknownName
from ciasa.skeleton import NTU_RGBD
from pose_extract.estimator import ntu_matrix

BLAZEPOSE_LANDMARKS: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
NUM_LANDMARKS = len(BLAZEPOSE_LANDMARKS)

# Tunable placement constants (fractions, dimensionless); see the module docstring.
# Fitted on renders of 6 training clips (2 per view), landmarks lifted onto their rays;
# negative HIP_WIDEN narrows the hips, negative SPINE_SHOULDER_DROP raises the spine
# shoulder, negative HEAD_RAISE lowers the head.
HIP_WIDEN = -0.06
SPINE_BASE_RAISE = 0.15
SPINE_SHOULDER_DROP = -0.03
SPINE_MID_AT = 0.46
HEAD_RAISE = -0.02
NECK_AT = 0.36
HAND_AT = 0.8
HAND_TIP_AT = 1.77
FOOT_AT = 0.64

DEFAULT_RULES: dict[str, float] = {
    "hip_widen": HIP_WIDEN,
    "spine_base_raise": SPINE_BASE_RAISE,
    "spine_shoulder_drop": SPINE_SHOULDER_DROP,
    "spine_mid_at": SPINE_MID_AT,
    "head_raise": HEAD_RAISE,
    "neck_at": NECK_AT,
    "hand_at": HAND_AT,
    "hand_tip_at": HAND_TIP_AT,
    "foot_at": FOOT_AT,
}


def _lm(name: str) -> np.ndarray:
    """One-hot row selecting a BlazePose landmark."""
    row = np.zeros(NUM_LANDMARKS)
    row[BLAZEPOSE_LANDMARKS.index(name)] = 1.0
    return row


def mapping_matrix(**rules: float) -> np.ndarray:
    """The (25, 33) matrix ``M`` with ``ntu = M @ blazepose`` (joints on the first axis).

    Keyword arguments override :data:`DEFAULT_RULES`. Every row sums to 1, so the
    mapping commutes with translation (hip-centred world points map to hip-centred
    joints).
    """
    unknown = set(rules) - set(DEFAULT_RULES)
    if unknown:
        raise UnknownName(f"unknown mapping rule(s) {sorted(unknown)}; known: {sorted(DEFAULT_RULES)}")
    r = {**DEFAULT_RULES, **rules}

    hip_l, hip_r = _lm("left_hip"), _lm("right_hip")
    hip_mid = (hip_l + hip_r) / 2
    sh_mid = (_lm("left_shoulder") + _lm("right_shoulder")) / 2
    ear_mid = (_lm("left_ear") + _lm("right_ear")) / 2
    torso = sh_mid - hip_mid

    spine_base = hip_mid + r["spine_base_raise"] * torso
    spine_shoulder = sh_mid - r["spine_shoulder_drop"] * torso
    rows: dict[str, np.ndarray] = {
        "spine_base": spine_base,
        "spine_shoulder": spine_shoulder,
        "spine_mid": spine_base + r["spine_mid_at"] * (spine_shoulder - spine_base),
        "neck": spine_shoulder + r["neck_at"] * (ear_mid - spine_shoulder),
        "head": ear_mid + r["head_raise"] * (ear_mid - sh_mid),
    }
    for side, other in (("left", "right"), ("right", "left")):
        for joint in ("shoulder", "elbow", "wrist", "knee", "ankle", "thumb"):
            rows[f"{side}_{joint}"] = _lm(f"{side}_{joint}")
        hip, hip_other = _lm(f"{side}_hip"), _lm(f"{other}_hip")
        rows[f"{side}_hip"] = hip + r["hip_widen"] * (hip - hip_other)
        wrist = _lm(f"{side}_wrist")
        knuckles = (_lm(f"{side}_index") + _lm(f"{side}_pinky")) / 2
        rows[f"{side}_hand"] = wrist + r["hand_at"] * (knuckles - wrist)
        rows[f"{side}_hand_tip"] = wrist + r["hand_tip_at"] * (knuckles - wrist)
        ankle = _lm(f"{side}_ankle")
        rows[f"{side}_foot"] = ankle + r["foot_at"] * (_lm(f"{side}_foot_index") - ankle)

    return ntu_matrix(rows)


def to_ntu(landmarks: np.ndarray, matrix: np.ndarray | None = None) -> np.ndarray:
    """Map landmarks (..., L, C) to NTU joints (..., 25, C) with a (25, L) ``matrix`` (an
    estimator's :meth:`~pose_extract.estimator.PoseEstimator.ntu_matrix`); by default
    BlazePose's 33 with :func:`mapping_matrix`."""
    landmarks = np.asarray(landmarks)
    m = mapping_matrix() if matrix is None else matrix
    if landmarks.shape[-2] != m.shape[1]:
        what = "BlazePose landmarks" if matrix is None else "landmarks (the mapping's columns)"
        raise ValueError(f"expected {m.shape[1]} {what} on axis -2, got shape {landmarks.shape}")
    return np.einsum("jl,...lc->...jc", m, landmarks)


def observed_joints() -> tuple[int, ...]:
    """NTU joints that BlazePose observes directly (no derived placement): the error
    measure for the pose itself, free of the mapping rules' guesses."""
    names = [f"{s}_{j}" for s in ("left", "right") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
    return tuple(NTU_RGBD.index(n) for n in names)
