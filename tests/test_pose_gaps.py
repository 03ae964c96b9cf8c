"""Gap filling: interior gaps interpolate, edge gaps hold, long gaps stay, every fill is marked."""

from __future__ import annotations

import numpy as np
import pytest

from pose_extract.gaps import fill_gaps, runs


def test_runs():
    assert runs(np.array([0, 1, 1, 0, 1], dtype=bool)) == [(1, 3), (4, 5)]
    assert runs(np.zeros(3, dtype=bool)) == []


def test_interior_gap_is_interpolated_and_marked():
    values = np.arange(10, dtype=float)[:, None, None] * np.ones((1, 2, 3))
    detected = np.ones(10, dtype=bool)
    detected[3:6] = False
    corrupted = values.copy()
    corrupted[3:6] = 0.0
    out, filled = fill_gaps(corrupted, detected, max_gap=3)
    np.testing.assert_allclose(out, values)
    assert filled.tolist() == [False] * 3 + [True] * 3 + [False] * 4


def test_edge_gaps_hold_the_nearest_detection():
    values = np.array([0.0, 0.0, 5.0, 6.0, 0.0])
    detected = np.array([False, False, True, True, False])
    out, filled = fill_gaps(values, detected, max_gap=2)
    assert out.tolist() == [5.0, 5.0, 5.0, 6.0, 6.0]
    assert filled.tolist() == [True, True, False, False, True]


def test_long_gaps_stay_unfilled():
    values = np.array([1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 3.0])
    detected = np.array([True, False, False, False, True, False, True])
    out, filled = fill_gaps(values, detected, max_gap=2)
    assert out.tolist() == [1.0, 0.0, 0.0, 0.0, 2.0, 2.5, 3.0]
    assert filled.tolist() == [False, False, False, False, False, True, False]
    out0, filled0 = fill_gaps(values, detected, max_gap=0)
    assert not filled0.any() and out0.tolist() == values.tolist()


def test_nothing_detected_and_bad_arguments():
    out, filled = fill_gaps(np.zeros(4), np.zeros(4, dtype=bool), max_gap=10)
    assert not filled.any()
    with pytest.raises(ValueError, match="does not match"):
        fill_gaps(np.zeros(4), np.zeros(3, dtype=bool), 1)
    with pytest.raises(ValueError, match="max_gap"):
        fill_gaps(np.zeros(4), np.ones(4, dtype=bool), -1)
