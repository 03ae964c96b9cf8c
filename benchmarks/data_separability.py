"""Are the synthetic classes learnable, and do they survive re-extraction-like noise?

Generates the default synthetic set (seed 0) and trains a deliberately simple
classifier, a two-layer temporal 1-D CNN on pelvis-centred joints (not ST-GCN, so the
number speaks for the data, not the model), for 150 epochs on each benchmark's train
split. Reports validation top-1 on clean clips and on clips with smoothed Gaussian
noise of 5 cm in x/y and 10 cm in depth (the size of MediaPipe's errors on renders),
plus the most confused class pairs, overall and separately for the 14 gross-motion
classes and the 16 fine-grained hand-to-head/torso ones (``ciasa.data.synth.motions``).
The baseline is chance (1 / classes).

Prints the numbers and writes ``benchmarks/results/data_separability.json``.
Run: ``python benchmarks/data_separability.py``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.data.stgcn import load_split  # noqa: E402
from ciasa.data.synth import SynthConfig, write_dataset  # noqa: E402
from ciasa.data.synth.motions import FINE_ACTIONS  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402


def _prep(data: np.ndarray) -> torch.Tensor:
    x = np.asarray(data)[..., 0]  # (N, C, T, V), first body
    n, c, t, v = x.shape
    x = x - x[:, :, :, :1].mean(axis=2, keepdims=True)  # centre on the mean pelvis position
    return torch.tensor(x.transpose(0, 1, 3, 2).reshape(n, c * v, t), dtype=torch.float32)


def reextraction_noise(data: np.ndarray, rng: np.random.Generator, sxy: float = 0.05, sz: float = 0.10) -> np.ndarray:
    x = np.array(data, dtype=np.float32)
    noise = rng.normal(size=x.shape) * np.array([sxy, sxy, sz])[None, :, None, None, None]
    kernel = np.ones(5) / 5.0  # errors of a video pose estimator are correlated over frames
    noise = np.apply_along_axis(lambda a: np.convolve(a, kernel, "same"), 2, noise) * np.sqrt(5.0)
    return (x + noise).astype(np.float32)


def run(bench_dir: Path, num_classes: int, fine_labels: set[int], seed: int = 0) -> dict:
    torch.manual_seed(seed)
    train, val = load_split(bench_dir, "train"), load_split(bench_dir, "val")
    xtr, ytr = _prep(train.data), torch.tensor(train.labels)
    xva, yva = _prep(val.data), torch.tensor(val.labels)
    xvn = _prep(reextraction_noise(val.data, np.random.default_rng(seed)))
    net = torch.nn.Sequential(
        torch.nn.Conv1d(xtr.shape[1], 64, 5, padding=2),
        torch.nn.ReLU(),
        torch.nn.Conv1d(64, 64, 5, padding=2, stride=2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool1d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(64, num_classes),
    )
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    t0 = time.perf_counter()
    for _ in range(150):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 32):
            idx = perm[i : i + 32]
            xb = xtr[idx] + 0.03 * torch.randn_like(xtr[idx])
            loss = torch.nn.functional.cross_entropy(net(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        pred, pred_noisy = net(xva).argmax(1), net(xvn).argmax(1)
    confused = Counter(
        (train.class_names[int(a)], val.class_names[int(b)]) for a, b in zip(yva, pred_noisy) if a != b
    ).most_common(8)
    confused_clean = Counter(
        (train.class_names[int(a)], val.class_names[int(b)]) for a, b in zip(yva, pred) if a != b
    ).most_common(5)
    fine = torch.tensor([i in fine_labels for i in yva.tolist()])
    groups = {}
    for group, mask in (("gross", ~fine), ("fine", fine)):
        if mask.any():
            groups[group] = {
                "val": int(mask.sum()),
                "top1_clean": round(float((pred[mask] == yva[mask]).float().mean()), 4),
                "top1_noisy": round(float((pred_noisy[mask] == yva[mask]).float().mean()), 4),
            }
    return {
        "train": len(train),
        "val": len(val),
        "val_top1_clean": round(float((pred == yva).float().mean()), 4),
        "val_top1_noisy_5cm_xy_10cm_z": round(float((pred_noisy == yva).float().mean()), 4),
        "chance": round(1.0 / num_classes, 4),
        "by_group": groups,
        "most_confused_clean": [[a, b, n] for (a, b), n in confused_clean],
        "most_confused_noisy": [[a, b, n] for (a, b), n in confused],
        "train_seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        meta = write_dataset(Path(tmp), SynthConfig(), progress=False)
        k = len(meta["classes"])
        fine_ids = {f"A{a.ntu_id:03d}" for a in FINE_ACTIONS}
        fine_labels = {c["label"] for c in meta["classes"] if c["ntu_action"] in fine_ids}
        result = {
            "benchmark": "data_separability",
            "command": "python benchmarks/data_separability.py",
            "dataset": {
                "seed": 0,
                "format": meta["format"],
                "actions": meta["actions"],
                "clips": meta["samples"],
                "classes": k,
                "fine_classes": len(fine_labels),
                "frames": meta["frames"],
            },
            "classifier": "2-layer temporal 1-D CNN (64 channels) on pelvis-centred joints, Adam 1e-3, 150 epochs",
            "xsub": run(Path(tmp) / "xsub", k, fine_labels),
            "xview": run(Path(tmp) / "xview", k, fine_labels),
        }
    print(json.dumps(result, indent=2))
    out = REPO / "benchmarks" / "results" / "data_separability.json"
    atomic_write_json(out, result)


if __name__ == "__main__":
    main()
