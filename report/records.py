"""Gather the per-clip facts the report is made of, from the pipeline's files.

One :class:`ClipRecord` per selected clip, whatever happened to it: a clip whose
render failed or whose video had no detection keeps its record (with the reason) so
the report can count it instead of dropping it silently.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ciasa.cli import BadInput
from pipeline.guard import read_record
from pipeline.paths import ATTACKED_MODEL, CONDITIONS, DOMAINS, Paths
from pipeline.recovery import clip_recovery


@dataclass
class VideoRecord:
    """What happened to one (clip, condition) video."""

    rendered: bool = False
    render_error: str | None = None
    render_seconds: float | None = None
    render_warnings: list[str] = field(default_factory=list)
    frames: int | None = None
    pose_ok: bool = False
    pose_error: str | None = None
    detection_rate: float | None = None
    flagged: bool = False
    flag_reason: str | None = None
    pose_seconds: float | None = None


@dataclass
class ClipRecord:
    name: str
    label: int
    label_name: str
    target: int | None = None
    target_name: str | None = None
    attack: dict = field(default_factory=dict)  # the attack's own per-sample row
    # predictions[model][domain][condition] = predicted label, or None when not classified
    predictions: dict[str, dict[str, dict[str, int | None]]] = field(default_factory=dict)
    confidences: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    videos: dict[str, VideoRecord] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)  # "domain/condition" -> reason
    # pose recovery per condition (pipeline.recovery.recovery): PA-MPJPE, swap rate, surviving share
    recovery: dict = field(default_factory=dict)

    def pred(self, domain: str, condition: str, model: str = ATTACKED_MODEL) -> int | None:
        return self.predictions.get(model, {}).get(domain, {}).get(condition)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["videos"] = {k: asdict(v) for k, v in self.videos.items()}
        return d


def read_csv(path: str | Path) -> list[dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


read_json = read_record  # the one JSON record reader (pipeline.guard)


def _int(row: dict[str, str], key: str, source: str) -> int:
    try:
        return int(float(row[key]))
    except (KeyError, ValueError):
        raise BadInput(f"{source}: column {key!r} missing or not an integer in row {row}") from None


def attack_row(paths: Paths, clip: str) -> dict[str, str]:
    """The attack's per_sample.csv row for ``clip``."""
    path = Path(paths.attack_per_sample())
    rows = [r for r in read_csv(path) if r.get("name") == clip]
    if not rows:
        raise BadInput(f"{path}: no row for clip {clip}")
    return rows[0]


def video_record(paths: Paths, clip: str, condition: str) -> VideoRecord:
    rec = VideoRecord()
    render_path = Path(paths.render_info(clip, condition))
    if render_path.is_file():
        render = read_json(render_path)
        rec.rendered = render.get("status") != "failed"
        rec.render_error = render.get("error") if not rec.rendered else None
        seconds = render.get("seconds")
        rec.render_seconds = seconds.get("total_s") if isinstance(seconds, dict) else seconds
        frames = render.get("frames_rendered", render.get("frames"))
        rec.frames = frames if isinstance(frames, int) else None
        rec.render_warnings = [str(w) for w in render.get("warnings", [])]
    else:
        rec.render_error = f"{render_path.name} missing"
    pose_path = Path(paths.pose_info(clip, condition))
    if pose_path.is_file():
        pose = read_json(pose_path)
        rec.pose_ok = pose.get("status") != "failed"
        rec.pose_error = pose.get("error") if not rec.pose_ok else None
        # a video that was never rendered says nothing about the pose extractor
        rec.detection_rate = pose.get("detection_rate", 0.0) if rec.rendered else None
        rec.flagged = bool(pose.get("flagged", not rec.pose_ok))
        rec.flag_reason = pose.get("reason") or rec.pose_error
        rec.pose_seconds = pose.get("seconds")
    else:
        rec.pose_error = f"{pose_path.name} missing"
    return rec


def gather(
    paths: Paths,
    clips: list[str],
    models: list[str],
    class_names: list[str],
    labels: dict[str, int],
    conditions: tuple[str, ...] = CONDITIONS,
) -> list[ClipRecord]:
    """Per-clip records from the attack output, the predictions and the render/pose records,
    for the run's ``conditions`` (``control`` only when the run rendered it)."""
    predictions: dict[tuple[str, str, str], dict[str, dict[str, str]]] = {}
    excluded: dict[tuple[str, str], dict[str, str]] = {}
    for model in models:
        for domain in DOMAINS:
            for condition in conditions:
                rows = read_csv(paths.predictions(model, domain, condition))
                predictions[model, domain, condition] = {r["name"]: r for r in rows}
    for domain in DOMAINS:
        for condition in conditions:
            manifest = read_json(Path(paths.set_dir(domain, condition)) / "collect.json")
            excluded[domain, condition] = {e["name"]: e["reason"] for e in manifest.get("excluded", [])}

    def name_of(label: int | None) -> str | None:
        if label is None:
            return None
        return class_names[label] if 0 <= label < len(class_names) else str(label)

    records = []
    for clip in clips:
        if clip not in labels:
            raise BadInput(f"clip {clip} is not in the source data's labels")
        label = labels[clip]
        row = attack_row(paths, clip)
        source = paths.attack_per_sample()
        if _int(row, "label", source) != label:
            raise BadInput(f"{source}: label {row['label']} for {clip}, but the data says {label}")
        target = _int(row, "target", source)
        rec = ClipRecord(clip, label, name_of(label) or str(label), target, name_of(target), attack=dict(row))
        for model in models:
            for domain in DOMAINS:
                for condition in conditions:
                    pred_row = predictions[model, domain, condition].get(clip)
                    p = rec.predictions.setdefault(model, {}).setdefault(domain, {})
                    c = rec.confidences.setdefault(model, {}).setdefault(domain, {})
                    if pred_row is None:
                        p[condition] = None
                        c[condition] = None
                        continue
                    if int(pred_row["label"]) != label:
                        raise BadInput(f"{paths.predictions(model, domain, condition)}: wrong label for {clip}")
                    p[condition] = int(pred_row["pred"])
                    c[condition] = float(pred_row["confidence"])
        for domain in DOMAINS:
            for condition in conditions:
                reason = excluded[domain, condition].get(clip)
                if reason is not None:
                    rec.excluded[f"{domain}/{condition}"] = reason
                elif rec.pred(domain, condition) is None:
                    raise BadInput(f"clip {clip}: no {domain}/{condition} prediction and no exclusion recorded")
        for condition in conditions:
            rec.videos[condition] = video_record(paths, clip, condition)
        rec.recovery = clip_recovery(paths, clip, conditions)
        records.append(rec)
    return records


def _numeric_leaves(value: object, prefix: str = "") -> dict[str, float]:
    """``{'a': {'b': 1}}`` -> ``{'a.b': 1.0}``: every number of a nested record (booleans excluded)."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, (int, float)):
        return {prefix: float(value)}
    if isinstance(value, dict):
        out: dict[str, float] = {}
        for k, v in value.items():
            out.update(_numeric_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {}


def plausibility(attack_summary: dict, conditions: tuple[str, ...] = CONDITIONS) -> dict[str, dict[str, float]]:
    """The attack's plausibility measures as ``{measure: {condition: value}}``.

    The attack's summary.json holds them under ``plausibility``, keyed either by condition
    first (``{clean: {measure: v}}``) or by measure first (``{measure: {clean: v}}``); nested
    measures get dotted names. Empty when the attack recorded none.
    """
    block = attack_summary.get("plausibility")
    if not isinstance(block, dict) or not block:
        return {}
    out: dict[str, dict[str, float]] = {}
    if any(k in conditions for k in block):
        for condition in conditions:
            for measure, value in _numeric_leaves(block.get(condition, {})).items():
                out.setdefault(measure, {})[condition] = value
        return out
    for measure, by_condition in block.items():
        if isinstance(by_condition, dict):
            for condition in conditions:
                for leaf, value in _numeric_leaves(by_condition.get(condition), "").items():
                    out.setdefault(f"{measure}.{leaf}" if leaf else str(measure), {})[condition] = value
    return out
