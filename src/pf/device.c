/*
 * pf/device.c - device creation, the published interfaces, and PnP.
 *
 * PfDeviceCreate follows the seed's EvtDriverDeviceAdd (contract.md 3.1):
 * WdfDeviceCreate, then WdfDeviceCreateDeviceInterface for
 * GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, then the SR-IOV table registered with
 * WdfDeviceAddQueryInterface - as version 1 (120 bytes), with a query callback
 * that fills the version-2 tail for a requester asking for 144 bytes
 * (contract.md 3.2) - then the mitigable table, then the queues.
 *
 * PnP: the rebalance protocol needs the PF to hold IRP_MN_QUERY_STOP_DEVICE
 * until the stack answers (contract.md 7.2), so the driver sees the PnP IRPs in
 * a WDM preprocess callback, as the docs' example does: it runs the pf_pnp state
 * machine under PnpLock, performs the actions it returns, drops the lock, waits
 * when told to (bounded by the driver's safety timeout), and then completes the
 * IRP (veto) or hands it to the framework.  Hardware is bound in
 * PrepareHardware and released in ReleaseHardware; the per-VF state (blocks,
 * ranges, virtual config) survives a rebalance when NumVFs does not change.
 */
#include <string.h>

#include "dev/regs.h"
#include "pf/driver.h"
#include "util/alloc.h"
#include "util/le.h"

EVT_WDF_DEVICE_PREPARE_HARDWARE PfEvtPrepareHardware;
EVT_WDF_DEVICE_RELEASE_HARDWARE PfEvtReleaseHardware;
EVT_WDFDEVICE_WDM_IRP_PREPROCESS PfEvtPnpPreprocess;
EVT_WDF_OBJECT_CONTEXT_DESTROY PfEvtDeviceDestroy;

/* ---- hardware state ---------------------------------------------------------- */

NTSTATUS
PfHwEnter(PPF_DEVICE_CONTEXT Ctx)
{
    pv_rwlock_rdlock(&Ctx->HwLock);
    if (Ctx->Removed) {
        pv_rwlock_rdunlock(&Ctx->HwLock);
        return STATUS_NO_SUCH_DEVICE;
    }
    if (!Ctx->Started) {
        pv_rwlock_rdunlock(&Ctx->HwLock);
        return STATUS_DEVICE_NOT_READY;
    }
    return STATUS_SUCCESS;
}

VOID
PfHwLeave(PPF_DEVICE_CONTEXT Ctx)
{
    pv_rwlock_rdunlock(&Ctx->HwLock);
}

static void
free_vf_state(PPF_DEVICE_CONTEXT Ctx)
{
    pf_cfgview_destroy(Ctx->CfgView);
    pf_blocks_destroy(Ctx->Blocks);
    pf_mitig_destroy(Ctx->Mitig);
    pv_free(Ctx->VfPower);
    pv_free(Ctx->VfWake);
    Ctx->CfgView = NULL;
    Ctx->Blocks = NULL;
    Ctx->Mitig = NULL;
    Ctx->VfPower = NULL;
    Ctx->VfWake = NULL;
    Ctx->NumVfs = 0;
}

/* Block store callback: a PF-side change is an invalidation (contract.md 4.7). */
static void
blocks_changed(void *ctx, uint16_t vf, uint64_t mask)
{
    PfInvalidatePost(ctx, vf, mask);
}

static NTSTATUS
build_blocks(PPF_DEVICE_CONTEXT Ctx, uint16_t n)
{
    NTSTATUS st = pf_blocks_create(n, blocks_changed, NULL, Ctx, &Ctx->Blocks);

    if (NT_SUCCESS(st)) {
        st = pf_blocks_define(Ctx->Blocks, PF_BLOCK_ID_VF_INFO, false);
    }
    if (NT_SUCCESS(st)) {
        st = pf_blocks_define(Ctx->Blocks, PF_BLOCK_ID_MAILBOX, true);
    }
    return st;
}

/* The software device's privileged page (dev/regs.h) is trapped by default. */
static NTSTATUS
default_ranges(PPF_DEVICE_CONTEXT Ctx)
{
    struct pf_mitig_range r = {0, SWVF_PRIV_PAGE / PF_MITIG_PAGE_SIZE, SWVF_PRIV_PAGE_SIZE / PF_MITIG_PAGE_SIZE, true,
                               true};

    if (!Ctx->Hw.swdev || Ctx->Hw.vf_bar_size[0] < SWVF_PRIV_PAGE + SWVF_PRIV_PAGE_SIZE) {
        return STATUS_SUCCESS;
    }
    return pf_mitig_set(Ctx->Mitig, SRIOV_INVALIDATE_BLOCK_ALL_VFS, &r, 1);
}

static void
default_macs(PPF_DEVICE_CONTEXT Ctx)
{
    for (uint16_t vf = 0; Ctx->Hw.swdev && vf < Ctx->NumVfs; vf++) {
        uint8_t mac[6];
        uint32_t q, r;

        if (pf_hw_get_vf_settings(&Ctx->Hw, vf, mac, &q, &r) == 0 && (le32_get(mac) | le16_get(mac + 4)) == 0) {
            const uint8_t fresh[6] = {PF_HW_MAC_OUI0,     0x70,       0x76, (uint8_t)(Ctx->Hw.res.pf_rid >> 8),
                                      (uint8_t)(vf >> 8), (uint8_t)vf};

            pf_hw_set_vf_settings(&Ctx->Hw, vf, fresh, 0, 0);
        }
    }
}

static NTSTATUS
build_vf_state(PPF_DEVICE_CONTEXT Ctx)
{
    uint16_t n = Ctx->Hw.num_vfs;
    struct pf_cfg_io io = {&Ctx->Hw, pf_hw_vf_config_read, pf_hw_vf_config_write, pf_hw_vf_reset};
    struct pf_cfg_identity id = {Ctx->Hw.vendor_id, Ctx->Hw.vf_device_id, {0}};
    NTSTATUS st;

    pf_probed_bars(Ctx->Hw.vf_bar_regs, Ctx->Hw.vf_bar_size, id.probed_bars);
    if (Ctx->NumVfs == n && Ctx->CfgView != NULL) {
        return STATUS_SUCCESS; /* a rebalance with the same VFs keeps every VF's state */
    }
    free_vf_state(Ctx);
    Ctx->NumVfs = n;
    Ctx->VfPower = pv_calloc(n, 1);
    Ctx->VfWake = pv_calloc(n, 1);
    Ctx->Mitig = pf_mitig_create(n);
    if (Ctx->VfPower == NULL || Ctx->VfWake == NULL || Ctx->Mitig == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memset(Ctx->VfPower, PowerDeviceD0, n);
    st = build_blocks(Ctx, n);
    st = NT_SUCCESS(st) ? pf_cfgview_create(&io, n, &id, &Ctx->CfgView) : st;
    st = NT_SUCCESS(st) ? default_ranges(Ctx) : st;
    if (NT_SUCCESS(st)) {
        /* The initial ranges are not a change the stack must be told about. */
        for (uint16_t vf = 0; vf < n; vf++) {
            pf_mitig_take_dirty(Ctx->Mitig, vf);
        }
        default_macs(Ctx);
    }
    return st;
}

static NTSTATUS
resize_inval(PPF_DEVICE_CONTEXT Ctx, uint16_t n)
{
    struct pf_inval *fresh;

    WdfWaitLockAcquire(Ctx->IoLock, NULL);
    if (Ctx->Inval == NULL || Ctx->NumVfs != n) {
        fresh = pf_inval_create(n);
        if (fresh == NULL) {
            WdfWaitLockRelease(Ctx->IoLock);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        pf_inval_destroy(Ctx->Inval);
        Ctx->Inval = fresh;
    }
    WdfWaitLockRelease(Ctx->IoLock);
    return STATUS_SUCCESS;
}

NTSTATUS
PfEvtPrepareHardware(WDFDEVICE Device, WDFCMRESLIST ResourcesRaw, WDFCMRESLIST ResourcesTranslated)
{
    PPF_DEVICE_CONTEXT ctx = PfDeviceGetContext(Device);
    NTSTATUS st;

    st = pf_hw_bind(&ctx->Hw, Device);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    st = pf_hw_start(&ctx->Hw, ctx->RequestedVfs);
    if (NT_SUCCESS(st)) {
        st = resize_inval(ctx, ctx->Hw.num_vfs);
    }
    pv_rwlock_wrlock(&ctx->HwLock);
    if (NT_SUCCESS(st)) {
        st = build_vf_state(ctx);
    }
    if (NT_SUCCESS(st)) {
        ctx->Luids.num_vfs = ctx->NumVfs;
        ctx->Started = true;
    }
    pv_rwlock_wrunlock(&ctx->HwLock);
    if (!NT_SUCCESS(st)) {
        pf_hw_unbind(&ctx->Hw);
    }
    return st;
}

NTSTATUS
PfEvtReleaseHardware(WDFDEVICE Device, WDFCMRESLIST ResourcesTranslated)
{
    PPF_DEVICE_CONTEXT ctx = PfDeviceGetContext(Device);

    pv_rwlock_wrlock(&ctx->HwLock);
    ctx->Started = false;
    pf_hw_unbind(&ctx->Hw);
    pv_rwlock_wrunlock(&ctx->HwLock);
    return STATUS_SUCCESS;
}

VOID
PfEvtDeviceDestroy(WDFOBJECT Object)
{
    PPF_DEVICE_CONTEXT ctx = PfDeviceGetContext(Object);

    free_vf_state(ctx);
    pf_inval_destroy(ctx->Inval);
    if (ctx->HwLockReady) {
        pv_rwlock_destroy(&ctx->HwLock);
    }
}

/* ---- PnP: the rebalance protocol (contract.md 7.2) ----------------------------- */

VOID
PfPnpApplyLocked(PPF_DEVICE_CONTEXT Ctx, unsigned act, NTSTATUS cancel_status)
{
    if (act & PF_PNP_GATE_CLOSE) {
        KeClearEvent(&Ctx->SafeToAttachEvent);
    }
    if (act & PF_PNP_WAIT) {
        KeClearEvent(&Ctx->UnblockEvent);
    }
    if (act & PF_PNP_CANCEL_NOTIFY) {
        PfCancelNotifications(Ctx, cancel_status);
    }
    if (act & PF_PNP_DELIVER) {
        PfNotifyDeliver(Ctx);
    }
    if (act & PF_PNP_UNBLOCK) {
        KeSetEvent(&Ctx->UnblockEvent, IO_NO_INCREMENT, FALSE);
    }
    if (act & PF_PNP_GATE_OPEN) {
        KeSetEvent(&Ctx->SafeToAttachEvent, IO_NO_INCREMENT, FALSE);
    }
}

static unsigned
pnp_step(PPF_DEVICE_CONTEXT Ctx, unsigned (*op)(struct pf_pnp *), NTSTATUS cancel_status)
{
    unsigned act;

    WdfWaitLockAcquire(Ctx->PnpLock, NULL);
    act = op(&Ctx->Pnp);
    PfPnpApplyLocked(Ctx, act, cancel_status);
    WdfWaitLockRelease(Ctx->PnpLock);
    return act;
}

/* Wait for EVENT_COMPLETE or DETACH, never holding PnpLock; return the IRP status. */
static NTSTATUS
pnp_wait(PPF_DEVICE_CONTEXT Ctx)
{
    LARGE_INTEGER timeout;
    NTSTATUS st;

    timeout.QuadPart = Ctx->WaitTimeout;
    st = KeWaitForSingleObject(&Ctx->UnblockEvent, Executive, KernelMode, FALSE, &timeout);
    WdfWaitLockAcquire(Ctx->PnpLock, NULL);
    st = pf_pnp_wait_result(&Ctx->Pnp, st == STATUS_TIMEOUT);
    WdfWaitLockRelease(Ctx->PnpLock);
    return st;
}

static NTSTATUS
forward(WDFDEVICE Device, PIRP Irp)
{
    IoSkipCurrentIrpStackLocation(Irp);
    return WdfDeviceWdmDispatchPreprocessedIrp(Device, Irp);
}

static NTSTATUS
complete_irp(PIRP Irp, NTSTATUS Status)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS
on_query_stop(WDFDEVICE Device, PPF_DEVICE_CONTEXT Ctx, PIRP Irp)
{
    NTSTATUS st = STATUS_SUCCESS;

    if (pnp_step(Ctx, pf_pnp_query_stop, STATUS_CANCELLED) & PF_PNP_WAIT) {
        st = pnp_wait(Ctx);
    }
    if (!NT_SUCCESS(st)) {
        return complete_irp(Irp, st); /* veto: the PnP manager sends CANCEL_STOP */
    }
    return forward(Device, Irp);
}

/* START completed by the lower drivers, or CANCEL_STOP: Restart, then the gate opens. */
static NTSTATUS
on_restart(WDFDEVICE Device, PPF_DEVICE_CONTEXT Ctx, PIRP Irp)
{
    NTSTATUS st = forward(Device, Irp);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (pnp_step(Ctx, pf_pnp_restart, STATUS_CANCELLED) & PF_PNP_WAIT) {
        pnp_wait(Ctx); /* the Restart's QueryStatus is only recorded (contract.md 4.4) */
        pnp_step(Ctx, pf_pnp_restart_done, STATUS_CANCELLED);
    }
    return st;
}

static NTSTATUS
on_removal(WDFDEVICE Device, PPF_DEVICE_CONTEXT Ctx, PIRP Irp, bool surprise)
{
    NTSTATUS done = surprise ? STATUS_DEVICE_REMOVED : STATUS_CANCELLED;

    pnp_step(Ctx, pf_pnp_remove, done);
    pv_rwlock_wrlock(&Ctx->HwLock);
    Ctx->Removed = true;
    pv_rwlock_wrunlock(&Ctx->HwLock);
    PfCompleteHeldRequests(Ctx, done);
    return forward(Device, Irp);
}

NTSTATUS
PfEvtPnpPreprocess(WDFDEVICE Device, PIRP Irp)
{
    PPF_DEVICE_CONTEXT ctx = PfDeviceGetContext(Device);
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);

    switch (sl->MinorFunction) {
    case IRP_MN_QUERY_STOP_DEVICE: return on_query_stop(Device, ctx, Irp);
    case IRP_MN_START_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE: return on_restart(Device, ctx, Irp);
    case IRP_MN_QUERY_REMOVE_DEVICE: pnp_step(ctx, pf_pnp_query_remove, STATUS_CANCELLED); break;
    case IRP_MN_CANCEL_REMOVE_DEVICE: pnp_step(ctx, pf_pnp_cancel_remove, STATUS_CANCELLED); break;
    case IRP_MN_SURPRISE_REMOVAL: return on_removal(Device, ctx, Irp, true);
    case IRP_MN_REMOVE_DEVICE: return on_removal(Device, ctx, Irp, false);
    default: break;
    }
    return forward(Device, Irp);
}

/* ---- creation -------------------------------------------------------------------- */

static NTSTATUS
add_interfaces(WDFDEVICE Device, PPF_DEVICE_CONTEXT Ctx)
{
    SRIOV_DEVICE_INTERFACE_STANDARD_2 sriov;
    MITIGABLE_DEVICE_INTERFACE mitigable;
    WDF_QUERY_INTERFACE_CONFIG qi;
    NTSTATUS st;

    /* Make the device visible as an assignable device (contract.md 3.1 step 1). */
    st = WdfDeviceCreateDeviceInterface(Device, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, NULL);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    /* Registered as version 1; the callback extends it for a 144-byte request (3.2). */
    PfFillSriovInterface(Ctx, &sriov);
    sriov.Size = sizeof(SRIOV_DEVICE_INTERFACE_STANDARD);
    sriov.Version = SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_1;
    WDF_QUERY_INTERFACE_CONFIG_INIT(&qi, (PINTERFACE)&sriov, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD,
                                    PfEvtSriovQueryInterface);
    st = WdfDeviceAddQueryInterface(Device, &qi);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    PfFillMitigableInterface(Ctx, &mitigable);
    WDF_QUERY_INTERFACE_CONFIG_INIT(&qi, (PINTERFACE)&mitigable, &GUID_MITIGABLE_DEVICE_INTERFACE, NULL);
    return WdfDeviceAddQueryInterface(Device, &qi);
}

static NTSTATUS
init_context(WDFDEVICE Device, PPF_DEVICE_CONTEXT Ctx, PPF_DRIVER_CONTEXT DriverContext)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    NTSTATUS st;

    Ctx->Device = Device;
    Ctx->WaitTimeout = DriverContext->WaitTimeout;
    Ctx->RequestedVfs = DriverContext->RequestedVfs;
    pf_pnp_init(&Ctx->Pnp);
    list_init(&Ctx->HeldUpdates);
    KeInitializeEvent(&Ctx->SafeToAttachEvent, NotificationEvent, TRUE);
    KeInitializeEvent(&Ctx->UnblockEvent, NotificationEvent, FALSE);
    if (pv_rwlock_init(&Ctx->HwLock) != 0) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    Ctx->HwLockReady = true;
    Ctx->Luids.base = pf_luid_alloc_block(0x10000);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = Device;
    st = WdfWaitLockCreate(&attributes, &Ctx->PnpLock);
    return NT_SUCCESS(st) ? WdfWaitLockCreate(&attributes, &Ctx->IoLock) : st;
}

NTSTATUS
PfDeviceCreate(PWDFDEVICE_INIT DeviceInit, PPF_DRIVER_CONTEXT DriverContext)
{
    static UCHAR minors[] = {IRP_MN_START_DEVICE,        IRP_MN_QUERY_STOP_DEVICE,    IRP_MN_CANCEL_STOP_DEVICE,
                             IRP_MN_QUERY_REMOVE_DEVICE, IRP_MN_CANCEL_REMOVE_DEVICE, IRP_MN_SURPRISE_REMOVAL,
                             IRP_MN_REMOVE_DEVICE};
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFDEVICE device;
    PPF_DEVICE_CONTEXT ctx;
    NTSTATUS st;

    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = PfEvtPrepareHardware;
    pnp.EvtDeviceReleaseHardware = PfEvtReleaseHardware;
    WdfDeviceInitSetPnpPowerEventCallbacks(DeviceInit, &pnp);
    WdfDeviceInitSetIoType(DeviceInit, WdfDeviceIoBuffered);
    st =
        WdfDeviceInitAssignWdmIrpPreprocessCallback(DeviceInit, PfEvtPnpPreprocess, IRP_MJ_PNP, minors, sizeof(minors));
    if (!NT_SUCCESS(st)) {
        return st;
    }
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, PF_DEVICE_CONTEXT);
    attributes.EvtDestroyCallback = PfEvtDeviceDestroy;
    st = WdfDeviceCreate(&DeviceInit, &attributes, &device);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    ctx = PfDeviceGetContext(device);
    st = init_context(device, ctx, DriverContext);
    st = NT_SUCCESS(st) ? add_interfaces(device, ctx) : st;
    return NT_SUCCESS(st) ? PfQueueInitialize(ctx) : st;
}
