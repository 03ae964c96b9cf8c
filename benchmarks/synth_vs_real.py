"""Why the synthetic world resists CIASA: clean margins and input gradients, synthetic vs real.

CIASA reaches the least-likely class on the published NTU models and real clips within
a few steps at eps 4 mm (``benchmarks/real_ntu.py``) but rarely on the demo ST-GCN and
the synthetic set (docs/results.md, Table I). This script measures, without attacking,
the two first-order quantities that decide how far a gradient attack has to go:

* the **clean logit gap** to the least-likely class (best logit minus the least-likely
  class's; nats) and the clean margin (true logit minus the best other);
* the **input gradient** of that gap with respect to the raw joints, as its L1 norm over
  the coordinates an attack may move (present frames and bodies): a perturbation with
  L-inf radius eps changes the gap by at most ``eps * ||g||_1`` to first order, so
  ``gap / ||g||_1`` is the first-order L-inf distance (metres) to the least-likely class,
  and the L2 norm for completeness.

Synthetic side: the demo model (``--synth-checkpoint``) on up to ``--n`` clean-correct
clips of the synthetic val split (``--synth-data``); real side: each published model in
``--real-models`` on the seven real NTU clips (``--real-root``). The per-clip gap curves
of the attacks themselves are in ``real_ntu*.json`` and the ``attack_basic_*.json`` files.
Writes ``--out`` (default ``benchmarks/results/synth_vs_real.json``).
Run: ``nice -n 10 python benchmarks/synth_vs_real.py --synth-checkpoint M --synth-data DIR/xsub``;
``python benchmarks/synth_vs_real.py --table RESULT.json`` prints the docs table.
"""

from __future__ import annotations

import argparse
import os
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

from ciasa.attacks.base import frozen  # noqa: E402
from ciasa.data.stgcn import load_split  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.models import load_model  # noqa: E402


def first_order(model: nn.Module, x: Tensor, labels: Tensor) -> dict[str, np.ndarray]:
    """Per clip: clean margin, least-likely gap, and the gap's input-gradient norms."""
    present = x.ne(0).any(dim=1, keepdim=True).any(dim=3, keepdim=True)  # (N, 1, T, 1, M) body-frames
    out: dict[str, list[float]] = {
        k: [] for k in ("margin", "ll_gap", "grad_l1", "grad_l2", "linf_to_ll_m", "confidence")
    }
    with frozen(model):
        for i in range(x.shape[0]):
            xi = x[i : i + 1].clone().requires_grad_(True)
            logits = model(xi)[0]
            y = int(labels[i])
            others = logits.clone()
            others[y] = float("-inf")
            ll = int(logits.argmin())
            rest = logits.clone()
            rest[ll] = float("-inf")
            gap = rest.max() - logits[ll]
            (grad,) = torch.autograd.grad(gap, xi)
            grad = grad * present[i : i + 1]
            l1 = float(grad.abs().sum())
            out["margin"].append(float(logits[y] - others.max()))
            out["ll_gap"].append(float(gap))
            out["grad_l1"].append(l1)
            out["grad_l2"].append(float(grad.norm()))
            out["linf_to_ll_m"].append(float(gap) / max(l1, 1e-12))
            out["confidence"].append(float(logits.softmax(0)[y]))
    return {k: np.asarray(v) for k, v in out.items()}


def summarize(values: dict[str, np.ndarray]) -> dict[str, Any]:
    return {k: {"median": float(np.median(v)), "p10": float(np.percentile(v, 10)), "p90": float(np.percentile(v, 90)),
                "mean": float(v.mean())} for k, v in values.items()}  # fmt: skip


TABLE_HEADER = (
    "| model, clips | n | clean margin (nats), median (p10-p90) | least-likely gap (nats) "
    "| gradient L1 of the gap (nats per m) | first-order L-inf to least-likely (mm) |\n|---|---|---|---|---|---|"
)


def table_rows(report: dict[str, Any]) -> list[str]:
    """Markdown rows of the docs/attacks.md table, one per group of ``report``."""
    rows = []
    for name, g in report["groups"].items():
        s = g["summary"]

        def cell(key: str, scale: float = 1.0, fmt: str = ".1f") -> str:
            v = s[key]
            return f"{v['median'] * scale:{fmt}} ({v['p10'] * scale:{fmt}}-{v['p90'] * scale:{fmt}})"

        what = f"{name}, synthetic xsub val" if "synthetic" in name else f"{name}, real NTU clips"
        rows.append(f"| {what} | {g['n']} | {cell('margin')} | {cell('ll_gap')} | {cell('grad_l1', fmt='.0f')} "
                    f"| {cell('linf_to_ll_m', 1000.0)} |")  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if argv is None and "--table" in sys.argv[1:2]:
        import json

        print(TABLE_HEADER)
        for path in sys.argv[2:]:
            print("\n".join(table_rows(json.loads(Path(path).read_text()))))
        return 0
    p.add_argument("--synth-checkpoint", type=Path, required=True, help="the demo model (ciasa checkpoint)")
    p.add_argument("--synth-data", type=Path, required=True, help="synthetic split directory (e.g. DIR/xsub)")
    p.add_argument("--split", default="val", help="synthetic split to read")
    p.add_argument("--n", type=int, default=50, help="clean-correct synthetic clips (the first n)")
    p.add_argument(
        "--real-root", type=Path, default=REPO.parent / "shared" / "real_ntu", help="real NTU clips and weights"
    )
    p.add_argument(
        "--real-models",
        default="efficientgcn-xview,efficientgcn-xsub,shiftgcn-xview,shiftgcn-xsub",
        help="published models (names of benchmarks/real_ntu.py)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "synth_vs_real.json", help="JSON output"
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from real_ntu import MODELS, find_clips, load_clips  # noqa: E402  (benchmarks/real_ntu.py)

    report: dict[str, Any] = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "load_average_start": list(os.getloadavg()),
        "definitions": {
            "margin": "true logit minus best other logit (nats)",
            "ll_gap": "best logit minus the least-likely class's logit (nats): what a least-likely attack must close",
            "grad_l1": "L1 norm of d(ll_gap)/d(joints) over present body-frames (nats per metre)",
            "linf_to_ll_m": "ll_gap / grad_l1: first-order L-inf radius (metres) that closes the gap",
        },
        "groups": {},
    }
    model, meta = load_model(args.synth_checkpoint, device="cpu")
    data = load_split(args.synth_data, args.split)
    x_all = torch.from_numpy(np.asarray(data.data, dtype=np.float32))
    y_all = torch.as_tensor(np.asarray(data.labels))
    with torch.no_grad():
        pred = torch.cat([model(x_all[i : i + 64]).argmax(1) for i in range(0, len(y_all), 64)])
    keep = (pred == y_all).nonzero().flatten()[: args.n]
    vals = first_order(model, x_all[keep], y_all[keep])
    report["groups"]["synthetic demo model"] = {
        "checkpoint": str(args.synth_checkpoint), "data": f"{args.synth_data}/{args.split}", "n": int(len(keep)),
        "arch": meta["arch"], "model_args": meta["model_args"], "summary": summarize(vals),
    }  # fmt: skip
    print(
        f"synthetic (n={len(keep)}): " + ", ".join(f"{k} median {v['median']:.4g}" for k, v in summarize(vals).items())
    )
    x, labels, info = load_clips(find_clips(args.real_root))
    for name in [m for m in args.real_models.split(",") if m]:
        model, meta = load_model(args.real_root / "weights" / MODELS[name][0], device="cpu")
        vals = first_order(model, x, labels)
        report["groups"][name] = {"n": len(info), "arch": meta["arch"], "summary": summarize(vals),
                                  "per_clip": {c["name"]: {k: float(v[i]) for k, v in vals.items()} for i, c in enumerate(info)}}  # fmt: skip
        print(
            f"{name} (n={len(info)}): " + ", ".join(f"{k} median {v['median']:.4g}" for k, v in summarize(vals).items())
        )
        atomic_write_json(args.out, report)
    report["load_average_end"] = list(os.getloadavg())
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
