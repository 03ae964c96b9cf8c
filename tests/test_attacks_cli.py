"""``python -m ciasa.attack`` and ``python -m ciasa.experiments`` on a real (narrow, untrained)
ST-GCN checkpoint and the embedded synthetic data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ciasa import attack as attack_cli
from ciasa.data.stgcn import load_split, save_split
from ciasa.experiments.__main__ import main as experiments_main
from ciasa.models import STGCN, save_checkpoint
from ciasa.skeleton import NTU_RGBD, bone_lengths

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def small_setup(tmp_path_factory) -> tuple[Path, Path]:
    """A 6-class narrow ST-GCN and a tiny data set in which it gets every val sample right.

    The labels are the model's own clean predictions, so "clean-correct" is not empty
    without training (training is the model stage's job).
    """
    from ciasa.data.synth import __main__ as synth_main

    root = tmp_path_factory.mktemp("attack_cli")
    synth_main.main(["--out", str(root / "synth"), "--subjects", "1-4", "--frames", "32", "--quiet"])
    torch.manual_seed(0)
    args = {
        "in_channels": 3,
        "num_class": 6,
        "graph_args": {"layout": "ntu-rgb+d", "strategy": "spatial"},
        "base_channels": 8,
    }
    model = STGCN(**args).eval()
    ckpt = root / "model.pt"
    save_checkpoint(ckpt, model, "stgcn", args, [f"class{i}" for i in range(6)])
    data_dir = root / "data"
    for split in ("train", "val"):
        src = load_split(root / "synth" / "xsub", split, mmap=False)
        clips = src.data[:8]
        with torch.no_grad():
            labels = model(torch.from_numpy(clips)).argmax(1).numpy()
        save_split(data_dir, split, clips, src.names[:8], labels, [f"class{i}" for i in range(6)], NTU_RGBD)
    return ckpt, data_dir


def test_attack_cli_writes_stgcn_layout_csv_and_summary(small_setup, tmp_path) -> None:
    ckpt, data = small_setup
    out = tmp_path / "out"
    rc = attack_cli.main(
        [
            "--checkpoint",
            str(ckpt),
            "--data",
            str(data),
            "--split",
            "val",
            "--mode",
            "advanced",
            "--out",
            str(out),
            "--limit",
            "4",
            "--max-iter",
            "4",
            "--batch-size",
            "3",
            "--device",
            "cpu",
            "--no-progress",
            "--quiet",
        ]
    )
    assert rc == 0
    adv = load_split(out, "val", mmap=False)
    clean = load_split(data, "val", mmap=False)
    assert adv.names == clean.names[:4]
    assert adv.labels.tolist() == clean.labels[:4].tolist()  # true labels, not targets
    assert adv.data.shape == (4,) + clean.data.shape[1:]
    legs = list(NTU_RGBD.region_joints("legs"))
    others = [j for j in range(25) if j not in legs]
    assert np.array_equal(adv.data[:, :, :, others], clean.data[:4, :, :, others])
    present = np.abs(clean.data[:4]).sum(axis=(1, 3)) > 0  # (N, T, M)
    err = np.abs(bone_lengths(adv.data, NTU_RGBD, 1) - bone_lengths(clean.data[:4], NTU_RGBD, 1))
    assert err.transpose(0, 1, 3, 2)[present].max() <= 1e-5
    rows = list(csv.DictReader((out / "per_sample.csv").open()))
    assert [r["name"] for r in rows] == clean.names[:4]
    assert {"target", "adv_pred", "success_targeted", "iterations", "joint_var_mean"} <= set(rows[0])
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "fooling_targeted",
        "fooling_untargeted",
        "clean_accuracy",
        "attacked_accuracy",
        "mean_target_confidence",
        "joint_variation",
        "bone_length_error",
        "acceleration_energy",
        "eps_overshoot",
        "n",
        "seconds",
    ):
        assert key in summary, key
    assert summary["n"] == 4 and summary["clean_accuracy"] == 1.0
    assert summary["bone_length_error"]["max"] <= 1e-5
    assert summary["eps_overshoot"]["joint_names"][0] in NTU_RGBD.joint_names


def test_attack_cli_names_list_and_errors(small_setup, tmp_path, capsys) -> None:
    ckpt, data = small_setup
    names = load_split(data, "val").names
    f = tmp_path / "names.txt"
    f.write_text(f"{names[5]}\n{names[2]}\n")
    out = tmp_path / "out"
    common = [
        "--checkpoint",
        str(ckpt),
        "--data",
        str(data),
        "--device",
        "cpu",
        "--no-progress",
        "--quiet",
        "--max-iter",
        "2",
    ]
    assert attack_cli.main([*common, "--out", str(out), "--names", f"@{f}", "--mode", "basic", "--no-gan"]) == 0
    assert load_split(out, "val").names == [names[5], names[2]]

    assert attack_cli.main([*common, "--out", str(out), "--eps", "0"]) == 2
    assert "positive" in capsys.readouterr().err
    assert attack_cli.main([*common, "--out", str(out), "--eps", "0.1,0.2"]) == 2
    assert "one entry per joint" in capsys.readouterr().err
    assert attack_cli.main([*common, "--out", str(out), "--mode", "localized", "--region", "tail"]) == 2
    assert "no attack region" in capsys.readouterr().err
    bad = tmp_path / "bad"
    clean = load_split(data, "val", mmap=False)
    save_split(bad, "val", clean.data, clean.names, np.full(len(clean.names), 9), layout=NTU_RGBD)
    assert attack_cli.main([*common, "--out", str(out), "--data", str(bad), "--no-gan"]) == 2
    assert "out of range" in capsys.readouterr().err
    openpose = tmp_path / "openpose"
    save_split(openpose, "val", np.ones((2, 3, 8, 18, 1), np.float32), ["a", "b"], [0, 1])
    assert attack_cli.main([*common, "--out", str(out), "--data", str(openpose), "--no-gan"]) == 2
    assert "joints" in capsys.readouterr().err


def test_attack_cli_reports_when_nothing_is_classified_correctly(small_setup, tmp_path) -> None:
    ckpt, data = small_setup
    clean = load_split(data, "val", mmap=False)
    wrong = tmp_path / "wrong"
    save_split(wrong, "val", clean.data, clean.names, (clean.labels + 1) % 6, layout=NTU_RGBD)
    out = tmp_path / "out"
    rc = attack_cli.main(
        [
            "--checkpoint",
            str(ckpt),
            "--data",
            str(wrong),
            "--out",
            str(out),
            "--limit",
            "2",
            "--max-iter",
            "2",
            "--no-gan",
            "--device",
            "cpu",
            "--no-progress",
            "--quiet",
        ]
    )
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clean_accuracy"] == 0.0
    assert summary["fooling_targeted"] is None and "note" in summary
    assert summary["flipped"] == {"count": 0, "of": 0, "rate": None}
    assert summary["targeted_success"]["rate"] is None


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


def test_attack_cli_shard_writes_per_clip_skeletons_and_honest_counts(small_setup, tmp_path, capsys) -> None:
    ckpt, data = small_setup
    clean = load_split(data, "val", mmap=False)
    # labels: clips 0-2 as the model predicts (clean-correct), clip 3 wrong on clean input
    labels = clean.labels.copy()
    labels[3] = (labels[3] + 1) % 6
    shard = tmp_path / "shard"
    save_split(shard, "val", clean.data, clean.names, labels, [f"class{i}" for i in range(6)], NTU_RGBD)
    save_split(shard, "train", clean.data, clean.names, labels, [f"class{i}" for i in range(6)], NTU_RGBD)
    out, clips = tmp_path / "out", tmp_path / "clips"
    picked = clean.names[:4]
    rc = attack_cli.main(
        [
            "--checkpoint",
            str(ckpt),
            "--data",
            str(shard),
            "--out",
            str(out),
            "--names",
            ",".join(picked),
            "--clips-out",
            str(clips),
            "--mode",
            "basic",
            "--eps",
            "0.05",
            "--target",
            "untargeted",
            "--max-iter",
            "6",
            "--batch-size",
            "3",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert rc == 0
    assert capsys.readouterr().err == ""  # --quiet: no log lines and no progress bar
    adv = load_split(out, "val", mmap=False)
    for i, name in enumerate(picked):
        c = np.load(clips / name / "clean.npy")
        p = np.load(clips / name / "perturbed.npy")
        assert c.dtype == p.dtype == np.float32 and c.shape == clean.data.shape[1:]
        assert np.array_equal(c, clean.data[i]) and np.array_equal(p, adv.data[i])
    assert not [f for f in clips.rglob(".*")]  # no temporary files left behind
    summary = json.loads((out / "summary.json").read_text())
    rows = list(csv.DictReader((out / "per_sample.csv").open()))
    flipped = [int(r["flipped"]) for r in rows]
    assert flipped[3] == 0  # wrong on clean input: never "flipped"
    assert summary["n_clean_correct"] == 3
    assert summary["flipped"] == {"count": sum(flipped), "of": 3, "rate": sum(flipped) / 3}
    assert summary["targeted_success"] is None and summary["target_rule"] == "untargeted"
    assert summary["formulation"] == "perturbation" and len(summary["gap_curve"]) == 6
    assert all(r["target"] == "-1" for r in rows)


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--target", "6"], "out of range"),
        (["--target", "dance"], "unknown target"),
        (["--error-model", "{bad}"], "does not match"),
        (["--error-model", "{missing}"], "not found"),
        (["--error-samples", "3"], "needs --error-model"),
        (["--names", "S001C001P001R001A001,nope"], "not in the data"),
        (["--plausible", "hinge,wings"], "--plausible"),
        (["--plausible-method", "magic"], "--plausible-method"),
        (["--speed-ratio", "0.5"], "--speed-ratio"),
        (["--plausible-weight", "-1"], "--plausible-weight"),
        (["--control", "maybe"], "unrecognized arguments"),
    ],
)
def test_attack_cli_bad_input_exits_2_and_writes_nothing(small_setup, tmp_path, capsys, extra, message) -> None:
    from tests.test_attacks_roundtrip import model_doc

    ckpt, data = small_setup
    bad = tmp_path / "err.json"
    bad.write_text(json.dumps(model_doc(layout="openpose", v=18)))
    extra = [e.replace("{bad}", str(bad)).replace("{missing}", str(tmp_path / "none.json")) for e in extra]
    out, clips = tmp_path / "out", tmp_path / "clips"
    argv = [
        "--checkpoint",
        str(ckpt),
        "--data",
        str(data),
        "--out",
        str(out),
        "--clips-out",
        str(clips),
        "--max-iter",
        "1",
        "--no-gan",
        "--device",
        "cpu",
        "--quiet",
        *extra,
    ]
    try:
        rc = attack_cli.main(argv)
    except SystemExit as exc:  # argparse's own refusal of a flag value
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and (err.startswith("error:") or "ciasa.attack: error:" in err)  # ours or argparse's
    assert _tree(out) == [] and _tree(clips) == []


def test_attack_cli_rejects_unknown_formulation(small_setup, tmp_path) -> None:
    ckpt, data = small_setup
    with pytest.raises(SystemExit) as info:
        attack_cli.main(
            ["--checkpoint", str(ckpt), "--data", str(data), "--out", str(tmp_path / "o"), "--optimize", "delta"]
        )
    assert info.value.code == 2
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("experiment", ["fgsm-sweep", "ablation"])
def test_experiments_write_csv_markdown_plot(small_setup, tmp_path, experiment) -> None:
    ckpt, data = small_setup
    out = tmp_path / experiment
    extra = ["--eps", "0.01,0.02"] if experiment == "fgsm-sweep" else ["--eps", "0.01"]
    rc = experiments_main(
        [
            experiment,
            "--checkpoint",
            str(ckpt),
            "--data",
            str(data),
            "--out",
            str(out),
            "--limit",
            "3",
            "--max-iter",
            "2",
            "--device",
            "cpu",
            "--no-progress",
            "--quiet",
            *extra,
        ]
    )
    assert rc == 0
    stem = experiment.replace("-", "_")
    for suffix in ("csv", "md", "png", "json"):
        assert (out / f"{stem}.{suffix}").stat().st_size > 0
    record = json.loads((out / f"{stem}.json").read_text())
    assert len(record["rows"]) == (2 if experiment == "fgsm-sweep" else 4)
    if experiment == "ablation":
        no_ssr, ssr = record["rows"][0], record["rows"][1]
        assert ssr["bone_error_max"] <= 1e-5 < no_ssr["bone_error_max"]


def test_strips_figure(small_setup, tmp_path) -> None:
    ckpt, data = small_setup
    out = tmp_path / "strips"
    rc = experiments_main(
        [
            "strips",
            "--checkpoint",
            str(ckpt),
            "--data",
            str(data),
            "--out",
            str(out),
            "--count",
            "2",
            "--max-iter",
            "2",
            "--frames",
            "5",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert rc == 0
    record = json.loads((out / "strips.json").read_text())
    assert len(record["figures"]) == 2
    for fig in record["figures"]:
        assert Path(fig["path"]).stat().st_size > 1000
        assert len(fig["frames"]) == 5


def test_attack_cli_writes_the_control_and_plausibility_summary(small_setup, tmp_path, capsys) -> None:
    from ciasa.attacks import plausibility as P
    from ciasa.attacks.metrics import joint_displacement

    ckpt, data = small_setup
    out, clips = tmp_path / "out", tmp_path / "clips"
    names = load_split(data, "val", mmap=False).names[:3]
    argv = [
        "--checkpoint",
        str(ckpt),
        "--data",
        str(data),
        "--out",
        str(out),
        "--names",
        ",".join(names),
        "--clips-out",
        str(clips),
        "--mode",
        "advanced",
        "--target",
        "untargeted",
        "--max-iter",
        "3",
        "--batch-size",
        "2",
        "--device",
        "cpu",
        "--no-progress",
    ]
    assert attack_cli.main(argv) == 0
    log = capsys.readouterr().err
    assert "realised L-inf max" in log and "control flipped" in log and "hyperextended" in log
    summary = json.loads((out / "summary.json").read_text())
    clean_all = np.stack([np.load(clips / n / "clean.npy") for n in names])
    control = np.stack([np.load(clips / n / "control.npy") for n in names])
    adv = np.stack([np.load(clips / n / "perturbed.npy") for n in names])
    assert control.dtype == np.float32 and control.shape == clean_all.shape
    legs = list(NTU_RGBD.region_joints("legs"))
    others = [j for j in range(25) if j not in legs]
    assert np.array_equal(control[:, :, :, others], clean_all[:, :, :, others])
    assert not np.array_equal(control, clean_all) and not np.array_equal(control, adv)
    # a clip's control follows from its clean and perturbed skeletons and its name alone
    from ciasa.attacks.control import control_batch

    legs_mask = torch.zeros(25, dtype=torch.bool)
    legs_mask[legs] = True
    alone = control_batch(
        torch.from_numpy(clean_all[1:2]), torch.from_numpy(adv[1:2]), names[1:2], NTU_RGBD, legs_mask, P.Plausibility()
    ).skeleton
    assert np.array_equal(alone.numpy()[0], control[1])
    # and a second run writes the same files, bit for bit
    out2, clips2 = tmp_path / "out2", tmp_path / "clips2"
    argv2 = [a if a not in (str(out), str(clips)) else (str(out2) if a == str(out) else str(clips2)) for a in argv]
    assert attack_cli.main(argv2) == 0
    assert all(np.array_equal(np.load(clips2 / n / "control.npy"), control[i]) for i, n in enumerate(names))
    # summary keys the pipeline reads
    c = summary["control"]
    assert c["file"] == "control.npy" and c["n"] == 3
    assert set(c["accuracy"]) == {"clean", "control", "perturbed"}
    assert c["accuracy"]["clean"] == summary["clean_accuracy"]
    assert c["accuracy"]["perturbed"] == summary["attacked_accuracy"]
    assert c["flipped"]["of"] == summary["n_clean_correct"]
    disp = c["realised_displacement"]
    got = joint_displacement(torch.from_numpy(control), torch.from_numpy(clean_all))[:, :, legs].mean() * 1000
    assert disp["control_mean_mm"] == pytest.approx(float(got), rel=1e-3)
    assert disp["ratio"] == pytest.approx(disp["control_mean_mm"] / disp["perturbed_mean_mm"])
    for side in ("clean", "perturbed", "control"):
        block = summary["plausibility"][side]
        for key in (
            "leg_hyperextended_10deg",
            "leg_hyperextended_20deg",
            "under_floor_2cm",
            "foot_skating_mm",
            "max_speed_ratio",
            "clips_under_floor",
        ):
            assert key in block, (side, key)
    lim = P.clean_limits(torch.from_numpy(clean_all), NTU_RGBD, P.Plausibility(method="projection"))
    # the control is projected onto the frame-local limits (speed and planted feet are measured only)
    assert P.is_plausible(torch.from_numpy(control), lim, NTU_RGBD, ("hinge", "hip", "ankle", "floor")).all()
    assert summary["plausibility_settings"]["method"] == "penalty"  # the default, chosen on training clips
    assert summary["plausibility_settings"]["penalised"] == list(P.CONSTRAINTS)
    assert summary["plausibility_settings"]["active"] == list(P.CONSTRAINTS)
    d = summary["realised_displacement"]
    assert d["eps_min_mm"] == pytest.approx(10.0) and d["eps_max_mm"] == pytest.approx(250.0)
    assert d["linf_max_mm"] == pytest.approx(1000 * np.abs(adv - clean_all).max(), rel=1e-4)
    rows = list(csv.DictReader((out / "per_sample.csv").open()))
    assert {"control_pred", "control_correct", "leg_hyperext_10", "under_floor", "speed_ratio"} <= set(rows[0])


def test_attack_cli_no_control_and_constraints_off(small_setup, tmp_path) -> None:
    ckpt, data = small_setup
    out, clips = tmp_path / "out", tmp_path / "clips"
    rc = attack_cli.main(
        [
            "--checkpoint",
            str(ckpt),
            "--data",
            str(data),
            "--out",
            str(out),
            "--limit",
            "2",
            "--clips-out",
            str(clips),
            "--max-iter",
            "2",
            "--no-control",
            "--plausible",
            "none",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert rc == 0
    assert not list(clips.rglob("control.npy")) and len(list(clips.rglob("perturbed.npy"))) == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["control"] is None and "control" not in summary["plausibility"]
    assert summary["plausibility_settings"]["method"] is None and summary["plausibility_settings"]["active"] == []
