"""Every option the config schema lets a user set for a stage is a flag of that stage's CLI.

The rules pass ``options`` tables to the CLIs as ``--key-with-dashes`` flags
(``pipeline.config.cli_flags``); a key the CLI does not know would only fail when the
job runs, maybe hours into a farm run. This test fails at once instead.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def schema() -> dict:
    return yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())["properties"]


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


# (schema path to an object of options, the CLI it is passed to, keys the rule handles itself)
TABLES: list[tuple[tuple[str, ...], Callable[[], argparse.ArgumentParser], set[str]]] = [
    (("attack", "options"), _attack, set()),
    (("model", "train"), _train, set()),
    (("classifiers", "additionalProperties", "train"), _train, set()),
    (("data", "synth"), _synth, set()),
    (("data", "convert"), _convert_ntu, set()),
    (("render", "options"), _render, set()),
    (("render",), _render, {"options", "on_failure"}),
    (("pose", "options"), _pose, set()),
]


def _properties(path: tuple[str, ...]) -> dict:
    node = {"properties": schema()}
    for key in path:
        node = node["properties"][key] if key != "additionalProperties" else node["additionalProperties"]
    return node["properties"]


@pytest.mark.parametrize("path,make,skip", TABLES, ids=[".".join(t[0]) for t in TABLES])
def test_every_config_option_is_a_flag_of_its_cli(path, make, skip) -> None:
    flags = option_strings(make())
    missing = [key for key in _properties(path) if key not in skip and "--" + key.replace("_", "-") not in flags]
    assert not missing, f"config {'.'.join(path)} keys without a CLI flag: {missing}"


def test_the_check_sees_a_key_the_cli_does_not_know() -> None:
    assert "--no-such-option" not in option_strings(_attack())
