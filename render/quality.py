"""Quality presets and camera presets: one name for each bundle of render settings.

A preset picks the body, the engine and how the scene is dressed; the appearance itself
(body shape, skin, clothes, room, light) always comes from the scene seed, so every preset
renders the clean and the perturbed video of a clip identically except for the motion.
Explicit ``--body``/``--engine``/``--cycles-samples`` override a preset's choice.

Camera presets give the image size and field of view of a real sensor. The camera file
written beside each video (``ciasa.camera.Camera``) stays what the pose stage reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ciasa.cli import BadInput


@dataclass(frozen=True)
class Quality:
    name: str
    body: str
    engine: str
    textured: bool  # image-textured skin and clothes, a room with textured floor and walls
    light_rig: bool  # sky + area lights (path tracer) instead of a sun
    workbench_aa: str
    cycles_samples: int
    summary: str


QUALITIES: dict[str, Quality] = {
    # no anti-aliasing in the draft: FXAA was a third of its CPU time on Mesa's software GL, and
    # MediaPipe reads the un-smoothed edges as well or better (docs/render.md, "Anti-aliasing")
    "draft": Quality(
        "draft",
        "default",
        "workbench",
        textured=False,
        light_rig=False,
        workbench_aa="OFF",
        cycles_samples=16,
        summary="procedural mannequin, flat colours, plain wall and floor, Workbench (the demo's cheap default)",
    ),
    "standard": Quality(
        "standard",
        "makehuman",
        "workbench",
        textured=True,
        light_rig=False,
        workbench_aa="FXAA",
        cycles_samples=16,
        summary="MakeHuman body with image-textured skin and clothes in a room "
        "with textured floor and walls, Workbench studio light",
    ),
    "photo": Quality(
        "photo",
        "makehuman",
        "cycles",
        textured=True,
        light_rig=True,
        workbench_aa="FXAA",
        cycles_samples=32,
        summary="the standard assets path-traced with Cycles under a seeded sky and soft area lights, denoised",
    ),
}


@dataclass(frozen=True)
class CameraPreset:
    name: str
    width: int
    height: int
    hfov_deg: float
    summary: str

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2 * math.atan(math.tan(math.radians(self.hfov_deg) / 2) * self.height / self.width))


CAMERAS: dict[str, CameraPreset] = {
    "default": CameraPreset(
        "default", 480, 360, 70.0, "the sensor's position with a 70 deg view (Kinect v2 depth sees ~70 deg), 4:3"
    ),
    # Kinect v2 colour camera: 1920x1080, about 84.1 x 53.8 deg. It sits ~5 cm beside the
    # depth sensor; the skeleton is drawn from the depth sensor's origin, as Kinect reports it.
    "kinect-v2-rgb": CameraPreset(
        "kinect-v2-rgb",
        1920,
        1080,
        84.1,
        "Kinect v2 colour camera: 1920x1080, 84.1 x 53.8 deg (NTU RGB+D's RGB videos)",
    ),
}


def quality(name: str) -> Quality:
    if name not in QUALITIES:
        raise BadInput(f"unknown quality {name!r} (known: {', '.join(QUALITIES)})")
    return QUALITIES[name]


def camera_preset(name: str) -> CameraPreset:
    if name not in CAMERAS:
        raise BadInput(f"unknown camera {name!r} (known: {', '.join(CAMERAS)})")
    return CAMERAS[name]


def camera_size(name: str, width: int | None, height: int | None, hfov: float | None) -> tuple[int, int, float]:
    """Image size and horizontal FOV for a camera preset and the user's explicit values.
    A sensor preset keeps its field of view; a smaller image must keep its aspect ratio."""
    cam = camera_preset(name)
    if name == "default":
        return width or cam.width, height or cam.height, cam.hfov_deg if hfov is None else hfov
    if hfov is not None and abs(hfov - cam.hfov_deg) > 1e-6:
        raise BadInput(f"--hfov {hfov:g} contradicts --camera {name} ({cam.hfov_deg:g} deg); leave --hfov out")
    if width is None and height is None:
        return cam.width, cam.height, cam.hfov_deg
    if width is None or height is None or abs(width * cam.height - height * cam.width) > 0.01 * cam.width * height:
        raise BadInput(
            f"--camera {name} is {cam.width}x{cam.height}: a --resolution for it must keep that aspect "
            f"ratio (e.g. {cam.width // 2}x{cam.height // 2}), got {width}x{height}"
        )
    return width, height, cam.hfov_deg
