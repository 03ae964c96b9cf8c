"""benchmarks/transfer_bones.py: the joint-vs-bone measurement docs/transfer.md quotes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import transfer_bones  # noqa: E402


def _clip(seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(0, 0.3, size=(2, 3, 6, 25, 1)).astype(np.float64)
    x[1, :, 4:] = 0  # padded frames are left out
    return x


def test_a_rigid_shift_moves_joints_but_no_bone():
    clean = _clip()
    adv = clean.copy()
    adv[0, 0] += 0.01
    adv[1, 0, :4] += 0.01
    m = transfer_bones.measure(clean, adv)
    assert m["joint_displacement_mm"] == pytest.approx(10.0)
    assert m["bone_vector_change_mm"] == pytest.approx(0.0, abs=1e-9) and m["ratio"] == pytest.approx(0.0, abs=1e-9)


def test_one_joint_moved_changes_its_bones_only():
    clean = _clip()
    adv = clean.copy()
    knee = 13  # NTU joint 14 (0-based 13): in two public bone pairs, (14, 13) and (15, 14)
    adv[:, 1, :, knee] += 0.02
    adv[1, :, 4:] = 0
    m = transfer_bones.measure(clean, adv)
    assert m["joint_displacement_mm"] == pytest.approx(20.0 / 25)  # one joint of 25 moved 20 mm
    assert m["bone_vector_change_mm"] == pytest.approx(20.0 * 2 / 24)  # two of the 24 bones changed by 20 mm
    assert m["ratio"] == pytest.approx((2 / 24) / (1 / 25))
    assert 0 < m["bone_direction_change_deg"] < 90
