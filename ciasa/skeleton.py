"""Skeleton layouts: joints, bone trees, ST-GCN graphs and attack regions, defined once.

Every other module (models, attacks, renderer, pose extractor) imports its joint
indices from here, so a layout is never re-typed.

Tensor layout (ST-GCN's, used across the code base)
---------------------------------------------------
A single action is ``(C, T, V, M)``: C coordinate channels, T frames, V joints,
M bodies; a batch adds a leading N: ``(N, C, T, V, M)``. Zero-padded frames and
absent bodies are exactly zero in every channel.

Coordinate convention (NTU RGB+D, 3-D)
--------------------------------------
Kinect v2 camera space: metres, origin at the sensor, **x towards the sensor's
left**, **y up**, **z away from the sensor** (into the scene). A point in front of
the sensor has z > 0 and projects to the image column ``u = cx - fx * x / z`` and
row ``v = cy - fy * y / z`` (see :mod:`ciasa.camera`).

OpenPose-18 (Kinetics-skeleton) is 2-D image space: ``(x, y, score)`` with x, y
normalised like the official Kinetics-skeleton feeder.

Joint indices below are 0-based (the NTU documentation is 1-based).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ciasa.cli import UnknownName


@dataclass(frozen=True)
class Hinge:
    """A hinge joint (knee, elbow) as the joint triple proximal -> joint -> distal.

    Flexion is 0 degrees for a straight limb and grows as it bends. Its sign says on
    which side of the proximal-distal line the joint lies: positive towards ``front``
    (for the knee the direction distal -> ``front[1]``, i.e. ankle -> foot: a knee bends
    towards the toes), negative behind it (hyperextension). ``front`` is None where the
    layout has no segment that tells the limb's front (the elbow): the sign is then taken
    relative to the clean clip's own bending plane (see ``ciasa.attacks.plausibility``).
    """

    name: str
    proximal: int
    joint: int
    distal: int
    front: tuple[int, int] | None = None


@dataclass(frozen=True)
class LimbKinematics:
    """Where a 3-D layout's human joint-angle limits and floor contact apply.

    ``up_axis`` is the coordinate channel pointing up (Kinect camera space: y).
    ``pelvis`` is (root, spine joint above it, left hip, right hip): the frame hip angles
    are measured in. ``hips`` are (hip, knee, +1 for the left / -1 for the right side);
    ``ankles`` (knee, ankle, foot); ``floor_joints`` the joints that stand on the floor,
    grouped by kind (ankles, feet): each kind gets its own floor height; ``plant_joints``
    the joints whose contact with the floor must not skate.
    """

    knees: tuple[Hinge, ...]
    elbows: tuple[Hinge, ...]
    pelvis: tuple[int, int, int, int]
    hips: tuple[tuple[int, int, int], ...]
    ankles: tuple[tuple[int, int, int], ...]
    floor_joints: tuple[tuple[int, ...], ...]
    plant_joints: tuple[int, ...]
    up_axis: int = 1

    @property
    def hinges(self) -> tuple[Hinge, ...]:
        return self.knees + self.elbows


@dataclass(frozen=True)
class SkeletonLayout:
    """A joint layout with its bone tree, ST-GCN graph and attack regions.

    ``parents[j]`` is the parent of joint ``j`` in the bone tree (-1 for the root).
    ``graph_edges`` are ST-GCN's undirected neighbour pairs (they need not equal the
    bone tree: NTU's official graph links the hand tip to the thumb).
    ``regions`` are the localized-attack regions; ``leg_levels`` the advanced
    mode's two-leg region split into hierarchy levels (parents before children)
    with the default per-level clipping radius.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    graph_edges: tuple[tuple[int, int], ...]
    graph_center: int
    regions: dict[str, tuple[int, ...]]
    leg_levels: tuple[tuple[str, tuple[int, ...], float], ...]
    major_bones: tuple[int, ...]
    channels: int
    flip_pairs: tuple[tuple[int, int], ...] = field(default=())
    # Joint-angle and floor facts for the plausibility constraints; None for layouts
    # without metric 3-D limbs (OpenPose-18 is 2-D image space).
    kinematics: LimbKinematics | None = None

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    def index(self, joint_name: str) -> int:
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise KeyError(f"layout {self.name!r} has no joint named {joint_name!r}") from None

    @cached_property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(child, parent) pairs of the bone tree, in joint order."""
        return tuple((j, p) for j, p in enumerate(self.parents) if p >= 0)

    @cached_property
    def depth(self) -> tuple[int, ...]:
        """Number of bones between each joint and the root."""
        depth = [-1] * self.num_joints
        for j in range(self.num_joints):
            d, k = 0, j
            while self.parents[k] >= 0:
                k = self.parents[k]
                d += 1
                if d > self.num_joints:
                    raise ValueError(f"layout {self.name!r}: bone tree has a cycle")
            depth[j] = d
        return tuple(depth)

    @cached_property
    def tree_levels(self) -> tuple[tuple[int, ...], ...]:
        """Joints grouped by depth (root first): lets tree walks run a level at a time."""
        levels: list[list[int]] = [[] for _ in range(max(self.depth) + 1)]
        for j, d in enumerate(self.depth):
            levels[d].append(j)
        return tuple(tuple(level) for level in levels)

    @cached_property
    def descendants(self) -> np.ndarray:
        """Boolean (V, V) matrix: ``[a, b]`` is True when b is a or lies below a."""
        below = np.eye(self.num_joints, dtype=bool)
        for j in range(self.num_joints):
            k = self.parents[j]
            while k >= 0:
                below[k, j] = True
                k = self.parents[k]
        return below

    @cached_property
    def leg_joints(self) -> tuple[int, ...]:
        return tuple(j for _, joints, _ in self.leg_levels for j in joints)

    def region_joints(self, region: str | None) -> tuple[int, ...]:
        """Joint indices of a named attack region; ``None`` or 'all' means every joint.

        'legs' is the advanced mode's two-leg region.
        """
        if region in (None, "all"):
            return tuple(range(self.num_joints))
        if region == "legs":
            return self.leg_joints
        if region not in self.regions:
            known = ", ".join(["all", "legs", *self.regions])
            raise UnknownName(f"layout {self.name!r} has no attack region {region!r} (known: {known})")
        return self.regions[region]

    def hierarchical_eps(self) -> np.ndarray:
        """Per-joint clipping radius of the advanced mode (0 outside the two legs)."""
        eps = np.zeros(self.num_joints, dtype=np.float32)
        for _, joints, radius in self.leg_levels:
            eps[list(joints)] = radius
        return eps

    @property
    def leg_radii(self) -> dict[str, float]:
        """The advanced mode's default radius per leg level, by name (``{'hips': 0.01, ...}``):
        the names a config or ``--eps hips=...`` may use, so they are spelled once, here."""
        return {name: radius for name, _, radius in self.leg_levels}

    def leg_radii_text(self) -> str:
        """'hips 0.01, knees 0.05, ankles 0.15, feet 0.25' (metres) for help texts and reports."""
        return ", ".join(f"{name} {radius:g}" for name, radius in self.leg_radii.items())

    def named_eps(self, radii: Mapping[str, float], base: float | np.ndarray) -> np.ndarray:
        """Per-joint radius ``(V,)``: ``base`` (a scalar or a per-joint vector) with the named
        entries replaced; a leg level's name (:attr:`leg_radii`) sets both of its joints, a
        joint's name sets that joint. Raises :class:`ciasa.cli.UnknownName` naming the unknown
        name and the known ones, since the names come from a config or a flag."""
        eps = np.array(np.broadcast_to(np.asarray(base, dtype=np.float32), (self.num_joints,)))
        levels = {name: joints for name, joints, _ in self.leg_levels}
        for name, radius in radii.items():
            if name in levels:
                eps[list(levels[name])] = radius
            elif name in self.joint_names:
                eps[self.joint_names.index(name)] = radius
            else:
                raise UnknownName(
                    f"eps: layout {self.name!r} has no leg level or joint named {name!r} (leg levels: "
                    f"{', '.join(levels)}; joints: {', '.join(self.joint_names)})"
                )
        return eps

    def validate(self) -> None:
        """Internal consistency checks, run by the tests for every layout."""
        v = self.num_joints
        if len(self.parents) != v:
            raise ValueError(f"{self.name}: {len(self.parents)} parents for {v} joints")
        if self.parents.count(-1) != 1:
            raise ValueError(f"{self.name}: the bone tree needs exactly one root")
        _ = self.depth  # raises on cycles
        seen: set[int] = set()
        for name, joints in self.regions.items():
            if seen & set(joints):
                raise ValueError(f"{self.name}: region {name} overlaps another region")
            seen |= set(joints)
        if seen != set(range(v)):
            raise ValueError(f"{self.name}: the regions must cover every joint exactly once")
        for a, b in self.graph_edges:
            if not (0 <= a < v and 0 <= b < v):
                raise ValueError(f"{self.name}: graph edge ({a}, {b}) out of range")
        for j in self.major_bones:
            if self.parents[j] < 0:
                raise ValueError(f"{self.name}: major bone {j} is the root, which has no bone")


def _one_based(pairs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((a - 1, b - 1) for a, b in pairs)


NTU_JOINTS = (
    "spine_base",
    "spine_mid",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "left_hand",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "right_hand",
    "left_hip",
    "left_knee",
    "left_ankle",
    "left_foot",
    "right_hip",
    "right_knee",
    "right_ankle",
    "right_foot",
    "spine_shoulder",
    "left_hand_tip",
    "left_thumb",
    "right_hand_tip",
    "right_thumb",
)

# Kinect v2 bone hierarchy (the SDK's BodyBasics tree): thumbs hang off the wrists,
# hand tips off the hands.
_NTU_PARENT_BY_NAME = {
    "spine_base": None,
    "spine_mid": "spine_base",
    "spine_shoulder": "spine_mid",
    "neck": "spine_shoulder",
    "head": "neck",
    "left_shoulder": "spine_shoulder",
    "left_elbow": "left_shoulder",
    "left_wrist": "left_elbow",
    "left_hand": "left_wrist",
    "left_hand_tip": "left_hand",
    "left_thumb": "left_wrist",
    "right_shoulder": "spine_shoulder",
    "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow",
    "right_hand": "right_wrist",
    "right_hand_tip": "right_hand",
    "right_thumb": "right_wrist",
    "left_hip": "spine_base",
    "left_knee": "left_hip",
    "left_ankle": "left_knee",
    "left_foot": "left_ankle",
    "right_hip": "spine_base",
    "right_knee": "right_hip",
    "right_ankle": "right_knee",
    "right_foot": "right_ankle",
}


def _parents(names: tuple[str, ...], parent_by_name: dict[str, str | None]) -> tuple[int, ...]:
    return tuple(-1 if parent_by_name[n] is None else names.index(parent_by_name[n]) for n in names)


def _ids(names: tuple[str, ...], *joint_names: str) -> tuple[int, ...]:
    return tuple(names.index(n) for n in joint_names)


NTU_RGBD = SkeletonLayout(
    name="ntu-rgb+d",
    joint_names=NTU_JOINTS,
    parents=_parents(NTU_JOINTS, _NTU_PARENT_BY_NAME),
    # The official ST-GCN NTU graph (1-based pairs), hand tip <-> thumb <-> hand.
    graph_edges=_one_based(
        [
            (1, 2),
            (2, 21),
            (3, 21),
            (4, 3),
            (5, 21),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 21),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 1),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 1),
            (18, 17),
            (19, 18),
            (20, 19),
            (22, 23),
            (23, 8),
            (24, 25),
            (25, 12),
        ]
    ),
    graph_center=20,
    # Four localized-attack regions of 7/7/6/5 joints (the paper's Fig. 4 splits the
    # body into four sets of roughly equal size; sets 1-2 are the upper body).
    regions={
        "set-1": _ids(
            NTU_JOINTS, "head", "left_shoulder", "left_elbow", "left_wrist", "left_hand", "left_hand_tip", "left_thumb"
        ),
        "set-2": _ids(
            NTU_JOINTS,
            "neck",
            "right_shoulder",
            "right_elbow",
            "right_wrist",
            "right_hand",
            "right_hand_tip",
            "right_thumb",
        ),
        "set-3": _ids(NTU_JOINTS, "spine_shoulder", "spine_mid", "left_hip", "left_knee", "left_ankle", "left_foot"),
        "set-4": _ids(NTU_JOINTS, "spine_base", "right_hip", "right_knee", "right_ankle", "right_foot"),
    },
    # Advanced mode: the two legs, clipping radius growing from parents to children.
    leg_levels=(
        ("hips", _ids(NTU_JOINTS, "left_hip", "right_hip"), 0.01),
        ("knees", _ids(NTU_JOINTS, "left_knee", "right_knee"), 0.05),
        ("ankles", _ids(NTU_JOINTS, "left_ankle", "right_ankle"), 0.15),
        ("feet", _ids(NTU_JOINTS, "left_foot", "right_foot"), 0.25),
    ),
    # Bones (named by their child joint) that feed the discriminator's cosine map:
    # everything but the hands, hand tips and thumbs (Kinect's noisiest, finger-like bones).
    major_bones=_ids(
        NTU_JOINTS,
        "spine_mid",
        "spine_shoulder",
        "neck",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "left_hip",
        "left_knee",
        "left_ankle",
        "left_foot",
        "right_hip",
        "right_knee",
        "right_ankle",
        "right_foot",
    ),
    channels=3,
    flip_pairs=tuple(
        (NTU_JOINTS.index(f"left_{p}"), NTU_JOINTS.index(f"right_{p}"))
        for p in ("shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "foot", "hand_tip", "thumb")
    ),
    kinematics=LimbKinematics(
        knees=tuple(
            Hinge(
                f"{s}_knee",
                *_ids(NTU_JOINTS, f"{s}_hip", f"{s}_knee", f"{s}_ankle"),
                front=_ids(NTU_JOINTS, f"{s}_ankle", f"{s}_foot"),
            )  # type: ignore[arg-type]
            for s in ("left", "right")
        ),
        elbows=tuple(
            Hinge(f"{s}_elbow", *_ids(NTU_JOINTS, f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist"))
            for s in ("left", "right")
        ),
        pelvis=_ids(NTU_JOINTS, "spine_base", "spine_mid", "left_hip", "right_hip"),  # type: ignore[arg-type]
        hips=(_ids(NTU_JOINTS, "left_hip", "left_knee") + (1,), _ids(NTU_JOINTS, "right_hip", "right_knee") + (-1,)),  # type: ignore[arg-type]
        ankles=(
            _ids(NTU_JOINTS, "left_knee", "left_ankle", "left_foot"),
            _ids(NTU_JOINTS, "right_knee", "right_ankle", "right_foot"),
        ),  # type: ignore[arg-type]
        floor_joints=(_ids(NTU_JOINTS, "left_ankle", "right_ankle"), _ids(NTU_JOINTS, "left_foot", "right_foot")),
        plant_joints=_ids(NTU_JOINTS, "left_foot", "right_foot"),
        up_axis=1,
    ),
)

OPENPOSE_JOINTS = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)

_OPENPOSE_PARENT_BY_NAME = {
    "neck": None,
    "nose": "neck",
    "right_shoulder": "neck",
    "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow",
    "left_shoulder": "neck",
    "left_elbow": "left_shoulder",
    "left_wrist": "left_elbow",
    "right_hip": "neck",
    "right_knee": "right_hip",
    "right_ankle": "right_knee",
    "left_hip": "neck",
    "left_knee": "left_hip",
    "left_ankle": "left_knee",
    "right_eye": "nose",
    "left_eye": "nose",
    "right_ear": "right_eye",
    "left_ear": "left_eye",
}

OPENPOSE_18 = SkeletonLayout(
    name="openpose",
    joint_names=OPENPOSE_JOINTS,
    parents=_parents(OPENPOSE_JOINTS, _OPENPOSE_PARENT_BY_NAME),
    graph_edges=(
        (4, 3),
        (3, 2),
        (7, 6),
        (6, 5),
        (13, 12),
        (12, 11),
        (10, 9),
        (9, 8),
        (11, 5),
        (8, 2),
        (5, 1),
        (2, 1),
        (0, 1),
        (15, 0),
        (14, 0),
        (17, 15),
        (16, 14),
    ),
    graph_center=1,
    regions={
        "set-1": _ids(OPENPOSE_JOINTS, "left_shoulder", "left_elbow", "left_wrist", "left_eye", "left_ear"),
        "set-2": _ids(OPENPOSE_JOINTS, "right_shoulder", "right_elbow", "right_wrist", "right_eye", "right_ear"),
        "set-3": _ids(OPENPOSE_JOINTS, "nose", "neck", "left_hip", "left_knee", "left_ankle"),
        "set-4": _ids(OPENPOSE_JOINTS, "right_hip", "right_knee", "right_ankle"),
    },
    leg_levels=(
        ("hips", _ids(OPENPOSE_JOINTS, "left_hip", "right_hip"), 0.01),
        ("knees", _ids(OPENPOSE_JOINTS, "left_knee", "right_knee"), 0.05),
        ("ankles", _ids(OPENPOSE_JOINTS, "left_ankle", "right_ankle"), 0.15),
    ),
    # Limbs, torso and the nose-neck bone; the small face bones (eyes, ears) are left out.
    major_bones=_ids(
        OPENPOSE_JOINTS,
        "nose",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
    ),
    channels=3,  # x, y, confidence
    flip_pairs=tuple(
        (OPENPOSE_JOINTS.index(f"left_{p}"), OPENPOSE_JOINTS.index(f"right_{p}"))
        for p in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "eye", "ear")
    ),
)

LAYOUTS: dict[str, SkeletonLayout] = {NTU_RGBD.name: NTU_RGBD, OPENPOSE_18.name: OPENPOSE_18}
# Names a radius may be given by (``--eps feet=0.3``, the config's ``attack.options.eps``):
# a leg level or a joint of some layout; the attacked model's layout decides which apply.
EPS_NAMES = frozenset(name for layout in LAYOUTS.values() for name in (*layout.leg_radii, *layout.joint_names))


def get_layout(name: str | SkeletonLayout) -> SkeletonLayout:
    """Look a layout up by its ST-GCN name ('ntu-rgb+d' or 'openpose')."""
    if isinstance(name, SkeletonLayout):
        return name
    try:
        return LAYOUTS[name]
    except KeyError:
        raise UnknownName(f"unknown skeleton layout {name!r} (known: {', '.join(LAYOUTS)})") from None


def bone_lengths(joints: np.ndarray, layout: SkeletonLayout, channel_axis: int = 0) -> np.ndarray:
    """Length of every bone (child, parent) of ``layout``.

    ``joints`` follows the ST-GCN layout: channels on ``channel_axis`` (0 for
    (C, T, V, M), 1 for (N, C, T, V, M)), joints two axes later. The result drops
    the channel axis; its joint axis holds one entry per bone, ordered like
    ``layout.bones``.
    """
    joint_axis = channel_axis + 2
    child = np.take(joints, [c for c, _ in layout.bones], axis=joint_axis)
    parent = np.take(joints, [p for _, p in layout.bones], axis=joint_axis)
    return np.linalg.norm(child - parent, axis=channel_axis)
