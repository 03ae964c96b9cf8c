"""Evaluate a trained classifier on an ST-GCN-layout split: top-1/top-5, per-class, confusion.

``python -m ciasa.evaluate --checkpoint C --data DIR --split val --out EVAL_DIR`` writes
``metrics.json`` (top1, top5, n, loss, per-class accuracy), ``predictions.csv`` (name,
label, pred, confidence, top5), ``confusion.json`` and ``confusion.png``. Official
state dicts work too (``--num-class``/``--layout`` to check them against). The data may
have another T or M than the training data: the network is convolutional in time and
averages over bodies; only the joint count and channels must match the model.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ciasa.augment import REEXTRACTION_SIGMA, joint_noise
from ciasa.data.stgcn import SkeletonSet, load_split
from ciasa.device import resolve_device
from ciasa.io import atomic_path, atomic_write_json

log = logging.getLogger(__name__)


def check_compatible(model: nn.Module, data: SkeletonSet) -> None:
    """Raise naming the data file when its channels/joints do not fit the model."""
    _, C, _, V, _ = data.shape
    want_c = getattr(model, "in_channels", None)
    A = getattr(model, "A", None)
    want_v = int(A.shape[-1]) if isinstance(A, torch.Tensor) else None
    layout = getattr(getattr(model, "layout", None), "name", "?")
    if want_v is not None and V != want_v:
        raise ValueError(f"{data.source}: data has {V} joints per frame but the model's layout {layout!r} has {want_v}")
    if want_c is not None and C != want_c:
        raise ValueError(f"{data.source}: data has {C} coordinate channels but the model expects {want_c}")


@torch.no_grad()
def predict(
    model: nn.Module,
    data: np.ndarray,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    noise_sigma: tuple[float, float, float] | None = None,
    noise_seed: int = 0,
    progress: bool = True,
    desc: str = "evaluate",
) -> torch.Tensor:
    """Logits ``(N, num_class)`` for an ``(N, C, T, V, M)`` array (memory-mapped is fine).

    ``noise_sigma`` adds fixed-seed Gaussian joint noise (metres per axis) first: the
    noise-perturbed evaluation that stands in for re-extracted skeletons.
    """
    device = torch.device(device)
    model.eval()
    generator = torch.Generator().manual_seed(noise_seed)
    out = []
    n = len(data)
    for start in tqdm(range(0, n, batch_size), desc=desc, disable=not progress, leave=False, unit="batch"):
        x = torch.from_numpy(np.array(data[start : start + batch_size], dtype=np.float32))
        if noise_sigma is not None:
            x = joint_noise(x, noise_sigma, generator)
        out.append(model(x.to(device)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    if len(labels) == 0:
        return float("nan")
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return float((top == labels[:, None]).any(dim=1).float().mean())


def summarize(logits: torch.Tensor, labels: np.ndarray | torch.Tensor, class_names: list[str]) -> dict[str, Any]:
    """Top-1/top-5, mean loss, per-class accuracy and the confusion matrix (rows = true labels)."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    num_class = logits.shape[1]
    if len(labels) and int(labels.max()) >= num_class:
        raise ValueError(f"label {int(labels.max())} is outside the model's {num_class} classes")
    pred = logits.argmax(dim=1)
    confusion = torch.zeros(num_class, num_class, dtype=torch.long)
    confusion.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    support = confusion.sum(dim=1)
    per_class = {
        class_names[c]: (float(confusion[c, c] / support[c]) if support[c] else None) for c in range(num_class)
    }
    return {
        "top1": topk_accuracy(logits, labels, 1),
        "top5": topk_accuracy(logits, labels, 5),
        "n": int(len(labels)),
        "loss": float(F.cross_entropy(logits, labels)) if len(labels) else float("nan"),
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
    }


def plot_confusion(confusion: list[list[int]], class_names: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, dtype=float)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    k = len(class_names)
    size = max(5.0, 0.35 * k + 3)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    if k <= 30:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if rows[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def evaluate(
    checkpoint: str | Path,
    data_dir: str | Path,
    split: str,
    out_dir: str | Path,
    device: str = "auto",
    batch_size: int = 64,
    noise_sigma: tuple[float, float, float] | None = None,
    noise_seed: int = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """Evaluate ``checkpoint`` on ``data_dir/{split}`` and write the report files to ``out_dir``."""
    from ciasa.models import load_model

    dev = resolve_device(device)
    model, meta = load_model(checkpoint, device=dev, **overrides)
    data = load_split(data_dir, split, mmap=True)
    check_compatible(model, data)
    class_names = meta["class_names"]
    if len(data) and int(data.labels.max()) >= len(class_names):
        raise ValueError(
            f"{data.source}: label {int(data.labels.max())} but the model {checkpoint} has only {len(class_names)} classes"
        )
    logits = predict(model, data.data, batch_size, dev, noise_sigma, noise_seed)
    result = summarize(logits, data.labels, class_names)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    confusion = result.pop("confusion")
    metrics = {
        **result,
        "checkpoint": str(checkpoint),
        "data": str(Path(data_dir) / split),
        "split": split,
        "data_shape": list(data.shape),
        "noise_sigma": list(noise_sigma) if noise_sigma else None,
        "device": str(dev),
        "arch": meta["arch"],
        "layout": meta["layout"],
    }
    atomic_write_json(out_dir / "metrics.json", metrics)
    atomic_write_json(out_dir / "confusion.json", {"class_names": class_names, "matrix": confusion})
    _write_predictions(out_dir / "predictions.csv", data, logits, class_names)
    title = f"{Path(checkpoint).name} on {split}: top-1 {100 * result['top1']:.1f}% (n={result['n']})"
    plot_confusion(confusion, class_names, out_dir / "confusion.png", title)
    log.info("%s on %s/%s: top1 %.2f%% top5 %.2f%% (n=%d)", checkpoint, data_dir, split,
             100 * result["top1"], 100 * result["top5"], result["n"])
    return metrics


def _write_predictions(path: Path, data: SkeletonSet, logits: torch.Tensor, class_names: list[str]) -> None:
    prob = logits.softmax(dim=1)
    k = min(5, logits.shape[1])
    top = prob.topk(k, dim=1)
    with atomic_path(path, suffix=".csv") as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "label", "pred", "confidence", "top5", "label_name", "pred_name"])
        for i, name in enumerate(data.names):
            pred = int(top.indices[i, 0])
            w.writerow([
                name, int(data.labels[i]), pred, f"{float(top.values[i, 0]):.6f}",
                " ".join(str(int(c)) for c in top.indices[i]),
                class_names[int(data.labels[i])], class_names[pred],
            ])  # fmt: skip


def _sigma(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.replace(",", " ").split()]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3 or any(p < 0 or not math.isfinite(p) for p in parts):
        raise argparse.ArgumentTypeError(f"noise sigma must be one or three non-negative numbers, got {text!r}")
    return (parts[0], parts[1], parts[2])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ciasa.evaluate",
        description="Evaluate a skeleton action classifier on an ST-GCN-layout split "
        "(top-1/top-5, per-class accuracy, confusion matrix).",
    )
    p.add_argument("--checkpoint", required=True, help="our model.pt or an official ST-GCN state dict")
    p.add_argument("--data", required=True, help="ST-GCN layout directory ({split}_data.npy, {split}_label.pkl)")
    p.add_argument("--split", default="val", help="split name (default: val)")
    p.add_argument("--out", required=True, help="output directory for metrics.json, predictions.csv, confusion.*")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--noise-sigma", type=_sigma, default=None, metavar="SX,SY,SZ",
                   help="add fixed-seed Gaussian joint noise (metres) before classifying; "
                   f"'reextraction' scale is {','.join(map(str, REEXTRACTION_SIGMA))}")
    p.add_argument("--noise-seed", type=int, default=0)
    g = p.add_argument_group("official state dicts (checked against the file)")
    g.add_argument("--num-class", type=int, default=None)
    g.add_argument("--layout", choices=["ntu-rgb+d", "openpose"], default=None)
    g.add_argument("--in-channels", type=int, default=None)
    g.add_argument("--class-names", default=None, help="JSON file with a list of class names")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    class_names = None
    if args.class_names:
        import json

        class_names = json.loads(Path(args.class_names).read_text())
    try:
        metrics = evaluate(
            args.checkpoint, args.data, args.split, args.out, args.device, args.batch_size,
            args.noise_sigma, args.noise_seed,
            num_class=args.num_class, layout=args.layout, in_channels=args.in_channels, class_names=class_names,
        )  # fmt: skip
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as err:
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"top1 {100 * metrics['top1']:.2f}%  top5 {100 * metrics['top5']:.2f}%  n={metrics['n']}  -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
