"""Retargeting, input checks and scene seeding (numpy only, no Blender)."""

from __future__ import annotations

import numpy as np
import pytest

from render.body_default import build_default_body, template_joints
from render.clip import RenderInputError, RenderOptions, check_clip, required_hfov, trim_padding
from render.demo_motion import waving_clip
from render.retarget import (
    BONE_NAMES,
    J,
    RestSkeleton,
    blender_to_kinect,
    joint_error,
    kinect_to_blender,
    min_rotation,
    retarget,
)
from render.scene_params import scene_params, seed_from_name


@pytest.fixture(scope="module")
def rest() -> RestSkeleton:
    return RestSkeleton(template_joints())


def test_axis_map_is_a_proper_rotation():
    m = kinect_to_blender(np.eye(3))
    assert np.isclose(np.linalg.det(m), 1.0)
    # The sensor looks along Kinect +z = Blender +y; Kinect up is Blender up.
    assert np.allclose(kinect_to_blender([0, 0, 1]), [0, 1, 0])
    assert np.allclose(kinect_to_blender([0, 1, 0]), [0, 0, 1])
    p = np.random.default_rng(0).normal(size=(5, 3))
    assert np.allclose(blender_to_kinect(kinect_to_blender(p)), p)


def test_min_rotation_turns_a_onto_b_including_opposites():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(50, 3))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = rng.normal(size=(50, 3))
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    b[0] = -a[0]
    b[1] = a[1]
    r = min_rotation(a, b)
    assert np.allclose(np.einsum("nij,nj->ni", r, a), b, atol=1e-9)
    assert np.allclose(np.linalg.det(r), 1.0)


def test_retarget_reproduces_constant_length_motion(rest):
    clip = waving_clip(45)[..., 0].transpose(1, 2, 0)
    motion = retarget(clip, rest)
    err = joint_error(motion, clip)
    assert err["max_m"] < 1e-3  # the acceptance bound
    assert err["max_m"] < 1e-5  # in fact exact up to float32 input
    assert motion.warnings == []
    r = motion.rotations
    assert np.allclose(r @ np.swapaxes(r, -1, -2), np.eye(3), atol=1e-9)


def test_retarget_follows_varying_bone_lengths_and_reports_outliers(rest):
    clip = waving_clip(20)[..., 0].transpose(1, 2, 0).astype(np.float64)
    tip, hand = J["left_hand_tip"], J["left_hand"]
    d = clip[:, tip] - clip[:, hand]
    unit = d / np.linalg.norm(d, axis=1, keepdims=True)
    # Kinect-like jitter: the hand tip 2 cm further out in half of the frames.
    jitter = clip.copy()
    jitter[:10, tip] += 0.02 * unit[:10]
    assert joint_error(retarget(jitter, rest), jitter)["max_m"] < 1e-5
    # A glitch far outside the drawable band (the tip 40 cm out in one frame: 4-5x its length) is clamped and reported.
    glitch = clip.copy()
    glitch[3, tip] += 0.4 * unit[3]
    err = joint_error(retarget(glitch, rest), glitch)
    assert err["max_nonterminal_m"] < 1e-5  # bone heads always sit on the input joints
    assert err["max_m"] > 0.2


def test_zero_length_bone_is_drawn_with_a_minimal_length(rest):
    clip = waving_clip(10)[..., 0].transpose(1, 2, 0).astype(np.float64)
    clip[:, J["right_hand"]] = clip[:, J["right_wrist"]]  # Kinect's hand on the wrist
    motion = retarget(clip, rest)
    b = BONE_NAMES.index("right_hand")
    assert motion.lengths[b] > 0.03
    assert any("right_hand" in w and "zero-length" in w for w in motion.warnings)
    assert np.all(np.isfinite(motion.rotations))


def test_absent_frames_are_marked_and_filled(rest):
    clip = waving_clip(12)[..., 0].transpose(1, 2, 0).astype(np.float64)
    clip[5] = 0.0
    motion = retarget(clip, rest)
    assert motion.present.tolist() == [t != 5 for t in range(12)]
    assert np.all(np.isfinite(motion.heads)) and np.all(np.isfinite(motion.rotations))
    with pytest.raises(ValueError, match="absent in every frame"):
        retarget(np.zeros((4, 25, 3)), rest)


def test_default_body_is_skinned_and_has_a_face():
    body = build_default_body()
    assert np.allclose(body.weights.sum(axis=1), 1.0, atol=1e-5)
    used = {body.materials[i] for i in np.unique(body.material_index)}
    assert {"skin", "shirt", "trousers", "eye_white", "pupil", "lips", "hair", "shoes"} <= used
    height = body.vertices[:, 2].max() - body.vertices[:, 2].min()
    assert 1.6 < height < 1.9


def test_check_clip_rejects_bad_input():
    good = waving_clip(4)
    assert check_clip(good).shape == (3, 4, 25, 1)
    with pytest.raises(RenderInputError, match=r"shape \(3, T, 25, M\)"):
        check_clip(np.zeros((3, 4, 18, 1)), "x.npy")
    bad = good.copy()
    bad[0, 2, 3, 0] = np.nan
    with pytest.raises(RenderInputError, match="NaN.*frame 2"):
        check_clip(bad, "x.npy")
    with pytest.raises(RenderInputError, match="empty"):
        check_clip(np.zeros((3, 0, 25, 1)), "x.npy")


def test_trim_padding_keeps_inner_zero_frames():
    clip = np.concatenate([waving_clip(6), np.zeros((3, 4, 25, 1), np.float32)], axis=1)
    clip[:, 2] = 0.0
    trimmed, n = trim_padding(clip)
    assert n == 4 and trimmed.shape[1] == 6
    empty, n = trim_padding(np.zeros((3, 5, 25, 2)))
    assert empty.shape[1] == 0 and n == 5


def test_scene_seed_is_stable_and_name_dependent():
    assert seed_from_name("S001C001P001R001A001") == seed_from_name("S001C001P001R001A001")
    assert seed_from_name("S001C001P001R001A001") != seed_from_name("S001C001P001R001A002")
    assert scene_params(7) == scene_params(7)
    assert scene_params(7) != scene_params(8)
    a = scene_params(3).appearances[0]
    assert a.shirt != a.trousers


def test_required_hfov_and_options():
    pts = np.array([[1.0, 0.0, 1.0], [0.0, 0.3, 1.0]])
    assert np.isclose(required_hfov(pts, 400, 300), 90.0)
    with pytest.raises(ValueError, match="unknown body"):
        RenderOptions(body="robot")
    with pytest.raises(ValueError, match="unknown engine"):
        RenderOptions(engine="povray")
    with pytest.raises(ValueError, match="even"):
        RenderOptions(width=321)


def test_missing_joints_inside_a_tracked_body_are_filled():
    from render.clip import fill_missing_joints

    clip = waving_clip(6).astype(np.float64)
    clip[:, 2, J["left_wrist"], 0] = 0.0  # dropped in one frame: the neighbour frame's value
    clip[:, :, J["right_thumb"], 0] = 0.0  # never seen: the parent's position (the wrist)
    clip[:, 4] = 0.0  # a frame without the body stays empty
    filled, n = fill_missing_joints(clip)
    assert n == 1 + 5
    assert np.allclose(filled[:, 2, J["left_wrist"], 0], clip[:, 1, J["left_wrist"], 0]) or np.allclose(
        filled[:, 2, J["left_wrist"], 0], clip[:, 3, J["left_wrist"], 0]
    )
    assert np.allclose(filled[:, :4, J["right_thumb"], 0], clip[:, :4, J["right_wrist"], 0])
    assert np.all(filled[:, 4] == 0.0)


def test_quaternions_stay_on_one_hemisphere_across_frames():
    """A full turn about one axis: consecutive quaternions never flip sign (Blender would
    interpolate the long way round), and each still encodes its frame's rotation."""
    from render.blender import _quat_from_matrix

    angles = np.linspace(0.0, 4 * np.pi, 90)
    c, s = np.cos(angles), np.sin(angles)
    m = np.zeros((90, 2, 3, 3))
    m[:, :, 0, 0], m[:, :, 0, 1] = c[:, None], -s[:, None]
    m[:, :, 1, 0], m[:, :, 1, 1] = s[:, None], c[:, None]
    m[:, :, 2, 2] = 1.0
    q = _quat_from_matrix(m)
    assert (np.sum(q[1:] * q[:-1], axis=-1) > 0).all()
    half = angles / 2
    expected = np.stack([np.cos(half), np.zeros(90), np.zeros(90), np.sin(half)], axis=-1)
    assert np.abs(np.abs(np.sum(q[:, 0] * expected, axis=-1)) - 1).max() < 1e-9


def test_quaternions_encode_their_matrices_in_blenders_order():
    """(w, x, y, z) for arbitrary rotations, checked against the closed-form quaternion-to-matrix
    formula; the first frame has w >= 0."""
    from render.blender import _quat_from_matrix

    rng = np.random.default_rng(3)
    axes = rng.normal(size=(40, 3, 3))
    m, _ = np.linalg.qr(axes)
    m *= np.sign(np.linalg.det(m))[:, None, None]  # proper rotations
    q = _quat_from_matrix(m.reshape(20, 2, 3, 3))
    assert q.shape == (20, 2, 4) and (q[0, :, 0] >= 0).all()
    w, x, y, z = np.moveaxis(q.reshape(40, 4), -1, 0)
    back = np.stack(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    ).transpose(2, 0, 1)
    np.testing.assert_allclose(back, m, atol=1e-12)
