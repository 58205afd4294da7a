/*
 * tests/vsp/test_intercept.c - the trapped-MMIO map against a brute-force oracle.
 *
 * The oracle keeps the ranges as given and answers "does page p of BAR b trap
 * reads/writes" by scanning them; the map must agree on every page after
 * random replacements.  A concurrent test checks the seqlock: a page trapped in
 * both the old and the new map is never seen untrapped while rebuilds run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdatomic.h>

#include <cmocka.h>

#include "util/alloc.h"
#include "vsp/intercept.h"

static unsigned
oracle(const SRIOV_MITIGATED_RANGES_OUTPUT *r, size_t n, uint64_t page)
{
    unsigned f = 0;

    for (size_t i = 0; i < n; i++) {
        if (page >= r[i].BasePageNumber && page < r[i].BasePageNumber + r[i].PageCount) {
            f |= (r[i].InterceptReads ? VSP_TRAP_READ : 0) | (r[i].InterceptWrites ? VSP_TRAP_WRITE : 0);
        }
    }
    return f;
}

static void
test_random_against_oracle(void **state)
{
    const uint64_t sizes[6] = {64 * 4096, 0, 16384, 0, 4096, 1ull << 33 /* 8 GiB: capped */};
    SRIOV_MITIGATED_RANGES_OUTPUT r[6][8];
    const SRIOV_MITIGATED_RANGES_OUTPUT *rp[6];
    ULONG counts[6];
    struct vsp_intercept_map *map;

    (void)state;
    assert_int_equal(vsp_intercept_create(sizes, &map), 0);
    assert_int_equal(vsp_intercept_lookup(map, 0, 0), 0);
    srand(11);
    for (int iter = 0; iter < 200; iter++) {
        for (unsigned b = 0; b < 6; b++) {
            uint64_t pages = sizes[b] / 4096 > (1u << 20) ? (1u << 20) : sizes[b] / 4096;

            counts[b] = pages == 0 ? 0 : (ULONG)(rand() % 4);
            rp[b] = r[b];
            for (ULONG i = 0; i < counts[b]; i++) {
                uint64_t base = (uint64_t)rand() % pages;
                uint64_t room = pages - base;

                r[b][i].BasePageNumber = base;
                r[b][i].PageCount = (ULONG)(1 + (uint64_t)rand() % (room < 40 ? room : 40));
                r[b][i].InterceptReads = (BOOLEAN)(rand() & 1);
                r[b][i].InterceptWrites = (BOOLEAN)(rand() & 1);
            }
        }
        assert_int_equal(vsp_intercept_replace(map, rp, counts, NULL), 0);
        assert_int_equal(vsp_intercept_generation(map), (uint64_t)iter + 1);
        for (unsigned b = 0; b < 5; b++) {
            uint64_t pages = sizes[b] / 4096, trapped = 0;

            for (uint64_t p = 0; p < pages; p++) {
                unsigned want = oracle(r[b], counts[b], p);

                trapped += want != 0;
                assert_int_equal(vsp_intercept_lookup(map, b, p * 4096 + (uint64_t)(rand() % 4096)), want);
            }
            assert_int_equal(vsp_intercept_trapped_pages(map, b), trapped);
        }
        /* BAR 5 spot checks around the ranges. */
        for (ULONG i = 0; i < counts[5]; i++) {
            uint64_t p = r[5][i].BasePageNumber;
            assert_int_equal(vsp_intercept_lookup(map, 5, p * 4096), oracle(r[5], counts[5], p));
            assert_int_equal(vsp_intercept_lookup(map, 5, (p + r[5][i].PageCount) * 4096),
                             oracle(r[5], counts[5], p + r[5][i].PageCount));
        }
    }
    /* Outside the map: nothing traps. */
    assert_int_equal(vsp_intercept_lookup(map, 6, 0), 0);
    assert_int_equal(vsp_intercept_lookup(map, 1, 0), 0);
    assert_int_equal(vsp_intercept_lookup(map, 0, 64 * 4096), 0);
    vsp_intercept_destroy(map);
    vsp_intercept_destroy(NULL);
}

static void
test_straddling_access(void **state)
{
    const uint64_t sizes[6] = {4 * 4096};
    SRIOV_MITIGATED_RANGES_OUTPUT r = {.BasePageNumber = 2, .PageCount = 1, .InterceptReads = 0, .InterceptWrites = 1};
    const SRIOV_MITIGATED_RANGES_OUTPUT *rp[6] = {&r};
    ULONG counts[6] = {1};
    struct vsp_intercept_map *map;

    (void)state;
    assert_int_equal(vsp_intercept_create(sizes, &map), 0);
    assert_int_equal(vsp_intercept_replace(map, rp, counts, NULL), 0);
    /* A write-only trap: reads of page 2 pass, writes trap. */
    assert_false(vsp_intercept_traps(map, 0, 2 * 4096, 4, false));
    assert_true(vsp_intercept_traps(map, 0, 2 * 4096 + 8, 4, true));
    /* An 8-byte write at 0x1ffc touches pages 1 and 2: trapped whole. */
    assert_true(vsp_intercept_traps(map, 0, 2 * 4096 - 4, 8, true));
    assert_false(vsp_intercept_traps(map, 0, 2 * 4096 - 8, 8, true));
    assert_false(vsp_intercept_traps(map, 0, 3 * 4096, 8, true));
    vsp_intercept_clear(map);
    assert_false(vsp_intercept_traps(map, 0, 2 * 4096, 4, true));
    vsp_intercept_destroy(map);
}

static void
test_refused_update_keeps_old_map(void **state)
{
    const uint64_t sizes[6] = {8 * 4096, 4096};
    SRIOV_MITIGATED_RANGES_OUTPUT good = {
        .BasePageNumber = 1, .PageCount = 2, .InterceptReads = 1, .InterceptWrites = 1};
    SRIOV_MITIGATED_RANGES_OUTPUT bad[4] = {
        {.BasePageNumber = 7, .PageCount = 2, .InterceptReads = 1},              /* past the end */
        {.BasePageNumber = 0, .PageCount = 0, .InterceptReads = 1},              /* empty */
        {.BasePageNumber = UINT64_MAX, .PageCount = 2, .InterceptReads = 1},     /* wraps */
        {.BasePageNumber = 0, .PageCount = (1u << 19) + 1, .InterceptReads = 1}, /* > 2 GiB */
    };
    const SRIOV_MITIGATED_RANGES_OUTPUT *rp[6] = {&good};
    ULONG counts[6] = {1};
    struct pcivirt_error err;
    struct vsp_intercept_map *map;
    const int want[4] = {PCIVIRT_ERANGE, PCIVIRT_EINVAL, PCIVIRT_ERANGE, PCIVIRT_EINVAL};

    (void)state;
    assert_int_equal(vsp_intercept_create(sizes, &map), 0);
    assert_int_equal(vsp_intercept_replace(map, rp, counts, NULL), 0);
    for (int i = 0; i < 4; i++) {
        const SRIOV_MITIGATED_RANGES_OUTPUT *brp[6] = {&good, &bad[i]};
        ULONG bcounts[6] = {1, 1};

        pcivirt_error_clear(&err);
        assert_int_equal(vsp_intercept_replace(map, brp, bcounts, &err), want[i]);
        assert_non_null(strstr(err.message, "BAR 1 range 0"));
        assert_int_equal(vsp_intercept_lookup(map, 0, 4096), VSP_TRAP_READ | VSP_TRAP_WRITE);
    }
    /* A range on a BAR the VF does not have. */
    const SRIOV_MITIGATED_RANGES_OUTPUT *nrp[6] = {NULL, NULL, &good};
    ULONG ncounts[6] = {0, 0, 1};
    assert_int_equal(vsp_intercept_replace(map, nrp, ncounts, NULL), PCIVIRT_ERANGE);
    ULONG nulls[6] = {0, 0, 0, 1};
    assert_int_equal(vsp_intercept_replace(map, nrp, nulls, NULL), PCIVIRT_EINVAL);
    assert_int_equal(vsp_intercept_generation(map), 1);
    vsp_intercept_destroy(map);
}

struct race {
    struct vsp_intercept_map *map;
    _Atomic int stop;
    _Atomic long misses;
    _Atomic long lookups;
};

static void *
reader(void *arg)
{
    struct race *rc = arg;

    while (!atomic_load(&rc->stop)) {
        /* Page 5 traps writes in both maps the writer alternates between. */
        if ((vsp_intercept_lookup(rc->map, 0, 5 * 4096) & VSP_TRAP_WRITE) == 0) {
            atomic_fetch_add(&rc->misses, 1);
        }
        atomic_fetch_add(&rc->lookups, 1);
    }
    return NULL;
}

static void
test_concurrent_rebuild(void **state)
{
    const uint64_t sizes[6] = {256 * 4096};
    SRIOV_MITIGATED_RANGES_OUTPUT a = {.BasePageNumber = 0, .PageCount = 200, .InterceptWrites = 1};
    SRIOV_MITIGATED_RANGES_OUTPUT b = {.BasePageNumber = 5, .PageCount = 1, .InterceptReads = 1, .InterceptWrites = 1};
    const SRIOV_MITIGATED_RANGES_OUTPUT *ra[6] = {&a}, *rb[6] = {&b};
    ULONG counts[6] = {1};
    struct race rc = {0};
    pthread_t t;

    (void)state;
    assert_int_equal(vsp_intercept_create(sizes, &rc.map), 0);
    assert_int_equal(vsp_intercept_replace(rc.map, ra, counts, NULL), 0);
    assert_int_equal(pthread_create(&t, NULL, reader, &rc), 0);
    for (int i = 0; i < 20000 || atomic_load(&rc.lookups) < 1000; i++) {
        assert_int_equal(vsp_intercept_replace(rc.map, i % 2 ? ra : rb, counts, NULL), 0);
    }
    atomic_store(&rc.stop, 1);
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&rc.misses), 0);
    vsp_intercept_destroy(rc.map);
}

static void
test_create_failures(void **state)
{
    const uint64_t sizes[6] = {1u << 20, 1u << 20, 1u << 20}; /* beyond the inline word */
    struct vsp_intercept_map *map;

    (void)state;
    for (long n = 0; n < 4; n++) {
        map = NULL;
        pv_alloc_fail_after(n, 0);
        assert_int_equal(vsp_intercept_create(sizes, &map), PCIVIRT_ENOMEM);
        pv_alloc_fail_after(-1, 0);
        assert_null(map);
    }
    assert_int_equal(vsp_intercept_create(NULL, &map), PCIVIRT_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_oracle),
        cmocka_unit_test(test_straddling_access),
        cmocka_unit_test(test_refused_update_keeps_old_map),
        cmocka_unit_test(test_concurrent_rebuild),
        cmocka_unit_test(test_create_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
