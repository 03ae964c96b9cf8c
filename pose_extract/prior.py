"""The body-size prior: how long a typical filmed person's limbs are, in Kinect terms.

A single camera cannot tell a large body far away from a small one nearby; MediaPipe
resolves that with its own idea of human size, which need not be the population the
camera films. A prior is the mean length of :data:`pose_extract.lifting.SIZE_SEGMENTS`
over a population's skeletons. It is a property of the *population* (e.g. a training
set's subjects), never of the clip being extracted.

It is off by default (``--body-prior none``): it only works where MediaPipe's depth
follows its own limb lengths, which holds on renders of the synthetic set (there it
removes a 10 % too-near root) but not on renders of real motion, where it moved the
root ~0.5 m too far (docs/pose_extract.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.io import atomic_write_json, read_json
from pose_extract.lifting import SIZE_SEGMENTS, segment_lengths

PRIOR_FORMAT = "pose-extract-body-prior/1"


@dataclass(frozen=True)
class BodyPrior:
    lengths: np.ndarray  # (S,) metres, one per SIZE_SEGMENTS entry
    source: str

    @property
    def total(self) -> float:
        return float(self.lengths.sum())

    def to_json(self) -> dict:
        return {
            "format": PRIOR_FORMAT,
            "source": self.source,
            "segments": [list(s) for s in SIZE_SEGMENTS],
            "lengths": [round(float(x), 5) for x in self.lengths],
        }

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> BodyPrior:
        path = Path(path)
        d = read_json(path, "body prior file")
        if d.get("format") != PRIOR_FORMAT:
            raise BadInput(f"{path}: format is {d.get('format')!r}, expected {PRIOR_FORMAT!r}")
        if [tuple(s) for s in d.get("segments", [])] != list(SIZE_SEGMENTS):
            raise BadInput(f"{path}: the prior's segments differ from this version's {SIZE_SEGMENTS}")
        lengths = np.asarray(d["lengths"], dtype=np.float64)
        if not (np.all(np.isfinite(lengths)) and np.all(lengths > 0)):
            raise BadInput(f"{path}: segment lengths must be positive numbers")
        return cls(lengths, str(d.get("source", path)))


def prior_from_skeletons(data: np.ndarray, source: str) -> BodyPrior:
    """Mean segment lengths over every non-empty body-frame of NTU skeletons (N, C, T, 25, M)."""
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 5 or x.shape[1] != 3 or x.shape[3] != 25:
        raise BadInput(f"{source}: expected NTU skeletons (N, 3, T, 25, M), got shape {x.shape}")
    joints = np.moveaxis(x, 1, -1)  # (N, T, V, M, 3)
    joints = np.moveaxis(joints, 3, 2).reshape(-1, 25, 3)  # (N*T*M, V, 3)
    present = np.abs(joints).sum(axis=(1, 2)) > 0
    if not present.any():
        raise BadInput(f"{source}: no non-empty frame to measure")
    lengths = segment_lengths(joints[present])
    return BodyPrior(np.median(lengths, axis=0), source)


# A typical adult in Kinect v2 joint terms (metres): the median over the synthetic set's
# cross-view training split (statures 1.55-1.90 m, segment proportions after Drillis &
# Contini placed at Kinect's joints; total ~4.2 m), measured by
# benchmarks/fit_pose_artefacts.py, which also records the samples it saw (fit_samples).
# For another population, measure its own prior (`python -m pose_extract prior`).
DEFAULT_PRIOR_PATH = Path(__file__).resolve().parent / "models" / "body_prior_default.json"
DEFAULT_PRIOR = BodyPrior.load(DEFAULT_PRIOR_PATH)


def resolve_prior(spec: str | Path | BodyPrior | None) -> BodyPrior | None:
    """'default' -> :data:`DEFAULT_PRIOR`; 'none'/None -> no correction; else a JSON file."""
    if isinstance(spec, BodyPrior) or spec is None:
        return spec
    if str(spec) == "default":
        return DEFAULT_PRIOR
    if str(spec) == "none":
        return None
    return BodyPrior.load(spec)
