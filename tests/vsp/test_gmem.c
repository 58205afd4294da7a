/*
 * tests/vsp/test_gmem.c - guest memory against a flat shadow copy.
 *
 * The oracle is an ordinary byte array of the same size: random writes and
 * reads (page-crossing, unaligned) must agree with it, ranges outside the
 * configured size must be refused without touching anything, and memory must
 * stay sparse (resident pages = pages written, computed independently).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pcivirt/error.h"
#include "util/alloc.h"
#include "vsp/gmem.h"

static void
test_create_rejects_bad_sizes(void **state)
{
    struct vsp_gmem *mem = NULL;

    (void)state;
    assert_int_equal(vsp_gmem_create(0, &mem), PCIVIRT_EINVAL);
    assert_int_equal(vsp_gmem_create(4097, &mem), PCIVIRT_EINVAL);
    assert_int_equal(vsp_gmem_create(VSP_GMEM_MAX_SIZE + VSP_PAGE_SIZE, &mem), PCIVIRT_EINVAL);
    assert_int_equal(vsp_gmem_create(4096, NULL), PCIVIRT_EINVAL);
    assert_null(mem);
    vsp_gmem_destroy(NULL);
}

static void
test_shadow_random(void **state)
{
    const uint64_t size = 64 * VSP_PAGE_SIZE;
    uint8_t *shadow = calloc(1, size);
    uint8_t page_touched[64] = {0};
    uint8_t buf[3 * VSP_PAGE_SIZE], got[3 * VSP_PAGE_SIZE];
    struct vsp_gmem *mem;
    size_t touched = 0;

    (void)state;
    assert_int_equal(vsp_gmem_create(size, &mem), 0);
    assert_int_equal(vsp_gmem_size(mem), size);
    srand(7);
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = 1 + (size_t)rand() % sizeof(buf);
        uint64_t gpa = (uint64_t)rand() % (size - len + 1);

        if (iter % 2 == 0) {
            for (size_t i = 0; i < len; i++) {
                buf[i] = (uint8_t)rand();
            }
            assert_int_equal(vsp_gmem_write(mem, gpa, buf, len), 0);
            memcpy(shadow + gpa, buf, len);
            for (uint64_t p = gpa / VSP_PAGE_SIZE; p <= (gpa + len - 1) / VSP_PAGE_SIZE; p++) {
                touched += !page_touched[p];
                page_touched[p] = 1;
            }
        } else {
            assert_int_equal(vsp_gmem_read(mem, gpa, got, len), 0);
            assert_memory_equal(got, shadow + gpa, len);
        }
        if (iter == 10) {
            /* Sparse: only written pages exist so far. */
            assert_int_equal(vsp_gmem_resident_pages(mem), touched);
        }
    }
    assert_int_equal(vsp_gmem_resident_pages(mem), touched);
    vsp_gmem_destroy(mem);
    free(shadow);
}

static void
test_out_of_range_touches_nothing(void **state)
{
    const uint64_t size = 4 * VSP_PAGE_SIZE;
    uint8_t buf[16], zero[16] = {0};
    struct vsp_gmem *mem;

    (void)state;
    memset(buf, 0xAB, sizeof(buf));
    assert_int_equal(vsp_gmem_create(size, &mem), 0);
    /* Straddling the end: refused whole, the in-range part is not written. */
    assert_int_equal(vsp_gmem_write(mem, size - 8, buf, 16), PCIVIRT_ERANGE);
    assert_int_equal(vsp_gmem_resident_pages(mem), 0);
    assert_int_equal(vsp_gmem_read(mem, size - 16, buf, 16), 0);
    assert_memory_equal(buf, zero, 16);
    /* Wrap-around of gpa + len must not pass the check. */
    assert_int_equal(vsp_gmem_write(mem, UINT64_MAX - 3, buf, 8), PCIVIRT_ERANGE);
    assert_int_equal(vsp_gmem_read(mem, size, buf, 1), PCIVIRT_ERANGE);
    assert_int_equal(vsp_gmem_read(mem, 0, buf, 0), PCIVIRT_EINVAL);
    assert_int_equal(vsp_gmem_write(mem, 0, NULL, 4), PCIVIRT_EINVAL);
    assert_false(vsp_gmem_range_ok(mem, size - 1, 2));
    assert_true(vsp_gmem_range_ok(mem, size - 1, 1));
    vsp_gmem_destroy(mem);
}

static void
test_large_sparse(void **state)
{
    /* 1 TiB configured: only the top table is allocated up front. */
    const uint64_t size = 1ull << 40;
    uint64_t v = 0x1122334455667788ull, r = 0;
    struct vsp_gmem *mem;

    (void)state;
    assert_int_equal(vsp_gmem_create(size, &mem), 0);
    assert_int_equal(vsp_gmem_write(mem, size - 8, &v, 8), 0);
    assert_int_equal(vsp_gmem_write(mem, (1ull << 30) - 4, &v, 8), 0); /* crosses a 1 GiB table */
    assert_int_equal(vsp_gmem_resident_pages(mem), 3);
    assert_int_equal(vsp_gmem_read(mem, size - 8, &r, 8), 0);
    assert_int_equal(r, v);
    assert_int_equal(vsp_gmem_read(mem, (1ull << 30) - 4, &r, 8), 0);
    assert_int_equal(r, v);
    vsp_gmem_destroy(mem);
}

static void
test_alloc_failure_writes_nothing(void **state)
{
    uint8_t buf[2 * VSP_PAGE_SIZE], got[2 * VSP_PAGE_SIZE];
    struct vsp_gmem *mem;

    (void)state;
    memset(buf, 0x5A, sizeof(buf));
    assert_int_equal(vsp_gmem_create(16 * VSP_PAGE_SIZE, &mem), 0);
    /* Write spans two pages; fail on each allocation in turn. */
    for (long n = 0; n < 8; n++) {
        pv_alloc_fail_after(n, 0);
        int rc = vsp_gmem_write(mem, VSP_PAGE_SIZE / 2, buf, VSP_PAGE_SIZE + 16);
        pv_alloc_fail_after(-1, 0);
        if (rc == 0) {
            break;
        }
        assert_int_equal(rc, PCIVIRT_ENOMEM);
        assert_int_equal(vsp_gmem_read(mem, VSP_PAGE_SIZE / 2, got, VSP_PAGE_SIZE + 16), 0);
        for (size_t i = 0; i < VSP_PAGE_SIZE + 16; i++) {
            assert_int_equal(got[i], 0);
        }
    }
    assert_int_equal(vsp_gmem_read(mem, VSP_PAGE_SIZE / 2, got, VSP_PAGE_SIZE + 16), 0);
    assert_memory_equal(got, buf, VSP_PAGE_SIZE + 16);
    vsp_gmem_destroy(mem);
    /* Create unwinds cleanly too. */
    for (long n = 0; n < 2; n++) {
        mem = NULL;
        pv_alloc_fail_after(n, 0);
        assert_int_equal(vsp_gmem_create(VSP_PAGE_SIZE, &mem), PCIVIRT_ENOMEM);
        pv_alloc_fail_after(-1, 0);
        assert_null(mem);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_sizes),     cmocka_unit_test(test_shadow_random),
        cmocka_unit_test(test_out_of_range_touches_nothing), cmocka_unit_test(test_large_sparse),
        cmocka_unit_test(test_alloc_failure_writes_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
