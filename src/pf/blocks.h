/*
 * pf/blocks.h - the per-VF configuration-block store (contract.md 6.3, 7.4).
 *
 * A configuration block is a PF/VF back-channel with IHV-defined ids and
 * contents, up to VPCI_MAX_READ_WRITE_BLOCK_SIZE (128) bytes.  The PF declares
 * which block ids exist (and whether a VF may write them); each VF then sees its
 * own copy, falling back to a PF-wide default.  Ids 0..63 can be invalidated (a
 * 64-bit mask, contract.md 4.7); higher ids are allowed but the guest learns of a
 * change to them only by polling.
 *
 * When the PF side changes a block (pf_blocks_set(), e.g. "assign a MAC"), the
 * store reports the invalidation through a callback, outside its lock, so the
 * driver can complete a held IOCTL_SRIOV_INVALIDATE_BLOCK.  Per-VF storage is
 * allocated on first use: an untouched VF costs one pointer.
 */
#ifndef PCIVIRT_PF_BLOCKS_H
#define PCIVIRT_PF_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/pcivirt.h"

#define PF_BLOCK_INVALIDATABLE 64 /* ids below this fit the invalidation mask */
#define PF_BLOCK_MAX_IDS 256      /* distinct ids one PF may declare */

/* @vf is a VF index or SRIOV_INVALIDATE_BLOCK_ALL_VFS; @mask bit n = block id n. */
typedef void pf_blocks_changed_fn(void *ctx, uint16_t vf, uint64_t mask);
/* A VF wrote block @id (after it was stored). */
typedef void pf_blocks_written_fn(void *ctx, uint16_t vf, uint32_t id, const void *data, uint32_t length);

struct pf_blocks;

/**
 * pf_blocks_create() - an empty store for @num_vfs VFs.
 * @changed: called after a PF-side change of an invalidatable block; may be NULL.
 * @written: called after a VF wrote a block; may be NULL.
 * @ctx: passed to both.
 *
 * Return: STATUS_SUCCESS or STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS pf_blocks_create(uint16_t num_vfs, pf_blocks_changed_fn *changed, pf_blocks_written_fn *written, void *ctx,
                          struct pf_blocks **out);

/* pf_blocks_destroy() - free the store.  Accepts NULL. */
void pf_blocks_destroy(struct pf_blocks *b);

/**
 * pf_blocks_define() - declare block @id.
 * @vf_writable: whether WriteVfConfigBlock may store into it.
 *
 * Return: STATUS_SUCCESS (also when already declared: the flag is updated);
 * STATUS_INSUFFICIENT_RESOURCES beyond PF_BLOCK_MAX_IDS ids.
 */
NTSTATUS pf_blocks_define(struct pf_blocks *b, uint32_t id, bool vf_writable);

/**
 * pf_blocks_read() - ReadVfConfigBlock: @length bytes of VF @vf's block @id.
 *
 * Fills all @length bytes, zero-padding past the block's current content
 * (contract.md 6.3: the stack returns exactly Length bytes).
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for @vf >= NumVFs, @length
 * outside 1..128, NULL @buf or an undeclared @id.
 */
NTSTATUS pf_blocks_read(struct pf_blocks *b, uint16_t vf, uint32_t id, void *buf, uint32_t length);

/**
 * pf_blocks_write() - WriteVfConfigBlock: store @length bytes as VF @vf's block @id.
 *
 * Return: as pf_blocks_read(); STATUS_NOT_SUPPORTED for a block the PF declared
 * read-only to VFs; STATUS_INSUFFICIENT_RESOURCES when the VF's storage cannot
 * be allocated.
 */
NTSTATUS pf_blocks_write(struct pf_blocks *b, uint16_t vf, uint32_t id, const void *buf, uint32_t length);

/**
 * pf_blocks_set() - the PF side changes block @id for VF @vf (or, with
 * SRIOV_INVALIDATE_BLOCK_ALL_VFS, the default every VF without its own copy
 * sees: per-VF copies of @id are dropped).  An @id below 64 is reported through
 * the changed callback.  @length 0 clears the block.
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for a bad @vf, @length > 128
 * or an undeclared @id; STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS pf_blocks_set(struct pf_blocks *b, uint16_t vf, uint32_t id, const void *data, uint32_t length);

/**
 * pf_blocks_get() - what VF @vf currently sees in block @id (PF side).
 * @buf: receives up to @cap bytes; @length_out the block's current length.
 * Return: STATUS_SUCCESS or STATUS_INVALID_PARAMETER.
 */
NTSTATUS pf_blocks_get(struct pf_blocks *b, uint16_t vf, uint32_t id, void *buf, uint32_t cap, uint32_t *length_out);

/* pf_blocks_reset_vf() - drop VF @vf's own copies (clean handoff, VF reset). */
void pf_blocks_reset_vf(struct pf_blocks *b, uint16_t vf);

/* pf_blocks_num_vfs() - the VF count the store serves. */
uint16_t pf_blocks_num_vfs(const struct pf_blocks *b);

#endif /* PCIVIRT_PF_BLOCKS_H */
