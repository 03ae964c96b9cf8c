"""Markdown tables for docs/attacks.md from the JSON that benchmarks/attack_formulations.py wrote.

Run: ``python benchmarks/attack_tables.py benchmarks/results/attack_basic_*.json ...``; prints
one table of counts, gaps and displacement per file, and one per-joint table (L-inf
against eps) per run with ``--joints``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def pct(c: dict | None) -> str:
    if not c:
        return "-"
    rate = "n/a" if c["rate"] is None else f"{100 * c['rate']:.0f} %"
    return f"{c['count']}/{c['of']} ({rate})"


def mm(v: float | None) -> str:
    return "-" if v is None else f"{1000 * v:.1f}"


def table(record: dict, source: str) -> str:
    lines = [
        f"`{source}` ({record['selection']}, {record['split']} split, {record['max_iter']} iterations unless named):",
        "",
        "| run | flipped | on target | mean gap: start -> end | final gap p10 / median / p90 (nats) | joint disp. mean / max (mm) | "
        "past eps: max (mm) / share of clip-joints | accel. energy result (clean) | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in record["runs"].items():
        g = r.get("gap_curve") or [None]
        fg = r.get("final_gap_clean_correct") or {}
        over = r["eps_overshoot_overall"]
        acc = r["acceleration_energy"]
        lines.append(
            f"| {name} | {pct(r['flipped'])} | {pct(r['targeted_success'])} | {g[0]} -> {g[-1]} | "
            f"{fg.get('p10', '-')} / {fg.get('median', '-')} / {fg.get('p90', '-')} | "
            f"{mm(r['joint_variation']['mean'])} / {mm(r['joint_variation']['max'])} | "
            f"{mm(over['overall_overshoot_max'])} / {100 * over['overall_fraction_beyond']:.0f} % | "
            f"{acc['perturbed']:.4f} ({acc['clean']:.4f}) | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def joints(record: dict, run: str) -> str:
    r = record["runs"][run]
    lines = [
        f"Per joint, `{run}`: eps, L-inf max / mean over clips (mm), share of clips beyond eps, mean Euclidean displacement (mm)",
        "",
        "| joint | eps | L-inf max | L-inf mean | clips beyond eps | mean displacement |",
        "|---|---|---|---|---|---|",
    ]
    for name, j in r["per_joint"].items():
        lines.append(
            f"| {name} | {mm(j['eps'])} | {mm(j['linf_max'])} | {mm(j['linf_mean'])} | "
            f"{100 * j['fraction_clips_beyond']:.0f} % | {mm(j['euclid_mean'])} |"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--joints", action="store_true", help="also per-joint tables")
    args = p.parse_args()
    for path in args.files:
        record = json.loads(path.read_text())
        print(table(record, path.name), "\n")
        if args.joints:
            for run in record["runs"]:
                print(joints(record, run), "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
