/*
 * tools/run_rebalance.c - a rebalance step: the PnP manager stops the PF, gives
 * it new resources and starts it again, while the stack's broker asks every VM
 * holding one of its VFs (contract.md 7.2; DESIGN.md path 4).
 *
 * The runner plays the PnP manager (vsp_stack_rebalance_begin runs query-stop,
 * stop, the move and start on a stack thread) and the guests (polled from here,
 * so they answer PCI_QUERY_STOP - or, told to misbehave, stay silent).  Once
 * every holder has been asked and some stayed silent, the runner lets the
 * stack's query-stop timeout run out: on the virtual clock after the PF's PnP
 * thread and the stack's service thread are both asleep on it, so the deadline
 * is applied by the stack itself, never by the runner.  The outcome is then
 * judged from the events of this step against the scenario model's prediction
 * (expect_timeout, expect_veto) and the policy.
 */
#include <stdio.h>
#include <string.h>

#include "pf/pf.h"
#include "run_internal.h"

#define REB_POLL_MS 10u

struct move_ctx {
    struct run *r;
    struct run_dev *d;
    bool move;
    bool moved;
};

/* Runs on the stack's thread between stop and start. */
static int
move_resources(void *ctx)
{
    struct move_ctx *m = ctx;

    if (world_pf_move_resources(m->r->world, (unsigned)(m->d - m->r->devs), m->move) != 0) {
        return -1;
    }
    m->moved = m->move;
    return 0;
}

/* Events of this step so far (the queue the timeline drains after each step). */
static unsigned
step_events(struct run *r, enum vsp_event_type type, int pf, int vf, int vm)
{
    unsigned n = 0;

    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_pending; i++) {
        const struct vsp_event *e = &r->pending[i];

        n += e->type == type && (pf == VSP_EV_NONE || e->pf == pf) && (vf == VSP_EV_NONE || e->vf == vf) &&
             (vm == VSP_EV_NONE || e->vm == vm);
    }
    pthread_mutex_unlock(&r->lock);
    return n;
}

struct holder {
    struct run_vm *v;
    uint16_t vf;
    uint64_t asked0;
};

static size_t
holders(struct run *r, struct run_dev *d, struct holder *out, size_t max)
{
    size_t n = 0;

    for (uint16_t vf = 0; vf < d->num_vfs && n < max; vf++) {
        struct vsp_vf_info info;

        if (vsp_vmm_vf_info(r->vmm, d->pf_id, vf, &info) == 0 && info.state == VSP_VF_ASSIGNED) {
            struct gvpci_stats s;

            out[n].v = run_vm_by_id(r, info.vm);
            out[n].vf = vf;
            gvpci_bus_stats(out[n].v->bus, &s);
            out[n].asked0 = s.query_stops;
            n++;
        }
    }
    return n;
}

/*
 * Every holder's bus has seen PCI_QUERY_STOP for each of its VFs, and the stack has
 * logged an answer for every VF whose VM does answer; *silent is true when a VM
 * stays silent.  Only then may a virtual-clock run jump past the answer deadline:
 * a guest that answers must not lose a race against the clock on a loaded machine.
 */
static bool
all_asked(struct run *r, struct holder *h, size_t n, uint64_t answers0, bool *silent)
{
    uint64_t talkers = 0;

    *silent = false;
    for (size_t i = 0; i < n; i++) {
        struct gvpci_stats s;
        unsigned need = 0;

        for (size_t k = 0; k < n; k++) {
            need += h[k].v == h[i].v;
        }
        gvpci_bus_stats(h[i].v->bus, &s);
        if (s.query_stops - h[i].asked0 < need) {
            return false;
        }
        if ((h[i].v->misbehave & SCENARIO_GUEST_IGNORE_QUERY_STOP) != 0) {
            *silent = true;
        } else {
            talkers++;
        }
    }
    return vsp_event_log_total(vsp_stack_log(r->stack), VSP_EV_VM_ANSWER) - answers0 >= talkers;
}

static bool
drive(struct run *r, struct holder *h, size_t n, uint64_t answers0, NTSTATUS *status)
{
    uint64_t limit_ms = 10000 + (r->sc->options.clock == SCENARIO_CLOCK_REAL ? r->sc->timing.query_stop_timeout_ms : 0);
    bool advanced = false, silent;

    for (uint64_t waited = 0; waited < limit_ms; waited += REB_POLL_MS) {
        if (vsp_stack_rebalance_end(r->stack, REB_POLL_MS, status) == 0) {
            return true;
        }
        run_guests_poll(r);
        run_progress(r, "rebalance");
        if (!advanced && r->sc->options.clock == SCENARIO_CLOCK_VIRTUAL && all_asked(r, h, n, answers0, &silent) &&
            silent) {
            /* The PF's PnP thread and the stack's service thread sleep on the host clock now. */
            wdf_host_wait_sleepers(r->host, 2, 2000);
            run_advance(r, (uint64_t)r->sc->timing.query_stop_timeout_ms * VSP_NS_PER_MS);
            advanced = true;
        }
    }
    return false;
}

static uint64_t
vf_bar_base(struct run_dev *d)
{
    struct pcivirt_bus_resources res;

    pv_sriov_query_resources(d->dev, &res);
    for (unsigned b = 0; b < 6; b++) {
        if (res.vf_bar[b].Type != 0) {
            return (uint64_t)res.vf_bar[b].u.Memory.Start.QuadPart;
        }
    }
    return 0;
}

static void
judge_holders(struct run *r, struct run_dev *d, struct holder *h, size_t n, bool vetoed)
{
    for (size_t i = 0; i < n; i++) {
        int vm = vsp_vm_id(h[i].v->vm);
        bool silent = (h[i].v->misbehave & SCENARIO_GUEST_IGNORE_QUERY_STOP) != 0;
        bool lost = step_events(r, VSP_EV_SURPRISE_REMOVAL, d->pf_id, h[i].vf, vm) != 0;

        if (!silent) {
            run_check(r, RUN_INV_PREDICTED, step_events(r, VSP_EV_VM_ANSWER, d->pf_id, VSP_EV_NONE, vm) != 0 && !lost,
                      "rebalance of '%s': %s answered for VF %u and kept it", d->sd->name, h[i].v->sv->name, h[i].vf);
            continue;
        }
        run_check(r, RUN_INV_PREDICTED,
                  lost == (!vetoed && r->sc->timing.on_timeout == SCENARIO_POLICY_SURPRISE_REMOVE),
                  "rebalance of '%s': silent %s %s VF %u (policy %s)", d->sd->name, h[i].v->sv->name,
                  lost ? "lost" : "kept", h[i].vf, scenario_policy_name(r->sc->timing.on_timeout));
        if (lost) {
            run_guest_settle(h[i].v);
            run_check(r, RUN_INV_GUEST_OPS, run_guest_find(h[i].v, d->pf_id, h[i].vf) == NULL,
                      "%s no longer sees VF %u of '%s'", h[i].v->sv->name, h[i].vf, d->sd->name);
            h[i].v->vfs_lost++;
        }
    }
}

static void
judge_once(struct run *r, struct run_dev *d)
{
    struct vsp_stack_pf_info info[VSP_STACK_MAX_PFS];
    size_t n = vsp_stack_pfs(r->stack, info, VSP_STACK_MAX_PFS);
    struct pf_admin_status ps;

    if (!NT_SUCCESS(pf_admin_status(d->pfdev, &ps))) {
        return;
    }
    for (size_t i = 0; i < n && i < VSP_STACK_MAX_PFS; i++) {
        if (info[i].id == d->pf_id) {
            run_check(r, RUN_INV_EXACTLY_ONCE,
                      ps.events_raised == ps.events_delivered && info[i].events == ps.events_delivered,
                      "'%s': the PF raised %u events, delivered %u; the stack received %u", d->sd->name,
                      ps.events_raised, ps.events_delivered, info[i].events);
        }
    }
}

void
run_rebalance(struct run *r, const struct scenario_step *st)
{
    struct run_dev *d = &r->devs[st->device];
    struct move_ctx mc = {.r = r, .d = d, .move = st->move_bars};
    struct holder h[VSP_VPCI_SLOTS * 8];
    size_t n = holders(r, d, h, sizeof(h) / sizeof(h[0]));
    uint64_t base = vf_bar_base(d);
    NTSTATUS status = STATUS_PENDING;
    bool timed_out, vetoed, restarted;
    uint64_t answers0 = vsp_event_log_total(vsp_stack_log(r->stack), VSP_EV_VM_ANSWER);
    int rc = vsp_stack_rebalance_begin(r->stack, d->node, move_resources, &mc);

    if (!run_check(r, RUN_INV_STEPS, rc == 0, "rebalance of '%s': the stack refused to start it (%s)", d->sd->name,
                   pcivirt_strerror(rc)) ||
        !run_check(r, RUN_INV_STEPS, drive(r, h, n, answers0, &status), "rebalance of '%s' did not finish",
                   d->sd->name)) {
        return;
    }
    run_guests_poll(r);
    timed_out = step_events(r, VSP_EV_TIMEOUT, d->pf_id, VSP_EV_NONE, VSP_EV_NONE) != 0;
    vetoed = step_events(r, VSP_EV_VETO, d->pf_id, VSP_EV_NONE, VSP_EV_NONE) != 0;
    restarted = step_events(r, VSP_EV_RESTART, d->pf_id, VSP_EV_NONE, VSP_EV_NONE) != 0;
    run_check(r, RUN_INV_PREDICTED, step_events(r, VSP_EV_QUERY_STOP, d->pf_id, VSP_EV_NONE, VSP_EV_NONE) == 1,
              "rebalance of '%s': the stack saw the query-stop once", d->sd->name);
    run_check(r, RUN_INV_PREDICTED, timed_out == st->expect_timeout && vetoed == st->expect_veto,
              "rebalance of '%s': predicted %s%s, the stack logged %s%s", d->sd->name,
              st->expect_timeout ? "a timeout" : "every answer", st->expect_veto ? " and a veto" : "",
              timed_out ? "a timeout" : "no timeout", vetoed ? " and a veto" : "");
    /* Vetoed or not, the PF publishes Restart (after cancel-stop or start; contract.md 7.2). */
    run_check(r, RUN_INV_PREDICTED, NT_SUCCESS(status) == !vetoed && restarted,
              "rebalance of '%s': PnP outcome 0x%08x, %s", d->sd->name, (unsigned)status,
              restarted ? "restart published" : "no restart published");
    judge_holders(r, d, h, n, vetoed);
    if (!vetoed && st->move_bars) {
        run_check(r, RUN_INV_GUEST_OPS, mc.moved && vf_bar_base(d) != base,
                  "rebalance of '%s': the VF BARs moved (0x%llx -> 0x%llx)", d->sd->name, (unsigned long long)base,
                  (unsigned long long)vf_bar_base(d));
    }
    judge_once(r, d);
    for (size_t i = 0; i < r->n_vms; i++) {
        run_guest_settle(&r->vms[i]);
    }
}
