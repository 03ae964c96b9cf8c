# Stage 4: export each (clip, condition) skeleton and render it; one job each, both
# conditions of a clip share the scene and body (--scene-id CLIP).


def skeleton_source(wildcards):
    """Clean clips come from the data set, perturbed ones from the clip's attack output."""
    if wildcards.condition == "clean":
        return split_files(DATA, SPLIT)
    return split_files(P.attack_dir(wildcards.clip), SPLIT)


rule export_skeleton:
    input:
        unpack(skeleton_source),
    output:
        P.skeleton(),
    params:
        data=lambda wc, input: str(Path(input.data).parent),
    log:
        log_path("export_skeleton", "{clip}/{condition}"),
    benchmark:
        bench_path("export_skeleton", "{clip}/{condition}")
    resources:
        mem_mb=res("export_skeleton", "mem_mb", 1000),
        runtime=res("export_skeleton", "runtime", 5),
    shell:
        "{PY} -m pipeline.export --data {params.data} --split {SPLIT} --name {wildcards.clip} "
        "--out {output} > {log} 2>&1"


rule render_video:
    input:
        skeleton=P.skeleton(),
        # floor, back wall and body girth come from the clean clip in both conditions
        reference=P.skeleton(condition="clean"),
    output:
        video=P.video(),
        camera=P.camera(),
        info=P.render_info(),
    params:
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
        "{PY} -m render --skeleton {input.skeleton} --reference {input.reference} --out {output.video} "
        "--scene-id {wildcards.clip} --engine {params.engine} "
        "--body {params.body} --resolution {params.resolution} --fps {params.fps} --hfov {params.hfov} {params.flags} "
        "> {log} 2>&1"
