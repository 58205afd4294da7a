/*
 * vsp/broker.h - the PnP broker of one PF: the stack's side of the nine IOCTLs.
 *
 * A broker talks to its PF only through the client target discovery opened on
 * the PF's GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE instance (contract.md 3.1, 4):
 *
 *  - ATTACH, synchronous, from the broker's own thread, because the PF may hold
 *    it across a rebalance (4.5); then always exactly one NOTIFICATION
 *    outstanding, re-sent from its completion before the event is handled (4.3);
 *  - on SriovEventPfQueryStopDevice every VM holding a VF of the PF is asked
 *    (PCI_QUERY_STOP, vsp/vpci_host.h) and the answers are awaited until a
 *    deadline on the stack clock; then EVENT_COMPLETE with success, the first
 *    guest veto, or - for VMs that did not answer - the policy: a veto with
 *    STATUS_IO_TIMEOUT, or surprise removal of their VFs and success (7.2);
 *  - on SriovEventPfRestart the guests' BAR mappings are re-queried
 *    (GetResourceForBar, vsp_vpci_remap), the guests told (PCI_REENABLE or
 *    PCI_QUERY_STOP_FAILED, relations again) and EVENT_COMPLETE(success) sent;
 *  - one INVALIDATE_BLOCK held for the PF, completions forwarded to the guests
 *    (vsp_vpci_invalidate, 4.7, 7.4), re-armed;
 *  - one MITIGATED_RANGE_UPDATE held per watched VF; a completion re-reads that
 *    VF's ranges (RANGE_COUNT, RANGES) into its intercept map, then re-arms (7.3);
 *  - DETACH on stop, then every held request cancelled and its completion
 *    awaited.
 *
 * Every decision is recorded in the event log with its reason.  Threads: IOCTL
 * completions run on the runtime's workers, guest answers on the vPCI host's
 * query threads, deadlines wherever vsp_broker_tick() is called; one mutex guards
 * the broker and is never held while a request is sent synchronously or while
 * another module is called, except that asynchronous sends (which only queue
 * the request) are issued under it so that a completion always finds its
 * request recorded.
 */
#ifndef PCIVIRT_VSP_BROKER_H
#define PCIVIRT_VSP_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/wdf.h"
#include "vsp/clock.h"
#include "vsp/events.h"
#include "vsp/pfif.h"
#include "vsp/vmm.h"
#include "vsp/vpci_host.h"

/* What happens to a VM that does not answer a query-stop in time (contract.md 7.2 step 2). */
enum vsp_stop_policy {
    VSP_STOP_VETO = 0,            /* EVENT_COMPLETE with STATUS_IO_TIMEOUT: the stop is vetoed */
    VSP_STOP_SURPRISE_REMOVE = 1, /* the VF is surprise-removed from that VM; the stop proceeds */
};

/* Bound on one synchronous IOCTL to the PF (host clock). */
#define VSP_BROKER_IOCTL_TIMEOUT_NS (10ull * VSP_NS_PER_S)
/* Bound on ATTACH (host clock): longer than any rebalance the PF may hold it across. */
#define VSP_BROKER_ATTACH_TIMEOUT_NS (600ull * VSP_NS_PER_S)
/* Ranges accepted per BAR from QUERY_MITIGATED_RANGES (memory bound). */
#define VSP_BROKER_MAX_RANGES 4096u

struct vsp_broker;

struct vsp_broker_config {
    int pf;                    /* the stack's PF id */
    struct wdf_target *target; /* the PF's client target; not owned, must outlive the broker */
    struct wdf_host *host;     /* the runtime the broker's thread binds to */
    struct vsp_pf *binding;    /* a reference is taken */
    struct vsp_vmm *vmm;
    struct vsp_vpci *vpci;
    struct vsp_event_log *log; /* may be NULL */
    const struct vsp_clock *clock;
    uint64_t answer_timeout_ns; /* query-stop answer deadline */
    enum vsp_stop_policy policy;
    /* Where PCI_QUERY_STOP answers go (the owner routes them to vsp_broker_answer()). */
    vsp_vpci_answer_fn *answer_fn;
    void *answer_ctx;
    /* A deadline was set: the owner should call vsp_broker_tick() by then (may be NULL). */
    void (*wake)(void *ctx);
    void *wake_ctx;
};

/* Counters and state, for the facade and tests. */
struct vsp_broker_status {
    bool attached;
    bool stopping;   /* between QueryStop and Restart */
    bool round_open; /* a query-stop waits for guests */
    uint32_t events; /* NOTIFICATIONs completed with an event */
    uint32_t invalidations;
    uint32_t range_updates;
};

/**
 * vsp_broker_create() - start the broker: its thread sends ATTACH and arms the
 * NOTIFICATION and INVALIDATE_BLOCK requests.
 * Return: 0; PCIVIRT_EINVAL; PCIVIRT_ENOMEM.
 */
int vsp_broker_create(const struct vsp_broker_config *cfg, struct vsp_broker **out);

/**
 * vsp_broker_stop() - DETACH (unless @gone: the PF was removed and its queue is
 * closed), cancel every held request and wait for their completions (bounded);
 * an open query-stop round is abandoned (the PF's wait ends with the DETACH).
 * Idempotent.  Must not be called from a completion of this broker.
 */
void vsp_broker_stop(struct vsp_broker *b, bool gone, const char *reason);

/**
 * vsp_broker_wait_attach() - wait (real time, at most @real_ms) until the
 * broker's ATTACH has returned, successfully or not (vsp_broker_status() says
 * which).  The PF may hold ATTACH across a rebalance (contract.md 4.5), so a
 * caller that must not wait that long passes a short bound.
 * Return: true when it has returned.
 */
bool vsp_broker_wait_attach(struct vsp_broker *b, unsigned real_ms);

/* vsp_broker_get() / vsp_broker_put() - references; the last put stops and frees (NULL accepted). */
struct vsp_broker *vsp_broker_get(struct vsp_broker *b);
void vsp_broker_put(struct vsp_broker *b);

/**
 * vsp_broker_watch_vf() - read VF @vf's mitigated ranges into its intercept map
 * now and keep a MITIGATED_RANGE_UPDATE held for it (once per VF; later calls
 * only re-read).  Without a mitigable table the map stays empty.
 * Return: 0; PCIVIRT_ERANGE (@vf); PCIVIRT_EIO (the PF's answer was refused,
 * logged); PCIVIRT_ESTATE (stopped); PCIVIRT_ENOMEM.
 */
int vsp_broker_watch_vf(struct vsp_broker *b, uint16_t vf);

/**
 * vsp_broker_answer() - a guest's answer (its completion status) to the round
 * @cookie, routed by the owner from the vsp_vpci answer callback; slots that did
 * not answer are not reported (the deadline decides for them).
 */
void vsp_broker_answer(struct vsp_broker *b, uint64_t cookie, int vm, uint32_t slot, uint16_t vf, NTSTATUS status);

/**
 * vsp_broker_tick() - apply the query-stop deadline if it passed.
 * Return: the pending deadline (stack clock), or UINT64_MAX.
 */
uint64_t vsp_broker_tick(struct vsp_broker *b);

/* vsp_broker_status() - a snapshot. */
void vsp_broker_status(struct vsp_broker *b, struct vsp_broker_status *out);

/* vsp_broker_pf() - the PF id. */
int vsp_broker_pf(const struct vsp_broker *b);

/* vsp_broker_stop_policy_name() - "veto" / "surprise-remove". */
const char *vsp_stop_policy_name(enum vsp_stop_policy policy);

#endif /* PCIVIRT_VSP_BROKER_H */
