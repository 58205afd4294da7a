/*
 * tools/lspci_print.c - the lspci-shaped forms: listing, -n, -v, -x dumps, -t tree.
 *
 * The listing and the tree follow lspci 3.9.0's layout exactly (tests compare
 * them with the real lspci on our own dumps); the -v lines are ours, in lspci's
 * tab-indented style, because lspci has no words for "VF 5 of that PF".
 */
#include "lspci_print.h"

#include <string.h>

#include "pci/regs.h"
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

static void
print_vf_bars(const struct lspci_view *v, const uint8_t *pf, FILE *out)
{
    const struct pv_profile *p = v->m->prof;
    uint32_t sys = le32_get(pf + v->m->sriov + PCI_SRIOV_SYS_PGSIZE);

    for (unsigned b = 0; b < 6; b++) {
        uint64_t per = dev_vf_bar_size(p->vf_bar[b].size, sys);

        if (p->vf_bar[b].size == 0) {
            continue;
        }
        fprintf(out, "\tVF BAR%u: %s-bit, %sprefetchable, %llu KiB per VF at System Page Size 0x%x%s\n", b,
                p->vf_bar[b].is64 ? "64" : "32", p->vf_bar[b].prefetch ? "" : "non-", (unsigned long long)(per >> 10),
                sys, p->pf_image_len != 0 ? " (size assumed: dumps hold no sizes)" : "");
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
print_vf_details(const struct lspci_view *v, size_t i, FILE *out)
{
    const struct lspci_model *m = v->m;
    char pf[24], sum[64];

    lspci_format_bdf(m, m->fn[0].rid, pf, sizeof(pf));
    rid_sum(m, m->fn[i].vf_index, sum, sizeof(sum));
    fprintf(out, "\tVirtual function: index %u of PF %s, routing ID 0x%04x = %s\n", m->fn[i].vf_index, pf, m->fn[i].rid,
            sum);
    fprintf(out, "\tIdentity: config reads Vendor/Device ffff:ffff (VF rule); named from the PF's vendor and "
                 "VF Device ID, as Linux reports VFs\n");
}

int
lspci_print_list(const struct lspci_view *v, FILE *out)
{
    uint8_t pf[PCI_CFG_SIZE_EXT], cfg[PCI_CFG_SIZE_EXT];

    if (lspci_model_config(v->m, 0, pf, sizeof(pf)) != 0) {
        return -1;
    }
    for (size_t i = 0; i < v->m->count; i++) {
        if (lspci_model_config(v->m, i, cfg, sizeof(cfg)) != 0) {
            return -1;
        }
        print_header(v, i, cfg, out);
        if (v->o->verbose) {
            if (v->m->fn[i].is_vf) {
                print_vf_details(v, i, out);
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
    }
    return ferror(out) ? -1 : 0;
}

/* ---- tree ---------------------------------------------------------------------- */

/*
 * lspci -t without bridges: the host bridge holds bus 0000:00 and then every bus
 * that has functions but no bridge above it, each "[dddd:bb]-" followed by its
 * functions ("--" for one, "+-" / "\-" for several).  With one bus in all the
 * list collapses to "-[0000:00]-".
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

/* The functions [@a, @b) of one bus, continuation lines indented by @prefix. */
static void
tree_bus(const struct lspci_view *v, size_t a, size_t b, const char *prefix, FILE *out)
{
    if (a == b) {
        fputc('\n', out);
        return;
    }
    if (b - a == 1) {
        fputs("--", out);
        tree_label(v, a, out);
        return;
    }
    for (size_t i = a; i < b; i++) {
        if (i != a) {
            fputs(prefix, out);
        }
        fputs(i == a ? "+-" : i + 1 == b ? "\\-" : "+-", out);
        tree_label(v, i, out);
    }
}

int
lspci_print_tree(const struct lspci_view *v, FILE *out)
{
    const struct lspci_model *m = v->m;
    unsigned seg = m->prof->segment, nbus = 0;
    size_t start[260];
    char prefix[16];

    /* Bus 0000:00 comes first (maybe empty); then each further bus, in order. */
    start[nbus++] = 0;
    if (!(seg == 0 && (m->fn[0].rid >> 8) == 0)) {
        start[nbus++] = 0;
    }
    for (size_t i = 1; i < m->count; i++) {
        if ((m->fn[i].rid >> 8) != (m->fn[i - 1].rid >> 8)) {
            start[nbus++] = i;
        }
    }
    start[nbus] = m->count;
    if (nbus == 1) {
        fputs("-[0000:00]-", out);
        tree_bus(v, 0, m->count, "           ", out);
        return ferror(out) ? -1 : 0;
    }
    for (unsigned k = 0; k < nbus; k++) {
        bool last = k + 1 == nbus;
        size_t a = start[k], b = start[k + 1];
        unsigned bus = k == 0 ? 0 : m->fn[a].rid >> 8;

        fputs(k == 0 ? "-+-" : last ? " \\-" : " +-", out);
        fprintf(out, "[%04x:%02x]-", k == 0 ? 0 : seg, bus);
        snprintf(prefix, sizeof(prefix), "%s           ", last ? "  " : " |");
        tree_bus(v, a, b, prefix, out);
    }
    return ferror(out) ? -1 : 0;
}
