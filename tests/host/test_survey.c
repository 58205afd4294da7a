/*
 * tests/host/test_survey.c - the survey on sysfs trees built from real dumps.
 *
 * Each test builds a tree (tests/host/tree.h) from ../shared/data, runs the
 * survey library on it and checks the verdicts and reasons against expectations
 * computed here from an independent decoder - the real `lspci -F` reading the
 * same dump (ACSCap/ACSCtl bits, port type, MSI/MSI-X, SR-IOV geometry, bridge
 * windows) - and from the spec rules restated in the test, never from values the
 * survey printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "host/internal.h"
#include "host/survey.h"
#include "pci/dump.h"
#include "survey_check.h"
#include "tree.h"

#define DATA PCIVIRT_SHARED_DIR "/data"
#define RP_PARENT "pci0000:00"

/* ---- oracle: the real lspci on the same dump ------------------------------------------ */

static char *
lspci(const char *file, const char *bdf)
{
    char cmd[PATH_MAX + 128];
    static char out[65536];
    size_t n;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "lspci -F '%s' -vvv -s %s 2>/dev/null", file, bdf);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    pclose(p);
    assert_true(n > 0);
    return out;
}

static long
lspci_number(const char *text, const char *label, int base)
{
    const char *at = strstr(text, label);

    assert_non_null(at);
    return strtol(at + strlen(label), NULL, base);
}

/* ---- fixtures ------------------------------------------------------------------------ */

static const struct pci_dump_func *
dump_func(const struct pci_dump *d, uint8_t bus, uint8_t dev, uint8_t fn)
{
    for (size_t i = 0; i < d->count; i++) {
        const struct pci_addr *a = &d->funcs[i]->addr;
        if (a->bus == bus && a->dev == dev && a->fn == fn) {
            return d->funcs[i];
        }
    }
    fail_msg("function %02x:%02x.%x not in dump", bus, dev, fn);
    return NULL;
}

static struct pci_dump *
load(const char *name)
{
    struct pci_dump *d = NULL;
    char path[PATH_MAX];

    snprintf(path, sizeof(path), DATA "/pciutils-tests/%s", name);
    assert_int_equal(pci_dump_load(path, &d, NULL), 0);
    return d;
}

/* A host with an IOMMU, remapped MSIs and OS-owned PCIe (so devices decide the verdict). */
static void
good_host(const struct tree *t)
{
    tree_dir(t, "sys/class/iommu/dmar0");
    tree_text(t, "  40:  0  0  IR-PCI-MSIX-0000:03:00.0  0-edge  eth0\n", "proc/interrupts");
    tree_text(t, "[0.30] acpi PNP0A08:00: _OSC: OS now controls [PCIeHotplug PME AER PCIeCapability LTR]\n",
              "dev/kmsg");
    tree_text(t, "quiet\n", "proc/cmdline");
}

static void
group_regions(const struct tree *t, int group, const char *text)
{
    tree_text(t, text, "sys/kernel/iommu_groups/%d/reserved_regions", group);
    tree_text(t, "DMA\n", "sys/kernel/iommu_groups/%d/type", group);
}

static const char msi_region[] = "0x00000000fee00000 0x00000000feefffff msi\n";

/* Root port 00:02.0 of cap-aer-root (ACS fully enabled) in group 0. */
static void
add_aer_root_port(const struct tree *t, const struct pci_dump *d, const unsigned char *override)
{
    const struct pci_dump_func *rp = dump_func(d, 0, 2, 0);
    struct tree_fn f = {
        RP_PARENT, "0000:00:02.0", override ? override : rp->bytes, rp->len, 0x060400, 0x8086, 0x2f04, NULL, 1, 1};

    tree_add_fn(t, &f);
    tree_group(t, 0, RP_PARENT, "0000:00:02.0");
    group_regions(t, 0, msi_region);
}

/* A good host, the AER root port, and endpoint @ep below it alone in group 1 with @regions. */
static void
endpoint_tree(struct tree *t, const struct pci_dump *d, const struct tree_fn *ep, const char *regions)
{
    tree_init(t);
    good_host(t);
    add_aer_root_port(t, d, NULL);
    tree_add_fn(t, ep);
    tree_group(t, 1, ep->parent, ep->bdf);
    group_regions(t, 1, regions);
}

/* ---- tests --------------------------------------------------------------------------- */

/* An endpoint whose only bridge enables SV RR CR UF, alone in its group: assignable. */
static void
test_acs_enabled_path_is_assignable(void **state)
{
    struct pci_dump *d = load("cap-aer-root");
    const struct pci_dump_func *ep = dump_func(d, 3, 0, 0);
    const char *rp_text, *ep_text;
    uint16_t cap, ctl;
    struct tree t;

    (void)state;
    rp_text = lspci(DATA "/pciutils-tests/cap-aer-root", "00:02.0");
    cap = lspci_acs_bits(rp_text, "ACSCap:");
    ctl = lspci_acs_bits(rp_text, "ACSCtl:");
    /* Linux's rule: every required bit the port implements must be enabled. */
    bool acs_ok = strstr(rp_text, "Root Port") != NULL && (cap & HOST_ACS_REQUIRED & ~ctl) == 0;
    ep_text = lspci(DATA "/pciutils-tests/cap-aer-root", "03:00.0");
    bool ep_ok = strstr(ep_text, "Express (v2) Endpoint") != NULL && strstr(ep_text, "MSI-X:") != NULL &&
                 strstr(ep_text, "Address Translation Service") == NULL;
    assert_true(acs_ok && ep_ok); /* the fixture is the assignable case */

    struct tree_fn f = {
        RP_PARENT "/0000:00:02.0", "0000:03:00.0", ep->bytes, ep->len, 0x020000, 0x15b3, 0x1007, NULL, 1, 4};
    endpoint_tree(&t, d, &f, msi_region);

    struct host_survey *s = survey_tree(&t);
    const struct host_device *dev = survey_find(s, "0000:03:00.0");
    assert_int_equal(host_device_verdict(dev), HOST_VERDICT_ASSIGNABLE);
    assert_int_equal(dev->check[HOST_CHECK_ACS].result, HOST_RESULT_PASS);
    assert_int_equal(dev->hops, 2);
    assert_string_equal(dev->hop[1].bdf, "0000:00:02.0");
    assert_int_equal(dev->hop[1].ctrl & 0x7f, ctl);
    assert_int_equal(dev->hop[1].cap & 0x7f, cap);
    assert_int_equal(dev->pcie_type, HOST_PCIE_ENDPOINT);
    assert_string_equal(dev->location, "pci0000:00/0000:00:02.0/0000:03:00.0");
    /* The root port itself is a bridge: SurveyDDA rejects every non-endpoint. */
    assert_int_equal(host_device_verdict(survey_find(s, "0000:00:02.0")), HOST_VERDICT_NOT_ASSIGNABLE);
    assert_int_equal(survey_find(s, "0000:00:02.0")->check[HOST_CHECK_DEVICE_TYPE].result, HOST_RESULT_FAIL);
    host_survey_destroy(s);
    tree_destroy(&t);
    pci_dump_destroy(d);
}

/* VF BAR geometry of cap-pcie-2 as the kernel's IOV resources would show it: 16 KiB per VF. */
#define VF_BAR_SIZE 0x4000u

struct pf_fixture {
    struct pci_dump *rp_dump, *pf_dump;
    unsigned char rp_cfg[4096];
    size_t rp_len;
    const struct pci_dump_func *pf;
    unsigned total_vfs, offset, stride, subordinate;
    uint16_t sriov_off;
    char resource[2048];
    uint64_t own_nonpref;
};

/* Resource lines: the 82576's own BARs from the capture's text, IOV lines per VF BAR. */
static void
pf_resource(struct pf_fixture *x)
{
    /* Sizes printed by the live capture (cap-pcie-2: 128K, 4M, I/O 32, 16K). */
    static const struct {
        uint64_t start, size, flags;
    } bars[6] = {{0xe0800000, 0x20000, 0x40200},
                 {0xe0000000, 0x400000, 0x40200},
                 {0x1020, 0x20, 0x40101},
                 {0xe0840000, 0x4000, 0x40200},
                 {0, 0, 0},
                 {0, 0, 0}};
    const uint8_t *c = x->pf->bytes + x->sriov_off;
    char *p = x->resource;

    x->own_nonpref = 0;
    for (unsigned i = 0; i < 6; i++) {
        p += sprintf(p, "0x%016llx 0x%016llx 0x%016llx\n", (unsigned long long)bars[i].start,
                     (unsigned long long)(bars[i].size ? bars[i].start + bars[i].size - 1 : 0),
                     (unsigned long long)bars[i].flags);
        x->own_nonpref += (bars[i].flags & 0x200) ? bars[i].size : 0;
    }
    p += sprintf(p, "0x%016x 0x%016x 0x%016x\n", 0, 0, 0); /* ROM */
    for (unsigned i = 0; i < 6; i++) {
        uint32_t lo = (uint32_t)c[0x24 + 4 * i] | (uint32_t)c[0x25 + 4 * i] << 8 | (uint32_t)c[0x26 + 4 * i] << 16 |
                      (uint32_t)c[0x27 + 4 * i] << 24;
        bool is64 = (lo & 6) == 4;
        if (lo == 0) {
            p += sprintf(p, "0x%016x 0x%016x 0x%016x\n", 0, 0, 0);
            continue;
        }
        uint64_t base = lo & ~0xfu, size = (uint64_t)VF_BAR_SIZE * x->total_vfs;
        p += sprintf(p, "0x%016llx 0x%016llx 0x%016llx\n", (unsigned long long)base,
                     (unsigned long long)(base + size - 1), (unsigned long long)(0x40200 | (is64 ? 0x100000 : 0)));
        if (is64) {
            p += sprintf(p, "0x%016x 0x%016x 0x%016x\n", 0, 0, 0);
            i++;
        }
    }
}

static void
pf_fixture_init(struct pf_fixture *x)
{
    const char *pf_text, *rp_text;

    memset(x, 0, sizeof(*x));
    x->rp_dump = load("cap-pcie-1");
    x->pf_dump = load("cap-pcie-2");
    x->pf = dump_func(x->pf_dump, 1, 0, 0);
    const struct pci_dump_func *rp = dump_func(x->rp_dump, 0, 1, 0);
    memcpy(x->rp_cfg, rp->bytes, rp->len);
    x->rp_len = rp->len;
    pf_text = lspci(DATA "/pciutils-tests/cap-pcie-2", "01:00.0");
    x->total_vfs = (unsigned)lspci_number(pf_text, "Total VFs: ", 10);
    x->offset = (unsigned)lspci_number(pf_text, "VF offset: ", 10);
    x->stride = (unsigned)lspci_number(pf_text, "stride: ", 10);
    x->sriov_off = (uint16_t)lspci_number(pf_text, "Capabilities: [", 16);
    for (const char *at = pf_text; (at = strstr(at, "Capabilities: [")) != NULL; at++) {
        if (strstr(at, "Single Root I/O Virtualization") - at < 40) {
            x->sriov_off = (uint16_t)strtol(at + strlen("Capabilities: ["), NULL, 16);
            break;
        }
    }
    rp_text = lspci(DATA "/pciutils-tests/cap-pcie-1", "00:01.0");
    x->subordinate = (unsigned)lspci_number(rp_text, "subordinate=", 16);
    pf_resource(x);
}

static void
pf_tree(struct tree *t, struct pf_fixture *x)
{
    struct tree_fn rp = {RP_PARENT, "0000:00:01.0", x->rp_cfg, x->rp_len, 0x060400, 0x8086, 0x3408, NULL, 1, 1};
    struct tree_fn pf = {RP_PARENT "/0000:00:01.0",
                         "0000:01:00.0",
                         x->pf->bytes,
                         x->pf->len,
                         0x020000,
                         0x8086,
                         0x10c9,
                         x->resource,
                         1,
                         10};
    char num[32];

    tree_init(t);
    good_host(t);
    tree_add_fn(t, &rp);
    tree_group(t, 0, RP_PARENT, "0000:00:01.0");
    group_regions(t, 0, msi_region);
    tree_add_fn(t, &pf);
    tree_group(t, 1, RP_PARENT "/0000:00:01.0", "0000:01:00.0");
    group_regions(t, 1, msi_region);
    snprintf(num, sizeof(num), "%u\n", x->total_vfs);
    tree_text(t, num, "sys/devices/" RP_PARENT "/0000:00:01.0/0000:01:00.0/sriov_totalvfs");
}

static void
pf_fixture_fini(struct pf_fixture *x)
{
    pci_dump_destroy(x->rp_dump);
    pci_dump_destroy(x->pf_dump);
}

/* cap-pcie-1's root port implements ACS but enables none of it: the failure names it and the bits. */
static void
test_acs_disabled_names_bridge_and_bits(void **state)
{
    struct pf_fixture x;
    struct tree t;
    const char *rp_text;
    char bits[48];

    (void)state;
    pf_fixture_init(&x);
    rp_text = lspci(DATA "/pciutils-tests/cap-pcie-1", "00:01.0");
    uint16_t missing = lspci_acs_bits(rp_text, "ACSCap:") & HOST_ACS_REQUIRED & ~lspci_acs_bits(rp_text, "ACSCtl:");
    assert_int_not_equal(missing, 0);
    pf_tree(&t, &x);

    struct host_survey *s = survey_tree(&t);
    const struct host_device *d = survey_find(s, "0000:01:00.0");
    const struct host_check *c = &d->check[HOST_CHECK_ACS];
    assert_int_equal(c->result, HOST_RESULT_FAIL);
    assert_int_equal(d->hop[1].missing, missing);
    assert_non_null(strstr(c->why, "0000:00:01.0"));
    assert_non_null(strstr(c->why, "root port"));
    assert_non_null(strstr(c->fix, host_acs_bits_text(missing, bits, sizeof(bits))));
    assert_non_null(strstr(c->fix, "0000:00:01.0"));
    assert_int_equal(host_device_verdict(d), HOST_VERDICT_NOT_ASSIGNABLE);
    /* The 82576 itself: multifunction (header byte 0x0e bit 7) and, per lspci, no ACS: grouped with siblings. */
    bool mf = (x.pf->bytes[0x0e] & 0x80) != 0;
    bool pf_acs = strstr(lspci(DATA "/pciutils-tests/cap-pcie-2", "01:00.0"), "Access Control Services") != NULL;
    assert_int_equal(d->hop[0].result, (mf && !pf_acs) ? HOST_RESULT_FAIL : HOST_RESULT_PASS);
    if (mf && !pf_acs) {
        assert_non_null(strstr(c->why, "device 0000:01:00.0"));
        assert_non_null(strstr(c->fix, "assign all functions of 0000:01:00 together"));
    }
    host_survey_destroy(s);
    tree_destroy(&t);
    pf_fixture_fini(&x);
}

/* Window of a Type 1 header, decoded here from the PCI-to-PCI bridge rules. */
static uint64_t
mem_window(const unsigned char *cfg)
{
    uint64_t base = (uint64_t)((cfg[0x20] | cfg[0x21] << 8) & 0xfff0) << 16;
    uint64_t limit = ((uint64_t)((cfg[0x22] | cfg[0x23] << 8) & 0xfff0) << 16) | 0xfffff;

    return limit >= base ? limit - base + 1 : 0;
}

/* SR-IOV geometry of the 82576 and its VF apertures against the root port's window. */
static void
test_sriov_geometry_and_bus_range(void **state)
{
    struct pf_fixture x;
    struct tree t;
    char need[32];

    (void)state;
    pf_fixture_init(&x);
    pf_tree(&t, &x);
    struct host_survey *s = survey_tree(&t);
    const struct host_device *d = survey_find(s, "0000:01:00.0");
    const struct host_sriov *sr = &d->sriov;

    assert_int_equal(sr->present, HOST_YES);
    assert_int_equal(sr->cap_offset, x.sriov_off);
    assert_int_equal(sr->total_vfs, x.total_vfs);
    assert_int_equal(sr->vf_offset, x.offset);
    assert_int_equal(sr->vf_stride, x.stride);
    /* Both VF BARs are non-prefetchable: apertures = 16 KiB x TotalVFs each. */
    assert_int_equal(sr->aperture_nonpref, 2ull * VF_BAR_SIZE * x.total_vfs);
    assert_int_equal(sr->vf_bar[0].size, VF_BAR_SIZE);
    /* Routing ID of the last VF (device-model.md 5.1) and the bridge's bus range. */
    unsigned last = ((1u << 8) + x.offset + x.stride * (x.total_vfs - 1)) >> 8;
    assert_int_equal(sr->last_vf_bus, last);
    uint64_t window = mem_window(x.rp_cfg);
    uint64_t needed = x.own_nonpref + sr->aperture_nonpref;
    enum host_result expect = needed > window        ? HOST_RESULT_FAIL
                              : last > x.subordinate ? HOST_RESULT_WARN
                                                     : HOST_RESULT_PASS;
    assert_int_equal(d->check[HOST_CHECK_SRIOV].result, expect);
    if (last > x.subordinate) {
        assert_non_null(strstr(d->check[HOST_CHECK_SRIOV].why, "0000:00:01.0 ends at bus"));
    }
    assert_non_null(strstr(d->check[HOST_CHECK_SRIOV].why, host_size_text(needed, need, sizeof(need))));
    host_survey_destroy(s);
    tree_destroy(&t);

    /* Shrink the root port's window to 1 MiB: the VFs no longer fit, and the report says by how much. */
    x.rp_cfg[0x22] = x.rp_cfg[0x20];
    x.rp_cfg[0x23] = x.rp_cfg[0x21];
    assert_true(mem_window(x.rp_cfg) < x.own_nonpref + 2ull * VF_BAR_SIZE * x.total_vfs);
    pf_tree(&t, &x);
    s = survey_tree(&t);
    d = survey_find(s, "0000:01:00.0");
    assert_int_equal(d->check[HOST_CHECK_SRIOV].result, HOST_RESULT_FAIL);
    assert_non_null(strstr(d->check[HOST_CHECK_SRIOV].why, host_size_text(needed, need, sizeof(need))));
    assert_non_null(strstr(d->check[HOST_CHECK_SRIOV].why, "1 MiB"));
    assert_non_null(strstr(d->check[HOST_CHECK_SRIOV].fix, "0000:00:01.0"));
    host_survey_destroy(s);
    tree_destroy(&t);
    pf_fixture_fini(&x);
}

/* A synthetic PCIe endpoint with a pin and neither MSI nor MSI-X. */
static void
intx_config(unsigned char *c)
{
    memset(c, 0, 4096);
    c[0] = 0x34, c[1] = 0x12, c[2] = 0x78, c[3] = 0x56; /* IDs */
    c[0x06] = 0x10;                                     /* Status: Capabilities List */
    c[0x0b] = 0x02;                                     /* class 02 network */
    c[0x34] = 0x40;                                     /* first capability */
    c[0x3d] = 0x01;                                     /* INTA# */
    c[0x40] = 0x10, c[0x41] = 0x00;                     /* PCIe capability, last */
    c[0x42] = 0x02;                                     /* version 2, type 0: endpoint */
}

static void
test_intx_only_cannot_be_assigned(void **state)
{
    struct pci_dump *d = load("cap-aer-root");
    static unsigned char cfg[4096];
    struct tree t;

    (void)state;
    intx_config(cfg);
    struct tree_fn f = {
        RP_PARENT "/0000:00:02.0", "0000:03:00.0", cfg, sizeof(cfg), 0x020000, 0x1234, 0x5678, NULL, 1, -1};
    endpoint_tree(&t, d, &f, msi_region);
    struct host_survey *s = survey_tree(&t);
    const struct host_device *dev = survey_find(s, "0000:03:00.0");
    assert_int_equal(dev->check[HOST_CHECK_INTERRUPTS].result, HOST_RESULT_FAIL);
    assert_non_null(strstr(dev->check[HOST_CHECK_INTERRUPTS].why, "INTx only (pin INTA#"));
    assert_int_equal(host_device_verdict(dev), HOST_VERDICT_NOT_ASSIGNABLE);
    /* Only the interrupt check fails: the verdict names that reason alone. */
    for (unsigned i = 0; i < HOST_CHECK_COUNT; i++) {
        if (i != HOST_CHECK_INTERRUPTS) {
            assert_true(dev->check[i].result != HOST_RESULT_FAIL);
        }
    }
    host_survey_destroy(s);
    tree_destroy(&t);
    pci_dump_destroy(d);
}

/* Two endpoints in one group (plus the bridge): each must go along with the other. */
static void
test_group_with_two_endpoints(void **state)
{
    struct pci_dump *d = load("cap-aer-root");
    const struct pci_dump_func *ep = dump_func(d, 3, 0, 0);
    static unsigned char second[4096];
    struct tree t;

    (void)state;
    memcpy(second, ep->bytes, ep->len);
    tree_init(&t);
    good_host(&t);
    add_aer_root_port(&t, d, NULL);
    struct tree_fn a = {
        RP_PARENT "/0000:00:02.0", "0000:03:00.0", ep->bytes, ep->len, 0x020000, 0x15b3, 0x1007, NULL, 1, 2};
    struct tree_fn b = {
        RP_PARENT "/0000:00:02.0", "0000:03:00.1", second, ep->len, 0x020000, 0x15b3, 0x1007, NULL, 1, 2};
    tree_add_fn(&t, &a);
    tree_add_fn(&t, &b);
    tree_group(&t, 5, RP_PARENT "/0000:00:02.0", "0000:03:00.0");
    tree_group(&t, 5, RP_PARENT "/0000:00:02.0", "0000:03:00.1");
    group_regions(&t, 5, msi_region);
    /* A bridge in the same group stays with the host and is named apart. */
    tree_link(&t, "../../../../devices/" RP_PARENT "/0000:00:02.0", "sys/kernel/iommu_groups/5/devices/0000:00:02.0");

    struct host_survey *s = survey_tree(&t);
    const struct host_device *x = survey_find(s, "0000:03:00.0");
    const struct host_check *c = &x->check[HOST_CHECK_IOMMU_GROUP];
    assert_int_equal(c->result, HOST_RESULT_FAIL);
    assert_non_null(strstr(c->why, "also holds 0000:03:00.1"));
    assert_non_null(strstr(c->why, "bridges in the group (stay with the host): 0000:00:02.0"));
    assert_int_equal(x->group_members, 2);
    assert_int_equal(survey_find(s, "0000:03:00.1")->check[HOST_CHECK_IOMMU_GROUP].result, HOST_RESULT_FAIL);
    assert_non_null(strstr(survey_find(s, "0000:03:00.1")->check[HOST_CHECK_IOMMU_GROUP].why, "0000:03:00.0"));
    host_survey_destroy(s);
    tree_destroy(&t);
    pci_dump_destroy(d);
}

/* A 'direct' reserved region (RMRR) blocks; 'direct-relaxable' is tolerated. */
static void
test_reserved_regions(void **state)
{
    struct pci_dump *d = load("cap-aer-root");
    const struct pci_dump_func *ep = dump_func(d, 3, 0, 0);
    static const char *const regions[2] = {
        "0x000000007b800000 0x000000007fffffff direct\n0x00000000fee00000 0x00000000feefffff msi\n",
        "0x000000007b800000 0x000000007fffffff direct-relaxable\n0x00000000fee00000 0x00000000feefffff msi\n"};

    (void)state;
    for (int i = 0; i < 2; i++) {
        struct tree t;
        struct tree_fn f = {
            RP_PARENT "/0000:00:02.0", "0000:03:00.0", ep->bytes, ep->len, 0x020000, 0x15b3, 0x1007, NULL, 1, 2};
        endpoint_tree(&t, d, &f, regions[i]);
        struct host_survey *s = survey_tree(&t);
        const struct host_device *x = survey_find(s, "0000:03:00.0");
        assert_int_equal(x->regions, 2);
        assert_int_equal(x->check[HOST_CHECK_RESERVED_REGIONS].result, i == 0 ? HOST_RESULT_FAIL : HOST_RESULT_PASS);
        assert_non_null(strstr(x->check[HOST_CHECK_RESERVED_REGIONS].why, "0x7b800000-0x7fffffff"));
        assert_int_equal(host_device_verdict(x), i == 0 ? HOST_VERDICT_NOT_ASSIGNABLE : HOST_VERDICT_ASSIGNABLE);
        host_survey_destroy(s);
        tree_destroy(&t);
    }
    pci_dump_destroy(d);
}

/* A 64-byte config (captured unprivileged): say what was not seen; verdict unknown, not a guess. */
static void
test_unprivileged_config(void **state)
{
    struct pci_dump *d = load("cap-aer-root");
    const struct pci_dump_func *ep = dump_func(d, 3, 0, 0);
    struct tree t;

    (void)state;
    struct tree_fn f = {RP_PARENT "/0000:00:02.0", "0000:03:00.0", ep->bytes, 64, 0x020000, 0x15b3, 0x1007, NULL, 1, 3};
    endpoint_tree(&t, d, &f, msi_region);
    struct host_survey *s = survey_tree(&t);
    const struct host_device *x = survey_find(s, "0000:03:00.0");
    assert_true(x->config_truncated);
    assert_true(x->unseen_count >= 1);
    assert_non_null(strstr(x->unseen[0], "only 64"));
    assert_int_equal(x->pcie_type, HOST_PCIE_UNSEEN);
    assert_int_equal(x->check[HOST_CHECK_DEVICE_TYPE].result, HOST_RESULT_UNKNOWN);
    assert_int_equal(x->check[HOST_CHECK_ATS].result, HOST_RESULT_UNKNOWN);
    /* msi_irqs/ still shows message-signalled vectors in use. */
    assert_int_equal(x->check[HOST_CHECK_INTERRUPTS].result, HOST_RESULT_PASS);
    assert_int_equal(host_device_verdict(x), HOST_VERDICT_UNKNOWN);
    host_survey_destroy(s);
    tree_destroy(&t);
    pci_dump_destroy(d);
}

/* ---- this machine's real devices, from its captured listing -------------------------- */

struct listing_fn {
    char bdf[16];
    unsigned long class_code;
    unsigned vendor, device;
    int enable;
    int msi;
    char resource[2048];
    uint64_t mmio64;
};

/* Parse sysfs-pci-devices.txt ("key: value|" lines, resource lines joined by '|'). */
static size_t
parse_listing(struct listing_fn *out, size_t max)
{
    FILE *f = fopen(DATA "/this-host/sysfs-pci-devices.txt", "r");
    char line[4096];
    size_t n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        struct listing_fn *c = n ? &out[n - 1] : NULL;
        if (strncmp(line, "== /sys/bus/pci/devices/", 24) == 0 && n < max) {
            memset(&out[n], 0, sizeof(out[n]));
            sscanf(line + 24, "%15s", out[n].bdf);
            out[n++].msi = -1;
        } else if (c != NULL && strncmp(line, "class: ", 7) == 0) {
            c->class_code = strtoul(line + 7, NULL, 16);
        } else if (c != NULL && strncmp(line, "vendor: ", 8) == 0) {
            c->vendor = (unsigned)strtoul(line + 8, NULL, 16);
        } else if (c != NULL && strncmp(line, "device: ", 8) == 0) {
            c->device = (unsigned)strtoul(line + 8, NULL, 16);
        } else if (c != NULL && strncmp(line, "enable: ", 8) == 0) {
            c->enable = atoi(line + 8);
        } else if (c != NULL && strncmp(line, "msi_irqs/ [", 11) == 0) {
            c->msi = 0;
            for (char *p = line + 11; (p = strpbrk(p, "0123456789")) != NULL; p += strspn(p, "0123456789")) {
                c->msi++;
            }
        } else if (c != NULL && strncmp(line, "resource: ", 10) == 0) {
            char *save = NULL;
            for (char *r = strtok_r(line + 10, "|\n", &save); r; r = strtok_r(NULL, "|\n", &save)) {
                unsigned long long s, e, fl;
                strcat(c->resource, r);
                strcat(c->resource, "\n");
                if (sscanf(r, "%llx %llx %llx", &s, &e, &fl) == 3 && (fl & 0x200) && (fl & 0x100000) && e > s) {
                    c->mmio64 += ((e - s + 1) + 4095) / 4096 * 4096;
                }
            }
        }
    }
    fclose(f);
    return n;
}

static void
test_this_host(void **state)
{
    static struct listing_fn fns[16];
    size_t n = parse_listing(fns, 16);
    struct tree t;

    (void)state;
    assert_int_equal(n, 6);
    tree_init(&t); /* empty sys/class/iommu and iommu_groups, as on this kernel */
    for (size_t i = 0; i < n; i++) {
        static unsigned char cfg[4096];
        char path[PATH_MAX];
        snprintf(path, sizeof(path), DATA "/this-host/config-%s.bin", fns[i].bdf);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t len = fread(cfg, 1, sizeof(cfg), f);
        fclose(f);
        struct tree_fn fn = {RP_PARENT,     fns[i].bdf,      cfg,           len,       fns[i].class_code, fns[i].vendor,
                             fns[i].device, fns[i].resource, fns[i].enable, fns[i].msi};
        tree_add_fn(&t, &fn);
    }
    struct host_survey *s = survey_tree(&t);
    assert_int_equal(host_survey_count(s), n);
    assert_int_equal(host_survey_platform(s)->iommu.result, HOST_RESULT_FAIL);
    for (size_t i = 0; i < n; i++) {
        const struct host_device *d = survey_find(s, fns[i].bdf);
        const char *text = lspci(DATA "/this-host/lspci-xxxx.dump", fns[i].bdf + 5);
        bool express = strstr(text, "Express") != NULL;
        bool msi = strstr(text, "MSI-X:") != NULL || strstr(text, "MSI:") != NULL;
        bool pin = strstr(text, "Interrupt: pin") != NULL;

        assert_int_equal(host_device_verdict(d), HOST_VERDICT_NOT_ASSIGNABLE);
        assert_int_equal(d->check[HOST_CHECK_IOMMU].result, HOST_RESULT_FAIL);
        assert_int_equal(d->pcie_type, express ? d->pcie_type : HOST_PCIE_NONE);
        assert_int_equal(d->check[HOST_CHECK_DEVICE_TYPE].result, HOST_RESULT_FAIL);
        assert_int_equal(d->check[HOST_CHECK_INTERRUPTS].result, (msi || !pin) ? HOST_RESULT_PASS : HOST_RESULT_FAIL);
        assert_int_equal(d->check[HOST_CHECK_ENABLED].result, fns[i].enable ? HOST_RESULT_PASS : HOST_RESULT_WARN);
        assert_int_equal(d->mmio64, fns[i].mmio64);
        assert_int_equal(d->msi_irqs, fns[i].msi);
    }
    host_survey_destroy(s);
    tree_destroy(&t);
}

/* ---- rules on hand-made facts ----------------------------------------------------------- */

static void
test_hop_rules(void **state)
{
    struct host_acs_hop h;

    (void)state;
    /* A conventional PCI bridge never isolates. */
    memset(&h, 0, sizeof(h));
    h.pcie_type = HOST_PCIE_NONE;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_FAIL);
    /* A single-function upstream switch port needs no ACS. */
    h.pcie_type = HOST_PCIE_UPSTREAM;
    h.acs = HOST_NO;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_PASS);
    /* A downstream port that lacks UF in its capability only needs the bits it has. */
    h.pcie_type = HOST_PCIE_DOWNSTREAM;
    h.acs = HOST_YES;
    h.cap = HOST_ACS_SV | HOST_ACS_RR | HOST_ACS_CR;
    h.ctrl = HOST_ACS_SV | HOST_ACS_RR | HOST_ACS_CR;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_PASS);
    h.ctrl = HOST_ACS_SV;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_FAIL);
    assert_int_equal(h.missing, HOST_ACS_RR | HOST_ACS_CR);
    /* A root port without the capability fails; a PCIe-to-PCI bridge always fails. */
    h.acs = HOST_NO;
    h.pcie_type = HOST_PCIE_ROOT_PORT;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_FAIL);
    h.pcie_type = HOST_PCIE_PCIE_TO_PCI;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_FAIL);
    /* A multifunction endpoint is judged; a single-function one is not. */
    h.pcie_type = HOST_PCIE_ENDPOINT;
    h.is_device = true;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_PASS);
    h.multifunction = true;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_FAIL);
    /* Config not visible: unknown, not a guess. */
    h.pcie_type = HOST_PCIE_UNSEEN;
    host_judge_hop(&h);
    assert_int_equal(h.result, HOST_RESULT_UNKNOWN);
}

static void
test_bad_inputs(void **state)
{
    struct host_survey_options o = {"/nonexistent-pcivirt-root", NULL};
    struct host_survey *s = NULL;
    struct pcivirt_error err;
    struct tree t;

    (void)state;
    pcivirt_error_clear(&err);
    assert_int_equal(host_survey_run(&o, &s, &err), PCIVIRT_ENOENT);
    assert_null(s);
    assert_non_null(strstr(err.message, "/nonexistent-pcivirt-root"));
    /* A directory that is not a sysfs tree. */
    o.root = "/tmp";
    assert_int_equal(host_survey_run(&o, &s, &err), PCIVIRT_ENOENT);
    assert_non_null(strstr(err.message, "sys/bus/pci/devices"));
    /* A malformed or absent BDF. */
    tree_init(&t);
    o.root = t.root;
    o.only_bdf = "00:zz.0";
    assert_int_equal(host_survey_run(&o, &s, &err), PCIVIRT_EINVAL);
    o.only_bdf = "00:1f.7";
    assert_int_equal(host_survey_run(&o, &s, &err), PCIVIRT_ENOENT);
    assert_non_null(strstr(err.message, "00:1f.7"));
    /* A snapshot without IOMMU directories: unknown, not "no IOMMU". */
    o.only_bdf = NULL;
    tree_destroy(&t);
    tree_init(&t);
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/sys/class/iommu", t.root);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups", t.root);
    rmdir(p);
    o.root = t.root;
    assert_int_equal(host_survey_run(&o, &s, &err), 0);
    assert_int_equal(host_survey_platform(s)->iommu.result, HOST_RESULT_UNKNOWN);
    host_survey_destroy(s);
    host_survey_destroy(NULL);
    tree_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acs_enabled_path_is_assignable),
        cmocka_unit_test(test_acs_disabled_names_bridge_and_bits),
        cmocka_unit_test(test_sriov_geometry_and_bus_range),
        cmocka_unit_test(test_intx_only_cannot_be_assigned),
        cmocka_unit_test(test_group_with_two_endpoints),
        cmocka_unit_test(test_reserved_regions),
        cmocka_unit_test(test_unprivileged_config),
        cmocka_unit_test(test_this_host),
        cmocka_unit_test(test_hop_rules),
        cmocka_unit_test(test_bad_inputs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
