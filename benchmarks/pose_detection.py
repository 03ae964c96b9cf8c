"""Why people far from the camera lose frames, and what re-detection on a crop recovers.

Real-motion clips (``../shared/real_motion``: walking towards the sensor, walking, dribbling
backwards) are moved further from the sensor by 0 / 1.5 / 3 / 4.5 m (a pure depth shift:
the person gets smaller in the image, nothing else changes), rendered at the pipeline's
320x240 (cached outside the repository), and extracted twice: MediaPipe's tracker alone
(``--no-redetect``) and with re-detection on enlarged crops (the default). Reported per
clip and shift: the person's height in pixels, frames detected, frames found only on a
crop, CPU seconds per frame, and the errors (PA-MPJPE over the 12 limb joints and camera
MPJPE, both over the frames each setting detected).

    python benchmarks/pose_detection.py      # -> benchmarks/results/pose_detection.json
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.camera import Camera  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from pose_extract.accuracy import pa_errors  # noqa: E402
from pose_extract.extract import ExtractOptions, NoPersonError, extract  # noqa: E402
from pose_extract.landmarks import observed_joints  # noqa: E402

log = logging.getLogger("pose_detection")
CLIPS = ("walk_towards_s02", "walk_s06", "dribble_backward_s06")
SHIFTS_M = (0.0, 1.5, 3.0, 4.5)


def render(src: Path, mp4: Path, root: Path) -> None:
    if mp4.is_file() and mp4.with_name(mp4.stem + ".render.json").is_file():
        return
    cmd = [
        sys.executable,
        "-m",
        "render",
        "--skeleton",
        str(src),
        "--out",
        str(mp4),
        "--scene-id",
        mp4.stem,
        "--resolution",
        "320x240",
    ]
    subprocess.run(cmd, check=True, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(mp4: Path, truth: np.ndarray, redetect: bool) -> dict:
    options = ExtractOptions(redetect=redetect)
    cpu0 = time.process_time()
    try:
        e = extract(mp4, None, options, progress=False)
    except NoPersonError:
        return {
            "detected": 0,
            "frames": len(truth),
            "redetected": 0,
            "cpu_s_per_frame": round((time.process_time() - cpu0) / len(truth), 4),
        }
    cpu = time.process_time() - cpu0
    det = e.detections.detected
    pred = np.transpose(e.skeleton[..., 0], (1, 2, 0))
    return {
        "detected": int(det.sum()),
        "frames": int(len(det)),
        "redetected": int(e.detections.redetected.sum()),
        "cpu_s_per_frame": round(cpu / len(det), 4),
        "pa_mpjpe_limbs_mm": round(1000 * float(pa_errors(pred[det], truth[det], observed_joints()).mean()), 1),
        "mpjpe_all_mm": round(1000 * float(np.linalg.norm(pred[det] - truth[det], axis=-1).mean()), 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", type=Path, default=REPO.parent / "shared" / "real_motion", help="real-motion folder")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pose_far", help="render cache")
    p.add_argument("--render-root", type=Path, default=REPO, help="directory `python -m render` runs in")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pose_detection.json")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip in CLIPS:
        path = args.real / f"{clip}.npy"
        if not path.is_file():
            print(f"error: {path}: clip not found", file=sys.stderr)
            return 2
        source = np.load(path)
        for shift in SHIFTS_M:
            name = f"{clip}_z{shift}"
            moved = source.copy()
            moved[2] += shift
            src = work / f"{name}.src.npy"
            np.save(src, moved.astype(np.float32))
            mp4 = work / f"{name}.mp4"
            render(src, mp4, args.render_root)
            camera = Camera.load(work / f"{name}.camera.json")
            truth = np.transpose(moved[..., 0], (1, 2, 0))
            height = camera.fy * (truth[:, :, 1].max(1) - truth[:, :, 1].min(1)) / truth[:, 0, 2]
            row = {
                "clip": clip,
                "shift_m": shift,
                "height_px": [round(float(height.min())), round(float(height.max()))],
                "tracker_only": measure(mp4, truth, False),
                "redetect": measure(mp4, truth, True),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    total = {
        k: {"detected": sum(r[k]["detected"] for r in rows), "frames": sum(r[k]["frames"] for r in rows)}
        for k in ("tracker_only", "redetect")
    }
    result = {
        "what": "detection vs the person's size in pixels (320x240, 70 deg): MediaPipe's tracker alone vs "
        "re-detection on enlarged crops",
        "command": "python benchmarks/pose_detection.py " + " ".join(sys.argv[1:]),
        "total": total,
        "rows": rows,
    }
    atomic_write_json(args.out, result)
    print(json.dumps(total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
