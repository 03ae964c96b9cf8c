#!/usr/bin/env bash
# GPU readiness in one command: the attack-speed benchmark and the paper-scale attack
# stage (240 clips of config/paper_scale.yaml, one ciasa.attack job) on CUDA. Writes their
# JSON to $OUT when set (the device tool's output folder), else to benchmarks/results/.
#
#   bash benchmarks/gpu.sh                   # on a machine with a CUDA GPU
#   DEVICE=cpu CLIPS=4 EPOCHS=2 SETTINGS=demo REPEATS=1 bash benchmarks/gpu.sh   # a quick dry run
#
# Target (issue 17): the 240-clip attack in <= 2 minutes on one GPU.
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
