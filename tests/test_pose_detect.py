"""Re-detection on crops: boxes, crops and the mapping of crop landmarks back to the frame."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from pose_extract.detect import CROP_INPUT, CROP_MIN, _crop, _crop_boxes, _row, _scan_boxes


def fake_result(points: np.ndarray) -> SimpleNamespace:
    """A MediaPipe-like result with 33 landmarks at normalised (x, y, z) ``points``."""
    lm = [SimpleNamespace(x=x, y=y, z=z, visibility=0.9, presence=0.8) for x, y, z in points]
    world = [SimpleNamespace(x=0.1 * i, y=0.0, z=0.0) for i in range(33)]
    return SimpleNamespace(
        pose_landmarks=SimpleNamespace(landmark=lm), pose_world_landmarks=SimpleNamespace(landmark=world)
    )


def test_crop_landmarks_map_back_to_frame_pixels():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0.2, 0.8, size=(33, 3))
    box = (100.0, 40.0, 120.0, 120.0)
    image, image_z, world, vis, pres = _row(fake_result(pts), box, width=320)
    np.testing.assert_allclose(np.asarray(image), np.stack([100 + 120 * pts[:, 0], 40 + 120 * pts[:, 1]], 1))
    # MediaPipe's z is in units of its input's width: a crop of 120 px out of 320 shrinks it
    np.testing.assert_allclose(image_z, pts[:, 2] * 120 / 320)
    assert world[3] == (0.1 * 3, 0.0, 0.0) and vis[0] == 0.9 and pres[0] == 0.8
    # the whole frame is the box (0, 0, W, H): pixels as before re-detection existed
    image, image_z, *_ = _row(fake_result(pts), (0.0, 0.0, 320.0, 240.0), width=320)
    np.testing.assert_allclose(np.asarray(image), pts[:, :2] * [320, 240])
    np.testing.assert_allclose(image_z, pts[:, 2])
    missing = SimpleNamespace(pose_landmarks=None, pose_world_landmarks=None)
    assert _row(missing, box, 320) is None


def test_crop_is_the_box_enlarged_with_zeros_outside_the_frame():
    frame = np.zeros((240, 320, 3), dtype=np.uint8)
    frame[100:110, 150:160] = 255  # a white square
    (box,) = _crop_boxes((140.0, 90.0, 30.0, 30.0), frame.shape)
    x0, y0, side, side2 = box
    assert side == side2 == max(2.0 * 30, CROP_MIN) and all(float(v).is_integer() for v in box)
    assert abs(x0 + side / 2 - 155) <= 0.5 and abs(y0 + side / 2 - 105) <= 0.5  # centred on the last box
    crop = _crop(frame, box)
    assert crop.shape == (CROP_INPUT, CROP_INPUT, 3)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    scale = CROP_INPUT / side
    # the square lands where the box maps it
    assert abs(xs.mean() - (155 - x0) * scale) < 2 and abs(ys.mean() - (105 - y0) * scale) < 2
    # a box hanging over the frame's corner: the outside is black, nothing raises
    corner = _crop(np.full((240, 320, 3), 200, dtype=np.uint8), (-48.0, -48.0, 96.0, 96.0))
    assert corner[0, 0].tolist() == [0, 0, 0] and corner[-1, -1].tolist() == [200, 200, 200]


def test_scan_windows_cover_the_frame():
    boxes = _scan_boxes((240, 320, 3))
    covered = np.zeros((240, 320), dtype=bool)
    for x, y, w, h in boxes:
        assert w == h == 120 and x >= 0 and y >= 0 and x + w <= 320 and y + h <= 240
        covered[int(y) : int(y + h), int(x) : int(x + w)] = True
    assert covered.all() and len(boxes) == 15


def test_start_up_notices_are_dropped_errors_kept(capfd):
    import os

    from pose_extract.detect import native_log_filter

    with native_log_filter():
        os.write(2, b"W0000 00:00:1.0 123 inference_feedback_manager.cc:114] Feedback manager requires...\n")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"E0000 00:00:1.0 123 calculator_graph.cc:1] a real error\n")
        os.write(2, b"something else entirely\n")
    err = capfd.readouterr().err
    assert "a real error" in err and "something else entirely" in err
    assert "Feedback manager" not in err and "XNNPACK" not in err


def test_an_error_printed_just_before_an_abort_still_shows():
    """The filter runs in its own process: a fatal line followed by abort() is not lost."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import os\nfrom pose_extract.detect import native_log_filter\nwith native_log_filter():\n"
        "    os.write(2, b'W0000 notice\\n')\n    os.write(2, b'F0000 Check failed: fatal\\n')\n    os.abort()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "F0000 Check failed: fatal" in proc.stderr and "W0000 notice" not in proc.stderr
