"""Run one per-clip stage (render, pose extraction) so that its failure becomes a report entry.

A render farm run over hundreds of clips should not stop at the first clip Blender or
MediaPipe cannot handle, and the report must not silently shrink its denominators.
``--on-failure record`` runs the command; when it fails, the guard writes the stage's
record file with ``"status": "failed"``, the exit code and the tail of its output, and
writes explicit failure outputs for the rest (a video card saying the render failed,
an empty skeleton), so downstream jobs run, the collector leaves the clip out of the
classified set, and the report lists it with the reason. ``--on-failure stop`` passes
the failure through (the Snakemake job fails). A crash (the command died of an uncaught
exception, with its traceback: a bug, not the clip's fault) is never recorded as a failed
clip: it passes through either way.

To retry a recorded failure: ``python -m pipeline.redo CLIP`` (see docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from ciasa import cli
from ciasa.failure import FAILED, is_failed, message_card, write_failure
from ciasa.io import read_json

# the failure records' format lives in ciasa.failure (pose_extract writes them too); these names stay here
__all__ = ["FAILED", "is_failed", "message_card", "read_record", "run_guarded", "write_failure"]

log = logging.getLogger(__name__)

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
    signal_retries: int = 1,
) -> int:
    """Run ``command``; on failure with ``on_failure='record'`` write failure outputs, return 0.

    A command killed by a signal other than an interruption (SIGABRT, SIGSEGV: a native crash
    inside Blender or MediaPipe, not an error the clip causes) is run again up to
    ``signal_retries`` times before it counts as failed: such crashes were seen once in a
    demo run (2 of 24 renders, glibc "free(): corrupted unsorted chunks") and in none of 67
    reruns of those render jobs, so one retry keeps a transient crash from costing a clip."""
    start = time.perf_counter()
    tail: deque[str] = deque(maxlen=40)
    for attempt in range(signal_retries + 1):
        rc, crashed = _run_once(command, tail)
        if not (rc < 0 and rc not in INTERRUPTED and attempt < signal_retries):
            break
        log.warning(
            "%s died of signal %d (a native crash: %s); running it again (%d of %d)",
            stage,
            -rc,
            _last_error(tail) or "no message",
            attempt + 1,
            signal_retries,
        )
    if rc in INTERRUPTED:
        log.error("%s interrupted (exit code %d): nothing recorded, a rerun redoes it", stage, rc)
        return cli.EXIT_INTERRUPTED
    if rc != 0 and crashed:
        log.error(
            "%s crashed (exit code %d; the traceback is above): a bug, not a failure of the clip, so "
            "nothing is recorded",
            stage,
            rc,
        )
        return rc
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


def _run_once(command: Sequence[str], tail: deque[str]) -> tuple[int, bool]:
    """Run ``command`` once, passing its output on; its exit code and whether it crashed."""
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert proc.stdout is not None
    crashed = False
    for line in proc.stdout:
        sys.stdout.write(line)
        tail.append(line.rstrip("\n"))
        crashed = _crash_seen(line, crashed)
    return proc.wait(), crashed


def read_record(path: str | Path) -> dict:
    """A stage's JSON record (render, pose, collect, attack), the error naming the file."""
    return read_json(path)


def _crash_seen(line: str, crashed: bool) -> bool:
    """Whether the output so far ends in an uncaught exception: Python's traceback header
    not followed by the ``error:`` line that :func:`ciasa.cli.run_main` prints for bad input
    or failed work (``--verbose`` shows their tracebacks too), so the exception escaped."""
    if line.startswith("Traceback (most recent call last):"):
        return True
    if line.startswith(("error: ", "interrupted")):
        return False
    return crashed


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
    p.add_argument(
        "--on-failure",
        choices=("record", "stop"),
        default="record",
        help="record: write failure outputs and exit 0; stop: pass the failure through",
    )
    p.add_argument("--size", type=cli.parse_wh, default=(320, 240), help="WxH of a failure video card")
    p.add_argument("--hfov", type=float, default=70.0, help="horizontal field of view of a failure camera file")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of a failure video card")
    p.add_argument(
        "--signal-retries",
        type=cli.non_negative_int,
        default=1,
        help="run a command killed by a signal (a native crash: SIGABRT, SIGSEGV; not Ctrl-C or a kill) "
        "again up to this many times before it counts as failed",
    )
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
        return run_guarded(
            command,
            Path(a.record),
            [Path(p) for p in a.outputs],
            a.stage,
            a.on_failure,
            a.size,
            a.hfov,
            a.fps,
            a.signal_retries,
        )

    return cli.run_main(work, args)


if __name__ == "__main__":
    raise SystemExit(main())
