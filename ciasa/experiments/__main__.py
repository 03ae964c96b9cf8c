"""``python -m ciasa.experiments {all,results,fgsm-sweep,basic-sweep,regions,ablation,lambda,strips,transfer}``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ciasa import cli
from ciasa.experiments.strips import add_strip_arguments, run_strips
from ciasa.experiments.sweeps import EXPERIMENTS, add_experiment_arguments, run_experiment


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m ciasa.experiments",
        "Reproduce the shape of the CIASA paper's experiments on any data set and checkpoint; "
        "each writes CSV + Markdown + a plot (+ JSON) into --out.",
    )
    sub = p.add_subparsers(dest="experiment", required=True)
    from ciasa.experiments import paper, results

    paper.add_arguments(
        sub.add_parser(
            "all",
            help="the paper's Fig. 2 and Tables I-V, both formulations, resumable; writes OUT/results.md",
            description=paper.__doc__.split("\n\n")[0],
            formatter_class=p.formatter_class,
        )
    )
    results.add_arguments(
        sub.add_parser(
            "results",
            help="render results.md (and figures/) from a run's results.json",
            formatter_class=p.formatter_class,
        )
    )
    for name, (_, title) in EXPERIMENTS.items():
        add_experiment_arguments(
            name, sub.add_parser(name, help=title, description=title, formatter_class=p.formatter_class)
        )
    add_strip_arguments(
        sub.add_parser(
            "strips", help="skeleton strips: clean green, perturbed red (Fig. 3)", formatter_class=p.formatter_class
        )
    )
    from ciasa.experiments import transfer

    transfer.add_arguments(
        sub.add_parser(
            "transfer", help="transfer of perturbations to other models (Table III)", formatter_class=p.formatter_class
        )
    )
    return p


def run(args: argparse.Namespace) -> int:
    if args.experiment in ("all", "results"):
        from ciasa.experiments import paper, results

        return (paper if args.experiment == "all" else results).run_from_args(args)
    if args.experiment == "transfer":
        from ciasa.experiments import transfer

        return transfer.run_from_args(args)
    if args.experiment == "strips":
        record = run_strips(args)
        logging.getLogger("ciasa.experiments").info("wrote %d strips to %s", len(record["figures"]), args.out)
        return cli.EXIT_OK
    run_experiment(args.experiment, args)
    print((Path(args.out) / f"{args.experiment.replace('-', '_')}.md").read_text())
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())
