"""The pose-estimator interface: what ``pose_extract`` needs from the model that reads people.

Everything after detection (facing decision, jump rejection, gap filling, lifting into
camera space, mapping to NTU-25, the refiner, the outputs) works on the arrays of one
:class:`Detections` and learns what they mean from the estimator that made them:

- :class:`LandmarkLayout`: the landmark names (``left_*``/``right_*`` are the subject's
  own sides; the twelve limb landmarks of :data:`REQUIRED_LANDMARKS` must be among them),
  the signs that turn the estimator's camera-aligned world axes into Kinect's, and the
  landmarks on the sole of the foot (for a calibrated floor);
- :meth:`PoseEstimator.ntu_matrix`: the ``(25, L)`` matrix that maps the landmarks to the
  NTU joints of :data:`ciasa.skeleton.NTU_RGBD` (rows in that layout's order, each an
  affine combination, so it commutes with translation), tunable by named constants
  (``--rule NAME=VALUE``);
- :attr:`PoseEstimator.metric_world`: whether the world pose is in metres (then its size
  may set the depth) or only up to scale (then a body-size prior or a floor plane must);
- :meth:`PoseEstimator.estimate`: a video's frames -> :class:`Detections`. Estimators that
  see one frame at a time subclass :class:`FrameEstimator` and implement ``detect(frame)``.

Estimators are found by name (``--estimator NAME``, ``pose.options.estimator``): a module
``pose_extract/estimators/NAME.py`` that decorates its class with :func:`register`.
docs/pose_extract.md ("Pose estimators") shows how to add one.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ciasa.cli import UnknownName
from ciasa.skeleton import NTU_RGBD

if TYPE_CHECKING:
    from pose_extract.extract import ExtractOptions

DEFAULT_ESTIMATOR = "mediapipe"
ESTIMATOR_PACKAGE = "pose_extract.estimators"

# The landmarks the steps after detection read by name: shoulders and hips (torso heading,
# torso length, root), and with elbows, wrists, knees and ankles the limbs whose 2-D jumps
# reject a frame. Their order is the jump measure's.
REQUIRED_LANDMARKS: tuple[str, ...] = tuple(
    f"{side}_{joint}" for side in ("left", "right") for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
)


def mirror_permutation(names: Iterable[str]) -> np.ndarray:
    """Landmark order with every ``left_*`` and ``right_*`` exchanged (what a reading of the
    person from the other side does to the labels)."""
    names = tuple(names)
    index = {n: i for i, n in enumerate(names)}
    swapped = [n.replace("left", "#").replace("right", "left").replace("#", "right") for n in names]
    unpaired = [s for s in swapped if s not in index]
    if unpaired:
        raise ValueError(f"landmarks without their other side: {unpaired}")
    return np.array([index[s] for s in swapped])


@dataclass(frozen=True)
class LandmarkLayout:
    """What the landmark axis of an estimator's arrays means.

    ``world_to_kinect``: per axis, the sign that takes the estimator's world pose (camera-
    aligned axes, the third one depth) into Kinect camera axes (x to the camera's left, y
    up, z away); MediaPipe's (x right, y down, z away) is ``(-1, -1, 1)``. ``sole``: the
    landmarks whose lowest one rests on the floor.
    """

    names: tuple[str, ...]
    world_to_kinect: tuple[float, float, float]
    sole: tuple[str, ...] = ("left_ankle", "right_ankle")

    def __post_init__(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"landmark names repeat: {self.names}")
        missing = [n for n in (*REQUIRED_LANDMARKS, *self.sole) if n not in self.names]
        if missing:
            raise ValueError(f"a landmark layout needs {missing} (pose_extract.estimator.REQUIRED_LANDMARKS)")
        if len(self.world_to_kinect) != 3 or any(s not in (-1.0, 1.0) for s in self.world_to_kinect):
            raise ValueError(f"world_to_kinect must be three signs (+-1), got {self.world_to_kinect}")
        mirror_permutation(self.names)  # every left_* has its right_*

    @property
    def size(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def indices(self, names: Iterable[str]) -> list[int]:
        return [self.names.index(n) for n in names]

    def one_hot(self, name: str) -> np.ndarray:
        """Row (L,) selecting one landmark: the building block of mapping rules."""
        row = np.zeros(self.size)
        row[self.index(name)] = 1.0
        return row

    @cached_property
    def mirror_permutation(self) -> np.ndarray:
        return mirror_permutation(self.names)

    @property
    def limbs(self) -> list[int]:
        """The twelve :data:`REQUIRED_LANDMARKS`, in that order."""
        return self.indices(REQUIRED_LANDMARKS)

    def to_kinect(self, world: np.ndarray) -> np.ndarray:
        """World points (..., 3) in Kinect camera axes (same origin, same units)."""
        return np.asarray(world, dtype=np.float64) * np.asarray(self.world_to_kinect, dtype=np.float64)


def ntu_matrix(rows: Mapping[str, np.ndarray]) -> np.ndarray:
    """Stack mapping rows (one per NTU joint name, each (L,)) into the ``(25, L)`` matrix in
    :data:`~ciasa.skeleton.NTU_RGBD`'s joint order; every row must sum to 1 (an affine
    combination commutes with translation: hip-centred points map to hip-centred joints)."""
    missing = [n for n in NTU_RGBD.joint_names if n not in rows]
    if missing:
        raise ValueError(f"mapping rules missing for NTU joints {missing}")
    matrix = np.stack([rows[name] for name in NTU_RGBD.joint_names])
    if not np.allclose(matrix.sum(axis=1), 1.0):
        raise ValueError("every mapping rule must be an affine combination (its weights summing to 1)")
    return matrix


@dataclass
class Detections:
    """An estimator's output for T frames; undetected frames hold zeros. L = its layout's size.

    ``image``: (T, L, 2) pixels (u right, v down); ``image_z``: (T, L) the estimator's
    relative depth of the image landmarks (zeros if it has none); ``world``: (T, L, 3)
    hip-centred 3-D pose in the estimator's camera-aligned axes (metres when it is
    metric); ``visibility``: (T, L) per-landmark confidence in [0, 1], the weight of the
    landmark in the lifting; ``presence``: (T, L) in [0, 1] (a copy of ``visibility`` if
    the estimator has no separate one); ``detected``: (T,) bool; ``redetected``: (T,)
    bool, the detected frames found only by a second try (MediaPipe: on an enlarged crop).
    """

    image: np.ndarray
    image_z: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    detected: np.ndarray
    seconds: float
    redetected: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.redetected is None:
            self.redetected = np.zeros(len(self.detected), dtype=bool)

    @property
    def frames(self) -> int:
        return len(self.detected)

    def check(self, estimator: PoseEstimator) -> None:
        """Raise if the arrays do not have the shapes ``estimator``'s layout promises: an
        estimator that breaks the contract is a bug, found here rather than deep in the lifting."""
        t, n = self.frames, estimator.layout.size
        expected = {
            "image": (t, n, 2),
            "image_z": (t, n),
            "world": (t, n, 3),
            "visibility": (t, n),
            "presence": (t, n),
            "detected": (t,),
            "redetected": (t,),
        }
        wrong = {k: getattr(self, k).shape for k, shape in expected.items() if getattr(self, k).shape != shape}
        if wrong:
            raise RuntimeError(
                f"pose estimator {estimator.name!r} broke the interface: shapes {wrong}, expected {expected}"
            )


@dataclass
class FramePose:
    """One frame's person as a :class:`FrameEstimator` reads it (arrays over its landmarks)."""

    image: np.ndarray  # (L, 2) pixels
    world: np.ndarray  # (L, 3) hip-centred, the estimator's camera-aligned axes
    confidence: np.ndarray  # (L,) in [0, 1]
    image_z: np.ndarray | None = None  # (L,), zeros when absent
    presence: np.ndarray | None = None  # (L,), the confidence when absent
    redetected: bool = False


def stack_poses(poses: list[FramePose | None], estimator: PoseEstimator, seconds: float) -> Detections:
    """Per-frame poses of ``estimator`` (None: nobody found) -> :class:`Detections`."""
    t, landmarks = len(poses), estimator.layout.size
    out = {
        "image": np.zeros((t, landmarks, 2)),
        "image_z": np.zeros((t, landmarks)),
        "world": np.zeros((t, landmarks, 3)),
        "visibility": np.zeros((t, landmarks)),
        "presence": np.zeros((t, landmarks)),
    }
    for i, pose in enumerate(poses):
        if pose is None:
            continue
        _check_pose(pose, i, estimator)
        out["image"][i], out["world"][i], out["visibility"][i] = pose.image, pose.world, pose.confidence
        out["image_z"][i] = 0.0 if pose.image_z is None else pose.image_z
        out["presence"][i] = pose.confidence if pose.presence is None else pose.presence
    detected = np.array([p is not None for p in poses], dtype=bool)
    redetected = np.array([p is not None and p.redetected for p in poses], dtype=bool)
    return Detections(**out, detected=detected, seconds=seconds, redetected=redetected)


def _check_pose(pose: FramePose, frame: int, estimator: PoseEstimator) -> None:
    n = estimator.layout.size
    expected = {"image": (n, 2), "world": (n, 3), "confidence": (n,), "image_z": (n,), "presence": (n,)}
    shapes = {k: np.shape(getattr(pose, k)) for k in expected if getattr(pose, k) is not None}
    wrong = {k: shape for k, shape in shapes.items() if shape != expected[k]}
    if wrong:
        raise RuntimeError(
            f"pose estimator {estimator.name!r} broke the interface: frame {frame} has shapes "
            f"{wrong}, expected {expected}"
        )


class PoseEstimator(ABC):
    """A pose estimator as ``pose_extract`` uses it (module docstring). Subclasses set the
    class attributes, implement :meth:`mapping` and :meth:`estimate`, and are decorated with
    :func:`register`."""

    name: ClassVar[str]  # the --estimator value; also CLIP.json's scale_source for its own body size
    title: ClassVar[str]  # for messages, e.g. "MediaPipe"
    layout: ClassVar[LandmarkLayout]
    # True: the world pose is in metres, so its size may set the depth. False: it is right
    # only up to scale, and extraction needs a body-size prior or a floor plane.
    metric_world: ClassVar[bool] = True
    rules: ClassVar[Mapping[str, float]] = {}  # named constants of the mapping and their defaults (--rule)

    @abstractmethod
    def mapping(self, **rules: float) -> np.ndarray:
        """The (25, L) matrix ``M`` with ``ntu = M @ landmarks`` (:func:`ntu_matrix` builds it
        from rows by NTU joint name); ``rules`` override :attr:`rules`."""

    @abstractmethod
    def estimate(
        self, frames: Iterable[np.ndarray], options: ExtractOptions, progress: Callable[[int], object] | None = None
    ) -> Detections:
        """Read the person in every RGB frame (H, W, 3) uint8 of one video, in order. The
        detector settings of ``options`` (confidence thresholds, ``smooth``, ``redetect``)
        are the estimator's to honour; ``progress(1)`` once per frame."""

    def ntu_matrix(self, rules: Mapping[str, float] | None = None) -> np.ndarray:
        """:meth:`mapping` with ``rules``, checked: known rule names, shape (25, L)."""
        rules = dict(rules or {})
        unknown = set(rules) - set(self.rules)
        if unknown:
            raise UnknownName(
                f"unknown mapping rule(s) {sorted(unknown)} of estimator {self.name!r}; known: {sorted(self.rules)}"
            )
        matrix = np.asarray(self.mapping(**rules), dtype=np.float64)
        if matrix.shape != (len(NTU_RGBD.joint_names), self.layout.size):
            raise RuntimeError(
                f"estimator {self.name!r}: mapping of shape {matrix.shape}, expected "
                f"({len(NTU_RGBD.joint_names)}, {self.layout.size})"
            )
        return matrix


class FrameEstimator(PoseEstimator):
    """An estimator that reads one frame at a time: implement :meth:`detect`; :meth:`begin`
    and :meth:`end` bracket each video (load a model, reset a tracker)."""

    @abstractmethod
    def detect(self, frame: np.ndarray) -> FramePose | None:
        """The person in one RGB frame (H, W, 3) uint8, or None."""

    def begin(self, options: ExtractOptions) -> None:
        """Called before a video's first frame."""

    def end(self) -> None:
        """Called after a video's last frame, also when reading it failed."""

    def estimate(
        self, frames: Iterable[np.ndarray], options: ExtractOptions, progress: Callable[[int], object] | None = None
    ) -> Detections:
        start = time.perf_counter()
        poses: list[FramePose | None] = []
        self.begin(options)
        try:
            for frame in frames:
                poses.append(self.detect(frame))
                if progress is not None:
                    progress(1)
        finally:
            self.end()
        return stack_poses(poses, self, time.perf_counter() - start)


# name -> class; filled by register() as estimator modules are imported.
ESTIMATORS: dict[str, type[PoseEstimator]] = {}


def register(cls: type[PoseEstimator]) -> type[PoseEstimator]:
    """Class decorator: make ``cls`` selectable as ``--estimator cls.name``."""
    if not isinstance(getattr(cls, "layout", None), LandmarkLayout) or not getattr(cls, "name", ""):
        raise TypeError(f"{cls.__name__}: a pose estimator needs a name and a LandmarkLayout")
    ESTIMATORS[cls.name] = cls
    return cls


def available() -> tuple[str, ...]:
    """Names an ``--estimator`` may take: the modules of :data:`ESTIMATOR_PACKAGE` and
    whatever else was registered (without importing any estimator's model)."""
    package = importlib.import_module(ESTIMATOR_PACKAGE)
    modules = {m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")}
    return tuple(sorted(modules | set(ESTIMATORS)))


def get_estimator(name: str | PoseEstimator | None = None) -> PoseEstimator:
    """The estimator called ``name`` (default :data:`DEFAULT_ESTIMATOR`), its module imported
    on first use; an unknown name is bad input."""
    if isinstance(name, PoseEstimator):
        return name
    name = name or DEFAULT_ESTIMATOR
    if name not in ESTIMATORS and name in available():
        importlib.import_module(f"{ESTIMATOR_PACKAGE}.{name}")
    if name not in ESTIMATORS:
        raise UnknownName(f"unknown pose estimator {name!r}; available: {', '.join(available())}")
    return ESTIMATORS[name]()


def resolve_layout(layout: LandmarkLayout | None) -> LandmarkLayout:
    """``layout``, or the default estimator's (MediaPipe's) for callers that pass none."""
    return layout if layout is not None else get_estimator(DEFAULT_ESTIMATOR).layout
