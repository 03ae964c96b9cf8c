"""The action library: joint-angle curves for each synthetic class.

Each action is a function of a :class:`PoseBuilder`, which starts from a rest pose
with small idle movements (breathing sway, weight shifts, a wandering gaze) and
offers the action a phase ``u`` (0 before the action, 1 after it, warped so the
speed varies within the action), the subject's random style (``amp``, timing
jitter) and two ways to drive an arm: angles (elevation/azimuth, see
:mod:`ciasa.data.synth.body`) or a wrist target reached by two-bone inverse
kinematics (the elbow swings towards a pole direction), which is how "hand to
mouth" or "hand to brow" stay right for every body size.

Two kinds of classes. The first 14 (``GROSS_ACTIONS``) differ in gross limb motion
(which limbs move, where to, how often) and survive re-extraction by a video pose
estimator (errors of ~5 cm in x/y, ~10 cm in depth) easily. The other 16
(``FINE_ACTIONS``) are deliberately fine-grained, as much of NTU RGB+D is: hand-to-head
and hand-to-torso actions (brushing teeth, phone call, headache, neck pain, eating, ...)
that differ from each other and from drinking or saluting by a few centimetres of hand
placement and by rhythm. Their hand targets are body landmarks (mouth, ear, temple,
back of the neck, belly, ...) derived from the subject's proportions, a few centimetres
in front of the skin, and head landmarks follow the head's rotation. Per-performance
offsets of those targets, amplitude and timing make neighbouring fine classes overlap a
little, which is what makes real classifiers fragile; on clean skeletons each class is
still recognisable. The primary hand is the right one, as for most NTU performers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from ciasa.cli import BadInput
from ciasa.data.synth.body import TRUNK_ANGLES, Body, Pose, dir_angles, limb_dir, pitch, roll, yaw

LEFT, RIGHT = 1, -1


def keys(u: np.ndarray, knots: list[float], values: list[float]) -> np.ndarray:
    """Smooth, overshoot-free curve through (knot, value) pairs, held flat outside them."""
    k = np.asarray(knots, dtype=float)
    v = np.asarray(values, dtype=float)
    return PchipInterpolator(k, v)(np.clip(u, k[0], k[-1]))


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def envelope(u: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """0 before a, smooth rise to 1 at b, hold to c, smooth fall to 0 at d."""
    rise = smoothstep((u - a) / max(b - a, 1e-6))
    fall = 1.0 - smoothstep((u - c) / max(d - c, 1e-6))
    return np.minimum(rise, fall)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _angle_blend(a: np.ndarray, b: np.ndarray, w: np.ndarray, side: int) -> np.ndarray:
    """Directions between ``a`` and ``b`` (T, 3), interpolated in elevation/azimuth."""
    ea, aa = dir_angles(a, side)
    eb, ab = dir_angles(b, side)
    # an arm hanging (or pointing) straight along the vertical has no azimuth: borrow the other's
    aa = np.where(np.minimum(ea, 180 - ea) < 3, ab, aa)
    ab = np.where(np.minimum(eb, 180 - eb) < 3, aa, ab)
    diff = (ab - aa + 180.0) % 360.0 - 180.0
    return limb_dir(ea + w * (eb - ea), aa + w * diff, side)


def two_bone_ik(target: np.ndarray, pole: np.ndarray, l1: float, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper-arm and forearm directions (T, 3) putting the wrist at ``target`` (from the shoulder).

    Out-of-reach targets are pulled onto the reachable shell; the elbow bends
    towards ``pole``.
    """
    dist = np.linalg.norm(target, axis=-1)
    n = target / np.maximum(dist, 1e-9)[:, None]
    d = np.clip(dist, abs(l1 - l2) + 1e-3, (l1 + l2) * 0.995)
    a = (l1**2 - l2**2 + d**2) / (2.0 * d)
    h = np.sqrt(np.maximum(l1**2 - a**2, 0.0))
    q = pole - np.sum(pole * n, axis=-1, keepdims=True) * n
    degenerate = np.linalg.norm(q, axis=-1) < 1e-6  # pole along the target: any normal will do
    if degenerate.any():
        alt = np.cross(n[degenerate], np.array([1.0, 0.0, 0.0]))
        alt[np.linalg.norm(alt, axis=-1) < 1e-6] = np.cross(n[degenerate], np.array([0.0, 1.0, 0.0]))[
            np.linalg.norm(alt, axis=-1) < 1e-6
        ]
        q[degenerate] = alt
    q = _unit(q)
    elbow = a[:, None] * n + h[:, None] * q
    return _unit(elbow), _unit(n * d[:, None] - elbow)


def idle(rng: np.random.Generator, time: np.ndarray, amplitude: float) -> np.ndarray:
    """Slow random wandering: three sinusoids of 0.15-0.7 Hz, total amplitude about ``amplitude``."""
    f = rng.uniform(0.15, 0.7, 3)
    ph = rng.uniform(0, 2 * np.pi, 3)
    w = rng.dirichlet(np.ones(3))
    return amplitude * np.sum(w[:, None] * np.sin(2 * np.pi * f[:, None] * time + ph[:, None]), axis=0)


@dataclass
class Style:
    """Per-performance randomness an action uses: amplitude and timing jitter."""

    amp: float  # ~0.8-1.15, scales how far the action goes
    jitter: float  # ~0.04, the spread of key timings


class PoseBuilder:
    """Rest pose + idle motion, editable by an action, then turned into a :class:`Pose`."""

    def __init__(self, body: Body, u: np.ndarray, time: np.ndarray, rng: np.random.Generator, style: Style):
        self.body, self.u, self.time, self.rng, self.style = body, u, time, rng, style
        t = len(u)
        self.t = t
        z = np.zeros(t)
        self.trunk = {name: z.copy() for name in TRUNK_ANGLES}
        self.trunk["pelvis_pitch"] += rng.normal(2.0, 2.0) + idle(rng, time, 1.0)
        self.trunk["pelvis_roll"] += idle(rng, time, 1.5)
        self.trunk["spine_yaw"] += idle(rng, time, 3.0)
        self.trunk["neck_pitch"] += rng.normal(0.0, 4.0) + idle(rng, time, 3.0)
        self.trunk["neck_yaw"] += rng.normal(0.0, 5.0) + idle(rng, time, 6.0)
        self.arm: dict[int, dict[str, np.ndarray]] = {}
        self.arm_override: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for side in (LEFT, RIGHT):
            self.arm[side] = {
                "up_elev": np.full(t, rng.uniform(4, 12)) + idle(rng, time, 3.0),
                "up_azim": np.full(t, rng.uniform(65, 95)) + idle(rng, time, 6.0),
                "fo_elev": np.full(t, rng.uniform(8, 22)) + idle(rng, time, 4.0),
                "fo_azim": np.full(t, rng.uniform(0, 40)),
                "wrist": np.full(t, rng.uniform(0, 12)),
            }
        stance = rng.uniform(2, 6)
        self.leg = {
            side: {
                "hip_flex": np.full(t, rng.normal(0, 1.5)),
                "hip_abd": np.full(t, stance) + idle(rng, time, 0.8),
                "knee": np.zeros(t),
                "plantar": z.copy(),
                "foot_follow": z.copy(),
            }
            for side in (LEFT, RIGHT)
        }
        for side in (LEFT, RIGHT):
            self.bend_knees(side, np.full(t, abs(rng.normal(2, 1.5))))
        self.planted = {LEFT: np.ones(t, bool), RIGHT: np.ones(t, bool)}
        self.airborne = z.copy()
        self.root_shift = np.zeros((t, 3))
        self.root_shift[:, 0] = idle(rng, time, 0.012)

    # -- helpers for actions ---------------------------------------------------------
    def k(self, *knots: float) -> list[float]:
        """Key timings with per-performance jitter (kept increasing, ends fixed)."""
        ks = np.asarray(knots, dtype=float)
        inner = ks[1:-1] + self.rng.normal(0, self.style.jitter, len(ks) - 2)
        ks[1:-1] = np.maximum.accumulate(np.clip(inner, ks[0] + 1e-3, ks[-1] - 1e-3))
        ks = ks + np.arange(len(ks)) * 1e-4  # strictly increasing
        return list(ks)

    def a(self, rest: float | np.ndarray, value: float) -> np.ndarray:
        """Scale an excursion from ``rest`` by the performance's amplitude."""
        return rest + self.style.amp * (value - rest)

    def bend_knees(self, side: int, knee: np.ndarray) -> None:
        """Flex a standing leg's knee with the thigh going forward by half as much, so the
        foot stays under the hip (a plain knee flexion would lift the foot backwards)."""
        self.leg[side]["knee"] += knee
        self.leg[side]["hip_flex"] += 0.5 * knee

    def rest_arm_dirs(self, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._angle_dirs(side)

    def _angle_dirs(self, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arm = self.arm[side]
        up = limb_dir(arm["up_elev"], arm["up_azim"], side)
        fo = limb_dir(np.maximum(arm["fo_elev"], 0.0), arm["fo_azim"], side)
        hand = limb_dir(np.maximum(arm["fo_elev"] + arm["wrist"], 0.0), arm["fo_azim"], side)
        return up, fo, hand

    def _landmark_from_spine_shoulder(self, landmark: str, side: int) -> tuple[np.ndarray, bool]:
        """A landmark relative to the spine-shoulder joint (chest frame, head upright) and
        whether it rides on the head (and neck). ``side`` picks the left/right one of a pair.

        Heights come from the neck and head segments, depths from stature: the head joint
        is the head's centre, the face surface lies ~0.055 stature in front of it, so
        face targets sit a few centimetres in front of the skin, where a hand can be.
        """
        b = self.body
        s, nk, hd = b.stature, b["neck"], b["head"]
        table = {
            # on the head (follow the neck's rotation)
            "mouth": ((0.0, nk + 0.35 * hd, 0.075 * s), True),
            "chin": ((0.0, nk + 0.08 * hd, 0.07 * s), True),
            "eyes": ((0.0, nk + 0.75 * hd, 0.085 * s), True),
            "brow": ((side * 0.035 * s, nk + 0.85 * hd, 0.07 * s), True),
            "temple": ((side * 0.058 * s, nk + 0.85 * hd, 0.03 * s), True),
            "ear": ((side * 0.05 * s, nk + 0.8 * hd, 0.0), True),
            "crown": ((0.0, nk + hd + 0.085 * s, 0.01 * s), True),
            "back_of_neck": ((0.0, 0.9 * nk, -0.06 * s), True),
            # on the chest frame
            "chest": ((0.0, -0.10 * s - b["shoulder_drop"], 0.05 * s), False),
            "sternum": ((0.0, -0.09 * s, 0.085 * s), False),
            "belly": ((0.0, -0.21 * s, 0.11 * s), False),
        }
        if landmark not in table:
            raise KeyError(f"unknown body landmark {landmark!r}; known: {sorted(table)}")
        point, on_head = table[landmark]
        return np.asarray(point, dtype=float), on_head

    def _shoulder_offset(self, side: int) -> np.ndarray:
        """The ``side`` shoulder relative to the spine-shoulder joint, chest frame."""
        return np.array([side * self.body["shoulder_half"], -self.body["shoulder_drop"], 0.0])

    def shoulder_to(self, landmark: str, side: int) -> np.ndarray:
        """A body landmark relative to the ``side`` shoulder, in the chest frame, head upright (3,)."""
        point, _ = self._landmark_from_spine_shoulder(landmark, side)
        return point - self._shoulder_offset(side)

    def landmark(self, landmark: str, side: int) -> np.ndarray:
        """Like :meth:`shoulder_to` but per frame (T, 3): head landmarks follow the head's
        current neck rotation, so set the neck angles before asking (a hand at the ear
        stays at the ear when the head tilts)."""
        point, on_head = self._landmark_from_spine_shoulder(landmark, side)
        if on_head:
            tr = self.trunk
            r = yaw(tr["neck_yaw"]) @ pitch(tr["neck_pitch"]) @ roll(tr["neck_roll"])
            pts = np.einsum("tij,j->ti", r, point)
        else:
            pts = np.broadcast_to(point, (self.t, 3)).copy()
        return pts - self._shoulder_offset(side)

    def to_shoulder(self, point: np.ndarray, side: int) -> np.ndarray:
        """A point given relative to the spine-shoulder joint, made relative to the ``side`` shoulder."""
        return point - self._shoulder_offset(side)

    def wrist_rest(self, side: int) -> np.ndarray:
        up, fo, _ = self._angle_dirs(side)
        return self.body["upper_arm"] * up + self.body["forearm"] * fo

    def reach(
        self,
        side: int,
        target: np.ndarray,
        pole: np.ndarray,
        weight: np.ndarray,
        hand: np.ndarray | None = None,
        hand_weight: np.ndarray | None = None,
    ) -> None:
        """Drive the arm so its wrist follows ``target`` (T, 3) (shoulder-relative) by ``weight``.

        The hand continues the forearm unless ``hand`` gives its direction (the wrist
        bends), blended in by ``hand_weight`` (so a palm laid on the face or the chest
        lies along it instead of poking into it).
        """
        up, fo = two_bone_ik(target, np.broadcast_to(pole, target.shape), self.body["upper_arm"], self.body["forearm"])
        hd = fo
        if hand is not None:
            hw = np.ones(self.t) if hand_weight is None else np.asarray(hand_weight)
            hd = _unit((1.0 - hw)[:, None] * fo + hw[:, None] * _unit(np.broadcast_to(hand, fo.shape)))
        self.set_arm_dirs(side, up, fo, hd, weight)

    def set_arm_dirs(self, side: int, up: np.ndarray, fo: np.ndarray, hand: np.ndarray, weight: np.ndarray) -> None:
        """Blend the arm from its angle-driven pose to the given directions by ``weight``.

        The blend runs on elevation and azimuth, not on the vectors, so raising an arm
        from hanging to overhead sweeps it up through its plane of elevation (a vector
        blend between near-opposite directions would take an arbitrary shortcut).
        """
        w = np.broadcast_to(weight, (self.t,))
        self.arm_override[side] = tuple(
            _angle_blend(r, d, w, side) for r, d in zip(self._angle_dirs(side), (up, fo, hand))
        )

    def build(self) -> Pose:
        dirs = {side: self.arm_override.get(side) or self._angle_dirs(side) for side in (LEFT, RIGHT)}
        return Pose(
            trunk=self.trunk,
            arm_dirs=dirs,
            leg=self.leg,
            planted=self.planted,
            airborne=self.airborne,
            root_shift=self.root_shift,
        )


# ---------------------------------------------------------------------------------------
# The actions. Key values are degrees unless stated; "p.a(rest, peak)" scales by amplitude.


def drink_water(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.32, 0.68, 0.95))
    goal = p.shoulder_to("mouth", RIGHT) + np.array([RIGHT * 0.035 * s, -0.05 * s, 0.0])
    start = p.wrist_rest(RIGHT)
    bulge = np.sin(np.pi * w)[:, None] * np.array([0.0, 0.0, 0.06 * s])
    target = start + w[:, None] * (goal - start) + bulge
    p.reach(RIGHT, target, np.array([RIGHT * 0.6, -1.0, 0.1]), np.ones(p.t))
    sip = envelope(u, *p.k(0.3, 0.42, 0.6, 0.72))
    p.trunk["neck_pitch"] += p.a(0, -18) * sip
    p.trunk["spine_pitch"] += -3 * sip


def throw(p: PoseBuilder) -> None:
    u = p.u
    kt = p.k(0.0, 0.15, 0.40, 0.52, 0.60, 0.76, 1.0)
    r = p.arm[RIGHT]
    r["up_elev"] = keys(u, kt, [r["up_elev"][0], 45, p.a(8, 115), 115, 70, 30, r["up_elev"][-1]])
    r["up_azim"] = keys(u, kt, [r["up_azim"][0], 140, 125, 60, 10, -15, r["up_azim"][-1]])
    r["fo_elev"] = keys(u, kt, [r["fo_elev"][0], 90, 170, 150, 75, 30, r["fo_elev"][-1]])
    r["fo_azim"] = keys(u, kt, [r["fo_azim"][0], 150, 160, 30, 0, -20, r["fo_azim"][-1]])
    left = p.arm[LEFT]
    left["up_elev"] = keys(u, kt, [left["up_elev"][0], 30, p.a(8, 65), 45, 25, 15, left["up_elev"][-1]])
    left["up_azim"] = keys(u, kt, [left["up_azim"][0], 20, 10, 40, 60, 70, left["up_azim"][-1]])
    left["fo_elev"] = keys(u, kt, [left["fo_elev"][0], 40, 70, 50, 30, 20, left["fo_elev"][-1]])
    p.trunk["spine_yaw"] += keys(u, kt, [0, -10, p.a(0, -30), 0, 25, 12, 0])
    p.trunk["pelvis_pitch"] += keys(u, kt, [0, -3, -8, 5, p.a(0, 25), 10, 0])
    p.bend_knees(RIGHT, keys(u, kt, [0, 10, 15, 5, 15, 8, 0]))
    p.bend_knees(LEFT, keys(u, kt, [0, 5, 10, 25, 20, 8, 0]))


def _sit_tracks(p: PoseBuilder, u: np.ndarray, kt: list[float], standing_up: bool) -> None:
    seat = p.a(0, 88)
    if not standing_up:  # stand -> lean -> lower -> seated
        hip = [0, 15, 60, seat, seat]
        knee = [0, 20, 70, seat + 4, seat + 4]
        lean = [0, 20, p.a(0, 40), 12, 8]
        up_e, up_a = [None, 20, 35, 22, 20], [None, 30, 10, 15, 15]
        fo_e = [None, 30, 45, 60, 62]
    else:  # seated -> lean forward -> rise -> stand
        hip = [seat, seat, 62, 18, 0]
        knee = [seat + 4, seat + 4, 75, 22, 0]
        lean = [8, 30, p.a(0, 44), 12, 0]
        up_e, up_a = [20, 26, 30, 15, None], [15, 12, 10, 50, None]
        fo_e = [62, 55, 40, 25, None]
    for side in (LEFT, RIGHT):
        p.leg[side]["hip_flex"] += keys(u, kt, hip)
        p.leg[side]["knee"] += keys(u, kt, knee)
        arm = p.arm[side]
        for name, vals in (("up_elev", up_e), ("up_azim", up_a), ("fo_elev", fo_e)):
            rest = float(arm[name][0])
            arm[name] = keys(u, kt, [rest if v is None else v for v in vals]) + (arm[name] - arm[name][0])
    p.trunk["pelvis_pitch"] += keys(u, kt, lean)


def sitting_down(p: PoseBuilder) -> None:
    _sit_tracks(p, p.u, p.k(0.0, 0.15, 0.45, 0.78, 1.0), standing_up=False)


def standing_up(p: PoseBuilder) -> None:
    _sit_tracks(p, p.u, p.k(0.0, 0.22, 0.48, 0.78, 1.0), standing_up=True)


def clapping(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.22, 0.8, 0.96)
    w = envelope(u, a, b, c, d)
    claps = p.rng.integers(3, 7)
    v = np.clip((u - b) / (c - b), 0, 1)
    apart = 0.5 * (1 - np.cos(2 * np.pi * claps * v)) * p.a(0, 0.11 * s) + 0.025 * s
    height = p.rng.uniform(-0.20, -0.10) * s
    reach = p.rng.uniform(0.14, 0.20) * s
    for side in (LEFT, RIGHT):
        centre = np.array([-side * p.body["shoulder_half"], height, reach])
        target = centre[None, :] + (side * apart)[:, None] * np.array([1.0, 0.0, 0.0])
        start = p.wrist_rest(side)
        tgt = start + w[:, None] * (target - start)
        p.reach(side, tgt, np.array([side * 1.0, -1.0, -0.2]), np.ones(p.t))


def hand_waving(p: PoseBuilder) -> None:
    u = p.u
    a, b, c, d = p.k(0.04, 0.25, 0.8, 0.96)
    w = envelope(u, a, b, c, d)
    waves = p.rng.uniform(2.0, 4.5)
    v = np.clip((u - a) / (d - a), 0, 1)
    swing = p.rng.uniform(15, 30) * p.style.amp
    lateral = np.radians(p.rng.uniform(5, 25) + swing * np.sin(2 * np.pi * waves * v))  # from vertical
    up = limb_dir(np.full(p.t, p.rng.uniform(75, 105)), np.full(p.t, p.rng.uniform(55, 85)), RIGHT)
    fo = np.stack([RIGHT * np.sin(lateral), np.cos(lateral), np.full(p.t, 0.25)], axis=-1)
    fo /= np.linalg.norm(fo, axis=-1, keepdims=True)
    p.set_arm_dirs(RIGHT, up, fo, fo, w)


def kicking_something(p: PoseBuilder) -> None:
    u = p.u
    kt = p.k(0.0, 0.2, 0.38, 0.5, 0.6, 0.8, 1.0)
    r = p.leg[RIGHT]
    r["hip_flex"] += keys(u, kt, [0, 0, -25, p.a(0, 70), 50, 5, 0])
    r["knee"] += keys(u, kt, [0, 5, 75, 12, 45, 10, 0])
    r["foot_follow"] = keys(u, kt, [0, 0.5, 1, 1, 1, 0.5, 0])
    r["plantar"] = keys(u, kt, [0, 0, 15, 20, 10, 0, 0])
    p.bend_knees(LEFT, keys(u, kt, [0, 5, 15, 12, 12, 5, 0]))
    p.planted[RIGHT][:] = False
    p.trunk["pelvis_pitch"] += keys(u, kt, [0, 0, 5, -12, -5, 0, 0])
    left, right = p.arm[LEFT], p.arm[RIGHT]
    left["up_elev"] = keys(u, kt, [left["up_elev"][0], 15, 35, 45, 30, 10, left["up_elev"][-1]])
    left["up_azim"] = keys(u, kt, [left["up_azim"][0], 60, 40, 60, 70, 80, left["up_azim"][-1]])
    right["up_elev"] = keys(u, kt, [right["up_elev"][0], 10, 20, 35, 25, 10, right["up_elev"][-1]])
    right["up_azim"] = keys(u, kt, [right["up_azim"][0], 90, 120, 150, 120, 90, right["up_azim"][-1]])


def jump_up(p: PoseBuilder) -> None:
    u = p.u
    kt = p.k(0.0, 0.12, 0.30, 0.36, 0.40, 0.48, 0.58, 0.66, 0.76, 0.9, 1.0)
    crouch = p.a(0, 1.0)
    hip = [0, 0, 55 * crouch, 25, 5, 5, 10, 40, 35, 5, 0]
    knee = [0, 0, 85 * crouch, 40, 8, 10, 15, 65, 55, 8, 0]
    plantar = [0, 0, 0, 20, 40, 35, 25, 0, 0, 0, 0]
    for side in (LEFT, RIGHT):
        p.leg[side]["hip_flex"] += keys(u, kt, hip)
        p.leg[side]["knee"] += keys(u, kt, knee)
        p.leg[side]["plantar"] = keys(u, kt, plantar)
        arm = p.arm[side]
        arm["up_elev"] = keys(u, kt, [arm["up_elev"][0], 8, 45, 10, 140, 155, 120, 30, 25, 10, arm["up_elev"][-1]])
        arm["up_azim"] = keys(u, kt, [arm["up_azim"][0], 80, 170, 90, 20, 20, 35, 40, 40, 70, arm["up_azim"][-1]])
        arm["fo_elev"] = keys(u, kt, [arm["fo_elev"][0], 14, 50, 20, 150, 165, 130, 45, 40, 20, arm["fo_elev"][-1]])
        arm["fo_azim"] = keys(u, kt, [arm["fo_azim"][0], 15, 170, 60, 20, 20, 30, 30, 30, 20, arm["fo_azim"][-1]])
    p.trunk["pelvis_pitch"] += keys(u, kt, [0, 0, 35, 15, 0, 0, 5, 25, 22, 5, 0])
    height = p.rng.uniform(0.12, 0.28) * p.style.amp
    take_off, land = kt[4], kt[6]
    x = (u - take_off) / max(land - take_off, 1e-6)
    p.airborne += height * np.clip(4 * x * (1 - x), 0, None) * ((x > 0) & (x < 1))


def pointing_to_something(p: PoseBuilder) -> None:
    u = p.u
    w = envelope(u, *p.k(0.05, 0.3, 0.72, 0.94))
    elev = p.rng.uniform(70, 105)
    azim = p.rng.uniform(5, 45)
    up = limb_dir(np.full(p.t, elev), np.full(p.t, azim), RIGHT)
    fo = limb_dir(np.full(p.t, elev + 4), np.full(p.t, azim - 3), RIGHT)
    p.set_arm_dirs(RIGHT, up, fo, fo, w)
    p.trunk["neck_yaw"] += -0.3 * azim * w
    p.trunk["neck_pitch"] += -0.15 * (elev - 80) * w


def salute(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.28, 0.68, 0.92))
    goal = p.shoulder_to("brow", RIGHT) + np.array([RIGHT * 0.05 * s, -0.01 * s, 0.0])
    start = p.wrist_rest(RIGHT)
    lift = np.sin(np.pi * w)[:, None] * np.array([RIGHT * 0.08 * s, 0.0, 0.03 * s])
    target = start + w[:, None] * (goal - start) + lift
    p.reach(RIGHT, target, np.array([RIGHT * 1.0, 0.15, 0.35]), np.ones(p.t))
    p.trunk["neck_pitch"] += -4 * w
    p.trunk["pelvis_pitch"] += -2 * w


def cheer_up(p: PoseBuilder) -> None:
    u = p.u
    a, b, c, d = p.k(0.04, 0.25, 0.8, 0.96)
    w = envelope(u, a, b, c, d)
    pumps = p.rng.integers(1, 4)
    v = np.clip((u - b) / (c - b), 0, 1)
    pump = 0.5 * (1 - np.cos(2 * np.pi * pumps * v))
    up_elev = p.rng.uniform(150, 170) - 12 * pump
    azim = p.rng.uniform(30, 65)
    for side in (LEFT, RIGHT):
        up = limb_dir(up_elev + p.rng.normal(0, 4), np.full(p.t, azim + p.rng.normal(0, 5)), side)
        fo = limb_dir(np.clip(up_elev + 8 - p.style.amp * 40 * pump, 60, 178), np.full(p.t, azim - 10), side)
        p.set_arm_dirs(side, up, fo, fo, w)
    p.trunk["spine_pitch"] += -6 * w
    p.trunk["neck_pitch"] += -10 * w


def nod_head_bow(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.35, 0.6, 0.92))
    depth = p.rng.uniform(35, 65) * p.style.amp
    p.trunk["pelvis_pitch"] += depth * w
    p.trunk["spine_pitch"] += 0.2 * depth * w
    p.trunk["neck_pitch"] += 12 * w
    for side in (LEFT, RIGHT):
        arm = p.arm[side]
        total = 0.7 * 1.2 * depth * w
        arm["up_elev"] = (1 - w) * arm["up_elev"] + w * total
        arm["up_azim"] = (1 - w) * arm["up_azim"] + w * 20
        arm["fo_elev"] = (1 - w) * arm["fo_elev"] + w * (total + 8)
        p.bend_knees(side, 8 * w)
    p.root_shift[:, 2] += -0.14 * s * np.sin(np.radians(depth * w))


def pickup(p: PoseBuilder) -> None:
    u = p.u
    kt = p.k(0.0, 0.12, 0.35, 0.5, 0.62, 0.85, 1.0)
    deep = p.a(0, 1.0)
    for side in (LEFT, RIGHT):
        p.leg[side]["hip_flex"] += keys(u, kt, [0, 0, 55 * deep, 60 * deep, 50, 5, 0])
        p.leg[side]["knee"] += keys(u, kt, [0, 0, 75 * deep, 88 * deep, 70, 5, 0])
    p.trunk["pelvis_pitch"] += keys(u, kt, [0, 0, 45, 55, 40, 5, 0])
    p.trunk["spine_pitch"] += keys(u, kt, [0, 0, 10, 15, 10, 0, 0])
    r, left = p.arm[RIGHT], p.arm[LEFT]
    r["up_elev"] = keys(u, kt, [r["up_elev"][0], 8, 60, 85, 65, 20, r["up_elev"][-1]])
    r["up_azim"] = keys(u, kt, [r["up_azim"][0], 60, 10, 0, 0, 30, r["up_azim"][-1]])
    r["fo_elev"] = keys(u, kt, [r["fo_elev"][0], 14, 65, 90, 80, 45, r["fo_elev"][-1]])
    r["fo_azim"] = keys(u, kt, [r["fo_azim"][0], 10, 0, 0, 0, 10, r["fo_azim"][-1]])
    left["up_elev"] = keys(u, kt, [left["up_elev"][0], 8, 45, 55, 45, 10, left["up_elev"][-1]])
    left["up_azim"] = keys(u, kt, [left["up_azim"][0], 60, 20, 15, 20, 60, left["up_azim"][-1]])
    left["fo_elev"] = keys(u, kt, [left["fo_elev"][0], 14, 55, 60, 55, 15, left["fo_elev"][-1]])


def hopping(p: PoseBuilder) -> None:
    u = p.u
    a, b, c, d = p.k(0.04, 0.16, 0.84, 0.96)
    w = envelope(u, a, b, c, d)
    r = p.leg[RIGHT]
    r["hip_flex"] += p.a(0, 30) * w
    r["knee"] += p.a(0, 85) * w
    r["foot_follow"] = w
    r["plantar"] = 20 * w
    p.planted[RIGHT][:] = False
    hops = p.rng.integers(3, 6)
    v = np.clip((u - b) / (c - b), 0, 1)
    phase = (hops * v) % 1.0
    active = (v > 0) & (v < 1)
    height = p.rng.uniform(0.05, 0.12) * p.style.amp
    flight = (phase < 0.5) & active
    p.airborne += height * np.sin(np.pi * phase / 0.5) * flight
    landing = (~flight) & active
    left = p.leg[LEFT]
    p.bend_knees(LEFT, 22 * np.sin(np.pi * (phase - 0.5) / 0.5) * landing)
    left["plantar"] += 25 * np.sin(np.pi * phase / 0.5) * flight
    for side in (LEFT, RIGHT):
        arm = p.arm[side]
        arm["up_elev"] = (1 - w) * arm["up_elev"] + w * (30 + 8 * np.sin(2 * np.pi * hops * v))
        arm["up_azim"] = (1 - w) * arm["up_azim"] + w * 75
        arm["fo_elev"] = (1 - w) * arm["fo_elev"] + w * 55


# ---------------------------------------------------------------------------------------
# Fine-grained actions around the head and torso. As in NTU, several differ from each
# other (and from drink water / salute) only in where the hand goes, by a few
# centimetres, and in rhythm: a per-performance offset of the hand target (``_offset``)
# and the amplitude/timing style make neighbouring classes overlap a little.


def _offset(p: PoseBuilder, sd: float, up_sd: float | None = None) -> np.ndarray:
    """A per-performance shift of a hand target (metres), sd in stature fractions."""
    s = p.body.stature
    sd_u = sd if up_sd is None else up_sd
    return p.rng.normal(0.0, 1.0, 3) * np.array([sd, sd_u, sd]) * s


def _move_hand(
    p: PoseBuilder,
    side: int,
    goal: np.ndarray,
    w: np.ndarray,
    bulge: np.ndarray,
    pole: np.ndarray,
    palm_dir: np.ndarray | None = None,
) -> np.ndarray:
    """Wrist from its rest pose to ``goal`` ((3,) or (T, 3), shoulder-relative) by ``w``; on
    the way it swings out by ``bulge`` (so it goes round the body, not through it).

    With ``palm_dir`` (a direction in the chest frame), ``goal`` is where the palm (the
    NTU "hand" joint) goes, the hand points along ``palm_dir`` and the wrist sits a
    hand's length behind. Returns the wrist target (T, 3)."""
    if palm_dir is not None:
        palm_dir = np.asarray(palm_dir, dtype=float)
        goal = goal - p.body["hand"] * palm_dir / np.linalg.norm(palm_dir)
    start = p.wrist_rest(side)
    target = start + w[:, None] * (goal - start) + np.sin(np.pi * w)[:, None] * bulge
    p.reach(side, target, pole, np.ones(p.t), hand=palm_dir, hand_weight=None if palm_dir is None else w)
    return target


def _hold_phase(u: np.ndarray, b: float, c: float) -> np.ndarray:
    """0..1 across the held part of an action (between its rise and fall)."""
    return np.clip((u - b) / max(c - b, 1e-6), 0.0, 1.0)


def _in_hold(u: np.ndarray, b: float, c: float, edge: float = 0.06) -> np.ndarray:
    """A smooth 0/1 gate that is 1 inside the held part, so oscillations start and stop softly."""
    return envelope(u, b, b + edge, c - edge, c)


def eat_meal(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.2, 0.82, 0.96)
    w = envelope(u, a, b, c, d)
    plate = np.array([0.0, -0.24 * s, 0.2 * s]) + _offset(p, 0.015)  # from the spine shoulder
    left_goal = p.to_shoulder(plate + np.array([0.03 * s, -0.02 * s, 0.0]), LEFT)
    _move_hand(p, LEFT, left_goal, w, np.array([0.0, 0.0, 0.04 * s]), np.array([LEFT * 0.8, -1.0, 0.0]))
    bites = p.rng.integers(2, 4)
    v = _hold_phase(u, b, c)
    to_mouth = 0.5 * (1 - np.cos(2 * np.pi * bites * v)) * _in_hold(u, b, c)
    # the head leans to meet the food: set it before asking where the mouth is
    p.trunk["neck_pitch"] += 8 * w + p.a(0, 8) * to_mouth
    p.trunk["spine_pitch"] += 4 * w
    mouth = p.landmark("mouth", RIGHT) + np.array([RIGHT * 0.01 * s, -0.015 * s, 0.03 * s])
    food = p.to_shoulder(plate + np.array([RIGHT * 0.03 * s, 0.03 * s, 0.01 * s]), RIGHT)
    goal = food + to_mouth[:, None] * (mouth - food)
    _move_hand(p, RIGHT, goal, w, np.array([RIGHT * 0.03 * s, 0.0, 0.05 * s]), np.array([RIGHT * 0.6, -1.0, 0.1]),
               palm_dir=np.array([-RIGHT * 0.3, 1.0, 0.0]))  # fmt: skip


def brushing_teeth(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.22, 0.8, 0.95)
    w = envelope(u, a, b, c, d)
    p.trunk["neck_pitch"] += 5 * w
    hz = p.rng.uniform(3.0, 4.0)
    scrub = p.a(0, 0.016 * s) * np.sin(2 * np.pi * hz * p.time + p.rng.uniform(0, 2 * np.pi))
    gate = _in_hold(u, b, c)
    mouth = p.landmark("mouth", RIGHT) + np.array([RIGHT * 0.02 * s, 0.0, 0.012 * s]) + _offset(p, 0.006)
    mouth[:, 0] += scrub * gate  # side to side across the teeth
    mouth[:, 1] += 0.25 * scrub * gate
    _move_hand(p, RIGHT, mouth, w, np.array([0.0, 0.0, 0.06 * s]), np.array([RIGHT * 0.7, -1.0, 0.1]),
               palm_dir=np.array([-RIGHT * 0.6, 0.25, 0.3]))  # fmt: skip


def brushing_hair(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.24, 0.8, 0.96)
    w = envelope(u, a, b, c, d)
    strokes = p.rng.integers(2, 4)
    v = _hold_phase(u, b, c)
    # a stroke runs front to back (quick), the return is slower and lifted off the hair
    ph = (strokes * v) % 1.0
    back = np.where(ph < 0.55, ph / 0.55, 1.0 - (ph - 0.55) / 0.45)
    back = smoothstep(back) * _in_hold(u, b, c, 0.03)
    p.trunk["neck_pitch"] += 6 * w * back + 3 * w
    p.trunk["neck_roll"] += 5 * w  # the head leans into the brush (towards the right)
    crown = p.landmark("crown", RIGHT) + np.array([RIGHT * 0.035 * s, 0.0, 0.0]) + _offset(p, 0.008)
    front, depth = 0.06 * s, p.a(0, 0.13 * s)
    goal = crown + np.stack([np.zeros(p.t), -0.02 * s * back, front - depth * back], axis=-1)
    _move_hand(p, RIGHT, goal, w, np.array([RIGHT * 0.12 * s, 0.0, 0.05 * s]), np.array([RIGHT * 1.0, 0.4, 0.2]))


def reading(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.22, 0.82, 0.96)
    w = envelope(u, a, b, c, d)
    book = np.array([0.0, -0.13 * s, 0.23 * s]) + _offset(p, 0.015)
    half = p.rng.uniform(0.05, 0.07) * s  # half the book's width
    p.trunk["neck_pitch"] += p.a(0, p.rng.uniform(18, 30)) * w
    p.trunk["spine_pitch"] += 3 * w
    left_goal = p.to_shoulder(book + np.array([half, 0.0, 0.0]), LEFT)
    _move_hand(p, LEFT, left_goal, w, np.array([0.0, 0.0, 0.04 * s]), np.array([LEFT * 0.6, -1.0, 0.0]))
    # a page turn: the right hand sweeps over to the left edge and back, once
    turn_at = p.rng.uniform(0.35, 0.65)
    turn = envelope(_hold_phase(u, b, c), turn_at - 0.18, turn_at - 0.06, turn_at, turn_at + 0.12)
    right = book + np.array([-half, 0.0, 0.0])
    over = np.array([half * 1.6, 0.02 * s, 0.03 * s])
    goal = p.to_shoulder(right, RIGHT) + turn[:, None] * over
    _move_hand(p, RIGHT, goal, w, np.array([0.0, 0.0, 0.04 * s]), np.array([RIGHT * 0.6, -1.0, 0.0]))


def writing(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.22, 0.84, 0.96)
    w = envelope(u, a, b, c, d)
    paper = np.array([0.02 * s, -0.23 * s, 0.22 * s]) + _offset(p, 0.015)
    p.trunk["neck_pitch"] += p.a(0, p.rng.uniform(25, 38)) * w
    p.trunk["spine_pitch"] += p.a(0, 7) * w
    left_goal = p.to_shoulder(paper + np.array([0.05 * s, 0.0, 0.0]), LEFT)
    _move_hand(p, LEFT, left_goal, w, np.array([0.0, 0.0, 0.04 * s]), np.array([LEFT * 0.8, -1.0, 0.0]))
    # the pen hand: a line drifting to the right with small loops (letters) on top
    gate = _in_hold(u, b, c)
    v = _hold_phase(u, b, c)
    hz = p.rng.uniform(2.0, 3.2)
    ph = 2 * np.pi * hz * p.time
    loops = 0.008 * s * np.stack([np.sin(ph), 0.6 * np.cos(ph), 0.5 * np.sin(2 * ph)], axis=-1)
    drift = np.stack([RIGHT * 0.05 * s * v, np.zeros(p.t), np.zeros(p.t)], axis=-1)
    pen = paper + np.array([RIGHT * 0.01 * s, 0.035 * s, 0.02 * s])
    goal = p.to_shoulder(pen, RIGHT) + (loops + drift) * gate[:, None]
    _move_hand(p, RIGHT, goal, w, np.array([0.0, 0.0, 0.04 * s]), np.array([RIGHT * 0.7, -1.0, 0.0]))


def phone_call(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.28, 0.82, 0.96))
    p.trunk["neck_roll"] += p.a(0, p.rng.uniform(4, 12)) * w  # the head tilts onto the phone (right)
    p.trunk["neck_pitch"] += 4 * w
    # the palm (with the phone) on the ear, fingers up: the wrist a hand's length below
    ear = p.landmark("ear", RIGHT) + np.array([RIGHT * 0.012 * s, 0.0, 0.01 * s]) + _offset(p, 0.006)
    _move_hand(p, RIGHT, ear, w, np.array([RIGHT * 0.04 * s, 0.0, 0.07 * s]), np.array([RIGHT * 0.5, -1.0, 0.3]),
               palm_dir=np.array([0.0, 1.0, 0.1]))  # fmt: skip


def check_time(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.05, 0.28, 0.74, 0.95)
    w = envelope(u, a, b, c, d)
    # the left forearm across the front, horizontal, watch face up at chest height
    watch = np.array([RIGHT * 0.01 * s, -0.12 * s, 0.24 * s]) + _offset(p, 0.015)
    _move_hand(p, LEFT, p.to_shoulder(watch, LEFT), w, np.array([0.0, 0.0, 0.05 * s]),
               np.array([LEFT * 1.0, -0.3, 0.0]))  # fmt: skip
    look = envelope(u, b - 0.05, b + 0.05, c, c + 0.08)
    p.trunk["neck_pitch"] += p.a(0, p.rng.uniform(22, 35)) * look
    p.trunk["neck_yaw"] += p.rng.uniform(0, 12) * look  # towards the watch (own left)
    if p.rng.random() < 0.5:  # the other hand taps or adjusts the watch
        tap = envelope(u, b, b + 0.08, c - 0.12, c)
        goal = p.to_shoulder(watch + np.array([RIGHT * 0.06 * s, 0.03 * s, 0.0]), RIGHT)
        _move_hand(p, RIGHT, goal, tap, np.array([0.0, 0.0, 0.04 * s]), np.array([RIGHT * 0.6, -1.0, 0.0]))


def rub_hands(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.2, 0.84, 0.96)
    w = envelope(u, a, b, c, d)
    centre = np.array([0.0, -0.2 * s, 0.19 * s]) + _offset(p, 0.015)
    hz = p.rng.uniform(2.0, 3.2)
    rub = p.a(0, 0.02 * s) * np.sin(2 * np.pi * hz * p.time) * _in_hold(u, b, c)
    for side in (LEFT, RIGHT):
        palm = centre + np.array([side * 0.035 * s, 0.0, 0.0])
        goal = p.to_shoulder(palm, side) + np.stack([np.zeros(p.t), 0.4 * side * rub, side * rub], axis=-1)
        _move_hand(p, side, goal, w, np.array([0.0, 0.0, 0.04 * s]), np.array([side * 0.8, -1.0, 0.0]))
    p.trunk["neck_pitch"] += 6 * w


def wipe_face(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.26, 0.82, 0.96)
    w = envelope(u, a, b, c, d)
    wipes = p.rng.integers(1, 3)
    ph = (wipes * _hold_phase(u, b, c)) % 1.0
    down = np.where(ph < 0.7, smoothstep(ph / 0.7), 1 - smoothstep((ph - 0.7) / 0.3))  # slow down, quick up
    down = down * _in_hold(u, b, c, 0.03) if wipes > 1 else smoothstep(_hold_phase(u, b, c))
    p.trunk["neck_pitch"] += 10 * w
    shift = _offset(p, 0.006)
    for side in (LEFT, RIGHT):
        top = p.landmark("eyes", side) + np.array([side * 0.03 * s, 0.0, 0.0]) + shift  # palms on the face
        bottom = p.landmark("chin", side) + np.array([side * 0.03 * s, -0.02 * s, 0.01 * s]) + shift
        goal = top + down[:, None] * (bottom - top)
        _move_hand(p, side, goal, w, np.array([side * 0.03 * s, 0.0, 0.08 * s]), np.array([side * 0.6, -1.0, 0.2]),
                   palm_dir=np.array([-side * 0.25, 1.0, 0.1]))  # fmt: skip


def palms_together(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.3, 0.8, 0.95))
    centre = np.array([0.0, p.rng.uniform(-0.14, -0.06) * s, 0.17 * s]) + _offset(p, 0.01)
    for side in (LEFT, RIGHT):
        goal = p.to_shoulder(centre + np.array([side * 0.012 * s, 0.0, 0.0]), side)  # palm to palm
        _move_hand(p, side, goal, w, np.array([0.0, 0.0, 0.04 * s]), np.array([side * 0.8, -1.0, -0.2]),
                   palm_dir=np.array([0.0, 1.0, 0.6]))  # fmt: skip
    p.trunk["neck_pitch"] += p.rng.uniform(0, 12) * w  # sometimes a small bow of the head


def cross_hands(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.26, 0.78, 0.95))
    # an X in front of the chest: wrists crossed at chin-to-chest height, hands up and out
    centre = np.array([0.0, p.rng.uniform(-0.07, 0.01) * s, 0.2 * s]) + _offset(p, 0.01)
    cross = p.a(0, 0.05 * s)
    for side, depth in ((RIGHT, 0.025 * s), (LEFT, -0.01 * s)):  # the right forearm in front
        goal = p.to_shoulder(centre + np.array([-side * cross, 0.0, depth]), side)
        _move_hand(p, side, goal, w, np.array([0.0, 0.0, 0.05 * s]), np.array([side * 0.7, -1.0, 0.1]),
                   palm_dir=np.array([-side * 0.6, 1.0, 0.1]))  # fmt: skip


def sneeze_cough(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.06, 0.2, 0.62, 0.85)  # a quick rise, a short hold
    w = envelope(u, a, b, c, d)
    jerks = p.rng.integers(1, 3)
    at = np.linspace(b + 0.08, c - 0.08, jerks)
    jerk = np.zeros(p.t)
    for t0 in at:  # fast forward jerk, slower recovery
        jerk = np.maximum(jerk, envelope(u, t0 - 0.06, t0, t0, t0 + 0.16))
    strength = p.a(0, 1.0)
    p.trunk["spine_pitch"] += strength * p.rng.uniform(10, 18) * jerk
    p.trunk["pelvis_pitch"] += strength * 4 * jerk
    p.trunk["neck_pitch"] += strength * p.rng.uniform(14, 24) * jerk + 6 * w
    fist = p.landmark("mouth", RIGHT) + np.array([0.0, -0.005 * s, 0.025 * s]) + _offset(p, 0.006)
    _move_hand(p, RIGHT, fist, w, np.array([0.0, 0.0, 0.06 * s]), np.array([RIGHT * 0.5, -1.0, 0.2]),
               palm_dir=np.array([-RIGHT * 0.5, 0.7, 0.0]))  # fmt: skip


def headache(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.3, 0.8, 0.96))
    p.trunk["neck_pitch"] += p.a(0, p.rng.uniform(8, 20)) * w
    p.trunk["neck_roll"] += p.rng.uniform(0, 10) * w  # towards the hand
    if p.rng.random() < 0.5:  # the hand on the temple, fingers up
        goal = p.landmark("temple", RIGHT) + np.array([RIGHT * 0.01 * s, 0.0, 0.0])
        palm = np.array([-RIGHT * 0.2, 1.0, 0.2])
    else:  # palm on the forehead, fingers across it
        goal = p.landmark("brow", RIGHT) + np.array([-RIGHT * 0.035 * s, 0.0, 0.02 * s])
        palm = np.array([-RIGHT * 0.8, 0.6, 0.0])
    goal = goal + _offset(p, 0.006)
    _move_hand(p, RIGHT, goal, w, np.array([RIGHT * 0.03 * s, 0.0, 0.06 * s]), np.array([RIGHT * 0.6, -1.0, 0.4]),
               palm_dir=palm)  # fmt: skip


def chest_pain(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.3, 0.8, 0.96))
    p.trunk["spine_pitch"] += p.a(0, p.rng.uniform(8, 16)) * w
    p.trunk["pelvis_pitch"] += p.rng.uniform(0, 8) * w
    p.trunk["neck_pitch"] += p.rng.uniform(5, 15) * w
    spot = p.shoulder_to("sternum", RIGHT) + np.array([-RIGHT * 0.02 * s, 0.0, 0.0]) + _offset(p, 0.012)
    _move_hand(p, RIGHT, spot, w, np.array([0.0, 0.0, 0.04 * s]), np.array([RIGHT * 0.6, -1.0, 0.0]),
               palm_dir=np.array([-RIGHT * 0.7, 0.6, 0.0]))  # fmt: skip
    if p.rng.random() < 0.5:  # both hands, the left one just below the right
        spot_l = p.shoulder_to("sternum", LEFT) + np.array([0.0, -0.06 * s, 0.0]) + _offset(p, 0.008)
        _move_hand(p, LEFT, spot_l, w, np.array([0.0, 0.0, 0.04 * s]), np.array([LEFT * 0.6, -1.0, 0.0]),
                   palm_dir=np.array([-LEFT * 0.7, 0.6, 0.0]))  # fmt: skip


def neck_pain(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    w = envelope(u, *p.k(0.05, 0.3, 0.8, 0.96))
    p.trunk["neck_pitch"] += p.a(0, p.rng.uniform(6, 18)) * w
    p.trunk["neck_roll"] += -p.rng.uniform(0, 12) * w  # tilted away from the sore (right) side
    # palm on the back of the neck, fingers round it towards the other side
    goal = p.landmark("back_of_neck", RIGHT) + np.array([RIGHT * 0.035 * s, 0.0, 0.0]) + _offset(p, 0.005)
    _move_hand(p, RIGHT, goal, w, np.array([RIGHT * 0.12 * s, 0.02 * s, 0.06 * s]), np.array([RIGHT * 1.0, 0.3, 0.2]),
               palm_dir=np.array([-RIGHT * 1.0, 0.3, -0.3]))  # fmt: skip


def fan_self(p: PoseBuilder) -> None:
    u, s = p.u, p.body.stature
    a, b, c, d = p.k(0.04, 0.22, 0.82, 0.96)
    w = envelope(u, a, b, c, d)
    p.trunk["neck_pitch"] += -p.rng.uniform(0, 10) * w  # chin up into the breeze
    hz = p.rng.uniform(2.0, 3.0)
    wave = p.a(0, 0.04 * s) * np.sin(2 * np.pi * hz * p.time + p.rng.uniform(0, 2 * np.pi)) * _in_hold(u, b, c)
    near = p.landmark("chin", RIGHT) + np.array([RIGHT * 0.05 * s, -0.02 * s, p.rng.uniform(0.08, 0.12) * s])
    near = near + _offset(p, 0.01)
    goal = near + np.stack([RIGHT * wave, np.zeros(p.t), 0.3 * np.abs(wave)], axis=-1)
    _move_hand(p, RIGHT, goal, w, np.array([RIGHT * 0.03 * s, 0.0, 0.05 * s]), np.array([RIGHT * 0.8, -1.0, 0.0]))


@dataclass(frozen=True)
class Action:
    ntu_id: int  # the A-number, 1-based
    motion: Callable[[PoseBuilder], None]


# The synthetic classes, label order: the 14 gross-motion classes first (labels 0-13,
# unchanged since format 1), then the fine-grained ones in A-number order (14-29).
# Names come from ciasa.data.ntu.NTU_ACTIONS[ntu_id - 1].
GROSS_ACTIONS: tuple[Action, ...] = (
    Action(1, drink_water),
    Action(6, pickup),
    Action(7, throw),
    Action(8, sitting_down),
    Action(9, standing_up),
    Action(10, clapping),
    Action(22, cheer_up),
    Action(23, hand_waving),
    Action(24, kicking_something),
    Action(26, hopping),
    Action(27, jump_up),
    Action(31, pointing_to_something),
    Action(35, nod_head_bow),
    Action(38, salute),
)
FINE_ACTIONS: tuple[Action, ...] = (
    Action(2, eat_meal),
    Action(3, brushing_teeth),
    Action(4, brushing_hair),
    Action(11, reading),
    Action(12, writing),
    Action(28, phone_call),
    Action(33, check_time),
    Action(34, rub_hands),
    Action(37, wipe_face),
    Action(39, palms_together),
    Action(40, cross_hands),
    Action(41, sneeze_cough),
    Action(44, headache),
    Action(45, chest_pain),
    Action(47, neck_pain),
    Action(49, fan_self),
)
ACTIONS: tuple[Action, ...] = GROSS_ACTIONS + FINE_ACTIONS


def select_actions(spec: str) -> tuple[Action, ...]:
    """'all', 'gross' (the first 14), 'fine' (the 16 fine-grained ones) or a comma list of
    A-numbers ('1,3,A028'); the result keeps the order of :data:`ACTIONS`."""
    text = spec.strip().lower()
    if text in ("all", ""):
        return ACTIONS
    if text == "gross":
        return GROSS_ACTIONS
    if text == "fine":
        return FINE_ACTIONS
    by_id = {a.ntu_id: a for a in ACTIONS}
    wanted: set[int] = set()
    for part in text.split(","):
        part = part.strip().lstrip("a")
        if not part:
            continue
        try:
            wanted.add(int(part))
        except ValueError:
            raise BadInput(f"cannot read action list {spec!r}: use all, gross, fine or A-numbers like 1,3,28") from None
    unknown = sorted(wanted - set(by_id))
    if unknown:
        raise BadInput(f"actions {unknown} are not in the synthetic set {spec!r}; available A-numbers: {sorted(by_id)}")
    if not wanted:
        raise BadInput(f"action list {spec!r} is empty")
    return tuple(a for a in ACTIONS if a.ntu_id in wanted)
