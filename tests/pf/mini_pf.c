/*
 * tests/pf/mini_pf.c - a second PF driver, written apart from the reference one.
 *
 * The broken drivers of test_conform_broken.c are the reference driver with a
 * fault switched on; a suite that only ever failed them could be fitted to that
 * one code base.  This file is a small PF driver of its own - no src/pf code, only
 * the public headers (pcivirt.h, wdf.h, bus.h) - that implements what four checks
 * need (device interface, the SR-IOV table, ATTACH/DETACH/NOTIFICATION/
 * EVENT_COMPLETE, a held QUERY_STOP, GetResourceForBar, QueryProbedBars, one
 * config block).  Built correct it passes those checks; built with MINI_PF_BUG it
 * makes one mistake a driver author could make from the documentation:
 *
 *   MINI_BUG_EXAMPLE_LARGE  GetResourceForBar as the docs' example: divides
 *                           u.Memory.Length and offsets the start by it even for a
 *                           MemoryLarge aperture (contract.md 6.9, 10.17)
 *   MINI_BUG_SAL_BOUND      block Length checked as the header's SAL annotation
 *                           says, < 128, so mlx5's 128-byte blocks fail (6.3, 10.4)
 *   MINI_BUG_EXAMPLE_NOTIFY NOTIFICATION as the docs' example: queued unchecked,
 *                           the event marked delivered before the buffer is
 *                           fetched (4.3, 10.18)
 *
 * Everything else the contract asks for is out of this driver's scope: the other
 * callbacks answer STATUS_NOT_SUPPORTED and the other IOCTLs are refused.
 */
#include <string.h>

#include "pcivirt/bus.h"
#include "pcivirt/pcivirt.h"
#include "pcivirt/wdf.h"

#define MINI_BUG_NONE 0
#define MINI_BUG_EXAMPLE_LARGE 1
#define MINI_BUG_SAL_BOUND 2
#define MINI_BUG_EXAMPLE_NOTIFY 3

#ifndef MINI_PF_BUG
#define MINI_PF_BUG MINI_BUG_NONE
#endif

#define MINI_BLOCK_ID 1
#define MINI_BLOCK_LEN 128
#define MINI_MAX_VFS 64
#define MINI_SRIOV_ID 0x0010

typedef struct _MINI_CONTEXT {
    PCIVIRT_BUS_INTERFACE Bus;
    BOOLEAN HaveBus;
    struct pcivirt_bus_resources Res;
    USHORT Sriov;
    USHORT NumVfs;
    ULONG VfBarRegs[6];
    WDFWAITLOCK Lock;
    WDFQUEUE Notifications;
    KEVENT Unblock;
    BOOLEAN Attached;
    BOOLEAN EventNew;     /* raised, not yet carried by a NOTIFICATION */
    BOOLEAN EventPending; /* the PnP thread waits for EVENT_COMPLETE */
    SRIOV_PF_EVENT Event;
    NTSTATUS EventStatus;
    UCHAR Blocks[MINI_MAX_VFS][MINI_BLOCK_LEN];
} MINI_CONTEXT, *PMINI_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(MINI_CONTEXT, MiniGetContext)

__attribute__((visibility("default"))) NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                                           PUNICODE_STRING RegistryPath);

/* ---- the device, through the bus interface only ---------------------------------- */

static USHORT
pf_read16(PMINI_CONTEXT Ctx, USHORT Offset)
{
    UCHAR b[2] = {0xFF, 0xFF};

    Ctx->Bus.config_read(Ctx->Bus.Context, Ctx->Res.pf_rid, Offset, b, 2);
    return (USHORT)(b[0] | b[1] << 8);
}

static ULONG
pf_read32(PMINI_CONTEXT Ctx, USHORT Offset)
{
    return pf_read16(Ctx, Offset) | (ULONG)pf_read16(Ctx, (USHORT)(Offset + 2)) << 16;
}

static VOID
pf_write16(PMINI_CONTEXT Ctx, USHORT Offset, USHORT Value)
{
    UCHAR b[2] = {(UCHAR)Value, (UCHAR)(Value >> 8)};

    Ctx->Bus.config_write(Ctx->Bus.Context, Ctx->Res.pf_rid, Offset, b, 2);
}

static USHORT
find_sriov(PMINI_CONTEXT Ctx)
{
    USHORT off = 0x100;

    for (int hops = 0; hops < 960 && off >= 0x100; hops++) {
        ULONG h = pf_read32(Ctx, off);

        if (h == 0 || h == 0xFFFFFFFF) {
            return 0;
        }
        if ((h & 0xFFFF) == MINI_SRIOV_ID) {
            return off;
        }
        off = (USHORT)((h >> 20) & 0xFFC);
    }
    return 0;
}

static NTSTATUS
MiniEvtPrepareHardware(WDFDEVICE Device, WDFCMRESLIST Raw, WDFCMRESLIST Translated)
{
    PMINI_CONTEXT ctx = MiniGetContext(Device);
    NTSTATUS st = WdfFdoQueryForInterface(Device, &GUID_PCIVIRT_BUS_INTERFACE, (PINTERFACE)&ctx->Bus,
                                          sizeof(ctx->Bus), PCIVIRT_BUS_INTERFACE_VERSION, NULL);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    ctx->HaveBus = TRUE;
    if (ctx->Bus.query_resources(ctx->Bus.Context, &ctx->Res) != 0 || (ctx->Sriov = find_sriov(ctx)) == 0) {
        return STATUS_DEVICE_NOT_READY;
    }
    if (!(pf_read16(ctx, (USHORT)(ctx->Sriov + 0x08)) & 0x1)) {
        pf_write16(ctx, (USHORT)(ctx->Sriov + 0x10), pf_read16(ctx, (USHORT)(ctx->Sriov + 0x0C))); /* InitialVFs */
        pf_write16(ctx, (USHORT)(ctx->Sriov + 0x08), (USHORT)(pf_read16(ctx, (USHORT)(ctx->Sriov + 0x08)) | 0x9));
    }
    ctx->NumVfs = pf_read16(ctx, (USHORT)(ctx->Sriov + 0x10));
    for (unsigned i = 0; i < 6; i++) {
        ctx->VfBarRegs[i] = pf_read32(ctx, (USHORT)(ctx->Sriov + 0x24 + 4 * i));
    }
    if (ctx->NumVfs == 0 || ctx->NumVfs > MINI_MAX_VFS || ctx->Bus.query_resources(ctx->Bus.Context, &ctx->Res) != 0) {
        return STATUS_DEVICE_NOT_READY;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS
MiniEvtReleaseHardware(WDFDEVICE Device, WDFCMRESLIST Translated)
{
    PMINI_CONTEXT ctx = MiniGetContext(Device);

    if (ctx->HaveBus) {
        ctx->Bus.InterfaceDereference(ctx->Bus.Context);
        ctx->HaveBus = FALSE;
    }
    return STATUS_SUCCESS;
}

/* ---- the SR-IOV table ------------------------------------------------------------- */

static VOID
mini_ref(PVOID Context)
{
    wdf_interface_reference(Context);
}

static VOID
mini_deref(PVOID Context)
{
    wdf_interface_dereference(Context);
}

static NTSTATUS
mini_read_config(PVOID Context, PVOID Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
mini_write_config(PVOID Context, const VOID *Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    return STATUS_NOT_SUPPORTED;
}

static BOOLEAN
block_args_ok(PMINI_CONTEXT Ctx, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
#if MINI_PF_BUG == MINI_BUG_SAL_BOUND
    BOOLEAN length_ok = Length >= 1 && Length < MINI_BLOCK_LEN; /* _In_range_(<, 128) */
#else
    BOOLEAN length_ok = Length >= 1 && Length <= MINI_BLOCK_LEN;
#endif
    return Buffer != NULL && length_ok && VfIndex < Ctx->NumVfs && BlockId == MINI_BLOCK_ID;
}

static NTSTATUS
mini_read_block(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    PMINI_CONTEXT ctx = Context;

    if (!block_args_ok(ctx, VfIndex, BlockId, Buffer, Length)) {
        return STATUS_INVALID_PARAMETER;
    }
    memcpy(Buffer, ctx->Blocks[VfIndex], Length);
    return STATUS_SUCCESS;
}

static NTSTATUS
mini_write_block(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    PMINI_CONTEXT ctx = Context;

    if (!block_args_ok(ctx, VfIndex, BlockId, Buffer, Length)) {
        return STATUS_INVALID_PARAMETER;
    }
    memset(ctx->Blocks[VfIndex], 0, MINI_BLOCK_LEN);
    memcpy(ctx->Blocks[VfIndex], Buffer, Length);
    return STATUS_SUCCESS;
}

/* Per-VF size of VF BAR @Bar: the aperture the bus assigned, over NumVFs. */
static ULONGLONG
per_vf_size(PMINI_CONTEXT Ctx, USHORT Bar)
{
    return RtlCmDecodeMemIoResource(&Ctx->Res.vf_bar[Bar], NULL) / Ctx->NumVfs;
}

static NTSTATUS
mini_probed_bars(PVOID Context, PULONG Values)
{
    PMINI_CONTEXT ctx = Context;

    if (Values == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    memset(Values, 0, 6 * sizeof(ULONG));
    for (USHORT i = 0; i < 6; i++) {
        ULONGLONG mask = ~(per_vf_size(ctx, i) - 1);

        if (per_vf_size(ctx, i) == 0) {
            continue;
        }
        Values[i] = ((ULONG)mask & 0xFFFFFFF0u) | (ctx->VfBarRegs[i] & 0xF);
        if ((ctx->VfBarRegs[i] & 0x6) == 0x4 && i < 5) {
            Values[++i] = (ULONG)(mask >> 32);
        }
    }
    return STATUS_SUCCESS;
}

static VOID
mini_vendor_device(PVOID Context, USHORT VfIndex, PUSHORT VendorId, PUSHORT DeviceId)
{
    *VendorId = 0xFFFF;
    *DeviceId = 0xFFFF;
}

static VOID
mini_location(PVOID Context, USHORT VfIndex, PUINT16 Segment, PUINT8 Bus, PUINT8 Function)
{
    *Segment = 0xFFFF;
    *Bus = 0xFF;
    *Function = 0xFF;
}

static NTSTATUS
mini_reset(PVOID Context, USHORT VfIndex)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
mini_power(PVOID Context, USHORT VfIndex, DEVICE_POWER_STATE PowerState, BOOLEAN Wake)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
mini_resource_for_bar(PVOID Context, USHORT VfIndex, USHORT BarIndex, PCM_PARTIAL_RESOURCE_DESCRIPTOR Resource)
{
    PMINI_CONTEXT ctx = Context;

    if (Resource == NULL || BarIndex >= PCI_TYPE0_ADDRESSES) {
        return STATUS_INVALID_PARAMETER;
    }
    if (VfIndex >= ctx->NumVfs) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    *Resource = ctx->Res.vf_bar[BarIndex];
    if (Resource->Type != CmResourceTypeMemory && Resource->Type != CmResourceTypeMemoryLarge) {
        return STATUS_SUCCESS;
    }
#if MINI_PF_BUG == MINI_BUG_EXAMPLE_LARGE
    Resource->u.Memory.Length /= ctx->NumVfs;
    Resource->u.Memory.Start.QuadPart += (LONGLONG)VfIndex * Resource->u.Memory.Length;
    return STATUS_SUCCESS;
#else
    {
        ULONGLONG start = 0, len = RtlCmDecodeMemIoResource(Resource, &start) / ctx->NumVfs;

        return RtlCmEncodeMemIoResource(Resource, Resource->Type, len, start + VfIndex * len);
    }
#endif
}

static NTSTATUS
mini_luid(PVOID Context, PLUID Luid)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
mini_probed_bars_2(PVOID Context, USHORT VfIndex, PULONG Values)
{
    return mini_probed_bars(Context, Values);
}

static NTSTATUS
mini_vf_luid(PVOID Context, USHORT VfIndex, PLUID Luid)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
mini_luid_vf(PVOID Context, LUID Luid, PUSHORT VfIndex)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
add_sriov_table(WDFDEVICE Device)
{
    SRIOV_DEVICE_INTERFACE_STANDARD_2 t;
    WDF_QUERY_INTERFACE_CONFIG qi;

    RtlZeroMemory(&t, sizeof(t));
    t.Size = sizeof(t); /* version 2 only: this driver serves no 120-byte requester */
    t.Version = SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2;
    t.Context = MiniGetContext(Device);
    t.InterfaceReference = mini_ref;
    t.InterfaceDereference = mini_deref;
    t.ReadVfConfig = mini_read_config;
    t.WriteVfConfig = mini_write_config;
    t.ReadVfConfigBlock = mini_read_block;
    t.WriteVfConfigBlock = mini_write_block;
    t.QueryProbedBars = mini_probed_bars;
    t.GetVendorAndDevice = mini_vendor_device;
    t.GetDeviceLocation = mini_location;
    t.ResetVf = mini_reset;
    t.SetVfPowerState = mini_power;
    t.GetResourceForBar = mini_resource_for_bar;
    t.QueryLuid = mini_luid;
    t.QueryProbedBars_2 = mini_probed_bars_2;
    t.QueryVfLuid = mini_vf_luid;
    t.QueryLuidVf = mini_luid_vf;
    WDF_QUERY_INTERFACE_CONFIG_INIT(&qi, (PINTERFACE)&t, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, NULL);
    return WdfDeviceAddQueryInterface(Device, &qi);
}

/* ---- the PnP event protocol (contract.md 4.3-4.6, 7.2) ------------------------------ */

/* Under Lock: give a new event to a queued NOTIFICATION. */
static VOID
deliver(PMINI_CONTEXT Ctx)
{
    WDFREQUEST req;
    PVOID buf;
    NTSTATUS st;

    while (Ctx->EventNew && NT_SUCCESS(WdfIoQueueRetrieveNextRequest(Ctx->Notifications, &req))) {
#if MINI_PF_BUG == MINI_BUG_EXAMPLE_NOTIFY
        Ctx->EventNew = FALSE; /* the example marks it delivered first */
        st = WdfRequestRetrieveOutputBuffer(req, sizeof(SRIOV_PF_EVENT), &buf, NULL);
#else
        st = WdfRequestRetrieveOutputBuffer(req, sizeof(SRIOV_PF_EVENT), &buf, NULL);
        Ctx->EventNew = !NT_SUCCESS(st);
#endif
        if (!NT_SUCCESS(st)) {
            WdfRequestComplete(req, st);
            continue;
        }
        *(SRIOV_PF_EVENT *)buf = Ctx->Event;
        WdfRequestCompleteWithInformation(req, STATUS_SUCCESS, sizeof(SRIOV_PF_EVENT));
    }
}

static VOID
cancel_notifications(PMINI_CONTEXT Ctx, NTSTATUS Status)
{
    WDFREQUEST req;

    while (NT_SUCCESS(WdfIoQueueRetrieveNextRequest(Ctx->Notifications, &req))) {
        WdfRequestComplete(req, Status);
    }
}

/* Under Lock: the PnP thread stops waiting with @Status. */
static VOID
release_waiter(PMINI_CONTEXT Ctx, NTSTATUS Status)
{
    if (Ctx->EventPending) {
        Ctx->EventStatus = Status;
        Ctx->EventPending = FALSE;
        Ctx->EventNew = FALSE;
        KeSetEvent(&Ctx->Unblock, IO_NO_INCREMENT, FALSE);
    }
}

static NTSTATUS
ioctl_notification(PMINI_CONTEXT Ctx, WDFREQUEST Request)
{
    NTSTATUS st = STATUS_SUCCESS;
    PVOID buf = NULL;

#if MINI_PF_BUG != MINI_BUG_EXAMPLE_NOTIFY
    st = WdfRequestRetrieveOutputBuffer(Request, sizeof(SRIOV_PF_EVENT), &buf, NULL);
    if (!NT_SUCCESS(st)) {
        return st;
    }
#endif
    (void)buf;
    WdfWaitLockAcquire(Ctx->Lock, NULL);
    st = Ctx->Attached ? WdfRequestForwardToIoQueue(Request, Ctx->Notifications) : STATUS_INVALID_DEVICE_STATE;
    if (NT_SUCCESS(st)) {
        deliver(Ctx);
        st = STATUS_PENDING;
    }
    WdfWaitLockRelease(Ctx->Lock);
    return st;
}

static NTSTATUS
ioctl_event_complete(PMINI_CONTEXT Ctx, WDFREQUEST Request)
{
    PSRIOV_PNP_EVENT_COMPLETE in;
    NTSTATUS st = WdfRequestRetrieveInputBuffer(Request, sizeof(*in), (PVOID *)&in, NULL);

    if (NT_SUCCESS(st)) {
        WdfWaitLockAcquire(Ctx->Lock, NULL);
        if (!Ctx->EventNew) {
            release_waiter(Ctx, in->QueryStatus);
        }
        WdfWaitLockRelease(Ctx->Lock);
    }
    return st;
}

static NTSTATUS
ioctl_attach_detach(PMINI_CONTEXT Ctx, BOOLEAN Attach)
{
    NTSTATUS st = STATUS_SUCCESS;

    WdfWaitLockAcquire(Ctx->Lock, NULL);
    if (Attach) {
        st = Ctx->Attached ? STATUS_SHARING_VIOLATION : STATUS_SUCCESS;
        Ctx->Attached = TRUE;
    } else {
        Ctx->Attached = FALSE;
        release_waiter(Ctx, STATUS_SUCCESS);
        cancel_notifications(Ctx, STATUS_CANCELLED);
    }
    WdfWaitLockRelease(Ctx->Lock);
    return st;
}

static VOID
MiniEvtIoDeviceControl(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputLength, size_t InputLength,
                       ULONG IoControlCode)
{
    PMINI_CONTEXT ctx = MiniGetContext(WdfIoQueueGetDevice(Queue));
    NTSTATUS st = STATUS_INVALID_DEVICE_REQUEST;

    if (WdfRequestGetRequestorMode(Request) == KernelMode) {
        switch (IoControlCode) {
        case IOCTL_SRIOV_NOTIFICATION: st = ioctl_notification(ctx, Request); break;
        case IOCTL_SRIOV_EVENT_COMPLETE: st = ioctl_event_complete(ctx, Request); break;
        case IOCTL_SRIOV_ATTACH: st = ioctl_attach_detach(ctx, TRUE); break;
        case IOCTL_SRIOV_DETACH: st = ioctl_attach_detach(ctx, FALSE); break;
        default: break;
        }
    }
    if (st != STATUS_PENDING) {
        WdfRequestComplete(Request, st);
    }
}

static NTSTATUS
forward(WDFDEVICE Device, PIRP Irp)
{
    IoSkipCurrentIrpStackLocation(Irp);
    return WdfDeviceWdmDispatchPreprocessedIrp(Device, Irp);
}

/* QUERY_STOP is held until the VSP answers; removal lets every held thing go. */
static NTSTATUS
MiniEvtPnpPreprocess(WDFDEVICE Device, PIRP Irp)
{
    PMINI_CONTEXT ctx = MiniGetContext(Device);
    UCHAR minor = IoGetCurrentIrpStackLocation(Irp)->MinorFunction;
    LARGE_INTEGER timeout;
    NTSTATUS st = STATUS_SUCCESS;
    BOOLEAN wait = FALSE;

    WdfWaitLockAcquire(ctx->Lock, NULL);
    if (minor == IRP_MN_QUERY_STOP_DEVICE && ctx->Attached) {
        ctx->Event = SriovEventPfQueryStopDevice;
        ctx->EventNew = ctx->EventPending = wait = TRUE;
        KeClearEvent(&ctx->Unblock);
        deliver(ctx);
    } else if (minor == IRP_MN_SURPRISE_REMOVAL || minor == IRP_MN_REMOVE_DEVICE) {
        release_waiter(ctx, STATUS_SUCCESS);
        cancel_notifications(ctx, minor == IRP_MN_SURPRISE_REMOVAL ? STATUS_DEVICE_REMOVED : STATUS_CANCELLED);
    }
    WdfWaitLockRelease(ctx->Lock);
    if (wait) {
        timeout.QuadPart = WDF_REL_TIMEOUT_IN_SEC(120);
        KeWaitForSingleObject(&ctx->Unblock, Executive, KernelMode, FALSE, &timeout);
        WdfWaitLockAcquire(ctx->Lock, NULL);
        st = ctx->EventPending ? STATUS_SUCCESS : ctx->EventStatus; /* a timeout lets the stop proceed */
        ctx->EventPending = ctx->EventNew = FALSE;
        WdfWaitLockRelease(ctx->Lock);
    }
    if (!NT_SUCCESS(st)) {
        Irp->IoStatus.Status = st;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return st;
    }
    return forward(Device, Irp);
}

/* ---- EvtDriverDeviceAdd and DriverEntry ------------------------------------------------ */

static NTSTATUS
create_queues(WDFDEVICE Device, PMINI_CONTEXT Ctx)
{
    WDF_IO_QUEUE_CONFIG config;
    WDFQUEUE queue;
    NTSTATUS st;

    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&config, WdfIoQueueDispatchParallel);
    config.PowerManaged = WdfFalse;
    config.EvtIoDeviceControl = MiniEvtIoDeviceControl;
    config.EvtIoInternalDeviceControl = MiniEvtIoDeviceControl;
    st = WdfIoQueueCreate(Device, &config, WDF_NO_OBJECT_ATTRIBUTES, &queue);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    WDF_IO_QUEUE_CONFIG_INIT(&config, WdfIoQueueDispatchManual);
    config.PowerManaged = WdfFalse;
    return WdfIoQueueCreate(Device, &config, WDF_NO_OBJECT_ATTRIBUTES, &Ctx->Notifications);
}

static NTSTATUS
MiniEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    static UCHAR minors[] = {IRP_MN_QUERY_STOP_DEVICE, IRP_MN_SURPRISE_REMOVAL, IRP_MN_REMOVE_DEVICE};
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFDEVICE device;
    PMINI_CONTEXT ctx;
    NTSTATUS st;

    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = MiniEvtPrepareHardware;
    pnp.EvtDeviceReleaseHardware = MiniEvtReleaseHardware;
    WdfDeviceInitSetPnpPowerEventCallbacks(DeviceInit, &pnp);
    WdfDeviceInitSetIoType(DeviceInit, WdfDeviceIoBuffered);
    st = WdfDeviceInitAssignWdmIrpPreprocessCallback(DeviceInit, MiniEvtPnpPreprocess, IRP_MJ_PNP, minors,
                                                     sizeof(minors));
    if (!NT_SUCCESS(st)) {
        return st;
    }
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, MINI_CONTEXT);
    st = WdfDeviceCreate(&DeviceInit, &attributes, &device);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    ctx = MiniGetContext(device);
    KeInitializeEvent(&ctx->Unblock, NotificationEvent, FALSE);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = device;
    st = WdfWaitLockCreate(&attributes, &ctx->Lock);
    st = NT_SUCCESS(st) ? WdfDeviceCreateDeviceInterface(device, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, NULL) : st;
    st = NT_SUCCESS(st) ? add_sriov_table(device) : st;
    return NT_SUCCESS(st) ? create_queues(device, ctx) : st;
}

NTSTATUS
DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;
    WDFDRIVER driver;

    WDF_DRIVER_CONFIG_INIT(&config, MiniEvtDeviceAdd);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, &driver);
}
