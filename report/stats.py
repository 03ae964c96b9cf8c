"""The report's statistics: accuracies, fooling rates, the clean-to-perturbed drop, their
95 % intervals over clips and the exact McNemar test, all from :mod:`scipy.stats`.

Every rate is a mean of per-clip 0/1 outcomes, so each number in the report can be
recomputed by hand from the per-clip table. A rate's interval is Wilson's score interval:
a percentile bootstrap of a proportion near 0 or 1 cannot reach past the observed rate
(23/24 gave [87.5, 100.0], as if 100 % were as likely as 87.5 %). The drop is a paired
difference: both conditions of a clip are resampled together (a seeded percentile
bootstrap), which is what makes the interval of a difference honest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """A rate or a difference with its 95 % interval; ``value`` is None when there is no clip to count."""

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
    statistic: Callable[..., float | np.ndarray],
    *columns: np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float | None, float | None, float | None]:
    """``(estimate, low, high)``: the statistic on the data and its percentile interval.

    ``columns`` are per-clip arrays of equal length, resampled together (paired) by
    ``scipy.stats.bootstrap``; ``statistic(*columns, axis=-1)`` reduces along ``axis``.
    With one clip the interval collapses to the estimate (scipy needs two); with none,
    all are None.
    """
    columns = tuple(np.asarray(c, dtype=np.float64) for c in columns)
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ValueError("bootstrap columns must have equal length")
    if n == 0:
        return None, None, None
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    estimate = float(statistic(*columns, axis=-1))
    if n_boot <= 0:
        return estimate, None, None
    if n == 1:
        return estimate, estimate, estimate
    result = stats.bootstrap(
        columns,
        statistic,
        n_resamples=n_boot,
        paired=True,
        vectorized=True,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return estimate, float(result.confidence_interval.low), float(result.confidence_interval.high)


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson's score interval of the proportion ``k / n`` (``(None, None)`` for ``n = 0``)."""
    if n == 0:
        return None, None
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def rate(outcomes: Sequence[float], n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Mean of per-clip 0/1 outcomes with its Wilson 95 % interval.

    ``n_boot`` and ``seed`` are the report's interval settings, shared with :func:`drop`:
    ``n_boot = 0`` leaves the interval out; Wilson's interval draws nothing, so ``seed``
    does not enter it.
    """
    outcomes = np.asarray(outcomes, dtype=np.float64)
    if not np.isin(outcomes, (0.0, 1.0)).all():
        raise ValueError("a rate counts per-clip 0/1 outcomes, got other values")
    n, k = int(outcomes.size), int(outcomes.sum())
    if n == 0:
        return Estimate(None, None, None, 0, 0)
    low, high = wilson(k, n) if n_boot > 0 else (None, None)
    return Estimate(k / n, low, high, n, k)


def _mean_difference(before: np.ndarray, after: np.ndarray, axis: int = -1) -> np.ndarray:
    return before.mean(axis=axis) - after.mean(axis=axis)


def drop(before: Sequence[float], after: Sequence[float], n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Paired difference of means ``mean(before) - mean(after)`` over the same clips."""
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    if before.shape != after.shape:
        raise ValueError(f"paired drop needs equal lengths, got {before.size} and {after.size}")
    value, low, high = bootstrap(_mean_difference, before, after, n_boot=n_boot, seed=seed)
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
    ``X ~ Binomial(b + c, 1/2)`` (``scipy.stats.binomtest``: at p = 1/2 its two-sided
    p-value is this one); 1.0 when no clip is discordant."""
    first, second = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    if first.shape != second.shape or first.ndim != 1:
        raise ValueError(f"paired test needs two flat sequences of equal length, got {first.shape} and {second.shape}")
    b, c = int((first & ~second).sum()), int((~first & second).sum())
    if first.size == 0:
        return PairedTest(b, c, None)
    if b + c == 0:
        return PairedTest(b, c, 1.0)
    return PairedTest(b, c, float(stats.binomtest(b, b + c, 0.5).pvalue))
