/*
 * pf/resource.h - VF BAR arithmetic: GetResourceForBar, QueryProbedBars, LUIDs.
 *
 * Pure functions over values the driver read through the bus interface, kept
 * apart so every rule is unit-tested without a device:
 *  - a VF's BAR window is the PF's VF BAR aperture divided by NumVFs, offset by
 *    VfIndex windows, with CmResourceTypeMemoryLarge decoded to 64 bits before
 *    the arithmetic and encoded after it (contract.md 6.9: the docs' example
 *    divides the scaled Length field directly and gets both numbers wrong);
 *  - probed BAR values are ~(size - 1) with the type bits (contract.md 6.4);
 *  - LUIDs come in a block: the device's, then one per VF (contract.md 6.10, 7.5).
 */
#ifndef PCIVIRT_PF_RESOURCE_H
#define PCIVIRT_PF_RESOURCE_H

#include <stdint.h>

#include "pcivirt/pcivirt.h"

/**
 * pf_vf_bar_resource() - the translated resource of one VF's BAR window.
 * @aperture: the PF's descriptor for the SR-IOV VF BAR aperture of that index.
 * @num_vfs: VFs sharing the aperture (>= 1).
 * @vf: the VF (< @num_vfs).
 * @out: receives a copy of @aperture with start and length of the VF's window;
 *       Memory when the window fits 32 bits and the aperture was Memory,
 *       otherwise MemoryLarge with the smallest exact scaling.
 *
 * An aperture of type Null (unimplemented BAR, upper half of a 64-bit BAR)
 * gives a Null descriptor and success (contract.md 6.9 [I]).
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for @vf >= @num_vfs, a type
 * other than Null/Memory/MemoryLarge, or a length not divisible by @num_vfs;
 * STATUS_INVALID_DEVICE_STATE if the result cannot be encoded.
 */
NTSTATUS pf_vf_bar_resource(const CM_PARTIAL_RESOURCE_DESCRIPTOR *aperture, uint16_t num_vfs, uint16_t vf,
                            CM_PARTIAL_RESOURCE_DESCRIPTOR *out);

/**
 * pf_probed_bars() - what each VF BAR reads after all-ones was written.
 * @vf_bar_regs: the six SR-IOV VF BARn registers of the PF (type bits 3:0 used).
 * @per_vf_size: the per-VF window size of each BAR (0 = unimplemented; for a
 *               64-bit BAR the size is in the lower slot, the upper slot ignored).
 * @out: six values, 0 for unimplemented slots; a 64-bit BAR fills two slots.
 */
void pf_probed_bars(const uint32_t vf_bar_regs[6], const uint64_t per_vf_size[6], ULONG out[6]);

/* A LUID block: base for the device, base + 1 + i for VF i. */
struct pf_luids {
    uint64_t base;
    uint16_t num_vfs;
};

/* pf_luid_make() - a LUID from a 64-bit value (LowPart, HighPart). */
LUID pf_luid_make(uint64_t v);

/* pf_luid_value() - the 64-bit value of a LUID. */
uint64_t pf_luid_value(LUID l);

/**
 * pf_luid_alloc_block() - reserve a block of @count locally unique values.
 *
 * Values come from getrandom(2) aligned to 2^17 with bit 62 set, so blocks of
 * different PFs (even in different processes on one boot) do not collide in
 * practice; no global state is kept.  Return: the base, never 0.
 */
uint64_t pf_luid_alloc_block(uint32_t count);

/**
 * pf_luid_vf_of() - QueryLuidVf's reverse lookup.
 * Return: STATUS_SUCCESS with *@vf, or STATUS_NOT_FOUND (contract.md 6.10).
 */
NTSTATUS pf_luid_vf_of(const struct pf_luids *l, LUID luid, uint16_t *vf);

#endif /* PCIVIRT_PF_RESOURCE_H */
