"""Readers for raw NTU RGB+D skeletons (Kinect v2, 25 joints): the ``.skeleton`` text files
and the ``.skeleton.npy`` dicts NTU's own ``txt2npy`` script writes (:func:`read_ntu_txt2npy`;
:func:`read_ntu_clip` picks by the file name).

File format (one value group per line, whitespace separated)::

    <frame count>
    per frame:  <body count>
                per body: bodyID clippedEdges handLeftConfidence handLeftState
                          handRightConfidence handRightState isRestricted leanX leanY
                          trackingState
                          <joint count = 25>
                          25 x: x y z depthX depthY colorX colorY
                                orientW orientX orientY orientZ trackingState

Only the camera-space ``x y z`` (metres) are kept.

Body selection (when a file holds more bodies than ``max_body``)
---------------------------------------------------------------
A body is identified by its ``bodyID`` (Kinect's tracking id), so a person keeps
its identity across frames even when the order of bodies in a frame changes. Each
body gets a motion score over the frames it is tracked in: the standard deviation
of its joint positions along x, plus along y, plus along z (every joint of every
tracked frame pooled per axis). This is the "energy" rule of the NTU preprocessing
used with ST-GCN-family models (2s-AGCN and its descendants): spurious detections
(furniture, a second Kinect ghost) hardly move and score low, the acting persons
score high. The ``max_body`` highest-scoring bodies are kept (ties: earlier first
appearance wins) and placed in slots by order of first appearance, so the person
seen first is body 0. Frames in which a kept body is not tracked stay zero, and
frames with zero bodies stay zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput

NUM_JOINTS = 25
_BODY_FIELDS = 10
_JOINT_FIELDS = 12


class SkeletonFileError(BadInput):
    """A malformed ``.skeleton`` file; the message names the file and the line."""


class _Lines:
    def __init__(self, path: Path, lines: list[str]):
        self.path, self.lines, self.pos = path, lines, 0

    def next(self, what: str) -> list[str]:
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            self.pos += 1
            fields = line.split()
            if fields:
                return fields
        raise SkeletonFileError(f"{self.path}: file ends at line {self.pos} while expecting {what} (truncated file?)")

    def error(self, message: str) -> SkeletonFileError:
        return SkeletonFileError(f"{self.path}, line {self.pos}: {message}")

    def integer(self, what: str) -> int:
        fields = self.next(what)
        if len(fields) != 1:
            raise self.error(f"expected {what} (one integer), got {len(fields)} values")
        try:
            value = int(fields[0])
        except ValueError:
            raise self.error(f"expected {what} (an integer), got {fields[0]!r}") from None
        if value < 0:
            raise self.error(f"{what} is negative ({value})")
        return value

    def rest(self) -> Iterator[tuple[int, str]]:
        for i in range(self.pos, len(self.lines)):
            if self.lines[i].strip():
                yield i + 1, self.lines[i]


def parse_ntu_skeleton(path: str | Path) -> tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """All bodies of a file: ``(frames, xyz[body_id] (T, 25, 3), tracked[body_id] (T,) bool)``.

    Bodies appear in the dicts in order of first appearance.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: skeleton file not found")
    try:
        text = path.read_text()
    except UnicodeDecodeError as err:
        raise SkeletonFileError(f"{path}: not a text file ({err})") from None
    r = _Lines(path, text.splitlines())
    frames = r.integer("the frame count")
    xyz: dict[str, np.ndarray] = {}
    tracked: dict[str, np.ndarray] = {}
    for t in range(frames):
        bodies = r.integer(f"the body count of frame {t + 1}")
        for b in range(bodies):
            info = r.next(f"the info line of body {b + 1} in frame {t + 1}")
            if len(info) != _BODY_FIELDS:
                raise r.error(f"body info line of frame {t + 1} has {len(info)} values, expected {_BODY_FIELDS}")
            body_id = info[0]
            joints = r.integer(f"the joint count of body {b + 1} in frame {t + 1}")
            if joints != NUM_JOINTS:
                raise r.error(f"body {b + 1} in frame {t + 1} has {joints} joints, expected {NUM_JOINTS}")
            if body_id not in xyz:
                xyz[body_id] = np.zeros((frames, NUM_JOINTS, 3), np.float32)
                tracked[body_id] = np.zeros(frames, bool)
            elif tracked[body_id][t]:
                raise r.error(f"body {body_id} appears twice in frame {t + 1}")
            block = np.empty((NUM_JOINTS, 3))
            for j in range(NUM_JOINTS):
                fields = r.next(f"joint {j + 1} of body {b + 1} in frame {t + 1}")
                if len(fields) != _JOINT_FIELDS:
                    raise r.error(f"joint line has {len(fields)} values, expected {_JOINT_FIELDS}")
                try:
                    block[j] = (float(fields[0]), float(fields[1]), float(fields[2]))
                except ValueError:
                    raise r.error(f"joint {j + 1}: coordinates are not numbers: {' '.join(fields[:3])}") from None
            if not np.isfinite(block).all():
                j = int(np.argwhere(~np.isfinite(block).all(axis=1))[0, 0])
                r.pos -= NUM_JOINTS - 1 - j  # point the message at the offending line
                raise r.error(f"joint {j + 1}: non-finite coordinates {block[j].tolist()}")
            xyz[body_id][t] = block
            tracked[body_id][t] = True
    for line_no, line in r.rest():
        raise SkeletonFileError(
            f"{path}, line {line_no}: unexpected content after the {frames} declared frames: {line.strip()[:40]!r}"
        )
    return frames, xyz, tracked


def motion_score(xyz: np.ndarray, tracked: np.ndarray) -> float:
    """Sum over x, y, z of the standard deviation of a body's joints over its tracked frames."""
    if not tracked.any():
        return 0.0
    pts = xyz[tracked].reshape(-1, 3).astype(np.float64)
    return float(pts.std(axis=0).sum())


def read_ntu_skeleton(path: str | Path, max_body: int = 2) -> np.ndarray:
    """A raw NTU ``.skeleton`` file as float32 ``(3, T, 25, max_body)`` (see the module doc)."""
    if max_body < 1:
        raise BadInput(f"max_body must be at least 1, got {max_body}")
    frames, xyz, tracked = parse_ntu_skeleton(path)
    out = np.zeros((3, frames, NUM_JOINTS, max_body), np.float32)
    ids = list(xyz)  # order of first appearance
    scores = [motion_score(xyz[i], tracked[i]) for i in ids]
    # stable sort: equal scores keep the order of first appearance
    kept = sorted(sorted(range(len(ids)), key=lambda k: -scores[k])[:max_body])
    for slot, k in enumerate(kept):
        out[..., slot] = xyz[ids[k]].transpose(2, 0, 1)
    return out


def _load_txt2npy_dict(path: Path) -> dict:
    """The dict saved by NTU's ``txt2npy`` script (a 0-d object ``.npy``), read without running code."""
    import numpy.lib.format as npy_format

    from ciasa.io import load_numpy_pickle

    try:
        with open(path, "rb") as fh:
            version = npy_format.read_magic(fh)
            header = npy_format.read_array_header_1_0(fh) if version == (1, 0) else npy_format.read_array_header_2_0(fh)
            if header[2] != np.dtype(object) or header[0] != ():
                raise SkeletonFileError(
                    f"{path}: not a txt2npy skeleton dict (a {header[2]} array of shape {header[0]})"
                )
            obj = load_numpy_pickle(fh.read())
    except SkeletonFileError:
        raise
    except Exception as err:
        raise SkeletonFileError(f"{path}: not a readable txt2npy .npy file ({type(err).__name__}: {err})") from None
    if isinstance(obj, np.ndarray) and obj.shape == () and obj.dtype == object:
        obj = obj.item()
    if not isinstance(obj, dict):
        raise SkeletonFileError(f"{path}: not a txt2npy skeleton dict (holds a {type(obj).__name__})")
    return obj


def read_ntu_txt2npy(path: str | Path, max_body: int = 2) -> np.ndarray:
    """A ``.skeleton.npy`` written by NTU's ``txt2npy`` script as float32 ``(3, T, 25, max_body)``.

    The dict holds ``skel_body{i}`` ``(T, 25, 3)`` per body slot of the text file (zero
    where that slot is empty) and ``nbodys`` per frame. Bodies are chosen and ordered by
    the same motion rule as :func:`read_ntu_skeleton` (with ``txt2npy``'s slots standing
    in for Kinect body ids), so both formats of one clip give the same array.
    """
    if max_body < 1:
        raise BadInput(f"max_body must be at least 1, got {max_body}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: skeleton file not found")
    d = _load_txt2npy_dict(path)
    slots = sorted((k for k in d if k.startswith("skel_body")), key=lambda k: int(k[len("skel_body") :] or 0))
    if not slots:
        raise SkeletonFileError(f"{path}: no 'skel_body0' entry (keys: {', '.join(map(str, d))})")
    bodies = []
    for key in slots:
        arr = np.asarray(d[key], dtype=np.float32)
        if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
            raise SkeletonFileError(f"{path}: {key!r} has shape {arr.shape}, expected (T, {NUM_JOINTS}, 3)")
        if not np.isfinite(arr).all():
            raise SkeletonFileError(f"{path}: {key!r} holds non-finite coordinates")
        bodies.append(arr)
    frames = bodies[0].shape[0]
    if any(b.shape[0] != frames for b in bodies):
        raise SkeletonFileError(f"{path}: the skel_body arrays have different frame counts")
    tracked = [np.abs(b).sum(axis=(1, 2)) > 0 for b in bodies]
    first = [int(np.argmax(t)) if t.any() else frames for t in tracked]
    scores = [motion_score(b, t) for b, t in zip(bodies, tracked)]
    ranked = sorted(range(len(bodies)), key=lambda k: (-scores[k], first[k]))[:max_body]
    kept = sorted(ranked, key=lambda k: (first[k], k))
    out = np.zeros((3, frames, NUM_JOINTS, max_body), np.float32)
    for slot, k in enumerate(kept):
        out[..., slot] = bodies[k].transpose(2, 0, 1)
    return out


def read_ntu_clip(path: str | Path, max_body: int = 2) -> np.ndarray:
    """Either NTU format by its name: ``.skeleton`` text or ``txt2npy``'s ``.skeleton.npy``/``.npy``."""
    path = Path(path)
    if path.suffix == ".npy":
        return read_ntu_txt2npy(path, max_body)
    return read_ntu_skeleton(path, max_body)
