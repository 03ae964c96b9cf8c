"""Train a skeleton action classifier on an ST-GCN-layout data set (CPU or CUDA), resumably.

``python -m ciasa.train --data DIR --out RUN_DIR [--config cfg.yaml] [flags]``

Settings come from the defaults below, overridden by ``--config`` (YAML with the
same names as the flags, underscores or dashes), overridden by flags given on the
command line. The defaults are the official ST-GCN NTU recipe (width 64, dropout
0.5, SGD + Nesterov momentum 0.9, lr 0.1, weight decay 1e-4, lr x0.1 at epochs 10
and 50, 80 epochs, batch 64) except that the schedule defaults to cosine;
``config/train_demo.yaml`` holds the narrow, short-clip CPU demo.

Schedules (per iteration): ``cosine`` decays lr from its base value to 0 over the run
after ``warmup_epochs`` of linear warm-up; ``step`` multiplies it by 0.1 at each of
``lr_steps`` (epochs). Optimisers: ``sgd`` (Nesterov, momentum 0.9) or ``adam``.

RUN_DIR receives ``last.pt`` after every epoch (model + optimiser + schedule + log,
written atomically; ``--resume`` continues from it), ``model.pt`` (the final weights
in the ``ciasa-checkpoint/1`` format with class names and layout; ``best.pt`` holds
the epoch with the best clean validation accuracy, for reference only since the
validation split doubles as the test split here) and ``train_log.json`` (per-epoch
loss, accuracy on clean and on noise-perturbed validation skeletons, seconds).
The epoch order and augmentation draws derive from ``(seed, epoch)``, so a resumed
run sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch import nn
from tqdm import tqdm

from ciasa import cli
from ciasa.augment import REEXTRACTION_SIGMA, AugmentConfig, Augmenter
from ciasa.data.stgcn import SkeletonSet, load_split
from ciasa.device import resolve_device
from ciasa.evaluate import predict, topk_accuracy
from ciasa.io import atomic_write_json
from ciasa.models import available_archs, build_model, save_checkpoint
from ciasa.models.checkpoint import CheckpointError, read_checkpoint
from ciasa.skeleton import LAYOUTS

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    data: str = ""
    out: str = ""
    split_train: str = "train"
    split_val: str = "val"
    arch: str = "stgcn"
    strategy: str = "spatial"
    base_channels: int = 64
    dropout: float = 0.5
    edge_importance: bool = True
    epochs: int = 80
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    lr_steps: list[int] = field(default_factory=lambda: [10, 50])
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    augment: bool = False
    augment_args: dict[str, Any] = field(default_factory=dict)
    val_noise_sigma: list[float] = field(default_factory=lambda: list(REEXTRACTION_SIGMA))
    val_every: int = 1
    device: str = "auto"
    num_workers: int = 0
    threads: int = 0  # torch CPU threads; 0 = torch's default
    seed: int = 0
    resume: bool = False
    progress: bool = True

    def model_args(self, in_channels: int, num_class: int, layout: str) -> dict[str, Any]:
        return {
            "in_channels": in_channels,
            "num_class": num_class,
            "graph_args": {"layout": layout, "strategy": self.strategy},
            "edge_importance_weighting": self.edge_importance,
            "base_channels": self.base_channels,
            "dropout": self.dropout,
        }


# Settings that do not change what is computed: a run may resume under other values of these.
RESUME_IGNORED = frozenset({"out", "device", "num_workers", "threads", "resume", "progress", "val_every"})
_CHOICES = {
    "strategy": ("uniform", "distance", "spatial"),
    "optimizer": ("sgd", "adam"),
    "schedule": ("cosine", "step"),
}


def _type_name(kind: type) -> str:
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }[kind]


def check_settings(settings: dict[str, Any], source: str) -> dict[str, Any]:
    """Type-check settings from a YAML file against TrainConfig's fields (YAML can hold anything)."""
    defaults = TrainConfig()
    out = {}
    for key, value in settings.items():
        kind = type(getattr(defaults, key))
        ok = (
            isinstance(value, bool)
            if kind is bool
            else isinstance(value, int) and not isinstance(value, bool)
            if kind is int
            else isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )
        if not ok:
            raise cli.BadInput(f"{source}: setting {key!r} must be {_type_name(kind)}, got {value!r}")
        out[key] = float(value) if kind is float else value
    return out


def validate_config(cfg: TrainConfig) -> None:
    """Refuse settings that would train nothing or crash mid-run, before any data is read.

    The pipeline runs this on its config's training blocks at start-up
    (``pipeline.config.check_train_options``), and the config schema's ``$defs/train``
    states the same types and ranges (``tests/test_config_cli_sync.py`` compares them).
    """
    if cfg.arch not in available_archs():
        raise cli.BadInput(f"--arch {cfg.arch!r} is not one of {', '.join(available_archs())}")
    positive = {
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "base_channels": cfg.base_channels,
        "val_every": cfg.val_every,
    }
    for key, value in positive.items():
        if value < 1:
            raise cli.BadInput(f"--{key.replace('_', '-')} must be >= 1, got {value}")
    for key in ("num_workers", "threads", "warmup_epochs", "weight_decay", "momentum", "seed"):
        if getattr(cfg, key) < 0:
            raise cli.BadInput(f"--{key.replace('_', '-')} must be >= 0, got {getattr(cfg, key)}")
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        raise cli.BadInput(f"--lr must be a positive number, got {cfg.lr}")
    if not 0 <= cfg.dropout < 1:
        raise cli.BadInput(f"--dropout must lie in [0, 1), got {cfg.dropout}")
    if not 0 <= cfg.label_smoothing < 1:
        raise cli.BadInput(f"--label-smoothing must lie in [0, 1), got {cfg.label_smoothing}")
    for key, allowed in _CHOICES.items():
        if getattr(cfg, key) not in allowed:
            raise cli.BadInput(f"{key} {getattr(cfg, key)!r} is not one of {', '.join(allowed)}")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in cfg.lr_steps):
        raise cli.BadInput(f"lr_steps must be a list of epoch numbers, got {cfg.lr_steps!r}")
    if cfg.warmup_epochs >= cfg.epochs:
        raise cli.BadInput(f"--warmup-epochs ({cfg.warmup_epochs:g}) must be shorter than --epochs ({cfg.epochs})")


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise cli.BadInput(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise cli.BadInput(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = {k.replace("-", "_"): v for k, v in raw.items()}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise cli.BadInput(f"{path}: unknown settings {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return check_settings(cfg, str(path))


def infer_layout(data: SkeletonSet) -> str:
    V = data.shape[3]
    for name, layout in LAYOUTS.items():
        if layout.num_joints == V:
            return name
    raise cli.BadInput(f"{data.source}: {V} joints per frame matches no known layout ({', '.join(LAYOUTS)})")


class BatchFetcher(torch.utils.data.Dataset):
    """Item ``i`` is the whole batch ``order[i*B:(i+1)*B]``: one fancy-index read per batch
    (fast on memory maps) instead of B single-sample reads."""

    def __init__(self, data: np.ndarray, labels: np.ndarray, order: np.ndarray, batch_size: int) -> None:
        self.data, self.labels, self.order, self.batch_size = data, labels, order, batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = np.sort(self.order[i * self.batch_size : (i + 1) * self.batch_size])
        x = np.ascontiguousarray(self.data[idx], dtype=np.float32)
        return torch.from_numpy(x), torch.from_numpy(self.labels[idx].astype(np.int64))


def lr_factor(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    epoch = step / steps_per_epoch
    warm = cfg.warmup_epochs
    if warm > 0 and epoch < warm:
        return (step + 1) / (warm * steps_per_epoch)
    if cfg.schedule == "cosine":
        total = max(cfg.epochs - warm, 1e-9)
        return 0.5 * (1.0 + math.cos(math.pi * min((epoch - warm) / total, 1.0)))
    if cfg.schedule == "step":
        return 0.1 ** sum(epoch >= s for s in cfg.lr_steps)
    raise cli.BadInput(f"unknown lr schedule {cfg.schedule!r} (use cosine or step)")


def make_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise cli.BadInput(f"unknown optimizer {cfg.optimizer!r} (use sgd or adam)")


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run (or resume) a training; returns the final log dict also written to train_log.json."""
    if not cfg.data or not cfg.out:
        raise cli.BadInput("both a data directory and an output directory are needed")
    validate_config(cfg)
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    train_set, val_set = _load_sets(cfg)
    layout = infer_layout(train_set)
    _, C, T, V, M = train_set.shape
    class_names = train_set.class_names
    model_args = cfg.model_args(C, len(class_names), layout)
    if cfg.arch != "stgcn":  # 2s-AGCN's input BN and PA-LSTM's part inputs are sized by the body count
        model_args["num_person"] = M
    model = build_model(cfg.arch, **model_args).to(device)
    optimizer = make_optimizer(cfg, model)
    augment = Augmenter(AugmentConfig(**cfg.augment_args), spatial_3d=(layout == "ntu-rgb+d")) if cfg.augment else None

    history: list[dict[str, Any]] = []
    start_epoch, best = 0, {"epoch": None, "val_top1": -1.0}
    last_path = out / "last.pt"
    state = _resumable_state(last_path, cfg, model_args)
    if state is not None:
        start_epoch, history, best = _resume(state, last_path, model, optimizer)
        log.info("resuming %s at epoch %d/%d", last_path, start_epoch + 1, cfg.epochs)
    elif cfg.resume and not last_path.exists():
        log.info("no %s to resume: starting from scratch", last_path)
    out.mkdir(parents=True, exist_ok=True)

    n_train = len(train_set)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(
        "training %s (%d parameters, layout %s, %d classes) on %d samples %s, device %s",
        cfg.arch,
        n_params,
        layout,
        len(class_names),
        n_train,
        train_set.shape,
        device,
    )
    started = time.perf_counter() - sum(e["seconds"] for e in history)
    for epoch in range(start_epoch, cfg.epochs):
        t0, cpu0 = time.perf_counter(), time.process_time()
        entry = _train_epoch(model, optimizer, augment, train_set, cfg, epoch, steps_per_epoch, device)
        last_epoch = epoch + 1 == cfg.epochs
        if val_set is not None and ((epoch + 1) % cfg.val_every == 0 or last_epoch):
            entry.update(_validate(model, val_set, cfg, device))
        entry["seconds"] = time.perf_counter() - t0
        entry["cpu_seconds"] = time.process_time() - cpu0  # all threads; wall time suffers from other load
        history.append(entry)
        if entry.get("val_top1", -1.0) > best["val_top1"]:
            best = {"epoch": epoch + 1, "val_top1": entry["val_top1"]}
            save_checkpoint(out / "best.pt", model, cfg.arch, model_args, class_names, {"train": {"epoch": epoch + 1}})
        _save_last(last_path, model, optimizer, cfg, model_args, class_names, history, best)
        _write_log(out, cfg, model_args, class_names, history, best, started, train_set, val_set, device, n_params)
        log.info(
            "epoch %d/%d: loss %.4f acc %.3f%s (%.1fs, %.1f samples/s)",
            epoch + 1,
            cfg.epochs,
            entry["train_loss"],
            entry["train_acc"],
            _val_text(entry),
            entry["seconds"],
            entry["train_samples_per_s"],
        )

    save_checkpoint(
        out / "model.pt",
        model,
        cfg.arch,
        model_args,
        class_names,
        {"train": {"epochs": cfg.epochs, "final": history[-1] if history else None}},
    )
    return _write_log(
        out, cfg, model_args, class_names, history, best, started, train_set, val_set, device, n_params, finished=True
    )


def _load_sets(cfg: TrainConfig) -> tuple[SkeletonSet, SkeletonSet | None]:
    """The training split and the validation split (if any), checked against each other."""
    train_set = load_split(cfg.data, cfg.split_train, mmap=True)
    val_set = load_split(cfg.data, cfg.split_val, mmap=True) if cfg.split_val else None
    if val_set is not None:
        if val_set.shape[1] != train_set.shape[1] or val_set.shape[3] != train_set.shape[3]:
            raise cli.BadInput(
                f"{val_set.source}: shape {val_set.shape} does not fit the training data {train_set.shape}"
            )
        if len(val_set) and int(val_set.labels.max()) >= len(train_set.class_names):
            raise cli.BadInput(f"{val_set.source}: label {int(val_set.labels.max())} has no class in the training set")
    return train_set, val_set


def _train_epoch(
    model,
    optimizer,
    augment,
    train_set: SkeletonSet,
    cfg: TrainConfig,
    epoch: int,
    steps_per_epoch: int,
    device: torch.device,
) -> dict[str, Any]:
    """One pass over the training split; the order, augmentation and dropout draws derive from
    ``(seed, epoch)``, so a resumed run sees the same batches as an uninterrupted one."""
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    torch.manual_seed(cfg.seed * 100_003 + epoch)  # dropout: same draws after a resume
    order = torch.randperm(len(train_set), generator=gen).numpy()
    loader = torch.utils.data.DataLoader(
        BatchFetcher(train_set.data, train_set.labels, order, cfg.batch_size),
        batch_size=None,
        shuffle=False,
        num_workers=cfg.num_workers,
    )
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress, leave=False, unit="batch")
    for i, (x, y) in enumerate(bar):
        step = epoch * steps_per_epoch + i
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * lr_factor(cfg, step, steps_per_epoch)
        if augment is not None:
            x = augment(x, gen)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
    train_seconds = time.perf_counter() - t0
    return {
        "epoch": epoch + 1,
        "lr": optimizer.param_groups[0]["lr"],
        "train_loss": loss_sum / max(seen, 1),
        "train_acc": correct / max(seen, 1),
        "train_seconds": train_seconds,
        "train_samples_per_s": seen / max(train_seconds, 1e-9),
    }


def _validate(model: nn.Module, val_set: SkeletonSet, cfg: TrainConfig, device: torch.device) -> dict[str, float]:
    labels = torch.from_numpy(val_set.labels)
    logits = predict(model, val_set.data, cfg.batch_size * 2, device, progress=cfg.progress, desc="val clean")
    res = {
        "val_loss": float(F.cross_entropy(logits, labels)),
        "val_top1": topk_accuracy(logits, labels, 1),
        "val_top5": topk_accuracy(logits, labels, 5),
    }
    if cfg.val_noise_sigma and any(cfg.val_noise_sigma):
        sigma = tuple(float(s) for s in cfg.val_noise_sigma)
        noisy = predict(model, val_set.data, cfg.batch_size * 2, device, sigma, cfg.seed, cfg.progress, "val noisy")
        res["val_noisy_top1"] = topk_accuracy(noisy, labels, 1)
    return res


def _val_text(entry: dict[str, Any]) -> str:
    if "val_top1" not in entry:
        return ""
    text = f", val top1 {100 * entry['val_top1']:.2f}%"
    if "val_noisy_top1" in entry:
        text += f" (noisy {100 * entry['val_noisy_top1']:.2f}%)"
    return text


def _save_last(path, model, optimizer, cfg, model_args, class_names, history, best) -> None:
    save_checkpoint(
        path,
        model,
        cfg.arch,
        model_args,
        class_names,
        {
            "train_state": {
                "epoch": len(history),
                "optimizer": optimizer.state_dict(),
                "history": history,
                "best": best,
                "config": dataclasses.asdict(cfg),
            }
        },
    )


def _resumable_state(path: Path, cfg: TrainConfig, model_args: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint in ``last.pt`` when ``--resume`` may continue it, else None.

    An earlier ``last.pt`` that cannot be continued (no ``--resume``, other settings, an
    unreadable file) is never overwritten silently: it is renamed to
    ``last.pt.stale-<UTC time>`` with a warning that says why, and training starts fresh.
    """
    if not path.is_file():
        return None
    if not cfg.resume:
        _set_aside(path, "it is from an earlier run and --resume was not given")
        return None
    try:
        ckpt = read_checkpoint(path)
    except CheckpointError as err:
        _set_aside(path, f"it cannot be read ({err})")
        return None
    state = ckpt.get("train_state")
    reason = None
    if state is None:
        reason = "it holds no training state"
    elif ckpt.get("model_args") != model_args:
        reason = f"it was trained with model {ckpt.get('model_args')}, the current settings give {model_args}"
    else:
        reason = _config_difference(state.get("config") or {}, dataclasses.asdict(cfg))
    if reason is not None:
        _set_aside(path, reason)
        return None
    return {"state_dict": ckpt["state_dict"], **state}


def _config_difference(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """A sentence naming the settings that differ (those that change the result), or None."""
    keys = sorted((set(saved) | set(current)) - RESUME_IGNORED)
    diffs = [f"{k} {saved.get(k)!r} -> {current.get(k)!r}" for k in keys if saved.get(k) != current.get(k)]
    return f"its settings differ: {', '.join(diffs)}" if diffs else None


def _set_aside(path: Path, why: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.stale-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.stale-{stamp}-{n}")
        n += 1
    path.rename(aside)
    log.warning("%s not resumed: %s; starting from epoch 1, the old file is kept as %s", path, why, aside.name)
    return aside


def _resume(state: dict[str, Any], path: Path, model, optimizer):
    from ciasa.models.checkpoint import load_state_strict

    load_state_strict(model, state["state_dict"], path)
    optimizer.load_state_dict(state["optimizer"])
    return int(state["epoch"]), list(state["history"]), dict(state["best"])


def _write_log(
    out,
    cfg,
    model_args,
    class_names,
    history,
    best,
    started,
    train_set,
    val_set,
    device,
    n_params,
    finished: bool = False,
) -> dict[str, Any]:
    last = history[-1] if history else {}
    train_time = sum(e["train_seconds"] for e in history)
    seen = sum(e["train_samples_per_s"] * e["train_seconds"] for e in history)
    payload = {
        "finished": finished,
        "config": dataclasses.asdict(cfg),
        "model_args": model_args,
        "class_names": class_names,
        "parameters": n_params,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "train_data": {"source": train_set.source, "shape": list(train_set.shape)},
        "val_data": {"source": val_set.source, "shape": list(val_set.shape)} if val_set is not None else None,
        "epochs": history,
        "best": best,
        "final": {k: last.get(k) for k in ("epoch", "val_top1", "val_top5", "val_noisy_top1")},
        "seconds_total": sum(e["seconds"] for e in history),
        "cpu_seconds_total": sum(e.get("cpu_seconds", 0.0) for e in history),
        "seconds_train": train_time,
        "train_samples_per_s": seen / train_time if train_time else None,
    }
    atomic_write_json(Path(out) / "train_log.json", payload)
    return payload


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m ciasa.train",
        "Train ST-GCN (or another registered model) on an ST-GCN-layout data set. "
        "Precedence: built-in defaults (the official NTU recipe) < --config YAML < flags.",
    )
    S = argparse.SUPPRESS  # unset flags stay out of the namespace, so the config file can fill them
    io = p.add_argument_group("data and run directory")
    io.add_argument("--data", default=S, help="ST-GCN layout directory with {split}_data.npy / {split}_label.pkl")
    io.add_argument("--out", default=S, help="run directory (model.pt, last.pt, best.pt, train_log.json)")
    io.add_argument("--config", default=None, help="YAML file with settings named like these flags")
    io.add_argument("--split-train", default=S, help="training split name (default: train)")
    io.add_argument("--split-val", default=S, help="validation split name (default: val; '' for none)")
    io.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=S,
        help="continue from RUN_DIR/last.pt when its settings match; otherwise (and without --resume) "
        "an earlier last.pt is kept aside as last.pt.stale-TIME and training starts fresh (default: off)",
    )
    m = p.add_argument_group("model")
    m.add_argument("--arch", default=S, help="model architecture (default: stgcn)")
    m.add_argument("--strategy", default=S, choices=_CHOICES["strategy"], help="graph partitioning (default: spatial)")
    m.add_argument("--base-channels", type=cli.positive_int, default=S, help="width of the first blocks (official: 64)")
    m.add_argument("--dropout", type=float, default=S, help="dropout in blocks 2-10 (default: 0.5)")
    o = p.add_argument_group("optimisation")
    o.add_argument("--epochs", type=cli.positive_int, default=S, help="training epochs (default: 80)")
    o.add_argument("--batch-size", type=cli.positive_int, default=S, help="samples per step (default: 64)")
    o.add_argument(
        "--optimizer", choices=_CHOICES["optimizer"], default=S, help="sgd = Nesterov momentum 0.9 (default)"
    )
    o.add_argument("--lr", type=float, default=S, help="base learning rate (default: 0.1)")
    o.add_argument("--weight-decay", type=float, default=S, help="L2 weight decay (default: 1e-4)")
    o.add_argument(
        "--schedule", choices=_CHOICES["schedule"], default=S, help="learning-rate schedule (default: cosine)"
    )
    o.add_argument(
        "--lr-steps", type=int, nargs="+", default=S, help="epochs of x0.1 steps (step schedule; default: 10 50)"
    )
    o.add_argument("--warmup-epochs", type=float, default=S, help="linear warm-up length (default: 0)")
    o.add_argument("--label-smoothing", type=float, default=S, help="cross-entropy label smoothing (default: 0)")
    o.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=S,
        help="joint noise, rotation, scaling, temporal crop (default: off; on in the demo config)",
    )
    o.add_argument(
        "--seed", type=int, default=S, help="seed of initialisation, batch order and augmentation (default: 0)"
    )
    r = p.add_argument_group("running")
    r.add_argument("--val-every", type=cli.positive_int, default=S, help="validate every N epochs (default: 1)")
    r.add_argument(
        "--device", default=S, help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N (default: auto)"
    )
    r.add_argument("--num-workers", type=int, default=S, help="data loader worker processes (default: 0)")
    r.add_argument("--threads", type=int, default=S, help="torch CPU threads (default: torch's choice)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only; no progress bar")
    g.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=S,
        help="tqdm progress bars; without them, one log line per epoch (default: on)",
    )
    return p


def config_from_namespace(ns: argparse.Namespace) -> TrainConfig:
    settings: dict[str, Any] = {}
    values = {k: v for k, v in vars(ns).items() if k not in ("quiet", "verbose")}
    cfg_file = values.pop("config", None)
    if cfg_file:
        settings.update(load_config_file(cfg_file))
    settings.update(values)
    if getattr(ns, "quiet", False):
        settings["progress"] = False
    cfg = TrainConfig(**settings)
    if not cfg.data or not cfg.out:
        raise cli.BadInput("--data and --out are required (on the command line or in --config)")
    validate_config(cfg)
    return cfg


def config_from_args(argv: list[str] | None = None) -> TrainConfig:
    return config_from_namespace(build_parser().parse_args(argv))


def run(ns: argparse.Namespace) -> int:
    cfg = config_from_namespace(ns)
    result = train(cfg)
    final = result["final"]
    if final.get("val_top1") is not None:
        noisy = final.get("val_noisy_top1")
        noisy_text = "n/a" if noisy is None else f"{100 * noisy:.2f}%"
        print(
            f"val top1 {100 * final['val_top1']:.2f}%  noisy {noisy_text}"
            f"  ({result['seconds_total']:.0f}s)  -> {Path(cfg.out) / 'model.pt'}"
        )
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())
