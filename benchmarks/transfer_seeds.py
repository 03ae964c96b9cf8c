"""The demo's transfer result over several seeds: one run is not a result.

    python benchmarks/transfer_seeds.py                       # seeds 0 1 2, config/config.yaml, 2 cores
    python benchmarks/transfer_seeds.py --seeds 0 1 2 3 --cores 2 --root build/transfer_seeds
    python benchmarks/transfer_seeds.py --seeds 0 1 --configfile config/ci_tiny.yaml --out /tmp/t.json  # a quick try

For every seed S the whole pipeline runs in its own results directory (``ROOT/seedS/results``)
with the demo configuration (config/config.yaml, then any ``--configfile``) and an override
file (``ROOT/seedS/override.yaml``) that changes exactly two things: the training seed of the
attacked model and of every classifier the pipeline trains (``model.train.seed``,
``classifiers.NAME.train.seed``), and the clip selection seed (``clips.seed``). It always
trains: the override sets ``model.checkpoint`` and every ``shipped`` checkpoint to null, so a
model shipped with the code (trained with one seed) is never reused.

It then writes ``benchmarks/results/transfer_seeds.json``: per seed the report's headline
(the attributable drop, control minus perturbed renders, paired, with its interval and exact
McNemar p; the clean-to-perturbed drop; accuracies; the model's val top-1), the spread of the
per-seed attributable drops, and the pooled numbers: every seed x clip pair counted once,
paired bootstrap interval (``report.stats``) and exact McNemar test over all of them. A clip
drawn by two seeds counts twice, once per model; the pooled interval treats the pairs as
independent, the per-seed spread shows how much a whole rerun moves.

Resumable: a seed whose run finished (``ROOT/seedS/done.json`` for the same override) is not
rerun; an interrupted seed continues where Snakemake stopped (``--rerun-incomplete``).
Exit codes: 0 ok, 1 a seed's run failed (its log named), 2 bad arguments, 130 interrupted.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ciasa.io import atomic_write_json, atomic_write_text  # noqa: E402
from pipeline.paths import ATTACKED_MODEL, CONTROL  # noqa: E402
from report.metrics import attributable  # noqa: E402
from report.stats import drop  # noqa: E402

DEFAULT_CONFIG = REPO / "config" / "config.yaml"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "transfer_seeds.json"
PAPER_RGB_DROP_PP = 14.8  # the paper's clean-to-perturbed drop on rendered NTU clips (54.1 -> 39.3 %)
HEADLINE_KEYS = (
    "n_clips",
    "n_rgb_pairs",
    "n_rgb_control_pairs",
    "skeleton_clean_accuracy",
    "skeleton_control_accuracy",
    "skeleton_attacked_accuracy",
    "skeleton_flipped",
    "skeleton_attributable_drop",
    "skeleton_attributable_drop_p",
    "rgb_clean_accuracy",
    "rgb_control_accuracy",
    "rgb_perturbed_accuracy",
    "rgb_perturbed_accuracy_control_pairs",
    "rgb_drop",
    "rgb_control_drop",
    "rgb_attributable_drop",
    "rgb_attributable_drop_p",
    "rgb_attributable_discordant",
    "skeleton_attributable_discordant",
)


class BadInput(ValueError):
    """Arguments that cannot give a result (exit 2)."""


def merge(base: dict, extra: dict) -> dict:
    """Snakemake's ``--configfile`` merge: nested mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(configfiles: list[Path]) -> dict:
    config: dict = {}
    for path in [DEFAULT_CONFIG, *configfiles]:
        if not path.is_file():
            raise BadInput(f"--configfile: {path} not found")
        config = merge(config, yaml.safe_load(path.read_text()) or {})
    return config


def seed_override(config: dict, seed: int, results: Path, count: int | None) -> dict:
    """The override that makes run ``seed``: training seeds, the clip draw, its own results, always trained."""
    model: dict[str, Any] = {"checkpoint": None, "train": {"seed": seed}}
    if "shipped" in (config.get("model") or {}):
        model["shipped"] = None
    clips: dict[str, Any] = {"seed": seed}
    if count is not None:
        clips["count"] = count
    override: dict[str, Any] = {"results_dir": str(results), "model": model, "clips": clips}
    classifiers = {}
    for name, spec in (config.get("classifiers") or {}).items():
        if "train" in spec:  # one the pipeline trains: with this seed, never a shipped checkpoint
            entry: dict[str, Any] = {"train": {"seed": seed}}
            if "shipped" in spec:
                entry["shipped"] = None
            if spec.get("checkpoint"):
                entry["checkpoint"] = None
            classifiers[name] = entry
    if classifiers:
        override["classifiers"] = classifiers
    return override


def paired_outcomes(summary: dict, model: str = ATTACKED_MODEL) -> dict[str, list[tuple[float, float]]]:
    """Per clip of a report's summary.json, the paired 0/1 outcomes the pooled numbers count:
    ``skeleton`` (control right, perturbed right) over every clip, ``rgb`` over the clips whose
    control and perturbed videos were both classified, ``rgb_clean_perturbed`` and
    ``rgb_clean_control`` likewise."""
    out: dict[str, list[tuple[float, float]]] = {
        "skeleton": [],
        "rgb": [],
        "rgb_clean_perturbed": [],
        "rgb_clean_control": [],
    }
    for clip in summary["clips"]:
        preds = clip["predictions"][model]
        label = clip["label"]

        def right(domain: str, condition: str) -> float | None:
            p = preds.get(domain, {}).get(condition)
            return None if p is None else float(p == label)

        for key, domain, (a, b) in (
            ("skeleton", "skeleton", (CONTROL, "perturbed")),
            ("rgb", "rgb", (CONTROL, "perturbed")),
            ("rgb_clean_perturbed", "rgb", ("clean", "perturbed")),
            ("rgb_clean_control", "rgb", ("clean", CONTROL)),
        ):
            x, y = right(domain, a), right(domain, b)
            if x is not None and y is not None:
                out[key].append((x, y))
    return out


def pooled(summaries: list[dict], n_boot: int, seed: int) -> dict:
    """Every seed x clip pair counted once: accuracies, paired drops with bootstrap intervals, McNemar."""
    pairs: dict[str, list[tuple[float, float]]] = {}
    for s in summaries:
        for key, rows in paired_outcomes(s).items():
            pairs.setdefault(key, []).extend(rows)
    out: dict[str, Any] = {}
    for domain in ("skeleton", "rgb"):
        rows = np.asarray(pairs.get(domain, []), dtype=np.float64).reshape(-1, 2)
        a = attributable(rows[:, 0], rows[:, 1], n_boot, seed)
        out[domain] = {
            "pairs": len(rows),
            "control_accuracy": a.control.as_dict(),
            "perturbed_accuracy": a.perturbed.as_dict(),
            "attributable_drop": a.drop.as_dict(),
            "attributable_drop_p": a.test.p_value,
            "discordant": {"control_only": a.test.first_only, "perturbed_only": a.test.second_only},
        }
    for key in ("rgb_clean_perturbed", "rgb_clean_control"):
        rows = np.asarray(pairs.get(key, []), dtype=np.float64).reshape(-1, 2)
        out[key.replace("rgb_", "rgb_drop_")] = drop(rows[:, 0], rows[:, 1], n_boot, seed).as_dict()
    return out


def spread(values: list[float | None]) -> dict:
    got = [v for v in values if v is not None]
    if not got:
        return {"n": 0, "mean": None, "sd": None, "min": None, "max": None}
    return {
        "n": len(got),
        "mean": statistics.fmean(got),
        "sd": statistics.stdev(got) if len(got) > 1 else None,
        "min": min(got),
        "max": max(got),
    }


def seed_numbers(summary: dict) -> dict:
    h = summary["headline"]
    eval_ = summary.get("model_eval") or {}
    return {
        "headline": {k: h.get(k) for k in HEADLINE_KEYS},
        "model_val_top1": eval_.get("top1"),
        "models": summary.get("models", {}),
        "plausibility": summary.get("plausibility", {}),
        "pose_recovery": summary.get("pose_recovery", {}),
    }


def run_seed(seed: int, root: Path, config: dict, configfiles: list[Path], cores: int, count: int | None) -> dict:
    """Run (or find finished) the pipeline for one seed; returns its done record."""
    folder = root / f"seed{seed}"
    results = folder / "results"
    override = seed_override(config, seed, results, count)
    done_path = folder / "done.json"
    if done_path.is_file():
        done = json.loads(done_path.read_text())
        if done.get("override") == override and Path(done["summary"]).is_file():
            print(f"seed {seed}: finished earlier ({done['wall_s']:.0f} s), not rerun", flush=True)
            return done | {"reused": True}
    folder.mkdir(parents=True, exist_ok=True)
    override_path = folder / "override.yaml"
    atomic_write_text(override_path, yaml.safe_dump(override, sort_keys=False))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(cores),
        "--rerun-incomplete",
        "--configfile",
        *(str(p) for p in configfiles),
        str(override_path),
    ]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    log = folder / "snakemake.log"
    print(f"seed {seed}: {' '.join(cmd[1:])} (log: {log})", flush=True)
    start = time.perf_counter()
    with log.open("w") as f:
        rc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
    if rc in (130, -2):
        raise KeyboardInterrupt
    summary = results / "report" / "summary.json"
    if rc != 0 or not summary.is_file():
        raise RuntimeError(f"seed {seed}: snakemake exited {rc}; see {log}")
    done = {
        "seed": seed,
        "override": override,
        "summary": str(summary),
        "wall_s": wall,
        "command": " ".join(cmd[1:]),
        "load_average_after": list(os.getloadavg()),
    }
    atomic_write_json(done_path, done)
    return done | {"reused": False}


def collect(dones: list[dict], n_boot: int, boot_seed: int) -> dict:
    per_seed, summaries = [], []
    for done in dones:
        summary = json.loads(Path(done["summary"]).read_text())
        summaries.append(summary)
        per_seed.append(
            {
                "seed": done["seed"],
                "results": str(Path(done["summary"]).parents[1]),
                "wall_s": done["wall_s"],
                **seed_numbers(summary),
            }
        )
    drops = [(s["headline"].get("rgb_attributable_drop") or {}).get("value") for s in per_seed]
    sk_drops = [(s["headline"].get("skeleton_attributable_drop") or {}).get("value") for s in per_seed]
    rgb = [(s["headline"].get("rgb_drop") or {}).get("value") for s in per_seed]
    return {
        "seeds": [d["seed"] for d in dones],
        "per_seed": per_seed,
        "spread": {
            "rgb_attributable_drop": spread(drops),
            "skeleton_attributable_drop": spread(sk_drops),
            "rgb_drop": spread(rgb),
        },
        "pooled": pooled(summaries, n_boot, boot_seed),
        "paper": {"rgb_drop_pp": PAPER_RGB_DROP_PP},
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="See the module docstring for details.")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="seeds: each sets the training seed of every model and the clip selection seed (default 0 1 2)",
    )
    p.add_argument("--cores", type=int, default=2, help="snakemake --cores for each seed's run")
    p.add_argument(
        "--root",
        type=Path,
        default=REPO / "build" / "transfer_seeds",
        help="where the seeds' runs go (ROOT/seedS/results); a finished seed there is not rerun",
    )
    p.add_argument(
        "--configfile",
        type=Path,
        nargs="*",
        default=[],
        help="override files applied on top of config/config.yaml (the demo), in order",
    )
    p.add_argument("--count", type=int, default=None, help="clips per seed (default: the config's clips.count, 24)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples of the pooled intervals")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON written at the end")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if len(set(args.seeds)) != len(args.seeds) or any(s < 0 for s in args.seeds):
            raise BadInput(f"--seeds: distinct non-negative integers, got {args.seeds}")
        if args.cores < 1 or (args.count is not None and args.count < 1) or args.bootstrap < 0:
            raise BadInput("--cores and --count must be >= 1, --bootstrap >= 0")
        configfiles = [p if p.is_absolute() else (Path.cwd() / p) for p in args.configfile]
        config = load_config(configfiles)
        if config.get("control") is False:
            raise BadInput("the configuration sets control: false; the attributable drop needs the control condition")
        if (config.get("clips") or {}).get("names") or (config.get("clips") or {}).get("names_file"):
            raise BadInput(
                "the configuration names its clips (clips.names / names_file): the selection seed would not matter"
            )
    except BadInput as err:
        print(f"transfer_seeds: {err}", file=sys.stderr)
        return 2
    if len(args.seeds) < 3:
        print(f"transfer_seeds: warning: {len(args.seeds)} seed(s); the issue asks for at least 3", file=sys.stderr)
    root = args.root.resolve()
    started = time.perf_counter()
    load_before = list(os.getloadavg())
    dones = []
    try:
        for seed in args.seeds:
            dones.append(run_seed(seed, root, config, configfiles, args.cores, args.count))
    except KeyboardInterrupt:
        print("transfer_seeds: interrupted; rerun the same command to continue", file=sys.stderr)
        return 130
    except RuntimeError as err:
        print(f"transfer_seeds: {err}", file=sys.stderr)
        return 1
    result = collect(dones, args.bootstrap, 0)
    result.update(
        {
            "command": "python benchmarks/transfer_seeds.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "configfiles": ["config/config.yaml", *(str(p) for p in args.configfile)],
            "count": args.count or (config.get("clips") or {}).get("count"),
            "cores": args.cores,
            "wall_s_this_call": time.perf_counter() - started,
            "reused_seeds": [d["seed"] for d in dones if d.get("reused")],
            "load_average_before": load_before,
            "bootstrap": {"n_boot": args.bootstrap, "seed": 0, "level": 0.95},
        }
    )
    atomic_write_json(args.out, result)
    p = result["pooled"]["rgb"]
    d = p["attributable_drop"]
    fmt = lambda v: "n/a" if v is None else f"{100 * v:.1f}"  # noqa: E731
    print(
        f"pooled over {len(args.seeds)} seeds, {p['pairs']} RGB pairs: attributable drop {fmt(d['value'])} pp "
        f"[{fmt(d['low'])}, {fmt(d['high'])}], McNemar p {p['attributable_drop_p']}; per seed "
        + ", ".join(fmt((s["headline"].get("rgb_attributable_drop") or {}).get("value")) for s in result["per_seed"])
        + f" -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
