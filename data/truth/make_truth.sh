#!/usr/bin/env bash
# The synthesis-truth test set (data/truth/synth-truth-v1): SME syntheses at the points of
# truth-points-v1.txt, BOSS 3600-10400 Å at R 20000 and APOGEE 15050-17050 Å at R 80000
# (stored far above the instruments' resolution), written in chunks of 2 points.
# Resumable: rerun the same command; finished points are kept. Run from the repository root:
#
#     nohup bash data/truth/make_truth.sh >/dev/null 2>&1 &
#
# Progress: grep node data/truth/synth-truth-v1/campaign.log | tail
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
mkdir -p data/truth/synth-truth-v1
exec nice -n "${NICE:-19}" "$PY" -m zeta_payne.grids.campaign synthesize \
    --root data/truth --grid synth-truth-v1 \
    --nodes-file data/truth/truth-points-v1.txt \
    --model-resolution boss 20000 --model-resolution apogee 80000 \
    --linelist data/linelists/obaf_merged-v1.csv.gz \
    --chunk-size 2 --processes "${PROCESSES:-2}" "$@" \
    >> data/truth/synth-truth-v1/campaign.log 2>&1
