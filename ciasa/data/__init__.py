"""Skeleton data: the ST-GCN layout on disk, readers for NTU / pyskl / Kinetics-skeleton
files, converters, and the embedded synthetic NTU-like data set.

Each submodule imports only what it needs, so ``import ciasa.data`` stays cheap.
"""

from ciasa.data.kinetics import read_kinetics_json
from ciasa.data.ntu import NTU_ACTIONS, parse_sample_name
from ciasa.data.ntu_raw import read_ntu_skeleton
from ciasa.data.pyskl import read_pyskl
from ciasa.data.stgcn import SkeletonSet, load_split, save_split, validate_skeletons

__all__ = [
    "NTU_ACTIONS",
    "SkeletonSet",
    "load_split",
    "parse_sample_name",
    "read_kinetics_json",
    "read_ntu_skeleton",
    "read_pyskl",
    "save_split",
    "validate_skeletons",
]
