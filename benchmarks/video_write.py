"""Should ``ciasa.video.encode_h264`` hand its frames to ``imageio_ffmpeg.write_frames``? (issue 24)

    .venv/bin/python benchmarks/video_write.py [--repeats 5] [--frames 64] [--sizes 320x240,640x480]

Both write the same clip with the same ffmpeg binary and the same x264 options (crf 23,
preset veryfast, yuv420p, ``+faststart``; ``write_frames`` with ``quality=None`` and
``macro_block_size=1`` so that it neither adds its own crf nor rescales), alternating
A/B ``--repeats`` times per frame size. Recorded per writer: wall seconds and the ffmpeg
child's CPU seconds (median), whether the decoded frames are identical; and whether
``write_frames`` notices an ffmpeg that exits non-zero. The clip is a moving gradient
with moving blocks, smooth like a render, not noise.

Writes ``benchmarks/results/video_write.json``; prints the wall and ffmpeg-CPU ratios write_frames / ours
(medians of the alternating pairs: on a loaded machine the CPU ratio is the steadier one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.video import encode_h264, read_all  # noqa: E402

CRF = 23
PRESET = "veryfast"


def clip(frames: int, width: int, height: int) -> np.ndarray:
    """(T, H, W, 3) uint8: a drifting colour gradient with two moving blocks."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        out[t, ..., 0] = (128 + 100 * np.sin((x + 3 * t) / 40)).astype(np.uint8)
        out[t, ..., 1] = (128 + 100 * np.cos((y - 2 * t) / 30)).astype(np.uint8)
        out[t, ..., 2] = ((x + y + 5 * t) % 256).astype(np.uint8)
        for k, (bx, by) in enumerate(((20 + 4 * t, 30), (width // 2, 20 + 3 * t))):
            out[t, by % height : by % height + height // 6, bx % width : bx % width + width // 8] = 40 + 90 * k
    return out


def write_ours(frames: np.ndarray, path: Path, fps: float) -> None:
    encode_h264(iter(frames), path, fps=fps, crf=CRF)


def write_imageio(frames: np.ndarray, path: Path, fps: float) -> None:
    import imageio_ffmpeg

    h, w = frames.shape[1:3]
    gen = imageio_ffmpeg.write_frames(
        str(path),
        (w, h),
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        fps=fps,
        quality=None,
        codec="libx264",
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-crf", str(CRF), "-preset", PRESET, "-movflags", "+faststart", "-f", "mp4"],
    )
    gen.send(None)
    for frame in frames:
        gen.send(np.ascontiguousarray(frame))
    gen.close()


def timed(write: Callable[[np.ndarray, Path, float], None], frames: np.ndarray, path: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    write(frames, path, 30.0)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def write_frames_notices_a_failing_ffmpeg(tmp: Path) -> dict:
    """Three 63x47 frames: libx264 refuses odd sizes in yuv420p, so ffmpeg exits 1 (too few
    bytes to fill the pipe, so no broken pipe either). Does ``write_frames`` raise?
    (``encode_h264`` pads odd sizes, and raises ``EncodeError`` whenever ffmpeg exits non-zero.)"""
    import imageio_ffmpeg

    target = tmp / "odd.mp4"
    try:
        gen = imageio_ffmpeg.write_frames(
            str(target), (63, 47), fps=30.0, quality=None, codec="libx264", macro_block_size=1, ffmpeg_log_level="quiet"
        )
        gen.send(None)
        for _ in range(3):
            gen.send(np.zeros((47, 63, 3), np.uint8))
        gen.close()
    except Exception as err:  # noqa: BLE001 - recording what it raises is the point
        return {"raised": True, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
    return {"raised": False, "bytes_left_at_the_path": target.stat().st_size if target.exists() else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="alternating A/B pairs per frame size")
    p.add_argument("--frames", type=int, default=64, help="frames per clip (the demo's clip length)")
    p.add_argument("--sizes", default="320x240,640x480", help="frame sizes WxH, comma-separated")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "video_write.json"), help="result JSON")
    args = p.parse_args(argv)
    writers = {"encode_h264": write_ours, "write_frames": write_imageio}
    result: dict = {
        "frames": args.frames,
        "repeats": args.repeats,
        "crf": CRF,
        "preset": PRESET,
        "sizes": {},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_start": os.getloadavg()},
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for size in args.sizes.split(","):
            w, h = (int(v) for v in size.split("x"))
            frames = clip(args.frames, w, h)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in writers}
            for _ in range(args.repeats):
                for name, write in writers.items():
                    runs[name].append(timed(write, frames, tmp / f"{name}.mp4"))
            decoded = {name: read_all(tmp / f"{name}.mp4") for name in writers}
            entry = {
                name: {
                    "median_wall_s": round(statistics.median(r["wall_s"] for r in rs), 4),
                    "median_cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 4),
                    "bytes": (tmp / f"{name}.mp4").stat().st_size,
                    "decoded_frames": int(len(decoded[name])),
                }
                for name, rs in runs.items()
            }
            entry["same_decoded_frames"] = bool(np.array_equal(decoded["encode_h264"], decoded["write_frames"]))
            for measure in ("wall", "cpu"):
                ratios = [
                    round(b[f"{measure}_s"] / a[f"{measure}_s"], 3)
                    for a, b in zip(runs["encode_h264"], runs["write_frames"])
                ]
                entry[f"pair_{measure}_ratios"] = ratios
                entry[f"{measure}_ratio_write_frames_over_ours"] = round(statistics.median(ratios), 3)
            result["sizes"][size] = entry
            print(
                f"{size}: write_frames / encode_h264 wall = {entry['wall_ratio_write_frames_over_ours']}, "
                f"ffmpeg CPU = {entry['cpu_ratio_write_frames_over_ours']} (medians of {args.repeats} pairs), "
                f"same frames: {entry['same_decoded_frames']}"
            )
        result["write_frames_on_ffmpeg_failure"] = write_frames_notices_a_failing_ffmpeg(tmp)
    result["machine"]["loadavg_end"] = os.getloadavg()
    print("write_frames when ffmpeg fails:", json.dumps(result["write_frames_on_ffmpeg_failure"]))
    atomic_write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
