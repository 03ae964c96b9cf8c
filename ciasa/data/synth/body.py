"""Anthropometrics and forward kinematics of the synthetic NTU-25 body.

Body frame
----------
Poses are built in the subject's own frame, axes ``(L, U, F)``: L towards the
subject's left, U up, F the direction the subject faces (right-handed: L x U = F).
The origin is on the floor below the pelvis at the first frame; the floor is U = 0.
:mod:`ciasa.data.synth.scene` places that frame in Kinect camera space.

Joint angles
------------
The trunk is a chain pelvis -> lumbar -> thoracic -> neck of rotations (pitch
forward, roll to the left, yaw to the left, degrees). A limb segment's direction
is given by two angles in the frame it hangs from (arms: the chest; legs: the
heading frame, upright, so a bow tilts the trunk over fixed legs)::

    elevation  0 = hanging straight down, 90 = horizontal, 180 = straight up
    azimuth    0 = forwards, 90 = sideways outwards, 180 = backwards, < 0 across the body

so ``dir = -cos(elev) U + sin(elev) (cos(azim) F + sin(azim) S)`` with S = +L for the
left limbs and -L for the right ones. Every joint then lies at its parent plus the
subject's fixed bone length times the segment direction: bone lengths are constant
by construction, whatever the angles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ciasa.skeleton import NTU_RGBD

J = {name: i for i, name in enumerate(NTU_RGBD.joint_names)}

# Segment lengths as fractions of stature (adult averages after Drillis & Contini, adapted
# to where Kinect v2 puts its joints: spine base at the pelvis centre, head joint at the
# head's centre, "hand" mid-palm, "foot" on the toes' root).
_PROPORTIONS = {
    "hip_half": 0.052,  # spine base -> hip, sideways
    "hip_drop": 0.030,  # spine base -> hip, down
    "lumbar": 0.125,  # spine base -> spine mid
    "thoracic": 0.145,  # spine mid -> spine shoulder
    "neck": 0.045,  # spine shoulder -> neck
    "head": 0.075,  # neck -> head
    "shoulder_half": 0.104,  # spine shoulder -> shoulder, sideways
    "shoulder_drop": 0.012,
    "upper_arm": 0.172,
    "forearm": 0.150,
    "hand": 0.045,  # wrist -> hand
    "hand_tip": 0.050,  # hand -> hand tip
    "thumb": 0.040,  # wrist -> thumb
    "thigh": 0.245,
    "shank": 0.246,
    "foot": 0.062,  # ankle -> foot
}

# Segment groups scaled together per subject (long-legged, broad-shouldered, ...).
_GROUPS = {
    "arm": ("upper_arm", "forearm", "hand", "hand_tip", "thumb"),
    "leg": ("thigh", "shank", "foot"),
    "trunk": ("lumbar", "thoracic", "neck", "head"),
    "width": ("hip_half", "shoulder_half"),
}


@dataclass(frozen=True)
class Body:
    """One subject: stature (m) and segment lengths (m)."""

    stature: float
    lengths: dict[str, float]

    def __getitem__(self, segment: str) -> float:
        return self.lengths[segment]


def sample_body(rng: np.random.Generator, stature_range: tuple[float, float] = (1.55, 1.90)) -> Body:
    """A random adult: stature uniform in the range, segment groups varied by a few percent."""
    stature = float(rng.uniform(*stature_range))
    scale = {seg: 1.0 for seg in _PROPORTIONS}
    for segments in _GROUPS.values():
        g = float(np.clip(rng.normal(1.0, 0.035), 0.92, 1.08))
        for seg in segments:
            scale[seg] = g
    return Body(stature, {seg: stature * frac * scale[seg] for seg, frac in _PROPORTIONS.items()})


# ---------------------------------------------------------------------------------------
# rotations on (T,) angle arrays (degrees), axes of the (L, U, F) frame
def _rot(axis: int, deg: np.ndarray) -> np.ndarray:
    """Right-handed rotations ``deg.shape + (3, 3)`` about axis 0 (L), 1 (U) or 2 (F)."""
    deg = np.asarray(deg, dtype=np.float64)
    return Rotation.from_euler("xyz"[axis], deg[..., None], degrees=True).as_matrix()


def pitch(deg: np.ndarray) -> np.ndarray:
    """Rotation about L turning U towards F: positive leans forward."""
    return _rot(0, deg)


def yaw(deg: np.ndarray) -> np.ndarray:
    """Rotation about U turning F towards L: positive turns to the subject's left."""
    return _rot(1, deg)


def roll(deg: np.ndarray) -> np.ndarray:
    """Rotation about F turning L towards U: positive lifts the left side (tilts right)."""
    return _rot(2, deg)


def trunk_rotation(trunk: dict[str, np.ndarray], segment: str) -> np.ndarray:
    """(T, 3, 3) rotation of trunk segment 'pelvis', 'spine' or 'neck' against the one below:
    ``yaw @ pitch @ roll`` of its angles, i.e. intrinsic Euler angles U-L-F."""
    angles = np.stack([trunk[f"{segment}_{name}"] for name in ("yaw", "pitch", "roll")], axis=-1)
    return Rotation.from_euler("YXZ", angles, degrees=True).as_matrix()


def limb_dir(elev: np.ndarray, azim: np.ndarray, side: int) -> np.ndarray:
    """Unit directions (T, 3) from elevation/azimuth (degrees); side +1 left, -1 right."""
    e, a = np.radians(elev), np.radians(azim)
    return np.stack([side * np.sin(e) * np.sin(a), -np.cos(e), np.sin(e) * np.cos(a)], axis=-1)


def dir_angles(d: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`limb_dir`."""
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    elev = np.degrees(np.arccos(np.clip(-d[..., 1], -1, 1)))
    azim = np.degrees(np.arctan2(side * d[..., 0], d[..., 2]))
    return elev, azim


def _apply(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("tij,tj->ti", r, v)


# ---------------------------------------------------------------------------------------
FOOT_TILT = 25.0  # degrees below horizontal of the ankle -> foot line on a flat foot
TRUNK_ANGLES = (
    "pelvis_pitch",
    "pelvis_roll",
    "pelvis_yaw",
    "spine_pitch",
    "spine_roll",
    "spine_yaw",
    "neck_pitch",
    "neck_roll",
    "neck_yaw",
)


@dataclass
class Pose:
    """Joint-angle curves of one sequence, every entry a (T,) array (degrees, metres).

    ``arm_dirs[side]`` = (upper-arm, forearm, hand) unit directions (T, 3) in the chest
    frame; ``leg[side]`` = dict hip_flex, hip_abd, knee, plantar, foot_follow (degrees;
    hip flexion forward of vertical, knee flexion >= 0, plantar flexion of the foot
    beyond flat; foot_follow 0 keeps the foot flat on the floor, 1 turns it with the shank).
    ``planted[side]`` (T,) bool: the foot that keeps its place on the floor;
    ``airborne`` (T,) metres the body is lifted above its planted feet; ``root_shift``
    (T, 3) an extra pelvis offset in the heading frame.
    """

    trunk: dict[str, np.ndarray]
    arm_dirs: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
    leg: dict[int, dict[str, np.ndarray]]
    planted: dict[int, np.ndarray]
    airborne: np.ndarray
    root_shift: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def forward_kinematics(body: Body, pose: Pose) -> np.ndarray:
    """Joint positions (T, 25, 3) in the body frame (L, U, F), feet on the floor U = 0."""
    tr = pose.trunk
    t = len(pose.airborne)
    x = np.zeros((t, 25, 3))
    e_l, e_u, e_f = np.eye(3)

    def const(v: np.ndarray) -> np.ndarray:
        return np.broadcast_to(v, (t, 3))

    r_pelvis = trunk_rotation(tr, "pelvis")
    r_chest = r_pelvis @ trunk_rotation(tr, "spine")
    r_head = r_chest @ trunk_rotation(tr, "neck")

    # trunk, pelvis at the origin for now
    x[:, J["spine_mid"]] = _apply(r_pelvis, const(body["lumbar"] * e_u))
    x[:, J["spine_shoulder"]] = x[:, J["spine_mid"]] + _apply(r_chest, const(body["thoracic"] * e_u))
    x[:, J["neck"]] = x[:, J["spine_shoulder"]] + _apply(r_head, const(body["neck"] * e_u))
    x[:, J["head"]] = x[:, J["neck"]] + _apply(r_head, const(body["head"] * _unit(e_u + 0.12 * e_f)))

    for side, pre in ((1, "left"), (-1, "right")):
        # arm, directions in the chest frame
        sh = x[:, J["spine_shoulder"]] + _apply(
            r_chest, const(side * body["shoulder_half"] * e_l - body["shoulder_drop"] * e_u)
        )
        d_up, d_fore, d_hand = (_apply(r_chest, d) for d in pose.arm_dirs[side])
        x[:, J[f"{pre}_shoulder"]] = sh
        x[:, J[f"{pre}_elbow"]] = sh + body["upper_arm"] * d_up
        wrist = x[:, J[f"{pre}_elbow"]] + body["forearm"] * d_fore
        x[:, J[f"{pre}_wrist"]] = wrist
        x[:, J[f"{pre}_hand"]] = wrist + body["hand"] * d_hand
        x[:, J[f"{pre}_hand_tip"]] = x[:, J[f"{pre}_hand"]] + body["hand_tip"] * d_hand
        # thumb: off the wrist, towards the front of the hand (the palm faces the body
        # when the arm hangs, so "front" is the chest's forward axis made normal to the hand)
        fwd = _apply(r_chest, const(e_f))
        side_thumb = fwd - np.sum(fwd * d_hand, axis=-1, keepdims=True) * d_hand
        bad = np.linalg.norm(side_thumb, axis=-1) < 1e-3
        side_thumb[bad] = _apply(r_chest, const(e_u))[bad]
        x[:, J[f"{pre}_thumb"]] = wrist + body["thumb"] * _unit(d_hand + 1.2 * _unit(side_thumb))

        # leg: hip on the (tilted) pelvis, segment directions in the upright heading frame
        lg = pose.leg[side]
        hip = _apply(r_pelvis, const(side * body["hip_half"] * e_l - body["hip_drop"] * e_u))
        heading = yaw(tr["pelvis_yaw"])
        thigh_a = lg["hip_flex"]
        shank_a = lg["hip_flex"] - lg["knee"]
        # the foot stays flat on the floor (tilted FOOT_TILT: the Kinect foot joint sits
        # below the ankle) unless it follows a swinging shank; "plantar" points the toes
        foot_a = 90.0 - FOOT_TILT + lg["foot_follow"] * shank_a - lg["plantar"]
        abd = roll(side * lg["hip_abd"])
        d_thigh = _apply(heading @ abd, limb_dir(thigh_a, np.zeros(t), side))
        d_shank = _apply(heading @ abd, limb_dir(shank_a, np.zeros(t), side))
        d_foot = _apply(heading, limb_dir(foot_a, np.full(t, 8.0), side))  # toes out a little
        x[:, J[f"{pre}_hip"]] = hip
        x[:, J[f"{pre}_knee"]] = hip + body["thigh"] * d_thigh
        x[:, J[f"{pre}_ankle"]] = x[:, J[f"{pre}_knee"]] + body["shank"] * d_shank
        x[:, J[f"{pre}_foot"]] = x[:, J[f"{pre}_ankle"]] + body["foot"] * d_foot

    # place the pelvis: planted feet keep their floor position, the lowest planted
    # foot point touches the floor (plus the airborne lift)
    planted = np.stack([pose.planted[1], pose.planted[-1]], axis=1).astype(float)  # (T, 2)
    ankles = x[:, [J["left_ankle"], J["right_ankle"]]]  # (T, 2, 3)
    feet = x[:, [J["left_foot"], J["right_foot"]]]
    ankle_clear = 0.028 * body.stature  # the ankle joint sits this far above the sole
    lowest = np.minimum(feet[..., 1], ankles[..., 1] - ankle_clear)  # (T, 2)
    w = planted / np.maximum(planted.sum(axis=1, keepdims=True), 1e-9)
    no_support = planted.sum(axis=1) == 0
    w[no_support] = 0.5
    # the supporting foot's horizontal position should stay where it was at the start
    anchor = np.einsum("tk,tkc->tc", w, ankles)
    ref = anchor[0].copy()
    shift = np.zeros((t, 3))
    shift[:, [0, 2]] = ref[[0, 2]] - anchor[:, [0, 2]]
    # planted feet: the lower of them touches the floor
    big = np.where(planted > 0, lowest, np.inf)
    ground = np.where(no_support, lowest.min(axis=1), big.min(axis=1))
    shift[:, 1] = -ground + pose.airborne
    x += (shift + pose.root_shift)[:, None, :]
    return x
