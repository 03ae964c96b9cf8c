"""End to end with the real components: a synthetic clip rendered by ``python -m render``
(Blender), extracted by ``python -m pose_extract`` (MediaPipe), compared with the source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ciasa.data.stgcn import load_split
from ciasa.skeleton import NTU_RGBD
from ciasa.video import encode_h264, iter_frames, read_all
from pose_extract.accuracy import pa_errors, swapped_frames
from pose_extract.landmarks import observed_joints

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
FRAMES = 24


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A frontal 'hand waving' clip (synthetic subject 3), rendered at 320x240."""
    from ciasa.data.synth.generate import perform, render_clip
    from ciasa.data.synth.scene import sample_view

    work = tmp_path_factory.mktemp("pose_render")
    rng = np.random.default_rng(7)
    clip = render_clip(perform(0, 3, 7, 1, 64), sample_view(rng, 1), rng, 0.004, 1)[:, 16 : 16 + FRAMES]
    np.save(work / "wave.npy", clip)
    video = work / "S001C001P003R001A023.mp4"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "render",
            "--skeleton",
            str(work / "wave.npy"),
            "--out",
            str(video),
            "--resolution",
            "320x240",
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    return video, clip


def _run(video: Path, out: Path, *flags: str) -> np.ndarray:
    proc = subprocess.run(
        [sys.executable, "-m", "pose_extract", "--video", str(video), "--out", str(out), "--quiet", *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # MediaPipe's start-up notices (TFLite delegate, absl banner, W0000 lines) are filtered out
    assert "W0000" not in proc.stderr and "XNNPACK" not in proc.stderr and "absl" not in proc.stderr, proc.stderr
    return np.transpose(np.load(out)[..., 0], (1, 2, 0))


def test_extraction_recovers_the_rendered_skeleton(rendered, tmp_path):
    video, clip = rendered
    out = tmp_path / "wave.npy"
    pred = _run(video, out)

    skeleton = np.load(out)
    assert skeleton.shape == (3, FRAMES, 25, 1) and skeleton.dtype == np.float32
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["frames"] == FRAMES and summary["detection_rate"] >= 0.9 and not summary["flagged"]
    assert summary["scale_source"] == "mediapipe", "by default MediaPipe's own body size sets the depth"
    assert summary["rejected_frames"] == len(summary["rejected"])
    assert summary["refiner"] is None, "the refiner is off by default (it hurts real motion)"
    assert summary["options"]["facing"] == "sequence"
    landmarks = np.load(out.with_suffix(".landmarks.npz"))
    assert landmarks["image"].shape == (FRAMES, 33, 2) and landmarks["world"].shape == (FRAMES, 33, 3)
    assert landmarks["visibility"].shape == (FRAMES, 33) and landmarks["detected"].sum() == summary["detected"]

    truth = np.transpose(clip[..., 0], (1, 2, 0))
    ok = landmarks["detected"]

    def errors(p: np.ndarray) -> tuple[float, float]:
        pa = 1000 * pa_errors(p[ok], truth[ok], observed_joints()).mean()
        return pa, 1000 * np.linalg.norm(p[ok] - truth[ok], axis=-1).mean()

    pa, cam = errors(pred)
    assert pa < 80, f"Procrustes-aligned error {pa:.0f} mm"
    # MediaPipe places the synthetic set's bodies ~10 % too near (docs/pose_extract.md): about 0.4 m here
    assert cam < 650, f"camera-space error {cam:.0f} mm"
    assert not swapped_frames(pred[ok], truth[ok]).any(), "left and right swapped on a frontal view"
    # the options fitted on the synthetic set's renders still help on them: the refiner
    # brings the pose closer, the body-size prior the root
    refined = _run(video, tmp_path / "refined.npy", "--refiner", "default", "--body-prior", "default")
    pa_refined, cam_refined = errors(refined)
    assert pa_refined < min(50, pa - 5), f"refined {pa_refined:.0f} mm, MediaPipe's depth alone {pa:.0f} mm"
    assert cam_refined < 300, f"camera-space error with the body prior {cam_refined:.0f} mm"
    # the subject's left shoulder lies on the same side of the right one as in the source
    left, right = NTU_RGBD.index("left_shoulder"), NTU_RGBD.index("right_shoulder")
    assert np.all(np.sign(pred[ok, left, 0] - pred[ok, right, 0]) == np.sign(truth[ok, left, 0] - truth[ok, right, 0]))


def test_batch_writes_an_stgcn_split_the_loader_reads(rendered, tmp_path):
    video, _ = rendered
    out_dir = tmp_path / "batch"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pose_extract",
            "batch",
            "--videos",
            str(video),
            "--out-dir",
            str(out_dir),
            "--frames",
            "32",
            "--bodies",
            "2",
            "--quiet",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    split = load_split(out_dir, "val")
    assert split.data.shape == (1, 3, 32, 25, 2)
    assert split.names == ["S001C001P003R001A023"] and split.labels.tolist() == [22]  # NTU A023 -> label 22
    assert np.all(split.data[0, :, FRAMES:] == 0) and np.all(split.data[..., 1] == 0)
    assert (out_dir / "S001C001P003R001A023.landmarks.npz").is_file()


def test_missed_frames_are_filled_or_flagged(rendered, tmp_path):
    """Frames blanked out of the real render: a short gap is interpolated and marked, a
    long one stays empty and flags the clip (exit 0, or 1 with --strict)."""
    video, _ = rendered
    frames = read_all(video)
    frames[[*range(0, 12), 15, 16]] = 128  # 12 leading frames (> --max-gap 10) and a 2-frame gap
    holed = tmp_path / "holed.mp4"
    encode_h264(frames, holed, crf=18)
    camera = video.with_name(video.stem + ".camera.json")
    out = tmp_path / "holed.npy"
    args = ["--video", str(holed), "--camera", str(camera), "--out", str(out), "--quiet"]
    from pose_extract.__main__ import main

    assert main([*args, "--strict"]) == 1
    assert main(args) == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["flagged"] and "0-11" in summary["reason"]
    assert summary["missing_frames"] == 12 and summary["filled"] == [15, 16]
    skeleton = np.load(out)
    assert np.all(skeleton[:, :12] == 0) and np.all(skeleton[:, 12:] != 0)


def test_a_small_far_person_is_found_by_redetection_on_crops(rendered, tmp_path):
    """The rendered person shrunk to ~40 % (what 2.5 times the distance does): MediaPipe's
    whole-frame tracker finds nobody; re-detection on enlarged crops finds them, and the
    pose it reads is the same pose."""
    import cv2

    from pose_extract.extract import ExtractOptions, NoPersonError, extract

    video, clip = rendered
    frames = []
    for frame in iter_frames(video):
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (int(w * 0.4), int(h * 0.4)), interpolation=cv2.INTER_AREA)
        canvas = np.full_like(frame, frame[5, 5])  # the backdrop's colour
        y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
        canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
        frames.append(canvas)
    far = tmp_path / "far.mp4"
    encode_h264(frames, far, crf=18)
    camera = video.with_name(video.stem + ".camera.json")
    try:
        plain = int(extract(far, camera, ExtractOptions(redetect=False), progress=False).detections.detected.sum())
    except NoPersonError:
        plain = 0
    found = extract(far, camera, ExtractOptions(), progress=False)
    det = found.detections
    assert plain <= FRAMES // 4, f"the tracker alone found {plain} of {FRAMES} frames: the person is not small enough"
    assert det.detected.sum() >= 0.9 * FRAMES and det.redetected.sum() >= det.detected.sum() - plain
    assert found.summary["redetected_frames"] == int(det.redetected.sum())
    # the crop's landmarks are mapped back into the frame: they lie on the shrunk person
    # (shoulder and hip midpoints, which do not depend on the left/right reading)
    from ciasa.camera import Camera

    truth = Camera.load(camera).project(np.transpose(clip[:, :, :, 0], (1, 2, 0)))  # (T, 25, 2) pixels
    truth_small = np.stack([x0 + 0.4 * truth[..., 0], y0 + 0.4 * truth[..., 1]], axis=-1)
    ntu = [
        [NTU_RGBD.index("left_shoulder"), NTU_RGBD.index("right_shoulder")],
        [NTU_RGBD.index("left_hip"), NTU_RGBD.index("right_hip")],
    ]
    blaze = [[11, 12], [23, 24]]  # BlazePose shoulders, hips
    for n, b in zip(ntu, blaze):
        got = det.image[det.detected][:, b].mean(axis=1)
        want = truth_small[det.detected][:, n].mean(axis=1)
        assert np.linalg.norm(got - want, axis=-1).mean() < 4.0, "crop landmarks are off the person"
