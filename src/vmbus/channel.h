/*
 * vmbus/channel.h - one end of a VMBus-style channel: framing, transactions, rescind.
 *
 * A channel owns a transport end and adds what both sides of the vPCI protocol
 * need: VMBus framing of every packet (contract.md 8.2), transaction ids for
 * requests that want a completion, matching of completions to the thread waiting
 * for them, and rescind.
 *
 * Threads: any number of threads may send, request and receive at once.  There is
 * no hidden reader thread; whichever thread is waiting (in recv or in request)
 * reads the transport for everybody, one at a time: completions go to the request
 * they answer, in-band packets to a recv caller (or, while only requesters are
 * waiting, into a bounded inbox of two ring sizes; when the inbox is full nobody
 * reads until a recv caller drains it, so a flooding peer costs memory bounded at
 * creation, never more).  A single-threaded guest can therefore call request()
 * without running a receive loop, and a host can run one dispatch thread in recv()
 * while other threads send requests (for example QUERY_STOP) to the guest.
 *
 * Every wait is bounded by the caller's timeout (0 = do not wait).  Rescind, by
 * either end, wakes every waiter of both ends with STATUS_DEVICE_REMOVED; later
 * calls fail the same way.  Errors are NTSTATUS: STATUS_DEVICE_BUSY (the peer's ring
 * stayed full, or every transaction slot is in use), STATUS_IO_TIMEOUT,
 * STATUS_DEVICE_REMOVED, STATUS_BAD_DATA (a malformed packet was received and
 * dropped; the reason says why).
 */
#ifndef PCIVIRT_VMBUS_CHANNEL_H
#define PCIVIRT_VMBUS_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/nt.h"
#include "vmbus/packet.h"
#include "vmbus/transport.h"

struct vmbus_channel;

/* Requests that may wait for completions at the same time, per channel end. */
#define VMBUS_CHANNEL_MAX_PENDING 64u

/* A received packet: the bytes and the parsed view into them. */
struct vmbus_packet_buf {
    uint8_t data[VMBUS_PKT_MAX];
    size_t len;
    struct vmbus_pkt pkt;
};

struct vmbus_channel_stats {
    uint64_t sent;              /* packets handed to the transport */
    uint64_t received;          /* well-formed packets read */
    uint64_t malformed;         /* packets dropped by the framing checks */
    uint64_t unmatched;         /* completions for no waiting request (late, duplicate or forged) */
    uint64_t abandoned_answers; /* answers to asynchronous requests their requester gave up */
};

/*
 * The answer to an asynchronous request: @status is STATUS_SUCCESS with the
 * completion's payload in the request's reply buffer (@reply, @len), or
 * STATUS_BAD_DATA when the payload was longer than the buffer (@len bytes kept).
 */
typedef void vmbus_answer_fn(void *ctx, uint64_t id, NTSTATUS status, uint8_t *reply, size_t len);

/**
 * vmbus_channel_create() - a channel end over @transport, which it owns from now on
 * (destroyed with the channel, and also when creation fails).
 *
 * Return: STATUS_SUCCESS, STATUS_INVALID_PARAMETER (NULL transport) or
 * STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS vmbus_channel_create(struct vmbus_transport *transport, struct vmbus_channel **out);

/**
 * vmbus_channel_destroy() - rescind and free; NULL is accepted.  No other thread may be
 * inside a call on @ch (rescind first, join them, then destroy).
 */
void vmbus_channel_destroy(struct vmbus_channel *ch);

/**
 * vmbus_channel_send() - send an in-band packet (type 6) that wants no completion.
 * @payload, @len: the message (1 .. VMBUS_PKT_MAX - 16 bytes).
 * @timeout_ns: how long to wait for ring space.
 *
 * Return: STATUS_SUCCESS, STATUS_INVALID_PARAMETER (empty or too large),
 * STATUS_DEVICE_BUSY, STATUS_DEVICE_REMOVED.
 */
NTSTATUS vmbus_channel_send(struct vmbus_channel *ch, const uint8_t *payload, size_t len, int64_t timeout_ns);

/**
 * vmbus_channel_send_completion() - answer the request @trans_id with a completion
 * packet (type 11); @payload starts with the 32-bit status.
 *
 * Return: as vmbus_channel_send().
 */
NTSTATUS vmbus_channel_send_completion(struct vmbus_channel *ch, uint64_t trans_id, const uint8_t *payload, size_t len,
                                       int64_t timeout_ns);

/**
 * vmbus_channel_request() - send an in-band packet with completion requested and wait
 * for its completion.
 * @reply, @reply_cap: receives the completion's payload (status first, padding included).
 * @reply_len: receives its length.
 * @timeout_ns: bounds the whole call (ring space and answer).
 *
 * Return: STATUS_SUCCESS (the peer's status is inside @reply); STATUS_DEVICE_BUSY (ring
 * full or VMBUS_CHANNEL_MAX_PENDING requests already waiting); STATUS_IO_TIMEOUT (no
 * answer in time; a late answer is dropped as unmatched); STATUS_DEVICE_REMOVED;
 * STATUS_BAD_DATA (the answer was longer than @reply_cap); STATUS_INVALID_PARAMETER.
 */
NTSTATUS vmbus_channel_request(struct vmbus_channel *ch, const uint8_t *payload, size_t len, uint8_t *reply,
                               size_t reply_cap, size_t *reply_len, int64_t timeout_ns);

/**
 * vmbus_channel_request_async() - send an in-band packet with completion requested
 * and return without waiting; the completion, when it comes, is copied into @reply
 * and handed to @fn by whichever thread reads the channel (recv or request),
 * without the channel's lock held: @fn may send on the channel, but must not
 * receive or make a synchronous request on it.  @fn may run before this call
 * returns.
 * @timeout_ns: bounds the wait for ring space only.
 * @id: receives the transaction id (for vmbus_channel_abandon()).
 *
 * @fn is called at most once, and never after the request was abandoned.  A
 * rescind does not call it: the requester learns of it from its own calls and
 * abandons (or simply forgets) what it asked.
 *
 * Return: STATUS_SUCCESS (sent); otherwise as vmbus_channel_request(), and @fn
 * will not be called.
 */
NTSTATUS vmbus_channel_request_async(struct vmbus_channel *ch, const uint8_t *payload, size_t len, uint8_t *reply,
                                     size_t reply_cap, vmbus_answer_fn *fn, void *ctx, int64_t timeout_ns,
                                     uint64_t *id);

/**
 * vmbus_channel_abandon() - give up the asynchronous request @id: its callback will
 * not be called, and a late answer is dropped quietly (counted in
 * abandoned_answers).  Its transaction slot stays taken until that answer comes
 * or a new request needs the slot.
 *
 * Return: true when the request was still waiting; false when its answer has
 * already been taken (its callback has run or is running) or @id is unknown.
 */
bool vmbus_channel_abandon(struct vmbus_channel *ch, uint64_t id);

/**
 * vmbus_channel_recv() - the next in-band packet from the peer.
 * @rx: receives the bytes and the parsed view (type 6; flags say whether the peer
 *      wants a completion, trans_id is the id to complete).
 * @reason: optional; on STATUS_BAD_DATA receives why the packet was dropped.
 *
 * Completions that arrive meanwhile are handed to their requests.
 *
 * Return: STATUS_SUCCESS; STATUS_IO_TIMEOUT; STATUS_DEVICE_REMOVED; STATUS_BAD_DATA (a
 * malformed packet, or a completion that matched no request, was dropped; call again).
 */
NTSTATUS vmbus_channel_recv(struct vmbus_channel *ch, struct vmbus_packet_buf *rx, const char **reason,
                            int64_t timeout_ns);

/**
 * vmbus_channel_rescind() - tear the channel down: every waiter on both ends returns
 * STATUS_DEVICE_REMOVED, and so does every later call.  Idempotent.
 */
void vmbus_channel_rescind(struct vmbus_channel *ch);

/**
 * vmbus_channel_gone() - true once either end rescinded (as far as this end has seen).
 */
bool vmbus_channel_gone(struct vmbus_channel *ch);

/**
 * vmbus_channel_get_stats() - a snapshot of the counters.
 */
void vmbus_channel_get_stats(struct vmbus_channel *ch, struct vmbus_channel_stats *out);

#endif /* PCIVIRT_VMBUS_CHANNEL_H */
