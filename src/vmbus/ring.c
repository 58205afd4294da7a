/*
 * vmbus/ring.c - a bounded packet ring with timed waits and close.
 *
 * Storage is one byte array used circularly.  Each packet occupies an 8-byte
 * record header (its length; our own bookkeeping, never peer-controlled) followed
 * by its bytes padded to 8: the same cost VMBus charges (padding plus an 8-byte
 * trailer), so "ring full" happens when it would on a real 16 KiB ring.  Offsets
 * stay multiples of 8, so a header never wraps; packet bytes may, and are copied
 * in two pieces.
 */
#include <string.h>

#include "util/alloc.h"
#include "util/cond.h"
#include "util/le.h"
#include "vmbus/ring.h"

struct vmbus_ring {
    pthread_mutex_t lock;
    pthread_cond_t can_read;
    pthread_cond_t can_write;
    uint8_t *data;
    size_t capacity;
    size_t head; /* oldest record */
    size_t used;
    bool closed;
};

NTSTATUS
vmbus_ring_create(size_t capacity, struct vmbus_ring **out)
{
    struct vmbus_ring *ring;

    *out = NULL;
    if (capacity < 16 || capacity % 8 != 0) {
        return STATUS_INVALID_PARAMETER;
    }
    ring = pv_calloc(1, sizeof(*ring));
    if (ring == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    ring->data = pv_malloc(capacity);
    if (ring->data == NULL) {
        goto free_ring;
    }
    if (pthread_mutex_init(&ring->lock, NULL) != 0) {
        goto free_data;
    }
    if (pv_cond_init_monotonic(&ring->can_read) != 0) {
        goto destroy_lock;
    }
    if (pv_cond_init_monotonic(&ring->can_write) != 0) {
        goto destroy_read;
    }
    ring->capacity = capacity;
    *out = ring;
    return STATUS_SUCCESS;

destroy_read:
    pthread_cond_destroy(&ring->can_read);
destroy_lock:
    pthread_mutex_destroy(&ring->lock);
free_data:
    pv_free(ring->data);
free_ring:
    pv_free(ring);
    return STATUS_INSUFFICIENT_RESOURCES;
}

void
vmbus_ring_destroy(struct vmbus_ring *ring)
{
    if (ring == NULL) {
        return;
    }
    pthread_cond_destroy(&ring->can_write);
    pthread_cond_destroy(&ring->can_read);
    pthread_mutex_destroy(&ring->lock);
    pv_free(ring->data);
    pv_free(ring);
}

static void
copy_in(struct vmbus_ring *ring, size_t pos, const uint8_t *src, size_t len)
{
    size_t first = ring->capacity - pos < len ? ring->capacity - pos : len;

    memcpy(ring->data + pos, src, first);
    memcpy(ring->data, src + first, len - first);
}

static void
copy_out(const struct vmbus_ring *ring, size_t pos, uint8_t *dst, size_t len)
{
    size_t first = ring->capacity - pos < len ? ring->capacity - pos : len;

    memcpy(dst, ring->data + pos, first);
    memcpy(dst + first, ring->data, len - first);
}

NTSTATUS
vmbus_ring_write(struct vmbus_ring *ring, const uint8_t *pkt, size_t len, int64_t timeout_ns)
{
    struct timespec deadline = pv_deadline_ns(timeout_ns);
    size_t cost = VMBUS_RING_COST(len);
    size_t tail;
    NTSTATUS st = STATUS_SUCCESS;

    if (len == 0 || pkt == NULL || cost > ring->capacity) {
        return STATUS_INVALID_BUFFER_SIZE;
    }
    pthread_mutex_lock(&ring->lock);
    while (!ring->closed && ring->capacity - ring->used < cost) {
        if (pv_cond_wait_until(&ring->can_write, &ring->lock, &deadline)) {
            break;
        }
    }
    if (ring->closed) {
        st = STATUS_DEVICE_REMOVED;
    } else if (ring->capacity - ring->used < cost) {
        st = STATUS_DEVICE_BUSY;
    } else {
        tail = (ring->head + ring->used) % ring->capacity;
        le32_put(ring->data + tail, (uint32_t)len);
        le32_put(ring->data + tail + 4, 0);
        copy_in(ring, (tail + 8) % ring->capacity, pkt, len);
        ring->used += cost;
    }
    pthread_mutex_unlock(&ring->lock);
    if (st == STATUS_SUCCESS) {
        pthread_cond_broadcast(&ring->can_read); /* after the unlock: the reader does not wake into our lock */
    }
    return st;
}

NTSTATUS
vmbus_ring_read(struct vmbus_ring *ring, uint8_t *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    struct timespec deadline = pv_deadline_ns(timeout_ns);
    NTSTATUS st = STATUS_SUCCESS;
    size_t pkt_len;

    *len = 0;
    pthread_mutex_lock(&ring->lock);
    while (!ring->closed && ring->used == 0) {
        if (pv_cond_wait_until(&ring->can_read, &ring->lock, &deadline)) {
            break;
        }
    }
    if (ring->closed) {
        st = STATUS_DEVICE_REMOVED;
    } else if (ring->used == 0) {
        st = STATUS_IO_TIMEOUT;
    } else {
        pkt_len = le32_get(ring->data + ring->head);
        *len = pkt_len;
        if (pkt_len > cap || buf == NULL) {
            st = STATUS_BUFFER_TOO_SMALL;
        } else {
            copy_out(ring, (ring->head + 8) % ring->capacity, buf, pkt_len);
            ring->head = (ring->head + VMBUS_RING_COST(pkt_len)) % ring->capacity;
            ring->used -= VMBUS_RING_COST(pkt_len);
        }
    }
    pthread_mutex_unlock(&ring->lock);
    if (st == STATUS_SUCCESS) {
        pthread_cond_broadcast(&ring->can_write);
    }
    return st;
}

void
vmbus_ring_close(struct vmbus_ring *ring)
{
    pthread_mutex_lock(&ring->lock);
    ring->closed = true;
    ring->used = 0;
    pthread_cond_broadcast(&ring->can_read);
    pthread_cond_broadcast(&ring->can_write);
    pthread_mutex_unlock(&ring->lock);
}

size_t
vmbus_ring_used(struct vmbus_ring *ring)
{
    size_t used;

    pthread_mutex_lock(&ring->lock);
    used = ring->used;
    pthread_mutex_unlock(&ring->lock);
    return used;
}
