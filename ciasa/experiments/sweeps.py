"""The paper's attack experiments, in shape, on any data set and checkpoint.

- ``fgsm-sweep`` (Fig. 2): untargeted FGSM fooling rate against eps;
- ``basic-sweep`` (Table I): CIASA basic mode, least-likely target, eps 0.004..0.012;
- ``regions`` (Table II): localized mode per region (eps 0.04) plus the advanced mode;
- ``ablation`` (Table IV): clipping only, + SSR, + temporal term, + GAN term;
- ``lambda`` (Table V): the weight of the constraint terms.

Each writes ``NAME.csv``, ``NAME.md``, ``NAME.png`` and ``NAME.json`` (settings + rows)
into the output directory. Fooling rates are over the samples the model classifies
correctly when clean (the experiments attack only those, see ``--all-samples``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ciasa import cli
from ciasa.attacks import CIASA, FGSM
from ciasa.attacks.ciasa import DEFAULT_MAX_ITER
from ciasa.attacks.runner import attack_dataset
from ciasa.io import atomic_path, atomic_write_json, atomic_write_text
from ciasa.skeleton import SkeletonLayout

log = logging.getLogger(__name__)

# The two CIASA formulations every table is measured with (docs/attacks.md): Algorithm 1 as
# printed (Adam moves the joints, lr in metres; the acceleration penalty on the perturbed
# clip), and ours (Adam moves the perturbation in units of each joint's eps; the penalty on
# the perturbation's acceleration).
FORMULATIONS: dict[str, dict[str, str]] = {
    "skeleton": {"optimize": "skeleton", "smooth": "ours"},
    "perturbation": {"optimize": "perturbation", "smooth": "perturbation"},
}


@dataclass
class Setup:
    """A loaded model and the clips an experiment attacks."""

    model: torch.nn.Module
    layout: SkeletonLayout
    clips: np.ndarray
    labels: np.ndarray
    names: list[str]
    real: Any
    n_selected: int
    clean_accuracy: float | None
    args: argparse.Namespace
    clean_correct: np.ndarray | None = None  # per attacked sample: right on the clean clip
    attack_options: dict[str, Any] = field(default_factory=dict)  # the formulation's CIASA keywords
    # rows already measured on these clips, by their complete CIASA settings: Table I at eps 0.01,
    # Table IV's last row and Table V's lambda 10 are one attack, run once (see ``all``)
    row_cache: dict[str, dict[str, Any]] = field(default_factory=dict)


def clean_predictions(model: torch.nn.Module, clips: np.ndarray, batch_size: int, device: torch.device) -> np.ndarray:
    from ciasa.evaluate import predict

    return predict(model, clips, batch_size, device, progress=False).argmax(1).numpy().astype(np.int64)


def load_setup(args: argparse.Namespace) -> Setup:
    from ciasa.attacks.base import model_device
    from ciasa.data.model_fit import load_split_for_model, take
    from ciasa.data.stgcn import load_split
    from ciasa.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model, meta = load_model(args.checkpoint, device=args.device)
    layout = model.layout if hasattr(model, "layout") else meta["layout"]
    data = load_split_for_model(args.data, args.split, model, meta, args.checkpoint, args.allow_class_mismatch)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(data)) if args.shuffle else np.arange(len(data))
    clips = take(data.data, order)
    labels = data.labels[order]
    names = [data.names[i] for i in order]
    device = model_device(model) or torch.device("cpu")
    pred = clean_predictions(model, clips, args.batch_size, device)
    correct = pred == labels
    clean_acc = float(correct.mean()) if len(labels) else None
    keep = np.arange(len(labels)) if args.all_samples else np.flatnonzero(correct)
    if keep.size == 0:
        raise cli.BadInput(
            f"{data.source}: the model classifies no sample correctly (clean accuracy {clean_acc}); "
            "nothing to attack (use --all-samples to attack them anyway)"
        )
    if args.limit is not None:
        keep = keep[: args.limit]
    real = None
    if not getattr(args, "no_gan", False):
        real = load_split(args.real_data or args.data, args.real_split, layout=layout)
    log.info("%s: clean accuracy %.1f%%, attacking %d samples", data.source, 100 * (clean_acc or 0), keep.size)
    formulation = FORMULATIONS[getattr(args, "optimize", None) or "perturbation"]
    return Setup(
        model,
        layout,
        clips[keep],
        labels[keep],
        [names[i] for i in keep],
        real,
        keep.size,
        clean_acc,
        args,
        correct[keep],
        dict(formulation),
    )


def _attack_key(setup: Setup, options: dict[str, Any]) -> str:
    """The attack's complete settings (CIASA's defaults filled in) plus the clips they run on."""
    import inspect
    import json

    defaults = {
        k: p.default
        for k, p in inspect.signature(CIASA.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    full = {**defaults, **options}
    full.pop("progress", None)
    clips = hashlib.sha1(np.ascontiguousarray(setup.clips).tobytes()).hexdigest()
    return json.dumps({"checkpoint": str(setup.args.checkpoint), "clips": clips, **full}, sort_keys=True, default=str)


def _ciasa_row(setup: Setup, desc: str, **kwargs: Any) -> dict[str, Any]:
    a = setup.args
    options = {
        "seed": a.seed,
        "max_iter": kwargs.pop("max_iter", a.max_iter),
        "early_stop": a.early_stop,
        **setup.attack_options,
        **kwargs,
    }
    key = _attack_key(setup, options)
    if key in setup.row_cache:
        log.info("%s: the same attack on the same clips ran earlier in this run; its row is reused", desc)
        return dict(setup.row_cache[key])
    attack = CIASA(setup.model, layout=setup.layout, real_source=setup.real, **options)
    run = attack_dataset(
        attack,
        setup.clips,
        setup.labels,
        setup.layout,
        attack.eps,
        attack.joint_mask,
        a.batch_size,
        progress=cli.show_progress(a),
        desc=desc,
    )
    s = run.summary(attack.eps, attack.joint_mask)
    flipped, targeted = s.get("flipped") or {}, s.get("targeted_success") or {}
    row = {
        "fooling_targeted": _pct(s["fooling_targeted"]),
        "fooling_untargeted": _pct(s["fooling_untargeted"]),
        "targeted_count": _count(targeted),
        "flipped_count": _count(flipped),
        "target_confidence": s["mean_target_confidence"],
        "joint_var_min": s["joint_variation"]["min"],
        "joint_var_max": s["joint_variation"]["max"],
        "joint_var_mean": s["joint_variation"]["mean"],
        "bone_error_max": s["bone_length_error"]["max"],
        "accel_energy_perturbed": s["acceleration_energy"]["perturbed"],
        "accel_energy_clean": s["acceleration_energy"]["clean"],
        "accel_energy_perturbation": s["acceleration_energy"]["perturbation"],
        "eps_overshoot_max": s["eps_overshoot"]["overall_overshoot_max"],
        "n": s["n"],
        "seconds": round(s["seconds"], 2),
    }
    setup.row_cache[key] = row
    return dict(row)


def _count(c: dict[str, Any]) -> str:
    """``'3/8'``: numerator over the clean-correct clips it counts."""
    return f"{c['count']}/{c['of']}" if c else "n/a"


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 2)


# ---------------------------------------------------------------- experiments
def fgsm_sweep(setup: Setup) -> list[dict[str, Any]]:
    rows = []
    device = next(setup.model.parameters()).device
    for eps in setup.args.eps_list or [0.002, 0.005, 0.01, 0.015, 0.02, 0.03]:
        attack = FGSM(setup.model, eps=eps, layout=setup.layout)
        preds, start = [], time.perf_counter()
        for lo in range(0, len(setup.clips), setup.args.batch_size):
            x = torch.from_numpy(setup.clips[lo : lo + setup.args.batch_size])
            y = torch.as_tensor(setup.labels[lo : lo + setup.args.batch_size])
            adv = attack(x, y)
            with torch.no_grad():
                preds.append(setup.model(adv.to(device)).argmax(1).cpu().numpy())
        pred = np.concatenate(preds)
        # flipped: right on the clean clip and wrong after, over the clean-correct clips only
        correct = setup.clean_correct if setup.clean_correct is not None else np.ones(len(pred), bool)
        flipped = int((correct & (pred != setup.labels)).sum())
        rows.append(
            {
                "eps": eps,
                "fooling_untargeted": _pct(flipped / correct.sum()) if correct.any() else None,
                "flipped_count": f"{flipped}/{int(correct.sum())}",
                "n": len(pred),
                "seconds": round(time.perf_counter() - start, 2),
            }
        )
        log.info("FGSM eps %.3f: flipped %s clean-correct clips", eps, rows[-1]["flipped_count"])
    return rows


def basic_sweep(setup: Setup) -> list[dict[str, Any]]:
    rows = []
    for eps in setup.args.eps_list or [0.004, 0.006, 0.008, 0.010, 0.012]:
        rows.append({"eps": eps, **_ciasa_row(setup, f"basic eps {eps}", mode="basic", eps=eps)})
        log.info("basic eps %.3f: targeted fooling %s%%", eps, rows[-1]["fooling_targeted"])
    return rows


def regions(setup: Setup) -> list[dict[str, Any]]:
    rows = []
    eps = setup.args.eps_list[0] if setup.args.eps_list else 0.04
    for region in setup.args.regions or list(setup.layout.regions):
        joints = CIASA(setup.model, mode="localized", region=region, eps=eps, layout=setup.layout).joint_mask
        moved = [setup.layout.joint_names[j] for j in joints.nonzero().flatten().tolist()]
        row = _ciasa_row(setup, f"localized {region}", mode="localized", region=region, eps=eps)
        rows.append(
            {"attack": f"localized {region}", "eps": eps, "joints": len(moved), "moved_joints": ", ".join(moved), **row}
        )
        log.info(
            "localized %s: targeted %s%%, untargeted %s%%", region, row["fooling_targeted"], row["fooling_untargeted"]
        )
    adv = _ciasa_row(setup, "advanced", mode="advanced")
    rows.append(
        {
            "attack": "advanced (legs, hierarchical eps)",
            "eps": "hierarchical",
            "joints": int(CIASA(setup.model, mode="advanced", layout=setup.layout).joint_mask.sum()),
            "moved_joints": "legs",
            **adv,
        }
    )
    return rows


def ablation(setup: Setup) -> list[dict[str, Any]]:
    eps = setup.args.eps_list[0] if setup.args.eps_list else 0.01
    variants = [
        ("clip only", dict(use_ssr=False, use_smooth=False, use_gan=False)),
        ("+ SSR", dict(use_ssr=True, use_smooth=False, use_gan=False)),
        ("+ SSR + temporal", dict(use_ssr=True, use_smooth=True, use_gan=False)),
        ("+ SSR + temporal + GAN", dict(use_ssr=True, use_smooth=True, use_gan=True)),
    ]
    rows = []
    for name, flags in variants:
        rows.append({"constraints": name, "eps": eps, **_ciasa_row(setup, name, mode="basic", eps=eps, **flags)})
    return rows


def lambda_sweep(setup: Setup) -> list[dict[str, Any]]:
    eps = setup.args.eps_list[0] if setup.args.eps_list else 0.01
    rows = []
    for lam in setup.args.lams or [5.0, 10.0, 20.0]:
        rows.append({"lambda": lam, "eps": eps, **_ciasa_row(setup, f"lambda {lam}", mode="basic", eps=eps, lam=lam)})
    return rows


EXPERIMENTS: dict[str, tuple[Callable[[Setup], list[dict[str, Any]]], str]] = {
    "fgsm-sweep": (fgsm_sweep, "FGSM untargeted fooling rate against eps (the shape of the paper's Fig. 2)"),
    "basic-sweep": (basic_sweep, "CIASA basic mode, least-likely target, against eps (Table I)"),
    "regions": (regions, "CIASA localized mode per attack region, plus the advanced mode (Table II)"),
    "ablation": (ablation, "constraint ablation: clip, + SSR, + temporal, + GAN (Table IV)"),
    "lambda": (lambda_sweep, "weight lambda of the constraint terms (Table V)"),
}


# ---------------------------------------------------------------- outputs
def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def to_markdown(rows: list[dict[str, Any]], title: str, note: str) -> str:
    cols = list(rows[0])
    fmt = lambda v: "n/a" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))  # noqa: E731
    lines = [f"### {title}", "", note, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def plot(name: str, rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    if name in ("fgsm-sweep", "basic-sweep"):
        xs = [r["eps"] for r in rows]
        keys = ["fooling_untargeted"] if name == "fgsm-sweep" else ["fooling_targeted", "fooling_untargeted"]
        for k in keys:
            ax.plot(xs, [r[k] if r[k] is not None else np.nan for r in rows], marker="o", label=k.replace("_", " "))
        ax.set_xlabel("eps (data units, metres for NTU)")
        ax.set_ylabel("fooling rate (%)")
        ax.set_ylim(0, 102)
        ax.legend()
    else:
        key = {"regions": "attack", "ablation": "constraints", "lambda": "lambda"}[name]
        labels = [str(r[key]) for r in rows]
        pos = np.arange(len(rows))
        ax.bar(pos - 0.2, [r["fooling_targeted"] or 0 for r in rows], 0.4, label="targeted fooling (%)")
        ax.bar(pos + 0.2, [r["fooling_untargeted"] or 0 for r in rows], 0.4, label="untargeted fooling (%)")
        ax.set_xticks(pos, labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylim(0, 102)
        ax.set_ylabel("fooling rate (%)")
        ax2 = ax.twinx()
        ax2.plot(
            pos,
            [1000 * r["joint_var_mean"] if r["joint_var_mean"] is not None else np.nan for r in rows],
            "k^-",
            label="mean joint variation (mm)",
        )
        ax2.set_ylabel("mean joint variation (mm)")
        ax.legend(loc="upper left", fontsize=8)
        ax2.legend(loc="upper right", fontsize=8)
    ax.set_title(EXPERIMENTS[name][1], fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def run_experiment(
    name: str, args: argparse.Namespace, row_cache: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Run one experiment and write its files; ``row_cache`` shares identical attacks between calls."""
    func, title = EXPERIMENTS[name]
    setup = load_setup(args)
    if row_cache is not None:
        setup.row_cache = row_cache
    start = time.perf_counter()
    rows = func(setup)
    out = Path(args.out)
    stem = name.replace("-", "_")
    note = (
        f"checkpoint `{args.checkpoint}`, data `{args.data}` split `{args.split}`, {setup.n_selected} samples "
        f"(clean accuracy of the split {_pct(setup.clean_accuracy)}%; fooling rates over the clean-correct "
        f"samples attacked), seed {args.seed}"
        + ("" if name == "fgsm-sweep" else f", formulation `{getattr(args, 'optimize', None) or 'perturbation'}`")
        + (
            "."
            if name == "fgsm-sweep"
            else f", max_iter {args.max_iter}, early stop {args.early_stop}. Joint "
            "variation in data units (metres for NTU)."
        )
    )
    atomic_write_text(out / f"{stem}.csv", to_csv(rows))
    atomic_write_text(out / f"{stem}.md", to_markdown(rows, title, note))
    plot(name, rows, out / f"{stem}.png")
    record = {
        "experiment": name,
        "title": title,
        "checkpoint": str(args.checkpoint),
        "data": str(args.data),
        "split": args.split,
        "n": setup.n_selected,
        "clean_accuracy": setup.clean_accuracy,
        "max_iter": args.max_iter,
        "early_stop": args.early_stop,
        "seed": args.seed,
        "formulation": None if name == "fgsm-sweep" else (getattr(args, "optimize", None) or "perturbation"),
        "attack_options": None if name == "fgsm-sweep" else setup.attack_options,
        "rows": rows,
        "seconds": time.perf_counter() - start,
    }
    atomic_write_json(out / f"{stem}.json", record)
    return record


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    from ciasa.data.model_fit import add_model_data_flags

    io = p.add_argument_group("model, data and output")
    add_model_data_flags(io, "output directory (NAME.csv, .md, .png, .json)", "split to attack")
    io.add_argument("--real-data", default=None, help="clean data for the discriminator (default: --data)")
    io.add_argument("--real-split", default="train", help="split of --real-data the discriminator sees")
    sel = p.add_argument_group("samples")
    sel.add_argument("--limit", type=cli.positive_int, default=None, help="attack at most N samples")
    sel.add_argument(
        "--all-samples",
        action="store_true",
        help="attack misclassified samples too (default: only the clean-correct ones)",
    )
    sel.add_argument("--shuffle", action="store_true", help="pick the --limit samples at random (with --seed)")
    add_run_arguments(p)


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """How the attacks run: the same flags for one experiment and for ``all``."""
    run = p.add_argument_group("attack and running")
    run.add_argument("--batch-size", type=cli.positive_int, default=32, help="clips attacked together")
    run.add_argument("--max-iter", type=cli.positive_int, default=DEFAULT_MAX_ITER, help="CIASA iterations")
    run.add_argument(
        "--early-stop",
        type=cli.fraction,
        default=None,
        help="stop a clip once the target has at least this probability (0: once it is top-1; "
        "default: run every iteration)",
    )
    run.add_argument("--seed", type=int, default=0, help="seed of the clip draw and the attacks")
    cli.add_device_flag(run)
    cli.add_threads_flag(run)
    cli.add_logging_flags(p)
    cli.add_progress_flag(p)


def parse_floats(text: str) -> list[float]:
    """A comma-separated list of numbers, all checked before any work runs."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"no number in {text!r}")
    return values


def parse_positive_floats(text: str) -> list[float]:
    values = parse_floats(text)
    bad = [v for v in values if not (v > 0 and np.isfinite(v))]
    if bad:
        raise argparse.ArgumentTypeError(
            f"every value must be a positive number, got {', '.join(map(str, bad))} in {text!r}"
        )
    return values


def add_experiment_arguments(name: str, p: argparse.ArgumentParser) -> None:
    add_common_arguments(p)
    defaults = {
        "fgsm-sweep": "0.002,0.005,0.01,0.015,0.02,0.03",
        "basic-sweep": "0.004,0.006,0.008,0.010,0.012",
        "regions": "0.04",
        "ablation": "0.01",
        "lambda": "0.01",
    }
    p.add_argument(
        "--eps",
        dest="eps_list",
        type=parse_positive_floats,
        default=None,
        help=f"eps value(s), comma-separated, each > 0 (default {defaults[name]})",
    )
    if name == "regions":
        p.add_argument(
            "--regions",
            type=cli.parse_names,
            default=None,
            help="regions to attack, comma-separated or @FILE (default: all of the layout's)",
        )
    if name == "lambda":
        p.add_argument(
            "--lams", type=parse_positive_floats, default=None, help="lambda values, each > 0 (default 5,10,20)"
        )
    if name == "fgsm-sweep":
        p.set_defaults(no_gan=True)
    else:
        p.add_argument(
            "--optimize",
            choices=sorted(FORMULATIONS),
            default="perturbation",
            help="CIASA formulation: 'skeleton' (Algorithm 1 as printed: Adam on the joints) or "
            "'perturbation' (Adam on the perturbation in units of eps; docs/attacks.md)",
        )
