"""The matched control (``ciasa.attacks.control``): same joints, same per-joint per-frame
displacement as the adversarial clip, random smooth directions seeded by the clip name."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from ciasa.attacks import constraints
from ciasa.attacks import plausibility as P
from ciasa.attacks.control import clip_seed, control_batch, smooth_directions
from ciasa.attacks.metrics import joint_displacement
from ciasa.skeleton import NTU_RGBD, bone_lengths

pytestmark = pytest.mark.usefixtures("one_torch_thread")

L = NTU_RGBD
LEGS = torch.zeros(25, dtype=torch.bool)
LEGS[list(L.leg_joints)] = True
NAMES = ["S001C001P001R001A024", "S001C002P001R001A026", "S002C001P003R002A008"]


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[torch.Tensor, torch.Tensor]:
    """Three synthetic clips (the last padded after 24 frames) and an 'adversarial' version of
    them: a smooth leg perturbation, realigned."""
    from ciasa.data.stgcn import load_split
    from ciasa.data.synth import __main__ as synth_main

    root = tmp_path_factory.mktemp("control")
    synth_main.main(["--out", str(root), "--subjects", "1-4", "--frames", "32", "--actions", "gross", "--quiet"])
    clean = torch.from_numpy(np.ascontiguousarray(load_split(root / "xsub", "train", mmap=False).data[:3])).float()
    clean[2, :, 24:] = 0.0  # padding must stay exactly zero
    t = clean.shape[2]
    delta = torch.zeros_like(clean)
    phase = torch.linspace(0, 3.0, t)
    delta[:, 0, :, list(L.leg_joints)] = 0.06 * torch.sin(phase).view(1, t, 1, 1)
    delta[:, 2, :, list(L.leg_joints)] = 0.04 * torch.cos(phase).view(1, t, 1, 1)
    movable = constraints.movable_mask(clean, LEGS, torch.ones(3, dtype=torch.bool))
    adv = constraints.ssr(torch.where(movable, clean + delta, clean), clean, L, movable)
    return clean, adv


def test_control_has_the_adversarial_magnitudes_before_realignment(pair) -> None:
    clean, adv = pair
    raw = control_batch(clean, adv, NAMES, L, LEGS, P.Plausibility.off()).raw
    want = joint_displacement(adv, clean)
    got = joint_displacement(raw, clean)
    assert torch.allclose(got, want, atol=1e-6)
    assert float(want[:, :, list(L.leg_joints)].mean()) > 0.01  # the check is not about zeros
    # a different direction from the adversarial one, not a copy of it
    assert float((raw - adv).abs().max()) > 0.01


def test_control_is_realigned_constrained_and_leaves_the_rest_alone(pair) -> None:
    clean, adv = pair
    ctrl = control_batch(clean, adv, NAMES, L, LEGS, P.Plausibility()).skeleton
    present = clean.abs().sum(dim=(1, 3)) > 0  # (N, T, M)
    err = np.abs(bone_lengths(ctrl.numpy(), L, 1) - bone_lengths(clean.numpy(), L, 1))
    assert err.transpose(0, 1, 3, 2)[present.numpy()].max() < 2e-6
    others = [j for j in range(25) if j not in L.leg_joints]
    assert torch.equal(ctrl[:, :, :, others], clean[:, :, :, others])
    assert torch.equal(ctrl[2, :, 24:], torch.zeros_like(ctrl[2, :, 24:]))
    # projected onto the limits whatever the attack's method (it has no loss to penalise)
    lim = P.clean_limits(clean, L, P.Plausibility(method="projection"))
    assert lim.hard == ("hinge", "hip", "ankle", "floor", "speed")
    # the frame-local limits are projected; speed and planted feet are only measured
    assert P.is_plausible(ctrl, lim, L, ("hinge", "hip", "ankle", "floor")).all()
    # realised size close to the adversarial one (SSR may carry a parent's move to its children)
    size = joint_displacement(ctrl, clean)[:, :, list(L.leg_joints)].mean()
    size_adv = joint_displacement(adv, clean)[:, :, list(L.leg_joints)].mean()
    assert 0.3 < float(size / size_adv) < 2.0


def test_control_is_scaled_to_the_attacks_realised_size_after_projection(pair) -> None:
    """The projection takes back part of a random direction; the per-clip gain gives it back."""
    clean, adv = pair
    plain = control_batch(clean, adv, NAMES, L, LEGS, P.Plausibility(), match_size=False)
    matched = control_batch(clean, adv, NAMES, L, LEGS, P.Plausibility())
    legs = list(L.leg_joints)

    def size(x: torch.Tensor) -> torch.Tensor:  # per clip, over the leg joints
        return joint_displacement(x, clean)[:, :, legs].mean(dim=(1, 2, 3))

    target = size(adv)
    assert torch.equal(plain.gain, torch.ones(len(NAMES)))
    assert (matched.gain >= 1).all()
    short = size(plain.skeleton) < target * 0.98
    # every clip the projection left short is brought (near) to the attack's size, or hits the cap
    for i in torch.nonzero(short).flatten().tolist():
        assert matched.gain[i] > 1
        assert abs(float(size(matched.skeleton)[i] / target[i]) - 1) < 0.05 or matched.gain[i] >= 7.9
    # still on the limits and bone lengths exact
    lim = P.clean_limits(clean, L, P.Plausibility(method="projection"))
    assert P.is_plausible(matched.skeleton, lim, L, ("hinge", "hip", "ankle", "floor")).all()


def test_control_is_deterministic_per_clip_name(pair) -> None:
    clean, adv = pair
    off = P.Plausibility.off()
    a = control_batch(clean, adv, NAMES, L, LEGS, off).skeleton
    # the same clip alone, or in another order, gets the same control
    b = control_batch(clean[1:2], adv[1:2], NAMES[1:2], L, LEGS, off).skeleton
    assert torch.equal(a[1:2], b)
    order = [2, 0, 1]
    c = control_batch(clean[order], adv[order], [NAMES[i] for i in order], L, LEGS, off).skeleton
    assert torch.equal(c, a[order])
    # another name (or another run seed) gives other directions
    d = control_batch(clean[:1], adv[:1], ["S009C001P001R001A024"], L, LEGS, off).skeleton
    assert not torch.equal(d, a[:1])
    e = control_batch(clean[:1], adv[:1], NAMES[:1], L, LEGS, off, seed=1).skeleton
    assert not torch.equal(e, a[:1])


def test_clip_seed_is_a_stable_hash_not_pythons() -> None:
    digest = hashlib.sha256(b"0:S001C001P001R001A024").digest()
    assert clip_seed("S001C001P001R001A024") == int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)
    assert clip_seed("S001C001P001R001A024", seed=1) != clip_seed("S001C001P001R001A024")


def test_directions_are_unit_and_temporally_smooth() -> None:
    dirs = smooth_directions("S001C001P001R001A024", 64, 25, torch.ones(3, dtype=torch.bool))
    assert dirs.shape == (3, 64, 25)
    assert np.allclose(np.linalg.norm(dirs, axis=0), 1.0, atol=1e-6)
    step = np.linalg.norm(np.diff(dirs, axis=1), axis=0)  # frame-to-frame change of a unit vector
    white = np.random.default_rng(0).standard_normal((3, 64, 25))
    white /= np.linalg.norm(white, axis=0, keepdims=True)
    assert step.mean() < 0.5 * np.linalg.norm(np.diff(white, axis=1), axis=0).mean()


def test_control_rejects_mismatched_inputs(pair) -> None:
    clean, adv = pair
    with pytest.raises(ValueError, match="one shape"):
        control_batch(clean, adv[:2], NAMES, L, LEGS, P.Plausibility.off())
    with pytest.raises(ValueError, match="names"):
        control_batch(clean, adv, NAMES[:2], L, LEGS, P.Plausibility.off())
