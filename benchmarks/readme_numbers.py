"""The README's table of numbers, generated from the committed benchmark JSON.

    python benchmarks/readme_numbers.py           # rewrite the table in README.md
    python benchmarks/readme_numbers.py --check   # exit 1 if README.md differs (tests run this)

Every number a reader sees in the README comes from a file in ``benchmarks/results/``
that a benchmark script of the current code wrote; this script only formats them, so
the README cannot drift from what a fresh clone measures. The table sits between the
``<!-- numbers:begin -->`` and ``<!-- numbers:end -->`` markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from report.stats import wilson  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
README = REPO / "README.md"
BEGIN, END = "<!-- numbers:begin -->", "<!-- numbers:end -->"


def load(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / name).read_text())


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f} %"


def count(entry: dict[str, Any]) -> str:
    """``{'count': k, 'of': n}`` (attack JSON) or ``{'k': k, 'n': n}`` (report JSON) as ``k/n``."""
    k = entry.get("count", entry.get("k"))
    n = entry.get("of", entry.get("n"))
    return f"{k}/{n}"


def interval(entry: dict[str, Any], scale: float = 100.0, unit: str = " %") -> str:
    """Value, 95 % interval and the count behind it (``n = N`` for a paired drop).

    A rate's interval is Wilson's, computed here from its k and n (``report.stats.wilson``, as
    the report does), so results recorded before the report moved from bootstrap to Wilson
    intervals read the same as new ones; a paired drop keeps its recorded bootstrap interval."""
    if entry.get("value") is None:
        return f"n/a ({count(entry)})"
    rate = entry.get("k") is not None or "count" in entry
    low, high = (
        wilson(int(entry.get("count", entry.get("k"))), int(entry.get("of", entry.get("n"))))
        if rate
        else (entry["low"], entry["high"])
    )
    counted = count(entry) if rate else f"n = {entry['n']}"
    return f"{scale * entry['value']:.1f}{unit} [{scale * low:.1f}, {scale * high:.1f}] ({counted})"


# ---------------------------------------------------------------------- rows
def row_data() -> list[str]:
    s = load("data_synth.json")["synth"]
    return [
        f"| embedded data set | {s['clips']:,} clips ({s['classes']} classes, T={s['frames']}, M={s['bodies']}) "
        f"generated in {s['total_seconds']:.1f} s | `benchmarks/data_synth.py` → `data_synth.json` |"
    ]


def row_pipeline() -> list[str]:
    d = load("pipeline_demo.json")
    h = d["headline"]
    stages = {s["rule"]: s for s in d["stages"]}
    train = max((stages[r]["max_s"] for r in ("train_model", "train_classifier") if r in stages), default=0.0)
    shipped = any(r in stages for r in ("install_model", "install_classifier"))
    models_how = "the two shipped models (`models/demo/`)" if shipped else "two models trained"
    train_note = "no training" if shipped and not train else f"longest training job {train:.0f} s"
    models = {name: m for name, m in d.get("models", {}).items() if name != "attacked"}
    n_cond = len(h.get("conditions", ("clean", "perturbed")))
    control = h.get("rgb_attributable_drop")
    rows = [
        f"| default pipeline (`make demo`: {d['clips']} clips x {n_cond} conditions, {models_how}) | "
        f"{d['wall_s']:.0f} s of Snakemake on {d['cores']} cores ({train_note}; "
        + (
            f"load average {d['load_average_before'][0]:.1f} at the start)"
            if d.get("load_average_before")
            else "start load not recorded)"
        )
        + (
            f"; x{d['ratio_wall']:.2f} of the wall and x{d['ratio_job_seconds']:.2f} of the job-seconds of the demo "
            f"before issue 25 (commit {d['before_ref'][:7]}: {d['before']['wall_s']:.0f} s, "
            f"{d['before']['job_seconds_total']:.0f} job-s, training both models), run just before it on the same machine"
            if d.get("before_ref")
            else ""
        )
        + " | "
        + "`benchmarks/pipeline_timings.py --name demo"
        + (f" --before-ref {d['before_ref'][:7]}" if d.get("before_ref") else "")
        + "` → `pipeline_demo.json` |",
        f"| skeleton domain in that run (attacked model) | clean accuracy {interval(h['skeleton_clean_accuracy'])}; "
        f"**flipped {interval(h['skeleton_flipped'])}** of the clean-correct clips | same, from `results/report/summary.json` |",
        f"| RGB domain in that run (attacked model) | clean renders {interval(h['rgb_clean_accuracy'])}, "
        f"perturbed renders {interval(h['rgb_perturbed_accuracy'])}; **drop {interval(h['rgb_drop'], unit=' pp')}** "
        f"(paper: 54.1 → 39.3 %, 14.8 pp); detection {pct(h['detection_rate']['clean'])} / "
        f"{pct(h['detection_rate']['perturbed'])} | same |",
    ]
    if control and control.get("n"):
        rows.append(
            f"| matched control in that run (attacked model) | RGB control renders "
            f"{interval(h['rgb_control_accuracy'])}; **attributable drop (control - perturbed, paired) "
            f"{interval(control, unit=' pp')}**, exact McNemar p = {p_value(h.get('rgb_attributable_drop_p'))}; "
            f"skeleton control {interval(h['skeleton_control_accuracy'])} | same |"
        )
    for name, m in models.items():
        rows.append(
            f"| the `{name}` classifier in that run (transfer) | skeleton clean "
            f"{interval(m['skeleton/clean'])}, perturbed {interval(m['skeleton/perturbed'])}; RGB clean "
            f"{interval(m['rgb/clean'])}, perturbed {interval(m['rgb/perturbed'])} | same |"
        )
    return rows


def row_attack() -> list[str]:
    basic_p = load("attack_basic_perturbation_lr1.json")["runs"]["perturbation"]
    basic_s = load("attack_basic_skeleton.json")["runs"]["skeleton"]
    adv = load("attack_advanced_lam5.json")["runs"]
    adv_run = next(iter(adv.values()))
    speed = {r["formulation"]: r for r in load("attack_speed.json")["rows"] if r["setting"].startswith("ntu")}
    chunks = load("discriminator_chunks.json")["rows"]
    return [
        f"| CIASA basic, eps 0.01, least-likely target, plain model, 100 clean-correct xsub val clips (plausibility "
        f"limits off: measured before they existed, the same as `--plausible none`) | "
        f"Algorithm 1 as printed (`--optimize skeleton`): on target {count(basic_s['targeted_success'])}, "
        f"flipped {count(basic_s['flipped'])}; perturbation formulation (default): on target "
        f"{count(basic_p['targeted_success'])}, flipped {count(basic_p['flipped'])} | "
        f"`benchmarks/attack_formulations.py` → `attack_basic_*.json` |",
        f"| CIASA advanced (legs), untargeted, lambda 5, same clips, plausibility limits off | flipped {count(adv_run['flipped'])}; "
        f"leg displacement mean {1000 * adv_run['joint_variation']['mean']:.0f} mm, max "
        f"{1000 * adv_run['joint_variation']['max']:.0f} mm | same → `attack_advanced_lam5.json` |",
        "| one CIASA iteration vs a plain forward+backward (official width, T=300, M=2, batch 8, CPU) | "
        + ", ".join(f"{name} {r['ratio']:.2f}x" for name, r in speed.items())
        + " (median of interleaved pairs; below 1 is the machine's noise): the smoothness, bone-cosine and "
        f"discriminator terms add {max(r['components_s']['smooth+cosine+discriminator'] for r in speed.values()):.2f} s "
        f"to a {min(r['plain_fwd_bwd_s'] for r in speed.values()):.1f} s pass"
        + " | `benchmarks/attack_speed.py` → `attack_speed.json` |",
        "| the GAN discriminator on the CPU, one call vs chunks of "
        f"{chunks[0]['chunk']} frames (same scores: {'yes' if all(r['scores_equal'] for r in chunks) else 'NO'}) | "
        + ", ".join(f"{r['setting'].split(' (')[0]} ({r['maps']:,} maps) {r['speedup']:.1f}x faster" for r in chunks)
        + " | `benchmarks/discriminator_chunks.py` → `discriminator_chunks.json` |",
    ]


def row_plausibility() -> list[str]:
    """Flips and plausibility, limits off vs the default, on the demo's and the plain model,
    with the size-matched control of the default run (attack_plausibility_final.json, current code)."""
    d = load("attack_plausibility_final.json")
    rows = []
    for name, m in d["models"].items():
        runs = m["runs"]
        if "off" not in runs or "default" not in runs:
            continue
        off, on = runs["off"], runs["default"]
        pc, po, pn = on["plausibility"]["clean"], off["plausibility"]["perturbed"], on["plausibility"]["perturbed"]
        ctrl = on["control"]
        size = ctrl["realised_displacement"]
        rows.append(
            f"| plausibility, {name} model (advanced, untargeted, `perturbation`, lambda 5, no error model; "
            f"n = {on['n']} random clean-correct val clips) | flipped {count(off['flipped'])} without the limits, "
            f"{count(on['flipped'])} with the default (penalty); knee hyperextended > 10 deg "
            f"{pct(po['leg_hyperextended_10deg'])} → {pct(pn['leg_hyperextended_10deg'])} of leg-frames (clean "
            f"{pct(pc['leg_hyperextended_10deg'])}); foot > 2 cm under the floor {pct(po['under_floor_2cm'])} → "
            f"{pct(pn['under_floor_2cm'])}; top joint speed ratio {po['max_speed_ratio']:.2f} → {pn['max_speed_ratio']:.2f}; "
            f"the size-matched control (control / attack displacement {size['ratio']:.2f}) flipped "
            f"{count(ctrl['flipped'])} | `benchmarks/attack_plausibility.py` → `attack_plausibility_final.json` |"
        )
    return rows


def row_pose() -> list[str]:
    d = load("pose_accuracy.json")
    real = d["real_motion"]
    held = real["variants"]["default"]["held_out"]
    synth = d["variants"]["default"]["all"]
    fits = load("fit_pose_artefacts.json")
    held_fit = fits["refiner_held_out"]["by_refiner"]
    val_fit = fits["val_view_report"]["by_refiner"]
    speed = load("pose_speed.json")["results"]
    after = next(v for k, v in speed.items() if k.startswith("after"))
    before = next(v for k, v in speed.items() if k.startswith("before"))
    det = real["detection"]["all"]
    return [
        f"| pose extraction on real motion (CMU mocap rendered at 320x240; defaults chosen on subjects "
        f"{'/'.join(map(str, real['dev_subjects']))}, reported on held-out subjects "
        f"{'/'.join(map(str, real['held_out_subjects']))}) | detection {det['detected']}/{det['frames']} frames; "
        f"held out: PA-MPJPE (25 joints) {held['pa_mpjpe_all_fit_all_mm']:.1f} mm, camera space "
        f"{held['mpjpe_all_mm']:.1f} mm, L/R swaps {pct(held['swap_rate'])} | `benchmarks/pose_accuracy.py` → "
        f"`pose_accuracy.json` |",
        f"| pose extraction on synthetic val renders | default options: PA-MPJPE {synth['pa_mpjpe_all_fit_all_mm']:.1f} mm, "
        f"camera {synth['mpjpe_all_mm']:.1f} mm | same |",
        f"| the demo's `pose.options` (body prior + refiner fitted on {len(fits['refiner_clips'])} "
        f"clean renders of the {fits['fit_split']} split) | PA-MPJPE on {held_fit['none']['clips']} held-out training clips "
        f"{held_fit['none']['pa_mpjpe_all_fit_all_mm']:.1f} → {held_fit['new']['pa_mpjpe_all_fit_all_mm']:.1f} mm "
        f"(no refiner → refiner); on {val_fit['none']['clips']} frontal val clips outside the demo's "
        f"{val_fit['none']['pa_mpjpe_all_fit_all_mm']:.1f} → {val_fit['new']['pa_mpjpe_all_fit_all_mm']:.1f} mm | "
        f"`benchmarks/fit_pose_artefacts.py` → `fit_pose_artefacts.json` |",
        f"| pose extraction speed | {after['frames_per_cpu_second']:.1f} frames per CPU-second "
        f"({before['frames_per_cpu_second']:.1f} before this version, same run) | `benchmarks/pose_speed.py` → "
        f"`pose_speed.json` |",
    ]


def row_render() -> list[str]:
    """The presets as measured (the draft with FXAA then) and the draft without anti-aliasing, its
    preset since, from the alternating FXAA / no-AA run (docs/render.md, "Anti-aliasing")."""
    rows = load("render_speed_presets.json")["presets"]
    aa = load("render_speed_aa.json")["aa"]["median_cpu_s_per_frame"]["320x240"]
    cells = [f"draft {aa['OFF']:.3g} (no anti-aliasing, the preset; {aa['FXAA']:.3g} with FXAA, same run)"]
    for quality in ("standard", "photo"):
        r = next((r for r in rows if r["quality"] == quality and r["resolution"] == "320x240"), None)
        if r is not None:
            cells.append(f"{quality} {r['cpu_s_per_frame']:.3g}")
    return [
        f"| render, CPU-seconds per frame at 320x240 on one core | {', '.join(cells)} | "
        f"`benchmarks/render_speed.py --parts aa,presets` → `render_speed_aa.json`, `render_speed_presets.json` |"
    ]


def row_paper() -> list[str]:
    models = load("paper_models.json")["models"]
    res = load("paper_results.json")
    units = {u["unit"]: u for u in res["units"]}
    accuracies = ", ".join(
        f"{m['model'].split(' (')[0]} {m['val_top1']:.1f} %" for k, m in models.items() if k != "kinetics_stgcn"
    )
    kin = models["kinetics_stgcn"]
    trained = sum(m.get("train_seconds", 0) for m in models.values())

    def at(unit: str, eps: float) -> dict[str, Any]:
        return next(r for r in units[unit]["record"]["rows"] if abs(r["eps"] - eps) < 1e-12)

    t1 = {f: at(f"ntu/table1_{f}", 0.012) for f in ("skeleton", "perturbation")}
    t3 = {r["key"]: r for r in units["ntu/table3_basic_perturbation"]["record"]["rows"]}
    wall = res.get("wall_seconds")
    return [
        f"| models for the paper's tables (xview val, 800 clips; the recipes in `config/train_*.yaml`) | {accuracies}; "
        f"2-D ST-GCN {kin['val_top1']:.1f} % (Kinetics-like val); {trained / 60:.0f} min of training in all | "
        "`benchmarks/paper_results.py` → `paper_models.json` |",
        f"| the paper's Fig. 2 and Tables I-V, both formulations, n = {res['limit']} per table "
        "([docs/results.md](docs/results.md)) | Table I at eps 0.012 on target: skeleton "
        f"{t1['skeleton']['targeted_count']}, perturbation {t1['perturbation']['targeted_count']} (paper 99.6 %); "
        f"Table III, basic eps 0.012: 2s-AGCN {t3['2s']['clean_acc']:.1f} → {t3['2s']['attacked_acc']:.1f} %, "
        f"PA-LSTM {t3['pa_lstm']['clean_acc']:.1f} → {t3['pa_lstm']['attacked_acc']:.1f} %"
        + (f"; {wall / 60:.0f} min wall on 2 cores" if wall else "")
        + " | `python -m ciasa.experiments all` → `paper_results.json` |",
    ]


def p_value(p: float | None) -> str:
    return "n/a" if p is None else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def row_transfer_seeds() -> list[str]:
    """The pooled attributable drop over seeds (benchmarks/transfer_seeds.py), once it has been run."""
    if not (RESULTS / "transfer_seeds.json").is_file():
        return []
    d = load("transfer_seeds.json")
    pooled, spread = d["pooled"], d["spread"]["rgb_attributable_drop"]
    per_seed = ", ".join(
        "n/a" if (v := (s["headline"].get("rgb_attributable_drop") or {}).get("value")) is None else f"{100 * v:.1f}"
        for s in d["per_seed"]
    )
    sd = "" if spread["sd"] is None else f", sd {100 * spread['sd']:.1f}"
    return (
        [
            f"| the demo over {len(d['seeds'])} seeds (model training and clip draw; n = {d['count']} each) | RGB: control "
            f"{interval(pooled['rgb']['control_accuracy'])}, perturbed {interval(pooled['rgb']['perturbed_accuracy'])}; "
            f"**attributable drop {interval(pooled['rgb']['attributable_drop'], unit=' pp')}** pooled over "
            f"{pooled['rgb']['pairs']} seed x clip pairs, exact McNemar p = {p_value(pooled['rgb']['attributable_drop_p'])}; "
            f"per seed {per_seed} pp (mean {100 * spread['mean']:.1f}{sd}); clean - perturbed renders "
            f"{interval(pooled['rgb_drop_clean_perturbed'], unit=' pp')} (paper: 14.8 pp); skeleton attributable drop "
            f"{interval(pooled['skeleton']['attributable_drop'], unit=' pp')} | `benchmarks/transfer_seeds.py` → "
            "`transfer_seeds.json` |"
        ]
        if spread["mean"] is not None
        else []
    )


REAL_MODELS = ("efficientgcn-xview", "shiftgcn-xview", "efficientgcn-xsub", "shiftgcn-xsub")


def row_real_ntu() -> list[str]:
    """CIASA basic mode on the seven real NTU clips against the published models (benchmarks/real_ntu.py):
    on-target counts per model, formulation, box and eps, merged over the result files."""
    attacks = []
    for path in sorted(RESULTS.glob("real_ntu*.json")):
        attacks += [
            a
            for a in json.loads(path.read_text()).get("attacks", [])
            if a["mode"] == "basic" and not (a["settings"].get("plausibility_settings") or {}).get("active")
        ]
    if not attacks:
        return []
    cells: dict[str, dict[tuple[str, str], dict[float, dict[str, Any]]]] = {}
    for a in attacks:
        key = (a["settings"]["formulation"], a["settings"]["box"])
        cells.setdefault(a["model"], {}).setdefault(key, {})[a["eps_m"]] = a
    parts = []
    order = [m for m in REAL_MODELS if m in cells] + sorted(set(cells) - set(REAL_MODELS))
    for model in order:
        runs = []
        for form, box in sorted(cells[model], key=lambda k: (k[0] != "perturbation", k[1] != "loose")):
            by_eps = cells[model][(form, box)]
            runs.append(
                f"`{form}` {box} "
                + ", ".join(
                    f"{1000 * e:.0f} mm {by_eps[e]['success_clean_correct']['count']}/"
                    f"{by_eps[e]['success_clean_correct']['of']} (L-inf {by_eps[e]['linf_mm_mean']:.1f} mm)"
                    for e in sorted(by_eps)
                )
            )
        parts.append(f"{model}: " + "; ".join(runs))
    return [
        "| CIASA on 7 real NTU RGB+D clips, published models (basic, least-likely target, 100 steps, limits off; "
        "on target k/n of the clean-correct clips at each eps, realised L-inf mean; loose box = the paper's "
        "clip-then-realign, strict = every joint within eps) | "
        + "; ".join(parts)
        + " | `benchmarks/real_ntu.py` → `real_ntu*.json` |"
    ]


ROWS: tuple[Callable[[], list[str]], ...] = (
    row_data,
    row_pipeline,
    row_transfer_seeds,
    row_plausibility,
    row_attack,
    row_real_ntu,
    row_paper,
    row_pose,
    row_render,
)


def table() -> str:
    lines = ["| what | measured | command / record |", "|---|---|---|"]
    for make in ROWS:
        lines += make()
    return "\n".join(lines)


def rewrite(text: str, body: str) -> str:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{README}: the markers {BEGIN} and {END} are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{body}\n{END}{tail}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if README.md's table differs from the JSON")
    args = p.parse_args()
    text = README.read_text()
    new = rewrite(text, table())
    if args.check:
        if new != text:
            print(
                "README.md's numbers differ from benchmarks/results/: run python benchmarks/readme_numbers.py",
                file=sys.stderr,
            )
            return 1
        return 0
    README.write_text(new)
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
