/*
 * tests/dev/test_concurrent_reads.c - the device's read path under concurrent
 * writers (the striped reader lock, util/rwlock.h): readers never see a torn
 * config range, never see a VF after its disable returned (nor miss it after
 * enable returned), and register reads stay whole while resources are
 * reassigned.  Run under TSan by `make tsan`; nothing here measures time.
 *
 * The oracles are the device's own states taken single-threaded beforehand
 * (state A after one write, state B after the other, and the state an FLR
 * gives, which must equal B), so a read that mixes two states, or a state that
 * no write produced, fails.
 */
#include "dev_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "dev/regs.h"

#define VF0 0x0380
#define NVFS 8
#define RANGE_OFF 0x04 /* Command .. MSI-X Message Control: one write covers both */
#define RANGE_LEN (0x54 - RANGE_OFF)
#define ROUNDS 3000

struct world {
    struct pv_sriov_dev *dev;
    uint8_t a[RANGE_LEN], b[RANGE_LEN]; /* what a reader may see */
    uint8_t wa[RANGE_LEN], wb[RANGE_LEN];
    atomic_bool stop;
    atomic_uint phase; /* %4: 0 enabled, 1 disabling, 2 disabled, 3 enabling */
    atomic_uint torn, stale, stable_on, stable_off, reads;
};

static uint16_t
vf_rid(unsigned k)
{
    return (uint16_t)(VF0 + 2 * k);
}

/* Two write images: Bus Master + MSI-X Enable + Function Mask, and all clear. */
static void
make_images(struct world *w)
{
    memset(w->wa, 0, sizeof(w->wa));
    memset(w->wb, 0, sizeof(w->wb));
    le16_put(w->wa + (PCI_COMMAND - RANGE_OFF), PCI_COMMAND_MASTER);
    le16_put(w->wa + (0x50 + PCI_MSIX_FLAGS - RANGE_OFF), PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
}

static void *
range_reader(void *arg)
{
    struct world *w = arg;
    unsigned seed = 7;

    while (!atomic_load(&w->stop)) {
        uint8_t got[RANGE_LEN];

        int rc = pv_sriov_config_read(w->dev, vf_rid(rand_r(&seed) % 2), RANGE_OFF, got, RANGE_LEN);

        if (rc != 0 || (memcmp(got, w->a, RANGE_LEN) != 0 && memcmp(got, w->b, RANGE_LEN) != 0)) {
            atomic_fetch_add(&w->torn, 1);
        }
        atomic_fetch_add(&w->reads, 1);
    }
    return NULL;
}

/* Wait (bounded, no timing) until the readers made some progress. */
static void
let_readers_run(struct world *w)
{
    unsigned start = atomic_load(&w->reads);

    for (unsigned i = 0; i < 100000 && atomic_load(&w->reads) - start < 2; i++) {
        sched_yield();
    }
}

static void
test_no_torn_config_reads(void **state)
{
    static struct world w;
    struct pv_profile p;
    pthread_t t[2];

    (void)state;
    memset(&w, 0, sizeof(w));
    make_images(&w);
    pv_profile_default(&p);
    assert_int_equal(pv_sriov_create(&p, &w.dev, NULL), 0);
    assert_int_equal(pv_sriov_enable(w.dev, NVFS, NULL), 0);
    /* The oracle states, single-threaded: A, then B, then an FLR must give B again. */
    assert_int_equal(pv_sriov_config_write(w.dev, vf_rid(0), RANGE_OFF, w.wa, RANGE_LEN), 0);
    assert_int_equal(pv_sriov_config_read(w.dev, vf_rid(0), RANGE_OFF, w.a, RANGE_LEN), 0);
    assert_int_equal(pv_sriov_config_write(w.dev, vf_rid(0), RANGE_OFF, w.wb, RANGE_LEN), 0);
    assert_int_equal(pv_sriov_config_read(w.dev, vf_rid(0), RANGE_OFF, w.b, RANGE_LEN), 0);
    assert_memory_not_equal(w.a, w.b, RANGE_LEN);
    assert_int_equal(le16_get(w.a + (PCI_COMMAND - RANGE_OFF)) & PCI_COMMAND_MASTER, PCI_COMMAND_MASTER);
    assert_int_equal(pv_sriov_config_write(w.dev, vf_rid(0), RANGE_OFF, w.wa, RANGE_LEN), 0);
    assert_int_equal(pv_sriov_function_reset(w.dev, vf_rid(0)), 0);
    {
        uint8_t after_flr[RANGE_LEN];

        assert_int_equal(pv_sriov_config_read(w.dev, vf_rid(0), RANGE_OFF, after_flr, RANGE_LEN), 0);
        assert_memory_equal(after_flr, w.b, RANGE_LEN);
    }

    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, range_reader, &w), 0);
    }
    for (unsigned i = 0; i < ROUNDS; i++) {
        uint16_t rid = vf_rid(i % 2);

        assert_int_equal(pv_sriov_config_write(w.dev, rid, RANGE_OFF, w.wa, RANGE_LEN), 0);
        let_readers_run(&w);
        if (i % 3 == 0) {
            assert_int_equal(pv_sriov_function_reset(w.dev, rid), 0); /* FLR: back to B */
        } else {
            assert_int_equal(pv_sriov_config_write(w.dev, rid, RANGE_OFF, w.wb, RANGE_LEN), 0);
        }
    }
    atomic_store(&w.stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(atomic_load(&w.torn), 0);
    assert_true(atomic_load(&w.reads) >= ROUNDS);
    pv_sriov_destroy(w.dev);
}

/* Class code and revision (offset 0x08): a VF's equal the PF's (device-model.md 3.1). */
static void *
phase_reader(void *arg)
{
    struct world *w = arg;
    uint32_t class_rev = 0;
    unsigned seed = 11;
    uint8_t b[4];

    pv_sriov_config_read(w->dev, pv_sriov_profile(w->dev)->pf_rid, PCI_REVISION_ID, b, 4);
    class_rev = le32_get(b);
    while (!atomic_load(&w->stop)) {
        unsigned p1 = atomic_load(&w->phase), p2;
        uint32_t v;

        pv_sriov_config_read(w->dev, vf_rid(rand_r(&seed) % NVFS), PCI_REVISION_ID, b, 4);
        p2 = atomic_load(&w->phase);
        v = le32_get(b);
        if (p1 == p2 && p1 % 4 == 2) {
            atomic_fetch_add(&w->stable_off, 1);
            atomic_fetch_add(&w->stale, v != 0xffffffffu); /* read after disable returned */
        } else if (p1 == p2 && p1 % 4 == 0) {
            atomic_fetch_add(&w->stable_on, 1);
            atomic_fetch_add(&w->stale, v != class_rev); /* read after enable returned */
        } else {
            atomic_fetch_add(&w->torn, v != 0xffffffffu && v != class_rev);
        }
        atomic_fetch_add(&w->reads, 1);
    }
    return NULL;
}

static void
test_disable_is_seen_at_once(void **state)
{
    static struct world w;
    struct pv_profile p;
    pthread_t t[2];

    (void)state;
    memset(&w, 0, sizeof(w));
    pv_profile_default(&p);
    assert_int_equal(pv_sriov_create(&p, &w.dev, NULL), 0);
    assert_int_equal(pv_sriov_enable(w.dev, NVFS, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, phase_reader, &w), 0);
    }
    for (unsigned i = 0; i < ROUNDS; i++) {
        let_readers_run(&w);
        atomic_fetch_add(&w.phase, 1); /* disabling */
        pv_sriov_disable(w.dev);
        atomic_fetch_add(&w.phase, 1); /* disabled: every read from now on is all-ones */
        let_readers_run(&w);
        atomic_fetch_add(&w.phase, 1); /* enabling */
        assert_int_equal(pv_sriov_enable(w.dev, NVFS, NULL), 0);
        atomic_fetch_add(&w.phase, 1); /* enabled */
    }
    atomic_store(&w.stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(atomic_load(&w.stale), 0);
    assert_int_equal(atomic_load(&w.torn), 0);
    /* The test saw both stable states, so it could have failed in either. */
    assert_true(atomic_load(&w.stable_on) > 0);
    assert_true(atomic_load(&w.stable_off) > 0);
    pv_sriov_destroy(w.dev);
}

struct rebal {
    struct pv_sriov_dev *dev;
    atomic_bool stop;
    atomic_uint bad, reads;
};

static void *
register_reader(void *arg)
{
    struct rebal *r = arg;
    unsigned seed = 3;

    while (!atomic_load(&r->stop)) {
        uint8_t b[4];
        int rc = pv_sriov_mmio_read(r->dev, vf_rid(rand_r(&seed) % NVFS), 0, SWVF_REG_ID, b, 4);

        /* Whole: the magic, or (not decoding) all-ones with an error - never a mix. */
        if (rc == 0 ? le32_get(b) != SWVF_ID_MAGIC : le32_get(b) != 0xffffffffu) {
            atomic_fetch_add(&r->bad, 1);
        }
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void
test_register_reads_across_rebalance(void **state)
{
    static struct rebal r;
    struct pv_profile p;
    struct pv_platform *plat;
    pthread_t t[2];

    (void)state;
    memset(&r, 0, sizeof(r));
    pv_profile_default(&p);
    assert_int_equal(pv_sriov_create(&p, &r.dev, NULL), 0);
    assert_int_equal(pv_platform_create(NULL, &plat), 0);
    assert_int_equal(pv_sriov_assign_resources(r.dev, plat, NULL), 0);
    assert_int_equal(pv_sriov_enable(r.dev, NVFS, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, register_reader, &r), 0);
    }
    for (unsigned i = 0; i < ROUNDS / 10; i++) {
        unsigned start = atomic_load(&r.reads);

        assert_int_equal(pv_sriov_assign_resources(r.dev, plat, NULL), 0);
        for (unsigned k = 0; k < 100000 && atomic_load(&r.reads) - start < 2; k++) {
            sched_yield();
        }
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(atomic_load(&r.bad), 0);
    assert_true(atomic_load(&r.reads) > 0);
    pv_sriov_destroy(r.dev);
    pv_platform_destroy(plat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_torn_config_reads),
        cmocka_unit_test(test_disable_is_seen_at_once),
        cmocka_unit_test(test_register_reads_across_rebalance),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
