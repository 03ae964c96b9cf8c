"""One video in, one NTU-25 skeleton out: detection, gap filling, lifting, mapping, outputs.

:func:`extract` runs one clip in named steps:

1. :func:`open_inputs`: the pose estimator (``options.estimator``, MediaPipe by default;
   :mod:`pose_extract.estimator`), the video's container, the camera file (same image
   size), the body prior and refiner files, the renderer's record (``CLIP.render.json``)
   if any;
2. :func:`run_detector`: the estimator over the whole video (MediaPipe: one tracker,
   :mod:`pose_extract.detect`), then the decoded frame count checked against the
   container's and the record's (:mod:`pose_extract.integrity`);
3. :func:`prepare`: undo the estimator's mirrored readings with the facing decision
   (:mod:`pose_extract.facing`, with a confidence per frame), reject frames whose 2-D
   pose jumps away from its neighbours' (:mod:`pose_extract.temporal`), fill gaps of at
   most ``max_gap`` frames;
4. :func:`lift`: the estimator's world pose in Kinect axes, optionally resized (floor plane
   or body-size prior), placed by the least-squares root translation through the camera
   intrinsics (:mod:`pose_extract.lifting`), mapped to the 25 NTU joints (the estimator's
   mapping; MediaPipe's: :mod:`pose_extract.landmarks`), optionally refined, and taken into the skeleton's
   frame through the camera extrinsics;
5. :func:`summarise`: the clip's record; :func:`write_outputs` then writes ``CLIP.npy``
   (3, T, 25, 1), ``CLIP.landmarks.npz`` and ``CLIP.json``, each atomically, the ``.npy``
   last so its presence means the clip is done.

Frames that stay undetected after gap filling are zero in the skeleton (like a Kinect
frame without a body) and the clip is flagged in the summary.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ciasa.camera import Camera
from ciasa.cli import BadInput, WorkFailed
from ciasa.io import atomic_path, atomic_save_npy, atomic_write_json
from ciasa.video import VideoError, VideoInfo, iter_frames, probe
from pose_extract.estimator import DEFAULT_ESTIMATOR, Detections, PoseEstimator, get_estimator
from pose_extract.facing import decide_facing, mirror
from pose_extract.gaps import fill_gaps, runs
from pose_extract.integrity import check_frame_count
from pose_extract.landmarks import to_ntu
from pose_extract.lifting import (
    body_scale,
    floor_scale,
    onto_rays,
    reprojection_error,
    solve_translation,
)
from pose_extract.prior import BodyPrior, resolve_prior
from pose_extract.refine import Refiner, resolve_refiner
from pose_extract.temporal import JUMP_THRESHOLD, jump_frames

log = logging.getLogger(__name__)

SUMMARY_FORMAT = "pose-extract-summary/1"
# Height of MediaPipe's lowest sole landmark over the floor, fitted on renders of training
# clips against the floor the renderer draws and writes into the camera file (4 cm below
# the clip's lowest foot joint); see docs/pose_extract.md. Against another floor source
# (e.g. the synthetic set's own views.json, which sits ~8 cm higher) refit it.
SOLE_HEIGHT = 0.05


class NoPersonError(WorkFailed):
    """The video holds no usable detection: there is no skeleton to write."""


@dataclass
class ExtractOptions:
    """Settings of one extraction (every field is a CLI flag of the same name)."""

    max_gap: int = 10  # longest run of missed frames that is interpolated (frames)
    min_detection_rate: float = 0.9  # below this the clip is flagged
    # body-size prior ('default', 'none' or a prior JSON): off by default, because on renders
    # of real motion it moved the root ~0.5 m too far (docs/pose_extract.md)
    body_prior: str | Path | BodyPrior | None = "none"
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    smooth: bool = True  # MediaPipe's own temporal landmark filter
    redetect: bool = True  # a missed frame is tried again on an enlarged crop (pose_extract.detect)
    # facing decision (pose_extract.facing): 'sequence' (default: two-state model that trusts
    # MediaPipe's reading and undoes its short flips), 'continuity' (the earlier rule, which
    # follows real turns into the mirror image), 'turn' (mirror every frame read as turned
    # more than max_turn_deg) or 'off'
    facing: str = "sequence"
    max_turn_deg: float | None = 90.0  # for facing='turn' only; None turns that rule off
    max_jump: float | None = JUMP_THRESHOLD  # torso lengths (pose_extract.temporal); None turns it off
    rules: dict[str, float] = field(default_factory=dict)  # mapping rule overrides
    # A calibrated floor (a, b, c, d) in skeleton space fixes the body's size (and so its
    # depth) better than any body prior. 'auto': the camera file's extra["floor_plane"]
    # if it has one; 'off' (default): never; or the four numbers. Off by default because
    # the renderer places its floor from the source skeleton: using it unasked would
    # feed ground truth into the depth.
    floor_plane: str | tuple[float, float, float, float] = "off"
    sole_height: float = SOLE_HEIGHT  # metres between the floor and MediaPipe's lowest sole landmark
    rays: bool = True  # x, y from the 2-D landmarks' rays, depth from the 3-D pose
    # learned pose correction (pose_extract.refine): 'default' (packaged, fitted on renders of
    # synthetic training clips), 'none', or a refiner file. Off by default: on renders of
    # real motion it made the pose worse (docs/pose_extract.md)
    refiner: str | Path | Refiner | None = "none"
    # the pose estimator (pose_extract.estimator; a module of pose_extract/estimators); its
    # detector honours min_detection_confidence, min_tracking_confidence, smooth and redetect
    estimator: str = DEFAULT_ESTIMATOR


@dataclass
class Extraction:
    skeleton: np.ndarray  # (3, T, 25, 1) float32, skeleton (Kinect) space
    detections: Detections  # raw estimator output (L landmarks; MediaPipe: 33)
    image: np.ndarray  # (T, L, 2) after the facing prior and gap filling
    image_z: np.ndarray  # (T, L) after the facing prior (not gap filled)
    presence: np.ndarray  # (T, L) after the facing prior (not gap filled)
    world: np.ndarray  # (T, L, 3) the estimator's axes, after the facing prior and gap filling
    visibility: np.ndarray  # (T, L) after the facing prior and gap filling
    mirrored: np.ndarray  # (T,) bool: back-view readings undone by the facing prior
    rejected: np.ndarray  # (T,) bool: detections rejected as jumps (then filled when the gap is short)
    filled: np.ndarray  # (T,) bool
    valid: np.ndarray  # (T,) bool: detected or filled
    translation: np.ndarray  # (T, 3) root translation in the camera frame
    scale: float
    summary: dict
    # (T,) probability that the facing decision of each frame is right (NaN: no detection, or
    # a facing method without a model); added after the fields above, so positional use stands
    facing_confidence: np.ndarray | None = None
    landmark_names: tuple[str, ...] | None = None  # the estimator's (None: MediaPipe's)


# Frames whose facing decision is less certain than this are listed in CLIP.json.
LOW_FACING_CONFIDENCE = 0.9


def output_paths(out: str | Path) -> dict[str, Path]:
    """The three files written for ``out`` = ``CLIP.npy``."""
    out = Path(out)
    if out.suffix != ".npy":
        raise BadInput(f"{out}: the output must be a .npy path")
    return {"skeleton": out, "landmarks": out.with_suffix(".landmarks.npz"), "summary": out.with_suffix(".json")}


def side_file(video: str | Path, suffix: str) -> Path:
    """``CLIP.mp4`` -> ``CLIP<suffix>`` (e.g. '.camera.json'), the renderer's naming."""
    video = Path(video)
    return video.with_name(video.stem + suffix)


def load_camera_for(video: str | Path, camera: str | Path | Camera | None) -> Camera:
    if isinstance(camera, Camera):
        return camera
    path = Path(camera) if camera is not None else side_file(video, ".camera.json")
    if camera is None and not path.is_file():
        raise FileNotFoundError(f"{video}: no --camera given and no {path.name} beside the video")
    return Camera.load(path)


def expected_frames(video: str | Path) -> int | None:
    """Frame count promised by the renderer's ``CLIP.render.json``, if there is one."""
    path = side_file(video, ".render.json")
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise VideoError(f"{path}: render record is not valid JSON: {err}") from None
    for key in ("frames", "frames_rendered", "num_frames"):
        value = record.get(key)
        if isinstance(value, int):
            return value
    return None


def floor_plane_for(camera: Camera, spec: str | tuple[float, ...] | None) -> np.ndarray | None:
    """The floor plane to use: explicit numbers, the camera file's (``'auto'``) or none."""
    if spec is None or (isinstance(spec, str) and spec == "off"):
        return None
    if isinstance(spec, str):
        if spec != "auto":
            raise BadInput(f"floor_plane must be 'auto', 'off' or four numbers, got {spec!r}")
        spec = camera.extra.get("floor_plane")
        if spec is None and "floor_normal" in camera.extra:  # n . X = d, as the synthetic set writes it
            spec = (*camera.extra["floor_normal"], -float(camera.extra["floor_offset"]))
        if spec is None:
            return None
    plane = np.asarray(spec, dtype=np.float64)
    if plane.shape != (4,):
        raise BadInput(f"floor plane must be four numbers (a, b, c, d), got {spec!r}")
    return plane


class Lifted(NamedTuple):
    joints: np.ndarray  # (T, 25, 3) skeleton space
    translation: np.ndarray  # (T, 3) root (hip midpoint) in the camera frame
    scale: float  # factor applied to the estimator's body
    reprojection_px: np.ndarray  # (T,) visibility-weighted mean pixel error
    scale_source: str  # 'floor', 'body_prior' or the estimator's name (its own size: 'mediapipe')
    on_rays: np.ndarray  # (T, L, 3) camera-frame landmarks on their pixels' rays
    pose_points: np.ndarray  # (T, L, 3) camera-frame landmarks as the estimator's 3-D pose places them


def lift(
    image: np.ndarray,
    world: np.ndarray,
    visibility: np.ndarray,
    valid: np.ndarray,
    camera: Camera,
    prior: BodyPrior | None,
    rules: dict[str, float] | None = None,
    floor: np.ndarray | None = None,
    sole_height: float = SOLE_HEIGHT,
    rays: bool = True,
    refiner: Refiner | None = None,
    estimator: PoseEstimator | str | None = None,
) -> Lifted:
    """Landmarks of T frames of ``estimator`` (default MediaPipe) -> NTU joints (T, 25, 3)
    in skeleton space.

    The body's scale comes from the ``floor`` plane when one is given (and usable), else
    from the body-size ``prior``, else it is the estimator's own (1; only a metric world
    pose has one). With ``rays`` each
    landmark then keeps only its depth from the estimator's 3-D pose and takes its image
    position from the 2-D landmark (:func:`~pose_extract.lifting.onto_rays`); the
    reported reprojection error is the 3-D pose's before that. A ``refiner``
    (:mod:`pose_extract.refine`) then corrects the joints relative to the spine base.
    Invalid frames are zero.
    """
    est = get_estimator(estimator)
    layout = est.layout
    matrix = est.ntu_matrix(rules)
    world_k = layout.to_kinect(world)
    weights = np.clip(visibility, 0.05, 1.0)
    t1 = np.zeros((len(valid), 3))
    t1[valid] = solve_translation(world_k[valid], image[valid], camera, weights[valid])
    scale, source = 1.0, est.name
    if floor is not None:
        scale, used = floor_scale(world_k + t1[:, None, :], valid, camera, floor, sole_height, layout)
        source = "floor"
        if used == 0:
            log.warning("no frame shows a foot below the camera: floor plane unusable, falling back")
    if floor is None or not np.isfinite(scale):
        scale, source = 1.0, est.name
        if prior is not None:
            scale, source = body_scale(to_ntu(world_k, matrix), prior.lengths, valid), "body_prior"
        elif not est.metric_world:
            raise WorkFailed(
                f"estimator {est.name!r} gives no metric body size and no usable floor plane or body "
                "prior was given: the depth is unknown"
            )
    # Scaling the world pose scales its least-squares translation alike (same pixels).
    cam_points = scale * (world_k + t1[:, None, :])
    t = scale * t1
    reproj = np.zeros(len(valid))
    if valid.any():
        err = reprojection_error(cam_points[valid], image[valid], camera)
        reproj[valid] = (err * weights[valid]).sum(axis=1) / weights[valid].sum(axis=1)
    on_rays = onto_rays(cam_points, image, camera)
    ntu = to_ntu(on_rays if rays else cam_points, matrix)
    if refiner is not None and valid.any():
        ntu[valid] = refiner.apply(ntu[valid], on_rays[valid], cam_points[valid], visibility[valid], layout)
    joints = camera.from_camera(ntu)
    joints[~valid] = 0.0
    return Lifted(joints, t, scale, reproj, source, on_rays, cam_points)


def prepare(det: Detections, options: ExtractOptions) -> dict[str, np.ndarray]:
    """The estimator's raw output -> the landmarks that get lifted: back-view readings undone
    (facing prior), jumps rejected (after the facing prior, so that a frame it left
    unconverted among converted neighbours stands out), short gaps filled. Returns
    image, image_z, world, visibility, presence and the frame masks mirrored, rejected,
    filled, valid (kept detections or filled), and the facing decision's confidence (T,)."""
    layout = get_estimator(options.estimator).layout
    mirrored, facing_confidence = decide_facing(
        det.world, det.detected, options.facing, options.max_turn_deg, layout=layout
    )
    image, image_z, world, visibility, presence = mirror(
        mirrored, det.image, det.image_z, det.world, det.visibility, det.presence, layout=layout
    )
    rejected = jump_frames(image, det.detected, options.max_jump, layout=layout)
    kept = det.detected & ~rejected
    image, filled = fill_gaps(image, kept, options.max_gap)
    world, _ = fill_gaps(world, kept, options.max_gap)
    visibility, _ = fill_gaps(visibility, kept, options.max_gap)
    return {
        "image": image,
        "image_z": image_z,
        "world": world,
        "visibility": visibility,
        "presence": presence,
        "mirrored": mirrored,
        "rejected": rejected,
        "filled": filled,
        "valid": kept | filled,
        "facing_confidence": facing_confidence,
    }


def extract(
    video: str | Path,
    camera: str | Path | Camera | None = None,
    options: ExtractOptions | None = None,
    progress: bool = True,
) -> Extraction:
    """Extract the NTU-25 skeleton of the person in ``video`` (see the module docstring).

    Raises :class:`VideoError` for a missing, unreadable, truncated or inconsistent video,
    ``ValueError``/``FileNotFoundError`` for a bad camera file and
    :class:`NoPersonError` when the estimator finds nobody in any frame.
    """
    options = options or ExtractOptions()
    video = Path(video)
    start = time.perf_counter()
    inputs = open_inputs(video, camera, options)
    det = run_detector(video, inputs, options, progress)
    p = prepare(det, options)
    floor = floor_plane_for(inputs.camera, options.floor_plane)
    lifted = lift(
        p["image"],
        p["world"],
        p["visibility"],
        p["valid"],
        inputs.camera,
        inputs.prior,
        options.rules,
        floor,
        options.sole_height,
        options.rays,
        inputs.refiner,
        inputs.estimator,
    )
    skeleton = np.ascontiguousarray(np.transpose(lifted.joints, (2, 0, 1))[..., None], dtype=np.float32)
    summary = summarise(video, inputs, det, p, lifted, floor, options, time.perf_counter() - start)
    if summary["flagged"]:
        log.warning("%s flagged: %s", video, summary["reason"])
    return Extraction(
        skeleton,
        det,
        p["image"],
        p["image_z"],
        p["presence"],
        p["world"],
        p["visibility"],
        p["mirrored"],
        p["rejected"],
        p["filled"],
        p["valid"],
        lifted.translation,
        lifted.scale,
        summary,
        p["facing_confidence"],
        inputs.estimator.layout.names,
    )


class Inputs(NamedTuple):
    """What one extraction reads besides the frames, checked before the estimator starts."""

    info: VideoInfo
    camera: Camera
    prior: BodyPrior | None
    refiner: Refiner | None
    promised: int | None  # frame count of the renderer's record, if any
    estimator: PoseEstimator


def open_inputs(video: Path, camera: str | Path | Camera | None, options: ExtractOptions) -> Inputs:
    """Step 1: the estimator, the video's container, the camera (same image size), the prior
    and refiner files (fit for the estimator), and the renderer's promised frame count;
    every problem names its file or option."""
    estimator = get_estimator(options.estimator)
    info = probe(video)
    cam = load_camera_for(video, camera)
    if (cam.width, cam.height) != (info.width, info.height):
        raise VideoError(
            f"{video}: the video is {info.width}x{info.height} but the camera "
            f"({camera if not isinstance(camera, Camera) else 'given'}) is {cam.width}x{cam.height}: "
            "wrong camera file for this video?"
        )
    if info.fps > 0 and abs(info.fps - cam.fps) > 0.01 * cam.fps:
        log.warning("%s: video runs at %.3f fps, the camera file says %.3f", video, info.fps, cam.fps)
    promised = expected_frames(video)
    if promised is not None and info.frame_count > 0 and info.frame_count != promised:
        raise VideoError(
            f"{video}: the video holds {info.frame_count} frames but {side_file(video, '.render.json').name} "
            f"records {promised}: truncated or mismatched video"
        )
    prior, refiner = resolve_prior(options.body_prior), resolve_refiner(options.refiner)
    if refiner is not None:
        refiner.check_estimator(estimator)
    if not estimator.metric_world and prior is None and options.floor_plane == "off":
        raise BadInput(
            f"estimator {estimator.name!r} gives its 3-D pose only up to scale: give a body-size prior "
            "(--body-prior default or a prior file) or a floor plane (--floor-plane) to set the "
            "depth"
        )
    return Inputs(info, cam, prior, refiner, promised, estimator)


def run_detector(video: Path, inputs: Inputs, options: ExtractOptions, progress: bool) -> Detections:
    """Step 2: the estimator over every decoded frame, then the decoded count checked against
    the container and the renderer's record (a cut file must not pass as a short clip)."""
    from tqdm import tqdm

    bar = tqdm(total=inputs.info.frame_count or None, desc=video.name, unit="frame", disable=not progress, leave=False)
    try:
        det = inputs.estimator.estimate(iter_frames(video), options, progress=bar.update)
    finally:
        bar.close()
    det.check(inputs.estimator)
    check_frame_count(video, det.frames, inputs.info, inputs.promised, side_file(video, ".render.json").name)
    if not det.detected.any():
        raise NoPersonError(f"{video}: {inputs.estimator.title} found no person in any of its {det.frames} frames")
    return det


def summarise(
    video: Path,
    inputs: Inputs,
    det: Detections,
    p: dict[str, np.ndarray],
    lifted: Lifted,
    floor: np.ndarray | None,
    options: ExtractOptions,
    seconds: float,
) -> dict:
    """Step 5: the clip's record (``CLIP.json``): counts, masks, flag and its reasons, options."""
    frames, detected = det.frames, int(det.detected.sum())
    rate = detected / frames
    valid, filled = p["valid"], p["filled"]
    missing = ~valid
    reasons = []
    if rate < options.min_detection_rate:
        reasons.append(f"detection rate {rate:.1%} below {options.min_detection_rate:.0%}")
    if missing.any():
        gaps = [f"{a}-{b - 1}" for a, b in runs(missing)]
        reasons.append(
            f"{int(missing.sum())} frames without a pose (zero) in gaps longer than {options.max_gap}: "
            f"{', '.join(gaps)}"
        )
    prior, refiner = inputs.prior, inputs.refiner
    return {
        "format": SUMMARY_FORMAT,
        "video": str(video),
        "frames": frames,
        "detected": detected,
        "detection_rate": round(rate, 4),
        "redetected_frames": int(det.redetected.sum()),
        "filled_frames": int(filled.sum()),
        "filled": np.flatnonzero(filled).tolist(),
        "missing_frames": int(missing.sum()),
        "mirrored_frames": int(p["mirrored"].sum()),
        **facing_record(p["facing_confidence"]),
        "rejected_frames": int(p["rejected"].sum()),
        "rejected": np.flatnonzero(p["rejected"]).tolist(),
        "flagged": bool(reasons),
        "reason": "; ".join(reasons) or None,
        "seconds": round(seconds, 3),
        "detector_seconds": round(det.seconds, 3),
        "fps": round(frames / seconds, 2),
        "video_fps": inputs.info.fps,
        "size": [inputs.info.width, inputs.info.height],
        "body_scale": round(lifted.scale, 4),
        "scale_source": lifted.scale_source,
        "body_prior": None if prior is None else prior.source,
        "floor_plane": None if floor is None else floor.tolist(),
        "refiner": None if refiner is None else refiner.source,
        "root_depth_median_m": round(float(np.median(lifted.translation[valid, 2])), 4),
        "reprojection_px_median": round(float(np.median(lifted.reprojection_px[valid])), 3),
        "options": options_record(options),
    }


def facing_record(confidence: np.ndarray) -> dict:
    """The facing decision's confidence for ``CLIP.json``: per frame (null where there was no
    detection or the method has no model), its minimum and the frames below
    :data:`LOW_FACING_CONFIDENCE`."""
    c = np.asarray(confidence, dtype=np.float64)
    known = np.isfinite(c)
    low = known & (c < LOW_FACING_CONFIDENCE)
    return {
        "facing_confidence": [round(float(v), 3) if k else None for v, k in zip(c, known)],
        "facing_confidence_min": round(float(c[known].min()), 3) if known.any() else None,
        "facing_low_confidence_frames": int(low.sum()),
        "facing_low_confidence": np.flatnonzero(low).tolist(),
    }


def options_record(options: ExtractOptions) -> dict:
    """The options as JSON values (a prior or refiner object by its source)."""
    return {
        k: (v.source if isinstance(v, (BodyPrior, Refiner)) else str(v) if isinstance(v, Path) else v)
        for k, v in vars(options).items()
    }


def write_outputs(extraction: Extraction, out: str | Path) -> dict[str, Path]:
    """Write ``CLIP.landmarks.npz``, ``CLIP.json`` and finally ``CLIP.npy``, each atomically."""
    paths = output_paths(out)
    det = extraction.detections
    with atomic_path(paths["landmarks"], suffix=".npz") as tmp:
        np.savez_compressed(
            tmp,
            names=np.array(extraction.landmark_names or get_estimator(DEFAULT_ESTIMATOR).layout.names),
            image=extraction.image.astype(np.float32),
            image_z=extraction.image_z.astype(np.float32),
            world=extraction.world.astype(np.float32),
            visibility=extraction.visibility.astype(np.float32),
            presence=extraction.presence.astype(np.float32),
            detected=det.detected,
            redetected=det.redetected,
            mirrored=extraction.mirrored,
            facing_confidence=(
                np.full(len(det.detected), np.nan)
                if extraction.facing_confidence is None
                else extraction.facing_confidence
            ).astype(np.float32),
            rejected=extraction.rejected,
            filled=extraction.filled,
            translation=extraction.translation.astype(np.float32),
            scale=np.float32(extraction.scale),
        )
    atomic_write_json(paths["summary"], {**extraction.summary, "outputs": {k: str(v) for k, v in paths.items()}})
    atomic_save_npy(paths["skeleton"], extraction.skeleton)
    return paths
