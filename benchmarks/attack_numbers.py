"""Attack success and perturbation numbers on a data set + checkpoint (the embedded demo set by default).

Runs (unless ``--collect-only``) and then collects:
- ``python -m ciasa.experiments fgsm-sweep`` (Fig. 2 shape),
- ``python -m ciasa.attack --mode advanced`` and ``--mode basic --eps 0.01`` (12 clips),
- ``python -m ciasa.experiments basic-sweep`` (Table I shape, eps up to 0.2),
- ``python -m ciasa.experiments ablation`` (Table IV shape),
- ``python -m ciasa.experiments regions`` (Table II shape, plus advanced),
- ``python -m ciasa.experiments lambda`` (Table V shape),

and writes ``benchmarks/results/attack_numbers.json`` with the commands that made them.

Run: ``python benchmarks/attack_numbers.py --checkpoint C --data DIR/xsub --work OUT``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.io import atomic_write_json  # noqa: E402


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    py = [sys.executable, "-m"]
    common = [
        "--checkpoint",
        str(args.checkpoint),
        "--data",
        str(args.data),
        "--no-progress",
        "--threads",
        str(args.threads),
    ]
    work = str(args.work)
    names = str(args.work / "attacked_names.txt")
    cmds = {
        "fgsm-sweep": [
            *py,
            "ciasa.experiments",
            "fgsm-sweep",
            *common,
            "--out",
            work,
            "--shuffle",
            "--limit",
            str(args.limit_fgsm),
            "--eps",
            "0.002,0.005,0.01,0.02,0.05,0.1",
        ],
        "advanced": [
            *py,
            "ciasa.attack",
            *common,
            "--out",
            f"{work}/advanced",
            "--mode",
            "advanced",
            "--names",
            f"@{names}",
            "--limit",
            str(args.limit),
            "--batch-size",
            str(args.limit),
            "--max-iter",
            str(args.max_iter),
            "--early-stop",
            "0",
        ],
        "basic": [
            *py,
            "ciasa.attack",
            *common,
            "--out",
            f"{work}/basic",
            "--mode",
            "basic",
            "--eps",
            "0.01",
            "--names",
            f"@{names}",
            "--limit",
            str(args.limit),
            "--batch-size",
            str(args.limit),
            "--max-iter",
            str(args.max_iter),
            "--early-stop",
            "0",
        ],
        "basic-sweep": [
            *py,
            "ciasa.experiments",
            "basic-sweep",
            *common,
            "--out",
            work,
            "--shuffle",
            "--limit",
            str(args.limit_small),
            "--max-iter",
            str(args.max_iter),
            "--early-stop",
            "0",
            "--eps",
            "0.004,0.008,0.01,0.012,0.02,0.05",
        ],
        "ablation": [
            *py,
            "ciasa.experiments",
            "ablation",
            *common,
            "--out",
            work,
            "--shuffle",
            "--limit",
            str(args.limit_small),
            "--max-iter",
            str(args.max_iter),
            "--eps",
            "0.01",
        ],
        "regions": [
            *py,
            "ciasa.experiments",
            "regions",
            *common,
            "--out",
            work,
            "--shuffle",
            "--limit",
            str(args.limit_small),
            "--max-iter",
            str(args.max_iter),
            "--early-stop",
            "0",
        ],
        "lambda": [
            *py,
            "ciasa.experiments",
            "lambda",
            *common,
            "--out",
            work,
            "--shuffle",
            "--limit",
            str(args.limit_small),
            "--max-iter",
            str(args.max_iter),
            "--early-stop",
            "0",
            "--eps",
            "0.01",
        ],
    }
    return cmds


def write_random_names(data: Path, out: Path, count: int, seed: int = 0) -> None:
    """A random draw of validation samples (the file lists them by subject, then class)."""
    from ciasa.data.stgcn import load_labels

    names, _ = load_labels(data / "val_label.pkl")
    pick = np.random.default_rng(seed).permutation(len(names))[:count]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{names[i]}\n" for i in sorted(pick)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True, help="where the experiments write their outputs")
    p.add_argument("--limit", type=int, default=48)
    p.add_argument("--limit-fgsm", type=int, default=200)
    p.add_argument("--limit-small", type=int, default=24)
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (1 is fastest on a busy 2-core box)")
    p.add_argument("--collect-only", action="store_true", help="only gather results already in --work")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "attack_numbers.json")
    args = p.parse_args()
    cmds = commands(args)
    if not args.collect_only:
        write_random_names(args.data, args.work / "attacked_names.txt", args.limit)
        for name, cmd in cmds.items():
            print("running", name, flush=True)
            subprocess.run(cmd, check=True, cwd=REPO)
    record: dict = {"checkpoint": str(args.checkpoint), "data": str(args.data), "results": {}, "commands": {}}
    for name, cmd in cmds.items():
        single = name in ("advanced", "basic")
        path = args.work / name / "summary.json" if single else args.work / f"{name.replace('-', '_')}.json"
        if not path.exists():
            print(f"missing {path}", file=sys.stderr)
            continue
        data = json.loads(path.read_text())
        record["results"][name] = (
            data
            if not single
            else {
                k: data.get(k)
                for k in (
                    "n",
                    "n_clean_correct",
                    "clean_accuracy",
                    "attacked_accuracy",
                    "flipped",
                    "targeted_success",
                    "fooling_targeted",
                    "fooling_untargeted",
                    "formulation",
                    "target_rule",
                    "smoothness",
                    "box",
                    "mean_target_confidence",
                    "joint_variation",
                    "bone_length_error",
                    "acceleration_energy",
                    "eps_overshoot",
                    "seconds",
                    "mean_iterations",
                    "max_iter",
                    "early_stop",
                    "eps",
                )
            }
        )
        record["commands"][name] = " ".join(c if c != sys.executable else "python" for c in cmd)
    atomic_write_json(args.out, record)
    print(json.dumps({k: v.get("rows", v) for k, v in record["results"].items()}, indent=1)[:4000])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
