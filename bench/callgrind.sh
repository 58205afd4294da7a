#!/usr/bin/env bash
# bench/callgrind.sh BUILD - instructions per operation of the hot paths, the
# noise-free companion of the timed benchmarks (docs/PERFORMANCE.md).
#
# Runs the benchmarks once at 1% of their iteration count under
# valgrind --tool=callgrind and divides each benchmark loop's inclusive
# instruction count by the operations it performed.  Instruction counts do not
# depend on what else the machine is doing, so they show a regression that the
# timings on a shared machine would hide; they do not show cache misses (the
# 65,535-VF random figures), which only the timings can.
#
# Prints JSON lines {"name", "value", "unit"} like the benchmarks.
set -euo pipefail
build=${1:-build}
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PCIVIRT_BENCH_REPS=1 PCIVIRT_BENCH_SCALE=0.01

valgrind --tool=callgrind --callgrind-out-file="$tmp/dev" "$build/bench/bench_dev" config >/dev/null 2>"$tmp/dev.log"
valgrind --tool=callgrind --callgrind-out-file="$tmp/mmio" "$build/bench/bench_dev" mmio >/dev/null 2>"$tmp/mmio.log"
valgrind --tool=callgrind --callgrind-out-file="$tmp/icpt" "$build/bench/bench_vsp_intercept" >/dev/null 2>"$tmp/icpt.log"
valgrind --tool=callgrind --callgrind-out-file="$tmp/path" "$build/bench/bench_config_path" read >/dev/null 2>"$tmp/path.log"

# per_op FILE FUNCTION OPERATIONS NAME
per_op() {
    local ir
    ir=$(callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
        awk -v f=":$2 " 'index($0, f) && !done { gsub(",", "", $1); print $1; done = 1 }')
    if [ -z "$ir" ]; then
        echo "callgrind.sh: no count for $2" >&2
        return
    fi
    printf '{"name": "%s", "value": %.1f, "unit": "instructions"}\n' "$4" "$(echo "$ir / $3" | bc -l)"
}

# Loop bodies: 20,000 iterations per call (2,000,000 x 0.01), 100,000 for the intercept loops.
per_op "$tmp/dev" cfg_path 20000 ir_dev_config_read
per_op "$tmp/dev" cfg_bus 20000 ir_bus_config_read
per_op "$tmp/dev" cfg_direct 20000 ir_baseline_direct_config_read
per_op "$tmp/mmio" mmio_path 40000 ir_platform_mmio_read
per_op "$tmp/mmio" mmio_direct 40000 ir_baseline_array_read
per_op "$tmp/icpt" decide_path 300000 ir_intercept_decision
per_op "$tmp/icpt" decide_base 300000 ir_baseline_intercept_decision
per_op "$tmp/icpt" dispatch_path 300000 ir_trapped_dispatch
per_op "$tmp/icpt" dispatch_base 300000 ir_baseline_trapped_dispatch
# The whole guest config path: 2,000 reads per loop (200,000 x 0.01); rd_exit also runs once in set-up.
per_op "$tmp/path" rd_guest 2000 ir_guest_config_read
per_op "$tmp/path" rd_exit 4000 ir_vpci_exit_config_read
per_op "$tmp/path" rd_pf 2000 ir_pf_read_vf_config
per_op "$tmp/path" rd_device 2000 ir_device_bus_config_read
per_op "$tmp/path" rd_direct 2000 ir_baseline_direct_copy_read
