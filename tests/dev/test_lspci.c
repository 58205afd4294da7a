/*
 * tests/dev/test_lspci.c - the PF and VF config the model builds, decoded by the
 * real `lspci -vvv -F` (pciutils) as an independent oracle.  The lines checked
 * are what device-model.md 1.5 says lspci prints for the state we set; wording
 * that differs between pciutils versions is matched on its stable part.
 */
#include "dev_test.h"

#include <stdlib.h>
#include <unistd.h>

#include "dev/regs.h"
#include "pci/dump.h"
#include "util/alloc.h"

static char *
run_lspci(struct pv_sriov_dev *dev, uint32_t max_vfs)
{
    char path[] = "/tmp/pcivirt-dev-lspci-XXXXXX", cmd[256];
    struct pci_dump *d;
    char *out = pv_calloc(1, 1 << 20);
    size_t n = 0;
    FILE *f;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pci_dump_create(&d), 0);
    assert_int_equal(pv_sriov_export(dev, d, max_vfs), 0);
    assert_int_equal(pci_dump_save(d, path, NULL), 0);
    pci_dump_destroy(d);
    snprintf(cmd, sizeof(cmd), "lspci -vvv -F %s 2>&1", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (n < (1u << 20) - 1 && fgets(out + n, (int)((1u << 20) - n), f) != NULL) {
        n += strlen(out + n);
    }
    assert_int_equal(pclose(f), 0);
    unlink(path);
    return out;
}

/* The text of one function's block (from its address line to the next blank line). */
static const char *
block(const char *text, const char *addr, char *buf, size_t size)
{
    const char *p = strstr(text, addr), *end;

    assert_non_null(p);
    end = strstr(p, "\n\n");
    if (end == NULL) {
        end = p + strlen(p);
    }
    assert_true((size_t)(end - p) < size);
    memcpy(buf, p, (size_t)(end - p));
    buf[end - p] = 0;
    return buf;
}

static void
test_pf_and_vfs_decoded_by_lspci(void **state)
{
    static char pf[65536], vf[65536];
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    struct pv_platform *plat;
    char *out;

    (void)state;
    pv_profile_default(&p);
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    assert_int_equal(pv_platform_create(NULL, &plat), 0);
    assert_int_equal(pv_sriov_assign_resources(dev, plat, NULL), 0);
    assert_int_equal(pv_sriov_enable(dev, 8, NULL), 0);
    cfg_wr(dev, 0x0382, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    cfg_wr(dev, 0x0382, 0x50 + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    out = run_lspci(dev, 8);
    block(out, "03:00.0", pf, sizeof(pf));
    assert_non_null(strstr(pf, "Single Root I/O Virtualization (SR-IOV)"));
    assert_non_null(strstr(pf, "IOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy+"));
    assert_non_null(strstr(pf, "IOVSta:\tMigration-"));
    assert_non_null(strstr(pf, "Initial VFs: 64, Total VFs: 64, Number of VFs: 8, Function Dependency Link: 00"));
    assert_non_null(strstr(pf, "VF offset: 128, stride: 2, Device ID: 10ed"));
    assert_non_null(strstr(pf, "Supported Page Size: 00000553, System Page Size: 00000001"));
    assert_non_null(strstr(pf, "Region 0: Memory at 00000040")); /* VF BAR0 in the 64-bit window */
    assert_non_null(strstr(pf, "(64-bit, prefetchable)"));
    assert_non_null(strstr(pf, "VF Migration: offset: 00000000, BIR: 0"));
    assert_non_null(strstr(pf, "Alternative Routing-ID Interpretation (ARI)"));
    assert_non_null(strstr(pf, "FLReset+"));
    assert_non_null(strstr(pf, "Control: I/O- Mem+"));
    /* VF 1 at 03:10.2: no SR-IOV, its own MSI-X, FLR, no BARs, no INTx. */
    block(out, "03:10.2", vf, sizeof(vf));
    assert_null(strstr(vf, "SR-IOV"));
    assert_null(strstr(vf, "Region"));
    assert_null(strstr(vf, "Interrupt: pin"));
    assert_non_null(strstr(vf, "MSI-X: Enable+ Count=3 Masked-"));
    assert_non_null(strstr(vf, "Vector table: BAR=3 offset=00000000"));
    assert_non_null(strstr(vf, "PBA: BAR=3 offset=00002000"));
    assert_non_null(strstr(vf, "Control: I/O- Mem- BusMaster+"));
    assert_non_null(strstr(vf, "FLReset+"));
    assert_non_null(strstr(vf, "Power Management version 3"));
    assert_non_null(strstr(vf, "Status: D0 NoSoftRst+"));
    assert_non_null(strstr(out, "03:11.6")); /* the 8th VF: devfn 0x80 + 7 x 2 = 0x8e */
    pv_free(out);
    pv_sriov_destroy(dev);
    pv_platform_destroy(plat);
}

static void
test_dump_profile_round_trip_through_lspci(void **state)
{
    static char pf[65536];
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    char *out;

    (void)state;
    assert_int_equal(pv_profile_load(&p, PCIVIRT_SHARED_DIR "/data/pciutils-tests/cap-pcie-2", NULL), 0);
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    assert_int_equal(pv_sriov_enable(dev, 8, NULL), 0);
    out = run_lspci(dev, 8);
    block(out, "01:00.0", pf, sizeof(pf));
    assert_non_null(strstr(pf, "IOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy-"));
    assert_non_null(strstr(pf, "Initial VFs: 8, Total VFs: 8, Number of VFs: 8"));
    assert_non_null(strstr(pf, "VF offset: 384, stride: 2, Device ID: 10ca"));
    assert_non_null(strstr(out, "02:10.0"));
    assert_non_null(strstr(out, "02:11.6"));
    pv_free(out);
    pv_sriov_destroy(dev);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pf_and_vfs_decoded_by_lspci),
        cmocka_unit_test(test_dump_profile_round_trip_through_lspci),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
