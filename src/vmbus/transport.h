/*
 * vmbus/transport.h - how packets get from one end of a channel to the other.
 *
 * The channel (vmbus/channel.h) speaks VMBus framing and matches transactions; a
 * transport only moves whole packets, as opaque byte strings, in both directions.
 * It is a versioned ops table (../shared/STYLE.md rule 11) so that the in-process
 * transport used today (two bounded rings in shared memory, like VMBus itself) and
 * the socket transport (an AF_UNIX SOCK_SEQPACKET pair, one packet per message, so
 * a guest can live in another process) are interchangeable.
 *
 * Rules every transport keeps: send is atomic (the whole packet or nothing), never
 * waits longer than its timeout, and reports a full direction as STATUS_DEVICE_BUSY;
 * recv returns exactly one packet as sent, STATUS_IO_TIMEOUT when none arrived in
 * time, STATUS_BUFFER_TOO_SMALL (without consuming it) when it does not fit,
 * STATUS_BAD_DATA (consuming it) for one longer than VMBUS_PKT_MAX; close
 * wakes every waiter of both ends, after which both ends answer STATUS_DEVICE_REMOVED.
 * send may be called from several threads at once; recv from one at a time.
 */
#ifndef PCIVIRT_VMBUS_TRANSPORT_H
#define PCIVIRT_VMBUS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "pcivirt/nt.h"

struct vmbus_transport;

struct vmbus_transport_ops {
    uint32_t size;    /* sizeof(struct vmbus_transport_ops) at build time */
    uint32_t version; /* VMBUS_TRANSPORT_OPS_VERSION */
    NTSTATUS (*send)(struct vmbus_transport *t, const uint8_t *pkt, size_t len, int64_t timeout_ns);
    NTSTATUS (*recv)(struct vmbus_transport *t, uint8_t *buf, size_t cap, size_t *len, int64_t timeout_ns);
    void (*close)(struct vmbus_transport *t);
    void (*destroy)(struct vmbus_transport *t); /* closes first; NULL-safe wrappers below */
};

#define VMBUS_TRANSPORT_OPS_VERSION 1u

/* One end of a transport; implementations embed it first in their own struct. */
struct vmbus_transport {
    const struct vmbus_transport_ops *ops;
};

static inline NTSTATUS
vmbus_transport_send(struct vmbus_transport *t, const uint8_t *pkt, size_t len, int64_t timeout_ns)
{
    return t->ops->send(t, pkt, len, timeout_ns);
}

static inline NTSTATUS
vmbus_transport_recv(struct vmbus_transport *t, uint8_t *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    return t->ops->recv(t, buf, cap, len, timeout_ns);
}

static inline void
vmbus_transport_close(struct vmbus_transport *t)
{
    t->ops->close(t);
}

static inline void
vmbus_transport_destroy(struct vmbus_transport *t)
{
    if (t != NULL) {
        t->ops->destroy(t);
    }
}

/**
 * vmbus_inproc_pair_create() - two connected in-process ends, each direction a
 * bounded ring of @ring_size bytes (VMBUS_RING_SIZE for the real 16 KiB).
 * Each end is destroyed separately; destroying one closes the pair.
 *
 * Return: STATUS_SUCCESS, STATUS_INVALID_PARAMETER (ring size not a multiple of 8 or
 * below 64) or STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS vmbus_inproc_pair_create(size_t ring_size, struct vmbus_transport **a, struct vmbus_transport **b);

/**
 * vmbus_socket_transport_create() - an end over a connected AF_UNIX SOCK_SEQPACKET
 * socket @fd, which the transport then owns (closed by destroy).
 *
 * Return: STATUS_SUCCESS, STATUS_INVALID_PARAMETER (not a SEQPACKET socket) or
 * STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS vmbus_socket_transport_create(int fd, struct vmbus_transport **out);

/**
 * vmbus_socket_pair_create() - two connected socket ends (socketpair(2)), for tests
 * and for handing one end to another process.
 *
 * Return: STATUS_SUCCESS or STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS vmbus_socket_pair_create(struct vmbus_transport **a, struct vmbus_transport **b);

#endif /* PCIVIRT_VMBUS_TRANSPORT_H */
