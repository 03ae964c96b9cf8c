"""Bad input: clear errors naming the file, non-zero exits, no half-written outputs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from ciasa.camera import Camera
from pose_extract.__main__ import main
from pose_extract.extract import NoPersonError, extract, output_paths
from ciasa.video import VideoError, probe


def write_video(path: Path, frames: int = 12, size: tuple[int, int] = (160, 120)) -> Path:
    """A plain grey video (nobody in it) written by OpenCV."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 90 + i, dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture
def empty_video(tmp_path: Path) -> Path:
    video = write_video(tmp_path / "empty.mp4")
    Camera.from_fov(160, 120).save(tmp_path / "empty.camera.json")
    return video


def no_outputs(out: Path) -> bool:
    return not any(p.exists() for p in output_paths(out).values()) and not list(out.parent.glob(".*"))


def test_missing_video(tmp_path):
    with pytest.raises(VideoError, match="nope.mp4: video file not found"):
        extract(tmp_path / "nope.mp4", Camera.from_fov(160, 120))


def test_unreadable_video(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(VideoError, match="bad.mp4"):
        probe(bad)
    out = tmp_path / "out" / "bad.npy"
    assert main(["--video", str(bad), "--camera", str(tmp_path / "x.json"), "--out", str(out), "--quiet"]) == 1


def test_camera_of_another_size(empty_video, tmp_path):
    Camera.from_fov(320, 240).save(tmp_path / "big.camera.json")
    with pytest.raises(VideoError, match=r"160x120 but the camera .* is 320x240"):
        extract(empty_video, tmp_path / "big.camera.json", progress=False)
    with pytest.raises(FileNotFoundError, match="camera file not found"):
        extract(empty_video, tmp_path / "none.camera.json", progress=False)
    (tmp_path / "broken.camera.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        extract(empty_video, tmp_path / "broken.camera.json", progress=False)


def test_frame_count_must_match_the_render_record(empty_video, tmp_path):
    (tmp_path / "empty.render.json").write_text(json.dumps({"frames": 20}))
    with pytest.raises(VideoError, match="12 frames but empty.render.json records 20"):
        extract(empty_video, progress=False)


def test_video_without_a_person_fails_cleanly(empty_video, tmp_path):
    """Real MediaPipe on a real (empty) video: nobody found, exit 3, nothing written."""
    with pytest.raises(NoPersonError, match="no person in any of its 12 frames"):
        extract(empty_video, progress=False)
    out = tmp_path / "out" / "empty.npy"
    assert main(["--video", str(empty_video), "--out", str(out), "--quiet"]) == 3
    assert no_outputs(out)


def test_batch_reports_failures_and_writes_no_split(empty_video, tmp_path):
    out_dir = tmp_path / "batch"
    code = main(["batch", "--videos", str(empty_video), str(tmp_path / "gone.mp4"),
                 "--labels", "0", "1", "--out-dir", str(out_dir), "--quiet"])  # fmt: skip
    assert code == 5
    summary = json.loads((out_dir / "val_extract.json").read_text())
    assert set(summary["failed"]) == {"empty", "gone"} and not summary["split_written"]
    assert not (out_dir / "val_data.npy").exists()


def test_cli_rejects_a_bad_rule(empty_video, tmp_path):
    with pytest.raises(SystemExit, match="--rule"):
        main(["--video", str(empty_video), "--out", str(tmp_path / "o.npy"), "--rule", "elbow=1"])
