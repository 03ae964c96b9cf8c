"""What the attack optimises for: the target rule and the prediction loss.

Targeted rules pick one class per clip from the clean logits and minimise the
cross-entropy towards it (the paper's ``L_pred``); the untargeted rule has no target
and pushes the true class down with a margin loss.

- ``least_likely``: the clean input's least likely class (the paper's default, and the
  hardest target: it is as far from the clip as the model knows);
- ``random``: a uniformly drawn wrong class;
- ``nearest``: the clean input's runner-up class (the easiest target);
- ``untargeted``: no target; maximise ``max_{j != y} z_j - z_y`` (Carlini-Wagner margin
  on the true label ``y``, capped at ``kappa`` so that clips already fooled with a
  margin stop pulling the batch);
- a class index (``"7"``) or a class name: that class for every clip.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ciasa.cli import BadInput

TARGET_RULES = ("least_likely", "random", "nearest", "untargeted")
# Margin (nats) beyond which an untargeted clip no longer adds to the loss.
UNTARGETED_KAPPA = 5.0


def parse_target(
    spec: str | int | Tensor, class_names: Sequence[str] | None = None, num_classes: int | None = None
) -> str | int | Tensor:
    """A rule name, a class index or a class name -> rule name or class index (validated).

    Raises ValueError naming the problem for an unknown rule or name and an index out of
    range (with ``num_classes`` known).
    """
    if isinstance(spec, Tensor):
        return spec
    if isinstance(spec, int):
        index = spec
    else:
        text = str(spec).strip()
        if text in TARGET_RULES:
            return text
        if text.lstrip("-").isdigit():
            index = int(text)
        elif class_names is not None and text in class_names:
            index = list(class_names).index(text)
        else:
            known = f"; or a class name: {', '.join(class_names)}" if class_names else ""
            raise BadInput(f"unknown target {text!r}: use {', '.join(TARGET_RULES)}, a class index{known}")
    if index < 0 or (num_classes is not None and index >= num_classes):
        bound = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
        raise BadInput(f"target class {index} out of range (the model has classes {bound})")
    return index


def choose_target(
    rule: str | int | Tensor, clean_logits: Tensor, labels: Tensor, gen: torch.Generator
) -> Tensor | None:
    """``(N,)`` target classes for a targeted rule; None for 'untargeted'."""
    n, k = clean_logits.shape
    device = clean_logits.device
    if isinstance(rule, Tensor):
        target = torch.as_tensor(rule).to(device).long()
        if target.shape != (n,) or int(target.min()) < 0 or int(target.max()) >= k:
            raise ValueError(f"target must be {n} class indices in 0..{k - 1}, got {target.tolist()}")
        return target
    if isinstance(rule, int):
        if not 0 <= rule < k:
            raise BadInput(f"target class {rule} out of range (the model has classes 0..{k - 1})")
        return torch.full((n,), rule, dtype=torch.long, device=device)
    if rule == "untargeted":
        return None
    if rule == "least_likely":
        return clean_logits.argmin(dim=1)
    if rule == "nearest":
        if k < 2:
            raise BadInput("a 'nearest' target needs at least two classes")
        return clean_logits.topk(2, dim=1).indices[:, 1]
    if rule == "random":
        if k < 2:
            raise BadInput("a random target needs at least two classes")
        shift = torch.randint(1, k, (n,), generator=gen).to(device)
        return (labels.to(device) + shift) % k
    raise BadInput(f"unknown target rule {rule!r} (use one of {', '.join(TARGET_RULES)})")


def prediction_loss(logits: Tensor, target: Tensor | None, labels: Tensor, kappa: float = UNTARGETED_KAPPA) -> Tensor:
    """Per-sample ``L_pred`` ``(N,)`` to *minimise*.

    Targeted: cross-entropy towards ``target``. Untargeted (``target`` None): the true
    class's logit minus the best other logit, floored at ``-kappa``.
    """
    if target is not None:
        return F.cross_entropy(logits, target, reduction="none")
    true = logits.gather(1, labels[:, None]).squeeze(1)
    others = logits.scatter(1, labels[:, None], float("-inf")).amax(dim=1)
    return (true - others).clamp_min(-kappa)


def logit_gap(logits: Tensor, target: Tensor | None, labels: Tensor) -> Tensor:
    """``(N,)`` nats still to go: best non-target logit minus the target's (targeted), or the
    true logit minus the best other (untargeted). Success is a gap below zero."""
    if target is None:
        return prediction_loss(logits, None, labels, kappa=float("inf"))
    tgt = logits.gather(1, target[:, None]).squeeze(1)
    others = logits.scatter(1, target[:, None], float("-inf")).amax(dim=1)
    return others - tgt
