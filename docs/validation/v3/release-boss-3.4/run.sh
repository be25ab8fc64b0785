#!/usr/bin/env bash
# BOSS 3.4 from the end of the campaign's level 4 to the figures that decide whether it ships,
# in one resumable command: data/bundles/README.md step 20, whose rules were set in the
# thirty-ninth session and amended in the forty-second, before this network existed. Nothing
# here decides: the rules do, read off out/compare.md and the check's report (RULES below).
#
#   nohup bash docs/validation/v3/release-boss-3.4/run.sh > /work/runs/boss-3.4.log 2>&1 &
#   # at a session's start, straight after the campaign (it ends once level 4 is done):
#   (NICE=5 PROCESSES=2 bash data/grids/v3/campaign.sh; bash docs/validation/v3/release-boss-3.4/run.sh) \
#       > /work/runs/campaign.out 2>&1 &
#
# Rerun the same line after an interruption. Each step is skipped when it is done: the lattice
# measurements when their files are there, a training stage when its bundle stopped on its
# own (plateau or iterations, not the time budget), the candidate when out/steps/candidate names
# the stage-2 bundle it was made from, a release step when out/steps/STEP names the candidate
# (as it is now) it was done with. Training and the candidate live in WORK (scratch/, not kept
# from one session to the next: if it is gone, they are made again, the same way); the
# release's outputs go to out/ beside this script: commit each finished study's results.csv
# and studies.json, the reports and compare.md as they appear (not the plots; out/.gitignore).
#
# Steps (STEPS overrides, in this order):
#   ready      level 4 as done as it can be (data/grids/v3/count_level4.py --require-complete)
#              and BOSS's midpoint probes of the finished lattice made (campaign step 14), or exit 3
#   lattice    the lattice alone, levels 0-3 against 0-5, at the truth points and both sets of
#              midpoints per teff region (data/grids/v3/measure_truth_interpolation.py), and the shipped
#              3.2.6 network's held-out report on the finished lattice (its interpolation part
#              is the lattice's, its emulator part 3.2.6's): out/lattice-*.txt, out/holdout-3.2.6.md
#   stage1     warm from the shipped 3.2.6, until the validation error stops falling (3.4.0)
#   stage2     warm from stage 1: learning rate 2e-5 -> 1e-6, 4,000 iterations, patience 40
#              (as step 18)
#   candidate  a copy of stage 2; release_v3.sh's holdout and rules; refit_start="first"
#              (step 19; REFIT_START=presearch leaves 3.2.6's rules exactly: step 23, with
#              CANDIDATE and OUT_DIR elsewhere, STEPS from candidate on)
#   studies, calibrate   calibration seeds 0 + 7, check 29 + 31 with the 6-10 kK v_micro
#              studies 37 + 41 (rule 1 as amended); on a miss, the one second try: 29 + 31 join
#              the calibration, the check is 43 + 47 with 6-10 kK studies 53 + 59
#   table3, interstellar, outofbox, real, compare   release_v3.sh's, on the real-star sample
#              (made first when missing: validate_v3.sh's `sample`)
#
# RULES (step 20; against 3.2.6): it ships only if 1. the check has 30 of 30 cells in 0.8-1.25;
# 2. (as amended in the forty-third session) the 8-10 kK truth points' interpolation / emulator
# p95 below 3.2.6's 0.75 (the first midpoint probes there lie on level 4's nodes in teff and
# log g; the finished lattice's midpoints are reported); 3. Table 3 every label
# at or below the paper's or no worse than 3.2.6 beyond its 95 % interval; 4. out-of-box at
# S/N 50 out 43 of 43, in at most 2 of 179; 5. real stars: in-box BAD at most 50 of 293, each
# teff bin's |median dTeff| and |median d[M/H]| at most 0.5 % and 0.03 dex further from 0 than
# 3.2.6's, no in-box star > 15 % off in teff unflagged that 3.2.6 flagged; 6. reliability at
# most 2 points below 3.2.6's at every S/N.
#
# Time on two cores (estimated from steps 14-18): lattice ≈ 10 min, training ≈ 40 min, the
# release ≈ 2 h.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
here=docs/validation/v3/release-boss-3.4
out=${OUT_DIR:-$here/out}   # OUT_DIR: elsewhere, e.g. for a path test
PY=${PYTHON:-.venv/bin/python}
ZP=${ZETA_PAYNE:-.venv/bin/zeta-payne}
WORK=${WORK:-scratch/boss-3.4}
G=data/grids/obaf-sme-v3
S1=$WORK/bundles-l4 S2=$WORK/bundles-l4b
CANDIDATE=${CANDIDATE:-$WORK/candidate/zeta-payne-boss}
VERSION=${VERSION:-3.4.0}   # of the trained stages (a later cycle on this script: its own)
REFIT_START=${REFIT_START:-first}   # step 20: "first"; step 23: "presearch" (3.2.6's rules exactly)
cal=$out/calibration/boss
STEPS=${STEPS:-"ready lattice stage1 stage2 candidate studies calibrate table3 interstellar outofbox real compare"}
mkdir -p "$out/steps" "$WORK"
say() { echo "release-boss-3.4: $* ($(date -u +%H:%M:%S))"; }
sha() { "$PY" -c 'import sys; from zeta_payne.bundles import load_bundle; print(load_bundle(sys.argv[1]).sha256)' "$1"; }
done_with() { [ -f "$out/steps/$1" ] && [ -f "$CANDIDATE/manifest.json" ] && [ "$(cat "$out/steps/$1")" = "$(sha "$CANDIDATE")" ]; }
mark() { sha "$CANDIDATE" > "$out/steps/$1"; }
stopped_on_its_own() {  # a trained bundle whose training ended at its plateau or its iterations
    [ -f "$1/zeta-payne-boss/manifest.json" ] && "$PY" - "$1/zeta-payne-boss" <<'PYEOF'
import sys
from zeta_payne.bundles import load_bundle
training = load_bundle(sys.argv[1]).manifest.provenance.get("training", {})
sys.exit(0 if training.get("stop_reason") in ("plateau", "iterations") else 1)
PYEOF
}
release() {  # release_v3.sh steps, with this cycle's seeds
    SEEDS="$seeds" CHECK_SEEDS="$check" CHECK_LABEL_SEEDS="$check_label" INSTRUMENT=boss \
        CANDIDATE="$CANDIDATE" OUT="$out" STEPS="$*" bash data/bundles/release_v3.sh
}
check_passed() {  # the check report of the seeds now set: 0 cells outside
    grep -q "Cells outside 0.8–1.25: 0 of 30" "$cal/check-${check// /-}-${check_label// /-}/report.md"
}
seeds="0 7" check="29 31" check_label="37 41"
if [ -f "$out/steps/second-try" ]; then
    seeds="0 7 29 31" check="43 47" check_label="53 59"
fi

for step in $STEPS; do
    say "$step"
    case $step in
    ready)
        "$PY" data/grids/v3/count_level4.py --require-complete || {
            say "level 4 is not done: run data/grids/v3/campaign.sh first"; exit 3; }
        "$PY" - <<'PYEOF' || { say "BOSS's midpoint probes (campaign step 14) are not done"; exit 3; }
import sys
import numpy as np
from zeta_payne.grids.nodes import label_keys, load_node_grid
want = {tuple(k) for k in label_keys(np.loadtxt("data/grids/v3/nodes-v3-midpoints-fine-boss.txt", ndmin=2))}
try:
    have = {tuple(k) for k in label_keys(load_node_grid("data/grids/obaf-sme-v3-midpoints-fine", "boss").labels)}
except Exception:
    sys.exit(1)
print(f"BOSS midpoint probes of the finished lattice: {len(want & have)} of {len(want)}")
sys.exit(0 if want <= have else 1)
PYEOF
        ;;
    lattice)
        for truth in data/truth/synth-truth-v3 $G-midpoints-fine $G-midpoints; do
            f=$out/lattice-$(basename "$truth").txt
            [ -s "$f" ] && continue
            "$PY" data/grids/v3/measure_truth_interpolation.py --instrument boss --truth "$truth" \
                --regions 6000,8000,10000,12500,15000,20000,30001 \
                --grid $G:4,4,4:3 --grid $G:4,4,4:5 > "$f.part" && mv "$f.part" "$f"
        done
        [ -s "$out/holdout-3.2.6.md" ] || "$ZP" bundle holdout data/bundles/zeta-payne-boss \
            --holdout-grid data/truth/synth-truth-v3 --holdout-grid $G-midpoints-fine \
            --holdout-grid $G-midpoints -o "$out/holdout-3.2.6.md" ;;
    stage1)
        until stopped_on_its_own "$S1"; do
            OMP_NUM_THREADS=2 INSTRUMENTS=boss INIT_FROM=data/bundles OUT="$S1" VERSION="$VERSION" \
                TRAIN_ARGS="--threads 2" bash data/bundles/train_v3.sh
        done ;;
    stage2)
        until stopped_on_its_own "$S2"; do
            OMP_NUM_THREADS=2 INSTRUMENTS=boss INIT_FROM="$S1" OUT="$S2" VERSION="$VERSION" \
                TRAIN_ARGS="--threads 2 --learning-rate 2e-5 --final-learning-rate 1e-6 --iterations 4000 --patience 40" \
                bash data/bundles/train_v3.sh
        done ;;
    candidate)  # done when made from this stage 2 (the candidate's own sha moves on with the cycle)
        [ -f "$CANDIDATE/manifest.json" ] && [ -f "$out/steps/candidate" ] &&
            [ "$(cat "$out/steps/candidate")" = "$(sha "$S2/zeta-payne-boss")" ] && continue
        # a new candidate: the markers of an earlier one (and its second try) no longer hold
        rm -rf "$(dirname "$CANDIDATE")" "$out"/steps/* && mkdir -p "$(dirname "$CANDIDATE")"
        seeds="0 7" check="29 31" check_label="37 41"
        cp -r "$S2/zeta-payne-boss" "$CANDIDATE"
        release holdout rules       # out/holdout-boss.md: rule 2's figure
        if [ "$REFIT_START" = first ]; then
            "$ZP" bundle defaults "$CANDIDATE" --in-place --set 'refit_start="first"' \
                --reason "refit from the first fit's labels: BOSS 3.2.6's Table 3 unchanged, hot stars a quarter faster (docs/validation/diagnosis/refit-start/; data/bundles/README.md step 19)"
        fi
        sha "$S2/zeta-payne-boss" > "$out/steps/candidate" ;;
    studies)
        done_with studies || done_with calibrate || done_with calibrate-2 || { release studies; mark studies; } ;;
    calibrate)
        if [ ! -f "$out/steps/second-try" ]; then
            done_with calibrate || { release calibrate; mark calibrate; }
            if ! check_passed; then
                say "check missed: the second and last try (rule 1)"
                : > "$out/steps/second-try"
                seeds="0 7 29 31" check="43 47" check_label="53 59"
            fi
        fi
        if [ -f "$out/steps/second-try" ] && ! done_with calibrate-2; then
            release studies calibrate   # the first try's studies are kept, not made again
            mark calibrate-2
        fi
        if check_passed; then say "check: 30 of 30 cells inside (rule 1 met)"
        else say "check: missed on the second try too (rule 1 not met; the cycle goes on for the record)"; fi ;;
    table3|interstellar|outofbox|real|compare)
        done_with "$step" && continue
        if [ "$step" = real ] && [ ! -f scratch/real-3900/stars.csv ]; then
            STEPS=sample bash data/bundles/validate_v3.sh
        fi
        release "$step"
        mark "$step" ;;
    *) echo "release-boss-3.4: unknown step $step" >&2; exit 2 ;;
    esac
done
say "done"
