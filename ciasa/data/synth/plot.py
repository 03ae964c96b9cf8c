"""Skeleton strips: a few sequences per class, frames left to right, as the sensor sees them.

Points are projected like an image (``u = -x / z``, ``v = y / z``), so a subject
facing the sensor shows its left side (blue) on the right of the drawing, as in a
photo. Right-side bones are red, the trunk grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ciasa.skeleton import NTU_RGBD


def _bone_colour(child: int) -> str:
    name = NTU_RGBD.joint_names[child]
    if name.startswith("left_"):
        return "tab:blue"
    if name.startswith("right_"):
        return "tab:red"
    return "0.35"


def plot_strips(
    rows: Sequence[Sequence[np.ndarray]],
    row_titles: Sequence[str],
    path: str | Path,
    frames_per_strip: int = 8,
    strip_titles: Sequence[Sequence[str]] | None = None,
) -> None:
    """``rows[i]`` holds clips (3, T, 25, M) of class i; each clip becomes one strip of frames."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from ciasa.io import atomic_path

    n_rows = len(rows)
    n_cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(6.2 * n_cols, 1.55 * n_rows), squeeze=False)
    for i, clips in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_axis_off()
            if j >= len(clips):
                continue
            clip = np.asarray(clips[j])[..., 0]  # first body: (3, T, 25)
            t_total = clip.shape[1]
            idx = np.linspace(0, t_total - 1, frames_per_strip).round().astype(int)
            # pinhole projection, rescaled by the clip's median depth so every body is drawn
            # at about its metric size whatever its distance from the sensor
            depth = float(np.median(clip[2, :, 0]))
            u = -clip[0] / clip[2] * depth
            v = clip[1] / clip[2] * depth
            # one vertical scale per clip; frames side by side, spaced by the body's width
            step = 0.85
            segments, colours, heads = [], [], []
            for k, t in enumerate(idx):
                du = k * step - np.median(u[t_total // 2])
                for child, parent in NTU_RGBD.bones:
                    segments.append([(u[t, child] + du, v[t, child]), (u[t, parent] + du, v[t, parent])])
                    colours.append(_bone_colour(child))
                heads.append((u[t, 3] + du, v[t, 3]))
            ax.add_collection(LineCollection(segments, colors=colours, linewidths=1.3, capstyle="round"))
            hx, hy = zip(*heads)
            ax.plot(hx, hy, "o", color="0.35", ms=3.5)
            ax.set_aspect("equal")
            ax.set_xlim(-0.7, (frames_per_strip - 1) * step + 0.7)
            ax.set_ylim(v.min() - 0.02, v.max() + 0.02)
            title = row_titles[i] if j == 0 else ""
            if strip_titles is not None:
                title = f"{title}  {strip_titles[i][j]}".strip()
            ax.set_title(title, fontsize=8, loc="left")
    fig.suptitle(
        "synthetic classes as the sensor sees them: frames left to right, left limbs blue, right limbs red",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)
