/*
 * vmbus/ring.h - one direction of a channel: a bounded ring of whole packets.
 *
 * The ring stands in for a VMBus ring buffer: a fixed number of bytes (16 KiB per
 * direction by default, contract.md 8.1), each packet costing its length rounded
 * up to 8 plus an 8-byte trailer, exactly the accounting of a real ring.  Bytes
 * are opaque here: a writer may put anything in (the reader validates the
 * framing), and the reader gets back exactly the bytes and length written.
 *
 * Writers and readers may be on different threads.  No call waits longer than its
 * caller's timeout, and vmbus_ring_close() wakes every waiter at once.
 */
#ifndef PCIVIRT_VMBUS_RING_H
#define PCIVIRT_VMBUS_RING_H

#include <stddef.h>
#include <stdint.h>

#include "pcivirt/nt.h"

struct vmbus_ring;

/**
 * vmbus_ring_create() - a ring of @capacity bytes (a multiple of 8, at least 16).
 * Return: STATUS_SUCCESS, STATUS_INVALID_PARAMETER or STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS vmbus_ring_create(size_t capacity, struct vmbus_ring **out);

/**
 * vmbus_ring_destroy() - free the ring; NULL is accepted.  No thread may still use it.
 */
void vmbus_ring_destroy(struct vmbus_ring *ring);

/**
 * vmbus_ring_write() - append one packet.
 * @timeout_ns: how long to wait for space; 0 fails at once when the ring is full.
 *
 * Return: STATUS_SUCCESS; STATUS_DEVICE_BUSY when the ring stayed full for the whole
 * timeout; STATUS_INVALID_BUFFER_SIZE when the packet is empty or could never fit;
 * STATUS_DEVICE_REMOVED after vmbus_ring_close().
 */
NTSTATUS vmbus_ring_write(struct vmbus_ring *ring, const uint8_t *pkt, size_t len, int64_t timeout_ns);

/**
 * vmbus_ring_read() - take the oldest packet.
 * @buf, @cap: destination; @len receives the packet's length.
 * @timeout_ns: how long to wait for a packet; 0 polls.
 *
 * Return: STATUS_SUCCESS; STATUS_IO_TIMEOUT when nothing arrived in time;
 * STATUS_BUFFER_TOO_SMALL when the packet is longer than @cap (it stays in the
 * ring, @len says how long it is); STATUS_DEVICE_REMOVED after vmbus_ring_close().
 */
NTSTATUS vmbus_ring_read(struct vmbus_ring *ring, uint8_t *buf, size_t cap, size_t *len, int64_t timeout_ns);

/**
 * vmbus_ring_close() - mark the ring gone and wake every waiter; queued packets are
 * discarded and every later call fails with STATUS_DEVICE_REMOVED.  Idempotent.
 */
void vmbus_ring_close(struct vmbus_ring *ring);

/**
 * vmbus_ring_used() - bytes currently occupied (packets plus trailers).
 */
size_t vmbus_ring_used(struct vmbus_ring *ring);

/* The ring cost of a packet of @len bytes. */
#define VMBUS_RING_COST(len) ((((size_t)(len) + 7u) & ~(size_t)7u) + 8u)

#endif /* PCIVIRT_VMBUS_RING_H */
