/*
 * tools/lspci_model.c - build and enable one software SR-IOV device for `pcivirt lspci`.
 *
 * Input errors (exit 2) are found before the device is built, with messages that
 * name the file, the function and the register; the device's own refusal to
 * enable (exit 1) is passed through with its arithmetic.  See lspci_model.h.
 */
#include "lspci_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pci/caps.h"
#include "pci/dump.h"
#include "pci/regs.h"
#include "util/alloc.h"

const char *const lspci_builtin_names[] = {"82599", "wide", NULL};

static int fail(struct pcivirt_error *err, int exit_code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(struct pcivirt_error *err, int exit_code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return exit_code;
}

static int
load_builtin(const char *name, struct pv_profile *p, struct pcivirt_error *err)
{
    if (strcmp(name, "82599") == 0 || strcmp(name, "default") == 0) {
        pv_profile_default(p);
    } else if (strcmp(name, "wide") == 0) {
        pv_profile_wide(p);
    } else {
        return fail(err, CLI_EXIT_USAGE,
                    "builtin:%s: no such built-in profile (known: builtin:82599, also called "
                    "builtin:default, and builtin:wide)",
                    name);
    }
    return CLI_EXIT_OK;
}

/* Parse "[DDDD:]BB:DD.F"; @domain -1 when not given. */
static bool
parse_bdf(const char *s, long *domain, unsigned *bus, unsigned *dev, unsigned *fn)
{
    unsigned d = 0, b = 0, v = 0, f = 0;
    char tail;

    if (sscanf(s, "%x:%x:%x.%u%c", &d, &b, &v, &f, &tail) == 4 && d <= 0xffff) {
        *domain = (long)d;
    } else if (sscanf(s, "%x:%x.%u%c", &b, &v, &f, &tail) == 3) {
        *domain = -1;
    } else {
        return false;
    }
    *bus = b;
    *dev = v;
    *fn = f;
    return b <= 0xff && v <= 0x1f && f <= 7;
}

static bool
has_sriov(const struct pci_dump_func *f)
{
    int off = pci_ecap_find(f->bytes, f->len, PCI_ECAP_ID_SRIOV, 0, NULL);

    return off > 0 && (uint32_t)off + PCI_SRIOV_SIZEOF <= f->len;
}

static void
func_name(const struct pci_dump_func *f, char *buf, size_t size)
{
    snprintf(buf, size, "%02x:%02x.%x (line %u)", f->addr.bus, f->addr.dev, f->addr.fn, f->line);
}

/* The dump function given by --function. */
static int
pick_given(const struct pci_dump *d, const char *path, const char *want, int *index, struct pcivirt_error *err)
{
    unsigned bus, dev, fn;
    long domain;
    char name[64];

    if (!parse_bdf(want, &domain, &bus, &dev, &fn)) {
        return fail(err, CLI_EXIT_USAGE, "--function %s: not a PCI address ([DDDD:]BB:DD.F)", want);
    }
    for (size_t i = 0; i < d->count; i++) {
        const struct pci_dump_func *f = d->funcs[i];

        if (f->addr.bus != bus || f->addr.dev != dev || f->addr.fn != fn ||
            (domain >= 0 && f->addr.domain != (uint32_t)domain)) {
            continue;
        }
        if (!has_sriov(f)) {
            func_name(f, name, sizeof(name));
            return fail(err, CLI_EXIT_USAGE, "%s: function %s has no complete SR-IOV extended capability (0x0010)",
                        path, name);
        }
        *index = (int)i;
        return CLI_EXIT_OK;
    }
    return fail(err, CLI_EXIT_USAGE, "%s: --function %s: no such function in the dump", path, want);
}

/* Exactly one function with SR-IOV, or an error listing what there is. */
static int
pick_only(const struct pci_dump *d, const char *path, int *index, struct pcivirt_error *err)
{
    char list[512] = "", name[64];
    size_t found = 0, used = 0;

    for (size_t i = 0; i < d->count; i++) {
        if (has_sriov(d->funcs[i])) {
            func_name(d->funcs[i], name, sizeof(name));
            used += (size_t)snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0, "%s%s",
                                     found ? ", " : "", name);
            used = used < sizeof(list) ? used : sizeof(list) - 1;
            *index = (int)i;
            found++;
        }
    }
    if (found == 1) {
        return CLI_EXIT_OK;
    }
    if (found == 0) {
        return fail(err, CLI_EXIT_USAGE,
                    "%s: none of its %zu function(s) has a complete SR-IOV extended capability "
                    "(0x0010): nothing to enable",
                    path, d->count);
    }
    return fail(err, CLI_EXIT_USAGE, "%s: %zu functions have an SR-IOV capability: %s; choose one with --function BDF",
                path, found, list);
}

static int
load_dump(const struct lspci_spec *spec, struct pv_profile *p, unsigned *line, struct pcivirt_error *err)
{
    struct pci_dump *d = NULL;
    int index = -1, rc;

    if (pci_dump_load(spec->device, &d, err) != 0) {
        return CLI_EXIT_USAGE; /* the message names the file and the line */
    }
    rc = spec->function != NULL ? pick_given(d, spec->device, spec->function, &index, err)
                                : pick_only(d, spec->device, &index, err);
    if (rc == CLI_EXIT_OK && pv_profile_from_dump(p, d, index, spec->device, err) != 0) {
        rc = CLI_EXIT_USAGE; /* names the SR-IOV field */
    }
    if (rc == CLI_EXIT_OK) {
        *line = d->funcs[index]->line;
    }
    pci_dump_destroy(d);
    return rc;
}

static void
pf_bdf(const struct pv_profile *p, char *buf, size_t size)
{
    if (p->segment != 0) {
        snprintf(buf, size, "%04x:%02x:%02x.%x", p->segment, p->pf_rid >> 8, (p->pf_rid >> 3) & 0x1f, p->pf_rid & 7);
    } else {
        snprintf(buf, size, "%02x:%02x.%x", p->pf_rid >> 8, (p->pf_rid >> 3) & 0x1f, p->pf_rid & 7);
    }
}

/* --ari: the PF below a port that forwards ARI (Linux sets ARI Capable Hierarchy then). */
static int
apply_ari(const struct lspci_spec *spec, struct pv_profile *p, struct pcivirt_error *err)
{
    char bdf[24];
    bool was;

    if (spec->ari < 0) {
        return CLI_EXIT_OK;
    }
    pf_bdf(p, bdf, sizeof(bdf));
    if (spec->ari == 1 && !p->has_ari) {
        return fail(err, CLI_EXIT_USAGE,
                    "--ari on: %s: PF %s has no ARI extended capability (0x000e), so no port "
                    "enables ARI forwarding for it and ARI Capable Hierarchy stays 0 (PCIe 6.13, 9.3.3.3.5)",
                    p->name, bdf);
    }
    was = p->pf_image_len != 0 ? (p->captured_ctrl & PCI_SRIOV_CTRL_ARI) != 0 : p->ari_forwarding;
    p->ari_forwarding = spec->ari == 1;
    if (p->pf_image_len != 0) {
        p->captured_ctrl = (uint16_t)((p->captured_ctrl & ~PCI_SRIOV_CTRL_ARI) | (spec->ari ? PCI_SRIOV_CTRL_ARI : 0));
        if (was != (spec->ari == 1)) {
            pv_profile_warn(p,
                            "%s: the dump records First VF Offset %u and VF Stride %u with ARI Capable Hierarchy "
                            "%s only; the same values are used with it %s",
                            p->name, p->offset_ari, p->stride_ari, was ? "on" : "off", spec->ari ? "on" : "off");
        }
    }
    return CLI_EXIT_OK;
}

static int
apply_bus_range(const struct lspci_spec *spec, struct pv_profile *p, struct pcivirt_error *err)
{
    if (!spec->has_bus_range) {
        return CLI_EXIT_OK;
    }
    if (spec->bus_first != (p->pf_rid >> 8) || spec->bus_last < spec->bus_first) {
        return fail(err, CLI_EXIT_USAGE,
                    "--bus-range %02x-%02x: %s: the range must start at the PF's bus %02x and "
                    "not end before it",
                    spec->bus_first, spec->bus_last, p->name, p->pf_rid >> 8);
    }
    p->bus_range_set = true;
    p->secondary_bus = spec->bus_first;
    p->subordinate_bus = spec->bus_last;
    return CLI_EXIT_OK;
}

static int
build_profile(const struct lspci_spec *spec, struct pv_profile *p, unsigned *line, struct pcivirt_error *err)
{
    size_t plen = strlen(LSPCI_BUILTIN_PREFIX);
    int rc;

    *line = 0;
    if (strncmp(spec->device, LSPCI_BUILTIN_PREFIX, plen) == 0) {
        if (spec->function != NULL) {
            return fail(err, CLI_EXIT_USAGE, "--function applies to dump files; %s has one PF", spec->device);
        }
        rc = load_builtin(spec->device + plen, p, err);
    } else {
        rc = load_dump(spec, p, line, err);
    }
    rc = rc != CLI_EXIT_OK ? rc : apply_ari(spec, p, err);
    rc = rc != CLI_EXIT_OK ? rc : apply_bus_range(spec, p, err);
    if (rc == CLI_EXIT_OK && spec->num_vfs > (long)p->total_vfs) {
        char bdf[24];

        pf_bdf(p, bdf, sizeof(bdf));
        rc = fail(err, CLI_EXIT_USAGE, "--numvfs %ld: %s: PF %s offers TotalVFs %u (SR-IOV TotalVFs register)",
                  spec->num_vfs, p->name, bdf, (unsigned)p->total_vfs);
    }
    return rc;
}

/* VF Enable through the device; a refusal keeps the device's explanation. */
static int
enable(struct lspci_model *m, uint16_t n, struct pcivirt_error *err)
{
    struct pcivirt_error e;
    char bdf[24];
    int rc;

    if (n == 0) {
        return CLI_EXIT_OK;
    }
    pcivirt_error_clear(&e);
    rc = pv_sriov_enable(m->dev, n, &e);
    if (rc == 0) {
        return CLI_EXIT_OK;
    }
    pf_bdf(m->prof, bdf, sizeof(bdf));
    *err = e;
    snprintf(err->where, sizeof(err->where), "%s", m->prof->name);
    return fail(err, CLI_EXIT_FAILED, "%s: PF %s: %s", m->prof->name, bdf, e.message);
}

static int
list_functions(struct lspci_model *m)
{
    size_t n = 1 + (size_t)(pv_sriov_vf_enabled(m->dev) ? m->geo.num_vfs : 0);
    uint8_t cfg[PCI_CFG_SIZE_EXT];
    int off;

    m->fn = pv_calloc(n, sizeof(*m->fn));
    if (m->fn == NULL) {
        return PCIVIRT_ENOMEM;
    }
    m->count = n;
    m->fn[0].rid = pv_sriov_pf_rid(m->dev);
    for (size_t i = 1; i < n; i++) {
        m->fn[i].is_vf = true;
        m->fn[i].vf_index = (uint32_t)(i - 1);
        if (pv_sriov_vf_rid(m->dev, (uint32_t)(i - 1), &m->fn[i].rid) != 0) {
            return PCIVIRT_ESTATE;
        }
    }
    if (lspci_model_config(m, 0, cfg, sizeof(cfg)) != 0) {
        return PCIVIRT_EIO;
    }
    off = pci_ecap_find(cfg, sizeof(cfg), PCI_ECAP_ID_SRIOV, 0, NULL);
    m->sriov = off > 0 ? (uint16_t)off : 0;
    return off > 0 ? 0 : PCIVIRT_ENOENT;
}

int
lspci_model_open(const struct lspci_spec *spec, struct lspci_model **out, struct pcivirt_error *err)
{
    struct lspci_model *m = pv_calloc(1, sizeof(*m));
    int rc;

    *out = NULL;
    pcivirt_error_clear(err);
    if (m == NULL || (m->prof = pv_calloc(1, sizeof(*m->prof))) == NULL) {
        lspci_model_close(m);
        return fail(err, CLI_EXIT_FAILED, "out of memory");
    }
    rc = build_profile(spec, m->prof, &m->source_line, err);
    if (rc == CLI_EXIT_OK && pv_sriov_create(m->prof, &m->dev, err) != 0) {
        rc = CLI_EXIT_USAGE; /* the profile names the inconsistent field */
    }
    if (rc == CLI_EXIT_OK) {
        rc = enable(m, (uint16_t)(spec->num_vfs < 0 ? m->prof->total_vfs : spec->num_vfs), err);
    }
    if (rc == CLI_EXIT_OK) {
        pv_sriov_geometry(m->dev, &m->geo);
        if (list_functions(m) != 0) {
            rc = fail(err, CLI_EXIT_FAILED, "%s: cannot list the enabled functions", m->prof->name);
        }
    }
    if (rc != CLI_EXIT_OK) {
        lspci_model_close(m);
        return rc;
    }
    *out = m;
    return CLI_EXIT_OK;
}

int
lspci_model_profile(const struct lspci_spec *spec, struct pv_profile *p, unsigned *line, struct pcivirt_error *err)
{
    pcivirt_error_clear(err);
    return build_profile(spec, p, line, err);
}

int
lspci_model_wrap(struct pv_sriov_dev *dev, const struct pv_profile *prof, struct lspci_model **out)
{
    struct lspci_model *m = pv_calloc(1, sizeof(*m));

    *out = NULL;
    if (m == NULL || (m->prof = pv_calloc(1, sizeof(*m->prof))) == NULL) {
        lspci_model_close(m);
        return PCIVIRT_ENOMEM;
    }
    *m->prof = *prof;
    m->dev = dev;
    m->borrowed = true;
    pv_sriov_geometry(dev, &m->geo);
    if (list_functions(m) != 0) {
        lspci_model_close(m);
        return PCIVIRT_EIO;
    }
    *out = m;
    return 0;
}

void
lspci_model_close(struct lspci_model *m)
{
    if (m == NULL) {
        return;
    }
    if (!m->borrowed) {
        pv_sriov_destroy(m->dev);
    }
    pv_free(m->fn);
    pv_free(m->prof);
    pv_free(m);
}

int
lspci_model_config(const struct lspci_model *m, size_t i, uint8_t *buf, uint32_t len)
{
    if (i >= m->count && i != 0) {
        return PCIVIRT_ERANGE;
    }
    return pv_sriov_config_read(m->dev, i < m->count ? m->fn[i].rid : pv_sriov_pf_rid(m->dev), 0, buf, len);
}

void
lspci_format_bdf(const struct lspci_model *m, uint16_t rid, char *buf, size_t size)
{
    uint16_t seg = m->prof->segment;

    if (seg != 0) {
        snprintf(buf, size, "%04x:%02x:%02x.%x", seg, rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    } else {
        snprintf(buf, size, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    }
}
