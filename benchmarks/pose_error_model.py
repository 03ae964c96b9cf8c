"""Fit one round-trip error model on renders of training clips (and real motion).

The shipped models (``pose_extract/models/roundtrip_error.json`` and
``roundtrip_error_synth.json``) are made, with the refiner and the body prior, by
``benchmarks/fit_pose_artefacts.py`` (one command, disjoint draws, fit records); this script
fits a single model for other options or draws, and is what that one imports from.

Renders (cached) the synthetic set's *training* clips of one ``--train-draw`` (a fixed
permutation, as ``pose_accuracy.py --fit-draw`` draws them) and the real-motion clips at
the pipeline's 320x240 with the default body, extracts them with ``pose_extract``'s
default options, writes each source's (rendered, recovered) pairs to a folder and runs

    python -m pose_extract error-model --source synthetic-train=DIR1 --source real_motion=DIR2 --out FILE

Aggregate statistics (bias, covariance, lag-1 autocorrelation) go into FILE, with the fit
record (``fit_samples``: the clip names; ``fit_split``: the benchmark's training split;
``fit_data``: the synthetic set's seed; ciasa.fit_record). Fit it on the training split of
the benchmark that is evaluated (``--benchmark``, default xview, the demo's): the pipeline
refuses to evaluate a clip whose performance is among the fit samples.

    python benchmarks/pose_error_model.py --out /tmp/roundtrip_error.json
    python benchmarks/pose_error_model.py --no-real --option body_prior=default \
        --option refiner=default --out /tmp/roundtrip_error_synth.json
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import pose_accuracy as pa  # noqa: E402
import pose_real  # noqa: E402

from ciasa.camera import Camera  # noqa: E402
from ciasa.data.stgcn import load_split  # noqa: E402
from pose_extract.extract import ExtractOptions  # noqa: E402

log = logging.getLogger("pose_error_model")


def synthetic_records(
    data: Path, benchmark: str, draw: str, work: Path, render_args: str, render_root: Path
) -> list[dict]:
    """Render and extract (both cached) the training clips of ``draw``."""
    meta = json.loads((data / "meta.json").read_text())
    split = load_split(data / benchmark, "train", mmap=False)
    ns = argparse.Namespace(render_args=render_args, render_root=render_root)
    work.mkdir(parents=True, exist_ok=True)
    records = []
    for i, _ in pa.fit_draw(split, meta, draw):
        name = split.names[i]
        clip = split.data[i : i + 1, ..., :1][0].astype(np.float32)
        render_record, summary = pa.render_and_extract(name, clip, work, ns)
        truth, present = pa.clip_frames(clip, render_record["frames_rendered"])
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO / "build" / "synth", help="synthetic set (generated if absent)")
    p.add_argument("--benchmark", default="xview", help="the evaluated benchmark, whose training split is fitted on")
    p.add_argument("--train-draw", default="all:24", help="CLASSES[@R]:N training clips (see pose_accuracy --fit-draw)")
    p.add_argument("--real", type=Path, default=pose_real.DEFAULT_REAL, help="real-motion folder with index.json")
    p.add_argument("--work", type=Path, default=REPO / "build" / "pose_320", help="synthetic render cache")
    p.add_argument("--real-work", type=Path, default=pose_real.DEFAULT_WORK, help="real-motion render cache")
    p.add_argument("--render-args", default="--resolution 320x240", help="arguments for python -m render")
    p.add_argument("--render-root", type=Path, default=REPO, help="directory `python -m render` runs in")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="error-model JSON to write (the shipped ones come from benchmarks/fit_pose_artefacts.py)",
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extraction option other than pose_extract's default (e.g. body_prior=default), "
        "to describe a round trip that uses it",
    )
    p.add_argument("--no-real", action="store_true", help="fit on the synthetic training renders alone")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        # the defaults unless named: the model describes what the extraction it stands for does
        options = ExtractOptions(**dict(item.split("=", 1) for item in args.option))
    except (TypeError, ValueError) as err:
        print(f"error: --option: {err}", file=sys.stderr)
        return 2
    data = pa.ensure_synth(args.data)
    synth = synthetic_records(
        data, args.benchmark, args.train_draw, args.work.resolve() / "train_em", args.render_args, args.render_root
    )
    tag = "-".join(item.replace("=", "_") for item in args.option)
    dirs = {"synthetic-train": args.work.resolve() / "error_model" / ("synthetic-train" + (f"-{tag}" if tag else ""))}
    pose_real.write_extracted(synth, dirs["synthetic-train"], options)
    if not args.no_real:
        try:
            real = pose_real.prepare_clips(
                pose_real.load_index(args.real), args.real_work.resolve(), args.render_args, args.render_root
            )
        except pose_real.BadRealSet as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        dirs["real_motion"] = args.real_work.resolve() / ("error_model" + (f"-{tag}" if tag else ""))
        pose_real.write_extracted(real, dirs["real_motion"], options)
    cmd = [sys.executable, "-m", "pose_extract", "error-model", "--out", str(args.out)]
    for name, folder in dirs.items():
        cmd += ["--source", f"{name}={folder}"]
    subprocess.run(cmd, check=True, cwd=REPO)
    model = json.loads(args.out.read_text())
    model["command"] = "python benchmarks/pose_error_model.py " + " ".join(sys.argv[1:])
    model["train_draw"] = f"{args.benchmark}/train {args.train_draw}"
    model["fit_split"] = f"{args.benchmark}/train" + ("" if args.no_real else " + real_motion")
    model["fit_data"] = f"synth seed={json.loads((data / 'meta.json').read_text())['seed']}"
    from ciasa.io import atomic_write_json

    atomic_write_json(args.out, model)
    print(json.dumps({k: model[k] for k in ("n_frames", "n_clips", "sources", "global")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
