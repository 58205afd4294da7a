/*
 * tests/regress/test_regress_service.c - a named regression for the stack's
 * service thread, found by the stress test (seed 29, "rebalance did not finish";
 * docs/HARDENING.md).
 *
 * service_wait_is_not_postponed_by_a_clock_jump: the service thread computed its
 * next deadline, read the clock, then slept with a *relative* timeout, which the
 * runtime turns into a deadline from the clock as it reads it at the wait; when
 * the virtual clock jumped past the query-stop deadline in between (the stress
 * test advances it once every polite VM answered), the deadline moved by the
 * jump and the round was never decided.  The race is between two statements of
 * the thread, so the test replays it in order on its own thread: take the
 * timeout the service thread would sleep with (stack_wait_timeout), jump the
 * host clock past the deadline, then wait with that timeout.  The wait must end
 * at once; with the old relative timeout it would sleep until the virtual clock
 * moved again (never, here: a real-time guard reports it and releases it).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dev/platform.h"
#include "vsp/stack_internal.h"

struct sleeper {
    struct wdf_host *host;
    KEVENT ev;
    LARGE_INTEGER timeout;
    NTSTATUS st;
    volatile int done;
};

static void *
sleep_main(void *arg)
{
    struct sleeper *z = arg;

    wdf_thread_bind(z->host);
    z->st = KeWaitForSingleObject(&z->ev, Executive, KernelMode, FALSE, &z->timeout);
    __atomic_store_n(&z->done, 1, __ATOMIC_SEQ_CST);
    wdf_thread_bind(NULL);
    return NULL;
}

static void
service_wait_is_not_postponed_by_a_clock_jump(void **state)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};
    struct pv_platform *plat = NULL;
    struct vsp_stack *s = NULL;
    struct sleeper z;
    struct vsp_stack_config sc;
    pthread_t t;
    uint64_t deadline;
    bool ended = false;

    (void)state;
    memset(&z, 0, sizeof(z));
    assert_int_equal(wdf_host_create(&hc, &z.host), STATUS_SUCCESS);
    assert_int_equal(pv_platform_create(NULL, &plat), 0);
    sc = (struct vsp_stack_config){.host = z.host, .platform = plat};
    assert_int_equal(vsp_stack_create(&sc, &s), 0); /* the stack reads the host clock */
    assert_int_equal(wdf_host_clock_advance(z.host, VSP_NS_PER_S), STATUS_SUCCESS);
    deadline = wdf_host_now(z.host) + 5 * VSP_NS_PER_S; /* a query-stop deadline */

    z.timeout = stack_wait_timeout(s, deadline);                                         /* computed ... */
    assert_int_equal(wdf_host_clock_advance(z.host, 10 * VSP_NS_PER_S), STATUS_SUCCESS); /* ... the jump ... */
    KeInitializeEvent(&z.ev, SynchronizationEvent, FALSE);
    z.ev.Host = z.host;
    assert_int_equal(pthread_create(&t, NULL, sleep_main, &z), 0); /* ... then the wait */
    for (unsigned i = 0; i < 2000 && !ended; i++) {
        struct timespec ts = {0, 1000000};

        ended = __atomic_load_n(&z.done, __ATOMIC_SEQ_CST) != 0;
        if (!ended) {
            nanosleep(&ts, NULL);
        }
    }
    if (!ended) {
        KeSetEvent(&z.ev, 0, FALSE); /* release the postponed wait before failing */
    }
    pthread_join(t, NULL);
    assert_true(ended);
    assert_int_equal(z.st, STATUS_TIMEOUT); /* the deadline had passed: it ended at once, by timeout */
    vsp_stack_destroy(s);
    wdf_host_destroy(z.host);
    pv_platform_destroy(plat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(service_wait_is_not_postponed_by_a_clock_jump),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
