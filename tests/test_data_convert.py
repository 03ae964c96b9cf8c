"""Converter CLI: raw NTU folders, pyskl pickles and Kinetics json to the ST-GCN layout."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from ciasa.data.convert import main
from ciasa.data.ntu import NTU_ACTIONS
from ciasa.data.stgcn import load_split
from tests.test_data_ntu_raw import _pose, write_skeleton

# (performer, camera, action): performers 1, 2 train xsub; 3 is a test subject; cameras 2, 3 train xview
SAMPLES = [(1, 1, 1), (1, 2, 2), (2, 3, 3), (3, 1, 4), (3, 2, 5), (3, 3, 60)]


def _raw(tmp_path, frames=6):
    raw = tmp_path / "raw"
    raw.mkdir()
    for p, c, a in SAMPLES:
        name = f"S001C{c:03d}P{p:03d}R001A{a:03d}"
        write_skeleton(raw / f"{name}.skeleton", [[("7", _pose(0.1 * a, t, 0.1))] for t in range(frames)])
    return raw


def test_ntu_folder_to_xsub_xview(tmp_path):
    raw = _raw(tmp_path)
    write_skeleton(raw / "S001C001P003R002A007.skeleton", [[] for _ in range(4)])  # no body at all
    write_skeleton(raw / "S001C001P001R002A008.skeleton", [[] for _ in range(4)])  # on the ignore list
    ignore = tmp_path / "missing.txt"
    ignore.write_text("# official list\nS001C001P001R002A008\n")
    out = tmp_path / "ntu"
    rc = main(
        ["ntu", "--raw", str(raw), "--out", str(out), "--ignore-list", str(ignore), "--max-frames", "10", "--quiet"]
    )
    assert rc == 0
    xsub_train, xsub_val = load_split(out / "xsub", "train"), load_split(out / "xsub", "val")
    assert xsub_train.names == ["S001C001P001R001A001", "S001C002P001R001A002", "S001C003P002R001A003"]
    assert xsub_val.names == ["S001C001P003R001A004", "S001C002P003R001A005", "S001C003P003R001A060"]
    assert xsub_val.labels.tolist() == [3, 4, 59] and xsub_train.class_names == list(NTU_ACTIONS[:60])
    assert xsub_train.shape == (3, 3, 10, 25, 2)
    clip = np.asarray(xsub_train.data[0])
    np.testing.assert_allclose(clip[:, 2, :, 0], _pose(0.1, 2, 0.1).T, atol=1e-5)
    assert not clip[:, 6:].any() and not clip[..., 1].any(), "zero padding in time and bodies"
    xview_val = load_split(out / "xview", "val")
    assert all("C001" in n for n in xview_val.names) and len(xview_val) == 2
    report = json.loads((out / "convert_report.json").read_text())
    assert report["empty"] == ["S001C001P003R002A007"] and report["ignored"] == 1
    assert not list(out.rglob("*.partial")) and not list(out.rglob(".*.npy*"))


def test_ntu_long_clips_are_cut_and_120_classes(tmp_path):
    raw = _raw(tmp_path, frames=12)
    write_skeleton(raw / "S018C001P003R001A100.skeleton", [[("1", _pose(1, t, 0.1))] for t in range(3)])
    out = tmp_path / "o"
    assert (
        main(["ntu", "--raw", str(raw), "--out", str(out), "--max-frames", "8", "--benchmark", "xsub", "--quiet"]) == 0
    )
    val = load_split(out / "xsub", "val")
    assert val.shape[2] == 8 and len(val.class_names) == 120
    assert not (out / "xview").exists()
    assert len(json.loads((out / "convert_report.json").read_text())["cut"]) == 6


def test_ntu_corrupt_file_stops_or_is_skipped(tmp_path, capsys):
    raw = _raw(tmp_path)
    (raw / "S001C001P003R001A009.skeleton").write_text("2\n1\n")
    out = tmp_path / "o"
    assert main(["ntu", "--raw", str(raw), "--out", str(out), "--quiet"]) == 2
    assert "S001C001P003R001A009.skeleton: file ends at line 2" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"S001C001P003R001A009.skeleton: file ends at line 2"):
        from ciasa.data.convert import convert_ntu

        convert_ntu(raw, out, progress=False)
    assert not list(out.rglob("*.partial")), "an aborted run leaves no partial files"
    assert main(["ntu", "--raw", str(raw), "--out", str(out), "--skip-bad", "--quiet"]) == 0
    assert len(json.loads((out / "convert_report.json").read_text())["bad"]) == 1


def test_ntu_bad_folders(tmp_path, capsys):
    assert main(["ntu", "--raw", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "raw skeleton directory not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["ntu", "--raw", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "no .skeleton files" in capsys.readouterr().err
    raw = tmp_path / "only_train"
    raw.mkdir()
    write_skeleton(raw / "S001C002P001R001A001.skeleton", [[("1", _pose(1, t, 0.1))] for t in range(3)])
    assert main(["ntu", "--raw", str(raw), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "both splits need samples" in capsys.readouterr().err
    assert main(["ntu", "--raw", str(raw), "--out", str(tmp_path / "o"), "--ignore-list", str(tmp_path / "x.txt")]) == 2


def test_pyskl_and_kinetics(tmp_path):
    rng = np.random.default_rng(0)
    anns = [
        {
            "frame_dir": f"S001C001P00{i}R001A001",
            "label": i,
            "total_frames": 5 + i,
            "keypoint": rng.normal(size=(1, 5 + i, 25, 3)).astype(np.float32),
        }
        for i in range(1, 4)
    ]
    ann = tmp_path / "ntu3d.pkl"
    ann.write_bytes(pickle.dumps({"split": {"xsub_val": [a["frame_dir"] for a in anns]}, "annotations": anns}))
    out = tmp_path / "p"
    assert (
        main(
            [
                "pyskl",
                "--ann",
                str(ann),
                "--split-name",
                "xsub_val",
                "--out",
                str(out),
                "--split",
                "val",
                "--max-frames",
                "6",
                "--quiet",
            ]
        )
        == 0
    )
    s = load_split(out, "val")
    assert s.shape == (3, 3, 6, 25, 2) and s.labels.tolist() == [1, 2, 3]
    np.testing.assert_allclose(s.data[0, :, :6, :, 0], anns[0]["keypoint"][0].transpose(2, 0, 1))

    kin = tmp_path / "kin"
    kin.mkdir()
    for i in range(3):
        frame = {"frame_index": 1, "skeleton": [{"pose": [0.5 + 0.1 * i] * 36, "score": [0.9] * 18}]}
        (kin / f"clip{i}.json").write_text(json.dumps({"data": [frame], "label": "x", "label_index": i}))
    (kin / "empty.json").write_text(json.dumps({"data": [], "label": "x", "label_index": 0}))
    assert main(["kinetics", "--data", str(kin), "--out", str(tmp_path / "k"), "--split", "train", "--quiet"]) == 0
    k = load_split(tmp_path / "k", "train")
    assert k.shape == (3, 3, 300, 18, 2) and k.names == ["clip0", "clip1", "clip2"]
    np.testing.assert_allclose(k.data[2, :, 0, 0, 0], [0.2, 0.2, 0.9], atol=1e-6)


def test_ntu120_benchmarks(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for s, p in ((2, 45), (3, 3), (4, 103), (5, 106)):
        write_skeleton(raw / f"S{s:03d}C001P{p:03d}R001A061.skeleton", [[("1", _pose(1, t, 0.1))] for t in range(3)])
    out = tmp_path / "o"
    assert main(["ntu", "--raw", str(raw), "--out", str(out), "--benchmark", "ntu120", "--quiet"]) == 0
    assert load_split(out / "xsub120", "train").names == ["S002C001P045R001A061", "S004C001P103R001A061"]
    assert load_split(out / "xset", "train").names == ["S002C001P045R001A061", "S004C001P103R001A061"]
    assert load_split(out / "xset", "val").names == ["S003C001P003R001A061", "S005C001P106R001A061"]
    assert len(load_split(out / "xset", "val").class_names) == 120
