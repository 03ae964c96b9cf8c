"""``python -m report``: build the transfer report from a pipeline results directory."""

from __future__ import annotations

import argparse
import sys

from ciasa import cli
from pipeline.paths import ATTACKED_MODEL, CONDITIONS
from report.build import ReportOptions, build_report


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m report",
        "Build results/report/index.html (standalone), summary.json and summary.md from the "
        "pipeline's outputs (attack, renders, re-extracted poses, predictions, benchmarks).",
    )
    io = p.add_argument_group("inputs and output")
    io.add_argument("--root", default="results", help="pipeline results directory")
    io.add_argument("--tag", default="", help="shard tag ('' or -shardIofN)")
    io.add_argument("--clips", required=True, help="clip list file (clips/selection*.txt)")
    io.add_argument("--data", required=True, help="source ST-GCN layout directory (labels, class names)")
    io.add_argument("--split", default="val", help="split of the source data the clips come from")
    io.add_argument(
        "--models",
        nargs="+",
        default=[ATTACKED_MODEL],
        help=f"classifier names under classify/ (first: the attacked one, '{ATTACKED_MODEL}')",
    )
    io.add_argument(
        "--conditions",
        nargs="+",
        choices=CONDITIONS,
        default=list(CONDITIONS),
        help="the conditions the run rendered and classified (clean and perturbed are required)",
    )
    io.add_argument("--out", help="output directory (default: ROOT/report{tag})")
    io.add_argument("--model-eval", help="metrics.json of the attacked model on the whole split")
    st = p.add_argument_group("statistics and page")
    st.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (0 = no intervals)")
    st.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    st.add_argument(
        "--min-clean-accuracy",
        type=float,
        default=0.75,
        help="warn prominently when clean-render accuracy is below this",
    )
    st.add_argument("--title", default=ReportOptions.title, help="page title")
    st.add_argument(
        "--info",
        type=_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a line for the run-information table (repeatable)",
    )
    st.add_argument("--strip-frames", type=cli.positive_int, default=6, help="frames per skeleton strip")
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace) -> int:
    missing = {"clean", "perturbed"} - set(args.conditions)
    if missing:
        raise cli.BadInput(f"--conditions must include clean and perturbed (missing: {', '.join(sorted(missing))})")
    if args.bootstrap < 0:
        raise cli.BadInput(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if not 0 <= args.min_clean_accuracy <= 1:
        raise cli.BadInput(f"--min-clean-accuracy must lie in [0, 1], got {args.min_clean_accuracy}")
    opts = ReportOptions(
        root=args.root,
        clips_file=args.clips,
        data_dir=args.data,
        split=args.split,
        tag=args.tag,
        models=list(args.models),
        out_dir=args.out,
        n_boot=args.bootstrap,
        seed=args.seed,
        min_clean_accuracy=args.min_clean_accuracy,
        title=args.title,
        model_eval=args.model_eval,
        run_info=list(args.info),
        strip_frames=args.strip_frames,
        conditions=tuple(args.conditions),
    )
    h = build_report(opts)["headline"]

    def p(e: dict) -> str:
        value = "n/a" if e["value"] is None else f"{100 * e['value']:.1f}%"
        return f"{value} ({e['k']}/{e['n']})" if e.get("k") is not None else value

    print(
        f"clips {h['n_clips']} | skeleton clean {p(h['skeleton_clean_accuracy'])} attacked "
        f"{p(h['skeleton_attacked_accuracy'])} flipped {p(h['skeleton_flipped'])} targeted "
        f"{p(h['skeleton_targeted'])} | RGB clean {p(h['rgb_clean_accuracy'])} perturbed "
        f"{p(h['rgb_perturbed_accuracy'])} drop {p(h['rgb_drop'])}"
        + (
            f" | control: skeleton {p(h['skeleton_control_accuracy'])} RGB {p(h['rgb_control_accuracy'])} "
            f"attributable drop RGB {p(h['rgb_attributable_drop'])} (McNemar p {h['rgb_attributable_drop_p']})"
            if "control" in h["conditions"]
            else ""
        )
    )
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())
