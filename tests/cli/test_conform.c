/*
 * tests/cli/test_conform.c - `pcivirt conform` through the command.
 *
 * The reference driver (linked in, and the same driver loaded as a module) must
 * pass every check; each broken module of tests/pf (a variant of the independent
 * mini PF driver, tests/pf/mini_pf.h, with one mistake) must fail the check that names its defect,
 * with the command's exit code 1, in text and in JSON (read back with jansson).
 * The expected check of each defect is the rule it breaks (contract.md), chosen
 * here, not read from the command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lspci_cmd.h"
#include "pf/conform/conform.h"

#define BROKEN PCIVIRT_BINARY_DIR "/tests/pf/pf_mini_"

static void
test_reference_passes(void **state)
{
    struct run r;
    size_t n;

    pf_conform_checks(&n);
    run_shell(&r, "NO_COLOR=1 " PCIVIRT " conform");
    assert_int_equal(r.status, 0);
    assert_int_equal(count_of(r.out, "\npass "), n);
    assert_null(strstr(r.out, "FAIL"));
    run_free(&r);
}

static void
test_reference_module_passes(void **state)
{
    struct run r;

    run_shell(&r, "NO_COLOR=1 " PCIVIRT " conform --driver " PCIVIRT_BINARY_DIR "/drivers/pcivirt_pf.so");
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "FAIL"));
    run_free(&r);
}

/* Run one check against a broken module, in JSON; the verdict and reason come back parsed. */
static void
expect_fail(const char *fault, const char *check)
{
    char cmd[1024];
    struct run r;
    json_error_t je;
    json_t *doc, *res;

    snprintf(cmd, sizeof(cmd), "%s conform --driver %s%s.so --only %s --json", PCIVIRT, BROKEN, fault, check);
    run_shell(&r, cmd);
    assert_int_equal(r.status, 1);
    doc = json_loads(r.out, 0, &je);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "failed")), 1);
    res = json_array_get(json_object_get(doc, "checks"), 0);
    assert_string_equal(json_string_value(json_object_get(res, "id")), check);
    assert_string_equal(json_string_value(json_object_get(res, "verdict")), "fail");
    assert_true(strlen(json_string_value(json_object_get(res, "reason"))) > 0);
    json_decref(doc);
    run_free(&r);
    /* The same module passes an unrelated check: the failure is the defect's, not a broken world. */
    snprintf(cmd, sizeof(cmd), "%s conform --driver %s%s.so --only ioctl.codes", PCIVIRT, BROKEN, fault);
    run_shell(&r, cmd);
    assert_int_equal(r.status, 0);
    run_free(&r);
}

static void
test_block_129_fails(void **state)
{
    expect_fail("block_129", "callback.block.bad-input");
}

static void
test_notify_twice_fails(void **state)
{
    expect_fail("notify_all", "notify.resent-before-complete");
}

static void
test_text_names_the_check(void **state)
{
    struct run r;

    run_shell(&r, "NO_COLOR=1 " PCIVIRT " conform --driver " BROKEN "block_129.so --only callback.block.");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "FAIL  callback.block.bad-input"));
    run_free(&r);
}

static void
test_list_and_usage(void **state)
{
    struct run r;
    size_t n;
    const struct pf_conform_check *c = pf_conform_checks(&n);

    run_shell(&r, PCIVIRT " conform --list");
    assert_int_equal(r.status, 0);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(strstr(r.out, c[i].id));
    }
    run_free(&r);
    run_shell(&r, PCIVIRT " conform --only no.such.check");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "no.such.check"));
    run_free(&r);
    run_shell(&r, PCIVIRT " conform --driver /nonexistent/driver.so");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "/nonexistent/driver.so"));
    run_free(&r);
    run_shell(&r, PCIVIRT " conform --bogus");
    assert_int_equal(r.status, 2);
    run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_passes),     cmocka_unit_test(test_reference_module_passes),
        cmocka_unit_test(test_block_129_fails),      cmocka_unit_test(test_notify_twice_fails),
        cmocka_unit_test(test_text_names_the_check), cmocka_unit_test(test_list_and_usage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
