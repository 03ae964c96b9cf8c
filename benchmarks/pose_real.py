"""Pose extraction on renders of real motion capture (the real-motion mode of pose_accuracy.py).

A folder of real clips (``index.json`` + ``NAME.npy`` of shape (3, T, 25, 1), NTU-25 in
Kinect camera space; e.g. ``../shared/real_motion``: CMU mocap, 4 subjects) is rendered with
``python -m render`` at the pipeline's 320x240 with the default body (cached outside the
repository), extracted once with raw options (MediaPipe's landmarks are cached), and every
variant is re-lifted from the same landmarks. Metrics per clip, per view (yaw), per label,
per subject group and over all clips, with per-joint and per-axis errors.

The defaults of ``pose_extract`` were chosen on subjects 2 and 5 (``DEV_SUBJECTS``); the
numbers that count are those of the other subjects (``held_out``), which no default was
chosen on. Nothing built from these clips goes into the repository except aggregate
statistics (this JSON, the round-trip error model).

``python benchmarks/pose_real.py`` runs it alone (-> ``benchmarks/results/pose_accuracy_real.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from ciasa.camera import Camera  # noqa: E402
from ciasa.io import atomic_save_npy, atomic_write_json  # noqa: E402
from ciasa.skeleton import NTU_RGBD  # noqa: E402
from pose_extract.extract import ExtractOptions, options_record  # noqa: E402

log = logging.getLogger("pose_real")
DEFAULT_REAL = REPO.parent / "shared" / "real_motion"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "pose_real"
DEV_SUBJECTS = (2, 5)  # the subjects every default was chosen on

# One change at a time from the defaults, plus the previous defaults.
VARIANTS = {
    "default": ExtractOptions(),
    "previous_defaults": ExtractOptions(body_prior="default", facing="turn", refiner="default"),
    "facing_off": ExtractOptions(facing="off"),
    "facing_turn90": ExtractOptions(facing="turn"),
    "facing_continuity": ExtractOptions(facing="continuity"),  # the previous default
    "with_body_prior": ExtractOptions(body_prior="default"),
    "with_refiner": ExtractOptions(refiner="default"),
    "no_jump_rejection": ExtractOptions(max_jump=None),
    "no_rays": ExtractOptions(rays=False),
    # the floor the renderer drew (written into the camera file; placed from the source
    # skeleton, 4 cm below its lowest foot joint, so never a default)
    "render_floor": ExtractOptions(floor_plane="auto"),
}


class BadRealSet(ValueError):
    """The real-motion folder or one of its clips is not what the benchmark expects."""


def load_index(folder: Path) -> list[dict]:
    """The clips of ``folder`` with their index entries; a missing index or a clip of the
    wrong shape is an error (a silently skipped clip would change the mean)."""
    index = folder / "index.json"
    if not index.is_file():
        raise BadRealSet(f"{folder}: no index.json (a real-motion folder lists its clips in index.json)")
    try:
        entries = json.loads(index.read_text())
    except json.JSONDecodeError as err:
        raise BadRealSet(f"{index}: not valid JSON ({err})") from None
    if not isinstance(entries, list) or not entries:
        raise BadRealSet(f"{index}: expected a non-empty list of clips")
    out = []
    for e in entries:
        path = folder / str(e.get("file", ""))
        if not path.is_file():
            raise BadRealSet(f"{index}: clip {e.get('file')!r} not found in {folder}")
        clip = np.load(path, mmap_mode="r")
        if clip.ndim != 4 or clip.shape[0] != 3 or clip.shape[2] != 25 or clip.shape[1] < 2:
            raise BadRealSet(f"{path}: shape {clip.shape}, expected (3, T, 25, M) NTU-25 joints")
        if not np.isfinite(np.asarray(clip)).all():
            raise BadRealSet(f"{path}: holds NaN or infinite coordinates")
        out.append({**e, "name": path.stem, "path": path})
    return out


# MediaPipe-side options: they change the cached landmarks, so each has its own cache
# (work/NAME/, the renders linked in) and is measured with the other options at their defaults.
DETECTOR_VARIANTS = {"no_smooth": {"smooth": False}, "no_redetect": {"redetect": False}}


def detector_variants(entries: list[dict], work: Path, render_args: str, render_root: Path) -> dict:
    out = {}
    for vname, detector in DETECTOR_VARIANTS.items():
        sub = work / vname
        sub.mkdir(parents=True, exist_ok=True)
        for e in entries:
            for suffix in (".mp4", ".camera.json", ".render.json", ".src.npy"):
                link = sub / f"{e['name']}{suffix}"
                if not link.exists():
                    link.symlink_to(work / f"{e['name']}{suffix}")
        records = prepare_clips(entries, sub, render_args, render_root, **detector)
        result = evaluate(records, {vname: ExtractOptions(**detector)})[vname]
        out[vname] = {k: result[k] for k in ("options", "held_out", "dev", "all")}
        out[vname]["detection"] = detection(records)["all"]
    return out


def prepare_clips(entries: list[dict], work: Path, render_args: str, render_root: Path, **detector) -> list[dict]:
    """Render (cached) and extract (cached raw landmarks) every clip; returns benchmark records."""
    import pose_accuracy as pa

    work.mkdir(parents=True, exist_ok=True)
    ns = argparse.Namespace(render_args=render_args, render_root=render_root)
    records = []
    for e in entries:
        name = e["name"]
        clip = np.load(e["path"]).astype(np.float32)
        render_record, summary = pa.render_and_extract(name, clip, work, ns, **detector)
        truth, present = pa.clip_frames(clip, render_record["frames_rendered"])
        if len(truth) != summary["frames"]:
            raise RuntimeError(f"{name}: {len(truth)} source frames but the video has {summary['frames']}")
        records.append(
            {
                "name": name,
                "entry": e,
                "truth": truth,
                "present": present,
                "out": work / f"{name}.npy",
                "summary": summary,
                "render": render_record,
                "camera": Camera.load(work / f"{name}.camera.json"),
            }
        )
    return records


def _group(rows: list[tuple[dict, dict]], key, per_joint: bool = True) -> dict:
    """Frame-weighted aggregates per group; without ``per_joint`` the per-joint/per-axis
    lists are left out (they are kept for the views and the subject split)."""
    import pose_accuracy as pa

    groups: dict[str, list[dict]] = {}
    for r, m in rows:
        groups.setdefault(key(r), []).append(m)
    out = {k: pa.aggregate(v) for k, v in sorted(groups.items())}
    if not per_joint:
        out = {k: {m: x for m, x in a.items() if not isinstance(x, list)} for k, a in out.items()}
    return out


def evaluate(records: list[dict], variants: dict[str, ExtractOptions] | None = None) -> dict:
    """Metrics of every variant, re-lifted from the cached landmarks."""
    import pose_accuracy as pa

    out: dict = {}
    for vname, options in (variants or VARIANTS).items():
        rows = []
        for r in records:
            pred, valid, _, p = pa.relift(r["out"], r["camera"], options, full=True)
            m = pa.clip_metrics(pred, r["truth"], valid & r["present"])
            m["mirrored_frames"] = int(p["mirrored"].sum())
            rows.append((r, m))
        held = [m for r, m in rows if r["entry"].get("subject") not in DEV_SUBJECTS]
        dev = [m for r, m in rows if r["entry"].get("subject") in DEV_SUBJECTS]
        out[vname] = {
            "options": options_record(options),
            "held_out": pa.aggregate(held) if held else None,
            "dev": pa.aggregate(dev) if dev else None,
            "all": pa.aggregate([m for _, m in rows]),
            "per_view": _group(
                rows, lambda r: f"yaw{int(r['entry'].get('yaw_deg', 0)):+d}", per_joint=vname == "default"
            ),
            "per_label": _group(rows, lambda r: str(r["entry"].get("label", r["name"])), per_joint=False),
            "per_subject": _group(rows, lambda r: f"subject {r['entry'].get('subject')}", per_joint=False),
            "per_clip": {
                r["name"]: {
                    k: (round(v, 2) if isinstance(v, float) else v) for k, v in m.items() if not isinstance(v, list)
                }
                for r, m in rows
            },
        }
    return out


def facing_choice(records: list[dict]) -> dict:
    """How the facing prior's settings were chosen: per setting, the detected frames whose
    (possibly mirrored) torso heading points more than 90 degrees away from the true one,
    on the dev subjects (where the choice was made) and on the held-out ones."""
    from pose_extract.facing import continuity_frames, facing_angle

    left = [NTU_RGBD.index(n) for n in ("left_shoulder", "left_hip")]
    right = [NTU_RGBD.index(n) for n in ("right_shoulder", "right_hip")]
    up = (NTU_RGBD.index("spine_shoulder"), NTU_RGBD.index("spine_base"))
    data = []
    for r in records:
        z = np.load(r["out"].with_suffix(".landmarks.npz"))
        det = z["detected"]
        t = r["camera"].to_camera(r["truth"][det])
        forward = np.cross(t[:, left].sum(1) - t[:, right].sum(1), t[:, up[0]] - t[:, up[1]])
        true = np.degrees(np.arctan2(forward[:, 0], -forward[:, 2]))
        data.append((r["entry"].get("subject") in DEV_SUBJECTS, true, facing_angle(z["world"][det])))
    settings = {"as read": lambda h: np.zeros(len(h), dtype=bool), "turn 90": lambda h: np.abs(h) > 90}
    for cost in (15, 30, 60, 90):
        for weight in (0.5, 2.0):
            settings[f"continuity switch {cost} weight {weight}"] = lambda h, c=cost, w=weight: continuity_frames(
                h, c, w
            )
    out = {}
    for name, rule in settings.items():
        counts = {"dev": [0, 0], "held_out": [0, 0]}
        for dev, true, read in data:
            heading = np.where(rule(read), 180.0 - read, read)
            c = counts["dev" if dev else "held_out"]
            c[0] += int((np.cos(np.radians(heading - true)) < 0).sum())
            c[1] += len(true)
        out[name] = {k: f"{a}/{b}" for k, (a, b) in counts.items()}
    return out


def detection(records: list[dict]) -> dict:
    """Detected frames per clip, per view and over all, counted from the raw detections."""
    det = {r["name"]: (int(r["summary"]["detected"]), int(r["summary"]["frames"])) for r in records}
    by_view: dict[str, list[int]] = {}
    for r in records:
        v = by_view.setdefault(f"yaw{int(r['entry'].get('yaw_deg', 0)):+d}", [0, 0])
        v[0] += det[r["name"]][0]
        v[1] += det[r["name"]][1]
    total = [sum(d for d, _ in det.values()), sum(f for _, f in det.values())]
    return {
        "all": {"detected": total[0], "frames": total[1], "rate": round(total[0] / total[1], 4)},
        "per_view": {k: {"detected": d, "frames": f, "rate": round(d / f, 4)} for k, (d, f) in sorted(by_view.items())},
        # a clip whose person leaves the image or is lost is flagged, never silently averaged
        "per_clip": {
            r["name"]: {
                "detected": det[r["name"]][0],
                "frames": det[r["name"]][1],
                "flagged": r["summary"].get("flagged", False),
                "reason": r["summary"].get("reason"),
                "out_of_frame_fraction": r["render"].get("out_of_frame_fraction"),
                "render_warnings": r["render"].get("warnings", []),
            }
            for r in records
        },
        "flagged_clips": sorted(r["name"] for r in records if r["summary"].get("flagged")),
        "note": "errors are measured over the frames with a pose; frames without one count against detection only",
    }


def real_motion_results(folder: Path, work: Path, render_args: str, render_root: Path) -> tuple[dict, list[dict]]:
    import pose_accuracy as pa

    entries = load_index(folder)
    t0 = time.perf_counter()
    records = prepare_clips(entries, work, render_args, render_root)
    frames = sum(r["summary"]["frames"] for r in records)
    cpu = sum(r["summary"].get("cpu_seconds", np.nan) for r in records)
    result = {
        "what": "pose extraction on default-body renders of real motion capture (NTU-25, Kinect space)",
        "folder": str(folder),
        "clips": len(records),
        "frames": frames,
        "dev_subjects": list(DEV_SUBJECTS),
        "held_out_subjects": sorted({int(r["entry"]["subject"]) for r in records} - set(DEV_SUBJECTS)),
        "note": "every default was chosen on the dev subjects; 'held_out' is the number that counts",
        "detection": detection(records),
        "facing_choice": facing_choice(records),
        "speed": {"frames": frames, "cpu_seconds": round(cpu, 2), "frames_per_cpu_second": round(frames / cpu, 1)},
        "variants": evaluate(records),
        "detector_variants": detector_variants(entries, work, render_args, render_root),
        "scale_analysis": pa.scale_analysis(records, {r["name"]: r["camera"] for r in records}),
        "joint_names": list(NTU_RGBD.joint_names),
        "prepare_wall_s": round(time.perf_counter() - t0, 1),
    }
    return result, records


def write_extracted(records: list[dict], out_dir: Path, options: ExtractOptions) -> None:
    """``CLIP.src.npy`` + ``CLIP.npy`` + ``CLIP.json`` per clip, re-lifted with ``options``
    (what ``python -m pose_extract`` writes from the same landmarks), for the error model."""
    import pose_accuracy as pa

    out_dir.mkdir(parents=True, exist_ok=True)
    for r in records:
        pred, valid = pa.relift(r["out"], r["camera"], options)
        pred = np.where(valid[:, None, None], pred, 0.0)
        atomic_save_npy(out_dir / f"{r['name']}.src.npy", np.load(r["out"].with_name(f"{r['name']}.src.npy")))
        atomic_save_npy(out_dir / f"{r['name']}.npy", np.transpose(pred, (2, 0, 1))[..., None].astype(np.float32))
        atomic_write_json(
            out_dir / f"{r['name']}.json", {"options": options_record(options), "size": r["summary"]["size"]}
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", type=Path, default=DEFAULT_REAL, help="folder with index.json and NAME.npy clips")
    p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="render and landmark cache (outside the repo)")
    p.add_argument("--render-args", default="--resolution 320x240", help="arguments for python -m render")
    p.add_argument("--render-root", type=Path, default=REPO, help="directory `python -m render` runs in")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pose_accuracy_real.json")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result, _ = real_motion_results(args.real, args.work.resolve(), args.render_args, args.render_root)
    except BadRealSet as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result["command"] = "python benchmarks/pose_real.py " + " ".join(sys.argv[1:])
    atomic_write_json(args.out, result)
    print_table(result)
    return 0


def print_table(result: dict) -> None:
    print(f"real motion: {result['clips']} clips, detection {result['detection']['all']}")
    for vname, v in result["variants"].items():
        for part in ("held_out", "dev", "all"):
            a = v[part]
            if a is None:
                continue
            print(
                f"{vname:>20} {part:>8}: PA-all {a['pa_mpjpe_all_fit_all_mm']:6.1f} PA-limb {a['pa_mpjpe_limbs_mm']:6.1f} "
                f"cam {a['mpjpe_all_mm']:6.1f} dz {a['root_depth_error_mm']:7.1f} swap {a['swap_rate']:.3f}"
            )


if __name__ == "__main__":
    sys.exit(main())
