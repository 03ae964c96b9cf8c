"""Cross-model transfer (the paper's Table III): CIASA perturbations made against ST-GCN,
classified by models that never saw the attack.

The source model is attacked in CIASA's basic mode (all joints, global clipping,
eps 0.012 by default, as in the paper; targeted towards the least-likely class), or in
its advanced mode (``--mode advanced``), with either formulation (``--optimize``). The
perturbed clips are then classified by each transfer model — by default the joint
stream (Js-AGCN), the bone stream (Bs-AGCN), their score ensemble (2s-AGCN, formed
automatically when both streams are given) and PA-LSTM — and by the source model
itself for reference. Per model:

- clean accuracy and attacked accuracy (top-1, in %);
- fooling rate: of the clips the model classifies correctly when clean, the % it
  misclassifies once perturbed (untargeted: the perturbation was not made for it);
- target rate: % of clips it assigns to the class the attack aimed at on ST-GCN.

Outputs (``--out OUT``): ``transfer.csv`` and ``transfer.md`` (the table),
``per_sample.csv`` (each clip's label, target and every model's clean and attacked
prediction), ``summary.json`` and ``adversarial/`` (the perturbed split in ST-GCN
layout plus ``targets.npy``, reused by a rerun with the same settings; batches are
checkpointed under ``adversarial/partial/`` so an interrupted attack resumes).

CLI::

    python -m ciasa.experiments transfer --checkpoint STGCN.pt --data DIR --split val \\
        --models js=JS.pt bs=BS.pt pa_lstm=PA.pt --eps 0.012 --out OUT
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ciasa import cli
from ciasa.experiments.sweeps import FORMULATIONS
from ciasa.io import atomic_path, atomic_save_npy, atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

DEFAULT_EPS = 0.012
DISPLAY_NAMES = {"source": "ST-GCN (source)", "js": "Js-AGCN", "bs": "Bs-AGCN", "2s": "2s-AGCN", "pa_lstm": "PA-LSTM"}
_EXPECTED_ARCH = {"js": ("agcn",), "bs": ("agcn_bone",), "2s": ("agcn_2s",), "pa_lstm": ("pa_lstm",)}


@dataclass
class TransferRow:
    key: str
    model: str
    arch: str
    checkpoint: str
    n: int
    clean_acc: float
    attacked_acc: float
    fooling_rate: float | None
    target_rate: float
    clean_correct: int


def parse_model_specs(specs: list[str]) -> dict[str, str]:
    """``['js=a.pt', 'bs=b.pt']`` -> ``{'js': 'a.pt', 'bs': 'b.pt'}`` (names unique, paths non-empty)."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise cli.BadInput(f"model spec {spec!r}: expected NAME=CHECKPOINT (e.g. js=runs/agcn/model.pt)")
        if name in out:
            raise cli.BadInput(f"model name {name!r} given twice")
        if name == "source":
            raise cli.BadInput("'source' is reserved for the attacked ST-GCN")
        out[name] = path
    return out


def load_transfer_models(
    specs: dict[str, str], device: torch.device | str = "cpu", ensemble: bool = True
) -> dict[str, tuple[nn.Module, dict[str, Any]]]:
    """Load every named checkpoint; add the 2s-AGCN ensemble of 'js' + 'bs' unless '2s' is given."""
    from ciasa.models import load_model
    from ciasa.models.agcn import AGCN, AGCNBone, TwoStreamAGCN

    models: dict[str, tuple[nn.Module, dict[str, Any]]] = {}
    for name, path in specs.items():
        model, meta = load_model(path, device=device)
        expected = _EXPECTED_ARCH.get(name)
        if expected and meta["arch"] not in expected:
            raise cli.BadInput(
                f"{path}: '{name}' should be a {' or '.join(expected)} checkpoint, found {meta['arch']!r}"
            )
        models[name] = (model, meta)
    if ensemble and "2s" not in models and "js" in models and "bs" in models:
        (joint, jmeta), (bone, bmeta) = models["js"], models["bs"]
        if type(joint) is AGCN and isinstance(bone, AGCNBone):
            if jmeta["class_names"] != bmeta["class_names"]:
                raise cli.BadInput(f"{specs['js']} and {specs['bs']}: the two streams have different class lists")
            two = TwoStreamAGCN.from_streams(joint, bone).eval()
            models["2s"] = (two, dict(jmeta, arch="agcn_2s", path=f"{jmeta['path']}+{bmeta['path']}"))
    order = ["js", "bs", "2s", "pa_lstm"]
    return {k: models[k] for k in sorted(models, key=lambda k: (order.index(k) if k in order else len(order), k))}


def select_samples(n_total: int, limit: int | None, seed: int) -> np.ndarray:
    """Indices of the clips to use: all of them, or ``limit`` drawn by a seeded permutation (sorted)."""
    if limit is None or limit >= n_total:
        return np.arange(n_total)
    if limit < 1:
        raise cli.BadInput(f"--limit must be >= 1, got {limit}")
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:limit])


def _settings_key(settings: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def make_adversarial(
    source: nn.Module,
    clean: np.ndarray,
    labels: np.ndarray,
    eps: float,
    max_iter: int,
    batch_size: int,
    workdir: Path,
    settings: dict[str, Any],
    real_source: Any = None,
    seed: int = 0,
    progress: bool = True,
    mode: str = "basic",
    attack_options: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CIASA against ``source`` (basic mode at ``eps`` by default; ``mode='advanced'`` uses its
    hierarchical leg budget and ignores ``eps``): ``(adversarial clips, targets)``.
    ``attack_options`` are further CIASA keywords (the formulation: ``optimize``, ``smooth``).

    Every finished batch is saved under ``workdir/partial/`` (tagged with a hash of
    ``settings``), so a rerun after an interruption attacks only what is missing.
    """
    from ciasa.attacks import CIASA

    budget = {"eps": eps} if mode == "basic" else {}
    attack = CIASA(
        source, mode=mode, max_iter=max_iter, seed=seed, real_source=real_source, **budget, **(attack_options or {})
    )
    partial = workdir / "partial"
    partial.mkdir(parents=True, exist_ok=True)
    tag = _settings_key(settings)
    adv = np.zeros_like(clean, dtype=np.float32)
    targets = np.zeros(len(clean), dtype=np.int64)
    starts = range(0, len(clean), batch_size)
    for start in tqdm(starts, desc=f"CIASA {mode} vs source", unit="batch", disable=not progress):
        stop = min(start + batch_size, len(clean))
        path = partial / f"{tag}_{start:06d}_{stop:06d}.npz"
        if path.is_file():
            with np.load(path) as saved:
                adv[start:stop], targets[start:stop] = saved["adversarial"], saved["target"]
            continue
        result = attack(clean[start:stop], torch.as_tensor(labels[start:stop]))
        adv[start:stop] = result.adversarial.numpy()
        targets[start:stop] = result.target.numpy()
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, adversarial=adv[start:stop], target=targets[start:stop])
        log.info(
            "batch %d-%d: targeted success on the source %d/%d (%.1f s)",
            start,
            stop,
            int(result.success.sum()),
            stop - start,
            result.seconds,
        )
    return adv, targets


def load_adversarial(directory: Path, split: str, names: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """Perturbed clips written by ``python -m ciasa.attack`` (and its targets, if recorded), in ``names`` order."""
    from ciasa.data.stgcn import load_split

    adv = load_split(directory, split, mmap=True)
    index = {n: i for i, n in enumerate(adv.names)}
    missing = [n for n in names if n not in index]
    if missing:
        raise cli.BadInput(f"{directory}: no perturbed clip for {len(missing)} sample(s), e.g. {missing[:3]}")
    rows = [index[n] for n in names]
    data = np.asarray(adv.data[rows], dtype=np.float32)
    targets = None
    per_sample = directory / "per_sample.csv"
    if per_sample.is_file():
        with per_sample.open() as f:
            by_name = {r["name"]: int(r["target"]) for r in csv.DictReader(f) if r.get("target", "") != ""}
        if all(n in by_name for n in names):
            targets = np.array([by_name[n] for n in names], dtype=np.int64)
    return data, targets


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 2)


def score_model(
    key: str,
    model: nn.Module,
    meta: dict[str, Any],
    clean: np.ndarray,
    adv: np.ndarray,
    labels: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    device: torch.device,
    progress: bool,
) -> tuple[TransferRow, np.ndarray, np.ndarray]:
    from ciasa.evaluate import predict

    name = DISPLAY_NAMES.get(key, key)
    clean_pred = predict(model, clean, batch_size, device, progress=progress, desc=f"{name} clean").argmax(1).numpy()
    adv_pred = predict(model, adv, batch_size, device, progress=progress, desc=f"{name} attacked").argmax(1).numpy()
    correct = clean_pred == labels
    fooled = adv_pred != labels
    row = TransferRow(
        key=key,
        model=name,
        arch=meta.get("arch", "?"),
        checkpoint=str(meta.get("path", "")),
        n=len(labels),
        clean_acc=_pct(float(correct.mean())),
        attacked_acc=_pct(float((adv_pred == labels).mean())),
        fooling_rate=_pct(float(fooled[correct].mean())) if correct.any() else None,
        target_rate=_pct(float((adv_pred == targets).mean())),
        clean_correct=int(correct.sum()),
    )
    return row, clean_pred, adv_pred


def markdown_table(rows: list[TransferRow], eps: float, split: str, n: int, mode: str = "basic") -> str:
    """Table III layout: one column per model; original/attacked accuracy and fooling rate as rows."""

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    head = "| | " + " | ".join(r.model for r in rows) + " |"
    rule = "|---|" + "---:|" * len(rows)
    lines = [
        f"Cross-model transfer of CIASA {mode}-mode perturbations "
        f"({f'eps = {eps:g}' if mode == 'basic' else 'hierarchical leg budget'}) made against ST-GCN; "
        f"split '{split}', {n} clips. Accuracies and rates in %.",
        "",
        head,
        rule,
        "| Original accuracy | " + " | ".join(fmt(r.clean_acc) for r in rows) + " |",
        "| Attacked accuracy | " + " | ".join(fmt(r.attacked_acc) for r in rows) + " |",
        "| Fooling rate | " + " | ".join(fmt(r.fooling_rate) for r in rows) + " |",
        "| Target rate | " + " | ".join(fmt(r.target_rate) for r in rows) + " |",
        "",
        "Fooling rate: of the clips a model classifies correctly when clean, the share it misclassifies "
        "once perturbed. Target rate: share assigned to the class the attack aimed at on ST-GCN. "
        "The source column is the white-box result.",
        "",
    ]
    return "\n".join(lines)


@dataclass
class TransferOptions:
    """How the transfer experiment attacks and scores (the CLI flags of the same names)."""

    split: str = "val"
    eps: float = DEFAULT_EPS
    max_iter: int = 100
    limit: int | None = None
    batch_size: int = 16
    eval_batch_size: int = 64
    adversarial: str | Path | None = None
    device: str = "auto"
    seed: int = 0
    progress: bool = True
    allow_class_mismatch: bool = False
    mode: str = "basic"  # or "advanced" (legs, hierarchical eps; eps is then unused)
    attack_options: dict[str, Any] | None = None  # further CIASA keywords, e.g. the formulation


@dataclass
class Clips:
    """The clean clips of the experiment and their perturbed versions."""

    names: list[str]
    clean: np.ndarray
    labels: np.ndarray
    adversarial: np.ndarray | None = None
    targets: np.ndarray | None = None


def run_transfer(
    source_checkpoint: str | Path,
    data: str | Path,
    models: dict[str, str],
    out: str | Path,
    options: TransferOptions | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Run the transfer experiment and write its outputs; returns the summary dict.

    ``options`` (or its fields as keywords) say how; the steps are: load and check the
    models against the data, draw the clips, perturb them against the source (or reuse a
    finished attack), classify both with every model, write the tables.
    """
    from ciasa.device import resolve_device

    o = options or TransferOptions(**settings)
    started = time.time()
    out = Path(out)
    if o.eps <= 0:
        raise cli.BadInput(f"eps must be positive, got {o.eps}")
    if o.mode not in ("basic", "advanced"):
        raise cli.BadInput(f"transfer attacks in basic or advanced mode, got mode={o.mode!r}")
    dev = resolve_device(o.device)
    scored, dataset = load_checked(source_checkpoint, data, models, o, dev)
    clips = _draw_clips(dataset, o)
    run_settings = {
        "source": str(Path(source_checkpoint).resolve()),
        "data": str(Path(data).resolve()),
        "split": o.split,
        "eps": o.eps if o.mode == "basic" else None,
        "max_iter": o.max_iter,
        "limit": o.limit,
        "seed": o.seed,
        "mode": o.mode,
        **({"attack_options": o.attack_options} if o.attack_options else {}),
    }
    adv_from = _perturb(scored["source"][0], clips, dataset, data, out / "adversarial", run_settings, o, dev)
    rows, preds = _score_all(scored, clips, o, dev)
    _write_tables(out, rows, preds, clips, o)
    linf = float(np.abs(clips.adversarial - clips.clean).max()) if len(clips.clean) else 0.0
    summary = {
        "experiment": "transfer",
        "settings": run_settings,
        "adversarial_from": adv_from,
        "n": len(clips.names),
        "max_abs_perturbation": linf,
        "rows": [asdict(r) for r in rows],
        "seconds": round(time.time() - started, 1),
        "device": str(dev),
    }
    atomic_write_json(out / "summary.json", summary)
    return summary


def load_checked(source_checkpoint, data, models, o: TransferOptions, dev):
    """The source and transfer models, each checked against the data's classes (and
    the split loaded): what ``run_transfer`` and ``experiments all`` check before any work."""
    from ciasa.data.model_fit import check_class_names
    from ciasa.data.stgcn import load_class_names, load_split
    from ciasa.models import load_model

    source, smeta = load_model(source_checkpoint, device=dev)
    transfer_models = load_transfer_models(models, dev)
    if not transfer_models:
        raise cli.BadInput("no transfer model given (--models js=... bs=... pa_lstm=...)")
    dataset = load_split(data, o.split, mmap=True)
    scored = {"source": (source, smeta), **transfer_models}
    for key, (_, meta) in scored.items():
        check_class_names(
            meta["class_names"], load_class_names(data), meta["path"], f"{data}/classes.json", o.allow_class_mismatch
        )
        if len(meta["class_names"]) != dataset.num_classes:
            raise cli.BadInput(
                f"{meta['path']}: the {DISPLAY_NAMES.get(key, key)} model has {len(meta['class_names'])} classes, "
                f"{dataset.source} has {dataset.num_classes}"
            )
    return scored, dataset


def _draw_clips(dataset, o: TransferOptions) -> Clips:
    from ciasa.data.model_fit import take

    index = select_samples(len(dataset), o.limit, o.seed)
    return Clips([dataset.names[i] for i in index], take(dataset.data, index), np.asarray(dataset.labels)[index])


def _perturb(source, clips: Clips, dataset, data, adv_dir: Path, run_settings: dict, o: TransferOptions, dev) -> str:
    """Fill ``clips.adversarial`` and ``clips.targets``: a given attack's output, a finished earlier
    run with the same settings, or a new basic-mode attack against the source. Returns where from."""
    from ciasa.data.stgcn import load_split, save_split, split_paths

    done = adv_dir / "settings.json"
    if o.adversarial is not None:
        clips.adversarial, clips.targets = load_adversarial(Path(o.adversarial), o.split, clips.names)
        if clips.targets is None:  # not recorded: the least-likely class of the source, CIASA's default
            from ciasa.evaluate import predict

            clips.targets = predict(source, clips.clean, o.eval_batch_size, dev, progress=False).argmin(1).numpy()
        log.info("using perturbed clips from %s", o.adversarial)
        where = str(o.adversarial)
    elif done.is_file() and json.loads(done.read_text()) == run_settings and (adv_dir / "targets.npy").is_file():
        clips.adversarial = np.load(split_paths(adv_dir, o.split)[0])
        clips.targets = np.load(adv_dir / "targets.npy")
        log.info("reusing the perturbed clips in %s", adv_dir)
        where = str(adv_dir)
    else:
        train_path = split_paths(data, "train")[0]
        real = load_split(data, "train", mmap=True) if o.split != "train" and train_path.is_file() else None
        clips.adversarial, clips.targets = make_adversarial(
            source,
            clips.clean,
            clips.labels,
            o.eps,
            o.max_iter,
            o.batch_size,
            adv_dir,
            run_settings,
            real,
            o.seed,
            o.progress,
            o.mode,
            o.attack_options,
        )
        save_split(adv_dir, o.split, clips.adversarial, clips.names, clips.labels, dataset.class_names)
        atomic_save_npy(adv_dir / "targets.npy", clips.targets)
        atomic_write_json(done, run_settings)
        where = str(adv_dir)
    if clips.adversarial.shape != clips.clean.shape:
        raise cli.BadInput(f"perturbed clips have shape {clips.adversarial.shape}, the clean ones {clips.clean.shape}")
    return where


def _score_all(scored: dict, clips: Clips, o: TransferOptions, dev):
    rows: list[TransferRow] = []
    preds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, (model, meta) in scored.items():
        row, cp, ap = score_model(
            key,
            model,
            meta,
            clips.clean,
            clips.adversarial,
            clips.labels,
            clips.targets,
            o.eval_batch_size,
            dev,
            o.progress,
        )
        rows.append(row)
        preds[key] = (cp, ap)
        log.info(
            "%s: clean %.1f%%, attacked %.1f%%, fooling %s%%",
            row.model,
            row.clean_acc,
            row.attacked_acc,
            row.fooling_rate,
        )
    return rows, preds


def _write_tables(out: Path, rows: list[TransferRow], preds: dict, clips: Clips, o: TransferOptions) -> None:
    with atomic_path(out / "transfer.csv") as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
    with atomic_path(out / "per_sample.csv") as tmp, tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "label", "target"] + [f"{k}_{w}" for k in preds for w in ("clean", "attacked")])
        for i, name in enumerate(clips.names):
            writer.writerow(
                [name, int(clips.labels[i]), int(clips.targets[i])]
                + [int(p[w][i]) for p in preds.values() for w in (0, 1)]
            )
    atomic_write_text(out / "transfer.md", markdown_table(rows, o.eps, o.split, len(clips.names), o.mode))


def add_arguments(p: argparse.ArgumentParser) -> None:
    io = p.add_argument_group("models, data and output")
    io.add_argument(
        "--checkpoint",
        "--source-checkpoint",
        dest="checkpoint",
        required=True,
        help="the attacked ST-GCN checkpoint, ours or official (--source-checkpoint: its old name)",
    )
    io.add_argument("--data", required=True, help="ST-GCN layout directory of the clips (NTU-25)")
    io.add_argument("--split", default="val", help="split to attack")
    io.add_argument(
        "--models",
        nargs="+",
        required=True,
        metavar="NAME=CKPT",
        help="transfer models: js=Js-AGCN, bs=Bs-AGCN, 2s=a two-stream checkpoint, pa_lstm=PA-LSTM, or any "
        "NAME=checkpoint; js+bs also give the 2s-AGCN ensemble",
    )
    io.add_argument("--adversarial", default=None, help="reuse perturbed clips from `python -m ciasa.attack --out DIR`")
    io.add_argument(
        "--allow-class-mismatch",
        action="store_true",
        help="accept checkpoints whose class names differ from the data's classes.json",
    )
    io.add_argument("--out", required=True, help="output directory")
    atk = p.add_argument_group("attack and running")
    atk.add_argument(
        "--mode",
        choices=("basic", "advanced"),
        default="basic",
        help="CIASA mode: basic (all joints, --eps) or advanced (legs, hierarchical eps; --eps unused)",
    )
    atk.add_argument(
        "--optimize",
        choices=("skeleton", "perturbation"),
        default="perturbation",
        help="CIASA formulation (docs/attacks.md)",
    )
    atk.add_argument(
        "--eps", type=_positive_float, default=DEFAULT_EPS, help="CIASA basic-mode clipping radius, metres"
    )
    atk.add_argument("--max-iter", type=cli.positive_int, default=100, help="CIASA iterations")
    atk.add_argument(
        "--limit", type=cli.positive_int, default=None, help="attack only this many clips (seeded random subset)"
    )
    atk.add_argument("--batch-size", type=cli.positive_int, default=16, help="clips per attack batch")
    atk.add_argument("--eval-batch-size", type=cli.positive_int, default=64, help="clips per classification batch")
    atk.add_argument("--seed", type=int, default=0, help="seed of the clip draw and the attack")
    cli.add_device_flag(atk)
    cli.add_threads_flag(atk)
    cli.add_logging_flags(p)
    cli.add_progress_flag(p)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def run_from_args(args: argparse.Namespace) -> int:
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    specs = parse_model_specs(args.models)  # checked before any work
    options = TransferOptions(
        split=args.split,
        eps=args.eps,
        max_iter=args.max_iter,
        limit=args.limit,
        batch_size=args.batch_size,
        eval_batch_size=args.eval_batch_size,
        adversarial=args.adversarial,
        device=args.device,
        seed=args.seed,
        progress=cli.show_progress(args),
        allow_class_mismatch=args.allow_class_mismatch,
        mode=args.mode,
        attack_options=dict(FORMULATIONS[args.optimize]),
    )
    summary = run_transfer(args.checkpoint, args.data, specs, args.out, options)
    print((Path(args.out) / "transfer.md").read_text())
    log.info("wrote %s (%.0f s)", args.out, summary["seconds"])
    return cli.EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser("python -m ciasa.experiments.transfer", __doc__.split("\n\n")[0])
    add_arguments(p)
    return p


main = cli.main_of(build_parser, run_from_args)


if __name__ == "__main__":
    sys.exit(main())
