"""Training and evaluation CLIs on small generated data sets (real torch, tiny widths)."""

from __future__ import annotations

import csv
import json
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from ciasa import evaluate as evaluate_cli
from ciasa import train as train_cli
from ciasa.data.stgcn import save_split
from ciasa.models import STGCN, load_model
from ciasa.train import TrainConfig, lr_factor

CLASSES = ["wave left", "wave right", "nod"]
TINY = ["--base-channels", "4", "--batch-size", "16", "--no-progress", "--threads", "1"]


def make_clips(n: int, T: int = 24, M: int = 1, V: int = 25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A body 3 m away; class k moves joint 7, 11 or 3 sinusoidally (learnable in a few steps)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    t = np.linspace(0, 2 * np.pi, T)
    x = rng.normal(0, 0.01, (n, 3, T, V, M)).astype(np.float32)
    x[:, 2] += 3.0
    for i, k in enumerate(labels):
        x[i, 1, :, (7, 11, 3)[k] % V, 0] += 0.4 * np.sin(t * (1.5 + rng.random()))
    if M > 1:
        x[:, :, :, :, 1:] = 0  # absent second body
    return x, labels


def write_set(directory: Path, n_train=48, n_val=24, **kw) -> Path:
    for split, n, seed in (("train", n_train, 0), ("val", n_val, 1)):
        x, y = make_clips(n, seed=seed, **kw)
        save_split(directory, split, x, [f"S001C001P{i:03d}R001A{k + 1:03d}" for i, k in enumerate(y)], y, CLASSES)
    return directory


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_set(tmp_path_factory.mktemp("data") / "set")


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    assert train_cli.main(["--data", str(dataset), "--out", str(run), "--epochs", "2", "--augment", *TINY]) == 0
    return run


def test_train_writes_run_directory(trained, dataset):
    for name in ("model.pt", "last.pt", "best.pt", "train_log.json"):
        assert (trained / name).is_file(), name
    log = json.loads((trained / "train_log.json").read_text())
    assert log["finished"] and len(log["epochs"]) == 2
    for key in ("train_loss", "train_acc", "val_top1", "val_top5", "val_noisy_top1", "seconds", "lr"):
        assert key in log["epochs"][-1], key
    assert log["model_args"]["graph_args"] == {"layout": "ntu-rgb+d", "strategy": "spatial"}
    assert log["config"]["augment"] is True
    model, meta = load_model(trained / "model.pt", device="cpu")
    assert meta["class_names"] == CLASSES and meta["layout"] == "ntu-rgb+d"
    assert model.base_channels == 4 and model(torch.zeros(1, 3, 24, 25, 1)).shape == (1, 3)


def test_interrupted_run_resumes_to_the_same_weights(dataset, tmp_path, monkeypatch):
    args = ["--data", str(dataset), "--epochs", "3", "--augment", *TINY]
    fresh = tmp_path / "fresh"
    assert train_cli.main([*args, "--out", str(fresh)]) == 0

    real_save_last = train_cli._save_last

    def crash_after_epoch_2(path, model, optimizer, cfg, model_args, class_names, history, best):
        real_save_last(path, model, optimizer, cfg, model_args, class_names, history, best)
        if len(history) == 2:
            raise KeyboardInterrupt

    run = tmp_path / "run"
    monkeypatch.setattr(train_cli, "_save_last", crash_after_epoch_2)
    assert train_cli.main([*args, "--out", str(run)]) == 130  # Ctrl-C: the convention's exit code
    monkeypatch.undo()
    assert not (run / "model.pt").exists() and (run / "last.pt").is_file()
    assert train_cli.main([*args, "--out", str(run), "--resume"]) == 0
    log = json.loads((run / "train_log.json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3] and log["finished"]
    # the same batches, augmentation and dropout draws as the uninterrupted run
    a, _ = load_model(run / "model.pt", device="cpu")
    b, _ = load_model(fresh / "model.pt", device="cpu")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(va, vb, rtol=1e-4, atol=1e-5, msg=k)


def exit_code(main, argv: list[str]) -> int:
    """The exit status, whether argparse exits (SystemExit 2) or run_main returns it."""
    try:
        return main(argv)
    except SystemExit as done:
        return int(done.code)


def _interrupt_after(monkeypatch, epochs_done: int) -> None:
    real_save_last = train_cli._save_last

    def crash(path, model, optimizer, cfg, model_args, class_names, history, best):
        real_save_last(path, model, optimizer, cfg, model_args, class_names, history, best)
        if len(history) == epochs_done:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_cli, "_save_last", crash)


def test_resume_with_other_settings_starts_fresh_and_keeps_the_old_file(dataset, tmp_path, monkeypatch, capsys):
    args = ["--data", str(dataset), "--epochs", "3", *TINY]
    run = tmp_path / "run"
    _interrupt_after(monkeypatch, 1)
    assert train_cli.main([*args, "--out", str(run)]) == 130
    monkeypatch.undo()
    # another learning rate: last.pt is not continued but kept aside, with a warning naming the difference
    assert train_cli.main([*args, "--out", str(run), "--resume", "--lr", "0.05"]) == 0
    stale = sorted(run.glob("last.pt.stale-*"))
    assert len(stale) == 1 and "lr 0.1 -> 0.05" in capsys.readouterr().err
    log = json.loads((run / "train_log.json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3]
    # another width (model_args) is set aside too instead of failing
    assert train_cli.main([*args, "--out", str(run), "--resume", "--lr", "0.05", "--base-channels", "8"]) == 0
    assert len(list(run.glob("last.pt.stale-*"))) == 2


def test_without_resume_an_earlier_last_pt_is_kept_aside(dataset, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    args = ["--data", str(dataset), "--epochs", "2", *TINY, "--out", str(run)]
    _interrupt_after(monkeypatch, 1)
    assert train_cli.main(args) == 130
    monkeypatch.undo()
    before = (run / "last.pt").read_bytes()
    assert train_cli.main(args) == 0
    stale = list(run.glob("last.pt.stale-*"))
    assert len(stale) == 1 and stale[0].read_bytes() == before
    assert "--resume was not given" in capsys.readouterr().err


def test_resume_continues_where_the_run_stopped(dataset, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    args = ["--data", str(dataset), "--epochs", "3", *TINY, "--out", str(run)]
    _interrupt_after(monkeypatch, 2)
    assert train_cli.main(args) == 130
    monkeypatch.undo()
    capsys.readouterr()
    # device, threads and progress do not change the result: still resumable
    assert train_cli.main([*args, "--resume", "--threads", "1", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "resuming" in err and "at epoch 3/3" in err
    assert not list(run.glob("last.pt.stale-*"))
    epochs = [e["epoch"] for e in json.loads((run / "train_log.json").read_text())["epochs"]]
    assert epochs == [1, 2, 3]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--dropout", "1.5"], "--dropout"),
        (["--lr", "-1"], "--lr"),
        (["--val-every", "0"], "--val-every"),
    ],
)
def test_bad_training_arguments_exit_2_before_any_work(dataset, tmp_path, capsys, flags, message):
    out = tmp_path / "r"
    assert exit_code(train_cli.main, ["--data", str(dataset), "--out", str(out), *TINY, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()  # nothing written


def test_bad_config_file_exits_2_naming_the_file(dataset, tmp_path, capsys):
    for text, message in (
        ("epochz: 3\n", "unknown settings epochz"),
        ("epochs: many\n", "'epochs' must be an integer"),
        ("batch_size: 0\n", "--batch-size must be >= 1"),
        ("- a\n", "expected a mapping"),
    ):
        cfg = tmp_path / "cfg.yaml"
        cfg.write_text(text)
        out = tmp_path / "r"
        assert train_cli.main(["--config", str(cfg), "--data", str(dataset), "--out", str(out)]) == 2, text
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert not out.exists()


def test_config_file_and_flag_precedence(dataset, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"data: {dataset}\nepochs: 1\nbase-channels: 4\nbatch_size: 8\naugment: true\n")
    c = train_cli.config_from_args(["--config", str(cfg), "--out", str(tmp_path / "r"), "--epochs", "2"])
    assert (c.epochs, c.base_channels, c.batch_size, c.augment, c.data) == (2, 4, 8, True, str(dataset))
    assert c.lr == 0.1 and c.optimizer == "sgd"  # official defaults where neither says otherwise
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 3\n")
    with pytest.raises(ValueError, match=r"bad\.yaml.*unknown settings epochz"):
        train_cli.config_from_args(["--config", str(bad), "--data", "x", "--out", "y"])


def test_lr_schedules():
    cos = TrainConfig(epochs=10, schedule="cosine", warmup_epochs=1)
    assert lr_factor(cos, 0, 10) == pytest.approx(0.1)
    assert lr_factor(cos, 10, 10) == pytest.approx(1.0)
    assert lr_factor(cos, 99, 10) < 0.01
    step = TrainConfig(epochs=80, schedule="step", lr_steps=[10, 50])
    assert [lr_factor(step, e * 5, 5) for e in (0, 9, 10, 49, 50)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])


def test_evaluate_writes_report(trained, dataset, tmp_path):
    out = tmp_path / "eval"
    assert (
        evaluate_cli.main(
            ["--checkpoint", str(trained / "model.pt"), "--data", str(dataset), "--out", str(out), "--device", "cpu"]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 24 and 0 <= metrics["top1"] <= metrics["top5"] == 1.0  # 3 classes: top-5 is all
    assert set(metrics["per_class_accuracy"]) == set(CLASSES)
    confusion = json.loads((out / "confusion.json").read_text())
    assert confusion["class_names"] == CLASSES and np.sum(confusion["matrix"]) == 24
    assert np.trace(confusion["matrix"]) / 24 == pytest.approx(metrics["top1"])
    rows = list(csv.DictReader((out / "predictions.csv").open()))
    assert len(rows) == 24 and {"name", "label", "pred", "confidence", "top5"} <= set(rows[0])
    assert (out / "confusion.png").stat().st_size > 1000


def test_evaluate_other_length_and_body_count(trained, tmp_path):
    data = write_set(tmp_path / "long", n_train=3, n_val=9, T=40, M=2)
    out = tmp_path / "eval"
    assert (
        evaluate_cli.main(
            [
                "--checkpoint",
                str(trained / "model.pt"),
                "--data",
                str(data),
                "--out",
                str(out),
                "--noise-sigma",
                "0.05,0.05,0.1",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert (
        metrics["n"] == 9 and metrics["data_shape"] == [9, 3, 40, 25, 2] and metrics["noise_sigma"] == [0.05, 0.05, 0.1]
    )


def test_evaluate_official_state_dict_with_overrides(dataset, tmp_path):
    path = tmp_path / "st_gcn.tiny.pt"
    torch.save(
        OrderedDict(STGCN(3, 3, {"layout": "ntu-rgb+d", "strategy": "spatial"}, base_channels=4).state_dict()), path
    )
    out = tmp_path / "eval"
    assert (
        evaluate_cli.main(
            [
                "--checkpoint",
                str(path),
                "--data",
                str(dataset),
                "--out",
                str(out),
                "--num-class",
                "3",
                "--layout",
                "ntu-rgb+d",
            ]
        )
        == 0
    )
    assert json.loads((out / "metrics.json").read_text())["n"] == 24
    assert (
        evaluate_cli.main(["--checkpoint", str(path), "--data", str(dataset), "--out", str(out), "--num-class", "60"])
        == 2
    )


def test_wrong_joint_count_names_the_data_file(trained, tmp_path, capsys):
    data = write_set(tmp_path / "op", n_train=3, n_val=6, V=18)
    assert (
        evaluate_cli.main(
            ["--checkpoint", str(trained / "model.pt"), "--data", str(data), "--out", str(tmp_path / "e")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "val_data.npy" in err and "18 joints" in err and "25" in err


def test_missing_files_are_named(dataset, tmp_path, capsys):
    half = tmp_path / "half"
    half.mkdir()
    (half / "train_data.npy").write_bytes((dataset / "train_data.npy").read_bytes())
    (half / "train_label.pkl").write_bytes((dataset / "train_label.pkl").read_bytes())
    assert train_cli.main(["--data", str(half), "--out", str(tmp_path / "r"), "--epochs", "1", *TINY]) == 2
    assert "val_data.npy" in capsys.readouterr().err
    assert (
        evaluate_cli.main(
            ["--checkpoint", str(tmp_path / "nope.pt"), "--data", str(dataset), "--out", str(tmp_path / "e")]
        )
        == 2
    )
    assert "nope.pt" in capsys.readouterr().err
    (half / "val_data.npy").write_bytes((dataset / "val_data.npy").read_bytes())
    with (half / "val_label.pkl").open("wb") as f:
        pickle.dump((["a", "b"], [0, 1]), f)  # 2 labels for 24 samples
    assert train_cli.main(["--data", str(half), "--out", str(tmp_path / "r"), "--epochs", "1", *TINY]) == 2
    err = capsys.readouterr().err
    assert "half/val_" in err and "label/data length mismatch" in err


def test_evaluate_accepts_an_empty_set(trained, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    np.save(empty / "val_data.npy", np.zeros((0, 3, 24, 25, 1), np.float32))
    with (empty / "val_label.pkl").open("wb") as f:
        pickle.dump(([], []), f)
    (empty / "classes.json").write_text(json.dumps(CLASSES))
    out = tmp_path / "eval"
    assert (
        evaluate_cli.main(
            ["--checkpoint", str(trained / "model.pt"), "--data", str(empty), "--out", str(out), "--no-progress"]
        )
        == 0
    )
    text = (out / "metrics.json").read_text()
    metrics = json.loads(text)
    assert metrics["n"] == 0 and metrics["top1"] is None and metrics["top5"] is None and "NaN" not in text
    assert list(csv.reader((out / "predictions.csv").open())) == [
        ["name", "label", "pred", "confidence", "top5", "label_name", "pred_name"]
    ]
    assert (out / "confusion.png").is_file()


def test_evaluate_refuses_other_class_names_unless_allowed(trained, tmp_path, capsys):
    data = write_set(tmp_path / "renamed", n_train=3, n_val=6)
    (data / "classes.json").write_text(json.dumps(["wave left", "clap", "nod"]))
    out = tmp_path / "eval"
    args = ["--checkpoint", str(trained / "model.pt"), "--data", str(data), "--out", str(out), "--no-progress"]
    assert evaluate_cli.main(args) == 2
    err = capsys.readouterr().err
    assert "classes.json" in err and "'wave right' vs data 'clap'" in err and "--allow-class-mismatch" in err
    assert not out.exists()
    assert evaluate_cli.main([*args, "--allow-class-mismatch"]) == 0
    assert json.loads((out / "metrics.json").read_text())["n"] == 6


def test_class_name_check_ignores_placeholders_and_case():
    from ciasa.data.model_fit import ClassMismatch, check_class_names

    assert check_class_names(["Wave  left", "nod"], ["wave left", "nod"], "m", "d") == []
    assert check_class_names(["class_0", "class_1"], ["wave", "nod"], "m", "d") == []  # nothing to compare
    assert check_class_names(["wave", "nod"], None, "m", "d") == []
    with pytest.raises(ClassMismatch, match="m and d name 1 of 2 classes"):
        check_class_names(["wave", "nod"], ["wave", "clap"], "m", "d")
    assert check_class_names(["wave", "nod"], ["wave", "clap"], "m", "d", allow_mismatch=True) == [(1, "nod", "clap")]


def test_take_reads_rows_in_the_order_asked():
    from ciasa.data.model_fit import take

    data = np.arange(5 * 2, dtype=np.float32).reshape(5, 2)
    assert take(data, [3, 0, 3, 1]).tolist() == data[[3, 0, 3, 1]].tolist()
    assert take(data, []).shape == (0, 2)


def test_every_committed_training_recipe_loads(repo_root):
    """config/train_*.yaml are the recipes docs/transfer.md and benchmarks/paper_results.py name."""
    from ciasa.train import load_config_file

    recipes = sorted((repo_root / "config").glob("train_*.yaml"))
    assert {p.name for p in recipes} >= {"train_plain.yaml", "train_demo.yaml", "train_agcn.yaml", "train_pa_lstm.yaml"}
    for path in recipes:
        settings = load_config_file(path)
        assert settings["epochs"] >= 1 and settings["lr"] > 0, path
    assert load_config_file(repo_root / "config" / "train_pa_lstm.yaml")["arch"] == "pa_lstm"
