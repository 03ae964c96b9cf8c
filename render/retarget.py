"""Retargeting: NTU-25 joint positions to per-frame bone transforms (pure numpy).

The armature has one bone per NTU bone, named after the bone's child joint: its head
sits on the parent joint, its tail on the child joint. Bones are not parented inside
Blender; every bone is keyed with its own location, rotation and scale in armature
space, so a bone's head lands exactly on its input parent joint in every frame even
when Kinect's bone lengths jitter (a parented, connected chain would accumulate
those length errors down the limb). Orientations still come from the tree:

* the pelvis frame from the hip line and the lower spine, the chest frame from the
  shoulder line and the upper spine;
* every other bone takes its parent's rotation and adds the minimal rotation that
  turns the parent-carried rest direction onto the bone's input direction, so limbs
  do not spin about their own axis (and the head faces where the chest faces).

Each bone is scaled along its own axis to the bone's length in that frame and across
it by a global size factor (from the subject's median bone lengths), so the body is
scaled to the subject while the template mesh stays fixed (batch mode reuses it), and
every joint lands on the input. Only where the input's bone length leaves a band
around its median (a joint collapsing onto its parent) is the bone drawn clamped, and
:func:`joint_error` reports the difference.

Coordinates: Kinect camera space (x to the sensor's left, y up, z away) maps to
Blender world by ``(x, y, z) -> (-x, z, y)`` (a proper rotation), so the sensor sits
at the origin looking along Blender's +y with +z up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ciasa.skeleton import NTU_RGBD, SkeletonLayout

LAYOUT: SkeletonLayout = NTU_RGBD
J = {name: i for i, name in enumerate(LAYOUT.joint_names)}
# Bones in tree order (parents before children), each named by its child joint.
BONES: tuple[tuple[int, int], ...] = tuple(sorted(LAYOUT.bones, key=lambda cp: (LAYOUT.depth[cp[0]], cp[0])))
BONE_NAMES: tuple[str, ...] = tuple(LAYOUT.joint_names[c] for c, _ in BONES)
BONE_INDEX = {name: i for i, name in enumerate(BONE_NAMES)}
TERMINAL_JOINTS = tuple(j for j in range(LAYOUT.num_joints) if j not in LAYOUT.parents)

KINECT_TO_BLENDER = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])

# Bones whose orientation reference is a torso frame rather than their parent bone.
_PELVIS_CHILDREN = ("spine_mid", "left_hip", "right_hip")
_CHEST_CHILDREN = ("spine_shoulder", "neck", "left_shoulder", "right_shoulder")
# A bone drawn shorter than this fraction of the template's (scaled) length is taken
# to be a joint collapsed onto its parent (Kinect puts the hand on the wrist).
MIN_LENGTH_FRACTION = 0.3
# Per-frame bone lengths are followed within this band around the bone's median length.
STRETCH_BAND = (0.1, 3.0)


def kinect_to_blender(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ KINECT_TO_BLENDER.T


def blender_to_kinect(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ KINECT_TO_BLENDER


def _normalize(v: np.ndarray, eps: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = n[..., 0] > eps
    return np.where(n > eps, v / np.maximum(n, eps), 0.0), ok


def torso_frame(
    left: np.ndarray, right: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal frames (..., 3, 3), columns (left, up, back), from a left-right line
    and a low-high spine segment; also a mask of frames where both were well defined."""
    x, okx = _normalize(left - right)
    up, oku = _normalize(high - low)
    z, okz = _normalize(np.cross(x, up))  # x=left, up -> z = left x up points backwards
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1), okx & oku & okz


def min_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) turning unit vectors ``a`` onto ``b`` by the smallest angle."""
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)
    s2 = np.sum(v * v, axis=-1)
    k = np.zeros(a.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    k[..., 1, 0], k[..., 2, 0], k[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(s2 > 1e-12, (1.0 - c) / s2, 0.5)
    r = np.eye(3) + k + (k @ k) * coef[..., None, None]
    # Opposite vectors: half a turn about any axis perpendicular to a.
    opp = (c < -1.0 + 1e-9) & (s2 <= 1e-12)
    if np.any(opp):
        aa = a[opp]
        axis = np.cross(aa, np.array([1.0, 0.0, 0.0]))
        small = np.linalg.norm(axis, axis=-1) < 1e-6
        axis[small] = np.cross(aa[small], np.array([0.0, 1.0, 0.0]))
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        r[opp] = 2.0 * axis[:, :, None] * axis[:, None, :] - np.eye(3)
    return r


@dataclass
class RestSkeleton:
    """The template armature: rest joints (25, 3) and per-bone rest frames (B, 3, 3),
    Blender world coordinates, the figure facing -y (the camera) with its left at +x."""

    joints: np.ndarray
    frames: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.joints = np.asarray(self.joints, dtype=np.float64)
        self.frames = np.stack([self.bone_frame(c, p) for c, p in BONES])

    def bone_frame(self, child: int, parent: int) -> np.ndarray:
        """Columns (x, y, z): y along the bone, z towards the figure's back where possible
        (Blender's bone-roll convention does not matter: we hand Blender the full matrix)."""
        y, _ = _normalize(self.joints[child] - self.joints[parent])
        back = np.array([0.0, 1.0, 0.0])
        if abs(np.dot(back, y)) > 0.9:  # bone along the viewing axis (feet): use up instead
            back = np.array([0.0, 0.0, 1.0])
        x, _ = _normalize(np.cross(y, back))
        z = np.cross(x, y)
        return np.stack([x, y, z], axis=-1)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([np.linalg.norm(self.joints[c] - self.joints[p]) for c, p in BONES])


@dataclass
class Retarget:
    """Per-frame bone transforms of one body, all in Blender world (= armature) space.

    heads (T, B, 3) bone heads, rotations (T, B, 3, 3) bone frames (columns x, y, z with
    y along the bone), scale (T, B, 3) the bone-local scale applied to the template
    (across: the subject's size; along: the bone's length in that frame), present (T,)
    frames where the body is tracked, lengths (B,) the subject's typical bone lengths,
    drawn (T, B) the length each bone is drawn with, size the global size factor,
    warnings for render.json.
    """

    heads: np.ndarray
    rotations: np.ndarray
    scale: np.ndarray
    present: np.ndarray
    lengths: np.ndarray
    drawn: np.ndarray
    size: float
    warnings: list[str]

    def tails(self) -> np.ndarray:
        return self.heads + self.rotations[..., :, 1] * self.drawn[..., None]

    def joints(self) -> np.ndarray:
        """Posed joint positions (T, 25, 3) in Blender world."""
        return assemble_joints(self.heads, self.tails())


def assemble_joints(heads: np.ndarray, tails: np.ndarray) -> np.ndarray:
    """Joints (..., 25, 3) from bone heads and tails (..., B, 3): a joint that starts a bone
    is that bone's head; a terminal joint (head, hand tips, thumbs, feet) is its bone's tail."""
    out = np.zeros(heads.shape[:-2] + (LAYOUT.num_joints, 3))
    for b, (_c, p) in enumerate(BONES):
        out[..., p, :] = heads[..., b, :]
    for b, (c, _p) in enumerate(BONES):
        if c in TERMINAL_JOINTS:
            out[..., c, :] = tails[..., b, :]
    return out


def _height_chain(lengths: np.ndarray) -> float:
    chain = ("spine_mid", "spine_shoulder", "neck", "head", "left_knee", "left_ankle", "right_knee", "right_ankle")
    return float(sum(lengths[BONE_INDEX[n]] for n in chain))


def subject_size(joints_kinect: np.ndarray, rest: RestSkeleton) -> float:
    """The subject's size relative to the template, from median bone lengths (tracked frames)."""
    x = np.asarray(joints_kinect, dtype=np.float64)
    present = np.any(x != 0.0, axis=(1, 2))
    if not present.any():
        raise ValueError("the body is absent in every frame")
    x = x[present]
    med = np.median(np.stack([np.linalg.norm(x[:, c] - x[:, p], axis=-1) for c, p in BONES], axis=1), axis=0)
    return float(np.clip(_height_chain(med) / _height_chain(rest.lengths), 0.5, 1.6))


def retarget(joints_kinect: np.ndarray, rest: RestSkeleton, build: float = 1.0, size: float | None = None) -> Retarget:
    """Bone transforms for one body's sequence ``joints_kinect`` (T, 25, 3), Kinect space.

    Frames where the body is all zero are absent (``present`` False); their transforms
    repeat the nearest tracked frame so interpolation never flies the figure around.
    ``build`` widens (>1) or slims (<1) the figure across its bones; ``size`` (default: from
    this sequence, :func:`subject_size`) scales it across its bones: give the clean clip's
    size when rendering a perturbed one, so both figures have the same girth.
    """
    x = np.asarray(joints_kinect, dtype=np.float64)
    if x.ndim != 3 or x.shape[1:] != (LAYOUT.num_joints, 3):
        raise ValueError(f"expected joints of shape (T, {LAYOUT.num_joints}, 3), got {x.shape}")
    t_len = x.shape[0]
    present = np.any(x != 0.0, axis=(1, 2))
    warnings: list[str] = []
    if not present.any():
        raise ValueError("the body is absent in every frame")
    pts = kinect_to_blender(x)
    # Frames without the body borrow the nearest tracked frame (they are hidden anyway).
    idx = np.arange(t_len)
    tracked = idx[present]
    nearest = tracked[np.clip(np.searchsorted(tracked, idx), 0, len(tracked) - 1)]
    prev = tracked[np.clip(np.searchsorted(tracked, idx) - 1, 0, len(tracked) - 1)]
    nearest = np.where(np.abs(prev - idx) < np.abs(nearest - idx), prev, nearest)
    pts = pts[nearest]

    # Subject bone lengths: the median over tracked frames.
    vec = np.stack([pts[:, c] - pts[:, p] for c, p in BONES], axis=1)  # (T, B, 3)
    seq_len = np.linalg.norm(vec, axis=-1)
    med = np.median(seq_len[present], axis=0)
    if size is None:
        size = float(np.clip(_height_chain(med) / _height_chain(rest.lengths), 0.5, 1.6))
    lengths = med.copy()
    for b, name in enumerate(BONE_NAMES):
        floor = MIN_LENGTH_FRACTION * rest.lengths[b] * size
        if med[b] < floor:
            lengths[b] = rest.lengths[b] * size
            warnings.append(
                f"bone {name}: median length {med[b] * 1000:.0f} mm in the input (joint on its parent); "
                f"drawn {lengths[b] * 1000:.0f} mm long (a zero-length bone cannot be drawn)"
            )
    dirs, ok = _normalize(vec)
    # Each bone is drawn with its length in that frame, so every joint lands on the input,
    # within a band around the typical length: a Kinect glitch that folds a hand onto the
    # wrist for a frame must not squash the mesh to nothing (the error is then reported).
    collapsed = lengths != med
    drawn = np.where(
        ok & ~collapsed[None], np.clip(seq_len, STRETCH_BAND[0] * lengths, STRETCH_BAND[1] * lengths), lengths[None]
    )
    scale = np.empty((t_len, len(BONES), 3))
    scale[..., 0] = scale[..., 2] = size * build
    scale[..., 1] = drawn / rest.lengths
    pelvis, ok_p = torso_frame(
        pts[:, J["left_hip"]], pts[:, J["right_hip"]], pts[:, J["spine_base"]], pts[:, J["spine_mid"]]
    )
    chest, ok_c = torso_frame(
        pts[:, J["left_shoulder"]], pts[:, J["right_shoulder"]], pts[:, J["spine_mid"]], pts[:, J["spine_shoulder"]]
    )
    rj = rest.joints[None]
    pelvis0, _ = torso_frame(rj[:, J["left_hip"]], rj[:, J["right_hip"]], rj[:, J["spine_base"]], rj[:, J["spine_mid"]])
    chest0, _ = torso_frame(
        rj[:, J["left_shoulder"]], rj[:, J["right_shoulder"]], rj[:, J["spine_mid"]], rj[:, J["spine_shoulder"]]
    )
    q_pelvis = pelvis @ np.swapaxes(pelvis0, -1, -2)
    q_chest = chest @ np.swapaxes(chest0, -1, -2)
    bad_torso = ~(ok_p & ok_c) & present
    if bad_torso.any():
        warnings.append(
            f"{int(bad_torso.sum())} frames with a degenerate hip or shoulder line: torso turned by the spine alone"
        )
        q_pelvis[~ok_p] = np.eye(3)
        q_chest[~ok_c] = np.eye(3)

    q = np.zeros((t_len, len(BONES), 3, 3))  # world delta rotation rest -> posed, per bone
    for b, (_c, p) in enumerate(BONES):
        name = BONE_NAMES[b]
        if name in _PELVIS_CHILDREN:
            ref = q_pelvis
        elif name in _CHEST_CHILDREN:
            ref = q_chest
        else:
            ref = q[:, BONE_INDEX[LAYOUT.joint_names[p]]]
        d0 = ref @ rest.frames[b][:, 1]
        # A zero-length input bone has no direction: it follows its parent.
        fix = np.where(ok[:, b, None, None], min_rotation(d0, np.where(ok[:, b, None], dirs[:, b], d0)), np.eye(3))
        q[:, b] = fix @ ref
    rotations = q @ rest.frames[None]
    heads = np.stack([pts[:, p] for _, p in BONES], axis=1)
    return Retarget(
        heads=heads,
        rotations=rotations,
        scale=scale,
        present=present,
        lengths=lengths,
        drawn=drawn,
        size=size,
        warnings=warnings,
    )


def joint_error(result: Retarget, joints_kinect: np.ndarray) -> dict[str, float]:
    """Distance (metres) between the posed armature's joints and the input, over tracked frames."""
    posed = blender_to_kinect(result.joints())
    err = np.linalg.norm(posed - np.asarray(joints_kinect, dtype=np.float64), axis=-1)[result.present]
    return {
        "max_m": float(err.max()),
        "mean_m": float(err.mean()),
        "max_nonterminal_m": float(np.delete(err, TERMINAL_JOINTS, axis=1).max()),
    }
