"""What a fitted artefact was fitted on, and whether an evaluated clip was among it.

A round-trip error model, the pose refiner or the body-size prior is fitted on renders or
skeletons of some clips. An evaluation on those same clips (or on another camera's view
of the same performance) measures the fit, not the method, so every shipped artefact
records ``fit_samples`` (the sample names it saw) and ``fit_split`` (the benchmark and
split they came from, e.g. ``"xview/train"``), optionally ``fit_data`` (which data set the
names belong to, e.g. ``"synth seed=0"``: the synthetic set borrows NTU's naming, so its
``S001C002P003R001A027`` is not real NTU's), and every loader refuses an artefact
without them (:func:`require_fit_record`; a ``ValueError`` naming the file, exit 2 in
the command lines). The pipeline compares the record with its clip selection at
start-up (``pipeline.fit_check``).

Sample names of the NTU form ``SsssCcccPpppRrrrAaaa`` are compared by *performance*
(setup, performer, replication, action: the camera left out), because NTU films one
performance with three cameras and a second view of a clip is the same clip. Other
names (e.g. real motion-capture clips) are compared as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ciasa.cli import BadInput

_NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


class FitRecordError(BadInput):
    """An artefact does not say what it was fitted on, or says it wrongly."""


@dataclass(frozen=True)
class FitRecord:
    """The sample names an artefact was fitted on and the split they came from."""

    samples: tuple[str, ...]
    split: str
    source: str  # the artefact's file, for messages
    data: str | None = None  # the data set the names belong to; None: unknown (compare with any)

    def performances(self) -> dict[str, str]:
        """Performance key -> the first fit sample of that performance."""
        out: dict[str, str] = {}
        for name in self.samples:
            out.setdefault(performance_of(name), name)
        return out


def performance_of(name: str) -> str:
    """``S001C002P003R001A027`` -> ``S001P003R001A027`` (the camera dropped); a path prefix
    (``train_fit/NAME``) is ignored; names that are not NTU sample names stay as they are."""
    stem = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    m = _NTU_NAME.search(stem)
    if m is None:
        return stem
    s, _, p, r, a = m.groups()
    return f"S{s}P{p}R{r}A{a}"


def require_fit_record(doc: Mapping | None, source: str) -> FitRecord:
    """The :class:`FitRecord` of an artefact's metadata ``doc``, or :class:`FitRecordError`
    naming ``source`` when ``fit_samples`` / ``fit_split`` are missing or malformed."""
    if not isinstance(doc, Mapping):
        raise FitRecordError(
            f"{source}: the artefact's metadata is not a mapping, so it cannot say what it was fitted on"
        )
    samples = doc.get("fit_samples")
    if samples is None:
        raise FitRecordError(
            f"{source}: no 'fit_samples' (the sample names it was fitted on): an artefact that does not say what "
            "it was fitted on cannot be checked against the evaluated clips; refit it with "
            "benchmarks/fit_pose_artefacts.py, which records them"
        )
    if not isinstance(samples, list) or not samples or not all(isinstance(s, str) and s for s in samples):
        raise FitRecordError(f"{source}: 'fit_samples' must be a non-empty list of sample names")
    split = doc.get("fit_split")
    if not isinstance(split, str) or not split:
        raise FitRecordError(
            f"{source}: no 'fit_split' (the benchmark/split its fit samples came from, e.g. 'xview/train')"
        )
    data = doc.get("fit_data")
    if data is not None and (not isinstance(data, str) or not data):
        raise FitRecordError(f"{source}: 'fit_data' must name the data set of the fit samples (e.g. 'synth seed=0')")
    return FitRecord(tuple(samples), split, source, data)


def overlapping(clips: Iterable[str], record: FitRecord) -> list[tuple[str, str]]:
    """(clip, fit sample) for every clip whose performance the artefact was fitted on."""
    seen = record.performances()
    return [(c, seen[performance_of(c)]) for c in clips if performance_of(c) in seen]
