"""Image textures of the textured presets: the seeded colours times the baked detail maps.

Workbench shows a material's image texture (``color_type = 'TEXTURE'``) but not its shader
nodes, so tints cannot be applied in the shader: each material gets its own small image,
computed here in numpy from a detail map (:mod:`render.textures`) and the colours the
scene seed drew, and written into a Blender image. Cycles reads the same images through an
Image Texture node, so both engines show the same clothes, skin and room.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from render.scene_params import Appearance, Room
from render.textures import ASSETS, load_detail

BODY_SIZE = 512


def _fit(detail: np.ndarray, size: int) -> np.ndarray:
    """Tile (or subsample) a square map to ``size``."""
    reps = max(1, size // detail.shape[0])
    tiled = np.tile(detail, (reps, reps))
    step = max(1, tiled.shape[0] // size)
    return tiled[::step, ::step][:size, :size]


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size) + 0.5) / size
    return np.meshgrid(c, c, indexing="xy")


def tint(detail: np.ndarray, colour, second=None, mask: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) float32 linear colour: ``colour`` (or its blend with ``second`` by ``mask``)
    times the detail multiplier."""
    base = np.broadcast_to(np.asarray(colour, np.float32), detail.shape + (3,))
    if second is not None and mask is not None:
        base = base * (1.0 - mask[..., None]) + np.asarray(second, np.float32) * mask[..., None]
    return np.clip(base * detail[..., None], 0.0, 1.0).astype(np.float32)


def shirt_mask(pattern: str, scale: float, size: int) -> np.ndarray | None:
    """Where the shirt shows its second colour: stripes, a check, or nowhere (plain)."""
    if pattern == "plain":
        return None
    u, v = _grid(size)
    n = 40.0 * scale
    stripes_v = (((v * n) % 1.0) < 0.35).astype(np.float32)
    if pattern == "stripes":
        return stripes_v
    stripes_u = (((u * n) % 1.0) < 0.35).astype(np.float32)
    return np.clip(0.55 * stripes_u + 0.55 * stripes_v, 0.0, 1.0)


def figure_textures(appearance: Appearance, directory: Path = ASSETS, size: int = BODY_SIZE) -> dict[str, np.ndarray]:
    """One linear-RGB image per body material of one figure."""
    a = appearance
    skin = a.skin
    lips = (min(1.0, skin[0] * 0.8 + 0.1), skin[1] * 0.55, skin[2] * 0.55)
    d = {
        name: _fit(load_detail(name, directory), size)
        for name in ("skin", "knit", a.trousers_fabric, "leather", "hair")
    }
    return {
        "skin": tint(d["skin"], skin),
        "shirt": tint(d["knit"], a.shirt, a.shirt_second, shirt_mask(a.shirt_pattern, a.pattern_scale, size)),
        "trousers": tint(d[a.trousers_fabric], a.trousers),
        "shoes": tint(d["leather"], a.shoes),
        "hair": tint(d["hair"], a.hair),
        "eye_white": tint(np.ones((4, 4), np.float32), (0.9, 0.9, 0.88)),
        "pupil": tint(np.ones((4, 4), np.float32), (0.03, 0.03, 0.04)),
        "lips": tint(d["skin"][:64, :64], lips),
    }


def room_textures(room: Room, directory: Path = ASSETS) -> dict[str, np.ndarray]:
    """Floor, wall (back and sides) and baseboard images."""
    return {
        "floor": tint(load_detail(room.floor_material, directory), room.floor_colour),
        "wall": tint(load_detail(room.wall_material, directory), room.wall_colour),
        "baseboard": tint(np.ones((4, 4), np.float32), room.baseboard_colour),
    }


# ----------------------------------------------------------------- Blender side
def set_image(bpy, name: str, rgb: np.ndarray):
    """The float image ``name`` holding ``rgb`` (H, W, 3), made or resized as needed."""
    h, w = rgb.shape[:2]
    image = bpy.data.images.get(name)
    if image is None or tuple(image.size) != (w, h):
        if image is not None:
            bpy.data.images.remove(image)
        image = bpy.data.images.new(name, w, h, alpha=False, float_buffer=True)
    rgba = np.concatenate([rgb[::-1], np.ones((h, w, 1), np.float32)], axis=-1)  # Blender's rows go up
    image.pixels.foreach_set(rgba.ravel())
    image.update()
    return image


def use_image(material, image) -> None:
    """Drive the material's base colour with ``image`` (an Image Texture node, made active
    so that Workbench shows it)."""
    nodes = material.node_tree.nodes
    tex = nodes.get("detail")
    if tex is None:
        tex = nodes.new("ShaderNodeTexImage")
        tex.name = "detail"
        tex.interpolation = "Linear"
        tex.extension = "REPEAT"
        bsdf = nodes.get("Principled BSDF")
        if bsdf is not None:
            material.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    tex.image = image
    nodes.active = tex


def set_uvs(mesh, loop_uvs: np.ndarray) -> None:
    layer = mesh.uv_layers.get("UVMap") or mesh.uv_layers.new(name="UVMap")
    layer.data.foreach_set("uv", np.asarray(loop_uvs, np.float32).ravel())
