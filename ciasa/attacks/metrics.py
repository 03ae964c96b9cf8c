"""How well an attack worked and how visible it is: fooling rates and perturbation statistics.

Per-sample functions return ``(N,)`` tensors (or ``(N, V)`` per joint); only non-padded
body-frames count. Distances are Euclidean over the perturbable channels, in the data's
units (metres for NTU). :func:`summarize` turns an :class:`AttackResult` into the numbers
of ``summary.json``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ciasa.attacks import constraints, plausibility
from ciasa.attacks.base import AttackResult
from ciasa.attacks.losses import acceleration, acceleration_valid
from ciasa.skeleton import SkeletonLayout


def _chan(x: Tensor, channels: Tensor | None) -> Tensor:
    if channels is None:
        return x
    return x * channels.to(x.device, x.dtype).view(1, -1, 1, 1, 1)


def _detected(clean: Tensor, channels: Tensor | None) -> Tensor:
    """``(N, T, V, M)``: joints with data. With a score channel masked out (OpenPose), joints
    the detector missed (score 0) are excluded: the attack leaves them alone and a bone to
    one of them has no length to keep."""
    n, _, t, v, m = clean.shape
    if channels is None or bool(channels.all()):
        return torch.ones(n, t, v, m, dtype=torch.bool, device=clean.device)
    return (clean[:, ~channels.to(clean.device)] != 0).all(dim=1)


def joint_displacement(adv: Tensor, clean: Tensor, channels: Tensor | None = None) -> Tensor:
    """Euclidean distance of every joint from its clean position: ``(N, T, V, M)``."""
    return _chan(adv - clean, channels).square().sum(dim=1).sqrt()


def joint_variation(
    adv: Tensor, clean: Tensor, joints: Tensor | None = None, channels: Tensor | None = None
) -> dict[str, Tensor]:
    """Per-sample min / max / mean joint displacement over the non-padded frames of ``joints``."""
    d = joint_displacement(adv, clean, channels)
    n, t, v, m = d.shape
    mask = constraints.frame_mask(clean).squeeze(1).expand(n, t, v, m) & _detected(clean, channels)
    if joints is not None:
        mask = mask & joints.to(d.device).view(1, 1, v, 1)
    count = mask.sum(dim=(1, 2, 3))
    inf = torch.tensor(math.inf, dtype=d.dtype, device=d.device)
    nan = torch.tensor(math.nan, dtype=d.dtype, device=d.device)
    has = count > 0
    return {
        "min": torch.where(has, torch.where(mask, d, inf).amin(dim=(1, 2, 3)), nan),
        "max": torch.where(has, torch.where(mask, d, -inf).amax(dim=(1, 2, 3)), nan),
        "mean": torch.where(has, (d * mask).sum(dim=(1, 2, 3)) / count.clamp_min(1), nan),
    }


def bone_lengths(x: Tensor, layout: SkeletonLayout, channels: Tensor | None = None) -> Tensor:
    """``(N, T, B, M)`` bone lengths, bones ordered like ``layout.bones``."""
    x = _chan(x, channels)
    child = torch.as_tensor([c for c, _ in layout.bones], device=x.device)
    parent = torch.as_tensor([p for _, p in layout.bones], device=x.device)
    return (x.index_select(3, child) - x.index_select(3, parent)).square().sum(dim=1).sqrt()


def bone_length_error(
    adv: Tensor, clean: Tensor, layout: SkeletonLayout, channels: Tensor | None = None
) -> dict[str, Tensor]:
    """Per-sample mean and max absolute bone-length change over non-padded frames."""
    err = (bone_lengths(adv, layout, channels) - bone_lengths(clean, layout, channels)).abs()
    n, t, b, m = err.shape
    mask = constraints.frame_mask(clean).squeeze(1).expand(n, t, b, m)
    detected = _detected(clean, channels)
    child = torch.as_tensor([c for c, _ in layout.bones], device=err.device)
    parent = torch.as_tensor([p for _, p in layout.bones], device=err.device)
    mask = mask & detected.index_select(2, child) & detected.index_select(2, parent)
    count = mask.sum(dim=(1, 2, 3)).clamp_min(1)
    return {
        "mean": (err * mask).sum(dim=(1, 2, 3)) / count,
        "max": torch.where(mask, err, torch.zeros_like(err)).amax(dim=(1, 2, 3)),
    }


def acceleration_energy(x: Tensor, frames: Tensor, channels: Tensor | None = None) -> Tensor:
    """Per-sample mean over body-frames of the summed squared joint accelerations ``(N,)``."""
    if x.shape[2] < 3:
        return x.new_zeros(x.shape[0])
    acc = acceleration(_chan(x, channels)).square().sum(dim=1)  # (N, T-2, V, M)
    valid = acceleration_valid(frames).squeeze(1).to(x.dtype)  # (N, T-2, 1, M)
    return (acc * valid).sum(dim=(1, 2, 3)) / valid.sum(dim=(1, 2, 3)).clamp_min(1)


def linf_per_joint(adv: Tensor, clean: Tensor, channels: Tensor | None = None) -> Tensor:
    """``(N, V)``: the largest coordinate change of each joint (L-inf, the clipping's measure)."""
    diff = _chan(adv - clean, channels).abs()
    return diff.amax(dim=(1, 2, 4))


def eps_overshoot(linf: Tensor, eps: Tensor, joints: Tensor | None = None, tol: float = 1e-5) -> dict[str, Any]:
    """How far joints ended up outside their clipping box (SSR can carry a child past it).

    ``linf`` ``(N, V)`` from :func:`linf_per_joint`; ``eps`` ``(V,)``. Returns per-joint
    lists (max L-inf over samples, eps, max overshoot, fraction of samples beyond the
    box) and the overall maxima. ``joints`` limits the report to the attacked joints.
    """
    eps = eps.to(linf.device, linf.dtype)
    over = (linf - eps.view(1, -1)).clamp_min(0)
    beyond = (linf > eps.view(1, -1) + tol).to(linf.dtype)
    v = linf.shape[1]
    sel = torch.ones(v, dtype=torch.bool) if joints is None else joints.cpu()
    idx = sel.nonzero().flatten().tolist()
    return {
        "joints": idx,
        "eps": [float(eps[j]) for j in idx],
        "linf_max": [float(linf[:, j].max()) for j in idx],
        "overshoot_max": [float(over[:, j].max()) for j in idx],
        "fraction_beyond": [float(beyond[:, j].mean()) for j in idx],
        "overall_overshoot_max": float(over[:, idx].max()) if idx else 0.0,
        "overall_fraction_beyond": float(beyond[:, idx].mean()) if idx else 0.0,
    }


def fooling_rates(result: AttackResult) -> dict[str, Any]:
    """Honest counts of what the attack changed, over the clips the model got right clean.

    - ``flipped``: right on the clean clip AND wrong after the attack, of the clean-correct
      clips. A clip already wrong on clean input is never counted: it says nothing about
      the attack.
    - ``targeted_success``: clean-correct clips now classified as their target; None for
      the untargeted rule (there is no target).

    Each is ``{"count", "of", "rate"}``; ``rate`` is None (not 0 or 1) when ``of`` is 0,
    and ``note`` then says so. ``fooling_untargeted`` / ``fooling_targeted`` repeat the
    two rates for older readers.
    """
    correct = result.clean_correct
    n = len(result)
    n_correct = int(correct.sum())
    untargeted = bool(result.extra.get("untargeted", False)) or bool((result.target < 0).any()) if n else False
    flipped = correct & (result.prediction != result.labels)
    hit = correct & (result.prediction == result.target)
    flipped_c = _count(flipped, n_correct)
    targeted_c = None if untargeted else _count(hit, n_correct)
    conf = result.target_confidence[torch.isfinite(result.target_confidence)]
    out: dict[str, Any] = {
        "n": n,
        "n_clean_correct": n_correct,
        "clean_accuracy": _rate(correct),
        "attacked_accuracy": _rate(result.prediction == result.labels),
        "flipped": flipped_c,
        "targeted_success": targeted_c,
        "fooling_untargeted": flipped_c["rate"],
        "fooling_targeted": None if targeted_c is None else targeted_c["rate"],
        "mean_target_confidence": float(conf.mean()) if conf.numel() else None,
    }
    if n_correct == 0:
        out["note"] = "the model classifies no attacked sample correctly: flipped and targeted rates are undefined"
    return out


def _count(flags: Tensor, of: int) -> dict[str, Any]:
    count = int(flags.sum())
    return {"count": count, "of": of, "rate": count / of if of else None}


def _rate(flags: Tensor) -> float | None:
    return float(flags.float().mean()) if flags.numel() else None


def per_sample_stats(
    result: AttackResult, clean: Tensor, layout: SkeletonLayout, eps: Tensor, joints: Tensor
) -> dict[str, np.ndarray]:
    """Per-sample perturbation statistics (the columns of ``per_sample.csv``)."""
    adv = result.adversarial
    clean = clean.to(adv.device, adv.dtype)
    channels = constraints.default_channel_mask(layout, clean.shape[1])
    frames = constraints.frame_mask(clean)
    var = joint_variation(adv, clean, joints, channels)
    bone = bone_length_error(adv, clean, layout, channels)
    linf = linf_per_joint(adv, clean, channels)
    over = (linf - eps.view(1, -1)).clamp_min(0)
    # human-possible measures of the attacked clip and, beside them, of the clean one
    moved = plausibility.measures(adv, clean, layout, joints)
    still = plausibility.measures(clean, clean, layout, joints)
    return {
        **{f"_plaus_{k}": v for k, v in moved.items()},
        **{f"_plaus_clean_{k}": v for k, v in still.items()},
        "joint_var_min": var["min"].numpy(),
        "joint_var_max": var["max"].numpy(),
        "joint_var_mean": var["mean"].numpy(),
        "bone_error_mean": bone["mean"].numpy(),
        "bone_error_max": bone["max"].numpy(),
        "accel_energy_clean": acceleration_energy(clean, frames, channels).numpy(),
        "accel_energy_adv": acceleration_energy(adv, frames, channels).numpy(),
        "accel_energy_perturbation": acceleration_energy(adv - clean, frames, channels).numpy(),
        "linf_max": linf.amax(dim=1).numpy(),
        "eps_overshoot_max": over.amax(dim=1).numpy(),
        "_linf": linf.numpy(),
    }


def summarize_stats(stats: dict[str, np.ndarray], eps: Tensor, joints: Tensor) -> dict[str, Any]:
    """Aggregate per-sample statistics (possibly concatenated over batches) for ``summary.json``."""

    def finite(a: np.ndarray) -> np.ndarray:
        return a[np.isfinite(a)]

    vmin, vmax, vmean = finite(stats["joint_var_min"]), finite(stats["joint_var_max"]), finite(stats["joint_var_mean"])
    return {
        "joint_variation": {
            "unit": "data units (metres for NTU), Euclidean per joint and frame, attacked joints only",
            "min": float(vmin.min()) if vmin.size else None,
            "max": float(vmax.max()) if vmax.size else None,
            "mean": float(vmean.mean()) if vmean.size else None,
        },
        "bone_length_error": {
            "mean": float(stats["bone_error_mean"].mean()),
            "max": float(stats["bone_error_max"].max()),
        },
        "acceleration_energy": {
            "clean": float(stats["accel_energy_clean"].mean()),
            "perturbed": float(stats["accel_energy_adv"].mean()),
            "perturbation": float(stats["accel_energy_perturbation"].mean()),
        },
        "eps_overshoot": eps_overshoot(torch.from_numpy(stats["_linf"]), eps, joints),
        "realised_displacement": realised_displacement(stats, eps, joints),
        **(
            {
                "plausibility": {
                    "clean": plausibility.summarize_measures(_prefixed(stats, "_plaus_clean_")),
                    "perturbed": plausibility.summarize_measures(_prefixed(stats, "_plaus_")),
                }
            }
            if "_plaus_speed_ratio" in stats
            else {}
        ),
    }


def _prefixed(stats: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The per-clip arrays stored under ``prefix`` (``_plaus_`` does not pick up ``_plaus_clean_``)."""
    out = {k[len(prefix) :]: v for k, v in stats.items() if k.startswith(prefix)}
    return {k: v for k, v in out.items() if not k.startswith("clean_")}


def realised_displacement(stats: dict[str, np.ndarray], eps: Tensor, joints: Tensor) -> dict[str, Any]:
    """How far joints actually moved, next to the eps they were clipped to (millimetres).

    SSR carries a parent's move to its children, so with the loose box the realised L-inf
    displacement is several times eps: compare attacks at equal realised displacement, not
    only at equal eps. ``linf`` is the largest coordinate change (the clipping's measure),
    ``mean``/``max`` the Euclidean joint displacement over the attacked joints and frames.
    """
    sel = joints.cpu().bool()
    e = eps.cpu()[sel] if bool(sel.any()) else eps.cpu()
    linf = stats["linf_max"]
    mean, top = stats["joint_var_mean"], stats["joint_var_max"]
    mean, top = mean[np.isfinite(mean)], top[np.isfinite(top)]
    per_joint = stats["_linf"][:, sel.numpy()] if bool(sel.any()) else stats["_linf"]
    ratio = per_joint / np.maximum(e.numpy()[None, :], 1e-12)
    return {
        "unit": "mm",
        "eps_min_mm": float(e.min()) * 1000.0,
        "eps_max_mm": float(e.max()) * 1000.0,
        "linf_max_mm": float(linf.max()) * 1000.0 if linf.size else None,
        "linf_mean_mm": float(linf.mean()) * 1000.0 if linf.size else None,
        "mean_mm": float(mean.mean()) * 1000.0 if mean.size else None,
        "max_mm": float(top.max()) * 1000.0 if top.size else None,
        "linf_over_eps_max": float(ratio.max()) if ratio.size else None,
    }
