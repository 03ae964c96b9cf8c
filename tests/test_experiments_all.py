"""``python -m ciasa.experiments all``: every table, both formulations, resumable, checked before work."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ciasa.data.stgcn import save_split
from ciasa.experiments import __main__ as experiments
from ciasa.experiments import paper, results, sweeps
from ciasa.models import build_model, save_checkpoint
from ciasa.skeleton import NTU_RGBD
from ciasa.skeleton import OPENPOSE_18 as OPENPOSE

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSES = ["a", "b", "c"]
STGCN_ARGS = {
    "in_channels": 3,
    "num_class": 3,
    "graph_args": {"layout": "ntu-rgb+d", "strategy": "spatial"},
    "base_channels": 4,
    "dropout": 0.0,
}


def code(argv: list[str]) -> int:
    try:
        return experiments.main(argv)
    except SystemExit as done:
        return int(done.code)


def _clips(n: int, joints: int, seed: int, t: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 3, t, joints, 1), dtype=np.float32)
    for i in range(n):
        x[i, :, :, :, 0] = rng.normal(0, 0.3, size=(3, 1, joints)) + rng.normal(0, 0.02, size=(3, t, joints)).cumsum(1)
    x[:, 2] += 3.0
    return x


@pytest.fixture(scope="module")
def run_inputs(tmp_path_factory):
    """An NTU-25 set whose val labels are what the (untrained) ST-GCN predicts, so every clip is
    clean-correct, and checkpoints of every model the tables need."""
    root = tmp_path_factory.mktemp("all")
    torch.manual_seed(0)
    ckpts = {}
    for arch in ("stgcn", "agcn", "agcn_bone", "pa_lstm"):
        args = {**STGCN_ARGS, "hidden_size": 4} if arch == "pa_lstm" else STGCN_ARGS
        ckpts[arch] = root / f"{arch}.pt"
        save_checkpoint(ckpts[arch], build_model(arch, **args).eval(), arch, args, CLASSES)
    stgcn = build_model("stgcn", **STGCN_ARGS).eval()
    save_checkpoint(ckpts["stgcn"], stgcn, "stgcn", STGCN_ARGS, CLASSES)
    val = _clips(8, 25, seed=2)
    with torch.no_grad():
        labels = stgcn(torch.from_numpy(val)).argmax(1).tolist()
    names = [f"S001C001P001R001A{k:03d}" for k in range(1, 9)]
    data = root / "data"
    save_split(data, "train", _clips(8, 25, seed=1), names, [0, 1, 2, 0, 1, 2, 0, 1], CLASSES, layout=NTU_RGBD)
    save_split(data, "val", val, names, labels, CLASSES, layout=NTU_RGBD)
    return root, data, ckpts


def _argv(root, data, ckpts, out, *extra):
    return [
        "all",
        "--checkpoint",
        str(ckpts["stgcn"]),
        "--data",
        str(data),
        "--out",
        str(out),
        "--transfer-models",
        f"js={ckpts['agcn']}",
        f"bs={ckpts['agcn_bone']}",
        f"pa_lstm={ckpts['pa_lstm']}",
        "--limit",
        "3",
        "--max-iter",
        "2",
        "--batch-size",
        "3",
        "--device",
        "cpu",
        "--no-progress",
        *extra,
    ]


def test_all_tables_both_formulations_resume_and_render(run_inputs, monkeypatch, capsys):
    root, data, ckpts = run_inputs
    out = root / "run"
    attacks = []
    real_attack = sweeps.attack_dataset
    monkeypatch.setattr(sweeps, "attack_dataset", lambda *a, **k: attacks.append(k["desc"]) or real_attack(*a, **k))
    assert code(_argv(root, data, ckpts, out)) == 0
    md = capsys.readouterr().out
    res = json.loads((out / "results.json").read_text())
    keys = [u["unit"] for u in res["units"]]
    assert keys == [
        "ntu/fig2",
        "ntu/table1_skeleton",
        "ntu/table1_perturbation",
        "ntu/table2_skeleton",
        "ntu/table2_perturbation",
        "ntu/table3_basic_skeleton",
        "ntu/table3_basic_perturbation",
        "ntu/table3_advanced_skeleton",
        "ntu/table3_advanced_perturbation",
        "ntu/table4_skeleton",
        "ntu/table4_perturbation",
        "ntu/table5_skeleton",
        "ntu/table5_perturbation",
    ]
    # each formulation reached CIASA: the two differ in what they optimise
    t1 = {u["formulation"]: u["record"] for u in res["units"] if u["table"] == "table1"}
    assert t1["skeleton"]["attack_options"] == {"optimize": "skeleton", "smooth": "ours"}
    assert t1["perturbation"]["attack_options"]["optimize"] == "perturbation"
    # Table I at eps 0.01, Table IV's last row and Table V's lambda 10 are one attack, run once per formulation
    for f in ("skeleton", "perturbation"):
        row1 = next(
            r for u in res["units"] if u["unit"] == f"ntu/table1_{f}" for r in u["record"]["rows"] if r["eps"] == 0.01
        )
        row4 = next(u for u in res["units"] if u["unit"] == f"ntu/table4_{f}")["record"]["rows"][-1]
        row5 = next(u for u in res["units"] if u["unit"] == f"ntu/table5_{f}")["record"]["rows"][1]
        assert row5["lambda"] == 10.0
        for k in ("targeted_count", "flipped_count", "joint_var_mean"):
            assert row1[k] == row4[k] == row5[k]
    # per formulation: Table I 5 rows + Table II 5 + Table IV 4 + Table V 3 = 17 rows, 15 different attacks
    assert len(attacks) == 2 * 15
    # every table is there with the paper's numbers beside ours, and the figures exist
    text = (out / "results.md").read_text()
    assert text == md.rstrip("\n") + "\n" or text.strip() in md
    for needle in (
        "## Fig. 2",
        "## Table I:",
        "## Table II:",
        "## Table III:",
        "## Table IV:",
        "## Table V:",
        "78.2",
        "99.6",
        "90.8",
        "68.5",
        "7.09",
        "6.45",
        "PA-LSTM",
        "2s-AGCN",
        "/3)",
        "python -m ciasa",
    ):
        assert needle in text, needle
    assert (out / "figures" / "fig2.png").stat().st_size > 0 and (out / "figures" / "table1.png").stat().st_size > 0
    # the counts printed come from the units' own records
    t3 = next(u for u in res["units"] if u["unit"] == "ntu/table3_basic_perturbation")["record"]
    assert t3["n"] == 3 and [r["key"] for r in t3["rows"]] == ["source", "js", "bs", "2s", "pa_lstm"]

    # resume: a rerun with the same settings runs no unit and renders the same page
    monkeypatch.setattr(paper, "run_unit", lambda *a, **k: pytest.fail("a finished unit ran again"))
    assert code(_argv(root, data, ckpts, out)) == 0
    assert (out / "results.md").read_text() == text
    # `results` renders the same page from results.json; --check agrees
    assert code(["results", "--from", str(out / "results.json"), "--out", str(root / "again" / "results.md")]) == 0
    again = (root / "again" / "results.md").read_text()
    assert again.split("\n", 3)[3] == text.split("\n", 3)[3]  # the same page below its "generated by" line
    assert (
        code(["results", "--from", str(out / "results.json"), "--out", str(root / "again" / "results.md"), "--check"])
        == 0
    )
    (root / "again" / "results.md").write_text(again.replace("78.2", "78.3"))
    assert (
        code(["results", "--from", str(out / "results.json"), "--out", str(root / "again" / "results.md"), "--check"])
        == 1
    )


def test_changed_settings_rerun_only_what_they_change(run_inputs, monkeypatch):
    root, data, ckpts = run_inputs
    out = root / "partial"
    assert code(_argv(root, data, ckpts, out, "--tables", "fig2,table1", "--formulations", "perturbation")) == 0
    ran = []
    real = paper.run_unit
    monkeypatch.setattr(paper, "run_unit", lambda unit, *a, **k: ran.append(unit.key) or real(unit, *a, **k))
    assert (
        code(
            _argv(
                root, data, ckpts, out, "--tables", "fig2,table1", "--formulations", "perturbation", "--max-iter", "3"
            )
        )
        == 0
    )
    assert ran == ["ntu/fig2", "ntu/table1_perturbation"]  # max_iter is part of every unit's settings
    ran.clear()
    (out / "ntu" / "table1_perturbation" / "unit.json").unlink()  # as if interrupted inside Table I
    assert (
        code(
            _argv(
                root, data, ckpts, out, "--tables", "fig2,table1", "--formulations", "perturbation", "--max-iter", "3"
            )
        )
        == 0
    )
    assert ran == ["ntu/table1_perturbation"]


@pytest.mark.parametrize(
    "change, message",
    [
        (["--tables", "table1,table9"], "unknown table(s) table9"),
        (["--formulations", "joints"], "unknown formulation(s) joints"),
        (["--limit", "0"], "--limit: must be >= 1"),
    ],
)
def test_bad_arguments_exit_2_before_work(run_inputs, monkeypatch, capsys, change, message):
    root, data, ckpts = run_inputs
    monkeypatch.setattr(paper, "run_unit", lambda *a, **k: pytest.fail("no work may start"))
    assert code(_argv(root, data, ckpts, root / "bad", *change)) == 2
    assert message in capsys.readouterr().err
    assert not (root / "bad").exists()


def test_wrong_checkpoints_are_named_before_work(run_inputs, tmp_path, monkeypatch, capsys):
    root, data, ckpts = run_inputs
    monkeypatch.setattr(paper, "run_unit", lambda *a, **k: pytest.fail("no work may start"))
    # a checkpoint for another skeleton layout
    op_args = {**STGCN_ARGS, "graph_args": {"layout": "openpose", "strategy": "spatial"}}
    openpose = tmp_path / "openpose.pt"
    save_checkpoint(openpose, build_model("stgcn", **op_args), "stgcn", op_args, CLASSES)
    argv = _argv(root, data, ckpts, tmp_path / "o")
    argv[argv.index("--checkpoint") + 1] = str(openpose)
    assert code(argv) == 2
    assert "openpose.pt" in capsys.readouterr().err
    # a transfer model trained on other classes
    other = tmp_path / "other_classes.pt"
    save_checkpoint(other, build_model("agcn", **STGCN_ARGS), "agcn", STGCN_ARGS, ["x", "y", "z"])
    argv = _argv(root, data, ckpts, tmp_path / "o")
    argv[argv.index("--transfer-models") + 1] = f"js={other}"
    assert code(argv) == 2
    assert "other_classes.pt" in capsys.readouterr().err
    # a bone-stream slot given a joint-stream model
    argv = _argv(root, data, ckpts, tmp_path / "o")
    argv[argv.index("--transfer-models") + 2] = f"bs={ckpts['agcn']}"
    assert code(argv) == 2
    assert "agcn_bone" in capsys.readouterr().err
    # table3 without transfer models; half of the Kinetics pair
    argv = _argv(root, data, ckpts, tmp_path / "o")
    cut = argv.index("--transfer-models")
    assert code(argv[:cut] + argv[cut + 4 :]) == 2
    assert "table3 needs --transfer-models" in capsys.readouterr().err
    assert code(_argv(root, data, ckpts, tmp_path / "o", "--kinetics-data", str(data))) == 2
    assert "go together" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_kinetics_rows_run_on_the_2d_set(run_inputs, tmp_path):
    """Fig. 2 and Table I on an OpenPose-18 set with a score channel: its own section and units."""
    root, data, ckpts = run_inputs
    op_args = {**STGCN_ARGS, "graph_args": {"layout": "openpose", "strategy": "spatial"}}
    model = build_model("stgcn", **op_args).eval()
    kin_ckpt = tmp_path / "kinetics.pt"
    save_checkpoint(kin_ckpt, model, "stgcn", op_args, CLASSES)
    clips = _clips(6, 18, seed=3)
    clips[:, 0:2] = np.clip(clips[:, 0:2] * 0.1, -0.5, 0.5)
    clips[:, 2] = 0.8  # detection scores
    with torch.no_grad():
        labels = model(torch.from_numpy(clips)).argmax(1).tolist()
    names = [f"clip{k}" for k in range(6)]
    kin = tmp_path / "kin"
    save_split(kin, "train", clips, names, labels, CLASSES, layout=OPENPOSE)
    save_split(kin, "val", clips, names, labels, CLASSES, layout=OPENPOSE)
    out = tmp_path / "run"
    assert (
        code(
            _argv(
                root,
                data,
                ckpts,
                out,
                "--tables",
                "fig2,table1",
                "--formulations",
                "perturbation",
                "--kinetics-checkpoint",
                str(kin_ckpt),
                "--kinetics-data",
                str(kin),
            )
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    assert [u["unit"] for u in res["units"]] == [
        "ntu/fig2",
        "ntu/table1_perturbation",
        "kinetics/fig2",
        "kinetics/table1_perturbation",
    ]
    text = (out / "results.md").read_text()
    assert "Kinetics-like 2-D set" in text and "82.5" in text  # the paper's Kinetics row beside ours
    row = res["units"][-1]["record"]["rows"][0]
    assert row["n"] == 3


def test_plan_and_render_without_optional_tables():
    units = paper.plan(["fig2", "table3"], ["perturbation"], ("ntu", "kinetics"))
    assert [u.key for u in units] == [
        "ntu/fig2",
        "ntu/table3_basic_perturbation",
        "ntu/table3_advanced_perturbation",
        "kinetics/fig2",
    ]
    empty = {
        "format": results.RESULTS_FORMAT,
        "command": "c",
        "split": "val",
        "limit": 1,
        "seed": 0,
        "max_iter": 1,
        "formulations": {"perturbation": sweeps.FORMULATIONS["perturbation"]},
        "units": [],
        "seconds_all_units": 0.0,
    }
    page = results.render(empty, "x.json")
    assert page.startswith("# The paper's experiments, re-measured") and "## Table I" not in page
