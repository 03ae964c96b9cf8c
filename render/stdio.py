"""Blender's C-level output: what reaches the user's terminal and logs.

Blender prints progress lines on the process's own stdout (file descriptor 1), below
Python's ``sys.stdout``, and its headless GPU start-up prints three ``EGL_BAD_MATCH``
errors on stderr (fd 2) that mean nothing (Mesa's software GL works after them) but read
like a failure in every log. Both are handled at the descriptor level, because Python's
stream objects never see these writes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

# The harmless lines of Blender's EGL context creation on a headless machine. Only these
# exact lines are dropped; any other EGL error still reaches stderr.
EGL_NOISE = re.compile(r"^EGL Error \(0x3009\): EGL_BAD_MATCH: ")


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send the C-level stdout to /dev/null (Blender prints a few lines per frame)."""
    fd = 1  # Blender writes to the process's descriptor, whatever sys.stdout is
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def filtered_stderr(drop: re.Pattern[str] = EGL_NOISE) -> Iterator[None]:
    """Capture the C-level stderr while the block runs, then replay every line that does
    not match ``drop``. Use it around short calls only: the output is held until the end."""
    fd = 2
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            kept = [
                line
                for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                if not drop.search(line)
            ]
            if kept:
                os.write(fd, "".join(kept).encode())
