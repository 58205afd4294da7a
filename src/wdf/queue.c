/*
 * wdf/queue.c - I/O queues: creation, routing by request type, presentation
 * (parallel, sequential, manual), power management, purge.
 *
 * Parallel is the default and each presented request gets its own thread when it
 * is not presented on the sender's own thread, because a PF's ATTACH handler
 * blocks inside dispatch while DETACH and EVENT_COMPLETE must still get through
 * (contract.md 4.2).  A power-managed queue presents only while its device is in
 * D0; the NOTIFICATION queue of a PF must therefore be non-power-managed, or the
 * Restart event could not travel during a rebalance (contract.md 4.3).
 */
#include <stdio.h>

#include "util/alloc.h"
#include "wdf/internal.h"

static bool
can_present_locked(const struct wdf_queue *q)
{
    ULONG limit = q->config.Settings.Parallel.NumberOfPresentedRequests;

    if (q->obj.deleted || !q->accepting || list_empty(&q->requests)) {
        return false;
    }
    if (q->power_managed && !q->device->in_d0) {
        return false;
    }
    switch (q->config.DispatchType) {
    case WdfIoQueueDispatchSequential: return q->presented == 0;
    case WdfIoQueueDispatchParallel: return limit == 0 || limit == (ULONG)-1 || q->presented < limit;
    default: return false;
    }
}

/* Take the head request of @q into driver ownership; a dispatch reference is held. */
static struct wdf_request *
present_locked(struct wdf_queue *q)
{
    struct wdf_request *req = list_entry(q->requests.next, struct wdf_request, qnode);

    list_del_init(&req->qnode); /* callers checked the queue is not empty */
    req->state = RQ_DRIVER;
    req->in_dispatch++;
    q->presented++;
    wdf_obj_ref_locked(&req->obj);
    return req;
}

static void
call_io_callback(struct wdf_queue *q, struct wdf_request *req)
{
    WDF_IO_QUEUE_CONFIG *c = &q->config;
    struct wdf_site prev = wdf_enter_request(req);

    if (req->major == IRP_MJ_DEVICE_CONTROL && c->EvtIoDeviceControl != NULL) {
        c->EvtIoDeviceControl((WDFQUEUE)q, (WDFREQUEST)req, req->out_len, req->in_len, req->code);
    } else if (req->major == IRP_MJ_INTERNAL_DEVICE_CONTROL && c->EvtIoInternalDeviceControl != NULL) {
        c->EvtIoInternalDeviceControl((WDFQUEUE)q, (WDFREQUEST)req, req->out_len, req->in_len, req->code);
    } else if (c->EvtIoDefault != NULL) {
        c->EvtIoDefault((WDFQUEUE)q, (WDFREQUEST)req);
    } else {
        WdfRequestComplete((WDFREQUEST)req, STATUS_INVALID_DEVICE_REQUEST);
    }
    wdf_leave_site(prev);
}

/* After a presentation: drop the dispatch reference. */
static void
presented_done(struct wdf_request *req)
{
    struct wdf_host *host = req->obj.host;
    struct list_node to_free;

    list_init(&to_free);
    pthread_mutex_lock(&host->mu);
    req->in_dispatch--;
    pthread_cond_broadcast(&host->cv);
    wdf_obj_unref_locked(&req->obj, &to_free);
    pthread_mutex_unlock(&host->mu);
    wdf_obj_free_list(&to_free);
}

static void
present_work(struct wdf_host *host, void *arg)
{
    struct wdf_request *req = arg;

    (void)host;
    call_io_callback(req->queue, req);
    presented_done(req);
}

void
wdf_queue_kick_locked(struct wdf_queue *q)
{
    while (can_present_locked(q)) {
        struct wdf_request *req = present_locked(q);
        if (!wdf_post_locked(q->obj.host, present_work, req)) {
            /* No memory for the work item: give it back to the queue. */
            req->state = RQ_QUEUED;
            req->in_dispatch--;
            q->presented--;
            req->obj.refs--;
            list_add_head(&q->requests, &req->qnode);
            break;
        }
    }
}

void
wdf_request_dispatch(struct wdf_device *dev, struct wdf_request *req)
{
    struct wdf_host *host = dev->obj.host;
    struct wdf_request *inline_req = NULL;
    WDF_REQUEST_TYPE type =
        req->major == IRP_MJ_DEVICE_CONTROL ? WdfRequestTypeDeviceControl : WdfRequestTypeDeviceControlInternal;
    struct wdf_queue *q;

    pthread_mutex_lock(&host->mu);
    for (;;) {
        q = dev->dispatch[type] != NULL ? dev->dispatch[type] : dev->default_queue;
        if (q != NULL || wdf_device_below(dev) == NULL) {
            break;
        }
        dev = wdf_device_below(dev); /* no queue for it here: pass it down [I] */
    }
    req->device = dev;
    snprintf(req->devname, sizeof(req->devname), "%s", dev->name);
    list_add_tail(&dev->outstanding, &req->devnode);
    if (dev->removed) {
        wdf_request_complete_locked(req, STATUS_DELETE_PENDING, 0);
    } else if (q == NULL) {
        wdf_request_complete_locked(req, STATUS_INVALID_DEVICE_REQUEST, 0);
    } else if (!q->accepting || q->obj.deleted) {
        wdf_request_complete_locked(req, STATUS_INVALID_DEVICE_STATE, 0);
    } else if (req->cancel_requested) {
        wdf_request_complete_locked(req, STATUS_CANCELLED, 0);
    } else {
        req->state = RQ_QUEUED;
        req->queue = q;
        list_add_tail(&q->requests, &req->qnode);
        /* Present on the sender's thread when it is next in line, as IoCallDriver does. */
        if (can_present_locked(q) && q->requests.next == &req->qnode) {
            inline_req = present_locked(q);
        }
        wdf_queue_kick_locked(q);
    }
    pthread_mutex_unlock(&host->mu);
    if (inline_req != NULL) {
        call_io_callback(q, inline_req);
        presented_done(inline_req);
    }
}

/* ---- create / configure -------------------------------------------------------------- */

static NTSTATUS
queue_config_check(struct wdf_device *dev, const WDF_IO_QUEUE_CONFIG *c)
{
    if (c->Size != sizeof(*c) || c->DispatchType <= WdfIoQueueDispatchInvalid ||
        c->DispatchType >= WdfIoQueueDispatchMax) {
        return STATUS_INVALID_PARAMETER;
    }
    if (c->DispatchType != WdfIoQueueDispatchManual && c->EvtIoDefault == NULL && c->EvtIoDeviceControl == NULL &&
        c->EvtIoInternalDeviceControl == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (c->DefaultQueue && dev->default_queue != NULL) {
        return STATUS_OBJECT_NAME_COLLISION;
    }
    return STATUS_SUCCESS;
}

static void
queue_on_delete(struct wdf_obj *obj)
{
    struct wdf_queue *q = (struct wdf_queue *)obj;
    struct wdf_device *dev = q->device;

    WdfIoQueuePurgeSynchronously((WDFQUEUE)q);
    pthread_mutex_lock(&obj->host->mu);
    if (dev->default_queue == q) {
        dev->default_queue = NULL;
    }
    for (int i = 0; i < WdfRequestTypeMax; i++) {
        if (dev->dispatch[i] == q) {
            dev->dispatch[i] = NULL;
        }
    }
    if (list_linked(&q->dev_node)) {
        list_del_init(&q->dev_node);
    }
    pthread_mutex_unlock(&obj->host->mu);
}

NTSTATUS
WdfIoQueueCreate(WDFDEVICE Device, PWDF_IO_QUEUE_CONFIG Config, PWDF_OBJECT_ATTRIBUTES QueueAttributes, WDFQUEUE *Queue)
{
    struct wdf_device *dev = (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "WdfIoQueueCreate");
    struct wdf_queue *q;
    struct wdf_obj *obj;
    NTSTATUS st;

    if (Queue != NULL) {
        *Queue = NULL;
    }
    if (dev == NULL || Config == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = queue_config_check(dev, Config);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    st = wdf_obj_alloc(dev->obj.host, WDF_T_QUEUE, sizeof(*q), QueueAttributes, &dev->obj, &obj);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    q = (struct wdf_queue *)obj;
    q->device = dev;
    q->config = *Config;
    q->power_managed = Config->PowerManaged == WdfUseDefault ? !dev->filter : Config->PowerManaged == WdfTrue;
    q->accepting = true;
    list_init(&q->requests);
    list_init(&q->dev_node);
    obj->on_delete = queue_on_delete;
    pthread_mutex_lock(&dev->obj.host->mu);
    if (Config->DefaultQueue && dev->default_queue != NULL) {
        pthread_mutex_unlock(&dev->obj.host->mu);
        wdf_obj_free_unlinked(obj);
        return STATUS_OBJECT_NAME_COLLISION;
    }
    if (Config->DefaultQueue) {
        dev->default_queue = q;
    }
    list_add_tail(&dev->queues, &q->dev_node);
    wdf_obj_link(obj);
    pthread_mutex_unlock(&dev->obj.host->mu);
    if (Queue != NULL) {
        *Queue = (WDFQUEUE)q;
    }
    return STATUS_SUCCESS;
}

NTSTATUS
WdfDeviceConfigureRequestDispatching(WDFDEVICE Device, WDFQUEUE Queue, WDF_REQUEST_TYPE RequestType)
{
    struct wdf_device *dev =
        (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "WdfDeviceConfigureRequestDispatching");
    struct wdf_queue *q = (struct wdf_queue *)wdf_obj_check(Queue, WDF_T_QUEUE, "WdfDeviceConfigureRequestDispatching");

    if (dev == NULL || q == NULL || q->device != dev ||
        (RequestType != WdfRequestTypeDeviceControl && RequestType != WdfRequestTypeDeviceControlInternal)) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&dev->obj.host->mu);
    if (dev->dispatch[RequestType] != NULL) {
        pthread_mutex_unlock(&dev->obj.host->mu);
        return STATUS_OBJECT_NAME_COLLISION;
    }
    dev->dispatch[RequestType] = q;
    pthread_mutex_unlock(&dev->obj.host->mu);
    return STATUS_SUCCESS;
}

WDFQUEUE
WdfDeviceGetDefaultQueue(WDFDEVICE Device)
{
    struct wdf_device *dev = (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "WdfDeviceGetDefaultQueue");

    return dev != NULL ? (WDFQUEUE)dev->default_queue : NULL;
}

WDFDEVICE
WdfIoQueueGetDevice(WDFQUEUE Queue)
{
    struct wdf_queue *q = (struct wdf_queue *)wdf_obj_check(Queue, WDF_T_QUEUE, "WdfIoQueueGetDevice");

    return q != NULL ? (WDFDEVICE)q->device : NULL;
}

NTSTATUS
WdfIoQueueRetrieveNextRequest(WDFQUEUE Queue, WDFREQUEST *OutRequest)
{
    struct wdf_queue *q = (struct wdf_queue *)wdf_obj_check(Queue, WDF_T_QUEUE, "WdfIoQueueRetrieveNextRequest");
    NTSTATUS st = STATUS_NO_MORE_ENTRIES;

    if (OutRequest != NULL) {
        *OutRequest = NULL;
    }
    if (q == NULL || OutRequest == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (q->config.DispatchType != WdfIoQueueDispatchManual) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    pthread_mutex_lock(&q->obj.host->mu);
    if (!list_empty(&q->requests) && (!q->power_managed || q->device->in_d0)) {
        struct wdf_request *req = list_entry(q->requests.next, struct wdf_request, qnode);
        list_del_init(&req->qnode);
        req->state = RQ_DRIVER;
        q->presented++;
        *OutRequest = (WDFREQUEST)req;
        st = STATUS_SUCCESS;
    }
    pthread_mutex_unlock(&q->obj.host->mu);
    return st;
}

/* Cancel every queued request of @q (host->mu held); driver upcalls go to @deferred. */
static void
purge_locked(struct wdf_queue *q, NTSTATUS status, struct list_node *deferred)
{
    struct list_node *n;

    q->accepting = false;
    while ((n = list_pop_head(&q->requests)) != NULL) {
        wdf_request_cancel_dequeued_locked(list_entry(n, struct wdf_request, qnode), q, status, deferred);
    }
}

VOID
WdfIoQueuePurgeSynchronously(WDFQUEUE Queue)
{
    struct wdf_queue *q = (struct wdf_queue *)wdf_obj_check(Queue, WDF_T_QUEUE, "WdfIoQueuePurgeSynchronously");
    struct list_node deferred;

    if (q == NULL) {
        return;
    }
    list_init(&deferred);
    pthread_mutex_lock(&q->obj.host->mu);
    purge_locked(q, STATUS_CANCELLED, &deferred);
    pthread_mutex_unlock(&q->obj.host->mu);
    wdf_run_deferred(q->obj.host, &deferred);
}

VOID
WdfIoQueueStart(WDFQUEUE Queue)
{
    struct wdf_queue *q = (struct wdf_queue *)wdf_obj_check(Queue, WDF_T_QUEUE, "WdfIoQueueStart");

    if (q == NULL) {
        return;
    }
    pthread_mutex_lock(&q->obj.host->mu);
    if (!q->obj.deleted && !q->device->removed) {
        q->accepting = true;
        wdf_queue_kick_locked(q);
    }
    pthread_mutex_unlock(&q->obj.host->mu);
}

void
wdf_queue_power(struct wdf_device *dev, bool d0)
{
    struct list_node *pos;

    if (!d0) {
        return; /* can_present_locked() looks at in_d0; nothing to do now */
    }
    pthread_mutex_lock(&dev->obj.host->mu);
    list_for_each(pos, &dev->queues)
    {
        wdf_queue_kick_locked(list_entry(pos, struct wdf_queue, dev_node));
    }
    pthread_mutex_unlock(&dev->obj.host->mu);
}

void
wdf_queue_purge_device(struct wdf_device *dev, bool power_managed_only, NTSTATUS status)
{
    struct list_node deferred;
    struct list_node *pos;

    list_init(&deferred);
    pthread_mutex_lock(&dev->obj.host->mu);
    list_for_each(pos, &dev->queues)
    {
        struct wdf_queue *q = list_entry(pos, struct wdf_queue, dev_node);
        if (!power_managed_only || q->power_managed) {
            purge_locked(q, status, &deferred);
        }
    }
    pthread_mutex_unlock(&dev->obj.host->mu);
    wdf_run_deferred(dev->obj.host, &deferred);
}
