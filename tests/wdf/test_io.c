/*
 * tests/wdf/test_io.c - queues and requests as the contract needs them.
 *
 * METHOD_BUFFERED (contract.md 1.3) is checked against the rule itself: the
 * driver sees one buffer for input and output, and the caller gets back exactly
 * min(Information, OutputBufferLength) bytes - bytes past that in the caller's
 * array keep a sentinel.  Parallel dispatch is shown by the ATTACH pattern
 * (contract.md 4.2): a request blocked in dispatch does not hold back another;
 * a sequential queue would, which the virtual-clock timeout makes visible without
 * waiting.  Timeouts of 60 s are driven on the virtual clock and must cost
 * well under a second of wall time.
 */
#include "fixture.h"

struct async_result {
    volatile int done;
    NTSTATUS status;
    ULONG_PTR info;
};

static void
on_done(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information)
{
    struct async_result *r = ctx;

    (void)io;
    r->status = status;
    r->info = information;
    __atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
}

static void
started(struct fx *f)
{
    fx_setup(f);
    assert_int_equal(wdf_pnp_start(f->node), STATUS_SUCCESS);
}

static void
test_buffered_copy_back(void **state)
{
    uint8_t in[9] = {3, 0, 0, 0, 'a', 'b', 'c', 'd', 'e'};
    uint8_t out[8];
    struct wdf_target *t;
    ULONG_PTR info = 0;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);

    /* Information 3 < out_len 4: three bytes come back, the fourth keeps its sentinel. */
    memset(out, 0x77, sizeof(out));
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, sizeof(in), out, 4, 0, &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, 3);
    assert_memory_equal(out, "edc", 3);
    assert_int_equal(out[3], 0x77);
    assert_true(f.ctx->aliased); /* one system buffer for input and output */

    /* Information 100 > out_len 4: never more than out_len bytes. */
    in[0] = 100;
    memset(out, 0x77, sizeof(out));
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, sizeof(in), out, 4, 0, &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, 100);
    assert_memory_equal(out, "edcb", 4);
    assert_int_equal(out[4], 0x77);

    /* Output longer than input: the system buffer is max(in, out) and zero beyond the input. */
    in[0] = 8;
    memset(out, 0x77, sizeof(out));
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, 5, out, 8, 0, &info), STATUS_SUCCESS);
    assert_int_equal(out[0], 'a');
    assert_int_equal(out[1], 0xEE);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_retrieve_min_length_and_error_no_copy(void **state)
{
    uint8_t in[2] = {1, 2};
    uint8_t out[4];
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    memset(out, 0x55, sizeof(out));
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, sizeof(in), out, 4, 0, NULL),
                     STATUS_BUFFER_TOO_SMALL);
    /* An error status copies nothing back, although the system buffer held the input. */
    assert_int_equal(out[0], 0x55);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, NULL, 0, out, 4, 0, NULL),
                     STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_CODE(99), NULL, 0, NULL, 0, 0, NULL),
                     STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(wdf_target_send_sync(t, 0x03, TD_ECHO, NULL, 0, NULL, 0, 0, NULL), STATUS_INVALID_PARAMETER);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

struct sender {
    struct wdf_target *t;
    ULONG code;
    uint64_t timeout;
    NTSTATUS status;
    volatile int done;
};

static void *
send_thread(void *arg)
{
    struct sender *s = arg;

    s->status = wdf_target_send_sync(s->t, IRP_MJ_DEVICE_CONTROL, s->code, NULL, 0, NULL, 0, s->timeout, NULL);
    __atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void
test_parallel_dispatch_attach_pattern(void **state)
{
    struct sender blk = {0};
    struct wdf_target *t;
    pthread_t th;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    blk.t = t;
    blk.code = TD_BLOCK;
    assert_int_equal(pthread_create(&th, NULL, send_thread, &blk), 0);
    assert_true(fx_wait_flag(&f.ctx->blocked, 5000));
    assert_false(blk.done);
    /* The default queue is parallel: this gets through while TD_BLOCK waits in dispatch. */
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_OPEN_GATE, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_SUCCESS);
    pthread_join(th, NULL);
    assert_int_equal(blk.status, STATUS_SUCCESS);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_sequential_queue_would_deadlock(void **state)
{
    struct sender blk = {0}, open = {0};
    struct wdf_target *t;
    pthread_t th1, th2;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.dispatch = WdfIoQueueDispatchSequential;
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    blk.t = open.t = t;
    blk.code = TD_BLOCK;
    open.code = TD_OPEN_GATE;
    open.timeout = 5ull * 1000000000ull;
    assert_int_equal(pthread_create(&th1, NULL, send_thread, &blk), 0);
    assert_true(fx_wait_flag(&f.ctx->blocked, 5000));
    assert_int_equal(pthread_create(&th2, NULL, send_thread, &open), 0);
    /* OPEN_GATE sits behind BLOCK; only its (virtual) timeout ends the wait. */
    assert_true(wdf_host_wait_sleepers(f.host, 1, 5000));
    assert_false(open.done);
    assert_int_equal(wdf_host_clock_advance(f.host, 5ull * 1000000000ull), STATUS_SUCCESS);
    pthread_join(th2, NULL);
    assert_int_equal(open.status, STATUS_IO_TIMEOUT);
    assert_false(blk.done);
    wdf_thread_bind(f.host);
    KeSetEvent(&f.ctx->gate, 0, FALSE);
    wdf_thread_bind(NULL);
    pthread_join(th1, NULL);
    assert_int_equal(blk.status, STATUS_SUCCESS);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_manual_queue_hold_release_and_cancel(void **state)
{
    struct async_result r1 = {0}, r2 = {0};
    uint8_t out[4];
    struct wdf_io *io1, *io2;
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, out, 4, on_done, &r1, &io1),
                     STATUS_PENDING);
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, out, 4, on_done, &r2, &io2),
                     STATUS_PENDING);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_false(r1.done);
    assert_false(r2.done);
    /* RELEASE completes the oldest held request (FIFO). */
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_RELEASE, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_SUCCESS);
    assert_true(fx_wait_flag(&r1.done, 5000));
    assert_int_equal(r1.status, STATUS_SUCCESS);
    assert_int_equal(r1.info, 4);
    assert_false(r2.done);
    /* A queued request is cancelled by the framework. */
    assert_true(wdf_io_cancel(io2));
    assert_true(fx_wait_flag(&r2.done, 5000));
    assert_int_equal(r2.status, STATUS_CANCELLED);
    assert_false(wdf_io_cancel(io2));
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_RELEASE, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_NO_MORE_ENTRIES);
    wdf_io_release(io1);
    wdf_io_release(io2);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

/* A purged queue takes nothing (the forward fails and the driver completes with that
 * status) until WdfIoQueueStart; what it held was cancelled by the purge. */
static void
test_forward_to_purged_queue(void **state)
{
    struct async_result r1 = {0}, r2 = {0};
    struct wdf_io *io1, *io2;
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, NULL, 0, on_done, &r1, &io1),
                     STATUS_PENDING);
    assert_true(wdf_host_idle(f.host, 5000));
    wdf_thread_bind(f.host);
    WdfIoQueuePurgeSynchronously(f.ctx->held);
    assert_true(fx_wait_flag(&r1.done, 5000));
    assert_int_equal(r1.status, STATUS_CANCELLED);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_INVALID_DEVICE_STATE);
    WdfIoQueueStart(f.ctx->held);
    wdf_thread_bind(NULL);
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, NULL, 0, on_done, &r2, &io2),
                     STATUS_PENDING);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_false(r2.done);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_RELEASE, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_SUCCESS);
    assert_true(fx_wait_flag(&r2.done, 5000));
    assert_int_equal(r2.status, STATUS_SUCCESS);
    wdf_io_release(io1);
    wdf_io_release(io2);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_cancelable_request(void **state)
{
    struct async_result r1 = {0}, r2 = {0};
    struct wdf_io *io1, *io2;
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    assert_int_equal(
        wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_CANCELABLE, NULL, 0, NULL, 0, on_done, &r1, &io1),
        STATUS_PENDING);
    assert_true(wdf_io_cancel(io1));
    assert_true(fx_wait_flag(&r1.done, 5000));
    assert_int_equal(r1.status, STATUS_CANCELLED);
    assert_int_equal(
        wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_CANCELABLE, NULL, 0, NULL, 0, on_done, &r2, &io2),
        STATUS_PENDING);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_FINISH_CX, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_SUCCESS);
    assert_true(fx_wait_flag(&r2.done, 5000));
    assert_int_equal(r2.status, STATUS_SUCCESS);
    wdf_io_release(io1);
    wdf_io_release(io2);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_sync_timeout_on_virtual_clock(void **state)
{
    struct sender s = {0};
    struct wdf_target *t;
    uint64_t wall;
    pthread_t th;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    s.t = t;
    s.code = TD_HOLD;
    s.timeout = 60ull * 1000000000ull;
    wall = (uint64_t)time(NULL);
    assert_int_equal(pthread_create(&th, NULL, send_thread, &s), 0);
    assert_true(wdf_host_wait_sleepers(f.host, 1, 5000));
    assert_int_equal(wdf_host_clock_advance(f.host, 59ull * 1000000000ull), STATUS_SUCCESS);
    assert_true(wdf_host_wait_sleepers(f.host, 1, 5000));
    assert_false(s.done); /* 59 s: still waiting */
    assert_int_equal(wdf_host_clock_advance(f.host, 1000000000ull), STATUS_SUCCESS);
    pthread_join(th, NULL);
    assert_int_equal(s.status, STATUS_IO_TIMEOUT);
    assert_true((uint64_t)time(NULL) - wall < 10);
    assert_true(wdf_host_now(f.host) == 60ull * 1000000000ull);
    /* The timed-out request was cancelled out of the manual queue. */
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_RELEASE, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_NO_MORE_ENTRIES);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_requestor_mode_and_internal(void **state)
{
    struct wdf_target *k, *u;
    ULONG_PTR info = 99;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    k = fx_open(&f, KernelMode, NULL, NULL);
    u = fx_open(&f, UserMode, NULL, NULL);
    assert_int_equal(wdf_target_send_sync(k, IRP_MJ_DEVICE_CONTROL, TD_MODE, NULL, 0, NULL, 0, 0, &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, 0); /* kernel, normal, EvtIoDeviceControl */
    assert_int_equal(wdf_target_send_sync(k, IRP_MJ_INTERNAL_DEVICE_CONTROL, TD_MODE, NULL, 0, NULL, 0, 0, &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, 101); /* kernel, internal, EvtIoInternalDeviceControl */
    assert_int_equal(wdf_target_send_sync(u, IRP_MJ_DEVICE_CONTROL, TD_MODE, NULL, 0, NULL, 0, 0, &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, 10); /* user, normal */
    assert_int_equal(wdf_target_send_sync(u, IRP_MJ_INTERNAL_DEVICE_CONTROL, TD_MODE, NULL, 0, NULL, 0, 0, &info),
                     STATUS_INVALID_DEVICE_REQUEST);
    wdf_target_close(k);
    wdf_target_close(u);
    fx_teardown(&f, 0);
}

static void
test_power_managed_queue_holds_while_stopped(void **state)
{
    struct async_result r = {0};
    uint8_t in[5] = {1, 0, 0, 0, 'z'};
    uint8_t out[1] = {0};
    CM_PARTIAL_RESOURCE_DESCRIPTOR raw[2], tr[2];
    struct wdf_target *t;
    struct wdf_io *io;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    assert_int_equal(wdf_pnp_query_stop(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_stop(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, 5, out, 1, on_done, &r, &io),
                     STATUS_PENDING);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_false(r.done); /* the default queue is power-managed: held while the device is stopped */
    fx_resources(raw, tr, 0xe0000000ull);
    assert_int_equal(wdf_node_set_resources(f.node, raw, tr, 2), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    assert_true(fx_wait_flag(&r.done, 5000));
    assert_int_equal(r.status, STATUS_SUCCESS);
    assert_int_equal(out[0], 'z');
    wdf_io_release(io);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

struct gone {
    volatile int complete;
    bool surprise;
};

static void
on_remove_complete(void *ctx, struct wdf_target *t, bool surprise)
{
    struct gone *g = ctx;

    (void)t;
    g->surprise = surprise;
    __atomic_store_n(&g->complete, 1, __ATOMIC_SEQ_CST);
}

static void
test_removal_with_held_requests(void **state)
{
    struct wdf_target_callbacks cb = {.remove_complete = on_remove_complete};
    struct async_result r = {0};
    struct gone g = {0};
    struct wdf_target *t;
    struct wdf_io *io;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, &cb, &g);
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, NULL, 0, on_done, &r, &io),
                     STATUS_PENDING);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_REMOVED);
    /* The held request sat in a queue: the framework purged it. */
    assert_true(fx_wait_flag(&r.done, 5000));
    assert_int_equal(r.status, STATUS_CANCELLED);
    assert_true(g.complete);
    assert_false(g.surprise);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_NO_SUCH_DEVICE);
    wdf_io_release(io);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_close_with_queued_requests_and_late_release(void **state)
{
    struct async_result r[3] = {{0}, {0}, {0}};
    struct wdf_io *io[3];
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    started(&f);
    t = fx_open(&f, KernelMode, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, NULL, 0, on_done, &r[i], &io[i]),
            STATUS_PENDING);
    }
    /* Closing cancels all three (each cancel unlinks its request from the target). */
    wdf_target_close(t);
    for (int i = 0; i < 3; i++) {
        assert_true(fx_wait_flag(&r[i].done, 5000));
        assert_int_equal(r[i].status, STATUS_CANCELLED);
    }
    fx_teardown(&f, 0);
    /* Handles may outlive the host: releasing them only frees the handle. */
    for (int i = 0; i < 3; i++) {
        assert_false(wdf_io_cancel(io[i]));
        wdf_io_release(io[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffered_copy_back),
        cmocka_unit_test(test_retrieve_min_length_and_error_no_copy),
        cmocka_unit_test(test_parallel_dispatch_attach_pattern),
        cmocka_unit_test(test_sequential_queue_would_deadlock),
        cmocka_unit_test(test_manual_queue_hold_release_and_cancel),
        cmocka_unit_test(test_forward_to_purged_queue),
        cmocka_unit_test(test_cancelable_request),
        cmocka_unit_test(test_sync_timeout_on_virtual_clock),
        cmocka_unit_test(test_requestor_mode_and_internal),
        cmocka_unit_test(test_power_managed_queue_holds_while_stopped),
        cmocka_unit_test(test_removal_with_held_requests),
        cmocka_unit_test(test_close_with_queued_requests_and_late_release),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
