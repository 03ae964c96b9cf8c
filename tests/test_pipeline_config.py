"""The workflow config: schema validation, flag rendering and the start-up checks."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ciasa.data.stgcn import save_split
from pipeline.config import ConfigError, check_startup, classifiers, cli_flags, data_dir

SCHEMA = "workflow/schemas/config.schema.yaml"


@pytest.fixture()
def base_config(repo_root):
    with open(repo_root / "config/config.yaml") as f:
        config = yaml.safe_load(f)
    validate(config, str(repo_root / SCHEMA))
    return config


def _merged(repo_root, override: str) -> dict:
    """config/config.yaml with an override file applied the way Snakemake merges --configfile."""
    with open(repo_root / "config/config.yaml") as f:
        config = yaml.safe_load(f)
    with open(repo_root / override) as f:
        extra = yaml.safe_load(f)

    def merge(a, b):
        for k, v in b.items():
            if isinstance(v, dict) and isinstance(a.get(k), dict):
                merge(a[k], v)
            else:
                a[k] = v

    merge(config, extra)
    return config


def test_default_config_validates_and_gets_defaults(base_config):
    assert base_config["data"]["source"] == "synth"
    assert base_config["clips"]["shard"] == "1/1"
    assert base_config["report"]["bootstrap"] == 2000
    assert base_config["pose"]["on_failure"] == "record"


@pytest.mark.parametrize("override", ["config/ci_tiny.yaml", "config/paper_scale.yaml", "config/farm.yaml"])
def test_shipped_configs_validate(repo_root, override):
    config = _merged(repo_root, override)
    validate(config, str(repo_root / SCHEMA))


@pytest.mark.parametrize(
    "path, value",
    [
        (("render", "engin"), "cycles"),  # typo of a key
        (("render", "engine"), "povray"),  # not an engine
        (("clips", "shard"), "2 of 4"),
        (("attack", "mode"), "strong"),
        (("attack", "options", "max_iters"), 10),  # typo of an attack option
        (("resources", "render"), {"threads": 2}),  # not a rule name
        (("model", "train", "dropout"), 1),  # training refuses dropout 1 (validate_config)
        (("model", "train", "label_smoothing"), 1),
        (("model", "train", "seed"), -1),
        (("classifiers", "robust", "train", "lr_steps"), [-1]),
        (("pose", "options", "no_smooth"), True),  # one spelling: smooth: false
        (("attack", "options", "eps"), {"feet": -0.1}),
    ],
)
def test_schema_rejects_typos_and_bad_values(repo_root, base_config, path, value):
    config = copy.deepcopy(base_config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(WorkflowError):
        validate(config, str(repo_root / SCHEMA))


def test_schema_takes_what_training_takes(repo_root, base_config):
    """warmup_epochs is a number of epochs that may be fractional, as in TrainConfig."""
    config = copy.deepcopy(base_config)
    config["model"]["shipped"] = config["classifiers"]["robust"]["shipped"] = None
    config["model"]["train"]["warmup_epochs"] = 0.5
    config["classifiers"]["robust"]["train"]["warmup_epochs"] = 0.5
    validate(config, str(repo_root / SCHEMA))
    check_startup(config)


@pytest.mark.parametrize(
    "block, value, message",
    [
        ({"warmup_epochs": 30, "epochs": 20}, None, "model.train: --warmup-epochs .30. must be shorter than --epochs"),
        ({"arch": "no_such_net"}, None, "model.train: --arch 'no_such_net' is not one of"),
        ({"config": "config/no_such_file.yaml"}, None, "model.train: .*no_such_file.yaml"),
        (None, {"warmup_epochs": 45}, "classifiers.robust.train: --warmup-epochs .45. must be shorter than"),
    ],
)
def test_startup_runs_trainings_own_checks(repo_root, base_config, block, value, message):
    """What training would refuse inside the job (here: a warm-up longer than the run, the
    epochs coming from the block and from its config file) fails at start-up, naming the key."""
    config = copy.deepcopy(base_config)
    config["model"]["shipped"] = config["classifiers"]["robust"]["shipped"] = None  # train them here
    if block:
        config["model"]["train"].update(block)
    if value:
        config["classifiers"]["robust"]["train"].update(value)
    validate(config, str(repo_root / SCHEMA))  # valid one key at a time
    with pytest.raises(ConfigError, match=message):
        check_startup(config)


def test_attack_control_switched_off_only_with_the_runs_control(base_config):
    from pipeline.config import attack_flags, check_attack_options

    config = copy.deepcopy(base_config)
    config["attack"]["options"]["control"] = False
    assert "--no-control" in attack_flags(config["attack"]["options"])  # not left out: the CLI's default is on
    with pytest.raises(ConfigError, match="attack.options.control: false"):
        check_attack_options(config)
    config["control"] = False
    check_attack_options(config)


def test_resources_come_from_the_config_alone(base_config):
    from pipeline.config import check_resource_overrides, resource

    assert resource(base_config, "attack_shard", "threads") == 2
    assert resource(base_config, "classify_set", "mem_mb") == 3000
    assert resource(base_config, "classify_set", "runtime") == base_config["resources"]["default"]["runtime"]
    assert resource(base_config, "report", "threads") == base_config["resources"]["default"]["threads"]
    check_resource_overrides({"attack_shard": {"slurm_partition": "gpu"}}, {})  # executor settings are fine
    with pytest.raises(ConfigError, match="set-resources render_video.mem_mb.*config's resources table"):
        check_resource_overrides({"render_video": {"mem_mb": 100, "slurm_partition": "cpu"}}, {})
    with pytest.raises(ConfigError, match="set-threads train_model"):
        check_resource_overrides({}, {"train_model": 8})


def test_the_profiles_hold_executor_settings_only(repo_root):
    from pipeline.config import CONFIG_OWNED_RESOURCES

    for path in sorted((repo_root / "workflow" / "profiles").glob("*/config.yaml")):
        profile = yaml.safe_load(path.read_text())
        assert "set-threads" not in profile, path
        tables = [profile.get("default-resources") or {}, *(profile.get("set-resources") or {}).values()]
        owned = [key for table in tables for key in table if key in CONFIG_OWNED_RESOURCES]
        assert not owned, f"{path}: {owned} belong in the config's resources table"


def test_snakemake_refuses_a_resource_set_outside_the_config(repo_root, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--set-resources",
            "attack_shard:mem_mb=100",
            "--config",
            f"results_dir={tmp_path / 'results'}",
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0, (proc.stdout + proc.stderr)[-3000:]
    assert "set-resources attack_shard.mem_mb" in proc.stdout + proc.stderr


def test_cli_flags():
    assert cli_flags({"max_gap": 5, "no_smooth": True, "body_prior": None}) == "--max-gap 5 --no-smooth"
    assert cli_flags({"smooth": False}, negatable=("smooth",)) == "--no-smooth"
    assert cli_flags({"eps": {"feet": 0.3, "knees": 0.05}}) == "--eps feet=0.3,knees=0.05"
    assert cli_flags({"augment": False, "adapt_fov": False}, negatable=("augment",)) == "--no-augment"
    assert cli_flags({"lr_steps": [10, 50], "title": "a b"}) == "--lr-steps 10 50 --title 'a b'"


def test_startup_checks_name_the_key(tmp_path, base_config):
    config = copy.deepcopy(base_config)
    config["data"].update(source="stgcn", path=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="data.path: .*nowhere/val_data.npy not found"):
        check_startup(config)

    names = ["S001C001P001R001A001", "S001C001P002R001A006"]
    data = np.ones((2, 3, 4, 25, 1), dtype=np.float32)
    for split in ("train", "val"):
        save_split(tmp_path / "d", split, data, names, [0, 1], class_names=["a", "b"])
    config["data"]["path"] = str(tmp_path / "d")
    assert data_dir(config) == str(tmp_path / "d")
    config["clips"]["names"] = [names[1]]
    assert check_startup(config) == [names[1]]
    config["clips"]["names"] = ["S001C001P001R001A099"]
    with pytest.raises(ConfigError, match="clips: .*S001C001P001R001A099"):
        check_startup(config)

    config["clips"]["names"] = []
    config["model"]["checkpoint"] = str(tmp_path / "missing.pt")
    with pytest.raises(ConfigError, match="model.checkpoint: .*missing.pt not found"):
        check_startup(config)
    config["model"]["checkpoint"] = None
    config["classifiers"] = {"attacked": {"checkpoint": "x.pt"}}
    with pytest.raises(ConfigError, match="reserved"):
        classifiers(config)


def test_snakemake_fails_in_the_first_second_on_a_typo(repo_root, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("render:\n  resolutoin: 320x240\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            str(bad),
            "--config",
            f"results_dir={tmp_path / 'results'}",
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "resolutoin" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_dag_for_user_data_and_checkpoint(repo_root, tmp_path):
    """User data (ST-GCN layout) replaces the generation; a user checkpoint replaces training."""
    import torch

    from ciasa.models import STGCN
    from ciasa.models.checkpoint import save_checkpoint

    names = [f"S001C001P00{i}R001A001" for i in range(1, 5)]
    data = np.random.default_rng(0).normal(size=(4, 3, 8, 25, 1)).astype(np.float32)
    for split in ("train", "val"):
        save_split(tmp_path / "d", split, data, names, [0, 1, 0, 1], class_names=["a", "b"])
    args = {
        "in_channels": 3,
        "num_class": 2,
        "graph_args": {"layout": "ntu-rgb+d", "strategy": "spatial"},
        "base_channels": 4,
    }
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "m.pt", STGCN(**args), "stgcn", args, ["a", "b"], {})
    override = tmp_path / "user.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(tmp_path / "results"),
                "data": {"source": "stgcn", "path": str(tmp_path / "d")},
                "model": {"checkpoint": str(tmp_path / "m.pt")},
                "clips": {"names": [names[2]]},
            }
        )
    )
    # the demo's shipped robust classifier was made for the embedded data: on other data the
    # pipeline refuses it at start-up and says how to train it instead
    target = str(tmp_path / "results" / "videos" / names[2] / "perturbed.mp4")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", target, "-n", "--cores", "1", "--configfile", str(override)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "classifiers.robust.shipped: null" in proc.stdout + proc.stderr
    config = yaml.safe_load(override.read_text())
    config["classifiers"] = {"robust": {"shipped": None}}
    override.write_text(yaml.safe_dump(config))
    # the selection cannot be known before select_clips runs, so ask for one clip's video
    target = str(tmp_path / "results" / "videos" / names[2] / "perturbed.mp4")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", target, "-n", "--cores", "1", "--configfile", str(override)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "attack_shard" in out and "render_video" in out
    assert "make_synth_data" not in out and "train_model" not in out
    # a clip name that is not in the user's data fails at start-up
    override.write_text(override.read_text().replace(names[2], "S001C001P009R001A001"))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(override)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "S001C001P009R001A001" in proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["default", "slurm"])
def test_profiles_parse(repo_root, tmp_path, profile):
    """Every key of the shipped profiles is a valid Snakemake (or SLURM plugin) option."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--workflow-profile",
            f"workflow/profiles/{profile}",
            "--config",
            f"results_dir={tmp_path / 'results'}",
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "make_synth_data" in proc.stdout + proc.stderr


def test_classifiers_the_pipeline_trains(repo_root, base_config):
    """A ``classifiers.NAME.train`` entry gets its checkpoint under results/classifiers/NAME
    and needs no file before the run; an entry with both or neither source is rejected."""
    from pipeline.config import trained_classifiers

    config = copy.deepcopy(base_config)
    config["classifiers"] = {"robust": {"train": {"config": "config/train_demo.yaml", "epochs": 3}}}
    validate(config, str(repo_root / SCHEMA))
    assert classifiers(config)["robust"]["checkpoint"] == f"{config['results_dir']}/classifiers/robust/model.pt"
    assert trained_classifiers(config) == {"robust": {"config": "config/train_demo.yaml", "epochs": 3}}
    check_startup(config)  # the checkpoint does not exist yet, and need not
    # an override file that names a checkpoint for it wins over the training
    config["classifiers"]["robust"]["checkpoint"] = "x.pt"
    validate(config, str(repo_root / SCHEMA))
    assert trained_classifiers(config) == {} and classifiers(config)["robust"]["checkpoint"] == "x.pt"
    for bad in ({"num_class": 3}, {"train": {"epoch": 3}}):
        config["classifiers"] = {"robust": bad}
        with pytest.raises(WorkflowError):
            validate(config, str(repo_root / SCHEMA))
