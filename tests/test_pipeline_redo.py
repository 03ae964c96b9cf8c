"""``python -m pipeline.redo``: the documented way to redo one clip (issue 14, item 3).

The command is checked here without running Snakemake; tests/test_pipeline_e2e.py runs it
on a real results tree."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline import redo
from pipeline.select import write_clip_list

REPO = Path(__file__).resolve().parents[1]


def test_results_dir_follows_snakemakes_config_precedence(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("results_dir: results\n")
    (tmp_path / "tiny.yaml").write_text("results_dir: results/tiny\n")
    assert redo.results_dir([], tmp_path) == "results"
    assert redo.results_dir(["--configfile", "tiny.yaml"], tmp_path) == "results/tiny"
    assert redo.results_dir(["--configfile", "tiny.yaml", "--config", "a=1", "results_dir=/x"], tmp_path) == "/x"
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        redo.results_dir(["--configfile", "nope.yaml"], tmp_path)


def test_forces_the_clips_jobs_so_everything_downstream_follows(tmp_path, monkeypatch, capsys):
    root = tmp_path / "results"
    write_clip_list(root / "clips" / "selection.txt", ["S001C001P001R001A001", "S001C001P002R001A002"])
    calls = []
    monkeypatch.setattr(redo.subprocess, "run", lambda cmd: calls.append(cmd) or type("P", (), {"returncode": 0})())
    assert (
        redo.main(
            [
                "S001C001P001R001A001",
                "--root",
                str(root),
                "--stage",
                "pose",
                "--condition",
                "perturbed",
                "--",
                "--configfile",
                "config/ci_tiny.yaml",
            ]
        )
        == 0
    )
    (cmd,) = calls
    assert cmd[:3] == [sys.executable, "-m", "snakemake"]
    assert cmd[-2:] == ["--forcerun", f"{root}/poses/S001C001P001R001A001/perturbed.npy"]  # last: it takes all values
    assert cmd[cmd.index("--configfile") + 1] == "config/ci_tiny.yaml"
    calls.clear()
    assert redo.main(["S001C001P002R001A002", "--root", str(root), "-n"]) == 0
    # nothing rendered yet: every condition's video (clean, control, perturbed)
    assert "-n" in calls[0] and calls[0][-4:] == [
        "--forcerun",
        f"{root}/videos/S001C001P002R001A002/clean.mp4",
        f"{root}/videos/S001C001P002R001A002/control.mp4",
        f"{root}/videos/S001C001P002R001A002/perturbed.mp4",
    ]


def test_an_unknown_clip_is_bad_input_and_runs_nothing(tmp_path, monkeypatch, capsys):
    root = tmp_path / "results"
    write_clip_list(root / "clips" / "selection.txt", ["S001C001P001R001A001"])
    monkeypatch.setattr(redo.subprocess, "run", lambda cmd: pytest.fail("snakemake must not run"))
    assert redo.main(["S009C009P009R009A009", "--root", str(root)]) == 2
    assert "S009C009P009R009A009: not a clip of" in capsys.readouterr().err
