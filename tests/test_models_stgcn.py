"""ST-GCN faithfulness: graph matrices, official key layout, logits vs an independent
re-statement of the official forward, strict loading of official-style state dicts."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ciasa.models import STGCN, Graph, build_model, load_model, save_checkpoint
from ciasa.models.checkpoint import CheckpointError
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18

NTU = {"layout": "ntu-rgb+d", "strategy": "spatial"}


# ---------------------------------------------------------------- graph


def test_ntu_spatial_centre_row_and_column_by_hand():
    A = Graph("ntu-rgb+d", "spatial").A
    assert A.shape == (3, 25, 25)
    c = 20  # spine shoulder
    nbrs = [1, 2, 4, 8]  # spine mid, neck, left/right shoulder
    # column c: the centre plus its 4 neighbours -> each 1/5; neighbours are "closer" sources
    assert A[0, c, c] == pytest.approx(1 / 5)
    for j in nbrs:
        assert A[1, j, c] == pytest.approx(1 / 5)
        assert A[2, j, c] == 0
        # row c: the centre feeds each neighbour i from "further in"; each has 3 in its column
        assert A[2, c, j] == pytest.approx(1 / 3)
        assert A[1, c, j] == 0
    assert np.count_nonzero(A[:, :, c]) == 5


def test_ntu_spatial_quirk_beyond_max_hop():
    """Joints 2+ hops from the centre are 'inf' hops away (max_hop = 1), and inf == inf, so
    their mutual edges land in the root/close subset, as in the official code."""
    A = Graph("ntu-rgb+d", "spatial").A
    elbow, wrist, shoulder = 5, 6, 4
    assert A[1, wrist, elbow] == pytest.approx(1 / 3)  # elbow's column: shoulder, wrist, self
    assert A[1, elbow, wrist] == pytest.approx(1 / 3)  # wrist's column: elbow, hand, self
    assert A[2, elbow, wrist] == 0
    # shoulder (1 hop) -> elbow (inf): source nearer the centre = "further" subset
    assert A[2, shoulder, elbow] == pytest.approx(1 / 3)
    assert A[1, elbow, shoulder] == pytest.approx(1 / 3)


@pytest.mark.parametrize("layout", ["ntu-rgb+d", "openpose"])
@pytest.mark.parametrize("strategy,K", [("uniform", 1), ("distance", 2), ("spatial", 3)])
def test_partitions_split_a_column_normalised_adjacency(layout, strategy, K):
    g = Graph(layout, strategy)
    V = 25 if layout == "ntu-rgb+d" else 18
    assert g.A.shape == (K, V, V)
    np.testing.assert_allclose(g.A.sum(axis=(0, 1)), np.ones(V), rtol=1e-6)  # A D^-1
    total = g.A.sum(axis=0)
    adj = np.eye(V)
    edges = (NTU_RGBD if V == 25 else OPENPOSE_18).graph_edges
    for i, j in edges:
        adj[i, j] = adj[j, i] = 1
    np.testing.assert_allclose(total, adj / adj.sum(axis=0, keepdims=True), rtol=1e-6)
    if strategy == "distance":
        np.testing.assert_allclose(np.diag(g.A[0]), 1 / adj.sum(axis=0), rtol=1e-6)


def test_unknown_strategy_and_layout():
    with pytest.raises(ValueError, match="strategy"):
        Graph("ntu-rgb+d", "bogus")
    with pytest.raises(KeyError, match="layout"):
        Graph("coco", "spatial")


# ---------------------------------------------------------------- official key layout


def official_keys(num_blocks_residual=(4, 7), edge_importance=True, counters=True) -> list[str]:
    """The official model's state-dict keys, written out from its module structure."""
    bn = ["weight", "bias", "running_mean", "running_var"] + (["num_batches_tracked"] if counters else [])
    keys = ["A"] + [f"data_bn.{p}" for p in bn]
    for i in range(10):
        b = f"st_gcn_networks.{i}"
        keys += [f"{b}.gcn.conv.weight", f"{b}.gcn.conv.bias"]
        keys += [f"{b}.tcn.0.{p}" for p in bn] + [f"{b}.tcn.2.weight", f"{b}.tcn.2.bias"]
        keys += [f"{b}.tcn.3.{p}" for p in bn]
        if i in num_blocks_residual:
            keys += [f"{b}.residual.0.weight", f"{b}.residual.0.bias"] + [f"{b}.residual.1.{p}" for p in bn]
    if edge_importance:
        keys += [f"edge_importance.{i}" for i in range(10)]
    return keys + ["fcn.weight", "fcn.bias"]


def test_official_ntu60_keys_and_shapes():
    sd = STGCN(3, 60, NTU).state_dict()
    assert sorted(sd) == sorted(official_keys())
    assert sd["A"].shape == (3, 25, 25)
    assert sd["data_bn.weight"].shape == (75,)
    assert sd["st_gcn_networks.0.gcn.conv.weight"].shape == (64 * 3, 3, 1, 1)
    assert sd["st_gcn_networks.4.tcn.2.weight"].shape == (128, 128, 9, 1)
    assert sd["st_gcn_networks.7.residual.0.weight"].shape == (256, 128, 1, 1)
    assert sd["edge_importance.0"].shape == (3, 25, 25)
    assert sd["fcn.weight"].shape == (60, 256, 1, 1)
    no_ei = STGCN(3, 400, {"layout": "openpose", "strategy": "spatial"}, edge_importance_weighting=False)
    assert sorted(no_ei.state_dict()) == sorted(official_keys(edge_importance=False))


# ---------------------------------------------------------------- numerics vs a re-statement


def skeleton_like(N, T, V, M, seed):
    """Random input whose samples differ in per-joint position (pooled features see that)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, 3, 1, V, M, generator=g) * 2 + torch.randn(N, 3, T, V, M, generator=g) * 0.5


def reference_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The official forward in eval mode, restated with functional ops from the state dict only."""

    def bn(h, p):
        return F.batch_norm(
            h,
            sd[p + ".running_mean"],
            sd[p + ".running_var"],
            sd[p + ".weight"],
            sd[p + ".bias"],
            training=False,
            eps=eps,
        )

    N, C, T, V, M = x.shape
    h = x.permute(0, 4, 3, 1, 2).reshape(N * M, V * C, T)
    h = bn(h, "data_bn").reshape(N, M, V, C, T).permute(0, 1, 3, 4, 2).reshape(N * M, C, T, V)
    A = sd["A"]
    K = A.shape[0]
    for i in range(10):
        b = f"st_gcn_networks.{i}"
        Ai = A * sd[f"edge_importance.{i}"]
        w = sd[f"{b}.gcn.conv.weight"]
        cout = w.shape[0] // K
        stride = 2 if i in (4, 7) else 1
        y = F.conv2d(h, w, sd[f"{b}.gcn.conv.bias"]).reshape(h.shape[0], K, cout, h.shape[2], V)
        # sum_k sum_v y[n,k,c,t,v] A[k,v,w], written as an explicit loop over k and matmul
        g = sum(y[:, k] @ Ai[k] for k in range(K))
        g = F.relu(bn(g, f"{b}.tcn.0"))
        g = F.conv2d(g, sd[f"{b}.tcn.2.weight"], sd[f"{b}.tcn.2.bias"], stride=(stride, 1), padding=(4, 0))
        g = bn(g, f"{b}.tcn.3")
        if i == 0:
            res = 0
        elif f"{b}.residual.0.weight" in sd:
            res = bn(
                F.conv2d(h, sd[f"{b}.residual.0.weight"], sd[f"{b}.residual.0.bias"], stride=(stride, 1)),
                f"{b}.residual.1",
            )
        else:
            res = h
        h = F.relu(g + res)
    h = F.avg_pool2d(h, h.shape[2:]).reshape(N, M, -1, 1, 1).mean(dim=1)
    return F.conv2d(h, sd["fcn.weight"], sd["fcn.bias"]).reshape(N, -1)


def randomized_official_state(num_class=60, base=8, graph=NTU, seed=0) -> OrderedDict:
    """An official-layout state dict with random weights, BN statistics and edge masks, so a
    wrong index order anywhere changes the logits (the test checks the input matters)."""
    torch.manual_seed(seed)
    sd = STGCN(3, num_class, graph, base_channels=base).state_dict()  # random convs (default init)
    g = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    for k, v in sd.items():
        r = torch.randn(v.shape, generator=g) if v.is_floating_point() else None
        if k.endswith("running_var"):
            out[k] = 0.5 + torch.rand(v.shape, generator=g)
        elif k.endswith("running_mean") or (k.endswith(".bias") and v.dim() == 1):
            out[k] = 0.1 * r
        elif k.startswith("edge_importance"):
            out[k] = 0.5 + torch.rand(v.shape, generator=g)
        elif v.dim() == 1 and k.endswith(".weight"):  # BN scale
            out[k] = 1.0 + 0.2 * r
        else:
            out[k] = v.clone()
    return out


@pytest.mark.parametrize("graph", [NTU, {"layout": "openpose", "strategy": "spatial"}])
def test_logits_match_reference_restatement(graph):
    sd = randomized_official_state(num_class=7, base=8, graph=graph)
    V = 25 if graph["layout"] == "ntu-rgb+d" else 18
    model = STGCN(3, 7, graph, base_channels=8).eval()
    model.load_state_dict(sd, strict=True)
    x = skeleton_like(3, 20, V, 2, seed=1)
    x[1, :, 12:] = 0  # zero padding
    x[2, :, :, :, 1] = 0  # absent second body
    with torch.no_grad():
        got = model(x)
        want = reference_forward(sd, x)
        assert (
            model(skeleton_like(3, 20, V, 2, seed=2)) - got
        ).abs().max() > 1e-3  # the logits depend on the input (tolerance below: 1e-5)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_official_state_dict_loads_strictly_with_and_without_counters(tmp_path):
    sd = randomized_official_state(num_class=60, base=64)
    x = skeleton_like(2, 16, 25, 2, seed=3)
    with torch.no_grad():
        want = reference_forward(sd, x)
    with_counters = tmp_path / "st_gcn.ntu-xsub.pt"
    torch.save(sd, with_counters)
    without = tmp_path / "old_release.pt"
    torch.save(OrderedDict((k, v) for k, v in sd.items() if "num_batches_tracked" not in k), without)
    for path in (with_counters, without):
        model, meta = load_model(path, device="cpu", num_class=60, layout="ntu-rgb+d", in_channels=3)
        assert meta["source"] == "state_dict" and meta["layout"] == "ntu-rgb+d"
        assert meta["model_args"]["base_channels"] == 64 and len(meta["class_names"]) == 60
        assert meta["class_names"][0] == "drink water"
        assert not model.training
        with torch.no_grad():
            torch.testing.assert_close(model(x), want, rtol=1e-5, atol=1e-5)
    # also straight into a fresh STGCN with strict=True
    STGCN(3, 60, NTU).load_state_dict(sd, strict=True)


def test_official_kinetics_shapes_are_inferred(tmp_path):
    sd = randomized_official_state(num_class=400, base=8, graph={"layout": "openpose", "strategy": "spatial"})
    path = tmp_path / "st_gcn.kinetics.pt"
    torch.save(sd, path)
    model, meta = load_model(path, device="cpu")
    assert meta["layout"] == "openpose" and model.num_class == 400
    assert model(torch.randn(1, 3, 12, 18, 2)).shape == (1, 400)


# ---------------------------------------------------------------- bad checkpoints


@pytest.fixture()
def official_file(tmp_path):
    path = tmp_path / "official.pt"
    torch.save(randomized_official_state(num_class=10, base=4), path)
    return path


def test_wrong_class_count_names_the_file(official_file):
    with pytest.raises(CheckpointError, match=r"official\.pt.*class count is 10, not 60"):
        load_model(official_file, device="cpu", num_class=60)


def test_missing_and_unexpected_keys_name_the_file(tmp_path):
    sd = randomized_official_state(num_class=10, base=4)
    missing = OrderedDict(sd)
    del missing["st_gcn_networks.3.tcn.2.weight"]
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match=r"missing\.pt.*missing keys st_gcn_networks\.3\.tcn\.2\.weight"):
        load_model(tmp_path / "missing.pt", device="cpu")
    extra = OrderedDict(sd)
    extra["st_gcn_networks.0.residual.0.weight"] = torch.zeros(4, 3, 1, 1)
    torch.save(extra, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match=r"extra\.pt.*unexpected keys st_gcn_networks\.0\.residual"):
        load_model(tmp_path / "extra.pt", device="cpu")
    shape = OrderedDict(sd)
    shape["st_gcn_networks.2.tcn.2.weight"] = torch.zeros(4, 4, 5, 1)
    torch.save(shape, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"shape\.pt.*tcn\.2\.weight"):
        load_model(tmp_path / "shape.pt", device="cpu")


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("definitely not a checkpoint\n")
    with pytest.raises(CheckpointError, match=r"notes\.pt.*not a readable"):
        load_model(text, device="cpu")
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(CheckpointError, match=r"tensor\.pt.*not a checkpoint"):
        load_model(tensor, device="cpu")
    other = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match=r"other\.pt.*not an ST-GCN checkpoint"):
        load_model(other, device="cpu")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load_model(tmp_path / "absent.pt", device="cpu")


# ---------------------------------------------------------------- our format, API


def test_our_checkpoint_round_trip(tmp_path):
    args = {"in_channels": 3, "num_class": 4, "graph_args": NTU, "base_channels": 4, "dropout": 0.1}
    model = build_model("stgcn", **args).eval()
    names = ["drink water", "throw", "sitting down", "clapping"]
    save_checkpoint(tmp_path / "model.pt", model, "stgcn", args, names)
    loaded, meta = load_model(tmp_path / "model.pt", device="cpu")
    assert meta == {
        "arch": "stgcn",
        "model_args": args,
        "class_names": names,
        "layout": "ntu-rgb+d",
        "source": "ciasa",
        "path": str(tmp_path / "model.pt"),
    }
    x = torch.randn(2, 3, 10, 25, 1)
    torch.testing.assert_close(loaded(x), model(x))
    with pytest.raises(CheckpointError, match=r"model\.pt.*class count is 4, not 5"):
        load_model(tmp_path / "model.pt", device="cpu", num_class=5)
    with pytest.raises(CheckpointError, match=r"model\.pt.*layout is 'ntu-rgb\+d', not 'openpose'"):
        load_model(tmp_path / "model.pt", device="cpu", layout="openpose")


def test_forward_shapes_gradients_and_features():
    model = STGCN(3, 5, NTU, base_channels=4).eval()
    for T, M in [(7, 1), (33, 2), (64, 3)]:
        x = torch.randn(2, 3, T, 25, M, requires_grad=True)
        out = model(x)
        assert out.shape == (2, 5)
        out[:, 1].sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    x = torch.randn(2, 3, 9, 25, 1)
    feats = model.features(x)
    assert feats.shape == (2, 16)
    torch.testing.assert_close(model.fcn(feats[:, :, None, None]).flatten(1), model(x))


def test_wrong_input_shape_is_reported():
    model = STGCN(3, 5, NTU, base_channels=4)
    with pytest.raises(ValueError, match="V=25"):
        model(torch.zeros(1, 3, 10, 18, 1))
    with pytest.raises(ValueError, match=r"\(N, C, T, V, M\)"):
        model(torch.zeros(3, 10, 25, 1))
    with pytest.raises(TypeError, match="unknown arguments: bogus"):
        STGCN(3, 5, NTU, bogus=1)
    with pytest.raises(KeyError, match="unknown model architecture"):
        build_model("resnet", num_class=3)


@pytest.mark.parametrize(
    "c_in, c_out, stride, residual, kind",
    [
        (4, 4, 1, False, "none"),
        (4, 4, 1, True, "identity"),
        (4, 8, 1, True, "conv"),
        (4, 4, 2, True, "conv"),
    ],
)
def test_stgcn_and_agcn_blocks_share_the_residual_rule_and_keep_their_key_names(c_in, c_out, stride, residual, kind):
    """One shortcut rule for both architectures; the projection keeps each public checkpoint's names."""
    from ciasa.models.agcn import AGCNBlock, agcn_adjacency
    from ciasa.models.st_gcn import STGCNBlock

    st = STGCNBlock(c_in, c_out, 3, stride, residual=residual)
    ag = AGCNBlock(c_in, c_out, agcn_adjacency("ntu-rgb+d"), stride=stride, residual=residual)
    assert st.residual_kind == ag.residual_kind == kind
    st_keys = {k for k in st.state_dict() if k.startswith("residual.")}
    ag_keys = {k for k in ag.state_dict() if k.startswith("residual.")}
    if kind == "conv":
        assert {"residual.0.weight", "residual.1.running_mean"} <= st_keys
        assert {"residual.conv.weight", "residual.bn.running_mean"} <= ag_keys
    else:
        assert not st_keys and not ag_keys
    x = torch.randn(2, c_in, 8, 25)
    y = st(x, torch.tensor(Graph(**NTU).A))
    assert y.shape == (2, c_out, 8 // stride, 25) and (y >= 0).all()  # ReLU after the sum
