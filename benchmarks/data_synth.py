"""How long the embedded data set and the raw NTU reader take.

- ``synth``: ``write_dataset`` with the default configuration (40 subjects x 30 classes
  x 2 performances, T=64, M=1: 2400 clips, both benchmarks written), median of
  ``--repeats`` runs, split
  into generation (kinematics, views, jitter) and writing. The baseline is the cost of
  writing the same clips alone (``save_split`` of both benchmarks), so the ratio says
  how much the generator adds on top of plain I/O.
- ``ntu_reader``: ``read_ntu_skeleton`` on a 100-frame file with two bodies, written
  here in the official text format (NTU clips average ~80 frames): files per second,
  hence the hours a full NTU 60 conversion (56,880 files) spends parsing.

Prints the numbers and writes ``benchmarks/results/data_synth.json`` (or ``--out``).
Run: ``python benchmarks/data_synth.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.data.ntu_raw import read_ntu_skeleton  # noqa: E402
from ciasa.data.stgcn import save_split  # noqa: E402
from ciasa.data.synth.generate import SynthConfig, class_names, generate, split_of, write_dataset  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"


def bench_synth(repeats: int) -> dict:
    config = SynthConfig()
    totals, gens, writes = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            meta = write_dataset(Path(tmp) / "synth", config, progress=False)
            totals.append(time.perf_counter() - t0)
            gens.append(meta["generation_seconds"])
        # baseline: writing the same clips, no generation
        samples = generate(config)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            for bench in ("xsub", "xview"):
                for split in ("train", "val"):
                    part = [s for s in samples if split_of(s, bench) == split]
                    save_split(
                        Path(tmp) / bench,
                        split,
                        np.stack([s.clip for s in part]),
                        [s.name for s in part],
                        [s.label for s in part],
                        class_names(),
                    )
            writes.append(time.perf_counter() - t0)
    total, gen, write = statistics.median(totals), statistics.median(gens), statistics.median(writes)
    return {
        "clips": meta["samples"],
        "classes": len(meta["classes"]),
        "format": meta["format"],
        "ms_per_clip_total": round(1000 * total / meta["samples"], 3),
        "frames": config.frames,
        "bodies": config.bodies,
        "sizes": meta["sizes"],
        "total_seconds": round(total, 3),
        "generation_seconds": round(gen, 3),
        "ms_per_clip_generation": round(1000 * gen / meta["samples"], 3),
        "baseline_write_only_seconds": round(write, 3),
        "ratio_total_to_write_only": round(total / write, 2),
        "all_runs_total_seconds": [round(x, 3) for x in totals],
    }


def bench_ntu_reader(repeats: int, frames: int = 100) -> dict:
    rng = np.random.default_rng(0)
    lines = [str(frames)]
    for _ in range(frames):
        lines.append("2")
        for body in ("72057594037931101", "72057594037931102"):
            lines += [f"{body} 0 1 1 1 1 0 0.01 -0.02 2", "25"]
            for x, y, z in rng.normal(size=(25, 3)):
                lines.append(f"{x:.7f} {y:.7f} {3 + z:.7f} 250.1 200.2 960.3 540.4 0.1 0.2 0.3 0.9 2")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "S001C001P001R001A001.skeleton"
        path.write_text("\n".join(lines) + "\n")
        n = 30
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(n):
                read_ntu_skeleton(path)
            times.append((time.perf_counter() - t0) / n)
    per_file = statistics.median(times)
    return {
        "frames": frames,
        "bodies_in_file": 2,
        "ms_per_file": round(1000 * per_file, 3),
        "files_per_second": round(1 / per_file, 1),
        "ntu60_parse_hours_estimate": round(56880 * per_file * 0.8 / 3600, 2),  # NTU clips average ~80 frames
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "data_synth.json")
    args = parser.parse_args()
    result = {
        "benchmark": "data_synth",
        "command": f"python benchmarks/data_synth.py --repeats {args.repeats}",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },  # shared machine: context
        "commit": _git_commit(),
        "synth": bench_synth(args.repeats),
        "ntu_reader": bench_ntu_reader(args.repeats),
    }
    print(json.dumps(result, indent=2))
    atomic_write_json(args.out, result)


if __name__ == "__main__":
    main()
