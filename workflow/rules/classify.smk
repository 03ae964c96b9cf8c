# Stage 6: collect the skeletons of each (domain, condition) into one set and classify it
# with the attacked model and every extra classifier (ciasa.evaluate; an empty set, when
# every clip of a condition failed, gives n = 0 and the report says why).


def collect_inputs(wildcards):
    clips = selected_clips()
    if wildcards.domain == "skeleton":
        files = [P.attack_summary()]  # the attack wrote every clip's skeletons
    else:
        files = [P.pose(c, wildcards.condition) for c in clips] + [P.pose_info(c, wildcards.condition) for c in clips]
        files += [P.render_info(c, wildcards.condition) for c in clips]
    return {"clips": P.selection(), "files": files, **split_files(DATA, SPLIT)}


rule collect_set:
    input:
        unpack(collect_inputs),
    output:
        f"{P.set_dir()}/collect.json",
    params:
        out=P.set_dir(),
        clips=P.selection(),
        root=P.root,
        tag=P.tag,
    log:
        log_path("collect_set", f"{{domain}}-{{condition}}{P.tag}"),
    benchmark:
        bench_path("collect_set", f"{{domain}}-{{condition}}{P.tag}")
    resources:
        mem_mb=res("collect_set", "mem_mb", 2000),
        runtime=res("collect_set", "runtime", 10),
    shell:
        "{PY} -m pipeline.collect --root {params.root} --tag '{params.tag}' --clips {params.clips} "
        "--domain {wildcards.domain} --condition {wildcards.condition} --data {DATA} --split {SPLIT} "
        "--out {params.out} > {log} 2>&1"


rule classify_set:
    input:
        collected=f"{P.set_dir()}/collect.json",
        checkpoint=lambda wc: checkpoint_of(wc.model),
    output:
        predictions=P.predictions(),
        metrics=f"{P.classify_dir()}/metrics.json",
    params:
        set_dir=P.set_dir(),
        out=P.classify_dir(),
        overrides=lambda wc: flags(CLASSIFIERS[wc.model]["overrides"]),
        device=config["model"]["device"],
    log:
        log_path("classify_set", f"{{model}}-{{domain}}-{{condition}}{P.tag}"),
    benchmark:
        bench_path("classify_set", f"{{model}}-{{domain}}-{{condition}}{P.tag}")
    threads: res("classify_set", "threads", 1)
    resources:
        mem_mb=res("classify_set", "mem_mb", 3000),
        runtime=res("classify_set", "runtime", 30),
    shell:
        "{PY} -m ciasa.evaluate --data {params.set_dir} --split {SPLIT} --checkpoint {input.checkpoint} "
        "--out {params.out} --device {params.device} --threads {threads} --no-progress {params.overrides} "
        "> {log} 2>&1"
