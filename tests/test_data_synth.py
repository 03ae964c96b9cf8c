"""The embedded synthetic data set: determinism, anatomy, geometry, splits, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ciasa.camera import Camera
from ciasa.data.ntu import NTU_ACTIONS, XSUB_TRAIN_SUBJECTS, parse_sample_name
from ciasa.data.stgcn import load_split
from ciasa.data.synth import SynthConfig, class_names, generate
from ciasa.data.synth.__main__ import main
from ciasa.data.synth.body import J, Pose, forward_kinematics, sample_body
from ciasa.data.synth.generate import perform
from ciasa.data.synth.motions import ACTIONS, two_bone_ik
from ciasa.skeleton import NTU_RGBD, bone_lengths

SMALL = SynthConfig(subjects=(1, 3, 4), frames=40)


@pytest.fixture(scope="module")
def small():
    return generate(SMALL)


def test_deterministic_and_seed_dependent(small):
    again = generate(SMALL)
    assert [s.name for s in again] == [s.name for s in small]
    for a, b in zip(small, again):
        np.testing.assert_array_equal(a.clip, b.clip)
    other = generate(SynthConfig(subjects=(1, 3, 4), frames=40, seed=1))
    assert not np.allclose(other[0].clip, small[0].clip)
    # a sample does not depend on which other samples are generated with it
    alone = generate(SynthConfig(subjects=(4,), frames=40))
    np.testing.assert_array_equal(alone[0].clip, next(s for s in small if s.name == alone[0].name).clip)


def test_classes_are_ntu_actions():
    names = class_names()
    assert len(names) >= 12 and len(set(names)) == len(names)
    ids = [a.ntu_id for a in ACTIONS]
    assert {1, 7, 8, 9, 10, 22, 23, 24, 27, 31, 35, 38} <= set(ids)
    assert names == [NTU_ACTIONS[i - 1] for i in ids]


def test_sample_names_encode_subject_camera_action(small):
    for s in small:
        parsed = parse_sample_name(s.name)
        assert parsed.performer == s.subject and parsed.camera == s.camera
        assert parsed.action == ACTIONS[s.label].ntu_id
    assert {s.camera for s in small} == {1, 2, 3}


def test_shapes_finite_and_no_padding(small):
    for s in small:
        assert s.clip.shape == (3, 40, 25, 1) and s.clip.dtype == np.float32
        assert np.isfinite(s.clip).all()
        assert np.abs(s.clip).sum(axis=(0, 2, 3)).min() > 0, "every frame is filled"


def test_bone_lengths_constant_within_a_sequence():
    # without jitter, exactly constant; with it, within the jitter
    clean = generate(SynthConfig(subjects=(2,), frames=48, jitter_m=0.0))
    for s in clean:
        bl = bone_lengths(s.clip[..., 0], NTU_RGBD)  # (T, bones)
        np.testing.assert_allclose(bl, np.broadcast_to(bl[0], bl.shape), atol=1e-5, err_msg=s.name)
    noisy = generate(SynthConfig(subjects=(2,), frames=48))
    for s in noisy:
        bl = bone_lengths(s.clip[..., 0], NTU_RGBD)
        assert bl.std(axis=0).max() < 0.045, s.name


def test_subject_keeps_its_body_and_stature_is_adult():
    a = perform(0, 5, 0, 1, 32)
    b = perform(0, 5, 3, 1, 32)
    la = bone_lengths(a.transpose(2, 0, 1), NTU_RGBD)[0]
    lb = bone_lengths(b.transpose(2, 0, 1), NTU_RGBD)[0]
    np.testing.assert_allclose(la, lb, atol=1e-9)
    statures = [sample_body(np.random.default_rng(i)).stature for i in range(200)]
    assert 1.55 <= min(statures) and max(statures) <= 1.90


def test_plausible_geometry(small):
    for s in small:
        x = s.clip[..., 0]
        root_z = x[2, :, J["spine_base"]]
        assert (root_z > 2.0).all() and (root_z < 5.0).all(), s.name
        head_y = x[1, :, J["head"]]
        feet_y = x[1][:, [J["left_foot"], J["right_foot"]]].max(axis=1)
        assert (head_y > feet_y + 0.5).all(), f"{s.name}: head must stay well above the feet"
    # standing at rest, the body is 1.4-1.9 m from head to feet and the floor is ~camera height below
    for s in small:
        x = s.clip[..., 0]
        height = x[1, 0, J["head"]] - x[1, 0, [J["left_foot"], J["right_foot"]]].min()
        if ACTIONS[s.label].ntu_id != 9:  # 'standing up' starts seated
            assert 1.2 < height < 1.85, s.name


def test_feet_on_the_floor_and_sitting_needs_a_seat():
    clean = generate(SynthConfig(subjects=(1,), frames=64, jitter_m=0.0, all_views=True))
    for s in clean:
        x = s.clip[..., 0]
        view = s.view
        # height above the floor plane the view reports (camera space: n . X = d)
        normal, offset = view.floor_plane()
        world_y = np.einsum("c,ctv->tv", np.asarray(normal), x) - offset
        lowest = world_y[:, [J["left_foot"], J["right_foot"]]].min(axis=1)
        assert lowest.min() > -0.03, f"{s.name}: a foot goes through the floor"
        if ACTIONS[s.label].ntu_id not in (26, 27):  # hopping / jumping leave the floor
            assert np.abs(lowest).max() < 0.03, f"{s.name}: supporting foot must touch the floor"
        if ACTIONS[s.label].ntu_id == 8:
            pelvis = world_y[:, J["spine_base"]]
            assert pelvis[-1] < pelvis[0] - 0.3, "sitting down lowers the hips onto a seat"
        if ACTIONS[s.label].ntu_id == 27:
            assert lowest.max() > 0.08, "jump up leaves the floor"


def test_left_right_follow_the_kinect_convention(small):
    cam = Camera.from_fov(640, 480)
    for s in small:
        x = s.clip[:, 0, :, 0].T  # (25, 3) first frame
        ls, rs = x[J["left_shoulder"]], x[J["right_shoulder"]]
        if s.camera == 1:  # facing the sensor: own left at smaller x, on the image's right
            assert ls[0] < rs[0], s.name
            assert cam.project(ls)[0] > cam.project(rs)[0], s.name
        if s.camera == 2:  # turned +45 deg to its own left: the right shoulder comes closer
            assert rs[2] < ls[2], s.name
        if s.camera == 3:
            assert ls[2] < rs[2], s.name


def test_motions_differ_in_gross_limb_motion():
    """Each class moves its limbs differently: mean joint trajectories (body frame) of two
    classes differ by more than the spread of re-extraction error (~5-10 cm)."""
    mean = []
    for label in range(len(ACTIONS)):
        perfs = np.stack([perform(0, s, label, 1, 48) for s in (1, 2, 3, 4)])
        perfs = perfs - perfs[:, :, :1]  # relative to the pelvis
        mean.append(perfs.mean(axis=0))
    for i in range(len(mean)):
        for j in range(i + 1, len(mean)):
            gap = np.linalg.norm(mean[i] - mean[j], axis=-1).max()
            assert gap > 0.15, f"{class_names()[i]} vs {class_names()[j]}: max mean joint gap {gap:.3f} m"


def test_two_bone_ik_reaches_and_keeps_lengths():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(50, 3)) * 0.2
    up, fo = two_bone_ik(target, np.array([0.0, -1.0, 0.0]), 0.3, 0.25)
    wrist = 0.3 * up + 0.25 * fo
    reachable = (np.linalg.norm(target, axis=1) < 0.54) & (np.linalg.norm(target, axis=1) > 0.06)
    np.testing.assert_allclose(wrist[reachable], target[reachable], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(up, axis=1), 1.0, atol=1e-9)


def test_forward_kinematics_rest_pose_is_upright():
    body = sample_body(np.random.default_rng(3))
    t = 3
    z = np.zeros(t)
    from ciasa.data.synth.body import TRUNK_ANGLES, limb_dir

    arm = (limb_dir(z, z, 1), limb_dir(z, z, 1), limb_dir(z, z, 1))
    leg = {"hip_flex": z, "hip_abd": z, "knee": z, "plantar": z, "foot_follow": z}
    pose = Pose(
        trunk={k: z for k in TRUNK_ANGLES},
        arm_dirs={1: arm, -1: arm},
        leg={1: leg, -1: leg},
        planted={1: np.ones(t, bool), -1: np.ones(t, bool)},
        airborne=z,
        root_shift=np.zeros((t, 3)),
    )
    x = forward_kinematics(body, pose)
    assert x[0, J["head"], 1] > 0.85 * body.stature
    assert x[0, J["left_shoulder"], 0] > 0 > x[0, J["right_shoulder"], 0]  # L axis = subject's left
    assert x[0, J["left_foot"], 2] > x[0, J["left_ankle"], 2]  # toes point forward
    assert 0.0 <= min(x[0, J["left_foot"], 1], x[0, J["right_foot"], 1]) < 0.03  # on the floor


def test_cli_writes_contract_layout(tmp_path):
    out = tmp_path / "synth"
    assert main(["--out", str(out), "--subjects", "1-6", "--frames", "32", "--bodies", "2", "--quiet"]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["fps"] == 30 and meta["frames"] == 32 and meta["bodies"] == 2 and meta["seed"] == 0
    assert [c["name"] for c in meta["classes"]] == class_names()
    assert meta["cameras"]["2"]["yaw_deg"] == 45.0
    views = json.loads((out / "views.json").read_text())
    assert len(views) == meta["samples"] and {"floor_normal", "floor_offset", "yaw_deg"} <= set(next(iter(views.values())))
    for bench in ("xsub", "xview"):
        train, val = load_split(out / bench, "train"), load_split(out / bench, "val")
        assert train.class_names == class_names()
        assert train.shape[1:] == (3, 32, 25, 2)
        assert not np.asarray(train.data[..., 1]).any(), "the second body slot stays zero"
        assert set(train.names).isdisjoint(val.names)
        assert meta["sizes"][bench] == {"train": len(train), "val": len(val)}
        for name in train.names:
            p = parse_sample_name(name)
            assert (p.performer in XSUB_TRAIN_SUBJECTS) if bench == "xsub" else (p.camera in (2, 3))
        for name in val.names:
            p = parse_sample_name(name)
            assert (p.performer not in XSUB_TRAIN_SUBJECTS) if bench == "xsub" else (p.camera == 1)


def test_cli_rejects_bad_options(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--frames", "4"]) == 2
    assert "--frames must be at least 16" in capsys.readouterr().err
    assert main(["--out", str(tmp_path), "--cameras", "1,7"]) == 2
    assert main(["--out", str(tmp_path), "--subjects", "x-y"]) == 2
    with pytest.raises(ValueError, match="split is empty"):
        main(["--out", str(tmp_path), "--subjects", "1,2", "--quiet"])  # both xsub training subjects


def test_plot_writes_figure(tmp_path):
    from ciasa.data.synth.__main__ import plot_dataset

    path = plot_dataset(tmp_path / "fig.png", SynthConfig(frames=32))
    assert path.stat().st_size > 10_000
