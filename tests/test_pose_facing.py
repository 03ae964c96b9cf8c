"""The facing decision: MediaPipe's mirrored readings are undone, true turns are kept, and the
two-state decoder (Viterbi + forward-backward confidence) is exact."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pose_extract.facing import (
    MIRROR_PERMUTATION,
    SequenceModel,
    back_view_frames,
    continuity_frames,
    decide_facing,
    decode,
    facing_angle,
    mirror,
    mirrored_heading,
    sequence_energies,
    sequence_frames,
)
from pose_extract.landmarks import BLAZEPOSE_LANDMARKS

I = {n: i for i, n in enumerate(BLAZEPOSE_LANDMARKS)}


def frontal_world() -> np.ndarray:
    """MediaPipe world landmarks (x right in the image, y down, z away) of a person facing
    the camera: their left side appears on the image's right (+x), the nose is nearer."""
    rng = np.random.default_rng(0)
    w = rng.normal(scale=0.02, size=(33, 3))
    for name, (x, y, z) in {
        "left_shoulder": (0.18, -0.45, 0.0),
        "right_shoulder": (-0.18, -0.45, 0.0),
        "left_hip": (0.1, 0.0, 0.0),
        "right_hip": (-0.1, 0.0, 0.0),
        "left_wrist": (0.25, -0.3, -0.3),
        "right_wrist": (-0.25, 0.0, 0.0),
        "nose": (0.0, -0.65, -0.1),
    }.items():
        w[I[name]] = (x, y, z)
    return w


def test_facing_angle_front_back_and_sides():
    w = frontal_world()
    assert abs(facing_angle(w[None])[0]) < 5
    back = w * [-1, 1, -1]  # the same body turned 180 degrees about the vertical
    assert abs(abs(facing_angle(back[None])[0]) - 180) < 5
    c, s = np.cos(np.radians(45)), np.sin(np.radians(45))
    turned = w @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]).T
    assert abs(abs(facing_angle(turned[None])[0]) - 45) < 5


def test_back_view_reading_is_mirrored_back():
    truth = frontal_world()
    # MediaPipe's back-view reading: same image positions, sides exchanged, depth mirrored
    reading = truth[MIRROR_PERMUTATION] * [1, 1, -1]
    world = np.stack([truth, reading])
    detected = np.array([True, True])
    frames = back_view_frames(world, detected, 90.0, method="turn")
    assert frames.tolist() == [False, True]
    image = world[..., :2] * 100 + 200
    vis = np.tile(np.linspace(0, 1, 33), (2, 1))
    image2, image_z2, world2, vis2 = mirror(frames, image, world[..., 2], world, vis)
    np.testing.assert_allclose(world2[1], truth, atol=1e-12)
    np.testing.assert_allclose(image2[1], image[0], atol=1e-12)
    np.testing.assert_allclose(vis2[1], vis[1][MIRROR_PERMUTATION])
    np.testing.assert_allclose(world2[0], world[0])  # untouched frame
    # mirroring twice is the identity; the prior can be switched off
    again = mirror(frames, image2, image_z2, world2, vis2)
    np.testing.assert_allclose(again[2], world)
    assert not back_view_frames(world, detected, None, method="turn").any()
    assert not back_view_frames(world, detected, method="off").any()


def test_mirror_permutation_exchanges_sides_only():
    for i, j in enumerate(MIRROR_PERMUTATION):
        a, b = BLAZEPOSE_LANDMARKS[i], BLAZEPOSE_LANDMARKS[j]
        assert a.replace("left", "right") == b or a.replace("right", "left") == b or a == b == "nose"


def turned(world: np.ndarray, deg: float) -> np.ndarray:
    """The body turned by ``deg`` about the vertical (positive: towards its own left)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return world @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]).T


def reading_of(world: np.ndarray) -> np.ndarray:
    """MediaPipe's mirrored reading of a pose: sides exchanged, depth negated."""
    return world[MIRROR_PERMUTATION] * [1, 1, -1]


def test_mirrored_heading_matches_the_mirrored_reading():
    w = np.stack([turned(frontal_world(), d) for d in (-150, -60, 0, 30, 120)])
    mirrored = np.stack([reading_of(x) for x in w])
    diff = (facing_angle(mirrored) - mirrored_heading(facing_angle(w)) + 180) % 360 - 180  # 180 == -180
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)


def test_a_true_turn_to_the_back_is_kept():
    """A person turning smoothly from facing the camera to showing their back (6 degrees a
    frame): read correctly, nothing is mirrored, although half the clip faces away;
    the per-frame rule would 'fix' every back view into a swap."""
    angles = np.linspace(0, 174, 30)
    world = np.stack([turned(frontal_world(), a) for a in angles])
    detected = np.ones(len(angles), dtype=bool)
    assert not back_view_frames(world, detected).any()
    assert back_view_frames(world, detected, 90.0, method="turn").sum() == (angles > 90).sum()


def test_flipped_readings_inside_a_clip_are_undone():
    """A person facing the camera (turning slowly from -20 to 20 degrees) whose reading
    MediaPipe flips for frames 10-17 and 25-26, and misses frames 5-6."""
    angles = np.linspace(-20, 20, 40)
    truth = [turned(frontal_world(), a) for a in angles]
    flipped = set(range(10, 18)) | {25, 26}
    world = np.stack([reading_of(w) if i in flipped else w for i, w in enumerate(truth)])
    detected = np.ones(len(angles), dtype=bool)
    detected[[5, 6]] = False
    world[~detected] = 0.0
    frames = back_view_frames(world, detected)
    assert np.flatnonzero(frames).tolist() == sorted(flipped)


def test_a_clip_read_from_behind_throughout():
    """No flip to go by. The earlier rule turned it to face the camera (its pull); the
    sequence model trusts MediaPipe's reading, which on renders of real and turned motion
    is right in such clips (true back views), and keeps it."""
    angles = np.linspace(-30, 30, 20)
    world = np.stack([reading_of(turned(frontal_world(), a)) for a in angles])
    detected = np.ones(len(angles), dtype=bool)
    assert back_view_frames(world, detected, method="continuity").all()
    assert not back_view_frames(world, detected).any()


def test_continuity_on_headings_and_bad_method():
    assert continuity_frames(np.array([])).shape == (0,)
    h = np.array([0.0, 5.0, 175.0, 172.0, 10.0, 12.0])  # frames 2-3 flipped readings
    assert continuity_frames(h).tolist() == [False, False, True, True, False, False]
    with pytest.raises(ValueError, match="sequence"):
        back_view_frames(np.zeros((2, 33, 3)), np.ones(2, dtype=bool), method="sideways")


# ----------------------------------------------------------------------------- the sequence model


def _brute_force(unary: np.ndarray, pairwise: np.ndarray, temperature: float) -> tuple[tuple, np.ndarray]:
    """Minimum-energy path and per-step marginals (of state 1) by enumerating every path."""
    n = len(unary)
    best, energies, paths = None, [], list(itertools.product((0, 1), repeat=n))
    for path in paths:
        e = sum(unary[t, s] for t, s in enumerate(path)) + sum(pairwise[t, path[t - 1], path[t]] for t in range(1, n))
        energies.append(e)
        if best is None or e < best[0]:
            best = (e, path)
    w = np.exp(-(np.array(energies) - min(energies)) / temperature)
    marg1 = np.array([sum(wi for wi, p in zip(w, paths) if p[t] == 1) for t in range(n)]) / w.sum()
    return best[1], marg1


def test_decoder_matches_enumeration():
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 8):
        unary = rng.uniform(0, 40, size=(n, 2))
        pairwise = rng.uniform(0, 60, size=(n, 2, 2))
        path, confidence = decode(unary, pairwise, temperature=12.0)
        best, marg1 = _brute_force(unary, pairwise, 12.0)
        assert tuple(path.tolist()) == best
        np.testing.assert_allclose(confidence, np.where(path == 1, marg1, 1 - marg1), rtol=1e-9, atol=1e-12)
    assert decode(np.zeros((0, 2)), np.zeros((0, 2, 2)), 1.0)[0].shape == (0,)
    assert np.isnan(decode(np.zeros((3, 2)), np.zeros((3, 2, 2)))[1]).all()  # no temperature, no confidence


def _turn(angles: np.ndarray, wrong: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe world landmarks of a body at ``angles`` (degrees), read mirrored in ``wrong``."""
    truth = [turned(frontal_world(), a) for a in angles]
    return np.stack([reading_of(w) if i in wrong else w for i, w in enumerate(truth)]), np.ones(len(angles), bool)


def test_a_true_turn_with_a_wrong_start_is_recovered():
    """A person turning from the camera to its back (-20 to 170 degrees over 60 frames, then
    held for 40) whose first 6 frames MediaPipe reads mirrored: the wrong start is undone,
    the turn and the back view are kept. The earlier rule (pull towards the camera) follows
    the turn into the mirror image at the side view and keeps the back view mirrored."""
    angles = np.concatenate([np.linspace(-20, 170, 60), np.full(40, 170.0)])
    world, detected = _turn(angles, set(range(6)))
    decision = decide_facing(world, detected)
    assert np.flatnonzero(decision.mirrored).tolist() == list(range(6))
    assert decision.confidence.min() > 0.5 and np.isfinite(decision.confidence).all()
    old = back_view_frames(world, detected, method="continuity")
    assert old[60:].all(), "the earlier rule's failure on real turns (docs/pose_extract.md)"


@pytest.mark.parametrize("deg_per_frame", [6.0, 25.0])
def test_smooth_turns_are_not_penalised_into_flips(deg_per_frame):
    """Two full turns, read correctly, at a slow turn and at a pirouette's speed (25 degrees
    a frame at 30 fps): nothing is mirrored, and no frame is left in doubt."""
    angles = np.arange(0.0, 720.0, deg_per_frame)
    world, detected = _turn(angles, set())
    decision = decide_facing(world, detected)
    assert not decision.mirrored.any()
    assert decision.confidence.min() > 0.8 and np.median(decision.confidence) > 0.9


def test_side_view_is_undecidable_and_says_so():
    """At a side view both readings have the same heading: nothing in the headings tells
    them apart except the trust in MediaPipe's reading, so the confidence drops towards a
    coin toss there and is high away from it."""
    h = np.concatenate([np.full(10, 0.0), np.full(10, 90.0), np.full(10, 180.0)])
    mirrored, confidence = sequence_frames(h, SequenceModel(mirror_cost=1.0, temperature=30.0))
    assert not mirrored.any()
    assert confidence[12:18].max() < confidence[:5].min()


def test_energies_follow_the_model():
    h = np.array([10.0, 170.0])
    model = SequenceModel(switch_cost=30.0, mirror_cost=8.0, facing_weight=0.0, max_speed=100.0, excess_weight=2.0)
    unary, pairwise = sequence_energies(h, model)
    np.testing.assert_allclose(unary, [[0, 8], [0, 8]])
    # as read -> as read: 160 degrees, 60 of them beyond the speed limit (x 2 more);
    # as read (10) -> mirrored (180 - 170 = 10): no change, one switch
    np.testing.assert_allclose(pairwise[1], [[160 + 2 * 60, 30], [30, 160 + 2 * 60]])
    pulled = sequence_energies(np.array([0.0, 90.0]), SequenceModel(mirror_cost=0.0, facing_weight=2.0))[0]
    np.testing.assert_allclose(pulled, [[0, 2], [1, 1]], atol=1e-12)  # 2 (1 - cos h) / 2


def test_the_earlier_rule_is_unchanged():
    """'continuity' stays the rule it was (linear heading cost, switch 30, pull 2, no trust),
    whatever the sequence model's defaults: the benchmark compares against it."""
    h = np.array([49.0, -83.0, -165.0, -174.0, 113.0, 149.0])  # a case where a speed penalty changes the path
    linear = decode(*sequence_energies(h, SequenceModel(30.0, 0.0, 2.0, 1.0, 45.0, 0.0)))[0].astype(bool)
    penalised = decode(*sequence_energies(h, SequenceModel(30.0, 0.0, 2.0, 1.0, 45.0, 3.0)))[0].astype(bool)
    assert linear.tolist() != penalised.tolist()
    assert continuity_frames(h).tolist() == linear.tolist()
    world, detected = _turn(np.array([0.0, 30.0, 60.0, 100.0, 140.0]), {2})
    expected = continuity_frames(facing_angle(world))
    assert decide_facing(world, detected, "continuity").mirrored.tolist() == expected.tolist()
