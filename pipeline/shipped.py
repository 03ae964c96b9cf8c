"""Demo checkpoints shipped with the code (``models/demo/``): provenance, checks, reproduction.

Training the demo's two models was 38 % of a first ``make demo`` on a slow 2-core machine,
and it recomputes the same weights on every fresh clone. So the two demo models are
committed, each beside a provenance file (``NAME.json``): the training block of
``config/config.yaml`` it was trained with, the recipe file that block names and its
SHA-256, the merged settings, the data generator's settings, the code version (git
commit), its top-1 on the generated validation split, and the command that reproduces it
(``python -m pipeline.shipped build --name NAME``).

The pipeline uses a shipped checkpoint only while the config's training block and data
settings are the ones it was trained with: any difference is bad input (exit 2) naming
the provenance file and the recipe file, and telling the user to set ``shipped: null``
to train with the new settings instead. No weights are downloaded: they are in the repo.

``python -m pipeline.shipped check``    every shipped model of the config against it (exit 2 on mismatch)
``python -m pipeline.shipped install``  check one, then copy it where the pipeline expects its model.pt
``python -m pipeline.shipped verify``   evaluate one on the generated val split: does it reach its record?
``python -m pipeline.shipped build``    train one from nothing through the pipeline's own commands
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ciasa import cli
from ciasa.io import atomic_path, atomic_write_json, read_json
from pipeline.paths import ATTACKED_MODEL

log = logging.getLogger(__name__)

FORMAT = "ciasa-shipped/1"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "config.yaml"
# ciasa.train's settings that do not change the weights (ciasa.train.RESUME_IGNORED; a test
# keeps the two equal). Spelled here so that Snakemake's start-up need not import torch.
NOT_RECIPE = frozenset({"out", "device", "num_workers", "threads", "resume", "progress", "val_every"})


class ShippedError(cli.BadInput):
    """A shipped checkpoint is missing or does not match the config: exit 2."""


# ---------------------------------------------------------------------- config
def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Snakemake's ``--configfile`` rule: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) else value
    return out


def load_config(files: list[str | Path] | None = None) -> dict[str, Any]:
    """``config/config.yaml`` with the given override files merged on top, in order."""
    config: dict[str, Any] = {}
    for path in [DEFAULT_CONFIG, *(files or [])]:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: config file not found")
        config = merge(config, yaml.safe_load(path.read_text()) or {})
    return config


def entry(config: Mapping[str, Any], name: str) -> tuple[str, Mapping[str, Any]]:
    """(config key, entry) of a model: ``model`` for the attacked one, ``classifiers.NAME`` else."""
    if name == ATTACKED_MODEL:
        return "model", config.get("model") or {}
    spec = (config.get("classifiers") or {}).get(name)
    if spec is None:
        raise cli.UnknownName(
            f"--name {name}: no such classifier in the config (known: "
            f"{', '.join([ATTACKED_MODEL, *(config.get('classifiers') or {})])})"
        )
    return f"classifiers.{name}", spec


def shipped_models(config: Mapping[str, Any]) -> dict[str, str]:
    """Name -> shipped checkpoint path, for the models the pipeline would otherwise train."""
    out = {}
    names = [ATTACKED_MODEL, *(config.get("classifiers") or {})]
    for name in names:
        _, spec = entry(config, name)
        if spec.get("shipped") and not spec.get("checkpoint") and (name == ATTACKED_MODEL or "train" in spec):
            out[name] = str(spec["shipped"])
    return out


def provenance_path(checkpoint: str | Path) -> Path:
    return Path(checkpoint).with_suffix(".json")


def _resolve(path: str | Path, root: Path = ROOT) -> Path:
    path = Path(path)
    return path if path.is_absolute() else root / path


def _show(path: Path, root: Path = ROOT) -> str:
    """A path as the user wrote it in the config: relative to the repository when inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def recipe_of(train_block: Mapping[str, Any], root: Path = ROOT) -> dict[str, Any]:
    """What a training block computes: its recipe file's settings overridden by the block,
    minus the settings that do not change the weights; plus the file and its hash."""
    block = dict(train_block or {})
    settings: dict[str, Any] = {}
    config_file = block.pop("config", None)
    file_hash = None
    if config_file:
        path = _resolve(config_file, root)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the recipe file named by the training block is missing")
        raw = yaml.safe_load(path.read_text()) or {}
        settings.update({str(k).replace("-", "_"): v for k, v in raw.items()})
        file_hash = sha256(path)
    settings.update({str(k).replace("-", "_"): v for k, v in block.items()})
    merged = {k: settings[k] for k in sorted(settings) if k not in NOT_RECIPE}
    return {
        "train": dict(train_block or {}),
        "config_file": config_file,
        "config_sha256": file_hash,
        "settings": merged,
    }


def data_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """The data settings a model trained by the pipeline depends on."""
    data = config.get("data") or {}
    out = {
        "source": data.get("source", "synth"),
        "benchmark": data.get("benchmark", "xview"),
        "train_split": data.get("train_split", "train"),
    }
    if out["source"] == "synth":
        out["synth"] = dict(data.get("synth") or {})
    else:
        out["path"] = data.get("path")
    return out


def _differences(recorded: Mapping[str, Any], current: Mapping[str, Any], prefix: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(recorded) | set(current)):
        a, b = recorded.get(key), current.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            diffs += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            diffs.append(f"{prefix}{key} {a!r} (shipped) vs {b!r} (now)")
    return diffs


def read_provenance(checkpoint: str | Path) -> dict[str, Any]:
    path = provenance_path(checkpoint)
    record = read_json(path, "shipped-checkpoint record")
    if record.get("format") != FORMAT:
        raise cli.BadInput(f"{path}: not a shipped-checkpoint record ({FORMAT})")
    return record


def check(config: Mapping[str, Any], name: str, root: Path = ROOT) -> dict[str, Any]:
    """The provenance of ``name``'s shipped checkpoint, after checking that it exists, is
    intact and was trained with the config's recipe and data; else :class:`ShippedError`."""
    key, spec = entry(config, name)
    checkpoint = _resolve(spec["shipped"], root)
    block = spec.get("train") or {}
    recipe_file = block.get("config") or "(no recipe file)"
    hint = (
        f"set {key}.shipped: null to train {name} with the current settings instead (as before; a few minutes on a CPU)"
    )
    prov = provenance_path(checkpoint)
    shown, shown_prov = _show(checkpoint, root), _show(prov, root)
    if not checkpoint.is_file() or not prov.is_file():
        missing = checkpoint if not checkpoint.is_file() else prov
        raise ShippedError(
            f"{key}.shipped: {_show(missing, root)} not found (shipped checkpoint {shown}, its "
            f"provenance {shown_prov}, recipe {recipe_file}); {hint}"
        )
    try:
        record = read_provenance(checkpoint)
    except ValueError as err:
        raise ShippedError(f"{key}.shipped: {err}; {hint}") from None
    if sha256(checkpoint) != record.get("checkpoint_sha256"):
        raise ShippedError(
            f"{key}.shipped: {shown} is not the file {shown_prov} describes (SHA-256 differs); "
            f"rebuild it with {record.get('reproduce', 'python -m pipeline.shipped build')} or {hint}"
        )
    try:
        current = recipe_of(block, root)
    except FileNotFoundError as err:
        raise ShippedError(f"{key}.train: {err}; {hint}") from None
    diffs = _differences(record["recipe"]["settings"], current["settings"])
    diffs += _differences(record["data"], data_of(config), "data.")
    if diffs:
        raise ShippedError(
            f"{key}.shipped: {shown} was trained with another recipe than {recipe_file} and {key}.train "
            f"now give ({shown_prov} records it): {'; '.join(diffs)}. {hint}, or rebuild the shipped one with "
            f"{record.get('reproduce', 'python -m pipeline.shipped build')}"
        )
    return record


def minimal_config(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The part of a config that decides whether ``name``'s shipped checkpoint fits it."""
    key, spec = entry(config, name)
    part = {"data": config.get("data") or {}}
    if name == ATTACKED_MODEL:
        part["model"] = dict(spec)
    else:
        part["classifiers"] = {name: dict(spec)}
    return part


def check_all(config: Mapping[str, Any], root: Path = ROOT) -> dict[str, dict[str, Any]]:
    return {name: check(config, name, root) for name in shipped_models(config)}


# ---------------------------------------------------------------------- commands
def install(config: Mapping[str, Any], name: str, out: str | Path) -> dict[str, Any]:
    """Check, then copy the shipped checkpoint to ``out`` and its provenance beside it."""
    record = check(config, name)
    _, spec = entry(config, name)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out.parent / "shipped.json", {**record, "installed_from": str(spec["shipped"])})
    with atomic_path(out) as tmp:
        shutil.copyfile(_resolve(spec["shipped"]), tmp)
    log.info(
        "%s: the shipped %s (val top-1 %.2f %%, trained at %s)",
        out,
        spec["shipped"],
        100 * record["val"]["top1"],
        record["code_version"].get("commit", "?")[:10],
    )
    return record


def _run(command: list[str], what: str) -> None:
    log.info("%s: %s", what, " ".join(command))
    proc = subprocess.run(command, cwd=ROOT)
    if proc.returncode == cli.EXIT_BAD_INPUT:  # the settings themselves (its message is above)
        raise cli.BadInput(f"{what}: bad input (exit code 2): {' '.join(command)}")
    if proc.returncode != 0:
        raise cli.WorkFailed(f"{what} failed (exit code {proc.returncode}): {' '.join(command)}")


def generate_data(config: Mapping[str, Any], work: Path) -> Path:
    """The demo's data through the pipeline's own command (``ciasa.data.synth``); returns
    the benchmark directory. Reuses a finished one in ``work``."""
    from pipeline.config import SYNTH_NEGATABLE, cli_flags

    data = data_of(config)
    if data["source"] != "synth":
        raise cli.BadInput(f"data.source {data['source']!r}: only the generated data set's models are shipped")
    target = work / "synth"
    if not (target / "meta.json").is_file():
        flags = cli_flags(data["synth"], SYNTH_NEGATABLE).split()
        _run([sys.executable, "-m", "ciasa.data.synth", "--out", str(target), "--quiet", *flags], "data")
    return target / data["benchmark"]


def evaluate(
    checkpoint: str | Path, data_dir: Path, split: str, work: Path, threads: int = 1, label: str = "model"
) -> dict[str, Any]:
    out = work / f"eval-{label}"
    _run(
        [
            sys.executable,
            "-m",
            "ciasa.evaluate",
            "--checkpoint",
            str(checkpoint),
            "--data",
            str(data_dir),
            "--split",
            split,
            "--out",
            str(out),
            "--device",
            "cpu",
            "--threads",
            str(threads),
            "--no-progress",
            "--quiet",
        ],
        "evaluate",
    )
    metrics = json.loads((out / "metrics.json").read_text())
    return {"split": split, "top1": metrics["top1"], "n": metrics["n"]}


def code_version(root: Path = ROOT) -> dict[str, Any]:
    """The git commit the model was trained at, and whether ciasa/ or config/ had local changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "ciasa", "config"))
    return {"commit": commit or None, "dirty_ciasa_or_config": dirty}


def provenance(
    config: Mapping[str, Any],
    name: str,
    checkpoint: Path,
    val: dict[str, Any],
    train_log: Mapping[str, Any] | None,
    version: dict[str, Any],
    extra_flags: list[str],
) -> dict[str, Any]:
    key, spec = entry(config, name)
    block = dict(spec.get("train") or {})
    command = f"python -m pipeline.shipped build --name {name}"
    return {
        "format": FORMAT,
        "name": name,
        "config_key": key,
        "checkpoint": checkpoint.name,
        "checkpoint_sha256": sha256(checkpoint),
        "recipe": recipe_of(block),
        "data": data_of(config),
        "code_version": version,
        "val": val,
        "training": None
        if train_log is None
        else {
            "seconds": round(float(train_log.get("seconds_total") or 0.0), 1),
            "epochs": len(train_log.get("epochs") or []),
            "torch_threads": train_log.get("torch_threads"),
            "device": train_log.get("device"),
        },
        "reproduce": command + (" " + " ".join(extra_flags) if extra_flags else ""),
        "note": "trained by the pipeline's train rule on the generated training split (no validation during "
        "training); val is the generated validation split of data.benchmark",
    }


def check_run(run_dir: Path, recipe: Mapping[str, Any]) -> None:
    """A finished training run (``train_log.json``) must have used every setting of ``recipe``."""
    log_path = run_dir / "train_log.json"
    if not (run_dir / "model.pt").is_file() or not log_path.is_file():
        raise FileNotFoundError(f"{run_dir}: no finished training run (model.pt and train_log.json)")
    train_log = json.loads(log_path.read_text())
    if not train_log.get("finished"):
        raise cli.BadInput(f"{log_path}: the run did not finish")
    used = train_log["config"]
    diffs = [f"{k} {used.get(k)!r} (run) vs {v!r} (recipe)" for k, v in recipe["settings"].items() if used.get(k) != v]
    if used.get("split_val"):
        diffs.append(f"split_val {used['split_val']!r}: the pipeline trains without validation")
    if diffs:
        raise cli.BadInput(f"{log_path}: not trained with the config's recipe: {'; '.join(diffs)}")


def record_run(
    config: Mapping[str, Any], name: str, run_dir: Path, out_dir: Path, work: Path, threads: int = 1
) -> dict[str, Any]:
    """Ship the model of a finished pipeline run (``results/model`` or ``results/classifiers/NAME``
    of a ``make demo`` on a clean checkout) after checking that it used the recipe; its code
    version is that checkout's commit."""
    _, spec = entry(config, name)
    check_run(run_dir, recipe_of(spec.get("train") or {}))
    data_dir = generate_data(config, work)
    val = evaluate(run_dir / "model.pt", data_dir, (config.get("data") or {}).get("split", "val"), work, threads, name)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.pt"
    with atomic_path(target) as tmp:
        shutil.copyfile(run_dir / "model.pt", tmp)
    train_log = json.loads((run_dir / "train_log.json").read_text())
    repo = next((p for p in [run_dir, *run_dir.parents] if (p / ".git").exists()), ROOT)
    record = provenance(config, name, target, val, train_log, code_version(repo), [])
    record["made_by"] = (
        f"python -m pipeline.shipped build --name {name} --from-run {run_dir} (the model of that "
        f"pipeline run, its settings checked against the recipe)"
    )
    atomic_write_json(provenance_path(target), record)
    return record


def build(
    config: Mapping[str, Any], name: str, out_dir: Path, work: Path, epochs: int | None = None, threads: int = 1
) -> dict[str, Any]:
    """Train ``name`` exactly as the pipeline's train rule does, evaluate it on the val split,
    and write ``out_dir/NAME.pt`` + ``NAME.json``. ``epochs`` shortens the recipe (tests)."""
    from pipeline.config import TRAIN_NEGATABLE, cli_flags

    key, spec = entry(config, name)
    if "train" not in spec and name != ATTACKED_MODEL:
        raise cli.BadInput(f"{key}: has no train block to reproduce")
    config = merge(config, {})
    block = dict(spec.get("train") or {})
    if epochs is not None:
        block["epochs"] = epochs
        config = merge(
            config, {"model": {"train": block}} if name == ATTACKED_MODEL else {"classifiers": {name: {"train": block}}}
        )
    data_dir = generate_data(config, work)
    run_dir = work / f"train-{name}"
    flags = cli_flags(block, TRAIN_NEGATABLE).split()
    t0 = time.perf_counter()
    _run(
        [
            sys.executable,
            "-m",
            "ciasa.train",
            "--data",
            str(data_dir),
            "--out",
            str(run_dir),
            "--split-train",
            data_of(config)["train_split"],
            "--split-val",
            "",
            "--device",
            "cpu",
            "--threads",
            str(threads),
            "--no-progress",
            "--resume",
            *flags,
        ],
        f"train {name}",
    )
    log.info("trained %s in %.0f s", name, time.perf_counter() - t0)
    val_split = (config.get("data") or {}).get("split", "val")
    val = evaluate(run_dir / "model.pt", data_dir, val_split, work, threads, name)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.pt"
    with atomic_path(target) as tmp:
        shutil.copyfile(run_dir / "model.pt", tmp)
    train_log = json.loads((run_dir / "train_log.json").read_text())
    record = provenance(
        config, name, target, val, train_log, code_version(), [f"--epochs {epochs}"] if epochs is not None else []
    )
    atomic_write_json(provenance_path(target), record)
    return record


def verify(config: Mapping[str, Any], name: str, work: Path, threads: int = 1) -> dict[str, Any]:
    """Evaluate the shipped checkpoint on the generated val split; returns recorded vs now."""
    record = check(config, name)
    _, spec = entry(config, name)
    data_dir = generate_data(config, work)
    now = evaluate(_resolve(spec["shipped"]), data_dir, record["val"]["split"], work, threads, f"shipped-{name}")
    return {"name": name, "recorded": record["val"], "now": now}


# ---------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pipeline.shipped",
        "The demo checkpoints shipped in models/demo/: check them against the config, install one for "
        "the pipeline, verify its accuracy, or rebuild it from nothing.",
    )
    p.add_argument(
        "command",
        choices=("check", "install", "verify", "build"),
        help="check: every shipped model of the config; install: check NAME and copy it to --out; "
        "verify: evaluate NAME on the generated val split; build: train NAME as the pipeline does "
        "and write --out-dir/NAME.pt + NAME.json",
    )
    p.add_argument(
        "--configfile",
        action="append",
        default=[],
        help="config files merged over config/config.yaml, like snakemake --configfile (repeatable)",
    )
    p.add_argument(
        "--config-json",
        help="the config itself as JSON (what Snakemake passes: its merged config, "
        "--config overrides included); replaces --configfile",
    )
    p.add_argument("--name", help=f"the model: {ATTACKED_MODEL} (model:) or a classifiers: name")
    p.add_argument("--out", help="install: where the pipeline expects the model (results/model/model.pt)")
    p.add_argument("--out-dir", default=str(ROOT / "models" / "demo"), help="build: folder for NAME.pt and NAME.json")
    p.add_argument(
        "--work",
        help="verify/build: folder for the generated data and the training run "
        "(default: a temporary one, removed afterwards)",
    )
    p.add_argument(
        "--epochs",
        type=cli.positive_int,
        help="build: train this many epochs instead of the recipe's (a quick check; the record then says so)",
    )
    p.add_argument(
        "--from-run",
        help="build: ship the model of this finished pipeline training run (e.g. "
        "results/model of a make demo on a clean checkout) instead of training; "
        "its settings must be the recipe's",
    )
    cli.add_threads_flag(p)
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace) -> int:
    if args.config_json:
        try:
            config = json.loads(args.config_json)
        except json.JSONDecodeError as err:
            raise cli.BadInput(f"--config-json: not valid JSON: {err}") from None
    else:
        config = load_config(args.configfile)
    if args.command == "check":
        for name, record in check_all(config).items():
            print(
                f"{name}: {entry(config, name)[1]['shipped']} matches the config "
                f"(val top-1 {100 * record['val']['top1']:.2f} %, n={record['val']['n']})"
            )
        return cli.EXIT_OK
    if not args.name:
        raise cli.BadInput(f"--name is required for {args.command}")
    if args.command == "install":
        if not args.out:
            raise cli.BadInput("--out is required for install")
        if args.name not in shipped_models(config):
            raise cli.BadInput(f"--name {args.name}: the config ships no checkpoint for it (shipped: null)")
        install(config, args.name, args.out)
        return cli.EXIT_OK
    threads = args.threads or 1
    with tempfile.TemporaryDirectory(prefix="ciasa-shipped-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.command == "verify":
            result = verify(config, args.name, work, threads)
            print(json.dumps(result))
            return cli.EXIT_OK
        if args.from_run:
            record = record_run(config, args.name, Path(args.from_run), Path(args.out_dir), work, threads)
        else:
            record = build(config, args.name, Path(args.out_dir), work, args.epochs, threads)
    print(
        f"{args.name}: val top-1 {100 * record['val']['top1']:.2f} % (n={record['val']['n']}) -> "
        f"{Path(args.out_dir) / (args.name + '.pt')}"
    )
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    raise SystemExit(main())
