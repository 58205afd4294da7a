/*
 * tools/lspci_print.c - the lspci-shaped forms: listing, -n, -v, -x dumps, -t tree.
 *
 * The listing and the tree follow lspci 3.9.0's layout exactly (tests compare
 * them with the real lspci on our own dumps); the -v lines are ours, in lspci's
 * tab-indented style, because lspci has no words for "VF 5 of that PF".
 */
#include "lspci_print.h"

#include <stdlib.h>
#include <string.h>

#include "pci/regs.h"
#include "util/alloc.h"
#include "util/le.h"

static void
ident_from_cfg(struct lspci_ident *id, const uint8_t *cfg)
{
    memset(id, 0, sizeof(*id));
    id->vendor = le16_get(cfg + PCI_VENDOR_ID);
    id->device = le16_get(cfg + PCI_DEVICE_ID);
    id->subvendor = le16_get(cfg + PCI_SUBSYSTEM_VENDOR_ID);
    id->subdevice = le16_get(cfg + PCI_SUBSYSTEM_ID);
    id->class_code = le32_get(cfg + PCI_REVISION_ID) >> 8;
}

int
lspci_view_init(struct lspci_view *v, const struct lspci_model *m, const struct lspci_opts *o)
{
    uint8_t pf[PCI_CFG_SIZE_EXT], vf[PCI_CFG_SIZE];
    int rc;

    memset(v, 0, sizeof(*v));
    v->m = m;
    v->o = o;
    rc = lspci_model_config(m, 0, pf, sizeof(pf));
    if (rc != 0) {
        return rc;
    }
    ident_from_cfg(&v->id[0], pf);
    if (m->count > 1) {
        rc = lspci_model_config(m, 1, vf, sizeof(vf));
        if (rc != 0) {
            return rc;
        }
        ident_from_cfg(&v->id[1], vf);
        /* Linux pci_iov_virtfn_add: vendor from the PF, device from the VF Device ID. */
        v->id[1].vendor = v->id[0].vendor;
        v->id[1].device = le16_get(pf + m->sriov + PCI_SRIOV_VF_DID);
    }
    if (o->numeric != 1 || o->json || o->dot) {
        v->have_ids = lspci_names_resolve(o->ids_path ? o->ids_path : LSPCI_IDS_DEFAULT, v->id, m->count > 1 ? 2 : 1);
    }
    return 0;
}

const struct lspci_ident *
lspci_view_ident(const struct lspci_view *v, size_t i)
{
    return &v->id[v->m->fn[i].is_vf ? 1 : 0];
}

/* ---- listing ------------------------------------------------------------------- */

static void
print_hex(FILE *out, const uint8_t *cfg, unsigned len)
{
    for (unsigned i = 0; i < len; i++) {
        if ((i & 15) == 0) {
            fprintf(out, "%02x:", i);
        }
        fprintf(out, " %02x", cfg[i]);
        if ((i & 15) == 15) {
            fputc('\n', out);
        }
    }
}

static void
print_header(const struct lspci_view *v, size_t i, const uint8_t *cfg, FILE *out)
{
    const struct lspci_ident *id = lspci_view_ident(v, i);
    char bdf[24], cls[LSPCI_NAME_MAX + 16], name[2 * LSPCI_NAME_MAX + 16];
    uint8_t rev = cfg[PCI_REVISION_ID], pi = (uint8_t)id->class_code;

    lspci_format_bdf(v->m, v->m->fn[i].rid, bdf, sizeof(bdf));
    if (v->o->numeric == 1) {
        fprintf(out, "%s %04x: %04x:%04x", bdf, id->class_code >> 8, id->vendor, id->device);
    } else if (v->o->numeric == 2) {
        lspci_name_class_nn(id, cls, sizeof(cls));
        lspci_name_device_nn(id, name, sizeof(name));
        fprintf(out, "%s %s: %s", bdf, cls, name);
    } else {
        lspci_name_class(id, cls, sizeof(cls));
        lspci_name_device(id, name, sizeof(name));
        fprintf(out, "%s %s: %s", bdf, cls, name);
    }
    if (rev != 0) {
        fprintf(out, " (rev %02x)", rev);
    }
    if (v->o->verbose && (pi != 0 || id->progif_name[0])) {
        if (v->o->numeric != 1 && id->progif_name[0]) {
            fprintf(out, " (prog-if %02x [%s])", pi, id->progif_name);
        } else {
            fprintf(out, " (prog-if %02x)", pi);
        }
    }
    if (v->m->fn[i].holder != NULL) {
        fprintf(out, " [VM %s]", v->m->fn[i].holder);
    }
    fputc('\n', out);
}

/* "0x0300 + 128 + 5 x 2": how the routing ID of VF @index comes about (device-model.md 5.1). */
static void
rid_sum(const struct lspci_model *m, uint32_t index, char *buf, size_t size)
{
    snprintf(buf, size, "0x%04x + %u + %u x %u", m->geo.pf_rid, m->geo.offset, index, m->geo.stride);
}

/* VF BAR @b's base as the PF's SR-IOV capability holds it (0: not assigned; PCIe 9.3.3.14). */
static uint64_t
vf_bar_base(const struct lspci_view *v, const uint8_t *pf, unsigned b)
{
    const uint8_t *reg = pf + v->m->sriov + PCI_SRIOV_BAR + 4 * b;
    uint64_t base = le32_get(reg) & ~0xFull;

    if (v->m->prof->vf_bar[b].is64 && b < 5) {
        base |= (uint64_t)le32_get(reg + 4) << 32;
    }
    return base;
}

static uint64_t
vf_bar_per_vf(const struct lspci_view *v, const uint8_t *pf, unsigned b)
{
    return dev_vf_bar_size(v->m->prof->vf_bar[b].size, le32_get(pf + v->m->sriov + PCI_SRIOV_SYS_PGSIZE));
}

static void
print_vf_bars(const struct lspci_view *v, const uint8_t *pf, FILE *out)
{
    const struct pv_profile *p = v->m->prof;
    uint32_t sys = le32_get(pf + v->m->sriov + PCI_SRIOV_SYS_PGSIZE);

    for (unsigned b = 0; b < 6; b++) {
        uint64_t per = vf_bar_per_vf(v, pf, b), base = vf_bar_base(v, pf, b);

        if (p->vf_bar[b].size == 0) {
            continue;
        }
        fprintf(out, "\tVF BAR%u: %s-bit, %sprefetchable, %llu KiB per VF at System Page Size 0x%x%s", b,
                p->vf_bar[b].is64 ? "64" : "32", p->vf_bar[b].prefetch ? "" : "non-", (unsigned long long)(per >> 10),
                sys, p->pf_image_len != 0 ? " (size assumed: dumps hold no sizes)" : "");
        if (base != 0) {
            fprintf(out, ", at 0x%llx (VF i at 0x%llx + i x 0x%llx)\n", (unsigned long long)base,
                    (unsigned long long)base, (unsigned long long)per);
        } else {
            fputs(", not assigned\n", out);
        }
    }
}

/* lspci's [size=16K] spelling. */
static void
size_text(uint64_t size, char *buf, size_t n)
{
    static const char units[] = "KMGT";
    unsigned u = 0;

    size >>= 10;
    while (u + 1 < sizeof(units) - 1 && size >= 1024 && (size & 1023) == 0) {
        size >>= 10;
        u++;
    }
    snprintf(buf, n, "%llu%c", (unsigned long long)size, units[u]);
}

/*
 * A VF's BARs read 0 in its own config space (PCIe 9.3.4.1.11); lspci on a live
 * host shows them from the kernel's resources: the PF's VF BAR base plus the
 * VF's index times the per-VF size.  Shown only once the PF's VF BARs have
 * addresses (a scenario's device, or a dump that captured them).
 */
static void
print_vf_regions(const struct lspci_view *v, size_t i, const uint8_t *pf, FILE *out)
{
    const struct pv_profile *p = v->m->prof;

    for (unsigned b = 0; b < 6; b++) {
        uint64_t per = vf_bar_per_vf(v, pf, b), base = vf_bar_base(v, pf, b);
        char size[24];

        if (p->vf_bar[b].size == 0 || base == 0 ||
            !(le16_get(pf + v->m->sriov + PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_MSE)) {
            continue;
        }
        size_text(per, size, sizeof(size));
        fprintf(out, "\tRegion %u: Memory at %llx (%s-bit, %sprefetchable) [size=%s]\n", b,
                (unsigned long long)(base + (uint64_t)v->m->fn[i].vf_index * per), p->vf_bar[b].is64 ? "64" : "32",
                p->vf_bar[b].prefetch ? "" : "non-", size);
    }
}

static void
print_pf_details(const struct lspci_view *v, const uint8_t *pf, FILE *out)
{
    const struct lspci_model *m = v->m;
    const uint8_t *s = pf + m->sriov;
    uint16_t ctrl = le16_get(s + PCI_SRIOV_CTRL);
    char first[24], last[24], sum[64];

    fprintf(out, "\tSource: %s", m->prof->name);
    if (m->source_line != 0) {
        fprintf(out, " (line %u)", m->source_line);
    }
    fprintf(out,
            "\n\tSR-IOV: [%x] TotalVFs %u, InitialVFs %u, NumVFs %u, VF Enable%c, VF MSE%c, "
            "ARI Capable Hierarchy%c\n",
            m->sriov, le16_get(s + PCI_SRIOV_TOTAL_VF), le16_get(s + PCI_SRIOV_INITIAL_VF),
            le16_get(s + PCI_SRIOV_NUM_VF), ctrl & PCI_SRIOV_CTRL_VFE ? '+' : '-',
            ctrl & PCI_SRIOV_CTRL_MSE ? '+' : '-', ctrl & PCI_SRIOV_CTRL_ARI ? '+' : '-');
    fprintf(out, "\tVF geometry: First VF Offset %u, VF Stride %u, VF Device ID %04x, bus range [%02x-%02x]\n",
            m->geo.offset, m->geo.stride, le16_get(s + PCI_SRIOV_VF_DID), m->geo.secondary_bus, m->geo.subordinate_bus);
    if (m->count > 1) {
        lspci_format_bdf(m, m->fn[1].rid, first, sizeof(first));
        lspci_format_bdf(m, m->fn[m->count - 1].rid, last, sizeof(last));
        rid_sum(m, (uint32_t)(m->count - 2), sum, sizeof(sum));
        fprintf(out, "\tVFs: index 0 at %s .. index %zu at %s (routing ID = %s)\n", first, m->count - 2, last, sum);
    }
    print_vf_bars(v, pf, out);
}

static void
print_vf_details(const struct lspci_view *v, size_t i, const uint8_t *pf_cfg, FILE *out)
{
    const struct lspci_model *m = v->m;
    char pf[24], sum[64];

    lspci_format_bdf(m, m->fn[0].rid, pf, sizeof(pf));
    rid_sum(m, m->fn[i].vf_index, sum, sizeof(sum));
    fprintf(out, "\tVirtual function: index %u of PF %s, routing ID 0x%04x = %s\n", m->fn[i].vf_index, pf, m->fn[i].rid,
            sum);
    fprintf(out, "\tIdentity: config reads Vendor/Device ffff:ffff (VF rule); named from the PF's vendor and "
                 "VF Device ID, as Linux reports VFs\n");
    print_vf_regions(v, i, pf_cfg, out);
}

/* Function @i of @v: its line, -v details, -x dump. */
static int
print_function(const struct lspci_view *v, size_t i, FILE *out)
{
    uint8_t pf[PCI_CFG_SIZE_EXT], cfg[PCI_CFG_SIZE_EXT];

    if (lspci_model_config(v->m, i, cfg, sizeof(cfg)) != 0 ||
        (v->o->verbose && lspci_model_config(v->m, 0, pf, sizeof(pf)) != 0)) {
        return -1;
    }
    print_header(v, i, cfg, out);
    if (v->o->verbose) {
        if (v->m->fn[i].is_vf) {
            print_vf_details(v, i, pf, out);
        } else {
            print_pf_details(v, pf, out);
        }
        if (v->m->fn[i].holder != NULL) {
            fprintf(out, "\tHeld by: VM %s\n", v->m->fn[i].holder);
        }
    }
    if (v->o->hex != 0) {
        print_hex(out, cfg, v->o->hex);
    }
    if (v->o->verbose || v->o->hex != 0) {
        fputc('\n', out);
    }
    return 0;
}

/* Every function of @n views, in (segment, routing ID) order: lspci sorts its listing so. */
struct entry {
    const struct lspci_view *v;
    size_t i;
    uint32_t key; /* segment << 16 | routing ID */
};

static int
entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    return x->key < y->key ? -1 : x->key > y->key;
}

static struct entry *
sorted_entries(const struct lspci_view *v, size_t n, size_t *count)
{
    size_t total = 0, k = 0;
    struct entry *e;

    for (size_t d = 0; d < n; d++) {
        total += v[d].m->count;
    }
    e = pv_calloc(total != 0 ? total : 1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    for (size_t d = 0; d < n; d++) {
        for (size_t i = 0; i < v[d].m->count; i++) {
            e[k++] = (struct entry){&v[d], i, (uint32_t)v[d].m->prof->segment << 16 | v[d].m->fn[i].rid};
        }
    }
    qsort(e, total, sizeof(*e), entry_cmp); /* one device: already in order, and stays so */
    *count = total;
    return e;
}

int
lspci_print_list_n(const struct lspci_view *v, size_t n, FILE *out)
{
    size_t count = 0;
    struct entry *e = sorted_entries(v, n, &count);
    int rc = e != NULL ? 0 : -1;

    for (size_t k = 0; rc == 0 && k < count; k++) {
        rc = print_function(e[k].v, e[k].i, out);
    }
    pv_free(e);
    return rc != 0 || ferror(out) ? -1 : 0;
}

int
lspci_print_list(const struct lspci_view *v, FILE *out)
{
    return lspci_print_list_n(v, 1, out);
}

/* ---- tree ---------------------------------------------------------------------- */

/*
 * lspci -t without bridges: the host bridge holds bus 0000:00 and then every bus
 * that has functions but no bridge above it, each "[dddd:bb]-" followed by its
 * functions ("--" for one, "+-" / "\-" for several).  With one bus in all the
 * list collapses to "-[0000:00]-".  Several devices merge into one list of
 * buses, as lspci merges the bridge-less buses of one dump.
 */
static void
tree_label(const struct lspci_view *v, size_t i, FILE *out)
{
    const struct lspci_ident *id = lspci_view_ident(v, i);
    uint16_t rid = v->m->fn[i].rid;
    char name[2 * LSPCI_NAME_MAX + 16];

    fprintf(out, "%02x.%x", (rid >> 3) & 0x1f, rid & 7);
    if (v->o->verbose && v->o->numeric == 1) {
        fprintf(out, "  %04x:%04x", id->vendor, id->device);
    } else if (v->o->verbose && v->o->numeric == 2) {
        lspci_name_device_nn(id, name, sizeof(name));
        fprintf(out, "  %s", name);
    } else if (v->o->verbose) {
        lspci_name_device(id, name, sizeof(name));
        fprintf(out, "  %s", name);
    }
    if (v->m->fn[i].holder != NULL) {
        fprintf(out, "  [VM %s]", v->m->fn[i].holder);
    }
    fputc('\n', out);
}

/* The entries [@a, @b) of one bus, continuation lines indented by @prefix. */
static void
tree_bus(const struct entry *e, size_t a, size_t b, const char *prefix, FILE *out)
{
    if (a == b) {
        fputc('\n', out);
        return;
    }
    if (b - a == 1) {
        fputs("--", out);
        tree_label(e[a].v, e[a].i, out);
        return;
    }
    for (size_t i = a; i < b; i++) {
        if (i != a) {
            fputs(prefix, out);
        }
        fputs(i == a ? "+-" : i + 1 == b ? "\\-" : "+-", out);
        tree_label(e[i].v, e[i].i, out);
    }
}

/* Where each bus starts in @e (bus 0000:00 first, maybe empty); returns the number of buses. */
static size_t
tree_buses(const struct entry *e, size_t count, size_t *start)
{
    size_t nbus = 0;

    start[nbus++] = 0;
    if (count == 0 || (e[0].key >> 8) != 0) {
        start[nbus++] = 0;
    }
    for (size_t i = 1; i < count; i++) {
        if ((e[i].key >> 8) != (e[i - 1].key >> 8)) {
            start[nbus++] = i;
        }
    }
    start[nbus] = count;
    return nbus;
}

int
lspci_print_tree_n(const struct lspci_view *v, size_t n, FILE *out)
{
    size_t count = 0, nbus;
    struct entry *e = sorted_entries(v, n, &count);
    size_t *start = pv_calloc(count + 3, sizeof(*start));
    char prefix[16];

    if (e == NULL || start == NULL) {
        pv_free(e);
        pv_free(start);
        return -1;
    }
    nbus = tree_buses(e, count, start);
    if (nbus == 1) {
        fputs("-[0000:00]-", out);
        tree_bus(e, 0, count, "           ", out);
    }
    for (size_t k = 0; nbus > 1 && k < nbus; k++) {
        bool last = k + 1 == nbus;
        uint32_t key = k == 0 ? 0 : e[start[k]].key >> 8;

        fputs(k == 0 ? "-+-" : last ? " \\-" : " +-", out);
        fprintf(out, "[%04x:%02x]-", key >> 8, key & 0xff);
        snprintf(prefix, sizeof(prefix), "%s           ", last ? "  " : " |");
        tree_bus(e, start[k], start[k + 1], prefix, out);
    }
    pv_free(e);
    pv_free(start);
    return ferror(out) ? -1 : 0;
}

int
lspci_print_tree(const struct lspci_view *v, FILE *out)
{
    return lspci_print_tree_n(v, 1, out);
}
