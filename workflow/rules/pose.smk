# Stage 5: pose extraction, one job per video, and the overlay videos the report shows.


rule extract_pose:
    input:
        video=P.video(),
        camera=P.camera(),
        info=P.render_info(),
    output:
        skeleton=P.pose(),
        info=P.pose_info(),
        landmarks=P.pose_landmarks(),
    params:
        on_failure=config["pose"]["on_failure"],
        flags=flags(config["pose"]["options"], negatable=("smooth", "rays", "redetect")),
        rules=" ".join(f"--rule {k}={v}" for k, v in config["pose"]["rules"].items()),
    log:
        log_path("extract_pose", "{clip}/{condition}"),
    benchmark:
        bench_path("extract_pose", "{clip}/{condition}")
    threads: res("extract_pose", "threads", 1)
    resources:
        mem_mb=res("extract_pose", "mem_mb", 2000),
        runtime=res("extract_pose", "runtime", 20),
    shell:
        "{PY} -m pipeline.guard --stage pose --on-failure {params.on_failure} --record {output.info} "
        "--outputs {output.skeleton} {output.landmarks} -- "
        "{PY} -m pose_extract --video {input.video} --camera {input.camera} --out {output.skeleton} --quiet "
        "{params.flags} {params.rules} > {log} 2>&1"


rule overlay_video:
    input:
        video=P.video(),
        camera=P.camera(),
        recovered=P.pose(),
        pose_info=P.pose_info(),
        attack=P.attack_summary(),  # the source skeleton below is the attack's
    output:
        report(
            P.media(),
            caption="../report/video.rst",
            category="Videos",
            subcategory="{clip}",
            labels={"clip": "{clip}", "condition": "{condition}"},
        ),
    params:
        source=P.skeleton(),
        # the perturbed video rings the joints the attack moved (> 1 cm from the clean skeleton);
        # the control's moved joints are not ringed (the overlay's legend says "by the attack")
        reference=lambda wc: f"--reference {P.skeleton(wc.clip, 'clean')}" if wc.condition == "perturbed" else "",
        color=lambda wc: {"clean": "green", "control": "blue"}.get(wc.condition, "red"),
    log:
        log_path("overlay_video", "{clip}/{condition}"),
    benchmark:
        bench_path("overlay_video", "{clip}/{condition}")
    resources:
        mem_mb=res("overlay_video", "mem_mb", 1500),
        runtime=res("overlay_video", "runtime", 10),
    shell:
        "{PY} -m pipeline.overlay --video {input.video} --camera {input.camera} --recovered {input.recovered} "
        "--pose-info {input.pose_info} --source {params.source} {params.reference} --color {params.color} "
        "--label '{wildcards.condition}' --out {output} > {log} 2>&1"
