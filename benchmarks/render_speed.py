"""Render stage numbers: seconds per frame per quality preset and resolution on one CPU
core, per engine, per-clip overhead with and without batch mode, retargeting error.

    .venv/bin/python benchmarks/render_speed.py --parts presets   # -> results/render_speed_presets.json
    .venv/bin/python benchmarks/render_speed.py --parts aa        # draft with/without FXAA -> results/render_speed_aa.json
    .venv/bin/python benchmarks/render_speed.py [--quick] [--eevee] --parts speed,retarget
    .venv/bin/python benchmarks/render_speed.py --parts clip [--repeats 3]  # -> results/render_clip_session.json

``clip`` is the pipeline's render job before and after issue 25: a clip's three conditions
(clean, control, perturbed; 64 frames each, the demo's draft 320x240 on one thread) as three
``python -m render`` processes (one per condition, as the pipeline ran them) and as one
process with three --skeleton/--out pairs (one Blender session), alternating, ``--repeats``
pairs; CPU (user + system of the child) and wall seconds of each, and each render's own
start-up, frame and encode seconds from its render.json.

``presets`` renders a few frames per preset and resolution with ``--threads 1`` (Blender and
Mesa's software GL on one thread) and records both wall and CPU seconds per frame: on a
shared machine the CPU time is the number to compare, the wall time shows the load.
Writes benchmarks/results/render_speed.json, render_speed_presets.json and
render_retarget.json. The machine's load average is recorded with the numbers.
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

from ciasa.io import atomic_write_json  # noqa: E402
from render.demo_motion import waving_clip  # noqa: E402


def _machine() -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "loadavg_1m": os.getloadavg()[0]}


def engine_speed(tmp: Path, configs: list[tuple[str, str, int, str]]) -> list[dict]:
    from render.clip import Renderer, RenderOptions, parse_resolution

    rows = []
    for engine, res, frames, aa in configs:
        w, h = parse_resolution(res)
        renderer = Renderer(RenderOptions(engine=engine, width=w, height=h, workbench_aa=aa), progress=False)
        clip = waving_clip(frames)
        # The first clip of a session pays the body build; time the second.
        renderer.render(waving_clip(2), tmp / f"warm_{engine}_{res}.mp4", seed=1)
        rep = renderer.render(clip, tmp / f"{engine}_{res}.mp4", seed=1)
        row = {
            "engine": engine,
            "resolution": res,
            "frames": frames,
            "workbench_aa": aa if engine == "workbench" else None,
            "s_per_frame": round(rep.seconds["per_frame_render_s"], 4),
            "encode_s": rep.seconds["encode_s"],
            "loadavg_1m": os.getloadavg()[0],
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


PRESET_CONFIGS = [  # (quality, camera, resolution, frames)
    ("draft", "default", "320x240", 6),
    ("draft", "default", "480x360", 6),
    ("draft", "default", "640x480", 6),
    ("draft", "kinect-v2-rgb", "1920x1080", 3),
    ("standard", "default", "320x240", 6),
    ("standard", "default", "480x360", 6),
    ("standard", "default", "640x480", 6),
    ("standard", "kinect-v2-rgb", "1920x1080", 3),
    ("photo", "default", "320x240", 2),
    ("photo", "default", "480x360", 2),
]


def preset_speed(tmp: Path, configs: list[tuple[str, str, str, int]]) -> list[dict]:
    """Seconds per frame of each quality preset on one thread (the second clip of a session:
    the first pays the body build and the texture upload)."""
    from render.clip import Renderer, RenderOptions, parse_resolution

    rows = []
    for quality, camera, res, frames in configs:
        w, h = parse_resolution(res)
        renderer = Renderer(RenderOptions(quality=quality, camera=camera, width=w, height=h, threads=1), progress=False)
        renderer.render(waving_clip(1), tmp / f"warm_{quality}_{res}.mp4", seed=1)
        rep = renderer.render(waving_clip(frames), tmp / f"{quality}_{res}.mp4", seed=1)
        row = {
            "quality": quality,
            "camera": camera,
            "resolution": res,
            "frames": frames,
            "engine": rep.engine,
            "body": rep.body,
            "threads": 1,
            "cpu_s_per_frame": round(rep.seconds["per_frame_render_cpu_s"], 3),
            "wall_s_per_frame": round(rep.seconds["per_frame_render_s"], 3),
            "encode_s": rep.seconds["encode_s"],
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def aa_speed(tmp: Path, repeats: int, frames: int, resolutions: tuple[str, ...] = ("320x240", "480x360")) -> dict:
    """The draft preset with and without FXAA, alternating in one process on one thread: CPU
    seconds per frame (the second clip of each renderer, as :func:`preset_speed`)."""
    from render.clip import Renderer, RenderOptions, parse_resolution

    rows = []
    for res in resolutions:
        w, h = parse_resolution(res)
        for i in range(repeats):
            for aa in ("FXAA", "OFF"):  # one Blender session at a time: bpy is one per process
                renderer = Renderer(
                    RenderOptions(quality="draft", width=w, height=h, threads=1, workbench_aa=aa), progress=False
                )
                renderer.render(waving_clip(1), tmp / f"warm_{aa}_{res}.mp4", seed=1)
                rep = renderer.render(waving_clip(frames), tmp / f"aa_{aa}_{res}.mp4", seed=1)
                row = {
                    "resolution": res,
                    "workbench_aa": aa,
                    "repeat": i,
                    "frames": frames,
                    "cpu_s_per_frame": round(rep.seconds["per_frame_render_cpu_s"], 4),
                    "wall_s_per_frame": round(rep.seconds["per_frame_render_s"], 4),
                    "loadavg_1m": round(os.getloadavg()[0], 2),
                }
                print(json.dumps(row), flush=True)
                rows.append(row)
    medians = {
        res: {
            aa: statistics.median(
                r["cpu_s_per_frame"] for r in rows if r["resolution"] == res and r["workbench_aa"] == aa
            )
            for aa in ("FXAA", "OFF")
        }
        for res in resolutions
    }
    return {
        "rows": rows,
        "median_cpu_s_per_frame": medians,
        "cpu_ratio_off_over_fxaa": {res: round(m["OFF"] / m["FXAA"], 3) for res, m in medians.items()},
    }


def batch_overhead(tmp: Path, clips: int, frames: int, res: str) -> dict:
    """``clips`` short clips: one process each vs one batch; overhead = wall time minus frame rendering."""
    from ciasa.data.stgcn import save_split

    data = np.stack([waving_clip(frames, turn_deg=10 + 5 * i) for i in range(clips)])
    names = [f"S001C001P{i + 1:03d}R001A001" for i in range(clips)]
    save_split(tmp / "data", "val", data, names, [0] * clips)
    single_wall, single_render = [], []
    for i, name in enumerate(names):
        np.save(tmp / f"{name}.npy", data[i])
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "render",
                "--skeleton",
                str(tmp / f"{name}.npy"),
                "--out",
                str(tmp / "single" / f"{name}.mp4"),
                "--resolution",
                res,
                "--scene-id",
                name,
            ],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        single_wall.append(time.perf_counter() - t0)
        rep = json.loads((tmp / "single" / f"{name}.render.json").read_text())
        single_render.append(rep["seconds"]["render_s"])
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "render",
            "batch",
            "--data",
            str(tmp / "data"),
            "--split",
            "val",
            "--out-dir",
            str(tmp / "batch"),
            "--resolution",
            res,
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    batch_wall = time.perf_counter() - t0
    batch_render = sum(
        json.loads((tmp / "batch" / f"{n}.render.json").read_text())["seconds"]["render_s"] for n in names
    )
    single_over = (sum(single_wall) - sum(single_render)) / clips
    batch_over = (batch_wall - batch_render) / clips
    row = {
        "clips": clips,
        "frames_per_clip": frames,
        "resolution": res,
        "single_process_wall_s_per_clip": round(sum(single_wall) / clips, 3),
        "single_process_overhead_s_per_clip": round(single_over, 3),
        "batch_wall_s_per_clip": round(batch_wall / clips, 3),
        "batch_overhead_s_per_clip": round(batch_over, 3),
        "overhead_ratio_single_over_batch": round(single_over / max(batch_over, 1e-9), 2),
        "loadavg_1m": os.getloadavg()[0],
    }
    print(json.dumps(row), flush=True)
    return row


def retarget_error(tmp: Path) -> dict:
    """Posed-armature joint error on the demo motion (constant bone lengths) and on the
    synthetic NTU-like set (Kinect-like bone-length noise)."""
    from render.body_default import build_default_body
    from render.body_makehuman import build_makehuman_body
    from render.retarget import joint_error, retarget

    out: dict = {}
    rests = {"default": build_default_body().rest, "makehuman": build_makehuman_body().rest}
    demo = waving_clip(90)[..., 0].transpose(1, 2, 0)
    for body, rest in rests.items():
        e = joint_error(retarget(demo, rest), demo)
        out[f"demo_constant_lengths_{body}_max_mm"] = round(e["max_m"] * 1000, 6)
    subprocess.run(
        [sys.executable, "-m", "ciasa.data.synth", "--out", str(tmp / "synth")],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    from ciasa.data.stgcn import load_split

    ds = load_split(tmp / "synth" / "xview", "val")
    maxes, nonterm, t0 = [], [], time.perf_counter()
    frames = 0
    for i in range(len(ds)):
        for m in range(ds.data.shape[-1]):
            x = np.asarray(ds.data[i, ..., m]).transpose(1, 2, 0)
            if not np.any(x):
                continue
            e = joint_error(retarget(x, rests["default"]), x)
            maxes.append(e["max_m"] * 1000)
            nonterm.append(e["max_nonterminal_m"] * 1000)
            frames += x.shape[0]
    maxes = np.array(maxes)
    out.update(
        {
            "synth_xview_val_sequences": int(len(maxes)),
            "synth_max_mm_median": round(float(np.median(maxes)), 4),
            "synth_max_mm_p95": round(float(np.percentile(maxes, 95)), 4),
            "synth_max_mm_worst": round(float(maxes.max()), 4),
            "synth_sequences_within_1mm": round(float(np.mean(maxes <= 1.0)), 4),
            "synth_nonterminal_max_mm_worst": round(float(max(nonterm)), 6),
            "retarget_ms_per_frame": round((time.perf_counter() - t0) / frames * 1000, 4),
            "note": "errors above 1 mm come only from terminal joints (thumbs, hand tips, feet) whose input bone "
            "length leaves the drawable band [0.1, 3.0] x median (Kinect-like collapses); all other joints "
            "are bone heads placed exactly",
        }
    )
    print(json.dumps(out), flush=True)
    return out


def _child_times(cmd: list[str]) -> tuple[float, float]:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def clip_session(tmp: Path, repeats: int, frames: int = 64, res: str = "320x240") -> dict:
    """One clip's three conditions: three render processes vs one session (see the docstring)."""
    rng = np.random.default_rng(0)
    clean = waving_clip(frames).astype(np.float32)
    paths = {}
    for name in ("clean", "control", "perturbed"):
        clip = clean.copy()
        if name != "clean":
            clip[:, :, 12:20] += rng.normal(0, 0.03, clip[:, :, 12:20].shape).astype(np.float32)
        paths[name] = tmp / f"cond_{name}.npy"
        np.save(paths[name], clip)
    common = [
        "--reference",
        str(paths["clean"]),
        "--scene-id",
        "S001C001P001R001A024",
        "--quality",
        "draft",
        "--camera",
        "default",
        "--resolution",
        res,
        "--fps",
        "30",
        "--hfov",
        "70",
        "--threads",
        "1",
        "--no-progress",
    ]

    def separate(out: Path) -> tuple[float, float]:
        wall = cpu = 0.0
        for name, path in paths.items():
            w, c = _child_times(
                [sys.executable, "-m", "render", "--skeleton", str(path), "--out", str(out / f"{name}.mp4"), *common]
            )
            wall, cpu = wall + w, cpu + c
        return wall, cpu

    def one(out: Path) -> tuple[float, float]:
        pairs = [
            a for name, path in paths.items() for a in ("--skeleton", str(path), "--out", str(out / f"{name}.mp4"))
        ]
        return _child_times([sys.executable, "-m", "render", *pairs, *common])

    def parts(out: Path) -> dict:
        secs = [json.loads((out / f"{n}.render.json").read_text())["seconds"] for n in paths]
        return {
            k: round(sum(s.get(k, 0.0) for s in secs), 3) for k in ("startup_s", "render_s", "render_cpu_s", "encode_s")
        }

    one(tmp / "warm")  # the first Blender start after a while reads its libraries from disk
    rows = []
    for i in range(repeats):
        row = {}
        for which in ("separate", "one") if i % 2 == 0 else ("one", "separate"):
            out = tmp / f"{which}_{i}"
            wall, cpu = (separate if which == "separate" else one)(out)
            row[which] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), **parts(out)}
        row["cpu_ratio_one_over_separate"] = round(row["one"]["cpu_s"] / row["separate"]["cpu_s"], 3)
        row["wall_ratio_one_over_separate"] = round(row["one"]["wall_s"] / row["separate"]["wall_s"], 3)
        row["loadavg_1m"] = os.getloadavg()[0]
        print(json.dumps(row), flush=True)
        rows.append(row)
    med = {
        w: {k: statistics.median(r[w][k] for r in rows) for k in ("wall_s", "cpu_s", "startup_s", "render_cpu_s")}
        for w in ("separate", "one")
    }
    sep = med["separate"]
    return {
        "frames_per_condition": frames,
        "resolution": res,
        "conditions": list(paths),
        "repeats": repeats,
        "pairs": rows,
        "median": med,
        "median_cpu_ratio_one_over_separate": statistics.median(r["cpu_ratio_one_over_separate"] for r in rows),
        "median_wall_ratio_one_over_separate": statistics.median(r["wall_ratio_one_over_separate"] for r in rows),
        # CPU outside the frames: Python and Blender start-up, scene set-up, retargeting, encoding
        "separate_cpu_outside_frames_share": round(1 - sep["render_cpu_s"] / sep["cpu_s"], 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer frames and configurations")
    ap.add_argument("--eevee", action="store_true", help="also time EEVEE (software GL: slow)")
    ap.add_argument(
        "--parts",
        default="presets",
        help="comma list of: presets (quality presets on one core), speed (engines + batch overhead), "
        "retarget, clip (a clip's conditions: one process each vs one session), aa (the draft "
        "preset with and without FXAA)",
    )
    ap.add_argument("--repeats", type=int, default=3, help="clip: alternating separate/one-session pairs")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    results = REPO / "benchmarks" / "results"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        n = 6 if args.quick else 24
        # The 8-sample Workbench run right after the FXAA one at 480x360 is the baseline
        # for the anti-aliasing default (same run, same load).
        configs = [
            ("workbench", "320x240", n, "FXAA"),
            ("workbench", "480x360", n, "FXAA"),
            ("workbench", "480x360", n, "8"),
            ("workbench", "640x480", n, "FXAA"),
            ("cycles", "320x240", 3, "FXAA"),
            ("cycles", "480x360", 3, "FXAA"),
        ]
        if args.eevee:
            configs.append(("eevee", "320x240", 2, "FXAA"))
        command = " ".join(["benchmarks/render_speed.py", *sys.argv[1:]])
        if "presets" in parts:
            machine = _machine()
            rows = preset_speed(
                tmp, PRESET_CONFIGS[:2] + PRESET_CONFIGS[4:6] + PRESET_CONFIGS[8:9] if args.quick else PRESET_CONFIGS
            )
            machine["loadavg_1m_end"] = os.getloadavg()[0]
            atomic_write_json(
                results / "render_speed_presets.json",
                {
                    "machine": machine,
                    "command": command,
                    "presets": rows,
                    "note": "one thread (--threads 1: Blender and LP_NUM_THREADS=1); cpu_s_per_frame is "
                    "the process's CPU time over the frames rendered, the number to compare on "
                    "a shared machine; wall_s_per_frame includes waiting for the CPU",
                },
            )
        if "speed" in parts:
            engines = engine_speed(tmp, configs)
            fx = next(r for r in engines if r["resolution"] == "480x360" and r["workbench_aa"] == "FXAA")
            aa8 = next(r for r in engines if r["resolution"] == "480x360" and r["workbench_aa"] == "8")
            speed = {
                "machine": _machine(),
                "command": command,
                "engines": engines,
                "workbench_480x360_8aa_over_fxaa": round(aa8["s_per_frame"] / fx["s_per_frame"], 2),
                "batch_vs_single": batch_overhead(tmp, clips=3 if args.quick else 4, frames=8, res="320x240"),
            }
            speed["machine"]["loadavg_1m_end"] = os.getloadavg()[0]
            atomic_write_json(results / "render_speed.json", speed)
        if "clip" in parts:
            load0 = _machine()
            result = clip_session(tmp, args.repeats, frames=8 if args.quick else 64)
            atomic_write_json(
                results / "render_clip_session.json",
                {"machine": load0, "loadavg_1m_end": os.getloadavg()[0], "command": command, "clip_session": result},
            )
            print(
                f"one session per clip / one process per condition: CPU x{result['median_cpu_ratio_one_over_separate']}"
                f", wall x{result['median_wall_ratio_one_over_separate']} (median of {args.repeats} pairs)"
            )
        if "aa" in parts:
            load0 = _machine()
            result = aa_speed(tmp, args.repeats, frames=8 if args.quick else 32)
            atomic_write_json(
                results / "render_speed_aa.json",
                {
                    "machine": load0,
                    "loadavg_1m_end": os.getloadavg()[0],
                    "command": command,
                    "aa": result,
                    "note": "one thread; cpu_s_per_frame is the process's CPU time over "
                    "the frames, medians over the alternating repeats",
                },
            )
            print(f"draft, CPU s/frame OFF / FXAA: {result['cpu_ratio_off_over_fxaa']}")
        if "retarget" in parts:
            atomic_write_json(
                results / "render_retarget.json",
                {"machine": _machine(), "command": command, "retarget": retarget_error(tmp)},
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
