"""Command line: ``python -m pose_extract --video CLIP.mp4 --camera CLIP.camera.json --out CLIP.npy``.

Forms:
  (none)       extract one video
  clip         extract a clip's videos (its conditions) in one process, recording a failed one
  batch        extract many videos and write an ST-GCN split for ``python -m ciasa.evaluate``
  prior        measure a body-size prior from a skeleton data set's training split
  error-model  fit the round trip's error model (docs/CONTRACTS.md) from rendered clips

Exit codes (ciasa.cli's convention): 0 ok (a flagged clip still exits 0 unless --strict;
read CLIP.json), 1 work failed (no person in the video, a flagged clip with --strict, a
batch with failed clips), 2 bad input (missing/unreadable/truncated video, camera of
another size, bad option; nothing written), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ciasa import cli
from ciasa.failure import write_failure
from pose_extract.estimator import DEFAULT_ESTIMATOR, available, get_estimator
from pose_extract.extract import ExtractOptions, extract, output_paths, write_outputs
from pose_extract.facing import METHODS

log = logging.getLogger("pose_extract")
FORMS = ("clip", "batch", "prior", "error-model")


def _add_options(p: argparse.ArgumentParser) -> None:
    d = ExtractOptions()
    g = p.add_argument_group("extraction (defaults chosen on renders of real motion; docs/pose_extract.md)")
    g.add_argument(
        "--estimator",
        choices=available(),
        default=d.estimator,
        help="pose estimator that reads the person (a module of pose_extract/estimators; "
        "docs/pose_extract.md, 'Pose estimators'); the detector flags below are its settings",
    )
    g.add_argument("--max-gap", type=int, default=d.max_gap, help="interpolate runs of at most this many missed frames")
    g.add_argument(
        "--min-detection-rate",
        type=float,
        default=d.min_detection_rate,
        help="flag clips detected in fewer frames than this fraction",
    )
    g.add_argument(
        "--body-prior",
        default=str(d.body_prior),
        help="body-size prior for the depth: 'none' (MediaPipe's own size), 'default' (built-in "
        "adult; fits the synthetic set's renders, moves real motion ~0.5 m too far) or a JSON "
        "file from `python -m pose_extract prior`",
    )
    g.add_argument(
        "--floor-plane",
        default=d.floor_plane,
        help="calibrated floor a,b,c,d (a x + b y + c z + d = 0, skeleton space, normal up, like "
        "Kinect's FloorClipPlane) that sets the body's size and depth; 'auto': the camera "
        "file's extra.floor_plane when present; 'off': not used (the renderer's floor is "
        "placed from the source skeleton, so it is not used unasked)",
    )
    g.add_argument(
        "--sole-height",
        type=float,
        default=d.sole_height,
        help="height of MediaPipe's lowest sole landmark over the floor, m",
    )
    g.add_argument(
        "--facing",
        choices=METHODS,
        default=d.facing,
        help="facing decision: 'sequence' (a two-state model over the clip that trusts MediaPipe's "
        "reading, keeps real turns and undoes its short left/right flips; a confidence per "
        "frame goes into CLIP.json); 'continuity' (the earlier rule: follows real turns into "
        "the mirror image); 'turn' mirrors every frame read as turned more than "
        "--max-turn-deg (footage where nobody turns away); 'off'",
    )
    g.add_argument(
        "--max-turn-deg",
        default=str(d.max_turn_deg),
        help="--facing turn: frames read as turned further than this are mirrored back; 'none' turns that rule off",
    )
    g.add_argument(
        "--refiner",
        default=str(d.refiner),
        help="learned pose correction (pose_extract.refine): 'none', 'default' (fitted on renders "
        "of the synthetic set's training clips; better there, worse on real motion) or a "
        "refiner .npz (benchmarks/pose_accuracy.py --fit-refiner)",
    )
    g.add_argument(
        "--max-jump",
        default=str(d.max_jump),
        help="reject (then interpolate) frames whose limb landmarks sit further than this many torso "
        "lengths from their 5-frame running median; 'none' turns it off",
    )
    g.add_argument(
        "--min-detection-confidence",
        type=float,
        default=d.min_detection_confidence,
        help="the estimator's person detector threshold (MediaPipe's by default)",
    )
    g.add_argument(
        "--min-tracking-confidence",
        type=float,
        default=d.min_tracking_confidence,
        help="the estimator's tracking threshold (MediaPipe: below it the detector runs again)",
    )
    g.add_argument(
        "--smooth",
        action=argparse.BooleanOptionalAction,
        default=d.smooth,
        help="the estimator's temporal landmark filter (MediaPipe's)",
    )
    g.add_argument(
        "--redetect",
        action=argparse.BooleanOptionalAction,
        default=d.redetect,
        help="try a frame the tracker misses again on an enlarged crop around the person's last "
        "position (finds people too small for MediaPipe's whole-frame detector)",
    )
    g.add_argument(
        "--rays",
        action=argparse.BooleanOptionalAction,
        default=d.rays,
        help="take x and y from the 2-D landmarks' rays (depth from the 3-D pose either way); "
        "--no-rays keeps MediaPipe's 3-D x and y",
    )
    g.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a constant of the estimator's mapping to NTU-25 (--estimator "
        f"{DEFAULT_ESTIMATOR}: {', '.join(get_estimator(DEFAULT_ESTIMATOR).rules)}); repeatable",
    )
    cli.add_logging_flags(p)
    cli.add_progress_flag(p)


def _none_or_float(text: str, flag: str) -> float | None:
    if text.lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise cli.BadInput(f"{flag} {text!r}: expected a number or 'none'") from None


def options_from(args: argparse.Namespace) -> ExtractOptions:
    """The extraction options of parsed flags; a malformed value is bad input."""
    rules = {}
    known = get_estimator(args.estimator).rules
    for item in args.rule:
        name, sep, value = item.partition("=")
        if not sep or name not in known:
            raise cli.BadInput(
                f"--rule {item!r}: expected NAME=VALUE with NAME one of {', '.join(known)} (the "
                f"mapping constants of --estimator {args.estimator})"
            )
        try:
            rules[name] = float(value)
        except ValueError:
            raise cli.BadInput(f"--rule {item!r}: {value!r} is not a number") from None
    floor: str | tuple[float, ...] = args.floor_plane
    if floor not in ("auto", "off"):
        try:
            floor = tuple(float(v) for v in floor.split(","))
        except ValueError:
            floor = ()
        if len(floor) != 4:
            raise cli.BadInput(f"--floor-plane {args.floor_plane!r}: expected 'auto', 'off' or four numbers a,b,c,d")
    return ExtractOptions(
        max_gap=args.max_gap,
        floor_plane=floor,
        sole_height=args.sole_height,
        min_detection_rate=args.min_detection_rate,
        body_prior=args.body_prior,
        min_detection_confidence=args.min_detection_confidence,
        min_tracking_confidence=args.min_tracking_confidence,
        smooth=args.smooth,
        redetect=args.redetect,
        rays=args.rays,
        facing=args.facing,
        max_turn_deg=_none_or_float(args.max_turn_deg, "--max-turn-deg"),
        max_jump=_none_or_float(args.max_jump, "--max-jump"),
        refiner=None if args.refiner.lower() == "none" else args.refiner,
        rules=rules,
        estimator=args.estimator,
    )


# ----------------------------------------------------------------------------- one video
def single_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pose_extract",
        "Extract the NTU-25 3-D skeleton (Kinect camera space) of the person in a video with a pose estimator "
        "(--estimator; MediaPipe Pose by default). Writes OUT (.npy, (3, T, 25, 1) float32), OUT's .landmarks.npz "
        "(the estimator's landmarks: MediaPipe's 33 BlazePose landmarks) and "
        ".json (summary). Other forms: `python -m pose_extract {clip,batch,prior,error-model} -h`.",
    )
    p.add_argument("--video", required=True, type=Path, help="input video (anything OpenCV reads)")
    p.add_argument("--camera", type=Path, help="camera file (ciasa-camera/1); default: VIDEO's .camera.json")
    p.add_argument("--out", required=True, type=Path, help="output skeleton, CLIP.npy")
    p.add_argument("--strict", action="store_true", help="exit 1 when the clip is flagged (outputs still written)")
    _add_options(p)
    return p


def run_single(args: argparse.Namespace) -> int:
    _extract_one(args.video, args.camera, args.out, options_from(args), cli.show_progress(args), args.strict)
    return cli.EXIT_OK


def _extract_one(
    video: Path, camera: Path | None, out: Path, options: ExtractOptions, progress: bool, strict: bool
) -> None:
    extraction = extract(video, camera, options, progress=progress)
    paths = write_outputs(extraction, out)
    s = extraction.summary
    log.info(
        "%s: %d frames, detected %d (%.1f%%), filled %d, %.1f frames/s -> %s",
        video,
        s["frames"],
        s["detected"],
        100 * s["detection_rate"],
        s["filled_frames"],
        s["fps"],
        paths["skeleton"],
    )
    if s["flagged"] and strict:
        raise cli.WorkFailed(f"{video}: flagged ({s['reason']}); outputs written, --strict")


# ----------------------------------------------------------------------------- a clip's videos
def clip_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pose_extract clip",
        "Extract each --pair VIDEO CAMERA OUT (a clip's conditions: clean, control, perturbed) in one process, "
        "with the same options and outputs as `python -m pose_extract` on each: Python's and the estimator's "
        "start-up (about 1.5 s on a 2-core machine, a third of a 64-frame video's job) is paid once. With "
        "--on-failure record a video that is bad input or whose extraction fails (nobody found) gets a failure "
        "record (OUT's .json, status failed; ciasa.failure) and placeholder outputs, and the next video is still "
        "extracted; a bug stops the job with its traceback.",
    )
    p.add_argument(
        "--pair",
        nargs=3,
        action="append",
        required=True,
        type=Path,
        metavar=("VIDEO", "CAMERA", "OUT"),
        help="a video, its camera file and the skeleton to write (OUT's .landmarks.npz and .json beside)",
    )
    p.add_argument(
        "--on-failure",
        choices=("record", "stop"),
        default="stop",
        help="record: write a failed video's failure record and placeholders and go on (exit 0); "
        "stop: the first failure ends the job with its exit code",
    )
    p.add_argument("--strict", action="store_true", help="a flagged clip counts as failed")
    _add_options(p)
    return p


def run_clip(args: argparse.Namespace) -> int:
    outs = [out for _, _, out in args.pair]
    if len(set(outs)) != len(outs):
        raise cli.BadInput(f"--pair: the same OUT twice ({', '.join(map(str, outs))})")
    options, progress = options_from(args), cli.show_progress(args)
    failed = 0
    for video, camera, out in args.pair:
        start = time.perf_counter()
        try:
            _extract_one(video, camera, out, options, progress, args.strict)
        except (cli.BadInput, cli.WorkFailed, FileNotFoundError) as err:
            if args.on_failure != "record":
                raise
            failed += 1
            code = cli.EXIT_FAILED if isinstance(err, cli.WorkFailed) else cli.EXIT_BAD_INPUT
            message = f"{type(err).__name__}: {err}"
            paths = output_paths(out)
            write_failure(
                paths["summary"],
                [out, paths["landmarks"]],
                "pose",
                message,
                code,
                [message],
                time.perf_counter() - start,
            )
            log.warning("%s: extraction failed (%s); recorded in %s", video, message, paths["summary"])
    log.info("%d videos extracted, %d failures recorded", len(args.pair) - failed, failed)
    return cli.EXIT_OK


# ----------------------------------------------------------------------------- batch
def batch_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pose_extract batch",
        "Extract many videos (each with its CLIP.camera.json beside it) into OUT_DIR/NAME.npy (+ .landmarks.npz, "
        ".json) and an ST-GCN split OUT_DIR/{split}_data.npy + {split}_label.pkl for `python -m ciasa.evaluate "
        "--data OUT_DIR --split SPLIT`. A summary goes to OUT_DIR/{split}_extract.json.",
    )
    p.add_argument("--videos", nargs="+", required=True, type=Path, help="input videos")
    cli.add_names_flag(p, help="sample names, one per video (default: the video file stems)")
    p.add_argument(
        "--labels",
        type=_int_list,
        help="class labels, comma-separated, one per video (default: parsed from NTU sample names)",
    )
    p.add_argument("--classes", type=Path, help="classes.json to copy into OUT_DIR (list of class names)")
    p.add_argument("--out-dir", required=True, type=Path, help="output directory")
    p.add_argument("--split", default="val", help="name of the split written")
    p.add_argument("--frames", type=cli.positive_int, help="pad/cut every clip to T frames (default: the longest clip)")
    p.add_argument("--bodies", type=cli.positive_int, default=1, help="pad to M bodies with zeros")
    p.add_argument(
        "--on-failure",
        choices=("error", "skip"),
        default="error",
        help="a clip that fails: 'error' writes no split and exits 1; 'skip' leaves it out",
    )
    p.add_argument("--overwrite", action="store_true", help="re-extract clips whose outputs are up to date")
    _add_options(p)
    return p


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def run_batch_cli(args: argparse.Namespace) -> int:
    from pose_extract.batch import run_batch

    class_names = None
    if args.classes:
        if not args.classes.is_file():
            raise FileNotFoundError(f"{args.classes}: classes file not found")
        try:
            class_names = json.loads(args.classes.read_text())
        except json.JSONDecodeError as err:
            raise cli.BadInput(f"{args.classes}: not valid JSON ({err})") from None
    result = run_batch(
        args.videos,
        args.out_dir,
        names=args.names,
        labels=args.labels,
        split=args.split,
        frames=args.frames,
        bodies=args.bodies,
        options=options_from(args),
        on_failure=args.on_failure,
        class_names=class_names,
        overwrite=args.overwrite,
        progress=cli.show_progress(args),
    )
    log.info("%d/%d videos extracted; summary %s", len(result.names), len(args.videos), result.summary_path)
    if result.split_paths:
        log.info("split written: %s, %s", *result.split_paths)
    if result.failed:
        message = f"{len(result.failed)} of {len(args.videos)} videos failed: {', '.join(result.failed)}"
        if args.on_failure == "error":
            raise cli.WorkFailed(message + " (no split written; --on-failure skip leaves them out)")
        log.warning("%s (left out of the split)", message)
    return cli.EXIT_OK


# ----------------------------------------------------------------------------- prior
def prior_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pose_extract prior",
        "Measure a body-size prior (median limb lengths) from an ST-GCN-layout NTU data set, for --body-prior. "
        "Use a training split: the prior describes a population, not the clips being extracted.",
    )
    p.add_argument("--data", required=True, type=Path, help="ST-GCN layout directory")
    p.add_argument("--split", default="train", help="split to measure")
    p.add_argument("--out", required=True, type=Path, help="prior JSON to write")
    cli.add_logging_flags(p)
    return p


def run_prior(args: argparse.Namespace) -> int:
    from ciasa.data.stgcn import load_split
    from pose_extract.prior import prior_from_skeletons

    skeletons = load_split(args.data, args.split)
    prior = prior_from_skeletons(skeletons.data, f"{args.data}/{args.split}")
    prior.save(args.out)
    log.info("prior (total %.3f m) written to %s", prior.total, args.out)
    return cli.EXIT_OK


# ----------------------------------------------------------------------------- error model
def error_model_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pose_extract error-model",
        "Fit the round trip's error model (format ciasa-roundtrip-error/1, docs/CONTRACTS.md) from rendered "
        "clips: each --source DIR holds, per clip, CLIP.src.npy (the skeleton that was rendered, (3, T, 25, M)) "
        "and CLIP.npy + CLIP.json (what `python -m pose_extract` recovered from its video). Fit it on training "
        "clips and real motion, never on the clips an attack will use it on.",
    )
    p.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="NAME=DIR",
        help="a named set of rendered and extracted clips; repeatable",
    )
    p.add_argument("--out", required=True, type=Path, help="error-model JSON to write")
    cli.add_logging_flags(p)
    return p


def run_error_model(args: argparse.Namespace) -> int:
    from ciasa.io import atomic_write_json
    from pose_extract.error_model import fit_error_model, pairs_from_dir

    sources, options = {}, None
    for item in args.source:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise cli.BadInput(f"--source {item!r}: expected NAME=DIR")
        pairs, found = pairs_from_dir(Path(folder))
        if options is None:
            options = found
        elif found != options:
            raise cli.BadInput(f"{folder}: its clips were extracted with other options than the first source's")
        sources[name] = pairs
    model = fit_error_model(sources, options)
    atomic_write_json(args.out, model)
    log.info("error model from %d frames of %d clips written to %s", model["n_frames"], model["n_clips"], args.out)
    return cli.EXIT_OK


# ----------------------------------------------------------------------------- dispatch
FORM_CLI = {
    "clip": (clip_parser, run_clip),
    "batch": (batch_parser, run_batch_cli),
    "prior": (prior_parser, run_prior),
    "error-model": (error_model_parser, run_error_model),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    build, work = (single_parser, run_single)
    if argv and argv[0] in FORM_CLI:
        build, work = FORM_CLI[argv.pop(0)]
    return cli.run_main(work, build().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
