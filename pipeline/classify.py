"""Classify a collected set with one checkpoint (``ciasa.evaluate``), tolerating an empty set.

A set is empty when every clip of a condition failed to render or had no detection;
the report then says so, rather than the workflow stopping before it can.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ciasa.io import atomic_path, atomic_write_json

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ["name", "label", "pred", "confidence", "top5", "label_name", "pred_name"]


def classify(
    set_dir: str | Path,
    split: str,
    checkpoint: str | Path,
    out_dir: str | Path,
    device: str = "auto",
    **overrides,
) -> dict:
    set_dir, out_dir = Path(set_dir), Path(out_dir)
    manifest = set_dir / "collect.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest}: not a collected set (run python -m pipeline.collect)")
    included = int(json.loads(manifest.read_text())["included"])
    if included == 0:
        log.warning("%s is empty: writing empty predictions", set_dir)
        with atomic_path(out_dir / "predictions.csv", suffix=".csv") as tmp, tmp.open("w", newline="") as f:
            csv.writer(f).writerow(PREDICTION_COLUMNS)
        metrics = {"n": 0, "top1": None, "top5": None, "checkpoint": str(checkpoint), "data": str(set_dir / split)}
        atomic_write_json(out_dir / "metrics.json", metrics)
        return metrics
    from ciasa.evaluate import evaluate

    return evaluate(checkpoint, set_dir, split, out_dir, device=device, **overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.classify",
        description="Run a checkpoint on a collected set (python -m ciasa.evaluate; an empty set gives "
        "empty predictions instead of an error).",
    )
    parser.add_argument("--set", required=True, help="collected set directory (collect.json)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--num-class", type=int, help="for official state dicts")
    parser.add_argument("--layout", help="for official state dicts")
    parser.add_argument("--in-channels", type=int, help="for official state dicts")
    parser.add_argument("--arch", help="for official state dicts (default: stgcn)")
    parser.add_argument("--class-names", help="JSON list of class names (official state dicts)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = {
        k: v
        for k, v in (
            ("num_class", args.num_class),
            ("layout", args.layout),
            ("in_channels", args.in_channels),
            ("arch", args.arch),
            ("class_names", json.loads(Path(args.class_names).read_text()) if args.class_names else None),
        )
        if v is not None
    }
    try:
        classify(args.set, args.split, args.checkpoint, args.out, args.device, **overrides)
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
