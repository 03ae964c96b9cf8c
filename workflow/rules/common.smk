# Config handling shared by every rule: validation, paths, flags, resources.
# Logic lives in pipeline (importable, tested); this file only wires it.

import json
import re
import shlex
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod
from snakemake.utils import min_version, validate

min_version("9.0")
sys.path.insert(0, workflow.basedir)  # the repository root, when run outside the project's venv

from pipeline import config as pipeline_config
from pipeline import fit_check as pipeline_fit_check
from pipeline.paths import ATTACKED_MODEL, CONDITIONS, DOMAINS
from ciasa.cli import BadInput, read_name_list

try:
    validate(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
    pipeline_fit_check.check_config(config)  # no evaluated clip among a fitted artefact's fit samples
    pipeline_config.check_startup(config)
    # resources come from the config alone: a profile or flag setting them would silently win
    pipeline_config.check_resource_overrides(
        workflow.resource_settings.overwrite_resources, workflow.resource_settings.overwrite_threads
    )
    CLASSIFIERS = pipeline_config.classifiers(config)
    # the conditions every clip is rendered, extracted and classified in (pipeline.paths.CONDITIONS)
    CONDS = pipeline_config.conditions(config)
except (WorkflowError, BadInput) as err:  # ConfigError and the other input checks are BadInput
    # bad input: the message names the key, exit 2 before any job ran or any file was written
    print(f"config: {err}", file=sys.stderr)
    raise SystemExit(2)

P = pipeline_config.paths_of(config)
# The software every job runs with: environment.yml (every rule's `conda:`), which Snakemake
# creates and uses with `--software-deployment-method conda` (environment.post-deploy.sh adds
# the MakeHuman assets); otherwise the interpreter running Snakemake (the project's .venv).
CONDA_ENV = str(Path(workflow.basedir) / "environment.yml")
USES_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PY = config["python"] or ("python" if USES_CONDA else sys.executable)
# Jobs call `$PY -m PACKAGE ...`, PY being set by this prefix of every job's shell: the
# interpreter's path is no param (a venv at another path would rerun every job) and no
# variable from outside the rule in its command (snakemake --lint).
shell.prefix(f"set -euo pipefail; PY={shlex.quote(PY)}; ")
DATA = pipeline_config.data_dir(config)
SPLIT = config["data"]["split"]
TRAIN_SPLIT = config["data"]["train_split"]
flags = pipeline_config.cli_flags

wildcard_constraints:
    clip=r"[A-Za-z0-9_.\-]+",
    condition="|".join(CONDS),
    domain="|".join(DOMAINS),
    model="|".join(re.escape(name) for name in CLASSIFIERS),


def res(rule_name, key):
    """A resource of a rule from config.resources, falling back to resources.default (the one
    place resources are set: docs/pipeline.md, "Resources")."""
    return pipeline_config.resource(config, rule_name, key)


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


# --- what the rules compute from wildcards (snakemake --lint: functions live here, rules in
# the stage files) ---------------------------------------------------------------------------


def input_dir(name):
    """A rule's directory argument taken from one of its input files: a path prefix written as
    a plain param would not follow the files to where a job runs (snakemake --lint)."""
    return lambda wildcards, input: str(Path(getattr(input, name)).parent)


def output_dir(name):
    """The same for one of the rule's output files."""
    return lambda wildcards, output: str(Path(getattr(output, name)).parent)


def results_root(wildcards):
    """--root of the CLIs that find every per-clip file with pipeline.paths themselves."""
    return P.root


def data_folder(wildcards):
    """--data of the rules whose inputs wait for the selection (collect_set, report): their
    params and commands are formed before the select_clips checkpoint gave them any input."""
    return DATA


def selection_file(wildcards):
    """--clips of those rules, for the same reason."""
    return P.selection()


def shard_clips(wildcards):
    """The shard's attack, whose clips/ folder holds the asked clip's skeletons: only a clip of
    the selection has them (clips.names adds one)."""
    if wildcards.clip not in selected_clips():
        raise WorkflowError(
            f"{P.skeleton(wildcards.clip)}: clip {wildcards.clip} is not in the selection "
            f"({P.selection()}), so the attack does not write its skeletons; add it with clips.names"
        )
    return {"clips": P.attack_clips_dir()}


def trained_name(wildcards):
    """The model a train_model job trains, from its {trained} place (pipeline.paths.Paths.model_place)."""
    return TRAINED_PLACES[wildcards.trained]


def train_resource(key):
    """train_model's threads, memory and run time: resources.train_model for the attacked
    model, resources.train_classifier for the extra classifiers (both config keys stay valid)."""
    return lambda wildcards: res("train_model" if trained_name(wildcards) == ATTACKED_MODEL else "train_classifier", key)


def shipped_part(name):
    """The config's deciding part for a shipped checkpoint, as JSON for pipeline.shipped install
    (configfiles and --config included)."""
    return json.dumps(pipeline_shipped.minimal_config(config, name), sort_keys=True)


def collect_inputs(wildcards):
    clips = selected_clips()
    if wildcards.domain == "skeleton":
        files = [P.skeleton(c, wildcards.condition) for c in clips]
    else:
        files = [P.pose(c, wildcards.condition) for c in clips] + [P.pose_info(c, wildcards.condition) for c in clips]
        files += [P.render_info(c, wildcards.condition) for c in clips]
    return {"clips": P.selection(), "files": files, **split_files(DATA, SPLIT)}


def report_inputs(wildcards):
    clips = selected_clips()
    inputs = {
        "clips": P.selection(),
        "label": f"{DATA}/{SPLIT}_label.pkl",
        "attack": P.attack_per_sample(),
        "attack_summary": P.attack_summary(),  # its plausibility measures
        # the skeletons given to the renderer: the strips and pose recovery per condition read them
        "skeletons": [P.skeleton(c, cond) for c in clips for cond in CONDS],
        "media": [P.media(c, cond) for c in clips for cond in CONDS],
        "strips": [P.strip(c) for c in clips],
        "sets": [f"{P.set_dir(d, cond)}/collect.json" for d in DOMAINS for cond in CONDS],
        "predictions": [P.predictions(m, d, cond) for m in CLASSIFIERS for d in DOMAINS for cond in CONDS],
        # pose recovery per condition compares each extracted skeleton with the rendered one
        "poses": [P.pose(c, cond) for c in clips for cond in CONDS],
    }
    if config["model"]["evaluate"]:
        inputs["model_eval"] = f"{P.model_eval_dir()}/metrics.json"
    return inputs
