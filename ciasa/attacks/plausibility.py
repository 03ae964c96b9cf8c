"""Perturbations a person could perform: joint-angle limits, a floor, no skating, bounded speed.

An attack that bends a knee backwards or pushes a foot through the floor makes a skeleton
no actor can imitate in front of a camera, which is the premise of the cross-modality
claim. This module says what "human-possible" means for a clip and enforces it inside the
attack, with every bone kept at its clean length.

Limits are **per clip and data-driven**, so the clean clip always satisfies its own
limits (projecting the clean clip returns it unchanged):

- ``hinge``: knee and elbow flexion (:class:`ciasa.skeleton.Hinge`). Hyperextension no
  further than the clean clip's own most extended frame or :data:`HYPEREXTENSION_DEG`,
  whichever allows more; flexion up to the clean maximum or :data:`MAX_FLEXION_DEG`.
- ``hip``: thigh flexion and abduction in the clean pelvis frame, within the union of
  the clean range and the human range (:data:`HIP_FLEXION_DEG`, :data:`HIP_ABDUCTION_DEG`).
- ``ankle``: the shank-foot angle, within the union of the clean range and
  :data:`ANKLE_DEG`.
- ``floor``: no ankle (foot) below the lowest height any ankle (foot) reaches in the
  clean clip ("up" is the layout's up axis, Kinect y).
- ``plant``: where a clean foot is planted (within :data:`PLANT_HEIGHT` of the floor
  and moving less than :data:`PLANT_SPEED` per frame) the perturbed foot moves at most
  :data:`PLANT_TOLERANCE` per frame more than the clean one: it may stand elsewhere but
  does not slide. Foot trajectories are first averaged over :data:`SMOOTH_FRAMES`
  frames: sensor jitter (2 cm per frame on the synthetic set's feet) is not motion.
- ``speed``: every joint's frame-to-frame speed at most ``speed_ratio`` times the top
  joint speed of the clean clip (the fastest any joint of that body moves in it;
  ``speed_ratio >= 1``). A per-joint limit would be set by each joint's largest jitter
  spike and take back almost any perturbation.

Enforcement (``method``):

- ``projection``: the perturbation of every body-frame and *limb group* (a subtree the
  attack moves: one leg, one arm, or the whole body in basic mode) is scaled by the
  largest factor in [0, 1] whose realigned skeleton meets the frame's limits
  (bisection; 0 is the clean frame, which meets them), the factors are smoothed over
  time, and a per-clip factor on top of them (bisection again) brings the speed and
  planted-foot limits in. The skeleton is realigned (SSR) at every trial, so bones stay
  exact. Hard: the result meets every limit.
- ``penalty``: a differentiable hinge-squared penalty on the same limits, added to the
  attack's loss. Soft: no guarantee.
- ``both``: the penalty steers the optimiser away from the limits and the projection
  guarantees them.

The default is ``penalty`` with weight 50, chosen on training clips (docs/attacks.md,
"Plausibility"): inside the attack loop the projection took back nearly the whole
perturbation (0-1 of 16 clips flipped against 9 unconstrained), the penalty kept most of
the attack while removing nearly all hyperextension and every under-floor frame.

Constraints in ``soft`` (default: ``plant``) are only penalised, never projected, even
when the method projects: scaling a whole leg's perturbation back wherever a planted foot
slides took back almost all of it (measured on training clips, docs/attacks.md).

A layout without metric 3-D limbs (:attr:`SkeletonLayout.kinematics` None, e.g. the
2-D OpenPose-18 of Kinetics) has no joint angles or floor to speak of: those
constraints are skipped explicitly and listed in :meth:`Plausibility.skipped`; the
speed limit still applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ciasa.attacks import constraints
from ciasa.cli import BadInput
from ciasa.skeleton import Hinge, SkeletonLayout

CONSTRAINTS = ("hinge", "hip", "ankle", "floor", "plant", "speed")
METHODS = ("projection", "penalty", "both")
# The constraints that need a 3-D metric layout (joint angles, a floor in metres).
_NEEDS_KINEMATICS = ("hinge", "hip", "ankle", "floor", "plant")

# Human ranges (degrees), after the usual clinical ranges of motion. A clean clip that
# goes further widens its own limit instead (it is what a person did).
HYPEREXTENSION_DEG = 5.0  # knees and elbows: a few degrees past straight are normal
MAX_FLEXION_DEG = 160.0
HIP_FLEXION_DEG = (-30.0, 125.0)  # extension .. flexion
HIP_ABDUCTION_DEG = (-35.0, 50.0)  # adduction .. abduction
ANKLE_DEG = (40.0, 150.0)  # shank-foot angle (dorsiflexion .. plantarflexion)
# Floor contact and skating (metres, metres per frame).
PLANT_HEIGHT = 0.05
PLANT_SPEED = 0.01
PLANT_TOLERANCE = 0.002
SMOOTH_FRAMES = 5
# Slack on every check so that float rounding of the clean clip never reads as a violation.
ANGLE_TOL_DEG = 0.5
LENGTH_TOL = 1e-3
# An elbow's bending side is known only where the clean elbow is bent at least this much.
ELBOW_SIDE_MIN_DEG = 10.0
# Measures reported by every attack run.
HYPEREXTENSION_REPORT_DEG = (10.0, 20.0)
UNDER_FLOOR_REPORT = 0.02

_TINY = 1e-9


def parse_constraints(text: str | None) -> tuple[str, ...]:
    """'all' (or None) -> every constraint; 'none' -> (); 'hinge,floor' -> those two.

    Raises ValueError naming the unknown entries (the CLI turns it into exit 2)."""
    if text is None or text.strip() == "all":
        return CONSTRAINTS
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if parts == ["none"]:
        return ()
    bad = [p for p in parts if p not in CONSTRAINTS]
    if bad or not parts:
        raise BadInput(
            f"unknown plausibility constraint(s) {bad or [text]} (use all, none, or a comma-separated "
            f"subset of {', '.join(CONSTRAINTS)})"
        )
    return tuple(c for c in CONSTRAINTS if c in parts)


@dataclass(frozen=True)
class Plausibility:
    """Which human-possible constraints an attack keeps, and how.

    Args:
        constraints: a subset of :data:`CONSTRAINTS` (default all); () turns them off.
        method: 'projection', 'penalty' or 'both' (default 'penalty', chosen on training clips).
        speed_ratio: joint speed limit as a multiple of the clean clip's (>= 1).
        weight: weight of the penalty in the attack's loss (default 50, chosen on training clips).
        steps: bisection steps of the projection (resolution 2**-steps).
        soft: constraints only penalised, never projected (default: 'plant').
    """

    constraints: tuple[str, ...] = CONSTRAINTS
    method: str = "penalty"
    speed_ratio: float = 1.0
    weight: float = 50.0
    steps: int = 8
    soft: tuple[str, ...] = ("plant",)

    def __post_init__(self) -> None:
        bad = [c for c in (*self.constraints, *self.soft) if c not in CONSTRAINTS]
        if bad:
            raise BadInput(f"unknown plausibility constraint(s) {bad} (use {', '.join(CONSTRAINTS)})")
        if self.method not in METHODS:
            raise BadInput(f"unknown plausibility method {self.method!r} (use one of {', '.join(METHODS)})")
        if not (math.isfinite(self.speed_ratio) and self.speed_ratio >= 1.0):
            raise BadInput(
                f"speed ratio {self.speed_ratio} would exclude the clean clip itself (its own speeds): need >= 1"
            )
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise BadInput(f"plausibility penalty weight must be >= 0, got {self.weight}")
        if self.steps < 1:
            raise BadInput(f"plausibility bisection steps must be >= 1, got {self.steps}")

    @classmethod
    def off(cls) -> Plausibility:
        return cls(constraints=())

    @property
    def enabled(self) -> bool:
        return bool(self.constraints)

    @property
    def projects(self) -> bool:
        return self.enabled and self.method in ("projection", "both")

    @property
    def penalises(self) -> bool:
        return self.enabled and self.method in ("penalty", "both") and self.weight > 0

    def active(self, layout: SkeletonLayout) -> tuple[str, ...]:
        """The constraints that apply to ``layout`` (the others are skipped)."""
        return tuple(c for c in self.constraints if layout.kinematics is not None or c not in _NEEDS_KINEMATICS)

    def skipped(self, layout: SkeletonLayout) -> dict[str, str]:
        """Constraints asked for that do not apply to ``layout``, with the reason."""
        reason = f"layout {layout.name!r} has no metric 3-D limbs (no joint angles, no floor)"
        return {c: reason for c in self.constraints if c not in self.active(layout)}

    def settings(self, layout: SkeletonLayout) -> dict[str, Any]:
        return {
            "constraints": list(self.constraints),
            "active": list(self.active(layout)),
            "skipped": self.skipped(layout),
            "method": self.method if self.enabled else None,
            "projected": [c for c in self.active(layout) if c not in self.soft] if self.projects else [],
            "penalised": list(self.active(layout)) if self.penalises else [],
            "speed_ratio": self.speed_ratio,
            "penalty_weight": self.weight,
        }


# ---------------------------------------------------------------------------- geometry
def _points(x: Tensor, j: int) -> Tensor:
    """Joint ``j`` of ``(N, C, T, V, M)`` as ``(N, T, M, C)``."""
    return x[:, :, :, j, :].permute(0, 2, 3, 1)


def _dot(a: Tensor, b: Tensor) -> Tensor:
    return (a * b).sum(dim=-1)


def _norm(a: Tensor) -> Tensor:
    return (a.square().sum(dim=-1) + _TINY * _TINY).sqrt()


def _unit(a: Tensor) -> Tensor:
    return a / _norm(a).unsqueeze(-1)


def _angle(a: Tensor, b: Tensor) -> Tensor:
    """Angle between vectors in degrees, stable (and differentiable) near 0 and 180."""
    return torch.rad2deg(torch.atan2(_norm(torch.linalg.cross(a, b, dim=-1)), _dot(a, b)))


def _side_vector(x: Tensor, hinge: Hinge) -> tuple[Tensor, Tensor]:
    """The joint's offset from the proximal-distal line ``(N, T, M, 3)`` and the bend ``(N, T, M)`` in degrees."""
    p, j, d = _points(x, hinge.proximal), _points(x, hinge.joint), _points(x, hinge.distal)
    axis = _unit(d - p)
    off = j - p
    perp = off - _dot(off, axis).unsqueeze(-1) * axis
    return perp, _angle(j - p, d - j)


def _front_vector(x: Tensor, hinge: Hinge, reference: Tensor | None) -> Tensor | None:
    """The direction a hinge bends towards (``(N, T, M, 3)``), perpendicular to its line."""
    if hinge.front is not None:
        p, d = _points(x, hinge.proximal), _points(x, hinge.distal)
        axis = _unit(d - p)
        f = _points(x, hinge.front[1]) - _points(x, hinge.front[0])
        return f - _dot(f, axis).unsqueeze(-1) * axis
    if reference is None:
        return None
    perp, bend = _side_vector(reference, hinge)
    # The clean clip's own bending side, where the clean joint is bent enough to have one.
    return perp * (bend >= ELBOW_SIDE_MIN_DEG).unsqueeze(-1).to(perp.dtype)


def signed_flexion(x: Tensor, hinge: Hinge, reference: Tensor | None = None, soft: float = 0.0) -> Tensor:
    """Signed flexion of a hinge per body-frame ``(N, T, M)``, degrees; negative = hyperextended.

    The sign is the side of the proximal-distal line the joint lies on relative to the
    hinge's front (the foot's direction for the knee; the clean clip ``reference``'s own
    bending side for the elbow, positive where that side is unknown). ``soft > 0`` (metres)
    makes the sign a tanh of the offset along the front, for the differentiable penalty.
    """
    perp, bend = _side_vector(x, hinge)
    front = _front_vector(x, hinge, reference)
    if front is None:
        return bend
    along = _dot(perp, _unit(front)) * (_norm(front) > 1e-6).to(perp.dtype)
    if soft > 0:
        return bend * torch.tanh(along / soft)
    return torch.where(along < 0, -bend, bend)


def pelvis_frame(reference: Tensor, layout: SkeletonLayout) -> tuple[Tensor, Tensor, Tensor]:
    """(up, lateral towards the left hip, forward) unit vectors ``(N, T, M, 3)`` of ``reference``."""
    k = layout.kinematics
    assert k is not None
    root, spine, lhip, rhip = k.pelvis
    up = _unit(_points(reference, spine) - _points(reference, root))
    lat = _points(reference, lhip) - _points(reference, rhip)
    lat = _unit(lat - _dot(lat, up).unsqueeze(-1) * up)
    fwd = torch.linalg.cross(lat, up, dim=-1)
    return up, lat, fwd


def hip_angles(x: Tensor, reference: Tensor, layout: SkeletonLayout) -> tuple[Tensor, Tensor]:
    """Thigh flexion and abduction ``(N, T, M, H)`` in degrees, in ``reference``'s pelvis frame.

    The frame comes from the clean clip so that the two legs' limits do not depend on
    each other's perturbation."""
    k = layout.kinematics
    assert k is not None
    up, lat, fwd = pelvis_frame(reference, layout)
    flex, abd = [], []
    for hip, knee, side in k.hips:
        d = _unit(_points(x, knee) - _points(x, hip))
        flex.append(torch.rad2deg(torch.atan2(_dot(d, fwd), -_dot(d, up))))
        abd.append(torch.rad2deg(torch.asin((side * _dot(d, lat)).clamp(-1 + 1e-6, 1 - 1e-6))))
    return torch.stack(flex, dim=-1), torch.stack(abd, dim=-1)


def ankle_angles(x: Tensor, layout: SkeletonLayout) -> Tensor:
    """Shank-foot angle ``(N, T, M, A)`` in degrees."""
    k = layout.kinematics
    assert k is not None
    return torch.stack(
        [_angle(_points(x, a) - _points(x, kn), _points(x, f) - _points(x, a)) for kn, a, f in k.ankles], dim=-1
    )


def heights(x: Tensor, layout: SkeletonLayout) -> Tensor:
    """Height of every joint ``(N, T, V, M)`` along the layout's up axis."""
    k = layout.kinematics
    assert k is not None
    return x[:, k.up_axis]


def speeds(x: Tensor, channels: Tensor | None = None) -> Tensor:
    """Frame-to-frame joint speed ``(N, T-1, V, M)`` (data units per frame)."""
    d = x[:, :, 1:] - x[:, :, :-1]
    if channels is not None:
        d = d * channels.to(x.device, x.dtype).view(1, -1, 1, 1, 1)
    return d.square().sum(dim=1).sqrt()


def smooth_time(x: Tensor, width: int = SMOOTH_FRAMES) -> Tensor:
    """Moving average of ``(N, C, T, V, M)`` over time (edges padded by replication)."""
    n, c, t, v, m = x.shape
    if t < 2 or width < 2:
        return x
    flat = x.permute(0, 1, 3, 4, 2).reshape(-1, 1, t)
    pad = width // 2
    out = F.avg_pool1d(F.pad(flat, (pad, width - 1 - pad), mode="replicate"), width, stride=1)
    return out.reshape(n, c, v, m, t).permute(0, 1, 4, 2, 3)


def pair_mask(frames: Tensor) -> Tensor:
    """``(N, T-1, 1, M)``: consecutive frame pairs that are both present."""
    f = frames.squeeze(1)  # (N, T, 1, M)
    return f[:, 1:] & f[:, :-1]


def joint_pairs(clean: Tensor, channels: Tensor) -> Tensor:
    """``(N, T-1, V, M)``: frame pairs in which a joint is there in both frames.

    With a score channel (OpenPose), a joint the detector missed sits at (0, 0): its jump
    there and back is no motion, so those pairs are left out of every speed."""
    pairs = pair_mask(constraints.frame_mask(clean))
    if bool(channels.all()):
        return pairs.expand(-1, -1, clean.shape[3], -1)
    seen = (clean[:, ~channels.to(clean.device)] != 0).all(dim=1)  # (N, T, V, M)
    return pairs & seen[:, 1:] & seen[:, :-1]


# ---------------------------------------------------------------------------- limits
@dataclass
class Limits:
    """One batch's per-clip limits, derived from the clean clips."""

    clean: Tensor  # (N, C, T, V, M)
    frames: Tensor  # (N, 1, T, 1, M) present body-frames
    channels: Tensor  # (C,)
    active: tuple[str, ...]
    speed_ratio: float
    hard: tuple[str, ...] = ()  # the active constraints the projection enforces
    flex_low: Tensor | None = None  # (N, M, H) lower signed flexion per hinge
    flex_high: Tensor | None = None
    hip_flex: tuple[Tensor, Tensor] | None = None  # (N, M, H) each
    hip_abd: tuple[Tensor, Tensor] | None = None
    ankle: tuple[Tensor, Tensor] | None = None  # (N, M, A)
    floor: Tensor | None = None  # (N, M, V): floor height per joint (+inf where none)
    planted: Tensor | None = None  # (N, T-1, V, M) planted frame pairs
    clean_speed: Tensor | None = None  # (N, T-1, V, M)
    plant_speed: Tensor | None = None  # (N, T-1, V, M) clean speed of the smoothed trajectory
    max_speed: Tensor | None = None  # (N, 1, 1, M) the clean clip's top joint speed
    pairs: Tensor | None = None  # (N, T-1, V, M) frame pairs a joint's speed is measured on


def _masked_min(a: Tensor, mask: Tensor, dims: tuple[int, ...]) -> Tensor:
    return torch.where(mask, a, torch.full_like(a, math.inf)).amin(dim=dims)


def _masked_max(a: Tensor, mask: Tensor, dims: tuple[int, ...]) -> Tensor:
    return torch.where(mask, a, torch.full_like(a, -math.inf)).amax(dim=dims)


def clean_limits(clean: Tensor, layout: SkeletonLayout, plaus: Plausibility, channels: Tensor | None = None) -> Limits:
    """The limits every perturbed version of ``clean`` must meet (the clean clip meets them)."""
    if channels is None:
        channels = constraints.default_channel_mask(layout, clean.shape[1])
    frames = constraints.frame_mask(clean)
    active = plaus.active(layout)
    lim = Limits(
        clean=clean,
        frames=frames,
        channels=channels,
        active=active,
        speed_ratio=plaus.speed_ratio,
        hard=tuple(c for c in active if c not in plaus.soft) if plaus.projects else (),
    )
    present = frames.squeeze(1).squeeze(2)  # (N, T, M)
    if "hinge" in active:
        k = layout.kinematics
        assert k is not None
        flex = torch.stack([signed_flexion(clean, h, clean) for h in k.hinges], dim=-1)  # (N, T, M, H)
        m = present.unsqueeze(-1)
        lim.flex_low = _masked_min(flex, m, (1,)).clamp(max=-HYPEREXTENSION_DEG)
        lim.flex_high = _masked_max(flex, m, (1,)).clamp(min=MAX_FLEXION_DEG)
    if "hip" in active:
        flex, abd = hip_angles(clean, clean, layout)
        m = present.unsqueeze(-1)
        lim.hip_flex = (
            _masked_min(flex, m, (1,)).clamp(max=HIP_FLEXION_DEG[0]),
            _masked_max(flex, m, (1,)).clamp(min=HIP_FLEXION_DEG[1]),
        )
        lim.hip_abd = (
            _masked_min(abd, m, (1,)).clamp(max=HIP_ABDUCTION_DEG[0]),
            _masked_max(abd, m, (1,)).clamp(min=HIP_ABDUCTION_DEG[1]),
        )
    if "ankle" in active:
        ang = ankle_angles(clean, layout)
        m = present.unsqueeze(-1)
        lim.ankle = (
            _masked_min(ang, m, (1,)).clamp(max=ANKLE_DEG[0]),
            _masked_max(ang, m, (1,)).clamp(min=ANKLE_DEG[1]),
        )
    if "floor" in active or "plant" in active:
        k = layout.kinematics
        assert k is not None
        h = heights(clean, layout)  # (N, T, V, M)
        n, t, v, mm = h.shape
        floor = torch.full((n, mm, v), math.inf, dtype=clean.dtype, device=clean.device)
        for kind in k.floor_joints:
            idx = list(kind)
            lowest = _masked_min(h[:, :, idx], present.unsqueeze(2), (1, 2))  # (N, M)
            floor[:, :, idx] = lowest.unsqueeze(-1)
        lim.floor = floor
    pairs = pair_mask(frames)
    lim.pairs = joint_pairs(clean, channels)
    if "plant" in active or "speed" in active:
        lim.clean_speed = speeds(clean, channels)
    if "plant" in active:
        k = layout.kinematics
        assert k is not None
        smooth = smooth_time(clean)
        h = heights(smooth, layout)
        near = h - lim.floor.permute(0, 2, 1).unsqueeze(1) <= PLANT_HEIGHT  # (N, T, V, M)
        lim.plant_speed = speeds(smooth, channels)
        planted = torch.zeros_like(lim.plant_speed, dtype=torch.bool)
        idx = list(k.plant_joints)
        planted[:, :, idx] = near[:, 1:, idx] & near[:, :-1, idx] & (lim.plant_speed[:, :, idx] < PLANT_SPEED) & pairs
        lim.planted = planted
    if "speed" in active:
        top = _masked_max(lim.clean_speed, lim.pairs, (1, 2))  # (N, M)
        lim.max_speed = top.clamp_min(0).view(top.shape[0], 1, 1, top.shape[1])
    return lim


# ---------------------------------------------------------------------------- violations
def frame_violations(x: Tensor, lim: Limits, layout: SkeletonLayout, which: tuple[str, ...] | None = None) -> Tensor:
    """``(N, T, V, M)`` bool: joints whose frame breaks a per-frame limit (angles, floor)
    among ``which`` (default: every active constraint).

    A violation is charged to the joint that moved it out of range (the hinge's middle
    joint, the thigh's knee, the foot), so the limb group that holds it is scaled back."""
    n, _, t, v, m = x.shape
    out = torch.zeros(n, t, v, m, dtype=torch.bool, device=x.device)
    present = lim.frames.squeeze(1).squeeze(2)  # (N, T, M)
    k = layout.kinematics
    which = lim.active if which is None else which
    if lim.flex_low is not None and "hinge" in which:
        assert k is not None
        for i, h in enumerate(k.hinges):
            f = signed_flexion(x, h, lim.clean)
            bad = (f < lim.flex_low[:, None, :, i] - ANGLE_TOL_DEG) | (f > lim.flex_high[:, None, :, i] + ANGLE_TOL_DEG)
            out[:, :, h.joint] |= bad & present
    if lim.hip_flex is not None and "hip" in which:
        assert k is not None
        flex, abd = hip_angles(x, lim.clean, layout)
        for i, (_, knee, _) in enumerate(k.hips):
            bad = (
                (flex[..., i] < lim.hip_flex[0][:, None, :, i] - ANGLE_TOL_DEG)
                | (flex[..., i] > lim.hip_flex[1][:, None, :, i] + ANGLE_TOL_DEG)
                | (abd[..., i] < lim.hip_abd[0][:, None, :, i] - ANGLE_TOL_DEG)
                | (abd[..., i] > lim.hip_abd[1][:, None, :, i] + ANGLE_TOL_DEG)
            )
            out[:, :, knee] |= bad & present
    if lim.ankle is not None and "ankle" in which:
        assert k is not None
        ang = ankle_angles(x, layout)
        for i, (_, _, foot) in enumerate(k.ankles):
            bad = (ang[..., i] < lim.ankle[0][:, None, :, i] - ANGLE_TOL_DEG) | (
                ang[..., i] > lim.ankle[1][:, None, :, i] + ANGLE_TOL_DEG
            )
            out[:, :, foot] |= bad & present
    if lim.floor is not None and "floor" in which:
        floor = lim.floor.permute(0, 2, 1).unsqueeze(1)  # (N, 1, V, M)
        below = (heights(x, layout) < floor - LENGTH_TOL) & torch.isfinite(floor)  # (N, T, V, M)
        out |= below & present.unsqueeze(2)
    return out


def motion_violations(x: Tensor, lim: Limits, which: tuple[str, ...] | None = None) -> Tensor:
    """``(N, T-1, V, M)`` bool: frame pairs where a joint is too fast or a planted foot slides
    (among ``which``, default every active constraint)."""
    which = lim.active if which is None else which
    sp = speeds(x, lim.channels)
    out = torch.zeros_like(sp, dtype=torch.bool)
    pairs = lim.pairs if lim.pairs is not None else pair_mask(lim.frames)
    if lim.max_speed is not None and "speed" in which:
        out |= (sp > lim.speed_ratio * lim.max_speed + LENGTH_TOL) & pairs
    if lim.planted is not None and "plant" in which:
        assert lim.plant_speed is not None
        out |= lim.planted & (speeds(smooth_time(x), lim.channels) > lim.plant_speed + PLANT_TOLERANCE + 1e-5)
    return out


def penalty(x: Tensor, lim: Limits, layout: SkeletonLayout) -> Tensor:
    """Per-sample differentiable penalty ``(N,)``: squared excess over every active limit.

    Angles count in radians, lengths in units of 5 cm, speeds in units of the joint's clean
    maximum; each term is a mean over present body-frames (or frame pairs)."""
    n = x.shape[0]
    total = x.new_zeros(n)
    present = lim.frames.squeeze(1).squeeze(2).to(x.dtype)  # (N, T, M)
    count = present.sum(dim=(1, 2)).clamp_min(1)
    k = layout.kinematics

    def excess(a: Tensor, low: Tensor, high: Tensor) -> Tensor:
        return torch.deg2rad(F.relu(low - a) + F.relu(a - high)).square()

    if lim.flex_low is not None:
        assert k is not None
        for i, h in enumerate(k.hinges):
            f = signed_flexion(x, h, lim.clean, soft=0.005)
            e = excess(f, lim.flex_low[:, None, :, i], lim.flex_high[:, None, :, i])
            total = total + (e * present).sum(dim=(1, 2)) / count
    if lim.hip_flex is not None:
        flex, abd = hip_angles(x, lim.clean, layout)
        e = excess(flex, lim.hip_flex[0][:, None], lim.hip_flex[1][:, None]) + excess(
            abd, lim.hip_abd[0][:, None], lim.hip_abd[1][:, None]
        )
        total = total + (e.sum(dim=-1) * present).sum(dim=(1, 2)) / count
    if lim.ankle is not None:
        ang = ankle_angles(x, layout)
        e = excess(ang, lim.ankle[0][:, None], lim.ankle[1][:, None])
        total = total + (e.sum(dim=-1) * present).sum(dim=(1, 2)) / count
    if lim.floor is not None and "floor" in lim.active:
        floor = lim.floor.permute(0, 2, 1).unsqueeze(1)
        finite = torch.isfinite(floor)
        gap = F.relu(torch.where(finite, floor, torch.zeros_like(floor)) - heights(x, layout)) * finite
        total = total + ((gap / 0.05).square().sum(dim=2) * present).sum(dim=(1, 2)) / count
    if lim.max_speed is not None or lim.planted is not None:
        sp = speeds(x, lim.channels)
        pairs = (lim.pairs if lim.pairs is not None else pair_mask(lim.frames)).to(x.dtype)
        npairs = pair_mask(lim.frames).to(x.dtype).sum(dim=(1, 2, 3)).clamp_min(1)
        if lim.max_speed is not None:
            cap = lim.speed_ratio * lim.max_speed
            e = (F.relu(sp - cap) / cap.clamp_min(1e-3)).square() * pairs
            total = total + e.sum(dim=(1, 2, 3)) / npairs
        if lim.planted is not None:
            assert lim.plant_speed is not None
            sp_smooth = speeds(smooth_time(x), lim.channels)
            e = (F.relu(sp_smooth - lim.plant_speed - PLANT_TOLERANCE) / PLANT_SPEED).square() * lim.planted
            total = total + e.sum(dim=(1, 2, 3)) / npairs
    return total


# ---------------------------------------------------------------------------- projection
def limb_groups(joints: Tensor, layout: SkeletonLayout) -> Tensor:
    """``(V,)`` long: the limb group of every movable joint (-1 for the others).

    A group is a subtree of movable joints hanging from a joint the attack does not move
    (each leg in advanced mode; the whole body when the root moves). Groups are scaled
    independently: a knee bent backwards on the left leg does not shrink the right leg."""
    mov = joints.cpu().bool().tolist()
    group = [-1] * layout.num_joints
    roots: list[int] = []
    for level in layout.tree_levels:
        for j in level:
            if not mov[j]:
                continue
            p = layout.parents[j]
            if p >= 0 and mov[p]:
                group[j] = group[p]
            else:
                group[j] = len(roots)
                roots.append(j)
    return torch.as_tensor(group, dtype=torch.long)


def _per_joint(scale: Tensor, groups: Tensor) -> Tensor:
    """``(N, 1, T, G, M)`` group scales -> ``(N, 1, T, V, M)`` joint scales (1 outside the groups)."""
    idx = groups.clamp_min(0).to(scale.device)
    out = scale.index_select(3, idx)
    return torch.where((groups >= 0).to(scale.device).view(1, 1, 1, -1, 1), out, torch.ones_like(out))


def _group_any(flags: Tensor, groups: Tensor, num_groups: int) -> Tensor:
    """``(N, T, V, M)`` joint flags -> ``(N, T, G, M)``: any flag in the group."""
    n, t, v, m = flags.shape
    out = torch.zeros(n, t, num_groups, m, dtype=torch.bool, device=flags.device)
    for g in range(num_groups):
        sel = (groups == g).nonzero().flatten().to(flags.device)
        out[:, :, g] = flags.index_select(2, sel).any(dim=2)
    return out


def _smooth_scales(s: Tensor, width: int = 5) -> Tensor:
    """Erode then average the per-frame scales over time (``(N, 1, T, G, M)``), never raising one."""
    n, _, t, g, m = s.shape
    flat = s.permute(0, 3, 4, 1, 2).reshape(n * g * m, 1, t)
    pad = width // 2
    eroded = -F.max_pool1d(F.pad(-flat, (pad, pad), mode="replicate"), width, stride=1)
    smooth = F.avg_pool1d(F.pad(eroded, (pad, pad), mode="replicate"), width, stride=1)
    smooth = torch.minimum(smooth, flat)
    return smooth.reshape(n, g, m, 1, t).permute(0, 3, 4, 1, 2)


def projection_scales(
    delta: Tensor,
    lim: Limits,
    layout: SkeletonLayout,
    groups: Tensor,
    realign: Callable[[Tensor], Tensor],
    steps: int = 8,
) -> Tensor:
    """``(N, 1, T, V, M)`` per-joint factors in [0, 1] for ``delta`` such that
    ``realign(clean + factor * delta)`` meets every active limit.

    ``realign(scaled_delta)`` must return the realigned skeleton for the scaled
    perturbation (for the attack: SSR of the clipped ``clean + scaled_delta``); at factor
    0 it returns the clean clip, which meets its own limits, so a feasible factor always
    exists and bisection keeps one. First per body-frame and limb group (angles, floor),
    then one factor per clip and group on top (speed, planted feet)."""
    n, _, t, _, m = delta.shape
    num_groups = int(groups.max()) + 1 if groups.numel() and int(groups.max()) >= 0 else 0
    ones = torch.ones(n, 1, t, 1, m, dtype=delta.dtype, device=delta.device).expand(n, 1, t, max(num_groups, 1), m)
    if num_groups == 0:
        return torch.ones(n, 1, t, layout.num_joints, m, dtype=delta.dtype, device=delta.device)
    ones = ones.contiguous()

    def local_bad(scale: Tensor) -> Tensor:  # (N, T, G, M)
        x = realign(_per_joint(scale, groups) * delta)
        return _group_any(frame_violations(x, lim, layout, lim.hard), groups, num_groups)

    with torch.no_grad():
        scale = ones.clone()
        bad = local_bad(scale).unsqueeze(1)  # (N, 1, T, G, M)
        if bool(bad.any()):
            lo, hi = torch.zeros_like(scale), ones.clone()
            for _ in range(steps):
                mid = (lo + hi) / 2
                good = ~local_bad(mid).unsqueeze(1)
                lo = torch.where(good, mid, lo)
                hi = torch.where(good, hi, mid)
            scale = torch.where(bad, lo, ones)
            smooth = _smooth_scales(scale)
            ok = ~local_bad(smooth).unsqueeze(1)
            scale = torch.where(ok, smooth, scale)
        if "speed" not in lim.hard and "plant" not in lim.hard:
            return _per_joint(scale, groups)
        scale = _shrink_motion(scale, delta, lim, groups, num_groups, realign)

        def clip_bad(factor: Tensor) -> Tensor:  # (N, 1, 1, G, M)
            s = factor * scale
            x = realign(_per_joint(s, groups) * delta)
            frame = _group_any(frame_violations(x, lim, layout, lim.hard), groups, num_groups).any(dim=1)
            motion = _group_any(motion_violations(x, lim, lim.hard), groups, num_groups).any(dim=1)
            return (frame | motion).view(n, 1, 1, num_groups, m)

        one = torch.ones(n, 1, 1, num_groups, m, dtype=delta.dtype, device=delta.device)
        bad = clip_bad(one)
        if bool(bad.any()):
            lo, hi = torch.zeros_like(one), one.clone()
            for _ in range(steps):
                mid = (lo + hi) / 2
                good = ~clip_bad(mid)
                lo = torch.where(good, mid, lo)
                hi = torch.where(good, hi, mid)
            scale = scale * torch.where(bad, lo, one)
        return _per_joint(scale, groups)


def _shrink_motion(
    scale: Tensor,
    delta: Tensor,
    lim: Limits,
    groups: Tensor,
    num_groups: int,
    realign: Callable[[Tensor], Tensor],
    rounds: int = 12,
    width: int = 5,
) -> Tensor:
    """Halve the scales around frame pairs that are too fast or where a planted foot slides,
    a few frames either side and tapered, until none is left (or ``rounds`` run out).

    Local in time, so one fast frame does not cost the whole clip; the per-clip factor
    after it catches whatever is left."""
    pad = width // 2
    for _ in range(rounds):
        x = realign(_per_joint(scale, groups) * delta)
        bad = _group_any(motion_violations(x, lim, lim.hard), groups, num_groups)  # (N, T-1, G, M)
        if not bool(bad.any()):
            break
        n, _, g, m = bad.shape
        flag = torch.zeros(n, bad.shape[1] + 1, g, m, dtype=torch.bool, device=bad.device)
        flag[:, 1:] |= bad
        flag[:, :-1] |= bad
        seq = flag.permute(0, 2, 3, 1).reshape(n * g * m, 1, -1).to(scale.dtype)
        seq = F.max_pool1d(F.pad(seq, (pad, pad)), width, stride=1)
        flag = seq.reshape(n, g, m, -1).permute(0, 3, 1, 2).bool().unsqueeze(1)  # (N, 1, T, G, M)
        scale = _smooth_scales(scale * torch.where(flag, 0.5, 1.0).to(scale.dtype), width)
    return scale


def is_plausible(x: Tensor, lim: Limits, layout: SkeletonLayout, which: tuple[str, ...] | None = None) -> Tensor:
    """``(N,)`` bool: the clip meets every limit among ``which`` (default: every active one;
    ``lim.hard`` for the ones the projection guarantees)."""
    frame = frame_violations(x, lim, layout, which).any(dim=(1, 2, 3))
    motion = motion_violations(x, lim, which).any(dim=(1, 2, 3)) if x.shape[2] > 1 else torch.zeros_like(frame)
    return ~(frame | motion)


# ---------------------------------------------------------------------------- measures
def measures(
    x: np.ndarray | Tensor, clean: np.ndarray | Tensor, layout: SkeletonLayout, joints: Tensor | None = None
) -> dict[str, np.ndarray]:
    """Per-clip plausibility measures of ``x`` against its ``clean`` clip (arrays of ``(N,)``).

    - ``leg_hyperext_10`` / ``_20``, ``arm_hyperext_10`` / ``_20``: leg-frames (arm-frames)
      with the knee (elbow) bent backwards by more than 10 / 20 degrees, and the number of
      leg-frames (``leg_frames``, ``arm_frames``) they are counted in;
    - ``under_floor``: body-frames with a foot or ankle more than 2 cm below the clean
      clip's floor (its lowest foot or ankle point), of ``body_frames``;
    - ``skating_mm``: mean horizontal drift of a clean-planted foot (its trajectory
      averaged over :data:`SMOOTH_FRAMES` frames) over each planted stretch (mm; NaN
      where the clip has no planted stretch) and ``plant_stretches``;
    - ``speed_ratio``: the top speed of any of ``joints`` (default all) over the clean
      clip's top joint speed (what the ``speed`` limit bounds).
    Entries that need metric 3-D limbs are NaN for other layouts.
    """
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x).float()
    clean = torch.as_tensor(np.asarray(clean) if not isinstance(clean, Tensor) else clean).float()
    n = x.shape[0]
    channels = constraints.default_channel_mask(layout, clean.shape[1])
    frames = constraints.frame_mask(clean)
    present = frames.squeeze(1).squeeze(2)  # (N, T, M)
    nan = np.full(n, np.nan)
    out: dict[str, np.ndarray] = {}
    k = layout.kinematics
    with torch.no_grad():
        if k is not None:
            for name, hinges in (("leg", k.knees), ("arm", k.elbows)):
                flex = torch.stack([signed_flexion(x, h, clean) for h in hinges], dim=-1)  # (N, T, M, H)
                m = present.unsqueeze(-1).expand_as(flex)
                out[f"{name}_frames"] = m.sum(dim=(1, 2, 3)).numpy().astype(float)
                for deg in HYPEREXTENSION_REPORT_DEG:
                    out[f"{name}_hyperext_{int(deg)}"] = ((flex < -deg) & m).sum(dim=(1, 2, 3)).numpy().astype(float)
            h = heights(x, layout)
            hc = heights(clean, layout)
            idx = [j for kind in k.floor_joints for j in kind]
            floor = _masked_min(hc[:, :, idx], present.unsqueeze(2), (1, 2))  # (N, M)
            under = (h[:, :, idx] < floor[:, None, None, :] - UNDER_FLOOR_REPORT).any(dim=2) & present
            out["under_floor"] = under.sum(dim=(1, 2)).numpy().astype(float)
            out["body_frames"] = present.sum(dim=(1, 2)).numpy().astype(float)
            out["skating_mm"], out["plant_stretches"] = _skating(x, clean, layout, frames)
        else:
            for key in (
                "leg_frames",
                "arm_frames",
                "leg_hyperext_10",
                "leg_hyperext_20",
                "arm_hyperext_10",
                "arm_hyperext_20",
                "under_floor",
                "skating_mm",
                "plant_stretches",
            ):
                out[key] = nan.copy()
            out["body_frames"] = present.sum(dim=(1, 2)).numpy().astype(float)
        pairs = joint_pairs(clean, channels)
        sp, spc = speeds(x, channels), speeds(clean, channels)
        top_c = _masked_max(spc, pairs, (1, 2, 3))
        if joints is not None:
            sel = joints.cpu().bool()
            sp, pairs = sp[:, :, sel], pairs[:, :, sel]
        top = _masked_max(sp, pairs, (1, 2, 3)) if sp.shape[2] else torch.zeros(n)  # (N,)
        ratio = torch.where(top_c > 1e-9, top / top_c.clamp_min(1e-9), torch.where(top > 1e-9, torch.inf, 1.0))
        # a clip with no joint of ``joints`` moving (top <= top_c) reads as at most 1
        out["speed_ratio"] = ratio.numpy().astype(float)
    return out


def _skating(x: Tensor, clean: Tensor, layout: SkeletonLayout, frames: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean horizontal drift (mm) of clean-planted feet over their planted stretches, per clip."""
    k = layout.kinematics
    assert k is not None
    plaus = Plausibility(constraints=("plant",))
    lim = clean_limits(clean, layout, plaus)
    assert lim.planted is not None
    horiz = [c for c in range(x.shape[1]) if c != k.up_axis]
    xp = smooth_time(x)[:, horiz].numpy()
    planted = lim.planted.numpy()  # (N, T-1, V, M)
    n = x.shape[0]
    drift = np.full(n, np.nan)
    count = np.zeros(n)
    for i in range(n):
        values = []
        for j in k.plant_joints:
            for b in range(x.shape[4]):
                run = planted[i, :, j, b]
                t = 0
                while t < len(run):
                    if not run[t]:
                        t += 1
                        continue
                    start = t
                    while t < len(run) and run[t]:
                        t += 1
                    seg = xp[i, :, start : t + 1, j, b]  # (2, L)
                    values.append(float(np.linalg.norm(seg - seg[:, :1], axis=0).max()) * 1000.0)
        count[i] = len(values)
        if values:
            drift[i] = float(np.mean(values))
    return drift, count


def summarize_measures(per_clip: dict[str, np.ndarray]) -> dict[str, Any]:
    """Pool per-clip measures into shares over all leg-frames / body-frames, for ``summary.json``."""

    def share(num: str, den: str) -> float | None:
        a, b = per_clip[num], per_clip[den]
        ok = np.isfinite(a) & np.isfinite(b)
        total = float(b[ok].sum())
        return float(a[ok].sum()) / total if total > 0 else None

    def finite(key: str) -> np.ndarray:
        a = per_clip[key]
        return a[np.isfinite(a)]

    skate, ratio = finite("skating_mm"), per_clip["speed_ratio"]
    under = per_clip["under_floor"]
    return {
        "leg_hyperextended_10deg": share("leg_hyperext_10", "leg_frames"),
        "leg_hyperextended_20deg": share("leg_hyperext_20", "leg_frames"),
        "arm_hyperextended_10deg": share("arm_hyperext_10", "arm_frames"),
        "arm_hyperextended_20deg": share("arm_hyperext_20", "arm_frames"),
        "under_floor_2cm": share("under_floor", "body_frames"),
        "clips_under_floor": int((np.nan_to_num(under) > 0).sum()),
        "foot_skating_mm": float(skate.mean()) if skate.size else None,
        "plant_stretches": int(np.nansum(per_clip["plant_stretches"])),
        "max_speed_ratio": float(np.max(ratio)) if ratio.size else None,
        "mean_speed_ratio": float(np.mean(ratio)) if ratio.size else None,
        "leg_frames": int(np.nansum(per_clip["leg_frames"])),
        "body_frames": int(np.nansum(per_clip["body_frames"])),
    }
