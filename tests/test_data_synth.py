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
from ciasa.data.synth.generate import FORMAT, perform
from ciasa.data.synth.motions import ACTIONS, FINE_ACTIONS, select_actions, two_bone_ik
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


GROSS_IDS = [1, 6, 7, 8, 9, 10, 22, 23, 24, 26, 27, 31, 35, 38]
FINE_IDS = [2, 3, 4, 11, 12, 28, 33, 34, 37, 39, 40, 41, 44, 45, 47, 49]


def test_classes_are_ntu_actions():
    names = class_names()
    assert len(names) == 30 and len(set(names)) == len(names)
    ids = [a.ntu_id for a in ACTIONS]
    # the format-1 classes keep labels 0-13; the fine-grained ones follow in A-number order
    assert ids == GROSS_IDS + FINE_IDS
    assert names == [NTU_ACTIONS[i - 1] for i in ids]
    assert FORMAT == "ciasa-synth/2"


def test_action_subsets_and_their_labels():
    assert SynthConfig().action_list == ACTIONS
    assert [a.ntu_id for a in SynthConfig(actions="gross").action_list] == GROSS_IDS
    assert [a.ntu_id for a in SynthConfig(actions="fine").action_list] == FINE_IDS
    # a comma list keeps the ACTIONS order, whatever order it is written in
    assert [a.ntu_id for a in select_actions("28, A003,1")] == [1, 3, 28]
    for bad in ("5", "1,x", "60", ","):
        with pytest.raises(ValueError, match="actions|action list"):
            SynthConfig(actions=bad)
    samples = generate(SynthConfig(subjects=(1, 3), frames=32, actions="28,3,1", all_views=True))
    assert {s.label for s in samples} == {0, 1, 2}
    for s in samples:
        assert parse_sample_name(s.name).action == (1, 3, 28)[s.label]
    # a class looks the same in every subset (its draws depend on its A-number, not its label)
    full = {s.name: s.clip for s in generate(SynthConfig(subjects=(3,), frames=32, all_views=True))}
    for s in samples:
        if s.subject == 3:
            np.testing.assert_array_equal(s.clip, full[s.name])


def _mid(action_id: int, subject: int, frames: int = 64) -> tuple[np.ndarray, slice]:
    """A clean performance (T, 25, 3) in the body frame (L, U, F) and its held middle part."""
    label = [a.ntu_id for a in ACTIONS].index(action_id)
    x = perform(0, subject, label, 1, frames)
    return x, slice(int(0.45 * frames), int(0.55 * frames))  # inside every hold, whatever the timing


def test_fine_actions_put_the_hand_where_the_name_says():
    for subject in range(1, 9):
        x, mid = _mid(28, subject)  # phone call: right hand at the right ear, wrist just below
        head, hand, wrist = x[mid, J["head"]], x[mid, J["right_hand"]], x[mid, J["right_wrist"]]
        assert (hand[:, 0] < head[:, 0] - 0.07).all(), "the phone is on the right side of the head"
        assert (np.abs(hand[:, 1] - head[:, 1]) < 0.07).all() and (np.abs(hand[:, 2] - head[:, 2]) < 0.07).all()
        ear = head + np.array([-0.085, -0.03, 0.0])  # about where the right ear is, ignoring the head's tilt
        assert (np.linalg.norm(wrist - ear, axis=-1) < 0.135).all(), "the wrist ends near the ear"
        assert (wrist[:, 1] < hand[:, 1]).all(), "fingers up: the wrist is below the hand"

        x, mid = _mid(47, subject)  # neck pain: the hand behind the neck
        assert (x[mid, J["right_hand"], 2] < x[mid, J["neck"], 2] - 0.03).all()
        assert (np.linalg.norm(x[mid, J["right_hand"]] - x[mid, J["neck"]], axis=-1) < 0.16).all()

        x, mid = _mid(4, subject)  # brushing hair: the hand over the head at some point
        assert (x[:, J["right_hand"], 1] > x[:, J["head"], 1] + 0.08).any()

        x, mid = _mid(33, subject)  # check time: the left forearm horizontal in front, head bowed
        elbow, wrist = x[mid, J["left_elbow"]], x[mid, J["left_wrist"]]
        assert (np.abs(elbow[:, 1] - wrist[:, 1]) < 0.1).all() and (
            wrist[:, 2] > x[mid, J["spine_shoulder"], 2] + 0.2
        ).all()
        assert (x[mid, J["head"], 2] > x[mid, J["neck"], 2] + 0.03).all(), "the head looks down at the watch"

        x, mid = _mid(40, subject)  # cross hands: each wrist on the other side of the midline
        # measured along the shoulder line, which a class-typical trunk twist turns
        across = x[mid, J["left_shoulder"]] - x[mid, J["right_shoulder"]]
        across /= np.linalg.norm(across, axis=-1, keepdims=True)
        centre = x[mid, J["spine_shoulder"]]
        side = lambda joint: np.sum((x[mid, J[joint]] - centre) * across, axis=-1)  # noqa: E731
        assert (side("right_wrist") > 0).all() and (side("left_wrist") < 0).all()


def test_brushing_teeth_scrubs_fast_at_the_mouth():
    for subject in (1, 2, 3):
        x, _ = _mid(3, subject, frames=160)
        hold = slice(72, 96)
        rel = x[hold, J["right_hand"]] - x[hold, J["head"]]
        assert (np.linalg.norm(rel, axis=-1) < 0.22).all() and (rel[:, 1] < 0).all(), "the hand at the mouth"
        lateral = rel[:, 0] - np.polyval(np.polyfit(np.arange(len(rel)), rel[:, 0], 2), np.arange(len(rel)))
        spectrum = np.abs(np.fft.rfft(lateral * np.hanning(len(lateral)), n=256))
        freq = np.fft.rfftfreq(256, 1 / 30.0)
        assert 2.5 <= freq[spectrum.argmax()] <= 4.5, "a 3-4 Hz side-to-side scrub"
        assert lateral.std() > 0.008
    # drinking holds the hand still at the mouth: no such oscillation
    x, _ = _mid(1, 1, frames=160)
    rel = x[72:96, J["right_hand"], 0] - x[72:96, J["head"], 0]
    assert np.abs(np.diff(rel, 2)).mean() < np.abs(np.diff(lateral, 2)).mean() / 3


def test_fine_actions_keep_hands_out_of_the_head_and_torso():
    hands = [J[f"{s}_{j}"] for s in ("left", "right") for j in ("wrist", "hand", "hand_tip", "thumb")]
    for action in FINE_ACTIONS:
        label = ACTIONS.index(action)
        for subject in range(1, 7):
            x = perform(0, subject, label, 1, 48)
            head = np.linalg.norm(x[:, hands] - x[:, None, J["head"]], axis=-1)
            neck = np.linalg.norm(x[:, hands] - x[:, None, J["neck"]], axis=-1)
            chest = np.linalg.norm(x[:, hands] - x[:, None, J["spine_mid"]], axis=-1)
            name = NTU_ACTIONS[action.ntu_id - 1]
            assert head.min() > 0.085, f"{name}: a hand inside the head ({head.min():.3f} m from its centre)"
            assert neck.min() > 0.05, f"{name}: a hand inside the neck ({neck.min():.3f} m)"
            assert chest.min() > 0.09, f"{name}: a hand inside the chest ({chest.min():.3f} m)"


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
            assert 1.2 < height < 1.9, s.name  # statures up to 1.90 m, the head joint below the top


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


def test_mean_motions_differ():
    """Each class moves its limbs differently: mean joint trajectories (body frame) of two
    classes differ somewhere by more than the spread of re-extraction error (~5-10 cm);
    the fine-grained classes differ mostly in where and how the hands go, not in this."""
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
    assert meta["format"] == "ciasa-synth/2" and meta["actions"] == "all" and len(meta["classes"]) == 30
    assert meta["cameras"]["2"]["yaw_deg"] == 45.0
    views = json.loads((out / "views.json").read_text())
    assert len(views) == meta["samples"] and {"floor_normal", "floor_offset", "yaw_deg"} <= set(
        next(iter(views.values()))
    )
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


def test_cli_actions_subset(tmp_path):
    out = tmp_path / "fine"
    assert main(["--out", str(out), "--subjects", "1-4", "--frames", "20", "--actions", "fine", "--quiet"]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["actions"] == "fine"
    assert [c["ntu_action"] for c in meta["classes"]] == [f"A{i:03d}" for i in FINE_IDS]
    assert [c["label"] for c in meta["classes"]] == list(range(16))
    names = json.loads((out / "xsub" / "classes.json").read_text())
    assert names == [NTU_ACTIONS[i - 1] for i in FINE_IDS]
    train = load_split(out / "xsub", "train")
    assert set(np.asarray(train.labels).tolist()) == set(range(16))
    for name, label in zip(train.names, train.labels):
        assert parse_sample_name(name).action == FINE_IDS[label]


def test_cli_rejects_bad_options(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--frames", "4"]) == 2
    assert "--frames must be at least 16" in capsys.readouterr().err
    assert main(["--out", str(tmp_path), "--cameras", "1,7"]) == 2
    assert main(["--out", str(tmp_path), "--subjects", "x-y"]) == 2
    assert main(["--out", str(tmp_path), "--actions", "1,5"]) == 2
    assert "--actions" in capsys.readouterr().err
    capsys.readouterr()
    out = tmp_path / "empty-split"
    # both xsub training subjects: bad input, exit 2 with the message (it was a traceback)
    assert main(["--out", str(out), "--subjects", "1,2", "--quiet"]) == 2
    assert "split is empty" in capsys.readouterr().err
    assert not list(out.rglob("*_label.pkl"))  # no split marked complete


def test_plot_writes_figure(tmp_path):
    from ciasa.data.synth.__main__ import plot_dataset

    path = plot_dataset(tmp_path / "fig.png", SynthConfig(frames=32))
    assert path.stat().st_size > 10_000


def _bone_lengths_tv(joints: np.ndarray) -> np.ndarray:
    """(T, bones) lengths of a (T, 25, 3) performance."""
    child = [j for j, p in enumerate(NTU_RGBD.parents) if p >= 0]
    parent = [NTU_RGBD.parents[j] for j in child]
    return np.linalg.norm(joints[:, child] - joints[:, parent], axis=-1)


def test_posture_cues_are_small_class_typical_and_switchable():
    from ciasa.data.synth.posture import class_signature

    # a class's signature is fixed by seed and A-number, and differs between classes
    assert class_signature(0, 1) == class_signature(0, 1)
    assert class_signature(0, 1) != class_signature(0, 28)
    assert class_signature(0, 1) != class_signature(1, 1)
    drinking = ACTIONS[0]
    plain = perform(0, 3, drinking, 1, 64, posture_cues=False)
    cued = perform(0, 3, drinking, 1, 64, posture_cues=True)
    shift = np.linalg.norm(cued - plain, axis=-1)  # (T, V) metres
    # the cue moves the trunk and the legs by centimetres, never by a limb's length
    trunk_and_knees = shift[:, [J["spine_mid"], J["neck"], J["left_knee"], J["right_knee"]]]
    assert 0.003 < trunk_and_knees.max() < 0.12
    np.testing.assert_allclose(_bone_lengths_tv(cued), _bone_lengths_tv(plain), atol=1e-9)


def test_posture_cues_can_be_turned_off(tmp_path):
    on = generate(SynthConfig(subjects=(1, 3), frames=32, actions="1"))
    off = generate(SynthConfig(subjects=(1, 3), frames=32, actions="1", posture_cues=False))
    assert [s.name for s in on] == [s.name for s in off]
    assert not np.allclose(on[0].clip, off[0].clip)
    code = main(
        [
            "--out",
            str(tmp_path),
            "--subjects",
            "1,3",
            "--frames",
            "32",
            "--actions",
            "1",
            "--no-posture-cues",
            "--quiet",
        ]
    )
    assert code == 0
    assert json.loads((tmp_path / "meta.json").read_text())["posture_cues"] is False


def test_body_rotations_by_hand():
    """pitch leans U towards F, yaw turns F towards L, roll lifts L towards U (right-handed, degrees);
    a trunk segment turns by yaw, then pitch, then roll about the turned axes."""
    from ciasa.data.synth.body import pitch, roll, trunk_rotation, yaw

    e_l, e_u, e_f = np.eye(3)
    np.testing.assert_allclose(pitch(np.array([90.0]))[0] @ e_u, e_f, atol=1e-12)
    np.testing.assert_allclose(yaw(np.array([90.0]))[0] @ e_f, e_l, atol=1e-12)
    np.testing.assert_allclose(roll(np.array([90.0]))[0] @ e_l, e_u, atol=1e-12)
    c, s = np.cos(np.radians(30.0)), np.sin(np.radians(30.0))
    np.testing.assert_allclose(pitch(30.0), [[1, 0, 0], [0, c, -s], [0, s, c]], atol=1e-12)  # one angle: one matrix
    assert yaw(np.zeros((4, 5))).shape == (4, 5, 3, 3)
    rng = np.random.default_rng(0)
    tr = {f"neck_{a}": rng.uniform(-60, 60, 7) for a in ("yaw", "pitch", "roll")}
    by_hand = yaw(tr["neck_yaw"]) @ pitch(tr["neck_pitch"]) @ roll(tr["neck_roll"])
    np.testing.assert_allclose(trunk_rotation(tr, "neck"), by_hand, atol=1e-12)
