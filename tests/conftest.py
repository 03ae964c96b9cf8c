"""Shared test set-up. Tests make their own small data; fixtures here stay generic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Artifacts a person may want to look at after a run (screenshots, contact sheets).
ARTIFACTS = REPO / ".test-artifacts"

# Keep CPU tests predictable on the 2-core CI machine.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture
def one_torch_thread():
    """Tests on tiny tensors: a second CPU thread only adds synchronisation, which costs
    20-40x on a busy 2-core machine. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def load_benchmark():
    """Import a script of ``benchmarks/`` by name (they are scripts, not a package), so that a
    test can check the tables and numbers the docs quote against the code that formats them."""
    import importlib.util

    loaded: dict[str, object] = {}

    def load(name: str):
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(f"benchmark_{name}", REPO / "benchmarks" / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load
