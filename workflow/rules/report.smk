# Stage 7: skeleton strips and the report.


rule plot_strip:
    """The clip's strip, drawn with OpenCV from the arrays (pipeline.strip): every condition's
    source skeleton on top, the skeleton recovered from each video below."""
    input:
        attack=P.attack_summary(),  # wrote the source skeletons below
        recovered=[P.pose(condition=c) for c in CONDS],
        info=[P.pose_info(condition=c) for c in CONDS],
    output:
        report(P.strip(), caption="../report/strip.rst", category="Skeleton strips", labels={"clip": "{clip}"}),
    params:
        conditions=lambda wc: " ".join(
            f"--source {c}={P.skeleton(wc.clip, c)} --recovered {c}={P.pose(wc.clip, c)} "
            f"--pose-info {c}={P.pose_info(wc.clip, c)}" for c in CONDS
        ),
        frames=config["report"]["strip_frames"],
    log:
        log_path("plot_strip", "{clip}"),
    benchmark:
        bench_path("plot_strip", "{clip}")
    resources:
        mem_mb=res("plot_strip", "mem_mb", 500),
        runtime=res("plot_strip", "runtime", 5),
    shell:
        "{PY} -m pipeline.strip {params.conditions} --title {wildcards.clip} --frames {params.frames} "
        "--out {output} > {log} 2>&1"


def report_inputs(wildcards):
    clips = selected_clips()
    inputs = {
        "clips": P.selection(),
        "label": f"{DATA}/{SPLIT}_label.pkl",
        "attack": P.attack_per_sample(),
        "attack_summary": P.attack_summary(),  # its plausibility measures
        "media": [P.media(c, cond) for c in clips for cond in CONDS],
        "strips": [P.strip(c) for c in clips],
        "sets": [f"{P.set_dir(d, cond)}/collect.json" for d in DOMAINS for cond in CONDS],
        "predictions": [P.predictions(m, d, cond) for m in CLASSIFIERS for d in DOMAINS for cond in CONDS],
        # pose recovery per condition compares each extracted skeleton with the rendered one
        "poses": [P.pose(c, cond) for c in clips for cond in CONDS],
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
                ("model", attacked_model_origin(config["model"])),
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
        conditions=" ".join(CONDS),
        frames=config["report"]["strip_frames"],
        title=shlex.quote(config["report"]["title"]),
    log:
        log_path("report", f"report{P.tag}"),
    resources:
        mem_mb=res("report", "mem_mb", 2000),
        runtime=res("report", "runtime", 15),
    shell:
        "{PY} -m report --root {params.root} --tag '{params.tag}' --clips {params.clips} --data {DATA} "
        "--split {SPLIT} --models {params.models} --conditions {params.conditions} --out {params.out} --bootstrap {params.bootstrap} "
        "--seed {params.seed} --min-clean-accuracy {params.min_clean} --strip-frames {params.frames} "
        "--title {params.title} {params.model_eval} {params.info} > {log} 2>&1"
