"""Contact sheet of rendered frames (docs/render_contact_sheet.png): both bodies, several
seeded scenes and appearances, Workbench and Cycles, one and two people, clips of the
synthetic NTU-like set.

    .venv/bin/python benchmarks/render_contact_sheet.py [--out docs/render_contact_sheet.png]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "render_contact_sheet.png")
    ap.add_argument("--tile", default="240x180")
    args = ap.parse_args()
    from PIL import Image, ImageDraw

    from ciasa.data.stgcn import load_split
    from ciasa.io import atomic_path

    tw, th = (int(v) for v in args.tile.split("x"))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        subprocess.run([sys.executable, "-m", "ciasa.data.synth", "--out", str(tmp / "synth"), "--subjects", "1-4"],
                       check=True, capture_output=True, cwd=REPO)
        ds = load_split(tmp / "synth" / "xview", "val")
        picks = [0, 3, 5, 8, 10, 12]
        two = np.zeros((3, ds.data.shape[2], 25, 2), np.float32)
        two[..., 0] = ds.data[picks[1], ..., 0] + np.array([0.45, 0, 0.2], np.float32)[:, None, None]
        two[..., 1] = ds.data[picks[2], ..., 0] + np.array([-0.45, 0, 0.6], np.float32)[:, None, None]
        jobs = [
            (ds.data[picks[0]], "default", "workbench", ds.names[picks[0]]),
            (ds.data[picks[3]], "default", "workbench", ds.names[picks[3]]),
            (ds.data[picks[4]], "makehuman", "workbench", ds.names[picks[4]]),
            (ds.data[picks[5]], "makehuman", "workbench", "scene-b"),
            (ds.data[picks[0]], "default", "cycles", ds.names[picks[0]]),
            (two, "default", "workbench", "two-people"),
        ]
        tiles = []
        for k, (clip, body, engine, scene) in enumerate(jobs):
            t = clip.shape[1]
            nz = np.nonzero(np.any(clip != 0, axis=(0, 2, 3)))[0]
            mid = int(nz[len(nz) // 2])
            short = np.asarray(clip)[:, mid: mid + 1]  # one frame is enough for a still
            np.save(tmp / f"{k}.npy", short)
            subprocess.run([sys.executable, "-m", "render", "--skeleton", str(tmp / f"{k}.npy"), "--out",
                            str(tmp / f"{k}.mp4"), "--body", body, "--engine", engine, "--scene-id", scene,
                            "--resolution", "480x360", "--frames-dir", str(tmp / f"f{k}")],
                           check=True, capture_output=True, cwd=REPO)
            im = Image.open(tmp / f"f{k}" / "000001.png").convert("RGB").resize((tw, th), Image.LANCZOS)
            ImageDraw.Draw(im).text((4, 3), f"{body} / {engine}", fill=(20, 20, 20))
            tiles.append(im)
            print(f"tile {k}: {body} {engine} {scene} frame {mid}/{t}", flush=True)
    sheet = Image.new("RGB", (tw * 3, th * 2))
    for k, im in enumerate(tiles):
        sheet.paste(im, ((k % 3) * tw, (k // 3) * th))
    with atomic_path(args.out) as tmp_out:
        sheet.save(tmp_out, format="PNG", optimize=True)
    print(f"{args.out}: {args.out.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
