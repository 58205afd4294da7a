/*
 * tests/pf/test_cfgview.c - the guest's view of VF config space (pf/cfgview.h).
 *
 * The device is a byte array per VF laid out like a VF of the software device
 * (PM, MSI-X, PCIe; SR-IOV, AER, ARI extended) that accepts every write except
 * RW1C bits, so anything the guest cannot change is the view's doing.  Oracles:
 * the VF rules of device-model.md 3.1/3.2/3.4, QueryProbedBars arithmetic of
 * contract.md 6.4, and "a wide read equals the concatenation of byte reads".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pf/cfgperm.h"
#include "pf/cfgview.h"
#include "util/le.h"

#define NVF 3

struct fake {
    uint8_t cfg[NVF][4096];
    uint8_t w1c[4096];
    unsigned resets[NVF];
    unsigned reads;
    unsigned max_read;
    int crossed; /* a hardware access spanned two regions */
    uint16_t bounds[16];
    unsigned n_bounds;
};

static int
crosses(const struct fake *f, uint16_t off, uint32_t len)
{
    for (unsigned i = 0; i < f->n_bounds; i++) {
        if (off < f->bounds[i] && off + len > f->bounds[i]) {
            return 1;
        }
    }
    return (len == 2 && off % 2) || (len == 4 && off % 4) || len == 3;
}

static int
fake_read(void *ctx, uint16_t vf, uint16_t off, void *data, uint32_t len)
{
    struct fake *f = ctx;

    if (len != 4096) {
        f->crossed |= crosses(f, off, len);
    }
    f->reads++;
    memcpy(data, f->cfg[vf] + off, len);
    return 0;
}

static int
fake_write(void *ctx, uint16_t vf, uint16_t off, const void *data, uint32_t len)
{
    struct fake *f = ctx;
    const uint8_t *in = data;

    f->crossed |= crosses(f, off, len);
    for (uint32_t i = 0; i < len; i++) {
        uint8_t *b = &f->cfg[vf][off + i];
        uint8_t c = f->w1c[off + i];

        *b = (uint8_t)((*b & c & ~in[i]) | (in[i] & ~c));
    }
    return 0;
}

static int
fake_reset(void *ctx, uint16_t vf)
{
    ((struct fake *)ctx)->resets[vf]++;
    return 0;
}

static void
build_vf(struct fake *f, unsigned vf, int sriov_first)
{
    uint8_t *c = f->cfg[vf];

    memset(c, 0, 4096);
    le32_put(c + 0x00, 0xFFFFFFFF);               /* VF IDs read FFFF */
    le16_put(c + 0x06, 0x0010 | 0x4000 | 0x2000); /* cap list, SERR + master abort */
    le32_put(c + 0x08, 0x02000001);               /* class 0200, rev 1 */
    le16_put(c + 0x2C, 0x8086);
    c[0x34] = 0x40;
    c[0x3D] = 0;
    /* PM at 0x40 -> MSI-X at 0x50 -> PCIe at 0x70 */
    c[0x40] = PF_CAP_PM;
    c[0x41] = 0x50;
    le16_put(c + 0x42, 0x0003);
    c[0x50] = PF_CAP_MSIX;
    c[0x51] = 0x70;
    le16_put(c + 0x52, 0x0002);
    c[0x70] = PF_CAP_EXP;
    c[0x71] = 0;
    le16_put(c + 0x72, 0x0002);
    le32_put(c + 0x74, 0x10008000); /* DevCap: FLR */
    le16_put(c + 0x78, 0x2810);     /* DevCtl (PF's settings) */
    if (sriov_first) {
        le32_put(c + 0x100, PF_ECAP_SRIOV | 1u << 16 | 0x140u << 20);
        le32_put(c + 0x104, 0xDEADBEEF);
        le32_put(c + 0x140, PF_ECAP_AER | 1u << 16 | 0x190u << 20);
    } else {
        le32_put(c + 0x100, PF_ECAP_AER | 1u << 16 | 0x150u << 20);
        le32_put(c + 0x150, PF_ECAP_SRIOV | 1u << 16 | 0x190u << 20);
        le32_put(c + 0x154, 0xDEADBEEF);
    }
    le32_put(c + 0x190, PF_ECAP_ARI | 1u << 16);
    f->w1c[0x07] = 0xF9;
    f->w1c[0x7A] = 0x0F;
}

static struct fake *
fake_new(int sriov_first)
{
    struct fake *f = test_calloc(1, sizeof(*f));
    const uint16_t b[] = {0x40, 0x48, 0x50, 0x5C, 0x70, 0xAC, 0x100, 0x140, 0x150, 0x188, 0x190, 0x198};

    for (unsigned vf = 0; vf < NVF; vf++) {
        build_vf(f, vf, sriov_first);
    }
    memcpy(f->bounds, b, sizeof(b));
    f->n_bounds = sizeof(b) / sizeof(b[0]);
    return f;
}

static const struct pf_cfg_identity ident = {
    .vendor_id = 0x8086,
    .device_id = 0x10ed,
    /* BAR0: 64-bit prefetchable 16 KiB; BAR2: 32-bit 4 KiB; BAR3..5 none */
    .probed_bars = {0xFFFFC00C, 0xFFFFFFFF, 0xFFFFF000, 0, 0, 0},
};

static struct pf_cfgview *
view_new(struct fake *f)
{
    struct pf_cfg_io io = {f, fake_read, fake_write, fake_reset};
    struct pf_cfgview *v = NULL;

    assert_int_equal(pf_cfgview_create(&io, NVF, &ident, &v), STATUS_SUCCESS);
    return v;
}

static uint32_t
rd(struct pf_cfgview *v, uint16_t vf, uint32_t off, uint32_t len)
{
    uint8_t b[4] = {0};

    assert_int_equal(pf_cfgview_read(v, vf, off, b, len), STATUS_SUCCESS);
    return (uint32_t)le_get(b, len);
}

static void
wr(struct pf_cfgview *v, uint16_t vf, uint32_t off, uint32_t len, uint32_t val)
{
    uint8_t b[4];

    le_put(b, len, val);
    assert_int_equal(pf_cfgview_write(v, vf, off, b, len), STATUS_SUCCESS);
}

static void
test_ids_virtualized(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v = view_new(f);

    assert_int_equal(rd(v, 1, 0, 2), 0x8086);
    assert_int_equal(rd(v, 1, 2, 2), 0x10ed);
    wr(v, 1, 0, 4, 0x12345678);
    assert_int_equal(rd(v, 1, 0, 4), 0x10ed8086);
    assert_int_equal(rd(v, 1, 0x08, 4), 0x02000001); /* class passes through */
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
walk_ext_ids(struct pf_cfgview *v, uint16_t *ids, unsigned *n)
{
    uint32_t off = 0x100;

    *n = 0;
    while (off != 0 && *n < 16) {
        uint32_t h = rd(v, 0, off, 4);

        ids[(*n)++] = (uint16_t)(h & 0xFFFF);
        off = h >> 20;
    }
}

static void
check_sriov_hidden(int first)
{
    struct fake *f = fake_new(first);
    struct pf_cfgview *v = view_new(f);
    uint16_t ids[16];
    unsigned n;
    uint32_t sriov = first ? 0x100 : 0x150;

    walk_ext_ids(v, ids, &n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_not_equal(ids[i], PF_ECAP_SRIOV);
    }
    /* AER and ARI still reachable, in order; a hidden first cap becomes a null header. */
    assert_int_equal(ids[n - 1], PF_ECAP_ARI);
    assert_int_equal(ids[first ? 1 : 0], PF_ECAP_AER);
    assert_int_equal(n, first ? 3 : 2);
    for (uint32_t o = sriov + (first ? 4 : 0); o < sriov + 0x40; o += 4) {
        assert_int_equal(rd(v, 0, o, 4), 0);
    }
    /* A write into the hidden capability never reaches the device. */
    wr(v, 0, sriov + 8, 4, 0xFFFFFFFF);
    assert_int_equal(le32_get(f->cfg[0] + sriov + 4), 0xDEADBEEF);
    assert_int_equal(le32_get(f->cfg[0] + sriov + 8), 0);
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
test_sriov_hidden_first(void **state)
{
    check_sriov_hidden(1);
}

static void
test_sriov_hidden_middle(void **state)
{
    check_sriov_hidden(0);
}

static void
test_std_chain(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v = view_new(f);
    uint8_t seen[3];
    unsigned n = 0;

    for (uint32_t p = rd(v, 0, 0x34, 1); p != 0 && n < 3; p = rd(v, 0, p + 1, 1)) {
        seen[n++] = (uint8_t)rd(v, 0, p, 1);
    }
    assert_int_equal(n, 3);
    assert_int_equal(seen[0], PF_CAP_PM);
    assert_int_equal(seen[1], PF_CAP_MSIX);
    assert_int_equal(seen[2], PF_CAP_EXP);
    assert_int_equal(rd(v, 0, 0x3D, 1), 0); /* no INTx pin */
    assert_int_equal(rd(v, 0, 0x30, 4), 0); /* no ROM */
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
test_bar_sizing(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v = view_new(f);

    for (unsigned i = 0; i < 6; i++) {
        wr(v, 2, 0x10 + 4 * i, 4, 0xFFFFFFFF);
        assert_int_equal(rd(v, 2, 0x10 + 4 * i, 4), ident.probed_bars[i]);
        assert_int_equal(le32_get(f->cfg[2] + 0x10 + 4 * i), 0); /* never reaches the VF */
    }
    wr(v, 2, 0x10, 4, 0xFEDC1234);
    assert_int_equal(rd(v, 2, 0x10, 4), (0xFEDC1234 & 0xFFFFC000) | 0xC);
    /* untouched VF still reads the type bits only */
    assert_int_equal(rd(v, 0, 0x10, 4), 0xC);
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
test_command_and_status(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v = view_new(f);

    wr(v, 0, 0x04, 2, 0xFFFF);
    assert_int_equal(le16_get(f->cfg[0] + 0x04), 0x0004); /* only Bus Master reaches the VF */
    assert_int_equal(rd(v, 0, 0x04, 2), 0x0406);
    /* The 4-byte write of Command must not clear status bits written as 0. */
    wr(v, 0, 0x04, 4, 0x00000006);
    assert_int_equal(le16_get(f->cfg[0] + 0x06), 0x6010);
    /* RW1C passes through: clear Received Master Abort (bit 13) only. */
    wr(v, 0, 0x06, 2, 0x2000);
    assert_int_equal(le16_get(f->cfg[0] + 0x06), 0x4010);
    assert_int_equal(rd(v, 0, 0x06, 2), 0x4010);
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
test_read_only_dropped(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v = view_new(f);
    uint8_t before[4096];

    memcpy(before, f->cfg[0], 4096);
    wr(v, 0, 0x08, 4, 0xFFFFFFFF);      /* class/revision */
    wr(v, 0, 0x74, 4, 0);               /* DevCap */
    wr(v, 0, 0x52, 2, 0x07FF);          /* MSI-X table size (RO) */
    wr(v, 0, 0x190 + 4, 4, 0xFFFFFFFF); /* ARI */
    assert_memory_equal(before, f->cfg[0], 4096);
    assert_int_equal(rd(v, 0, 0x08, 4), 0x02000001);
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
test_flr(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v = view_new(f);

    wr(v, 1, 0x3C, 1, 0x0B);
    assert_int_equal(rd(v, 1, 0x3C, 1), 0x0B);
    assert_int_equal(rd(v, 1, 0x78, 2), 0x2810); /* DevCtl shows the PF's settings */
    wr(v, 1, 0x78, 2, 0x8000 | 0x2810);
    assert_int_equal(f->resets[1], 1);
    assert_int_equal(f->resets[0] + f->resets[2], 0);
    assert_int_equal(rd(v, 1, 0x78, 2) & 0x8000, 0); /* Initiate FLR reads 0 */
    assert_int_equal(rd(v, 1, 0x3C, 1), 0);          /* virtual state back to defaults */
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
test_per_vf_isolation(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v = view_new(f);

    wr(v, 1, 0x3C, 1, 0x55);
    wr(v, 1, 0x04, 2, 0x0002);
    assert_int_equal(rd(v, 0, 0x3C, 1), 0);
    assert_int_equal(rd(v, 2, 0x04, 2), 0);
    assert_int_equal(rd(v, 1, 0x04, 2), 0x0002);
    pf_cfgview_reset_vf(v, 1);
    assert_int_equal(rd(v, 1, 0x3C, 1), 0);
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
test_chunks_never_cross(void **state)
{
    struct fake *f = fake_new(0);
    struct pf_cfgview *v = view_new(f);
    uint8_t wide[64], narrow[64];

    for (uint32_t off = 0x30; off < 0x1A0; off += 3) {
        for (uint32_t len = 1; len <= 13; len += 4) {
            assert_int_equal(pf_cfgview_read(v, 0, off, wide, len), STATUS_SUCCESS);
            for (uint32_t i = 0; i < len; i++) {
                assert_int_equal(pf_cfgview_read(v, 0, off + i, narrow + i, 1), STATUS_SUCCESS);
            }
            assert_memory_equal(wide, narrow, len);
        }
    }
    assert_int_equal(f->crossed, 0);
    /* A whole-space read splits the same way. */
    {
        uint8_t *all = test_malloc(4096);

        assert_int_equal(pf_cfgview_read(v, 0, 0, all, 4096), STATUS_SUCCESS);
        assert_int_equal(le32_get(all), 0x10ed8086);
        assert_int_equal(f->crossed, 0);
        test_free(all);
    }
    pf_cfgview_destroy(v);
    test_free(f);
}

static void
test_bad_arguments(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v = view_new(f);
    uint8_t b[8];

    assert_int_equal(pf_cfgview_read(v, NVF, 0, b, 4), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_cfgview_read(v, 0, 4096, b, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_cfgview_read(v, 0, 4094, b, 4), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_cfgview_read(v, 0, 0, b, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_cfgview_read(v, 0, 0, NULL, 4), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_cfgview_write(v, 0xFFFF, 0, b, 4), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_cfgview_write(v, 0, 0xFFFFFFFF, b, 2), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_cfgview_read(v, 0, 4092, b, 4), STATUS_SUCCESS);
    pf_cfgview_destroy(v);
    pf_cfgview_destroy(NULL);
    test_free(f);
}

static void
test_malformed_chain(void **state)
{
    struct fake *f = fake_new(1);
    struct pf_cfgview *v;

    for (unsigned vf = 0; vf < NVF; vf++) {
        f->cfg[vf][0x71] = 0x40;                                  /* PCIe -> PM: a loop */
        le32_put(f->cfg[vf] + 0x190, PF_ECAP_ARI | 0x190u << 20); /* ARI -> itself */
    }
    v = view_new(f);
    unsigned n = 0;
    for (uint32_t p = rd(v, 0, 0x34, 1); p != 0 && n < 10; p = rd(v, 0, p + 1, 1)) {
        n++;
    }
    assert_int_equal(n, 3); /* the view's chain ends: the loop is cut */
    pf_cfgview_destroy(v);
    test_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_virtualized),     cmocka_unit_test(test_sriov_hidden_first),
        cmocka_unit_test(test_sriov_hidden_middle), cmocka_unit_test(test_std_chain),
        cmocka_unit_test(test_bar_sizing),          cmocka_unit_test(test_command_and_status),
        cmocka_unit_test(test_read_only_dropped),   cmocka_unit_test(test_flr),
        cmocka_unit_test(test_per_vf_isolation),    cmocka_unit_test(test_chunks_never_cross),
        cmocka_unit_test(test_bad_arguments),       cmocka_unit_test(test_malformed_chain),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
