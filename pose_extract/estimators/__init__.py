"""Pose estimators behind :mod:`pose_extract.estimator`'s interface, one module each.

A module here named NAME that registers a :class:`~pose_extract.estimator.PoseEstimator`
called NAME is selectable as ``--estimator NAME`` (``pose.options.estimator`` in the
pipeline's config); it is imported only when chosen.
"""
