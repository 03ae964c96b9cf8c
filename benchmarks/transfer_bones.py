"""How much of a transferred perturbation reaches the bone stream: joint moves against bone-vector changes.

Table III's bone stream (Bs-AGCN) reads bone vectors, the source ST-GCN joints. This reads
the perturbed clips a transfer unit of ``python -m ciasa.experiments all`` (or
``experiments transfer``) wrote, with their clean originals, and measures over every
non-padded frame: the mean joint displacement, the mean change of the bone vectors the
bone stream reads (the public 2s-AGCN pairs), their ratio (independent joint moves of
equal size would give about 1.4), and the mean change of bone direction.

Run: ``python benchmarks/transfer_bones.py --adversarial RUN/ntu/table3_basic_perturbation/adversarial
--data DIR/xview`` -> ``benchmarks/results/transfer_bones.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.data.model_fit import take  # noqa: E402
from ciasa.data.stgcn import load_split  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.models.agcn import NTU_BONE_PAIRS_1BASED  # noqa: E402


def bone_vectors(x: np.ndarray) -> np.ndarray:
    """``(N, C, T, B, M)``: child minus parent for every public NTU pair but the zero one."""
    child = np.array([i - 1 for i, j in NTU_BONE_PAIRS_1BASED if i != j])
    parent = np.array([j - 1 for i, j in NTU_BONE_PAIRS_1BASED if i != j])
    return x[:, :, :, child] - x[:, :, :, parent]


def measure(clean: np.ndarray, adv: np.ndarray) -> dict[str, float]:
    valid = np.abs(clean).sum(axis=(1, 3, 4)) > 0  # (N, T) non-padded frames
    joint = np.linalg.norm(adv - clean, axis=1)[valid]  # (frames, V, M)
    bc, ba = bone_vectors(clean), bone_vectors(adv)
    bone = np.linalg.norm(ba - bc, axis=1)[valid]
    cos = (bc * ba).sum(1) / (np.linalg.norm(bc, axis=1) * np.linalg.norm(ba, axis=1) + 1e-9)
    turn = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))[valid]
    return {
        "joint_displacement_mm": float(1000 * joint.mean()),
        "bone_vector_change_mm": float(1000 * bone.mean()),
        "ratio": float(bone.mean() / joint.mean()),
        "bone_direction_change_deg": float(turn.mean()),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--adversarial", type=Path, required=True, help="a transfer unit's adversarial/ folder")
    p.add_argument("--data", type=Path, required=True, help="the clean data set the clips came from")
    p.add_argument("--split", default="val")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "transfer_bones.json")
    args = p.parse_args()
    adv = load_split(args.adversarial, args.split)
    clean_set = load_split(args.data, args.split)
    index = {n: i for i, n in enumerate(clean_set.names)}
    clean = take(clean_set.data, [index[n] for n in adv.names])
    result = {
        "benchmark": "transfer_bones",
        "adversarial": str(args.adversarial),
        "data": str(args.data),
        "clips": len(adv.names),
        **measure(np.asarray(clean), np.asarray(adv.data)),
    }
    atomic_write_json(args.out, result)
    print(
        f"{result['clips']} clips: joints move {result['joint_displacement_mm']:.1f} mm, bone vectors change "
        f"{result['bone_vector_change_mm']:.1f} mm ({result['ratio']:.2f}x), turn {result['bone_direction_change_deg']:.1f} deg "
        f"-> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
