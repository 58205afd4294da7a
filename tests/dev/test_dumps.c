/*
 * tests/dev/test_dumps.c - every real dump with an SR-IOV capability in
 * ../shared/data/pciutils-tests becomes a device that enables its VFs at the
 * routing IDs Linux would compute.  Two oracles: device-model.md 5.4 / 11's
 * worked examples (literal BDFs), and Linux's formula from drivers/pci/iov.c
 * computed here from the dump's raw bytes, not from the model.
 */
#include "dev_test.h"

#include <stdlib.h>

#include "dev/regs.h"
#include "pci/dump.h"
#include "util/alloc.h"

#define DATA PCIVIRT_SHARED_DIR "/data/pciutils-tests/"

struct raw_sriov {
    unsigned bus, devfn, offset, stride, total;
};

/* Independent read of the dump: find the SR-IOV header by walking the raw ext chain. */
static void
raw_geometry(const char *path, struct raw_sriov *r)
{
    struct pci_dump *d;
    const uint8_t *b;
    unsigned off = 0x100, guard = 0;

    assert_int_equal(pci_dump_load(path, &d, NULL), 0);
    b = d->funcs[0]->bytes;
    while (off != 0 && guard++ < 100 && (le32_get(b + off) & 0xffff) != 0x10) {
        off = le32_get(b + off) >> 20;
    }
    assert_true(off != 0);
    r->bus = d->funcs[0]->addr.bus;
    r->devfn = (unsigned)d->funcs[0]->addr.dev << 3 | d->funcs[0]->addr.fn;
    r->offset = le16_get(b + off + 0x14);
    r->stride = le16_get(b + off + 0x16);
    r->total = le16_get(b + off + 0x0e);
    pci_dump_destroy(d);
}

static void
bdf(unsigned rid, char *buf, size_t n)
{
    snprintf(buf, n, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
}

/* Load, enable TotalVFs, compare every VF RID with Linux's formula; return the device. */
static struct pv_sriov_dev *
load_and_enable(const char *file, struct pv_profile *p)
{
    char path[512];
    struct raw_sriov r;
    struct pv_sriov_dev *dev;
    struct pcivirt_error err;

    snprintf(path, sizeof(path), DATA "%s", file);
    pcivirt_error_clear(&err);
    assert_int_equal(pv_profile_load(p, path, &err), 0);
    raw_geometry(path, &r);
    assert_int_equal(pv_sriov_create(p, &dev, &err), 0);
    assert_int_equal(pv_sriov_enable(dev, p->total_vfs, &err), 0);
    for (unsigned id = 0; id < r.total; id++) {
        unsigned bus = r.bus + ((r.devfn + r.offset + r.stride * id) >> 8); /* pci_iov_virtfn_bus */
        unsigned devfn = (r.devfn + r.offset + r.stride * id) & 0xff;       /* pci_iov_virtfn_devfn */
        uint16_t rid;

        assert_int_equal(pv_sriov_vf_rid(dev, id, &rid), 0);
        assert_int_equal(rid, bus << 8 | devfn);
        assert_int_equal(cfg_rd(dev, rid, 0, 4), 0xffffffff);
        assert_int_equal(cfg_rd(dev, rid, PCI_COMMAND, 2), 0);
    }
    return dev;
}

static void
expect_vf(struct pv_sriov_dev *dev, uint32_t index, const char *want)
{
    uint16_t rid;
    char buf[16];

    assert_int_equal(pv_sriov_vf_rid(dev, index, &rid), 0);
    bdf(rid, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

static void
test_cap_pcie_2_82576(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev = load_and_enable("cap-pcie-2", &p);

    (void)state;
    /* device-model.md 5.4: non-ARI, VFs on bus + 1. */
    assert_int_equal(p.pf_rid, 0x0100);
    assert_false(p.ari_forwarding);
    expect_vf(dev, 0, "02:10.0");
    expect_vf(dev, 7, "02:11.6");
    assert_int_equal(p.captured_num_vfs, 1);
    assert_int_equal(p.warning_count, 0);
    pv_sriov_destroy(dev);
    /* A tighter range than Linux reserves: refused with the arithmetic. */
    {
        struct pv_sriov_dev *tight;
        struct pcivirt_error err;

        p.bus_range_set = true;
        p.secondary_bus = 1;
        p.subordinate_bus = 1;
        assert_int_equal(pv_sriov_create(&p, &tight, NULL), 0);
        assert_int_equal(pv_sriov_enable(tight, 1, &err), PCIVIRT_ENOSPC);
        assert_non_null(strstr(err.message, "First VF Offset 384"));
        assert_non_null(strstr(err.message, "= 02:10.0"));
        assert_non_null(strstr(err.message, "[bus 01-01]"));
        pv_sriov_destroy(tight);
    }
}

static void
test_cap_ea_1_thunderx(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev = load_and_enable("cap-ea-1", &p);
    bool warned = false;

    (void)state;
    assert_int_equal(p.segment, 2);
    expect_vf(dev, 0, "01:00.1");
    expect_vf(dev, 127, "01:10.0");
    /* VF BARs read 0 (Enhanced Allocation) and the PF lacks FLR: both reported as warnings. */
    for (unsigned i = 0; i < p.warning_count; i++) {
        warned |= strstr(p.warnings[i], "Enhanced Allocation") != NULL;
    }
    assert_true(warned);
    assert_int_equal(cfg_rd(dev, p.pf_rid, 0x180 + 0x20, 4), 0x100); /* SysPS as captured: 1 MiB */
    pv_sriov_destroy(dev);
}

static void
test_cap_phy32_pm174x(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev = load_and_enable("cap-phy32", &p);

    (void)state;
    expect_vf(dev, 0, "2e:04.0");
    expect_vf(dev, 63, "2e:0b.7");
    assert_int_equal(p.vf_device_id, p.device_id); /* VF DID = PF DID (a826) */
    assert_int_equal(p.warning_count, 0);          /* compliant: the warnings below come from patches */
    /* One VF BAR: the register file at 0 and MSI-X at 0x2000/0x3000 share it. */
    assert_int_equal(p.vf_regs_bar, 0);
    assert_int_equal(p.vf_msix_bar, 0);
    assert_int_equal(mmio_rd(dev, 0x2e20 + 5, 0, SWVF_REG_ID), SWVF_ID_MAGIC);
    assert_int_equal(mmio_rd(dev, 0x2e20 + 5, 0, SWVF_REG_VF_INDEX), 5);
    assert_int_equal(mmio_rd(dev, 0x2e20 + 5, 0, SWVF_REG_IDS), 0xa826144du);
    assert_int_equal(mmio_rd(dev, 0x2e20 + 5, 0, 0x2000 + 12), SWVF_MSIX_CTRL_MASKED);
    assert_int_equal(cfg_rd(dev, 0x2e20 + 5, 0x50 + 4, 4), 0x2000); /* table: BIR 0, 0x2000 */
    pv_sriov_destroy(dev);
}

static void
test_cap_dvsec_cxl(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev = load_and_enable("cap-dvsec-cxl", &p);
    bool warned = false;

    (void)state;
    expect_vf(dev, 0, "6b:02.0"); /* 0x6b00 + 16 */
    expect_vf(dev, 5, "6b:03.2"); /* + 5 x 2 */
    for (unsigned i = 0; i < p.warning_count; i++) {
        warned |= strstr(p.warnings[i], "0x3f") != NULL && strstr(p.warnings[i], "0x553") != NULL;
    }
    assert_true(warned);
    /* Three 32-bit VF BARs: the sizing probe shows 32-bit type bits. */
    cfg_wr(dev, p.pf_rid, 0xb80 + 0x24, 4, 0xffffffff);
    assert_int_equal(cfg_rd(dev, p.pf_rid, 0xb80 + 0x24, 4) & 0xf, 0);
    assert_true(p.vf_bar[0].size && p.vf_bar[2].size && p.vf_bar[4].size);
    pv_sriov_destroy(dev);
}

static void
test_cap_ide(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev = load_and_enable("cap-ide", &p);

    (void)state;
    expect_vf(dev, 0, "e1:04.0");
    expect_vf(dev, 3, "e1:04.3");
    assert_true(p.sriov_caps & PCI_SRIOV_CAP_VF_10BIT_TAG);
    /* VF 10-Bit Tag Requester Enable is writable because the capability says so. */
    cfg_wr(dev, p.pf_rid, 0x148 + 8, 2, cfg_rd(dev, p.pf_rid, 0x148 + 8, 2) | PCI_SRIOV_CTRL_VF_10BIT_TAG);
    assert_true(cfg_rd(dev, p.pf_rid, 0x148 + 8, 2) & PCI_SRIOV_CTRL_VF_10BIT_TAG);
    pv_sriov_destroy(dev);
}

/* A copy of cap-phy32 with one SR-IOV register patched must be refused naming it. */
static void
expect_patched_error(uint32_t reg, unsigned len, uint32_t value, const char *field)
{
    struct pci_dump *d;
    struct pv_profile p;
    struct pcivirt_error err;

    assert_int_equal(pci_dump_load(DATA "cap-phy32", &d, NULL), 0);
    le_put(d->funcs[0]->bytes + 0x1f8 + reg, len, value);
    pcivirt_error_clear(&err);
    assert_int_equal(pv_profile_from_dump(&p, d, -1, "patched", &err), PCIVIRT_EFORMAT);
    assert_string_equal(err.field, field);
    assert_string_equal(err.where, "patched");
    pci_dump_destroy(d);
}

static void
test_unusable_capabilities(void **state)
{
    struct pv_profile p;
    struct pcivirt_error err;

    (void)state;
    expect_patched_error(0x14, 2, 0, "First VF Offset");
    expect_patched_error(0x16, 2, 0, "VF Stride");
    expect_patched_error(0x0e, 2, 0, "TotalVFs");
    expect_patched_error(0x0c, 2, 3, "InitialVFs");
    expect_patched_error(0x20, 4, 0x3, "System Page Size");
    expect_patched_error(0x20, 4, 0x4, "System Page Size"); /* 16 KiB is not supported by 0x553 */
    expect_patched_error(0x1c, 4, 0, "Supported Page Sizes");
    expect_patched_error(0x24, 4, 0x1001, "VF BAR0");     /* an I/O VF BAR */
    expect_patched_error(0x24, 4, 0x88408002, "VF BAR0"); /* type 01 (below 1 MiB): reserved */
    expect_patched_error(0x24, 4, 0x88408006, "VF BAR0"); /* type 11: reserved */
    expect_patched_error(0x38, 4, 0x00000004, "VF BAR5"); /* 64-bit without an upper register */
    /* A dump without any SR-IOV capability. */
    assert_int_equal(pv_profile_load(&p, DATA "cap-pcie-1", &err), PCIVIRT_ENOENT);
    assert_string_equal(err.field, "SR-IOV capability");
    /* A file that does not exist. */
    assert_true(pv_profile_load(&p, DATA "no-such-file", &err) < 0);
}

/* The profile and its errors name the whole path, however long (a 64-byte name cut it). */
static void
test_long_path_named_whole(void **state)
{
    const char *path = DATA "../pciutils-tests/../pciutils-tests/../pciutils-tests/cap-dvsec-cxl";
    const char *missing = DATA "../pciutils-tests/../pciutils-tests/../pciutils-tests/no-such-file";
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    struct pcivirt_error err;

    (void)state;
    assert_true(strlen(path) > 100);
    assert_int_equal(pv_profile_load(&p, path, NULL), 0);
    assert_string_equal(p.name, path);
    p.system_page_size = 0x3;
    assert_int_equal(pv_sriov_create(&p, &dev, &err), PCIVIRT_EINVAL);
    assert_string_equal(err.where, path);
    assert_true(pv_profile_load(&p, missing, &err) < 0);
    assert_string_equal(err.where, missing);
}

/* A warning, not an error: the profile loads and the message names what is off. */
static void
expect_patched_warning(uint32_t reg, unsigned len, uint32_t value, const char *needle)
{
    struct pci_dump *d;
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    bool found = false;

    assert_int_equal(pci_dump_load(DATA "cap-phy32", &d, NULL), 0);
    le_put(d->funcs[0]->bytes + reg, len, value);
    assert_int_equal(pv_profile_from_dump(&p, d, -1, "patched", NULL), 0);
    for (unsigned i = 0; i < p.warning_count; i++) {
        found |= strstr(p.warnings[i], needle) != NULL && strstr(p.warnings[i], "patched") != NULL;
    }
    if (!found) {
        print_error("no warning with '%s' among %u\n", needle, p.warning_count);
    }
    assert_true(found);
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    assert_int_equal(pv_sriov_enable(dev, p.total_vfs, NULL), 0);
    pv_sriov_destroy(dev);
    pci_dump_destroy(d);
}

/* device-model.md 12 item 6: non-compliant but usable capabilities warn. */
static void
test_usable_with_warnings(void **state)
{
    struct pv_profile p;
    bool flr = false;

    (void)state;
    expect_patched_warning(0x1f8 + 0x1a, 2, 0, "VF Device ID is 0");            /* NVIDIA T4 */
    expect_patched_warning(0x1f8 + 0x1c, 4, 0x3f, "lacks the mandatory 0x553"); /* Intel 0d93 */
    expect_patched_warning(0x1f8 + 0x12, 1, 0x01, "Function Dependency Link 0x01");
    expect_patched_warning(0x70 + 0x04, 4, 0, "Function Level Reset"); /* PCIe DevCap without FLR */
    /* The unmodified capture of the ThunderX (Device Capabilities 0) warns about FLR. */
    assert_int_equal(pv_profile_load(&p, DATA "cap-ea-1", NULL), 0);
    for (unsigned i = 0; i < p.warning_count; i++) {
        flr |= strstr(p.warnings[i], "Function Level Reset") != NULL;
    }
    assert_true(flr);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_pcie_2_82576),
        cmocka_unit_test(test_cap_ea_1_thunderx),
        cmocka_unit_test(test_cap_phy32_pm174x),
        cmocka_unit_test(test_cap_dvsec_cxl),
        cmocka_unit_test(test_cap_ide),
        cmocka_unit_test(test_unusable_capabilities),
        cmocka_unit_test(test_long_path_named_whole),
        cmocka_unit_test(test_usable_with_warnings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
