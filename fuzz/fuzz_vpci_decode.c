/*
 * fuzz/fuzz_vpci_decode.c - arbitrary bytes into the vPCI framing and decoders.
 *
 * The input is treated three ways: as one raw VMBus packet (framing, then the
 * message decoder in both directions, then the reply decoder for every request
 * type), as a bare message payload, and as a packet pushed through an in-process
 * channel and received on the other end.  Invariants, checked with abort() so the
 * fuzzer reports them: a decoder either refuses (STATUS_BAD_DATA or
 * STATUS_NOT_SUPPORTED, with a reason) or returns a message that re-encodes to bytes
 * which decode to the same message; a channel delivers exactly the bytes sent or
 * drops them as malformed.  Sanitizers catch reads out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/channel.h"
#include "vmbus/packet.h"
#include "vmbus/vpci_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
    if (!cond) {
        abort();
    }
}

static void
message_invariant(enum vpci_dir dir, const uint8_t *payload, size_t len)
{
    static struct vpci_msg msg, again;
    static uint8_t wire[VPCI_MSG_MAX_SIZE];
    const char *reason = NULL;
    size_t wire_len;
    NTSTATUS st = vpci_msg_decode(dir, VPCI_VERSION_ANY, payload, len, &msg, &reason);

    if (st != STATUS_SUCCESS) {
        check((st == STATUS_BAD_DATA || st == STATUS_NOT_SUPPORTED) && reason != NULL);
        return;
    }
    check(vpci_msg_encode(&msg, wire, sizeof(wire), &wire_len) == STATUS_SUCCESS);
    check(vpci_msg_decode(dir, VPCI_VERSION_ANY, wire, wire_len, &again, NULL) == STATUS_SUCCESS);
    check(vpci_msg_equal(&msg, &again));
    /* the version gate never lets through what its own table forbids */
    if (vpci_msg_decode(dir, PCI_PROTOCOL_VERSION_1_1, payload, len, &again, NULL) == STATUS_SUCCESS) {
        check(vpci_msg_min_version(msg.type) <= PCI_PROTOCOL_VERSION_1_1);
    }
}

static void
reply_invariant(const uint8_t *payload, size_t len)
{
    static struct vpci_reply reply, again;
    static uint8_t wire[VPCI_MSG_MAX_SIZE];
    struct vpci_msg req;
    size_t wire_len;

    for (uint32_t type = PCI_MESSAGE_BASE; type <= PCI_MESSAGE_LAST; type++) {
        memset(&req, 0, sizeof(req));
        req.type = type;
        req.u.block.byte_count = 1 + (len % VPCI_BLOCK_MAX);
        if (vpci_reply_decode(&req, payload, len, &reply, NULL) != STATUS_SUCCESS) {
            continue;
        }
        if (type == PCI_READ_BLOCK) {
            check(reply.u.read_block.byte_count <= req.u.block.byte_count || !NT_SUCCESS(reply.status));
        }
        if (vpci_reply_encode(&reply, wire, sizeof(wire), &wire_len) != STATUS_SUCCESS) {
            continue; /* e.g. a reply type the encoder cannot express for this request */
        }
        check(vpci_reply_decode(&req, wire, wire_len, &again, NULL) == STATUS_SUCCESS);
        check(vpci_reply_equal(&reply, &again));
    }
}

static void
through_channel(const uint8_t *data, size_t size)
{
    static struct vmbus_packet_buf rx;
    struct vmbus_transport *a, *b;
    struct vmbus_channel *ch;
    const char *reason = NULL;
    NTSTATUS st;

    if (size == 0 || size > VMBUS_PKT_MAX || vmbus_inproc_pair_create(VMBUS_RING_SIZE, &a, &b) != STATUS_SUCCESS) {
        return;
    }
    if (vmbus_channel_create(b, &ch) != STATUS_SUCCESS) {
        vmbus_transport_destroy(a);
        return;
    }
    check(vmbus_transport_send(a, data, size, 0) == STATUS_SUCCESS);
    st = vmbus_channel_recv(ch, &rx, &reason, 0);
    if (st == STATUS_SUCCESS) {
        check(rx.len == size && memcmp(rx.data, data, size) == 0);
        check(rx.pkt.type == VMBUS_PKT_TYPE_INBAND);
        check(rx.pkt.payload + rx.pkt.payload_len == rx.data + rx.len);
    } else {
        check(st == STATUS_BAD_DATA && reason != NULL);
    }
    vmbus_channel_destroy(ch);
    vmbus_transport_destroy(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vmbus_pkt pkt;

    if (size > VMBUS_PKT_MAX) {
        return 0;
    }
    if (vmbus_pkt_parse(data, size, &pkt, NULL) == STATUS_SUCCESS) {
        check(pkt.payload >= data && pkt.payload + pkt.payload_len == data + size);
        if (pkt.type == VMBUS_PKT_TYPE_INBAND) {
            message_invariant(VPCI_GUEST_TO_HOST, pkt.payload, pkt.payload_len);
            message_invariant(VPCI_HOST_TO_GUEST, pkt.payload, pkt.payload_len);
        } else {
            reply_invariant(pkt.payload, pkt.payload_len);
        }
    }
    message_invariant(VPCI_GUEST_TO_HOST, data, size);
    message_invariant(VPCI_HOST_TO_GUEST, data, size);
    through_channel(data, size);
    return 0;
}
