# Stage 2: the classifier that is attacked (the shipped demo checkpoint, trained here, or the
# user's checkpoint) and the extra classifiers the pipeline provides.

import json

from pipeline import shipped as pipeline_shipped

# The demo's models ship in models/demo/ (model.shipped, classifiers.NAME.shipped): used while
# the config's training block and data are the ones they were trained with, checked here so
# that a changed recipe fails in the first second; `shipped: null` trains them as before.
SHIPPED = pipeline_shipped.shipped_models(config)
try:
    pipeline_shipped.check_all(config, Path(workflow.basedir))
except (pipeline_shipped.ShippedError, ValueError) as err:
    # bad input, like common.smk's config errors: the message names both files, exit 2
    print(f"config: {err}", file=sys.stderr)
    raise SystemExit(2)


def install_command(name):
    """The install call with the config's deciding part as JSON (configfiles and --config included)."""
    part = json.dumps(pipeline_shipped.minimal_config(config, name), sort_keys=True)
    return f"{PY} -m pipeline.shipped install --name {name} --config-json {shlex.quote(part)}"


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
            command=install_command(ATTACKED_MODEL),
        priority: 20
        log:
            log_path("install_model"),
        benchmark:
            bench_path("install_model")
        resources:
            mem_mb=res("install_model", "mem_mb", 500),
            runtime=res("install_model", "runtime", 5),
        shell:
            "{params.command} --out {output} > {log} 2>&1"

elif not config["model"]["checkpoint"]:

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



SHIPPED_CLASSIFIERS = {n: p for n, p in SHIPPED.items() if n != ATTACKED_MODEL}
TRAINED_CLASSIFIERS = {n: t for n, t in pipeline_config.trained_classifiers(config).items()
                       if n not in SHIPPED_CLASSIFIERS}

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
            command=lambda wc: install_command(wc.model),
        wildcard_constraints:
            model="|".join(re.escape(name) for name in SHIPPED_CLASSIFIERS),
        priority: 20
        log:
            log_path("install_classifier", "{model}"),
        benchmark:
            bench_path("install_classifier", "{model}")
        resources:
            mem_mb=res("install_classifier", "mem_mb", 500),
            runtime=res("install_classifier", "runtime", 5),
        shell:
            "{params.command} --out {output} > {log} 2>&1"


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
