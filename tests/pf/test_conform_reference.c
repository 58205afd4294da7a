/*
 * tests/pf/test_conform_reference.c - the reference PF driver passes every
 * conformance check, linked in and loaded as a module.
 *
 * The suite's own correctness is shown by tests/pf/test_conform_broken.c (each
 * deliberately broken driver fails the check that names its defect); here the
 * reference driver must pass all of them, with no "not applicable" (it exports
 * the admin hooks) and no harness error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "pf/conform/conform.h"

static void
expect_all_pass(const struct pf_conform_options *opt)
{
    struct pf_conform_report *rep = NULL;
    size_t n;

    pf_conform_checks(&n);
    assert_int_equal(pf_conform_run(opt, NULL, &rep), STATUS_SUCCESS);
    for (size_t i = 0; i < rep->count; i++) {
        const struct pf_conform_result *r = &rep->results[i];

        printf("%-40s %-5s %s\n", r->check->id, pf_conform_verdict_name(r->verdict), r->reason);
    }
    assert_int_equal(rep->count, n);
    assert_int_equal(rep->failed, 0);
    assert_int_equal(rep->errors, 0);
    assert_int_equal(rep->not_applicable, 0);
    assert_int_equal(rep->passed, n);
    pf_conform_report_free(rep);
}

static void
test_reference_linked(void **state)
{
    expect_all_pass(NULL);
}

static void
test_reference_module(void **state)
{
    struct pf_conform_options opt = {0};

    opt.driver_path = PCIVIRT_BINARY_DIR "/drivers/pcivirt_pf.so";
    expect_all_pass(&opt);
}

/* The seed's other placement: a lower filter under a port driver's FDO. */
static void
test_reference_lower_filter(void **state)
{
    struct pf_conform_options opt = {0};

    opt.lower_filter = true;
    expect_all_pass(&opt);
}

static void
test_only_and_unknown(void **state)
{
    struct pf_conform_report *rep = NULL;

    assert_int_equal(pf_conform_run(NULL, "no.such.check", &rep), STATUS_NOT_FOUND);
    assert_null(rep);
    assert_int_equal(pf_conform_run(NULL, "attach.", &rep), STATUS_SUCCESS);
    assert_int_equal(rep->count, 2);
    assert_int_equal(rep->passed, 2);
    pf_conform_report_free(rep);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_linked),
        cmocka_unit_test(test_reference_module),
        cmocka_unit_test(test_reference_lower_filter),
        cmocka_unit_test(test_only_and_unknown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
