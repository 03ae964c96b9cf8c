"""A small architecture registry: ``build_model('stgcn', **model_args)``.

Each entry names the model class and, when the architecture has public weights
published as plain state dicts, a function that reads its constructor arguments
off the tensor shapes (see :func:`stgcn_args_from_state_dict`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ciasa.cli import UnknownName
from ciasa.models.errors import CheckpointError
from ciasa.models.st_gcn import STGCN
from ciasa.skeleton import LAYOUTS

StateDictReader = Callable[[Mapping[str, torch.Tensor], "str | Path"], dict[str, Any]]


@dataclass(frozen=True)
class ArchSpec:
    name: str
    cls: Callable[..., nn.Module]  # a model class or a builder function
    from_state_dict: StateDictReader | None = None


_ARCHS: dict[str, ArchSpec] = {}
# Architectures whose module registers itself on import; imported on first use so that
# ``import ciasa.models`` stays light and ``load_model`` still finds every architecture.
_LAZY = {
    "agcn": "ciasa.models.agcn",
    "agcn_bone": "ciasa.models.agcn",
    "agcn_2s": "ciasa.models.agcn",
    "pa_lstm": "ciasa.models.pa_lstm",
    "efficientgcn": "ciasa.models.efficientgcn",
    "shift_gcn": "ciasa.models.shift_gcn",
    "shift_gcn_bone": "ciasa.models.shift_gcn",
}
# Keys that only one family of public state dicts has, for telling a plain state dict's
# architecture when the user names none. Joint and bone streams share their keys: the
# file name decides ('bone' in it -> the bone stream), as the public releases name them.
_SIGNATURES = (
    ("st_gcn_networks.0.gcn.conv.weight", "stgcn", None),
    ("joint.l1.gcn1.PA", "agcn_2s", None),
    ("l1.gcn1.PA", "agcn", "agcn_bone"),
    ("l1.gcn1.Feature_Mask", "shift_gcn", "shift_gcn_bone"),
    ("input_branches.0.init_bn.weight", "efficientgcn", None),
)
DEFAULT_ARCH = "stgcn"


def register_model(name: str, cls: Callable[..., nn.Module], from_state_dict: StateDictReader | None = None) -> None:
    """Add an architecture (other model files call this at import)."""
    _ARCHS[name] = ArchSpec(name, cls, from_state_dict)


def get_arch(name: str) -> ArchSpec:
    if name not in _ARCHS and name in _LAZY:
        importlib.import_module(_LAZY[name])
    try:
        return _ARCHS[name]
    except KeyError:
        raise UnknownName(f"unknown model architecture {name!r} (known: {', '.join(sorted(_ARCHS))})") from None


def available_archs() -> list[str]:
    return sorted(set(_ARCHS) | set(_LAZY))


def detect_arch(state: Mapping[str, torch.Tensor], path: str | Path = "<state dict>") -> str:
    """The architecture of a plain public state dict, by its keys (ST-GCN when none matches,
    so that its reader names the missing key)."""
    bone = "bone" in Path(str(path)).name.lower()
    for key, arch, bone_arch in _SIGNATURES:
        if key in state:
            return bone_arch if bone and bone_arch else arch
    return DEFAULT_ARCH


def build_model(arch: str, **model_args: Any) -> nn.Module:
    return get_arch(arch).cls(**model_args)


_STRATEGY_BY_K = {1: "uniform", 3: "spatial"}  # K=2 is 'distance' with max_hop 1


def stgcn_args_from_state_dict(state: Mapping[str, torch.Tensor], path: str | Path = "<state dict>") -> dict[str, Any]:
    """Constructor arguments of an ST-GCN state dict in the official key layout."""

    for key in ("A", "data_bn.weight", "st_gcn_networks.0.gcn.conv.weight", "fcn.weight"):
        if key not in state:
            raise CheckpointError(f"{path}: not an ST-GCN checkpoint (no {key!r} tensor)")
    A = state["A"]
    if A.dim() != 3 or A.shape[1] != A.shape[2]:
        raise CheckpointError(f"{path}: 'A' has shape {tuple(A.shape)}, expected (K, V, V)")
    K, V = int(A.shape[0]), int(A.shape[1])
    layouts = [name for name, layout in LAYOUTS.items() if layout.num_joints == V]
    if not layouts:
        raise CheckpointError(f"{path}: graph has {V} joints; no known layout has that many")
    strategy = _STRATEGY_BY_K.get(K, "distance")
    conv0 = state["st_gcn_networks.0.gcn.conv.weight"]
    return {
        "in_channels": int(state["data_bn.weight"].shape[0]) // V,
        "num_class": int(state["fcn.weight"].shape[0]),
        "graph_args": {"layout": layouts[0], "strategy": strategy},
        "edge_importance_weighting": "edge_importance.0" in state,
        "base_channels": int(conv0.shape[0]) // K,
    }


register_model("stgcn", STGCN, stgcn_args_from_state_dict)
