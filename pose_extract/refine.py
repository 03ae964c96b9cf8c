"""A learned correction of the lifted pose, fitted on renders of *training* clips.

Lifting (:mod:`pose_extract.lifting`) takes each joint's image position from MediaPipe's
2-D landmarks, which are good, and its depth from MediaPipe's 3-D pose, which is the
weak part: with the depth of every joint right the same pipeline is ~30 mm from the
source skeleton after Procrustes alignment (all 25 joints), with MediaPipe's depth
~80 mm. The depth errors are not noise; they repeat with the pose and the view (the far
arm at +-45 degrees, hidden behind the torso, gets a guessed depth; a forward knee bend
is missed; the derived hand joints follow MediaPipe's small hand landmarks), so a
regression from what the lifting sees to what it gets wrong removes much of them (on
the benchmark's validation clips of all 30 synthetic classes: 76 -> 40 mm;
docs/pose_extract.md).

The refiner is a small multilayer perceptron (two hidden ReLU layers of 256; trained
with torch, evaluated here in numpy) or, as the simple baseline, ridge regression (no
hidden layer): features of a frame (the 33 lifted landmarks relative to the hip
midpoint, on their rays and as MediaPipe's 3-D pose has them, and their visibility;
metres, camera axes) to a 3-D correction of each of the 25 joints relative to the
spine base (so the root, and with it the camera-space placement, is left alone). It is fitted on pairs of (lifted render of a training clip, that
clip's source skeleton), never on the clips it is evaluated on
(``benchmarks/pose_accuracy.py --fit-refiner``). Being learned from renders, it knows
this renderer's bodies and the synthetic set's motions, and it is off by default: on
renders of real motion capture it makes the pose worse (docs/pose_extract.md). Use it
(``--refiner default``) for renders of the synthetic set, or refit it for other footage.

Its features are one pose estimator's landmarks (the packaged refiner: MediaPipe's 33);
a refiner file names that estimator in its ``meta`` (``estimator``; none recorded means
MediaPipe's), and extraction with another estimator refuses it as bad input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ciasa.cli import BadInput
from ciasa.fit_record import require_fit_record
from ciasa.io import atomic_path
from pose_extract.estimator import DEFAULT_ESTIMATOR, LandmarkLayout, PoseEstimator, resolve_layout
from pose_extract.landmarks import NUM_LANDMARKS

REFINER_FORMAT = "pose-extract-refiner/1"
DEFAULT_REFINER_PATH = Path(__file__).resolve().parent / "models" / "refiner_default.npz"
FEATURES_PER_LANDMARK = 3 + 2 + 1  # position on the ray, the 3-D pose's x and y, visibility
NUM_FEATURES = FEATURES_PER_LANDMARK * NUM_LANDMARKS  # on MediaPipe's 33 landmarks
NUM_OUTPUTS = 25 * 3


def features(
    on_rays: np.ndarray, pose: np.ndarray, visibility: np.ndarray, layout: LandmarkLayout | None = None
) -> np.ndarray:
    """Per-frame features (T, 6 L): :data:`NUM_FEATURES` on MediaPipe's landmarks.

    ``on_rays`` (T, L, 3): camera-frame landmarks of ``layout`` (default MediaPipe's) with
    x, y from their pixels' rays; ``pose`` (T, L, 3): the same before that (the estimator's
    3-D pose, placed and sized); ``visibility`` (T, L). Positions are taken relative to the
    hip midpoint on the rays.
    """
    layout = resolve_layout(layout)
    on_rays = np.asarray(on_rays, dtype=np.float64)
    pose = np.asarray(pose, dtype=np.float64)
    visibility = np.asarray(visibility, dtype=np.float64)
    n, size = len(on_rays), layout.size
    if on_rays.shape != (n, size, 3) or pose.shape != (n, size, 3) or visibility.shape != (n, size):
        raise ValueError(
            f"expected (T, {size}, 3), (T, {size}, 3), (T, {size}); got {on_rays.shape}, {pose.shape}, "
            f"{visibility.shape}"
        )
    root = on_rays[:, layout.indices(("left_hip", "right_hip"))].mean(axis=1, keepdims=True)
    return np.concatenate([(on_rays - root).reshape(n, -1), (pose - root)[..., :2].reshape(n, -1), visibility], axis=1)


def targets(joints: np.ndarray, truth: np.ndarray, root: int = 0) -> np.ndarray:
    """What a refiner should add (T, 75) to lifted camera-frame joints (T, 25, 3) to match
    the source ``truth`` (T, 25, 3, camera frame), both relative to their ``root`` joint.

    The truth is first resized to the lifted body's scale (the clip's median ratio of
    root depths), so the correction describes the pose's shape, not the body-size
    prior's error, which no pose feature can know.
    """
    joints = np.asarray(joints, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if joints.shape != truth.shape or joints.shape[1:] != (25, 3):
        raise ValueError(f"expected two (T, 25, 3) arrays, got {joints.shape} and {truth.shape}")
    k = float(np.median(joints[:, root, 2] / truth[:, root, 2]))
    t = k * (truth - truth[:, root : root + 1])
    return (t - (joints - joints[:, root : root + 1])).reshape(len(joints), -1)


@dataclass(frozen=True)
class Refiner:
    mean: np.ndarray  # (F,) feature standardisation
    std: np.ndarray  # (F,)
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weights (in, out), bias (out,)), ReLU between
    meta: dict  # kind, training clips, hyper-parameters, ...

    @property
    def source(self) -> str:
        return str(self.meta.get("source", "refiner"))

    def correction(self, feats: np.ndarray) -> np.ndarray:
        """Joint corrections (T, 25, 3), metres, camera axes, from features (T, F)."""
        h = (np.asarray(feats, dtype=np.float64) - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h.reshape(len(h), 25, 3)

    @property
    def estimator(self) -> str:
        """The pose estimator whose landmarks it was fitted on (files without the record
        predate the estimator interface: MediaPipe's)."""
        return str(self.meta.get("estimator", DEFAULT_ESTIMATOR))

    def check_estimator(self, estimator: PoseEstimator) -> None:
        """A refiner reads one estimator's landmarks; another's is bad input, named."""
        expected = FEATURES_PER_LANDMARK * estimator.layout.size
        if self.estimator != estimator.name or self.mean.shape != (expected,):
            raise BadInput(
                f"refiner {self.source}: fitted on {self.estimator}'s landmarks ({self.mean.shape[0]} "
                f"features), cannot refine estimator {estimator.name!r}'s ({expected}); use --refiner "
                "none or one fitted on that estimator"
            )

    def apply(
        self,
        joints: np.ndarray,
        on_rays: np.ndarray,
        pose: np.ndarray,
        visibility: np.ndarray,
        layout: LandmarkLayout | None = None,
    ) -> np.ndarray:
        """Camera-frame NTU joints (T, 25, 3) corrected (see the module docstring)."""
        return np.asarray(joints, dtype=np.float64) + self.correction(features(on_rays, pose, visibility, layout))

    def save(self, path: str | Path) -> None:
        with atomic_path(path, suffix=".npz") as tmp:
            layers = {f"{k}{i}": a for i, layer in enumerate(self.layers) for k, a in zip("wb", layer)}
            np.savez_compressed(
                tmp,
                mean=self.mean.astype(np.float32),
                std=self.std.astype(np.float32),
                **{k: a.astype(np.float32) for k, a in layers.items()},
                meta=np.array(json.dumps({"format": REFINER_FORMAT, **self.meta})),
            )

    @classmethod
    def load(cls, path: str | Path) -> Refiner:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: refiner file not found")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k].astype(np.float64) if k != "meta" else z[k] for k in z.files}
            meta = json.loads(str(arrays.pop("meta")))
            mean, std = arrays.pop("mean"), arrays.pop("std")
        except (OSError, ValueError, KeyError) as err:
            raise BadInput(f"{path}: not a refiner file ({err})") from None
        if meta.get("format") != REFINER_FORMAT:
            raise BadInput(f"{path}: format is {meta.get('format')!r}, expected {REFINER_FORMAT!r}")
        n = len(arrays) // 2
        layers = tuple((arrays.get(f"w{i}"), arrays.get(f"b{i}")) for i in range(n))
        width = mean.shape[0] if mean.ndim == 1 else -1  # FEATURES_PER_LANDMARK per landmark of its estimator
        ok = n >= 1 and len(arrays) == 2 * n and mean.shape == std.shape == (width,) and _landmark_features(width)
        for w, b in layers:
            ok = (
                ok
                and w is not None
                and b is not None
                and w.ndim == 2
                and w.shape[0] == width
                and b.shape == w.shape[1:]
            )
            width = w.shape[1] if ok else width
        ok = ok and width == NUM_OUTPUTS and all(np.all(np.isfinite(a)) for a in (mean, std, *arrays.values()))
        if not ok:
            shapes = {k: a.shape for k, a in {"mean": mean, "std": std, **arrays}.items()}
            raise BadInput(
                f"{path}: refiner arrays have shapes {shapes}: expected mean/std (F,) with F = "
                f"{FEATURES_PER_LANDMARK} x landmarks ({NUM_FEATURES} for MediaPipe's) and layers w0, b0, "
                f"... chaining F features to {NUM_OUTPUTS} outputs (finite)"
            )
        meta.setdefault("source", str(path))
        return cls(mean, std, layers, meta)


def _landmark_features(width: int) -> bool:
    return width > 0 and width % FEATURES_PER_LANDMARK == 0


def _checked(feats: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(feats, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if x.ndim != 2 or not _landmark_features(x.shape[1]) or y.shape != (len(x), NUM_OUTPUTS) or len(x) < 2:
        raise BadInput(
            f"expected features (N, {FEATURES_PER_LANDMARK} x landmarks: {NUM_FEATURES} for MediaPipe's) "
            f"and targets (N, {NUM_OUTPUTS}), N >= 2; got {x.shape}, {y.shape}"
        )
    return x, y, x.mean(axis=0), x.std(axis=0) + 1e-6


def fit(feats: np.ndarray, target: np.ndarray, alpha: float, meta: dict | None = None) -> Refiner:
    """Ridge regression of ``target`` (N, 75) on standardised ``feats`` (N, F); ``alpha`` is
    the penalty per sample (the normal equations get ``alpha * N`` on the diagonal)."""
    x, y, mean, std = _checked(feats, target)
    if alpha <= 0:
        raise BadInput(f"ridge needs alpha > 0, got {alpha}")
    z = (x - mean) / std
    bias = y.mean(axis=0)
    weights = np.linalg.solve(z.T @ z + alpha * len(z) * np.eye(z.shape[1]), z.T @ (y - bias))
    return Refiner(mean, std, ((weights, bias),), {"kind": "ridge", "alpha": alpha, "samples": len(x), **(meta or {})})


def fit_mlp(
    feats: np.ndarray,
    target: np.ndarray,
    hidden: int = 256,
    epochs: int = 60,
    dropout: float = 0.2,
    weight_decay: float = 1e-3,
    lr: float = 1e-3,
    seed: int = 0,
    meta: dict | None = None,
) -> Refiner:
    """Two hidden ReLU layers trained with AdamW on the mean joint distance (mini-batches of
    128, dropout); deterministic for a given ``seed`` on the CPU."""
    import torch

    x, y, mean, std = _checked(feats, target)
    bias = y.mean(axis=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: more threads only contend (and the result is reproducible)
    try:
        layers = _train(x, y - bias, mean, std, hidden, epochs, dropout, weight_decay, lr, seed)
    finally:
        torch.set_num_threads(threads)
    layers[-1] = (layers[-1][0], layers[-1][1] + bias)
    hyper = {
        "hidden": hidden,
        "epochs": epochs,
        "dropout": dropout,
        "weight_decay": weight_decay,
        "lr": lr,
        "seed": seed,
    }
    return Refiner(mean, std, tuple(layers), {"kind": "mlp", **hyper, "samples": len(x), **(meta or {})})


def _train(x, y, mean, std, hidden, epochs, dropout, weight_decay, lr, seed) -> list[tuple[np.ndarray, np.ndarray]]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt = torch.tensor((x - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(hidden, NUM_OUTPUTS),
    )
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 128):
            b = order[i : i + 128]
            loss = (net(xt[b]) - yt[b]).reshape(-1, 25, 3).norm(dim=-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    return [(m.weight.detach().double().numpy().T.copy(), m.bias.detach().double().numpy().copy()) for m in linear]


def resolve_refiner(spec: str | Path | Refiner | None) -> Refiner | None:
    """'default' -> the packaged refiner; 'none'/None -> no refinement; else a file."""
    if isinstance(spec, Refiner) or spec is None:
        return spec
    if str(spec) == "none":
        return None
    path = DEFAULT_REFINER_PATH if str(spec) == "default" else Path(spec)
    refiner = Refiner.load(path)
    require_fit_record(refiner.meta, str(path))  # it must say which clips it saw (pipeline.fit_check compares them)
    return refiner
