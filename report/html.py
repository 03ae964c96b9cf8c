"""The standalone HTML page: one file, inline CSS and JS, media referenced by relative paths.

It opens from disk (``file://``) in any browser. Each ``<video>`` marks itself with
``data-loaded="1"`` once its first frame decoded (``loadeddata``) or ``data-error="1"``;
``<body data-videos-loaded=N data-videos-total=M>`` sums that up, which is what the
headless-browser test reads.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from report.metrics import Headline
from report.records import ClipRecord
from report.stats import Estimate
from report.timings import StageTime

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em} th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1e7e34}.bad{color:#c0392b}.muted{color:#777}
.note{border-left:4px solid #888;background:#f7f7f7;padding:.5em 1em;margin:.5em 0}
.note.warn{border-color:#d35400;background:#fff4e5}.note.alert{border-color:#c0392b;background:#fdecea;font-weight:600}
.clip{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}
.pair{display:flex;gap:1em;flex-wrap:wrap}.pair figure{margin:0}.pair figcaption{font-size:.85em;color:#555}
video{background:#000;width:400px;max-width:100%} img.strip{max-width:100%;margin-top:.5em}
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


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f} %"


def est_cells(e: Estimate) -> str:
    if e.value is None:
        return '<td class="num">n/a</td><td class="num muted">-</td><td class="num">0</td>'
    interval = "-" if e.low is None else f"[{100 * e.low:.1f}, {100 * e.high:.1f}]"
    return f'<td class="num">{100 * e.value:.1f} %</td><td class="num">{interval}</td><td class="num">{e.n}</td>'


def headline_rows(h: Headline) -> list[tuple[str, str, Estimate]]:
    return [
        ("skeleton", "clean accuracy (attacked model, source skeletons)", h.skeleton_clean_accuracy),
        ("skeleton", "accuracy under attack (perturbed skeletons)", h.skeleton_attacked_accuracy),
        ("skeleton", "fooling rate (classified as the attack's target)", h.skeleton_fooling_rate),
        ("skeleton", "untargeted success (no longer the true label)", h.skeleton_untargeted_success),
        ("RGB", "accuracy on clean renders (re-extracted skeletons)", h.rgb_clean_accuracy),
        ("RGB", "clean render right, among clips right on source skeletons", h.rgb_clean_retention),
        ("RGB", "accuracy on perturbed renders", h.rgb_perturbed_accuracy),
        ("RGB", "drop: clean renders - perturbed renders (paired)", h.rgb_drop),
        ("RGB", "perturbed render classified as the attack's target", h.rgb_perturbed_target_rate),
        ("RGB", "clean render classified as that target (baseline)", h.rgb_clean_target_rate),
        ("RGB", "accuracy on clean renders, failures counted wrong", h.rgb_clean_accuracy_all),
        ("RGB", "accuracy on perturbed renders, failures counted wrong", h.rgb_perturbed_accuracy_all),
    ]


def _pred_cell(rec: ClipRecord, domain: str, condition: str, class_names: Sequence[str]) -> str:
    pred = rec.pred(domain, condition)
    if pred is None:
        reason = rec.excluded.get(f"{domain}/{condition}", "not classified")
        return f'<td class="muted" title="{esc(reason)}">-</td>'
    cls = "ok" if pred == rec.label else ("bad" if pred == rec.target else "")
    name = class_names[pred] if 0 <= pred < len(class_names) else str(pred)
    return f'<td class="{cls}" title="{esc(name)}">{pred} {esc(_short(name))}</td>'


def _short(text: str, n: int = 18) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def page(
    title: str,
    run_info: list[tuple[str, str]],
    notes: list[tuple[str, str]],
    h: Headline,
    model_table: dict[str, dict[str, Estimate]],
    records: list[ClipRecord],
    class_names: Sequence[str],
    media: dict[str, dict[str, str]],
    strips: dict[str, str],
    times: list[StageTime],
    wall_span: float | None,
    model_eval: dict | None,
) -> str:
    parts: list[str] = []
    add = parts.append
    add("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>")
    add(f"<title>{esc(title)}</title><style>{CSS}</style></head><body>")
    add(f"<h1>{esc(title)}</h1>")
    add("<table class='info'>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in run_info) + "</table>")

    add("<h2 id='notes-h'>Notes</h2><div id='notes'>")
    for level, text in notes:
        add(f"<div class='note {esc(level)}'>{esc(text)}</div>")
    add("</div>")

    add("<h2>Headline</h2>")
    add(
        "<p>Rates are per clip, with seeded percentile-bootstrap 95 % intervals. Skeleton rows count all "
        f"{h.n_clips} clips; RGB rows count the {h.n_rgb_pairs} clips whose clean and perturbed videos "
        "both gave a skeleton, unless they say otherwise.</p>"
    )
    add("<table id='headline'><tr><th>domain</th><th>measure</th><th>value</th><th>95 % CI</th><th>n</th></tr>")
    for domain, label, e in headline_rows(h):
        add(f"<tr><td>{domain}</td><td>{esc(label)}</td>{est_cells(e)}</tr>")
    det = h.detection_rate
    add(
        f"<tr><td>pose</td><td>mean detection rate (clean / perturbed videos)</td>"
        f"<td class='num' colspan='2'>{pct(det.get('clean'))} / {pct(det.get('perturbed'))}</td><td class='num'>{h.n_clips}</td></tr>"
    )
    add(
        "<tr><td>pose</td><td>videos flagged by the extractor (clean / perturbed)</td>"
        f"<td class='num' colspan='2'>{h.videos_flagged['clean']} / {h.videos_flagged['perturbed']}</td><td class='num'>{h.n_clips}</td></tr>"
    )
    add(
        "<tr><td>render</td><td>failed renders (clean / perturbed)</td>"
        f"<td class='num' colspan='2'>{h.renders_failed['clean']} / {h.renders_failed['perturbed']}</td><td class='num'>{h.n_clips}</td></tr>"
    )
    add("</table>")
    if model_eval:
        add(
            f"<p>The attacked model on the whole <code>{esc(model_eval.get('split', 'val'))}</code> split: top-1 "
            f"{pct(model_eval.get('top1'))}, top-5 {pct(model_eval.get('top5'))} (n = {esc(model_eval.get('n'))}).</p>"
        )

    if len(model_table) > 1:
        add("<h2>Classifiers</h2><p>Accuracy of each classifier on the same clips (the attack was computed "
            "against <code>attacked</code> only; the others measure transfer).</p>")
        add("<table id='models'><tr><th>model</th><th>skeleton clean</th><th>skeleton perturbed</th>"
            "<th>RGB clean</th><th>RGB perturbed</th></tr>")
        for model, accs in model_table.items():
            cells = "".join(f"<td class='num'>{esc(accs[k].percent())}</td>" for k in
                            ("skeleton/clean", "skeleton/perturbed", "rgb/clean", "rgb/perturbed"))
            add(f"<tr><td>{esc(model)}</td>{cells}</tr>")
        add("</table>")

    add("<h2>Per clip</h2>")
    add("<p>Predictions of the attacked model; green = true label, red = the attack's target. "
        "Hover a cell for the class name or the reason a clip was not classified.</p>")
    add("<table id='per-clip'><tr><th>clip</th><th>true</th><th>target</th><th>skeleton clean</th><th>skeleton perturbed</th>"
        "<th>RGB clean</th><th>RGB perturbed</th><th>detection clean</th><th>detection perturbed</th><th>status</th></tr>")
    for rec in records:
        status = "; ".join(f"{k}: {v}" for k, v in rec.excluded.items())
        flags = [f"{c}: {v.flag_reason}" for c, v in rec.videos.items() if v.flagged and v.flag_reason]
        status = "; ".join(s for s in (status, *flags) if s) or "ok"
        add(
            f"<tr data-clip='{esc(rec.name)}'><td><a href='#clip-{esc(rec.name)}'>{esc(rec.name)}</a></td>"
            f"<td title='{esc(rec.label_name)}'>{rec.label} {esc(_short(rec.label_name))}</td>"
            f"<td title='{esc(rec.target_name)}'>{esc(rec.target)} {esc(_short(rec.target_name or ''))}</td>"
            + _pred_cell(rec, "skeleton", "clean", class_names)
            + _pred_cell(rec, "skeleton", "perturbed", class_names)
            + _pred_cell(rec, "rgb", "clean", class_names)
            + _pred_cell(rec, "rgb", "perturbed", class_names)
            + f"<td class='num'>{pct(rec.videos['clean'].detection_rate, 0)}</td>"
            f"<td class='num'>{pct(rec.videos['perturbed'].detection_rate, 0)}</td>"
            f"<td>{esc(status)}</td></tr>"
        )
    add("</table>")

    add("<h2>Videos</h2><p>Left: clean render; right: perturbed render. Coloured: the skeleton the pose "
        "extractor recovered; white: the skeleton that was rendered.</p>")
    preload = "auto" if len(records) <= 40 else "metadata"
    for rec in records:
        add(f"<div class='clip' id='clip-{esc(rec.name)}'><h3>{esc(rec.name)}: {esc(rec.label_name)}"
            f" <span class='muted'>(target: {esc(rec.target_name)})</span></h3>")
        add("<button class='playpair' type='button'>play both from the start</button><div class='pair'>")
        for condition in ("clean", "perturbed"):
            src = media.get(rec.name, {}).get(condition)
            pred = rec.pred("rgb", condition)
            pred_text = "not classified" if pred is None else f"re-classified as {pred} {class_names[pred] if 0 <= pred < len(class_names) else ''}"
            video = rec.videos.get(condition)
            if src is None:
                body = "<p class='bad'>no video</p>"
            else:
                body = (f"<video controls muted loop playsinline preload='{preload}' data-clip='{esc(rec.name)}' "
                        f"data-condition='{condition}'><source src='{esc(src)}' type='video/mp4'></video>")
            err = ""
            if video is not None and not video.rendered:
                err = f"<br><span class='bad'>render failed: {esc(video.render_error)}</span>"
            elif video is not None and not video.pose_ok:
                err = f"<br><span class='bad'>pose extraction failed: {esc(video.pose_error)}</span>"
            add(f"<figure>{body}<figcaption>{condition}: {esc(pred_text)}{err}</figcaption></figure>")
        add("</div>")
        if rec.name in strips:
            add(f"<img class='strip' alt='skeleton strip {esc(rec.name)}' src='{esc(strips[rec.name])}'>")
        add("</div>")

    add("<h2>Time per stage</h2>")
    add("<table id='timings'><tr><th>stage</th><th>jobs</th><th>sum of job times</th><th>longest job</th><th>peak RSS</th></tr>")
    for t in times:
        rss = "-" if t.max_rss_mb is None else f"{t.max_rss_mb:.0f} MB"
        add(f"<tr><td>{esc(t.stage)}</td><td class='num'>{t.jobs}</td><td class='num'>{t.total_s:.1f} s</td>"
            f"<td class='num'>{t.max_s:.1f} s</td><td class='num'>{rss}</td></tr>")
    total = sum(t.total_s for t in times)
    add(f"<tr><th>all</th><th></th><th class='num'>{total:.1f} s</th><th></th><th></th></tr></table>")
    if wall_span is not None:
        add(f"<p>Wall-clock span from the first to the last benchmarked job: {wall_span:.0f} s "
            "(jobs run in parallel; the report step itself is not included).</p>")
    add(f"<script>{JS}</script></body></html>")
    return "\n".join(parts)
