"""Filling short detection gaps so one missed frame does not punch a hole in a skeleton."""

from __future__ import annotations

import numpy as np

from ciasa.cli import BadInput


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``[start, stop)`` runs of True in a 1-D boolean mask."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def fill_gaps(values: np.ndarray, detected: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Fill runs of undetected frames no longer than ``max_gap`` (frames on axis 0).

    A gap between two detections is interpolated linearly; a gap at the start or end of
    the clip (only one neighbour) holds the nearest detection. Longer gaps are left as
    they are. Returns the filled copy and a boolean mask of the frames that were filled.
    """
    values = np.asarray(values)
    detected = np.asarray(detected, dtype=bool)
    if detected.shape != values.shape[:1]:
        raise ValueError(f"detected mask {detected.shape} does not match {values.shape[0]} frames")
    if max_gap < 0:
        raise BadInput(f"max_gap must be >= 0, got {max_gap}")
    out = values.astype(np.float64 if values.dtype.kind != "f" else values.dtype, copy=True)
    filled = np.zeros(len(values), dtype=bool)
    if not detected.any():
        return out, filled
    for start, stop in runs(~detected):
        if stop - start > max_gap:
            continue
        before, after = start - 1, stop
        if before < 0:
            out[start:stop] = values[after]
        elif after >= len(values):
            out[start:stop] = values[before]
        else:
            w = (np.arange(start, stop) - before) / (after - before)
            w = w.reshape((-1,) + (1,) * (values.ndim - 1))
            out[start:stop] = (1 - w) * values[before] + w * values[after]
        filled[start:stop] = True
    return out, filled
