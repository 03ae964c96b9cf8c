"""Published NTU-60 models on real NTU clips: clean accuracy, CIASA, realised displacement, cost.

Validation material (read from ``--root``, default ``../shared/real_ntu``, never copied):
seven real NTU RGB+D 60 clips (six raw ``.skeleton`` files and one ``txt2npy`` dict,
read by ``ciasa.data.ntu_raw``) and the official weights of EfficientGCN-B0 and of
Shift-GCN's joint stream, cross-view and cross-subject, loaded strictly by
``ciasa.models.load_model`` with each model's own NTU preprocessing in its front end.

For each model named in ``--models``:

* clean top-1 / top-5 on the clips (k of n, per clip predictions);
* CIASA basic mode towards the least-likely class at each ``--eps`` (metres), both
  formulations (``optimize`` skeleton | perturbation) and both boxes (loose: the
  paper's clip-then-realign; strict: every joint inside its own eps box), ``--iters``
  Adam steps with no early stop, so success is judged on the final skeleton;
* CIASA advanced mode (legs, hierarchical eps), untargeted, perturbation formulation;

with, per clip, the logit-gap curve (one value per step: best non-target logit minus
the target's for targeted runs, true minus best other for untargeted; success is a gap
below zero), the realised L-inf displacement, the Euclidean joint displacement (mean,
max) and the bone-length error, all in millimetres. The seven clips are attacked as one
batch; a recording wrapper keeps each clip's logits of every step.

``--timing`` adds the forward+backward time (input gradient) of each adapter at NTU
size (T=300, M=2, batch ``--timing-batch``) against the official-width ST-GCN (base 64)
measured in the same run, interleaved, on the CPU (``--threads``), as median ratios.

Writes ``--out`` (default ``benchmarks/results/real_ntu.json``) atomically and prints
a summary. Cheap settings for the shared 2-core machine: ``nice -n 10``, one thread.
Run: ``python benchmarks/real_ntu.py [--models efficientgcn-xview,...] [--iters 100]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from ciasa.attacks import CIASA, metrics  # noqa: E402
from ciasa.attacks.base import frozen  # noqa: E402
from ciasa.attacks.constraints import default_channel_mask  # noqa: E402

try:  # the human-possible limits (issue "plausibility"); absent in older trees
    from ciasa.attacks import plausibility  # noqa: E402
except ImportError:  # pragma: no cover
    plausibility = None
import record  # noqa: E402  (benchmarks/record.py, beside this script)

from ciasa.data.ntu import parse_sample_name  # noqa: E402
from ciasa.data.ntu_raw import read_ntu_clip  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.models import STGCN, load_model  # noqa: E402
from ciasa.skeleton import NTU_RGBD  # noqa: E402

# name -> (weights file, top-1 the authors report on the full val split)
MODELS = {
    "efficientgcn-xview": ("2002_EfficientGCN-B0_ntu-xview.pdparams.tar", 94.9),
    "efficientgcn-xsub": ("2001_EfficientGCN-B0_ntu-xsub.pdparams.tar", 90.2),
    "shiftgcn-xview": ("ntu_ShiftGCN_joint_xview.pt", 95.1),
    "shiftgcn-xsub": ("ntu_ShiftGCN_joint_xsub.pt", 87.8),
}


class Recorder(nn.Module):
    """Passes through to ``model`` and keeps the logits of every call (the attack's steps)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.layout = getattr(model, "layout", None)
        self.calls: list[tuple[bool, Tensor]] = []

    def forward(self, x: Tensor) -> Tensor:
        out = self.model(x)
        self.calls.append((torch.is_grad_enabled(), out.detach().cpu()))
        return out


def find_clips(root: Path) -> list[Path]:
    folder = root / "skeletons"
    return sorted(p for p in folder.iterdir() if p.name.endswith((".skeleton", ".skeleton.npy")))


def load_clips(paths: list[Path]) -> tuple[Tensor, Tensor, list[dict[str, Any]]]:
    """One zero-padded batch ``(N, 3, T_max, 25, 2)``, labels, and per clip facts."""
    arrays, info = [], []
    for p in paths:
        a = read_ntu_clip(p, max_body=2)
        name = p.name.split(".")[0]
        meta = parse_sample_name(name)
        bodies = int((np.abs(a).sum(axis=(0, 1, 2)) > 0).sum())
        arrays.append(a)
        info.append({"name": name, "file": p.name, "format": "txt2npy" if p.suffix == ".npy" else "skeleton",
                     "label": int(meta.action) - 1,
                     "frames": int(a.shape[1]), "bodies": bodies})  # fmt: skip
    t = max(a.shape[1] for a in arrays)
    batch = np.zeros((len(arrays), 3, t, 25, 2), np.float32)
    for i, a in enumerate(arrays):
        batch[i, :, : a.shape[1]] = a
    labels = torch.tensor([c["label"] for c in info])
    return torch.from_numpy(batch), labels, info


def clean_eval(model: nn.Module, x: Tensor, labels: Tensor, info: list[dict[str, Any]]) -> dict[str, Any]:
    with torch.no_grad():
        logits = torch.cat([model(x[i : i + 1]) for i in range(x.shape[0])])
    top5 = logits.topk(5, dim=1).indices
    pred = top5[:, 0]
    per = []
    for i, c in enumerate(info):
        sorted_logits = logits[i].sort(descending=True).values
        per.append({"name": c["name"], "label": c["label"], "pred": int(pred[i]), "top5": top5[i].tolist(),
                    "margin": float(logits[i, c["label"]] - logits[i].scatter(0, labels[i : i + 1], float("-inf")).max()),
                    "top_gap": float(sorted_logits[0] - sorted_logits[1])})  # fmt: skip
    n = len(info)
    top1 = int((pred == labels).sum())
    top5k = int((top5 == labels[:, None]).any(dim=1).sum())
    return {"top1": {"count": top1, "of": n}, "top5": {"count": top5k, "of": n}, "per_clip": per, "logits": logits}


def _gap(logits: Tensor, target: Tensor | None, labels: Tensor) -> Tensor:
    if target is None:
        others = logits.scatter(1, labels[:, None], float("-inf")).amax(dim=1)
        return logits.gather(1, labels[:, None]).squeeze(1) - others
    others = logits.scatter(1, target[:, None], float("-inf")).amax(dim=1)
    return others - logits.gather(1, target[:, None]).squeeze(1)


def run_attack(model: nn.Module, x: Tensor, labels: Tensor, info: list[dict[str, Any]], clean_pred: Tensor,
               **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    rec = Recorder(model)
    plausible = kwargs.pop("plausible", "off")
    if plausibility is not None:  # the human-possible limits: off = the paper's CIASA
        kwargs["plausible"] = plausibility.Plausibility.off() if plausible == "off" else plausibility.Plausibility()
    attack = CIASA(rec, device="cpu", seed=0, **kwargs)
    t0 = time.perf_counter()
    result = attack(x, labels)
    seconds = time.perf_counter() - t0
    untargeted = attack.untargeted
    target = None if untargeted else result.target
    steps = [lg for grad, lg in rec.calls if grad]
    final_gap = _gap(rec.calls[-1][1], target, labels)  # the last call scores the final skeleton
    curve = torch.stack([_gap(lg, target, labels) for lg in steps], dim=1) if steps else torch.zeros(len(info), 0)
    adv, clean = result.adversarial, x
    channels = default_channel_mask(NTU_RGBD, 3)
    joints = attack.joint_mask
    var = metrics.joint_variation(adv, clean, joints, channels)
    bone = metrics.bone_length_error(adv, clean, NTU_RGBD, channels)
    linf = metrics.linf_per_joint(adv, clean, channels).amax(dim=1)
    padding_zero = bool(((adv != 0) & (clean.ne(0).any(dim=1, keepdim=True).any(dim=3, keepdim=True) == 0)).sum() == 0)
    plaus = {}
    if plausibility is not None:
        try:
            plaus = {k: np.asarray(v, dtype=float) for k, v in plausibility.measures(adv, clean, NTU_RGBD).items()}
        except Exception as err:  # a measure the data cannot give must not lose the attack numbers
            print(f"warning: plausibility measures failed: {err}", file=sys.stderr)
    per = []
    for i, c in enumerate(info):
        below = (curve[i] < 0).nonzero()
        per.append({
            "name": c["name"], "label": c["label"], "clean_pred": int(clean_pred[i]),
            "clean_correct": bool(clean_pred[i] == labels[i]),
            "target": None if untargeted else int(result.target[i]), "final_pred": int(result.prediction[i]),
            "success": bool(result.success[i]),
            "first_step_below_zero": int(below[0, 0]) + 1 if below.numel() else None,
            "gap_curve": [round(float(v), 3) for v in curve[i]],
            "final_gap": float(final_gap[i]),
            "linf_mm": float(linf[i]) * 1000, "disp_mean_mm": float(var["mean"][i]) * 1000,
            "disp_max_mm": float(var["max"][i]) * 1000, "bone_error_mean_mm": float(bone["mean"][i]) * 1000,
            "bone_error_max_mm": float(bone["max"][i]) * 1000,
            "plausibility": {k: (None if not np.isfinite(v[i]) else float(v[i])) for k, v in plaus.items()},
        })  # fmt: skip
    correct = [p for p in per if p["clean_correct"]]
    ok = [p for p in correct if p["success"]]
    return {
        "settings": attack.settings(),
        "eps_m": kwargs.get("eps"),
        "seconds": seconds,
        "padding_and_absent_bodies_zero": padding_zero,
        "success_clean_correct": {"count": len(ok), "of": len(correct)},
        "linf_mm_mean": float(np.mean([p["linf_mm"] for p in per])),
        "linf_mm_max": float(np.max([p["linf_mm"] for p in per])),
        "disp_mean_mm": float(np.mean([p["disp_mean_mm"] for p in per])),
        "disp_max_mm": float(np.max([p["disp_max_mm"] for p in per])),
        "bone_error_max_mm": float(np.max([p["bone_error_max_mm"] for p in per])),
        "per_clip": per,
    }


def fwd_bwd_seconds(model: nn.Module, x: Tensor) -> float:
    xx = x.clone().requires_grad_(True)
    t = time.perf_counter()
    out = model(xx)
    (grad,) = torch.autograd.grad(out.logsumexp(dim=1).sum(), xx)
    assert torch.isfinite(grad).all()
    return time.perf_counter() - t


def timing(models: dict[str, nn.Module], batch: int, repeats: int) -> dict[str, Any]:
    """Interleaved forward+backward times at NTU size against ST-GCN at official width."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 300, 25, 2, generator=g) * 0.3  # every frame and both bodies present
    torch.manual_seed(0)
    baseline = STGCN(3, 60, {"layout": "ntu-rgb+d", "strategy": "spatial"}, base_channels=64).eval()
    out: dict[str, Any] = {"batch": batch, "frames": 300, "bodies": 2, "repeats": repeats,
                           "baseline": "ST-GCN, base_channels 64, 60 classes, random weights", "models": {}}  # fmt: skip
    with frozen(baseline):
        fwd_bwd_seconds(baseline, x)  # warm-up
        for name, model in models.items():
            with frozen(model):
                fwd_bwd_seconds(model, x)
                pairs = [(fwd_bwd_seconds(baseline, x), fwd_bwd_seconds(model, x)) for _ in range(repeats)]
            ratios = [m / b for b, m in pairs]
            out["models"][name] = {
                "seconds_median": statistics.median(m for _, m in pairs),
                "stgcn_seconds_median": statistics.median(b for b, _ in pairs),
                "ratio_median": statistics.median(ratios), "ratios": ratios,
            }  # fmt: skip
    return out


def _limits(attack: dict[str, Any]) -> str:
    """', human-possible limits on' for a run with ``--plausibility default``; '' for the paper's attack."""
    active = (attack["settings"].get("plausibility_settings") or {}).get("active")
    return ", human-possible limits on" if active else ""


def table_rows(report: dict[str, Any]) -> list[str]:
    """Markdown rows of the attack table in docs/attacks.md, one per attack of ``report``."""
    rows = []
    for a in report.get("attacks", []):
        per = a["per_clip"]
        s = a["success_clean_correct"]
        firsts = [p["first_step_below_zero"] for p in per if p["clean_correct"] and p["first_step_below_zero"]]
        first = f"{int(np.median(firsts))} ({min(firsts)}-{max(firsts)})" if firsts else "never"
        final = float(np.median([p["final_gap"] for p in per]))
        if a["mode"] == "basic":
            eps_mm = f"{a['eps_m'] * 1000:.0f}"
            what = f"basic, least-likely, `{a['settings']['formulation']}`, {a['settings']['box']}{_limits(a)}"
            linf_ratio = f"{a['linf_mm_max'] / (a['eps_m'] * 1000):.1f}"
            outcome = f"on target {s['count']}/{s['of']}"
        else:
            eps_mm = "10-250"
            what = f"advanced (legs), untargeted, `{a['settings']['formulation']}`, {a['settings']['box']}{_limits(a)}"
            linf_ratio = ""
            outcome = f"flipped {s['count']}/{s['of']}"
        rows.append(
            f"| {a['model']} | {what} | {eps_mm} | {outcome} | {first} | {final:+.1f} | "
            f"{a['linf_mm_mean']:.1f} / {a['linf_mm_max']:.1f} | {linf_ratio} | "
            f"{a['disp_mean_mm']:.1f} / {a['disp_max_mm']:.1f} | {a['bone_error_max_mm']:.4f} |"
        )
    return rows


def _sort_key(attack: dict[str, Any]) -> tuple[Any, ...]:
    """Table order: model as in MODELS, basic before advanced, eps, formulation, box."""
    names = list(MODELS)
    model = names.index(attack["model"]) if attack["model"] in names else len(names)
    s = attack["settings"]
    return (
        model,
        attack["mode"] != "basic",
        attack["eps_m"] or 0.0,
        s["formulation"],
        s["box"] != "loose",
        bool(_limits(attack)),
    )


def merged_attacks(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attacks of several result files in table order (one file per configuration run)."""
    return sorted((a for r in reports for a in r.get("attacks", [])), key=_sort_key)


def _plausibility_cells(per_clip: list[dict[str, float | None]]) -> str:
    """Knee/elbow bent back > 10 deg and feet under the floor as % of their frames, pooled over
    the clips (numerator and denominator summed), then skating and top-speed ratio."""

    def pooled(count: str, of: str) -> str:
        k = sum(p[count] or 0.0 for p in per_clip)
        n = sum(p[of] or 0.0 for p in per_clip)
        return f"{100 * k / n:.1f} ({int(k)}/{int(n)})" if n else "-"

    skating = [p["skating_mm"] for p in per_clip if p.get("skating_mm") is not None]
    speed = [p["speed_ratio"] for p in per_clip if p.get("speed_ratio") is not None]
    skate = f"{np.median(skating):.1f}" if skating else "-"
    spd = f"{np.median(speed):.2f} / {max(speed):.2f}" if speed else "-"
    return (
        f"{pooled('leg_hyperext_10', 'leg_frames')} | {pooled('arm_hyperext_10', 'arm_frames')} "
        f"| {pooled('under_floor', 'body_frames')} | {skate} | {spd}"
    )


PLAUSIBILITY_HEADER = (
    "| skeletons | knee bent back > 10 deg, % of leg-frames (k/n) | elbow bent back > 10 deg, % of arm-frames "
    "| foot under the clean floor - 2 cm, % of body-frames | planted-foot drift, median (mm) "
    "| top joint speed / clean top speed, median / max |\n|---|---|---|---|---|---|"
)


def plausibility_rows(reports: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the real-clip plausibility table: the clean clips, then each attack."""
    rows = []
    clean = next((r["clean_plausibility"] for r in reports if r.get("clean_plausibility")), None)
    if clean:
        rows.append(f"| clean clips | {_plausibility_cells(clean)} |")
    for a in merged_attacks(reports):
        per = [p["plausibility"] for p in a["per_clip"] if p.get("plausibility")]
        if not per:
            continue
        s = a["settings"]
        what = (
            f"basic {a['eps_m'] * 1000:.0f} mm, `{s['formulation']}`, {s['box']}"
            if a["mode"] == "basic"
            else f"advanced (legs), `{s['formulation']}`, {s['box']}"
        ) + _limits(a)
        rows.append(f"| {a['model']}, {what} | {_plausibility_cells(per)} |")
    return rows


TABLE_HEADER = (
    "| model | attack | eps (mm) | outcome (clean-correct clips) | first step with gap < 0: median (range) "
    "| final gap, median (nats) | realised L-inf mean / max (mm) | L-inf max / eps | joint displacement mean / max (mm) "
    "| bone-length error max (mm) |\n|---|---|---|---|---|---|---|---|---|---|"
)


def _csv(text: str, cast: Any = str) -> list[Any]:
    return [cast(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--root", type=Path, default=REPO.parent / "shared" / "real_ntu", help="folder with skeletons/ and weights/"
    )
    p.add_argument(
        "--models",
        default="efficientgcn-xview,efficientgcn-xsub,shiftgcn-xview,shiftgcn-xsub",
        help=f"comma list of {', '.join(MODELS)} (clean accuracy for all of them)",
    )
    p.add_argument(
        "--attack-models", default="efficientgcn-xview", help="comma list of the models to attack ('' for none)"
    )
    p.add_argument("--eps", default="0.004,0.008,0.012", help="basic-mode eps values in metres")
    p.add_argument("--formulations", default="skeleton,perturbation", help="CIASA formulations (optimize=)")
    p.add_argument("--boxes", default="loose,strict", help="box rules")
    p.add_argument("--iters", type=int, default=100, help="Adam steps of every attack (no early stop)")
    p.add_argument(
        "--advanced", action=argparse.BooleanOptionalAction, default=True, help="also the advanced untargeted attack"
    )
    p.add_argument(
        "--timing", action=argparse.BooleanOptionalAction, default=True, help="forward+backward time vs ST-GCN"
    )
    p.add_argument("--timing-batch", type=int, default=2, help="batch size of the timing")
    p.add_argument("--timing-repeats", type=int, default=3, help="interleaved pairs per model")
    p.add_argument(
        "--plausibility",
        choices=("off", "default"),
        default="off",
        help="CIASA's human-possible limits: off (the paper's attack, default) or the product default",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "real_ntu.json", help="JSON output")
    p.add_argument(
        "--table",
        nargs="+",
        type=Path,
        default=None,
        metavar="JSON",
        help="only print the markdown attack table of these result files and exit",
    )
    args = p.parse_args(argv)
    if args.table:
        import json

        reports = [json.loads(path.read_text()) for path in args.table]
        print(TABLE_HEADER)
        print("\n".join(table_rows({"attacks": merged_attacks(reports)})))
        print()
        print(PLAUSIBILITY_HEADER)
        print("\n".join(plausibility_rows(reports)))
        return 0
    torch.set_num_threads(args.threads)
    if not (args.root / "skeletons").is_dir() or not (args.root / "weights").is_dir():
        print(
            f"error: --root {args.root}: no skeletons/ and weights/ folders (the real NTU validation material)",
            file=sys.stderr,
        )
        return 2
    names = _csv(args.models)
    attack_names = _csv(args.attack_models)
    for n in names + attack_names:
        if n not in MODELS:
            print(f"error: --models: unknown model {n!r} (known: {', '.join(MODELS)})", file=sys.stderr)
            return 2
    paths = find_clips(args.root)
    x, labels, info = load_clips(paths)
    print(f"{len(info)} clips: " + ", ".join(f"{c['name']} ({c['frames']} frames, {c['bodies']} bodies)" for c in info))
    report: dict[str, Any] = {
        **record.header(argv, args.threads),
        "torch": torch.__version__,
        "clips": info,
        "models": {},
        "attacks": [],
    }
    if plausibility is not None:  # the clean clips' own measures: the baseline every attack row is read against
        clean_measures = plausibility.measures(x, x, NTU_RGBD)
        report["clean_plausibility"] = [
            {k: (None if not np.isfinite(v[i]) else float(v[i])) for k, v in clean_measures.items()}
            for i in range(len(info))
        ]
    loaded: dict[str, nn.Module] = {}
    for name in dict.fromkeys(names + attack_names):
        file, reported = MODELS[name]
        model, meta = load_model(args.root / "weights" / file, device="cpu")
        loaded[name] = model
        ev = clean_eval(model, x, labels, info)
        logits = ev.pop("logits")
        report["models"][name] = {"file": file, "arch": meta["arch"], "model_args": meta["model_args"],
                                  "reported_top1_full_val": reported, "clean": ev}  # fmt: skip
        report["models"][name]["_pred"] = logits.argmax(1).tolist()
        print(
            f"{name}: clean top-1 {ev['top1']['count']}/{ev['top1']['of']}, top-5 {ev['top5']['count']}/{ev['top5']['of']}"
        )
    for name in attack_names:
        model = loaded[name]
        pred = torch.tensor(report["models"][name]["_pred"])
        grid = [(eps, f, b) for eps in _csv(args.eps, float) for f in _csv(args.formulations) for b in _csv(args.boxes)]
        for eps, form, box in grid:
            entry = run_attack(model, x, labels, info, pred, mode="basic", eps=eps, optimize=form, box=box,
                               target="least_likely", max_iter=args.iters, early_stop=None,
                               plausible=args.plausibility)  # fmt: skip
            entry.update(model=name, mode="basic", target_rule="least_likely")
            report["attacks"].append(entry)
            s = entry["success_clean_correct"]
            print(f"{name} basic eps {eps:.3f} {form:12s} {box:6s}: on target {s['count']}/{s['of']}, "
                  f"L-inf mean {entry['linf_mm_mean']:.1f} mm (eps {eps * 1000:.0f} mm), disp max {entry['disp_max_mm']:.1f} mm, "
                  f"{entry['seconds']:.0f} s")  # fmt: skip
            atomic_write_json(args.out, _public(report))
        if args.advanced:
            entry = run_attack(model, x, labels, info, pred, mode="advanced", target="untargeted",
                               optimize="perturbation", box="loose", max_iter=args.iters, early_stop=None,
                               plausible=args.plausibility)  # fmt: skip
            entry.update(model=name, mode="advanced", target_rule="untargeted")
            report["attacks"].append(entry)
            s = entry["success_clean_correct"]
            print(f"{name} advanced untargeted: flipped {s['count']}/{s['of']}, L-inf max {entry['linf_mm_max']:.0f} mm, "
                  f"{entry['seconds']:.0f} s")  # fmt: skip
            atomic_write_json(args.out, _public(report))
    if args.timing:
        report["timing"] = timing({n: loaded[n] for n in names}, args.timing_batch, args.timing_repeats)
        for n, t in report["timing"]["models"].items():
            print(f"forward+backward {n}: {t['seconds_median']:.2f} s vs ST-GCN {t['stgcn_seconds_median']:.2f} s "
                  f"(ratio {t['ratio_median']:.2f})")  # fmt: skip
    atomic_write_json(args.out, _public(record.finish(report)))
    print(f"wrote {args.out}")
    return 0


def _public(report: dict[str, Any]) -> dict[str, Any]:
    out = dict(report)
    out["models"] = {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in report["models"].items()}
    return out


if __name__ == "__main__":
    sys.exit(main())
