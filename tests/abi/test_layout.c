/*
 * tests/abi/test_layout.c - the contract headers against the contract's own numbers.
 *
 * src/util/abi.c pins sizes and offsets at compile time; this test checks the
 * facts that need run time: GUID byte order against the byte strings printed in
 * contract.md section 2, the IOCTL formula against an independent re-computation,
 * the MemoryLarge encode/decode helpers, and the status-name table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pcivirt/pcivirt.h"
#include "pcivirt/vpci.h"

static void
expect_guid_bytes(const GUID *g, const char *hex)
{
    uint8_t want[16];

    for (int i = 0; i < 16; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 3 * i, "%2x", &v), 1);
        want[i] = (uint8_t)v;
    }
    assert_memory_equal(g, want, 16);
}

static void
test_guid_byte_order(void **state)
{
    (void)state;
    /* Byte strings as contract.md section 2 gives them (memory order, x64). */
    expect_guid_bytes(&GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, "93 7a 3a a1 f0 11 d2 4b a9 f5 6b 5c 5b 88 52 7d");
    expect_guid_bytes(&GUID_SRIOV_DEVICE_INTERFACE_STANDARD, "b6 e9 7e 93 d3 0e 1c 41 98 2b 1f 56 4a fb ab d3");
    expect_guid_bytes(&GUID_MITIGABLE_DEVICE_INTERFACE, "67 95 fd ad 45 42 7e 49 85 72 78 d4 5c 16 22 b8");
    expect_guid_bytes(&GUID_DEVINTERFACE_DIRECTLY_ASSIGNABLE_DEVICE, "f9 e0 b3 0d 36 35 13 42 95 72 ad 77 e2 24 be 27");
    assert_true(IsEqualGUID(&GUID_SRIOV_DEVICE_INTERFACE_STANDARD, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD));
    assert_false(IsEqualGUID(&GUID_SRIOV_DEVICE_INTERFACE_STANDARD, &GUID_MITIGABLE_DEVICE_INTERFACE));
}

/* An independent computation of the header's code: bit fields per contract.md 1.3. */
static uint32_t
code_of(uint32_t index)
{
    uint32_t device_type = 0x22, access = 1, function = 0x810 + index, method = 0;

    return device_type * 65536u + access * 16384u + function * 4u + method;
}

static void
test_ioctl_codes(void **state)
{
    const uint32_t codes[] = {
        IOCTL_SRIOV_NOTIFICATION,
        IOCTL_SRIOV_EVENT_COMPLETE,
        IOCTL_SRIOV_ATTACH,
        IOCTL_SRIOV_DETACH,
        IOCTL_SRIOV_INVALIDATE_BLOCK,
        IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT,
        IOCTL_SRIOV_QUERY_MITIGATED_RANGES,
        IOCTL_SRIOV_MITIGATED_RANGE_UPDATE,
        IOCTL_SRIOV_PROXY_QUERY_LUID,
    };
    /* The decimal column of contract.md 4.1. */
    const uint32_t decimal[] = {2252868, 2252872, 2252876, 2252880, 2252884, 2252888, 2252892, 2252896, 2252900};

    (void)state;
    for (uint32_t i = 0; i < 9; i++) {
        assert_int_equal(codes[i], code_of(i + 1));
        assert_int_equal(codes[i], decimal[i]);
        assert_int_equal(METHOD_FROM_CTL_CODE(codes[i]), METHOD_BUFFERED);
        assert_int_equal(DEVICE_TYPE_FROM_CTL_CODE(codes[i]), FILE_DEVICE_UNKNOWN);
    }
    assert_int_equal(IOCTL_VPCI_INVALIDATE_BLOCK, 0x002AC003u + 4u * 1u);
    assert_int_equal(IOCTL_VPCI_READ_BLOCK, 0x002AC003u + 4u * 2u);
    assert_int_equal(IOCTL_VPCI_WRITE_BLOCK, 0x002AC003u + 4u * 3u);
}

static void
test_cm_descriptor_raw_bytes(void **state)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR d;
    uint8_t raw[20];

    (void)state;
    memset(&d, 0, sizeof(d));
    d.Type = CmResourceTypeMemory;
    d.ShareDisposition = CmResourceShareDeviceExclusive;
    d.Flags = CM_RESOURCE_MEMORY_PREFETCHABLE;
    d.u.Memory.Start.QuadPart = 0x1122334455667788LL;
    d.u.Memory.Length = 0xAABBCCDDu;
    memcpy(raw, &d, sizeof(raw));
    /* contract.md 1.6: start at byte 4 (4-byte aligned inside pack(4)), length at 12. */
    assert_int_equal(raw[0], 3);
    assert_int_equal(raw[1], 1);
    assert_int_equal(raw[2], 4);
    assert_int_equal(raw[4], 0x88);
    assert_int_equal(raw[11], 0x11);
    assert_int_equal(raw[12], 0xDD);
    assert_int_equal(raw[15], 0xAA);
}

static void
test_memory_large_round_trip(void **state)
{
    const uint64_t lengths[] = {
        0x100,
        0x1000,
        0xFFFFFFFF00ull,
        0x10000000000ull,
        0x40000000000ull,
        0x123400000000ull,
        0x100000000ull,
        0xFFFFFFFF00000000ull,
    };
    CM_PARTIAL_RESOURCE_DESCRIPTOR d;

    (void)state;
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        ULONGLONG start = 0;

        memset(&d, 0, sizeof(d));
        d.Flags = CM_RESOURCE_MEMORY_PREFETCHABLE;
        assert_int_equal(RtlCmEncodeMemIoResource(&d, CmResourceTypeMemoryLarge, lengths[i], 0xC000000000ull),
                         STATUS_SUCCESS);
        assert_int_equal(d.Type, CmResourceTypeMemoryLarge);
        assert_true(d.Flags & CM_RESOURCE_MEMORY_PREFETCHABLE);
        assert_int_equal(RtlCmDecodeMemIoResource(&d, &start), lengths[i]);
        assert_int_equal(start, 0xC000000000ull);
    }

    /* The smallest scaling that is exact: 16 GiB is Length40 = 16 GiB >> 8. */
    memset(&d, 0, sizeof(d));
    assert_int_equal(RtlCmEncodeMemIoResource(&d, CmResourceTypeMemoryLarge, 0x400000000ull, 0), STATUS_SUCCESS);
    assert_int_equal(d.Flags & CM_RESOURCE_MEMORY_LARGE, CM_RESOURCE_MEMORY_LARGE_40);
    assert_int_equal(d.u.Memory40.Length40, 0x400000000ull >> 8);

    /* Not representable: low bits below the coarsest exact scaling. */
    assert_int_equal(RtlCmEncodeMemIoResource(&d, CmResourceTypeMemoryLarge, 0x10000000001ull, 0),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlCmEncodeMemIoResource(&d, CmResourceTypeMemory, 0x100000000ull, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlCmEncodeMemIoResource(&d, CmResourceTypeInterrupt, 4096, 0), STATUS_INVALID_PARAMETER);

    /* Plain memory keeps the length unscaled. */
    memset(&d, 0, sizeof(d));
    assert_int_equal(RtlCmEncodeMemIoResource(&d, CmResourceTypeMemory, 0x4000, 0xFE000000u), STATUS_SUCCESS);
    assert_int_equal(d.u.Memory.Length, 0x4000);
    assert_int_equal(RtlCmDecodeMemIoResource(&d, NULL), 0x4000);

    /* A MemoryLarge descriptor without a LARGE flag decodes to nothing. */
    d.Type = CmResourceTypeMemoryLarge;
    d.Flags = 0;
    assert_int_equal(RtlCmDecodeMemIoResource(&d, NULL), 0);
}

static void
test_status_values(void **state)
{
    (void)state;
    assert_true(NT_SUCCESS(STATUS_SUCCESS));
    assert_true(NT_SUCCESS(STATUS_PENDING));
    assert_false(NT_SUCCESS(STATUS_BUFFER_TOO_SMALL));
    assert_false(NT_SUCCESS(STATUS_BUFFER_OVERFLOW));
    assert_true(NT_ERROR(STATUS_INVALID_PARAMETER));
    assert_true(NT_WARNING(STATUS_BUFFER_OVERFLOW));
    assert_int_equal((uint32_t)STATUS_BAD_DATA, 0xC000090Bu);
    assert_int_equal((uint32_t)STATUS_INVALID_BUFFER_SIZE, 0xC0000206u);
    assert_string_equal(pcivirt_ntstatus_name(STATUS_SHARING_VIOLATION), "STATUS_SHARING_VIOLATION");
    assert_null(pcivirt_ntstatus_name((NTSTATUS)0xC0FFEE00));
}

static void
test_table_prefixes(void **state)
{
    (void)state;
    /* A v2 table can be handed to a v1 consumer by Size: the first 120 bytes agree. */
    assert_int_equal(offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, QueryLuid),
                     offsetof(SRIOV_DEVICE_INTERFACE_STANDARD, QueryLuid));
    assert_int_equal(offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, QueryProbedBars_2),
                     sizeof(SRIOV_DEVICE_INTERFACE_STANDARD));
    /* Every table starts with the INTERFACE header. */
    assert_int_equal(offsetof(MITIGABLE_DEVICE_INTERFACE, ReadWriteMitigatedRegister), sizeof(INTERFACE));
    assert_int_equal(offsetof(VPCI_INTERFACE_STANDARD, WriteVfConfigBlock), sizeof(INTERFACE));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guid_byte_order),         cmocka_unit_test(test_ioctl_codes),
        cmocka_unit_test(test_cm_descriptor_raw_bytes), cmocka_unit_test(test_memory_large_round_trip),
        cmocka_unit_test(test_status_values),           cmocka_unit_test(test_table_prefixes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
