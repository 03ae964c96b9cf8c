"""The matched control: a random perturbation of the same size as the adversarial one.

An accuracy drop after an attack says little if any leg noise of that size drops the
accuracy as much. The control moves the same joints by the same Euclidean distance in
every frame as the clip's adversarial perturbation, in random, temporally smooth
directions, and passes the result through the same bone realignment (SSR) and the same
plausibility constraints. Whatever the adversarial clip loses beyond the control is
what the attack's *direction* buys (the attributable drop).

The random directions are seeded by the clip's name through a stable hash (SHA-256,
not Python's salted ``hash()``), so a clip's control is the same on every machine and
in every shard, whatever else is attacked beside it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ciasa.attacks import constraints, plausibility
from ciasa.attacks.metrics import joint_displacement, joint_variation
from ciasa.skeleton import SkeletonLayout

# Temporal smoothness of the random directions: Gaussian filter width in frames (a third
# of a second at 30 fps: smooth enough that a leg does not jitter faster than it moves
# clean, so the plausibility limits take back about as much as from the attack).
SMOOTH_SIGMA_FRAMES = 10.0

# Size matching: the plausibility projection takes back more of a random direction than the
# attack's penalty takes back of its own (measured: the control ended at 0.27-0.44x the
# attack's realised size), and a smaller control would overstate the attributable drop. So
# the control's magnitudes are scaled up by one gain per clip, found by bisection, until
# its realised mean displacement over the attacked joints matches the attack's within
# SIZE_TOLERANCE; the gain never goes below 1 (no projection at work: the magnitudes stay
# the attack's exactly) and stops at MAX_GAIN (recorded, so a control that could not be
# matched is visible in the summary).
MAX_GAIN = 8.0

# The whole-clip limits (joint speed, planted feet) are not projected for the control: a
# random direction crosses the clean clip's top joint speed somewhere in almost every clip,
# and the projection then scales the whole limb down for the whole clip (measured on six
# demo clips: realised size 0.03-0.67x the attack's, even at gain 8), while the attack,
# optimised under the same terms as a penalty, ends at speed ratio ~1.1 with a few
# violations. A control that small would overstate the attributable drop; unprojected,
# the size-matched control moves faster than the attack (speed ratio ~3) and skates more,
# both reported beside the attack's, which if anything makes it the harsher change and
# the attributable drop conservative.
CONTROL_UNPROJECTED = ("speed", "plant")
SIZE_TOLERANCE = 0.02
GAIN_STEPS = 12


class Control(NamedTuple):
    """A batch's controls: the realigned, constrained skeletons, the raw ones before
    realignment (clean + the adversarial magnitudes in random directions) and the gain per
    clip that matched the realised size (1 where nothing had to be matched)."""

    skeleton: Tensor
    raw: Tensor
    gain: Tensor


def clip_seed(name: str, seed: int = 0) -> int:
    """A 63-bit seed from the clip name and the run seed, identical on every machine."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def smooth_directions(
    name: str, frames: int, joints: int, channels: Tensor, seed: int = 0, sigma: float = SMOOTH_SIGMA_FRAMES
) -> np.ndarray:
    """Unit directions ``(C, T, V)`` varying smoothly over time, from the clip's own seed.

    White Gaussian noise per joint and channel, filtered over time with a Gaussian of
    ``sigma`` frames, normalised per joint and frame (channels outside ``channels`` stay 0)."""
    rng = np.random.default_rng(clip_seed(name, seed))
    c = int(channels.numel())
    chan = channels.cpu().numpy().astype(bool)
    pad = int(np.ceil(3 * sigma))
    noise = rng.standard_normal((c, frames + 2 * pad, joints))
    taps = np.exp(-0.5 * (np.arange(-pad, pad + 1) / sigma) ** 2)
    taps /= taps.sum()
    smooth = np.stack(
        [np.stack([np.convolve(noise[ci, :, v], taps, mode="valid") for v in range(joints)], axis=1) for ci in range(c)]
    )
    smooth[~chan] = 0.0
    norm = np.linalg.norm(smooth, axis=0, keepdims=True)
    return smooth / np.maximum(norm, 1e-12)


def _bend_forwards(delta: Tensor, clean: Tensor, layout: SkeletonLayout) -> Tensor:
    """Reflect each hinge joint's random direction so that it never points behind the limb.

    Half of all random knee directions point backwards; with the hinge limit they would be
    scaled back almost to nothing and the control would end up far smaller than the
    attack. Reflecting the component along the hinge's back direction keeps the length
    (the adversarial magnitude), keeps the other components random, and is continuous
    in time. Layouts without kinematics are left as they are.
    """
    k = layout.kinematics
    if k is None or clean.shape[1] != 3:
        return delta
    out = delta.clone()
    for hinge in k.hinges:
        front = plausibility._front_vector(clean, hinge, clean)  # (N, T, M, 3), zero where unknown
        if front is None:
            continue
        unit = front / front.norm(dim=-1, keepdim=True).clamp_min(1e-9)
        unit = unit * (front.norm(dim=-1, keepdim=True) > 1e-6)
        d = out[:, :, :, hinge.joint, :].permute(0, 2, 3, 1)  # (N, T, M, 3)
        along = (d * unit).sum(dim=-1, keepdim=True)
        d = d - 2 * along.clamp(max=0) * unit
        out[:, :, :, hinge.joint, :] = d.permute(0, 3, 1, 2)
    return out


def control_batch(
    clean: Tensor,
    adversarial: Tensor,
    names: Sequence[str],
    layout: SkeletonLayout,
    joints: Tensor,
    plaus: plausibility.Plausibility,
    use_ssr: bool = True,
    seed: int = 0,
    match_size: bool = True,
) -> Control:
    """Controls for a batch (``Control``: skeletons ``(N, C, T, V, M)``, raw, gain ``(N,)``).

    ``joints`` ``(V,)`` are the joints the attack moved; the control moves the same ones
    by ``|adversarial - clean|`` per joint and frame (over the perturbable channels), a
    knee's or elbow's direction reflected so that it does not point behind the limb, then
    SSR (when the attack used it) and, whenever ``plaus`` is on, the plausibility
    projection onto its limits (whatever the attack's method: the control is not
    optimised, so a penalty could not act on it). With ``match_size`` the magnitudes are
    then scaled by one gain per clip (>= 1, see MAX_GAIN) so that the realised mean
    displacement equals the attack's. Padding, absent bodies and every other joint stay
    bit-identical to clean.
    """
    if clean.shape != adversarial.shape or clean.dim() != 5:
        raise ValueError(
            f"control needs clean and adversarial (N, C, T, V, M) of one shape, got "
            f"{tuple(clean.shape)} and {tuple(adversarial.shape)}"
        )
    if len(names) != clean.shape[0]:
        raise ValueError(f"control: {len(names)} names for {clean.shape[0]} clips")
    n, c, t, v, m = clean.shape
    clean = clean.float()
    channels = constraints.default_channel_mask(layout, c)
    movable = constraints.movable_mask(clean, joints.bool(), channels)
    magnitude = joint_displacement(adversarial.float(), clean, channels)  # (N, T, V, M)
    dirs = torch.stack(
        [torch.from_numpy(smooth_directions(name, t, v, channels, seed)).float() for name in names]
    )  # (N, C, T, V)
    delta = dirs.unsqueeze(-1) * magnitude.unsqueeze(1)  # (N, C, T, V, M)
    delta = _bend_forwards(delta, clean, layout)
    delta = torch.where(movable, delta, torch.zeros_like(delta))
    raw = torch.where(movable, clean + delta, clean)

    def realign(d: Tensor) -> Tensor:
        moved = torch.where(movable, clean + d, clean)
        return constraints.ssr(moved, clean, layout, movable, channels) if use_ssr else moved

    # Only the frame-local limits are projected (see CONTROL_UNPROJECTED); the control's
    # speed and foot skating are measured and reported beside the attack's.
    hard = plausibility.Plausibility(
        constraints=plaus.constraints,
        method="projection",
        soft=tuple(sorted(set(plaus.soft) | set(CONTROL_UNPROJECTED) & set(plaus.constraints))),
        speed_ratio=plaus.speed_ratio,
        steps=plaus.steps,
    )
    lim = plausibility.clean_limits(clean, layout, hard, channels) if plaus.enabled else None
    groups = plausibility.limb_groups(joints, layout)

    def constrained(gain: Tensor) -> Tensor:
        d = delta * gain.view(n, 1, 1, 1, 1)
        if lim is not None:
            # The control has no loss to penalise: it is projected onto the same limits
            # (the attack's `soft` ones, planted feet by default, stay unprojected).
            d = plausibility.projection_scales(d, lim, layout, groups, realign, hard.steps) * d
        return torch.where(movable, realign(d), clean)

    def size(x: Tensor) -> Tensor:
        return torch.nan_to_num(joint_variation(x, clean, joints.bool(), channels)["mean"], nan=0.0)

    with torch.no_grad():
        gain = torch.ones(n)
        out = constrained(gain)
        if match_size:
            target = size(adversarial.float())
            short = size(out) < target * (1 - SIZE_TOLERANCE)
            if bool(short.any()):
                lo, hi = torch.ones(n), torch.full((n,), MAX_GAIN)
                best = out.clone()
                for _ in range(GAIN_STEPS):
                    mid = torch.where(short, torch.sqrt(lo * hi), torch.ones(n))
                    trial = constrained(mid)
                    got = size(trial)
                    under = got < target
                    lo = torch.where(short & under, mid, lo)
                    hi = torch.where(short & ~under, mid, hi)
                    # keep the trial closest to the target so far
                    closer = short & ((got - target).abs() < (size(best) - target).abs())
                    best = torch.where(closer.view(n, 1, 1, 1, 1), trial, best)
                    gain = torch.where(closer, mid, gain)
                out = best
    return Control(out, raw, gain)
