"""Command line: ``python -m pose_extract --video CLIP.mp4 --camera CLIP.camera.json --out CLIP.npy``.

Subcommands:
  (none)  extract one video
  batch   extract many videos and write an ST-GCN split for ``python -m ciasa.evaluate``
  prior   measure a body-size prior from a skeleton data set's training split

Exit status: 0 done (a flagged clip still exits 0 unless --strict; read CLIP.json),
1 bad input (missing/unreadable video, camera mismatch, ...), 3 no person in the video,
4 flagged with --strict (outputs are written), 5 batch with failed clips.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pose_extract.extract import ExtractOptions, NoPersonError, extract, write_outputs
from pose_extract.landmarks import DEFAULT_RULES
from ciasa.video import VideoError

log = logging.getLogger("pose_extract")

EXIT_BAD_INPUT, EXIT_NO_PERSON, EXIT_FLAGGED, EXIT_BATCH_FAILED = 1, 3, 4, 5


def _add_options(p: argparse.ArgumentParser) -> None:
    d = ExtractOptions()
    g = p.add_argument_group("extraction")
    g.add_argument("--max-gap", type=int, default=d.max_gap,
                   help=f"interpolate runs of at most this many missed frames (default {d.max_gap})")
    g.add_argument("--min-detection-rate", type=float, default=d.min_detection_rate,
                   help=f"flag clips detected in fewer frames than this fraction (default {d.min_detection_rate})")
    g.add_argument("--body-prior", default="default",
                   help="body-size prior for the depth: 'default' (built-in adult), 'none' (MediaPipe's own "
                        "size) or a JSON file from `python -m pose_extract prior`")
    g.add_argument("--floor-plane", default=d.floor_plane,
                   help="calibrated floor a,b,c,d (a x + b y + c z + d = 0, skeleton space, normal up, like "
                        "Kinect's FloorClipPlane) that sets the body's size and depth; 'auto': the camera "
                        "file's extra.floor_plane when present; 'off' (default): the body-size prior sets them "
                        "(the renderer's floor is placed from the source skeleton, so it is not used unasked)")
    g.add_argument("--sole-height", type=float, default=d.sole_height,
                   help=f"height of MediaPipe's lowest sole landmark over the floor, m (default {d.sole_height})")
    g.add_argument("--max-turn-deg", default=str(d.max_turn_deg),
                   help="facing prior: frames MediaPipe reads as turned further from the camera than this are "
                        "taken as mirrored back-view readings and undone; 'none' turns it off "
                        f"(default {d.max_turn_deg})")
    g.add_argument("--refiner", default="default",
                   help="learned pose correction (pose_extract.refine): 'default' (fitted on renders of the "
                        "synthetic set's training clips), 'none', or a refiner .npz "
                        "(benchmarks/pose_accuracy.py --fit-refiner)")
    g.add_argument("--max-jump", default=str(d.max_jump),
                   help="reject (then interpolate) frames whose limb landmarks sit further than this many torso "
                        "lengths from their 5-frame running median; 'none' turns it off "
                        f"(default {d.max_jump})")
    g.add_argument("--min-detection-confidence", type=float, default=d.min_detection_confidence)
    g.add_argument("--min-tracking-confidence", type=float, default=d.min_tracking_confidence)
    g.add_argument("--no-smooth", action="store_true", help="turn off MediaPipe's temporal landmark filter")
    g.add_argument("--no-rays", action="store_true",
                   help="keep MediaPipe's 3-D x and y instead of the 2-D landmarks' rays (depth is 3-D either way)")
    g.add_argument("--rule", action="append", default=[], metavar="NAME=VALUE",
                   help=f"override a mapping constant ({', '.join(DEFAULT_RULES)}); repeatable")
    p.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")


def _options(args: argparse.Namespace) -> ExtractOptions:
    rules = {}
    for item in args.rule:
        name, sep, value = item.partition("=")
        if not sep or name not in DEFAULT_RULES:
            raise SystemExit(f"--rule {item!r}: expected NAME=VALUE with NAME one of {', '.join(DEFAULT_RULES)}")
        rules[name] = float(value)
    floor: str | tuple[float, ...] = args.floor_plane
    if floor not in ("auto", "off"):
        try:
            floor = tuple(float(v) for v in floor.split(","))
        except ValueError:
            floor = ()
        if len(floor) != 4:
            raise SystemExit(f"--floor-plane {args.floor_plane!r}: expected 'auto', 'off' or four numbers a,b,c,d")
    return ExtractOptions(
        max_gap=args.max_gap,
        floor_plane=floor,
        sole_height=args.sole_height,
        min_detection_rate=args.min_detection_rate,
        body_prior=args.body_prior,
        min_detection_confidence=args.min_detection_confidence,
        min_tracking_confidence=args.min_tracking_confidence,
        smooth=not args.no_smooth,
        rays=not args.no_rays,
        max_turn_deg=None if args.max_turn_deg.lower() == "none" else float(args.max_turn_deg),
        max_jump=None if args.max_jump.lower() == "none" else float(args.max_jump),
        refiner=args.refiner,
        rules=rules,
    )


def _single(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pose_extract",
        description="Extract the NTU-25 3-D skeleton (Kinect camera space) of the person in a video with "
        "MediaPipe Pose. Writes OUT (.npy, (3, T, 25, 1) float32), OUT's .landmarks.npz (the 33 "
        "BlazePose landmarks) and .json (summary). Other forms: `python -m pose_extract batch -h`, "
        "`python -m pose_extract prior -h`.",
    )
    p.add_argument("--video", required=True, type=Path, help="input video (anything OpenCV reads)")
    p.add_argument("--camera", type=Path, help="camera file (ciasa-camera/1); default: VIDEO's .camera.json")
    p.add_argument("--out", required=True, type=Path, help="output skeleton, CLIP.npy")
    p.add_argument("--strict", action="store_true", help="exit 4 when the clip is flagged (outputs still written)")
    _add_options(p)
    args = p.parse_args(argv)
    _logging(args.quiet)
    try:
        extraction = extract(args.video, args.camera, _options(args), progress=not args.quiet)
        paths = write_outputs(extraction, args.out)
    except NoPersonError as err:
        log.error("%s", err)
        return EXIT_NO_PERSON
    except (VideoError, FileNotFoundError, ValueError) as err:
        log.error("%s", err)
        return EXIT_BAD_INPUT
    s = extraction.summary
    log.info(
        "%s: %d frames, detected %d (%.1f%%), filled %d, %.1f frames/s -> %s",
        args.video, s["frames"], s["detected"], 100 * s["detection_rate"], s["filled_frames"], s["fps"],
        paths["skeleton"],
    )
    if s["flagged"]:
        return EXIT_FLAGGED if args.strict else 0
    return 0


def _batch(argv: list[str]) -> int:
    from pose_extract.batch import run_batch

    p = argparse.ArgumentParser(
        prog="python -m pose_extract batch",
        description="Extract many videos (each with its CLIP.camera.json beside it) into OUT_DIR/NAME.npy "
        "(+ .landmarks.npz, .json) and an ST-GCN split OUT_DIR/{split}_data.npy + {split}_label.pkl "
        "for `python -m ciasa.evaluate --data OUT_DIR --split SPLIT`. A summary goes to "
        "OUT_DIR/{split}_extract.json.",
    )
    p.add_argument("--videos", nargs="+", required=True, type=Path)
    p.add_argument("--names", nargs="+", help="sample names (default: the video file stems)")
    p.add_argument("--labels", nargs="+", type=int, help="class labels (default: parsed from NTU sample names)")
    p.add_argument("--classes", type=Path, help="classes.json to copy into OUT_DIR (list of class names)")
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--split", default="val")
    p.add_argument("--frames", type=int, help="pad/cut every clip to T frames (default: the longest clip)")
    p.add_argument("--bodies", type=int, default=1, help="pad to M bodies with zeros (default 1)")
    p.add_argument("--on-failure", choices=("error", "skip"), default="error",
                   help="a clip that fails: 'error' writes no split and exits 5; 'skip' leaves it out")
    p.add_argument("--overwrite", action="store_true", help="re-extract clips whose outputs are up to date")
    _add_options(p)
    args = p.parse_args(argv)
    _logging(args.quiet)
    try:
        class_names = None
        if args.classes:
            class_names = json.loads(args.classes.read_text())
        result = run_batch(
            args.videos, args.out_dir, names=args.names, labels=args.labels, split=args.split,
            frames=args.frames, bodies=args.bodies, options=_options(args), on_failure=args.on_failure,
            class_names=class_names, overwrite=args.overwrite, progress=not args.quiet,
        )  # fmt: skip
    except (FileNotFoundError, ValueError, json.JSONDecodeError) as err:
        log.error("%s", err)
        return EXIT_BAD_INPUT
    log.info("%d/%d videos extracted; summary %s", len(result.names), len(args.videos), result.summary_path)
    if result.failed:
        log.error("%d videos failed: %s", len(result.failed), ", ".join(result.failed))
        if args.on_failure == "error":
            return EXIT_BATCH_FAILED
    if result.split_paths:
        log.info("split written: %s, %s", *result.split_paths)
    return 0


def _prior(argv: list[str]) -> int:
    from ciasa.data.stgcn import load_split
    from pose_extract.prior import prior_from_skeletons

    p = argparse.ArgumentParser(
        prog="python -m pose_extract prior",
        description="Measure a body-size prior (median limb lengths) from an ST-GCN-layout NTU data set, "
        "for --body-prior. Use a training split: the prior describes a population, not the clips "
        "being extracted.",
    )
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--split", default="train")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)
    _logging(False)
    try:
        skeletons = load_split(args.data, args.split)
        prior = prior_from_skeletons(skeletons.data, f"{args.data}/{args.split}")
    except (FileNotFoundError, ValueError) as err:
        log.error("%s", err)
        return EXIT_BAD_INPUT
    prior.save(args.out)
    log.info("prior (total %.3f m) written to %s", prior.total, args.out)
    return 0


def _logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "batch":
        return _batch(argv[1:])
    if argv and argv[0] == "prior":
        return _prior(argv[1:])
    return _single(argv)


if __name__ == "__main__":
    sys.exit(main())
