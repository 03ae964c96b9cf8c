"""Raw NTU .skeleton reader: files written here in the official text format."""

from __future__ import annotations

import numpy as np
import pytest

from ciasa.data.ntu_raw import SkeletonFileError, read_ntu_skeleton


def _body_lines(body_id: str, joints: np.ndarray) -> list[str]:
    lines = [f"{body_id} 0 1 1 1 1 0 0.01 -0.02 2", "25"]
    for x, y, z in joints:
        lines.append(f"{x:.6f} {y:.6f} {z:.6f} 250.1 200.2 960.3 540.4 0.1 0.2 0.3 0.9 2")
    return lines


def write_skeleton(path, frames: list[list[tuple[str, np.ndarray]]]) -> None:
    """``frames[t]`` is a list of (body_id, (25, 3) joints)."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, joints in bodies:
            lines += _body_lines(body_id, joints)
    path.write_text("\n".join(lines) + "\n")


def _pose(offset: float, t: int, amplitude: float) -> np.ndarray:
    base = np.linspace(0, 1, 75).reshape(25, 3) * 0.1
    return (base + [offset, 0.0, 3.0] + amplitude * np.sin(0.7 * t)).astype(np.float32)


def test_single_body_and_zero_body_frames(tmp_path):
    f = tmp_path / "S001C001P001R001A001.skeleton"
    frames = [[("72057594037931101", _pose(0, t, 0.1))] for t in range(5)]
    frames[2] = []  # Kinect lost everybody in frame 3
    write_skeleton(f, frames)
    x = read_ntu_skeleton(f, max_body=2)
    assert x.shape == (3, 5, 25, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, :, 0], _pose(0, 0, 0.1).T, atol=1e-6)
    assert not x[:, 2].any(), "a zero-body frame must stay zero"
    assert not x[..., 1].any(), "the absent second body must stay zero"


def test_more_bodies_than_slots_keeps_most_active_in_appearance_order(tmp_path):
    f = tmp_path / "S001C001P001R001A050.skeleton"
    still, actor_a, actor_b = "111", "222", "333"
    frames = []
    for t in range(8):
        bodies = [(still, _pose(-1.0, t, 0.0))]  # a static false detection, seen first
        bodies.append((actor_b, _pose(1.0, t, 0.3)))  # order inside frames differs from ...
        bodies.append((actor_a, _pose(0.0, t, 0.2)))
        if t % 2:
            bodies.reverse()  # ... frame to frame: identity comes from bodyID, not order
        frames.append(bodies)
    write_skeleton(f, frames)
    x = read_ntu_skeleton(f, max_body=2)
    # the still body is dropped; actor_b appeared before actor_a in frame 1 -> slot 0
    np.testing.assert_allclose(x[:, 3, :, 0], _pose(1.0, 3, 0.3).T, atol=1e-6)
    np.testing.assert_allclose(x[:, 3, :, 1], _pose(0.0, 3, 0.2).T, atol=1e-6)
    one = read_ntu_skeleton(f, max_body=1)
    np.testing.assert_allclose(one[:, 5, :, 0], _pose(1.0, 5, 0.3).T, atol=1e-6)


def test_body_tracked_part_time_leaves_zeros(tmp_path):
    f = tmp_path / "a.skeleton"
    frames = [[("1", _pose(0.5, t, 0.2))] + ([("2", _pose(1, t, 0.2))] if t >= 2 else []) for t in range(4)]
    write_skeleton(f, frames)
    x = read_ntu_skeleton(f)
    assert x[..., 0].all() and not x[:, :2, :, 1].any() and x[:, 2:, :, 1].all()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda L: L[:40], "file ends at line 40 while expecting joint"),
        (lambda L: ["x"] + L[1:], r"line 1: expected the frame count \(an integer\)"),
        (lambda L: L[:3] + ["24"] + L[4:], r"line 4: body 1 in frame 1 has 24 joints"),
        (lambda L: L[:5] + ["1 2 nan 4 5 6 7 8 9 10 11 12"] + L[6:], "line 6: joint 2: non-finite"),
        (lambda L: L[:5] + ["1 2 abc 4 5 6 7 8 9 10 11 12"] + L[6:], "line 6: joint 2: coordinates are not numbers"),
        (lambda L: L[:5] + ["1 2 3"] + L[6:], "line 6: joint line has 3 values"),
        (lambda L: L[:2] + ["123 0 1"] + L[3:], "line 3: body info line of frame 1 has 3 values"),
        (lambda L: ["3"] + L[1:], "file ends at line .* frame 3"),
        (lambda L: L + ["0", "junk"], "unexpected content after the 2 declared frames"),
    ],
)
def test_corrupt_files_name_file_and_line(tmp_path, edit, message):
    good = tmp_path / "good.skeleton"
    write_skeleton(good, [[("1", _pose(0, t, 0.1))] for t in range(2)])
    bad = tmp_path / "S001C001P001R001A001.skeleton"
    bad.write_text("\n".join(edit(good.read_text().splitlines())) + "\n")
    with pytest.raises(SkeletonFileError, match=f"S001C001P001R001A001.skeleton.*{message}"):
        read_ntu_skeleton(bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.skeleton: skeleton file not found"):
        read_ntu_skeleton(tmp_path / "nope.skeleton")
