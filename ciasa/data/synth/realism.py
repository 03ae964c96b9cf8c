"""Sensor realism for the synthetic set, measured on real recordings: Kinect joint noise with its
spectrum, frame-to-frame bone-length wobble, and tracking dropouts.

The default generator adds one kind of sensor error, :func:`ciasa.data.synth.scene.kinect_jitter`
(8 mm, hands and feet 1.8x, a 3-tap smoothing), which was chosen by hand. Real Kinect v2
skeletons differ from it in three measurable ways, each a generator option here, off by
default (so the demo data stay what they were):

* **noise spectrum** (``--kinect-noise``): per joint group and axis, the joint noise whose
  power between 5 and 15 Hz makes the synthetic clips' high-frequency power equal to real
  NTU clips' (whose motion above 5 Hz is small next to the sensor's noise: motion capture
  shows it), with the measured spectral slope as an AR(1) coefficient. It replaces the
  default jitter.
* **bone-length wobble** (``--bone-noise SCALE``): each bone's length changes slowly from
  frame to frame (the Kinect re-estimates every joint independently, so a forearm is not
  a rigid bone); a smooth multiplicative noise per bone with the measured slow coefficient
  of variation and correlation time, times SCALE.
* **dropouts** (``--dropouts SCALE``): runs of frames in which a joint is only *inferred*
  by the sensor, which then holds the joint near where it last saw it; modelled as the joint
  frozen at its position (relative to its parent) for the run, at the measured per-group
  rate and mean run length, times SCALE.

Every constant below is produced by ``benchmarks/data_realism.py`` from real NTU RGB+D
clips and CMU motion capture (its JSON's ``generator_parameters``; a test checks that the
two agree). None was chosen by looking at attack results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ciasa.cli import BadInput
from ciasa.skeleton import NTU_RGBD

# Joint groups the noise and the dropouts are measured and applied by (all 25 joints, once).
JOINT_GROUPS: dict[str, tuple[str, ...]] = {
    "trunk": ("spine_base", "spine_mid", "spine_shoulder", "neck"),
    "head": ("head",),
    "shoulders_hips": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "elbows_knees": ("left_elbow", "right_elbow", "left_knee", "right_knee"),
    "wrists_hands": ("left_wrist", "right_wrist", "left_hand", "right_hand"),
    "fingers": ("left_hand_tip", "right_hand_tip", "left_thumb", "right_thumb"),
    "ankles_feet": ("left_ankle", "right_ankle", "left_foot", "right_foot"),
}
GROUP_OF_JOINT: tuple[str, ...] = tuple(
    next(g for g, names in JOINT_GROUPS.items() if n in names) for n in NTU_RGBD.joint_names
)


def bone_kind(child: int) -> str:
    """A bone named by its child joint, left and right pooled ('elbow' = the upper arm)."""
    return NTU_RGBD.joint_names[child].removeprefix("left_").removeprefix("right_")


FPS = 30.0
NOISE_BAND_HZ = (5.0, 15.0)  # above the bulk of human motion, up to Nyquist at 30 fps

# ---- measured (benchmarks/data_realism.py -> benchmarks/results/data_realism.json) ----
# Kinect noise: total standard deviation (metres) per group and axis (x, y, z), AR(1) coefficient.
MEASURED_NOISE_M: dict[str, tuple[float, float, float]] = {
    "trunk": (0.0, 0.0, 0.00157),
    "head": (0.0, 0.0, 0.0),
    "shoulders_hips": (0.00127, 0.0, 0.00484),
    "elbows_knees": (0.00191, 0.0, 0.0081),
    "wrists_hands": (0.01062, 0.0, 0.00584),
    "fingers": (0.01526, 0.00297, 0.01315),
    "ankles_feet": (0.01061, 0.00711, 0.01779),
}
MEASURED_NOISE_AR = 0.045
# Bone-length wobble: slow coefficient of variation per bone kind, correlation (Gaussian sd, frames).
MEASURED_BONE_CV: dict[str, float] = {
    "spine_mid": 0.0292, "neck": 0.0262, "head": 0.0233, "shoulder": 0.082,
    "elbow": 0.0589, "wrist": 0.1181, "hand": 0.2833, "hip": 0.0442,
    "knee": 0.0371, "ankle": 0.0342, "foot": 0.0208, "spine_shoulder": 0.0304,
    "hand_tip": 0.1597, "thumb": 0.1744,
}  # fmt: skip
MEASURED_BONE_CORR_FRAMES = 4.8
# Dropouts: fraction of frames a joint of each group is inferred, mean run length (frames).
MEASURED_DROPOUT_RATE: dict[str, float] = {
    "trunk": 0.0, "head": 0.0, "shoulders_hips": 0.0742,
    "elbows_knees": 0.1125, "wrists_hands": 0.3524, "fingers": 0.0815,
    "ankles_feet": 0.0915,
}  # fmt: skip
MEASURED_DROPOUT_RUN_FRAMES = 7.09


@dataclass(frozen=True)
class SensorParams:
    """The measured numbers the three options use (defaults: the constants above)."""

    noise_m: dict[str, tuple[float, float, float]] = field(default_factory=lambda: dict(MEASURED_NOISE_M))
    noise_ar: float = MEASURED_NOISE_AR
    bone_cv: dict[str, float] = field(default_factory=lambda: dict(MEASURED_BONE_CV))
    bone_corr_frames: float = MEASURED_BONE_CORR_FRAMES
    dropout_rate: dict[str, float] = field(default_factory=lambda: dict(MEASURED_DROPOUT_RATE))
    dropout_run_frames: float = MEASURED_DROPOUT_RUN_FRAMES

    def to_json(self) -> dict:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}


def kinect_noise(rng: np.random.Generator, frames: int, params: SensorParams) -> np.ndarray:
    """Joint noise (T, V, 3), metres: per joint group and axis its own standard deviation, AR(1) in time."""
    scale = np.array([params.noise_m[g] for g in GROUP_OF_JOINT])  # (V, 3)
    return ar1_noise(rng, (frames, len(GROUP_OF_JOINT), 3), params.noise_ar) * scale


def ar1_noise(rng: np.random.Generator, shape: tuple[int, ...], a: float) -> np.ndarray:
    """Stationary unit-variance AR(1) noise along axis 0."""
    e = rng.normal(size=shape)
    out = np.empty(shape)
    out[0] = e[0]
    k = np.sqrt(1.0 - a * a)
    for t in range(1, shape[0]):
        out[t] = a * out[t - 1] + k * e[t]
    return out


def ar1_band_fraction(a: float, band_hz: tuple[float, float] = NOISE_BAND_HZ, fps: float = FPS) -> float:
    """Fraction of an AR(1) process's variance between ``band_hz`` (one-sided spectrum, 0..fps/2)."""
    f = np.linspace(0.0, fps / 2, 4001)
    psd = (1 - a * a) / (1 - 2 * a * np.cos(2 * np.pi * f / fps) + a * a)
    inside = (f >= band_hz[0]) & (f <= band_hz[1])
    return float((psd * inside).sum() / psd.sum())  # a uniform grid: sums stand in for integrals


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sd_frames: float) -> np.ndarray:
    """Unit-variance Gaussian-smoothed white noise along axis 0 (correlation ~ ``sd_frames``)."""
    half = int(np.ceil(3 * sd_frames))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / max(sd_frames, 1e-6)) ** 2)
    k /= np.sqrt((k * k).sum())
    e = rng.normal(size=(shape[0] + 2 * half, *shape[1:]))
    return np.apply_along_axis(lambda s: np.convolve(s, k, mode="valid"), 0, e)


def _topological_joints() -> list[int]:
    return sorted(range(NTU_RGBD.num_joints), key=lambda j: NTU_RGBD.depth[j])


def scale_bones(joints: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Joints (T, V, 3) with bone j (child j to its parent) scaled by ``scale[:, j]``, rebuilt from the root."""
    out = joints.copy()
    for j in _topological_joints():
        p = NTU_RGBD.parents[j]
        if p >= 0:
            out[:, j] = out[:, p] + scale[:, j, None] * (joints[:, j] - joints[:, p])
    return out


def bone_wobble(rng: np.random.Generator, joints: np.ndarray, amount: float, params: SensorParams) -> np.ndarray:
    """Joints (T, V, 3) whose bones change length by the measured slow CV times ``amount``."""
    sd = np.array([0.0 if p < 0 else params.bone_cv.get(bone_kind(j), 0.0) for j, p in enumerate(NTU_RGBD.parents)])
    noise = smooth_noise(rng, (joints.shape[0], joints.shape[1]), params.bone_corr_frames)
    return scale_bones(joints, 1.0 + amount * sd[None, :] * noise)


def dropout_mask(rng: np.random.Generator, frames: int, amount: float, params: SensorParams) -> np.ndarray:
    """(T, V) bool: joint frames the sensor only infers. Runs start at random with geometric
    lengths (mean ``run_frames``) so that a group's expected fraction is its rate times ``amount``."""
    rate, run_frames = params.dropout_rate, params.dropout_run_frames
    v = len(GROUP_OF_JOINT)
    frac = np.clip(np.array([rate[g] for g in GROUP_OF_JOINT]) * amount, 0.0, 0.95)
    # a run of mean length m starting with probability s per frame outside a run covers
    # s*m / (1 + s*m) of the frames: solve for s
    start = frac / (np.maximum(run_frames, 1.0) * (1.0 - frac))
    stop = 1.0 / max(run_frames, 1.0)
    u_start = rng.random((frames, v))
    u_stop = rng.random((frames, v))
    mask = np.zeros((frames, v), bool)
    on = np.zeros(v, bool)
    for t in range(frames):
        on = np.where(on, u_stop[t] >= stop, u_start[t] < start)
        mask[t] = on
    mask[0] = False  # the sensor has seen every joint once before it can hold it
    return mask


def apply_dropouts(joints: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Hold each masked joint where it was, relative to its parent, at the run's last seen frame."""
    out = joints.copy()
    for j in _topological_joints():
        p = NTU_RGBD.parents[j]
        for t in np.flatnonzero(mask[:, j]):
            if p < 0:
                out[t, j] = out[t - 1, j]
            else:
                out[t, j] = out[t, p] + (out[t - 1, j] - out[t - 1, p])
    return out


@dataclass(frozen=True)
class Realism:
    """Which measured sensor effects a generated clip gets; all off = today's generator."""

    kinect_noise: bool = False
    bone_noise: float = 0.0
    dropouts: float = 0.0
    params: SensorParams = field(default_factory=SensorParams)

    def __post_init__(self) -> None:
        for name in ("bone_noise", "dropouts"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise BadInput(f"--{name.replace('_', '-')} must be a number >= 0 (1 = as measured), got {value}")

    @property
    def on(self) -> bool:
        return self.kinect_noise or self.bone_noise > 0 or self.dropouts > 0

    def apply(self, rng: np.random.Generator, joints: np.ndarray) -> np.ndarray:
        """Camera-space joints (T, V, 3) before the sensor's noise -> with wobble and dropouts."""
        if self.bone_noise > 0:
            joints = bone_wobble(rng, joints, self.bone_noise, self.params)
        if self.dropouts > 0:
            joints = apply_dropouts(joints, dropout_mask(rng, joints.shape[0], self.dropouts, self.params))
        return joints

    def noise(self, rng: np.random.Generator, frames: int) -> np.ndarray:
        """The measured Kinect noise (T, V, 3) that replaces the default jitter."""
        return kinect_noise(rng, frames, self.params)

    def to_json(self) -> dict:
        return {
            "kinect_noise": self.kinect_noise,
            "bone_noise": self.bone_noise,
            "dropouts": self.dropouts,
            "params": self.params.to_json(),
        }
