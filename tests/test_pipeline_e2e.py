"""The whole DAG end to end on config/ci_tiny.yaml: real data generation, training,
attack, Blender renders, MediaPipe, classification and the report, then the page in
headless Chromium, Snakemake's own report, and a resume that redoes only what is missing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.paths import CONDITIONS

pytestmark = pytest.mark.slow


def snakemake(repo: Path, results: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    # targets and flags first: --configfile and --config take every value after them
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        *args,
        "--cores",
        "2",
        "--configfile",
        "config/ci_tiny.yaml",
        "--config",
        f"results_dir={results}",
    ]
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a (dry) run."""
    stats = output.split("Job stats:", 1)[-1].split("\n\n", 1)[0]
    return {
        m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M) if m.group(1) != "total"
    }


@pytest.fixture(scope="module")
def tiny_run(repo_root):
    # Under build/ (gitignored) rather than pytest's tmp: a several-minute run must not lose
    # its folder to the rotation of numbered tmp dirs by other pytest processes.
    results = repo_root / "build" / "test_pipeline_e2e" / "results"
    shutil.rmtree(results, ignore_errors=True)
    proc = snakemake(repo_root, results, "--rerun-incomplete")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return results


def test_report_numbers_and_files(tiny_run):
    report = tiny_run / "report"
    summary = json.loads((report / "summary.json").read_text())
    h = summary["headline"]
    assert h["n_clips"] == 2
    assert h["n_rgb_pairs"] + len(h["rgb_excluded"]) == 2  # every clip counted or listed
    assert h["skeleton_clean_accuracy"]["value"] is not None
    stages = {t["rule"] for t in summary["timings"]}
    assert {"train_model", "attack_shard", "render_video", "extract_pose", "classify_set"} <= stages
    # the attack's success counts the clean-correct clips only, with its numerator
    assert h["skeleton_flipped"]["n"] == h["skeleton_clean_accuracy"]["k"]
    assert 0 <= h["skeleton_flipped"]["k"] <= h["skeleton_flipped"]["n"]
    for clip in summary["clips"]:
        for condition in CONDITIONS:
            assert (report / "media" / clip["name"] / f"{condition}.mp4").stat().st_size > 1000
        rec = clip["recovery"]["conditions"]
        assert set(rec) == set(CONDITIONS) and "survival" in rec["perturbed"] and "survival" in rec["control"]
    assert "| skeleton | clean accuracy" in (report / "summary.md").read_text()
    # the matched control: rendered, extracted and classified; the attributable drop leads the report
    assert summary["conditions"] == list(CONDITIONS)
    assert h["skeleton_control_accuracy"]["n"] == 2
    assert h["rgb_attributable_drop"]["n"] == h["n_rgb_control_pairs"] <= 2
    p = h["rgb_attributable_drop_p"]
    assert p is None if h["n_rgb_control_pairs"] == 0 else 0 < p <= 1
    assert set(summary["plausibility"]["leg_hyperextended_10deg"]) == set(CONDITIONS)
    assert summary["pose_recovery"]["control"]["pa_mpjpe_mm"]["n"] >= 1
    md = (report / "summary.md").read_text()
    assert md.index("attributable drop") < md.index("clean accuracy (attacked model")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs the Debian package chromium")
def test_report_opens_in_chromium(tiny_run, artifacts_dir):
    from report.check import check_page, screenshot

    page = tiny_run / "report" / "index.html"
    check = check_page(page)
    assert check.ok, check.errors
    assert check.video_tags == 2 * len(CONDITIONS) and check.videos_loaded == 2 * len(CONDITIONS)
    assert check.per_clip_rows == 2
    screenshot(page, artifacts_dir / "report_ci_tiny.png")


def test_snakemake_report(repo_root, tiny_run):
    out = tiny_run / "snakemake_report.html"
    proc = snakemake(repo_root, tiny_run, "--report", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.stat().st_size > 10_000


def test_redo_one_clip_reruns_it_and_what_depends_on_it(repo_root, tiny_run):
    """The documented retry: deleting files does nothing ('Nothing to be done'); pipeline.redo does."""
    clip = (tiny_run / "clips" / "selection.txt").read_text().split()[0]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    cmd = [
        sys.executable,
        "-m",
        "pipeline.redo",
        clip,
        "--stage",
        "render",
        "--dry-run",
        "--",
        "--configfile",
        "config/ci_tiny.yaml",
        "--config",
        f"results_dir={tiny_run}",
    ]
    proc = subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = job_counts(proc.stdout + proc.stderr)
    n = len(CONDITIONS)  # one render job and one pose job per clip handle every condition
    assert counts.get("render_video") == 1 and counts.get("extract_pose") == 1 and counts.get("overlay_video") == n
    assert counts.get("plot_strip") == 1 and counts.get("report") == 1
    models = len([d for d in (tiny_run / "classify").iterdir() if d.is_dir()])  # attacked + other classifiers
    assert counts.get("collect_set") == n and counts.get("classify_set") == n * models  # the RGB sets only
    assert not {"train_model", "attack_shard", "make_synth_data", "evaluate_model", "select_clips"} & set(counts)


def test_report_reruns_when_only_a_per_clip_input_changed(repo_root, tiny_run):
    """A per-clip file the report reads changes (e.g. an overlay redrawn by hand): the report reruns.
    (Snakemake >= 9.18 also compares recorded checksums, so a bare `touch` is not a change.)"""
    clip = (tiny_run / "clips" / "selection.txt").read_text().split()[0]
    media = tiny_run / "media" / clip / "clean.mp4"
    before, content = media.stat(), media.read_bytes()
    try:
        media.write_bytes(content + b"\0")
        counts = job_counts((lambda p: p.stdout + p.stderr)(snakemake(repo_root, tiny_run, "-n", timeout=300)))
        assert counts.get("report") == 1 and "render_video" not in counts and "overlay_video" not in counts
    finally:
        media.write_bytes(content)
        os.utime(media, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_training_rule_resumes_and_shows_progress(repo_root, tiny_run):
    proc = snakemake(repo_root, tiny_run, "-n", "-p", "--forcerun", "train_model", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "-m ciasa.train" in out
    assert "--resume" in out and "| tee" in out  # last.pt is continued; epochs reach the terminal


def test_rerun_redoes_only_what_is_missing(repo_root, tiny_run):
    proc = snakemake(repo_root, tiny_run, "-n", timeout=300)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr
    clip = (tiny_run / "clips" / "selection.txt").read_text().split()[0]
    # as if the run had been killed while rendering that video: the video and all that
    # comes after it are missing
    for path in ("videos/{}/perturbed.mp4", "media/{}/perturbed.mp4", "report/index.html"):
        (tiny_run / path.format(clip)).unlink()
    proc = snakemake(repo_root, tiny_run, "-n", timeout=300)
    counts = job_counts(proc.stdout + proc.stderr)
    # the clip's render job draws every condition again, so its pose job extracts each of them again
    assert counts.get("render_video") == 1 and counts.get("extract_pose") == 1 and counts.get("report") == 1
    assert not {"train_model", "attack_shard", "make_synth_data", "evaluate_model"} & set(counts)
    # one video and what it needs, as a target
    proc = snakemake(repo_root, tiny_run, str(tiny_run / "videos" / clip / "perturbed.mp4"), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tiny_run / "videos" / clip / "perturbed.mp4").is_file()
