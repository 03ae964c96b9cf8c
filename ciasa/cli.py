"""One command-line convention for every stage: shared flags, exit codes, error mapping.

Every ``python -m ...`` entry point of the project (``ciasa.*``, ``render``,
``pose_extract``, ``pipeline.*``, ``report``) builds its parser with the flag groups
below and runs its work through :func:`run_main`, so that a user who learnt one stage
knows them all:

- exit codes: 0 ok, 1 the work failed, 2 bad input (nothing written), 130 interrupted;
- ``--quiet`` / ``--verbose``, ``--progress`` / ``--no-progress``, ``--names`` (a comma
  list or ``@file``), ``--checkpoint``, ``--device``, ``--threads`` mean the same
  everywhere.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = "exit codes: 0 ok, 1 work failed, 2 bad input (nothing written), 130 interrupted"


class BadInput(ValueError):
    """The user's input (a file, a flag, a config) is wrong; maps to exit code 2.

    Raise it (or a subclass: ``VideoError``, ``CheckpointError``, ``ConfigError``, ...)
    only where a check of what the user gave fails; a plain ``ValueError`` or
    ``KeyError`` is a bug, and :func:`run_main` lets it crash with its traceback. It stays
    a ``ValueError`` so that library callers catching ``ValueError`` keep working.
    """


class UnknownName(BadInput, KeyError):
    """A name the user gave (a layout, a region, an architecture) that is not a known one:
    bad input, and still the ``KeyError`` a failed lookup's callers expect."""

    def __str__(self) -> str:  # KeyError's own str() would quote the message
        return str(self.args[0]) if self.args else ""


class WorkFailed(RuntimeError):
    """The input was fine but the work did not succeed (a render, a clip without a person); exit 1."""


# Exceptions that mean "bad input": the message names the file or flag, exit 2. A path
# that is missing or of the wrong kind is the user's by nature; nothing else is.
BAD_INPUT_ERRORS: tuple[type[BaseException], ...] = (
    BadInput,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
)


def parser(prog: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` that shows defaults and the exit codes in ``--help``."""
    text = EXIT_CODES_HELP if epilog is None else f"{epilog}\n\n{EXIT_CODES_HELP}"
    return argparse.ArgumentParser(prog=prog, description=description, epilog=text, formatter_class=_HelpFormatter)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown once, by argparse, and epilogs kept as written; an unset (None) or
    off (False) default says nothing a reader needs, so it is not shown."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False) or "%(default)" in text or "(default" in text:
            return text
        return super()._get_help_string(action)


# ---------------------------------------------------------------------- flag groups
def add_logging_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only; no progress bar")
    group.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")


def add_progress_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show a progress bar (tqdm) for long work",
    )


def add_device_flag(p: argparse.ArgumentParser, default: str = "auto") -> None:
    p.add_argument("--device", default=default, help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N")


def add_threads_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's choice, all cores)"
    )


def add_checkpoint_flag(p: argparse.ArgumentParser, required: bool = True, help: str | None = None) -> None:
    p.add_argument(
        "--checkpoint",
        required=required,
        help=help or "model checkpoint: our model.pt or an official ST-GCN state dict",
    )


def add_names_flag(p: argparse.ArgumentParser, help: str = "sample/clip names") -> None:
    p.add_argument(
        "--names",
        type=parse_names,
        default=None,
        help=f"{help}: a comma-separated list, or @FILE with one name per line ('#' starts a comment)",
    )


# ---------------------------------------------------------------------- value parsers
def positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    return value


def non_negative_float(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1] (a rate, a probability)."""
    value = _float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value:g}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def read_name_list(path: str | Path) -> list[str]:
    """Names from a text file: one per line, blank lines and ``#`` comments ignored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: names file not found")
    names = []
    for line in path.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def parse_names(text: str) -> list[str]:
    """``'a,b,c'`` -> ``['a', 'b', 'c']``; ``'@names.txt'`` -> the names in that file."""
    if text.startswith("@"):
        try:
            return read_name_list(text[1:])
        except FileNotFoundError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_wh(text: str) -> tuple[int, int]:
    """``'320x240'`` -> ``(320, 240)``; both sides positive."""
    parts = text.lower().split("x")
    try:
        width, height = (int(v) for v in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 320x240, got {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"resolution must be positive, got {text!r}")
    return width, height


# ---------------------------------------------------------------------- running
def setup_logging(args: argparse.Namespace) -> None:
    quiet = bool(getattr(args, "quiet", False))
    verbose = bool(getattr(args, "verbose", False))
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)


def show_progress(args: argparse.Namespace) -> bool:
    """A progress bar unless ``--no-progress`` or ``--quiet``."""
    return bool(getattr(args, "progress", True)) and not bool(getattr(args, "quiet", False))


def run_main(work: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run ``work(args)`` and turn its outcome into the project's exit code.

    Bad input (:data:`BAD_INPUT_ERRORS`) -> 2 with one ``error: <message>`` line;
    :class:`WorkFailed` or a full disk -> 1 with ``error: <message>`` (not the input's
    fault and not a bug); ``--verbose`` adds the traceback to either. Ctrl-C -> 130. Every
    other exception, a ``ValueError`` or ``KeyError`` included, propagates with its
    traceback (Python exits 1): it is a bug, and the traceback is what a bug report needs.
    """
    setup_logging(args)
    try:
        code = work(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BAD_INPUT_ERRORS as err:
        _print_error(err, args)
        return EXIT_BAD_INPUT
    except WorkFailed as err:
        _print_error(err, args)
        return EXIT_FAILED
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        where = f" ({err.filename})" if err.filename else ""
        print(f"error: no space left on device{where}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if code is None else int(code)


def _print_error(err: BaseException, args: argparse.Namespace) -> None:
    """One ``error:`` line; with ``--verbose`` the traceback above it, to find where it came from."""
    if getattr(args, "verbose", False):
        traceback.print_exception(err, file=sys.stderr)
    print(f"error: {err}", file=sys.stderr)


def main_of(
    build: Callable[[], argparse.ArgumentParser], work: Callable[[argparse.Namespace], Any]
) -> Callable[[Sequence[str] | None], int]:
    """``main(argv)`` for a module: parse with ``build()``, run ``work`` through :func:`run_main`."""

    def main(argv: Sequence[str] | None = None) -> int:
        return run_main(work, build().parse_args(argv))

    return main
