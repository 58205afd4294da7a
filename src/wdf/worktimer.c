/*
 * wdf/worktimer.c - work items and timers.
 *
 * Both run their callback on a host worker thread.  Timers are kept on one host
 * list; a timer thread sleeps until the earliest deadline on the host clock, and
 * wdf_host_clock_advance() fires whatever became due at once, so tests driving a
 * virtual clock see timers fire deterministically (then wdf_host_idle() waits for
 * the callbacks).  A periodic timer's next deadline is computed from the previous
 * deadline, not from when the callback ran, so it does not drift.
 */
#include "util/alloc.h"
#include "util/thread.h"
#include "wdf/internal.h"

struct wdf_workitem {
    struct wdf_obj obj;
    PFN_WDF_WORKITEM fn;
    bool queued, running;
    pthread_t runner;
};

struct wdf_timer {
    struct wdf_obj obj;
    PFN_WDF_TIMER fn;
    uint64_t period_ns;
    uint64_t deadline;
    bool armed;
    unsigned running;
    pthread_t runner;
    struct list_node tnode;
};

static struct wdf_obj *
parent_of(PWDF_OBJECT_ATTRIBUTES attrs)
{
    if (attrs == NULL || attrs->Size != sizeof(*attrs) || attrs->ParentObject == NULL) {
        return NULL;
    }
    return wdf_obj_check(attrs->ParentObject, 0, "ParentObject");
}

/* ---- work items --------------------------------------------------------------- */

static void
workitem_run(struct wdf_host *host, void *arg)
{
    struct wdf_workitem *wi = arg;
    struct wdf_site prev;

    pthread_mutex_lock(&host->mu);
    wi->queued = false;
    wi->running = true;
    wi->runner = pthread_self();
    pthread_mutex_unlock(&host->mu);
    prev = wdf_enter_object(&wi->obj);
    wi->fn((WDFWORKITEM)wi);
    wdf_leave_site(prev);
    pthread_mutex_lock(&host->mu);
    wi->running = false;
    pthread_cond_broadcast(&host->cv);
    pthread_mutex_unlock(&host->mu);
    wdf_obj_unref(&wi->obj);
}

static void
workitem_flush(struct wdf_workitem *wi)
{
    struct wdf_host *host = wi->obj.host;

    pthread_mutex_lock(&host->mu);
    while (wi->queued || (wi->running && !pthread_equal(wi->runner, pthread_self()))) {
        wdf_wait_locked(host, WDF_NO_DEADLINE, false, false);
    }
    pthread_mutex_unlock(&host->mu);
}

static void
workitem_on_delete(struct wdf_obj *obj)
{
    workitem_flush((struct wdf_workitem *)obj);
}

NTSTATUS
WdfWorkItemCreate(PWDF_WORKITEM_CONFIG Config, PWDF_OBJECT_ATTRIBUTES Attributes, WDFWORKITEM *WorkItem)
{
    struct wdf_obj *parent = parent_of(Attributes);
    struct wdf_obj *obj;
    NTSTATUS st;

    if (WorkItem == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *WorkItem = NULL;
    if (Config == NULL || Config->Size != sizeof(*Config) || Config->EvtWorkItemFunc == NULL || parent == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = wdf_obj_alloc(parent->host, WDF_T_WORKITEM, sizeof(struct wdf_workitem), Attributes, parent, &obj);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    ((struct wdf_workitem *)obj)->fn = Config->EvtWorkItemFunc;
    obj->on_delete = workitem_on_delete;
    pthread_mutex_lock(&obj->host->mu);
    wdf_obj_link(obj);
    pthread_mutex_unlock(&obj->host->mu);
    *WorkItem = (WDFWORKITEM)obj;
    return STATUS_SUCCESS;
}

VOID
WdfWorkItemEnqueue(WDFWORKITEM WorkItem)
{
    struct wdf_workitem *wi = (struct wdf_workitem *)wdf_obj_check(WorkItem, WDF_T_WORKITEM, "WdfWorkItemEnqueue");
    struct wdf_host *host;

    if (wi == NULL) {
        return;
    }
    host = wi->obj.host;
    pthread_mutex_lock(&host->mu);
    if (!wi->queued && !wi->obj.deleted) {
        wdf_obj_ref_locked(&wi->obj);
        if (wdf_post_locked(host, workitem_run, wi)) {
            wi->queued = true;
        } else {
            wi->obj.refs--;
        }
    }
    pthread_mutex_unlock(&host->mu);
}

WDFOBJECT
WdfWorkItemGetParentObject(WDFWORKITEM WorkItem)
{
    struct wdf_obj *obj = wdf_obj_check(WorkItem, WDF_T_WORKITEM, "WdfWorkItemGetParentObject");

    return obj != NULL ? obj->parent : NULL;
}

VOID
WdfWorkItemFlush(WDFWORKITEM WorkItem)
{
    struct wdf_workitem *wi = (struct wdf_workitem *)wdf_obj_check(WorkItem, WDF_T_WORKITEM, "WdfWorkItemFlush");

    if (wi != NULL && !wdf_check_blocking(wi->obj.host, "WdfWorkItemFlush")) {
        workitem_flush(wi);
    }
}

/* ---- timers ------------------------------------------------------------------------ */

static void
timer_run(struct wdf_host *host, void *arg)
{
    struct wdf_timer *t = arg;
    struct wdf_site prev;

    pthread_mutex_lock(&host->mu);
    t->runner = pthread_self();
    pthread_mutex_unlock(&host->mu);
    prev = wdf_enter_object(&t->obj);
    t->fn((WDFTIMER)t);
    wdf_leave_site(prev);
    pthread_mutex_lock(&host->mu);
    t->running--;
    pthread_cond_broadcast(&host->cv);
    pthread_mutex_unlock(&host->mu);
    wdf_obj_unref(&t->obj);
}

void
wdf_timers_fire_due_locked(struct wdf_host *host)
{
    uint64_t now = wdf_now_locked(host);
    struct list_node *pos, *tmp;

    list_for_each_safe(pos, tmp, &host->timers)
    {
        struct wdf_timer *t = list_entry(pos, struct wdf_timer, tnode);
        if (!t->armed || t->deadline > now) {
            continue;
        }
        if (t->period_ns != 0) {
            while (t->deadline <= now) {
                t->deadline += t->period_ns;
            }
        } else {
            t->armed = false;
            list_del_init(&t->tnode);
        }
        wdf_obj_ref_locked(&t->obj);
        t->running++;
        if (!wdf_post_locked(host, timer_run, t)) {
            t->running--;
            t->obj.refs--;
        }
    }
}

static uint64_t
earliest_deadline_locked(struct wdf_host *host)
{
    uint64_t best = WDF_NO_DEADLINE;
    struct list_node *pos;

    list_for_each(pos, &host->timers)
    {
        struct wdf_timer *t = list_entry(pos, struct wdf_timer, tnode);
        if (t->armed && t->deadline < best) {
            best = t->deadline;
        }
    }
    return best;
}

void *
wdf_timer_thread(void *arg)
{
    struct wdf_host *host = arg;

    pv_thread_name("pv-wdf-timer", -1);
    wdf_enter(host);
    pthread_mutex_lock(&host->mu);
    while (!host->stopping) {
        wdf_timers_fire_due_locked(host);
        wdf_wait_cv_locked(host, &host->timer_cv, earliest_deadline_locked(host), false, false);
    }
    pthread_mutex_unlock(&host->mu);
    return NULL;
}

static bool
timer_disarm_locked(struct wdf_timer *t)
{
    bool was = t->armed;

    t->armed = false;
    if (list_linked(&t->tnode)) {
        list_del_init(&t->tnode);
    }
    return was;
}

static void
timer_wait_idle_locked(struct wdf_timer *t)
{
    while (t->running > 0 && !pthread_equal(t->runner, pthread_self())) {
        wdf_wait_locked(t->obj.host, WDF_NO_DEADLINE, false, false);
    }
}

static void
timer_on_delete(struct wdf_obj *obj)
{
    struct wdf_timer *t = (struct wdf_timer *)obj;

    pthread_mutex_lock(&obj->host->mu);
    timer_disarm_locked(t);
    timer_wait_idle_locked(t);
    pthread_mutex_unlock(&obj->host->mu);
}

NTSTATUS
WdfTimerCreate(PWDF_TIMER_CONFIG Config, PWDF_OBJECT_ATTRIBUTES Attributes, WDFTIMER *Timer)
{
    struct wdf_obj *parent = parent_of(Attributes);
    struct wdf_obj *obj;
    struct wdf_timer *t;
    NTSTATUS st;

    if (Timer == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *Timer = NULL;
    if (Config == NULL || Config->Size != sizeof(*Config) || Config->EvtTimerFunc == NULL || parent == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = wdf_obj_alloc(parent->host, WDF_T_TIMER, sizeof(struct wdf_timer), Attributes, parent, &obj);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    t = (struct wdf_timer *)obj;
    t->fn = Config->EvtTimerFunc;
    t->period_ns = (uint64_t)Config->Period * 1000000ull;
    list_init(&t->tnode);
    obj->on_delete = timer_on_delete;
    pthread_mutex_lock(&obj->host->mu);
    wdf_obj_link(obj);
    pthread_mutex_unlock(&obj->host->mu);
    *Timer = (WDFTIMER)obj;
    return STATUS_SUCCESS;
}

BOOLEAN
WdfTimerStart(WDFTIMER Timer, LONGLONG DueTime)
{
    struct wdf_timer *t = (struct wdf_timer *)wdf_obj_check(Timer, WDF_T_TIMER, "WdfTimerStart");
    struct wdf_host *host;
    bool was;

    if (t == NULL) {
        return FALSE;
    }
    host = t->obj.host;
    pthread_mutex_lock(&host->mu);
    was = timer_disarm_locked(t);
    if (!t->obj.deleted) {
        t->deadline = wdf_deadline_from_nt(host, DueTime);
        t->armed = true;
        list_add_tail(&host->timers, &t->tnode);
        if (t->deadline <= wdf_now_locked(host)) {
            wdf_timers_fire_due_locked(host);
        }
        pthread_cond_broadcast(&host->cv);
        pthread_cond_broadcast(&host->timer_cv); /* it may be the earliest now */
    }
    pthread_mutex_unlock(&host->mu);
    return was ? TRUE : FALSE;
}

BOOLEAN
WdfTimerStop(WDFTIMER Timer, BOOLEAN Wait)
{
    struct wdf_timer *t = (struct wdf_timer *)wdf_obj_check(Timer, WDF_T_TIMER, "WdfTimerStop");
    struct wdf_host *host;
    bool was;

    if (t == NULL) {
        return FALSE;
    }
    host = t->obj.host;
    if (Wait && wdf_check_blocking(host, "WdfTimerStop(Wait)")) {
        Wait = FALSE;
    }
    pthread_mutex_lock(&host->mu);
    was = timer_disarm_locked(t);
    if (Wait) {
        timer_wait_idle_locked(t);
    }
    pthread_mutex_unlock(&host->mu);
    return was ? TRUE : FALSE;
}

WDFOBJECT
WdfTimerGetParentObject(WDFTIMER Timer)
{
    struct wdf_obj *obj = wdf_obj_check(Timer, WDF_T_TIMER, "WdfTimerGetParentObject");

    return obj != NULL ? obj->parent : NULL;
}
