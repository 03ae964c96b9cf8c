# Stage 7: skeleton strips and the report.


rule plot_strip:
    """The clip's strip, drawn with OpenCV from the arrays (pipeline.strip): every condition's
    source skeleton on top, the skeleton recovered from each video below."""
    input:
        source=[P.skeleton(condition=c) for c in CONDS],
        recovered=[P.pose(condition=c) for c in CONDS],
        info=[P.pose_info(condition=c) for c in CONDS],
    output:
        report(P.strip(), caption="../report/strip.rst", category="Skeleton strips", labels={"clip": "{clip}"}),
    params:
        conditions=lambda wc, input: " ".join(
            f"--source {c}={source} --recovered {c}={recovered} --pose-info {c}={info}"
            for c, source, recovered, info in zip(CONDS, input.source, input.recovered, input.info)
        ),
        frames=config["report"]["strip_frames"],
    log:
        log_path("plot_strip", "{clip}"),
    benchmark:
        bench_path("plot_strip", "{clip}")
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("plot_strip", "mem_mb"),
        runtime=res("plot_strip", "runtime"),
    shell:
        "$PY -m pipeline.strip {params.conditions} --title {wildcards.clip} --frames {params.frames} "
        "--out {output} > {log} 2>&1"


rule report:
    input:
        unpack(report_inputs),
    output:
        html=report(f"{P.report_dir()}/index.html", caption="../report/index.rst", category="Report"),
        summary=f"{P.report_dir()}/summary.json",
        markdown=f"{P.report_dir()}/summary.md",
        headline=report(f"{P.report_dir()}/headline.csv", caption="../report/headline.rst", category="Report"),
    params:
        root=results_root,
        tag=P.tag,
        out=output_dir("summary"),
        data=data_folder,
        clips=selection_file,
        split=SPLIT,
        models=" ".join(CLASSIFIERS),
        model_eval=f"--model-eval {P.model_eval_dir()}/metrics.json" if config["model"]["evaluate"] else "",
        info=" ".join(
            shlex.quote(f"--info={k}={v}")
            for k, v in (
                ("data", f"{config['data']['source']} {config['data'].get('benchmark', '')} / {SPLIT}"),
                ("model", attacked_model_origin(config["model"])),
                ("attack", f"CIASA {config['attack']['mode']} {pipeline_config.attack_flags(config['attack']['options'])}".strip()),
                ("render", f"{config['render']['quality']} preset"
                 + "".join(f", {k} {config['render'][k]}" for k in ("engine", "body") if config["render"].get(k))
                 + f", camera {config['render']['camera']}, {config['render']['resolution']}, {config['render']['fps']} fps"
                 + (f", hfov {config['render']['hfov']}" if config["render"]["camera"] == "default" else "")),
                ("pose extraction", f"{config['pose']['options'].get('estimator', 'mediapipe')} (pose_extract) "
                                    f"{flags(config['pose']['options'], pipeline_config.POSE_NEGATABLE)}"),
                ("selection", f"count {config['clips']['count']}, seed {config['clips']['seed']}, shard {config['clips']['shard']}"),
            )
        ),
        bootstrap=config["report"]["bootstrap"],
        seed=config["report"]["seed"],
        min_clean=config["report"]["min_clean_accuracy"],
        conditions=" ".join(CONDS),
        frames=config["report"]["strip_frames"],
        title=shlex.quote(config["report"]["title"]),
    log:
        log_path("report", f"report{P.tag}"),
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("report", "mem_mb"),
        runtime=res("report", "runtime"),
    shell:
        "$PY -m report --root {params.root} --tag '{params.tag}' --clips {params.clips} --data {params.data} "
        "--split {params.split} --models {params.models} --conditions {params.conditions} --out {params.out} --bootstrap {params.bootstrap} "
        "--seed {params.seed} --min-clean-accuracy {params.min_clean} --strip-frames {params.frames} "
        "--title {params.title} {params.model_eval} {params.info} > {log} 2>&1"
