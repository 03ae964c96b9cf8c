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


def test_real_ntu_row_merges_files_and_orders_eps(tmp_path: Path, monkeypatch) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import json

    import readme_numbers

    def attack(model: str, eps: float, form: str, box: str, k: int, linf: float) -> dict:
        return {
            "model": model,
            "mode": "basic",
            "eps_m": eps,
            "settings": {"formulation": form, "box": box},
            "success_clean_correct": {"count": k, "of": 7},
            "linf_mm_mean": linf,
        }

    advanced = {"model": "efficientgcn-xview", "mode": "advanced", "eps_m": None}
    (tmp_path / "real_ntu.json").write_text(
        json.dumps({"attacks": [attack("efficientgcn-xview", 0.008, "perturbation", "strict", 2, 8.0), advanced]})
    )
    (tmp_path / "real_ntu_b.json").write_text(
        json.dumps(
            {
                "attacks": [
                    attack("shiftgcn-xview", 0.004, "skeleton", "loose", 5, 17.0),
                    attack("efficientgcn-xview", 0.004, "perturbation", "strict", 0, 4.0),
                    attack("efficientgcn-xview", 0.004, "perturbation", "loose", 7, 20.26),
                ]
            }
        )
    )
    (tmp_path / "real_ntu_clean.json").write_text(json.dumps({"models": {}}))
    monkeypatch.setattr(readme_numbers, "RESULTS", tmp_path)
    (row,) = readme_numbers.row_real_ntu()
    assert (
        "| efficientgcn-xview: `perturbation` loose 4 mm 7/7 (L-inf 20.3 mm); `perturbation` strict 4 mm 0/7 "
        "(L-inf 4.0 mm), 8 mm 2/7 (L-inf 8.0 mm); shiftgcn-xview: `skeleton` loose 4 mm 5/7 (L-inf 17.0 mm) |" in row
    )
    monkeypatch.setattr(readme_numbers, "RESULTS", tmp_path / "none")
    assert readme_numbers.row_real_ntu() == []


def test_the_prose_quotes_only_numbers_of_the_table() -> None:
    """'What the numbers say' may only repeat counts (k/n), decimals and p-values the generated table holds,
    so the prose cannot keep a number the JSON no longer says."""
    import re

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import readme_numbers

    text = (ROOT / "README.md").read_text()
    start = text.index("**What the numbers say.**")
    prose = text[start : text.index("\n\n", start)]
    table = readme_numbers.table()
    quoted = re.findall(r"\b\d+/\d+\b|\b\d+\.\d+\b", prose)
    assert quoted, "the paragraph quotes no numbers: the check would pass vacuously"
    missing = [q for q in quoted if not re.search(rf"(?<![\d./]){re.escape(q)}(?![\d/]|\.\d)", table)]
    assert not missing, f"README prose numbers not in the generated table: {missing}"
