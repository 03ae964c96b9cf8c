"""The report's statistics on small hand-made inputs whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from report.stats import Estimate, accuracy, bootstrap, drop, flipped, fooling_rate, hits, rate


def test_accuracy_and_fooling_by_hand():
    labels = [0, 1, 2, 3]
    assert accuracy([0, 1, 2, 3], labels) == 1.0
    assert accuracy([0, 0, 2, 0], labels) == 0.5
    assert accuracy([], []) is None
    # targeted fooling: prediction equals the target, whatever the label
    assert fooling_rate([5, 5, 1, 2], [5, 4, 1, 3]) == 0.5
    # flipped: right on clean and wrong after, over the clean-correct clips (clip 3 was wrong already)
    assert flipped([0, 1, 2, 0], [0, 0, 2, 0], labels) == (1, 3)


def test_hits_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 predictions but 2"):
        hits([1, 2, 3], [1, 2])


def test_bootstrap_is_seeded_and_brackets_the_mean():
    outcomes = np.array([1, 1, 1, 0, 1, 0, 1, 1, 0, 1], dtype=float)  # mean 0.7
    a = bootstrap(np.mean, outcomes, n_boot=500, seed=3)
    b = bootstrap(np.mean, outcomes, n_boot=500, seed=3)
    c = bootstrap(np.mean, outcomes, n_boot=500, seed=4)
    assert a == b
    assert a[0] == pytest.approx(0.7)
    assert a[1] <= 0.7 <= a[2]
    assert 0.0 <= a[1] < a[2] <= 1.0
    assert a[1:] != c[1:]  # a different seed resamples differently
    e = rate(outcomes, n_boot=500, seed=3)
    assert e.value == pytest.approx(0.7) and e.low <= 0.7 <= e.high and 0.0 <= e.low < e.high <= 1.0
    assert e.n == 10 and e.k == 7


def test_bootstrap_degenerate_cases():
    # no variation: the bootstrap has nothing to resample, a zero-width interval ...
    assert bootstrap(np.mean, np.ones(3), n_boot=200) == (1.0, 1.0, 1.0)
    assert bootstrap(np.mean, np.ones(1), n_boot=200) == (1.0, 1.0, 1.0)  # one clip
    # ... which is why a rate's interval is Wilson's: 3/3 still leaves room below 100 %
    z2 = 1.959963984540054**2
    assert rate([1, 1, 1], n_boot=200) == Estimate(1.0, pytest.approx(3 / (3 + z2)), 1.0, 3, 3)
    assert rate([], n_boot=200) == Estimate(None, None, None, 0, 0)
    assert rate([1, 0, 1], n_boot=0) == Estimate(2 / 3, None, None, 3, 2)  # no intervals asked for
    value, low, high = bootstrap(np.mean, np.array([0.0, 1.0]), n_boot=0)
    assert value == 0.5 and low is None and high is None
    with pytest.raises(ValueError, match="0/1 outcomes"):
        rate([0.5, 1.0])


def test_rate_interval_is_wilson_not_a_degenerate_percentile():
    """23/24 (the demo's clean skeleton accuracy): a percentile bootstrap put the upper end at
    100 % (a third of the resamples hold no miss); Wilson's interval, by hand, does not."""
    z = 1.959963984540054
    k, n = 23, 24
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * np.sqrt(k * (n - k) / n + z * z / 4)
    e = rate([1.0] * k + [0.0] * (n - k))
    assert (e.k, e.n, e.value) == (23, 24, pytest.approx(23 / 24))
    assert (e.low, e.high) == (pytest.approx(centre - half), pytest.approx(centre + half))
    assert e.high < 1.0 and e.low < 0.875
    assert e.percent() == "95.8 % (23/24) [79.8, 99.3]"


def test_paired_bootstrap_resamples_clips_not_columns():
    """scipy's paired bootstrap draws one set of clip indices per resample for both columns,
    then takes the percentile interval: the same as doing it by hand with the same generator."""
    rng = np.random.default_rng(7)
    before, after = (rng.random(30) < 0.8).astype(float), (rng.random(30) < 0.5).astype(float)
    d = drop(before, after, n_boot=400, seed=5)
    idx = np.random.default_rng(5).integers(0, 30, size=(400, 30))
    by_hand = np.quantile(before[idx].mean(axis=1) - after[idx].mean(axis=1), [0.025, 0.975])
    assert (d.low, d.high) == (pytest.approx(by_hand[0]), pytest.approx(by_hand[1]))
    assert d.value == pytest.approx(before.mean() - after.mean())


def test_bootstrap_interval_matches_binomial_width():
    rng = np.random.default_rng(0)
    outcomes = (rng.random(400) < 0.6).astype(float)
    e = rate(outcomes, n_boot=2000, seed=0)
    p = outcomes.mean()
    half = 1.96 * np.sqrt(p * (1 - p) / outcomes.size)  # normal approximation
    assert (e.high - e.low) / 2 == pytest.approx(half, rel=0.15)


def test_paired_drop_by_hand():
    clean = [1, 1, 1, 1, 0]
    perturbed = [1, 0, 0, 1, 0]
    d = drop(clean, perturbed, n_boot=300, seed=1)
    assert d.value == pytest.approx(0.4)  # 0.8 - 0.4
    assert d.low <= 0.4 <= d.high
    # resampling is paired: a clip that is right in both conditions never creates a drop,
    # so identical columns give a zero-width interval at 0
    same = drop(clean, clean, n_boot=300, seed=1)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="equal lengths"):
        drop([1, 0], [1], n_boot=10)


def test_percent_formatting():
    assert Estimate(0.5, 0.25, 0.75, 4, 2).percent() == "50.0 % (2/4) [25.0, 75.0]"
    assert Estimate(None, None, None, 0, 0).percent() == "n/a (0/0)"


def test_exact_mcnemar_by_hand():
    from report.stats import mcnemar_exact

    # 7 clips right in the first condition only, 1 in the second only, 4 concordant:
    # p = 2 * P(X <= 1), X ~ Bin(8, 1/2) = 2 * (1 + 8) / 256
    first = [1] * 7 + [0] + [1, 1, 0, 0]
    second = [0] * 7 + [1] + [1, 1, 0, 0]
    t = mcnemar_exact(first, second)
    assert (t.first_only, t.second_only) == (7, 1)
    assert t.p_value == pytest.approx(18 / 256)
    assert mcnemar_exact(second, first).p_value == pytest.approx(18 / 256)  # two-sided: symmetric
    assert mcnemar_exact([1] * 5, [0] * 5).p_value == pytest.approx(2 / 32)
    assert mcnemar_exact([1, 0], [1, 0]).p_value == 1.0  # no discordant clip
    assert mcnemar_exact([1, 0, 1], [0, 1, 0]).p_value == 1.0  # 2 vs 1: capped at 1
    assert mcnemar_exact([], []).p_value is None
    with pytest.raises(ValueError, match="equal length"):
        mcnemar_exact([1, 0], [1])


def test_attributable_drop_on_hand_made_records():
    """Control minus perturbed, paired over the same clips, in both domains, with McNemar."""
    from report.metrics import headline
    from report.records import ClipRecord, VideoRecord

    def rec(name, label, sk, rgb):  # sk / rgb: predictions (clean, control, perturbed)
        r = ClipRecord(name, label, str(label), -1, None)
        r.predictions["attacked"] = {
            "skeleton": dict(zip(("clean", "control", "perturbed"), sk)),
            "rgb": dict(zip(("clean", "control", "perturbed"), rgb)),
        }
        r.videos = {
            c: VideoRecord(rendered=True, pose_ok=True, detection_rate=1.0) for c in ("clean", "control", "perturbed")
        }
        return r

    recs = [
        rec("a", 0, (0, 0, 1), (0, 0, 1)),  # control right, attack wrong: discordant for the attack
        rec("b", 0, (0, 0, 1), (0, 0, 1)),
        rec("c", 0, (0, 0, 1), (0, 0, 1)),
        rec("d", 0, (0, 1, 0), (0, 1, 0)),  # control wrong, attack right: discordant the other way
        rec("e", 0, (0, 0, 0), (0, 0, 0)),  # both right
        rec("f", 0, (0, 1, 1), (0, 1, None)),  # both wrong on skeletons; perturbed video gave nothing
    ]
    h = headline(recs, n_boot=500, seed=0, conditions=("clean", "control", "perturbed"))
    # skeleton: control right on a b c e (4/6), perturbed right on d e (2/6) -> 1/3; discordant 3 vs 1
    assert (h.skeleton_control_accuracy.k, h.skeleton_control_accuracy.n) == (4, 6)
    assert h.skeleton_attributable_drop.value == pytest.approx(2 / 6) and h.skeleton_attributable_drop.n == 6
    assert h.skeleton_attributable_discordant == {"control_only": 3, "perturbed_only": 1}
    assert h.skeleton_attributable_drop_p == pytest.approx(2 * 5 / 16)  # 2 * P(Bin(4, 1/2) <= 1)
    # RGB: f has no perturbed render, so 5 pairs: control 4/5, perturbed 2/5
    assert h.n_rgb_control_pairs == 5
    assert (h.rgb_control_accuracy.k, h.rgb_control_accuracy.n) == (4, 5)
    assert (h.rgb_perturbed_accuracy_control_pairs.k, h.rgb_perturbed_accuracy_control_pairs.n) == (2, 5)
    assert h.rgb_attributable_drop.value == pytest.approx(0.4)
    assert h.rgb_attributable_drop.low <= 0.4 <= h.rgb_attributable_drop.high
    assert h.rgb_attributable_drop_p == pytest.approx(2 * 5 / 16)
    # clean - control renders over the 6 clips with both: 6/6 - 4/6
    assert h.rgb_control_drop.value == pytest.approx(2 / 6) and h.rgb_control_drop.n == 6
    d = h.as_dict()
    assert set(d["rgb_attributable_drop"]) == {"value", "low", "high", "n", "k"}
    assert d["conditions"] == ["clean", "control", "perturbed"]
