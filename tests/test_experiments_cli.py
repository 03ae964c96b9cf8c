"""``python -m ciasa.experiments``: bad arguments exit 2 with a clear message before any work."""

from __future__ import annotations

import pytest

from ciasa.experiments import __main__ as experiments
from ciasa.experiments import sweeps


def code(argv: list[str]) -> int:
    try:
        return experiments.main(argv)
    except SystemExit as done:
        return int(done.code)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--limit", "0"], "--limit: must be >= 1"),
        (["--eps", "0.01,-0.02"], "every value must be a positive number, got -0.02"),
        (["--eps", "0.01,x"], "not a comma-separated list of numbers"),
        (["--batch-size", "0"], "--batch-size: must be >= 1"),
    ],
)
def test_bad_sweep_arguments_stop_before_any_work(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.setattr(sweeps, "load_setup", lambda args: pytest.fail("no work may start"))
    out = tmp_path / "out"
    rc = code(["fgsm-sweep", "--checkpoint", "c.pt", "--data", "d", "--out", str(out), *extra])
    assert rc == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_lambda_values_and_transfer_limits_are_checked(capsys):
    assert code(["lambda", "--checkpoint", "c", "--data", "d", "--out", "o", "--lams", "5,0"]) == 2
    assert "every value must be a positive number, got 0.0" in capsys.readouterr().err
    assert code(["transfer", "--checkpoint", "c", "--data", "d", "--models", "js=a", "--out", "o", "--eps", "-1"]) == 2
    assert "--eps: must be a positive number" in capsys.readouterr().err


def test_a_missing_checkpoint_is_bad_input_naming_it(tmp_path, capsys):
    rc = code(
        [
            "basic-sweep",
            "--checkpoint",
            str(tmp_path / "nope.pt"),
            "--data",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
        ]
    )
    assert rc == 2 and "nope.pt" in capsys.readouterr().err


def test_fgsm_sweep_counts_flips_of_clean_correct_clips_only():
    """With --all-samples a clip already wrong stays wrong: that is no success of the attack."""
    import argparse

    import numpy as np
    import torch

    from ciasa.skeleton import NTU_RGBD

    class Constant(torch.nn.Module):  # always class 0, whatever the input
        def __init__(self):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.tensor([2.0, 0.0]))

        def forward(self, x):
            return self.bias.repeat(len(x), 1) + 0 * x.sum(dim=(1, 2, 3, 4))[:, None]

    clips = np.ones((2, 3, 4, 25, 1), np.float32)
    labels = np.array([0, 1])
    setup = sweeps.Setup(
        Constant(),
        NTU_RGBD,
        clips,
        labels,
        ["a", "b"],
        None,
        2,
        0.5,
        argparse.Namespace(eps_list=[0.01], batch_size=2),
        clean_correct=np.array([True, False]),
    )
    (row,) = sweeps.fgsm_sweep(setup)
    assert row["flipped_count"] == "0/1" and row["fooling_untargeted"] == 0.0  # was 50.0: 1 - accuracy
