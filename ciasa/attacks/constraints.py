"""Constraints that keep a perturbed skeleton a plausible skeleton: masks, clipping, SSR.

All functions work on whole ``(N, C, T, V, M)`` tensors. The masks say what the attack
may touch:

- the *frame mask* ``(N, 1, T, 1, M)``: body-frames present in the clean input. The
  ST-GCN preprocessing pads short clips and missing second bodies with exact zeros;
  those must stay exactly zero or a real model sees a phantom body;
- the *joint mask* ``(V,)``: the attack region;
- the *channel mask* ``(C,)``: coordinate channels. OpenPose/Kinetics data carries a
  detection score as its third channel; the attack must leave it alone, and bone
  lengths are then measured in the (x, y) plane only.

Clipping bounds every joint to a box of radius ``eps`` (one scalar for all joints, or one
radius per joint) around its clean position. Spatial skeleton realignment (SSR) then
restores every bone's clean length by walking the bone tree a level at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ciasa.cli import BadInput
from ciasa.skeleton import SkeletonLayout

# Below this a bone vector has no usable direction (zero-length bones occur in real
# Kinect data when two joints are reported at the same point).
_TINY = 1e-12


def default_channel_mask(layout: SkeletonLayout, channels: int) -> Tensor:
    """Channels the attack may perturb: all of them, except OpenPose's detection score."""
    mask = torch.ones(channels, dtype=torch.bool)
    if layout.name == "openpose" and channels == 3:
        mask[2] = False
    return mask


def frame_mask(clean: Tensor) -> Tensor:
    """``(N, 1, T, 1, M)`` bool: True where the body is present in that frame of the clean clip."""
    if clean.dim() != 5:
        raise ValueError(f"expected an (N, C, T, V, M) batch, got shape {tuple(clean.shape)}")
    return (clean != 0).any(dim=1, keepdim=True).any(dim=3, keepdim=True)


def joint_eps(eps: float | Sequence[float] | np.ndarray | Tensor, num_joints: int) -> Tensor:
    """Per-joint clipping radius ``(V,)`` from a global scalar or a per-joint vector.

    Raises ValueError for a non-positive scalar, a vector of the wrong length, negative
    or non-finite entries, or a vector that is zero everywhere (nothing could move).
    """
    t = torch.as_tensor(eps, dtype=torch.float32).detach().cpu()
    if t.dim() == 0:
        value = float(t)
        if not np.isfinite(value) or value <= 0:
            raise BadInput(f"eps must be a positive number of metres, got {value}")
        return torch.full((num_joints,), value, dtype=torch.float32)
    if t.dim() != 1 or t.numel() != num_joints:
        raise BadInput(f"per-joint eps must have one entry per joint ({num_joints}), got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all() or (t < 0).any():
        raise BadInput(f"per-joint eps must be finite and >= 0, got {t.tolist()}")
    if not (t > 0).any():
        raise BadInput("per-joint eps is zero for every joint: nothing could be perturbed")
    return t.clone()


def region_mask(joints: Sequence[int], num_joints: int) -> Tensor:
    """``(V,)`` bool mask of the attack region; raises on joint indices outside the layout."""
    joints = list(joints)
    bad = [j for j in joints if not (0 <= int(j) < num_joints)]
    if bad:
        raise BadInput(f"attack region names joints {bad} outside the layout's {num_joints} joints")
    if not joints:
        raise BadInput("the attack region is empty")
    mask = torch.zeros(num_joints, dtype=torch.bool)
    mask[joints] = True
    return mask


def ssr_movable(region: Tensor, layout: SkeletonLayout) -> Tensor:
    """Region joints SSR can move without changing a bone or a joint outside the region.

    SSR carries a joint's displacement to all its descendants. A region joint with a
    descendant outside the region (e.g. the neck, whose child the head belongs to
    another region) can therefore only move by stretching a bone to that descendant.
    Such joints are frozen: a joint moves only when its whole subtree lies in the region.
    """
    below = torch.as_tensor(layout.descendants)  # [a, b]: b is a or lies below a
    region = region.cpu()
    outside = ~region
    has_outside_descendant = (below & outside[None, :]).any(dim=1)
    return region & ~has_outside_descendant


def movable_mask(clean: Tensor, joints: Tensor, channels: Tensor) -> Tensor:
    """Full-size bool mask ``(N, C, T, V, M)`` of the coordinates the attack may change.

    With a score channel masked out (OpenPose), joints the detector missed (score 0,
    x = y = 0) stay put as well: moving them would invent detections.
    """
    n, c, t, v, m = clean.shape
    device = clean.device
    channels = channels.to(device)
    mask = frame_mask(clean) & joints.to(device).view(1, 1, 1, v, 1) & channels.view(1, c, 1, 1, 1)
    if not bool(channels.all()):
        mask = mask & (clean[:, ~channels] != 0).all(dim=1, keepdim=True)
    return mask


def clip(perturbed: Tensor, clean: Tensor, eps: Tensor | float, movable: Tensor) -> Tensor:
    """Box-clip every joint to ``clean +- eps`` and restore clean values outside ``movable``.

    ``eps`` is a scalar or a per-joint ``(V,)`` tensor. Entries outside ``movable`` are
    taken from ``clean`` by selection, so they are bit-identical to it.
    """
    eps_t = torch.as_tensor(eps, dtype=clean.dtype, device=clean.device)
    if eps_t.dim() == 1:
        eps_t = eps_t.view(1, 1, 1, -1, 1)
    clipped = torch.minimum(torch.maximum(perturbed, clean - eps_t), clean + eps_t)
    return torch.where(movable, clipped, clean)


def _safe_unit(vec: Tensor, fallback: Tensor, dim: int) -> Tensor:
    """Unit vectors along ``dim``; ``fallback`` where ``vec`` has no direction."""
    norm = vec.square().sum(dim=dim, keepdim=True).sqrt()
    ok = norm > _TINY
    return torch.where(ok, vec / torch.where(ok, norm, torch.ones_like(norm)), fallback)


def _level_order(layout: SkeletonLayout) -> tuple[list[int], list[tuple[int, int]], list[int]]:
    """Joints sorted root-first by tree level, each level's slice, and parents in that order."""
    order = [j for level in layout.tree_levels for j in level]
    position = {j: i for i, j in enumerate(order)}
    slices, start = [], 0
    for level in layout.tree_levels:
        slices.append((start, start + len(level)))
        start += len(level)
    parent_pos = [position[layout.parents[j]] if layout.parents[j] >= 0 else 0 for j in order]
    return order, slices, parent_pos


class _LevelWalk(NamedTuple):
    """The tensors every SSR walk starts from, joints in level order (joint axis first)
    so that each tree level is one contiguous block of rows."""

    order: Tensor  # (V,) level order of the joints
    slices: list[tuple[int, int]]  # rows of each level
    parent_pos: Tensor  # (V,) row of each row's parent
    chan: Tensor  # (1, 1, C, 1, 1) the coordinate channels bones are measured in
    clean: Tensor  # (V, N, C, T, M)
    movable: Tensor  # (V, N, C, T, M)
    start: Tensor  # the perturbed input where movable, else clean
    length: Tensor  # (V, N, 1, T, M) clean bone lengths
    clean_dir: Tensor  # unit clean bone directions
    pert_vec: Tensor  # perturbed bone vectors (child - parent)


def _level_walk(
    perturbed: Tensor, clean: Tensor, layout: SkeletonLayout, movable: Tensor, channels: Tensor | None
) -> _LevelWalk:
    device = clean.device
    c = clean.shape[1]
    if channels is None:
        channels = torch.ones(c, dtype=torch.bool)
    order_list, slices, parent_list = _level_order(layout)
    order = torch.as_tensor(order_list, device=device)
    parent_pos = torch.as_tensor(parent_list, device=device)
    chan = channels.to(device).view(1, 1, c, 1, 1).to(clean.dtype)
    cl = clean.index_select(3, order).movedim(3, 0)
    mov = movable.index_select(3, order).movedim(3, 0)
    start = torch.where(mov, perturbed.index_select(3, order).movedim(3, 0), cl)
    # bone vectors child - parent for every joint at once (the root's is zero and unused),
    # in the perturbable channels only (OpenPose scores are no coordinates)
    clean_vec = (cl - cl[parent_pos]) * chan
    length = clean_vec.square().sum(dim=2, keepdim=True).sqrt()
    clean_dir = _safe_unit(clean_vec, torch.zeros_like(clean_vec), dim=2)
    pert_vec = (start - start[parent_pos]) * chan
    return _LevelWalk(order, slices, parent_pos, chan, cl, mov, start, length, clean_dir, pert_vec)


def _joint_order(out: Tensor, walk: _LevelWalk) -> Tensor:
    """``(V, N, C, T, M)`` in level order back to ``(N, C, T, V, M)`` in joint order."""
    inverse = torch.empty_like(walk.order)
    inverse[walk.order] = torch.arange(walk.order.numel(), device=walk.order.device)
    return out.movedim(0, 3).index_select(3, inverse)


def ssr(
    perturbed: Tensor,
    clean: Tensor,
    layout: SkeletonLayout,
    movable: Tensor | None = None,
    channels: Tensor | None = None,
) -> Tensor:
    """Spatial skeleton realignment: give every bone its clean length again.

    Walks the bone tree from the root a level at a time. Each joint is placed at its
    (already realigned) parent plus the clean bone length along the *perturbed* bone
    direction; because the parent's shift is applied before the child is placed, every
    joint carries its ancestors' displacement, as if the subtree moved rigidly with it.

    Args:
        perturbed, clean: ``(N, C, T, V, M)``.
        layout: the bone tree.
        movable: ``(N, C, T, V, M)`` bool, True where the attack may change a value
            (see :func:`movable_mask`); elsewhere the output equals ``clean`` exactly.
            Default: every non-padded coordinate.
        channels: ``(C,)`` bool, the coordinate channels bone lengths are measured in
            (default: all).

    A zero-length perturbed bone falls back to the clean direction, a zero-length
    clean bone puts the child on its parent: no NaN is produced. The root keeps its
    (clipped) position. Runs without gradient tracking: SSR is a projection step.

    Every bone's direction and length is computed at once; the joints are then put in
    level order (joint axis first), so each level of the walk is one contiguous slice:
    a handful of tensor operations per level, whatever the batch and clip length.
    """
    if perturbed.shape != clean.shape or perturbed.dim() != 5:
        raise ValueError(
            f"ssr needs two (N, C, T, V, M) tensors of one shape, got {tuple(perturbed.shape)} and {tuple(clean.shape)}"
        )
    if perturbed.shape[3] != layout.num_joints:
        raise ValueError(f"ssr: {perturbed.shape[3]} joints but layout {layout.name!r} has {layout.num_joints}")
    if movable is None:
        all_channels = torch.ones(clean.shape[1], dtype=torch.bool) if channels is None else channels
        movable = movable_mask(clean, torch.ones(layout.num_joints, dtype=torch.bool), all_channels)
    with torch.no_grad():
        w = _level_walk(perturbed, clean, layout, movable, channels)
        out = w.start.clone()
        offset = w.length * _safe_unit(w.pert_vec, w.clean_dir, dim=2)
        for lo, hi in w.slices[1:]:
            placed = out[w.parent_pos[lo:hi]] + offset[lo:hi]
            out[lo:hi] = torch.where(w.movable[lo:hi], placed, w.clean[lo:hi])
        return _joint_order(out, w).contiguous()


def project(
    perturbed: Tensor,
    clean: Tensor,
    eps: Tensor | float,
    movable: Tensor,
    layout: SkeletonLayout,
    use_ssr: bool = True,
    channels: Tensor | None = None,
) -> Tensor:
    """One projection step of the attack: clip to the eps box, then (optionally) SSR."""
    with torch.no_grad():
        out = clip(perturbed, clean, eps, movable)
        if use_ssr:
            out = ssr(out, clean, layout, movable, channels)
    return out


def ssr_differentiable(
    perturbed: Tensor,
    clean: Tensor,
    layout: SkeletonLayout,
    movable: Tensor,
    channels: Tensor | None = None,
) -> Tensor:
    """SSR as a differentiable function of ``perturbed`` (the 'perturbation' formulation).

    Same placement rule as :func:`ssr` (each joint at its realigned parent plus the clean
    bone length along the perturbed bone direction), but built without in-place writes,
    so gradients flow from the realigned skeleton back to every perturbed joint, including
    through the bone directions. The model can then be evaluated *at* the realigned point
    instead of having the realignment undo the optimiser's step afterwards.

    One tree level at a time, every level one batched operation. Coordinates outside
    ``movable`` are selected from ``clean``, so they stay bit-identical to it.
    """
    if perturbed.shape != clean.shape or perturbed.dim() != 5:
        raise ValueError(
            f"ssr needs two (N, C, T, V, M) tensors of one shape, got {tuple(perturbed.shape)} and {tuple(clean.shape)}"
        )
    w = _level_walk(perturbed, clean, layout, movable, channels)
    offset = w.length * _safe_unit_grad(w.pert_vec, w.clean_dir, dim=2)
    lo, hi = w.slices[0]
    levels = [w.start[lo:hi]]
    for lo, hi in w.slices[1:]:
        placed_so_far = torch.cat(levels) if len(levels) > 1 else levels[0]
        placed = placed_so_far[w.parent_pos[lo:hi]] + offset[lo:hi]
        levels.append(torch.where(w.movable[lo:hi], placed, w.clean[lo:hi]))
    return _joint_order(torch.cat(levels), w)


def _safe_unit_grad(vec: Tensor, fallback: Tensor, dim: int) -> Tensor:
    """:func:`_safe_unit` whose gradient stays finite where ``vec`` has no direction."""
    sq = vec.square().sum(dim=dim, keepdim=True)
    ok = sq > _TINY * _TINY
    norm = torch.where(ok, sq, torch.ones_like(sq)).sqrt()
    return torch.where(ok, vec / norm, fallback)


def box_violation(adv: Tensor, clean: Tensor, eps: Tensor, tol: float = 1e-5) -> Tensor:
    """``(N, 1, T, 1, M)`` bool: body-frames with a joint outside its ``clean +- eps`` box.

    ``tol`` (10 micrometres) absorbs float32 rounding of metre-scale coordinates carried
    down a chain of bones; the placement itself aims at ``eps + 1e-6``.
    """
    eps_t = eps.to(clean.device, clean.dtype).view(1, 1, 1, -1, 1)
    return ((adv - clean).abs() > eps_t + tol).any(dim=1, keepdim=True).any(dim=3, keepdim=True)


def ssr_in_box(
    perturbed: Tensor,
    clean: Tensor,
    eps: Tensor,
    layout: SkeletonLayout,
    movable: Tensor,
    channels: Tensor | None = None,
    steps: int = 12,
    tol: float = 1e-6,
) -> Tensor:
    """SSR that also keeps every joint inside its eps box (``box='strict'``).

    Walks the tree like :func:`ssr`. A child must lie on the sphere of its clean bone
    length around its realigned parent. SSR takes the sphere point towards the perturbed
    child; when that point leaves the child's box, this one moves along the sphere's
    arc towards the *translated* child (clean child plus the parent's displacement) and
    takes, by bisection, the first point of the arc inside the box. The translated child
    is inside whenever the child's eps is at least its parent's (global eps, and the
    paper's hierarchical radii, which grow towards the feet), so the result then meets
    both constraints exactly, changing only the joints SSR carried out of their box.
    ``perturbed`` must already be clipped to the box. No gradient (a projection step).
    """
    with torch.no_grad():
        w = _level_walk(perturbed, clean, layout, movable, channels)
        chan_b = w.chan.bool()
        eps_l = eps.to(clean.device, clean.dtype).flatten()[w.order].view(-1, 1, 1, 1, 1)
        cl, mov, length, clean_dir = w.clean, w.movable, w.length, w.clean_dir
        out = w.start.clone()
        toward = _safe_unit(w.pert_vec, clean_dir, dim=2)
        for lo, hi in w.slices[1:]:
            par = out[w.parent_pos[lo:hi]]
            # From the realigned parent, the clean bone direction leads to the translated child.
            want, keep = toward[lo:hi], clean_dir[lo:hi]

            def at(a: Tensor) -> Tensor:
                d = _safe_unit((1 - a) * want + a * keep, keep, dim=2)
                return par + length[lo:hi] * d

            def inside(pt: Tensor) -> Tensor:
                far = ((pt - cl[lo:hi]).abs() > eps_l[lo:hi] + tol) & chan_b
                return ~far.any(dim=2, keepdim=True)

            placed = at(torch.zeros_like(length[lo:hi]))
            ok = inside(placed)
            if not bool(ok.all()):
                a_lo = torch.zeros_like(length[lo:hi])
                a_hi = torch.ones_like(a_lo)
                for _ in range(steps):
                    mid = (a_lo + a_hi) / 2
                    good = inside(at(mid))
                    a_hi = torch.where(good, mid, a_hi)
                    a_lo = torch.where(good, a_lo, mid)
                placed = torch.where(ok, placed, at(a_hi))
            out[lo:hi] = torch.where(mov[lo:hi], placed, cl[lo:hi])
        return _joint_order(out, w).contiguous()


def shrink_into_box(
    delta: Tensor,
    clean: Tensor,
    eps: Tensor,
    movable: Tensor,
    layout: SkeletonLayout,
    channels: Tensor | None = None,
    steps: int = 12,
) -> tuple[Tensor, Tensor]:
    """Every joint inside its eps box after SSR, bones at their clean length: the strict box.

    Realigns ``clip(clean + delta)`` with :func:`ssr_in_box`. Where that cannot keep a
    joint inside (a child with a smaller eps than its parent), the body-frame's
    perturbation is scaled down by bisection to the largest factor ``s`` in ``[0, 1]``
    (to ``2**-steps``) whose realignment is inside; ``s = 0`` is the clean frame, so a
    feasible point always exists. Returns ``(s * delta, realigned)``.
    """
    eps_t = eps.to(clean.device, clean.dtype).view(1, 1, 1, -1, 1)

    def realign(scale: Tensor) -> Tensor:
        moved = clip(clean + scale * delta, clean, eps_t, movable)
        return ssr_in_box(moved, clean, eps, layout, movable, channels)

    with torch.no_grad():
        shape = (clean.shape[0], 1, clean.shape[2], 1, clean.shape[4])
        one = torch.ones(shape, dtype=clean.dtype, device=clean.device)
        full = realign(one)
        bad = box_violation(full, clean, eps_t.flatten())
        if not bool(bad.any()):
            return delta, full
        lo = torch.zeros_like(one)
        hi = one.clone()
        for _ in range(steps):
            mid = (lo + hi) / 2
            inside = ~box_violation(realign(mid), clean, eps_t.flatten())
            lo = torch.where(inside, mid, lo)
            hi = torch.where(inside, hi, mid)
        scale = torch.where(bad, lo, one)
        return scale * delta, realign(scale)
