/*
 * pf/inval.h - coalescing of block invalidations (contract.md 4.7).
 *
 * IOCTL_SRIOV_INVALIDATE_BLOCK is an inverted call: the PF completes a held
 * request when blocks changed.  When no request is held, masks accumulate here
 * and are delivered when the next one arrives; bits are never dropped.  Per-VF
 * masks are OR-ed per VF; ALL_VFS (0xFFFF) masks are OR-ed into one shared mask
 * delivered first, and delivering it clears the same bits from every VF's mask
 * (they are covered).  Dirty VFs are served round-robin so one busy VF cannot
 * starve the others.
 *
 * Not locked: the driver calls it under the lock that also guards its queue of
 * held INVALIDATE_BLOCK requests, so "take a mask" and "complete a request" are
 * one step.
 */
#ifndef PCIVIRT_PF_INVAL_H
#define PCIVIRT_PF_INVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/pcivirt.h"

struct pf_inval;

/* pf_inval_create() - nothing pending, for @num_vfs VFs.  NULL on no memory. */
struct pf_inval *pf_inval_create(uint16_t num_vfs);

/* pf_inval_destroy() - accepts NULL. */
void pf_inval_destroy(struct pf_inval *c);

/**
 * pf_inval_post() - remember that blocks in @mask changed for @vf.
 * @vf: a VF index below num_vfs or SRIOV_INVALIDATE_BLOCK_ALL_VFS; other values
 *      are ignored (return false).
 * Return: true if something is now pending.
 */
bool pf_inval_post(struct pf_inval *c, uint16_t vf, uint64_t mask);

/**
 * pf_inval_take() - the next {VfIndex, BlockMask} to deliver, removed from the
 * pending state.  Return: false when nothing is pending.
 */
bool pf_inval_take(struct pf_inval *c, uint16_t *vf, uint64_t *mask);

/* pf_inval_pending() - whether a take would deliver something. */
bool pf_inval_pending(const struct pf_inval *c);

#endif /* PCIVIRT_PF_INVAL_H */
