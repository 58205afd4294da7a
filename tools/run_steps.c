/*
 * tools/run_steps.c - the timeline steps of a scenario (docs/SCENARIO.md "timeline").
 *
 * Each step asks the stack to act through its own entry points (the VM manager
 * for eject and assignment, the PnP manager of the runtime for a surprise
 * removal, the PF driver's administration calls for PF-side changes), lets the
 * guests react, and then judges what happened from the stack's event log and
 * the guests' state against the scenario model's prediction (expect_forced,
 * expect_timeout, expect_veto).  A step the build cannot execute is a failed
 * check, never a silent pass.
 *
 * Eject windows: the guest gets the chance to answer first; only when it has
 * ignored PCI_EJECT (its bus driver says so) does the runner let the window run
 * out - instantly on the virtual clock - and the stack's own deadline handling
 * (vsp_stack_tick) decides the forced removal.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pf/pf.h"
#include "run_internal.h"

#define STEP_ROUNDS 150
#define STEP_POLL_NS (20 * (int64_t)VSP_NS_PER_MS)

static uint64_t
last_seq(struct run *r)
{
    return vsp_event_log_total(r->log, VSP_EV_TYPE_COUNT);
}

/* An event of @type for (pf, vf, vm) newer than @seq. */
static bool
event_since(struct run *r, enum vsp_event_type type, int pf, int vf, int vm, uint64_t seq)
{
    struct vsp_event ev;

    return vsp_event_log_find(r->log, type, pf, vf, vm, &ev) && ev.seq > seq;
}

static enum vsp_vf_state
vf_state(struct run *r, struct run_dev *d, uint32_t vf)
{
    struct vsp_vf_info info;

    return vsp_vmm_vf_info(r->vmm, d->pf_id, (uint16_t)vf, &info) == 0 ? info.state : VSP_VF_QUARANTINED;
}

/* The handoff runs on the host's dispatch thread after the guest's answer: wait for FREE (bounded). */
static enum vsp_vf_state
await_handoff(struct run *r, struct run_vm *v, struct run_dev *d, uint32_t vf)
{
    enum vsp_vf_state s = vf_state(r, d, vf);

    for (int i = 0; i < STEP_ROUNDS && (s == VSP_VF_HANDOFF || s == VSP_VF_EJECTING); i++) {
        if (v->bus != NULL) {
            gvpci_bus_poll(v->bus, STEP_POLL_NS);
        } else {
            struct timespec ts = {0, STEP_POLL_NS};

            nanosleep(&ts, NULL);
        }
        s = vf_state(r, d, vf);
    }
    return s;
}

/* Give the guest its chance to answer PCI_EJECT; true when it ignored it. */
static bool
guest_ignored_eject(struct run *r, struct run_vm *v, struct run_dev *d, uint32_t vf)
{
    struct gvpci_stats s0, s;

    gvpci_bus_stats(v->bus, &s0);
    for (int i = 0; i < STEP_ROUNDS && vf_state(r, d, vf) == VSP_VF_EJECTING; i++) {
        gvpci_bus_poll(v->bus, STEP_POLL_NS);
        gvpci_bus_stats(v->bus, &s);
        if (s.ejects_ignored > s0.ejects_ignored) {
            return true;
        }
    }
    return vf_state(r, d, vf) == VSP_VF_EJECTING;
}

void
run_eject(struct run *r, struct run_vm *v, struct run_dev *d, uint32_t vf, bool expect_forced, const char *why)
{
    uint64_t seq = last_seq(r);
    int vm = vsp_vm_id(v->vm);
    bool forced, acked;
    int rc = vsp_stack_eject(r->stack, d->pf_id, (uint16_t)vf, why);

    if (!run_check(r, RUN_INV_STEPS, rc == 0, "eject VF %u of '%s' from %s: the stack refused (%s)", vf, d->sd->name,
                   v->sv->name, pcivirt_strerror(rc))) {
        return;
    }
    if (v->bus != NULL && guest_ignored_eject(r, v, d, vf)) {
        run_advance(r, (uint64_t)r->sc->timing.eject_window_ms * VSP_NS_PER_MS);
    } else if (v->bus == NULL) {
        run_advance(r, (uint64_t)r->sc->timing.eject_window_ms * VSP_NS_PER_MS);
    }
    run_check(r, RUN_INV_HANDOFF, await_handoff(r, v, d, vf) == VSP_VF_FREE,
              "VF %u of '%s' is free after leaving %s (state %s)", vf, d->sd->name, v->sv->name,
              vsp_vf_state_name(vf_state(r, d, vf)));
    forced = event_since(r, VSP_EV_FORCED_REMOVAL, d->pf_id, (int)vf, vm, seq);
    acked = event_since(r, VSP_EV_EJECT_ACK, d->pf_id, (int)vf, vm, seq);
    run_check(r, RUN_INV_PREDICTED, forced == expect_forced && acked != forced,
              "eject of VF %u of '%s' from %s: predicted %s, the stack logged %s", vf, d->sd->name, v->sv->name,
              expect_forced ? "forced removal after the window" : "the guest's acknowledgment",
              forced ? "a forced removal" : (acked ? "the acknowledgment" : "neither"));
    run_check(r, RUN_INV_HANDOFF,
              event_since(r, VSP_EV_RESET, d->pf_id, (int)vf, VSP_EV_NONE, seq) &&
                  event_since(r, VSP_EV_HANDOFF_CLEAN, d->pf_id, (int)vf, VSP_EV_NONE, seq),
              "VF %u of '%s' was reset (FLR) and checked clean after leaving %s", vf, d->sd->name, v->sv->name);
    run_guest_settle(v);
    run_check(r, RUN_INV_GUEST_OPS, run_guest_find(v, d->pf_id, vf) == NULL, "%s no longer sees VF %u of '%s'",
              v->sv->name, vf, d->sd->name);
    v->vfs_lost++;
}

static void
step_eject(struct run *r, const struct scenario_step *st)
{
    run_eject(r, &r->vms[st->vm], &r->devs[st->device], st->vf, st->expect_forced,
              st->note != NULL ? st->note : "timeline eject");
}

static void
step_assign(struct run *r, const struct scenario_step *st)
{
    struct run_vm *v = &r->vms[st->vm];
    struct run_dev *d = &r->devs[st->device];
    struct swvf *f;
    int rc;

    await_handoff(r, v, d, st->vf);
    rc = vsp_stack_assign(r->stack, d->pf_id, (uint16_t)st->vf, v->svm, NULL);
    if (!run_check(r, RUN_INV_STEPS, rc == 0, "assign VF %u of '%s' to %s: the stack refused (%s)", st->vf, d->sd->name,
                   v->sv->name, pcivirt_strerror(rc))) {
        return;
    }
    run_check(r, RUN_INV_HANDOFF,
              !vsp_event_log_find(r->log, VSP_EV_HANDOFF_DIRTY, d->pf_id, (int)st->vf, VSP_EV_NONE, NULL),
              "VF %u of '%s' reached %s without a failed clean check", st->vf, d->sd->name, v->sv->name);
    run_guest_settle(v);
    f = swvf_of(run_guest_find(v, d->pf_id, st->vf));
    run_check(r, RUN_INV_GUEST_OPS, f != NULL && f->vf_index == st->vf,
              "%s: the sample driver bound to VF %u of '%s' and the device answers as that VF", v->sv->name, st->vf,
              d->sd->name);
    v->vfs_gained++;
}

/*
 * The guest's bus driver changes how it answers from the next request on
 * (gvpci_bus_set_misbehave): children, drivers and the negotiated version stay,
 * so the step changes only what the scenario says it changes.  A request the
 * guest already ignored stays unanswered; the stack's deadline decides it.
 */
static void
step_guest(struct run *r, const struct scenario_step *st)
{
    run_guest_set_misbehave(&r->vms[st->vm], st->misbehave);
}

/* The PF rewrites a block; block 0 is derived from registers, so its queue limit changes instead. */
static NTSTATUS
pf_rewrite(struct run *r, struct run_dev *d, const struct scenario_step *st, uint8_t *data)
{
    uint64_t rng = r->sc->options.seed ^ ((uint64_t)st->block << 32) ^ st->vf ^ r->step;

    for (uint32_t i = 0; i < st->length; i++) {
        data[i] = (uint8_t)run_rand(&rng);
    }
    if (st->block == PF_BLOCK_ID_VF_INFO) {
        return pf_admin_set_vf_limits(d->pfdev, (uint16_t)st->vf, 1 + (uint32_t)(rng % 15), 0);
    }
    return pf_admin_set_vf_block(d->pfdev, (uint16_t)st->vf, st->block, data, st->length);
}

static void
step_block_change(struct run *r, const struct scenario_step *st)
{
    struct run_dev *d = &r->devs[st->device];
    struct run_vm *h = run_holder(r, d, st->vf);
    struct swvf *f = h != NULL ? swvf_of(run_guest_find(h, d->pf_id, st->vf)) : NULL;
    uint64_t before[SCENARIO_MAX_VMS], logged;
    uint8_t data[128], back[128];
    uint32_t got = 0;
    unsigned wrong = 0;
    NTSTATUS s;

    for (size_t i = 0; i < r->n_vms; i++) {
        before[i] = run_guest_invalidations(&r->vms[i]);
    }
    logged = vsp_event_log_total(r->log, VSP_EV_INVALIDATE);
    s = pf_rewrite(r, d, st, data);
    run_check(r, RUN_INV_STEPS, NT_SUCCESS(s), "%s: the PF rewrites block %u of VF %u (0x%08x)", d->sd->name, st->block,
              st->vf, (unsigned)s);
    if (f != NULL) {
        size_t hi = (size_t)(h - r->vms);

        for (int i = 0; i < STEP_ROUNDS && run_guest_invalidations(h) == before[hi]; i++) {
            gvpci_bus_poll(h->bus, STEP_POLL_NS);
        }
        run_await_logged(r, VSP_EV_INVALIDATE, logged);
        run_guests_poll(r);
        f = swvf_of(run_guest_find(h, d->pf_id, st->vf));
        run_check(r, RUN_INV_EXACTLY_ONCE,
                  run_guest_invalidations(h) - before[hi] == 1 && f != NULL &&
                      (f->last_mask & (1ull << st->block)) != 0,
                  "%s: VF %u: %s got PCI_INVALIDATE_BLOCK with bit %u once (%llu deliveries)", d->sd->name, st->vf,
                  h->sv->name, st->block, (unsigned long long)(run_guest_invalidations(h) - before[hi]));
        h->invalidations += run_guest_invalidations(h) - before[hi];
        if (f != NULL && st->block != PF_BLOCK_ID_VF_INFO) {
            int rc = gvpci_read_block(f->dev, back, st->length, st->block, &got);

            run_check(r, RUN_INV_GUEST_OPS, rc == 0 && got == st->length && memcmp(back, data, st->length) == 0,
                      "%s: VF %u: %s reads the PF's new block %u", d->sd->name, st->vf, h->sv->name, st->block);
        }
    }
    for (size_t i = 0; i < r->n_vms; i++) {
        wrong += &r->vms[i] != h && run_guest_invalidations(&r->vms[i]) != before[i];
    }
    run_check(r, RUN_INV_EXACTLY_ONCE, wrong == 0, "%s: VF %u: no other VM was told (%u were)", d->sd->name, st->vf,
              wrong);
}

/* The stack no longer lists the PF and no VM holds any of the VFs that were held. */
static bool
pf_released(struct run *r, struct run_dev *d, const struct vsp_vf_info *held, size_t n)
{
    if (vsp_stack_pf_find(r->stack, d->instance) >= 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        struct run_vm *v = run_vm_by_id(r, held[i].vm);

        if (v != NULL && run_guest_find(v, d->pf_id, held[i].vf_index) != NULL) {
            return false;
        }
    }
    return true;
}

static void
step_surprise(struct run *r, const struct scenario_step *st)
{
    struct run_dev *d = &r->devs[st->device];
    struct vsp_vf_info held[SCENARIO_MAX_VMS];
    size_t n_held = 0;
    uint64_t seq = last_seq(r);
    NTSTATUS s;

    for (uint16_t vf = 0; vf < d->num_vfs && n_held < SCENARIO_MAX_VMS; vf++) {
        if (vsp_vmm_vf_info(r->vmm, d->pf_id, vf, &held[n_held]) == 0 && held[n_held].vm != VSP_EV_NONE) {
            n_held++;
        }
    }
    s = wdf_pnp_surprise_remove(d->node);
    run_check(r, RUN_INV_STEPS, NT_SUCCESS(s), "surprise removal of '%s' (0x%08x)", d->sd->name, (unsigned)s);
    /* The stack's discovery lets go of the PF on remove_complete (its own thread); REMOVE follows. */
    for (int i = 0; i < STEP_ROUNDS && !pf_released(r, d, held, n_held); i++) {
        struct timespec ts = {0, STEP_POLL_NS};

        run_guests_poll(r);
        nanosleep(&ts, NULL);
    }
    run_check(r, RUN_INV_PREDICTED, pf_released(r, d, held, n_held),
              "surprise removal of '%s': the stack released the PF and took its VFs from the VMs", d->sd->name);
    wdf_pnp_remove(d->node);
    d->removed = true;
    for (size_t i = 0; i < n_held; i++) {
        struct run_vm *v = run_vm_by_id(r, held[i].vm);

        if (v != NULL) {
            run_guest_settle(v);
            run_check(r, RUN_INV_PREDICTED,
                      event_since(r, VSP_EV_SURPRISE_REMOVAL, d->pf_id, held[i].vf_index, held[i].vm, seq) &&
                          run_guest_find(v, d->pf_id, held[i].vf_index) == NULL,
                      "surprise removal of '%s': %s lost VF %u and the stack logged it", d->sd->name, v->sv->name,
                      held[i].vf_index);
            v->vfs_lost++;
        }
    }
}

void
run_step(struct run *r, const struct scenario_step *st)
{
    switch (st->action) {
    case SCENARIO_ACT_WORKLOAD:
        for (size_t i = 0; i < st->n_vms; i++) {
            run_guest_workload(r, &r->vms[st->vms[i]]);
        }
        break;
    case SCENARIO_ACT_REBALANCE: run_rebalance(r, st); break;
    case SCENARIO_ACT_SURPRISE_REMOVE: step_surprise(r, st); break;
    case SCENARIO_ACT_EJECT: step_eject(r, st); break;
    case SCENARIO_ACT_ASSIGN: step_assign(r, st); break;
    case SCENARIO_ACT_GUEST: step_guest(r, st); break;
    case SCENARIO_ACT_PF_BLOCK_CHANGE: step_block_change(r, st); break;
    case SCENARIO_ACT_PF_SET_MAC: run_guest_pf_set_mac(r, &r->devs[st->device], st->vf, st->mac, st->has_mac); break;
    case SCENARIO_ACT_WAIT: run_advance(r, (uint64_t)st->wait_ms * VSP_NS_PER_MS); break;
    default: run_check(r, RUN_INV_STEPS, false, "unknown action %d", (int)st->action); break;
    }
}

/* Teardown, first part: every VF still in a VM is ejected, VM by VM, devices and VFs in index order. */
void
run_eject_all(struct run *r)
{
    for (size_t i = 0; i < r->n_vms; i++) {
        struct run_vm *v = &r->vms[i];

        for (size_t k = 0; k < r->n_devs && v->vm != NULL; k++) {
            struct run_dev *d = &r->devs[k];

            for (uint16_t vf = 0; vf < d->num_vfs && !d->removed; vf++) {
                struct vsp_vf_info info;

                if (vsp_vmm_vf_info(r->vmm, d->pf_id, vf, &info) == 0 && info.state == VSP_VF_ASSIGNED &&
                    info.vm == vsp_vm_id(v->vm)) {
                    run_eject(r, v, d, vf, (v->misbehave & SCENARIO_GUEST_IGNORE_EJECT) != 0, "teardown");
                }
            }
        }
    }
}
