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

static NTSTATUS
send(struct wdf_target *t, ULONG code)
{
    uint8_t in[4] = {0};

    return wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, code, in, sizeof(in), NULL, 0, 0, NULL);
}

/* A bug the driver commits inside one synchronous request. */
struct planted {
    ULONG code;
    enum wdf_verifier_rule rule;
    bool refused; /* the runtime refused the bad call: the driver saw STATUS_INVALID_DEVICE_STATE */
};

/* The request completes (the first completion stands; a refused call does not block),
 * one report names it, and nothing was left in the held queue. */
static void
planted_sync(struct fx *f, struct wdf_target *t, const void *param)
{
    const struct planted *p = param;

    assert_int_equal(send(t, p->code), STATUS_SUCCESS);
    expect_one(f, p->rule, p->code);
    if (p->refused) {
        assert_int_equal(f->ctx->bug_status, STATUS_INVALID_DEVICE_STATE);
    }
    assert_int_equal(send(t, TD_RELEASE), STATUS_NO_MORE_ENTRIES);
}

static void
complete_queued_request(struct fx *f, struct wdf_target *t, const void *param)
{
    struct fx_result r = {0};
    struct wdf_io *io;

    fx_pend(t, TD_BUG_COMPLETE_QUEUED, &r, &io);
    assert_true(wdf_host_idle(f->host, 5000));
    expect_one(f, WDF_RULE_COMPLETE_QUEUED, TD_BUG_COMPLETE_QUEUED);
    assert_int_equal(f->ctx->bug_status, STATUS_SUCCESS);
    assert_false(r.done); /* refused: still in the queue */
    assert_int_equal(send(t, TD_RELEASE), STATUS_SUCCESS);
    fx_expect_completion(&r, STATUS_SUCCESS);
    wdf_io_release(io);
}

static void
request_not_completed_at_remove(struct fx *f, struct wdf_target *t, const void *param)
{
    struct fx_result r = {0};
    struct wdf_io *io;

    fx_pend(t, TD_PENDING_FOREVER, &r, &io);
    assert_true(wdf_host_idle(f->host, 5000));
    assert_false(r.done);
    assert_int_equal(wdf_pnp_remove_device(f->node), STATUS_SUCCESS);
    expect_one(f, WDF_RULE_UNCOMPLETED_AT_REMOVE, TD_PENDING_FOREVER);
    /* The client is not left waiting. */
    fx_expect_completion(&r, STATUS_DELETE_PENDING);
    wdf_io_release(io);
}

static INTERFACE counted_table = {sizeof(INTERFACE), 1, NULL, NULL, NULL};

static void
interface_dereference_underflow(struct fx *f, struct wdf_target *t, const void *param)
{
    struct wdf_verifier_report r;
    INTERFACE got;

    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, &got, sizeof(got), 1, NULL), STATUS_SUCCESS);
    got.InterfaceDereference(got.Context);
    assert_int_equal(wdf_verifier_count(f->host, 0), 0);
    got.InterfaceDereference(got.Context); /* one too many */
    expect_one(f, WDF_RULE_INTERFACE_UNDERFLOW, 0);
    assert_true(wdf_verifier_get(f->host, 0, &r));
    assert_string_equal(r.device, FDO_NAME);
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
each_blocking_call_under_lock(struct fx *f, struct wdf_target *t, const void *param)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDF_WORKITEM_CONFIG wc;
    WDF_TIMER_CONFIG tc;
    WDFSPINLOCK sp;
    WDFWORKITEM wi;
    WDFTIMER tm;
    KEVENT ev;
    LARGE_INTEGER timeout = {.QuadPart = WDF_REL_TIMEOUT_IN_SEC(5)};

    wdf_thread_bind(f->host);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = f->dev;
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
    assert_int_equal(wdf_pnp_query_stop(f->node), STATUS_INVALID_DEVICE_STATE);
    WdfWorkItemFlush(wi);
    (void)WdfTimerStop(tm, TRUE);
    timeout.QuadPart = 0; /* a zero timeout only polls: not a blocking call */
    assert_int_equal(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &timeout), STATUS_TIMEOUT);
    WdfSpinLockRelease(sp);
    assert_int_equal(wdf_verifier_count(f->host, WDF_RULE_BLOCKING_UNDER_LOCK), 6);
    assert_int_equal(wdf_node_state(f->node), WDF_PNP_STARTED); /* the refused query-stop sent nothing */

    /* Lock released: the same calls go through. */
    assert_int_equal(send(t, TD_OPEN_GATE), STATUS_SUCCESS);
    WdfWorkItemFlush(wi);
    wdf_thread_bind(NULL);
}

static void
lock_misuse_names_the_callback(struct fx *f, struct wdf_target *t, const void *param)
{
    assert_int_equal(send(t, TD_BUG_RECURSE_LOCK), STATUS_SUCCESS); /* refused, so no deadlock */
    expect_one(f, WDF_RULE_LOCK_MISUSE, TD_BUG_RECURSE_LOCK);
    /* The lock is free again: the driver's next user of it is not stuck. */
    assert_int_equal(send(t, TD_BUG_RECURSE_LOCK), STATUS_SUCCESS);
    assert_int_equal(wdf_verifier_count(f->host, WDF_RULE_LOCK_MISUSE), 2);
}

static void
bad_handle_device_delete(struct fx *f, struct wdf_target *t, const void *param)
{
    wdf_thread_bind(f->host);
    WdfObjectDelete(f->dev); /* a PnP device is deleted by the framework only */
    wdf_thread_bind(NULL);
    expect_one(f, WDF_RULE_BAD_HANDLE, 0);
    assert_int_equal(send(t, TD_OPEN_GATE), STATUS_SUCCESS); /* refused: still alive */
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
    /* Same scenario on hosts of its own configuration: callback on, then verifier off. */
    for (int pass = 0; pass < 2; pass++) {
        hc.verifier_off = pass == 1;
        fx_setup_host(&f, &hc);
        assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
        t = fx_open(&f, KernelMode, NULL, NULL);
        assert_int_equal(send(t, TD_BUG_DOUBLE), STATUS_SUCCESS);
        wdf_target_close(t);
        assert_int_equal(wdf_verifier_count(f.host, 0), pass == 0 ? 1 : 0);
        wdf_host_destroy(f.host);
    }
    assert_int_equal(reports_seen, 1);
}

static const struct fx_case cases[] = {
    {.name = "double_completion",
     .body = planted_sync,
     .param = &(const struct planted){TD_BUG_DOUBLE, WDF_RULE_DOUBLE_COMPLETION, false},
     .reports = 1},
    FX_CASE(complete_queued_request, .reports = 1),
    {.name = "forward_completed_request",
     .body = planted_sync,
     .param = &(const struct planted){TD_BUG_FORWARD_DONE, WDF_RULE_FORWARD_COMPLETED, true},
     .reports = 1},
    {.name = "touch_completed_request",
     .body = planted_sync,
     .param = &(const struct planted){TD_BUG_TOUCH_DONE, WDF_RULE_TOUCH_COMPLETED, true},
     .reports = 1},
    FX_CASE(request_not_completed_at_remove, .reports = 1),
    FX_CASE(interface_dereference_underflow, .cfg = {.qi_table = &counted_table, .qi_hook = fx_counted_hook},
            .reports = 1),
    /* Made from the IOCTL callback: the report names that device, request and code. */
    {.name = "blocking_call_under_lock",
     .body = planted_sync,
     .param = &(const struct planted){TD_BUG_WAIT_LOCKED, WDF_RULE_BLOCKING_UNDER_LOCK, true},
     .reports = 1},
    FX_CASE(each_blocking_call_under_lock, .reports = 6),
    FX_CASE(lock_misuse_names_the_callback, .reports = 2),
    FX_CASE(bad_handle_device_delete, .reports = 1),
};

int
main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_report_callback_and_off_switch),
    };

    return fx_run_cases(cases, FX_COUNT(cases), plain, FX_COUNT(plain));
}
