"""Published NTU-60 model adapters: EfficientGCN (B-family) and Shift-GCN.

Strict loading (missing key, wrong shape, wrong model, class-count / layout mismatch),
the pure-PyTorch temporal shift against a loop over the public CUDA kernel's formula,
the differentiable 2s-AGCN ``pre_normalization`` against a loop implementation of the
same steps, padding and gradients, and (when ``../shared/real_ntu`` is there) the
official checkpoints end to end on the seven real clips.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ciasa.models import CheckpointError, load_model
from ciasa.models import ntu_preprocess as pre
from ciasa.models.efficientgcn import EfficientGCN, block_args
from ciasa.models.shift_gcn import ShiftGCN, spatial_shift_index, temporal_shift

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real_ntu"


def _random_clip(n=2, t=12, m=2, seed=0, absent_body=True, pad_from=9):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, t, 25, m, generator=g) * 0.3 + torch.tensor([0.0, 0.0, 3.0]).view(1, 3, 1, 1, 1)
    x[:, :, pad_from:] = 0  # zero padding at the end
    if absent_body:
        x[0, ..., 1] = 0  # sample 0 has one person
    return x


@pytest.fixture(scope="module")
def effgcn_state():
    torch.manual_seed(0)
    model = EfficientGCN(num_class=60, variant="B0", preprocess="pre_normalization").eval()
    return model, {k: v.clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def shift_state():
    torch.manual_seed(0)
    model = ShiftGCN(num_class=60).eval()
    return model, {k: v.clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- strict loading


def test_efficientgcn_state_dict_roundtrip_and_detection(tmp_path, effgcn_state):
    model, state = effgcn_state
    path = tmp_path / "effgcn_ntu-xview.pt"
    torch.save({"model": state, "epoch": 3}, path)  # the trainer's wrapper of the public code
    loaded, meta = load_model(path, device="cpu")
    assert meta["arch"] == "efficientgcn" and meta["model_args"]["variant"] == "B0"
    assert meta["model_args"]["preprocess"] == "pre_normalization"  # 'xview' in the name
    x = _random_clip(t=20, pad_from=15)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)
    xsub = tmp_path / "effgcn_ntu-xsub.pt"
    torch.save(state, xsub)
    assert load_model(xsub, device="cpu")[1]["model_args"]["preprocess"] == "none"


def test_efficientgcn_numpy_pickle_with_paddle_names(tmp_path, effgcn_state):
    """The circulating weights: a pickle of numpy arrays, BN statistics as _mean/_variance."""
    model, state = effgcn_state
    arrays = {}
    for k, v in state.items():
        k = k.replace("running_mean", "_mean").replace("running_var", "_variance")
        arrays[k] = v.numpy()
    path = tmp_path / "2002_effgcn_ntu-xview.pdparams.tar"
    path.write_bytes(pickle.dumps({"model": arrays, "best_state": {"acc_top1": 0.9}}, protocol=4))
    loaded, meta = load_model(path, device="cpu")
    assert meta["arch"] == "efficientgcn"
    x = _random_clip(t=16, pad_from=12)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)


def test_pickle_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil_xview.pt"
    path.write_bytes(pickle.dumps({"model": {"a": Evil()}}))
    with pytest.raises(CheckpointError, match=r"evil_xview\.pt.*not a readable"):
        load_model(path, device="cpu")


def test_missing_key_wrong_shape_wrong_model(tmp_path, effgcn_state, shift_state):
    _, state = effgcn_state
    missing = dict(state)
    del missing["main_stream.block-1_att.att.conv_v.weight"]
    torch.save(missing, tmp_path / "missing_xview.pt")
    with pytest.raises(
        CheckpointError, match=r"missing_xview\.pt.*missing keys main_stream\.block-1_att\.att\.conv_v\.weight"
    ):
        load_model(tmp_path / "missing_xview.pt", device="cpu")
    shape = dict(state)
    shape["main_stream.block-0_tcn-0.point_conv1.0.weight"] = torch.zeros(16, 64, 1, 1)
    torch.save(shape, tmp_path / "shape_xview.pt")
    with pytest.raises(CheckpointError, match=r"shape_xview\.pt.*main_stream\.block-0_tcn-0\.point_conv1\.0\.weight"):
        load_model(tmp_path / "shape_xview.pt", device="cpu")
    torch.save(state, tmp_path / "eff_xview.pt")
    with pytest.raises(CheckpointError, match=r"eff_xview\.pt: not a Shift-GCN checkpoint \(no 'data_bn.weight'"):
        load_model(tmp_path / "eff_xview.pt", device="cpu", arch="shift_gcn")
    _, sstate = shift_state
    torch.save(sstate, tmp_path / "shift.pt")
    with pytest.raises(CheckpointError, match=r"shift\.pt: not an EfficientGCN checkpoint \(no 'input_branches"):
        load_model(tmp_path / "shift.pt", device="cpu", arch="efficientgcn")


def test_class_count_layout_and_variant_mismatch(tmp_path, effgcn_state):
    _, state = effgcn_state
    path = tmp_path / "eff_xview.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"eff_xview\.pt: the checkpoint's class count is 60, not 120"):
        load_model(path, device="cpu", num_class=120)
    with pytest.raises(
        CheckpointError, match=r"eff_xview\.pt: the checkpoint's graph layout is 'ntu-rgb\+d', not 'openpose'"
    ):
        load_model(path, device="cpu", layout="openpose")
    odd = {k: v for k, v in state.items() if "block-1_att" not in k or "main_stream" not in k}
    odd = {k.replace("main_stream.block-1", "main_stream.block-9"): v for k, v in odd.items()}
    torch.save(odd, tmp_path / "odd_xview.pt")
    with pytest.raises(CheckpointError, match=r"odd_xview\.pt: EfficientGCN blocks .* match none of the B-family"):
        load_model(tmp_path / "odd_xview.pt", device="cpu")
    graph = dict(state)
    graph["input_branches.0.stem_scn.conv.A"] = torch.rand(3, 25, 25)
    torch.save(graph, tmp_path / "graph_xview.pt")
    with pytest.raises(
        CheckpointError, match=r"graph_xview\.pt: 'input_branches\.0\.stem_scn\.conv\.A' is not the NTU-25 graph"
    ):
        load_model(tmp_path / "graph_xview.pt", device="cpu")


def test_preprocessing_unknown_from_name_needs_override(tmp_path, effgcn_state):
    _, state = effgcn_state
    path = tmp_path / "weights.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="preprocess="):
        load_model(path, device="cpu")
    assert load_model(path, device="cpu", preprocess="none")[0].preprocess == "none"


def test_shift_gcn_detection_bone_stream_and_permutation_check(tmp_path, shift_state):
    _, state = shift_state
    torch.save(state, tmp_path / "ntu_ShiftGCN_bone_xview.pt")
    model, meta = load_model(tmp_path / "ntu_ShiftGCN_bone_xview.pt", device="cpu")
    assert meta["arch"] == "shift_gcn_bone" and model.stream == "bone"
    torch.save(state, tmp_path / "ntu_ShiftGCN_joint_xview.pt")
    assert load_model(tmp_path / "ntu_ShiftGCN_joint_xview.pt", device="cpu")[1]["arch"] == "shift_gcn"
    bad = dict(state)
    bad["l3.gcn1.shift_out"] = bad["l3.gcn1.shift_out"].flip(0)
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"bad\.pt: 'l3\.gcn1\.shift_out' is not Shift-GCN's spatial shift"):
        load_model(tmp_path / "bad.pt", device="cpu")
    missing = dict(state)
    del missing["l7.tcn1.shift_in.ypos"]
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match=r"missing\.pt.*missing keys l7\.tcn1\.shift_in\.ypos"):
        load_model(tmp_path / "missing.pt", device="cpu")


def test_cli_exit_2_names_file_and_key(tmp_path, effgcn_state):
    _, state = effgcn_state
    broken = dict(state)
    del broken["classifier.fc.bias"]
    path = tmp_path / "broken_xview.pt"
    torch.save(broken, path)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ciasa.evaluate",
            "--checkpoint",
            str(path),
            "--data",
            str(tmp_path / "data"),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--no-progress",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "broken_xview.pt" in proc.stderr and "classifier.fc.bias" in proc.stderr
    assert not out.exists()


# ---------------------------------------------------------------- the pieces


def _shift_reference(x, ypos, xpos, stride):
    """Loop over the public CUDA forward kernel's formula, one output value at a time."""
    n, c, h_in, w_in = x.shape
    out = np.zeros((n, c, h_in // stride, w_in))
    for i in range(n):
        for ch in range(c):
            y = float(ypos[ch]) + (0.5 if stride != 1 else 0.0)
            xx = float(xpos[ch])
            y1, x1 = math.floor(y), math.floor(xx)
            dy, dx = y - y1, xx - x1

            def q(r, s):
                return float(x[i, ch, r, s]) if 0 <= r < h_in and 0 <= s < w_in else 0.0

            for h in range(h_in // stride):
                for w in range(w_in):
                    r = h * stride
                    out[i, ch, h, w] = (
                        q(r + y1, w + x1) * (1 - dx) * (1 - dy)
                        + q(r + y1, w + x1 + 1) * dx * (1 - dy)
                        + q(r + y1 + 1, w + x1) * (1 - dx) * dy
                        + q(r + y1 + 1, w + x1 + 1) * dx * dy
                    )
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_temporal_shift_matches_the_kernel_formula(stride):
    g = torch.Generator().manual_seed(stride)
    x = torch.randn(2, 6, 11, 5, generator=g, dtype=torch.float64)
    ypos = torch.tensor([0.0, 1.3, -2.7, 4.2, -0.5, 12.0], dtype=torch.float64)  # 12: entirely outside
    xpos = torch.tensor([1e-10, -1e-10, 0.4, -1.6, 0.0, 0.2], dtype=torch.float64)
    got = temporal_shift(x, ypos, xpos, stride).numpy()
    assert got.shape == (2, 6, 11 // stride, 5)
    np.testing.assert_allclose(got, _shift_reference(x, ypos, xpos, stride), atol=1e-12)


def test_spatial_shift_index_is_a_permutation():
    for c in (3, 64):
        idx = spatial_shift_index(25, c, 1)
        assert sorted(idx.tolist()) == list(range(25 * c))
        # channel j of joint i reads joint i + j (mod 25)
        j = c - 1
        assert idx[2 * c + j] == ((2 + j) % 25) * c + j


def test_block_args_b_family():
    assert block_args("B0") == [(48, 1, 0), (32, 1, 0), (64, 2, 1), (128, 2, 1)]
    assert block_args("B4") == [(96, 1, 2), (48, 1, 2), (128, 2, 3), (272, 2, 3)]
    with pytest.raises(ValueError, match="B7"):
        block_args("B7")


def test_b2_detected_from_its_state_dict(tmp_path):
    torch.manual_seed(1)
    model = EfficientGCN(variant="B2", preprocess="none")
    torch.save(model.state_dict(), tmp_path / "b2_xsub.pt")
    assert load_model(tmp_path / "b2_xsub.pt", device="cpu")[1]["model_args"]["variant"] == "B2"


def _pre_normalization_loops(data):
    """The 2s-AGCN steps written as plain loops over samples, bodies and frames (numpy)."""
    s = np.transpose(data.astype(np.float64), (0, 4, 2, 3, 1)).copy()  # N, M, T, V, C
    n_s, n_m, t_len = s.shape[:3]
    for i in range(n_s):
        for m in range(n_m):
            person = s[i, m]
            if not person.any():
                continue
            if not person[0].any():
                present = [f for f in range(t_len) if person[f].any()]
                tmp = person[present].copy()
                person[:] = 0
                person[: len(tmp)] = tmp
            for f in range(t_len):
                if not person[f].any() and not person[f:].any():
                    for k in range(f, t_len):
                        person[k] = person[k % f]
                    break
    for i in range(n_s):
        origin = s[i, 0, :, 1:2, :].copy()
        for m in range(n_m):
            keep = s[i, m].any(axis=-1, keepdims=True)
            s[i, m] = (s[i, m] - origin) * keep
    # spine minus hip of body 0, frame 0 -> +z; then right minus left shoulder -> +x
    for (a, b), goal in (((1, 0), np.array([0.0, 0.0, 1.0])), ((8, 4), np.array([1.0, 0.0, 0.0]))):
        for i in range(n_s):
            if not s[i].any():
                continue
            vec = s[i, 0, 0, a] - s[i, 0, 0, b]
            axis = np.cross(vec, goal)
            angle = math.acos(np.clip(vec @ goal / np.linalg.norm(vec), -1, 1))
            axis = axis / np.linalg.norm(axis)
            k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
            rot = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k  # Rodrigues
            s[i] = s[i] @ rot.T
    return np.transpose(s, (0, 4, 2, 3, 1))


def test_pre_normalization_matches_loops_and_keeps_absent_bodies_zero():
    x = _random_clip(n=2, t=14, pad_from=10)
    x[1, :, :3, :, 1] = 0  # a second person who appears late
    got = pre.pre_normalization(x).double()
    want = torch.from_numpy(_pre_normalization_loops(x.numpy()))
    assert torch.allclose(got, want, atol=1e-5)
    assert (got[0, ..., 1] == 0).all()  # the absent body stays exactly zero
    # after alignment body 0's right-minus-left shoulder vector of frame 0 points along +x
    shoulders = got[:, :, 0, 8, 0] - got[:, :, 0, 4, 0]
    assert torch.allclose(shoulders[:, 1:], torch.zeros(2, 2, dtype=shoulders.dtype), atol=1e-6)
    assert (shoulders[:, 0] > 0).all()


def test_front_end_gradients_reach_present_joints_only(effgcn_state, shift_state):
    x = _random_clip(n=2, t=12, pad_from=9).requires_grad_(True)
    for model, _ in (effgcn_state, shift_state):
        x.grad = None
        model(x)[:, 3].sum().backward()
        grad = x.grad
        assert torch.isfinite(grad).all()
        assert grad[:, :, :9][..., 0].abs().sum() > 0  # present frames of body 0
        if model.preprocess == "pre_normalization":
            assert (grad[:, :, 9:] == 0).all()  # padding: the model reads repeated clip frames instead


def test_absent_bodies_computed_once_is_exact(effgcn_state, monkeypatch):
    import ciasa.models.efficientgcn as eff

    model, _ = effgcn_state
    x = _random_clip(n=3, t=10, pad_from=8)
    x[2, ..., 1] = 0
    with torch.no_grad():
        fast = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])

        def every_body(x):
            n, m = x.shape[0], x.shape[-1]
            return torch.arange(n * m), torch.arange(n * m)

        monkeypatch.setattr(eff, "body_rows", every_body)
        full = model(x)
    assert torch.allclose(fast, full, atol=1e-5) and torch.allclose(fast, single, atol=1e-5)


def test_txt2npy_reader_matches_skeleton_reader(tmp_path):
    from ciasa.data.ntu_raw import SkeletonFileError, read_ntu_clip

    g = np.random.default_rng(0)
    body0 = g.normal(size=(6, 25, 3)).astype(np.float32)
    body1 = np.zeros((6, 25, 3), np.float32)
    body1[2:] = g.normal(size=(4, 25, 3)) * 0.01  # a ghost that hardly moves
    d = {
        "file_name": "S001C001P001R001A012",
        "nbodys": [1, 1, 2, 2, 2, 2],
        "njoints": 25,
        "skel_body0": body0,
        "skel_body1": body1,
    }
    path = tmp_path / "S001C001P001R001A012.skeleton.npy"
    np.save(path, d, allow_pickle=True)
    one = read_ntu_clip(path, max_body=1)
    assert one.shape == (3, 6, 25, 1) and np.allclose(one[..., 0], body0.transpose(2, 0, 1))
    two = read_ntu_clip(path, max_body=2)
    assert np.allclose(two[..., 1], body1.transpose(2, 0, 1))
    np.save(tmp_path / "plain.npy", np.zeros((3, 4)))
    with pytest.raises(SkeletonFileError, match=r"plain\.npy: not a txt2npy skeleton dict"):
        read_ntu_clip(tmp_path / "plain.npy")


# ---------------------------------------------------------------- the real checkpoints


def _real_clips():
    from ciasa.data.ntu_raw import read_ntu_clip

    if not (REAL / "skeletons").is_dir() or not (REAL / "weights").is_dir():
        pytest.skip(f"{REAL} is absent (real NTU clips and published weights are validation material, not shipped)")
    paths = sorted(p for p in (REAL / "skeletons").iterdir() if p.name.endswith((".skeleton", ".skeleton.npy")))
    arrays = [read_ntu_clip(p) for p in paths]
    t = max(a.shape[1] for a in arrays)
    x = np.zeros((len(arrays), 3, t, 25, 2), np.float32)
    for i, a in enumerate(arrays):
        x[i, :, : a.shape[1]] = a
    labels = torch.tensor([int(p.name[17:20]) - 1 for p in paths])
    return torch.from_numpy(x), labels


@pytest.mark.parametrize(
    "weights", ["2002_EfficientGCN-B0_ntu-xview.pdparams.tar", "2001_EfficientGCN-B0_ntu-xsub.pdparams.tar"]
)
def test_published_efficientgcn_classifies_the_real_clips(weights):
    x, labels = _real_clips()
    assert len(labels) == 7
    model, meta = load_model(REAL / "weights" / weights, device="cpu")
    assert meta["model_args"]["variant"] == "B0"
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    assert pred.tolist() == labels.tolist()  # 7/7 with its own preprocessing


def test_published_checkpoint_one_attack_step_keeps_padding_zero():
    from ciasa.attacks import CIASA

    x, labels = _real_clips()
    model, _ = load_model(REAL / "weights" / "2002_EfficientGCN-B0_ntu-xview.pdparams.tar", device="cpu")
    clip = x[[3]]  # the two-person clip (70 frames): padding and a second body
    kwargs = {}
    try:
        from ciasa.attacks.plausibility import Plausibility

        kwargs["plausible"] = Plausibility.off()
    except ImportError:
        pass
    result = CIASA(model, mode="basic", eps=0.004, max_iter=1, device="cpu", **kwargs)(clip, labels[[3]])
    adv = result.adversarial
    assert torch.isfinite(adv).all()
    assert (adv[:, :, 70:] == 0).all()  # padding frames stay exactly zero
    moved = (adv - clip).abs()
    assert moved[:, :, :70].max() > 0
    assert moved.amax() < 0.2  # a few eps, realigned bones


def test_docs_attack_table_matches_the_benchmark_results(load_benchmark):
    """Every row of the real-NTU attack table in docs/attacks.md comes from benchmarks/real_ntu.py."""
    import json

    results = sorted((REPO / "benchmarks" / "results").glob("real_ntu*.json"))
    with_attacks = [p for p in results if json.loads(p.read_text()).get("attacks")]
    if not with_attacks:
        pytest.skip("no benchmarks/results/real_ntu*.json with attacks (run benchmarks/real_ntu.py)")
    bench = load_benchmark("real_ntu")
    doc = (REPO / "docs" / "attacks.md").read_text().splitlines()
    for path in with_attacks:
        for row in bench.table_rows(json.loads(path.read_text())):
            assert row in doc, f"{path.name}: row missing from docs/attacks.md: {row}"
    reports = [json.loads(p.read_text()) for p in results]
    for row in bench.plausibility_rows(reports):
        assert row in doc, f"plausibility row missing from docs/attacks.md: {row}"


def test_real_ntu_tables_pool_counts_and_sort_the_grid(load_benchmark):
    """Plausibility rates pool numerator and denominator over clips (not a mean of per-clip
    rates), and results from several files come out in one table order."""
    bench = load_benchmark("real_ntu")

    def clip(knee: float, legs: float, speed: float) -> dict:
        return {
            "leg_hyperext_10": knee,
            "leg_frames": legs,
            "arm_hyperext_10": 0.0,
            "arm_frames": legs,
            "under_floor": 0.0,
            "body_frames": legs / 2,
            "skating_mm": None,
            "speed_ratio": speed,
        }

    # 0/10 and 30/90: pooled 30/100 = 30.0 %, where the mean of the two clips' rates is 16.7 %.
    cells = bench._plausibility_cells([clip(0, 10, 1.0), clip(30, 90, 1.5)])
    assert cells.startswith("30.0 (30/100) | 0.0 (0/100) | 0.0 (0/50) | - | 1.25 / 1.50")

    def attack(model: str, mode: str, eps: float | None, form: str, box: str) -> dict:
        return {
            "model": model,
            "mode": mode,
            "eps_m": eps,
            "settings": {"formulation": form, "box": box},
            "per_clip": [{"plausibility": clip(1, 10, 1.0)}],
        }

    reports = [
        {"attacks": [attack("shiftgcn-xview", "basic", 0.004, "perturbation", "loose")]},
        {
            "attacks": [
                attack("efficientgcn-xview", "advanced", None, "perturbation", "loose"),
                attack("efficientgcn-xview", "basic", 0.008, "perturbation", "strict"),
                attack("efficientgcn-xview", "basic", 0.008, "perturbation", "loose"),
                attack("efficientgcn-xview", "basic", 0.004, "skeleton", "loose"),
            ]
        },
        {"clean_plausibility": [clip(2, 10, 1.0)]},
    ]
    order = [(a["model"], a["mode"], a["eps_m"], a["settings"]["box"]) for a in bench.merged_attacks(reports)]
    assert order == [
        ("efficientgcn-xview", "basic", 0.004, "loose"),
        ("efficientgcn-xview", "basic", 0.008, "loose"),
        ("efficientgcn-xview", "basic", 0.008, "strict"),
        ("efficientgcn-xview", "advanced", None, "loose"),
        ("shiftgcn-xview", "basic", 0.004, "loose"),
    ]
    rows = bench.plausibility_rows(reports)
    assert rows[0].startswith("| clean clips | 20.0 (2/10)")
    assert len(rows) == 6
    # a run with the human-possible limits says so, and sorts after the paper's attack of the same setting
    limited = attack("efficientgcn-xview", "advanced", None, "perturbation", "loose")
    limited["settings"]["plausibility_settings"] = {"active": ["hinge", "floor"]}
    reports.append({"attacks": [limited]})
    labels = [row.split(" | ")[0] for row in bench.plausibility_rows(reports)]
    assert labels[4:6] == [
        "| efficientgcn-xview, advanced (legs), `perturbation`, loose",
        "| efficientgcn-xview, advanced (legs), `perturbation`, loose, human-possible limits on",
    ]


def test_docs_first_order_table_matches_the_benchmark_result(load_benchmark):
    import json

    path = REPO / "benchmarks" / "results" / "synth_vs_real.json"
    if not path.is_file():
        pytest.skip("no benchmarks/results/synth_vs_real.json (run benchmarks/synth_vs_real.py)")
    bench = load_benchmark("synth_vs_real")
    doc = (REPO / "docs" / "attacks.md").read_text().splitlines()
    for row in bench.table_rows(json.loads(path.read_text())):
        assert row in doc, f"row missing from docs/attacks.md: {row}"
