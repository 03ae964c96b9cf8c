"""The workflow's wiring (issue 24, items 3 and 4): every clip's skeletons are declared files
that one small job per clip copies from the shard's single attack job, the rules downstream
read them as inputs, one rule trains every model, the render camera's field of view comes
from its definition, and `snakemake --lint` finds nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ciasa.data.stgcn import save_split
from pipeline.paths import CONDITIONS, Paths
from render.quality import camera_preset

# ST-GCN layout user data; the clip selection is known before any job runs
NAMES = [f"S002C003P00{i}R002A00{i}" for i in range(1, 5)]
CHOSEN = NAMES[1:3]


def snakemake(repo: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=repo, capture_output=True, text=True, timeout=timeout
    )


def job_blocks(output: str) -> dict[str, list[str]]:
    """Rule name -> the job descriptions a dry run prints for it (one string per job)."""
    blocks: dict[str, list[str]] = {}
    for block in re.split(r"^\[\w{3} \w{3} [ \d]\d [\d:]{8} \d{4}\]$", output, flags=re.M):  # a job's time stamp
        head = re.search(r"^(?:local)?(?:rule|checkpoint) (\w+):$", block, re.M)
        if head:
            blocks.setdefault(head.group(1), []).append(block)
    return blocks


def field(block: str, name: str) -> list[str]:
    """A comma-separated line (input, output, ...) of one job description."""
    line = re.search(rf"^\s*{name}: (.*)$", block, re.M)
    return [] if line is None else [item.strip() for item in line.group(1).split(",")]


@pytest.fixture()
def user_config(tmp_path):
    """The user's own tiny data set and checkpoint (a dry run reads neither the weights nor the
    skeletons: the shipped demo checkpoint stands in as a file), two clips named."""
    data = np.random.default_rng(3).normal(size=(len(NAMES), 3, 6, 25, 1)).astype(np.float32)
    for split in ("train", "val"):
        save_split(tmp_path / "data", split, data, NAMES, [0, 1, 1, 0], class_names=["wave", "sit"])
    config = {
        "results_dir": str(tmp_path / "results"),
        "data": {"source": "stgcn", "path": str(tmp_path / "data")},
        "model": {"checkpoint": "models/demo/attacked.pt"},
        "classifiers": {"robust": {"shipped": None}},
        "clips": {"names": CHOSEN},
    }
    path = tmp_path / "user.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, config


def dry_run(repo: Path, config_path: Path, *targets: str) -> subprocess.CompletedProcess:
    return snakemake(repo, *targets, "-n", "-p", "--cores", "2", "--configfile", str(config_path))


@pytest.mark.parametrize("override", [[], ["--configfile", "config/ci_tiny.yaml"]])
def test_the_whole_dag_plans_before_the_selection_exists(repo_root, tmp_path, override):
    """From nothing, the rules waiting for the select_clips checkpoint (the sets, the report)
    form their params and commands without their inputs."""
    proc = snakemake(repo_root, "-n", "--cores", "2", *override, "--config", f"results_dir={tmp_path / 'results'}")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert {"make_synth_data", "select_clips", "report"} <= set(job_blocks(out))


def test_one_clips_skeleton_is_a_target(repo_root, user_config):
    """`snakemake results/skeletons/CLIP/perturbed.npy` runs the shard's one attack job and
    that clip's copy job, nothing else downstream."""
    path, config = user_config
    paths = Paths(config["results_dir"])
    proc = dry_run(repo_root, path, paths.skeleton(CHOSEN[0], "perturbed"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    jobs = job_blocks(proc.stdout + proc.stderr)
    assert len(jobs["attack_shard"]) == 1 and len(jobs["export_skeletons"]) == 1
    assert set(field(jobs["export_skeletons"][0], "output")) == {paths.skeleton(CHOSEN[0], c) for c in CONDITIONS}
    assert field(jobs["export_skeletons"][0], "input") == [paths.attack_clips_dir()]
    assert paths.attack_clips_dir() in field(jobs["attack_shard"][0], "output")
    assert not {"render_video", "extract_pose", "report"} & set(jobs)


def test_downstream_rules_read_the_declared_skeletons(repo_root, user_config):
    """Render, overlay and strip take the clip's skeleton files as inputs (no stand-in for them)."""
    path, config = user_config
    paths = Paths(config["results_dir"])
    clip = CHOSEN[1]
    proc = dry_run(repo_root, path, paths.strip(clip), paths.media(clip, "perturbed"), paths.media(clip, "clean"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    jobs = job_blocks(proc.stdout + proc.stderr)
    skeletons = {c: paths.skeleton(clip, c) for c in CONDITIONS}
    (render,) = jobs["render_video"]
    assert set(field(render, "input")) == set(skeletons.values())
    assert f"--reference {skeletons['clean']}" in render
    (strip,) = jobs["plot_strip"]
    assert set(skeletons.values()) <= set(field(strip, "input"))
    overlays = {re.search(r"condition=(\w+)", b).group(1): set(field(b, "input")) for b in jobs["overlay_video"]}
    # the perturbed overlay rings the joints moved from the clean skeleton: both are inputs
    assert {skeletons["perturbed"], skeletons["clean"]} <= overlays["perturbed"]
    assert skeletons["clean"] in overlays["clean"] and skeletons["perturbed"] not in overlays["clean"]
    assert all(paths.attack_summary() not in inputs for inputs in overlays.values())


def test_a_clip_outside_the_selection_has_no_skeleton_job(repo_root, user_config):
    path, config = user_config
    proc = dry_run(repo_root, path, Paths(config["results_dir"]).skeleton(NAMES[0], "clean"))
    assert proc.returncode != 0
    assert f"clip {NAMES[0]} is not in the selection" in proc.stdout + proc.stderr


def test_one_rule_trains_the_attacked_model_and_the_classifiers(repo_root, user_config, tmp_path):
    """Both models come from train_model; each keeps its own resources entry."""
    _, config = user_config
    config["model"] = {"checkpoint": None, "shipped": None}
    config["resources"] = {"train_model": {"threads": 1}, "train_classifier": {"threads": 2}}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    paths = Paths(config["results_dir"])
    proc = dry_run(repo_root, path, paths.model_checkpoint(), paths.classifier_checkpoint("robust"))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    jobs = job_blocks(proc.stdout + proc.stderr)
    assert set(jobs) == {"train_model"} and len(jobs["train_model"]) == 2
    by_output = {field(b, "output")[0]: b for b in jobs["train_model"]}
    robust = by_output[paths.classifier_checkpoint("robust")]
    attacked = by_output[paths.model_checkpoint()]
    assert "[robust]" in robust and "--threads 2" in robust
    assert "[attacked]" in attacked and "--threads 1" in attacked


def test_the_render_camera_field_of_view_comes_from_its_definition(repo_root, user_config, tmp_path):
    """The guard's failure camera gets the named camera's own field of view (render.quality)."""
    _, config = user_config
    config["render"] = {"camera": "kinect-v2-rgb", "resolution": "480x270"}
    path = tmp_path / "kinect.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = dry_run(repo_root, path, Paths(config["results_dir"]).video(CHOSEN[0], "clean"))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (render,) = job_blocks(proc.stdout + proc.stderr)["render_video"]
    hfov = camera_preset("kinect-v2-rgb").hfov_deg
    assert f"--hfov {hfov} --fps" in render  # the guard's
    assert render.count("--hfov") == 1  # the renderer keeps the camera's own


def _lint(repo: Path, *args: str) -> subprocess.CompletedProcess:
    # exit code 1 on any finding (9.27 prints them as text: --lint json is not passed on)
    return snakemake(repo, "--lint", *args)


def test_lint_finds_nothing(repo_root, tmp_path):
    """`snakemake --lint` over every rule: the demo config (shipped models), and converted data
    with both models trained (the rules only some configs define)."""
    configs = [[]]
    (tmp_path / "ntu").mkdir()
    (tmp_path / "ann.pkl").write_bytes(b"")
    for source, data in (("ntu_raw", tmp_path / "ntu"), ("pyskl", tmp_path / "ann.pkl")):
        override = tmp_path / f"{source}.yaml"
        override.write_text(
            yaml.safe_dump(
                {
                    "results_dir": str(tmp_path / "results"),
                    "data": {"source": source, "path": str(data)},
                    "model": {"shipped": None},
                    "classifiers": {"robust": {"shipped": None}},
                }
            )
        )
        configs.append(["--configfile", str(override)])
    for args in configs:
        proc = _lint(repo_root, *args)
        assert proc.returncode == 0, (args, (proc.stdout + proc.stderr)[-4000:])
        assert "Lints for" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_deleted_skeleton_is_rebuilt_without_attacking_again(repo_root, tmp_path):
    """The real attack on one demo clip; then one clip's skeleton file is deleted and asked for
    by name: only its copy job runs, and it gets back the attack's array."""
    results = repo_root / "build" / "test_workflow_rules" / "results"
    shutil.rmtree(results, ignore_errors=True)
    override = tmp_path / "one_clip.yaml"
    override.write_text(
        yaml.safe_dump({"results_dir": str(results), "clips": {"count": 1}, "attack": {"options": {"max_iter": 2}}})
    )
    args = ["--cores", "2", "--configfile", str(override)]
    paths = Paths(str(results))
    proc = snakemake(repo_root, paths.selection(), *args, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    clip = Path(paths.selection()).read_text().split()[0]
    target = paths.skeleton(clip, "perturbed")
    proc = snakemake(repo_root, target, *args, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    attacked = Path(paths.attack_clips_dir()) / clip
    for condition in CONDITIONS:
        np.testing.assert_array_equal(np.load(paths.skeleton(clip, condition)), np.load(attacked / f"{condition}.npy"))
    Path(target).unlink()
    proc = snakemake(repo_root, target, "-n", *args)
    assert proc.returncode == 0 and set(job_blocks(proc.stdout + proc.stderr)) == {"export_skeletons"}, proc.stdout[
        -3000:
    ]
    proc = snakemake(repo_root, target, *args, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_array_equal(np.load(target), np.load(attacked / "perturbed.npy"))
