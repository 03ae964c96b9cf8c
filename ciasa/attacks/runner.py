"""Run an attack over a whole data set in batches and collect per-sample results.

Shared by the ``python -m ciasa.attack`` CLI and the experiments, so both report the
same numbers the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from ciasa.attacks import metrics
from ciasa.attacks.base import AttackResult
from ciasa.attacks.ciasa import CIASA
from ciasa.cli import BadInput
from ciasa.skeleton import SkeletonLayout

log = logging.getLogger(__name__)


@dataclass
class DatasetAttack:
    """The concatenated result of attacking a data set, plus its perturbation statistics."""

    result: AttackResult
    stats: dict[str, np.ndarray]
    seconds: float

    def summary(self, eps: Tensor, joints: Tensor) -> dict[str, Any]:
        out = metrics.fooling_rates(self.result)
        out.update(metrics.summarize_stats(self.stats, eps, joints))
        out["seconds"] = self.seconds
        out["samples_per_second"] = len(self.result) / self.seconds if self.seconds > 0 else None
        out["mean_iterations"] = float(self.result.iterations.float().mean()) if len(self.result) else None
        return out


def attack_dataset(
    attack: CIASA | Callable[[Tensor, Tensor], AttackResult],
    data: np.ndarray,
    labels: np.ndarray,
    layout: SkeletonLayout,
    eps: Tensor,
    joints: Tensor,
    batch_size: int = 16,
    progress: bool = True,
    desc: str = "attack",
) -> DatasetAttack:
    """Attack ``data`` ``(N, C, T, V, M)`` (a memmap is fine) batch by batch.

    ``attack(x, y)`` must return an :class:`AttackResult`. Statistics are computed per
    batch, so only the adversarial output is held for the whole set.
    """
    if batch_size < 1:
        raise BadInput(f"batch size must be >= 1, got {batch_size}")
    n = len(labels)
    parts: list[AttackResult] = []
    stats: list[dict[str, np.ndarray]] = []
    start = time.perf_counter()
    iters = int(getattr(attack, "max_iter", 1))
    # The bar counts sample-iterations, so a batch advances it step by step.
    bar = tqdm(total=n * iters, desc=desc, unit="sample-it", disable=not progress, leave=False)
    hooks = isinstance(attack, CIASA)
    previous = attack.progress if hooks else None
    batch = {"size": 0, "counted": 0}

    def tick(_iteration: int) -> None:
        bar.update(batch["size"])
        batch["counted"] += batch["size"]

    if hooks:
        attack.progress = tick
    try:
        for lo in range(0, n, batch_size):
            hi = min(n, lo + batch_size)
            x = torch.from_numpy(np.ascontiguousarray(data[lo:hi], dtype=np.float32))
            y = torch.as_tensor(np.asarray(labels[lo:hi]), dtype=torch.long)
            batch.update(size=hi - lo, counted=0)
            res = attack(x, y)
            bar.update((hi - lo) * iters - batch["counted"])  # early-stopped steps
            parts.append(res)
            stats.append(metrics.per_sample_stats(res, x, layout, eps, joints))
    finally:
        bar.close()
        if hooks:
            attack.progress = previous
    seconds = time.perf_counter() - start
    return DatasetAttack(result=concat_results(parts), stats=_concat_stats(stats), seconds=seconds)


def concat_results(parts: list[AttackResult]) -> AttackResult:
    if not parts:
        raise ValueError("nothing was attacked (no samples)")
    cat = lambda name: torch.cat([getattr(p, name) for p in parts])  # noqa: E731
    return AttackResult(
        adversarial=cat("adversarial"),
        labels=cat("labels"),
        target=cat("target"),
        clean_pred=cat("clean_pred"),
        prediction=cat("prediction"),
        target_confidence=cat("target_confidence"),
        success=cat("success"),
        iterations=cat("iterations"),
        seconds=sum(p.seconds for p in parts),
        extra={**parts[0].extra, "gap_curve": _mean_curve(parts)},
    )


def _mean_curve(parts: list[AttackResult]) -> list[float]:
    """The per-step mean logit gap over all batches, weighted by batch size (steps a batch
    skipped by early stopping count with its last value)."""
    curves = [(len(p), p.extra.get("gap_curve") or []) for p in parts]
    steps = max((len(c) for _, c in curves), default=0)
    if steps == 0 or any(not c for _, c in curves):
        return []
    total = sum(w for w, _ in curves)
    return [sum(w * c[min(i, len(c) - 1)] for w, c in curves) / total for i in range(steps)]


def _concat_stats(stats: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([s[k] for s in stats]) for k in stats[0]}
