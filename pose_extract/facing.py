"""Undoing MediaPipe's back-view confusions with a facing prior.

On small or featureless faces MediaPipe sometimes reads a person who faces the camera as
one seen from behind: every left/right label is exchanged and the body's depth is
mirrored (an arm reaching towards the camera is placed reaching away). The image
positions stay right; only the interpretation flips. Both readings project to the same
pixels, so the video alone cannot settle it: a prior does. Recordings in the NTU style
film people who face the sensors (cameras at 0 and +-45 degrees), so a frame whose
torso MediaPipe turns more than ``max_turn_deg`` away from the camera is taken to be
the mirrored reading and converted back: labels exchanged, depth mirrored about the
hips. Turn it off (``max_turn_deg=None``) for footage where people do turn their backs.
"""

from __future__ import annotations

import numpy as np

from pose_extract.landmarks import BLAZEPOSE_LANDMARKS
from pose_extract.lifting import mediapipe_to_kinect

_I = {n: i for i, n in enumerate(BLAZEPOSE_LANDMARKS)}
# Landmark order with every left_* and right_* exchanged.
MIRROR_PERMUTATION = np.array(
    [_I[n.replace("left", "#").replace("right", "left").replace("#", "right")] for n in BLAZEPOSE_LANDMARKS]
)


def facing_angle(world: np.ndarray) -> np.ndarray:
    """Heading of the torso (T,) in degrees from MediaPipe world landmarks (T, 33, 3):
    0 = facing the camera, +-180 = back to the camera, positive = turned to its left."""
    k = mediapipe_to_kinect(world)
    left = k[:, _I["left_shoulder"]] - k[:, _I["right_shoulder"]] + k[:, _I["left_hip"]] - k[:, _I["right_hip"]]
    up = k[:, _I["left_shoulder"]] + k[:, _I["right_shoulder"]] - k[:, _I["left_hip"]] - k[:, _I["right_hip"]]
    forward = np.cross(left, up)  # Kinect axes: towards the camera is -z
    return np.degrees(np.arctan2(forward[:, 0], -forward[:, 2]))


def back_view_frames(world: np.ndarray, detected: np.ndarray, max_turn_deg: float | None) -> np.ndarray:
    """Detected frames (T,) bool that MediaPipe reads as turned further than ``max_turn_deg``."""
    if max_turn_deg is None:
        return np.zeros(len(detected), dtype=bool)
    return np.asarray(detected, dtype=bool) & (np.abs(facing_angle(world)) > max_turn_deg)


def mirror(
    frames: np.ndarray, image: np.ndarray, image_z: np.ndarray, world: np.ndarray, *per_landmark: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Copies of the arrays with the mirrored reading of ``frames`` undone: labels exchanged
    everywhere, depth (world z, image z) negated about the hips. ``per_landmark`` are
    further (T, 33) arrays (visibility, presence) whose labels are exchanged."""
    f = np.asarray(frames, dtype=bool)
    out = []
    for array, negate_z in ((image, False), (image_z, True), (world, True), *((a, False) for a in per_landmark)):
        a = np.array(array, copy=True)
        a[f] = a[f][:, MIRROR_PERMUTATION]
        if negate_z:
            if a.ndim == 3:
                a[f, :, 2] *= -1.0
            else:
                a[f] *= -1.0
        out.append(a)
    return tuple(out)

