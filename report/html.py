"""The standalone HTML page: one file, inline CSS and JS, media referenced by relative paths.

It opens from disk (``file://``) in any browser. Each ``<video>`` marks itself with
``data-loaded="1"`` once its first frame decoded (``loadeddata``) or ``data-error="1"``;
``<body data-videos-loaded=N data-videos-total=M>`` sums that up, which is what the
headless-browser test reads.

The markup is the Jinja2 template ``report/templates/page.html.j2``, rendered with
autoescape on, so no clip name, class name or error message can break the page; this
module chooses the rows and formats the numbers it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2
import markupsafe

from pipeline.paths import CONTROL
from report.metrics import Headline
from report.records import ClipRecord
from report.stats import Estimate
from report.timings import StageTime

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE, MACROS = "page.html.j2", "macros.html.j2"

# Colours of the overlay videos (pipeline.overlay), explained in the legend.
LEGEND = (
    ("#ebebeb", "skeleton given to the renderer"),
    ("#28c850", "skeleton recovered from the clean video"),
    ("#3c78e6", "skeleton recovered from the control video"),
    ("#e63232", "skeleton recovered from the perturbed video"),
    ("#ffd200", "joints the attack moved by more than 1 cm"),
)


def esc(value: object) -> str:
    """``value`` as the page shows it: escaped as the template's autoescape does."""
    return str(markupsafe.escape("" if value is None else value))


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f} %"


def _num(value: float | None, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None else f"{scale * value:.{digits}f}{unit}"


def interval(e: Estimate) -> str:
    return "-" if e.low is None else f"[{100 * e.low:.1f}, {100 * e.high:.1f}]"


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
        (
            "RGB",
            f"attributable drop: control renders - perturbed renders (paired over the {h.n_rgb_control_pairs} "
            f"clips with both; exact McNemar {p_text(h.rgb_attributable_drop_p)}, "
            f"{rd.get('control_only', 0)} {_clips(rd.get('control_only', 0))} right on the control only, "
            f"{rd.get('perturbed_only', 0)} under attack only)",
            h.rgb_attributable_drop,
        ),
        (
            "skeleton",
            f"attributable drop: control skeletons - perturbed skeletons (paired; exact McNemar "
            f"{p_text(h.skeleton_attributable_drop_p)}, {sd.get('control_only', 0)} / "
            f"{sd.get('perturbed_only', 0)} discordant)",
            h.skeleton_attributable_drop,
        ),
        ("RGB", "accuracy on control renders (same clips)", h.rgb_control_accuracy),
        ("RGB", "accuracy on perturbed renders (same clips)", h.rgb_perturbed_accuracy_control_pairs),
        (
            "skeleton",
            "accuracy on control skeletons (random smooth perturbation of the attack's size)",
            h.skeleton_control_accuracy,
        ),
        (
            "RGB",
            "drop: clean renders - control renders (paired): what any leg motion of that size costs",
            h.rgb_control_drop,
        ),
    ]


def headline_rows(h: Headline) -> list[tuple[str, str, Estimate]]:
    """The headline table, led by the attributable drop when the run has a control; the target
    rows only when the attack had targets."""
    cc = h.skeleton_flipped.n
    rows = attributable_rows(h) + [
        ("skeleton", "clean accuracy (attacked model, source skeletons)", h.skeleton_clean_accuracy),
        ("skeleton", "accuracy under attack (perturbed skeletons)", h.skeleton_attacked_accuracy),
        (
            "skeleton",
            f"flipped: right on the clean skeleton, wrong under attack (of the {cc} clean-correct clips)",
            h.skeleton_flipped,
        ),
        (
            "skeleton",
            f"targeted: classified as the attack's target (of the {cc} clean-correct clips)",
            h.skeleton_targeted,
        ),
        ("RGB", "accuracy on clean renders (re-extracted skeletons)", h.rgb_clean_accuracy),
        ("RGB", "clean render right, among clips right on source skeletons", h.rgb_clean_retention),
        ("RGB", "accuracy on perturbed renders", h.rgb_perturbed_accuracy),
        ("RGB", "drop: clean renders - perturbed renders (paired)", h.rgb_drop),
        (
            "RGB",
            "flipped: clean render right, perturbed render wrong (of the clips right on the clean render)",
            h.rgb_flipped,
        ),
        ("RGB", "perturbed render classified as the attack's target", h.rgb_perturbed_target_rate),
        ("RGB", "clean render classified as that target (baseline)", h.rgb_clean_target_rate),
        ("RGB", "accuracy on clean renders, failures counted wrong", h.rgb_clean_accuracy_all),
        ("RGB", "accuracy on perturbed renders, failures counted wrong", h.rgb_perturbed_accuracy_all),
    ]
    untargeted = h.skeleton_targeted.n == 0 and h.rgb_perturbed_target_rate.n == 0
    return [row for row in rows if not (untargeted and "target" in row[1])]


def status_rows(h: Headline) -> list[tuple[str, str, str]]:
    """The headline's last rows: detection, flagged videos and failed renders per condition."""
    conds = " / ".join(h.conditions)

    def per_condition(values: dict, show=lambda v: str(v if v is not None else 0)) -> str:
        return " / ".join(show(values.get(c)) for c in h.conditions)

    return [
        ("pose", f"mean detection rate ({conds} videos)", per_condition(h.detection_rate, pct)),
        ("pose", f"videos flagged by the extractor ({conds})", per_condition(h.videos_flagged)),
        ("render", f"failed renders ({conds})", per_condition(h.renders_failed)),
    ]


def class_label(index: int | None, class_names: Sequence[str]) -> markupsafe.Markup:
    """``3 wave left``: the index and the whole name (wrapped at spaces, never cut)."""
    return _env().get_template(MACROS).module.class_label(index, class_names)


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


def model_table_keys(table: dict[str, dict[str, Estimate]]) -> list[str]:
    """Columns of the classifier table, in a fixed order, for the keys any model has."""
    order = (
        "skeleton/clean",
        "skeleton/control",
        "skeleton/perturbed",
        "skeleton/attributable_drop",
        "rgb/clean",
        "rgb/control",
        "rgb/perturbed",
        "rgb/attributable_drop",
    )
    present = {k for accs in table.values() for k in accs}
    return [k for k in order if k in present]


def plausibility_conditions(c: PageContent) -> list[str]:
    """The run's conditions the attack's plausibility measures cover, in the run's order."""
    return [cond for cond in c.headline.conditions if any(cond in v for v in c.plausibility.values())]


def status(rec: ClipRecord) -> str:
    """Why a clip was left out of a count or flagged; 'ok' when nothing was."""
    parts = [f"{k}: {v}" for k, v in rec.excluded.items()]
    parts += [f"{c}: {v.flag_reason}" for c, v in rec.videos.items() if v.flagged and v.flag_reason]
    return "; ".join(parts) or "ok"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(
        pct=pct,
        num=_num,
        interval=interval,
        headline_rows=headline_rows,
        status_rows=status_rows,
        model_table_keys=model_table_keys,
        plausibility_conditions=plausibility_conditions,
        status=status,
        legend=LEGEND,
    )
    return env


def page(content: PageContent) -> str:
    h = content.headline
    return (
        _env()
        .get_template(PAGE)
        .render(c=content, h=h, control=CONTROL in h.conditions, lead=len(attributable_rows(h)))
    )
