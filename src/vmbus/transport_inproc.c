/*
 * vmbus/transport_inproc.c - the in-process transport: two rings, two ends.
 *
 * End A writes the a->b ring and reads the b->a ring; end B the reverse.  The rings
 * belong to a shared pair object with a reference per end, so either end can be
 * destroyed first.  Closing (or destroying) either end closes both rings: that is
 * the rescind, and it wakes every waiter on both sides.
 */
#include <stdatomic.h>

#include "util/alloc.h"
#include "vmbus/ring.h"
#include "vmbus/transport.h"

struct inproc_pair {
    struct vmbus_ring *ring[2];
    atomic_int refs;
};

struct inproc_end {
    struct vmbus_transport base; /* first: the transport pointer is the end pointer */
    struct inproc_pair *pair;
    struct vmbus_ring *tx;
    struct vmbus_ring *rx;
};

static struct inproc_end *
to_end(struct vmbus_transport *t)
{
    return (struct inproc_end *)t;
}

static NTSTATUS
inproc_send(struct vmbus_transport *t, const uint8_t *pkt, size_t len, int64_t timeout_ns)
{
    return vmbus_ring_write(to_end(t)->tx, pkt, len, timeout_ns);
}

static NTSTATUS
inproc_recv(struct vmbus_transport *t, uint8_t *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    return vmbus_ring_read(to_end(t)->rx, buf, cap, len, timeout_ns);
}

static void
inproc_close(struct vmbus_transport *t)
{
    struct inproc_end *end = to_end(t);

    vmbus_ring_close(end->tx);
    vmbus_ring_close(end->rx);
}

static void
pair_put(struct inproc_pair *pair)
{
    if (atomic_fetch_sub(&pair->refs, 1) == 1) {
        vmbus_ring_destroy(pair->ring[0]);
        vmbus_ring_destroy(pair->ring[1]);
        pv_free(pair);
    }
}

static void
inproc_destroy(struct vmbus_transport *t)
{
    struct inproc_end *end = to_end(t);

    inproc_close(t);
    pair_put(end->pair);
    pv_free(end);
}

static const struct vmbus_transport_ops inproc_ops = {
    .size = sizeof(struct vmbus_transport_ops),
    .version = VMBUS_TRANSPORT_OPS_VERSION,
    .send = inproc_send,
    .recv = inproc_recv,
    .close = inproc_close,
    .destroy = inproc_destroy,
};

static struct inproc_end *
end_create(struct inproc_pair *pair, int tx)
{
    struct inproc_end *end = pv_calloc(1, sizeof(*end));

    if (end != NULL) {
        end->base.ops = &inproc_ops;
        end->pair = pair;
        end->tx = pair->ring[tx];
        end->rx = pair->ring[1 - tx];
        atomic_fetch_add(&pair->refs, 1);
    }
    return end;
}

NTSTATUS
vmbus_inproc_pair_create(size_t ring_size, struct vmbus_transport **a, struct vmbus_transport **b)
{
    struct inproc_pair *pair;
    struct inproc_end *ea = NULL, *eb = NULL;

    *a = *b = NULL;
    if (ring_size < 64 || ring_size % 8 != 0) {
        return STATUS_INVALID_PARAMETER;
    }
    pair = pv_calloc(1, sizeof(*pair));
    if (pair == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    atomic_init(&pair->refs, 1); /* the creator's, dropped below */
    if (vmbus_ring_create(ring_size, &pair->ring[0]) != STATUS_SUCCESS ||
        vmbus_ring_create(ring_size, &pair->ring[1]) != STATUS_SUCCESS) {
        goto put_pair;
    }
    ea = end_create(pair, 0);
    if (ea == NULL) {
        goto put_pair;
    }
    eb = end_create(pair, 1);
    if (eb == NULL) {
        goto destroy_a;
    }
    pair_put(pair);
    *a = &ea->base;
    *b = &eb->base;
    return STATUS_SUCCESS;

destroy_a:
    inproc_destroy(&ea->base);
put_pair:
    pair_put(pair);
    return STATUS_INSUFFICIENT_RESOURCES;
}
