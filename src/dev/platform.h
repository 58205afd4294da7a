/*
 * dev/platform.h - the host physical address space that device BARs live in.
 *
 * A real host decodes a CPU physical address to the function whose BAR claims
 * it; the virtualization stack later maps guest BAR pages onto these host
 * addresses.  This module is that decoder plus the resource-assignment step that
 * hands out addresses:
 *
 *  - pv_platform_alloc()/free() carve naturally aligned ranges out of a 32-bit
 *    and a 64-bit MMIO window (the root port's memory windows), first fit.  A
 *    rebalance ("restart with new resources") allocates the new ranges before
 *    releasing the old ones, so BARs really move.
 *  - pv_platform_map() registers a window: @count equal slots of @slot_size bytes
 *    starting at @base.  A PF BAR is one slot; a whole VF BAR aperture is one
 *    window of NumVFs slots, so lookup cost never depends on the number of VFs:
 *    binary search over the (few) windows, then index = (addr - base) / slot_size.
 *
 * Windows never overlap (PCIVIRT_EOVERLAP).  A reader-writer lock makes lookups
 * safe against concurrent remapping; the owner's callbacks run after the lock is
 * dropped, so an owner may remap from inside them.  Owners must unmap a window
 * before freeing the context it carries.
 */
#ifndef PCIVIRT_DEV_PLATFORM_H
#define PCIVIRT_DEV_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/error.h"

struct pv_platform;

/* What a window routes to: @index is the slot (the VF index for a VF aperture). */
struct pv_mmio_ops {
    int (*read)(void *ctx, uint32_t index, unsigned bar, uint64_t offset, void *data, uint32_t length);
    int (*write)(void *ctx, uint32_t index, unsigned bar, uint64_t offset, const void *data, uint32_t length);
};

struct pv_platform_config {
    uint64_t mmio32_base; /* window for 32-bit BARs (below 4 GiB) */
    uint64_t mmio32_size;
    uint64_t mmio64_base; /* window for 64-bit BARs */
    uint64_t mmio64_size;
};

/* The result of a lookup. */
struct pv_platform_hit {
    void *ctx;
    const struct pv_mmio_ops *ops;
    unsigned bar;
    uint32_t index;  /* slot within the window */
    uint64_t offset; /* byte offset within the slot */
    uint64_t slot_size;
    uint64_t window_base;
};

/**
 * pv_platform_config_default() - the windows pcivirt uses unless told otherwise:
 * 32-bit [0xc000_0000, +1 GiB), 64-bit [0x40_0000_0000, +1 TiB).
 */
void pv_platform_config_default(struct pv_platform_config *cfg);

/**
 * pv_platform_create() - an empty address space.
 * @cfg: the MMIO windows, or NULL for pv_platform_config_default().
 * @out: receives the platform.
 *
 * Return: 0; PCIVIRT_EINVAL for an empty or wrapping window; PCIVIRT_ENOMEM.
 */
int pv_platform_create(const struct pv_platform_config *cfg, struct pv_platform **out);

/* pv_platform_destroy() - free the platform; NULL is accepted. */
void pv_platform_destroy(struct pv_platform *plat);

/**
 * pv_platform_alloc() - assign a naturally aligned range.
 * @size: a power of two >= 16.
 * @is64: take it from the 64-bit window (falls back to the 32-bit one when full).
 * @addr: receives the base.
 *
 * Return: 0; PCIVIRT_EINVAL for a bad size; PCIVIRT_ENOSPC when no window has room
 * (message names the size and window); PCIVIRT_ENOMEM.
 */
int pv_platform_alloc(struct pv_platform *plat, uint64_t size, bool is64, uint64_t *addr, struct pcivirt_error *err);

/* pv_platform_free() - release a range from pv_platform_alloc (unknown ranges are ignored). */
void pv_platform_free(struct pv_platform *plat, uint64_t addr);

/**
 * pv_platform_map() - route [@base, @base + @slot_size * @count) to @ops.
 * @handle: receives an id for pv_platform_unmap().
 *
 * Return: 0; PCIVIRT_EINVAL (zero size/count, wrap); PCIVIRT_EOVERLAP when the
 * range overlaps a mapped window; PCIVIRT_ENOMEM.
 */
int pv_platform_map(struct pv_platform *plat, uint64_t base, uint64_t slot_size, uint32_t count, unsigned bar,
                    const struct pv_mmio_ops *ops, void *ctx, uint64_t *handle);

/* pv_platform_unmap() - remove a window by handle; an unknown handle is ignored. */
void pv_platform_unmap(struct pv_platform *plat, uint64_t handle);

/**
 * pv_platform_lookup() - which window and slot decode @addr.
 * Return: true and @hit filled, or false when nothing claims @addr.
 */
bool pv_platform_lookup(struct pv_platform *plat, uint64_t addr, struct pv_platform_hit *hit);

/**
 * pv_platform_read()/pv_platform_write() - a CPU access of 1..8 bytes at @addr.
 *
 * The access must stay inside one slot.  Return: the owner's result;
 * PCIVIRT_ENOENT (reads fill all-ones) when nothing decodes @addr (a master
 * abort); PCIVIRT_ERANGE when the access crosses the end of its slot.
 */
int pv_platform_read(struct pv_platform *plat, uint64_t addr, void *data, uint32_t length);
int pv_platform_write(struct pv_platform *plat, uint64_t addr, const void *data, uint32_t length);

/* pv_platform_window_count() - number of mapped windows (for tests and the command). */
unsigned pv_platform_window_count(struct pv_platform *plat);

#endif /* PCIVIRT_DEV_PLATFORM_H */
