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
    p.add_argument("--configfile", nargs="+", default=None,
                   help="override file(s) applied on top of config/config.yaml, in order")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--existing", help="results directory of a finished run (skip running)")
    p.add_argument("--wall-s", type=float, help="wall-clock seconds of that run")
    p.add_argument("--load-before", type=float, help="1-minute load average when that run started (by hand)")
    args = p.parse_args()

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
        "load_average_before": (([args.load_before] if args.load_before is not None else None) if args.existing
                                else [round(x, 2) for x in load_before]),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    path = REPO / "benchmarks" / "results" / f"pipeline_{args.name}.json"
    atomic_write_json(path, out)
    print(f"{args.name}: wall {out['wall_s']} s, {out['clips']} clips, load before {(out['load_average_before'] or ['not recorded'])[0]}")
    for stage in out["stages"]:
        print(f"  {stage['stage']:<24} jobs {stage['jobs']:>3}  sum {stage['total_s']:>8.1f} s  max {stage['max_s']:>7.1f} s")
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
