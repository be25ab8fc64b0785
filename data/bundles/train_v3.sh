#!/usr/bin/env bash
# Train the v3 bundles (issue 14) from the v3 grids once the campaign has made them
# (data/grids/v3/campaign.sh: level 0 and the v_micro response grids; the held-out report uses
# the v3 synthesis-truth set when it is on disk). Resumable: each call trains at most
# MAX_SECONDS per instrument and continues from the checkpoint; rerun until it says
# "stopped ... plateau". On a GPU machine the same command uses it (--device auto).
#
#   bash data/bundles/train_v3.sh                  # both instruments
#   INSTRUMENTS=boss MAX_SECONDS=3600 bash data/bundles/train_v3.sh
#   INSTRUMENTS=apogee VMICRO_WIDE=0 INIT_FROM=data/bundles bash data/bundles/train_v3.sh
#                                                  # APOGEE as shipped: v_micro 1-4 km/s
#   SMOKE=1 bash data/bundles/train_v3.sh          # a minute: checks the path on a partial grid
#   INIT_FROM=scratch/bundles-v3-l0 bash data/bundles/train_v3.sh
#                                                  # warm-start from bundles of the same box
#                                                  # (e.g. trained on level 0 while the
#                                                  # refinement level was synthesized)
#
# Choices, each measured (docs/synthesis.md): the grid's box (--box grid: teff 6-30 kK,
# log g 2.5-5 where atmospheres exist, [M/H] -2..+0.8) on every node (--lattice nodes: the
# complete sub-lattice of v3 would lose whole axis values to the atmosphere holes); v_micro a
# label from the response grids; the training generator cubic in teff, log g and [M/H]
# (--stencil 4,4,4: docs/synthesis.md, "Along teff on level 0's own step"; on the finer teff
# level below 10 kK where its stencil is on disk); training until the validation error stops
# falling. BOSS is trained over the grid's 3,600-10,400 Å without the continuum jump factor and
# fits from 3,900 Å (the default fit range of a model without the jumps, NO_JUMP_BLUE_LIMIT;
# measured on real stars, docs/synthesis.md, "The continuum's jumps"). The held-out report uses
# the v3 synthesis truth; APOGEE, whose spectra the v1 and v3 line lists give identically, falls
# back to the v1 truth while the v3 truth is not on disk.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
GRID=${GRID:-data/grids/obaf-sme-v3}
OUT=${OUT:-scratch/bundles-v3}
INSTRUMENTS=${INSTRUMENTS:-"boss apogee"}
MAX_SECONDS=${MAX_SECONDS:-3600}
VERSION=${VERSION:-3.0.0}
mkdir -p "$OUT"

args=(--box grid --stencil 4,4,4 --until-plateau --patience 10 --min-improvement 0.01
      --pca-components 200 --output-layer-dtype float16 --version "$VERSION")
if [ -n "${SMOKE:-}" ]; then  # the path on whatever is on disk, in about a minute
    args=(--box grid --stencil 4,4,4 --lattice complete --iterations 20 --validate-every 10
          --n-sobol 300 --n-gauss 100 --pca-components 20 --version 0.0.0-smoke)
    OUT=$(mktemp -d)
    MAX_SECONDS=120
else
    args+=(--lattice nodes --iterations 20000 --n-sobol 20000 --n-gauss 10000)
    for vmic in 1 4; do
        d=data/grids/obaf-sme-v3-vmic$vmic
        [ -f "$d/manifest.json" ] || { echo "train_v3.sh: $d missing (campaign not done)" >&2; exit 2; }
        args+=(--vmicro-grid "$d")
    done
    # 6 km/s (campaign step 9; widens the v_micro box to 1-6 km/s) and 5 km/s (step 11; the
    # response between 4 and 6 km/s is piecewise linear in v_micro), each once complete for
    # every instrument trained here. VMICRO_WIDE=0 keeps the box at 1-4 km/s: APOGEE's, whose
    # 1-6 km/s candidate was measured worse (docs/validation/diagnosis/vmicro-box/)
    wide="5 6"
    [ "${VMICRO_WIDE:-1}" = 0 ] && wide="" && echo "train_v3.sh: VMICRO_WIDE=0: v_micro 1-4 km/s"
    for vmic in $wide; do
        d=data/grids/obaf-sme-v3-vmic$vmic
        if [ -f "$d/manifest.json" ] && "$PY" - "$d" data/grids/v3/nodes-v3-vmicro.txt $INSTRUMENTS <<'PYEOF'
import sys
import numpy as np
from zeta_payne.grids.nodes import label_keys, load_node_grid
want = {tuple(k) for k in label_keys(np.loadtxt(sys.argv[2], ndmin=2))}
for name in sys.argv[3:]:
    try:
        have = {tuple(k) for k in label_keys(load_node_grid(sys.argv[1], name).labels)}
    except Exception:
        sys.exit(1)
    if want - have:
        sys.exit(1)
PYEOF
        then args+=(--vmicro-grid "$d"); echo "train_v3.sh: with $d ($vmic km/s)"
        else echo "train_v3.sh: $d not complete: without $vmic km/s"
        fi
    done
fi
source data/truth/complete.sh
holdout() {  # the held-out synthesis truth of one instrument (none: no option; score it later
             # with `zeta-payne bundle holdout` once the truth is complete)
    if truth_complete v3; then echo --holdout-grid data/truth/synth-truth-v3
    elif [ "$1" = apogee ] && truth_complete v1; then
        echo --holdout-grid data/truth/synth-truth-v1
    fi
}

warm() {  # --init-from the bundle of one instrument in INIT_FROM, if there is one
    [ -n "${INIT_FROM:-}" ] && [ -f "$INIT_FROM/zeta-payne-$1/manifest.json" ] &&
        echo --init-from "$INIT_FROM/zeta-payne-$1"
    return 0
}

for inst in $INSTRUMENTS; do
    # shellcheck disable=SC2046
    "$PY" -m zeta_payne.cli train --grid "$GRID" --instrument "$inst" \
        --out "$OUT/zeta-payne-$inst" --checkpoint "$OUT/zeta-payne-$inst.ckpt" \
        --max-seconds "$MAX_SECONDS" "${args[@]}" $(holdout "$inst") $(warm "$inst") ${TRAIN_ARGS:-}
    grep -m 3 -E "^- (training|emulator)" "$OUT/zeta-payne-$inst/emulator_accuracy.md"
done
