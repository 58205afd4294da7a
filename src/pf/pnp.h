/*
 * pf/pnp.h - the PF's PnP/notification state machine (contract.md 4.3-4.6, 7.2, 7.6).
 *
 * Pure state and transitions, no waiting and no requests: each operation runs
 * under the driver's PnP lock and returns what the caller must do after it
 * (deliver an event to a held NOTIFICATION, signal the PnP waiter, close or open
 * the ATTACH gate, cancel queued NOTIFICATIONs).  The caller performs those
 * actions with the runtime's events and queues, and waits only after dropping
 * the lock.  Keeping the rules here makes every invariant of contract.md 7.2
 * testable in isolation:
 *   - at most one event outstanding, delivered exactly once;
 *   - NOTIFICATION may arrive before or after the event; one arriving after
 *     delivery but before EVENT_COMPLETE stays queued;
 *   - EVENT_COMPLETE without an outstanding event is harmless;
 *   - DETACH always releases the PnP waiter (and the query-stop then succeeds);
 *   - a second ATTACH fails with STATUS_SHARING_VIOLATION;
 *   - ATTACH never completes while the gate is closed (from QUERY_STOP until
 *     CANCEL_STOP or the restart's START, and its Restart event answered).
 */
#ifndef PCIVIRT_PF_PNP_H
#define PCIVIRT_PF_PNP_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/pcivirt.h"

/* Actions returned by the transitions (a bit set). */
enum pf_pnp_action {
    PF_PNP_DELIVER = 1u << 0,       /* an undelivered event exists: try a queued NOTIFICATION */
    PF_PNP_WAIT = 1u << 1,          /* the PnP thread must wait for the "unblock" event */
    PF_PNP_UNBLOCK = 1u << 2,       /* signal the PnP waiter */
    PF_PNP_GATE_CLOSE = 1u << 3,    /* reset the "safe to attach" event */
    PF_PNP_GATE_OPEN = 1u << 4,     /* set the "safe to attach" event */
    PF_PNP_CANCEL_NOTIFY = 1u << 5, /* complete queued NOTIFICATIONs with STATUS_CANCELLED */
};

struct pf_pnp {
    bool attached;
    bool rebalancing; /* from QUERY_STOP until CANCEL_STOP or the restart's START */
    bool safe_to_attach;
    bool event_new;     /* raised, not yet delivered */
    bool event_pending; /* raised, EVENT_COMPLETE not yet received */
    bool removing;      /* QUERY_REMOVE seen (until CANCEL_REMOVE) */
    bool removed;       /* SURPRISE_REMOVAL or REMOVE seen */
    SRIOV_PF_EVENT event_code;
    NTSTATUS event_status;
    uint32_t events_raised; /* counters for tests and the conformance suite */
    uint32_t events_delivered;
};

/* pf_pnp_init() - not attached, gate open, no event. */
void pf_pnp_init(struct pf_pnp *s);

/**
 * pf_pnp_attach() - IOCTL_SRIOV_ATTACH (contract.md 4.5).
 * Return: STATUS_SUCCESS (now attached); STATUS_PENDING (gate closed: wait for
 * the gate, then call again); STATUS_SHARING_VIOLATION (one attachment at a
 * time); STATUS_DELETE_PENDING (the device is being removed).
 */
NTSTATUS pf_pnp_attach(struct pf_pnp *s);

/* pf_pnp_detach() - IOCTL_SRIOV_DETACH (contract.md 4.6).  Return: actions. */
unsigned pf_pnp_detach(struct pf_pnp *s);

/* pf_pnp_query_stop() - IRP_MN_QUERY_STOP_DEVICE arrived.  Return: actions. */
unsigned pf_pnp_query_stop(struct pf_pnp *s);

/**
 * pf_pnp_wait_result() - after the PnP thread's wait ended (or timed out, which
 * counts as DETACH would: success).  Return: the status to finish the IRP with
 * (QueryStatus of EVENT_COMPLETE for QUERY_STOP; always success for Restart).
 */
NTSTATUS pf_pnp_wait_result(struct pf_pnp *s, bool timed_out);

/**
 * pf_pnp_restart() - IRP_MN_CANCEL_STOP_DEVICE, or START_DEVICE completed by the
 * lower drivers.  Publishes Restart only after a rebalance with a VSP attached
 * (not on the first start).  Return: actions; when PF_PNP_WAIT is set, call
 * pf_pnp_restart_done() after the wait, which opens the gate.
 */
unsigned pf_pnp_restart(struct pf_pnp *s);

/* pf_pnp_restart_done() - the Restart event was answered (or timed out).  Return: actions. */
unsigned pf_pnp_restart_done(struct pf_pnp *s);

/**
 * pf_pnp_take_event() - deliver the undelivered event to one NOTIFICATION.
 * Call only with a NOTIFICATION in hand whose buffer is already checked.
 * Return: true and *@code when there was one (it is now delivered).
 */
bool pf_pnp_take_event(struct pf_pnp *s, SRIOV_PF_EVENT *code);

/* pf_pnp_has_event() - an event waits for a NOTIFICATION. */
bool pf_pnp_has_event(const struct pf_pnp *s);

/**
 * pf_pnp_event_complete() - IOCTL_SRIOV_EVENT_COMPLETE with @status.
 * Ignored (no actions) when no delivered event is outstanding (contract.md 4.4).
 */
unsigned pf_pnp_event_complete(struct pf_pnp *s, NTSTATUS status);

/* pf_pnp_query_remove() / pf_pnp_cancel_remove() / pf_pnp_remove() (contract.md 7.6). */
unsigned pf_pnp_query_remove(struct pf_pnp *s);
unsigned pf_pnp_cancel_remove(struct pf_pnp *s);
unsigned pf_pnp_remove(struct pf_pnp *s);

/* pf_pnp_accepting() - whether new IOCTLs are accepted (not removing or removed). */
bool pf_pnp_accepting(const struct pf_pnp *s);

#endif /* PCIVIRT_PF_PNP_H */
