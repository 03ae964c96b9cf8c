"""The facts every benchmark record starts with: how it was run, when, and on what.

A number in ``benchmarks/results`` is only comparable with another measured on the same
machine under the same load, so each record carries the command, the UTC time, the CPU,
the thread count and the load average when it started (``load_average_end`` is added by
:func:`finish`)."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any


def header(argv: list[str] | None, threads: int) -> dict[str, Any]:
    """``command`` (shell-quoted, so an empty argument survives), ``date_utc`` and ``machine``;
    ``argv`` as given to ``main`` (None: sys.argv)."""
    return {
        "command": shlex.join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "threads": threads,
            "load_average_start": list(os.getloadavg()),
        },
    }


def finish(record: dict[str, Any]) -> dict[str, Any]:
    """Add the load average at the end to ``record``'s machine facts (a busy machine shows in the pair)."""
    record["machine"]["load_average_end"] = list(os.getloadavg())
    return record
