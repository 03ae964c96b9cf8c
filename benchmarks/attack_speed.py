"""Cost of one CIASA iteration (all constraints) against one plain forward+backward.

Target (issue 12): one 'perturbation' iteration at most 1.3x a plain forward+backward at
NTU size; both formulations are timed, each against plain passes interleaved with it.

The baseline is what any gradient attack must pay per step: the model's forward and
backward pass for the input gradient on the same batch (model in eval mode, weights
frozen). A CIASA iteration adds the smoothness loss, the bone-cosine maps of every
non-padded frame through the discriminator (fake and as many real frames), the
discriminator's own Adam step, the variable's Adam step, clipping and SSR (in the
'perturbation' formulation SSR is in the graph: its backward pass is part of the step).

Two settings:
- ``ntu``: official-width ST-GCN (base_channels 64, 60 classes), T=300, M=2, batch 8,
  random weights, every frame and both bodies present (the discriminator's worst case);
- ``demo``: the narrow demo model (``--demo-checkpoint``, else base_channels 16, 14
  classes, random weights), T=64, M=1, batch 12.

Prints the numbers and writes ``benchmarks/results/attack_speed.json`` (or ``--out``).
Run: ``python benchmarks/attack_speed.py [--device auto] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from timing import sync, timed  # noqa: E402  (benchmarks/timing.py, beside this script)

from ciasa.attacks import CIASA, constraints, losses  # noqa: E402
from ciasa.attacks.base import frozen  # noqa: E402
from ciasa.attacks.discriminator import BoneCosineDiscriminator  # noqa: E402
from ciasa.device import resolve_device  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.models import STGCN, load_model  # noqa: E402
from ciasa.skeleton import NTU_RGBD  # noqa: E402


def synthetic_clips(frames: int, bodies: int, count: int, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Real-looking clips from the embedded synthetic set, tiled to ``frames`` frames; body 2 = body 1 moved 1 m."""
    if data_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="attack_speed_"))
        subprocess.run(
            [sys.executable, "-m", "ciasa.data.synth", "--out", str(tmp), "--quiet", "--subjects", "1-4"],
            check=True,
            cwd=REPO,
        )
        data_dir = tmp / "xsub"
    from ciasa.data.stgcn import load_split

    split = load_split(data_dir, "val" if (data_dir / "val_data.npy").exists() else "train", mmap=False)
    base = np.asarray(split.data[:count], dtype=np.float32)[..., :1]  # (N, 3, T0, 25, 1)
    reps = -(-frames // base.shape[2])
    clip = np.concatenate([base] * reps, axis=2)[:, :, :frames]
    if bodies > 1:
        other = clip.copy()
        other[:, 0] += 1.0
        clip = np.concatenate([clip] + [other] * (bodies - 1), axis=4)
    labels = np.asarray(split.labels[:count]) % 14
    return clip, labels


def bench(
    name: str,
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    device: torch.device,
    repeats: int,
    real: np.ndarray,
    optimize: str = "perturbation",
) -> dict:
    model = model.to(device)
    x, y = x.to(device), y.to(device)
    with frozen(model):

        def plain() -> None:
            adv = x.clone().requires_grad_(True)
            loss = F.cross_entropy(model(adv), y, reduction="sum")
            loss.backward(inputs=[adv])

        base = timed(plain, repeats, device)

        # Components on their own (same batch), to show where a CIASA step's extra time goes.
        clean = x
        frames = constraints.frame_mask(clean)
        movable = constraints.movable_mask(clean, torch.ones(25, dtype=torch.bool), torch.ones(3, dtype=torch.bool))
        noisy = clean + 0.01 * torch.randn_like(clean) * frames
        t_project = timed(lambda: constraints.project(noisy, clean, 0.01, movable, NTU_RGBD), repeats, device)

        def ssr_grad() -> None:
            delta = torch.zeros_like(clean).requires_grad_(True)
            out = constraints.ssr_differentiable(noisy + delta, clean, NTU_RGBD, movable)
            out.sum().backward(inputs=[delta])

        t_ssr_grad = timed(ssr_grad, repeats, device)
        disc = BoneCosineDiscriminator(len(NTU_RGBD.major_bones)).to(device)
        sel = frames.squeeze(3).squeeze(1)

        def gan_part() -> None:
            adv = noisy.clone().requires_grad_(True)
            fake = losses.bone_cosine_map(adv, NTU_RGBD)[sel]
            scores = disc(torch.cat([fake, fake.detach()]).unsqueeze(1))
            loss = losses.lsgan_generator_loss(scores[: len(fake)]).mean() + losses.smoothness_loss(adv, frames).sum()
            loss.backward(inputs=[adv], retain_graph=True)
            losses.lsgan_discriminator_loss(scores[len(fake) :], scores[: len(fake)]).backward(
                inputs=list(disc.parameters())
            )

        t_gan = timed(gan_part, repeats, device)

    # The timed CIASA steps alternate with plain passes (run from the progress hook, outside
    # the step timer), so both see the same machine load; the ratio is taken pair by pair.
    interleaved: list[float] = []

    def plain_between(_iteration: int) -> None:
        sync(device)
        t = time.perf_counter()
        with frozen(model):
            plain()
        sync(device)
        interleaved.append(time.perf_counter() - t)

    attack = CIASA(
        model,
        mode="basic",
        eps=0.01,
        max_iter=repeats + 1,
        real_source=real,
        device=str(device),
        progress=plain_between,
        optimize=optimize,
    )
    result = attack(x.cpu(), y.cpu())
    steps = result.extra["step_seconds"][1:]  # the first step pays warm-up costs
    pairs = [s / b for s, b in zip(steps, interleaved[1:])]
    n = x.shape[0]
    row = {
        "setting": name,
        "formulation": optimize,
        "device": str(device),
        "input_shape": list(x.shape),
        "frames_seen_by_discriminator": int(sel.sum()),
        "plain_fwd_bwd_s": statistics.median(base + interleaved[1:]),
        "ciasa_iteration_s": statistics.median(steps),
        "ratio": statistics.median(pairs),
        "ratio_pairs": pairs,
        "components_s": {
            "clip+ssr": statistics.median(t_project),
            "differentiable ssr fwd+bwd": statistics.median(t_ssr_grad),
            "smooth+cosine+discriminator": statistics.median(t_gan),
        },
        "plain_samples_per_s": n / statistics.median(base + interleaved[1:]),
        "ciasa_sample_iterations_per_s": n / statistics.median(steps),
        "raw": {"plain": base, "plain_interleaved": interleaved, "ciasa_steps": result.extra["step_seconds"]},
    }
    print(
        f"[{name}, {optimize} on {device}] input {tuple(x.shape)}: plain fwd+bwd {row['plain_fwd_bwd_s']:.3f} s, "
        f"CIASA iteration {row['ciasa_iteration_s']:.3f} s, ratio {row['ratio']:.2f}x (median of pairs); "
        f"clip+SSR {row['components_s']['clip+ssr']:.3f} s, smooth+cosine+D "
        f"{row['components_s']['smooth+cosine+discriminator']:.3f} s; "
        f"{row['ciasa_sample_iterations_per_s']:.2f} sample-iterations/s"
    )
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--settings", default="ntu,demo")
    p.add_argument("--formulations", default="perturbation,skeleton", help="CIASA formulations to time")
    p.add_argument("--demo-checkpoint", default=None)
    p.add_argument("--data", type=Path, default=None, help="ST-GCN layout dir for input clips (default: synth)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "attack_speed.json")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    rows = []
    settings = args.settings.split(",")
    if "ntu" in settings:
        clips, labels = synthetic_clips(300, 2, 8, args.data)
        model = STGCN(3, 60, {"layout": "ntu-rgb+d", "strategy": "spatial"}, base_channels=64)
        for optimize in args.formulations.split(","):
            rows.append(
                bench(
                    "ntu (official width, T=300, M=2, batch 8)",
                    model,
                    torch.from_numpy(clips),
                    torch.as_tensor(labels),
                    device,
                    args.repeats,
                    clips,
                    optimize,
                )
            )
    if "demo" in settings:
        clips, labels = synthetic_clips(64, 1, 12, args.data)
        if args.demo_checkpoint:
            model, _ = load_model(args.demo_checkpoint, device=str(device))
            labels = labels % model.num_class
        else:
            model = STGCN(3, 14, {"layout": "ntu-rgb+d", "strategy": "spatial"}, base_channels=16)
        for optimize in args.formulations.split(","):
            rows.append(
                bench(
                    "demo (narrow model, T=64, M=1, batch 12)",
                    model,
                    torch.from_numpy(clips),
                    torch.as_tensor(labels),
                    device,
                    args.repeats,
                    clips,
                    optimize,
                )
            )
    record = {
        "benchmark": "attack_speed",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
        "rows": rows,
    }
    atomic_write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
