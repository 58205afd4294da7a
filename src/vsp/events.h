/*
 * vsp/events.h - the stack's event log: every lifecycle decision, with its reason.
 *
 * The issue asks that attach, assign, eject, surprise removal, veto, timeout,
 * reset, IOMMU fault and handoff check be recorded so that the command can print
 * a timeline or write JSON lines, and so that tests can assert on what the stack
 * decided rather than on side effects.  Records are fixed-size (the reason is a
 * bounded string) and kept in a ring of caller-chosen capacity: when the ring is
 * full the oldest record is overwritten and a drop counter grows, so a guest
 * that provokes faults in a loop cannot grow the stack's memory (STYLE.md rule
 * 6).  Per-type totals count every event ever added, dropped or not, so a
 * summary stays exact after the ring wrapped.
 *
 * Time stamps come from the stack's clock (vsp/clock.h).  The log is
 * thread-safe; an optional listener sees every record as it is added (for a
 * live timeline), called without the log's lock held.
 */
#ifndef PCIVIRT_VSP_EVENTS_H
#define PCIVIRT_VSP_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "pcivirt/nt.h"
#include "vsp/clock.h"

enum vsp_event_type {
    VSP_EV_PF_ARRIVAL, /* a PF's device interface appeared and was opened */
    VSP_EV_PF_REMOVAL, /* a PF's interface went away */
    VSP_EV_ATTACH,     /* IOCTL_SRIOV_ATTACH completed */
    VSP_EV_DETACH,     /* IOCTL_SRIOV_DETACH sent */
    VSP_EV_VM_CREATE,
    VSP_EV_VM_DESTROY,
    VSP_EV_ASSIGN,           /* a VF was exposed on a VM's vPCI bus */
    VSP_EV_EJECT,            /* PCI_EJECT sent; the acknowledgment window starts */
    VSP_EV_EJECT_ACK,        /* the guest sent PCI_EJECTION_COMPLETE in time */
    VSP_EV_TIMEOUT,          /* a bounded wait ran out (eject window, query-stop answer) */
    VSP_EV_FORCED_REMOVAL,   /* removed after the eject window without the guest's ack */
    VSP_EV_SURPRISE_REMOVAL, /* removed without an eject handshake */
    VSP_EV_QUERY_STOP,       /* the PF published SriovEventPfQueryStopDevice */
    VSP_EV_VM_ANSWER,        /* a VM answered a query-stop */
    VSP_EV_VETO,             /* EVENT_COMPLETE with a failure status */
    VSP_EV_EVENT_COMPLETE,   /* EVENT_COMPLETE with success */
    VSP_EV_RESTART,          /* the PF published SriovEventPfRestart */
    VSP_EV_RESET,            /* ResetVf (FLR) of a VF leaving a VM */
    VSP_EV_HANDOFF_CLEAN,    /* the VF was checked clean and is free again */
    VSP_EV_HANDOFF_DIRTY,    /* the VF failed the clean check and stays quarantined */
    VSP_EV_IOMMU_FAULT,      /* DMA outside the requester's domain; nothing written */
    VSP_EV_IRQ_FAULT,        /* an MSI the interrupt remapping table refused */
    VSP_EV_INTERCEPT_UPDATE, /* a VF's trapped-MMIO map was rebuilt */
    VSP_EV_INVALIDATE,       /* a block invalidation was forwarded to a guest */
    VSP_EV_BAD_PACKET,       /* a malformed or out-of-order guest packet */
    VSP_EV_GUEST_ERROR,      /* another guest request refused at the trust boundary */
    VSP_EV_PF_ERROR,         /* a PF's IOCTL failed or its answer was refused */
    VSP_EV_TYPE_COUNT
};

/* "No PF / VF / VM" in a record. */
#define VSP_EV_NONE (-1)

#define VSP_EVENT_REASON_MAX 120

struct vsp_event {
    uint64_t seq;     /* 1-based, in order of addition, never reused */
    uint64_t time_ns; /* the stack clock when the event was added */
    enum vsp_event_type type;
    int32_t pf;      /* the stack's PF id, or VSP_EV_NONE */
    int32_t vf;      /* VfIndex, or VSP_EV_NONE */
    int32_t vm;      /* VM id, or VSP_EV_NONE */
    NTSTATUS status; /* the status the decision carried (STATUS_SUCCESS if none) */
    uint64_t detail; /* a type-specific number: address, mask, serial, slot */
    char reason[VSP_EVENT_REASON_MAX];
};

struct vsp_event_log;

typedef void vsp_event_listener_fn(void *ctx, const struct vsp_event *ev);

/**
 * vsp_event_log_create() - make an empty log.
 * @clock: time source for the stamps; must outlive the log.
 * @capacity: records kept (1..1,048,576); older ones are overwritten and counted.
 * @out: receives the log.
 *
 * Return: 0; PCIVIRT_EINVAL for a NULL argument or a capacity out of range;
 * PCIVIRT_ENOMEM.
 */
int vsp_event_log_create(const struct vsp_clock *clock, size_t capacity, struct vsp_event_log **out);

/* vsp_event_log_destroy() - free @log (NULL is accepted). */
void vsp_event_log_destroy(struct vsp_event_log *log);

/**
 * vsp_event_log_add() - record an event.
 * @log: may be NULL, then nothing is recorded and 0 is returned (a module used
 *       without a log stays silent).
 * @fmt: printf-style reason, truncated to VSP_EVENT_REASON_MAX - 1 bytes.
 *
 * Return: the record's sequence number (>= 1), or 0 when @log is NULL.
 */
uint64_t vsp_event_log_add(struct vsp_event_log *log, enum vsp_event_type type, int pf, int vf, int vm, NTSTATUS status,
                           uint64_t detail, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* vsp_event_log_set_listener() - call @fn for each later record (@fn NULL removes it). */
void vsp_event_log_set_listener(struct vsp_event_log *log, vsp_event_listener_fn *fn, void *ctx);

/* vsp_event_log_held() - records currently in the ring (at most the capacity). */
size_t vsp_event_log_held(struct vsp_event_log *log);

/* vsp_event_log_dropped() - records overwritten because the ring was full. */
uint64_t vsp_event_log_dropped(struct vsp_event_log *log);

/* vsp_event_log_total() - events of @type ever added (VSP_EV_TYPE_COUNT: all types). */
uint64_t vsp_event_log_total(struct vsp_event_log *log, enum vsp_event_type type);

/**
 * vsp_event_log_snapshot() - copy the held records, oldest first.
 * @out: room for @max records.
 *
 * Return: the number copied: the oldest held records first, at most @max.
 */
size_t vsp_event_log_snapshot(struct vsp_event_log *log, struct vsp_event *out, size_t max);

/**
 * vsp_event_log_find() - the newest held record matching the filter.
 * @type: the type wanted; @pf, @vf, @vm: VSP_EV_NONE matches any value.
 * @out: receives a copy.
 *
 * Return: true if one was found.
 */
bool vsp_event_log_find(struct vsp_event_log *log, enum vsp_event_type type, int pf, int vf, int vm,
                        struct vsp_event *out);

/* vsp_event_type_name() - the short lower-case name ("iommu-fault"), or "unknown". */
const char *vsp_event_type_name(enum vsp_event_type type);

/**
 * vsp_event_format() - one timeline line (no newline):
 * "   12.000500000  assign          pf0 vf3 vm1  STATUS_SUCCESS  reason".
 * Return: the length snprintf would have produced.
 */
int vsp_event_format(const struct vsp_event *ev, char *buf, size_t len);

/**
 * vsp_event_to_json() - the record as a JSON object: seq, time_ns, type, pf, vf,
 * vm (null when VSP_EV_NONE), status (name or hex), detail, reason.
 * Return: a new reference, or NULL when out of memory.
 */
json_t *vsp_event_to_json(const struct vsp_event *ev);

/**
 * vsp_event_log_write_jsonl() - write the held records to @fp, one JSON object
 * per line, oldest first, followed by nothing else.
 * Return: 0; PCIVIRT_ENOMEM; PCIVIRT_EIO if a write failed.
 */
int vsp_event_log_write_jsonl(struct vsp_event_log *log, FILE *fp);

#endif /* PCIVIRT_VSP_EVENTS_H */
