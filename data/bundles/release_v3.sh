#!/usr/bin/env bash
# The release cycle of one retrained v3 bundle: from a candidate network (train_v3.sh's
# output) to the figures that decide whether it ships, printed beside the shipped bundle's.
# Nothing under docs/ or data/bundles/ changes: every output goes under OUT in the layout of
# docs/validation/v3, and shipping is a deliberate copy (below) once `compare` says the
# candidate is not worse.
#
#   INSTRUMENT=boss CANDIDATE=scratch/bundles-v3d/zeta-payne-boss bash data/bundles/release_v3.sh
#   STEPS="table3 compare" INSTRUMENT=boss CANDIDATE=… bash data/bundles/release_v3.sh
#   # a dry run of every step (a copy of the candidate, a few cases; APOGEE ≈ 10 min):
#   DRY=1 INSTRUMENT=apogee CANDIDATE=data/bundles/zeta-payne-apogee bash data/bundles/release_v3.sh
#
# Steps (STEPS, default all, in this order; each can be rerun alone):
#   holdout    the candidate's held-out report: v3 synthesis truth and the midpoint probes
#              (MIDPOINTS), written into its emulator_accuracy.md (interpolation <= 1/2 emulator
#              per region)
#   rules      the fit rules the shipped bundle was given after its training (`zeta-payne bundle
#              defaults CANDIDATE --from SHIPPED`): response segments, masked bands, error-floor
#              bands (BOSS); hot stars' [M/H] hold and restarts (APOGEE)
#   studies    the calibration studies on synthesis truth, S/N 10-200: seeds 0 and 7 (BOSS),
#              0, 7, 11, 13, 17 and 19 (APOGEE, as 3.2.6; SEEDS overrides) at N_CALIBRATE cases per S/N, and
#              the check seeds CHECK_SEEDS (29 31) at N_CHECK each, pooled: one seed's v_micro
#              cells (26-53 fits) move by more than +-25 % from seed to seed (thirtieth
#              session, docs/validation/v3/README.md "Error calibration"). Case i of a study
#              uses truth point i mod M whatever the seed (the seed draws v sin i, RV and
#              noise), so N_CALIBRATE is every in-box point of the v3
#              truth (264): with 100 (before the twenty-eighth session) every seed saw the same
#              100 stars and the check's 264 found v sin i's errors 25 % narrow at S/N 20-50
#              CHECK_LABEL_SEEDS (default none): more check seeds, of the truth points at
#              6-10 kK only (`validate --teff-range 6000 10000`, N_CHECK cases per S/N, into
#              study-vmicro-SEED/), whose fits enter the check's v_micro cells only: v_micro is
#              fitted at 6-10 kK, and its cells of two whole-box seeds (46-110 fits) pass
#              0.8-1.25 by chance about half the time even with a calibration that is right
#              (docs/validation/diagnosis/check-power/)
#   calibrate  the error calibration on those seeds (APOGEE: --box-bound), then the check on
#              the check seeds pooled (check-29-31/; with CHECK_LABEL_SEEDS their seeds too,
#              e.g. check-29-31-37-41/)
#   table3     Table 3 against direct syntheses observed realistically, seed 23, N_TABLE3
#              in-box truth points, S/N inf/100/50
#   interstellar  BOSS only: the same cases with the sight line's interstellar lines and bands
#              (`--observation-set interstellar=true`), into OUT/synthesis-boss-interstellar,
#              and [M/H]'s bias by teff and E(B-V) (docs/validation/diagnosis/interstellar/)
#   outofbox   flag rates on the truth's in-box and out-of-box points at S/N 50
#   real       BOSS only: the real-star benchmark on REAL_SAMPLE (validate_v3.sh's `sample`
#              step makes it from the MaNGA DAP wheel on PyPI)
#   compare    candidate against shipped, side by side (data/bundles/compare_release.py;
#              also written to OUT/compare.md)
#
# Ship (when compare says so):  cp -r "$CANDIDATE" data/bundles/  and copy OUT's folders over
# docs/validation/v3's (synthesis-INST, calibration/INST, real/synthetic-INST, real/ for BOSS),
# then update the docs' figures and data/bundles/README.md.
#
# Resumable: a study or Table 3 run already finished with this very candidate (the same
# manifest sha256, every S/N, every case) is kept, so an interrupted cycle is run again with
# the same command and picks up at the first study not made; the other steps are redone.
# A calibration study made with an earlier version that differs from the candidate only by its
# error calibration (the same network, fit rules and so fits) is kept too, so a calibrated
# candidate can be calibrated again on more seeds (SEEDS, CHECK_SEEDS) without remaking them.
# A cycle cut after `calibrate` (which writes a new version of the candidate) is continued
# with STEPS set to the steps left, e.g. STEPS="table3 outofbox real compare".
# scratch/ (OUT's default) is not kept from one working session to the next (the thirty-ninth
# found it gone): a cycle longer than a session writes OUT somewhere committed and commits each
# finished study's results.csv and studies.json (what `made` reads), as
# docs/validation/diagnosis/vmicro-fast/release-3.3.6/try2.sh does.
#
# Time on two cores (measured with APOGEE 3.2.3 in the twenty-fourth session, 53 min for
# studies to out-of-box): BOSS fits are slower (Table 3 + studies + out-of-box + real ≈ 1.5 h).
set -euo pipefail
cd "$(dirname "$0")/../.."
ZP=${ZETA_PAYNE:-.venv/bin/zeta-payne}
PY=${PYTHON:-.venv/bin/python}
INSTRUMENT=${INSTRUMENT:?INSTRUMENT=boss or apogee}
CANDIDATE=${CANDIDATE:?CANDIDATE=the retrained bundle folder}
SHIPPED=${SHIPPED:-data/bundles/zeta-payne-$INSTRUMENT}
SHIPPED_DOCS=${SHIPPED_DOCS:-docs/validation/v3}
OUT=${OUT:-scratch/release-$INSTRUMENT}
TRUTH=${TRUTH:-data/truth/synth-truth-v3}
# the midpoint probes: of each instrument's finished lattice (campaign step 14), then the first
# set (step 5, by now on the refined lattices in teff and log g); each where it holds the instrument
MIDPOINTS=${MIDPOINTS:-"data/grids/obaf-sme-v3-midpoints-fine data/grids/obaf-sme-v3-midpoints"}
PROCESSES=${PROCESSES:-2}
N_CALIBRATE=${N_CALIBRATE:-264}   # every in-box point of synth-truth-v3
N_CHECK=${N_CHECK:-264}
CHECK_SEEDS=${CHECK_SEEDS:-"29 31"}
CHECK_LABEL_SEEDS=${CHECK_LABEL_SEEDS:-}
CAL_VERSION=${CAL_VERSION:-}     # the calibrated candidate's version (default: the next patch)
N_TABLE3=${N_TABLE3:-200}
N_OUTOFBOX=${N_OUTOFBOX:-}      # empty: every truth point
REAL_SAMPLE=${REAL_SAMPLE:-scratch/real-3900}
STEPS=${STEPS:-"holdout rules studies calibrate table3 interstellar outofbox real compare"}
if [ -n "${DRY:-}" ]; then      # every step on a copy, a few cases each: the path, not the figures
    dry=$(mktemp -d)
    cp -r "$CANDIDATE" "$dry/" && CANDIDATE="$dry/$(basename "$CANDIDATE")"
    # 20 per S/N and seed: the calibration needs >= 20 v_micro fits (cool cases only)
    OUT="$dry/out" N_CALIBRATE=20 N_CHECK=4 N_TABLE3=4 N_OUTOFBOX=4
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
[ -f "$CANDIDATE/manifest.json" ] || { echo "release_v3.sh: $CANDIDATE is not a bundle" >&2; exit 2; }
[ -f "$SHIPPED/manifest.json" ] || { echo "release_v3.sh: $SHIPPED is not a bundle" >&2; exit 2; }
[ "$(realpath "$CANDIDATE")" != "$(realpath "$SHIPPED")" ] || {
    echo "release_v3.sh: the candidate is the shipped bundle (copy it first, or DRY=1)" >&2; exit 2; }
cal="$OUT/calibration/$INSTRUMENT"
case $INSTRUMENT in
    boss) seeds="0 7" calibrate_extra=() ;;
    apogee) seeds="0 7 11 13 17 19" calibrate_extra=(--box-bound) ;;
    *) echo "release_v3.sh: INSTRUMENT must be boss or apogee" >&2; exit 2 ;;
esac
seeds=${SEEDS:-$seeds}   # the calibration seeds (e.g. a failed check's seeds joined, as in 3.2.6)
mkdir -p "$OUT"
made() {  # output folder, cases per S/N, S/N list[, any]: a finished validate run of this candidate
    # (with "any": or of an earlier version it differs from only by its error calibration —
    # the same fits, `same_fits_as` in its provenance — as a calibration study may be)
    "$PY" - "$1" "$2" "$3" "$CANDIDATE" "${4:-}" <<'PYEOF'
import csv, json, sys
from pathlib import Path
from zeta_payne.bundles import load_bundle
from zeta_payne.bundles.calibration import same_fits
folder, n, snrs, candidate = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4]
try:
    studies = json.loads((folder / "studies.json").read_text())["studies"]
    with open(folder / "results.csv", newline="") as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
except (OSError, ValueError, KeyError):
    sys.exit(1)
bundle = load_bundle(candidate)
same = all(same_fits(bundle, s["meta"]["bundle"]) if sys.argv[5] else s["meta"]["bundle"]["sha256"] == bundle.sha256
           for s in studies)
sys.exit(0 if same and len(studies) == len(snrs) and rows == n * len(snrs) else 1)
PYEOF
}
study() {  # seed, cases per S/N, output[, validate options] (kept when a finished run of this
    # candidate is there)
    if [ -z "${DRY:-}" ] && made "$3" "$2" 10,20,50,100,200 any; then
        echo "release_v3.sh: $3 already made with this candidate; kept"; return 0; fi
    "$ZP" validate --bundle "$CANDIDATE" --generator synthesis --truth "$TRUTH" \
        --snr 10,20,50,100,200 --n "$2" --seed "$1" --processes "$PROCESSES" -o "$3" "${@:4}"
}
for step in $STEPS; do
    echo "release_v3.sh: $step ($(date -u +%H:%M:%S))"
    case $step in
    holdout)
        sets=(--holdout-grid "$TRUTH")
        for m in $MIDPOINTS; do [ -d "$m/$INSTRUMENT" ] && sets+=(--holdout-grid "$m"); done
        "$ZP" bundle holdout "$CANDIDATE" "${sets[@]}" --in-place -o "$OUT/holdout-$INSTRUMENT.md" ;;
    rules)
        "$ZP" bundle defaults "$CANDIDATE" --from "$SHIPPED" --in-place ;;
    studies)
        for seed in $seeds; do study "$seed" "$N_CALIBRATE" "$cal/study-$seed"; done
        for seed in $CHECK_SEEDS; do study "$seed" "$N_CHECK" "$cal/study-$seed"; done
        for seed in $CHECK_LABEL_SEEDS; do
            study "$seed" "$N_CHECK" "$cal/study-vmicro-$seed" --teff-range 6000 10000
        done ;;
    calibrate)
        studies=() checks=() checked=() name=check
        for seed in $seeds; do studies+=(--study "$cal/study-$seed"); done
        for seed in $CHECK_SEEDS; do
            checks+=(--check-study "$cal/study-$seed") checked+=(--study "$cal/study-$seed")
            name="$name-$seed"
        done
        for seed in $CHECK_LABEL_SEEDS; do
            checks+=(--check-label-study "v_micro:$cal/study-vmicro-$seed")
            checked+=(--label-study "v_micro:$cal/study-vmicro-$seed")
            name="$name-$seed"
        done
        "$ZP" bundle calibrate "$CANDIDATE" "${studies[@]}" "${checks[@]}" "${calibrate_extra[@]}" \
            ${CAL_VERSION:+--version "$CAL_VERSION"} --in-place -o "$cal"
        "$ZP" bundle calibrate "$CANDIDATE" "${checked[@]}" --check -o "$cal/$name" ;;
    table3)
        if [ -z "${DRY:-}" ] && made "$OUT/synthesis-$INSTRUMENT" "$N_TABLE3" inf,100,50; then
            echo "release_v3.sh: Table 3 already made with this candidate; kept"; continue; fi
        "$ZP" validate --bundle "$CANDIDATE" --generator synthesis --truth "$TRUTH" \
            --snr inf,100,50 --n "$N_TABLE3" --seed 23 --processes "$PROCESSES" \
            -o "$OUT/synthesis-$INSTRUMENT" ;;
    interstellar)
        if [ "$INSTRUMENT" != boss ]; then continue; fi
        ism="$OUT/synthesis-$INSTRUMENT-interstellar"
        if [ -n "${DRY:-}" ] || ! made "$ism" "$N_TABLE3" inf,100,50; then
            "$ZP" validate --bundle "$CANDIDATE" --generator synthesis --truth "$TRUTH" \
                --snr inf,100,50 --n "$N_TABLE3" --seed 23 --processes "$PROCESSES" \
                --observation-set interstellar=true -o "$ism"
        fi
        "$PY" docs/validation/diagnosis/interstellar/summarize.py "$OUT/synthesis-$INSTRUMENT" "$ism" ;;
    outofbox)
        "$ZP" benchmark-real --bundle "$CANDIDATE" --synthetic "$TRUTH" --snr 50 \
            --processes "$PROCESSES" --no-plots ${N_OUTOFBOX:+--limit "$N_OUTOFBOX"} -o "$OUT/real" ;;
    real)
        if [ "$INSTRUMENT" != boss ]; then continue; fi
        if [ ! -f "$REAL_SAMPLE/stars.csv" ]; then
            echo "release_v3.sh: $REAL_SAMPLE missing (STEPS=sample bash data/bundles/validate_v3.sh makes it); real skipped" >&2
            continue
        fi
        "$ZP" benchmark-real --bundle "$CANDIDATE" --sample "$REAL_SAMPLE" --processes "$PROCESSES" \
            --no-plots -o "$OUT/real" ;;
    compare)
        "$PY" data/bundles/compare_release.py --instrument "$INSTRUMENT" \
            --shipped "$SHIPPED" --shipped-docs "$SHIPPED_DOCS" \
            --candidate "$CANDIDATE" --candidate-docs "$OUT" --truth "$TRUTH" \
            $(for m in $MIDPOINTS; do printf -- '--midpoints %s ' "$(basename "$m")"; done) \
            | tee "$OUT/compare.md" ;;
    *) echo "release_v3.sh: unknown step $step" >&2; exit 2 ;;
    esac
done
