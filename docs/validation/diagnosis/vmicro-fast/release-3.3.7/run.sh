#!/usr/bin/env bash
# The APOGEE v_micro-hold candidate's third try, under RULES.md (written before it ran): the
# same fits (3.3.5, remade by the command that made it), calibrated on the twelve stored
# studies of the second try (linked, not refitted), checked on fresh seeds 61 + 67 with 6-10 kK
# studies 71 + 73 added to the v_micro cells, then Table 3, out-of-box and the comparison with
# the shipped 3.3.4. Outputs go to out/ beside this script; commit each finished study's
# results.csv and studies.json (scratch/ does not outlive a working session). Rerun the same
# line after an interruption: finished studies are kept.
#
#   nohup bash docs/validation/diagnosis/vmicro-fast/release-3.3.7/run.sh > run.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../../../../.."
here=docs/validation/diagnosis/vmicro-fast/release-3.3.7
source docs/validation/diagnosis/vmicro-fast/candidate.sh  # sets CANDIDATE, makes it if missing
seeds="0 7 11 13 17 19 29 31 43 47 53 59"
cal=$here/out/calibration/apogee
mkdir -p "$cal"
for seed in $seeds; do  # the second try's studies of the same fits, linked
    [ -e "$cal/study-$seed" ] || ln -s "../../../../release-3.3.6/try2/calibration/apogee/study-$seed" "$cal/study-$seed"
done
SEEDS="$seeds" CHECK_SEEDS="61 67" CHECK_LABEL_SEEDS="71 73" CAL_VERSION=3.3.7 \
    STEPS=${STEPS:-"studies calibrate table3 outofbox compare"} \
    INSTRUMENT=apogee CANDIDATE="$CANDIDATE" OUT="$here/out" \
    bash data/bundles/release_v3.sh
