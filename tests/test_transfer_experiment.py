"""The transfer experiment end to end on tiny data and tiny (untrained) models."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from ciasa.data.stgcn import load_split, save_split
from ciasa.experiments.transfer import main, parse_model_specs, run_transfer, select_samples
from ciasa.models import build_model, save_checkpoint
from ciasa.skeleton import NTU_RGBD

pytestmark = pytest.mark.usefixtures("one_torch_thread")


CLASSES = ["a", "b", "c"]


def _clips(n: int, t: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 3, t, 25, 1), dtype=np.float32)
    base = rng.normal(0, 0.3, size=(3, 1, 25))
    base[2] += 3.0
    for i in range(n):
        x[i, :, :, :, 0] = base + rng.normal(0, 0.02, size=(3, t, 25)).cumsum(axis=1)
    x[0, :, 9:] = 0  # padded tail
    return x


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    data = root / "data"
    names = [f"S001C001P001R001A{k:03d}" for k in range(1, 7)]
    save_split(data, "train", _clips(6, seed=1), names, [0, 1, 2, 0, 1, 2], CLASSES, layout=NTU_RGBD)
    save_split(data, "val", _clips(6, seed=2), names, [2, 1, 0, 2, 1, 0], CLASSES, layout=NTU_RGBD)
    torch.manual_seed(0)
    args = {
        "in_channels": 3,
        "num_class": 3,
        "graph_args": {"layout": "ntu-rgb+d", "strategy": "spatial"},
        "base_channels": 4,
        "dropout": 0.0,
    }
    ckpts = {}
    for arch in ("stgcn", "agcn", "agcn_bone", "pa_lstm"):
        model = build_model(arch, **({**args, "hidden_size": 4} if arch == "pa_lstm" else args))
        model_args = {**args, "hidden_size": 4} if arch == "pa_lstm" else args
        ckpts[arch] = root / f"{arch}.pt"
        save_checkpoint(ckpts[arch], model.eval(), arch, model_args, CLASSES)
    return root, data, ckpts


def test_parse_model_specs():
    assert parse_model_specs(["js=a.pt", "pa_lstm=b/c.pt"]) == {"js": "a.pt", "pa_lstm": "b/c.pt"}
    for bad in (["js"], ["=a.pt"], ["js=a", "js=b"], ["source=x.pt"]):
        with pytest.raises(ValueError):
            parse_model_specs(bad)
    assert select_samples(10, None, 0).tolist() == list(range(10))
    sub = select_samples(10, 4, 0)
    assert len(sub) == 4 and np.all(np.diff(sub) > 0) and np.array_equal(sub, select_samples(10, 4, 0))


def test_transfer_table_and_resume(setup, capsys):
    root, data, ckpts = setup
    out = root / "out"
    argv = [
        "--checkpoint",
        str(ckpts["stgcn"]),
        "--data",
        str(data),
        "--split",
        "val",
        "--models",
        f"js={ckpts['agcn']}",
        f"bs={ckpts['agcn_bone']}",
        f"pa_lstm={ckpts['pa_lstm']}",
        "--eps",
        "0.012",
        "--max-iter",
        "2",
        "--limit",
        "5",
        "--batch-size",
        "3",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "Js-AGCN" in capsys.readouterr().out
    with (out / "transfer.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["key"] for r in rows] == ["source", "js", "bs", "2s", "pa_lstm"]
    assert all(int(r["n"]) == 5 for r in rows)
    md = (out / "transfer.md").read_text()
    for label in ("Original accuracy", "Attacked accuracy", "Fooling rate", "2s-AGCN", "PA-LSTM"):
        assert label in md
    adv = load_split(out / "adversarial", "val")
    val = load_split(data, "val")
    keep = [val.names.index(n) for n in adv.names]
    clean = np.asarray(val.data)[keep]
    diff = np.abs(np.asarray(adv.data) - clean)
    assert diff.max() > 0
    pad = np.abs(clean).sum(axis=(1, 3, 4)) == 0  # (N, T) padded frames stay exactly zero
    assert np.all(np.asarray(adv.data).transpose(0, 2, 1, 3, 4)[pad] == 0)
    # the CSV agrees with the per-sample predictions
    with (out / "per_sample.csv").open() as f:
        samples = list(csv.DictReader(f))
    for r in rows:
        k = r["key"]
        acc = np.mean([int(s[f"{k}_attacked"]) == int(s["label"]) for s in samples]) * 100
        assert abs(acc - float(r["attacked_acc"])) < 0.01
        correct = [s for s in samples if int(s[f"{k}_clean"]) == int(s["label"])]
        if correct:
            fool = np.mean([int(s[f"{k}_attacked"]) != int(s["label"]) for s in correct]) * 100
            assert abs(fool - float(r["fooling_rate"])) < 0.01
    summary = json.loads((out / "summary.json").read_text())
    # a rerun with the same settings reuses the perturbed clips and gives the same table
    first = (out / "transfer.csv").read_text()
    again = run_transfer(
        ckpts["stgcn"],
        data,
        {"js": str(ckpts["agcn"]), "bs": str(ckpts["agcn_bone"]), "pa_lstm": str(ckpts["pa_lstm"])},
        out,
        split="val",
        eps=0.012,
        max_iter=2,
        limit=5,
        batch_size=3,
        device="cpu",
        progress=False,
    )
    assert (out / "transfer.csv").read_text() == first
    assert again["rows"] == summary["rows"]


def test_transfer_rejects_wrong_model_kind(setup):
    root, data, ckpts = setup
    with pytest.raises(ValueError, match="agcn_bone"):
        run_transfer(
            ckpts["stgcn"],
            data,
            {"bs": str(ckpts["agcn"])},
            root / "bad",
            max_iter=1,
            limit=2,
            device="cpu",
            progress=False,
        )
