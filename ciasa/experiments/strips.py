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

from ciasa import cli
from ciasa.io import atomic_path, atomic_write_json
from ciasa.skeleton import SkeletonLayout

log = logging.getLogger(__name__)


def draw_body(
    ax,
    joints: np.ndarray,
    layout: SkeletonLayout,
    color: str,
    lw: float = 1.4,
    style: str = "-",
    dx: float = 0.0,
    marker_size: float = 0.0,
    alpha: float = 0.9,
) -> None:
    """One body ``(C, V)`` as the sensor sees it (image right = -x, up = y), shifted by ``dx``.

    The one skeleton-drawing primitive of the figures: the experiment strips here and the
    report's clip strips (``report.figures``) both draw with it.
    """
    if not np.any(joints):
        return
    u, w = -joints[0] + dx, joints[1]
    for child, parent in layout.bones:
        ax.plot(
            [u[child], u[parent]], [w[child], w[parent]], style, color=color, lw=lw, alpha=alpha, solid_capstyle="round"
        )
    if marker_size:
        ax.plot(u, w, "o", color=color, ms=marker_size, alpha=alpha)


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
                draw_body(ax, skel[:, f, :, body], layout, color, lw, dx=k * spacing)
            if highlight:
                u = -perturbed[0, f, highlight, body] + k * spacing
                ax.scatter(u, perturbed[1, f, highlight, body], s=8, color="tab:red", zorder=3)
        ax.text(
            -np.mean(clean[0, f, :, 0]) + k * spacing,
            np.min(clean[1, f, :, 0]) - 0.15,
            f"t={f}",
            ha="center",
            fontsize=7,
        )
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or "clean (green) vs perturbed (red)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)
    return chosen.tolist()


def run_strips(args: argparse.Namespace) -> dict[str, Any]:
    # torch only here: the drawing helpers above are imported by the report's strips, which
    # must not pay torch's import (seconds) to draw lines
    import torch

    from ciasa.attacks import CIASA
    from ciasa.data.model_fit import load_split_for_model, take
    from ciasa.data.stgcn import load_split
    from ciasa.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model, meta = load_model(args.checkpoint, device=args.device)
    layout = model.layout if hasattr(model, "layout") else meta["layout"]
    data = load_split_for_model(args.data, args.split, model, meta, args.checkpoint, args.allow_class_mismatch)
    where = {n: i for i, n in enumerate(data.names)}
    names = args.names or data.names[: args.count]
    missing = [n for n in names if n not in where]
    if missing:
        raise cli.BadInput(f"{data.source}: no samples named {missing}")
    idx = [where[n] for n in names]
    clean = take(data.data, idx)
    labels = data.labels[idx]
    if args.attacked:
        adv_set = load_split(args.attacked, args.split, layout=layout)
        adv_where = {n: i for i, n in enumerate(adv_set.names)}
        absent = [n for n in names if n not in adv_where]
        if absent:
            raise cli.BadInput(f"{args.attacked}: the attack output lacks samples {absent}")
        perturbed = take(adv_set.data, [adv_where[n] for n in names])
        moved = np.flatnonzero(np.abs(perturbed - clean).sum(axis=(0, 1, 2, 4)) > 0).tolist()
        preds = None
    else:
        real = None if args.no_gan else load_split(args.real_data or args.data, args.real_split, layout=layout)
        attack = CIASA(
            model,
            mode=args.mode,
            eps=args.eps,
            region=args.region,
            max_iter=args.max_iter,
            use_gan=not args.no_gan,
            real_source=real,
            layout=layout,
            seed=args.seed,
        )
        result = attack(torch.from_numpy(clean), torch.as_tensor(labels))
        perturbed = result.adversarial.numpy()
        moved = attack.joint_mask.nonzero().flatten().tolist()
        preds = result.prediction.tolist()
    out = Path(args.out)
    figures = []
    for i, name in enumerate(names):
        label = data.class_names[int(labels[i])] if int(labels[i]) < len(data.class_names) else str(labels[i])
        pred = (
            ""
            if preds is None
            else f" -> {data.class_names[preds[i]] if preds[i] < len(data.class_names) else preds[i]}"
        )
        path = out / f"strip_{name}.png"
        frames = draw_strip(clean[i], perturbed[i], layout, path, args.frames, f"{name}: {label}{pred}", moved)
        figures.append({"name": name, "path": str(path), "frames": frames})
    record = {
        "experiment": "strips",
        "checkpoint": str(args.checkpoint),
        "figures": figures,
        "source": args.attacked or f"CIASA {args.mode}",
    }
    atomic_write_json(out / "strips.json", record)
    return record


def add_strip_arguments(p: argparse.ArgumentParser) -> None:
    from ciasa.attack import parse_eps
    from ciasa.data.model_fit import add_model_data_flags

    add_model_data_flags(
        p.add_argument_group("model, data and output"),
        "output directory (strip_NAME.png, strips.json)",
        "split the clips come from",
    )
    sel = p.add_argument_group("clips")
    cli.add_names_flag(sel, help="sample names to draw (default: the first --count)")
    sel.add_argument("--count", type=cli.positive_int, default=3, help="clips to draw when --names is not given")
    sel.add_argument("--frames", type=cli.positive_int, default=8, help="frames per strip")
    sel.add_argument("--attacked", default=None, help="output directory of python -m ciasa.attack to draw from")
    atk = p.add_argument_group("attack (without --attacked)")
    atk.add_argument("--mode", default="advanced", choices=("basic", "localized", "advanced"), help="CIASA mode")
    atk.add_argument("--eps", type=parse_eps, default=None, help="clipping radius (default: the mode's)")
    atk.add_argument("--region", default=None, help="attack region of the localized mode")
    atk.add_argument("--max-iter", type=cli.positive_int, default=100, help="CIASA iterations")
    atk.add_argument("--no-gan", action="store_true", help="without the discriminator term")
    atk.add_argument("--real-data", default=None, help="clean data for the discriminator (default: --data)")
    atk.add_argument("--real-split", default="train", help="split of --real-data the discriminator sees")
    atk.add_argument("--seed", type=int, default=0, help="seed of the attack")
    cli.add_device_flag(atk)
    cli.add_threads_flag(atk)
    cli.add_logging_flags(p)
