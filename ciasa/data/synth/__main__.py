"""``python -m ciasa.data.synth --out DIR``: write the embedded synthetic NTU-like data set."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ciasa import cli
from ciasa.data.synth.generate import (
    SynthConfig,
    class_names,
    generate,
    parse_subjects,
    write_dataset,
)
from ciasa.data.synth.motions import ACTIONS
from ciasa.data.synth.realism import Realism

log = logging.getLogger("ciasa.data.synth")


def build_parser() -> argparse.ArgumentParser:
    names = ", ".join(f"A{a.ntu_id:03d} {n}" for a, n in zip(ACTIONS, class_names()))
    p = cli.parser(
        "python -m ciasa.data.synth",
        "Generate the synthetic NTU-like skeleton action data set (NTU-25 joints, Kinect camera "
        "space, ST-GCN layout) with cross-subject and cross-view splits: OUT/xsub/, OUT/xview/, "
        f"OUT/views.json (each clip's sensor pose and floor plane) and OUT/meta.json. Classes: {names}.",
    )
    p.add_argument("--out", required=True, type=Path, help="output directory")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same files")
    p.add_argument(
        "--frames", type=cli.positive_int, default=64, help="frames per clip (T), 30 fps; the action fills them"
    )
    p.add_argument(
        "--bodies", type=cli.positive_int, default=1, help="body slots (M); slots beyond the first stay zero"
    )
    p.add_argument("--subjects", default="1-40", help="performer numbers, e.g. 1-40 or 1,2,4-9")
    p.add_argument(
        "--replications", type=cli.positive_int, default=2, help="performances per subject and class (R001, R002, ...)"
    )
    p.add_argument("--cameras", default="1,2,3", help="sensors: 1 = front (yaw 0), 2 = yaw +45, 3 = yaw -45")
    p.add_argument(
        "--all-views",
        action="store_true",
        help="film every performance with every camera (NTU-style, 3x the samples) instead of one camera each",
    )
    p.add_argument(
        "--actions",
        default="all",
        help="classes to generate: all (30), gross (the 14 gross-motion ones), fine (the 16 fine-grained "
        "hand-to-head/torso ones) or a comma list of A-numbers, e.g. 1,3,28; labels are 0..k-1 in the order above",
    )
    p.add_argument(
        "--jitter", type=float, default=None, help="Kinect-like joint noise, metres (hands/feet 1.8x); default 0.008"
    )
    real = p.add_argument_group(
        "sensor realism measured on real clips (ciasa.data.synth.realism, benchmarks/data_realism.py; all off by default)"
    )
    real.add_argument(
        "--kinect-noise",
        action="store_true",
        help="replace --jitter's noise by the Kinect v2 noise measured on real NTU clips "
        "(per joint group and axis, with its spectrum)",
    )
    real.add_argument(
        "--bone-noise",
        type=cli.non_negative_float,
        default=0.0,
        metavar="SCALE",
        help="slow bone-length wobble as measured on real NTU clips, times SCALE (0 off, 1 as measured)",
    )
    real.add_argument(
        "--dropouts",
        type=cli.non_negative_float,
        default=0.0,
        metavar="SCALE",
        help="joints the sensor only infers, held where last seen, at the measured rate and run "
        "length times SCALE (0 off, 1 as measured)",
    )
    p.add_argument(
        "--posture-cues",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="class-typical lean, weight shift and knee bend of a few cm (ciasa.data.synth.posture)",
    )
    p.add_argument("--plot", action="store_true", help="also draw OUT/synth_classes.png (skeleton strips per class)")
    cli.add_logging_flags(p)
    cli.add_progress_flag(p)
    return p


def run(args: argparse.Namespace) -> int:
    if args.jitter is not None and args.kinect_noise:
        raise cli.BadInput("--jitter and --kinect-noise both set the joint noise: give one of them")
    jitter = 0.008 if args.jitter is None else args.jitter
    if not jitter >= 0:
        raise cli.BadInput(f"--jitter must be >= 0 metres, got {args.jitter}")
    try:
        cameras = tuple(int(c) for c in args.cameras.split(",") if c.strip())
    except ValueError:
        raise cli.BadInput(f"--cameras: expected a comma list of sensor numbers, got {args.cameras!r}") from None
    config = SynthConfig(
        seed=args.seed,
        frames=args.frames,
        bodies=args.bodies,
        subjects=parse_subjects(args.subjects),
        replications=args.replications,
        cameras=cameras,
        all_views=args.all_views,
        jitter_m=jitter,
        posture_cues=args.posture_cues,
        actions=args.actions,
        realism=Realism(kinect_noise=args.kinect_noise, bone_noise=args.bone_noise, dropouts=args.dropouts),
    )
    meta = write_dataset(args.out, config, progress=cli.show_progress(args))
    for benchmark, sizes in meta["sizes"].items():
        log.info("%s: train %d, val %d samples", benchmark, sizes["train"], sizes["val"])
    if args.plot:
        path = plot_dataset(args.out / "synth_classes.png", config)
        log.info("figure: %s", path)
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


def plot_dataset(path: Path, config: SynthConfig) -> Path:
    """Two front-view performances and one 45-degree view per class."""
    from dataclasses import replace

    from ciasa.data.synth.plot import plot_strips

    few = replace(config, subjects=config.subjects[:6], all_views=True, cameras=(1, 2, 3))
    samples = generate(few)
    rows, titles, strip_titles = [], [], []
    actions = config.action_list
    for label, (action, name) in enumerate(zip(actions, class_names(actions))):
        front = [s for s in samples if s.label == label and s.camera == 1][:2]
        side = [s for s in samples if s.label == label and s.camera == 2 and s.subject != front[0].subject][:1]
        chosen = front + side
        rows.append([s.clip for s in chosen])
        titles.append(f"A{action.ntu_id:03d} {name}")
        strip_titles.append([s.name for s in chosen])
    plot_strips(rows, titles, path, strip_titles=strip_titles)
    return path


if __name__ == "__main__":
    sys.exit(main())
