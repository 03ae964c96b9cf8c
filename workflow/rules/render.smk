# Stage 4: render a clip's skeletons the attack wrote, every condition (clean, control,
# perturbed: CONDS) in one job and one Blender session: Blender's start-up (about a quarter
# of a 64-frame draft render) is paid once per clip, and each condition still gets its own
# video, camera and render files. All conditions share the scene and body (--scene-id CLIP),
# and floor, walls and girth come from the clean clip. A farm still reruns a single clip.


def render_outputs(wildcards=None):
    files = {}
    for c in CONDS:
        files[f"video_{c}"] = P.video(condition=c)
        files[f"camera_{c}"] = P.camera(condition=c)
        files[f"info_{c}"] = P.render_info(condition=c)
    return files


rule render_video:
    input:
        # the shard's attack wrote every skeleton of the clip (ciasa.attack --clips-out)
        attack=P.attack_summary(),
    output:
        **render_outputs(),
    params:
        pairs=lambda wc: " ".join(f"--skeleton {P.skeleton(wc.clip, c)} --out {P.video(wc.clip, c)}" for c in CONDS),
        # the guard records a failed job in the first condition's render.json and writes failure
        # cards for every other output (the clip then counts as failed in every condition)
        record=lambda wc: P.render_info(wc.clip, CONDS[0]),
        placeholders=lambda wc: " ".join(
            [P.video(wc.clip, c) for c in CONDS] + [P.camera(wc.clip, c) for c in CONDS]
            + [P.render_info(wc.clip, c) for c in CONDS[1:]]
        ),
        # floor, back wall and body girth come from the clean clip in every condition
        reference=P.skeleton(condition="clean"),
        quality=config["render"]["quality"],
        camera=config["render"]["camera"],
        # engine and body override the quality preset only when the config names them
        engine=f"--engine {e}" if (e := config["render"].get("engine")) else "",
        body=f"--body {b}" if (b := config["render"].get("body")) else "",
        resolution=config["render"]["resolution"],
        fps=config["render"]["fps"],
        # the Kinect v2 RGB camera fixes its own field of view
        hfov_flag=f"--hfov {config['render']['hfov']}" if config["render"]["camera"] == "default" else "",
        guard_hfov=config["render"]["hfov"] if config["render"]["camera"] == "default" else 84.1,
        on_failure=config["render"]["on_failure"],
        flags=flags(config["render"]["options"]),
    log:
        log_path("render_video", "{clip}"),
    benchmark:
        bench_path("render_video", "{clip}")
    threads: res("render_video", "threads", 1)
    resources:
        mem_mb=res("render_video", "mem_mb", 3000),
        runtime=res("render_video", "runtime", 30),
    shell:
        "{PY} -m pipeline.guard --stage render --on-failure {params.on_failure} --record {params.record} "
        "--outputs {params.placeholders} --size {params.resolution} --hfov {params.guard_hfov} --fps {params.fps} -- "
        "{PY} -m render {params.pairs} --reference {params.reference} "
        "--scene-id {wildcards.clip} --quality {params.quality} --camera {params.camera} {params.engine} {params.body} "
        "--resolution {params.resolution} --fps {params.fps} {params.hfov_flag} --threads {threads} --no-progress "
        "{params.flags} > {log} 2>&1"
