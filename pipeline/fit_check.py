"""The start-up check that no evaluated clip was among a fitted artefact's fit samples.

The pipeline uses fitted artefacts: the attack's round-trip error model
(``attack.options.error_model``), and the pose refiner and body-size prior of
``pose.options``. Each records the sample names it was fitted on (:mod:`ciasa.fit_record`).
A selected clip whose *performance* (another camera of the same take counts) is among them
would be evaluated with tools shaped on it, so the run refuses it at start-up: exit 2,
naming the artefact's file and the clip. ``allow_fit_overlap: true`` turns the refusal
into a warning. An artefact that does not record its fit samples is refused too.
An artefact whose record says it was fitted on another data set (``fit_data``, e.g. the
synthetic set of another seed, while the run evaluates real NTU clips that merely share
the naming) is not compared; one that does not say is compared with any data.

The random draw of ``pipeline.select`` leaves such clips out by itself
(:func:`draw_exclusions`), so only clips a user names can trip the check.

    python -m pipeline.fit_check --configfile config/config.yaml [--names a,b,c]
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ciasa import cli
from ciasa.fit_record import FitRecord, FitRecordError, overlapping, performance_of, require_fit_record

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "pose_extract" / "models"
DEFAULT_REFINER = MODELS / "refiner_default.npz"
# pose.options body_prior 'default' (pose_extract.prior.DEFAULT_PRIOR) is read from this file.
DEFAULT_BODY_PRIOR = MODELS / "body_prior_default.json"


class FitOverlapError(cli.BadInput):
    """A selected clip's performance is among an artefact's fit samples."""


def artefacts_of(config: Mapping[str, Any]) -> list[tuple[str, Path]]:
    """(config key, file) of every fitted artefact the run uses."""
    out = []
    model = (config.get("attack", {}).get("options") or {}).get("error_model")
    if model:
        out.append(("attack.options.error_model", Path(model)))
    pose = config.get("pose", {}).get("options") or {}
    for key, default in (("refiner", DEFAULT_REFINER), ("body_prior", DEFAULT_BODY_PRIOR)):
        value = pose.get(key)
        if value in (None, "none"):
            continue
        out.append((f"pose.options.{key}", default if str(value) == "default" else Path(value)))
    return out


def load_record(path: str | Path) -> FitRecord:
    """The fit record of an artefact file (JSON, or a refiner ``.npz`` with its ``meta``)."""
    path = Path(path)
    if not path.is_file():
        raise FitRecordError(f"{path}: fitted artefact not found")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                doc = json.loads(str(z["meta"]))
        else:
            doc = json.loads(path.read_text())
    except (OSError, ValueError, KeyError) as err:
        raise FitRecordError(f"{path}: cannot read the artefact's metadata ({err})") from None
    return require_fit_record(doc, str(path))


def run_data(config: Mapping[str, Any]) -> str:
    """The data set the run evaluates, in ``fit_data``'s terms (``synth seed=N`` for the
    generated set: its names and motions follow from the seed)."""
    data = config["data"]
    if data["source"] == "synth":
        return f"synth seed={int(data.get('synth', {}).get('seed', 0))}"
    return f"{data['source']}:{data.get('path')}"


def applies(record: FitRecord, config: Mapping[str, Any]) -> bool:
    """Whether the record's fit samples can be clips of the run's data."""
    return record.data is None or record.data == run_data(config)


def records_of(config: Mapping[str, Any]) -> dict[str, FitRecord]:
    """Config key -> fit record of every artefact the run uses (each is read and checked)
    that was fitted on the run's data; bad input names the file."""
    records = {key: load_record(path) for key, path in artefacts_of(config)}
    return {k: r for k, r in records.items() if applies(r, config)}


def allowed(config: Mapping[str, Any]) -> bool:
    return bool(config.get("allow_fit_overlap", False))


def draw_exclusions(config: Mapping[str, Any]) -> dict[str, str]:
    """Performance -> "FILE (fit sample NAME)" for the random draw to leave out; empty with
    ``allow_fit_overlap: true`` (then the check warns instead)."""
    return {} if allowed(config) else exclusions(records_of(config).values())


def select_flags(config: Mapping[str, Any]) -> str:
    """``python -m pipeline.select`` flags that make its draw leave out what :func:`draw_exclusions` does."""
    if allowed(config):
        return ""
    paths = [path for _, path in artefacts_of(config) if applies(load_record(path), config)]
    return " ".join(f"--exclude-fit-of {shlex.quote(str(path))}" for path in paths)


def exclusions(records: Iterable[FitRecord]) -> dict[str, str]:
    out: dict[str, str] = {}
    for record in records:
        for perf, sample in record.performances().items():
            out.setdefault(perf, f"{record.source} (fit sample {sample})")
    return out


def overlaps(clips: Iterable[str], records: Mapping[str, FitRecord]) -> list[str]:
    """One line per (artefact, clip) whose performance the artefact was fitted on."""
    return [
        f"{rec.source} ({key}) was fitted on {sample}, the same performance as the selected clip {clip}"
        for key, rec in records.items()
        for clip, sample in overlapping(clips, rec)
    ]


def check_clips(clips: Iterable[str], records: Mapping[str, FitRecord], allow: bool) -> list[str]:
    """Raise :class:`FitOverlapError` for overlaps unless ``allow``; returns the warnings."""
    found = overlaps(clips, records)
    if found and not allow:
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise FitOverlapError(
            "fit overlap: " + "; ".join(found[:5]) + more + ". Evaluating a clip an artefact was fitted on measures "
            "the fit, not the method: choose other clips, refit the artefact on the training split "
            "(benchmarks/fit_pose_artefacts.py), or set allow_fit_overlap: true to run anyway"
        )
    return [f"allow_fit_overlap: {line}" for line in found]


def selected_clips(config: Mapping[str, Any]) -> list[str]:
    """The clips the run evaluates, as far as they are known at start-up: the named ones,
    and the whole selection when the data already exists."""
    from pipeline import config as pipeline_config

    # a missing names file or a selection error is reported by pipeline.config's own check
    try:
        clips = list(pipeline_config.explicit_names(config))
    except FileNotFoundError:
        clips = []
    try:
        chosen = pipeline_config.selection(config)
    except (pipeline_config.ConfigError, FileNotFoundError):
        chosen = None
    return list(dict.fromkeys(clips + list(chosen or [])))


def check_config(config: Mapping[str, Any], clips: Iterable[str] | None = None) -> list[str]:
    """The start-up check (see the module docstring): raises ``ValueError`` subclasses naming
    the artefact file (and the clip); returns warnings, which it also logs to stderr."""
    records = records_of(config)
    if clips is None:
        clips = selected_clips(config)
    warnings = check_clips(list(clips), records, allowed(config))
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    return warnings


# ----------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pipeline.fit_check",
        "Check that no clip the pipeline would evaluate is among the fit samples of the fitted artefacts "
        "its config uses (round-trip error model, pose refiner, body prior); exit 2 naming the artefact "
        "and the clip when one is.",
    )
    p.add_argument(
        "--configfile",
        nargs="+",
        required=True,
        help="pipeline config file(s), later ones override earlier ones (as snakemake --configfile)",
    )
    p.add_argument(
        "--names",
        nargs="*",
        type=cli.parse_names,
        default=None,
        help="check these clips (comma lists or @FILE) instead of the config's selection",
    )
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace) -> int:
    import yaml

    config: dict = {}
    for path in args.configfile:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: config file not found")
        _merge(config, yaml.safe_load(Path(path).read_text()) or {})
    _fill_defaults(config)
    clips = None if args.names is None else [n for group in args.names for n in group]
    check_config(config, clips)
    log.info("no evaluated clip is among the fit samples of %d artefact(s)", len(artefacts_of(config)))
    return cli.EXIT_OK


def _merge(base: dict, over: Mapping) -> None:
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _fill_defaults(config: dict) -> None:
    """The schema's defaults (what snakemake's validate fills in), so a partial config works."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    except WorkflowError as err:
        raise cli.BadInput(f"config: {err}") from None


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = [
    "FitOverlapError",
    "artefacts_of",
    "check_config",
    "draw_exclusions",
    "load_record",
    "performance_of",
    "select_flags",
]
