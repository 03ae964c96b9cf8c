"""The farm path, for real: the tiny pipeline (config/ci_tiny.yaml) through
workflow/profiles/slurm and snakemake-executor-plugin-slurm against a single-node SLURM
with accounting (slurmctld, slurmd, slurmdbd on MariaDB, munge) that this module starts
on localhost (scripts/slurm_local.sh) and stops at the end.

Needs root and Debian's packages (`scripts/slurm_local.sh install`, which .ci/run calls
when it runs as root); skipped otherwise. The profile is used as users get it, with the
placeholders filled in and only what a 2-core node without GPUs cannot give changed
(see `profile_copy`). Recipe and timings: docs/farm.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from pipeline.paths import CONDITIONS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "slurm_local.sh"
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
ACCOUNT = "ciasa"  # scripts/slurm_local.sh's defaults
CPU_PARTITION, GPU_PARTITION = "cpu", "gpu"
# the status poll of the executor plugin (default 40 s after every finished job); on a
# one-node cluster that only adds idle time
POLL_S = 5
RUN_TIMEOUT_S = 1800


def _skip_reason() -> str | None:
    if sys.platform != "linux" or not hasattr(os, "geteuid"):
        return "the local SLURM cluster needs Linux"
    missing = subprocess.run(["bash", str(SCRIPT), "missing"], capture_output=True, text=True).stdout.split()
    if os.geteuid() != 0:
        return "needs root: slurmd runs the jobs and the daemons are started here (.ci/run does this as root)"
    if missing:
        return (
            "needs Debian's slurmctld, slurmd, slurmdbd, slurm-client, munge and mariadb-server "
            f"(missing: {' '.join(missing)}); `scripts/slurm_local.sh install` as root, which .ci/run does"
        )
    return None


SKIP = _skip_reason()
if SKIP:
    pytestmark = [pytest.mark.slow, pytest.mark.skip(reason=SKIP)]


def _script(action: str, directory: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), action, str(directory)], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def slurm_cluster(artifacts_dir):
    """Start the cluster under a fresh temporary directory; stop it and keep its logs
    (.test-artifacts/slurm_logs/) at the end."""
    # not pytest's tmp_path: numbered tmp dirs of other pytest processes rotate away
    directory = Path(tempfile.mkdtemp(prefix="ciasa-slurm-"))
    started = _script("start", directory)
    try:
        if started.returncode == 3:  # a real SLURM is configured on this machine
            pytest.skip(started.stderr.strip().splitlines()[-1])
        assert started.returncode == 0, started.stdout + started.stderr
        env = dict(os.environ, SLURM_CONF=str(directory / "etc" / "slurm.conf"))
        yield {"dir": directory, "env": env}
    finally:
        stopped = _script("stop", directory, timeout=180)
        logs = artifacts_dir / "slurm_logs"
        shutil.rmtree(logs, ignore_errors=True)
        shutil.copytree(directory / "log", logs, dirs_exist_ok=True)
        shutil.rmtree(directory, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr


def node_limits(env: dict) -> tuple[int, int]:
    """CPUs and RealMemory (MB) of the cluster's one node."""
    out = subprocess.run(["scontrol", "-o", "show", "node"], env=env, capture_output=True, text=True, check=True)
    cpus = int(re.search(r"\bCPUTot=(\d+)", out.stdout).group(1))
    mem = int(re.search(r"\bRealMemory=(\d+)", out.stdout).group(1))
    return cpus, mem


def profile_copy(dest: Path, results: Path) -> dict:
    """workflow/profiles/slurm with the placeholders filled as a user does, plus SLURM logs
    beside the results and a shorter status poll. The profile sets no threads, memory or
    GPUs (the config does, and config/ci_tiny.yaml asks for no GPU: the node has no GRES)."""
    text = PROFILE.read_text()
    for placeholder in ("<CPU_PARTITION>", "<GPU_PARTITION>", "<ACCOUNT>"):
        assert placeholder in text, f"{placeholder} is gone from {PROFILE}: update the test"
    text = (
        text.replace("<CPU_PARTITION>", CPU_PARTITION)
        .replace("<GPU_PARTITION>", GPU_PARTITION)
        .replace("<ACCOUNT>", ACCOUNT)
    )
    assert "<" not in re.sub(r"#.*", "", text), "an unfilled placeholder is left in the profile"
    profile = yaml.safe_load(text)
    assert profile["executor"] == "slurm"
    gpu_rules = sorted(
        rule for rule, res in profile["set-resources"].items() if res.get("slurm_partition") == GPU_PARTITION
    )
    assert gpu_rules, "the profile sends no rule to the GPU partition: update the test's partition checks"
    profile["slurm-logdir"] = str(results / "logs" / "slurm")
    profile["slurm-keep-successful-logs"] = True
    profile["slurm-init-seconds-before-status-checks"] = POLL_S
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return {"gpu_rules": gpu_rules, "array_rules": profile["slurm-array-jobs"].replace(" ", "").split(",")}


def sacct_jobs(env: dict, since: str) -> list[dict]:
    """Every job (array tasks one by one) since `since`, without job steps."""
    fields = ["JobID", "JobName", "Partition", "Account", "State", "ExitCode", "Elapsed", "AllocCPUS", "Comment"]
    out = subprocess.run(
        ["sacct", "-X", "--parsable2", "--noheader", "--starttime", since, "-o", ",".join(fields)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [dict(zip(fields, line.split("|"))) for line in out.stdout.splitlines() if line.strip()]


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from Snakemake's 'Job stats' table."""
    stats = output.split("Job stats:", 1)[-1].split("\n\n", 1)[0]
    return {
        m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M) if m.group(1) != "total"
    }


@pytest.fixture(scope="module")
def slurm_run(repo_root, slurm_cluster, tmp_path_factory):
    env = slurm_cluster["env"]
    cpus, mem_mb = node_limits(env)
    assert cpus >= 2 and mem_mb >= 4000, "the config's resources (config/config.yaml) need 2 CPUs and 4000 MB"
    results = repo_root / "build" / "test_pipeline_slurm" / "results"  # as tests/test_pipeline_e2e.py
    shutil.rmtree(results, ignore_errors=True)
    profile_dir = tmp_path_factory.mktemp("profile") / "slurm"
    profile = profile_copy(profile_dir, results)
    env = dict(env, PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 5))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--workflow-profile",
        str(profile_dir),
        "--configfile",
        "config/ci_tiny.yaml",
        "--config",
        f"results_dir={results}",
    ]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    wall = time.monotonic() - start
    output = proc.stdout + proc.stderr
    jobs = sacct_jobs(env, since)
    # the whole DAG, rule by rule (the run's own 'Job stats' stops at the select_clips
    # checkpoint): a dry run over the finished results, local, forced
    dry = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--forceall",
            "--cores",
            "2",
            "--configfile",
            "config/ci_tiny.yaml",
            "--config",
            f"results_dir={results}",
        ],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    dag = job_counts(dry.stdout + dry.stderr)
    record = {
        "command": " ".join(["snakemake", *cmd[3:]]),
        "wall_s": round(wall, 1),
        "returncode": proc.returncode,
        "slurm_jobs": len(jobs),
        "array_submissions": len({j["JobID"].split("_")[0] for j in jobs if "_" in j["JobID"]}),
        "sbatch_calls": len({j["JobID"].split("_")[0] for j in jobs}),
        "dag": dag,
        "jobs": [{k: j[k] for k in ("JobID", "Partition", "State", "Elapsed", "AllocCPUS", "Comment")} for j in jobs],
    }
    (results.parent / "run.json").write_text(json.dumps(record, indent=1))
    (results.parent / "snakemake.log").write_text(output)
    assert proc.returncode == 0, output[-6000:]
    assert dag, dry.stdout[-3000:] + dry.stderr[-3000:]
    return {"results": results, "output": output, "jobs": jobs, "dag": dag, "profile": profile, "record": record}


def test_report_written(slurm_run):
    report = slurm_run["results"] / "report"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["headline"]["n_clips"] == 2
    assert (report / "index.html").stat().st_size > 1000
    for clip in summary["clips"]:
        for condition in CONDITIONS:
            assert (report / "media" / clip["name"] / f"{condition}.mp4").stat().st_size > 1000


def test_every_job_went_through_slurm(slurm_run):
    jobs, counts = slurm_run["jobs"], slurm_run["dag"]
    # every rule instance but those Snakemake runs itself (the target rule `all`, the per-clip
    # copy export_skeletons: localrule) is one SLURM job (an array task counts one)
    remote = {r: n for r, n in counts.items() if r not in ("all", "export_skeletons")}
    expected = sum(remote.values())
    assert len(jobs) == expected, (len(jobs), expected, counts)
    bad = [j for j in jobs if j["State"] != "COMPLETED" or j["ExitCode"] != "0:0"]
    assert not bad, bad
    assert {j["Account"] for j in jobs} == {ACCOUNT}
    assert len({j["JobName"] for j in jobs}) == 1  # the plugin names every job after the run's id
    # the plugin writes "rule_NAME_wildcards_..." as the job's comment
    by_rule: dict[str, list[dict]] = {}
    for j in jobs:
        match = re.match(r"rule_(\w+?)(?:_wildcards_|$)", j["Comment"])
        assert match, j
        by_rule.setdefault(match.group(1), []).append(j)
    assert {rule: len(js) for rule, js in by_rule.items()} == remote
    for rule, js in by_rule.items():
        want = GPU_PARTITION if rule in slurm_run["profile"]["gpu_rules"] else CPU_PARTITION
        assert {j["Partition"] for j in js} == {want}, (rule, js)


def test_array_jobs(slurm_run):
    """The array rules' jobs that become ready together go out as one SLURM array: a clip's three
    overlay videos (ready when its pose job ends) always do, in fewer sbatch calls than jobs.
    render_video and extract_pose are one job per clip and become ready clip by clip (each after
    its clip's skeletons are exported, or its render ends), so on two clips the plugin may send
    them one by one; none of their jobs is lost or submitted twice."""
    counts = slurm_run["dag"]
    submissions: dict[str, set[str]] = {}
    tasks: dict[str, int] = {}
    for j in slurm_run["jobs"]:
        rule = re.match(r"rule_(\w+?)(?:_wildcards_|$)", j["Comment"]).group(1)
        if rule in slurm_run["profile"]["array_rules"]:
            submissions.setdefault(rule, set()).add(j["JobID"].split("_")[0])
            tasks[rule] = tasks.get(rule, 0) + 1
    assert set(submissions) == {"render_video", "extract_pose", "overlay_video"} & set(counts)
    assert tasks == {rule: counts[rule] for rule in submissions}
    overlays = [j for j in slurm_run["jobs"] if j["Comment"].startswith("rule_overlay_video")]
    assert all("_" in j["JobID"] for j in overlays), "every overlay job is an array task"
    assert len(submissions["overlay_video"]) < counts["overlay_video"], submissions
    for rule, sent in submissions.items():
        assert len(sent) <= counts[rule], (rule, sent, counts[rule])
