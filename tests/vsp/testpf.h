/*
 * tests/vsp/testpf.h - a small test-only PF: the SR-IOV and mitigable interface
 * tables implemented directly over the software device (src/dev).
 *
 * Until the reference PF driver (src/pf) lands, the stack's tests need something
 * on the other side of the interface tables.  This is the thinnest honest PF: it
 * follows the contract's bounds (contract.md 6), answers config through the
 * device's own config space (no permission table: the stack's emulated registers
 * are what is being tested), keeps two config blocks per VF (block 0: the VF's MAC,
 * PF-owned; block 1: VF-writable), derives probed BARs and per-VF resources from
 * the device's profile and resources with the contract's arithmetic (6.4, 6.9),
 * and serves the privileged page of VF BAR0 through ReadWriteMitigatedRegister.
 * It counts every call so tests can prove which path a guest access took.
 */
#ifndef PCIVIRT_TESTS_VSP_TESTPF_H
#define PCIVIRT_TESTS_VSP_TESTPF_H

#include <string.h>

#include <stdatomic.h>

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "pcivirt/pcivirt.h"
#include "util/le.h"

#define TPF_MAX_VFS 64
#define TPF_BLOCK_MAC 0u
#define TPF_BLOCK_VF 1u

struct tpf {
    struct pv_profile prof;
    struct pv_platform *plat;
    struct pv_sriov_dev *dev;
    uint16_t num_vfs;
    SRIOV_DEVICE_INTERFACE_STANDARD_2 sriov;
    MITIGABLE_DEVICE_INTERFACE mitig;
    atomic_int refs; /* counters are bumped on the stack's threads, read by the test's */
    uint8_t blk[TPF_MAX_VFS][2][128];
    uint32_t blk_len[TPF_MAX_VFS][2];
    DEVICE_POWER_STATE power[TPF_MAX_VFS];
    atomic_int config_reads, config_writes, probed_v1, probed_v2, mitigated_calls, resets, resource_calls;
};

static inline uint16_t
tpf_rid(struct tpf *t, uint16_t vf)
{
    uint16_t rid = 0;

    pv_sriov_vf_rid(t->dev, vf, &rid);
    return rid;
}

static inline void
tpf_ref(PVOID ctx)
{
    ((struct tpf *)ctx)->refs++;
}

static inline void
tpf_deref(PVOID ctx)
{
    ((struct tpf *)ctx)->refs--;
}

static inline NTSTATUS
tpf_read_config(PVOID ctx, PVOID data, USHORT vf, ULONG off, ULONG len)
{
    struct tpf *t = ctx;

    if (vf >= t->num_vfs || len < 1 || len > 4096 || off > 4096 - len || data == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    t->config_reads++;
    return pv_sriov_config_read(t->dev, tpf_rid(t, vf), (uint16_t)off, data, len) == 0 ? STATUS_SUCCESS
                                                                                       : STATUS_DEVICE_NOT_READY;
}

static inline NTSTATUS
tpf_write_config(PVOID ctx, const VOID *data, USHORT vf, ULONG off, ULONG len)
{
    struct tpf *t = ctx;

    if (vf >= t->num_vfs || len < 1 || len > 4096 || off > 4096 - len || data == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    t->config_writes++;
    return pv_sriov_config_write(t->dev, tpf_rid(t, vf), (uint16_t)off, data, len) == 0 ? STATUS_SUCCESS
                                                                                        : STATUS_DEVICE_NOT_READY;
}

static inline NTSTATUS
tpf_read_block(PVOID ctx, USHORT vf, ULONG id, PVOID buf, ULONG len)
{
    struct tpf *t = ctx;

    if (vf >= t->num_vfs || id > TPF_BLOCK_VF || len < 1 || len > 128 || buf == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    memset(buf, 0, len); /* contract.md 6.3: all Length bytes, zero-padded */
    memcpy(buf, t->blk[vf][id], len < t->blk_len[vf][id] ? len : t->blk_len[vf][id]);
    return STATUS_SUCCESS;
}

static inline NTSTATUS
tpf_write_block(PVOID ctx, USHORT vf, ULONG id, PVOID buf, ULONG len)
{
    struct tpf *t = ctx;

    if (vf >= t->num_vfs || id > TPF_BLOCK_VF || len < 1 || len > 128 || buf == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (id == TPF_BLOCK_MAC) {
        return STATUS_NOT_SUPPORTED; /* PF-owned */
    }
    memcpy(t->blk[vf][id], buf, len);
    t->blk_len[vf][id] = len;
    return STATUS_SUCCESS;
}

/* ~(size - 1) with the type bits (contract.md 6.4). */
static inline void
tpf_probed(struct tpf *t, PULONG out)
{
    memset(out, 0, 6 * sizeof(ULONG));
    for (unsigned i = 0; i < 6; i++) {
        const struct pv_bar_desc *b = &t->prof.vf_bar[i];
        uint64_t mask = ~(b->size - 1);

        if (b->size == 0) {
            continue;
        }
        out[i] = (ULONG)(mask & 0xFFFFFFF0u) | (b->is64 ? 0x4u : 0) | (b->prefetch ? 0x8u : 0);
        if (b->is64) {
            out[++i] = (ULONG)(mask >> 32);
        }
    }
}

static inline NTSTATUS
tpf_probed_v1(PVOID ctx, PULONG out)
{
    struct tpf *t = ctx;

    t->probed_v1++;
    tpf_probed(t, out);
    return STATUS_SUCCESS;
}

static inline NTSTATUS
tpf_probed_v2(PVOID ctx, USHORT vf, PULONG out)
{
    struct tpf *t = ctx;

    if (vf >= t->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    t->probed_v2++;
    tpf_probed(t, out);
    return STATUS_SUCCESS;
}

static VOID
tpf_ids(PVOID ctx, USHORT vf, PUSHORT vendor, PUSHORT device)
{
    struct tpf *t = ctx;

    *vendor = vf < t->num_vfs ? t->prof.vendor_id : 0xFFFF;
    *device = vf < t->num_vfs ? t->prof.vf_device_id : 0xFFFF;
}

static VOID
tpf_location(PVOID ctx, USHORT vf, PUINT16 seg, PUINT8 bus, PUINT8 fn)
{
    struct tpf *t = ctx;
    uint16_t rid = tpf_rid(t, vf);

    *seg = pv_sriov_segment(t->dev);
    *bus = (UINT8)(rid >> 8);
    *fn = (UINT8)rid;
}

static inline NTSTATUS
tpf_reset(PVOID ctx, USHORT vf)
{
    struct tpf *t = ctx;

    if (vf >= t->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    t->resets++;
    return pv_sriov_function_reset(t->dev, tpf_rid(t, vf)) == 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

static inline NTSTATUS
tpf_power(PVOID ctx, USHORT vf, DEVICE_POWER_STATE st, BOOLEAN wake)
{
    struct tpf *t = ctx;

    if (vf >= t->num_vfs || st < PowerDeviceD0 || st > PowerDeviceD3 || (wake && st == PowerDeviceD0)) {
        return STATUS_INVALID_PARAMETER;
    }
    t->power[vf] = st;
    return STATUS_SUCCESS;
}

/* The aperture divided by NumVFs, advanced by VfIndex (contract.md 6.9). */
static inline NTSTATUS
tpf_resource(PVOID ctx, USHORT vf, USHORT bar, PCM_PARTIAL_RESOURCE_DESCRIPTOR res)
{
    struct tpf *t = ctx;
    struct pcivirt_bus_resources r;
    ULONGLONG start = 0;
    ULONGLONG len;

    t->resource_calls++;
    if (vf >= t->num_vfs) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    if (bar >= 6) {
        return STATUS_INVALID_PARAMETER;
    }
    memset(res, 0, sizeof(*res));
    pv_sriov_query_resources(t->dev, &r);
    len = RtlCmDecodeMemIoResource(&r.vf_bar[bar], &start);
    if (len == 0) {
        res->Type = CmResourceTypeNull;
        return STATUS_SUCCESS;
    }
    len /= t->num_vfs;
    return RtlCmEncodeMemIoResource(res, CmResourceTypeMemory, len, start + vf * len);
}

static inline NTSTATUS
tpf_luid(PVOID ctx, PLUID luid)
{
    (void)ctx;
    luid->LowPart = 0x1234;
    luid->HighPart = 0;
    return STATUS_SUCCESS;
}

/* Only the privileged page of the register BAR is served (contract.md 6.12). */
static inline NTSTATUS
tpf_mitigated(PVOID ctx, USHORT vf, BOOLEAN read, USHORT bar, ULONGLONG off, ULONG len, PUCHAR data)
{
    struct tpf *t = ctx;
    uint16_t rid;

    if (vf >= t->num_vfs || bar != (USHORT)t->prof.vf_regs_bar || len < 1 || len > 8 || off < SWVF_PRIV_PAGE ||
        off + len > SWVF_PRIV_PAGE + SWVF_PRIV_PAGE_SIZE) {
        return STATUS_INVALID_PARAMETER;
    }
    t->mitigated_calls++;
    rid = tpf_rid(t, vf);
    if (read) {
        return pv_sriov_mmio_read(t->dev, rid, bar, off, data, len) == 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
    }
    return pv_sriov_mmio_write(t->dev, rid, bar, off, data, len) == 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

/* Set VF @vf's MAC on the device (PF BAR0 settings) and in block 0. */
static inline void
tpf_set_mac(struct tpf *t, uint16_t vf, const uint8_t mac[6])
{
    uint64_t base = SWPF_VF_TABLE + (uint64_t)vf * SWPF_VF_ENTRY_SIZE;
    uint8_t lo[4] = {mac[0], mac[1], mac[2], mac[3]};
    uint8_t hi[4] = {mac[4], mac[5], 0, 0};

    pv_sriov_mmio_write(t->dev, pv_sriov_pf_rid(t->dev), (unsigned)t->prof.pf_regs_bar, base + SWPF_VF_MAC_LO, lo, 4);
    pv_sriov_mmio_write(t->dev, pv_sriov_pf_rid(t->dev), (unsigned)t->prof.pf_regs_bar, base + SWPF_VF_MAC_HI, hi, 4);
    memcpy(t->blk[vf][TPF_BLOCK_MAC], mac, 6);
    t->blk_len[vf][TPF_BLOCK_MAC] = 6;
}

/*
 * Build the device (default profile), plug the host's ports, assign resources,
 * enable @num_vfs VFs and fill the tables.  Return 0 or a PCIVIRT_E* code.
 */
static inline int
tpf_init(struct tpf *t, uint16_t num_vfs, const struct pv_dma_port *dma, const struct pv_irq_port *irq)
{
    int rc;

    memset(t, 0, sizeof(*t));
    pv_profile_default(&t->prof);
    t->num_vfs = num_vfs;
    rc = pv_platform_create(NULL, &t->plat);
    rc = rc != 0 ? rc : pv_sriov_create(&t->prof, &t->dev, NULL);
    if (rc != 0) {
        return rc;
    }
    pv_sriov_set_ports(t->dev, dma, irq);
    rc = pv_sriov_assign_resources(t->dev, t->plat, NULL);
    rc = rc != 0 ? rc : pv_sriov_enable(t->dev, num_vfs, NULL);
    t->sriov = (SRIOV_DEVICE_INTERFACE_STANDARD_2){
        .Size = sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2),
        .Version = SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2,
        .Context = t,
        .InterfaceReference = tpf_ref,
        .InterfaceDereference = tpf_deref,
        .ReadVfConfig = tpf_read_config,
        .WriteVfConfig = tpf_write_config,
        .ReadVfConfigBlock = tpf_read_block,
        .WriteVfConfigBlock = tpf_write_block,
        .QueryProbedBars = tpf_probed_v1,
        .GetVendorAndDevice = tpf_ids,
        .GetDeviceLocation = tpf_location,
        .ResetVf = tpf_reset,
        .SetVfPowerState = tpf_power,
        .GetResourceForBar = tpf_resource,
        .QueryLuid = tpf_luid,
        .QueryProbedBars_2 = tpf_probed_v2,
    };
    t->mitig = (MITIGABLE_DEVICE_INTERFACE){.Size = sizeof(MITIGABLE_DEVICE_INTERFACE),
                                            .Version = 1,
                                            .Context = t,
                                            .InterfaceReference = tpf_ref,
                                            .InterfaceDereference = tpf_deref,
                                            .ReadWriteMitigatedRegister = tpf_mitigated};
    for (uint16_t v = 0; v < num_vfs && v < TPF_MAX_VFS; v++) {
        const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, (uint8_t)v};

        tpf_set_mac(t, v, mac);
    }
    return rc;
}

static inline void
tpf_fini(struct tpf *t)
{
    pv_sriov_destroy(t->dev);
    pv_platform_destroy(t->plat);
}

#endif /* PCIVIRT_TESTS_VSP_TESTPF_H */
