# Stage 1: the skeleton data (generated demo set, converted user data, or used as is).

if config["data"]["source"] == "synth":

    rule make_synth_data:
        output:
            meta=f"{P.synth_dir()}/meta.json",
            train_data=f"{DATA}/{TRAIN_SPLIT}_data.npy",
            train_label=f"{DATA}/{TRAIN_SPLIT}_label.pkl",
            data=f"{DATA}/{SPLIT}_data.npy",
            label=f"{DATA}/{SPLIT}_label.pkl",
        params:
            out=output_dir("meta"),
            flags=flags(config["data"]["synth"], pipeline_config.SYNTH_NEGATABLE),
        priority: 30
        log:
            log_path("make_synth_data"),
        benchmark:
            bench_path("make_synth_data")
        conda:
            CONDA_ENV
        threads: res("make_synth_data", "threads")
        resources:
            mem_mb=res("make_synth_data", "mem_mb"),
            runtime=res("make_synth_data", "runtime"),
        shell:
            "$PY -m ciasa.data.synth --out {params.out} --quiet {params.flags} > {log} 2>&1"


elif config["data"]["source"] == "ntu_raw":

    rule convert_data:
        input:
            config["data"]["path"],
        output:
            train_data=f"{DATA}/{TRAIN_SPLIT}_data.npy",
            train_label=f"{DATA}/{TRAIN_SPLIT}_label.pkl",
            data=f"{DATA}/{SPLIT}_data.npy",
            label=f"{DATA}/{SPLIT}_label.pkl",
        params:
            benchmark=config["data"]["benchmark"],
            # ciasa.data.convert ntu writes OUT/BENCHMARK/ (both benchmarks share the parse)
            out=lambda wc, output: str(Path(output.data).parent.parent),
            flags=flags(config["data"]["convert"]),
        priority: 30
        log:
            log_path("convert_data"),
        benchmark:
            bench_path("convert_data")
        conda:
            CONDA_ENV
        threads: res("convert_data", "threads")
        resources:
            mem_mb=res("convert_data", "mem_mb"),
            runtime=res("convert_data", "runtime"),
        shell:
            "$PY -m ciasa.data.convert ntu --raw {input} --out {params.out} --benchmark {params.benchmark} "
            "--quiet {params.flags} > {log} 2>&1"


elif config["data"]["source"] == "pyskl":

    rule convert_data:
        input:
            config["data"]["path"],
        output:
            train_data=f"{DATA}/{TRAIN_SPLIT}_data.npy",
            train_label=f"{DATA}/{TRAIN_SPLIT}_label.pkl",
            data=f"{DATA}/{SPLIT}_data.npy",
            label=f"{DATA}/{SPLIT}_label.pkl",
        params:
            benchmark=config["data"]["benchmark"],
            flags=flags(config["data"]["convert"]),
            out=output_dir("data"),
            train_split=TRAIN_SPLIT,
            split=SPLIT,
        priority: 30
        log:
            log_path("convert_data"),
        benchmark:
            bench_path("convert_data")
        conda:
            CONDA_ENV
        threads: res("convert_data", "threads")
        resources:
            mem_mb=res("convert_data", "mem_mb"),
            runtime=res("convert_data", "runtime"),
        shell:
            # pyskl pickles name their splits BENCHMARK_train / BENCHMARK_val
            "($PY -m ciasa.data.convert pyskl --ann {input} --split-name {params.benchmark}_{params.train_split} "
            "--split {params.train_split} --out {params.out} --quiet {params.flags} && "
            "$PY -m ciasa.data.convert pyskl --ann {input} --split-name {params.benchmark}_{params.split} "
            "--split {params.split} --out {params.out} --quiet {params.flags}) > {log} 2>&1"
