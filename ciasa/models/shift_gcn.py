"""Shift-GCN (Cheng, Zhang, He, Chen, Cheng, Lu, CVPR 2020), joint and bone streams, in pure PyTorch.

Module and parameter names follow the public implementation (kchengiva/Shift-GCN,
``model/shift_gcn.py``): ``data_bn``, ``l1`` .. ``l10`` (each ``gcn1`` =
``Linear_weight``, ``Linear_bias``, ``Feature_Mask``, ``bn``, ``shift_in``, ``shift_out``,
``down.{0,1}``; ``tcn1`` = ``bn``, ``shift_in.{xpos,ypos}``, ``temporal_linear``,
``shift_out.{xpos,ypos}``, ``bn2``; ``residual.{conv,bn}``), ``fc``, so the released
``ntu_ShiftGCN_joint_{xsub,xview}.pt`` load with ``strict=True``.

The spatial shift is a fixed channel permutation (``index_select``, as in the public
code). The temporal shift of the public code is a CUDA extension: per channel, a
learnable fractional shift ``(ypos, xpos)`` along (time, joints) read with bilinear
interpolation and zeros outside, the output sampled at ``t * stride`` (with half a
frame added to ``ypos`` when strided). :func:`temporal_shift` computes the same
with four index gathers, so it runs on the CPU and on any GPU and autograd gives its
exact adjoint.

The model takes raw ``(N, 3, T, 25, M)`` Kinect skeletons in metres; its front end is
the 2s-AGCN data pipeline (zero-pad to 300 frames and 2 bodies, ``pre_normalization``,
:mod:`ciasa.models.ntu_preprocess`) and, for the bone stream, 2s-AGCN's bone vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ciasa.models.agcn import bone_source_index, joints_to_bones
from ciasa.models.errors import CheckpointError
from ciasa.models.ntu_preprocess import body_rows, check_preprocess, fit_clip, pre_normalization
from ciasa.models.residual import ResidualBlock
from ciasa.skeleton import NTU_RGBD

BLOCK_WIDTHS = (1, 1, 1, 1, 2, 2, 2, 4, 4, 4)
BLOCK_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)
MAX_FRAME = 300
NUM_PERSON = 2


def spatial_shift_index(num_joints: int, channels: int, direction: int) -> np.ndarray:
    """The public code's shift permutation of ``(V * C)`` features: channel j of joint i
    reads joint ``i + direction * j`` (mod V)."""
    i = np.arange(num_joints)[:, None]
    j = np.arange(channels)[None, :]
    return ((i * channels + j + direction * j * channels) % (channels * num_joints)).reshape(-1).astype(np.int64)


def temporal_shift(x: Tensor, ypos: Tensor, xpos: Tensor, stride: int = 1) -> Tensor:
    """Per-channel bilinear shift of ``(N, C, T, V)`` by ``(ypos, xpos)``, output ``T // stride`` frames.

    ``out[n, c, h, w] = bilinear(x[n, c], h * stride + y_c, w + x_c)`` with zeros outside
    the map; ``y_c = ypos_c + 0.5`` when ``stride > 1`` (the public extension's rule).
    """
    n, c, t, v = x.shape
    t_out = t // stride
    y = ypos + 0.5 if stride > 1 else ypos
    y0, x0 = torch.floor(y), torch.floor(xpos)
    dy, dx = (y - y0).view(c, 1, 1, 1), (xpos - x0).view(c, 1, 1, 1)
    corner_y = torch.tensor([0, 0, 1, 1], device=x.device).view(1, 4, 1, 1)
    corner_x = torch.tensor([0, 1, 0, 1], device=x.device).view(1, 4, 1, 1)
    rows = (torch.arange(t_out, device=x.device) * stride).view(1, 1, t_out, 1) + y0.long().view(c, 1, 1, 1) + corner_y
    cols = torch.arange(v, device=x.device).view(1, 1, 1, v) + x0.long().view(c, 1, 1, 1) + corner_x
    inside = (rows >= 0) & (rows < t) & (cols >= 0) & (cols < v)  # (C, 4, T_out, V)
    wy = torch.where(corner_y.bool(), dy, 1 - dy)  # (C, 4, 1, 1)
    wx = torch.where(corner_x.bool(), dx, 1 - dx)
    weight = wy * wx * inside.to(x.dtype)  # zero outside the map
    index = (rows.clamp(0, t - 1) * v + cols.clamp(0, v - 1)).reshape(1, c, 4 * t_out * v).expand(n, c, 4 * t_out * v)
    sampled = torch.gather(x.reshape(n, c, t * v), 2, index).view(n, c, 4, t_out, v)
    return (sampled * weight.unsqueeze(0)).sum(dim=2)


class Shift(nn.Module):
    """Learnable temporal shift (the public ``Shift`` module's parameters)."""

    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.stride = stride
        self.xpos = nn.Parameter(torch.zeros(channels))
        self.ypos = nn.Parameter(torch.empty(channels).uniform_(-1.0, 1.0))

    def forward(self, x: Tensor) -> Tensor:
        return temporal_shift(x, self.ypos, self.xpos, self.stride)


class ShiftTCN(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.bn2 = nn.BatchNorm2d(c_in)  # c_in == c_out in every block of the model
        self.shift_in = Shift(c_in, 1)
        self.shift_out = Shift(c_out, stride)
        self.temporal_linear = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.shift_in(self.bn(x))
        x = torch.relu(self.temporal_linear(x))
        return self.bn2(self.shift_out(x))


class ShiftGCNLayer(nn.Module):
    """Spatial shift in, per-joint feature mask, pointwise linear, spatial shift out, BN, residual."""

    def __init__(self, c_in: int, c_out: int, num_joints: int):
        super().__init__()
        self.c_out = c_out
        self.down = None if c_in == c_out else nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))
        self.Linear_weight = nn.Parameter(torch.randn(c_in, c_out) * (1.0 / c_out) ** 0.5)
        self.Linear_bias = nn.Parameter(torch.zeros(1, 1, c_out))
        self.Feature_Mask = nn.Parameter(torch.zeros(1, num_joints, c_in))
        self.bn = nn.BatchNorm1d(num_joints * c_out)
        # Parameters (frozen) rather than buffers, as in the public code: they are in its state dicts.
        self.shift_in = nn.Parameter(torch.from_numpy(spatial_shift_index(num_joints, c_in, 1)), requires_grad=False)
        self.shift_out = nn.Parameter(torch.from_numpy(spatial_shift_index(num_joints, c_out, -1)), requires_grad=False)

    def forward(self, x0: Tensor) -> Tensor:
        n, c, t, v = x0.shape
        x = x0.permute(0, 2, 3, 1).reshape(n * t, v * c).index_select(1, self.shift_in).view(n * t, v, c)
        x = x * (torch.tanh(self.Feature_Mask) + 1)
        x = torch.einsum("nwc,cd->nwd", x, self.Linear_weight) + self.Linear_bias
        x = x.reshape(n * t, v * self.c_out).index_select(1, self.shift_out)
        x = self.bn(x).view(n, t, v, self.c_out).permute(0, 3, 1, 2)
        return torch.relu(x + (x0 if self.down is None else self.down(x0)))


class UnitTCN(nn.Module):
    """The strided 1x1 residual (``residual.conv``, ``residual.bn``)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, (stride, 1))
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class ShiftBlock(ResidualBlock):
    def __init__(self, c_in: int, c_out: int, num_joints: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.gcn1 = ShiftGCNLayer(c_in, c_out, num_joints)
        self.tcn1 = ShiftTCN(c_out, c_out, stride)
        self.init_residual(c_in, c_out, stride, residual, lambda: UnitTCN(c_in, c_out, stride))

    def forward(self, x: Tensor) -> Tensor:
        return self.add_residual(self.tcn1(self.gcn1(x)), x)


class ShiftGCN(nn.Module):
    """Shift-GCN joint stream on raw NTU skeletons (see the module doc).

    Args:
        num_class: action classes (60).
        preprocess: 'pre_normalization' (the public data pipeline) or 'none' (input
            already normalised).
        in_channels, num_person: 3 and 2 as published; ``base_channels`` 64.
        graph_args: ``{'layout': 'ntu-rgb+d'}``.

    Input ``(N, 3, T, 25, M)`` with M <= 2, output logits ``(N, num_class)``.
    """

    stream = "joint"

    def __init__(
        self,
        num_class: int = 60,
        preprocess: str = "pre_normalization",
        in_channels: int = 3,
        num_person: int = NUM_PERSON,
        base_channels: int = 64,
        graph_args: dict[str, Any] | None = None,
        max_frame: int = MAX_FRAME,
    ) -> None:
        super().__init__()
        layout = dict(graph_args or {}).get("layout", NTU_RGBD.name)
        if layout != NTU_RGBD.name:
            raise ValueError(f"Shift-GCN here supports the NTU-25 layout only, not {layout!r}")
        self.layout = NTU_RGBD
        self.num_class, self.in_channels, self.num_person = num_class, in_channels, num_person
        self.preprocess = check_preprocess(preprocess)
        self.max_frame = max_frame
        v = NTU_RGBD.num_joints
        self.data_bn = nn.BatchNorm1d(num_person * in_channels * v)
        c_in = in_channels
        for i, (w, s) in enumerate(zip(BLOCK_WIDTHS, BLOCK_STRIDES)):
            c_out = base_channels * w
            self.add_module(f"l{i + 1}", ShiftBlock(c_in, c_out, v, s, residual=i > 0))
            c_in = c_out
        self.fc = nn.Linear(c_in, num_class)

    def stream_input(self, x: Tensor) -> Tensor:
        return x

    def front_end(self, x: Tensor) -> Tensor:
        """Raw skeletons -> the stream's normalised ``(N, C, 300, V, M)`` input (differentiable)."""
        return self._front_end(self._fit(x))

    def _fit(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[3] != NTU_RGBD.num_joints:
            raise ValueError(f"Shift-GCN expects (N, {self.in_channels}, T, 25, M) skeletons, got {tuple(x.shape)}")
        return fit_clip(x, self.max_frame, self.num_person)

    def _front_end(self, x: Tensor) -> Tensor:
        if self.preprocess == "pre_normalization":
            x = pre_normalization(x)
        return self.stream_input(x)

    def features(self, x: Tensor) -> Tensor:
        """Pooled embedding ``(N, 256)`` (absent bodies computed once per slot, exact)."""
        x = self._fit(x)
        rows, source = body_rows(x)
        x = self._front_end(x)
        n, c, t, v, m = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t))
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v).index_select(0, rows)
        for i in range(len(BLOCK_WIDTHS)):
            x = getattr(self, f"l{i + 1}")(x)
        return x.mean(dim=(2, 3)).index_select(0, source).view(n, m, -1).mean(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x))

    def extra_repr(self) -> str:
        return f"stream={self.stream!r}, num_class={self.num_class}, preprocess={self.preprocess!r}"


class ShiftGCNBone(ShiftGCN):
    """The bone stream: 2s-AGCN bone vectors of the normalised joints."""

    stream = "bone"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("bone_src", torch.tensor(bone_source_index(NTU_RGBD)), persistent=False)

    def stream_input(self, x: Tensor) -> Tensor:
        return joints_to_bones(x, self.bone_src)


def shift_gcn_args_from_state_dict(state: Mapping[str, Tensor], path: str | Path = "<state dict>") -> dict[str, Any]:
    """Constructor arguments of a public Shift-GCN stream state dict (checks the shift permutations)."""
    needed = ("data_bn.weight", "l1.gcn1.Feature_Mask", "l1.gcn1.shift_in", "l1.tcn1.shift_in.ypos", "fc.weight")
    for key in needed:
        if key not in state:
            raise CheckpointError(f"{path}: not a Shift-GCN checkpoint (no {key!r} tensor)")
    mask = state["l1.gcn1.Feature_Mask"]
    if mask.dim() != 3:
        raise CheckpointError(f"{path}: 'l1.gcn1.Feature_Mask' has shape {tuple(mask.shape)}, expected (1, V, C)")
    v, c = int(mask.shape[1]), int(mask.shape[2])
    if v != NTU_RGBD.num_joints:
        raise CheckpointError(
            f"{path}: 'l1.gcn1.Feature_Mask' is for {v} joints; the NTU-25 layout has {NTU_RGBD.num_joints}"
        )
    bn = int(state["data_bn.weight"].shape[0])
    if bn % (v * c):
        raise CheckpointError(f"{path}: 'data_bn.weight' has {bn} features, not a multiple of V*C = {v * c}")
    for i in range(1, len(BLOCK_WIDTHS) + 1):
        for key, direction in ((f"l{i}.gcn1.shift_in", 1), (f"l{i}.gcn1.shift_out", -1)):
            if key not in state:
                continue  # the strict load names it
            idx = state[key]
            channels = idx.numel() // v
            if idx.numel() != channels * v or not torch.equal(
                idx.long().cpu(), torch.from_numpy(spatial_shift_index(v, channels, direction))
            ):
                raise CheckpointError(f"{path}: {key!r} is not Shift-GCN's spatial shift permutation")
    return {
        "num_class": int(state["fc.weight"].shape[0]),
        "preprocess": "pre_normalization",
        "in_channels": c,
        "num_person": bn // (v * c),
        "base_channels": int(state["l1.gcn1.Linear_weight"].shape[1]) if "l1.gcn1.Linear_weight" in state else 64,
        "graph_args": {"layout": NTU_RGBD.name},
    }


def _register() -> None:
    from ciasa.models.registry import register_model

    register_model("shift_gcn", ShiftGCN, shift_gcn_args_from_state_dict)
    register_model("shift_gcn_bone", ShiftGCNBone, shift_gcn_args_from_state_dict)


_register()
