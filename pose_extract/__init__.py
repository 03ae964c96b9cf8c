"""Video in, skeleton out: a pose estimator (MediaPipe Pose by default) -> NTU-25 joints in
Kinect camera space.

``extract(video, camera)`` runs the whole chain on one clip and ``write_outputs`` saves
it; ``run_batch`` does many clips and writes an ST-GCN split. The pieces are small
modules: :mod:`~pose_extract.estimator` (the interface every estimator meets, and the
registry of ``pose_extract/estimators``), :mod:`~pose_extract.landmarks` (BlazePose -> NTU mapping rules),
:mod:`~pose_extract.lifting` (world pose -> camera space), :mod:`~pose_extract.gaps`,
:mod:`~pose_extract.detect` (MediaPipe), :mod:`~pose_extract.facing`, :mod:`~pose_extract.integrity`,
:mod:`~pose_extract.prior`, :mod:`~pose_extract.refine`, :mod:`~pose_extract.error_model`.
"""

from ciasa.video import VideoError
from pose_extract.extract import Extraction, ExtractOptions, NoPersonError, extract, output_paths, write_outputs

__all__ = ["ExtractOptions", "Extraction", "NoPersonError", "VideoError", "extract", "output_paths", "write_outputs"]
