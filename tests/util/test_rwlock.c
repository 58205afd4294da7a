/*
 * tests/util/test_rwlock.c - the striped reader-writer lock (util/rwlock.h):
 * exclusion between writers and readers (a two-word invariant no reader may see
 * broken, and plain - non-atomic - data, so TSan reports any missing
 * happens-before), nested shared acquisition while writers wait (must not
 * deadlock), and readers that migrate between CPUs.  `make tsan` runs it under
 * ThreadSanitizer.  No timing is asserted.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/rwlock.h"

#define WRITES 20000

struct shared {
    struct pv_rwlock lock;
    uint64_t x, y; /* plain data: y == 2 * x whenever the lock is free */
    atomic_bool stop;
    atomic_uint broken, reads, nested;
};

static void
check_pair(struct shared *s)
{
    if (s->y != 2 * s->x) {
        atomic_fetch_add(&s->broken, 1);
    }
}

static void *
reader(void *arg)
{
    struct shared *s = arg;
    unsigned n = 0;

    while (!atomic_load(&s->stop)) {
        pv_rwlock_rdlock(&s->lock);
        check_pair(s);
        if (++n % 8 == 0) {
            /* Nested shared acquisition (a callback re-entering), maybe after a migration. */
            sched_yield();
            pv_rwlock_rdlock(&s->lock);
            check_pair(s);
            pv_rwlock_rdunlock(&s->lock);
            atomic_fetch_add(&s->nested, 1);
        }
        pv_rwlock_rdunlock(&s->lock);
        atomic_fetch_add(&s->reads, 1);
    }
    return NULL;
}

static void *
writer(void *arg)
{
    struct shared *s = arg;

    for (unsigned i = 0; i < WRITES; i++) {
        pv_rwlock_wrlock(&s->lock);
        check_pair(s);
        s->x++;
        s->y = 2 * s->x;
        pv_rwlock_wrunlock(&s->lock);
        if (i % 64 == 0) {
            sched_yield(); /* let readers in between, so writers meet readers mid-nesting */
        }
    }
    return NULL;
}

static void
test_exclusion_and_nesting(void **state)
{
    static struct shared s;
    pthread_t r[3], w[2];

    (void)state;
    assert_int_equal(pv_rwlock_init(&s.lock), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&r[i], NULL, reader, &s), 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&w[i], NULL, writer, &s), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(w[i], NULL);
    }
    atomic_store(&s.stop, true);
    for (int i = 0; i < 3; i++) {
        pthread_join(r[i], NULL);
    }
    assert_int_equal(atomic_load(&s.broken), 0);
    assert_int_equal(s.x, 2 * WRITES); /* no writer's increment lost: writers excluded each other */
    assert_int_equal(s.y, 4 * WRITES);
    print_message("%u reads, %u nested, while %u writes\n", atomic_load(&s.reads), atomic_load(&s.nested), 2 * WRITES);
    assert_true(atomic_load(&s.reads) > 0);
    assert_true(atomic_load(&s.nested) > 0);
    pv_rwlock_destroy(&s.lock);
}

/* With no writer, readers on every CPU leave every counter's sum at zero: a writer gets in at once. */
static void
test_writer_after_migrating_readers(void **state)
{
    struct pv_rwlock l;
    unsigned ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set, orig;

    (void)state;
    assert_int_equal(sched_getaffinity(0, sizeof(orig), &orig), 0);
    assert_int_equal(pv_rwlock_init(&l), 0);
    for (unsigned c = 0; c < ncpu && c < 64; c++) {
        CPU_ZERO(&set);
        CPU_SET(c, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0) {
            continue;
        }
        pv_rwlock_rdlock(&l);
        CPU_ZERO(&set);
        CPU_SET((c + 1) % ncpu, &set);
        (void)sched_setaffinity(0, sizeof(set), &set); /* unlock on another CPU */
        pv_rwlock_rdunlock(&l);
    }
    assert_int_equal(sched_setaffinity(0, sizeof(orig), &orig), 0);
    pv_rwlock_wrlock(&l);
    pv_rwlock_wrunlock(&l);
    pv_rwlock_destroy(&l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exclusion_and_nesting),
        cmocka_unit_test(test_writer_after_migrating_readers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
