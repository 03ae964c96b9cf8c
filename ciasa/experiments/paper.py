"""``python -m ciasa.experiments all``: the paper's figure and tables in one resumable run.

Each *unit* is one table for one data set and one CIASA formulation (Fig. 2 is FGSM and
has no formulation); it writes its own folder ``OUT/<data set>/<unit>/`` and, last,
``unit.json`` (its settings and result). A rerun skips every unit whose ``unit.json``
holds the same settings, so an interrupted run resumes at the table it was in; the
transfer units also resume per attacked batch. Everything that can be checked is checked
before the first unit starts: the tables asked for, every checkpoint against its data
(layout, channels, classes), the transfer models' kinds and classes.

At the end ``OUT/results.json`` gathers every unit with the run's commands, seeds and
times, and ``OUT/results.md`` (with figures in ``OUT/figures/``) sets each table next to
the paper's numbers (``ciasa.experiments.results``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ciasa import cli
from ciasa.attacks.plausibility import Plausibility
from ciasa.experiments import sweeps
from ciasa.experiments.results import RESULTS_FORMAT
from ciasa.io import atomic_write_json

log = logging.getLogger(__name__)

# table -> the sweep experiment behind it ("transfer" is Table III's own runner)
TABLES: dict[str, str] = {
    "fig2": "fgsm-sweep",
    "table1": "basic-sweep",
    "table2": "regions",
    "table3": "transfer",
    "table4": "ablation",
    "table5": "lambda",
}
KINETICS_TABLES = ("fig2", "table1")  # what the paper reports on Kinetics
TRANSFER_MODES = ("basic", "advanced")
DATASETS = ("ntu", "kinetics")


@dataclass(frozen=True)
class Unit:
    """One table, on one data set, with one formulation (``None`` for FGSM)."""

    dataset: str  # "ntu" | "kinetics"
    table: str
    formulation: str | None
    mode: str | None = None  # transfer only: "basic" | "advanced"

    @property
    def key(self) -> str:
        parts = [self.table] + [p for p in (self.mode, self.formulation) if p]
        return f"{self.dataset}/{'_'.join(parts)}"


def plan(tables: list[str], formulations: list[str], datasets: tuple[str, ...] = ("ntu",)) -> list[Unit]:
    """The units of a run, in the paper's order: NTU first, then the Kinetics rows."""
    units: list[Unit] = []
    for dataset in (d for d in DATASETS if d in datasets):
        for table in tables:
            if dataset == "kinetics" and table not in KINETICS_TABLES:
                continue
            if table == "fig2":
                units.append(Unit(dataset, table, None))
            elif table == "table3":
                units += [Unit(dataset, table, f, mode) for mode in TRANSFER_MODES for f in formulations]
            else:
                units += [Unit(dataset, table, f) for f in formulations]
    return units


def fingerprint(path: str | Path) -> str:
    """A short content hash of a file, or of the files directly in a data folder: a unit reruns
    when its checkpoint or data changed, not only its path."""
    digest = hashlib.sha1()
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    for f in files:
        digest.update(f.name.encode())
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------- checks before work
def parse_tables(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in TABLES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown table(s) {', '.join(unknown) or repr(text)}; choose from {', '.join(TABLES)}"
        )
    return sorted(set(names), key=list(TABLES).index)


def parse_formulations(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in sweeps.FORMULATIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown formulation(s) {', '.join(unknown) or repr(text)}; choose from {', '.join(sweeps.FORMULATIONS)}"
        )
    return sorted(set(names), key=list(sweeps.FORMULATIONS).index)


def parse_datasets(text: str) -> tuple[str, ...]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in DATASETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown data set(s) {', '.join(unknown) or repr(text)}; choose from ntu, kinetics"
        )
    return tuple(d for d in DATASETS if d in names)


def datasets_of(args: argparse.Namespace) -> tuple[str, ...]:
    """``--datasets``, or NTU plus Kinetics when a Kinetics checkpoint is given."""
    if args.datasets is not None:
        return args.datasets
    return DATASETS if args.kinetics_checkpoint else ("ntu",)


def check_inputs(args: argparse.Namespace) -> dict[str, str]:
    """Load every checkpoint against its data once, so that a wrong file fails now, not an hour in.
    Returns the transfer model specs."""
    from ciasa.data.model_fit import load_split_for_model
    from ciasa.experiments import transfer
    from ciasa.models import load_model

    if (args.kinetics_checkpoint is None) != (args.kinetics_data is None):
        raise cli.BadInput("--kinetics-checkpoint and --kinetics-data go together (give both or neither)")
    if "kinetics" in datasets_of(args) and args.kinetics_checkpoint is None:
        raise cli.BadInput("--datasets kinetics needs --kinetics-checkpoint and --kinetics-data")
    pairs = [(args.checkpoint, args.data)]
    if args.kinetics_checkpoint:
        pairs.append((args.kinetics_checkpoint, args.kinetics_data))
    for checkpoint, data in pairs:
        model, meta = load_model(checkpoint, device="cpu")
        for split in (args.split, args.real_split):
            load_split_for_model(data, split, model, meta, checkpoint, args.allow_class_mismatch)
    specs: dict[str, str] = {}
    if "table3" in args.tables and "ntu" in datasets_of(args):
        if not args.transfer_models:
            raise cli.BadInput("table3 needs --transfer-models js=JS.pt bs=BS.pt pa_lstm=PA.pt (or leave table3 out)")
        specs = transfer.parse_model_specs(args.transfer_models)
        options = transfer.TransferOptions(split=args.split, allow_class_mismatch=args.allow_class_mismatch)
        transfer.load_checked(args.checkpoint, args.data, specs, options, "cpu")
    return specs


# ---------------------------------------------------------------- running units
def unit_settings(unit: Unit, args: argparse.Namespace, specs: dict[str, str], prints: dict[str, str]) -> dict:
    kinetics = unit.dataset == "kinetics"
    settings: dict[str, Any] = {
        "unit": unit.key,
        "checkpoint": prints["kinetics_checkpoint" if kinetics else "checkpoint"],
        "data": prints["kinetics_data" if kinetics else "data"],
        "split": args.split,
        "real_split": args.real_split,
        "limit": args.limit,
        "max_iter": args.max_iter,
        "early_stop": args.early_stop,
        "seed": args.seed,
        "formulation": unit.formulation,
        # CIASA keeps perturbations human-possible by default (ciasa.attacks.plausibility):
        # units measured before that default must not be taken as done
        "plausibility": {"constraints": list(Plausibility().constraints), "method": Plausibility().method},
    }
    if unit.table == "table3":
        settings.update(mode=unit.mode, models={k: prints[f"model:{k}"] for k in specs})
    return settings


def run_unit(
    unit: Unit,
    args: argparse.Namespace,
    specs: dict[str, str],
    out: Path,
    row_cache: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run one unit into ``out``; returns its record (what ``unit.json`` holds besides the settings)."""
    kinetics = unit.dataset == "kinetics"
    checkpoint = args.kinetics_checkpoint if kinetics else args.checkpoint
    data = args.kinetics_data if kinetics else args.data
    if unit.table == "table3":
        return _run_transfer(unit, args, specs, checkpoint, data, out)
    experiment = TABLES[unit.table]
    ns = argparse.Namespace(
        checkpoint=checkpoint,
        data=data,
        split=args.split,
        out=str(out),
        allow_class_mismatch=args.allow_class_mismatch,
        real_data=None,
        real_split=args.real_split,
        limit=args.limit,
        all_samples=False,
        shuffle=True,
        batch_size=args.batch_size,
        max_iter=args.max_iter,
        early_stop=args.early_stop,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        progress=args.progress,
        quiet=args.quiet,
        verbose=args.verbose,
        eps_list=None,
        regions=None,
        lams=None,
        optimize=unit.formulation,
        no_gan=experiment == "fgsm-sweep",
    )
    return sweeps.run_experiment(experiment, ns, row_cache)


def _run_transfer(unit: Unit, args, specs, checkpoint, data, out: Path) -> dict[str, Any]:
    from ciasa.experiments import transfer

    options = transfer.TransferOptions(
        split=args.split,
        eps=transfer.DEFAULT_EPS,
        max_iter=args.max_iter,
        limit=args.limit,
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
        progress=cli.show_progress(args),
        allow_class_mismatch=args.allow_class_mismatch,
        mode=unit.mode,
        attack_options=dict(sweeps.FORMULATIONS[unit.formulation]),
    )
    return transfer.run_transfer(checkpoint, data, specs, out, options)


def load_done(path: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The finished unit's record when ``path`` holds one with these settings."""
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return saved if saved.get("settings") == settings else None


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    specs = check_inputs(args)
    out = Path(args.out)
    units = plan(args.tables, args.formulations, datasets_of(args))
    prints = {"checkpoint": fingerprint(args.checkpoint), "data": fingerprint(Path(args.data))}
    if args.kinetics_checkpoint:
        prints |= {
            "kinetics_checkpoint": fingerprint(args.kinetics_checkpoint),
            "kinetics_data": fingerprint(Path(args.kinetics_data)),
        }
    prints |= {f"model:{k}": fingerprint(v) for k, v in specs.items()}
    started = time.perf_counter()
    done: list[dict[str, Any]] = []
    row_cache: dict[str, dict[str, Any]] = {}  # identical attacks across tables run once
    for i, unit in enumerate(units, 1):
        settings = unit_settings(unit, args, specs, prints)
        target = out / unit.key
        saved = load_done(target / "unit.json", settings)
        if saved is None:
            log.info("[%d/%d] %s", i, len(units), unit.key)
            t0 = time.perf_counter()
            record = run_unit(unit, args, specs, target, row_cache)
            saved = {"settings": settings, "seconds": round(time.perf_counter() - t0, 1), "record": record}
            atomic_write_json(target / "unit.json", saved)
        else:
            log.info("[%d/%d] %s: done earlier (%.0f s), kept", i, len(units), unit.key, saved["seconds"])
        done.append(
            {
                "unit": unit.key,
                "dataset": unit.dataset,
                "table": unit.table,
                "formulation": unit.formulation,
                "mode": unit.mode,
                **saved,
            }
        )
    results = {
        "format": RESULTS_FORMAT,
        "command": command_of(args),
        "seed": args.seed,
        "limit": args.limit,
        "max_iter": args.max_iter,
        "split": args.split,
        "formulations": {f: sweeps.FORMULATIONS[f] for f in args.formulations},
        "units": done,
        "seconds_this_run": round(time.perf_counter() - started, 1),
        "seconds_all_units": round(sum(u["seconds"] for u in done), 1),
    }
    atomic_write_json(out / "results.json", results)
    from ciasa.experiments import results as render

    render.write(results, out / "results.md")
    return results


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ciasa.data.model_fit import add_model_data_flags

    io = p.add_argument_group("models, data and output")
    add_model_data_flags(
        io, "run directory (one folder per table, results.json, results.md, figures/)", "split the clips are drawn from"
    )
    io.add_argument("--real-split", default="train", help="split the discriminator's real clips come from")
    io.add_argument(
        "--transfer-models",
        nargs="+",
        default=None,
        metavar="NAME=CKPT",
        help="Table III's models: js=Js-AGCN bs=Bs-AGCN pa_lstm=PA-LSTM (js+bs also give 2s-AGCN)",
    )
    io.add_argument("--kinetics-checkpoint", default=None, help="ST-GCN trained on the 2-D OpenPose-18 set")
    io.add_argument("--kinetics-data", default=None, help="the 2-D set (Fig. 2 and Table I rows run on it)")
    what = p.add_argument_group("what to run")
    what.add_argument(
        "--tables",
        type=parse_tables,
        default=list(TABLES),
        help=f"comma-separated, from {', '.join(TABLES)} (default: all)",
    )
    what.add_argument(
        "--datasets",
        type=parse_datasets,
        default=None,
        help="ntu, kinetics or both (default: ntu, plus kinetics when --kinetics-checkpoint is given)",
    )
    what.add_argument(
        "--formulations",
        type=parse_formulations,
        default=list(sweeps.FORMULATIONS),
        help=f"CIASA formulations, from {', '.join(sweeps.FORMULATIONS)} (default: both)",
    )
    what.add_argument(
        "--limit",
        type=cli.positive_int,
        default=200,
        help="clips per table: random clean-correct clips (transfer: random clips)",
    )
    sweeps.add_run_arguments(p)


def command_of(args: argparse.Namespace) -> str:
    """The run's command line, rebuilt from its settings (paths as given), for results.md."""
    words = [
        "python",
        "-m",
        "ciasa.experiments",
        "all",
        "--checkpoint",
        args.checkpoint,
        "--data",
        args.data,
        "--split",
        args.split,
    ]
    if args.transfer_models and "table3" in args.tables:
        words += ["--transfer-models", *args.transfer_models]
    if args.kinetics_checkpoint:
        words += ["--kinetics-checkpoint", args.kinetics_checkpoint, "--kinetics-data", args.kinetics_data]
    if args.datasets is not None:
        words += ["--datasets", ",".join(args.datasets)]
    if args.tables != list(TABLES):
        words += ["--tables", ",".join(args.tables)]
    if args.formulations != list(sweeps.FORMULATIONS):
        words += ["--formulations", ",".join(args.formulations)]
    words += ["--limit", str(args.limit), "--max-iter", str(args.max_iter), "--seed", str(args.seed)]
    if args.early_stop is not None:
        words += ["--early-stop", str(args.early_stop)]
    return " ".join(shlex.quote(str(w)) for w in words) + " --out OUT"


def run_from_args(args: argparse.Namespace) -> int:
    results = run_all(args)
    print((Path(args.out) / "results.md").read_text())
    log.info(
        "%d units, %.0f s this run (%.0f s of unit time in all)",
        len(results["units"]),
        results["seconds_this_run"],
        results["seconds_all_units"],
    )
    return cli.EXIT_OK
