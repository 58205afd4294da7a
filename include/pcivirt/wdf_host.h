/*
 * pcivirt/wdf_host.h - the runtime's host API: clock, host, drivers, bus PDOs, the
 * PnP manager, the device-interface registry, client targets and the verifier.
 *
 * Why a header of its own.  pcivirt/wdf.h is the driver boundary: KMDF and WDM
 * names, so that a PF driver reads like the WDK's.  Everything around the drivers -
 * what Windows' PnP and I/O managers and the bus driver do, and the client side
 * the virtualization stack uses to find a PF, query its interfaces and send it
 * IOCTLs (contract.md 3, 4, 7) - is pcivirt's own snake_case API (prefix wdf_),
 * declared here.  Drivers need only wdf.h; the stack, the bus model and tests use
 * this one.  wdf.h includes this header at its end, so code written when both
 * halves were one header keeps compiling.
 *
 * Threads, time and host binding are as described at the top of wdf.h;
 * docs/RUNTIME.md has the model, the locking rules and the verifier's table.
 */
#ifndef PCIVIRT_WDF_HOST_H
#define PCIVIRT_WDF_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/wdf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- clock ------------------------------------------------------------------------ */

enum wdf_clock_kind {
    WDF_CLOCK_MONOTONIC = 0, /* CLOCK_MONOTONIC */
    WDF_CLOCK_VIRTUAL = 1,   /* starts at 0; moves only with wdf_host_clock_advance() */
};

/* ---- verifier -------------------------------------------------------------------- */

enum wdf_verifier_rule {
    WDF_RULE_DOUBLE_COMPLETION = 1, /* a request or IRP completed twice */
    WDF_RULE_COMPLETE_QUEUED,       /* completing a request that sits in a queue */
    WDF_RULE_FORWARD_COMPLETED,     /* forwarding a completed request */
    WDF_RULE_TOUCH_COMPLETED,       /* any other use of a completed request */
    WDF_RULE_UNCOMPLETED_AT_REMOVE, /* a request still owned by the driver at removal */
    WDF_RULE_INTERFACE_UNDERFLOW,   /* more interface dereferences than references */
    WDF_RULE_BLOCKING_UNDER_LOCK,   /* a blocking runtime call with a runtime lock held */
    WDF_RULE_BAD_HANDLE,            /* a handle of the wrong type, deleted, or NULL */
    WDF_RULE_IRP_NOT_COMPLETED,     /* a PnP dispatcher returned without completing or pending */
    WDF_RULE_LOCK_MISUSE,           /* releasing a lock not held by the caller, recursion */
    WDF_RULE_MAX
};

#define WDF_VERIFIER_TEXT_MAX 256

/* One report: what rule, on which device and request, and why. */
struct wdf_verifier_report {
    enum wdf_verifier_rule rule;
    const char *rule_name; /* e.g. "double-completion" (static) */
    char device[80];       /* the device ("<instance id>/fdo" or "/filter"), or "" */
    uint64_t request_id;   /* the request's sequence number, or 0 */
    ULONG ioctl;           /* the request's control code, or 0 */
    char message[WDF_VERIFIER_TEXT_MAX];
};

typedef void (*wdf_verifier_fn)(void *ctx, const struct wdf_verifier_report *report);

/* wdf_verifier_rule_name() - the short name of @rule ("?" if unknown). */
PCIVIRT_API const char *wdf_verifier_rule_name(enum wdf_verifier_rule rule);

/* ---- host ------------------------------------------------------------------------- */

struct wdf_host;

struct wdf_host_config {
    enum wdf_clock_kind clock;
    unsigned max_workers;      /* worker-thread cap; 0 = 64 */
    bool verifier_off;         /* the verifier is on unless this is set */
    wdf_verifier_fn on_report; /* optional; called for each report, any thread */
    void *report_ctx;
    unsigned quarantine; /* completed requests kept to catch late use; 0 = 1024 */
};

/**
 * wdf_host_create() - a runtime instance: PnP manager, registry, workers, clock.
 * @config: NULL for defaults (monotonic clock, verifier on).
 * Return: STATUS_SUCCESS; STATUS_INSUFFICIENT_RESOURCES; STATUS_INVALID_PARAMETER.
 */
PCIVIRT_API NTSTATUS wdf_host_create(const struct wdf_host_config *config, struct wdf_host **out);

/**
 * wdf_host_destroy() - remove every device node (query-remove is not asked),
 * unload drivers, stop the threads, free everything.  Accepts NULL.  Targets and
 * notifications still open are closed and freed (their pointers are dead after);
 * wdf_io handles still held are detached and must still be wdf_io_release()d.
 */
PCIVIRT_API void wdf_host_destroy(struct wdf_host *host);

/* wdf_host_now() - the host clock in ns. */
PCIVIRT_API uint64_t wdf_host_now(struct wdf_host *host);

/**
 * wdf_host_clock_advance() - move a virtual clock forward by @ns and run whatever
 * became due (timers fire, timed waits wake).  Return: STATUS_SUCCESS, or
 * STATUS_INVALID_DEVICE_REQUEST on a monotonic clock.
 */
PCIVIRT_API NTSTATUS wdf_host_clock_advance(struct wdf_host *host, uint64_t ns);

/**
 * wdf_host_wait_sleepers() - wait (real time, at most @real_ms) until at least @n
 * threads are in a timed wait on the host clock.  Lets a test advance a virtual
 * clock only once the waiter it targets is asleep.  Return: true if reached.
 */
PCIVIRT_API bool wdf_host_wait_sleepers(struct wdf_host *host, unsigned n, unsigned real_ms);

/**
 * wdf_host_idle() - wait (real time, at most @real_ms) until no work item, timer
 * callback, deferred dispatch, completion upcall or notification is queued or
 * running.  Return: true if idle.
 */
PCIVIRT_API bool wdf_host_idle(struct wdf_host *host, unsigned real_ms);

/**
 * wdf_thread_bind() - make the calling thread's KEVENT and wait calls use @host
 * (NULL unbinds).  Runtime-created threads and callbacks are bound already.
 */
PCIVIRT_API void wdf_thread_bind(struct wdf_host *host);

/* Verifier record: count (0 = all rules), read one, clear. */
PCIVIRT_API size_t wdf_verifier_count(struct wdf_host *host, enum wdf_verifier_rule rule);
PCIVIRT_API bool wdf_verifier_get(struct wdf_host *host, size_t index, struct wdf_verifier_report *out);
PCIVIRT_API void wdf_verifier_clear(struct wdf_host *host);

/* ---- drivers ----------------------------------------------------------------------- */

struct wdf_driver_module;

/**
 * wdf_driver_load() - run a linked-in driver's DriverEntry.
 * @name: the service name (used in the registry path and reports).
 * Return: DriverEntry's status; STATUS_INVALID_DEVICE_STATE if DriverEntry
 * succeeded without WdfDriverCreate; STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS wdf_driver_load(struct wdf_host *host, const char *name, PDRIVER_INITIALIZE entry,
                                     struct wdf_driver_module **out);

/**
 * wdf_driver_load_module() - dlopen @path and run its exported DriverEntry.  The
 * module resolves the runtime's symbols from the executable (linked with
 * ENABLE_EXPORTS) or from libpcivirt.so.
 * Return: as wdf_driver_load; STATUS_DLL_NOT_FOUND (dlopen failed);
 * STATUS_DRIVER_ENTRYPOINT_NOT_FOUND (no DriverEntry).
 */
PCIVIRT_API NTSTATUS wdf_driver_load_module(struct wdf_host *host, const char *name, const char *path,
                                            struct wdf_driver_module **out);

/* ---- bus PDOs and device nodes ------------------------------------------------------ */

struct wdf_node;

/* An interface the PDO answers IRP_MN_QUERY_INTERFACE with (KMDF rule, contract.md 1.5). */
struct wdf_pdo_interface {
    const GUID *type;
    const INTERFACE *table; /* Size bytes are copied at PDO creation */
};

struct wdf_pdo_config {
    const char *hardware_id;                          /* e.g. "PCI\\VEN_8086&DEV_10C9" */
    const char *instance_id;                          /* unique in the host, e.g. "0000:01:00.0" */
    const CM_PARTIAL_RESOURCE_DESCRIPTOR *raw;        /* resources for the first start */
    const CM_PARTIAL_RESOURCE_DESCRIPTOR *translated; /* same count as raw */
    ULONG resource_count;
    const struct wdf_pdo_interface *interfaces;
    size_t interface_count;
};

/**
 * wdf_pdo_create() - a device node whose PDO the bus model owns.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_COLLISION (instance id in use);
 * STATUS_INVALID_PARAMETER (missing ids, a table smaller than INTERFACE, raw
 * without translated); STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS wdf_pdo_create(struct wdf_host *host, const struct wdf_pdo_config *config, struct wdf_node **out);

enum wdf_stack_role {
    WDF_ROLE_LOWER_FILTER = 0, /* attaches directly above the PDO */
    WDF_ROLE_FUNCTION = 1,     /* the FDO, above any lower filter */
};

/**
 * wdf_node_add_driver() - call @driver's EvtDriverDeviceAdd for @node in @role.
 * Add the lower filter first, then the function driver, before the first start.
 * Return: the callback's status; STATUS_INVALID_DEVICE_STATE (started, removed,
 * role already taken, or the callback succeeded without WdfDeviceCreate).
 */
PCIVIRT_API NTSTATUS wdf_node_add_driver(struct wdf_node *node, struct wdf_driver_module *driver,
                                         enum wdf_stack_role role);

/* wdf_node_device() - the WDFDEVICE in @role, or NULL. */
PCIVIRT_API WDFDEVICE wdf_node_device(struct wdf_node *node, enum wdf_stack_role role);

/* wdf_node_instance_id() - the instance id given at creation. */
PCIVIRT_API const char *wdf_node_instance_id(const struct wdf_node *node);

enum wdf_pnp_state {
    WDF_PNP_ADDED = 0, /* not started yet */
    WDF_PNP_STARTED,
    WDF_PNP_STOP_PENDING, /* query-stop succeeded */
    WDF_PNP_STOPPED,
    WDF_PNP_REMOVE_PENDING, /* query-remove succeeded */
    WDF_PNP_SURPRISE_REMOVED,
    WDF_PNP_REMOVED,
    WDF_PNP_FAILED, /* a start failed */
};

PCIVIRT_API enum wdf_pnp_state wdf_node_state(struct wdf_node *node);

/*
 * PnP manager operations.  Each sends one PnP IRP through the whole stack (top
 * down for queries, stop, removal; bottom up for start and cancels), serialized
 * per node, and returns the IRP's final status.  An operation not allowed in the
 * node's state returns STATUS_INVALID_DEVICE_STATE without sending anything.
 *  - start: ADDED or STOPPED -> STARTED (FAILED on error).
 *  - query_stop: STARTED -> STOP_PENDING; a failure vetoes (state stays STARTED)
 *    and the PnP manager then sends CANCEL_STOP itself, as Windows does.
 *  - cancel_stop: STOP_PENDING -> STARTED.
 *  - stop: STOP_PENDING -> STOPPED.
 *  - query_remove: STARTED, STOPPED, ADDED or FAILED -> REMOVE_PENDING; targets get
 *    query_remove upcalls first (one veto ends it, the others get remove_canceled);
 *    a failing IRP vetoes and CANCEL_REMOVE follows.
 *  - cancel_remove: REMOVE_PENDING -> previous state.
 *  - remove: REMOVE_PENDING, SURPRISE_REMOVED, ADDED, FAILED -> REMOVED.
 *  - surprise_remove: any but REMOVED -> SURPRISE_REMOVED (target remove_complete
 *    upcalls with surprise = true); the bus model then calls wdf_pnp_remove once
 *    its clients have closed, as Windows sends REMOVE after the last handle goes.
 *  Requests still owned by a driver when REMOVE is processed are waited for up to
 *  2 s (real time), then reported by the verifier and completed with
 *  STATUS_DELETE_PENDING so that no client waits forever.
 */
PCIVIRT_API NTSTATUS wdf_pnp_start(struct wdf_node *node);
PCIVIRT_API NTSTATUS wdf_pnp_query_stop(struct wdf_node *node);
PCIVIRT_API NTSTATUS wdf_pnp_cancel_stop(struct wdf_node *node);
PCIVIRT_API NTSTATUS wdf_pnp_stop(struct wdf_node *node);
PCIVIRT_API NTSTATUS wdf_pnp_query_remove(struct wdf_node *node);
PCIVIRT_API NTSTATUS wdf_pnp_cancel_remove(struct wdf_node *node);
PCIVIRT_API NTSTATUS wdf_pnp_remove(struct wdf_node *node);
PCIVIRT_API NTSTATUS wdf_pnp_surprise_remove(struct wdf_node *node);

/**
 * wdf_pnp_rebalance() - query-stop; on veto cancel-stop and return the veto;
 * else stop, install the new resources, start.  Return: the veto status, the
 * start status, or STATUS_SUCCESS.  The new lists are copied.
 */
PCIVIRT_API NTSTATUS wdf_pnp_rebalance(struct wdf_node *node, const CM_PARTIAL_RESOURCE_DESCRIPTOR *raw,
                                       const CM_PARTIAL_RESOURCE_DESCRIPTOR *translated, ULONG count);

/**
 * wdf_pnp_remove_device() - the orderly removal: query-remove; on veto
 * cancel-remove and return the veto; else remove.
 */
PCIVIRT_API NTSTATUS wdf_pnp_remove_device(struct wdf_node *node);

/**
 * wdf_node_set_resources() - the resources the next start hands out (copied).
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER; STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS wdf_node_set_resources(struct wdf_node *node, const CM_PARTIAL_RESOURCE_DESCRIPTOR *raw,
                                            const CM_PARTIAL_RESOURCE_DESCRIPTOR *translated, ULONG count);

/* ---- device-interface registry -------------------------------------------------------- */

/**
 * wdf_interface_list() - the symbolic links of every enabled interface of
 * @class_guid, as a NULL-terminated array of strings in one allocation; release
 * with wdf_interface_list_free().  Return: STATUS_SUCCESS (possibly empty);
 * STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS wdf_interface_list(struct wdf_host *host, const GUID *class_guid, char ***links);
PCIVIRT_API void wdf_interface_list_free(char **links);

struct wdf_notification;

/* Arrival (@arrival true) or removal of an interface instance; runs on the host's
 * notification thread, in order, never concurrently with itself. */
typedef void (*wdf_interface_change_fn)(void *ctx, const GUID *class_guid, const char *link, bool arrival);

/**
 * wdf_interface_register_notification() - watch @class_guid.
 * @include_existing: also report every instance enabled now, as arrivals.
 * Return: STATUS_SUCCESS; STATUS_INSUFFICIENT_RESOURCES; STATUS_INVALID_PARAMETER.
 */
PCIVIRT_API NTSTATUS wdf_interface_register_notification(struct wdf_host *host, const GUID *class_guid,
                                                         bool include_existing, wdf_interface_change_fn fn, void *ctx,
                                                         struct wdf_notification **out);

/* wdf_interface_unregister_notification() - stop; waits for a running upcall
 * unless called from it.  Accepts NULL. */
PCIVIRT_API void wdf_interface_unregister_notification(struct wdf_notification *n);

/* ---- client targets (the virtualization stack's side) ---------------------------- */

struct wdf_target;
struct wdf_io;

/*
 * "Target going away" upcalls (contract.md 7.6; Windows' target-device-change
 * notifications).  They run on the PnP thread of the node; none may block on that
 * node's PnP operations.  query_remove may veto (return a failure); after
 * remove_complete the target only fails new sends (STATUS_DELETE_PENDING/
 * STATUS_NO_SUCH_DEVICE) and the owner should close it.
 */
struct wdf_target_callbacks {
    NTSTATUS (*query_remove)(void *ctx, struct wdf_target *target);
    void (*remove_canceled)(void *ctx, struct wdf_target *target);
    void (*remove_complete)(void *ctx, struct wdf_target *target, bool surprise);
};

/**
 * wdf_target_open() - open the device stack behind interface instance @link.
 * @mode: KernelMode (the VSP) or UserMode (the proxy): the requests' requestor mode.
 * @callbacks: optional (copied).
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_NOT_FOUND (no such link, or
 * disabled); STATUS_DELETE_PENDING (removal in progress); STATUS_INVALID_PARAMETER;
 * STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS wdf_target_open(struct wdf_host *host, const char *link, KPROCESSOR_MODE mode,
                                     const struct wdf_target_callbacks *callbacks, void *ctx, struct wdf_target **out);

/**
 * wdf_target_close() - close; cancels this target's outstanding requests and waits
 * for them to complete.  Accepts NULL.
 */
PCIVIRT_API void wdf_target_close(struct wdf_target *target);

/**
 * wdf_target_query_interface() - IRP_MN_QUERY_INTERFACE down the target's stack,
 * from the top.  @iface is a buffer of @size bytes; on success the exporter's
 * table (Size bytes) is in it and InterfaceReference has been called: the caller
 * must call iface->InterfaceDereference(iface->Context) when done.
 * Return: the exporter's status; STATUS_NOT_SUPPORTED (nobody exports @type);
 * STATUS_INVALID_BUFFER_SIZE (size/version rule); STATUS_INVALID_PARAMETER
 * (@size < sizeof(INTERFACE)); STATUS_DELETE_PENDING (removed).
 */
PCIVIRT_API NTSTATUS wdf_target_query_interface(struct wdf_target *target, const GUID *type, INTERFACE *iface,
                                                USHORT size, USHORT version, PVOID specific);

/**
 * wdf_target_send_sync() - build a METHOD_BUFFERED request and wait for it.
 * @major: IRP_MJ_DEVICE_CONTROL or IRP_MJ_INTERNAL_DEVICE_CONTROL (the latter
 *         only from a KernelMode target, else STATUS_INVALID_DEVICE_REQUEST).
 * @in/@in_len, @out/@out_len: the caller's buffers; one system buffer of
 *         max(in_len, out_len) bytes carries both (contract.md 1.3).
 * @timeout_ns: 0 = no timeout; else on the host clock: when it expires the request
 *         is cancelled, its completion awaited, and STATUS_IO_TIMEOUT returned.
 * @information: optional; receives Information (the bytes copied back are
 *         min(Information, out_len)).
 * The driver's dispatch callback runs on the calling thread when the queue allows
 * (as IoCallDriver does), so a handler may block it (contract.md 4.5).
 * Return: the request's status; STATUS_DELETE_PENDING/STATUS_NO_SUCH_DEVICE
 * (removed); STATUS_INVALID_PARAMETER; STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS wdf_target_send_sync(struct wdf_target *target, UCHAR major, ULONG code, const void *in,
                                          size_t in_len, void *out, size_t out_len, uint64_t timeout_ns,
                                          ULONG_PTR *information);

/* Completion upcall: runs on a host worker thread, never inside the completer. */
typedef void (*wdf_io_completion_fn)(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information);

/**
 * wdf_target_send_async() - as send_sync, but returns once the request is
 * dispatched; @fn runs once when it completes (@out is written by then).  The
 * caller keeps @out valid until then and releases @*io with wdf_io_release()
 * (also allowed before completion: the upcall still runs).
 * Return: STATUS_PENDING (fn will run); a failure status (fn will not run).
 */
PCIVIRT_API NTSTATUS wdf_target_send_async(struct wdf_target *target, UCHAR major, ULONG code, const void *in,
                                           size_t in_len, void *out, size_t out_len, wdf_io_completion_fn fn, void *ctx,
                                           struct wdf_io **io);

/**
 * wdf_io_cancel() - ask for cancellation (the request completes, usually with
 * STATUS_CANCELLED, if its driver honours it).  Return: true if the request was
 * still outstanding.
 */
PCIVIRT_API bool wdf_io_cancel(struct wdf_io *io);

/*
 * wdf_io_release() - drop the caller's handle.  Accepts NULL.  May also be called
 * after wdf_host_destroy(), which detaches handles still held; it then only frees
 * the handle.
 */
PCIVIRT_API void wdf_io_release(struct wdf_io *io);

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_WDF_HOST_H */
