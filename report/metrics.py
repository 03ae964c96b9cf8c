"""The headline numbers, computed from per-clip records with :mod:`report.stats`.

Denominators are explicit. Skeleton-domain accuracies count every selected clip; the
attack's success is counted over the clips the model gets right on clean skeletons
(``flipped``: right before, wrong after; ``targeted``: classified as the target), since
a clip already misclassified is no success of the attack. RGB-domain
rates count the clips whose clean *and* perturbed videos both gave a skeleton (the
paired set, so the drop compares like with like); the clips left out are counted and
listed, and a conservative variant counts them as misclassified.

The **attributable drop** is accuracy on the control (a random, smooth perturbation of the
same per-joint, per-frame size as the attack's) minus accuracy under attack, paired over the
same clips: what the attack's *direction* costs beyond any leg motion of that size. It comes
with a paired-bootstrap interval and an exact McNemar p-value; in the RGB domain it counts
the clips whose control and perturbed videos both gave a skeleton.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.paths import ATTACKED_MODEL, CONTROL
from report.records import ClipRecord
from report.stats import Estimate, PairedTest, drop, mcnemar_exact, rate


@dataclass
class Headline:
    n_clips: int
    n_rgb_pairs: int
    skeleton_clean_accuracy: Estimate
    skeleton_attacked_accuracy: Estimate
    skeleton_flipped: Estimate  # of clean-correct clips: wrong on the perturbed skeleton
    skeleton_targeted: Estimate  # of clean-correct clips: classified as the attack's target
    rgb_clean_accuracy: Estimate
    rgb_perturbed_accuracy: Estimate
    rgb_drop: Estimate
    rgb_perturbed_target_rate: Estimate
    rgb_clean_target_rate: Estimate
    rgb_clean_retention: Estimate  # clean render right, among clips whose source skeleton is right
    rgb_flipped: Estimate  # of clips right on the clean render: wrong on the perturbed render
    rgb_clean_accuracy_all: Estimate  # failures counted as wrong
    rgb_perturbed_accuracy_all: Estimate
    detection_rate: dict[str, float | None]
    videos_flagged: dict[str, int]
    renders_failed: dict[str, int]
    poses_failed: dict[str, int]
    attack_disagreements: list[str]  # clips where the attack's own targeted success differs from ours
    rgb_excluded: dict[str, str] = field(default_factory=dict)
    # the matched control (n = 0 and value None when the run had no control condition)
    conditions: tuple[str, ...] = ("clean", "perturbed")
    skeleton_control_accuracy: Estimate = field(default_factory=lambda: _NONE)
    skeleton_attributable_drop: Estimate = field(default_factory=lambda: _NONE)  # control - perturbed, all clips
    skeleton_attributable_drop_p: float | None = None  # exact McNemar
    skeleton_attributable_discordant: dict[str, int] = field(default_factory=dict)
    n_rgb_control_pairs: int = 0  # clips whose control and perturbed videos both gave a skeleton
    rgb_control_accuracy: Estimate = field(default_factory=lambda: _NONE)  # on those clips
    rgb_perturbed_accuracy_control_pairs: Estimate = field(default_factory=lambda: _NONE)  # the same clips
    rgb_attributable_drop: Estimate = field(default_factory=lambda: _NONE)  # control - perturbed renders, paired
    rgb_attributable_drop_p: float | None = None
    rgb_attributable_discordant: dict[str, int] = field(default_factory=dict)
    rgb_control_drop: Estimate = field(default_factory=lambda: _NONE)  # clean - control renders, paired

    def as_dict(self) -> dict:
        out = {}
        for key, value in self.__dict__.items():
            out[key] = (
                value.as_dict() if isinstance(value, Estimate) else (list(value) if isinstance(value, tuple) else value)
            )
        return out


_NONE = Estimate(None, None, None, 0, 0)


@dataclass(frozen=True)
class Attributable:
    """Control accuracy, perturbed accuracy on the same clips, their paired difference and McNemar test."""

    control: Estimate
    perturbed: Estimate
    drop: Estimate
    test: PairedTest


def attributable(control: np.ndarray, perturbed: np.ndarray, n_boot: int, seed: int) -> Attributable:
    """Paired per-clip 0/1 outcomes (right on the control, right under attack) -> the attributable drop."""
    return Attributable(
        rate(control, n_boot, seed),
        rate(perturbed, n_boot, seed),
        drop(control, perturbed, n_boot, seed),
        mcnemar_exact(control, perturbed),
    )


def _discordant(test: PairedTest) -> dict[str, int]:
    return {"control_only": test.first_only, "perturbed_only": test.second_only}


def _with_target(records: Sequence[ClipRecord]) -> list[ClipRecord]:
    """The clips a targeted attack aimed at a class (``target`` -1: an untargeted attack)."""
    return [r for r in records if r.target is not None and r.target >= 0]


def _outcomes(records: list[ClipRecord], domain: str, condition: str, reference: str, model: str) -> np.ndarray:
    values = []
    for r in records:
        pred = r.pred(domain, condition, model)
        ref = r.label if reference == "label" else r.target
        values.append(float(pred is not None and ref is not None and pred == ref))
    return np.asarray(values)


def model_accuracies(records: list[ClipRecord], model: str, n_boot: int, seed: int) -> dict[str, Estimate]:
    """Accuracy of ``model`` per domain/condition (RGB on the paired set)."""
    pairs = [r for r in records if rgb_pair_ok(r)]
    out = {
        "skeleton/clean": rate(_outcomes(records, "skeleton", "clean", "label", model), n_boot, seed),
        "skeleton/perturbed": rate(_outcomes(records, "skeleton", "perturbed", "label", model), n_boot, seed),
        "rgb/clean": rate(_outcomes(pairs, "rgb", "clean", "label", model), n_boot, seed),
        "rgb/perturbed": rate(_outcomes(pairs, "rgb", "perturbed", "label", model), n_boot, seed),
    }
    if any(CONTROL in r.predictions.get(model, {}).get("skeleton", {}) for r in records):
        sk = attributable(
            _outcomes(records, "skeleton", CONTROL, "label", model),
            _outcomes(records, "skeleton", "perturbed", "label", model),
            n_boot,
            seed,
        )
        cp = [r for r in records if rgb_control_pair_ok(r, model)]
        rgb = attributable(
            _outcomes(cp, "rgb", CONTROL, "label", model),
            _outcomes(cp, "rgb", "perturbed", "label", model),
            n_boot,
            seed,
        )
        out.update(
            {
                "skeleton/control": sk.control,
                "skeleton/attributable_drop": sk.drop,
                "rgb/control": rgb.control,
                "rgb/attributable_drop": rgb.drop,
            }
        )
    return out


def rgb_control_pair_ok(record: ClipRecord, model: str = ATTACKED_MODEL) -> bool:
    """Both the control and the perturbed video of the clip gave a classified skeleton."""
    return record.pred("rgb", CONTROL, model) is not None and record.pred("rgb", "perturbed", model) is not None


def rgb_pair_ok(record: ClipRecord) -> bool:
    return record.pred("rgb", "clean") is not None and record.pred("rgb", "perturbed") is not None


def _reported_hit(record: ClipRecord) -> bool | None:
    """The attack's own per-clip targeted success (per_sample.csv), when it recorded one."""
    value = record.attack.get("success_targeted")
    if value in (None, ""):
        return None
    return str(value).strip().lower() in ("1", "true", "1.0")


def headline(
    records: list[ClipRecord],
    n_boot: int = 2000,
    seed: int = 0,
    model: str = ATTACKED_MODEL,
    conditions: tuple[str, ...] = ("clean", "perturbed"),
) -> Headline:
    pairs = [r for r in records if rgb_pair_ok(r)]
    sk_clean = _outcomes(records, "skeleton", "clean", "label", model)
    sk_adv = _outcomes(records, "skeleton", "perturbed", "label", model)
    clean_correct = [r for r in records if r.pred("skeleton", "clean", model) == r.label]
    sk_flipped = 1.0 - _outcomes(clean_correct, "skeleton", "perturbed", "label", model)
    rgb_right = [r for r in pairs if r.pred("rgb", "clean", model) == r.label]
    rgb_clean = _outcomes(pairs, "rgb", "clean", "label", model)
    rgb_pert = _outcomes(pairs, "rgb", "perturbed", "label", model)
    known = [r for r in pairs if r.pred("skeleton", "clean", model) == r.label]

    detection: dict[str, float | None] = {}
    flagged: dict[str, int] = {}
    render_failed: dict[str, int] = {}
    pose_failed: dict[str, int] = {}
    for condition in conditions:
        videos = [r.videos[condition] for r in records if condition in r.videos]
        rates = [v.detection_rate for v in videos if v.detection_rate is not None]
        detection[condition] = float(np.mean(rates)) if rates else None
        flagged[condition] = sum(v.flagged for v in videos)
        render_failed[condition] = sum(not v.rendered for v in videos)
        pose_failed[condition] = sum(v.rendered and not v.pose_ok for v in videos)

    disagree = [
        r.name
        for r in records
        if _reported_hit(r) is not None and _reported_hit(r) != (r.pred("skeleton", "perturbed", model) == r.target)
    ]
    excluded = {}
    for r in records:
        if not rgb_pair_ok(r):
            excluded[r.name] = (
                "; ".join(f"{k}: {v}" for k, v in r.excluded.items() if k.startswith("rgb")) or "not classified"
            )

    control: dict = {}
    if CONTROL in conditions:
        sk = attributable(_outcomes(records, "skeleton", CONTROL, "label", model), sk_adv, n_boot, seed)
        cp = [r for r in records if rgb_control_pair_ok(r, model)]
        rgb = attributable(
            _outcomes(cp, "rgb", CONTROL, "label", model),
            _outcomes(cp, "rgb", "perturbed", "label", model),
            n_boot,
            seed,
        )
        cc = [
            r
            for r in records
            if r.pred("rgb", "clean", model) is not None and r.pred("rgb", CONTROL, model) is not None
        ]
        control = dict(
            skeleton_control_accuracy=sk.control,
            skeleton_attributable_drop=sk.drop,
            skeleton_attributable_drop_p=sk.test.p_value,
            skeleton_attributable_discordant=_discordant(sk.test),
            n_rgb_control_pairs=len(cp),
            rgb_control_accuracy=rgb.control,
            rgb_perturbed_accuracy_control_pairs=rgb.perturbed,
            rgb_attributable_drop=rgb.drop,
            rgb_attributable_drop_p=rgb.test.p_value,
            rgb_attributable_discordant=_discordant(rgb.test),
            rgb_control_drop=drop(
                _outcomes(cc, "rgb", "clean", "label", model),
                _outcomes(cc, "rgb", CONTROL, "label", model),
                n_boot,
                seed,
            ),
        )
    return Headline(
        conditions=tuple(conditions),
        **control,
        n_clips=len(records),
        n_rgb_pairs=len(pairs),
        skeleton_clean_accuracy=rate(sk_clean, n_boot, seed),
        skeleton_attacked_accuracy=rate(sk_adv, n_boot, seed),
        skeleton_flipped=rate(sk_flipped, n_boot, seed),
        # an untargeted attack has no target (-1): its target rates are empty (n = 0), not 0 %
        skeleton_targeted=rate(
            _outcomes(_with_target(clean_correct), "skeleton", "perturbed", "target", model), n_boot, seed
        ),
        rgb_clean_accuracy=rate(rgb_clean, n_boot, seed),
        rgb_perturbed_accuracy=rate(rgb_pert, n_boot, seed),
        rgb_drop=drop(rgb_clean, rgb_pert, n_boot, seed),
        rgb_perturbed_target_rate=rate(
            _outcomes(_with_target(pairs), "rgb", "perturbed", "target", model), n_boot, seed
        ),
        rgb_clean_target_rate=rate(_outcomes(_with_target(pairs), "rgb", "clean", "target", model), n_boot, seed),
        rgb_clean_retention=rate(_outcomes(known, "rgb", "clean", "label", model), n_boot, seed),
        rgb_flipped=rate(1.0 - _outcomes(rgb_right, "rgb", "perturbed", "label", model), n_boot, seed),
        rgb_clean_accuracy_all=rate(_outcomes(records, "rgb", "clean", "label", model), n_boot, seed),
        rgb_perturbed_accuracy_all=rate(_outcomes(records, "rgb", "perturbed", "label", model), n_boot, seed),
        detection_rate=detection,
        videos_flagged=flagged,
        renders_failed=render_failed,
        poses_failed=pose_failed,
        attack_disagreements=disagree,
        rgb_excluded=excluded,
    )


def recovery_summary(records: Sequence[ClipRecord], conditions: Sequence[str]) -> dict[str, dict]:
    """Per condition, over the clips that have the value: mean PA-MPJPE (mm), mean L/R swap rate and
    mean surviving share of the perturbation (``survival``) and its rendered size (``displacement_mm``,
    mean over the attacked joints; both not for clean), each with its clip count."""
    out: dict[str, dict] = {}
    for condition in conditions:
        rows = [r.recovery.get("conditions", {}).get(condition) for r in records]
        rows = [row for row in rows if row]
        entry: dict = {}
        for key in ("pa_mpjpe_mm", "swap_rate", "survival", "displacement_mm"):
            values = [row[key] for row in rows if row.get(key) is not None]
            if key in ("survival", "displacement_mm") and condition == "clean":
                continue
            entry[key] = {
                "mean": float(np.mean(values)) if values else None,
                "median": float(np.median(values)) if values else None,
                "n": len(values),
            }
        out[condition] = entry
    return out
