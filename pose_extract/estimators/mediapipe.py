"""MediaPipe Pose (BlazePose, 33 landmarks, metric world pose) behind the estimator interface.

The parts live where they always did: :mod:`pose_extract.detect` runs the tracker (with
re-detection on crops), :mod:`pose_extract.landmarks` names the 33 landmarks and holds
the rules that map them to NTU-25; this module only declares what the rest of
``pose_extract`` needs to know about them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from pose_extract.detect import detect
from pose_extract.estimator import Detections, LandmarkLayout, PoseEstimator, register
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS, DEFAULT_RULES, mapping_matrix
from pose_extract.lifting import MEDIAPIPE_TO_KINECT, SOLE_LANDMARKS

if TYPE_CHECKING:
    from pose_extract.extract import ExtractOptions

# World landmarks: metres, hip-centred, x to the image's right, y down, z away from the camera.
BLAZEPOSE = LandmarkLayout(BLAZEPOSE_LANDMARKS, tuple(float(s) for s in MEDIAPIPE_TO_KINECT), SOLE_LANDMARKS)


@register
class MediaPipePose(PoseEstimator):
    """``mp.solutions.pose`` (model complexity 1, the one the mediapipe 0.10.21 wheel ships),
    one tracker per video; visibility is the lifting's per-landmark weight."""

    name = "mediapipe"
    title = "MediaPipe"
    layout = BLAZEPOSE
    metric_world = True
    rules = DEFAULT_RULES

    def mapping(self, **rules: float) -> np.ndarray:
        return mapping_matrix(**rules)

    def estimate(
        self, frames: Iterable[np.ndarray], options: ExtractOptions, progress: Callable[[int], object] | None = None
    ) -> Detections:
        return detect(
            frames,
            min_detection_confidence=options.min_detection_confidence,
            min_tracking_confidence=options.min_tracking_confidence,
            smooth=options.smooth,
            progress=progress,
            redetect=options.redetect,
        )
