/*
 * pf/admin.c - the PF-side administration API (see pf/pf.h).
 *
 * These calls are what makes the PF-initiated paths of the contract happen: a
 * new MAC for VF 3 changes the device's register and invalidates block 0 of VF 3
 * (DESIGN.md path 3); new trapped ranges complete that VF's held
 * MITIGATED_RANGE_UPDATE (contract.md 7.3).  They take HwLock shared like the
 * interface callbacks, so they never race a start or stop.
 */
#include <string.h>

#include "pcivirt/error.h"
#include "pf/driver.h"
#include "pf/conform/conform.h"
#include "pf/pf.h"

/* The reference driver's context on @Device, entered (HwLock shared), or a failure. */
static NTSTATUS
enter(WDFDEVICE Device, PPF_DEVICE_CONTEXT *Ctx)
{
    PPF_DEVICE_CONTEXT ctx = Device != NULL ? PfDeviceGetContext(Device) : NULL;

    if (ctx == NULL) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    *Ctx = ctx;
    return PfHwEnter(ctx);
}

static bool
vf_ok(PPF_DEVICE_CONTEXT Ctx, uint16_t vf, bool allow_all)
{
    return vf < Ctx->NumVfs || (allow_all && vf == SRIOV_INVALIDATE_BLOCK_ALL_VFS);
}

NTSTATUS
pf_admin_set_vf_mac(WDFDEVICE Device, uint16_t vf, const uint8_t mac[6])
{
    PPF_DEVICE_CONTEXT ctx;
    NTSTATUS st = enter(Device, &ctx);
    int rc;

    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (mac == NULL || !vf_ok(ctx, vf, false)) {
        st = STATUS_INVALID_PARAMETER;
    } else if ((rc = pf_hw_set_vf_settings(&ctx->Hw, vf, mac, 0, 0)) != 0) {
        st = rc == PCIVIRT_ENOTSUP ? STATUS_NOT_SUPPORTED : STATUS_DEVICE_NOT_READY;
    } else {
        PfInvalidatePost(ctx, vf, 1ull << PF_BLOCK_ID_VF_INFO);
    }
    PfHwLeave(ctx);
    return st;
}

NTSTATUS
pf_admin_set_vf_limits(WDFDEVICE Device, uint16_t vf, uint32_t queue_limit, uint32_t rate_limit)
{
    PPF_DEVICE_CONTEXT ctx;
    NTSTATUS st = enter(Device, &ctx);
    uint8_t mac[6];
    uint32_t q, r;

    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (!vf_ok(ctx, vf, false)) {
        st = STATUS_INVALID_PARAMETER;
    } else if (pf_hw_get_vf_settings(&ctx->Hw, vf, mac, &q, &r) != 0 ||
               pf_hw_set_vf_settings(&ctx->Hw, vf, mac, queue_limit, rate_limit) != 0) {
        st = ctx->Hw.swdev ? STATUS_DEVICE_NOT_READY : STATUS_NOT_SUPPORTED;
    } else {
        PfInvalidatePost(ctx, vf, 1ull << PF_BLOCK_ID_VF_INFO);
    }
    PfHwLeave(ctx);
    return st;
}

NTSTATUS
pf_admin_define_block(WDFDEVICE Device, uint32_t id, bool vf_writable)
{
    PPF_DEVICE_CONTEXT ctx;
    NTSTATUS st = enter(Device, &ctx);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    st = id == PF_BLOCK_ID_VF_INFO ? STATUS_INVALID_PARAMETER : pf_blocks_define(ctx->Blocks, id, vf_writable);
    PfHwLeave(ctx);
    return st;
}

NTSTATUS
pf_admin_set_vf_block(WDFDEVICE Device, uint16_t vf, uint32_t id, const void *data, uint32_t length)
{
    PPF_DEVICE_CONTEXT ctx;
    NTSTATUS st = enter(Device, &ctx);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (!vf_ok(ctx, vf, true) || (id == PF_BLOCK_ID_VF_INFO && ctx->Hw.swdev)) {
        st = STATUS_INVALID_PARAMETER;
    } else {
        st = pf_blocks_set(ctx->Blocks, vf, id, data, length); /* invalidates through the callback */
    }
    PfHwLeave(ctx);
    return st;
}

NTSTATUS
pf_admin_get_vf_block(WDFDEVICE Device, uint16_t vf, uint32_t id, void *buf, uint32_t cap, uint32_t *length)
{
    PPF_DEVICE_CONTEXT ctx;
    NTSTATUS st = enter(Device, &ctx);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    st = vf_ok(ctx, vf, false) ? pf_blocks_get(ctx->Blocks, vf, id, buf, cap, length) : STATUS_INVALID_PARAMETER;
    PfHwLeave(ctx);
    return st;
}

NTSTATUS
pf_admin_invalidate(WDFDEVICE Device, uint16_t vf, uint64_t mask)
{
    PPF_DEVICE_CONTEXT ctx;
    NTSTATUS st = enter(Device, &ctx);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (!vf_ok(ctx, vf, true)) {
        st = STATUS_INVALID_PARAMETER;
    } else {
        PfInvalidatePost(ctx, vf, mask);
    }
    PfHwLeave(ctx);
    return st;
}

static bool
ranges_inside_bars(PPF_DEVICE_CONTEXT Ctx, const struct pf_mitig_range *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t size = r[i].bar < PCI_TYPE0_ADDRESSES ? Ctx->Hw.vf_bar_size[r[i].bar] : 0;

        if (r[i].page_count > size / PF_MITIG_PAGE_SIZE ||
            r[i].base_page > size / PF_MITIG_PAGE_SIZE - r[i].page_count) {
            return false;
        }
    }
    return true;
}

NTSTATUS
pf_admin_set_mitigated_ranges(WDFDEVICE Device, uint16_t vf, const struct pf_mitig_range *ranges, unsigned n)
{
    PPF_DEVICE_CONTEXT ctx;
    NTSTATUS st = enter(Device, &ctx);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (!vf_ok(ctx, vf, true) || (n != 0 && ranges == NULL) || !ranges_inside_bars(ctx, ranges, n)) {
        st = STATUS_INVALID_PARAMETER;
    } else {
        st = pf_mitig_set(ctx->Mitig, vf, ranges, n);
    }
    if (NT_SUCCESS(st)) {
        PfMitigationRangesChanged(ctx);
    }
    PfHwLeave(ctx);
    return st;
}

NTSTATUS
pf_admin_status(WDFDEVICE Device, struct pf_admin_status *out)
{
    PPF_DEVICE_CONTEXT ctx = Device != NULL ? PfDeviceGetContext(Device) : NULL;

    if (ctx == NULL || out == NULL) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    memset(out, 0, sizeof(*out));
    WdfWaitLockAcquire(ctx->PnpLock, NULL);
    out->attached = ctx->Pnp.attached;
    out->rebalancing = ctx->Pnp.rebalancing;
    out->safe_to_attach = ctx->Pnp.safe_to_attach;
    out->events_raised = ctx->Pnp.events_raised;
    out->events_delivered = ctx->Pnp.events_delivered;
    WdfWaitLockRelease(ctx->PnpLock);
    pv_rwlock_rdlock(&ctx->HwLock);
    out->started = ctx->Started;
    out->num_vfs = ctx->NumVfs;
    out->total_vfs = ctx->Hw.total_vfs;
    out->pf_rid = ctx->Hw.res.pf_rid;
    out->segment = ctx->Hw.res.segment;
    pv_rwlock_rdunlock(&ctx->HwLock);
    out->interface_refs = __atomic_load_n(&ctx->InterfaceRefs, __ATOMIC_SEQ_CST);
    return STATUS_SUCCESS;
}

/* The PF-side triggers the conformance suite looks for in a driver (pf/conform/conform.h). */
__attribute__((visibility("default"))) const struct pf_conform_admin pcivirt_pf_conform_admin = {
    sizeof(struct pf_conform_admin),
    pf_admin_define_block,
    pf_admin_invalidate,
    pf_admin_set_mitigated_ranges,
};
