"""Clip selection: count + seed, explicit list, class filter, shards, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

from ciasa.cli import read_name_list
from ciasa.data.stgcn import save_split
from pipeline.select import SelectionError, main, parse_shard, select_clips

NAMES = [f"S001C001P{p:03d}R001A{a:03d}" for p in range(1, 11) for a in (1, 6, 27)]
LABELS = [i % 3 for i in range(len(NAMES))]
CLASSES = ["drink water", "pickup", "jump up"]


def test_count_and_seed_are_deterministic_and_sorted():
    a = select_clips(NAMES, LABELS, count=7, seed=1)
    assert a == select_clips(NAMES, LABELS, count=7, seed=1)
    assert a != select_clips(NAMES, LABELS, count=7, seed=2)
    assert len(a) == 7 and a == sorted(a) and set(a) <= set(NAMES)
    assert select_clips(NAMES, LABELS, count=0) == sorted(NAMES)
    assert select_clips(NAMES, LABELS, count=999) == sorted(NAMES)


def test_shards_are_disjoint_and_cover_the_selection():
    full = select_clips(NAMES, LABELS, count=12, seed=0)
    shards = [select_clips(NAMES, LABELS, count=12, seed=0, shard=f"{i}/4") for i in range(1, 5)]
    assert sorted(sum(shards, [])) == full
    assert all(len(s) == 3 for s in shards)
    assert not set(shards[0]) & set(shards[1])


@pytest.mark.parametrize("bad", ["0/4", "5/4", "1/0", "a/b", "1-4"])
def test_bad_shards_fail_clearly(bad):
    with pytest.raises(SelectionError, match="shard"):
        parse_shard(bad)


def test_explicit_names_and_missing_names():
    picked = select_clips(NAMES, LABELS, explicit=[NAMES[5], NAMES[2]], count=1)
    assert picked == sorted([NAMES[5], NAMES[2]])  # an explicit list ignores the count
    with pytest.raises(SelectionError, match="not in the data: S009C009P009R009A009"):
        select_clips(NAMES, LABELS, explicit=[NAMES[0], "S009C009P009R009A009"], source="the data")


def test_class_filter_by_index_name_and_action_code():
    by_index = select_clips(NAMES, LABELS, classes=[2])
    by_name = select_clips(NAMES, LABELS, classes=["jump up"], class_names=CLASSES)
    by_code = select_clips(NAMES, LABELS, classes=["A027"], class_names=CLASSES)
    assert by_index == by_name == by_code
    assert all(n.endswith("A027") for n in by_index) and len(by_index) == 10
    with pytest.raises(SelectionError, match="not one of the data set's classes"):
        select_clips(NAMES, LABELS, classes=["A010"], class_names=CLASSES)
    with pytest.raises(SelectionError, match="neither"):
        select_clips(NAMES, LABELS, classes=["dancing"], class_names=CLASSES)


def test_cli_writes_the_list_and_rejects_unknown_clips(tmp_path, capsys):
    data = np.random.default_rng(0).normal(size=(len(NAMES), 3, 4, 25, 1)).astype(np.float32)
    save_split(tmp_path / "d", "val", data, NAMES, LABELS, class_names=CLASSES)
    out = tmp_path / "clips.txt"
    assert (
        main(["--data", str(tmp_path / "d"), "--count", "4", "--seed", "0", "--shard", "2/2", "--out", str(out)]) == 0
    )
    assert read_name_list(out) == select_clips(NAMES, LABELS, count=4, seed=0, shard="2/2")
    rc = main(["--data", str(tmp_path / "d"), "--names", "S001C001P001R001A099", "--out", str(out)])
    assert rc == 2
    assert "S001C001P001R001A099" in capsys.readouterr().err


def test_fitted_performances_leave_the_draw_and_named_ones_are_refused():
    """A clip whose performance (any camera of it) a fitted artefact saw is not drawn, whatever
    the seed, and naming one is an error that names the artefact (pipeline.fit_check)."""
    seen = {
        "S001P002R001A001": "err.json (fit sample S001C002P002R001A001)",
        "S001P003R001A006": "err.json (fit sample S001C003P003R001A006)",
    }
    banned = {"S001C001P002R001A001", "S001C001P003R001A006"}
    for seed in range(10):
        drawn = select_clips(NAMES, LABELS, count=20, seed=seed, exclude=seen)
        assert len(drawn) == 20 and not set(drawn) & banned
    assert select_clips(NAMES, LABELS, count=0, exclude=seen) == sorted(set(NAMES) - banned)
    assert select_clips(NAMES, LABELS, count=0, exclude={}) == sorted(NAMES)
    with pytest.raises(SelectionError, match="S001C001P002R001A001: err.json \\(fit sample S001C002P002R001A001\\)"):
        select_clips(NAMES, LABELS, explicit=["S001C001P002R001A001"], exclude=seen)


def test_cli_leaves_out_what_an_artefact_was_fitted_on(tmp_path, capsys):
    import json

    data = np.random.default_rng(0).normal(size=(len(NAMES), 3, 4, 25, 1)).astype(np.float32)
    save_split(tmp_path / "d", "val", data, NAMES, LABELS, class_names=CLASSES)
    artefact = tmp_path / "err.json"
    artefact.write_text(json.dumps({"fit_samples": ["S001C002P002R001A001"], "fit_split": "xview/train"}))
    out = tmp_path / "clips.txt"
    args = ["--data", str(tmp_path / "d"), "--exclude-fit-of", str(artefact), "--out", str(out)]
    assert main(args) == 0
    assert read_name_list(out) == sorted(set(NAMES) - {"S001C001P002R001A001"})
    assert main([*args, "--names", "S001C001P002R001A001"]) == 2
    assert "err.json" in capsys.readouterr().err
    bare = tmp_path / "bare.json"
    bare.write_text("{}")
    out.unlink()
    assert main(["--data", str(tmp_path / "d"), "--exclude-fit-of", str(bare), "--out", str(out)]) == 2
    assert "bare.json: no 'fit_samples'" in capsys.readouterr().err and not out.exists()
