"""Config handling for the Snakemake workflow: start-up checks and CLI flag rendering.

``workflow/rules/common.smk`` validates the config against the JSON schema and then
calls :func:`check_startup`, so a missing data path, checkpoint or clip name fails in
the first second with a message naming the key, instead of an hour into the run.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ciasa.cli import read_name_list
from pipeline.paths import ATTACKED_MODEL, CONDITIONS, CONTROL, Paths, shard_tag
from pipeline.select import SelectionError, parse_shard, select_clips


class ConfigError(ValueError):
    """The config names something that does not exist or does not fit."""


def cli_flags(options: Mapping[str, Any] | None, negatable: Collection[str] = ()) -> str:
    """``{'max_gap': 5, 'augment': False, 'no_smooth': True}`` -> ``--max-gap 5 --no-augment --no-smooth``.

    Keys are the CLI's option names with '_' for '-'. ``true`` gives the bare flag;
    ``false`` gives ``--no-KEY`` for the keys in ``negatable`` (argparse's
    BooleanOptionalAction flags) and nothing otherwise (a plain switch left off);
    ``null`` gives nothing; a list gives the option followed by its values.
    """
    parts: list[str] = []
    for key, value in (options or {}).items():
        flag = "--" + str(key).replace("_", "-")
        if value is None:
            continue
        if value is True:
            parts.append(flag)
        elif value is False:
            if key in negatable:
                parts.append("--no-" + str(key).replace("_", "-"))
        elif isinstance(value, (list, tuple)):
            parts.append(flag)
            parts.extend(str(v) for v in value)
        else:
            parts.extend([flag, str(value)])
    return " ".join(shlex.quote(p) for p in parts)


# ciasa.train's switches that have a --no- form.
TRAIN_NEGATABLE = ("augment", "progress", "resume")
# ciasa.data.synth's switches that have a --no- form.
SYNTH_NEGATABLE = ("posture_cues",)


# Keys of model/classifiers entries passed to ciasa.evaluate as flags; allow_class_mismatch
# accepts a checkpoint whose class names differ from the data's classes.json.
CHECKPOINT_KEYS = ("num_class", "layout", "in_channels", "arch", "allow_class_mismatch")


def paths_of(config: Mapping[str, Any]) -> Paths:
    shard = parse_shard(str(config["clips"]["shard"]))
    return Paths(str(config["results_dir"]), shard_tag(shard))


def conditions(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The conditions this run renders, extracts and classifies (:data:`pipeline.paths.CONDITIONS`
    without ``control`` when the config says ``control: false``)."""
    value = config.get("control", True)
    if not isinstance(value, bool):
        raise ConfigError(f"control: expected true or false, got {value!r}")
    return tuple(c for c in CONDITIONS if value or c != CONTROL)


def data_dir(config: Mapping[str, Any]) -> str:
    """The ST-GCN layout directory the pipeline reads (generated, converted or the user's)."""
    data = config["data"]
    paths = paths_of(config)
    source = data["source"]
    if source == "synth":
        return f"{paths.synth_dir()}/{data['benchmark']}"
    if source == "stgcn":
        return str(data["path"]).rstrip("/")
    return paths.converted_dir(source, data["benchmark"])


def classifiers(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Name -> {checkpoint, overrides} for the attacked model and every extra classifier."""
    paths = paths_of(config)
    model = config["model"]
    attacked = {
        "checkpoint": model["checkpoint"] or paths.model_checkpoint(),
        "overrides": {k: model.get(k) for k in CHECKPOINT_KEYS if model.get(k) is not None},
    }
    out = {ATTACKED_MODEL: attacked}
    for name, spec in (config.get("classifiers") or {}).items():
        if name == ATTACKED_MODEL:
            raise ConfigError(f"classifiers: the name {ATTACKED_MODEL!r} is reserved for the attacked model")
        out[name] = {
            "checkpoint": spec.get("checkpoint") or paths.classifier_checkpoint(name),
            "overrides": {k: spec.get(k) for k in CHECKPOINT_KEYS if spec.get(k) is not None},
        }
    return out


def trained_classifiers(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Name -> ``ciasa.train`` options of the extra classifiers the pipeline trains itself."""
    return {name: dict(spec["train"]) for name, spec in (config.get("classifiers") or {}).items()
            if "train" in spec and not spec.get("checkpoint")}


def check_startup(config: Mapping[str, Any]) -> list[str]:
    """Raise :class:`ConfigError` for problems visible before any job runs; returns the
    explicitly named clips that were checked against the data (empty if not checkable yet)."""
    data = config["data"]
    source = data["source"]
    conditions(config)
    try:
        shard = parse_shard(str(config["clips"]["shard"]))
    except SelectionError as err:
        raise ConfigError(f"clips.shard: {err}") from None
    if source != "synth":
        if not data.get("path"):
            raise ConfigError(f"data.path: required when data.source is {source!r}")
        path = Path(data["path"])
        if source == "stgcn":
            trains = not config["model"]["checkpoint"] or trained_classifiers(config)
            splits = [data["split"]] + ([data["train_split"]] if trains else [])
            for split in dict.fromkeys(splits):
                for f in (path / f"{split}_data.npy", path / f"{split}_label.pkl"):
                    if not f.is_file():
                        raise ConfigError(f"data.path: {f} not found (data.source stgcn needs {split}_data.npy and {split}_label.pkl)")
        elif source == "ntu_raw" and not path.is_dir():
            raise ConfigError(f"data.path: {path} is not a directory of NTU .skeleton files")
        elif source == "pyskl" and not path.is_file():
            raise ConfigError(f"data.path: {path} is not a pyskl annotation pickle")
    for name, spec in classifiers(config).items():
        ckpt = Path(spec["checkpoint"])
        trained_here = trained_classifiers(config)
        user_given = (name != ATTACKED_MODEL or config["model"]["checkpoint"]) and name not in trained_here
        if user_given and not ckpt.is_file():
            key = "model.checkpoint" if name == ATTACKED_MODEL else f"classifiers.{name}.checkpoint"
            raise ConfigError(f"{key}: {ckpt} not found")

    clips = config["clips"]
    try:
        explicit = explicit_names(config)
    except FileNotFoundError as err:
        raise ConfigError(f"clips.names_file: {err}") from None
    chosen = selection(config)
    if chosen is None:
        return []
    if not chosen:
        raise ConfigError(f"clips: shard {shard[0]}/{shard[1]} of the selection is empty")
    return explicit if (explicit or clips.get("classes")) else []


def explicit_names(config: Mapping[str, Any]) -> list[str]:
    clips = config["clips"]
    names = list(clips.get("names") or [])
    if clips.get("names_file"):

        names += read_name_list(clips["names_file"])
    return names


def selection(config: Mapping[str, Any]) -> list[str] | None:
    """The clip selection computed here and now, or None while the data does not exist yet.

    Same function and arguments as the ``select_clips`` job, so both give the same list;
    the workflow uses this when it can, because Snakemake decides reruns more reliably
    for plain inputs than for inputs that depend on a checkpoint.
    """
    from ciasa.data.stgcn import load_class_names, load_labels
    from pipeline import fit_check

    data = config["data"]
    labels_path = Path(data_dir(config)) / f"{data['split']}_label.pkl"
    if not labels_path.is_file():
        return None
    clips = config["clips"]
    names, labels = load_labels(labels_path)
    try:
        return select_clips(
            names,
            labels,
            count=int(clips["count"]),
            seed=int(clips["seed"]),
            explicit=explicit_names(config),
            classes=list(clips.get("classes") or []),
            class_names=load_class_names(labels_path.parent),
            shard=str(clips["shard"]),
            source=str(labels_path),
            exclude=fit_check.draw_exclusions(config),  # clips a fitted artefact saw leave the draw
        )
    except SelectionError as err:
        raise ConfigError(f"clips: {err}") from None
