"""The facing prior: MediaPipe's back-view reading of a person facing the camera is undone."""

from __future__ import annotations

import numpy as np

from pose_extract.facing import MIRROR_PERMUTATION, back_view_frames, facing_angle, mirror
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
    frames = back_view_frames(world, detected, 90.0)
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
    assert not back_view_frames(world, detected, None).any()


def test_mirror_permutation_exchanges_sides_only():
    for i, j in enumerate(MIRROR_PERMUTATION):
        a, b = BLAZEPOSE_LANDMARKS[i], BLAZEPOSE_LANDMARKS[j]
        assert a.replace("left", "right") == b or a.replace("right", "left") == b or a == b == "nose"
