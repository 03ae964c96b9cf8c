# Stage 4: render a clip's skeletons (export_skeletons' files), every condition (clean, control,
# perturbed: CONDS) in one job and one Blender session: Blender's start-up (about a quarter
# of a 64-frame draft render) is paid once per clip, and each condition still gets its own
# video, camera and render files. All conditions share the scene and body (--scene-id CLIP),
# and floor, walls and girth come from the clean clip. A farm still reruns a single clip.

from render.quality import camera_preset

# The horizontal field of view of the videos: the config's for the sensor camera, the
# preset's own for a named camera (render.quality.CAMERAS, e.g. the Kinect v2 RGB camera).
# The guard's failure camera files get the same one the renderer uses.
RENDER_HFOV = (
    config["render"]["hfov"] if config["render"]["camera"] == "default"
    else camera_preset(config["render"]["camera"]).hfov_deg
)


rule render_video:
    input:
        # the clip's skeleton in every condition (export_skeletons); floor, back wall and body
        # girth come from the clean one (--reference) in every condition
        **{c: P.skeleton(condition=c) for c in CONDS},
    output:
        **{f"video_{c}": P.video(condition=c) for c in CONDS},
        **{f"camera_{c}": P.camera(condition=c) for c in CONDS},
        **{f"info_{c}": P.render_info(condition=c) for c in CONDS},
    params:
        pairs=lambda wc, input, output: " ".join(
            f"--skeleton {getattr(input, c)} --out {getattr(output, f'video_{c}')}" for c in CONDS
        ),
        # the guard records a failed job in the first condition's render.json and writes failure
        # cards for every other output (the clip then counts as failed in every condition)
        record=lambda wc: P.render_info(wc.clip, CONDS[0]),
        placeholders=lambda wc: " ".join(
            [P.video(wc.clip, c) for c in CONDS] + [P.camera(wc.clip, c) for c in CONDS]
            + [P.render_info(wc.clip, c) for c in CONDS[1:]]
        ),
        quality=config["render"]["quality"],
        camera=config["render"]["camera"],
        # engine and body override the quality preset only when the config names them
        engine=f"--engine {e}" if (e := config["render"].get("engine")) else "",
        body=f"--body {b}" if (b := config["render"].get("body")) else "",
        resolution=config["render"]["resolution"],
        fps=config["render"]["fps"],
        # a named camera (the Kinect v2 RGB camera) fixes its own field of view
        hfov_flag=f"--hfov {RENDER_HFOV}" if config["render"]["camera"] == "default" else "",
        guard_hfov=RENDER_HFOV,
        on_failure=config["render"]["on_failure"],
        flags=flags(config["render"]["options"]),
    log:
        log_path("render_video", "{clip}"),
    benchmark:
        bench_path("render_video", "{clip}")
    conda:
        CONDA_ENV
    threads: res("render_video", "threads")
    resources:
        mem_mb=res("render_video", "mem_mb"),
        runtime=res("render_video", "runtime"),
    shell:
        "$PY -m pipeline.guard --stage render --on-failure {params.on_failure} --record {params.record} "
        "--outputs {params.placeholders} --size {params.resolution} --hfov {params.guard_hfov} --fps {params.fps} -- "
        "$PY -m render {params.pairs} --reference {input.clean} "
        "--scene-id {wildcards.clip} --quality {params.quality} --camera {params.camera} {params.engine} {params.body} "
        "--resolution {params.resolution} --fps {params.fps} {params.hfov_flag} --threads {threads} --no-progress "
        "{params.flags} > {log} 2>&1"
