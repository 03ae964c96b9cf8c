"""Wall-clock time of a whole pipeline run and its time per stage.

    python benchmarks/pipeline_timings.py --name ci_tiny --configfile config/ci_tiny.yaml
    python benchmarks/pipeline_timings.py --name demo            # config/config.yaml alone
    python benchmarks/pipeline_timings.py --name paper_scale_slice24 --cores 1 \
        --configfile config/paper_scale.yaml config/paper_scale_slice24.yaml

runs ``snakemake --cores N`` from scratch in a fresh results directory (under
``build/``), then reads the per-stage times the report collected from the Snakemake
benchmark files and writes ``benchmarks/results/pipeline_NAME.json``. The machine's
load average before and after is recorded too: other processes stretch every number.
``--existing DIR --wall-s S`` records a run made by hand instead of starting one.

``--before-ref REF`` also runs the same command on the code of git commit REF (a
``git archive`` copy under ``build/``, same interpreter), back to back on the same
machine, and records both runs: per-stage job-seconds before and after, the total
job-seconds and the Snakemake wall ratio (after / before). ``--order`` says which runs
first. For issue 25 (shipped checkpoints, cheaper strips, one render job per clip)::

    python benchmarks/pipeline_timings.py --name demo --before-ref d0558e1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.io import atomic_write_json  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, help="result name: benchmarks/results/pipeline_NAME.json")
    p.add_argument(
        "--configfile", nargs="+", default=None, help="override file(s) applied on top of config/config.yaml, in order"
    )
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--existing", help="results directory of a finished run (skip running)")
    p.add_argument("--wall-s", type=float, help="wall-clock seconds of that run")
    p.add_argument("--load-before", type=float, help="1-minute load average when that run started (by hand)")
    p.add_argument("--before-ref", help="also run the code of this git commit, back to back, as the baseline")
    p.add_argument(
        "--order",
        choices=("before-first", "after-first"),
        default="before-first",
        help="with --before-ref: which run goes first",
    )
    args = p.parse_args()
    if args.before_ref:
        if args.existing:
            p.error("--before-ref runs both pipelines; it does not go with --existing")
        return compare(args)

    load_before = os.getloadavg()
    if args.existing:
        results = Path(args.existing).resolve()
        wall = args.wall_s
        command = "(run by hand)"
    else:
        results = REPO / "build" / f"pipeline_{args.name}" / "results"
        shutil.rmtree(results, ignore_errors=True)
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
        if args.configfile:
            cmd += ["--configfile", *args.configfile]
        cmd += ["--config", f"results_dir={results}"]
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        command = " ".join(cmd[3:])
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
            return proc.returncode
    summary = json.loads((results / "report" / "summary.json").read_text())
    h = summary["headline"]
    out = {
        "name": args.name,
        "command": f"snakemake {command}",
        "cores": args.cores,
        "wall_s": None if wall is None else round(wall, 1),
        "jobs_wall_span_s": summary["wall_span_s"],
        "stages": summary["timings"],
        "clips": h["n_clips"],
        # every rate with its interval and its numerator/denominator, as the report has it
        "headline": {k: v for k, v in h.items() if k != "rgb_excluded"},
        "models": summary.get("models", {}),
        "model_eval": summary.get("model_eval"),
        # a run made by hand: its start load only if given (the load now says nothing about it)
        "load_average_before": (
            ([args.load_before] if args.load_before is not None else None)
            if args.existing
            else [round(x, 2) for x in load_before]
        ),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    path = REPO / "benchmarks" / "results" / f"pipeline_{args.name}.json"
    atomic_write_json(path, out)
    print(
        f"{args.name}: wall {out['wall_s']} s, {out['clips']} clips, load before {(out['load_average_before'] or ['not recorded'])[0]}"
    )
    for stage in out["stages"]:
        print(
            f"  {stage['stage']:<24} jobs {stage['jobs']:>3}  sum {stage['total_s']:>8.1f} s  max {stage['max_s']:>7.1f} s"
        )
    print(f"-> {path}")
    return 0


def run_pipeline(repo: Path, results: Path, configfiles: list[str] | None, cores: int) -> tuple[float, list]:
    """``snakemake --cores N`` in ``repo`` from scratch into ``results``: (wall s, stage timings)."""
    shutil.rmtree(results, ignore_errors=True)
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
    if configfiles:
        cmd += ["--configfile", *configfiles]
    cmd += ["--config", f"results_dir={results}"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{repo}: snakemake failed (exit code {proc.returncode})")
    summary = json.loads((results / "report" / "summary.json").read_text())
    return wall, summary


def checkout(ref: str, target: Path) -> Path:
    """The tree of commit ``ref`` in ``target`` (git archive: the repository itself is untouched)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def cpu_seconds(results: Path) -> dict[str, float]:
    """Rule -> summed ``cpu_time`` of its jobs' Snakemake benchmark files: on a shared
    machine the CPU seconds compare better than the wall seconds, which include waiting."""
    import csv

    out: dict[str, float] = {}
    root = results / "benchmarks"
    for tsv in sorted(root.rglob("*.tsv")) if root.is_dir() else []:
        rule = tsv.relative_to(root).parts[0]
        with tsv.open(newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        try:
            out[rule] = out.get(rule, 0.0) + float(rows[-1]["cpu_time"])
        except (IndexError, KeyError, ValueError):
            continue
    return {k: round(v, 1) for k, v in out.items()}


def _run_record(wall: float, summary: dict, load_before: list[float], results: Path | None = None) -> dict:
    stages = summary["timings"]
    cpu = cpu_seconds(results) if results is not None else {}
    return {
        "cpu_seconds_by_rule": cpu,
        "cpu_seconds_total": round(sum(cpu.values()), 1),
        "wall_s": round(wall, 1),
        "jobs_wall_span_s": summary["wall_span_s"],
        "job_seconds_total": round(sum(st["total_s"] for st in stages), 1),
        "jobs": sum(st["jobs"] for st in stages),
        "stages": stages,
        "clips": summary["headline"]["n_clips"],
        "conditions": summary.get("conditions"),
        "headline": {k: v for k, v in summary["headline"].items() if k != "rgb_excluded"},
        "models": summary.get("models", {}),
        "model_eval": summary.get("model_eval"),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def compare(args: argparse.Namespace) -> int:
    """Today's code (``--before-ref``) and this tree, the same command back to back."""
    commit = subprocess.run(
        ["git", "rev-parse", args.before_ref], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    build = REPO / "build" / f"pipeline_{args.name}_compare"
    before_repo = checkout(commit, build / "before_src")
    runs: dict[str, dict] = {}
    order = ["before", "after"] if args.order == "before-first" else ["after", "before"]
    for which in order:
        repo = before_repo if which == "before" else REPO
        load = list(os.getloadavg())
        print(f"running the {which} pipeline ({repo}) ...", flush=True)
        wall, summary = run_pipeline(repo, build / f"{which}_results", args.configfile, args.cores)
        runs[which] = _run_record(wall, summary, load, build / f"{which}_results")
        print(f"  {which}: wall {wall:.0f} s, job-seconds {runs[which]['job_seconds_total']:.0f}", flush=True)
    before, after = runs["before"], runs["after"]
    rules = list(dict.fromkeys([st["rule"] for st in before["stages"]] + [st["rule"] for st in after["stages"]]))
    table = []
    for rule in rules:
        b = next((st for st in before["stages"] if st["rule"] == rule), None)
        a = next((st for st in after["stages"] if st["rule"] == rule), None)
        table.append(
            {
                "rule": rule,
                "stage": (a or b)["stage"],
                "jobs_before": b["jobs"] if b else 0,
                "job_s_before": b["total_s"] if b else 0.0,
                "jobs_after": a["jobs"] if a else 0,
                "job_s_after": a["total_s"] if a else 0.0,
                "cpu_s_before": before["cpu_seconds_by_rule"].get(rule),
                "cpu_s_after": after["cpu_seconds_by_rule"].get(rule),
            }
        )
    out = {
        "name": args.name,
        "command": "snakemake --cores {} {}".format(
            args.cores, " ".join(f"--configfile {f}" for f in args.configfile or [])
        ),
        "cores": args.cores,
        "before_ref": commit,
        "order": order,
        "before": before,
        "after": after,
        "per_stage_job_seconds": table,
        "ratio_job_seconds": round(after["job_seconds_total"] / before["job_seconds_total"], 3),
        "ratio_wall": round(after["wall_s"] / before["wall_s"], 3),
        "ratio_cpu_seconds": (
            round(after["cpu_seconds_total"] / before["cpu_seconds_total"], 3) if before["cpu_seconds_total"] else None
        ),
        # the single-run fields other scripts (readme_numbers) read: the after run
        "wall_s": after["wall_s"],
        "jobs_wall_span_s": after["jobs_wall_span_s"],
        "stages": after["stages"],
        "clips": after["clips"],
        "headline": after["headline"],
        "models": after["models"],
        "model_eval": after["model_eval"],
        "load_average_before": after["load_average_before"],
        "load_average_after": after["load_average_after"],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    path = REPO / "benchmarks" / "results" / f"pipeline_{args.name}.json"
    atomic_write_json(path, out)
    print(f"{'stage':<28}{'before jobs':>12}{'before s':>10}{'cpu s':>8}{'after jobs':>12}{'after s':>10}{'cpu s':>8}")
    for row in table:
        print(
            f"{row['stage']:<28}{row['jobs_before']:>12}{row['job_s_before']:>10.1f}{row['cpu_s_before'] or 0:>8.1f}"
            f"{row['jobs_after']:>12}{row['job_s_after']:>10.1f}{row['cpu_s_after'] or 0:>8.1f}"
        )
    print(
        f"job-seconds {before['job_seconds_total']:.0f} -> {after['job_seconds_total']:.0f} "
        f"(x{out['ratio_job_seconds']}; CPU seconds x{out['ratio_cpu_seconds']}), Snakemake wall {before['wall_s']:.0f} -> {after['wall_s']:.0f} s "
        f"(x{out['ratio_wall']})\n-> {path}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
