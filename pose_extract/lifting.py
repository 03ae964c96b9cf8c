"""Place MediaPipe's hip-centred metric pose in the camera's 3-D space.

MediaPipe gives two views of each landmark: a pixel position and a "world" position in
metres relative to the hip midpoint, in axes aligned with the camera (x to the image
right, y down, z away). Kinect camera space has x to the sensor's *left* and y up, so
the world pose in Kinect axes is ``(-x, -y, z)``. What is missing is where the hips
are: the translation ``t`` with ``camera_point = s * world + t`` that makes the world
pose project onto the pixels. Through a pinhole with known intrinsics each landmark
gives two equations that are *linear* in ``t`` (multiply the projection through by the
depth), so ``t`` has a closed-form least-squares solution; a few Gauss-Newton steps on
the true pixel residuals then remove the depth weighting that the linear form brings.

``s`` is the body-size correction. A single view cannot separate size from distance
(a body 5 % larger, 5 % further away, projects almost identically), so MediaPipe's
idea of the body's size decides the depth. :func:`body_scale` compares MediaPipe's
limb lengths with a prior (the expected limb lengths of the population the camera
films), once per clip, and rescales the world pose before the translation is solved.

Nothing here is MediaPipe's beyond its constants: another estimator's world pose comes
into Kinect axes through its layout's ``world_to_kinect`` (:mod:`pose_extract.estimator`).
"""

from __future__ import annotations

import numpy as np

from ciasa.camera import Camera
from ciasa.cli import BadInput
from ciasa.skeleton import NTU_RGBD
from pose_extract.estimator import LandmarkLayout, resolve_layout

# MediaPipe world axes (x right, y down, z away) -> Kinect axes (x left, y up, z away); MediaPipe's
# layout's ``world_to_kinect`` (pose_extract.estimators.mediapipe); another estimator's says its own.
MEDIAPIPE_TO_KINECT = np.array([-1.0, -1.0, 1.0])

# NTU segments whose length MediaPipe estimates well (both ends are joints it observes
# directly), used to compare its body with the body-size prior.
SIZE_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
)


def mediapipe_to_kinect(world: np.ndarray) -> np.ndarray:
    """MediaPipe world points (..., 3) in Kinect camera axes (same origin, metres)."""
    return np.asarray(world, dtype=np.float64) * MEDIAPIPE_TO_KINECT


def segment_lengths(joints: np.ndarray) -> np.ndarray:
    """Lengths (..., S) of :data:`SIZE_SEGMENTS` in NTU joints (..., 25, 3)."""
    a = [NTU_RGBD.index(x) for x, _ in SIZE_SEGMENTS]
    b = [NTU_RGBD.index(y) for _, y in SIZE_SEGMENTS]
    points = np.asarray(joints, dtype=np.float64)
    return np.linalg.norm(points[..., a, :] - points[..., b, :], axis=-1)


def body_scale(world: np.ndarray, prior_lengths: np.ndarray, detected: np.ndarray | None = None) -> float:
    """Factor that resizes MediaPipe's body (world pose mapped to NTU joints, (T, 25, 3))
    to the prior (:data:`SIZE_SEGMENTS` lengths, metres).

    The clip's body size is the per-segment median over the detected frames (one body
    per clip: its size does not change, MediaPipe's estimate of it does); the factor is
    the ratio of total lengths, prior over measured.
    """
    world = np.asarray(world, dtype=np.float64)
    frames = world if detected is None else world[np.asarray(detected, dtype=bool)]
    if len(frames) == 0:
        raise ValueError("body_scale needs at least one detected frame")
    measured = np.median(segment_lengths(frames), axis=0)
    prior = np.asarray(prior_lengths, dtype=np.float64)
    if prior.shape != measured.shape:
        raise ValueError(f"prior has {prior.shape} segment lengths, expected {measured.shape}")
    return float(prior.sum() / measured.sum())


def solve_translation(
    points: np.ndarray,
    pixels: np.ndarray,
    camera: Camera,
    weights: np.ndarray | None = None,
    iterations: int = 5,
) -> np.ndarray:
    """Translation(s) ``t`` (..., 3) with ``project(points + t) ~= pixels``, in camera axes.

    ``points`` (..., J, 3): the pose in camera-aligned Kinect axes relative to any origin;
    ``pixels`` (..., J, 2); ``weights`` (..., J), e.g. MediaPipe's visibility. Leading
    axes (frames) are solved independently. The camera's intrinsics are used; its
    extrinsics are not (the result is a camera-frame translation).
    """
    p = np.asarray(points, dtype=np.float64)
    uv = np.asarray(pixels, dtype=np.float64)
    w = np.ones(p.shape[:-1]) if weights is None else np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    if p.shape[:-1] != uv.shape[:-1] or p.shape[-1] != 3 or uv.shape[-1] != 2 or w.shape != p.shape[:-1]:
        raise ValueError(f"shape mismatch: points {p.shape}, pixels {uv.shape}, weights {w.shape}")
    fx, fy, cx, cy = camera.fx, camera.fy, camera.cx, camera.cy
    du, dv = uv[..., 0] - cx, uv[..., 1] - cy

    # Linear form: fx (x + tx) + du (z + tz) = 0 and fy (y + ty) + dv (z + tz) = 0.
    zeros = np.zeros_like(du)
    rows_u = np.stack([np.full_like(du, fx), zeros, du], axis=-1)
    rows_v = np.stack([zeros, np.full_like(dv, fy), dv], axis=-1)
    a = np.concatenate([rows_u, rows_v], axis=-2)  # (..., 2J, 3)
    b = np.concatenate([-(fx * p[..., 0] + du * p[..., 2]), -(fy * p[..., 1] + dv * p[..., 2])], axis=-1)
    sw = np.sqrt(np.concatenate([w, w], axis=-1))
    t = _weighted_lstsq(a, b, sw)

    # Gauss-Newton on pixel residuals; the linear form over-weights far landmarks.
    for _ in range(iterations):
        q = p + t[..., None, :]
        z = np.maximum(q[..., 2], 1e-3)
        ru = (cx - fx * q[..., 0] / z) - uv[..., 0]
        rv = (cy - fy * q[..., 1] / z) - uv[..., 1]
        ju = np.stack([-fx / z, zeros, fx * q[..., 0] / z**2], axis=-1)
        jv = np.stack([zeros, -fy / z, fy * q[..., 1] / z**2], axis=-1)
        jac = np.concatenate([ju, jv], axis=-2)
        res = np.concatenate([ru, rv], axis=-1)
        t = t - _weighted_lstsq(jac, res, sw)
    return t


def _weighted_lstsq(a: np.ndarray, b: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """Batched weighted least squares through the (3x3) normal equations, lightly damped so a
    frame with no usable landmark returns ~0 instead of raising."""
    aw = a * sw[..., None]
    bw = b * sw
    ata = np.einsum("...ki,...kj->...ij", aw, aw)
    atb = np.einsum("...ki,...k->...i", aw, bw)
    ata = ata + 1e-9 * np.trace(ata, axis1=-2, axis2=-1)[..., None, None] * np.eye(3) + 1e-12 * np.eye(3)
    return np.linalg.solve(ata, atb[..., None])[..., 0]


def reprojection_error(points: np.ndarray, pixels: np.ndarray, camera: Camera) -> np.ndarray:
    """Pixel distance (..., J) between camera-frame ``points`` projected and ``pixels``."""
    p = np.asarray(points, dtype=np.float64)
    z = p[..., 2]
    u = camera.cx - camera.fx * p[..., 0] / z
    v = camera.cy - camera.fy * p[..., 1] / z
    return np.hypot(u - pixels[..., 0], v - pixels[..., 1])


# BlazePose landmarks on the sole of the foot: the lowest of them rests on the floor
# (MediaPipe's layout's ``sole``).
SOLE_LANDMARKS: tuple[str, ...] = ("left_heel", "right_heel", "left_foot_index", "right_foot_index")


def floor_scale(
    points: np.ndarray,
    valid: np.ndarray,
    camera: Camera,
    plane: np.ndarray,
    sole_height: float,
    layout: LandmarkLayout | None = None,
) -> tuple[float, int]:
    """Body scale that puts the lowest sole landmark ``sole_height`` metres above a known floor.

    ``points`` (T, L, 3): landmarks of ``layout`` (default MediaPipe's; its ``sole``
    landmarks are the ones on the floor) lifted at scale 1, camera frame. Scaling the world
    pose by ``s`` scales its least-squares translation by ``s`` too (the pixels are
    unchanged), so the whole lifted pose scales about the camera centre and each frame
    gives the ``s`` at which its lowest sole point meets the floor. The clip's scale is
    the median over frames (robust to jumps). ``plane`` = (a, b, c, d), ``a x + b y +
    c z + d = 0`` in skeleton space with (a, b, c) pointing up, Kinect's
    ``FloorClipPlane`` convention. Returns (scale, frames used); (nan, 0) when no frame
    has a sole point below the camera's height (or the camera is not above the floor).
    """
    plane = np.asarray(plane, dtype=np.float64)
    if plane.shape != (4,) or not np.all(np.isfinite(plane)) or np.linalg.norm(plane[:3]) < 1e-9:
        raise BadInput(f"floor plane must be 4 finite numbers (a, b, c, d) with a normal, got {plane}")
    norm = np.linalg.norm(plane[:3])
    n, d = plane[:3] / norm, plane[3] / norm
    n_cam = camera.R @ n
    d_cam = d - n_cam @ camera.t  # the plane in the camera frame: n_cam . Xc + d_cam = 0
    if d_cam <= sole_height:  # the camera is not above the floor: no foot can rest on it
        return float("nan"), 0
    layout = resolve_layout(layout)
    soles = layout.indices(layout.sole)
    along = points[np.asarray(valid, dtype=bool)][:, soles] @ n_cam  # (T', 4)
    lowest = along.min(axis=1)
    usable = lowest < -1e-6  # below the camera's height over the floor
    if not usable.any():
        return float("nan"), 0
    per_frame = (sole_height - d_cam) / lowest[usable]
    return float(np.median(per_frame)), int(usable.sum())


def onto_rays(points: np.ndarray, pixels: np.ndarray, camera: Camera) -> np.ndarray:
    """Camera-frame points (..., 3) moved along x and y onto the rays of their pixels,
    keeping their depth. MediaPipe's 2-D landmarks are more exact than the sideways and
    vertical parts of its 3-D ones (it sees them; it infers the 3-D pose), so the lifted
    pose takes x and y from the image and only the depth from the 3-D model."""
    z = np.asarray(points, dtype=np.float64)[..., 2:3]
    return camera.ray(pixels) * z
