"""The advanced mode's leg radii are defined once (ciasa/skeleton.py's ``leg_levels``) and
can be given by name: in the API, on the command line and in the pipeline config. Help
texts read them from there, and the docs that state them must state those numbers."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ciasa import attack as attack_cli
from ciasa.attack import build_parser, parse_eps
from ciasa.attacks import CIASA
from ciasa.cli import UnknownName
from ciasa.skeleton import NTU_RGBD
from pipeline.config import ConfigError, check_attack_options, cli_flags
from tests.test_attacks_cli import small_setup  # noqa: F401 (the fixture: a narrow ST-GCN and its data)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow/schemas/config.schema.yaml")


def test_named_radii_replace_the_levels_and_joints_they_name() -> None:
    eps = NTU_RGBD.named_eps({"feet": 0.3, "left_knee": 0.07}, NTU_RGBD.hierarchical_eps())
    expected = NTU_RGBD.hierarchical_eps()
    expected[[NTU_RGBD.index("left_foot"), NTU_RGBD.index("right_foot")]] = 0.3
    expected[NTU_RGBD.index("left_knee")] = 0.07
    np.testing.assert_allclose(eps, expected)
    assert eps[NTU_RGBD.index("right_knee")] == pytest.approx(NTU_RGBD.leg_radii["knees"])
    with pytest.raises(UnknownName, match="'toes'.*leg levels: hips, knees, ankles, feet"):
        NTU_RGBD.named_eps({"toes": 0.1}, 0.01)


def test_leg_radii_are_the_leg_levels() -> None:
    assert list(NTU_RGBD.leg_radii) == [name for name, _, _ in NTU_RGBD.leg_levels]
    np.testing.assert_allclose(NTU_RGBD.named_eps(NTU_RGBD.leg_radii, 0.0), NTU_RGBD.hierarchical_eps())


def test_ciasa_takes_radii_by_name() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 3))  # never called here
    attack = CIASA(model, mode="advanced", eps={"feet": 0.3}, layout="ntu-rgb+d", device="cpu")
    expected = NTU_RGBD.hierarchical_eps()
    expected[[NTU_RGBD.index("left_foot"), NTU_RGBD.index("right_foot")]] = 0.3
    np.testing.assert_allclose(attack.eps.numpy(), expected)
    # on a global-eps mode the names change only the joints they name
    basic = CIASA(model, mode="basic", eps={"hips": 0.02}, layout="ntu-rgb+d", device="cpu")
    assert float(basic.eps[NTU_RGBD.index("left_hip")]) == pytest.approx(0.02)
    assert float(basic.eps[NTU_RGBD.index("head")]) == pytest.approx(0.01)


def test_cli_parses_names_and_keeps_the_old_forms() -> None:
    assert parse_eps("knees=0.05, feet=0.3") == {"knees": 0.05, "feet": 0.3}
    assert parse_eps("left_foot=0.2") == {"left_foot": 0.2}
    assert parse_eps("0.02") == 0.02
    assert parse_eps(",".join(["0.01"] * 25)) == [0.01] * 25
    for bad in ("toes=0.1", "feet=-1", "feet=x", "feet=0.1,feet=0.2", "feet=0.1,0.2"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_eps(bad)


def test_attack_cli_takes_radii_by_name(small_setup, tmp_path, capsys) -> None:  # noqa: F811
    ckpt, data = small_setup
    common = [
        "--checkpoint",
        str(ckpt),
        "--data",
        str(data),
        "--device",
        "cpu",
        "--no-progress",
        "--quiet",
        "--max-iter",
        "2",
        "--limit",
        "2",
        "--mode",
        "advanced",
        "--out",
        str(tmp_path / "out"),
    ]
    assert attack_cli.main([*common, "--eps", "feet=0.3"]) == 0
    eps = json.loads((tmp_path / "out" / "summary.json").read_text())["eps"]
    expected = NTU_RGBD.hierarchical_eps()
    expected[[NTU_RGBD.index("left_foot"), NTU_RGBD.index("right_foot")]] = 0.3
    np.testing.assert_allclose(eps, expected)
    with pytest.raises(SystemExit) as exit_info:
        attack_cli.main([*common, "--eps", "toes=0.1"])
    assert exit_info.value.code == 2 and "'toes'" in capsys.readouterr().err


def test_help_texts_read_the_radii_from_skeleton() -> None:
    help_text = " ".join(build_parser().format_help().split())
    assert NTU_RGBD.leg_radii_text() == "hips 0.01, knees 0.05, ankles 0.15, feet 0.25"
    assert help_text.count(NTU_RGBD.leg_radii_text()) == 2  # the description and --eps


def test_config_takes_radii_by_name_and_checks_the_names(repo_root) -> None:
    import yaml

    config = yaml.safe_load((repo_root / "config/config.yaml").read_text())
    config["attack"]["options"]["eps"] = {"feet": 0.3, "left_knee": 0.07}
    validate(config, SCHEMA)
    check_attack_options(config)
    flags = cli_flags(config["attack"]["options"])
    value = re.search(r"--eps (\S+)", flags).group(1)
    assert parse_eps(value) == {"feet": 0.3, "left_knee": 0.07}
    config["attack"]["options"]["eps"] = [0.01] * 25  # the earlier per-joint list still validates
    validate(config, SCHEMA)
    config["attack"]["options"]["eps"] = {"feet": -0.1}
    with pytest.raises(WorkflowError):
        validate(config, SCHEMA)
    config["attack"]["options"]["eps"] = {"toes": 0.1}
    with pytest.raises(ConfigError, match="attack.options.eps: toes"):
        check_attack_options(config)


# "hips 0.01", "feet 0.25 m", "hips 1 cm": a leg level followed by one number (not a range
# like "hips 14.3-14.5", which is a measurement)
_NAMED = re.compile(r"\b(hips|knees|ankles|feet) (\d+(?:\.\d+)?)(?![\d.\-–])(\s*cm\b)?")
_SLASHED = re.compile(r"hierarchical eps (\d[\d./]*) m\b")


def _stated_radii(text: str) -> list[tuple[str, float]]:
    found = [(name, float(value) / (100 if cm else 1)) for name, value, cm in _NAMED.findall(text)]
    for group in _SLASHED.findall(text):
        found += list(zip(NTU_RGBD.leg_radii, map(float, group.split("/")), strict=True))
    return found


@pytest.mark.parametrize(
    "path, at_least",
    [("docs/attacks.md", 10), ("docs/results.md", 4), ("config/config.yaml", 2), ("benchmarks/pose_accuracy.py", 2)],
)
def test_docs_state_the_radii_of_skeleton_py(repo_root, path, at_least) -> None:
    stated = _stated_radii((repo_root / path).read_text())
    assert len(stated) >= at_least, stated  # the check must see the places it guards
    wrong = [(name, value) for name, value in stated if value != pytest.approx(NTU_RGBD.leg_radii[name])]
    assert not wrong, f"{path} states leg radii other than ciasa/skeleton.py's {NTU_RGBD.leg_radii}: {wrong}"


def test_the_docs_check_sees_a_wrong_radius() -> None:
    assert _stated_radii("legs, hips 1 cm ... feet 30 cm") == [("hips", 0.01), ("feet", 0.3)]
    assert _stated_radii("hierarchical eps 0.01/0.05/0.2/0.25 m")[2] == ("ankles", 0.2)
    assert _stated_radii("hips 14.3-14.5 / 13.6 (10), hips 71–75") == []
