"""``python -m pose_extract clip``: a clip's videos extracted in one process, outputs identical
to ``python -m pose_extract`` per video, a failed video recorded without failing the others, a
bug never recorded as a failed video."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ciasa import cli
from ciasa.failure import FAILED, is_failed
from pose_extract.__main__ import main as pose_main

REPO = Path(__file__).resolve().parents[1]


def _record(out: Path) -> Path:
    return out.with_suffix(".json")


def _landmarks(out: Path) -> Path:
    return out.with_name(out.stem + ".landmarks.npz")


def _not_a_video(path: Path) -> Path:
    path.write_bytes(b"this is not an mp4 file" * 50)
    return path


def test_a_bad_video_is_recorded_and_a_bad_flag_writes_nothing(tmp_path):
    bad = _not_a_video(tmp_path / "bad.mp4")
    out = tmp_path / "bad.npy"
    args = ["clip", "--pair", str(bad), str(tmp_path / "bad.camera.json"), str(out), "--on-failure", "record"]
    assert pose_main(args) == cli.EXIT_OK
    record, landmarks = _record(out), _landmarks(out)
    assert is_failed(record) and out.is_file() and landmarks.is_file()
    assert json.loads(record.read_text())["stage"] == "pose"
    assert np.load(out).shape == (3, 1, 25, 1)

    other = tmp_path / "other.npy"
    with pytest.raises(SystemExit) as stop:
        pose_main(["clip", "--pair", str(bad), str(tmp_path / "c.json"), str(other), "--no-such-flag"])
    assert stop.value.code == cli.EXIT_BAD_INPUT and not other.exists()
    code = pose_main(["clip", "--pair", str(bad), str(tmp_path / "c.json"), str(other), "--on-failure", "stop"])
    assert code == cli.EXIT_BAD_INPUT and not _record(other).exists() and not other.exists()


def test_a_bug_is_not_recorded_as_a_failed_video(tmp_path, monkeypatch):
    import pose_extract.__main__ as module

    def planted_bug(*args, **kwargs):
        raise KeyError("a bug in the extraction code")

    monkeypatch.setattr(module, "extract", planted_bug)
    out = tmp_path / "a.npy"
    with pytest.raises(KeyError, match="a bug"):  # propagates with its traceback: Python exits 1
        pose_main(
            [
                "clip",
                "--pair",
                str(_not_a_video(tmp_path / "a.mp4")),
                str(tmp_path / "a.camera.json"),
                str(out),
                "--on-failure",
                "record",
            ]
        )
    assert not _record(out).exists() and not out.exists()


@pytest.mark.slow
def test_one_process_gives_the_per_video_outputs(tmp_path):
    """The real Blender render and MediaPipe: two videos in one process, each bit-identical to
    ``python -m pose_extract`` run alone on it, and a broken third recorded without stopping them."""
    from ciasa.data.synth.generate import perform, render_clip
    from ciasa.data.synth.scene import sample_view

    rng = np.random.default_rng(3)
    clip = render_clip(perform(0, 3, 7, 1, 64), sample_view(rng, 1), rng, 0.004, 1)[:, 16:36]
    np.save(tmp_path / "a.npy", clip)
    np.save(tmp_path / "b.npy", clip[:, ::-1].copy())
    for name in ("a", "b"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "render",
                "--skeleton",
                str(tmp_path / f"{name}.npy"),
                "--out",
                str(tmp_path / f"{name}.mp4"),
                "--resolution",
                "320x240",
                "--quiet",
            ],
            check=True,
            cwd=REPO,
            capture_output=True,
        )
    flags = ["--body-prior", "default"]
    pairs = [
        str(x)
        for n in ("a", "b")
        for x in ("--pair", tmp_path / f"{n}.mp4", tmp_path / f"{n}.camera.json", tmp_path / "joint" / f"{n}.npy")
    ]
    bad = _not_a_video(tmp_path / "c.mp4")
    pairs += ["--pair", str(bad), str(tmp_path / "c.camera.json"), str(tmp_path / "joint" / "c.npy")]
    (tmp_path / "joint").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "pose_extract", "clip", *pairs, "--on-failure", "record", *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert is_failed(tmp_path / "joint" / "c.json")
    for name in ("a", "b"):
        alone = tmp_path / f"{name}_alone.npy"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pose_extract",
                "--video",
                str(tmp_path / f"{name}.mp4"),
                "--out",
                str(alone),
                "--quiet",
                *flags,
            ],
            check=True,
            cwd=REPO,
            capture_output=True,
        )
        joint = tmp_path / "joint" / f"{name}.npy"
        assert np.array_equal(np.load(joint), np.load(alone))
        summary = json.loads(joint.with_suffix(".json").read_text())
        assert summary["detection_rate"] > 0.9 and summary.get("status") != FAILED
