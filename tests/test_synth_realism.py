"""The synthetic set's measured sensor-realism options (ciasa.data.synth.realism): off changes
nothing, on does what each option says, and the constants are the measured ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ciasa.data.synth import SynthConfig, generate
from ciasa.data.synth.__main__ import main
from ciasa.data.synth.generate import _rng, perform
from ciasa.data.synth.realism import (
    GROUP_OF_JOINT,
    JOINT_GROUPS,
    Realism,
    SensorParams,
    apply_dropouts,
    ar1_band_fraction,
    bone_kind,
    dropout_mask,
    kinect_noise,
    scale_bones,
)
from ciasa.data.synth.scene import kinect_jitter, sample_view, to_camera_space
from ciasa.skeleton import NTU_RGBD, bone_lengths

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(subjects=(1, 3), frames=48, actions="1,8,24")


def test_everything_off_is_the_generator_as_it_was():
    """Default config = an explicit Realism() = today's recipe, draw for draw."""
    default = generate(SynthConfig(**SMALL))
    explicit = generate(SynthConfig(**SMALL, realism=Realism(kinect_noise=False, bone_noise=0.0, dropouts=0.0)))
    config = SynthConfig(**SMALL)
    for s, e in zip(default, explicit):
        np.testing.assert_array_equal(s.clip, e.clip)
        action = config.action_list[s.label]
        rep = int(s.name[13:16])  # SsssCcccPpppRrrrAaaa
        rng = _rng(config.seed, 3, s.subject, action.ntu_id, rep, s.camera)
        view = sample_view(rng, s.camera)
        cam = to_camera_space(perform(config.seed, s.subject, action, rep, config.frames), view)
        cam = cam + kinect_jitter(rng, cam.shape[:2], config.jitter_m)
        np.testing.assert_array_equal(s.clip[..., 0], cam.transpose(2, 0, 1).astype(np.float32), err_msg=s.name)


def test_kinect_noise_has_the_measured_size_and_correlation_per_group():
    params = SensorParams(noise_m={g: (0.001 * (i + 1), 0.002, 0.004) for i, g in enumerate(JOINT_GROUPS)},
                          noise_ar=0.4)  # fmt: skip
    noise = kinect_noise(np.random.default_rng(0), 20000, params)
    for g, (sx, sy, sz) in params.noise_m.items():
        idx = [j for j, gj in enumerate(GROUP_OF_JOINT) if gj == g]
        np.testing.assert_allclose(noise[:, idx].std(axis=(0, 1)), [sx, sy, sz], rtol=0.05, err_msg=g)
    x = noise[:, 0, 0]
    assert abs(np.corrcoef(x[1:], x[:-1])[0, 1] - 0.4) < 0.03
    assert abs(ar1_band_fraction(0.0) - 2 / 3) < 0.01  # white noise: 5-15 Hz is 2/3 of 0-15 Hz


def test_kinect_noise_replaces_the_default_jitter_in_generated_clips():
    clean = generate(SynthConfig(**SMALL, jitter_m=0.0))
    noisy = generate(SynthConfig(**SMALL, realism=Realism(kinect_noise=True)))
    today = generate(SynthConfig(**SMALL))
    diff = np.stack([n.clip - c.clip for n, c in zip(noisy, clean)])  # (N, 3, T, 25, 1)
    sigma = np.array([Realism().params.noise_m[g] for g in GROUP_OF_JOINT])  # (25, 3)
    got = diff[..., 0].std(axis=(0, 2)).T  # (25, 3)
    np.testing.assert_allclose(got.mean(axis=0), sigma.mean(axis=0), rtol=0.25)
    assert not np.array_equal(noisy[0].clip, today[0].clip)


def test_scale_bones_changes_one_bone_and_carries_its_children():
    rng = np.random.default_rng(1)
    joints = rng.normal(size=(5, 25, 3))
    np.testing.assert_allclose(scale_bones(joints, np.ones((5, 25))), joints, atol=1e-12)
    forearm = NTU_RGBD.index("left_wrist")
    scale = np.ones((5, 25))
    scale[:, forearm] = 1.5
    out = scale_bones(joints, scale)
    before, after = bone_lengths(joints.transpose(2, 0, 1), NTU_RGBD), bone_lengths(out.transpose(2, 0, 1), NTU_RGBD)
    k = [c for c, _ in NTU_RGBD.bones].index(forearm)
    np.testing.assert_allclose(after[:, k], 1.5 * before[:, k])
    others = [i for i in range(after.shape[1]) if i != k]
    np.testing.assert_allclose(after[:, others], before[:, others])


def test_bone_noise_makes_bones_wobble_by_the_measured_cv():
    cv = {bone_kind(c): 0.04 for c, _ in NTU_RGBD.bones}
    params = SensorParams(bone_cv=cv, bone_corr_frames=3.0)
    stiff = generate(SynthConfig(**SMALL, jitter_m=0.0))
    wobbly = generate(SynthConfig(**SMALL, jitter_m=0.0, realism=Realism(bone_noise=1.0, params=params)))
    half = generate(SynthConfig(**SMALL, jitter_m=0.0, realism=Realism(bone_noise=0.5, params=params)))

    def cv_of(samples):
        bl = np.stack([bone_lengths(s.clip[..., 0], NTU_RGBD) for s in samples])  # (N, T, bones)
        return float(np.median(bl.std(axis=1) / bl.mean(axis=1)))

    assert cv_of(stiff) < 1e-5
    assert 0.025 < cv_of(wobbly) < 0.05
    assert 0.4 < cv_of(half) / cv_of(wobbly) < 0.6


def test_dropout_runs_have_the_measured_rate_and_length_and_hold_the_joint():
    params = SensorParams(dropout_rate={g: 0.1 for g in JOINT_GROUPS}, dropout_run_frames=4.0)
    mask = dropout_mask(np.random.default_rng(2), 40000, 1.0, params)
    assert abs(mask.mean() - 0.1) < 0.01
    col = mask[:, 7]
    edges = np.diff(np.concatenate([[0], col.astype(int), [0]]))
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    assert abs(runs.mean() - 4.0) < 0.3
    assert abs(dropout_mask(np.random.default_rng(2), 40000, 0.5, params).mean() - 0.05) < 0.01
    joints = np.random.default_rng(3).normal(size=(30, 25, 3))
    m = np.zeros((30, 25), bool)
    hand = NTU_RGBD.index("right_hand")
    wrist = NTU_RGBD.parents[hand]
    m[10:15, hand] = True
    out = apply_dropouts(joints, m)
    for t in range(10, 15):  # held where it was last seen, relative to the wrist
        np.testing.assert_allclose(out[t, hand] - out[t, wrist], joints[9, hand] - joints[9, wrist])
    np.testing.assert_array_equal(out[~m], joints[~m])


def test_cli_options_and_bad_input(tmp_path, capsys):
    flags = ["--subjects", "1-3", "--frames", "32", "--actions", "1,8", "--quiet", "--no-progress"]
    assert main(["--out", str(tmp_path / "a"), *flags, "--kinect-noise", "--bone-noise", "1", "--dropouts", "1"]) == 0
    meta = json.loads((tmp_path / "a" / "meta.json").read_text())
    assert meta["realism"]["kinect_noise"] and meta["realism"]["bone_noise"] == 1.0
    assert main(["--out", str(tmp_path / "b"), *flags]) == 0
    assert "realism" not in json.loads((tmp_path / "b" / "meta.json").read_text())
    assert main(["--out", str(tmp_path / "c"), *flags, "--kinect-noise", "--jitter", "0.01"]) == 2
    assert "--kinect-noise" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        main(["--out", str(tmp_path / "d"), *flags, "--bone-noise", "-1"])
    assert err.value.code == 2
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_constants_are_the_measured_ones():
    """ciasa.data.synth.realism's constants = benchmarks/data_realism.py's generator_parameters."""
    path = ROOT / "benchmarks" / "results" / "data_realism.json"
    measured = json.loads(path.read_text())["generator_parameters"]
    ours = json.loads(json.dumps(SensorParams().to_json()))  # tuples -> lists, as in the file
    assert ours == measured


@pytest.fixture
def realism_bench(load_benchmark):
    return load_benchmark("data_realism")


def test_band_rms_of_white_noise_and_bone_cv_of_a_known_wobble(realism_bench):
    bench = realism_bench
    rng = np.random.default_rng(4)
    white = [rng.normal(0.0, 0.01, size=(64, 25, 3)) for _ in range(40)]
    f, psd = bench.mean_psd(white)
    band = bench.band_power(f, psd)  # white noise: (15 - 5) / 15 of its variance, less the window's edge bins
    np.testing.assert_allclose(np.sqrt(band.mean()), 0.01 * np.sqrt(2 / 3), rtol=0.12)
    assert abs(bench.fit_ar1(f[f >= 5], psd[f >= 5].mean(axis=(1, 2)))) < 0.15
    rest = np.zeros((90, 25, 3))
    for j, p in enumerate(NTU_RGBD.parents):  # a chain of 10 cm bones along x
        if p >= 0:
            rest[:, j] = rest[:, p] + [0.1, 0.0, 0.0]
    t = np.arange(90)
    scale = np.ones((90, 25))
    scale[:, NTU_RGBD.index("left_elbow")] = 1 + 0.05 * np.sqrt(2) * np.sin(2 * np.pi * t / 45)  # CV 5 %, slow
    stats = bench.bone_stats([scale_bones(rest, scale)])
    assert abs(stats["cv_raw_median"]["elbow"] - 0.05 / 2) < 0.002  # left wobbles, right does not: median of 2
    assert stats["cv_raw_median"]["wrist"] == 0.0


def test_tracking_states_are_read_per_body(tmp_path, realism_bench):
    bench = realism_bench
    joint = "0.1 0.2 3.0 1 2 3 4 0 0 0 1 {}"
    lines = ["2"]
    for t in range(2):
        lines += ["1", "72057594037931648 0 1 1 1 1 0 0.0 0.0 2", "25"]
        lines += [joint.format(1 if (t == 1 and j == 7) else 2) for j in range(25)]
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text("\n".join(lines) + "\n")
    states = bench.tracking_states(path)
    (st,) = states.values()
    assert st.shape == (2, 25) and st[1, 7] == 1 and (np.delete(st.ravel(), 25 + 7) == 2).all()
    assert bench.runs_of(np.array([0, 1, 1, 0, 1], bool)) == [2, 1]


def test_docs_realism_tables_match_the_benchmark_result(realism_bench):
    path = ROOT / "benchmarks" / "results" / "data_realism.json"
    doc = (ROOT / "docs" / "attacks.md").read_text().splitlines()
    for row in realism_bench.tables(json.loads(path.read_text())):
        if row.startswith("|"):
            assert row in doc, f"row missing from docs/attacks.md: {row}"


def test_realism_rejects_negative_or_missing_scales():
    from ciasa.cli import BadInput

    for bad in (dict(bone_noise=-0.1), dict(dropouts=float("nan"))):
        with pytest.raises(BadInput, match="as measured"):
            Realism(**bad)


def test_docs_factor_table_matches_the_benchmark_result(load_benchmark):
    """The width / realism table in docs/attacks.md is benchmarks/realism_factors.py's rendering of its JSON."""

    paths = sorted((ROOT / "benchmarks" / "results").glob("realism_factors*.json"))
    if not paths:
        pytest.skip("no benchmarks/results/realism_factors*.json (run benchmarks/realism_factors.py)")
    bench = load_benchmark("realism_factors")
    arms = {arm: r for path in paths for arm, r in json.loads(path.read_text())["arms"].items()}
    doc = (ROOT / "docs" / "attacks.md").read_text().splitlines()
    for row in bench.table_lines(arms):
        assert row in doc, f"row missing from docs/attacks.md: {row}"
    for r in arms.values():  # the interval is Wilson's, around the count it is printed with
        k, n = r["perturbation"]["on_target"]
        lo, hi = r["perturbation"]["on_target_wilson95"]
        assert lo <= 100 * k / n <= hi


def test_train_width_cost_benchmark_reports_ratios_to_the_first_width(tmp_path, load_benchmark):
    """benchmarks/train_width_cost.py: the ratio and the extrapolated recipe time follow from its own medians."""

    bench = load_benchmark("train_width_cost")
    out = tmp_path / "cost.json"
    assert bench.main(["--widths", "4,8", "--repeats", "1", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    w4, w8 = rep["widths"]["4"], rep["widths"]["8"]
    assert w4["ratio_to_first"] == 1.0
    assert w8["parameters"] > w4["parameters"]
    # the record keeps medians to 4 decimals and the ratio to 2, both from the unrounded medians
    ratio = w8["step_cpu_seconds_median"] / w4["step_cpu_seconds_median"]
    assert w8["ratio_to_first"] == pytest.approx(ratio, abs=0.011)
    minutes = w8["step_cpu_seconds_median"] * rep["recipe_steps"] / 60
    assert abs(w8["recipe_train_cpu_minutes_lower_bound"] - minutes) <= 0.1
    assert rep["recipe_steps"] == 20 * 50
    assert bench.main(["--widths", "0", "--out", str(out)]) == 2


def test_docs_cross_check_rows_are_the_recorded_measures(load_benchmark):
    """The model-vs-data cross-check rows in docs/attacks.md come from the committed synth_vs_real records."""
    paths = sorted((ROOT / "benchmarks" / "results").glob("synth_vs_real_*_model_on_*.json"))
    if not paths:
        pytest.skip("no benchmarks/results/synth_vs_real_*_model_on_*.json")
    bench = load_benchmark("realism_factors")
    lines = bench.cross_lines([json.loads(p.read_text()) for p in paths])
    doc = (ROOT / "docs" / "attacks.md").read_text().splitlines()
    assert len(lines) == 2 + len(paths)
    for row in lines:
        assert row in doc, f"row missing from docs/attacks.md: {row}"


def test_larger_sample_rows_and_fisher_test(load_benchmark):
    """The larger-sample check of the no-jitter arm: docs rows are the committed records', and the
    test statistic is Fisher's exact on the two on-target counts (6/60 vs 15/60: p = 0.053)."""
    bench = load_benchmark("realism_factors")

    def rec(checkpoint: str, data: str, targeted: str, flipped: str) -> dict:
        return {
            "checkpoint": checkpoint,
            "data": data,
            "rows": [{"eps": 0.01, "targeted_count": targeted, "flipped_count": flipped}],
        }

    lines = bench.larger_n_lines(
        [
            rec("models/demo/attacked.pt", "d/today/xview", "6/60", "48/60"),
            rec("r/runs/w8_nojitter/model.pt", "d/nojitter/xview", "15/60", "47/60"),
        ]
    )
    assert (
        lines[2]
        == "| w8_today (models/demo/attacked.pt) | today | 0.01 | 10.0 % (6/60) [4.7, 20.1] | 80.0 % (48/60) [68.2, 88.2] |"
    )
    assert lines[3].startswith("| w8_nojitter | nojitter | 0.01 | 25.0 % (15/60) [15.8, 37.2]")
    assert lines[4] == "Fisher's exact test of the on-target counts, two-sided: p = 0.053"
    paths = [ROOT / "benchmarks" / "results" / f"basic_sweep_n200_{arm}.json" for arm in ("today", "nojitter")]
    if not all(p.is_file() for p in paths):
        pytest.skip("no benchmarks/results/basic_sweep_n200_*.json")
    doc = (ROOT / "docs" / "attacks.md").read_text().splitlines()
    for row in bench.larger_n_lines([json.loads(p.read_text()) for p in paths]):
        assert row in doc, f"row missing from docs/attacks.md: {row}"


def test_table_cli_prints_the_three_docs_tables(load_benchmark, capsys):
    """`realism_factors.py --table` renders every committed record it is given, of all three kinds,
    and what it prints is what docs/attacks.md shows."""
    results = ROOT / "benchmarks" / "results"
    files = [
        *sorted(results.glob("realism_factors*.json")),
        *sorted(results.glob("synth_vs_real_*_model_on_*.json")),
        *(results / f"basic_sweep_n200_{arm}.json" for arm in ("today", "nojitter")),
    ]
    if not all(p.is_file() for p in files):
        pytest.skip("not every realism record is committed")
    bench = load_benchmark("realism_factors")
    assert bench.main(["--table", *map(str, files)]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line]
    assert sum(line.startswith("|---") for line in printed) == 3
    doc = (ROOT / "docs" / "attacks.md").read_text().splitlines()
    for line in printed:
        assert line in doc, f"--table line missing from docs/attacks.md: {line}"
    with pytest.raises(ValueError, match="no data/SET/xview"):
        bench._set_of("/somewhere/val")
