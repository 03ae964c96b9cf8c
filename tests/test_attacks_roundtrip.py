"""The round-trip error model: its reader rejects bad files by name, its sampler has the fitted statistics."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ciasa.attacks.roundtrip import FORMAT, ErrorModelError, load_error_model, parse_error_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def model_doc(v: int = 25, layout: str = "ntu-rgbd") -> dict:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(v, 3, 3)) * 0.02
    return {
        "format": FORMAT,
        "layout": layout,
        "num_joints": v,
        "units": "m",
        "global": {
            "bias": [0.01, -0.02, 0.2],
            "cov": (np.diag([0.02, 0.03, 0.1]) ** 2).tolist(),
            "ar1": [0.9, 0.8, 0.95],
        },
        "joints": {
            "bias": (rng.normal(size=(v, 3)) * 0.01).tolist(),
            "cov": (a @ a.transpose(0, 2, 1)).tolist(),
            "ar1": np.full((v, 3), 0.5).tolist(),
        },
        "n_frames": 1000,
        "sources": [{"name": "test", "frames": 1000}],
        "options": {},
        "fit_samples": ["S001C002P001R001A001"],
        "fit_split": "xview/train",  # ciasa.fit_record
    }


def write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "err.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_a_valid_model_loads_and_samples_its_statistics(tmp_path) -> None:
    doc = model_doc()  # the contract's spelling 'ntu-rgbd' of the layout 'ntu-rgb+d'
    model = load_error_model(write(tmp_path, doc), "ntu-rgb+d")
    assert model.num_joints == 25
    err = model.sample(64, 200, 1, torch.Generator().manual_seed(0))
    assert err.shape == (64, 3, 200, 25, 1)
    # mean of (recovered - true) = global bias + joint bias, per joint and axis
    mean = err.mean(dim=(0, 2, 4)).T  # (V, 3)
    want = torch.tensor(doc["global"]["bias"]) + torch.tensor(doc["joints"]["bias"])
    assert torch.allclose(mean, want.float(), atol=0.01)
    # the global part's lag-1 autocorrelation (z axis, r = 0.95) dominates the joint average
    g = err.mean(dim=3)[:, 2, :, 0]  # (N, T): per-frame mean over joints, z
    g = g - g.mean(dim=1, keepdim=True)
    r = float((g[:, 1:] * g[:, :-1]).mean() / (g * g).mean())
    assert 0.85 < r < 0.99
    # z spread of one joint: global 0.1 m plus its residual
    cov_j = torch.tensor(doc["joints"]["cov"])[0, 2, 2]
    assert abs(float(err[:, 2, :, 0, 0].std()) - float((0.01 + cov_j).sqrt())) < 0.02


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d.update(format="something/2"), "format"),
        (lambda d: d.update(layout="openpose"), "does not match"),
        (lambda d: d.update(layout="smpl"), "unknown layout"),
        (lambda d: d.update(num_joints=24), "num_joints"),
        (lambda d: d["joints"].update(bias=d["joints"]["bias"][:24]), r"joints.bias has shape \(24, 3\)"),
        (lambda d: d["global"].update(bias=[0.0, float("nan"), 0.0]), "NaN"),
        (lambda d: d["global"].update(cov=[[1.0, 0, 0], [0, -1.0, 0], [0, 0, 1.0]]), "positive semi-definite"),
        (lambda d: d["global"].update(cov=[[1.0, 0.5, 0], [0, 1.0, 0], [0, 0, 1.0]]), "not symmetric"),
        (lambda d: d["joints"].update(ar1=np.full((25, 3), 1.0).tolist()), "ar1"),
        (lambda d: d.pop("joints"), "joints"),
        (lambda d: d["global"].pop("cov"), "missing global.cov"),
    ],
)
def test_bad_models_are_rejected_naming_the_file(tmp_path, mutate, message) -> None:
    doc = copy.deepcopy(model_doc())
    mutate(doc)
    path = write(tmp_path, json.dumps(doc))
    with pytest.raises(ErrorModelError, match=message) as info:
        load_error_model(path, "ntu-rgb+d")
    assert str(path) in str(info.value)


def test_unreadable_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        load_error_model(tmp_path / "missing.json")
    with pytest.raises(ErrorModelError, match="not a readable JSON"):
        load_error_model(write(tmp_path, "{not json"))
    with pytest.raises(ErrorModelError, match="JSON object"):
        parse_error_model([1, 2, 3], source="x.json")
