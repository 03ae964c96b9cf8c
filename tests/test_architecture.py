"""The package layout is the architecture: which package may import which (docs/CONTRACTS.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ciasa", "render", "pose_extract", "pipeline", "report")
# Every package may import itself and the packages listed here, nothing else of ours.
ALLOWED = {
    "ciasa": set(),
    "render": {"ciasa"},
    "pose_extract": {"ciasa"},
    "pipeline": {"ciasa"},
    "report": {"ciasa", "pipeline"},
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """Our top-level packages imported anywhere in ``path`` (also inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.add((top, node.lineno))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_the_layout_allows(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ holds no Python files"
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {top}"
        for path in files
        for top, line in sorted(imported_packages(path))
        if top != package and top not in ALLOWED[package]
    ]
    assert not wrong, "imports across the layout's boundaries:\n" + "\n".join(wrong)


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from render.clip import Renderer\n    import pose_extract.extract\n")
    assert {top for top, _ in imported_packages(bad)} == {"render", "pose_extract"}


def test_no_package_is_left_inside_ciasa() -> None:
    for name in ("pipeline", "report"):
        assert not (ROOT / "ciasa" / name).exists(), f"ciasa/{name} belongs at the top level"
