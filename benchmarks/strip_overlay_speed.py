"""Where the report's per-clip figures spend their time, and the strip before/after (issue 25).

    .venv/bin/python benchmarks/strip_overlay_speed.py [--repeats 5] [--before-ref d0558e1]

Strips: the skeleton strip of one clip as the pipeline's ``plot_strip`` job draws it, today's
command (``python -m report.figures`` on the code of ``--before-ref``, a ``git archive``
copy) and this tree's (``python -m pipeline.strip``), alternating, ``--repeats`` pairs on the
same arrays. Each process's wall and CPU seconds (user + system of the child) are recorded,
and its import time alone (``-c 'import MODULE'``), so start-up and drawing separate.

Overlays: one ``python -m pipeline.overlay`` process on a rendered clip, and inside one
process the split into imports, decoding, drawing and encoding.

Writes ``benchmarks/results/strip_overlay_speed.json`` with the machine's load average: on
a shared machine compare the CPU seconds and the ratios of the alternating pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.io import atomic_write_json  # noqa: E402


def timed_process(cmd: list[str], cwd: Path) -> dict:
    """Wall and CPU (user + system) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}


def checkout(ref: str, target: Path) -> Path:
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO, capture_output=True, check=True)
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def make_clips(tmp: Path) -> dict[str, Path]:
    """A clean clip, a leg perturbation, a control of the same size, and noisy 'recovered' copies."""
    from render.demo_motion import waving_clip

    rng = np.random.default_rng(0)
    clean = waving_clip(64).astype(np.float32)
    legs = list(range(12, 20))
    out = {}
    for name, scale in (("clean", 0.0), ("control", 0.03), ("perturbed", 0.03)):
        clip = clean.copy()
        clip[:, :, legs] += rng.normal(0, scale, clip[:, :, legs].shape).astype(np.float32)
        out[name] = tmp / f"{name}.npy"
        np.save(out[name], clip)
        rec = clip + rng.normal(0, 0.02, clip.shape).astype(np.float32)
        out[f"rec_{name}"] = tmp / f"rec_{name}.npy"
        np.save(out[f"rec_{name}"], rec)
    return out


def bench_strips(tmp: Path, before_repo: Path, repeats: int) -> dict:
    clips = make_clips(tmp)
    py = sys.executable
    before = [
        py,
        "-m",
        "report.figures",
        "--source-clean",
        str(clips["clean"]),
        "--source-perturbed",
        str(clips["perturbed"]),
        "--recovered-clean",
        str(clips["rec_clean"]),
        "--recovered-perturbed",
        str(clips["rec_perturbed"]),
        "--title",
        "S001C001P001R001A024",
        "--frames",
        "6",
        "--out",
        str(tmp / "strip_before.png"),
    ]
    after = [
        py,
        "-m",
        "pipeline.strip",
        "--title",
        "S001C001P001R001A024",
        "--frames",
        "6",
        "--out",
        str(tmp / "strip_after.png"),
    ]
    for c in ("clean", "control", "perturbed"):
        after += ["--source", f"{c}={clips[c]}", "--recovered", f"{c}={clips['rec_' + c]}"]
    # warm the page cache for both (the first start after a build reads every library from disk)
    timed_process(before, before_repo)
    timed_process(after, REPO)
    pairs = []
    for i in range(repeats):
        order = ("before", "after") if i % 2 == 0 else ("after", "before")
        row = {}
        for which in order:
            row[which] = timed_process(
                before if which == "before" else after, before_repo if which == "before" else REPO
            )
        row["cpu_ratio_after_over_before"] = round(row["after"]["cpu_s"] / row["before"]["cpu_s"], 3)
        row["wall_ratio_after_over_before"] = round(row["after"]["wall_s"] / row["before"]["wall_s"], 3)
        print(json.dumps(row), flush=True)
        pairs.append(row)
    imports = {
        "before_report_figures": timed_process([py, "-c", "import report.figures"], before_repo),
        "before_matplotlib_pyplot": timed_process(
            [py, "-c", "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"], before_repo
        ),
        "after_pipeline_strip": timed_process([py, "-c", "import pipeline.strip, cv2"], REPO),
        "python_nothing": timed_process([py, "-c", "pass"], REPO),
    }
    return {
        "before_command": "python -m report.figures (clean + perturbed, matplotlib; code of --before-ref)",
        "after_command": "python -m pipeline.strip (clean + control + perturbed, OpenCV)",
        "pairs": pairs,
        "median_cpu_s": {w: statistics.median(p[w]["cpu_s"] for p in pairs) for w in ("before", "after")},
        "median_wall_s": {w: statistics.median(p[w]["wall_s"] for p in pairs) for w in ("before", "after")},
        "median_cpu_ratio": statistics.median(p["cpu_ratio_after_over_before"] for p in pairs),
        "median_wall_ratio": statistics.median(p["wall_ratio_after_over_before"] for p in pairs),
        "imports": imports,
        "images": {"before": str(tmp / "strip_before.png"), "after": str(tmp / "strip_after.png")},
    }


def bench_overlay(tmp: Path) -> dict:
    """One overlay process, and its parts measured inside one process."""
    from render.clip import RenderOptions, render_clip

    clips = make_clips(tmp)
    video = tmp / "video" / "perturbed.mp4"
    render_clip(
        clips["perturbed"],
        video,
        RenderOptions(quality="draft", width=320, height=240, hfov=70, threads=1),
        scene_id="S001C001P001R001A024",
        reference=clips["clean"],
        progress=False,
    )
    cmd = [
        sys.executable,
        "-m",
        "pipeline.overlay",
        "--video",
        str(video),
        "--camera",
        str(video.with_suffix(".camera.json")),
        "--recovered",
        str(clips["rec_perturbed"]),
        "--source",
        str(clips["perturbed"]),
        "--reference",
        str(clips["clean"]),
        "--color",
        "red",
        "--label",
        "perturbed",
        "--out",
        str(tmp / "overlay.mp4"),
    ]
    timed_process(cmd, REPO)  # warm
    process = timed_process(cmd, REPO)
    parts_code = f"""
import json, time
t0 = time.perf_counter()
import numpy as np
from ciasa.camera import Camera
from ciasa.video import encode_h264, iter_frames
from pipeline import overlay
t1 = time.perf_counter()
frames = list(iter_frames({str(video)!r}))
t2 = time.perf_counter()
cam = Camera.load({str(video.with_suffix(".camera.json"))!r})
rec, src, ref = (np.load(p) for p in ({str(clips["rec_perturbed"])!r}, {str(clips["perturbed"])!r}, {str(clips["clean"])!r}))
t3 = time.perf_counter()
n = overlay.render_overlay({str(video)!r}, cam, {str(tmp / "overlay2.mp4")!r}, rec, src, 'red', 'perturbed', ref)
t4 = time.perf_counter()
encode_h264(iter(frames), {str(tmp / "plain.mp4")!r}, fps=30)
t5 = time.perf_counter()
print(json.dumps({{"imports_s": t1 - t0, "decode_s": t2 - t1, "overlay_total_s": t4 - t3, "encode_only_s": t5 - t4,
                  "frames": n}}))
"""
    proc = subprocess.run([sys.executable, "-c", parts_code], cwd=REPO, capture_output=True, text=True, check=True)
    parts = {k: round(v, 3) if isinstance(v, float) else v for k, v in json.loads(proc.stdout).items()}
    return {
        "process": process,
        "parts_in_one_process": parts,
        "python_nothing": timed_process([sys.executable, "-c", "pass"], REPO),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="alternating before/after pairs of strip processes")
    ap.add_argument("--before-ref", default="d0558e1", help="git commit whose report.figures is the 'before'")
    ap.add_argument("--keep", type=Path, help="keep the images and videos in this folder")
    args = ap.parse_args()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="strip-bench-") as d:
        tmp = args.keep or Path(d)
        tmp.mkdir(parents=True, exist_ok=True)
        before_repo = checkout(args.before_ref, Path(d) / "before_src")
        strips = bench_strips(tmp, before_repo, args.repeats)
        overlay = bench_overlay(tmp)
    out = {
        "command": "benchmarks/strip_overlay_speed.py " + " ".join(sys.argv[1:]),
        "before_ref": args.before_ref,
        "repeats": args.repeats,
        "strips": strips,
        "overlay": overlay,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "loadavg_before": [round(x, 2) for x in load0],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    path = REPO / "benchmarks" / "results" / "strip_overlay_speed.json"
    atomic_write_json(path, out)
    s = strips
    print(
        f"strip: CPU {s['median_cpu_s']['before']:.2f} -> {s['median_cpu_s']['after']:.2f} s "
        f"(median ratio {s['median_cpu_ratio']}), wall {s['median_wall_s']['before']:.2f} -> "
        f"{s['median_wall_s']['after']:.2f} s (median ratio {s['median_wall_ratio']}), n = {args.repeats} pairs"
    )
    print(f"overlay process: {overlay['process']}; parts: {overlay['parts_in_one_process']}")
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
