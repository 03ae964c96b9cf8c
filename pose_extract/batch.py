"""Many videos -> one skeleton file each plus one ST-GCN-layout split for the classifier.

Each clip's outputs are written as soon as it is done and skipped on a rerun when they
are newer than the video, so an interrupted batch resumes where it stopped. The split
(``DIR/{split}_data.npy`` + ``DIR/{split}_label.pkl``) pads or cuts every clip to the
same number of frames and bodies with zeros, the official NTU preprocessing's layout.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.io import atomic_write_json
from pose_extract.extract import ExtractOptions, NoPersonError, extract, output_paths, side_file, write_outputs

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    names: list[str]
    labels: list[int]
    data: np.ndarray | None  # (N, 3, T, 25, M) of the clips that produced a skeleton
    summaries: dict[str, dict]
    failed: dict[str, str]  # name -> error message
    summary_path: Path
    split_paths: tuple[Path, Path] | None


def infer_labels(names: Sequence[str]) -> list[int]:
    """Labels from NTU sample names (``...Aaaa`` -> aaa - 1)."""
    from ciasa.data.ntu import parse_sample_name

    try:
        return [parse_sample_name(n).label for n in names]
    except ValueError as err:
        raise BadInput(f"no --labels given and the names are not NTU sample names: {err}") from None


def fit_length(clip: np.ndarray, frames: int, bodies: int) -> np.ndarray:
    """Pad with zeros or cut a (C, T, V, M) clip to ``frames`` and ``bodies``."""
    c, t, v, m = clip.shape
    out = np.zeros((c, frames, v, bodies), dtype=np.float32)
    out[:, : min(t, frames), :, : min(m, bodies)] = clip[:, :frames, :, :bodies]
    return out


def _up_to_date(video: Path, out: Path) -> bool:
    paths = output_paths(out)
    return all(p.is_file() and p.stat().st_mtime >= video.stat().st_mtime for p in paths.values())


def run_batch(
    videos: Sequence[str | Path],
    out_dir: str | Path,
    names: Sequence[str] | None = None,
    labels: Sequence[int] | None = None,
    split: str = "val",
    frames: int | None = None,
    bodies: int = 1,
    options: ExtractOptions | None = None,
    on_failure: str = "error",
    class_names: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> BatchResult:
    """Extract every video (camera file beside each: ``CLIP.camera.json``).

    ``on_failure='error'`` (default) still extracts every clip but writes no split when any
    clip failed; ``'skip'`` leaves the failed clips out of the split. Either way the
    failures are listed in ``DIR/{split}_extract.json``.
    """
    from tqdm import tqdm

    from ciasa.data.stgcn import save_split

    if on_failure not in ("error", "skip"):
        raise BadInput(f"on_failure must be 'error' or 'skip', got {on_failure!r}")
    videos = [Path(v) for v in videos]
    if not videos:
        raise BadInput("no videos given")
    names = list(names) if names is not None else [v.stem for v in videos]
    if len(names) != len(videos):
        raise BadInput(f"{len(names)} names for {len(videos)} videos")
    if len(set(names)) != len(names):
        raise BadInput("sample names must be unique (two videos share a stem? give --names)")
    labels = list(labels) if labels is not None else infer_labels(names)
    if len(labels) != len(videos):
        raise BadInput(f"{len(labels)} labels for {len(videos)} videos")
    if bodies < 1 or (frames is not None and frames < 1):
        raise BadInput("--frames and --bodies must be positive")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    clips: dict[str, np.ndarray] = {}
    summaries: dict[str, dict] = {}
    failed: dict[str, str] = {}
    for video, name in tqdm(list(zip(videos, names)), desc="videos", unit="video", disable=not progress):
        out = out_dir / f"{name}.npy"
        try:
            if not overwrite and video.is_file() and _up_to_date(video, out):
                log.info("%s: up to date, reusing %s", video, out)
                summaries[name] = json.loads(out.with_suffix(".json").read_text())
            else:
                camera = side_file(video, ".camera.json")
                extraction = extract(video, camera, options, progress=progress)
                write_outputs(extraction, out)
                summaries[name] = extraction.summary
            clips[name] = np.load(out)
        except (BadInput, NoPersonError, FileNotFoundError) as err:  # this clip's input; a bug propagates
            log.error("%s", err)
            failed[name] = str(err)

    kept = [i for i, n in enumerate(names) if n in clips]
    data = None
    split_files = None
    if kept:
        t = frames or max(clips[names[i]].shape[1] for i in kept)
        data = np.stack([fit_length(clips[names[i]], t, bodies) for i in kept])
    if data is not None and (not failed or on_failure == "skip"):
        split_files = save_split(
            out_dir, split, data, [names[i] for i in kept], [labels[i] for i in kept], class_names=class_names
        )

    rates = [s["detection_rate"] for s in summaries.values()]
    summary = {
        "split": split,
        "videos": len(videos),
        "extracted": len(kept),
        "failed": failed,
        "flagged": {n: s["reason"] for n, s in summaries.items() if s.get("flagged")},
        "detection_rate_mean": round(float(np.mean(rates)), 4) if rates else None,
        "detection_rate_min": round(float(np.min(rates)), 4) if rates else None,
        "frames": None if data is None else int(data.shape[2]),
        "bodies": bodies,
        "split_written": split_files is not None,
        "clips": summaries,
    }
    summary_path = out_dir / f"{split}_extract.json"
    atomic_write_json(summary_path, summary)
    return BatchResult(
        names=[names[i] for i in kept],
        labels=[labels[i] for i in kept],
        data=data,
        summaries=summaries,
        failed=failed,
        summary_path=summary_path,
        split_paths=split_files,
    )
