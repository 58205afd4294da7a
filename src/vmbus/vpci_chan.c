/*
 * vmbus/vpci_chan.c - typed vPCI messages over a channel.
 *
 * Thin on purpose: each call is one codec step plus one channel step, so the
 * validation rules live in exactly one place (vpci_msg.c) and the threading rules
 * in another (channel.c).
 */
#include <string.h>

#include "util/le.h"
#include "vmbus/vpci_chan.h"

NTSTATUS
vpci_chan_recv(struct vmbus_channel *ch, enum vpci_dir from, uint32_t version, struct vpci_rx *rx, const char **reason,
               int64_t timeout_ns)
{
    NTSTATUS st;

    rx->type = 0;
    rx->wants_reply = false;
    rx->trans_id = 0;
    st = vmbus_channel_recv(ch, &rx->buf, reason, timeout_ns);
    if (st != STATUS_SUCCESS) {
        return st;
    }
    rx->wants_reply = (rx->buf.pkt.flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED) != 0;
    rx->trans_id = rx->buf.pkt.trans_id;
    rx->type = le32_get(rx->buf.pkt.payload); /* the framing checks guarantee 4 bytes */
    return vpci_msg_decode(from, version, rx->buf.pkt.payload, rx->buf.pkt.payload_len, &rx->msg, reason);
}

NTSTATUS
vpci_chan_send(struct vmbus_channel *ch, const struct vpci_msg *msg, int64_t timeout_ns)
{
    uint8_t buf[VPCI_MSG_MAX_SIZE];
    size_t len;
    NTSTATUS st = vpci_msg_encode(msg, buf, sizeof(buf), &len);

    if (st != STATUS_SUCCESS) {
        return STATUS_INVALID_PARAMETER;
    }
    return vmbus_channel_send(ch, buf, len, timeout_ns);
}

NTSTATUS
vpci_chan_request(struct vmbus_channel *ch, const struct vpci_msg *req, struct vpci_reply *reply, const char **reason,
                  int64_t timeout_ns)
{
    uint8_t buf[VPCI_MSG_MAX_SIZE];
    uint8_t answer[VPCI_REPLY_BUF_SIZE];
    size_t len, answer_len;
    NTSTATUS st;

    memset(reply, 0, sizeof(*reply));
    if (reason != NULL) {
        *reason = NULL;
    }
    if (vpci_msg_encode(req, buf, sizeof(buf), &len) != STATUS_SUCCESS) {
        return STATUS_INVALID_PARAMETER;
    }
    st = vmbus_channel_request(ch, buf, len, answer, sizeof(answer), &answer_len, timeout_ns);
    if (st == STATUS_BAD_DATA && reason != NULL) {
        *reason = "completion longer than any vPCI reply";
    }
    if (st != STATUS_SUCCESS) {
        return st;
    }
    return vpci_reply_decode(req, answer, answer_len, reply, reason);
}

NTSTATUS
vpci_chan_reply(struct vmbus_channel *ch, uint64_t trans_id, const struct vpci_reply *reply, int64_t timeout_ns)
{
    uint8_t buf[VPCI_REPLY_BUF_SIZE];
    size_t len;

    if (vpci_reply_encode(reply, buf, sizeof(buf), &len) != STATUS_SUCCESS) {
        return STATUS_INVALID_PARAMETER;
    }
    return vmbus_channel_send_completion(ch, trans_id, buf, len, timeout_ns);
}

NTSTATUS
vpci_chan_reply_status(struct vmbus_channel *ch, uint64_t trans_id, NTSTATUS status, int64_t timeout_ns)
{
    uint8_t buf[VPCI_REPLY_STATUS_SIZE];

    le32_put(buf, (uint32_t)status);
    return vmbus_channel_send_completion(ch, trans_id, buf, sizeof(buf), timeout_ns);
}
