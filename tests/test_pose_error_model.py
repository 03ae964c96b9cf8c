"""The round trip's error model: fitted statistics, the contract's format, the CLI, the shipped file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pose_extract.__main__ import main
from pose_extract.error_model import ErrorPair, check_error_model, fit_error_model, sample_errors

SHIPPED = Path(__file__).resolve().parents[1] / "pose_extract" / "models" / "roundtrip_error.json"
V = 25


def known_model() -> dict:
    """An error model with distinct, known statistics (a depth-heavy global part)."""
    rng = np.random.default_rng(1)
    a = rng.normal(scale=0.01, size=(V, 3, 3))
    return {
        "format": "ciasa-roundtrip-error/1",
        "layout": "ntu-rgb+d",
        "num_joints": V,
        "units": "m",
        "global": {
            "bias": [0.01, -0.02, 0.08],
            "cov": (np.diag([0.02, 0.03, 0.15]) ** 2).tolist(),
            "ar1": [0.9, 0.8, 0.95],
        },
        "joints": {
            "bias": rng.normal(scale=0.01, size=(V, 3)).tolist(),
            "cov": (a @ np.swapaxes(a, 1, 2) + 1e-5 * np.eye(3)).tolist(),
            "ar1": rng.uniform(0.3, 0.8, size=(V, 3)).tolist(),
        },
    }


def pairs_from(model: dict, clips: int, frames: int, seed: int = 0) -> list[ErrorPair]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(clips):
        truth = rng.normal(size=(frames, V, 3))
        err = sample_errors(model, frames, rng)
        valid = np.ones(frames, dtype=bool)
        valid[frames // 2 : frames // 2 + 3] = False  # a gap: neither counted nor bridged by ar1
        out.append(ErrorPair(f"c{i}", truth + err, truth, valid))
    return out


def test_fit_recovers_bias_covariance_and_autocorrelation():
    model = known_model()
    # the joint residuals of the fit are (error - mean over joints): remove that mean from the
    # known joint part, so that the known values are what the fit should find
    jb = np.asarray(model["joints"]["bias"])
    model["joints"]["bias"] = (jb - jb.mean(0)).tolist()
    fitted = fit_error_model({"a": pairs_from(model, 30, 200), "b": pairs_from(model, 10, 200, 1)}, {"x": 1})
    check_error_model(fitted)
    assert fitted["n_frames"] == 40 * 197 and [s["frames"] for s in fitted["sources"]] == [30 * 197, 10 * 197]
    np.testing.assert_allclose(fitted["global"]["bias"], [0.01, -0.02, 0.08], atol=0.02)
    sd = np.sqrt(np.diag(fitted["global"]["cov"]))
    # the global part also holds the mean of the 25 joint residuals (small)
    np.testing.assert_allclose(sd, [0.02, 0.03, 0.15], rtol=0.25, atol=0.004)
    np.testing.assert_allclose(fitted["global"]["ar1"][2], 0.95, atol=0.05)
    np.testing.assert_allclose(fitted["joints"]["bias"], model["joints"]["bias"], atol=0.006)
    np.testing.assert_allclose(fitted["joints"]["ar1"], model["joints"]["ar1"], atol=0.12)
    kc, fc = np.asarray(model["joints"]["cov"]), np.asarray(fitted["joints"]["cov"])
    assert np.abs(np.diagonal(fc, axis1=1, axis2=2) / np.diagonal(kc, axis1=1, axis2=2) - 1).mean() < 0.15


def test_output_is_what_the_attack_reads():
    from ciasa.attacks.roundtrip import parse_error_model

    fitted = fit_error_model({"a": pairs_from(known_model(), 3, 60)}, {"resolution": "320x240"})
    em = parse_error_model(json.loads(json.dumps(fitted)), "ntu-rgb+d", source="fitted")
    assert em.num_joints == V


def test_bad_pairs_are_refused():
    with pytest.raises(ValueError, match="no clips"):
        fit_error_model({}, {})
    with pytest.raises(ValueError, match="must both be"):
        ErrorPair("x", np.zeros((5, V, 3)), np.zeros((6, V, 3)), np.ones(5, dtype=bool))
    few = ErrorPair("few", np.ones((4, V, 3)), np.zeros((4, V, 3)), np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="only 4 valid frames"):
        fit_error_model({"a": [few]}, {})


def write_source(folder: Path, model: dict, clips: int = 3, frames: int = 40, options: dict | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(pairs_from(model, clips, frames, seed=len(str(folder)))):
        np.save(folder / f"c{i}.src.npy", np.transpose(p.truth, (2, 0, 1))[..., None].astype(np.float32))
        np.save(folder / f"c{i}.npy", np.transpose(p.recovered, (2, 0, 1))[..., None].astype(np.float32))
        (folder / f"c{i}.json").write_text(
            json.dumps({"options": options or {"facing": "continuity"}, "size": [320, 240]})
        )


def test_cli_fits_from_folders_and_refuses_bad_ones(tmp_path, capsys):
    model = known_model()
    write_source(tmp_path / "synth", model)
    write_source(tmp_path / "real", model)
    out = tmp_path / "em.json"
    assert (
        main(
            [
                "error-model",
                "--source",
                f"synthetic-train={tmp_path / 'synth'}",
                "--source",
                f"real_motion={tmp_path / 'real'}",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    fitted = json.loads(out.read_text())
    check_error_model(fitted)
    assert [s["name"] for s in fitted["sources"]] == ["synthetic-train", "real_motion"]
    assert fitted["options"] == {"facing": "continuity", "resolution": "320x240"}

    # a clip without its extraction: bad input naming the file, nothing written
    (tmp_path / "real" / "c1.npy").unlink()
    again = tmp_path / "again.json"
    assert main(["error-model", "--source", f"r={tmp_path / 'real'}", "--out", str(again), "--quiet"]) == 2
    assert "c1.npy: missing" in capsys.readouterr().err and not again.exists()
    # sources extracted with different options cannot be pooled
    write_source(tmp_path / "other", model, options={"facing": "off"})
    assert (
        main(
            [
                "error-model",
                "--source",
                f"a={tmp_path / 'synth'}",
                "--source",
                f"b={tmp_path / 'other'}",
                "--out",
                str(again),
                "--quiet",
            ]
        )
        == 2
    )
    assert main(["error-model", "--source", "nameless", "--out", str(again), "--quiet"]) == 2
    assert main(["error-model", "--source", f"x={tmp_path / 'none'}", "--out", str(again), "--quiet"]) == 2
    assert not again.exists()


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no fitted error model shipped yet")
def test_shipped_error_model_keeps_the_contract():
    from ciasa.attacks.roundtrip import load_error_model

    model = json.loads(SHIPPED.read_text())
    check_error_model(model, str(SHIPPED))
    assert {s["name"] for s in model["sources"]} == {"synthetic-train", "real_motion"}
    assert model["options"]["resolution"] == "320x240" and model["n_frames"] > 1000
    assert load_error_model(SHIPPED, "ntu-rgb+d").num_joints == 25
    assert SHIPPED.stat().st_size < 100_000
