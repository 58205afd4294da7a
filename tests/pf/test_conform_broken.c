/*
 * tests/pf/test_conform_broken.c - the conformance suite can fail.
 *
 * Each module is a variant of the mini PF driver (tests/pf/mini_pf.h), a driver
 * written apart from the reference one, with one defect the suite must name:
 * the check for the rule the defect breaks (contract.md, chosen here) must fail,
 * and its reason must name the defect's symptom (the call, status or count the
 * defect produces by its definition - 129 bytes accepted, 2 NOTIFICATIONs for one
 * event - not an id or value read from a run).  Two controls make the
 * verdict the defect's and not a broken world's: the same module passes
 * ioctl.codes, and the correct variant ("none") passes the very check.  The
 * reference driver passing every check is test_conform_reference.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pf/conform/conform.h"

/* Run @check on mini variant @variant; return its verdict, reason copied to @reason. */
static enum pf_conform_verdict
run_check(const char *variant, const char *check, char *reason, size_t n)
{
    char path[512];
    struct pf_conform_options opt = {0};
    struct pf_conform_report *rep = NULL;
    enum pf_conform_verdict v;

    snprintf(path, sizeof(path), "%s/tests/pf/pf_mini_%s.so", PCIVIRT_BINARY_DIR, variant);
    opt.driver_path = path;
    assert_int_equal(pf_conform_run(&opt, check, &rep), STATUS_SUCCESS);
    assert_int_equal(rep->count, 1);
    assert_string_equal(rep->results[0].check->id, check);
    v = rep->results[0].verdict;
    snprintf(reason, n, "%s", rep->results[0].reason);
    printf("mini %-14s %-30s %s: %s\n", variant, check, pf_conform_verdict_name(v), reason);
    pf_conform_report_free(rep);
    return v;
}

/* @variant fails @check with a reason containing @symptom; the controls pass. */
static void
expect_fails(const char *variant, const char *check, const char *symptom)
{
    char reason[384];

    assert_int_equal(run_check(variant, check, reason, sizeof(reason)), PF_CONFORM_FAIL);
    assert_non_null(strstr(reason, symptom));
    assert_int_equal(run_check(variant, "ioctl.codes", reason, sizeof(reason)), PF_CONFORM_PASS);
    assert_int_equal(run_check("none", check, reason, sizeof(reason)), PF_CONFORM_PASS);
}

/* One event, two NOTIFICATIONs queued: both completed (4.3, 7.2). */
static void
test_notify_twice(void **state)
{
    expect_fails("notify_all", "notify.resent-before-complete", "2 NOTIFICATIONs completed for one QueryStop event");
}

/* DETACH in the middle of QUERY_STOP must release it (4.6). */
static void
test_query_stop_kept_on_detach(void **state)
{
    expect_fails("detach_keeps", "detach.mid-event", "DETACH did not release the held QUERY_STOP");
}

/* A 129-byte block accepted (6.3, 10.4). */
static void
test_block_129(void **state)
{
    expect_fails("block_129", "callback.block.bad-input",
                 "ReadVfConfigBlock(129 bytes): got STATUS_SUCCESS, want STATUS_INVALID_PARAMETER");
}

/* The docs' example: a short NOTIFICATION is queued and consumes the event (4.3, 10.18). */
static void
test_short_buffer_loses_event(void **state)
{
    expect_fails("example_notify", "notify.short-buffer", "NOTIFICATION with a 2-byte buffer was queued");
}

/* PROXY_QUERY_LUID answers another LUID than QueryLuid (4.11, 7.5). */
static void
test_proxy_luid(void **state)
{
    expect_fails("proxy_luid", "luid.consistency", "!= QueryLuid");
}

/* A 120-byte requester told the table is 144 bytes (1.5, 3.2). */
static void
test_v2_to_v1_requester(void **state)
{
    expect_fails("v2_claim", "qi.size-version-matrix", "QI size 120 version 1 returned a table of Size 144, want 120");
}

/* Invalidations with no INVALIDATE_BLOCK held are lost instead of coalesced (4.7). */
static void
test_no_coalescing(void **state)
{
    expect_fails("no_coalesce", "invalidate.coalescing", "ALL_VFS delivered 0x0, want 0x8");
}

/* An INVALIDATE_BLOCK the driver holds is never completed at removal (7.6): the verifier says so. */
static void
test_leaked_request(void **state)
{
    expect_fails("leak_held", "removal.no-leak", "request-not-completed-at-remove");
}

/* ATTACH honoured from user mode (4.2): IOCTL 3 = 0x0022604C. */
static void
test_user_mode_attach(void **state)
{
    expect_fails("user_attach", "ioctl.user-mode", "IOCTL 0x0022604c from user mode: got STATUS_SUCCESS");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_twice),     cmocka_unit_test(test_query_stop_kept_on_detach),
        cmocka_unit_test(test_block_129),        cmocka_unit_test(test_short_buffer_loses_event),
        cmocka_unit_test(test_proxy_luid),       cmocka_unit_test(test_v2_to_v1_requester),
        cmocka_unit_test(test_no_coalescing),    cmocka_unit_test(test_leaked_request),
        cmocka_unit_test(test_user_mode_attach),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
