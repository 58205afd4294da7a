/*
 * tests/dev/test_sriov_regs.c - the PF's SR-IOV capability and the VF config
 * rules, register by register, against device-model.md 1, 3, 5, 6 and 7.
 * Expected values come from the spec text and the 82599 facts in
 * device-model.md 10, never from the model's own output.
 */
#include "dev_test.h"

#define PF 0x0300
#define S 0x150 /* SR-IOV capability of the default profile (synthetic/pf.dump) */

static struct pv_sriov_dev *
mkdev(void)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev;

    pv_profile_default(&p);
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    return dev;
}

static void
test_capability_reset_values(void **state)
{
    struct pv_sriov_dev *dev = mkdev();

    (void)state;
    assert_int_equal(cfg_rd(dev, PF, 0, 4), 0x10fb8086);
    assert_int_equal(cfg_rd(dev, PF, S, 4) & 0xffff, 0x0010); /* SR-IOV ext cap ID */
    assert_int_equal((cfg_rd(dev, PF, S, 4) >> 16) & 0xf, 1); /* version 1 */
    assert_int_equal(cfg_rd(dev, PF, S + 0x0c, 2), 64);       /* InitialVFs */
    assert_int_equal(cfg_rd(dev, PF, S + 0x0e, 2), 64);       /* TotalVFs */
    assert_int_equal(cfg_rd(dev, PF, S + 0x10, 2), 0);        /* NumVFs */
    assert_int_equal(cfg_rd(dev, PF, S + 0x12, 1), 0);        /* FDL: own function */
    assert_int_equal(cfg_rd(dev, PF, S + 0x08, 2), 0x10);     /* ARI set at enumeration */
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 128);      /* 82599 with ARI */
    assert_int_equal(cfg_rd(dev, PF, S + 0x16, 2), 2);
    assert_int_equal(cfg_rd(dev, PF, S + 0x1a, 2), 0x10ed);
    assert_int_equal(cfg_rd(dev, PF, S + 0x1c, 4), 0x553); /* mandatory set */
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x1);
    assert_int_equal(cfg_rd(dev, PF, S + 0x24, 4), 0xc); /* VF BAR0 64-bit pref */
    assert_int_equal(cfg_rd(dev, PF, S + 0x30, 4), 0xc); /* VF BAR3 */
    assert_int_equal(cfg_rd(dev, PF, S + 0x28, 4), 0);   /* upper half */
    /* VF Migration State Array Offset read-only zero; Migration Capable 0. */
    assert_int_equal(cfg_wr(dev, PF, S + 0x3c, 4, 0xffffffff), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x3c, 4), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 4, 4) & 1, 0);
    /* Read-only fields ignore writes. */
    cfg_wr(dev, PF, S + 0x0c, 4, 0);
    cfg_wr(dev, PF, S + 0x14, 4, 0x00050005);
    cfg_wr(dev, PF, S + 0x1c, 4, 0xffffffff);
    assert_int_equal(cfg_rd(dev, PF, S + 0x0e, 2), 64);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 128);
    assert_int_equal(cfg_rd(dev, PF, S + 0x1c, 4), 0x553);
    pv_sriov_destroy(dev);
}

/*
 * The read-only and reserved parts of the capability (device-model.md 1.1-1.4):
 * SR-IOV Capabilities, Function Dependency Link, VF Device ID are RO; the
 * migration bits of Control are RO 0 when VF Migration is not capable, VF
 * 10-Bit Tag Requester Enable is RsvdP without the capability bit, reserved
 * Control bits stay 0, and VF Migration Status (RW1C) does not exist.
 */
static void
test_read_only_and_reserved_fields(void **state)
{
    struct pv_sriov_dev *dev = mkdev();
    uint32_t caps = cfg_rd(dev, PF, S + 4, 4);

    (void)state;
    assert_int_equal(caps & 0x1, 0);   /* VF Migration Capable 0 */
    assert_int_equal(caps & 0x4, 0);   /* no VF 10-bit tags in the default */
    assert_int_equal(caps & 0x2, 0x2); /* ARI Capable Hierarchy Preserved (PF has no soft-reset risk) */
    cfg_wr(dev, PF, S + 4, 4, ~caps);
    assert_int_equal(cfg_rd(dev, PF, S + 4, 4), caps);
    cfg_wr(dev, PF, S + 0x12, 1, 0x5a); /* Function Dependency Link */
    assert_int_equal(cfg_rd(dev, PF, S + 0x12, 1), 0);
    cfg_wr(dev, PF, S + 0x1a, 2, 0x1234); /* VF Device ID */
    assert_int_equal(cfg_rd(dev, PF, S + 0x1a, 2), 0x10ed);
    /* Control: Migration Enable, Migration Interrupt Enable, 10-bit tag, bits 15:7 read 0. */
    assert_int_equal(cfg_wr(dev, PF, S + 0x08, 2, 0xfff6 | PCI_SRIOV_CTRL_ARI), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x08, 2), PCI_SRIOV_CTRL_ARI);
    /* Status: VF Migration Status is RW1C only with migration; here nothing sticks. */
    cfg_wr(dev, PF, S + 0x0a, 2, 0xffff);
    assert_int_equal(cfg_rd(dev, PF, S + 0x0a, 2), 0);
    /* Reserved 0x18 and 0x13 read 0 and ignore writes. */
    cfg_wr(dev, PF, S + 0x18, 2, 0xffff);
    cfg_wr(dev, PF, S + 0x13, 1, 0xff);
    assert_int_equal(cfg_rd(dev, PF, S + 0x18, 2), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x13, 1), 0);
    pv_sriov_destroy(dev);
}

static void
test_numvfs_and_ari(void **state)
{
    struct pv_sriov_dev *dev = mkdev();

    (void)state;
    assert_int_equal(cfg_wr(dev, PF, S + 0x10, 2, 8), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x10, 2), 8);
    /* ARI off: offset 384, stride 2 (device-model.md 5.2) */
    assert_int_equal(cfg_wr(dev, PF, S + 0x08, 2, 0), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 384);
    assert_int_equal(cfg_rd(dev, PF, S + 0x16, 2), 2);
    assert_int_equal(cfg_wr(dev, PF, S + 0x08, 2, 0x10), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 128);
    /* Enable: NumVFs and ARI then keep their values (9.3.3.7, 9.3.3.3.5). */
    assert_int_equal(cfg_wr(dev, PF, S + 0x08, 2, 0x19), 0);
    assert_true(pv_sriov_vf_enabled(dev));
    assert_int_equal(cfg_wr(dev, PF, S + 0x10, 2, 4), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x10, 2), 8);
    assert_int_equal(cfg_wr(dev, PF, S + 0x08, 2, 0x09), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x08, 2), 0x19);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 128);
    /* Disable: VFs gone, NumVFs writable again. */
    assert_int_equal(cfg_wr(dev, PF, S + 0x08, 2, 0x10), 0);
    assert_int_equal(cfg_rd(dev, 0x0380, 0, 4), 0xffffffff);
    assert_int_equal(cfg_wr(dev, PF, S + 0x10, 2, 4), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x10, 2), 4);
    pv_sriov_destroy(dev);
}

static void
test_vf_enable_routing(void **state)
{
    struct pv_sriov_dev *dev = mkdev();
    uint16_t rid;

    (void)state;
    assert_int_equal(pv_sriov_enable(dev, 64, NULL), 0);
    for (uint32_t i = 0; i < 64; i++) {
        uint16_t want = (uint16_t)(0x0300 + 128 + 2 * i); /* 03:10.0 ... 03:1f.6 */

        assert_int_equal(pv_sriov_vf_rid(dev, i, &rid), 0);
        assert_int_equal(rid, want);
        assert_int_equal(cfg_rd(dev, want, 0, 4), 0xffffffff); /* VF Vendor/Device read 0xffff */
        assert_int_equal(cfg_rd(dev, want, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, 0);
        assert_int_equal(cfg_rd(dev, (uint16_t)(want + 1), PCI_COMMAND, 2), 0xffff); /* between VFs: UR */
    }
    assert_int_equal(rid, 0x03fe); /* last: 03:1f.6 */
    pv_sriov_destroy(dev);
}

static void
test_bad_geometry_refused(void **state)
{
    struct pv_sriov_dev *dev = mkdev();
    struct pcivirt_error err;

    (void)state;
    /* The rescan bug (device-model.md 12 item 1): ARI off -> offset 384 -> bus 04 outside [03-03]. */
    cfg_wr(dev, PF, S + 0x10, 2, 1);
    assert_int_equal(cfg_wr(dev, PF, S + 0x08, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE), PCIVIRT_ENOSPC);
    /* Defined answer: VF Enable reads 0, the rest of the write (MSE, ARI off) took effect. */
    assert_int_equal(cfg_rd(dev, PF, S + 0x08, 2), PCI_SRIOV_CTRL_MSE);
    assert_false(pv_sriov_vf_enabled(dev));
    assert_int_equal(cfg_rd(dev, 0x0480, 0, 4), 0xffffffff);
    assert_int_equal(pv_sriov_last_error(dev, &err), 0);
    assert_non_null(strstr(err.message, "First VF Offset 384"));
    assert_non_null(strstr(err.message, "ARI Capable Hierarchy off"));
    assert_non_null(strstr(err.message, "= 04:10.0"));
    assert_non_null(strstr(err.message, "[bus 03-03]"));
    /* NumVFs above TotalVFs and NumVFs 0 are refused too, naming NumVFs. */
    cfg_wr(dev, PF, S + 0x08, 2, 0x10);
    assert_int_equal(pv_sriov_enable(dev, 65, &err), PCIVIRT_EINVAL);
    assert_string_equal(err.field, "NumVFs");
    assert_int_equal(pv_sriov_enable(dev, 0, &err), PCIVIRT_EINVAL);
    assert_false(pv_sriov_vf_enabled(dev));
    assert_int_equal(pv_sriov_enable(dev, 64, &err), 0);
    assert_int_equal(pv_sriov_enable(dev, 64, &err), PCIVIRT_EBUSY);
    pv_sriov_destroy(dev);
}

/*
 * System Page Size is judged by the value the register would hold after the
 * write (device-model.md 1.1: exactly one bit, a supported one), whatever bytes
 * the write covers: a byte write of 0x01 to its second byte must not leave
 * 0x101 (4 KiB and 1 MiB at once); a write that leaves the value as it is
 * (zeros to the upper half) is no error.
 */
static void
test_system_page_size_partial_writes(void **state)
{
    struct pv_sriov_dev *dev = mkdev();

    (void)state;
    assert_int_equal(cfg_wr(dev, PF, S + 0x21, 1, 0x01), PCIVIRT_EINVAL);
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x1);
    assert_int_equal(cfg_wr(dev, PF, S + 0x22, 2, 0x0000), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x1);
    /* A 2-byte write that moves the one bit is a valid change: 0x1 -> 0x100 (1 MiB). */
    assert_int_equal(cfg_wr(dev, PF, S + 0x20, 2, 0x0100), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x100);
    cfg_wr(dev, PF, S + 0x24, 4, 0xffffffff);
    assert_int_equal(cfg_rd(dev, PF, S + 0x24, 4), 0xfff0000c); /* per-VF 1 MiB */
    /* A byte that adds a bit while bit 8 stays: two bits - refused, supported or not. */
    assert_int_equal(cfg_wr(dev, PF, S + 0x20, 1, 0x10), PCIVIRT_EINVAL); /* 0x110 */
    assert_int_equal(cfg_wr(dev, PF, S + 0x22, 1, 0x04), PCIVIRT_EINVAL); /* 0x40100 */
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x100);
    /* A whole-register write of an unsupported bit mixed with the current one is refused too. */
    assert_int_equal(cfg_wr(dev, PF, S + 0x20, 4, 0x104), PCIVIRT_EINVAL);
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x100);
    pv_sriov_destroy(dev);
}

static void
test_system_page_size_and_vf_bar_sizing(void **state)
{
    struct pv_sriov_dev *dev = mkdev();

    (void)state;
    /* Sizing by writing all ones (device-model.md 6 rule 2): 16 KiB per VF, 64-bit prefetchable. */
    cfg_wr(dev, PF, S + 0x24, 4, 0xffffffff);
    cfg_wr(dev, PF, S + 0x28, 4, 0xffffffff);
    assert_int_equal(cfg_rd(dev, PF, S + 0x24, 4), 0xffffc00c);
    assert_int_equal(cfg_rd(dev, PF, S + 0x28, 4), 0xffffffff);
    /* Exactly one supported bit: 0x3 (two bits) and 0x4 (16 KiB, not in 0x553) are ignored. */
    assert_int_equal(cfg_wr(dev, PF, S + 0x20, 4, 0x3), PCIVIRT_EINVAL);
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x1);
    assert_int_equal(cfg_wr(dev, PF, S + 0x20, 4, 0x4), PCIVIRT_EINVAL);
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x1);
    /* 64 KiB pages: per-VF size grows to 64 KiB and the aperture aligns to it. */
    assert_int_equal(cfg_wr(dev, PF, S + 0x20, 4, 0x10), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x10);
    cfg_wr(dev, PF, S + 0x24, 4, 0xffffffff);
    assert_int_equal(cfg_rd(dev, PF, S + 0x24, 4), 0xffff000c);
    cfg_wr(dev, PF, S + 0x30, 4, 0x12345678);
    assert_int_equal(cfg_rd(dev, PF, S + 0x30, 4), 0x1234000c);
    /* Written while VF Enable = 1: ignored. */
    assert_int_equal(pv_sriov_enable(dev, 2, NULL), 0);
    assert_int_equal(cfg_wr(dev, PF, S + 0x20, 4, 0x1), PCIVIRT_EINVAL);
    assert_int_equal(cfg_rd(dev, PF, S + 0x20, 4), 0x10);
    pv_sriov_destroy(dev);
}

static void
test_vf_config_rules(void **state)
{
    struct pv_sriov_dev *dev = mkdev();
    uint16_t vf = 0x0380;
    int msix, exp;
    uint8_t cfg[4096];

    (void)state;
    assert_int_equal(pv_sriov_enable(dev, 4, NULL), 0);
    assert_int_equal(cfg_rd(dev, vf, 0x00, 2), 0xffff);
    assert_int_equal(cfg_rd(dev, vf, 0x02, 2), 0xffff);
    assert_int_equal(cfg_rd(dev, vf, 0x08, 4) >> 8, 0x020000);            /* class = PF's */
    assert_int_equal(cfg_rd(dev, vf, 0x2c, 2), cfg_rd(dev, PF, 0x2c, 2)); /* SSVID = PF's */
    for (uint16_t bar = 0x10; bar <= 0x24; bar += 4) {
        cfg_wr(dev, vf, bar, 4, 0xffffffff);
        assert_int_equal(cfg_rd(dev, vf, bar, 4), 0); /* hardwired 0 */
    }
    cfg_wr(dev, vf, 0x30, 4, 0xffffffff);
    assert_int_equal(cfg_rd(dev, vf, 0x30, 4), 0); /* no ROM */
    assert_int_equal(cfg_rd(dev, vf, 0x3d, 1), 0); /* no INTx */
    assert_int_equal(cfg_rd(dev, vf, 0x0e, 1), 0); /* never multi-function */
    cfg_wr(dev, vf, PCI_COMMAND, 2, 0x0547);
    assert_int_equal(cfg_rd(dev, vf, PCI_COMMAND, 2), PCI_COMMAND_MASTER); /* only BME */
    /* ROZ in a VF (device-model.md 3.1): Cache Line Size, Latency Timer, BIST, Interrupt Line. */
    cfg_wr(dev, vf, 0x0c, 4, 0xffffffff);
    assert_int_equal(cfg_rd(dev, vf, 0x0c, 4), 0);
    cfg_wr(dev, vf, 0x3c, 1, 0x0b);
    assert_int_equal(cfg_rd(dev, vf, 0x3c, 1), 0);
    /* Device Control bits 0-14 are VF RsvdP (the PF's apply). */
    cfg_wr(dev, vf, 0x70 + PCI_EXP_DEVCTL, 2, 0x7fff);
    assert_int_equal(cfg_rd(dev, vf, 0x70 + PCI_EXP_DEVCTL, 2), 0);
    /* PM: VF No_Soft_Reset equals the PF's (device-model.md 3.2). */
    assert_int_equal(cfg_rd(dev, vf, 0x44, 2) & PCI_PM_CTRL_NO_SOFT_RESET,
                     cfg_rd(dev, PF, 0x44, 2) & PCI_PM_CTRL_NO_SOFT_RESET);
    /* Status: Capabilities List 1, Interrupt Status 0 (no INTx); software cannot set error bits. */
    cfg_wr(dev, vf, PCI_STATUS, 2, 0xffff);
    assert_int_equal(cfg_rd(dev, vf, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    assert_int_equal(pv_sriov_config_read(dev, vf, 0, cfg, sizeof(cfg)), 0);
    exp = pci_cap_find(cfg, sizeof(cfg), PCI_CAP_ID_EXP, 0, NULL);
    msix = pci_cap_find(cfg, sizeof(cfg), PCI_CAP_ID_MSIX, 0, NULL);
    assert_true(exp > 0 && msix > 0);
    assert_true(le32_get(cfg + exp + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR);
    assert_int_equal(le16_get(cfg + msix + 2) & 0x7ff, 2);  /* 3 vectors */
    assert_int_equal(le32_get(cfg + msix + 4), 3);          /* table BAR3 off 0 */
    assert_int_equal(le32_get(cfg + msix + 8), 0x2000 | 3); /* PBA BAR3 0x2000 */
    assert_int_equal(pci_ecap_find(cfg, sizeof(cfg), PCI_ECAP_ID_SRIOV, 0, NULL), PCIVIRT_ENOENT);
    pv_sriov_destroy(dev);
}

/* A device whose offset depends on NumVFs, as PCIe 9.3.3.8 allows. */
static void
numvfs_geometry(void *ctx, bool ari, uint16_t n, uint16_t *off, uint16_t *stride)
{
    (void)ctx;
    *off = (uint16_t)(ari ? (n > 32 ? 64 : 32) : 256);
    *stride = 1;
}

static void
test_geometry_depends_on_numvfs(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev;

    (void)state;
    pv_profile_default(&p);
    p.geometry = numvfs_geometry;
    assert_int_equal(pv_profile_default_subordinate(&p), 0x03); /* max over NumVFs 1..64: 0x300+64+63 */
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    cfg_wr(dev, PF, S + 0x10, 2, 8);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 32);
    cfg_wr(dev, PF, S + 0x10, 2, 40);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 64);
    assert_int_equal(pv_sriov_enable(dev, 40, NULL), 0);
    assert_int_equal(cfg_rd(dev, 0x0300 + 64, 0, 2), 0xffff);
    assert_int_equal(cfg_rd(dev, 0x0300 + 64, PCI_COMMAND, 2), 0);
    assert_int_equal(cfg_rd(dev, 0x0300 + 32, PCI_COMMAND, 2), 0xffff); /* not a VF at NumVFs 40 */
    pv_sriov_destroy(dev);
}

static void
test_profile_errors(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    struct pcivirt_error err;

    (void)state;
    pv_profile_default(&p);
    p.system_page_size = 0x3;
    assert_int_equal(pv_sriov_create(&p, &dev, &err), PCIVIRT_EINVAL);
    assert_string_equal(err.field, "System Page Size");
    pv_profile_default(&p);
    p.bus_range_set = true;
    p.secondary_bus = 2;
    p.subordinate_bus = 9;
    assert_int_equal(pv_sriov_create(&p, &dev, &err), PCIVIRT_EINVAL);
    assert_string_equal(err.field, "bus range");
    pv_sriov_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capability_reset_values),
        cmocka_unit_test(test_numvfs_and_ari),
        cmocka_unit_test(test_read_only_and_reserved_fields),
        cmocka_unit_test(test_vf_enable_routing),
        cmocka_unit_test(test_bad_geometry_refused),
        cmocka_unit_test(test_system_page_size_and_vf_bar_sizing),
        cmocka_unit_test(test_system_page_size_partial_writes),
        cmocka_unit_test(test_vf_config_rules),
        cmocka_unit_test(test_geometry_depends_on_numvfs),
        cmocka_unit_test(test_profile_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
