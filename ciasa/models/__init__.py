"""Skeleton action recognition models.

``build_model(arch, **model_args)`` builds a registered architecture ('stgcn'; 'agcn', 'agcn_bone',
'agcn_2s', 'pa_lstm' and the published NTU-60 models 'efficientgcn', 'shift_gcn',
'shift_gcn_bone' are imported on first use);
``load_model(path)`` rebuilds one from our checkpoint or an official state dict (its
architecture read off its keys).
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
