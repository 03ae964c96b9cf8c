"""Running MediaPipe Pose over a video's frames.

The legacy ``mp.solutions.pose`` graph of mediapipe 0.10.21 is used because that wheel
ships its ``model_complexity=1`` models (the other complexities try to download theirs
and fail offline). One tracker per video: with ``static_image_mode=False`` MediaPipe
runs the person detector only until it has a pose, then tracks it from frame to frame,
which is both faster and steadier than detecting every frame afresh.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from pose_extract.landmarks import NUM_LANDMARKS

log = logging.getLogger(__name__)


@dataclass
class Detections:
    """MediaPipe's output for T frames; undetected frames hold zeros.

    ``image``: (T, 33, 2) pixels (u right, v down); ``image_z``: (T, 33) MediaPipe's
    relative depth of the image landmarks; ``world``: (T, 33, 3) metres, hip-centred,
    MediaPipe axes (x right, y down, z away); ``visibility``, ``presence``: (T, 33) in
    [0, 1]; ``detected``: (T,) bool.
    """

    image: np.ndarray
    image_z: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    detected: np.ndarray
    seconds: float

    @property
    def frames(self) -> int:
        return len(self.detected)


def detect(
    frames: Iterable[np.ndarray],
    min_detection_confidence: float = 0.5,
    min_tracking_confidence: float = 0.5,
    smooth: bool = True,
    progress=None,
) -> Detections:
    """Run one MediaPipe Pose tracker over RGB frames (H, W, 3) uint8.

    ``progress`` is an optional callable invoked once per frame (e.g. ``tqdm.update``).
    """
    import mediapipe as mp  # imported here: ~1 s, and only this module needs it

    image, image_z, world, vis, pres, det = [], [], [], [], [], []
    start = time.perf_counter()
    frames = iter(frames)
    with native_log_filter():  # the graph logs its start-up notices from C++ at construction and on frame 1
        pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=smooth,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        first = next(frames, None)
        first_result = None if first is None else pose.process(np.ascontiguousarray(first))
    with pose:
        for i, frame in enumerate(frames if first is None else _chain(first, frames)):
            h, w = frame.shape[:2]
            result = first_result if i == 0 else pose.process(np.ascontiguousarray(frame))
            ok = result.pose_landmarks is not None and result.pose_world_landmarks is not None
            det.append(ok)
            if ok:
                lms = result.pose_landmarks.landmark
                wls = result.pose_world_landmarks.landmark
                image.append([(lm.x * w, lm.y * h) for lm in lms])
                image_z.append([lm.z for lm in lms])
                world.append([(lm.x, lm.y, lm.z) for lm in wls])
                vis.append([lm.visibility for lm in lms])
                pres.append([lm.presence for lm in lms])
            else:
                image.append(np.zeros((NUM_LANDMARKS, 2)))
                image_z.append(np.zeros(NUM_LANDMARKS))
                world.append(np.zeros((NUM_LANDMARKS, 3)))
                vis.append(np.zeros(NUM_LANDMARKS))
                pres.append(np.zeros(NUM_LANDMARKS))
            if progress is not None:
                progress(1)
    seconds = time.perf_counter() - start
    t = len(det)
    return Detections(
        image=np.asarray(image, dtype=np.float64).reshape(t, NUM_LANDMARKS, 2),
        image_z=np.asarray(image_z, dtype=np.float64).reshape(t, NUM_LANDMARKS),
        world=np.asarray(world, dtype=np.float64).reshape(t, NUM_LANDMARKS, 3),
        visibility=np.asarray(vis, dtype=np.float64).reshape(t, NUM_LANDMARKS),
        presence=np.asarray(pres, dtype=np.float64).reshape(t, NUM_LANDMARKS),
        detected=np.asarray(det, dtype=bool),
        seconds=seconds,
    )


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


# What MediaPipe's C++ side prints on every start-up, whatever the input: TFLite's delegate
# notice, absl's "before InitializeLog" banner and glog-style info/warning lines (I0000 /
# W0000 ..., e.g. "Feedback manager requires a model with a single signature"). Errors
# (E..../F.... lines) and anything else are passed on.
_NOTICE = re.compile(r"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl::InitializeLog|[IW]\d{4} )")


@contextlib.contextmanager
def native_log_filter() -> Iterator[None]:
    """Capture what native code writes to file descriptor 2 meanwhile; re-emit every line
    except MediaPipe's routine start-up notices (those go to the debug log).

    Environment switches (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL) do not reach these
    lines in mediapipe 0.10.21: absl writes them before its logging is initialised.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines():
                if _NOTICE.match(line):
                    log.debug("mediapipe: %s", line)
                elif line.strip():
                    print(line, file=sys.stderr)
