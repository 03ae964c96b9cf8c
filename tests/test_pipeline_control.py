"""The matched control condition through the pipeline (issue 21, item 2): one list of conditions,
the config switch, the DAG with and without the control, and bad values."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml

from ciasa.data.stgcn import save_split
from pipeline import redo
from pipeline.config import ConfigError, conditions
from pipeline.paths import CONDITIONS, Paths

# performers no shipped artefact was fitted on (the start-up leak check refuses those)
NAMES = [f"S099C001P09{i}R009A001" for i in range(1, 5)]


def test_one_list_of_conditions_and_the_switch():
    assert CONDITIONS == ("clean", "control", "perturbed")
    assert conditions({}) == CONDITIONS and conditions({"control": True}) == CONDITIONS
    assert conditions({"control": False}) == ("clean", "perturbed")
    with pytest.raises(ConfigError, match="control: expected true or false, got 'maybe'"):
        conditions({"control": "maybe"})


def test_redo_forces_only_the_conditions_the_run_rendered(tmp_path):
    root = str(tmp_path)
    paths = Paths(root)
    for condition in ("clean", "perturbed"):  # a run with control: false
        (tmp_path / "videos" / NAMES[0]).mkdir(parents=True, exist_ok=True)
        (tmp_path / "videos" / NAMES[0] / f"{condition}.render.json").write_text("{}")
    assert redo.clip_conditions(root, NAMES[0]) == ("clean", "perturbed")
    assert redo.clip_conditions(root, NAMES[1]) == CONDITIONS  # nothing rendered yet: all
    assert redo.forced_targets(root, [NAMES[0]], "pose", ("control",)) == [paths.pose(NAMES[0], "control")]


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    """A tiny ST-GCN layout data set and checkpoint, so the dry run knows the clips."""
    import torch

    from ciasa.models import STGCN
    from ciasa.models.checkpoint import save_checkpoint

    tmp = tmp_path_factory.mktemp("control_dag")
    data = np.random.default_rng(0).normal(size=(4, 3, 8, 25, 1)).astype(np.float32)
    for split in ("train", "val"):
        save_split(tmp / "d", split, data, NAMES, [0, 1, 0, 1], class_names=["a", "b"])
    args = {
        "in_channels": 3,
        "num_class": 2,
        "graph_args": {"layout": "ntu-rgb+d", "strategy": "spatial"},
        "base_channels": 4,
    }
    torch.manual_seed(0)
    save_checkpoint(tmp / "m.pt", STGCN(**args), "stgcn", args, ["a", "b"], {})
    return tmp


def _dry_run(repo_root, tmp, **extra) -> tuple[int, str]:
    override = tmp / "user.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(tmp / "results"),
                "data": {"source": "stgcn", "path": str(tmp / "d")},
                "model": {"checkpoint": str(tmp / "m.pt")},
                "clips": {"names": NAMES[1:3], "count": 0},
                **extra,
            }
        )
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "-p",
            "--cores",
            "1",
            "--configfile",
            "config/ci_tiny.yaml",
            str(override),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_dag_renders_extracts_and_classifies_the_control(repo_root, user_run):
    rc, out = _dry_run(repo_root, user_run)
    assert rc == 0, out[-3000:]
    root = user_run / "results"
    for clip in NAMES[1:3]:
        for condition in CONDITIONS:
            assert f"{root}/videos/{clip}/{condition}.mp4" in out
            assert f"{root}/poses/{clip}/{condition}.npy" in out
            assert f"{root}/media/{clip}/{condition}.mp4" in out
    for model in ("attacked", "robust"):
        for domain in ("skeleton", "rgb"):
            assert f"{root}/classify/{model}/{domain}/control/predictions.csv" in out
    assert "--conditions clean control perturbed" in out

    rc, out = _dry_run(repo_root, user_run, control=False)
    assert rc == 0, out[-3000:]
    assert "control.mp4" not in out and "/control/" not in out
    assert f"{root}/videos/{NAMES[1]}/perturbed.mp4" in out
    assert "--conditions clean perturbed" in out


def test_an_unknown_control_value_is_bad_input(repo_root, user_run):
    rc, out = _dry_run(repo_root, user_run, control="maybe")
    assert rc == 2, out[-3000:]
    assert "control" in out and "'maybe' is not of type 'boolean'" in out
    assert not (user_run / "results").exists()
