"""The glue modules the rules call: guard, collect, overlay (and ciasa.evaluate on collected sets) (real ffmpeg,
real torch, real files; small data made here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from ciasa.camera import Camera
from ciasa.data.stgcn import load_split, save_split
from ciasa.io import atomic_write_json
from ciasa.video import encode_h264, iter_frames
from pipeline import collect, guard, overlay
from pipeline.paths import Paths
from pipeline.select import write_clip_list

NAMES = ["S001C001P001R001A001", "S001C001P002R001A006", "S001C001P003R001A027"]


def _clip(rng, frames=10, bodies=1, pad=0) -> np.ndarray:
    clip = np.zeros((3, frames + pad, 25, bodies), dtype=np.float32)
    clip[0, :frames] = rng.normal(0, 0.3, size=(frames, 25, bodies))
    clip[1, :frames] = rng.normal(0, 0.6, size=(frames, 25, bodies))
    clip[2, :frames] = 3.0 + rng.normal(0, 0.1, size=(frames, 25, bodies))
    return clip


@pytest.fixture()
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    data = np.stack([_clip(rng, 10, 2, pad=6) for _ in NAMES])  # T = 16, M = 2
    save_split(tmp_path / "data", "val", data, NAMES, [0, 1, 2], class_names=["a", "b", "c"])
    return tmp_path / "data", data


def test_guard_passes_success_through(tmp_path):
    record = tmp_path / "x.render.json"
    cmd = [sys.executable, "-c", f"import json; json.dump({{'ok': 1}}, open({str(record)!r}, 'w'))"]
    assert guard.run_guarded(cmd, record, [], "render") == 0
    assert json.loads(record.read_text()) == {"ok": 1}


def test_guard_records_a_failure_as_outputs(tmp_path):
    record, video, camera = tmp_path / "c.render.json", tmp_path / "c.mp4", tmp_path / "c.camera.json"
    cmd = [sys.executable, "-c", "import sys; print('RenderError: the skeleton is empty'); sys.exit(3)"]
    assert guard.run_guarded(cmd, record, [video, camera], "render", "record", (64, 48)) == 0
    info = json.loads(record.read_text())
    assert info["status"] == "failed" and info["returncode"] == 3
    assert "the skeleton is empty" in info["error"]
    assert guard.is_failed(record)
    frames = list(iter_frames(video))  # a real, decodable video card
    assert len(frames) == 30 and frames[0].shape == (48, 64, 3)
    assert Camera.load(camera).width == 64
    # stop: the failure passes through and nothing is written
    other = tmp_path / "d.render.json"
    assert guard.run_guarded(cmd, other, [], "render", "stop") == 3
    assert not other.exists()


def test_guard_runs_a_native_crash_again_once(tmp_path):
    """A command that dies of SIGABRT (as Blender did once, of heap corruption) is run again; a
    second crash is recorded; a Python exception is never retried."""
    record, marker = tmp_path / "c.render.json", tmp_path / "crashed-once"
    crash_once = (
        f"import json, os, pathlib, signal; m = pathlib.Path({str(marker)!r})\n"
        "if not m.exists(): m.touch(); os.kill(os.getpid(), signal.SIGABRT)\n"
        f"json.dump({{'ok': 1}}, open({str(record)!r}, 'w'))"
    )
    assert guard.run_guarded([sys.executable, "-c", crash_once], record, [], "render") == 0
    assert json.loads(record.read_text()) == {"ok": 1} and marker.exists()

    always = [
        sys.executable,
        "-c",
        "import os, signal; print('free(): corrupted'); os.kill(os.getpid(), signal.SIGABRT)",
    ]
    failed = tmp_path / "d.render.json"
    assert guard.run_guarded(always, failed, [], "render", signal_retries=1) == 0
    assert guard.is_failed(failed) and json.loads(failed.read_text())["returncode"] == -6
    assert guard.run_guarded(always, tmp_path / "e.render.json", [], "render", "stop", signal_retries=0) == -6

    counter = tmp_path / "runs"
    bug = [sys.executable, "-c", f"open({str(counter)!r}, 'a').write('x'); raise KeyError('bug')"]
    assert guard.run_guarded(bug, tmp_path / "f.render.json", [], "render") == 1
    assert counter.read_text() == "x"


def test_collect_pads_and_excludes_failures(dataset, tmp_path):
    directory, data = dataset
    rng = np.random.default_rng(1)
    paths = Paths(str(tmp_path / "results"))
    clips = tmp_path / "clips.txt"
    write_clip_list(clips, NAMES)
    for i, name in enumerate(NAMES):
        atomic_write_json(paths.render_info(name, "clean"), {"frames_rendered": 10})
        Path(paths.pose(name, "clean")).parent.mkdir(parents=True, exist_ok=True)
        np.save(paths.pose(name, "clean"), _clip(rng, 10 + 10 * i, 1))  # 10, 20 (too long), 30 frames
        atomic_write_json(paths.pose_info(name, "clean"), {"detected": 10, "detection_rate": 1.0})
    # the third clip's pose extraction failed
    guard.write_failure(
        Path(paths.pose_info(NAMES[2], "clean")),
        [Path(paths.pose(NAMES[2], "clean"))],
        "pose",
        "no person",
        1,
        [],
        0.1,
        (64, 48),
        70,
        30,
    )
    out = tmp_path / "set"
    assert (
        collect.main(
            [
                "--root",
                paths.root,
                "--clips",
                str(clips),
                "--domain",
                "rgb",
                "--condition",
                "clean",
                "--data",
                str(directory),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = load_split(out, "val")
    assert s.names == NAMES[:2] and list(s.labels) == [0, 1]
    assert s.shape == (2, 3, 16, 25, 2)  # padded/cut to the source's T and M
    np.testing.assert_array_equal(s.data[0, :, 10:], 0)
    np.testing.assert_array_equal(s.data[:, :, :, :, 1], 0)
    manifest = json.loads((out / "collect.json").read_text())
    assert manifest["included"] == 2
    assert manifest["excluded"] == [{"name": NAMES[2], "reason": "pose extraction failed: no person"}]


def test_an_empty_set_is_collected_and_classified_with_n_0(dataset, tmp_path):
    """Every clip of a condition failed: the set is empty, ciasa.evaluate writes n = 0 (no wrapper)."""
    import torch

    from ciasa import evaluate
    from ciasa.models import STGCN
    from ciasa.models.checkpoint import save_checkpoint

    directory, _ = dataset
    paths = Paths(str(tmp_path / "results"))
    clips = tmp_path / "clips.txt"
    write_clip_list(clips, NAMES[:1])
    guard.write_failure(
        Path(paths.render_info(NAMES[0], "clean")), [], "render", "Blender crashed", 1, [], 0.1, (64, 48), 70, 30
    )
    out = tmp_path / "set"
    assert (
        collect.main(
            [
                "--root",
                paths.root,
                "--clips",
                str(clips),
                "--domain",
                "rgb",
                "--condition",
                "clean",
                "--data",
                str(directory),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads((out / "collect.json").read_text())["included"] == 0
    torch.manual_seed(0)
    args = {
        "in_channels": 3,
        "num_class": 3,
        "graph_args": {"layout": "ntu-rgb+d", "strategy": "spatial"},
        "base_channels": 4,
    }
    ckpt = tmp_path / "model.pt"
    save_checkpoint(ckpt, STGCN(**args), "stgcn", args, ["a", "b", "c"], {})
    pred = tmp_path / "pred"
    assert evaluate.main(["--data", str(out), "--checkpoint", str(ckpt), "--out", str(pred), "--no-progress"]) == 0
    assert (pred / "predictions.csv").read_text().splitlines() == [
        "name,label,pred,confidence,top5,label_name,pred_name"
    ]
    metrics = json.loads((pred / "metrics.json").read_text())
    assert metrics["n"] == 0 and metrics["top1"] is None
    # a later run in which the clip renders replaces the empty set
    atomic_write_json(paths.render_info(NAMES[0], "clean"), {"frames_rendered": 10})
    Path(paths.pose(NAMES[0], "clean")).parent.mkdir(parents=True, exist_ok=True)
    np.save(paths.pose(NAMES[0], "clean"), _clip(np.random.default_rng(3), 10, 1))
    atomic_write_json(paths.pose_info(NAMES[0], "clean"), {"detected": 10, "detection_rate": 1.0})
    assert (
        collect.main(
            [
                "--root",
                paths.root,
                "--clips",
                str(clips),
                "--domain",
                "rgb",
                "--condition",
                "clean",
                "--data",
                str(directory),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert load_split(out, "val").names == NAMES[:1]


def test_guard_as_a_command_records_a_failure_and_passes_interruptions_through(tmp_path):
    """As the rules run it (python -m): the failure card is written, Ctrl-C is not a clip failure."""
    import subprocess

    record, video = tmp_path / "c.render.json", tmp_path / "c.mp4"
    failing = [sys.executable, "-c", "import sys; print('RenderError: boom'); sys.exit(3)"]
    guard_cmd = [
        sys.executable,
        "-m",
        "pipeline.guard",
        "--stage",
        "render",
        "--record",
        str(record),
        "--outputs",
        str(video),
        "--size",
        "64x48",
        "--",
    ]
    proc = subprocess.run(guard_cmd + failing, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr
    assert guard.is_failed(record) and len(list(iter_frames(video))) == 30
    record.unlink()
    video.unlink()
    interrupted = [sys.executable, "-c", "import sys; sys.exit(130)"]
    proc = subprocess.run(guard_cmd + interrupted, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert proc.returncode == 130 and not record.exists() and not video.exists()
    proc = subprocess.run(
        guard_cmd[:-1] + ["--size", "64"] + ["--"] + failing,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 2 and "WIDTHxHEIGHT" in proc.stderr


def test_overlay_draws_the_projected_skeleton(tmp_path):
    camera = Camera.from_fov(64, 48, 70.0, fps=10)
    camera.save(tmp_path / "v.camera.json")
    encode_h264([np.zeros((48, 64, 3), np.uint8)] * 5, tmp_path / "v.mp4", fps=10)
    rng = np.random.default_rng(2)
    skeleton = _clip(rng, 5, 1)
    skeleton[0] *= 0.3
    skeleton[1] *= 0.3
    np.save(tmp_path / "rec.npy", skeleton)
    out = tmp_path / "o.mp4"
    assert (
        overlay.main(
            [
                "--video",
                str(tmp_path / "v.mp4"),
                "--camera",
                str(tmp_path / "v.camera.json"),
                "--recovered",
                str(tmp_path / "rec.npy"),
                "--color",
                "red",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    frames = list(iter_frames(out))
    assert len(frames) == 5
    red = (frames[0][..., 0] > 120) & (frames[0][..., 1] < 100)
    assert red.sum() > 20  # bones drawn in red on a black frame
    # the drawn pixels sit where the camera projects the joints
    uv = camera.project(skeleton[:, 0, :, 0].T)
    inside = [(int(v), int(u)) for u, v in uv if 0 <= u < 64 and 0 <= v < 48]
    assert inside and np.mean([red[max(0, v - 2) : v + 3, max(0, u - 2) : u + 3].any() for v, u in inside]) > 0.8


def test_encoded_video_is_browser_playable_h264(tmp_path):
    import subprocess

    import imageio_ffmpeg

    encode_h264([np.zeros((47, 63, 3), np.uint8)] * 3, tmp_path / "odd.mp4", fps=10)  # odd size gets padded
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "odd.mp4")],
        capture_output=True,
        text=True,
    )
    assert "h264" in probe.stderr and "yuv420p" in probe.stderr and "64x48" in probe.stderr


def test_overlay_rings_the_joints_the_attack_moved_and_keeps_the_body_visible(tmp_path):
    camera = Camera.from_fov(160, 120, 70.0, fps=10)
    camera.save(tmp_path / "v.camera.json")
    grey = np.full((120, 160, 3), 128, np.uint8)
    encode_h264([grey] * 3, tmp_path / "v.mp4", fps=10)
    rng = np.random.default_rng(4)
    clean = _clip(rng, 3, 1)
    clean[:2] *= 0.2
    perturbed = clean.copy()
    perturbed[0, :, 15] += 0.05  # the left foot moved 5 cm; everything else within 1 cm
    perturbed[0, :, 3] += 0.004
    moved = overlay.moved_joints(perturbed, clean)
    assert moved.shape == (3, 1, 25) and moved[:, 0, 15].all() and moved.sum() == 3
    np.save(tmp_path / "p.npy", perturbed)
    np.save(tmp_path / "c.npy", clean)
    out = tmp_path / "o.mp4"
    args = [
        "--video",
        str(tmp_path / "v.mp4"),
        "--camera",
        str(tmp_path / "v.camera.json"),
        "--recovered",
        str(tmp_path / "p.npy"),
        "--color",
        "red",
        "--out",
        str(out),
        "--label",
        "perturbed",
    ]
    assert overlay.main([*args, "--source", str(tmp_path / "p.npy"), "--reference", str(tmp_path / "c.npy")]) == 0
    frame = list(iter_frames(out))[0].astype(int)
    yellow = (frame[..., 0] > 190) & (frame[..., 1] > 160) & (frame[..., 2] < 90)
    u, v = camera.project(perturbed[:, 0, 15, 0])
    ys, xs = np.nonzero(yellow)
    assert ys.size and np.hypot(xs - u, ys - v).min() < 8  # a ring around the moved foot
    # semi-transparent: no drawn pixel is the pure overlay red
    pure = (frame[..., 0] > 215) & (frame[..., 1] < 70) & (frame[..., 2] < 70)
    assert not pure[20:].any()
    # the label sits on a dark box (legible on any background)
    assert frame[2:12, 40:60].mean() < 90
    assert overlay.main([*args, "--reference", str(tmp_path / "missing.npy")]) == 2
