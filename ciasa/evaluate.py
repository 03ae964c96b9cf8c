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

from ciasa import cli
from ciasa.augment import REEXTRACTION_SIGMA, joint_noise
from ciasa.data.stgcn import SkeletonSet
from ciasa.device import resolve_device
from ciasa.io import atomic_path, atomic_write_json

log = logging.getLogger(__name__)


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


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float | None:
    """Fraction of samples whose label is among the top ``k``; None for no sample (not NaN: JSON has none)."""
    if len(labels) == 0:
        return None
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return float((top == labels[:, None]).any(dim=1).float().mean())


def summarize(logits: torch.Tensor, labels: np.ndarray | torch.Tensor, class_names: list[str]) -> dict[str, Any]:
    """Top-1/top-5, mean loss, per-class accuracy and the confusion matrix (rows = true labels)."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    num_class = logits.shape[1]
    if len(labels) and int(labels.max()) >= num_class:
        raise cli.BadInput(f"label {int(labels.max())} is outside the model's {num_class} classes")
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
        "loss": float(F.cross_entropy(logits, labels)) if len(labels) else None,
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
                    ax.text(
                        j,
                        i,
                        int(cm[i, j]),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if rows[i, j] > 0.5 else "black",
                    )
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
    allow_class_mismatch: bool = False,
    progress: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """Evaluate ``checkpoint`` on ``data_dir/{split}`` and write the report files to ``out_dir``.

    An empty split (a label file with no sample, as the pipeline writes when every clip
    of a condition failed) gives ``n = 0`` and null accuracies, so the workflow can go on
    and the report can say why.
    """
    from ciasa.models import load_model

    dev = resolve_device(device)
    model, meta = load_model(checkpoint, device=dev, **overrides)
    class_names = meta["class_names"]
    data = _load_or_empty(data_dir, split, model, meta, checkpoint, allow_class_mismatch)
    logits = predict(model, data.data, batch_size, dev, noise_sigma, noise_seed, progress=progress)
    if len(data) == 0:
        logits = torch.zeros(0, len(class_names))
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
    top1 = "n/a" if result["top1"] is None else f"{100 * result['top1']:.1f}%"
    title = f"{Path(checkpoint).name} on {split}: top-1 {top1} (n={result['n']})"
    plot_confusion(confusion, class_names, out_dir / "confusion.png", title)
    log.info(
        "%s on %s/%s: top1 %s top5 %s (n=%d)",
        checkpoint,
        data_dir,
        split,
        _pct(result["top1"]),
        _pct(result["top5"]),
        result["n"],
    )
    return metrics


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _load_or_empty(data_dir, split, model, meta, checkpoint, allow_class_mismatch) -> SkeletonSet:
    """The split checked against the model; an empty split loads as N = 0 instead of failing."""
    from ciasa.data.model_fit import check_class_names, load_split_for_model
    from ciasa.data.stgcn import load_class_names, load_labels, split_paths

    data_path, label_path = split_paths(data_dir, split)
    names, labels = load_labels(label_path)
    if names:
        return load_split_for_model(data_dir, split, model, meta, checkpoint, allow_class_mismatch)
    if not data_path.is_file():
        raise FileNotFoundError(f"{data_path}: data file not found (split {split!r})")
    try:
        empty = np.load(data_path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise cli.BadInput(f"{data_path}: not a readable .npy array: {err}") from None
    if empty.ndim != 5 or len(empty) != 0:
        raise cli.BadInput(f"{data_path}: {label_path.name} lists no sample but the data has shape {empty.shape}")
    check_class_names(
        meta["class_names"],
        load_class_names(data_dir),
        str(checkpoint),
        str(Path(data_dir) / "classes.json"),
        allow_class_mismatch,
    )
    log.warning("%s: empty split: writing metrics with n = 0", data_path)
    return SkeletonSet(
        data=empty.astype(np.float32), names=[], labels=labels, class_names=meta["class_names"], source=str(data_path)
    )


def _write_predictions(path: Path, data: SkeletonSet, logits: torch.Tensor, class_names: list[str]) -> None:
    prob = logits.softmax(dim=1)
    k = min(5, logits.shape[1])
    top = prob.topk(k, dim=1)
    with atomic_path(path, suffix=".csv") as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "label", "pred", "confidence", "top5", "label_name", "pred_name"])
        for i, name in enumerate(data.names):
            pred = int(top.indices[i, 0])
            w.writerow(
                [
                    name,
                    int(data.labels[i]),
                    pred,
                    f"{float(top.values[i, 0]):.6f}",
                    " ".join(str(int(c)) for c in top.indices[i]),
                    class_names[int(data.labels[i])],
                    class_names[pred],
                ]
            )


def _sigma(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.replace(",", " ").split()]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3 or any(p < 0 or not math.isfinite(p) for p in parts):
        raise argparse.ArgumentTypeError(f"noise sigma must be one or three non-negative numbers, got {text!r}")
    return (parts[0], parts[1], parts[2])


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m ciasa.evaluate",
        "Evaluate a skeleton action classifier on an ST-GCN-layout split "
        "(top-1/top-5, per-class accuracy, confusion matrix). An empty split gives n = 0 and null accuracies.",
    )
    from ciasa.data.model_fit import add_model_data_flags

    add_model_data_flags(
        p.add_argument_group("input and output"), "output directory for metrics.json, predictions.csv, confusion.*"
    )
    run = p.add_argument_group("running")
    cli.add_device_flag(run)
    cli.add_threads_flag(run)
    run.add_argument("--batch-size", type=cli.positive_int, default=64, help="samples per forward pass")
    run.add_argument(
        "--noise-sigma",
        type=_sigma,
        default=None,
        metavar="SX,SY,SZ",
        help="add fixed-seed Gaussian joint noise (metres) before classifying; "
        f"'reextraction' scale is {','.join(map(str, REEXTRACTION_SIGMA))}",
    )
    run.add_argument("--noise-seed", type=int, default=0, help="seed of the joint noise")
    g = p.add_argument_group("official state dicts (checked against the file)")
    g.add_argument("--num-class", type=cli.positive_int, default=None, help="number of classes of the model")
    g.add_argument("--layout", choices=["ntu-rgb+d", "openpose"], default=None, help="joint layout of the model")
    g.add_argument("--in-channels", type=cli.positive_int, default=None, help="coordinate channels the model takes")
    g.add_argument(
        "--arch",
        default=None,
        help="architecture of a plain state dict (default: read off its keys; see docs/models.md)",
    )
    g.add_argument("--class-names", default=None, help="JSON file with a list of class names")
    cli.add_logging_flags(p)
    cli.add_progress_flag(p)
    return p


def _read_class_names(path: str | None) -> list[str] | None:
    from ciasa.data.stgcn import read_class_names_file

    return read_class_names_file(path) if path else None


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    metrics = evaluate(
        args.checkpoint,
        args.data,
        args.split,
        args.out,
        args.device,
        args.batch_size,
        args.noise_sigma,
        args.noise_seed,
        args.allow_class_mismatch,
        cli.show_progress(args),
        num_class=args.num_class,
        layout=args.layout,
        in_channels=args.in_channels,
        arch=args.arch,
        class_names=_read_class_names(args.class_names),
    )
    print(f"top1 {_pct(metrics['top1'])}  top5 {_pct(metrics['top5'])}  n={metrics['n']}  -> {args.out}")
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())
