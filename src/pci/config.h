/*
 * pci/config.h - per-function PCI/PCIe config space with the mask model.
 *
 * Why it is shaped so.  A function's config space is four parallel byte arrays
 * (../shared/STYLE.md rule 1, after QEMU hw/pci): the bytes, a writable mask, a
 * write-1-to-clear mask and a "used" map for capability allocation.  Every write
 * takes the same path: keep the non-writable bits, take the writable ones, clear
 * the W1C bits written as 1, and only then run side effects through hooks chosen
 * by range overlap.  Storage semantics never live in a per-register switch.
 *
 * The device model has up to 65,535 VFs per PF and may spend at most 256 bytes on
 * an untouched VF, so the four arrays cannot be per function.  They are split:
 *
 *   struct pci_layout  - shared, reference-counted: the template bytes (reset
 *                        values), wmask, w1cmask, used map, the capability list and
 *                        the side-effect hooks.  One per PF; one shared by all VFs
 *                        of a PF.  Building it (header, BARs, capabilities, hooks)
 *                        happens before functions use it; afterwards only the masks
 *                        and template bytes may still change (the owner of a
 *                        single-function layout adjusts e.g. VF BAR masks when the
 *                        System Page Size changes).
 *   struct pci_config  - per function, 24 bytes, embeddable in an array: a borrowed
 *                        reference to the layout, an owner pointer for hooks, and a
 *                        private byte copy that exists only after the first write
 *                        that changes a byte (copy on write).  Until then reads
 *                        come from the layout's template.  A write whose merged
 *                        result changes nothing (a read-only area, the same value
 *                        again) never allocates, so a guest cannot make the model
 *                        grow by writing to read-only registers.
 *
 * Every access has a defined answer: offsets 0..size-1, lengths 1..4 for values
 * and any length for byte runs, at any alignment.  An access that does not fit in
 * the space returns PCIVIRT_ERANGE (a value read also stores all-ones); a zero or
 * oversized value length returns PCIVIRT_EINVAL.  No access is undefined behaviour.
 *
 * Concurrency: nothing here locks.  A caller that shares a pci_config between
 * threads serializes its accesses; a layout may be read concurrently by any number
 * of functions once it is built (the reference count is atomic).
 */
#ifndef PCIVIRT_PCI_CONFIG_H
#define PCIVIRT_PCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/error.h"

struct pci_layout;
struct pci_config;

/*
 * What a side-effect hook is told about a write.  The hook runs after the merge,
 * so the function's bytes already hold the new value; @old holds the bytes of the
 * written range as they were before (@length bytes, starting at @offset) and
 * @data the bytes the writer supplied (before masking - so a hook sees a 1 written
 * to a read-as-zero command bit such as Initiate FLR).
 */
struct pci_hook_event {
    uint32_t offset;      /* first byte written */
    uint32_t length;      /* bytes written (1..size) */
    const uint8_t *data;  /* the writer's bytes, unmasked */
    const uint8_t *old;   /* the written range before the merge */
    uint32_t hook_offset; /* the hook's registered range */
    uint32_t hook_length;
};

/*
 * A side-effect hook.  @opaque is what was registered with the hook (shared by
 * all functions of the layout); pci_config_owner(@cfg) names the function.
 * Return 0, or a negative PCIVIRT_E* code (and fill @err, which may be NULL) to
 * tell the writer that the side effect was refused (the bytes stay merged - a
 * hook that refuses a change puts the old value back with pci_config_poke()).
 * Hooks may call pci_config_poke*(); those never run hooks.
 */
typedef int (*pci_config_hook_fn)(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev,
                                  struct pcivirt_error *err);

/*
 * The per-function part.  Public so a device can embed an array of them (one per
 * VF) without an allocation each; touch the members only through the functions
 * below.
 */
struct pci_config {
    struct pci_layout *layout; /* referenced; never NULL after init */
    uint8_t *bytes;            /* private copy, NULL while the template applies */
    void *owner;               /* the device's per-function object, for hooks */
};

/* Type-0 header identity for pci_layout_init_type0(). */
struct pci_header_params {
    uint16_t vendor_id;
    uint16_t device_id;
    uint8_t revision;
    uint32_t class_code; /* base << 16 | sub-class << 8 | prog-if */
    uint16_t subsys_vendor_id;
    uint16_t subsys_id;
    uint8_t header_type;   /* PCI_HEADER_TYPE_NORMAL, optionally | PCI_HEADER_TYPE_MULTIFUNC */
    uint8_t interrupt_pin; /* 0 (none) or 1..4 (INTA..INTD) */
};

/* BAR flags for pci_layout_add_bar(). */
#define PCI_BAR_MEM32 0x0u
#define PCI_BAR_IO 0x1u
#define PCI_BAR_MEM64 0x4u
#define PCI_BAR_PREFETCH 0x8u

/* ---- layouts ---------------------------------------------------------------------- */

/**
 * pci_layout_create() - a new, all-zero, all-read-only layout.
 * @size: PCI_CFG_SIZE (256) or PCI_CFG_SIZE_EXT (4096).
 * @out: receives the layout with one reference.
 *
 * Return: 0; PCIVIRT_EINVAL for another @size or NULL @out; PCIVIRT_ENOMEM.
 */
int pci_layout_create(uint32_t size, struct pci_layout **out);

/* pci_layout_ref() - take a reference; returns @layout. */
struct pci_layout *pci_layout_ref(struct pci_layout *layout);

/* pci_layout_unref() - drop a reference; the last one frees.  Accepts NULL. */
void pci_layout_unref(struct pci_layout *layout);

/* pci_layout_size() - 256 or 4096. */
uint32_t pci_layout_size(const struct pci_layout *layout);

/*
 * The layout's arrays, pci_layout_size() bytes each, for readers (the finder, a
 * permission-table builder, tests).  Valid while a reference is held.
 */
const uint8_t *pci_layout_template(const struct pci_layout *layout);
const uint8_t *pci_layout_wmask(const struct pci_layout *layout);
const uint8_t *pci_layout_w1cmask(const struct pci_layout *layout);
const uint8_t *pci_layout_used(const struct pci_layout *layout);

/**
 * pci_layout_set() - set template bytes (the reset value every function starts
 * from), little-endian.  pci_layout_set_wmask() / pci_layout_set_w1cmask() set the
 * masks the same way.  A bit may not be both writable and W1C: setting one clears
 * the other for the bits given.
 * @off, @len: 1..4 bytes inside the space.
 *
 * Return: 0; PCIVIRT_ERANGE / PCIVIRT_EINVAL as for accesses.
 */
int pci_layout_set(struct pci_layout *layout, uint32_t off, unsigned len, uint32_t val);
int pci_layout_set_wmask(struct pci_layout *layout, uint32_t off, unsigned len, uint32_t mask);
int pci_layout_set_w1cmask(struct pci_layout *layout, uint32_t off, unsigned len, uint32_t mask);

/* pci_layout_set_bytes() - copy a byte run into the template (e.g. from a dump). */
int pci_layout_set_bytes(struct pci_layout *layout, uint32_t off, const void *data, size_t len);

/* pci_layout_get() - read 1..4 template bytes; all-ones with PCIVIRT_ERANGE outside. */
int pci_layout_get(const struct pci_layout *layout, uint32_t off, unsigned len, uint32_t *val);

/**
 * pci_layout_add_hook() - run @fn after every write that overlaps [@off, @off+@len).
 * Hooks of one write run in ascending @off order, equal offsets in registration
 * order; each at most once per write.
 *
 * Return: 0; PCIVIRT_ERANGE for a range outside the space or empty;
 * PCIVIRT_EINVAL for a NULL @fn; PCIVIRT_ENOMEM.
 */
int pci_layout_add_hook(struct pci_layout *layout, uint32_t off, uint32_t len, pci_config_hook_fn fn, void *opaque);

/**
 * pci_layout_init_type0() - write a type-0 header and its masks: IDs, class,
 * header type, interrupt pin; Command I/O, Memory, Bus Master, Parity Error
 * Response, SERR# Enable and Interrupt Disable writable; the Status error bits
 * RW1C (PCIe Base 7.5.1.1.4); Cache Line Size and Interrupt Line writable; bytes
 * 0x00-0x3f marked used.  BARs start absent (read-only zero).
 *
 * Return: 0; PCIVIRT_EINVAL for a NULL argument or an interrupt pin above 4.
 */
int pci_layout_init_type0(struct pci_layout *layout, const struct pci_header_params *p);

/**
 * pci_layout_add_bar() - implement BAR @bar (0..5) of a type-0 header.
 * @size: bytes, a power of two, >= 16 for memory (>= 4 for I/O, <= 256); a 64-bit
 *        BAR takes @bar and @bar + 1 and may be up to 2^63.
 * @flags: PCI_BAR_MEM32, PCI_BAR_MEM64 (| PCI_BAR_PREFETCH) or PCI_BAR_IO.
 *
 * The type bits go to the template, the address bits above log2(@size) become
 * writable, so the all-ones sizing probe reads back ~(size - 1) | type.
 *
 * Return: 0; PCIVIRT_EINVAL (bad size, flags, index, or a 64-bit BAR at 5) naming
 * it in @err; PCIVIRT_EEXIST when the register(s) are already implemented.
 */
int pci_layout_add_bar(struct pci_layout *layout, unsigned bar, uint64_t size, unsigned flags,
                       struct pcivirt_error *err);

/**
 * pci_layout_set_bar_size() - open BAR @bar (0..5) of a type-0 header as @size
 * bytes (the type bits already in the template say memory/I/O and 32/64-bit).
 * Return: 0; PCIVIRT_EINVAL naming the BAR.
 */
int pci_layout_set_bar_size(struct pci_layout *layout, unsigned bar, uint64_t size, struct pcivirt_error *err);

/* ---- functions ---------------------------------------------------------------------- */

/**
 * pci_config_init() - make @cfg a function of @layout (takes a layout reference).
 * Allocates nothing; reads see the template until the first changing write.
 * @owner: handed back by pci_config_owner() (for hooks); may be NULL.
 */
void pci_config_init(struct pci_config *cfg, struct pci_layout *layout, void *owner);

/* pci_config_fini() - free the private copy and drop the layout reference.  Accepts
 * NULL and a zeroed (never initialized) struct. */
void pci_config_fini(struct pci_config *cfg);

/* pci_config_create() / pci_config_destroy() - the same for a heap-allocated function.
 * Return: 0; PCIVIRT_EINVAL; PCIVIRT_ENOMEM.  destroy accepts NULL. */
int pci_config_create(struct pci_layout *layout, void *owner, struct pci_config **out);
void pci_config_destroy(struct pci_config *cfg);

/* pci_config_owner() - the @owner given at init. */
void *pci_config_owner(const struct pci_config *cfg);

/* pci_config_size() - 256 or 4096 (the layout's). */
uint32_t pci_config_size(const struct pci_config *cfg);

/* pci_config_bytes() - the current bytes (private copy or template), for readers. */
const uint8_t *pci_config_bytes(const struct pci_config *cfg);

/* pci_config_private_bytes() - heap bytes this function holds beyond its struct
 * (0 while untouched, the space size after copy-on-write). */
size_t pci_config_private_bytes(const struct pci_config *cfg);

/**
 * pci_config_read() - read 1..4 bytes at any offset, little-endian.
 * @val: receives the value; all-ones on PCIVIRT_ERANGE, 0 on PCIVIRT_EINVAL.
 *
 * Return: 0; PCIVIRT_EINVAL for @len 0 or > 4 or NULL pointers; PCIVIRT_ERANGE
 * when [@off, @off+@len) is not inside the space.
 */
int pci_config_read(const struct pci_config *cfg, uint32_t off, unsigned len, uint32_t *val);

/* pci_config_read_bytes() - copy @len bytes (any length >= 1); all-ones filled and
 * PCIVIRT_ERANGE when the run does not fit. */
int pci_config_read_bytes(const struct pci_config *cfg, uint32_t off, void *buf, size_t len);

/**
 * pci_config_write() - the single write path for 1..4 bytes at any offset.
 * Merges by the masks, then runs the overlapping hooks (see pci_layout_add_hook).
 * @err: detail from a refusing hook; may be NULL.
 *
 * Return: 0; PCIVIRT_EINVAL / PCIVIRT_ERANGE as for reads (nothing written);
 * PCIVIRT_ENOMEM when the private copy could not be made (nothing written, no
 * hook run); otherwise the first negative hook result (all hooks still run).
 */
int pci_config_write(struct pci_config *cfg, uint32_t off, unsigned len, uint32_t val, struct pcivirt_error *err);

/* pci_config_write_bytes() - the same for a byte run of any length >= 1; hooks see
 * the whole run as one write. */
int pci_config_write_bytes(struct pci_config *cfg, uint32_t off, const void *data, size_t len,
                           struct pcivirt_error *err);

/**
 * pci_config_poke() - device-side store of 1..4 bytes: ignores the masks and runs
 * no hooks (how the device updates status bits, First VF Offset, reset values).
 * pci_config_poke_bytes() for runs.
 *
 * Return: 0; PCIVIRT_EINVAL; PCIVIRT_ERANGE; PCIVIRT_ENOMEM (nothing stored).
 */
int pci_config_poke(struct pci_config *cfg, uint32_t off, unsigned len, uint32_t val);
int pci_config_poke_bytes(struct pci_config *cfg, uint32_t off, const void *data, size_t len);

/* pci_config_reset() - drop the private copy: the function reads the template
 * (its reset values) again.  Never fails. */
void pci_config_reset(struct pci_config *cfg);

/**
 * pci_hook_old() - inside a hook: the value of register [@off, @off+@len) (1..4
 * bytes) before this write - old bytes where the write covered it, current bytes
 * elsewhere.  Out-of-space ranges read as all-ones.
 */
uint32_t pci_hook_old(const struct pci_hook_event *ev, const struct pci_config *cfg, uint32_t off, unsigned len);

/* pci_hook_touches() - whether the write covered any byte of [@off, @off+@len). */
bool pci_hook_touches(const struct pci_hook_event *ev, uint32_t off, unsigned len);

/* pci_hook_written() - the writer's unmasked bits for [@off, @off+@len) (bytes the
 * write did not cover read 0). */
uint32_t pci_hook_written(const struct pci_hook_event *ev, uint32_t off, unsigned len);

#endif /* PCIVIRT_PCI_CONFIG_H */
