/*
 * vmbus/packet.c - VMBus packet framing (contract.md 8.2).
 *
 * Only the two packet types the PCI channel uses are accepted, and only with the
 * standard 16-byte descriptor (offset8 = 2): anything else from a peer is
 * malformed.  All reads go through util/le.h; the view never points outside the
 * received bytes.
 */
#include <string.h>

#include "util/le.h"
#include "vmbus/packet.h"

static const char *
set_reason(const char **reason, const char *why)
{
    if (reason != NULL) {
        *reason = why;
    }
    return why;
}

size_t
vmbus_pkt_size(size_t payload_len)
{
    if (payload_len > VMBUS_PKT_MAX - VMBUS_PKT_DESC_SIZE) {
        return 0;
    }
    return VMBUS_PKT_DESC_SIZE + ((payload_len + VMBUS_PKT_ALIGN - 1) & ~(size_t)(VMBUS_PKT_ALIGN - 1));
}

NTSTATUS
vmbus_pkt_build(uint8_t *buf, size_t cap, uint16_t type, uint16_t flags, uint64_t trans_id, const uint8_t *payload,
                size_t payload_len, size_t *out_len)
{
    size_t size = vmbus_pkt_size(payload_len);

    if (size == 0 || (type != VMBUS_PKT_TYPE_INBAND && type != VMBUS_PKT_TYPE_COMPLETION)) {
        return STATUS_INVALID_PARAMETER;
    }
    if ((flags & ~VMBUS_PKT_FLAG_COMPLETION_REQUESTED) != 0 || (type == VMBUS_PKT_TYPE_COMPLETION && flags != 0)) {
        return STATUS_INVALID_PARAMETER;
    }
    if (payload_len != 0 && payload == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (buf == NULL || cap < size) {
        return STATUS_BUFFER_TOO_SMALL;
    }
    le16_put(buf + VMBUS_PKT_OFF_TYPE, type);
    le16_put(buf + VMBUS_PKT_OFF_OFFSET8, (uint16_t)(VMBUS_PKT_DESC_SIZE / 8));
    le16_put(buf + VMBUS_PKT_OFF_LEN8, (uint16_t)(size / 8));
    le16_put(buf + VMBUS_PKT_OFF_FLAGS, flags);
    le64_put(buf + VMBUS_PKT_OFF_TRANS_ID, trans_id);
    if (payload_len != 0) {
        memcpy(buf + VMBUS_PKT_DESC_SIZE, payload, payload_len);
    }
    memset(buf + VMBUS_PKT_DESC_SIZE + payload_len, 0, size - VMBUS_PKT_DESC_SIZE - payload_len);
    if (out_len != NULL) {
        *out_len = size;
    }
    return STATUS_SUCCESS;
}

/* The framing checks; returns NULL when the descriptor is sound. */
static const char *
check_descriptor(const uint8_t *buf, size_t len)
{
    uint16_t type, offset8, len8, flags;

    if (buf == NULL || len < VMBUS_PKT_DESC_SIZE) {
        return "packet shorter than the 16-byte VMBus descriptor";
    }
    if (len > VMBUS_PKT_MAX) {
        return "packet larger than a ring can carry";
    }
    if (len % VMBUS_PKT_ALIGN != 0) {
        return "packet length is not a multiple of 8";
    }
    type = le16_get(buf + VMBUS_PKT_OFF_TYPE);
    offset8 = le16_get(buf + VMBUS_PKT_OFF_OFFSET8);
    len8 = le16_get(buf + VMBUS_PKT_OFF_LEN8);
    flags = le16_get(buf + VMBUS_PKT_OFF_FLAGS);
    if ((size_t)len8 * 8u != len) {
        return "descriptor len8 disagrees with the received length";
    }
    if (offset8 != VMBUS_PKT_DESC_SIZE / 8) {
        return "descriptor offset8 is not 2 (payload must follow the 16-byte descriptor)";
    }
    if (type != VMBUS_PKT_TYPE_INBAND && type != VMBUS_PKT_TYPE_COMPLETION) {
        return "unknown VMBus packet type (only 6 in-band and 11 completion are used)";
    }
    if ((flags & ~VMBUS_PKT_FLAG_COMPLETION_REQUESTED) != 0) {
        return "unknown VMBus descriptor flag bits";
    }
    if (type == VMBUS_PKT_TYPE_COMPLETION && flags != 0) {
        return "completion packet with the completion-requested flag";
    }
    if (len - VMBUS_PKT_DESC_SIZE < 4) {
        return type == VMBUS_PKT_TYPE_INBAND ? "in-band packet without a 32-bit message id"
                                             : "completion packet without a 32-bit status";
    }
    return NULL;
}

NTSTATUS
vmbus_pkt_parse(const uint8_t *buf, size_t len, struct vmbus_pkt *out, const char **reason)
{
    const char *why = check_descriptor(buf, len);

    if (why != NULL) {
        set_reason(reason, why);
        return STATUS_BAD_DATA;
    }
    out->type = le16_get(buf + VMBUS_PKT_OFF_TYPE);
    out->flags = le16_get(buf + VMBUS_PKT_OFF_FLAGS);
    out->trans_id = le64_get(buf + VMBUS_PKT_OFF_TRANS_ID);
    out->payload = buf + VMBUS_PKT_DESC_SIZE;
    out->payload_len = len - VMBUS_PKT_DESC_SIZE;
    set_reason(reason, NULL);
    return STATUS_SUCCESS;
}
