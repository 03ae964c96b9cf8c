"""Running MediaPipe Pose over a video's frames.

The legacy ``mp.solutions.pose`` graph of mediapipe 0.10.21 is used because that wheel
ships its ``model_complexity=1`` models (the other complexities try to download theirs
and fail offline). One tracker per video: with ``static_image_mode=False`` MediaPipe
runs the person detector only until it has a pose, then tracks it from frame to frame,
which is both faster and steadier than detecting every frame afresh. The rest of
``pose_extract`` sees it through :mod:`pose_extract.estimators.mediapipe`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator

import numpy as np

from pose_extract.estimator import Detections
from pose_extract.landmarks import NUM_LANDMARKS

log = logging.getLogger(__name__)


# Re-detection on crops. MediaPipe's person detector sees the whole frame shrunk to 224 px,
# so at 320x240 a person under ~50 px tall (beyond ~6 m with a 70 degree lens) is not
# found at all, and a tracker that lost someone walking away cannot find them again. A
# crop around where the person was, enlarged to CROP_INPUT px, makes them 2-3 times
# larger for the detector (docs/pose_extract.md: 40 px tall people found in every frame).
CROP_INPUT = 256  # px, side of the enlarged square crop
CROP_MARGIN = 2.0  # crop side / the last landmarks' larger bounding-box side
CROP_MIN = 96  # px, smallest crop side (a few pixels of person need context)
SCAN_EVERY = 8  # with no earlier box, scan the frame in windows every this many missed frames


def detect(
    frames: Iterable[np.ndarray],
    min_detection_confidence: float = 0.5,
    min_tracking_confidence: float = 0.5,
    smooth: bool = True,
    progress=None,
    redetect: bool = True,
) -> Detections:
    """Run one MediaPipe Pose tracker over RGB frames (H, W, 3) uint8.

    With ``redetect``, a frame the tracker misses is tried again on an enlarged crop: around
    the last detection's box when there is one, else (every :data:`SCAN_EVERY` missed
    frames) in half-height windows over the frame. ``progress`` is an optional callable
    invoked once per frame (e.g. ``tqdm.update``). The :class:`Detections` hold BlazePose's
    33 landmarks: ``image_z`` MediaPipe's relative depth in units of the image width,
    ``world`` metres, hip-centred, MediaPipe's axes (x right, y down, z away).
    """
    import mediapipe as mp  # imported here: ~1 s, and only this module needs it

    rows: list[tuple | None] = []
    redetected: list[bool] = []
    start = time.perf_counter()
    frames = iter(frames)
    settings = dict(model_complexity=1, enable_segmentation=False, min_detection_confidence=min_detection_confidence)
    with native_log_filter():  # the graph logs its start-up notices from C++ at construction and on frame 1
        pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            smooth_landmarks=smooth,
            min_tracking_confidence=min_tracking_confidence,
            **settings,
        )
        first = next(frames, None)
        first_result = None if first is None else pose.process(np.ascontiguousarray(first))
    crop_pose = None
    last_box: tuple[float, float, float, float] | None = None
    missed_without_box = 0
    try:
        for i, frame in enumerate(frames if first is None else _chain(first, frames)):
            result = first_result if i == 0 else pose.process(np.ascontiguousarray(frame))
            row = _row(result, (0.0, 0.0, frame.shape[1], frame.shape[0]), frame.shape[1])
            found_on_crop = False
            if row is None and redetect:
                if last_box is None:
                    missed_without_box += 1
                windows = (
                    _crop_boxes(last_box, frame.shape)
                    if last_box is not None
                    else (_scan_boxes(frame.shape) if missed_without_box % SCAN_EVERY == 1 else [])
                )
                for box in windows:
                    if crop_pose is None:  # its graph, too, logs start-up notices on creation and first use
                        with native_log_filter():
                            crop_pose = mp.solutions.pose.Pose(static_image_mode=True, **settings)
                            result = crop_pose.process(_crop(frame, box))
                    else:
                        result = crop_pose.process(_crop(frame, box))
                    row = _row(result, box, frame.shape[1])
                    if row is not None:
                        found_on_crop = True
                        break
            if row is not None:
                last_box = _box(row[0])
            rows.append(row)
            redetected.append(found_on_crop)
            if progress is not None:
                progress(1)
    finally:
        pose.close()
        if crop_pose is not None:
            crop_pose.close()
    return _stack(rows, redetected, time.perf_counter() - start)


Row = tuple[list, list, list, list, list]


def _row(result, box: tuple[float, float, float, float], width: int) -> Row | None:
    """One frame's landmarks in full-frame pixels from a result on the region ``box``
    (x0, y0, w, h) of the frame: (image, image_z, world, visibility, presence)."""
    if result.pose_landmarks is None or result.pose_world_landmarks is None:
        return None
    x0, y0, bw, bh = box
    lms = result.pose_landmarks.landmark
    return (
        [(x0 + lm.x * bw, y0 + lm.y * bh) for lm in lms],
        [lm.z * bw / width for lm in lms],  # MediaPipe's z is in units of its input's width
        [(lm.x, lm.y, lm.z) for lm in result.pose_world_landmarks.landmark],  # metric: crop-independent
        [lm.visibility for lm in lms],
        [lm.presence for lm in lms],
    )


def _box(image: list) -> tuple[float, float, float, float]:
    uv = np.asarray(image)
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])


def _crop_boxes(
    last: tuple[float, float, float, float], shape: tuple[int, ...]
) -> list[tuple[float, float, float, float]]:
    """The square region around the last box, :data:`CROP_MARGIN` times its larger side."""
    x, y, w, h = last
    side = min(max(CROP_MARGIN * max(w, h), CROP_MIN), float(min(shape[0], shape[1])))
    cx, cy, side = x + w / 2, y + h / 2, float(round(side))
    return [(float(round(cx - side / 2)), float(round(cy - side / 2)), side, side)]  # whole pixels, as cropped


def _scan_boxes(shape: tuple[int, ...]) -> list[tuple[float, float, float, float]]:
    """Half-height square windows over the whole frame, overlapping by half."""
    height, width = shape[:2]
    side = min(height, width) // 2
    xs = np.unique(np.clip(np.arange(0, width, side // 2), 0, width - side))
    ys = np.unique(np.clip(np.arange(0, height, side // 2), 0, height - side))
    return [(float(x), float(y), float(side), float(side)) for y in ys for x in xs]


def _crop(frame: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The region ``box`` of ``frame`` (zero outside it) enlarged to CROP_INPUT x CROP_INPUT."""
    import cv2

    x0, y0, side, _ = (int(round(v)) for v in box)
    side = max(side, 1)
    h, w = frame.shape[:2]
    canvas = np.zeros((side, side, 3), dtype=np.uint8)
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if xb > xa and yb > ya:
        canvas[ya - y0 : yb - y0, xa - x0 : xb - x0] = frame[ya:yb, xa:xb]
    return np.ascontiguousarray(cv2.resize(canvas, (CROP_INPUT, CROP_INPUT), interpolation=cv2.INTER_LINEAR))


def _stack(rows: list[Row | None], redetected: list[bool], seconds: float) -> Detections:
    t = len(rows)
    zeros = (
        [(0.0, 0.0)] * NUM_LANDMARKS,
        [0.0] * NUM_LANDMARKS,
        [(0.0, 0.0, 0.0)] * NUM_LANDMARKS,
        [0.0] * NUM_LANDMARKS,
        [0.0] * NUM_LANDMARKS,
    )
    filled = [r if r is not None else zeros for r in rows]

    def part(k: int, shape: tuple[int, ...]) -> np.ndarray:
        return np.asarray([r[k] for r in filled], dtype=np.float64).reshape((t, NUM_LANDMARKS) + shape)

    return Detections(
        image=part(0, (2,)),
        image_z=part(1, ()),
        world=part(2, (3,)),
        visibility=part(3, ()),
        presence=part(4, ()),
        detected=np.asarray([r is not None for r in rows], dtype=bool),
        seconds=seconds,
        redetected=np.asarray(redetected, dtype=bool),
    )


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


# What MediaPipe's C++ side prints on every start-up, whatever the input: TFLite's delegate
# notice, absl's "before InitializeLog" banner and glog-style info/warning lines (I0000 /
# W0000 ..., e.g. "Feedback manager requires a model with a single signature"). Errors
# (E..../F.... lines) and anything else are passed on.
NOTICE_PATTERN = r"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl::InitializeLog|[IW][0-9]{4} )"


@contextlib.contextmanager
def native_log_filter() -> Iterator[None]:
    """Route what native code writes to file descriptor 2 meanwhile through a filter that
    drops MediaPipe's routine start-up notices and passes every other line on at once.

    The filter is a separate process (``grep -v``), so that an error MediaPipe prints just
    before aborting the whole process still reaches the terminal. With debug logging
    (``--verbose``), or without ``grep``, nothing is filtered. Environment switches
    (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL) do not reach these lines in mediapipe
    0.10.21: absl writes them before its logging is initialised.
    """
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        grep = subprocess.Popen(
            ["grep", "-v", "-E", "--line-buffered", NOTICE_PATTERN],
            stdin=subprocess.PIPE,
            stdout=saved,
            stderr=subprocess.DEVNULL,
        )
    except OSError:  # no grep: leave the notices be
        os.close(saved)
        yield
        return
    os.dup2(grep.stdin.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        grep.stdin.close()
        grep.wait()
