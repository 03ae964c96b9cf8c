"""Time per stage, from the Snakemake ``benchmark:`` files of the pipeline's jobs.

Each rule writes ``benchmarks/{rule}/...tsv`` (a header line, then ``s  h:m:s
max_rss ...`` for the job). Per stage the report shows the number of jobs, the sum
of their run times (CPU-side work, what a farm bills) and the longest job. The
wall-clock span from the first job's start to the last job's end is an estimate
from the files' modification times (jobs run in parallel, so it is less than the sum).
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from ciasa.cli import BadInput

# Rule directory -> stage label, in pipeline order.
STAGES: dict[str, str] = {
    "make_synth_data": "data (generate)",
    "convert_data": "data (convert)",
    "train_model": "models (train)",
    "install_model": "model (shipped checkpoint)",
    "train_classifier": "other classifiers (train)",
    "install_classifier": "other classifiers (shipped checkpoint)",
    "evaluate_model": "model (evaluate on val)",
    "select_clips": "select clips",
    "attack_shard": "attack (one job per shard)",
    "render_video": "render",
    "extract_pose": "pose extraction",
    "overlay_video": "overlay videos",
    "plot_strip": "skeleton strips",
    "collect_set": "collect sets",
    "classify_set": "classify",
}


@dataclass
class StageTime:
    rule: str
    stage: str
    jobs: int
    total_s: float
    max_s: float
    max_rss_mb: float | None
    first_start: float
    last_end: float

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("first_start")
        d.pop("last_end")
        return d


def read_benchmark(path: Path) -> dict[str, float]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        raise BadInput(f"{path}: empty benchmark file")
    row = rows[-1]
    out = {}
    for key in ("s", "max_rss"):
        try:
            out[key] = float(row[key])
        except (KeyError, ValueError, TypeError):
            out[key] = float("nan")
    return out


def stage_times(benchmarks_dir: str | Path) -> list[StageTime]:
    """Per-rule totals over ``benchmarks_dir/{rule}/**/*.tsv``."""
    root = Path(benchmarks_dir)
    result = []
    if not root.is_dir():
        return result
    order = list(STAGES)
    for rule_dir in sorted(root.iterdir(), key=lambda p: order.index(p.name) if p.name in order else len(order)):
        if not rule_dir.is_dir():
            continue
        secs, rss, starts, ends = [], [], [], []
        for tsv in sorted(rule_dir.rglob("*.tsv")):
            try:
                bench = read_benchmark(tsv)
            except (ValueError, OSError):
                continue
            mtime = tsv.stat().st_mtime
            secs.append(bench["s"])
            rss.append(bench["max_rss"])
            starts.append(mtime - bench["s"])
            ends.append(mtime)
        if not secs:
            continue
        finite_rss = [r for r in rss if r == r]
        result.append(
            StageTime(
                rule=rule_dir.name,
                stage=STAGES.get(rule_dir.name, rule_dir.name),
                jobs=len(secs),
                total_s=round(sum(secs), 2),
                max_s=round(max(secs), 2),
                max_rss_mb=round(max(finite_rss), 1) if finite_rss else None,
                first_start=min(starts),
                last_end=max(ends),
            )
        )
    return result


def wall_span(times: list[StageTime]) -> float | None:
    """Seconds from the earliest job start to the latest job end (None without jobs)."""
    if not times:
        return None
    return round(max(t.last_end for t in times) - min(t.first_start for t in times), 1)
