/*
 * bench/bench_rebalance.c - a rebalance round trip with 1, 16 and 64 VMs
 * answering (issue 8 benchmark 4), beside in-run baselines.
 *
 * One round trip is what the PnP manager sees: vsp_stack_rebalance_begin() to
 * vsp_stack_rebalance_end() returning - query-stop to the REAL reference PF driver,
 * which raises the event to the stack's broker (NOTIFICATION), the broker asks
 * every VM holding a VF (PCI_QUERY_STOP over each VM's channel), each guest's vPCI
 * bus driver answers from its own polling thread, the broker answers the PF
 * (EVENT_COMPLETE), stop, the device's resources move (pv_sriov_assign_resources:
 * the BARs really move), start, Restart, REENABLE to every guest.  Each guest
 * then counts the REENABLE it received: a round trip only counts when every
 * guest was told (otherwise the benchmark stops with an error).
 *
 * Baselines in the same run, by the same loop: the same round trip with no VM
 * (the PnP and driver cost alone), the resource move alone, and one thread
 * hand-off (half a condition-variable ping-pong between two threads): a round
 * trip is a chain of hand-offs between the stack's, the guests' and the PF's
 * threads, so "round trip / hand-off" is the figure that carries across
 * machines (a virtual machine's hand-offs cost several times a bare metal's).
 * The median of PCIVIRT_BENCH_REPS x 3 round trips per configuration is reported.
 */
#include "bench_common.h"
#include "bench_world.h"

static int
move_resources(void *ctx)
{
    struct bw_world *w = ctx;
    struct pcivirt_bus_resources res;

    if (pv_sriov_assign_resources(w->dev, w->plat, NULL) != 0) {
        return -1;
    }
    pv_sriov_query_resources(w->dev, &res);
    return NT_SUCCESS(wdf_node_set_resources(w->node, res.bar, res.bar, 1)) ? 0 : -1;
}

static uint64_t
reenables(struct bw_world *w, unsigned i)
{
    struct gvpci_stats st;

    gvpci_bus_stats(w->guest[i].bus, &st);
    return st.reenables;
}

/* One round trip, in ns; checks that every guest was asked and re-enabled. */
static double
round_trip(struct bw_world *w)
{
    uint64_t before[BW_MAX_VMS];
    NTSTATUS st = STATUS_PENDING;
    double t0, dt;

    for (unsigned i = 0; i < w->nguests; i++) {
        before[i] = reenables(w, i);
    }
    t0 = bench_now_ns();
    BW_CHECK(vsp_stack_rebalance_begin(w->s, w->node, move_resources, w) == 0, "rebalance begin");
    BW_CHECK(vsp_stack_rebalance_end(w->s, BW_REAL_MS, &st) == 0, "rebalance end (10 s)");
    dt = bench_now_ns() - t0;
    BW_CHECK(st == STATUS_SUCCESS, "rebalance status");
    for (unsigned i = 0; i < w->nguests; i++) {
        /* REENABLE is sent before the stack's thread ends; give the guest's poller a bounded moment. */
        for (unsigned k = 0; k < 10000 && reenables(w, i) == before[i]; k++) {
            struct timespec ts = {0, 100000};

            nanosleep(&ts, NULL);
        }
        BW_CHECK(reenables(w, i) == before[i] + 1, "every guest re-enabled once");
    }
    return dt;
}

/* Two threads passing a token back and forth; the cost of one pass (a wake-up and a sleep). */
struct pingpong {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned turn, left;
};

#define HANDOFF_ROUNDS 2000u

static void *
pong(void *arg)
{
    struct pingpong *p = arg;

    pthread_mutex_lock(&p->mu);
    while (p->left > 0) {
        while (p->turn != 1 && p->left > 0) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
        p->turn = 0;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static double
handoff_ns(void)
{
    struct pingpong p = {.turn = 0, .left = HANDOFF_ROUNDS};
    pthread_t t;
    double t0, dt;

    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    BW_CHECK(pthread_create(&t, NULL, pong, &p) == 0, "ping-pong thread");
    t0 = bench_now_ns();
    pthread_mutex_lock(&p.mu);
    for (; p.left > 0; p.left--) {
        p.turn = 1;
        pthread_cond_broadcast(&p.cv);
        while (p.turn != 0) {
            pthread_cond_wait(&p.cv, &p.mu);
        }
    }
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    dt = bench_now_ns() - t0;
    pthread_join(t, NULL);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    return dt / (2.0 * HANDOFF_ROUNDS);
}

static double
move_only(struct bw_world *w)
{
    double t0 = bench_now_ns();

    BW_CHECK(pv_sriov_assign_resources(w->dev, w->plat, NULL) == 0, "move");
    return bench_now_ns() - t0;
}

static void
bench_vms(unsigned n, struct bw_world *empty)
{
    double path[3 * BENCH_MAX_REPS], base[3 * BENCH_MAX_REPS], mv[3 * BENCH_MAX_REPS], ratio[3 * BENCH_MAX_REPS];
    double hand[3 * BENCH_MAX_REPS], hops[3 * BENCH_MAX_REPS];
    unsigned reps = 3 * bench_reps();
    struct bw_world *w = bw_world_new(n, 64);
    char name[96];

    bw_pollers_start(w);
    bw_pollers_start(empty);
    round_trip(w); /* warm: first-use allocations, thread stacks */
    for (unsigned r = 0; r < reps; r++) {
        path[r] = round_trip(w);
        base[r] = round_trip(empty);
        mv[r] = move_only(empty);
        hand[r] = handoff_ns();
        ratio[r] = path[r] / base[r];
        hops[r] = path[r] / hand[r];
    }
    bw_pollers_stop(empty);
    snprintf(name, sizeof(name), "rebalance_round_trip_ms_%u_vms", n);
    bench_emit(name, bench_median(path, reps) / 1e6, "ms");
    snprintf(name, sizeof(name), "baseline_rebalance_no_vm_ms_%u", n);
    bench_emit(name, bench_median(base, reps) / 1e6, "ms");
    snprintf(name, sizeof(name), "baseline_resource_move_ms_%u", n);
    bench_emit(name, bench_median(mv, reps) / 1e6, "ms");
    snprintf(name, sizeof(name), "rebalance_round_trip_ratio_%u_vms", n);
    bench_emit(name, bench_median(ratio, reps), "x");
    snprintf(name, sizeof(name), "baseline_thread_handoff_us_%u", n);
    bench_emit(name, bench_median(hand, reps) / 1e3, "us");
    snprintf(name, sizeof(name), "rebalance_round_trip_handoffs_%u_vms", n);
    bench_emit(name, bench_median(hops, reps), "handoffs");
    bw_world_free(w);
}

int
main(int argc, char **argv)
{
    static const unsigned counts[] = {1, 16, 64};
    struct bw_world *empty = bw_world_new(0, 64);
    unsigned only = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;

    for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        if (only == 0 || only == counts[i]) {
            bench_vms(counts[i], empty);
        }
    }
    bw_world_free(empty);
    return 0;
}
