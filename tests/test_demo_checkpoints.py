"""The demo checkpoints shipped in models/demo/ (issue 25): their record matches the committed
recipe, they reach their recorded accuracy on the generated val split, a changed recipe or a
missing file is bad input (exit 2) naming both files, the pipeline installs them instead of
training, and the reproduce command retrains through the pipeline's own commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import shipped

REPO = Path(__file__).resolve().parents[1]


def _config() -> dict:
    return shipped.load_config()


def _run(args: list[str], timeout: int = 600, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_not_recipe_is_the_trainers_resume_ignored_set():
    from ciasa.train import RESUME_IGNORED

    assert shipped.NOT_RECIPE == RESUME_IGNORED


def test_the_demo_ships_both_models():
    assert set(shipped.shipped_models(_config())) == {"attacked", "robust"}


@pytest.mark.parametrize("name", ["attacked", "robust"])
def test_recorded_recipe_equals_the_committed_recipe(name):
    config = _config()
    key, spec = shipped.entry(config, name)
    record = shipped.read_provenance(REPO / spec["shipped"])
    committed = shipped.recipe_of(spec["train"])
    assert record["recipe"]["settings"] == committed["settings"]
    assert record["recipe"]["config_file"] == spec["train"]["config"]
    assert record["data"] == shipped.data_of(config)
    assert record["checkpoint_sha256"] == shipped.sha256(REPO / spec["shipped"])
    assert len(record["code_version"]["commit"]) == 40
    assert 0.5 < record["val"]["top1"] <= 1.0 and record["val"]["n"] > 0
    assert record["reproduce"].startswith(f"python -m pipeline.shipped build --name {name}")
    assert shipped.check(config, name) == record
    # a few hundred KB each, as the issue asks
    assert (REPO / spec["shipped"]).stat().st_size < 1_000_000


@pytest.fixture(scope="module")
def data_work(tmp_path_factory):
    """The generated demo data, once for the module (the pipeline's own command)."""
    work = tmp_path_factory.mktemp("shipped")
    shipped.generate_data(_config(), work)
    return work


@pytest.mark.parametrize("name", ["attacked", "robust"])
def test_shipped_model_reaches_its_recorded_accuracy(name, data_work):
    result = shipped.verify(_config(), name, data_work)
    recorded, now = result["recorded"], result["now"]
    assert now["n"] == recorded["n"]
    # the same weights on the same generated clips: equal up to one clip of float noise
    assert abs(now["top1"] - recorded["top1"]) <= 1.0 / recorded["n"] + 1e-9, result


def _override(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_changed_recipe_is_bad_input_naming_both_files(tmp_path):
    override = _override(tmp_path, {"model": {"train": {"epochs": 21}}})
    proc = _run(["-m", "pipeline.shipped", "check", "--configfile", str(override)])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr
    assert "models/demo/attacked.json" in err and "config/train_plain.yaml" in err
    assert "epochs 20 (shipped) vs 21 (now)" in err and "model.shipped: null" in err


def test_an_edited_recipe_file_is_bad_input(tmp_path, monkeypatch):
    """Editing the committed recipe file itself (not the config) is caught as well."""
    config = _config()
    fake_root = tmp_path / "repo"
    (fake_root / "config").mkdir(parents=True)
    (fake_root / "models").symlink_to(REPO / "models")
    for name in ("train_plain.yaml", "train_demo.yaml"):
        (fake_root / "config" / name).write_text((REPO / "config" / name).read_text())
    text = (
        (fake_root / "config" / "train_plain.yaml").read_text().replace("weight_decay: 0.0005", "weight_decay: 0.001")
    )
    (fake_root / "config" / "train_plain.yaml").write_text(text)
    with pytest.raises(shipped.ShippedError, match=r"weight_decay 0.0005 \(shipped\) vs 0.001 \(now\)") as err:
        shipped.check(config, "attacked", fake_root)
    assert "config/train_plain.yaml" in str(err.value) and "attacked.json" in str(err.value)
    shipped.check(config, "robust", fake_root)  # the other recipe file is untouched


def test_other_data_is_bad_input(tmp_path):
    override = _override(tmp_path, {"data": {"synth": {"seed": 1}}})
    proc = _run(["-m", "pipeline.shipped", "check", "--configfile", str(override)])
    assert proc.returncode == 2 and "data.synth.seed 0 (shipped) vs 1 (now)" in proc.stderr


def test_a_missing_checkpoint_is_bad_input_naming_both_files(tmp_path):
    missing = tmp_path / "gone.pt"
    override = _override(tmp_path, {"classifiers": {"robust": {"shipped": str(missing)}}})
    proc = _run(["-m", "pipeline.shipped", "check", "--configfile", str(override)])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(missing) in proc.stderr and str(tmp_path / "gone.json") in proc.stderr
    assert "config/train_demo.yaml" in proc.stderr and "classifiers.robust.shipped: null" in proc.stderr


def test_a_tampered_checkpoint_is_bad_input(tmp_path):
    for suffix in (".pt", ".json"):
        (tmp_path / f"attacked{suffix}").write_bytes((REPO / "models" / "demo" / f"attacked{suffix}").read_bytes())
    with (tmp_path / "attacked.pt").open("ab") as f:
        f.write(b"\0")
    override = _override(tmp_path, {"model": {"shipped": str(tmp_path / "attacked.pt")}})
    proc = _run(["-m", "pipeline.shipped", "check", "--configfile", str(override)])
    assert proc.returncode == 2 and "SHA-256 differs" in proc.stderr


def test_install_copies_a_loadable_checkpoint_and_its_record(tmp_path):
    out = tmp_path / "model" / "model.pt"
    part = json.dumps(shipped.minimal_config(_config(), "attacked"))
    proc = _run(["-m", "pipeline.shipped", "install", "--name", "attacked", "--config-json", part, "--out", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (REPO / "models" / "demo" / "attacked.pt").read_bytes()
    assert json.loads((out.parent / "shipped.json").read_text())["installed_from"] == "models/demo/attacked.pt"
    from ciasa.models import load_model

    model, meta = load_model(out, device="cpu")
    assert len(meta["class_names"]) == 30


def _dry_run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """What Snakemake would run to get the two models (the whole DAG stops at the clip
    selection's checkpoint until the data exists)."""
    results = tmp_path / "results"
    targets = [str(results / "model" / "model.pt"), str(results / "classifiers" / "robust" / "model.pt")]
    return _run(
        ["-m", "snakemake", *targets, "-n", "--cores", "1", *extra, "--config", f"results_dir={results}"], timeout=300
    )


def test_the_pipeline_installs_the_shipped_models_instead_of_training(tmp_path):
    proc = _dry_run(tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "install_model" in out and "install_classifier" in out
    assert "train_model" not in out and "train_classifier" not in out


def test_shipped_null_trains_as_before(tmp_path):
    override = _override(tmp_path, {"model": {"shipped": None}, "classifiers": {"robust": {"shipped": None}}})
    proc = _dry_run(tmp_path, "--configfile", str(override))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    # one rule trains both: the attacked model and the robust classifier
    assert out.count("rule train_model:") == 2 and "install_" not in out


def test_the_pipeline_refuses_a_changed_recipe_at_start_up(tmp_path):
    override = _override(tmp_path, {"model": {"train": {"lr": 0.05}}})
    proc = _dry_run(tmp_path, "--configfile", str(override))
    assert proc.returncode == 2, (proc.stdout + proc.stderr)[-3000:]
    assert "models/demo/attacked.json" in proc.stderr and "lr 0.1 (shipped) vs 0.05 (now)" in proc.stderr


@pytest.mark.slow
def test_the_reproduce_command_retrains_through_the_pipelines_commands(tmp_path, data_work):
    """`python -m pipeline.shipped build` for two epochs (the recipe warms up for one): a
    checkpoint and a record whose recipe says the shortened training, which the check then
    refuses as not the committed recipe."""
    out_dir = tmp_path / "models"
    proc = _run(
        [
            "-m",
            "pipeline.shipped",
            "build",
            "--name",
            "attacked",
            "--epochs",
            "2",
            "--out-dir",
            str(out_dir),
            "--work",
            str(data_work),
        ],
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    record = json.loads((out_dir / "attacked.json").read_text())
    assert record["recipe"]["settings"]["epochs"] == 2 and record["training"]["epochs"] == 2
    assert record["reproduce"] == "python -m pipeline.shipped build --name attacked --epochs 2"
    assert 0.0 <= record["val"]["top1"] <= 1.0 and record["val"]["n"] > 0
    assert record["checkpoint_sha256"] == shipped.sha256(out_dir / "attacked.pt")
    override = _override(tmp_path, {"model": {"shipped": str(out_dir / "attacked.pt")}})
    proc = _run(["-m", "pipeline.shipped", "check", "--configfile", str(override)])
    assert proc.returncode == 2 and "epochs 2 (shipped) vs 20 (now)" in proc.stderr
