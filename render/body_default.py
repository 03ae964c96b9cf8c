"""The default body: a clothed mannequin built procedurally (numpy only) around a template
skeleton, with a face so that pose estimators can tell its front from its back.

The mesh is a union of smooth parts: a lofted torso with superelliptic cross-sections,
tapered limb tubes, spheres at the joints, a head with eyes, pupils, brows, nose, mouth,
ears and hair, flat hands with a thumb, and shoes. Each part is skinned to a short list
of bones with weights falling off with the fourth power of the distance to each bone, so
limbs bend smoothly at the elbows and knees while hands, feet and the head stay rigid.
The template is built once per process and posed per clip (see :mod:`render.retarget`):
the subject's size comes from the bone scales, not from rebuilding the mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from render.retarget import BONE_INDEX, BONE_NAMES, BONES, J, RestSkeleton

# Template joints in Blender world (metres): standing in a relaxed A-pose, facing -y
# (the camera), the figure's left at +x, feet on z = 0. About 1.76 m tall.
_HALF = {
    "spine_base": (0.0, 0.0, 0.98),
    "spine_mid": (0.0, 0.005, 1.22),
    "spine_shoulder": (0.0, 0.0, 1.44),
    "neck": (0.0, -0.005, 1.52),
    "head": (0.0, -0.01, 1.64),
    "shoulder": (0.175, 0.0, 1.41),
    "elbow": (0.27, 0.0, 1.147),
    "wrist": (0.355, -0.03, 0.913),
    "hand": (0.382, -0.035, 0.838),
    "hand_tip": (0.405, -0.04, 0.77),
    "thumb": (0.35, -0.08, 0.875),
    "hip": (0.085, 0.0, 0.93),
    "knee": (0.09, -0.01, 0.50),
    "ankle": (0.09, 0.0, 0.085),
    "foot": (0.095, -0.125, 0.03),
}


def template_joints() -> np.ndarray:
    out = np.zeros((25, 3))
    for name, j in J.items():
        if name.startswith(("left_", "right_")):
            side, part = name.split("_", 1)
            x, y, z = _HALF[part]
            out[j] = (x if side == "left" else -x, y, z)
        else:
            out[j] = _HALF[name]
    return out


MATERIALS = ("skin", "shirt", "trousers", "shoes", "hair", "eye_white", "pupil", "lips")


@dataclass
class BodyMesh:
    """A skinned template mesh: vertices (N, 3), polygons (index lists), polygon material
    indices into ``materials``, dense weights (N, B) over :data:`BONE_NAMES`, and texture
    coordinates per polygon corner (L, 2) when the mesh has a UV map of its own."""

    rest: RestSkeleton
    vertices: np.ndarray
    polygons: list[tuple[int, ...]]
    material_index: np.ndarray
    materials: tuple[str, ...]
    weights: np.ndarray
    loop_uvs: np.ndarray | None = None

    def uvs(self) -> np.ndarray:
        """Texture coordinates per polygon corner: the mesh's own, else a projection onto the
        figure's front and side (one texture repeat per 60 cm), enough for fabric detail."""
        if self.loop_uvs is not None:
            return self.loop_uvs
        corners = self.vertices[np.concatenate([np.asarray(p) for p in self.polygons])]
        return np.stack([(corners[:, 0] + corners[:, 1]) / 0.6, corners[:, 2] / 0.6], axis=1)


class _Builder:
    def __init__(self, rest: RestSkeleton):
        self.rest = rest
        self.verts: list[np.ndarray] = []
        self.polys: list[tuple[int, ...]] = []
        self.mats: list[int] = []
        self.weights: list[np.ndarray] = []
        self.count = 0

    def _bone_distance(self, pts: np.ndarray, bones: list[str]) -> np.ndarray:
        d = np.empty((len(pts), len(bones)))
        for k, name in enumerate(bones):
            c, p = BONES[BONE_INDEX[name]]
            a, b = self.rest.joints[p], self.rest.joints[c]
            ab = b - a
            s = np.clip(((pts - a) @ ab) / max(ab @ ab, 1e-12), 0.0, 1.0)
            d[:, k] = np.linalg.norm(pts - (a + s[:, None] * ab), axis=1)
        return d

    def add(self, verts: np.ndarray, polys: list[tuple[int, ...]], material: str | list[int], bones: list[str]) -> None:
        """Add a part skinned to ``bones`` (one bone: rigid)."""
        w = np.zeros((len(verts), len(BONE_NAMES)))
        if len(bones) == 1:
            w[:, BONE_INDEX[bones[0]]] = 1.0
        else:
            inv = 1.0 / (self._bone_distance(verts, bones) ** 4 + 1e-10)
            inv /= inv.sum(axis=1, keepdims=True)
            inv[inv < 0.03] = 0.0
            inv /= inv.sum(axis=1, keepdims=True)
            for k, name in enumerate(bones):
                w[:, BONE_INDEX[name]] = inv[:, k]
        mats = [MATERIALS.index(material)] * len(polys) if isinstance(material, str) else list(material)
        self.verts.append(verts)
        self.polys.extend(tuple(i + self.count for i in p) for p in polys)
        self.mats.extend(mats)
        self.weights.append(w)
        self.count += len(verts)

    def build(self) -> BodyMesh:
        return BodyMesh(
            self.rest,
            np.concatenate(self.verts),
            self.polys,
            np.asarray(self.mats, dtype=np.int32),
            MATERIALS,
            np.concatenate(self.weights).astype(np.float32),
        )


def _ring_grid_polys(rings: int, around: int, cap_start: int | None, cap_end: int | None) -> list[tuple[int, ...]]:
    polys: list[tuple[int, ...]] = []
    for r in range(rings - 1):
        for a in range(around):
            b = (a + 1) % around
            polys.append((r * around + a, r * around + b, (r + 1) * around + b, (r + 1) * around + a))
    if cap_start is not None:
        polys.extend((cap_start, (a + 1) % around, a) for a in range(around))
    if cap_end is not None:
        last = (rings - 1) * around
        polys.extend((cap_end, last + a, last + (a + 1) % around) for a in range(around))
    return polys


def ellipsoid(center, radii, frame=np.eye(3), n_u: int = 16, n_v: int = 10) -> tuple[np.ndarray, list]:
    """Ellipsoid with semi-axes ``radii`` along the columns of ``frame``; poles along frame's y."""
    v = np.linspace(0.0, np.pi, n_v + 1)[1:-1]
    u = np.linspace(0.0, 2 * np.pi, n_u, endpoint=False)
    vv, uu = np.meshgrid(v, u, indexing="ij")
    local = np.stack([np.sin(vv) * np.cos(uu), -np.cos(vv), np.sin(vv) * np.sin(uu)], axis=-1).reshape(-1, 3)
    poles = np.array([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
    local = np.concatenate([local, poles]) * np.asarray(radii)
    pts = local @ np.asarray(frame).T + np.asarray(center)
    n_rings = len(v)
    polys = _ring_grid_polys(n_rings, n_u, cap_start=n_rings * n_u, cap_end=n_rings * n_u + 1)
    return pts, polys


def tube(a, b, r_a, r_b, frame, n_around: int = 16, n_len: int = 8, squash: float = 1.0):
    """Tapered tube from a to b; cross-section radius r along frame x, r*squash along z."""
    ts = np.linspace(0.0, 1.0, n_len)
    ang = np.linspace(0.0, 2 * np.pi, n_around, endpoint=False)
    a, b = np.asarray(a), np.asarray(b)
    x, z = frame[:, 0], frame[:, 2]
    pts = []
    for t in ts:
        r = r_a + (r_b - r_a) * t
        c = a + (b - a) * t
        pts.append(c + r * np.cos(ang)[:, None] * x + r * squash * np.sin(ang)[:, None] * z)
    pts = np.concatenate(pts + [a[None], b[None]])
    polys = _ring_grid_polys(n_len, n_around, cap_start=n_len * n_around, cap_end=n_len * n_around + 1)
    return pts, polys


def _torso(rest: RestSkeleton) -> tuple[np.ndarray, list]:
    """Lofted torso: superelliptic sections (height, half width, half depth, forward shift)."""
    sections = [
        (0.86, 0.150, 0.105, 0.0),
        (0.93, 0.172, 0.112, 0.0),
        (1.00, 0.176, 0.115, 0.0),
        (1.08, 0.162, 0.108, 0.0),
        (1.15, 0.148, 0.100, -0.005),
        (1.24, 0.155, 0.108, -0.01),
        (1.32, 0.168, 0.115, -0.012),
        (1.39, 0.180, 0.108, -0.008),
        (1.44, 0.168, 0.090, 0.0),
        (1.48, 0.120, 0.070, 0.0),
        (1.505, 0.065, 0.055, 0.0),
    ]
    n = 24
    ang = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(ang), np.sin(ang)
    e = 2.0 / 2.6  # superellipse exponent 2.6: fuller than an ellipse
    sx = np.sign(c) * np.abs(c) ** e
    sy = np.sign(s) * np.abs(s) ** e
    pts = []
    for z, hw, hd, dy in sections:
        pts.append(np.stack([hw * sx, hd * sy + dy, np.full(n, z)], axis=1))
    bottom = np.array([[0.0, 0.0, sections[0][0] - 0.03]])
    top = np.array([[0.0, 0.0, sections[-1][0] + 0.005]])
    pts = np.concatenate(pts + [bottom, top])
    polys = _ring_grid_polys(len(sections), n, cap_start=len(sections) * n, cap_end=len(sections) * n + 1)
    return pts, polys


def build_default_body() -> BodyMesh:
    rest = RestSkeleton(template_joints())
    jt = rest.joints
    frame = {name: rest.frames[b] for b, name in enumerate(BONE_NAMES)}
    bld = _Builder(rest)

    torso_bones = ["spine_mid", "spine_shoulder", "left_hip", "right_hip", "left_shoulder", "right_shoulder"]
    pts, polys = _torso(rest)
    # Shirt above the belt line, trousers below it.
    mats = []
    for poly in polys:
        zc = float(np.mean(pts[list(poly), 2]))
        mats.append(MATERIALS.index("shirt" if zc > 1.03 else "trousers"))
    bld.add(pts, polys, mats, torso_bones)

    # Neck and head.
    pts, polys = tube(jt[J["spine_shoulder"]] + [0, 0, 0.02], jt[J["head"]] - [0, 0, 0.03], 0.055, 0.05, frame["neck"])
    bld.add(pts, polys, "skin", ["neck", "spine_shoulder", "head"])
    hc = jt[J["head"]] + np.array([0.0, 0.0, 0.015])
    hf = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]).T  # poles along z
    head_r = np.array([0.080, 0.112, 0.098])  # x half width, (pole axis) half height, depth
    pts, polys = ellipsoid(hc, head_r, hf, n_u=24, n_v=16)
    bld.add(pts, polys, "skin", ["head"])
    # Hair: a slightly larger shell over the crown and the back of the head.
    pts, polys = ellipsoid(hc + [0.0, 0.008, 0.012], head_r * [1.07, 1.04, 1.08], hf, n_u=24, n_v=16)
    rel = pts - hc
    keep = [p for p in polys if (lambda m: m[2] > 0.045 or (m[1] > -0.01 and m[2] > -0.07))(rel[list(p)].mean(axis=0))]
    bld.add(pts, keep, "hair", ["head"])
    front = -head_r[2]  # the face is at -y
    for side in (1.0, -1.0):
        eye = hc + [side * 0.031, front * 0.86, 0.018]
        bld.add(*ellipsoid(eye, (0.015, 0.011, 0.015), np.eye(3), 12, 8), "eye_white", ["head"])
        bld.add(*ellipsoid(eye + [0, -0.011, 0], (0.007, 0.004, 0.007), np.eye(3), 10, 6), "pupil", ["head"])
        bld.add(
            *ellipsoid(hc + [side * 0.033, front * 0.93, 0.046], (0.022, 0.005, 0.005), np.eye(3), 10, 6),
            "hair",
            ["head"],
        )
        bld.add(*ellipsoid(hc + [side * 0.081, 0.004, 0.0], (0.012, 0.022, 0.030), np.eye(3), 10, 8), "skin", ["head"])
    bld.add(*ellipsoid(hc + [0.0, front * 1.02, -0.012], (0.012, 0.020, 0.022), np.eye(3), 12, 8), "skin", ["head"])
    bld.add(*ellipsoid(hc + [0.0, front * 0.91, -0.050], (0.024, 0.007, 0.008), np.eye(3), 12, 6), "lips", ["head"])

    for side in ("left", "right"):
        sh, el, wr = jt[J[f"{side}_shoulder"]], jt[J[f"{side}_elbow"]], jt[J[f"{side}_wrist"]]
        hd, tip, th = jt[J[f"{side}_hand"]], jt[J[f"{side}_hand_tip"]], jt[J[f"{side}_thumb"]]
        arm = [f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist"]
        bld.add(
            *ellipsoid(sh, (0.065, 0.065, 0.06), np.eye(3)),
            "shirt",
            [f"{side}_shoulder", f"{side}_elbow", "spine_shoulder"],
        )
        bld.add(*tube(sh, el, 0.056, 0.045, frame[f"{side}_elbow"]), "shirt", arm)
        bld.add(*ellipsoid(el, (0.044, 0.044, 0.044), np.eye(3)), "skin", arm)
        bld.add(*tube(el, wr, 0.042, 0.030, frame[f"{side}_wrist"], squash=0.85), "skin", arm + [f"{side}_hand"])
        # Palm and fingers: flat (thin along the bone's x), thumb separate.
        pf = frame[f"{side}_hand"]
        bld.add(
            *ellipsoid((wr + hd) / 2 + (hd - wr) * 0.1, (0.018, np.linalg.norm(hd - wr) * 0.75, 0.043), pf, 12, 8),
            "skin",
            [f"{side}_hand"],
        )
        ff = frame[f"{side}_hand_tip"]
        bld.add(
            *ellipsoid((hd + tip) / 2, (0.015, np.linalg.norm(tip - hd) * 0.62, 0.040), ff, 12, 8),
            "skin",
            [f"{side}_hand_tip"],
        )
        tf = frame[f"{side}_thumb"]
        bld.add(
            *ellipsoid((wr + th) / 2 + (th - wr) * 0.15, (0.013, np.linalg.norm(th - wr) * 0.6, 0.014), tf, 10, 6),
            "skin",
            [f"{side}_thumb"],
        )

        hp, kn, an, ft = jt[J[f"{side}_hip"]], jt[J[f"{side}_knee"]], jt[J[f"{side}_ankle"]], jt[J[f"{side}_foot"]]
        leg = [f"{side}_hip", f"{side}_knee", f"{side}_ankle"]
        bld.add(*tube(hp + [0, 0, 0.03], kn, 0.088, 0.058, frame[f"{side}_knee"]), "trousers", leg)
        bld.add(*ellipsoid(kn, (0.058, 0.058, 0.058), np.eye(3)), "trousers", leg)
        bld.add(*tube(kn, an + [0, 0, 0.02], 0.056, 0.040, frame[f"{side}_ankle"]), "trousers", leg + [f"{side}_foot"])
        # Shoe: from behind the ankle to beyond the foot joint, flat at the bottom.
        fv = ft - an
        fl = np.linalg.norm(fv)
        sf = frame[f"{side}_foot"]
        center = an + fv * 0.5 - sf[:, 2] * 0.008
        bld.add(*ellipsoid(center, (0.05, fl * 0.5 + 0.06, 0.048), sf, 14, 10), "shoes", [f"{side}_foot"])
    return bld.build()
