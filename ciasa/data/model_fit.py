"""Does a data split fit a model? Joints, channels, label range and class names, checked once.

Every place where a checkpoint meets data (evaluate, the experiments, the attack) needs
the same checks, and a wrong answer is silent: a checkpoint trained on other classes
classifies happily and the report then names true labels with the model's names. So a
class-name mismatch is an error unless the caller says it is known
(``--allow-class-mismatch``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ciasa.cli import BadInput
from ciasa.data.stgcn import SkeletonSet, load_class_names, load_split

log = logging.getLogger(__name__)

_GENERIC = re.compile(r"^class[_ ]?\d+$")


class ClassMismatch(BadInput):
    """The model's class names differ from the data's ``classes.json`` (bad input, exit 2)."""


def _norm(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def _informative(names: Sequence[str]) -> bool:
    """Generated placeholders (``class_3``) say nothing about what a class is."""
    return any(not _GENERIC.match(str(n)) for n in names)


def class_name_differences(model_names: Sequence[str], data_names: Sequence[str]) -> list[tuple[int, str, str]]:
    """``(index, model name, data name)`` for each index both lists name differently."""
    return [(i, str(m), str(d)) for i, (m, d) in enumerate(zip(model_names, data_names)) if _norm(m) != _norm(d)]


def check_class_names(
    model_names: Sequence[str] | None,
    data_names: Sequence[str] | None,
    model_source: str,
    data_source: str,
    allow_mismatch: bool = False,
) -> list[tuple[int, str, str]]:
    """Raise :class:`ClassMismatch` when the model and the data name a class index differently.

    ``data_names`` is the data's ``classes.json`` (None when it has none: then there is
    nothing to compare). Generated placeholder names on either side are not compared.
    With ``allow_mismatch`` the differences are logged as a warning and returned.
    """
    if not model_names or not data_names or not _informative(model_names) or not _informative(data_names):
        return []
    diffs = class_name_differences(model_names, data_names)
    if not diffs:
        return []
    shown = "; ".join(f"{i}: model {m!r} vs data {d!r}" for i, m, d in diffs[:3])
    more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
    text = (
        f"{model_source} and {data_source} name {len(diffs)} of {min(len(model_names), len(data_names))} "
        f"classes differently: {shown}{more}"
    )
    if not allow_mismatch:
        raise ClassMismatch(
            f"{text}. The model was trained on other classes (or another class order); "
            "pass --allow-class-mismatch to use it anyway"
        )
    log.warning("%s (accepted: --allow-class-mismatch)", text)
    return diffs


def check_fits(
    model: Any,
    meta: dict[str, Any],
    data: SkeletonSet,
    data_dir: str | Path,
    checkpoint: str | Path,
    allow_class_mismatch: bool = False,
) -> None:
    """Raise naming the data file when its joints, channels, labels or class names do not fit the model."""
    _, channels, _, joints, _ = data.shape
    want_c = getattr(model, "in_channels", None) or meta.get("model_args", {}).get("in_channels")
    A = getattr(model, "A", None)
    want_v = int(A.shape[-1]) if A is not None and hasattr(A, "shape") else None
    if want_v is not None and joints != want_v:
        raise BadInput(
            f"{data.source}: data has {joints} joints per frame but the model {checkpoint} "
            f"(layout {meta.get('layout')!r}) has {want_v}"
        )
    if want_c is not None and channels != want_c:
        raise BadInput(
            f"{data.source}: data has {channels} coordinate channels but the model {checkpoint} takes {want_c}"
        )
    class_names = meta.get("class_names") or []
    if len(data) and int(data.labels.max()) >= len(class_names):
        raise BadInput(
            f"{data.source}: label {int(data.labels.max())} but the model {checkpoint} has only {len(class_names)} classes"
        )
    check_class_names(
        class_names,
        load_class_names(data_dir),
        str(checkpoint),
        str(Path(data_dir) / "classes.json"),
        allow_class_mismatch,
    )


def load_split_for_model(
    data_dir: str | Path,
    split: str,
    model: Any,
    meta: dict[str, Any],
    checkpoint: str | Path,
    allow_class_mismatch: bool = False,
    mmap: bool = True,
) -> SkeletonSet:
    """Load ``data_dir/{split}`` in the model's layout and check that it fits the model."""
    layout = getattr(model, "layout", None) or meta.get("layout")
    data = load_split(data_dir, split, mmap=mmap, layout=layout)
    check_fits(model, meta, data, data_dir, checkpoint, allow_class_mismatch)
    return data


def add_model_data_flags(group: Any, out_help: str, split_help: str = "split name") -> None:
    """``--checkpoint --data --split --out --allow-class-mismatch``: what every CLI that runs a
    checkpoint on a split asks for, with the same names and help."""
    from ciasa import cli

    cli.add_checkpoint_flag(group)
    group.add_argument("--data", required=True, help="ST-GCN layout directory ({split}_data.npy, {split}_label.pkl)")
    group.add_argument("--split", default="val", help=split_help)
    group.add_argument("--out", required=True, help=out_help)
    group.add_argument(
        "--allow-class-mismatch",
        action="store_true",
        help="accept a checkpoint whose class names differ from the data's classes.json (otherwise an error)",
    )


def take(data: np.ndarray, index: Sequence[int] | np.ndarray) -> np.ndarray:
    """Rows ``index`` of a (memory-mapped) array as float32, in the order asked for.

    A memory map reads fastest in file order, so the rows are read sorted and put back
    in the requested order afterwards.
    """
    index = np.asarray(index, dtype=np.int64)
    if index.size == 0:
        return np.asarray(data[:0], dtype=np.float32)
    order = np.argsort(index, kind="stable")
    rows = np.asarray(data[index[order]], dtype=np.float32)
    out = np.empty_like(rows)
    out[order] = rows
    return out
