/*
 * bench/bench_dev.c - the software SR-IOV device at scale (not a timed test).
 *
 * Reports, as JSON lines {"name", "value", "unit"} (scripts/run-bench.sh):
 *  - VF enable time and bytes per VF (the device's own accounting, and the
 *    process's resident-set growth as a cross-check) for 64, 4,096 and 65,535 VFs;
 *  - random VF config reads per second with 65,535 VFs enabled;
 *  - host-physical MMIO dispatch through the platform address space, ns per read,
 *    with 1 and 65,535 VFs.
 * Targets (issue 4): 65,535 VFs enabled in <= 50 ms, <= 256 bytes per untouched VF.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "util/le.h"

static double
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long
rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) {
            rss = 0;
        }
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

static void
emit(const char *name, double value, const char *unit)
{
    printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\"}\n", name, value, unit);
}

static struct pv_sriov_dev *
wide_device(void)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev = NULL;

    pv_profile_wide(&p);
    if (pv_sriov_create(&p, &dev, NULL) != 0) {
        return NULL;
    }
    return dev;
}

/* One enable on a fresh device: first-touch cost and resident growth included. */
static double
enable_cold(uint16_t n, long *rss_growth, struct pv_sriov_memory *m)
{
    struct pv_sriov_dev *dev = wide_device();
    long before;
    double t0, dt;

    if (dev == NULL) {
        return -1;
    }
    before = rss_bytes();
    t0 = now_ns();
    if (pv_sriov_enable(dev, n, NULL) != 0) {
        pv_sriov_destroy(dev);
        return -1;
    }
    dt = now_ns() - t0;
    *rss_growth = rss_bytes() - before;
    pv_sriov_memory(dev, m);
    pv_sriov_destroy(dev);
    return dt;
}

static int
bench_enable(uint16_t n)
{
    struct pv_sriov_memory m;
    char name[96];
    long rss = 0;
    double cold = enable_cold(n, &rss, &m);

    if (cold < 0) {
        return 1;
    }
    snprintf(name, sizeof(name), "dev_vf_enable_time_%u", (unsigned)n);
    emit(name, cold / 1e6, "ms");
    snprintf(name, sizeof(name), "dev_bytes_per_vf_%u", (unsigned)n);
    emit(name, (double)(m.vf_table_bytes + m.vf_state_bytes + m.vf_config_bytes + m.settings_bytes) / n, "bytes");
    snprintf(name, sizeof(name), "dev_rss_growth_per_vf_%u", (unsigned)n);
    emit(name, rss > 0 ? (double)rss / n : 0.0, "bytes");
    return 0;
}

static int
bench_config_reads(void)
{
    struct pv_sriov_dev *dev = wide_device();
    uint64_t x = 88172645463325252ull, sink = 0;
    const unsigned iters = 4000000;
    double t0, dt;

    if (dev == NULL || pv_sriov_enable(dev, 65535, NULL) != 0) {
        return 1;
    }
    t0 = now_ns();
    for (unsigned i = 0; i < iters; i++) {
        uint8_t b[4];

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pv_sriov_config_read(dev, (uint16_t)(1 + x % 65535), (uint16_t)(x >> 32) & 0xffc, b, 4);
        sink += b[0];
    }
    dt = now_ns() - t0;
    emit("dev_random_vf_config_reads_per_sec", iters / (dt / 1e9), "reads/s");
    emit("dev_random_vf_config_read_ns", dt / iters, "ns");
    if (sink == 1) {
        puts("");
    }
    pv_sriov_destroy(dev);
    return 0;
}

static int
bench_platform(uint16_t n)
{
    struct pv_sriov_dev *dev = wide_device();
    struct pv_platform *plat;
    struct pcivirt_bus_resources res;
    uint64_t base = 0, x = 2463534242ull;
    const unsigned iters = 2000000;
    char name[96];
    double t0;

    if (dev == NULL || pv_platform_create(NULL, &plat) != 0 || pv_sriov_assign_resources(dev, plat, NULL) != 0 ||
        pv_sriov_enable(dev, n, NULL) != 0 || pv_sriov_query_resources(dev, &res) != 0) {
        return 1;
    }
    RtlCmDecodeMemIoResource(&res.vf_bar[0], &base);
    t0 = now_ns();
    for (unsigned i = 0; i < iters; i++) {
        uint8_t b[4];

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pv_platform_read(plat, base + (x % n) * SWVF_REGS_SIZE * 2 + SWVF_REG_SCRATCH, b, 4);
    }
    snprintf(name, sizeof(name), "dev_platform_mmio_read_ns_%u_vfs", (unsigned)n);
    emit(name, (now_ns() - t0) / iters, "ns");
    pv_sriov_destroy(dev);
    pv_platform_destroy(plat);
    return 0;
}

int
main(void)
{
    int rc = 0;

    rc |= bench_enable(64);
    rc |= bench_enable(4096);
    rc |= bench_enable(65535);
    rc |= bench_config_reads();
    rc |= bench_platform(1);
    rc |= bench_platform(65535);
    return rc;
}
