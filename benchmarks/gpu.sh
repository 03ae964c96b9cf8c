#!/usr/bin/env bash
# GPU readiness in one command: the attack-speed benchmark and the paper-scale attack
# stage (240 clips of config/paper_scale.yaml, one ciasa.attack job) on CUDA. Writes their
# JSON to $OUT when set (the device tool's output folder), else to benchmarks/results/.
#
#   bash benchmarks/gpu.sh                   # on a machine with a CUDA GPU
#   DEVICE=cpu CLIPS=4 EPOCHS=2 SETTINGS=demo REPEATS=1 REALISM=0 bash benchmarks/gpu.sh   # a quick dry run
#
# Target (issue 17): the 240-clip attack in <= 2 minutes on one GPU.
# Then (issue 22, REALISM=0 skips it): the official width (64) of the demo's attacked-model
# recipe trained on the synthetic set, today's and with the measured sensor realism, and
# Table I's eps 0.01 row re-measured on each, both formulations, 100 clips
# (benchmarks/realism_factors.py; widths 8 and 16 are in benchmarks/results/realism_factors.json,
# width 64 on today's set, perturbation formulation, 60 clips, trained on the CPU, in
# realism_factors_w64.json, which this run's $DEST copy replaces where DEST is that folder).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
DEVICE=${DEVICE:-cuda}
CLIPS=${CLIPS:-240}
DEST=${OUT:-benchmarks/results}
WORK=${WORK:-build/gpu}
mkdir -p "$DEST" "$WORK"
export PYTHONUNBUFFERED=1

if [ "$DEVICE" != cpu ]; then
    "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: run with DEVICE=cpu for a dry run')"
fi

echo "[gpu.sh] attack speed ($DEVICE)" >&2
"$PY" benchmarks/attack_speed.py --device "$DEVICE" --settings "${SETTINGS:-ntu,demo}" --repeats "${REPEATS:-3}" \
    --out "$DEST/attack_speed_$DEVICE.json"

echo "[gpu.sh] attack stage: $CLIPS clips ($DEVICE)" >&2
extra=()
[ -n "${EPOCHS:-}" ] && extra+=(--epochs "$EPOCHS")
"$PY" benchmarks/attack_stage.py --clips "$CLIPS" --device "$DEVICE" --configfile config/paper_scale.yaml \
    --work "$WORK" --out "$DEST/attack_stage_${DEVICE}_${CLIPS}.json" "${extra[@]}"

if [ "${REALISM:-1}" != 0 ]; then
    echo "[gpu.sh] realism factors: width 64, today's set and the realism set ($DEVICE)" >&2
    "$PY" benchmarks/realism_factors.py --root "$WORK/realism" --arms w64_today,w64_realism --device "$DEVICE" \
        --limit 100 --out "$DEST/realism_factors_w64.json"
fi
