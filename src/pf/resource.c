/*
 * pf/resource.c - VF BAR arithmetic and LUID blocks (see pf/resource.h).
 */
#include "pf/resource.h"

#include <stdbool.h>
#include <sys/random.h>

NTSTATUS
pf_vf_bar_resource(const CM_PARTIAL_RESOURCE_DESCRIPTOR *aperture, uint16_t num_vfs, uint16_t vf,
                   CM_PARTIAL_RESOURCE_DESCRIPTOR *out)
{
    ULONGLONG start = 0, length, per;
    UCHAR type;

    if (aperture == NULL || out == NULL || num_vfs == 0 || vf >= num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    *out = *aperture;
    if (aperture->Type == CmResourceTypeNull) {
        return STATUS_SUCCESS;
    }
    if (aperture->Type != CmResourceTypeMemory && aperture->Type != CmResourceTypeMemoryLarge) {
        return STATUS_INVALID_PARAMETER;
    }
    /* Decode to 64 bits first: MemoryLarge keeps a scaled length (contract.md 1.6, 6.9). */
    length = RtlCmDecodeMemIoResource(aperture, &start);
    if (length == 0 || length % num_vfs != 0) {
        return STATUS_INVALID_PARAMETER;
    }
    per = length / num_vfs;
    type = aperture->Type == CmResourceTypeMemory && per <= 0xFFFFFFFFull ? CmResourceTypeMemory
                                                                          : CmResourceTypeMemoryLarge;
    if (!NT_SUCCESS(RtlCmEncodeMemIoResource(out, type, per, start + (ULONGLONG)vf * per))) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    return STATUS_SUCCESS;
}

void
pf_probed_bars(const uint32_t regs[6], const uint64_t size[6], ULONG out[6])
{
    for (unsigned i = 0; i < 6; i++) {
        out[i] = 0;
    }
    for (unsigned i = 0; i < 6; i++) {
        uint64_t mask;
        bool is64 = (regs[i] & 0x6) == 0x4;

        if (size[i] == 0 || (size[i] & (size[i] - 1)) != 0) {
            continue; /* unimplemented (or not a power of two: not a BAR) */
        }
        mask = ~(size[i] - 1);
        out[i] = (ULONG)(mask & 0xFFFFFFF0u) | (regs[i] & 0xF);
        if (is64 && i < 5) {
            out[i + 1] = (ULONG)(mask >> 32);
            i++;
        }
    }
}

LUID
pf_luid_make(uint64_t v)
{
    LUID l;

    l.LowPart = (ULONG)v;
    l.HighPart = (LONG)(uint32_t)(v >> 32);
    return l;
}

uint64_t
pf_luid_value(LUID l)
{
    return (uint64_t)l.LowPart | ((uint64_t)(uint32_t)l.HighPart << 32);
}

uint64_t
pf_luid_alloc_block(uint32_t count)
{
    uint64_t r = 0;

    (void)count; /* a 2^17 block holds the device and 65,535 VFs */
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        r = (uint64_t)(uintptr_t)&r ^ 0x5DEECE66Dull;
    }
    return (r & 0x3FFFFFFFFFFE0000ull) | (1ull << 62);
}

NTSTATUS
pf_luid_vf_of(const struct pf_luids *l, LUID luid, uint16_t *vf)
{
    uint64_t v = pf_luid_value(luid);

    if (vf == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (v <= l->base || v - l->base > l->num_vfs) {
        return STATUS_NOT_FOUND;
    }
    *vf = (uint16_t)(v - l->base - 1);
    return STATUS_SUCCESS;
}
