"""Ctrl-C and SIGTERM while Blender renders.

Blender calls back into Python while it renders (render handlers) and swallows any
exception raised there: with Python's default handler, a KeyboardInterrupt raised inside
such a callback is printed and the render carries on, so a render could not be stopped
and still exited 0. The handler installed here therefore never raises while Blender is
rendering: it runs the registered clean-ups (the temporary frames) and ends the process
at once with exit code 130. Outside Blender it raises KeyboardInterrupt as usual; the
CLI turns that into 130 after the ``finally`` blocks have cleaned up.

Python runs signal handlers only between bytecodes, so the renderer registers a no-op
``render_stats`` callback, which Blender calls many times per Cycles frame and once per
Workbench frame: an interrupt takes effect within one such call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130
_cleanups: list[Callable[[], None]] = []
_inside_blender = 0


def _run_cleanups() -> None:
    for fn in reversed(_cleanups):
        try:
            fn()
        except Exception:  # cleaning up on the way out: nothing more to do about a failure
            pass


def _handler(signum: int, frame) -> None:  # noqa: ARG001 - signal handler signature
    if _inside_blender:
        _run_cleanups()
        try:
            sys.stderr.write(f"interrupted ({signal.Signals(signum).name})\n")
            sys.stderr.flush()
        finally:
            os._exit(EXIT_INTERRUPTED)
    raise KeyboardInterrupt


@contextlib.contextmanager
def handle_interrupts() -> Iterator[None]:
    """Install the SIGINT/SIGTERM handler for the block (main thread only), then restore."""
    signals = (signal.SIGINT, signal.SIGTERM)
    try:
        previous = {s: signal.signal(s, _handler) for s in signals}
    except ValueError:  # not the main thread: leave signals to whoever owns them
        yield
        return
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def cleanup_on_interrupt(fn: Callable[[], None]) -> Iterator[None]:
    """Run ``fn`` if the process is interrupted while Blender renders inside the block."""
    _cleanups.append(fn)
    try:
        yield
    finally:
        _cleanups.remove(fn)


@contextlib.contextmanager
def inside_blender() -> Iterator[None]:
    """Mark a call into Blender's renderer, where a raised KeyboardInterrupt would be lost."""
    global _inside_blender
    _inside_blender += 1
    try:
        yield
    finally:
        _inside_blender -= 1
