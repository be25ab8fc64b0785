#!/usr/bin/env bash
# How the shipped default bundles, their demo spectra and their validation reports were made.
# Every step is resumable; rerunning a finished step does no new synthesis or training work
# (the campaigns skip nodes on disk, training resumes from its checkpoint).
#
#   bash data/bundles/make_bundles.sh            # everything, in order
#   STEPS="train demo" bash data/bundles/make_bundles.sh
#
# Measured cost on the 2-core development machine: see data/bundles/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-"synthesize holdout train demo validate"}
PROCESSES=${PROCESSES:-2}
TRAIN_SECONDS=${TRAIN_SECONDS:-900}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

BOSS_RANGE=(--model-range boss 4400 7000)
BOSS_RED_STOP=10400
# BOSS was synthesized in two parts: 4400-7000 Å (v2), then 7000-10400 Å starting at the pixel
# after v2's last (`grid next-start`); `grid concat` joins them into obaf-sme-boss-v2.1. The
# parts are intermediate (scratch/grids); the joined grids are shipped.
PARTS=scratch/grids

boss_join() {  # boss_join SUFFIX [extra synthesize args...]: red part + join for one grid
  local suffix=$1; shift
  local blue="$PARTS/obaf-sme-boss-v2$suffix" red="$PARTS/obaf-sme-boss-v2-red$suffix"
  local start
  start=$(zeta-payne grid next-start "$blue")
  zeta-payne -v grid synthesize --root "$PARTS" --grid "$(basename "$red")" --instruments boss \
    --model-range boss "$start" "$BOSS_RED_STOP" "$@" --processes "$PROCESSES" --chunk-size 1
  [ -d "data/grids/obaf-sme-boss-v2.1$suffix" ] ||
    zeta-payne grid concat "$blue" "$red" --out "data/grids/obaf-sme-boss-v2.1$suffix"
}

for step in $STEPS; do
  case $step in
    synthesize)  # node lattices: BOSS level 0 (90 nodes), APOGEE level 1 (171 nodes)
      zeta-payne -v grid synthesize --grid obaf-sme-apogee-v2 --instruments apogee \
        --max-level 1 --processes "$PROCESSES" --chunk-size 10
      zeta-payne -v grid synthesize --root "$PARTS" --grid obaf-sme-boss-v2 --instruments boss \
        "${BOSS_RANGE[@]}" --max-level 0 --processes "$PROCESSES" --chunk-size 1
      boss_join "" --max-level 0
      ;;
    holdout)  # 12 test nodes off every lattice level, same synthesis settings
      zeta-payne -v grid synthesize --grid obaf-sme-apogee-v2-holdout --instruments apogee \
        --nodes-file data/grids/holdout-nodes-v2.txt --processes "$PROCESSES" --chunk-size 1
      zeta-payne -v grid synthesize --root "$PARTS" --grid obaf-sme-boss-v2-holdout --instruments boss \
        "${BOSS_RANGE[@]}" --nodes-file data/grids/holdout-nodes-v2.txt --processes "$PROCESSES" \
        --chunk-size 1
      boss_join -holdout --nodes-file data/grids/holdout-nodes-v2.txt
      ;;
    train)  # paper Table 1 training set, principal-component training on CPU; resumable.
            # Two stages per instrument: PASSES1 passes at 1e-3, then 500 passes warm-started
            # from stage 1 at 3e-4 (the second stage is where the validation error settles).
      for inst in boss apogee; do
        if [ "$inst" = apogee ]; then grid=obaf-sme-apogee-v2 version=2.0.0 passes1=220
        else grid=obaf-sme-boss-v2.1 version=2.1.0 passes1=400; fi
        common=(--grid "data/grids/$grid" --instrument "$inst"
                --holdout-grid "data/grids/$grid-holdout" --version "$version"
                --validate-every 10 --pca-components 200 --final-learning-rate 1e-5
                --output-layer-dtype float16 --threads 2 --max-seconds "$TRAIN_SECONDS")
        zeta-payne -v train "${common[@]}" --out "scratch/zeta-payne-$inst-stage1" \
          --iterations "$passes1" --learning-rate 1e-3 --checkpoint "scratch/zeta-payne-$inst.ckpt"
        zeta-payne -v train "${common[@]}" --out "data/bundles/zeta-payne-$inst" \
          --iterations 500 --learning-rate 3e-4 --init-from "scratch/zeta-payne-$inst-stage1" \
          --checkpoint "scratch/zeta-payne-$inst-stage2.ckpt"
      done
      ;;
    demo)  # demo spectra: true spectra from the node grids, not from the networks
      python data/demo/make_demo.py --grid boss=data/grids/obaf-sme-boss-v2.1 \
        --grid apogee=data/grids/obaf-sme-apogee-v2
      ;;
    validate)  # paper Section 4 on both bundles (docs/validation/)
      for inst in boss apogee; do
        zeta-payne -v validate --bundle "$inst" --n "${VALIDATE_N:-1000}" --snr inf,100,50 \
          --processes "$PROCESSES" -o "docs/validation/$inst"
      done
      # model mismatch: true spectra from the APOGEE lattice's coarsest level
      zeta-payne -v validate --bundle apogee --grid-level 0 --n 500 --snr 100 \
        --processes "$PROCESSES" -o docs/validation/mismatch-apogee
      ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
