/*
 * tests/vmbus/test_codec.c - round trips and malformed input for the vPCI codec.
 *
 * Round trips: one sample of every message and every reply, with non-zero values in
 * every field, goes encode -> VMBus frame -> parse -> decode, and must come back
 * field-for-field equal to the sample (compared against the sample the test
 * wrote, not against another decode).  Malformed input: one packet per rule of the
 * decoders and the framing, each built by hand from contract offsets, must be
 * refused with STATUS_BAD_DATA (or STATUS_NOT_SUPPORTED for known ids pcivirt does
 * not serve), never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/le.h"
#include "vmbus/packet.h"
#include "vmbus/vpci_msg.h"

static struct vpci_msg samples[40];
static unsigned nsamples;

static struct vpci_msg *
add(uint32_t type, uint32_t slot)
{
    struct vpci_msg *m = &samples[nsamples++];

    memset(m, 0, sizeof(*m));
    m->type = type;
    m->slot = slot;
    return m;
}

static void
fill_msi(struct vpci_msg *m, uint32_t vector)
{
    m->u.msi.vector = vector;
    m->u.msi.delivery_mode = VPCI_MSI_DELIVERY_LOWEST;
    m->u.msi.vector_count = 32;
    if (m->type == PCI_CREATE_INTERRUPT_MESSAGE) {
        m->u.msi.cpu_mask = 0x8000000000000003ull;
        return;
    }
    m->u.msi.processor_count = 32;
    for (unsigned i = 0; i < 32; i++) {
        m->u.msi.processors[i] = (uint16_t)(i * 3 + 1);
    }
}

static void
fill_relations(struct vpci_msg *m, uint32_t count)
{
    m->u.relations.count = count;
    for (uint32_t i = 0; i < count; i++) {
        struct vpci_fn_desc *fn = &m->u.relations.fn[i];

        fn->vendor_id = 0x15B3;
        fn->device_id = (uint16_t)(0x1000 + i);
        fn->revision = (uint8_t)i;
        fn->prog_if = 1;
        fn->subclass = 2;
        fn->base_class = 3;
        fn->subsystem = 0x00011014u + i;
        fn->slot = 255 - i; /* every slot, each once */
        fn->serial = 0xDEAD0000u + i;
        if (m->type == PCI_BUS_RELATIONS2) {
            fn->flags = i & 1;
            fn->numa_node = (uint16_t)(i % 4);
        }
    }
}

static void
build_samples(void)
{
    struct vpci_msg *m;

    nsamples = 0;
    fill_relations(add(PCI_BUS_RELATIONS, 0), 3);
    fill_relations(add(PCI_BUS_RELATIONS2, 0), 256);
    add(PCI_BUS_RELATIONS, 0); /* zero children: the host removed everything */
    add(PCI_QUERY_BUS_RELATIONS, 0);
    add(PCI_POWER_STATE_CHANGE, 0x25)->u.power_state = PowerDeviceD3;
    add(PCI_QUERY_RESOURCE_REQUIREMENTS, 0xFF);
    add(PCI_QUERY_RESOURCE_RESOURCES, 1);
    add(PCI_BUS_D0ENTRY, 0)->u.mmio_base = 0xFFFFFFFFFFFFE000ull; /* the highest window that fits */
    add(PCI_BUS_D0EXIT, 0);
    m = add(PCI_READ_BLOCK, 0x3);
    m->u.block.block_id = 0xFFFFFFFFu;
    m->u.block.byte_count = 1;
    m = add(PCI_WRITE_BLOCK, 0x4);
    m->u.block.block_id = 63;
    m->u.block.byte_count = 128;
    for (unsigned i = 0; i < 128; i++) {
        m->u.block.data[i] = (uint8_t)(255 - i);
    }
    add(PCI_EJECT, 7);
    add(PCI_QUERY_STOP, 7);
    add(PCI_REENABLE, 7);
    add(PCI_QUERY_STOP_FAILED, 7);
    add(PCI_EJECTION_COMPLETE, 7)->u.eject_status = 0xC0000001u;
    m = add(PCI_RESOURCES_ASSIGNED, 8);
    m->u.resources.desc[0] =
        (struct vpci_cm_desc){CmResourceTypeMemory, 1, CM_RESOURCE_MEMORY_PREFETCHABLE, 0xF0000000ull, 0x4000, 0x11};
    m->u.resources.desc[2] =
        (struct vpci_cm_desc){CmResourceTypeMemoryLarge, 1, CM_RESOURCE_MEMORY_LARGE_64, 0x100000000000ull, 2, 0};
    samples[nsamples] = *m;
    samples[nsamples++].type = PCI_RESOURCES_ASSIGNED2;
    samples[nsamples] = *m;
    samples[nsamples++].type = PCI_RESOURCES_ASSIGNED3;
    add(PCI_RESOURCES_RELEASED, 8);
    add(PCI_INVALIDATE_BLOCK, 9)->u.block_mask = 0xFFFFFFFFFFFFFFFFull;
    add(PCI_QUERY_PROTOCOL_VERSION, 0)->u.version = PCI_PROTOCOL_VERSION_1_4;
    fill_msi(add(PCI_CREATE_INTERRUPT_MESSAGE, 10), 0xEF);
    fill_msi(add(PCI_CREATE_INTERRUPT_MESSAGE2, 10), 0x30);
    fill_msi(add(PCI_CREATE_INTERRUPT_MESSAGE3, 10), 0x12345678u);
    m = add(PCI_DELETE_INTERRUPT_MESSAGE, 10);
    m->u.mapping = (struct vpci_msi_mapping){2, 0x4055, 0xFEE0100Cull};
    samples[nsamples] = *m;
    samples[nsamples++].type = PCI_DELETE_INTERRUPT_MESSAGE2;
    add(PCI_RESET_DEVICE, 11);
}

/* Frame @len bytes of @payload as an in-band packet and decode it back. */
static NTSTATUS
frame_and_decode(const uint8_t *payload, size_t len, enum vpci_dir dir, uint32_t version, struct vpci_msg *out,
                 const char **reason)
{
    static uint8_t pkt[VMBUS_PKT_MAX];
    struct vmbus_pkt view;
    size_t pkt_len;

    assert_int_equal(vmbus_pkt_build(pkt, sizeof(pkt), VMBUS_PKT_TYPE_INBAND, 1, 42, payload, len, &pkt_len),
                     STATUS_SUCCESS);
    assert_int_equal(vmbus_pkt_parse(pkt, pkt_len, &view, NULL), STATUS_SUCCESS);
    assert_int_equal(view.payload_len % 8, 0);
    assert_true(view.trans_id == 42);
    return vpci_msg_decode(dir, version, view.payload, view.payload_len, out, reason);
}

static void
test_message_round_trips(void **state)
{
    static uint8_t wire[VPCI_MSG_MAX_SIZE];
    static struct vpci_msg back;

    (void)state;
    build_samples();
    /* every message id of contract.md 8.3 that pcivirt serves has a sample */
    for (uint32_t id = PCI_MESSAGE_BASE; id <= PCI_MESSAGE_LAST; id++) {
        bool found = false;

        for (unsigned i = 0; i < nsamples; i++) {
            found |= samples[i].type == id;
        }
        assert_true(found || !vpci_msg_dir(id, NULL));
    }
    for (unsigned i = 0; i < nsamples; i++) {
        const struct vpci_msg *m = &samples[i];
        enum vpci_dir dir;
        const char *reason = NULL;
        size_t len;

        assert_true(vpci_msg_dir(m->type, &dir));
        assert_int_equal(vpci_msg_encode(m, wire, sizeof(wire), &len), STATUS_SUCCESS);
        assert_int_equal(frame_and_decode(wire, len, dir, vpci_msg_min_version(m->type), &back, &reason),
                         STATUS_SUCCESS);
        assert_null(reason);
        if (!vpci_msg_equal(m, &back)) {
            fail_msg("round trip of %s changed the message", vpci_msg_name(m->type));
        }
    }
}

static void
test_reply_round_trips(void **state)
{
    static const uint32_t types[] = {
        PCI_QUERY_PROTOCOL_VERSION,
        PCI_QUERY_RESOURCE_REQUIREMENTS,
        PCI_READ_BLOCK,
        PCI_POWER_STATE_CHANGE,
        PCI_CREATE_INTERRUPT_MESSAGE,
        PCI_CREATE_INTERRUPT_MESSAGE3,
        PCI_RESOURCES_ASSIGNED,
        PCI_RESOURCES_ASSIGNED2,
        PCI_QUERY_RESOURCE_RESOURCES,
        PCI_BUS_D0ENTRY,
        PCI_BUS_D0EXIT,
        PCI_WRITE_BLOCK,
        PCI_RESET_DEVICE,
        PCI_QUERY_STOP,
    };
    uint8_t wire[VPCI_MSG_MAX_SIZE];

    (void)state;
    for (unsigned t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        for (int fail = 0; fail < 2; fail++) {
            struct vpci_reply r, back;
            struct vpci_msg req;
            size_t len;

            memset(&r, 0, sizeof(r));
            memset(&req, 0, sizeof(req));
            req.type = r.request_type = types[t];
            req.slot = 4;
            req.u.block.byte_count = 77;
            r.status = fail ? STATUS_BAD_DATA : STATUS_SUCCESS;
            r.u.read_block.byte_count = 77; /* overlaps other union members: fills them with non-zero data */
            for (unsigned i = 0; i < 77; i++) {
                r.u.read_block.data[i] = (uint8_t)(i + 1);
            }
            if (types[t] == PCI_RESOURCES_ASSIGNED || types[t] == PCI_RESOURCES_ASSIGNED2 ||
                types[t] == PCI_QUERY_RESOURCE_RESOURCES) {
                memset(&r.u, 0, sizeof(r.u));
                r.u.resources.translated = true;
                r.u.resources.slot = 4;
                r.u.resources.desc[1] = (struct vpci_cm_desc){CmResourceTypeMemory, 1, 0, 0xE0000000ull, 0x2000, 0};
            }
            assert_int_equal(vpci_reply_encode(&r, wire, sizeof(wire), &len), STATUS_SUCCESS);
            /* replies travel padded, like everything else */
            while (len % 8 != 0) {
                wire[len++] = 0;
            }
            assert_int_equal(vpci_reply_decode(&req, wire, len, &back, NULL), STATUS_SUCCESS);
            if (!vpci_reply_equal(&r, &back)) {
                fail_msg("reply round trip of %s (%s) changed it", vpci_msg_name(types[t]), fail ? "failure" : "ok");
            }
        }
    }
}

static void
test_write_block_linux_slack(void **state)
{
    uint8_t wire[160];
    struct vpci_msg m;

    (void)state;
    /* Linux sends 16 + n + 4 bytes; the host must rely on byte_count (contract.md 8.3). */
    memset(wire, 0xCC, sizeof(wire));
    le32_put(wire + 0, PCI_WRITE_BLOCK);
    le32_put(wire + 4, 2);
    le32_put(wire + 8, 1);
    le32_put(wire + 12, 128);
    assert_int_equal(frame_and_decode(wire, 16 + 128 + 4, VPCI_GUEST_TO_HOST, VPCI_VERSION_ANY, &m, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(m.u.block.byte_count, 128);
    assert_int_equal(m.u.block.data[127], 0xCC);
    le32_put(wire + 12, 3);
    assert_int_equal(frame_and_decode(wire, 16 + 3 + 4, VPCI_GUEST_TO_HOST, VPCI_VERSION_ANY, &m, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(m.u.block.byte_count, 3);
}

static void
test_read_block_reply_count(void **state)
{
    uint8_t wire[136] = {0};
    struct vpci_msg req = {.type = PCI_READ_BLOCK};
    struct vpci_reply r;

    (void)state;
    /* contract.md 8.7: bytes returned = min(len, payload - 4); the payload is padded to 8 */
    req.u.block.byte_count = 5;
    assert_int_equal(vpci_reply_decode(&req, wire, 16, &r, NULL), STATUS_SUCCESS);
    assert_int_equal(r.u.read_block.byte_count, 5);
    req.u.block.byte_count = 128;
    assert_int_equal(vpci_reply_decode(&req, wire, 16, &r, NULL), STATUS_SUCCESS);
    assert_int_equal(r.u.read_block.byte_count, 12);
    assert_int_equal(vpci_reply_decode(&req, wire, 4, &r, NULL), STATUS_BAD_DATA); /* success without data */
    le32_put(wire, (uint32_t)STATUS_INVALID_PARAMETER);
    assert_int_equal(vpci_reply_decode(&req, wire, 8, &r, NULL), STATUS_SUCCESS);
    assert_int_equal(r.status, STATUS_INVALID_PARAMETER);
}

static void
test_cm_conversion(void **state)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR nt;
    struct vpci_cm_desc w = {CmResourceTypeMemoryLarge, 1, CM_RESOURCE_MEMORY_LARGE_40, 0x2000000000ull, 0x100, 0};
    struct vpci_cm_desc back;
    ULONGLONG start = 0;

    (void)state;
    vpci_cm_to_nt(&w, &nt);
    /* The NT helper (contract.md 1.6) is the oracle for the MemoryLarge length: 0x100 << 8. */
    assert_true(RtlCmDecodeMemIoResource(&nt, &start) == 0x10000ull);
    assert_true(start == 0x2000000000ull);
    vpci_cm_from_nt(&nt, &back);
    assert_true(back.type == w.type && back.share == w.share && back.flags == w.flags);
    assert_true(back.start == w.start && back.length == w.length && back.extra == w.extra);
    w = (struct vpci_cm_desc){CmResourceTypeInterrupt, 0, 0, 0x0000002100000005ull, 0x0000000F, 0x1};
    vpci_cm_to_nt(&w, &nt);
    assert_int_equal(nt.u.Interrupt.Level, 5);
    assert_int_equal(nt.u.Interrupt.Vector, 0x21);
    assert_true(nt.u.Interrupt.Affinity == 0x10000000Full);
    vpci_cm_from_nt(&nt, &back);
    assert_true(back.start == w.start && back.length == w.length && back.extra == w.extra);
}

/* ---- malformed input ---- */

/* A patch of a malformed message: @width (1 or 4) little-endian bytes of @value at @off. */
struct patch {
    uint8_t off;
    uint8_t width; /* 0: no patch */
    uint32_t value;
};

/* One malformed message: its id at offset 0, @len bytes in all (zero but for the patches). */
struct bad_case {
    const char *what;
    uint32_t type;
    size_t len;
    struct patch patch[2];
    enum vpci_dir dir; /* default: from the guest */
    uint32_t version;  /* default: VPCI_VERSION_ANY */
    NTSTATUS want;     /* default (0): STATUS_BAD_DATA */
};

/* A case: what it is, the message id, the length, then any of .patch, .dir, .version, .want. */
#define BAD(what_, type_, len_, ...)                                                                                   \
    {                                                                                                                  \
        .what = (what_), .type = (type_), .len = (len_), __VA_ARGS__                                                   \
    }

/* Each case decodes to its status (never success) with a reason; a failure names the case. */
static void
expect_rejected(const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *c = &cases[i];
        NTSTATUS want = c->want != 0 ? c->want : STATUS_BAD_DATA;
        uint8_t bytes[160] = {0};
        const char *reason = NULL;
        struct vpci_msg m;
        NTSTATUS st;

        assert_true(c->len <= sizeof(bytes));
        le32_put(bytes, c->type);
        for (size_t k = 0; k < sizeof(c->patch) / sizeof(c->patch[0]); k++) {
            if (c->patch[k].width == 4) {
                le32_put(bytes + c->patch[k].off, c->patch[k].value);
            } else if (c->patch[k].width == 1) {
                bytes[c->patch[k].off] = (uint8_t)c->patch[k].value;
            }
        }
        st = vpci_msg_decode(c->dir, c->version, bytes, c->len, &m, &reason);
        if (st != want) {
            fail_msg("%s: got 0x%08x, want 0x%08x", c->what, (unsigned)st, (unsigned)want);
        }
        if (reason == NULL) {
            fail_msg("%s: rejected without a reason", c->what);
        }
    }
}

static const struct bad_case bad_messages[] = {
    BAD("unknown id below the base", 0x4248FFFF, 8),
    BAD("unknown id above the last", PCI_MESSAGE_LAST + 1, 8),
    BAD("id only 3 bytes", PCI_READ_BLOCK, 3),
    BAD("truncated read block", PCI_READ_BLOCK, 15),
    BAD("oversized read block", PCI_READ_BLOCK, 24),
    BAD("read block of 0 bytes", PCI_READ_BLOCK, 16),
    BAD("read block of 129 bytes", PCI_READ_BLOCK, 16, .patch = {{12, 4, 129}}),
    BAD("read block slot reserved bits", PCI_READ_BLOCK, 16, .patch = {{8, 4, 0x100}, {12, 4, 4}}),
    BAD("write block of 0 bytes", PCI_WRITE_BLOCK, 24),
    BAD("write block of 129 bytes", PCI_WRITE_BLOCK, 152, .patch = {{12, 4, 129}}),
    BAD("write block byte_count beyond the payload", PCI_WRITE_BLOCK, 24, .patch = {{12, 4, 9}}),
    BAD("write block longer than 16 + 128 + 4 padded", PCI_WRITE_BLOCK, 160, .patch = {{12, 4, 128}}),
    BAD("power state 0", PCI_POWER_STATE_CHANGE, 16),
    BAD("power state 5", PCI_POWER_STATE_CHANGE, 16, .patch = {{8, 4, 5}}),
    BAD("slot reserved bits", PCI_RESOURCES_RELEASED, 8, .patch = {{4, 4, 0x80000001u}}),
    BAD("D0 entry window not page aligned", PCI_BUS_D0ENTRY, 16, .patch = {{8, 4, 0x1800}}),
    BAD("D0 entry window wraps", PCI_BUS_D0ENTRY, 16, .patch = {{8, 4, 0xFFFFF000u}, {12, 4, 0xFFFFFFFFu}}),
    BAD("resources assigned truncated", PCI_RESOURCES_ASSIGNED, 135),
    BAD("resources assigned with an I/O port descriptor", PCI_RESOURCES_ASSIGNED, 148,
        .patch = {{8 + 20, 1, CmResourceTypePort}}),
    BAD("resources assigned MemoryLarge without a LARGE flag", PCI_RESOURCES_ASSIGNED, 148,
        .patch = {{8, 1, CmResourceTypeMemoryLarge}}),
    BAD("resources assigned with MSI resources", PCI_RESOURCES_ASSIGNED, 152, .patch = {{128, 4, 1}},
        .want = STATUS_NOT_SUPPORTED),
    BAD("resources assigned v1 longer than 148 padded", PCI_RESOURCES_ASSIGNED, 160),
    BAD("create interrupt with 0 vectors", PCI_CREATE_INTERRUPT_MESSAGE, 24),
    BAD("create interrupt with 33 vectors", PCI_CREATE_INTERRUPT_MESSAGE, 24, .patch = {{10, 1, 33}}),
    BAD("create interrupt unknown delivery mode", PCI_CREATE_INTERRUPT_MESSAGE, 24, .patch = {{9, 1, 2}, {10, 1, 1}}),
    BAD("create interrupt 2 with 33 processors", PCI_CREATE_INTERRUPT_MESSAGE2, 78, .patch = {{10, 1, 1}, {12, 1, 33}}),
    BAD("create interrupt 2 truncated", PCI_CREATE_INTERRUPT_MESSAGE2, 77),
    BAD("BUS_RELATIONS2 before protocol 1.3", PCI_BUS_RELATIONS2, 8, .dir = VPCI_HOST_TO_GUEST,
        .version = PCI_PROTOCOL_VERSION_1_2),
    BAD("RESET_DEVICE before protocol 1.5", PCI_RESET_DEVICE, 8, .version = PCI_PROTOCOL_VERSION_1_4),
    BAD("host message from the guest", PCI_INVALIDATE_BLOCK, 16),
    BAD("guest message from the host", PCI_READ_BLOCK, 16, .patch = {{12, 4, 4}}, .dir = VPCI_HOST_TO_GUEST),
    BAD("TDISP", PCI_VPCI_TDISP_COMMAND, 16, .want = STATUS_NOT_SUPPORTED),
    BAD("INVALIDATE_DEVICE", PCI_INVALIDATE_DEVICE, 8, .want = STATUS_NOT_SUPPORTED),
};

/* BUS_RELATIONS(2) come from the host. */
static const struct bad_case bad_relations[] = {
    BAD("device_count overflowing 32 bits", PCI_BUS_RELATIONS, 48, .patch = {{4, 4, 0xFFFFFFFFu}},
        .dir = VPCI_HOST_TO_GUEST),
    BAD("device_count 257", PCI_BUS_RELATIONS, 48, .patch = {{4, 4, 257}}, .dir = VPCI_HOST_TO_GUEST),
    BAD("device_count beyond the descriptors", PCI_BUS_RELATIONS, 48, .patch = {{4, 4, 3}},
        .dir = VPCI_HOST_TO_GUEST), /* needs 68 bytes */
    BAD("bytes beyond the descriptors", PCI_BUS_RELATIONS, 56, .patch = {{4, 4, 1}},
        .dir = VPCI_HOST_TO_GUEST), /* 28 bytes, padded 32 */
    BAD("duplicate slot", PCI_BUS_RELATIONS, 48, .patch = {{4, 4, 2}},
        .dir = VPCI_HOST_TO_GUEST), /* both descriptors say slot 0 */
    BAD("descriptor slot reserved bits", PCI_BUS_RELATIONS, 32, .patch = {{4, 4, 1}, {8 + 12, 4, 0x200}},
        .dir = VPCI_HOST_TO_GUEST),
    BAD("unknown v2 flag", PCI_BUS_RELATIONS2, 40, .patch = {{4, 4, 1}, {8 + 20, 4, 2}}, .dir = VPCI_HOST_TO_GUEST),
};

static void
test_malformed_messages(void **state)
{
    (void)state;
    expect_rejected(bad_messages, sizeof(bad_messages) / sizeof(bad_messages[0]));
}

static void
test_malformed_relations(void **state)
{
    (void)state;
    expect_rejected(bad_relations, sizeof(bad_relations) / sizeof(bad_relations[0]));
}

static void
test_malformed_framing(void **state)
{
    uint8_t pkt[64];
    struct vmbus_pkt view;
    const char *reason;
    size_t len;

    (void)state;
    memset(pkt, 0, sizeof(pkt));
    assert_int_equal(vmbus_pkt_build(pkt, sizeof(pkt), 6, 0, 1, (const uint8_t *)"\x09\x00\x49\x42", 4, &len),
                     STATUS_SUCCESS);
    assert_int_equal(vmbus_pkt_parse(pkt, len, &view, NULL), STATUS_SUCCESS);
    assert_int_equal(vmbus_pkt_parse(pkt, 15, &view, &reason), STATUS_BAD_DATA); /* truncated descriptor */
    assert_int_equal(vmbus_pkt_parse(pkt, 16, &view, &reason), STATUS_BAD_DATA); /* len8 says 24 */
    assert_int_equal(vmbus_pkt_parse(pkt, 20, &view, &reason), STATUS_BAD_DATA); /* not a multiple of 8 */
    assert_int_equal(vmbus_pkt_parse(pkt, 32, &view, &reason), STATUS_BAD_DATA); /* longer than len8 */
    assert_int_equal(vmbus_pkt_parse(NULL, 0, &view, &reason), STATUS_BAD_DATA);
    le16_put(pkt + 4, 0x7FF);
    assert_int_equal(vmbus_pkt_parse(pkt, len, &view, &reason), STATUS_BAD_DATA); /* len8 beyond the packet */
    le16_put(pkt + 4, 3);
    le16_put(pkt + 2, 1);
    assert_int_equal(vmbus_pkt_parse(pkt, len, &view, &reason), STATUS_BAD_DATA); /* offset8 inside descriptor */
    le16_put(pkt + 2, 4);
    assert_int_equal(vmbus_pkt_parse(pkt, len, &view, &reason), STATUS_BAD_DATA); /* offset8 beyond the packet */
    le16_put(pkt + 2, 2);
    le16_put(pkt + 0, 7);
    assert_int_equal(vmbus_pkt_parse(pkt, len, &view, &reason), STATUS_BAD_DATA); /* unknown type */
    le16_put(pkt + 0, 6);
    le16_put(pkt + 6, 2);
    assert_int_equal(vmbus_pkt_parse(pkt, len, &view, &reason), STATUS_BAD_DATA); /* unknown flag */
    le16_put(pkt + 0, 11);
    le16_put(pkt + 6, 1);
    assert_int_equal(vmbus_pkt_parse(pkt, len, &view, &reason), STATUS_BAD_DATA); /* completion with flag */
    assert_string_equal(reason, "completion packet with the completion-requested flag");
    /* a packet the size of a whole ring cannot exist */
    assert_int_equal(vmbus_pkt_size(VMBUS_PKT_MAX), 0);
    assert_int_equal(vmbus_pkt_build(pkt, sizeof(pkt), 6, 0, 0, pkt, VMBUS_PKT_MAX, &len), STATUS_INVALID_PARAMETER);
}

static void
test_encoder_refuses_bad_messages(void **state)
{
    uint8_t wire[VPCI_MSG_MAX_SIZE];
    struct vpci_msg m;
    size_t len;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = PCI_WRITE_BLOCK;
    m.u.block.byte_count = 129;
    assert_int_equal(vpci_msg_encode(&m, wire, sizeof(wire), &len), STATUS_INVALID_PARAMETER);
    m.type = PCI_READ_BLOCK;
    m.u.block.byte_count = 0;
    assert_int_equal(vpci_msg_encode(&m, wire, sizeof(wire), &len), STATUS_INVALID_PARAMETER);
    m.type = PCI_EJECT;
    m.slot = 0x100;
    assert_int_equal(vpci_msg_encode(&m, wire, sizeof(wire), &len), STATUS_INVALID_PARAMETER);
    m.slot = 1;
    assert_int_equal(vpci_msg_encode(&m, wire, 7, &len), STATUS_BUFFER_TOO_SMALL);
    m.type = PCI_VPCI_TDISP_COMMAND;
    assert_int_equal(vpci_msg_encode(&m, wire, sizeof(wire), &len), STATUS_INVALID_PARAMETER);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_round_trips),
        cmocka_unit_test(test_reply_round_trips),
        cmocka_unit_test(test_write_block_linux_slack),
        cmocka_unit_test(test_read_block_reply_count),
        cmocka_unit_test(test_cm_conversion),
        cmocka_unit_test(test_malformed_messages),
        cmocka_unit_test(test_malformed_relations),
        cmocka_unit_test(test_malformed_framing),
        cmocka_unit_test(test_encoder_refuses_bad_messages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
