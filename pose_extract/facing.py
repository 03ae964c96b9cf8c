"""Undoing MediaPipe's mirrored readings without undoing the person's real turns.

On small or featureless faces MediaPipe sometimes reads a person who faces the camera as
one seen from behind: every left/right label is exchanged and the body's depth is
mirrored (an arm reaching towards the camera is placed reaching away). The image
positions stay where they were; only the interpretation flips, so one frame alone
cannot tell a mirrored reading from a person who really turned round: the mirrored
reading's torso heading is ``180 - h`` for a true heading ``h``, and the two coincide at
a side view (``h = +-90``).

The decision is a two-state sequence model over the clip's detected frames (state 0:
MediaPipe's reading as given, 1: its mirror image), decoded with Viterbi
(:func:`decode`), energy in degrees:

    sum_t c(|heading change between consecutive kept readings|)
  + switch_cost * (number of changes between reading and mirror)
  + mirror_cost * (number of mirrored frames)            (trust in MediaPipe's reading)
  + facing_weight * sum_t (1 - cos heading_t) / 2         (pull towards facing the camera)

where ``c(d) = d + excess_weight * max(0, d - max_speed)`` makes a change faster than a
person turns (a pirouette turns ~25 degrees a frame at 30 fps) cost more than its angle.
A flip of MediaPipe's reading away from a side view is a heading jump of up to 180
degrees; mirroring the flipped frames removes the jump at the price of the switches and
of ``mirror_cost`` per frame, so short flips are undone and long consistent readings
kept. A smooth real turn costs the same whichever state it is read in, so the trust
decides it, and on renders of real and turned motion MediaPipe's own reading of a turn is
mostly right (4.1 % of 4076 frames swapped as read, mostly short flips:
benchmarks/pose_facing.py). A reading that catches up with a turn by more than
``max_speed`` in one frame is taken for a flip too: the model's known failure (three of
those 49 clips stay above 10 % swapped, docs/pose_extract.md).

That is why the earlier rule, ``method='continuity'`` (the same Viterbi with
``mirror_cost = 0`` and ``facing_weight = 2``: a pull towards the camera and no trust in
the reading), failed on real turns: at the side view both readings coincide, so the
switch there costs only ``switch_cost`` (30), and after some 15 frames of back view the
pull towards the camera outweighs it; the path then follows the turn smoothly into the
mirror image and stays there (up to 70 % of a turning clip's frames swapped, all of a
back view's). The sequence model keeps the machinery, trusts the reading and pulls only
weakly: with the chosen settings a whole clip read from behind stays as read.

Per frame, the decision's confidence is the posterior probability of the chosen state
under the Gibbs distribution ``exp(-energy / temperature)`` over all paths (forward-
backward, :func:`decode`): near 1 where flipping that frame's state would cost much more
than ``temperature`` degrees, 0.5 where nothing tells the two readings apart.

2-D shoulder/hip order and the face landmarks' visibility do not tell the readings
apart: both follow MediaPipe's own reading (measured on the turn set: nose and ear
visibility 0.85-1.0 in front and back views alike; the 2-D labels and the image-space
depth flip together with the 3-D pose).

``method='turn'`` keeps the oldest per-frame rule (mirror every frame read as turned more
than ``max_turn_deg``), which suits only footage where nobody turns away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ciasa.cli import BadInput
from pose_extract.estimator import LandmarkLayout, mirror_permutation, resolve_layout
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS

# MediaPipe's landmark order with every left_* and right_* exchanged (another estimator's:
# its layout's ``mirror_permutation``; the functions below take the ``layout``).
MIRROR_PERMUTATION = mirror_permutation(BLAZEPOSE_LANDMARKS)
# The earlier rule ('continuity'), chosen on the dev subjects of the real-motion renders;
# kept selectable for the benchmark's comparison.
SWITCH_COST = 30.0  # degrees of heading change one switch must explain away
FACING_WEIGHT = 2.0  # per frame; over a clip it decides only what continuity cannot
METHODS = ("sequence", "continuity", "turn", "off")


@dataclass(frozen=True)
class SequenceModel:
    """Weights of the two-state facing model (module docstring), degrees of heading change.
    The defaults were chosen on the dev split only (benchmarks/pose_accuracy.py, facing_choice)."""

    switch_cost: float = 60.0
    mirror_cost: float = 2.0
    facing_weight: float = 1.0
    temperature: float = 15.0
    # a heading change beyond max_speed degrees a frame (faster than a pirouette) costs
    # excess_weight more per degree: implausible for a person, typical of a flipped reading
    max_speed: float = 45.0
    excess_weight: float = 3.0


DEFAULT_MODEL = SequenceModel()
CONTINUITY_MODEL = SequenceModel(
    switch_cost=SWITCH_COST, mirror_cost=0.0, facing_weight=FACING_WEIGHT, excess_weight=0.0
)


class FacingDecision(NamedTuple):
    mirrored: np.ndarray  # (T,) bool: readings taken for mirrored ones (undone)
    confidence: np.ndarray  # (T,) posterior probability of the decision; NaN where not detected / no model


def facing_angle(world: np.ndarray, layout: LandmarkLayout | None = None) -> np.ndarray:
    """Heading of the torso (T,) in degrees from world landmarks (T, L, 3) of ``layout``
    (default MediaPipe's 33): 0 = facing the camera, +-180 = back to the camera, positive =
    turned to its left."""
    layout = resolve_layout(layout)
    k = layout.to_kinect(world)
    sl, sr, hl, hr = layout.indices(("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    left = k[:, sl] - k[:, sr] + k[:, hl] - k[:, hr]
    up = k[:, sl] + k[:, sr] - k[:, hl] - k[:, hr]
    forward = np.cross(left, up)  # Kinect axes: towards the camera is -z
    return np.degrees(np.arctan2(forward[:, 0], -forward[:, 2]))


def mirrored_heading(heading: np.ndarray) -> np.ndarray:
    """Heading of the mirrored reading (depth negated): ``h -> 180 - h``, wrapped to (-180, 180]."""
    return _wrap(180.0 - np.asarray(heading, dtype=np.float64))


def _wrap(deg: np.ndarray) -> np.ndarray:
    return (np.asarray(deg) + 180.0) % 360.0 - 180.0


def decode(unary: np.ndarray, pairwise: np.ndarray, temperature: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-energy path of a chain of two-state variables, and its per-step confidence.

    ``unary`` (T, 2): cost of each state at each step; ``pairwise`` (T, 2, 2): cost of
    (previous state, state) into step t (row 0 unused). Returns the Viterbi path (T,) int
    and, with a ``temperature``, the marginal probability of the path's state per step
    under ``exp(-energy / temperature)`` (forward-backward in log space); without one,
    NaN.
    """
    unary = np.asarray(unary, dtype=np.float64)
    pairwise = np.asarray(pairwise, dtype=np.float64)
    n = len(unary)
    if n == 0:
        return np.zeros(0, dtype=np.int8), np.zeros(0)
    cost = unary[0].copy()
    back = np.zeros((n, 2), dtype=np.int8)
    for t in range(1, n):
        total = cost[:, None] + pairwise[t]
        back[t] = np.argmin(total, axis=0)
        cost = total[back[t], [0, 1]] + unary[t]
    path = np.empty(n, dtype=np.int8)
    path[-1] = int(np.argmin(cost))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    if temperature is None:
        return path, np.full(n, np.nan)
    u, w = -unary / temperature, -pairwise / temperature
    fwd = np.empty((n, 2))
    bwd = np.zeros((n, 2))
    fwd[0] = u[0]
    for t in range(1, n):
        fwd[t] = np.logaddexp.reduce(fwd[t - 1][:, None] + w[t], axis=0) + u[t]
    for t in range(n - 2, -1, -1):
        bwd[t] = np.logaddexp.reduce(w[t + 1] + (u[t + 1] + bwd[t + 1])[None, :], axis=1)
    log_marg = fwd + bwd
    log_marg -= np.logaddexp(log_marg[:, 0], log_marg[:, 1])[:, None]
    return path, np.exp(log_marg[np.arange(n), path])


def sequence_energies(heading: np.ndarray, model: SequenceModel) -> tuple[np.ndarray, np.ndarray]:
    """Unary (T, 2) and pairwise (T, 2, 2) energies of the facing model for the headings of
    consecutive detected frames (state 0: as read, 1: mirrored)."""
    h = np.asarray(heading, dtype=np.float64)
    states = np.stack([h, mirrored_heading(h)], axis=1)  # (T, 2)
    unary = model.facing_weight * (1.0 - np.cos(np.radians(states))) / 2.0
    unary[:, 1] += model.mirror_cost
    pairwise = np.zeros((len(h), 2, 2))
    if len(h) > 1:
        change = np.abs(_wrap(states[1:, None, :] - states[:-1, :, None]))  # (prev, cur)
        pairwise[1:] = change + model.excess_weight * np.maximum(change - model.max_speed, 0.0)
        pairwise[1:] += model.switch_cost * (1.0 - np.eye(2))
    return unary, pairwise


def sequence_frames(heading: np.ndarray, model: SequenceModel = DEFAULT_MODEL) -> tuple[np.ndarray, np.ndarray]:
    """Which readings (T,) bool to mirror, for the headings of consecutive detected frames,
    and the decision's confidence per frame (module docstring)."""
    path, confidence = decode(*sequence_energies(heading, model), model.temperature)
    return path.astype(bool), confidence


def continuity_frames(
    heading: np.ndarray, switch_cost: float = SWITCH_COST, facing_weight: float = FACING_WEIGHT
) -> np.ndarray:
    """The earlier rule ('continuity'): the same Viterbi without trust in the reading and
    with a pull towards the camera (module docstring explains why it fails on turns)."""
    model = SequenceModel(
        switch_cost=switch_cost, mirror_cost=0.0, facing_weight=facing_weight, temperature=1.0, excess_weight=0.0
    )
    return decode(*sequence_energies(heading, model))[0].astype(bool)


def decide_facing(
    world: np.ndarray,
    detected: np.ndarray,
    method: str = "sequence",
    max_turn_deg: float | None = None,
    model: SequenceModel | None = None,
    layout: LandmarkLayout | None = None,
) -> FacingDecision:
    """Which detected frames' readings (T,) are mirrored ones, and the confidence per frame.

    ``method='sequence'`` (default): the two-state model over the detected frames in order
    (module docstring), ``model`` its weights; ``'continuity'``: the earlier rule (the same
    decoder, no trust, pull to the camera); ``'turn'``: every frame read as turned more than
    ``max_turn_deg`` from the camera (no confidence); ``'off'``: none (no confidence).
    ``layout``: the estimator's landmarks (default MediaPipe's).
    """
    if method not in METHODS:
        raise BadInput(f"facing prior method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    detected = np.asarray(detected, dtype=bool)
    out = np.zeros(len(detected), dtype=bool)
    confidence = np.full(len(detected), np.nan)
    if method == "off" or not detected.any():
        return FacingDecision(out, confidence)
    heading = facing_angle(np.asarray(world)[detected], layout)
    if method == "turn":
        if max_turn_deg is not None:
            out[detected] = np.abs(heading) > max_turn_deg
        return FacingDecision(out, confidence)
    if model is None:
        model = DEFAULT_MODEL if method == "sequence" else CONTINUITY_MODEL
    out[detected], confidence[detected] = sequence_frames(heading, model)
    return FacingDecision(out, confidence)


def back_view_frames(
    world: np.ndarray,
    detected: np.ndarray,
    max_turn_deg: float | None = None,
    method: str = "sequence",
    switch_cost: float = SWITCH_COST,
    facing_weight: float = FACING_WEIGHT,
) -> np.ndarray:
    """Detected frames (T,) bool whose reading the facing prior takes for a mirrored one
    (:func:`decide_facing`; ``switch_cost`` and ``facing_weight`` set the 'continuity' rule)."""
    model = None
    if method == "continuity":
        model = SequenceModel(switch_cost=switch_cost, mirror_cost=0.0, facing_weight=facing_weight, excess_weight=0.0)
    return decide_facing(world, detected, method, max_turn_deg, model).mirrored


def mirror(
    frames: np.ndarray,
    image: np.ndarray,
    image_z: np.ndarray,
    world: np.ndarray,
    *per_landmark: np.ndarray,
    layout: LandmarkLayout | None = None,
) -> tuple[np.ndarray, ...]:
    """Copies of the arrays with the mirrored reading of ``frames`` undone: labels exchanged
    everywhere (``layout``'s pairs, default MediaPipe's), depth (world z, image z) negated
    about the hips. ``per_landmark`` are further (T, L) arrays (visibility, presence) whose
    labels are exchanged."""
    f = np.asarray(frames, dtype=bool)
    permutation = resolve_layout(layout).mirror_permutation
    out = []
    for array, negate_z in ((image, False), (image_z, True), (world, True), *((a, False) for a in per_landmark)):
        a = np.array(array, copy=True)
        a[f] = a[f][:, permutation]
        if negate_z:
            if a.ndim == 3:
                a[f, :, 2] *= -1.0
            else:
                a[f] *= -1.0
        out.append(a)
    return tuple(out)
