"""The pose-estimator interface (pose_extract.estimator): MediaPipe runs behind it, and
another estimator is one class plus a name.

The fake estimator registered here reads its person from the test's own truth rather than
from pixels: it tests the contract (its own landmarks, order, world axes, mapping and
rules), so that anything in pose_extract still assuming MediaPipe's 33 landmarks fails.
The real component is covered by the MediaPipe test at the end (Blender render, slow).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from ciasa.camera import Camera
from ciasa.cli import BadInput
from ciasa.skeleton import NTU_RGBD
from ciasa.video import encode_h264, iter_frames
from pose_extract.__main__ import main
from pose_extract.estimator import (
    ESTIMATORS,
    FrameEstimator,
    FramePose,
    LandmarkLayout,
    available,
    get_estimator,
    ntu_matrix,
    register,
)
from pose_extract.extract import ExtractOptions, extract, output_paths
from pose_extract.prior import prior_from_skeletons

REPO = Path(__file__).resolve().parents[1]
FRAMES = 40
MISSED = 5  # the fake finds nobody in this frame
FLIPPED = (20, 21, 22)  # ... and reads the person from behind in these (labels exchanged, depth mirrored)

# Seventeen landmarks in an order of the fake's own, its world axes x right, y up, z towards
# the camera (Kinect's: x left, y up, z away).
FAKE_LANDMARKS = (
    "head",
    "right_shoulder",
    "left_shoulder",
    "right_elbow",
    "left_elbow",
    "right_wrist",
    "left_wrist",
    "right_hand",
    "left_hand",
    "right_hip",
    "left_hip",
    "right_knee",
    "left_knee",
    "right_ankle",
    "left_ankle",
    "right_foot",
    "left_foot",
)
FAKE_LAYOUT = LandmarkLayout(FAKE_LANDMARKS, (-1.0, 1.0, -1.0), sole=("left_foot", "right_foot"))


def fake_mapping(spine_mid_at: float = 0.5) -> np.ndarray:
    """NTU joints from the fake's landmarks: the ones it sees, the spine from hip and
    shoulder midpoints, neck half-way to the head, hand tip and thumb at the hand."""
    lm = FAKE_LAYOUT.one_hot
    rows = {n: lm(n) for n in FAKE_LANDMARKS}
    rows["spine_base"] = (lm("left_hip") + lm("right_hip")) / 2
    rows["spine_shoulder"] = (lm("left_shoulder") + lm("right_shoulder")) / 2
    rows["spine_mid"] = rows["spine_base"] + spine_mid_at * (rows["spine_shoulder"] - rows["spine_base"])
    rows["neck"] = (rows["spine_shoulder"] + lm("head")) / 2
    for side in ("left", "right"):
        rows[f"{side}_hand_tip"] = rows[f"{side}_thumb"] = lm(f"{side}_hand")
    return ntu_matrix(rows)


class FakeEstimator(FrameEstimator):
    """Reads frame i as the truth's frame i, through the camera; see the module docstring."""

    name = "fake"
    title = "the fake estimator"
    layout = FAKE_LAYOUT
    rules: ClassVar[dict[str, float]] = {"spine_mid_at": 0.5}
    world_scale = 1.0
    truth: np.ndarray  # (T, L, 3) landmarks in skeleton space
    camera: Camera

    def mapping(self, **rules: float) -> np.ndarray:
        return fake_mapping(**rules)

    def begin(self, options: ExtractOptions) -> None:
        self.frame = 0

    def detect(self, frame: np.ndarray) -> FramePose | None:
        i, self.frame = self.frame, self.frame + 1
        if i == MISSED:
            return None
        points = self.camera.to_camera(self.truth[i])
        hips = points[self.layout.indices(("left_hip", "right_hip"))].mean(axis=0)
        image = self.camera.project(self.truth[i])
        world = self.world_scale * (points - hips) * self.layout.world_to_kinect
        if i in FLIPPED:
            swap = self.layout.mirror_permutation
            image, world = image[swap], world[swap] * [1.0, 1.0, -1.0]
        return FramePose(image=image, world=world, confidence=np.full(self.layout.size, 0.9))


class FakeUpToScale(FakeEstimator):
    """The same reading with its world pose at half size and no claim to metres."""

    name = "fake_up_to_scale"
    metric_world = False
    world_scale = 0.5


@pytest.fixture
def fake_clip(tmp_path, monkeypatch) -> tuple[Path, np.ndarray]:
    """A video (the frames are plain: the fake does not look), its camera (turned and moved,
    so the extrinsics count), the fakes registered on the truth; returns the video and the
    NTU skeleton (T, 25, 3) the mapping makes of the truth."""
    from ciasa.data.synth.generate import perform, render_clip
    from ciasa.data.synth.scene import sample_view

    rng = np.random.default_rng(7)
    clip = render_clip(perform(0, 3, 7, 1, 64), sample_view(rng, 1), rng, 0.004, 1)[:, 16 : 16 + FRAMES]
    joints = np.transpose(clip[..., 0], (1, 2, 0)).astype(np.float64)  # (T, 25, 3) skeleton space
    truth = joints[:, [NTU_RGBD.index(n) for n in FAKE_LANDMARKS]]
    c, s = np.cos(np.radians(10)), np.sin(np.radians(10))
    camera = Camera(
        **{
            **Camera.from_fov(160, 120).__dict__,
            "rotation": ((c, 0.0, -s), (0.0, 1.0, 0.0), (s, 0.0, c)),
            "translation": (0.1, -0.2, 0.3),
        }
    )
    video = tmp_path / "clip.mp4"
    encode_h264((np.full((120, 160, 3), 100, dtype=np.uint8) for _ in range(FRAMES)), video)
    camera.save(tmp_path / "clip.camera.json")
    for cls in (FakeEstimator, FakeUpToScale):
        monkeypatch.setattr(cls, "truth", truth, raising=False)
        monkeypatch.setattr(cls, "camera", camera, raising=False)
        monkeypatch.setitem(ESTIMATORS, cls.name, cls)  # so that the registry forgets it after the test
        register(cls)
    return video, np.einsum("jl,tlc->tjc", fake_mapping(), truth)


def _run(video: Path, out: Path, *flags: str) -> int:
    return main(["--video", str(video), "--out", str(out), "--quiet", *flags])


def test_a_registered_estimator_runs_the_whole_extraction(fake_clip, tmp_path):
    """Facing decision, jump rejection, gap filling, lifting, floor-free scale, mapping and
    the outputs all run on the fake's 17 landmarks and its axes, chosen by --estimator."""
    video, expected = fake_clip
    out = tmp_path / "out" / "clip.npy"
    assert _run(video, out, "--estimator", "fake") == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["options"]["estimator"] == "fake" and summary["scale_source"] == "fake"
    assert summary["detected"] == FRAMES - 1 and summary["filled"] == [MISSED] and not summary["flagged"]
    assert summary["mirrored_frames"] == len(FLIPPED) and summary["rejected"] == []
    landmarks = np.load(out.with_suffix(".landmarks.npz"))
    assert tuple(landmarks["names"]) == FAKE_LANDMARKS and landmarks["world"].shape == (FRAMES, 17, 3)
    assert np.flatnonzero(landmarks["mirrored"]).tolist() == list(FLIPPED)

    pred = np.transpose(np.load(out)[..., 0], (1, 2, 0))
    seen = np.arange(FRAMES) != MISSED
    np.testing.assert_allclose(pred[seen], expected[seen], atol=1e-4)  # exact readings: exact skeleton
    assert np.linalg.norm(pred[MISSED] - expected[MISSED], axis=-1).max() < 0.05  # interpolated


def test_the_estimator_s_own_rules_and_nobody_else_s(fake_clip, tmp_path, capsys):
    video, expected = fake_clip
    out = tmp_path / "clip.npy"
    assert _run(video, out, "--estimator", "fake", "--rule", "hip_widen=0.1") == 2  # MediaPipe's constant
    assert "spine_mid_at" in capsys.readouterr().err
    assert not any(p.exists() for p in output_paths(out).values())
    assert _run(video, out, "--estimator", "fake", "--rule", "spine_mid_at=0.25") == 0
    pred = np.transpose(np.load(out)[..., 0], (1, 2, 0))
    base, shoulder, mid = (NTU_RGBD.index(n) for n in ("spine_base", "spine_shoulder", "spine_mid"))
    np.testing.assert_allclose(
        pred[0, mid], expected[0, base] + 0.25 * (expected[0, shoulder] - expected[0, base]), atol=1e-4
    )
    with pytest.raises(BadInput, match="unknown pose estimator 'nope'"):
        get_estimator("nope")
    with pytest.raises(SystemExit) as exit_info:
        _run(video, out, "--estimator", "nope")
    assert exit_info.value.code == 2


def test_a_refiner_of_another_estimator_is_bad_input(fake_clip, tmp_path, capsys):
    video, _ = fake_clip
    out = tmp_path / "clip.npy"
    assert _run(video, out, "--estimator", "fake", "--refiner", "default") == 2
    assert "fitted on mediapipe's landmarks" in capsys.readouterr().err
    assert not any(p.exists() for p in output_paths(out).values())


def test_an_estimator_without_metric_size_needs_a_body_prior_or_a_floor(fake_clip, tmp_path, capsys):
    """Its world pose is half the true size: with neither a body-size prior nor a floor that
    is bad input; a prior (here the truth's own limb lengths) or a floor under the fake's
    sole landmarks (its feet, 5 cm below them) resizes the body and places it right."""
    video, expected = fake_clip
    out = tmp_path / "clip.npy"
    assert _run(video, out, "--estimator", "fake_up_to_scale") == 2
    assert "only up to scale" in capsys.readouterr().err
    prior = tmp_path / "prior.json"
    prior_from_skeletons(np.transpose(expected, (2, 0, 1))[None, ..., None], "truth").save(prior)
    feet = [NTU_RGBD.index("left_foot"), NTU_RGBD.index("right_foot")]
    floor_y = float(np.median(expected[:, feet, 1].min(axis=1))) - 0.05
    for flags, source in (
        (["--body-prior", str(prior)], "body_prior"),
        (["--floor-plane", f"0,1,0,{-floor_y}"], "floor"),
    ):
        assert _run(video, out, "--estimator", "fake_up_to_scale", *flags) == 0
        summary = json.loads(out.with_suffix(".json").read_text())
        assert summary["scale_source"] == source and summary["body_scale"] == pytest.approx(2.0, rel=0.01)
        pred = np.transpose(np.load(out)[..., 0], (1, 2, 0))
        assert np.linalg.norm(pred - expected, axis=-1).mean() < 0.03


def test_an_estimator_that_breaks_the_contract_is_a_bug_not_bad_input(fake_clip, monkeypatch):
    video, _ = fake_clip

    class OneShort(FakeEstimator):
        def detect(self, frame: np.ndarray) -> FramePose | None:
            pose = super().detect(frame)
            return None if pose is None else FramePose(pose.image, pose.world[:-1], pose.confidence)

    monkeypatch.setitem(ESTIMATORS, "fake", OneShort)
    with pytest.raises(RuntimeError, match="'fake' broke the interface"):
        extract(video, options=ExtractOptions(estimator="fake"), progress=False)


def test_a_layout_names_what_the_steps_need():
    assert "mediapipe" in available() and get_estimator().name == "mediapipe"
    with pytest.raises(ValueError, match="left_knee"):
        LandmarkLayout(
            tuple(n for n in FAKE_LANDMARKS if n != "left_knee"), (-1.0, 1.0, -1.0), ("left_foot", "right_foot")
        )
    with pytest.raises(ValueError, match="other side"):
        LandmarkLayout((*FAKE_LANDMARKS, "left_ear"), (-1.0, 1.0, -1.0), ("left_foot", "right_foot"))
    with pytest.raises(ValueError, match="affine"):
        ntu_matrix({n: np.zeros(3) for n in NTU_RGBD.joint_names})


@pytest.mark.slow
def test_real_mediapipe_through_the_interface(tmp_path):
    """Blender renders a short frontal clip; MediaPipe, chosen by name, reads it: the
    interface passes the detector settings on unchanged (the same arrays as the MediaPipe
    runner called directly), and the whole extraction recovers the rendered skeleton."""
    from ciasa.data.synth.generate import perform, render_clip
    from ciasa.data.synth.scene import sample_view
    from pose_extract.accuracy import pa_errors
    from pose_extract.detect import detect
    from pose_extract.landmarks import BLAZEPOSE_LANDMARKS, observed_joints

    rng = np.random.default_rng(7)
    clip = render_clip(perform(0, 3, 7, 1, 64), sample_view(rng, 1), rng, 0.004, 1)[:, 16:32]
    np.save(tmp_path / "wave.npy", clip)
    video = tmp_path / "wave.mp4"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "render",
            "--skeleton",
            str(tmp_path / "wave.npy"),
            "--out",
            str(video),
            "--resolution",
            "320x240",
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
    )

    mediapipe = get_estimator("mediapipe")
    assert mediapipe.layout.names == BLAZEPOSE_LANDMARKS and mediapipe.metric_world
    for options in (ExtractOptions(), ExtractOptions(smooth=False, min_detection_confidence=0.6)):
        through = mediapipe.estimate(iter_frames(video), options)
        through.check(mediapipe)
        direct = detect(
            iter_frames(video), min_detection_confidence=options.min_detection_confidence, smooth=options.smooth
        )
        for key in ("image", "image_z", "world", "visibility", "presence", "detected", "redetected"):
            np.testing.assert_array_equal(getattr(through, key), getattr(direct, key), err_msg=key)
        assert through.detected.mean() >= 0.9

    out = tmp_path / "wave_out.npy"
    assert _run(video, out, "--estimator", "mediapipe") == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["options"]["estimator"] == "mediapipe" and summary["scale_source"] == "mediapipe"
    assert tuple(np.load(out.with_suffix(".landmarks.npz"))["names"]) == BLAZEPOSE_LANDMARKS
    pred = np.transpose(np.load(out)[..., 0], (1, 2, 0))
    truth = np.transpose(clip[..., 0], (1, 2, 0))
    ok = np.abs(pred).sum(axis=(1, 2)) > 0
    assert ok.mean() >= 0.9
    assert 1000 * pa_errors(pred[ok], truth[ok], observed_joints()).mean() < 80
