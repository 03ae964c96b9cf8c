"""The round-trip error model: read it, check it, draw error sequences from it.

The transfer-aware attack wants a perturbation that survives render -> pose extraction.
It cannot run Blender and MediaPipe inside its loop, so it optimises the expected loss
over an error model of that round trip (docs/CONTRACTS.md, "Round-trip error model"):
per frame a global offset plus a per-joint residual, each an AR(1) process per axis
with its own bias and covariance, fitted on renders of training clips and real motion.

A bad file is bad input: every problem raises :class:`ErrorModelError` (a
``ValueError``, exit 2 in the CLIs) naming the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ciasa.cli import BadInput
from ciasa.fit_record import require_fit_record
from ciasa.skeleton import LAYOUTS, SkeletonLayout, get_layout

FORMAT = "ciasa-roundtrip-error/1"
# Negative eigenvalues down to this (relative to the largest) are rounding, not an error.
_PSD_TOL = 1e-6


class ErrorModelError(BadInput):
    """The error-model file is unreadable or does not match its contract."""


@dataclass(frozen=True)
class ErrorModel:
    """Round-trip error model: global ``(3,)`` / per-joint ``(V, 3)`` bias, covariance, AR(1)."""

    layout: SkeletonLayout
    global_bias: Tensor  # (3,)
    global_chol: Tensor  # (3, 3) lower-triangular factor of the covariance
    global_ar1: Tensor  # (3,)
    joint_bias: Tensor  # (V, 3)
    joint_chol: Tensor  # (V, 3, 3)
    joint_ar1: Tensor  # (V, 3)
    source: str = "<memory>"

    @property
    def num_joints(self) -> int:
        return int(self.joint_bias.shape[0])

    def sample(
        self,
        n: int,
        t: int,
        m: int,
        gen: torch.Generator,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        """``(n, 3, t, V, m)`` error sequences: AR(1) per axis of the global and joint parts.

        Starts from the stationary distribution, so every frame has the fitted marginal
        (bias plus covariance), with lag-1 correlation ``ar1`` between frames.
        """
        v = self.num_joints
        z_g = torch.randn(t, n, m, 3, generator=gen)
        z_j = torch.randn(t, n, m, v, 3, generator=gen)
        g = _ar1(z_g @ self.global_chol.T, self.global_ar1)  # (t, n, m, 3)
        j = _ar1(torch.einsum("tnmvk,vlk->tnmvl", z_j, self.joint_chol), self.joint_ar1)
        err = self.global_bias + g[:, :, :, None, :] + self.joint_bias + j  # (t, n, m, v, 3)
        return err.permute(1, 4, 0, 3, 2).to(device=device, dtype=dtype).contiguous()


def _ar1(innov: Tensor, r: Tensor) -> Tensor:
    """Zero-mean AR(1) over axis 0 with stationary marginal = that of ``innov``."""
    out = torch.empty_like(innov)
    out[0] = innov[0]
    scale = (1.0 - r.square()).clamp_min(0).sqrt()
    for step in range(1, innov.shape[0]):
        out[step] = r * out[step - 1] + scale * innov[step]
    return out


def load_error_model(path: str | Path, layout: str | SkeletonLayout | None = None) -> ErrorModel:
    """Read and validate an error-model JSON; ``layout`` is the attacked data's layout."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: error-model file not found")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ErrorModelError(f"{path}: not a readable JSON file ({err})") from None
    model = parse_error_model(doc, layout, source=str(path))
    require_fit_record(doc, str(path))  # it must say which clips it saw (pipeline.fit_check compares them)
    return model


def parse_error_model(doc: object, layout: str | SkeletonLayout | None = None, source: str = "<memory>") -> ErrorModel:
    """Validate a decoded error-model document (see :func:`load_error_model`)."""

    def fail(problem: str) -> ErrorModelError:
        return ErrorModelError(f"{source}: {problem}")

    if not isinstance(doc, dict):
        raise fail("the top level must be a JSON object")
    if doc.get("format") != FORMAT:
        raise fail(f"format is {doc.get('format')!r}, expected {FORMAT!r}")
    declared = _layout_named(doc.get("layout"))
    if declared is None:
        raise fail(f"unknown layout {doc.get('layout')!r} (known: {', '.join(LAYOUTS)})")
    if layout is not None:
        wanted = get_layout(layout)
        if wanted.name != declared.name:
            raise fail(f"layout {declared.name!r} does not match the attacked data's {wanted.name!r}")
    v = declared.num_joints
    if doc.get("num_joints") != v:
        raise fail(f"num_joints is {doc.get('num_joints')!r} but layout {declared.name!r} has {v} joints")
    parts = {}
    for part, shape in (("global", ()), ("joints", (v,))):
        block = doc.get(part)
        if not isinstance(block, dict):
            raise fail(f"missing the {part!r} block")
        bias = _array(block, "bias", shape + (3,), part, fail)
        cov = _array(block, "cov", shape + (3, 3), part, fail)
        ar1 = _array(block, "ar1", shape + (3,), part, fail)
        if (np.abs(ar1) >= 1).any():
            raise fail(f"{part}.ar1 must lie in (-1, 1) (a stationary AR(1)), got max |r| {np.abs(ar1).max():.3g}")
        parts[part] = (bias, _cholesky(cov, part, fail), ar1)
    as_t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return ErrorModel(
        layout=declared,
        global_bias=as_t(parts["global"][0]),
        global_chol=as_t(parts["global"][1]),
        global_ar1=as_t(parts["global"][2]),
        joint_bias=as_t(parts["joints"][0]),
        joint_chol=as_t(parts["joints"][1]),
        joint_ar1=as_t(parts["joints"][2]),
        source=source,
    )


def _layout_named(name: object) -> SkeletonLayout | None:
    """The layout of that name; 'ntu-rgbd' (the contract's example) is 'ntu-rgb+d'."""
    key = lambda text: "".join(ch for ch in str(text).lower() if ch.isalnum())  # noqa: E731
    for layout in LAYOUTS.values():
        if key(layout.name) == key(name):
            return layout
    return None


def _array(block: dict, key: str, shape: tuple[int, ...], part: str, fail) -> np.ndarray:
    if key not in block:
        raise fail(f"missing {part}.{key}")
    try:
        arr = np.asarray(block[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(f"{part}.{key} is not a numeric array") from None
    if arr.shape != shape:
        raise fail(f"{part}.{key} has shape {arr.shape}, expected {shape}")
    if not np.isfinite(arr).all():
        raise fail(f"{part}.{key} holds NaN or infinite values")
    return arr


def _cholesky(cov: np.ndarray, part: str, fail) -> np.ndarray:
    """Lower factor of each 3x3 covariance; rejects asymmetric or non-PSD matrices."""
    mats = cov.reshape(-1, 3, 3)
    scale = max(float(np.abs(mats).max()), 1e-30)
    if not np.allclose(mats, mats.transpose(0, 2, 1), atol=1e-9 * scale + 1e-15):
        raise fail(f"{part}.cov is not symmetric")
    out = np.empty_like(mats)
    for i, mat in enumerate(mats):
        w, vecs = np.linalg.eigh(mat)
        if w.min() < -_PSD_TOL * max(w.max(), 1e-30):
            where = "" if len(mats) == 1 else f" (joint {i})"
            raise fail(f"{part}.cov{where} is not positive semi-definite (eigenvalue {w.min():.3g})")
        root = vecs * np.sqrt(np.clip(w, 0, None))  # root @ root.T == mat; lower form not needed
        out[i] = root
    return out.reshape(cov.shape)


def error_summary(model: ErrorModel) -> dict[str, float]:
    """A few numbers for logs and summaries: RMS error per frame, global and per joint (m)."""
    g = float(model.global_bias.square().sum() + model.global_chol.square().sum())
    j = float((model.joint_bias.square().sum(dim=1) + model.joint_chol.square().sum(dim=(1, 2))).mean())
    return {"global_rms_m": math.sqrt(g), "joint_rms_m": math.sqrt(j), "total_rms_m": math.sqrt(g + j)}
