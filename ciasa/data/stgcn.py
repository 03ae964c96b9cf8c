"""The ST-GCN preprocessed layout: ``{split}_data.npy`` + ``{split}_label.pkl`` (+ ``classes.json``).

``{split}_data.npy`` is float32 ``(N, C, T, V, M)``; ``{split}_label.pkl`` is a pickle
of ``(sample_names, labels)`` exactly as the official ST-GCN tools write it, so data
prepared by them loads here and ours loads there. ``classes.json`` (a JSON list of
class names, index = label) is ours and optional.

Large NTU splits (several GB) are memory-mapped on read; the value checks (NaN/inf,
empty samples) then run chunk by chunk so they never pull the whole file into RAM.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.data.ntu import default_class_names
from ciasa.io import atomic_path, atomic_save_npy, atomic_write_json
from ciasa.skeleton import NTU_RGBD, SkeletonLayout, get_layout

log = logging.getLogger(__name__)

# Above this many bytes a loaded split only gets its shape checked unless asked for more:
# scanning 6 GB of NTU for NaNs on every load would dominate short jobs.
FULL_CHECK_MAX_BYTES = 1 << 30
_CHUNK_ELEMENTS = 1 << 24


@dataclass
class SkeletonSet:
    """One split of an ST-GCN-layout data set."""

    data: np.ndarray  # (N, C, T, V, M) float32, possibly a read-only memmap
    names: list[str]
    labels: np.ndarray  # (N,) int64
    class_names: list[str]
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)


def split_paths(directory: str | Path, split: str) -> tuple[Path, Path]:
    directory = Path(directory)
    return directory / f"{split}_data.npy", directory / f"{split}_label.pkl"


_FORMS = {5: "(N, C, T, V, M)", 4: "(C, T, V, M)"}


def check_skeleton_shape(
    shape: tuple[int, ...],
    floating: bool,
    dtype: object,
    layout: SkeletonLayout,
    source: str,
    dims: tuple[int, ...] = (5, 4),
    joints_hint: str = "",
) -> None:
    """The rules any skeleton data meets, numpy array or torch batch alike: one of the
    ``dims`` (5: a batch, 4: one clip), ``layout``'s channel count (3 for NTU; 2 or 3
    for OpenPose, with or without the score) and joint count, no empty axis, floating
    point. Raises BadInput naming ``source``; ``joints_hint`` ends a joint-count
    message where the caller knows the likely cause."""
    if len(shape) not in dims:
        forms = " or ".join(_FORMS[d] for d in dims)
        raise BadInput(f"{source}: expected {forms} skeleton data, got {len(shape)} dimensions {shape}")
    n, c, t, v, m = shape if len(shape) == 5 else (1, *shape)
    allowed_c = (2, 3) if layout.name == "openpose" else (layout.channels,)
    if c not in allowed_c:
        raise BadInput(
            f"{source}: {c} coordinate channels on axis C of shape {shape}; layout {layout.name!r} "
            f"needs {' or '.join(map(str, allowed_c))} (is the array in (N, C, T, V, M) order?)"
        )
    if v != layout.num_joints:
        raise BadInput(
            f"{source}: {v} joints on axis V of shape {shape}, but layout {layout.name!r} has "
            f"{layout.num_joints}{joints_hint}"
        )
    if t == 0:
        raise BadInput(f"{source}: empty sequence (T = 0 frames), shape {shape}")
    if m == 0:
        raise BadInput(f"{source}: no body slot (M = 0), shape {shape}")
    if n == 0:
        raise BadInput(f"{source}: no samples (N = 0)")
    if not floating:
        raise BadInput(f"{source}: skeleton data must be floating point, got {dtype}")


def validate_skeletons(
    array: np.ndarray,
    layout: str | SkeletonLayout = NTU_RGBD,
    source: str = "<array>",
    labels: Sequence[int] | np.ndarray | None = None,
    names: Sequence[str] | None = None,
    check_values: bool = True,
) -> None:
    """Raise ValueError naming ``source`` and the problem if ``array`` is not usable skeleton data.

    ``array`` is one clip ``(C, T, V, M)`` or a batch ``(N, C, T, V, M)``. Checks:
    :func:`check_skeleton_shape` (the attacks' input check shares it), and
    (``check_values``) finite values and no all-zero sample. ``labels``/``names`` must
    match N and labels must be integers.
    """
    layout = get_layout(layout)
    check_skeleton_shape(tuple(array.shape), np.issubdtype(array.dtype, np.floating), array.dtype, layout, source)
    batch = array if array.ndim == 5 else array[None]
    n, c, t, v, m = batch.shape

    if labels is not None:
        labels_arr = np.asarray(labels)
        if labels_arr.ndim != 1:
            raise BadInput(f"{source}: labels must be a flat list, got shape {labels_arr.shape}")
        if labels_arr.size and not np.issubdtype(labels_arr.dtype, np.integer):
            if not (np.issubdtype(labels_arr.dtype, np.floating) and np.all(labels_arr == np.round(labels_arr))):
                raise BadInput(f"{source}: labels must be integers, got dtype {labels_arr.dtype}")
        if len(labels_arr) != n:
            raise BadInput(f"{source}: {len(labels_arr)} labels for {n} samples (label/data length mismatch)")
        if labels_arr.size and labels_arr.min() < 0:
            raise BadInput(f"{source}: negative label {int(labels_arr.min())}")
    if names is not None:
        if len(names) != n:
            raise BadInput(f"{source}: {len(names)} sample names for {n} samples (label/data length mismatch)")
        if not all(isinstance(s, str) for s in names):
            raise BadInput(f"{source}: sample names must be strings")

    if not check_values:
        return
    per_sample = c * t * v * m
    step = max(1, _CHUNK_ELEMENTS // per_sample)
    for start in range(0, n, step):
        chunk = np.asarray(batch[start : start + step])
        finite = np.isfinite(chunk)
        if not finite.all():
            bad = int(np.argwhere(~finite.reshape(len(chunk), -1).all(axis=1))[0, 0]) + start
            what = "NaN" if np.isnan(chunk).any() else "inf"
            raise BadInput(f"{source}: sample {_sample_id(bad, names)} holds {what} values")
        empty = ~chunk.reshape(len(chunk), -1).any(axis=1)
        if empty.any():
            bad = int(np.argmax(empty)) + start
            raise BadInput(f"{source}: sample {_sample_id(bad, names)} is empty (every joint of every frame is zero)")


def _sample_id(index: int, names: Sequence[str] | None) -> str:
    return f"{index} ({names[index]})" if names is not None else str(index)


def load_labels(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read an ST-GCN ``{split}_label.pkl``: ``(sample_names, labels)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: label file not found")
    try:
        with path.open("rb") as f:
            obj = pickle.load(f, encoding="latin1")  # the official files were written by Python 2
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as err:
        raise BadInput(f"{path}: not a readable label pickle: {err}") from None
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2):
        raise BadInput(f"{path}: expected a pickled pair (sample_names, labels), got {type(obj).__name__}")
    names, labels = obj
    names = [n.decode() if isinstance(n, bytes) else n for n in names]
    if not all(isinstance(n, str) for n in names):
        raise BadInput(f"{path}: sample names must be strings")
    labels_arr = np.asarray(list(labels))
    if labels_arr.size and not np.issubdtype(labels_arr.dtype, np.integer):
        if np.issubdtype(labels_arr.dtype, np.floating) and np.all(labels_arr == np.round(labels_arr)):
            labels_arr = labels_arr.astype(np.int64)
        else:
            raise BadInput(f"{path}: labels must be integers, got {labels_arr.dtype}")
    if len(labels_arr) != len(names):
        raise BadInput(f"{path}: {len(names)} sample names but {len(labels_arr)} labels")
    return names, labels_arr.astype(np.int64).reshape(-1)


def read_class_names_file(path: str | Path) -> list[str]:
    """A JSON list of class names (``classes.json`` or a user's file); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: class-names file not found")
    try:
        names = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise BadInput(f"{path}: not valid JSON: {err}") from None
    if not (isinstance(names, list) and all(isinstance(s, str) for s in names)):
        raise BadInput(f"{path}: expected a JSON list of class names")
    return names


def load_class_names(directory: str | Path, num_classes: int | None = None) -> list[str] | None:
    """``DIR/classes.json`` if present, else None."""
    path = Path(directory) / "classes.json"
    if not path.is_file():
        return None
    names = read_class_names_file(path)
    if num_classes is not None and len(names) < num_classes:
        raise BadInput(f"{path}: {len(names)} class names but labels go up to {num_classes - 1}")
    return names


def load_split(
    directory: str | Path,
    split: str,
    mmap: bool = True,
    layout: str | SkeletonLayout | None = None,
    check_values: bool | None = None,
) -> SkeletonSet:
    """Load ``DIR/{split}_data.npy`` + ``DIR/{split}_label.pkl`` (+ ``classes.json``).

    ``layout`` defaults to the one whose joint count matches (NTU-25 or OpenPose-18).
    ``check_values`` (NaN/inf, empty samples) defaults to True for files up to 1 GiB.
    """
    directory = Path(directory)
    data_path, label_path = split_paths(directory, split)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: data directory not found")
    if not data_path.is_file():
        raise FileNotFoundError(f"{data_path}: data file not found (split {split!r})")
    try:
        data = np.load(data_path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise BadInput(f"{data_path}: not a readable .npy array: {err}") from None
    if data.ndim != 5:
        hint = " (one clip (C, T, V, M)? a split holds a batch (N, C, T, V, M))" if data.ndim == 4 else ""
        raise BadInput(
            f"{data_path}: expected (N, C, T, V, M) skeleton data, got {data.ndim} dimensions {tuple(data.shape)}{hint}"
        )
    names, labels = load_labels(label_path)
    if len(names) != len(data):
        raise BadInput(
            f"{label_path}: {len(names)} samples listed but {data_path.name} holds {len(data)} "
            "(label/data length mismatch)"
        )
    if layout is None:
        layout = _guess_layout(data, data_path)
    if data.dtype != np.float32 and not mmap:
        data = data.astype(np.float32)
    if check_values is None:
        check_values = data.nbytes <= FULL_CHECK_MAX_BYTES
        if not check_values:
            log.info("%s: %.1f GB, checking shapes only", data_path, data.nbytes / 1e9)
    validate_skeletons(data, layout, str(data_path), labels=labels, names=names, check_values=check_values)
    num_classes = int(labels.max()) + 1 if labels.size else 0
    class_names = load_class_names(directory, num_classes) or default_class_names(num_classes)
    return SkeletonSet(data=data, names=names, labels=labels, class_names=class_names, source=str(data_path))


def _guess_layout(data: np.ndarray, source: Path) -> SkeletonLayout:
    from ciasa.skeleton import LAYOUTS

    if data.ndim == 5:
        for candidate in LAYOUTS.values():
            if data.shape[3] == candidate.num_joints:
                return candidate
    return NTU_RGBD  # validate_skeletons then reports what is wrong


def save_split(
    directory: str | Path,
    split: str,
    data: np.ndarray,
    names: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str] | None = None,
    layout: str | SkeletonLayout | None = None,
) -> tuple[Path, Path]:
    """Write one split atomically; the label file is written last, so its presence means done."""
    directory = Path(directory)
    data = np.asarray(data)
    layout = layout or _guess_layout(data, directory)
    validate_skeletons(data, layout, f"{directory}/{split}", labels=labels, names=list(names))
    labels_list = [int(x) for x in np.asarray(labels).reshape(-1)]
    if class_names is not None and labels_list and max(labels_list) >= len(class_names):
        raise BadInput(f"{directory}/{split}: label {max(labels_list)} has no class name ({len(class_names)} given)")
    data_path, label_path = split_paths(directory, split)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(data_path, np.ascontiguousarray(data, dtype=np.float32))
    if class_names is not None:
        atomic_write_json(directory / "classes.json", list(class_names))
    with atomic_path(label_path) as tmp, tmp.open("wb") as f:
        pickle.dump((list(names), labels_list), f)
    return data_path, label_path
