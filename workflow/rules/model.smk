# Stage 2: the classifier that is attacked (trained here, or the user's checkpoint).

if not config["model"]["checkpoint"]:

    rule train_model:
        input:
            data=f"{DATA}/{TRAIN_SPLIT}_data.npy",
            label=f"{DATA}/{TRAIN_SPLIT}_label.pkl",
            settings=config["model"]["train"].get("config", []),
        output:
            P.model_checkpoint(),
        params:
            out=P.model_dir(),
            flags=flags(config["model"]["train"], pipeline_config.TRAIN_NEGATABLE),
        priority: 20
        log:
            log_path("train_model"),
        benchmark:
            bench_path("train_model")
        threads: res("train_model", "threads", 2)
        resources:
            mem_mb=res("train_model", "mem_mb", 4000),
            runtime=res("train_model", "runtime", 120),
            gpu=config["model"]["gpu"],
        # --resume: an interrupted run continues from last.pt (not a declared output, so
        # Snakemake's clean-up of incomplete jobs leaves it) when its settings match; other
        # settings keep it aside as last.pt.stale-TIME. One log line per epoch goes to the
        # log and, through tee, to the terminal.
        shell:
            "{PY} -m ciasa.train --data {DATA} --out {params.out} --split-train {TRAIN_SPLIT} --split-val '' "
            "--device {config[model][device]} --threads {threads} --no-progress --resume {params.flags} "
            "2>&1 | tee {log} >&2"



TRAINED_CLASSIFIERS = pipeline_config.trained_classifiers(config)

if TRAINED_CLASSIFIERS:

    rule train_classifier:
        """An extra classifier the pipeline trains (config classifiers.NAME.train), e.g. the
        noise-robust model the attack's transfer is reported on; same resume rules as above."""
        input:
            data=f"{DATA}/{TRAIN_SPLIT}_data.npy",
            label=f"{DATA}/{TRAIN_SPLIT}_label.pkl",
            settings=lambda wc: TRAINED_CLASSIFIERS[wc.model].get("config", []),
        output:
            P.classifier_checkpoint(),
        params:
            out=P.classifier_dir(),
            flags=lambda wc: flags(TRAINED_CLASSIFIERS[wc.model], pipeline_config.TRAIN_NEGATABLE),
        wildcard_constraints:
            model="|".join(re.escape(name) for name in TRAINED_CLASSIFIERS),
        priority: 20
        log:
            log_path("train_classifier", "{model}"),
        benchmark:
            bench_path("train_classifier", "{model}")
        threads: res("train_classifier", "threads", 2)
        resources:
            mem_mb=res("train_classifier", "mem_mb", 4000),
            runtime=res("train_classifier", "runtime", 120),
            gpu=config["model"]["gpu"],
        shell:
            "{PY} -m ciasa.train --data {DATA} --out {params.out} --split-train {TRAIN_SPLIT} --split-val '' "
            "--device {config[model][device]} --threads {threads} --no-progress --resume {params.flags} "
            "2>&1 | sed -u 's/^/[{wildcards.model}] /' | tee {log} >&2"


rule evaluate_model:
    input:
        checkpoint=checkpoint_of(ATTACKED_MODEL),
        **split_files(DATA, SPLIT),
    output:
        f"{P.model_eval_dir()}/metrics.json",
    params:
        out=P.model_eval_dir(),
        overrides=flags(CLASSIFIERS[ATTACKED_MODEL]["overrides"]),
    log:
        log_path("evaluate_model"),
    benchmark:
        bench_path("evaluate_model")
    threads: res("evaluate_model", "threads", 2)
    resources:
        mem_mb=res("evaluate_model", "mem_mb", 4000),
        runtime=res("evaluate_model", "runtime", 60),
        gpu=config["model"]["gpu"],
    shell:
        "{PY} -m ciasa.evaluate --checkpoint {input.checkpoint} --data {DATA} --split {SPLIT} --out {params.out} "
        "--device {config[model][device]} --threads {threads} --no-progress {params.overrides} > {log} 2>&1"
