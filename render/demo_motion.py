"""A small synthetic NTU-25 motion (standing, waving, turning) for tests, benchmarks and
demos: bone lengths are constant by construction, so retargeting must reproduce it exactly.
"""

from __future__ import annotations

import numpy as np

from render.body_default import template_joints
from render.retarget import LAYOUT, blender_to_kinect


def _rot(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def _rotate_subtree(pts: np.ndarray, joint: int, rot: np.ndarray) -> None:
    """Rotate every joint below ``joint`` about it (in place)."""
    below = LAYOUT.descendants[joint].copy()
    below[joint] = False
    pts[below] = (pts[below] - pts[joint]) @ rot.T + pts[joint]


def waving_clip(
    frames: int = 30, depth: float = 3.0, scale: float = 0.95, turn_deg: float = 25.0, fps: float = 30.0
) -> np.ndarray:
    """(3, frames, 25, 1) Kinect-space clip: a person ``depth`` metres from the sensor,
    floor 0.9 m below it, waving the right arm while turning and bending a knee."""
    j = {n: i for i, n in enumerate(LAYOUT.joint_names)}
    base = template_joints() * scale  # Blender world, feet on z=0, facing -y (the sensor)
    out = np.zeros((3, frames, LAYOUT.num_joints, 1))
    for t in range(frames):
        ph = 2 * np.pi * t / fps  # one cycle per second
        p = base.copy()
        # Right arm raised sideways (about the forward axis), forearm waving.
        _rotate_subtree(p, j["right_shoulder"], _rot([0, 1, 0], np.radians(100)))
        _rotate_subtree(p, j["right_elbow"], _rot([0, 1, 0], np.radians(35 * np.sin(ph))))
        # Left elbow bent forward, left knee lifting a little.
        _rotate_subtree(p, j["left_elbow"], _rot([1, 0, 0], -np.radians(60)))
        _rotate_subtree(p, j["left_hip"], _rot([1, 0, 0], -np.radians(25 * (1 - np.cos(ph)) / 2)))
        _rotate_subtree(p, j["left_knee"], _rot([1, 0, 0], np.radians(40 * (1 - np.cos(ph)) / 2)))
        # Whole body turning about the vertical through the pelvis.
        yaw = _rot([0, 0, 1], np.radians(turn_deg * np.sin(ph / 2)))
        p = (p - p[j["spine_base"]] * [1, 1, 0]) @ yaw.T
        p += np.array([0.0, depth, -0.9])  # sensor 0.9 m above the floor, subject in front
        out[:, t, :, 0] = blender_to_kinect(p).T
    return out.astype(np.float32)
