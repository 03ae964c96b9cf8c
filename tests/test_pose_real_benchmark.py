"""The real-motion benchmark refuses a folder it cannot read honestly (exit 2, naming the file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import pose_real  # noqa: E402


def real_folder(tmp_path: Path, shapes: dict[str, tuple[int, ...]]) -> Path:
    folder = tmp_path / "real"
    folder.mkdir()
    entries = []
    for name, shape in shapes.items():
        np.save(folder / f"{name}.npy", np.zeros(shape, dtype=np.float32))
        entries.append({"file": f"{name}.npy", "subject": 9, "yaw_deg": 0, "label": name})
    (folder / "index.json").write_text(json.dumps(entries))
    return folder


def test_a_good_folder_lists_its_clips(tmp_path):
    folder = real_folder(tmp_path, {"a": (3, 10, 25, 1), "b": (3, 12, 25, 2)})
    assert [e["name"] for e in pose_real.load_index(folder)] == ["a", "b"]


@pytest.mark.parametrize(
    "problem, match",
    [
        ("no_index", "no index.json"),
        ("wrong_shape", r"b.npy: shape \(3, 12, 18, 1\)"),
        ("missing_clip", "clip 'c.npy' not found"),
        ("nan", "b.npy: holds NaN"),
        ("bad_json", "index.json: not valid JSON"),
    ],
)
def test_bad_folders_are_refused(tmp_path, problem, match):
    folder = real_folder(tmp_path, {"a": (3, 10, 25, 1), "b": (3, 12, 18 if problem == "wrong_shape" else 25, 1)})
    if problem == "no_index":
        (folder / "index.json").unlink()
    elif problem == "missing_clip":
        entries = json.loads((folder / "index.json").read_text()) + [{"file": "c.npy"}]
        (folder / "index.json").write_text(json.dumps(entries))
    elif problem == "nan":
        clip = np.load(folder / "b.npy")
        clip[0, 3, 4, 0] = np.nan
        np.save(folder / "b.npy", clip)
    elif problem == "bad_json":
        (folder / "index.json").write_text("[{")
    with pytest.raises(pose_real.BadRealSet, match=match):
        pose_real.load_index(folder)


def test_the_benchmark_exits_2_on_a_bad_folder(tmp_path):
    folder = real_folder(tmp_path, {"a": (3, 10, 24, 1)})
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/pose_real.py",
            "--real",
            str(folder),
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "a.npy: shape (3, 10, 24, 1)" in proc.stderr
    assert not out.exists()
