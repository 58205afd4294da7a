/*
 * vsp/intercept.h - which guest BAR pages of a VF trap (mitigated MMIO).
 *
 * DESIGN.md path 5: a guest access to a VF BAR goes straight to the device
 * unless its page lies in a range the PF asked to mitigate; then the stack traps
 * it and calls the PF's ReadWriteMitigatedRegister (contract.md 6.12).  The PF
 * publishes its ranges through IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT /
 * _RANGES (contract.md 4.8, 4.9: BasePageNumber is the page offset inside the
 * BAR, 4 KiB pages, each range at most 2 GiB) and completes the VF's held
 * MITIGATED_RANGE_UPDATE when they change (4.10, 7.3); the stack then rebuilds
 * the VF's map with vsp_intercept_replace().
 *
 * The map is one object per VF, holding two bitmaps per BAR (trap reads, trap
 * writes) indexed directly by page number, so a lookup is a few loads whatever
 * the number of VFs (issue 6, benchmark 2).  Bitmaps are sized from the VF's
 * BAR sizes at creation (capped at VSP_INTERCEPT_MAX_BAR_PAGES pages per BAR).
 *
 * Lookups are lock-free and may run on any number of guest threads while a
 * rebuild runs: a sequence counter (seqlock) makes a reader that overlapped a
 * rebuild retry, so it sees either the old map or the new one, never a mix.
 * Rebuilds are serialised by a mutex.
 */
#ifndef PCIVIRT_VSP_INTERCEPT_H
#define PCIVIRT_VSP_INTERCEPT_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/error.h"
#include "pcivirt/pcivirt.h"

/* contract.md 4.9: mitigated ranges count 4 KiB pages from the start of the BAR. */
#define VSP_PAGE_BYTES 4096u

#define VSP_TRAP_READ 0x1u
#define VSP_TRAP_WRITE 0x2u

/* Pages tracked per BAR: 1 Mi pages = 4 GiB (a VF BAR beyond that is tracked up to 4 GiB). */
#define VSP_INTERCEPT_MAX_BAR_PAGES (1u << 20)

/* contract.md 4.9: one range covers at most 2 GiB. */
#define VSP_INTERCEPT_MAX_RANGE_PAGES (1u << 19)

struct vsp_intercept_map;

/**
 * vsp_intercept_create() - an empty map (nothing traps) for a VF whose BARs
 * have the given sizes in bytes (0 = the VF has no such BAR).
 * Return: 0; PCIVIRT_EINVAL; PCIVIRT_ENOMEM.
 */
int vsp_intercept_create(const uint64_t bar_size[PCI_TYPE0_ADDRESSES], struct vsp_intercept_map **out);

/* vsp_intercept_destroy() - free @map (NULL accepted). */
void vsp_intercept_destroy(struct vsp_intercept_map *map);

/**
 * vsp_intercept_replace() - make the map exactly the union of the given ranges.
 * @ranges: per BAR, an array of @counts[bar] ranges as QUERY_MITIGATED_RANGES
 *          returned them (NULL when the count is 0).
 * @err: optional detail naming the BAR and range that was refused.
 *
 * Everything is validated before the map changes: a refused update leaves the
 * previous map in force.
 * Return: 0; PCIVIRT_EINVAL (PageCount 0 or above 2 GiB, NULL array with a
 * non-zero count); PCIVIRT_ERANGE (a range past the end of its BAR, or on a BAR
 * that does not exist).
 */
int vsp_intercept_replace(struct vsp_intercept_map *map,
                          const SRIOV_MITIGATED_RANGES_OUTPUT *const ranges[PCI_TYPE0_ADDRESSES],
                          const ULONG counts[PCI_TYPE0_ADDRESSES], struct pcivirt_error *err);

/* vsp_intercept_clear() - nothing traps any more (for example when the VF leaves its VM). */
void vsp_intercept_clear(struct vsp_intercept_map *map);

/**
 * vsp_intercept_lookup() - the trap flags (VSP_TRAP_*) of the page holding
 * byte @offset of BAR @bar; 0 for a BAR or offset outside the map.
 */
unsigned vsp_intercept_lookup(const struct vsp_intercept_map *map, unsigned bar, uint64_t offset);

/**
 * vsp_intercept_traps() - whether an access of @len bytes (1..8) at @offset
 * traps: true if any page it touches traps in the access's direction.  An
 * access that straddles a trapped and an untrapped page is trapped whole.
 */
bool vsp_intercept_traps(const struct vsp_intercept_map *map, unsigned bar, uint64_t offset, uint32_t len, bool write);

/* vsp_intercept_generation() - how many times the map was replaced or cleared. */
uint64_t vsp_intercept_generation(const struct vsp_intercept_map *map);

/* vsp_intercept_trapped_pages() - pages of @bar with any trap flag. */
uint64_t vsp_intercept_trapped_pages(const struct vsp_intercept_map *map, unsigned bar);

#endif /* PCIVIRT_VSP_INTERCEPT_H */
