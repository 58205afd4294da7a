/*
 * tests/stress/chaos.h - the chaos thread: PnP events at random on the PF,
 * through the runtime's PnP manager, the PF's administration API and the stack.
 *
 * Why it is shaped so.  Events are fired one at a time and each is carried to
 * its end before the next (a rebalance until the PnP manager's answer and the
 * broker's Restart, an eject until the VF is free again), so that the outcome
 * of every event is predictable from the chaos thread's own model and can be
 * checked exactly: which VMs hold a VF, which of them were told to veto, whether
 * the rude VM (which never answers PCI_QUERY_STOP) holds one and what the
 * stack's no-answer policy is.  The guests keep hammering throughout; the chaos
 * comes from the interleaving of their operations with the event, not from
 * overlapping events.  The host runs on the virtual clock, so the 30 s
 * query-stop deadline costs nothing: the thread advances the clock once every
 * polite guest has answered.
 *
 * Checkpoints (every CHECKPOINT_EVERY events and at the end) park the guests,
 * let every message settle, and compare the whole machine with the model and
 * the guests' own records; detach/re-attach tears the stack down (DETACH, at
 * times in the middle of a query-stop) and builds a new one with a random
 * no-answer policy, checking the PF's event counters on both sides; per-PF
 * detach/re-attach lets the PF alone go while the stack and the guests run
 * (checks.h).
 */
#ifndef PCIVIRT_TESTS_STRESS_CHAOS_H
#define PCIVIRT_TESTS_STRESS_CHAOS_H

#include "guest.h"

#define CHECKPOINT_EVERY 50u
#define VETO_PERCENT 15u

enum { RANGES_DEFAULT, RANGES_WRITES_0_1, RANGES_RW_0_1, RANGES_MODES };

/* Percent weights of enum ev_kind. */
static const unsigned ev_weight[EV_KINDS] = {21, 13, 9, 5, 14, 16, 15, 3, 4};

/* ---- waiting ----------------------------------------------------------------------------- */

/* Poll @cond (real time, bounded); false (and a failure) when it never held. */
static bool
settle(struct stress *w, struct wd_thread *me, bool (*cond)(struct stress *w, unsigned arg), unsigned arg,
       const char *phase)
{
    uint64_t start = wd_now_ms();

    wd_phase(me, phase);
    while (!cond(w, arg)) {
        if (atomic_load(&w->stop)) {
            return false;
        }
        if (wd_now_ms() - start > REAL_WAIT_MS) {
            stress_fail(w, __LINE__, "timed out: %s", phase);
            return false;
        }
        sleep_ms(1);
    }
    return true;
}

static bool
events_settled(struct stress *w, unsigned unused)
{
    struct pf_admin_status ps = pf_status(w);

    (void)unused;
    return query_stops(w) == w->m.cycles && total(w, VSP_EV_RESTART) == w->m.cycles &&
           ps.events_raised == ps.events_delivered;
}

static bool
vf_free(struct stress *w, unsigned vf)
{
    struct vsp_vf_info info;

    return vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, (uint16_t)vf, &info) == 0 &&
           (info.state == VSP_VF_FREE || info.state == VSP_VF_QUARANTINED);
}

/* Every guest went twice more through its loop since mark_guests() (so it saw what was published). */
static bool
guests_passed_mark(struct stress *w, unsigned unused)
{
    (void)unused;
    for (unsigned i = 0; i < NVMS; i++) {
        if (atomic_load(&w->g[i].wd->progress) < w->guest_mark[i]) {
            return false;
        }
    }
    return true;
}

static void
mark_guests(struct stress *w)
{
    for (unsigned i = 0; i < NVMS; i++) {
        w->guest_mark[i] = atomic_load(&w->g[i].wd->progress) + 2;
    }
}

/* A VF leaving a VM must come back FREE: reset and checked clean (docs/STACK.md clean handoff). */
static void
expect_free(struct stress *w, unsigned vf, const char *after)
{
    struct vsp_vf_info info;

    if (vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, (uint16_t)vf, &info) != 0) {
        stress_fail(w, __LINE__, "VF %u unknown after %s", vf, after);
        return;
    }
    if (info.state == VSP_VF_QUARANTINED) {
        w->st.quarantined++;
    }
    CHECK(w, info.state == VSP_VF_FREE, "VF %u is %s after %s (expected free: reset and clean)", vf,
          vsp_vf_state_name(info.state), after);
}

static void
model_remove(struct stress *w, unsigned vf)
{
    int i = w->m.holder[vf];

    if (i >= 0) {
        w->m.count[i]--;
        w->m.holder[vf] = -1;
    }
}

/* ---- PnP cycles -------------------------------------------------------------------------------- */

/* The PnP manager's query-stop, then cancel-stop when nobody vetoed (it blocks while guests are asked). */
static void *
pnp_helper_main(void *arg)
{
    struct stress *w = arg;

    wdf_thread_bind(w->p.host);
    wd_idle(w->pnp.wd, false);
    wd_phase(w->pnp.wd, "pnp: query-stop (the broker asks the guests)");
    w->pnp.query = wdf_pnp_query_stop(w->p.node);
    w->pnp.cancel = STATUS_PENDING;
    if (NT_SUCCESS(w->pnp.query)) {
        wd_phase(w->pnp.wd, "pnp: cancel-stop");
        w->pnp.cancel = wdf_pnp_cancel_stop(w->p.node);
    }
    wd_phase(w->pnp.wd, "pnp: idle");
    wd_idle(w->pnp.wd, true);
    wdf_thread_bind(NULL);
    atomic_store(&w->pnp.done, true);
    return NULL;
}

struct cycle {
    bool move;
    bool any_veto, rude_holds;
    unsigned polite_vfs;
    NTSTATUS expect;
    uint64_t answers0;
    uint64_t bar0; /* where the PF's BAR 0 was before the cycle */
};

/* Decide who vetoes and what the PnP manager must answer (docs/STACK.md: decision exactly once). */
static void
cycle_plan(struct stress *w, struct cycle *c)
{
    c->rude_holds = w->m.count[RUDE] > 0;
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        c->polite_vfs += w->m.holder[vf] >= 0 && (unsigned)w->m.holder[vf] != RUDE ? 1u : 0u;
    }
    for (unsigned i = 0; i < NVMS; i++) {
        bool veto = i != RUDE && w->m.count[i] > 0 && rnd_below(&w->rng, 100) < VETO_PERCENT;

        atomic_store(&w->g[i].veto, veto);
        c->any_veto = c->any_veto || veto;
    }
    if (c->any_veto) {
        c->expect = STATUS_DEVICE_BUSY; /* the first refusal closes the round with its status */
    } else if (c->rude_holds && w->m.policy == VSP_STOP_VETO) {
        c->expect = STATUS_IO_TIMEOUT;
    } else {
        c->expect = STATUS_SUCCESS;
    }
}

/* Start the cycle on another thread: the stack's rebalance thread, or our PnP helper. */
static bool
cycle_begin(struct stress *w, struct cycle *c)
{
    c->answers0 = total(w, VSP_EV_VM_ANSWER);
    c->bar0 = pf_bar0(w);
    atomic_store(&w->moved, false);
    if (c->move) {
        int rc = vsp_stack_rebalance_begin(w->p.s, w->p.node, move_resources, w);

        CHECK(w, rc == 0, "rebalance_begin: %d", rc);
        return rc == 0;
    }
    atomic_store(&w->pnp.done, false);
    if (pthread_create(&w->pnp.thread, NULL, pnp_helper_main, w) != 0) {
        stress_fail(w, __LINE__, "cannot start the PnP helper");
        return false;
    }
    return true;
}

/* Wait for the outcome, advancing the virtual clock past the deadline when only the rude VM is left. */
static bool
cycle_wait(struct stress *w, struct wd_thread *me, struct cycle *c, NTSTATUS *status)
{
    uint64_t start = wd_now_ms();
    bool advanced = false;

    wd_phase(me, c->move ? "chaos: waiting for the rebalance outcome" : "chaos: waiting for query-stop/cancel-stop");
    for (;;) {
        if (c->move && vsp_stack_rebalance_end(w->p.s, 1, status) == 0) {
            return true;
        }
        if (!c->move && atomic_load(&w->pnp.done)) {
            pthread_join(w->pnp.thread, NULL);
            *status = w->pnp.query;
            CHECK(w, !NT_SUCCESS(w->pnp.query) || w->pnp.cancel == STATUS_SUCCESS, "cancel-stop: 0x%08x",
                  (unsigned)w->pnp.cancel);
            return true;
        }
        /* The broker logs the query-stop after setting its deadline: only then may time jump. */
        if (c->rude_holds && !c->any_veto && !advanced && query_stops(w) > w->m.cycles &&
            total(w, VSP_EV_VM_ANSWER) - c->answers0 >= c->polite_vfs) {
            wd_phase(me, "chaos: advancing the virtual clock past the query-stop deadline");
            CHECK(w,
                  wdf_host_clock_advance(w->p.host, VSP_QUERY_STOP_TIMEOUT_DEFAULT_NS + VSP_NS_PER_S) == STATUS_SUCCESS,
                  "clock advance");
            advanced = true;
        }
        if (wd_now_ms() - start > REAL_WAIT_MS || atomic_load(&w->stop)) {
            stress_fail(w, __LINE__, "%s did not finish (answers %llu of %u polite VFs, rude holds %d)",
                        c->move ? "rebalance" : "query-stop/cancel-stop",
                        (unsigned long long)(total(w, VSP_EV_VM_ANSWER) - c->answers0), c->polite_vfs, c->rude_holds);
            return false;
        }
        sleep_ms(c->move ? 0 : 1);
    }
}

static void
cycle_account(struct stress *w, struct cycle *c, NTSTATUS status)
{
    CHECK(w, status == c->expect, "%s: PnP outcome 0x%08x, expected 0x%08x (veto %d, rude holds %d, policy %s)",
          c->move ? "rebalance" : "query-stop", (unsigned)status, (unsigned)c->expect, c->any_veto, c->rude_holds,
          vsp_stop_policy_name(w->m.policy));
    if (c->move && NT_SUCCESS(status)) {
        CHECK(w, atomic_load(&w->moved) && pf_bar0(w) != c->bar0, "rebalance succeeded but BARs did not move");
        w->st.moved++;
    } else {
        CHECK(w, pf_bar0(w) == c->bar0, "BARs moved although the stop was %s", c->move ? "vetoed" : "cancelled");
    }
    if (c->any_veto) {
        w->st.guest_vetoes++;
    } else if (c->expect == STATUS_IO_TIMEOUT) {
        w->st.timeout_vetoes++;
    } else {
        w->st.acked++;
    }
    /* Policy surprise-remove: the rude VM lost its VFs before the stop went on (7.2 step 2). */
    if (c->rude_holds && !c->any_veto && w->m.policy == VSP_STOP_SURPRISE_REMOVE) {
        for (unsigned vf = 0; vf < NUM_VFS; vf++) {
            if (w->m.holder[vf] == (int)RUDE) {
                model_remove(w, vf);
                expect_free(w, vf, "the no-answer policy");
                w->st.policy_removals++;
            }
        }
    }
}

static void
ev_cycle(struct stress *w, struct wd_thread *me, bool move)
{
    struct cycle c = {.move = move};
    NTSTATUS status = STATUS_PENDING;

    cycle_plan(w, &c);
    mark_guests(w); /* the guests must have seen their veto flag before the query-stop reaches them */
    if (!settle(w, me, guests_passed_mark, 0, "chaos: waiting for the guests to take their answers") ||
        !cycle_begin(w, &c) || !cycle_wait(w, me, &c, &status)) {
        return;
    }
    cycle_account(w, &c, status);
    for (unsigned i = 0; i < NVMS; i++) {
        atomic_store(&w->g[i].veto, false);
    }
    w->m.cycles++;
    settle(w, me, events_settled, 0, "chaos: waiting for the broker to see QueryStop and Restart");
}

/* ---- VF movements ------------------------------------------------------------------------------ */

/* A VF that @holder says is in a VM, at random, or -1. */
static int
pick_of(struct stress *w, const int holder[NUM_VFS])
{
    unsigned cand[NUM_VFS], n = 0;

    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        if (holder[vf] >= 0) {
            cand[n++] = vf;
        }
    }
    return n == 0 ? -1 : (int)cand[rnd_below(&w->rng, n)];
}

/* A VF in a VM, at random, or -1. */
static int
pick_held(struct stress *w)
{
    return pick_of(w, w->m.holder);
}

static void
ev_surprise(struct stress *w, struct wd_thread *me, int vf)
{
    int rc;

    wd_phase(me, "chaos: surprise-removing a VF from its VM");
    rc = vsp_vmm_surprise_remove(vsp_stack_vmm(w->p.s), w->p.pf, (uint16_t)vf, "stress: surprise removal");
    CHECK(w, rc == 0, "surprise removal of VF %d: %d", vf, rc);
    model_remove(w, (unsigned)vf);
    expect_free(w, (unsigned)vf, "surprise removal");
}

static void
ev_eject(struct stress *w, struct wd_thread *me, int vf)
{
    int rc = vsp_stack_eject(w->p.s, w->p.pf, (uint16_t)vf, "stress: eject");

    CHECK(w, rc == 0, "eject of VF %d: %d", vf, rc);
    if (settle(w, me, vf_free, (unsigned)vf, "chaos: waiting for the guest to acknowledge an eject")) {
        model_remove(w, (unsigned)vf);
        expect_free(w, (unsigned)vf, "eject");
    }
}

/* Give a free VF to a VM with room (the rude one less often); false when none fits. */
static bool
ev_assign(struct stress *w, struct wd_thread *me)
{
    unsigned vfs[NUM_VFS], vms[3 * NVMS], nv = 0, nm = 0;
    int rc;

    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        if (w->m.holder[vf] < 0) {
            vfs[nv++] = vf;
        }
    }
    for (unsigned i = 0; i < NVMS; i++) {
        for (unsigned k = 0; w->m.count[i] < VF_PER_VM && k < (i == RUDE ? 1u : 3u); k++) {
            vms[nm++] = i;
        }
    }
    if (nv == 0 || nm == 0) {
        return false;
    }
    unsigned vf = vfs[rnd_below(&w->rng, nv)], vm = vms[rnd_below(&w->rng, nm)];

    wd_phase(me, "chaos: assigning a VF");
    rc = assign(w, vm, vf);
    if (rc != 0) {
        struct vsp_vf_info info = {.state = VSP_VF_FREE};

        vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, (uint16_t)vf, &info);
        stress_fail(w, __LINE__,
                    "assign VF %u to guest %u: %d (VF %s in vm %d; model %d %d %d %d %d %d %d %d; vm ids %d %d %d %d, "
                    "incarnation %llu, cycles %u)",
                    vf, vm, rc, vsp_vf_state_name(info.state), info.vm, w->m.holder[0], w->m.holder[1], w->m.holder[2],
                    w->m.holder[3], w->m.holder[4], w->m.holder[5], w->m.holder[6], w->m.holder[7],
                    vsp_vm_id(vsp_stack_vm_vm(w->g[0].vm)), vsp_vm_id(vsp_stack_vm_vm(w->g[1].vm)),
                    vsp_vm_id(vsp_stack_vm_vm(w->g[2].vm)), vsp_vm_id(vsp_stack_vm_vm(w->g[3].vm)),
                    (unsigned long long)w->st.incarnations, w->m.cycles);
    }
    return true;
}

/* ---- PF-side changes ------------------------------------------------------------------------------ */

static void
ev_mac(struct stress *w, struct wd_thread *me)
{
    unsigned vf = rnd_below(&w->rng, NUM_VFS);
    uint32_t seq = atomic_load(&w->mac_started[vf]) + 1;
    uint8_t mac[6];
    NTSTATUS st;

    wd_phase(me, "chaos: PF-side MAC change");
    mac_of(vf, seq, mac);
    atomic_store(&w->mac_started[vf], seq);
    st = pf_admin_set_vf_mac(w->p.device, (uint16_t)vf, mac);
    atomic_store(&w->mac_committed[vf], seq);
    CHECK(w, st == STATUS_SUCCESS, "set MAC of VF %u: 0x%08x", vf, (unsigned)st);
}

static unsigned
ranges_of(unsigned mode, struct pf_mitig_range r[2])
{
    if (mode == RANGES_WRITES_0_1) {
        r[0] = (struct pf_mitig_range){.bar = 0, .base_page = 0, .page_count = 2, .intercept_writes = true};
        return 1;
    }
    r[0] = (struct pf_mitig_range){
        .bar = 0, .base_page = 1, .page_count = 1, .intercept_reads = true, .intercept_writes = true};
    if (mode == RANGES_DEFAULT) {
        return 1;
    }
    r[1] = (struct pf_mitig_range){
        .bar = 0, .base_page = 0, .page_count = 1, .intercept_reads = true, .intercept_writes = true};
    return 2;
}

static bool
intercept_grew(struct stress *w, unsigned before)
{
    return total(w, VSP_EV_INTERCEPT_UPDATE) > before;
}

static void
ev_ranges(struct stress *w, struct wd_thread *me)
{
    unsigned vf = rnd_below(&w->rng, NUM_VFS);
    unsigned mode = (w->ranges[vf] + 1 + rnd_below(&w->rng, RANGES_MODES - 1)) % RANGES_MODES;
    struct pf_mitig_range r[2];
    unsigned n = ranges_of(mode, r);
    uint64_t before = total(w, VSP_EV_INTERCEPT_UPDATE);
    NTSTATUS st;

    wd_phase(me, "chaos: PF-side mitigated-range change");
    st = pf_admin_set_mitigated_ranges(w->p.device, (uint16_t)vf, r, n);
    CHECK(w, st == STATUS_SUCCESS, "set ranges of VF %u: 0x%08x", vf, (unsigned)st);
    w->ranges[vf] = mode;
    if (w->m.watched[vf]) { /* the broker holds a RANGE_UPDATE for it: the map must be rebuilt */
        settle(w, me, intercept_grew, (unsigned)before, "chaos: waiting for MITIGATED_RANGE_UPDATE to rebuild the map");
    }
}

#endif /* PCIVIRT_TESTS_STRESS_CHAOS_H */
