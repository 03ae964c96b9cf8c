"""The report builder on a small hand-made results tree, and the page in headless Chromium.

Three clips with known outcomes: A survives everything, B's perturbed render failed
(recorded by the guard), C's perturbed render is classified as the attack's target. The
matched control is classified right everywhere, so the attributable drop is what the
attack's direction costs.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from ciasa.data.stgcn import save_split
from ciasa.io import atomic_write_json
from ciasa.video import encode_h264
from pipeline.guard import write_failure
from pipeline.paths import Paths
from pipeline.select import write_clip_list
from report.build import ReportOptions, build_report

CLIPS = ["S001C001P001R001A001", "S001C001P002R001A006", "S001C001P003R001A027"]
LABELS = [0, 1, 2]
TARGETS = [2, 0, 1]
CLASSES = ["drink water", "pickup", "jump up"]
# (domain, condition) -> predictions of A, B, C (None: not classified)
PREDS = {
    ("skeleton", "clean"): [0, 1, 2],
    ("skeleton", "perturbed"): [2, 0, 2],
    ("rgb", "clean"): [0, 1, 2],
    ("rgb", "perturbed"): [0, None, 1],
    ("skeleton", "control"): [0, 1, 2],
    ("rgb", "control"): [0, 1, 2],
}
PLAUSIBILITY = {
    "clean": {"hyperextended_leg_frames": 0.0, "foot_under_floor_frames": 0.0},
    "control": {"hyperextended_leg_frames": 0.01, "foot_under_floor_frames": 0.0},
    "perturbed": {"hyperextended_leg_frames": 0.02, "foot_under_floor_frames": 0.005},
}


def _skeleton(rng, frames=8) -> np.ndarray:
    clip = np.zeros((3, frames, 25, 1), dtype=np.float32)
    clip[0] = rng.normal(0, 0.2, size=(frames, 25, 1))
    clip[1] = rng.normal(0, 0.5, size=(frames, 25, 1))
    clip[2] = 3.0
    return clip


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def make_results(root: Path) -> tuple[Paths, Path, Path]:
    rng = np.random.default_rng(0)
    paths = Paths(str(root))
    data = root / "data"
    save_split(data, "val", np.stack([_skeleton(rng) for _ in CLIPS]), CLIPS, LABELS, class_names=CLASSES)
    clips_file = root / "clips.txt"
    write_clip_list(clips_file, CLIPS)
    frames = [np.full((48, 64, 3), 30 * i, dtype=np.uint8) for i in range(8)]
    _write_csv(
        Path(paths.attack_per_sample()),
        ["name", "label", "target", "clean_pred", "adv_pred", "success_targeted"],
        [
            [
                clip,
                LABELS[i],
                TARGETS[i],
                PREDS["skeleton", "clean"][i],
                PREDS["skeleton", "perturbed"][i],
                int(PREDS["skeleton", "perturbed"][i] == TARGETS[i]),
            ]
            for i, clip in enumerate(CLIPS)
        ],
    )
    atomic_write_json(paths.attack_summary(), {"plausibility": PLAUSIBILITY})
    for clip in CLIPS:
        for condition in ("clean", "control", "perturbed"):
            Path(paths.skeleton(clip, condition)).parent.mkdir(parents=True, exist_ok=True)
            np.save(paths.skeleton(clip, condition), _skeleton(rng))
            if clip == CLIPS[1] and condition == "perturbed":
                write_failure(
                    Path(paths.render_info(clip, condition)),
                    [],
                    "render",
                    "Blender crashed",
                    1,
                    [],
                    1.0,
                    (64, 48),
                    70.0,
                    30.0,
                )
                write_failure(
                    Path(paths.pose_info(clip, condition)),
                    [Path(paths.pose(clip, condition))],
                    "pose",
                    "no person",
                    1,
                    [],
                    1.0,
                    (64, 48),
                    70.0,
                    30.0,
                )
            else:
                atomic_write_json(
                    paths.render_info(clip, condition),
                    {"frames_rendered": 8, "warnings": [], "seconds": {"total_s": 2.0}},
                )
                atomic_write_json(
                    paths.pose_info(clip, condition),
                    {
                        "frames": 8,
                        "detected": 7,
                        "detection_rate": 0.875,
                        "flagged": True,
                        "reason": "detection rate 87.5% below 90%",
                    },
                )
                np.save(paths.pose(clip, condition), _skeleton(rng))
            encode_h264(frames, paths.media(clip, condition), fps=10)
    for (domain, condition), preds in PREDS.items():
        excluded = [{"name": c, "reason": "render failed: Blender crashed"} for c, p in zip(CLIPS, preds) if p is None]
        atomic_write_json(
            Path(paths.set_dir(domain, condition)) / "collect.json",
            {"included": sum(p is not None for p in preds), "excluded": excluded},
        )
        _write_csv(
            Path(paths.predictions("attacked", domain, condition)),
            ["name", "label", "pred", "confidence", "top5", "label_name", "pred_name"],
            [
                [c, LABELS[i], p, 0.9, str(p), CLASSES[LABELS[i]], CLASSES[p]]
                for i, (c, p) in enumerate(zip(CLIPS, preds))
                if p is not None
            ],
        )
    bench = Path(paths.benchmarks_dir()) / "render_video" / CLIPS[0] / "clean.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "12.5\t0:00:12\t800.1\t900\t700\t710\t0\t1\t90\t11.0\n"
    )
    return paths, data, clips_file


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    paths, data, clips_file = make_results(root)
    summary = build_report(ReportOptions(root=str(root), clips_file=str(clips_file), data_dir=str(data), n_boot=200))
    return root, summary


def test_headline_numbers_by_hand(built):
    _, summary = built
    h = summary["headline"]
    assert h["n_clips"] == 3 and h["n_rgb_pairs"] == 2
    assert h["skeleton_clean_accuracy"]["value"] == pytest.approx(1.0)
    assert h["skeleton_attacked_accuracy"]["value"] == pytest.approx(1 / 3)
    assert (h["skeleton_flipped"]["k"], h["skeleton_flipped"]["n"]) == (2, 3)  # A and B flipped, C kept
    assert (h["skeleton_targeted"]["k"], h["skeleton_targeted"]["n"]) == (2, 3)
    assert h["rgb_clean_accuracy"]["value"] == pytest.approx(1.0)
    assert h["rgb_perturbed_accuracy"]["value"] == pytest.approx(0.5)
    assert h["rgb_drop"]["value"] == pytest.approx(0.5)
    assert h["rgb_perturbed_target_rate"]["value"] == pytest.approx(0.5)
    assert h["rgb_clean_retention"]["value"] == pytest.approx(1.0) and h["rgb_clean_retention"]["n"] == 2
    assert h["rgb_perturbed_accuracy_all"]["value"] == pytest.approx(1 / 3)  # the failed clip counted wrong
    assert h["renders_failed"] == {"clean": 0, "control": 0, "perturbed": 1}
    assert h["detection_rate"] == {c: pytest.approx(0.875) for c in ("clean", "control", "perturbed")}
    assert CLIPS[1] in h["rgb_excluded"]
    assert h["attack_disagreements"] == []


def test_attributable_drop_by_hand(built):
    """Control right on every clip; under attack A and B wrong on skeletons, C wrong on its render."""
    _, summary = built
    h = summary["headline"]
    assert h["conditions"] == ["clean", "control", "perturbed"]
    assert (h["skeleton_control_accuracy"]["k"], h["skeleton_control_accuracy"]["n"]) == (3, 3)
    assert (
        h["skeleton_attributable_drop"]["value"] == pytest.approx(2 / 3) and h["skeleton_attributable_drop"]["n"] == 3
    )
    # McNemar on skeletons: 2 clips right on the control only, 0 under attack only -> p = 2 * 0.5**2
    assert h["skeleton_attributable_discordant"] == {"control_only": 2, "perturbed_only": 0}
    assert h["skeleton_attributable_drop_p"] == pytest.approx(0.5)
    # RGB: B's perturbed render failed, so the pairs are A and C: control 2/2, perturbed 1/2
    assert h["n_rgb_control_pairs"] == 2
    assert (h["rgb_control_accuracy"]["k"], h["rgb_control_accuracy"]["n"]) == (2, 2)
    assert set(h["rgb_control_accuracy"]) == {"value", "low", "high", "n", "k"}
    assert h["rgb_perturbed_accuracy_control_pairs"]["value"] == pytest.approx(0.5)
    assert h["rgb_attributable_drop"]["value"] == pytest.approx(0.5) and h["rgb_attributable_drop"]["n"] == 2
    assert h["rgb_attributable_drop"]["low"] is not None and h["rgb_attributable_drop"]["high"] <= 1.0
    assert h["rgb_attributable_drop_p"] == pytest.approx(1.0)  # one discordant clip: p = 2 * 0.5
    assert h["rgb_control_drop"]["value"] == pytest.approx(0.0) and h["rgb_control_drop"]["n"] == 3
    assert h["renders_failed"] == {"clean": 0, "control": 0, "perturbed": 1}
    assert summary["models"]["attacked"]["rgb/attributable_drop"]["value"] == pytest.approx(0.5)


def test_report_leads_with_the_attributable_drop_and_shows_plausibility(built):
    root, summary = built
    page = (root / "report" / "index.html").read_text()
    headline = page[page.index('id="headline"') :]
    first_row = headline[: headline.index("</table>")].split("<tr")[2]  # [1] is the header
    assert "attributable drop: control renders - perturbed renders" in first_row and "p = 1.000" in first_row
    assert 'id="plausibility"' in page and "hyperextended_leg_frames" in page
    assert summary["plausibility"]["foot_under_floor_frames"] == {"clean": 0.0, "control": 0.0, "perturbed": 0.005}
    assert 'id="recovery"' in page
    assert set(summary["pose_recovery"]) == {"clean", "control", "perturbed"}
    assert "survival" not in summary["pose_recovery"]["clean"]
    rec = summary["clips"][0]["recovery"]["conditions"]
    assert rec["control"]["pa_mpjpe_mm"] is not None and "survival" in rec["perturbed"]
    # B's perturbed render failed: no recovery numbers for it
    assert summary["clips"][1]["recovery"]["conditions"]["perturbed"]["pa_mpjpe_mm"] is None
    md = (root / "report" / "summary.md").read_text()
    assert md.index("attributable drop: control renders") < md.index("clean accuracy (attacked model")
    assert "| RGB | accuracy on control renders (same clips) | 100.0 % (2/2)" in md
    assert all((root / "report" / "media" / c / "control.mp4").is_file() for c in CLIPS)
    assert ".pair.three{grid-template-columns:repeat(3" in page and page.count('data-condition="control"') == 3


def test_a_run_without_control_has_empty_control_numbers(tmp_path):
    paths, data, clips_file = make_results(tmp_path)
    summary = build_report(
        ReportOptions(
            root=str(tmp_path),
            clips_file=str(clips_file),
            data_dir=str(data),
            n_boot=50,
            conditions=("clean", "perturbed"),
        )
    )
    h = summary["headline"]
    assert h["conditions"] == ["clean", "perturbed"]
    assert h["rgb_attributable_drop"] == {"value": None, "low": None, "high": None, "n": 0, "k": 0}
    assert h["rgb_attributable_drop_p"] is None
    assert any("no control condition" in n["text"] for n in summary["notes"])
    page = (tmp_path / "report" / "index.html").read_text()
    assert "attributable drop" not in page and 'data-condition="control"' not in page
    assert set(summary["pose_recovery"]) == {"clean", "perturbed"}


def test_failures_and_low_accuracy_are_reported_not_dropped(built):
    root, summary = built
    texts = " ".join(n["text"] for n in summary["notes"])
    assert "1 of 3 clips are left out" in texts and CLIPS[1] in texts
    page = (root / "report" / "index.html").read_text()
    assert "render failed: Blender crashed" in page
    assert page.count("<tr data-clip=") == 3
    md = (root / "report" / "summary.md").read_text()
    assert "| RGB | drop: clean renders - perturbed renders (paired) | 50.0 % (n = 2)" in md
    assert (
        "| skeleton | flipped: right on the clean skeleton, wrong under attack (of the 3 clean-correct clips) "
        "| 66.7 % (2/3)" in md
    )
    assert (root / "report" / "headline.csv").read_text().startswith("domain,measure,value,count")
    assert summary["timings"][0]["rule"] == "render_video" and summary["timings"][0]["total_s"] == 12.5
    assert all((root / "report" / "media" / c / "clean.mp4").is_file() for c in CLIPS)
    assert all((root / "report" / "figures" / f"{c}.png").is_file() for c in CLIPS)


def test_low_clean_render_accuracy_raises_an_alert(tmp_path):
    paths, data, clips_file = make_results(tmp_path)
    # make every clean render misclassified
    path = Path(paths.predictions("attacked", "rgb", "clean"))
    rows = list(csv.DictReader(path.open()))
    for r in rows:
        r["pred"] = str((int(r["label"]) + 1) % 3)
    _write_csv(path, list(rows[0]), [list(r.values()) for r in rows])
    summary = build_report(ReportOptions(root=str(tmp_path), clips_file=str(clips_file), data_dir=str(data), n_boot=50))
    alerts = [n["text"] for n in summary["notes"] if n["level"] == "alert"]
    assert alerts and "below 75 %" in alerts[0]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs the Debian package chromium")
def test_page_loads_in_headless_chromium(built, artifacts_dir):
    from report.check import check_page, screenshot

    root, _ = built
    page = root / "report" / "index.html"
    check = check_page(page)
    assert check.ok, check.errors
    assert check.video_tags == 9 and check.videos_loaded == 9
    assert check.headline_rows >= 12 and check.per_clip_rows == 3
    shot = screenshot(page, artifacts_dir / "report_unit_page.png")
    assert shot.stat().st_size > 10_000


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs the Debian package chromium")
def test_check_notices_a_missing_video(built, tmp_path):
    from report.check import check_page

    root, _ = built
    copy = tmp_path / "report"
    shutil.copytree(root / "report", copy)
    (copy / "media" / CLIPS[0] / "perturbed.mp4").unlink()
    check = check_page(copy / "index.html", budget_ms=5000)
    assert not check.ok
    assert check.videos_loaded == 8 and check.videos_error == 1


def test_conditions_without_clean_or_perturbed_are_bad_input(tmp_path, capsys):
    from report.__main__ import main

    argv = [
        "--root",
        str(tmp_path),
        "--clips",
        str(tmp_path / "clips.txt"),
        "--data",
        str(tmp_path / "data"),
        "--conditions",
        "clean",
        "control",
    ]
    assert main(argv) == 2
    assert "--conditions must include clean and perturbed (missing: perturbed)" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()
