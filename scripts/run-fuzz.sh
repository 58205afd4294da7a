#!/usr/bin/env bash
# Smoke-run every libFuzzer target for SECONDS each (default 30).  Seed corpora in
# fuzz/corpus/<target>/ are copied to a scratch directory so a run never writes into
# the source tree.  Any crash, leak or timeout fails the run; the reproducer is left
# in BUILD/fuzz/artifacts/ and should become a named regression test.
set -euo pipefail
build=${1:-build-fuzz}
secs=${2:-30}
art="$build/fuzz/artifacts"
mkdir -p "$art"
status=0
for f in "$build"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    work=$(mktemp -d)
    if [ -d "fuzz/corpus/$name" ]; then
        cp -r "fuzz/corpus/$name/." "$work/"
    fi
    echo "== $name (${secs}s)"
    if ! ASAN_OPTIONS=detect_leaks=1 "$f" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$art/$name-" -print_final_stats=1 "$work" >"$work.log" 2>&1; then
        echo "fuzz: $name failed; last lines:"
        tail -40 "$work.log"
        status=1
    else
        grep -E "^stat::number_of_executed_units|^Done" "$work.log" | head -2 || true
    fi
    rm -rf "$work" "$work.log"
done
exit $status
