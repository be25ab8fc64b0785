#!/usr/bin/env bash
# The microturbulence truth sets: the 40 points of truth-points-vmicro.txt (teff 6,200-9,800 K,
# where the v3 bundles fit v_micro) synthesized directly at each v_micro of VMICROS, one grid
# each, data/truth/synth-truth-v3-vmicro<v> (v3 line list; stored at R 20000 / 80000 as the
# other truth sets), then, with BOSS, each grid's continuum jumps (<grid>-continuum, BOSS's
# range only), which the realistic observations of `zeta-payne validate` apply. The same label points at every v_micro: the fits
# at one value compare with those at another point by point.
#
#   INSTRUMENTS=apogee bash data/truth/make_truth_vmicro.sh     # ≈ 8 CPU s a point and value
#   INSTRUMENTS=boss LIMIT=20 VMICROS="2.0 3.5 5.0" bash data/truth/make_truth_vmicro.sh
#
# Resumable (rerun: finished points are kept); LIMIT makes the first LIMIT points only (the file
# is a scrambled Sobol sequence, so a prefix is a fair sample; the prefix is written beside the
# grid as points-<instruments>.txt, so a rerun makes the same points). Run from the repository
# root.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
VMICROS=${VMICROS:-"1.5 2.0 2.5 3.5 5.0"}
INSTRUMENTS=${INSTRUMENTS:-"apogee boss"}
status=0
for v in $VMICROS; do
    grid="synth-truth-v3-vmicro$v"
    mkdir -p "data/truth/$grid"
    points=data/truth/truth-points-vmicro.txt
    if [ -n "${LIMIT:-}" ]; then
        points="data/truth/$grid/points-${INSTRUMENTS// /-}.txt"
        head -n "$((LIMIT + 1))" data/truth/truth-points-vmicro.txt > "$points"
    fi
    # shellcheck disable=SC2086  # INSTRUMENTS is a list
    nice -n "${NICE:-19}" "$PY" -m zeta_payne.grids.campaign synthesize \
        --root data/truth --grid "$grid" --nodes-file "$points" \
        --v-micro "$v" --instruments $INSTRUMENTS \
        --model-resolution boss 20000 --model-resolution apogee 80000 \
        --linelist data/linelists/obaf_merged.csv.gz \
        --chunk-size 2 --processes "${PROCESSES:-2}" >> "data/truth/$grid/campaign.log" 2>&1 \
        || { echo "$grid: exited $? (failed points are in its campaign.log)"; status=1; }
    case " $INSTRUMENTS " in *" boss "*) ;; *) continue ;; esac  # J is BOSS's (below 10,500 Å)
    mkdir -p "data/truth/$grid-continuum"
    nice -n "${NICE:-19}" "$PY" -m zeta_payne.cli grid continuum "data/truth/$grid" \
        --processes "${PROCESSES:-2}" >> "data/truth/$grid-continuum/campaign.log" 2>&1 \
        || { echo "$grid-continuum: exited $?"; status=1; }
done
exit $status
