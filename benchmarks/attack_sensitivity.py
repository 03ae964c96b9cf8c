"""Where a classifier is sensitive: input-gradient share per body part and the 1 cm gain.

For a random draw of validation clips, takes the gradient of (least-likely logit - top
logit) with respect to the skeleton and reports, per model:

- the median logit gap a least-likely-target attack must close;
- the median L1 norm of the gradient (nats per metre) and the first-order gain of a
  1 cm signed step along it, against the gain actually measured by applying that step;
- the share of the gradient on the trunk, each arm and the legs, and per axis.

It explains why an attack succeeds or not at a budget (a 1 cm step that gains less than
the gap cannot reach the target in one step), and shows which joints a model ignores
(a zero share on the legs leaves CIASA's advanced mode nothing to act on).

    python benchmarks/attack_sensitivity.py --data DIR/xsub --model demo=RUN/model.pt --model plain=RUN2/model.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.data.stgcn import load_split  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.models.checkpoint import load_model  # noqa: E402
from ciasa.skeleton import NTU_RGBD  # noqa: E402

PARTS = {
    "trunk_and_head": ["spine_base", "spine_mid", "neck", "head", "spine_shoulder"],
    "left_arm": ["left_shoulder", "left_elbow", "left_wrist", "left_hand", "left_hand_tip", "left_thumb"],
    "right_arm": ["right_shoulder", "right_elbow", "right_wrist", "right_hand", "right_hand_tip", "right_thumb"],
    "legs": [
        "left_hip",
        "left_knee",
        "left_ankle",
        "left_foot",
        "right_hip",
        "right_knee",
        "right_ankle",
        "right_foot",
    ],
}


def sensitivity(model: torch.nn.Module, x: torch.Tensor, step: float = 0.01) -> dict:
    with torch.no_grad():
        logits = model(x)
    low, top = logits.argmin(1, keepdim=True), logits.argmax(1, keepdim=True)
    x = x.clone().requires_grad_(True)
    out = model(x)
    gap = out.gather(1, low) - out.gather(1, top)
    (grad,) = torch.autograd.grad(gap.sum(), x)
    with torch.no_grad():
        moved = model(x + step * grad.sign())
        gained = (moved.gather(1, low) - moved.gather(1, top)) - gap
    l1 = grad.abs().flatten(1).sum(1)
    per_joint = grad.abs().sum(dim=(0, 1, 2, 4))
    per_axis = grad.abs().sum(dim=(0, 2, 3, 4))
    index = {name: i for i, name in enumerate(NTU_RGBD.joint_names)}
    shares = {
        part: float(per_joint[[index[j] for j in joints]].sum() / per_joint.sum()) for part, joints in PARTS.items()
    }
    return {
        "clips": int(x.shape[0]),
        "median_gap_to_least_likely_nats": round(float(-gap.median()), 2),
        "median_gradient_l1_nats_per_m": round(float(l1.median()), 1),
        "median_first_order_gain_nats": round(float((step * l1).median()), 2),
        "median_measured_gain_nats": round(float(gained.median()), 2),
        "step_m": step,
        "gradient_share": {k: round(v, 4) for k, v in shares.items()},
        "gradient_share_per_axis": [round(float(v), 4) for v in per_axis / per_axis.sum()],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="ST-GCN layout directory (its val split is used)")
    p.add_argument("--model", action="append", required=True, help="NAME=CHECKPOINT, repeatable")
    p.add_argument("--clips", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "attack_sensitivity.json")
    args = p.parse_args()
    torch.set_num_threads(1)
    data = load_split(args.data, "val").data
    pick = np.sort(np.random.default_rng(args.seed).permutation(len(data))[: args.clips])
    x = torch.from_numpy(np.ascontiguousarray(data[pick])).float()
    record = {"data": str(args.data), "clips": args.clips, "seed": args.seed, "models": {}}
    for spec in args.model:
        name, _, path = spec.partition("=")
        model, _ = load_model(path, device="cpu")
        record["models"][name] = {"checkpoint": path, **sensitivity(model, x)}
        print(name, json.dumps(record["models"][name]), flush=True)
    atomic_write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
