"""Draw the recovered (re-extracted) skeleton, and optionally the source one, on a render.

The report shows these videos: the viewer sees at a glance whether the pose extractor
followed the rendered body, and where the perturbed legs differ. Output is H.264
yuv420p (plays in browsers), written atomically.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ciasa.camera import Camera
from pipeline.guard import is_failed
from ciasa.video import encode_h264, iter_frames, video_fps
from ciasa.skeleton import NTU_RGBD

log = logging.getLogger(__name__)

COLORS = {"green": (40, 200, 80), "red": (230, 50, 50), "white": (235, 235, 235), "blue": (60, 120, 230)}


def project_clip(camera: Camera, clip: np.ndarray) -> np.ndarray:
    """``(3, T, 25, M)`` skeleton -> pixel coordinates ``(T, M, 25, 2)``; NaN for absent bodies."""
    joints = np.transpose(np.asarray(clip, dtype=np.float64), (1, 3, 2, 0))  # (T, M, V, 3)
    uv = camera.project(joints)
    absent = ~joints.any(axis=(2, 3))
    uv[absent] = np.nan
    return uv


def draw_skeleton(frame: np.ndarray, uv: np.ndarray, color: tuple[int, int, int], thickness: int = 2) -> None:
    """Draw bones and joints of one body ``uv`` (25, 2) onto the RGB ``frame`` in place."""
    import cv2

    if not np.isfinite(uv).any():
        return
    h, w = frame.shape[:2]
    limit = 4 * max(h, w)  # far-off points (behind/at the camera plane) would overflow cv2's ints
    for child, parent in NTU_RGBD.bones:
        a, b = uv[child], uv[parent]
        if np.isfinite(a).all() and np.isfinite(b).all() and np.abs(np.r_[a, b]).max() < limit:
            cv2.line(frame, tuple(int(round(x)) for x in a), tuple(int(round(x)) for x in b), color, thickness, cv2.LINE_AA)
    for p in uv:
        if np.isfinite(p).all() and np.abs(p).max() < limit:
            cv2.circle(frame, (int(round(p[0])), int(round(p[1]))), thickness + 1, color, -1, cv2.LINE_AA)


def render_overlay(
    video: str | Path,
    camera: Camera,
    out: str | Path,
    recovered: np.ndarray | None,
    source: np.ndarray | None = None,
    color: str = "green",
    label: str = "",
) -> int:
    """Write ``out``: ``video`` with the skeletons drawn on; returns the frame count."""
    import cv2

    rec_uv = project_clip(camera, recovered) if recovered is not None else None
    src_uv = project_clip(camera, source) if source is not None else None
    rgb = COLORS.get(color, COLORS["green"])
    thickness = max(1, round(min(camera.width, camera.height) / 160))

    def frames():
        for t, frame in enumerate(iter_frames(video)):
            frame = frame.copy()
            if src_uv is not None and t < len(src_uv):
                for body in src_uv[t]:
                    draw_skeleton(frame, body, COLORS["white"], max(1, thickness - 1))
            if rec_uv is not None and t < len(rec_uv):
                for body in rec_uv[t]:
                    draw_skeleton(frame, body, rgb, thickness)
            if label:
                scale = max(0.35, frame.shape[0] / 480)
                cv2.putText(frame, label, (6, int(22 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, rgb, 1, cv2.LINE_AA)
            yield frame

    return encode_h264(frames(), out, fps=video_fps(video, camera.fps))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.overlay",
        description="Re-encode a rendered video (H.264 yuv420p) with the recovered skeleton (and optionally "
        "the source skeleton, white) drawn on it.",
    )
    parser.add_argument("--video", required=True)
    parser.add_argument("--camera", required=True, help="the render's CLIP.camera.json")
    parser.add_argument("--recovered", help="re-extracted skeleton (3, T, 25, 1) .npy")
    parser.add_argument("--pose-info", help="the pose extractor's JSON; a failed extraction draws nothing")
    parser.add_argument("--source", help="the skeleton given to the renderer (3, T, 25, M) .npy")
    parser.add_argument("--color", default="green", choices=sorted(COLORS))
    parser.add_argument("--label", default="", help="text in the top-left corner")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        camera = Camera.load(args.camera)
        recovered = None
        if args.recovered and not (args.pose_info and is_failed(args.pose_info)):
            recovered = np.load(args.recovered)
        source = np.load(args.source) if args.source else None
        n = render_overlay(args.video, camera, args.out, recovered, source, args.color, args.label)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    log.info("%s: %d frames -> %s", args.video, n, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
