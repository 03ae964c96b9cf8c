#!/usr/bin/env bash
# The demo: the whole Snakemake pipeline on the embedded synthetic data set.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
exec snakemake --cores "${CORES:-2}" --workflow-profile workflow/profiles/default "$@"
