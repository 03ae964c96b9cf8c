"""Where the synthetic subject stands and how the Kinect-like sensor sees it.

World frame: Kinect-style axes (X to the sensor's left, Y up, Z away from the
sensor, horizontal), origin on the floor below the sensor, floor at Y = 0. The
sensor sits at height ``h`` and may pitch a little; camera space is Kinect camera
space, so the floor appears at y of about ``-h`` there.

Views (NTU-like: three sensors at -45, 0 and +45 degrees around the subject):

========  ==========  ==================================================
camera    yaw (deg)   what the sensor sees
========  ==========  ==================================================
C001      0           the subject's front
C002      +45         subject turned 45 deg to its own left: more of its right side
C003      -45         subject turned 45 deg to its own right: more of its left side
========  ==========  ==================================================

A subject facing the sensor has its own left hand at negative x (the image's right).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ciasa.data.synth.body import yaw

CAMERA_YAW_DEG: dict[int, float] = {1: 0.0, 2: 45.0, 3: -45.0}

# body frame (L, U, F) of a subject facing the sensor -> world (X, Y, Z): L -> -X, F -> -Z
_BODY_TO_WORLD = np.diag([-1.0, 1.0, -1.0])


@dataclass(frozen=True)
class View:
    camera: int
    yaw_deg: float  # subject's heading relative to facing the sensor (incl. random jitter)
    distance: float  # m, sensor to the subject's start position, horizontally
    lateral: float  # m, sideways offset of the subject (world X)
    height: float  # m, sensor above the floor
    pitch_deg: float  # sensor tilt, positive looks down

    def floor_plane(self) -> tuple[list[float], float]:
        """The floor in camera space as (unit normal n, offset d): points X with n . X = d."""
        a = np.radians(self.pitch_deg)
        return [0.0, float(np.cos(a)), float(-np.sin(a))], -self.height

    def to_json(self) -> dict:
        d: dict = {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}
        normal, offset = self.floor_plane()
        d["floor_normal"] = [round(x, 6) for x in normal]
        d["floor_offset"] = round(offset, 6)
        return d


def sample_view(rng: np.random.Generator, camera: int) -> View:
    if camera not in CAMERA_YAW_DEG:
        raise ValueError(f"camera {camera} is not one of {sorted(CAMERA_YAW_DEG)}")
    distance = float(rng.uniform(2.5, 4.0))
    height = float(rng.uniform(0.7, 1.2))
    # aim roughly at the subject's waist-to-chest, then a few degrees of mounting error
    pitch = float(np.degrees(np.arctan2(height - 1.0, distance)) + rng.normal(0.0, 2.0))
    return View(
        camera=camera,
        yaw_deg=CAMERA_YAW_DEG[camera] + float(rng.normal(0.0, 5.0)),
        distance=distance,
        lateral=float(rng.uniform(-0.3, 0.3)),
        height=height,
        pitch_deg=pitch,
    )


def to_camera_space(joints_body: np.ndarray, view: View) -> np.ndarray:
    """Body-frame joints (T, V, 3) to Kinect camera space (T, V, 3)."""
    r = _BODY_TO_WORLD @ yaw(np.array(view.yaw_deg))
    world = joints_body @ r.T + np.array([view.lateral, 0.0, view.distance])
    a = np.radians(view.pitch_deg)
    rel = world - np.array([0.0, view.height, 0.0])
    left = np.array([1.0, 0.0, 0.0])
    up = np.array([0.0, np.cos(a), np.sin(a)])
    fwd = np.array([0.0, -np.sin(a), np.cos(a)])
    return np.stack([rel @ left, rel @ up, rel @ fwd], axis=-1)


# Kinect v2 joint noise: ~1 cm on the trunk, more on hands, thumbs and feet, a bit
# more along the depth axis, and correlated over a few frames.
_EXTREMITIES = (7, 11, 21, 22, 23, 24, 15, 19)


def kinect_jitter(rng: np.random.Generator, shape: tuple[int, int], sigma: float = 0.008) -> np.ndarray:
    """Noise (T, V, 3) in metres."""
    t, v = shape
    scale = np.full(v, sigma)
    scale[list(_EXTREMITIES)] *= 1.8
    noise = rng.normal(size=(t + 2, v, 3))
    noise = 0.25 * noise[:-2] + 0.5 * noise[1:-1] + 0.25 * noise[2:]  # 3-tap smoothing
    noise /= np.sqrt(0.25**2 + 0.5**2 + 0.25**2)  # keep unit variance
    return noise * scale[None, :, None] * np.array([1.0, 1.0, 1.5])
