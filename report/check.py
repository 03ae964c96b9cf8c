"""Open a report in headless Chromium and check that its tables and videos load.

``python -m report.check results/report/index.html --screenshot shot.png``
prints what the browser saw (tables found, videos decoded) and exits non-zero when a
table is missing or a video did not load. The page's script marks every ``<video>``
that fired ``loadeddata`` (see :mod:`report.html`); ``--dump-dom`` returns the DOM
after the virtual-time budget, so no remote-debugging protocol is needed.
Needs the Debian package ``chromium`` (or ``--browser PATH``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ciasa import cli

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
]


@dataclass
class PageCheck:
    tables: list[str]
    videos_total: int
    videos_loaded: int
    videos_error: int
    video_tags: int
    headline_rows: int
    per_clip_rows: int
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def find_browser(explicit: str | None = None) -> str:
    for candidate in (explicit, "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    raise FileNotFoundError("no Chromium found: install the Debian package 'chromium' or pass --browser")


def _run(browser: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="ciasa-chromium-") as profile:
        return subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def dump_dom(page: str | Path, browser: str | None = None, budget_ms: int = 15000, timeout: float = 120) -> str:
    url = Path(page).resolve().as_uri()
    proc = _run(find_browser(browser), [f"--virtual-time-budget={budget_ms}", "--dump-dom", url], timeout)
    if proc.returncode != 0 or "<body" not in proc.stdout:
        raise RuntimeError(f"chromium failed on {page} (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def screenshot(
    page: str | Path,
    out: str | Path,
    browser: str | None = None,
    size: str = "1280,2000",
    budget_ms: int = 8000,
    timeout: float = 120,
) -> Path:
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    url = Path(page).resolve().as_uri()
    proc = _run(
        find_browser(browser),
        [f"--virtual-time-budget={budget_ms}", f"--window-size={size}", f"--screenshot={out}", url],
        timeout,
    )
    if not out.is_file():
        raise RuntimeError(f"chromium wrote no screenshot of {page} (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return out


def _attr(dom: str, name: str) -> int:
    body = re.search(r"<body[^>]*>", dom)
    match = re.search(rf'{name}="(\d+)"', body.group(0)) if body else None
    return int(match.group(1)) if match else -1


def _table_rows(dom: str, table_id: str) -> int:
    match = re.search(rf"<table id=\"{table_id}\">(.*?)</table>", dom, re.S)
    return len(re.findall(r"<tr", match.group(1))) - 1 if match else -1


def check_page(page: str | Path, browser: str | None = None, budget_ms: int = 15000) -> PageCheck:
    dom = dump_dom(page, browser, budget_ms)
    check = PageCheck(
        tables=re.findall(r'<table id="([^"]+)"', dom),
        videos_total=_attr(dom, "data-videos-total"),
        videos_loaded=_attr(dom, "data-videos-loaded"),
        videos_error=_attr(dom, "data-videos-error"),
        video_tags=len(re.findall(r"<video\b", dom)),
        headline_rows=_table_rows(dom, "headline"),
        per_clip_rows=_table_rows(dom, "per-clip"),
    )
    for table in ("headline", "per-clip", "timings"):
        if table not in check.tables:
            check.errors.append(f"table #{table} missing")
    if check.videos_total < 0:
        check.errors.append("the page's script did not run (no data-videos-total on <body>)")
    elif check.videos_loaded != check.video_tags or check.videos_error > 0:
        check.errors.append(f"{check.videos_loaded} of {check.video_tags} videos loaded, {check.videos_error} errors")
    return check


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m report.check",
        __doc__.splitlines()[0],
        epilog="exit 1 also when a table is missing or a video did not load",
    )
    p.add_argument("page", help="index.html of a report")
    p.add_argument("--screenshot", help="also save a PNG screenshot here")
    p.add_argument("--browser", help="Chromium executable (default: chromium on PATH)")
    p.add_argument("--budget-ms", type=cli.positive_int, default=15000, help="virtual time given to the page")
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace) -> int:
    if not Path(args.page).is_file():
        raise FileNotFoundError(f"{args.page}: report page not found")
    try:
        check = check_page(args.page, args.browser, args.budget_ms)
        if args.screenshot:
            screenshot(args.page, args.screenshot, args.browser)
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        raise cli.WorkFailed(str(err)) from None
    print(
        f"tables: {', '.join(check.tables)}; headline rows {check.headline_rows}, per-clip rows {check.per_clip_rows}; "
        f"videos loaded {check.videos_loaded}/{check.video_tags} (errors {check.videos_error})"
    )
    for err in check.errors:
        print(f"problem: {err}", file=sys.stderr)
    return cli.EXIT_OK if check.ok else cli.EXIT_FAILED


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    raise SystemExit(main())
