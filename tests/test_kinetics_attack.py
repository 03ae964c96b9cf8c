"""Attacks on Kinetics-like 2-D skeletons: x, y move, the score channel and undetected joints don't,
and SSR keeps bone lengths in the image plane."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ciasa.attacks import CIASA, FGSM, constraints, metrics
from ciasa.data.kinetics_synth import project_to_kinetics
from ciasa.models import STGCN
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _kinetics_batch(n: int = 4, t: int = 16, valid: int = 12, seed: int = 0) -> np.ndarray:
    """Waving arms projected to OpenPose-18 with some missed joints; frames >= valid padded."""
    rng = np.random.default_rng(seed)
    j = NTU_RGBD.index
    x = np.zeros((n, 3, t, 25, 1), dtype=np.float32)
    for i in range(n):
        pose = rng.normal(0, 0.01, size=(25, 3))
        for name, (px, py) in {
            "spine_base": (0, 0),
            "spine_mid": (0, 0.25),
            "spine_shoulder": (0, 0.5),
            "neck": (0, 0.58),
            "head": (0, 0.7),
            "left_shoulder": (-0.2, 0.48),
            "right_shoulder": (0.2, 0.48),
            "left_hip": (-0.1, -0.05),
            "right_hip": (0.1, -0.05),
            "left_knee": (-0.1, -0.5),
            "right_knee": (0.1, -0.5),
            "left_ankle": (-0.1, -0.9),
            "right_ankle": (0.1, -0.9),
            "left_foot": (-0.1, -0.95),
            "right_foot": (0.1, -0.95),
        }.items():
            pose[j(name), :2] += (px, py)
        for f in range(valid):
            a = 0.5 * np.sin(0.4 * f + i)
            arm = pose.copy()
            for side, sign in (("left", -1), ("right", 1)):
                sh = arm[j(f"{side}_shoulder")]
                for k, name in enumerate(("elbow", "wrist", "hand", "hand_tip", "thumb")):
                    r = 0.25 * min(k + 1, 2) + 0.05 * max(k - 1, 0)
                    arm[j(f"{side}_{name}")] = sh + (sign * r * np.cos(a), r * np.sin(a), 0.0)
            arm[:, 2] += 3.0
            x[i, :, f, :, 0] = arm.T
    return project_to_kinetics(x, missing_rate=0.08, seed=seed)


def _image_bone_lengths(x: torch.Tensor) -> torch.Tensor:
    child = torch.tensor([c for c, _ in OPENPOSE_18.bones])
    parent = torch.tensor([p for _, p in OPENPOSE_18.bones])
    return (x[:, :2].index_select(3, child) - x[:, :2].index_select(3, parent)).norm(dim=1)


@pytest.fixture(scope="module")
def model_and_data():
    torch.manual_seed(0)
    model = STGCN(3, 5, {"layout": "openpose", "strategy": "spatial"}, base_channels=4).eval()
    x = torch.from_numpy(_kinetics_batch())
    y = torch.tensor([0, 1, 2, 3])
    assert (x[:, 2][x[:, 2].abs().sum(dim=(1, 2, 3)) > 0] == 0).any()  # the batch has missed joints
    return model, x, y


def test_ciasa_2d_keeps_scores_padding_and_image_bone_lengths(model_and_data):
    model, x, y = model_and_data
    result = CIASA(model, mode="basic", eps=0.01, max_iter=4, seed=0)(x, y)
    adv = result.adversarial
    assert torch.equal(adv[:, 2], x[:, 2])  # the confidence channel is untouched
    assert torch.count_nonzero(adv[:, :, 12:]) == 0  # padded frames stay zero
    moved = (adv[:, :2] - x[:, :2]).abs()
    assert moved.max() > 0
    detected = x[:, 2:3] > 0
    both = detected[:, 0].index_select(2, torch.tensor([c for c, _ in OPENPOSE_18.bones])) & detected[
        :, 0
    ].index_select(2, torch.tensor([p for _, p in OPENPOSE_18.bones]))
    err = (_image_bone_lengths(adv) - _image_bone_lengths(x)).abs()
    assert err[both].max() < 1e-5  # bone lengths kept in the (x, y) plane
    # undetected joints (score 0, x = y = 0) stay undetected: the attack must not invent them
    missed = ~detected.expand(-1, 2, -1, -1, -1)
    assert torch.count_nonzero(adv[:, :2][missed]) == 0
    # the reported metrics measure the same: image-plane bones between detected joints
    channels = constraints.default_channel_mask(OPENPOSE_18, 3)
    assert metrics.bone_length_error(adv, x, OPENPOSE_18, channels)["max"].max() < 1e-5
    assert metrics.joint_variation(adv, x, channels=channels)["min"].min() >= 0


def test_fgsm_2d_moves_only_detected_xy(model_and_data):
    model, x, y = model_and_data
    adv = FGSM(model, eps=0.02)(x, y)
    assert torch.equal(adv[:, 2], x[:, 2])
    detected = (x[:, 2:3] > 0).expand(-1, 2, -1, -1, -1)
    delta = (adv[:, :2] - x[:, :2]).abs()
    assert torch.allclose(delta[detected].max(), torch.tensor(0.02), atol=1e-6)
    assert torch.count_nonzero(delta[~detected]) == 0


def test_ciasa_2d_records_the_plausibility_constraints_it_skips(model_and_data):
    """OpenPose-18 is 2-D image space: no joint angles or floor in metres; only the speed limit applies."""
    from ciasa.attacks import plausibility

    model, x, y = model_and_data
    hard = plausibility.Plausibility(method="both")
    result = CIASA(model, mode="basic", eps=0.01, max_iter=2, seed=0, plausible=hard)(x, y)
    settings = result.extra["settings"]["plausibility_settings"]
    assert settings["active"] == ["speed"] and settings["projected"] == ["speed"]
    assert set(settings["skipped"]) == {"hinge", "hip", "ankle", "floor", "plant"}
    lim = plausibility.clean_limits(x, OPENPOSE_18, hard)
    assert plausibility.is_plausible(result.adversarial, lim, OPENPOSE_18, lim.hard).all()
    # a missed joint's jump to (0, 0) is no motion: it does not set the clip's top speed
    m = plausibility.measures(result.adversarial, x, OPENPOSE_18)
    assert np.isfinite(m["speed_ratio"]).all() and (m["speed_ratio"] <= 1.0 + 1e-3 / float(lim.max_speed.min())).all()
