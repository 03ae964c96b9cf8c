"""The report's skeleton strip drawn with OpenCV (pipeline.strip, issue 25): what it shows,
where, in which colours, and its CLI's bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline import strip
from render.demo_motion import waving_clip

REPO = Path(__file__).resolve().parents[1]


def _clip(shift: float = 0.0, frames: int = 20) -> np.ndarray:
    clip = waving_clip(frames).astype(np.float32)
    clip[0, :, 12:20] += shift  # the legs moved sideways
    return clip


def _has_colour(image: np.ndarray, bgr: tuple[int, int, int], tol: int = 40) -> bool:
    return bool((np.abs(image.astype(int) - np.array(bgr)).max(axis=-1) < tol).any())


def _row(image: np.ndarray, r: int) -> np.ndarray:
    y0 = strip.TOP + r * (strip.PANEL_H + strip.GAP)
    return image[y0 : y0 + strip.PANEL_H, strip.LEFT :]


def test_every_condition_is_drawn_in_its_colour_in_both_rows():
    sources = {"clean": _clip(), "control": _clip(0.05), "perturbed": _clip(-0.05)}
    image = strip.strip_image(sources, dict(sources), "S001C001P001R001A023", frames=4)
    assert image.shape == (
        strip.TOP + 2 * (strip.PANEL_H + strip.GAP) + 2,
        strip.LEFT + 4 * (strip.PANEL_W + strip.GAP),
        3,
    )
    for r in (0, 1):
        for name in sources:
            assert _has_colour(_row(image, r), strip.STYLES[name][0]), (r, name)


def test_a_missing_recovered_skeleton_leaves_its_row_empty():
    sources = {"clean": _clip(), "perturbed": _clip(0.05)}
    image = strip.strip_image(sources, {"clean": None, "perturbed": None}, frames=3)
    assert _has_colour(_row(image, 0), strip.STYLES["clean"][0])
    bottom = _row(image, 1)
    assert not _has_colour(bottom, strip.STYLES["clean"][0]) and not _has_colour(bottom, strip.STYLES["perturbed"][0])


def test_frames_spread_over_the_active_frames():
    clip = np.concatenate([_clip(frames=10), np.zeros((3, 6, 25, 1), np.float32)], axis=1)
    assert strip.active_frames(clip) == 10
    assert strip.strip_times([clip], 4).tolist() == [0, 3, 6, 9]


def test_mirrored_like_the_image():
    """Kinect x points to the sensor's left: a body at +x is drawn on the image's left."""
    left = _clip()
    left[0] += 0.5
    panel = np.full((100, 100, 3), 255, np.uint8)
    strip.draw_body(panel, left[:, 0, :, 0], np.array([0.0, float(left[1, 0].mean())]), 1.0, (0, 0, 0), "solid")
    cols = np.flatnonzero((panel < 128).all(axis=-1).any(axis=0))
    assert cols.mean() < 50


def test_cli_writes_the_png_and_skips_a_failed_extraction(tmp_path):
    paths = {}
    for name, shift in (("clean", 0.0), ("perturbed", 0.05)):
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], _clip(shift))
    (tmp_path / "perturbed.json").write_text(json.dumps({"status": "failed", "stage": "pose", "error": "x"}))
    out = tmp_path / "figures" / "clip.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.strip",
            "--source",
            f"clean={paths['clean']}",
            "--source",
            f"perturbed={paths['perturbed']}",
            "--recovered",
            f"clean={paths['clean']}",
            "--recovered",
            f"perturbed={paths['perturbed']}",
            "--pose-info",
            f"perturbed={tmp_path / 'perturbed.json'}",
            "--title",
            "clip",
            "--frames",
            "3",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    image = cv2.imread(str(out))
    assert _has_colour(_row(image, 1), strip.STYLES["clean"][0])
    assert not _has_colour(_row(image, 1), strip.STYLES["perturbed"][0])  # its extraction failed


@pytest.mark.parametrize(
    "args, message",
    [
        (["--source", "clean"], "CONDITION=PATH"),
        (["--source", "clean=X.npy", "--recovered", "control=Y.npy"], "without a --source"),
        (["--source", "clean=MISSING.npy"], "MISSING.npy"),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "s.png"
    args = [a.replace("X.npy", str(tmp_path / "x.npy")) for a in args]
    np.save(tmp_path / "x.npy", _clip())
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.strip", *args, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and message in proc.stderr
    assert not out.exists()
