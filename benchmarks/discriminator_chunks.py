"""The GAN discriminator on the CPU: one call over every frame against chunks of frames.

CIASA scores every non-padded frame of a batch, fake and real, in each iteration (the
demo's batch of 32 clips x 64 frames: 4,096 bone-cosine maps; NTU size, 8 clips x 300
frames x 2 bodies: 9,600). ``BoneCosineDiscriminator`` splits CPU batches into chunks of
``CPU_CHUNK`` frames. This times the two ways in the same run, on the same maps, as the
attack uses them: the forward pass plus the backward pass to the maps (the attack's
step) and to the weights (the discriminator's own step), and checks that the scores
are equal.

Run: ``python benchmarks/discriminator_chunks.py [--repeats 5]`` ->
``benchmarks/results/discriminator_chunks.json``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.attacks import discriminator as dmod  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.skeleton import NTU_RGBD  # noqa: E402

SIZES = {"demo batch (32 x 64 frames, fake + real)": 4096, "NTU size (8 x 300 x 2 frames, fake + real)": 9600}


def step_seconds(disc: dmod.BoneCosineDiscriminator, maps: torch.Tensor, chunked: bool) -> float:
    """One attack iteration's discriminator work: forward, backward to the maps, backward to the weights."""
    score = disc if chunked else disc._score
    start = time.perf_counter()
    s = score(maps)
    s.square().sum().backward(inputs=[maps])
    s = score(maps)
    s.square().sum().backward(inputs=list(disc.parameters()))
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "discriminator_chunks.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    disc = dmod.BoneCosineDiscriminator(len(NTU_RGBD.major_bones))
    b = len(NTU_RGBD.major_bones)
    rows = []
    for name, frames in SIZES.items():
        maps = torch.randn(frames, 1, b, b, requires_grad=True)
        equal = bool(torch.equal(disc(maps), disc._score(maps)))
        one, chunks = [], []
        step_seconds(disc, maps, True)  # warm-up
        for _ in range(args.repeats):  # interleaved, so that load drifts hit both alike
            one.append(step_seconds(disc, maps, False))
            chunks.append(step_seconds(disc, maps, True))
        row = {
            "setting": name,
            "maps": frames,
            "chunk": dmod.CPU_CHUNK,
            "scores_equal": equal,
            "one_call_s": statistics.median(one),
            "chunked_s": statistics.median(chunks),
            "speedup": statistics.median(one) / statistics.median(chunks),
            "raw": {"one_call": one, "chunked": chunks},
        }
        rows.append(row)
        print(
            f"{name}: one call {row['one_call_s']:.3f} s, chunks of {dmod.CPU_CHUNK} {row['chunked_s']:.3f} s "
            f"-> {row['speedup']:.2f}x, scores equal: {equal}"
        )
    atomic_write_json(
        args.out,
        {
            "benchmark": "discriminator_chunks",
            "command": "python benchmarks/discriminator_chunks.py " + " ".join(sys.argv[1:]),
            "threads": args.threads,
            "torch": torch.__version__,
            "machine": platform.machine(),
            "rows": rows,
        },
    )
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
