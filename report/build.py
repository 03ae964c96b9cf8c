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
from pipeline.guard import is_failed
from pipeline.paths import ATTACKED_MODEL, CONDITIONS, Paths
from report import figures, html, metrics, records, timings

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


def _load_optional(path: str) -> np.ndarray | None:
    p = Path(path)
    if not p.is_file():
        return None
    arr = np.load(p)
    return arr if arr.ndim == 4 and arr.shape[0] == 3 and arr.any() else None


def build_notes(h: metrics.Headline, opts: ReportOptions) -> list[tuple[str, str]]:
    """Plain-language notes; 'alert' ones are shown prominently."""
    notes: list[tuple[str, str]] = []
    clean = h.rgb_clean_accuracy.value
    if clean is None:
        notes.append(("alert", "No clip gave a skeleton from both its clean and perturbed video: the RGB-domain "
                      "numbers cannot be computed. See the per-clip table for the reasons."))
    elif clean < opts.min_clean_accuracy and (h.skeleton_clean_accuracy.value or 0) < opts.min_clean_accuracy:
        notes.append(("alert", f"Accuracy on clean renders is {100 * clean:.1f} %, but the classifier already reaches only "
                      f"{100 * (h.skeleton_clean_accuracy.value or 0):.1f} % on the source skeletons of these clips: "
                      "the model, not the render round trip, is the first problem (train longer or use a better checkpoint)."))
    elif clean < opts.min_clean_accuracy:
        notes.append(("alert", f"Accuracy on clean renders is {100 * clean:.1f} %, below {100 * opts.min_clean_accuracy:.0f} %: "
                      "the render -> pose-extraction round trip loses much of the action even without an attack, "
                      "so the clean-vs-perturbed drop says little about the attack. Check the joint mapping, axes, "
                      "lifting and framing (overlay videos below) before reading the drop."))
    skipped = h.n_clips - h.n_rgb_pairs
    if skipped:
        names = ", ".join(f"{k} ({v})" for k, v in list(h.rgb_excluded.items())[:10])
        notes.append(("warn", f"{skipped} of {h.n_clips} clips are left out of the paired RGB rates: {names}. "
                      "The rows 'failures counted wrong' include them as misclassified."))
    if h.n_clips < 30:
        notes.append(("info", f"Only {h.n_clips} clips: the 95 % intervals are wide; compare runs by their intervals, "
                      "not their point values."))
    if h.attack_disagreements:
        n = len(h.attack_disagreements)
        notes.append(("warn", f"For {n} of {h.n_clips} clips the attack's own record of reaching its target differs "
                      "from the re-classification of the stored perturbed skeleton "
                      f"({', '.join(h.attack_disagreements[:5])}): the stored perturbation does not reproduce the "
                      "attack's final prediction for every clip (e.g. float rounding at a decision boundary)."))
    flipped, targeted = h.skeleton_flipped, h.skeleton_targeted
    if flipped.n == 0:
        notes.append(("alert", f"The attacked model classifies none of the {h.n_clips} clips correctly on clean "
                      "skeletons: there is nothing the attack could flip, and its flipped and targeted rates are "
                      "undefined. Train longer or use a better checkpoint."))
    elif flipped.value is not None and flipped.value < 0.5:
        notes.append(("warn", f"The attack flipped {flipped.k} of the {flipped.n} clean-correct clips (targeted: "
                      f"{targeted.k} of {targeted.n}); with few successful perturbations in the skeleton "
                      "domain, the RGB-domain drop mostly measures the round trip's own noise. A stronger setting "
                      "(attack.mode basic or localized, more iterations) tests transfer more."))
    clean = h.skeleton_clean_accuracy
    if clean.k is not None and clean.k < clean.n:
        notes.append(("info", f"{clean.n - clean.k} of {clean.n} clip(s) are misclassified already on clean "
                      "skeletons: they count in the accuracies but not in the attack's flipped and targeted rates."))
    if h.rgb_drop.value is not None:
        notes.append(("info", f"Drop from clean to perturbed renders: {h.rgb_drop.percent()} "
                      "(percentage points, paired over the same clips). It is a measurement of transfer, "
                      "not a target the attack was tuned to."))
    return notes


def write_markdown(path: Path, h: metrics.Headline, notes: list[tuple[str, str]], model_table: dict, recs, times, span) -> None:
    lines = ["# CIASA transfer report", "", "| domain | measure | value (count) [95 % CI] | n |", "|---|---|---|---|"]
    for domain, label, e in html.headline_rows(h):
        lines.append(f"| {domain} | {label} | {e.percent()} | {e.n} |")
    det = h.detection_rate
    lines.append(f"| pose | mean detection rate clean / perturbed | {html.pct(det.get('clean'))} / {html.pct(det.get('perturbed'))} | {h.n_clips} |")
    lines.append(f"| render | failed renders clean / perturbed | {h.renders_failed['clean']} / {h.renders_failed['perturbed']} | {h.n_clips} |")
    lines += ["", "## Notes", ""] + [f"- **{lvl}**: {text}" for lvl, text in notes]
    if len(model_table) > 1:
        lines += ["", "## Classifiers", "", "| model | skeleton clean | skeleton perturbed | RGB clean | RGB perturbed |", "|---|---|---|---|---|"]
        for model, accs in model_table.items():
            lines.append(f"| {model} | " + " | ".join(accs[k].percent() for k in ("skeleton/clean", "skeleton/perturbed", "rgb/clean", "rgb/perturbed")) + " |")
    lines += ["", "## Per clip", "", "| clip | true | target | skel clean | skel perturbed | RGB clean | RGB perturbed | det clean | det perturbed |", "|---|---|---|---|---|---|---|---|---|"]
    for r in recs:
        cells = [r.pred(d, c) for d in ("skeleton", "rgb") for c in CONDITIONS]
        lines.append(f"| {r.name} | {r.label} | {r.target} | " + " | ".join("-" if v is None else str(v) for v in cells)
                     + f" | {html.pct(r.videos['clean'].detection_rate, 0)} | {html.pct(r.videos['perturbed'].detection_rate, 0)} |")
    lines += ["", "## Time per stage", "", "| stage | jobs | sum of job times (s) | longest job (s) |", "|---|---|---|---|"]
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

    recs = records.gather(paths, clips, opts.models, class_names, label_of)
    h = metrics.headline(recs, opts.n_boot, opts.seed)
    model_table = {m: metrics.model_accuracies(recs, m, opts.n_boot, opts.seed) for m in opts.models}
    notes = build_notes(h, opts)
    times = timings.stage_times(paths.benchmarks_dir())
    span = timings.wall_span(times)
    model_eval = records.read_json(opts.model_eval) if opts.model_eval and Path(opts.model_eval).is_file() else None

    media: dict[str, dict[str, str]] = {}
    strips: dict[str, str] = {}
    for rec in recs:
        for condition in CONDITIONS:
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
            recovered = {
                c: None if is_failed(paths.pose_info(rec.name, c)) else _load_optional(paths.pose(rec.name, c))
                for c in CONDITIONS
            }
            figures.strip_figure(
                out / rel_fig,
                np.load(paths.skeleton(rec.name, "clean")),
                np.load(paths.skeleton(rec.name, "perturbed")),
                recovered["clean"],
                recovered["perturbed"],
                title=f"{rec.name} ({rec.label_name})",
                frames=opts.strip_frames,
            )
        strips[rec.name] = rel_fig.as_posix()

    run_info = [("generated", _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
                ("clips", str(len(recs)))] + list(opts.run_info)
    page = html.page(html.PageContent(opts.title, run_info, notes, h, model_table, recs, class_names, media, strips,
                                      times, span, model_eval))
    atomic_write_text(out / "index.html", page)
    summary = {
        "headline": h.as_dict(),
        "models": {m: {k: e.as_dict() for k, e in accs.items()} for m, accs in model_table.items()},
        "model_eval": model_eval,
        "notes": [{"level": lvl, "text": text} for lvl, text in notes],
        "clips": [r.as_dict() for r in recs],
        "timings": [t.as_dict() for t in times],
        "wall_span_s": span,
        "bootstrap": {"n_boot": opts.n_boot, "seed": opts.seed, "level": 0.95},
        "run_info": dict(run_info),
    }
    atomic_write_json(out / "summary.json", summary)
    write_markdown(out / "summary.md", h, notes, model_table, recs, times, span)
    write_headline_csv(out / "headline.csv", h)
    log.info("report -> %s (%d clips)", out / "index.html", len(recs))
    return summary
