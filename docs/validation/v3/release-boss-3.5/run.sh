#!/usr/bin/env bash
# BOSS 3.5 from the end of campaign step 16 (BOSS's teff planes below 8 kK patched into the
# lattice, and the patched lattice's midpoint probes) to the figures that decide whether it
# ships, in one resumable command: data/bundles/README.md step 24, whose rules were set in the
# forty-seventh session, before this network or its lattice existed. Nothing here decides: the
# rules do, read off out/compare.md, the check's report and paired.py (RULES below).
#
#   # at a session's start, straight after the campaign (it ends once step 16 is done):
#   (NICE=5 PROCESSES=2 bash data/grids/v3/campaign.sh; bash docs/validation/v3/release-boss-3.5/run.sh) \
#       > /work/runs/campaign.out 2>&1 &
#
# Rerun the same line after an interruption; each step is skipped when done. The steps after
# `lattice` are BOSS 3.4's (docs/validation/v3/release-boss-3.4/run.sh: two training stages
# warm from 3.2.6, the candidate, calibration with its check and one second try, Table 3,
# interstellar, out-of-box, real stars, compare), run with this cycle's WORK, OUT_DIR, version
# 3.5.0, 3.2.6's fit rules exactly (REFIT_START=presearch) and the new midpoint probes.
#
# Steps (STEPS overrides, in this order):
#   ready      the patch complete (every node of data/grids/v3/nodes-v3-boss-cool.txt in
#              obaf-sme-v3 for BOSS, the manifest's BOSS patch of level 3) and the patched
#              lattice's midpoint probes made (obaf-sme-v3-midpoints-cool), or exit 3
#   lattice    the lattice alone without and with the patch at the truth points and the three
#              sets of midpoints (out/lattice-*.txt), and the shipped 3.2.6 network's held-out
#              report on the patched lattice (out/holdout-3.2.6.md)
#   stage1 stage2 candidate studies calibrate table3 interstellar outofbox real compare
#              as BOSS 3.4's run.sh
#
# RULES (step 24; against 3.2.6): it ships only if 1. the check has 30 of 30 cells in
# 0.8-1.25; 2. interpolation <= 1/2 the candidate's emulator error in median and p95 at the
# patched lattice's midpoints below 8 kK (obaf-sme-v3-midpoints-cool), and the 8-10 kK truth
# points' p95 ratio below 0.75; 3. Table 3 every label at or below the paper's or no worse than
# 3.2.6 beyond its 95 % interval; 4. out-of-box at S/N 50 out at least 41 of 43, in at most 2
# of 179, every case 3.2.6 flags and the candidate does not listed; 5. real stars: in-box BAD
# at most 50 of 293, per teff bin |s + p| - |s| at most 0.5 % in teff and 0.03 dex in [M/H]
# (s: 3.2.6's bin median, p: the median per-star change; paired.py's last column), no in-box
# star > 15 % off in teff unflagged that 3.2.6 flagged; 6. reliability at most 2 points below
# 3.2.6's at every S/N.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
here=docs/validation/v3/release-boss-3.5
out=${OUT_DIR:-$here/out}
PY=${PYTHON:-.venv/bin/python}
ZP=${ZETA_PAYNE:-.venv/bin/zeta-payne}
G=data/grids/obaf-sme-v3
export MIDPOINTS="$G-midpoints-cool $G-midpoints-fine $G-midpoints"
STEPS=${STEPS:-"ready lattice stage1 stage2 candidate studies calibrate table3 interstellar outofbox real compare"}
mkdir -p "$out"
say() { echo "release-boss-3.5: $* ($(date -u +%H:%M:%S))"; }
later=()
for step in $STEPS; do
    case $step in
    ready)
        say ready
        "$PY" - <<'PYEOF' || { say "campaign step 16 is not done: run data/grids/v3/campaign.sh first"; exit 3; }
import json
import sys
import numpy as np
from zeta_payne.grids.nodes import label_keys, load_node_grid
def keys(rows):
    return {tuple(k) for k in label_keys(rows)}
planes = keys(np.loadtxt("data/grids/v3/nodes-v3-boss-cool.txt", ndmin=2))
probes = keys(np.loadtxt("data/grids/v3/nodes-v3-midpoints-cool-boss.txt", ndmin=2))
patches = json.loads(open("data/grids/obaf-sme-v3/manifest.json").read()).get("patches", [])
patched = any("boss" in p["instruments"] and p["of_level"] == 3 for p in patches)
lattice = keys(load_node_grid("data/grids/obaf-sme-v3", "boss").labels)
try:
    made = keys(load_node_grid("data/grids/obaf-sme-v3-midpoints-cool", "boss").labels)
except Exception:
    made = set()
print(f"BOSS patch of level 3 in the manifest: {patched}; its nodes in the lattice: "
      f"{len(planes & lattice)} of {len(planes)}; midpoint probes: {len(probes & made)} of {len(probes)}")
sys.exit(0 if patched and planes <= lattice and probes <= made else 1)
PYEOF
        ;;
    lattice)
        say lattice
        for truth in data/truth/synth-truth-v3 $MIDPOINTS; do
            f=$out/lattice-$(basename "$truth").txt
            [ -s "$f" ] && continue
            # ":6" is every level without the patch; no level is every level with it
            "$PY" data/grids/v3/measure_truth_interpolation.py --instrument boss --truth "$truth" \
                --regions 6000,7000,8000,10000,15000,30001 \
                --grid $G:4,4,4:6 --grid $G:4,4,4 > "$f.part" && mv "$f.part" "$f"
        done
        sets=()
        for m in data/truth/synth-truth-v3 $MIDPOINTS; do sets+=(--holdout-grid "$m"); done
        [ -s "$out/holdout-3.2.6.md" ] || "$ZP" bundle holdout data/bundles/zeta-payne-boss \
            "${sets[@]}" -o "$out/holdout-3.2.6.md" ;;
    *) later+=("$step") ;;
    esac
done
[ ${#later[@]} -eq 0 ] && { say done; exit 0; }
WORK=${WORK:-scratch/boss-3.5} OUT_DIR="$out" VERSION=3.5.0 REFIT_START=presearch \
    STEPS="${later[*]}" bash docs/validation/v3/release-boss-3.4/run.sh
say done
