/*
 * vmbus/vpci_msg.h - typed vPCI messages and their encoders and decoders.
 *
 * Both ends of the PCI pass-through channel work with `struct vpci_msg` (an
 * in-band message) and `struct vpci_reply` (the payload of a completion), plain
 * host-order C structs with fixed-size arrays: decoding never allocates, never
 * keeps a pointer into the received bytes, and every count is bounded by the
 * array it fills.  The wire layouts are the offsets of pcivirt/vpci_proto.h.
 *
 * The decoders are the trust boundary.  They take the payload exactly as the
 * framing layer delivered it (so possibly with up to 7 bytes of padding), check
 * the length against the message type (not shorter than the message, not longer
 * than its largest form rounded up to 8), the direction (a guest may not send
 * BUS_RELATIONS), the protocol version the message needs, and every field range
 * (block byte counts 1..128, slot reserved bits, power states, MSI counts, device
 * counts that would overflow).  The answer is STATUS_SUCCESS with a filled
 * message, STATUS_BAD_DATA with a static reason string, or STATUS_NOT_SUPPORTED
 * for ids that exist but that pcivirt does not serve (INVALIDATE_DEVICE/BUS, TDISP,
 * MSI resources inside RESOURCES_ASSIGNED).
 *
 * The encoders apply the same rules to what the local side sends (a bad message is
 * our bug, answered STATUS_INVALID_PARAMETER) so that whatever one end encodes the
 * other end decodes to the identical message.
 */
#ifndef PCIVIRT_VMBUS_VPCI_MSG_H
#define PCIVIRT_VMBUS_VPCI_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/nt.h"
#include "pcivirt/vpci_proto.h"

/* Who sent a message: decoders reject messages travelling the wrong way. */
enum vpci_dir {
    VPCI_GUEST_TO_HOST = 0,
    VPCI_HOST_TO_GUEST = 1,
};

/* Pass as the negotiated version to skip version gating (before/while negotiating). */
#define VPCI_VERSION_ANY 0u

/* One child in BUS_RELATIONS(2); @flags and @numa_node travel only in the v2 form. */
struct vpci_fn_desc {
    uint16_t vendor_id;
    uint16_t device_id;
    uint8_t revision;
    uint8_t prog_if;
    uint8_t subclass;
    uint8_t base_class;
    uint32_t subsystem; /* sub-vendor low 16, subsystem high 16 */
    uint32_t slot;
    uint32_t serial;
    uint32_t flags; /* VPCI_FN2_FLAG_* */
    uint16_t numa_node;
};

/*
 * A CM_PARTIAL_RESOURCE_DESCRIPTOR as it travels (contract.md 1.6), lossless: the
 * 16-byte union is kept as u.Memory.Start (bytes 4-11), the 32-bit length (12-15)
 * and the remaining 4 bytes (16-19).  vpci_cm_to_nt()/vpci_cm_from_nt() convert.
 */
struct vpci_cm_desc {
    uint8_t type;
    uint8_t share;
    uint16_t flags;
    uint64_t start;
    uint32_t length;
    uint32_t extra;
};

/* An MSI request (CREATE_INTERRUPT_MESSAGE v1, v2 or v3; the message id says which). */
struct vpci_msi_request {
    uint32_t vector;          /* u8 in v1 and v2 */
    uint8_t delivery_mode;    /* VPCI_MSI_DELIVERY_* */
    uint16_t vector_count;    /* 1..32 */
    uint64_t cpu_mask;        /* v1 only */
    uint16_t processor_count; /* v2/v3: 1..32 */
    uint16_t processors[VPCI_MSI_MAX_PROCESSORS];
};

/* The host's MSI answer (tran_int_desc); also the body of DELETE_INTERRUPT_MESSAGE(2). */
struct vpci_msi_mapping {
    uint16_t vector_count;
    uint32_t data;
    uint64_t address;
};

struct vpci_msg {
    uint32_t type; /* PCI_* message id */
    uint32_t slot; /* wslot of per-child messages; 0 otherwise */
    union {
        uint32_t version;      /* QUERY_PROTOCOL_VERSION */
        uint32_t power_state;  /* POWER_STATE_CHANGE: 1 (D0) .. 4 (D3) */
        uint64_t mmio_base;    /* BUS_D0ENTRY: GPA of the 8 KiB config window */
        uint32_t eject_status; /* EJECTION_COMPLETE */
        uint64_t block_mask;   /* INVALIDATE_BLOCK */
        struct {
            uint32_t block_id;
            uint32_t byte_count; /* READ: bytes requested; WRITE: bytes in @data; 1..128 */
            uint8_t data[VPCI_BLOCK_MAX];
        } block;
        struct {
            uint32_t count; /* 0..256 */
            struct vpci_fn_desc fn[VPCI_SLOT_COUNT];
        } relations; /* BUS_RELATIONS (v1 layout) and BUS_RELATIONS2 */
        struct {
            struct vpci_cm_desc desc[VPCI_BAR_COUNT];
            uint32_t msi_count;          /* always 0: MSI resources here are not served */
        } resources;                     /* RESOURCES_ASSIGNED / 2 / 3 */
        struct vpci_msi_request msi;     /* CREATE_INTERRUPT_MESSAGE / 2 / 3 */
        struct vpci_msi_mapping mapping; /* DELETE_INTERRUPT_MESSAGE / 2 */
    } u;
};

/* The payload of a completion, typed by the request it answers (@request_type). */
struct vpci_reply {
    uint32_t request_type;
    NTSTATUS status;
    /* The fields below are meaningful only when NT_SUCCESS(@status). */
    union {
        uint32_t version;                    /* QUERY_PROTOCOL_VERSION: the host's preferred version, 0 if absent */
        uint32_t probed_bar[VPCI_BAR_COUNT]; /* QUERY_RESOURCE_REQUIREMENTS */
        struct {
            uint32_t byte_count; /* bytes delivered: min(bytes requested, payload - 4) */
            uint8_t data[VPCI_BLOCK_MAX];
        } read_block;
        struct {
            uint32_t slot;
            uint32_t state;
        } power;                         /* POWER_STATE_CHANGE: resultant state */
        struct vpci_msi_mapping mapping; /* CREATE_INTERRUPT_MESSAGE / 2 / 3 */
        struct {
            bool translated; /* the optional translated form was present */
            uint32_t slot;
            struct vpci_cm_desc desc[VPCI_BAR_COUNT];
        } resources; /* RESOURCES_ASSIGNED / 2 / 3, QUERY_RESOURCE_RESOURCES */
    } u;
};

/**
 * vpci_msg_dir() - the direction a message id travels.
 * @type: a PCI_* id.
 * @dir: receives the direction.
 *
 * Return: true for the ids this implementation carries (every id of contract.md 8.3
 * except INVALIDATE_DEVICE/BUS and TDISP).
 */
bool vpci_msg_dir(uint32_t type, enum vpci_dir *dir);

/**
 * vpci_msg_min_version() - the lowest protocol version a message id is valid at
 * (RESOURCES_ASSIGNED2 and CREATE_INTERRUPT_MESSAGE2 need 1.2, BUS_RELATIONS2 1.3,
 * RESOURCES_ASSIGNED3 and CREATE_INTERRUPT_MESSAGE3 1.4, RESET_DEVICE 1.5; all others 1.0).
 */
uint32_t vpci_msg_min_version(uint32_t type);

/**
 * vpci_msg_expects_reply() - whether the sender of @type waits for a completion
 * (and so sets VMBUS_PKT_FLAG_COMPLETION_REQUESTED), per what Linux does (8.3).
 */
bool vpci_msg_expects_reply(uint32_t type);

/**
 * vpci_msg_name() - the Linux name of a message id ("PCI_READ_BLOCK"), or NULL.
 */
const char *vpci_msg_name(uint32_t type);

/**
 * vpci_version_known() - true for 1.0 .. 1.6 (contract.md 8.3).
 */
bool vpci_version_known(uint32_t version);

/**
 * vpci_msg_decode() - decode and validate the payload of an in-band packet.
 * @from: who sent it.
 * @version: the negotiated protocol version, or VPCI_VERSION_ANY.
 * @payload, @len: the payload as framed (padding included).
 * @out: receives the message; untouched fields are zero.
 * @reason: optional; receives a static string on failure.
 *
 * Return: STATUS_SUCCESS; STATUS_BAD_DATA for an unknown id, a message from the wrong
 * side, one not valid at @version, a length outside the message's bounds or a field
 * out of range; STATUS_NOT_SUPPORTED for known ids pcivirt does not serve.
 */
NTSTATUS vpci_msg_decode(enum vpci_dir from, uint32_t version, const uint8_t *payload, size_t len, struct vpci_msg *out,
                         const char **reason);

/**
 * vpci_msg_encode() - write @msg in its wire form.
 * @msg: a message whose fields are within the decoder's ranges.
 * @buf, @cap: output buffer (VPCI_MSG_MAX_SIZE always suffices).
 * @out_len: receives the unpadded length: the contract's size of the message
 *           (e.g. 16 for READ_BLOCK, 16 + n for WRITE_BLOCK, 148/202 for RESOURCES_ASSIGNED/2).
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for an unknown id or a field out of
 * range; STATUS_BUFFER_TOO_SMALL when @cap is short.
 */
NTSTATUS vpci_msg_encode(const struct vpci_msg *msg, uint8_t *buf, size_t cap, size_t *out_len);

/**
 * vpci_reply_decode() - decode the payload of a completion.
 * @req: the request this completion answers (its type selects the layout; READ_BLOCK
 *       bounds the data by its byte count).
 * @payload, @len: the completion payload as framed.
 * @out: receives the reply.
 * @reason: optional; receives a static string on failure.
 *
 * A failure status needs only the 4 status bytes.  A success needs the full reply
 * body of @req's type; optional tails (the version in a version reply, the
 * translated resources) are decoded when present.
 *
 * Return: STATUS_SUCCESS or STATUS_BAD_DATA (too short, too long, fields out of range,
 * or @req is not a message that is answered).
 */
NTSTATUS vpci_reply_decode(const struct vpci_msg *req, const uint8_t *payload, size_t len, struct vpci_reply *out,
                           const char **reason);

/**
 * vpci_reply_encode() - write @reply in its wire form.
 * @reply: @request_type selects the layout; failures are encoded as the status alone.
 * @buf, @cap, @out_len: as for vpci_msg_encode().
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for a type that has no reply or a
 * field out of range (read-block byte_count above 128); STATUS_BUFFER_TOO_SMALL.
 */
NTSTATUS vpci_reply_encode(const struct vpci_reply *reply, uint8_t *buf, size_t cap, size_t *out_len);

/* The largest encoded message or reply (BUS_RELATIONS2 with 256 children). */
#define VPCI_MSG_MAX_SIZE (VPCI_RELATIONS_OFF_DESC + VPCI_SLOT_COUNT * VPCI_FN_DESC2_SIZE)

/**
 * vpci_cm_to_nt() - fill a CM_PARTIAL_RESOURCE_DESCRIPTOR from its wire form; the
 * union is filled through the view the type selects (Memory/Port/MemoryLarge: Start
 * and Length; Interrupt: Level, Vector, Affinity; others: DevicePrivate.Data + extra).
 */
void vpci_cm_to_nt(const struct vpci_cm_desc *wire, CM_PARTIAL_RESOURCE_DESCRIPTOR *nt);

/**
 * vpci_cm_from_nt() - the wire form of a CM_PARTIAL_RESOURCE_DESCRIPTOR (inverse of
 * vpci_cm_to_nt() for Null, Port, Memory, MemoryLarge, Interrupt and DevicePrivate).
 */
void vpci_cm_from_nt(const CM_PARTIAL_RESOURCE_DESCRIPTOR *nt, struct vpci_cm_desc *wire);

/**
 * vpci_msg_equal() - field-by-field equality of two decoded messages (only the fields
 * @a's type uses), for round-trip checks.
 */
bool vpci_msg_equal(const struct vpci_msg *a, const struct vpci_msg *b);

/**
 * vpci_reply_equal() - as vpci_msg_equal() for replies.
 */
bool vpci_reply_equal(const struct vpci_reply *a, const struct vpci_reply *b);

#endif /* PCIVIRT_VMBUS_VPCI_MSG_H */
