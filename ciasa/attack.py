"""``python -m ciasa.attack``: attack a selection of one split with CIASA, in batches.

One job per shard: the model, the data and the discriminator's real frames are loaded
once and the whole selection (``--names``, ``--limit``) is attacked batch by batch.
Writes, in OUT:

- ``{split}_data.npy`` + ``{split}_label.pkl``: the perturbed skeletons in the ST-GCN
  layout, with the original sample names and *true* labels (evaluating them gives the
  attacked accuracy);
- ``per_sample.csv``: one row per clip (target, predictions, flipped, iterations,
  perturbation statistics);
- ``summary.json``: the attack's settings, honest counts (flipped and targeted success
  over the clean-correct clips, with numerator and denominator), accuracies,
  perturbation statistics, the mean logit gap per step, timing.

With ``--clips-out DIR`` it also writes every clip as ``DIR/{name}/clean.npy`` and
``DIR/{name}/perturbed.npy`` (float32 ``(C, T, V, M)``), which the renderer reads as is.

Bad input (unknown option value, target class out of range, a bad error model, names
not in the data) stops before anything is written. Every file is written atomically;
``summary.json`` comes last, so its presence means the run finished.
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

from ciasa import cli
from ciasa.attacks.ciasa import BOXES, CIASA, DEFAULT_LR, DEFAULT_MAX_ITER, MODES, OPTIMIZE
from ciasa.attacks.losses import SMOOTHNESS
from ciasa.attacks.objectives import TARGET_RULES, parse_target
from ciasa.attacks.runner import attack_dataset
from ciasa.io import atomic_save_npy, atomic_write_json, atomic_write_text

log = logging.getLogger("ciasa.attack")

CSV_COLUMNS = (
    "name", "label", "target", "clean_pred", "adv_pred", "target_confidence",
    "success_targeted", "success_untargeted", "clean_correct", "flipped", "iterations",
    "joint_var_min", "joint_var_max", "joint_var_mean", "bone_error_mean", "bone_error_max",
    "accel_energy_clean", "accel_energy_adv", "accel_energy_perturbation",
    "linf_max", "eps_overshoot_max",
)  # fmt: skip
_STAT_COLUMNS = CSV_COLUMNS[11:]


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
    p = cli.parser(
        "python -m ciasa.attack",
        "Attack a selection of one split of an ST-GCN-layout data set with CIASA (Liu et al., TNNLS 2020) "
        "and write the perturbed skeletons, a per-clip CSV and a summary JSON. Modes: basic (all joints, "
        "global eps 0.01), localized (one region, eps 0.04), advanced (the two legs, hierarchical eps hips "
        "0.01 / knees 0.05 / ankles 0.15 / feet 0.25). docs/attacks.md explains every option and its measured "
        "effect.",
    )
    io_ = p.add_argument_group("input and output")
    cli.add_checkpoint_flag(io_)
    io_.add_argument("--data", required=True, help="ST-GCN layout directory with {split}_data.npy / {split}_label.pkl")
    io_.add_argument("--split", default="val", help="split to attack")
    io_.add_argument("--out", required=True, help="output directory")
    cli.add_names_flag(io_, help="attack only these sample names, in this order (unset: the whole split)")
    io_.add_argument("--limit", type=cli.positive_int, default=None, help="attack only the first N selected samples")
    io_.add_argument("--clips-out", default=None,
                     help="also write every clip as DIR/{name}/clean.npy and DIR/{name}/perturbed.npy "
                          "(float32 (C, T, V, M)) for the renderer")
    io_.add_argument("--num-class", type=int, default=None, help="classes (official state dicts only)")
    io_.add_argument("--layout", default=None, help="skeleton layout (official state dicts only)")

    a = p.add_argument_group("attack")
    a.add_argument("--mode", choices=MODES, default="advanced", help="attack mode: joints and clipping radii")
    a.add_argument("--optimize", choices=OPTIMIZE, default="perturbation",
                   help="skeleton = Algorithm 1 as printed (Adam on the skeleton, overwritten by clip+SSR each "
                        "step); perturbation = Adam on a box perturbation, the model evaluated at "
                        "SSR(clip(x + delta)) through a differentiable SSR")
    a.add_argument("--target", default="least_likely",
                   help=f"target rule: {', '.join(TARGET_RULES)} (margin loss pushing the true class down), "
                        "or a class index or class name")
    a.add_argument("--smooth", choices=SMOOTHNESS, default="perturbation",
                   help="smoothness term: paper = eq. 7 as printed (signed sum of accelerations), ours = "
                        "acceleration norm of the perturbed clip, perturbation = acceleration norm of the "
                        "perturbation (zero at the clean input)")
    a.add_argument("--box", choices=BOXES, default="loose",
                   help="loose: SSR may carry a joint past its eps (the paper); strict: after SSR every joint "
                        "is brought back inside its eps box, bones kept at their clean length")
    a.add_argument("--eps", type=parse_eps, default=None,
                   help="clipping radius in metres: one number, or one per joint comma-separated "
                        "(unset: the mode's)")
    a.add_argument("--region", default=None, help="attack region: all, legs, set-1..set-4 (unset: the mode's)")
    a.add_argument("--max-iter", type=cli.positive_int, default=DEFAULT_MAX_ITER, help="attack iterations")
    a.add_argument("--early-stop", type=float, default=None,
                   help="stop a clip once its objective is met with at least this probability (unset: never)")
    a.add_argument("--lam", type=float, default=10.0, help="weight of the smoothness and GAN terms")
    a.add_argument("--lr", type=float, default=None,
                   help=f"Adam learning rate of the attack variable (unset: skeleton {DEFAULT_LR['skeleton']} m, "
                        f"perturbation {DEFAULT_LR['perturbation']} x eps)")
    a.add_argument("--no-ssr", action="store_true", help="skip spatial skeleton realignment")
    a.add_argument("--no-smooth", action="store_true", help="drop the temporal smoothness term")
    a.add_argument("--no-gan", action="store_true", help="drop the GAN (discriminator) term")
    a.add_argument("--real-data", default=None,
                   help="clean data the discriminator learns real frames from (unset: --data)")
    a.add_argument("--real-split", default="train", help="split of --real-data")
    a.add_argument("--error-model", default=None,
                   help="round-trip error model JSON (docs/CONTRACTS.md): makes the attack transfer-aware")
    a.add_argument("--error-samples", type=int, default=None,
                   help="round-trip error samples per step with --error-model (unset: 4)")
    a.add_argument("--seed", type=int, default=0, help="seeds targets, the discriminator and error samples")

    r = p.add_argument_group("running")
    r.add_argument("--batch-size", type=cli.positive_int, default=16, help="clips attacked together")
    cli.add_device_flag(r)
    cli.add_threads_flag(r)
    cli.add_progress_flag(r)
    cli.add_logging_flags(r)
    return p


def select_samples(names: list[str], wanted: list[str] | None, limit: int | None, source: str) -> np.ndarray:
    """Indices to attack: ``wanted`` (in that order) or all, then the first ``limit``."""
    index = np.arange(len(names))
    if wanted is not None:
        where = {n: i for i, n in enumerate(names)}
        missing = [n for n in wanted if n not in where]
        if missing:
            raise ValueError(f"{source}: {len(missing)} of the --names are not in the data, e.g. {missing[:3]}")
        if len(set(wanted)) != len(wanted):
            raise ValueError("--names lists a sample more than once")
        index = np.array([where[n] for n in wanted], dtype=np.int64)
    if limit is not None:
        index = index[:limit]
    if index.size == 0:
        raise ValueError("no samples selected to attack")
    return index


def check_clip_names(names: Sequence[str]) -> None:
    """Names become directories under --clips-out: no separators, no '.'/'..'."""
    bad = [n for n in names if not n or n in (".", "..") or "/" in n or "\\" in n or "\0" in n]
    if bad:
        raise ValueError(f"--clips-out: sample names that cannot be directory names: {bad[:3]}")


def per_sample_csv(names: Sequence[str], run: Any) -> str:
    r, s = run.result, run.stats
    flipped = r.clean_correct & (r.prediction != r.labels)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for i, name in enumerate(names):
        conf = float(r.target_confidence[i])
        w.writerow([
            name, int(r.labels[i]), int(r.target[i]), int(r.clean_pred[i]), int(r.prediction[i]),
            "" if conf != conf else f"{conf:.6f}", int(r.prediction[i] == r.target[i]),
            int(r.success_untargeted[i]), int(r.clean_correct[i]), int(flipped[i]), int(r.iterations[i]),
            *(f"{float(s[k][i]):.6g}" for k in _STAT_COLUMNS),
        ])  # fmt: skip
    return buf.getvalue()


def write_clips(root: Path, names: Sequence[str], clean: np.ndarray, perturbed: np.ndarray) -> None:
    for i, name in enumerate(names):
        atomic_save_npy(root / name / "clean.npy", np.ascontiguousarray(clean[i], dtype=np.float32))
        atomic_save_npy(root / name / "perturbed.npy", np.ascontiguousarray(perturbed[i], dtype=np.float32))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load once, check everything, attack the selection in batches, write the outputs."""
    from ciasa.attacks.roundtrip import load_error_model
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
    target = parse_target(args.target, meta.get("class_names") or data.class_names, n_class)
    error_model = load_error_model(args.error_model, layout) if args.error_model else None
    if args.error_samples is not None and args.error_samples < 0:
        raise ValueError(f"--error-samples must be >= 0, got {args.error_samples}")
    if args.error_samples and error_model is None:
        raise ValueError("--error-samples needs --error-model")
    samples = (4 if args.error_samples is None else args.error_samples) if error_model is not None else 0
    index = select_samples(data.names, args.names, args.limit, data.source)
    names = [data.names[i] for i in index]
    if args.clips_out:
        check_clip_names(names)
    labels = data.labels[index]
    clips = np.asarray(data.data[np.sort(index)], dtype=np.float32)[np.argsort(np.argsort(index))]

    real = None
    if not args.no_gan:
        try:
            real = load_split(args.real_data or args.data, args.real_split, layout=layout)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"{err} -- the discriminator needs clean real samples: give --real-data/--real-split, or --no-gan"
            ) from None

    attack = CIASA(
        model, mode=args.mode, eps=args.eps, region=args.region, lam=args.lam, lr=args.lr,
        max_iter=args.max_iter, use_ssr=not args.no_ssr, use_smooth=not args.no_smooth,
        use_gan=not args.no_gan, target=target, early_stop=args.early_stop, real_source=real,
        layout=layout, device=args.device, seed=args.seed, optimize=args.optimize, smooth=args.smooth,
        box=args.box, error_model=error_model, error_samples=samples,
    )  # fmt: skip
    log.info("attacking %d samples of %s: %s", len(index), data.source,
             ", ".join(f"{k} {v}" for k, v in attack.settings().items() if v is not None))
    result = attack_dataset(
        attack, clips, labels, layout, attack.eps, attack.joint_mask, args.batch_size,
        progress=cli.show_progress(args), desc=f"CIASA {args.mode}",
    )  # fmt: skip

    out = Path(args.out)
    adversarial = result.result.adversarial.numpy()
    save_split(out, args.split, adversarial, names, labels, data.class_names, layout)
    if args.clips_out:
        write_clips(Path(args.clips_out), names, clips, adversarial)
    atomic_write_text(out / "per_sample.csv", per_sample_csv(names, result))
    summary = {
        "format": "ciasa-attack-summary/2",
        "checkpoint": str(args.checkpoint),
        "data": str(args.data),
        "split": args.split,
        **attack.settings(),
        "attacked_joints": [layout.joint_names[j] for j in attack.joint_mask.nonzero().flatten().tolist()],
        "eps": attack.eps.tolist(),
        "early_stop": args.early_stop,
        "real_data": None if real is None else real.source,
        "clips_out": args.clips_out,
        "device": str(attack.device),
        "seed": args.seed,
        **result.summary(attack.eps, attack.joint_mask),
        "gap_curve": result.result.extra.get("gap_curve", []),
        "total_seconds": time.perf_counter() - started,
    }
    summary["eps_overshoot"]["joint_names"] = [layout.joint_names[j] for j in summary["eps_overshoot"]["joints"]]
    atomic_write_json(out / "summary.json", summary)
    return summary


def counts_line(summary: dict[str, Any]) -> str:
    """``flipped 10/12 clean-correct, targeted 7/12`` for the log."""
    f, t = summary["flipped"], summary["targeted_success"]
    text = f"flipped {f['count']}/{f['of']} clean-correct"
    if t is not None:
        text += f", on target {t['count']}/{t['of']}"
    return text


def work(args: argparse.Namespace) -> int:
    summary = run(args)
    log.info("%d clips (%d clean-correct): %s; %.1f s -> %s", summary["n"], summary["n_clean_correct"],
             counts_line(summary), summary["seconds"], args.out)
    if "note" in summary:
        log.warning(summary["note"])
    return cli.EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(work, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
