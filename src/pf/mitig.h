/*
 * pf/mitig.h - mitigated (trapped) MMIO ranges per VF (contract.md 4.8-4.10, 6.12, 7.3).
 *
 * The PF decides which pages of a VF's BARs the stack must trap and forward to
 * ReadWriteMitigatedRegister.  Ranges are kept per BAR, sorted, non-overlapping,
 * each at most 2 GiB (larger ones are split, contract.md 4.9), in 4 KiB pages
 * counted from the start of the BAR.  A PF-wide default applies to every VF
 * without its own list.
 *
 * Changing a VF's list marks it dirty; the driver completes that VF's held
 * IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, or, if none is held, the next one that
 * arrives (pf_mitig_take_dirty()).  Until the stack has re-read the ranges, a
 * trapped access inside a range the VF had before the change is still served
 * (the grace rule, pf_mitig_covers()).  The store is internally locked (a
 * reader-writer lock: the trapped-access check is a hot path).
 */
#ifndef PCIVIRT_PF_MITIG_H
#define PCIVIRT_PF_MITIG_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/pcivirt.h"

#define PF_MITIG_PAGE_SIZE 4096u
#define PF_MITIG_MAX_PAGES_PER_RANGE (0x80000000u / PF_MITIG_PAGE_SIZE) /* 2 GiB */
#define PF_MITIG_MAX_RANGES 64                                          /* per VF, after splitting */
#define PF_MITIG_GRACE_MAX (4 * PF_MITIG_MAX_RANGES)                    /* grace entries kept per VF, newest */

struct pf_mitig_range {
    uint8_t bar;         /* 0..5 */
    uint64_t base_page;  /* page offset from the start of the BAR */
    uint64_t page_count; /* >= 1; split into <= 2 GiB pieces when stored */
    bool intercept_reads;
    bool intercept_writes; /* at least one of the two */
};

struct pf_mitig;

/* pf_mitig_create() - no ranges, nothing dirty.  NULL on no memory. */
struct pf_mitig *pf_mitig_create(uint16_t num_vfs);

/* pf_mitig_destroy() - accepts NULL. */
void pf_mitig_destroy(struct pf_mitig *m);

/**
 * pf_mitig_set() - replace the ranges of VF @vf, or with
 * SRIOV_INVALIDATE_BLOCK_ALL_VFS the default (dropping every per-VF list).
 * Marks the affected VFs dirty.
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for a bad @vf, BAR, empty
 * range, no intercept flag, overlapping ranges or more than
 * PF_MITIG_MAX_RANGES after splitting; STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS pf_mitig_set(struct pf_mitig *m, uint16_t vf, const struct pf_mitig_range *ranges, unsigned n);

/**
 * pf_mitig_count() - ranges per BAR of VF @vf (IOCTL 6 output).
 * Return: STATUS_SUCCESS or STATUS_INVALID_PARAMETER for a bad @vf.
 */
NTSTATUS pf_mitig_count(struct pf_mitig *m, uint16_t vf, ULONG count[PCI_TYPE0_ADDRESSES]);

/**
 * pf_mitig_ranges() - the ranges of VF @vf in BAR @bar (IOCTL 7 output).
 * @out: room for @cap entries; @n_out receives the number of ranges in the BAR.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for a bad @vf or @bar;
 * STATUS_BUFFER_TOO_SMALL when @cap < the count (nothing written).
 */
NTSTATUS pf_mitig_ranges(struct pf_mitig *m, uint16_t vf, uint8_t bar, SRIOV_MITIGATED_RANGES_OUTPUT *out, ULONG cap,
                         ULONG *n_out);

/**
 * pf_mitig_covers() - whether [@offset, @offset + @length) of BAR @bar of VF
 * @vf lies inside one range that intercepts this kind of access (contract.md
 * 6.12): one of its current ranges, or - the grace rule of
 * docs/CONTRACT-DECISIONS.md - one it had before a change the stack has not
 * caught up with yet (see pf_mitig_end_grace()).
 */
bool pf_mitig_covers(struct pf_mitig *m, uint16_t vf, uint8_t bar, uint64_t offset, uint32_t length, bool read);

/**
 * pf_mitig_end_grace() - the stack caught up with VF @vf's ranges (it re-armed
 * MITIGATED_RANGE_UPDATE with no change pending, so it re-read them and rebuilt
 * its map): from now on only the current ranges count.  Every pf_mitig_set()
 * until then adds the list it replaces to the VF's grace list.
 */
void pf_mitig_end_grace(struct pf_mitig *m, uint16_t vf);

/* pf_mitig_take_dirty() - whether VF @vf's list changed since the last take; clears it. */
bool pf_mitig_take_dirty(struct pf_mitig *m, uint16_t vf);

/* pf_mitig_is_dirty() - peek without clearing. */
bool pf_mitig_is_dirty(struct pf_mitig *m, uint16_t vf);

#endif /* PCIVIRT_PF_MITIG_H */
