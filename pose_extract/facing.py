"""Undoing MediaPipe's back-view confusions: mirrored readings told from true back views.

On small or featureless faces MediaPipe sometimes reads a person who faces the camera as
one seen from behind: every left/right label is exchanged and the body's depth is
mirrored (an arm reaching towards the camera is placed reaching away). The image
positions stay where they were; only the interpretation flips, so one frame alone
cannot tell a mirrored reading from a person who really turned round. What can tell
them apart is time: a person turns smoothly (even a pirouette turns ~25 degrees per
frame at 30 fps), while MediaPipe's reading flips from one frame to the next, its
torso heading jumping from ``h`` to about ``180 - h``.

So the facing prior chooses, per detected frame, between the reading as given and its
mirror image, minimising over the whole clip (Viterbi over two states)

    sum_t |heading change between consecutive kept readings|     (degrees)
  + switch_cost * (number of changes between reading and mirror)
  + facing_weight * sum_t (1 - cos heading_t) / 2                 (a weak prior: people
                                                                   mostly face the sensor)

A continuous turn to the back costs nothing extra as read, and folding it back to the
front would need a switch, so true back views stay; a flip of the reading is a jump of
up to 180 degrees that one switch removes. A whole clip that MediaPipe reads as seen
from behind, with no flip in it, is mirrored only when that makes the clip face the
camera more on average (the weak prior), which is the one case the video cannot
decide. 2-D shoulder/hip order and the face landmarks' visibility do not help: both
follow MediaPipe's own reading (measured: the nose's visibility is ~1.0 in mirrored and
correct frames alike; the 2-D labels flip together with the 3-D pose).

``method='turn'`` keeps the older per-frame rule (mirror every frame read as turned more
than ``max_turn_deg``), which suits only footage where nobody turns away.
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
# Chosen on renders of real motion capture (subjects 2 and 6 of the development set; the
# numbers in docs/pose_extract.md are reported on the other subjects): see the docs.
SWITCH_COST = 30.0  # degrees of heading change one switch must explain away
FACING_WEIGHT = 2.0  # per frame; over a clip it decides only what continuity cannot


def facing_angle(world: np.ndarray) -> np.ndarray:
    """Heading of the torso (T,) in degrees from MediaPipe world landmarks (T, 33, 3):
    0 = facing the camera, +-180 = back to the camera, positive = turned to its left."""
    k = mediapipe_to_kinect(world)
    left = k[:, _I["left_shoulder"]] - k[:, _I["right_shoulder"]] + k[:, _I["left_hip"]] - k[:, _I["right_hip"]]
    up = k[:, _I["left_shoulder"]] + k[:, _I["right_shoulder"]] - k[:, _I["left_hip"]] - k[:, _I["right_hip"]]
    forward = np.cross(left, up)  # Kinect axes: towards the camera is -z
    return np.degrees(np.arctan2(forward[:, 0], -forward[:, 2]))


def mirrored_heading(heading: np.ndarray) -> np.ndarray:
    """Heading of the mirrored reading (depth negated): ``h -> 180 - h``, wrapped to (-180, 180]."""
    return _wrap(180.0 - np.asarray(heading, dtype=np.float64))


def _wrap(deg: np.ndarray) -> np.ndarray:
    return (np.asarray(deg) + 180.0) % 360.0 - 180.0


def continuity_frames(
    heading: np.ndarray, switch_cost: float = SWITCH_COST, facing_weight: float = FACING_WEIGHT
) -> np.ndarray:
    """Which readings (T,) bool to mirror, for the headings of consecutive detected frames,
    by the Viterbi path described in the module docstring."""
    h = np.asarray(heading, dtype=np.float64)
    n = len(h)
    if n == 0:
        return np.zeros(0, dtype=bool)
    states = np.stack([h, mirrored_heading(h)], axis=1)  # (T, 2): as read, mirrored
    unary = facing_weight * (1.0 - np.cos(np.radians(states))) / 2.0
    cost = unary[0].copy()
    back = np.zeros((n, 2), dtype=np.int8)
    for t in range(1, n):
        step = np.abs(_wrap(states[t][None, :] - states[t - 1][:, None]))  # (prev, cur)
        step = step + switch_cost * (1.0 - np.eye(2))
        total = cost[:, None] + step
        back[t] = np.argmin(total, axis=0)
        cost = total[back[t], [0, 1]] + unary[t]
    path = np.empty(n, dtype=np.int8)
    path[-1] = int(np.argmin(cost))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path.astype(bool)


def back_view_frames(
    world: np.ndarray,
    detected: np.ndarray,
    max_turn_deg: float | None = None,
    method: str = "continuity",
    switch_cost: float = SWITCH_COST,
    facing_weight: float = FACING_WEIGHT,
) -> np.ndarray:
    """Detected frames (T,) bool whose reading the facing prior takes for a mirrored one.

    ``method='continuity'`` (default): the Viterbi choice over the detected frames in
    order (see the module docstring); ``'turn'``: every frame read as turned more than
    ``max_turn_deg`` from the camera; ``'off'``: none.
    """
    detected = np.asarray(detected, dtype=bool)
    out = np.zeros(len(detected), dtype=bool)
    if method == "off" or not detected.any():
        return out
    heading = facing_angle(np.asarray(world)[detected])
    if method == "turn":
        if max_turn_deg is None:
            return out
        out[detected] = np.abs(heading) > max_turn_deg
    elif method == "continuity":
        out[detected] = continuity_frames(heading, switch_cost, facing_weight)
    else:
        raise ValueError(f"facing prior method must be 'continuity', 'turn' or 'off', got {method!r}")
    return out


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
