"""``python -m ciasa.experiments {fgsm-sweep,basic-sweep,regions,ablation,lambda,strips,transfer}``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from ciasa.experiments.strips import add_strip_arguments, run_strips
from ciasa.experiments.sweeps import EXPERIMENTS, add_experiment_arguments, run_experiment


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ciasa.experiments",
        description="Reproduce the shape of the CIASA paper's experiments on any data set and checkpoint; "
        "each writes CSV + Markdown + a plot (+ JSON) into --out.",
    )
    sub = p.add_subparsers(dest="experiment", required=True)
    for name, (_, title) in EXPERIMENTS.items():
        add_experiment_arguments(name, sub.add_parser(name, help=title, description=title))
    add_strip_arguments(sub.add_parser("strips", help="skeleton strips: clean green, perturbed red (Fig. 3)"))
    try:
        from ciasa.experiments import transfer
    except ImportError:  # transfer models are optional
        transfer = None
    if transfer is not None and hasattr(transfer, "add_arguments"):
        tp = sub.add_parser("transfer", help="transfer of perturbations to other models (Table III)")
        transfer.add_arguments(tp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.experiment == "transfer":
            from ciasa.experiments import transfer

            return transfer.main_from_args(args)
        if args.experiment == "strips":
            record = run_strips(args)
            logging.getLogger("ciasa.experiments").info("wrote %d strips to %s", len(record["figures"]), args.out)
            return 0
        record = run_experiment(args.experiment, args)
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f"error: {err.args[0] if isinstance(err, KeyError) and err.args else err}", file=sys.stderr)
        return 2
    print(open(f"{args.out}/{args.experiment.replace('-', '_')}.md").read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
