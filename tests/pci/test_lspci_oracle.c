/*
 * tests/pci/test_lspci_oracle.c - the real lspci decodes what the builder makes.
 *
 * The oracle test: build functions with PM, MSI, MSI-X, PCIe (endpoint
 * with FLR), ARI, ACS, ATS, AER, DSN and SR-IOV through pci/caps.h, drive them
 * through the single write path the way a PF driver would (enable memory and bus
 * mastering, MSI-X, program VF BARs, NumVFs, VF Enable | VF MSE | ARI, go to
 * D3hot), export every function with pci/dump.h and run `lspci -vvv -F` on the
 * file.  The expected lines state what the model intends; where pciutils versions
 * word a line differently (device-model.md 1.5: "Interrupt Message Number: 000"
 * vs "IntMsgNum 0"), any known variant is accepted, as libvfio-user's
 * test-lspci.sh accepts any of its expected outputs.  Whitespace (tabs after the
 * register labels) is compared collapsed.
 */
#include <unistd.h>

#include "lspci_oracle.h"
#include "pci/caps.h"
#include "pci/config.h"
#include "pci/dump.h"

/* Collapse runs of blanks to one space, in place. */
static void
squeeze(char *s)
{
    char *w = s;
    int blank = 0;

    for (char *r = s; *r; r++) {
        if (*r == ' ' || *r == '\t') {
            if (!blank) {
                *w++ = ' ';
            }
            blank = 1;
        } else {
            *w++ = *r;
            blank = 0;
        }
    }
    *w = '\0';
}

/* Expect one of the NULL-terminated alternatives in device @d's text. */
static void
lspci_expect(const struct lspci_dev *d, const char *const *alts)
{
    char *body;

    assert_non_null(d);
    body = strdup(d->body);
    assert_non_null(body);
    squeeze(body);
    for (const char *const *a = alts; *a; a++) {
        char want[512];

        snprintf(want, sizeof(want), "%s", *a);
        squeeze(want);
        if (strstr(body, want) != NULL) {
            free(body);
            return;
        }
    }
    fail_msg("lspci output for %s lacks \"%s\"\n--- lspci said:\n%s", d->addr, alts[0], d->body);
}

#define EXPECT(d, ...) lspci_expect((d), (const char *const[]){__VA_ARGS__, NULL})

static int
write_cfg(struct pci_config *cfg, uint32_t off, unsigned len, uint32_t val)
{
    return pci_config_write(cfg, off, len, val, NULL);
}

/* The PF: an 82599-class function with every capability the issue lists. */
static struct pci_layout *
build_pf(void)
{
    struct pci_layout *l = NULL;
    struct pci_header_params hp = {.vendor_id = 0x8086,
                                   .device_id = 0x10fb,
                                   .revision = 1,
                                   .class_code = 0x020000,
                                   .subsys_vendor_id = 0x8086,
                                   .subsys_id = 0x0003,
                                   .header_type = PCI_HEADER_TYPE_MULTIFUNC,
                                   .interrupt_pin = 1};
    struct pci_pm_params pm = {.pmc = 0, .no_soft_reset = true};
    struct pci_msi_params msi = {.vectors = 4, .addr64 = true, .per_vector_mask = true};
    struct pci_msix_params mx = {
        .table_size = 64, .table_bir = 4, .table_offset = 0, .pba_bir = 4, .pba_offset = 0x2000};
    struct pci_exp_params ex = {.type = PCI_EXP_TYPE_ENDPOINT,
                                .devcap = PCI_EXP_DEVCAP_FLR | 2 /* 512 B */,
                                .lnkcap = 0x82,
                                .lnksta = 0x82,
                                .lnkcap2 = 0x6};
    struct pci_aer_params aer = {.uncor_severity = 0x00462030u, .ecrc_gen_capable = true, .ecrc_check_capable = true};
    struct pci_ari_params ari = {.next_function = 1};
    struct pci_ats_params ats = {.queue_depth = 0, .page_aligned = true};
    struct pci_sriov_params sp = {
        .initial_vfs = 64,
        .total_vfs = 64,
        .vf_offset = 128,
        .vf_stride = 2,
        .vf_device_id = 0x10ed,
        .ari_hierarchy_writable = true,
        .vf_bar = {[0] = {0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH}, [3] = {0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH}},
    };
    struct pcivirt_error err = {0};

    assert_int_equal(pci_layout_create(4096, &l), 0);
    assert_int_equal(pci_layout_init_type0(l, &hp), 0);
    assert_int_equal(pci_layout_add_bar(l, 0, 0x80000, PCI_BAR_MEM64, &err), 0);
    assert_int_equal(pci_layout_add_bar(l, 4, 0x4000, PCI_BAR_MEM64, &err), 0);
    assert_int_equal(pci_cap_add_pm(l, 0x40, &pm, &err), 0x40);
    assert_int_equal(pci_cap_add_msi(l, 0x50, &msi, &err), 0x50);
    assert_int_equal(pci_cap_add_msix(l, 0x70, &mx, &err), 0x70);
    assert_int_equal(pci_cap_add_exp(l, 0xa0, &ex, &err), 0xa0);
    assert_int_equal(pci_ecap_add_aer(l, 0x100, &aer, &err), 0x100);
    assert_int_equal(pci_ecap_add_dsn(l, 0, 0x1122334455667788ull, &err), 0x148);
    assert_int_equal(pci_ecap_add_ari(l, 0, &ari, &err), 0x154);
    assert_int_equal(pci_ecap_add_acs(l, 0, PCI_ACS_RR | PCI_ACS_CR, &err), 0x15c);
    assert_int_equal(pci_ecap_add_ats(l, 0, &ats, &err), 0x164);
    assert_int_equal(pci_ecap_add_sriov(l, 0x180, &sp, &err), 0x180);
    return l;
}

/* Program the PF the way a PF driver would, through the write path only. */
static void
program_pf(struct pci_config *pf)
{
    assert_int_equal(write_cfg(pf, 0x10, 4, 0xfe000000u), 0);
    assert_int_equal(write_cfg(pf, 0x14, 4, 0), 0);
    assert_int_equal(write_cfg(pf, 0x20, 4, 0xfe100000u), 0);
    assert_int_equal(write_cfg(pf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), 0);
    assert_int_equal(write_cfg(pf, 0x70 + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE), 0);
    assert_int_equal(write_cfg(pf, 0xa0 + PCI_EXP_DEVCTL, 2, 0x2000 | 0x0020 | 0x0010 | 0x0800), 0);
    assert_int_equal(write_cfg(pf, 0x180 + PCI_SRIOV_BAR, 4, 0xfe40000cu), 0);
    assert_int_equal(write_cfg(pf, 0x180 + PCI_SRIOV_BAR + 4, 4, 0), 0);
    assert_int_equal(write_cfg(pf, 0x180 + PCI_SRIOV_BAR + 12, 4, 0xfe42000cu), 0);
    assert_int_equal(write_cfg(pf, 0x180 + PCI_SRIOV_NUM_VF, 2, 8), 0);
    assert_int_equal(
        write_cfg(pf, 0x180 + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI), 0);
    assert_int_equal(write_cfg(pf, 0x40 + PCI_PM_CTRL, 2, PCI_D3HOT), 0);
}

/* A VF per device-model.md 3: IDs 0xffff, no BARs, no INTx, PCIe with FLR, MSI-X, ARI. */
static struct pci_layout *
build_vf(void)
{
    struct pci_layout *l = NULL;
    struct pci_header_params hp = {
        .vendor_id = 0xffff, .device_id = 0xffff, .revision = 1, .class_code = 0x020000, .subsys_vendor_id = 0x8086};
    struct pci_msix_params mx = {
        .table_size = 3, .table_bir = 3, .table_offset = 0, .pba_bir = 3, .pba_offset = 0x2000};
    struct pci_exp_params ex = {.type = PCI_EXP_TYPE_ENDPOINT, .devcap = PCI_EXP_DEVCAP_FLR | 2};
    struct pci_ari_params ari = {.next_function = 0};

    assert_int_equal(pci_layout_create(4096, &l), 0);
    assert_int_equal(pci_layout_init_type0(l, &hp), 0);
    assert_int_equal(pci_layout_set_wmask(l, PCI_COMMAND, 2, PCI_COMMAND_MASTER), 0);
    assert_int_equal(pci_cap_add_msix(l, 0x70, &mx, NULL), 0x70);
    assert_int_equal(pci_cap_add_exp(l, 0xa0, &ex, NULL), 0xa0);
    assert_int_equal(pci_ecap_add_ari(l, 0x100, &ari, NULL), 0x100);
    return l;
}

static void
check_pf(const struct lspci_dev *d)
{
    EXPECT(d, "Control: I/O- Mem+ BusMaster+");
    EXPECT(d, "Status: Cap+");
    EXPECT(d, "Region 0: Memory at fe000000 (64-bit, non-prefetchable)");
    EXPECT(d, "Region 4: Memory at fe100000 (64-bit, non-prefetchable)");
    /* PM: version 3, No_Soft_Reset, in D3hot after the write. */
    EXPECT(d, "Capabilities: [40] Power Management version 3");
    EXPECT(d, "Status: D3 NoSoftRst+ PME-Enable-");
    /* MSI: 4 vectors capable, none enabled, 64-bit, per-vector masking. */
    EXPECT(d, "Capabilities: [50] MSI: Enable- Count=1/4 Maskable+ 64bit+");
    /* MSI-X: enabled, 64 vectors in BAR4. */
    EXPECT(d, "Capabilities: [70] MSI-X: Enable+ Count=64 Masked-");
    EXPECT(d, "Vector table: BAR=4 offset=00000000");
    EXPECT(d, "PBA: BAR=4 offset=00002000");
    /* PCIe endpoint with FLR, 512-byte max payload; DevCtl as programmed. */
    EXPECT(d, "Capabilities: [a0] Express (v2) Endpoint, MSI 00");
    EXPECT(d, "DevCap: MaxPayload 512 bytes");
    EXPECT(d, "FLReset+");
    EXPECT(d, "MaxPayload 256 bytes, MaxReadReq 512 bytes");
    EXPECT(d, "LnkCap: Port #0, Speed 5GT/s, Width x8");
    /* AER, DSN, ARI, ACS, ATS. */
    EXPECT(d, "Capabilities: [100 v2] Advanced Error Reporting");
    EXPECT(d, "Capabilities: [148 v1] Device Serial Number 11-22-33-44-55-66-77-88");
    EXPECT(d, "Capabilities: [154 v1] Alternative Routing-ID Interpretation (ARI)");
    EXPECT(d, "ARICap: MFVC- ACS-, Next Function: 1");
    EXPECT(d, "ARICtl: MFVC- ACS-, Function Group: 0");
    EXPECT(d, "Capabilities: [15c v1] Access Control Services");
    EXPECT(d, "ACSCap: SrcValid- TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd- EgressCtrl- DirectTrans-");
    EXPECT(d, "Capabilities: [164 v1] Address Translation Service (ATS)");
    EXPECT(d, "ATSCap: Invalidate Queue Depth: 00");
    /* SR-IOV as programmed: 8 of 64 VFs, enabled with MSE and ARI, offset 128 stride 2. */
    EXPECT(d, "Capabilities: [180 v1] Single Root I/O Virtualization (SR-IOV)");
    EXPECT(d, "IOVCap: Migration- 10BitTagReq- IntMsgNum 0",
           "IOVCap: Migration- 10BitTagReq- Interrupt Message Number: 000",
           "IOVCap: Migration-, Interrupt Message Number: 000");
    EXPECT(d, "IOVCtl: Enable+ Migration- Interrupt- MSE+ ARIHierarchy+");
    EXPECT(d, "IOVSta: Migration-");
    EXPECT(d, "Initial VFs: 64, Total VFs: 64, Number of VFs: 8, Function Dependency Link: 00");
    EXPECT(d, "VF offset: 128, stride: 2, Device ID: 10ed");
    EXPECT(d, "Supported Page Size: 00000553, System Page Size: 00000001");
    EXPECT(d, "Region 0: Memory at 00000000fe400000 (64-bit, prefetchable)");
    EXPECT(d, "Region 3: Memory at 00000000fe420000 (64-bit, prefetchable)");
    EXPECT(d, "VF Migration: offset: 00000000, BIR: 0");
}

static void
check_vf(const struct lspci_dev *d)
{
    EXPECT(d, "Control: I/O- Mem- BusMaster+");
    EXPECT(d, "Capabilities: [70] MSI-X: Enable- Count=3 Masked-");
    EXPECT(d, "Vector table: BAR=3 offset=00000000");
    EXPECT(d, "Capabilities: [a0] Express (v2) Endpoint, MSI 00");
    EXPECT(d, "FLReset+");
    EXPECT(d, "Capabilities: [100 v1] Alternative Routing-ID Interpretation (ARI)");
    EXPECT(d, "ARICap: MFVC- ACS-, Next Function: 0");
    assert_false(lspci_has(d, "Interrupt: pin")); /* no INTx in a VF */
    assert_false(lspci_has(d, "Region 0"));       /* VF BARs read 0 */
}

static void
test_lspci_decodes_the_model(void **state)
{
    struct pci_layout *pfl = build_pf(), *vfl = build_vf();
    struct pci_config pf, vf;
    struct pci_dump *d = NULL;
    struct lspci_out o;
    char path[] = "/tmp/pcivirt-oracle-XXXXXX";
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    pci_config_init(&pf, pfl, NULL);
    pci_config_init(&vf, vfl, NULL);
    program_pf(&pf);
    /* A VF's Memory Space bit is read-only zero (device-model.md 3.1): the attempt to
     * set it is masked, Bus Master sticks. */
    assert_int_equal(write_cfg(&vf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), 0);

    assert_int_equal(pci_dump_create(&d), 0);
    struct pci_addr pfa = {.bus = 3, .dev = 0, .fn = 0};
    struct pci_addr vfa = {.bus = 3, .dev = 0x10, .fn = 0}; /* RID 0x0300 + 128 */
    assert_int_equal(pci_dump_add(d, &pfa, "PF", pci_config_bytes(&pf), 4096), 0);
    assert_int_equal(pci_dump_add(d, &vfa, "VF", pci_config_bytes(&vf), 4096), 0);
    assert_int_equal(pci_dump_save(d, path, NULL), 0);

    lspci_run("-vvv", path, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.n, 2);
    check_pf(lspci_find(&o, "03:00.0", 0));
    check_vf(lspci_find(&o, "03:10.0", 0));
    lspci_free(&o);

    pci_dump_destroy(d);
    pci_config_fini(&pf);
    pci_config_fini(&vf);
    pci_layout_unref(pfl);
    pci_layout_unref(vfl);
    unlink(path);
}

/* A 256-byte conventional function: lspci shows its standard capabilities only. */
static void
test_lspci_conventional_function(void **state)
{
    struct pci_layout *l = NULL;
    struct pci_header_params hp = {
        .vendor_id = 0x10ee, .device_id = 0x9038, .class_code = 0x020000, .interrupt_pin = 1};
    struct pci_vndr_params vp = {.length = 16, .data = (const uint8_t[]){1, 2, 3}, .data_len = 3};
    struct pci_msi_params msi = {.vectors = 1};
    struct pci_dump *d = NULL;
    struct lspci_out o;
    char path[] = "/tmp/pcivirt-oracle-XXXXXX";
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pci_layout_create(256, &l), 0);
    assert_int_equal(pci_layout_init_type0(l, &hp), 0);
    assert_int_equal(pci_cap_add_vndr(l, 0x40, &vp, NULL), 0x40);
    assert_int_equal(pci_cap_add_msi(l, 0, &msi, NULL), 0x50);
    assert_int_equal(pci_dump_create(&d), 0);
    struct pci_addr a = {.bus = 0, .dev = 5, .fn = 0};
    assert_int_equal(pci_dump_add(d, &a, "", pci_layout_template(l), 256), 0);
    assert_int_equal(pci_dump_save(d, path, NULL), 0);
    lspci_run("-vvv", path, &o);
    const struct lspci_dev *dv = lspci_find(&o, "00:05.0", 0);
    EXPECT(dv, "Capabilities: [40] Vendor Specific Information: Len=10 <?>");
    EXPECT(dv, "Capabilities: [50] MSI: Enable- Count=1/1 Maskable- 64bit-");
    EXPECT(dv, "Interrupt: pin A");
    lspci_free(&o);
    pci_dump_destroy(d);
    pci_layout_unref(l);
    unlink(path);
}

int
main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lspci_decodes_the_model),
        cmocka_unit_test(test_lspci_conventional_function),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
