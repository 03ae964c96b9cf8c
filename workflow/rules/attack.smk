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
    log:
        log_path("select_clips", f"selection{P.tag}"),
    benchmark:
        bench_path("select_clips", f"selection{P.tag}")
    resources:
        mem_mb=res("select_clips", "mem_mb", 1000),
        runtime=res("select_clips", "runtime", 5),
    shell:
        "{PY} -m pipeline.select --data {DATA} --split {SPLIT} --count {params.n} --seed {params.seed} "
        "--names {params.names} {params.names_file} --classes {params.classes} --shard '{params.shard}' "
        "{params.fit} --out {output} > {log} 2>&1"


rule attack_shard:
    """One job for the shard's whole selection: the model, the data and the discriminator's
    real frames are loaded once and the clips attacked in batches; the attack writes each
    clip's clean and perturbed skeleton (skeletons/CLIP/{clean,perturbed}.npy) itself."""
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
    params:
        out=P.attack_dir(),
        clips_out=P.skeletons_dir(),
        mode=config["attack"]["mode"],
        device=config["attack"]["device"],
        overrides=flags({k: v for k, v in CLASSIFIERS[ATTACKED_MODEL]["overrides"].items() if k in ("num_class", "layout")}),
        # a per-joint eps list goes to the CLI as one comma-separated value
        flags=flags({k: ",".join(map(str, v)) if k == "eps" and isinstance(v, list) else v
                     for k, v in config["attack"]["options"].items()}),
    priority: 10
    log:
        log_path("attack_shard", f"attack{P.tag}"),
    benchmark:
        bench_path("attack_shard", f"attack{P.tag}")
    threads: res("attack_shard", "threads", 2)
    resources:
        mem_mb=res("attack_shard", "mem_mb", 4000),
        runtime=res("attack_shard", "runtime", 60),
        gpu=config["attack"]["gpu"],
    shell:
        "{PY} -m ciasa.attack --checkpoint {input.checkpoint} --data {DATA} --split {SPLIT} --mode {params.mode} "
        "--names @{input.selection} --device {params.device} --threads {threads} --no-progress "
        "--out {params.out} --clips-out {params.clips_out} {params.overrides} {params.flags} "
        "> {log} 2>&1"
