# Stage 3: clip selection and the CIASA attack, one job per shard (a farm runs shards anywhere).


checkpoint select_clips:
    input:
        label=f"{DATA}/{SPLIT}_label.pkl",
    output:
        P.selection(),
    params:
        n=config["clips"]["count"],
        seed=config["clips"]["seed"],
        names=" ".join(config["clips"]["names"]),
        names_file=f"--names-file {config['clips']['names_file']}" if config["clips"]["names_file"] else "",
        classes=" ".join(shlex.quote(str(c)) for c in config["clips"]["classes"]),
        shard=config["clips"]["shard"],
        fit=pipeline_fit_check.select_flags(config),  # clips fitted artefacts saw leave the draw
        data=input_dir("label"),
        split=SPLIT,
    log:
        log_path("select_clips", f"selection{P.tag}"),
    benchmark:
        bench_path("select_clips", f"selection{P.tag}")
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("select_clips", "mem_mb"),
        runtime=res("select_clips", "runtime"),
    shell:
        "$PY -m pipeline.select --data {params.data} --split {params.split} --count {params.n} --seed {params.seed} "
        "--names {params.names} {params.names_file} --classes {params.classes} --shard '{params.shard}' "
        "{params.fit} --out {output} > {log} 2>&1"


rule attack_shard:
    """One job for the shard's whole selection: the model, the data and the discriminator's
    real frames are loaded once and the clips attacked in batches (on the GPU when there is
    one). Every clip's skeletons (clean, control, perturbed) go to the attack's clips/ folder,
    a declared directory; export_skeletons then gives each clip its own declared files."""
    input:
        checkpoint=checkpoint_of(ATTACKED_MODEL),
        selection=P.selection(),
        # the transfer-aware term's round-trip error model, when the config names one
        error_model=config["attack"]["options"].get("error_model") or [],
        **split_files(DATA, SPLIT),
    output:
        data=f"{P.attack_dir()}/{SPLIT}_data.npy",
        label=f"{P.attack_dir()}/{SPLIT}_label.pkl",
        per_sample=P.attack_per_sample(),
        summary=P.attack_summary(),
        clips=directory(P.attack_clips_dir()),
    params:
        out=output_dir("summary"),
        data=input_dir("data"),
        split=SPLIT,
        mode=config["attack"]["mode"],
        device=config["attack"]["device"],
        overrides=flags({k: v for k, v in CLASSIFIERS[ATTACKED_MODEL]["overrides"].items() if k in ("num_class", "layout")}),
        flags=pipeline_config.attack_flags(config["attack"]["options"]),
    priority: 10
    log:
        log_path("attack_shard", f"attack{P.tag}"),
    benchmark:
        bench_path("attack_shard", f"attack{P.tag}")
    conda:
        CONDA_ENV
    threads: res("attack_shard", "threads")
    resources:
        mem_mb=res("attack_shard", "mem_mb"),
        runtime=res("attack_shard", "runtime"),
        gpu=config["attack"]["gpu"],
    shell:
        "$PY -m ciasa.attack --checkpoint {input.checkpoint} --data {params.data} --split {params.split} --mode {params.mode} "
        "--names @{input.selection} --device {params.device} --threads {threads} --no-progress "
        "--out {params.out} --clips-out {output.clips} {params.overrides} {params.flags} "
        "> {log} 2>&1"


rule export_skeletons:
    """One clip's skeletons as declared files (skeletons/CLIP/COND.npy: what the renderer, the
    overlays, the strips, the skeleton sets and the report read), copied from the shard's
    attack. The attack stays one batched job per shard, and a single clip's skeleton can
    still be asked for by name (`snakemake results/skeletons/CLIP/perturbed.npy`) and rebuilt
    without attacking again. No checkpoint is needed: the selection (select_clips) already
    says which clips there are."""
    input:
        unpack(shard_clips),
    output:
        **{c: P.skeleton(condition=c) for c in CONDS},
    localrule: True
    log:
        log_path("export_skeletons", "{clip}"),
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("export_skeletons", "mem_mb"),
        runtime=res("export_skeletons", "runtime"),
    shell:
        "(" + " && ".join(f"cp {{input.clips}}/{{wildcards.clip}}/{c}.npy {{output.{c}}}" for c in CONDS) + ") > {log} 2>&1"
