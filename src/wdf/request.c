/*
 * wdf/request.c - requests: METHOD_BUFFERED buffers, completion, forwarding,
 * cancellation, and the verifier's request rules.
 *
 * A request is in exactly one state - new, queued, owned by the driver, completed
 * - and every transition is one critical section under host->mu, which is what
 * makes cancel-vs-complete races safe: whoever moves the request first wins, the
 * loser sees the new state.  The cancel protocol is KMDF's: a queued request is
 * cancelled by the framework; a driver-owned one only through the routine given to
 * WdfRequestMarkCancelableEx, and WdfRequestUnmarkCancelable tells the driver who
 * won.  Completed requests stay in a bounded quarantine so a late touch is caught
 * by the verifier instead of reading freed memory.
 *
 * METHOD_BUFFERED (contract.md 1.3): one system buffer of max(in, out) bytes holds
 * the input on entry and is the output buffer too; on completion at most
 * min(Information, OutputBufferLength) bytes go back, and nothing for an error
 * status (the I/O manager copies back only for success and warning statuses).
 */
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

#define DRAIN_GRACE_MS 2000

static void
request_free(struct wdf_obj *obj)
{
    pv_free(((struct wdf_request *)obj)->sysbuf);
}

struct wdf_request *
wdf_request_new(struct wdf_host *host, struct wdf_io *io, UCHAR major, ULONG code, KPROCESSOR_MODE mode, const void *in,
                size_t in_len, size_t out_len)
{
    size_t len = in_len > out_len ? in_len : out_len;
    struct wdf_request *req;
    struct wdf_obj *obj;

    if (!NT_SUCCESS(wdf_obj_alloc(host, WDF_T_REQUEST, sizeof(*req), NULL, NULL, &obj))) {
        return NULL;
    }
    req = (struct wdf_request *)obj;
    req->sysbuf = pv_calloc(1, len != 0 ? len : 1);
    if (req->sysbuf == NULL) {
        wdf_obj_free_unlinked(obj);
        return NULL;
    }
    if (in_len != 0) {
        memcpy(req->sysbuf, in, in_len);
    }
    obj->free_fn = request_free;
    list_init(&req->qnode);
    list_init(&req->devnode);
    list_init(&req->defer_node);
    req->io = io;
    req->major = major;
    req->code = code;
    req->mode = mode;
    req->in_len = in_len;
    req->out_len = out_len;
    pthread_mutex_lock(&host->mu);
    req->id = host->next_request_id++;
    pthread_mutex_unlock(&host->mu);
    return req;
}

static void
quarantine_push_locked(struct wdf_host *host, struct wdf_request *req)
{
    struct list_node to_free;

    list_init(&to_free);
    if (host->quarantine_len == host->quarantine_cap) {
        struct wdf_request *old = host->quarantine[host->quarantine_head];
        host->quarantine_head = (host->quarantine_head + 1) % host->quarantine_cap;
        host->quarantine_len--;
        wdf_obj_unref_locked(&old->obj, &to_free);
    }
    wdf_obj_ref_locked(&req->obj);
    host->quarantine[(host->quarantine_head + host->quarantine_len) % host->quarantine_cap] = req;
    host->quarantine_len++;
    wdf_obj_free_list(&to_free); /* requests run no driver code when freed */
}

void
wdf_request_complete_locked(struct wdf_request *req, NTSTATUS status, ULONG_PTR info)
{
    struct wdf_host *host = req->obj.host;
    struct wdf_queue *q = req->queue;

    if (req->state == RQ_DRIVER && q != NULL) {
        q->presented--;
        wdf_queue_kick_locked(q);
    }
    if (req->state == RQ_QUEUED) {
        list_del_init(&req->qnode);
    }
    req->state = RQ_COMPLETED;
    req->status = status;
    req->information = info;
    req->cx = CX_NONE;
    if (list_linked(&req->devnode)) {
        list_del_init(&req->devnode);
    }
    if (req->io != NULL) {
        wdf_io_completed_locked(req->io, status, info);
    }
    quarantine_push_locked(host, req);
    pthread_cond_broadcast(&host->cv);
}

/*
 * Look up a request handle for @api.  A completed request is reported under
 * @rule and NULL returned, except an abandoned one (force-completed at removal),
 * which the driver may still touch.
 */
static struct wdf_request *
req_get(WDFREQUEST handle, const char *api, enum wdf_verifier_rule rule)
{
    struct wdf_request *req = (struct wdf_request *)wdf_obj_check(handle, WDF_T_REQUEST, api);
    bool completed;

    if (req == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&req->obj.host->mu);
    completed = req->state == RQ_COMPLETED && !req->abandoned;
    pthread_mutex_unlock(&req->obj.host->mu);
    if (completed) {
        wdf_report(req->obj.host, rule, req->devname, req->id, req->code, "%s on a completed request", api);
        return NULL;
    }
    return req;
}

VOID
WdfRequestCompleteWithInformation(WDFREQUEST Request, NTSTATUS Status, ULONG_PTR Information)
{
    struct wdf_request *req = (struct wdf_request *)wdf_obj_check(Request, WDF_T_REQUEST, "WdfRequestComplete");
    struct wdf_host *host;
    enum wdf_verifier_rule bad = 0;

    if (req == NULL) {
        return;
    }
    host = req->obj.host;
    pthread_mutex_lock(&host->mu);
    if (req->state == RQ_COMPLETED) {
        if (req->abandoned) {
            req->abandoned = false; /* the driver's late completion; the client was answered */
        } else {
            bad = WDF_RULE_DOUBLE_COMPLETION;
        }
    } else if (req->state == RQ_QUEUED) {
        bad = WDF_RULE_COMPLETE_QUEUED;
    } else {
        wdf_request_complete_locked(req, Status, Information);
    }
    pthread_mutex_unlock(&host->mu);
    if (bad != 0) {
        wdf_report(host, bad, req->devname, req->id, req->code,
                   bad == WDF_RULE_DOUBLE_COMPLETION ? "WdfRequestComplete(0x%08x) on a completed request"
                                                     : "WdfRequestComplete(0x%08x) on a request still in a queue",
                   (unsigned)Status);
    }
}

VOID
WdfRequestComplete(WDFREQUEST Request, NTSTATUS Status)
{
    struct wdf_request *req = (struct wdf_request *)wdf_obj_check(Request, WDF_T_REQUEST, "WdfRequestComplete");
    ULONG_PTR info = 0;

    if (req == NULL) {
        return;
    }
    pthread_mutex_lock(&req->obj.host->mu);
    info = req->information;
    pthread_mutex_unlock(&req->obj.host->mu);
    WdfRequestCompleteWithInformation(Request, Status, info);
}

VOID
WdfRequestSetInformation(WDFREQUEST Request, ULONG_PTR Information)
{
    struct wdf_request *req = req_get(Request, "WdfRequestSetInformation", WDF_RULE_TOUCH_COMPLETED);

    if (req != NULL) {
        pthread_mutex_lock(&req->obj.host->mu);
        req->information = Information;
        pthread_mutex_unlock(&req->obj.host->mu);
    }
}

ULONG_PTR
WdfRequestGetInformation(WDFREQUEST Request)
{
    struct wdf_request *req = req_get(Request, "WdfRequestGetInformation", WDF_RULE_TOUCH_COMPLETED);
    ULONG_PTR v = 0;

    if (req != NULL) {
        pthread_mutex_lock(&req->obj.host->mu);
        v = req->information;
        pthread_mutex_unlock(&req->obj.host->mu);
    }
    return v;
}

static NTSTATUS
retrieve(WDFREQUEST Request, const char *api, bool input, size_t min, PVOID *Buffer, size_t *Length)
{
    struct wdf_request *req = req_get(Request, api, WDF_RULE_TOUCH_COMPLETED);
    size_t len;

    if (Buffer != NULL) {
        *Buffer = NULL;
    }
    if (Length != NULL) {
        *Length = 0;
    }
    if (req == NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (Buffer == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    len = input ? req->in_len : req->out_len;
    if (len == 0 || len < min) {
        return STATUS_BUFFER_TOO_SMALL;
    }
    *Buffer = req->sysbuf;
    if (Length != NULL) {
        *Length = len;
    }
    return STATUS_SUCCESS;
}

NTSTATUS
WdfRequestRetrieveInputBuffer(WDFREQUEST Request, size_t MinimumRequiredLength, PVOID *Buffer, size_t *Length)
{
    return retrieve(Request, "WdfRequestRetrieveInputBuffer", true, MinimumRequiredLength, Buffer, Length);
}

NTSTATUS
WdfRequestRetrieveOutputBuffer(WDFREQUEST Request, size_t MinimumRequiredSize, PVOID *Buffer, size_t *Length)
{
    return retrieve(Request, "WdfRequestRetrieveOutputBuffer", false, MinimumRequiredSize, Buffer, Length);
}

VOID
WdfRequestGetParameters(WDFREQUEST Request, PWDF_REQUEST_PARAMETERS Parameters)
{
    struct wdf_request *req = req_get(Request, "WdfRequestGetParameters", WDF_RULE_TOUCH_COMPLETED);

    if (req == NULL || Parameters == NULL) {
        return;
    }
    WDF_REQUEST_PARAMETERS_INIT(Parameters);
    Parameters->Type =
        req->major == IRP_MJ_DEVICE_CONTROL ? WdfRequestTypeDeviceControl : WdfRequestTypeDeviceControlInternal;
    Parameters->Parameters.DeviceIoControl.OutputBufferLength = req->out_len;
    Parameters->Parameters.DeviceIoControl.InputBufferLength = req->in_len;
    Parameters->Parameters.DeviceIoControl.IoControlCode = req->code;
}

KPROCESSOR_MODE
WdfRequestGetRequestorMode(WDFREQUEST Request)
{
    struct wdf_request *req = req_get(Request, "WdfRequestGetRequestorMode", WDF_RULE_TOUCH_COMPLETED);

    return req != NULL ? req->mode : UserMode;
}

WDFQUEUE
WdfRequestGetIoQueue(WDFREQUEST Request)
{
    struct wdf_request *req = req_get(Request, "WdfRequestGetIoQueue", WDF_RULE_TOUCH_COMPLETED);

    return req != NULL ? (WDFQUEUE)req->queue : NULL;
}

BOOLEAN
WdfRequestIsCanceled(WDFREQUEST Request)
{
    struct wdf_request *req = req_get(Request, "WdfRequestIsCanceled", WDF_RULE_TOUCH_COMPLETED);
    bool v = false;

    if (req != NULL) {
        pthread_mutex_lock(&req->obj.host->mu);
        v = req->cancel_requested;
        pthread_mutex_unlock(&req->obj.host->mu);
    }
    return v ? TRUE : FALSE;
}

/* ---- forwarding ------------------------------------------------------------------ */

static NTSTATUS
forward_locked(struct wdf_request *req, struct wdf_queue *dq, struct list_node *deferred)
{
    struct wdf_queue *src = req->queue;

    if (req->state != RQ_DRIVER) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (dq->device != req->device || dq == src) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    if (!dq->accepting || dq->obj.deleted) {
        return STATUS_INVALID_DEVICE_STATE; /* purged (not restarted) or being deleted */
    }
    if (req->cx != CX_NONE) {
        return STATUS_INVALID_DEVICE_STATE; /* KMDF: unmark cancelable before forwarding */
    }
    if (src != NULL) {
        src->presented--;
        wdf_queue_kick_locked(src);
    }
    req->state = RQ_QUEUED;
    req->queue = dq;
    list_add_tail(&dq->requests, &req->qnode);
    if (req->cancel_requested) {
        wdf_request_cancel_locked(req, deferred); /* cancelled while the driver held it */
    } else {
        wdf_queue_kick_locked(dq);
    }
    return STATUS_SUCCESS;
}

NTSTATUS
WdfRequestForwardToIoQueue(WDFREQUEST Request, WDFQUEUE DestinationQueue)
{
    struct wdf_request *req = req_get(Request, "WdfRequestForwardToIoQueue", WDF_RULE_FORWARD_COMPLETED);
    struct wdf_queue *dq =
        (struct wdf_queue *)wdf_obj_check(DestinationQueue, WDF_T_QUEUE, "WdfRequestForwardToIoQueue");
    struct list_node deferred;
    NTSTATUS st;

    if (req == NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (dq == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    list_init(&deferred);
    pthread_mutex_lock(&req->obj.host->mu);
    st = forward_locked(req, dq, &deferred);
    pthread_mutex_unlock(&req->obj.host->mu);
    wdf_run_deferred(req->obj.host, &deferred);
    return st;
}

/* ---- cancellation ---------------------------------------------------------------- */

void
wdf_request_cancel_dequeued_locked(struct wdf_request *req, struct wdf_queue *q, NTSTATUS status,
                                   struct list_node *deferred)
{
    req->cancel_requested = true;
    req->state = RQ_DRIVER; /* counted as presented, so its completion balances q->presented */
    q->presented++;
    if (q->config.EvtIoCanceledOnQueue != NULL) {
        req->defer = DEFER_CANCELED_ON_QUEUE;
        wdf_obj_ref_locked(&req->obj);
        list_add_tail(deferred, &req->defer_node);
    } else {
        wdf_request_complete_locked(req, status, 0);
    }
}

void
wdf_request_cancel_locked(struct wdf_request *req, struct list_node *deferred)
{
    if (req->state == RQ_COMPLETED) {
        return;
    }
    req->cancel_requested = true;
    if (req->state == RQ_QUEUED) {
        list_del_init(&req->qnode);
        wdf_request_cancel_dequeued_locked(req, req->queue, STATUS_CANCELLED, deferred);
    } else if (req->state == RQ_DRIVER && req->cx == CX_MARKED) {
        req->cx = CX_TAKEN;
        req->defer = DEFER_CANCEL_ROUTINE;
        wdf_obj_ref_locked(&req->obj);
        list_add_tail(deferred, &req->defer_node);
    }
}

void
wdf_run_deferred(struct wdf_host *host, struct list_node *deferred)
{
    struct list_node *n;

    while ((n = list_pop_head(deferred)) != NULL) {
        struct wdf_request *req = list_entry(n, struct wdf_request, defer_node);
        struct wdf_site prev = wdf_enter_request(req);
        if (req->defer == DEFER_CANCEL_ROUTINE) {
            req->cancel_routine((WDFREQUEST)req);
        } else if (req->defer == DEFER_CANCELED_ON_QUEUE) {
            req->queue->config.EvtIoCanceledOnQueue((WDFQUEUE)req->queue, (WDFREQUEST)req);
        }
        wdf_leave_site(prev);
        req->defer = DEFER_NONE;
        wdf_obj_unref(&req->obj);
    }
}

NTSTATUS
WdfRequestMarkCancelableEx(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel)
{
    struct wdf_request *req = req_get(Request, "WdfRequestMarkCancelableEx", WDF_RULE_TOUCH_COMPLETED);
    NTSTATUS st = STATUS_SUCCESS;

    if (req == NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (EvtRequestCancel == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&req->obj.host->mu);
    if (req->state != RQ_DRIVER || req->cx != CX_NONE) {
        st = STATUS_INVALID_DEVICE_STATE;
    } else if (req->cancel_requested) {
        st = STATUS_CANCELLED;
    } else {
        req->cx = CX_MARKED;
        req->cancel_routine = EvtRequestCancel;
    }
    pthread_mutex_unlock(&req->obj.host->mu);
    return st;
}

NTSTATUS
WdfRequestUnmarkCancelable(WDFREQUEST Request)
{
    struct wdf_request *req = req_get(Request, "WdfRequestUnmarkCancelable", WDF_RULE_TOUCH_COMPLETED);
    NTSTATUS st;

    if (req == NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    pthread_mutex_lock(&req->obj.host->mu);
    if (req->cx == CX_MARKED) {
        req->cx = CX_NONE;
        st = STATUS_SUCCESS;
    } else if (req->cx == CX_TAKEN) {
        st = STATUS_CANCELLED;
    } else {
        st = STATUS_INVALID_DEVICE_STATE;
    }
    pthread_mutex_unlock(&req->obj.host->mu);
    return st;
}

/* ---- removal ------------------------------------------------------------------------ */

void
wdf_device_drain_requests(struct wdf_device *dev)
{
    struct wdf_host *host = dev->obj.host;
    uint64_t deadline = wdf_monotonic_ns() + (uint64_t)DRAIN_GRACE_MS * 1000000ull;
    struct list_node *n;

    pthread_mutex_lock(&host->mu);
    while (!list_empty(&dev->outstanding)) {
        if (wdf_wait_locked(host, deadline, true, false)) {
            break;
        }
    }
    while ((n = list_pop_head(&dev->outstanding)) != NULL) {
        struct wdf_request *req = list_entry(n, struct wdf_request, devnode);
        wdf_report(host, WDF_RULE_UNCOMPLETED_AT_REMOVE, dev->name, req->id, req->code,
                   "request (IOCTL 0x%08x) still owned by the driver when its device was removed", (unsigned)req->code);
        req->abandoned = true;
        wdf_request_complete_locked(req, STATUS_DELETE_PENDING, 0);
    }
    pthread_mutex_unlock(&host->mu);
}
