"""Draw the recovered (re-extracted) skeleton, and optionally the source one, on a render.

The report shows these videos: the viewer sees at a glance whether the pose extractor
followed the rendered body, and where the perturbed legs differ. Output is H.264
yuv420p (plays in browsers), written atomically.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ciasa import cli
from ciasa.camera import Camera
from ciasa.skeleton import NTU_RGBD
from ciasa.video import encode_h264, iter_frames, video_fps
from pipeline.guard import is_failed

log = logging.getLogger(__name__)

COLORS = {"green": (40, 200, 80), "red": (230, 50, 50), "white": (235, 235, 235), "blue": (60, 120, 230)}
HIGHLIGHT = (255, 210, 0)  # joints the attack moved by more than the threshold
MOVED_THRESHOLD_M = 0.01
# The recovered skeleton is blended, not painted: the rendered body must stay visible under it.
ALPHA = 0.65


def project_clip(camera: Camera, clip: np.ndarray) -> np.ndarray:
    """``(3, T, 25, M)`` skeleton -> pixel coordinates ``(T, M, 25, 2)``; NaN for absent bodies."""
    joints = np.transpose(np.asarray(clip, dtype=np.float64), (1, 3, 2, 0))  # (T, M, V, 3)
    uv = camera.project(joints)
    absent = ~joints.any(axis=(2, 3))
    uv[absent] = np.nan
    return uv


def moved_joints(source: np.ndarray, reference: np.ndarray, threshold: float = MOVED_THRESHOLD_M) -> np.ndarray:
    """``(T, M, 25)`` bool: joints of ``source`` more than ``threshold`` metres from ``reference``.

    ``source`` is the perturbed skeleton given to the renderer, ``reference`` the clean one;
    frames or bodies missing from either count as not moved.
    """
    t = min(source.shape[1], reference.shape[1])
    m = min(source.shape[3], reference.shape[3])
    a, b = source[:, :t, :, :m], reference[:, :t, :, :m]
    present = a.any(axis=0) & b.any(axis=0)  # (t, V, m)
    moved = (np.linalg.norm(a - b, axis=0) > threshold) & present
    out = np.zeros((source.shape[1], source.shape[3], source.shape[2]), dtype=bool)
    out[:t, :m] = np.transpose(moved, (0, 2, 1))
    return out


def _pixel(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


def draw_skeleton(frame: np.ndarray, uv: np.ndarray, color: tuple[int, int, int], thickness: int = 1) -> None:
    """Draw bones and joints of one body ``uv`` (25, 2) onto the RGB ``frame`` in place."""
    import cv2

    if not np.isfinite(uv).any():
        return
    h, w = frame.shape[:2]
    limit = 4 * max(h, w)  # far-off points (behind/at the camera plane) would overflow cv2's ints
    ok = np.isfinite(uv).all(axis=1) & (np.abs(np.nan_to_num(uv)).max(axis=1) < limit)
    for child, parent in NTU_RGBD.bones:
        if ok[child] and ok[parent]:
            cv2.line(frame, _pixel(uv[child]), _pixel(uv[parent]), color, thickness, cv2.LINE_AA)
    for p in uv[ok]:
        cv2.circle(frame, _pixel(p), thickness + 1, color, -1, cv2.LINE_AA)


def draw_moved(frame: np.ndarray, uv: np.ndarray, moved: np.ndarray, radius: int) -> None:
    """Rings around the joints the attack moved (``moved`` (25,) bool)."""
    import cv2

    limit = 4 * max(frame.shape[:2])
    for p in uv[moved]:
        if np.isfinite(p).all() and np.abs(p).max() < limit:
            cv2.circle(frame, _pixel(p), radius, HIGHLIGHT, 1, cv2.LINE_AA)


def draw_label(frame: np.ndarray, text: str, color: tuple[int, int, int], lines: list[tuple[str, tuple]] = ()) -> None:
    """White text on a dark box with a colour chip, legible on any background."""
    import cv2

    scale = max(0.35, frame.shape[0] / 600)
    rows = [(text, color), *lines]
    height = int(18 * scale / 0.4)
    width = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for t, _ in rows) + height + 10
    box = frame[2 : 4 + height * len(rows), 2 : 2 + width]
    box[:] = (box * 0.35).astype(frame.dtype)
    for i, (line, chip) in enumerate(rows):
        y = 2 + height * i
        cv2.rectangle(frame, (6, y + 4), (4 + height - 6, y + height - 2), chip, -1)
        cv2.putText(
            frame, line, (height + 4, y + height - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
        )


def render_overlay(
    video: str | Path,
    camera: Camera,
    out: str | Path,
    recovered: np.ndarray | None,
    source: np.ndarray | None = None,
    color: str = "green",
    label: str = "",
    reference: np.ndarray | None = None,
) -> int:
    """Write ``out``: ``video`` with the skeletons drawn on; returns the frame count.

    The recovered skeleton is blended over the frame (thin lines, ``ALPHA``) so the
    rendered body stays visible; with ``reference`` (the clean skeleton of a perturbed
    clip), the joints the attack moved by more than 1 cm get rings.
    """
    rec_uv = project_clip(camera, recovered) if recovered is not None else None
    src_uv = project_clip(camera, source) if source is not None else None
    moved = moved_joints(source, reference) if source is not None and reference is not None else None
    rgb = COLORS.get(color, COLORS["green"])
    thickness = max(1, round(min(camera.width, camera.height) / 320))
    legend = [("joint moved > 1 cm by the attack", HIGHLIGHT)] if moved is not None and moved.any() else []

    def frames():
        for t, frame in enumerate(iter_frames(video)):
            layer = frame.copy()
            if src_uv is not None and t < len(src_uv):
                for body in src_uv[t]:
                    draw_skeleton(layer, body, COLORS["white"], 1)
            if rec_uv is not None and t < len(rec_uv):
                for body in rec_uv[t]:
                    draw_skeleton(layer, body, rgb, thickness)
            blended = (ALPHA * layer + (1 - ALPHA) * frame).astype(frame.dtype)
            if moved is not None and src_uv is not None and t < len(src_uv):
                for m, body in enumerate(src_uv[t]):
                    draw_moved(blended, body, moved[t, m], thickness + 3)
            if label:
                draw_label(blended, label, rgb, legend)
            yield blended

    return encode_h264(frames(), out, fps=video_fps(video, camera.fps))


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pipeline.overlay",
        "Re-encode a rendered video (H.264 yuv420p) with the recovered skeleton (thin, semi-transparent) and "
        "optionally the source skeleton (white) drawn on it; with --reference, rings mark the joints the attack "
        "moved by more than 1 cm.",
    )
    p.add_argument("--video", required=True, help="the rendered video")
    p.add_argument("--camera", required=True, help="the render's CLIP.camera.json")
    p.add_argument("--recovered", help="re-extracted skeleton (3, T, 25, 1) .npy")
    p.add_argument("--pose-info", help="the pose extractor's JSON; a failed extraction draws nothing")
    p.add_argument("--source", help="the skeleton given to the renderer (3, T, 25, M) .npy")
    p.add_argument(
        "--reference",
        help="the clean skeleton of the clip: joints of --source farther than 1 cm from it "
        "are ringed (give it for the perturbed video)",
    )
    p.add_argument("--color", default="green", choices=sorted(COLORS), help="colour of the recovered skeleton")
    p.add_argument("--label", default="", help="text in the top-left corner (white on a dark box)")
    p.add_argument("--out", required=True, help="output .mp4")
    cli.add_logging_flags(p)
    return p


def load_skeleton(path: str | None, what: str) -> np.ndarray | None:
    """A ``(3, T, V, M)`` skeleton file, or None without a path; the error names the file and flag."""
    if not path:
        return None
    array = np.load(path)
    if array.ndim != 4 or array.shape[0] != 3:
        raise cli.BadInput(f"{path}: {what} must be a (3, T, V, M) skeleton, got shape {array.shape}")
    return array


def run(args: argparse.Namespace) -> int:
    camera = Camera.load(args.camera)
    recovered = None
    if args.recovered and not (args.pose_info and is_failed(args.pose_info)):
        recovered = load_skeleton(args.recovered, "--recovered")
    source = load_skeleton(args.source, "--source")
    reference = load_skeleton(args.reference, "--reference")
    n = render_overlay(args.video, camera, args.out, recovered, source, args.color, args.label, reference)
    log.info("%s: %d frames -> %s", args.video, n, args.out)
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    raise SystemExit(main())
