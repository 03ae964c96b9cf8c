"""Everything that touches ``bpy``: the scene, the camera, figures, keyframes, rendering.

One :class:`BlenderSession` per process. It builds each figure (armature + skinned mesh)
once and, for every clip, only recolours it and swaps its animation, so batch mode pays
Blender's start-up and the body construction once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ciasa.cli import BadInput
from render.body_default import BodyMesh
from render.retarget import BONE_NAMES, BONES, RestSkeleton, Retarget
from render.scene_params import Appearance, SceneParams

log = logging.getLogger(__name__)

ENGINES = {"workbench": "BLENDER_WORKBENCH", "cycles": "CYCLES", "eevee": "BLENDER_EEVEE"}


class BlenderError(RuntimeError):
    """Blender failed to build or render the scene."""


def _bpy():
    try:
        import bpy
    except ImportError as err:  # pragma: no cover - environment problem
        raise BlenderError(f"cannot import Blender's Python module bpy: {err}") from None
    return bpy


def _quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) as (w, x, y, z), Blender's order, from rotation matrices (..., 3, 3)
    (``scipy.spatial.transform.Rotation``), the first frame with w >= 0."""
    q = Rotation.from_matrix(np.asarray(m, dtype=np.float64)).as_quat(canonical=True, scalar_first=True)
    # Keep consecutive frames on the same hemisphere (no flips when interpolating).
    # Flipping frame t-1 flips the sign of its dot product with frame t, so the sign
    # each frame needs is the running product of the raw neighbour signs.
    if q.ndim >= 2 and q.shape[0] > 1:
        step = np.where(np.sum(q[1:] * q[:-1], axis=-1) < 0, -1.0, 1.0)
        q[1:] *= np.cumprod(step, axis=0)[..., None]
    return q


@dataclass
class Figure:
    """A built figure: its armature and mesh objects, its materials, and the rest frames
    Blender actually gave the bones (used to turn world rotations into pose rotations)."""

    armature: object
    mesh: object
    materials: dict[str, object]
    rest_heads: np.ndarray  # (B, 3)
    rest_frames: np.ndarray  # (B, 3, 3)
    rest: RestSkeleton  # the template skeleton; retargeting uses its frames

    @property
    def template_frames(self) -> np.ndarray:
        return self.rest.frames


class DeviceError(BadInput):
    """A GPU was asked for where Blender finds none (bad input: exit 2)."""


DEVICES = ("auto", "cpu", "gpu", "optix", "cuda", "hip", "oneapi", "metal")
_GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")


@dataclass(frozen=True)
class SessionSettings:
    """How a Blender session renders; fixed for its lifetime (a batch shares one)."""

    engine: str = "workbench"
    width: int = 480
    height: int = 360
    cycles_samples: int = 16
    cycles_denoise: bool = True
    device: str = "auto"
    workbench_aa: str = "FXAA"
    textured: bool = False  # image textures on bodies and room, side walls (standard, photo)
    light_rig: bool = False  # sky + area lights instead of a sun (photo)
    threads: int | None = None


class BlenderSession:
    def __init__(self, settings: SessionSettings | None = None):
        st = self.settings = settings or SessionSettings()
        if st.engine not in ENGINES:
            raise ValueError(f"unknown engine {st.engine!r} (known: {', '.join(ENGINES)})")
        if st.device not in DEVICES:
            raise DeviceError(f"unknown device {st.device!r} (known: {', '.join(DEVICES)})")
        self.bpy = _bpy()
        self.engine = st.engine
        self.textured = st.textured
        self.bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = self.bpy.context.scene
        self._set_output(st)
        self.gpu_backend = self._gpu_backend(st.device)
        self._set_engine(st)
        self._build_set(st)
        self.figures: dict[tuple, Figure] = {}
        from render.textures import ASSETS

        self.textures_dir = ASSETS
        if st.engine in ("workbench", "eevee"):
            self._start_gpu_quietly()

    # ----------------------------------------------------------------- set-up
    def _set_output(self, st: SessionSettings) -> None:
        """Engine, image size, 8-bit RGB PNG frames, threads, colour management."""
        r = self.scene.render
        try:
            r.engine = ENGINES[st.engine]
        except TypeError as err:
            raise BlenderError(f"Blender has no {st.engine} engine here: {err}") from None
        r.resolution_x, r.resolution_y, r.resolution_percentage = st.width, st.height, 100
        r.pixel_aspect_x = r.pixel_aspect_y = 1.0
        r.image_settings.file_format = "PNG"
        r.image_settings.color_mode = "RGB"
        r.image_settings.color_depth = "8"
        # The frames are read once by ffmpeg and deleted: zlib's effort buys nothing, and
        # PNG stays lossless at any level (the same pixels; ~4 % of a draft render's CPU).
        r.image_settings.compression = 0
        r.use_file_extension = True
        if st.threads:
            r.threads_mode = "FIXED"
            r.threads = int(st.threads)
        # Standard keeps the drawn colours as they are; the light rig's highlights need a
        # film-like curve (AgX) to roll off instead of clipping.
        view = self.scene.view_settings
        view.view_transform = "AgX" if st.light_rig else "Standard"
        view.look = "AgX - Medium High Contrast" if st.light_rig else "None"

    def _set_engine(self, st: SessionSettings) -> None:
        scene = self.scene
        if st.engine == "workbench":
            sh = scene.display.shading
            sh.light = "STUDIO"
            sh.color_type = "TEXTURE" if st.textured else "MATERIAL"
            sh.show_shadows = True
            sh.shadow_intensity = 0.35
            sh.use_world_space_lighting = True
            sh.show_cavity = False
            try:
                scene.display.render_aa = st.workbench_aa
            except TypeError:
                raise ValueError(
                    f"unknown Workbench anti-aliasing {st.workbench_aa!r} (known: OFF, FXAA, 5, 8, 11, 16, 32)"
                ) from None
        elif st.engine == "cycles":
            cy = scene.cycles
            cy.samples = int(st.cycles_samples)
            cy.use_denoising = bool(st.cycles_denoise)
            cy.device = "GPU" if self.gpu_backend else "CPU"
            if st.cycles_denoise:
                cy.denoiser = "OPENIMAGEDENOISE"
        elif st.engine == "eevee":
            scene.eevee.taa_render_samples = 16

    def _build_set(self, st: SessionSettings) -> None:
        """World, camera, floor and back wall; the room of the textured presets; a sun or
        the light rig for the engines that light with lamps."""
        bpy = self.bpy
        self.world = bpy.data.worlds.new("world")
        self.world.use_nodes = True
        self.scene.world = self.world
        self.camera = self._make_camera()
        self.floor = self._make_plane("floor")
        self.wall = self._make_plane("wall")
        self.room = self.sun = self.rig = None
        if st.textured:
            from render.room import Room

            self.room = Room(self)
        if st.engine != "workbench":
            if st.light_rig:
                from render.room import LightRigObjects

                self.rig = LightRigObjects(self)
            else:
                self.sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
                self.scene.collection.objects.link(self.sun)

    # ----------------------------------------------------------------- scene
    def _gpu_backend(self, want: str) -> str | None:
        """The GPU backend Cycles renders on (None: the CPU). ``auto`` takes the best one
        present; asking for a GPU (``gpu`` or a backend name) where none exists is an error."""
        if want == "cpu":
            return None
        try:
            prefs = self.bpy.context.preferences.addons["cycles"].preferences
        except KeyError:
            prefs = None
        backends = _GPU_BACKENDS if want in ("auto", "gpu") else (want.upper(),)
        found: dict[str, list[str]] = {}
        for backend in backends if prefs is not None else ():
            try:
                prefs.compute_device_type = backend
                prefs.get_devices()
            except TypeError:
                continue
            gpus = [d for d in prefs.devices if d.type == backend]
            if gpus:
                found[backend] = [d.name for d in gpus]
                for d in prefs.devices:
                    d.use = d.type == backend
                log.info("Cycles renders on %s (%s)", backend, ", ".join(found[backend]))
                return backend
        if want != "auto":
            raise DeviceError(
                f"--device {want}: Blender finds no {'GPU' if want == 'gpu' else want.upper() + ' device'} "
                "on this machine (use --device auto or cpu)"
            )
        if prefs is not None:
            prefs.compute_device_type = "NONE"
        return None

    def _start_gpu_quietly(self) -> None:
        """Create Blender's GPU context now, with a tiny render, and drop the three harmless
        EGL_BAD_MATCH lines it prints on headless machines (any other line is kept)."""
        import tempfile

        from render.stdio import filtered_stderr, quiet_stdout

        r = self.scene.render
        size = (r.resolution_x, r.resolution_y, r.filepath)
        with tempfile.TemporaryDirectory() as d, filtered_stderr(), quiet_stdout():
            r.resolution_x, r.resolution_y = 8, 8
            r.filepath = str(Path(d) / "warm")
            try:
                self.bpy.ops.render.render(write_still=True)
            except RuntimeError as err:
                raise BlenderError(f"Blender cannot render here: {err}") from None
            finally:
                r.resolution_x, r.resolution_y, r.filepath = size

    def _make_camera(self):
        bpy = self.bpy
        cam = bpy.data.cameras.new("sensor")
        obj = bpy.data.objects.new("sensor", cam)
        self.scene.collection.objects.link(obj)
        self.scene.camera = obj
        # Blender cameras look down their local -z with +y up: turn that to world +y
        # (Kinect +z, away from the sensor) with world +z (Kinect +y) up.
        obj.location = (0.0, 0.0, 0.0)
        obj.rotation_euler = (math.pi / 2, 0.0, 0.0)
        cam.sensor_fit = "HORIZONTAL"
        cam.sensor_width = 36.0
        cam.clip_start = 0.05
        cam.clip_end = 100.0
        return obj

    def set_camera(self, fx_px: float, width: int, height: int) -> None:
        r = self.scene.render
        r.resolution_x, r.resolution_y = width, height
        self.camera.data.lens = fx_px * self.camera.data.sensor_width / width

    def _make_plane(self, name: str):
        bpy = self.bpy
        mesh = bpy.data.meshes.new(name)
        mesh.from_pydata([(-1, -1, 0), (1, -1, 0), (1, 1, 0), (-1, 1, 0)], [], [(0, 1, 2, 3)])
        obj = bpy.data.objects.new(name, mesh)
        self.scene.collection.objects.link(obj)
        mat = self._material(f"{name}_mat", (0.5, 0.5, 0.5), roughness=0.9)
        mesh.materials.append(mat)
        return obj

    def _material(self, name: str, colour, roughness: float = 0.6):
        mat = self.bpy.data.materials.new(name)
        mat.use_nodes = True
        self._set_colour(mat, colour, roughness)
        return mat

    @staticmethod
    def _set_colour(mat, colour, roughness: float | None = None) -> None:
        rgba = (*colour, 1.0)
        mat.diffuse_color = rgba  # Workbench reads this
        bsdf = mat.node_tree.nodes.get("Principled BSDF")
        if bsdf is not None:
            bsdf.inputs["Base Color"].default_value = rgba
            if roughness is not None:
                bsdf.inputs["Roughness"].default_value = roughness
        if roughness is not None:
            mat.roughness = roughness

    def set_scene(
        self,
        params: SceneParams,
        floor_z: float,
        wall_y: float,
        fps: float,
        side_x: float = 3.0,
        centre: tuple[float, float, float] = (0.0, 3.0, 1.0),
        textures: Path | None = None,
    ) -> None:
        """Colours, light, floor height (Blender z) and back wall distance (Blender y); in the
        textured presets also the room's textures and side walls (at x = +-``side_x``) and the
        light rig aimed at ``centre`` (Blender world)."""
        scene = self.scene
        self.floor.scale = (30.0, 30.0, 1.0)
        self.floor.location = (0.0, 0.0, floor_z)
        self.wall.rotation_euler = (math.pi / 2, 0.0, 0.0)
        self.wall.scale = (30.0, 30.0, 1.0)
        self.wall.location = (0.0, wall_y, floor_z + 29.0)
        self._set_colour(self.floor.data.materials[0], params.floor)
        self._set_colour(self.wall.data.materials[0], params.background)
        self.world.color = params.background
        bg = self.world.node_tree.nodes.get("Background")
        if bg is not None:
            bg.inputs["Color"].default_value = (*params.background, 1.0)
            bg.inputs["Strength"].default_value = 0.6
        if self.engine == "workbench":
            sh = scene.display.shading
            sh.studio_light = params.workbench_light
            sh.studiolight_rotate_z = math.radians(params.light_rotation_deg)
            el, az = math.radians(params.sun_elevation_deg), math.radians(params.sun_azimuth_deg)
            scene.display.light_direction = (math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el))
        if self.sun is not None:
            self.sun.rotation_euler = (
                math.radians(90.0 - params.sun_elevation_deg),
                0.0,
                math.radians(180.0 + params.sun_azimuth_deg),
            )
            self.sun.data.energy = params.sun_strength
        if textures is not None:
            self.textures_dir = textures
        if self.room is not None and params.room is not None:
            self.room.set(params.room, floor_z=floor_z, wall_y=wall_y, side_x=side_x, textures=self.textures_dir)
        if self.rig is not None and params.light is not None:
            self.rig.set(params.light, centre=centre)
        fps_int = max(1, int(round(fps)))
        scene.render.fps = fps_int
        scene.render.fps_base = fps_int / fps

    # ----------------------------------------------------------------- figures
    def figure(self, key: tuple, mesh_factory) -> Figure:
        """The figure for ``key`` (body kind, variant, index), built on first use."""
        if key not in self.figures:
            name = "_".join(str(k) for k in key).replace(".", "p").replace("-", "m")
            log.debug("building figure %s", name)
            self.figures[key] = self._build_figure(name, mesh_factory())
        return self.figures[key]

    def _build_figure(self, name: str, body: BodyMesh) -> Figure:
        bpy = self.bpy
        rest = body.rest
        arm = bpy.data.armatures.new(f"{name}_rig")
        arm_obj = bpy.data.objects.new(f"{name}_rig", arm)
        self.scene.collection.objects.link(arm_obj)
        bpy.context.view_layer.objects.active = arm_obj
        bpy.ops.object.mode_set(mode="EDIT")
        for b, bone_name in enumerate(BONE_NAMES):
            frame = rest.frames[b]
            eb = arm.edit_bones.new(bone_name)
            c, p = BONES[b]
            eb.head = rest.joints[p]
            eb.tail = rest.joints[c]
            eb.align_roll(frame[:, 2])
            eb.use_deform = True
        bpy.ops.object.mode_set(mode="OBJECT")
        missing = [n for n in BONE_NAMES if n not in arm.bones]
        if missing:
            raise BlenderError(f"Blender dropped bones {missing} (zero length?)")
        rest_heads = np.array([arm.bones[n].head_local for n in BONE_NAMES])
        rest_frames = np.array([np.array(arm.bones[n].matrix_local)[:3, :3] for n in BONE_NAMES])
        dev = np.abs(rest_frames - rest.frames).max()
        if dev > 1e-4:
            log.debug("Blender's bone rolls differ from the template frames by %.2g", dev)

        mesh = bpy.data.meshes.new(name)
        mesh.from_pydata(body.vertices.tolist(), [], [list(p) for p in body.polygons])
        mesh.validate()
        mats = {}
        for m in body.materials:
            mats[m] = self._material(
                f"{name}_{m}", (0.5, 0.5, 0.5), roughness=0.3 if m in ("eye_white", "pupil") else 0.65
            )
            mesh.materials.append(mats[m])
        mesh.polygons.foreach_set("material_index", body.material_index)
        mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
        if self.textured:
            from render.texturing import set_uvs

            set_uvs(mesh, body.uvs())
        mesh.update()
        obj = bpy.data.objects.new(name, mesh)
        self.scene.collection.objects.link(obj)
        for b, bone_name in enumerate(BONE_NAMES):
            vg = obj.vertex_groups.new(name=bone_name)
            col = body.weights[:, b]
            nz = np.nonzero(col > 0)[0]
            # One call per distinct weight value keeps this fast.
            vals, inv = np.unique(np.round(col[nz], 4), return_inverse=True)
            for k, val in enumerate(vals):
                vg.add(nz[inv == k].tolist(), float(val), "REPLACE")
        mod = obj.modifiers.new("armature", "ARMATURE")
        mod.object = arm_obj
        mod.use_vertex_groups = True
        obj.parent = arm_obj
        for pb in arm_obj.pose.bones:
            pb.rotation_mode = "QUATERNION"
        return Figure(arm_obj, obj, mats, rest_heads, rest_frames, rest)

    def hide_unused(self, used: set[tuple]) -> None:
        for key, fig in self.figures.items():
            hidden = key not in used
            for o in (fig.mesh, fig.armature):
                if o.animation_data is not None and o.animation_data.action is not None and hidden:
                    action = o.animation_data.action
                    o.animation_data.action = None  # else its keyed visibility would show it again
                    self.bpy.data.actions.remove(action)
                o.hide_render = hidden
                o.hide_viewport = hidden

    def animate(self, fig: Figure, motion: Retarget, appearance: Appearance, first_frame: int = 1) -> None:
        """Recolour ``fig`` and key its pose for every frame of ``motion``."""
        skin = appearance.skin
        lips = (min(1.0, skin[0] * 0.8 + 0.1), skin[1] * 0.55, skin[2] * 0.55)  # a redder, darker skin
        for m, colour in (
            ("skin", skin),
            ("shirt", appearance.shirt),
            ("trousers", appearance.trousers),
            ("shoes", appearance.shoes),
            ("hair", appearance.hair),
            ("eye_white", (0.9, 0.9, 0.88)),
            ("pupil", (0.03, 0.03, 0.04)),
            ("lips", lips),
        ):
            if m in fig.materials:
                self._set_colour(fig.materials[m], colour)
        if self.textured:
            from render.texturing import figure_textures, set_image, use_image

            for m, rgb in figure_textures(appearance, self.textures_dir).items():
                if m in fig.materials:
                    use_image(fig.materials[m], set_image(self.bpy, f"{fig.mesh.name}_{m}", rgb))
        t = motion.heads.shape[0]
        r0 = fig.rest_frames  # (B, 3, 3), Blender's
        frames = np.arange(first_frame, first_frame + t, dtype=np.float64)
        # Pose rotation = R0^T Q R0 with Q = R_t T0^T the world delta from the template
        # frames T0 (numpy's) to the posed frames; R0 are Blender's rest frames (its roll).
        q_world = motion.rotations @ np.swapaxes(fig.template_frames, -1, -2)[None]
        basis_rot = np.swapaxes(r0, -1, -2)[None] @ q_world @ r0[None]
        quat = _quat_from_matrix(basis_rot)  # (T, B, 4)
        loc = np.einsum("bji,tbj->tbi", r0, motion.heads - fig.rest_heads[None])  # R0^T (h - h0)
        bpy = self.bpy
        arm_obj = fig.armature
        action = bpy.data.actions.new(f"{arm_obj.name}_motion")
        slot = action.slots.new("OBJECT", arm_obj.name)
        strip = action.layers.new("motion").strips.new(type="KEYFRAME")
        bag = strip.channelbag(slot, ensure=True)

        def key(channels, path: str, values: np.ndarray) -> None:
            for i in range(values.shape[-1]):
                fc = channels.fcurves.new(path, index=i)
                fc.keyframe_points.add(t)
                fc.keyframe_points.foreach_set(
                    "co", np.stack([frames, values[:, i]], axis=1).ravel().astype(np.float32)
                )
                fc.keyframe_points.foreach_set("interpolation", np.zeros(t, dtype=np.int32))  # CONSTANT
                fc.update()

        for b, name in enumerate(BONE_NAMES):
            key(bag, f'pose.bones["{name}"].location', loc[:, b])
            key(bag, f'pose.bones["{name}"].rotation_quaternion', quat[:, b])
            key(bag, f'pose.bones["{name}"].scale', motion.scale[:, b])
        old = arm_obj.animation_data.action if arm_obj.animation_data else None
        arm_obj.animation_data_create()
        arm_obj.animation_data.action = action
        arm_obj.animation_data.action_slot = slot
        if old is not None:
            bpy.data.actions.remove(old)
        # Absent frames: hide the figure (keyed visibility, constant between keys).
        hide = bpy.data.actions.new(f"{fig.mesh.name}_visibility")
        hslot = hide.slots.new("OBJECT", fig.mesh.name)
        hbag = hide.layers.new("visibility").strips.new(type="KEYFRAME").channelbag(hslot, ensure=True)
        key(hbag, "hide_render", (~motion.present).astype(np.float64)[:, None])
        key(hbag, "hide_viewport", (~motion.present).astype(np.float64)[:, None])
        old = fig.mesh.animation_data.action if fig.mesh.animation_data else None
        fig.mesh.animation_data_create()
        fig.mesh.animation_data.action = hide
        fig.mesh.animation_data.action_slot = hslot
        if old is not None:
            bpy.data.actions.remove(old)
        fig.mesh.hide_render = fig.armature.hide_render = False
        fig.mesh.hide_viewport = fig.armature.hide_viewport = False

    # ----------------------------------------------------------------- output
    def posed_joints(self, fig: Figure, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Heads and tails (B, 3) of the posed bones at ``frame``, read back from Blender."""
        self.scene.frame_set(frame)
        pbs = [fig.armature.pose.bones[n] for n in BONE_NAMES]
        mw = np.array(fig.armature.matrix_world)
        heads = np.array([mw[:3, :3] @ np.array(pb.head) + mw[:3, 3] for pb in pbs])
        tails = np.array([mw[:3, :3] @ np.array(pb.tail) + mw[:3, 3] for pb in pbs])
        return heads, tails

    def render_frames(self, out_dir: Path, n_frames: int, progress=None) -> list[Path]:
        """Render frames 1..n_frames to ``out_dir/000001.png``... and return their paths.

        The ``render_stats`` callback does nothing itself: it is a point where Python runs,
        so that a Ctrl-C or SIGTERM reaches :mod:`render.interrupt` during a long frame."""
        from render.interrupt import inside_blender

        bpy = self.bpy
        scene = self.scene
        scene.frame_start, scene.frame_end = 1, n_frames
        scene.render.filepath = str(Path(out_dir) / "######")

        def on_post(scene_, *_):
            if progress is not None:
                progress.update(1)

        def on_stats(*_):
            pass

        bpy.app.handlers.render_post.append(on_post)
        bpy.app.handlers.render_stats.append(on_stats)
        try:
            with inside_blender():
                result = bpy.ops.render.render(animation=True, write_still=False)
        except RuntimeError as err:
            raise BlenderError(f"Blender failed to render: {err}") from None
        finally:
            bpy.app.handlers.render_post.remove(on_post)
            bpy.app.handlers.render_stats.remove(on_stats)
        if "FINISHED" not in result:
            raise BlenderError(f"Blender's render returned {result}")
        paths = [Path(out_dir) / f"{i:06d}.png" for i in range(1, n_frames + 1)]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            _raise_if_disk_full(Path(out_dir))
            raise BlenderError(f"Blender did not write {len(missing)} of {n_frames} frames (first: {missing[0]})")
        return paths


def _raise_if_disk_full(directory: Path) -> None:
    """Blender only logs a failed PNG write; a full disk must still be called by its name."""
    import errno
    import shutil

    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return
    if free < 1 << 20:
        raise OSError(errno.ENOSPC, "No space left on device", str(directory))
