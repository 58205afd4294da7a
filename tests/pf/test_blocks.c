/*
 * tests/pf/test_blocks.c - the config-block store and invalidation coalescing
 * (contract.md 4.7, 6.3, 10.4).
 *
 * Oracles: the contract's bounds (1..128 accepted, 0 and 129 refused), "fill all
 * Length bytes, zero-padded", and for coalescing a shadow model: every posted bit
 * must come out of take() exactly as an OR per VF (or covered by an ALL_VFS
 * delivery), never dropped, never invented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pf/blocks.h"
#include "pf/inval.h"

struct seen {
    unsigned calls;
    uint16_t vf;
    uint64_t mask;
    unsigned writes;
};

static void
on_changed(void *ctx, uint16_t vf, uint64_t mask)
{
    struct seen *s = ctx;

    s->calls++;
    s->vf = vf;
    s->mask = mask;
}

static void
on_written(void *ctx, uint16_t vf, uint32_t id, const void *data, uint32_t length)
{
    ((struct seen *)ctx)->writes++;
}

static void
test_block_bounds(void **state)
{
    struct seen s = {0};
    struct pf_blocks *b;
    uint8_t buf[200];

    assert_int_equal(pf_blocks_create(4, on_changed, on_written, &s, &b), STATUS_SUCCESS);
    assert_int_equal(pf_blocks_define(b, 0, true), STATUS_SUCCESS);
    memset(buf, 0xAB, sizeof(buf));
    assert_int_equal(pf_blocks_write(b, 0, 0, buf, 128), STATUS_SUCCESS);
    assert_int_equal(pf_blocks_write(b, 0, 0, buf, 1), STATUS_SUCCESS);
    assert_int_equal(pf_blocks_write(b, 0, 0, buf, 129), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_blocks_write(b, 0, 0, buf, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_blocks_read(b, 0, 0, buf, 129), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_blocks_read(b, 0, 0, buf, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_blocks_read(b, 4, 0, buf, 8), STATUS_INVALID_PARAMETER); /* VfIndex == NumVFs */
    assert_int_equal(pf_blocks_read(b, 0, 7, buf, 8), STATUS_INVALID_PARAMETER); /* undeclared id */
    assert_int_equal(pf_blocks_read(b, 0, 0, NULL, 8), STATUS_INVALID_PARAMETER);
    assert_int_equal(s.writes, 2);
    pf_blocks_destroy(b);
    pf_blocks_destroy(NULL);
}

static void
test_block_padding_and_isolation(void **state)
{
    struct seen s = {0};
    struct pf_blocks *b;
    uint8_t buf[128], expect[128] = {0};
    const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

    assert_int_equal(pf_blocks_create(3, on_changed, NULL, &s, &b), STATUS_SUCCESS);
    assert_int_equal(pf_blocks_define(b, 5, false), STATUS_SUCCESS);
    assert_int_equal(pf_blocks_define(b, 100, true), STATUS_SUCCESS);
    assert_int_equal(pf_blocks_set(b, 2, 5, mac, 6), STATUS_SUCCESS);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.vf, 2);
    assert_int_equal(s.mask, 1ull << 5);
    memset(buf, 0xEE, sizeof(buf));
    assert_int_equal(pf_blocks_read(b, 2, 5, buf, 128), STATUS_SUCCESS);
    memcpy(expect, mac, 6);
    assert_memory_equal(buf, expect, 128); /* zero-padded to Length */
    assert_int_equal(pf_blocks_read(b, 1, 5, buf, 16), STATUS_SUCCESS);
    memset(expect, 0, sizeof(expect));
    assert_memory_equal(buf, expect, 16); /* other VFs unaffected */
    /* A VF cannot write a block the PF declared read-only. */
    assert_int_equal(pf_blocks_write(b, 2, 5, buf, 6), STATUS_NOT_SUPPORTED);
    /* Ids >= 64 are allowed but never invalidated. */
    assert_int_equal(pf_blocks_set(b, 0, 100, mac, 6), STATUS_SUCCESS);
    assert_int_equal(s.calls, 1);
    /* ALL_VFS default; a VF's own copy is dropped by it. */
    assert_int_equal(pf_blocks_set(b, SRIOV_INVALIDATE_BLOCK_ALL_VFS, 5, "\x01\x02", 2), STATUS_SUCCESS);
    assert_int_equal(s.vf, SRIOV_INVALIDATE_BLOCK_ALL_VFS);
    assert_int_equal(pf_blocks_read(b, 2, 5, buf, 4), STATUS_SUCCESS);
    assert_memory_equal(buf, "\x01\x02\x00\x00", 4);
    pf_blocks_reset_vf(b, 0);
    assert_int_equal(pf_blocks_read(b, 0, 100, buf, 2), STATUS_SUCCESS);
    assert_memory_equal(buf, "\x00\x00", 2);
    pf_blocks_destroy(b);
}

static void
test_inval_coalescing(void **state)
{
    struct pf_inval *c = pf_inval_create(5);
    uint16_t vf;
    uint64_t mask;

    assert_non_null(c);
    assert_false(pf_inval_take(c, &vf, &mask));
    pf_inval_post(c, 3, 1);
    pf_inval_post(c, 3, 4);
    pf_inval_post(c, 1, 2);
    assert_false(pf_inval_post(c, 5, 1)); /* out of range: ignored */
    assert_true(pf_inval_take(c, &vf, &mask));
    assert_int_equal(vf, 1);
    assert_int_equal(mask, 2);
    assert_true(pf_inval_take(c, &vf, &mask));
    assert_int_equal(vf, 3);
    assert_int_equal(mask, 5); /* OR-ed */
    assert_false(pf_inval_pending(c));
    /* ALL_VFS first, and it absorbs covered per-VF bits. */
    pf_inval_post(c, 2, 0x3);
    pf_inval_post(c, SRIOV_INVALIDATE_BLOCK_ALL_VFS, 0x1);
    assert_true(pf_inval_take(c, &vf, &mask));
    assert_int_equal(vf, SRIOV_INVALIDATE_BLOCK_ALL_VFS);
    assert_int_equal(mask, 1);
    assert_true(pf_inval_take(c, &vf, &mask));
    assert_int_equal(vf, 2);
    assert_int_equal(mask, 2);
    assert_false(pf_inval_take(c, &vf, &mask));
    pf_inval_destroy(c);
}

/* Random posts against a shadow: delivered bits == posted bits, per VF. */
static void
test_inval_shadow(void **state)
{
    enum { N = 130 };
    struct pf_inval *c = pf_inval_create(N);
    uint64_t posted[N] = {0}, got[N] = {0}, all_posted = 0, all_got = 0;
    uint16_t vf;
    uint64_t mask;

    srand(7);
    for (int round = 0; round < 20000; round++) {
        if (rand() % 3 != 0) {
            uint16_t v = (uint16_t)(rand() % 50 == 0 ? SRIOV_INVALIDATE_BLOCK_ALL_VFS : rand() % N);
            uint64_t m = 1ull << (rand() % 64);

            pf_inval_post(c, v, m);
            if (v == SRIOV_INVALIDATE_BLOCK_ALL_VFS) {
                all_posted |= m;
            } else {
                posted[v] |= m;
            }
        } else if (pf_inval_take(c, &vf, &mask)) {
            assert_int_not_equal(mask, 0);
            if (vf == SRIOV_INVALIDATE_BLOCK_ALL_VFS) {
                all_got |= mask;
                for (unsigned i = 0; i < N; i++) {
                    got[i] |= mask;
                }
            } else {
                assert_true(vf < N);
                assert_int_equal(mask & ~posted[vf], 0); /* nothing invented */
                got[vf] |= mask;
            }
        }
    }
    while (pf_inval_take(c, &vf, &mask)) {
        if (vf == SRIOV_INVALIDATE_BLOCK_ALL_VFS) {
            all_got |= mask;
            for (unsigned i = 0; i < N; i++) {
                got[i] |= mask;
            }
        } else {
            got[vf] |= mask;
        }
    }
    assert_int_equal(all_got, all_posted);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(posted[i] & ~got[i], 0); /* nothing dropped */
    }
    pf_inval_destroy(c);
}

/* Round-robin: one VF posting again and again does not starve the others. */
static void
test_inval_fair(void **state)
{
    struct pf_inval *c = pf_inval_create(200);
    uint16_t vf;
    uint64_t mask;
    int seen_199 = 0;

    pf_inval_post(c, 199, 1);
    for (int i = 0; i < 5 && !seen_199; i++) {
        pf_inval_post(c, 0, 1);
        assert_true(pf_inval_take(c, &vf, &mask));
        seen_199 = vf == 199;
    }
    assert_true(seen_199);
    pf_inval_destroy(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_bounds),     cmocka_unit_test(test_block_padding_and_isolation),
        cmocka_unit_test(test_inval_coalescing), cmocka_unit_test(test_inval_shadow),
        cmocka_unit_test(test_inval_fair),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
