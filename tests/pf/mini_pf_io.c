/*
 * tests/pf/mini_pf_io.c - the mini PF driver's IOCTLs and PnP handling
 * (contract.md 4.2-4.7, 4.11, 7.2, 7.6); see mini_pf.h for the variants.
 *
 * One lock (the context's Lock) covers the event, the attachment, the gate and
 * the invalidations; nothing waits while holding it.  NOTIFICATIONs wait in a
 * manual queue.  INVALIDATE_BLOCK requests are held by the driver itself in a
 * short array, marked cancelable, so they are the driver's to complete at
 * removal - which is what the LEAK_HELD variant forgets.  A PnP QUERY_STOP is
 * held in the preprocess callback until EVENT_COMPLETE or DETACH (or a long
 * safety timeout on the host's clock); the ATTACH gate is a notification event,
 * signalled while ATTACH may proceed.
 */
#include <string.h>

#include "mini_pf.h"

/* 120 s on the host's clock: longer than any VSP's own timeout. */
#define MINI_WAIT_TIMEOUT WDF_REL_TIMEOUT_IN_SEC(120)

/* ---- NOTIFICATION / EVENT_COMPLETE / ATTACH / DETACH (4.3-4.6) ---------------------- */

/* Lock held: give a new event to a queued NOTIFICATION. */
static VOID
deliver(PMINI_CONTEXT Ctx)
{
    BOOLEAN any = FALSE;
    WDFREQUEST req;
    PVOID buf;
    NTSTATUS st;

    while (Ctx->EventNew && NT_SUCCESS(WdfIoQueueRetrieveNextRequest(Ctx->Notifications, &req))) {
#if MINI_PF_BUG == MINI_BUG_EXAMPLE_NOTIFY
        Ctx->EventNew = FALSE; /* the example marks it delivered first */
        st = WdfRequestRetrieveOutputBuffer(req, sizeof(SRIOV_PF_EVENT), &buf, NULL);
#elif MINI_PF_BUG == MINI_BUG_NOTIFY_ALL
        st = WdfRequestRetrieveOutputBuffer(req, sizeof(SRIOV_PF_EVENT), &buf, NULL);
        any |= NT_SUCCESS(st);                       /* every waiting NOTIFICATION hears the event */
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
    if (any) {
        Ctx->EventNew = FALSE;
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

/* Lock held: the PnP thread stops waiting with @Status. */
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

/* ATTACH waits while the gate is closed (4.5); never while holding Lock. */
static NTSTATUS
ioctl_attach(PMINI_CONTEXT Ctx)
{
    LARGE_INTEGER timeout;
    NTSTATUS st = STATUS_PENDING;

    while (st == STATUS_PENDING) {
        WdfWaitLockAcquire(Ctx->Lock, NULL);
        if (Ctx->Gone) {
            st = STATUS_NO_SUCH_DEVICE;
        } else if (KeReadStateEvent(&Ctx->GateOpen) != 0) {
            st = Ctx->Attached ? STATUS_SHARING_VIOLATION : STATUS_SUCCESS;
            Ctx->Attached = TRUE;
        }
        WdfWaitLockRelease(Ctx->Lock);
        if (st != STATUS_PENDING) {
            break;
        }
        timeout.QuadPart = MINI_WAIT_TIMEOUT;
        if (KeWaitForSingleObject(&Ctx->GateOpen, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT) {
            st = STATUS_IO_TIMEOUT;
        }
    }
    return st;
}

static NTSTATUS
ioctl_detach(PMINI_CONTEXT Ctx)
{
    WdfWaitLockAcquire(Ctx->Lock, NULL);
    Ctx->Attached = FALSE;
#if MINI_PF_BUG != MINI_BUG_DETACH_KEEPS
    release_waiter(Ctx, STATUS_SUCCESS); /* a held QUERY_STOP proceeds (4.6) */
#endif
    cancel_notifications(Ctx, STATUS_CANCELLED);
    WdfWaitLockRelease(Ctx->Lock);
    return STATUS_SUCCESS;
}

/* ---- INVALIDATE_BLOCK (4.7) ---------------------------------------------------------- */

/* Lock held: move one pending invalidation (ALL_VFS first) into @Out.  FALSE if none. */
static BOOLEAN
take_pending(PMINI_CONTEXT Ctx, PSRIOV_INVALIDATE_BLOCK Out)
{
    if (Ctx->PendingAll != 0) {
        Out->VfIndex = SRIOV_INVALIDATE_BLOCK_ALL_VFS;
        Out->BlockMask = Ctx->PendingAll;
        Ctx->PendingAll = 0;
        return TRUE;
    }
    for (USHORT i = 0; i < MINI_MAX_VFS; i++) {
        if (Ctx->Pending[i] != 0) {
            Out->VfIndex = i;
            Out->BlockMask = Ctx->Pending[i];
            Ctx->Pending[i] = 0;
            return TRUE;
        }
    }
    return FALSE;
}

/* Lock held: take back held request @i to complete it; FALSE if its cancel routine owns it. */
static BOOLEAN
unhold(PMINI_CONTEXT Ctx, unsigned i, WDFREQUEST *Request)
{
    *Request = Ctx->Held[i];
    if (*Request == NULL || WdfRequestUnmarkCancelable(*Request) == STATUS_CANCELLED) {
        return FALSE;
    }
    Ctx->Held[i] = NULL;
    return TRUE;
}

static BOOLEAN
has_pending(PMINI_CONTEXT Ctx)
{
    ULONGLONG any = Ctx->PendingAll;

    for (USHORT i = 0; i < MINI_MAX_VFS; i++) {
        any |= Ctx->Pending[i];
    }
    return any != 0;
}

/* Lock held: complete held requests while invalidations are pending. */
static VOID
deliver_invalidations(PMINI_CONTEXT Ctx)
{
    for (unsigned i = 0; i < MINI_MAX_HELD && has_pending(Ctx); i++) {
        PSRIOV_INVALIDATE_BLOCK out;
        WDFREQUEST req;
        NTSTATUS st;

        if (!unhold(Ctx, i, &req)) {
            continue;
        }
        st = WdfRequestRetrieveOutputBuffer(req, sizeof(*out), (PVOID *)&out, NULL); /* checked on arrival */
        if (!NT_SUCCESS(st)) {
            WdfRequestComplete(req, st);
            continue;
        }
        memset(out, 0, sizeof(*out));
        take_pending(Ctx, out);
        WdfRequestCompleteWithInformation(req, STATUS_SUCCESS, sizeof(*out));
    }
}

VOID
mini_invalidate(PMINI_CONTEXT Ctx, USHORT Vf, ULONGLONG Mask)
{
    WdfWaitLockAcquire(Ctx->Lock, NULL);
    if (Vf == SRIOV_INVALIDATE_BLOCK_ALL_VFS) {
        Ctx->PendingAll |= Mask;
    } else if (Vf < MINI_MAX_VFS) {
        Ctx->Pending[Vf] |= Mask;
    }
    deliver_invalidations(Ctx);
#if MINI_PF_BUG == MINI_BUG_NO_COALESCE
    memset(Ctx->Pending, 0, sizeof(Ctx->Pending)); /* nobody was waiting: the change is forgotten */
    Ctx->PendingAll = 0;
#endif
    WdfWaitLockRelease(Ctx->Lock);
}

static VOID
invalidate_cancel(WDFREQUEST Request)
{
    PMINI_CONTEXT ctx = MiniGetContext(WdfIoQueueGetDevice(WdfRequestGetIoQueue(Request)));

    WdfWaitLockAcquire(ctx->Lock, NULL);
    for (unsigned i = 0; i < MINI_MAX_HELD; i++) {
        if (ctx->Held[i] == Request) {
            ctx->Held[i] = NULL;
        }
    }
    WdfWaitLockRelease(ctx->Lock);
    WdfRequestComplete(Request, STATUS_CANCELLED);
}

static NTSTATUS
ioctl_invalidate_block(PMINI_CONTEXT Ctx, WDFREQUEST Request)
{
    PVOID buf;
    NTSTATUS st = WdfRequestRetrieveOutputBuffer(Request, sizeof(SRIOV_INVALIDATE_BLOCK), &buf, NULL);
    unsigned i = 0;

    if (!NT_SUCCESS(st)) {
        return st;
    }
    WdfWaitLockAcquire(Ctx->Lock, NULL);
    while (i < MINI_MAX_HELD && Ctx->Held[i] != NULL) {
        i++;
    }
    if (i == MINI_MAX_HELD) {
        st = STATUS_INSUFFICIENT_RESOURCES;
    } else if (!NT_SUCCESS(WdfRequestMarkCancelableEx(Request, invalidate_cancel))) {
        st = STATUS_CANCELLED;
    } else {
        Ctx->Held[i] = Request;
        st = STATUS_PENDING;
        deliver_invalidations(Ctx);
    }
    WdfWaitLockRelease(Ctx->Lock);
    return st;
}

#if MINI_PF_BUG != MINI_BUG_LEAK_HELD /* that variant's author never wrote it */
/* Lock held: removal completes every held INVALIDATE_BLOCK with @Status (7.6). */
static VOID
complete_held(PMINI_CONTEXT Ctx, NTSTATUS Status)
{
    WDFREQUEST req;

    for (unsigned i = 0; i < MINI_MAX_HELD; i++) {
        if (unhold(Ctx, i, &req)) {
            WdfRequestComplete(req, Status);
        }
    }
}
#endif

/* ---- PROXY_QUERY_LUID (4.11) and dispatch ------------------------------------------------ */

static NTSTATUS
ioctl_proxy_luid(PMINI_CONTEXT Ctx, WDFREQUEST Request, ULONG_PTR *Information)
{
    PSRIOV_PROXY_QUERY_LUID_OUTPUT out;
    NTSTATUS st = WdfRequestRetrieveOutputBuffer(Request, sizeof(*out), (PVOID *)&out, NULL);

    if (NT_SUCCESS(st)) {
#if MINI_PF_BUG == MINI_BUG_PROXY_LUID
        out->DeviceLuid = mini_luid_of(Ctx, 0); /* the first entry of the LUID table: VF 0's */
#else
        out->DeviceLuid = mini_luid_of(Ctx, 0xFFFF); /* QueryLuid's (4.11, 7.5) */
#endif
        *Information = sizeof(*out);
    }
    return st;
}

/* From user mode only PROXY_QUERY_LUID (4.2). */
static BOOLEAN
requestor_may_send(WDFREQUEST Request, ULONG IoControlCode)
{
    if (WdfRequestGetRequestorMode(Request) == KernelMode) {
        return TRUE;
    }
#if MINI_PF_BUG == MINI_BUG_USER_ATTACH
    return IoControlCode == IOCTL_SRIOV_PROXY_QUERY_LUID || IoControlCode == IOCTL_SRIOV_ATTACH; /* "the proxy too" */
#else
    return IoControlCode == IOCTL_SRIOV_PROXY_QUERY_LUID;
#endif
}

static VOID
MiniEvtIoDeviceControl(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputLength, size_t InputLength, ULONG IoControlCode)
{
    PMINI_CONTEXT ctx = MiniGetContext(WdfIoQueueGetDevice(Queue));
    NTSTATUS st = STATUS_INVALID_DEVICE_REQUEST;
    ULONG_PTR info = 0;

    if (requestor_may_send(Request, IoControlCode)) {
        switch (IoControlCode) {
        case IOCTL_SRIOV_NOTIFICATION: st = ioctl_notification(ctx, Request); break;
        case IOCTL_SRIOV_EVENT_COMPLETE: st = ioctl_event_complete(ctx, Request); break;
        case IOCTL_SRIOV_ATTACH: st = ioctl_attach(ctx); break;
        case IOCTL_SRIOV_DETACH: st = ioctl_detach(ctx); break;
        case IOCTL_SRIOV_INVALIDATE_BLOCK: st = ioctl_invalidate_block(ctx, Request); break;
        case IOCTL_SRIOV_PROXY_QUERY_LUID: st = ioctl_proxy_luid(ctx, Request, &info); break;
        default: break; /* IOCTLs 6-8: this driver traps no range */
        }
    }
    if (st != STATUS_PENDING) {
        WdfRequestCompleteWithInformation(Request, st, info);
    }
}

NTSTATUS
mini_create_queues(PMINI_CONTEXT Ctx)
{
    WDF_IO_QUEUE_CONFIG config;
    WDFQUEUE queue;
    NTSTATUS st;

    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&config, WdfIoQueueDispatchParallel);
    config.PowerManaged = WdfFalse;
    config.EvtIoDeviceControl = MiniEvtIoDeviceControl;
    config.EvtIoInternalDeviceControl = MiniEvtIoDeviceControl;
    st = WdfIoQueueCreate(Ctx->Device, &config, WDF_NO_OBJECT_ATTRIBUTES, &queue);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    WDF_IO_QUEUE_CONFIG_INIT(&config, WdfIoQueueDispatchManual);
    config.PowerManaged = WdfFalse;
    return WdfIoQueueCreate(Ctx->Device, &config, WDF_NO_OBJECT_ATTRIBUTES, &Ctx->Notifications);
}

/* ---- PnP (7.2, 7.6) --------------------------------------------------------------------- */

static NTSTATUS
forward(WDFDEVICE Device, PIRP Irp)
{
    IoSkipCurrentIrpStackLocation(Irp);
    return WdfDeviceWdmDispatchPreprocessedIrp(Device, Irp);
}

/* QUERY_STOP closes the gate and, with a VSP attached, waits for its EVENT_COMPLETE (4.4). */
static NTSTATUS
on_query_stop(WDFDEVICE Device, PMINI_CONTEXT Ctx, PIRP Irp)
{
    LARGE_INTEGER timeout;
    NTSTATUS st = STATUS_SUCCESS;
    BOOLEAN wait;

    WdfWaitLockAcquire(Ctx->Lock, NULL);
    KeClearEvent(&Ctx->GateOpen);
    wait = Ctx->Attached;
    if (wait) {
        Ctx->Event = SriovEventPfQueryStopDevice;
        Ctx->EventNew = Ctx->EventPending = TRUE;
        KeClearEvent(&Ctx->Unblock);
        deliver(Ctx);
    }
    WdfWaitLockRelease(Ctx->Lock);
    if (wait) {
        timeout.QuadPart = MINI_WAIT_TIMEOUT;
        KeWaitForSingleObject(&Ctx->Unblock, Executive, KernelMode, FALSE, &timeout);
        WdfWaitLockAcquire(Ctx->Lock, NULL);
        st = Ctx->EventPending ? STATUS_SUCCESS : Ctx->EventStatus; /* a timeout lets the stop proceed */
        Ctx->EventPending = Ctx->EventNew = FALSE;
        WdfWaitLockRelease(Ctx->Lock);
    }
    if (!NT_SUCCESS(st)) {
        Irp->IoStatus.Status = st; /* vetoed: the CANCEL_STOP that follows opens the gate */
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return st;
    }
    return forward(Device, Irp);
}

/* Removal lets every held thing go, and a gated ATTACH fail. */
static VOID
on_removal(PMINI_CONTEXT Ctx, NTSTATUS Status)
{
    WdfWaitLockAcquire(Ctx->Lock, NULL);
    Ctx->Gone = TRUE;
    KeSetEvent(&Ctx->GateOpen, IO_NO_INCREMENT, FALSE);
    release_waiter(Ctx, STATUS_SUCCESS);
    cancel_notifications(Ctx, Status);
#if MINI_PF_BUG != MINI_BUG_LEAK_HELD
    complete_held(Ctx, Status);
#endif
    WdfWaitLockRelease(Ctx->Lock);
}

NTSTATUS
mini_pnp_preprocess(WDFDEVICE Device, PIRP Irp)
{
    PMINI_CONTEXT ctx = MiniGetContext(Device);
    UCHAR minor = IoGetCurrentIrpStackLocation(Irp)->MinorFunction;
    NTSTATUS st;

    switch (minor) {
    case IRP_MN_QUERY_STOP_DEVICE: return on_query_stop(Device, ctx, Irp);
    case IRP_MN_SURPRISE_REMOVAL: on_removal(ctx, STATUS_DEVICE_REMOVED); return forward(Device, Irp);
    case IRP_MN_REMOVE_DEVICE: on_removal(ctx, STATUS_CANCELLED); return forward(Device, Irp);
    default: /* START, CANCEL_STOP: the gate opens once the device runs again (4.5) */
        st = forward(Device, Irp);
        if (NT_SUCCESS(st)) {
            KeSetEvent(&ctx->GateOpen, IO_NO_INCREMENT, FALSE);
        }
        return st;
    }
}
