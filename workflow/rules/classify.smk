# Stage 6: collect the skeletons of each (domain, condition) into one set and classify it
# with the attacked model and every extra classifier (ciasa.evaluate; an empty set, when
# every clip of a condition failed, gives n = 0 and the report says why).


rule collect_set:
    input:
        unpack(collect_inputs),
    output:
        collected=f"{P.set_dir()}/collect.json",
    params:
        out=output_dir("collected"),
        root=results_root,
        tag=P.tag,
        data=data_folder,
        clips=selection_file,
        split=SPLIT,
    log:
        log_path("collect_set", f"{{domain}}-{{condition}}{P.tag}"),
    benchmark:
        bench_path("collect_set", f"{{domain}}-{{condition}}{P.tag}")
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("collect_set", "mem_mb"),
        runtime=res("collect_set", "runtime"),
    shell:
        "$PY -m pipeline.collect --root {params.root} --tag '{params.tag}' --clips {params.clips} "
        "--domain {wildcards.domain} --condition {wildcards.condition} --data {params.data} --split {params.split} "
        "--out {params.out} > {log} 2>&1"


rule classify_set:
    input:
        collected=f"{P.set_dir()}/collect.json",
        checkpoint=lambda wc: checkpoint_of(wc.model),
    output:
        predictions=P.predictions(),
        metrics=f"{P.classify_dir()}/metrics.json",
    params:
        set_dir=input_dir("collected"),
        split=SPLIT,
        out=output_dir("metrics"),
        overrides=lambda wc: flags(CLASSIFIERS[wc.model]["overrides"]),
        device=config["model"]["device"],
    log:
        log_path("classify_set", f"{{model}}-{{domain}}-{{condition}}{P.tag}"),
    benchmark:
        bench_path("classify_set", f"{{model}}-{{domain}}-{{condition}}{P.tag}")
    conda:
        CONDA_ENV
    threads: res("classify_set", "threads")
    resources:
        mem_mb=res("classify_set", "mem_mb"),
        runtime=res("classify_set", "runtime"),
    shell:
        "$PY -m ciasa.evaluate --data {params.set_dir} --split {params.split} --checkpoint {input.checkpoint} "
        "--out {params.out} --device {params.device} --threads {threads} --no-progress {params.overrides} "
        "> {log} 2>&1"
