"""The report's statistics: accuracies, fooling rates, the clean-to-perturbed drop, and
seeded percentile-bootstrap 95 % intervals over clips.

Every rate is a mean of per-clip 0/1 outcomes, so each number in the report can be
recomputed by hand from the per-clip table. The drop is paired: both conditions of a
clip are resampled together, which is what makes the interval of a difference honest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A rate with its bootstrap interval; ``value`` is None when there is no clip to count."""

    value: float | None
    low: float | None
    high: float | None
    n: int  # the denominator: clips counted
    k: int | None = None  # the numerator of a rate: clips with the outcome (None for a difference)

    def as_dict(self) -> dict:
        return asdict(self)

    def count(self) -> str:
        """``'3/8'`` for a rate, ``'n = 8'`` for a difference."""
        return f"{self.k}/{self.n}" if self.k is not None else f"n = {self.n}"

    def percent(self, digits: int = 1) -> str:
        if self.value is None:
            return f"n/a ({self.count()})"
        text = f"{100 * self.value:.{digits}f} % ({self.count()})"
        if self.low is not None and self.high is not None:
            text += f" [{100 * self.low:.{digits}f}, {100 * self.high:.{digits}f}]"
        return text


def _as_int_array(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence, got shape {array.shape}")
    return array.astype(np.int64)


def hits(pred: Sequence[int], reference: Sequence[int]) -> np.ndarray:
    """Per-clip 0/1: ``pred == reference``."""
    pred, reference = _as_int_array(pred, "pred"), _as_int_array(reference, "reference")
    if pred.shape != reference.shape:
        raise ValueError(f"{len(pred)} predictions but {len(reference)} reference labels")
    return (pred == reference).astype(np.float64)


def accuracy(pred: Sequence[int], label: Sequence[int]) -> float | None:
    """Fraction of clips classified as their true label (None for no clip)."""
    h = hits(pred, label)
    return float(h.mean()) if h.size else None


def fooling_rate(adv_pred: Sequence[int], target: Sequence[int]) -> float | None:
    """Targeted fooling rate: fraction of clips classified as the attack's target."""
    return accuracy(adv_pred, target)


def flipped(clean_pred: Sequence[int], adv_pred: Sequence[int], label: Sequence[int]) -> tuple[int, int]:
    """``(flipped, clean-correct)``: clips right on clean input and wrong after the attack, over
    the clips right on clean input. A clip already wrong before the attack is no success of it."""
    right = hits(clean_pred, label).astype(bool)
    wrong_after = ~hits(adv_pred, label).astype(bool)
    return int((right & wrong_after).sum()), int(right.sum())


def bootstrap(
    statistic: Callable[..., float],
    *columns: np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float | None, float | None, float | None]:
    """``(estimate, low, high)``: the statistic on the data and its percentile interval.

    ``columns`` are per-clip arrays of equal length, resampled together (paired).
    With one clip the interval collapses to the estimate; with none, all are None.
    """
    columns = tuple(np.asarray(c, dtype=np.float64) for c in columns)
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ValueError("bootstrap columns must have equal length")
    if n == 0:
        return None, None, None
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    estimate = float(statistic(*columns))
    if n_boot <= 0:
        return estimate, None, None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    values = np.array([statistic(*(c[i] for c in columns)) for i in idx], dtype=np.float64)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return estimate, float(low), float(high)


def rate(outcomes: Sequence[float], n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Mean of per-clip 0/1 outcomes with its bootstrap interval."""
    outcomes = np.asarray(outcomes, dtype=np.float64)
    value, low, high = bootstrap(np.mean, outcomes, n_boot=n_boot, seed=seed)
    return Estimate(value, low, high, int(outcomes.size), int(outcomes.sum()))


def drop(before: Sequence[float], after: Sequence[float], n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Paired difference of means ``mean(before) - mean(after)`` over the same clips."""
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    if before.shape != after.shape:
        raise ValueError(f"paired drop needs equal lengths, got {before.size} and {after.size}")
    value, low, high = bootstrap(lambda a, b: a.mean() - b.mean(), before, after, n_boot=n_boot, seed=seed)
    return Estimate(value, low, high, int(before.size))


@dataclass(frozen=True)
class PairedTest:
    """Exact McNemar test of two paired 0/1 outcomes: the clips right in one condition only."""

    first_only: int  # right in the first condition, wrong in the second
    second_only: int  # wrong in the first, right in the second
    p_value: float | None  # two-sided; None without any clip

    def as_dict(self) -> dict:
        return asdict(self)


def mcnemar_exact(first: Sequence[float], second: Sequence[float]) -> PairedTest:
    """Two-sided exact McNemar p-value: under no difference, each discordant clip is right in the
    first condition only with probability 1/2, so ``p = min(1, 2 P(X <= min(b, c)))`` with
    ``X ~ Binomial(b + c, 1/2)``; 1.0 when no clip is discordant."""
    from scipy.stats import binom

    first, second = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    if first.shape != second.shape or first.ndim != 1:
        raise ValueError(f"paired test needs two flat sequences of equal length, got {first.shape} and {second.shape}")
    b, c = int((first & ~second).sum()), int((~first & second).sum())
    if first.size == 0:
        return PairedTest(b, c, None)
    if b + c == 0:
        return PairedTest(b, c, 1.0)
    return PairedTest(b, c, float(min(1.0, 2.0 * binom.cdf(min(b, c), b + c, 0.5))))
