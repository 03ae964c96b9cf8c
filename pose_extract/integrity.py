"""Is the video whole? Decoded frames against what the container and the renderer promise.

A video cut short (a copy interrupted, a disk that filled up while ffmpeg wrote) often
still opens: with its index at the front (``+faststart``, as our encoder writes it) the
container keeps claiming every frame while only the first ones decode. Extracting it
would give a short skeleton that looks like a finished clip, so the decoded count is
checked against both claims after decoding.
"""

from __future__ import annotations

from pathlib import Path

from ciasa.video import VideoError, VideoInfo

# OpenCV's frame count is read from the container's index, or estimated from duration x
# rate for formats without one; an estimate may be off by a frame or two, a cut is not.
COUNT_TOLERANCE_FRAMES = 2
COUNT_TOLERANCE_FRACTION = 0.01


class TruncatedVideoError(VideoError):
    """Fewer frames decode than the container or the renderer's record says it holds."""


def check_frame_count(
    video: str | Path, decoded: int, info: VideoInfo, promised: int | None, record_name: str = "render.json"
) -> None:
    """Raise :class:`TruncatedVideoError` naming ``video`` when ``decoded`` frames fall short.

    ``info.frame_count`` is the container's claim (0 when it makes none); ``promised`` the
    renderer's record (``CLIP.render.json``), which must match exactly.
    """
    video = Path(video)
    if decoded == 0:
        raise TruncatedVideoError(f"{video}: no frame could be decoded")
    if promised is not None and decoded != promised:
        raise TruncatedVideoError(
            f"{video}: decoded {decoded} frames but {record_name} records {promised}: truncated or mismatched video"
        )
    claimed = info.frame_count
    tolerance = max(COUNT_TOLERANCE_FRAMES, round(COUNT_TOLERANCE_FRACTION * claimed))
    if claimed > 0 and decoded < claimed - tolerance:
        raise TruncatedVideoError(
            f"{video}: only {decoded} of the {claimed} frames its container declares could be decoded: "
            "the file is truncated or damaged"
        )
