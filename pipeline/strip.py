"""Skeleton strips for the report: a few frames of one clip, every condition overlaid.

Top row: the sequences given to the renderer (the attack's perturbation, and the matched
control's, in the skeleton domain). Bottom row: the sequences re-extracted from the
videos (what survives the trip through pixels). Front view as the camera sees it: the
Kinect x axis points to the sensor's left, so it is mirrored to read like the image.

Drawn with OpenCV straight from the arrays: the strip used to be a matplotlib figure, and
importing matplotlib (and torch, through the experiments' drawing helper) took most of
its 5 s per clip; this draws the same panels in a fraction of a second
(``benchmarks/strip_overlay_speed.py``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ciasa import cli
from ciasa.io import atomic_path
from ciasa.skeleton import NTU_RGBD

log = logging.getLogger(__name__)

# BGR (OpenCV). Same colours as before: clean green, perturbed red; the control blue, as in
# its overlay video. A condition without a style here is drawn grey and dashed.
STYLES: dict[str, tuple[tuple[int, int, int], str]] = {
    "clean": ((70, 158, 30), "solid"),  # #1e9e46
    "control": ((180, 119, 31), "dotted"),  # #1f77b4
    "perturbed": ((40, 39, 214), "dashed"),  # #d62728
}
OTHER_STYLE = ((120, 120, 120), "dashed")
PANEL_W, PANEL_H = 144, 170  # pixels per frame panel (the matplotlib strip's size at 90 dpi)
TOP, LEFT, GAP = 40, 20, 4
FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX
INK = (30, 30, 30)


def active_frames(*clips: np.ndarray | None) -> int:
    """Number of leading frames in which any given clip has a body."""
    lengths = []
    for clip in clips:
        if clip is None:
            continue
        moving = np.flatnonzero(np.abs(clip).sum(axis=(0, 2, 3)) > 0)
        lengths.append(int(moving[-1]) + 1 if moving.size else 0)
    return max(lengths) if lengths else 0


def strip_times(sources: Sequence[np.ndarray], frames: int) -> np.ndarray:
    """``frames`` frame indices spread over the sources' active frames (all frames if none)."""
    length = active_frames(*sources) or sources[0].shape[1]
    return np.unique(np.linspace(0, max(length - 1, 0), frames).round().astype(int))


def view_box(clips: Sequence[np.ndarray | None]) -> tuple[np.ndarray, float]:
    """Common view (centre in image coordinates u = -x, w = y, and half-size) of a row's bodies."""
    points = []
    for clip in clips:
        if clip is None:
            continue
        xy = clip[:2].reshape(2, -1)
        alive = np.abs(clip).sum(axis=0).reshape(-1) > 0
        if alive.any():
            points.append(np.stack([-xy[0, alive], xy[1, alive]], axis=1))
    if not points:
        return np.zeros(2), 1.0
    allp = np.concatenate(points)
    lo, hi = np.percentile(allp, 1, axis=0), np.percentile(allp, 99, axis=0)
    return (lo + hi) / 2, float(max(hi - lo) / 2 * 1.15 + 0.05)


def _segments(p: np.ndarray, q: np.ndarray, style: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """A bone from ``p`` to ``q`` cut into the dashes (or dots) of ``style``."""
    if style == "solid":
        return [(p, q)]
    on, off = (7.0, 4.0) if style == "dashed" else (2.0, 3.0)
    length = float(np.hypot(*(q - p)))
    if length < 1e-6:
        return []
    out, s = [], 0.0
    while s < length:
        e = min(s + on, length)
        out.append((p + (q - p) * s / length, p + (q - p) * e / length))
        s = e + off
    return out


def draw_body(
    panel: np.ndarray,
    joints: np.ndarray,
    centre: np.ndarray,
    half: float,
    color: tuple[int, int, int],
    style: str,
    thickness: int = 2,
) -> None:
    """One body ``(3, V)`` (Kinect space) into ``panel`` in place, seen from the sensor."""
    import cv2

    if not np.any(joints):
        return
    h, w = panel.shape[:2]
    scale = min(w, h) / (2 * half)
    u = (-joints[0] - centre[0]) * scale + w / 2
    v = h / 2 - (joints[1] - centre[1]) * scale
    pts = np.stack([u, v], axis=1)
    ok = np.isfinite(pts).all(axis=1) & (np.abs(np.nan_to_num(pts)).max(axis=1) < 8 * max(w, h))
    shift = 4  # sub-pixel coordinates: cv2 draws with 1/16-pixel precision
    for child, parent in NTU_RGBD.bones:
        if not (ok[child] and ok[parent]):
            continue
        for a, b in _segments(pts[child], pts[parent], style):
            cv2.line(
                panel,
                tuple(int(c) for c in np.round(a * 16)),
                tuple(int(c) for c in np.round(b * 16)),
                color,
                thickness,
                cv2.LINE_AA,
                shift,
            )
    for p in pts[ok]:
        cv2.circle(panel, tuple(int(c) for c in np.round(p * 16)), 20, color, -1, cv2.LINE_AA, shift)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.4, center: bool = False) -> None:
    import cv2

    if center:
        width = cv2.getTextSize(text, FONT, scale, 1)[0][0]
        org = (org[0] - width // 2, org[1])
    cv2.putText(img, text, org, FONT, scale, INK, 1, cv2.LINE_AA)


def strip_image(
    sources: Mapping[str, np.ndarray], recovered: Mapping[str, np.ndarray | None], title: str = "", frames: int = 6
) -> np.ndarray:
    """The strip as a BGR image: row 1 the sources, row 2 the recovered skeletons, one
    column per chosen frame, every condition overlaid in its colour and line style."""
    import cv2

    names = list(sources)
    times = strip_times([sources[n] for n in names], frames)
    cols = len(times)
    width = LEFT + cols * (PANEL_W + GAP)
    image = np.full((TOP + 2 * (PANEL_H + GAP) + 2, width, 3), 255, dtype=np.uint8)
    legend = ", ".join(f"{n}: {_colour_name(n)}" for n in names)
    _text(image, f"{title}   {legend}".strip(), (width // 2, 14), 0.42, center=True)
    rows = [
        ("source (rendered)", [sources[n] for n in names]),
        ("recovered (from video)", [recovered.get(n) for n in names]),
    ]
    for r, (label, clips) in enumerate(rows):
        centre, half = view_box(clips)
        y0 = TOP + r * (PANEL_H + GAP)
        for c, t in enumerate(times):
            x0 = LEFT + c * (PANEL_W + GAP)
            panel = image[y0 : y0 + PANEL_H, x0 : x0 + PANEL_W]
            for name, clip in zip(names, clips):
                if clip is None or t >= clip.shape[1]:
                    continue
                color, style = STYLES.get(name, OTHER_STYLE)
                # the solid (clean) body a little wider, so the dashed ones drawn over it leave it visible
                for m in range(clip.shape[3]):
                    draw_body(panel, clip[:, t, :, m], centre, half, color, style, 2 if style == "solid" else 1)
            if all(clip is None for clip in clips):
                _text(panel, "no skeleton", (PANEL_W // 2, PANEL_H // 2), 0.38, center=True)
            cv2.rectangle(image, (x0, y0), (x0 + PANEL_W - 1, y0 + PANEL_H - 1), (0, 0, 0), 1)
            if r == 0:
                _text(image, f"frame {t}", (x0 + PANEL_W // 2, TOP - 6), 0.38, center=True)
        # the row's name, written sideways in the left margin
        label_img = np.full((LEFT, PANEL_H, 3), 255, dtype=np.uint8)
        _text(label_img, label, (PANEL_H // 2, LEFT - 6), 0.36, center=True)
        image[y0 : y0 + PANEL_H, :LEFT] = np.rot90(label_img, 1)
    return image


def _colour_name(condition: str) -> str:
    color, style = STYLES.get(condition, OTHER_STYLE)
    names = {STYLES["clean"][0]: "green", STYLES["control"][0]: "blue", STYLES["perturbed"][0]: "red"}
    return f"{names.get(color, 'grey')}" + ("" if style == "solid" else f" ({style})")


def write_strip(
    path: str | Path,
    sources: Mapping[str, np.ndarray],
    recovered: Mapping[str, np.ndarray | None],
    title: str = "",
    frames: int = 6,
) -> None:
    """Write the strip PNG atomically."""
    import cv2

    image = strip_image(sources, recovered, title, frames)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), image):
            raise OSError(f"{path}: could not write the PNG")


def recovered_skeleton(npy: str | None, info: str | None) -> np.ndarray | None:
    """A re-extracted skeleton, or None when the extraction failed or found nobody."""
    from pipeline.guard import is_failed

    if npy is None or (info is not None and is_failed(info)):
        return None
    array = np.load(npy)
    return array if array.ndim == 4 and array.shape[0] == 3 and array.any() else None


def _pairs(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise cli.BadInput(f"{flag} {item!r}: expected CONDITION=PATH")
        if name in out:
            raise cli.BadInput(f"{flag}: condition {name!r} given twice")
        out[name] = path
    return out


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pipeline.strip",
        "Draw a clip's skeleton strip: the skeletons given to the renderer on top (clean green, control blue "
        "dotted, perturbed red dashed), the skeletons recovered from the videos below.",
    )
    p.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="CONDITION=NPY",
        help="a skeleton given to the renderer, (3, T, 25, M) .npy; repeat per condition, clean first",
    )
    p.add_argument(
        "--recovered",
        action="append",
        metavar="CONDITION=NPY",
        help="the skeleton re-extracted from that condition's video",
    )
    p.add_argument(
        "--pose-info",
        action="append",
        metavar="CONDITION=JSON",
        help="that extraction's JSON; a failed extraction draws no recovered skeleton",
    )
    p.add_argument("--title", default="", help="text before the legend on the first line")
    p.add_argument("--frames", type=cli.positive_int, default=6, help="frames per strip")
    p.add_argument("--out", required=True, help="output .png")
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace) -> int:
    from pipeline.overlay import load_skeleton

    sources = {n: load_skeleton(path, f"--source {n}") for n, path in _pairs(args.source, "--source").items()}
    recovered_paths = _pairs(args.recovered, "--recovered")
    infos = _pairs(args.pose_info, "--pose-info")
    unknown = sorted((set(recovered_paths) | set(infos)) - set(sources))
    if unknown:
        raise cli.BadInput(f"--recovered/--pose-info name conditions without a --source: {', '.join(unknown)}")
    recovered = {n: recovered_skeleton(recovered_paths.get(n), infos.get(n)) for n in sources}
    write_strip(args.out, sources, recovered, args.title, args.frames)
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    raise SystemExit(main())
