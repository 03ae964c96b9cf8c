"""The conditions of one clip in one Blender session (``python -m render`` with repeated
--skeleton/--out pairs, the pipeline's render job since issue 25): each condition gets the
same files, byte-for-byte the same pixels, as a render in its own session; bad input
writes nothing; a failing condition does not stop the others and the exit code says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ciasa.video import read_all
from render.demo_motion import waving_clip

COMMON = ("--resolution", "96x72", "--scene-id", "S001C001P001R001A023", "--threads", "1", "--no-progress")
CONDITIONS = ("clean", "control", "perturbed")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "render", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def _clips(tmp: Path, frames: int = 5) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    clean = waving_clip(frames).astype(np.float32)
    out = {}
    for name in CONDITIONS:
        clip = clean.copy()
        if name != "clean":
            clip[:, :, 12:20] += rng.normal(0, 0.03, clip[:, :, 12:20].shape).astype(np.float32)
        out[name] = tmp / f"{name}.npy"
        np.save(out[name], clip)
    return out


def _pairs(clips: dict[str, Path], out_dir: Path) -> list[str]:
    args = []
    for name in CONDITIONS:
        args += ["--skeleton", str(clips[name]), "--out", str(out_dir / f"{name}.mp4")]
    return args


@pytest.fixture(scope="module")
def one_session(tmp_path_factory, repo_root):
    tmp = tmp_path_factory.mktemp("conditions")
    clips = _clips(tmp)
    proc = _run(*_pairs(clips, tmp / "one"), "--reference", str(clips["clean"]), *COMMON, cwd=repo_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp, clips


def test_every_condition_gets_its_own_files(one_session):
    tmp, _ = one_session
    for name in CONDITIONS:
        for suffix in (".mp4", ".camera.json", ".render.json"):
            assert (tmp / "one" / f"{name}{suffix}").is_file()
        info = json.loads((tmp / "one" / f"{name}.render.json").read_text())
        assert info["scene_id"] == "S001C001P001R001A023" and info["frames_rendered"] == 5
    # Blender's start-up is paid once: only the session's first render reports it
    starts = [
        json.loads((tmp / "one" / f"{n}.render.json").read_text())["seconds"].get("startup_s") for n in CONDITIONS
    ]
    assert starts[0] is not None and starts[1:] == [None, None]


def test_one_session_renders_what_separate_sessions_render(one_session, repo_root):
    tmp, clips = one_session
    for name in ("clean", "perturbed"):
        proc = _run(
            "--skeleton",
            str(clips[name]),
            "--out",
            str(tmp / "sep" / f"{name}.mp4"),
            "--reference",
            str(clips["clean"]),
            *COMMON,
            cwd=repo_root,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert np.array_equal(read_all(tmp / "one" / f"{name}.mp4"), read_all(tmp / "sep" / f"{name}.mp4"))
        assert (tmp / "one" / f"{name}.camera.json").read_text() == (tmp / "sep" / f"{name}.camera.json").read_text()
    # and the conditions differ where their skeletons do
    assert not np.array_equal(read_all(tmp / "one" / "clean.mp4"), read_all(tmp / "one" / "perturbed.mp4"))


def test_pairs_need_a_shared_scene_and_matching_counts(tmp_path, repo_root):
    clips = _clips(tmp_path, 2)
    proc = _run(*_pairs(clips, tmp_path / "out"), "--resolution", "64x48", cwd=repo_root)
    assert proc.returncode == 2 and "--scene-id" in proc.stderr
    proc = _run(
        "--skeleton",
        str(clips["clean"]),
        "--skeleton",
        str(clips["control"]),
        "--out",
        str(tmp_path / "out" / "a.mp4"),
        "--scene-id",
        "x",
        cwd=repo_root,
    )
    assert proc.returncode == 2 and "--out" in proc.stderr
    proc = _run(
        "--skeleton",
        str(clips["clean"]),
        "--out",
        str(tmp_path / "out" / "a.mp4"),
        "--skeleton",
        str(clips["control"]),
        "--out",
        str(tmp_path / "out" / "a.mp4"),
        "--scene-id",
        "x",
        cwd=repo_root,
    )
    assert proc.returncode == 2 and "twice" in proc.stderr
    assert not list(tmp_path.rglob("*.mp4"))


def test_a_bad_file_among_the_pairs_writes_nothing(tmp_path, repo_root):
    clips = _clips(tmp_path, 2)
    np.save(clips["control"], np.zeros((3, 2, 24, 1), np.float32))  # 24 joints: not NTU-25
    proc = _run(*_pairs(clips, tmp_path / "out"), *COMMON, cwd=repo_root)
    assert proc.returncode == 2 and "control.npy" in proc.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_failing_condition_does_not_stop_the_others(tmp_path, repo_root):
    """A clip that cannot be framed (joints behind the sensor) fails alone; exit 2 names it."""
    clips = _clips(tmp_path, 2)
    behind = np.load(clips["control"])
    behind[2] -= 10.0  # z <= 0: behind the camera
    np.save(clips["control"], behind)
    proc = _run(*_pairs(clips, tmp_path / "out"), *COMMON, cwd=repo_root)
    assert proc.returncode == 2 and "control.npy" in proc.stderr and "behind the sensor" in proc.stderr
    assert (tmp_path / "out" / "clean.mp4").is_file() and (tmp_path / "out" / "perturbed.mp4").is_file()
    assert not (tmp_path / "out" / "control.mp4").exists()
