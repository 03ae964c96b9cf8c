"""The README's numbers are the committed benchmark JSON's, formatted (benchmarks/readme_numbers.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_numbers_match_the_benchmark_json() -> None:
    proc = subprocess.run([sys.executable, "benchmarks/readme_numbers.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_check_notices_a_changed_number(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import readme_numbers

    text = (ROOT / "README.md").read_text()
    table = readme_numbers.table()
    assert readme_numbers.rewrite(text, table) == text
    assert readme_numbers.rewrite(text, table.replace("|", "!", 1)) != text
