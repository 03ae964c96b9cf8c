"""Faults of a standalone render, with real Blender and ffmpeg: Ctrl-C/SIGTERM end it with
exit 130 and no temporary frames; SIGKILL leftovers are cleaned by the next run; a full
disk is named; a GPU that is not there, a broken texture and a failed batch clip give the
convention's exit codes; Blender's headless EGL noise is filtered, other stderr kept."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ciasa.data.stgcn import save_split
from render.demo_motion import waving_clip

PY = sys.executable


def _cmd(*args: str) -> list[str]:
    return [PY, "-m", "render", *args]


def _frames_dirs(folder: Path) -> list[Path]:
    return [p for p in folder.glob(".*.frames.*") if p.is_dir()]


def _start_long_render(tmp: Path, repo: Path) -> tuple[subprocess.Popen, Path]:
    """A 900-frame render at 64x48, waited on until its first frames are on disk."""
    np.save(tmp / "long.npy", waving_clip(900))
    proc = subprocess.Popen(
        _cmd(
            "--skeleton",
            str(tmp / "long.npy"),
            "--out",
            str(tmp / "out" / "long.mp4"),
            "--resolution",
            "64x48",
            "--no-progress",
        ),
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        dirs = _frames_dirs(tmp / "out") if (tmp / "out").is_dir() else []
        if dirs and len(list(dirs[0].glob("*.png"))) >= 3:
            return proc, dirs[0]
        if proc.poll() is not None:
            raise AssertionError(f"render ended early: {proc.returncode} {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("no frames appeared within 120 s")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_ends_render_with_130_and_removes_frames(tmp_path, repo_root, sig):
    proc, frames = _start_long_render(tmp_path, repo_root)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    assert not frames.exists() and _frames_dirs(tmp_path / "out") == []
    assert list((tmp_path / "out").iterdir()) == []  # no video, camera, render.json or temporary file


def test_interrupt_during_a_cycles_frame_takes_effect_at_once(tmp_path, repo_root):
    """A Cycles frame runs no Python on the main thread for a long time; the interrupt must
    still end the render within seconds, not at the end of the frame."""
    np.save(tmp_path / "c.npy", waving_clip(2))
    proc = subprocess.Popen(
        _cmd(
            "--skeleton",
            str(tmp_path / "c.npy"),
            "--out",
            str(tmp_path / "out" / "c.mp4"),
            "--quality",
            "photo",
            "--cycles-samples",
            "4096",
            "--resolution",
            "96x72",
            "--threads",
            "1",
            "--no-progress",
        ),
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while not ((tmp_path / "out").is_dir() and _frames_dirs(tmp_path / "out")):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()[-2000:] if proc.poll() else ""
        time.sleep(0.1)
    time.sleep(2.0)  # well inside the first frame (4096 samples)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert time.monotonic() - t0 < 10.0
    assert list((tmp_path / "out").iterdir()) == []


def test_killed_render_leftovers_are_removed_by_the_next_run(tmp_path, repo_root):
    proc, frames = _start_long_render(tmp_path, repo_root)
    proc.kill()
    proc.wait(timeout=60)
    assert frames.is_dir()  # SIGKILL cannot clean up
    # A live render's folder (this process's) and another host's folder must survive.
    live = tmp_path / "out" / f".other.frames.{frames.name.split('.frames.')[1].split('-')[0]}-{os.getpid()}.x"
    foreign = tmp_path / "out" / ".other.frames.some_other_host-1.x"
    live.mkdir()
    foreign.mkdir()
    np.save(tmp_path / "short.npy", waving_clip(2))
    done = subprocess.run(
        _cmd(
            "--skeleton", str(tmp_path / "short.npy"), "--out", str(tmp_path / "out" / "s.mp4"), "--resolution", "64x48"
        ),
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not frames.exists()
    assert live.is_dir() and foreign.is_dir()


_ENOSPC_SCRIPT = """
import errno, sys
import {module} as target
def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "{where}")
target.{name} = full
from render.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "module, name", [("ciasa.video", "encode_png_frames"), ("render.blender", "BlenderSession.render_frames")]
)
def test_full_disk_is_reported_as_such(tmp_path, repo_root, module, name):
    """The encoder's or Blender's write fails with ENOSPC (simulated in the render process):
    exit 1, 'no space left on device', nothing left behind."""
    if "." in name:  # a method: patch it on its class
        cls, meth = name.split(".")
        script = _ENOSPC_SCRIPT.replace("import {module} as target", f"from {module} import {cls} as target")
        script = script.replace("target.{name} = full", f"target.{meth} = full")
    else:
        script = _ENOSPC_SCRIPT.replace("{module}", module).replace("{name}", name)
    np.save(tmp_path / "c.npy", waving_clip(3))
    (tmp_path / "out").mkdir()
    proc = subprocess.run(
        [
            PY,
            "-c",
            script.replace("{where}", str(tmp_path / "out")),
            "--skeleton",
            str(tmp_path / "c.npy"),
            "--out",
            str(tmp_path / "out" / "c.mp4"),
            "--resolution",
            "64x48",
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "no space left on device" in proc.stderr
    assert "ffmpeg" not in proc.stderr and "Traceback" not in proc.stderr
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.skipif(
    shutil.which("nvidia-smi") is not None or Path("/dev/kfd").exists(),
    reason="a GPU may be present here: the request could succeed",
)
@pytest.mark.parametrize("device", ["gpu", "cuda", "optix"])
def test_gpu_requested_where_none_exists_is_bad_input(tmp_path, repo_root, device):
    np.save(tmp_path / "c.npy", waving_clip(2))
    proc = subprocess.run(
        _cmd(
            "--skeleton",
            str(tmp_path / "c.npy"),
            "--out",
            str(tmp_path / "c.mp4"),
            "--engine",
            "cycles",
            "--device",
            device,
            "--resolution",
            "32x24",
        ),
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"--device {device}" in proc.stderr and "finds no" in proc.stderr
    assert list(tmp_path.glob("c.*")) == [tmp_path / "c.npy"]


def test_broken_texture_is_bad_input(tmp_path, repo_root):
    from render.textures import ASSETS

    shutil.copytree(ASSETS, tmp_path / "tex")
    (tmp_path / "tex" / "knit.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    np.save(tmp_path / "c.npy", waving_clip(2))
    for textures, what in (
        (tmp_path / "tex", "knit.png: cannot read the texture"),
        (tmp_path / "nowhere", "texture folder not found"),
    ):
        proc = subprocess.run(
            _cmd(
                "--skeleton",
                str(tmp_path / "c.npy"),
                "--out",
                str(tmp_path / "c.mp4"),
                "--quality",
                "standard",
                "--textures",
                str(textures),
                "--resolution",
                "32x24",
            ),
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert what in proc.stderr
        assert not (tmp_path / "c.mp4").exists() and _frames_dirs(tmp_path) == []


def test_batch_with_a_failed_clip_exits_1_and_renders_the_rest(tmp_path, repo_root):
    clips = np.zeros((2, 3, 3, 25, 1), np.float32)
    clips[0] = waving_clip(3)
    clips[1] = waving_clip(3)
    clips[1, 2, :, :, 0] = -1.0  # behind the sensor: this clip cannot be rendered
    names = ["S001C001P001R001A001", "S001C001P001R001A002"]
    save_split(tmp_path / "d", "val", clips, names, [0, 1])
    (tmp_path / "names.txt").write_text(f"# the two clips\n{names[0]}\n{names[1]}  # bad one\n")
    proc = subprocess.run(
        _cmd(
            "batch",
            "--data",
            str(tmp_path / "d"),
            "--names",
            f"@{tmp_path / 'names.txt'}",
            "--out-dir",
            str(tmp_path / "out"),
            "--resolution",
            "32x24",
            "--quiet",
        ),
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert (tmp_path / "out" / f"{names[0]}.mp4").is_file()
    assert not (tmp_path / "out" / f"{names[1]}.mp4").exists()
    assert "behind the sensor" in proc.stderr and " INFO " not in proc.stderr  # --quiet: errors only


def test_egl_noise_is_dropped_and_other_stderr_kept(capfd):
    from render.stdio import filtered_stderr

    with filtered_stderr():
        os.write(2, b"EGL Error (0x3009): EGL_BAD_MATCH: Arguments are inconsistent (for example, ...).\n")
        os.write(2, b"EGL Error (0x3003): EGL_BAD_ALLOC: a real one\n")
        os.write(2, b"Blender: something else\n")
    err = capfd.readouterr().err
    assert "EGL_BAD_MATCH" not in err
    assert "EGL_BAD_ALLOC: a real one" in err and "Blender: something else" in err
