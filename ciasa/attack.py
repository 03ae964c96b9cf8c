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
``DIR/{name}/perturbed.npy`` (float32 ``(C, T, V, M)``), which the renderer reads as is,
and (``--control``, the default) ``DIR/{name}/control.npy``: the matched control, a
random smooth perturbation of the same joints with the adversarial per-joint, per-frame
displacement magnitude, realigned and constrained like the attack, then scaled by one
gain per clip until its realised size matches the attack's (:mod:`ciasa.attacks.control`). ``summary.json`` then holds the control's plausibility,
its realised displacement against the adversarial one and the model's accuracy on
clean, control and perturbed skeletons (``control``).

The attack keeps to human-possible motion by default (``--plausible all``: knee and
elbow hinges, hip and ankle ranges, floor, planted feet, joint speed;
:mod:`ciasa.attacks.plausibility`); ``summary.json: plausibility`` holds the measures for
the clean, perturbed and control skeletons side by side, and ``realised_displacement``
how far joints actually moved next to eps.

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ciasa import cli
from ciasa.attacks import plausibility
from ciasa.attacks.ciasa import BOXES, CIASA, DEFAULT_EPS, DEFAULT_LR, DEFAULT_MAX_ITER, MODES, OPTIMIZE
from ciasa.attacks.control import MAX_GAIN
from ciasa.attacks.losses import SMOOTHNESS
from ciasa.attacks.objectives import TARGET_RULES, parse_target
from ciasa.attacks.runner import attack_dataset
from ciasa.io import atomic_save_npy, atomic_write_json, atomic_write_text
from ciasa.skeleton import EPS_NAMES, NTU_RGBD

log = logging.getLogger("ciasa.attack")

CSV_COLUMNS = (
    "name",
    "label",
    "target",
    "clean_pred",
    "adv_pred",
    "target_confidence",
    "success_targeted",
    "success_untargeted",
    "clean_correct",
    "flipped",
    "iterations",
    "joint_var_min",
    "joint_var_max",
    "joint_var_mean",
    "bone_error_mean",
    "bone_error_max",
    "accel_energy_clean",
    "accel_energy_adv",
    "accel_energy_perturbation",
    "linf_max",
    "eps_overshoot_max",
    "leg_hyperext_10",
    "leg_frames",
    "under_floor",
    "body_frames",
    "skating_mm",
    "speed_ratio",
    "control_pred",
    "control_correct",
    "control_joint_var_mean",
    "control_leg_hyperext_10",
    "control_under_floor",
)
# per-clip plausibility measures of the perturbed clip (counts of leg-frames / body-frames)
_PLAUS_COLUMNS = ("leg_hyperext_10", "leg_frames", "under_floor", "body_frames", "skating_mm", "speed_ratio")
_CONTROL_COLUMNS = CSV_COLUMNS[CSV_COLUMNS.index("control_pred") :]
_STAT_COLUMNS = CSV_COLUMNS[11 : CSV_COLUMNS.index("leg_hyperext_10")]


def parse_eps(text: str | None) -> float | list[float] | dict[str, float] | None:
    """'0.01' -> 0.01; '0.01,0.05,...' (one value per joint) -> list;
    'knees=0.05,feet=0.3' -> {'knees': 0.05, 'feet': 0.3} (the other joints keep the mode's radius)."""
    if text is None:
        return None
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if not parts:
        raise argparse.ArgumentTypeError("--eps is empty")
    if any("=" in p for p in parts):
        return _parse_named_eps(parts, text)
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--eps: not a number, a comma-separated list of numbers or NAME=VALUE pairs: {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _parse_named_eps(parts: list[str], text: str) -> dict[str, float]:
    radii: dict[str, float] = {}
    for part in parts:
        name, _, value = part.partition("=")
        if name not in EPS_NAMES:  # CIASA checks them against the attacked model's layout
            raise argparse.ArgumentTypeError(
                f"--eps: {name!r} in {text!r} is neither a leg level ({', '.join(NTU_RGBD.leg_radii)}) nor a joint name"
            )
        try:
            radius = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--eps: {part!r} needs NAME=METRES") from None
        if not (radius >= 0 and np.isfinite(radius)) or name in radii:
            raise argparse.ArgumentTypeError(f"--eps: {part!r}: each name once, with a radius >= 0 in metres")
        radii[name] = radius
    return radii


def parse_plausible(text: str) -> tuple[str, ...]:
    try:
        return plausibility.parse_constraints(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--plausible: {err}") from None


def parse_speed_ratio(text: str) -> float:
    """A joint speed limit as a multiple of the clean clip's own top speed (>= 1)."""
    value = cli.non_negative_float(text)
    if value < 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a ratio below 1 excludes the clean clip's own speeds (need >= 1)")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m ciasa.attack",
        "Attack a selection of one split of an ST-GCN-layout data set with CIASA (Liu et al., TNNLS 2020) "
        "and write the perturbed skeletons, a per-clip CSV and a summary JSON. Modes: basic (all joints, "
        f"global eps {DEFAULT_EPS['basic']:g}), localized (one region, eps {DEFAULT_EPS['localized']:g}), advanced "
        f"(the two legs, hierarchical eps {NTU_RGBD.leg_radii_text()} m). docs/attacks.md explains every option "
        "and its measured effect.",
    )
    io_ = p.add_argument_group("input and output")
    cli.add_checkpoint_flag(io_)
    io_.add_argument("--data", required=True, help="ST-GCN layout directory with {split}_data.npy / {split}_label.pkl")
    io_.add_argument("--split", default="val", help="split to attack")
    io_.add_argument("--out", required=True, help="output directory")
    cli.add_names_flag(io_, help="attack only these sample names, in this order (unset: the whole split)")
    io_.add_argument("--limit", type=cli.positive_int, default=None, help="attack only the first N selected samples")
    io_.add_argument(
        "--clips-out",
        default=None,
        help="also write every clip as DIR/{name}/clean.npy and DIR/{name}/perturbed.npy "
        "(float32 (C, T, V, M)) for the renderer",
    )
    io_.add_argument("--num-class", type=int, default=None, help="classes (official state dicts only)")
    io_.add_argument("--layout", default=None, help="skeleton layout (official state dicts only)")

    a = p.add_argument_group("attack")
    a.add_argument("--mode", choices=MODES, default="advanced", help="attack mode: joints and clipping radii")
    a.add_argument(
        "--optimize",
        choices=OPTIMIZE,
        default="perturbation",
        help="skeleton = Algorithm 1 as printed (Adam on the skeleton, overwritten by clip+SSR each "
        "step); perturbation = Adam on a box perturbation, the model evaluated at "
        "SSR(clip(x + delta)) through a differentiable SSR",
    )
    a.add_argument(
        "--target",
        default="least_likely",
        help=f"target rule: {', '.join(TARGET_RULES)} (margin loss pushing the true class down), "
        "or a class index or class name",
    )
    a.add_argument(
        "--smooth",
        choices=SMOOTHNESS,
        default="perturbation",
        help="smoothness term: paper = eq. 7 as printed (signed sum of accelerations), ours = "
        "acceleration norm of the perturbed clip, perturbation = acceleration norm of the "
        "perturbation (zero at the clean input)",
    )
    a.add_argument(
        "--box",
        choices=BOXES,
        default="loose",
        help="loose: SSR may carry a joint past its eps (the paper); strict: after SSR every joint "
        "is brought back inside its eps box, bones kept at their clean length",
    )
    a.add_argument(
        "--eps",
        type=parse_eps,
        default=None,
        help="clipping radius in metres: one number, one per joint comma-separated, or by name, "
        "e.g. feet=0.3 or knees=0.05,left_foot=0.2 (a leg level or a joint; the joints not named "
        f"keep the mode's radius) (unset: the mode's; advanced: {NTU_RGBD.leg_radii_text()})",
    )
    a.add_argument("--region", default=None, help="attack region: all, legs, set-1..set-4 (unset: the mode's)")
    a.add_argument("--max-iter", type=cli.positive_int, default=DEFAULT_MAX_ITER, help="attack iterations")
    a.add_argument(
        "--early-stop",
        type=float,
        default=None,
        help="stop a clip once its objective is met with at least this probability (unset: never)",
    )
    a.add_argument("--lam", type=float, default=10.0, help="weight of the smoothness and GAN terms")
    a.add_argument(
        "--lr",
        type=float,
        default=None,
        help=f"Adam learning rate of the attack variable (unset: skeleton {DEFAULT_LR['skeleton']} m, "
        f"perturbation {DEFAULT_LR['perturbation']} x eps)",
    )
    a.add_argument("--no-ssr", action="store_true", help="skip spatial skeleton realignment")
    a.add_argument("--no-smooth", action="store_true", help="drop the temporal smoothness term")
    a.add_argument("--no-gan", action="store_true", help="drop the GAN (discriminator) term")
    a.add_argument(
        "--real-data", default=None, help="clean data the discriminator learns real frames from (unset: --data)"
    )
    a.add_argument("--real-split", default="train", help="split of --real-data")
    a.add_argument(
        "--error-model",
        default=None,
        help="round-trip error model JSON (docs/CONTRACTS.md): makes the attack transfer-aware",
    )
    a.add_argument(
        "--error-samples",
        type=int,
        default=None,
        help="round-trip error samples per step with --error-model (unset: 4)",
    )
    a.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds targets, the discriminator, error samples and (with each clip's name) the control",
    )

    h = p.add_argument_group("human-possible perturbations and the matched control")
    h.add_argument(
        "--plausible",
        type=parse_plausible,
        default=plausibility.CONSTRAINTS,
        help=f"constraints the perturbed skeleton keeps: all (default), none, or a comma-separated "
        f"subset of {', '.join(plausibility.CONSTRAINTS)} (knee/elbow hinge, hip and ankle range, "
        "floor, planted feet do not skate, joint speed); limits come from each clean clip, "
        "which always meets them",
    )
    h.add_argument(
        "--plausible-method",
        choices=plausibility.METHODS,
        default=plausibility.Plausibility().method,
        help="penalty (default, chosen on training clips: a differentiable term in the loss), projection "
        "(hard: scale the perturbation back until the limits hold; it took back nearly all of the "
        "attack), or both",
    )
    h.add_argument(
        "--speed-ratio",
        type=parse_speed_ratio,
        default=1.0,
        help="joint speed limit as a multiple of the clean clip's top speed of that joint (>= 1)",
    )
    h.add_argument(
        "--plausible-weight",
        type=cli.non_negative_float,
        default=plausibility.Plausibility().weight,
        help="weight of the plausibility penalty in the loss",
    )
    h.add_argument(
        "--control",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also make the matched control for every clip (random smooth directions, the adversarial "
        "per-joint per-frame displacement, same realignment and constraints, scaled by one gain per "
        "clip to the attack's realised size, seeded by the clip name), classify it, and write it as "
        "control.npy under --clips-out",
    )

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
            raise cli.BadInput(f"{source}: {len(missing)} of the --names are not in the data, e.g. {missing[:3]}")
        if len(set(wanted)) != len(wanted):
            raise cli.BadInput("--names lists a sample more than once")
        index = np.array([where[n] for n in wanted], dtype=np.int64)
    if limit is not None:
        index = index[:limit]
    if index.size == 0:
        raise cli.BadInput("no samples selected to attack")
    return index


def check_clip_names(names: Sequence[str]) -> None:
    """Names become directories under --clips-out: no separators, no '.'/'..'."""
    bad = [n for n in names if not n or n in (".", "..") or "/" in n or "\\" in n or "\0" in n]
    if bad:
        raise cli.BadInput(f"--clips-out: sample names that cannot be directory names: {bad[:3]}")


def per_sample_csv(names: Sequence[str], run: Any, control: dict[str, Any] | None = None) -> str:
    r, s = run.result, run.stats
    flipped = r.clean_correct & (r.prediction != r.labels)

    def num(a: np.ndarray, i: int) -> str:
        return "" if not np.isfinite(a[i]) else f"{float(a[i]):.6g}"

    def control_cells(i: int) -> list[str]:
        if control is None:
            return [""] * len(_CONTROL_COLUMNS)
        c = control["per_clip"]
        return [
            str(int(c["prediction"][i])),
            str(int(c["prediction"][i] == r.labels[i])),
            num(c["joint_var_mean"], i),
            num(c["leg_hyperext_10"], i),
            num(c["under_floor"], i),
        ]

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for i, name in enumerate(names):
        conf = float(r.target_confidence[i])
        w.writerow(
            [
                name,
                int(r.labels[i]),
                int(r.target[i]),
                int(r.clean_pred[i]),
                int(r.prediction[i]),
                "" if conf != conf else f"{conf:.6f}",
                int(r.prediction[i] == r.target[i]),
                int(r.success_untargeted[i]),
                int(r.clean_correct[i]),
                int(flipped[i]),
                int(r.iterations[i]),
                *(f"{float(s[k][i]):.6g}" for k in _STAT_COLUMNS),
                *(num(s[f"_plaus_{k}"], i) for k in _PLAUS_COLUMNS),
                *control_cells(i),
            ]
        )
    return buf.getvalue()


def write_clips(
    root: Path, names: Sequence[str], clean: np.ndarray, perturbed: np.ndarray, control: np.ndarray | None = None
) -> None:
    for i, name in enumerate(names):
        atomic_save_npy(root / name / "clean.npy", np.ascontiguousarray(clean[i], dtype=np.float32))
        atomic_save_npy(root / name / "perturbed.npy", np.ascontiguousarray(perturbed[i], dtype=np.float32))
        if control is not None:
            atomic_save_npy(root / name / "control.npy", np.ascontiguousarray(control[i], dtype=np.float32))


def make_control(
    model: torch.nn.Module,
    attack: CIASA,
    clips: np.ndarray,
    adversarial: np.ndarray,
    names: Sequence[str],
    labels: np.ndarray,
    seed: int,
    batch_size: int,
) -> dict[str, Any]:
    """The matched control of every clip, the model's predictions on it, and its measures."""
    from ciasa.attacks.constraints import default_channel_mask
    from ciasa.attacks.control import control_batch
    from ciasa.attacks.metrics import joint_variation

    layout = attack.layout
    parts, preds, var, gains = [], [], [], []
    for lo in range(0, len(names), batch_size):
        hi = min(len(names), lo + batch_size)
        clean = torch.from_numpy(np.ascontiguousarray(clips[lo:hi], dtype=np.float32))
        adv = torch.from_numpy(np.ascontiguousarray(adversarial[lo:hi], dtype=np.float32))
        made = control_batch(
            clean, adv, names[lo:hi], layout, attack.joint_mask, attack.plausible, use_ssr=attack.use_ssr, seed=seed
        )
        ctrl = made.skeleton
        gains.append(made.gain)
        with torch.no_grad():
            preds.append(model(ctrl.to(attack.device)).argmax(dim=1).cpu())
        channels = default_channel_mask(layout, clean.shape[1])
        var.append(joint_variation(ctrl, clean, attack.joint_mask, channels)["mean"])
        parts.append(ctrl)
    control = torch.cat(parts)
    measures = plausibility.measures(
        control, torch.from_numpy(np.asarray(clips, dtype=np.float32)), layout, attack.joint_mask
    )
    return {
        "skeletons": control.numpy(),
        "per_clip": {
            "prediction": torch.cat(preds).numpy(),
            "joint_var_mean": torch.cat(var).numpy(),
            "size_gain": torch.cat(gains).numpy(),
            **measures,
        },
    }


def control_summary(control: dict[str, Any], result: Any, stats: dict[str, np.ndarray]) -> dict[str, Any]:
    """summary.json's ``control`` block: skeleton-domain accuracy and size against the attack."""
    r = result.result
    labels = r.labels.numpy()
    clean_correct = r.clean_correct.numpy()
    pred = control["per_clip"]["prediction"]
    correct = pred == labels
    flipped = clean_correct & ~correct
    n_cc = int(clean_correct.sum())
    adv_mean = stats["joint_var_mean"]
    ctrl_mean = control["per_clip"]["joint_var_mean"]
    ok = np.isfinite(adv_mean) & np.isfinite(ctrl_mean)
    adv_mm = float(adv_mean[ok].mean()) * 1000.0 if ok.any() else None
    ctrl_mm = float(ctrl_mean[ok].mean()) * 1000.0 if ok.any() else None
    return {
        "file": "control.npy",
        "n": int(labels.size),
        "accuracy": {
            "clean": float(clean_correct.mean()),
            "control": float(correct.mean()),
            "perturbed": float((r.prediction == r.labels).float().mean()),
        },
        "correct": {
            "clean": int(clean_correct.sum()),
            "control": int(correct.sum()),
            "perturbed": int((r.prediction == r.labels).sum()),
        },
        "flipped": {"count": int(flipped.sum()), "of": n_cc, "rate": int(flipped.sum()) / n_cc if n_cc else None},
        "realised_displacement": {
            "unit": "mm, mean Euclidean displacement over the attacked joints and frames",
            "control_mean_mm": ctrl_mm,
            "perturbed_mean_mm": adv_mm,
            "ratio": ctrl_mm / adv_mm if adv_mm and ctrl_mm is not None else None,
            # >1: the control's magnitudes were scaled up by this per-clip gain to match the
            # attack's realised size after the plausibility projection (ciasa.attacks.control)
            "size_gain_mean": float(np.mean(control["per_clip"]["size_gain"])),
            "size_gain_max": float(np.max(control["per_clip"]["size_gain"])),
            "clips_at_max_gain": int(np.sum(control["per_clip"]["size_gain"] >= MAX_GAIN - 1e-6)),
        },
        "plausibility": plausibility.summarize_measures(
            {k: v for k, v in control["per_clip"].items() if k not in ("prediction", "joint_var_mean", "size_gain")}
        ),
    }


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
        raise cli.BadInput(
            f"{data.source}: label {int(data.labels.max())} out of range for the model's {n_class} classes "
            f"({args.checkpoint})"
        )
    in_channels = getattr(model, "in_channels", None)
    if in_channels is not None and data.shape[1] != in_channels:
        raise cli.BadInput(
            f"{data.source}: {data.shape[1]} channels but the model ({args.checkpoint}) takes {in_channels}"
        )
    target = parse_target(args.target, meta.get("class_names") or data.class_names, n_class)
    error_model = load_error_model(args.error_model, layout) if args.error_model else None
    if args.error_samples is not None and args.error_samples < 0:
        raise cli.BadInput(f"--error-samples must be >= 0, got {args.error_samples}")
    if args.error_samples and error_model is None:
        raise cli.BadInput("--error-samples needs --error-model")
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
        model,
        mode=args.mode,
        eps=args.eps,
        region=args.region,
        lam=args.lam,
        lr=args.lr,
        max_iter=args.max_iter,
        use_ssr=not args.no_ssr,
        use_smooth=not args.no_smooth,
        use_gan=not args.no_gan,
        target=target,
        early_stop=args.early_stop,
        real_source=real,
        layout=layout,
        device=args.device,
        seed=args.seed,
        optimize=args.optimize,
        smooth=args.smooth,
        box=args.box,
        error_model=error_model,
        error_samples=samples,
        plausible=plausibility.Plausibility(
            constraints=tuple(args.plausible),
            method=args.plausible_method,
            speed_ratio=args.speed_ratio,
            weight=args.plausible_weight,
        ),
    )
    log.info(
        "attacking %d samples of %s: %s",
        len(index),
        data.source,
        ", ".join(f"{k} {v}" for k, v in attack.settings().items() if v is not None),
    )
    result = attack_dataset(
        attack,
        clips,
        labels,
        layout,
        attack.eps,
        attack.joint_mask,
        args.batch_size,
        progress=cli.show_progress(args),
        desc=f"CIASA {args.mode}",
    )

    out = Path(args.out)
    adversarial = result.result.adversarial.numpy()
    control = (
        make_control(model, attack, clips, adversarial, names, labels, args.seed, args.batch_size)
        if args.control
        else None
    )
    save_split(out, args.split, adversarial, names, labels, data.class_names, layout)
    if args.clips_out:
        write_clips(Path(args.clips_out), names, clips, adversarial, None if control is None else control["skeletons"])
    atomic_write_text(out / "per_sample.csv", per_sample_csv(names, result, control))
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
    summary["control"] = None if control is None else control_summary(control, result, result.stats)
    if control is not None:
        summary["plausibility"]["control"] = summary["control"]["plausibility"]
    atomic_write_json(out / "summary.json", summary)
    return summary


def counts_line(summary: dict[str, Any]) -> str:
    """``flipped 10/12 clean-correct, targeted 7/12`` for the log."""
    f, t = summary["flipped"], summary["targeted_success"]
    text = f"flipped {f['count']}/{f['of']} clean-correct"
    if t is not None:
        text += f", on target {t['count']}/{t['of']}"
    d = summary.get("realised_displacement")
    if d and d.get("linf_max_mm") is not None:
        eps = (
            f"{d['eps_min_mm']:.0f} mm"
            if abs(d["eps_max_mm"] - d["eps_min_mm"]) < 1e-6
            else f"{d['eps_min_mm']:.0f}-{d['eps_max_mm']:.0f} mm"
        )
        text += (
            f"; eps {eps}, realised L-inf max {d['linf_max_mm']:.1f} mm, joint displacement mean "
            f"{d['mean_mm']:.1f} / max {d['max_mm']:.1f} mm"
        )
    c = summary.get("control")
    if c:
        text += (
            f"; control flipped {c['flipped']['count']}/{c['flipped']['of']} (displacement ratio "
            f"{c['realised_displacement']['ratio']:.2f})"
            if c["realised_displacement"]["ratio"] is not None
            else f"; control flipped {c['flipped']['count']}/{c['flipped']['of']}"
        )
    p = summary.get("plausibility")
    if p and p["perturbed"].get("leg_hyperextended_10deg") is not None:
        text += (
            f"; knee hyperextended >10 deg {100 * p['perturbed']['leg_hyperextended_10deg']:.1f} % of leg-frames "
            f"(clean {100 * p['clean']['leg_hyperextended_10deg']:.1f} %), foot >2 cm under the floor "
            f"{100 * p['perturbed']['under_floor_2cm']:.1f} % of frames"
        )
    return text


def work(args: argparse.Namespace) -> int:
    summary = run(args)
    log.info(
        "%d clips (%d clean-correct): %s; %.1f s -> %s",
        summary["n"],
        summary["n_clean_correct"],
        counts_line(summary),
        summary["seconds"],
        args.out,
    )
    if "note" in summary:
        log.warning(summary["note"])
    return cli.EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_main(work, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
