"""Reading a video's frames with OpenCV, with errors that name the file and the problem."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)


class VideoError(ValueError):
    """A video that is missing, unreadable or inconsistent with its side files."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    frame_count: int  # the container's claim; the frames actually decoded may differ


def probe(path: str | Path) -> VideoInfo:
    """Open ``path`` once to read its size, rate and claimed frame count."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: video file not found")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(f"{path}: OpenCV cannot open this file as a video")
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    if width <= 0 or height <= 0:
        raise VideoError(f"{path}: the video has no readable frames (size {width}x{height})")
    return VideoInfo(path, width, height, fps, count)


def iter_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decoded frames of ``path`` as RGB uint8 arrays (H, W, 3), in order."""
    path = Path(path)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: OpenCV cannot open this file as a video")
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
