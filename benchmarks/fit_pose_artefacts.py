"""Refit every fitted pose artefact that ships, on the evaluated benchmark's training split.

One command makes all of ``pose_extract/models/``:

* ``refiner_default.npz``: the pose refiner (:mod:`pose_extract.refine`), fitted on
  ``--refiner-clips`` clean renders of training clips (never attacked or attack-like motion);
* ``roundtrip_error_synth.json``: the round trip's error model for the demo's pose options
  (body-size prior and that refiner), fitted on ``--error-clips`` *other* training clips;
* ``roundtrip_error.json``: the error model of pose_extract's default options, fitted on the
  same training clips plus the real motion-capture clips of ``--real``;
* ``body_prior_default.json``: the built-in body-size prior
  (:data:`pose_extract.prior.DEFAULT_PRIOR` reads it), the median limb lengths of the training split.

Each records ``fit_samples`` (the sample names it saw) and ``fit_split``
(:mod:`ciasa.fit_record`); the pipeline refuses to evaluate a clip whose performance is
among them (``pipeline.fit_check``). The two draws are disjoint, spread over the classes
(a seeded permutation, one clip per class in turn), and a performance is taken once.

As a check that the refiner still helps, the clips of the error-model draw (training clips
the new refiner never saw) are extracted with the demo's options and no refiner, the
refiner that shipped before (``--compare-refiner``) and the new one; PA-MPJPE and camera
MPJPE go to ``benchmarks/results/fit_pose_artefacts.json``.

The cross-view training split holds the +-45 degree views only (cameras 2 and 3); the
evaluated view (camera 1, frontal) is by the benchmark's definition never fitted on. How
the refiners fare on that view is *reported*, never used to choose anything, with
``--val-report N``: N validation clips outside the demo's selection (24 clips, seed 0),
extracted the same way; the previous refiner is also shown on the clips it never saw.

Renders and MediaPipe landmarks are cached under ``--work`` (``python -m render batch`` at the
pipeline's 320x240 draft look); a rerun only refits.

    python benchmarks/fit_pose_artefacts.py --data build/synth --benchmark xview
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import pose_accuracy as pa  # noqa: E402
import pose_real  # noqa: E402

from ciasa.camera import Camera  # noqa: E402
from ciasa.data.stgcn import load_split  # noqa: E402
from ciasa.fit_record import performance_of  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from pose_extract.error_model import fit_error_model, pairs_from_dir  # noqa: E402
from pose_extract.extract import ExtractOptions  # noqa: E402
from pose_extract.prior import DEFAULT_PRIOR, prior_from_skeletons  # noqa: E402
from pose_extract.refine import Refiner  # noqa: E402

log = logging.getLogger("fit_pose_artefacts")
MODELS = REPO / "pose_extract" / "models"
PY = sys.executable


# ----------------------------------------------------------------------------- draws


def draw_fit_clips(
    names: list[str], labels, n_refiner: int, n_error: int, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Two disjoint draws of training clips: the refiner's and the error model's.

    A seeded permutation, reordered so that the classes take turns (the k-th clip of every
    class before the (k+1)-th of any), is walked once; a performance already taken (another
    camera of it) is skipped, so the two draws never share a performance.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    rank: dict[int, int] = {}
    keyed = []
    for pos, i in enumerate(order):
        label = int(labels[i])
        keyed.append((rank.get(label, 0), pos, int(i)))
        rank[label] = rank.get(label, 0) + 1
    taken: set[str] = set()
    picked: list[str] = []
    for _, _, i in sorted(keyed):
        perf = performance_of(names[i])
        if perf in taken:
            continue
        taken.add(perf)
        picked.append(names[i])
        if len(picked) == n_refiner + n_error:
            break
    if len(picked) < n_refiner + n_error:
        raise SystemExit(f"only {len(picked)} distinct training performances, asked for {n_refiner} + {n_error}")
    # the error model's clips first in the walk: they are the refiner's held-out check too
    return picked[n_error:], picked[:n_error]


# ----------------------------------------------------------------------------- renders


def val_report_clips(split, n: int, seed: int = 0) -> list[str]:
    """``n`` validation clips, classes taking turns, none of the demo pipeline's selection."""
    from pipeline.select import select_clips

    demo = set(select_clips(list(split.names), split.labels, count=24, seed=0))
    names = [x for x in split.names if x not in demo]
    labels = [int(split.labels[i]) for i, x in enumerate(split.names) if x not in demo]
    return draw_fit_clips(names, labels, 0, n, seed)[1]


def prepare_synthetic(
    split, names: list[str], work: Path, render_args: str, render_root: Path, data_dir: Path, split_name: str
) -> list[dict]:
    """Render (one Blender session for all missing clips) and extract (cached) ``names``."""
    index = {n: i for i, n in enumerate(split.names)}
    work.mkdir(parents=True, exist_ok=True)
    clips = {}
    for name in names:
        clip = split.data[index[name] : index[name] + 1, ..., :1][0].astype(np.float32)
        npy = work / f"{name}.src.npy"
        if not (npy.is_file() and np.array_equal(np.load(npy), clip)):
            for stale in work.glob(f"{name}.*"):  # another data set version: render afresh
                stale.unlink()
            np.save(npy, clip)
        clips[name] = clip
    todo = [n for n in names if not (work / f"{n}.render.json").is_file()]
    if todo:
        list_file = work / "render_batch_names.txt"
        list_file.write_text("".join(f"{n}\n" for n in todo))
        log.info("rendering %d clips in one Blender session", len(todo))
        cmd = [
            PY,
            "-m",
            "render",
            "batch",
            "--data",
            str(data_dir),
            "--split",
            split_name,
            "--names",
            f"@{list_file}",
            "--out-dir",
            str(work),
            "--threads",
            "1",
            "--no-progress",
            *render_args.split(),
        ]
        subprocess.run(cmd, check=True, cwd=render_root, stdout=subprocess.DEVNULL)
    ns = argparse.Namespace(render_args=render_args, render_root=render_root)
    records = []
    for name in names:
        render_record, summary = pa.render_and_extract(name, clips[name], work, ns)
        truth, present = pa.clip_frames(clips[name], render_record["frames_rendered"])
        if len(truth) != summary["frames"]:
            raise RuntimeError(f"{name}: {len(truth)} source frames but the video has {summary['frames']}")
        records.append(
            {
                "name": name,
                "truth": truth,
                "present": present,
                "out": work / f"{name}.npy",
                "summary": summary,
                "camera": Camera.load(work / f"{name}.camera.json"),
            }
        )
    return records


# ----------------------------------------------------------------------------- fits

FIT_DATA = "synth seed=0"  # set by main() from the data set's meta.json


def fit_record_keys(samples: list[str], split: str) -> dict:
    """The fit record (ciasa.fit_record): the names, their split and which data set they belong to."""
    return {"fit_samples": list(samples), "fit_split": split, "fit_data": FIT_DATA}


def fit_body_prior(split, split_label: str) -> tuple[dict, dict]:
    """The body prior's file (pose_extract.prior.DEFAULT_PRIOR reads it) and how it compares
    with the one it replaces."""
    prior = prior_from_skeletons(np.asarray(split.data[:, :, :, :, :1]), split_label)
    doc = {
        **prior.to_json(),
        "source": f"median limb lengths of {split_label}",
        **fit_record_keys(list(split.names), split_label),
    }
    diff = np.abs(prior.lengths - DEFAULT_PRIOR.lengths)
    return doc, {
        "lengths_m": [round(float(x), 5) for x in prior.lengths],
        "previous_m": DEFAULT_PRIOR.lengths.tolist(),
        "max_abs_difference_mm": round(1000 * float(diff.max()), 2),
    }


def fit_refiner(records: list[dict], split_label: str, alpha: float) -> tuple[Refiner, dict]:
    """The refiner of the kind that did better on the fit clips' own held-out fifth (chosen on
    training clips only), with its fit record."""
    refiner, check = pa.fit_refiner(records, "mlp", alpha)
    kind = "mlp" if check["mlp"] <= check["ridge"] else "ridge"
    if kind == "ridge":
        refiner, check = pa.fit_refiner(records, "ridge", alpha)
    refiner.meta.update(
        {
            "source": f"built-in refiner (fitted on {len(records)} clean renders of {split_label})",
            "clips": [f"{split_label}/{r['name']}" for r in records],
            "chosen_by": "held-out fifth of the fit clips: the kind with the lower joint error",
            **fit_record_keys([r["name"] for r in records], split_label),
        }
    )
    return refiner, {"kind": kind, "inner_held_out_joint_error_mm": check}


def heldout_accuracy(records: list[dict], refiners: dict[str, object]) -> dict:
    """PA-MPJPE / camera MPJPE of the demo's extraction (body prior on) per refiner."""
    out = {}
    for label, refiner in refiners.items():
        rows = []
        for r in records:
            pred, valid = pa.relift(r["out"], r["camera"], ExtractOptions(body_prior="default", refiner=refiner))
            rows.append(pa.clip_metrics(pred, r["truth"], valid & r["present"]))
        out[label] = pa.aggregate(rows)
    return out


def fit_error(
    records_by_source: dict[str, list[dict]],
    options: ExtractOptions,
    folder: Path,
    fit_samples: list[str],
    split_label: str,
    command: str,
) -> dict:
    """The error model of ``options`` over the records' round trips, with its fit record."""
    sources = {}
    for name, records in records_by_source.items():
        sub = folder / name
        pose_real.write_extracted(records, sub, options)
        sources[name], found = pairs_from_dir(sub)
    model = fit_error_model(sources, found)
    model.update({"command": command, **fit_record_keys(fit_samples, split_label)})
    return model


def legacy_refiner(path: Path, tmp: Path) -> Path:
    """A refiner file from before fit records, given the fit record its meta's ``clips``
    imply, so that it can be compared (only here; loaders refuse the original)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    if "fit_samples" not in meta:
        clips = meta.get("clips", [])
        meta["fit_samples"] = [c.rsplit("/", 1)[-1] for c in clips]
        meta["fit_split"] = "legacy: " + ", ".join(sorted({c.rsplit("/", 1)[0] for c in clips}))
        arrays["meta"] = np.array(json.dumps(meta))
        path = tmp / "compare_refiner.npz"
        np.savez_compressed(path, **arrays)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


# ----------------------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO / "build" / "synth", help="synthetic set (generated if absent)")
    p.add_argument("--benchmark", default="xview", help="the evaluated benchmark: its training split is fitted on")
    p.add_argument("--refiner-clips", type=int, default=128, help="clean training clips the refiner is fitted on")
    p.add_argument(
        "--error-clips",
        type=int,
        default=24,
        help="other training clips the error models are fitted on (the refiner's held-out check too)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the two draws")
    p.add_argument("--alpha", type=float, default=0.3, help="ridge penalty, if ridge is chosen")
    p.add_argument("--real", type=Path, default=pose_real.DEFAULT_REAL, help="real-motion folder (index.json)")
    p.add_argument("--no-real", action="store_true", help="leave roundtrip_error.json (real motion) out")
    p.add_argument("--work", type=Path, default=REPO / "build" / "fit_artefacts", help="render and landmark cache")
    p.add_argument("--real-work", type=Path, default=pose_real.DEFAULT_WORK, help="real-motion render cache")
    p.add_argument(
        "--render-args", default="--resolution 320x240", help="arguments for python -m render (the demo's look)"
    )
    p.add_argument("--render-root", type=Path, default=REPO, help="directory `python -m render` runs in")
    p.add_argument("--out-dir", type=Path, default=MODELS, help="where the artefacts are written")
    p.add_argument(
        "--compare-refiner", type=Path, help="the refiner to compare the new one with (e.g. the previous one)"
    )
    p.add_argument(
        "--val-report",
        type=int,
        default=0,
        metavar="N",
        help="also report the refiners on N validation clips of the evaluated (frontal) view, outside "
        "the demo's selection; reported only, never used to choose",
    )
    p.add_argument("--render-only", action="store_true", help="render and extract (fill the cache), fit nothing")
    p.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results" / "fit_pose_artefacts.json")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    command = "python benchmarks/fit_pose_artefacts.py " + " ".join(sys.argv[1:])

    global FIT_DATA
    data = pa.ensure_synth(args.data)
    FIT_DATA = f"synth seed={json.loads((data / 'meta.json').read_text())['seed']}"
    split_label = f"{args.benchmark}/train"
    split = load_split(data / args.benchmark, "train", mmap=False)
    refiner_names, error_names = draw_fit_clips(
        list(split.names), split.labels, args.refiner_clips, args.error_clips, args.seed
    )
    work = args.work.resolve()

    def prep(names: list[str]) -> list:
        return prepare_synthetic(split, names, work, args.render_args, args.render_root, data / args.benchmark, "train")

    error_records = prep(error_names)  # first: the error models and the refiner's held-out check need them
    refiner_records = prep(refiner_names)
    val_records = []
    if args.val_report:
        val = load_split(data / args.benchmark, "val", mmap=False)
        val_records = prepare_synthetic(
            val,
            val_report_clips(val, args.val_report, args.seed),
            args.work.resolve() / "val",
            args.render_args,
            args.render_root,
            data / args.benchmark,
            "val",
        )
    real_records = []
    if not args.no_real:
        try:
            real_records = pose_real.prepare_clips(
                pose_real.load_index(args.real), args.real_work.resolve(), args.render_args, args.render_root
            )
        except pose_real.BadRealSet as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.render_only:
        return 0

    args.out_dir.mkdir(parents=True, exist_ok=True)
    prior_doc, prior_check = fit_body_prior(split, split_label)
    atomic_write_json(args.out_dir / "body_prior_default.json", {**prior_doc, "command": command})

    refiner, refiner_fit = fit_refiner(refiner_records, split_label, args.alpha)
    refiner.meta["command"] = command
    refiner_path = args.out_dir / "refiner_default.npz"
    refiner.save(refiner_path)
    with tempfile.TemporaryDirectory() as tmp:
        compared = {"none": None, "new": refiner}
        compare_overlap = []
        if args.compare_refiner:
            old_path = legacy_refiner(args.compare_refiner, Path(tmp))
            old = Refiner.load(old_path)
            compared["previous"] = old
            seen = {performance_of(s) for s in old.meta["fit_samples"]}
            compare_overlap = [r["name"] for r in error_records if performance_of(r["name"]) in seen]
        heldout = heldout_accuracy(error_records, compared)
        unseen = [r for r in error_records if r["name"] not in compare_overlap]
        heldout_unseen = heldout_accuracy(unseen, compared) if compare_overlap else None
        val_report = None
        if val_records:
            seen_val = [
                r["name"]
                for r in val_records
                if "previous" in compared
                and performance_of(r["name"]) in {performance_of(s) for s in compared["previous"].meta["fit_samples"]}
            ]
            val_report = {
                "what": "reported only, never used to choose: the evaluated (frontal) view, validation clips outside the "
                "demo's selection; mean over clips",
                "clips": [r["name"] for r in val_records],
                "by_refiner": heldout_accuracy(val_records, compared),
                "previous_refiner_fitted_on": seen_val,
                "by_refiner_on_clips_the_previous_never_saw": heldout_accuracy(
                    [r for r in val_records if r["name"] not in seen_val], compared
                )
                if seen_val
                else None,
            }

    # the demo's round trip: body prior and the new refiner ('default' when it is the packaged one)
    demo_refiner = "default" if args.out_dir.resolve() == MODELS.resolve() else str(refiner_path)
    em_folder = work / "error_model"
    synth_model = fit_error(
        {"synthetic-train": error_records},
        ExtractOptions(body_prior="default", refiner=demo_refiner),
        em_folder / "demo",
        error_names,
        split_label,
        command,
    )
    atomic_write_json(args.out_dir / "roundtrip_error_synth.json", synth_model)
    models = {"roundtrip_error_synth.json": synth_model}
    if real_records:
        real_names = [r["name"] for r in real_records]
        model = fit_error(
            {"synthetic-train": error_records, "real_motion": real_records},
            ExtractOptions(),
            em_folder / "default",
            error_names + real_names,
            f"{split_label} + real_motion",
            command,
        )
        atomic_write_json(args.out_dir / "roundtrip_error.json", model)
        models["roundtrip_error.json"] = model

    result = {
        "what": "pose artefacts refitted on the evaluated benchmark's training split, clean renders only",
        "command": command,
        "benchmark": args.benchmark,
        "fit_split": split_label,
        "render_args": args.render_args,
        "refiner_clips": refiner_names,
        "error_model_clips": error_names,
        "real_motion_clips": [r["name"] for r in real_records],
        "body_prior": prior_check,
        "refiner": {**refiner_fit, "frames": refiner.meta["frames"], "file_sha256": sha256(refiner_path)},
        "refiner_held_out": {
            "what": f"demo pose options (body prior on) on the {len(error_records)} error-model clips: training clips "
            "the new refiner never saw; mean over clips",
            "n_clips": len(error_records),
            "by_refiner": heldout,
            "previous_refiner": None
            if not args.compare_refiner
            else {
                "file": str(args.compare_refiner),
                "file_sha256": sha256(args.compare_refiner),
                "clips_it_was_fitted_on": compare_overlap,
                "by_refiner_on_clips_it_never_saw": heldout_unseen,
                "n_clips_it_never_saw": len(unseen),
            },
        },
        "val_view_report": val_report,
        "error_models": {
            k: {
                "n_clips": m["n_clips"],
                "n_frames": m["n_frames"],
                "sources": m["sources"],
                "global_bias": m["global"]["bias"],
            }
            for k, m in models.items()
        },
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    atomic_write_json(args.results, result)
    print(json.dumps({k: result[k] for k in ("body_prior", "refiner", "refiner_held_out")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
