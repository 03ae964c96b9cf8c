"""Clipping, SSR, masks and losses of the attack suite, on small hand-made skeletons."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ciasa.attacks import constraints, losses
from ciasa.attacks.discriminator import BoneCosineDiscriminator
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18, SkeletonLayout, bone_lengths

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_skeletons(
    layout: SkeletonLayout, n: int = 3, t: int = 12, m: int = 2, channels: int = 3, seed: int = 0
) -> torch.Tensor:
    """Moving skeletons; sample i>0 ends in 2*i zero-padded frames, sample 0 has no second body."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, channels, t, layout.num_joints, m), dtype=np.float32)
    phase = np.linspace(0, 1.5, t)[None, :, None, None]
    base = rng.normal(size=(n, 1, layout.num_joints, m, 3))
    wobble = rng.normal(size=(n, 1, layout.num_joints, m, 3))
    dirs = base + 0.4 * np.sin(3 * phase[..., None] + wobble)
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    lengths = rng.uniform(0.05, 0.4, size=(n, 1, layout.num_joints, m, 1))
    pos = np.zeros((n, t, layout.num_joints, m, 3))
    pos[:, :, layout.root] = np.array([0.1, 0.0, 3.0]) + 0.05 * np.sin(phase[..., 0, :, None] * np.arange(1, 4))
    for level in layout.tree_levels[1:]:
        for j in level:
            pos[:, :, j] = pos[:, :, layout.parents[j]] + lengths[:, :, j] * dirs[:, :, j]
    coords = np.moveaxis(pos, -1, 1)[:, :channels]  # (N, C, T, V, M)
    x[:] = coords
    if channels == 3 and layout.name == "openpose":
        x[:, 2] = rng.uniform(0.3, 1.0, size=x[:, 2].shape)
    for i in range(1, n):
        x[i, :, t - 2 * i :] = 0.0
    if m > 1:
        x[0, :, :, :, 1] = 0.0
    return torch.from_numpy(x)


def bone_len(x: torch.Tensor, layout: SkeletonLayout, channels: int | None = None) -> np.ndarray:
    arr = x.numpy()
    if channels is not None:
        arr = arr[:, :channels]
    return bone_lengths(arr, layout, channel_axis=1)  # (N, T, B, M)


def test_joint_eps_validation() -> None:
    assert torch.equal(constraints.joint_eps(0.01, 4), torch.full((4,), 0.01))
    for bad in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="positive"):
            constraints.joint_eps(bad, 25)
    with pytest.raises(ValueError, match="one entry per joint"):
        constraints.joint_eps(np.ones(24) * 0.01, 25)
    with pytest.raises(ValueError, match=">= 0"):
        constraints.joint_eps(np.r_[-1.0, np.ones(24)], 25)
    with pytest.raises(ValueError, match="zero for every joint"):
        constraints.joint_eps(np.zeros(25), 25)
    with pytest.raises(ValueError, match="outside the layout"):
        constraints.region_mask([3, 30], 25)


def test_clip_bounds_box_and_keeps_outside_bit_identical() -> None:
    clean = make_skeletons(NTU_RGBD)
    joints = constraints.region_mask(NTU_RGBD.region_joints("legs"), 25)
    eps = torch.as_tensor(NTU_RGBD.hierarchical_eps())
    movable = constraints.movable_mask(clean, joints, torch.ones(3, dtype=torch.bool))
    noisy = clean + torch.randn_like(clean)
    out = constraints.clip(noisy, clean, eps, movable)
    assert ((out - clean).abs() <= eps.view(1, 1, 1, -1, 1) + 1e-6).all()
    assert torch.equal(out[:, :, :, ~joints], clean[:, :, :, ~joints])
    frames = constraints.frame_mask(clean)
    assert torch.equal(out * ~frames, torch.zeros_like(out))  # padding stays exactly zero


@pytest.mark.parametrize("region", ["all", "legs", "set-1", "set-2", "set-3", "set-4"])
def test_ssr_restores_bone_lengths(region: str) -> None:
    layout = NTU_RGBD
    clean = make_skeletons(layout)
    joints = constraints.ssr_movable(constraints.region_mask(layout.region_joints(region), 25), layout)
    movable = constraints.movable_mask(clean, joints, torch.ones(3, dtype=torch.bool))
    perturbed = clean + 0.05 * torch.randn_like(clean)
    out = constraints.project(perturbed, clean, 0.05, movable, layout, use_ssr=True)
    frames = constraints.frame_mask(clean).squeeze(1).numpy()  # (N, T, 1, M)
    err = np.abs(bone_len(out, layout) - bone_len(clean, layout))
    assert err[np.broadcast_to(frames, err.shape)].max() <= 1e-5
    # joints outside the (SSR-movable) region, padding and absent bodies: bit-identical
    assert torch.equal(out[:, :, :, ~joints], clean[:, :, :, ~joints])
    full = constraints.frame_mask(clean).expand_as(clean)
    assert torch.equal(out[~full], torch.zeros_like(out[~full]))
    assert torch.isfinite(out).all()
    if region in ("legs", "set-1", "all"):
        assert not torch.equal(out, clean)  # something moved


def test_ssr_movable_freezes_joints_with_outside_descendants() -> None:
    layout = NTU_RGBD
    region = constraints.region_mask(layout.region_joints("set-2"), 25)
    movable = constraints.ssr_movable(region, layout)
    assert not movable[layout.index("neck")]  # the head (set-1) hangs below the neck
    assert movable[layout.index("right_elbow")]
    legs = constraints.region_mask(layout.region_joints("legs"), 25)
    assert torch.equal(constraints.ssr_movable(legs, layout), legs)


def test_ssr_carries_parent_displacement_to_children() -> None:
    layout = NTU_RGBD
    clean = make_skeletons(layout, n=1, m=1)
    knee, ankle = layout.index("left_knee"), layout.index("left_ankle")
    perturbed = clean.clone()
    perturbed[:, :, :, knee] += torch.tensor([0.02, 0.0, 0.0]).view(1, 3, 1, 1)
    movable = constraints.movable_mask(clean, torch.ones(25, dtype=torch.bool), torch.ones(3, dtype=torch.bool))
    out = constraints.ssr(perturbed, clean, layout, movable)
    # the ankle was not perturbed itself, but it follows the knee: its bone keeps its length
    assert not torch.allclose(out[:, :, :, ankle], clean[:, :, :, ankle])
    err = np.abs(bone_len(out, layout) - bone_len(clean, layout)).max()
    assert err <= 1e-5


def test_ssr_zero_length_bones_give_no_nan() -> None:
    layout = NTU_RGBD
    clean = make_skeletons(layout, n=2, m=1)
    hand, tip = layout.index("left_hand"), layout.index("left_hand_tip")
    wrist = layout.index("left_wrist")
    clean[:, :, :, tip] = clean[:, :, :, hand]  # zero-length clean bone
    clean[:, :, :, wrist] = clean[:, :, :, layout.parents[wrist]]
    perturbed = clean.clone()
    perturbed[:, :, :, hand] = perturbed[:, :, :, wrist]  # zero-length perturbed bone too
    movable = constraints.movable_mask(clean, torch.ones(25, dtype=torch.bool), torch.ones(3, dtype=torch.bool))
    out = constraints.ssr(perturbed, clean, layout, movable)
    assert torch.isfinite(out).all()
    err = np.abs(bone_len(out, layout) - bone_len(clean, layout)).max()
    assert err <= 1e-5
    # the losses and their gradients stay finite as well
    adv = out.clone().requires_grad_(True)
    frames = constraints.frame_mask(clean)
    total = losses.smoothness_loss(adv, frames).sum() + losses.bone_cosine_map(adv, layout).sum()
    total.backward()
    assert torch.isfinite(adv.grad).all()


def test_openpose_score_channel_untouched_and_xy_bones_kept() -> None:
    layout = OPENPOSE_18
    clean = make_skeletons(layout, channels=3)
    channels = constraints.default_channel_mask(layout, 3)
    assert channels.tolist() == [True, True, False]
    movable = constraints.movable_mask(clean, torch.ones(18, dtype=torch.bool), channels)
    perturbed = clean + 0.03 * torch.randn_like(clean)
    out = constraints.project(perturbed, clean, 0.03, movable, layout, use_ssr=True, channels=channels)
    assert torch.equal(out[:, 2], clean[:, 2])
    frames = constraints.frame_mask(clean).squeeze(1).numpy()
    err = np.abs(bone_len(out, layout, 2) - bone_len(clean, layout, 2))
    assert err[np.broadcast_to(frames, err.shape)].max() <= 1e-5


def test_smoothness_loss_ignores_padding_and_prefers_smooth_motion() -> None:
    clean = make_skeletons(NTU_RGBD, n=2, t=20)
    frames = constraints.frame_mask(clean)
    base = losses.smoothness_loss(clean, frames)
    jitter = clean + 0.01 * torch.randn_like(clean) * frames
    assert (losses.smoothness_loss(jitter, frames) > base).all()
    # a linear ramp has zero acceleration
    ramp = torch.linspace(0, 1, 20).view(1, 1, 20, 1, 1).expand(1, 3, 20, 25, 1).contiguous()
    assert losses.smoothness_loss(ramp, constraints.frame_mask(ramp)).item() < 1e-4


def test_bone_cosine_map_is_a_cosine_gram_matrix() -> None:
    clean = make_skeletons(NTU_RGBD, n=1, t=4, m=1)
    cos = losses.bone_cosine_map(clean, NTU_RGBD)
    b = len(NTU_RGBD.major_bones)
    assert cos.shape == (1, 4, 1, b, b)
    assert torch.allclose(torch.diagonal(cos, dim1=-2, dim2=-1), torch.ones(1, 4, 1, b), atol=1e-5)
    assert torch.allclose(cos, cos.transpose(-1, -2))
    assert cos.abs().max() <= 1 + 1e-5


def test_gan_term_moves_the_skeleton() -> None:
    """The generator loss must reach the joints: its gradient w.r.t. the skeleton is non-zero."""
    torch.manual_seed(0)
    clean = make_skeletons(NTU_RGBD, n=2, t=8)
    adv = (clean + 0.01 * torch.randn_like(clean)).requires_grad_(True)
    disc = BoneCosineDiscriminator(len(NTU_RGBD.major_bones))
    frames = constraints.frame_mask(clean).squeeze(3).squeeze(1)
    maps = losses.bone_cosine_map(adv, NTU_RGBD)[frames]
    loss = losses.lsgan_generator_loss(disc(maps.unsqueeze(1))).mean()
    (grad,) = torch.autograd.grad(loss, adv)
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0
    d_loss = losses.lsgan_discriminator_loss(disc(maps.detach()), disc(maps.detach()))
    assert d_loss.item() >= 0
