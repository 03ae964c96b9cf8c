"""Honest counts: the attack's success is counted over the clips the model got right on clean
skeletons, with numerator and denominator wherever a rate appears (issue 14, item 1)."""

from __future__ import annotations

import pytest

from report.metrics import headline
from report.records import ClipRecord, VideoRecord
from report.stats import Estimate, flipped


def record(
    name: str, label: int, target: int, clean: int, adv: int, rgb_clean: int, rgb_adv: int, reported: int | None = None
) -> ClipRecord:
    rec = ClipRecord(name, label, f"class {label}", target, f"class {target}")
    rec.predictions["attacked"] = {
        "skeleton": {"clean": clean, "perturbed": adv},
        "rgb": {"clean": rgb_clean, "perturbed": rgb_adv},
    }
    rec.videos = {c: VideoRecord(rendered=True, pose_ok=True, detection_rate=1.0) for c in ("clean", "perturbed")}
    if reported is not None:
        rec.attack = {"success_targeted": str(reported)}
    return rec


def test_an_attack_that_changed_nothing_flips_nothing():
    # the demo's case: one of six clips is wrong before the attack and stays wrong; no prediction changes
    recs = [record(f"c{i}", i % 3, (i + 1) % 3, i % 3, i % 3, i % 3, i % 3) for i in range(5)]
    recs.append(record("wrong", 0, 1, 2, 2, 2, 2))
    h = headline(recs, n_boot=0)
    assert h.skeleton_attacked_accuracy.value == pytest.approx(5 / 6)
    # the old "untargeted success" was 1 - 5/6 = 16.7 %; the attack flipped 0 of 5 clean-correct clips
    assert (h.skeleton_flipped.k, h.skeleton_flipped.n, h.skeleton_flipped.value) == (0, 5, 0.0)
    assert (h.skeleton_targeted.k, h.skeleton_targeted.n) == (0, 5)
    assert (h.rgb_flipped.k, h.rgb_flipped.n) == (0, 5)


def test_flipped_and_targeted_count_only_clean_correct_clips():
    recs = [
        record("a", 0, 1, 0, 1, 0, 1),  # right -> target: flipped and targeted
        record("b", 1, 2, 1, 0, 1, 1),  # right -> other wrong class: flipped, not targeted
        record("c", 2, 0, 2, 2, 2, 2),  # right -> right: neither
        record("d", 0, 2, 1, 2, 1, 2),  # wrong before (1), at the target after: counts nowhere
    ]
    h = headline(recs, n_boot=0)
    assert h.skeleton_flipped == Estimate(2 / 3, None, None, 3, 2)
    assert h.skeleton_targeted == Estimate(1 / 3, None, None, 3, 1)
    assert flipped([0, 1, 2, 1], [1, 0, 2, 2], [0, 1, 2, 0]) == (2, 3)
    # RGB: right on the clean render for a, b, c; wrong on the perturbed render for a only
    assert (h.rgb_flipped.k, h.rgb_flipped.n) == (1, 3)


def test_no_clean_correct_clip_gives_undefined_rates_not_100_percent():
    h = headline([record("a", 0, 1, 2, 2, 2, 2), record("b", 1, 0, 2, 2, 2, 2)], n_boot=0)
    assert h.skeleton_flipped.value is None and h.skeleton_flipped.n == 0
    assert h.skeleton_flipped.percent() == "n/a (0/0)"


def test_disagreement_with_the_attacks_own_record_is_listed():
    recs = [record("a", 0, 1, 0, 1, 0, 1, reported=1), record("b", 1, 2, 1, 1, 1, 1, reported=1)]
    assert headline(recs, n_boot=0).attack_disagreements == ["b"]


def test_estimates_show_numerator_and_denominator():
    assert Estimate(0.25, 0.1, 0.5, 8, 2).percent() == "25.0 % (2/8) [10.0, 50.0]"
    assert Estimate(0.1, None, None, 8).percent() == "10.0 % (n = 8)"


def test_page_shows_whole_class_names_escaped_and_counts():
    from report import html

    long_name = "put on headphone <b>over both ears</b>"
    recs = [record("S001C001P001R001A001", 0, 1, 0, 1, 0, 1), record("S001C001P002R001A002", 1, 0, 1, 1, 1, 1)]
    h = headline(recs, n_boot=0)
    page = html.page(html.PageContent("t", [], [], h, {}, recs, [long_name, "wave"]))
    assert html.esc(long_name) in page and "<b>over" not in page and "\u2026" not in page
    assert '<td class="num">1/2</td>' in page  # flipped: one of two clean-correct clips
    assert "of the 2 clean-correct clips" in page
    # both videos of a clip sit in a two-column grid, so a long caption cannot push one down
    assert ".pair{display:grid;grid-template-columns:repeat(2,minmax(0,1fr))" in page


def test_an_untargeted_attack_has_no_target_rates():
    """target -1 (untargeted): the target rows are empty, not 0 %, and the page leaves them out."""
    from report.html import headline_rows

    recs = [record("a", 0, -1, 0, 1, 0, 1), record("b", 1, -1, 1, 1, 1, 0), record("c", 2, -1, 2, 0, 2, 2)]
    h = headline(recs, n_boot=0)
    assert (h.skeleton_flipped.k, h.skeleton_flipped.n) == (2, 3)
    assert h.skeleton_targeted.n == 0 and h.skeleton_targeted.value is None
    assert h.rgb_perturbed_target_rate.n == 0 and h.rgb_clean_target_rate.n == 0
    labels = [label for _, label, _ in headline_rows(h)]
    assert not any("target" in label for label in labels) and any("flipped" in label for label in labels)
    targeted = headline([record("a", 0, 1, 0, 1, 0, 1)], n_boot=0)
    assert any("target" in label for _, label, _ in headline_rows(targeted))


def test_an_untargeted_attack_names_no_target_class():
    from report.html import class_label

    assert str(class_label(-1, ["a", "b"])) == "untargeted"
    assert "b" in str(class_label(1, ["a", "b"]))


def test_every_text_the_template_shows_is_escaped():
    """Autoescape covers the title, run information, notes, clip names and failure messages alike."""
    from report import html

    bad = "<script>alert(1)</script>"
    rec = record("S001C001P001R001A001", 0, 1, 0, 1, 0, 1)
    rec.videos["perturbed"] = VideoRecord(rendered=False, render_error=bad)
    page = html.page(
        html.PageContent(bad, [(bad, bad)], [("warn", bad)], headline([rec], n_boot=0), {}, [rec], [bad, "wave"])
    )
    assert bad not in page and page.count(html.esc(bad)) >= 6
    assert page.count("<script>") == 1  # the page's own
