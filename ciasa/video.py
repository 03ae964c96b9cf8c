"""Video in and out for every stage: one reader, one prober, one H.264 encoder.

The renderer encodes its PNG frames here, the pose extractor decodes here, and the
report re-encodes its overlays here, so all three agree on what a frame is and every
video the report shows plays in a browser: H.264 in yuv420p, even frame sizes, the
``moov`` atom at the front. Encoding uses the ffmpeg binary that ``imageio-ffmpeg``
ships (no system ffmpeg needed); decoding uses OpenCV.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.io import atomic_path


class VideoError(BadInput):
    """A video that is missing, unreadable or inconsistent with its side files (bad input)."""


class EncodeError(RuntimeError):
    """ffmpeg failed to write a video (the work failed, not the input)."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    frame_count: int  # the container's claim; the frames actually decoded may differ


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# ---------------------------------------------------------------------- reading
def probe(path: str | Path) -> VideoInfo:
    """Open ``path`` once to read its size, rate and claimed frame count."""
    import cv2

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


def video_fps(path: str | Path, default: float = 30.0) -> float:
    """The container's frame rate, or ``default`` when it states none."""
    fps = probe(path).fps
    return fps if np.isfinite(fps) and fps > 0 else default


def iter_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decoded frames of ``path`` as RGB uint8 arrays (H, W, 3), in order."""
    import cv2

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


def read_all(path: str | Path) -> np.ndarray:
    """Every frame of ``path`` as one ``(T, H, W, 3)`` uint8 array (small videos: tests, checks)."""
    frames = list(iter_frames(path))
    if not frames:
        raise VideoError(f"{path}: no frame could be decoded")
    return np.stack(frames)


# ---------------------------------------------------------------------- writing
_H264_ARGS = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]


def encode_png_frames(
    frames_dir: str | Path, out: str | Path, fps: float, crf: int = 18, pattern: str = "%06d.png"
) -> None:
    """Encode ``frames_dir/000001.png``... to ``out`` (the renderer's frames, encoded once).

    Writes ``out`` directly; callers give a temporary path and rename (atomic outputs).
    A full disk raises ``OSError(ENOSPC)`` so that it is reported as such, not as an
    encoder failure.
    """
    cmd = [
        ffmpeg_exe(),
        "-y",
        "-v",
        "error",
        "-framerate",
        f"{fps:g}",
        "-start_number",
        "1",
        "-i",
        str(Path(frames_dir) / pattern),
        *_H264_ARGS,
        "-crf",
        str(crf),
        "-preset",
        "medium",
        "-r",
        f"{fps:g}",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        _raise_encode_error(proc.stderr, f"ffmpeg failed to encode {frames_dir} to {out}", out)


def encode_h264(frames: Iterable[np.ndarray], path: str | Path, fps: float = 30.0, crf: int = 23) -> int:
    """Encode RGB uint8 frames to a browser-playable MP4, atomically; returns the frame count.

    Odd frame sizes are padded by one pixel (yuv420p needs even sizes).
    """
    path = Path(path)
    count = 0
    proc: subprocess.Popen | None = None
    size: tuple[int, int] | None = None
    with atomic_path(path, suffix=".mp4") as tmp:
        try:
            for frame in frames:
                frame = _even(np.ascontiguousarray(frame, dtype=np.uint8), path)
                if proc is None:
                    size = (frame.shape[1], frame.shape[0])
                    proc = _raw_encoder(tmp, size, fps, crf)
                elif (frame.shape[1], frame.shape[0]) != size:
                    raise ValueError(f"{path}: frame {count} is {frame.shape[1]}x{frame.shape[0]}, expected {size}")
                try:
                    proc.stdin.write(frame.tobytes())
                except BrokenPipeError:
                    break  # ffmpeg died; its stderr says why, below
                count += 1
            if proc is None:
                raise ValueError(f"{path}: no frames to encode")
        finally:
            if proc is not None:
                proc.stdin.close()
                stderr = proc.stderr.read()
                if proc.wait() != 0:
                    _raise_encode_error(stderr, f"ffmpeg failed to encode {path}", path)
    return count


def _raw_encoder(out: Path, size: tuple[int, int], fps: float, crf: int) -> subprocess.Popen:
    # Not imageio_ffmpeg.write_frames: it is as fast (benchmarks/video_write.py: same ffmpeg CPU
    # time, same bytes) but never reads ffmpeg's exit status (a failed encode returns quietly,
    # leaving an empty file we would rename into place) and does not capture its stderr (the
    # disk-full and failure messages above need it).
    cmd = [
        ffmpeg_exe(),
        "-y",
        "-v",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{size[0]}x{size[1]}",
        "-framerate",
        f"{fps:g}",
        "-i",
        "-",
        *_H264_ARGS,
        "-crf",
        str(crf),
        "-preset",
        "veryfast",
        str(out),
    ]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _even(frame: np.ndarray, path: Path) -> np.ndarray:
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"{path}: frames must be (H, W, 3) RGB, got {frame.shape}")
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def _raise_encode_error(stderr: bytes, what: str, out: str | Path) -> None:
    text = (stderr or b"").decode(errors="replace").strip()
    if "No space left on device" in text:
        raise OSError(errno.ENOSPC, "No space left on device", str(out))
    tail = " | ".join(text.splitlines()[-3:])
    raise EncodeError(f"{what}: {tail}")
