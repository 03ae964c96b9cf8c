"""Cost of the transfer models against ST-GCN, and of the Kinetics-like conversion.

What a transfer experiment pays per clip is one forward pass of each model (and, for
gradient attacks run directly against them, one input-gradient backward). The
baseline is ST-GCN of the same width measured in the same run; every model gets the
same batch, in eval mode, on one device:

- ``stgcn`` (baseline), ``agcn`` (Js-AGCN), ``agcn_bone`` (Bs-AGCN), ``agcn_2s``
  (both streams), all with ``--base-channels`` (default 16, the demo width), and
  ``pa_lstm`` (50 cells per part, 2 layers, 8 sampled frames: the paper's setting);
- settings ``demo`` (T=64, M=1, batch 16, 14 classes) and ``ntu`` (T=300, M=2,
  batch 4, 60 classes; the official width 64 for the GCNs).

Also times :func:`ciasa.data.kinetics_synth.project_to_kinetics` on demo-sized clips.

Prints the numbers and writes ``benchmarks/results/transfer_speed.json`` (or ``--out``).
Run: ``python benchmarks/transfer_speed.py [--device auto] [--repeats 5] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from timing import timed  # noqa: E402  (benchmarks/timing.py, beside this script)

from ciasa.data.kinetics_synth import project_to_kinetics  # noqa: E402
from ciasa.device import resolve_device  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.models import build_model  # noqa: E402

ARCHS = ("stgcn", "agcn", "agcn_bone", "agcn_2s", "pa_lstm")
SETTINGS = {
    "demo": {"T": 64, "M": 1, "batch": 16, "classes": 14, "base": None},
    "ntu": {"T": 300, "M": 2, "batch": 4, "classes": 60, "base": 64},
}


def clips(n: int, t: int, m: int, seed: int = 0) -> torch.Tensor:
    """Random-walk NTU-like clips ~3 m in front of the sensor, every frame present."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 1, 25, m, generator=g) * 0.3 + torch.randn(n, 3, t, 25, m, generator=g).cumsum(2) * 0.01
    x[:, 2] += 3.0
    return x


def bench_models(setting: str, base: int, device: torch.device, repeats: int) -> dict:
    cfg = SETTINGS[setting]
    width = cfg["base"] or base
    x = clips(cfg["batch"], cfg["T"], cfg["M"]).to(device)
    rows = {}
    for arch in ARCHS:
        args = {
            "in_channels": 3,
            "num_class": cfg["classes"],
            "graph_args": {"layout": "ntu-rgb+d", "strategy": "spatial"},
            "base_channels": width,
        }
        if arch != "stgcn":
            args["num_person"] = cfg["M"]
        torch.manual_seed(0)
        model = build_model(arch, **args).to(device).eval()
        for p in model.parameters():
            p.requires_grad_(False)

        def forward() -> None:
            with torch.no_grad():
                model(x)

        def input_grad() -> None:
            xi = x.clone().requires_grad_(True)
            model(xi).sum().backward()

        fwd = timed(forward, repeats, device)
        bwd = timed(input_grad, repeats, device)
        rows[arch] = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "forward_s": statistics.median(fwd),
            "forward_backward_s": statistics.median(bwd),
            "clips_per_s_forward": cfg["batch"] / statistics.median(fwd),
        }
    base_f, base_b = rows["stgcn"]["forward_s"], rows["stgcn"]["forward_backward_s"]
    for r in rows.values():
        r["forward_vs_stgcn"] = r["forward_s"] / base_f
        r["forward_backward_vs_stgcn"] = r["forward_backward_s"] / base_b
    return {
        "setting": setting,
        "T": cfg["T"],
        "M": cfg["M"],
        "batch": cfg["batch"],
        "classes": cfg["classes"],
        "base_channels": width,
        "models": rows,
    }


def bench_kinetics(repeats: int) -> dict:
    x = clips(64, 64, 1).numpy()
    times = timed(lambda: project_to_kinetics(x, seed=0), repeats, torch.device("cpu"))
    return {"clips": 64, "T": 64, "seconds": statistics.median(times), "clips_per_s": 64 / statistics.median(times)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: the machine is shared)")
    p.add_argument("--base-channels", type=int, default=16, help="GCN width for the demo setting")
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "transfer_speed.json")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    results = {
        "benchmark": "transfer_speed",
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "repeats": args.repeats,
        "settings": [bench_models(s, args.base_channels, device, args.repeats) for s in args.settings],
        "kinetics_synth": bench_kinetics(args.repeats),
    }
    for s in results["settings"]:
        print(f"[{s['setting']}] T={s['T']} M={s['M']} batch={s['batch']} base={s['base_channels']}")
        for arch, r in s["models"].items():
            print(
                f"  {arch:10s} {r['parameters']:>9,d} params  fwd {1e3 * r['forward_s']:8.1f} ms "
                f"(x{r['forward_vs_stgcn']:.2f})  fwd+bwd {1e3 * r['forward_backward_s']:8.1f} ms "
                f"(x{r['forward_backward_vs_stgcn']:.2f} of ST-GCN)"
            )
    k = results["kinetics_synth"]
    print(f"kinetics_synth: {k['clips_per_s']:.0f} clips/s (64 clips x 64 frames)")
    atomic_write_json(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
