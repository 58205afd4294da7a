/*
 * fuzz/fuzz_dump.c - libFuzzer target for the lspci -xxxx reader, the writer and
 * the capability walker.
 *
 * Invariants beyond "no crash": a parse either succeeds or fills the error with a
 * line inside the input and a message; what parses exports to text that parses
 * back to the same functions and exports to the same text again (the round trip
 * of pci/dump.h); walking any parsed function's chains ends with at most the
 * maximum number of capabilities, each inside the space.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pci/caps.h"
#include "pci/dump.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_chains(const struct pci_dump_func *f)
{
    static struct pci_cap_entry e[PCI_CAP_EXT_MAX];
    unsigned n = 0;

    if (f->len < 64) {
        return;
    }
    (void)pci_cap_walk_std(f->bytes, f->len, e, PCI_CAP_STD_MAX, &n, NULL);
    if (n > PCI_CAP_STD_MAX) {
        abort();
    }
    for (unsigned i = 0; i < n; i++) {
        if (e[i].offset < 0x40 || e[i].offset >= 0x100) {
            abort();
        }
    }
    (void)pci_cap_walk_ext(f->bytes, f->len, e, PCI_CAP_EXT_MAX, &n, NULL);
    for (unsigned i = 0; i < n; i++) {
        if (e[i].offset < 0x100 || e[i].offset + 4u > f->len || (e[i].offset & 3)) {
            abort();
        }
    }
    (void)pci_ecap_find(f->bytes, f->len, PCI_ECAP_ID_SRIOV, 0, NULL);
    /* Import as a device profile: on success the template is the input. */
    struct pci_layout *l = NULL;
    if (pci_layout_import(f->bytes, f->len, PCI_IMPORT_ARI_HIERARCHY_RW, &l, NULL) == 0) {
        if (memcmp(pci_layout_template(l), f->bytes, f->len) != 0) {
            abort();
        }
        pci_layout_unref(l);
    }
}

static void
round_trip(const struct pci_dump *d)
{
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    struct pci_dump *back = NULL;

    if (pci_dump_export(d, &t1, &l1) != 0) {
        return;
    }
    if (pci_dump_parse(t1, l1, "export", &back, NULL) != 0 || back->count != d->count) {
        abort();
    }
    for (size_t i = 0; i < d->count; i++) {
        const struct pci_dump_func *a = d->funcs[i], *b = back->funcs[i];

        if (a->len != b->len || memcmp(a->bytes, b->bytes, a->len) != 0 || a->addr.bus != b->addr.bus ||
            a->addr.dev != b->addr.dev || a->addr.fn != b->addr.fn || a->addr.domain != b->addr.domain) {
            abort();
        }
    }
    if (pci_dump_export(back, &t2, &l2) != 0 || l1 != l2 || memcmp(t1, t2, l1) != 0) {
        abort();
    }
    pv_free(t1);
    pv_free(t2);
    pci_dump_destroy(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pci_dump *d = NULL;
    struct pcivirt_error err;
    size_t lines = 1;

    memset(&err, 0, sizeof(err));
    for (size_t i = 0; i < size; i++) {
        lines += data[i] == '\n';
    }
    if (pci_dump_parse((const char *)data, size, "fuzz", &d, &err) != 0) {
        if (err.line == 0 || err.line > lines || err.message[0] == '\0') {
            abort();
        }
        return 0;
    }
    for (size_t i = 0; i < d->count; i++) {
        check_chains(d->funcs[i]);
    }
    round_trip(d);
    pci_dump_destroy(d);
    return 0;
}
