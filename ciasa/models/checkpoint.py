"""Saving and loading recognition models: our checkpoint format and official state dicts.

Our format (``format: 'ciasa-checkpoint/1'``) is a dict with ``arch``, ``model_args``,
``state_dict``, ``class_names`` and ``layout`` (plus optional ``train`` info), so a
model rebuilds itself from the file alone. The official ST-GCN releases are plain
state dicts; their architecture is read off the tensor shapes (classes from
``fcn.weight``, joints and partitions from ``A``, width from the first conv) and any
value the user gives (``num_class``, ``layout``, ``in_channels``) must agree with it.

Loading is strict: missing or unexpected keys, shape mismatches and files that are not
checkpoints raise :class:`CheckpointError` naming the file. The only leniency is
BatchNorm's ``num_batches_tracked`` counters, absent from older releases.

Other published formats read here (never executing pickled code): a trainer's wrapper
dict (``{'model': state_dict, ...}`` or ``{'state_dict': ...}``), and a plain pickle of
numpy arrays under PyTorch key names (how EfficientGCN's weights circulate after a
Paddle conversion: BatchNorm statistics named ``_mean`` / ``_variance`` are mapped to
``running_mean`` / ``running_var``). A plain state dict's architecture is read off its
keys (:func:`ciasa.models.registry.detect_arch`) unless ``arch=`` names it.
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ciasa.io import atomic_path, load_numpy_pickle
from ciasa.models.errors import CheckpointError
from ciasa.models.registry import build_model, detect_arch, get_arch

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "ciasa-checkpoint/1"
_COUNTER = "num_batches_tracked"


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    arch: str,
    model_args: dict[str, Any],
    class_names: list[str],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``model`` in our format, atomically (a crash never leaves half a file)."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "arch": arch,
        "model_args": dict(model_args),
        "class_names": list(class_names),
        "layout": model_args.get("graph_args", {}).get("layout"),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    if extra:
        payload.update(extra)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file as a dict of plain data, refusing pickled code.

    PyTorch files are read with ``weights_only=True`` (numpy arrays allowed in the
    trainer's extras); anything else is tried as a pickle of numpy arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        obj = _torch_load(path)
    except Exception as exc:  # torch raises many types for non-checkpoint bytes
        try:
            obj = load_numpy_pickle(path)
        except Exception:
            raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: not a checkpoint (holds a {type(obj).__name__}, expected a dict)")
    return dict(obj)


def _torch_load(path: Path) -> Any:
    try:
        with warnings.catch_warnings():  # a plain pickle draws a protocol warning before failing
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        if not zipfile.is_zipfile(path):
            raise
        import numpy as np

        allowed = [np.core.multiarray._reconstruct, np.ndarray, np.dtype, np.core.multiarray.scalar]
        allowed += [type(np.dtype(t)) for t in ("float32", "float64", "int64", "int32", "bool")]
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)


def is_ours(ckpt: Mapping[str, Any]) -> bool:
    return ckpt.get("format") == CHECKPOINT_FORMAT


_PADDLE_BN = {"_mean": "running_mean", "_variance": "running_var"}


def plain_state_dict(ckpt: Mapping[str, Any], path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of an official-style state dict.

    A trainer's wrapper (``state_dict`` or ``model`` entry) is opened, a 'module.' prefix
    from DataParallel is dropped, numpy arrays become tensors and Paddle's BatchNorm
    statistic names become PyTorch's.
    """
    if "format" in ckpt:
        raise CheckpointError(f"{path}: unknown checkpoint format {ckpt['format']!r} (expected {CHECKPOINT_FORMAT!r})")
    for wrapper in ("state_dict", "model"):
        if wrapper in ckpt and isinstance(ckpt[wrapper], Mapping):
            ckpt = ckpt[wrapper]  # common wrapping by other trainers
            break
    import numpy as np

    state: dict[str, torch.Tensor] = {}
    converted = any(isinstance(v, np.ndarray) for v in ckpt.values())  # a Paddle-converted pickle
    for key, value in ckpt.items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            value = torch.from_numpy(np.array(value))
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"{path}: not a model checkpoint (entry {key!r} is a {type(value).__name__}, expected tensors)"
            )
        head, _, last = str(key).rpartition(".")
        if converted and last in _PADDLE_BN and head:
            key = f"{head}.{_PADDLE_BN[last]}"
        state[str(key)] = value
    if not state:
        raise CheckpointError(f"{path}: not a model checkpoint (expected a state dict of tensors)")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def load_state_strict(model: nn.Module, state: Mapping[str, torch.Tensor], path: str | Path) -> None:
    """``load_state_dict(strict=True)`` with BatchNorm counters optional and errors naming the file."""
    state = dict(state)
    expected = model.state_dict()
    for key, value in expected.items():
        if key.endswith(_COUNTER) and key not in state:
            state[key] = torch.zeros_like(value)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {_short(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_short(unexpected)}")
        raise CheckpointError(f"{path}: does not match {type(model).__name__}: " + "; ".join(parts))
    wrong = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if tuple(state[k].shape) != tuple(v.shape)
    ]
    if wrong:
        raise CheckpointError(f"{path}: tensor shapes do not match the model: {_short(wrong)}")
    model.load_state_dict(state, strict=True)


def _short(items: list[str], n: int = 6) -> str:
    head = ", ".join(items[:n])
    return head + (f", ... ({len(items)} in all)" if len(items) > n else "")


def load_model(
    path: str | Path,
    device: str | torch.device = "auto",
    **overrides: Any,
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model from our checkpoint or an official state dict, in eval mode.

    ``overrides`` (e.g. ``num_class=60, layout='ntu-rgb+d', in_channels=3``) are
    checked against what the file holds; for official state dicts they may also name
    ``arch`` (default 'stgcn') and ``class_names``. Returns ``(model, meta)`` with
    ``meta = {'arch', 'model_args', 'class_names', 'layout', 'source', 'path'}``.
    """
    from ciasa.device import resolve_device

    path = Path(path)
    ckpt = read_checkpoint(path)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    class_names = overrides.pop("class_names", None)
    if is_ours(ckpt):
        for key in ("arch", "model_args", "state_dict"):
            if key not in ckpt:
                raise CheckpointError(f"{path}: checkpoint lacks its {key!r} entry")
        arch = ckpt["arch"]
        model_args = dict(ckpt["model_args"])
        state = ckpt["state_dict"]
        class_names = class_names or ckpt.get("class_names")
        source = "ciasa"
        if overrides.pop("arch", arch) != arch:
            raise CheckpointError(f"{path}: holds a {arch!r} model, not the requested architecture")
    else:
        state = plain_state_dict(ckpt, path)
        arch = overrides.pop("arch", None) or detect_arch(state, path)
        spec = get_arch(arch)
        if spec.from_state_dict is None:
            raise CheckpointError(f"{path}: plain state dicts are not supported for arch {arch!r}")
        model_args = spec.from_state_dict(state, path)
        source = "state_dict"
    model_args = _apply_overrides(model_args, overrides, path)
    model = build_model(arch, **model_args)
    load_state_strict(model, state, path)
    num_class = model_args.get("num_class")
    if class_names is None:
        class_names = _default_class_names(model_args)
    if num_class is not None and len(class_names) != num_class:
        raise CheckpointError(f"{path}: {len(class_names)} class names given for a {num_class}-class model")
    model.to(resolve_device(device)).eval()
    meta = {
        "arch": arch,
        "model_args": model_args,
        "class_names": list(class_names),
        "layout": model_args.get("graph_args", {}).get("layout"),
        "source": source,
        "path": str(path),
    }
    log.info("loaded %s model from %s (%s classes, layout %s)", arch, path, num_class, meta["layout"])
    return model, meta


def _apply_overrides(model_args: dict[str, Any], overrides: dict[str, Any], path: Path) -> dict[str, Any]:
    """Check user-given values against the checkpoint; a mismatch is an error, not a silent rebuild."""
    args = dict(model_args)
    graph_args = dict(args.get("graph_args", {}))
    for key, value in overrides.items():
        if key in ("layout", "strategy"):
            have = graph_args.get(key)
            if have is not None and have != value:
                raise CheckpointError(f"{path}: the checkpoint's graph {key} is {have!r}, not {value!r}")
            graph_args[key] = value
        elif key in args and args[key] is not None and args[key] != value:
            what = "class count" if key == "num_class" else key
            raise CheckpointError(f"{path}: the checkpoint's {what} is {args[key]!r}, not {value!r}")
        else:
            args[key] = value
    if graph_args:
        args["graph_args"] = graph_args
    return args


def _default_class_names(model_args: dict[str, Any]) -> list[str]:
    from ciasa.data.ntu import NTU_ACTIONS

    n = int(model_args.get("num_class", 0))
    layout = model_args.get("graph_args", {}).get("layout")
    if layout == "ntu-rgb+d" and n in (60, 120):
        return list(NTU_ACTIONS[:n])
    return [f"class_{i}" for i in range(n)]
