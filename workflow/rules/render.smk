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
        log_path("render_video", "{clip}/{condition}"),
    benchmark:
        bench_path("render_video", "{clip}/{condition}")
    threads: res("render_video", "threads", 1)
    resources:
        mem_mb=res("render_video", "mem_mb", 3000),
        runtime=res("render_video", "runtime", 30),
    shell:
        "{PY} -m pipeline.guard --stage render --on-failure {params.on_failure} --record {output.info} "
        "--outputs {output.video} {output.camera} --size {params.resolution} --hfov {params.guard_hfov} --fps {params.fps} -- "
        "{PY} -m render --skeleton {params.skeleton} --reference {params.reference} --out {output.video} "
        "--scene-id {wildcards.clip} --quality {params.quality} --camera {params.camera} {params.engine} {params.body} "
        "--resolution {params.resolution} --fps {params.fps} {params.hfov_flag} --threads {threads} --no-progress "
        "{params.flags} > {log} 2>&1"
