"""The facing prior: MediaPipe's mirrored back-view reading is undone, a true turn is kept."""

from __future__ import annotations

import numpy as np

from pose_extract.facing import (
    MIRROR_PERMUTATION,
    back_view_frames,
    continuity_frames,
    facing_angle,
    mirror,
    mirrored_heading,
)
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS

I = {n: i for i, n in enumerate(BLAZEPOSE_LANDMARKS)}


def frontal_world() -> np.ndarray:
    """MediaPipe world landmarks (x right in the image, y down, z away) of a person facing
    the camera: their left side appears on the image's right (+x), the nose is nearer."""
    rng = np.random.default_rng(0)
    w = rng.normal(scale=0.02, size=(33, 3))
    for name, (x, y, z) in {"left_shoulder": (0.18, -0.45, 0.0), "right_shoulder": (-0.18, -0.45, 0.0),
                            "left_hip": (0.1, 0.0, 0.0), "right_hip": (-0.1, 0.0, 0.0),
                            "left_wrist": (0.25, -0.3, -0.3), "right_wrist": (-0.25, 0.0, 0.0),
                            "nose": (0.0, -0.65, -0.1)}.items():  # fmt: skip
        w[I[name]] = (x, y, z)
    return w


def test_facing_angle_front_back_and_sides():
    w = frontal_world()
    assert abs(facing_angle(w[None])[0]) < 5
    back = w * [-1, 1, -1]  # the same body turned 180 degrees about the vertical
    assert abs(abs(facing_angle(back[None])[0]) - 180) < 5
    c, s = np.cos(np.radians(45)), np.sin(np.radians(45))
    turned = w @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]).T
    assert abs(abs(facing_angle(turned[None])[0]) - 45) < 5


def test_back_view_reading_is_mirrored_back():
    truth = frontal_world()
    # MediaPipe's back-view reading: same image positions, sides exchanged, depth mirrored
    reading = truth[MIRROR_PERMUTATION] * [1, 1, -1]
    world = np.stack([truth, reading])
    detected = np.array([True, True])
    frames = back_view_frames(world, detected, 90.0, method="turn")
    assert frames.tolist() == [False, True]
    image = world[..., :2] * 100 + 200
    vis = np.tile(np.linspace(0, 1, 33), (2, 1))
    image2, image_z2, world2, vis2 = mirror(frames, image, world[..., 2], world, vis)
    np.testing.assert_allclose(world2[1], truth, atol=1e-12)
    np.testing.assert_allclose(image2[1], image[0], atol=1e-12)
    np.testing.assert_allclose(vis2[1], vis[1][MIRROR_PERMUTATION])
    np.testing.assert_allclose(world2[0], world[0])  # untouched frame
    # mirroring twice is the identity; the prior can be switched off
    again = mirror(frames, image2, image_z2, world2, vis2)
    np.testing.assert_allclose(again[2], world)
    assert not back_view_frames(world, detected, None, method="turn").any()
    assert not back_view_frames(world, detected, method="off").any()


def test_mirror_permutation_exchanges_sides_only():
    for i, j in enumerate(MIRROR_PERMUTATION):
        a, b = BLAZEPOSE_LANDMARKS[i], BLAZEPOSE_LANDMARKS[j]
        assert a.replace("left", "right") == b or a.replace("right", "left") == b or a == b == "nose"


def turned(world: np.ndarray, deg: float) -> np.ndarray:
    """The body turned by ``deg`` about the vertical (positive: towards its own left)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return world @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]).T


def reading_of(world: np.ndarray) -> np.ndarray:
    """MediaPipe's mirrored reading of a pose: sides exchanged, depth negated."""
    return world[MIRROR_PERMUTATION] * [1, 1, -1]


def test_mirrored_heading_matches_the_mirrored_reading():
    w = np.stack([turned(frontal_world(), d) for d in (-150, -60, 0, 30, 120)])
    mirrored = np.stack([reading_of(x) for x in w])
    diff = (facing_angle(mirrored) - mirrored_heading(facing_angle(w)) + 180) % 360 - 180  # 180 == -180
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)


def test_a_true_turn_to_the_back_is_kept():
    """A person turning smoothly from facing the camera to showing their back (6 degrees a
    frame): read correctly, nothing is mirrored, although half the clip faces away;
    the per-frame rule would 'fix' every back view into a swap."""
    angles = np.linspace(0, 174, 30)
    world = np.stack([turned(frontal_world(), a) for a in angles])
    detected = np.ones(len(angles), dtype=bool)
    assert not back_view_frames(world, detected).any()
    assert back_view_frames(world, detected, 90.0, method="turn").sum() == (angles > 90).sum()


def test_flipped_readings_inside_a_clip_are_undone():
    """A person facing the camera (turning slowly from -20 to 20 degrees) whose reading
    MediaPipe flips for frames 10-17 and 25-26, and misses frames 5-6."""
    angles = np.linspace(-20, 20, 40)
    truth = [turned(frontal_world(), a) for a in angles]
    flipped = set(range(10, 18)) | {25, 26}
    world = np.stack([reading_of(w) if i in flipped else w for i, w in enumerate(truth)])
    detected = np.ones(len(angles), dtype=bool)
    detected[[5, 6]] = False
    world[~detected] = 0.0
    frames = back_view_frames(world, detected)
    assert np.flatnonzero(frames).tolist() == sorted(flipped)


def test_a_clip_read_from_behind_throughout_is_turned_to_face_the_camera():
    """No flip to go by: only the weak prior (people face the sensor) decides, as the
    per-frame rule did."""
    angles = np.linspace(-30, 30, 20)
    world = np.stack([reading_of(turned(frontal_world(), a)) for a in angles])
    assert back_view_frames(world, np.ones(len(angles), dtype=bool)).all()


def test_continuity_on_headings_and_bad_method():
    assert continuity_frames(np.array([])).shape == (0,)
    h = np.array([0.0, 5.0, 175.0, 172.0, 10.0, 12.0])  # frames 2-3 flipped readings
    assert continuity_frames(h).tolist() == [False, False, True, True, False, False]
    import pytest

    with pytest.raises(ValueError, match="continuity"):
        back_view_frames(np.zeros((2, 33, 3)), np.ones(2, dtype=bool), method="sideways")
