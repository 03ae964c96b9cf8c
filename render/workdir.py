"""Temporary frame folders next to the video, and the clean-up of ones left behind.

Frames are rendered to PNG in a hidden folder beside the output and encoded once. A
render killed with SIGKILL (or a machine that went down) cannot remove its folder, so
every folder's name carries the host and process id of its owner, and each later render
into the same directory removes the folders whose owner on this host is gone. Folders
of other hosts (a shared file system on a farm) are left to those hosts; folders in the
older naming without an owner are removed once nobody has written to them for an hour.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

_MARK = ".frames."
LEGACY_STALE_S = 3600.0


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def make_frames_dir(out: Path) -> Path:
    """A new hidden frames folder beside ``out``, named ``.STEM.frames.HOST-PID.<random>``:
    the host and process id let a later run tell a dead render's leftovers from a live one's."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.stem}{_MARK}{_host()}-{os.getpid()}.", dir=out.parent))


def _owner(name: str) -> tuple[str, int] | None:
    """(host, pid) from a folder name, or None for the older naming without an owner."""
    head = name.rsplit(".", 1)[0]  # drop mkdtemp's random part
    tail = head.rpartition(_MARK)[2]
    host, sep, pid = tail.rpartition("-")
    if not sep or not pid.isdigit() or not host:
        return None
    return host, int(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_frames(directory: Path) -> list[Path]:
    """Remove the frame folders in ``directory`` whose render died; return them."""
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    host = _host()
    for path in directory.glob(f".*{_MARK}*"):
        if not path.is_dir() or path.is_symlink():
            continue
        owner = _owner(path.name)
        if owner is None:
            stale = time.time() - path.stat().st_mtime > LEGACY_STALE_S
        else:
            stale = owner[0] == host and owner[1] != os.getpid() and not _alive(owner[1])
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            log.info("removed %s, left behind by a render that died", path)
    return removed
