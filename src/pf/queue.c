/*
 * pf/queue.c - the nine IOCTLs (contract.md 4).
 *
 * One default queue with parallel dispatch and not power-managed: ATTACH blocks
 * inside its handler while the PnP thread waits for EVENT_COMPLETE or DETACH, so
 * a sequential queue would deadlock (contract.md 4.2), and EVENT_COMPLETE and
 * DETACH must work while the device is stopped for a rebalance.  Both majors
 * (IRP_MJ_DEVICE_CONTROL and IRP_MJ_INTERNAL_DEVICE_CONTROL) reach the same
 * handler; a user-mode requestor may only send PROXY_QUERY_LUID (4.2, 10.1).
 *
 * Inverted calls are held in two manual queues, both not power-managed: the
 * NOTIFICATION queue (the Restart event must travel through it while the device
 * restarts, 4.3) and the INVALIDATE_BLOCK queue; MITIGATED_RANGE_UPDATE requests
 * are keyed by VF and live in mitigation.c.  Buffers are checked before a
 * request is queued, so a short buffer is refused at once and never consumes an
 * event (the docs' example defect, 4.3).  Every size check uses the runtime's
 * buffer retrieval, whose failure (STATUS_BUFFER_TOO_SMALL) completes the request.
 */
#include <string.h>

#include "pf/driver.h"

/* ---- NOTIFICATION / EVENT_COMPLETE / ATTACH / DETACH (4.3-4.6) -------------------- */

VOID
PfNotifyDeliver(PPF_DEVICE_CONTEXT Ctx)
{
    while (pf_pnp_has_event(&Ctx->Pnp)) {
        WDFREQUEST req;
        SRIOV_PF_EVENT code;
        PVOID buf;
        NTSTATUS st;

        if (!NT_SUCCESS(WdfIoQueueRetrieveNextRequest(Ctx->NotificationQueue, &req))) {
            return; /* no NOTIFICATION held: the next one to arrive gets the event */
        }
        st = WdfRequestRetrieveOutputBuffer(req, sizeof(SRIOV_PF_EVENT), &buf, NULL);
        if (!NT_SUCCESS(st)) {
            WdfRequestComplete(req, st); /* cannot happen: checked on arrival; the event stays */
            continue;
        }
        pf_pnp_take_event(&Ctx->Pnp, &code);
        *(SRIOV_PF_EVENT *)buf = code;
        WdfRequestCompleteWithInformation(req, STATUS_SUCCESS, sizeof(SRIOV_PF_EVENT));
    }
}

VOID
PfCancelNotifications(PPF_DEVICE_CONTEXT Ctx, NTSTATUS Status)
{
    WDFREQUEST req;

    while (NT_SUCCESS(WdfIoQueueRetrieveNextRequest(Ctx->NotificationQueue, &req))) {
        WdfRequestComplete(req, Status);
    }
}

static VOID
ioctl_notification(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    PVOID buf;
    NTSTATUS st = WdfRequestRetrieveOutputBuffer(Request, sizeof(SRIOV_PF_EVENT), &buf, NULL);

    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    WdfWaitLockAcquire(Ctx->PnpLock, NULL);
    if (!Ctx->Pnp.attached) {
        st = STATUS_INVALID_DEVICE_STATE; /* only an attached VSP is notified (4.3) */
    } else {
        st = WdfRequestForwardToIoQueue(Request, Ctx->NotificationQueue);
    }
    if (NT_SUCCESS(st)) {
        PfNotifyDeliver(Ctx);
    }
    WdfWaitLockRelease(Ctx->PnpLock);
    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
    }
}

static VOID
ioctl_event_complete(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    PSRIOV_PNP_EVENT_COMPLETE in;
    NTSTATUS st = WdfRequestRetrieveInputBuffer(Request, sizeof(*in), (PVOID *)&in, NULL);
    NTSTATUS query;

    if (NT_SUCCESS(st)) {
        query = in->QueryStatus;
        WdfWaitLockAcquire(Ctx->PnpLock, NULL);
        PfPnpApplyLocked(Ctx, pf_pnp_event_complete(&Ctx->Pnp, query), STATUS_CANCELLED);
        WdfWaitLockRelease(Ctx->PnpLock);
    }
    WdfRequestComplete(Request, st);
}

/* ATTACH blocks while a rebalance is in progress (4.5); never waits holding PnpLock. */
static VOID
ioctl_attach(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    LARGE_INTEGER timeout;
    NTSTATUS st;

    for (;;) {
        WdfWaitLockAcquire(Ctx->PnpLock, NULL);
        st = pf_pnp_attach(&Ctx->Pnp);
        WdfWaitLockRelease(Ctx->PnpLock);
        if (st != STATUS_PENDING) {
            break;
        }
        timeout.QuadPart = Ctx->WaitTimeout;
        if (KeWaitForSingleObject(&Ctx->SafeToAttachEvent, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT) {
            st = STATUS_IO_TIMEOUT;
            break;
        }
    }
    WdfRequestComplete(Request, st);
}

static VOID
ioctl_detach(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    WdfWaitLockAcquire(Ctx->PnpLock, NULL);
    PfPnpApplyLocked(Ctx, pf_pnp_detach(&Ctx->Pnp), STATUS_CANCELLED);
    WdfWaitLockRelease(Ctx->PnpLock);
    WdfRequestComplete(Request, STATUS_SUCCESS);
}

/* ---- INVALIDATE_BLOCK (4.7) ---------------------------------------------------------- */

/* Complete held requests while masks are pending; IoLock held. */
static VOID
invalidate_deliver_locked(PPF_DEVICE_CONTEXT Ctx)
{
    while (Ctx->Inval != NULL && pf_inval_pending(Ctx->Inval)) {
        PSRIOV_INVALIDATE_BLOCK out;
        WDFREQUEST req;
        NTSTATUS st;

        if (!NT_SUCCESS(WdfIoQueueRetrieveNextRequest(Ctx->InvalidateQueue, &req))) {
            return;
        }
        st = WdfRequestRetrieveOutputBuffer(req, sizeof(*out), (PVOID *)&out, NULL);
        if (!NT_SUCCESS(st)) {
            WdfRequestComplete(req, st);
            continue;
        }
        memset(out, 0, sizeof(*out));
        pf_inval_take(Ctx->Inval, &out->VfIndex, &out->BlockMask);
        WdfRequestCompleteWithInformation(req, STATUS_SUCCESS, sizeof(*out));
    }
}

VOID
PfInvalidatePost(PPF_DEVICE_CONTEXT Ctx, USHORT VfIndex, UINT64 Mask)
{
    WdfWaitLockAcquire(Ctx->IoLock, NULL);
    if (Ctx->Inval != NULL) {
        pf_inval_post(Ctx->Inval, VfIndex, Mask); /* coalesced until a request is held (4.7) */
    }
    invalidate_deliver_locked(Ctx);
    WdfWaitLockRelease(Ctx->IoLock);
}

static VOID
ioctl_invalidate_block(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    PVOID buf;
    NTSTATUS st = WdfRequestRetrieveOutputBuffer(Request, sizeof(SRIOV_INVALIDATE_BLOCK), &buf, NULL);

    if (NT_SUCCESS(st)) {
        WdfWaitLockAcquire(Ctx->IoLock, NULL);
        st = WdfRequestForwardToIoQueue(Request, Ctx->InvalidateQueue);
        if (NT_SUCCESS(st)) {
            invalidate_deliver_locked(Ctx);
        }
        WdfWaitLockRelease(Ctx->IoLock);
    }
    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
    }
}

VOID
PfCompleteHeldRequests(PPF_DEVICE_CONTEXT Ctx, NTSTATUS Status)
{
    WDFREQUEST req;

    WdfWaitLockAcquire(Ctx->IoLock, NULL);
    while (NT_SUCCESS(WdfIoQueueRetrieveNextRequest(Ctx->InvalidateQueue, &req))) {
        WdfRequestComplete(req, Status);
    }
    WdfWaitLockRelease(Ctx->IoLock);
    PfMitigationCompleteAll(Ctx, Status);
}

/* ---- PROXY_QUERY_LUID (4.11) ------------------------------------------------------------ */

static VOID
ioctl_proxy_query_luid(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    PSRIOV_PROXY_QUERY_LUID_OUTPUT out;
    NTSTATUS st = WdfRequestRetrieveOutputBuffer(Request, sizeof(*out), (PVOID *)&out, NULL);

    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    /* The same LUID QueryLuid returns (contract.md 4.11, 7.5). */
    out->DeviceLuid = pf_luid_make(Ctx->Luids.base);
    WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS, sizeof(*out));
}

/* ---- dispatch ------------------------------------------------------------------------ */

static bool
accepting(PPF_DEVICE_CONTEXT Ctx)
{
    bool ok;

    WdfWaitLockAcquire(Ctx->PnpLock, NULL);
    ok = pf_pnp_accepting(&Ctx->Pnp);
    WdfWaitLockRelease(Ctx->PnpLock);
    return ok;
}

VOID
PfEvtIoDeviceControl(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength, size_t InputBufferLength,
                     ULONG IoControlCode)
{
    PPF_DEVICE_CONTEXT ctx = PfDeviceGetContext(WdfIoQueueGetDevice(Queue));
    bool user = WdfRequestGetRequestorMode(Request) == UserMode;

    if (user && IoControlCode != IOCTL_SRIOV_PROXY_QUERY_LUID) {
        WdfRequestComplete(Request, STATUS_INVALID_DEVICE_REQUEST); /* contract.md 4.2 */
        return;
    }
    if (!accepting(ctx)) {
        WdfRequestComplete(Request, STATUS_DELETE_PENDING); /* contract.md 7.6 */
        return;
    }
    switch (IoControlCode) {
    case IOCTL_SRIOV_NOTIFICATION: ioctl_notification(ctx, Request); break;
    case IOCTL_SRIOV_EVENT_COMPLETE: ioctl_event_complete(ctx, Request); break;
    case IOCTL_SRIOV_ATTACH: ioctl_attach(ctx, Request); break;
    case IOCTL_SRIOV_DETACH: ioctl_detach(ctx, Request); break;
    case IOCTL_SRIOV_INVALIDATE_BLOCK: ioctl_invalidate_block(ctx, Request); break;
    case IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT: PfIoctlMitigatedRangeCount(ctx, Request); break;
    case IOCTL_SRIOV_QUERY_MITIGATED_RANGES: PfIoctlMitigatedRanges(ctx, Request); break;
    case IOCTL_SRIOV_MITIGATED_RANGE_UPDATE: PfIoctlMitigatedRangeUpdate(ctx, Request); break;
    case IOCTL_SRIOV_PROXY_QUERY_LUID: ioctl_proxy_query_luid(ctx, Request); break;
    default: WdfRequestComplete(Request, STATUS_INVALID_DEVICE_REQUEST); break;
    }
}

static NTSTATUS
manual_queue(PPF_DEVICE_CONTEXT Ctx, WDFQUEUE *Queue)
{
    WDF_IO_QUEUE_CONFIG config;

    WDF_IO_QUEUE_CONFIG_INIT(&config, WdfIoQueueDispatchManual);
    config.PowerManaged = WdfFalse;
    return WdfIoQueueCreate(Ctx->Device, &config, WDF_NO_OBJECT_ATTRIBUTES, Queue);
}

NTSTATUS
PfQueueInitialize(PPF_DEVICE_CONTEXT Ctx)
{
    WDF_IO_QUEUE_CONFIG config;
    WDFQUEUE queue;
    NTSTATUS st;

    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&config, WdfIoQueueDispatchParallel);
    config.PowerManaged = WdfFalse;
    config.EvtIoDeviceControl = PfEvtIoDeviceControl;
    config.EvtIoInternalDeviceControl = PfEvtIoDeviceControl;
    st = WdfIoQueueCreate(Ctx->Device, &config, WDF_NO_OBJECT_ATTRIBUTES, &queue);
    st = NT_SUCCESS(st) ? manual_queue(Ctx, &Ctx->NotificationQueue) : st;
    return NT_SUCCESS(st) ? manual_queue(Ctx, &Ctx->InvalidateQueue) : st;
}
