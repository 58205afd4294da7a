/*
 * pf/pnp.c - the PnP/notification state machine (see pf/pnp.h).
 *
 * Names mirror the docs' example driver (contract.md 7.0): attached,
 * rebalancing, safe_to_attach, event_new, event_pending, event_status.  One
 * deliberate difference from the example: an event is marked delivered only by
 * pf_pnp_take_event(), which the driver calls after it has validated the
 * NOTIFICATION's buffer, so a short buffer can never consume an event
 * (contract.md 4.3, defect 10.18).
 */
#include "pf/pnp.h"

#include <string.h>

void
pf_pnp_init(struct pf_pnp *s)
{
    memset(s, 0, sizeof(*s));
    s->safe_to_attach = true;
    s->event_status = STATUS_SUCCESS;
    s->event_code = SriovEventPfMaximum;
}

bool
pf_pnp_accepting(const struct pf_pnp *s)
{
    return !s->removing && !s->removed;
}

NTSTATUS
pf_pnp_attach(struct pf_pnp *s)
{
    if (!pf_pnp_accepting(s)) {
        return STATUS_DELETE_PENDING;
    }
    if (!s->safe_to_attach) {
        return STATUS_PENDING;
    }
    if (s->attached) {
        return STATUS_SHARING_VIOLATION;
    }
    s->attached = true;
    return STATUS_SUCCESS;
}

/* Publish an event for the attached VSP: undelivered and awaiting EVENT_COMPLETE. */
static unsigned
publish(struct pf_pnp *s, SRIOV_PF_EVENT code)
{
    s->event_code = code;
    s->event_new = true;
    s->event_pending = true;
    s->event_status = STATUS_SUCCESS;
    s->events_raised++;
    return PF_PNP_DELIVER | PF_PNP_WAIT;
}

unsigned
pf_pnp_detach(struct pf_pnp *s)
{
    unsigned act = PF_PNP_CANCEL_NOTIFY;

    s->attached = false;
    if (s->rebalancing && s->safe_to_attach) {
        /* A VSP attaching later must not join mid-rebalance (contract.md 4.6). */
        s->safe_to_attach = false;
        act |= PF_PNP_GATE_CLOSE;
    }
    if (s->event_pending) {
        act |= PF_PNP_UNBLOCK;
    }
    s->event_new = false;
    s->event_pending = false;
    s->event_status = STATUS_SUCCESS; /* a held QUERY_STOP then succeeds */
    return act;
}

unsigned
pf_pnp_query_stop(struct pf_pnp *s)
{
    unsigned act = 0;

    s->rebalancing = true;
    if (s->safe_to_attach) {
        s->safe_to_attach = false;
        act |= PF_PNP_GATE_CLOSE;
    }
    if (s->attached) {
        act |= publish(s, SriovEventPfQueryStopDevice);
    }
    return act;
}

NTSTATUS
pf_pnp_wait_result(struct pf_pnp *s, bool timed_out)
{
    if (timed_out || s->event_pending) {
        /* Safety timeout: proceed as DETACH would (contract.md 7.2 [I]). */
        s->event_new = false;
        s->event_pending = false;
        s->event_status = STATUS_SUCCESS;
    }
    return s->event_status;
}

unsigned
pf_pnp_restart(struct pf_pnp *s)
{
    if (!s->rebalancing) {
        return pf_pnp_restart_done(s);
    }
    s->rebalancing = false;
    if (s->attached) {
        return publish(s, SriovEventPfRestart);
    }
    return pf_pnp_restart_done(s);
}

unsigned
pf_pnp_restart_done(struct pf_pnp *s)
{
    if (s->rebalancing || s->safe_to_attach) {
        return 0;
    }
    s->safe_to_attach = true;
    return PF_PNP_GATE_OPEN;
}

bool
pf_pnp_has_event(const struct pf_pnp *s)
{
    return s->event_new && s->attached;
}

bool
pf_pnp_take_event(struct pf_pnp *s, SRIOV_PF_EVENT *code)
{
    if (!pf_pnp_has_event(s)) {
        return false;
    }
    s->event_new = false;
    s->events_delivered++;
    *code = s->event_code;
    return true;
}

unsigned
pf_pnp_event_complete(struct pf_pnp *s, NTSTATUS status)
{
    if (!s->event_pending || s->event_new) {
        return 0; /* nothing delivered is outstanding: harmless (contract.md 4.4) */
    }
    s->event_status = status;
    s->event_pending = false;
    return PF_PNP_UNBLOCK;
}

unsigned
pf_pnp_query_remove(struct pf_pnp *s)
{
    s->removing = true;
    return PF_PNP_CANCEL_NOTIFY;
}

unsigned
pf_pnp_cancel_remove(struct pf_pnp *s)
{
    s->removing = false;
    return 0;
}

unsigned
pf_pnp_remove(struct pf_pnp *s)
{
    unsigned act = PF_PNP_CANCEL_NOTIFY | PF_PNP_GATE_OPEN;

    if (s->event_pending) {
        act |= PF_PNP_UNBLOCK;
    }
    s->removed = true;
    s->attached = false;
    s->event_new = false;
    s->event_pending = false;
    s->event_status = STATUS_SUCCESS;
    s->safe_to_attach = true; /* wakes blocked ATTACH callers, which then fail */
    return act;
}
