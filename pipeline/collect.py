"""Collect per-clip skeletons of one (domain, condition) into an ST-GCN layout set.

``skeleton`` domain: the ``(3, T, 25, M)`` clips given to the renderer; ``rgb`` domain:
the ``(3, T', 25, 1)`` skeletons re-extracted from the videos. Each is zero-padded (or
cut) to the T and M of the source data, as the official preprocessing pads, so the
classifier sees the same tensor shape in both domains.

Clips whose render or pose extraction failed, or whose skeleton is empty, are left out
of the set and listed in ``collect.json`` with the reason; the report counts them.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ciasa import cli
from ciasa.cli import read_name_list
from ciasa.io import atomic_write_json
from pipeline.guard import is_failed, read_record
from pipeline.paths import CONDITIONS, DOMAINS, Paths

log = logging.getLogger(__name__)


def fit_length(clip: np.ndarray, frames: int, bodies: int) -> np.ndarray:
    """Zero-pad or cut ``(C, T, V, M)`` to ``frames`` and ``bodies``."""
    c, t, v, m = clip.shape
    out = np.zeros((c, frames, v, bodies), dtype=np.float32)
    tt, mm = min(t, frames), min(m, bodies)
    out[:, :tt, :, :mm] = clip[:, :tt, :, :mm]
    return out


def exclusion_reason(paths: Paths, domain: str, clip: str, condition: str) -> str | None:
    """Why a clip cannot be classified in this domain/condition, or None."""
    if domain == "skeleton":
        return None
    if is_failed(paths.render_info(clip, condition)):
        return f"render failed: {_error(paths.render_info(clip, condition))}"
    if is_failed(paths.pose_info(clip, condition)):
        return f"pose extraction failed: {_error(paths.pose_info(clip, condition))}"
    info = read_record(paths.pose_info(clip, condition))
    if info.get("detected", 1) == 0:
        return "no person detected in the video"
    return None


def collect(
    root: str,
    clips: Sequence[str],
    domain: str,
    condition: str,
    frames: int,
    bodies: int,
    labels: dict[str, int],
    tag: str = "",
) -> tuple[np.ndarray, list[str], list[int], list[dict]]:
    paths = Paths(root, tag)
    arrays, names, out_labels, excluded = [], [], [], []
    for clip in clips:
        if clip not in labels:
            raise cli.UnknownName(f"clip {clip} has no label in the source data")
        reason = exclusion_reason(paths, domain, clip, condition)
        source = paths.skeleton(clip, condition) if domain == "skeleton" else paths.pose(clip, condition)
        if reason is None:
            array = np.load(source)
            if array.ndim != 4 or array.shape[0] != 3 or array.shape[2] != 25:
                raise cli.BadInput(f"{source}: expected a (3, T, 25, M) skeleton, got shape {array.shape}")
            if not np.isfinite(array).all():
                reason = "skeleton holds NaN/inf values"
            elif not array.any():
                reason = "skeleton is all zeros"
            elif array.shape[1] > frames:
                log.warning("%s: %d frames, cut to the data's %d", source, array.shape[1], frames)
        if reason is not None:
            excluded.append({"name": clip, "reason": reason})
            log.warning("%s/%s/%s left out: %s", domain, condition, clip, reason)
            continue
        arrays.append(fit_length(array, frames, bodies))
        names.append(clip)
        out_labels.append(int(labels[clip]))
    data = np.stack(arrays) if arrays else np.zeros((0, 3, frames, 25, bodies), dtype=np.float32)
    return data, names, out_labels, excluded


def _error(path: str) -> str:
    return str(read_record(path).get("error", "unknown error"))


def write_empty_split(out: Path, split: str, frames: int, bodies: int, class_names: list[str]) -> None:
    """An ST-GCN split with no sample: ``python -m ciasa.evaluate`` reads it as n = 0.

    Written instead of no files so that a stale set of an earlier run cannot stay behind
    and the classify rule needs no special case.
    """
    import pickle

    from ciasa.io import atomic_path, atomic_save_npy

    out.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(out / f"{split}_data.npy", np.zeros((0, 3, frames, 25, bodies), dtype=np.float32))
    atomic_write_json(out / "classes.json", list(class_names))
    with atomic_path(out / f"{split}_label.pkl") as tmp, tmp.open("wb") as f:
        pickle.dump(([], []), f)


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pipeline.collect",
        "Collect the per-clip skeletons of one domain (skeleton | rgb) and condition "
        f"({' | '.join(CONDITIONS)}) into an ST-GCN layout directory padded to the source data's T and M.",
    )
    p.add_argument("--root", required=True, help="results directory (the pipeline's path scheme)")
    p.add_argument("--tag", default="", help="shard tag of the results paths ('' or -shardIofN)")
    p.add_argument("--clips", required=True, help="clip list file")
    p.add_argument("--domain", required=True, choices=DOMAINS, help="which skeletons to collect")
    p.add_argument("--condition", required=True, choices=CONDITIONS, help="which condition")
    p.add_argument("--data", required=True, help="source ST-GCN layout directory (labels, T, M)")
    p.add_argument("--split", default="val", help="split of the source data the clips come from")
    p.add_argument("--out", required=True, help="output directory ({split}_data.npy, {split}_label.pkl, collect.json)")
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ciasa.data.stgcn import load_class_names, load_split, save_split

    source = load_split(args.data, args.split, mmap=True, check_values=False)
    _, _, frames, _, bodies = source.shape
    labels = dict(zip(source.names, (int(x) for x in source.labels)))
    clips = read_name_list(args.clips)
    data, names, out_labels, excluded = collect(
        args.root, clips, args.domain, args.condition, frames, bodies, labels, args.tag
    )
    out = Path(args.out)
    class_names = load_class_names(args.data) or source.class_names
    if names:
        save_split(out, args.split, data, names, out_labels, class_names=class_names)
    else:  # nothing to classify: an empty split, so no stale set from an earlier run stays behind
        write_empty_split(out, args.split, frames, bodies, class_names)
    summary = {
        "domain": args.domain,
        "condition": args.condition,
        "split": args.split,
        "clips": len(clips),
        "included": len(names),
        "excluded": excluded,
        "shape": list(data.shape),
        "source": str(args.data),
    }
    # Written last: its presence means the set is complete (and may be empty).
    atomic_write_json(out / "collect.json", summary)
    log.info("%s/%s: %d of %d clips -> %s", args.domain, args.condition, len(names), len(clips), out)
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    raise SystemExit(main())
