/*
 * bench/bench_config_path.c - a guest config read through the whole path (issue 8
 * benchmark 1) and config-read throughput with 1 and 2 guest threads along it
 * (benchmark 5), each beside in-run baselines.
 *
 * The path: the guest's vPCI bus driver (gvpci_cfg_read) selects the slot in page
 * 0 of the config window and reads page 1 - two MMIO exits into the VM's vPCI
 * host (src/vsp), which overlays its emulated registers on ReadVfConfig of the
 * REAL reference PF driver (src/pf, reached through the SR-IOV interface table the
 * stack obtained by query-interface), whose permission table reads the device
 * through the bus interface (src/dev).  bench_world.h builds that machine.
 *
 * Measured in the same run, by the same loop (same PRNG, same offsets: a random
 * dword of the first 256 bytes, header and capabilities), alternated inside each
 * repetition:
 *   guest      gvpci_cfg_read()                         - benchmark 1
 *   exit       one MMIO exit on the config page          (slot already selected)
 *   pf         ReadVfConfig through the interface table  (the PF driver alone)
 *   device     bus interface config_read of the VF's RID (the device alone)
 *   direct     le32 read of the same bytes from a plain copy (the baseline)
 * Throughput (benchmark 5): the guest path with one thread, then two threads on
 * two VMs (each reading its own VF), and the same for ReadVfConfig, the device
 * and the direct read, whose own 2-thread factor shows what the machine allowed.
 * On a shared machine the second thread often gets no core of its own, so each
 * figure also comes as "_cpu_time": 2 x (thread CPU time per read alone / with
 * a second reader) - what two free cores would give, since cache-line bouncing
 * shows up as CPU time per read - beside "_overlap", the CPUs the two threads
 * actually had (2.0: they ran side by side all along).
 *
 * `bench_config_path [read|threads]` runs one group.  JSON lines as everywhere.
 */
#include "bench_common.h"
#include "bench_world.h"
#include "util/le.h"

#define CFG_BYTES 256u

struct path_ctx {
    struct bw_world *w;
    unsigned vm; /* which guest reads */
    struct gvpci_dev *gdev;
    uint64_t window; /* the guest's config window (GPA) */
    SRIOV_DEVICE_INTERFACE_STANDARD sriov;
    uint16_t rid; /* the VF's routing ID on the device */
    uint8_t copy[CFG_BYTES];
    unsigned iters;
};

/* The dword each read takes: a random one of the first CFG_BYTES. */
static inline uint32_t
rd_offset(uint64_t rnd)
{
    return (uint32_t)(rnd >> 32) & (CFG_BYTES - 4);
}

static inline uint64_t
op_guest(void *ctx, uint64_t rnd)
{
    struct path_ctx *c = ctx;
    uint32_t v = 0;

    gvpci_cfg_read(c->gdev, rd_offset(rnd), 4, &v);
    return v;
}

static inline uint64_t
op_exit(void *ctx, uint64_t rnd)
{
    struct path_ctx *c = ctx;
    uint8_t b[4];

    vsp_vpci_host_mmio_read(c->w->guest[c->vm].host, c->window + 0x1000 + rd_offset(rnd), b, 4);
    return le32_get(b);
}

static inline uint64_t
op_pf(void *ctx, uint64_t rnd)
{
    struct path_ctx *c = ctx;
    uint8_t b[4];

    c->sriov.ReadVfConfig(c->sriov.Context, b, c->w->guest[c->vm].vf, rd_offset(rnd), 4);
    return le32_get(b);
}

static inline uint64_t
op_device(void *ctx, uint64_t rnd)
{
    struct path_ctx *c = ctx;
    uint8_t b[4];

    c->w->bus.config_read(c->w->bus.Context, c->rid, (uint16_t)rd_offset(rnd), b, 4);
    return le32_get(b);
}

static inline uint64_t
op_direct(void *ctx, uint64_t rnd)
{
    const struct path_ctx *c = ctx;

    return le32_get(c->copy + rd_offset(rnd));
}

/* One function per figure (callgrind counts them by name), all timed by bench_loop. */
BENCH_LOOP_FUNCTION(rd_guest, struct path_ctx, op_guest)
BENCH_LOOP_FUNCTION(rd_exit, struct path_ctx, op_exit)
BENCH_LOOP_FUNCTION(rd_pf, struct path_ctx, op_pf)
BENCH_LOOP_FUNCTION(rd_device, struct path_ctx, op_device)
BENCH_LOOP_FUNCTION(rd_direct, struct path_ctx, op_direct)

/* The SR-IOV table, queried the way the stack does (a kernel-mode target on the PF's interface). */
static struct wdf_target *
open_pf_table(struct bw_world *w, SRIOV_DEVICE_INTERFACE_STANDARD *t)
{
    struct vsp_stack_pf_info info;
    struct wdf_target *target = NULL;

    BW_CHECK(vsp_stack_pfs(w->s, &info, 1) == 1, "PF info");
    BW_CHECK(wdf_target_open(w->host, info.link, KernelMode, NULL, NULL, &target) == STATUS_SUCCESS, "target open");
    BW_CHECK(wdf_target_query_interface(target, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (INTERFACE *)t, sizeof(*t),
                                        SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_1, NULL) == STATUS_SUCCESS,
             "SR-IOV query-interface");
    return target;
}

static void
ctx_init(struct path_ctx *c, struct bw_world *w, unsigned vm, const SRIOV_DEVICE_INTERFACE_STANDARD *t)
{
    uint32_t v = 0;

    memset(c, 0, sizeof(*c));
    c->w = w;
    c->vm = vm;
    c->gdev = bw_gdev(w, vm);
    c->window = BW_LOW_BASE; /* the bus driver's config window: the first 8 KiB of the low MMIO window */
    c->sriov = *t;
    c->iters = bench_iters(200000);
    BW_CHECK(pv_sriov_vf_rid(w->dev, w->guest[vm].vf, &c->rid) == 0, "VF RID");
    BW_CHECK(w->bus.config_read(w->bus.Context, c->rid, 0, c->copy, CFG_BYTES) == 0, "device copy");
    /* The window is where the guest reads: its class dword through both paths must agree with the device. */
    BW_CHECK(gvpci_cfg_read(c->gdev, 0x08, 4, &v) == 0 && v == le32_get(c->copy + 0x08), "guest path sanity");
    BW_CHECK(rd_exit(c, 1) > 0, "exit path");
}

struct five {
    double v[BENCH_MAX_REPS];
};

static void
emit_median(const char *name, struct five *f, unsigned reps, const char *unit)
{
    bench_emit(name, bench_median(f->v, reps), unit);
}

static void
bench_read(struct bw_world *w, const SRIOV_DEVICE_INTERFACE_STANDARD *t)
{
    static struct path_ctx c;
    struct five g, e, p, d, b, rg, rd;
    unsigned reps = bench_reps();

    ctx_init(&c, w, 0, t);
    for (unsigned r = 0; r < reps; r++) {
        uint64_t seed = 88172645463325252ull + r;

        g.v[r] = rd_guest(&c, seed);
        e.v[r] = rd_exit(&c, seed);
        p.v[r] = rd_pf(&c, seed);
        d.v[r] = rd_device(&c, seed);
        b.v[r] = rd_direct(&c, seed);
        rg.v[r] = g.v[r] / b.v[r];
        rd.v[r] = g.v[r] / d.v[r];
    }
    emit_median("guest_config_read_ns", &g, reps, "ns");
    emit_median("vpci_exit_config_read_ns", &e, reps, "ns");
    emit_median("pf_read_vf_config_ns", &p, reps, "ns");
    emit_median("device_bus_config_read_ns", &d, reps, "ns");
    emit_median("baseline_direct_copy_read_ns", &b, reps, "ns");
    emit_median("guest_config_read_ratio_to_direct", &rg, reps, "x");
    emit_median("guest_config_read_ratio_to_device", &rd, reps, "x");
}

/* ---- 5: throughput with 1 and 2 guest threads --------------------------------------------- */

struct thr {
    struct path_ctx *c;
    double (*fn)(struct path_ctx *, uint64_t);
    uint64_t seed;
    double cpu_ns; /* the thread's own CPU time for its reads */
};

static double
thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *
thr_main(void *p)
{
    struct thr *a = p;
    double c0 = thread_cpu_ns();

    a->fn(a->c, a->seed);
    a->cpu_ns = thread_cpu_ns() - c0;
    return NULL;
}

struct tput {
    double reads_per_s;  /* wall clock */
    double cpu_per_read; /* ns of thread CPU time per read */
    double overlap;      /* thread CPU time / wall time: 2.0 when both threads ran all along */
};

/* Throughput of @n threads, thread i on ctx @c[i]. */
static struct tput
throughput(struct path_ctx *c, double (*fn)(struct path_ctx *, uint64_t), unsigned n)
{
    pthread_t t[2];
    struct thr a[2];
    double t0 = bench_now_ns(), wall, cpu = 0;

    for (unsigned i = 0; i < n; i++) {
        a[i] = (struct thr){&c[i], fn, 0x9e3779b97f4a7c15ull * (i + 1), 0};
        BW_CHECK(pthread_create(&t[i], NULL, thr_main, &a[i]) == 0, "reader thread");
    }
    for (unsigned i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        cpu += a[i].cpu_ns;
    }
    wall = bench_now_ns() - t0;
    return (struct tput){(double)n * c[0].iters / (wall / 1e9), cpu / ((double)n * c[0].iters), cpu / wall};
}

static void
scaling(struct path_ctx *c, double (*fn)(struct path_ctx *, uint64_t), const char *what)
{
    struct five one, two, s, cpu, ov;
    unsigned reps = bench_reps();
    char name[96];

    for (unsigned r = 0; r < reps; r++) {
        struct tput t1 = throughput(c, fn, 1), t2 = throughput(c, fn, 2);

        one.v[r] = t1.reads_per_s;
        two.v[r] = t2.reads_per_s;
        s.v[r] = two.v[r] / one.v[r];
        /* What two free cores would give: 2 x (CPU cost of a read alone / with a second reader). */
        cpu.v[r] = 2.0 * t1.cpu_per_read / t2.cpu_per_read;
        ov.v[r] = t2.overlap;
    }
    snprintf(name, sizeof(name), "%s_reads_per_sec_1_thread", what);
    emit_median(name, &one, reps, "reads/s");
    snprintf(name, sizeof(name), "%s_reads_per_sec_2_threads", what);
    emit_median(name, &two, reps, "reads/s");
    snprintf(name, sizeof(name), "%s_scaling_2_threads", what);
    emit_median(name, &s, reps, "x");
    snprintf(name, sizeof(name), "%s_scaling_2_threads_cpu_time", what);
    emit_median(name, &cpu, reps, "x");
    snprintf(name, sizeof(name), "%s_2_thread_overlap", what);
    emit_median(name, &ov, reps, "cpus");
}

static void
bench_threads(struct bw_world *w, const SRIOV_DEVICE_INTERFACE_STANDARD *t)
{
    static struct path_ctx c[2];

    ctx_init(&c[0], w, 0, t);
    ctx_init(&c[1], w, 1, t);
    c[0].iters = c[1].iters = bench_iters(1000000) / 4;
    scaling(c, rd_guest, "guest_config");
    scaling(c, rd_pf, "pf_read_vf_config");
    scaling(c, rd_device, "device_config");
    c[0].iters = c[1].iters = bench_iters(20000000);
    scaling(c, rd_direct, "baseline_direct");
}

int
main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    SRIOV_DEVICE_INTERFACE_STANDARD t;
    struct bw_world *w = bw_world_new(2, 8);
    struct wdf_target *target = open_pf_table(w, &t);

    if (only[0] == '\0' || strcmp(only, "read") == 0) {
        bench_read(w, &t);
    }
    if (only[0] == '\0' || strcmp(only, "threads") == 0) {
        bench_threads(w, &t);
    }
    t.InterfaceDereference(t.Context);
    wdf_target_close(target);
    bw_world_free(w);
    return 0;
}
