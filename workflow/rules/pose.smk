# Stage 5: pose extraction, one job per clip (its conditions), and the overlay videos the report shows.


rule extract_pose:
    """A clip's videos, every condition, in one process (python -m pose_extract clip): Python's and
    MediaPipe's start-up (about 1.5 s of a 64-frame video's 2.5 s) is paid once per clip. Each video
    keeps its own outputs and its own failure record: with pose.on_failure record, a video in which
    nobody is found is recorded as failed (ciasa.failure) and the clip's other conditions still count."""
    input:
        **{f"video_{c}": P.video(condition=c) for c in CONDS},
        **{f"camera_{c}": P.camera(condition=c) for c in CONDS},
        # the render's record: pose_extract checks the video's frame count against it
        **{f"info_{c}": P.render_info(condition=c) for c in CONDS},
    output:
        **{f"skeleton_{c}": P.pose(condition=c) for c in CONDS},
        **{f"info_{c}": P.pose_info(condition=c) for c in CONDS},
        **{f"landmarks_{c}": P.pose_landmarks(condition=c) for c in CONDS},
    params:
        pairs=lambda wc, input, output: " ".join(
            f"--pair {getattr(input, f'video_{c}')} {getattr(input, f'camera_{c}')} {getattr(output, f'skeleton_{c}')}"
            for c in CONDS
        ),
        on_failure=config["pose"]["on_failure"],
        flags=flags(config["pose"]["options"], pipeline_config.POSE_NEGATABLE),
        rules=" ".join(f"--rule {k}={v}" for k, v in config["pose"]["rules"].items()),
    log:
        log_path("extract_pose", "{clip}"),
    benchmark:
        bench_path("extract_pose", "{clip}")
    conda:
        CONDA_ENV
    threads: res("extract_pose", "threads")
    resources:
        mem_mb=res("extract_pose", "mem_mb"),
        runtime=res("extract_pose", "runtime"),
    shell:
        "$PY -m pose_extract clip {params.pairs} --on-failure {params.on_failure} --quiet "
        "{params.flags} {params.rules} > {log} 2>&1"


rule overlay_video:
    input:
        video=P.video(),
        camera=P.camera(),
        recovered=P.pose(),
        pose_info=P.pose_info(),
        source=P.skeleton(),  # the skeleton the video was rendered from
        # the perturbed video rings the joints the attack moved (> 1 cm from the clean skeleton);
        # the control's moved joints are not ringed (the overlay's legend says "by the attack")
        reference=lambda wc: P.skeleton(wc.clip, "clean") if wc.condition == "perturbed" else [],
    output:
        report(
            P.media(),
            caption="../report/video.rst",
            category="Videos",
            subcategory="{clip}",
            labels={"clip": "{clip}", "condition": "{condition}"},
        ),
    params:
        reference=lambda wc, input: f"--reference {input.reference}" if input.reference else "",
        color=lambda wc: {"clean": "green", "control": "blue"}.get(wc.condition, "red"),
    log:
        log_path("overlay_video", "{clip}/{condition}"),
    benchmark:
        bench_path("overlay_video", "{clip}/{condition}")
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("overlay_video", "mem_mb"),
        runtime=res("overlay_video", "runtime"),
    shell:
        "$PY -m pipeline.overlay --video {input.video} --camera {input.camera} --recovered {input.recovered} "
        "--pose-info {input.pose_info} --source {input.source} {params.reference} --color {params.color} "
        "--label '{wildcards.condition}' --out {output} > {log} 2>&1"
