"""The action library: joint-angle curves for each synthetic class.

Each action is a function of a :class:`PoseBuilder`, which starts from a rest pose
with small idle movements (breathing sway, weight shifts, a wandering gaze) and
offers the action a phase ``u`` (0 before the action, 1 after it, warped so the
speed varies within the action), the subject's random style (``amp``, timing
jitter) and two ways to drive an arm: angles (elevation/azimuth, see
:mod:`ciasa.data.synth.body`) or a wrist target reached by two-bone inverse
kinematics (the elbow swings towards a pole direction), which is how "hand to
mouth" or "hand to brow" stay right for every body size.

Classes differ in gross limb motion (which limbs move, where to, how often), not in
hand details, so they survive re-extraction by a video pose estimator (errors of
~5 cm in x/y, ~10 cm in depth). The primary hand is the right one, as for most NTU
performers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.interpolate import PchipInterpolator

from ciasa.data.synth.body import TRUNK_ANGLES, Body, Pose, dir_angles, limb_dir

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

    def shoulder_to(self, landmark: str, side: int) -> np.ndarray:
        """A body landmark relative to the ``side`` shoulder, in the chest frame (3,)."""
        b = self.body
        s = b.stature
        up_to_neck = b["shoulder_drop"] + b["neck"]
        inward = -side * b["shoulder_half"]
        pts = {
            "mouth": (inward, up_to_neck + 0.35 * b["head"], 0.075 * s),
            "brow": (inward + side * 0.035 * s, up_to_neck + 0.85 * b["head"], 0.07 * s),
            "chest": (inward, -0.10 * s, 0.05 * s),
        }
        return np.asarray(pts[landmark], dtype=float)

    def wrist_rest(self, side: int) -> np.ndarray:
        up, fo, _ = self._angle_dirs(side)
        return self.body["upper_arm"] * up + self.body["forearm"] * fo

    def reach(self, side: int, target: np.ndarray, pole: np.ndarray, weight: np.ndarray) -> None:
        """Drive the arm so its wrist follows ``target`` (T, 3) (shoulder-relative) by ``weight``."""
        up, fo = two_bone_ik(target, np.broadcast_to(pole, target.shape), self.body["upper_arm"], self.body["forearm"])
        self.set_arm_dirs(side, up, fo, fo, weight)

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


@dataclass(frozen=True)
class Action:
    ntu_id: int  # the A-number, 1-based
    motion: Callable[[PoseBuilder], None]


# The synthetic classes, label order. Names come from ciasa.data.ntu.NTU_ACTIONS[ntu_id - 1].
ACTIONS: tuple[Action, ...] = (
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
