"""PNG frames to an H.264 video with ffmpeg-python and imageio-ffmpeg's ffmpeg binary."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


class EncodeError(RuntimeError):
    pass


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def encode_frames(frames_dir: Path, out: Path, fps: float, crf: int = 18, pattern: str = "%06d.png") -> None:
    """Encode ``frames_dir/000001.png``... to ``out`` (H.264, yuv420p, ``fps``).

    Writes ``out`` directly; callers give a temporary path and rename (atomic outputs).
    """
    import ffmpeg

    stream = ffmpeg.input(str(Path(frames_dir) / pattern), framerate=fps, start_number=1)
    stream = ffmpeg.output(stream, str(out), vcodec="libx264", pix_fmt="yuv420p", crf=crf,
                           preset="medium", r=fps, movflags="+faststart", f="mp4")
    try:
        ffmpeg.run(stream, cmd=ffmpeg_exe(), overwrite_output=True, quiet=True)
    except ffmpeg.Error as err:
        tail = (err.stderr or b"").decode(errors="replace").strip().splitlines()[-3:]
        raise EncodeError(f"ffmpeg failed to encode {frames_dir} to {out}: {' | '.join(tail)}") from None


def probe_video(path: Path) -> dict:
    """Frame count, size and frame rate of a video, by decoding it (for tests and checks)."""
    import subprocess

    import numpy as np

    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise EncodeError(f"{path}: ffmpeg cannot decode it: {proc.stderr.decode(errors='replace')[-300:]}")
    info = subprocess.run([ffmpeg_exe(), "-i", str(path)], capture_output=True, check=False).stderr.decode()
    import re

    m = re.search(r"Video: .*?, (\d+)x(\d+)", info)
    fps = re.search(r"(\d+(?:\.\d+)?) fps", info)
    if not m:
        raise EncodeError(f"{path}: no video stream found")
    w, h = int(m.group(1)), int(m.group(2))
    frames = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, h, w, 3)
    return {"width": w, "height": h, "frames": frames.shape[0], "fps": float(fps.group(1)) if fps else None,
            "pixels": frames}
