"""Failure records: how a per-clip stage says "this clip failed here" so the report can count it.

A farm run over hundreds of clips must not stop at the first clip Blender or the pose
estimator cannot handle, nor silently shrink the report's denominators. A failed stage
writes its record file (``"status": "failed"``, the error, the exit code, the tail of its
output) and explicit placeholder outputs (a video card saying what failed, a camera file,
a one-frame zero skeleton), so the jobs downstream still run, the collector leaves the clip
out of the classified set and the report lists it with the reason. ``pipeline.guard``
writes them for a command that failed; ``python -m pose_extract clip`` writes them itself
for each video of a clip, so one condition's failure leaves the clip's others standing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ciasa.io import atomic_path, atomic_save_npy, atomic_write_json

FAILED = "failed"


def write_failure(
    record: Path,
    placeholders: Sequence[Path],
    stage: str,
    error: str,
    returncode: int,
    tail: list[str],
    seconds: float,
    size: tuple[int, int] = (320, 240),
    hfov: float = 70.0,
    fps: float = 30.0,
) -> None:
    """Write ``record`` and a placeholder for each of ``placeholders`` (by its kind of file);
    ``size``, ``hfov`` and ``fps`` shape a placeholder video and camera file, when there is one."""
    from ciasa.camera import Camera
    from ciasa.video import encode_h264

    for path in placeholders:
        name = path.name
        if name.endswith(".mp4"):
            card = message_card(f"{stage} FAILED\n{error}", *size)
            encode_h264([card] * int(fps), path, fps=fps)
        elif name.endswith(".camera.json"):
            Camera.from_fov(size[0], size[1], hfov, fps).save(path)
        elif name.endswith(".npy"):
            # One zero frame: never valid skeleton data; the record says why.
            atomic_save_npy(path, np.zeros((3, 1, 25, 1), dtype=np.float32))
        elif name.endswith(".npz"):
            with atomic_path(path, suffix=".npz") as tmp:
                np.savez_compressed(tmp, failed=np.array(True))
        elif name.endswith(".json"):
            atomic_write_json(path, {"status": FAILED, "stage": stage, "error": error})
        else:
            raise ValueError(f"{path}: no failure placeholder for this kind of file")
    atomic_write_json(
        record,
        {
            "status": FAILED,
            "stage": stage,
            "error": error,
            "returncode": returncode,
            "seconds": round(seconds, 3),
            "log_tail": tail,
        },
    )


def is_failed(record: str | Path) -> bool:
    """True when ``record`` (a render/pose JSON) is the record of a failed run (:func:`write_failure`)."""
    path = Path(record)
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("status") == FAILED
    except (json.JSONDecodeError, AttributeError):
        return False


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
