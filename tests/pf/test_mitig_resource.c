/*
 * tests/pf/test_mitig_resource.c - mitigated ranges (contract.md 4.8-4.10, 6.12)
 * and the VF BAR / probed BAR / LUID arithmetic (contract.md 6.4, 6.9, 6.10).
 *
 * Oracles: hand-computed windows (a second computation in 64-bit integers, not
 * the code under test), the docs' example's MemoryLarge mistake reproduced to
 * show it differs, and the range rules of the GPU-P analog (<= 2 GiB pieces).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pf/mitig.h"
#include "pf/resource.h"

static void
test_mitig_ranges(void **state)
{
    struct pf_mitig *m = pf_mitig_create(4);
    const struct pf_mitig_range r[] = {
        {0, 1, 1, true, true},
        {3, 0, 2, false, true},
        {0, 4, 2, true, false},
    };
    ULONG count[6];
    SRIOV_MITIGATED_RANGES_OUTPUT out[4];
    ULONG n;

    assert_non_null(m);
    assert_int_equal(pf_mitig_set(m, SRIOV_INVALIDATE_BLOCK_ALL_VFS, r, 3), STATUS_SUCCESS);
    assert_true(pf_mitig_take_dirty(m, 2));
    assert_false(pf_mitig_take_dirty(m, 2));
    assert_int_equal(pf_mitig_count(m, 1, count), STATUS_SUCCESS);
    assert_int_equal(count[0], 2);
    assert_int_equal(count[3], 1);
    assert_int_equal(count[1] + count[2] + count[4] + count[5], 0);
    assert_int_equal(pf_mitig_ranges(m, 1, 0, out, 1, &n), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(n, 2);
    assert_int_equal(pf_mitig_ranges(m, 1, 0, out, 4, &n), STATUS_SUCCESS);
    assert_int_equal(out[0].BasePageNumber, 1);
    assert_int_equal(out[1].BasePageNumber, 4);
    assert_int_equal(out[1].PageCount, 2);
    assert_true(out[1].InterceptReads);
    assert_false(out[1].InterceptWrites);
    /* covers: inside one range, matching the intercept flag */
    assert_true(pf_mitig_covers(m, 0, 0, 0x1000, 4, true));
    assert_true(pf_mitig_covers(m, 0, 0, 0x1FF8, 8, false));
    assert_false(pf_mitig_covers(m, 0, 0, 0x1FFC, 8, false)); /* crosses the end */
    assert_false(pf_mitig_covers(m, 0, 0, 0x0FFC, 4, true));
    assert_false(pf_mitig_covers(m, 0, 0, 0x4000, 4, false)); /* read-only intercept */
    assert_false(pf_mitig_covers(m, 0, 3, 0x0, 4, true));
    assert_true(pf_mitig_covers(m, 0, 3, 0x1004, 4, false));
    assert_false(pf_mitig_covers(m, 4, 0, 0x1000, 4, true)); /* bad VF */
    assert_int_equal(pf_mitig_count(m, 4, count), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_mitig_ranges(m, 0, 6, out, 4, &n), STATUS_INVALID_PARAMETER);
    pf_mitig_destroy(m);
}

static void
test_mitig_validation_and_split(void **state)
{
    struct pf_mitig *m = pf_mitig_create(2);
    struct pf_mitig_range big = {2, 0, 3 * PF_MITIG_MAX_PAGES_PER_RANGE / 2, true, true};
    struct pf_mitig_range overlap[] = {{0, 0, 4, true, true}, {0, 3, 1, true, true}};
    struct pf_mitig_range bad_bar = {6, 0, 1, true, true};
    struct pf_mitig_range no_flags = {0, 0, 1, false, false};
    struct pf_mitig_range empty = {0, 0, 0, true, true};
    ULONG count[6];

    assert_int_equal(pf_mitig_set(m, 0, overlap, 2), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_mitig_set(m, 0, &bad_bar, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_mitig_set(m, 0, &no_flags, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_mitig_set(m, 0, &empty, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_mitig_set(m, 2, &big, 1), STATUS_INVALID_PARAMETER);
    assert_false(pf_mitig_is_dirty(m, 0)); /* failed sets change nothing */
    assert_int_equal(pf_mitig_set(m, 1, &big, 1), STATUS_SUCCESS);
    assert_true(pf_mitig_is_dirty(m, 1));
    assert_false(pf_mitig_is_dirty(m, 0));
    assert_int_equal(pf_mitig_count(m, 1, count), STATUS_SUCCESS);
    assert_int_equal(count[2], 2); /* 3 GiB split into 2 GiB + 1 GiB */
    assert_int_equal(pf_mitig_count(m, 0, count), STATUS_SUCCESS);
    assert_int_equal(count[2], 0);
    pf_mitig_destroy(m);
    pf_mitig_destroy(NULL);
}

static CM_PARTIAL_RESOURCE_DESCRIPTOR
aperture(UCHAR type, ULONGLONG start, ULONGLONG len)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR d;

    memset(&d, 0, sizeof(d));
    d.Flags = CM_RESOURCE_MEMORY_PREFETCHABLE;
    assert_int_equal(RtlCmEncodeMemIoResource(&d, type, len, start), STATUS_SUCCESS);
    return d;
}

static void
test_bar_resource_memory(void **state)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR ap = aperture(CmResourceTypeMemory, 0xE0000000ull, 64 * 0x4000ull), out;
    ULONGLONG start;

    assert_int_equal(pf_vf_bar_resource(&ap, 64, 5, &out), STATUS_SUCCESS);
    assert_int_equal(out.Type, CmResourceTypeMemory);
    assert_int_equal(RtlCmDecodeMemIoResource(&out, &start), 0x4000);
    assert_int_equal(start, 0xE0000000ull + 5 * 0x4000ull);
    assert_int_equal(out.Flags & CM_RESOURCE_MEMORY_PREFETCHABLE, CM_RESOURCE_MEMORY_PREFETCHABLE);
    assert_int_equal(pf_vf_bar_resource(&ap, 64, 64, &out), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_vf_bar_resource(&ap, 3, 0, &out), STATUS_INVALID_PARAMETER); /* not divisible */
}

static void
test_bar_resource_memory_large(void **state)
{
    /* 16 VFs x 1 GiB = 16 GiB: only MemoryLarge can describe the aperture. */
    ULONGLONG total = 16ull << 30, per = 1ull << 30, base = 0x4000000000ull, start;
    CM_PARTIAL_RESOURCE_DESCRIPTOR ap = aperture(CmResourceTypeMemoryLarge, base, total), out;
    ULONG example_len;

    assert_int_equal(ap.Flags & CM_RESOURCE_MEMORY_LARGE, CM_RESOURCE_MEMORY_LARGE_40);
    assert_int_equal(pf_vf_bar_resource(&ap, 16, 7, &out), STATUS_SUCCESS);
    assert_int_equal(RtlCmDecodeMemIoResource(&out, &start), per);
    assert_int_equal(start, base + 7 * per);
    /* The docs' example divides the scaled field: 16 GiB >> 8 / 16 = 4 MiB, not 1 GiB. */
    example_len = ap.u.Memory40.Length40 / 16;
    assert_int_not_equal((ULONGLONG)example_len, per);
    /* Null aperture (upper half of a 64-bit BAR): success, Null. */
    memset(&ap, 0, sizeof(ap));
    assert_int_equal(pf_vf_bar_resource(&ap, 16, 0, &out), STATUS_SUCCESS);
    assert_int_equal(out.Type, CmResourceTypeNull);
}

static void
test_probed_bars(void **state)
{
    /* 82599-like: BAR0 64-bit prefetchable 16 KiB, BAR3 64-bit 16 KiB; BAR2 none. */
    const uint32_t regs[6] = {0x0000000C, 0, 0, 0x00000004, 0, 0};
    const uint64_t size[6] = {0x4000, 0, 0, 0x4000, 0, 0};
    const uint32_t regs32[6] = {0, 0, 0, 0, 0, 0};
    const uint64_t size32[6] = {256u << 20, 0, 0, 0, 0, 0};
    ULONG out[6];

    pf_probed_bars(regs, size, out);
    assert_int_equal(out[0], 0xFFFFC00C);
    assert_int_equal(out[1], 0xFFFFFFFF);
    assert_int_equal(out[2], 0);
    assert_int_equal(out[3], 0xFFFFC004);
    assert_int_equal(out[4], 0xFFFFFFFF);
    assert_int_equal(out[5], 0);
    pf_probed_bars(regs32, size32, out);
    assert_int_equal(out[0], 0xF0000000); /* contract.md 6.4's example */
}

static void
test_luids(void **state)
{
    struct pf_luids a = {pf_luid_alloc_block(65536), 8};
    struct pf_luids b = {pf_luid_alloc_block(65536), 8};
    uint16_t vf;

    assert_int_not_equal(a.base, 0);
    assert_int_not_equal(a.base, b.base);
    assert_int_equal(pf_luid_value(pf_luid_make(a.base + 3)), a.base + 3);
    assert_int_equal(pf_luid_vf_of(&a, pf_luid_make(a.base + 1 + 7), &vf), STATUS_SUCCESS);
    assert_int_equal(vf, 7);
    assert_int_equal(pf_luid_vf_of(&a, pf_luid_make(a.base + 1 + 8), &vf), STATUS_NOT_FOUND);
    assert_int_equal(pf_luid_vf_of(&a, pf_luid_make(a.base), &vf), STATUS_NOT_FOUND); /* the PF's own */
    assert_int_equal(pf_luid_vf_of(&a, pf_luid_make(b.base + 1), &vf), STATUS_NOT_FOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mitig_ranges),        cmocka_unit_test(test_mitig_validation_and_split),
        cmocka_unit_test(test_bar_resource_memory), cmocka_unit_test(test_bar_resource_memory_large),
        cmocka_unit_test(test_probed_bars),         cmocka_unit_test(test_luids),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
