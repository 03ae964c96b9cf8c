"""Command line: ``python -m render --skeleton CLIP.npy --out CLIP.mp4`` (one clip) and
``python -m render batch --data DIR --split val --names a,b --out-dir D`` (many clips, one
Blender session). ``python -m render --help`` / ``python -m render batch --help``.

Exit status: 0 done, 1 a batch with failed clips (the others are rendered), 2 bad input
(file, shape, values, options), 3 Blender, ffmpeg or the file system failed."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("render")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--body", default="default", help="default (procedural mannequin) or makehuman (CC0 MakeHuman mesh)")
    p.add_argument("--engine", default="workbench", help="workbench (default, fast), cycles (CPU, or GPU when present), eevee")
    p.add_argument("--resolution", default="480x360", help="WxH, even numbers (default 480x360)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of the sequence and the video (NTU: 30)")
    p.add_argument("--hfov", type=float, default=70.0, help="horizontal field of view in degrees (Kinect v2 depth: ~70)")
    p.add_argument("--adapt-fov", action="store_true",
                   help="widen the field of view when the motion would leave the image (default: warn only)")
    p.add_argument("--cycles-samples", type=int, default=16)
    p.add_argument("--no-denoise", action="store_true", help="cycles: turn denoising off")
    p.add_argument("--cycles-device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--workbench-aa", default="FXAA", help="Workbench anti-aliasing: OFF, FXAA (default), 5, 8, 11, 16, 32 samples")
    p.add_argument("--crf", type=int, default=18, help="H.264 quality (lower = better, 18 ~ visually lossless)")
    p.add_argument("-v", "--verbose", action="store_true")


def _options(args: argparse.Namespace):
    from render.clip import RenderOptions, parse_resolution

    w, h = parse_resolution(args.resolution)
    return RenderOptions(body=args.body, engine=args.engine, width=w, height=h, hfov=args.hfov, fps=args.fps,
                         adapt_fov=args.adapt_fov, cycles_samples=args.cycles_samples,
                         cycles_denoise=not args.no_denoise, cycles_device=args.cycles_device, crf=args.crf,
                         workbench_aa=args.workbench_aa)


def single_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m render",
        description="Render an NTU-25 skeleton clip (3, T, 25, M), Kinect camera space, to an RGB video of "
                    "rigged humans seen from the sensor. Writes CLIP.mp4, CLIP.camera.json (the camera, for "
                    "pose lifting) and CLIP.render.json (frames, trimmed padding, warnings, timings). "
                    "Batch form: python -m render batch --help",
    )
    p.add_argument("--skeleton", required=True, type=Path, help="CLIP.npy of shape (3, T, 25, M)")
    p.add_argument("--out", required=True, type=Path, help="output video CLIP.mp4")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--seed", type=int, help="scene/appearance seed")
    g.add_argument("--scene-id", help="name hashed (sha256) into the seed; give the clean and the perturbed "
                                      "render of a clip the same one (default: the output file's stem)")
    p.add_argument("--frames-dir", type=Path, help="keep the rendered PNG frames here")
    p.add_argument("--reference", type=Path,
                   help="the clean version of this (perturbed) clip: floor, back wall and body girth come from it, "
                        "so clean and perturbed videos differ only where the skeletons do (pass the same file when "
                        "rendering the clean clip itself for identical results)")
    _common(p)
    return p


def batch_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m render batch",
        description="Render many clips of ST-GCN layout data (DIR/{split}_data.npy + {split}_label.pkl) in one "
                    "Blender session: OUT_DIR/NAME.mp4 (+ .camera.json, .render.json). The scene id of each "
                    "clip is its sample name, so clean and perturbed data render with identical scenes; with "
                    "several conditions the first one (clean) also fixes floor, wall and body girth for the others. "
                    "Finished clips (with their render.json) are skipped, so an interrupted batch resumes.",
    )
    p.add_argument("--data", required=True, action="append",
                   help="ST-GCN layout directory; repeat as LABEL=DIR for several conditions (e.g. "
                        "clean=data/xview adv=attack/out), rendered to OUT_DIR/LABEL/NAME.mp4")
    p.add_argument("--split", default="val")
    names = p.add_mutually_exclusive_group()
    names.add_argument("--names", help="comma-separated sample names (default: all)")
    names.add_argument("--names-file", type=Path, help="file with one sample name per line")
    p.add_argument("--limit", type=int, help="render at most this many clips (after --names)")
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--overwrite", action="store_true", help="re-render clips that are already done")
    p.add_argument("--frames-dir", type=Path, help="keep each clip's PNG frames in FRAMES_DIR/[LABEL/]NAME/")
    _common(p)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    batch = bool(argv) and argv[0] == "batch"
    parser = batch_parser() if batch else single_parser()
    args = parser.parse_args(argv[1:] if batch else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from render.blender import BlenderError
    from render.clip import RenderInputError
    from ciasa.video import EncodeError

    try:
        options = _options(args)
        if batch:
            from render.batch import render_batch

            summary = render_batch(args.data, args.split, args.out_dir, options,
                                   names=args.names.split(",") if args.names else None,
                                   names_file=args.names_file, limit=args.limit, overwrite=args.overwrite,
                                   frames_dir=args.frames_dir)
            log.info("batch: %d rendered, %d skipped, %d failed", summary["rendered"], summary["skipped"],
                     len(summary["failed"]))
            return 1 if summary["failed"] else 0
        from render.clip import render_clip

        report = render_clip(args.skeleton, args.out, options, seed=args.seed, scene_id=args.scene_id,
                             frames_dir=args.frames_dir, reference=args.reference)
        log.info("%s: %d frames (%d padding frames trimmed), %.2f s/frame, %s", args.out, report.frames_rendered,
                 report.trimmed_padding_frames, report.seconds["per_frame_render_s"],
                 f"{len(report.warnings)} warnings" if report.warnings else "no warnings")
        return 0
    except (RenderInputError, ValueError, FileNotFoundError, KeyError) as err:
        log.error("%s", err)
        return 2
    except (BlenderError, EncodeError, OSError) as err:
        log.error("%s", err)
        return 3


if __name__ == "__main__":
    sys.exit(main())
