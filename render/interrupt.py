"""Ctrl-C and SIGTERM while Blender renders.

Blender calls back into Python while it renders (render handlers) and swallows any
exception raised there: with Python's default handler, a KeyboardInterrupt raised inside
such a callback is printed and the render carries on, so a render could not be stopped
and still exited 0. The handler installed here therefore never raises while Blender is
rendering: it runs the registered clean-ups (the temporary frames) and ends the process
at once with exit code 130. Outside Blender it raises KeyboardInterrupt as usual; the
CLI turns that into 130 after the ``finally`` blocks have cleaned up.

Python runs signal handlers only in the main thread, between bytecodes, and during a
Cycles frame the main thread runs no Python for minutes (Blender calls back from its
render threads). Blender releases the GIL while it renders, though, so a watcher thread
woken through ``signal.set_wakeup_fd`` does the clean-up and the exit at once, within a
fraction of a second of the signal, in any engine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
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


_exit_lock = threading.Lock()


def _exit_now(signum: int) -> None:
    """End the process now and clean up after it (from the main thread's handler or the
    watcher). Blender's render threads would write (and re-create) frames while a clean-up
    in this process runs, so a forked child waits until this process is gone and cleans up
    then; it keeps the standard streams open, so a caller reading them also waits for it."""
    with _exit_lock:
        os.write(2, f"interrupted ({signal.Signals(signum).name})\n".encode())
        parent = os.getpid()
        try:
            child = os.fork()
        except OSError:
            child = -1
        if child == 0:
            try:
                deadline = time.monotonic() + 30.0
                while os.getppid() == parent and time.monotonic() < deadline:
                    time.sleep(0.002)
                _run_cleanups()
            finally:
                os._exit(0)
        if child < 0:  # no fork: clean up here, racing the render threads
            _run_cleanups()
        os._exit(EXIT_INTERRUPTED)


def _handler(signum: int, frame) -> None:  # noqa: ARG001 - signal handler signature
    if _inside_blender:
        _exit_now(signum)
    raise KeyboardInterrupt


def _watch(sock: socket.socket) -> None:
    """Woken by the C-level signal handler (``set_wakeup_fd``) even while the main thread is
    deep in Blender; acts only then, leaving the rest to the main thread's handler."""
    while True:
        try:
            data = sock.recv(16)
        except OSError:
            return
        if not data:
            return
        # The wake-up byte comes for every signal with a Python handler: act on ours only.
        ours = [b for b in data if b in (signal.SIGINT, signal.SIGTERM)]
        if ours and _inside_blender:
            _exit_now(ours[-1])


@contextlib.contextmanager
def handle_interrupts() -> Iterator[None]:
    """Install the SIGINT/SIGTERM handler for the block (main thread only), then restore."""
    signals = (signal.SIGINT, signal.SIGTERM)
    try:
        previous = {s: signal.signal(s, _handler) for s in signals}
    except ValueError:  # not the main thread: leave signals to whoever owns them
        yield
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(reader,), name="render-interrupt", daemon=True).start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        for s, h in previous.items():
            signal.signal(s, h)
        writer.close()
        reader.close()


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
