"""Run one per-clip stage (render, pose extraction) so that its failure becomes a report entry.

A render farm run over hundreds of clips should not stop at the first clip Blender or
MediaPipe cannot handle, and the report must not silently shrink its denominators.
``--on-failure record`` runs the command; when it fails, the guard writes the stage's
record file with ``"status": "failed"``, the exit code and the tail of its output, and
writes explicit failure outputs for the rest (a video card saying the render failed,
an empty skeleton), so downstream jobs run, the collector leaves the clip out of the
classified set, and the report lists it with the reason. ``--on-failure stop`` passes
the failure through (the Snakemake job fails).

To retry a recorded failure: ``python -m pipeline.redo CLIP`` (see docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ciasa import cli
from ciasa.io import atomic_path, atomic_save_npy, atomic_write_json, read_json

log = logging.getLogger(__name__)

FAILED = "failed"
# Exit codes of a command stopped by Ctrl-C or a kill: not a failure of the clip.
INTERRUPTED = frozenset({cli.EXIT_INTERRUPTED, 143, -2, -15})


def run_guarded(
    command: Sequence[str],
    record: Path,
    placeholders: Sequence[Path],
    stage: str,
    on_failure: str = "record",
    size: tuple[int, int] = (320, 240),
    hfov: float = 70.0,
    fps: float = 30.0,
) -> int:
    """Run ``command``; on failure with ``on_failure='record'`` write failure outputs, return 0."""
    start = time.perf_counter()
    tail: deque[str] = deque(maxlen=40)
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        tail.append(line.rstrip("\n"))
    rc = proc.wait()
    if rc in INTERRUPTED:
        log.error("%s interrupted (exit code %d): nothing recorded, a rerun redoes it", stage, rc)
        return cli.EXIT_INTERRUPTED
    missing = [p for p in (record, *placeholders) if not p.exists()]
    if rc == 0 and not missing:
        return 0
    if rc == 0:
        reason = f"exit code 0 but outputs missing: {', '.join(map(str, missing))}"
    else:
        reason = f"exit code {rc}"
    error = _last_error(tail) or reason
    log.error("%s failed (%s): %s", stage, reason, error)
    if on_failure != "record":
        return rc or 1
    write_failure(record, placeholders, stage, error, rc, list(tail), time.perf_counter() - start, size, hfov, fps)
    log.warning("recorded the failure in %s; the clip will appear as failed in the report", record)
    return 0


def write_failure(
    record: Path,
    placeholders: Sequence[Path],
    stage: str,
    error: str,
    returncode: int,
    tail: list[str],
    seconds: float,
    size: tuple[int, int],
    hfov: float,
    fps: float,
) -> None:
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


def read_record(path: str | Path) -> dict:
    """A stage's JSON record (render, pose, collect, attack), the error naming the file."""
    return read_json(path)


def is_failed(record: str | Path) -> bool:
    """True when ``record`` (a render/pose JSON) was written by the guard for a failed run."""
    path = Path(record)
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("status") == FAILED
    except (json.JSONDecodeError, AttributeError):
        return False


def _last_error(lines: Sequence[str]) -> str:
    """The most telling line of a failed run: the last 'error'/'Error' line, else the last line."""
    for line in reversed(lines):
        low = line.lower()
        if "error" in low or "exception" in low:
            return line.strip()[:400]
    return lines[-1].strip()[:400] if lines else ""


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pipeline.guard",
        "Run a per-clip stage; on failure either fail (stop) or record the failure (record) "
        "so the report can count it. Usage: python -m pipeline.guard [options] -- COMMAND ARGS",
        epilog="With --on-failure record, a failed command exits 0 once its failure is recorded; "
        "an interrupted one (exit 130, SIGINT, SIGTERM) is passed through and records nothing.",
    )
    p.add_argument("--stage", required=True, help="stage name for messages (render, pose)")
    p.add_argument("--record", required=True, help="the stage's JSON record (gets status: failed)")
    p.add_argument("--outputs", nargs="*", default=[], help="other declared outputs to write on failure")
    p.add_argument("--on-failure", choices=("record", "stop"), default="record",
                   help="record: write failure outputs and exit 0; stop: pass the failure through")
    p.add_argument("--size", type=cli.parse_wh, default=(320, 240), help="WxH of a failure video card")
    p.add_argument("--hfov", type=float, default=70.0, help="horizontal field of view of a failure camera file")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of a failure video card")
    cli.add_logging_flags(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    own, command = argv[:split], argv[split + 1 :]
    parser = build_parser()
    args = parser.parse_args(own)
    if not command:
        parser.error("no command: usage: python -m pipeline.guard [options] -- COMMAND ARGS")

    def work(a: argparse.Namespace) -> int:
        return run_guarded(command, Path(a.record), [Path(p) for p in a.outputs], a.stage, a.on_failure,
                           a.size, a.hfov, a.fps)

    return cli.run_main(work, args)


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


if __name__ == "__main__":
    raise SystemExit(main())
