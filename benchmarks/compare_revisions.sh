#!/usr/bin/env bash
# One benchmark, old and new side by side in one run: the same script with the same arguments
# on an earlier revision (checked out into a temporary worktree, its own code and bundles) and
# then on the working tree, on this machine, one after the other.
#
#   bash benchmarks/compare_revisions.sh REV benchmarks/bench_batched.py [ARGS...]
#
# REV is any git revision (e.g. HEAD for "before my uncommitted change", or a commit). The
# script path is taken from the working tree for both, so both runs measure the same thing.
# PYTHON (default .venv/bin/python) must have the project's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    sed -n 2,12p "$0"
    exit 2
fi
rev=$1
script=$2
shift 2
py=${PYTHON:-.venv/bin/python}
tmp=$(mktemp -d)
cleanup() { git worktree remove --force "$tmp/old" > /dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
git worktree add -q --detach "$tmp/old" "$rev"
for helper in benchmarks/*.py; do cp "$helper" "$tmp/"; done
cp "$script" "$tmp/bench.py"
echo "# $script $*"
echo "# old: $(git rev-parse --short "$rev") ($(git log -1 --format=%s "$rev"))"
PYTHONPATH="$tmp/old/python" "$py" "$tmp/bench.py" "$@"
echo
echo "# new: working tree at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- python || echo ' + uncommitted changes to python/')"
PYTHONPATH="$PWD/python" "$py" "$tmp/bench.py" "$@"
