"""Sensor realism measured on real skeletons, and the synthetic set's options set from it.

    nice -n 10 .venv/bin/python benchmarks/data_realism.py [--real-ntu DIR] [--real-motion DIR]

Three statistics, each on every source that can show it:

* **joint-noise spectrum**: Welch power spectrum of each joint coordinate (32-frame
  segments, linear detrend, 30 fps), per joint group and axis; its power between 5 and
  15 Hz as an RMS in mm. Real NTU clips (Kinect v2) hold motion plus sensor noise; CMU
  motion capture holds real motion without any Kinect noise, so it shows how little of
  the 5-15 Hz power real motion makes; the synthetic set without jitter shows the same for
  the generator's own motion.
* **bone-length variation**: per bone and body, the coefficient of variation (std / mean)
  of its length over the frames, raw and *slow* (after a 9-frame moving average, so the
  high-frequency noise, already counted above, drops out), and the correlation time of the
  length changes. Mocap has constant single-segment limb bones (its multi-segment bones,
  e.g. the clavicle, change with the motion); the Kinect re-estimates every joint each
  frame, so every bone wobbles.
* **tracking dropouts**: in the six raw ``.skeleton`` files the Kinect marks each joint of
  each frame tracked (2), inferred (1) or not tracked (0); rate per joint group and the
  run lengths; how much an inferred joint moves relative to its parent per frame (held or
  not); frames in which a tracked body is zero, and joints frozen (exactly the previous
  frame's coordinates). Mocap and the synthetic set have no dropouts.

From these it derives ``generator_parameters`` (the constants of
``ciasa.data.synth.realism``, which a test checks against this file): the Kinect noise per
group and axis that brings the synthetic clips' 5-15 Hz power up to the real clips'
(real minus synthetic motion), its AR(1) coefficient fitted to the real spectrum's slope,
the slow bone CV the real clips have beyond what that noise already gives, and the
inferred-joint rate and run length. Then it generates synthetic clips with every option on
and measures them the same way (``check``). Nothing here looks at an attack.

Writes ``--out`` (default ``benchmarks/results/data_realism.json``) and prints the tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import welch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.data.ntu_raw import read_ntu_clip  # noqa: E402
from ciasa.data.synth import SynthConfig, generate  # noqa: E402
from ciasa.data.synth.realism import (  # noqa: E402
    FPS,
    GROUP_OF_JOINT,
    JOINT_GROUPS,
    NOISE_BAND_HZ,
    Realism,
    SensorParams,
    ar1_band_fraction,
    bone_kind,
)
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.skeleton import NTU_RGBD, bone_lengths  # noqa: E402

AXES = ("x", "y", "z")
SEGMENT = 32  # Welch segment, frames (~1 s at 30 fps)
SLOW = 9  # moving-average frames that separate slow bone wobble from the noise
GROUP_INDEX = {g: [i for i, gj in enumerate(GROUP_OF_JOINT) if gj == g] for g in JOINT_GROUPS}
SYNTH_SUBJECTS = tuple(range(1, 7))  # 6 subjects x 30 classes x 1 performance = 180 clips per variant


# ------------------------------------------------------------------------------- reading
def longest_run(present: np.ndarray) -> slice:
    """The longest run of True frames."""
    best, start, run = slice(0, 0), None, 0
    for t, p in enumerate(np.append(present, False)):
        if p and start is None:
            start = t
        elif not p and start is not None:
            if t - start > run:
                best, run = slice(start, t), t - start
            start = None
    return best


def real_ntu_bodies(root: Path) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """Every tracked body of every clip, through the project's reader: (T, 25, 3) each."""
    bodies, info = [], []
    for path in sorted((root / "skeletons").iterdir()):
        if not path.name.endswith((".skeleton", ".skeleton.npy")):
            continue
        clip = read_ntu_clip(path, max_body=2)  # (3, T, 25, 2)
        for m in range(clip.shape[-1]):
            present = np.abs(clip[..., m]).sum(axis=(0, 2)) > 0
            if present.sum() < SEGMENT:
                continue
            span = np.flatnonzero(present)
            run = longest_run(present)
            bodies.append(clip[:, run, :, m].transpose(1, 2, 0).astype(np.float64))
            info.append({"clip": path.name, "body": m, "frames": int(run.stop - run.start),
                         "zero_frames_inside_span": int((~present[span[0]: span[-1] + 1]).sum())})  # fmt: skip
    return bodies, info


def tracking_states(path: Path) -> dict[str, np.ndarray]:
    """Per Kinect body id: (T, 25) joint tracking states (2 tracked, 1 inferred, 0 not tracked, -1 absent).

    The file has already been read and checked by ``ciasa.data.ntu_raw`` (its reader keeps
    only the coordinates); this pass reads the one field it drops."""
    lines = iter(path.read_text().split("\n"))
    frames = int(next(lines))
    out: dict[str, np.ndarray] = {}
    for t in range(frames):
        for _ in range(int(next(lines))):
            body = next(lines).split()[0]
            joints = int(next(lines))
            states = [int(next(lines).split()[11]) for _ in range(joints)]
            out.setdefault(body, np.full((frames, joints), -1))[t] = states
    return out


def mocap_bodies(root: Path) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    bodies, info = [], []
    for path in sorted(root.glob("*.npy")):
        a = np.load(path)  # (3, T, 25, 1)
        bodies.append(a[..., 0].transpose(1, 2, 0).astype(np.float64))
        info.append({"clip": path.name, "frames": int(a.shape[1])})
    return bodies, info


def synth_bodies(**config: Any) -> list[np.ndarray]:
    samples = generate(SynthConfig(subjects=SYNTH_SUBJECTS, replications=1, **config))
    return [s.clip[..., 0].transpose(1, 2, 0).astype(np.float64) for s in samples]


# ------------------------------------------------------------------------------- statistics
def mean_psd(bodies: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and the per-body average Welch PSD (F, 25, 3), m^2/Hz."""
    psds = []
    for b in bodies:
        f, p = welch(b, fs=FPS, nperseg=SEGMENT, noverlap=SEGMENT // 2, detrend="linear", axis=0)
        psds.append(p)
    return f, np.mean(psds, axis=0)


def band_power(f: np.ndarray, psd: np.ndarray, band: tuple[float, float] = NOISE_BAND_HZ) -> np.ndarray:
    """Power (m^2) between ``band`` Hz, per joint and axis."""
    inside = (f >= band[0]) & (f <= band[1])
    return psd[inside].sum(axis=0) * (f[1] - f[0])


def group_power(power: np.ndarray) -> dict[str, np.ndarray]:
    """(25, 3) -> per group (3,), the mean over its joints."""
    return {g: power[idx].mean(axis=0) for g, idx in GROUP_INDEX.items()}


def noise_summary(f: np.ndarray, psd: np.ndarray) -> dict[str, Any]:
    power = group_power(band_power(f, psd))
    inside = (f >= NOISE_BAND_HZ[0]) & (f <= NOISE_BAND_HZ[1])
    return {
        "band_rms_mm": {g: [round(1000 * float(np.sqrt(v)), 3) for v in p] for g, p in power.items()},
        "spectrum_mm2_per_hz": {
            g: [round(1e6 * float(v), 5) for v in psd[:, idx].mean(axis=(1, 2))] for g, idx in GROUP_INDEX.items()
        },  # fmt: skip
        "band_rms_mm_all_joints": round(1000 * float(np.sqrt(band_power(f, psd).mean())), 3),
        "frequencies_hz": [round(float(x), 4) for x in f],
        "band_bins": int(inside.sum()),
    }


def fit_ar1(f: np.ndarray, psd_band: np.ndarray) -> float:
    """AR(1) coefficient whose spectrum has the shape of ``psd_band`` (log least squares)."""
    grid = np.linspace(-0.6, 0.95, 311)
    logp = np.log(np.maximum(psd_band, 1e-30))
    best, err = 0.0, np.inf
    for a in grid:
        model = -np.log(1 - 2 * a * np.cos(2 * np.pi * f / FPS) + a * a)
        resid = logp - model
        e = float(((resid - resid.mean()) ** 2).sum())
        if e < err:
            best, err = float(a), e
    return best


def moving_average(x: np.ndarray, n: int) -> np.ndarray:
    k = np.ones(n) / n
    return np.apply_along_axis(lambda s: np.convolve(s, k, mode="valid"), 0, x)


def bone_stats(bodies: list[np.ndarray]) -> dict[str, Any]:
    """Per bone kind: median over bodies (and left/right) of raw and slow CV; correlation time."""
    raw: dict[str, list[float]] = {}
    slow: dict[str, list[float]] = {}
    half_lives: list[float] = []
    kinds = [bone_kind(c) for c, _ in NTU_RGBD.bones]
    for b in bodies:
        lengths = bone_lengths(b.transpose(2, 0, 1), NTU_RGBD)  # (T, bones)
        mean = lengths.mean(axis=0)
        smooth = moving_average(lengths, SLOW)
        for k, kind in enumerate(kinds):
            raw.setdefault(kind, []).append(float(lengths[:, k].std() / mean[k]))
            slow.setdefault(kind, []).append(float(smooth[:, k].std() / mean[k]))
            d = lengths[:, k] - mean[k]
            if d.std() > 0:
                acf = np.array([np.dot(d[: len(d) - lag], d[lag:]) / np.dot(d, d) for lag in range(1, min(30, len(d)))])
                # half-life relative to lag 1: the frame-independent noise drops the ACF at lag 1 already
                below = np.flatnonzero(acf / max(acf[0], 1e-9) < 0.5)
                if below.size and acf[0] > 0:
                    half_lives.append(float(below[0] + 1))
    return {
        "cv_raw_median": {k: round(float(np.median(v)), 4) for k, v in raw.items()},
        "cv_slow_median": {k: round(float(np.median(v)), 4) for k, v in slow.items()},
        "half_life_frames_median": round(float(np.median(half_lives)), 2) if half_lives else None,
        "bodies": len(bodies),
    }


def runs_of(mask: np.ndarray) -> list[int]:
    """Lengths of the True runs of a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))


def frozen_stats(bodies: list[np.ndarray]) -> dict[str, Any]:
    """Joints with exactly the previous frame's coordinates, per group."""
    out = {}
    for g, idx in GROUP_INDEX.items():
        same = [np.all(b[1:, idx] == b[:-1, idx], axis=-1) for b in bodies]
        total = sum(s.size for s in same)
        out[g] = round(float(sum(s.sum() for s in same)) / max(total, 1), 5)
    return out


def relative_step_mm(b: np.ndarray) -> np.ndarray:
    """(T-1, 25) per-frame change of each joint's offset from its parent, mm (root: absolute)."""
    rel = b.copy()
    for j, p in enumerate(NTU_RGBD.parents):
        if p >= 0:
            rel[:, j] = b[:, j] - b[:, p]
    return 1000 * np.linalg.norm(np.diff(rel, axis=0), axis=-1)


def dropout_stats(root: Path) -> dict[str, Any]:
    """Inferred / not-tracked joints in the raw files: rates, run lengths, how the joint moves."""
    per_group_frames = {g: 0 for g in JOINT_GROUPS}
    per_group_inferred = {g: 0 for g in JOINT_GROUPS}
    per_group_lost = {g: 0 for g in JOINT_GROUPS}
    runs: dict[str, list[int]] = {g: [] for g in JOINT_GROUPS}
    step_inferred: dict[str, list[float]] = {g: [] for g in JOINT_GROUPS}
    step_tracked: dict[str, list[float]] = {g: [] for g in JOINT_GROUPS}
    files = 0
    for path in sorted((root / "skeletons").glob("*.skeleton")):
        clip = read_ntu_clip(path, max_body=2)  # the project's reader checks the file first
        files += 1
        states = tracking_states(path)
        for st in states.values():
            present = (st >= 0).all(axis=1)
            if present.sum() < SEGMENT:
                continue
            # the body's coordinates: the slot of read_ntu_clip whose tracked frames match
            match = [m for m in range(clip.shape[-1])
                     if np.array_equal(np.abs(clip[..., m]).sum(axis=(0, 2)) > 0, present)]  # fmt: skip
            xyz = clip[..., match[0]].transpose(1, 2, 0).astype(np.float64) if match else None
            run = longest_run(present)
            st = st[run]
            steps = relative_step_mm(xyz[run]) if xyz is not None else None
            for g, idx in GROUP_INDEX.items():
                inferred = st[:, idx] < 2
                per_group_frames[g] += inferred.size
                per_group_inferred[g] += int(inferred.sum())
                per_group_lost[g] += int((st[:, idx] == 0).sum())
                for k in range(len(idx)):
                    runs[g].extend(int(r) for r in runs_of(inferred[:, k]))
                if steps is not None:
                    both = inferred[1:] & inferred[:-1]  # inferred in this frame and the one before
                    neither = ~inferred[1:] & ~inferred[:-1]
                    step_inferred[g].extend(steps[:, idx][both].tolist())
                    step_tracked[g].extend(steps[:, idx][neither].tolist())
    all_runs = [r for v in runs.values() for r in v]
    return {
        "files": files,
        "inferred_rate": {g: round(per_group_inferred[g] / max(per_group_frames[g], 1), 4) for g in JOINT_GROUPS},
        "not_tracked_rate": {g: round(per_group_lost[g] / max(per_group_frames[g], 1), 4) for g in JOINT_GROUPS},
        "run_frames_mean": {g: round(float(np.mean(v)), 2) if v else None for g, v in runs.items()},
        "run_frames_median": {g: float(np.median(v)) if v else None for g, v in runs.items()},
        "run_frames_max": {g: int(max(v)) if v else None for g, v in runs.items()},
        "runs": {g: len(v) for g, v in runs.items()},
        "run_frames_mean_all": round(float(np.mean(all_runs)), 2) if all_runs else None,
        "relative_step_mm_median": {
            g: {
                "inferred": round(float(np.median(step_inferred[g])), 2) if step_inferred[g] else None,
                "tracked": round(float(np.median(step_tracked[g])), 2) if step_tracked[g] else None,
            }
            for g in JOINT_GROUPS
        },  # fmt: skip
    }


# ------------------------------------------------------------------------------- calibration
def derive_parameters(f: np.ndarray, psd_real: np.ndarray, psd_motion: np.ndarray) -> tuple[SensorParams, dict]:
    """Kinect noise per group and axis: the real 5-15 Hz power beyond the synthetic motion's."""
    inside = (f >= NOISE_BAND_HZ[0]) & (f <= NOISE_BAND_HZ[1])
    excess = np.maximum(psd_real - psd_motion, 0.0)  # (F, 25, 3)
    ar = fit_ar1(f[inside], excess[inside].mean(axis=(1, 2)))
    frac = ar1_band_fraction(ar)
    real_p, motion_p = group_power(band_power(f, psd_real)), group_power(band_power(f, psd_motion))
    noise = {g: tuple(round(float(np.sqrt(max(r - m, 0.0) / frac)), 5) for r, m in zip(real_p[g], motion_p[g]))
             for g in JOINT_GROUPS}  # fmt: skip
    return SensorParams(noise_m=noise, noise_ar=round(ar, 3)), {"ar1_band_fraction": round(frac, 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--real-ntu", type=Path, default=REPO.parent / "shared" / "real_ntu", help="real NTU clips (README there)"
    )
    p.add_argument(
        "--real-motion", type=Path, default=REPO.parent / "shared" / "real_motion", help="CMU mocap as NTU-25"
    )
    p.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "data_realism.json", help="JSON output"
    )
    p.add_argument("--table", type=Path, default=None, metavar="JSON", help="only print the tables of a finished run")
    args = p.parse_args(argv)
    if args.table is not None:
        import json

        print_tables(json.loads(args.table.read_text()))
        return 0
    for folder in (args.real_ntu / "skeletons", args.real_motion):
        if not folder.is_dir():
            print(f"error: {folder}: not a directory (the real clips this benchmark measures)", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    real, real_info = real_ntu_bodies(args.real_ntu)
    mocap, mocap_info = mocap_bodies(args.real_motion)
    motion = synth_bodies(jitter_m=0.0)
    today = synth_bodies()
    f, psd = mean_psd(real)
    sources: dict[str, np.ndarray] = {"real_ntu": psd, "mocap": mean_psd(mocap)[1], "synth_motion": mean_psd(motion)[1],
                                      "synth_today": mean_psd(today)[1]}  # fmt: skip
    params, calib = derive_parameters(f, psd, sources["synth_motion"])
    # bones: what the real clips have beyond what the measured noise alone gives the synthetic clips
    bones = {"real_ntu": bone_stats(real), "mocap": bone_stats(mocap), "synth_today": bone_stats(today)}
    noisy = synth_bodies(realism=Realism(kinect_noise=True, params=params))
    bones["synth_kinect_noise"] = bone_stats(noisy)
    add = {k: round(float(np.sqrt(max(v ** 2 - bones["synth_kinect_noise"]["cv_slow_median"][k] ** 2, 0.0))), 4)
           for k, v in bones["real_ntu"]["cv_slow_median"].items()}  # fmt: skip
    half = bones["real_ntu"]["half_life_frames_median"] or 1.0
    drop = dropout_stats(args.real_ntu)
    params = SensorParams(
        noise_m=params.noise_m, noise_ar=params.noise_ar, bone_cv=add,
        bone_corr_frames=round(half / (2 * np.sqrt(np.log(2))), 2),  # Gaussian ACF exp(-l^2/4s^2) = 0.5
        dropout_rate=dict(drop["inferred_rate"]), dropout_run_frames=drop["run_frames_mean_all"] or 1.0,
    )  # fmt: skip
    # the smooth noise loses part of its variance within a short clip (and the dropouts hold
    # some bones): one correction step per bone, so the generated slow CV meets the measured one
    full = synth_bodies(realism=Realism(kinect_noise=True, bone_noise=1.0, dropouts=1.0, params=params))
    first = bone_stats(full)["cv_slow_median"]
    base = bones["synth_kinect_noise"]["cv_slow_median"]
    excess = {k: float(np.sqrt(max(first[k] ** 2 - base[k] ** 2, 0.0))) for k in first}
    corrected = {k: round(v * add[k] / excess[k], 4) if excess[k] > 0 else v for k, v in add.items()}
    params = SensorParams(**{**params.__dict__, "bone_cv": corrected})
    full = synth_bodies(realism=Realism(kinect_noise=True, bone_noise=1.0, dropouts=1.0, params=params))
    sources["synth_realism"] = mean_psd(full)[1]
    bones["synth_realism"] = bone_stats(full)
    first_pass = {"bone_cv": add, "synth_realism_cv_slow_median": first}
    report: dict[str, Any] = {
        "benchmark": "data_realism",
        "command": " ".join(["data_realism.py", *(argv if argv is not None else sys.argv[1:])]),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "load_average": list(os.getloadavg()),
        "sources": {
            "real_ntu": {
                "what": "real NTU RGB+D clips, Kinect v2 (motion + sensor noise, tracking states)",
                "bodies": real_info,
            },
            "mocap": {
                "what": "CMU motion capture as NTU-25: real motion, no Kinect noise, no dropouts",
                "clips": mocap_info,
            },
            "synth_motion": {"what": "the synthetic set without jitter (its motion only)", "clips": len(motion)},
            "synth_today": {"what": "the synthetic set as generated today (--jitter 0.008)", "clips": len(today)},
            "synth_realism": {
                "what": "the synthetic set with --kinect-noise --bone-noise 1 --dropouts 1 (the parameters below)",
                "clips": len(full),
            },
        },  # fmt: skip
        "noise": {
            "band_hz": list(NOISE_BAND_HZ),
            "segment_frames": SEGMENT,
            "by_source": {k: noise_summary(f, v) for k, v in sources.items()},
            **calib,
        },  # fmt: skip
        "bones": {"slow_moving_average_frames": SLOW, "by_source": bones, "first_pass": first_pass},
        "dropouts": {
            "real_ntu": drop,
            "frozen_rate": {
                "real_ntu": frozen_stats(real),
                "mocap": frozen_stats(mocap),
                "synth_realism": frozen_stats(full),
            },
        },  # fmt: skip
        "generator_parameters": params.to_json(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write_json(args.out, report)
    print_tables(report)
    print(f"wrote {args.out}")
    return 0


def tables(r: dict[str, Any]) -> list[str]:
    """The three Markdown tables of docs/attacks.md ("Sensor realism of real skeletons"), as lines."""
    by = r["noise"]["by_source"]
    lo, hi = r["noise"]["band_hz"]
    out = [f"Joint noise: RMS between {lo:g} and {hi:g} Hz, mm (x / y / z; z is depth)", "",
           "| joint group | " + " | ".join(by) + " |", "|---" * (len(by) + 1) + "|"]  # fmt: skip
    for g in JOINT_GROUPS:
        out.append(f"| {g} | " + " | ".join(" / ".join(f"{v:.1f}" for v in by[s]["band_rms_mm"][g]) for s in by) + " |")
    bones = r["bones"]["by_source"]
    out += ["", "Bone length: slow CV % (raw CV %), median over bodies, left and right pooled", "",
            "| bone (child joint) | " + " | ".join(bones) + " |", "|---" * (len(bones) + 1) + "|"]  # fmt: skip
    for k in bones["real_ntu"]["cv_slow_median"]:
        out.append(f"| {k} | " + " | ".join(f"{100 * b['cv_slow_median'][k]:.1f} ({100 * b['cv_raw_median'][k]:.1f})"
                                            for b in bones.values()) + " |")  # fmt: skip
    d = r["dropouts"]["real_ntu"]
    out += ["", f"Dropouts in the {d['files']} raw NTU files (Kinect tracking state per joint and frame)", "",
            "| joint group | inferred % | not tracked % | runs | run frames: mean / median / max "
            "| step rel. to parent, inferred / tracked (median mm) |", "|---|---|---|---|---|---|"]  # fmt: skip
    for g in JOINT_GROUPS:
        s = d["relative_step_mm_median"][g]
        out.append(f"| {g} | {100 * d['inferred_rate'][g]:.1f} | {100 * d['not_tracked_rate'][g]:.1f} | {d['runs'][g]} "
                   f"| {d['run_frames_mean'][g] or '-'} / {d['run_frames_median'][g] or '-'} / {d['run_frames_max'][g] or '-'} "
                   f"| {s['inferred'] or '-'} / {s['tracked'] or '-'} |")  # fmt: skip
    return out


def print_tables(r: dict[str, Any]) -> None:
    print("\n".join(tables(r)))
    print("\nfrozen joints (exact repeats):", r["dropouts"]["frozen_rate"])
    print("generator parameters:", r["generator_parameters"])


if __name__ == "__main__":
    sys.exit(main())
