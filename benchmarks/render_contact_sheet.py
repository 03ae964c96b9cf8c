"""Contact sheets of rendered frames, one per quality preset (docs/render_QUALITY.png): six
clips of the synthetic NTU-like set in their seeded scenes (cameras at 0 and +-45 deg),
two people, and the Kinect v2 RGB camera (16:9, 84 deg).

    .venv/bin/python benchmarks/render_contact_sheet.py [--quality draft,standard,photo]

Each tile is one frame from the middle of a clip, rendered at --resolution and shrunk to
--tile; the label names the preset, the camera and the scene.
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


def _jobs(ds) -> list[tuple[np.ndarray, str, str]]:
    """(clip, scene id, camera) per tile."""
    picks = [0, 3, 5, 8, 10, 12]
    two = np.zeros((3, ds.data.shape[2], 25, 2), np.float32)
    two[..., 0] = ds.data[picks[1], ..., 0] + np.array([0.45, 0, 0.2], np.float32)[:, None, None]
    two[..., 1] = ds.data[picks[2], ..., 0] + np.array([-0.45, 0, 0.6], np.float32)[:, None, None]
    return [
        (ds.data[picks[0]], ds.names[picks[0]], "default"),
        (ds.data[picks[3]], ds.names[picks[3]], "default"),
        (ds.data[picks[4]], ds.names[picks[4]], "default"),
        (ds.data[picks[5]], "scene-b", "default"),
        (two, "two-people", "default"),
        (ds.data[picks[0]], ds.names[picks[0]], "kinect-v2-rgb"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quality", default="draft,standard,photo", help="comma list of presets, one sheet each")
    ap.add_argument("--out-dir", type=Path, default=REPO / "docs", help="where render_QUALITY.png goes")
    ap.add_argument("--resolution", default="480x360", help="render size of the 4:3 tiles (16:9 tiles: same width)")
    ap.add_argument("--tile", default="240x180", help="tile size in the sheet")
    ap.add_argument("--cycles-samples", default="32", help="photo preset: samples per pixel")
    args = ap.parse_args()
    from PIL import Image, ImageDraw

    from ciasa.data.stgcn import load_split
    from ciasa.io import atomic_path

    tw, th = (int(v) for v in args.tile.split("x"))
    rw, rh = (int(v) for v in args.resolution.split("x"))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        subprocess.run(
            [sys.executable, "-m", "ciasa.data.synth", "--out", str(tmp / "synth"), "--subjects", "1-4"],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        ds = load_split(tmp / "synth" / "xview", "val")
        for quality in args.quality.split(","):
            tiles = []
            for k, (clip, scene, camera) in enumerate(_jobs(ds)):
                nz = np.nonzero(np.any(clip != 0, axis=(0, 2, 3)))[0]
                mid = int(nz[len(nz) // 2])
                np.save(tmp / f"{k}.npy", np.asarray(clip)[:, mid : mid + 1])  # one frame is enough for a still
                size = f"{rw}x{rw * 9 // 16 // 2 * 2}" if camera == "kinect-v2-rgb" else args.resolution
                cmd = [
                    sys.executable,
                    "-m",
                    "render",
                    "--skeleton",
                    str(tmp / f"{k}.npy"),
                    "--out",
                    str(tmp / quality / f"{k}.mp4"),
                    "--quality",
                    quality,
                    "--camera",
                    camera,
                    "--scene-id",
                    scene,
                    "--resolution",
                    size,
                    "--frames-dir",
                    str(tmp / quality / f"f{k}"),
                    "--threads",
                    "1",
                    "--no-progress",
                ]
                if quality == "photo":
                    cmd += ["--cycles-samples", args.cycles_samples]
                subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
                im = Image.open(tmp / quality / f"f{k}" / "000001.png").convert("RGB")
                im.thumbnail((tw, th), Image.LANCZOS)
                tile = Image.new("RGB", (tw, th), (24, 24, 24))
                tile.paste(im, ((tw - im.width) // 2, (th - im.height) // 2))
                label = f"{quality} / {camera if camera != 'default' else scene}"
                draw = ImageDraw.Draw(tile)
                draw.rectangle((0, 0, 7 * len(label) + 6, 13), fill=(255, 255, 255))
                draw.text((3, 1), label, fill=(0, 0, 0))
                tiles.append(tile)
                print(f"{quality} tile {k}: {camera} {scene} frame {mid}", flush=True)
            sheet = Image.new("RGB", (tw * 3, th * 2))
            for k, tile in enumerate(tiles):
                sheet.paste(tile, ((k % 3) * tw, (k // 3) * th))
            out = args.out_dir / f"render_{quality}.png"
            with atomic_path(out) as tmp_out:
                sheet.save(tmp_out, format="PNG", optimize=True)
            print(f"{out}: {out.stat().st_size / 1024:.0f} KB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
