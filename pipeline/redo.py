"""Redo one clip's render (or pose extraction, or overlay) and everything that depends on it.

Deleting a clip's files does not make Snakemake redo them: the report and the sets that
were built from them are still there and newer, so the missing files count as
intermediate and the run says "Nothing to be done". This command asks Snakemake to
force the clip's job (``--forcerun FILE``), which reruns that job and, because its
output changes, every job downstream of it (pose, overlay, strip, the RGB sets, their
classification and the report), and nothing else.

``python -m pipeline.redo CLIP [--stage render|pose|overlay] [--condition all] -- [snakemake args]``

The arguments after ``--`` go to Snakemake unchanged; give the same ``--configfile`` /
``--config`` as the run being repaired (the results directory is read from them).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from ciasa import cli
from pipeline.paths import CONDITIONS, Paths

STAGES = {
    "render": Paths.video,
    "pose": Paths.pose,
    "overlay": Paths.media,
}
DEFAULT_CONFIG = "config/config.yaml"


def results_dir(snakemake_args: Sequence[str], workdir: Path = Path(".")) -> str:
    """``results_dir`` as Snakemake will see it: the default config, then ``--configfile`` files in
    order, then ``--config results_dir=...`` (the same precedence Snakemake applies)."""
    files = [workdir / DEFAULT_CONFIG]
    override = None
    args = list(snakemake_args)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--configfile", "--configfiles", "--config", "-C"):
            j = i + 1
            while j < len(args) and not args[j].startswith("-"):
                if arg == "--config" or arg == "-C":
                    key, _, value = args[j].partition("=")
                    if key == "results_dir":
                        override = value
                else:
                    files.append(workdir / args[j])
                j += 1
            i = j
            continue
        i += 1
    root = "results"
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: config file not found")
        data = yaml.safe_load(path.read_text()) or {}
        if isinstance(data, dict) and data.get("results_dir"):
            root = str(data["results_dir"])
    return override or root


def known_clips(root: str) -> set[str]:
    """Clips of any selection (any shard) under ``root``, and clips that have videos."""
    clips: set[str] = set()
    for selection in Path(root).glob("clips/selection*.txt"):
        clips.update(cli.read_name_list(selection))
    videos = Path(root) / "videos"
    if videos.is_dir():
        clips.update(p.name for p in videos.iterdir() if p.is_dir())
    return clips


def clip_conditions(root: str, clip: str) -> tuple[str, ...]:
    """The conditions the run rendered for ``clip`` (a run with ``control: false`` has no control
    video, and forcing one would render it); all of them when nothing is rendered yet."""
    paths = Paths(root)
    present = tuple(
        c for c in CONDITIONS if Path(paths.render_info(clip, c)).is_file() or Path(paths.video(clip, c)).is_file()
    )
    return present or CONDITIONS


def forced_targets(root: str, clips: Sequence[str], stage: str, conditions: Sequence[str]) -> list[str]:
    paths = Paths(root)
    return [STAGES[stage](paths, clip, condition) for clip in clips for condition in conditions]


def snakemake_command(targets: Sequence[str], cores: int, extra: Sequence[str], dry_run: bool) -> list[str]:
    # --forcerun takes every value after it: it goes last
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(cores),
        *(["-n"] if dry_run else []),
        *extra,
        "--forcerun",
        *targets,
    ]


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pipeline.redo",
        "Redo the render (or pose extraction, or overlay) of some clips and everything downstream of it "
        "(the RGB sets, their classification and the report); arguments after -- go to snakemake.",
        epilog="example: python -m pipeline.redo S001C001P001R001A027 --stage render -- --configfile config/ci_tiny.yaml",
    )
    p.add_argument("clips", type=cli.parse_names, help="clip name(s): a comma-separated list or @FILE")
    p.add_argument(
        "--stage",
        choices=sorted(STAGES),
        default="render",
        help="the first job to redo; everything that depends on it follows",
    )
    p.add_argument(
        "--condition",
        choices=(*CONDITIONS, "all"),
        default="all",
        help="which of the clip's videos (all: every condition the run rendered for it)",
    )
    p.add_argument(
        "--root", default=None, help="results directory (default: results_dir of the configs given after --)"
    )
    p.add_argument("--cores", type=cli.positive_int, default=2, help="snakemake --cores")
    p.add_argument("-n", "--dry-run", action="store_true", help="only show what snakemake would run")
    p.add_argument("--print", dest="print_only", action="store_true", help="print the snakemake command, run nothing")
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace, extra: Sequence[str]) -> int:
    root = args.root or results_dir(extra)
    clips = list(dict.fromkeys(args.clips))
    if not clips:
        raise cli.BadInput("no clip named")
    known = known_clips(root)
    unknown = [c for c in clips if c not in known]
    if unknown:
        raise cli.BadInput(
            f"{', '.join(unknown)}: not a clip of {root}/clips/selection*.txt nor of {root}/videos/ "
            "(wrong name, or another results_dir: give the run's --configfile after --)"
        )
    targets = [
        t
        for clip in clips
        for t in forced_targets(
            root, [clip], args.stage, clip_conditions(root, clip) if args.condition == "all" else (args.condition,)
        )
    ]
    command = snakemake_command(targets, args.cores, extra, args.dry_run)
    print(shlex.join(command), flush=True)
    if args.print_only:
        return cli.EXIT_OK
    rc = subprocess.run(command).returncode
    if rc in (cli.EXIT_INTERRUPTED, -2):
        return cli.EXIT_INTERRUPTED
    return cli.EXIT_OK if rc == 0 else cli.EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args = build_parser().parse_args(argv[:split])
    extra = argv[split + 1 :]
    return cli.run_main(lambda a: run(a, extra), args)


if __name__ == "__main__":
    raise SystemExit(main())
