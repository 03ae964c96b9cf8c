"""Bad input: clear errors naming the file, non-zero exits, no half-written outputs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from ciasa.camera import Camera
from ciasa.video import VideoError, iter_frames, probe
from pose_extract.__main__ import main
from pose_extract.extract import NoPersonError, extract, output_paths


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
    assert main(["--video", str(bad), "--camera", str(tmp_path / "x.json"), "--out", str(out), "--quiet"]) == 2
    assert no_outputs(out)


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
    """Real MediaPipe on a real (empty) video: nobody found, exit 1 (work failed), nothing written."""
    with pytest.raises(NoPersonError, match="no person in any of its 12 frames"):
        extract(empty_video, progress=False)
    out = tmp_path / "out" / "empty.npy"
    assert main(["--video", str(empty_video), "--out", str(out), "--quiet"]) == 1
    assert no_outputs(out)


def test_batch_reports_failures_and_writes_no_split(empty_video, tmp_path):
    out_dir = tmp_path / "batch"
    code = main(
        [
            "batch",
            "--videos",
            str(empty_video),
            str(tmp_path / "gone.mp4"),
            "--labels",
            "0,1",
            "--out-dir",
            str(out_dir),
            "--quiet",
        ]
    )
    assert code == 1
    summary = json.loads((out_dir / "val_extract.json").read_text())
    assert set(summary["failed"]) == {"empty", "gone"} and not summary["split_written"]
    assert not (out_dir / "val_data.npy").exists()


def test_cli_rejects_bad_options_as_bad_input(empty_video, tmp_path, capsys):
    out = tmp_path / "o.npy"
    assert main(["--video", str(empty_video), "--out", str(out), "--rule", "elbow=1", "--quiet"]) == 2
    assert "--rule 'elbow=1'" in capsys.readouterr().err
    assert main(["--video", str(empty_video), "--out", str(out), "--max-jump", "far", "--quiet"]) == 2
    assert main(["--video", str(empty_video), "--out", str(out), "--floor-plane", "1,2", "--quiet"]) == 2
    assert no_outputs(out)


def test_batch_names_come_as_a_comma_list_or_a_file(empty_video, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("# one per line\nS001C001P001R001A001\n")
    for given in ("S001C001P001R001A001", f"@{names}"):
        out_dir = tmp_path / f"b{len(given)}"
        code = main(["batch", "--videos", str(empty_video), "--names", given, "--out-dir", str(out_dir), "--quiet"])
        assert code == 1  # nobody in the video: the batch failed, but under the given name
        assert set(json.loads((out_dir / "val_extract.json").read_text())["failed"]) == {"S001C001P001R001A001"}
    # two names for one video: bad input, exit 2
    assert (
        main(
            [
                "batch",
                "--videos",
                str(empty_video),
                "--names",
                "a,b",
                "--labels",
                "0",
                "--out-dir",
                str(tmp_path / "c"),
                "--quiet",
            ]
        )
        == 2
    )


def cut_video(tmp_path: Path, frames: int = 96) -> Path:
    """A real H.264 .mp4 (ffmpeg, index at the front as our encoder writes it) cut after a
    quarter of its bytes, the way an interrupted copy leaves it."""
    from ciasa.video import encode_h264

    rng = np.random.default_rng(0)
    whole = tmp_path / "whole.mp4"
    # noisy frames, so that every frame takes a similar share of the file
    encode_h264((rng.integers(0, 255, size=(120, 160, 3), dtype=np.uint8) for _ in range(frames)), whole, fps=30.0)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 4])
    Camera.from_fov(160, 120).save(tmp_path / "cut.camera.json")
    return cut


def test_truncated_video_without_a_render_record_is_rejected(tmp_path, capsys):
    cut = cut_video(tmp_path)
    info = probe(cut)
    assert info.frame_count == 96  # the container still claims every frame
    decoded = sum(1 for _ in iter_frames(cut))
    assert 0 < decoded < 96
    with pytest.raises(VideoError, match=rf"cut.mp4: only {decoded} of the 96 frames its container declares"):
        extract(cut, progress=False)
    out = tmp_path / "out" / "cut.npy"
    assert main(["--video", str(cut), "--out", str(out), "--quiet"]) == 2
    assert "truncated" in capsys.readouterr().err
    assert no_outputs(out)


def test_whole_video_passes_the_frame_count_check(tmp_path):
    from pose_extract.integrity import check_frame_count

    whole = cut_video(tmp_path).with_name("whole.mp4")
    info = probe(whole)
    check_frame_count(whole, sum(1 for _ in iter_frames(whole)), info, None)  # no error
    with pytest.raises(VideoError, match="records 97"):
        check_frame_count(whole, 96, info, 97)
