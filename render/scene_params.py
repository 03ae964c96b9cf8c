"""Per-clip scene and appearance, drawn deterministically from a seed.

The clean and the perturbed render of one clip run in separate processes with the same
``--scene-id``; the seed is a stable hash of that name (sha256, not Python's salted
``hash``), so both get the identical background, floor, light and body appearance and the
perturbation is the only difference between the two videos.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import asdict, dataclass

import numpy as np

# Skin tones (linear-ish sRGB), light to dark.
SKIN_TONES = (
    (0.92, 0.76, 0.65), (0.86, 0.66, 0.52), (0.76, 0.57, 0.42),
    (0.62, 0.44, 0.31), (0.46, 0.31, 0.21), (0.33, 0.22, 0.15),
)  # fmt: skip
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
        shoes=_hsv(rng.uniform(), rng.uniform(0.0, 0.3), float(rng.choice([rng.uniform(0.06, 0.18), rng.uniform(0.75, 0.95)]))),
        hair=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
        build=round(float(rng.uniform(0.92, 1.12)), 4),
        makehuman_shape=float(rng.choice([-0.8, -0.4, 0.0, 0.4, 0.8])),
        gender=str(rng.choice(["male", "female"])),
    )


MAX_APPEARANCES = 4


def scene_params(seed: int, bodies: int = 2) -> SceneParams:
    """The scene of a clip; the first draws never depend on ``bodies``, so a clip's scene and
    its first figures look the same however many bodies the input holds."""
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
    return SceneParams(appearances=tuple(appearances[: max(bodies, 1)]), **scene)
