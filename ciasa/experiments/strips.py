"""Skeleton strips in the manner of the paper's Fig. 3: clean (green) and perturbed (red)
skeletons of one clip, frames left to right, seen from the sensor.

The perturbed clips come from a finished ``python -m ciasa.attack`` run (``--attacked``)
or are made here with CIASA (any mode).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ciasa.io import atomic_path, atomic_write_json
from ciasa.skeleton import SkeletonLayout

log = logging.getLogger(__name__)


def strip_frames(clean: np.ndarray, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly over the clip's non-padded frames."""
    present = np.flatnonzero(np.abs(clean).reshape(clean.shape[0], clean.shape[1], -1).sum(axis=(0, 2)) > 0)
    if present.size == 0:
        raise ValueError("the clip has no non-empty frame")
    return present[np.unique(np.linspace(0, present.size - 1, count).round().astype(int))]


def draw_strip(
    clean: np.ndarray,
    perturbed: np.ndarray,
    layout: SkeletonLayout,
    path: str | Path,
    frames: int = 8,
    title: str = "",
    highlight: list[int] | None = None,
) -> list[int]:
    """Draw one clip ``(C, T, V, M)``: clean green, perturbed red, chosen frames left to right.

    The view is the sensor's (image right = -x in Kinect space, up = y); frames are spaced
    by the body's width so they do not overlap. Returns the frame indices drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = strip_frames(clean, frames)
    c, t, v, m = clean.shape
    present = np.abs(clean).reshape(c, t, v * m).sum(axis=(0,)) > 0
    xs = -clean[0][present.reshape(t, v, m)]
    width = float(np.ptp(xs)) if xs.size else 1.0
    spacing = max(width * 1.3, 0.5)
    fig, ax = plt.subplots(figsize=(1.4 * len(chosen) + 1, 3.2))
    for k, f in enumerate(chosen):
        for body in range(m):
            if not np.any(clean[:, f, :, body]):
                continue
            for skel, color, lw in ((clean, "tab:green", 2.0), (perturbed, "tab:red", 1.2)):
                u = -skel[0, f, :, body] + k * spacing
                w = skel[1, f, :, body]
                for child, parent in layout.bones:
                    ax.plot([u[child], u[parent]], [w[child], w[parent]], color=color, lw=lw, alpha=0.9)
            if highlight:
                u = -perturbed[0, f, highlight, body] + k * spacing
                ax.scatter(u, perturbed[1, f, highlight, body], s=8, color="tab:red", zorder=3)
        ax.text(-np.mean(clean[0, f, :, 0]) + k * spacing, np.min(clean[1, f, :, 0]) - 0.15, f"t={f}",
                ha="center", fontsize=7)  # fmt: skip
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or "clean (green) vs perturbed (red)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)
    return chosen.tolist()


def run_strips(args: argparse.Namespace) -> dict[str, Any]:
    from ciasa.attacks import CIASA
    from ciasa.data.stgcn import load_split
    from ciasa.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model, meta = load_model(args.checkpoint, device=args.device)
    layout = model.layout if hasattr(model, "layout") else meta["layout"]
    data = load_split(args.data, args.split, layout=layout)
    where = {n: i for i, n in enumerate(data.names)}
    names = [n for n in (args.names or "").split(",") if n] or data.names[: args.count]
    missing = [n for n in names if n not in where]
    if missing:
        raise ValueError(f"{data.source}: no samples named {missing}")
    idx = [where[n] for n in names]
    clean = np.asarray(data.data[sorted(idx)], dtype=np.float32)[np.argsort(np.argsort(idx))]
    labels = data.labels[idx]
    if args.attacked:
        adv_set = load_split(args.attacked, args.split, layout=layout)
        adv_where = {n: i for i, n in enumerate(adv_set.names)}
        absent = [n for n in names if n not in adv_where]
        if absent:
            raise ValueError(f"{args.attacked}: the attack output lacks samples {absent}")
        perturbed = np.stack([np.asarray(adv_set.data[adv_where[n]]) for n in names])
        moved = np.flatnonzero(np.abs(perturbed - clean).sum(axis=(0, 1, 2, 4)) > 0).tolist()
        preds = None
    else:
        real = None if args.no_gan else load_split(args.real_data or args.data, args.real_split, layout=layout)
        attack = CIASA(model, mode=args.mode, eps=args.eps, region=args.region, max_iter=args.max_iter,
                       use_gan=not args.no_gan, real_source=real, layout=layout, seed=args.seed)  # fmt: skip
        result = attack(torch.from_numpy(clean), torch.as_tensor(labels))
        perturbed = result.adversarial.numpy()
        moved = attack.joint_mask.nonzero().flatten().tolist()
        preds = result.prediction.tolist()
    out = Path(args.out)
    figures = []
    for i, name in enumerate(names):
        label = data.class_names[int(labels[i])] if int(labels[i]) < len(data.class_names) else str(labels[i])
        pred = "" if preds is None else f" -> {data.class_names[preds[i]] if preds[i] < len(data.class_names) else preds[i]}"
        path = out / f"strip_{name}.png"
        frames = draw_strip(clean[i], perturbed[i], layout, path, args.frames, f"{name}: {label}{pred}", moved)
        figures.append({"name": name, "path": str(path), "frames": frames})
    record = {"experiment": "strips", "checkpoint": str(args.checkpoint), "figures": figures,
              "source": args.attacked or f"CIASA {args.mode}"}  # fmt: skip
    atomic_write_json(out / "strips.json", record)
    return record


def add_strip_arguments(p: argparse.ArgumentParser) -> None:
    from ciasa.attack import parse_eps

    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--out", required=True)
    p.add_argument("--names", default=None, help="comma-separated sample names (default: the first --count)")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--frames", type=int, default=8, help="frames per strip")
    p.add_argument("--attacked", default=None, help="output directory of python -m ciasa.attack to draw from")
    p.add_argument("--mode", default="advanced", choices=("basic", "localized", "advanced"))
    p.add_argument("--eps", type=parse_eps, default=None)
    p.add_argument("--region", default=None)
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--no-gan", action="store_true")
    p.add_argument("--real-data", default=None)
    p.add_argument("--real-split", default="train")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
