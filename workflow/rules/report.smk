# Stage 7: skeleton strips and the report.


rule plot_strip:
    input:
        attack=P.attack_summary(),  # wrote the two source skeletons below
        recovered_clean=P.pose(condition="clean"),
        recovered_perturbed=P.pose(condition="perturbed"),
        info_clean=P.pose_info(condition="clean"),
        info_perturbed=P.pose_info(condition="perturbed"),
    output:
        report(P.strip(), caption="../report/strip.rst", category="Skeleton strips", labels={"clip": "{clip}"}),
    params:
        source_clean=P.skeleton(condition="clean"),
        source_perturbed=P.skeleton(condition="perturbed"),
        frames=config["report"]["strip_frames"],
    log:
        log_path("plot_strip", "{clip}"),
    benchmark:
        bench_path("plot_strip", "{clip}")
    resources:
        mem_mb=res("plot_strip", "mem_mb", 1000),
        runtime=res("plot_strip", "runtime", 5),
    shell:
        "{PY} -m report.figures --source-clean {params.source_clean} --source-perturbed {params.source_perturbed} "
        "--recovered-clean {input.recovered_clean} --recovered-perturbed {input.recovered_perturbed} "
        "--pose-info-clean {input.info_clean} --pose-info-perturbed {input.info_perturbed} "
        "--title {wildcards.clip} --frames {params.frames} --out {output} > {log} 2>&1"


def report_inputs(wildcards):
    clips = selected_clips()
    inputs = {
        "clips": P.selection(),
        "label": f"{DATA}/{SPLIT}_label.pkl",
        "attack": P.attack_per_sample(),
        "media": [P.media(c, cond) for c in clips for cond in CONDITIONS],
        "strips": [P.strip(c) for c in clips],
        "sets": [f"{P.set_dir(d, cond)}/collect.json" for d in DOMAINS for cond in CONDITIONS],
        "predictions": [P.predictions(m, d, cond) for m in CLASSIFIERS for d in DOMAINS for cond in CONDITIONS],
    }
    if config["model"]["evaluate"]:
        inputs["model_eval"] = f"{P.model_eval_dir()}/metrics.json"
    return inputs


rule report:
    input:
        unpack(report_inputs),
    output:
        html=report(f"{P.report_dir()}/index.html", caption="../report/index.rst", category="Report"),
        summary=f"{P.report_dir()}/summary.json",
        markdown=f"{P.report_dir()}/summary.md",
        headline=report(f"{P.report_dir()}/headline.csv", caption="../report/headline.rst", category="Report"),
    params:
        root=P.root,
        tag=P.tag,
        out=P.report_dir(),
        models=" ".join(CLASSIFIERS),
        clips=P.selection(),
        model_eval=f"--model-eval {P.model_eval_dir()}/metrics.json" if config["model"]["evaluate"] else "",
        info=" ".join(
            shlex.quote(f"--info={k}={v}")
            for k, v in (
                ("data", f"{config['data']['source']} {config['data'].get('benchmark', '')} / {SPLIT}"),
                ("model", config["model"]["checkpoint"] or "ST-GCN trained by the pipeline"),
                ("attack", f"CIASA {config['attack']['mode']} {flags(config['attack']['options'])}".strip()),
                ("render", f"{config['render']['quality']} preset"
                 + "".join(f", {k} {config['render'][k]}" for k in ("engine", "body") if config["render"].get(k))
                 + f", camera {config['render']['camera']}, {config['render']['resolution']}, {config['render']['fps']} fps"
                 + (f", hfov {config['render']['hfov']}" if config["render"]["camera"] == "default" else "")),
                ("pose extraction", "MediaPipe Pose (pose_extract) " + flags(config["pose"]["options"])),
                ("selection", f"count {config['clips']['count']}, seed {config['clips']['seed']}, shard {config['clips']['shard']}"),
            )
        ),
        bootstrap=config["report"]["bootstrap"],
        seed=config["report"]["seed"],
        min_clean=config["report"]["min_clean_accuracy"],
        frames=config["report"]["strip_frames"],
        title=shlex.quote(config["report"]["title"]),
    log:
        log_path("report", f"report{P.tag}"),
    resources:
        mem_mb=res("report", "mem_mb", 2000),
        runtime=res("report", "runtime", 15),
    shell:
        "{PY} -m report --root {params.root} --tag '{params.tag}' --clips {params.clips} --data {DATA} "
        "--split {SPLIT} --models {params.models} --out {params.out} --bootstrap {params.bootstrap} "
        "--seed {params.seed} --min-clean-accuracy {params.min_clean} --strip-frames {params.frames} "
        "--title {params.title} {params.model_eval} {params.info} > {log} 2>&1"
