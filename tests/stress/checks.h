/*
 * tests/stress/checks.h - checkpoints, detach/re-attach, and the chaos loop.
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
    uint32_t want = 2 * w->m.cycles;

    CHECK(w, ps.attached && ps.events_raised == ps.events_delivered, "PF: attached %d, events raised %u, delivered %u",
          ps.attached, ps.events_raised, ps.events_delivered);
    CHECK(w, ps.events_raised - w->m.raised0 == want && ps.events_delivered - w->m.delivered0 == want,
          "PF raised %u / delivered %u events in this incarnation; %u PnP cycles need %u",
          ps.events_raised - w->m.raised0, ps.events_delivered - w->m.delivered0, w->m.cycles, want);
    CHECK(w, vsp_stack_pfs(w->p.s, &info, 1) == 1 && info.events == want, "broker received %u events, expected %u",
          info.events, want);
    CHECK(w, total(w, VSP_EV_QUERY_STOP) == w->m.cycles && total(w, VSP_EV_RESTART) == w->m.cycles,
          "log: %llu QueryStop and %llu Restart for %u cycles", (unsigned long long)total(w, VSP_EV_QUERY_STOP),
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
    return total(w, VSP_EV_QUERY_STOP) > w->m.cycles;
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
    CHECK(w,
          pv_platform_read(w->p.plat, vf_aperture(w) + vf * w->p.prof->vf_bar[0].size + SWVF_REG_SCRATCH, &scratch,
                           4) == 0,
          "scratch of VF %u", vf);
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
        CHECK(w, !held[vf] || !vf_dirty(w, vf), "VF %u left its VM at stack shutdown without a reset", vf);
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
        CHECK(w, w->m.holder[vf] < 0 || !vf_dirty(w, vf), "VF %u reached guest %d with a previous VM's state", vf,
              w->m.holder[vf]);
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
    uint32_t cycles = w->m.cycles;
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
    wd_phase(me, "reattach: stack teardown");
    stack_down(w);
    check_released(w, held, mid);
    ps = pf_status(w);
    CHECK(w, !ps.attached && ps.interface_refs == 0 && ps.events_raised == ps.events_delivered,
          "after DETACH: attached %d, interface refs %d, events raised %u delivered %u", ps.attached, ps.interface_refs,
          ps.events_raised, ps.events_delivered);
    if (!mid) {
        CHECK(w, ps.events_raised - w->m.raised0 == 2 * cycles, "incarnation raised %u events for %u cycles",
              ps.events_raised - w->m.raised0, cycles);
    }
    wd_phase(me, "reattach: new stack, VMs and guests");
    CHECK(w, stack_up(w, rnd_below(&w->rng, 2) ? VSP_STOP_SURPRISE_REMOVE : VSP_STOP_VETO) && guests_up(w),
          "re-attach failed");
    check_vouched(w);
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
