"""EfficientGCN (Song, Zhang, Shan, Wang, TPAMI 2022), the B-family, with its NTU front end.

Written for the published NTU-60 checkpoints (``2001_EfficientGCN-B0_ntu-xsub``,
``2002_EfficientGCN-B0_ntu-xview``): module names follow the public implementation
(``input_branches.{i}`` = ``init_bn``, ``stem_scn``, ``stem_tcn``, ``block-{k}_scn``,
``block-{k}_tcn-{j}``, ``block-{k}_att``; ``main_stream``; ``classifier.fc``), so their
state dicts load with ``strict=True``. The configuration is the one of the published
configs: SG temporal layers (two depthwise convolutions around a bottleneck), reduction
ratio 2, spatial-temporal joint attention, Swish, temporal window 5, graph distance 2,
stem width 64, fusion after two blocks, and the B-family scaling of
``[[48, 1, 0.5], [24, 1, 0.5], [64, 2, 1], [128, 2, 1]]`` by ``1.2 ** s`` in width
(rounded to multiples of 16) and ``1.35 ** s`` in depth (Python's rounding, so B0's first
two blocks have no temporal layer).

The model takes raw ``(N, 3, T, 25, M)`` Kinect skeletons in metres. Its front end is
the repository's data pipeline, in torch: zero-pad to 300 frames and 2 bodies, the 2s-AGCN
``pre_normalization`` when the checkpoint was trained on transformed data (the published
cross-view model: ``preprocess='pre_normalization'``; cross-subject: ``'none'``), the
first 288 frames, then the three input streams of its feeder: joints (xyz and xyz minus
the spine joint), velocities (one- and two-frame differences) and bones (vector to the
parent joint and its direction cosines' angles).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ciasa.models.errors import CheckpointError
from ciasa.models.graph import hop_distance
from ciasa.models.ntu_preprocess import body_rows, check_preprocess, fit_clip, pre_normalization
from ciasa.skeleton import NTU_RGBD

# The published configs (2001/2002 and the B-family scaling of the same file).
BASE_BLOCK_ARGS = ((48, 1, 0.5), (24, 1, 0.5), (64, 2, 1), (128, 2, 1))
SCALE_ARGS = (1.2, 1.35)
STEM_CHANNEL = 64
FUSION_STAGE = 2
TEMPORAL_WINDOW = 5
MAX_GRAPH_DISTANCE = 2
REDUCT_RATIO = 2
MAX_HOP = 10
NUM_FRAME = 288  # frames the feeder cuts from the 300 the generator stores
MAX_FRAME = 300
NUM_PERSON = 2
VARIANTS = tuple(f"B{s}" for s in range(5))
# The feeder's bone source joint of each NTU joint (1-based in the public graph code).
NTU_CONNECT_1BASED = (2, 2, 21, 3, 21, 5, 6, 7, 21, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19, 2, 23, 8, 25, 12)


def block_args(variant: str) -> list[tuple[int, int, int]]:
    """``(channels, stride, depth)`` of each block of EfficientGCN-B{s}."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown EfficientGCN variant {variant!r} (use one of {', '.join(VARIANTS)})")
    s = VARIANTS.index(variant)
    width, depth = math.pow(SCALE_ARGS[0], s), math.pow(SCALE_ARGS[1], s)
    return [
        (max(int(round(c * width / 16)) * 16, 16), stride, int(round(d * depth))) for c, stride, d in BASE_BLOCK_ARGS
    ]


def efficientgcn_adjacency(max_distance: int = MAX_GRAPH_DISTANCE) -> np.ndarray:
    """``(max_distance + 1, 25, 25)``: the hop-distance partitions of the normalised NTU graph."""
    v = NTU_RGBD.num_joints
    hop = hop_distance(v, list(NTU_RGBD.graph_edges), MAX_HOP)
    adjacency = (hop <= MAX_HOP).astype(np.float64)
    col = adjacency.sum(axis=0)
    normalised = adjacency / np.where(col > 0, col, 1.0)[None, :]
    parts = np.zeros((max_distance + 1, v, v))
    for d in range(max_distance + 1):
        parts[d][hop == d] = normalised[hop == d]
    return parts.astype(np.float32)


class Swish(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(x)


class SpatialGraphConv(nn.Module):
    """1x1 conv to ``K * C_out`` channels, summed over the K hop partitions of ``A * edge``."""

    def __init__(self, c_in: int, c_out: int, A: np.ndarray):
        super().__init__()
        self.k = A.shape[0]
        self.gcn = nn.Conv2d(c_in, c_out * self.k, 1)
        # Parameters, not buffers: the public code stores A as a frozen parameter.
        self.A = nn.Parameter(torch.tensor(A), requires_grad=False)
        self.edge = nn.Parameter(torch.ones_like(self.A))

    def forward(self, x: Tensor) -> Tensor:
        x = self.gcn(x)
        n, kc, t, v = x.shape
        x = x.view(n, self.k, kc // self.k, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, self.A * self.edge)


class SpatialGraphLayer(nn.Module):
    def __init__(self, c_in: int, c_out: int, A: np.ndarray):
        super().__init__()
        self.conv = SpatialGraphConv(c_in, c_out, A)
        self.bn = nn.BatchNorm2d(c_out)
        self.residual = (
            nn.Identity() if c_in == c_out else nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))
        )
        self.act = Swish()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)) + self.residual(x))


class TemporalBasicLayer(nn.Module):
    """The stem's temporal layer: a full (window x 1) conv, identity residual."""

    def __init__(self, channels: int, window: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, (window, 1), 1, ((window - 1) // 2, 0))
        self.bn = nn.BatchNorm2d(channels)
        self.act = Swish()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)) + x)


def _conv_bn(
    c_in: int, c_out: int, kernel: tuple[int, int] = (1, 1), stride: int = 1, groups: int = 1
) -> nn.Sequential:
    pad = ((kernel[0] - 1) // 2, 0)
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, (stride, 1), pad, groups=groups), nn.BatchNorm2d(c_out))


class TemporalSGLayer(nn.Module):
    """Sandglass temporal layer: depthwise conv, bottleneck in/out, strided depthwise conv."""

    def __init__(self, channels: int, window: int, stride: int, reduct_ratio: int):
        super().__init__()
        inner = channels // reduct_ratio
        self.depth_conv1 = _conv_bn(channels, channels, (window, 1), 1, groups=channels)
        self.point_conv1 = _conv_bn(channels, inner)
        self.point_conv2 = _conv_bn(inner, channels)
        self.depth_conv2 = _conv_bn(channels, channels, (window, 1), stride, groups=channels)
        self.residual = nn.Identity() if stride == 1 else _conv_bn(channels, channels, stride=stride)
        self.act = Swish()

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        x = self.act(self.depth_conv1(x))
        x = self.point_conv1(x)
        x = self.act(self.point_conv2(x))
        return self.depth_conv2(x) + res


class STJointAttention(nn.Module):
    """Attention over frames and joints from the pooled (T + V) descriptors."""

    def __init__(self, channels: int, reduct_ratio: int):
        super().__init__()
        inner = channels // reduct_ratio
        self.fcn = nn.Sequential(nn.Conv2d(channels, inner, 1), nn.BatchNorm2d(inner), nn.Hardswish())
        self.conv_t = nn.Conv2d(inner, channels, 1)
        self.conv_v = nn.Conv2d(inner, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        t, v = x.shape[2], x.shape[3]
        x_t = x.mean(3, keepdim=True)
        x_v = x.mean(2, keepdim=True).transpose(2, 3)
        att = self.fcn(torch.cat([x_t, x_v], dim=2))
        a_t, a_v = torch.split(att, [t, v], dim=2)
        return torch.sigmoid(self.conv_t(a_t)) * torch.sigmoid(self.conv_v(a_v.transpose(2, 3)))


class AttentionLayer(nn.Module):
    def __init__(self, channels: int, reduct_ratio: int):
        super().__init__()
        self.att = STJointAttention(channels, reduct_ratio)
        self.bn = nn.BatchNorm2d(channels)
        self.act = Swish()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(x * self.att(x)) + x)


class EfficientGCNBlocks(nn.Sequential):
    """An input branch (with its BN and stem) or the main stream: scn, tcn x depth, attention per block."""

    def __init__(
        self,
        c_init: int,
        blocks: list[tuple[int, int, int]],
        A: np.ndarray,
        reduct_ratio: int,
        window: int,
        c_input: int = 0,
    ):
        super().__init__()
        if c_input > 0:
            self.add_module("init_bn", nn.BatchNorm2d(c_input))
            self.add_module("stem_scn", SpatialGraphLayer(c_input, c_init, A))
            self.add_module("stem_tcn", TemporalBasicLayer(c_init, window))
        last = c_init
        for i, (channels, stride, depth) in enumerate(blocks):
            self.add_module(f"block-{i}_scn", SpatialGraphLayer(last, channels, A))
            for j in range(depth):
                self.add_module(
                    f"block-{i}_tcn-{j}", TemporalSGLayer(channels, window, stride if j == 0 else 1, reduct_ratio)
                )
            self.add_module(f"block-{i}_att", AttentionLayer(channels, reduct_ratio))
            last = channels


class EfficientGCNClassifier(nn.Module):
    def __init__(self, channels: int, num_class: int):
        super().__init__()
        self.fc = nn.Conv3d(channels, num_class, 1)

    def forward(self, feature: Tensor) -> Tensor:  # (N, C, T, V, M)
        pooled = feature.mean(dim=(2, 3, 4), keepdim=True)
        return self.fc(pooled).flatten(1)


def multi_input(x: Tensor, connect: Tensor) -> Tensor:
    """``(N, 3, T, V, M)`` -> ``(N, 3, 6, T, V, M)``: the feeder's joint, velocity and bone streams.

    Bone lengths use a square root with a finite gradient at zero (the spine joint's
    bone and empty frames are zero vectors); the values equal the feeder's.
    """
    rel = x - x[:, :, :, 1:2]
    joint = torch.cat([x, rel], dim=1)
    t = x.shape[2]
    v1 = F.pad(x[:, :, 1 : t - 1] - x[:, :, : t - 2], (0, 0, 0, 0, 0, 2))
    v2 = F.pad(x[:, :, 2:] - x[:, :, : t - 2], (0, 0, 0, 0, 0, 2))
    velocity = torch.cat([v1, v2], dim=1)
    bone = x - x.index_select(3, connect)
    sq = (bone * bone).sum(dim=1, keepdim=True)
    length = torch.where(sq > 0, torch.sqrt(torch.where(sq > 0, sq, torch.ones_like(sq))), torch.zeros_like(sq)) + 1e-4
    angle = torch.arccos(bone / length)
    return torch.stack([joint, velocity, torch.cat([bone, angle], dim=1)], dim=1)


class EfficientGCN(nn.Module):
    """EfficientGCN-B{s} on raw NTU skeletons (see the module doc).

    Args:
        num_class: action classes (60 for NTU-60).
        variant: 'B0' .. 'B4'.
        preprocess: 'pre_normalization' (the transformed data of the cross-view
            release) or 'none' (raw camera coordinates: the cross-subject release).
        in_channels: coordinates per joint (3).
        num_input: input streams (3: joint, velocity, bone).
        graph_args: ``{'layout': 'ntu-rgb+d'}`` (the only layout the published models use).
        num_frame, max_frame, num_person: the data pipeline's sizes (288, 300, 2).

    Input ``(N, 3, T, 25, M)`` with M <= 2, output logits ``(N, num_class)``.
    """

    def __init__(
        self,
        num_class: int = 60,
        variant: str = "B0",
        preprocess: str | None = "pre_normalization",
        in_channels: int = 3,
        num_input: int = 3,
        graph_args: dict[str, Any] | None = None,
        num_frame: int = NUM_FRAME,
        max_frame: int = MAX_FRAME,
        num_person: int = NUM_PERSON,
    ) -> None:
        super().__init__()
        layout = dict(graph_args or {}).get("layout", NTU_RGBD.name)
        if layout != NTU_RGBD.name:
            raise ValueError(f"EfficientGCN here supports the NTU-25 layout only, not {layout!r}")
        if in_channels != 3 or num_input != 3:
            raise ValueError("EfficientGCN here takes xyz skeletons and the joint/velocity/bone streams")
        self.layout = NTU_RGBD
        self.num_class = num_class
        self.variant = variant
        self.preprocess = check_preprocess(preprocess)
        self.num_frame, self.max_frame, self.num_person = num_frame, max_frame, num_person
        blocks = block_args(variant)
        A = efficientgcn_adjacency()
        branch_blocks, main_blocks = blocks[:FUSION_STAGE], blocks[FUSION_STAGE:]
        self.input_branches = nn.ModuleList(
            EfficientGCNBlocks(STEM_CHANNEL, branch_blocks, A, REDUCT_RATIO, TEMPORAL_WINDOW, c_input=2 * in_channels)
            for _ in range(num_input)
        )
        fused = num_input * branch_blocks[-1][0]
        self.main_stream = EfficientGCNBlocks(fused, main_blocks, A, REDUCT_RATIO, TEMPORAL_WINDOW)
        self.classifier = EfficientGCNClassifier(blocks[-1][0], num_class)
        connect = torch.tensor([j - 1 for j in NTU_CONNECT_1BASED])
        self.register_buffer("connect", connect, persistent=False)

    def front_end(self, x: Tensor) -> Tensor:
        """Raw skeletons -> the network's ``(N, 3, 6, T', V, M)`` input (differentiable)."""
        return self._front_end(self._fit(x))

    def _fit(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.shape[1] != 3 or x.shape[3] != NTU_RGBD.num_joints:
            raise ValueError(f"EfficientGCN expects (N, 3, T, 25, M) skeletons, got shape {tuple(x.shape)}")
        return fit_clip(x, self.max_frame, self.num_person)

    def _front_end(self, x: Tensor) -> Tensor:
        if self.preprocess == "pre_normalization":
            x = pre_normalization(x)
        return multi_input(x[:, :, : self.num_frame], self.connect)

    def features(self, x: Tensor) -> Tensor:
        """The pooled embedding the classifier sees ``(N, C)`` (absent bodies computed once, exact)."""
        x = self._fit(x)
        rows, source = body_rows(x)
        streams = self._front_end(x)
        n, i, c, t, v, m = streams.shape
        streams = streams.permute(1, 0, 5, 2, 3, 4).reshape(i, n * m, c, t, v).index_select(1, rows)
        h = torch.cat([branch(streams[k]) for k, branch in enumerate(self.input_branches)], dim=1)
        h = self.main_stream(h).mean(dim=(2, 3))  # (rows, C): pooled over frames and joints
        return h.index_select(0, source).view(n, m, -1).mean(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x)
        return self.classifier.fc(f[:, :, None, None, None]).flatten(1)

    def extra_repr(self) -> str:
        return f"variant={self.variant!r}, num_class={self.num_class}, preprocess={self.preprocess!r}"


def _preprocess_from_name(path: str | Path) -> str | None:
    """The published releases differ in preprocessing only; their file names say which."""
    name = Path(str(path)).name.lower()
    if "xview" in name or "xset" in name:
        return "pre_normalization"
    if "xsub" in name:
        return "none"
    return None


def efficientgcn_args_from_state_dict(state: Mapping[str, Tensor], path: str | Path = "<state dict>") -> dict[str, Any]:
    """Constructor arguments of a public EfficientGCN state dict, read off its keys and shapes.

    The variant is the B-family member whose block widths and depths match; the
    preprocessing cannot be read off weights: the file name decides ('xview'/'xset' ->
    transformed, 'xsub' -> raw), else it stays unknown and ``preprocess=`` must be given.
    """
    head = "classifier.fc.weight"
    needed = [
        "input_branches.0.init_bn.weight",
        "input_branches.0.stem_scn.conv.A",
        "main_stream.block-0_scn.conv.gcn.weight",
        head,
    ]
    for key in needed:
        if key not in state:
            raise CheckpointError(f"{path}: not an EfficientGCN checkpoint (no {key!r} tensor)")
    num_input = len({k.split(".")[1] for k in state if k.startswith("input_branches.")})
    found: list[tuple[int, int]] = []
    for prefix in ("input_branches.0.", "main_stream."):
        i = 0
        while f"{prefix}block-{i}_scn.bn.weight" in state:
            depth = sum(
                1 for k in state if re.fullmatch(rf"{re.escape(prefix)}block-{i}_tcn-\d+\.depth_conv1\.0\.weight", k)
            )
            found.append((int(state[f"{prefix}block-{i}_scn.bn.weight"].shape[0]), depth))
            i += 1
    variant = next((v for v in VARIANTS if [(c, d) for c, _, d in block_args(v)] == found), None)
    if variant is None:
        raise CheckpointError(
            f"{path}: EfficientGCN blocks (width, depth) {found} match none of the B-family variants {', '.join(VARIANTS)}"
        )
    A = state["input_branches.0.stem_scn.conv.A"]
    expected = efficientgcn_adjacency()
    if tuple(A.shape) != expected.shape:
        raise CheckpointError(
            f"{path}: 'input_branches.0.stem_scn.conv.A' has shape {tuple(A.shape)}; the NTU-25 layout needs {expected.shape}"
        )
    if not np.allclose(A.float().numpy(), expected, atol=1e-5):
        raise CheckpointError(f"{path}: 'input_branches.0.stem_scn.conv.A' is not the NTU-25 graph of EfficientGCN")
    return {
        "num_class": int(state[head].shape[0]),
        "variant": variant,
        "preprocess": _preprocess_from_name(path),
        "in_channels": int(state["input_branches.0.init_bn.weight"].shape[0]) // 2,
        "num_input": num_input,
        "graph_args": {"layout": NTU_RGBD.name},
    }


def build_efficientgcn(**model_args: Any) -> EfficientGCN:
    if model_args.get("preprocess", "pre_normalization") is None:
        raise CheckpointError(
            "the EfficientGCN checkpoint does not say which NTU preprocessing its training data had: pass "
            "preprocess='pre_normalization' (cross-view release) or 'none' (cross-subject), or keep "
            "'xview' / 'xsub' in the file name"
        )
    return EfficientGCN(**model_args)


def _register() -> None:
    from ciasa.models.registry import register_model

    register_model("efficientgcn", build_efficientgcn, efficientgcn_args_from_state_dict)


_register()
