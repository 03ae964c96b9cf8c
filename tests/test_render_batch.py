"""Batch mode, two bodies and the MakeHuman body, with real Blender."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ciasa.camera import Camera
from ciasa.data.stgcn import save_split
from ciasa.video import probe, read_all
from render.demo_motion import waving_clip

W, H = 256, 192


def _two_body_clip(frames: int) -> np.ndarray:
    """Two people side by side; the second one leaves the scene halfway."""
    a = waving_clip(frames, depth=3.2).astype(np.float32)
    b = waving_clip(frames, depth=3.6, scale=0.9, turn_deg=-30).astype(np.float32)
    a[0] += 0.5  # Kinect x points to the sensor's left
    b[0] -= 0.6
    b[:, frames // 2 :] = 0.0
    return np.concatenate([a, b], axis=3)


@pytest.mark.slow
def test_batch_renders_conditions_with_identical_scenes_and_resumes(tmp_path, repo_root):
    one = np.zeros((3, 8, 25, 2), np.float32)  # one body, 4 frames, then NTU-style padding
    one[:, :4, :, :1] = waving_clip(4)
    clean = np.stack([one, _two_body_clip(8)])
    adv = clean.copy()
    adv[0, :, :4, [14, 15, 18, 19], 0] += 0.03  # a perturbed copy: the feet moved 3 cm
    names = ["S001C001P001R001A001", "S001C001P002R001A002"]
    save_split(tmp_path / "clean", "val", clean, names, [0, 1])
    save_split(tmp_path / "adv", "val", adv, names, [0, 1])
    cmd = [
        sys.executable,
        "-m",
        "render",
        "batch",
        "--data",
        f"clean={tmp_path / 'clean'}",
        "--data",
        f"adv={tmp_path / 'adv'}",
        "--split",
        "val",
        "--names",
        ",".join(names),
        "--out-dir",
        str(tmp_path / "out"),
        "--resolution",
        f"{W}x{H}",
        "--crf",
        "0",
        "--frames-dir",
        str(tmp_path / "frames"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo_root, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    reports = {}
    for cond in ("clean", "adv"):
        for name in names:
            video = tmp_path / "out" / cond / f"{name}.mp4"
            reports[cond, name] = json.loads(video.with_suffix(".render.json").read_text())
            assert Camera.load(video.with_suffix(".camera.json")).width == W
    assert read_all(tmp_path / "out" / "clean" / f"{names[0]}.mp4").shape[0] == 4
    assert len(list((tmp_path / "frames" / "adv" / names[1]).glob("*.png"))) == 8
    assert reports["clean", names[0]]["trimmed_padding_frames"] == 4
    # Two bodies, two figures; the second one hidden once it is gone.
    two = reports["clean", names[1]]
    assert two["bodies"] == 2 and len(two["scene"]["appearances"]) == 2
    assert two["hidden_frames"] == []
    # Clean and perturbed renders of one sample share scene and appearance.
    for name in names:
        assert reports["clean", name]["scene"] == reports["adv", name]["scene"]
    assert reports["clean", names[0]]["scene"] != reports["clean", names[1]]["scene"]
    # Only the perturbation differs between the clean and the perturbed video (lossless H.264 here).
    c = read_all(tmp_path / "out" / "clean" / f"{names[0]}.mp4").astype(int)
    a = read_all(tmp_path / "out" / "adv" / f"{names[0]}.mp4").astype(int)
    changed = np.abs(c - a).sum(axis=-1) > 30
    assert 0 < changed.mean() < 0.02
    assert changed[:, : H // 2].sum() == 0  # the feet moved, the upper half of the image did not
    # A second run finds everything done.
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo_root, timeout=120)
    assert proc.returncode == 0 and "4 of 4 clips already rendered" in proc.stderr


@pytest.mark.slow
def test_makehuman_body_renders_on_the_joints(tmp_path, repo_root):
    clip = waving_clip(3)
    np.save(tmp_path / "c.npy", clip)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "render",
            "--skeleton",
            str(tmp_path / "c.npy"),
            "--out",
            str(tmp_path / "c.mp4"),
            "--body",
            "makehuman",
            "--resolution",
            "320x240",
            "--frames-dir",
            str(tmp_path / "f"),
        ],
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "c.render.json").read_text())
    assert report["blender_joint_error_mm"] <= 1.0
    import matplotlib.image as mpimg

    cam = Camera.load(tmp_path / "c.camera.json")
    frame = mpimg.imread(tmp_path / "f" / "000001.png")[..., :3]
    background = np.array(report["scene"]["background"])
    uv = np.floor(cam.project(clip[:, 0, :, 0].T)).astype(int)
    # Limb and torso joints (not the finger tips and toes, which MakeHuman's thin fingers
    # may miss at this size) are covered by the body, not by the plain background wall.
    joints = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 13, 16, 17, 20]
    on_wall = [j for j in joints if np.abs(frame[uv[j, 1], uv[j, 0]] - background).sum() < 0.03]
    assert on_wall == []


@pytest.mark.slow
def test_cycles_engine_renders(tmp_path, repo_root):
    np.save(tmp_path / "c.npy", waving_clip(2))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "render",
            "--skeleton",
            str(tmp_path / "c.npy"),
            "--out",
            str(tmp_path / "c.mp4"),
            "--engine",
            "cycles",
            "--cycles-samples",
            "4",
            "--cycles-device",
            "auto",
            "--resolution",
            "96x72",
        ],
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    info, pixels = probe(tmp_path / "c.mp4"), read_all(tmp_path / "c.mp4")
    assert (info.width, info.height, pixels.shape[0]) == (96, 72, 2)
    # Not a blank image: the figure and the lit scene vary across the frame.
    assert pixels.std() > 5
