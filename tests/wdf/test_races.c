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

/* One race case: the request that is started, the one that finishes it, and whether
 * it waits in the manual queue (then the finishing call reports who won). */
struct race {
    ULONG start_code;
    ULONG finish_code;
    bool queued;
};

static void
race(struct fx *f, struct wdf_target *t, const void *param)
{
    const struct race *rc = param;
    pthread_barrier_t go;
    int cancelled = 0, completed = 0;

    assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
    for (int i = 0; i < ROUNDS; i++) {
        struct fx_result r = {0};
        struct canceller c = {&go, NULL, false};
        NTSTATUS fin;
        pthread_t th;

        fx_pend(t, rc->start_code, &r, &c.io);
        assert_int_equal(pthread_create(&th, NULL, cancel_thread, &c), 0);
        pthread_barrier_wait(&go);
        fin = fx_ioctl(t, rc->finish_code);
        pthread_join(th, NULL);
        assert_true(fx_wait_flag(&r.done, 5000));
        assert_true(wdf_host_idle(f->host, 5000));
        assert_int_equal(r.done, 1); /* exactly once */
        if (r.status == STATUS_CANCELLED) {
            cancelled++;
            if (rc->queued) {
                assert_int_equal(fin, STATUS_NO_MORE_ENTRIES); /* the driver found nothing to release */
            }
        } else {
            assert_int_equal(r.status, STATUS_SUCCESS);
            completed++;
            if (rc->queued) {
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
parallel_senders(struct fx *f, struct wdf_target *t, const void *param)
{
    struct echo_worker w[8];
    pthread_t th[8];

    for (int i = 0; i < 8; i++) {
        w[i] = (struct echo_worker){t, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, echo_thread, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
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
timeout_vs_release(struct fx *f, struct wdf_target *t, const void *param)
{
    for (int i = 0; i < ROUNDS / 3; i++) {
        struct timed s = {t, 0};
        pthread_t th;
        NTSTATUS rel;

        assert_int_equal(pthread_create(&th, NULL, timed_thread, &s), 0);
        assert_true(wdf_host_wait_sleepers(f->host, 1, 5000));
        assert_int_equal(wdf_host_clock_advance(f->host, 1000000000ull), STATUS_SUCCESS);
        rel = fx_ioctl(t, TD_RELEASE);
        pthread_join(th, NULL);
        if (rel == STATUS_SUCCESS) {
            assert_true(s.status == STATUS_SUCCESS || s.status == STATUS_IO_TIMEOUT);
        } else {
            assert_int_equal(rel, STATUS_NO_MORE_ENTRIES);
            assert_int_equal(s.status, STATUS_IO_TIMEOUT);
        }
    }
}

static const struct fx_case cases[] = {
    {.name = "cancel_vs_complete_cancelable",
     .body = race,
     .param = &(const struct race){TD_CANCELABLE, TD_FINISH_CX, false}},
    {.name = "cancel_vs_release_queued", .body = race, .param = &(const struct race){TD_HOLD, TD_RELEASE, true}},
    FX_CASE(parallel_senders),
    FX_CASE(timeout_vs_release),
};

int
main(void)
{
    return fx_run_cases(cases, FX_COUNT(cases), NULL, 0);
}
