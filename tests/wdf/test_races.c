/*
 * tests/wdf/test_races.c - cancel racing completion, many times (and under TSan
 * with `make tsan`).
 *
 * Each round starts two threads at a barrier: one cancels, the other completes
 * through the driver.  Whatever the interleaving, the request completes exactly
 * once, with one of the two outcomes, the two sides agree on who won, and the
 * verifier stays silent.
 */
#include "fixture.h"

#define ROUNDS 300

struct result {
    volatile int calls;
    NTSTATUS status;
    ULONG_PTR info;
};

static void
on_done(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information)
{
    struct result *r = ctx;

    (void)io;
    r->status = status;
    r->info = information;
    __atomic_add_fetch(&r->calls, 1, __ATOMIC_SEQ_CST);
}

struct canceller {
    pthread_barrier_t *go;
    struct wdf_io *io;
    bool was_outstanding;
};

static void *
cancel_thread(void *arg)
{
    struct canceller *c = arg;

    pthread_barrier_wait(c->go);
    c->was_outstanding = wdf_io_cancel(c->io);
    return NULL;
}

static void
race(struct fx *f, struct wdf_target *t, ULONG start_code, ULONG finish_code, bool queued)
{
    pthread_barrier_t go;
    int cancelled = 0, completed = 0;

    assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
    for (int i = 0; i < ROUNDS; i++) {
        struct result r = {0};
        struct canceller c = {&go, NULL, false};
        NTSTATUS fin;
        pthread_t th;

        assert_int_equal(
            wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, start_code, NULL, 0, NULL, 0, on_done, &r, &c.io),
            STATUS_PENDING);
        assert_int_equal(pthread_create(&th, NULL, cancel_thread, &c), 0);
        pthread_barrier_wait(&go);
        fin = wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, finish_code, NULL, 0, NULL, 0, 0, NULL);
        pthread_join(th, NULL);
        assert_true(fx_wait_flag(&r.calls, 5000));
        assert_true(wdf_host_idle(f->host, 5000));
        assert_int_equal(r.calls, 1); /* exactly once */
        if (r.status == STATUS_CANCELLED) {
            cancelled++;
            if (queued) {
                assert_int_equal(fin, STATUS_NO_MORE_ENTRIES); /* the driver found nothing to release */
            }
        } else {
            assert_int_equal(r.status, STATUS_SUCCESS);
            completed++;
            if (queued) {
                assert_int_equal(fin, STATUS_SUCCESS);
                assert_int_equal(r.info, 4);
            }
        }
        wdf_io_release(c.io);
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(cancelled + completed, ROUNDS);
    print_message("cancelled %d, completed %d of %d\n", cancelled, completed, ROUNDS);
}

static void
test_cancel_vs_complete_cancelable(void **state)
{
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, NULL, NULL);
    race(&f, t, TD_CANCELABLE, TD_FINISH_CX, false);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_cancel_vs_release_queued(void **state)
{
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, NULL, NULL);
    race(&f, t, TD_HOLD, TD_RELEASE, true);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

struct echo_worker {
    struct wdf_target *t;
    int id;
    int bad;
};

static void *
echo_thread(void *arg)
{
    struct echo_worker *w = arg;

    for (int i = 0; i < ROUNDS; i++) {
        uint8_t in[6] = {2, 0, 0, 0, (uint8_t)w->id, (uint8_t)i};
        uint8_t out[2] = {0, 0};
        ULONG_PTR info = 0;

        if (wdf_target_send_sync(w->t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, 6, out, 2, 0, &info) != STATUS_SUCCESS ||
            info != 2 || out[0] != (uint8_t)i || out[1] != (uint8_t)w->id) {
            w->bad++;
        }
    }
    return NULL;
}

static void
test_parallel_senders(void **state)
{
    struct echo_worker w[8];
    pthread_t th[8];
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, NULL, NULL);
    for (int i = 0; i < 8; i++) {
        w[i] = (struct echo_worker){t, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, echo_thread, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

struct timed {
    struct wdf_target *t;
    NTSTATUS status;
};

static void *
timed_thread(void *arg)
{
    struct timed *s = arg;

    s->status = wdf_target_send_sync(s->t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, NULL, 0, 1000000000ull, NULL);
    return NULL;
}

static void
test_timeout_vs_release(void **state)
{
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, NULL, NULL);
    for (int i = 0; i < ROUNDS / 3; i++) {
        struct timed s = {t, 0};
        pthread_t th;
        NTSTATUS rel;

        assert_int_equal(pthread_create(&th, NULL, timed_thread, &s), 0);
        assert_true(wdf_host_wait_sleepers(f.host, 1, 5000));
        assert_int_equal(wdf_host_clock_advance(f.host, 1000000000ull), STATUS_SUCCESS);
        rel = wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_RELEASE, NULL, 0, NULL, 0, 0, NULL);
        pthread_join(th, NULL);
        if (rel == STATUS_SUCCESS) {
            assert_true(s.status == STATUS_SUCCESS || s.status == STATUS_IO_TIMEOUT);
        } else {
            assert_int_equal(rel, STATUS_NO_MORE_ENTRIES);
            assert_int_equal(s.status, STATUS_IO_TIMEOUT);
        }
    }
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_vs_complete_cancelable),
        cmocka_unit_test(test_cancel_vs_release_queued),
        cmocka_unit_test(test_parallel_senders),
        cmocka_unit_test(test_timeout_vs_release),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
