/*
 * pci/layout_internal.h - the inside of struct pci_layout, shared by config.c
 * (masks, hooks, the write path) and caps.c (the capability allocator).
 *
 * Kept out of config.h so that the device, the survey and the PF driver cannot
 * reach around the allocator: outside src/pci a layout is changed only through
 * the functions of config.h and caps.h.
 */
#ifndef PCIVIRT_PCI_LAYOUT_INTERNAL_H
#define PCIVIRT_PCI_LAYOUT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/config.h"

struct pci_hook {
    uint32_t off;
    uint32_t len;
    pci_config_hook_fn fn;
    void *opaque;
};

/* A capability the builder allocated: what the overlap error names. */
struct pci_cap_rec {
    uint16_t offset;
    uint16_t size;
    uint16_t id;
    bool extended;
};

struct pci_layout {
    atomic_uint refs;
    uint32_t size;
    uint8_t *tmpl;     /* reset values */
    uint8_t *wmask;    /* 1 = writable */
    uint8_t *w1cmask;  /* 1 = write 1 to clear */
    uint8_t *used;     /* 1 = allocated (header or a capability) */
    struct pci_hook *hooks; /* sorted by off, stable */
    unsigned nhooks;
    struct pci_cap_rec *caps; /* in allocation order */
    unsigned ncaps;
    uint16_t std_tail; /* last standard capability (0: none) */
    uint16_t ext_tail; /* last extended capability (0: none) */
};

/* pci_layout_record_cap() - remember an allocated capability (caps.c). */
int pci_layout_record_cap(struct pci_layout *layout, uint16_t offset, uint16_t size, uint16_t id,
                          bool extended);

#endif /* PCIVIRT_PCI_LAYOUT_INTERNAL_H */
