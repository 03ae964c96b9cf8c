"""Loss terms of CIASA: temporal smoothness, the bone-cosine feature map, LSGAN losses.

Everything is differentiable with respect to the skeleton: the feature map the
discriminator sees is built from the perturbed joints without detaching, so the
adversarial term pushes the skeleton itself towards natural-looking bone angles.
Norms use ``sqrt(x + tiny)`` so zero-length bones and zero accelerations give zero
gradients instead of NaN.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ciasa.skeleton import SkeletonLayout

_TINY = 1e-12


def acceleration(x: Tensor) -> Tensor:
    """Second temporal difference ``x[t+1] + x[t-1] - 2 x[t]`` of ``(N, C, T, V, M)``: ``(N, C, T-2, V, M)``."""
    return x[:, :, 2:] + x[:, :, :-2] - 2.0 * x[:, :, 1:-1]


def acceleration_valid(frames: Tensor) -> Tensor:
    """``(N, 1, T-2, 1, M)``: accelerations whose three frames are all present (not padding)."""
    return frames[:, :, 2:] & frames[:, :, 1:-1] & frames[:, :, :-2]


def smoothness_loss(
    x: Tensor,
    frames: Tensor,
    joints: Tensor | None = None,
    channels: Tensor | None = None,
) -> Tensor:
    """Per-sample temporal smoothness ``(N,)``: mean over body-frames of the summed joint acceleration norms.

    ``frames`` is the ``(N, 1, T, 1, M)`` frame mask (padding excluded: the jump from
    the last real frame to the zero padding is not motion); ``joints`` ``(V,)`` selects
    the attacked joints; ``channels`` ``(C,)`` the coordinate channels.
    """
    n, c, t, v, m = x.shape
    if t < 3:
        return x.new_zeros(n)
    if channels is not None:
        x = x * channels.to(x.device, x.dtype).view(1, c, 1, 1, 1)
    acc = acceleration(x)
    norm = (acc.square().sum(dim=1) + _TINY).sqrt()  # (N, T-2, V, M)
    valid = acceleration_valid(frames).squeeze(1).to(x.dtype)  # (N, T-2, 1, M)
    weight = valid if joints is None else valid * joints.to(x.device, x.dtype).view(1, 1, v, 1)
    total = (norm * weight).sum(dim=(1, 2, 3))
    count = valid.sum(dim=(1, 2, 3)).clamp_min(1.0)
    return total / count


def bone_cosine_map(x: Tensor, layout: SkeletonLayout, channels: Tensor | None = None) -> Tensor:
    """Per-frame cosine between every pair of major bones: ``(N, T, M, B, B)``.

    ``B = len(layout.major_bones)`` (fingers and toes left out). One batched matrix
    product per call; zero-length bones give zero rows instead of NaN.
    """
    n, c, t, v, m = x.shape
    if channels is not None:
        x = x * channels.to(x.device, x.dtype).view(1, c, 1, 1, 1)
    child = torch.as_tensor(layout.major_bones, device=x.device)
    parent = torch.as_tensor(layout.parents, device=x.device)[child]
    vec = x.index_select(3, child) - x.index_select(3, parent)  # (N, C, T, B, M)
    vec = vec.permute(0, 2, 4, 3, 1)  # (N, T, M, B, C)
    unit = vec / (vec.square().sum(dim=-1, keepdim=True) + _TINY).sqrt()
    return unit @ unit.transpose(-1, -2)


def lsgan_generator_loss(d_fake: Tensor) -> Tensor:
    """Elementwise ``(D(X') - 1)^2``: the attack wants its frames judged real."""
    return (d_fake - 1.0).square()


def lsgan_discriminator_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """``mean (D(X_real) - 1)^2 + mean D(X')^2``."""
    return (d_real - 1.0).square().mean() + d_fake.square().mean()


SMOOTHNESS = ("paper", "ours", "perturbation")


def smoothness_paper(x: Tensor, frames: Tensor, joints: Tensor | None = None, channels: Tensor | None = None) -> Tensor:
    """Eq. 7 as printed: ``1/(T-1) sum_t sum_i a_ti``, the *signed* sum of accelerations ``(N,)``.

    Kept for reproduction. A signed sum of second differences telescopes to the end
    velocity minus the start velocity, so it does not penalise jitter in between; the
    measurements in docs/attacks.md show what that does.
    """
    n, c, t, v, m = x.shape
    if t < 3:
        return x.new_zeros(n)
    if channels is not None:
        x = x * channels.to(x.device, x.dtype).view(1, c, 1, 1, 1)
    acc = acceleration(x).sum(dim=1)  # (N, T-2, V, M)
    valid = acceleration_valid(frames).squeeze(1).to(x.dtype)
    weight = valid if joints is None else valid * joints.to(x.device, x.dtype).view(1, 1, v, 1)
    count = (frames.squeeze(1).squeeze(2).to(x.dtype).sum(dim=1) - 1).clamp_min(1).sum(dim=1)  # T - 1 per body
    return (acc * weight).sum(dim=(1, 2, 3)) / count


def smoothness_perturbation(
    adv: Tensor, clean: Tensor, frames: Tensor, joints: Tensor | None = None, channels: Tensor | None = None
) -> Tensor:
    """Acceleration norm of the perturbation ``adv - clean`` ``(N,)``.

    Zero, with a zero gradient, at the clean input: unlike the acceleration of the
    perturbed clip (which also charges the clean motion's own acceleration) it does not
    pull against the attack before the attack has added any jitter.
    """
    return smoothness_loss(adv - clean, frames, joints, channels)


def smoothness_term(
    kind: str, adv: Tensor, clean: Tensor, frames: Tensor, joints: Tensor | None, channels: Tensor | None
) -> Tensor:
    """Per-sample smoothness penalty of the named kind (see :data:`SMOOTHNESS`)."""
    if kind == "paper":
        return smoothness_paper(adv, frames, joints, channels)
    if kind == "ours":
        return smoothness_loss(adv, frames, joints, channels)
    if kind == "perturbation":
        return smoothness_perturbation(adv, clean, frames, joints, channels)
    raise ValueError(f"unknown smoothness term {kind!r} (use one of {', '.join(SMOOTHNESS)})")
