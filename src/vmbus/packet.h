/*
 * vmbus/packet.h - VMBus packet framing: the 16-byte descriptor and the padded payload.
 *
 * contract.md 8.2: every packet on a ring is {u16 type, u16 offset8, u16 len8,
 * u16 flags, u64 transaction id} followed by the payload, padded to 8 bytes.  This
 * file builds such packets and parses received bytes into a view whose payload
 * pointer stays inside the caller's buffer.  The parser is the first gate for
 * bytes from a peer: it checks that len8 agrees with the length actually
 * received, that offset8 is the standard 2, that the type is one the PCI channel
 * uses (6 in-band, 11 completion) and that no unknown flag is set, so that later
 * stages only ever see a payload whose bounds are known.
 */
#ifndef PCIVIRT_VMBUS_PACKET_H
#define PCIVIRT_VMBUS_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "pcivirt/nt.h"
#include "pcivirt/vpci_proto.h"

/* A parsed packet.  @payload points into the parsed buffer; @payload_len includes padding. */
struct vmbus_pkt {
    uint16_t type;
    uint16_t flags;
    uint64_t trans_id;
    const uint8_t *payload;
    size_t payload_len;
};

/**
 * vmbus_pkt_size() - the framed size of a packet carrying @payload_len bytes:
 * 16 + @payload_len rounded up to 8.  Returns 0 when that exceeds VMBUS_PKT_MAX.
 */
size_t vmbus_pkt_size(size_t payload_len);

/**
 * vmbus_pkt_build() - frame a payload.
 * @buf, @cap: output buffer.
 * @type: VMBUS_PKT_TYPE_INBAND or VMBUS_PKT_TYPE_COMPLETION.
 * @flags: VMBUS_PKT_FLAG_COMPLETION_REQUESTED or 0 (completions take 0).
 * @trans_id: transaction id (a completion repeats its request's).
 * @payload, @payload_len: the message; padding bytes are written as zero.
 * @out_len: receives the framed length (a multiple of 8).
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for an unknown type or flag or a
 * payload larger than one ring can carry; STATUS_BUFFER_TOO_SMALL when @cap is short.
 */
NTSTATUS vmbus_pkt_build(uint8_t *buf, size_t cap, uint16_t type, uint16_t flags, uint64_t trans_id,
                         const uint8_t *payload, size_t payload_len, size_t *out_len);

/**
 * vmbus_pkt_parse() - validate received bytes as exactly one packet.
 * @buf, @len: the bytes as received (one whole packet).
 * @out: receives the view on success.
 * @reason: optional; receives a static string naming what was wrong.
 *
 * Return: STATUS_SUCCESS or STATUS_BAD_DATA (truncated, longer than a ring, length not
 * a multiple of 8, len8 disagreeing with @len, offset8 other than 2, unknown type,
 * unknown flags, a completion with flags, a payload too short for its message id or
 * status).
 */
NTSTATUS vmbus_pkt_parse(const uint8_t *buf, size_t len, struct vmbus_pkt *out, const char **reason);

#endif /* PCIVIRT_VMBUS_PACKET_H */
