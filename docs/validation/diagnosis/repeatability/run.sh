#!/usr/bin/env bash
# How repeatable is a fit? The same 24 realistic APOGEE cases (v3 synthesis truth, S/N 50,
# seed 43) fitted five times: twice alike on one process, once on two processes, and on one
# process in batches of 8 and of 24 instead of 16. compare.py prints how far the labels move.
#
#   bash docs/validation/diagnosis/repeatability/run.sh [BUNDLE]
set -euo pipefail
cd "$(dirname "$0")/../../../.."
ZP=${ZETA_PAYNE:-.venv/bin/zeta-payne}
BUNDLE=${1:-data/bundles/zeta-payne-apogee}
here=docs/validation/diagnosis/repeatability
for run in one-a one-b; do
    "$ZP" validate --bundle "$BUNDLE" --generator synthesis --truth data/truth/synth-truth-v3 \
        --snr 50 --n 24 --seed 43 --processes 1 -o "$here/$run" > /dev/null
done
"$ZP" validate --bundle "$BUNDLE" --generator synthesis --truth data/truth/synth-truth-v3 \
    --snr 50 --n 24 --seed 43 --processes 2 -o "$here/two" > /dev/null
# the same on one process with other batches than the default 16 (8, and all 24 at once)
for bs in 8 24; do
    "$ZP" validate --bundle "$BUNDLE" --generator synthesis --truth data/truth/synth-truth-v3 \
        --snr 50 --n 24 --seed 43 --processes 1 --batch-size "$bs" -o "$here/batch-$bs" > /dev/null
done
.venv/bin/python "$here/compare.py" "$here" | tee "$here/compare.md"
