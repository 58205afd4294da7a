/*
 * tests/pf/test_conform_mini.c - the suite catches bugs in a driver it did not
 * grow up with.
 *
 * tests/pf/mini_pf.c is a small PF driver written apart from the reference one
 * (public headers only, mini_pf.h).  Built correct, it passes every check its
 * features cover (the in-scope list below, from the contract sections it
 * implements) and fails the others, whose features it lacks.  Each
 * documentation-born variant (the docs' GetResourceForBar on a MemoryLarge
 * aperture, the header's `< 128` block bound, the docs' NOTIFICATION order) must
 * fail exactly the check that names it while three related checks still pass -
 * so the verdict is the bug's, not a broken world's.  The variants carrying the
 * suite's self-test defects are test_conform_broken.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pf/conform/conform.h"

static const char *const checks[] = {"callback.resource-for-bar", "callback.resource-for-bar.large",
                                     "callback.block.bad-input", "notify.short-buffer"};

/* Run the four checks on variant @name; @failing names the one that must fail (NULL: none). */
static void
expect_variant(const char *name, const char *failing)
{
    char path[512];
    struct pf_conform_options opt = {0};

    snprintf(path, sizeof(path), "%s/tests/pf/pf_mini_%s.so", PCIVIRT_BINARY_DIR, name);
    opt.driver_path = path;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        struct pf_conform_report *rep = NULL;
        bool want_fail = failing != NULL && strcmp(failing, checks[i]) == 0;

        assert_int_equal(pf_conform_run(&opt, checks[i], &rep), STATUS_SUCCESS);
        assert_int_equal(rep->count, 1);
        printf("mini %s: %-34s %s: %s\n", name, checks[i], pf_conform_verdict_name(rep->results[0].verdict),
               rep->results[0].reason);
        assert_int_equal(rep->results[0].verdict, want_fail ? PF_CONFORM_FAIL : PF_CONFORM_PASS);
        assert_true(strlen(rep->results[0].reason) > 0);
        pf_conform_report_free(rep);
    }
}

/* What the mini driver implements (mini_pf.h): these pass, every other check fails. */
static const char *const in_scope[] = {
    "ioctl.codes",
    "ioctl.user-mode",
    "ioctl.both-majors",
    "qi.size-version-matrix",
    "luid.consistency",
    "notify.exactly-once.before-event",
    "notify.exactly-once.after-event",
    "notify.resent-before-complete",
    "notify.short-buffer",
    "event-complete.spurious",
    "attach.gate",
    "attach.sharing-violation",
    "detach.mid-event",
    "removal.surprise",
    "removal.no-leak",
    "removal.blocked-attach",
    "callback.block.bad-input",
    "callback.block.roundtrip",
    "callback.resource-for-bar",
    "callback.resource-for-bar.large",
    "callback.probed-bars",
    "invalidate.coalescing",
};

static bool
is_in_scope(const char *id)
{
    for (size_t i = 0; i < sizeof(in_scope) / sizeof(in_scope[0]); i++) {
        if (strcmp(in_scope[i], id) == 0) {
            return true;
        }
    }
    return false;
}

static void
test_correct_mini_driver_passes(void **state)
{
    char path[512];
    struct pf_conform_options opt = {0};
    struct pf_conform_report *rep = NULL;
    size_t n;

    (void)state;
    pf_conform_checks(&n);
    snprintf(path, sizeof(path), "%s/tests/pf/pf_mini_none.so", PCIVIRT_BINARY_DIR);
    opt.driver_path = path;
    assert_int_equal(pf_conform_run(&opt, NULL, &rep), STATUS_SUCCESS);
    assert_int_equal(rep->count, n);
    for (size_t i = 0; i < rep->count; i++) {
        const struct pf_conform_result *r = &rep->results[i];

        printf("mini none: %-38s %s: %s\n", r->check->id, pf_conform_verdict_name(r->verdict), r->reason);
        assert_int_equal(r->verdict, is_in_scope(r->check->id) ? PF_CONFORM_PASS : PF_CONFORM_FAIL);
    }
    assert_int_equal(rep->passed, sizeof(in_scope) / sizeof(in_scope[0]));
    assert_int_equal(rep->errors, 0);
    pf_conform_report_free(rep);
    expect_variant("none", NULL);
}

static void
test_example_memory_large_arithmetic(void **state)
{
    (void)state;
    expect_variant("example_large", "callback.resource-for-bar.large");
}

static void
test_sal_block_bound(void **state)
{
    (void)state;
    expect_variant("sal_bound", "callback.block.bad-input");
}

static void
test_example_notification_order(void **state)
{
    (void)state;
    expect_variant("example_notify", "notify.short-buffer");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_correct_mini_driver_passes),
        cmocka_unit_test(test_example_memory_large_arithmetic),
        cmocka_unit_test(test_sal_block_bound),
        cmocka_unit_test(test_example_notification_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
