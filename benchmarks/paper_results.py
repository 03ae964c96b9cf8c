"""The paper's experiments on the embedded data, from nothing to docs/results.md, in one command.

    .venv/bin/python benchmarks/paper_results.py --root DIR [--threads 1] [--limit 200]

Steps, each skipped when its output is already in ``DIR`` (so an interrupted run resumes):

1. the embedded NTU-like set (``python -m ciasa.data.synth``, seed 0) and its Kinetics-like
   2-D projection (``python -m ciasa.data.kinetics_synth``);
2. the five models, each with its committed recipe: ST-GCN (``config/train_plain.yaml``,
   20 epochs of 32, lr 0.1: the demo's attacked model), Js-AGCN and Bs-AGCN
   (``config/train_agcn.yaml``), PA-LSTM (``config/train_pa_lstm.yaml``), and the ST-GCN of
   the 2-D set (the ST-GCN recipe, 40 epochs);
3. clean top-1 of every model on its val split, the 2s-AGCN ensemble included, with each
   training's wall time -> ``benchmarks/results/paper_models.json``;
4. ``python -m ciasa.experiments all`` over every table, both formulations, both data sets
   (resumable per table); its ``results.json`` -> ``benchmarks/results/paper_results.json``,
   rendered into ``docs/results.md`` (+ ``docs/figures/``).

Commands run inside ``DIR`` with relative paths, so results.md shows commands a reader can
repeat. ``--jobs 2`` runs the tables as two processes side by side (disjoint units of one run
directory), the fastest use of a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.io import atomic_write_json  # noqa: E402

PY = sys.executable
STGCN = [
    "--config",
    str(REPO / "config/train_plain.yaml"),
    "--batch-size",
    "32",
    "--lr",
    "0.1",
    "--epochs",
    "20",
    "--val-every",
    "100",
]
MODELS = {  # run folder -> (data folder, training flags)
    "stgcn": ("synth/xview", STGCN),
    "js": ("synth/xview", ["--config", str(REPO / "config/train_agcn.yaml"), "--arch", "agcn"]),
    "bs": ("synth/xview", ["--config", str(REPO / "config/train_agcn.yaml"), "--arch", "agcn_bone"]),
    "pa_lstm": ("synth/xview", ["--config", str(REPO / "config/train_pa_lstm.yaml")]),
    "kinetics_stgcn": ("kinetics", [*STGCN[:-4], "--epochs", "40", "--val-every", "100"]),
}
NAMES = {
    "stgcn": "ST-GCN (source)",
    "js": "Js-AGCN",
    "bs": "Bs-AGCN",
    "pa_lstm": "PA-LSTM",
    "kinetics_stgcn": "ST-GCN (Kinetics-like 2-D)",
}
# the tables split in two halves of about equal cost, for --jobs 2
HALVES = (
    ["--datasets", "ntu", "--tables", "fig2,table1,table2,table3"],
    ["--datasets", "ntu", "--tables", "table4,table5"],
    ["--datasets", "kinetics", "--tables", "fig2,table1"],
)


def run(cmd: list[str], root: Path, log: Path | None = None) -> subprocess.Popen | None:
    print("+", " ".join(cmd), flush=True)
    if log is None:
        subprocess.run(cmd, cwd=root, check=True)
        return None
    return subprocess.Popen(cmd, cwd=root, stdout=log.open("w"), stderr=subprocess.STDOUT)


def make_data(root: Path) -> None:
    if not (root / "synth" / "xview" / "val_data.npy").is_file():
        run([PY, "-m", "ciasa.data.synth", "--out", "synth", "--seed", "0", "--frames", "64", "--no-progress"], root)
    if not (root / "kinetics" / "val_data.npy").is_file():
        run([PY, "-m", "ciasa.data.kinetics_synth", "--from", "synth/xview", "--out", "kinetics"], root)


def train_models(root: Path, threads: int) -> None:
    for name, (data, flags) in MODELS.items():
        if not (root / "runs" / name / "model.pt").is_file():
            run(
                [
                    PY,
                    "-m",
                    "ciasa.train",
                    *flags,
                    "--data",
                    data,
                    "--out",
                    f"runs/{name}",
                    "--threads",
                    str(threads),
                    "--resume",
                    "--no-progress",
                ],
                root,
            )


def measure_models(root: Path) -> dict:
    import numpy as np
    import torch

    from ciasa.data.stgcn import load_split
    from ciasa.evaluate import predict
    from ciasa.models import load_model
    from ciasa.models.agcn import load_two_stream

    torch.set_num_threads(1)

    def top1(model, data) -> float:
        pred = predict(model, data.data, 64, "cpu", progress=False).argmax(1).numpy()
        return round(100.0 * float((pred == np.asarray(data.labels)).mean()), 2)

    xview, kinetics = load_split(root / "synth/xview", "val"), load_split(root / "kinetics", "val")
    models = {}
    for name, (_data, _) in MODELS.items():
        model, meta = load_model(root / "runs" / name / "model.pt", device="cpu")
        log = json.loads((root / "runs" / name / "train_log.json").read_text())
        models[name] = {
            "model": NAMES[name],
            "arch": meta["arch"],
            "width": log["model_args"].get("base_channels"),
            "parameters": log["parameters"],
            "epochs": len(log["epochs"]),
            "batch_size": log["config"]["batch_size"],
            "optimizer": log["config"]["optimizer"],
            "lr": log["config"]["lr"],
            "train_seconds": round(log["seconds_total"], 1),
            "val_top1": top1(model, kinetics if name == "kinetics_stgcn" else xview),
        }
    two, _ = load_two_stream(root / "runs/js/model.pt", root / "runs/bs/model.pt", device="cpu")
    models["2s"] = {"model": "2s-AGCN (Js + Bs scores)", "arch": "agcn_2s", "val_top1": top1(two, xview)}
    return {"benchmark": "paper_models", "val": {"xview": len(xview), "kinetics": len(kinetics)}, "models": models}


def experiments(root: Path, args: argparse.Namespace) -> float:
    common = [
        PY,
        "-m",
        "ciasa.experiments",
        "all",
        "--checkpoint",
        "runs/stgcn/model.pt",
        "--data",
        "synth/xview",
        "--transfer-models",
        "js=runs/js/model.pt",
        "bs=runs/bs/model.pt",
        "pa_lstm=runs/pa_lstm/model.pt",
        "--kinetics-checkpoint",
        "runs/kinetics_stgcn/model.pt",
        "--kinetics-data",
        "kinetics",
        "--limit",
        str(args.limit),
        "--threads",
        str(args.threads),
        "--no-progress",
        "--out",
        "run",
    ]
    start = time.perf_counter()
    if args.jobs > 1:
        first = run(common + HALVES[0], root, root / "experiments_a.log")
        for half in HALVES[1:]:
            run(common + half, root)
        if first is not None and first.wait() != 0:
            raise SystemExit(f"experiments failed; see {root / 'experiments_a.log'}")
    run(common, root)  # every unit done: gathers results.json and renders results.md
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, required=True, help="working folder (data, runs, the experiment run)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--limit", type=int, default=200, help="clips per table")
    p.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="experiment processes side by side")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="the run folder holds finished units: do not report this call's time as the experiments' wall time",
    )
    p.add_argument(
        "--wall-seconds",
        type=float,
        default=None,
        help="the wall time of the run that made the units (with --reuse), to print in results.md",
    )
    args = p.parse_args()
    root = args.root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONPATH", str(REPO))
    make_data(root)
    train_models(root, args.threads)
    models = measure_models(root)
    atomic_write_json(REPO / "benchmarks/results/paper_models.json", models)
    for m in models["models"].values():
        print(f"{m['model']:28s} val top-1 {m['val_top1']:6.2f} %  ({m.get('train_seconds', '-')} s)")
    wall = experiments(root, args)
    results = json.loads((root / "run" / "results.json").read_text())
    if args.wall_seconds is not None or not args.reuse:
        results["wall_seconds"] = args.wall_seconds or round(wall, 1)
        results["wall_note"] = f"{args.jobs} experiment process(es) side by side on {os.cpu_count()} CPU cores"
    atomic_write_json(REPO / "benchmarks/results/paper_results.json", results)
    subprocess.run(
        [
            PY,
            "-m",
            "ciasa.experiments",
            "results",
            "--from",
            "benchmarks/results/paper_results.json",
            "--out",
            "docs/results.md",
            "-q",
        ],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"wrote docs/results.md ({wall:.0f} s of experiments)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
