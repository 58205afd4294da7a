/*
 * tests/vmbus/test_layout.c - every vPCI wire layout against contract.md's tables.
 *
 * The oracle is the text of contract.md 8.2/8.3, 1.6 and Appendix B: the offsets
 * and sizes below are typed in from the contract (literal numbers, never the
 * header's constants).  Each test encodes a message with distinct field values and
 * reads the bytes back at the contract's offsets, so a wrong constant, a swapped
 * field or a wrong size fails here even if the header's own static assertions
 * (which only check internal consistency) pass.
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

static uint8_t buf[VPCI_MSG_MAX_SIZE];

static size_t
encode(const struct vpci_msg *m)
{
    size_t len = 0;

    memset(buf, 0xEE, sizeof(buf));
    assert_int_equal(vpci_msg_encode(m, buf, sizeof(buf), &len), STATUS_SUCCESS);
    assert_int_equal(le32_get(buf + 0), m->type); /* "0 type" in every row of 8.3 */
    return len;
}

static size_t
encode_reply(const struct vpci_reply *r)
{
    size_t len = 0;

    memset(buf, 0xEE, sizeof(buf));
    assert_int_equal(vpci_reply_encode(r, buf, sizeof(buf), &len), STATUS_SUCCESS);
    assert_int_equal((int32_t)le32_get(buf + 0), r->status); /* completions start with the status (8.2) */
    return len;
}

static void
test_ids_and_versions(void **state)
{
    (void)state;
    /* contract.md 8.3, table column "id" */
    assert_int_equal(PCI_MESSAGE_BASE, 0x42490000);
    assert_int_equal(PCI_BUS_RELATIONS, 0x42490000);
    assert_int_equal(PCI_QUERY_BUS_RELATIONS, 0x42490001);
    assert_int_equal(PCI_INVALIDATE_DEVICE, 0x42490002);
    assert_int_equal(PCI_INVALIDATE_BUS, 0x42490003);
    assert_int_equal(PCI_POWER_STATE_CHANGE, 0x42490004);
    assert_int_equal(PCI_QUERY_RESOURCE_REQUIREMENTS, 0x42490005);
    assert_int_equal(PCI_QUERY_RESOURCE_RESOURCES, 0x42490006);
    assert_int_equal(PCI_BUS_D0ENTRY, 0x42490007);
    assert_int_equal(PCI_BUS_D0EXIT, 0x42490008);
    assert_int_equal(PCI_READ_BLOCK, 0x42490009);
    assert_int_equal(PCI_WRITE_BLOCK, 0x4249000A);
    assert_int_equal(PCI_EJECT, 0x4249000B);
    assert_int_equal(PCI_QUERY_STOP, 0x4249000C);
    assert_int_equal(PCI_REENABLE, 0x4249000D);
    assert_int_equal(PCI_QUERY_STOP_FAILED, 0x4249000E);
    assert_int_equal(PCI_EJECTION_COMPLETE, 0x4249000F);
    assert_int_equal(PCI_RESOURCES_ASSIGNED, 0x42490010);
    assert_int_equal(PCI_RESOURCES_RELEASED, 0x42490011);
    assert_int_equal(PCI_INVALIDATE_BLOCK, 0x42490012);
    assert_int_equal(PCI_QUERY_PROTOCOL_VERSION, 0x42490013);
    assert_int_equal(PCI_CREATE_INTERRUPT_MESSAGE, 0x42490014);
    assert_int_equal(PCI_DELETE_INTERRUPT_MESSAGE, 0x42490015);
    assert_int_equal(PCI_RESOURCES_ASSIGNED2, 0x42490016);
    assert_int_equal(PCI_CREATE_INTERRUPT_MESSAGE2, 0x42490017);
    assert_int_equal(PCI_DELETE_INTERRUPT_MESSAGE2, 0x42490018);
    assert_int_equal(PCI_BUS_RELATIONS2, 0x42490019);
    assert_int_equal(PCI_RESOURCES_ASSIGNED3, 0x4249001A);
    assert_int_equal(PCI_CREATE_INTERRUPT_MESSAGE3, 0x4249001B);
    assert_int_equal(PCI_RESET_DEVICE, 0x4249001C);
    assert_int_equal(PCI_VPCI_TDISP_COMMAND, 0x4249001D);
    /* protocol versions, major << 16 | minor */
    assert_int_equal(PCI_PROTOCOL_VERSION_1_0, 0x00010000);
    assert_int_equal(PCI_PROTOCOL_VERSION_1_1, 0x00010001);
    assert_int_equal(PCI_PROTOCOL_VERSION_1_2, 0x00010002);
    assert_int_equal(PCI_PROTOCOL_VERSION_1_3, 0x00010003);
    assert_int_equal(PCI_PROTOCOL_VERSION_1_4, 0x00010004);
    assert_int_equal(PCI_PROTOCOL_VERSION_1_5, 0x00010005);
    assert_int_equal(PCI_PROTOCOL_VERSION_1_6, 0x00010006);
    assert_int_equal(vpci_msg_min_version(PCI_RESET_DEVICE), 0x00010005); /* "protocol version 0x10005" */
    /* 8.1: 16 KiB per direction */
    assert_int_equal(VMBUS_RING_SIZE, 16384);
}

static void
test_slot_encoding(void **state)
{
    (void)state;
    /* "bits 0-4 device, bits 5-7 function, bits 8-31 reserved" */
    assert_int_equal(vpci_slot_make(0x1F, 0), 0x1F);
    assert_int_equal(vpci_slot_make(0, 7), 0xE0);
    assert_int_equal(vpci_slot_make(3, 2), 3 | (2 << 5));
    assert_int_equal(vpci_slot_device(0xE5), 5);
    assert_int_equal(vpci_slot_function(0xE5), 7);
    assert_true(vpci_slot_valid(0xFF));
    assert_false(vpci_slot_valid(0x100));
    assert_false(vpci_slot_valid(0x80000000u));
    /* not Linux devfn: device 3 function 2 is devfn 0x1A */
    assert_int_equal(vpci_slot_to_devfn(vpci_slot_make(3, 2)), 0x1A);
}

static void
test_vmbus_descriptor(void **state)
{
    uint8_t payload[5] = {1, 2, 3, 4, 5};
    uint8_t pkt[64];
    size_t len;

    (void)state;
    assert_int_equal(vmbus_pkt_build(pkt, sizeof(pkt), 6, 1, 0x1122334455667788ull, payload, 5, &len), STATUS_SUCCESS);
    /* 8.2: {u16 type @0, u16 offset8 @2, u16 len8 @4, u16 flags @6, u64 transaction id @8}, payload padded to 8 */
    assert_int_equal(len, 16 + 8);
    assert_int_equal(le16_get(pkt + 0), 6);
    assert_int_equal(le16_get(pkt + 2), 16 / 8);
    assert_int_equal(le16_get(pkt + 4), 24 / 8);
    assert_int_equal(le16_get(pkt + 6), 1);
    assert_true(le64_get(pkt + 8) == 0x1122334455667788ull);
    assert_memory_equal(pkt + 16, payload, 5);
    assert_int_equal(pkt[21] | pkt[22] | pkt[23], 0);
}

static void
test_bus_relations_v1_v2(void **state)
{
    static struct vpci_msg m;
    size_t len;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = PCI_BUS_RELATIONS;
    m.u.relations.count = 2;
    for (unsigned i = 0; i < 2; i++) {
        struct vpci_fn_desc *fn = &m.u.relations.fn[i];

        fn->vendor_id = 0x8086;
        fn->device_id = (uint16_t)(0x10ED + i);
        fn->revision = 0x01;
        fn->prog_if = 0x02;
        fn->subclass = 0x03;
        fn->base_class = 0x04;
        fn->subsystem = 0xABCD8086u;
        fn->slot = vpci_slot_make(i, 0);
        fn->serial = 1000 + i;
    }
    len = encode(&m);
    /* 0 type, 4 device_count, 8 descriptors of 20 bytes */
    assert_int_equal(len, 8 + 2 * 20);
    assert_int_equal(le32_get(buf + 4), 2);
    for (unsigned i = 0; i < 2; i++) {
        const uint8_t *d = buf + 8 + 20 * i;

        assert_int_equal(le16_get(d + 0), 0x8086);
        assert_int_equal(le16_get(d + 2), 0x10ED + i);
        assert_int_equal(d[4], 0x01);
        assert_int_equal(d[5], 0x02);
        assert_int_equal(d[6], 0x03);
        assert_int_equal(d[7], 0x04);
        assert_int_equal(le16_get(d + 8), 0x8086);  /* sub-vendor low 16 */
        assert_int_equal(le16_get(d + 10), 0xABCD); /* subsystem high 16 */
        assert_int_equal(le32_get(d + 12), i);
        assert_int_equal(le32_get(d + 16), 1000 + i);
    }
    /* v2: 28-byte descriptors, 20 u32 flags (bit 0 = NUMA valid), 24 u16 NUMA node, 26 reserved */
    m.type = PCI_BUS_RELATIONS2;
    m.u.relations.fn[1].flags = 1;
    m.u.relations.fn[1].numa_node = 0x0203;
    len = encode(&m);
    assert_int_equal(len, 8 + 2 * 28);
    assert_int_equal(le32_get(buf + 8 + 28 + 12), 1);
    assert_int_equal(le32_get(buf + 8 + 28 + 16), 1001);
    assert_int_equal(le32_get(buf + 8 + 28 + 20), 1);
    assert_int_equal(le16_get(buf + 8 + 28 + 24), 0x0203);
    assert_int_equal(le16_get(buf + 8 + 28 + 26), 0);
}

static void
test_child_messages(void **state)
{
    struct vpci_msg m;
    size_t len;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = PCI_QUERY_BUS_RELATIONS;
    assert_int_equal(encode(&m), 4); /* "0 type (4 bytes)" */

    m.type = PCI_POWER_STATE_CHANGE; /* 0 type, 4 slot, 8 u32 power state, 12 reserved */
    m.slot = 0x21;
    m.u.power_state = 4;
    len = encode(&m);
    assert_int_equal(len, 16);
    assert_int_equal(le32_get(buf + 4), 0x21);
    assert_int_equal(le32_get(buf + 8), 4);
    assert_int_equal(le32_get(buf + 12), 0);

    memset(&m, 0, sizeof(m));
    m.type = PCI_QUERY_RESOURCE_REQUIREMENTS; /* 0 type, 4 slot */
    m.slot = 0x42;
    assert_int_equal(encode(&m), 8);
    assert_int_equal(le32_get(buf + 4), 0x42);

    m.type = PCI_QUERY_RESOURCE_RESOURCES; /* 0 type, 4 slot, 8 reserved u64[3] */
    assert_int_equal(encode(&m), 32);
    assert_int_equal(le32_get(buf + 4), 0x42);
    assert_true(le64_get(buf + 8) == 0 && le64_get(buf + 16) == 0 && le64_get(buf + 24) == 0);

    memset(&m, 0, sizeof(m));
    m.type = PCI_BUS_D0ENTRY; /* 0 type, 4 reserved, 8 u64 GPA of the 8 KiB config window */
    m.u.mmio_base = 0xFE0000000ull;
    assert_int_equal(encode(&m), 16);
    assert_int_equal(le32_get(buf + 4), 0);
    assert_true(le64_get(buf + 8) == 0xFE0000000ull);

    m.type = PCI_BUS_D0EXIT; /* 0 type */
    assert_int_equal(encode(&m), 4);

    memset(&m, 0, sizeof(m));
    m.type = PCI_EJECT; /* 0 type, 4 slot */
    m.slot = 7;
    assert_int_equal(encode(&m), 8);
    assert_int_equal(le32_get(buf + 4), 7);

    m.type = PCI_EJECTION_COMPLETE; /* 0 type, 4 slot, 8 u32 status */
    m.u.eject_status = 0xC0000001u;
    assert_int_equal(encode(&m), 12);
    assert_int_equal(le32_get(buf + 8), 0xC0000001u);

    memset(&m, 0, sizeof(m));
    m.type = PCI_RESOURCES_RELEASED; /* 0 type, 4 slot */
    m.slot = 9;
    assert_int_equal(encode(&m), 8);
    assert_int_equal(le32_get(buf + 4), 9);

    memset(&m, 0, sizeof(m));
    m.type = PCI_INVALIDATE_BLOCK; /* 0 type, 4 slot, 8 u64 block_mask; payload 16 with the mask at 8 */
    m.slot = 3;
    m.u.block_mask = 0x8000000000000001ull;
    assert_int_equal(encode(&m), 16);
    assert_int_equal(le32_get(buf + 4), 3);
    assert_true(le64_get(buf + 8) == 0x8000000000000001ull);

    memset(&m, 0, sizeof(m));
    m.type = PCI_QUERY_PROTOCOL_VERSION; /* 0 type, 4 u32 version */
    m.u.version = 0x00010004;
    assert_int_equal(encode(&m), 8);
    assert_int_equal(le32_get(buf + 4), 0x00010004);
}

static void
test_blocks(void **state)
{
    struct vpci_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    /* READ_BLOCK: 0 type, 4 u32 block_id, 8 u32 slot, 12 u32 bytes_requested (16 bytes) */
    m.type = PCI_READ_BLOCK;
    m.slot = 0x22;
    m.u.block.block_id = 0x33;
    m.u.block.byte_count = 128;
    assert_int_equal(encode(&m), 16);
    assert_int_equal(le32_get(buf + 4), 0x33);
    assert_int_equal(le32_get(buf + 8), 0x22);
    assert_int_equal(le32_get(buf + 12), 128);

    /* WRITE_BLOCK: 0 type, 4 block_id, 8 slot, 12 u32 byte_count, 16 data[<=128]; 144 max */
    m.type = PCI_WRITE_BLOCK;
    for (unsigned i = 0; i < 128; i++) {
        m.u.block.data[i] = (uint8_t)(i * 7 + 1);
    }
    assert_int_equal(encode(&m), 144);
    assert_int_equal(le32_get(buf + 4), 0x33);
    assert_int_equal(le32_get(buf + 8), 0x22);
    assert_int_equal(le32_get(buf + 12), 128);
    assert_memory_equal(buf + 16, m.u.block.data, 128);
    m.u.block.byte_count = 5;
    assert_int_equal(encode(&m), 16 + 5);
}

static void
test_resources_assigned(void **state)
{
    struct vpci_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    /* 0 type, 4 slot, 8 six 20-byte CM descriptors (120 bytes), 128 u32 msi count; 148 (v1) / 202 (v2) */
    m.type = PCI_RESOURCES_ASSIGNED;
    m.slot = 1;
    m.u.resources.desc[0].type = CmResourceTypeMemory;
    m.u.resources.desc[0].share = CmResourceShareDeviceExclusive;
    m.u.resources.desc[0].flags = CM_RESOURCE_MEMORY_PREFETCHABLE;
    m.u.resources.desc[0].start = 0x1234567890ull;
    m.u.resources.desc[0].length = 0x4000;
    m.u.resources.desc[5].type = CmResourceTypeMemoryLarge;
    m.u.resources.desc[5].flags = CM_RESOURCE_MEMORY_LARGE_48;
    m.u.resources.desc[5].start = 0x4000000000ull;
    m.u.resources.desc[5].length = 0x10;
    assert_int_equal(encode(&m), 148);
    assert_int_equal(le32_get(buf + 4), 1);
    /* CM descriptor (1.6): 0 Type, 1 ShareDisposition, 2 Flags, 4 u.Memory.Start, 12 u.Memory.Length */
    assert_int_equal(buf[8 + 0], CmResourceTypeMemory);
    assert_int_equal(buf[8 + 1], CmResourceShareDeviceExclusive);
    assert_int_equal(le16_get(buf + 8 + 2), CM_RESOURCE_MEMORY_PREFETCHABLE);
    assert_true(le64_get(buf + 8 + 4) == 0x1234567890ull);
    assert_int_equal(le32_get(buf + 8 + 12), 0x4000);
    assert_int_equal(buf[8 + 5 * 20], CmResourceTypeMemoryLarge);
    assert_int_equal(le16_get(buf + 8 + 5 * 20 + 2), CM_RESOURCE_MEMORY_LARGE_48);
    assert_true(le64_get(buf + 8 + 5 * 20 + 4) == 0x4000000000ull);
    assert_int_equal(le32_get(buf + 128), 0);
    m.type = PCI_RESOURCES_ASSIGNED2;
    assert_int_equal(encode(&m), 202);
    assert_int_equal(buf[8 + 5 * 20], CmResourceTypeMemoryLarge);
}

static void
test_interrupts(void **state)
{
    struct vpci_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = PCI_CREATE_INTERRUPT_MESSAGE; /* Linux hv_msi_desc: u8 vector, u8 mode, u16 count, u32 rsvd, u64 mask */
    m.slot = 2;
    m.u.msi.vector = 0x41;
    m.u.msi.delivery_mode = 1;
    m.u.msi.vector_count = 4;
    m.u.msi.cpu_mask = 0xFFFFFFFFFFFFFFFFull;
    assert_int_equal(encode(&m), 24);
    assert_int_equal(le32_get(buf + 4), 2);
    assert_int_equal(buf[8], 0x41);
    assert_int_equal(buf[9], 1);
    assert_int_equal(le16_get(buf + 10), 4);
    assert_true(le64_get(buf + 16) == 0xFFFFFFFFFFFFFFFFull);

    m.type = PCI_CREATE_INTERRUPT_MESSAGE2; /* + u16 processor_count @4, u16 processor_array[32] @6 */
    m.u.msi.processor_count = 2;
    m.u.msi.processors[0] = 3;
    m.u.msi.processors[1] = 0x1FF;
    assert_int_equal(encode(&m), 78);
    assert_int_equal(le16_get(buf + 8 + 4), 2);
    assert_int_equal(le16_get(buf + 8 + 6), 3);
    assert_int_equal(le16_get(buf + 8 + 8), 0x1FF);

    m.type = PCI_CREATE_INTERRUPT_MESSAGE3; /* "32-bit vector": u32 vector, u8 mode, u8 rsvd, u16 count, ... */
    m.u.msi.vector = 0x12345;
    assert_int_equal(encode(&m), 82);
    assert_int_equal(le32_get(buf + 8), 0x12345);
    assert_int_equal(buf[12], 1);
    assert_int_equal(le16_get(buf + 14), 4);
    assert_int_equal(le16_get(buf + 16), 2);
    assert_int_equal(le16_get(buf + 18), 3);

    memset(&m, 0, sizeof(m));
    m.type = PCI_DELETE_INTERRUPT_MESSAGE; /* tran_int_desc: u16 rsvd, u16 count, u32 data, u64 address */
    m.slot = 2;
    m.u.mapping.vector_count = 1;
    m.u.mapping.data = 0x4041;
    m.u.mapping.address = 0xFEE00000ull;
    assert_int_equal(encode(&m), 24);
    assert_int_equal(le16_get(buf + 10), 1);
    assert_int_equal(le32_get(buf + 12), 0x4041);
    assert_true(le64_get(buf + 16) == 0xFEE00000ull);
}

static void
test_replies(void **state)
{
    struct vpci_reply r;

    (void)state;
    memset(&r, 0, sizeof(r));
    /* QUERY_RESOURCE_REQUIREMENTS reply: 0 status, 4 u32 probed_bar[6] */
    r.request_type = PCI_QUERY_RESOURCE_REQUIREMENTS;
    for (unsigned i = 0; i < 6; i++) {
        r.u.probed_bar[i] = 0xFFFF0000u | i;
    }
    assert_int_equal(encode_reply(&r), 28);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(le32_get(buf + 4 + 4 * i), 0xFFFF0000u | i);
    }
    /* READ_BLOCK reply: 0 u32 status, 4 data bytes */
    memset(&r, 0, sizeof(r));
    r.request_type = PCI_READ_BLOCK;
    r.u.read_block.byte_count = 3;
    r.u.read_block.data[0] = 0xA1;
    r.u.read_block.data[2] = 0xA3;
    assert_int_equal(encode_reply(&r), 7);
    assert_int_equal(buf[4], 0xA1);
    assert_int_equal(buf[6], 0xA3);
    /* A failure is the status alone; negative = failure */
    r.status = STATUS_REVISION_MISMATCH;
    assert_int_equal(encode_reply(&r), 4);
    assert_int_equal(le32_get(buf), 0xC0000059u);
    /* CREATE_INTERRUPT reply: status, reserved, tran_int_desc @8 */
    memset(&r, 0, sizeof(r));
    r.request_type = PCI_CREATE_INTERRUPT_MESSAGE2;
    r.u.mapping.vector_count = 1;
    r.u.mapping.data = 0x31;
    r.u.mapping.address = 0xFEE01000ull;
    assert_int_equal(encode_reply(&r), 24);
    assert_int_equal(le16_get(buf + 10), 1);
    assert_int_equal(le32_get(buf + 12), 0x31);
    assert_true(le64_get(buf + 16) == 0xFEE01000ull);
    /* POWER_STATE_CHANGE reply: status, slot, resultant state, reserved */
    memset(&r, 0, sizeof(r));
    r.request_type = PCI_POWER_STATE_CHANGE;
    r.u.power.slot = 5;
    r.u.power.state = 1;
    assert_int_equal(encode_reply(&r), 16);
    assert_int_equal(le32_get(buf + 4), 5);
    assert_int_equal(le32_get(buf + 8), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_versions),
        cmocka_unit_test(test_slot_encoding),
        cmocka_unit_test(test_vmbus_descriptor),
        cmocka_unit_test(test_bus_relations_v1_v2),
        cmocka_unit_test(test_child_messages),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_resources_assigned),
        cmocka_unit_test(test_interrupts),
        cmocka_unit_test(test_replies),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
