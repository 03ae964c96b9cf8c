"""Reader for pyskl / mmaction2 skeleton annotation pickles.

The pickle holds ``{'split': {name: [frame_dir, ...]}, 'annotations': [ann, ...]}``;
each annotation has ``frame_dir`` (the sample name), ``label``, ``keypoint``
``(M, T, V, C)``, ``total_frames`` and for 2-D data ``keypoint_score`` ``(M, T, V)``.
We return ST-GCN clips ``(C, T, V, M)``; a 2-D keypoint array with scores becomes
``(x, y, score)``, three channels. Only joint layouts :mod:`ciasa.skeleton` knows are
accepted (NTU-25 3-D, OpenPose-18); pyskl's COCO-17 2-D annotations are not.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.skeleton import LAYOUTS


@dataclass
class Annotation:
    name: str
    label: int
    clip: np.ndarray  # (C, T, V, M) float32
    layout: str


def load_pyskl(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: annotation file not found")
    try:
        with path.open("rb") as f:
            obj = pickle.load(f)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError) as err:
        raise BadInput(f"{path}: not a readable annotation pickle: {err}") from None
    if isinstance(obj, list):  # older mmaction2 files: a bare list of annotations
        obj = {"annotations": obj}
    if not isinstance(obj, dict) or "annotations" not in obj:
        raise BadInput(f"{path}: expected a dict with 'annotations' (and 'split'), got {type(obj).__name__}")
    return obj


def read_pyskl(path: str | Path, split: str | None = None) -> list[Annotation]:
    """The annotations of ``split`` (all when None), in the order the split lists them."""
    path = Path(path)
    obj = load_pyskl(path)
    anns = obj["annotations"]
    if split is not None:
        splits = obj.get("split")
        if not isinstance(splits, dict):
            raise BadInput(f"{path}: has no 'split' dict, cannot select split {split!r}")
        if split not in splits:
            raise BadInput(f"{path}: no split {split!r} (has: {', '.join(map(str, splits))})")
        by_name = {a.get("frame_dir"): a for a in anns if isinstance(a, dict)}
        missing = [n for n in splits[split] if n not in by_name]
        if missing:
            raise BadInput(
                f"{path}: split {split!r} names {len(missing)} samples without an annotation, e.g. {missing[0]!r}"
            )
        anns = [by_name[n] for n in splits[split]]
    return [_convert(a, path, i) for i, a in enumerate(anns)]


def _convert(ann: object, path: Path, index: int) -> Annotation:
    where = f"{path}: annotation {index}"
    if not isinstance(ann, dict):
        raise BadInput(f"{where}: expected a dict, got {type(ann).__name__}")
    for key in ("frame_dir", "label", "keypoint"):
        if key not in ann:
            raise BadInput(f"{where}: missing key {key!r}")
    name = str(ann["frame_dir"])
    where = f"{path}: sample {name}"
    label = ann["label"]
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        label = int(label)
    if not isinstance(label, (int, np.integer)) or label < 0:
        raise BadInput(f"{where}: label must be a non-negative integer, got {label!r}")
    kp = np.asarray(ann["keypoint"], dtype=np.float32)
    if kp.ndim != 4:
        raise BadInput(f"{where}: keypoint must be (M, T, V, C), got shape {kp.shape}")
    m, t, v, c = kp.shape
    total = ann.get("total_frames", t)
    if int(total) != t:
        raise BadInput(f"{where}: total_frames is {total} but keypoint holds {t} frames")
    if t == 0 or m == 0:
        raise BadInput(f"{where}: empty sequence (keypoint shape {kp.shape})")
    layout = next((lay for lay in LAYOUTS.values() if lay.num_joints == v), None)
    if layout is None:
        known = ", ".join(f"{lay.name} ({lay.num_joints})" for lay in LAYOUTS.values())
        raise BadInput(f"{where}: {v} joints per body, but the known layouts have {known}")
    if c == 2 and "keypoint_score" in ann:
        score = np.asarray(ann["keypoint_score"], dtype=np.float32)
        if score.shape != kp.shape[:3]:
            raise BadInput(f"{where}: keypoint_score shape {score.shape} does not match keypoint {kp.shape}")
        kp = np.concatenate([kp, score[..., None]], axis=-1)
    if not np.isfinite(kp).all():
        raise BadInput(f"{where}: keypoints hold NaN or inf values")
    return Annotation(name, int(label), np.ascontiguousarray(kp.transpose(3, 1, 2, 0)), layout.name)
