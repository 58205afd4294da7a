/*
 * tests/stress/watchdog.h - the stress test's deadlock detector.
 *
 * Why it is shaped so.  A deadlock in a threaded test shows up as ctest's
 * 300-second timeout with nothing to go on.  Here every thread of the test
 * registers a slot and publishes, in atomics, a phase ("guest: config block
 * read", "chaos: waiting for the rebalance") and a progress counter it bumps
 * whenever it gets something done.  The watchdog thread samples the slots every
 * 50 ms; a thread that is neither idle on purpose (parked by the chaos thread,
 * finished) nor making progress for @stall_ms is stuck: the watchdog prints
 * every thread's name, phase, progress and the time since its last progress,
 * marks the stuck ones, and ends the process with WD_EXIT_STUCK - a failed
 * test, not a hang.  It cannot be done with cmocka's assertions: they longjmp
 * and may only run on the test's own thread, and the thread that would have to
 * fail is the one that is stuck.
 *
 * The phase strings must be static (the watchdog reads them at any time).
 */
#ifndef PCIVIRT_TESTS_STRESS_WATCHDOG_H
#define PCIVIRT_TESTS_STRESS_WATCHDOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WD_MAX_THREADS 16u
#define WD_EXIT_STUCK 86
#define WD_TICK_MS 50u

struct wd_thread {
    char name[32];
    _Atomic(const char *) phase;
    atomic_uint_fast64_t progress;
    atomic_bool idle; /* waiting on purpose (parked, not running): not judged */
    /* The watchdog's own bookkeeping. */
    uint64_t seen;
    uint64_t since_ms;
};

struct watchdog {
    struct wd_thread t[WD_MAX_THREADS];
    atomic_uint n;
    unsigned stall_ms;
    FILE *out;
    pthread_t thread;
    bool started;
    atomic_bool stop;
};

static inline uint64_t
wd_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* wd_register() - a slot for a thread (call before the watchdog starts judging it). */
static inline struct wd_thread *
wd_register(struct watchdog *wd, const char *name)
{
    unsigned i = atomic_load(&wd->n);
    struct wd_thread *t;

    if (i >= WD_MAX_THREADS) {
        return NULL;
    }
    t = &wd->t[i];
    snprintf(t->name, sizeof(t->name), "%s", name);
    atomic_store(&t->phase, "registered");
    atomic_store(&t->progress, 0);
    atomic_store(&t->idle, true);
    t->seen = 0;
    t->since_ms = wd_now_ms();
    atomic_store(&wd->n, i + 1);
    return t;
}

/* wd_phase() - publish what the thread is about to do (a static string). */
static inline void
wd_phase(struct wd_thread *t, const char *phase)
{
    atomic_store_explicit(&t->phase, phase, memory_order_release);
}

/* wd_tick() - the thread got something done. */
static inline void
wd_tick(struct wd_thread *t)
{
    atomic_fetch_add_explicit(&t->progress, 1, memory_order_relaxed);
}

/* wd_idle() - the thread waits on purpose (@idle) or runs again (!@idle). */
static inline void
wd_idle(struct wd_thread *t, bool idle)
{
    wd_tick(t);
    atomic_store(&t->idle, idle);
}

/* Print every thread; the stuck ones marked.  Returns how many are stuck. */
static inline unsigned
wd_report(struct watchdog *wd, uint64_t now, bool only_if_stuck)
{
    unsigned n = atomic_load(&wd->n), stuck = 0;

    for (unsigned i = 0; i < n; i++) {
        struct wd_thread *t = &wd->t[i];

        if (!atomic_load(&t->idle) && now - t->since_ms >= wd->stall_ms) {
            stuck++;
        }
    }
    if (stuck == 0 && only_if_stuck) {
        return 0;
    }
    fprintf(wd->out, "stress watchdog: %u thread(s) made no progress for %u ms\n", stuck, wd->stall_ms);
    for (unsigned i = 0; i < n; i++) {
        struct wd_thread *t = &wd->t[i];
        bool idle = atomic_load(&t->idle);
        bool is_stuck = !idle && now - t->since_ms >= wd->stall_ms;

        fprintf(wd->out, "  %s thread '%s' in phase '%s': progress %llu, last progress %llu ms ago%s\n",
                is_stuck ? "STUCK" : "     ", t->name, atomic_load(&t->phase),
                (unsigned long long)atomic_load(&t->progress), (unsigned long long)(now - t->since_ms),
                idle ? " (idle on purpose)" : "");
    }
    fflush(wd->out);
    return stuck;
}

static inline void *
wd_main(void *arg)
{
    struct watchdog *wd = arg;

    while (!atomic_load(&wd->stop)) {
        struct timespec ts = {0, (long)WD_TICK_MS * 1000000L};
        uint64_t now = wd_now_ms();
        unsigned n = atomic_load(&wd->n);

        for (unsigned i = 0; i < n; i++) {
            struct wd_thread *t = &wd->t[i];
            uint64_t p = atomic_load(&t->progress);

            if (p != t->seen || atomic_load(&t->idle)) {
                t->seen = p;
                t->since_ms = now;
            }
        }
        if (wd_report(wd, now, true) != 0) {
            _exit(WD_EXIT_STUCK); /* the stuck thread cannot be unwound: fail the process */
        }
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* wd_start() - judge every registered thread from now on; @out NULL: stderr. */
static inline bool
wd_start(struct watchdog *wd, unsigned stall_ms, FILE *out)
{
    wd->stall_ms = stall_ms;
    wd->out = out != NULL ? out : stderr;
    atomic_store(&wd->stop, false);
    wd->started = pthread_create(&wd->thread, NULL, wd_main, wd) == 0;
    return wd->started;
}

static inline void
wd_stop(struct watchdog *wd)
{
    if (wd->started) {
        atomic_store(&wd->stop, true);
        pthread_join(wd->thread, NULL);
        wd->started = false;
    }
}

#endif /* PCIVIRT_TESTS_STRESS_WATCHDOG_H */
