#!/usr/bin/env bash
# Where a refit starts: Table 3 (synthesis truth v3, realistic observations, seed 23, 200
# in-box cases per S/N, S/N inf/100/50, two processes — the release cycle's `table3` step)
# fitted by the shipped bundle with `refit_start="first"` (refits of the hot stars start at
# the first fit's labels, no pre-search), compared case by case with the shipped bundle's own
# committed Table 3 study (docs/validation/v3/synthesis-INSTRUMENT, the same cases and fits
# but for the refits' start).
#
#   bash docs/validation/diagnosis/refit-start/run.sh [OUT] [INSTRUMENTS]   # default scratch/refit-first, "boss apogee"
#
# 22 min (BOSS) / 31 min (APOGEE) as measured here, on two cores shared with the synthesis
# campaign and a release cycle. The committed results were made with
# BOSS 3.2.6 and APOGEE 3.3.4 as shipped (commit 063aa26); the comparison needs the committed
# study of the same bundle version (compare.py checks it).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
ZP=${ZETA_PAYNE:-.venv/bin/zeta-payne}
PY=${PYTHON:-.venv/bin/python}
OUT=${1:-scratch/refit-first}
for inst in ${2:-boss apogee}; do
    bundle="$OUT/zeta-payne-$inst"
    [ -f "$bundle/manifest.json" ] || "$ZP" bundle defaults "data/bundles/zeta-payne-$inst" \
        --set 'refit_start="first"' --reason "refit-start diagnosis" --bundle-out "$bundle" > /dev/null
    run="$OUT/synthesis-$inst"
    [ -f "$run/results.csv" ] || "$ZP" validate --bundle "$bundle" --generator synthesis \
        --truth data/truth/synth-truth-v3 --snr inf,100,50 --n 200 --seed 23 --processes 2 -o "$run"
    "$PY" docs/validation/diagnosis/refit-start/compare.py "docs/validation/v3/synthesis-$inst" "$run"
done
