"""The transfer models in the model registry: build from training-CLI arguments, save, load."""

from __future__ import annotations

import pytest
import torch

from ciasa.models import build_model, load_model, save_checkpoint
from ciasa.models.agcn import AGCN, AGCNBone, TwoStreamAGCN, load_two_stream
from ciasa.models.pa_lstm import PALSTM

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# what ``python -m ciasa.train`` hands every architecture
TRAIN_ARGS = {
    "in_channels": 3,
    "num_class": 4,
    "graph_args": {"layout": "ntu-rgb+d", "strategy": "spatial"},
    "edge_importance_weighting": True,
    "base_channels": 8,
    "dropout": 0.5,
}


@pytest.mark.parametrize(
    "arch, cls", [("agcn", AGCN), ("agcn_bone", AGCNBone), ("agcn_2s", TwoStreamAGCN), ("pa_lstm", PALSTM)]
)
def test_build_from_training_cli_arguments(arch, cls):
    model = build_model(arch, **TRAIN_ARGS).eval()
    assert type(model) is cls
    x = torch.randn(2, 3, 16, 25, 1)  # one body: padded to the model's two
    assert model(x).shape == (2, 4)


def test_checkpoint_round_trip_and_two_stream_from_two_files(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 12, 25, 1)
    classes = ["a", "b", "c", "d"]
    streams = {}
    for arch in ("agcn", "agcn_bone"):
        model = build_model(arch, **TRAIN_ARGS).eval()
        save_checkpoint(tmp_path / f"{arch}.pt", model, arch, TRAIN_ARGS, classes)
        loaded, meta = load_model(tmp_path / f"{arch}.pt", device="cpu")
        assert meta["arch"] == arch and type(loaded) is type(model)
        with torch.no_grad():
            assert torch.allclose(loaded(x), model(x), atol=1e-6)
        streams[arch] = model
    two, meta = load_two_stream(tmp_path / "agcn.pt", tmp_path / "agcn_bone.pt", device="cpu")
    assert meta["arch"] == "agcn_2s" and meta["class_names"] == classes
    with torch.no_grad():
        assert torch.allclose(two(x), streams["agcn"](x) + streams["agcn_bone"](x), atol=1e-5)
    with pytest.raises(ValueError, match="not a bone-stream"):
        load_two_stream(tmp_path / "agcn.pt", tmp_path / "agcn.pt", device="cpu")


def test_public_style_state_dict_loads_strictly(tmp_path):
    """A public 2s-AGCN checkpoint is a plain state dict (no 'A', DataParallel prefixes stripped)."""
    public = AGCNBone(3, 6, {"layout": "openpose"}, num_person=2, base_channels=8).eval()
    torch.save(public.state_dict(), tmp_path / "ki_agcn_bone.pt")
    model, meta = load_model(tmp_path / "ki_agcn_bone.pt", device="cpu", arch="agcn_bone")
    assert type(model) is AGCNBone
    assert meta["model_args"]["num_person"] == 2 and meta["model_args"]["base_channels"] == 8
    assert meta["layout"] == "openpose" and meta["model_args"]["num_class"] == 6
    x = torch.randn(1, 3, 10, 18, 2)
    with torch.no_grad():
        assert torch.allclose(model(x), public(x), atol=1e-6)
