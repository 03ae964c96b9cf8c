"""Read and write the report's videos.

Browsers (Chromium in particular) play H.264 only in yuv420p with even frame sizes and
the ``moov`` atom at the front; every video the report shows is encoded here with
exactly that, through the ffmpeg binary that ``imageio-ffmpeg`` ships.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ciasa.io import atomic_path


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """RGB uint8 frames (H, W, 3) of a video file: the pose extractor's reader, so the
    overlays see exactly the frames MediaPipe saw."""
    from pose_extract.video import iter_frames

    return iter_frames(path)


def video_fps(path: str | Path, default: float = 30.0) -> float:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
    return fps if np.isfinite(fps) and fps > 0 else default


def encode_h264(frames: Iterable[np.ndarray], path: str | Path, fps: float = 30.0, crf: int = 23) -> int:
    """Encode RGB uint8 frames to a browser-playable MP4, atomically; returns the frame count.

    Odd frame sizes are padded by one pixel (yuv420p needs even sizes).
    """
    import imageio_ffmpeg

    path = Path(path)
    count = 0
    writer = None
    with atomic_path(path, suffix=".mp4") as tmp:
        try:
            for frame in frames:
                frame = np.ascontiguousarray(frame, dtype=np.uint8)
                if frame.ndim != 3 or frame.shape[2] != 3:
                    raise ValueError(f"{path}: frames must be (H, W, 3) RGB, got {frame.shape}")
                h, w = frame.shape[:2]
                if h % 2 or w % 2:
                    frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
                if writer is None:
                    size = (frame.shape[1], frame.shape[0])
                    writer = imageio_ffmpeg.write_frames(
                        str(tmp),
                        size,
                        fps=fps,
                        codec="libx264",
                        pix_fmt_out="yuv420p",
                        macro_block_size=1,
                        output_params=["-crf", str(crf), "-preset", "veryfast", "-movflags", "+faststart"],
                    )
                    writer.send(None)
                elif (frame.shape[1], frame.shape[0]) != size:
                    raise ValueError(f"{path}: frame {count} is {frame.shape[1]}x{frame.shape[0]}, expected {size}")
                writer.send(frame)
                count += 1
            if writer is None:
                raise ValueError(f"{path}: no frames to encode")
        finally:
            if writer is not None:
                writer.close()
    return count


def message_card(text: str, width: int, height: int) -> np.ndarray:
    """A dark frame with ``text`` on it (the video shown for a clip whose render failed)."""
    import cv2

    frame = np.full((height, width, 3), 40, dtype=np.uint8)
    scale = max(0.3, min(width, height) / 400.0)
    y = int(height * 0.3)
    for line in _wrap(text, max(10, int(width / (scale * 20)))):
        cv2.putText(frame, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (240, 90, 90), 1, cv2.LINE_AA)
        y += int(30 * scale) + 4
    return frame


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for words in (p.split() for p in text.splitlines()):
        line = ""
        for word in words:
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
    return lines[:12]
