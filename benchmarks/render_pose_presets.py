"""What the render preset does to the measurement: pose accuracy of the extraction stage on
renders of real motion (and a summary of the synthetic runs) per quality preset.

    .venv/bin/python benchmarks/render_pose_presets.py --tag mini --clips dribble_forward_s06,mj_hop_s131,punch_s02_a --frames 12 --presets draft,standard,photo
    .venv/bin/python benchmarks/render_pose_presets.py --tag all --presets draft,standard
    .venv/bin/python benchmarks/render_pose_presets.py --summary-only

Each preset renders the same clips (``benchmarks/pose_real.py`` with ``--render-args
"--quality Q --threads 1 ..."``; subsets of ``../shared/real_motion`` are cut into a
temporary folder, never into the repository) and writes
``benchmarks/results/render_pose_real_TAG_Q.json``. The synthetic runs come from
``benchmarks/pose_accuracy.py --per-view 2 --no-real --render-args "--resolution R --quality Q"
--out benchmarks/results/render_pose_synth_Q_R.json``. ``--summary-only`` collects the
headline numbers of every such file into ``benchmarks/results/render_pose_presets.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results"
KEYS = ("pa_mpjpe_all_fit_all_mm", "pa_mpjpe_limbs_mm", "mpjpe_all_mm", "swap_rate")


def cut_subset(real: Path, clips: list[str] | None, frames: int | None, out: Path) -> Path:
    """index.json + the chosen clips, each cut to its first ``frames`` frames."""
    index = json.loads((real / "index.json").read_text())
    chosen = [e for e in index if clips is None or Path(e["file"]).stem in clips]
    if clips is not None and len(chosen) != len(clips):
        raise SystemExit(f"{real}: not all of {clips} are in index.json")
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for e in chosen:
        clip = np.load(real / e["file"])
        if frames:
            clip = clip[:, :frames]
        np.save(out / e["file"], clip)
        entries.append({**e, "frames": int(clip.shape[1])})
    (out / "index.json").write_text(json.dumps(entries, indent=1))
    return out


def summary() -> dict:
    rows = []
    for path in sorted(RESULTS.glob("render_pose_real_*.json")) + sorted(RESULTS.glob("render_pose_synth_*.json")):
        r = json.loads(path.read_text())
        default = r["variants"]["default"]
        parts = {p: default.get(p) for p in ("all", "held_out") if default.get(p)}
        det = r.get("detection_rate") or r.get("detection", {}).get("all")
        rows.append(
            {
                "file": path.name,
                "command": r.get("command"),
                "detection": det if not isinstance(det, dict) else det.get("all", det.get("rate")),
                **{p: {"frames": a.get("frames"), **{k: a.get(k) for k in KEYS}} for p, a in parts.items()},
            }
        )
    return {"what": "pose extraction accuracy on renders per quality preset (default extraction options)", "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=REPO.parent / "shared" / "real_motion", help="real-motion folder")
    ap.add_argument("--clips", help="comma list of clip names (default: all)")
    ap.add_argument("--frames", type=int, help="cut each clip to its first N frames")
    ap.add_argument("--presets", default="draft,standard", help="comma list of quality presets")
    ap.add_argument("--resolution", default="320x240", help="render size")
    ap.add_argument("--cycles-samples", default="16", help="photo preset: samples per pixel")
    ap.add_argument("--tag", default="all", help="name of this clip selection in the output files")
    ap.add_argument("--summary-only", action="store_true", help="only collect existing results")
    args = ap.parse_args()
    if not args.summary_only:
        with tempfile.TemporaryDirectory() as d:
            real = args.real
            if args.clips or args.frames:
                real = cut_subset(
                    args.real, args.clips.split(",") if args.clips else None, args.frames, Path(d) / "real"
                )
            for q in args.presets.split(","):
                render_args = f"--resolution {args.resolution} --quality {q} --threads 1 --no-progress"
                if q == "photo":
                    render_args += f" --cycles-samples {args.cycles_samples}"
                subprocess.run(
                    [
                        sys.executable,
                        str(REPO / "benchmarks" / "pose_real.py"),
                        "--real",
                        str(real),
                        "--work",
                        str(Path(tempfile.gettempdir()) / f"render_pose_{args.tag}_{q}"),
                        "--render-args",
                        render_args,
                        "--out",
                        str(RESULTS / f"render_pose_real_{args.tag}_{q}.json"),
                    ],
                    check=True,
                    cwd=REPO,
                )
    from ciasa.io import atomic_write_json

    result = summary()
    atomic_write_json(RESULTS / "render_pose_presets.json", result)
    for row in result["rows"]:
        a = row.get("held_out") or row.get("all")
        print(f"{row['file']:<42} det {row['detection']}  " + "  ".join(f"{k} {a[k]}" for k in KEYS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
