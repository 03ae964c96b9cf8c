"""Command line: ``python -m render --skeleton CLIP.npy --out CLIP.mp4`` (one clip; repeat the
pair for the conditions of one clip, rendered in one Blender session with one scene) and
``python -m render batch --data DIR --split val --names a,b --out-dir D`` (many clips, one
Blender session). ``python -m render --help`` / ``python -m render batch --help``.

Follows the project's CLI convention (:mod:`ciasa.cli`): exit 0 done, 1 the work failed
(Blender or ffmpeg failed, a full disk, a batch with failed clips), 2 bad input (file,
shape, values, options, an asset that cannot be read, a GPU asked for where there is
none; nothing is written), 130 interrupted (Ctrl-C or SIGTERM; temporary frames removed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ciasa import cli

log = logging.getLogger("render")


def _add_render_flags(p: argparse.ArgumentParser) -> None:
    from render.blender import DEVICES
    from render.quality import CAMERAS, QUALITIES

    g = p.add_argument_group("look")
    g.add_argument(
        "--quality",
        default="draft",
        choices=tuple(QUALITIES),
        help="; ".join(f"{q.name}: {q.summary}" for q in QUALITIES.values()),
    )
    g.add_argument(
        "--camera",
        default="default",
        choices=tuple(CAMERAS),
        help="; ".join(f"{c.name}: {c.summary}" for c in CAMERAS.values()),
    )
    g.add_argument(
        "--body",
        choices=("default", "makehuman"),
        help="override the preset's body: default (procedural mannequin) or makehuman (CC0 MakeHuman mesh)",
    )
    g.add_argument(
        "--engine",
        choices=("workbench", "cycles", "eevee"),
        help="override the preset's engine: workbench (rasteriser), cycles (path tracer), eevee (slow without a GPU)",
    )
    g.add_argument(
        "--resolution",
        type=cli.parse_wh,
        help="WxH, even numbers; unset: the camera's size, 480x360 for the default camera",
    )
    g.add_argument("--fps", type=float, default=30.0, help="frame rate of the sequence and the video (NTU: 30)")
    g.add_argument(
        "--hfov",
        type=float,
        help="horizontal field of view in degrees; unset: the camera's, "
        "70 for the default camera (Kinect v2's depth sensor)",
    )
    g.add_argument(
        "--adapt-fov",
        action="store_true",
        help="widen the field of view when the motion would leave the image (otherwise: warn only)",
    )
    g.add_argument(
        "--textures",
        type=Path,
        help="folder of detail maps (NAME.png) replacing render/assets/textures in the standard and photo presets",
    )
    e = p.add_argument_group("engine")
    e.add_argument(
        "--cycles-samples", type=cli.positive_int, help="Cycles samples per pixel; unset: the preset's (16, photo: 32)"
    )
    e.add_argument("--no-denoise", action="store_true", help="Cycles: turn denoising off")
    e.add_argument(
        "--device",
        default="auto",
        choices=DEVICES,
        help="where Cycles renders: auto (a GPU when Blender finds one, else CPU), cpu, gpu (any GPU), "
        "or a GPU backend; asking for a GPU that is not there is an error",
    )
    e.add_argument("--cycles-device", dest="device", choices=DEVICES, help="old name of --device")
    e.add_argument(
        "--workbench-aa",
        help="Workbench anti-aliasing: OFF (the draft preset's), FXAA (standard's), 5, 8, 11, 16, 32 samples",
    )
    e.add_argument(
        "--threads",
        type=cli.positive_int,
        help="CPU threads Blender renders with (Cycles and Mesa's software GL); unset: all cores",
    )
    e.add_argument("--crf", type=int, default=18, help="H.264 quality (lower = better, 18 ~ visually lossless)")
    cli.add_logging_flags(p)
    cli.add_progress_flag(p)


def _options(args: argparse.Namespace):
    from render.clip import RenderOptions

    w, h = args.resolution if args.resolution else (None, None)
    return RenderOptions(
        quality=args.quality,
        camera=args.camera,
        body=args.body,
        engine=args.engine,
        width=w,
        height=h,
        hfov=args.hfov,
        fps=args.fps,
        adapt_fov=args.adapt_fov,
        cycles_samples=args.cycles_samples,
        cycles_denoise=not args.no_denoise,
        device=args.device,
        crf=args.crf,
        workbench_aa=args.workbench_aa,
        threads=args.threads,
        textures=args.textures,
    )


def single_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m render",
        "Render an NTU-25 skeleton clip (3, T, 25, M), Kinect camera space, to an RGB video of rigged humans "
        "seen from the sensor. Writes CLIP.mp4, CLIP.camera.json (the camera, for pose lifting) and "
        "CLIP.render.json (frames, trimmed padding, warnings, timings). Batch form: python -m render batch --help",
    )
    p.add_argument(
        "--skeleton",
        required=True,
        type=Path,
        action="append",
        help="CLIP.npy of shape (3, T, 25, M); repeat --skeleton/--out pairs to render the conditions of "
        "one clip (clean, control, perturbed) in one Blender session: Blender's start-up is paid "
        "once, each pair still gets its own video, camera and render files",
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        action="append",
        help="output video CLIP.mp4 (one per --skeleton, in the same order)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--seed", type=int, help="scene/appearance seed")
    g.add_argument(
        "--scene-id",
        help="name hashed (sha256) into the seed; give the clean and the perturbed "
        "render of a clip the same one; unset: the output file's stem (one pair "
        "only: several pairs need --scene-id or --seed)",
    )
    p.add_argument(
        "--frames-dir", type=Path, help="keep the rendered PNG frames here (FRAMES_DIR/OUT_STEM/ with several pairs)"
    )
    p.add_argument(
        "--reference",
        type=Path,
        help="the clean version of this (perturbed) clip: floor, walls and body girth come from it, "
        "so clean and perturbed videos differ only where the skeletons do (pass the same file when "
        "rendering the clean clip itself for identical results)",
    )
    _add_render_flags(p)
    return p


def batch_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m render batch",
        "Render many clips of ST-GCN layout data (DIR/{split}_data.npy + {split}_label.pkl) in one Blender "
        "session: OUT_DIR/NAME.mp4 (+ .camera.json, .render.json). The scene id of each clip is its sample name, "
        "so clean and perturbed data render with identical scenes; with several conditions the first one (clean) "
        "also fixes floor, walls and body girth for the others. Finished clips (with their render.json) are "
        "skipped, so an interrupted batch resumes. Exits 1 when any clip failed (the others are rendered).",
    )
    p.add_argument(
        "--data",
        required=True,
        action="append",
        help="ST-GCN layout directory; repeat as LABEL=DIR for several conditions (e.g. "
        "clean=data/xview adv=attack/out), rendered to OUT_DIR/LABEL/NAME.mp4",
    )
    p.add_argument("--split", default="val", help="which split of the data: DIR/{split}_data.npy")
    cli.add_names_flag(p, help="sample names to render; unset: all")
    p.add_argument("--limit", type=cli.positive_int, help="render at most this many clips (after --names)")
    p.add_argument("--out-dir", required=True, type=Path, help="folder for the videos (and LABEL/ subfolders)")
    p.add_argument("--overwrite", action="store_true", help="re-render clips that are already done")
    p.add_argument("--frames-dir", type=Path, help="keep each clip's PNG frames in FRAMES_DIR/[LABEL/]NAME/")
    _add_render_flags(p)
    return p


def _log_report(out: Path, report) -> None:
    log.info(
        "%s: %d frames (%d padding frames trimmed), %.2f s/frame, %s",
        out,
        report.frames_rendered,
        report.trimmed_padding_frames,
        report.seconds["per_frame_render_s"],
        f"{len(report.warnings)} warnings" if report.warnings else "no warnings",
    )


def _run_single(args: argparse.Namespace) -> int:
    if len(args.skeleton) != len(args.out):
        raise cli.BadInput(
            f"--skeleton given {len(args.skeleton)} times but --out {len(args.out)} times: "
            "give one --out per --skeleton"
        )
    if len(args.skeleton) > 1:
        return _run_pairs(args)
    from render.clip import render_clip

    report = render_clip(
        args.skeleton[0],
        args.out[0],
        _options(args),
        seed=args.seed,
        scene_id=args.scene_id,
        frames_dir=args.frames_dir,
        reference=args.reference,
        progress=cli.show_progress(args),
    )
    _log_report(args.out[0], report)
    return cli.EXIT_OK


def _run_pairs(args: argparse.Namespace) -> int:
    """The conditions of one clip in one session. Every input is read and checked before the
    first frame (bad input writes nothing); a failing render is logged, the next one still
    runs, and the exit code is 1 when any failed."""
    from ciasa.video import EncodeError
    from render.blender import BlenderError
    from render.clip import Renderer, RenderInputError, load_skeleton

    if args.seed is None and args.scene_id is None:
        raise cli.BadInput(
            "several --skeleton/--out pairs are one clip's conditions: give --scene-id (or --seed) "
            "so that they share one scene"
        )
    outs = [Path(o) for o in args.out]
    if len({o.resolve() for o in outs}) != len(outs):
        raise cli.BadInput(f"--out: the same file given twice ({', '.join(map(str, outs))})")
    for out in outs:
        if out.suffix.lower() != ".mp4":
            raise RenderInputError(f"{out}: the output must be an .mp4 file")
    clips = [load_skeleton(path) for path in args.skeleton]
    reference = load_skeleton(args.reference) if args.reference else None
    renderer = Renderer(_options(args), progress=cli.show_progress(args))
    failed, bad = [], []
    for path, clip, out in zip(args.skeleton, clips, outs):
        frames = Path(args.frames_dir) / out.stem if args.frames_dir else None
        try:
            report = renderer.render(
                clip,
                out,
                seed=args.seed,
                scene_id=args.scene_id,
                frames_dir=frames,
                source=str(path),
                reference=reference,
            )
        except OSError as err:
            import errno

            if err.errno == errno.ENOSPC:  # every later render would fail the same way
                raise
            log.error("%s: %s", out, err)
            failed.append(out)
            continue
        except RenderInputError as err:  # found while framing (e.g. joints behind the sensor)
            log.error("%s: %s", out, err)
            bad.append(str(err))
            continue
        except (BlenderError, EncodeError) as err:  # the other conditions still render; the exit code says it
            log.error("%s: %s: %s", out, type(err).__name__, err)
            failed.append(out)
            continue
        _log_report(out, report)
    if bad:
        raise cli.BadInput("; ".join(bad))
    if failed:
        raise cli.WorkFailed(f"{len(failed)} of {len(outs)} renders failed: {', '.join(map(str, failed))}")
    return cli.EXIT_OK


def _run_batch(args: argparse.Namespace) -> int:
    from render.batch import render_batch

    summary = render_batch(
        args.data,
        args.split,
        args.out_dir,
        _options(args),
        names=args.names,
        limit=args.limit,
        overwrite=args.overwrite,
        frames_dir=args.frames_dir,
        progress=cli.show_progress(args),
    )
    log.info(
        "batch: %d rendered, %d skipped, %d failed", summary["rendered"], summary["skipped"], len(summary["failed"])
    )
    return cli.EXIT_FAILED if summary["failed"] else cli.EXIT_OK


def _work(run):
    """Blender's and ffmpeg's failures are the work failing (exit 1), not bad input."""

    def work(args: argparse.Namespace) -> int:
        from ciasa.video import EncodeError
        from render.blender import BlenderError
        from render.interrupt import handle_interrupts

        with handle_interrupts():
            try:
                return run(args)
            except (BlenderError, EncodeError) as err:
                raise cli.WorkFailed(str(err)) from None

    return work


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "batch":
        return cli.run_main(_work(_run_batch), batch_parser().parse_args(argv[1:]))
    return cli.run_main(_work(_run_single), single_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
