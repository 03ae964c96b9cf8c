"""Bad input and bugs are told apart: only :class:`ciasa.cli.BadInput` (and a missing path)
is the user's mistake (exit 2, one ``error:`` line); any other exception, a ``ValueError``
or ``KeyError`` included, is a bug and crashes with its traceback (exit 1), also where a
per-clip loop keeps going after a clip's failure."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ciasa import cli
from ciasa.data.stgcn import save_split
from render.demo_motion import waving_clip

NAMES = ["S001C001P001R001A001", "S001C001P002R001A002"]


def _args(verbose: bool = False) -> argparse.Namespace:
    return argparse.Namespace(verbose=verbose, quiet=False)


def _raiser(err: BaseException):
    def work(*args, **kwargs):
        raise err

    return work


@pytest.mark.parametrize(
    "err", [cli.BadInput("data/x.npy: not a skeleton"), FileNotFoundError("data/x.npy: not found")]
)
def test_bad_input_is_exit_2_with_one_line_and_no_traceback(err, capsys):
    assert cli.run_main(_raiser(err), _args()) == cli.EXIT_BAD_INPUT
    stderr = capsys.readouterr().err
    assert stderr.strip().splitlines()[-1] == f"error: {err}"
    assert "Traceback" not in stderr


def test_verbose_shows_the_traceback_of_bad_input(capsys):
    assert cli.run_main(_raiser(cli.BadInput("--eps: must be positive")), _args(verbose=True)) == cli.EXIT_BAD_INPUT
    stderr = capsys.readouterr().err
    assert "Traceback (most recent call last)" in stderr
    assert stderr.strip().splitlines()[-1] == "error: --eps: must be positive"


@pytest.mark.parametrize("err", [ValueError("planted bug"), KeyError("planted bug"), IndexError("planted bug")])
def test_a_plain_exception_is_not_bad_input(err, capsys):
    with pytest.raises(type(err), match="planted bug"):
        cli.run_main(_raiser(err), _args())
    assert "error:" not in capsys.readouterr().err


def test_unknown_name_is_bad_input_and_a_key_error():
    from ciasa.skeleton import get_layout

    with pytest.raises(cli.BadInput) as caught:
        get_layout("no-such-layout")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("unknown skeleton layout 'no-such-layout'")  # not quoted like a KeyError


@pytest.fixture
def split_dir(tmp_path: Path) -> Path:
    clips = np.stack([waving_clip(4)] * 2).astype(np.float32)  # (2, 3, T, 25, 1)
    save_split(tmp_path / "data", "val", clips, NAMES, [0, 1])
    return tmp_path / "data"


_PLANTED = """
import sys
import pipeline.select as stage
def select_clips(*args, **kwargs):
    raise {error}("planted bug")
stage.select_clips = select_clips
sys.exit(stage.main(sys.argv[1:]))
"""


def _select(repo_root: Path, data: Path, out: Path, *extra: str, error: str | None = None):
    code = _PLANTED.format(error=error) if error else "import sys, pipeline.select as s; sys.exit(s.main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "--data", str(data), "--out", str(out), *extra],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("error", ["ValueError", "KeyError"])
def test_a_planted_bug_in_a_stage_crashes_with_its_traceback(split_dir, tmp_path, repo_root, error):
    proc = _select(repo_root, split_dir, tmp_path / "clips.txt", error=error)
    assert proc.returncode == cli.EXIT_FAILED, proc.stderr[-2000:]
    assert "Traceback (most recent call last)" in proc.stderr and f"{error}: " in proc.stderr
    assert not any(line.startswith("error:") for line in proc.stderr.splitlines())
    assert not (tmp_path / "clips.txt").exists()


def test_the_same_stage_reports_bad_input_as_such(split_dir, tmp_path, repo_root):
    proc = _select(repo_root, split_dir, tmp_path / "clips.txt", "--names", "S009C009P009R009A009")
    assert proc.returncode == cli.EXIT_BAD_INPUT, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and "S009C009P009R009A009" in proc.stderr
    verbose = _select(repo_root, split_dir, tmp_path / "clips.txt", "--names", "S009C009P009R009A009", "--verbose")
    assert verbose.returncode == cli.EXIT_BAD_INPUT and "Traceback (most recent call last)" in verbose.stderr
    assert not (tmp_path / "clips.txt").exists()


def _videos(tmp_path: Path) -> list[Path]:
    videos = []
    for name in NAMES:
        video = tmp_path / f"{name}.mp4"
        video.write_bytes(b"")  # never opened: extract() is replaced
        (tmp_path / f"{name}.camera.json").write_text("{}")
        videos.append(video)
    return videos


def test_pose_batch_does_not_count_a_bug_as_a_failed_clip(tmp_path, monkeypatch):
    from pose_extract import batch

    monkeypatch.setattr(batch, "extract", _raiser(ValueError("planted bug")))
    with pytest.raises(ValueError, match="planted bug"):
        batch.run_batch(_videos(tmp_path), tmp_path / "out", progress=False)


def test_pose_batch_still_lists_a_clip_with_bad_input_as_failed(tmp_path, monkeypatch):
    from ciasa.video import VideoError
    from pose_extract import batch

    monkeypatch.setattr(batch, "extract", _raiser(VideoError("clip.mp4: not a video")))
    result = batch.run_batch(_videos(tmp_path), tmp_path / "out", progress=False)
    assert result.failed == {name: "clip.mp4: not a video" for name in NAMES}
    assert result.split_paths is None


class _BuggyRenderer:
    def __init__(self, *args, **kwargs):
        pass

    def render(self, *args, **kwargs):
        raise KeyError("planted bug")


def test_render_batch_does_not_count_a_bug_as_a_failed_clip(split_dir, tmp_path):
    from render.batch import render_batch

    with pytest.raises(KeyError, match="planted bug"):
        render_batch(str(split_dir), "val", tmp_path / "out", renderer=_BuggyRenderer(), progress=False)


def test_render_conditions_do_not_count_a_bug_as_a_failed_render(tmp_path, monkeypatch):
    import render.clip
    from render.__main__ import main

    monkeypatch.setattr(render.clip, "Renderer", _BuggyRenderer)
    for name in ("clean", "adv"):
        np.save(tmp_path / f"{name}.npy", waving_clip(4))
    argv = [
        "--seed",
        "1",
        "--skeleton",
        str(tmp_path / "clean.npy"),
        "--out",
        str(tmp_path / "clean.mp4"),
        "--skeleton",
        str(tmp_path / "adv.npy"),
        "--out",
        str(tmp_path / "adv.mp4"),
    ]
    with pytest.raises(KeyError, match="planted bug"):
        main(argv)


def test_guard_does_not_record_a_crash_as_a_failed_clip(tmp_path):
    from pipeline import guard

    record = tmp_path / "c.render.json"
    crash = [sys.executable, "-c", "raise ValueError('planted bug')"]
    assert guard.run_guarded(crash, record, [], "render", "record") == cli.EXIT_FAILED
    assert not record.exists()
    # bad input shown with --verbose prints a traceback too, then its error line: a failure of the clip
    verbose_bad_input = [
        sys.executable,
        "-c",
        "import sys; print('Traceback (most recent call last):', file=sys.stderr); "
        "print('error: c.npy: not a skeleton', file=sys.stderr); sys.exit(2)",
    ]
    assert guard.run_guarded(verbose_bad_input, record, [], "render", "record") == 0
    assert guard.is_failed(record)
