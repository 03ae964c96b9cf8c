"""The Kinetics-like 2-D variant: OpenPose-18 layout, feeder normalisation, scores, misses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ciasa.camera import Camera
from ciasa.data.kinetics_synth import IMAGE_SIZE, convert_dir, main, ntu_to_openpose_3d, project_to_kinetics
from ciasa.data.stgcn import load_split, save_split
from ciasa.skeleton import NTU_RGBD, OPENPOSE_18

_STAND = {  # a person 3 m in front of the sensor, facing it (Kinect space: x to the sensor's left)
    "spine_base": (0, 0),
    "spine_mid": (0, 0.25),
    "spine_shoulder": (0, 0.5),
    "neck": (0, 0.58),
    "head": (0, 0.7),
    "left_shoulder": (-0.2, 0.48),
    "left_elbow": (-0.3, 0.25),
    "left_wrist": (-0.32, 0.02),
    "left_hand": (-0.32, -0.05),
    "left_hand_tip": (-0.32, -0.12),
    "left_thumb": (-0.28, -0.04),
    "right_shoulder": (0.2, 0.48),
    "right_elbow": (0.3, 0.25),
    "right_wrist": (0.32, 0.02),
    "right_hand": (0.32, -0.05),
    "right_hand_tip": (0.32, -0.12),
    "right_thumb": (0.28, -0.04),
    "left_hip": (-0.1, -0.05),
    "left_knee": (-0.1, -0.5),
    "left_ankle": (-0.1, -0.9),
    "left_foot": (-0.1, -0.95),
    "right_hip": (0.1, -0.05),
    "right_knee": (0.1, -0.5),
    "right_ankle": (0.1, -0.9),
    "right_foot": (0.1, -0.95),
}


def standing_clips(n: int = 3, t: int = 20, valid: int = 15, m: int = 2, turn: float = 0.0) -> np.ndarray:
    """(n, 3, t, 25, m) NTU clips: one swaying person, body 2 absent, frames >= valid padded."""
    pose = np.zeros((25, 3))
    for name, (x, y) in _STAND.items():
        pose[NTU_RGBD.index(name)] = (x, y, 0.0)
    c, s = np.cos(turn), np.sin(turn)
    pose = pose @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]).T
    out = np.zeros((n, 3, t, 25, m), dtype=np.float32)
    for i in range(n):
        for f in range(valid):
            shift = np.array([0.05 * np.sin(0.3 * f + i), 0.0, 3.0 + 0.1 * i])
            out[i, :, f, :, 0] = (pose + shift).T
    return out


def test_face_points_in_front_of_the_head():
    clip = standing_clips(1, t=1, valid=1, m=1)
    pts = np.moveaxis(clip[0, :, 0, :, 0], 0, -1)  # (25, 3)
    op, face = ntu_to_openpose_3d(pts)
    forward = face[0]
    assert np.allclose(forward, [0, 0, -1], atol=1e-6)  # looks at the sensor
    head = pts[NTU_RGBD.index("head")]
    assert op[OPENPOSE_18.index("nose"), 2] < head[2]  # nose closer to the camera than the head centre
    assert op[OPENPOSE_18.index("left_eye"), 0] < op[OPENPOSE_18.index("right_eye"), 0]  # left eye at -x
    assert np.allclose(op[OPENPOSE_18.index("neck")], pts[NTU_RGBD.index("spine_shoulder")])
    assert np.allclose(op[OPENPOSE_18.index("left_knee")], pts[NTU_RGBD.index("left_knee")])


def test_feeder_normalisation_scores_and_padding():
    clips = standing_clips(n=4, t=20, valid=15, m=2)
    out = project_to_kinetics(clips, missing_rate=0.05, noise_px=0.0, seed=3)
    assert out.shape == (4, 3, 20, 18, 2) and out.dtype == np.float32
    assert np.count_nonzero(out[:, :, 15:]) == 0  # padded frames stay zero
    assert np.count_nonzero(out[..., 1]) == 0  # the absent body stays zero
    x, y, s = out[:, 0, :15, :, 0], out[:, 1, :15, :, 0], out[:, 2, :15, :, 0]
    assert np.all((x >= -0.5) & (x <= 0.5) & (y >= -0.5) & (y <= 0.5))
    assert np.all((s >= 0) & (s <= 1))
    missing = s == 0
    assert 0 < missing.mean() < 0.2  # occasional misses
    assert np.all(x[missing] == 0) and np.all(y[missing] == 0)  # feeder zeroes undetected joints
    assert np.all(s[~missing] >= 0.1)
    # exact projection (no pixel noise): x = u/W - 0.5, y = v/H - 0.5
    cam = Camera.from_fov(*IMAGE_SIZE, hfov_deg=60.0)
    pts = np.moveaxis(clips[0, :, 0, :, 0], 0, -1)
    uv = cam.project(ntu_to_openpose_3d(pts)[0])
    ok = out[0, 2, 0, :, 0] > 0
    assert np.allclose(out[0, 0, 0, ok, 0], uv[ok, 0] / cam.width - 0.5, atol=1e-5)
    assert np.allclose(out[0, 1, 0, ok, 0], uv[ok, 1] / cam.height - 0.5, atol=1e-5)
    # image axes, y down: the head is above the ankles; the person's right side is on the image's left
    nose, ankle = OPENPOSE_18.index("nose"), OPENPOSE_18.index("right_ankle")
    assert np.all(y[:, :, nose][s[:, :, nose] > 0] < -0.1)
    assert np.all(y[:, :, ankle][s[:, :, ankle] > 0] > 0.1)
    rs, ls = OPENPOSE_18.index("right_shoulder"), OPENPOSE_18.index("left_shoulder")
    both = (s[:, :, rs] > 0) & (s[:, :, ls] > 0)
    assert np.all(x[:, :, rs][both] < x[:, :, ls][both])


def test_scores_drop_for_a_face_turned_away():
    front = project_to_kinetics(standing_clips(2, t=10, valid=10, m=1), missing_rate=0.0, seed=0)
    back = project_to_kinetics(standing_clips(2, t=10, valid=10, m=1, turn=np.pi), missing_rate=0.0, seed=0)
    eyes = [OPENPOSE_18.index("left_eye"), OPENPOSE_18.index("right_eye"), OPENPOSE_18.index("nose")]
    assert front[:, 2][:, :, eyes].mean() > 0.6
    assert back[:, 2][:, :, eyes].mean() < 0.15
    neck = OPENPOSE_18.index("neck")
    assert back[:, 2, :, neck].mean() > 0.7  # the body itself is still seen


def test_bodies_sorted_by_score():
    clips = standing_clips(n=1, t=6, valid=6, m=2)
    clips[:, :, :, :, 1] = clips[:, :, :, :, 0]
    clips[:, :, :3, :, 0] = 0  # body 0 present only in the last three frames
    out = project_to_kinetics(clips, missing_rate=0.0, seed=0)
    assert np.all(out[0, 2, :, :, 0].sum(-1) >= out[0, 2, :, :, 1].sum(-1))
    assert np.count_nonzero(out[0, :, :3, :, 1]) == 0


def test_convert_dir_and_cli(tmp_path):
    src, dst = tmp_path / "ntu", tmp_path / "kin"
    names = [f"S001C001P001R001A{a:03d}" for a in (1, 2, 3)]
    save_split(src, "train", standing_clips(3), names, [0, 1, 2], ["a", "b", "c"], layout=NTU_RGBD)
    save_split(src, "val", standing_clips(3), names, [2, 1, 0], ["a", "b", "c"], layout=NTU_RGBD)
    assert main(["--from", str(src), "--out", str(dst), "--seed", "1"]) == 0
    val = load_split(dst, "val", layout=OPENPOSE_18)
    assert val.shape == (3, 3, 20, 18, 2)
    assert val.names == names and val.labels.tolist() == [2, 1, 0] and val.class_names == ["a", "b", "c"]
    meta = json.loads((dst / "meta.json").read_text())
    assert meta["layout"] == "openpose" and set(meta["splits"]) == {"train", "val"}
    assert 0.8 < meta["splits"]["val"]["detected_fraction"] <= 1.0
    again = convert_dir(src, tmp_path / "kin2", seed=1)
    assert again["splits"] == meta["splits"]  # deterministic for a seed
    assert np.array_equal(np.load(dst / "val_data.npy"), np.load(tmp_path / "kin2" / "val_data.npy"))
    with pytest.raises(FileNotFoundError, match="no '\\*_data.npy'"):
        convert_dir(tmp_path / "empty", tmp_path / "x")
    assert main(["--from", str(tmp_path / "missing"), "--out", str(tmp_path / "y")]) == 2


def test_same_tensors_as_the_real_json_reader(tmp_path):
    """Written back as a Kinetics-skeleton json (pixels / image size), the real reader reproduces the clip."""
    from ciasa.data.kinetics import read_kinetics_json

    clip = project_to_kinetics(standing_clips(1, t=8, valid=8, m=1), missing_rate=0.1, seed=5)[0]  # (3, T, 18, 1)
    frames = []
    for t in range(clip.shape[1]):
        x, y, s = clip[0, t, :, 0], clip[1, t, :, 0], clip[2, t, :, 0]
        pose = np.stack([np.where(s > 0, x + 0.5, 0.0), np.where(s > 0, y + 0.5, 0.0)], axis=1).reshape(-1)
        frames.append({"frame_index": t + 1, "skeleton": [{"pose": pose.tolist(), "score": s.tolist()}]})
    path = tmp_path / "clip.json"
    path.write_text(json.dumps({"data": frames, "label": "wave", "label_index": 3}))
    read, label = read_kinetics_json(path, max_frames=8, num_person_out=1)
    assert label == 3
    assert np.allclose(read, clip, atol=1e-6)
