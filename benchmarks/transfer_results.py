"""Collect the transfer / Kinetics numbers of docs/transfer.md into one JSON file.

Reads the trained runs and experiment outputs (default layout under ``data/transfer``,
produced by the commands in docs/transfer.md), re-measures every model's clean top-1
on its validation split, and writes ``benchmarks/results/transfer_results.json``:

- ``clean_top1``: ST-GCN (source), Js-AGCN, Bs-AGCN, 2s-AGCN, PA-LSTM on the synthetic
  xview val split, and the Kinetics-like ST-GCN on the Kinetics-like val split;
- ``training``: architecture, width, epochs and wall time of each run (train_log.json);
- ``transfer``: the rows of every ``transfer`` experiment output found;
- ``kinetics``: the rows of the FGSM and basic-mode sweeps on the Kinetics-like set.

Run: ``python benchmarks/transfer_results.py [--root data/transfer]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.data.stgcn import load_split  # noqa: E402
from ciasa.evaluate import predict  # noqa: E402
from ciasa.models import load_model  # noqa: E402
from ciasa.models.agcn import load_two_stream  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402

STREAMS = {"stgcn": "ST-GCN (source)", "js": "Js-AGCN", "bs": "Bs-AGCN", "pa_lstm": "PA-LSTM"}


def top1(model: torch.nn.Module, data) -> float:
    pred = predict(model, data.data, 64, "cpu", progress=False).argmax(1).numpy()
    return round(100.0 * float((pred == np.asarray(data.labels)).mean()), 2)


def training_info(run: Path) -> dict:
    log = json.loads((run / "train_log.json").read_text())
    cfg = log["config"]
    return {
        "arch": cfg["arch"],
        "base_channels": log["model_args"].get("base_channels"),
        "epochs": len(log["epochs"]),
        "batch_size": cfg["batch_size"],
        "lr": cfg["lr"],
        "parameters": log["parameters"],
        "seconds_total": round(log["seconds_total"], 1),
        "final_val_top1": round(100 * log["final"]["val_top1"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=REPO / "data" / "transfer")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "transfer_results.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    runs, outs = args.root / "runs", args.root / "out"
    xview = load_split(args.root / "synth" / "xview", "val")
    kinetics = load_split(args.root / "kinetics", "val")
    clean = {}
    for key, name in STREAMS.items():
        clean[name] = top1(load_model(runs / key / "model.pt", device="cpu")[0], xview)
    two, _ = load_two_stream(runs / "js" / "model.pt", runs / "bs" / "model.pt", device="cpu")
    clean["2s-AGCN"] = top1(two, xview)
    clean["ST-GCN (Kinetics-like)"] = top1(load_model(runs / "kinetics_stgcn" / "model.pt", device="cpu")[0], kinetics)
    results = {
        "benchmark": "transfer_results",
        "data": {"xview_val": len(xview), "kinetics_val": len(kinetics), "synthetic": True},
        "clean_top1": clean,
        "training": {k: training_info(runs / k) for k in (*STREAMS, "kinetics_stgcn") if (runs / k).is_dir()},
        # second set on the xsub split (source: the config/train_demo.yaml ST-GCN), if present
        "training_xsub": {
            k: training_info(args.root / "runs_xsub" / k)
            for k in STREAMS
            if (args.root / "runs_xsub" / k / "train_log.json").is_file()
        },
        "transfer": {
            d.name: json.loads((d / "summary.json").read_text())
            for d in sorted(outs.glob("transfer*"))
            if (d / "summary.json").is_file()
        },
        "kinetics": {
            f.stem: json.loads(f.read_text()) for d in sorted(outs.glob("kinetics_*")) for f in sorted(d.glob("*.json"))
        },
    }
    for name, acc in clean.items():
        print(f"{name:24s} clean top-1 {acc:6.2f}%")
    for name, summary in results["transfer"].items():
        eps = summary["settings"]["eps"]
        for row in summary["rows"]:
            print(f"[{name} eps={eps}] {row['model']:16s} clean {row['clean_acc']:6.2f} attacked {row['attacked_acc']:6.2f} "
                  f"fooling {row['fooling_rate']}")  # fmt: skip
    atomic_write_json(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
