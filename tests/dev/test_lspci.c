/*
 * tests/dev/test_lspci.c - the PF and VF config the model builds, decoded by the
 * real `lspci -vvv -F` (pciutils) as an independent oracle.  The lines checked
 * are what device-model.md 1.5 says lspci prints for the state we set; wording
 * that differs between pciutils versions is matched on its stable part.
 */
#include "dev_test.h"

#include "../pci/lspci_oracle.h"

#include <stdlib.h>
#include <unistd.h>

#include "dev/regs.h"
#include "pci/dump.h"
#include "util/alloc.h"

/* The model's export of @dev with @max_vfs VFs, saved as a dump in a new temporary file
 * made from the template @path. */
static void
export_to_file(struct pv_sriov_dev *dev, uint32_t max_vfs, char *path)
{
    struct pci_dump *d;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pci_dump_create(&d), 0);
    assert_int_equal(pv_sriov_export(dev, d, max_vfs), 0);
    assert_int_equal(pci_dump_save(d, path, NULL), 0);
    pci_dump_destroy(d);
}

static char *
run_lspci(struct pv_sriov_dev *dev, uint32_t max_vfs)
{
    char path[] = "/tmp/pcivirt-dev-lspci-XXXXXX", cmd[256];
    char *out = pv_calloc(1, 1 << 20);
    size_t n = 0;
    FILE *f;

    export_to_file(dev, max_vfs, path);
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

/* [p, end) - up to the end of p's string when @end is NULL - copied into @buf. */
static const char *
copy_span(const char *p, const char *end, char *buf, size_t size)
{
    if (end == NULL) {
        end = p + strlen(p);
    }
    assert_true((size_t)(end - p) < size);
    memcpy(buf, p, (size_t)(end - p));
    buf[end - p] = 0;
    return buf;
}

/* The text of one function's block (from its address line to the next blank line). */
static const char *
block(const char *text, const char *addr, char *buf, size_t size)
{
    const char *p = strstr(text, addr);

    assert_non_null(p);
    return copy_span(p, strstr(p, "\n\n"), buf, size);
}

/* Every one of @lines appears in @text; a missing one is named. */
static void
expect_lines(const char *text, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strstr(text, lines[i]) == NULL) {
            print_error("lspci printed no '%s' in:\n%s\n", lines[i], text);
        }
        assert_non_null(strstr(text, lines[i]));
    }
}

static void
test_pf_and_vfs_decoded_by_lspci(void **state)
{
    static const char *const pf_lines[] = {
        "Single Root I/O Virtualization (SR-IOV)",
        "IOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy+",
        "IOVSta:\tMigration-",
        "Initial VFs: 64, Total VFs: 64, Number of VFs: 8, Function Dependency Link: 00",
        "VF offset: 128, stride: 2, Device ID: 10ed",
        "Supported Page Size: 00000553, System Page Size: 00000001",
        "Region 0: Memory at 00000040", /* VF BAR0 in the 64-bit window */
        "(64-bit, prefetchable)",
        "VF Migration: offset: 00000000, BIR: 0",
        "Alternative Routing-ID Interpretation (ARI)",
        "FLReset+",
        "Control: I/O- Mem+",
    };
    static const char *const vf_lines[] = {
        "MSI-X: Enable+ Count=3 Masked-",
        "Vector table: BAR=3 offset=00000000",
        "PBA: BAR=3 offset=00002000",
        "Control: I/O- Mem- BusMaster+",
        "FLReset+",
        "Power Management version 3",
        "Status: D0 NoSoftRst+",
    };
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
    expect_lines(pf, pf_lines, sizeof(pf_lines) / sizeof(pf_lines[0]));
    /* VF 1 at 03:10.2: no SR-IOV, its own MSI-X, FLR, no BARs, no INTx. */
    block(out, "03:10.2", vf, sizeof(vf));
    assert_null(strstr(vf, "SR-IOV"));
    assert_null(strstr(vf, "Region"));
    assert_null(strstr(vf, "Interrupt: pin"));
    expect_lines(vf, vf_lines, sizeof(vf_lines) / sizeof(vf_lines[0]));
    assert_non_null(strstr(out, "03:11.6")); /* the 8th VF: devfn 0x80 + 7 x 2 = 0x8e */
    pv_free(out);
    pv_sriov_destroy(dev);
    pv_platform_destroy(plat);
}

static void
test_dump_profile_round_trip_through_lspci(void **state)
{
    static const char *const pf_lines[] = {
        "IOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy-",
        "Initial VFs: 8, Total VFs: 8, Number of VFs: 8",
        "VF offset: 384, stride: 2, Device ID: 10ca",
    };
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
    expect_lines(pf, pf_lines, sizeof(pf_lines) / sizeof(pf_lines[0]));
    assert_non_null(strstr(out, "02:10.0"));
    assert_non_null(strstr(out, "02:11.6"));
    pv_free(out);
    pv_sriov_destroy(dev);
}

/* The SR-IOV capability's lines in a device block (header to the next capability). */
static void
sriov_lines(const struct lspci_dev *d, char *buf, size_t size)
{
    const char *p;

    assert_non_null(d);
    p = strstr(d->body, "Single Root I/O Virtualization (SR-IOV)");
    assert_non_null(p);
    copy_span(p, strstr(p, "\tCapabilities: ["), buf, size);
}

/* The line of @block starting with @label (tabs skipped), into @out. */
static void
line_of(const char *block_text, const char *label, char *out, size_t size)
{
    const char *p = strstr(block_text, label), *eol;

    assert_non_null(p);
    eol = strchr(p, '\n');
    assert_non_null(eol);
    copy_span(p, eol, out, size);
}

static void
lspci_addr(uint16_t segment, unsigned rid, char *buf, size_t n)
{
    if (segment != 0) {
        snprintf(buf, n, "%04x:%02x:%02x.%x", segment, rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    } else {
        snprintf(buf, n, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    }
}

/*
 * One real dump: lspci's reading of the original capture is the oracle for
 * lspci's reading of what the model exports with TotalVFs enabled.  The
 * capability's read-only lines (IOVCap, offset/stride/VF Device ID, page sizes,
 * VF BAR regions as captured, VF Migration) must be identical; IOVCtl shows
 * Enable+ and MSE+; Number of VFs is TotalVFs; and exactly one function answers
 * at each routing ID Linux computes from the capture's own bytes, with no
 * SR-IOV capability, no BARs, no INTx and FLR in its Device Capabilities.
 */
static void
check_dump_through_lspci(const char *file)
{
    static char want[16384], got[16384];
    char path[512], out_path[] = "/tmp/pcivirt-dev-lspci-XXXXXX", addr[32], a[256], b[256];
    struct lspci_out orig, mine;
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    unsigned first;

    snprintf(path, sizeof(path), PCIVIRT_SHARED_DIR "/data/pciutils-tests/%s", file);
    assert_int_equal(pv_profile_load(&p, path, NULL), 0);
    lspci_addr(p.segment, p.pf_rid, addr, sizeof(addr));
    lspci_run("-vvv", path, &orig);
    sriov_lines(lspci_find(&orig, addr, 0), want, sizeof(want));

    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    assert_int_equal(pv_sriov_enable(dev, p.total_vfs, NULL), 0);
    export_to_file(dev, p.total_vfs, out_path);
    lspci_run("-vvv", out_path, &mine);
    unlink(out_path);
    assert_int_equal(mine.status, 0);
    assert_int_equal(mine.n, 1u + p.total_vfs);
    sriov_lines(lspci_find(&mine, addr, 0), got, sizeof(got));
    if (getenv("PCIVIRT_TEST_VERBOSE") != NULL) {
        printf("%s: capture:\n%s\nexport:\n%s\n", file, want, got);
    }

    for (const char *l = want; *l != 0;) {
        const char *eol = strchr(l, '\n');
        size_t n = eol != NULL ? (size_t)(eol - l) : strlen(l);

        memcpy(a, l, n < sizeof(a) ? n : sizeof(a) - 1);
        a[n < sizeof(a) ? n : sizeof(a) - 1] = 0;
        if (strstr(a, "IOVCtl:") == NULL && strstr(a, "Initial VFs:") == NULL) {
            if (strstr(got, a) == NULL) {
                print_error("%s: exported SR-IOV capability lacks lspci line '%s':\n%s\n", file, a, got);
            }
            assert_non_null(strstr(got, a));
        }
        l += n + (eol != NULL);
    }
    assert_non_null(strstr(got, "IOVCtl:\tEnable+"));
    assert_non_null(strstr(got, "MSE+"));
    line_of(want, "Initial VFs:", a, sizeof(a));
    *strstr(a, "Number of VFs:") = 0;
    line_of(got, "Initial VFs:", b, sizeof(b));
    assert_non_null(strstr(b, a)); /* Initial and Total as captured */
    snprintf(a, sizeof(a), "Number of VFs: %u,", (unsigned)p.total_vfs);
    assert_non_null(strstr(b, a));
    line_of(want, "Function Dependency Link:", a, sizeof(a));
    assert_non_null(strstr(b, a)); /* FDL as captured */

    /* The VFs where Linux puts them (pci_iov_virtfn_bus/devfn on the capture's raw bytes). */
    first = (unsigned)le16_get(p.pf_image + p.sriov_offset + PCI_SRIOV_VF_OFFSET);
    for (unsigned id = 0; id < p.total_vfs; id++) {
        unsigned rid = p.pf_rid + first + id * le16_get(p.pf_image + p.sriov_offset + PCI_SRIOV_VF_STRIDE);
        const struct lspci_dev *vf;

        lspci_addr(p.segment, rid, addr, sizeof(addr));
        vf = lspci_find(&mine, addr, 0);
        assert_non_null(vf);
        assert_null(lspci_find(&mine, addr, 1));
        assert_false(lspci_has(vf, "SR-IOV"));
        assert_false(lspci_has(vf, "\tRegion "));
        assert_false(lspci_has(vf, "Interrupt: pin"));
        assert_true(lspci_has(vf, "FLReset+"));
    }
    lspci_free(&orig);
    lspci_free(&mine);
    pv_sriov_destroy(dev);
}

static void
test_every_real_dump_through_lspci(void **state)
{
    static const char *const files[] = {"cap-pcie-2", "cap-ea-1", "cap-phy32", "cap-dvsec-cxl", "cap-ide"};

    (void)state;
    for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        check_dump_through_lspci(files[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pf_and_vfs_decoded_by_lspci),
        cmocka_unit_test(test_dump_profile_round_trip_through_lspci),
        cmocka_unit_test(test_every_real_dump_through_lspci),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
