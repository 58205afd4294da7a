/*
 * tests/stress/checks.h - checkpoints, detach/re-attach (of the whole stack
 * and of the PF alone), and the chaos loop.
 *
 * Why it is shaped so.  Guest-side checks run continuously but can only see
 * one operation at a time; the global invariants need a still machine.  A
 * checkpoint parks the guests, drives their buses from the chaos thread until
 * every message has been processed (bounded), then compares:
 *
 *  - assignments: the chaos model = the VM manager = what each guest's bus
 *    lists (slot and serial), and every VF outside a VM is free;
 *  - exactly-once: PnP events raised by the PF = delivered by the PF = events
 *    the broker received = QueryStop + Restart records in the event log = two
 *    per PnP cycle the chaos thread ran in this incarnation; one decision
 *    (EVENT_COMPLETE or veto) per query-stop;
 *  - guest-visible state: no driver still stopped or holding a stale MAC, each
 *    driver's MAC = the last one the PF was given, and every value a guest
 *    wrote (re-checked by running its operations once more);
 *  - the trap map: a scratch-register read and write trap exactly as the PF's
 *    current ranges for that VF say (vPCI host counters);
 *  - the runtime verifier reported nothing.
 */
#ifndef PCIVIRT_TESTS_STRESS_CHECKS_H
#define PCIVIRT_TESTS_STRESS_CHECKS_H

#include "chaos.h"

/*
 * Drive parked guest @g's bus until it lists exactly what the VM manager exposes,
 * settled: every driver bound, none stopped, its MAC fresh and the last one the
 * PF was given (a stop-over or an INVALIDATE_BLOCK still on its way - the PF
 * delivers invalidations through the held IOCTL, asynchronously - is a message
 * not yet drained; a lost one ends the bounded wait as a failure, and
 * check_guest() then asserts the result).
 */
static bool
guest_settled(struct stress *w, unsigned i)
{
    struct guest *g = &w->g[i];
    struct vsp_vf_info info[GVPCI_SLOTS];
    size_t n = vsp_vm_devices(vsp_stack_vm_vm(g->vm), info, GVPCI_SLOTS);
    unsigned bound = 0;

    gvpci_bus_poll(g->bus, 0);
    guest_sync(g);
    for (size_t k = 0; k < n && k < GVPCI_SLOTS; k++) {
        struct swvf *sw = swvf_of(gvpci_bus_dev(g->bus, info[k].slot));
        uint8_t mac[6];

        mac_of(info[k].vf_index, atomic_load(&w->mac_committed[info[k].vf_index % NUM_VFS]), mac);
        if (info[k].state != VSP_VF_ASSIGNED || g->slot[info[k].slot].serial != info[k].serial || sw == NULL ||
            sw->mac_stale || sw->stopped || memcmp(sw->mac, mac, 6) != 0) {
            return false;
        }
    }
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        bound += g->slot[s].serial != 0 ? 1u : 0u;
    }
    return bound == n;
}

/* Why guest @i did not settle, on stderr (the failure itself is already recorded). */
static void
diag_guest(struct stress *w, unsigned i)
{
    struct guest *g = &w->g[i];
    struct vsp_vf_info info[GVPCI_SLOTS];
    size_t n = vsp_vm_devices(vsp_stack_vm_vm(g->vm), info, GVPCI_SLOTS);

    for (size_t k = 0; k < n && k < GVPCI_SLOTS; k++) {
        struct swvf *sw = swvf_of(gvpci_bus_dev(g->bus, info[k].slot));

        fprintf(stderr,
                "stress: guest %u: stack exposes VF %u in slot %u (%s, serial %u); bus serial %u, driver %s%s%s, MAC "
                "sequence %u (last given %u)\n",
                i, info[k].vf_index, info[k].slot, vsp_vf_state_name(info[k].state), info[k].serial,
                g->slot[info[k].slot].serial, sw != NULL ? "bound" : "none",
                sw != NULL && sw->stopped ? ", stopped" : "", sw != NULL && sw->mac_stale ? ", MAC stale" : "",
                sw != NULL ? (unsigned)sw->mac[3] << 16 | (unsigned)sw->mac[4] << 8 | sw->mac[5] : 0u,
                atomic_load(&w->mac_committed[info[k].vf_index % NUM_VFS]));
    }
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        if (g->slot[s].serial != 0) {
            fprintf(stderr, "stress: guest %u: bus has slot %u serial %u (VF %u)\n", i, s, g->slot[s].serial,
                    g->slot[s].vf);
        }
    }
}

/* On stderr: the stack's last records about VF @vf, to say how it got where it is. */
static void
diag_vf_log(struct stress *w, unsigned vf)
{
    size_t cap = vsp_event_log_held(vsp_stack_log(w->p.s)), n, shown = 0;
    struct vsp_event *ev = pv_calloc(cap != 0 ? cap : 1, sizeof(*ev));

    n = ev != NULL ? vsp_event_log_snapshot(vsp_stack_log(w->p.s), ev, cap) : 0;
    for (size_t k = n; k-- > 0 && shown < 40;) {
        char line[256];

        if (ev[k].vf == (int32_t)vf || ev[k].vf == VSP_EV_NONE) {
            vsp_event_format(&ev[k], line, sizeof(line));
            fprintf(stderr, "stress: VF %u log (newest first): %s\n", vf, line);
            shown++;
        }
    }
    pv_free(ev);
}

static void
check_assignments(struct stress *w)
{
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        struct vsp_vf_info info;
        int h = w->m.holder[vf];

        CHECK(w, vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, (uint16_t)vf, &info) == 0, "VF %u unknown", vf);
        if (h >= 0) {
            CHECK(w,
                  info.state == VSP_VF_ASSIGNED && info.vm == vsp_vm_id(vsp_stack_vm_vm(w->g[h].vm)) &&
                      w->g[h].slot[info.slot].serial == info.serial && w->g[h].slot[info.slot].vf == vf,
                  "VF %u: model says guest %d, the stack says %s in vm %d slot %u", vf, h,
                  vsp_vf_state_name(info.state), info.vm, info.slot);
        } else {
            CHECK(w, info.state == VSP_VF_FREE, "VF %u: model says free, the stack says %s", vf,
                  vsp_vf_state_name(info.state));
        }
    }
}

static void
check_events(struct stress *w)
{
    struct pf_admin_status ps = pf_status(w);
    struct vsp_stack_pf_info info;
    uint32_t want = 2 * (w->m.cycles - w->m.cycles0); /* the PF and its broker count this attachment */

    CHECK(w, ps.attached && ps.events_raised == ps.events_delivered, "PF: attached %d, events raised %u, delivered %u",
          ps.attached, ps.events_raised, ps.events_delivered);
    CHECK(w, ps.events_raised - w->m.raised0 == want && ps.events_delivered - w->m.delivered0 == want,
          "PF raised %u / delivered %u events in this attachment; %u PnP cycles need %u",
          ps.events_raised - w->m.raised0, ps.events_delivered - w->m.delivered0, w->m.cycles - w->m.cycles0, want);
    CHECK(w, vsp_stack_pfs(w->p.s, &info, 1) == 1 && info.events == want, "broker received %u events, expected %u",
          info.events, want);
    CHECK(w, query_stops(w) == w->m.cycles && total(w, VSP_EV_RESTART) == w->m.cycles,
          "log: %llu QueryStop and %llu Restart for %u cycles", (unsigned long long)query_stops(w),
          (unsigned long long)total(w, VSP_EV_RESTART), w->m.cycles);
    CHECK(w, total(w, VSP_EV_EVENT_COMPLETE) + total(w, VSP_EV_VETO) == w->m.cycles,
          "log: %llu EVENT_COMPLETE + %llu vetoes for %u query-stops (one decision each)",
          (unsigned long long)total(w, VSP_EV_EVENT_COMPLETE), (unsigned long long)total(w, VSP_EV_VETO), w->m.cycles);
    if (total(w, VSP_EV_PF_ERROR) != 0 || total(w, VSP_EV_HANDOFF_DIRTY) != 0) {
        struct vsp_event ev;
        char line[256] = "";

        if (vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_PF_ERROR, VSP_EV_NONE, VSP_EV_NONE, VSP_EV_NONE, &ev) ||
            vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_HANDOFF_DIRTY, VSP_EV_NONE, VSP_EV_NONE, VSP_EV_NONE,
                               &ev)) {
            vsp_event_format(&ev, line, sizeof(line));
            diag_vf_log(w, ev.vf >= 0 ? (unsigned)ev.vf : NUM_VFS);
        }
        stress_fail(w, __LINE__, "log: %llu PF errors, %llu dirty handoffs; first: %s",
                    (unsigned long long)total(w, VSP_EV_PF_ERROR), (unsigned long long)total(w, VSP_EV_HANDOFF_DIRTY),
                    line);
    }
    /* A DMA racing its VF's removal faults in the IOMMU (that is the IOMMU doing its job); nothing else may. */
    if (total(w, VSP_EV_IOMMU_FAULT) > atomic_load(&w->dma_gone) - w->m.dma_gone0) {
        struct vsp_event ev;
        char line[256] = "";

        if (vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_IOMMU_FAULT, VSP_EV_NONE, VSP_EV_NONE, VSP_EV_NONE, &ev)) {
            vsp_event_format(&ev, line, sizeof(line));
        }
        stress_fail(w, __LINE__, "%llu IOMMU fault(s), only %llu DMA(s) raced a removal; first: %s",
                    (unsigned long long)total(w, VSP_EV_IOMMU_FAULT),
                    (unsigned long long)(atomic_load(&w->dma_gone) - w->m.dma_gone0), line);
    }
    CHECK(w, atomic_load(&w->reports) == 0, "%u verifier report(s)", atomic_load(&w->reports));
}

/* Scratch (BAR0 page 0) read and write trap exactly as VF @sl->vf's ranges say. */
static void
check_traps(struct stress *w, struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    struct vsp_vpci_host *h = vsp_stack_vm_host(g->vm);
    unsigned mode = w->ranges[sl->vf];
    struct vsp_vpci_stats a, b, c;
    uint32_t v = 0;

    vsp_vpci_host_stats(h, &a);
    CHECK(w, gvpci_mmio_read32(dev, 0, SWVF_REG_SCRATCH, &v) == 0, "scratch read");
    vsp_vpci_host_stats(h, &b);
    CHECK(w, gvpci_mmio_write32(dev, 0, SWVF_REG_SCRATCH, v) == 0, "scratch write");
    vsp_vpci_host_stats(h, &c);
    CHECK(w, b.mmio_trapped - a.mmio_trapped == (mode == RANGES_RW_0_1 ? 1u : 0u),
          "guest %u slot %u VF %u: page-0 read trapped %llu times under range set %u", g->idx, s, sl->vf,
          (unsigned long long)(b.mmio_trapped - a.mmio_trapped), mode);
    CHECK(w, c.mmio_trapped - b.mmio_trapped == (mode != RANGES_DEFAULT ? 1u : 0u),
          "guest %u slot %u VF %u: page-0 write trapped %llu times under range set %u", g->idx, s, sl->vf,
          (unsigned long long)(c.mmio_trapped - b.mmio_trapped), mode);
}

static void
check_guest(struct stress *w, struct guest *g)
{
    for (unsigned s = 0; s < GVPCI_SLOTS && !atomic_load(&w->stop); s++) {
        struct gslot *sl = &g->slot[s];
        struct gvpci_dev *dev = gvpci_bus_dev(g->bus, s);
        struct swvf *sw = swvf_of(dev);
        uint8_t mac[6];

        if (sl->serial == 0 || sw == NULL) {
            continue;
        }
        mac_of(sl->vf, atomic_load(&w->mac_committed[sl->vf]), mac);
        CHECK(w, memcmp(sw->mac, mac, 6) == 0 && !sw->stopped,
              "guest %u slot %u VF %u: driver MAC %02x:%02x:%02x:%02x:%02x:%02x (expected sequence %u), stopped %d",
              g->idx, s, sl->vf, sw->mac[0], sw->mac[1], sw->mac[2], sw->mac[3], sw->mac[4], sw->mac[5],
              atomic_load(&w->mac_committed[sl->vf]), sw->stopped);
        for (unsigned op = 0; op < sizeof(guest_ops) / sizeof(guest_ops[0]); op++) {
            guest_ops[op](g, s, sl, dev); /* each first re-checks what the guest wrote before */
        }
        check_traps(w, g, s, sl, dev);
    }
}

static void
checkpoint(struct stress *w, struct wd_thread *me)
{
    if (!settle(w, me, events_settled, 0, "checkpoint: waiting for PnP events to settle") || !park_all(w, me)) {
        CHECK(w, atomic_load(&w->stop), "checkpoint: guests did not park");
        unpark_all(w);
        return;
    }
    for (unsigned i = 0; i < NVMS; i++) {
        if (!settle(w, me, guest_settled, i, "checkpoint: driving a parked guest's bus until it settles")) {
            diag_guest(w, i);
        }
    }
    wd_phase(me, "checkpoint: comparing the machine with the model");
    check_assignments(w);
    check_events(w);
    for (unsigned i = 0; i < NVMS && !atomic_load(&w->stop); i++) {
        check_guest(w, &w->g[i]);
    }
    w->st.checkpoints++;
    unpark_all(w);
}

/* ---- detach and re-attach ------------------------------------------------------------------------ */

static bool
query_stop_seen(struct stress *w, unsigned unused)
{
    (void)unused;
    return query_stops(w) > w->m.cycles;
}

/* What VF @vf carries (for a failure message): its mailbox block length and scratch register. */
static struct vf_dirt {
    char text[64];
} vf_dirt(struct stress *w, unsigned vf)
{
    struct vf_dirt d;
    uint8_t buf[128];
    uint32_t len = 0, scratch = 0;

    pf_admin_get_vf_block(w->p.device, (uint16_t)vf, PF_BLOCK_ID_MAILBOX, buf, sizeof(buf), &len);
    pv_platform_read(w->p.plat, vf_reg_addr(w, vf, SWVF_REG_SCRATCH), &scratch, 4);
    snprintf(d.text, sizeof(d.text), "mailbox %u bytes, scratch 0x%08x", len, scratch);
    return d;
}

/* VF @vf still carries a guest's mailbox block or scratch value (the PF and the device say). */
static bool
vf_dirty(struct stress *w, unsigned vf)
{
    uint8_t buf[128];
    uint32_t len = 0, scratch = 0;

    CHECK(w,
          pf_admin_get_vf_block(w->p.device, (uint16_t)vf, PF_BLOCK_ID_MAILBOX, buf, sizeof(buf), &len) ==
              STATUS_SUCCESS,
          "mailbox of VF %u", vf);
    CHECK(w, pv_platform_read(w->p.plat, vf_reg_addr(w, vf, SWVF_REG_SCRATCH), &scratch, 4) == 0, "scratch of VF %u",
          vf);
    return len != 0 || scratch != 0;
}

/*
 * After the stack let go of the PF, the VFs its VMs held must be clean (the
 * handoff at shutdown, tests/regress/test_regress_stack.c).  When the DETACH
 * came in the middle of a rebalance the PF was stopped while the stack released
 * it, so ResetVf could not run then: those VFs may stay dirty until a stack
 * hands them out - which check_vouched() covers.
 */
static void
check_released(struct stress *w, const bool held[NUM_VFS], bool mid)
{
    for (unsigned vf = 0; vf < NUM_VFS && !mid; vf++) {
        CHECK(w, !held[vf] || !vf_dirty(w, vf), "VF %u left its VM at stack shutdown without a reset (%s)", vf,
              vf_dirt(w, vf).text);
    }
}

/*
 * Every VF the new incarnation assigned is clean before its guest ran: a stack
 * resets a VF on its way into a VM when it has not vouched for it itself
 * (vsp_vmm_vouch; the guests are still parked, so nothing wrote to it yet).
 */
static void
check_vouched(struct stress *w)
{
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        CHECK(w, w->m.holder[vf] < 0 || !vf_dirty(w, vf), "VF %u reached guest %d with a previous VM's state (%s)", vf,
              w->m.holder[vf], vf_dirt(w, vf).text);
    }
}

/*
 * The stack goes away (DETACH; with @mid, while a rebalance's query-stop is
 * open: the PF's wait ends with the DETACH and the stop proceeds, contract.md
 * 4.6) and a new stack with a random no-answer policy attaches.
 */
static void
ev_reattach(struct stress *w, struct wd_thread *me, bool mid)
{
    struct pf_admin_status ps;
    NTSTATUS st = STATUS_PENDING;
    uint32_t cycles = w->m.cycles - w->m.cycles0;
    bool held[NUM_VFS];

    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        held[vf] = w->m.holder[vf] >= 0;
    }
    if (mid) {
        mark_guests(w); /* no guest may still answer with the last cycle's veto */
        settle(w, me, guests_passed_mark, 0, "reattach: waiting for the guests to take their answers");
        CHECK(w, vsp_stack_rebalance_begin(w->p.s, w->p.node, move_resources, w) == 0, "rebalance_begin");
        settle(w, me, query_stop_seen, 0, "reattach: waiting for the query-stop to reach the broker");
        w->st.detach_mid_event++;
    }
    if (!park_all(w, me)) {
        CHECK(w, atomic_load(&w->stop), "reattach: guests did not park");
        unpark_all(w);
        return;
    }
    wd_phase(me, "reattach: stack shutdown (DETACH)");
    vsp_stack_shutdown(w->p.s);
    if (mid) {
        wd_phase(me, "reattach: waiting for the rebalance after DETACH");
        for (unsigned k = 0; k < REAL_WAIT_MS && vsp_stack_rebalance_end(w->p.s, 1, &st) == PCIVIRT_ETIMEDOUT; k++) {
        }
        CHECK(w, st == STATUS_SUCCESS, "rebalance interrupted by DETACH: 0x%08x (expected success)", (unsigned)st);
    }
    for (unsigned vf = 0; vf < NUM_VFS && !mid; vf++) {
        if (held[vf] && vf_dirty(w, vf)) {
            diag_vf_log(w, vf); /* check_released() fails below; the log goes with the stack */
        }
    }
    wd_phase(me, "reattach: stack teardown");
    stack_down(w);
    check_released(w, held, mid);
    ps = pf_status(w);
    CHECK(w, !ps.attached && ps.interface_refs == 0 && ps.events_raised == ps.events_delivered,
          "after DETACH: attached %d, interface refs %d, events raised %u delivered %u", ps.attached, ps.interface_refs,
          ps.events_raised, ps.events_delivered);
    if (!mid) {
        CHECK(w, ps.events_raised - w->m.raised0 == 2 * cycles, "attachment raised %u events for %u cycles",
              ps.events_raised - w->m.raised0, cycles);
    }
    wd_phase(me, "reattach: new stack, VMs and guests");
    CHECK(w, stack_up(w, rnd_below(&w->rng, 2) ? VSP_STOP_SURPRISE_REMOVE : VSP_STOP_VETO) && guests_up(w),
          "re-attach failed");
    check_vouched(w);
    unpark_all(w);
}

/* ---- per-PF detach and re-attach ------------------------------------------------------------------ */

/* What a per-PF detach + re-attach records before it starts, to check against afterwards. */
struct pf_round {
    enum vsp_detach_mode mode;
    bool mid;                 /* DETACH while a rebalance's query-stop waits for the rude VM */
    int held[NUM_VFS];        /* the guest that held each VF, or -1 */
    uint32_t serial[NUM_VFS]; /* the exposure it had there */
    unsigned nheld;
    uint64_t bar0;   /* with @mid: where the PF's BAR 0 was before the rebalance */
    int dirtied;     /* a VF left dirty behind the stack's back while the PF was detached, or -1 */
    uint32_t cycles; /* PnP cycles of the attachment that ends */
    uint64_t removals0, ejects0, acks0, forced0, detach0, attach0;
};

static void
pf_round_begin(struct stress *w, struct pf_round *r)
{
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        struct vsp_vf_info info = {.serial = 0};

        r->held[vf] = w->m.holder[vf];
        r->serial[vf] = 0;
        if (r->held[vf] >= 0) {
            CHECK(w, vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, (uint16_t)vf, &info) == 0, "VF %u unknown", vf);
            r->serial[vf] = info.serial;
            r->nheld++;
        }
    }
    r->cycles = w->m.cycles - w->m.cycles0;
    r->removals0 = total(w, VSP_EV_SURPRISE_REMOVAL);
    r->ejects0 = total(w, VSP_EV_EJECT);
    r->acks0 = total(w, VSP_EV_EJECT_ACK);
    r->forced0 = total(w, VSP_EV_FORCED_REMOVAL);
    r->detach0 = total(w, VSP_EV_DETACH);
    r->attach0 = total(w, VSP_EV_ATTACH);
}

/*
 * vsp_stack_pf_detach() until it is done, the guests running (an eject needs
 * them to acknowledge); meanwhile no VF of the PF may be assigned.
 */
static bool
pf_detach(struct stress *w, struct wd_thread *me, enum vsp_detach_mode mode)
{
    uint64_t start = wd_now_ms();
    int rc;

    wd_phase(me, mode == VSP_DETACH_EJECT ? "pf-reattach: detaching the PF (ejecting its VFs)"
                                          : "pf-reattach: detaching the PF (surprise-removing its VFs)");
    while ((rc = vsp_stack_pf_detach(w->p.s, w->p.pf, mode, 5)) == PCIVIRT_ETIMEDOUT) {
        int arc = vsp_stack_assign(w->p.s, w->p.pf, 0, w->g[0].vm, NULL);

        CHECK(w, arc == PCIVIRT_ESTATE, "assign while the PF is detaching: %d (expected PCIVIRT_ESTATE)", arc);
        if (atomic_load(&w->stop) || wd_now_ms() - start > REAL_WAIT_MS) {
            stress_fail(w, __LINE__, "PF detach (%s) did not finish",
                        mode == VSP_DETACH_EJECT ? "eject" : "surprise removal");
            return false;
        }
    }
    CHECK(w, rc == 0, "PF detach: %d", rc);
    return rc == 0;
}

/* The rude VM holds a VF (given a free one if it has none); false when none is free. */
static bool
rude_holds_one(struct stress *w)
{
    for (unsigned vf = 0; vf < NUM_VFS && w->m.count[RUDE] == 0; vf++) {
        if (w->m.holder[vf] < 0) {
            int rc = assign(w, RUDE, vf);

            CHECK(w, rc == 0, "assign VF %u to the rude guest: %d", vf, rc);
        }
    }
    return w->m.count[RUDE] > 0;
}

/*
 * Open a rebalance whose query-stop stays open: the rude VM holds a VF and
 * never answers, and the virtual clock does not move, so the round waits.
 */
static bool
pf_mid_begin(struct stress *w, struct wd_thread *me, struct pf_round *r)
{
    r->bar0 = pf_bar0(w);
    atomic_store(&w->moved, false);
    mark_guests(w); /* no guest may still answer with the last cycle's veto */
    if (!settle(w, me, guests_passed_mark, 0, "pf-reattach: waiting for the guests to take their answers")) {
        return false;
    }
    CHECK(w, vsp_stack_rebalance_begin(w->p.s, w->p.node, move_resources, w) == 0, "rebalance_begin");
    return settle(w, me, query_stop_seen, 0, "pf-reattach: waiting for the query-stop to reach the broker");
}

/* The PF's wait ended with the DETACH: the stop went on and the resources moved (contract.md 4.6). */
static void
pf_mid_end(struct stress *w, struct wd_thread *me, const struct pf_round *r)
{
    NTSTATUS st = STATUS_PENDING;

    wd_phase(me, "pf-reattach: waiting for the rebalance after DETACH");
    for (unsigned k = 0; k < REAL_WAIT_MS && vsp_stack_rebalance_end(w->p.s, 1, &st) == PCIVIRT_ETIMEDOUT; k++) {
    }
    CHECK(w, st == STATUS_SUCCESS, "rebalance interrupted by a PF detach: 0x%08x (expected success)", (unsigned)st);
    CHECK(w, atomic_load(&w->moved) && pf_bar0(w) != r->bar0, "rebalance after a PF detach did not move the BARs");
    w->m.abandoned++;
    w->st.pf_detach_mid_event++;
    w->st.moved++;
}

static bool
pf_refs_dropped(struct stress *w, unsigned unused)
{
    (void)unused;
    return pf_status(w).interface_refs == 0;
}

/* The PF is let go: nothing held, every table dereferenced, every event delivered exactly once. */
static void
check_pf_detached(struct stress *w, struct wd_thread *me, const struct pf_round *r)
{
    struct pf_admin_status ps = pf_status(w);
    struct vsp_stack_pf_info info;
    bool listed = vsp_stack_pfs(w->p.s, &info, 1) == 1;
    int rc = vsp_stack_assign(w->p.s, w->p.pf, 0, w->g[0].vm, NULL);

    CHECK(w, listed && info.detached && !info.attached && info.id == w->p.pf,
          "stack after PF detach: listed %d, detached %d, attached %d", listed, info.detached, info.attached);
    CHECK(w, rc == PCIVIRT_ESTATE, "assign on a detached PF: %d (expected PCIVIRT_ESTATE)", rc);
    CHECK(w, !ps.attached && ps.events_raised == ps.events_delivered,
          "after PF detach: attached %d, events raised %u delivered %u", ps.attached, ps.events_raised,
          ps.events_delivered);
    /*
     * The stack dropped its own references to the tables; a guest access that
     * pinned the PF's binding just before (a trapped MMIO) drops the binding's
     * when it ends, on the guest's thread.  Then none may be left.
     */
    if (ps.interface_refs != 0) {
        w->st.pf_refs_late++;
        if (!settle(w, me, pf_refs_dropped, 0, "pf-reattach: waiting for the last pin of the PF's tables")) {
            ps = pf_status(w);
            stress_fail(w, __LINE__, "after PF detach: %d interface reference(s) never dropped", ps.interface_refs);
        }
    }
    /* With @mid, the open round's QueryStop was raised and delivered; its Restart came after DETACH. */
    CHECK(w,
          ps.events_raised - w->m.raised0 == 2 * r->cycles + r->mid &&
              ps.events_delivered - w->m.delivered0 == 2 * r->cycles + r->mid,
          "attachment raised %u / delivered %u events for %u cycles%s", ps.events_raised - w->m.raised0,
          ps.events_delivered - w->m.delivered0, r->cycles, r->mid ? " and an open query-stop" : "");
    CHECK(w,
          total(w, VSP_EV_QUERY_STOP) == w->m.cycles + w->m.abandoned && total(w, VSP_EV_RESTART) == w->m.cycles &&
              total(w, VSP_EV_EVENT_COMPLETE) + total(w, VSP_EV_VETO) == w->m.cycles,
          "log after PF detach: %llu QueryStop, %llu Restart, %llu decisions for %u cycles and %u abandoned",
          (unsigned long long)total(w, VSP_EV_QUERY_STOP), (unsigned long long)total(w, VSP_EV_RESTART),
          (unsigned long long)(total(w, VSP_EV_EVENT_COMPLETE) + total(w, VSP_EV_VETO)), w->m.cycles, w->m.abandoned);
    CHECK(w, total(w, VSP_EV_DETACH) == r->detach0 + 1, "log: %llu DETACH for one PF detach",
          (unsigned long long)(total(w, VSP_EV_DETACH) - r->detach0));
    if (r->mode == VSP_DETACH_EJECT) {
        CHECK(w,
              total(w, VSP_EV_EJECT) - r->ejects0 == r->nheld && total(w, VSP_EV_EJECT_ACK) - r->acks0 == r->nheld &&
                  total(w, VSP_EV_FORCED_REMOVAL) == r->forced0,
              "PF detach by eject of %u VFs: %llu ejects, %llu acknowledged, %llu forced", r->nheld,
              (unsigned long long)(total(w, VSP_EV_EJECT) - r->ejects0),
              (unsigned long long)(total(w, VSP_EV_EJECT_ACK) - r->acks0),
              (unsigned long long)(total(w, VSP_EV_FORCED_REMOVAL) - r->forced0));
    } else {
        CHECK(w, total(w, VSP_EV_SURPRISE_REMOVAL) - r->removals0 == r->nheld,
              "PF detach by surprise removal of %u VFs: %llu surprise removals logged", r->nheld,
              (unsigned long long)(total(w, VSP_EV_SURPRISE_REMOVAL) - r->removals0));
    }
}

/* Parked guest @i's bus lists nothing of the detached PF (it saw the relations or ejects). */
static void
check_guest_empty(struct stress *w, struct wd_thread *me, unsigned i)
{
    if (!settle(w, me, guest_settled, i, "pf-reattach: driving a parked guest until its VFs are gone")) {
        diag_guest(w, i);
        return;
    }
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        CHECK(w, gvpci_bus_dev(w->g[i].bus, s) == NULL && w->g[i].slot[s].serial == 0,
              "guest %u still has slot %u after its PF was detached", i, s);
    }
}

static bool
pf_attached(struct stress *w, unsigned attach0)
{
    struct vsp_stack_pf_info info;

    return total(w, VSP_EV_ATTACH) > attach0 && vsp_stack_pfs(w->p.s, &info, 1) == 1 && info.attached &&
           pf_status(w).attached;
}

/* The same PF bound again under its id; the model starts a new attachment. */
static bool
pf_reattach(struct stress *w, struct wd_thread *me, const struct pf_round *r)
{
    struct pf_admin_status ps;
    int rc;

    wd_phase(me, "pf-reattach: attaching the PF again");
    rc = vsp_stack_pf_attach(w->p.s, w->p.pf);
    CHECK(w, rc == 0, "PF attach: %d", rc);
    if (rc != 0 || !settle(w, me, pf_attached, (unsigned)r->attach0, "pf-reattach: waiting for ATTACH")) {
        return false;
    }
    CHECK(w, total(w, VSP_EV_ATTACH) == r->attach0 + 1, "log: %llu ATTACH for one PF attach",
          (unsigned long long)(total(w, VSP_EV_ATTACH) - r->attach0));
    CHECK(w, vsp_stack_pf_find(w->p.s, "0000:03:00.0") == w->p.pf, "the PF came back under another id");
    ps = pf_status(w);
    w->m.raised0 = ps.events_raised;
    w->m.delivered0 = ps.events_delivered;
    w->m.cycles0 = w->m.cycles;
    memset(w->m.watched, 0, sizeof(w->m.watched)); /* a new broker watches only what it assigns */
    return true;
}

/*
 * A re-assigned VF reaches its guest as a new exposure of a fresh device: a new
 * serial, a newly bound driver that has seen no stop, no interrupt, and a
 * mailbox and scratch register at their reset values (what the guest reads,
 * the independent side of check_vouched()).
 */
static void
check_fresh(struct stress *w, const struct pf_round *r, unsigned vf)
{
    struct vsp_vf_info info;
    struct guest *g;
    struct gvpci_dev *dev;
    struct swvf *sw;
    uint8_t buf[128], zero[128] = {0};
    uint32_t got = 0, scratch = 1;

    if (vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, (uint16_t)vf, &info) != 0 || w->m.holder[vf] < 0) {
        stress_fail(w, __LINE__, "re-assigned VF %u not found", vf);
        return;
    }
    g = &w->g[w->m.holder[vf]];
    dev = gvpci_bus_dev(g->bus, info.slot);
    sw = swvf_of(dev);
    CHECK(w, r->held[vf] < 0 || info.serial != r->serial[vf], "VF %u came back with its old serial %u", vf,
          info.serial);
    if (sw == NULL) {
        stress_fail(w, __LINE__, "guest %u: no driver on re-assigned VF %u", g->idx, vf);
        return;
    }
    CHECK(w, sw->vf_index == vf && sw->query_stops == 0 && sw->restarts == 0 && sw->stop_cancels == 0 && sw->irqs == 0,
          "guest %u: re-assigned VF %u's driver is not fresh (VF %u, %u query-stops, %u restarts, %u irqs)", g->idx, vf,
          sw->vf_index, sw->query_stops, sw->restarts, sw->irqs);
    CHECK(w,
          gvpci_read_block(dev, buf, sizeof(buf), PF_BLOCK_ID_MAILBOX, &got) == 0 && got == sizeof(buf) &&
              memcmp(buf, zero, sizeof(buf)) == 0,
          "guest %u: re-assigned VF %u shows a previous VM's mailbox", g->idx, vf);
    CHECK(w, gvpci_mmio_read32(dev, 0, SWVF_REG_SCRATCH, &scratch) == 0 && scratch == 0,
          "guest %u: re-assigned VF %u shows scratch 0x%08x", g->idx, vf, scratch);
}

/* Most VFs go back to the guest that held them, the others stay free; each must come back fresh. */
static void
pf_reassign(struct stress *w, struct wd_thread *me, const struct pf_round *r)
{
    bool back[NUM_VFS] = {false};

    wd_phase(me, "pf-reattach: assigning the VFs again");
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        if (r->held[vf] >= 0 && ((int)vf == r->dirtied || rnd_below(&w->rng, 4) != 0)) {
            int rc = assign(w, (unsigned)r->held[vf], vf);

            CHECK(w, rc == 0, "re-assign VF %u to guest %d after PF attach: %d", vf, r->held[vf], rc);
            back[vf] = rc == 0;
            w->st.pf_vfs_back += rc == 0 ? 1u : 0u;
        }
    }
    check_vouched(w); /* the guests are parked: nothing wrote to the VFs since */
    for (unsigned i = 0; i < NVMS; i++) {
        if (!settle(w, me, guest_settled, i, "pf-reattach: driving a parked guest until its VFs are back")) {
            diag_guest(w, i);
        }
    }
    for (unsigned vf = 0; vf < NUM_VFS && !atomic_load(&w->stop); vf++) {
        if (back[vf]) {
            check_fresh(w, r, vf);
        }
    }
}

/*
 * While the PF is detached, somebody else (the host, another VSP) uses one of
 * the VFs that left and leaves its scratch register set: the stack cannot know,
 * so it must vouch for the VF (reset and check) before handing it out again.
 * The dirt is verified through the same oracle check_vouched() uses.
 */
static void
pf_dirty_one(struct stress *w, struct pf_round *r)
{
    int vf = pick_of(w, r->held);
    uint32_t v = 0x5A000000u | (uint32_t)rnd_below(&w->rng, 0x1000000);

    r->dirtied = vf;
    if (vf < 0) {
        return;
    }
    CHECK(w, pv_platform_write(w->p.plat, vf_reg_addr(w, (unsigned)vf, SWVF_REG_SCRATCH), &v, 4) == 0,
          "host write to VF %d", vf);
    CHECK(w, vf_dirty(w, (unsigned)vf), "VF %d: the host's scratch write did not stick", vf);
    w->st.pf_vfs_dirtied++;
}

/*
 * The PF alone goes (its VFs surprise-removed or ejected while the guests keep
 * running, reset in the clean handoff, DETACH) and comes back under the same
 * id while the stack and the VMs stay; the VFs are then assigned again.  Now
 * and then the PF gets a new MAC for a VF while it is detached (the PF keeps
 * it; the next driver must read it).
 */
static void
ev_pf_reattach(struct stress *w, struct wd_thread *me)
{
    struct pf_round r = {.mode = rnd_below(&w->rng, 2) ? VSP_DETACH_EJECT : VSP_DETACH_SURPRISE_REMOVE,
                         .mid = rnd_below(&w->rng, 100) < 40,
                         .dirtied = -1};
    bool held[NUM_VFS];

    if (r.mid) {
        r.mid = rude_holds_one(w);
    }
    pf_round_begin(w, &r);
    if ((r.mid && !pf_mid_begin(w, me, &r)) || !pf_detach(w, me, r.mode)) {
        return;
    }
    if (r.mid) {
        pf_mid_end(w, me, &r);
    }
    for (unsigned vf = 0; vf < NUM_VFS; vf++) {
        held[vf] = r.held[vf] >= 0;
        model_remove(w, vf);
    }
    *(r.mode == VSP_DETACH_EJECT ? &w->st.pf_detach_eject : &w->st.pf_detach_surprise) += 1;
    w->st.pf_vfs_left += r.nheld;
    check_pf_detached(w, me, &r);
    check_released(w, held, false);
    if (!park_all(w, me)) {
        CHECK(w, atomic_load(&w->stop), "pf-reattach: guests did not park");
        unpark_all(w);
        return;
    }
    for (unsigned i = 0; i < NVMS && !atomic_load(&w->stop); i++) {
        check_guest_empty(w, me, i);
    }
    if (rnd_below(&w->rng, 2) == 0) {
        ev_mac(w, me);
    }
    if (rnd_below(&w->rng, 2) == 0) {
        pf_dirty_one(w, &r);
    }
    if (!atomic_load(&w->stop) && pf_reattach(w, me, &r)) {
        pf_reassign(w, me, &r);
    }
    unpark_all(w);
}

/* ---- the loop ------------------------------------------------------------------------------------- */

static enum ev_kind
pick_kind(struct stress *w)
{
    unsigned r = rnd_below(&w->rng, 100), acc = 0;

    for (unsigned k = 0; k < EV_KINDS; k++) {
        acc += ev_weight[k];
        if (r < acc) {
            return (enum ev_kind)k;
        }
    }
    return EV_MAC;
}

static enum ev_kind
run_event(struct stress *w, struct wd_thread *me, enum ev_kind k)
{
    int vf;

    switch (k) {
    case EV_REBALANCE:
    case EV_CANCEL_STOP: ev_cycle(w, me, k == EV_REBALANCE); return k;
    case EV_SURPRISE:
    case EV_EJECT:
        vf = pick_held(w);
        if (vf < 0) {
            break;
        }
        if (k == EV_SURPRISE) {
            ev_surprise(w, me, vf);
        } else {
            ev_eject(w, me, vf);
        }
        return k;
    case EV_ASSIGN:
        if (ev_assign(w, me)) {
            return k;
        }
        break;
    case EV_RANGES: ev_ranges(w, me); return k;
    case EV_REATTACH: ev_reattach(w, me, rnd_below(&w->rng, 100) < 40); return k;
    case EV_PF_REATTACH: ev_pf_reattach(w, me); return k;
    default: break;
    }
    ev_mac(w, me);
    return EV_MAC;
}

static void *
chaos_main(void *arg)
{
    struct stress *w = arg;
    struct wd_thread *me = w->wd.t; /* slot 0 */
    uint64_t start = wd_now_ms();
    unsigned done = 0;

    wdf_thread_bind(w->p.host);
    wd_idle(me, false);
    while (!atomic_load(&w->stop) && done < w->events_target &&
           (w->seconds == 0 || wd_now_ms() - start < 1000ull * w->seconds)) {
        enum ev_kind k = run_event(w, me, pick_kind(w));

        w->st.events[k]++;
        done++;
        wd_tick(me);
        if (done % CHECKPOINT_EVERY == 0 && !atomic_load(&w->stop)) {
            checkpoint(w, me);
        }
        if (w->verbose && done % 1000 == 0) {
            fprintf(stderr, "stress: %u events, %llu s\n", done, (unsigned long long)(wd_now_ms() - start) / 1000);
        }
    }
    if (!atomic_load(&w->stop)) {
        checkpoint(w, me);
    }
    wd_phase(me, "chaos: finished");
    wd_idle(me, true);
    wdf_thread_bind(NULL);
    return NULL;
}

#endif /* PCIVIRT_TESTS_STRESS_CHECKS_H */
