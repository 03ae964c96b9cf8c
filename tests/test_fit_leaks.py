"""Fitted artefacts say what they saw, never saw the evaluated clips, and the pipeline checks it.

The shipped round-trip error models, pose refiner and body prior record ``fit_samples``
(ciasa.fit_record); every one must be disjoint, by performance, from the cross-view
validation split the demo evaluates. The pipeline refuses at start-up (exit 2, naming the
artefact and the clip) to evaluate a clip an artefact was fitted on, unless
``allow_fit_overlap: true``; an artefact without ``fit_samples`` is refused by name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ciasa.fit_record import FitRecordError, overlapping, performance_of, require_fit_record
from pipeline import fit_check

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "pose_extract" / "models"
SHIPPED = ["roundtrip_error_synth.json", "roundtrip_error.json", "refiner_default.npz", "body_prior_default.json"]


@pytest.fixture(scope="module")
def default_synth_splits(request) -> dict[str, set[str]]:
    """Sample names of the default synthetic set's cross-view splits, from the generator's own
    naming and split rules; the motion is stubbed out (names and splits do not depend on it)."""
    import importlib

    gen = importlib.import_module(
        "ciasa.data.synth.generate"
    )  # the module (the package exports a function of that name)
    mp = pytest.MonkeyPatch()
    request.addfinalizer(mp.undo)
    mp.setattr(gen, "perform", lambda *a, **k: np.zeros((4, 25, 3)))
    mp.setattr(gen, "render_clip", lambda *a, **k: np.zeros((3, 4, 25, 1), np.float32))
    out: dict[str, set[str]] = {"train": set(), "val": set()}
    for sample in gen.generate(gen.SynthConfig()):
        out[gen.split_of(sample, "xview")].add(sample.name)
    assert len(out["train"]) == 1600 and len(out["val"]) == 800
    return out


def test_performance_ignores_the_camera_and_prefixes():
    assert (
        performance_of("S001C002P003R001A027") == performance_of("train_fit/S001C001P003R001A027") == "S001P003R001A027"
    )
    assert performance_of("walk_towards_s02") == "walk_towards_s02"
    record = require_fit_record({"fit_samples": ["S001C002P003R001A027"], "fit_split": "xview/train"}, "m.json")
    assert overlapping(["S001C001P003R001A027", "S001C001P004R001A027"], record) == [
        ("S001C001P003R001A027", "S001C002P003R001A027")
    ]


@pytest.mark.parametrize(
    "doc,message",
    [
        ({}, "no 'fit_samples'"),
        ({"fit_samples": [], "fit_split": "xview/train"}, "non-empty list"),
        ({"fit_samples": ["S001C002P003R001A027"]}, "no 'fit_split'"),
    ],
)
def test_a_record_without_fit_samples_is_refused_by_name(doc, message):
    with pytest.raises(FitRecordError, match=message) as info:
        require_fit_record(doc, "some/artefact.json")
    assert "some/artefact.json" in str(info.value)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_artefacts_are_disjoint_from_the_evaluated_split(name, default_synth_splits):
    record = fit_check.load_record(MODELS / name)
    assert record.split.startswith("xview/train"), record.split
    synthetic = [s for s in record.samples if performance_of(s) != s]
    assert synthetic, f"{name}: no synthetic fit samples"
    assert set(synthetic) <= default_synth_splits["train"], f"{name}: fit samples outside xview/train"
    val = {performance_of(n) for n in default_synth_splits["val"]}
    assert not {performance_of(s) for s in record.samples} & val, f"{name} saw xview/val performances"


def test_shipped_refiner_saw_clean_renders_only():
    """The evaluation extractor must not be shaped for the attack: no attack-like motion."""
    from pose_extract.refine import resolve_refiner

    meta = resolve_refiner("default").meta
    assert not any("perturb" in c for c in meta["clips"]), "the refiner was fitted on perturbed renders"
    assert sorted(c.rsplit("/", 1)[-1] for c in meta["clips"]) == sorted(meta["fit_samples"])
    error_model = json.loads((MODELS / "roundtrip_error_synth.json").read_text())
    # the demo's error model describes clips the refiner never saw, as evaluated clips are
    assert not {performance_of(s) for s in error_model["fit_samples"]} & {
        performance_of(s) for s in meta["fit_samples"]
    }


def test_shipped_body_prior_is_the_built_in_one():
    from pose_extract.prior import DEFAULT_PRIOR

    doc = json.loads((MODELS / "body_prior_default.json").read_text())
    np.testing.assert_allclose(DEFAULT_PRIOR.lengths, doc["lengths"])


def test_loaders_refuse_artefacts_without_fit_samples(tmp_path):
    from ciasa.attacks.roundtrip import load_error_model
    from pose_extract.error_model import check_error_model
    from pose_extract.refine import Refiner, resolve_refiner

    doc = json.loads((MODELS / "roundtrip_error_synth.json").read_text())
    del doc["fit_samples"]
    bare = tmp_path / "bare_error.json"
    bare.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="bare_error.json: no 'fit_samples'"):
        load_error_model(bare, "ntu-rgb+d")
    with pytest.raises(ValueError, match="bare_error.json: no 'fit_samples'"):
        check_error_model(doc, str(bare))
    refiner = resolve_refiner("default")
    meta = {k: v for k, v in refiner.meta.items() if k not in ("fit_samples", "fit_split", "format")}
    Refiner(refiner.mean, refiner.std, refiner.layers, meta).save(tmp_path / "bare_refiner.npz")
    with pytest.raises(ValueError, match="bare_refiner.npz: no 'fit_samples'"):
        resolve_refiner(tmp_path / "bare_refiner.npz")


# ----------------------------------------------------------------------------- the pipeline


def snakemake_dry_run(tmp_path: Path, override: dict) -> subprocess.CompletedProcess:
    """``snakemake -n`` with ``override`` on the default config; models trained, not shipped
    ones (which need not be present in a checkout), so that only the fit check can fail."""
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    train_here: dict = {}
    if "shipped" in base.get("model", {}):
        train_here["model"] = {"shipped": None}
    for name, spec in (base.get("classifiers") or {}).items():
        if isinstance(spec, dict) and "shipped" in spec:
            train_here.setdefault("classifiers", {})[name] = {"shipped": None}
    config = tmp_path / "override.yaml"
    config.write_text(yaml.safe_dump({"results_dir": str(tmp_path / "results"), **train_here, **override}))
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def a_fit_clip() -> tuple[Path, str]:
    """The demo's error model and one of its fit samples seen by another camera."""
    path = MODELS / "roundtrip_error_synth.json"
    sample = json.loads(path.read_text())["fit_samples"][0]
    other = sample[:4] + ("C001" if sample[4:8] != "C001" else "C002") + sample[8:]
    return path, other


def test_startup_refuses_a_named_clip_an_artefact_saw(tmp_path):
    path, clip = a_fit_clip()
    proc = snakemake_dry_run(tmp_path, {"clips": {"names": [clip]}})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    assert "roundtrip_error_synth.json" in out and clip in out
    assert not (tmp_path / "results").exists()


def test_allow_fit_overlap_runs_with_a_warning(tmp_path):
    path, clip = a_fit_clip()
    proc = snakemake_dry_run(tmp_path, {"clips": {"names": [clip]}, "allow_fit_overlap": True})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "warning: allow_fit_overlap" in out and clip in out and "roundtrip_error_synth.json" in out


def test_startup_refuses_an_artefact_without_fit_samples(tmp_path):
    doc = json.loads((MODELS / "roundtrip_error_synth.json").read_text())
    del doc["fit_samples"]
    bare = tmp_path / "bare_error.json"
    bare.write_text(json.dumps(doc))
    proc = snakemake_dry_run(tmp_path, {"attack": {"options": {"error_model": str(bare)}}})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    assert f"{bare}: no 'fit_samples'" in out
    assert not (tmp_path / "results").exists()


def test_fit_check_cli(tmp_path, capsys, default_synth_splits):
    path, clip = a_fit_clip()
    assert fit_check.main(["--configfile", str(REPO / "config/config.yaml"), "--names", clip]) == 2
    err = capsys.readouterr().err
    assert str(path.name) in err and clip in err
    val = sorted(default_synth_splits["val"])[:50]
    assert fit_check.main(["--configfile", str(REPO / "config/config.yaml"), "--names", ",".join(val)]) == 0
    missing = tmp_path / "nothing.yaml"
    assert fit_check.main(["--configfile", str(missing)]) == 2
    assert "nothing.yaml" in capsys.readouterr().err


def test_the_random_draw_leaves_fitted_performances_out(tmp_path):
    """With the demo's artefacts, a draw from their own training split never trips the check,
    whatever the seed: the clips they saw leave the pool."""
    from pipeline.select import select_clips

    records = fit_check.records_of(yaml.safe_load((REPO / "config/config.yaml").read_text()))
    seen = fit_check.exclusions(records.values())
    fit = sorted({s for r in records.values() for s in r.samples if performance_of(s) != s})
    pool = fit + [f"S009C001P{p:03d}R001A001" for p in range(1, 21)]
    labels = [0] * len(pool)
    for seed in range(5):
        drawn = select_clips(pool, labels, count=15, seed=seed, exclude=seen)
        assert len(drawn) == 15 and not fit_check.overlaps(drawn, records)
    assert select_clips(pool, labels, count=0, exclude=seen) == sorted(pool[len(fit) :])


def test_the_fit_draws_are_disjoint_balanced_and_one_per_performance():
    """benchmarks/fit_pose_artefacts.py's draws: the refiner's and the error model's clips never
    share a performance (two cameras of one take count once), and the classes take turns."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from fit_pose_artefacts import draw_fit_clips

    names = [f"S001C{c:03d}P{p:03d}R001A{a:03d}" for p in range(1, 9) for a in (1, 6, 27) for c in (2, 3)]
    labels = [{1: 0, 6: 1, 27: 2}[int(n[-3:])] for n in names]
    refiner, error = draw_fit_clips(names, labels, 9, 6, seed=0)
    assert len(refiner) == 9 and len(error) == 6
    perfs = [performance_of(n) for n in refiner + error]
    assert len(set(perfs)) == len(perfs)
    assert sorted(n[-3:] for n in error) == ["001", "001", "006", "006", "027", "027"]
    assert draw_fit_clips(names, labels, 9, 6, seed=0) == (refiner, error)
    with pytest.raises(SystemExit, match="distinct training performances"):
        draw_fit_clips(names, labels, 20, 6)
