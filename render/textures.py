"""Procedural detail textures for the textured presets, baked once into small PNGs.

Each map is a grey-scale multiplier (skin pores, a knit's ribs, denim twill, wood planks,
tiles, bricks, ...) that the renderer tints with the colours drawn from the scene seed,
so one small set of images serves every appearance and the clean and perturbed renders
of a clip get identical pixels. The maps are made here, from fixed seeds, and written to
``render/assets/textures`` by ``python -m render.textures``; they are the project's own
work (CC0, see docs/render.md). They tile: every noise is built in the Fourier domain of
the image, so it wraps at the borders.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput

ASSETS = Path(__file__).resolve().parent / "assets" / "textures"


class TextureError(BadInput):
    """A texture file is missing or cannot be read (bad input: exit 2)."""


def _noise(size: int, beta: float, seed: int, aniso: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Tileable 1/f^beta noise, zero mean, unit standard deviation."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)
    fy, fx = np.meshgrid(f * aniso[1], f * aniso[0], indexing="ij")
    r = np.hypot(fx, fy)
    r[0, 0] = 1.0
    spec = np.fft.fft2(rng.standard_normal((size, size))) / r**beta
    spec[0, 0] = 0.0
    n = np.real(np.fft.ifft2(spec))
    return (n - n.mean()) / (n.std() + 1e-12)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size) + 0.5) / size
    return np.meshgrid(c, c, indexing="xy")  # u (x, columns), v (y, rows)


def skin(size: int = 256) -> np.ndarray:
    pores = np.clip(_noise(size, 0.2, 11), -3, 0) * 0.02
    return 0.85 + 0.05 * _noise(size, 1.6, 12) + 0.03 * _noise(size, 0.8, 13) + pores


def knit(size: int = 256) -> np.ndarray:
    u, v = _grid(size)
    ribs = np.abs(np.sin(np.pi * u * 64))
    loops = 0.5 + 0.5 * np.cos(2 * np.pi * (v * 64 + 0.5 * np.floor(u * 64)))
    return 0.78 + 0.1 * ribs * (0.6 + 0.4 * loops) + 0.04 * _noise(size, 1.3, 21)


def denim(size: int = 256) -> np.ndarray:
    u, v = _grid(size)
    twill = 0.5 + 0.5 * np.sin(2 * np.pi * (u + v) * 48)
    slub = _noise(size, 1.2, 31, aniso=(4.0, 0.25))  # streaks along the warp
    return 0.74 + 0.12 * twill + 0.07 * slub + 0.03 * _noise(size, 0.5, 32)


def cotton(size: int = 256) -> np.ndarray:
    u, v = _grid(size)
    weave = np.sin(2 * np.pi * u * 80) * np.sin(2 * np.pi * v * 80)
    return 0.82 + 0.05 * weave + 0.05 * _noise(size, 1.5, 41)


def leather(size: int = 128) -> np.ndarray:
    return 0.8 + 0.06 * _noise(size, 1.4, 51) + 0.04 * np.clip(_noise(size, 0.3, 52), -2, 2)


def hair(size: int = 256) -> np.ndarray:
    strands = _noise(size, 0.9, 61, aniso=(0.15, 6.0))
    return 0.75 + 0.15 * np.tanh(strands) + 0.05 * _noise(size, 1.8, 62)


def wood(size: int = 512) -> np.ndarray:
    """Four planks across, staggered butt joints, grain along the planks."""
    u, v = _grid(size)
    planks = 4
    k = np.floor(u * planks)
    offset = (k * 0.37) % 1.0
    vv = (v + offset) % 1.0
    rng = np.random.default_rng(71)
    shade = rng.uniform(-0.12, 0.12, size=(planks, 2))
    board = shade[k.astype(int), (vv > 0.5).astype(int)]
    warp = _noise(size, 1.8, 72, aniso=(1.0, 0.2)) * 0.04
    grain = np.sin(2 * np.pi * ((u * planks) % 1.0 + warp) * 9) * 0.5 + 0.5
    seam = (np.minimum((u * planks) % 1.0, 1 - (u * planks) % 1.0) < 0.008) | (np.abs(vv - 0.5) > 0.497)
    out = 0.8 + board + 0.08 * grain + 0.04 * _noise(size, 1.0, 73, aniso=(0.2, 3.0))
    return np.where(seam, 0.45, out)


def tiles(size: int = 256) -> np.ndarray:
    u, v = _grid(size)
    n = 4
    tu, tv = (u * n) % 1.0, (v * n) % 1.0
    grout = (np.minimum(tu, 1 - tu) < 0.02) | (np.minimum(tv, 1 - tv) < 0.02)
    rng = np.random.default_rng(81)
    shade = rng.uniform(-0.05, 0.05, size=(n, n))[np.floor(v * n).astype(int), np.floor(u * n).astype(int)]
    return np.where(grout, 0.55, 0.9 + shade + 0.02 * _noise(size, 1.5, 82))


def carpet(size: int = 256) -> np.ndarray:
    return 0.8 + 0.06 * _noise(size, 0.1, 91) + 0.06 * _noise(size, 1.6, 92)


def concrete(size: int = 256) -> np.ndarray:
    specks = np.clip(_noise(size, 0.0, 101) - 2.2, 0, None) * 0.1
    return 0.82 + 0.07 * _noise(size, 1.7, 102) + 0.03 * _noise(size, 0.7, 103) - specks


def plaster(size: int = 256) -> np.ndarray:
    return 0.88 + 0.04 * _noise(size, 1.9, 111) + 0.015 * _noise(size, 0.6, 112)


def paint(size: int = 256) -> np.ndarray:
    return 0.9 + 0.02 * _noise(size, 2.0, 121)


def brick(size: int = 256) -> np.ndarray:
    """Eight courses of bricks per repeat, each course offset by half a brick."""
    u, v = _grid(size)
    courses, per = 8, 4
    row = np.floor(v * courses)
    uu = (u * per + 0.5 * (row % 2)) % per
    col = np.floor(uu)
    mortar = (np.minimum((v * courses) % 1, 1 - (v * courses) % 1) < 0.07) | (np.minimum(uu % 1, 1 - uu % 1) < 0.035)
    rng = np.random.default_rng(131)
    shade = rng.uniform(-0.1, 0.1, size=(courses, per))[row.astype(int), col.astype(int)]
    return np.where(mortar, 1.1, 0.8 + shade + 0.05 * _noise(size, 1.2, 132))


MAPS: dict[str, Callable[[], np.ndarray]] = {
    "skin": skin,
    "knit": knit,
    "denim": denim,
    "cotton": cotton,
    "leather": leather,
    "hair": hair,
    "wood": wood,
    "tiles": tiles,
    "carpet": carpet,
    "concrete": concrete,
    "plaster": plaster,
    "paint": paint,
    "brick": brick,
}

# A map is stored as 8-bit grey: value / SCALE, so multipliers up to 1.25 fit.
SCALE = 1.25


def to_uint8(detail: np.ndarray) -> np.ndarray:
    return np.clip(np.round(detail / SCALE * 255.0), 0, 255).astype(np.uint8)


def bake(directory: Path = ASSETS) -> list[Path]:
    """Write every map to ``directory/NAME.png``; return the paths."""
    from PIL import Image

    from ciasa.io import atomic_path

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in MAPS.items():
        path = directory / f"{name}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(to_uint8(make()), mode="L").save(tmp, format="PNG", optimize=True)
        paths.append(path)
    return paths


def load_detail(name: str, directory: Path = ASSETS) -> np.ndarray:
    """The multiplier map ``name`` (H, W) float32, normalised to mean 1 so that a tinted
    texture keeps the drawn colour on average. Errors name the file."""
    path = Path(directory) / f"{name}.png"
    if not path.is_file():
        raise TextureError(f"{path}: texture not found (bake the textures with: python -m render.textures)")
    try:
        from PIL import Image

        with Image.open(path) as im:
            grey = np.asarray(im.convert("L"), dtype=np.float32)
    except Exception as err:  # PIL raises many kinds for a broken image
        raise TextureError(f"{path}: cannot read the texture: {err}") from None
    if grey.ndim != 2 or min(grey.shape) < 4 or not grey.any():
        raise TextureError(f"{path}: not a usable texture (shape {grey.shape}, all black: {not grey.any()})")
    return grey / grey.mean()


def main(argv: list[str] | None = None) -> int:
    from ciasa import cli

    p = cli.parser(
        "python -m render.textures", "Bake the procedural detail textures of the textured render presets to PNG files."
    )
    p.add_argument("--out", type=Path, default=ASSETS, help="folder to write NAME.png into")
    cli.add_logging_flags(p)
    args = p.parse_args(argv)

    def work(a: argparse.Namespace) -> int:
        for path in bake(a.out):
            if not a.quiet:
                print(f"{path}: {path.stat().st_size / 1024:.0f} KB")
        return 0

    return cli.run_main(work, args)


if __name__ == "__main__":
    sys.exit(main())
