"""FGSM on skeletons: the one-step baseline of the CIASA paper's Fig. 2."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ciasa.attacks import constraints
from ciasa.attacks.base import (
    as_tensor_batch,
    check_batch,
    check_labels,
    frozen,
    model_device,
    resolve_layout,
)
from ciasa.cli import BadInput
from ciasa.device import resolve_device
from ciasa.skeleton import SkeletonLayout


class FGSM:
    r"""Fast gradient sign method on ``(N, C, T, V, M)`` skeleton batches.

    Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015;
    used on skeletons as the baseline of Liu et al., "Adversarial Attack on
    Skeleton-Based Human Action Recognition", IEEE TNNLS 2020.

    Distance measure: L-inf per coordinate, in the data's units (metres for NTU).
    Untargeted: ``x' = x + eps * sign(grad_x CE(f(x), y))``; targeted:
    ``x' = x - eps * sign(grad_x CE(f(x), target))``. Zero-padded frames, absent
    bodies, joints outside ``region`` and OpenPose's score channel are left untouched.

    Args:
        model: classifier taking ``(N, C, T, V, M)`` and returning logits ``(N, K)``;
            used in eval mode, its weights are not changed.
        eps (float): step size / L-inf budget (default 0.02).
        targeted (bool): attack towards ``target`` instead of away from ``y`` (default False).
        region (str | None): attack region of the layout (None / 'all' = every joint).
        layout: skeleton layout (default: the model's, else guessed from V).
        device: 'auto' | 'cpu' | 'cuda' (default 'auto': the model's device).

    Shape:
        x ``(N, C, T, V, M)`` float; y ``(N,)`` long; returns ``(N, C, T, V, M)`` on x's device.

    Examples::
        >>> attack = FGSM(model, eps=0.02)
        >>> x_adv = attack(x, y)
    """

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.02,
        targeted: bool = False,
        region: str | None = None,
        layout: str | SkeletonLayout | None = None,
        device: str | torch.device = "auto",
    ) -> None:
        if not np.isfinite(eps) or eps <= 0:
            raise BadInput(f"eps must be a positive number of metres, got {eps}")
        self.model = model
        self.eps = float(eps)
        self.targeted = targeted
        self.region = region
        self.layout = layout
        self.device = (
            model_device(model) if device == "auto" and model_device(model) is not None else resolve_device(device)
        )

    def __call__(self, x: Tensor | np.ndarray, y: Tensor, target: Tensor | None = None) -> Tensor:
        x = as_tensor_batch(x)
        layout = resolve_layout(self.layout, self.model, x.shape[3] if x.dim() == 5 else None)
        check_batch(x, layout)
        out_device = x.device
        clean = x.detach().to(self.device, torch.float32)
        joints = constraints.region_mask(layout.region_joints(self.region), layout.num_joints)
        channels = constraints.default_channel_mask(layout, clean.shape[1])
        movable = constraints.movable_mask(clean, joints, channels)
        with frozen(self.model):
            adv = clean.clone().requires_grad_(True)
            logits = self.model(adv)
            n, k = logits.shape
            if self.targeted:
                if target is None:
                    raise ValueError("targeted FGSM needs a target tensor")
                goal = check_labels(target, n, k, "target").to(self.device)
                sign = -1.0
            else:
                goal = check_labels(y, n, k, "labels").to(self.device)
                sign = 1.0
            loss = F.cross_entropy(logits, goal, reduction="sum")
            (grad,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            stepped = clean + sign * self.eps * grad.sign()
            result = torch.where(movable, stepped, clean)
        return result.to(out_device)
