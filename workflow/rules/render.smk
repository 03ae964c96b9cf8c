# Stage 4: render each (clip, condition) skeleton the attack wrote; one job each, both
# conditions of a clip share the scene and body (--scene-id CLIP).


rule render_video:
    input:
        # the shard's attack wrote both skeletons of the clip (ciasa.attack --clips-out)
        attack=P.attack_summary(),
    output:
        video=P.video(),
        camera=P.camera(),
        info=P.render_info(),
    params:
        skeleton=P.skeleton(),
        # floor, back wall and body girth come from the clean clip in both conditions
        reference=P.skeleton(condition="clean"),
        engine=config["render"]["engine"],
        body=config["render"]["body"],
        resolution=config["render"]["resolution"],
        fps=config["render"]["fps"],
        hfov=config["render"]["hfov"],
        on_failure=config["render"]["on_failure"],
        flags=flags(config["render"]["options"]),
    log:
        log_path("render_video", "{clip}/{condition}"),
    benchmark:
        bench_path("render_video", "{clip}/{condition}")
    threads: res("render_video", "threads", 1)
    resources:
        mem_mb=res("render_video", "mem_mb", 3000),
        runtime=res("render_video", "runtime", 30),
    shell:
        "{PY} -m pipeline.guard --stage render --on-failure {params.on_failure} --record {output.info} "
        "--outputs {output.video} {output.camera} --size {params.resolution} --hfov {params.hfov} --fps {params.fps} -- "
        "{PY} -m render --skeleton {params.skeleton} --reference {params.reference} --out {output.video} "
        "--scene-id {wildcards.clip} --engine {params.engine} "
        "--body {params.body} --resolution {params.resolution} --fps {params.fps} --hfov {params.hfov} {params.flags} "
        "> {log} 2>&1"
