"""Render stage: NTU-25 skeleton clips to RGB videos of rigged humans in headless Blender.

Skeletons in, videos out; this package knows Blender (``bpy``) and nothing of attacks.

    from render import RenderOptions, render_clip
    report = render_clip("CLIP.npy", "CLIP.mp4", RenderOptions(quality="standard"), scene_id="S001C001P001R001A001")

writes CLIP.mp4, CLIP.camera.json (a :class:`ciasa.camera.Camera`) and CLIP.render.json.
CLI: ``python -m render --help`` and ``python -m render batch --help``. See docs/render.md.
"""

from render.clip import Renderer, RenderInputError, RenderOptions, render_clip

__all__ = ["RenderInputError", "RenderOptions", "Renderer", "render_clip"]
