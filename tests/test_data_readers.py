"""pyskl / mmaction2 annotation pickles and Kinetics-skeleton json, written here."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from ciasa.data.kinetics import read_kinetics_json
from ciasa.data.pyskl import read_pyskl


def _ann(name, label, m=2, t=6, v=25, c=3, seed=0, **extra):
    kp = np.random.default_rng(seed).normal(size=(m, t, v, c)).astype(np.float32)
    return {"frame_dir": name, "label": label, "keypoint": kp, "total_frames": t, **extra}


def _write(path, obj):
    path.write_bytes(pickle.dumps(obj))
    return path


def test_pyskl_3d_split_order_and_layout(tmp_path):
    anns = [_ann("S001C001P001R001A001", 0, seed=1), _ann("S001C001P003R001A002", 1, seed=2)]
    f = _write(
        tmp_path / "ntu.pkl",
        {"split": {"xsub_val": ["S001C001P003R001A002"], "xsub_train": ["S001C001P001R001A001"]}, "annotations": anns},
    )
    val = read_pyskl(f, "xsub_val")
    assert [a.name for a in val] == ["S001C001P003R001A002"] and val[0].label == 1
    assert val[0].clip.shape == (3, 6, 25, 2) and val[0].layout == "ntu-rgb+d"
    np.testing.assert_array_equal(val[0].clip, anns[1]["keypoint"].transpose(3, 1, 2, 0))
    assert len(read_pyskl(f)) == 2


def test_pyskl_2d_scores_become_a_channel(tmp_path):
    ann = _ann("clip", 3, m=1, v=18, c=2)
    ann["keypoint_score"] = np.full((1, 6, 18), 0.7, np.float32)
    (a,) = read_pyskl(_write(tmp_path / "k.pkl", {"split": {}, "annotations": [ann]}))
    assert a.clip.shape == (3, 6, 18, 1) and a.layout == "openpose"
    np.testing.assert_allclose(a.clip[2], 0.7)


@pytest.mark.parametrize(
    "obj, message",
    [
        ({"split": {"a": []}}, "expected a dict with 'annotations'"),
        ({"split": {"xsub_train": []}, "annotations": []}, "no split 'xsub_val' \\(has: xsub_train\\)"),
        ({"split": {"xsub_val": ["x"]}, "annotations": []}, "names 1 samples without an annotation"),
        ({"split": {"xsub_val": ["x"]}, "annotations": [_ann("x", 0, v=17)]}, "sample x: 17 joints per body"),
        (
            {"split": {"xsub_val": ["x"]}, "annotations": [_ann("x", 0, total_frames=9)]},
            "total_frames is 9 but keypoint holds 6",
        ),
        ({"split": {"xsub_val": ["x"]}, "annotations": [_ann("x", -1)]}, "label must be a non-negative integer"),
        ({"split": {"xsub_val": ["x"]}, "annotations": [_ann("x", 0, t=0)]}, "empty sequence"),
        ({"split": {"xsub_val": ["x"]}, "annotations": [{"frame_dir": "x", "label": 0}]}, "missing key 'keypoint'"),
    ],
)
def test_pyskl_bad_input(tmp_path, obj, message):
    f = _write(tmp_path / "bad.pkl", obj)
    with pytest.raises(ValueError, match=f"bad.pkl: .*{message}"):
        read_pyskl(f, "xsub_val")


def test_pyskl_nan_and_missing_and_garbage(tmp_path):
    ann = _ann("x", 0)
    ann["keypoint"][0, 1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="sample x: keypoints hold NaN"):
        read_pyskl(_write(tmp_path / "n.pkl", {"annotations": [ann]}))
    with pytest.raises(FileNotFoundError, match="nope.pkl: annotation file not found"):
        read_pyskl(tmp_path / "nope.pkl")
    (tmp_path / "g.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="g.pkl: not a readable annotation pickle"):
        read_pyskl(tmp_path / "g.pkl")


def _kinetics(frames):
    return {"data": frames, "label": "abseiling", "label_index": 0}


def _person(x, y, score):
    pose = []
    for _ in range(18):
        pose += [x, y]
    return {"pose": pose, "score": [score] * 18}


def test_kinetics_normalisation_and_sorting(tmp_path):
    frames = [
        {"frame_index": 1, "skeleton": [_person(0.2, 0.4, 0.3), _person(0.7, 0.9, 0.9)]},
        {"frame_index": 2, "skeleton": []},
        {"frame_index": 3, "skeleton": [_person(0.6, 0.6, 0.0)]},  # undetected joints
    ]
    f = tmp_path / "clip.json"
    f.write_text(json.dumps(_kinetics(frames)))
    clip, label = read_kinetics_json(f, max_frames=5)
    assert clip.shape == (3, 5, 18, 2) and clip.dtype == np.float32 and label == 0
    # frame 1: the higher-scoring person comes first; x, y shifted by -0.5
    np.testing.assert_allclose(clip[:, 0, 0, 0], [0.2, 0.4, 0.9], atol=1e-6)
    np.testing.assert_allclose(clip[:, 0, 0, 1], [-0.3, -0.1, 0.3], atol=1e-6)
    assert not clip[:, 1].any(), "a frame without persons stays zero"
    assert not clip[:, 2].any(), "zero-score joints are zeroed, not left at -0.5"
    assert not clip[:, 3:].any(), "padding to max_frames stays zero"
    clip, _ = read_kinetics_json(f, max_frames=None)
    assert clip.shape[1] == 3


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON"),
        (json.dumps({"label_index": 1}), "'data' list"),
        (json.dumps({"data": [], "label": "x"}), "'label_index' must be an integer"),
        (json.dumps(_kinetics([{"frame_index": 0, "skeleton": []}])), "frame_index 0"),
        (
            json.dumps(_kinetics([{"frame_index": 1, "skeleton": [{"pose": [0.1] * 34, "score": [1] * 17}]}])),
            "expected 36 pose values and 18 scores",
        ),
    ],
)
def test_kinetics_bad_input(tmp_path, content, message):
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(ValueError, match=f"bad.json: .*{message}"):
        read_kinetics_json(f)


def test_kinetics_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.json: Kinetics-skeleton file not found"):
        read_kinetics_json(tmp_path / "none.json")
