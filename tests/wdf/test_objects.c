/*
 * tests/wdf/test_objects.c - objects, contexts, events, locks, work items and
 * timers on the virtual clock.
 *
 * Timer and wait tests advance a virtual clock and check that nothing fires or
 * times out a nanosecond early, and that it does at the deadline; none of them
 * sleeps for the simulated time.
 */
#include "fixture.h"

typedef struct {
    int value;
    char tag[12];
} QCTX;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(QCTX, QGetContext)

typedef struct {
    int other;
} OTHERCTX;
WDF_DECLARE_CONTEXT_TYPE(OTHERCTX)

static char order[16];
static int norder;

static VOID
cleanup_mark(WDFOBJECT Object)
{
    QCTX *c = QGetContext(Object);

    order[norder++] = c != NULL ? (char)c->value : '?';
}

static VOID
noop_timer(WDFTIMER Timer)
{
    (void)Timer;
}

static void
test_context_and_delete_order(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDF_IO_QUEUE_CONFIG qc;
    WDFQUEUE q;
    WDFTIMER timer;
    WDF_TIMER_CONFIG tc;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    wdf_thread_bind(f.host);
    norder = 0;
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, QCTX);
    a.EvtCleanupCallback = cleanup_mark;
    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchManual);
    assert_int_equal(WdfIoQueueCreate(f.dev, &qc, &a, &q), STATUS_SUCCESS);
    QGetContext(q)->value = 'Q';
    assert_null(WdfObjectGet_OTHERCTX(q)); /* no context of that type */
    assert_ptr_equal(WdfObjectContextGetObject(QGetContext(q)), q);
    assert_ptr_equal(WdfObjectGetTypedContext(q, QCTX), QGetContext(q));
    /* A timer parented to the queue is deleted with it, first. */
    WDF_TIMER_CONFIG_INIT(&tc, noop_timer);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, QCTX);
    a.ParentObject = q;
    a.EvtCleanupCallback = cleanup_mark;
    assert_int_equal(WdfTimerCreate(&tc, &a, &timer), STATUS_SUCCESS);
    QGetContext(timer)->value = 'T';
    assert_ptr_equal(WdfTimerGetParentObject(timer), q);
    WdfObjectDelete(q);
    order[norder] = '\0';
    assert_string_equal(order, "TQ");
    /* Context size override. */
    {
        WDFWAITLOCK l;
        WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, QCTX);
        a.ContextSizeOverride = 4096;
        a.ParentObject = f.dev;
        assert_int_equal(WdfWaitLockCreate(&a, &l), STATUS_SUCCESS);
        memset(QGetContext(l), 0x5a, 4096);
        a.SynchronizationScope = WdfSynchronizationScopeDevice;
        assert_int_equal(WdfWaitLockCreate(&a, &l), STATUS_NOT_SUPPORTED);
    }
    wdf_thread_bind(NULL);
    fx_teardown(&f, 0);
}

struct waiter {
    KEVENT *ev;
    LONGLONG timeout;
    NTSTATUS status;
    struct wdf_host *host;
};

static void *
wait_thread(void *arg)
{
    struct waiter *w = arg;
    LARGE_INTEGER t;

    wdf_thread_bind(w->host);
    t.QuadPart = w->timeout;
    w->status = KeWaitForSingleObject(w->ev, Executive, KernelMode, FALSE, &t);
    wdf_thread_bind(NULL);
    return NULL;
}

static void
test_events_on_virtual_clock(void **state)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};
    struct wdf_host *host;
    struct waiter w;
    LARGE_INTEGER zero = {.QuadPart = 0};
    KEVENT ev, sync;
    pthread_t th;

    (void)state;
    assert_int_equal(wdf_host_create(&hc, &host), STATUS_SUCCESS);
    wdf_thread_bind(host);
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    KeInitializeEvent(&sync, SynchronizationEvent, TRUE);
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
    /* A synchronization event lets one waiter through and resets itself. */
    assert_int_equal(KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    assert_int_equal(KeReadStateEvent(&sync), 0);
    assert_int_equal(KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);

    /* 60 s relative timeout: not at 60 s - 1 ns, yes at 60 s. */
    w = (struct waiter){&ev, WDF_REL_TIMEOUT_IN_SEC(60), 0, host};
    assert_int_equal(pthread_create(&th, NULL, wait_thread, &w), 0);
    assert_true(wdf_host_wait_sleepers(host, 1, 5000));
    assert_int_equal(wdf_host_clock_advance(host, 60000000000ull - 1), STATUS_SUCCESS);
    assert_true(wdf_host_wait_sleepers(host, 1, 5000));
    assert_int_equal(wdf_host_clock_advance(host, 1), STATUS_SUCCESS);
    pthread_join(th, NULL);
    assert_int_equal(w.status, STATUS_TIMEOUT);

    /* Signalled before the deadline. */
    w = (struct waiter){&ev, WDF_REL_TIMEOUT_IN_SEC(5), 0, host};
    assert_int_equal(pthread_create(&th, NULL, wait_thread, &w), 0);
    assert_true(wdf_host_wait_sleepers(host, 1, 5000));
    assert_int_equal(KeSetEvent(&ev, 0, FALSE), 0);
    pthread_join(th, NULL);
    assert_int_equal(w.status, STATUS_SUCCESS);
    assert_int_equal(KeReadStateEvent(&ev), 1); /* notification events stay set */
    KeClearEvent(&ev);
    assert_int_equal(KeReadStateEvent(&ev), 0);
    assert_int_equal(wdf_host_now(host), 60000000000ull);
    wdf_thread_bind(NULL);
    assert_int_equal(wdf_verifier_count(host, 0), 0);
    wdf_host_destroy(host);
}

static void
test_wait_lock_timeout(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    LONGLONG zero = 0;
    WDFWAITLOCK l;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    wdf_thread_bind(f.host);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = f.dev;
    assert_int_equal(WdfWaitLockCreate(&a, &l), STATUS_SUCCESS);
    assert_int_equal(WdfWaitLockAcquire(l, NULL), STATUS_SUCCESS);
    WdfWaitLockRelease(l);
    assert_int_equal(WdfWaitLockAcquire(l, &zero), STATUS_SUCCESS);
    /* Recursion is a deadlock in KMDF: refused and reported. */
    assert_int_equal(WdfWaitLockAcquire(l, &zero), STATUS_TIMEOUT);
    WdfWaitLockRelease(l);
    WdfWaitLockRelease(l); /* not held: reported */
    assert_int_equal(wdf_verifier_count(f.host, WDF_RULE_LOCK_MISUSE), 2);
    {
        WDFWAITLOCK l2;
        WDFSPINLOCK sp;
        assert_int_equal(WdfWaitLockCreate(&a, &l2), STATUS_SUCCESS);
        assert_int_equal(WdfSpinLockCreate(&a, &sp), STATUS_SUCCESS);
        /* Nested wait locks are legal. */
        assert_int_equal(WdfWaitLockAcquire(l, NULL), STATUS_SUCCESS);
        assert_int_equal(WdfWaitLockAcquire(l2, NULL), STATUS_SUCCESS);
        WdfWaitLockRelease(l2);
        WdfWaitLockRelease(l);
        assert_int_equal(wdf_verifier_count(f.host, WDF_RULE_BLOCKING_UNDER_LOCK), 0);
        /* A wait lock under a spin lock is not (reported, still taken). */
        WdfSpinLockAcquire(sp);
        assert_int_equal(WdfWaitLockAcquire(l, NULL), STATUS_SUCCESS);
        WdfWaitLockRelease(l);
        WdfSpinLockRelease(sp);
        assert_int_equal(wdf_verifier_count(f.host, WDF_RULE_BLOCKING_UNDER_LOCK), 1);
    }
    wdf_thread_bind(NULL);
    fx_teardown(&f, 3);
}

static volatile int work_runs, timer_runs;

static VOID
work_fn(WDFWORKITEM wi)
{
    assert_non_null(WdfWorkItemGetParentObject(wi));
    __atomic_add_fetch(&work_runs, 1, __ATOMIC_SEQ_CST);
}

static VOID
timer_fn(WDFTIMER t)
{
    (void)t;
    __atomic_add_fetch(&timer_runs, 1, __ATOMIC_SEQ_CST);
}

static void
test_work_items_and_timers(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDF_WORKITEM_CONFIG wc;
    WDF_TIMER_CONFIG tc;
    WDFWORKITEM wi;
    WDFTIMER one, per;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    wdf_thread_bind(f.host);
    work_runs = timer_runs = 0;
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = f.dev;
    WDF_WORKITEM_CONFIG_INIT(&wc, work_fn);
    assert_int_equal(WdfWorkItemCreate(&wc, &a, &wi), STATUS_SUCCESS);
    WdfWorkItemEnqueue(wi);
    WdfWorkItemFlush(wi);
    assert_int_equal(work_runs, 1);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    assert_int_equal(WdfWorkItemCreate(&wc, &a, &wi), STATUS_INVALID_PARAMETER); /* parent required */

    a.ParentObject = f.dev;
    WDF_TIMER_CONFIG_INIT(&tc, timer_fn);
    assert_int_equal(WdfTimerCreate(&tc, &a, &one), STATUS_SUCCESS);
    WDF_TIMER_CONFIG_INIT_PERIODIC(&tc, timer_fn, 10);
    assert_int_equal(WdfTimerCreate(&tc, &a, &per), STATUS_SUCCESS);
    assert_false(WdfTimerStart(one, WDF_REL_TIMEOUT_IN_MS(100)));
    assert_true(wdf_host_clock_advance(f.host, 99999999) == STATUS_SUCCESS);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_int_equal(timer_runs, 0);
    assert_true(wdf_host_clock_advance(f.host, 1) == STATUS_SUCCESS);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_int_equal(timer_runs, 1);
    assert_false(WdfTimerStop(one, TRUE)); /* already fired */

    /* Periodic 10 ms: 35 ms later it has fired 3 times; stop returns TRUE. */
    timer_runs = 0;
    assert_false(WdfTimerStart(per, WDF_REL_TIMEOUT_IN_MS(10)));
    for (int i = 0; i < 35; i++) {
        assert_true(wdf_host_clock_advance(f.host, 1000000) == STATUS_SUCCESS);
        assert_true(wdf_host_idle(f.host, 5000));
    }
    assert_int_equal(timer_runs, 3);
    assert_true(WdfTimerStop(per, TRUE));
    assert_true(wdf_host_clock_advance(f.host, 100000000) == STATUS_SUCCESS);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_int_equal(timer_runs, 3);
    /* Deleting the device (removal) deletes armed timers with it. */
    assert_false(WdfTimerStart(per, WDF_REL_TIMEOUT_IN_MS(10)));
    wdf_thread_bind(NULL);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    assert_true(wdf_host_clock_advance(f.host, 100000000) == STATUS_SUCCESS);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_int_equal(timer_runs, 3);
    assert_int_equal(wdf_host_clock_advance(f.host, 0), STATUS_SUCCESS);
    fx_teardown(&f, 0);
}

static void
test_monotonic_clock_rejects_advance(void **state)
{
    struct wdf_host *host;
    uint64_t a, b;

    (void)state;
    assert_int_equal(wdf_host_create(NULL, &host), STATUS_SUCCESS);
    a = wdf_host_now(host);
    b = wdf_host_now(host);
    assert_true(b >= a);
    assert_int_equal(wdf_host_clock_advance(host, 1), STATUS_INVALID_DEVICE_REQUEST);
    wdf_host_destroy(host);
    wdf_host_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_and_delete_order),
        cmocka_unit_test(test_events_on_virtual_clock),
        cmocka_unit_test(test_wait_lock_timeout),
        cmocka_unit_test(test_work_items_and_timers),
        cmocka_unit_test(test_monotonic_clock_rejects_advance),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
