"""benchmarks/transfer_seeds.py (issue 21, item 5): per-seed overrides, pooling over seed x clip
pairs on hand-made summaries, bad arguments, and (slow) a real tiny run that resumes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import transfer_seeds as ts  # noqa: E402


def _summary(outcomes: list[tuple[int | None, int | None, int | None, int | None]], drop_value: float) -> dict:
    """A report summary whose clips have label 0 and (skeleton control, skeleton perturbed, RGB control,
    RGB perturbed) predictions right (0) or wrong (1), None for not classified."""
    clips = []
    for i, (sc, sp, rc, rp) in enumerate(outcomes):
        clips.append(
            {
                "name": f"c{i}",
                "label": 0,
                "predictions": {
                    "attacked": {
                        "skeleton": {"clean": 0, "control": sc, "perturbed": sp},
                        "rgb": {"clean": 0, "control": rc, "perturbed": rp},
                    }
                },
            }
        )
    return {"clips": clips, "headline": {"rgb_attributable_drop": {"value": drop_value}}}


def test_override_sets_the_seeds_and_always_trains():
    config = ts.load_config([])
    override = ts.seed_override(config, 3, Path("/x/seed3/results"), 24)
    assert override["results_dir"] == "/x/seed3/results"
    assert override["clips"] == {"seed": 3, "count": 24}
    assert override["model"]["train"] == {"seed": 3} and override["model"]["checkpoint"] is None
    if "shipped" in config["model"]:  # a shipped demo checkpoint is never reused
        assert override["model"]["shipped"] is None
    for name, spec in config.get("classifiers", {}).items():
        if "train" in spec:
            assert override["classifiers"][name]["train"] == {"seed": 3}
            assert override["classifiers"][name].get("shipped", None) is None
    merged = ts.merge(config, override)
    assert merged["model"]["train"]["epochs"] == config["model"]["train"]["epochs"]  # merged, not replaced


def test_pooled_numbers_over_seed_x_clip_pairs_by_hand():
    # seed A: RGB control right on 3 clips, perturbed right on 1 (clip 0); clip 3's perturbed video failed
    a = _summary([(0, 1, 0, 0), (0, 1, 0, 1), (0, 0, 0, 1), (1, 1, 1, None)], 2 / 3)
    # seed B: control right on 2, perturbed on 0; one clip right under attack only
    b = _summary([(0, 1, 0, 1), (0, 1, 0, 1), (1, 0, 1, 0)], 1 / 3)
    out = ts.pooled([a, b], n_boot=300, seed=0)
    rgb = out["rgb"]
    assert rgb["pairs"] == 6  # 3 + 3: the failed video's clip is left out
    assert (rgb["control_accuracy"]["k"], rgb["control_accuracy"]["n"]) == (5, 6)
    assert (rgb["perturbed_accuracy"]["k"], rgb["perturbed_accuracy"]["n"]) == (2, 6)
    assert rgb["attributable_drop"]["value"] == pytest.approx(0.5)
    assert rgb["discordant"] == {"control_only": 4, "perturbed_only": 1}
    assert rgb["attributable_drop_p"] == pytest.approx(2 * 6 / 32)  # 2 * P(Bin(5, 1/2) <= 1)
    sk = out["skeleton"]
    assert sk["pairs"] == 7 and sk["attributable_drop"]["value"] == pytest.approx((5 - 2) / 7)
    assert out["rgb_drop_clean_perturbed"]["n"] == 6
    s = ts.spread([2 / 3, 1 / 3, None])
    assert s["n"] == 2 and s["mean"] == pytest.approx(0.5) and s["min"] == pytest.approx(1 / 3)
    assert s["sd"] == pytest.approx(((1 / 6) ** 2 * 2) ** 0.5)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "1", "1"], "--seeds: distinct"),
        (["--configfile", "nope.yaml"], "nope.yaml not found"),
        (["--cores", "0"], "--cores"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "t.json"
    assert ts.main([*argv, "--root", str(tmp_path / "runs"), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_tiny_run_and_its_resume(tmp_path):
    """ci_tiny-sized settings, one seed: the JSON holds the seed's numbers and the pooled ones;
    a second call finds the seed finished and does not rerun it."""
    out = tmp_path / "seeds.json"
    cmd = [
        sys.executable,
        "benchmarks/transfer_seeds.py",
        "--seeds",
        "5",
        "--configfile",
        "config/ci_tiny.yaml",
        "--root",
        str(tmp_path / "runs"),
        "--out",
        str(out),
        "--bootstrap",
        "100",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["seeds"] == [5] and data["reused_seeds"] == []
    (seed,) = data["per_seed"]
    assert seed["headline"]["n_clips"] == 2 and "rgb_attributable_drop" in seed["headline"]
    assert data["pooled"]["skeleton"]["pairs"] == 2
    assert data["pooled"]["rgb"]["pairs"] == seed["headline"]["n_rgb_control_pairs"]
    override = (tmp_path / "runs" / "seed5" / "override.yaml").read_text()
    assert "seed: 5" in override
    selection = (tmp_path / "runs" / "seed5" / "results" / "clips" / "selection.txt").read_text().split()
    assert [
        c["name"] for c in json.loads(Path(seed["results"], "report", "summary.json").read_text())["clips"]
    ] == selection
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "finished earlier" in proc.stdout
    assert json.loads(out.read_text())["reused_seeds"] == [5]
