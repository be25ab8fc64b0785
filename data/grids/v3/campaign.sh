#!/usr/bin/env bash
# The synthesis campaign of this project, in priority order; start it at the beginning of every
# working session (it resumes; finished nodes are never recomputed):
#
#     nohup bash data/grids/v3/campaign.sh >/dev/null 2>&1 &
#
# 1. the synthesis-truth test set (data/truth/make_truth.sh: 264 random points, both
#    instruments, stored at R 20000 / 80000) — the truth of the headline validation;
# 2. the v3 lattice, level 0 (data/grids/v3/nodes-v3-level0.txt: 580 nodes, teff 6-30 kK,
#    logg 2.5-5, [M/H] -2.0..+0.8, BOSS 3600-10400 A and APOGEE), coarse sub-lattice first.
# Both run niced (NICE, default 19; beside CPU-heavy work use 0-5 or the campaign starves) on
# all cores (PROCESSES, default: all), written in small chunks; commit the
# chunk files as they appear (git add data/truth/synth-truth-v1 data/grids/obaf-sme-v3).
# Progress and cost: docs/synthesis.md ("Ledger").
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PYTHON:-.venv/bin/python}
export PROCESSES=${PROCESSES:-$(nproc)}
PYTHON=$PY bash data/truth/make_truth.sh || echo "truth set: campaign exited $? (rerun retries failed points)"
mkdir -p data/grids/obaf-sme-v3
exec nice -n "${NICE:-19}" "$PY" -m zeta_payne.grids.campaign synthesize \
    --grid obaf-sme-v3 --nodes-file data/grids/v3/nodes-v3-level0.txt \
    --chunk-size 4 --processes "$PROCESSES" >> data/grids/obaf-sme-v3/campaign.log 2>&1
