"""CIASA formulations, objectives, smoothness terms and box rules, measured side by side.

Loads one checkpoint and one split once, draws clips at random (seeded) among those the
model classifies correctly (the denominator of every count), and runs a list of named
attack configurations on the same clips. For each it records honest counts (flipped,
on target, with numerator and denominator), the mean logit gap per step, the
per-joint displacement against eps (L-inf per joint, max and mean over clips, and the
fraction of clips beyond the box), the mean displacement of the attacked joints, bone
error, acceleration energy of the result and of the perturbation, and seconds.

Run, e.g.::

    python benchmarks/attack_formulations.py --checkpoint RUN/model.pt --data DIR/xsub \
        --preset basic --n 100 --result benchmarks/results/attack_formulations_basic.json

Presets: ``basic`` (eps 0.01, least-likely; skeleton vs perturbation, strict box),
``basic-untargeted``, ``advanced`` (legs, hierarchical eps; untargeted, strict box,
lambda 5, least-likely, nearest, skeleton), ``smooth`` (the three smoothness terms and
none, basic and advanced), ``lr`` and ``advanced-tune`` (learning rates, iterations,
lambda: for choosing defaults with ``--split train``, a split they are not reported on),
``advanced-ceiling`` (advanced without regularisers), ``ceiling`` (basic without smoothness and GAN terms, 100 and 300 iterations: how far
the budget alone gets), ``transfer`` (with ``--error-model``:
the transfer-aware term, evaluated on fresh error samples).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.attacks import CIASA, metrics, objectives  # noqa: E402
from ciasa.attacks.roundtrip import load_error_model  # noqa: E402
from ciasa.attacks.runner import attack_dataset  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "basic": {
        "skeleton": dict(mode="basic", eps=0.01, optimize="skeleton", smooth="ours"),
        "perturbation": dict(mode="basic", eps=0.01, optimize="perturbation"),
        "perturbation-strict": dict(mode="basic", eps=0.01, optimize="perturbation", box="strict"),
        "skeleton-strict": dict(mode="basic", eps=0.01, optimize="skeleton", smooth="ours", box="strict"),
    },
    "basic-untargeted": {
        "skeleton": dict(mode="basic", eps=0.01, optimize="skeleton", smooth="ours", target="untargeted"),
        "perturbation": dict(mode="basic", eps=0.01, optimize="perturbation", target="untargeted"),
    },
    "advanced": {
        "perturbation-untargeted": dict(mode="advanced", optimize="perturbation", target="untargeted"),
        "perturbation-untargeted-strict": dict(
            mode="advanced", optimize="perturbation", target="untargeted", box="strict"
        ),
        "perturbation-untargeted-lam5": dict(mode="advanced", optimize="perturbation", target="untargeted", lam=5.0),
        "skeleton-untargeted": dict(mode="advanced", optimize="skeleton", smooth="ours", target="untargeted"),
        "perturbation-least-likely": dict(mode="advanced", optimize="perturbation"),
        "skeleton-least-likely": dict(mode="advanced", optimize="skeleton", smooth="ours"),
        "perturbation-nearest": dict(mode="advanced", optimize="perturbation", target="nearest"),
    },
    "smooth": {
        "basic-paper": dict(mode="basic", eps=0.01, smooth="paper"),
        "basic-ours": dict(mode="basic", eps=0.01, smooth="ours"),
        "basic-perturbation": dict(mode="basic", eps=0.01, smooth="perturbation"),
        "basic-none": dict(mode="basic", eps=0.01, use_smooth=False),
        "advanced-paper": dict(mode="advanced", target="untargeted", smooth="paper"),
        "advanced-ours": dict(mode="advanced", target="untargeted", smooth="ours"),
        "advanced-perturbation": dict(mode="advanced", target="untargeted", smooth="perturbation"),
        "advanced-none": dict(mode="advanced", target="untargeted", use_smooth=False),
    },
    "lr": {
        **{f"basic-lr{lr:g}": dict(mode="basic", eps=0.01, lr=lr) for lr in (0.02, 0.05, 0.2, 0.5, 1.0)},
        **{
            f"advanced-untargeted-lr{lr:g}": dict(mode="advanced", target="untargeted", lr=lr)
            for lr in (0.05, 0.2, 0.5)
        },
    },
    "ceiling": {
        "perturbation-no-regularisers-100": dict(mode="basic", eps=0.01, use_smooth=False, use_gan=False),
        "perturbation-no-regularisers-300": dict(mode="basic", eps=0.01, use_smooth=False, use_gan=False, max_iter=300),
    },
    "advanced-ceiling": {
        "untargeted-no-regularisers": dict(mode="advanced", target="untargeted", use_smooth=False, use_gan=False),
        "untargeted-no-smooth": dict(mode="advanced", target="untargeted", use_smooth=False),
        "untargeted-lam1": dict(mode="advanced", target="untargeted", lam=1.0),
    },
    "advanced-tune": {
        "untargeted-lr1": dict(mode="advanced", target="untargeted", lr=1.0),
        "untargeted-200": dict(mode="advanced", target="untargeted", max_iter=200),
        "untargeted-lam5": dict(mode="advanced", target="untargeted", lam=5.0),
    },
    "transfer": {
        "advanced-untargeted": dict(mode="advanced", target="untargeted"),
        "advanced-untargeted-aware": dict(mode="advanced", target="untargeted", error_samples=4),
        "advanced-untargeted-lam5-aware": dict(mode="advanced", target="untargeted", lam=5.0, error_samples=4),
        "basic-untargeted": dict(mode="basic", eps=0.01, target="untargeted"),
        "basic-untargeted-aware": dict(mode="basic", eps=0.01, target="untargeted", error_samples=4),
    },
}


def pick_clips(model: torch.nn.Module, data: Any, n: int, seed: int, batch: int = 64) -> np.ndarray:
    """``n`` random clean-correct clips (seeded; chosen before any attack runs)."""
    order = np.random.default_rng(seed).permutation(len(data))
    keep: list[int] = []
    for lo in range(0, len(order), batch):
        idx = order[lo : lo + batch]
        x = torch.from_numpy(np.asarray(data.data[np.sort(idx)], dtype=np.float32))
        with torch.no_grad():
            pred = model(x).argmax(1).numpy()
        labels = data.labels[np.sort(idx)]
        keep += [int(i) for i, ok in zip(np.sort(idx), pred == labels) if ok]
        if len(keep) >= n:
            break
    return np.array(keep[:n])


def displacement_per_joint(
    adv: torch.Tensor, clean: torch.Tensor, eps: torch.Tensor, joints: torch.Tensor, names: list[str]
) -> dict[str, Any]:
    linf = metrics.linf_per_joint(adv, clean)  # (N, V)
    euclid = metrics.joint_displacement(adv, clean)  # (N, T, V, M)
    present = (clean != 0).any(dim=1).any(dim=2, keepdim=True).expand_as(euclid)
    rows = {}
    for j in joints.nonzero().flatten().tolist():
        d = euclid[:, :, j][present[:, :, j]]
        rows[names[j]] = {
            "eps": float(eps[j]),
            "linf_max": float(linf[:, j].max()),
            "linf_mean": float(linf[:, j].mean()),
            "fraction_clips_beyond": float((linf[:, j] > eps[j] + 1e-5).float().mean()),  # 10 um: float32 rounding
            "euclid_mean": float(d.mean()) if d.numel() else None,
        }
    return rows


def fresh_error_eval(
    model: torch.nn.Module,
    adv: torch.Tensor,
    labels: torch.Tensor,
    clean_ok: torch.Tensor,
    error_model: Any,
    draws: int,
    seed: int,
) -> dict[str, Any]:
    """Flipped counts when the result goes through ``draws`` fresh round-trip error samples
    (a proxy for the RGB round trip, not a substitute for it)."""
    gen = torch.Generator().manual_seed(seed + 12345)
    frames = (adv != 0).any(dim=1, keepdim=True).any(dim=3, keepdim=True)
    flipped = []
    with torch.no_grad():
        for _ in range(draws):
            noise = error_model.sample(adv.shape[0], adv.shape[2], adv.shape[4], gen)
            pred = model(adv + noise * frames).argmax(1)
            flipped.append((clean_ok & (pred != labels)).float())
    per_clip = torch.stack(flipped).mean(0)
    return {"draws": draws, "mean_flipped_fraction": float(per_clip[clean_ok].mean()) if clean_ok.any() else None}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--preset", choices=sorted(PRESETS), required=True)
    p.add_argument("--only", default=None, help="comma list of configuration names of the preset")
    p.add_argument("--n", type=int, default=100, help="clean-correct clips to attack")
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--error-model", type=Path, default=None)
    p.add_argument("--error-samples", type=int, default=4, help="K of the transfer-aware configurations")
    p.add_argument("--eval-draws", type=int, default=8, help="fresh error draws for evaluation (transfer preset)")
    p.add_argument("--real-split", default="train", help="discriminator's real frames (of --data)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--result", type=Path, required=True)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from ciasa.data.stgcn import load_split
    from ciasa.models import load_model

    model, meta = load_model(args.checkpoint, device="cpu")
    layout = model.layout if hasattr(model, "layout") else meta["layout"]
    data = load_split(args.data, args.split, layout=layout)
    real = load_split(args.data, args.real_split, layout=layout)
    error_model = load_error_model(args.error_model, layout) if args.error_model else None
    idx = pick_clips(model, data, args.n, args.seed)
    clips = np.asarray(data.data[idx], dtype=np.float32)
    labels = np.asarray(data.labels[idx])
    configs = PRESETS[args.preset]
    if args.only:
        configs = {k: configs[k] for k in args.only.split(",")}
    record: dict[str, Any] = {
        "checkpoint": str(args.checkpoint),
        "data": str(args.data),
        "split": args.split,
        "preset": args.preset,
        "n_clips": int(len(idx)),
        "selection": f"{len(idx)} random clean-correct clips, seed {args.seed}",
        "max_iter": args.max_iter,
        "seed": args.seed,
        "error_model": None if error_model is None else str(args.error_model),
        "command": "python " + " ".join(sys.argv),
        "runs": {},
    }
    for name, cfg in configs.items():
        cfg = dict(cfg)
        samples = args.error_samples if cfg.pop("error_samples", 0) else 0
        if samples and error_model is None:
            print(f"skip {name}: needs --error-model", flush=True)
            continue
        iters = cfg.pop("max_iter", args.max_iter)
        attack = CIASA(
            model,
            layout=layout,
            max_iter=iters,
            seed=args.seed,
            real_source=real,
            device="cpu",
            error_model=error_model if samples else None,
            error_samples=samples,
            **cfg,
        )
        t0 = time.perf_counter()
        run = attack_dataset(
            attack, clips, labels, layout, attack.eps, attack.joint_mask, args.batch_size, progress=False
        )
        res = run.result
        summary = run.summary(attack.eps, attack.joint_mask)
        clean_t = torch.from_numpy(clips)
        with torch.no_grad():
            final_gap = objectives.logit_gap(
                model(res.adversarial), None if summary["targeted_success"] is None else res.target, res.labels
            )
        ok = res.clean_correct
        entry = {
            "settings": attack.settings(),
            "final_gap_clean_correct": {
                q: round(float(final_gap[ok].quantile(v)), 3)
                for q, v in (("p10", 0.1), ("median", 0.5), ("p90", 0.9), ("max", 1.0))
            }
            if ok.any()
            else None,
            "flipped": summary["flipped"],
            "targeted_success": summary["targeted_success"],
            "gap_curve": [round(g, 3) for g in res.extra.get("gap_curve", [])],
            "joint_variation": summary["joint_variation"],
            "bone_length_error": summary["bone_length_error"],
            "acceleration_energy": summary["acceleration_energy"],
            "eps_overshoot_overall": {
                k: summary["eps_overshoot"][k] for k in ("overall_overshoot_max", "overall_fraction_beyond")
            },
            "per_joint": displacement_per_joint(
                res.adversarial, clean_t, attack.eps, attack.joint_mask, layout.joint_names
            ),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        if error_model is not None:
            ok = res.clean_correct
            entry["under_fresh_error"] = fresh_error_eval(
                model, res.adversarial, res.labels, ok, error_model, args.eval_draws, args.seed
            )
            entry["clean_under_fresh_error"] = fresh_error_eval(
                model, clean_t, res.labels, ok, error_model, args.eval_draws, args.seed
            )
        record["runs"][name] = entry
        t = entry["targeted_success"]
        print(
            f"{name}: flipped {entry['flipped']['count']}/{entry['flipped']['of']}"
            + (f", on target {t['count']}/{t['of']}" if t else "")
            + f", gap {entry['gap_curve'][0] if entry['gap_curve'] else '?'} -> "
            f"{entry['gap_curve'][-1] if entry['gap_curve'] else '?'}, mean disp "
            f"{summary['joint_variation']['mean']:.4f} max {summary['joint_variation']['max']:.4f}, "
            f"{entry['seconds']} s",
            flush=True,
        )
        atomic_write_json(args.result, record)  # after every run: partial results survive
    print(f"wrote {args.result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
