#!/usr/bin/env bash
# Fast rotators (v sin i 60-380 km/s) at true v_micro 1.5, 2.0, 2.5, 3.5 and 5.0 km/s (the
# microturbulence truth sets, data/truth/make_truth_vmicro.sh), fitted by three variants of
# the APOGEE bundle: as shipped (3.3.4, v_micro free), v_micro fixed at 2 km/s everywhere,
# and the candidate that holds v_micro at 2 km/s only where a fit leaves it at a box edge
# with a covariance error above 0.5 km/s (3.3.5). One seed for every set: each case differs
# between sets only by its true v_micro. ~1 min per set and variant on two cores.
#
#   bash docs/validation/diagnosis/vmicro-fast/run.sh [OUT]      # default scratch/vmicro-fast
#
# The committed results were made with APOGEE 3.3.4 as SHIPPED (commit a702083). Once a later
# bundle ships, "free" means that bundle; to remake these, point SHIPPED at 3.3.4's folder
# (git worktree add /tmp/zp-3.3.4 a702083, SHIPPED=/tmp/zp-3.3.4/data/bundles/zeta-payne-apogee).
#   python docs/validation/diagnosis/vmicro-fast/summarize.py OUT/free OUT/fixed2 OUT/vhold
set -euo pipefail
cd "$(dirname "$0")/../../../.."
ZP=${ZETA_PAYNE:-.venv/bin/zeta-payne}
OUT=${1:-scratch/vmicro-fast}
SHIPPED=${SHIPPED:-data/bundles/zeta-payne-apogee}
mkdir -p "$OUT/bundles"
variant() {  # name, --set arguments for `bundle defaults` (none: the shipped bundle)
    local name=$1; shift
    if [ $# -eq 0 ]; then echo "$SHIPPED"; return; fi
    local dir="$OUT/bundles/$name/zeta-payne-apogee"
    [ -f "$dir/manifest.json" ] || "$ZP" bundle defaults "$SHIPPED" "$@" \
        --reason "vmicro-fast diagnosis: $name" --bundle-out "$dir" > /dev/null
    echo "$dir"
}
declare -A bundles=(
    [free]=$(variant free)
    [fixed2]=$(variant fixed2 --set 'fixed={"v_micro": 2.0}')
    [vhold]=$(variant vhold --set 'hold_unconstrained_at_edge={"m_h": 0.0, "v_micro": 2.0}' \
                            --set 'unconstrained_error={"m_h": 0.3, "v_micro": 0.5}')
)
for name in free fixed2 vhold; do
    for v in 1.5 2.0 2.5 3.5 5.0; do
        run="$OUT/$name/vmicro$v"
        [ -f "$run/results.csv" ] && continue
        mkdir -p "$run"
        "$ZP" validate --bundle "${bundles[$name]}" --generator synthesis \
            --truth "data/truth/synth-truth-v3-vmicro$v" --truth-points data/truth/truth-points-vmicro.txt \
            --snr 100,50 --n 40 --seed 29 --v-sini-range 60 380 --processes "${PROCESSES:-2}" \
            -o "$run" > "$run.log" 2>&1 || { echo "validate failed: $run.log" >&2; exit 1; }
        echo "$name v_micro $v: done"
    done
done
