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
    uint8_t *tmpl;          /* reset values */
    uint8_t *wmask;         /* 1 = writable */
    uint8_t *w1cmask;       /* 1 = write 1 to clear */
    uint8_t *used;          /* 1 = allocated (header or a capability) */
    struct pci_hook *hooks; /* sorted by off, stable */
    unsigned nhooks;
    struct pci_cap_rec *caps; /* in allocation order */
    unsigned ncaps;
    uint16_t std_tail; /* last standard capability (0: none) */
    uint16_t ext_tail; /* last extended capability (0: none) */
};

/*
 * pci_bar_is_upper() - whether register @bar (0..5) of the six BAR registers at
 * @regs is the upper half of a 64-bit memory BAR, scanning from BAR0 as software
 * does (an upper half's own low bits are address bits, not a type).
 */
static inline bool
pci_bar_is_upper(const uint8_t *regs, unsigned bar)
{
    for (unsigned i = 0; i < bar; i++) {
        bool is64 = !(regs[4 * i] & 0x1) && (regs[4 * i] & 0x6) == 0x4;

        if (is64 && i + 1 == bar) {
            return true;
        }
        i += is64 ? 1 : 0;
    }
    return false;
}

/* pci_layout_record_cap() - remember an allocated capability (caps.c). */
int pci_layout_record_cap(struct pci_layout *layout, uint16_t offset, uint16_t size, uint16_t id, bool extended);

/* pci_open_type0() - the type-0 header masks of pci_layout_init_type0() (config.c). */
void pci_open_type0(struct pci_layout *layout);

/* Minimum sizes the walker and the importer claim (capwalk.c). */
unsigned pci_cap_std_size(const uint8_t *cfg, uint32_t lim, uint32_t off, uint8_t id);
unsigned pci_cap_ext_size(uint16_t id);

/*
 * Mask openers: open the RW / RW1C bits of a capability at @cap from the values
 * already in the template.  The builders call them after writing the registers;
 * pci_layout_import() calls them for capabilities found in a dump, so both paths
 * give the same masks.  AER's supported error bits and SR-IOV's ARI Capable
 * Hierarchy writability are not visible in the registers and come as arguments.
 */
void pci_open_pm(struct pci_layout *layout, int cap);
void pci_open_msi(struct pci_layout *layout, int cap);
void pci_open_exp(struct pci_layout *layout, int cap);
void pci_open_msix(struct pci_layout *layout, int cap);
void pci_open_aer(struct pci_layout *layout, int cap, uint32_t unc, uint32_t cor);
void pci_open_acs(struct pci_layout *layout, int cap);
void pci_open_ari(struct pci_layout *layout, int cap);
void pci_open_ats(struct pci_layout *layout, int cap);
void pci_open_sriov(struct pci_layout *layout, int cap, bool ari_hierarchy_writable);

/* pci_cap_claim() - check and claim [off, off + size) of an existing capability
 * (caps.c; the bytes are kept).  Return @off or a negative code naming the clash. */
int pci_cap_claim(struct pci_layout *layout, uint16_t id, uint32_t off, uint32_t size, bool extended,
                  struct pcivirt_error *err);

/*
 * Shorthands for the capability builders (caps.c, ecaps.c): template value, RW
 * mask, RW1C mask at @cap + @reg.  Inline here so both builder files share one copy.
 */
static inline void
cap_put(struct pci_layout *l, int cap, uint32_t reg, unsigned len, uint32_t v)
{
    pci_layout_set(l, (uint32_t)cap + reg, len, v);
}

static inline void
cap_rw(struct pci_layout *l, int cap, uint32_t reg, unsigned len, uint32_t mask)
{
    pci_layout_set_wmask(l, (uint32_t)cap + reg, len, mask);
}

static inline void
cap_w1c(struct pci_layout *l, int cap, uint32_t reg, unsigned len, uint32_t mask)
{
    pci_layout_set_w1cmask(l, (uint32_t)cap + reg, len, mask);
}

#endif /* PCIVIRT_PCI_LAYOUT_INTERNAL_H */
