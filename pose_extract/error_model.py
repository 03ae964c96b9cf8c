"""The round trip's error model: what render -> pose extraction adds to a skeleton.

A transfer-aware attack (``ciasa.attacks.roundtrip``) needs to know how the video loop
distorts a skeleton, so that it can push a perturbation that survives it. The error of
one recovered clip, ``e[t, v] = recovered[t, v] - true[t, v]`` (metres, skeleton space),
is split into a per-frame *global* part (the mean over joints: mostly where the root
lands, i.e. the depth that a single view can only guess) and per-joint *residuals*
(``e - global``: how the pose itself is misread). Each part is summarised by its mean
(bias), its 3x3 covariance and the lag-1 autocorrelation of each axis over frames, so a
reader can draw errors as AR(1) processes with the right spread and smoothness.

The format is the contract of ``docs/CONTRACTS.md`` ("Round-trip error model"). Only
aggregate statistics go into the file, never a clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.fit_record import require_fit_record
from ciasa.skeleton import NTU_RGBD

ERROR_MODEL_FORMAT = "ciasa-roundtrip-error/1"
MIN_FRAMES = 10  # fewer valid frames than this cannot give a covariance worth the name


@dataclass
class ErrorPair:
    """One clip's recovered and true joints, (T, V, 3) each, frames aligned, and the
    frames where both exist."""

    name: str
    recovered: np.ndarray
    truth: np.ndarray
    valid: np.ndarray

    def __post_init__(self) -> None:
        if self.recovered.shape != self.truth.shape or self.recovered.ndim != 3 or self.recovered.shape[-1] != 3:
            raise ValueError(
                f"{self.name}: recovered {self.recovered.shape} and true {self.truth.shape} joints must both be (T, V, 3)"
            )
        if self.valid.shape != self.recovered.shape[:1]:
            raise ValueError(
                f"{self.name}: valid mask {self.valid.shape} does not match {self.recovered.shape[0]} frames"
            )


@dataclass
class _Moments:
    """Running sums for mean, covariance and lag-1 autocorrelation of a (T, K, 3) series."""

    k: int
    n: int = 0
    s1: np.ndarray = field(init=False)
    s2: np.ndarray = field(init=False)
    segments: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.s1 = np.zeros((self.k, 3))
        self.s2 = np.zeros((self.k, 3, 3))

    def add(self, x: np.ndarray, valid: np.ndarray) -> None:
        v = x[valid]
        self.n += len(v)
        self.s1 += v.sum(axis=0)
        self.s2 += np.einsum("tki,tkj->kij", v, v)
        for a, b in _runs(valid):  # autocorrelation only over consecutive valid frames
            if b - a >= 2:
                self.segments.append(x[a:b])

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean = self.s1 / self.n
        cov = self.s2 / self.n - np.einsum("ki,kj->kij", mean, mean)
        cov = np.stack([_nearest_psd(c) for c in cov])
        num = np.zeros((self.k, 3))
        den = np.zeros((self.k, 3))
        for seg in self.segments:
            d = seg - mean
            num += (d[1:] * d[:-1]).sum(axis=0)
            den += 0.5 * ((d[1:] ** 2).sum(axis=0) + (d[:-1] ** 2).sum(axis=0))
        ar1 = np.clip(num / np.maximum(den, 1e-18), -0.999, 0.999)
        return mean, cov, ar1


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    idx = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(idx[::2], idx[1::2]))


def _nearest_psd(c: np.ndarray) -> np.ndarray:
    """Symmetric, with eigenvalues >= 0 (rounding can leave a sample covariance slightly
    indefinite; readers reject one that is not positive semi-definite)."""
    c = 0.5 * (c + c.T)
    w, v = np.linalg.eigh(c)
    return (v * np.clip(w, 0.0, None)) @ v.T


def fit_error_model(sources: dict[str, Sequence[ErrorPair]], options: dict, layout_name: str = NTU_RGBD.name) -> dict:
    """The error model (a JSON-ready dict, format :data:`ERROR_MODEL_FORMAT`) of pairs grouped
    by source (e.g. ``{'synthetic-train': [...], 'real_motion': [...]}``). Every source's
    frames count alike (frame-weighted pooling)."""
    pairs = [p for group in sources.values() for p in group]
    if not pairs:
        raise BadInput("no clips to fit the error model on")
    num_joints = pairs[0].truth.shape[1]
    if num_joints != len(NTU_RGBD.joint_names) and layout_name == NTU_RGBD.name:
        raise BadInput(
            f"{pairs[0].name}: {num_joints} joints, the {layout_name} layout has {len(NTU_RGBD.joint_names)}"
        )
    glob, joints = _Moments(1), _Moments(num_joints)
    counts = {}
    for name, group in sources.items():
        frames = 0
        for p in group:
            if p.truth.shape[1] != num_joints:
                raise BadInput(f"{p.name}: {p.truth.shape[1]} joints, expected {num_joints}")
            err = p.recovered.astype(np.float64) - p.truth.astype(np.float64)
            g = err.mean(axis=1, keepdims=True)  # (T, 1, 3)
            glob.add(g, p.valid)
            joints.add(err - g, p.valid)
            frames += int(p.valid.sum())
        counts[name] = frames
    if glob.n < MIN_FRAMES:
        raise BadInput(f"only {glob.n} valid frames: need at least {MIN_FRAMES} to fit an error model")
    gb, gc, ga = glob.stats()
    jb, jc, ja = joints.stats()
    model = {
        "format": ERROR_MODEL_FORMAT,
        "layout": layout_name,
        "num_joints": num_joints,
        "units": "m",
        "axes": "Kinect camera space: x to the sensor's left, y up, z away",
        "global": {"bias": _r(gb[0]), "cov": _r(gc[0]), "ar1": _r(ga[0])},
        "joints": {"bias": _r(jb), "cov": _r(jc), "ar1": _r(ja)},
        "n_frames": int(glob.n),
        "n_clips": len(pairs),
        "sources": [{"name": k, "frames": v, "clips": len(sources[k])} for k, v in counts.items()],
        "options": options,
        # what it saw (ciasa.fit_record); callers that know the benchmark split name it instead
        "fit_samples": [p.name for p in pairs],
        "fit_split": " + ".join(sources),
    }
    check_error_model(model)
    return model


def _r(a: np.ndarray) -> list:
    return np.round(np.asarray(a, dtype=np.float64), 7).tolist()


def check_error_model(model: dict, where: str = "error model") -> None:
    """Raise ``ValueError`` naming ``where`` unless ``model`` keeps the contract."""
    require_fit_record(model, where)
    if model.get("format") != ERROR_MODEL_FORMAT:
        raise BadInput(f"{where}: format {model.get('format')!r}, expected {ERROR_MODEL_FORMAT!r}")
    v = int(model.get("num_joints", -1))
    shapes = {
        ("global", "bias"): (3,),
        ("global", "cov"): (3, 3),
        ("global", "ar1"): (3,),
        ("joints", "bias"): (v, 3),
        ("joints", "cov"): (v, 3, 3),
        ("joints", "ar1"): (v, 3),
    }
    for (part, key), shape in shapes.items():
        a = np.asarray(model[part][key], dtype=np.float64)
        if a.shape != shape:
            raise BadInput(f"{where}: {part}.{key} has shape {a.shape}, expected {shape}")
        if not np.all(np.isfinite(a)):
            raise BadInput(f"{where}: {part}.{key} holds non-finite values")
        if key == "cov":
            c = a.reshape(-1, 3, 3)
            if not np.allclose(c, np.swapaxes(c, 1, 2), atol=1e-9) or np.linalg.eigvalsh(c).min() < -1e-9:
                raise BadInput(f"{where}: {part}.cov is not symmetric positive semi-definite")
        if key == "ar1" and np.abs(a).max() >= 1:
            raise BadInput(f"{where}: {part}.ar1 must lie in (-1, 1)")


def sample_errors(model: dict, frames: int, rng: np.random.Generator) -> np.ndarray:
    """One draw (T, V, 3) of the round trip's error, ``global_t + joints_t[v]``, each an AR(1)
    process as the contract defines it. Used by the tests to check that a fitted model
    reproduces the statistics it was fitted on; the attack has its own reader."""

    def ar1(bias: np.ndarray, cov: np.ndarray, r: np.ndarray) -> np.ndarray:
        k = bias.shape[0]
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(3))
        out = np.empty((frames, k, 3))
        z = np.einsum("kij,kj->ki", chol, rng.standard_normal((k, 3)))
        out[0] = bias + z  # the stationary distribution
        for t in range(1, frames):
            z = np.einsum("kij,kj->ki", chol, rng.standard_normal((k, 3)))
            out[t] = bias + r * (out[t - 1] - bias) + np.sqrt(1 - r**2) * z
        return out

    g = model["global"]
    j = model["joints"]
    glob = ar1(np.asarray(g["bias"])[None], np.asarray(g["cov"])[None], np.asarray(g["ar1"])[None])
    res = ar1(np.asarray(j["bias"]), np.asarray(j["cov"]), np.asarray(j["ar1"]))
    return glob + res


def pairs_from_dir(folder: Path) -> tuple[list[ErrorPair], dict]:
    """The (recovered, true) pairs of a folder of rendered and extracted clips, and the
    extraction options they share (``CLIP.json``'s ``options`` plus the image size).

    Per clip: ``CLIP.src.npy`` (the rendered skeleton, (3, T, V, M); body 0 is compared,
    over the frames the video kept: the renderer trims trailing padding only) and
    ``CLIP.npy`` + ``CLIP.json`` from ``python -m pose_extract``. A clip without its
    extraction, of another shape or extracted with other options is bad input.
    """
    import json

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a directory")
    sources = sorted(folder.glob("*.src.npy"))
    if not sources:
        raise BadInput(f"{folder}: no CLIP.src.npy (rendered skeleton) in it")
    pairs, options = [], None
    for src in sources:
        name = src.name[: -len(".src.npy")]
        rec_path, info_path = folder / f"{name}.npy", folder / f"{name}.json"
        for path in (rec_path, info_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing (extract {name}'s video with python -m pose_extract)")
        truth, rec = np.load(src), np.load(rec_path)
        if (
            truth.ndim != 4
            or truth.shape[0] != 3
            or rec.ndim != 4
            or rec.shape[0] != 3
            or rec.shape[2] != truth.shape[2]
        ):
            raise BadInput(f"{src}: shape {truth.shape} and {rec_path.name} {rec.shape} are not both (3, T, V, M)")
        frames = rec.shape[1]
        if truth.shape[1] < frames:
            raise BadInput(f"{src}: {truth.shape[1]} frames, fewer than the {frames} extracted in {rec_path.name}")
        info = json.loads(info_path.read_text())
        found = {**info.get("options", {}), "resolution": "x".join(str(v) for v in info.get("size", []))}
        if options is None:
            options = found
        elif found != options:
            raise BadInput(f"{info_path}: extracted with other options than the other clips of {folder}")
        t = np.transpose(truth[:, :frames, :, 0], (1, 2, 0))
        r = np.transpose(rec[:, :, :, 0], (1, 2, 0))
        valid = (np.abs(t).sum(axis=(1, 2)) > 0) & (np.abs(r).sum(axis=(1, 2)) > 0)
        pairs.append(ErrorPair(name, r, t, valid))
    return pairs, options
