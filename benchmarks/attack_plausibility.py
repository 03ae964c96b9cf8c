"""Human-possible perturbations and the matched control, measured through ``python -m ciasa.attack``.

For each model (``--model NAME=CHECKPOINT@DATA_DIR``) draws ``--n`` random clips among
those it classifies correctly on the split (seeded, drawn before any attack runs), then
runs the attack CLI itself on those clips once per plausibility setting
(``--configs``; default: without the constraints, and with the default 'both'), with
the demo's advanced-mode options (untargeted, lambda 5, perturbation formulation, and
the round-trip error model when ``--error-model`` is given). From each run's
``summary.json`` it keeps: flipped (of clean-correct), the plausibility measures for
clean / perturbed / control side by side (knee hyperextension > 10 and > 20 degrees,
feet > 2 cm under the floor, foot skating, top speed ratio), the realised displacement
next to eps, and the control's skeleton-domain flipped count and size ratio.

    python benchmarks/attack_plausibility.py \\
        --model demo=RESULTS/models/model.pt@RESULTS/data/synth/xview \\
        --model plain=RUN/model.pt@DATA/xsub --n 60 \\
        --error-model pose_extract/models/roundtrip_error_synth.json \\
        --result benchmarks/results/attack_plausibility.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa import attack as attack_cli  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402

# name -> extra CLI flags
CONFIGS: dict[str, list[str]] = {
    "off": ["--plausible", "none"],
    "default": ["--plausible", "all"],  # the CLI's default method and weight
    "both": ["--plausible", "all", "--plausible-method", "both", "--plausible-weight", "10"],
    "projection": ["--plausible", "all", "--plausible-method", "projection", "--plausible-weight", "10"],
    "penalty": ["--plausible", "all", "--plausible-method", "penalty", "--plausible-weight", "10"],
    "both-lr0.2": ["--plausible", "all", "--plausible-method", "both", "--plausible-weight", "10", "--lr", "0.2"],
    "penalty-w50": ["--plausible", "all", "--plausible-method", "penalty", "--plausible-weight", "50"],
}


def pick_clips(checkpoint: str, data: str, split: str, n: int, seed: int) -> tuple[list[str], int, int]:
    """``n`` random clean-correct clips (seeded permutation, then the first n correct ones)."""
    from ciasa.data.stgcn import load_split
    from ciasa.models import load_model

    model, meta = load_model(checkpoint, device="cpu")
    layout = model.layout if hasattr(model, "layout") else meta["layout"]
    ds = load_split(data, split, layout=layout, mmap=False)
    order = np.random.default_rng(seed).permutation(len(ds.names))
    picked: list[str] = []
    tried = 0
    model.eval()
    with torch.no_grad():
        for lo in range(0, len(order), 64):
            idx = order[lo : lo + 64]
            pred = model(torch.from_numpy(np.ascontiguousarray(ds.data[np.sort(idx)], dtype=np.float32))).argmax(1)
            pred = pred.numpy()[np.argsort(np.argsort(idx))]
            for i, p in zip(idx, pred):
                tried += 1
                if int(p) == int(ds.labels[i]):
                    picked.append(ds.names[i])
                if len(picked) == n:
                    return picked, tried, len(ds.names)
    return picked, tried, len(ds.names)


def keep(summary: dict[str, Any]) -> dict[str, Any]:
    c = summary.get("control") or {}
    return {
        "flipped": summary["flipped"],
        "n": summary["n"],
        "plausibility": summary.get("plausibility"),
        "realised_displacement": summary.get("realised_displacement"),
        "control": None
        if not c
        else {
            "flipped": c["flipped"],
            "accuracy": c["accuracy"],
            "correct": c["correct"],
            "realised_displacement": c["realised_displacement"],
        },
        "plausibility_settings": summary.get("plausibility_settings"),
        "seconds": summary["seconds"],
    }


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.1f} %"


def table(record: dict[str, Any]) -> str:
    """docs/attacks.md's Plausibility table from a result record (one row per model and setting)."""
    rows = [
        "| model | plausibility | flipped | knee hyperext. > 10 / > 20 deg (clean) | foot > 2 cm under floor "
        "(clean) | foot skating mm (clean) | top speed ratio max | leg displacement mean / max mm | "
        "control flipped | control / adversarial displacement | control knee > 10 deg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in record["models"].items():
        for config, run in entry["runs"].items():
            p, d, c = run["plausibility"], run["realised_displacement"], run["control"] or {}
            pc, pp, pk = p["clean"], p["perturbed"], p.get("control") or {}
            f = run["flipped"]
            cf = c.get("flipped") or {}
            rows.append(
                f"| {name} | {config} | {f['count']}/{f['of']} | {_pct(pp['leg_hyperextended_10deg'])} / "
                f"{_pct(pp['leg_hyperextended_20deg'])} ({_pct(pc['leg_hyperextended_10deg'])}) | "
                f"{_pct(pp['under_floor_2cm'])} ({_pct(pc['under_floor_2cm'])}) | "
                f"{pp['foot_skating_mm']:.1f} ({pc['foot_skating_mm']:.1f}) | {pp['max_speed_ratio']:.2f} | "
                f"{d['mean_mm']:.1f} / {d['max_mm']:.1f} | {cf.get('count', '')}/{cf.get('of', '')} | "
                f"{(c.get('realised_displacement') or {}).get('ratio') or float('nan'):.2f} | "
                f"{_pct(pk.get('leg_hyperextended_10deg'))} |"
            )
    return "\n".join(rows)


def merge(paths: list[str], result: Path) -> int:
    """One record from several runs of this script (one model or configuration per process, side by
    side): runs of one model on the same clips are put together."""
    records = [json.loads(Path(p).read_text()) for p in paths]
    out = {k: v for k, v in records[0].items() if k != "models"}
    out["command"] = [r["command"] for r in records]
    out["models"] = {}
    for r in records:
        for name, entry in r["models"].items():
            runs = {k: {**v, "record_command": r["command"]} for k, v in entry["runs"].items()}
            if name not in out["models"]:
                out["models"][name] = {**entry, "runs": runs}
                continue
            have = out["models"][name]
            if have["clips"] != entry["clips"] or set(have["runs"]) & set(runs):
                raise SystemExit(f"model {name!r}: records on other clips, or the same configuration twice")
            have["runs"].update(runs)
    atomic_write_json(result, out)
    print(table(out))
    print(f"wrote {result}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", default=[], help="NAME=CHECKPOINT@DATA_DIR (repeat)")
    p.add_argument(
        "--merge",
        nargs="+",
        default=None,
        help="instead of measuring: combine the records of runs made side by side (one model each) into --result",
    )
    p.add_argument("--split", default="val")
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--configs", default="off,default", help=f"comma list of {', '.join(CONFIGS)}")
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--lam", type=float, default=5.0)
    p.add_argument("--error-model", default=None)
    p.add_argument("--error-samples", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", default=None, help="folder for the attack outputs (default: a temporary one)")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="take a configuration's finished summary.json from --work instead of running it again "
        "(to gather runs made side by side)",
    )
    p.add_argument("--result", default=str(REPO / "benchmarks/results/attack_plausibility.json"))
    args = p.parse_args(argv)
    if args.merge:
        return merge(args.merge, Path(args.result))
    torch.set_num_threads(args.threads)
    if not args.model:
        p.error("give --model NAME=CHECKPOINT@DATA_DIR (or --merge)")
    configs = [c for c in args.configs.split(",") if c]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        p.error(f"--configs: unknown {unknown} (known: {', '.join(CONFIGS)})")
    record: dict[str, Any] = {
        "command": " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "what": "advanced mode (legs), untargeted margin loss, perturbation formulation, lambda "
        f"{args.lam}, {args.max_iter} iterations"
        + (
            f", transfer-aware (error model {args.error_model}, {args.error_samples} samples)"
            if args.error_model
            else ""
        )
        + "; plausibility off vs on, and the matched control of each run",
        "n_requested": args.n,
        "split": args.split,
        "seed": args.seed,
        "models": {},
    }
    work_root = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="attack_plausibility_"))
    for spec in args.model:
        name, _, rest = spec.partition("=")
        checkpoint, _, data = rest.partition("@")
        names, tried, total = pick_clips(checkpoint, data, args.split, args.n, args.seed)
        entry: dict[str, Any] = {
            "checkpoint": checkpoint,
            "data": data,
            "clips": names,
            "clips_tried": tried,
            "split_size": total,
            "runs": {},
        }
        print(
            f"[{name}] {len(names)} clean-correct clips of the first {tried} drawn ({total} in {args.split})",
            flush=True,
        )
        for config in configs:
            out = work_root / name / config
            cli = [
                "--checkpoint",
                checkpoint,
                "--data",
                data,
                "--split",
                args.split,
                "--out",
                str(out),
                "--names",
                ",".join(names),
                "--mode",
                "advanced",
                "--optimize",
                "perturbation",
                "--target",
                "untargeted",
                "--lam",
                str(args.lam),
                "--max-iter",
                str(args.max_iter),
                "--batch-size",
                str(args.batch_size),
                "--threads",
                str(args.threads),
                "--device",
                "cpu",
                "--seed",
                str(args.seed),
                "--no-progress",
                "--quiet",
                *CONFIGS[config],
            ]
            if args.error_model:
                cli += ["--error-model", args.error_model, "--error-samples", str(args.error_samples)]
            tick = time.perf_counter()
            reused = args.reuse and (out / "summary.json").exists()
            if not reused:
                rc = attack_cli.main(cli)
                if rc != 0:
                    raise SystemExit(f"attack CLI failed ({rc}) for {name}/{config}")
            summary = json.loads((out / "summary.json").read_text())
            if reused and summary["clips_out"] is None and summary["n"] != len(names):
                raise SystemExit(f"{out}: a finished run on other clips; remove it or drop --reuse")
            run = keep(summary)
            run["attack_settings"] = {
                k: summary.get(k)
                for k in ("formulation", "mode", "target_rule", "lam", "max_iter", "error_model", "error_samples")
            }
            run["wall_seconds"] = summary["total_seconds"] if reused else time.perf_counter() - tick
            run["command"] = "python -m ciasa.attack " + " ".join(shlex.quote(a) for a in cli)
            entry["runs"][config] = run
            print(f"[{name}/{config}] {attack_cli.counts_line(summary)} ({run['wall_seconds']:.0f} s)", flush=True)
        record["models"][name] = entry
        atomic_write_json(Path(args.result), record)
    atomic_write_json(Path(args.result), record)
    print(table(record))
    print(f"wrote {args.result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
