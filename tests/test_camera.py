import json

import numpy as np
import pytest

from ciasa.camera import Camera


def test_projection_follows_kinect_axes():
    cam = Camera.from_fov(480, 360, hfov_deg=70.0)
    assert cam.fx == pytest.approx(342.8, abs=0.1)
    # x to the sensor's left appears on the image's left; y up appears higher (smaller v).
    uv = cam.project(np.array([[0.0, 0.0, 3.0], [0.5, 0.0, 3.0], [0.0, 0.5, 3.0]]))
    assert uv[0] == pytest.approx([240.0, 180.0])
    assert uv[1, 0] < 240.0 and uv[2, 1] < 180.0
    assert np.isnan(cam.project(np.array([0.0, 0.0, -1.0]))).all()


def test_ray_inverts_projection():
    cam = Camera.from_fov(320, 240, 60.0)
    p = np.array([[0.3, -0.2, 2.5], [-0.7, 0.4, 4.0]])
    rays = cam.ray(cam.project(p))
    assert rays * p[:, 2:3] == pytest.approx(p)


def test_json_round_trip_and_errors(tmp_path):
    cam = Camera.from_fov(320, 240, 70.0, fps=30.0)
    path = tmp_path / "clip.camera.json"
    cam.save(path)
    assert Camera.load(path) == cam
    bad = json.loads(path.read_text())
    del bad["fx"]
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="clip.camera.json"):
        Camera.load(path)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        Camera.load(tmp_path / "missing.json")


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    from ciasa.io import atomic_write_json

    path = tmp_path / "out.json"
    atomic_write_json(path, {"a": 1})
    mode = stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
