"""Rejecting single-frame misreadings that a video's neighbouring frames contradict.

MediaPipe's tracker occasionally returns a frame whose 2-D pose has little to do with
its neighbours': the shoulders collapse onto each other, an elbow lands on the wrong
side of the body, or the facing prior (:mod:`pose_extract.facing`) leaves one
half-turned frame unconverted between converted ones, so its left/right labels are
exchanged. A person cannot move like that in 1/30 s, so such a frame is an error of the
reading, not motion. A frame is rejected when its limb landmarks sit, on average, more
than ``threshold`` torso lengths from their running median over ``window`` detected
frames; rejected frames are then treated like missed detections (interpolated from
their neighbours and marked filled). A median, not a mean, so that a real fast motion
(its neighbours move with it) is not rejected, and the torso length, not pixels, so that
the threshold does not depend on the image size or the person's distance.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from ciasa.cli import BadInput
from pose_extract.estimator import LandmarkLayout, resolve_layout

# Landmarks whose jumps count: the directly observed limb joints, the layout's ``limbs``
# (the face and the hands' fine landmarks are too small to judge at this scale).

JUMP_THRESHOLD = 0.15  # torso lengths; chosen on the benchmark renders, see docs/pose_extract.md
JUMP_WINDOW = 5  # frames (odd)


def jump_scores(
    image: np.ndarray, detected: np.ndarray, window: int = JUMP_WINDOW, layout: LandmarkLayout | None = None
) -> np.ndarray:
    """Per frame (T,), the mean distance of the limb landmarks from their running median
    over ``window`` detected frames, in torso lengths (the clip's median shoulder-midpoint
    to hip-midpoint distance); 0 for undetected frames. ``layout``: the estimator's
    landmarks (default MediaPipe's)."""
    layout = resolve_layout(layout)
    image = np.asarray(image, dtype=np.float64)
    detected = np.asarray(detected, dtype=bool)
    if image.ndim != 3 or image.shape[1] != layout.size or detected.shape != image.shape[:1]:
        raise ValueError(
            f"expected image (T, {layout.size}, 2) and detected (T,), got {image.shape} and {detected.shape}"
        )
    if window < 1 or window % 2 == 0:
        raise BadInput(f"window must be an odd number of frames, got {window}")
    scores = np.zeros(len(image))
    idx = np.flatnonzero(detected)
    if len(idx) < 3:  # nothing to compare a frame with
        return scores
    shoulders, hips = layout.indices(("left_shoulder", "right_shoulder")), layout.indices(("left_hip", "right_hip"))
    points = image[idx][:, layout.limbs]  # only detected frames: gaps are not motion
    torso = np.linalg.norm(image[idx][:, shoulders].mean(1) - image[idx][:, hips].mean(1), axis=-1)
    size = max(float(np.median(torso)), 1e-6)
    running = median_filter(points, size=(window, 1, 1), mode="nearest")
    scores[idx] = np.linalg.norm(points - running, axis=-1).mean(axis=1) / size
    return scores


def jump_frames(
    image: np.ndarray,
    detected: np.ndarray,
    threshold: float | None = JUMP_THRESHOLD,
    window: int = JUMP_WINDOW,
    layout: LandmarkLayout | None = None,
) -> np.ndarray:
    """Detected frames (T,) bool whose 2-D pose jumps away from its neighbours by more
    than ``threshold`` torso lengths (see the module docstring); none when ``threshold``
    is None."""
    if threshold is None:
        return np.zeros(len(detected), dtype=bool)
    if threshold <= 0:
        raise BadInput(f"the jump threshold must be positive (torso lengths), got {threshold}")
    return np.asarray(detected, dtype=bool) & (jump_scores(image, detected, window, layout) > threshold)
