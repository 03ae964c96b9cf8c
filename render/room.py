"""The textured presets' set: a room (textured floor, back and side walls, baseboards)
and, for the path tracer, a soft light rig (sky plus a key and a fill area light).

Everything here is drawn from the scene seed (:class:`render.scene_params.Room`,
:class:`render.scene_params.LightRig`), so the clean and the perturbed render of a clip
stand in the same room under the same light. Geometry is laid out in Blender world
coordinates: the camera at the origin looking along +y, z up (Kinect (x, y, z) is
Blender (-x, z, y)).
"""

from __future__ import annotations

import math
from pathlib import Path

from render.scene_params import LightRig
from render.scene_params import Room as RoomParams

# Metres of wall per repeat of each wall map (bricks at life size); the floor's repeat is drawn.
TILE_M = {"plaster": 2.5, "paint": 3.0, "brick": 0.6}
_HALF = 30.0  # the planes' half size (metres)
_BASEBOARD_M = 0.1


class Room:
    """Side walls and baseboards added to the session's floor and back wall."""

    def __init__(self, session) -> None:
        self.s = session
        self.left = session._make_plane("wall_left")
        self.right = session._make_plane("wall_right")
        self.boards = [session._make_plane(f"baseboard_{k}") for k in ("back", "left", "right")]
        for board in self.boards[1:]:  # one baseboard material, one wall material
            board.data.materials[0] = self.boards[0].data.materials[0]
        for wall in (self.left, self.right):
            wall.data.materials[0] = session.wall.data.materials[0]  # one wall material

    def set(self, room: RoomParams, floor_z: float, wall_y: float, side_x: float, textures: Path) -> None:
        from render.texturing import room_textures, set_image, set_uvs, use_image

        s = self.s
        side_x = max(side_x, room.side_wall_x_m)
        for sign, wall in ((1.0, self.left), (-1.0, self.right)):
            wall.rotation_euler = (math.pi / 2, 0.0, math.pi / 2)
            wall.scale = (_HALF, _HALF, 1.0)
            wall.location = (sign * side_x, 0.0, floor_z + _HALF - 1.0)
        back, left, right = self.boards
        back.rotation_euler = (math.pi / 2, 0.0, 0.0)
        back.scale = (_HALF, _BASEBOARD_M / 2, 1.0)
        back.location = (0.0, wall_y - 0.01, floor_z + _BASEBOARD_M / 2)
        for sign, board in ((1.0, left), (-1.0, right)):
            board.rotation_euler = (math.pi / 2, 0.0, math.pi / 2)
            board.scale = (_HALF, _BASEBOARD_M / 2, 1.0)
            board.location = (sign * (side_x - 0.01), 0.0, floor_z + _BASEBOARD_M / 2)
        images = room_textures(room, textures)
        floor_rep = _HALF / max(room.floor_tile_m, 0.1)
        wall_rep = _HALF / TILE_M[room.wall_material]
        square = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        set_uvs(s.floor.data, [(x * floor_rep, y * floor_rep) for x, y in square])
        for wall in (s.wall, self.left, self.right):
            set_uvs(wall.data, [(x * wall_rep, y * wall_rep) for x, y in square])
        for board in self.boards:
            set_uvs(board.data, [(0.5, 0.5)] * 4)
        use_image(s.floor.data.materials[0], set_image(s.bpy, "room_floor", images["floor"]))
        use_image(s.wall.data.materials[0], set_image(s.bpy, "room_wall", images["wall"]))
        use_image(self.boards[0].data.materials[0], set_image(s.bpy, "room_baseboard", images["baseboard"]))
        s._set_colour(
            s.floor.data.materials[0], room.floor_colour, roughness=0.55 if room.floor_material == "wood" else 0.85
        )
        s._set_colour(s.wall.data.materials[0], room.wall_colour, roughness=0.9)


class LightRigObjects:
    """A sky (the world colour) and two area lights, a key and a weaker, larger fill."""

    def __init__(self, session) -> None:
        bpy = session.bpy
        self.s = session
        self.key = bpy.data.objects.new("key", bpy.data.lights.new("key", "AREA"))
        self.fill = bpy.data.objects.new("fill", bpy.data.lights.new("fill", "AREA"))
        for obj in (self.key, self.fill):
            obj.data.shape = "DISK"
            session.scene.collection.objects.link(obj)

    def set(self, rig: LightRig, centre: tuple[float, float, float]) -> None:
        from mathutils import Vector

        s = self.s
        bg = s.world.node_tree.nodes.get("Background")
        if bg is not None:
            bg.inputs["Color"].default_value = (*rig.sky_colour, 1.0)
            bg.inputs["Strength"].default_value = rig.sky_strength
        c = Vector(centre)
        for obj, az, el, size, power, colour in (
            (self.key, rig.key_azimuth_deg, rig.key_elevation_deg, rig.key_size_m, rig.key_power_w, rig.key_colour),
            (
                self.fill,
                -0.7 * rig.key_azimuth_deg,
                15.0,
                rig.key_size_m * 1.6,
                rig.key_power_w * rig.fill_ratio,
                (1.0, 1.0, 1.0),
            ),
        ):
            a, e = math.radians(az), math.radians(el)
            # From the subject towards the camera side (-y), turned by the azimuth (+: the
            # sensor's left, Blender -x) and raised by the elevation.
            d = Vector((-math.sin(a) * math.cos(e), -math.cos(a) * math.cos(e), math.sin(e)))
            obj.location = c + 4.0 * d
            obj.rotation_euler = (-d).to_track_quat("-Z", "Y").to_euler()
            obj.data.size = size
            obj.data.energy = power
            obj.data.color = colour
