/*
 * bench/bench_vsp_intercept.c - trapped-MMIO dispatch decision, 1 vs 65,535 VFs.
 *
 * Issue 8 benchmark 2 asks that the cost of deciding "trap or pass through"
 * does not grow with the number of VFs.  Each VF has its own intercept map
 * (16 KiB BAR0 whose page 2 traps writes, like the device's privileged page);
 * the loop picks a pseudo-random VF and offset per access, so with 65,535 VFs
 * the maps do not stay in cache the way a single one does.  Prints JSON lines
 * {"name", "value", "unit"} for scripts/run-bench.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vsp/intercept.h"

#define ACCESSES 20000000u

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * @spread: accesses pick a random VF among all @nvfs (cache-hostile) when true,
 * or always the same VF (a guest hammering its own device) when false.
 */
static double
run(uint32_t nvfs, int spread)
{
    const uint64_t sizes[6] = {16384};
    SRIOV_MITIGATED_RANGES_OUTPUT r = {.BasePageNumber = 2, .PageCount = 1, .InterceptWrites = 1};
    const SRIOV_MITIGATED_RANGES_OUTPUT *rp[6] = {&r};
    ULONG counts[6] = {1};
    struct vsp_intercept_map **maps = calloc(nvfs, sizeof(*maps));
    uint64_t x = 88172645463325252ull, t0, t1, hits = 0;

    for (uint32_t i = 0; i < nvfs; i++) {
        if (vsp_intercept_create(sizes, &maps[i]) != 0 || vsp_intercept_replace(maps[i], rp, counts, NULL) != 0) {
            fprintf(stderr, "bench: setup failed at VF %u\n", i);
            exit(1);
        }
    }
    t0 = now_ns();
    for (uint32_t i = 0; i < ACCESSES; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        hits += vsp_intercept_traps(maps[spread ? (uint32_t)x % nvfs : nvfs / 2], 0, (x >> 32) & 0x3FF8, 4, true);
    }
    t1 = now_ns();
    for (uint32_t i = 0; i < nvfs; i++) {
        vsp_intercept_destroy(maps[i]);
    }
    free(maps);
    if (hits == 0) {
        fprintf(stderr, "bench: no access trapped\n");
        exit(1);
    }
    return (double)(t1 - t0) / ACCESSES;
}

int
main(void)
{
    double one = run(1, 0), many = run(65535, 0), spread = run(65535, 1);

    printf("{\"name\": \"intercept_decision_1vf\", \"value\": %.2f, \"unit\": \"ns\"}\n", one);
    printf("{\"name\": \"intercept_decision_65535vf\", \"value\": %.2f, \"unit\": \"ns\"}\n", many);
    printf("{\"name\": \"intercept_decision_ratio\", \"value\": %.3f, \"unit\": \"x\"}\n", many / one);
    printf("{\"name\": \"intercept_decision_65535vf_random_vf\", \"value\": %.2f, \"unit\": \"ns\"}\n", spread);
    return 0;
}
