/*
 * tests/regress/test_regress_survey.c - named regressions found by hardening in
 * the host survey (src/host).
 *
 * survey_oom_names_device_after_free: when the per-device allocation of
 * survey_devices() failed, the error message was formatted from the directory
 * listing after that listing had been freed (heap use after free, found by the
 * allocation-failure loop of tests/oom/test_oom_tools.c under ASan).  The test
 * fails that exact allocation and requires PCIVIRT_ENOMEM with a message that
 * names the device - freed memory does not keep the name intact, so the check
 * fails without ASan too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../host/tree.h"
#include "host/survey.h"
#include "pci/dump.h"
#include "util/alloc.h"

#define DATA PCIVIRT_SHARED_DIR "/data/pciutils-tests"
#define BDF "0000:00:03.0"

static void
make_tree(struct tree *t)
{
    struct pci_dump *d = NULL;

    assert_int_equal(pci_dump_load(DATA "/cap-pcie-2", &d, NULL), 0);
    tree_init(t);
    struct tree_fn ep = {"pci0000:00", BDF, d->funcs[0]->bytes, d->funcs[0]->len, 0x020000, 0x8086, 0x10fb, NULL, 1, 2};
    tree_add_fn(t, &ep);
    tree_group(t, 4, "pci0000:00", BDF);
    pci_dump_destroy(d);
}

/* Allocations the survey makes before the per-device one: listing the devices directory and its table. */
static long
allocations_before_device(const char *root)
{
    struct host_survey_options o = {root, NULL};
    struct host_survey *s = NULL;
    struct pcivirt_error err;

    /* Fail from n on until the failure is the one that names the device. */
    for (long n = 0; n < 200; n++) {
        int rc;

        pcivirt_error_clear(&err);
        pv_alloc_fail_after(n, 0);
        rc = host_survey_run(&o, &s, &err);
        pv_alloc_fail_after(-1, 0);
        host_survey_destroy(s);
        s = NULL;
        if (rc == PCIVIRT_ENOMEM && strstr(err.message, "out of memory reading") != NULL) {
            return n;
        }
    }
    return -1;
}

static void
test_survey_oom_names_device_after_free(void **state)
{
    struct tree t;
    struct host_survey_options o;
    struct host_survey *s = NULL;
    struct pcivirt_error err;
    long n;

    (void)state;
    make_tree(&t);
    o = (struct host_survey_options){t.root, NULL};
    n = allocations_before_device(t.root);
    assert_true(n >= 0); /* the per-device allocation was reached and failed */
    pcivirt_error_clear(&err);
    pv_alloc_fail_after(n, 0);
    assert_int_equal(host_survey_run(&o, &s, &err), PCIVIRT_ENOMEM);
    pv_alloc_fail_after(-1, 0);
    assert_null(s);
    assert_non_null(strstr(err.message, "out of memory reading " BDF));
    /* And the survey works again right after. */
    assert_int_equal(host_survey_run(&o, &s, NULL), 0);
    assert_int_equal(host_survey_count(s), 1);
    assert_string_equal(host_survey_device(s, 0)->bdf, BDF);
    host_survey_destroy(s);
    tree_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_survey_oom_names_device_after_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
