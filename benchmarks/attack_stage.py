"""The pipeline's attack stage at a given scale: one job for N clips, timed.

    python benchmarks/attack_stage.py --clips 12                      # the demo's stage on CPU
    python benchmarks/attack_stage.py --clips 240 --device cuda       # paper scale on a GPU

Runs what the Snakefile runs for the attack stage, outside Snakemake so that only the
stage is timed: the embedded data set (all views at paper scale, as
``config/paper_scale.yaml`` does), a classifier trained with the attacked model's recipe
(or ``--checkpoint``), the pipeline's deterministic clip selection, then one
``python -m ciasa.attack`` process for the whole selection with the attack options of
``config/config.yaml`` (overridden by ``--configfile``). The attack process is timed
from the outside (start-up, model and data loading, the discriminator's real-frame
bank and the per-clip skeleton files included), and its own ``summary.json`` gives
the time spent attacking. Writes ``benchmarks/results/attack_stage_{device}_{N}.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.data.stgcn import load_split  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from pipeline.config import cli_flags  # noqa: E402
from pipeline.select import select_clips, write_clip_list  # noqa: E402


def merged_config(overrides: list[str]) -> dict:
    """config/config.yaml with each ``--configfile`` applied on top (Snakemake's merge)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for path in overrides:
        _merge(config, yaml.safe_load(Path(path).read_text()) or {})
    return config


def _merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def run(cmd: list[str], log: Path) -> float:
    """Run ``cmd`` with its output in ``log``; its wall seconds, or exit with its log's tail."""
    start = time.perf_counter()
    with log.open("w") as f:
        code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=REPO)
    seconds = time.perf_counter() - start
    if code != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        sys.exit(f"{' '.join(cmd[:4])} ... failed with exit code {code}:\n{tail}")
    return seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=12, help="clips in the selection (the demo: 12, the paper: 240)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (for training and the attack)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads of the attack process")
    p.add_argument(
        "--configfile",
        action="append",
        default=[],
        help="config overrides on top of config/config.yaml (attack mode and options, data view)",
    )
    p.add_argument("--checkpoint", default=None, help="attack this model instead of training one")
    p.add_argument("--epochs", type=int, default=None, help="override the training recipe's epochs")
    p.add_argument("--work", default=str(REPO / "build" / "attack_stage"), help="scratch directory")
    p.add_argument(
        "--out", default=None, help="result JSON (default benchmarks/results/attack_stage_{device}_{N}.json)"
    )
    args = p.parse_args()

    config = merged_config(args.configfile)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    timings: dict[str, float] = {}

    synth = work / "synth"
    all_views = args.clips > 200 or bool(config["data"]["synth"].get("all_views"))
    if not (synth / "xview" / "val_data.npy").is_file():
        cmd = [py, "-m", "ciasa.data.synth", "--out", str(synth), "--frames", str(config["data"]["synth"]["frames"])]
        timings["data_s"] = run(cmd + (["--all-views"] if all_views else []), work / "synth.log")
    data = synth / config["data"]["benchmark"]

    checkpoint = args.checkpoint
    if checkpoint is None:
        checkpoint = str(work / "model" / "model.pt")
        if not Path(checkpoint).is_file():
            recipe = config["model"]["train"]
            cmd = [
                py,
                "-m",
                "ciasa.train",
                "--config",
                recipe["config"],
                "--data",
                str(data),
                "--out",
                str(work / "model"),
                "--device",
                args.device,
                "--split-val",
                "",
            ]
            if args.epochs:
                cmd += ["--epochs", str(args.epochs)]
            timings["train_s"] = run(cmd, work / "train.log")

    split = load_split(data, "val", mmap=True, check_values=False)
    clips = select_clips(
        split.names,
        split.labels,
        count=args.clips,
        seed=int(config["clips"]["seed"]),
        class_names=split.class_names,
        source=str(data),
    )
    selection = work / f"selection_{args.clips}.txt"
    write_clip_list(selection, clips)

    out_dir = work / f"attack_{args.clips}"
    cmd = [
        py,
        "-m",
        "ciasa.attack",
        "--checkpoint",
        checkpoint,
        "--data",
        str(data),
        "--split",
        "val",
        "--mode",
        config["attack"]["mode"],
        "--names",
        f"@{selection}",
        "--device",
        args.device,
        "--threads",
        str(args.threads),
        "--no-progress",
        "--out",
        str(out_dir),
        "--clips-out",
        str(work / f"skeletons_{args.clips}"),
    ]
    cmd += [part for part in cli_flags(config["attack"]["options"]).split() if part]
    timings["attack_process_s"] = run(cmd, work / f"attack_{args.clips}.log")
    summary = json.loads((out_dir / "summary.json").read_text())

    device = summary.get("device", args.device)
    result = {
        "benchmark": "the pipeline's attack stage: one ciasa.attack process for the whole selection",
        "command": "python benchmarks/attack_stage.py " + " ".join(sys.argv[1:]),
        "clips": len(clips),
        "device": device,
        "threads": args.threads,
        "attack_command": " ".join(cmd[1:]),
        "seconds": timings,
        "attack_process_s_per_clip": timings["attack_process_s"] / len(clips),
        "attack_summary_seconds": summary.get("seconds"),
        "flipped": summary.get("flipped"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()},
    }
    if str(device).startswith("cuda"):
        import torch

        result["machine"]["gpu"] = torch.cuda.get_device_name(0)
    name = "cuda" if str(device).startswith("cuda") else "cpu"
    out = Path(args.out) if args.out else REPO / "benchmarks" / "results" / f"attack_stage_{name}_{len(clips)}.json"
    atomic_write_json(out, result)
    print(json.dumps({k: result[k] for k in ("clips", "device", "seconds", "attack_process_s_per_clip")}, indent=1))
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
