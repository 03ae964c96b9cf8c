"""Skeleton action recognition models.

``build_model(arch, **model_args)`` builds a registered architecture ('stgcn'; 'agcn', 'agcn_bone',
'agcn_2s' and 'pa_lstm' are imported on first use);
``load_model(path)`` rebuilds one from our checkpoint or an official state dict.
"""

from ciasa.models.checkpoint import load_model, save_checkpoint
from ciasa.models.errors import CheckpointError
from ciasa.models.graph import Graph
from ciasa.models.registry import available_archs, build_model, get_arch, register_model
from ciasa.models.st_gcn import STGCN

__all__ = [
    "STGCN",
    "CheckpointError",
    "Graph",
    "available_archs",
    "build_model",
    "get_arch",
    "load_model",
    "register_model",
    "save_checkpoint",
]
