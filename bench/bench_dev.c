/*
 * bench/bench_dev.c - the software SR-IOV device at scale, each figure beside an
 * in-run baseline (issue 8 benchmarks 3 and 5, the device half of 1 and 2).
 *
 * Why it is shaped so.  A nanosecond figure on a shared 2-core VM is noise
 * unless it sits beside something measured the same way at the same moment.
 * So every path is paired with the cheapest thing that could possibly do the
 * same job, run by the same loop (same PRNG, same sink), alternated with it in
 * each repetition, and the median ratio is reported:
 *
 *  - VF enable vs allocating and touching a slot table of the same size (the
 *    least any enable must do);
 *  - a random VF config read (direct call and through the bus-interface table,
 *    which is what the PF driver's ReadVfConfig will call) vs le32 reads of the
 *    same bytes from a plain 4 KiB copy;
 *  - a host-physical MMIO read dispatched through the platform address space to
 *    VF BAR0, with 1 and with 65,535 VFs, vs a read from a plain array with one
 *    register per VF;
 *  - config-read throughput with 1 and 2 threads, and the same for the direct
 *    read, whose own 2-thread factor says what the machine allows right now.
 *
 * Results are JSON lines (bench/bench_common.h).  Nothing here is a pass/fail
 * check; docs/PERFORMANCE.md compares the figures with the targets.
 */
#include <pthread.h>
#include <unistd.h>

#include "bench_common.h"
#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "util/le.h"

#define VF_SLOT_BYTES 32u /* what docs/DEVICE.md says one untouched VF costs */

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

static struct pv_sriov_dev *
wide_device(void)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev = NULL;

    pv_profile_wide(&p);
    if (pv_sriov_create(&p, &dev, NULL) != 0) {
        fprintf(stderr, "bench_dev: cannot create the wide device\n");
        exit(1);
    }
    return dev;
}

/* ---- 3: VF enable -------------------------------------------------------------- */

/* One cold enable on a fresh device; fills the accounting of the last run. */
static double
enable_once(uint16_t n, struct pv_sriov_memory *m, long *rss_growth)
{
    struct pv_sriov_dev *dev = wide_device();
    long before = rss_bytes();
    double t0 = bench_now_ns(), dt;

    if (pv_sriov_enable(dev, n, NULL) != 0) {
        fprintf(stderr, "bench_dev: enabling %u VFs failed\n", (unsigned)n);
        exit(1);
    }
    dt = bench_now_ns() - t0;
    *rss_growth = rss_bytes() - before;
    pv_sriov_memory(dev, m);
    pv_sriov_destroy(dev);
    return dt;
}

/* The baseline: allocate a table of @n slots and touch each slot once. */
static double
table_once(uint16_t n)
{
    double t0 = bench_now_ns(), dt;
    uint8_t *t = calloc(n, VF_SLOT_BYTES);

    if (t == NULL) {
        exit(1);
    }
    for (uint32_t i = 0; i < n; i++) {
        t[(size_t)i * VF_SLOT_BYTES] = (uint8_t)i;
    }
    bench_sink(t[(size_t)(n - 1) * VF_SLOT_BYTES]);
    dt = bench_now_ns() - t0;
    free(t);
    return dt;
}

static void
bench_enable(uint16_t n)
{
    double path[BENCH_MAX_REPS], base[BENCH_MAX_REPS], ratio[BENCH_MAX_REPS];
    struct pv_sriov_memory m;
    unsigned reps = bench_reps();
    long rss = 0, growth;
    char name[96];

    /* Freed memory is reused by later repetitions: keep the largest growth seen. */
    for (unsigned r = 0; r < reps; r++) {
        path[r] = enable_once(n, &m, &growth);
        rss = growth > rss ? growth : rss;
        base[r] = table_once(n);
        ratio[r] = path[r] / base[r];
    }
    snprintf(name, sizeof(name), "dev_vf_enable_ms_%u", (unsigned)n);
    bench_emit(name, bench_median(path, reps) / 1e6, "ms");
    snprintf(name, sizeof(name), "baseline_slot_table_ms_%u", (unsigned)n);
    bench_emit(name, bench_median(base, reps) / 1e6, "ms");
    snprintf(name, sizeof(name), "dev_vf_enable_ratio_%u", (unsigned)n);
    bench_emit(name, bench_median(ratio, reps), "x");
    snprintf(name, sizeof(name), "dev_bytes_per_vf_%u", (unsigned)n);
    bench_emit(name, (double)(m.vf_table_bytes + m.vf_state_bytes + m.vf_config_bytes + m.settings_bytes) / n, "bytes");
    snprintf(name, sizeof(name), "dev_rss_growth_per_vf_%u", (unsigned)n);
    bench_emit(name, rss > 0 ? (double)rss / n : 0.0, "bytes");
}

/* ---- config reads: path vs the same bytes from a plain copy ------------------------ */

struct cfg_ctx {
    struct pv_sriov_dev *dev;
    PCIVIRT_BUS_INTERFACE bus;
    uint8_t copy[4096]; /* an untouched VF's config: every untouched VF reads the same */
    unsigned iters;
};

/* A random VF of 65,535 and a random dword of its 4 KiB. */
static inline uint16_t
cfg_vf(uint64_t rnd)
{
    return (uint16_t)(1 + rnd % 65535);
}

static inline uint16_t
cfg_offset(uint64_t rnd)
{
    return (uint16_t)(rnd >> 32) & 0xffc;
}

static inline uint64_t
op_cfg_path(void *ctx, uint64_t rnd)
{
    struct cfg_ctx *c = ctx;
    uint8_t b[4];

    pv_sriov_config_read(c->dev, cfg_vf(rnd), cfg_offset(rnd), b, 4);
    return le32_get(b);
}

static inline uint64_t
op_cfg_bus(void *ctx, uint64_t rnd)
{
    struct cfg_ctx *c = ctx;
    uint8_t b[4];

    c->bus.config_read(c->bus.Context, cfg_vf(rnd), cfg_offset(rnd), b, 4);
    return le32_get(b);
}

static inline uint64_t
op_cfg_direct(void *ctx, uint64_t rnd)
{
    const struct cfg_ctx *c = ctx;
    uint8_t b[4];

    /* The same VF-number arithmetic as the path, then the 4 bytes themselves. */
    bench_sink(1 + rnd % 65535);
    memcpy(b, c->copy + cfg_offset(rnd), 4);
    return le32_get(b);
}

/* One function per figure (callgrind counts them by name), all timed by bench_loop. */
BENCH_LOOP_FUNCTION(cfg_path, struct cfg_ctx, op_cfg_path)
BENCH_LOOP_FUNCTION(cfg_bus, struct cfg_ctx, op_cfg_bus)
BENCH_LOOP_FUNCTION(cfg_direct, struct cfg_ctx, op_cfg_direct)

static void
cfg_setup(struct cfg_ctx *c, unsigned iters)
{
    c->dev = wide_device();
    if (pv_sriov_enable(c->dev, 65535, NULL) != 0) {
        exit(1);
    }
    pv_sriov_bus_interface(c->dev, &c->bus);
    c->bus.InterfaceReference(c->bus.Context);
    pv_sriov_config_read(c->dev, 1, 0, c->copy, sizeof(c->copy));
    c->iters = iters;
}

static void
cfg_teardown(struct cfg_ctx *c)
{
    c->bus.InterfaceDereference(c->bus.Context);
    pv_sriov_destroy(c->dev);
}

static void
bench_config_reads(void)
{
    static struct cfg_ctx c;
    double path[BENCH_MAX_REPS], bus[BENCH_MAX_REPS], base[BENCH_MAX_REPS];
    double rp[BENCH_MAX_REPS], rb[BENCH_MAX_REPS];
    unsigned reps = bench_reps();

    cfg_setup(&c, bench_iters(2000000));
    for (unsigned r = 0; r < reps; r++) {
        path[r] = cfg_path(&c, 88172645463325252ull + r);
        bus[r] = cfg_bus(&c, 88172645463325252ull + r);
        base[r] = cfg_direct(&c, 88172645463325252ull + r);
        rp[r] = path[r] / base[r];
        rb[r] = bus[r] / base[r];
    }
    bench_emit("dev_config_read_ns", bench_median(path, reps), "ns");
    bench_emit("bus_config_read_ns", bench_median(bus, reps), "ns");
    bench_emit("baseline_direct_config_read_ns", bench_median(base, reps), "ns");
    bench_emit("dev_config_read_ratio", bench_median(rp, reps), "x");
    bench_emit("bus_config_read_ratio", bench_median(rb, reps), "x");
    bench_emit("dev_config_reads_per_sec", 1e9 / bench_median(path, reps), "reads/s");
    cfg_teardown(&c);
}

/* ---- 5: throughput with 1 and 2 threads --------------------------------------------- */

struct thr_arg {
    struct cfg_ctx *c;
    double (*fn)(struct cfg_ctx *, uint64_t);
    uint64_t seed;
};

static void *
thr_main(void *p)
{
    struct thr_arg *a = p;

    a->fn(a->c, a->seed);
    return NULL;
}

/* Wall time of @nthreads threads each doing c->iters reads with @fn. */
static double
wall(struct cfg_ctx *c, double (*fn)(struct cfg_ctx *, uint64_t), unsigned nthreads)
{
    pthread_t t[2];
    struct thr_arg a[2];
    double t0 = bench_now_ns();

    for (unsigned i = 0; i < nthreads; i++) {
        a[i] = (struct thr_arg){c, fn, 0x9e3779b97f4a7c15ull * (i + 1)};
        pthread_create(&t[i], NULL, thr_main, &a[i]);
    }
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
    }
    return bench_now_ns() - t0;
}

static void
bench_threads(void)
{
    static struct cfg_ctx c;
    double sp[BENCH_MAX_REPS], sb[BENCH_MAX_REPS], one[BENCH_MAX_REPS], two[BENCH_MAX_REPS];
    unsigned reps = bench_reps();

    cfg_setup(&c, bench_iters(2000000));
    for (unsigned r = 0; r < reps; r++) {
        double w1 = wall(&c, cfg_bus, 1), w2 = wall(&c, cfg_bus, 2);
        double b1 = wall(&c, cfg_direct, 1), b2 = wall(&c, cfg_direct, 2);

        one[r] = c.iters / (w1 / 1e9);
        two[r] = 2.0 * c.iters / (w2 / 1e9);
        sp[r] = two[r] / one[r];
        sb[r] = (2.0 * c.iters / b2) / (c.iters / b1);
    }
    bench_emit("bus_config_reads_per_sec_1_thread", bench_median(one, reps), "reads/s");
    bench_emit("bus_config_reads_per_sec_2_threads", bench_median(two, reps), "reads/s");
    bench_emit("bus_config_read_scaling_2_threads", bench_median(sp, reps), "x");
    bench_emit("baseline_direct_read_scaling_2_threads", bench_median(sb, reps), "x");
    cfg_teardown(&c);
}

/* ---- MMIO dispatch through the platform address space -------------------------------- */

struct mmio_ctx {
    struct pv_platform *plat;
    uint64_t base, slot;
    uint32_t n;
    uint32_t *regs; /* the baseline: one register per VF in a plain array */
    unsigned iters;
};

static inline uint64_t
op_mmio_path(void *ctx, uint64_t rnd)
{
    struct mmio_ctx *c = ctx;
    uint8_t b[4];

    pv_platform_read(c->plat, c->base + (rnd % c->n) * c->slot + SWVF_REG_SCRATCH, b, 4);
    return le32_get(b);
}

static inline uint64_t
op_mmio_direct(void *ctx, uint64_t rnd)
{
    const struct mmio_ctx *c = ctx;

    return c->regs[rnd % c->n];
}

BENCH_LOOP_FUNCTION(mmio_path, struct mmio_ctx, op_mmio_path)
BENCH_LOOP_FUNCTION(mmio_direct, struct mmio_ctx, op_mmio_direct)

static void
bench_platform(uint32_t n, double *median_path)
{
    struct pv_sriov_dev *dev = wide_device();
    struct pcivirt_bus_resources res;
    double path[BENCH_MAX_REPS], base[BENCH_MAX_REPS], ratio[BENCH_MAX_REPS];
    struct mmio_ctx c = {.n = n, .iters = bench_iters(2000000)};
    unsigned reps = bench_reps();
    uint64_t len = 0;
    char name[96];

    if (pv_platform_create(NULL, &c.plat) != 0 || pv_sriov_assign_resources(dev, c.plat, NULL) != 0 ||
        pv_sriov_enable(dev, (uint16_t)n, NULL) != 0 || pv_sriov_query_resources(dev, &res) != 0) {
        exit(1);
    }
    len = RtlCmDecodeMemIoResource(&res.vf_bar[0], &c.base);
    c.slot = len / n;
    c.regs = calloc(n, sizeof(*c.regs));
    for (unsigned r = 0; r < reps; r++) {
        path[r] = mmio_path(&c, 2463534242ull + r);
        base[r] = mmio_direct(&c, 2463534242ull + r);
        ratio[r] = path[r] / base[r];
    }
    *median_path = bench_median(path, reps);
    snprintf(name, sizeof(name), "dev_platform_mmio_read_ns_%u_vfs", (unsigned)n);
    bench_emit(name, *median_path, "ns");
    snprintf(name, sizeof(name), "baseline_array_read_ns_%u_vfs", (unsigned)n);
    bench_emit(name, bench_median(base, reps), "ns");
    snprintf(name, sizeof(name), "dev_platform_mmio_read_ratio_%u_vfs", (unsigned)n);
    bench_emit(name, bench_median(ratio, reps), "x");
    free(c.regs);
    pv_sriov_destroy(dev);
    pv_platform_destroy(c.plat);
}

int
main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    double one = 0, many = 0;

    if (only[0] == '\0' || strcmp(only, "enable") == 0) {
        bench_enable(64);
        bench_enable(4096);
        bench_enable(65535);
    }
    if (only[0] == '\0' || strcmp(only, "config") == 0) {
        bench_config_reads();
    }
    if (only[0] == '\0' || strcmp(only, "threads") == 0) {
        bench_threads();
    }
    if (only[0] == '\0' || strcmp(only, "mmio") == 0) {
        bench_platform(1, &one);
        bench_platform(65535, &many);
        bench_emit("dev_platform_mmio_read_65535_to_1_ratio", many / one, "x");
    }
    return 0;
}
