"""docs/results.md is the rendering of the committed run (benchmarks/results/paper_results.json),
never a hand edit: a change to either without the other fails here."""

from __future__ import annotations

import json

from ciasa.experiments import results


def test_docs_results_md_is_the_rendering_of_the_committed_run(repo_root):
    source = "benchmarks/results/paper_results.json"
    committed = results.load_results(repo_root / source)
    assert (repo_root / "docs" / "results.md").read_text() == results.render(committed, source)
    for figure in ("fig2.png", "table1.png"):
        assert (repo_root / "docs" / "figures" / figure).stat().st_size > 0


def test_the_committed_run_covers_every_table_both_formulations_and_n_200(repo_root):
    committed = json.loads((repo_root / "benchmarks/results/paper_results.json").read_text())
    units = {u["unit"]: u for u in committed["units"]}
    for table in ("table1", "table2", "table4", "table5"):
        for formulation in ("skeleton", "perturbation"):
            assert units[f"ntu/{table}_{formulation}"]["record"]["n"] >= 200
    for mode in ("basic", "advanced"):
        for formulation in ("skeleton", "perturbation"):
            assert units[f"ntu/table3_{mode}_{formulation}"]["record"]["n"] >= 200
    assert units["ntu/fig2"]["record"]["n"] >= 200
    assert {"kinetics/fig2", "kinetics/table1_skeleton", "kinetics/table1_perturbation"} <= set(units)
