"""The tiny pipeline twice from scratch gives the same summary.json (minus timings): a rerun
of the experiment reproduces its numbers (issue 14). Slow: two full runs of config/ci_tiny.yaml."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Wall-clock facts differ from run to run by nature; everything else must not.
VOLATILE = {"timings", "wall_span_s", "seconds", "render_seconds", "pose_seconds", "generated"}


def run_tiny(repo: Path, results: Path) -> dict:
    shutil.rmtree(results, ignore_errors=True)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        "--configfile",
        "config/ci_tiny.yaml",
        "--config",
        f"results_dir={results}",
    ]
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((results / "report" / "summary.json").read_text())


def stable(value, root: str):
    """The summary without wall-clock fields, with the results directory written as RESULTS."""
    if isinstance(value, dict):
        return {k: stable(v, root) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v, root) for v in value]
    if isinstance(value, str):
        return value.replace(root, "RESULTS")
    return value


def test_two_runs_from_scratch_give_the_same_summary(repo_root):
    base = repo_root / "build" / "test_pipeline_determinism"
    first = stable(run_tiny(repo_root, base / "a"), str(base / "a"))
    second = stable(run_tiny(repo_root, base / "b"), str(base / "b"))
    assert first["headline"]["n_clips"] == 2
    differing = sorted(k for k in set(first) | set(second) if first.get(k) != second.get(k))
    assert not differing, {k: (first.get(k), second.get(k)) for k in differing}
