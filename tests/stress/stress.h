/*
 * tests/stress/stress.h - the machine the stress test runs: the whole stack on
 * the reference PF driver, several VMs with real guests, and the model the
 * chaos thread keeps of what it did.
 *
 * Why it is shaped so.  The machine is the shared world of tools/world.h,
 * brought up in steps (runtime host on the virtual clock, software SR-IOV
 * device behind a PDO, the reference PF driver, every VF given a MAC, then the
 * stack discovering it, VMs whose guests run the vPCI bus driver and the
 * sample VF driver; a whole-stack detach + re-attach is
 * world_stack_down/world_stack_up, a per-PF one vsp_stack_pf_detach/attach),
 * the same bring-up the runner and tests/guest/test_stack.c use.  The stress
 * test keeps borrowed pointers into it under its own names, and has to survive
 * threads: each guest owns its bus (the guest side is single-threaded by
 * design, guest/vpci_bus.h), the chaos thread owns the PnP side, and the two
 * meet only through atomics and a park barrier.  When the chaos thread needs
 * the guests still (checkpoints, detach/re-attach) it parks them and then
 * drives their buses itself; the barrier's mutex orders the hand-over.
 *
 * Nothing here asserts with cmocka: only the test's own thread may.  Threads
 * record the first failure (stress_fail) and everybody stops; the main thread
 * turns it into fail_msg() after joining them.
 *
 * Oracles the checks use, all outside the stack: the device's registers and
 * resources (src/dev), the PF driver's self-report (pf_admin_status, its block
 * store), the chaos thread's own model of assignments, MACs and trapped
 * ranges, and values the guests wrote themselves.
 */
#ifndef PCIVIRT_TESTS_STRESS_STRESS_H
#define PCIVIRT_TESTS_STRESS_STRESS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "guest/swvf.h"
#include "pf/pf.h"
#include "util/alloc.h"
#include "util/cond.h"
#include "vsp/stack.h"
#include "watchdog.h"
#include "world.h"

#define NVMS 4u    /* three polite guests and one that never answers PCI_QUERY_STOP */
#define RUDE 3u    /* the index of the latter */
#define NUM_VFS 8u /* InitialVFs of the device */
#define VF_PER_VM 2u
#define MEM (64ull << 20)
#define LOW_BASE 0xF0000000ull
#define LOW_SIZE 0x08000000ull
#define HIGH_BASE 0x100000000ull
#define HIGH_SIZE 0x40000000ull
#define REAL_WAIT_MS 45000u /* bound on any wait for the machine to settle (see HARDENING.md open findings) */
#define MAC_OUI0 0x02u
#define MAC_OUI1 0x5Au

/* What the chaos thread can do; the names are printed in the summary. */
enum ev_kind {
    EV_REBALANCE,   /* query-stop, stop, new resources, start */
    EV_CANCEL_STOP, /* query-stop, then cancel-stop */
    EV_SURPRISE,    /* a VF surprise-removed from its VM */
    EV_EJECT,       /* a VF ejected with the guest's acknowledgment */
    EV_ASSIGN,      /* a free VF given to a VM */
    EV_MAC,         /* PF-side MAC change: INVALIDATE_BLOCK */
    EV_RANGES,      /* PF-side mitigated-range change: MITIGATED_RANGE_UPDATE */
    EV_REATTACH,    /* the stack goes away (DETACH) and a new one attaches */
    EV_PF_REATTACH, /* the PF alone is detached (its VFs leave their VMs) and attached again */
    EV_KINDS
};

static const char *const ev_names[EV_KINDS] = {"rebalance",
                                               "query-stop+cancel-stop",
                                               "surprise removal",
                                               "eject",
                                               "assign",
                                               "MAC change",
                                               "mitigated-range change",
                                               "detach+re-attach",
                                               "PF detach+re-attach"};

/* What one guest saw of one exposure of a VF (reset when the serial changes). */
struct gslot {
    uint32_t serial; /* 0: no bound device in this slot */
    uint32_t vf;
    uint32_t pcie; /* PCIe capability offset, 0 until found */
    bool have_pcie[2], have_scratch;
    uint16_t pcie_reg[2]; /* Device Control, Device Control 2 as written */
    uint32_t scratch;
    uint8_t mbox[128];
    uint32_t mbox_len;
};

struct guest_stats {
    uint64_t ops, ops_removed, dma, irqs, mac_reads, stop_probes, stop_probe_errors, stopped_iters;
};

struct stress;

struct guest {
    struct stress *w;
    unsigned idx;
    bool rude;
    struct world_vm *wv; /* the shared world's VM (tools/world.h); the two below are borrowed from it */
    struct vsp_stack_vm *vm;
    struct gvpci_bus *bus;
    pthread_t thread;
    bool thread_started;
    struct wd_thread *wd;
    uint64_t rng;
    atomic_bool veto; /* refuse the next query-stops (set by the chaos thread) */
    struct gslot slot[GVPCI_SLOTS];
    struct guest_stats st;
};

/*
 * The chaos thread's model of one stack incarnation.  A per-PF detach +
 * re-attach keeps the stack (and its event log) but starts a new attachment:
 * a new broker, and PF counters counted from there.
 */
struct model {
    int holder[NUM_VFS]; /* VM index holding the VF, or -1 */
    unsigned count[NVMS];
    bool watched[NUM_VFS]; /* assigned in this attachment: the broker holds a RANGE_UPDATE for it */
    enum vsp_stop_policy policy;
    uint32_t raised0, delivered0; /* PF counters when the current attachment began */
    uint32_t cycles;              /* complete PnP cycles (QueryStop + Restart) in this incarnation */
    uint32_t cycles0;             /* of them, those before the current attachment */
    uint32_t abandoned;           /* query-stops a per-PF DETACH ended (logged, never decided or restarted) */
    uint64_t dma_gone0;           /* world.dma_gone when this incarnation began */
};

struct world_stats {
    uint64_t events[EV_KINDS];
    uint64_t acked, guest_vetoes, timeout_vetoes, policy_removals, moved, quarantined;
    uint64_t checkpoints, incarnations, detach_mid_event;
    uint64_t pf_detach_surprise, pf_detach_eject, pf_detach_mid_event, pf_vfs_left, pf_vfs_back, pf_vfs_dirtied,
        pf_refs_late;
};

struct stress {
    /* configuration */
    unsigned events_target;
    unsigned seconds;
    unsigned watchdog_ms;
    uint64_t seed;
    unsigned verbose;

    /* the machine: the shared world (tools/world.h) and borrowed pointers into it */
    struct world *world;
    struct world_parts p; /* host, plat, s, dev, prof, node, device, pf (the stack's PF id) */
    struct guest g[NVMS];
    atomic_uint reports; /* verifier reports */
    atomic_bool moved;
    atomic_uint_fast64_t dma_gone; /* DMAs that failed because their VF had left the VM */

    /* MACs: chaos publishes started before the PF call and committed after it. */
    atomic_uint mac_started[NUM_VFS];
    atomic_uint mac_committed[NUM_VFS];
    unsigned ranges[NUM_VFS]; /* the trapped-range set the PF has per VF (chaos.h RANGES_*) */

    /* the park barrier */
    pthread_mutex_t park_mx;
    pthread_cond_t park_cv;
    bool pause;
    unsigned parked;

    atomic_bool stop;   /* everybody ends */
    atomic_bool failed; /* the first failure is in msg */
    pthread_mutex_t fail_mx;
    char msg[1024];

    struct watchdog wd;
    /* The chaos thread's helpers (chaos.h). */
    struct {
        struct wd_thread *wd;
        pthread_t thread;
        atomic_bool done;
        NTSTATUS query, cancel;
    } pnp;
    uint64_t guest_mark[NVMS];
    struct model m;
    struct world_stats st;
    uint64_t rng;
};

/* ---- failure and randomness ------------------------------------------------------------- */

static void __attribute__((format(printf, 4, 5)))
stress_fail_at(struct stress *w, const char *file, int line, const char *fmt, ...)
{
    const char *base = strrchr(file, '/');
    va_list ap;

    pthread_mutex_lock(&w->fail_mx);
    if (!atomic_load(&w->failed)) {
        int n = snprintf(w->msg, sizeof(w->msg), "%s:%d: ", base != NULL ? base + 1 : file, line);

        va_start(ap, fmt);
        vsnprintf(w->msg + n, sizeof(w->msg) - (size_t)n, fmt, ap);
        va_end(ap);
        atomic_store(&w->failed, true);
    }
    pthread_mutex_unlock(&w->fail_mx);
    atomic_store(&w->stop, true);
    pthread_mutex_lock(&w->park_mx);
    pthread_cond_broadcast(&w->park_cv);
    pthread_mutex_unlock(&w->park_mx);
}

#define stress_fail(w, line, ...) stress_fail_at((w), __FILE__, (line), __VA_ARGS__)

/* CHECK() - in any thread: record the first failure and make everybody stop. */
#define CHECK(w, cond, ...)                                                                                            \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            stress_fail((w), __LINE__, __VA_ARGS__);                                                                   \
        }                                                                                                              \
    } while (0)

static inline uint64_t
rnd(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static inline unsigned
rnd_below(uint64_t *s, unsigned n)
{
    return n == 0 ? 0 : (unsigned)(rnd(s) % n);
}

static inline void
sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void
on_report(void *ctx, const struct wdf_verifier_report *r)
{
    struct stress *w = ctx;

    atomic_fetch_add(&w->reports, 1);
    /* Runs with the host mutex held (docs/RUNTIME.md rule 7): no runtime calls, only record it. */
    stress_fail(w, __LINE__, "verifier: %s on %s, request %llu ioctl 0x%08x: %s", r->rule_name, r->device,
                (unsigned long long)r->request_id, (unsigned)r->ioctl, r->message);
}

/* The MAC the chaos thread gives VF @vf at sequence @seq: 02:5A:<vf>:<seq, 24 bits>. */
static inline void
mac_of(unsigned vf, uint32_t seq, uint8_t mac[6])
{
    mac[0] = MAC_OUI0;
    mac[1] = MAC_OUI1;
    mac[2] = (uint8_t)vf;
    mac[3] = (uint8_t)(seq >> 16);
    mac[4] = (uint8_t)(seq >> 8);
    mac[5] = (uint8_t)seq;
}

/*
 * A MAC a guest of VF @vf read while the chaos thread had committed @lo and
 * started @hi: it must be one of the MACs given to that VF in between.
 */
static inline bool
mac_valid(const uint8_t mac[6], unsigned vf, uint32_t lo, uint32_t hi)
{
    uint32_t seq = (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5];

    return mac[0] == MAC_OUI0 && mac[1] == MAC_OUI1 && mac[2] == vf && seq >= lo && seq <= hi;
}

static inline uint64_t
total(struct stress *w, enum vsp_event_type t)
{
    return vsp_event_log_total(vsp_stack_log(w->p.s), t);
}

/* QueryStop records of complete or open PnP cycles (the stack's log keeps the abandoned ones too). */
static inline uint64_t
query_stops(struct stress *w)
{
    return total(w, VSP_EV_QUERY_STOP) - w->m.abandoned;
}

/* ---- the machine -------------------------------------------------------------------------------- */

/* The rebalance's resource move (runs on the stack's rebalance thread). */
static int
move_resources(void *ctx)
{
    struct stress *w = ctx;

    if (world_pf_move_resources(w->world, 0, true) != 0) {
        return -1;
    }
    atomic_store(&w->moved, true);
    return 0;
}

/* Where the PF's BAR 0 decodes now (a rebalance that moved the resources moves it). */
static uint64_t
pf_bar0(struct stress *w)
{
    struct pcivirt_bus_resources res;
    ULONGLONG start = 0;

    pv_sriov_query_resources(w->p.dev, &res);
    RtlCmDecodeMemIoResource(&res.bar[0], &start);
    return start;
}

/*
 * The host address of VF @vf's register @off: the VF BAR 0 aperture (the SR-IOV
 * capability's VF BAR, as the device reports it) is NumVFs equal strides.
 */
static uint64_t
vf_reg_addr(struct stress *w, unsigned vf, uint32_t off)
{
    struct pcivirt_bus_resources res;
    ULONGLONG start = 0, len;

    pv_sriov_query_resources(w->p.dev, &res);
    len = RtlCmDecodeMemIoResource(&res.vf_bar[w->p.prof->vf_regs_bar], &start);
    return start + vf * (len / NUM_VFS) + off;
}

static struct pf_admin_status
pf_status(struct stress *w)
{
    struct pf_admin_status ps;

    memset(&ps, 0, sizeof(ps));
    CHECK(w, pf_admin_status(w->p.device, &ps) == STATUS_SUCCESS, "pf_admin_status failed");
    return ps;
}

/* A VM for guest @i and its bus (not started). */
static bool
guest_create(struct stress *w, unsigned i)
{
    static const char *const names[NVMS] = {"vm-a", "vm-b", "vm-c", "vm-rude"};
    struct guest *g = &w->g[i];
    const struct world_vm_config vc = {.name = names[i], .memory_bytes = MEM, .vf = -1, .ignore_query_stop = g->rude};
    struct world_error err;

    memset(g->slot, 0, sizeof(g->slot));
    if (world_vm_add(w->world, &vc, &g->wv, &err) != 0) {
        stress_fail(w, __LINE__, "guest %u: %s: %s", i, world_step_name(err.step), err.message);
        return false;
    }
    g->vm = world_vm_stack_vm(g->wv);
    g->bus = world_vm_bus(g->wv);
    return true;
}

/* Stack, discovery, attach; the model of this incarnation starts empty. */
static bool
stack_up(struct stress *w, enum vsp_stop_policy policy)
{
    const struct vsp_stack_policy sp = {.on_no_answer = policy};
    struct pf_admin_status ps;
    struct world_error err;

    if (world_stack_up(w->world, &sp, &err) != 0) {
        stress_fail(w, __LINE__, "stack: %s: %s", world_step_name(err.step), err.message);
        return false;
    }
    world_parts(w->world, 0, &w->p);
    w->p.pf = vsp_stack_pf_find(w->p.s, "0000:03:00.0");
    ps = pf_status(w);
    memset(&w->m, 0, sizeof(w->m));
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        w->m.holder[vf] = -1;
    }
    w->m.policy = policy;
    w->m.raised0 = ps.events_raised;
    w->m.delivered0 = ps.events_delivered;
    w->m.dma_gone0 = atomic_load(&w->dma_gone);
    w->st.incarnations++;
    return w->p.pf >= 0 && ps.attached;
}

/* Assign @vf to guest @i in the stack and the model. */
static int
assign(struct stress *w, unsigned i, unsigned vf)
{
    int rc = vsp_stack_assign(w->p.s, w->p.pf, (uint16_t)vf, w->g[i].vm, NULL);

    if (rc == 0) {
        w->m.holder[vf] = (int)i;
        w->m.count[i]++;
        w->m.watched[vf] = true;
    }
    return rc;
}

/* VMs, buses and the initial assignment: A: VF 0, B: VFs 1 and 2, C: VF 3; the rude VM none. */
static bool
guests_up(struct stress *w)
{
    static const int initial[NUM_VFS] = {0, 1, 1, 2, -1, -1, -1, -1};
    struct world_error err;

    for (unsigned i = 0; i < NVMS; i++) {
        if (!guest_create(w, i)) {
            return false;
        }
    }
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        if (initial[vf] >= 0 && assign(w, (unsigned)initial[vf], vf) != 0) {
            return false;
        }
    }
    for (unsigned i = 0; i < NVMS; i++) {
        if (world_vm_start(w->g[i].wv, &err) != 0) {
            stress_fail(w, __LINE__, "guest %u: %s: %s", i, world_step_name(err.step), err.message);
            return false;
        }
    }
    return true;
}

/* Buses, VMs and the stack go (DETACH); the device and the PF driver stay. */
static void
stack_down(struct stress *w)
{
    world_stack_down(w->world);
    w->p.s = NULL;
    for (unsigned i = 0; i < NVMS; i++) {
        w->g[i].wv = NULL;
        w->g[i].vm = NULL;
        w->g[i].bus = NULL;
        memset(w->g[i].slot, 0, sizeof(w->g[i].slot));
    }
}

/* The default device (NUM_VFS) behind the reference PF driver, its VFs' MACs; no stack yet. */
static bool
machine_up(struct stress *w)
{
    const struct world_config cfg = {.clock = WDF_CLOCK_VIRTUAL,
                                     .on_report = on_report,
                                     .report_ctx = w,
                                     .no_stack = true,
                                     .discovery_ms = REAL_WAIT_MS};
    const struct world_pf_config pc = {.initial_vfs = NUM_VFS};
    struct world_error err;

    if (world_open(&cfg, &w->world, &err) != 0 || world_pf_add(w->world, &pc, &err) < 0) {
        stress_fail(w, __LINE__, "bring-up: %s: %s", world_step_name(err.step), err.message);
        return false;
    }
    world_parts(w->world, 0, &w->p);
    /* Every VF starts with a MAC of the chaos thread's numbering (sequence 0). */
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        uint8_t mac[6];

        mac_of(vf, 0, mac);
        if (pf_admin_set_vf_mac(w->p.device, (uint16_t)vf, mac) != STATUS_SUCCESS) {
            stress_fail(w, __LINE__, "bring-up: MAC of VF %u", vf);
            return false;
        }
    }
    return true;
}

/* Everything up; on false w->msg says why and stress_down() frees what was built. */
static bool
stress_up(struct stress *w)
{
    pthread_mutex_init(&w->park_mx, NULL);
    pv_cond_init_monotonic(&w->park_cv);
    pthread_mutex_init(&w->fail_mx, NULL);
    w->rng = w->seed * 2654435761u + 1;
    for (unsigned i = 0; i < NVMS; i++) {
        w->g[i].w = w;
        w->g[i].idx = i;
        w->g[i].rude = i == RUDE;
        w->g[i].rng = (w->seed + i + 1) * 0x9E3779B97F4A7C15ull;
    }
    return machine_up(w) && stack_up(w, VSP_STOP_VETO) && guests_up(w);
}

/* Whatever stress_up() built goes (it may have stopped anywhere). */
static void
stress_down(struct stress *w)
{
    world_destroy(w->world);
    w->world = NULL;
    w->p.s = NULL;
    pthread_mutex_destroy(&w->park_mx);
    pthread_cond_destroy(&w->park_cv);
    pthread_mutex_destroy(&w->fail_mx);
}

/* ---- the park barrier ------------------------------------------------------------------------ */

/* Guest side: park while the chaos thread asks; returns false when the test ends. */
static bool
guest_park_point(struct guest *g)
{
    struct stress *w = g->w;

    pthread_mutex_lock(&w->park_mx);
    if (w->pause && !atomic_load(&w->stop)) {
        wd_phase(g->wd, "parked by the chaos thread");
        wd_idle(g->wd, true);
        w->parked++;
        pthread_cond_broadcast(&w->park_cv);
        while (w->pause && !atomic_load(&w->stop)) {
            pthread_cond_wait(&w->park_cv, &w->park_mx);
        }
        w->parked--;
        wd_idle(g->wd, false);
    }
    pthread_mutex_unlock(&w->park_mx);
    return !atomic_load(&w->stop);
}

/* Chaos side: every guest thread parked (true), or the test is ending (false). */
static bool
park_all(struct stress *w, struct wd_thread *me)
{
    uint64_t start = wd_now_ms();
    bool ok;

    wd_phase(me, "waiting for the guests to park");
    pthread_mutex_lock(&w->park_mx);
    w->pause = true;
    while (w->parked < NVMS && !atomic_load(&w->stop) && wd_now_ms() - start < REAL_WAIT_MS) {
        struct timespec ts = pv_deadline_ms(10);

        pv_cond_wait_until(&w->park_cv, &w->park_mx, &ts);
    }
    ok = w->parked == NVMS;
    pthread_mutex_unlock(&w->park_mx);
    return ok;
}

static void
unpark_all(struct stress *w)
{
    pthread_mutex_lock(&w->park_mx);
    w->pause = false;
    pthread_cond_broadcast(&w->park_cv);
    pthread_mutex_unlock(&w->park_mx);
}

#endif /* PCIVIRT_TESTS_STRESS_STRESS_H */
