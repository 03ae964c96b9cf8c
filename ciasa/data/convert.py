"""Build ST-GCN-layout data sets from raw files.

``python -m ciasa.data.convert ntu --raw DIR --out DIR`` turns a folder of NTU RGB+D
``.skeleton`` files into ``OUT/xsub/`` and ``OUT/xview/`` (``{train,val}_data.npy``
``(N, 3, 300, 25, 2)`` + ``{train,val}_label.pkl`` + ``classes.json``), with the
official splits of NTU RGB+D 60 (training performers 1 2 4 5 8 9 13 14 15 16 17 18
19 25 27 28 31 34 35 38; training cameras 2 and 3); ``--benchmark ntu120`` writes
NTU RGB+D 120's ``OUT/xsub120/`` and ``OUT/xset/`` (even setups train) instead. Clips are zero-padded (not
centred, not resampled) to 300 frames and 2 bodies, like the official ST-GCN
preprocessing, so its released weights apply. The data files are filled through
memory maps (NTU 60 is ~10 GB per benchmark) and renamed into place when complete.

``pyskl`` and ``kinetics`` convert pyskl/mmaction2 annotation pickles and folders of
Kinetics-skeleton json files the same way.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ciasa import cli
from ciasa.data.ntu import NTU_ACTIONS, in_training_set, parse_sample_name
from ciasa.data.stgcn import validate_skeletons
from ciasa.io import atomic_path, atomic_write_json

log = logging.getLogger("ciasa.data.convert")


def read_ignore_list(path: str | Path | None) -> set[str]:
    """Sample names, one per line (the official ``samples_with_missing_skeletons.txt``)."""
    if path is None:
        return set()
    return {name.removesuffix(".skeleton") for name in cli.read_name_list(path)}


def fit_clip(clip: np.ndarray, max_frames: int, max_body: int) -> tuple[np.ndarray, bool]:
    """Zero-pad / cut a (C, T, V, M) clip to (C, max_frames, V, max_body); True if frames were cut."""
    c, t, v, m = clip.shape
    out = np.zeros((c, max_frames, v, max_body), np.float32)
    out[:, : min(t, max_frames), :, : min(m, max_body)] = clip[:, :max_frames, :, :max_body]
    return out, t > max_frames


class SplitWriter:
    """Fills ``{split}_data.npy`` row by row through a memory map; ``close`` renames it into place."""

    def __init__(self, directory: Path, split: str, capacity: int, shape: tuple[int, ...]):
        self.directory, self.split, self.shape = directory, split, shape
        directory.mkdir(parents=True, exist_ok=True)
        # the label file marks a finished split: a stale one must not outlive new data
        (directory / f"{split}_label.pkl").unlink(missing_ok=True)
        self.tmp = directory / f".{split}_data.npy.partial"
        self.data = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=np.float32, shape=(max(capacity, 1), *shape))
        self.names: list[str] = []
        self.labels: list[int] = []

    def add(self, name: str, label: int, clip: np.ndarray) -> None:
        self.data[len(self.names)] = clip
        self.names.append(name)
        self.labels.append(label)

    def abort(self) -> None:
        """Drop the partial file (after an error); a no-op once closed."""
        if hasattr(self, "data"):
            del self.data
        self.tmp.unlink(missing_ok=True)

    def close(self, class_names: list[str]) -> int:
        n = len(self.names)
        if n == 0:
            raise cli.BadInput(f"{self.directory}: the {self.split} split is empty")
        self.data.flush()
        final = self.directory / f"{self.split}_data.npy"
        if n == self.data.shape[0]:
            del self.data
            os.replace(self.tmp, final)
            self.tmp.unlink(missing_ok=True)
        else:  # some samples were skipped: copy the filled rows into a file of the right size
            with atomic_path(final) as tmp:
                out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, *self.shape))
                for start in range(0, n, 256):
                    out[start : start + 256] = self.data[start : min(start + 256, n)]
                out.flush()
                del out
            del self.data
            self.tmp.unlink()
        atomic_write_json(self.directory / "classes.json", class_names)
        with atomic_path(self.directory / f"{self.split}_label.pkl") as tmp, tmp.open("wb") as f:
            pickle.dump((self.names, self.labels), f)
        return n


def convert_ntu(
    raw: str | Path,
    out: str | Path,
    ignore: Iterable[str] = (),
    max_frames: int = 300,
    max_body: int = 2,
    benchmarks: tuple[str, ...] = ("xsub", "xview"),
    skip_bad: bool = False,
    progress: bool = True,
) -> dict:
    """Convert every ``*.skeleton`` under ``raw``; returns the report also written to OUT/convert_report.json."""
    raw, out = Path(raw), Path(out)
    if not raw.is_dir():
        raise FileNotFoundError(f"{raw}: raw skeleton directory not found")
    ignore = set(ignore)
    files = sorted(raw.rglob("*.skeleton"))
    if not files:
        raise FileNotFoundError(f"{raw}: no .skeleton files found")
    candidates = []
    for f in files:
        name = f.name.removesuffix(".skeleton")
        if name in ignore:
            continue
        candidates.append((f, parse_sample_name(name)))
    max_action = max(s.action for _, s in candidates) if candidates else 60
    class_names = list(NTU_ACTIONS[: 60 if max_action <= 60 else 120])
    shape = (3, max_frames, 25, max_body)
    counts = {}
    for bench in benchmarks:
        n_train = sum(in_training_set(s, bench) for _, s in candidates)
        counts[bench] = (n_train, len(candidates) - n_train)
        if 0 in counts[bench]:
            raise cli.BadInput(
                f"{raw}: {bench} would have {n_train} training and {len(candidates) - n_train} test samples; "
                "both splits need samples (check the folder holds training and test performers/cameras)"
            )
    writers = {}
    for bench, (n_train, n_val) in counts.items():
        writers[(bench, "train")] = SplitWriter(out / bench, "train", n_train, shape)
        writers[(bench, "val")] = SplitWriter(out / bench, "val", n_val, shape)
    try:
        report = _fill_ntu(candidates, writers, len(files), max_frames, max_body, benchmarks, skip_bad, progress)
        report["sizes"] = {}
        for (bench, split), writer in writers.items():
            report["sizes"].setdefault(bench, {})[split] = writer.close(class_names)
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    report.update(max_frames=max_frames, max_body=max_body, classes=len(class_names))
    atomic_write_json(out / "convert_report.json", report)
    return report


def _fill_ntu(candidates, writers, n_files, max_frames, max_body, benchmarks, skip_bad, progress) -> dict:
    from tqdm import tqdm

    from ciasa.data.ntu_raw import SkeletonFileError, read_ntu_skeleton

    report: dict = {"files": n_files, "ignored": n_files - len(candidates), "empty": [], "bad": [], "cut": []}
    for path, sample in tqdm(candidates, desc="ntu", unit="file", disable=not progress):
        name = str(sample)
        try:
            clip = read_ntu_skeleton(path, max_body=max_body)
        except SkeletonFileError as err:
            if not skip_bad:
                raise
            log.warning("skipping %s", err)
            report["bad"].append(str(err))
            continue
        if clip.shape[1] == 0 or not clip.any():
            log.warning("%s: no body in any frame, skipped (add it to the ignore list)", path)
            report["empty"].append(name)
            continue
        clip, cut = fit_clip(clip, max_frames, max_body)
        if cut:
            report["cut"].append(name)
        for bench in benchmarks:
            split = "train" if in_training_set(sample, bench) else "val"
            writers[(bench, split)].add(name, sample.label, clip)
    return report


def _write_clips(
    out: Path,
    split: str,
    items: Iterator[tuple[str, int, np.ndarray]],
    count: int,
    shape: tuple[int, ...],
    class_names: list[str] | None,
    layout: str,
    progress: bool,
) -> int:
    from tqdm import tqdm

    from ciasa.data.ntu import default_class_names

    writer = SplitWriter(out, split, count, shape)
    cut = 0
    try:
        for name, label, clip in tqdm(items, total=count, desc=split, unit="clip", disable=not progress):
            validate_skeletons(clip, layout, name)
            clip, was_cut = fit_clip(clip, shape[1], shape[3])
            cut += was_cut
            writer.add(name, label, clip)
    except BaseException:
        writer.abort()
        raise
    if cut:
        log.warning("%d clips were longer than %d frames and were cut", cut, shape[1])
    names = class_names or default_class_names(max(writer.labels) + 1 if writer.labels else 0)
    return writer.close(names)


def convert_pyskl(
    ann: str | Path,
    split_name: str,
    out: str | Path,
    split: str,
    max_frames: int = 300,
    max_body: int = 2,
    progress: bool = True,
) -> int:
    from ciasa.data.pyskl import read_pyskl

    anns = read_pyskl(ann, split_name)
    if not anns:
        raise cli.BadInput(f"{ann}: split {split_name!r} is empty")
    c, _, v, _ = anns[0].clip.shape
    layouts = {a.layout for a in anns}
    if len(layouts) > 1 or len({a.clip.shape[0] for a in anns}) > 1:
        raise cli.BadInput(f"{ann}: split {split_name!r} mixes joint layouts or channel counts")
    items = ((a.name, a.label, a.clip) for a in anns)
    return _write_clips(
        Path(out), split, items, len(anns), (c, max_frames, v, max_body), None, anns[0].layout, progress
    )


def convert_kinetics(
    data: str | Path, out: str | Path, split: str, max_frames: int = 300, max_body: int = 2, progress: bool = True
) -> int:
    from ciasa.data.kinetics import read_kinetics_json

    data = Path(data)
    files = sorted(data.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"{data}: no .json files found")

    def items() -> Iterator[tuple[str, int, np.ndarray]]:
        for f in files:
            clip, label = read_kinetics_json(f, max_frames=max_frames, num_person_out=max_body)
            if not clip.any():
                log.warning("%s: no skeleton in any frame, skipped", f)
                continue
            yield f.stem, label, clip

    return _write_clips(
        Path(out), split, items(), len(files), (3, max_frames, 18, max_body), None, "openpose", progress
    )


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m ciasa.data.convert",
        "Build ST-GCN-layout data ({split}_data.npy (N, C, T, V, M) + {split}_label.pkl) from raw files.",
    )
    sub = p.add_subparsers(dest="source", required=True)
    fmt = p.formatter_class
    ntu = sub.add_parser(
        "ntu", help="a folder of raw NTU RGB+D .skeleton files -> OUT/xsub, OUT/xview", formatter_class=fmt
    )
    ntu.add_argument("--raw", required=True, type=Path, help="folder with the .skeleton files (searched recursively)")
    ntu.add_argument("--out", required=True, type=Path, help="output folder")
    ntu.add_argument(
        "--ignore-list", type=Path, help="samples to skip, one name per line (samples_with_missing_skeletons.txt)"
    )
    ntu.add_argument(
        "--benchmark",
        choices=("xsub", "xview", "both", "xsub120", "xset", "ntu120"),
        default="both",
        help="NTU 60: xsub, xview or both; NTU 120: xsub120, xset or ntu120 (both of them)",
    )
    ntu.add_argument(
        "--skip-bad", action="store_true", help="skip corrupt files (listed in convert_report.json) instead of stopping"
    )
    for name, helptext in (
        ("pyskl", "a pyskl / mmaction2 annotation pickle split -> OUT/{split}_*"),
        ("kinetics", "a folder of Kinetics-skeleton json files -> OUT/{split}_*"),
    ):
        q = sub.add_parser(name, help=helptext, formatter_class=fmt)
        if name == "pyskl":
            q.add_argument("--ann", required=True, type=Path, help="annotation pickle")
            q.add_argument("--split-name", required=True, help="split inside the pickle, e.g. xsub_train")
        else:
            q.add_argument("--data", required=True, type=Path, help="folder of per-clip .json files")
        q.add_argument("--out", required=True, type=Path, help="output folder")
        q.add_argument("--split", required=True, help="name of the written split, e.g. train or val")
    for q in sub.choices.values():
        q.add_argument(
            "--max-frames", type=cli.positive_int, default=300, help="pad/cut every clip to this many frames"
        )
        q.add_argument(
            "--max-body", type=cli.positive_int, default=2, help="body slots; extra bodies: the most active are kept"
        )
        cli.add_logging_flags(q)
        cli.add_progress_flag(q)
    return p


def run(args: argparse.Namespace) -> int:
    progress = cli.show_progress(args)
    if args.source == "ntu":
        benchmarks = {"both": ("xsub", "xview"), "ntu120": ("xsub120", "xset")}.get(args.benchmark, (args.benchmark,))
        report = convert_ntu(
            args.raw,
            args.out,
            read_ignore_list(args.ignore_list),
            args.max_frames,
            args.max_body,
            benchmarks,
            args.skip_bad,
            progress=progress,
        )
        for bench, sizes in report["sizes"].items():
            log.info("%s: train %d, val %d", bench, sizes["train"], sizes["val"])
        if report["empty"] or report["bad"]:
            log.warning(
                "skipped %d empty and %d corrupt files (see convert_report.json)",
                len(report["empty"]),
                len(report["bad"]),
            )
    elif args.source == "pyskl":
        n = convert_pyskl(
            args.ann, args.split_name, args.out, args.split, args.max_frames, args.max_body, progress=progress
        )
        log.info("%s: %d clips", args.split, n)
    else:
        n = convert_kinetics(args.data, args.out, args.split, args.max_frames, args.max_body, progress=progress)
        log.info("%s: %d clips", args.split, n)
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())
