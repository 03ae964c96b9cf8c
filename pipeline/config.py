"""Config handling for the Snakemake workflow: start-up checks and CLI flag rendering.

``workflow/rules/common.smk`` validates the config against the JSON schema and then
calls :func:`check_startup`, so a missing data path, checkpoint or clip name fails in
the first second with a message naming the key, instead of an hour into the run.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ciasa.cli import BadInput, read_name_list
from ciasa.skeleton import EPS_NAMES, NTU_RGBD
from pipeline.paths import ATTACKED_MODEL, CONDITIONS, CONTROL, Paths, shard_tag
from pipeline.select import SelectionError, parse_shard, select_clips


class ConfigError(BadInput):
    """The config names something that does not exist or does not fit."""


def cli_flags(options: Mapping[str, Any] | None, negatable: Collection[str] = ()) -> str:
    """``{'max_gap': 5, 'augment': False, 'no_smooth': True}`` -> ``--max-gap 5 --no-augment --no-smooth``.

    Keys are the CLI's option names with '_' for '-'. ``true`` gives the bare flag;
    ``false`` gives ``--no-KEY`` for the keys in ``negatable`` (argparse's
    BooleanOptionalAction flags) and nothing otherwise (a plain switch left off);
    ``null`` gives nothing; a list gives the option followed by its values; a mapping gives
    one ``NAME=VALUE,...`` value (``--eps feet=0.3,knees=0.05``).
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
        elif isinstance(value, Mapping):
            parts.extend([flag, ",".join(f"{k}={v}" for k, v in value.items())])
        else:
            parts.extend([flag, str(value)])
    return " ".join(shlex.quote(p) for p in parts)


# ciasa.train's switches that have a --no- form.
TRAIN_NEGATABLE = ("augment", "progress", "resume")
# ciasa.data.synth's switches that have a --no- form.
SYNTH_NEGATABLE = ("posture_cues",)
# pose_extract's switches that have a --no- form (the config spells them `smooth: false`).
POSE_NEGATABLE = ("smooth", "rays", "redetect")
# ciasa.attack's switches that have a --no- form.
ATTACK_NEGATABLE = ("control",)


def attack_flags(options: Mapping[str, Any]) -> str:
    """``attack.options`` as ``python -m ciasa.attack`` flags: a per-joint eps list becomes one
    comma-separated value, eps by name ``--eps feet=0.3``, ``control: false`` ``--no-control``."""
    return cli_flags(
        {k: ",".join(map(str, v)) if k == "eps" and isinstance(v, list) else v for k, v in options.items()},
        ATTACK_NEGATABLE,
    )


def check_train_options(config: Mapping[str, Any]) -> None:
    """Run ``python -m ciasa.train``'s own validation on every training block of the config,
    its ``config`` file included, so that a value training would refuse (``dropout: 1``,
    warm-up as long as the run, an unknown arch) fails at start-up naming the key, not
    inside the job. A block with a ``shipped`` checkpoint trains nothing (pipeline.shipped
    checks it equals the recipe that checkpoint was trained with), and this imports torch,
    so only the blocks that will train are checked."""
    specs = config.get("classifiers") or {}
    trained = trained_classifiers(config)
    blocks = {f"classifiers.{name}.train": trained[name] for name in trained if not specs[name].get("shipped")}
    model = config["model"]
    if not model["checkpoint"] and not model.get("shipped"):
        blocks = {"model.train": model["train"], **blocks}
    if not blocks:
        return
    from ciasa.train import build_parser, config_from_namespace

    for key, options in blocks.items():
        argv = ["--data", "DATA", "--out", "OUT", *shlex.split(cli_flags(options, TRAIN_NEGATABLE))]
        parser = build_parser()
        parser.exit_on_error = False
        try:
            config_from_namespace(parser.parse_args(argv))
        except (BadInput, FileNotFoundError, argparse.ArgumentError) as err:
            raise ConfigError(f"{key}: {err}") from None
        except SystemExit:  # argparse has printed its message
            raise ConfigError(f"{key}: python -m ciasa.train refuses these options (see above)") from None


def check_attack_options(config: Mapping[str, Any]) -> None:
    """What the attack job would refuse or the next rule miss, checked at start-up: eps by
    name (``{feet: 0.3}``) names leg levels or joints of :mod:`ciasa.skeleton`, and no control
    skeleton is switched off in the attack while the run renders one."""
    options = config["attack"]["options"]
    eps = options.get("eps")
    unknown = sorted(set(eps) - EPS_NAMES) if isinstance(eps, Mapping) else []
    if unknown:
        raise ConfigError(
            f"attack.options.eps: {', '.join(unknown)}: neither a leg level ({NTU_RGBD.leg_radii_text()} m) "
            "nor a joint name (ciasa/skeleton.py)"
        )
    if options.get("control") is False and config.get("control", True):
        raise ConfigError(
            "attack.options.control: false makes no control skeleton, which control: true renders; "
            "set the top-level control: false as well"
        )


# Job resources: the config's `resources` table (and model.gpu / attack.gpu) is the one place
# they are set (docs/pipeline.md, "Resources"); a profile holds executor settings only. What
# a profile's set-resources / set-threads (or the same flags) may therefore not set, since
# Snakemake would let it win over the config:
CONFIG_OWNED_RESOURCES = frozenset({"threads", "_cores", "mem", "mem_mb", "mem_mib", "runtime", "gpu"})


def resource(config: Mapping[str, Any], rule: str, key: str) -> int:
    """``resources.RULE.KEY`` of the config, else ``resources.default.KEY``."""
    table = config.get("resources") or {}
    value = (table.get(rule) or {}).get(key, (table.get("default") or {}).get(key))
    if value is None:
        raise ConfigError(f"resources.default.{key}: not set, and resources.{rule} does not set it")
    return int(value)


def check_resource_overrides(set_resources: Mapping[str, Mapping[str, Any]], set_threads: Mapping[str, Any]) -> None:
    """Refuse threads, memory, run time or GPUs set by a profile or ``--set-resources`` /
    ``--set-threads``: Snakemake lets those win over the rules' values, i.e. over the
    config, without a word."""
    clashes = [f"set-threads {rule}" for rule in set_threads]
    for rule, values in set_resources.items():
        clashes += [f"set-resources {rule}.{key}" for key in dict(values) if key in CONFIG_OWNED_RESOURCES]
    if clashes:
        raise ConfigError(
            f"resources: {', '.join(clashes)} would override the config; set threads, mem_mb and runtime in "
            "the config's resources table and GPUs with model.gpu / attack.gpu (docs/pipeline.md, "
            '"Resources"); a profile holds executor settings (partition, account, jobs) only'
        )


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
    return {
        name: dict(spec["train"])
        for name, spec in (config.get("classifiers") or {}).items()
        if "train" in spec and not spec.get("checkpoint")
    }


def check_startup(config: Mapping[str, Any]) -> list[str]:
    """Raise :class:`ConfigError` for problems visible before any job runs; returns the
    explicitly named clips that were checked against the data (empty if not checkable yet)."""
    data = config["data"]
    source = data["source"]
    conditions(config)
    check_train_options(config)
    check_attack_options(config)
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
                        raise ConfigError(
                            f"data.path: {f} not found (data.source stgcn needs {split}_data.npy and {split}_label.pkl)"
                        )
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
