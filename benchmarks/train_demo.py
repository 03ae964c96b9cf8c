"""Benchmark: train the demo ST-GCN on the embedded data set and evaluate it, clean and noisy.

    .venv/bin/python benchmarks/train_demo.py [--data DIR] [--run RUN_DIR] [--benchmark xsub]

Generates the default embedded data set (``python -m ciasa.data.synth``) unless
``--data`` points at one, trains with ``config/train_demo.yaml``, evaluates the final
model on the validation split clean and with re-extraction-scale joint noise
(5 cm x/y, 10 cm depth), and writes ``benchmarks/results/train_demo.json``.

Wall time depends on what else runs on the machine, so the result also records the
process CPU time and the load average before and after: on a busy machine the wall
time overstates what an idle 2-core machine needs. Times come from the trainer's own
log (``train_log.json``), so pointing ``--run`` at a finished run re-evaluates it
without training again and still reports what the training cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.augment import REEXTRACTION_SIGMA  # noqa: E402
from ciasa.evaluate import evaluate  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.train import TrainConfig, load_config_file, train  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="embedded data set root (default: generate one)")
    p.add_argument("--run", type=Path, default=None, help="run directory to keep (default: a temporary one)")
    p.add_argument("--benchmark", default="xsub", choices=["xsub", "xview"])
    p.add_argument("--config", type=Path, default=REPO / "config" / "train_demo.yaml")
    p.add_argument("--result", type=Path, default=REPO / "benchmarks" / "results" / "train_demo.json")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data
        gen_seconds = None
        if data_root is None:
            data_root = Path(tmp) / "synth"
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "ciasa.data.synth", "--out", str(data_root), "--quiet"], check=True, cwd=REPO
            )
            gen_seconds = time.perf_counter() - t
        data = data_root / args.benchmark
        run = args.run or Path(tmp) / "run"
        settings = load_config_file(args.config)
        settings.update(data=str(data), out=str(run), progress=False, resume=True)
        cfg = TrainConfig(**settings)
        load_before = os.getloadavg()
        log = train(cfg)  # a finished --run is only re-evaluated: the trainer's own log keeps its cost
        train_wall, train_cpu = log["seconds_total"], log["cpu_seconds_total"]
        load_after = os.getloadavg()
        clean = evaluate(run / "model.pt", data, "val", run / "eval_clean", device=cfg.device)
        noisy = evaluate(
            run / "model.pt", data, "val", run / "eval_noisy", device=cfg.device, noise_sigma=REEXTRACTION_SIGMA
        )
        n_train = log["train_data"]["shape"][0]
        result = {
            "benchmark": f"embedded data set, {args.benchmark} split",
            "command": "benchmarks/train_demo.py " + " ".join(sys.argv[1:]),
            "config": str(args.config.relative_to(REPO)) if args.config.is_relative_to(REPO) else str(args.config),
            "model_args": log["model_args"],
            "parameters": log["parameters"],
            "train_shape": log["train_data"]["shape"],
            "val_shape": log["val_data"]["shape"],
            "epochs": cfg.epochs,
            "data_generation_seconds": gen_seconds,
            "train_wall_seconds": round(train_wall, 1),
            "train_cpu_seconds": round(train_cpu, 1),
            "train_wall_minutes": round(train_wall / 60, 2),
            "train_samples_per_s_wall": round(n_train * cfg.epochs / sum(e["train_seconds"] for e in log["epochs"]), 1),
            "val_top1_clean": clean["top1"],
            "val_top5_clean": clean["top5"],
            "val_top1_noisy": noisy["top1"],
            "noise_sigma_m": list(REEXTRACTION_SIGMA),
            "val_n": clean["n"],
            "per_class_accuracy_clean": clean["per_class_accuracy"],
            "per_class_accuracy_noisy": noisy["per_class_accuracy"],
            "history": [
                {k: e.get(k) for k in ("epoch", "train_loss", "train_acc", "val_top1", "val_noisy_top1", "seconds")}
                for e in log["epochs"]
            ],
            "machine": {
                "cpus": os.cpu_count(),
                "torch_threads": log["torch_threads"],
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in load_after],
                "python": platform.python_version(),
                "torch": torch.__version__,
                "device": log["device"],
            },
            "checkpoint": str(run / "model.pt") if args.run else None,
        }
        atomic_write_json(args.result, result)
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "train_wall_minutes",
                    "train_cpu_seconds",
                    "train_samples_per_s_wall",
                    "val_top1_clean",
                    "val_top1_noisy",
                )
            },
            indent=2,
        )
    )
    print(f"-> {args.result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
