/*
 * tools/lspci_export.c - the machine forms of `pcivirt lspci`: Graphviz and JSON.
 *
 * --dot draws one cluster per bus so the picture shows the same bus split as the
 * routing IDs; PF -> VF edges carry the VF index.  A VF with a holder gets an
 * edge to its VM's node; without the stack there are no VM nodes at all (nothing
 * is invented).  A scenario's devices share one graph, so a VM holding VFs of
 * several devices is one node.  --json carries the device, its SR-IOV registers as read back and
 * every function; with -x it adds each function's config bytes as hex.
 */
#include "lspci_print.h"

#include <jansson.h>
#include <string.h>

#include "pci/regs.h"
#include "util/le.h"

/* A Graphviz double-quoted string: quotes and backslashes escaped, newlines as \n. */
static void
dot_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", out);
            continue;
        }
        if (*s == '"' || *s == '\\') {
            fputc('\\', out);
        }
        fputc(*s, out);
    }
    fputc('"', out);
}

static void
dot_node(const struct lspci_view *v, size_t i, FILE *out)
{
    const struct lspci_model *m = v->m;
    const struct lspci_ident *id = lspci_view_ident(v, i);
    char bdf[24], label[3 * LSPCI_NAME_MAX], name[2 * LSPCI_NAME_MAX + 16];

    lspci_format_bdf(m, m->fn[i].rid, bdf, sizeof(bdf));
    lspci_name_device(id, name, sizeof(name));
    if (m->fn[i].is_vf) {
        snprintf(label, sizeof(label), "%s\nVF %u (%04x:%04x)", bdf, m->fn[i].vf_index, id->vendor, id->device);
    } else {
        snprintf(label, sizeof(label), "%s PF\n%s\n%04x:%04x, %zu of %u VFs", bdf, name, id->vendor, id->device,
                 m->count - 1, (unsigned)m->prof->total_vfs);
    }
    fputs("        ", out);
    dot_str(out, bdf);
    fputs(" [label=", out);
    dot_str(out, label);
    fputs(m->fn[i].is_vf ? "];\n" : ", style=bold];\n", out);
}

/* One device's clusters (one per bus, @d tells devices apart) and edges; its holders become VM nodes. */
static void
dot_device(const struct lspci_view *v, size_t d, FILE *out)
{
    const struct lspci_model *m = v->m;
    char pf[24], bdf[24];

    lspci_format_bdf(m, m->fn[0].rid, pf, sizeof(pf));
    for (size_t i = 0; i < m->count; i++) {
        if (i == 0 || (m->fn[i].rid >> 8) != (m->fn[i - 1].rid >> 8)) {
            fprintf(out, "%s    subgraph \"cluster_%zu_bus_%02x\" {\n        label=\"bus %04x:%02x\";\n",
                    i ? "    }\n" : "", d, m->fn[i].rid >> 8, m->prof->segment, m->fn[i].rid >> 8);
        }
        dot_node(v, i, out);
    }
    fputs("    }\n", out);
    for (size_t i = 1; i < m->count; i++) {
        lspci_format_bdf(m, m->fn[i].rid, bdf, sizeof(bdf));
        fputs("    ", out);
        dot_str(out, pf);
        fputs(" -> ", out);
        dot_str(out, bdf);
        fprintf(out, " [label=\"%u\"];\n", m->fn[i].vf_index);
        if (m->fn[i].holder != NULL) {
            fputs("    ", out);
            dot_str(out, bdf);
            fputs(" -> ", out);
            fprintf(out, "\"vm:%s\";\n", m->fn[i].holder); /* VM names are [A-Za-z0-9_.-] (scenario.h) */
        }
    }
}

int
lspci_print_dot_n(const struct lspci_view *v, size_t n, FILE *out)
{
    fprintf(out, "digraph pcivirt {\n    rankdir=LR;\n    node [shape=box, fontname=\"monospace\"];\n");
    for (size_t d = 0; d < n; d++) {
        dot_device(&v[d], d, out);
    }
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}

int
lspci_print_dot(const struct lspci_view *v, FILE *out)
{
    return lspci_print_dot_n(v, 1, out);
}

/* ---- JSON ---------------------------------------------------------------------- */

static json_t *
json_hex(const uint8_t *b, unsigned len)
{
    static const char digits[] = "0123456789abcdef";
    char text[2 * PCI_CFG_SIZE_EXT + 1];

    for (unsigned i = 0; i < len; i++) {
        text[2 * i] = digits[b[i] >> 4];
        text[2 * i + 1] = digits[b[i] & 15];
    }
    text[2 * len] = '\0';
    return json_string(text);
}

static json_t *
json_names(const struct lspci_view *v, const struct lspci_ident *id)
{
    char cls[LSPCI_NAME_MAX + 16], name[2 * LSPCI_NAME_MAX + 16];

    if (!v->have_ids) {
        return json_null();
    }
    lspci_name_class(id, cls, sizeof(cls));
    lspci_name_device(id, name, sizeof(name));
    return json_pack("{s:s, s:s}", "class", cls, "device", name);
}

static json_t *
json_function(const struct lspci_view *v, size_t i)
{
    const struct lspci_fn *f = &v->m->fn[i];
    const struct lspci_ident *id = lspci_view_ident(v, i);
    uint8_t cfg[PCI_CFG_SIZE_EXT];
    char bdf[24], vendor[8], device[8], cls[8];
    json_t *o;

    lspci_format_bdf(v->m, f->rid, bdf, sizeof(bdf));
    snprintf(vendor, sizeof(vendor), "%04x", id->vendor);
    snprintf(device, sizeof(device), "%04x", id->device);
    snprintf(cls, sizeof(cls), "%06x", id->class_code);
    o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:o}", "bdf", bdf, "rid", f->rid, "kind", f->is_vf ? "vf" : "pf",
                  "vendor", vendor, "device", device, "class", cls, "names", json_names(v, id));
    if (o != NULL && f->is_vf) {
        json_object_set_new(o, "vf_index", json_integer(f->vf_index));
    }
    if (o != NULL && f->holder != NULL) {
        json_object_set_new(o, "held_by", json_string(f->holder));
    }
    if (o != NULL && v->o->hex != 0 && lspci_model_config(v->m, i, cfg, sizeof(cfg)) == 0) {
        json_object_set_new(o, "config", json_hex(cfg, v->o->hex));
    }
    return o;
}

static json_t *
json_sriov(const struct lspci_model *m)
{
    uint8_t pf[PCI_CFG_SIZE_EXT];
    const uint8_t *s = pf + m->sriov;
    char vf_did[8];
    uint16_t ctrl;

    if (lspci_model_config(m, 0, pf, sizeof(pf)) != 0) {
        return NULL;
    }
    ctrl = le16_get(s + PCI_SRIOV_CTRL);
    snprintf(vf_did, sizeof(vf_did), "%04x", le16_get(s + PCI_SRIOV_VF_DID));
    return json_pack(
        "{s:i, s:i, s:i, s:i, s:b, s:b, s:b, s:i, s:i, s:s, s:i, s:i, s:[i, i]}", "cap_offset", m->sriov, "total_vfs",
        le16_get(s + PCI_SRIOV_TOTAL_VF), "initial_vfs", le16_get(s + PCI_SRIOV_INITIAL_VF), "num_vfs",
        le16_get(s + PCI_SRIOV_NUM_VF), "vf_enable", (ctrl & PCI_SRIOV_CTRL_VFE) != 0, "vf_mse",
        (ctrl & PCI_SRIOV_CTRL_MSE) != 0, "ari_capable_hierarchy", (ctrl & PCI_SRIOV_CTRL_ARI) != 0, "first_vf_offset",
        le16_get(s + PCI_SRIOV_VF_OFFSET), "vf_stride", le16_get(s + PCI_SRIOV_VF_STRIDE), "vf_device_id", vf_did,
        "supported_page_sizes", (int)le32_get(s + PCI_SRIOV_SUP_PGSIZE), "system_page_size",
        (int)le32_get(s + PCI_SRIOV_SYS_PGSIZE), "bus_range", m->geo.secondary_bus, m->geo.subordinate_bus);
}

int
lspci_print_json(const struct lspci_view *v, FILE *out)
{
    const struct lspci_model *m = v->m;
    json_t *funcs = json_array(), *warn = json_array(), *root;
    unsigned nwarn =
        m->prof->warning_count < PV_PROFILE_MAX_WARNINGS ? m->prof->warning_count : PV_PROFILE_MAX_WARNINGS;
    int rc;

    for (size_t i = 0; funcs != NULL && i < m->count; i++) {
        json_array_append_new(funcs, json_function(v, i));
    }
    for (unsigned i = 0; warn != NULL && i < nwarn; i++) {
        json_array_append_new(warn, json_string(m->prof->warnings[i]));
    }
    root = json_pack("{s:s, s:i, s:i, s:o*, s:o, s:o}", "source", m->prof->name, "source_line", m->source_line,
                     "segment", m->prof->segment, "sriov", json_sriov(m), "functions", funcs, "warnings", warn);
    if (root == NULL) {
        return -1;
    }
    rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(root);
    return rc != 0 || ferror(out) ? -1 : 0;
}
