"""Real Blender, real ffmpeg: render short clips through the CLI and check the videos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ciasa.camera import Camera
from ciasa.video import probe, read_all
from render.demo_motion import waving_clip

W, H = 320, 240


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "render", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _png(path: Path) -> np.ndarray:
    import matplotlib.image as mpimg

    return (mpimg.imread(path)[..., :3] * 255).astype(np.int32)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, repo_root):
    """6 frames of motion, frame 3 lost by the tracker, then 4 frames of zero padding."""
    tmp = tmp_path_factory.mktemp("render")
    clip = waving_clip(6).astype(np.float32)
    clip[:, 3] = 0.0
    clip = np.concatenate([clip, np.zeros((3, 4, 25, 1), np.float32)], axis=1)
    np.save(tmp / "clip.npy", clip)
    proc = _run(
        "--skeleton",
        str(tmp / "clip.npy"),
        "--out",
        str(tmp / "clip.mp4"),
        "--resolution",
        f"{W}x{H}",
        "--scene-id",
        "S001C001P001R001A023",
        "--frames-dir",
        str(tmp / "frames"),
        cwd=repo_root,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "EGL" not in proc.stderr  # headless GPU start-up noise is filtered
    return tmp, clip


def test_video_has_one_frame_per_unpadded_input_frame(rendered):
    tmp, clip = rendered
    info = probe(tmp / "clip.mp4")
    assert (info.width, info.height, read_all(tmp / "clip.mp4").shape[0]) == (W, H, 6)
    assert info.fps == pytest.approx(30.0)
    report = json.loads((tmp / "clip.render.json").read_text())
    assert report["frames_rendered"] == 6 and report["trimmed_padding_frames"] == 4
    assert report["hidden_frames"] == [3]
    assert report["retarget_error_mm"]["max"] <= 1.0
    assert report["blender_joint_error_mm"] <= 1.0  # the keyed armature, read back from Blender
    assert sorted(p.name for p in (tmp / "frames").glob("*.png")) == [f"{i:06d}.png" for i in range(1, 7)]
    assert not list(tmp.glob(".clip*"))  # no temporary files left behind


def test_projected_joints_land_on_the_body(rendered):
    """Through the written camera, every input joint projects onto body pixels: they differ
    from the same pixels in the frame where the figure is hidden (background only)."""
    tmp, clip = rendered
    cam = Camera.load(tmp / "clip.camera.json")
    assert (cam.width, cam.height) == (W, H)
    empty = _png(tmp / "frames" / "000004.png")
    for t in (0, 2, 5):
        frame = _png(tmp / "frames" / f"{t + 1:06d}.png")
        uv = cam.project(clip[:, t, :, 0].T)
        assert np.all((uv >= 0) & (uv < [W, H]))
        for j, (u, v) in enumerate(np.floor(uv).astype(int)):
            diff = np.abs(frame[v, u] - empty[v, u]).sum()
            assert diff > 20, f"frame {t} joint {j} at ({u}, {v}) looks like background"
        # And the body is not everywhere: most of the image is still background.
        changed = np.abs(frame - empty).sum(axis=-1) > 20
        assert 0.01 < changed.mean() < 0.3


def test_same_scene_id_gives_the_same_scene(rendered, repo_root):
    tmp, _ = rendered
    report = json.loads((tmp / "clip.render.json").read_text())
    from render.scene_params import scene_params, seed_from_name

    assert report["seed"] == seed_from_name("S001C001P001R001A023")
    assert report["scene"]["background"] == list(scene_params(report["seed"]).background)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: np.full((3, 5, 25, 1), np.nan, np.float32), "NaN"),
        (lambda: np.zeros((3, 5, 18, 1), np.float32), "shape"),
        (lambda: np.zeros((3, 5, 25, 2), np.float32), "empty sequence"),
    ],
)
def test_bad_input_fails_cleanly(tmp_path, repo_root, make, message):
    np.save(tmp_path / "bad.npy", make())
    proc = _run("--skeleton", str(tmp_path / "bad.npy"), "--out", str(tmp_path / "bad.mp4"), cwd=repo_root)
    assert proc.returncode != 0
    assert message in proc.stderr and "bad.npy" in proc.stderr
    assert not (tmp_path / "bad.mp4").exists()


def test_unknown_options_fail_cleanly(tmp_path, repo_root):
    """Unknown presets and names are bad input: exit 2, the flag named, no video."""
    np.save(tmp_path / "c.npy", waving_clip(2))
    for flag, value in (
        ("--engine", "povray"),
        ("--body", "robot"),
        ("--quality", "cinema"),
        ("--camera", "kinect-v1"),
        ("--device", "tpu"),
    ):
        proc = _run("--skeleton", str(tmp_path / "c.npy"), "--out", str(tmp_path / "c.mp4"), flag, value, cwd=repo_root)
        assert proc.returncode == 2 and flag in proc.stderr and value in proc.stderr
        assert not (tmp_path / "c.mp4").exists()


def test_unwritable_output_fails_cleanly(tmp_path, repo_root):
    """Rendering into a folder that cannot be created (a file is in the way) fails with a
    clear message and leaves no video."""
    np.save(tmp_path / "c.npy", waving_clip(2))
    (tmp_path / "blocker").write_text("a file, not a folder")
    proc = _run(
        "--skeleton",
        str(tmp_path / "c.npy"),
        "--out",
        str(tmp_path / "blocker" / "c.mp4"),
        "--resolution",
        "64x48",
        cwd=repo_root,
    )
    assert proc.returncode == 2 and "blocker" in proc.stderr
    assert not list(tmp_path.rglob("*.mp4"))


def test_motion_leaving_the_view_is_reported_or_framed(tmp_path, repo_root):
    np.save(tmp_path / "near.npy", waving_clip(2, depth=1.3))  # too close: head and feet leave a 70 deg view
    reports = {}
    for flag in ([], ["--adapt-fov"]):
        out = tmp_path / f"near{len(flag)}.mp4"
        proc = _run(
            "--skeleton", str(tmp_path / "near.npy"), "--out", str(out), "--resolution", "64x48", *flag, cwd=repo_root
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        reports[bool(flag)] = json.loads(out.with_suffix(".render.json").read_text())
    assert reports[False]["out_of_frame_fraction"] > 0 and reports[False]["hfov_deg"] == 70.0
    assert any("--adapt-fov" in w for w in reports[False]["warnings"])
    assert reports[True]["out_of_frame_fraction"] == 0 and reports[True]["hfov_deg"] > 70.0
    cam = Camera.load(tmp_path / "near1.camera.json")
    assert cam.hfov_deg == pytest.approx(reports[True]["hfov_deg"])
