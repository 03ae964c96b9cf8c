"""Export one clip of an ST-GCN layout split to ``CLIP.npy`` ``(C, T, V, M)`` for the renderer.

The clean condition exports from the data set, the perturbed one from the attack's
output (same layout, same names), so both renders start from files of one format.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ciasa.io import atomic_save_npy

log = logging.getLogger(__name__)


def export_clip(data_dir: str | Path, split: str, name: str) -> np.ndarray:
    """The clip ``name`` of ``data_dir/{split}`` as a float32 ``(C, T, V, M)`` array."""
    from ciasa.data.stgcn import load_split

    data = load_split(data_dir, split, mmap=True, check_values=False)
    try:
        index = data.names.index(name)
    except ValueError:
        raise KeyError(
            f"{data.source if data.source != '<memory>' else data_dir}: no sample named {name!r} "
            f"in split {split!r} ({len(data.names)} samples)"
        ) from None
    clip = np.array(data.data[index], dtype=np.float32)
    if not np.isfinite(clip).all():
        raise ValueError(f"{data_dir}/{split}: sample {name} holds NaN or inf values")
    if not clip.any():
        raise ValueError(f"{data_dir}/{split}: sample {name} is all zeros")
    return clip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.export",
        description="Write one named clip of an ST-GCN layout split as CLIP.npy (C, T, V, M) float32.",
    )
    parser.add_argument("--data", required=True, help="ST-GCN layout directory")
    parser.add_argument("--split", default="val", help="split name (default: val)")
    parser.add_argument("--name", required=True, help="sample name, e.g. S001C001P001R001A027")
    parser.add_argument("--out", required=True, help="output .npy")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        clip = export_clip(args.data, args.split, args.name)
    except (KeyError, ValueError, FileNotFoundError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    atomic_save_npy(args.out, clip)
    log.info("%s -> %s %s", args.name, args.out, clip.shape)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
