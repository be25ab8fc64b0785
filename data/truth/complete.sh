# Sourced by the v3 scripts: truth_complete VERSION succeeds when data/truth/synth-truth-VERSION
# holds every point of data/truth/truth-points-VERSION.txt (a campaign still writing it does not
# count: a partial truth set would make a held-out report or a Table 3 of a few points).
# Needs PY (the project's python).
truth_complete() {
    local d=data/truth/synth-truth-$1 planned on_disk
    [ -f "$d/manifest.json" ] || return 1
    planned=$(grep -v '^#' "data/truth/truth-points-$1.txt" | grep -c .)
    on_disk=$("$PY" -m zeta_payne.cli grid info "$d" | sed -n 's/^boss: \([0-9]*\) nodes.*/\1/p')
    [ "$on_disk" = "$planned" ]
}
