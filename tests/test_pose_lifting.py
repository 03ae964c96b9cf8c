"""Lifting MediaPipe's hip-centred world pose into camera space, on exact synthetic projections."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ciasa.camera import Camera
from pose_extract.extract import lift
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS, to_ntu
from pose_extract.lifting import MEDIAPIPE_TO_KINECT, body_scale, segment_lengths, solve_translation
from pose_extract.prior import BodyPrior, prior_from_skeletons

HIPS = [BLAZEPOSE_LANDMARKS.index("left_hip"), BLAZEPOSE_LANDMARKS.index("right_hip")]


def body(rng: np.random.Generator, frames: int) -> np.ndarray:
    """Person-sized random landmark clouds (T, 33, 3), Kinect axes, around the origin."""
    return rng.normal(scale=[0.25, 0.45, 0.15], size=(frames, 33, 3))


def as_mediapipe(camera_points: np.ndarray) -> np.ndarray:
    """What MediaPipe's world landmarks would be: hip-centred, MediaPipe axes."""
    hip_mid = camera_points[:, HIPS].mean(axis=1, keepdims=True)
    return (camera_points - hip_mid) * MEDIAPIPE_TO_KINECT


def yawed_camera(deg: float) -> Camera:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    base = Camera.from_fov(480, 360, 70.0)
    return Camera(
        base.width,
        base.height,
        base.fx,
        base.fy,
        base.cx,
        base.cy,
        rotation=((c, 0.0, -s), (0.0, 1.0, 0.0), (s, 0.0, c)),
        translation=(0.2, -0.1, 0.5),
    )


def test_translation_round_trip_is_sub_millimetre():
    rng = np.random.default_rng(0)
    cam = Camera.from_fov(480, 360, 70.0)
    pose = body(rng, 8)
    truth = np.column_stack([rng.uniform(-0.8, 0.8, 8), rng.uniform(-0.5, 0.5, 8), rng.uniform(2.0, 5.0, 8)])
    camera_points = pose + truth[:, None]
    pixels = cam.project(camera_points)
    world = as_mediapipe(camera_points) * MEDIAPIPE_TO_KINECT  # back to Kinect axes, hip-centred
    t = solve_translation(world, pixels, cam)
    hip_mid = camera_points[:, HIPS].mean(axis=1)
    np.testing.assert_allclose(t, hip_mid, atol=1e-3)


def test_pixel_noise_moves_the_root_by_centimetres_not_metres():
    rng = np.random.default_rng(1)
    cam = Camera.from_fov(480, 360, 70.0)
    camera_points = body(rng, 50) + np.array([0.1, -0.2, 3.0])
    pixels = cam.project(camera_points) + rng.normal(scale=2.0, size=(50, 33, 2))
    world = camera_points - camera_points[:, HIPS].mean(axis=1, keepdims=True)
    t = solve_translation(world, pixels, cam)
    err = np.linalg.norm(t - camera_points[:, HIPS].mean(axis=1), axis=1)
    assert np.median(err) < 0.05


def test_low_weight_outlier_is_ignored():
    rng = np.random.default_rng(2)
    cam = Camera.from_fov(480, 360, 70.0)
    camera_points = body(rng, 1) + np.array([0.0, 0.0, 3.5])
    pixels = cam.project(camera_points)
    pixels[0, 5] += 150.0  # a wild landmark, e.g. an occluded wrist
    world = camera_points - camera_points[:, HIPS].mean(axis=1, keepdims=True)
    weights = np.ones((1, 33))
    weights[0, 5] = 0.0
    t = solve_translation(world, pixels, cam, weights)
    np.testing.assert_allclose(t[0], camera_points[0, HIPS].mean(axis=0), atol=1e-3)
    with pytest.raises(ValueError, match="shape mismatch"):
        solve_translation(world, pixels[..., :1], cam)


@pytest.mark.parametrize("yaw", [0.0, 45.0, -45.0])
def test_lift_returns_skeleton_space_joints_through_the_extrinsics(yaw):
    rng = np.random.default_rng(3)
    cam = yawed_camera(yaw)
    skeleton_points = body(rng, 6) + np.array([0.0, 0.1, 3.0])  # landmarks in skeleton space
    camera_points = cam.to_camera(skeleton_points)
    pixels = cam.project(skeleton_points)
    valid = np.ones(6, dtype=bool)
    valid[2] = False
    joints, t, scale, reproj, *_ = lift(pixels, as_mediapipe(camera_points), np.ones((6, 33)), valid, cam, prior=None)
    expected = to_ntu(skeleton_points)
    np.testing.assert_allclose(joints[valid], expected[valid], atol=1e-3)
    assert np.all(joints[2] == 0) and scale == 1.0
    assert np.all(reproj[valid] < 0.01)


def test_body_prior_rescales_the_body_and_moves_the_root_in_proportion():
    rng = np.random.default_rng(4)
    cam = Camera.from_fov(480, 360, 70.0)
    camera_points = body(rng, 10) + np.array([0.0, 0.0, 3.0])
    truth = to_ntu(camera_points)
    prior = BodyPrior(np.median(segment_lengths(truth), axis=0), "test")
    oversized = as_mediapipe(camera_points) * 1.08  # MediaPipe thinks the person is 8 % larger
    valid = np.ones(10, dtype=bool)
    pixels = cam.project(camera_points)
    assert body_scale(to_ntu(oversized * MEDIAPIPE_TO_KINECT), prior.lengths) == pytest.approx(1 / 1.08)
    uncorrected, t_raw, *_ = lift(pixels, oversized, np.ones((10, 33)), valid, cam, prior=None)
    corrected, t_fix, scale, _, source, *_ = lift(pixels, oversized, np.ones((10, 33)), valid, cam, prior=prior)
    assert scale == pytest.approx(1 / 1.08) and source == "body_prior"
    np.testing.assert_allclose(corrected, truth, atol=2e-3)
    # Without the prior the same pixels put the root ~8 % further away.
    assert np.median(t_raw[:, 2] / t_fix[:, 2]) == pytest.approx(1.08, rel=0.01)


def test_prior_from_skeletons_ignores_empty_frames_and_round_trips(tmp_path):
    rng = np.random.default_rng(5)
    data = np.zeros((2, 3, 7, 25, 2), dtype=np.float32)
    data[:, :, :5, :, 0] = rng.normal(size=(2, 3, 5, 25))
    prior = prior_from_skeletons(data, "test")
    joints = np.moveaxis(data[:, :, :5, :, 0], 1, -1).reshape(-1, 25, 3)
    np.testing.assert_allclose(prior.lengths, np.median(segment_lengths(joints), axis=0), rtol=1e-6)
    prior.save(tmp_path / "prior.json")
    np.testing.assert_allclose(BodyPrior.load(tmp_path / "prior.json").lengths, prior.lengths, atol=1e-5)
    with pytest.raises(ValueError, match="no non-empty frame"):
        prior_from_skeletons(np.zeros((1, 3, 4, 25, 1)), "empty")


@pytest.mark.parametrize("yaw", [0.0, 45.0])
def test_floor_plane_fixes_the_body_size_and_depth(yaw):
    from pose_extract.lifting import SOLE_LANDMARKS

    rng = np.random.default_rng(6)
    cam = yawed_camera(yaw)
    skeleton_points = body(rng, 12) + np.array([0.1, -0.2, 3.2])  # skeleton space
    soles = [BLAZEPOSE_LANDMARKS.index(s) for s in SOLE_LANDMARKS]
    floor_y = -1.3
    skeleton_points[:, soles, 1] = floor_y + 0.02 + rng.uniform(0, 0.1, size=(12, 4))
    skeleton_points[:, soles[0], 1] = floor_y + 0.02  # one sole point rests 2 cm above the floor
    camera_points = cam.to_camera(skeleton_points)
    pixels = cam.project(skeleton_points)
    valid = np.ones(12, dtype=bool)
    plane = np.array([0.0, 2.0, 0.0, -2.0 * floor_y])  # y = floor_y, normal up, not unit length
    oversized = as_mediapipe(camera_points) * 1.1
    joints, _, scale, _, source, *_ = lift(
        pixels, oversized, np.ones((12, 33)), valid, cam, prior=None, floor=plane, sole_height=0.02
    )
    assert source == "floor" and scale == pytest.approx(1 / 1.1, rel=1e-3)
    np.testing.assert_allclose(joints, to_ntu(skeleton_points), atol=3e-3)
    # A floor above every foot (camera below it) is unusable: fall back to the prior/MediaPipe.
    _, _, scale, _, source, *_ = lift(
        pixels, oversized, np.ones((12, 33)), valid, cam, prior=None, floor=np.array([0.0, 1.0, 0.0, -5.0])
    )
    assert source == "mediapipe" and scale == 1.0


def test_floor_plane_sources():
    from pose_extract.extract import floor_plane_for

    plain = Camera.from_fov(480, 360)
    assert floor_plane_for(plain, "auto") is None and floor_plane_for(plain, "off") is None
    kinect_style = Camera(**{**plain.__dict__, "extra": {"floor_plane": [0.0, 1.0, 0.0, 1.2]}})
    np.testing.assert_allclose(floor_plane_for(kinect_style, "auto"), [0.0, 1.0, 0.0, 1.2])
    assert floor_plane_for(kinect_style, "off") is None
    synth_style = Camera(**{**plain.__dict__, "extra": {"floor_normal": [0.0, 0.999, -0.04], "floor_offset": -1.1}})
    np.testing.assert_allclose(floor_plane_for(synth_style, "auto"), [0.0, 0.999, -0.04, 1.1])
    np.testing.assert_allclose(floor_plane_for(plain, (0.0, 1.0, 0.0, 0.9)), [0.0, 1.0, 0.0, 0.9])
    with pytest.raises(ValueError, match="four numbers"):
        floor_plane_for(plain, (1.0, 2.0))
