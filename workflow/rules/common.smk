# Config handling shared by every rule: validation, paths, flags, resources.
# Logic lives in pipeline (importable, tested); this file only wires it.

import re
import shlex
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")
sys.path.insert(0, workflow.basedir)  # the repository root, when run outside the project's venv

from pipeline import config as pipeline_config
from pipeline import fit_check as pipeline_fit_check
from pipeline.paths import ATTACKED_MODEL, CONDITIONS, DOMAINS
from ciasa.cli import read_name_list

try:
    validate(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
    pipeline_fit_check.check_config(config)  # no evaluated clip among a fitted artefact's fit samples
    pipeline_config.check_startup(config)
    CLASSIFIERS = pipeline_config.classifiers(config)
    # the conditions every clip is rendered, extracted and classified in (pipeline.paths.CONDITIONS)
    CONDS = pipeline_config.conditions(config)
except (WorkflowError, pipeline_config.ConfigError, ValueError) as err:
    # bad input: the message names the key, exit 2 before any job ran or any file was written
    print(f"config: {err}", file=sys.stderr)
    raise SystemExit(2)

P = pipeline_config.paths_of(config)
PY = config["python"] or sys.executable
DATA = pipeline_config.data_dir(config)
SPLIT = config["data"]["split"]
TRAIN_SPLIT = config["data"]["train_split"]
flags = pipeline_config.cli_flags

wildcard_constraints:
    clip=r"[A-Za-z0-9_.\-]+",
    condition="|".join(CONDS),
    domain="|".join(DOMAINS),
    model="|".join(re.escape(name) for name in CLASSIFIERS),


def res(rule_name, key, default):
    """A resource of a rule from config.resources, falling back to resources.default."""
    table = config["resources"]
    return table.get(rule_name, {}).get(key, table.get("default", {}).get(key, default))


def log_path(rule_name, stem="job"):
    return f"{P.logs_dir()}/{rule_name}/{stem}.log"


def bench_path(rule_name, stem="job"):
    return f"{P.benchmarks_dir()}/{rule_name}/{stem}.tsv"


def split_files(directory, split):
    return {"data": f"{directory}/{split}_data.npy", "label": f"{directory}/{split}_label.pkl"}


def checkpoint_of(model):
    return CLASSIFIERS[model]["checkpoint"]


def selected_clips(wildcards=None):
    """Clip names of the selection: computed directly once the data exists, else after the
    select_clips checkpoint ran (first run on generated or converted data)."""
    clips = pipeline_config.selection(config)
    if clips is None:
        return read_name_list(checkpoints.select_clips.get().output[0])
    return clips


def attacked_model_origin(model):
    """The report's one-line answer to 'which model was attacked'."""
    if model.get("checkpoint"):
        return model["checkpoint"]
    if model.get("shipped"):
        return f"shipped demo checkpoint {model['shipped']} ({Path(model['shipped']).with_suffix('.json')})"
    return "ST-GCN trained by the pipeline"
