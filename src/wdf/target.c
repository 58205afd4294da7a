/*
 * wdf/target.c - the client side: open a device stack through an interface
 * instance, query interfaces, send IOCTLs synchronously or asynchronously,
 * cancel, and learn that the target is going away.
 *
 * This is what the virtualization stack (kernel mode) and the LUID proxy (user
 * mode) use (contract.md 4.2, 7.1, 7.6).  A synchronous send dispatches on the
 * caller's thread, so a driver may block it (ATTACH, contract.md 4.5); its timeout
 * runs on the host clock and, when it expires, cancels the request and waits for
 * the driver to finish it, as WdfRequestSend with a timeout does.  Asynchronous
 * completions are delivered on a worker, never inside the completing driver's
 * call, so a driver that completes under its own lock cannot deadlock against a
 * client that re-sends from its completion callback.
 */
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

struct wdf_target {
    struct list_node node; /* in host->targets */
    struct wdf_host *host;
    struct wdf_node *devnode;
    KPROCESSOR_MODE mode;
    struct wdf_target_callbacks cb;
    void *ctx;
    struct list_node ios; /* outstanding requests */
    bool gone;            /* remove_complete delivered */
    bool surprise;
    bool closing;
    bool free_later; /* closed from inside an upcall */
    unsigned busy;   /* upcalls in progress */
};

NTSTATUS
wdf_target_open(struct wdf_host *host, const char *link, KPROCESSOR_MODE mode,
                const struct wdf_target_callbacks *callbacks, void *ctx, struct wdf_target **out)
{
    struct wdf_target *t;
    struct wdf_node *node;
    NTSTATUS st = STATUS_SUCCESS;

    if (out == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *out = NULL;
    if (host == NULL || link == NULL || (mode != KernelMode && mode != UserMode)) {
        return STATUS_INVALID_PARAMETER;
    }
    t = pv_calloc(1, sizeof(*t));
    if (t == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    list_init(&t->node);
    list_init(&t->ios);
    t->host = host;
    t->mode = mode;
    t->ctx = ctx;
    if (callbacks != NULL) {
        t->cb = *callbacks;
    }
    pthread_mutex_lock(&host->mu);
    node = wdf_iface_lookup_locked(host, link);
    if (node == NULL) {
        st = STATUS_OBJECT_NAME_NOT_FOUND;
    } else if (node->state == WDF_PNP_REMOVE_PENDING || node->state == WDF_PNP_SURPRISE_REMOVED ||
               node->state == WDF_PNP_REMOVED) {
        st = STATUS_DELETE_PENDING;
    } else {
        t->devnode = node;
        list_add_tail(&host->targets, &t->node);
    }
    pthread_mutex_unlock(&host->mu);
    if (!NT_SUCCESS(st)) {
        pv_free(t);
        return st;
    }
    *out = t;
    return STATUS_SUCCESS;
}

/* The top device of the target's stack, referenced, or a status why not (host->mu held). */
static NTSTATUS
target_device_locked(struct wdf_target *t, struct wdf_device **dev)
{
    *dev = NULL;
    if (t->closing) {
        return STATUS_INVALID_HANDLE;
    }
    if (t->devnode == NULL || t->devnode->state == WDF_PNP_REMOVED) {
        return STATUS_NO_SUCH_DEVICE;
    }
    if (t->gone || t->devnode->state == WDF_PNP_SURPRISE_REMOVED) {
        return STATUS_DELETE_PENDING;
    }
    *dev = wdf_node_top(t->devnode);
    if (*dev == NULL) {
        return STATUS_NO_SUCH_DEVICE;
    }
    wdf_obj_ref_locked(&(*dev)->obj);
    return STATUS_SUCCESS;
}

NTSTATUS
wdf_target_query_interface(struct wdf_target *t, const GUID *type, INTERFACE *iface, USHORT size, USHORT version,
                           PVOID specific)
{
    struct wdf_device *dev;
    NTSTATUS st;

    if (t == NULL || type == NULL || iface == NULL || size < sizeof(INTERFACE)) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&t->host->mu);
    st = target_device_locked(t, &dev);
    pthread_mutex_unlock(&t->host->mu);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    st = wdf_query_interface_at(t->devnode, dev->level, type, iface, size, version, specific);
    wdf_obj_unref(&dev->obj);
    return st;
}

/* ---- I/O ------------------------------------------------------------------------------ */

static void
io_upcall(struct wdf_host *host, void *arg)
{
    struct wdf_io *io = arg;

    io->fn(io->ctx, io, io->status, io->information);
    pthread_mutex_lock(&host->mu);
    wdf_io_unref_locked(io);
    pthread_mutex_unlock(&host->mu);
}

void
wdf_io_completed_locked(struct wdf_io *io, NTSTATUS status, ULONG_PTR info)
{
    struct wdf_request *req = io->req;

    io->done = true;
    io->status = status;
    io->information = info;
    if (!NT_ERROR(status) && io->out != NULL) {
        size_t n = info < io->out_len ? info : io->out_len;
        memcpy(io->out, req->sysbuf, n);
    }
    if (list_linked(&io->tnode)) {
        list_del_init(&io->tnode);
    }
    if (io->fn != NULL) {
        io->refs++;
        if (!wdf_post_locked(io->host, io_upcall, io)) {
            io->refs--;
        }
    }
}

void
wdf_io_unref_locked(struct wdf_io *io)
{
    struct list_node to_free;

    if (--io->refs != 0) {
        return;
    }
    list_init(&to_free);
    wdf_obj_unref_locked(&io->req->obj, &to_free);
    wdf_obj_free_list(&to_free); /* a request runs no driver code when freed */
    pv_free(io);
}

static NTSTATUS
io_start(struct wdf_target *t, UCHAR major, ULONG code, const void *in, size_t in_len, void *out, size_t out_len,
         struct wdf_io **out_io, struct wdf_device **out_dev)
{
    struct wdf_io *io;
    NTSTATUS st;

    if (major != IRP_MJ_DEVICE_CONTROL && major != IRP_MJ_INTERNAL_DEVICE_CONTROL) {
        return STATUS_INVALID_PARAMETER;
    }
    if ((in_len != 0 && in == NULL) || (out_len != 0 && out == NULL) || in_len > (1u << 30) || out_len > (1u << 30)) {
        return STATUS_INVALID_PARAMETER;
    }
    if (major == IRP_MJ_INTERNAL_DEVICE_CONTROL && t->mode == UserMode) {
        return STATUS_INVALID_DEVICE_REQUEST; /* user mode cannot build internal requests */
    }
    io = pv_calloc(1, sizeof(*io));
    if (io == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    io->host = t->host;
    io->target = t;
    io->out = out;
    io->out_len = out_len;
    io->refs = 1;
    list_init(&io->tnode);
    io->req = wdf_request_new(t->host, io, major, code, t->mode, in, in_len, out_len);
    if (io->req == NULL) {
        pv_free(io);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    pthread_mutex_lock(&t->host->mu);
    st = target_device_locked(t, out_dev);
    if (NT_SUCCESS(st)) {
        list_add_tail(&t->ios, &io->tnode);
    } else {
        wdf_io_unref_locked(io);
    }
    pthread_mutex_unlock(&t->host->mu);
    if (NT_SUCCESS(st)) {
        *out_io = io;
    }
    return st;
}

NTSTATUS
wdf_target_send_sync(struct wdf_target *t, UCHAR major, ULONG code, const void *in, size_t in_len, void *out,
                     size_t out_len, uint64_t timeout_ns, ULONG_PTR *information)
{
    struct wdf_device *dev;
    struct wdf_io *io;
    struct list_node deferred;
    uint64_t deadline = WDF_NO_DEADLINE;
    bool timed_out = false;
    NTSTATUS st;

    if (information != NULL) {
        *information = 0;
    }
    if (t == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (wdf_check_blocking(t->host, "wdf_target_send_sync")) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = io_start(t, major, code, in, in_len, out, out_len, &io, &dev);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (timeout_ns != 0) {
        pthread_mutex_lock(&t->host->mu);
        uint64_t now = wdf_now_locked(t->host);
        deadline = timeout_ns > WDF_NO_DEADLINE - 1 - now ? WDF_NO_DEADLINE - 1 : now + timeout_ns;
        pthread_mutex_unlock(&t->host->mu);
    }
    wdf_request_dispatch(dev, io->req);
    wdf_obj_unref(&dev->obj);
    list_init(&deferred);
    pthread_mutex_lock(&t->host->mu);
    while (!io->done) {
        /* After the timeout the deadline is gone: wait for the cancelled request to finish. */
        if (wdf_wait_locked(t->host, deadline, false, !timed_out) && !timed_out && !io->done) {
            timed_out = true;
            deadline = WDF_NO_DEADLINE;
            wdf_request_cancel_locked(io->req, &deferred);
            pthread_mutex_unlock(&t->host->mu);
            wdf_run_deferred(t->host, &deferred);
            pthread_mutex_lock(&t->host->mu);
        }
    }
    st = timed_out ? STATUS_IO_TIMEOUT : io->status;
    if (information != NULL) {
        *information = io->information;
    }
    wdf_io_unref_locked(io);
    pthread_mutex_unlock(&t->host->mu);
    return st;
}

NTSTATUS
wdf_target_send_async(struct wdf_target *t, UCHAR major, ULONG code, const void *in, size_t in_len, void *out,
                      size_t out_len, wdf_io_completion_fn fn, void *ctx, struct wdf_io **io_out)
{
    struct wdf_device *dev;
    struct wdf_io *io;
    NTSTATUS st;

    if (io_out != NULL) {
        *io_out = NULL;
    }
    if (t == NULL || fn == NULL || io_out == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = io_start(t, major, code, in, in_len, out, out_len, &io, &dev);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    io->fn = fn;
    io->ctx = ctx;
    pthread_mutex_lock(&t->host->mu);
    io->refs++; /* the caller's handle */
    pthread_mutex_unlock(&t->host->mu);
    *io_out = io;
    wdf_request_dispatch(dev, io->req);
    wdf_obj_unref(&dev->obj);
    pthread_mutex_lock(&t->host->mu);
    wdf_io_unref_locked(io); /* the dispatch's own reference */
    pthread_mutex_unlock(&t->host->mu);
    return STATUS_PENDING;
}

bool
wdf_io_cancel(struct wdf_io *io)
{
    struct list_node deferred;
    bool outstanding;

    if (io == NULL) {
        return false;
    }
    list_init(&deferred);
    pthread_mutex_lock(&io->host->mu);
    outstanding = !io->done;
    if (outstanding) {
        wdf_request_cancel_locked(io->req, &deferred);
    }
    pthread_mutex_unlock(&io->host->mu);
    wdf_run_deferred(io->host, &deferred);
    return outstanding;
}

void
wdf_io_release(struct wdf_io *io)
{
    struct wdf_host *host;

    if (io == NULL) {
        return;
    }
    host = io->host; /* io may be freed by the unref */
    pthread_mutex_lock(&host->mu);
    wdf_io_unref_locked(io);
    pthread_mutex_unlock(&host->mu);
}

/* ---- close and PnP upcalls --------------------------------------------------------- */

void
wdf_target_close(struct wdf_target *t)
{
    struct wdf_host *host;
    struct list_node deferred;
    struct list_node *pos;

    if (t == NULL) {
        return;
    }
    host = t->host;
    list_init(&deferred);
    pthread_mutex_lock(&host->mu);
    t->closing = true;
    list_for_each(pos, &t->ios)
    {
        wdf_request_cancel_locked(list_entry(pos, struct wdf_io, tnode)->req, &deferred);
    }
    pthread_mutex_unlock(&host->mu);
    wdf_run_deferred(host, &deferred);
    pthread_mutex_lock(&host->mu);
    while (!list_empty(&t->ios)) {
        wdf_wait_locked(host, WDF_NO_DEADLINE, false, false);
    }
    list_del_init(&t->node);
    if (t->busy > 0) {
        t->free_later = true; /* an upcall is running (maybe this one): it frees */
        pthread_mutex_unlock(&host->mu);
        return;
    }
    pthread_mutex_unlock(&host->mu);
    pv_free(t);
}

/* Snapshot the live targets of @node with busy counts taken; returns the count. */
static size_t
snapshot_locked(struct wdf_node *node, struct wdf_target **arr, size_t cap)
{
    struct list_node *pos;
    size_t n = 0;

    list_for_each(pos, &node->host->targets)
    {
        struct wdf_target *t = list_entry(pos, struct wdf_target, node);
        if (t->devnode == node && !t->closing && !t->gone && n < cap) {
            t->busy++;
            arr[n++] = t;
        }
    }
    return n;
}

#define TARGET_SNAPSHOT_MAX 256

static void
release_snapshot(struct wdf_host *host, struct wdf_target **arr, size_t n)
{
    pthread_mutex_lock(&host->mu);
    for (size_t i = 0; i < n; i++) {
        if (--arr[i]->busy == 0 && arr[i]->free_later) {
            arr[i]->free_later = false;
            arr[i]->closing = true;
            pv_free(arr[i]);
            arr[i] = NULL;
        }
    }
    pthread_cond_broadcast(&host->cv);
    pthread_mutex_unlock(&host->mu);
}

NTSTATUS
wdf_targets_query_remove(struct wdf_node *node)
{
    struct wdf_target *arr[TARGET_SNAPSHOT_MAX];
    NTSTATUS st = STATUS_SUCCESS;
    size_t n, i;

    pthread_mutex_lock(&node->host->mu);
    n = snapshot_locked(node, arr, TARGET_SNAPSHOT_MAX);
    pthread_mutex_unlock(&node->host->mu);
    for (i = 0; i < n && NT_SUCCESS(st); i++) {
        if (arr[i]->cb.query_remove != NULL) {
            st = arr[i]->cb.query_remove(arr[i]->ctx, arr[i]);
        }
    }
    if (!NT_SUCCESS(st)) {
        /* Tell the ones that agreed (all before the vetoing one) that it is off. */
        for (size_t j = 0; j + 1 < i; j++) {
            if (arr[j]->cb.remove_canceled != NULL) {
                arr[j]->cb.remove_canceled(arr[j]->ctx, arr[j]);
            }
        }
    }
    release_snapshot(node->host, arr, n);
    return st;
}

void
wdf_targets_remove_canceled(struct wdf_node *node)
{
    struct wdf_target *arr[TARGET_SNAPSHOT_MAX];
    size_t n;

    pthread_mutex_lock(&node->host->mu);
    n = snapshot_locked(node, arr, TARGET_SNAPSHOT_MAX);
    pthread_mutex_unlock(&node->host->mu);
    for (size_t i = 0; i < n; i++) {
        if (arr[i]->cb.remove_canceled != NULL) {
            arr[i]->cb.remove_canceled(arr[i]->ctx, arr[i]);
        }
    }
    release_snapshot(node->host, arr, n);
}

void
wdf_targets_remove_complete(struct wdf_node *node, bool surprise)
{
    struct wdf_target *arr[TARGET_SNAPSHOT_MAX];
    size_t n;

    pthread_mutex_lock(&node->host->mu);
    n = snapshot_locked(node, arr, TARGET_SNAPSHOT_MAX);
    for (size_t i = 0; i < n; i++) {
        arr[i]->gone = true;
        arr[i]->surprise = surprise;
    }
    pthread_mutex_unlock(&node->host->mu);
    for (size_t i = 0; i < n; i++) {
        if (arr[i]->cb.remove_complete != NULL) {
            arr[i]->cb.remove_complete(arr[i]->ctx, arr[i], surprise);
        }
    }
    release_snapshot(node->host, arr, n);
}

void
wdf_target_free_all(struct wdf_host *host)
{
    struct list_node *n;

    for (;;) {
        pthread_mutex_lock(&host->mu);
        n = list_pop_head(&host->targets);
        if (n != NULL) {
            list_init(n);
        }
        pthread_mutex_unlock(&host->mu);
        if (n == NULL) {
            break;
        }
        struct wdf_target *t = list_entry(n, struct wdf_target, node);
        t->devnode = NULL;
        wdf_target_close(t);
    }
}
