/*
 * util/rwlock.h - a reader-writer lock whose readers do not share a cache line.
 *
 * Why it exists.  A pthread_rwlock_t keeps one reader count: every shared
 * acquisition and release is an atomic read-modify-write on the same cache line,
 * so two threads that only read bounce that line between their cores and are
 * together slower than one (docs/PERFORMANCE.md, benchmark 5: 0.8x).  Here a
 * reader counts itself in one of PV_RWLOCK_STRIPES counters, each on its own
 * cache line, chosen by the CPU it runs on (sched_getcpu(), a few ns with rseq);
 * readers on different CPUs write different lines and share only the writer
 * flag, which they read.  A writer (rare: writes, enable, FLR, rebalance) pays
 * instead: it raises the flag and waits until the counters sum to zero.
 *
 * Correctness in brief.  A reader increments its counter, then reads the flag;
 * a writer stores the flag, then reads the counters; all four are sequentially
 * consistent, so either the reader sees the flag (and steps aside until it
 * drops) or the writer sees the reader (and waits) - Dekker's argument.  The
 * reader's release decrement and the writer's loads of the counters order the
 * reader's critical section before the writer's; the writer's store that drops
 * the flag orders its section before the next reader's.  Readers remember their
 * stripe (util/rwlock.c), so a thread that migrates between lock and unlock
 * still decrements the counter it incremented.
 *
 * Writers are preferred: new readers step aside while a writer waits, so a
 * stream of readers cannot starve a rebalance.  Shared acquisitions may still
 * nest (a callback that re-enters under the shared lock, as glibc's rwlock
 * allows): a thread that already holds the lock shared passes the flag, because
 * its outer hold keeps every writer out anyway.  Upgrading (wrlock while holding
 * it shared) is a programming error.
 *
 * Cost: PV_RWLOCK_STRIPES x 64 bytes per lock - meant for a handful of
 * long-lived objects (a device, a PF driver instance), not one per VF.
 */
#ifndef PCIVIRT_UTIL_RWLOCK_H
#define PCIVIRT_UTIL_RWLOCK_H

#include <pthread.h>
#include <stdatomic.h>

#define PV_RWLOCK_STRIPES 16
#define PV_CACHE_LINE 64

struct pv_rwlock_stripe {
    atomic_uint readers; /* readers counted here, modulo 2^32 (see above) */
    char pad[PV_CACHE_LINE - sizeof(atomic_uint)];
};

struct pv_rwlock {
    char pad_before[PV_CACHE_LINE]; /* keep the counters off the owner's other fields */
    struct pv_rwlock_stripe stripe[PV_RWLOCK_STRIPES];
    atomic_int writer;     /* 1 while a writer holds or is taking the lock */
    pthread_mutex_t wlock; /* one writer at a time; held for the whole exclusive section */
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;   /* backed-off readers wait here for the flag to drop */
    pthread_cond_t writer_cond; /* a writer waits here for the last reader to leave */
    char pad_after[PV_CACHE_LINE];
};

/* pv_rwlock_init() - 0, or the pthread error code (nothing to destroy then). */
int pv_rwlock_init(struct pv_rwlock *l);

/* pv_rwlock_destroy() - release an initialised, unheld lock. */
void pv_rwlock_destroy(struct pv_rwlock *l);

/*
 * pv_rwlock_rdlock() - shared; may nest.  Writes only this CPU's counter (and the
 * calling thread's own table: at most 16 distinct locks held shared at once).
 */
void pv_rwlock_rdlock(struct pv_rwlock *l);

/* pv_rwlock_rdunlock() - end one shared acquisition; same thread, any CPU. */
void pv_rwlock_rdunlock(struct pv_rwlock *l);

/* pv_rwlock_wrlock() - exclusive; not recursive, and not while holding it shared. */
void pv_rwlock_wrlock(struct pv_rwlock *l);

/* pv_rwlock_wrunlock() - end the exclusive section. */
void pv_rwlock_wrunlock(struct pv_rwlock *l);

#endif /* PCIVIRT_UTIL_RWLOCK_H */
