/*
 * tests/dev/test_alloc_fail.c - every allocation of create, resource assignment,
 * enable and the first writes to a VF fails in turn (util/alloc.h fault
 * injection); each path must return PCIVIRT_ENOMEM (or refuse cleanly), leave no
 * half-built state that later use trips over, and leak nothing (ASan checks).
 */
#include "dev_test.h"

#include "dev/regs.h"
#include "util/alloc.h"

/* One pass; returns true when it ran to the end with no injected failure. */
static bool
one_pass(void)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev = NULL;
    struct pv_platform *plat = NULL;
    unsigned long before = pv_alloc_failures();
    uint8_t b[4] = {4, 0, 0, 0};
    uint16_t rid;
    int rc;

    pv_profile_default(&p);
    rc = pv_sriov_create(&p, &dev, NULL);
    if (rc != 0) {
        assert_int_equal(rc, PCIVIRT_ENOMEM);
        assert_null(dev);
        goto out;
    }
    rc = pv_platform_create(NULL, &plat);
    if (rc == 0) {
        rc = pv_sriov_assign_resources(dev, plat, NULL);
        assert_true(rc == 0 || rc == PCIVIRT_ENOMEM);
    }
    rc = pv_sriov_enable(dev, 8, NULL);
    assert_true(rc == 0 || rc == PCIVIRT_ENOMEM);
    assert_true(rc != 0 || pv_sriov_vf_enabled(dev));
    if (rc == 0 && pv_sriov_vf_rid(dev, 3, &rid) == 0) {
        rc = pv_sriov_config_write(dev, rid, PCI_COMMAND, b, 2);
        assert_true(rc == 0 || rc == PCIVIRT_ENOMEM);
        rc = pv_sriov_mmio_write(dev, rid, 0, SWVF_REG_SCRATCH, b, 4);
        assert_true(rc == 0 || rc == PCIVIRT_ENOMEM);
        /* The device still answers consistently afterwards. */
        assert_int_equal(pv_sriov_config_read(dev, rid, 0, b, 4), 0);
        assert_int_equal(le32_get(b), 0xffffffff);
    }
out:
    pv_sriov_destroy(dev);
    pv_platform_destroy(plat);
    return pv_alloc_failures() == before;
}

static void
test_every_allocation_fails_cleanly(void **state)
{
    long n;

    (void)state;
    for (n = 0; n < 500; n++) {
        bool clean;

        pv_alloc_fail_after(n, 1);
        clean = one_pass();
        pv_alloc_fail_after(-1, 0);
        if (clean) {
            break;
        }
    }
    assert_true(n > 3);   /* the loop really failed allocations before succeeding */
    assert_true(n < 500); /* and eventually ran clean */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails_cleanly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
