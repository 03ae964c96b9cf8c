"""Target rules, prediction losses and the honest counts of the attack summary."""

from __future__ import annotations

import pytest
import torch

from ciasa.attacks import objectives
from ciasa.attacks.base import AttackResult
from ciasa.attacks.metrics import fooling_rates

LOGITS = torch.tensor([[3.0, 1.0, 2.0, -1.0], [0.0, 5.0, -2.0, 4.0]])
LABELS = torch.tensor([0, 1])


def test_target_rules_pick_the_documented_classes() -> None:
    gen = torch.Generator().manual_seed(0)
    assert objectives.choose_target("least_likely", LOGITS, LABELS, gen).tolist() == [3, 2]
    assert objectives.choose_target("nearest", LOGITS, LABELS, gen).tolist() == [2, 3]
    assert objectives.choose_target("untargeted", LOGITS, LABELS, gen) is None
    assert objectives.choose_target(1, LOGITS, LABELS, gen).tolist() == [1, 1]
    for seed in range(5):
        rnd = objectives.choose_target("random", LOGITS, LABELS, torch.Generator().manual_seed(seed))
        assert (rnd != LABELS).all() and ((rnd >= 0) & (rnd < 4)).all()


def test_parse_target_names_indices_and_bad_input() -> None:
    names = ["drink", "eat", "kick", "jump"]
    assert objectives.parse_target("nearest") == "nearest"
    assert objectives.parse_target("2", names, 4) == 2
    assert objectives.parse_target("kick", names, 4) == 2
    with pytest.raises(ValueError, match="out of range"):
        objectives.parse_target("4", names, 4)
    with pytest.raises(ValueError, match="out of range"):
        objectives.parse_target("-1", names, 4)
    with pytest.raises(ValueError, match="unknown target 'dance'"):
        objectives.parse_target("dance", names, 4)
    with pytest.raises(ValueError, match="out of range"):
        objectives.choose_target(7, LOGITS, LABELS, torch.Generator())


def test_targeted_loss_is_cross_entropy_and_its_gradient_raises_the_target() -> None:
    logits = LOGITS.clone().requires_grad_(True)
    target = torch.tensor([3, 2])
    loss = objectives.prediction_loss(logits, target, LABELS)
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(LOGITS, target, reduction="none"))
    loss.sum().backward()
    assert (logits.grad[torch.arange(2), target] < 0).all()  # descending raises the target logit


def test_untargeted_margin_pushes_the_true_class_down_and_saturates() -> None:
    logits = LOGITS.clone().requires_grad_(True)
    loss = objectives.prediction_loss(logits, None, LABELS)
    assert loss.tolist() == [1.0, 1.0]  # true minus best other: 3-2, 5-4
    loss.sum().backward()
    assert (logits.grad[torch.arange(2), LABELS] > 0).all()  # descending lowers the true logit
    fooled = torch.tensor([[-10.0, 5.0, 0.0, 0.0]])
    assert objectives.prediction_loss(fooled, None, torch.tensor([0])).item() == -objectives.UNTARGETED_KAPPA
    gap = objectives.logit_gap(LOGITS, torch.tensor([3, 2]), LABELS)
    assert gap.tolist() == [4.0, 7.0]


def _result(labels, clean_pred, pred, target) -> AttackResult:
    t = lambda v: torch.tensor(v)  # noqa: E731
    n = len(labels)
    return AttackResult(
        adversarial=torch.zeros(n, 3, 2, 25, 1),
        labels=t(labels),
        target=t(target),
        clean_pred=t(clean_pred),
        prediction=t(pred),
        target_confidence=torch.zeros(n),
        success=t(pred) == t(target),
        iterations=torch.ones(n, dtype=torch.long),
    )


def test_a_clip_already_wrong_is_never_flipped() -> None:
    # clip 0: right -> wrong (flipped, on target); clip 1: right -> right; clip 2: wrong -> wrong (other class)
    r = _result([0, 1, 2], [0, 1, 3], [4, 1, 4], [4, 0, 4])
    out = fooling_rates(r)
    assert out["n_clean_correct"] == 2
    assert out["flipped"] == {"count": 1, "of": 2, "rate": 0.5}
    assert out["targeted_success"] == {"count": 1, "of": 2, "rate": 0.5}  # clip 2 hit its target but was wrong already
    assert "fooling_untargeted_all" not in out and "fooling_targeted_all" not in out


def test_a_model_right_on_nothing_gives_null_rates() -> None:
    r = _result([0, 1], [1, 0], [1, 0], [1, 0])
    out = fooling_rates(r)
    assert out["flipped"] == {"count": 0, "of": 0, "rate": None}
    assert out["targeted_success"]["rate"] is None and out["fooling_untargeted"] is None
    assert "note" in out


def test_untargeted_runs_have_no_targeted_count() -> None:
    r = _result([0, 1], [0, 1], [2, 1], [-1, -1])
    out = fooling_rates(r)
    assert out["targeted_success"] is None and out["fooling_targeted"] is None
    assert out["flipped"]["count"] == 1
