# Stage 3: clip selection and the CIASA attack, one job per clip (any subset can run anywhere).


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
        "--out {output} > {log} 2>&1"


rule attack_clip:
    input:
        checkpoint=checkpoint_of(ATTACKED_MODEL),
        **split_files(DATA, SPLIT),
    output:
        names=f"{P.attack_dir()}/names.txt",
        data=f"{P.attack_dir()}/{SPLIT}_data.npy",
        label=f"{P.attack_dir()}/{SPLIT}_label.pkl",
        per_sample=f"{P.attack_dir()}/per_sample.csv",
        summary=f"{P.attack_dir()}/summary.json",
    params:
        out=P.attack_dir(),
        mode=config["attack"]["mode"],
        device=config["attack"]["device"],
        overrides=flags({k: v for k, v in CLASSIFIERS[ATTACKED_MODEL]["overrides"].items() if k in ("num_class", "layout")}),
        flags=flags(config["attack"]["options"]),
    priority: 10
    log:
        log_path("attack_clip", "{clip}"),
    benchmark:
        bench_path("attack_clip", "{clip}")
    threads: res("attack_clip", "threads", 1)
    resources:
        mem_mb=res("attack_clip", "mem_mb", 3000),
        runtime=res("attack_clip", "runtime", 30),
        gpu=config["attack"]["gpu"],
    shell:
        "echo {wildcards.clip} > {output.names} && "
        "{PY} -m ciasa.attack --checkpoint {input.checkpoint} --data {DATA} --split {SPLIT} --mode {params.mode} "
        "--names-file {output.names} --device {params.device} --threads {threads} --no-progress --out {params.out} "
        "{params.overrides} {params.flags} "
        "> {log} 2>&1"
