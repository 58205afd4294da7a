/*
 * util/rwlock.c - the striped reader-writer lock (see util/rwlock.h for why and
 * for the correctness argument).
 *
 * Each thread remembers, in a small thread-local table, the locks it holds
 * shared, with the depth and the stripe it counted itself in.  That table is
 * what lets a nested shared acquisition pass a waiting writer (the outer one is
 * already counted, so no writer can be inside) and lets unlock find its stripe
 * without asking for the CPU again.  It is per-thread bookkeeping keyed by lock,
 * so two locks - or two devices - never see each other's entries.
 *
 * A writer raises its flag and then waits until every stripe reads zero: a
 * short spin (readers hold the lock for a config or register access), then a
 * sleep on a condition variable that a reader leaving while the flag is up
 * signals - so a reader preempted while counted gets the CPU back instead of a
 * writer spinning through its time slice.  New readers step aside while the
 * flag is up, so a stream of readers cannot starve a writer.
 */
#include "util/rwlock.h"

#include <assert.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#define WRITER_PAUSES 64  /* spins before a waiting writer sleeps */
#define HELD_MAX 16       /* distinct locks one thread holds shared at once */
#define STRIPE_RECHECK 64 /* acquisitions between two sched_getcpu() calls */

struct held {
    const struct pv_rwlock *lock;
    unsigned depth;
    unsigned stripe;
};

static _Thread_local struct held held[HELD_MAX];
static _Thread_local unsigned nheld;
static _Thread_local unsigned stripe_cached, stripe_uses;

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/*
 * The stripe of the CPU we run on.  sched_getcpu() is a few ns even with rseq,
 * so a thread asks again only every STRIPE_RECHECK acquisitions: a thread that
 * migrated keeps writing its old CPU's line for a while, which costs a cache miss
 * or two, never correctness (each hold remembers its own stripe).
 */
static inline unsigned
my_stripe(void)
{
    if ((stripe_uses++ % STRIPE_RECHECK) == 0) {
        int cpu = sched_getcpu();

        stripe_cached = cpu < 0 ? 0u : (unsigned)cpu % PV_RWLOCK_STRIPES;
    }
    return stripe_cached;
}

/* The hold of @l by this thread; the newest first, as locks are released in reverse order. */
static inline struct held *
find_held(const struct pv_rwlock *l)
{
    for (unsigned i = nheld; i-- > 0;) {
        if (held[i].lock == l) {
            return &held[i];
        }
    }
    return NULL;
}

int
pv_rwlock_init(struct pv_rwlock *l)
{
    int rc;

    for (unsigned i = 0; i < PV_RWLOCK_STRIPES; i++) {
        atomic_init(&l->stripe[i].readers, 0);
    }
    atomic_init(&l->writer, 0);
    rc = pthread_mutex_init(&l->wlock, NULL);
    if (rc != 0) {
        return rc;
    }
    rc = pthread_mutex_init(&l->wait_lock, NULL);
    if (rc != 0) {
        goto err_wlock;
    }
    rc = pthread_cond_init(&l->wait_cond, NULL);
    if (rc != 0) {
        goto err_wait_lock;
    }
    rc = pthread_cond_init(&l->writer_cond, NULL);
    if (rc != 0) {
        goto err_wait_cond;
    }
    return 0;

err_wait_cond:
    pthread_cond_destroy(&l->wait_cond);
err_wait_lock:
    pthread_mutex_destroy(&l->wait_lock);
err_wlock:
    pthread_mutex_destroy(&l->wlock);
    return rc;
}

void
pv_rwlock_destroy(struct pv_rwlock *l)
{
    pthread_cond_destroy(&l->writer_cond);
    pthread_cond_destroy(&l->wait_cond);
    pthread_mutex_destroy(&l->wait_lock);
    pthread_mutex_destroy(&l->wlock);
}

/* Count ourselves in a stripe with the flag down; returns the stripe. */
static unsigned
enter_shared(struct pv_rwlock *l)
{
    for (;;) {
        unsigned s = my_stripe();
        atomic_uint *n = &l->stripe[s].readers;

        atomic_fetch_add_explicit(n, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&l->writer, memory_order_seq_cst) == 0) {
            return s;
        }
        /* A writer is in or coming: step aside until its flag drops. */
        atomic_fetch_sub_explicit(n, 1, memory_order_release);
        pthread_mutex_lock(&l->wait_lock);
        pthread_cond_broadcast(&l->writer_cond); /* the writer may have counted us before it slept */
        while (atomic_load_explicit(&l->writer, memory_order_acquire) != 0) {
            pthread_cond_wait(&l->wait_cond, &l->wait_lock);
        }
        pthread_mutex_unlock(&l->wait_lock);
    }
}

void
pv_rwlock_rdlock(struct pv_rwlock *l)
{
    struct held *h = find_held(l);

    if (h != NULL) {
        h->depth++; /* nested: already counted, no writer can be inside */
        return;
    }
    assert(nheld < HELD_MAX);
    h = &held[nheld];
    h->stripe = enter_shared(l);
    h->lock = l;
    h->depth = 1;
    nheld++;
}

void
pv_rwlock_rdunlock(struct pv_rwlock *l)
{
    struct held *h = find_held(l);

    assert(h != NULL);
    if (h == NULL || --h->depth != 0) {
        return;
    }
    atomic_fetch_sub_explicit(&l->stripe[h->stripe].readers, 1, memory_order_seq_cst);
    *h = held[--nheld];
    if (atomic_load_explicit(&l->writer, memory_order_seq_cst) != 0) {
        /* A writer may be asleep waiting for the last reader (Dekker with pv_rwlock_wrlock()). */
        pthread_mutex_lock(&l->wait_lock);
        pthread_cond_broadcast(&l->writer_cond);
        pthread_mutex_unlock(&l->wait_lock);
    }
}

static bool
no_readers(struct pv_rwlock *l)
{
    for (unsigned i = 0; i < PV_RWLOCK_STRIPES; i++) {
        if (atomic_load_explicit(&l->stripe[i].readers, memory_order_seq_cst) != 0) {
            return false;
        }
    }
    return true;
}

void
pv_rwlock_wrlock(struct pv_rwlock *l)
{
    assert(find_held(l) == NULL); /* upgrading a shared hold would wait for ourselves */
    pthread_mutex_lock(&l->wlock);
    atomic_store_explicit(&l->writer, 1, memory_order_seq_cst);
    for (unsigned i = 0; i < WRITER_PAUSES; i++) {
        if (no_readers(l)) {
            return;
        }
        cpu_relax();
    }
    /* A reader is slow (or preempted while counted): sleep until a reader leaving wakes us. */
    pthread_mutex_lock(&l->wait_lock);
    while (!no_readers(l)) {
        pthread_cond_wait(&l->writer_cond, &l->wait_lock);
    }
    pthread_mutex_unlock(&l->wait_lock);
}

void
pv_rwlock_wrunlock(struct pv_rwlock *l)
{
    pthread_mutex_lock(&l->wait_lock);
    atomic_store_explicit(&l->writer, 0, memory_order_seq_cst);
    pthread_cond_broadcast(&l->wait_cond);
    pthread_mutex_unlock(&l->wait_lock);
    pthread_mutex_unlock(&l->wlock);
}
