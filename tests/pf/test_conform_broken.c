/*
 * tests/pf/test_conform_broken.c - the conformance suite can fail.
 *
 * Each module in tests/pf/ is the reference driver with one contract violation
 * (tests/pf/broken_driver.c).  For each, the check that names the defect must
 * fail - with a reason - while a control check (ioctl.codes) still passes, so the
 * failure is the defect's and not a broken world.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pf/conform/conform.h"

static void
expect_fails(const char *fault, const char *check)
{
    char path[512];
    struct pf_conform_options opt = {0};
    struct pf_conform_report *rep = NULL;

    snprintf(path, sizeof(path), "%s/tests/pf/pf_broken_%s.so", PCIVIRT_BINARY_DIR, fault);
    opt.driver_path = path;
    assert_int_equal(pf_conform_run(&opt, check, &rep), STATUS_SUCCESS);
    assert_int_equal(rep->count, 1);
    printf("%s: %s %s: %s\n", fault, rep->results[0].check->id, pf_conform_verdict_name(rep->results[0].verdict),
           rep->results[0].reason);
    assert_int_equal(rep->results[0].verdict, PF_CONFORM_FAIL);
    assert_true(strlen(rep->results[0].reason) > 0);
    pf_conform_report_free(rep);
    assert_int_equal(pf_conform_run(&opt, "ioctl.codes", &rep), STATUS_SUCCESS);
    assert_int_equal(rep->results[0].verdict, PF_CONFORM_PASS);
    pf_conform_report_free(rep);
}

static void
test_notify_twice(void **state)
{
    expect_fails("notify_twice", "notify.resent-before-complete");
}

static void
test_query_stop_kept_on_detach(void **state)
{
    expect_fails("keep_query_stop_on_detach", "detach.mid-event");
}

static void
test_block_129(void **state)
{
    expect_fails("accept_block_129", "callback.block.bad-input");
}

static void
test_short_buffer_loses_event(void **state)
{
    expect_fails("lose_event_short_buffer", "notify.short-buffer");
}

static void
test_proxy_luid(void **state)
{
    expect_fails("proxy_luid_differs", "luid.consistency");
}

static void
test_v2_to_v1_requester(void **state)
{
    expect_fails("v2_when_v1_asked", "qi.size-version-matrix");
}

static void
test_no_coalescing(void **state)
{
    expect_fails("no_invalidate_coalesce", "invalidate.coalescing");
}

static void
test_leaked_request(void **state)
{
    expect_fails("leak_held_request", "removal.no-leak");
}

static void
test_user_mode_attach(void **state)
{
    expect_fails("user_mode_attach", "ioctl.user-mode");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_twice),         cmocka_unit_test(test_query_stop_kept_on_detach),
        cmocka_unit_test(test_block_129),            cmocka_unit_test(test_short_buffer_loses_event),
        cmocka_unit_test(test_proxy_luid),           cmocka_unit_test(test_v2_to_v1_requester),
        cmocka_unit_test(test_no_coalescing),        cmocka_unit_test(test_leaked_request),
        cmocka_unit_test(test_user_mode_attach),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
