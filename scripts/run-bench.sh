#!/usr/bin/env bash
# Run every benchmark in BUILD/bench and collect their results into
# BUILD/bench/results.json: a list of {"name", "value", "unit"} objects.  Each
# benchmark prints its results as JSON lines {"name":…, "value":…, "unit":…}.
set -euo pipefail
build=${1:-build}
out="$build/bench/results.json"
mkdir -p "$build/bench"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")" >&2
    "$b" | tee -a "$tmp" >&2
done
{
    echo "["
    grep '^{' "$tmp" | sed '$!s/$/,/'
    echo "]"
} > "$out"
echo "bench: results in $out" >&2
