"""2s-AGCN (joint, bone, two-stream) and PA-LSTM: shapes, gradients, structure."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ciasa.models.agcn import (
    AGCN,
    NTU_BONE_PAIRS_1BASED,
    AGCNBone,
    TwoStreamAGCN,
    agcn_adjacency,
    bone_source_index,
    joints_to_bones,
)
from ciasa.models.pa_lstm import PALSTM, PartAwareLSTMLayer, body_frame_normalize, body_parts
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _ntu_batch(n: int = 2, t: int = 16, m: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, t, 25, m, generator=g) * 0.3
    x[:, 2] += 3.0  # in front of the sensor
    return x


# ---------------------------------------------------------------- 2s-AGCN
def test_agcn_public_layout_and_size():
    model = AGCN(3, 60, {"layout": "ntu-rgb+d"}, num_person=2)
    keys = set(model.state_dict())
    for key in (
        "data_bn.weight",
        "l1.gcn1.PA",
        "l1.gcn1.conv_a.2.weight",
        "l1.gcn1.conv_b.0.weight",
        "l1.gcn1.conv_d.1.bias",
        "l1.gcn1.down.0.weight",
        "l1.tcn1.conv.weight",
        "l5.residual.conv.weight",
        "l8.residual.bn.running_var",
        "l10.gcn1.bn.weight",
        "fc.weight",
    ):
        assert key in keys, key
    assert not any(k.endswith(".A") or k == "A" for k in keys)  # public checkpoints have no A
    assert "l1.residual.conv.weight" not in keys and "l2.residual.conv.weight" not in keys
    assert model.data_bn.num_features == 2 * 25 * 3
    # 2s-AGCN has 3.47 M parameters per stream on NTU-60
    n_params = sum(p.numel() for p in model.parameters())
    assert abs(n_params / 1e6 - 3.47) < 0.01


def test_agcn_forward_backward_and_strides():
    model = AGCN(3, 7, {"layout": "ntu-rgb+d"}, num_person=2, base_channels=8)
    x = _ntu_batch(3, t=20, m=2).requires_grad_(True)
    logits = model(x)
    assert logits.shape == (3, 7)
    logits.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert [b.tcn1.conv.stride[0] for b in model.blocks] == [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]
    assert [b.tcn1.conv.out_channels for b in model.blocks] == [8] * 4 + [16] * 3 + [32] * 3


def test_agcn_rejects_wrong_shapes():
    model = AGCN(3, 5, {"layout": "ntu-rgb+d"}, num_person=1, base_channels=8)
    with pytest.raises(ValueError, match="M<=1"):
        model(torch.zeros(1, 3, 8, 25, 2))
    with pytest.raises(ValueError, match="expects"):
        model(torch.zeros(1, 3, 8, 18, 1))


@pytest.mark.parametrize("layout", [NTU_RGBD, OPENPOSE_18])
def test_agcn_adjacency_matches_public_graph(layout):
    A = agcn_adjacency(layout)
    V = layout.num_joints
    assert A.shape == (3, V, V)
    assert np.allclose(A[0], np.eye(V))
    inward, outward = A[1] > 0, A[2] > 0
    assert inward.sum() == outward.sum() == len(layout.graph_edges)
    assert np.array_equal(inward, outward.T)
    for k in (1, 2):
        col = A[k].sum(axis=0)
        assert np.allclose(col[col > 0], 1.0)
    # an inward edge points towards the centre: (left elbow -> left shoulder) for NTU
    if layout is NTU_RGBD:
        elbow, shoulder = layout.index("left_elbow"), layout.index("left_shoulder")
        assert A[1][shoulder, elbow] > 0 and A[1][elbow, shoulder] == 0


def test_adaptive_graph_is_column_stochastic():
    model = AGCN(3, 4, {"layout": "ntu-rgb+d"}, num_person=1, base_channels=8)
    gcn = model.l2.gcn1
    x = torch.randn(2, 8, 6, 25)
    C = gcn.adaptive_graph(x, 0)
    assert C.shape == (2, 25, 25)
    assert torch.allclose(C.sum(dim=1), torch.ones(2, 25), atol=1e-5)
    assert torch.allclose(gcn.PA, torch.full_like(gcn.PA, 1e-6))


def test_bone_pairs_and_transform():
    src = bone_source_index(NTU_RGBD)
    j = NTU_RGBD.index
    assert src[j("spine_shoulder")] == j("spine_shoulder")  # (21, 21): zero bone
    assert src[j("left_elbow")] == j("left_shoulder")
    assert src[j("spine_base")] == j("spine_mid")  # (1, 2)
    assert src[j("left_thumb")] == j("left_hand")  # (23, 8)
    assert src[j("left_hand_tip")] == j("left_thumb")  # (22, 23)
    assert len(NTU_BONE_PAIRS_1BASED) == 25
    x = _ntu_batch(2, t=5, m=2)
    bones = joints_to_bones(x, src)
    for v in range(25):
        assert torch.equal(bones[:, :, :, v], x[:, :, :, v] - x[:, :, :, src[v]])
    assert torch.count_nonzero(bones[:, :, :, j("spine_shoulder")]) == 0
    # gradients reach the joints: d sum(bone[v]) / d joint = +1 at v, -1 at src[v]
    xg = x.clone().requires_grad_(True)
    v = j("right_knee")
    joints_to_bones(xg, src)[:, :, :, v].sum().backward()
    expect = torch.zeros(25)
    expect[v], expect[src[v]] = 1.0, -1.0
    assert torch.equal(xg.grad[0, 0, 0, :, 0], expect)
    op = bone_source_index(OPENPOSE_18)
    assert op[OPENPOSE_18.index("nose")] == OPENPOSE_18.index("nose")
    assert op[OPENPOSE_18.index("left_wrist")] == OPENPOSE_18.index("left_elbow")


def test_bone_stream_is_agcn_on_bones_and_two_stream_adds_scores():
    torch.manual_seed(0)
    bone = AGCNBone(3, 6, {"layout": "ntu-rgb+d"}, num_person=1, base_channels=8).eval()
    plain = AGCN(3, 6, {"layout": "ntu-rgb+d"}, num_person=1, base_channels=8).eval()
    plain.load_state_dict(bone.state_dict(), strict=True)  # same keys: public bone checkpoints load
    x = _ntu_batch(2, t=12)
    with torch.no_grad():
        assert torch.allclose(bone(x), plain(joints_to_bones(x, bone_source_index(NTU_RGBD))), atol=1e-6)
        joint = AGCN(3, 6, {"layout": "ntu-rgb+d"}, num_person=1, base_channels=8).eval()
        two = TwoStreamAGCN.from_streams(joint, bone)
        assert torch.allclose(two(x), joint(x) + bone(x), atol=1e-6)
    built = TwoStreamAGCN(3, 6, {"layout": "ntu-rgb+d"}, num_person=1, base_channels=8)
    assert {k.split(".")[0] for k in built.state_dict()} == {"joint", "bone"}
    with pytest.raises(TypeError):
        TwoStreamAGCN.from_streams(bone, bone)


# ---------------------------------------------------------------- PA-LSTM
def test_pa_lstm_parts_partition_the_skeleton():
    for layout in (NTU_RGBD, OPENPOSE_18):
        parts = body_parts(layout)
        assert list(parts) == ["torso", "left_arm", "right_arm", "left_leg", "right_leg"]
        assert sorted(j for p in parts.values() for j in p) == list(range(layout.num_joints))
    parts = body_parts(NTU_RGBD)
    assert NTU_RGBD.index("left_wrist") in parts["left_arm"]
    assert NTU_RGBD.index("right_foot") in parts["right_leg"]


def test_pa_lstm_forward_backward_ignores_padding():
    model = PALSTM(3, 5, {"layout": "ntu-rgb+d"}, num_person=1, hidden_size=6)
    x = _ntu_batch(3, t=24)
    x[0, :, 16:] = 0  # sample 0 padded after 16 frames
    x.requires_grad_(True)
    out = model(x)
    assert out.shape == (3, 5)
    out.sum().backward()
    assert x.grad.abs().sum() > 0
    assert x.grad[0, :, 16:].abs().sum() == 0  # the padding is never sampled


def test_pa_lstm_samples_segment_middles_at_eval():
    model = PALSTM(1, 3, {"layout": "openpose"}, num_person=1, hidden_size=4, segments=4).eval()
    x = torch.arange(1, 41, dtype=torch.float32).view(1, 1, 40, 1, 1).expand(2, 1, 40, 18, 1).clone()
    x[1, :, 20:] = 0  # second clip: 20 valid frames
    picked = model.sample_frames(x)[:, 0, :, 0, 0]
    assert picked[0].tolist() == [6.0, 16.0, 26.0, 36.0]
    assert picked[1].tolist() == [3.0, 8.0, 13.0, 18.0]
    model.train()
    for _ in range(5):  # random picks stay inside their segments
        p = model.sample_frames(x)[0, 0, :, 0, 0]
        assert all(10 * k < p[k] <= 10 * (k + 1) for k in range(4))


def test_pa_lstm_cell_structure():
    """Each part has its own cell/input/forget gates; one output gate sees every part."""
    torch.manual_seed(0)
    sizes = (6, 9, 9, 6, 6)
    layer = PartAwareLSTMLayer(sizes, hidden_size=4)
    assert layer.recurrent.out_features == 5 * 3 * 4  # (i, f, g) per part
    assert layer.out_x.in_features == sum(sizes) and layer.out_x.out_features == 5 * 4  # one shared o
    xs = [torch.randn(2, d) for d in sizes]
    h0 = torch.zeros(2, 20)
    c0 = torch.zeros(2, 20)
    h1, c1, gates = layer.step(xs, torch.cat(xs, -1), h0, c0)
    assert gates["i"].shape == gates["f"].shape == gates["g"].shape == (2, 5, 4)
    assert gates["o"].shape == (2, 20)
    assert torch.allclose(h1, gates["o"] * torch.tanh(c1))
    # change only the left arm's input: only the left arm's cell changes, the shared o gate changes
    xs2 = [x.clone() for x in xs]
    xs2[1] += 1.0
    h2, c2, gates2 = layer.step(xs2, torch.cat(xs2, -1), h0, c0)
    changed = (c2 - c1).abs().view(2, 5, 4).sum(dim=(0, 2)) > 1e-7
    assert changed.tolist() == [False, True, False, False, False]
    assert (gates2["o"] - gates["o"]).abs().view(2, 5, 4).sum(dim=(0, 2)).gt(1e-7).all()
    # with a non-zero previous state, c_t^p = f^p c_{t-1}^p + i^p g^p per part
    h_prev, c_prev = torch.randn(2, 20), torch.randn(2, 20)
    _, c3, g3 = layer.step(xs, torch.cat(xs, -1), h_prev, c_prev)
    assert torch.allclose(c3.view(2, 5, 4), g3["f"] * c_prev.view(2, 5, 4) + g3["i"] * g3["g"], atol=1e-6)
    # the full sequence loop agrees with stepping
    seq = [x[:, None].repeat(1, 3, 1) for x in xs]
    hs = layer(seq)
    h, c = h0, c0
    for t in range(3):
        h, c, _ = layer.step([s[:, t] for s in seq], torch.cat([s[:, t] for s in seq], -1), h, c)
    assert torch.allclose(hs[:, -1], h, atol=1e-6)


def _rot_y(theta: float) -> torch.Tensor:
    c, s = math.cos(theta), math.sin(theta)
    return torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def test_body_frame_normalisation_is_view_invariant():
    x = _ntu_batch(2, t=10, m=2)
    x[1, :, 7:] = 0
    x[:, :, :, :, 1] = 0  # no second body
    R = _rot_y(0.7)
    moved = torch.einsum("ab,nbtvm->natvm", R, x) + torch.tensor([0.4, -0.2, 1.0]).view(1, 3, 1, 1, 1)
    moved = moved * (x != 0).any(dim=1, keepdim=True)  # keep padding zero
    a, b = body_frame_normalize(x), body_frame_normalize(moved)
    assert torch.allclose(a, b, atol=1e-4)
    assert torch.count_nonzero(a[1, :, 7:]) == 0 and torch.count_nonzero(a[:, :, :, :, 1]) == 0
    j = NTU_RGBD.index
    first = a[0, :, 0, :, 0]
    assert torch.allclose(first[:, j("spine_mid")], torch.zeros(3), atol=1e-5)  # origin
    spine = first[:, j("spine_mid")] - first[:, j("spine_base")]
    assert torch.allclose(spine.norm(), torch.tensor(1.0), atol=1e-5)  # unit: spine length
    shoulders = first[:, j("left_shoulder")] - first[:, j("right_shoulder")]
    assert abs(float(shoulders[1])) < 1e-5 and abs(float(shoulders[2])) < 1e-5  # x axis


def test_pa_lstm_two_bodies_and_layers():
    model = PALSTM(3, 4, {"layout": "ntu-rgb+d"}, num_person=2, hidden_size=5, num_layers=2)
    assert len(model.layers) == 2
    assert model.layers[0].part_sizes == (5 * 6, 6 * 6, 6 * 6, 4 * 6, 4 * 6)
    assert model.layers[1].part_sizes == (5,) * 5
    assert model(_ntu_batch(2, t=12, m=2)).shape == (2, 4)
