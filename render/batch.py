"""Batch rendering: many clips of ST-GCN layout data in one Blender session.

Bodies are built once and only re-animated per clip, so a short clip costs little more
than its frames. Each clip's scene id is its sample name: the clean and the perturbed
data of one sample render with the same scene and body, wherever and in whichever batch
they run. Clips whose three outputs exist are skipped (an interrupted batch resumes);
a failing clip is logged and reported, and the others still render.
"""

from __future__ import annotations

import errno
import logging
import time
from pathlib import Path

from ciasa.cli import BadInput, UnknownName
from ciasa.io import atomic_write_json
from render.clip import Renderer, RenderOptions

log = logging.getLogger(__name__)


def parse_conditions(data: list[str] | str) -> list[tuple[str | None, Path]]:
    """``["DIR"]`` or ``["clean=DIR1", "adv=DIR2"]`` -> [(label or None, dir)]."""
    items = [data] if isinstance(data, str) else list(data)
    out: list[tuple[str | None, Path]] = []
    for item in items:
        label, sep, path = item.partition("=")
        out.append((label, Path(path)) if sep else (None, Path(item)))
    labels = [lab for lab, _ in out]
    if len(out) > 1 and (None in labels or len(set(labels)) != len(labels)):
        raise BadInput("several --data directories need distinct labels: --data clean=DIR1 --data adv=DIR2")
    return out


def read_names(names: list[str] | None, names_file: str | Path | None) -> list[str] | None:
    """Names given directly, else read from a file (one per line, '#' comments), else all (None)."""
    if names_file is not None:
        from ciasa.cli import read_name_list

        return read_name_list(names_file)
    return [n.strip() for n in names if n.strip()] if names else None


def outputs_of(video: Path) -> tuple[Path, Path, Path]:
    return video, video.with_suffix(".camera.json"), video.with_suffix(".render.json")


def render_batch(
    data: list[str] | str,
    split: str,
    out_dir: str | Path,
    options: RenderOptions | None = None,
    *,
    names: list[str] | None = None,
    names_file: str | Path | None = None,
    limit: int | None = None,
    overwrite: bool = False,
    renderer: Renderer | None = None,
    frames_dir: str | Path | None = None,
    progress: bool | None = None,
) -> dict:
    """Render the named samples (default: all) of every ``data`` condition to ``out_dir``."""
    from ciasa.data.stgcn import load_split

    out_dir = Path(out_dir)
    conditions = parse_conditions(data)
    wanted = read_names(names, names_file)
    jobs = []
    first = None
    for label, directory in conditions:
        ds = load_split(directory, split, mmap=True)
        index = {n: i for i, n in enumerate(ds.names)}
        # The first condition (the clean data) fixes floor, wall and girth for the others.
        reference = first
        first = first or (ds, index)
        chosen = wanted if wanted is not None else list(ds.names)
        missing = [n for n in chosen if n not in index]
        if missing:
            raise UnknownName(
                f"{directory} ({split}): no samples named {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
            )
        if limit is not None:
            chosen = chosen[:limit]
        target = out_dir / label if label else out_dir
        jobs.extend((ds, index[n], n, target / f"{n}.mp4", reference, label) for n in chosen)

    summary: dict = {"rendered": 0, "skipped": 0, "failed": [], "clips": []}
    todo = [j for j in jobs if overwrite or not all(p.is_file() for p in outputs_of(j[3]))]
    summary["skipped"] = len(jobs) - len(todo)
    if summary["skipped"]:
        log.info("batch: %d of %d clips already rendered, skipping them", summary["skipped"], len(jobs))
    if not todo:
        return summary
    t0 = time.perf_counter()
    renderer = renderer or Renderer(options, progress=progress)
    summary["startup_s"] = round(time.perf_counter() - t0, 4)
    from tqdm import tqdm

    from ciasa.video import EncodeError
    from render.blender import BlenderError

    bar_off = None if progress is None or progress else True
    for ds, i, name, video, reference, label in tqdm(todo, desc="render batch", unit="clip", disable=bar_off):
        t_clip = time.perf_counter()
        try:
            ref = None
            if reference is not None:
                ref_ds, ref_index = reference
                if name not in ref_index:
                    raise UnknownName(f"{name} is not in the first (reference) condition {ref_ds.source}")
                ref = ref_ds.data[ref_index[name]]
            frames = None
            if frames_dir is not None:
                frames = Path(frames_dir) / label / name if label else Path(frames_dir) / name
            report = renderer.render(
                ds.data[i], video, scene_id=name, source=f"{ds.source}[{name}]", reference=ref, frames_dir=frames
            )
        except OSError as err:
            if err.errno == errno.ENOSPC:  # every later clip would fail the same way
                raise
            log.error("%s: %s", name, err)
            summary["failed"].append({"name": name, "video": str(video), "error": f"{type(err).__name__}: {err}"})
            continue
        except (BlenderError, EncodeError, BadInput) as err:  # one clip failing must not stop a long batch; a bug does
            log.error("%s: %s", name, err)
            summary["failed"].append({"name": name, "video": str(video), "error": f"{type(err).__name__}: {err}"})
            continue
        summary["rendered"] += 1
        summary["clips"].append(
            {
                "name": name,
                "video": str(video),
                "frames": report.frames_rendered,
                "seconds": round(time.perf_counter() - t_clip, 4),
                "render_s": report.seconds.get("render_s"),
            }
        )
    summary["total_s"] = round(time.perf_counter() - t0, 4)
    atomic_write_json(out_dir / f"batch_{split}.json", summary)
    return summary
