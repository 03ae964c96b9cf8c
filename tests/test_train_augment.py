"""Training augmentation: physically meaningful transforms that keep padding zero."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ciasa.augment import (
    REEXTRACTION_SIGMA,
    AugmentConfig,
    Augmenter,
    body_center,
    joint_noise,
    temporal_resample,
    valid_mask,
)
from ciasa.skeleton import NTU_RGBD, bone_lengths


def skeleton_batch(N=6, T=40, M=2, seed=0) -> torch.Tensor:
    """Bodies ~3 m in front of the sensor with a fixed bone structure that moves rigidly."""
    g = torch.Generator().manual_seed(seed)
    rest = torch.randn(1, 3, 1, 25, 1, generator=g) * 0.3
    t = torch.linspace(0, 1, T)
    x = rest.expand(N, 3, T, 25, M).clone()
    x[:, 0] += 0.2 * torch.sin(6 * t)[None, :, None, None]  # sideways sway (rigid translation)
    x[:, 2] += 3.0
    x[:, :, 30:] = 0  # zero-padded tail
    if M > 1:
        x[1, :, :, :, 1] = 0  # absent second body
    if N > 2:
        x[2, :, 5:8] = 0  # dropped frames in the middle
    return x


def test_padding_and_absent_bodies_stay_zero():
    x = skeleton_batch()
    y = Augmenter()(x, torch.Generator().manual_seed(1))
    assert y.shape == x.shape
    assert (y[:, :, 36:] == 0).all()  # speed >= 0.85 keeps the 30 frames within 36
    assert (y[1, :, :, :, 1] == 0).all()
    mask = valid_mask(y)
    # a frame is either fully present or fully zero (no half-blended padding)
    present_joints = (y != 0).any(dim=1)  # (N, T, V, M)
    assert ((present_joints.all(dim=2)) == mask[:, 0, :, 0, :]).all()
    assert torch.isfinite(y).all()


def test_geometry_is_rigid_without_noise_and_scaling():
    cfg = AugmentConfig(
        crop=(1.0, 1.0),
        speed=(1.0, 1.0),
        scale=(1.0, 1.0),
        noise_max=0.0,
        yaw_deg=30.0,
        pitch_deg=10.0,
        depth_shift=0.1,
    )
    x = skeleton_batch()
    y = Augmenter(cfg)(x, torch.Generator().manual_seed(2))
    assert not torch.allclose(x, y)
    present = valid_mask(x)[:, 0, :, 0, :]  # (N, T, M)
    bx = bone_lengths(x.numpy(), NTU_RGBD, channel_axis=1)  # (N, T, bones, M)
    by = bone_lengths(y.numpy(), NTU_RGBD, channel_axis=1)
    sel = present.numpy()[:, :, None, :].repeat(bx.shape[2], axis=2)
    np.testing.assert_allclose(by[sel], bx[sel], atol=1e-5)
    assert (y[~valid_mask(x).expand_as(x)] == 0).all()


def test_yaw_keeps_heights_and_depth_shift_moves_along_the_ray():
    x = skeleton_batch(M=1)
    yaw_only = AugmentConfig(crop=(1, 1), speed=(1, 1), scale=(1, 1), noise_max=0.0, pitch_deg=0.0, depth_shift=0.0)
    y = Augmenter(yaw_only)(x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(y[:, 1], x[:, 1])  # y (up) untouched by a vertical-axis rotation
    shift_only = AugmentConfig(crop=(1, 1), speed=(1, 1), scale=(1, 1), noise_max=0.0, yaw_deg=0.0, pitch_deg=0.0)
    z = Augmenter(shift_only)(x, torch.Generator().manual_seed(4))
    d = (z - x)[:, :, 0, 0, 0]  # the same displacement for every joint and frame
    present = valid_mask(x).expand_as(x)
    torch.testing.assert_close((z - x)[present], d[:, :, None, None, None].expand_as(x)[present])
    c = body_center(x, valid_mask(x))[:, :, 0, 0, 0]
    # along the viewing ray through the body's centre, at most 8 % of its distance
    cos = (d * c).sum(1) / (d.norm(dim=1) * c.norm(dim=1))
    torch.testing.assert_close(cos.abs(), torch.ones_like(cos))
    assert (d.norm(dim=1) <= 0.08 * c.norm(dim=1) + 1e-6).all()


def test_joint_noise_is_anisotropic_and_spares_padding():
    x = torch.zeros(64, 3, 50, 25, 1)
    x[:, 2, :40] = 3.0
    y = joint_noise(x, REEXTRACTION_SIGMA, torch.Generator().manual_seed(0))
    d = (y - x)[:, :, :40]
    std = d.transpose(0, 1).reshape(3, -1).std(dim=1)
    torch.testing.assert_close(std, torch.tensor(REEXTRACTION_SIGMA), rtol=0.02, atol=0.0)
    assert (y[:, :, 40:] == 0).all()


def test_temporal_resample_identity_and_speed():
    x = skeleton_batch(N=2, M=1)
    T = x.shape[2]
    same = temporal_resample(x, torch.zeros(2), torch.ones(2), torch.full((2,), float(T)))
    torch.testing.assert_close(same, x)
    half = temporal_resample(x, torch.zeros(2), torch.full((2,), 2.0), torch.full((2,), 15.0))
    torch.testing.assert_close(half[:, :, :15:1][:, :, [0, 1, 4, 9]], x[:, :, [0, 2, 8, 18]])
    assert (half[:, :, 15:] == 0).all()


def test_reproducible_and_2d_layouts_get_temporal_only():
    x = skeleton_batch()
    a = Augmenter()(x, torch.Generator().manual_seed(5))
    b = Augmenter()(x, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    op = torch.rand(3, 3, 30, 18, 2)
    cfg = AugmentConfig(crop=(1, 1), speed=(1, 1))
    torch.testing.assert_close(Augmenter(cfg, spatial_3d=False)(op, torch.Generator().manual_seed(0)), op)


@pytest.mark.parametrize("N", [1, 32])
def test_batch_is_differentiable_free_and_fast_enough(N):
    x = skeleton_batch(N=N, T=64, M=1)
    y = Augmenter()(x, torch.Generator().manual_seed(0))
    assert y.dtype == x.dtype and y.shape == x.shape
