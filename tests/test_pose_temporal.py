"""Jump rejection: a frame whose 2-D pose contradicts its neighbours is dropped and refilled,
real motion (fast or not) is kept."""

from __future__ import annotations

import numpy as np
import pytest

from pose_extract.detect import Detections
from pose_extract.extract import ExtractOptions, prepare
from pose_extract.facing import MIRROR_PERMUTATION
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS
from pose_extract.temporal import jump_frames, jump_scores

I = {n: i for i, n in enumerate(BLAZEPOSE_LANDMARKS)}
T = 30


def walking_track(speed: float = 1.0) -> np.ndarray:
    """(T, 33, 2) pixels of a frontal person (subject's left on the image's right) drifting
    sideways and swinging the arms; ``speed`` scales the swing (1 ~ a quick wave)."""
    rng = np.random.default_rng(3)
    base = rng.normal(scale=3.0, size=(33, 2)) + [160.0, 60.0]  # face and hand landmarks near the head
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for name, (x, y) in {
            "shoulder": (18, 60),
            "elbow": (24, 90),
            "wrist": (26, 118),
            "hip": (10, 130),
            "knee": (11, 175),
            "ankle": (12, 220),
        }.items():
            base[I[f"{side}_{name}"]] = (160 + sign * x, y)
    t = np.arange(T)[:, None]
    track = np.repeat(base[None], T, axis=0)
    track[..., 0] += 1.5 * t  # the body drifts sideways
    for side, phase in (("left", 0.0), ("right", np.pi)):
        for joint, amp in (("elbow", 8.0), ("wrist", 20.0)):
            track[:, I[f"{side}_{joint}"], 1] -= speed * amp * (1 + np.sin(0.6 * t[:, 0] + phase))
    return track


def test_smooth_and_fast_motion_is_kept():
    detected = np.ones(T, dtype=bool)
    for speed in (1.0, 2.5):
        assert not jump_frames(walking_track(speed), detected).any()
    assert jump_scores(walking_track(), detected).max() < 0.1


def test_exchanged_labels_and_collapsed_pose_are_rejected():
    track = walking_track()
    track[9] = track[9][MIRROR_PERMUTATION]  # one frame read with left and right exchanged
    arms = [I[f"{s}_{j}"] for s in ("left", "right") for j in ("shoulder", "elbow", "wrist")]
    track[20, arms] = track[20, arms[:1] + arms[3:4]].mean(axis=0)  # both arms collapsed onto the neck
    detected = np.ones(T, dtype=bool)
    assert np.flatnonzero(jump_frames(track, detected)).tolist() == [9, 20]
    assert not jump_frames(track, detected, threshold=None).any()
    with pytest.raises(ValueError, match="positive"):
        jump_frames(track, detected, threshold=0.0)


def test_undetected_frames_are_skipped_not_compared():
    track = walking_track()
    detected = np.ones(T, dtype=bool)
    detected[10:14] = False
    track[10:14] = 0.0  # what an undetected frame holds: it is no jump, and not a neighbour
    assert not jump_frames(track, detected).any()
    assert jump_scores(track, detected)[10:14].tolist() == [0.0] * 4


def test_prepare_refills_a_rejected_frame_from_its_neighbours():
    track = walking_track()
    truth = track.copy()
    track[9] = track[9][MIRROR_PERMUTATION]
    world = np.zeros((T, 33, 3))
    world[:, :, :2] = (track - track[:, [I["left_hip"], I["right_hip"]]].mean(1, keepdims=True)) / 200.0
    det = Detections(track, np.zeros((T, 33)), world, np.ones((T, 33)), np.ones((T, 33)), np.ones(T, bool), 0.0)
    p = prepare(det, ExtractOptions(facing="off"))
    assert np.flatnonzero(p["rejected"]).tolist() == [9] and np.flatnonzero(p["filled"]).tolist() == [9]
    assert p["valid"].all()
    np.testing.assert_allclose(p["image"][9], (truth[8] + truth[10]) / 2)  # interpolated, labels right again
    off = prepare(det, ExtractOptions(facing="off", max_jump=None))
    assert not off["rejected"].any() and not off["filled"].any()
    np.testing.assert_allclose(off["image"][9], track[9])
