#!/usr/bin/env bash
# The synthesis campaign of this project, in priority order; start it at the beginning of every
# working session (it resumes; finished nodes are never recomputed):
#
#     nohup bash data/grids/v3/campaign.sh >/dev/null 2>&1 &
#
# 1. the synthesis-truth test set (data/truth/make_truth.sh: 264 random points, both
#    instruments, stored at R 20000 / 80000) — the truth of the headline validation;
# 2. the v3 lattice, level 0 (data/grids/v3/nodes-v3-level0.txt: 580 nodes, teff 6-30 kK,
#    logg 2.5-5, [M/H] -2.0..+0.8, BOSS 3600-10400 A and APOGEE), coarse sub-lattice first;
# 3. the v_micro response (data/grids/v3/plan_v3_vmicro.py): 53 nodes at v_micro 1 and at
#    4 km/s, 4 at 3 km/s;
# 4. the teff refinement below 10 kK (data/grids/v3/plan_v3_teff_refine.py: 6,500, 7,500,
#    8,500 and 9,500 K slices, 166 nodes, a finer level of obaf-sme-v3; the teff probe's 22
#    nodes, data/grids/v3/probe_teff.sh, are taken over, not synthesized again);
# 5. the midpoint probes of the finished lattice (data/grids/v3/plan_v3_midpoints.py: 24 cell
#    centres, held out; scored by `zeta-payne bundle holdout`);
# 6. the v3 synthesis-truth set (data/truth/truth-points-v3.txt, 328 points, the v3 line list);
# 7. the second teff refinement, 7,500-10,000 K (data/grids/v3/plan_v3_teff_refine2.py: 8,250,
#    7,750, 8,750, 9,250 and 9,750 K slices, 207 nodes, one more level of obaf-sme-v3).
# 8. the fine levels at 8-10 kK (data/grids/v3/plan_v3_fine.py; measured need and cure:
#    data/grids/v3/measure_axis_probe2.py): level 3, teff every 125 K (340 nodes), then
#    level 4, log g every 0.25 dex (595 nodes); atmospheres interpolated between ATLAS9 models.
#    APOGEE nodes cost 2-9 CPU s (BOSS ≈ 110), so APOGEE has all of level 3 and takes level 4
#    over the whole box (data/grids/v3/plan_v3_apogee_logg.py, 1,069 nodes; measured need:
#    data/grids/v3/measure_axis_probe_hot.py) and a level 5, teff on every ATLAS9 model from
#    10 to 30 kK (data/grids/v3/plan_v3_apogee_teff.py, 1,463 nodes), synthesized first with
#    --instruments apogee; BOSS then follows on its own (--instruments boss) at 8-10 kK.
# 14. midpoint probes of each instrument's finished lattice (plan_v3_midpoints_fine.py).
# 15-16. BOSS teff planes below 8 kK (plan_v3_boss_cool.py), a patch of level 3 for BOSS
#    alone, and midpoint probes of the patched lattice (plan_v3_midpoints_cool.py).
# 0. First of all (twenty-fourth session): the supersolar atmospheres changed (the atmosnet
#    [M/H] change at fixed log tau_Ross, not fixed column mass; docs/synthesis.md, "Supersolar
#    atmospheres"), so every [M/H] > +0.5 node made before is retired (zeta-payne grid
#    retire; once per grid, a no-op after) and made again by the steps below, APOGEE's first
#    (its 547 nodes ≈ 1.2 CPU-h; BOSS's 153 ≈ 4.5 CPU-h follow in the steps below, each node
#    made for the instruments that lack it).
# Beside them, the continuum jump factors (zeta-payne grid continuum, ≈ 3 CPU s per node;
# docs/synthesis.md, "The continuum's jumps"): of level 0 and the v1 truth after the v_micro
# grids, of the refined lattice and the v3 truth after those.
# Both run niced (NICE, default 19; beside CPU-heavy work use 0-5 or the campaign starves) on
# all cores (PROCESSES, default: all), written in small chunks; commit the
# chunk files as they appear (git add data/truth/synth-truth-v* data/grids/obaf-sme-v3*).
# Progress and cost: docs/synthesis.md ("Ledger").
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PYTHON:-.venv/bin/python}
export PROCESSES=${PROCESSES:-$(nproc)}
mkdir -p data/grids/obaf-sme-v3
synth() {  # grid, nodes file, v_micro, extra options
    # nodes without an ATLAS9 atmosphere fail (logged) and leave the exit status 1: go on
    mkdir -p "data/grids/$1"
    nice -n "${NICE:-19}" "$PY" -m zeta_payne.grids.campaign synthesize \
        --grid "$1" --nodes-file "$2" --v-micro "$3" "${@:4}" \
        --chunk-size 4 --processes "$PROCESSES" >> "data/grids/$1/campaign.log" 2>&1 \
        || echo "synth $1 $2: exited $? (failed nodes are in its campaign.log)"
}
# 0. supersolar nodes: retire the ones made at fixed column mass, APOGEE's made again first
#    (every grid the campaign adds to; those with no such node only record the atmospheres)
for g in data/grids/obaf-sme-v3{,-vmic1,-vmic3,-vmic4,-vmic6,-midpoints,-midpoints-fine,-teffprobe,-continuum} \
         data/truth/synth-truth-v{1,3}{,-continuum}; do
    [ -f "$g/manifest.json" ] && "$PY" -m zeta_payne.cli grid retire "$g" --above m_h=0.5
done
for level in level0 level1-teff level2-teff level3-teff level4-apogee level5-apogee; do
    synth obaf-sme-v3 "data/grids/v3/nodes-v3-$level.txt" 2.0 --instruments apogee
done
synth obaf-sme-v3-vmic1 data/grids/v3/nodes-v3-vmicro.txt 1.0 --instruments apogee
synth obaf-sme-v3-vmic4 data/grids/v3/nodes-v3-vmicro.txt 4.0 --instruments apogee
synth obaf-sme-v3-midpoints data/grids/v3/nodes-v3-midpoints.txt 2.0 --instruments apogee
# 1.-8. as planned (each a no-op once done; BOSS's supersolar nodes are made again here)
PYTHON=$PY bash data/truth/make_truth.sh || echo "truth set: campaign exited $? (rerun retries failed points)"
synth obaf-sme-v3 data/grids/v3/nodes-v3-level0.txt 2.0
synth obaf-sme-v3-vmic1 data/grids/v3/nodes-v3-vmicro.txt 1.0
synth obaf-sme-v3-vmic4 data/grids/v3/nodes-v3-vmicro.txt 4.0
synth obaf-sme-v3-vmic3 data/grids/v3/nodes-v3-vmicro-check.txt 3.0
continuum() {  # a grid folder: its jump factors, into <folder>-continuum (resumes)
    mkdir -p "$1-continuum"
    nice -n "${NICE:-19}" "$PY" -m zeta_payne.cli grid continuum "$1" --processes "$PROCESSES" \
        >> "$1-continuum/campaign.log" 2>&1 || echo "continuum $1: exited $?"
}
continuum data/grids/obaf-sme-v3
continuum data/truth/synth-truth-v1
synth obaf-sme-v3 data/grids/v3/nodes-v3-level1-teff.txt 2.0 --new-level \
    --take-from data/grids/obaf-sme-v3-teffprobe
synth obaf-sme-v3-midpoints data/grids/v3/nodes-v3-midpoints.txt 2.0
continuum data/grids/obaf-sme-v3
VERSION=v3 PYTHON=$PY bash data/truth/make_truth.sh
continuum data/truth/synth-truth-v3
synth obaf-sme-v3 data/grids/v3/nodes-v3-level2-teff.txt 2.0 --new-level
continuum data/grids/obaf-sme-v3
synth obaf-sme-v3 data/grids/v3/nodes-v3-level3-teff.txt 2.0 --new-level --instruments apogee
synth obaf-sme-v3 data/grids/v3/nodes-v3-level4-apogee.txt 2.0 --new-level --instruments apogee
synth obaf-sme-v3 data/grids/v3/nodes-v3-level5-apogee.txt 2.0 --new-level --instruments apogee
# 9. the v_micro response at 6 km/s (twenty-fifth session): real A/Am stars the BOSS fit puts
#    at the box's 4-km/s edge want 5-6 km/s in direct syntheses at their fitted labels
#    (docs/validation/diagnosis/vmicro-edge/); the v_micro nodes of step 3, APOGEE first
#    (≈ 0.05 CPU-h), then BOSS (≈ 2.2 CPU-h); train_v3.sh takes the grid once it is complete
synth obaf-sme-v3-vmic6 data/grids/v3/nodes-v3-vmicro.txt 6.0 --instruments apogee
synth obaf-sme-v3-vmic6 data/grids/v3/nodes-v3-vmicro.txt 6.0
# 10. the microturbulence truth for BOSS (twenty-sixth session): the first 20 points of
#     data/truth/truth-points-vmicro.txt at 2, 3.5 and 5 km/s (≈ 2.5 CPU-h). APOGEE's (40 points
#     at 1.5-5 km/s, 0.33 CPU-h) were made by hand: docs/validation/diagnosis/vmicro-truth/. With
#     the 1-6 km/s box the 5-km/s set is the in-box test of the wider box.
INSTRUMENTS=boss LIMIT=20 VMICROS="2.0 3.5 5.0" PYTHON=$PY bash data/truth/make_truth_vmicro.sh \
    || echo "vmicro truth (BOSS): exited $?"
synth obaf-sme-v3 data/grids/v3/nodes-v3-level3-teff.txt 2.0 --instruments boss
continuum data/grids/obaf-sme-v3
# 11. the v_micro response at 5 km/s (twenty-eighth session): on the BOSS microturbulence truth
#     at 5 km/s the 1-6 km/s bundle (3.2.4) fits 5.4-5.5 km/s with [M/H] 0.04-0.07 dex low —
#     the response is piecewise linear in v_micro between its 4- and 6-km/s grids
#     (docs/validation/diagnosis/vmicro-box/); the v_micro nodes of step 3, APOGEE first
#     (≈ 0.08 CPU-h), then BOSS (≈ 1.9); train_v3.sh takes the grid once it is complete
synth obaf-sme-v3-vmic5 data/grids/v3/nodes-v3-vmicro.txt 5.0 --instruments apogee
synth obaf-sme-v3-vmic5 data/grids/v3/nodes-v3-vmicro.txt 5.0
# 12. BOSS: a gradual teff spacing at 10 kK (thirty-first session): with level 3 complete the
#     interpolation error at 10-11 kK rose (the cubic teff stencil across the 125-K / 1,000-K
#     step; data/grids/v3/level-gain.md, "BOSS level 3 complete"), as APOGEE's did until its
#     level 5. Level 4's nodes at 9,750-10,000 K, then level 5's at 10,250-11,250 K
#     (data/grids/v3/plan_v3_boss_10k.py, 448 nodes, 343 of them beyond level 4, ≈ 11 CPU-h);
#     measure at 10-11 kK before BOSS is retrained. Then the rest of level 4.
synth obaf-sme-v3 data/grids/v3/nodes-v3-boss-10k.txt 2.0 --instruments boss
continuum data/grids/obaf-sme-v3
# 13. APOGEE: a gradual teff step at 13-15 kK (thirty-fifth session): level 5's 250-K steps end
#     at 13 kK where the ATLAS9 models' 1,000-K steps begin, and the cubic stencil across the
#     jump left the shipped bundle's 10-15 kK midpoints at 0.60 of its emulator's median error.
#     Level 6: teff 13,500 and 14,500 K (data/grids/v3/plan_v3_apogee_level6.py, 154 nodes,
#     measured in data/grids/v3/apogee-13k.md), taken over from the probe grid that measured it.
synth obaf-sme-v3 data/grids/v3/nodes-v3-level6-apogee.txt 2.0 --new-level --instruments apogee \
    --take-from data/grids/obaf-sme-v3-apogee-13k
synth obaf-sme-v3 data/grids/v3/nodes-v3-level4-logg.txt 2.0 --instruments boss
# 14. midpoint probes of each instrument's finished lattice (forty-third session): the first
#     probes (step 5) now lie on the refined lattices in teff and log g (11 of 24 on APOGEE's,
#     8 on BOSS's), so there they measure [M/H]'s interpolation alone. Centres of cells of the
#     finished lattice (66 for BOSS, 120 for APOGEE), each made for its own instrument only
#     (data/grids/v3/plan_v3_midpoints_fine.py; APOGEE 601 CPU s, BOSS ≈ 2.3 CPU-h).
synth obaf-sme-v3-midpoints-fine data/grids/v3/nodes-v3-midpoints-fine-apogee.txt 2.0 --instruments apogee
synth obaf-sme-v3-midpoints-fine data/grids/v3/nodes-v3-midpoints-fine-boss.txt 2.0 --instruments boss
continuum data/grids/obaf-sme-v3
# 15. BOSS teff planes below 8 kK (forty-sixth session): the third axis probes put the finished
#     lattice's midpoint error below 8 kK on the teff step (500 K to 7,500 K, 250 K to 8,000 K;
#     data/grids/v3/measure_axis_probe3.py). Planes at 7,625, 7,250, 6,250, 7,875 and 6,750 K
#     (data/grids/v3/plan_v3_boss_cool.py, 207 nodes, ≈ 7 CPU-h; log g 2.5-4.0 first, where
#     data/grids/v3/measure_boss_cool.py finds the error) in a probe grid of their own:
#     taking them into the lattice needs them on the levels whose log g step is 0.5 dex (the
#     plan's docstring), done and measured once they are complete.
synth obaf-sme-v3-boss-cool data/grids/v3/nodes-v3-boss-cool.txt 2.0 --instruments boss
# 16. (forty-seventh session) midpoint probes of the patched lattice below 8 kK
#     (data/grids/v3/plan_v3_midpoints_cool.py: 24 cell centres, ≈ 1 CPU-h): the step-14
#     probes there all lie on the new planes in teff and no longer measure the teff step. Then
#     the planes join the lattice as a patch of level 3 for BOSS alone
#     (zeta_payne.grids.patch: a level is shared by both instruments, APOGEE's finer levels
#     have nodes below 8 kK, and BOSS's finer levels none), taken over from the probe grid,
#     not synthesized again.
synth obaf-sme-v3-midpoints-cool data/grids/v3/nodes-v3-midpoints-cool-boss.txt 2.0 --instruments boss
synth obaf-sme-v3 data/grids/v3/nodes-v3-boss-cool.txt 2.0 --patch-of 3 --instruments boss \
    --take-from data/grids/obaf-sme-v3-boss-cool
continuum data/grids/obaf-sme-v3   # the patch's nodes too (its manifest carries the patch)
