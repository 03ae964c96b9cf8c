"""2s-AGCN (Shi, Zhang, Cheng, Lu, CVPR 2019): two-stream adaptive graph convolutional network.

A transfer target for CIASA perturbations made against ST-GCN. The network is ST-GCN's
ten-block layout with the fixed graph replaced by an *adaptive* one: in every block and
for every subset k of the partition,

    A_k + B_k + C_k(x),   C_k(x) = softmax(theta_k(x)^T phi_k(x))

with ``A_k`` the fixed normalised adjacency, ``B_k`` a free learned (V, V) matrix and
``C_k`` a per-sample joint-to-joint similarity from two 1x1 embedding convolutions.
The *bone* stream feeds bone vectors (joint minus its source joint) instead of joint
positions; the two-stream model adds the two streams' scores.

Module and parameter names follow the public implementation (lshiwjx/2s-AGCN,
``model/agcn.py``) so its checkpoints load with ``strict=True``: ``data_bn``,
``l1`` .. ``l10`` (each ``gcn1`` = ``PA``, ``conv_a.k``, ``conv_b.k``, ``conv_d.k``,
``bn``, ``down.{0,1}``; ``tcn1`` = ``conv``, ``bn``; ``residual.{conv,bn}``), ``fc``.
The fixed adjacency is a non-persistent buffer, as in the public code (where it is not
part of the state dict either). See docs/transfer.md for the key mapping.

Everything is batched and differentiable with respect to the input skeleton, because
the transfer experiment and the attacks back-propagate to the joints.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ciasa.models.graph import Graph, normalize_digraph
from ciasa.models.residual import ResidualBlock
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18, SkeletonLayout, get_layout

# Block widths as multiples of base_channels and their temporal strides (public: base 64).
BLOCK_WIDTHS = (1, 1, 1, 1, 2, 2, 2, 4, 4, 4)
BLOCK_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)
TEMPORAL_KERNEL = 9
COFF_EMBEDDING = 4  # embedding width = out_channels // 4, as in the public code
# "spatial" is the public code's labeling mode of that name; "stgcn-spatial" is ST-GCN's partition.
GRAPH_STRATEGIES = ("spatial", "stgcn-spatial")

# Bone pairing of the public 2s-AGCN data generator (``data_gen/gen_bone_data.py``):
# ``(v1, v2)`` means ``bone[v1] = joint[v1] - joint[v2]``. NTU pairs are 1-based there;
# the centre joint (spine shoulder, 21) pairs with itself, so its bone is zero.
# They are ST-GCN's NTU graph edges (child, parent), defined once in ciasa.skeleton, plus the centre.
NTU_BONE_PAIRS_1BASED: tuple[tuple[int, int], ...] = (
    *((child + 1, parent + 1) for child, parent in NTU_RGBD.graph_edges),
    (21, 21),
)
# Kinetics (OpenPose-18) pairs, 0-based in the public code; the nose pairs with itself.
OPENPOSE_BONE_PAIRS: tuple[tuple[int, int], ...] = (
    (0, 0),
    (1, 0),
    (2, 1),
    (3, 2),
    (4, 3),
    (5, 1),
    (6, 5),
    (7, 6),
    (8, 2),
    (9, 8),
    (10, 9),
    (11, 5),
    (12, 11),
    (13, 12),
    (14, 0),
    (15, 0),
    (16, 14),
    (17, 15),
)


def bone_source_index(layout: str | SkeletonLayout) -> tuple[int, ...]:
    """``src[v]``: the joint subtracted from joint ``v`` to form its bone (0-based)."""
    layout = get_layout(layout)
    if layout.name == NTU_RGBD.name:
        pairs = [(a - 1, b - 1) for a, b in NTU_BONE_PAIRS_1BASED]
    elif layout.name == OPENPOSE_18.name:
        pairs = list(OPENPOSE_BONE_PAIRS)
    else:
        raise KeyError(f"no 2s-AGCN bone pairing for layout {layout.name!r}")
    src = [-1] * layout.num_joints
    for v1, v2 in pairs:
        src[v1] = v2
    if -1 in src:
        raise AssertionError(f"bone pairing of {layout.name} misses joint {src.index(-1)}")
    return tuple(src)


def joints_to_bones(x: torch.Tensor, src: torch.Tensor | tuple[int, ...]) -> torch.Tensor:
    """Bone vectors ``x[..., v, :] - x[..., src[v], :]`` of ``(N, C, T, V, M)`` skeletons.

    A fixed linear map, so gradients flow back to the joints. Every channel is
    differenced, as the public generator does (for OpenPose input that includes the
    confidence channel).
    """
    src = torch.as_tensor(src, dtype=torch.long, device=x.device)
    return x - x.index_select(3, src)


def agcn_adjacency(layout: str | SkeletonLayout, strategy: str = "spatial") -> np.ndarray:
    """The fixed ``(3, V, V)`` adjacency ``A`` of the adaptive graph convolution.

    'spatial' is the public 2s-AGCN graph (its ``labeling_mode: spatial``): identity,
    the inward (towards the centre) edges and the outward edges, each column-normalised. Its checkpoints were
    trained with it, so it is the default. 'stgcn-spatial' reuses ST-GCN's spatial
    partition (:class:`ciasa.models.graph.Graph`), which also has K = 3 subsets but
    normalises the whole neighbourhood before splitting it.

    ``layout.graph_edges`` lists every edge as (joint further from the centre, joint
    closer to it) for both layouts, i.e. in 2s-AGCN's "inward" orientation.
    """
    layout = get_layout(layout)
    if strategy == "stgcn-spatial":
        return Graph(layout, strategy="spatial").A.astype(np.float32)
    if strategy != "spatial":
        raise ValueError(f"unknown 2s-AGCN graph strategy {strategy!r} (known: {', '.join(GRAPH_STRATEGIES)})")
    v = layout.num_joints
    inward = np.zeros((v, v))
    for i, j in layout.graph_edges:
        inward[j, i] = 1.0  # edge2mat: column i (source) -> row j (destination)
    outward = inward.T.copy()
    return np.stack([np.eye(v), normalize_digraph(inward), normalize_digraph(outward)]).astype(np.float32)


def _conv_init(conv: nn.Conv2d) -> None:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0.0)


def _bn_init(bn: nn.modules.batchnorm._BatchNorm, scale: float) -> None:
    nn.init.constant_(bn.weight, scale)
    nn.init.constant_(bn.bias, 0.0)


class UnitTCN(nn.Module):
    """Temporal convolution (kernel x 1, strided) + BN. Public name: ``unit_tcn``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = TEMPORAL_KERNEL, stride: int = 1):
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel_size, 1), (stride, 1), (pad, 0))
        self.bn = nn.BatchNorm2d(out_channels)
        _conv_init(self.conv)
        _bn_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class AdaptiveGraphConv(nn.Module):
    """Adaptive graph convolution over the K subsets of ``A``. Public name: ``unit_gcn``.

    For subset k: ``C_k = softmax_over_source(theta_k(x)^T phi_k(x) / (C_e T))``
    (``conv_a`` = theta, ``conv_b`` = phi), then
    ``y += conv_d[k](x @ (A_k + PA_k + C_k))``; finally BN, plus a (1x1 conv + BN)
    shortcut when the width changes, ReLU. ``PA`` is the free matrix B.
    """

    def __init__(self, in_channels: int, out_channels: int, A: np.ndarray, coff_embedding: int = COFF_EMBEDDING):
        super().__init__()
        self.num_subset = A.shape[0]
        self.inter_c = max(1, out_channels // coff_embedding)
        # public code: PA starts at a constant 1e-6 (effectively the zero init of the paper)
        self.PA = nn.Parameter(torch.full(A.shape, 1e-6, dtype=torch.float32))
        self.register_buffer("A", torch.tensor(A, dtype=torch.float32), persistent=False)
        self.conv_a = nn.ModuleList([nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(self.num_subset)])
        self.conv_b = nn.ModuleList([nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(self.num_subset)])
        self.conv_d = nn.ModuleList([nn.Conv2d(in_channels, out_channels, 1) for _ in range(self.num_subset)])
        if in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        else:
            self.down = None
        self.bn = nn.BatchNorm2d(out_channels)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                _bn_init(m, 1.0)
        _bn_init(self.bn, 1e-6)
        for conv in self.conv_d:  # public conv_branch_init
            n, k1, k2 = conv.weight.shape[0], conv.weight.shape[1], conv.weight.shape[2]
            nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / (n * k1 * k2 * self.num_subset)))
            nn.init.constant_(conv.bias, 0.0)

    def adaptive_graph(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """The data-dependent matrix ``C_k`` (N, V, V) of subset ``k``; columns sum to 1."""
        N, _, T, V = x.shape
        theta = self.conv_a[k](x).permute(0, 3, 1, 2).reshape(N, V, self.inter_c * T)
        phi = self.conv_b[k](x).reshape(N, self.inter_c * T, V)
        return torch.softmax(torch.bmm(theta, phi) / theta.shape[-1], dim=-2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, T, V = x.shape
        A = self.A + self.PA
        flat = x.reshape(N, C * T, V)
        y = None
        for k in range(self.num_subset):
            graph = self.adaptive_graph(x, k) + A[k]
            z = self.conv_d[k](torch.bmm(flat, graph).view(N, C, T, V))
            y = z if y is None else y + z
        y = self.bn(y)
        y = y + (x if self.down is None else self.down(x))
        return F.relu(y)


class AGCNBlock(ResidualBlock):
    """Adaptive GCN -> temporal conv, plus residual, ReLU. Public name: ``TCN_GCN_unit``."""

    def __init__(self, in_channels: int, out_channels: int, A: np.ndarray, stride: int = 1, residual: bool = True):
        super().__init__()
        self.gcn1 = AdaptiveGraphConv(in_channels, out_channels, A)
        self.tcn1 = UnitTCN(out_channels, out_channels, stride=stride)
        self.init_residual(
            in_channels,
            out_channels,
            stride,
            residual,
            lambda: UnitTCN(in_channels, out_channels, kernel_size=1, stride=stride),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.add_residual(self.tcn1(self.gcn1(x)), x)


class AGCN(nn.Module):
    """One stream of 2s-AGCN on joint positions (Js-AGCN).

    Args:
        in_channels: coordinate channels C (3: NTU x, y, z or OpenPose x, y, score).
        num_class: number of action classes.
        graph_args: ``{'layout': 'ntu-rgb+d' | 'openpose', 'strategy': 'spatial'
            (public 2s-AGCN graph, default) | 'stgcn-spatial'}``.
        num_person: bodies M the input BatchNorm is sized for (public: 2). Input with
            fewer bodies is padded with zero bodies, as the public data preparation does.
        base_channels: width of the first blocks (public 64); blocks use
            ``base * (1,1,1,1,2,2,2,4,4,4)`` channels, stride 2 at blocks 5 and 8.
        dropout: dropout before the classifier (public 2s-AGCN: none; its successor
            MS-AAGCN has one here).

    Input ``(N, C, T, V, M)``, output logits ``(N, num_class)``; the input BN runs over
    M*V*C features per frame (unlike ST-GCN's per-body V*C).

    Example::

        model = AGCN(3, 60, {'layout': 'ntu-rgb+d'}, num_person=2)
        logits = model(torch.zeros(2, 3, 64, 25, 2))
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_class: int = 60,
        graph_args: dict[str, Any] | None = None,
        num_person: int = 2,
        base_channels: int = 64,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unknown arguments: {', '.join(sorted(kwargs))}")
        graph_args = dict(graph_args or {})
        self.layout = get_layout(graph_args.pop("layout", NTU_RGBD.name))
        self.strategy = graph_args.pop("strategy", "spatial")
        if graph_args:
            raise TypeError(f"unknown graph_args for 2s-AGCN: {', '.join(sorted(graph_args))}")
        A = agcn_adjacency(self.layout, self.strategy)
        self.in_channels = in_channels
        self.num_class = num_class
        self.num_person = num_person
        self.base_channels = base_channels
        V = self.layout.num_joints
        self.data_bn = nn.BatchNorm1d(num_person * in_channels * V)
        _bn_init(self.data_bn, 1.0)
        widths = [base_channels * w for w in BLOCK_WIDTHS]
        c_in = in_channels
        for i, (c_out, stride) in enumerate(zip(widths, BLOCK_STRIDES), start=1):
            setattr(self, f"l{i}", AGCNBlock(c_in, c_out, A, stride=stride, residual=i > 1))
            c_in = c_out
        self.feature_dim = widths[-1]
        self.drop_out = nn.Dropout(dropout)
        self.fc = nn.Linear(self.feature_dim, num_class)
        nn.init.normal_(self.fc.weight, 0.0, math.sqrt(2.0 / num_class))

    @property
    def blocks(self) -> list[AGCNBlock]:
        return [getattr(self, f"l{i}") for i in range(1, len(BLOCK_WIDTHS) + 1)]

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        """Validate the input shape; pad missing bodies with zeros (up to ``num_person``)."""
        if x.dim() != 5:
            raise ValueError(f"{type(self).__name__} expects (N, C, T, V, M) input, got shape {tuple(x.shape)}")
        _, C, _, V, M = x.shape
        if C != self.in_channels or V != self.layout.num_joints or M > self.num_person:
            raise ValueError(
                f"{type(self).__name__} ({self.layout.name}) expects C={self.in_channels}, "
                f"V={self.layout.num_joints}, M<={self.num_person}; got (N, C, T, V, M) = {tuple(x.shape)}"
            )
        return F.pad(x, (0, self.num_person - M)) if M < self.num_person else x

    def stream_input(self, x: torch.Tensor) -> torch.Tensor:
        """What this stream feeds its network: the joints themselves (bone stream: bones)."""
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embedding ``(N, 4 * base_channels)``: what the classifier head sees."""
        x = self.stream_input(self._check(x))
        N, C, T, V, M = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(N, M * V * C, T)
        x = self.data_bn(x)
        x = x.view(N, M, V, C, T).permute(0, 1, 3, 4, 2).reshape(N * M, C, T, V)
        for block in self.blocks:
            x = block(x)
        return x.reshape(N, M, x.shape[1], -1).mean(3).mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop_out(self.features(x)))

    def extra_repr(self) -> str:
        return (
            f"layout={self.layout.name!r}, strategy={self.strategy!r}, in_channels={self.in_channels}, "
            f"num_class={self.num_class}, num_person={self.num_person}, base_channels={self.base_channels}"
        )


class AGCNBone(AGCN):
    """The bone stream (Bs-AGCN): the same network fed bone vectors.

    It takes *joint* skeletons and forms the bones inside ``forward`` (2s-AGCN's NTU /
    Kinetics pairing), so perturbations of the joints reach it through a
    differentiable transform. The state dict is the plain AGCN's, so a public
    bone-stream checkpoint loads as is.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("bone_src", torch.tensor(bone_source_index(self.layout)), persistent=False)

    def stream_input(self, x: torch.Tensor) -> torch.Tensor:
        return joints_to_bones(x, self.bone_src)


class TwoStreamAGCN(nn.Module):
    """2s-AGCN: the joint and bone streams' scores added (``joint + alpha * bone``).

    Both sub-models take joint skeletons ``(N, C, T, V, M)``. Build it from two trained
    streams with :meth:`from_streams`, or from two checkpoints with
    :func:`load_two_stream`. State-dict keys are ``joint.*`` and ``bone.*``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_class: int = 60,
        graph_args: dict[str, Any] | None = None,
        num_person: int = 2,
        base_channels: int = 64,
        dropout: float = 0.0,
        alpha: float = 1.0,
    ) -> None:
        super().__init__()
        self.joint = AGCN(in_channels, num_class, graph_args, num_person, base_channels, dropout)
        self.bone = AGCNBone(in_channels, num_class, graph_args, num_person, base_channels, dropout)
        self.alpha = alpha
        self.layout = self.joint.layout
        self.num_class = num_class
        self.in_channels = in_channels

    @classmethod
    def from_streams(cls, joint: AGCN, bone: AGCNBone, alpha: float = 1.0) -> TwoStreamAGCN:
        if isinstance(joint, AGCNBone) or not isinstance(joint, AGCN) or not isinstance(bone, AGCNBone):
            raise TypeError("from_streams needs a joint-stream AGCN and a bone-stream AGCNBone")
        if joint.num_class != bone.num_class or joint.layout.name != bone.layout.name:
            raise ValueError(
                f"streams disagree: joint ({joint.layout.name}, {joint.num_class} classes) vs "
                f"bone ({bone.layout.name}, {bone.num_class} classes)"
            )
        model = cls.__new__(cls)
        nn.Module.__init__(model)
        model.joint, model.bone, model.alpha = joint, bone, alpha
        model.layout, model.num_class, model.in_channels = joint.layout, joint.num_class, joint.in_channels
        return model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.joint(x) + self.alpha * self.bone(x)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


# ---------------------------------------------------------------- registry entries
# ``python -m ciasa.train`` hands every architecture ST-GCN-style arguments; the ones
# that have no meaning here are dropped: ``edge_importance_weighting`` (the learned free
# matrix ``PA`` plays that role in 2s-AGCN).
_STGCN_ONLY = ("edge_importance_weighting",)


def _own_args(model_args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model_args.items() if k not in _STGCN_ONLY}


def build_agcn(**model_args: Any) -> AGCN:
    """Registry entry 'agcn' (joint stream, Js-AGCN)."""
    return AGCN(**_own_args(model_args))


def build_agcn_bone(**model_args: Any) -> AGCNBone:
    """Registry entry 'agcn_bone' (bone stream, Bs-AGCN; takes joints, forms bones inside)."""
    return AGCNBone(**_own_args(model_args))


def build_agcn_2s(**model_args: Any) -> TwoStreamAGCN:
    """Registry entry 'agcn_2s' (both streams, scores added)."""
    return TwoStreamAGCN(**_own_args(model_args))


def agcn_args_from_state_dict(state: Any, path: Any = "<state dict>", prefix: str = "") -> dict[str, Any]:
    """Constructor arguments of a public 2s-AGCN stream state dict, read off its tensor shapes."""
    from ciasa.models.errors import CheckpointError

    needed = [prefix + k for k in ("data_bn.weight", "l1.gcn1.PA", "l1.gcn1.conv_d.0.weight", "fc.weight")]
    for key in needed:
        if key not in state:
            raise CheckpointError(f"{path}: not a 2s-AGCN checkpoint (no {key!r} tensor)")
    PA, conv_d = state[prefix + "l1.gcn1.PA"], state[prefix + "l1.gcn1.conv_d.0.weight"]
    V, C = int(PA.shape[-1]), int(conv_d.shape[1])
    layouts = [layout.name for layout in (NTU_RGBD, OPENPOSE_18) if layout.num_joints == V]
    if not layouts:
        raise CheckpointError(f"{path}: graph has {V} joints; no known layout has that many")
    bn = int(state[prefix + "data_bn.weight"].shape[0])
    if bn % (V * C):
        raise CheckpointError(f"{path}: data_bn has {bn} features, not a multiple of V*C = {V * C}")
    return {
        "in_channels": C,
        "num_class": int(state[prefix + "fc.weight"].shape[0]),
        "graph_args": {"layout": layouts[0], "strategy": "spatial"},
        "num_person": bn // (V * C),
        "base_channels": int(conv_d.shape[0]),
    }


def agcn_2s_args_from_state_dict(state: Any, path: Any = "<state dict>") -> dict[str, Any]:
    return agcn_args_from_state_dict(state, path, prefix="joint.")


def load_two_stream(
    joint_checkpoint: Any,
    bone_checkpoint: Any,
    device: str | torch.device = "auto",
    alpha: float = 1.0,
    **overrides: Any,
) -> tuple[TwoStreamAGCN, dict[str, Any]]:
    """2s-AGCN from two checkpoints (ours, or public plain state dicts of each stream)."""
    from ciasa.models.checkpoint import CheckpointError, load_model, read_checkpoint

    def _load(path: Any, arch: str) -> tuple[nn.Module, dict[str, Any]]:
        ours = read_checkpoint(path).get("format") is not None
        return load_model(path, device=device, **({} if ours else {"arch": arch}), **overrides)

    joint, jmeta = _load(joint_checkpoint, "agcn")
    bone, bmeta = _load(bone_checkpoint, "agcn_bone")
    if type(joint) is not AGCN:
        raise CheckpointError(f"{joint_checkpoint}: holds a {jmeta['arch']!r} model, not a joint-stream 'agcn'")
    if not isinstance(bone, AGCNBone):
        raise CheckpointError(f"{bone_checkpoint}: holds a {bmeta['arch']!r} model, not a bone-stream 'agcn_bone'")
    if jmeta["class_names"] != bmeta["class_names"]:
        raise CheckpointError(f"{joint_checkpoint} and {bone_checkpoint}: the streams have different class lists")
    model = TwoStreamAGCN.from_streams(joint, bone, alpha).eval()
    meta = dict(jmeta, arch="agcn_2s", path=f"{jmeta['path']}+{bmeta['path']}", streams=[jmeta, bmeta])
    return model, meta


def _register() -> None:
    from ciasa.models.registry import register_model

    register_model("agcn", build_agcn, agcn_args_from_state_dict)
    register_model("agcn_bone", build_agcn_bone, agcn_args_from_state_dict)
    register_model("agcn_2s", build_agcn_2s, agcn_2s_args_from_state_dict)


_register()
