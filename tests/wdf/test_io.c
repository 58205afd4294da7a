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

static void
buffered_copy_back(struct fx *f, struct wdf_target *t, const void *param)
{
    uint8_t in[9] = {3, 0, 0, 0, 'a', 'b', 'c', 'd', 'e'};
    uint8_t out[8];
    ULONG_PTR info = 0;

    /* Information 3 < out_len 4: three bytes come back, the fourth keeps its sentinel. */
    memset(out, 0x77, sizeof(out));
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, sizeof(in), out, 4, 0, &info),
                     STATUS_SUCCESS);
    assert_int_equal(info, 3);
    assert_memory_equal(out, "edc", 3);
    assert_int_equal(out[3], 0x77);
    assert_true(f->ctx->aliased); /* one system buffer for input and output */

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
}

static void
retrieve_min_length_and_error_no_copy(struct fx *f, struct wdf_target *t, const void *param)
{
    uint8_t in[2] = {1, 2};
    uint8_t out[4];

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
parallel_dispatch_attach_pattern(struct fx *f, struct wdf_target *t, const void *param)
{
    struct sender blk = {0};
    pthread_t th;

    blk.t = t;
    blk.code = TD_BLOCK;
    assert_int_equal(pthread_create(&th, NULL, send_thread, &blk), 0);
    assert_true(fx_wait_flag(&f->ctx->blocked, 5000));
    assert_false(blk.done);
    /* The default queue is parallel: this gets through while TD_BLOCK waits in dispatch. */
    assert_int_equal(fx_ioctl(t, TD_OPEN_GATE), STATUS_SUCCESS);
    pthread_join(th, NULL);
    assert_int_equal(blk.status, STATUS_SUCCESS);
}

static void
sequential_queue_would_deadlock(struct fx *f, struct wdf_target *t, const void *param)
{
    struct sender blk = {0}, open = {0};
    pthread_t th1, th2;

    blk.t = open.t = t;
    blk.code = TD_BLOCK;
    open.code = TD_OPEN_GATE;
    open.timeout = 5ull * 1000000000ull;
    assert_int_equal(pthread_create(&th1, NULL, send_thread, &blk), 0);
    assert_true(fx_wait_flag(&f->ctx->blocked, 5000));
    assert_int_equal(pthread_create(&th2, NULL, send_thread, &open), 0);
    /* OPEN_GATE sits behind BLOCK; only its (virtual) timeout ends the wait. */
    assert_true(wdf_host_wait_sleepers(f->host, 1, 5000));
    assert_false(open.done);
    assert_int_equal(wdf_host_clock_advance(f->host, 5ull * 1000000000ull), STATUS_SUCCESS);
    pthread_join(th2, NULL);
    assert_int_equal(open.status, STATUS_IO_TIMEOUT);
    assert_false(blk.done);
    wdf_thread_bind(f->host);
    KeSetEvent(&f->ctx->gate, 0, FALSE);
    wdf_thread_bind(NULL);
    pthread_join(th1, NULL);
    assert_int_equal(blk.status, STATUS_SUCCESS);
}

static void
manual_queue_hold_release_and_cancel(struct fx *f, struct wdf_target *t, const void *param)
{
    struct fx_result r1 = {0}, r2 = {0};
    uint8_t out[4];
    struct wdf_io *io1, *io2;

    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, out, 4, fx_on_done, &r1, &io1),
                     STATUS_PENDING);
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, out, 4, fx_on_done, &r2, &io2),
                     STATUS_PENDING);
    assert_true(wdf_host_idle(f->host, 5000));
    assert_false(r1.done);
    assert_false(r2.done);
    /* RELEASE completes the oldest held request (FIFO). */
    assert_int_equal(fx_ioctl(t, TD_RELEASE), STATUS_SUCCESS);
    fx_expect_completion(&r1, STATUS_SUCCESS);
    assert_int_equal(r1.info, 4);
    assert_false(r2.done);
    /* A queued request is cancelled by the framework. */
    assert_true(wdf_io_cancel(io2));
    fx_expect_completion(&r2, STATUS_CANCELLED);
    assert_false(wdf_io_cancel(io2));
    assert_int_equal(fx_ioctl(t, TD_RELEASE), STATUS_NO_MORE_ENTRIES);
    wdf_io_release(io1);
    wdf_io_release(io2);
}

/* A purged queue takes nothing (the forward fails and the driver completes with that
 * status) until WdfIoQueueStart; what it held was cancelled by the purge. */
static void
forward_to_purged_queue(struct fx *f, struct wdf_target *t, const void *param)
{
    struct fx_result r1 = {0}, r2 = {0};
    struct wdf_io *io1, *io2;

    fx_pend(t, TD_HOLD, &r1, &io1);
    assert_true(wdf_host_idle(f->host, 5000));
    wdf_thread_bind(f->host);
    WdfIoQueuePurgeSynchronously(f->ctx->held);
    fx_expect_completion(&r1, STATUS_CANCELLED);
    assert_int_equal(fx_ioctl(t, TD_HOLD), STATUS_INVALID_DEVICE_STATE);
    WdfIoQueueStart(f->ctx->held);
    wdf_thread_bind(NULL);
    fx_pend(t, TD_HOLD, &r2, &io2);
    assert_true(wdf_host_idle(f->host, 5000));
    assert_false(r2.done);
    assert_int_equal(fx_ioctl(t, TD_RELEASE), STATUS_SUCCESS);
    fx_expect_completion(&r2, STATUS_SUCCESS);
    wdf_io_release(io1);
    wdf_io_release(io2);
}

static void
cancelable_request(struct fx *f, struct wdf_target *t, const void *param)
{
    struct fx_result r1 = {0}, r2 = {0};
    struct wdf_io *io1, *io2;

    fx_pend(t, TD_CANCELABLE, &r1, &io1);
    assert_true(wdf_io_cancel(io1));
    fx_expect_completion(&r1, STATUS_CANCELLED);
    fx_pend(t, TD_CANCELABLE, &r2, &io2);
    assert_int_equal(fx_ioctl(t, TD_FINISH_CX), STATUS_SUCCESS);
    fx_expect_completion(&r2, STATUS_SUCCESS);
    wdf_io_release(io1);
    wdf_io_release(io2);
}

static void
sync_timeout_on_virtual_clock(struct fx *f, struct wdf_target *t, const void *param)
{
    struct sender s = {0};
    uint64_t wall;
    pthread_t th;

    s.t = t;
    s.code = TD_HOLD;
    s.timeout = 60ull * 1000000000ull;
    wall = (uint64_t)time(NULL);
    assert_int_equal(pthread_create(&th, NULL, send_thread, &s), 0);
    assert_true(wdf_host_wait_sleepers(f->host, 1, 5000));
    assert_int_equal(wdf_host_clock_advance(f->host, 59ull * 1000000000ull), STATUS_SUCCESS);
    assert_true(wdf_host_wait_sleepers(f->host, 1, 5000));
    assert_false(s.done); /* 59 s: still waiting */
    assert_int_equal(wdf_host_clock_advance(f->host, 1000000000ull), STATUS_SUCCESS);
    pthread_join(th, NULL);
    assert_int_equal(s.status, STATUS_IO_TIMEOUT);
    assert_true((uint64_t)time(NULL) - wall < 10);
    assert_true(wdf_host_now(f->host) == 60ull * 1000000000ull);
    /* The timed-out request was cancelled out of the manual queue. */
    assert_int_equal(fx_ioctl(t, TD_RELEASE), STATUS_NO_MORE_ENTRIES);
}

/* The kernel-mode target of the frame, and a user-mode one beside it. */
static void
requestor_mode_and_internal(struct fx *f, struct wdf_target *k, const void *param)
{
    struct wdf_target *u = fx_open(f, UserMode, NULL, NULL);
    ULONG_PTR info = 99;

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
    wdf_target_close(u);
}

static void
power_managed_queue_holds_while_stopped(struct fx *f, struct wdf_target *t, const void *param)
{
    struct fx_result r = {0};
    uint8_t in[5] = {1, 0, 0, 0, 'z'};
    uint8_t out[1] = {0};
    CM_PARTIAL_RESOURCE_DESCRIPTOR raw[2], tr[2];
    struct wdf_io *io;

    assert_int_equal(wdf_pnp_query_stop(f->node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_stop(f->node), STATUS_SUCCESS);
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, 5, out, 1, fx_on_done, &r, &io),
                     STATUS_PENDING);
    assert_true(wdf_host_idle(f->host, 5000));
    assert_false(r.done); /* the default queue is power-managed: held while the device is stopped */
    fx_resources(raw, tr, 0xe0000000ull);
    assert_int_equal(wdf_node_set_resources(f->node, raw, tr, 2), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_start(f->node), STATUS_SUCCESS);
    fx_expect_completion(&r, STATUS_SUCCESS);
    assert_int_equal(out[0], 'z');
    wdf_io_release(io);
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
    struct fx_result r = {0};
    struct gone g = {0};
    struct wdf_target *t;
    struct wdf_io *io;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, &cb, &g); /* the frame's target has no callbacks */
    fx_pend(t, TD_HOLD, &r, &io);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_REMOVED);
    /* The held request sat in a queue: the framework purged it. */
    fx_expect_completion(&r, STATUS_CANCELLED);
    assert_true(g.complete);
    assert_false(g.surprise);
    assert_int_equal(fx_ioctl(t, TD_ECHO), STATUS_NO_SUCH_DEVICE);
    wdf_io_release(io);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_close_with_queued_requests_and_late_release(void **state)
{
    struct fx_result r[3] = {{0}, {0}, {0}};
    struct wdf_io *io[3];
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    t = fx_start(&f); /* closed halfway, host torn down before the handles go: a frame of its own */
    for (int i = 0; i < 3; i++) {
        fx_pend(t, TD_HOLD, &r[i], &io[i]);
    }
    /* Closing cancels all three (each cancel unlinks its request from the target). */
    wdf_target_close(t);
    for (int i = 0; i < 3; i++) {
        fx_expect_completion(&r[i], STATUS_CANCELLED);
    }
    fx_teardown(&f, 0);
    /* Handles may outlive the host: releasing them only frees the handle. */
    for (int i = 0; i < 3; i++) {
        assert_false(wdf_io_cancel(io[i]));
        wdf_io_release(io[i]);
    }
}

static const struct fx_case cases[] = {
    FX_CASE(buffered_copy_back),
    FX_CASE(retrieve_min_length_and_error_no_copy),
    FX_CASE(parallel_dispatch_attach_pattern),
    FX_CASE(sequential_queue_would_deadlock, .cfg = {.dispatch = WdfIoQueueDispatchSequential}),
    FX_CASE(manual_queue_hold_release_and_cancel),
    FX_CASE(forward_to_purged_queue),
    FX_CASE(cancelable_request),
    FX_CASE(sync_timeout_on_virtual_clock),
    FX_CASE(requestor_mode_and_internal),
    FX_CASE(power_managed_queue_holds_while_stopped),
};

int
main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_removal_with_held_requests),
        cmocka_unit_test(test_close_with_queued_requests_and_late_release),
    };

    return fx_run_cases(cases, FX_COUNT(cases), plain, FX_COUNT(plain));
}
