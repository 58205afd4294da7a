/*
 * tests/pci/test_caps.c - capability allocation and malformed chains.
 *
 * Builder: allocation marks bytes used, refuses overlaps with an error naming
 * both offsets, keeps capabilities read-only except the bits the PCIe Base
 * Specification makes writable (values below derived by hand from the register
 * definitions in pci/regs.h's cited sections, not read back from the builder).
 * Finder: hand-built broken chains of every kind, the broken-ecaps capture, and
 * the synthetic loop/truncation probes checked against what lspci prints.
 */
#include "lspci_oracle.h"
#include "pci/caps.h"
#include "pci/dump.h"
#include "util/le.h"

#define DATA PCIVIRT_SHARED_DIR "/data"

static struct pci_layout *
new_fn(uint32_t size)
{
    struct pci_layout *l = NULL;
    struct pci_header_params hp = {.vendor_id = 0x8086, .device_id = 0x10fb, .class_code = 0x020000};

    assert_int_equal(pci_layout_create(size, &l), 0);
    assert_int_equal(pci_layout_init_type0(l, &hp), 0);
    return l;
}

static void
test_allocation_links_and_marks_used(void **state)
{
    struct pci_layout *l = new_fn(256);
    struct pcivirt_error err = {0};
    struct pci_pm_params pm = {0};
    struct pci_msi_params msi = {.vectors = 4, .addr64 = true, .per_vector_mask = true};
    struct pci_cap_entry e[8];
    unsigned n;

    (void)state;
    assert_int_equal(pci_cap_add_pm(l, 0x40, &pm, &err), 0x40);
    assert_int_equal(pci_cap_add_msi(l, 0, &msi, &err), 0x48); /* first free DWORD after PM's 8 bytes */
    const uint8_t *t = pci_layout_template(l);
    assert_int_equal(t[PCI_CAPABILITY_LIST], 0x40);
    assert_true(le16_get(t + PCI_STATUS) & PCI_STATUS_CAP_LIST);
    assert_int_equal(t[0x41], 0x48);
    assert_int_equal(t[0x49], 0x00);
    /* MSI 64-bit with masking = 24 bytes (PCIe Base 7.7.1): 0x48..0x5f used. */
    for (unsigned i = 0x40; i < 0x60; i++) {
        assert_int_equal(pci_layout_used(l)[i], 1);
    }
    assert_int_equal(pci_layout_used(l)[0x60], 0);
    assert_int_equal(pci_cap_walk_std(t, 256, e, 8, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[1].id, PCI_CAP_ID_MSI);
    pci_layout_unref(l);
}

static void
test_overlap_and_range_errors_name_offsets(void **state)
{
    struct pci_layout *l = new_fn(4096);
    struct pcivirt_error err = {0};
    struct pci_pm_params pm = {0};
    struct pci_aer_params aer = {0};

    (void)state;
    assert_int_equal(pci_cap_add_pm(l, 0x40, &pm, &err), 0x40);
    assert_int_equal(pci_cap_add(l, PCI_CAP_ID_VNDR, 0x44, 8, &err), PCIVIRT_EOVERLAP);
    assert_non_null(strstr(err.message, "0x044"));
    assert_non_null(strstr(err.message, "0x040"));
    assert_int_equal(pci_cap_add(l, PCI_CAP_ID_VNDR, 0x30, 8, &err), PCIVIRT_ERANGE);
    assert_int_equal(pci_cap_add(l, PCI_CAP_ID_VNDR, 0x4a, 4, &err), PCIVIRT_EINVAL);
    assert_non_null(strstr(err.message, "aligned"));
    assert_int_equal(pci_cap_add(l, PCI_CAP_ID_VNDR, 0xfc, 8, &err), PCIVIRT_ERANGE);
    /* Extended: the first must be at 0x100; then overlaps are named. */
    assert_int_equal(pci_ecap_add_dsn(l, 0x140, 1, &err), PCIVIRT_EINVAL);
    assert_non_null(strstr(err.message, "0x100"));
    assert_int_equal(pci_ecap_add_aer(l, 0, &aer, &err), 0x100);
    assert_int_equal(pci_ecap_add_dsn(l, 0x140, 1, &err), PCIVIRT_EOVERLAP);
    assert_non_null(strstr(err.message, "0x140"));
    assert_non_null(strstr(err.message, "0x100"));
    assert_int_equal(pci_ecap_add_dsn(l, 0xffc, 1, &err), PCIVIRT_ERANGE);
    assert_int_equal(pci_ecap_add_dsn(l, 0, 0x1122334455667788ull, &err), 0x148);
    /* Chain: AER -> DSN. */
    assert_int_equal(PCI_ECAP_NEXT(le32_get(pci_layout_template(l) + 0x100)), 0x148);
    pci_layout_unref(l);

    l = new_fn(256);
    assert_int_equal(pci_ecap_add_dsn(l, 0, 1, &err), PCIVIRT_ENOTSUP);
    /* Space runs out: 12 16-byte capabilities fit in 0x40..0xff. */
    for (unsigned i = 0; i < 12; i++) {
        assert_int_equal(pci_cap_add(l, PCI_CAP_ID_VNDR, 0, 16, &err), (int)(0x40 + 16 * i));
    }
    assert_int_equal(pci_cap_add(l, PCI_CAP_ID_VNDR, 0, 16, &err), PCIVIRT_ENOSPC);
    pci_layout_unref(l);
}

/* Write all ones over [off, off+len) through the write path; return the function. */
static void
ones(struct pci_config *cfg, uint32_t off, uint32_t len)
{
    uint8_t buf[256];

    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(pci_config_write_bytes(cfg, off, buf, len, NULL), 0);
}

static uint32_t
rd(const struct pci_config *cfg, uint32_t off, unsigned len)
{
    uint32_t v = 0;

    assert_int_equal(pci_config_read(cfg, off, len, &v), 0);
    return v;
}

static void
test_standard_caps_open_only_their_bits(void **state)
{
    struct pci_layout *l = new_fn(256);
    struct pci_pm_params pm = {.pmc = 0xc803 /* PME from D0/D3hot... */, .no_soft_reset = true};
    struct pci_msix_params mx = {
        .table_size = 64, .table_bir = 3, .table_offset = 0, .pba_bir = 3, .pba_offset = 0x2000};
    struct pci_exp_params ex = {.type = PCI_EXP_TYPE_ENDPOINT, .devcap = PCI_EXP_DEVCAP_FLR | 2};
    struct pci_config cfg;

    (void)state;
    assert_int_equal(pci_cap_add_pm(l, 0x40, &pm, NULL), 0x40);
    assert_int_equal(pci_cap_add_msix(l, 0x50, &mx, NULL), 0x50);
    assert_int_equal(pci_cap_add_exp(l, 0x70, &ex, NULL), 0x70);
    pci_config_init(&cfg, l, NULL);
    ones(&cfg, 0x40, 0xc0);
    /* PM: PMC unchanged; PMCSR: PowerState 3, No_Soft_Reset kept, PME_En set, PME_Status W1C stays 0. */
    assert_int_equal(rd(&cfg, 0x42, 2), 0xc803);
    assert_int_equal(rd(&cfg, 0x44, 2), 0x0100 | 0x0008 | 0x3);
    pci_config_poke(&cfg, 0x44, 2, 0x8000);
    pci_config_write(&cfg, 0x44, 2, 0x8000, NULL);
    assert_int_equal(rd(&cfg, 0x44, 2), 0);
    /* MSI-X: Enable and Function Mask over Table Size - 1 = 63; table/PBA read-only. */
    assert_int_equal(rd(&cfg, 0x52, 2), 0xc000 | 63);
    assert_int_equal(rd(&cfg, 0x54, 4), 0x3);
    assert_int_equal(rd(&cfg, 0x58, 4), 0x2003);
    /* PCIe: flags v2 endpoint; DevCap read-only with FLR; DevCtl bits 0-14 except Phantom;
     * Initiate FLR reads 0. */
    assert_int_equal(rd(&cfg, 0x72, 2), 0x0002);
    assert_int_equal(rd(&cfg, 0x74, 4), PCI_EXP_DEVCAP_FLR | 2);
    assert_int_equal(rd(&cfg, 0x78, 2), 0x7dff);
    assert_int_equal(rd(&cfg, 0x70, 2), 0x0010); /* last in chain: next 0 */
    /* Header: the chain pointer itself is read-only. */
    assert_int_equal(rd(&cfg, PCI_CAPABILITY_LIST, 1), 0x40);
    pci_config_fini(&cfg);
    pci_layout_unref(l);
}

static void
test_sriov_builder_bytes_and_masks(void **state)
{
    struct pci_layout *l = new_fn(4096);
    struct pcivirt_error err = {0};
    struct pci_sriov_params sp = {
        .initial_vfs = 64,
        .total_vfs = 64,
        .vf_offset = 0x80,
        .vf_stride = 2,
        .vf_device_id = 0x10ed,
        .func_link = 0,
        .ari_hierarchy_writable = true,
        .vf_bar = {[0] = {0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH}, [3] = {0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH}},
    };
    struct pci_config cfg;
    int cap;

    (void)state;
    cap = pci_ecap_add_sriov(l, 0x100, &sp, &err);
    assert_int_equal(cap, 0x100);
    pci_config_init(&cfg, l, NULL);
    assert_int_equal(rd(&cfg, 0x100, 4), 0x00010010u); /* ID 0x10, v1, next 0 */
    assert_int_equal(rd(&cfg, 0x11c, 4), 0x553);       /* mandatory page sizes */
    assert_int_equal(rd(&cfg, 0x120, 4), 0x1);         /* 4 KiB */
    ones(&cfg, 0x100, 0x40);
    assert_int_equal(rd(&cfg, 0x104, 4), 0);
    assert_int_equal(rd(&cfg, 0x108, 2), 0x0019); /* VF Enable | VF MSE | ARI Capable Hierarchy */
    assert_int_equal(rd(&cfg, 0x10a, 2), 0);
    assert_int_equal(rd(&cfg, 0x10c, 4), 0x00400040u); /* InitialVFs, TotalVFs unchanged */
    assert_int_equal(rd(&cfg, 0x110, 2), 0xffff);      /* NumVFs storage is RW (the device limits it) */
    assert_int_equal(rd(&cfg, 0x114, 4), 0x00020080u);
    assert_int_equal(rd(&cfg, 0x11a, 2), 0x10ed);
    assert_int_equal(rd(&cfg, 0x120, 4), 0x553);
    assert_int_equal(rd(&cfg, 0x124, 4), 0xffffc00cu); /* 16 KiB per VF, 64-bit prefetchable */
    assert_int_equal(rd(&cfg, 0x128, 4), 0xffffffffu);
    assert_int_equal(rd(&cfg, 0x12c, 4), 0);
    assert_int_equal(rd(&cfg, 0x130, 4), 0xffffc00cu);
    assert_int_equal(rd(&cfg, 0x138, 4), 0);
    assert_int_equal(rd(&cfg, 0x13c, 4), 0); /* VF Migration State Array: RO 0 */
    pci_config_fini(&cfg);
    pci_layout_unref(l);

    /* Parameter errors name the field. */
    l = new_fn(4096);
    sp.initial_vfs = 65;
    assert_int_equal(pci_ecap_add_sriov(l, 0, &sp, &err), PCIVIRT_EINVAL);
    assert_string_equal(err.field, "InitialVFs");
    sp.initial_vfs = 64;
    sp.system_page_size = 0x3;
    assert_int_equal(pci_ecap_add_sriov(l, 0, &sp, &err), PCIVIRT_EINVAL);
    assert_string_equal(err.field, "System Page Size");
    sp.system_page_size = 0;
    sp.vf_bar[5] = (struct pci_sriov_bar){0x1000, PCI_BAR_MEM64};
    assert_int_equal(pci_ecap_add_sriov(l, 0, &sp, &err), PCIVIRT_EINVAL);
    assert_non_null(strstr(err.message, "VF BAR5"));
    sp.vf_bar[5] = (struct pci_sriov_bar){0};
    sp.vf_bar[1] = (struct pci_sriov_bar){0x1000, PCI_BAR_MEM32};
    assert_int_equal(pci_ecap_add_sriov(l, 0, &sp, &err), PCIVIRT_EINVAL);
    assert_non_null(strstr(err.message, "VF BAR1 is also in use"));
    pci_layout_unref(l);
}

static void
test_extended_caps_masks(void **state)
{
    struct pci_layout *l = new_fn(4096);
    struct pci_aer_params aer = {.uncor_severity = 0x00462030u, .ecrc_gen_capable = true};
    struct pci_ari_params ari = {.next_function = 1};
    struct pci_ats_params ats = {.queue_depth = 0};
    struct pci_config cfg;

    (void)state;
    assert_int_equal(pci_ecap_add_aer(l, 0x100, &aer, NULL), 0x100);
    assert_int_equal(pci_ecap_add_acs(l, 0, PCI_ACS_RR | PCI_ACS_CR, NULL), 0x148);
    assert_int_equal(pci_ecap_add_ari(l, 0, &ari, NULL), 0x150);
    assert_int_equal(pci_ecap_add_ats(l, 0, &ats, NULL), 0x158);
    pci_config_init(&cfg, l, NULL);
    /* AER: Uncorrectable Status RW1C on supported bits. */
    pci_config_poke(&cfg, 0x104, 4, 0x00001010u);
    pci_config_write(&cfg, 0x104, 4, 0x00000010u, NULL);
    assert_int_equal(rd(&cfg, 0x104, 4), 0x00001000u);
    ones(&cfg, 0x108, 4);
    assert_int_equal(rd(&cfg, 0x108, 4), PCI_ERR_UNC_SUPPORTED);
    assert_int_equal(rd(&cfg, 0x10c, 4), 0x00462030u & PCI_ERR_UNC_SUPPORTED);
    ones(&cfg, 0x118, 4);
    assert_int_equal(rd(&cfg, 0x118, 4), PCI_ERR_CAP_ECRC_GENC | PCI_ERR_CAP_ECRC_GENE);
    /* ACS: control of supported bits only. */
    ones(&cfg, 0x14c, 4);
    assert_int_equal(rd(&cfg, 0x14c, 4), 0x000c000cu);
    /* ARI: next function 1, no function groups: control read-only. */
    ones(&cfg, 0x154, 4);
    assert_int_equal(rd(&cfg, 0x154, 4), 0x00000100u);
    /* ATS: STU and Enable. */
    ones(&cfg, 0x15c, 4);
    assert_int_equal(rd(&cfg, 0x15c, 4), 0x801f0000u);
    pci_config_fini(&cfg);
    pci_layout_unref(l);
}

/* ---- malformed chains ----------------------------------------------------------------- */

static void
std_chain(uint8_t *b, const uint8_t *links, unsigned n)
{
    memset(b, 0, 4096);
    b[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    b[PCI_CAPABILITY_LIST] = links[0];
    for (unsigned i = 0; i + 1 < n; i++) {
        b[links[i]] = PCI_CAP_ID_VNDR;
        b[links[i] + 1] = links[i + 1];
    }
    if (n > 0 && links[n - 1] >= 0x40 && links[n - 1] < 0xff) {
        b[links[n - 1]] = PCI_CAP_ID_VNDR;
    }
}

static int
walk_std(const uint8_t *b, size_t len, unsigned *n, struct pcivirt_error *err)
{
    struct pci_cap_entry e[PCI_CAP_STD_MAX];

    return pci_cap_walk_std(b, len, e, PCI_CAP_STD_MAX, n, err);
}

static void
test_std_chain_errors(void **state)
{
    static uint8_t b[4096];
    struct pcivirt_error err = {0};
    unsigned n;

    (void)state;
    std_chain(b, (const uint8_t[]){0x40, 0x50, 0x40}, 3);
    assert_int_equal(walk_std(b, 256, &n, &err), PCIVIRT_ELOOP);
    assert_int_equal(n, 2);
    assert_non_null(strstr(err.message, "loop"));
    std_chain(b, (const uint8_t[]){0x40, 0x20}, 2);
    assert_int_equal(walk_std(b, 256, &n, &err), PCIVIRT_EFORMAT);
    assert_non_null(strstr(err.message, "header"));
    assert_int_equal(n, 1);
    std_chain(b, (const uint8_t[]){0x40, 0x51}, 2);
    assert_int_equal(walk_std(b, 256, &n, &err), PCIVIRT_EFORMAT);
    assert_non_null(strstr(err.message, "aligned"));
    std_chain(b, (const uint8_t[]){0x40}, 1);
    assert_int_equal(walk_std(b, 64, &n, &err), PCIVIRT_ERANGE);
    assert_non_null(strstr(err.message, "past the end"));
    std_chain(b, (const uint8_t[]){0x40, 0x44}, 2);
    b[0x40] = PCI_CAP_ID_PM; /* PM is 8 bytes: 0x44 lies inside it */
    assert_int_equal(walk_std(b, 256, &n, &err), PCIVIRT_EOVERLAP);
    assert_non_null(strstr(err.message, "0x044"));
    assert_non_null(strstr(err.message, "0x040"));
    std_chain(b, (const uint8_t[]){0x40, 0x50}, 2);
    b[0x50] = 0xff;
    assert_int_equal(walk_std(b, 256, &n, &err), PCIVIRT_EFORMAT);
    assert_non_null(strstr(err.message, "broken"));
    /* No Capabilities List bit: no chain even with a pointer. */
    std_chain(b, (const uint8_t[]){0x40}, 1);
    b[PCI_STATUS] = 0;
    assert_int_equal(walk_std(b, 256, &n, &err), 0);
    assert_int_equal(n, 0);
    /* Bad buffers. */
    assert_int_equal(walk_std(b, 63, &n, &err), PCIVIRT_EINVAL);
    assert_int_equal(walk_std(NULL, 256, &n, &err), PCIVIRT_EINVAL);
    /* A full chain of 48 capabilities is fine; the 49th would need a loop. */
    memset(b, 0, 256);
    b[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    b[PCI_CAPABILITY_LIST] = 0x40;
    for (unsigned off = 0x40; off < 0x100; off += 4) {
        b[off] = PCI_CAP_ID_VNDR;
        b[off + 1] = (uint8_t)(off + 4 < 0x100 ? off + 4 : 0);
    }
    assert_int_equal(walk_std(b, 256, &n, &err), 0);
    assert_int_equal(n, 48);
}

static void
ext_put(uint8_t *b, uint32_t off, uint16_t id, uint32_t next)
{
    le32_put(b + off, PCI_ECAP_HDR(id, 1, next));
}

static int
walk_ext(const uint8_t *b, size_t len, unsigned *n, struct pcivirt_error *err)
{
    static struct pci_cap_entry e[PCI_CAP_EXT_MAX];

    return pci_cap_walk_ext(b, len, e, PCI_CAP_EXT_MAX, n, err);
}

static void
test_ext_chain_errors(void **state)
{
    static uint8_t b[4096];
    struct pcivirt_error err = {0};
    unsigned n;

    (void)state;
    memset(b, 0, sizeof(b));
    ext_put(b, 0x100, 0x0b, 0x150);
    ext_put(b, 0x150, 0x0b, 0x100);
    assert_int_equal(walk_ext(b, 4096, &n, &err), PCIVIRT_ELOOP);
    assert_int_equal(n, 2);
    ext_put(b, 0x150, 0x0b, 0x080);
    assert_int_equal(walk_ext(b, 4096, &n, &err), PCIVIRT_EFORMAT);
    assert_non_null(strstr(err.message, "header"));
    ext_put(b, 0x150, 0x0b, 0x152);
    assert_int_equal(walk_ext(b, 4096, &n, &err), PCIVIRT_EFORMAT);
    ext_put(b, 0x150, 0x0b, 0x300);
    assert_int_equal(walk_ext(b, 0x200, &n, &err), PCIVIRT_ERANGE);
    ext_put(b, 0x150, PCI_ECAP_ID_SRIOV, 0xfd0);
    ext_put(b, 0xfd0, PCI_ECAP_ID_SRIOV, 0); /* 0x40 bytes do not fit before 0x1000 */
    assert_int_equal(walk_ext(b, 4096, &n, &err), PCIVIRT_ERANGE);
    assert_int_equal(n, 3);
    assert_non_null(strstr(err.message, "truncated"));
    ext_put(b, 0x100, PCI_ECAP_ID_SRIOV, 0x120); /* inside the SR-IOV structure */
    assert_int_equal(walk_ext(b, 4096, &n, &err), PCIVIRT_EOVERLAP);
    /* A zero header at 0x100: no chain; all-ones: no extended space. */
    le32_put(b + 0x100, 0);
    assert_int_equal(walk_ext(b, 4096, &n, &err), 0);
    assert_int_equal(n, 0);
    le32_put(b + 0x100, 0xffffffffu);
    assert_int_equal(walk_ext(b, 4096, &n, &err), 0);
    assert_int_equal(walk_ext(b, 256, &n, &err), 0);
    assert_int_equal(n, 0);
}

/* broken-ecaps: the extended space repeats the first 256 bytes. */
static void
test_broken_ecaps_capture(void **state)
{
    struct pci_dump *d = NULL;
    struct pcivirt_error err = {0};
    unsigned n;

    (void)state;
    assert_int_equal(pci_dump_load(DATA "/pciutils-tests/broken-ecaps", &d, &err), 0);
    assert_int_equal(d->count, 1);
    assert_int_equal(d->funcs[0]->len, 4096);
    assert_int_equal(walk_ext(d->funcs[0]->bytes, 4096, &n, &err), PCIVIRT_EFORMAT);
    assert_non_null(strstr(err.message, "aliases"));
    assert_int_equal(n, 0);
    /* Found by the finder, too. */
    assert_int_equal(pci_ecap_find(d->funcs[0]->bytes, 4096, PCI_ECAP_ID_SRIOV, 0, &err), PCIVIRT_EFORMAT);
    pci_dump_destroy(d);
}

/* The synthetic probes: our verdict and lspci's listing agree. */
static void
probe(const char *name, int want_std, int want_ext, unsigned std_n, unsigned ext_n)
{
    char path[512];
    struct pci_dump *d = NULL;
    struct pcivirt_error err = {0};
    struct pci_cap_entry e[PCI_CAP_EXT_MAX];
    struct lspci_out out;
    struct lspci_cap lc[64];
    unsigned n, ln, li = 0;

    snprintf(path, sizeof(path), DATA "/synthetic/format-cases/%s", name);
    assert_int_equal(pci_dump_load(path, &d, &err), 0);
    lspci_run("-vvv", path, &out);
    ln = lspci_caps(lspci_find(&out, "03:00.0", 0), lc, 64);
    assert_int_equal(pci_cap_walk_std(d->funcs[0]->bytes, d->funcs[0]->len, e, PCI_CAP_EXT_MAX, &n, &err), want_std);
    assert_int_equal(n, std_n);
    for (unsigned i = 0; i < n; i++, li++) {
        assert_int_equal(e[i].offset, lc[li].offset);
    }
    if (want_std != 0) {
        assert_true(lc[li++].broken); /* lspci prints the loop where we stop */
    }
    assert_int_equal(pci_cap_walk_ext(d->funcs[0]->bytes, d->funcs[0]->len, e, PCI_CAP_EXT_MAX, &n, &err), want_ext);
    assert_int_equal(n, ext_n);
    for (unsigned i = 0; i < n; i++, li++) {
        assert_int_equal(e[i].offset, lc[li].offset);
        assert_int_equal(e[i].version, lc[li].version);
    }
    if (want_ext == PCIVIRT_ELOOP) {
        assert_true(lc[li++].broken);
    }
    assert_int_equal(li, ln);
    lspci_free(&out);
    pci_dump_destroy(d);
}

static void
test_format_case_chains_against_lspci(void **state)
{
    (void)state;
    probe("loop.dump", 0, PCIVIRT_ELOOP, 3, 2);
    probe("stdloop.dump", PCIVIRT_ELOOP, 0, 3, 2);
    probe("trunc.dump", 0, PCIVIRT_ERANGE, 3, 2); /* lspci prints the cut-off SR-IOV; we flag it */
    probe("unknown.dump", 0, 0, 3, 2);
}

static void
test_find(void **state)
{
    struct pci_dump *d = NULL;
    struct pcivirt_error err = {0};
    struct lspci_out out;

    (void)state;
    assert_int_equal(pci_dump_load(DATA "/pciutils-tests/cap-pcie-2", &d, &err), 0);
    lspci_run("-vvv", DATA "/pciutils-tests/cap-pcie-2", &out);
    const struct lspci_dev *ld = lspci_find(&out, "01:00.0", 0);
    assert_non_null(ld);
    /* lspci says SR-IOV at [160 v1] and MSI-X at [70] (device-model.md 11 agrees). */
    assert_true(lspci_has(ld, "Capabilities: [160 v1] Single Root I/O Virtualization"));
    assert_true(lspci_has(ld, "Capabilities: [70] MSI-X"));
    for (size_t i = 0; i < d->count; i++) {
        if (d->funcs[i]->addr.bus == 1 && d->funcs[i]->addr.fn == 0) {
            const uint8_t *b = d->funcs[i]->bytes;

            assert_int_equal(pci_ecap_find(b, 4096, PCI_ECAP_ID_SRIOV, 0, &err), 0x160);
            assert_int_equal(pci_cap_find(b, 4096, PCI_CAP_ID_MSIX, 0, &err), 0x70);
            assert_int_equal(pci_cap_find(b, 4096, PCI_CAP_ID_MSIX, 0x70, &err), PCIVIRT_ENOENT);
            assert_int_equal(pci_ecap_find(b, 4096, PCI_ECAP_ID_ATS, 0, &err), PCIVIRT_ENOENT);
        }
    }
    lspci_free(&out);
    pci_dump_destroy(d);
    assert_string_equal(pci_ecap_name(PCI_ECAP_ID_SRIOV), "SR-IOV");
    assert_string_equal(pci_cap_name(PCI_CAP_ID_MSIX), "MSI-X");
}

int
main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_links_and_marks_used),
        cmocka_unit_test(test_overlap_and_range_errors_name_offsets),
        cmocka_unit_test(test_standard_caps_open_only_their_bits),
        cmocka_unit_test(test_sriov_builder_bytes_and_masks),
        cmocka_unit_test(test_extended_caps_masks),
        cmocka_unit_test(test_std_chain_errors),
        cmocka_unit_test(test_ext_chain_errors),
        cmocka_unit_test(test_broken_ecaps_capture),
        cmocka_unit_test(test_format_case_chains_against_lspci),
        cmocka_unit_test(test_find),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
