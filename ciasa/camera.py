"""The pinhole camera shared by the renderer (which writes it) and the pose extractor
(which reads it to lift 2-D detections back into the skeleton's camera space).

Everything is expressed in the skeleton's own frame, Kinect camera space (see
:mod:`ciasa.skeleton`): x to the sensor's left, y up, z away from the sensor. The
camera's extrinsics map a skeleton point ``X`` to camera coordinates in the same
axis convention, ``Xc = R @ X + t``; the default sensor camera has ``R = I, t = 0``.
The image has its origin at the top-left pixel corner, u to the right, v down::

    u = cx - fx * Xc.x / Xc.z        v = cy - fy * Xc.y / Xc.z

(the minus signs because x points to the sensor's left and y up).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput

CAMERA_FORMAT = "ciasa-camera/1"


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    rotation: tuple[tuple[float, float, float], ...] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    fps: float = 30.0
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float = 70.0, fps: float = 30.0) -> Camera:
        """Square-pixel camera with the given horizontal field of view (Kinect v2 colour: ~84 deg,
        depth: ~70 deg), principal point at the image centre."""
        if width <= 0 or height <= 0:
            raise BadInput(f"camera size must be positive, got {width}x{height}")
        if not 1.0 < hfov_deg < 179.0:
            raise BadInput(f"horizontal field of view must lie in (1, 179) degrees, got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width, height, f, f, width / 2.0, height / 2.0, fps=fps)

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.fx)))

    @property
    def R(self) -> np.ndarray:
        return np.asarray(self.rotation, dtype=np.float64)

    @property
    def t(self) -> np.ndarray:
        return np.asarray(self.translation, dtype=np.float64)

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """Skeleton-space points (..., 3) to camera coordinates (..., 3), same axes."""
        return np.asarray(points, dtype=np.float64) @ self.R.T + self.t

    def from_camera(self, points: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_camera`."""
        return (np.asarray(points, dtype=np.float64) - self.t) @ self.R

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixel coordinates (..., 2) of skeleton-space points (..., 3); NaN behind the camera."""
        xc = self.to_camera(points)
        z = xc[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.cx - self.fx * xc[..., 0] / z
            v = self.cy - self.fy * xc[..., 1] / z
        uv = np.stack([u, v], axis=-1)
        uv[z <= 1e-6] = np.nan
        return uv

    def ray(self, uv: np.ndarray) -> np.ndarray:
        """Camera-frame direction (..., 3) with z = 1 through pixel(s) ``uv`` (..., 2)."""
        uv = np.asarray(uv, dtype=np.float64)
        x = (self.cx - uv[..., 0]) / self.fx
        y = (self.cy - uv[..., 1]) / self.fy
        return np.stack([x, y, np.ones_like(x)], axis=-1)

    def to_json(self) -> dict:
        d = asdict(self)
        d["rotation"] = [list(r) for r in self.rotation]
        d["translation"] = list(self.translation)
        d["hfov_deg"] = self.hfov_deg
        d["format"] = CAMERA_FORMAT
        d["convention"] = "kinect camera space: metres, x to the sensor's left, y up, z away"
        return d

    @classmethod
    def from_json(cls, d: dict, source: str = "<dict>") -> Camera:
        try:
            if d.get("format") != CAMERA_FORMAT:
                raise BadInput(f"format is {d.get('format')!r}, expected {CAMERA_FORMAT!r}")
            cam = cls(
                width=int(d["width"]),
                height=int(d["height"]),
                fx=float(d["fx"]),
                fy=float(d["fy"]),
                cx=float(d["cx"]),
                cy=float(d["cy"]),
                rotation=tuple(tuple(float(v) for v in row) for row in d["rotation"]),
                translation=tuple(float(v) for v in d["translation"]),
                fps=float(d.get("fps", 30.0)),
                extra=dict(d.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise BadInput(f"{source}: not a valid camera file: {err}") from None
        if np.asarray(cam.rotation).shape != (3, 3) or len(cam.translation) != 3:
            raise BadInput(f"{source}: rotation must be 3x3 and translation 3 values")
        if cam.width <= 0 or cam.height <= 0 or cam.fx <= 0 or cam.fy <= 0:
            raise BadInput(f"{source}: image size and focal lengths must be positive")
        return cam

    def save(self, path: str | Path) -> None:
        from ciasa.io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> Camera:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: camera file not found")
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise BadInput(f"{path}: camera file is not valid JSON: {err}") from None
        return cls.from_json(d, source=str(path))
