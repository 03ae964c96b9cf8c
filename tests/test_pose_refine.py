"""The learned pose refiner: fitting, targets, files, and its place in the lifting."""

from __future__ import annotations

import numpy as np
import pytest

from ciasa.camera import Camera
from pose_extract.extract import lift
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS
from pose_extract.refine import (
    DEFAULT_REFINER_PATH,
    NUM_FEATURES,
    NUM_OUTPUTS,
    Refiner,
    features,
    fit,
    fit_mlp,
    resolve_refiner,
    targets,
)

I = {n: i for i, n in enumerate(BLAZEPOSE_LANDMARKS)}


def landmarks(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(on_rays, pose, visibility) of ``n`` random frames of a body ~3 m from the camera."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(scale=0.3, size=(n, 33, 3)) + [0.0, 0.0, 3.0]
    on_rays = pose + rng.normal(scale=0.02, size=pose.shape)
    return on_rays, pose, rng.uniform(0.2, 1.0, size=(n, 33))


def test_features_are_relative_to_the_hips():
    on_rays, pose, vis = landmarks(4)
    f = features(on_rays, pose, vis)
    assert f.shape == (4, NUM_FEATURES)
    shifted = features(on_rays + [0.5, -0.2, 1.0], pose + [0.5, -0.2, 1.0], vis)
    np.testing.assert_allclose(f, shifted, atol=1e-12)
    with pytest.raises(ValueError, match="expected"):
        features(on_rays[:, :25], pose, vis)


def test_targets_ignore_the_body_size_and_keep_the_root():
    rng = np.random.default_rng(1)
    truth = rng.normal(scale=0.3, size=(6, 25, 3)) + [0.0, 0.0, 3.0]
    # a lifted pose 7 % too large and too far (what a wrong body-size prior gives) has nothing to correct
    np.testing.assert_allclose(targets(1.07 * truth, truth), 0.0, atol=1e-12)
    bent = 1.07 * truth
    bent[:, 7, 2] += 0.1  # one joint 10 cm too far
    t = targets(bent, truth).reshape(6, 25, 3)
    np.testing.assert_allclose(t[:, 7], [[0.0, 0.0, -0.1]] * 6, atol=1e-12)
    assert np.all(t[:, 0] == 0), "the root is never moved"


def test_ridge_recovers_a_linear_correction_and_round_trips(tmp_path):
    on_rays, pose, vis = landmarks(400)
    x = features(on_rays, pose, vis)
    true_w = np.random.default_rng(2).normal(scale=0.05, size=(NUM_FEATURES, NUM_OUTPUTS))
    y = (x - x.mean(0)) @ true_w + 0.01
    model = fit(x, y, alpha=1e-8, meta={"source": "test"})
    np.testing.assert_allclose(model.correction(x).reshape(400, -1), y, atol=1e-6)
    heavy = fit(x, y, alpha=1e3)  # a large penalty shrinks towards the mean correction
    assert np.abs(heavy.correction(x).reshape(400, -1) - y.mean(0)).max() < 0.2 * np.abs(y - y.mean(0)).max()

    path = tmp_path / "r.npz"
    model.save(path)
    loaded = Refiner.load(path)
    np.testing.assert_allclose(loaded.correction(x), model.correction(x), atol=1e-4)  # stored as float32
    assert loaded.meta["source"] == "test" and loaded.meta["alpha"] == 1e-8
    joints = np.zeros((3, 25, 3))
    np.testing.assert_allclose(loaded.apply(joints, on_rays[:3], pose[:3], vis[:3]), loaded.correction(x[:3]))


def test_bad_refiner_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        Refiner.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        Refiner.load(bad)
    small = tmp_path / "small.npz"
    np.savez(
        small,
        mean=np.zeros(3),
        std=np.ones(3),
        w0=np.zeros((3, 75)),
        b0=np.zeros(75),
        meta=np.array('{"format": "pose-extract-refiner/1"}'),
    )
    with pytest.raises(ValueError, match="small.npz.*shapes"):
        Refiner.load(small)
    with pytest.raises(ValueError, match="alpha > 0"):
        fit(np.zeros((5, NUM_FEATURES)), np.zeros((5, NUM_OUTPUTS)), alpha=0.0)


def test_default_refiner_is_packaged():
    assert DEFAULT_REFINER_PATH.is_file()
    r = resolve_refiner("default")
    assert r.layers[0][0].shape[0] == NUM_FEATURES and r.layers[-1][1].shape == (NUM_OUTPUTS,) and r.meta["clips"]
    assert resolve_refiner("none") is None


def test_default_refiner_saw_every_synthetic_class_training_clips_only():
    """The pipeline runs on all classes of the synthetic set, so the packaged refiner must
    have been fitted on clips of each of them (not only the gross-motion ones), and only on
    the cross-view training split's cameras (the demo evaluates cross-view; tests/test_fit_leaks.py
    checks the fit samples against its validation split)."""
    from ciasa.data.ntu import XVIEW_TRAIN_CAMERAS, parse_sample_name
    from ciasa.data.synth.motions import ACTIONS

    clips = [parse_sample_name(c.rsplit("/", 1)[-1]) for c in resolve_refiner("default").meta["clips"]]
    assert {c.action for c in clips} == {a.ntu_id for a in ACTIONS}
    assert {c.camera for c in clips} <= set(XVIEW_TRAIN_CAMERAS)


def test_lift_applies_the_refiner_relative_to_the_root():
    """A refiner that moves one joint 10 cm away from the camera moves exactly that joint
    (in skeleton space, through the extrinsics) and leaves the root's placement alone."""
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    base = Camera.from_fov(640, 480, 60.0)
    cam = Camera(
        **{**base.__dict__, "rotation": ((c, 0.0, -s), (0.0, 1.0, 0.0), (s, 0.0, c)), "translation": (0.1, -0.8, 0.2)}
    )  # a camera turned 30 degrees, off the origin
    rng = np.random.default_rng(4)
    world = rng.normal(scale=0.2, size=(5, 33, 3))  # MediaPipe axes, hip-centred
    world[:, [I["left_hip"], I["right_hip"]]] = [[0.1, 0.0, 0.0], [-0.1, 0.0, 0.0]]
    points = world * [-1, -1, 1] + [0.0, 0.0, 3.0]
    image = np.stack(
        [cam.cx - cam.fx * points[..., 0] / points[..., 2], cam.cy - cam.fy * points[..., 1] / points[..., 2]], axis=-1
    )
    vis, valid = np.ones((5, 33)), np.ones(5, dtype=bool)
    bias = np.zeros(NUM_OUTPUTS)
    bias[7 * 3 + 2] = 0.1  # joint 7 (left hand), camera z
    push = Refiner(np.zeros(NUM_FEATURES), np.ones(NUM_FEATURES), ((np.zeros((NUM_FEATURES, NUM_OUTPUTS)), bias),), {})
    plain = lift(image, world, vis, valid, cam, None)
    pushed = lift(image, world, vis, valid, cam, None, refiner=push)
    moved = pushed.joints - plain.joints
    np.testing.assert_allclose(np.delete(moved, 7, axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(moved[:, 7] @ cam.R.T, [[0.0, 0.0, 0.1]] * 5, atol=1e-12)  # back in camera axes


def test_mlp_learns_a_nonlinear_correction(tmp_path):
    """A correction no linear map can give (|z| of one standardised feature) is learnt by
    the MLP, and the numpy forward pass of the saved file reproduces it."""
    on_rays, pose, vis = landmarks(400, seed=5)
    x = features(on_rays, pose, vis)
    y = np.zeros((len(x), NUM_OUTPUTS))
    y[:, 5] = 0.1 * np.abs((x[:, 0] - x[:, 0].mean()) / x[:, 0].std())
    linear = fit(x, y, alpha=1.0)
    mlp = fit_mlp(x, y, hidden=64, epochs=100, dropout=0.0, weight_decay=0.0, lr=3e-3)
    err = lambda m: np.abs(m.correction(x).reshape(len(x), -1)[:, 5] - y[:, 5]).mean()  # noqa: E731
    assert err(mlp) < 0.5 * err(linear)
    mlp.save(tmp_path / "mlp.npz")
    loaded = Refiner.load(tmp_path / "mlp.npz")
    assert loaded.meta["kind"] == "mlp" and len(loaded.layers) == 3
    np.testing.assert_allclose(loaded.correction(x[:10]), mlp.correction(x[:10]), atol=1e-4)
