/*
 * vmbus/channel.c - framing, transaction matching and rescind over a transport.
 *
 * State under one mutex: the table of waiting requests, the "someone is reading
 * the transport" flag, the inbox and the gone flag.  The transport itself is read
 * with the mutex released, by at most one thread at a time (the pump); the pump
 * hands each packet to its destination and wakes everybody, who then re-check
 * their own condition.  Sends need no channel state and go straight to the
 * transport (whose send is thread-safe), framed in a buffer on the caller's stack.
 */
#include <string.h>

#include "util/alloc.h"
#include "util/cond.h"
#include "vmbus/channel.h"
#include "vmbus/ring.h"

#define INBOX_SIZE (2u * VMBUS_RING_SIZE)

struct pending {
    bool used;
    bool done;
    bool abandoned; /* asynchronous, given up by its requester: a late answer is swallowed */
    uint64_t id;
    vmbus_answer_fn *fn; /* asynchronous: called by the pump with the answer */
    void *ctx;
    uint8_t *reply;
    size_t cap;
    size_t len;
    NTSTATUS status;
};

struct vmbus_channel {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct vmbus_transport *transport;
    struct vmbus_ring *inbox;
    bool pumping;
    bool gone;
    uint64_t next_id;
    struct pending pending[VMBUS_CHANNEL_MAX_PENDING];
    struct vmbus_channel_stats stats;
    uint8_t rx[VMBUS_PKT_MAX]; /* the pump's buffer; only the pump touches it */
};

NTSTATUS
vmbus_channel_create(struct vmbus_transport *transport, struct vmbus_channel **out)
{
    struct vmbus_channel *ch;

    *out = NULL;
    if (transport == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    ch = pv_calloc(1, sizeof(*ch));
    if (ch == NULL) {
        goto destroy_transport;
    }
    if (vmbus_ring_create(INBOX_SIZE, &ch->inbox) != STATUS_SUCCESS) {
        goto free_ch;
    }
    if (pthread_mutex_init(&ch->lock, NULL) != 0) {
        goto destroy_inbox;
    }
    if (pv_cond_init_monotonic(&ch->changed) != 0) {
        goto destroy_lock;
    }
    ch->transport = transport;
    ch->next_id = 1;
    *out = ch;
    return STATUS_SUCCESS;

destroy_lock:
    pthread_mutex_destroy(&ch->lock);
destroy_inbox:
    vmbus_ring_destroy(ch->inbox);
free_ch:
    pv_free(ch);
destroy_transport:
    vmbus_transport_destroy(transport);
    return STATUS_INSUFFICIENT_RESOURCES;
}

void
vmbus_channel_destroy(struct vmbus_channel *ch)
{
    if (ch == NULL) {
        return;
    }
    vmbus_channel_rescind(ch);
    vmbus_transport_destroy(ch->transport);
    pthread_cond_destroy(&ch->changed);
    pthread_mutex_destroy(&ch->lock);
    vmbus_ring_destroy(ch->inbox);
    pv_free(ch);
}

/* Caller holds the lock. */
static void
mark_gone(struct vmbus_channel *ch)
{
    ch->gone = true;
    pthread_cond_broadcast(&ch->changed);
}

void
vmbus_channel_rescind(struct vmbus_channel *ch)
{
    pthread_mutex_lock(&ch->lock);
    mark_gone(ch);
    pthread_mutex_unlock(&ch->lock);
    vmbus_transport_close(ch->transport);
}

bool
vmbus_channel_gone(struct vmbus_channel *ch)
{
    bool gone;

    pthread_mutex_lock(&ch->lock);
    gone = ch->gone;
    pthread_mutex_unlock(&ch->lock);
    return gone;
}

void
vmbus_channel_get_stats(struct vmbus_channel *ch, struct vmbus_channel_stats *out)
{
    pthread_mutex_lock(&ch->lock);
    *out = ch->stats;
    pthread_mutex_unlock(&ch->lock);
}

static NTSTATUS
send_framed(struct vmbus_channel *ch, uint16_t type, uint16_t flags, uint64_t id, const uint8_t *payload, size_t len,
            int64_t timeout_ns)
{
    uint8_t frame[VMBUS_PKT_MAX];
    size_t frame_len;
    NTSTATUS st;

    if (len == 0 || vmbus_pkt_size(len) == 0) {
        return STATUS_INVALID_PARAMETER;
    }
    st = vmbus_pkt_build(frame, sizeof(frame), type, flags, id, payload, len, &frame_len);
    if (st != STATUS_SUCCESS) {
        return st;
    }
    st = vmbus_transport_send(ch->transport, frame, frame_len, timeout_ns);
    pthread_mutex_lock(&ch->lock);
    if (st == STATUS_SUCCESS) {
        ch->stats.sent++;
    } else if (st == STATUS_DEVICE_REMOVED) {
        mark_gone(ch);
    }
    pthread_mutex_unlock(&ch->lock);
    return st;
}

NTSTATUS
vmbus_channel_send(struct vmbus_channel *ch, const uint8_t *payload, size_t len, int64_t timeout_ns)
{
    return send_framed(ch, VMBUS_PKT_TYPE_INBAND, 0, 0, payload, len, timeout_ns);
}

NTSTATUS
vmbus_channel_send_completion(struct vmbus_channel *ch, uint64_t trans_id, const uint8_t *payload, size_t len,
                              int64_t timeout_ns)
{
    return send_framed(ch, VMBUS_PKT_TYPE_COMPLETION, 0, trans_id, payload, len, timeout_ns);
}

/*
 * Lock held: hand a completion to its request.  An asynchronous request's entry
 * is freed here and its callback returned in @call, to be made without the lock;
 * an abandoned one's answer is counted and dropped.
 */
static NTSTATUS
deliver_completion(struct vmbus_channel *ch, const struct vmbus_pkt *pkt, struct pending *call, const char **reason)
{
    for (unsigned i = 0; i < VMBUS_CHANNEL_MAX_PENDING; i++) {
        struct pending *p = &ch->pending[i];

        if (!p->used || p->done || p->id != pkt->trans_id) {
            continue;
        }
        p->done = true;
        p->len = pkt->payload_len;
        p->status = pkt->payload_len <= p->cap ? STATUS_SUCCESS : STATUS_BAD_DATA;
        if (p->reply != NULL) {
            memcpy(p->reply, pkt->payload, pkt->payload_len <= p->cap ? pkt->payload_len : p->cap);
        }
        if (p->abandoned) {
            ch->stats.abandoned_answers++;
            p->used = false;
        } else if (p->fn != NULL) {
            *call = *p;
            p->used = false;
        }
        return STATUS_SUCCESS;
    }
    ch->stats.unmatched++;
    if (reason != NULL) {
        *reason = "completion for a transaction id no request is waiting for";
    }
    return STATUS_BAD_DATA;
}

/*
 * Lock held, nobody pumping: read one packet from the transport (lock released
 * meanwhile) and route it.  An in-band packet goes to @direct when given, else to
 * the inbox (the caller made sure one maximal packet fits).  Returns SUCCESS when a
 * packet was routed (*@got tells whether it landed in @direct), or the failure.
 */
static NTSTATUS
pump_one(struct vmbus_channel *ch, const struct timespec *deadline, struct vmbus_packet_buf *direct, bool *got,
         const char **reason)
{
    struct vmbus_pkt pkt;
    size_t len = 0;
    NTSTATUS st;

    *got = false;
    ch->pumping = true;
    pthread_mutex_unlock(&ch->lock);
    st = vmbus_transport_recv(ch->transport, ch->rx, sizeof(ch->rx), &len, pv_remaining_ns(deadline));
    if (st == STATUS_SUCCESS) {
        st = vmbus_pkt_parse(ch->rx, len, &pkt, reason);
    } else if (st == STATUS_BUFFER_TOO_SMALL) {
        st = STATUS_BAD_DATA; /* cannot happen with a VMBUS_PKT_MAX buffer; treated as malformed */
    }
    pthread_mutex_lock(&ch->lock);
    ch->pumping = false;
    pthread_cond_broadcast(&ch->changed);
    if (st == STATUS_DEVICE_REMOVED) {
        mark_gone(ch);
    }
    if (st == STATUS_BAD_DATA) {
        ch->stats.malformed++;
    }
    if (st != STATUS_SUCCESS) {
        return st;
    }
    ch->stats.received++;
    if (pkt.type == VMBUS_PKT_TYPE_COMPLETION) {
        struct pending call = {.fn = NULL};

        st = deliver_completion(ch, &pkt, &call, reason);
        if (call.fn != NULL) {
            pthread_mutex_unlock(&ch->lock);
            call.fn(call.ctx, call.id, call.status, call.reply, call.len <= call.cap ? call.len : call.cap);
            pthread_mutex_lock(&ch->lock);
        }
        return st;
    }
    if (direct != NULL) {
        memcpy(direct->data, ch->rx, len);
        direct->len = len;
        (void)vmbus_pkt_parse(direct->data, len, &direct->pkt, NULL);
        *got = true;
        return STATUS_SUCCESS;
    }
    return vmbus_ring_write(ch->inbox, ch->rx, len, 0);
}

static bool
inbox_has_room(struct vmbus_channel *ch)
{
    return INBOX_SIZE - vmbus_ring_used(ch->inbox) >= VMBUS_RING_COST(VMBUS_PKT_MAX);
}

NTSTATUS
vmbus_channel_recv(struct vmbus_channel *ch, struct vmbus_packet_buf *rx, const char **reason, int64_t timeout_ns)
{
    struct timespec deadline = pv_deadline_ns(timeout_ns);
    NTSTATUS st;
    bool got;

    if (reason != NULL) {
        *reason = NULL;
    }
    pthread_mutex_lock(&ch->lock);
    for (;;) {
        if (ch->gone) {
            st = STATUS_DEVICE_REMOVED;
            break;
        }
        if (vmbus_ring_read(ch->inbox, rx->data, sizeof(rx->data), &rx->len, 0) == STATUS_SUCCESS) {
            pthread_cond_broadcast(&ch->changed); /* room for a waiting requester's pump */
            st = vmbus_pkt_parse(rx->data, rx->len, &rx->pkt, reason);
            break;
        }
        if (!ch->pumping) {
            st = pump_one(ch, &deadline, rx, &got, reason);
            if (st != STATUS_SUCCESS || got) {
                break;
            }
            continue;
        }
        if (pv_cond_wait_until(&ch->changed, &ch->lock, &deadline)) {
            st = ch->gone ? STATUS_DEVICE_REMOVED : STATUS_IO_TIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&ch->lock);
    return st;
}

/*
 * Lock held: take a free transaction slot, or NULL.  When none is free, the
 * slot of an abandoned request is taken back (its answer, should it come, is
 * then unmatched): a peer that never answers cannot use the table up.
 */
static struct pending *
pending_get(struct vmbus_channel *ch, uint8_t *reply, size_t cap)
{
    for (unsigned pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < VMBUS_CHANNEL_MAX_PENDING; i++) {
            struct pending *p = &ch->pending[i];

            if (!p->used || (pass == 1 && p->abandoned)) {
                memset(p, 0, sizeof(*p));
                p->used = true;
                p->id = ch->next_id++;
                p->reply = reply;
                p->cap = cap;
                return p;
            }
        }
    }
    return NULL;
}

/* Lock held: wait until @p is answered, the channel is gone or the deadline passes. */
static NTSTATUS
wait_answer(struct vmbus_channel *ch, struct pending *p, const struct timespec *deadline)
{
    NTSTATUS st;
    bool got;

    for (;;) {
        if (p->done) {
            return p->status;
        }
        if (ch->gone) {
            return STATUS_DEVICE_REMOVED;
        }
        if (!ch->pumping && inbox_has_room(ch)) {
            st = pump_one(ch, deadline, NULL, &got, NULL);
            if (st == STATUS_IO_TIMEOUT && !p->done) {
                return STATUS_IO_TIMEOUT;
            }
            continue;
        }
        if (pv_cond_wait_until(&ch->changed, &ch->lock, deadline)) {
            return p->done ? p->status : (ch->gone ? STATUS_DEVICE_REMOVED : STATUS_IO_TIMEOUT);
        }
    }
}

NTSTATUS
vmbus_channel_request(struct vmbus_channel *ch, const uint8_t *payload, size_t len, uint8_t *reply, size_t reply_cap,
                      size_t *reply_len, int64_t timeout_ns)
{
    struct timespec deadline = pv_deadline_ns(timeout_ns);
    struct pending *p;
    uint64_t id;
    NTSTATUS st;

    *reply_len = 0;
    if (reply == NULL && reply_cap != 0) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&ch->lock);
    p = ch->gone ? NULL : pending_get(ch, reply, reply_cap);
    st = ch->gone ? STATUS_DEVICE_REMOVED : STATUS_DEVICE_BUSY;
    id = p != NULL ? p->id : 0;
    pthread_mutex_unlock(&ch->lock);
    if (p == NULL) {
        return st;
    }
    st = send_framed(ch, VMBUS_PKT_TYPE_INBAND, VMBUS_PKT_FLAG_COMPLETION_REQUESTED, id, payload, len, timeout_ns);
    pthread_mutex_lock(&ch->lock);
    if (st == STATUS_SUCCESS) {
        st = wait_answer(ch, p, &deadline);
        *reply_len = p->done ? p->len : 0;
    }
    p->used = false;
    pthread_mutex_unlock(&ch->lock);
    return st;
}

NTSTATUS
vmbus_channel_request_async(struct vmbus_channel *ch, const uint8_t *payload, size_t len, uint8_t *reply,
                            size_t reply_cap, vmbus_answer_fn *fn, void *ctx, int64_t timeout_ns, uint64_t *id)
{
    struct pending *p;
    uint64_t my_id;
    NTSTATUS st;

    *id = 0;
    if (fn == NULL || (reply == NULL && reply_cap != 0)) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&ch->lock);
    p = ch->gone ? NULL : pending_get(ch, reply, reply_cap);
    st = ch->gone ? STATUS_DEVICE_REMOVED : STATUS_DEVICE_BUSY;
    if (p != NULL) {
        p->fn = fn;
        p->ctx = ctx;
    }
    my_id = p != NULL ? p->id : 0;
    pthread_mutex_unlock(&ch->lock);
    if (p == NULL) {
        return st;
    }
    /* The answer may be delivered (and @fn called) before the send below returns. */
    st = send_framed(ch, VMBUS_PKT_TYPE_INBAND, VMBUS_PKT_FLAG_COMPLETION_REQUESTED, my_id, payload, len, timeout_ns);
    if (st != STATUS_SUCCESS) {
        pthread_mutex_lock(&ch->lock);
        if (p->used && p->id == my_id) {
            p->used = false; /* never sent: nobody can answer it */
        }
        pthread_mutex_unlock(&ch->lock);
        return st;
    }
    *id = my_id;
    return STATUS_SUCCESS;
}

bool
vmbus_channel_abandon(struct vmbus_channel *ch, uint64_t id)
{
    bool found = false;

    pthread_mutex_lock(&ch->lock);
    for (unsigned i = 0; i < VMBUS_CHANNEL_MAX_PENDING && !found; i++) {
        struct pending *p = &ch->pending[i];

        if (p->used && !p->done && !p->abandoned && p->fn != NULL && p->id == id) {
            p->abandoned = true;
            p->fn = NULL;
            p->reply = NULL;
            p->cap = 0;
            found = true;
        }
    }
    pthread_mutex_unlock(&ch->lock);
    return found;
}
