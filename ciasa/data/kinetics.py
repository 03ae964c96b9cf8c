"""Reader for Kinetics-skeleton json files (OpenPose-18, the official ST-GCN release).

One file per clip::

    {"data": [{"frame_index": 1, "skeleton": [{"pose": [x0, y0, x1, y1, ...],
                                               "score": [s0, s1, ...]}, ...]}, ...],
     "label": "...", "label_index": 7}

x and y are in [0, 1] (image width/height). The output is what the official
Kinetics feeder hands to ST-GCN: ``(3, T, 18, M)`` = ``(x - 0.5, y - 0.5, score)``
with x and y set to 0 where the score is 0; the first ``num_person_in`` skeletons
of each frame are read, then in every frame the persons are sorted by their summed
joint score (highest first) and the first ``num_person_out`` kept. Note that this
sorting is per frame, as in the official feeder, so a slot may switch person.

Frames are numbered from 1 in the released files; frame ``k`` goes to time index
``k - frame_base`` (``frame_base=1``). The official feeder indexes with ``k``
directly (its time index 0 stays empty); the difference is a one-frame shift.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.skeleton import OPENPOSE_18

V = OPENPOSE_18.num_joints


def read_kinetics_json(
    path: str | Path,
    max_frames: int | None = 300,
    num_person_in: int = 5,
    num_person_out: int = 2,
    frame_base: int = 1,
) -> tuple[np.ndarray, int]:
    """``(clip (3, T, 18, num_person_out) float32, label_index)`` of one json file.

    ``T`` is ``max_frames`` (frames beyond it are dropped, as the official feeder's fixed
    300-frame buffer does), or the last frame index when ``max_frames`` is None.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Kinetics-skeleton file not found")
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadInput(f"{path}: not valid JSON: {err}") from None
    if not isinstance(info, dict) or not isinstance(info.get("data"), list):
        raise BadInput(f"{path}: expected an object with a 'data' list of frames")
    label = info.get("label_index")
    if not isinstance(label, int):
        raise BadInput(f"{path}: 'label_index' must be an integer, got {label!r}")

    frames = info["data"]
    indices = []
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict) or "frame_index" not in frame or "skeleton" not in frame:
            raise BadInput(f"{path}: data[{i}] needs 'frame_index' and 'skeleton'")
        k = frame["frame_index"]
        if not isinstance(k, int) or k < frame_base:
            raise BadInput(f"{path}: data[{i}] has frame_index {k!r}, expected an integer >= {frame_base}")
        indices.append(k - frame_base)
    t = max_frames if max_frames is not None else (max(indices) + 1 if indices else 0)
    if t <= 0:
        raise BadInput(f"{path}: no frames")

    buf = np.zeros((3, t, V, num_person_in), np.float32)
    for i, (frame, ti) in enumerate(zip(frames, indices)):
        if ti >= t:
            continue
        for m, person in enumerate(frame["skeleton"][:num_person_in]):
            pose = np.asarray(person.get("pose", []), dtype=np.float32)
            score = np.asarray(person.get("score", []), dtype=np.float32)
            if pose.shape != (2 * V,) or score.shape != (V,):
                raise BadInput(
                    f"{path}: data[{i}] skeleton {m}: expected {2 * V} pose values and {V} scores "
                    f"(OpenPose-18), got {pose.size} and {score.size}"
                )
            buf[0, ti, :, m] = pose[0::2]
            buf[1, ti, :, m] = pose[1::2]
            buf[2, ti, :, m] = score
    if not np.isfinite(buf).all():
        raise BadInput(f"{path}: pose or score values hold NaN or inf")

    buf[0:2] -= 0.5
    absent = buf[2] == 0
    buf[0][absent] = 0.0
    buf[1][absent] = 0.0
    order = np.argsort(-buf[2].sum(axis=1), axis=1, kind="stable")  # (T, num_person_in)
    buf = np.take_along_axis(buf, order[None, :, None, :], axis=3)
    return np.ascontiguousarray(buf[..., :num_person_out]), label
