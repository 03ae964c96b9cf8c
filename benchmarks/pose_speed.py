"""Extraction speed in frames per CPU-second, this checkout against an earlier commit.

Runs ``python -m pose_extract batch`` over the same videos once with the code of each
commit (``git archive COMMIT pose_extract ciasa`` into a temporary folder, the current
working tree for ``HEAD``), one process each, one after the other, and counts the CPU
time of the child process (decoding, MediaPipe with its threads, lifting; the ~2 s of
imports and model loading included). Frames per CPU-second = frames/s per core.

    python benchmarks/pose_speed.py --before 8a00a70 --videos 'build/pose_320/val/*.mp4'
"""

from __future__ import annotations

import argparse
import glob
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.io import atomic_write_json  # noqa: E402


def frame_count(videos: list[Path]) -> int:
    from ciasa.video import probe

    return sum(probe(v).frame_count for v in videos)


def run(root: Path, videos: list[Path], out_dir: Path, extra: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "pose_extract",
        "batch",
        "--videos",
        *map(str, videos),
        "--out-dir",
        str(out_dir),
        "--quiet",
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{root}: pose_extract batch failed ({proc.returncode}): {proc.stderr[-1000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", default="8a00a70", help="earlier commit to compare with")
    p.add_argument(
        "--videos",
        default=str(REPO / "build" / "pose_320" / "val" / "*.mp4"),
        help="glob of rendered videos (each with its .camera.json)",
    )
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pose_speed.json")
    args = p.parse_args()
    videos = sorted(Path(v) for v in glob.glob(args.videos))
    if not videos:
        print(f"error: no video matches {args.videos}", file=sys.stderr)
        return 2
    frames = frame_count(videos)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        old.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.before, "pose_extract", "ciasa"], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        for label, root in ((f"before ({args.before})", old), ("after (working tree)", REPO)):
            r = run(root, videos, Path(tmp) / label.split()[0], [])
            r["frames_per_cpu_second"] = round(frames / r["cpu_seconds"], 1)
            r["frames_per_second_wall"] = round(frames / r["wall_seconds"], 1)
            results[label] = r
            print(label, r, flush=True)
    out = {
        "what": "pose_extract batch over the same videos, default options of each version",
        "command": "python benchmarks/pose_speed.py " + " ".join(sys.argv[1:]),
        "videos": len(videos),
        "frames": frames,
        "results": results,
        "note": "CPU of the child process incl. imports and model loading; the machine is shared, so compare "
        "the two rows of one run, not runs on different days",
    }
    atomic_write_json(args.out, out)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
