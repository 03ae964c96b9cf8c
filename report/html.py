"""The standalone HTML page: one file, inline CSS and JS, media referenced by relative paths.

It opens from disk (``file://``) in any browser. Each ``<video>`` marks itself with
``data-loaded="1"`` once its first frame decoded (``loadeddata``) or ``data-error="1"``;
``<body data-videos-loaded=N data-videos-total=M>`` sums that up, which is what the
headless-browser test reads.

The page is built from small section functions over :func:`el`, which escapes every
text and attribute value unless it is already built markup (:class:`Html`), so no
clip name, class name or error message can break the page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipeline.paths import CONTROL
from report.metrics import Headline
from report.records import ClipRecord
from report.stats import Estimate
from report.timings import StageTime

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em} th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.cls{min-width:7em;max-width:14em;overflow-wrap:normal;word-break:normal;hyphens:none}
.idx{color:#666;font-variant-numeric:tabular-nums;margin-right:.25em}
.ok{background:#d8f0de;color:#0f4d1f}.bad{background:#fbe0dd;color:#7a1a10}.muted{color:#666}
.note{border-left:4px solid #888;background:#f7f7f7;padding:.5em 1em;margin:.5em 0}
.note.warn{border-color:#d35400;background:#fff4e5}.note.alert{border-color:#c0392b;background:#fdecea;font-weight:600}
.clip{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}
.pair{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:1em;align-items:start}
.pair.three{grid-template-columns:repeat(3,minmax(0,1fr))}
.pair figure{margin:0;min-width:0}.pair figcaption{font-size:.85em;color:#444;margin-top:.3em;overflow-wrap:anywhere}
.tag{display:inline-block;padding:0 .45em;border-radius:3px;font-weight:600;color:#fff;background:#333}
.tag.clean{background:#1b5e20}.tag.control{background:#1a4f8e}.tag.perturbed{background:#8e1b10}
tr.lead td{font-weight:600;background:#fffbe6}
video{background:#000;width:100%;display:block} img.strip{max-width:100%;margin-top:.5em}
.legend{font-size:.88em;color:#333;margin:.4em 0}.legend span.sw{display:inline-block;width:1.6em;height:.7em;margin:0 .3em 0 .8em;vertical-align:middle;border:1px solid #555}
code{background:#f3f3f3;padding:0 .25em}
"""

JS = """
(function(){
  function update(){
    var vids=document.querySelectorAll('video');
    var loaded=0, errors=0;
    vids.forEach(function(v){ if(v.dataset.loaded==='1') loaded++; if(v.dataset.error==='1') errors++; });
    document.body.dataset.videosTotal=vids.length;
    document.body.dataset.videosLoaded=loaded;
    document.body.dataset.videosError=errors;
  }
  document.querySelectorAll('video').forEach(function(v){
    function ok(){ v.dataset.loaded='1'; v.dataset.width=v.videoWidth; v.dataset.duration=v.duration; update(); }
    v.addEventListener('loadeddata', ok);
    v.addEventListener('error', function(){ v.dataset.error='1'; update(); }, true);
    var src=v.querySelector('source'); if(src) src.addEventListener('error', function(){ v.dataset.error='1'; update(); });
    if(v.readyState>=2) ok();
  });
  document.querySelectorAll('button.playpair').forEach(function(b){
    b.addEventListener('click', function(){
      var vids=b.closest('.clip').querySelectorAll('video');
      vids.forEach(function(v){ v.currentTime=0; v.play(); });
    });
  });
  update();
})();
"""

# Colours of the overlay videos (pipeline.overlay), explained in the legend.
LEGEND = (
    ("#ebebeb", "skeleton given to the renderer"),
    ("#28c850", "skeleton recovered from the clean video"),
    ("#3c78e6", "skeleton recovered from the control video"),
    ("#e63232", "skeleton recovered from the perturbed video"),
    ("#ffd200", "joints the attack moved by more than 1 cm"),
)


class Html(str):
    """Markup that is already built and escaped; :func:`el` inserts it as is."""


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _content(value: object) -> str:
    if isinstance(value, Html):
        return value
    if isinstance(value, (list, tuple)):
        return "".join(_content(v) for v in value)
    return esc(value)


def el(tag: str, *content: object, **attrs: object) -> Html:
    """``<tag attrs>content</tag>`` with text and attribute values escaped.

    ``cls`` stands for ``class``, ``data_x`` for ``data-x``; attributes that are None
    or False are left out, True gives a bare attribute.
    """
    parts = [tag]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = "class" if key == "cls" else key.replace("_", "-")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    inner = "".join(_content(c) for c in content)
    return Html(f"<{' '.join(parts)}>{inner}</{tag}>")


def void(tag: str, **attrs: object) -> Html:
    """An element without content (``<img>``, ``<source>``, ``<meta>``)."""
    return Html(el(tag, **attrs).removesuffix(f"</{tag}>"))


def join(items: Iterable[object]) -> Html:
    return Html("".join(_content(i) for i in items))


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f} %"


def p_text(p: float | None) -> str:
    if p is None:
        return "p n/a"
    return f"p = {p:.2g}" if p < 0.001 else f"p = {p:.3f}"


def _clips(n: int) -> str:
    return "clip" if n == 1 else "clips"


def attributable_rows(h: Headline) -> list[tuple[str, str, Estimate]]:
    """The rows the page leads with: what the attack's direction costs beyond a matched control."""
    if CONTROL not in h.conditions:
        return []
    rd, sd = h.rgb_attributable_discordant, h.skeleton_attributable_discordant
    return [
        ("RGB", f"attributable drop: control renders - perturbed renders (paired over the {h.n_rgb_control_pairs} "
                f"clips with both; exact McNemar {p_text(h.rgb_attributable_drop_p)}, "
                f"{rd.get('control_only', 0)} {_clips(rd.get('control_only', 0))} right on the control only, "
                f"{rd.get('perturbed_only', 0)} under attack only)", h.rgb_attributable_drop),
        ("skeleton", f"attributable drop: control skeletons - perturbed skeletons (paired; exact McNemar "
                     f"{p_text(h.skeleton_attributable_drop_p)}, {sd.get('control_only', 0)} / "
                     f"{sd.get('perturbed_only', 0)} discordant)", h.skeleton_attributable_drop),
        ("RGB", "accuracy on control renders (same clips)", h.rgb_control_accuracy),
        ("RGB", "accuracy on perturbed renders (same clips)", h.rgb_perturbed_accuracy_control_pairs),
        ("skeleton", "accuracy on control skeletons (random smooth perturbation of the attack's size)",
         h.skeleton_control_accuracy),
        ("RGB", "drop: clean renders - control renders (paired): what any leg motion of that size costs",
         h.rgb_control_drop),
    ]


def headline_rows(h: Headline) -> list[tuple[str, str, Estimate]]:
    """The headline table, led by the attributable drop when the run has a control; the target
    rows only when the attack had targets."""
    cc = h.skeleton_flipped.n
    rows = attributable_rows(h) + [
        ("skeleton", "clean accuracy (attacked model, source skeletons)", h.skeleton_clean_accuracy),
        ("skeleton", "accuracy under attack (perturbed skeletons)", h.skeleton_attacked_accuracy),
        ("skeleton", f"flipped: right on the clean skeleton, wrong under attack (of the {cc} clean-correct clips)",
         h.skeleton_flipped),
        ("skeleton", f"targeted: classified as the attack's target (of the {cc} clean-correct clips)",
         h.skeleton_targeted),
        ("RGB", "accuracy on clean renders (re-extracted skeletons)", h.rgb_clean_accuracy),
        ("RGB", "clean render right, among clips right on source skeletons", h.rgb_clean_retention),
        ("RGB", "accuracy on perturbed renders", h.rgb_perturbed_accuracy),
        ("RGB", "drop: clean renders - perturbed renders (paired)", h.rgb_drop),
        ("RGB", "flipped: clean render right, perturbed render wrong (of the clips right on the clean render)",
         h.rgb_flipped),
        ("RGB", "perturbed render classified as the attack's target", h.rgb_perturbed_target_rate),
        ("RGB", "clean render classified as that target (baseline)", h.rgb_clean_target_rate),
        ("RGB", "accuracy on clean renders, failures counted wrong", h.rgb_clean_accuracy_all),
        ("RGB", "accuracy on perturbed renders, failures counted wrong", h.rgb_perturbed_accuracy_all),
    ]
    untargeted = h.skeleton_targeted.n == 0 and h.rgb_perturbed_target_rate.n == 0
    return [row for row in rows if not (untargeted and "target" in row[1])]


def est_cells(e: Estimate) -> Html:
    """Value, count (numerator/denominator), interval, n."""
    if e.value is None:
        return join([el("td", "n/a", cls="num"), el("td", e.count(), cls="num"), el("td", "-", cls="num muted"),
                     el("td", e.n, cls="num")])
    interval = "-" if e.low is None else f"[{100 * e.low:.1f}, {100 * e.high:.1f}]"
    return join([el("td", pct(e.value), cls="num"), el("td", e.count() if e.k is not None else "", cls="num"),
                 el("td", interval, cls="num"), el("td", e.n, cls="num")])


def class_label(index: int | None, class_names: Sequence[str]) -> Html:
    """``3 wave left``: the index and the whole name (wrapped at spaces, never cut)."""
    if index is None:
        return Html("")
    if index < 0:  # an untargeted attack has no target class
        return Html("untargeted")
    name = class_names[index] if 0 <= index < len(class_names) else ""
    return join([el("span", index, cls="idx"), name])


@dataclass
class PageContent:
    """Everything the page shows; built by :func:`report.build.build_report`."""

    title: str
    run_info: list[tuple[str, str]]
    notes: list[tuple[str, str]]
    headline: Headline
    model_table: dict[str, dict[str, Estimate]]
    records: list[ClipRecord]
    class_names: Sequence[str]
    media: dict[str, dict[str, str]] = field(default_factory=dict)
    strips: dict[str, str] = field(default_factory=dict)
    times: list[StageTime] = field(default_factory=list)
    wall_span: float | None = None
    model_eval: dict | None = None
    plausibility: dict[str, dict[str, float]] = field(default_factory=dict)  # measure -> condition -> value
    recovery: dict[str, dict] = field(default_factory=dict)  # report.metrics.recovery_summary


# ---------------------------------------------------------------------- sections
def info_section(c: PageContent) -> Html:
    rows = [el("tr", el("th", k), el("td", v)) for k, v in c.run_info]
    return join([el("h1", c.title), el("table", rows, cls="info")])


def notes_section(c: PageContent) -> Html:
    notes = [el("div", text, cls=f"note {level}") for level, text in c.notes]
    return join([el("h2", "Notes", id="notes-h"), el("div", notes, id="notes")])


def headline_section(c: PageContent) -> Html:
    h = c.headline
    intro = el("p", "Rates are per clip, with seeded percentile-bootstrap 95 % intervals; 'count' is the "
               f"numerator/denominator of each rate. Skeleton accuracies count all {h.n_clips} clips; the attack's "
               f"flipped and targeted rates count the {h.skeleton_flipped.n} clips the model gets right on clean "
               f"skeletons (a clip already wrong is no success of the attack). RGB rows count the {h.n_rgb_pairs} "
               "clips whose clean and perturbed videos both gave a skeleton, unless they say otherwise.")
    head = el("tr", *(el("th", t) for t in ("domain", "measure", "value", "count", "95 % CI", "n")))
    lead = len(attributable_rows(h))
    rows = [el("tr", el("td", domain), el("td", label), est_cells(e), cls="lead" if i < lead else None)
            for i, (domain, label, e) in enumerate(headline_rows(h))]
    det = h.detection_rate
    conds = " / ".join(h.conditions)
    extra = (
        ("pose", f"mean detection rate ({conds} videos)", " / ".join(pct(det.get(c)) for c in h.conditions)),
        ("pose", f"videos flagged by the extractor ({conds})", " / ".join(str(h.videos_flagged.get(c, 0)) for c in h.conditions)),
        ("render", f"failed renders ({conds})", " / ".join(str(h.renders_failed.get(c, 0)) for c in h.conditions)),
    )
    rows += [el("tr", el("td", d), el("td", label), el("td", value, cls="num", colspan=3), el("td", h.n_clips, cls="num"))
             for d, label, value in extra]
    if CONTROL in h.conditions:
        intro = join([intro, el("p", "The first rows are the attributable drop: accuracy on the matched control (each "
                                "clip perturbed at random, smoothly, by the attack's own per-joint, per-frame amounts, "
                                "through the same bone realignment and the frame-local plausibility limits, scaled to "
                                "the attack's realised size, and rendered in the same scene) minus accuracy under attack, paired over the same clips, with a paired-bootstrap "
                                "interval and an exact McNemar p-value. A drop that the control shows as well is the "
                                "classifier's fragility to any such motion, not the attack's doing.")])
    parts = [el("h2", "Headline"), intro, el("table", head, rows, id="headline")]
    if c.model_eval:
        e = c.model_eval
        parts.append(el("p", "The attacked model on the whole ", el("code", e.get("split", "val")),
                        f" split: top-1 {pct(e.get('top1'))}, top-5 {pct(e.get('top5'))} (n = {e.get('n')})."))
    return join(parts)


def classifiers_section(c: PageContent) -> Html:
    if len(c.model_table) <= 1:
        return Html("")
    keys = model_table_keys(c.model_table)
    head = el("tr", el("th", "model"), *(el("th", k.replace("/", " ").replace("_", " ")) for k in keys))
    rows = [el("tr", el("td", model), *(el("td", accs[k].percent() if k in accs else "-", cls="num") for k in keys))
            for model, accs in c.model_table.items()]
    intro = el("p", "Accuracy of each classifier on the same clips (the attack was computed against ",
               el("code", "attacked"), " only; the others measure transfer).")
    return join([el("h2", "Classifiers"), intro, el("table", head, rows, id="models")])


def model_table_keys(table: dict[str, dict[str, Estimate]]) -> list[str]:
    """Columns of the classifier table, in a fixed order, for the keys any model has."""
    order = ("skeleton/clean", "skeleton/control", "skeleton/perturbed", "skeleton/attributable_drop",
             "rgb/clean", "rgb/control", "rgb/perturbed", "rgb/attributable_drop")
    present = {k for accs in table.values() for k in accs}
    return [k for k in order if k in present]


def _pred_cell(rec: ClipRecord, domain: str, condition: str, class_names: Sequence[str]) -> Html:
    pred = rec.pred(domain, condition)
    if pred is None:
        reason = rec.excluded.get(f"{domain}/{condition}", "not classified")
        return el("td", "-", cls="muted", title=reason)
    mark = "\u2713 " if pred == rec.label else ("\u2691 " if pred == rec.target else "")
    cls = "cls ok" if pred == rec.label else ("cls bad" if pred == rec.target else "cls")
    return el("td", mark, class_label(pred, class_names), cls=cls)


def _status(rec: ClipRecord) -> str:
    parts = [f"{k}: {v}" for k, v in rec.excluded.items()]
    parts += [f"{c}: {v.flag_reason}" for c, v in rec.videos.items() if v.flagged and v.flag_reason]
    return "; ".join(parts) or "ok"


def per_clip_section(c: PageContent) -> Html:
    intro = el("p", "Predictions of the attacked model: ", el("span", "\u2713 true label", cls="ok"), ", ",
               el("span", "\u2691 the attack's target", cls="bad"),
               ". Hover a '-' for the reason a clip was not classified.")
    conds = c.headline.conditions
    titles = ("clip", "true", "target", *(f"{d} {cond}" for d in ("skeleton", "RGB") for cond in conds),
              *(f"detection {cond}" for cond in conds), "status")
    head = el("tr", *(el("th", t) for t in titles))
    rows = []
    for rec in c.records:
        cells = [
            el("td", el("a", rec.name, href=f"#clip-{rec.name}")),
            el("td", class_label(rec.label, c.class_names), cls="cls"),
            el("td", class_label(rec.target, c.class_names), cls="cls"),
            *(_pred_cell(rec, d, cond, c.class_names) for d in ("skeleton", "rgb") for cond in conds),
            *(el("td", pct(rec.videos[cond].detection_rate if cond in rec.videos else None, 0), cls="num")
              for cond in conds),
            el("td", _status(rec)),
        ]
        rows.append(el("tr", cells, data_clip=rec.name))
    return join([el("h2", "Per clip"), intro, el("table", head, rows, id="per-clip")])


def legend() -> Html:
    items = [join([el("span", "", cls="sw", style=f"background:{colour}"), text]) for colour, text in LEGEND]
    return el("p", "In the videos:", *items, cls="legend")


def _figure(rec: ClipRecord, condition: str, c: PageContent, preload: str) -> Html:
    src = c.media.get(rec.name, {}).get(condition)
    pred = rec.pred("rgb", condition)
    if src is None:
        body = el("p", "no video", cls="bad")
    else:
        body = el("video", void("source", src=src, type="video/mp4"), controls=True, muted=True, loop=True,
                  playsinline=True, preload=preload, data_clip=rec.name, data_condition=condition)
    said = "not classified" if pred is None else join(["re-classified as ", class_label(pred, c.class_names)])
    caption = [el("span", condition, cls=f"tag {condition}"), " ", said]
    video = rec.videos.get(condition)
    if video is not None and not video.rendered:
        caption += [Html("<br>"), el("span", f"render failed: {video.render_error}", cls="bad")]
    elif video is not None and not video.pose_ok:
        caption += [Html("<br>"), el("span", f"pose extraction failed: {video.pose_error}", cls="bad")]
    return el("figure", body, el("figcaption", caption))


def videos_section(c: PageContent) -> Html:
    conds = c.headline.conditions
    intro = el("p", "From left to right: " + ", ".join(f"{cond} render" for cond in conds) + "; each with the "
               "skeleton the pose extractor recovered drawn over the rendered body.")
    preload = "auto" if len(c.records) <= 40 else "metadata"
    clips = []
    for rec in c.records:
        title = el("h3", f"{rec.name}: ", class_label(rec.label, c.class_names), " ",
                   el("span", "(target: ", class_label(rec.target, c.class_names), ")", cls="muted"))
        pair = el("div", *(_figure(rec, cond, c, preload) for cond in conds),
                  cls="pair three" if len(conds) == 3 else "pair")
        strip = (void("img", cls="strip", alt=f"skeleton strip {rec.name}", src=c.strips[rec.name])
                 if rec.name in c.strips else Html(""))
        clips.append(el("div", title, el("button", "play both from the start", cls="playpair", type="button"),
                        pair, strip, cls="clip", id=f"clip-{rec.name}"))
    return join([el("h2", "Videos"), intro, legend(), *clips])


def timings_section(c: PageContent) -> Html:
    head = el("tr", *(el("th", t) for t in ("stage", "jobs", "sum of job times", "longest job", "peak RSS")))
    rows = [el("tr", el("td", t.stage), el("td", t.jobs, cls="num"), el("td", f"{t.total_s:.1f} s", cls="num"),
               el("td", f"{t.max_s:.1f} s", cls="num"),
               el("td", "-" if t.max_rss_mb is None else f"{t.max_rss_mb:.0f} MB", cls="num"))
            for t in c.times]
    total = sum(t.total_s for t in c.times)
    rows.append(el("tr", el("th", "all"), el("th", ""), el("th", f"{total:.1f} s", cls="num"), el("th", ""), el("th", "")))
    parts = [el("h2", "Time per stage"), el("table", head, rows, id="timings")]
    if c.wall_span is not None:
        parts.append(el("p", f"Wall-clock span from the first to the last benchmarked job: {c.wall_span:.0f} s "
                        "(jobs run in parallel; the report step itself is not included)."))
    return join(parts)


def _num(value: float | None, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None else f"{scale * value:.{digits}f}{unit}"


def plausibility_section(c: PageContent) -> Html:
    """The attack's own plausibility measures (its summary.json), clean / control / perturbed side by side."""
    if not c.plausibility:
        return Html("")
    conds = [cond for cond in c.headline.conditions if any(cond in v for v in c.plausibility.values())]
    head = el("tr", el("th", "measure"), *(el("th", cond) for cond in conds))
    rows = [el("tr", el("td", measure), *(el("td", _num(values.get(cond), digits=4), cls="num") for cond in conds))
            for measure, values in c.plausibility.items()]
    intro = el("p", "Could a person perform it? The attack's measures of each skeleton it wrote (from the attack's "
               "summary.json; shares are fractions of frames, speeds ratios to the clean clip's).")
    return join([el("h2", "Plausibility"), intro, el("table", head, rows, id="plausibility")])


def recovery_section(c: PageContent) -> Html:
    """Pose recovery per condition: does the round trip keep what the attack put in?"""
    if not c.recovery:
        return Html("")
    head = el("tr", *(el("th", t) for t in ("condition", "PA-MPJPE (mm)", "L/R swapped frames",
                                              "share of the perturbation that survives",
                                              "rendered displacement (mm)", "clips")))
    rows = []
    for cond, entry in c.recovery.items():
        pa, swap, surv = entry.get("pa_mpjpe_mm", {}), entry.get("swap_rate", {}), entry.get("survival")
        rows.append(el("tr", el("td", el("span", cond, cls=f"tag {cond}")),
                       el("td", _num(pa.get("mean")), cls="num"),
                       el("td", pct(swap.get("mean")), cls="num"),
                       el("td", "-" if surv is None else f"{_num(surv.get('mean'), 100, 0, ' %')} "
                                f"(median {_num(surv.get('median'), 100, 0, ' %')}, n = {surv.get('n', 0)})", cls="num"),
                       el("td", _num((entry.get("displacement_mm") or {}).get("mean"), digits=1), cls="num"),
                       el("td", pa.get("n", 0), cls="num")))
    intro = el("p", "The re-extracted skeleton against the one that was rendered, per condition (means over clips): "
               "similarity-Procrustes MPJPE over all 25 joints, the share of frames whose left/right labels fit "
               "better exchanged, and how much of each perturbation (minus clean, spine-base relative, over the "
               "joints the attack moved) comes back: the projection of recovered-minus-recovered-clean onto "
               "rendered-minus-rendered-clean (100 % = kept in full, 0 = erased), next to the mean size of that "
               "displacement: a perturbation well below the PA-MPJPE gives a share that is mostly noise.")
    return join([el("h2", "Pose recovery"), intro, el("table", head, rows, id="recovery")])


SECTIONS = (info_section, notes_section, headline_section, plausibility_section, recovery_section,
            classifiers_section, per_clip_section, videos_section, timings_section)


def page(content: PageContent) -> str:
    head = el("head", void("meta", charset="utf-8"), el("title", content.title), el("style", Html(CSS)))
    body = el("body", *(section(content) for section in SECTIONS), el("script", Html(JS)))
    return "<!DOCTYPE html>\n" + el("html", head, body, lang="en")
