"""CIASA and FGSM end to end against a tiny classifier defined here (any (N, C, T, V, M) -> logits model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ciasa.attacks import CIASA, FGSM, constraints, metrics
from ciasa.attacks.plausibility import Plausibility
from ciasa.skeleton import NTU_RGBD, bone_lengths
from tests.test_attacks_constraints import make_skeletons

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# TinyNet reads frame-to-frame jitter (its speed feature), which the human-possible speed
# limit rightly forbids; the tests that need it to be fooled check the attack's mechanics
# and switch the limits off (tests/test_attacks_plausibility.py tests the limits).
OFF = Plausibility.off()


class TinyNet(nn.Module):
    """A small classifier with BatchNorm and dropout (both must stay frozen during the attack).

    Features: per-joint mean position relative to the root, mean joint speed (like a
    trained recogniser, sensitive to frame-to-frame jitter) and a temporal convolution.
    """

    def __init__(self, channels: int = 3, joints: int = 25, classes: int = 5) -> None:
        super().__init__()
        width = channels * joints
        self.bn = nn.BatchNorm1d(width)
        self.bn_speed = nn.BatchNorm1d(width)
        self.conv = nn.Conv1d(width, 16, 3, padding=1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(16 + 2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        rel = (x - x[:, :, :, :1]).permute(0, 4, 1, 3, 2).reshape(n * m, c * v, t)
        speed = self.bn_speed((rel[:, :, 1:] - rel[:, :, :-1]).abs().mean(dim=2))
        h = self.bn(rel)
        feats = torch.cat([torch.relu(self.conv(h)).mean(dim=2), h.mean(dim=2), speed], dim=1)
        return self.fc(self.drop(feats.view(n, m, -1).mean(dim=1)))


@pytest.fixture()
def setup() -> tuple[TinyNet, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = TinyNet()
    x = make_skeletons(NTU_RGBD, n=4, t=16)
    # BatchNorm statistics of the data itself, as training would leave them: features
    # are then standardised and small joint moves matter, as in a trained classifier.
    model.bn.momentum = model.bn_speed.momentum = 1.0
    with torch.no_grad():
        model.train()(make_skeletons(NTU_RGBD, n=16, t=16, seed=1))
    model.bn.momentum = model.bn_speed.momentum = 0.1
    with torch.no_grad():
        y = model.eval()(x).argmax(dim=1)
    model.train()  # the attack must switch to eval itself and restore this afterwards
    return model, x, y


def test_basic_mode_reaches_target_and_keeps_constraints(setup) -> None:
    model, x, y = setup
    before = {k: v.clone() for k, v in model.state_dict().items()}
    # lam 1: this toy model reads jitter, which the smoothness term (rightly) fights
    attack = CIASA(model, mode="basic", eps=0.05, lam=1.0, max_iter=30, device="cpu", plausible=OFF)
    result = attack(x, y)
    assert model.training  # restored
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed during the attack"
    assert result.adversarial.shape == x.shape
    assert torch.isfinite(result.adversarial).all()
    with torch.no_grad():
        assert torch.equal(result.target, model.eval()(x).argmin(dim=1))
    assert result.success.float().mean() >= 0.75
    frames = constraints.frame_mask(x)
    full = frames.expand_as(x)
    assert torch.equal(result.adversarial[~full], torch.zeros_like(result.adversarial[~full]))
    err = np.abs(bone_lengths(result.adversarial.numpy(), NTU_RGBD, 1) - bone_lengths(x.numpy(), NTU_RGBD, 1))
    valid = np.broadcast_to(frames.squeeze(1).numpy(), err.shape)
    assert err[valid].max() <= 1e-5
    assert (result.iterations == 30).all()


def test_advanced_mode_only_moves_the_legs(setup) -> None:
    model, x, y = setup
    result = CIASA(model, mode="advanced", max_iter=10, device="cpu")(x, y)
    legs = torch.zeros(25, dtype=torch.bool)
    legs[list(NTU_RGBD.region_joints("legs"))] = True
    assert torch.equal(result.adversarial[:, :, :, ~legs], x[:, :, :, ~legs])
    assert not torch.equal(result.adversarial[:, :, :, legs], x[:, :, :, legs])
    # SSR may carry a joint past its box; the report says by how much
    linf = metrics.linf_per_joint(result.adversarial, x)
    report = metrics.eps_overshoot(linf, torch.as_tensor(NTU_RGBD.hierarchical_eps()), legs)
    assert report["joints"] == sorted(NTU_RGBD.region_joints("legs"))
    worst = float((linf[:, legs] - torch.as_tensor(NTU_RGBD.hierarchical_eps())[legs]).clamp_min(0).max())
    assert report["overall_overshoot_max"] == pytest.approx(worst)


def test_localized_region_only_moves_its_joints(setup) -> None:
    model, x, y = setup
    result = CIASA(model, mode="localized", region="set-1", eps=0.08, max_iter=5, device="cpu")(x, y)
    region = torch.zeros(25, dtype=torch.bool)
    region[list(NTU_RGBD.regions["set-1"])] = True
    assert torch.equal(result.adversarial[:, :, :, ~region], x[:, :, :, ~region])
    assert not torch.equal(result.adversarial, x)


def test_early_stop_keeps_the_first_successful_skeleton(setup) -> None:
    model, x, y = setup
    result = CIASA(model, eps=0.05, lam=1.0, max_iter=30, early_stop=0.3, device="cpu", plausible=OFF)(x, y)
    stopped = result.iterations < 30
    assert stopped.any()
    assert result.success[stopped].all()
    assert (result.target_confidence[stopped] >= 0.3).all()


def test_ablation_switches_and_random_target(setup) -> None:
    model, x, y = setup
    plain = CIASA(model, eps=0.02, max_iter=5, use_ssr=False, use_smooth=False, use_gan=False, device="cpu")(x, y)
    assert ((plain.adversarial - x).abs() <= 0.02 + 1e-6).all()
    rnd = CIASA(model, eps=0.02, max_iter=2, target="random", device="cpu")(x, y)
    assert (rnd.target != y).all()
    given = CIASA(model, eps=0.02, max_iter=2, target=torch.tensor([1, 2, 3, 4]), device="cpu")(x, y)
    assert given.target.tolist() == [1, 2, 3, 4]


def test_real_source_for_the_discriminator(setup) -> None:
    model, x, y = setup
    real = make_skeletons(NTU_RGBD, n=6, t=20, seed=3).numpy()
    result = CIASA(model, eps=0.02, max_iter=3, real_source=real, device="cpu")(x, y)
    assert torch.isfinite(result.adversarial).all()
    with pytest.raises(ValueError, match="real data"):
        CIASA(model, eps=0.02, max_iter=1, real_source=real[:, :, :, :18], device="cpu")(x, y)


def test_bad_inputs_give_clear_errors(setup) -> None:
    model, x, y = setup
    with pytest.raises(ValueError, match="positive"):
        CIASA(model, eps=0.0)
    with pytest.raises(ValueError, match="one entry per joint"):
        CIASA(model, mode="advanced", eps=np.ones(18))
    with pytest.raises(KeyError, match="no attack region"):
        CIASA(model, mode="localized", region="tail")
    with pytest.raises(ValueError, match="unknown CIASA mode"):
        CIASA(model, mode="fancy")
    attack = CIASA(model, eps=0.01, max_iter=1, device="cpu")
    with pytest.raises(ValueError, match="out of range"):
        attack(x, torch.tensor([0, 1, 2, 9]))
    with pytest.raises(ValueError, match="joints"):
        attack(x[:, :, :, :18], y)
    with pytest.raises(ValueError, match="NaN"):
        attack(x * float("nan"), y)


def test_fgsm_untargeted_and_targeted(setup) -> None:
    model, x, y = setup
    adv = FGSM(model, eps=0.05, device="cpu")(x, y)
    full = constraints.frame_mask(x).expand_as(x)
    assert ((adv - x).abs() <= 0.05 + 1e-6).all()
    assert torch.equal(adv[~full], x[~full])
    with torch.no_grad():
        assert (model.eval()(adv).argmax(1) != y).float().mean() >= 0.5
    target = torch.tensor([1, 1, 1, 1])
    adv_t = FGSM(model, eps=0.05, targeted=True, device="cpu")(x, y, target)
    assert adv_t.shape == x.shape
    with pytest.raises(ValueError):
        FGSM(model, eps=-1.0)


def test_metrics_report(setup) -> None:
    model, x, y = setup
    attack = CIASA(model, eps=0.03, max_iter=5, device="cpu")
    result = attack(x, y)
    rates = metrics.fooling_rates(result)
    assert rates["n"] == 4 and rates["flipped"]["of"] == rates["n_clean_correct"] == 4
    stats = metrics.per_sample_stats(result, x, NTU_RGBD, attack.eps, attack.joint_mask)
    summary = metrics.summarize_stats(stats, attack.eps, attack.joint_mask)
    assert summary["bone_length_error"]["max"] <= 1e-5
    assert (
        summary["joint_variation"]["max"]
        >= summary["joint_variation"]["mean"]
        >= summary["joint_variation"]["min"]
        >= 0
    )
    assert summary["eps_overshoot"]["overall_overshoot_max"] >= 0
    # nothing classified correctly: rates over the correct subset are None, not a crash
    result.labels = (result.clean_pred + 1) % 5
    empty = metrics.fooling_rates(result)
    assert empty["fooling_targeted"] is None and "note" in empty


class BonesAndHands(nn.Module):
    """Two classes; class 1 scores long bones and raised hands.

    Bone lengths dominate the input gradient, as the joint-position gradients of a trained
    ST-GCN have large components that only stretch bones; SSR pins every bone to its clean
    length, so only the hands' height can really move the score. ``offset`` puts every
    clip of the batch 2 nats short of class 1.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("child", torch.tensor([c for c, _ in NTU_RGBD.bones]))
        self.register_buffer("parent", torch.tensor([p for _, p in NTU_RGBD.bones]))
        self.register_buffer("hands", torch.tensor([NTU_RGBD.index("left_hand"), NTU_RGBD.index("right_hand")]))
        self.register_buffer("offset", torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bones = (x[:, :, :, self.child] - x[:, :, :, self.parent]).square().sum(1).add(1e-12).sqrt()
        height = (x[:, 1][:, :, self.hands] - x[:, 1][:, :, :1]).mean(dim=(1, 2, 3))
        score = 200 * bones.mean(dim=(1, 3)).sum(1) + 100 * height - self.offset
        return torch.stack([torch.zeros_like(score), score], 1)


def test_perturbation_formulation_beats_the_skeleton_formulation() -> None:
    """Same model, clips, budget and constraints: Algorithm 1 as printed stalls (Adam's step
    is mostly bone stretching, which the clip + SSR overwrite undoes), while optimising delta
    through the differentiable SSR only takes steps that survive it."""
    model = BonesAndHands()
    x = make_skeletons(NTU_RGBD, n=4, t=16)
    y = torch.zeros(4, dtype=torch.long)
    with torch.no_grad():
        model.offset = model(x)[:, 1] + 2.0
    common = dict(mode="basic", eps=0.01, max_iter=30, use_gan=False, use_smooth=False, target=1, device="cpu")
    skel = CIASA(model, optimize="skeleton", **common)(x, y)
    pert = CIASA(model, optimize="perturbation", **common)(x, y)
    assert not skel.success.any() and min(skel.extra["gap_curve"]) > 1.0
    assert pert.success.all() and pert.extra["gap_curve"][-1] < 0
    for res in (skel, pert):  # both keep bones and padding
        err = np.abs(bone_lengths(res.adversarial.numpy(), NTU_RGBD, 1) - bone_lengths(x.numpy(), NTU_RGBD, 1))
        valid = np.broadcast_to(constraints.frame_mask(x).squeeze(1).numpy(), err.shape)
        assert err[valid].max() <= 1e-5
        full = constraints.frame_mask(x).expand_as(x)
        assert torch.equal(res.adversarial[~full], x[~full])
    assert len(pert.extra["gap_curve"]) == 30


def test_untargeted_and_nearest_objectives(setup) -> None:
    model, x, y = setup
    res = CIASA(model, eps=0.05, lam=1.0, max_iter=20, target="untargeted", use_gan=False, device="cpu", plausible=OFF)(
        x, y
    )
    assert (res.target == -1).all()
    assert torch.equal(res.success, res.prediction != res.labels)
    assert res.success.float().mean() >= 0.75
    assert torch.isnan(res.target_confidence).all()
    near = CIASA(model, eps=0.03, max_iter=2, target="nearest", use_gan=False, device="cpu")(x, y)
    with torch.no_grad():
        assert torch.equal(near.target, model.eval()(x).topk(2, dim=1).indices[:, 1])
    with pytest.raises(ValueError, match="unknown target"):
        CIASA(model, target="closest")
    with pytest.raises(ValueError, match="unknown formulation"):
        CIASA(model, optimize="delta")


@pytest.mark.parametrize("optimize", ["skeleton", "perturbation"])
def test_strict_box_keeps_every_joint_inside_its_eps(setup, optimize) -> None:
    model, x, y = setup
    res = CIASA(
        model,
        mode="advanced",
        optimize=optimize,
        box="strict",
        max_iter=8,
        use_gan=False,
        target="untargeted",
        device="cpu",
    )(x, y)
    eps = torch.as_tensor(NTU_RGBD.hierarchical_eps(), dtype=torch.float32)
    linf = metrics.linf_per_joint(res.adversarial, x)
    assert (linf <= eps + 1e-5).all()
    err = np.abs(bone_lengths(res.adversarial.numpy(), NTU_RGBD, 1) - bone_lengths(x.numpy(), NTU_RGBD, 1))
    valid = np.broadcast_to(constraints.frame_mask(x).squeeze(1).numpy(), err.shape)
    assert err[valid].max() <= 1e-5
    assert not torch.equal(res.adversarial, x)


def test_transfer_aware_term_uses_error_samples(setup) -> None:
    from ciasa.attacks.roundtrip import parse_error_model
    from tests.test_attacks_roundtrip import model_doc

    model, x, y = setup
    em = parse_error_model(model_doc(), "ntu-rgb+d")
    calls = []
    model.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape[0]))
    res = CIASA(model, eps=0.02, max_iter=2, use_gan=False, error_model=em, error_samples=3, device="cpu")(x, y)
    assert 4 * 4 in calls  # candidate + 3 noisy copies of the 4 clips in one forward
    full = constraints.frame_mask(x).expand_as(x)
    assert torch.equal(res.adversarial[~full], x[~full])  # noise never reaches the output or padding
    assert res.extra["settings"]["error_samples"] == 3
    with pytest.raises(ValueError, match="error model"):
        CIASA(model, error_samples=2)


def test_discriminator_scores_in_cpu_chunks_equal_one_call():
    """The CPU path scores frames in chunks (much faster on large batches); every frame's score
    and the gradients must be those of a single call."""
    from ciasa.attacks import discriminator as dmod

    torch.manual_seed(0)
    disc = dmod.BoneCosineDiscriminator(18)
    maps = torch.randn(2 * dmod.CPU_CHUNK + 37, 1, 18, 18, requires_grad=True)
    chunked = disc(maps)
    whole = disc._score(maps)
    assert torch.equal(chunked, whole)
    (g_chunked,) = torch.autograd.grad(chunked.square().sum(), maps)
    (g_whole,) = torch.autograd.grad(whole.square().sum(), maps)
    assert torch.allclose(g_chunked, g_whole, atol=1e-7)
