"""Every option the config schema lets a user set for a stage is a flag of that stage's CLI,
of the same type and range, spelled one way.

The rules pass ``options`` tables to the CLIs as ``--key-with-dashes`` flags
(``pipeline.config.cli_flags``); a key the CLI does not know, or a value the schema lets
through that the CLI refuses, would only fail when the job runs, maybe hours into a farm
run. These tests fail at once instead: the schema and the CLIs are probed with the same
values (boundaries, fractions, negatives, empty lists) and must agree.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from pipeline import config as pipeline_config

ROOT = Path(__file__).resolve().parents[1]


def full_schema() -> dict:
    return yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def schema() -> dict:
    return full_schema()["properties"]


def _resolved(node: dict) -> dict:
    """``{$ref: '#/$defs/NAME', ...}`` -> the definition (with the node's own keys)."""
    if "$ref" not in node:
        return node
    target = full_schema()
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    flags: set[str] = set()
    for action in parser._actions:
        flags.update(action.option_strings)
    return flags


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def _attack() -> argparse.ArgumentParser:
    from ciasa.attack import build_parser

    return build_parser()


def _train() -> argparse.ArgumentParser:
    from ciasa.train import build_parser

    return build_parser()


def _synth() -> argparse.ArgumentParser:
    from ciasa.data.synth.__main__ import build_parser

    return build_parser()


def _convert_ntu() -> argparse.ArgumentParser:
    from ciasa.data.convert import build_parser

    return _subparser(build_parser(), "ntu")


def _render() -> argparse.ArgumentParser:
    from render.__main__ import single_parser

    return single_parser()


def _pose() -> argparse.ArgumentParser:
    from pose_extract.__main__ import single_parser

    return single_parser()


# (schema path to an object of options, the CLI it is passed to, keys the rule handles
# itself, the switches the rule renders as --no-KEY for false)
TABLES: list[tuple[tuple[str, ...], Callable[[], argparse.ArgumentParser], set[str], tuple[str, ...]]] = [
    (("attack", "options"), _attack, set(), pipeline_config.ATTACK_NEGATABLE),
    (("model", "train"), _train, set(), pipeline_config.TRAIN_NEGATABLE),
    (("classifiers", "additionalProperties", "train"), _train, set(), pipeline_config.TRAIN_NEGATABLE),
    (("data", "synth"), _synth, set(), pipeline_config.SYNTH_NEGATABLE),
    (("data", "convert"), _convert_ntu, set(), ()),
    (("render", "options"), _render, set(), ()),
    (("render",), _render, {"options", "on_failure"}, ()),
    (("pose", "options"), _pose, set(), pipeline_config.POSE_NEGATABLE),
]
IDS = [".".join(t[0]) for t in TABLES]


def _node(path: tuple[str, ...]) -> dict:
    node = {"properties": schema()}
    for key in path:
        node = _resolved(node["properties"][key] if key != "additionalProperties" else node["additionalProperties"])
    return node


def _properties(path: tuple[str, ...]) -> dict:
    return _node(path)["properties"]


@pytest.mark.parametrize("path,make,skip,negatable", TABLES, ids=IDS)
def test_every_config_option_is_a_flag_of_its_cli(path, make, skip, negatable) -> None:
    flags = option_strings(make())
    missing = [key for key in _properties(path) if key not in skip and "--" + key.replace("_", "-") not in flags]
    assert not missing, f"config {'.'.join(path)} keys without a CLI flag: {missing}"


def test_the_check_sees_a_key_the_cli_does_not_know() -> None:
    assert "--no-such-option" not in option_strings(_attack())


def _switches(parser: argparse.ArgumentParser) -> set[str]:
    """Dests of the --KEY/--no-KEY flags (argparse.BooleanOptionalAction)."""
    return {a.dest for a in parser._actions if isinstance(a, argparse.BooleanOptionalAction)}


@pytest.mark.parametrize("path,make,skip,negatable", TABLES, ids=IDS)
def test_on_off_switches_have_one_spelling_and_false_reaches_the_cli(path, make, skip, negatable) -> None:
    """``smooth: false`` is the config's only spelling of --no-smooth (no ``no_smooth`` key
    beside it), and the rule renders false as --no-KEY (not as nothing, which would leave
    the CLI's default on)."""
    keys, switches = set(_properties(path)), _switches(make())
    doubled = sorted(k for k in keys if k.startswith("no_") and k.removeprefix("no_") in switches)
    assert not doubled, f"config {'.'.join(path)}: {doubled} duplicate a --KEY/--no-KEY switch: use KEY: false"
    assert set(negatable) & keys == switches & keys, (sorted(switches & keys), negatable)


def test_the_training_options_are_defined_once() -> None:
    assert schema()["model"]["properties"]["train"]["$ref"] == "#/$defs/train"
    assert schema()["classifiers"]["additionalProperties"]["properties"]["train"]["$ref"] == "#/$defs/train"


_JSON_TYPE = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}


def test_training_option_types_are_trainconfigs() -> None:
    from ciasa.train import TrainConfig

    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    defaults = TrainConfig()
    for key, prop in _properties(("model", "train")).items():
        if key == "config":  # the settings file, not a setting
            continue
        assert key in fields, f"schema $defs/train.{key} is not a TrainConfig field"
        want = _JSON_TYPE[type(getattr(defaults, key))]
        assert prop["type"] == want, f"$defs/train.{key}: schema type {prop['type']}, TrainConfig {want}"


# Values every option is probed with. Floats with an integral value (3.0) are left out: JSON
# Schema counts them as integers; the start-up check (pipeline.config.check_train_options)
# refuses them for the training options, where the CLI does.
NUMBERS = [-1, 0, 1, 3, 100, 1e-3, 0.5, 0.999, 1.5]
LISTS = [[3], [0, 5], [-1], []]


def _values(prop: dict, same_type: bool = False) -> list:
    """Probe values for an option; with ``same_type``, only values of its own JSON type (the
    types are compared by the test above), so that what differs is the range."""
    if prop.get("type") == "boolean":
        return [True, False]
    if "enum" in prop:
        return [*prop["enum"], "no-such-value"]
    if same_type:
        return {"array": LISTS, "integer": NUMBERS, "number": NUMBERS}.get(prop.get("type"), [])
    return NUMBERS + LISTS


def _parses(make: Callable[[], argparse.ArgumentParser], argv: list[str]) -> bool:
    parser = make()
    required = [arg for a in parser._actions if a.required and a.option_strings for arg in (a.option_strings[0], "x")]
    try:
        parser.parse_args(required + argv)
    except SystemExit:
        return False
    return True


def _train_accepts(key: str, value) -> bool:
    """What ``python -m ciasa.train`` does with the rule's rendering of ``{key: value}``,
    before it reads any data (its flags' types and validate_config)."""
    from ciasa.cli import BadInput
    from ciasa.train import config_from_args

    flags = shlex.split(pipeline_config.cli_flags({key: value}, pipeline_config.TRAIN_NEGATABLE))
    # a long run, so that only the option's own range decides (a warm-up shorter than the
    # run is a rule across two options, which the start-up check applies)
    run = ["--epochs", "1000"] if key != "epochs" else []
    try:
        config_from_args(["--data", "DATA", "--out", "OUT", *run, *flags])
    except (SystemExit, BadInput):
        return False
    return True


def test_training_option_ranges_are_ciasa_trains() -> None:
    """Schema and ciasa.train accept exactly the same probe values (warm-up fractions, dropout
    and label smoothing below 1, non-negative seeds and steps, ...)."""
    props = _properties(("model", "train"))
    disagree = []
    for key, prop in props.items():
        if prop["type"] == "string" and "enum" not in prop:
            continue  # a file or an architecture name: checked at start-up by ciasa.train itself
        for value in _values(prop, same_type=True):
            by_schema = jsonschema.Draft202012Validator(prop).is_valid(value)
            if by_schema != _train_accepts(key, value):
                disagree.append(f"{key}: {value!r} ({'only the schema' if by_schema else 'only ciasa.train'} takes it)")
    assert not disagree, "$defs/train and ciasa.train disagree:\n" + "\n".join(disagree)


def test_the_range_check_sees_a_disagreement() -> None:
    assert jsonschema.Draft202012Validator({"type": "number", "maximum": 1}).is_valid(1)
    assert not _train_accepts("dropout", 1)
    assert _train_accepts("warmup_epochs", 0.5)


def _rendered(path: tuple[str, ...], options: dict, negatable: tuple[str, ...]) -> str:
    """The flags the rule renders from an options table (the attack's eps list is one value)."""
    if path == ("attack", "options"):
        return pipeline_config.attack_flags(options)
    return pipeline_config.cli_flags(options, negatable)


@pytest.mark.parametrize("path,make,skip,negatable", TABLES, ids=IDS)
def test_what_the_schema_takes_the_cli_parses(path, make, skip, negatable) -> None:
    """Every probe value the schema takes for an option parses as that CLI's flag (types and
    the ranges the CLI checks while parsing; free text is left to the CLI)."""
    refused = []
    for key, prop in _properties(path).items():
        if key in skip:
            continue
        for value in _values(prop):
            if jsonschema.Draft202012Validator(prop).is_valid(value):
                argv = shlex.split(_rendered(path, {key: value}, negatable))
                if not _parses(make, argv):
                    refused.append(f"{key}: {value!r} -> {' '.join(argv)}")
    assert not refused, f"config {'.'.join(path)} takes values its CLI refuses:\n" + "\n".join(refused)


def test_resources_name_the_rules_that_read_them() -> None:
    """resources.RULE is refused for a name no rule reads (a typo), and every rule that reads
    one can be given its own."""
    read = set()
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for call in re.findall(r"\bres\((.*)\)", smk.read_text()):  # res("RULE", "mem_mb"), res("a" if x else "b", key)
            read |= set(re.findall(r"\"(\w+)\"", call)) - {"threads", "mem_mb", "runtime"}
    allowed = set(schema()["resources"]["propertyNames"]["enum"]) - {"default"}
    assert read and allowed == read, (sorted(allowed - read), sorted(read - allowed))
