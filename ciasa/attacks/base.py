"""What the attacks share: input checks, freezing the model, the result type.

Devices are resolved by :func:`ciasa.device.resolve_device`, the one resolver of the project."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from ciasa.cli import BadInput
from ciasa.data.stgcn import check_skeleton_shape
from ciasa.skeleton import LAYOUTS, SkeletonLayout, get_layout


def model_device(model: nn.Module) -> torch.device | None:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return None


def model_layout(model: nn.Module) -> SkeletonLayout | None:
    """The layout a model declares (``model.layout`` or ``model.graph.layout``), if any."""
    for owner in (model, getattr(model, "graph", None)):
        value = getattr(owner, "layout", None) if owner is not None else None
        if isinstance(value, SkeletonLayout):
            return value
        if isinstance(value, str) and value in LAYOUTS:
            return get_layout(value)
    return None


def resolve_layout(
    layout: str | SkeletonLayout | None, model: nn.Module, num_joints: int | None = None
) -> SkeletonLayout:
    """The user's layout, else the model's, else the one with a matching joint count."""
    if layout is not None:
        chosen = get_layout(layout)
        declared = model_layout(model)
        if declared is not None and declared.name != chosen.name:
            raise BadInput(f"layout {chosen.name!r} was given but the model was built for {declared.name!r}")
        return chosen
    declared = model_layout(model)
    if declared is not None:
        return declared
    if num_joints is not None:
        for candidate in LAYOUTS.values():
            if candidate.num_joints == num_joints:
                return candidate
        raise BadInput(f"no known skeleton layout has {num_joints} joints")
    raise BadInput("cannot tell the skeleton layout: pass layout=")


def check_batch(x: Tensor, layout: SkeletonLayout) -> None:
    """Clear errors for inputs that are not ``(N, C, T, V, M)`` skeletons of ``layout``: the
    data format's shape rules (:func:`ciasa.data.stgcn.check_skeleton_shape`), then finite values."""
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor batch, got {type(x).__name__}")
    check_skeleton_shape(
        tuple(x.shape),
        torch.is_floating_point(x),
        x.dtype,
        layout,
        "input batch",
        dims=(5,),
        joints_hint=" (the model's layout: wrong layout for this model?)",
    )
    if not torch.isfinite(x).all():
        raise BadInput("input batch: holds NaN or inf values")


def check_labels(labels: Tensor, n: int, num_classes: int, what: str = "labels") -> Tensor:
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.numel() != n:
        raise ValueError(f"{what} must be a flat tensor of {n} class indices, got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{what} must be integer class indices, got {labels.dtype}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{what} out of range: values {int(labels.min())}..{int(labels.max())} but the model has "
            f"{num_classes} classes"
        )
    return labels.long()


@contextlib.contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode (BatchNorm statistics and dropout fixed) and no weight gradients, restored after."""
    was_training = model.training
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
        model.train(was_training)


@dataclass
class AttackResult:
    """Outcome of one attack call; every field is per sample, on the CPU.

    ``adversarial`` ``(N, C, T, V, M)``; ``labels``, ``target``, ``clean_pred``,
    ``prediction`` ``(N,)`` long; ``target_confidence`` the softmax probability of the
    target class on the adversarial input; ``success`` targeted success (prediction ==
    target); ``iterations`` the optimisation steps taken for each sample.
    """

    adversarial: Tensor
    labels: Tensor
    target: Tensor
    clean_pred: Tensor
    prediction: Tensor
    target_confidence: Tensor
    success: Tensor
    iterations: Tensor
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def success_untargeted(self) -> Tensor:
        return self.prediction != self.labels

    @property
    def clean_correct(self) -> Tensor:
        return self.clean_pred == self.labels

    def __len__(self) -> int:
        return int(self.labels.numel())


def as_tensor_batch(x: Tensor | np.ndarray) -> Tensor:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return x
