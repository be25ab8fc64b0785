#!/usr/bin/env bash
# The teff probe (data/grids/v3/nodes-v3-teffprobe.txt): nodes halfway between level-0 teff
# values, synthesized with the level-0 settings into data/grids/obaf-sme-v3-teffprobe, for
# data/grids/v3/measure_teff_interpolant.py. Resumable; one process beside the campaign.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PYTHON:-.venv/bin/python}
mkdir -p data/grids/obaf-sme-v3-teffprobe
nice -n "${NICE:-0}" "$PY" -m zeta_payne.grids.campaign synthesize --grid obaf-sme-v3-teffprobe \
    --nodes-file data/grids/v3/nodes-v3-teffprobe.txt --v-micro 2.0 --chunk-size 2 \
    --processes "${PROCESSES:-1}" >> data/grids/obaf-sme-v3-teffprobe/campaign.log 2>&1
