"""``python -m ciasa.attack``: attack one split of an ST-GCN-layout data set with CIASA.

Writes, in OUT:
- ``{split}_data.npy`` + ``{split}_label.pkl``: the perturbed skeletons in the ST-GCN
  layout, with the original sample names and *true* labels (so evaluating them gives
  the attacked accuracy);
- ``per_sample.csv``: one row per sample (target, predictions, success, iterations,
  perturbation statistics);
- ``summary.json``: fooling rates, accuracies, target confidence, joint variation,
  bone-length error, acceleration energy, per-joint L-inf against eps, timing.

Every file is written atomically; ``summary.json`` comes last, so its presence means
the run finished.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ciasa.attacks.ciasa import CIASA, DEFAULT_MAX_ITER, MODES
from ciasa.attacks.runner import attack_dataset
from ciasa.io import atomic_write_json, atomic_write_text

log = logging.getLogger("ciasa.attack")

CSV_COLUMNS = (
    "name", "label", "target", "clean_pred", "adv_pred", "target_confidence",
    "success_targeted", "success_untargeted", "clean_correct", "iterations",
    "joint_var_min", "joint_var_max", "joint_var_mean", "bone_error_mean", "bone_error_max",
    "accel_energy_clean", "accel_energy_adv", "accel_energy_perturbation",
    "linf_max", "eps_overshoot_max",
)  # fmt: skip


def parse_eps(text: str | None) -> float | list[float] | None:
    """'0.01' -> 0.01; '0.01,0.05,...' (one value per joint) -> list."""
    if text is None:
        return None
    parts = [p for p in text.replace(" ", "").split(",") if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--eps: not a number or comma-separated list of numbers: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("--eps is empty")
    return values[0] if len(values) == 1 else values


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ciasa.attack",
        description=(
            "Attack one split of an ST-GCN-layout data set with CIASA (Liu et al., TNNLS 2020) and write "
            "the perturbed skeletons, a per-sample CSV and a summary JSON. Modes: basic (all joints, "
            "global eps 0.01), localized (one region, eps 0.04), advanced (the two legs, hierarchical eps "
            "hips 0.01 / knees 0.05 / ankles 0.15 / feet 0.25)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="model checkpoint (ours or an official ST-GCN state dict)")
    p.add_argument("--data", required=True, help="ST-GCN layout directory with {split}_data.npy / {split}_label.pkl")
    p.add_argument("--split", default="val", help="split to attack")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--mode", choices=MODES, default="advanced")
    p.add_argument("--eps", type=parse_eps, default=None,
                   help="clipping radius in metres: one number, or one per joint comma-separated "
                        "(default: the mode's)")
    p.add_argument("--region", default=None, help="attack region: all, legs, set-1..set-4 (default: the mode's)")
    p.add_argument("--max-iter", type=int, default=DEFAULT_MAX_ITER, help="attack iterations")
    p.add_argument("--early-stop", type=float, default=None,
                   help="stop a sample once the target class has at least this probability (default: never)")
    p.add_argument("--lam", type=float, default=10.0, help="weight of the smoothness and GAN terms")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (skeleton and discriminator)")
    p.add_argument("--target", choices=("least_likely", "random"), default="least_likely")
    p.add_argument("--no-ssr", action="store_true", help="skip spatial skeleton realignment")
    p.add_argument("--no-smooth", action="store_true", help="drop the temporal smoothness term")
    p.add_argument("--no-gan", action="store_true", help="drop the GAN (discriminator) term")
    p.add_argument("--real-data", default=None,
                   help="clean data the discriminator learns real frames from (default: --data)")
    p.add_argument("--real-split", default="train", help="split of --real-data")
    p.add_argument("--names-file", default=None, help="attack only these sample names (one per line)")
    p.add_argument("--limit", type=int, default=None, help="attack only the first N (selected) samples")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-class", type=int, default=None, help="classes (official state dicts only)")
    p.add_argument("--layout", default=None, help="skeleton layout (official state dicts only)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    return p


def select_samples(names: list[str], names_file: str | None, limit: int | None) -> np.ndarray:
    """Indices to attack: those named in ``names_file`` (in file order), then the first ``limit``."""
    index = np.arange(len(names))
    if names_file is not None:
        path = Path(names_file)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: names file not found")
        wanted = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
        where = {n: i for i, n in enumerate(names)}
        missing = [n for n in wanted if n not in where]
        if missing:
            raise ValueError(f"{path}: {len(missing)} sample names are not in the data, e.g. {missing[:3]}")
        index = np.array([where[n] for n in wanted], dtype=np.int64)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"--limit must be >= 1, got {limit}")
        index = index[:limit]
    if index.size == 0:
        raise ValueError("no samples selected to attack")
    return index


def per_sample_csv(names: Sequence[str], run: Any) -> str:
    r, s = run.result, run.stats
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for i, name in enumerate(names):
        w.writerow([
            name, int(r.labels[i]), int(r.target[i]), int(r.clean_pred[i]), int(r.prediction[i]),
            f"{float(r.target_confidence[i]):.6f}", int(r.success[i]), int(r.success_untargeted[i]),
            int(r.clean_correct[i]), int(r.iterations[i]),
            *(f"{float(s[k][i]):.6g}" for k in CSV_COLUMNS[10:]),
        ])  # fmt: skip
    return buf.getvalue()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ciasa.data.stgcn import load_split, save_split
    from ciasa.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model, meta = load_model(args.checkpoint, device=args.device, num_class=args.num_class, layout=args.layout)
    layout = model.layout if hasattr(model, "layout") else meta["layout"]
    data = load_split(args.data, args.split, layout=layout)
    n_class = int(meta.get("model_args", {}).get("num_class") or getattr(model, "num_class", 0)) or None
    if n_class is not None and data.labels.size and data.labels.max() >= n_class:
        raise ValueError(
            f"{data.source}: label {int(data.labels.max())} out of range for the model's {n_class} classes "
            f"({args.checkpoint})"
        )
    in_channels = getattr(model, "in_channels", None)
    if in_channels is not None and data.shape[1] != in_channels:
        raise ValueError(
            f"{data.source}: {data.shape[1]} channels but the model ({args.checkpoint}) takes {in_channels}"
        )
    index = select_samples(data.names, args.names_file, args.limit)
    names = [data.names[i] for i in index]
    labels = data.labels[index]
    clips = np.asarray(data.data[np.sort(index)] if index.size else data.data[:0], dtype=np.float32)
    clips = clips[np.argsort(np.argsort(index))]  # back to the requested order

    real = None
    if not args.no_gan:
        real_dir = args.real_data or args.data
        try:
            real = load_split(real_dir, args.real_split, layout=layout)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"{err} -- the discriminator needs clean real samples: give --real-data/--real-split, "
                f"or --no-gan"
            ) from None

    attack = CIASA(
        model, mode=args.mode, eps=args.eps, region=args.region, lam=args.lam, lr=args.lr,
        max_iter=args.max_iter, use_ssr=not args.no_ssr, use_smooth=not args.no_smooth,
        use_gan=not args.no_gan, target=args.target, early_stop=args.early_stop,
        real_source=real, layout=layout, device=args.device, seed=args.seed,
    )  # fmt: skip
    log.info(
        "attacking %d samples of %s (%s mode, region %s, %d iterations, device %s)",
        len(index), data.source, args.mode, attack.region, args.max_iter, attack.device,
    )
    result = attack_dataset(
        attack, clips, labels, layout, attack.eps, attack.joint_mask, args.batch_size,
        progress=not args.no_progress, desc=f"CIASA {args.mode}",
    )  # fmt: skip

    out = Path(args.out)
    save_split(out, args.split, result.result.adversarial.numpy(), names, labels, data.class_names, layout)
    atomic_write_text(out / "per_sample.csv", per_sample_csv(names, result))
    summary = {
        "format": "ciasa-attack-summary/1",
        "checkpoint": str(args.checkpoint),
        "data": str(args.data),
        "split": args.split,
        "mode": args.mode,
        "region": attack.region,
        "attacked_joints": [layout.joint_names[j] for j in attack.joint_mask.nonzero().flatten().tolist()],
        "eps": attack.eps.tolist(),
        "max_iter": args.max_iter,
        "early_stop": args.early_stop,
        "lam": args.lam,
        "lr": args.lr,
        "target_mode": args.target,
        "constraints": {"ssr": not args.no_ssr, "smooth": not args.no_smooth, "gan": not args.no_gan},
        "real_data": None if real is None else real.source,
        "device": str(attack.device),
        "seed": args.seed,
        **result.summary(attack.eps, attack.joint_mask),
        "total_seconds": time.perf_counter() - started,
    }
    summary["eps_overshoot"]["joint_names"] = [layout.joint_names[j] for j in summary["eps_overshoot"]["joints"]]
    atomic_write_json(out / "summary.json", summary)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        summary = run(args)
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {msg}", file=sys.stderr)
        return 2
    ft, fu = summary["fooling_targeted"], summary["fooling_untargeted"]
    fmt = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    log.info(
        "%d samples: clean acc %s, attacked acc %s, fooling targeted %s / untargeted %s (over clean-correct), "
        "%.1f s -> %s",
        summary["n"], fmt(summary["clean_accuracy"]), fmt(summary["attacked_accuracy"]), fmt(ft), fmt(fu),
        summary["seconds"], args.out,
    )  # fmt: skip
    if "note" in summary:
        log.warning(summary["note"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
