/*
 * vmbus/vpci_chan.h - typed vPCI messages over a channel: what vsp and guest call.
 *
 * Glue between vmbus/channel.h (packets, transactions, rescind) and
 * vmbus/vpci_msg.h (the codec): receive a decoded message, send one, make a request
 * and get its decoded reply, answer a request.  Decoding happens on the receiving
 * side only, with the receiver's idea of direction and negotiated version, so a
 * peer can never get an unchecked field past these calls.
 */
#ifndef PCIVIRT_VMBUS_VPCI_CHAN_H
#define PCIVIRT_VMBUS_VPCI_CHAN_H

#include "vmbus/channel.h"
#include "vmbus/vpci_msg.h"

/* Bytes reserved for a completion payload; longer answers are malformed (STATUS_BAD_DATA). */
#define VPCI_REPLY_BUF_SIZE 512u

/* A received message, with what is needed to answer it. */
struct vpci_rx {
    struct vmbus_packet_buf buf;
    struct vpci_msg msg; /* valid when vpci_chan_recv() returned STATUS_SUCCESS */
    uint32_t type;       /* the message id as received (also on decode failure; 0 if none) */
    bool wants_reply;    /* the sender set completion-requested */
    uint64_t trans_id;   /* pass to vpci_chan_reply() */
};

/**
 * vpci_chan_recv() - the next in-band message, decoded.
 * @from: who the peer is (the host passes VPCI_GUEST_TO_HOST).
 * @version: the negotiated protocol version, or VPCI_VERSION_ANY.
 * @rx: receives the message; on STATUS_BAD_DATA / STATUS_NOT_SUPPORTED from the
 *      decoder, @rx->type, wants_reply and trans_id are still filled so the receiver
 *      can answer the sender with that status.
 * @reason: optional; why a packet was rejected.
 *
 * Return: STATUS_SUCCESS, STATUS_BAD_DATA, STATUS_NOT_SUPPORTED, STATUS_IO_TIMEOUT,
 * STATUS_DEVICE_REMOVED.
 */
NTSTATUS vpci_chan_recv(struct vmbus_channel *ch, enum vpci_dir from, uint32_t version, struct vpci_rx *rx,
                        const char **reason, int64_t timeout_ns);

/**
 * vpci_chan_send() - encode and send @msg without asking for a completion.
 * Return: STATUS_INVALID_PARAMETER for a message the encoder refuses, else as
 * vmbus_channel_send().
 */
NTSTATUS vpci_chan_send(struct vmbus_channel *ch, const struct vpci_msg *msg, int64_t timeout_ns);

/**
 * vpci_chan_request() - encode @req, send it with completion requested, wait for the
 * answer and decode it into @reply (@reply->status is the peer's status).
 *
 * Return: STATUS_SUCCESS when an answer was decoded; STATUS_BAD_DATA when the answer
 * was malformed; otherwise as vmbus_channel_request().
 */
NTSTATUS vpci_chan_request(struct vmbus_channel *ch, const struct vpci_msg *req, struct vpci_reply *reply,
                           const char **reason, int64_t timeout_ns);

/**
 * vpci_chan_reply() - encode @reply and send it as the completion of @trans_id.
 * Return: STATUS_INVALID_PARAMETER for a reply the encoder refuses, else as
 * vmbus_channel_send_completion().
 */
NTSTATUS vpci_chan_reply(struct vmbus_channel *ch, uint64_t trans_id, const struct vpci_reply *reply,
                         int64_t timeout_ns);

/**
 * vpci_chan_reply_status() - answer @trans_id with a bare status (failures, and the
 * requests whose reply is only a status).
 */
NTSTATUS vpci_chan_reply_status(struct vmbus_channel *ch, uint64_t trans_id, NTSTATUS status, int64_t timeout_ns);

#endif /* PCIVIRT_VMBUS_VPCI_CHAN_H */
