"""Human-possible perturbations (``ciasa.attacks.plausibility``): limits from the clean clip,
the projection that removes planted violations with every bone kept exact, the measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ciasa.attacks import CIASA, constraints
from ciasa.attacks import plausibility as P
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18, bone_lengths

pytestmark = pytest.mark.usefixtures("one_torch_thread")

L = NTU_RGBD
K = L.kinematics
LEGS = torch.zeros(25, dtype=torch.bool)
LEGS[list(L.leg_joints)] = True


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> torch.Tensor:
    """Four synthetic clips (32 frames, one body) from the embedded generator."""
    from ciasa.data.stgcn import load_split
    from ciasa.data.synth import __main__ as synth_main

    root = tmp_path_factory.mktemp("plaus")
    synth_main.main(["--out", str(root), "--subjects", "1-4", "--frames", "32", "--actions", "gross", "--quiet"])
    data = load_split(root / "xsub", "train", mmap=False)
    return torch.from_numpy(np.ascontiguousarray(data.data[:4])).float()


def _realign(clean: torch.Tensor, joints: torch.Tensor = LEGS):
    movable = constraints.movable_mask(clean, joints, torch.ones(3, dtype=torch.bool))

    def realign(delta: torch.Tensor) -> torch.Tensor:
        return constraints.ssr(torch.where(movable, clean + delta, clean), clean, L, movable)

    return realign


def _project(clean: torch.Tensor, delta: torch.Tensor, plaus: P.Plausibility | None = None) -> torch.Tensor:
    plaus = plaus or P.Plausibility(method="projection")
    lim = P.clean_limits(clean, L, plaus)
    realign = _realign(clean)
    scale = P.projection_scales(delta, lim, L, P.limb_groups(LEGS, L), realign, plaus.steps)
    return realign(scale * delta)


def _bones_exact(x: torch.Tensor, clean: torch.Tensor) -> float:
    return float(np.abs(bone_lengths(x.numpy(), L, 1) - bone_lengths(clean.numpy(), L, 1)).max())


def test_clean_clip_meets_its_own_limits_and_projects_to_itself(clips) -> None:
    lim = P.clean_limits(clips, L, P.Plausibility())
    assert P.is_plausible(clips, lim, L).all()
    plaus = P.Plausibility()
    realign = _realign(clips)
    scale = P.projection_scales(torch.zeros_like(clips), lim, L, P.limb_groups(LEGS, L), realign, plaus.steps)
    assert torch.equal(scale, torch.ones_like(scale))  # nothing to take back
    assert float((realign(scale * 0) - clips).abs().max()) < 1e-6  # SSR of the clean clip: itself, to rounding
    # a perturbation that is itself plausible (a small rigid lift of both legs' perturbation) is kept whole
    small = torch.zeros_like(clips)
    small[:, 1, :, list(L.leg_joints)] = 0.002
    assert torch.equal(
        P.projection_scales(small, lim, L, P.limb_groups(LEGS, L), realign, plaus.steps), torch.ones_like(scale)
    )
    m = P.summarize_measures(P.measures(clips, clips, L))
    assert m["under_floor_2cm"] == 0.0 and m["max_speed_ratio"] == 1.0


def _knee_backwards(clean: torch.Tensor, metres: float) -> torch.Tensor:
    """A perturbation pushing both knees behind the hip-ankle line (against the toes)."""
    delta = torch.zeros_like(clean)
    for hinge in K.knees:
        perp, _ = P._side_vector(clean, hinge)
        front = P._front_vector(clean, hinge, None)
        back = -P._unit(front)  # (N, T, M, 3)
        delta[:, :, :, hinge.joint, :] = metres * back.permute(0, 3, 1, 2)
    return delta


def test_projection_removes_a_planted_hyperextension_with_exact_bones(clips) -> None:
    delta = _knee_backwards(clips, 0.25)
    raw = _realign(clips)(delta)
    before = P.summarize_measures(P.measures(raw, clips, L))
    clean = P.summarize_measures(P.measures(clips, clips, L))
    assert before["leg_hyperextended_10deg"] > clean["leg_hyperextended_10deg"] + 0.2  # the test has teeth
    out = _project(clips, delta)
    after = P.measures(out, clips, L)
    own = P.measures(clips, clips, L)
    # no leg-frame bent backwards beyond what the clean clip itself does
    assert (after["leg_hyperext_10"] <= own["leg_hyperext_10"]).all()
    lim = P.clean_limits(clips, L, P.Plausibility(method="projection"))
    assert P.is_plausible(out, lim, L, lim.hard).all()
    assert _bones_exact(out, clips) < 2e-6
    assert not torch.equal(out, clips)  # it scaled back, it did not just return the clean clip


def test_projection_lifts_a_foot_pushed_under_the_floor(clips) -> None:
    delta = torch.zeros_like(clips)
    for foot in K.plant_joints:
        delta[:, 1, :, foot] = -0.3  # point the foot straight down through the floor
    raw = _realign(clips)(delta)
    assert P.summarize_measures(P.measures(raw, clips, L))["under_floor_2cm"] > 0.5
    out = _project(clips, delta)
    assert P.summarize_measures(P.measures(out, clips, L))["under_floor_2cm"] == 0.0
    floor = P.heights(clips, L)[:, :, list(K.plant_joints)].amin(dim=(1, 2))  # (N, M)
    assert (P.heights(out, L)[:, :, list(K.plant_joints)] >= floor[:, None, None] - 1.01e-3).all()
    assert _bones_exact(out, clips) < 2e-6


def test_projection_stops_a_planted_foot_from_skating(clips) -> None:
    t = clips.shape[2]
    delta = torch.zeros_like(clips)
    slide = torch.linspace(0, 0.3, t)  # the whole leg slides 30 cm sideways over the clip
    delta[:, 0, :, list(L.leg_joints)] = slide.view(1, t, 1, 1)
    raw = _realign(clips)(delta)
    own = P.summarize_measures(P.measures(clips, clips, L))
    assert own["plant_stretches"] > 0
    before = P.summarize_measures(P.measures(raw, clips, L))
    assert before["foot_skating_mm"] > own["foot_skating_mm"] + 5
    hard = P.Plausibility(constraints=("plant",), soft=(), method="projection")  # by default 'plant' is only penalised
    out = _project(clips, delta, hard)
    after = P.summarize_measures(P.measures(out, clips, L))
    # at most PLANT_TOLERANCE (2 mm) per frame more than the clean foot, over short stretches
    assert after["foot_skating_mm"] < before["foot_skating_mm"]
    lim = P.clean_limits(clips, L, hard)
    assert P.is_plausible(out, lim, L).all()
    # the default leaves 'plant' to the penalty: the projection does not touch this slide
    soft = P.Plausibility(constraints=("plant",), method="both")
    assert soft.settings(L)["projected"] == [] and soft.settings(L)["penalised"] == ["plant"]
    assert torch.equal(_project(clips, delta, soft), raw)


def test_speed_limit_holds_after_projection(clips) -> None:
    gen = torch.Generator().manual_seed(0)
    delta = 0.08 * torch.randn(clips.shape, generator=gen)  # frame-to-frame jitter: far too fast
    plaus = P.Plausibility(constraints=("speed",), speed_ratio=1.5, method="projection")
    raw = _realign(clips)(delta)
    assert P.measures(raw, clips, L, LEGS)["speed_ratio"].max() > 1.5
    out = _project(clips, delta, plaus)
    assert P.measures(out, clips, L, LEGS)["speed_ratio"].max() <= 1.5 + 0.05
    assert _bones_exact(out, clips) < 2e-6


def test_penalty_is_zero_on_the_clean_clip_and_positive_on_a_violation(clips) -> None:
    lim = P.clean_limits(clips, L, P.Plausibility())
    assert float(P.penalty(clips, lim, L).abs().max()) == 0.0
    bad = _realign(clips)(_knee_backwards(clips, 0.25)).requires_grad_(True)
    pen = P.penalty(bad, lim, L)
    assert (pen > 0).all()
    pen.sum().backward()
    assert torch.isfinite(bad.grad).all() and bad.grad.abs().sum() > 0


def test_attack_keeps_the_limits_on_by_default_and_projection_guarantees_them(clips) -> None:
    from ciasa.models import STGCN

    torch.manual_seed(0)
    model = STGCN(
        in_channels=3, num_class=5, graph_args={"layout": "ntu-rgb+d", "strategy": "spatial"}, base_channels=8
    ).eval()
    y = model(clips).argmax(1)
    default = CIASA(model, mode="advanced", target="untargeted", max_iter=2, device="cpu")
    settings = default.settings()["plausibility_settings"]
    assert settings["method"] == "penalty" and settings["penalised"] == list(P.CONSTRAINTS)
    assert settings["projected"] == []
    hard = P.Plausibility(method="both")
    for optimize in ("perturbation", "skeleton"):
        res = CIASA(
            model, mode="advanced", target="untargeted", max_iter=3, optimize=optimize, device="cpu", plausible=hard
        )(clips, y)
        lim = P.clean_limits(clips, L, hard)
        assert lim.hard == ("hinge", "hip", "ankle", "floor", "speed")
        assert P.is_plausible(res.adversarial, lim, L, lim.hard).all(), optimize
        assert _bones_exact(res.adversarial, clips) < 2e-6
        assert res.extra["settings"]["plausibility_settings"]["method"] == "both"


def test_openpose_skips_what_does_not_apply_and_says_so() -> None:
    plaus = P.Plausibility()
    assert plaus.active(OPENPOSE_18) == ("speed",)
    skipped = plaus.skipped(OPENPOSE_18)
    assert set(skipped) == {"hinge", "hip", "ankle", "floor", "plant"}
    assert "no metric 3-D limbs" in skipped["hinge"]
    assert plaus.settings(OPENPOSE_18)["skipped"] == skipped
    x = torch.rand(2, 3, 10, 18, 1) + 0.1
    m = P.measures(x, x, OPENPOSE_18)
    assert np.isnan(m["leg_hyperext_10"]).all() and (m["speed_ratio"] == 1.0).all()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"speed_ratio": 0.9}, "exclude the clean clip"),
        ({"method": "magic"}, "unknown plausibility method"),
        ({"constraints": ("hinge", "wings")}, "unknown plausibility constraint"),
        ({"weight": -1.0}, ">= 0"),
    ],
)
def test_bad_settings_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        P.Plausibility(**kwargs)


def test_parse_constraints() -> None:
    assert P.parse_constraints("all") == P.CONSTRAINTS
    assert P.parse_constraints("none") == ()
    assert P.parse_constraints("floor,hinge") == ("hinge", "floor")
    with pytest.raises(ValueError, match="unknown plausibility constraint"):
        P.parse_constraints("hinge,knees")


def test_hinge_sign_follows_the_foot() -> None:
    """A knee in front of the hip-ankle line (towards the toes) is flexion, behind it hyperextension."""
    x = torch.zeros(1, 3, 2, 25, 1)
    hip, knee, ankle, foot = 12, 13, 14, 15
    for t, knee_z in ((0, -0.1), (1, 0.1)):  # toes point to -z (towards the sensor)
        x[0, :, t, hip, 0] = torch.tensor([0.0, 0.9, 3.0])
        x[0, :, t, knee, 0] = torch.tensor([0.0, 0.5, 3.0 + knee_z])
        x[0, :, t, ankle, 0] = torch.tensor([0.0, 0.1, 3.0])
        x[0, :, t, foot, 0] = torch.tensor([0.0, 0.05, 2.85])
    f = P.signed_flexion(x, K.knees[0])[0, :, 0]
    assert f[0] > 20 and f[1] < -20 and abs(float(f[0] + f[1])) < 1e-3


def test_docs_plausibility_rerun_table_is_the_benchmark_json(load_benchmark):
    """docs/attacks.md's re-run table is benchmarks/attack_plausibility.py's rendering of the final record."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    path = root / "benchmarks" / "results" / "attack_plausibility_final.json"
    if not path.is_file():
        pytest.skip("no benchmarks/results/attack_plausibility_final.json")
    bench = load_benchmark("attack_plausibility")
    doc = (root / "docs" / "attacks.md").read_text().splitlines()
    for row in bench.table(json.loads(path.read_text())).splitlines():
        assert row in doc, f"row missing from docs/attacks.md: {row}"
