# Sourced by release-3.3.6/try2.sh and release-3.3.7/run.sh (after `cd` to the repository):
# makes the v_micro-hold candidate at $CANDIDATE unless it is there, from APOGEE 3.3.4 with
# v_micro held at 2 km/s where a fit leaves it at a box edge unconstrained (3.3.5). Since
# APOGEE 3.3.7 shipped, data/bundles/zeta-payne-apogee already carries that rule, so this
# gives the same network and fit rules, hence the same fits; for 3.3.4 itself, point BASE at
# it (git worktree add /tmp/zp-3.3.4 a702083, BASE=/tmp/zp-3.3.4/data/bundles/zeta-payne-apogee).
CANDIDATE=${CANDIDATE:-scratch/bundles-apogee-vhold/zeta-payne-apogee}
if [ ! -f "$CANDIDATE/manifest.json" ]; then
    mkdir -p "$(dirname "$CANDIDATE")"
    "${ZETA_PAYNE:-.venv/bin/zeta-payne}" bundle defaults "${BASE:-data/bundles/zeta-payne-apogee}" \
        --set 'hold_unconstrained_at_edge={"m_h": 0.0, "v_micro": 2.0}' \
        --set 'unconstrained_error={"m_h": 0.3, "v_micro": 0.5}' \
        --reason "hold v_micro at 2 km/s where a fast rotator's fit leaves it at a box edge unconstrained (docs/validation/diagnosis/vmicro-fast)" \
        --version 3.3.5 --bundle-out "$CANDIDATE"
fi
