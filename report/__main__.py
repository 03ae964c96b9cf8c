"""``python -m report``: build the transfer report from a pipeline results directory."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pipeline.paths import ATTACKED_MODEL
from report.build import ReportOptions, build_report


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m report",
        description="Build results/report/index.html (standalone), summary.json and summary.md from the "
        "pipeline's outputs (attack, renders, re-extracted poses, predictions, benchmarks).",
    )
    parser.add_argument("--root", default="results", help="pipeline results directory (default: results)")
    parser.add_argument("--tag", default="", help="shard tag ('' or -shardIofN)")
    parser.add_argument("--clips", required=True, help="clip list file (clips/selection*.txt)")
    parser.add_argument("--data", required=True, help="source ST-GCN layout directory (labels, class names)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--models", nargs="+", default=[ATTACKED_MODEL],
                        help=f"classifier names under classify/ (first: the attacked one, '{ATTACKED_MODEL}')")
    parser.add_argument("--out", help="output directory (default: ROOT/report{tag})")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--min-clean-accuracy", type=float, default=0.75,
                        help="warn prominently when clean-render accuracy is below this (default 0.75)")
    parser.add_argument("--model-eval", help="metrics.json of the attacked model on the whole split")
    parser.add_argument("--title", default=ReportOptions.title)
    parser.add_argument("--info", type=_pair, action="append", default=[], metavar="KEY=VALUE",
                        help="a line for the run-information table (repeatable)")
    parser.add_argument("--strip-frames", type=int, default=6, help="frames per skeleton strip (default 6)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    opts = ReportOptions(
        root=args.root, clips_file=args.clips, data_dir=args.data, split=args.split, tag=args.tag,
        models=list(args.models), out_dir=args.out, n_boot=args.bootstrap, seed=args.seed,
        min_clean_accuracy=args.min_clean_accuracy, title=args.title, model_eval=args.model_eval,
        run_info=list(args.info), strip_frames=args.strip_frames,
    )  # fmt: skip
    try:
        summary = build_report(opts)
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    h = summary["headline"]

    def p(e: dict) -> str:
        return "n/a" if e["value"] is None else f"{100 * e['value']:.1f}%"

    print(
        f"clips {h['n_clips']} | skeleton clean {p(h['skeleton_clean_accuracy'])} attacked "
        f"{p(h['skeleton_attacked_accuracy'])} fooling {p(h['skeleton_fooling_rate'])} | RGB clean "
        f"{p(h['rgb_clean_accuracy'])} perturbed {p(h['rgb_perturbed_accuracy'])} drop {p(h['rgb_drop'])}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
