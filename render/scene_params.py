"""Per-clip scene and appearance, drawn deterministically from a seed.

The clean and the perturbed render of one clip run in separate processes with the same
``--scene-id``; the seed is a stable hash of that name (sha256, not Python's salted
``hash``), so both get the identical background, floor, light and body appearance and the
perturbation is the only difference between the two videos.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
from dataclasses import asdict, dataclass, replace

import numpy as np

# Skin tones (linear-ish sRGB), light to dark.
SKIN_TONES = (
    (0.92, 0.76, 0.65),
    (0.86, 0.66, 0.52),
    (0.76, 0.57, 0.42),
    (0.62, 0.44, 0.31),
    (0.46, 0.31, 0.21),
    (0.33, 0.22, 0.15),
)
HAIR_COLOURS = ((0.05, 0.04, 0.03), (0.20, 0.12, 0.06), (0.40, 0.26, 0.12), (0.62, 0.48, 0.28), (0.35, 0.33, 0.32))
WORKBENCH_LIGHTS = ("Default", "basic.sl", "outdoor.sl", "studio.sl", "paint.sl")


def seed_from_name(name: str) -> int:
    """A stable 63-bit seed from a clip name."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") >> 1


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    return tuple(round(c, 4) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))  # type: ignore[return-value]


@dataclass(frozen=True)
class Appearance:
    skin: tuple[float, float, float]
    shirt: tuple[float, float, float]
    trousers: tuple[float, float, float]
    shoes: tuple[float, float, float]
    hair: tuple[float, float, float]
    build: float  # across-bone thickness factor (body shape)
    makehuman_shape: float  # MakeHuman body: -1 slim .. 1 heavy (five levels, so batches reuse bodies)
    gender: str  # MakeHuman body: 'male' or 'female'
    # Textured presets only (drawn from their own stream, so the flat-colour draws above never change):
    shirt_pattern: str = "plain"  # plain, stripes, check
    shirt_second: tuple[float, float, float] = (1.0, 1.0, 1.0)  # the pattern's second colour
    pattern_scale: float = 1.0  # stripes/checks per texture repeat, relative
    trousers_fabric: str = "denim"  # denim or cotton


@dataclass(frozen=True)
class Room:
    """Textured presets: the room around the subject (Kinect space, metres)."""

    floor_material: str  # wood, tiles, carpet, concrete
    floor_colour: tuple[float, float, float]
    floor_tile_m: float  # size of one texture repeat on the floor
    wall_material: str  # plaster, paint, brick
    wall_colour: tuple[float, float, float]
    side_wall_x_m: float  # side walls at x = +-this (or further when the motion needs room)
    baseboard_colour: tuple[float, float, float]


@dataclass(frozen=True)
class LightRig:
    """Textured presets with a path tracer: soft light from a sky and two area lights."""

    sky_colour: tuple[float, float, float]
    sky_strength: float
    key_azimuth_deg: float  # around the subject, 0 = from the camera, + = from the sensor's left
    key_elevation_deg: float
    key_size_m: float
    key_power_w: float
    key_colour: tuple[float, float, float]
    fill_ratio: float  # fill power / key power, the fill on the other side of the camera


@dataclass(frozen=True)
class SceneParams:
    seed: int
    background: tuple[float, float, float]
    floor: tuple[float, float, float]
    workbench_light: str
    light_rotation_deg: float
    sun_elevation_deg: float
    sun_azimuth_deg: float
    sun_strength: float
    appearances: tuple[Appearance, ...]
    room: Room | None = None
    light: LightRig | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _appearance(rng: np.random.Generator) -> Appearance:
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))]
    # The shirt must not pass for bare skin (a pose model would lose the arms and torso).
    for _ in range(20):
        shirt_h = rng.uniform()
        shirt = _hsv(shirt_h, rng.uniform(0.45, 0.85), rng.uniform(0.55, 0.9))
        if np.linalg.norm(np.subtract(shirt, skin)) > 0.3:
            break
    # Trousers: a hue far from the shirt's and a different brightness, so the two read apart.
    trousers_h = shirt_h + rng.uniform(0.3, 0.7)
    return Appearance(
        skin=skin,
        shirt=shirt,
        trousers=_hsv(trousers_h, rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.32)),
        shoes=_hsv(
            rng.uniform(), rng.uniform(0.0, 0.3), float(rng.choice([rng.uniform(0.06, 0.18), rng.uniform(0.75, 0.95)]))
        ),
        hair=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
        build=round(float(rng.uniform(0.92, 1.12)), 4),
        makehuman_shape=float(rng.choice([-0.8, -0.4, 0.0, 0.4, 0.8])),
        gender=str(rng.choice(["male", "female"])),
    )


MAX_APPEARANCES = 4


def blackbody_rgb(kelvin: float) -> tuple[float, float, float]:
    """Approximate linear RGB of a black body (normalised to max 1), 2000-10000 K."""
    t = kelvin / 100.0
    r = 1.0 if t <= 66 else min(1.0, 1.2929 * (t - 60) ** -0.1332)
    g = 0.3901 * math.log(t) - 0.6318 if t <= 66 else 1.1299 * (t - 60) ** -0.0755
    b = 1.0 if t >= 66 else (0.0 if t <= 19 else 0.5432 * math.log(t - 10) - 1.1963)
    srgb = np.clip([r, g, b], 0.0, 1.0)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return tuple(round(float(c), 4) for c in lin / lin.max())  # type: ignore[return-value]


WOOD_HUES = (0.07, 0.09, 0.11)
FLOORS = ("wood", "tiles", "carpet", "concrete")
WALLS = ("plaster", "paint", "brick")


def _room(rng: np.random.Generator) -> Room:
    floor = FLOORS[rng.integers(len(FLOORS))]
    if floor == "wood":
        fc = _hsv(float(rng.choice(WOOD_HUES)), rng.uniform(0.35, 0.6), rng.uniform(0.3, 0.65))
        tile = rng.uniform(0.7, 1.0)  # four planks per repeat
    elif floor == "tiles":
        fc = _hsv(rng.uniform(), rng.uniform(0.0, 0.2), rng.uniform(0.55, 0.85))
        tile = rng.uniform(1.2, 2.4)  # four tiles per repeat
    elif floor == "carpet":
        fc = _hsv(rng.uniform(), rng.uniform(0.15, 0.45), rng.uniform(0.25, 0.55))
        tile = rng.uniform(1.0, 1.5)
    else:
        fc = _hsv(rng.uniform(), rng.uniform(0.0, 0.08), rng.uniform(0.45, 0.7))
        tile = rng.uniform(2.0, 3.0)
    wall = WALLS[rng.integers(len(WALLS))]
    if wall == "brick":
        wc = _hsv(rng.uniform(0.0, 0.07), rng.uniform(0.35, 0.6), rng.uniform(0.4, 0.6))
    else:
        wc = _hsv(rng.uniform(), rng.uniform(0.04, 0.3), rng.uniform(0.65, 0.9))
    return Room(
        floor_material=floor,
        floor_colour=fc,
        floor_tile_m=round(float(tile), 3),
        wall_material=wall,
        wall_colour=wc,
        side_wall_x_m=round(float(rng.uniform(2.2, 3.4)), 3),
        baseboard_colour=_hsv(rng.uniform(), rng.uniform(0.0, 0.15), float(rng.choice([0.15, 0.85]))),
    )


def _light(rng: np.random.Generator) -> LightRig:
    return LightRig(
        sky_colour=blackbody_rgb(float(rng.uniform(6500.0, 10000.0))),
        sky_strength=round(float(rng.uniform(0.08, 0.16)), 3),
        key_azimuth_deg=round(float(rng.uniform(-60.0, 60.0)), 2),
        key_elevation_deg=round(float(rng.uniform(25.0, 60.0)), 2),
        key_size_m=round(float(rng.uniform(1.5, 3.5)), 3),
        key_power_w=round(float(rng.uniform(120.0, 220.0)), 1),
        key_colour=blackbody_rgb(float(rng.uniform(3800.0, 6500.0))),
        fill_ratio=round(float(rng.uniform(0.2, 0.5)), 3),
    )


def _clothing(rng: np.random.Generator, a: Appearance) -> Appearance:
    """The textured presets' extra draws for one figure: pattern and fabric."""
    pattern = str(rng.choice(["plain", "plain", "stripes", "check"]))
    h, s, v = colorsys.rgb_to_hsv(*a.shirt)
    second = _hsv(h + rng.uniform(0.25, 0.75), rng.uniform(0.0, 0.6), 0.95 if v < 0.6 else rng.uniform(0.15, 0.35))
    return replace(
        a,
        shirt_pattern=pattern,
        shirt_second=second,
        pattern_scale=round(float(rng.uniform(0.7, 1.5)), 3),
        trousers_fabric=str(rng.choice(["denim", "cotton"])),
    )


def scene_params(seed: int, bodies: int = 2) -> SceneParams:
    """The scene of a clip; the first draws never depend on ``bodies``, so a clip's scene and
    its first figures look the same however many bodies the input holds. The room, the light
    rig and the clothing patterns of the textured presets come from a second stream of the
    same seed, so adding them left every earlier draw (and the draft renders) unchanged."""
    rng = np.random.default_rng(seed)
    bg_h = rng.uniform()
    scene = dict(
        seed=int(seed),
        background=_hsv(bg_h, rng.uniform(0.05, 0.3), rng.uniform(0.65, 0.92)),
        floor=_hsv(bg_h + rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.3), rng.uniform(0.6, 0.85)),
        workbench_light=WORKBENCH_LIGHTS[rng.integers(len(WORKBENCH_LIGHTS))],
        light_rotation_deg=round(float(rng.uniform(-60.0, 60.0)), 2),
        sun_elevation_deg=round(float(rng.uniform(35.0, 75.0)), 2),
        sun_azimuth_deg=round(float(rng.uniform(-70.0, 70.0)), 2),
        sun_strength=round(float(rng.uniform(2.5, 4.5)), 3),
    )
    appearances = [_appearance(rng) for _ in range(MAX_APPEARANCES)]
    while len(appearances) < bodies:  # more bodies than usual: keep drawing
        appearances.append(_appearance(rng))
    extra = np.random.default_rng([int(seed), 1])
    room, light = _room(extra), _light(extra)
    appearances = [_clothing(np.random.default_rng([int(seed), 2, k]), a) for k, a in enumerate(appearances)]
    return SceneParams(appearances=tuple(appearances[: max(bodies, 1)]), room=room, light=light, **scene)
