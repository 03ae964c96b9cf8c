"""ST-GCN layout on disk and NTU naming: round trips and every kind of bad input."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from ciasa.data.ntu import (
    NTU_ACTIONS,
    XSUB_TRAIN_SUBJECTS,
    XVIEW_TRAIN_CAMERAS,
    default_class_names,
    format_sample_name,
    in_training_set,
    parse_sample_name,
)
from ciasa.data.stgcn import load_split, save_split, validate_skeletons
from ciasa.skeleton import OPENPOSE_18


def _clips(n=3, t=8, v=25, m=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 3, t, v, m)).astype(np.float32)


def test_ntu_names_and_splits():
    assert len(NTU_ACTIONS) == 120
    assert NTU_ACTIONS[0] == "drink water" and NTU_ACTIONS[6] == "throw" and NTU_ACTIONS[37] == "salute"
    assert NTU_ACTIONS[59] == "walking apart from each other"
    s = parse_sample_name("/raw/S017C003P020R002A060.skeleton")
    assert (s.setup, s.camera, s.performer, s.replication, s.action, s.label) == (17, 3, 20, 2, 60, 59)
    assert str(s) == "S017C003P020R002A060" == format_sample_name(17, 3, 20, 2, 60)
    assert len(XSUB_TRAIN_SUBJECTS) == 20 and XVIEW_TRAIN_CAMERAS == (2, 3)
    assert in_training_set("S001C001P001R001A001", "xsub") and not in_training_set("S001C001P003R001A001", "xsub")
    assert in_training_set("S001C002P003R001A001", "xview") and not in_training_set(
        s.__str__().replace("C003", "C001"), "xview"
    )
    assert in_training_set("S002C001P045R001A070", "xsub120") and not in_training_set("S002C001P045R001A070", "xsub")
    assert in_training_set("S002C001P003R001A070", "xset") and not in_training_set("S003C001P001R001A070", "xset")
    with pytest.raises(ValueError, match="unknown NTU benchmark"):
        in_training_set("S002C001P003R001A070", "xsetup")
    with pytest.raises(ValueError, match="not an NTU sample name"):
        parse_sample_name("clip_0001")
    assert default_class_names(60) == list(NTU_ACTIONS[:60]) and default_class_names(7)[3] == "class_3"


def test_round_trip_memmap_and_classes(tmp_path):
    x = _clips()
    save_split(tmp_path, "train", x, ["a", "b", "c"], [2, 0, 1], ["x", "y", "z"])
    s = load_split(tmp_path, "train")
    assert isinstance(s.data, np.memmap) and s.data.dtype == np.float32
    np.testing.assert_array_equal(s.data, x)
    assert s.names == ["a", "b", "c"] and s.labels.tolist() == [2, 0, 1] and s.labels.dtype == np.int64
    assert s.class_names == ["x", "y", "z"] and len(s) == 3
    # the label file is the official pair format
    names, labels = pickle.loads((tmp_path / "train_label.pkl").read_bytes())
    assert names == ["a", "b", "c"] and labels == [2, 0, 1]
    assert not isinstance(load_split(tmp_path, "train", mmap=False).data, np.memmap)


def test_default_class_names_without_classes_json(tmp_path):
    save_split(tmp_path, "val", _clips(2), ["a", "b"], [0, 59])
    assert load_split(tmp_path, "val").class_names == list(NTU_ACTIONS[:60])
    save_split(tmp_path / "k", "val", _clips(2), ["a", "b"], [0, 4])
    assert load_split(tmp_path / "k", "val").class_names == [f"class_{k}" for k in range(5)]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda x: x[:, :, :, :24], "24 joints"),
        (lambda x: x[0, 0], "dimensions"),
        (lambda x: x[:, :2], "coordinate channels"),
        (lambda x: x[:, :, :0], "T = 0"),
        (lambda x: np.where(np.arange(3)[:, None, None, None, None] == 1, np.nan, x), "sample 1 .* NaN"),
        (lambda x: np.where(np.arange(3)[:, None, None, None, None] == 2, np.inf, x), "sample 2 .* inf"),
        (lambda x: x * (np.arange(3) != 0)[:, None, None, None, None], "sample 0 .* empty"),
    ],
)
def test_validate_rejects_bad_arrays(mutate, message):
    with pytest.raises(ValueError, match=f"clips.npy: .*{message}"):
        validate_skeletons(mutate(_clips()).astype(np.float32), "ntu-rgb+d", "clips.npy")


def test_validate_labels_and_names():
    x = _clips()
    with pytest.raises(ValueError, match="f.npy: 2 labels for 3 samples"):
        validate_skeletons(x, "ntu-rgb+d", "f.npy", labels=[0, 1])
    with pytest.raises(ValueError, match="labels must be integers"):
        validate_skeletons(x, "ntu-rgb+d", "f.npy", labels=[0.5, 1, 2])
    with pytest.raises(ValueError, match="2 sample names for 3"):
        validate_skeletons(x, "ntu-rgb+d", "f.npy", names=["a", "b"])
    validate_skeletons(np.ones((1, 3, 4, 18, 2), np.float32), OPENPOSE_18, "k.npy")


def test_load_split_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="data directory not found"):
        load_split(tmp_path / "nope", "train")
    with pytest.raises(FileNotFoundError, match="train_data.npy: data file not found"):
        load_split(tmp_path, "train")
    np.save(tmp_path / "train_data.npy", _clips())
    with pytest.raises(FileNotFoundError, match="train_label.pkl: label file not found"):
        load_split(tmp_path, "train")
    (tmp_path / "train_label.pkl").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="train_label.pkl: not a readable label pickle"):
        load_split(tmp_path, "train")
    (tmp_path / "train_label.pkl").write_bytes(pickle.dumps((["a", "b"], [0, 1])))
    with pytest.raises(ValueError, match="train_label.pkl: 2 samples listed but train_data.npy holds 3"):
        load_split(tmp_path, "train")
    (tmp_path / "train_label.pkl").write_bytes(pickle.dumps((["a", "b", "c"], [0, 1, 2])))
    (tmp_path / "classes.json").write_text(json.dumps(["only", "two"]))
    with pytest.raises(ValueError, match="classes.json: 2 class names"):
        load_split(tmp_path, "train")
    (tmp_path / "train_data.npy").write_bytes(b"\x93NUMPY broken")
    with pytest.raises(ValueError, match="train_data.npy: not a readable .npy"):
        load_split(tmp_path, "train")


def test_save_split_refuses_bad_input_and_leaves_nothing(tmp_path):
    x = _clips()
    x[1, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        save_split(tmp_path, "train", x, ["a", "b", "c"], [0, 1, 2])
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="has no class name"):
        save_split(tmp_path, "train", _clips(), ["a", "b", "c"], [0, 1, 5], ["p", "q"])


def test_load_split_errors_name_the_right_file_and_problem(tmp_path):
    import pickle

    from ciasa.data.stgcn import load_split

    d = tmp_path / "set"
    d.mkdir()
    # a single clip (C, T, V, M) saved as a split: not "40 coordinate channels"
    np.save(d / "val_data.npy", np.ones((40, 3, 24, 25), np.float32))
    with (d / "val_label.pkl").open("wb") as f:
        pickle.dump(([f"s{i}" for i in range(40)], [0] * 40), f)
    with pytest.raises(ValueError, match=r"val_data\.npy: expected \(N, C, T, V, M\).*4 dimensions.*one clip"):
        load_split(d, "val")
    # a label file shorter than the data names the label file
    np.save(d / "val_data.npy", np.ones((12, 3, 24, 25, 1), np.float32))
    with (d / "val_label.pkl").open("wb") as f:
        pickle.dump((["a", "b"], [0, 1]), f)
    with pytest.raises(ValueError, match=r"val_label\.pkl: 2 samples listed but val_data\.npy holds 12"):
        load_split(d, "val")


@pytest.mark.parametrize(
    "shape, dtype, message",
    [
        ((2, 2, 4, 25, 1), np.float32, "2 coordinate channels"),
        ((2, 3, 4, 24, 1), np.float32, "24 joints on axis V"),
        ((2, 3, 0, 25, 1), np.float32, "T = 0"),
        ((2, 3, 4, 25, 0), np.float32, "M = 0"),
        ((0, 3, 4, 25, 1), np.float32, "N = 0"),
        ((2, 3, 4, 25, 1), np.int64, "floating point"),
    ],
)
def test_the_attacks_input_check_applies_the_data_formats_rules(shape, dtype, message):
    """One set of shape rules: a file the data loader refuses, the attacks refuse as a batch."""
    import torch

    from ciasa.attacks.base import check_batch
    from ciasa.cli import BadInput
    from ciasa.skeleton import NTU_RGBD

    array = np.ones(shape, dtype)
    with pytest.raises(BadInput, match=f"a.npy: .*{message}"):
        validate_skeletons(array, NTU_RGBD, "a.npy")
    with pytest.raises(BadInput, match=f"input batch: .*{message}"):
        check_batch(torch.from_numpy(array), NTU_RGBD)
