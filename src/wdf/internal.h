/*
 * wdf/internal.h - the runtime's private structures, shared by the files of src/wdf.
 *
 * One lock per host.  Every piece of runtime state of a host (objects, queues,
 * requests, events, lock words, timers, the registry) is guarded by host->mu,
 * and every state change broadcasts host->cv (the service threads - workers,
 * notification lane, timers - sleep on condition variables of their own, woken
 * only by what they serve).  Driver code is never called with
 * host->mu held.  A single lock is slower than fine-grained locking but makes
 * the cancel/complete/forward/purge races easy to reason about: each transition
 * of a request is one critical section (docs/RUNTIME.md, "Locking").
 *
 * Waiting.  Every wait goes through wdf_wait_locked(), which knows the host clock:
 * with a virtual clock a timed waiter sleeps until wdf_host_clock_advance()
 * broadcasts; with the monotonic clock it uses pthread_cond_timedwait.
 */
#ifndef PCIVIRT_WDF_INTERNAL_H
#define PCIVIRT_WDF_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/wdf.h"
#include "util/list.h"

#define WDF_NO_DEADLINE UINT64_MAX
#define WDF_STACK_MAX 3 /* PDO, lower filter, FDO */
#define WDF_NAME_MAX 64
#define WDF_LINK_MAX 192

enum wdf_obj_type {
    WDF_T_DRIVER = 1,
    WDF_T_DEVICE,
    WDF_T_QUEUE,
    WDF_T_REQUEST,
    WDF_T_WAITLOCK,
    WDF_T_SPINLOCK,
    WDF_T_WORKITEM,
    WDF_T_TIMER,
};

#define WDF_OBJ_MAGIC 0x57444f42u /* "WDOB" */
#define WDF_CTX_MAGIC 0x57444358u /* "WDCX" */
#define WDF_DEAD_MAGIC 0xdeadbeefu

struct wdf_obj {
    uint32_t magic;
    enum wdf_obj_type type;
    struct wdf_host *host;
    struct wdf_obj *parent;
    struct list_node children;
    struct list_node sibling;
    unsigned refs;
    bool deleted;
    PFN_WDF_OBJECT_CONTEXT_CLEANUP cleanup;
    PFN_WDF_OBJECT_CONTEXT_DESTROY destroy;
    PCWDF_OBJECT_CONTEXT_TYPE_INFO ctx_type;
    void *ctx;
    void (*on_delete)(struct wdf_obj *obj); /* type-specific teardown at delete, no lock */
    void (*free_fn)(struct wdf_obj *obj);   /* type-specific release at last unref, no lock */
    struct list_node free_node;
};

/* A thread in KeWaitForSingleObject: KeSetEvent wakes the waiters of its event only. */
struct wdf_event_waiter {
    struct list_node node; /* on host->event_waiters */
    const void *event;
    pthread_cond_t cv;
};

/* Header in front of every context block, so a context leads back to its object. */
struct wdf_ctx_hdr {
    uint32_t magic;
    uint32_t pad;
    struct wdf_obj *obj;
};

/* ---- host ---------------------------------------------------------------------- */

struct wdf_work {
    struct list_node node;
    void (*fn)(struct wdf_host *host, void *arg);
    void *arg;
};

struct wdf_host {
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* every other waiter: events, locks, requests, PnP, idleness */
    pthread_cond_t work_cv;         /* idle workers: work queued, stopping */
    pthread_cond_t notify_cv;       /* the notification lane: work queued, stopping */
    pthread_cond_t timer_cv;        /* the timer thread: a timer started, the clock advanced, stopping */
    struct list_node event_waiters; /* struct wdf_event_waiter: KeWaitForSingleObject callers */
    enum wdf_clock_kind clock;
    uint64_t virt_now;
    unsigned sleepers;

    /* workers */
    struct list_node work;
    unsigned nworkers, idle_workers, running_work, max_workers;
    pthread_t *workers;
    bool stopping;

    /* the serial notification lane */
    struct list_node notify_work;
    bool notify_running;
    pthread_t notify_thread;
    bool notify_started;

    /* timers */
    struct list_node timers;
    pthread_t timer_thread;
    bool timer_started;

    /* registry */
    struct list_node nodes;
    struct list_node ifaces;
    struct list_node notifications;
    struct list_node modules;
    struct list_node targets;
    struct list_node ios; /* every wdf_io not yet freed */

    /* verifier */
    pthread_mutex_t vmu;
    bool verifier_on;
    wdf_verifier_fn on_report;
    void *report_ctx;
    struct wdf_verifier_report *reports;
    size_t nreports, cap_reports;

    /* completed requests kept alive to catch late use */
    struct wdf_request **quarantine;
    unsigned quarantine_cap, quarantine_head, quarantine_len;

    uint64_t next_request_id;
};

/*
 * What a thread is running driver code for.  The verifier fills a report's device
 * and request from it when the reporting call has no object of its own to name
 * (a blocking call under a lock, a lock misuse, a bad handle).
 */
struct wdf_site {
    struct wdf_host *host;
    const char *device; /* the device's name (alive while its callback runs), or NULL */
    uint64_t request;   /* the request's sequence number, or 0 */
    ULONG ioctl;
};

/* Per-thread runtime state: the running callback's site, locks held. */
struct wdf_tls {
    struct wdf_site site;
    int locks_held; /* wait locks + spin locks */
    int spins_held; /* spin locks only */
    struct wdf_host *bound;
};

struct wdf_tls *wdf_tls(void);

/* Enter/leave driver code on @host (sets the thread's host; returns the old one). */
struct wdf_host *wdf_enter(struct wdf_host *host);
void wdf_leave(struct wdf_host *prev);

/* Enter driver code running for a device, a request or any object under a device;
 * wdf_leave_site() restores the site returned. */
struct wdf_device;
struct wdf_request;
struct wdf_obj;
struct wdf_site wdf_enter_device(struct wdf_device *dev);
struct wdf_site wdf_enter_request(struct wdf_request *req);
struct wdf_site wdf_enter_object(struct wdf_obj *obj);
void wdf_leave_site(struct wdf_site prev);

/* The host for a call without an object: running callback, else bound thread. */
struct wdf_host *wdf_current_host(void);

uint64_t wdf_now_locked(struct wdf_host *host);

/*
 * wdf_wait_locked() - sleep on host->cv (host->mu held) until broadcast or
 * @deadline (host clock ns, WDF_NO_DEADLINE = none).  @real: the deadline is in
 * CLOCK_MONOTONIC ns whatever the host clock.  @count: count as a sleeper.
 * Return: true if the deadline has passed.
 */
bool wdf_wait_locked(struct wdf_host *host, uint64_t deadline, bool real, bool count);

/*
 * wdf_wait_cv_locked() - wdf_wait_locked() on one of the host's own condition
 * variables (work_cv, notify_cv, timer_cv): the runtime's service threads sleep
 * apart from host->cv, so the broadcasts of ordinary state changes (a lock
 * released, an event set, a request completed) do not wake them for nothing.
 */
bool wdf_wait_cv_locked(struct wdf_host *host, pthread_cond_t *cv, uint64_t deadline, bool real, bool count);

/* wdf_wake_event_waiters_locked() - wake the KeWaitForSingleObject callers of @event (NULL: all). */
void wdf_wake_event_waiters_locked(struct wdf_host *host, const void *event);

uint64_t wdf_monotonic_ns(void);

/* Convert an NT timeout (negative relative, positive absolute, 100 ns) to a deadline. */
uint64_t wdf_deadline_from_nt(struct wdf_host *host, LONGLONG timeout);

/* Queue @fn(@arg) on a worker (host->mu held).  Return: false on allocation failure. */
bool wdf_post_locked(struct wdf_host *host, void (*fn)(struct wdf_host *, void *), void *arg);
/* Same on the serial notification lane. */
bool wdf_post_notify_locked(struct wdf_host *host, void (*fn)(struct wdf_host *, void *), void *arg);

/* ---- verifier ------------------------------------------------------------------ */

void wdf_report(struct wdf_host *host, enum wdf_verifier_rule rule, const char *device, uint64_t request_id,
                ULONG ioctl, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Report a blocking call made with a runtime lock held.  Return: true if so. */
bool wdf_check_blocking(struct wdf_host *host, const char *what);

/* ---- objects ------------------------------------------------------------------- */

/*
 * wdf_obj_alloc() - allocate an object of @size bytes (embedding struct wdf_obj
 * first) plus the context @attrs asks for; parent it under @parent (or
 * attrs->ParentObject when @parent is NULL).  Not linked yet: call wdf_obj_link.
 */
NTSTATUS wdf_obj_alloc(struct wdf_host *host, enum wdf_obj_type type, size_t size, PWDF_OBJECT_ATTRIBUTES attrs,
                       struct wdf_obj *parent, struct wdf_obj **out);
void wdf_obj_link(struct wdf_obj *obj);          /* under host->mu */
void wdf_obj_free_unlinked(struct wdf_obj *obj); /* failure path before linking */
void wdf_obj_ref_locked(struct wdf_obj *obj);
void wdf_obj_unref(struct wdf_obj *obj); /* takes host->mu itself */
void wdf_obj_unref_locked(struct wdf_obj *obj, struct list_node *to_free);
void wdf_obj_free_list(struct list_node *to_free);
void wdf_obj_delete(struct wdf_obj *obj); /* the WdfObjectDelete path */

/* The device @obj is, or the one it hangs under; NULL if none. */
struct wdf_device *wdf_obj_device(struct wdf_obj *obj);

/* Validate a handle (no lock needed for the read: objects stay valid while used). */
struct wdf_obj *wdf_obj_check(void *handle, enum wdf_obj_type type, const char *api);

/* ---- devices, nodes, PnP --------------------------------------------------------- */

struct wdf_reslist {
    uint32_t magic;
    ULONG count;
    CM_PARTIAL_RESOURCE_DESCRIPTOR *d;
};
#define WDF_RESLIST_MAGIC 0x57524c53u

struct wdf_driver {
    struct wdf_obj obj;
    struct wdf_driver_module *module;
    WDF_DRIVER_CONFIG config;
};

struct _DRIVER_OBJECT {
    struct wdf_host *host;
    struct wdf_driver_module *module;
    struct wdf_driver *driver;
};

struct wdf_driver_module {
    struct list_node node;
    struct wdf_host *host;
    char name[WDF_NAME_MAX + 8];
    void *dl;
    DRIVER_OBJECT drvobj;
};

struct WDFDEVICE_INIT {
    struct wdf_host *host;
    struct wdf_node *node;
    struct wdf_driver *driver;
    enum wdf_stack_role role;
    bool filter;
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    PFN_WDFDEVICE_WDM_IRP_PREPROCESS preprocess;
    uint8_t minors[32];
    WDF_DEVICE_IO_TYPE io_type;
    struct wdf_device *created;
};

struct wdf_qi {
    struct list_node node;
    GUID type;
    INTERFACE *table; /* copy, table->Size bytes; NULL for import-only */
    PFN_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST evt;
    bool import;
};

struct wdf_qi_inflight {
    struct list_node node;
    const INTERFACE *buffer;
    USHORT size, version;
};

struct wdf_device {
    struct wdf_obj obj;
    struct wdf_node *node;
    struct wdf_driver *driver;
    enum wdf_stack_role role;
    int level; /* index in node->stack */
    bool filter;
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    PFN_WDFDEVICE_WDM_IRP_PREPROCESS preprocess;
    uint8_t minors[32];
    struct list_node queues;
    struct wdf_queue *default_queue;
    struct wdf_queue *dispatch[WdfRequestTypeMax];
    struct list_node qis;
    struct list_node qi_inflight;
    struct list_node outstanding; /* requests not completed */
    bool in_d0, hw_prepared, smio_done, removed;
    unsigned iface_refs;
    char name[WDF_NAME_MAX + 8];
};

struct wdf_node {
    struct list_node node;
    struct wdf_host *host;
    pthread_mutex_t pnp_mu; /* serializes PnP operations on this node */
    char instance_id[WDF_NAME_MAX];
    char hardware_id[WDF_NAME_MAX * 2];
    enum wdf_pnp_state state, state_before_remove;
    struct wdf_reslist raw, translated;           /* handed out at the last start */
    struct wdf_reslist next_raw, next_translated; /* for the next start */
    bool next_set;
    struct wdf_pdo_interface_copy {
        GUID type;
        INTERFACE *table;
    } * pdo_ifaces;
    size_t pdo_iface_count;
    struct wdf_device *stack[WDF_STACK_MAX]; /* [0] unused (PDO), [1] filter, [2] FDO */
    unsigned refs;                           /* targets holding the node */
};

struct wdf_device *wdf_node_top(struct wdf_node *node); /* under host->mu */
struct wdf_device *wdf_device_below(struct wdf_device *dev);

/* The PnP IRP machinery (pnp.c). */
struct pcivirt_irp_private {
    struct wdf_node *node;
    IO_STACK_LOCATION stack;
    int level;     /* the level currently holding the IRP */
    int fwd_depth; /* forwarders waiting for a lower completion */
    bool fwd_done[WDF_STACK_MAX + 1];
    bool final_done;
    bool pending;
};

/* Send an initialized IRP to @level of its node and wait for its completion. */
NTSTATUS wdf_irp_call(PIRP irp, int level);
void wdf_irp_init(PIRP irp, struct pcivirt_irp_private *priv, struct wdf_node *node, UCHAR minor);
/* The framework's own handling of a PnP IRP on @dev (pnp.c). */
NTSTATUS wdf_fw_process(struct wdf_device *dev, PIRP irp);
/* Forward @irp from @dev to the level below and wait for it. */
NTSTATUS wdf_irp_forward_and_wait(struct wdf_device *dev, PIRP irp);
/* The PDO's handling (bus model). */
NTSTATUS wdf_pdo_process(struct wdf_node *node, PIRP irp);
/* Query-interface handling at @dev's level (qi.c).  Return: true if handled. */
bool wdf_qi_handle(struct wdf_device *dev, PIRP irp, NTSTATUS *status);
NTSTATUS wdf_qi_match(const INTERFACE *table, PIO_STACK_LOCATION stk);
NTSTATUS wdf_query_interface_at(struct wdf_node *node, int level, const GUID *type, INTERFACE *iface, USHORT size,
                                USHORT version, PVOID specific);

/* Device interfaces (iface.c). */
void wdf_iface_set_device_state(struct wdf_device *dev, bool enabled); /* takes host->mu */
void wdf_iface_drop_device(struct wdf_device *dev);                    /* under host->mu */

/* Queues (queue.c). */
struct wdf_queue {
    struct wdf_obj obj;
    struct wdf_device *device;
    WDF_IO_QUEUE_CONFIG config;
    bool power_managed;
    bool accepting;
    struct list_node requests; /* queued */
    unsigned presented;        /* owned by the driver through this queue */
    struct list_node dev_node;
    bool kick_posted;
};

void wdf_queue_power(struct wdf_device *dev, bool d0); /* pause/resume power-managed queues */
void wdf_queue_purge_device(struct wdf_device *dev, bool power_managed_only, NTSTATUS status);

/* Requests (request.c). */
enum wdf_rq_state { RQ_NEW = 0, RQ_QUEUED, RQ_DRIVER, RQ_COMPLETED };
enum wdf_cx_state { CX_NONE = 0, CX_MARKED, CX_TAKEN };

struct wdf_request {
    struct wdf_obj obj;
    uint64_t id;
    struct wdf_device *device; /* current owner device */
    struct wdf_queue *queue;   /* queue holding it, or that presented it */
    enum wdf_rq_state state;
    int in_dispatch;
    struct list_node qnode;   /* in queue->requests */
    struct list_node devnode; /* in device->outstanding */
    UCHAR major;
    ULONG code;
    KPROCESSOR_MODE mode;
    void *sysbuf;
    size_t in_len, out_len;
    ULONG_PTR information;
    NTSTATUS status;
    bool cancel_requested;
    enum wdf_cx_state cx;
    PFN_WDF_REQUEST_CANCEL cancel_routine;
    bool abandoned;
    struct wdf_io *io;
    char devname[WDF_NAME_MAX + 8];
    struct list_node defer_node; /* in a deferred-action list */
    enum { DEFER_NONE = 0, DEFER_CANCEL_ROUTINE, DEFER_CANCELED_ON_QUEUE, DEFER_PRESENT } defer;
};

/* Create a request for @io (host->mu not held).  Return: NULL on allocation failure. */
struct wdf_request *wdf_request_new(struct wdf_host *host, struct wdf_io *io, UCHAR major, ULONG code,
                                    KPROCESSOR_MODE mode, const void *in, size_t in_len, size_t out_len);
/* Route @req into @dev's stack (host->mu not held); may present it on this thread. */
void wdf_request_dispatch(struct wdf_device *dev, struct wdf_request *req);
/* Complete from the runtime (host->mu held), e.g. purge or abandon. */
void wdf_request_complete_locked(struct wdf_request *req, NTSTATUS status, ULONG_PTR info);
/* Cancel @req, just taken out of @q's list, with @status: EvtIoCanceledOnQueue gets
 * it through @deferred, else it completes now (host->mu held). */
void wdf_request_cancel_dequeued_locked(struct wdf_request *req, struct wdf_queue *q, NTSTATUS status,
                                        struct list_node *deferred);
/* Ask for cancellation (host->mu held); may run driver code after unlocking. */
void wdf_request_cancel_locked(struct wdf_request *req, struct list_node *deferred);
void wdf_run_deferred(struct wdf_host *host, struct list_node *deferred);
/* Present queued requests of @q if it may (host->mu held; callbacks run later on workers). */
void wdf_queue_kick_locked(struct wdf_queue *q);

/* Client side (target.c). */
struct wdf_io {
    struct wdf_host *host;
    struct wdf_target *target;
    struct wdf_request *req;
    struct list_node tnode;
    struct list_node hnode; /* in host->ios */
    void *out;
    size_t out_len;
    wdf_io_completion_fn fn;
    void *ctx;
    unsigned refs;
    bool done;
    NTSTATUS status;
    ULONG_PTR information;
};

/* Called with host->mu held when the request of @io completes. */
void wdf_io_completed_locked(struct wdf_io *io, NTSTATUS status, ULONG_PTR info);
void wdf_io_unref_locked(struct wdf_io *io);

/* Targets of a node, for the PnP manager's upcalls (target.c). */
NTSTATUS wdf_targets_query_remove(struct wdf_node *node);
void wdf_targets_remove_canceled(struct wdf_node *node);
void wdf_targets_remove_complete(struct wdf_node *node, bool surprise);
void wdf_target_free_all(struct wdf_host *host);
void wdf_io_orphan_all(struct wdf_host *host);

/* Teardown helpers. */
void wdf_node_free_all(struct wdf_host *host);
void wdf_iface_free_all(struct wdf_host *host);
void wdf_modules_unload_all(struct wdf_host *host);
void wdf_timers_fire_due_locked(struct wdf_host *host);
void *wdf_timer_thread(void *arg);
void wdf_device_delete_objects(struct wdf_device *dev);
void wdf_node_take_resources(struct wdf_node *node);
void wdf_device_drain_requests(struct wdf_device *dev);
struct wdf_node *wdf_iface_lookup_locked(struct wdf_host *host, const char *link);

#endif /* PCIVIRT_WDF_INTERNAL_H */
