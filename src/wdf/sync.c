/*
 * wdf/sync.c - wait locks, spin locks and kernel events on the host's clock.
 *
 * None of these owns a pthread object: their state is a few words guarded by
 * host->mu, and waiters sleep through wdf_wait_cv_locked(), so every timeout
 * follows the host clock (a virtual clock makes a 60-second wait free) and KEVENT
 * stays plain driver memory with no destroy call, as in NT.  Whom a change wakes
 * is kept narrow, because on a loaded host every needless wake-up is a context
 * switch: a lock waiter sleeps on host->cv and a release broadcasts only when
 * the lock has waiters; a KeWaitForSingleObject caller sleeps on a condition
 * variable of its own (on its stack, listed on the host), which KeSetEvent
 * signals for that event only and a virtual-clock advance for all.  A "spin lock"
 * is therefore a sleeping lock too; what matters to a driver is its rules: it is
 * not recursive and nothing blocking may run while it is held, which the verifier
 * checks through the per-thread count of held runtime locks.
 */
#include "util/alloc.h"
#include "util/cond.h"
#include "wdf/internal.h"

#define KEVENT_MAGIC 0x4b45564eu

struct wdf_lock {
    struct wdf_obj obj;
    bool held;
    pthread_t owner;
    unsigned waiters; /* threads asleep in lock_take(): a release wakes the host only for them */
};

static NTSTATUS
lock_create(PWDF_OBJECT_ATTRIBUTES attrs, enum wdf_obj_type type, void **out)
{
    struct wdf_host *host;
    struct wdf_obj *obj;
    NTSTATUS st;

    if (out == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *out = NULL;
    host = wdf_current_host();
    if (attrs != NULL && attrs->ParentObject != NULL) {
        struct wdf_obj *parent = wdf_obj_check(attrs->ParentObject, 0, "lock create");
        if (parent == NULL) {
            return STATUS_INVALID_PARAMETER;
        }
        host = parent->host;
    }
    if (host == NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = wdf_obj_alloc(host, type, sizeof(struct wdf_lock), attrs, NULL, &obj);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    pthread_mutex_lock(&host->mu);
    wdf_obj_link(obj);
    pthread_mutex_unlock(&host->mu);
    *out = obj;
    return STATUS_SUCCESS;
}

/* Take @lk; @deadline WDF_NO_DEADLINE waits forever.  Return: true if taken. */
static bool
lock_take(struct wdf_lock *lk, uint64_t deadline, bool try_only)
{
    struct wdf_host *host = lk->obj.host;
    bool taken = false, late = false;

    pthread_mutex_lock(&host->mu);
    if (lk->held && pthread_equal(lk->owner, pthread_self())) {
        pthread_mutex_unlock(&host->mu);
        wdf_report(host, WDF_RULE_LOCK_MISUSE, NULL, 0, 0, "recursive acquire of a runtime lock (deadlock)");
        return false;
    }
    for (;;) {
        if (!lk->held) {
            lk->held = true;
            lk->owner = pthread_self();
            taken = true;
            break;
        }
        if (try_only || late) {
            break;
        }
        lk->waiters++; /* lock_give() broadcasts only for waiters */
        late = wdf_wait_locked(host, deadline, false, true);
        lk->waiters--;
    }
    pthread_mutex_unlock(&host->mu);
    if (taken) {
        wdf_tls()->locks_held++;
        wdf_tls()->spins_held += lk->obj.type == WDF_T_SPINLOCK;
    }
    return taken;
}

static void
lock_give(struct wdf_lock *lk)
{
    struct wdf_host *host = lk->obj.host;
    bool ok;

    pthread_mutex_lock(&host->mu);
    ok = lk->held && pthread_equal(lk->owner, pthread_self());
    if (ok) {
        lk->held = false;
        if (lk->waiters != 0) {
            pthread_cond_broadcast(&host->cv);
        }
    }
    pthread_mutex_unlock(&host->mu);
    if (!ok) {
        wdf_report(host, WDF_RULE_LOCK_MISUSE, NULL, 0, 0, "release of a runtime lock the caller does not hold");
        return;
    }
    wdf_tls()->locks_held--;
    wdf_tls()->spins_held -= lk->obj.type == WDF_T_SPINLOCK;
}

NTSTATUS
WdfWaitLockCreate(PWDF_OBJECT_ATTRIBUTES LockAttributes, WDFWAITLOCK *Lock)
{
    return lock_create(LockAttributes, WDF_T_WAITLOCK, (void **)Lock);
}

NTSTATUS
WdfWaitLockAcquire(WDFWAITLOCK Lock, PLONGLONG Timeout)
{
    struct wdf_lock *lk = (struct wdf_lock *)wdf_obj_check(Lock, WDF_T_WAITLOCK, "WdfWaitLockAcquire");
    uint64_t deadline = WDF_NO_DEADLINE;
    bool try_only = Timeout != NULL && *Timeout == 0;

    if (lk == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (!try_only && wdf_tls()->spins_held > 0) {
        /* Nested wait locks are legal in KMDF; a wait lock under a spin lock is not. */
        wdf_report(lk->obj.host, WDF_RULE_BLOCKING_UNDER_LOCK, NULL, 0, 0, "WdfWaitLockAcquire under a spin lock");
    }
    if (Timeout != NULL && !try_only) {
        pthread_mutex_lock(&lk->obj.host->mu);
        deadline = wdf_deadline_from_nt(lk->obj.host, *Timeout);
        pthread_mutex_unlock(&lk->obj.host->mu);
    }
    return lock_take(lk, deadline, try_only) ? STATUS_SUCCESS : STATUS_TIMEOUT;
}

VOID
WdfWaitLockRelease(WDFWAITLOCK Lock)
{
    struct wdf_lock *lk = (struct wdf_lock *)wdf_obj_check(Lock, WDF_T_WAITLOCK, "WdfWaitLockRelease");

    if (lk != NULL) {
        lock_give(lk);
    }
}

NTSTATUS
WdfSpinLockCreate(PWDF_OBJECT_ATTRIBUTES SpinLockAttributes, WDFSPINLOCK *SpinLock)
{
    return lock_create(SpinLockAttributes, WDF_T_SPINLOCK, (void **)SpinLock);
}

VOID
WdfSpinLockAcquire(WDFSPINLOCK SpinLock)
{
    struct wdf_lock *lk = (struct wdf_lock *)wdf_obj_check(SpinLock, WDF_T_SPINLOCK, "WdfSpinLockAcquire");

    if (lk != NULL) {
        lock_take(lk, WDF_NO_DEADLINE, false);
    }
}

VOID
WdfSpinLockRelease(WDFSPINLOCK SpinLock)
{
    struct wdf_lock *lk = (struct wdf_lock *)wdf_obj_check(SpinLock, WDF_T_SPINLOCK, "WdfSpinLockRelease");

    if (lk != NULL) {
        lock_give(lk);
    }
}

/* ---- KEVENT --------------------------------------------------------------------- */

VOID
KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    Event->Host = wdf_current_host();
    Event->State = State ? 1 : 0;
    Event->Type = (LONG)Type;
    Event->Magic = KEVENT_MAGIC;
}

static struct wdf_host *
event_host(PRKEVENT Event)
{
    if (Event == NULL || Event->Magic != KEVENT_MAGIC) {
        return NULL;
    }
    if (Event->Host == NULL) {
        Event->Host = wdf_current_host();
    }
    return Event->Host;
}

LONG
KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    struct wdf_host *host = event_host(Event);
    LONG prev;

    if (host == NULL) {
        /* No host yet: nobody can be waiting (waits need one); just record it. */
        if (Event != NULL && Event->Magic == KEVENT_MAGIC) {
            prev = Event->State;
            Event->State = 1;
            return prev;
        }
        return 0;
    }
    pthread_mutex_lock(&host->mu);
    prev = Event->State;
    Event->State = 1;
    wdf_wake_event_waiters_locked(host, Event);
    pthread_mutex_unlock(&host->mu);
    return prev;
}

LONG
KeResetEvent(PRKEVENT Event)
{
    struct wdf_host *host = event_host(Event);
    LONG prev;

    if (host == NULL) {
        if (Event != NULL && Event->Magic == KEVENT_MAGIC) {
            prev = Event->State;
            Event->State = 0;
            return prev;
        }
        return 0;
    }
    pthread_mutex_lock(&host->mu);
    prev = Event->State;
    Event->State = 0;
    pthread_mutex_unlock(&host->mu);
    return prev;
}

VOID
KeClearEvent(PRKEVENT Event)
{
    (void)KeResetEvent(Event);
}

LONG
KeReadStateEvent(PRKEVENT Event)
{
    struct wdf_host *host = event_host(Event);
    LONG v;

    if (host == NULL) {
        return 0;
    }
    pthread_mutex_lock(&host->mu);
    v = Event->State;
    pthread_mutex_unlock(&host->mu);
    return v;
}

void
wdf_wake_event_waiters_locked(struct wdf_host *host, const void *event)
{
    struct list_node *pos;

    list_for_each(pos, &host->event_waiters)
    {
        struct wdf_event_waiter *w = list_entry(pos, struct wdf_event_waiter, node);

        if (event == NULL || w->event == event) {
            pthread_cond_signal(&w->cv);
        }
    }
}

NTSTATUS
KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                      PLARGE_INTEGER Timeout)
{
    PRKEVENT ev = Object;
    struct wdf_event_waiter w;
    struct wdf_host *host = event_host(ev);
    uint64_t deadline = WDF_NO_DEADLINE;
    NTSTATUS st = STATUS_TIMEOUT;

    if (host == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if ((Timeout == NULL || Timeout->QuadPart != 0) && wdf_check_blocking(host, "KeWaitForSingleObject")) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (pv_cond_init_monotonic(&w.cv) != 0) { /* as host->cv: deadlines are monotonic */
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    w.event = ev;
    list_init(&w.node);
    pthread_mutex_lock(&host->mu);
    if (Timeout != NULL) {
        deadline = Timeout->QuadPart == 0 ? 0 : wdf_deadline_from_nt(host, Timeout->QuadPart);
    }
    list_add_tail(&host->event_waiters, &w.node);
    for (;;) {
        if (ev->State != 0) {
            if (ev->Type == SynchronizationEvent) {
                ev->State = 0;
            }
            st = STATUS_SUCCESS;
            break;
        }
        if (deadline == 0 || wdf_wait_cv_locked(host, &w.cv, deadline, false, true)) {
            if (ev->State == 0) {
                break;
            }
        }
    }
    list_del_init(&w.node);
    pthread_mutex_unlock(&host->mu);
    pthread_cond_destroy(&w.cv);
    return st;
}
