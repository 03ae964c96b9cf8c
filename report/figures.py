"""Skeleton strips: a few frames of a clip, clean (green) over perturbed (red).

Top row: the sequences given to the renderer (the attack's perturbation, in the
skeleton domain). Bottom row: the sequences re-extracted from the two videos (what
survives the trip through pixels). Front view as the camera sees it: the Kinect x
axis points to the sensor's left, so it is mirrored to read like the image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ciasa import cli
from ciasa.experiments.strips import draw_body
from ciasa.io import atomic_path
from ciasa.skeleton import NTU_RGBD

GREEN = "#1e9e46"
RED = "#d62728"


def active_frames(*clips: np.ndarray | None) -> int:
    """Number of leading frames in which any given clip has a body."""
    lengths = []
    for clip in clips:
        if clip is None:
            continue
        moving = np.flatnonzero(np.abs(clip).sum(axis=(0, 2, 3)) > 0)
        lengths.append(int(moving[-1]) + 1 if moving.size else 0)
    return max(lengths) if lengths else 0


def _draw(ax, clip: np.ndarray | None, t: int, color: str, style: str = "-") -> None:
    if clip is None or t >= clip.shape[1]:
        return
    for m in range(clip.shape[3]):
        draw_body(ax, clip[:, t, :, m], NTU_RGBD, color, lw=1.4, style=style, marker_size=1.8, alpha=1.0)


def _center(*clips: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Common view box (centre x, y and half-size) over all given clips' bodies."""
    points = []
    for clip in clips:
        if clip is None:
            continue
        xyz = clip[:2].reshape(2, -1)
        alive = np.abs(clip).sum(axis=0).reshape(-1) > 0
        if alive.any():
            points.append(np.stack([-xyz[0, alive], xyz[1, alive]], axis=1))
    if not points:
        return np.zeros(2), 1.0
    allp = np.concatenate(points)
    lo, hi = np.percentile(allp, 1, axis=0), np.percentile(allp, 99, axis=0)
    return (lo + hi) / 2, float(max(hi - lo) / 2 * 1.15 + 0.05)


def strip_figure(
    path: str | Path,
    source_clean: np.ndarray,
    source_perturbed: np.ndarray,
    recovered_clean: np.ndarray | None,
    recovered_perturbed: np.ndarray | None,
    title: str = "",
    frames: int = 6,
) -> None:
    """Write a 2 x ``frames`` PNG strip to ``path`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    length = active_frames(source_clean, source_perturbed) or source_clean.shape[1]
    times = np.unique(np.linspace(0, max(length - 1, 0), frames).round().astype(int))
    fig, axes = plt.subplots(2, len(times), figsize=(1.6 * len(times), 4.2), squeeze=False)
    rows = [
        ("source (rendered)", source_clean, source_perturbed),
        ("recovered (from video)", recovered_clean, recovered_perturbed),
    ]
    for r, (row_name, clean, perturbed) in enumerate(rows):
        centre, half = _center(clean, perturbed)
        for c, t in enumerate(times):
            ax = axes[r, c]
            _draw(ax, clean, t, GREEN)
            _draw(ax, perturbed, t, RED, "--")
            ax.set_xlim(centre[0] - half, centre[0] + half)
            ax.set_ylim(centre[1] - half, centre[1] + half)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"frame {t}", fontsize=8)
            if c == 0:
                ax.set_ylabel(row_name, fontsize=8)
            if clean is None and perturbed is None:
                ax.text(0.5, 0.5, "no skeleton", ha="center", va="center", transform=ax.transAxes, fontsize=7)
    fig.suptitle(f"{title}   clean: green, perturbed: red (dashed)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def _recovered(npy: str | None, info: str | None) -> np.ndarray | None:
    """A re-extracted skeleton, or None when the extraction failed or found nobody."""
    from pipeline.guard import is_failed

    if npy is None or (info is not None and is_failed(info)):
        return None
    array = np.load(npy)
    return array if array.ndim == 4 and array.shape[0] == 3 and array.any() else None


def build_parser():
    p = cli.parser(
        "python -m report.figures",
        "Draw a clip's skeleton strip: source clean (green) vs perturbed (red) on top, "
        "the skeletons recovered from the two videos below.",
    )
    p.add_argument("--source-clean", required=True, help="the clean skeleton given to the renderer (.npy)")
    p.add_argument("--source-perturbed", required=True, help="the perturbed skeleton given to the renderer (.npy)")
    p.add_argument("--recovered-clean", help="skeleton re-extracted from the clean video (.npy)")
    p.add_argument("--recovered-perturbed", help="skeleton re-extracted from the perturbed video (.npy)")
    p.add_argument("--pose-info-clean", help="pose JSON; a failed extraction draws no recovered skeleton")
    p.add_argument("--pose-info-perturbed", help="pose JSON of the perturbed video")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("--frames", type=cli.positive_int, default=6, help="frames per strip")
    p.add_argument("--out", required=True, help="output .png")
    cli.add_logging_flags(p)
    return p


def run(args) -> int:
    from pipeline.overlay import load_skeleton

    strip_figure(
        args.out,
        load_skeleton(args.source_clean, "--source-clean"),
        load_skeleton(args.source_perturbed, "--source-perturbed"),
        _recovered(args.recovered_clean, args.pose_info_clean),
        _recovered(args.recovered_perturbed, args.pose_info_perturbed),
        title=args.title,
        frames=args.frames,
    )
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    raise SystemExit(main())
