#!/usr/bin/env bash
# The synthesis-truth test sets: SME syntheses at the points of truth-points-<v>.txt, BOSS
# 3600-10400 Å at R 20000 and APOGEE 15050-17050 Å at R 80000 (stored far above the
# instruments' resolution), written in chunks of 2 points.
#   VERSION=v1 (default): data/truth/synth-truth-v1, the v1 line list (the shipped bundles' physics)
#   VERSION=v3:           data/truth/synth-truth-v3, the v3 line list (the v3 bundles' physics)
# Resumable: rerun the same command; finished points are kept. Run from the repository root:
#
#     nohup bash data/truth/make_truth.sh >/dev/null 2>&1 &
#
# Progress: grep node data/truth/synth-truth-$VERSION/campaign.log | tail
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
VERSION=${VERSION:-v1}
case "$VERSION" in
    v1) LINELIST=data/linelists/obaf_merged-v1.csv.gz ;;
    v3) LINELIST=data/linelists/obaf_merged.csv.gz ;;
    *) echo "make_truth.sh: VERSION must be v1 or v3" >&2; exit 2 ;;
esac
mkdir -p "data/truth/synth-truth-$VERSION"
exec nice -n "${NICE:-19}" "$PY" -m zeta_payne.grids.campaign synthesize \
    --root data/truth --grid "synth-truth-$VERSION" \
    --nodes-file "data/truth/truth-points-$VERSION.txt" \
    --model-resolution boss 20000 --model-resolution apogee 80000 \
    --linelist "$LINELIST" \
    --chunk-size 2 --processes "${PROCESSES:-2}" "$@" \
    >> "data/truth/synth-truth-$VERSION/campaign.log" 2>&1
