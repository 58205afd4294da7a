/*
 * tests/dev/test_geometry.c - routing-ID and VF BAR arithmetic against
 * device-model.md 5.4's worked examples and Linux's formula (5.1) computed here
 * independently (bus = PF.bus + ((devfn + offset + stride*id) >> 8)).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dev/geometry.h"
#include "dev/platform.h"

/* Linux drivers/pci/iov.c pci_iov_virtfn_bus/devfn, rewritten from the formula. */
static void
linux_vf_bdf(unsigned pf_bus, unsigned pf_devfn, unsigned offset, unsigned stride, unsigned id, unsigned *bus,
             unsigned *devfn)
{
    *bus = pf_bus + ((pf_devfn + offset + stride * id) >> 8);
    *devfn = (pf_devfn + offset + stride * id) & 0xff;
}

static void
expect_vf(unsigned pf_rid, unsigned off, unsigned stride, unsigned id, const char *want)
{
    char buf[24];
    unsigned bus, devfn;

    linux_vf_bdf(pf_rid >> 8, pf_rid & 0xff, off, stride, id, &bus, &devfn);
    assert_int_equal(dev_vf_rid_unbounded((uint16_t)pf_rid, (uint16_t)off, (uint16_t)stride, id), bus << 8 | devfn);
    assert_string_equal(dev_format_rid(buf, sizeof(buf), bus << 8 | devfn), want);
}

static void
test_worked_examples(void **state)
{
    (void)state;
    /* device-model.md 5.4, row by row. */
    expect_vf(0x0100, 384, 2, 0, "02:10.0"); /* 82576 VF1 */
    expect_vf(0x0100, 384, 2, 7, "02:11.6"); /* 82576 8th VF */
    expect_vf(0x8300, 128, 2, 0, "83:10.0"); /* 82599 ARI */
    expect_vf(0x8300, 128, 2, 63, "83:1f.6");
    expect_vf(0x8300, 384, 2, 0, "84:10.0"); /* after the rescan bug */
    expect_vf(0x2e00, 32, 1, 0, "2e:04.0");  /* PM174X */
    expect_vf(0x2e00, 32, 1, 63, "2e:0b.7");
    expect_vf(0x0400, 2, 1, 0, "04:00.2"); /* ConnectX-5 */
    expect_vf(0x0400, 2, 1, 7, "04:01.1");
    expect_vf(0x0700, 16, 1, 15, "07:03.7"); /* FirePro */
    expect_vf(0x0002, 334, 1, 0, "01:0a.0"); /* X710 PF2 non-ARI: devfn 0x50 on bus + 1 */
}

static void
test_index_of_rid(void **state)
{
    struct dev_vf_geometry g = {.pf_rid = 0x8300,
                                .offset = 128,
                                .stride = 2,
                                .num_vfs = 64,
                                .ari = true,
                                .secondary_bus = 0x83,
                                .subordinate_bus = 0x83};
    uint32_t idx;

    (void)state;
    for (uint32_t i = 0; i < 64; i++) {
        assert_true(dev_vf_index_of_rid(&g, (uint16_t)(0x8380 + 2 * i), &idx));
        assert_int_equal(idx, i);
        assert_false(dev_vf_index_of_rid(&g, (uint16_t)(0x8381 + 2 * i), &idx));
    }
    assert_false(dev_vf_index_of_rid(&g, 0x8300, &idx));
    assert_false(dev_vf_index_of_rid(&g, 0x8400, &idx)); /* one past the 64th */
    g.num_vfs = 1;
    g.stride = 0;
    assert_true(dev_vf_index_of_rid(&g, 0x8380, &idx));
    assert_int_equal(idx, 0);
    assert_false(dev_vf_index_of_rid(&g, 0x8382, &idx));
}

static void
test_bus_range_refusal(void **state)
{
    struct dev_vf_geometry g = {.pf_rid = 0x8300,
                                .offset = 384,
                                .stride = 2,
                                .num_vfs = 1,
                                .ari = false,
                                .secondary_bus = 0x83,
                                .subordinate_bus = 0x83};
    struct pcivirt_error err;

    (void)state;
    pcivirt_error_clear(&err);
    assert_int_equal(dev_geometry_check(&g, &err), PCIVIRT_ENOSPC);
    /* Every number of the arithmetic appears in the message (device-model.md 12 item 1). */
    assert_non_null(strstr(err.message, "can't enable 1 VFs"));
    assert_non_null(strstr(err.message, "ARI Capable Hierarchy off"));
    assert_non_null(strstr(err.message, "First VF Offset 384"));
    assert_non_null(strstr(err.message, "VF Stride 2"));
    assert_non_null(strstr(err.message, "0x8480 = 84:10.0"));
    assert_non_null(strstr(err.message, "[bus 83-83]"));
    assert_string_equal(err.field, "NumVFs");
    g.subordinate_bus = 0x84;
    assert_int_equal(dev_geometry_check(&g, NULL), 0);
    g.ari = true;
    g.offset = 128;
    g.num_vfs = 64;
    g.subordinate_bus = 0x83;
    assert_int_equal(dev_geometry_check(&g, NULL), 0);
    /* Beyond bus ff: never wraps. */
    g.pf_rid = 0xff00;
    g.subordinate_bus = 0xff;
    g.offset = 1;
    g.stride = 1;
    g.num_vfs = 0xffff;
    assert_int_equal(dev_geometry_check(&g, &err), PCIVIRT_ENOSPC);
    assert_non_null(strstr(err.message, "beyond bus ff"));
}

static void
test_zero_fields(void **state)
{
    struct dev_vf_geometry g = {
        .pf_rid = 0x0100, .offset = 0, .stride = 1, .num_vfs = 2, .secondary_bus = 1, .subordinate_bus = 9};
    struct pcivirt_error err;

    (void)state;
    assert_int_equal(dev_geometry_check(&g, &err), PCIVIRT_EINVAL);
    assert_string_equal(err.field, "First VF Offset");
    g.offset = 1;
    g.stride = 0;
    assert_int_equal(dev_geometry_check(&g, &err), PCIVIRT_EINVAL);
    assert_string_equal(err.field, "VF Stride");
    g.num_vfs = 1;
    assert_int_equal(dev_geometry_check(&g, &err), 0);
    g.num_vfs = 0;
    assert_int_equal(dev_geometry_check(&g, &err), PCIVIRT_EINVAL);
}

static void
test_vf_bar_size(void **state)
{
    (void)state;
    assert_int_equal(dev_vf_bar_size(16384, 0x1), 16384);
    assert_int_equal(dev_vf_bar_size(16384, 0x4), 16384);      /* 16 KiB pages */
    assert_int_equal(dev_vf_bar_size(16384, 0x10), 65536);     /* 64 KiB pages */
    assert_int_equal(dev_vf_bar_size(16384, 0x100), 1u << 20); /* ThunderX's 1 MiB */
    assert_int_equal(dev_vf_bar_size(16384, 0x3), 0);          /* two bits: invalid */
    assert_int_equal(dev_vf_bar_size(16384, 0), 0);
}

static int
fake_read(void *ctx, uint32_t index, unsigned bar, uint64_t offset, void *data, uint32_t length)
{
    uint64_t v = (uint64_t)index << 32 | (uint64_t)bar << 24 | offset;

    (void)ctx;
    memcpy(data, &v, length);
    return 0;
}

static int
fake_write(void *ctx, uint32_t index, unsigned bar, uint64_t offset, const void *data, uint32_t length)
{
    (void)ctx;
    (void)index;
    (void)bar;
    (void)offset;
    (void)data;
    (void)length;
    return 0;
}

static const struct pv_mmio_ops fake_ops = {fake_read, fake_write};

static void
test_platform_routing(void **state)
{
    struct pv_platform *plat;
    struct pv_platform_hit hit;
    uint64_t a, b, h1, h2, v;

    (void)state;
    assert_int_equal(pv_platform_create(NULL, &plat), 0);
    assert_int_equal(pv_platform_alloc(plat, 1u << 20, true, &a, NULL), 0);
    assert_int_equal(a & ((1u << 20) - 1), 0);
    assert_int_equal(pv_platform_alloc(plat, 16384, false, &b, NULL), 0);
    assert_true(b < 0x100000000ull);
    /* A 65,535-slot aperture is one window: lookup is arithmetic. */
    assert_int_equal(pv_platform_map(plat, a, 16, 65535, 3, &fake_ops, NULL, &h1), 0);
    assert_int_equal(pv_platform_map(plat, a + 16 * 65534, 16, 1, 0, &fake_ops, NULL, &h2), PCIVIRT_EOVERLAP);
    assert_int_equal(pv_platform_map(plat, b, 16384, 1, 0, &fake_ops, NULL, &h2), 0);
    assert_true(pv_platform_lookup(plat, a + 16 * 40000 + 5, &hit));
    assert_int_equal(hit.index, 40000);
    assert_int_equal(hit.offset, 5);
    assert_int_equal(hit.bar, 3);
    assert_int_equal(pv_platform_read(plat, a + 16 * 7 + 12, &v, 8), PCIVIRT_ERANGE);
    assert_int_equal(pv_platform_read(plat, a + 16 * 7 + 4, &v, 4), 0);
    assert_int_equal((uint32_t)v, (3u << 24) | 4);
    assert_int_equal(pv_platform_read(plat, a - 8, &v, 8), PCIVIRT_ENOENT);
    assert_true(v == UINT64_MAX);
    pv_platform_unmap(plat, h1);
    assert_false(pv_platform_lookup(plat, a, &hit));
    assert_int_equal(pv_platform_window_count(plat), 1);
    pv_platform_free(plat, a);
    pv_platform_free(plat, b);
    pv_platform_destroy(plat);
    pv_platform_destroy(NULL);
}

static void
test_platform_exhaustion(void **state)
{
    struct pv_platform_config cfg = {0xc0000000ull, 0x100000, 0, 0};
    struct pv_platform *plat;
    struct pcivirt_error err;
    uint64_t a, b;

    (void)state;
    assert_int_equal(pv_platform_create(&cfg, &plat), 0);
    assert_int_equal(pv_platform_alloc(plat, 0x80000, true, &a, NULL), 0); /* falls back to 32-bit */
    assert_int_equal(pv_platform_alloc(plat, 0x80000, false, &b, NULL), 0);
    assert_true(a != b);
    assert_int_equal(pv_platform_alloc(plat, 0x1000, false, &b, &err), PCIVIRT_ENOSPC);
    assert_non_null(strstr(err.message, "no room"));
    assert_int_equal(pv_platform_alloc(plat, 0x1001, false, &b, &err), PCIVIRT_EINVAL);
    pv_platform_free(plat, a);
    assert_int_equal(pv_platform_alloc(plat, 0x1000, false, &b, NULL), 0);
    assert_int_equal(b, a);
    pv_platform_destroy(plat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_examples),     cmocka_unit_test(test_index_of_rid),
        cmocka_unit_test(test_bus_range_refusal),   cmocka_unit_test(test_zero_fields),
        cmocka_unit_test(test_vf_bar_size),         cmocka_unit_test(test_platform_routing),
        cmocka_unit_test(test_platform_exhaustion),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
