"""Render one skeleton clip to a video: input checks, framing, scene, figures, encoding.

:class:`Renderer` holds one Blender session; call :meth:`Renderer.render` once per clip
(batch mode calls it many times, reusing the built bodies).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ciasa.camera import Camera
from ciasa.cli import BadInput
from ciasa.io import atomic_path, atomic_write_json
from render.retarget import LAYOUT, J, assemble_joints, blender_to_kinect, joint_error, retarget, subject_size
from render.scene_params import scene_params, seed_from_name

log = logging.getLogger(__name__)

BODIES = ("default", "makehuman")
RENDER_FORMAT = "ciasa-render/1"
# Extra room the mesh needs around its joints when checking the framing (metres):
# the crown of the head sits ~12 cm above Kinect's head joint, soles ~5 cm below the feet.
_HEAD_TOP = 0.13
_MAX_AUTO_HFOV = 120.0


class RenderInputError(BadInput):
    """The skeleton cannot be rendered (bad file, shape, values)."""


@dataclass
class RenderOptions:
    """What to render with. ``quality`` picks body, engine and dressing (``None`` fields take
    the preset's value); ``camera`` picks image size and field of view (explicit ``width``,
    ``height``, ``hfov`` override the default camera)."""

    quality: str = "draft"
    camera: str = "default"
    body: str | None = None
    engine: str | None = None
    width: int | None = None
    height: int | None = None
    hfov: float | None = None
    fps: float = 30.0
    adapt_fov: bool = False
    cycles_samples: int | None = None
    cycles_denoise: bool = True
    device: str = "auto"
    crf: int = 18
    # None: the preset's (draft OFF, standard FXAA; docs/render.md, "Anti-aliasing")
    workbench_aa: str | None = None
    threads: int | None = None
    textures: Path | None = None  # a folder of detail maps replacing render/assets/textures

    def __post_init__(self) -> None:
        from render.blender import DEVICES, ENGINES
        from render.quality import camera_size, quality

        preset = quality(self.quality)
        self.body = self.body or preset.body
        self.engine = self.engine or preset.engine
        self.workbench_aa = self.workbench_aa or preset.workbench_aa
        self.cycles_samples = self.cycles_samples or preset.cycles_samples
        self.width, self.height, self.hfov = camera_size(self.camera, self.width, self.height, self.hfov)
        if self.body not in BODIES:
            raise BadInput(f"unknown body {self.body!r} (known: {', '.join(BODIES)})")
        if self.engine not in ENGINES:
            raise BadInput(f"unknown engine {self.engine!r} (known: {', '.join(ENGINES)})")
        if self.device not in DEVICES:
            raise BadInput(f"unknown device {self.device!r} (known: {', '.join(DEVICES)})")
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise BadInput(
                f"resolution must be even and at least 16x16 (H.264 yuv420p), got {self.width}x{self.height}"
            )
        if not 1.0 < self.hfov < 179.0:
            raise BadInput(f"--hfov must lie in (1, 179) degrees, got {self.hfov}")
        if not (self.fps > 0 and math.isfinite(self.fps)):
            raise BadInput(f"--fps must be positive, got {self.fps}")
        if self.cycles_samples < 1:
            raise BadInput(f"--cycles-samples must be >= 1, got {self.cycles_samples}")
        if self.threads is not None and self.threads < 1:
            raise BadInput(f"--threads must be >= 1, got {self.threads}")
        if self.textures is not None and not Path(self.textures).is_dir():
            raise FileNotFoundError(f"{self.textures}: texture folder not found")

    def session_settings(self):
        from render.blender import SessionSettings
        from render.quality import quality

        preset = quality(self.quality)
        return SessionSettings(
            engine=self.engine,
            width=self.width,
            height=self.height,
            cycles_samples=self.cycles_samples,
            cycles_denoise=self.cycles_denoise,
            device=self.device,
            workbench_aa=self.workbench_aa,
            textured=preset.textured,
            light_rig=preset.light_rig and self.engine != "workbench",
            threads=self.threads,
        )


def parse_resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise BadInput(f"resolution must look like 480x360, got {text!r}") from None
    return w, h


def load_skeleton(path: str | Path) -> np.ndarray:
    """Read a ``(3, T, 25, M)`` clip (.npy); errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise RenderInputError(f"{path}: skeleton file not found")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise RenderInputError(f"{path}: not a readable .npy array: {err}") from None
    return check_clip(arr, str(path))


def check_clip(arr: np.ndarray, source: str = "<array>") -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 3:  # a single body (3, T, 25)
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[0] != 3 or arr.shape[2] != LAYOUT.num_joints:
        raise RenderInputError(
            f"{source}: expected an NTU clip of shape (3, T, {LAYOUT.num_joints}, M) "
            f"(x, y, z in metres, Kinect camera space), got {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise RenderInputError(f"{source}: expected numbers, got dtype {arr.dtype}")
    if arr.shape[1] == 0 or arr.shape[3] == 0:
        raise RenderInputError(f"{source}: empty sequence (shape {arr.shape})")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        t = np.nonzero(bad.any(axis=(0, 2, 3)))[0]
        raise RenderInputError(f"{source}: {int(bad.sum())} NaN/inf values (first in frame {int(t[0])})")
    return arr


def trim_padding(clip: np.ndarray) -> tuple[np.ndarray, int]:
    """Drop the trailing all-zero frames (NTU pads every clip to 300 frames)."""
    nonzero = np.nonzero(np.any(clip != 0.0, axis=(0, 2, 3)))[0]
    if len(nonzero) == 0:
        return clip[:, :0], clip.shape[1]
    end = int(nonzero[-1]) + 1
    return clip[:, :end], clip.shape[1] - end


def fill_missing_joints(clip: np.ndarray) -> tuple[np.ndarray, int]:
    """Joints at exactly (0, 0, 0) inside a tracked body (a tracker's dropout) take the same
    joint's value from the nearest frame that has it, or else their parent's position."""
    clip = clip.copy()
    filled = 0
    for m in range(clip.shape[3]):
        body = clip[..., m]  # (3, T, V)
        present = np.any(body != 0.0, axis=(0, 2))
        missing = np.all(body == 0.0, axis=0) & present[:, None]  # (T, V)
        if not missing.any():
            continue
        for v in np.nonzero(missing.any(axis=0))[0]:
            have = np.nonzero(present & ~missing[:, v])[0]
            for t in np.nonzero(missing[:, v])[0]:
                if len(have):
                    src = have[np.argmin(np.abs(have - t))]
                    body[:, t, v] = body[:, src, v]
                filled += 1
        for v in [j for level in LAYOUT.tree_levels[1:] for j in level]:  # parents first
            still = np.all(body[:, :, v] == 0.0, axis=0) & present
            body[:, still, v] = body[:, still, LAYOUT.parents[v]]
    return clip, filled


def _framing_points(clip: np.ndarray, present: np.ndarray, bodies: list[int]) -> np.ndarray:
    """Every tracked joint plus the crown of each head (N, 3), Kinect space."""
    pts = [clip[..., m][:, present[:, m]].transpose(1, 2, 0).reshape(-1, 3) for m in bodies]
    crowns = [clip[..., m][:, present[:, m], J["head"]].T + [0.0, _HEAD_TOP, 0.0] for m in bodies]
    return np.concatenate(pts + crowns)


def _outside(camera: Camera, points: np.ndarray) -> np.ndarray:
    uv = camera.project(points)
    return ~((uv[:, 0] >= 0) & (uv[:, 0] <= camera.width) & (uv[:, 1] >= 0) & (uv[:, 1] <= camera.height))


def required_hfov(points: np.ndarray, width: int, height: int) -> float:
    """Smallest horizontal FOV (degrees) that keeps Kinect-space ``points`` (N, 3) in the image."""
    z = points[:, 2]
    tx = np.max(np.abs(points[:, 0] / z))
    ty = np.max(np.abs(points[:, 1] / z)) * width / height
    return math.degrees(2.0 * math.atan(max(tx, ty)))


@dataclass
class ClipReport:
    """What render.json holds."""

    format: str = RENDER_FORMAT
    source: str = ""
    video: str = ""
    frames_rendered: int = 0
    frames_input: int = 0
    trimmed_padding_frames: int = 0
    hidden_frames: list[int] = field(default_factory=list)
    bodies: int = 0
    quality: str = "draft"
    camera: str = "default"
    body: str = "default"
    engine: str = "workbench"
    width: int = 0
    height: int = 0
    fps: float = 30.0
    hfov_deg: float = 70.0
    seed: int = 0
    scene_id: str | None = None
    scene: dict = field(default_factory=dict)
    retarget_error_mm: dict = field(default_factory=dict)
    blender_joint_error_mm: float | None = None
    out_of_frame_fraction: float = 0.0
    warnings: list[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


def _body_factory(body: str, appearance):
    """(cache key, builder) of the body for one appearance: the default body is one mesh
    for everyone, MakeHuman bodies differ by gender and shape."""
    if body == "default":
        from render.body_default import build_default_body

        return ("default",), build_default_body
    import functools

    from render.body_makehuman import build_makehuman_body

    return ("makehuman", appearance.gender, appearance.makehuman_shape), functools.partial(
        build_makehuman_body, shape=appearance.makehuman_shape, gender=appearance.gender
    )


@dataclass
class _Prepared:
    """A checked clip and what the scene is laid out from (the reference clip's geometry
    when one is given, so the clean and perturbed renders share floor, walls and girth)."""

    clip: np.ndarray  # (3, T, 25, M), trimmed and filled
    frames_input: int
    trimmed: int
    filled: int
    bodies: list[int]
    present: np.ndarray  # (T, M)
    geo: np.ndarray
    geo_present: np.ndarray
    geo_bodies: list[int]
    has_reference: bool

    @property
    def n_frames(self) -> int:
        return self.clip.shape[1]


@dataclass
class _Posed:
    body: int
    figure: object
    motion: object
    joints: np.ndarray  # (T, 25, 3)


class Renderer:
    """A Blender session that renders clips one after another."""

    def __init__(self, options: RenderOptions | None = None, progress: bool | None = None):
        self.options = options or RenderOptions()
        self.progress = progress  # None: tqdm decides (a terminal shows a bar)
        if self.options.threads:
            # Mesa's software GL (Workbench, EEVEE) reads its thread count when it loads.
            os.environ["LP_NUM_THREADS"] = str(self.options.threads)
        from render.blender import BlenderSession
        from render.stdio import quiet_stdout

        t0 = time.perf_counter()
        with quiet_stdout():
            self.session = BlenderSession(self.options.session_settings())
        self.startup_s = time.perf_counter() - t0
        self._startup_reported = False

    def render(
        self,
        clip: np.ndarray,
        out: str | Path,
        *,
        seed: int | None = None,
        scene_id: str | None = None,
        frames_dir: str | Path | None = None,
        source: str = "<array>",
        verify_frames: int = 3,
        reference: np.ndarray | None = None,
    ) -> ClipReport:
        """Render ``clip`` (3, T, 25, M) to ``out`` (.mp4) plus ``.camera.json`` and ``.render.json``.

        ``reference`` (the clean version of a perturbed clip) fixes the floor height, the
        back wall and the figures' girth, so that the clean and the perturbed render of
        one clip differ only where the skeletons differ.
        """
        t_start = time.perf_counter()
        out = Path(out)
        if out.suffix.lower() != ".mp4":
            raise RenderInputError(f"{out}: the output must be an .mp4 file")
        prep = self._prepare(clip, source, reference)
        report = self._new_report(prep, out, source, seed, scene_id)
        camera = self._frame(prep, report, source)
        camera = self._set_stage(prep, report, camera)
        t0 = time.perf_counter()
        posed = self._pose_figures(prep, report)
        self._verify_pose(posed, report, verify_frames)
        report.seconds["retarget_s"] = time.perf_counter() - t0
        self._render_video(out, camera, prep.n_frames, frames_dir, report)
        report.seconds["total_s"] = time.perf_counter() - t_start
        report.seconds["per_frame_render_s"] = report.seconds["render_s"] / prep.n_frames
        report.seconds["per_frame_render_cpu_s"] = report.seconds["render_cpu_s"] / prep.n_frames
        report.seconds = {k: round(v, 4) for k, v in report.seconds.items()}
        for w in report.warnings:
            log.warning("%s: %s", out.name, w)
        atomic_write_json(out.with_suffix(".render.json"), asdict(report))
        return report

    # ------------------------------------------------------------- the steps
    @staticmethod
    def _prepare(clip: np.ndarray, source: str, reference: np.ndarray | None) -> _Prepared:
        """Check the clip, drop NTU's padding, fill tracker dropouts; find the bodies."""
        clip = check_clip(clip, source)
        frames_input = clip.shape[1]
        clip, trimmed = trim_padding(clip)
        if clip.shape[1] == 0:
            raise RenderInputError(f"{source}: empty sequence: all {frames_input} frames are zero")
        clip, filled = fill_missing_joints(clip)
        bodies = [m for m in range(clip.shape[3]) if np.any(clip[..., m] != 0.0)]
        present = np.zeros((clip.shape[1], clip.shape[3]), dtype=bool)
        for m in bodies:
            present[:, m] = np.any(clip[..., m] != 0.0, axis=(0, 2))
        geo, geo_present, geo_bodies = clip, present, bodies
        if reference is not None:
            ref, _ = trim_padding(check_clip(reference, f"{source} (reference)"))
            ref, _ = fill_missing_joints(ref)
            if ref.shape[3] != clip.shape[3] or ref.shape[1] == 0:
                raise RenderInputError(
                    f"{source}: the reference clip has shape {ref.shape}, which does not match the clip's {clip.shape}"
                )
            ref_present = np.any(ref != 0.0, axis=(0, 2))  # (T, M)
            if ref_present.any():
                geo, geo_present = ref, ref_present
                geo_bodies = [m for m in range(ref.shape[3]) if ref_present[:, m].any()] or bodies
        return _Prepared(
            clip,
            frames_input,
            trimmed,
            filled,
            bodies,
            present,
            geo,
            geo_present,
            geo_bodies,
            reference is not None and geo is not clip,
        )

    def _new_report(
        self, prep: _Prepared, out: Path, source: str, seed: int | None, scene_id: str | None
    ) -> ClipReport:
        opt = self.options
        if scene_id is None and seed is None:
            scene_id = out.stem
        if seed is None:
            seed = seed_from_name(scene_id)
        report = ClipReport(
            source=source,
            video=str(out),
            frames_rendered=prep.n_frames,
            frames_input=prep.frames_input,
            trimmed_padding_frames=prep.trimmed,
            bodies=len(prep.bodies),
            quality=opt.quality,
            camera=opt.camera,
            body=opt.body,
            engine=opt.engine,
            width=opt.width,
            height=opt.height,
            fps=opt.fps,
            seed=int(seed),
            scene_id=scene_id,
        )
        if not self._startup_reported:  # the session's start-up belongs to its first clip
            report.seconds["startup_s"] = self.startup_s
            self._startup_reported = True
        report.hidden_frames = [int(t) for t in np.nonzero(~prep.present.any(axis=1))[0]]
        if report.hidden_frames:
            report.warnings.append(f"{len(report.hidden_frames)} frames without any tracked body: rendered empty")
        if prep.trimmed:
            log.info("%s: trimmed %d trailing zero frames", source, prep.trimmed)
        if prep.filled:
            report.warnings.append(
                f"{prep.filled} joint positions at (0, 0, 0) inside tracked bodies: "
                "taken from the nearest frame with that joint"
            )
        return report

    def _frame(self, prep: _Prepared, report: ClipReport, source: str) -> Camera:
        """The camera: the sensor's view, widened with --adapt-fov (to hold the reference's
        motion, so both renders of a clip keep one camera); warnings for joints outside."""
        opt = self.options
        check_pts = _framing_points(prep.clip, prep.present, prep.bodies)
        if np.any(check_pts[:, 2] <= 0.1):
            raise RenderInputError(
                f"{source}: joints at or behind the sensor (z <= 0.1 m): "
                "not Kinect camera space (x left, y up, z away, metres)?"
            )
        fit_pts = _framing_points(prep.geo, prep.geo_present, prep.geo_bodies) if prep.has_reference else check_pts
        hfov = opt.hfov
        if opt.adapt_fov and _outside(Camera.from_fov(opt.width, opt.height, hfov), fit_pts).any():
            hfov = min(required_hfov(fit_pts, opt.width, opt.height) * 1.03, _MAX_AUTO_HFOV)
            report.warnings.append(f"motion leaves the {opt.hfov:.1f} deg view: widened to {hfov:.1f} deg")
        camera = Camera.from_fov(opt.width, opt.height, hfov, fps=opt.fps)
        outside = _outside(camera, check_pts)
        if outside.any():
            report.out_of_frame_fraction = float(outside.mean())
            need = required_hfov(check_pts, opt.width, opt.height) * 1.03
            report.warnings.append(
                f"{outside.mean() * 100:.1f} % of joint positions fall outside the {hfov:.1f} deg view "
                f"(a {need:.1f} deg view would hold them{'' if opt.adapt_fov else '; pass --adapt-fov'})"
            )
        report.hfov_deg = hfov
        return camera

    def _set_stage(self, prep: _Prepared, report: ClipReport, camera: Camera) -> Camera:
        """Scene from the seed; floor 4 cm under the lowest foot, back wall 2 m behind the
        deepest joint, side walls clear of the motion, lights aimed at the subject. Returns
        the camera with the floor plane in it (like Kinect's FloorClipPlane)."""
        opt = self.options
        params = scene_params(report.seed, bodies=max(len(prep.bodies), 1))
        report.scene = params.to_json()
        geo, gp = prep.geo, prep.geo_present
        feet = [J["left_foot"], J["right_foot"], J["left_ankle"], J["right_ankle"]]
        floor_z = min(float(geo[1, :, feet, m][:, gp[:, m]].min()) for m in prep.geo_bodies) - 0.04
        max_depth = max(float(geo[2, :, :, m][gp[:, m]].max()) for m in prep.geo_bodies)
        side_x = max(float(np.abs(geo[0, :, :, m][gp[:, m]]).max()) for m in prep.geo_bodies) + 0.8
        centre_k = np.mean([geo[:, :, :, m][:, gp[:, m]].reshape(3, -1).mean(axis=1) for m in prep.geo_bodies], axis=0)
        centre = (-float(centre_k[0]), float(centre_k[2]), float(centre_k[1]))  # Kinect -> Blender
        camera = Camera(
            **{
                **asdict(camera),
                "extra": {
                    "renderer": "render",
                    "engine": opt.engine,
                    "body": opt.body,
                    "quality": opt.quality,
                    "camera_preset": opt.camera,
                    "floor_plane": [0.0, 1.0, 0.0, -floor_z],
                    "floor_normal": [0.0, 1.0, 0.0],
                    "floor_offset": floor_z,
                },
            }
        )
        self.session.set_camera(camera.fx, opt.width, opt.height)
        self.session.set_scene(
            params,
            floor_z=floor_z,
            wall_y=max(max_depth + 2.0, 4.5),
            fps=opt.fps,
            side_x=side_x,
            centre=centre,
            textures=opt.textures,
        )
        self._params = params
        return camera

    def _pose_figures(self, prep: _Prepared, report: ClipReport) -> list[_Posed]:
        """Build (once per session) and key one figure per body; report the retarget error."""
        from render.stdio import quiet_stdout

        sess = self.session
        used, posed, errors = set(), [], []
        for k, m in enumerate(prep.bodies):
            joints = prep.clip[..., m].transpose(1, 2, 0)  # (T, 25, 3)
            appearance = self._params.appearances[k]
            variant, factory = _body_factory(self.options.body, appearance)
            key = (*variant, k)
            with quiet_stdout():
                fig = sess.figure(key, factory)
            size = None
            if prep.has_reference and prep.geo_present[:, m].any():
                size = subject_size(prep.geo[..., m].transpose(1, 2, 0), fig.rest)
            motion = retarget(joints, fig.rest, build=appearance.build, size=size)
            report.warnings.extend(f"body {m}: {w}" for w in motion.warnings)
            sess.animate(fig, motion, appearance)
            used.add(key)
            posed.append(_Posed(m, fig, motion, joints))
            errors.append(joint_error(motion, joints))
        sess.hide_unused(used)
        report.retarget_error_mm = {
            "max": round(max(e["max_m"] for e in errors) * 1000, 4),
            "mean": round(float(np.mean([e["mean_m"] for e in errors])) * 1000, 4),
            "max_nonterminal": round(max(e["max_nonterminal_m"] for e in errors) * 1000, 4),
        }
        if report.retarget_error_mm["max"] > 1.0:
            report.warnings.append(
                f"posed joints differ from the input by up to {report.retarget_error_mm['max']:.1f} mm "
                "(bones whose input length left the drawable band around their median length)"
            )
        return posed

    def _verify_pose(self, posed: list[_Posed], report: ClipReport, frames: int) -> None:
        """Read the pose back from Blender on a few frames: the keyed armature must hit the input."""
        worst = 0.0
        for p in posed:
            tracked = np.nonzero(p.motion.present)[0]
            for t in tracked[np.linspace(0, len(tracked) - 1, min(frames, len(tracked))).astype(int)]:
                heads, tails = self.session.posed_joints(p.figure, int(t) + 1)
                err = np.linalg.norm(blender_to_kinect(assemble_joints(heads, tails)) - p.joints[t], axis=-1)
                worst = max(worst, float(err.max()))
        report.blender_joint_error_mm = round(worst * 1000, 4) if posed else None

    def _render_video(
        self, out: Path, camera: Camera, n_frames: int, frames_dir: str | Path | None, report: ClipReport
    ) -> None:
        """Frames to PNG (a hidden folder unless ``frames_dir``), then one H.264 encode; the
        video and the camera file appear only when both are complete."""
        from ciasa.video import encode_png_frames
        from render.interrupt import cleanup_on_interrupt
        from render.stdio import quiet_stdout
        from render.workdir import clean_stale_frames, make_frames_dir

        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError, PermissionError) as err:
            raise RenderInputError(f"{out}: cannot create its folder: {err}") from None
        clean_stale_frames(out.parent)
        keep = frames_dir is not None
        work = Path(frames_dir) if keep else make_frames_dir(out)
        work.mkdir(parents=True, exist_ok=True)
        for stale in work.glob("[0-9][0-9][0-9][0-9][0-9][0-9].png"):
            stale.unlink()
        remove = (lambda: None) if keep else (lambda: _remove_tree(work))
        t0, cpu0 = time.perf_counter(), time.process_time()
        try:
            from tqdm import tqdm

            with (
                cleanup_on_interrupt(remove),
                tqdm(
                    total=n_frames,
                    desc=f"render {out.stem}",
                    unit="frame",
                    leave=False,
                    disable=_tqdm_disable(self.progress),
                ) as bar,
                quiet_stdout(),
            ):
                self.session.render_frames(work, n_frames, progress=bar)
            report.seconds["render_s"] = time.perf_counter() - t0
            # CPU seconds of the whole process (all Blender threads): on a shared machine the
            # wall time says more about the neighbours than about the render.
            report.seconds["render_cpu_s"] = time.process_time() - cpu0
            t0 = time.perf_counter()
            with atomic_path(out) as tmp:
                encode_png_frames(work, tmp, self.options.fps, crf=self.options.crf)  # a full disk: OSError(ENOSPC)
                camera.save(out.with_suffix(".camera.json"))
            report.seconds["encode_s"] = time.perf_counter() - t0
        finally:
            remove()


def _remove_tree(path: Path) -> None:
    """Remove a frame folder, also while Blender may still write one more frame into it (an
    interrupt cleans up from another thread): retry until it is gone."""
    for _ in range(100):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.005)


def _tqdm_disable(progress: bool | None) -> bool | None:
    """``True``: a bar where tqdm can draw one (a terminal); ``False``: none."""
    return None if progress is None or progress else True


def render_clip(
    skeleton: str | Path | np.ndarray,
    out: str | Path,
    options: RenderOptions | None = None,
    *,
    seed: int | None = None,
    scene_id: str | None = None,
    frames_dir: str | Path | None = None,
    reference: str | Path | np.ndarray | None = None,
    progress: bool | None = None,
) -> ClipReport:
    """One clip, one Blender session: the Python form of ``python -m render``."""
    if isinstance(skeleton, (str, Path)):
        source = str(skeleton)
        clip = load_skeleton(skeleton)
    else:
        source, clip = "<array>", check_clip(skeleton)
    if isinstance(reference, (str, Path)):
        reference = load_skeleton(reference)
    renderer = Renderer(options, progress=progress)
    return renderer.render(
        clip, out, seed=seed, scene_id=scene_id, frames_dir=frames_dir, source=source, reference=reference
    )
