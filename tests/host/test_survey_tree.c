/*
 * tests/host/test_survey_tree.c - the survey on whole machines and on broken
 * capability chains, built from real dumps.
 *
 * tree-asus-p6t6 is a whole X58 board: 53 functions on two root buses, three
 * X58 root ports, an NF200 switch below one of them, ICH10 root ports, a
 * conventional PCI bridge, a multifunction GPU and the uncore devices on bus ff.
 * The sysfs tree is laid out from the dump's own bridge registers (each bus
 * hangs below the bridge whose secondary bus it is), so every device sits at
 * its real place in the hierarchy.  Expectations come from the real
 * `lspci -vvv -F` on the same dump (port types, ACSCap/ACSCtl, MSI/MSI-X,
 * interrupt pin) and from the isolation rule restated here (docs/SURVEY.md
 * "ACS rule"; Linux pci_acs_enabled): never from what the survey printed.
 *
 * broken-ecaps is a function whose extended configuration space repeats its
 * header (hardware that ignores the register number's upper bits).  Put behind
 * a PCIe endpoint's header, the extended capability list becomes a cycle; the
 * survey must stop, say so, and treat what the list would have shown as unseen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "host/survey.h"
#include "pci/dump.h"
#include "survey_check.h"
#include "tree.h"

#define DATA PCIVIRT_SHARED_DIR "/data/pciutils-tests"
#define MAX_FN 64

/* ---- the real lspci, once for the whole dump ------------------------------------------ */

struct lspci_all {
    char *text;
};

static void
lspci_all_load(struct lspci_all *l, const char *path)
{
    char cmd[PATH_MAX + 64];
    size_t cap = 1 << 20, n;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "lspci -F '%s' -vvv 2>/dev/null", path);
    l->text = malloc(cap);
    assert_non_null(l->text);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(l->text, 1, cap - 1, p);
    l->text[n] = '\0';
    pclose(p);
    assert_true(n > 0 && n < cap - 1);
}

/* The block lspci printed for "BB:DD.F" (up to the blank line), copied into @out. */
static void
lspci_block(const struct lspci_all *l, const char *bdf, char *out, size_t size)
{
    char head[16];
    const char *start, *end;

    snprintf(head, sizeof(head), "%s ", bdf);
    start = strncmp(l->text, head, strlen(head)) == 0 ? l->text : NULL;
    if (start == NULL) {
        char nl_head[20];

        snprintf(nl_head, sizeof(nl_head), "\n%s", head);
        start = strstr(l->text, nl_head);
        assert_non_null(start);
        start++;
    }
    end = strstr(start, "\n\n");
    snprintf(out, size, "%.*s", (int)(end != NULL ? end - start : (ptrdiff_t)strlen(start)), start);
}

/* The port type lspci names after "Express (vN) "; "" for conventional PCI. */
static void
express_type(const char *block, char *out, size_t size)
{
    const char *e = strstr(block, "] Express (v");

    out[0] = '\0';
    if (e != NULL) {
        e = strchr(e, ')') + 2;
        snprintf(out, size, "%.*s", (int)strcspn(e, ",(\n"), e);
        for (size_t n = strlen(out); n > 0 && out[n - 1] == ' '; n--) {
            out[n - 1] = '\0';
        }
    }
}

/*
 * Does this function isolate, as a hop on a device's path (or the device itself)?
 * Root and downstream ports need SV, RR, CR and UF enabled where implemented;
 * multifunction endpoints and upstream ports likewise; conventional bridges and
 * PCIe/PCI bridges never; a conventional or single-function device itself does.
 */
static bool
isolates(const char *block, const uint8_t *cfg, bool is_device)
{
    const uint16_t required = 0x01 | 0x04 | 0x08 | 0x10;
    char type[64];
    bool multifunction = (cfg[0x0e] & 0x80) != 0;
    bool has_acs = strstr(block, "Access Control Services") != NULL;
    uint16_t need = required & lspci_acs_bits(block, "ACSCap:");

    express_type(block, type, sizeof(type));
    if (type[0] == '\0') {
        return is_device && !multifunction;
    }
    if (strstr(type, "PCI-Express to PCI") != NULL || strstr(type, "to PCI-Express") != NULL ||
        strstr(type, "Event Collector") != NULL) {
        return false;
    }
    if (strcmp(type, "Root Port") == 0 || strcmp(type, "Downstream Port") == 0 ||
        (multifunction && (strstr(type, "Endpoint") != NULL || strcmp(type, "Upstream Port") == 0))) {
        return has_acs && (lspci_acs_bits(block, "ACSCtl:") & need) == need;
    }
    return true;
}

/* ---- the machine from the dump ------------------------------------------------------ */

struct machine {
    struct pci_dump *d;
    struct lspci_all l;
    char parent[MAX_FN][256]; /* "pci0000:00/0000:00:03.0/..." */
    char bdf[MAX_FN][16];
};

/* The bridge whose secondary bus is @bus, or -1 (a root bus). */
static int
bridge_of(const struct pci_dump *d, unsigned bus)
{
    for (size_t i = 0; i < d->count; i++) {
        const uint8_t *c = d->funcs[i]->bytes;

        if ((c[0x0e] & 0x7f) == 1 && c[0x19] == bus && c[0x19] != 0) {
            return (int)i;
        }
    }
    return -1;
}

static void
parent_of(struct machine *m, size_t i, char *out, size_t size)
{
    int b = bridge_of(m->d, m->d->funcs[i]->addr.bus);
    char up[256];

    if (b < 0) {
        snprintf(out, size, "pci%04x:%02x", m->d->funcs[i]->addr.domain, m->d->funcs[i]->addr.bus);
        return;
    }
    assert_true((size_t)b != i);
    parent_of(m, (size_t)b, up, sizeof(up));
    snprintf(out, size, "%s/%s", up, m->bdf[b]);
}

static void
machine_build(struct machine *m, struct tree *t, const char *dump)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), DATA "/%s", dump);
    assert_int_equal(pci_dump_load(path, &m->d, NULL), 0);
    assert_true(m->d->count <= MAX_FN);
    lspci_all_load(&m->l, path);
    tree_init(t);
    tree_dir(t, "sys/class/iommu/dmar0");
    tree_text(t, "  40:  0  0  IR-PCI-MSI-0000:00:1f.2  0-edge  ahci\n", "proc/interrupts");
    tree_text(t, "[0.30] acpi PNP0A08:00: _OSC: OS now controls [PCIeHotplug PME AER PCIeCapability]\n", "dev/kmsg");
    for (size_t i = 0; i < m->d->count; i++) {
        const struct pci_addr *a = &m->d->funcs[i]->addr;

        snprintf(m->bdf[i], sizeof(m->bdf[i]), "%04x:%02x:%02x.%x", a->domain, a->bus, a->dev, a->fn);
    }
    for (size_t i = 0; i < m->d->count; i++) {
        const uint8_t *c = m->d->funcs[i]->bytes;
        struct tree_fn f = {m->parent[i],
                            m->bdf[i],
                            c,
                            m->d->funcs[i]->len,
                            (unsigned long)c[0x0b] << 16 | (unsigned long)c[0x0a] << 8 | c[0x09],
                            (unsigned)(c[0] | c[1] << 8),
                            (unsigned)(c[2] | c[3] << 8),
                            NULL,
                            1,
                            -1};

        parent_of(m, i, m->parent[i], sizeof(m->parent[i]));
        tree_add_fn(t, &f);
        tree_group(t, (int)i, m->parent[i], m->bdf[i]); /* one group each: isolation is judged by ACS alone */
        tree_text(t, "0x00000000fee00000 0x00000000feefffff msi\n", "sys/kernel/iommu_groups/%zu/reserved_regions", i);
        tree_text(t, "DMA\n", "sys/kernel/iommu_groups/%zu/type", i);
    }
}

static void
machine_free(struct machine *m, struct tree *t)
{
    pci_dump_destroy(m->d);
    free(m->l.text);
    tree_destroy(t);
}

/* The ACS verdict of device @i: every hop from it up to its root bus must isolate. */
static bool
path_isolates(const struct machine *m, size_t i, char *first_bad, size_t size)
{
    char block[16384];
    int hop = (int)i;

    first_bad[0] = '\0';
    for (bool is_device = true; hop >= 0; is_device = false) {
        lspci_block(&m->l, m->bdf[hop] + 5, block, sizeof(block));
        if (!isolates(block, m->d->funcs[hop]->bytes, is_device)) {
            snprintf(first_bad, size, "%s", m->bdf[hop]);
            return false;
        }
        hop = bridge_of(m->d, m->d->funcs[hop]->addr.bus);
    }
    return true;
}

static void
test_whole_board_asus_p6t6(void **state)
{
    struct machine m;
    struct tree t;
    struct host_survey *s;
    unsigned fails = 0, passes = 0, intx = 0;

    (void)state;
    memset(&m, 0, sizeof(m));
    machine_build(&m, &t, "tree-asus-p6t6");
    assert_int_equal(m.d->count, 53);
    s = survey_tree(&t);
    assert_int_equal(host_survey_count(s), 53);
    for (size_t i = 0; i < m.d->count; i++) {
        const struct host_device *d = survey_find(s, m.bdf[i]);
        char block[16384], bad[16], want_loc[300], type[64];
        bool iso = path_isolates(&m, i, bad, sizeof(bad));
        bool is_bridge = (m.d->funcs[i]->bytes[0x0e] & 0x7f) == 1;

        lspci_block(&m.l, m.bdf[i] + 5, block, sizeof(block));
        /* The place in the hierarchy: root bus down to the device. */
        snprintf(want_loc, sizeof(want_loc), "%s/%s", m.parent[i], m.bdf[i]);
        assert_string_equal(d->location, want_loc);
        /* ACS along the path, and the failure names the first hop that does not isolate. */
        if (d->check[HOST_CHECK_ACS].result != (iso ? HOST_RESULT_PASS : HOST_RESULT_FAIL)) {
            print_error("%s: ACS %s, expected %s (first bad hop %s): %s\n", m.bdf[i],
                        host_result_name(d->check[HOST_CHECK_ACS].result), iso ? "pass" : "fail", bad,
                        d->check[HOST_CHECK_ACS].why);
        }
        assert_int_equal(d->check[HOST_CHECK_ACS].result, iso ? HOST_RESULT_PASS : HOST_RESULT_FAIL);
        if (!iso) {
            assert_non_null(strstr(d->check[HOST_CHECK_ACS].why, bad + 5));
            fails++;
        } else {
            passes++;
        }
        /* INTx only (a pin A-D, no MSI, no MSI-X) cannot be assigned; lspci shows "pin ?" for other values. */
        {
            const char *pin = strstr(block, "Interrupt: pin ");
            bool intx_only = pin != NULL && pin[15] >= 'A' && pin[15] <= 'D' && strstr(block, "MSI:") == NULL &&
                             strstr(block, "MSI-X:") == NULL;

            assert_int_equal(d->check[HOST_CHECK_INTERRUPTS].result, intx_only ? HOST_RESULT_FAIL : HOST_RESULT_PASS);
            intx += intx_only;
        }
        /* Bridges stay with the host; conventional PCI functions are not PCIe endpoints. */
        express_type(block, type, sizeof(type));
        if (is_bridge || type[0] == '\0') {
            assert_int_equal(d->check[HOST_CHECK_DEVICE_TYPE].result, HOST_RESULT_FAIL);
            assert_int_not_equal(host_device_verdict(d), HOST_VERDICT_ASSIGNABLE);
        }
        assert_int_equal(d->pcie_type == HOST_PCIE_NONE, type[0] == '\0');
    }
    /* The board has both: isolated paths (X58 ports) and paths that are not. */
    assert_true(fails > 0 && passes > 0);
    assert_true(intx > 0); /* the ICH10 UHCI controllers */
    host_survey_destroy(s);
    machine_free(&m, &t);
}

/* An 82576 endpoint whose extended space repeats its header (broken-ecaps): a cyclic chain. */
static void
test_broken_extended_chain(void **state)
{
    struct pci_dump *pf = NULL, *broken = NULL;
    static uint8_t cfg[4096];
    struct tree t;
    struct host_survey *s;
    const struct host_device *d;
    bool said = false;

    (void)state;
    assert_int_equal(pci_dump_load(DATA "/cap-pcie-2", &pf, NULL), 0);
    assert_int_equal(pci_dump_load(DATA "/broken-ecaps", &broken, NULL), 0);
    assert_int_equal(broken->funcs[0]->len, 4096);
    memcpy(cfg, pf->funcs[0]->bytes, 256);
    memcpy(cfg + 256, broken->funcs[0]->bytes + 256, 4096 - 256);
    /* The chain as the hardware would give it: 0x100 -> ... and back, never ending with 0. */
    assert_true((cfg[0x102] >> 4 | cfg[0x103] << 4) >= 0x100);
    tree_init(&t);
    tree_dir(&t, "sys/class/iommu/dmar0");
    {
        struct tree_fn f = {"pci0000:00", "0000:00:02.0", cfg, sizeof(cfg), 0x020000, 0x8086, 0x10c9, NULL, 1, -1};

        tree_add_fn(&t, &f);
        tree_group(&t, 0, "pci0000:00", "0000:00:02.0");
    }
    s = survey_tree(&t);
    assert_int_equal(host_survey_count(s), 1);
    d = host_survey_device(s, 0);
    /* PCIe (the Express capability is in the normal list) ... */
    assert_int_equal(d->pcie_type, HOST_PCIE_ENDPOINT);
    /* ... but nothing from the extended list is believed, and the report says why. */
    assert_int_equal(d->sriov.present, HOST_UNSEEN);
    assert_int_equal(d->ats, HOST_UNSEEN);
    for (size_t i = 0; i < d->unseen_count; i++) {
        said = said || strstr(d->unseen[i], "extended") != NULL;
    }
    assert_true(said);
    assert_int_not_equal(host_device_verdict(d), HOST_VERDICT_ASSIGNABLE);
    host_survey_destroy(s);
    tree_destroy(&t);
    pci_dump_destroy(pf);
    pci_dump_destroy(broken);
}

/* broken-ecaps as it is: a conventional host bridge; its aliased space is never walked. */
static void
test_broken_ecaps_as_captured(void **state)
{
    struct machine m;
    struct tree t;
    struct host_survey *s;
    const struct host_device *d;

    (void)state;
    memset(&m, 0, sizeof(m));
    machine_build(&m, &t, "broken-ecaps");
    s = survey_tree(&t);
    assert_int_equal(host_survey_count(s), m.d->count);
    d = survey_find(s, m.bdf[0]);
    assert_int_equal(d->pcie_type, HOST_PCIE_NONE);
    assert_int_equal(d->sriov.present, HOST_NO);
    assert_int_equal(d->check[HOST_CHECK_DEVICE_TYPE].result, HOST_RESULT_FAIL);
    host_survey_destroy(s);
    machine_free(&m, &t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_board_asus_p6t6),
        cmocka_unit_test(test_broken_extended_chain),
        cmocka_unit_test(test_broken_ecaps_as_captured),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
