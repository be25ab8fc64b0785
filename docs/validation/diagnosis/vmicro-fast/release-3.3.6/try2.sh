#!/usr/bin/env bash
# The APOGEE v_micro-hold candidate's second and last release try, as set down in
# ../README.md ("The second and last try") before it ran: the same fits (3.3.5, remade here by
# the command that made it), calibration seeds 0 7 11 13 17 19 29 31 43 47, fresh check seeds
# 53 and 59, then Table 3, out-of-box and the comparison with the shipped 3.3.4.
#
#   nohup bash docs/validation/diagnosis/vmicro-fast/release-3.3.6/try2.sh > try2.log 2>&1 &
#
# scratch/ does not outlive a working session (the thirty-ninth found it gone), so the outputs
# go to try2/ beside this script, to be committed as each study finishes (results.csv and
# studies.json are what release_v3.sh needs to keep a study; the plots are not committed).
# Run again after an interruption: the candidate is remade with the same fits, and the
# finished studies in try2/ are kept (release_v3.sh's `made ... any`: same network and rules).
set -euo pipefail
cd "$(dirname "$0")/../../../../.."
here=docs/validation/diagnosis/vmicro-fast/release-3.3.6
source docs/validation/diagnosis/vmicro-fast/candidate.sh  # sets CANDIDATE, makes it if missing
SEEDS="0 7 11 13 17 19 29 31 43 47" CHECK_SEEDS="53 59" \
    STEPS=${STEPS:-"studies calibrate table3 outofbox compare"} \
    INSTRUMENT=apogee CANDIDATE="$CANDIDATE" OUT="$here/try2" \
    bash data/bundles/release_v3.sh
