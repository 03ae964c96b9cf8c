"""The differentiable SSR of the 'perturbation' formulation and the strict eps box."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ciasa.attacks import constraints
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18
from tests.test_attacks_constraints import bone_len, make_skeletons

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _setup(layout=NTU_RGBD, channels: int = 3, eps: float = 0.03, seed: int = 0):
    clean = make_skeletons(layout, n=3, t=10, channels=channels, seed=seed).double()
    chan = constraints.default_channel_mask(layout, channels)
    movable = constraints.movable_mask(clean, torch.ones(layout.num_joints, dtype=torch.bool), chan)
    gen = torch.Generator().manual_seed(seed)
    noise = (torch.rand(clean.shape, generator=gen, dtype=clean.dtype) * 2 - 1) * eps
    perturbed = torch.where(movable, clean + noise, clean)
    return clean, perturbed, movable, chan


@pytest.mark.parametrize("layout,channels", [(NTU_RGBD, 3), (OPENPOSE_18, 3), (OPENPOSE_18, 2)])
def test_matches_the_projection_ssr_in_value(layout, channels) -> None:
    clean, perturbed, movable, chan = _setup(layout, channels)
    soft = constraints.ssr_differentiable(perturbed, clean, layout, movable, chan)
    hard = constraints.ssr(perturbed, clean, layout, movable, chan)
    assert torch.allclose(soft, hard, atol=1e-12, rtol=0)
    # what the attack may not touch is taken from the clean input, bit for bit
    assert torch.equal(soft[~movable], clean[~movable])


def test_bones_keep_their_clean_length_exactly() -> None:
    clean, perturbed, movable, chan = _setup(eps=0.05)
    out = constraints.ssr_differentiable(perturbed.float(), clean.float(), NTU_RGBD, movable, chan)
    err = np.abs(bone_len(out, NTU_RGBD) - bone_len(clean.float(), NTU_RGBD))
    present = constraints.frame_mask(clean).squeeze(1).squeeze(2).numpy()  # (N, T, M)
    assert err.transpose(0, 1, 3, 2)[present].max() <= 5e-7  # float32 rounding of ~3 m coordinates (one ulp = 2.4e-7)
    assert not torch.equal(out, clean.float())  # it did move


def test_gradient_flows_to_every_movable_joint_and_is_correct() -> None:
    clean, perturbed, movable, chan = _setup()
    x = perturbed.clone().requires_grad_(True)
    out = constraints.ssr_differentiable(x, clean, NTU_RGBD, movable, chan)
    weights = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(3))
    (out * weights).sum().backward()
    grad = x.grad
    assert torch.isfinite(grad).all()
    assert (grad[~movable] == 0).all()
    # every movable joint's position changes the output (through its own bone direction)
    per_joint = grad.abs().sum(dim=(0, 1, 2, 4))
    assert (per_joint > 0).all()

    # the gradient matches finite differences of the realigned skeleton
    def f(inp: torch.Tensor) -> torch.Tensor:
        return (constraints.ssr_differentiable(inp, clean, NTU_RGBD, movable, chan) * weights).sum()

    sub = perturbed[:1, :, :2].clone().requires_grad_(True)
    clean_sub, mov_sub, w_sub = clean[:1, :, :2], movable[:1, :, :2], weights[:1, :, :2]

    def g(inp: torch.Tensor) -> torch.Tensor:
        return (constraints.ssr_differentiable(inp, clean_sub, NTU_RGBD, mov_sub, chan) * w_sub).sum()

    assert torch.autograd.gradcheck(g, (sub,), eps=1e-6, atol=1e-5)


def test_degenerate_bones_give_no_nan() -> None:
    clean, perturbed, movable, chan = _setup()
    collapsed = perturbed.clone()
    collapsed[:, :, :, 3] = collapsed[:, :, :, 2]  # head onto the neck: no bone direction
    x = collapsed.requires_grad_(True)
    out = constraints.ssr_differentiable(x, clean, NTU_RGBD, movable, chan)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()


def test_shrink_into_box_meets_both_constraints() -> None:
    clean, _, movable, chan = _setup()
    clean = clean.float()
    eps = torch.full((25,), 0.02)
    signs = torch.randint(0, 2, clean.shape, generator=torch.Generator().manual_seed(1)).float() * 2 - 1
    delta = torch.where(movable, 0.02 * signs, torch.zeros_like(clean))  # every joint at a corner of its box
    loose = constraints.ssr(
        constraints.clip(clean + delta, clean, eps.view(1, 1, 1, -1, 1), movable), clean, NTU_RGBD, movable, chan
    )
    assert constraints.box_violation(loose, clean, eps).any()  # SSR carries children past their box
    shrunk, inside = constraints.shrink_into_box(delta, clean, eps, movable, NTU_RGBD, chan)
    assert not constraints.box_violation(inside, clean, eps).any()
    err = np.abs(bone_len(inside, NTU_RGBD) - bone_len(clean, NTU_RGBD))
    present = constraints.frame_mask(clean).squeeze(1).squeeze(2).numpy()
    assert err.transpose(0, 1, 3, 2)[present].max() <= 5e-7  # float32 rounding of ~3 m coordinates (one ulp = 2.4e-7)
    assert (shrunk.abs() <= delta.abs() + 1e-9).all()
    assert torch.equal(inside[~movable], clean[~movable])
    assert (inside - clean).abs().max() > 0.005  # it keeps a real perturbation, not the clean clip


def test_ssr_in_box_changes_only_what_ssr_carried_out_of_the_box() -> None:
    clean, _, movable, chan = _setup()
    clean = clean.float()
    eps = torch.as_tensor(NTU_RGBD.hierarchical_eps(), dtype=torch.float32)  # grows towards the feet
    eps = torch.where(eps > 0, eps, torch.full_like(eps, 0.01))
    signs = torch.randint(0, 2, clean.shape, generator=torch.Generator().manual_seed(2)).float() * 2 - 1
    moved = constraints.clip(clean + signs * 0.3, clean, eps.view(1, 1, 1, -1, 1), movable)
    plain = constraints.ssr(moved, clean, NTU_RGBD, movable, chan)
    strict = constraints.ssr_in_box(moved, clean, eps, NTU_RGBD, movable, chan)
    assert constraints.box_violation(plain, clean, eps).any()
    assert not constraints.box_violation(strict, clean, eps).any()  # no frame needed scaling down
    err = np.abs(bone_len(strict, NTU_RGBD) - bone_len(clean, NTU_RGBD))
    present = constraints.frame_mask(clean).squeeze(1).squeeze(2).numpy()
    assert err.transpose(0, 1, 3, 2)[present].max() <= 5e-7
    # frames SSR kept inside its boxes are left exactly as SSR placed them
    inside = ~constraints.box_violation(plain, clean, eps).expand_as(clean)
    assert torch.allclose(strict[inside], plain[inside], atol=1e-6)
