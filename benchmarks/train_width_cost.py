"""What training the attacked ST-GCN at a given width costs on this CPU (issue 22, the width-64 arm).

    nice -n 10 .venv/bin/python benchmarks/train_width_cost.py [--widths 8,16,32,64] [--repeats 5]

``benchmarks/realism_factors.py`` trains the demo's attacked-model recipe (ST-GCN, batch 32,
20 epochs, 1,600 cross-view training clips of 64 frames, one body) at several base widths.
The official width (64) was left to a GPU on an estimate; this measures it: one SGD step
(forward, backward, update) on a batch of the synthetic set's shape, every width in turn,
``--repeats`` rounds, CPU seconds of this process (``time.process_time``, so time spent
waiting for a shared core is not counted), ``--threads`` torch threads. Reported per width:
the median step, its ratio to the first width's median in the same run, the parameter count
and the recipe's training CPU time extrapolated from the step (steps per epoch x epochs;
validation and data loading not included, so a lower bound).

Writes ``--out`` (default ``benchmarks/results/train_width_cost.json``) atomically.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import record  # noqa: E402  (benchmarks/record.py, beside this script)

from ciasa import cli  # noqa: E402
from ciasa.io import atomic_write_json  # noqa: E402
from ciasa.models import build_model  # noqa: E402

# The recipe of realism_factors.py (config/train_plain.yaml with --batch-size 32 --epochs 20)
# on the default synthetic set's cross-view training split.
BATCH = 32
EPOCHS = 20
TRAIN_CLIPS = 1600
FRAMES = 64
CLASSES = 30


def step_seconds(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    t0 = time.process_time()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--widths",
        type=lambda text: [cli.positive_int(w) for w in text.split(",") if w.strip()],
        default=[8, 16, 32, 64],
        help="comma list of ST-GCN base widths; ratios are to the first",
    )
    p.add_argument("--repeats", type=cli.positive_int, default=5, help="rounds over all widths (medians over them)")
    p.add_argument("--threads", type=cli.positive_int, default=1, help="torch CPU threads")
    p.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "train_width_cost.json", help="JSON output"
    )
    try:
        args = p.parse_args(argv)
    except SystemExit as stop:  # argparse's bad-input exit is already 2; keep it a return for callers
        return int(stop.code or 0)
    widths = args.widths
    if not widths:
        print("error: --widths: give at least one width", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = 0.3 * torch.randn(BATCH, 3, FRAMES, 25, 1)
    y = torch.randint(0, CLASSES, (BATCH,))
    models, opts = {}, {}
    for w in widths:
        models[w] = build_model(
            "stgcn", num_class=CLASSES, in_channels=3, base_channels=w, graph_args={"layout": "ntu-rgb+d"}
        )
        opts[w] = torch.optim.SGD(models[w].parameters(), lr=0.01, momentum=0.9)
        step_seconds(models[w], opts[w], x, y)  # warm-up: allocator and kernels
    head = record.header(argv, args.threads)  # the load average before the timed rounds
    times: dict[int, list[float]] = {w: [] for w in widths}
    for r in range(args.repeats):
        for w in widths if r % 2 == 0 else reversed(widths):  # alternate the order against drift
            times[w].append(step_seconds(models[w], opts[w], x, y))
    steps = EPOCHS * -(-TRAIN_CLIPS // BATCH)
    base = statistics.median(times[widths[0]])
    rows = {}
    for w in widths:
        med = statistics.median(times[w])
        rows[str(w)] = {
            "parameters": sum(q.numel() for q in models[w].parameters()),
            "step_cpu_seconds": [round(t, 4) for t in times[w]],
            "step_cpu_seconds_median": round(med, 4),
            "ratio_to_first": round(med / base, 2),
            "recipe_train_cpu_minutes_lower_bound": round(med * steps / 60, 1),
        }
        print(
            f"width {w:3d}: {rows[str(w)]['parameters']:>9,d} parameters, step {med:.3f} CPU-s "
            f"({med / base:.1f}x width {widths[0]}), recipe training >= {med * steps / 60:.0f} CPU-min"
        )
    report = {
        "benchmark": "train_width_cost",
        **head,
        "torch": torch.__version__,
        "batch": BATCH,
        "frames": FRAMES,
        "recipe_steps": steps,
        "repeats": args.repeats,
        "widths": rows,
    }
    atomic_write_json(args.out, record.finish(report))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
