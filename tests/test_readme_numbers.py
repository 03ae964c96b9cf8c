"""The README's numbers are the committed benchmark JSON's, formatted (benchmarks/readme_numbers.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_numbers_match_the_benchmark_json() -> None:
    proc = subprocess.run(
        [sys.executable, "benchmarks/readme_numbers.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_the_check_notices_a_changed_number(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import readme_numbers

    text = (ROOT / "README.md").read_text()
    table = readme_numbers.table()
    assert readme_numbers.rewrite(text, table) == text
    assert readme_numbers.rewrite(text, table.replace("|", "!", 1)) != text


def test_transfer_seed_rows_from_a_hand_made_result(tmp_path: Path, monkeypatch) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import json

    import readme_numbers

    e = {"value": 0.25, "low": 0.1, "high": 0.4, "n": 72, "k": None}
    rate = {"value": 0.5, "low": 0.4, "high": 0.6, "n": 72, "k": 36}
    data = {
        "seeds": [0, 1, 2],
        "count": 24,
        "per_seed": [{"headline": {"rgb_attributable_drop": {"value": v}}} for v in (0.2, 0.25, 0.3)],
        "spread": {"rgb_attributable_drop": {"n": 3, "mean": 0.25, "sd": 0.05, "min": 0.2, "max": 0.3}},
        "pooled": {
            "rgb": {
                "control_accuracy": rate,
                "perturbed_accuracy": rate,
                "attributable_drop": e,
                "attributable_drop_p": 0.0123,
                "pairs": 72,
            },
            "skeleton": {"attributable_drop": e},
            "rgb_drop_clean_perturbed": e,
        },
    }
    (tmp_path / "transfer_seeds.json").write_text(json.dumps(data))
    monkeypatch.setattr(readme_numbers, "RESULTS", tmp_path)
    (row,) = readme_numbers.row_transfer_seeds()
    assert "over 3 seeds" in row and "n = 24 each" in row
    assert "**attributable drop 25.0 pp [10.0, 40.0] (n = 72)** pooled over 72 seed x clip pairs" in row
    assert "p = 0.012" in row and "per seed 20.0, 25.0, 30.0 pp (mean 25.0, sd 5.0)" in row
    monkeypatch.setattr(readme_numbers, "RESULTS", tmp_path / "none")
    assert readme_numbers.row_transfer_seeds() == []
