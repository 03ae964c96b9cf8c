"""Build the transfer report: ``index.html`` (standalone), ``summary.json``, ``summary.md``.

Reads the pipeline's outputs through :class:`pipeline.paths.Paths`, copies the
overlay videos next to the page (so the report folder can be zipped and opened
anywhere), draws the skeleton strips, and writes the numbers computed by
:mod:`report.metrics`.
"""

from __future__ import annotations

import datetime as _dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ciasa.cli import read_name_list
from ciasa.io import atomic_path, atomic_write_json, atomic_write_text
from pipeline.paths import ATTACKED_MODEL, CONDITIONS, CONTROL, Paths
from pipeline.strip import recovered_skeleton, write_strip
from report import html, metrics, records, timings

log = logging.getLogger(__name__)


@dataclass
class ReportOptions:
    root: str
    clips_file: str
    data_dir: str
    split: str = "val"
    tag: str = ""
    models: list[str] = field(default_factory=lambda: [ATTACKED_MODEL])
    out_dir: str | None = None
    n_boot: int = 2000
    seed: int = 0
    min_clean_accuracy: float = 0.75
    title: str = "CIASA: from skeletons to rendered video and back"
    model_eval: str | None = None
    run_info: list[tuple[str, str]] = field(default_factory=list)
    strip_frames: int = 6
    conditions: tuple[str, ...] = CONDITIONS


def build_notes(h: metrics.Headline, opts: ReportOptions) -> list[tuple[str, str]]:
    """Plain-language notes; 'alert' ones are shown prominently."""
    notes: list[tuple[str, str]] = []
    clean = h.rgb_clean_accuracy.value
    if clean is None:
        notes.append(
            (
                "alert",
                "No clip gave a skeleton from both its clean and perturbed video: the RGB-domain "
                "numbers cannot be computed. See the per-clip table for the reasons.",
            )
        )
    elif clean < opts.min_clean_accuracy and (h.skeleton_clean_accuracy.value or 0) < opts.min_clean_accuracy:
        notes.append(
            (
                "alert",
                f"Accuracy on clean renders is {100 * clean:.1f} %, but the classifier already reaches only "
                f"{100 * (h.skeleton_clean_accuracy.value or 0):.1f} % on the source skeletons of these clips: "
                "the model, not the render round trip, is the first problem (train longer or use a better checkpoint).",
            )
        )
    elif clean < opts.min_clean_accuracy:
        notes.append(
            (
                "alert",
                f"Accuracy on clean renders is {100 * clean:.1f} %, below {100 * opts.min_clean_accuracy:.0f} %: "
                "the render -> pose-extraction round trip loses much of the action even without an attack, "
                "so the clean-vs-perturbed drop says little about the attack. Check the joint mapping, axes, "
                "lifting and framing (overlay videos below) before reading the drop.",
            )
        )
    skipped = h.n_clips - h.n_rgb_pairs
    if skipped:
        names = ", ".join(f"{k} ({v})" for k, v in list(h.rgb_excluded.items())[:10])
        notes.append(
            (
                "warn",
                f"{skipped} of {h.n_clips} clips are left out of the paired RGB rates: {names}. "
                "The rows 'failures counted wrong' include them as misclassified.",
            )
        )
    if h.n_clips < 30:
        notes.append(
            (
                "info",
                f"Only {h.n_clips} clips: the 95 % intervals are wide; compare runs by their intervals, "
                "not their point values.",
            )
        )
    if h.attack_disagreements:
        n = len(h.attack_disagreements)
        notes.append(
            (
                "warn",
                f"For {n} of {h.n_clips} clips the attack's own record of reaching its target differs "
                "from the re-classification of the stored perturbed skeleton "
                f"({', '.join(h.attack_disagreements[:5])}): the stored perturbation does not reproduce the "
                "attack's final prediction for every clip (e.g. float rounding at a decision boundary).",
            )
        )
    flipped, targeted = h.skeleton_flipped, h.skeleton_targeted
    if flipped.n == 0:
        notes.append(
            (
                "alert",
                f"The attacked model classifies none of the {h.n_clips} clips correctly on clean "
                "skeletons: there is nothing the attack could flip, and its flipped and targeted rates are "
                "undefined. Train longer or use a better checkpoint.",
            )
        )
    elif flipped.value is not None and flipped.value < 0.5:
        notes.append(
            (
                "warn",
                f"The attack flipped {flipped.k} of the {flipped.n} clean-correct clips (targeted: "
                f"{targeted.k} of {targeted.n}); with few successful perturbations in the skeleton "
                "domain, the RGB-domain drop mostly measures the round trip's own noise. A stronger setting "
                "(attack.mode basic or localized, more iterations) tests transfer more.",
            )
        )
    clean = h.skeleton_clean_accuracy
    if clean.k is not None and clean.k < clean.n:
        notes.append(
            (
                "info",
                f"{clean.n - clean.k} of {clean.n} clip(s) are misclassified already on clean "
                "skeletons: they count in the accuracies but not in the attack's flipped and targeted rates.",
            )
        )
    if CONTROL in h.conditions and h.rgb_attributable_drop.value is not None:
        share = None
        if h.rgb_drop.value and h.rgb_control_drop.value is not None:
            share = h.rgb_control_drop.value / h.rgb_drop.value
        notes.append(
            (
                "info",
                f"Attributable drop in the RGB domain (control renders - perturbed renders, paired over "
                f"{h.n_rgb_control_pairs} clips): {h.rgb_attributable_drop.percent()}, exact McNemar "
                f"{html.p_text(h.rgb_attributable_drop_p)}; the drop from clean to control renders, which any "
                f"leg motion of the attack's size causes, is {h.rgb_control_drop.percent()}"
                + ("" if share is None else f" ({100 * share:.0f} % of the clean-to-perturbed drop)")
                + ".",
            )
        )
    elif CONTROL not in h.conditions:
        notes.append(
            (
                "warn",
                "This run has no control condition (config control: false): the drop below cannot "
                "be told apart from the classifier's fragility to any leg motion of the attack's size.",
            )
        )
    if h.rgb_drop.value is not None:
        notes.append(
            (
                "info",
                f"Drop from clean to perturbed renders: {h.rgb_drop.percent()} "
                "(percentage points, paired over the same clips). It is a measurement of transfer, "
                "not a target the attack was tuned to.",
            )
        )
    return notes


def write_markdown(
    path: Path,
    h: metrics.Headline,
    notes: list[tuple[str, str]],
    model_table: dict,
    recs,
    times,
    span,
    recovery: dict | None = None,
    plausibility: dict | None = None,
) -> None:
    conds = h.conditions
    slash = " / ".join(conds)
    lines = ["# CIASA transfer report", "", "| domain | measure | value (count) [95 % CI] | n |", "|---|---|---|---|"]
    for domain, label, e in html.headline_rows(h):
        lines.append(f"| {domain} | {label} | {e.percent()} | {e.n} |")
    det = h.detection_rate
    lines.append(
        f"| pose | mean detection rate {slash} | {' / '.join(html.pct(det.get(c)) for c in conds)} | {h.n_clips} |"
    )
    lines.append(
        f"| render | failed renders {slash} | {' / '.join(str(h.renders_failed.get(c, 0)) for c in conds)} | {h.n_clips} |"
    )
    lines += ["", "## Notes", ""] + [f"- **{lvl}**: {text}" for lvl, text in notes]
    if plausibility:
        lines += [
            "",
            "## Plausibility (the attack's measures)",
            "",
            f"| measure | {' | '.join(conds)} |",
            "|---|" + "---|" * len(conds),
        ]
        for measure, values in plausibility.items():
            lines.append(
                f"| {measure} | "
                + " | ".join("-" if values.get(c) is None else f"{values[c]:.4f}" for c in conds)
                + " |"
            )
    if recovery:
        lines += [
            "",
            "## Pose recovery",
            "",
            "| condition | PA-MPJPE (mm) | L/R swapped frames | surviving share | rendered displacement (mm) | clips |",
            "|---|---|---|---|---|---|",
        ]
        for cond, e in recovery.items():
            pa, sw, sv, dm = e["pa_mpjpe_mm"], e["swap_rate"], e.get("survival"), e.get("displacement_mm")
            lines.append(
                f"| {cond} | {html._num(pa['mean'])} | {html.pct(sw['mean'])} | "
                f"{'-' if sv is None else html._num(sv['mean'], 100, 0, ' %')} | "
                f"{'-' if dm is None else html._num(dm['mean'])} | {pa['n']} |"
            )
    if len(model_table) > 1:
        keys = html.model_table_keys(model_table)
        lines += [
            "",
            "## Classifiers",
            "",
            "| model | " + " | ".join(k.replace("/", " ").replace("_", " ") for k in keys) + " |",
            "|---|" + "---|" * len(keys),
        ]
        for model, accs in model_table.items():
            lines.append(f"| {model} | " + " | ".join(accs[k].percent() if k in accs else "-" for k in keys) + " |")
    titles = [f"{d} {c}" for d in ("skel", "RGB") for c in conds] + [f"det {c}" for c in conds]
    lines += [
        "",
        "## Per clip",
        "",
        "| clip | true | target | " + " | ".join(titles) + " |",
        "|---|---|---|" + "---|" * len(titles),
    ]
    for r in recs:
        cells = [r.pred(d, c) for d in ("skeleton", "rgb") for c in conds]
        lines.append(
            f"| {r.name} | {r.label} | {r.target} | "
            + " | ".join("-" if v is None else str(v) for v in cells)
            + " | "
            + " | ".join(html.pct(r.videos[c].detection_rate if c in r.videos else None, 0) for c in conds)
            + " |"
        )
    lines += [
        "",
        "## Time per stage",
        "",
        "| stage | jobs | sum of job times (s) | longest job (s) |",
        "|---|---|---|---|",
    ]
    for t in times:
        lines.append(f"| {t.stage} | {t.jobs} | {t.total_s:.1f} | {t.max_s:.1f} |")
    if span is not None:
        lines += ["", f"Wall-clock span of the benchmarked jobs: {span:.0f} s."]
    atomic_write_text(path, "\n".join(lines) + "\n")


def write_headline_csv(path: Path, h: metrics.Headline) -> None:
    """The headline table as CSV (what ``snakemake --report`` shows)."""
    import csv

    with atomic_path(path, suffix=".csv") as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["domain", "measure", "value", "count", "ci_low", "ci_high", "n"])
        for domain, label, e in html.headline_rows(h):
            value, low, high = ("" if v is None else f"{v:.4f}" for v in (e.value, e.low, e.high))
            w.writerow([domain, label, value, "" if e.k is None else e.k, low, high, e.n])


def build_report(opts: ReportOptions) -> dict:
    from ciasa.data.stgcn import load_class_names, load_labels, split_paths

    paths = Paths(opts.root, opts.tag)
    out = Path(opts.out_dir or paths.report_dir())
    out.mkdir(parents=True, exist_ok=True)
    clips = read_name_list(opts.clips_file)
    names, labels = load_labels(split_paths(opts.data_dir, opts.split)[1])
    label_of = dict(zip(names, (int(x) for x in labels)))
    class_names = load_class_names(opts.data_dir) or [str(i) for i in range(int(labels.max()) + 1)]

    conditions = tuple(c for c in CONDITIONS if c in opts.conditions)
    recs = records.gather(paths, clips, opts.models, class_names, label_of, conditions)
    h = metrics.headline(recs, opts.n_boot, opts.seed, conditions=conditions)
    recovery = metrics.recovery_summary(recs, conditions)
    attack_summary = Path(paths.attack_summary())
    plausibility = {}
    if attack_summary.is_file():
        attack = records.read_json(attack_summary)
        plausibility = records.plausibility(attack, conditions)
        shown = (attack.get("control") or {}).get("realised_displacement") or {}
        moved = {c: shown.get(f"{c}_mean_mm") for c in conditions if shown.get(f"{c}_mean_mm") is not None}
        if moved:  # the control is matched to the attack's size: both should show the same
            plausibility["mean displacement of the attacked joints (mm)"] = moved
    model_table = {m: metrics.model_accuracies(recs, m, opts.n_boot, opts.seed) for m in opts.models}
    notes = build_notes(h, opts)
    times = timings.stage_times(paths.benchmarks_dir())
    span = timings.wall_span(times)
    model_eval = records.read_json(opts.model_eval) if opts.model_eval and Path(opts.model_eval).is_file() else None

    media: dict[str, dict[str, str]] = {}
    strips: dict[str, str] = {}
    for rec in recs:
        for condition in conditions:
            src = Path(paths.media(rec.name, condition))
            if src.is_file():
                rel = Path("media") / rec.name / f"{condition}.mp4"
                with atomic_path(out / rel, suffix=".mp4") as tmp:
                    shutil.copyfile(src, tmp)
                media.setdefault(rec.name, {})[condition] = rel.as_posix()
        rel_fig = Path("figures") / f"{rec.name}.png"
        strip = Path(paths.strip(rec.name))
        if strip.is_file():
            with atomic_path(out / rel_fig, suffix=".png") as tmp:
                shutil.copyfile(strip, tmp)
        else:
            # the strip job failed or was not run: draw it here, from the same arrays
            write_strip(
                out / rel_fig,
                {c: np.load(paths.skeleton(rec.name, c)) for c in conditions},
                {
                    c: recovered_skeleton(
                        paths.pose(rec.name, c) if Path(paths.pose(rec.name, c)).is_file() else None,
                        paths.pose_info(rec.name, c),
                    )
                    for c in conditions
                },
                title=f"{rec.name} ({rec.label_name})",
                frames=opts.strip_frames,
            )
        strips[rec.name] = rel_fig.as_posix()

    run_info = [
        ("generated", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("clips", str(len(recs))),
    ] + list(opts.run_info)
    page = html.page(
        html.PageContent(
            opts.title,
            run_info,
            notes,
            h,
            model_table,
            recs,
            class_names,
            media,
            strips,
            times,
            span,
            model_eval,
            plausibility,
            recovery,
        )
    )
    atomic_write_text(out / "index.html", page)
    summary = {
        "headline": h.as_dict(),
        "conditions": list(conditions),
        "models": {m: {k: e.as_dict() for k, e in accs.items()} for m, accs in model_table.items()},
        "pose_recovery": recovery,
        "plausibility": plausibility,
        "model_eval": model_eval,
        "notes": [{"level": lvl, "text": text} for lvl, text in notes],
        "clips": [r.as_dict() for r in recs],
        "timings": [t.as_dict() for t in times],
        "wall_span_s": span,
        "bootstrap": {"n_boot": opts.n_boot, "seed": opts.seed, "level": 0.95},
        "run_info": dict(run_info),
    }
    atomic_write_json(out / "summary.json", summary)
    write_markdown(out / "summary.md", h, notes, model_table, recs, times, span, recovery, plausibility)
    write_headline_csv(out / "headline.csv", h)
    log.info("report -> %s (%d clips)", out / "index.html", len(recs))
    return summary
