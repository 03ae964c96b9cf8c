# Stage 2: the classifier that is attacked (the shipped demo checkpoint, trained here, or the
# user's checkpoint) and the extra classifiers the pipeline provides.

from pipeline import shipped as pipeline_shipped

# The demo's models ship in models/demo/ (model.shipped, classifiers.NAME.shipped): used while
# the config's training block and data are the ones they were trained with, checked here so
# that a changed recipe fails in the first second; `shipped: null` trains them as before.
SHIPPED = pipeline_shipped.shipped_models(config)
try:
    pipeline_shipped.check_all(config, Path(workflow.basedir))
except BadInput as err:  # ShippedError and the config checks it runs
    # bad input, like common.smk's config errors: the message names both files, exit 2
    print(f"config: {err}", file=sys.stderr)
    raise SystemExit(2)


# Every model the pipeline trains, by its place under results (pipeline.paths.Paths.model_place):
# the attacked model unless a checkpoint is given or shipped, and the extra classifiers with a
# `train` block. One rule trains them all.
SHIPPED_CLASSIFIERS = {n: p for n, p in SHIPPED.items() if n != ATTACKED_MODEL}
TRAINED = {n: t for n, t in pipeline_config.trained_classifiers(config).items() if n not in SHIPPED_CLASSIFIERS}
if not config["model"]["checkpoint"] and ATTACKED_MODEL not in SHIPPED:
    TRAINED = {ATTACKED_MODEL: config["model"]["train"], **TRAINED}
TRAINED_PLACES = {P.model_place(name): name for name in TRAINED}


if not config["model"]["checkpoint"] and ATTACKED_MODEL in SHIPPED:

    rule install_model:
        """The shipped demo checkpoint, checked against the config's recipe, copied to model.pt."""
        input:
            checkpoint=SHIPPED[ATTACKED_MODEL],
            provenance=str(pipeline_shipped.provenance_path(SHIPPED[ATTACKED_MODEL])),
            settings=config["model"]["train"].get("config", []),
        output:
            P.model_checkpoint(),
        params:
            part=shipped_part(ATTACKED_MODEL),
        priority: 20
        log:
            log_path("install_model"),
        benchmark:
            bench_path("install_model")
        conda:
            CONDA_ENV
        resources:
            mem_mb=res("install_model", "mem_mb"),
            runtime=res("install_model", "runtime"),
        shell:
            f"$PY -m pipeline.shipped install --name {ATTACKED_MODEL} --config-json {{params.part:q}} --out {{output}} "
            "> {log} 2>&1"


if SHIPPED_CLASSIFIERS:

    rule install_classifier:
        """An extra classifier's shipped demo checkpoint (classifiers.NAME.shipped), checked and copied."""
        input:
            checkpoint=lambda wc: SHIPPED_CLASSIFIERS[wc.model],
            provenance=lambda wc: str(pipeline_shipped.provenance_path(SHIPPED_CLASSIFIERS[wc.model])),
            settings=lambda wc: config["classifiers"][wc.model]["train"].get("config", []),
        output:
            P.classifier_checkpoint(),
        params:
            part=lambda wc: shipped_part(wc.model),
        wildcard_constraints:
            model="|".join(re.escape(name) for name in SHIPPED_CLASSIFIERS),
        priority: 20
        log:
            log_path("install_classifier", "{model}"),
        benchmark:
            bench_path("install_classifier", "{model}")
        conda:
            CONDA_ENV
        resources:
            mem_mb=res("install_classifier", "mem_mb"),
            runtime=res("install_classifier", "runtime"),
        shell:
            "$PY -m pipeline.shipped install --name {wildcards.model} --config-json {params.part:q} --out {output} "
            "> {log} 2>&1"


if TRAINED:

    rule train_model:
        """The attacked model (model.train) and every extra classifier the pipeline trains
        (classifiers.NAME.train, e.g. the noise-robust model the attack's transfer is reported
        on), one job each; {trained} is the model's place, `model` or `classifiers/NAME`.
        --resume: an interrupted run continues from last.pt (not a declared output, so
        Snakemake's clean-up of incomplete jobs leaves it) when its settings match; other
        settings keep it aside as last.pt.stale-TIME. One log line per epoch, prefixed with the
        model's name, goes to the log and, through tee, to the terminal."""
        input:
            data=f"{DATA}/{TRAIN_SPLIT}_data.npy",
            label=f"{DATA}/{TRAIN_SPLIT}_label.pkl",
            settings=lambda wc: TRAINED[trained_name(wc)].get("config", []),
        output:
            model=P.trained_checkpoint(),
        params:
            name=trained_name,
            data=input_dir("data"),
            train_split=TRAIN_SPLIT,
            out=output_dir("model"),
            device=config["model"]["device"],
            flags=lambda wc: flags(TRAINED[trained_name(wc)], pipeline_config.TRAIN_NEGATABLE),
        wildcard_constraints:
            trained="|".join(re.escape(place) for place in TRAINED_PLACES),
        priority: 20
        log:
            log_path("train_model", "{trained}"),
        benchmark:
            bench_path("train_model", "{trained}")
        conda:
            CONDA_ENV
        threads: train_resource("threads")
        resources:
            mem_mb=train_resource("mem_mb"),
            runtime=train_resource("runtime"),
            gpu=config["model"]["gpu"],
        shell:
            "$PY -m ciasa.train --data {params.data} --out {params.out} --split-train {params.train_split} --split-val '' "
            "--device {params.device} --threads {threads} --no-progress --resume {params.flags} "
            "2>&1 | sed -u 's/^/[{params.name}] /' | tee {log} >&2"


rule evaluate_model:
    input:
        checkpoint=checkpoint_of(ATTACKED_MODEL),
        **split_files(DATA, SPLIT),
    output:
        metrics=f"{P.model_eval_dir()}/metrics.json",
    params:
        out=output_dir("metrics"),
        data=input_dir("data"),
        split=SPLIT,
        device=config["model"]["device"],
        overrides=flags(CLASSIFIERS[ATTACKED_MODEL]["overrides"]),
    log:
        log_path("evaluate_model"),
    benchmark:
        bench_path("evaluate_model")
    conda:
        CONDA_ENV
    threads: res("evaluate_model", "threads")
    resources:
        mem_mb=res("evaluate_model", "mem_mb"),
        runtime=res("evaluate_model", "runtime"),
        gpu=config["model"]["gpu"],
    shell:
        "$PY -m ciasa.evaluate --checkpoint {input.checkpoint} --data {params.data} --split {params.split} --out {params.out} "
        "--device {params.device} --threads {threads} --no-progress {params.overrides} > {log} 2>&1"
