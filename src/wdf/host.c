/*
 * wdf/host.c - the runtime host: clock, the one wait primitive, worker threads,
 * the serial notification lane, and the thread-local "which host am I on".
 *
 * Why a host object and thread-local state: there is no global mutable state, so
 * two hosts in one process never interfere (STYLE.md rule 7).  NT calls that take
 * no object (KeInitializeEvent, KeWaitForSingleObject) still need a clock; they
 * find it through the calling thread, which the runtime marks whenever it runs
 * driver code or a worker.  Workers are created on demand up to a cap, because a
 * driver callback is allowed to block (contract.md 4.5) and a fixed pool could be
 * exhausted by blocked callbacks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/cond.h"
#include "util/thread.h"
#include "wdf/internal.h"

static _Thread_local struct wdf_tls tls_state;

struct wdf_tls *
wdf_tls(void)
{
    return &tls_state;
}

struct wdf_host *
wdf_enter(struct wdf_host *host)
{
    struct wdf_host *prev = tls_state.site.host;

    if (host != prev) {
        /* Another host's device and request mean nothing here. */
        tls_state.site.device = NULL;
        tls_state.site.request = 0;
        tls_state.site.ioctl = 0;
    }
    tls_state.site.host = host;
    return prev;
}

void
wdf_leave(struct wdf_host *prev)
{
    tls_state.site.host = prev;
}

static struct wdf_site
enter_site(struct wdf_host *host, const char *device, uint64_t request, ULONG ioctl)
{
    struct wdf_site prev = tls_state.site;

    tls_state.site.host = host;
    tls_state.site.device = device;
    tls_state.site.request = request;
    tls_state.site.ioctl = ioctl;
    return prev;
}

struct wdf_site
wdf_enter_device(struct wdf_device *dev)
{
    return enter_site(dev->obj.host, dev->name, 0, 0);
}

struct wdf_site
wdf_enter_request(struct wdf_request *req)
{
    return enter_site(req->obj.host, req->devname, req->id, req->code);
}

struct wdf_site
wdf_enter_object(struct wdf_obj *obj)
{
    struct wdf_device *dev = wdf_obj_device(obj);

    return enter_site(obj->host, dev != NULL ? dev->name : NULL, 0, 0);
}

void
wdf_leave_site(struct wdf_site prev)
{
    tls_state.site = prev;
}

struct wdf_host *
wdf_current_host(void)
{
    return tls_state.site.host != NULL ? tls_state.site.host : tls_state.bound;
}

void
wdf_thread_bind(struct wdf_host *host)
{
    tls_state.bound = host;
}

uint64_t
wdf_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
wdf_now_locked(struct wdf_host *host)
{
    return host->clock == WDF_CLOCK_VIRTUAL ? host->virt_now : wdf_monotonic_ns();
}

uint64_t
wdf_host_now(struct wdf_host *host)
{
    uint64_t now;

    if (host == NULL) {
        return 0;
    }
    pthread_mutex_lock(&host->mu);
    now = wdf_now_locked(host);
    pthread_mutex_unlock(&host->mu);
    return now;
}

uint64_t
wdf_deadline_from_nt(struct wdf_host *host, LONGLONG timeout)
{
    uint64_t now = wdf_now_locked(host);

    if (timeout < 0) {
        uint64_t rel = (uint64_t)(-(timeout + 1)) + 1; /* no overflow at LLONG_MIN */
        if (rel > (WDF_NO_DEADLINE - 1 - now) / 100) {
            return WDF_NO_DEADLINE - 1;
        }
        return now + rel * 100;
    }
    if ((uint64_t)timeout > (WDF_NO_DEADLINE - 1) / 100) {
        return WDF_NO_DEADLINE - 1;
    }
    return (uint64_t)timeout * 100;
}

bool
wdf_wait_locked(struct wdf_host *host, uint64_t deadline, bool real, bool count)
{
    return wdf_wait_cv_locked(host, &host->cv, deadline, real, count);
}

bool
wdf_wait_cv_locked(struct wdf_host *host, pthread_cond_t *cv, uint64_t deadline, bool real, bool count)
{
    uint64_t now = real ? wdf_monotonic_ns() : wdf_now_locked(host);

    if (deadline != WDF_NO_DEADLINE && now >= deadline) {
        return true;
    }
    if (deadline == WDF_NO_DEADLINE || (!real && host->clock == WDF_CLOCK_VIRTUAL)) {
        if (count && deadline != WDF_NO_DEADLINE) {
            host->sleepers++;
            pthread_cond_broadcast(&host->cv);
        }
        pthread_cond_wait(cv, &host->mu);
        if (count && deadline != WDF_NO_DEADLINE) {
            host->sleepers--;
        }
    } else {
        struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
                              .tv_nsec = (long)(deadline % 1000000000ull)};
        if (count) {
            host->sleepers++;
            pthread_cond_broadcast(&host->cv);
        }
        pthread_cond_timedwait(cv, &host->mu, &ts);
        if (count) {
            host->sleepers--;
        }
    }
    if (deadline == WDF_NO_DEADLINE) {
        return false;
    }
    now = real ? wdf_monotonic_ns() : wdf_now_locked(host);
    return now >= deadline;
}

NTSTATUS
wdf_host_clock_advance(struct wdf_host *host, uint64_t ns)
{
    if (host == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&host->mu);
    if (host->clock != WDF_CLOCK_VIRTUAL) {
        pthread_mutex_unlock(&host->mu);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    host->virt_now = ns > UINT64_MAX - 1 - host->virt_now ? UINT64_MAX - 1 : host->virt_now + ns;
    wdf_timers_fire_due_locked(host);
    pthread_cond_broadcast(&host->cv);
    pthread_cond_broadcast(&host->timer_cv);
    wdf_wake_event_waiters_locked(host, NULL); /* timed waits on the virtual clock */
    pthread_mutex_unlock(&host->mu);
    return STATUS_SUCCESS;
}

bool
wdf_host_wait_sleepers(struct wdf_host *host, unsigned n, unsigned real_ms)
{
    uint64_t deadline = wdf_monotonic_ns() + (uint64_t)real_ms * 1000000ull;
    bool ok;

    if (host == NULL) {
        return false;
    }
    pthread_mutex_lock(&host->mu);
    while (host->sleepers < n) {
        if (wdf_wait_locked(host, deadline, true, false)) {
            break;
        }
    }
    ok = host->sleepers >= n;
    pthread_mutex_unlock(&host->mu);
    return ok;
}

static bool
host_is_idle_locked(struct wdf_host *host)
{
    return list_empty(&host->work) && host->running_work == 0 && list_empty(&host->notify_work) &&
           !host->notify_running;
}

bool
wdf_host_idle(struct wdf_host *host, unsigned real_ms)
{
    uint64_t deadline = wdf_monotonic_ns() + (uint64_t)real_ms * 1000000ull;
    bool ok;

    if (host == NULL) {
        return false;
    }
    pthread_mutex_lock(&host->mu);
    while (!host_is_idle_locked(host)) {
        if (wdf_wait_locked(host, deadline, true, false)) {
            break;
        }
    }
    ok = host_is_idle_locked(host);
    pthread_mutex_unlock(&host->mu);
    return ok;
}

/* ---- workers ------------------------------------------------------------------ */

static void *
worker_main(void *arg)
{
    struct wdf_host *host = arg;

    pv_thread_name("pv-wdf-work", -1);
    wdf_enter(host);
    pthread_mutex_lock(&host->mu);
    for (;;) {
        struct list_node *n = list_pop_head(&host->work);
        if (n == NULL) {
            if (host->stopping) {
                break;
            }
            host->idle_workers++;
            wdf_wait_cv_locked(host, &host->work_cv, WDF_NO_DEADLINE, false, false);
            host->idle_workers--;
            continue;
        }
        struct wdf_work *w = list_entry(n, struct wdf_work, node);
        host->running_work++;
        pthread_mutex_unlock(&host->mu);
        w->fn(host, w->arg);
        pv_free(w);
        pthread_mutex_lock(&host->mu);
        host->running_work--;
        pthread_cond_broadcast(&host->cv);
    }
    pthread_mutex_unlock(&host->mu);
    return NULL;
}

static void *
notify_main(void *arg)
{
    struct wdf_host *host = arg;

    pv_thread_name("pv-wdf-notify", -1);
    wdf_enter(host);
    pthread_mutex_lock(&host->mu);
    for (;;) {
        struct list_node *n = list_pop_head(&host->notify_work);
        if (n == NULL) {
            if (host->stopping) {
                break;
            }
            wdf_wait_cv_locked(host, &host->notify_cv, WDF_NO_DEADLINE, false, false);
            continue;
        }
        struct wdf_work *w = list_entry(n, struct wdf_work, node);
        host->notify_running = true;
        pthread_mutex_unlock(&host->mu);
        w->fn(host, w->arg);
        pv_free(w);
        pthread_mutex_lock(&host->mu);
        host->notify_running = false;
        pthread_cond_broadcast(&host->cv);
    }
    pthread_mutex_unlock(&host->mu);
    return NULL;
}

static struct wdf_work *
work_new(void (*fn)(struct wdf_host *, void *), void *arg)
{
    struct wdf_work *w = pv_malloc(sizeof(*w));

    if (w != NULL) {
        list_init(&w->node);
        w->fn = fn;
        w->arg = arg;
    }
    return w;
}

bool
wdf_post_locked(struct wdf_host *host, void (*fn)(struct wdf_host *, void *), void *arg)
{
    struct wdf_work *w = work_new(fn, arg);
    size_t queued;

    if (w == NULL) {
        return false;
    }
    list_add_tail(&host->work, &w->node);
    queued = list_length(&host->work);
    if (host->idle_workers < queued && host->nworkers < host->max_workers && !host->stopping) {
        if (pthread_create(&host->workers[host->nworkers], NULL, worker_main, host) == 0) {
            host->nworkers++;
        }
    }
    pthread_cond_signal(&host->work_cv); /* one item, one worker */
    return true;
}

bool
wdf_post_notify_locked(struct wdf_host *host, void (*fn)(struct wdf_host *, void *), void *arg)
{
    struct wdf_work *w = work_new(fn, arg);

    if (w == NULL) {
        return false;
    }
    list_add_tail(&host->notify_work, &w->node);
    pthread_cond_signal(&host->notify_cv);
    return true;
}

/* ---- create / destroy ---------------------------------------------------------- */

#define HOST_CVS 4u

/* The host's condition variables, by number (created and destroyed together). */
static pthread_cond_t *
host_cv(struct wdf_host *host, unsigned i)
{
    pthread_cond_t *cvs[HOST_CVS] = {&host->cv, &host->work_cv, &host->notify_cv, &host->timer_cv};

    return cvs[i];
}

static NTSTATUS
host_init_sync(struct wdf_host *host)
{
    if (pthread_mutex_init(&host->mu, NULL) != 0) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (pthread_mutex_init(&host->vmu, NULL) != 0) {
        goto undo_mu;
    }
    for (unsigned i = 0; i < HOST_CVS; i++) {
        if (pv_cond_init_monotonic(host_cv(host, i)) != 0) {
            while (i-- > 0) {
                pthread_cond_destroy(host_cv(host, i));
            }
            goto undo_vmu;
        }
    }
    return STATUS_SUCCESS;

undo_vmu:
    pthread_mutex_destroy(&host->vmu);
undo_mu:
    pthread_mutex_destroy(&host->mu);
    return STATUS_INSUFFICIENT_RESOURCES;
}

static void
host_lists_init(struct wdf_host *host)
{
    list_init(&host->work);
    list_init(&host->notify_work);
    list_init(&host->event_waiters);
    list_init(&host->timers);
    list_init(&host->nodes);
    list_init(&host->ifaces);
    list_init(&host->notifications);
    list_init(&host->modules);
    list_init(&host->targets);
    list_init(&host->ios);
}

static NTSTATUS
host_start_threads(struct wdf_host *host)
{
    if (pthread_create(&host->notify_thread, NULL, notify_main, host) != 0) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    host->notify_started = true;
    if (pthread_create(&host->timer_thread, NULL, wdf_timer_thread, host) != 0) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    host->timer_started = true;
    return STATUS_SUCCESS;
}

NTSTATUS
wdf_host_create(const struct wdf_host_config *config, struct wdf_host **out)
{
    struct wdf_host_config defaults = {0};
    struct wdf_host *host;
    NTSTATUS st;

    if (out == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *out = NULL;
    if (config == NULL) {
        config = &defaults;
    }
    if (config->clock != WDF_CLOCK_MONOTONIC && config->clock != WDF_CLOCK_VIRTUAL) {
        return STATUS_INVALID_PARAMETER;
    }
    host = pv_calloc(1, sizeof(*host));
    if (host == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    host_lists_init(host);
    host->clock = config->clock;
    host->max_workers = config->max_workers != 0 ? config->max_workers : 64;
    host->verifier_on = !config->verifier_off;
    host->on_report = config->on_report;
    host->report_ctx = config->report_ctx;
    host->quarantine_cap = config->quarantine != 0 ? config->quarantine : 1024;
    host->next_request_id = 1;
    host->workers = pv_calloc(host->max_workers, sizeof(pthread_t));
    host->quarantine = pv_calloc(host->quarantine_cap, sizeof(*host->quarantine));
    if (host->workers == NULL || host->quarantine == NULL) {
        pv_free(host->workers);
        pv_free(host->quarantine);
        pv_free(host);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    st = host_init_sync(host);
    if (!NT_SUCCESS(st)) {
        pv_free(host->workers);
        pv_free(host->quarantine);
        pv_free(host);
        return st;
    }
    st = host_start_threads(host);
    if (!NT_SUCCESS(st)) {
        wdf_host_destroy(host);
        return st;
    }
    *out = host;
    return STATUS_SUCCESS;
}

static void
host_stop_threads(struct wdf_host *host)
{
    unsigned n;

    pthread_mutex_lock(&host->mu);
    host->stopping = true;
    pthread_cond_broadcast(&host->cv);
    pthread_cond_broadcast(&host->work_cv);
    pthread_cond_broadcast(&host->notify_cv);
    pthread_cond_broadcast(&host->timer_cv);
    n = host->nworkers;
    pthread_mutex_unlock(&host->mu);
    for (unsigned i = 0; i < n; i++) {
        pthread_join(host->workers[i], NULL);
    }
    if (host->notify_started) {
        pthread_join(host->notify_thread, NULL);
    }
    if (host->timer_started) {
        pthread_join(host->timer_thread, NULL);
    }
}

static void
host_drain_quarantine(struct wdf_host *host)
{
    struct list_node to_free;

    list_init(&to_free);
    pthread_mutex_lock(&host->mu);
    while (host->quarantine_len > 0) {
        struct wdf_request *r = host->quarantine[host->quarantine_head];
        host->quarantine_head = (host->quarantine_head + 1) % host->quarantine_cap;
        host->quarantine_len--;
        wdf_obj_unref_locked(&r->obj, &to_free);
    }
    pthread_mutex_unlock(&host->mu);
    wdf_obj_free_list(&to_free);
}

void
wdf_host_destroy(struct wdf_host *host)
{
    if (host == NULL) {
        return;
    }
    wdf_node_free_all(host);
    wdf_host_idle(host, 5000);
    wdf_target_free_all(host);
    wdf_iface_free_all(host);
    wdf_modules_unload_all(host);
    host_stop_threads(host);
    wdf_io_orphan_all(host);
    host_drain_quarantine(host);
    for (unsigned i = 0; i < HOST_CVS; i++) {
        pthread_cond_destroy(host_cv(host, i));
    }
    pthread_mutex_destroy(&host->mu);
    pthread_mutex_destroy(&host->vmu);
    pv_free(host->reports);
    pv_free(host->workers);
    pv_free(host->quarantine);
    pv_free(host);
}
