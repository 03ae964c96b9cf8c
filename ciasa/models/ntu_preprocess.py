"""NTU RGB+D preprocessing of the published models, as a differentiable torch front end.

Published NTU-60 checkpoints were trained on skeletons that went through their
repository's data generator, not on raw Kinect coordinates. To attack such a model on
raw ``(N, 3, T, 25, M)`` skeletons in metres, the generator's steps are part of the
model's forward here, so gradients reach the raw joints:

* :func:`fit_clip`: zero-pad (or crop) to the generator's frame count and body count
  (300 frames, 2 bodies for NTU), the array shape the checkpoints were trained on.
* :func:`pre_normalization`: the 2s-AGCN ``data_gen/preprocess.py`` normalisation that
  Shift-GCN and EfficientGCN's cross-view data use: (1) empty frames are filled by
  repeating the clip (a clip that starts empty is first moved to the front), (2) every
  body minus the first body's spine joint (joint 2, 1-based) frame by frame, on the
  joints that are present, (3) one rotation taking the first body's hip->spine bone of
  frame 0 to +z, (4) one rotation taking its right->left shoulder vector of frame 0 to
  +x.

Steps (1), (2) are exact and differentiable (index gathering and a subtraction); the
two rotations and the which-frame-is-empty masks are *rigid* choices computed from the
detached input (the attack's clean clip at its first step), so their gradient is not
followed. The forward value always equals the official preprocessing of the current
input. Padding frames and absent bodies of the raw input are exactly zero; the model's
internal copy of them (repeated frames) is the model's business, not the attack's.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

# The two alignment vectors as (from, to) 0-based joints: 2s-AGCN's zaxis=[0, 1] aligns
# spine - hip (joint 1 minus joint 0) with +z, its xaxis=[8, 4] aligns right shoulder minus
# left shoulder (joint 8 minus joint 4) with +x.
Z_AXIS_JOINTS = (0, 1)  # base of spine -> middle of spine
X_AXIS_JOINTS = (4, 8)  # left shoulder -> right shoulder
CENTER_JOINT = 1  # middle of the spine


def fit_clip(x: Tensor, frames: int | None, bodies: int | None) -> Tensor:
    """Zero-pad ``(N, C, T, V, M)`` to ``frames`` frames and ``bodies`` bodies (crop frames beyond).

    More bodies than ``bodies`` is an error: silently dropping a person changes the action.
    """
    if x.dim() != 5:
        raise ValueError(f"expected (N, C, T, V, M) skeletons, got shape {tuple(x.shape)}")
    t, m = x.shape[2], x.shape[4]
    if bodies is not None:
        if m > bodies:
            raise ValueError(f"input has {m} bodies; the model was trained on at most {bodies}")
        if m < bodies:
            x = torch.nn.functional.pad(x, (0, bodies - m))
    if frames is not None:
        if t > frames:
            x = x[:, :, :frames]
        elif t < frames:
            x = torch.nn.functional.pad(x, (0, 0, 0, 0, 0, frames - t))
    return x


def present_frames(x: Tensor) -> Tensor:
    """``(N, T, M)`` bool: body-frames with any non-zero coordinate."""
    return x.detach().ne(0).any(dim=1).any(dim=2)


def _repeat_index(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Source frame and keep flag of each output frame for one body (step 1)."""
    t = valid.shape[0]
    order = np.arange(t)
    keep = np.ones(t, dtype=bool)
    if not valid.any():
        return order, np.zeros(t, dtype=bool)
    if not valid[0]:  # a late start: move the present frames to the front, zeros after
        present = np.flatnonzero(valid)
        order = np.concatenate([present, np.zeros(t - len(present), dtype=int)])
        keep = np.arange(t) < len(present)
        valid = keep.copy()
    length = int(np.flatnonzero(valid)[-1]) + 1  # frames after the last present one are filled
    rep = np.arange(t)
    rep[length:] = rep[length:] % length
    return order[rep], keep[rep]


def repeat_pad(x: Tensor) -> Tensor:
    """Step (1): fill each body's trailing empty frames by repeating its clip (differentiable)."""
    n, c, t, v, m = x.shape
    valid = present_frames(x).cpu().numpy()  # (N, T, M)
    src = np.empty((n, t, m), dtype=np.int64)
    keep = np.empty((n, t, m), dtype=bool)
    for i in range(n):
        for b in range(m):
            src[i, :, b], keep[i, :, b] = _repeat_index(valid[i, :, b])
    index = torch.as_tensor(src, device=x.device).view(n, 1, t, 1, m).expand(n, c, t, v, m)
    mask = torch.as_tensor(keep, device=x.device, dtype=x.dtype).view(n, 1, t, 1, m)
    return torch.gather(x, 2, index) * mask


def center(x: Tensor, joint: int = CENTER_JOINT) -> Tensor:
    """Step (2): minus body 0's ``joint`` in every frame, on present joints only (differentiable)."""
    mask = x.detach().ne(0).any(dim=1, keepdim=True).to(x.dtype)  # (N, 1, T, V, M)
    origin = x[:, :, :, joint : joint + 1, 0:1]  # (N, C, T, 1, 1)
    return (x - origin) * mask


def rotation_matrix(axis: np.ndarray, theta: float) -> np.ndarray:
    """Rotation by ``theta`` about ``axis`` (Euler-Rodrigues), identity for a null axis or angle.

    The same convention as the 2s-AGCN generator (``data_gen/rotation.py``), so that
    its checkpoints see the frames they were trained on.
    """
    axis = np.asarray(axis, dtype=np.float64)
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    axis = axis / math.sqrt(float(np.dot(axis, axis)))
    a = math.cos(theta / 2.0)
    b, c, d = -axis * math.sin(theta / 2.0)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    bc, ad, ac, ab, bd, cd = b * c, a * d, a * c, a * b, b * d, c * d
    return np.array(
        [
            [aa + bb - cc - dd, 2 * (bc + ad), 2 * (bd - ac)],
            [2 * (bc - ad), aa + cc - bb - dd, 2 * (cd + ab)],
            [2 * (bd + ac), 2 * (cd - ab), aa + dd - bb - cc],
        ]
    )


def angle_between(v1: np.ndarray, v2: np.ndarray) -> float:
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0.0
    u1, u2 = v1 / np.linalg.norm(v1), v2 / np.linalg.norm(v2)
    return float(np.arccos(np.clip(np.dot(u1, u2), -1.0, 1.0)))


def align_rotation(x: Tensor, joints: tuple[int, int], target: tuple[float, float, float]) -> Tensor:
    """``(N, 3, 3)``: per sample, the rotation taking body 0's frame-0 vector from joint
    ``joints[0]`` to joint ``joints[1]`` onto ``target``.

    Computed from the detached input (a rigid choice, not differentiated through).
    """
    first = x.detach()[:, :3, 0, :, 0].double().cpu().numpy()  # (N, 3, V)
    empty = ~present_frames(x).any(dim=1).any(dim=1).cpu().numpy()  # sample with no skeleton
    out = np.empty((x.shape[0], 3, 3))
    goal = np.asarray(target, dtype=np.float64)
    for i in range(x.shape[0]):
        if empty[i]:
            out[i] = np.eye(3)
            continue
        bone = first[i, :, joints[1]] - first[i, :, joints[0]]
        out[i] = rotation_matrix(np.cross(bone, goal), angle_between(bone, goal))
    return torch.as_tensor(out, dtype=x.dtype, device=x.device)


def rotate(x: Tensor, rot: Tensor) -> Tensor:
    """Apply one ``(N, 3, 3)`` rotation per sample to the xyz channels (zeros stay zero)."""
    return torch.einsum("nij,njtvm->nitvm", rot, x)


def pre_normalization(x: Tensor) -> Tensor:
    """The 2s-AGCN NTU normalisation of ``(N, 3, T, V, M)`` skeletons (see the module doc).

    Apply it to the full, zero-padded array the generator would hold (300 frames for
    NTU, :func:`fit_clip`): step (1) fills every frame up to the array's end.
    """
    if x.shape[1] != 3:
        raise ValueError(f"pre_normalization needs xyz skeletons (C=3), got C={x.shape[1]}")
    x = repeat_pad(x)
    x = center(x)
    x = rotate(x, align_rotation(x, Z_AXIS_JOINTS, (0.0, 0.0, 1.0)))
    return rotate(x, align_rotation(x, X_AXIS_JOINTS, (1.0, 0.0, 0.0)))


PREPROCESSING = ("pre_normalization", "none")


def check_preprocess(name: str | None) -> str:
    if name not in PREPROCESSING:
        raise ValueError(
            f"unknown NTU preprocessing {name!r} (use one of {', '.join(PREPROCESSING)}; for a published "
            "checkpoint it is the one its training data went through)"
        )
    return name


def body_rows(x: Tensor) -> tuple[Tensor, Tensor]:
    """Which body rows a network must compute: ``(rows, source)`` for ``(N, C, T, V, M)`` input.

    Bodies are processed independently until they are averaged, and every absent (all
    zero) body in slot ``m`` yields the same features. So the network runs on the present
    bodies plus one absent body per slot that has any (``rows``, indices into the
    ``N * M`` bodies in ``n * M + m`` order), and ``source[n * M + m]`` says which computed
    row each body takes its features from. Exact, and about half the work on one-person
    clips padded to two bodies.
    """
    n, _, _, _, m = x.shape
    present = x.detach().ne(0).flatten(1, 3).any(dim=1).reshape(-1)  # (N*M,) in n*M + m order
    rows = present.nonzero().flatten().tolist()
    source = [0] * (n * m)
    for i, r in enumerate(rows):
        source[r] = i
    for slot in range(m):
        absent = [i * m + slot for i in range(n) if not bool(present[i * m + slot])]
        if absent:
            rows.append(absent[0])
            for r in absent:
                source[r] = len(rows) - 1
    device = x.device
    return torch.tensor(rows, dtype=torch.long, device=device), torch.tensor(source, dtype=torch.long, device=device)
