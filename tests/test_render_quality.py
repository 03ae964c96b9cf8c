"""Quality and camera presets with real Blender: the textured presets dress body and room
from the seed, so a clip's clean and perturbed renders differ only where the motion does;
the draft preset's draws are pinned; the baked textures are what the code makes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ciasa.camera import Camera
from ciasa.data.stgcn import save_split
from ciasa.video import read_all
from render.demo_motion import waving_clip

W, H = 192, 144


def _render(repo, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "render", *args], capture_output=True, text=True, cwd=repo, timeout=timeout
    )


def test_standard_preset_differs_only_where_the_motion_does(tmp_path, repo_root):
    clean = np.zeros((1, 3, 4, 25, 1), np.float32)
    clean[0] = waving_clip(4)
    adv = clean.copy()
    adv[0, :, :, [14, 15, 18, 19], 0] += 0.03  # the feet moved 3 cm
    name = "S001C001P001R001A001"
    save_split(tmp_path / "clean", "val", clean, [name], [0])
    save_split(tmp_path / "adv", "val", adv, [name], [0])
    proc = _render(
        repo_root,
        "batch",
        "--data",
        f"clean={tmp_path / 'clean'}",
        "--data",
        f"adv={tmp_path / 'adv'}",
        "--out-dir",
        str(tmp_path / "out"),
        "--quality",
        "standard",
        "--resolution",
        f"{W}x{H}",
        "--crf",
        "0",
        "--frames-dir",
        str(tmp_path / "frames"),
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = {c: json.loads((tmp_path / "out" / c / f"{name}.render.json").read_text()) for c in ("clean", "adv")}
    assert rec["clean"]["quality"] == "standard" and rec["clean"]["body"] == "makehuman"
    assert rec["clean"]["scene"] == rec["adv"]["scene"] and rec["clean"]["scene"]["room"] is not None
    assert rec["clean"]["blender_joint_error_mm"] <= 1.0
    c = read_all(tmp_path / "out" / "clean" / f"{name}.mp4").astype(int)
    a = read_all(tmp_path / "out" / "adv" / f"{name}.mp4").astype(int)
    changed = np.abs(c - a).sum(axis=-1) > 30
    assert 0 < changed.mean() < 0.02
    assert changed[:, : H // 2].sum() == 0  # the upper half (torso, head, walls) is identical
    # Textured: the body and the room are not flat colours (many distinct values on the wall
    # and on the shirt), unlike the draft preset's plain wall.
    frame = np.asarray(read_all(tmp_path / "out" / "clean" / f"{name}.mp4")[0])
    cam = Camera.load(tmp_path / "out" / "clean" / f"{name}.camera.json")
    assert cam.extra["quality"] == "standard"
    top = frame[: H // 6].reshape(-1, 3)
    assert len(np.unique(top, axis=0)) > 20


def test_photo_preset_renders_with_cycles(tmp_path, repo_root):
    np.save(tmp_path / "c.npy", waving_clip(1))
    proc = _render(
        repo_root,
        "--skeleton",
        str(tmp_path / "c.npy"),
        "--out",
        str(tmp_path / "c.mp4"),
        "--quality",
        "photo",
        "--cycles-samples",
        "2",
        "--resolution",
        "64x48",
        "--device",
        "cpu",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = json.loads((tmp_path / "c.render.json").read_text())
    assert (rec["engine"], rec["body"]) == ("cycles", "makehuman")
    assert rec["scene"]["light"]["key_power_w"] > 0
    assert read_all(tmp_path / "c.mp4").std() > 5


def test_kinect_rgb_camera_preset(tmp_path, repo_root):
    np.save(tmp_path / "c.npy", waving_clip(1))
    proc = _render(
        repo_root,
        "--skeleton",
        str(tmp_path / "c.npy"),
        "--out",
        str(tmp_path / "c.mp4"),
        "--camera",
        "kinect-v2-rgb",
        "--resolution",
        "192x108",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    cam = Camera.load(tmp_path / "c.camera.json")
    assert (cam.width, cam.height) == (192, 108)
    assert cam.hfov_deg == pytest.approx(84.1, abs=1e-6)
    vfov = np.degrees(2 * np.arctan(cam.height / (2 * cam.fy)))
    assert vfov == pytest.approx(53.8, abs=0.2)
    for bad, what in ((["--resolution", "200x200"], "aspect ratio"), (["--hfov", "70"], "contradicts")):
        proc = _render(
            repo_root,
            "--skeleton",
            str(tmp_path / "c.npy"),
            "--out",
            str(tmp_path / "d.mp4"),
            "--camera",
            "kinect-v2-rgb",
            *bad,
        )
        assert proc.returncode == 2 and what in proc.stderr
        assert not (tmp_path / "d.mp4").exists()


def test_full_size_kinect_rgb_camera():
    from render.clip import RenderOptions

    opt = RenderOptions(camera="kinect-v2-rgb")
    assert (opt.width, opt.height, opt.hfov) == (1920, 1080, 84.1)
    assert RenderOptions().width == 480 and RenderOptions().hfov == 70.0


def test_draft_draws_are_pinned():
    """The textured presets' extra draws come from a second stream: the draft preset's scene
    and appearance for a seed are the ones drawn before the presets existed."""
    from render.scene_params import scene_params

    p = scene_params(7)
    assert p.background == (0.6237, 0.6825, 0.8594)
    assert p.appearances[0].shirt == (0.4446, 0.7058, 0.3162)
    assert scene_params(7) == p and scene_params(8).room != p.room


def test_baked_textures_are_what_the_code_makes():
    from PIL import Image

    from render.textures import ASSETS, MAPS, to_uint8

    for name, make in MAPS.items():
        with Image.open(ASSETS / f"{name}.png") as im:
            assert np.array_equal(np.asarray(im), to_uint8(make())), name


def test_textured_images_keep_the_drawn_colour_on_average():
    from render.scene_params import scene_params
    from render.texturing import figure_textures, room_textures

    p = scene_params(3)
    imgs = figure_textures(p.appearances[0])
    assert np.allclose(imgs["skin"].reshape(-1, 3).mean(axis=0), p.appearances[0].skin, atol=0.03)
    assert np.allclose(room_textures(p.room)["wall"].reshape(-1, 3).mean(axis=0), p.room.wall_colour, atol=0.05)
