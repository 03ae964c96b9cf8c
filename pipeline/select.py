"""Which clips the pipeline attacks, renders and re-classifies.

A selection is deterministic: the same data, config and shard give the same list on
any machine, so several machines can split the work (``--shard i/n``) and a render
farm can take any subset. Steps, in order:

1. candidates: every sample of the split, or the explicit ``--names`` (each must exist);
2. class filter (``--classes``): label indices, class names or NTU action codes (``A027``);
3. clips whose performance a fitted artefact was fitted on (``--exclude-fit-of``, see
   ``pipeline.fit_check``) leave the pool, logged and counted; a named clip among them is
   refused, naming the artefact;
4. ``--count`` clips drawn at random with ``--seed`` (all when 0; not with ``--names``),
   sorted by name;
5. shard ``i/n`` (1-based): every n-th clip starting at the i-th, so shards are disjoint,
   cover the selection and each gets a similar mix of classes.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ciasa import cli
from ciasa.cli import read_name_list
from ciasa.fit_record import performance_of
from ciasa.io import atomic_write_text

log = logging.getLogger(__name__)

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_ACTION_CODE = re.compile(r"^A(\d{3})$")


class SelectionError(cli.BadInput):
    """The clip selection asks for something the data does not have."""


def parse_shard(text: str | Sequence[int]) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; 1-based, ``1 <= i <= n``."""
    if isinstance(text, str):
        match = _SHARD.match(text)
        if not match:
            raise SelectionError(f"shard must look like 'i/n' (e.g. '1/4'), got {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
    else:
        index, count = (int(v) for v in text)
    if count < 1 or not 1 <= index <= count:
        raise SelectionError(f"shard {index}/{count}: need 1 <= i <= n (shards are numbered from 1)")
    return index, count


def resolve_classes(classes: Sequence[int | str], class_names: Sequence[str] | None, num_labels: int) -> set[int]:
    """Label indices for a mix of indices, class names and NTU action codes."""
    wanted: set[int] = set()
    for item in classes:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            label = int(item)
        elif isinstance(item, str) and item.strip().isdigit():
            label = int(item)
        elif isinstance(item, str) and _ACTION_CODE.match(item.strip()):
            label = _action_code_label(item.strip(), class_names)
        elif isinstance(item, str) and class_names is not None and item in class_names:
            label = list(class_names).index(item)
        else:
            known = "" if class_names is None else f"; known names: {', '.join(list(class_names)[:8])}..."
            raise SelectionError(
                f"class {item!r} is neither a label index, an action code (A001) nor a class name{known}"
            )
        if not 0 <= label < max(num_labels, len(class_names or ())):
            raise SelectionError(f"class {item!r} -> label {label}, outside the data's labels 0..{num_labels - 1}")
        wanted.add(label)
    return wanted


def _action_code_label(code: str, class_names: Sequence[str] | None) -> int:
    """NTU action code -> label: its position in ``class_names`` when the data set names its
    classes (a subset such as the demo set's 30), else the NTU numbering (A001 -> 0)."""
    from ciasa.data.ntu import NTU_ACTIONS

    number = int(code[1:])
    if class_names is not None and 1 <= number <= len(NTU_ACTIONS):
        name = NTU_ACTIONS[number - 1]
        if name in class_names:
            return list(class_names).index(name)
        if len(class_names) < len(NTU_ACTIONS):
            raise SelectionError(f"class {code} ({name}) is not one of the data set's classes")
    return number - 1


def select_clips(
    names: Sequence[str],
    labels: Sequence[int],
    *,
    count: int = 0,
    seed: int = 0,
    explicit: Sequence[str] = (),
    classes: Sequence[int | str] = (),
    class_names: Sequence[str] | None = None,
    shard: str | tuple[int, int] = "1/1",
    source: str = "the data",
    exclude: Mapping[str, str] | None = None,
) -> list[str]:
    """The selected clip names (see the module docstring for the rules). ``exclude``: clip
    performance (:func:`ciasa.fit_record.performance_of`) -> what was fitted on it."""
    names = list(names)
    labels = np.asarray(labels, dtype=np.int64)
    if len(names) != len(labels):
        raise SelectionError(f"{source}: {len(names)} names but {len(labels)} labels")
    if len(set(names)) != len(names):
        raise SelectionError(f"{source}: duplicate sample names; clips must be unique")
    index_of = {n: i for i, n in enumerate(names)}
    shard_index, shard_count = parse_shard(shard)

    if explicit:
        missing = [n for n in explicit if n not in index_of]
        if missing:
            raise SelectionError(
                f"{len(missing)} clip name(s) not in {source}: {', '.join(missing[:10])}"
                + (" ..." if len(missing) > 10 else "")
            )
        if len(set(explicit)) != len(explicit):
            raise SelectionError("the explicit clip list names a clip twice")
        fitted = [(n, exclude[performance_of(n)]) for n in explicit if exclude and performance_of(n) in exclude]
        if fitted:
            raise SelectionError(
                "named clip(s) among the fit samples of a fitted artefact: "
                + "; ".join(f"{n}: {what}" for n, what in fitted[:5])
                + (" ..." if len(fitted) > 5 else "")
                + " (choose other clips, refit the artefact, or set allow_fit_overlap: true)"
            )
        candidates = list(explicit)
    else:
        candidates = names
        if exclude:
            kept = [n for n in candidates if performance_of(n) not in exclude]
            if len(kept) < len(candidates):
                log.info(
                    "left %d of %d clips of %s out of the draw: fitted artefacts saw their performances",
                    len(candidates) - len(kept),
                    len(candidates),
                    source,
                )
            candidates = kept

    if classes:
        wanted = resolve_classes(classes, class_names, int(labels.max()) + 1 if len(labels) else 0)
        candidates = [n for n in candidates if int(labels[index_of[n]]) in wanted]
        if not candidates:
            raise SelectionError(f"no clip of {source} belongs to the classes {list(classes)}")

    if count < 0:
        raise SelectionError(f"count must be >= 0 (0 = all), got {count}")
    # An explicit list is taken whole: the count only sizes a random draw.
    if not explicit and count and count < len(candidates):
        rng = np.random.default_rng(seed)
        picked = rng.choice(len(candidates), size=count, replace=False)
        candidates = [candidates[i] for i in picked]
    elif not explicit and count > len(candidates):
        log.warning("asked for %d clips, %s has only %d candidates: taking all", count, source, len(candidates))

    chosen = sorted(candidates)
    return chosen[shard_index - 1 :: shard_count]


def write_clip_list(path: str | Path, clips: Sequence[str]) -> None:
    atomic_write_text(path, "".join(f"{c}\n" for c in clips))


def _name_lists(text: str) -> list[str]:
    """One ``--names`` value: a comma list or ``@FILE`` (the CLI convention)."""
    return cli.parse_names(text)


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(
        "python -m pipeline.select",
        "Select clips of an ST-GCN layout split (count+seed, explicit list, class filter, shard) "
        "and write their names, one per line.",
    )
    p.add_argument("--data", required=True, help="ST-GCN layout directory ({split}_label.pkl)")
    p.add_argument("--split", default="val", help="split to draw from")
    p.add_argument("--count", type=int, default=0, help="number of random clips; 0 = all")
    p.add_argument("--seed", type=int, default=0, help="seed of the random draw")
    p.add_argument(
        "--names",
        nargs="*",
        type=_name_lists,
        default=[],
        help="explicit clip names (override the random draw): comma lists or @FILE "
        "(one name per line, '#' starts a comment)",
    )
    p.add_argument("--names-file", help="file with explicit clip names, one per line (same as --names @FILE)")
    p.add_argument("--classes", nargs="*", default=[], help="keep only these classes (index, name or A027)")
    p.add_argument("--shard", default="1/1", help="i/n: keep the i-th of n interleaved shards (1-based)")
    p.add_argument(
        "--exclude-fit-of",
        action="append",
        default=[],
        metavar="ARTEFACT",
        help="a fitted artefact (error model, refiner, body-prior record; repeatable): clips whose "
        "performance it was fitted on leave the random draw, and naming one is an error",
    )
    p.add_argument("--out", required=True, help="output text file")
    cli.add_logging_flags(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ciasa.data.stgcn import load_class_names, load_labels, split_paths

    _, label_path = split_paths(args.data, args.split)
    names, labels = load_labels(label_path)
    explicit = [n for group in args.names for n in group]
    explicit += read_name_list(args.names_file) if args.names_file else []
    from pipeline.fit_check import exclusions, load_record

    exclude = exclusions(load_record(path) for path in args.exclude_fit_of)
    try:
        clips = select_clips(
            names,
            labels,
            count=args.count,
            seed=args.seed,
            explicit=explicit,
            classes=args.classes,
            class_names=load_class_names(args.data),
            shard=args.shard,
            source=str(label_path),
            exclude=exclude,
        )
    except SelectionError as err:
        raise cli.BadInput(str(err)) from None
    if not clips:
        raise cli.BadInput(f"the selection is empty (shard {args.shard} of {len(names)} samples)")
    write_clip_list(args.out, clips)
    log.info("selected %d clip(s) -> %s", len(clips), args.out)
    return cli.EXIT_OK


main = cli.main_of(build_parser, run)


if __name__ == "__main__":
    raise SystemExit(main())
