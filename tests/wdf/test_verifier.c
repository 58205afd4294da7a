/*
 * tests/wdf/test_verifier.c - one planted bug per verifier rule.
 *
 * Each test makes the fixture driver commit exactly one bug and checks that the
 * verifier recorded exactly one report of that rule, naming the device, the
 * request and the control code, and that the runtime refused the bad action
 * (the client sees the first completion, a refused forward fails, a wait under a
 * lock does not block).  fx_teardown() then checks no other report appeared.
 */
#include "fixture.h"

#define FDO_NAME "0000:01:00.0/fdo"

static void
expect_one(struct fx *f, enum wdf_verifier_rule rule, ULONG code)
{
    struct wdf_verifier_report r;
    bool found = false;

    assert_int_equal(wdf_verifier_count(f->host, rule), 1);
    for (size_t i = 0; wdf_verifier_get(f->host, i, &r); i++) {
        if (r.rule == rule) {
            found = true;
            assert_string_equal(r.rule_name, wdf_verifier_rule_name(rule));
            if (code != 0) {
                assert_string_equal(r.device, FDO_NAME);
                assert_true(r.request_id != 0);
                assert_int_equal(r.ioctl, code);
            }
        }
    }
    assert_true(found);
}

static struct wdf_target *
started(struct fx *f)
{
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(f);
    assert_int_equal(wdf_pnp_start(f->node), STATUS_SUCCESS);
    return fx_open(f, KernelMode, NULL, NULL);
}

static NTSTATUS
send(struct wdf_target *t, ULONG code)
{
    uint8_t in[4] = {0};

    return wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, code, in, sizeof(in), NULL, 0, 0, NULL);
}

static void
test_double_completion(void **state)
{
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    assert_int_equal(send(t, TD_BUG_DOUBLE), STATUS_SUCCESS); /* the first completion stands */
    expect_one(&f, WDF_RULE_DOUBLE_COMPLETION, TD_BUG_DOUBLE);
    wdf_target_close(t);
    fx_teardown(&f, 1);
}

struct async_result {
    volatile int done;
    NTSTATUS status;
};

static void
on_done(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information)
{
    struct async_result *r = ctx;

    (void)io;
    (void)information;
    r->status = status;
    __atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
}

static void
test_complete_queued_request(void **state)
{
    struct async_result r = {0};
    struct wdf_io *io;
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    assert_int_equal(
        wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_BUG_COMPLETE_QUEUED, NULL, 0, NULL, 0, on_done, &r, &io),
        STATUS_PENDING);
    assert_true(wdf_host_idle(f.host, 5000));
    expect_one(&f, WDF_RULE_COMPLETE_QUEUED, TD_BUG_COMPLETE_QUEUED);
    assert_int_equal(f.ctx->bug_status, STATUS_SUCCESS);
    assert_false(r.done); /* refused: still in the queue */
    assert_int_equal(send(t, TD_RELEASE), STATUS_SUCCESS);
    assert_true(fx_wait_flag(&r.done, 5000));
    assert_int_equal(r.status, STATUS_SUCCESS);
    wdf_io_release(io);
    wdf_target_close(t);
    fx_teardown(&f, 1);
}

static void
test_forward_completed_request(void **state)
{
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    assert_int_equal(send(t, TD_BUG_FORWARD_DONE), STATUS_SUCCESS);
    expect_one(&f, WDF_RULE_FORWARD_COMPLETED, TD_BUG_FORWARD_DONE);
    assert_int_equal(f.ctx->bug_status, STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(send(t, TD_RELEASE), STATUS_NO_MORE_ENTRIES); /* nothing went into the queue */
    wdf_target_close(t);
    fx_teardown(&f, 1);
}

static void
test_touch_completed_request(void **state)
{
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    assert_int_equal(send(t, TD_BUG_TOUCH_DONE), STATUS_SUCCESS);
    expect_one(&f, WDF_RULE_TOUCH_COMPLETED, TD_BUG_TOUCH_DONE);
    assert_int_equal(f.ctx->bug_status, STATUS_INVALID_DEVICE_STATE);
    wdf_target_close(t);
    fx_teardown(&f, 1);
}

static void
test_request_not_completed_at_remove(void **state)
{
    struct async_result r = {0};
    struct wdf_io *io;
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    assert_int_equal(
        wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_PENDING_FOREVER, NULL, 0, NULL, 0, on_done, &r, &io),
        STATUS_PENDING);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_false(r.done);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    expect_one(&f, WDF_RULE_UNCOMPLETED_AT_REMOVE, TD_PENDING_FOREVER);
    /* The client is not left waiting. */
    assert_true(fx_wait_flag(&r.done, 5000));
    assert_int_equal(r.status, STATUS_DELETE_PENDING);
    wdf_io_release(io);
    wdf_target_close(t);
    fx_teardown(&f, 1);
}

static NTSTATUS
counted_hook(WDFDEVICE Device, LPGUID InterfaceType, PINTERFACE ExposedInterface, PVOID Specific)
{
    (void)InterfaceType;
    (void)Specific;
    ExposedInterface->Context = TdGetContext(Device);
    ExposedInterface->InterfaceReference = wdf_interface_reference;
    ExposedInterface->InterfaceDereference = wdf_interface_dereference;
    return STATUS_SUCCESS;
}

static void
test_interface_dereference_underflow(void **state)
{
    INTERFACE reg = {sizeof(INTERFACE), 1, NULL, NULL, NULL};
    INTERFACE got;
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.qi_table = &reg;
    td_cfg.qi_hook = counted_hook;
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, NULL, NULL);
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, &got, sizeof(got), 1, NULL), STATUS_SUCCESS);
    got.InterfaceDereference(got.Context);
    assert_int_equal(wdf_verifier_count(f.host, 0), 0);
    got.InterfaceDereference(got.Context); /* one too many */
    expect_one(&f, WDF_RULE_INTERFACE_UNDERFLOW, 0);
    {
        struct wdf_verifier_report r;
        assert_true(wdf_verifier_get(f.host, 0, &r));
        assert_string_equal(r.device, FDO_NAME);
    }
    wdf_target_close(t);
    fx_teardown(&f, 1);
}

static void
test_blocking_call_under_lock(void **state)
{
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    assert_int_equal(send(t, TD_BUG_WAIT_LOCKED), STATUS_SUCCESS);
    /* Made from the IOCTL callback: the report names that device, request and code. */
    expect_one(&f, WDF_RULE_BLOCKING_UNDER_LOCK, TD_BUG_WAIT_LOCKED);
    assert_int_equal(f.ctx->bug_status, STATUS_INVALID_DEVICE_STATE); /* the wait was refused, not blocked */
    wdf_target_close(t);
    fx_teardown(&f, 1);
}

static VOID
idle_work(WDFWORKITEM WorkItem)
{
    (void)WorkItem;
}

static VOID
idle_work_timer(WDFTIMER Timer)
{
    (void)Timer;
}

/* Every blocking runtime call, made with a spin lock held, is reported once and refused. */
static void
test_each_blocking_call_under_lock(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDF_WORKITEM_CONFIG wc;
    WDF_TIMER_CONFIG tc;
    WDFSPINLOCK sp;
    WDFWORKITEM wi;
    WDFTIMER tm;
    KEVENT ev;
    LARGE_INTEGER timeout = {.QuadPart = WDF_REL_TIMEOUT_IN_SEC(5)};
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    wdf_thread_bind(f.host);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = f.dev;
    assert_int_equal(WdfSpinLockCreate(&a, &sp), STATUS_SUCCESS);
    WDF_WORKITEM_CONFIG_INIT(&wc, idle_work);
    assert_int_equal(WdfWorkItemCreate(&wc, &a, &wi), STATUS_SUCCESS);
    WDF_TIMER_CONFIG_INIT(&tc, idle_work_timer);
    assert_int_equal(WdfTimerCreate(&tc, &a, &tm), STATUS_SUCCESS);
    KeInitializeEvent(&ev, NotificationEvent, FALSE);

    WdfSpinLockAcquire(sp);
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &timeout), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(send(t, TD_OPEN_GATE), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(wdf_pnp_query_stop(f.node), STATUS_INVALID_DEVICE_STATE);
    WdfWorkItemFlush(wi);
    (void)WdfTimerStop(tm, TRUE);
    timeout.QuadPart = 0; /* a zero timeout only polls: not a blocking call */
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &timeout), STATUS_TIMEOUT);
    WdfSpinLockRelease(sp);
    assert_int_equal(wdf_verifier_count(f.host, WDF_RULE_BLOCKING_UNDER_LOCK), 6);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_STARTED); /* the refused query-stop sent nothing */

    /* Lock released: the same calls go through. */
    assert_int_equal(send(t, TD_OPEN_GATE), STATUS_SUCCESS);
    WdfWorkItemFlush(wi);
    wdf_thread_bind(NULL);
    wdf_target_close(t);
    fx_teardown(&f, 6);
}

static void
test_lock_misuse_names_the_callback(void **state)
{
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    assert_int_equal(send(t, TD_BUG_RECURSE_LOCK), STATUS_SUCCESS); /* refused, so no deadlock */
    expect_one(&f, WDF_RULE_LOCK_MISUSE, TD_BUG_RECURSE_LOCK);
    /* The lock is free again: the driver's next user of it is not stuck. */
    assert_int_equal(send(t, TD_BUG_RECURSE_LOCK), STATUS_SUCCESS);
    assert_int_equal(wdf_verifier_count(f.host, WDF_RULE_LOCK_MISUSE), 2);
    wdf_target_close(t);
    fx_teardown(&f, 2);
}

static void
test_bad_handle_device_delete(void **state)
{
    struct fx f;
    struct wdf_target *t = started(&f);

    (void)state;
    wdf_thread_bind(f.host);
    WdfObjectDelete(f.dev); /* a PnP device is deleted by the framework only */
    wdf_thread_bind(NULL);
    expect_one(&f, WDF_RULE_BAD_HANDLE, 0);
    assert_int_equal(send(t, TD_OPEN_GATE), STATUS_SUCCESS); /* refused: still alive */
    wdf_target_close(t);
    fx_teardown(&f, 1);
}

static int reports_seen;

static void
on_report(void *ctx, const struct wdf_verifier_report *r)
{
    (void)ctx;
    if (r->rule == WDF_RULE_DOUBLE_COMPLETION) {
        reports_seen++;
    }
}

static void
test_report_callback_and_off_switch(void **state)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL, .on_report = on_report};
    struct fx f;
    struct wdf_target *t;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    wdf_host_destroy(f.host);
    /* Same scenario on hosts built by hand: callback on, then verifier off. */
    for (int pass = 0; pass < 2; pass++) {
        hc.verifier_off = pass == 1;
        assert_int_equal(wdf_host_create(&hc, &f.host), STATUS_SUCCESS);
        f.node = fx_pdo(&f, "0000:01:00.0", 0xf0000000ull);
        assert_int_equal(wdf_driver_load(f.host, "tdrv", td_driver_entry, &f.drv), STATUS_SUCCESS);
        assert_int_equal(wdf_node_add_driver(f.node, f.drv, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
        assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
        t = fx_open(&f, KernelMode, NULL, NULL);
        assert_int_equal(send(t, TD_BUG_DOUBLE), STATUS_SUCCESS);
        wdf_target_close(t);
        assert_int_equal(wdf_verifier_count(f.host, 0), pass == 0 ? 1 : 0);
        wdf_host_destroy(f.host);
    }
    assert_int_equal(reports_seen, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_completion),
        cmocka_unit_test(test_complete_queued_request),
        cmocka_unit_test(test_forward_completed_request),
        cmocka_unit_test(test_touch_completed_request),
        cmocka_unit_test(test_request_not_completed_at_remove),
        cmocka_unit_test(test_interface_dereference_underflow),
        cmocka_unit_test(test_blocking_call_under_lock),
        cmocka_unit_test(test_each_blocking_call_under_lock),
        cmocka_unit_test(test_lock_misuse_names_the_callback),
        cmocka_unit_test(test_bad_handle_device_delete),
        cmocka_unit_test(test_report_callback_and_off_switch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
