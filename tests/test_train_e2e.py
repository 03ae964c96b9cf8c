"""End to end: the embedded data generator, then the training and evaluation CLIs as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_synth_train_evaluate_cli(tmp_path, repo_root):
    data = tmp_path / "synth"
    run = tmp_path / "run"

    def cli(*args: str) -> None:
        subprocess.run([sys.executable, "-m", *args], check=True, cwd=repo_root, timeout=600)

    # a small cut of the embedded set: 6 performers (4 train, 2 val in xsub), two cameras, 32 frames
    cli("ciasa.data.synth", "--out", str(data), "--subjects", "1-6", "--cameras", "1,2", "--frames", "32", "--quiet")
    cli(
        "ciasa.train",
        "--data",
        str(data / "xsub"),
        "--out",
        str(run),
        "--epochs",
        "6",
        "--batch-size",
        "8",
        "--threads",
        "1",
        "--base-channels",
        "8",
        "--dropout",
        "0",
        "--lr",
        "0.05",
        "--augment",
        "--val-every",
        "3",
        "--no-progress",
    )
    log = json.loads((run / "train_log.json").read_text())
    assert log["finished"] and [e["epoch"] for e in log["epochs"]] == [1, 2, 3, 4, 5, 6]
    assert log["model_args"]["graph_args"]["layout"] == "ntu-rgb+d"
    assert log["epochs"][-1]["train_loss"] < log["epochs"][0]["train_loss"]  # it learns
    assert {"val_top1", "val_noisy_top1"} <= set(log["epochs"][2]) and "val_top1" not in log["epochs"][0]

    cli(
        "ciasa.evaluate",
        "--checkpoint",
        str(run / "model.pt"),
        "--data",
        str(data / "xsub"),
        "--out",
        str(tmp_path / "eval"),
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    classes = json.loads((data / "xsub" / "classes.json").read_text())
    assert metrics["n"] == log["val_data"]["shape"][0] and set(metrics["per_class_accuracy"]) == set(classes)
    assert metrics["top1"] == pytest.approx(log["final"]["val_top1"])
    assert (tmp_path / "eval" / "confusion.png").is_file()
