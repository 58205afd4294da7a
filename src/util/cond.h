/*
 * util/cond.h - bounded waits on CLOCK_MONOTONIC.
 *
 * Every timed wait in the project measures real time with CLOCK_MONOTONIC (a
 * wall-clock step must not stretch or cut a deadline), so every condition
 * variable that is waited on with a deadline is created on that clock, and a
 * caller turns its relative timeout into an absolute deadline once, so that
 * spurious wake-ups and repeated waits never stretch it.  One set of helpers, so
 * the runtime, the channel layer, the stack and the tests wait alike.
 */
#ifndef PCIVIRT_UTIL_COND_H
#define PCIVIRT_UTIL_COND_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* pv_cond_init_monotonic() - initialise @cond on CLOCK_MONOTONIC; 0 or an errno. */
static inline int
pv_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);

    if (rc != 0) {
        return rc;
    }
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(cond, &attr);
    }
    pthread_condattr_destroy(&attr);
    return rc;
}

/* pv_deadline_ns() - now + @timeout_ns on CLOCK_MONOTONIC; a negative timeout counts as 0. */
static inline struct timespec
pv_deadline_ns(int64_t timeout_ns)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (timeout_ns < 0) {
        timeout_ns = 0;
    }
    ts.tv_sec += (time_t)(timeout_ns / 1000000000);
    ts.tv_nsec += (long)(timeout_ns % 1000000000);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* pv_deadline_ms() - now + @ms milliseconds on CLOCK_MONOTONIC. */
static inline struct timespec
pv_deadline_ms(uint32_t ms)
{
    return pv_deadline_ns((int64_t)ms * 1000000);
}

/* pv_remaining_ns() - nanoseconds left until @deadline, 0 when it has passed. */
static inline int64_t
pv_remaining_ns(const struct timespec *deadline)
{
    struct timespec now;
    int64_t left;

    clock_gettime(CLOCK_MONOTONIC, &now);
    left = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 + (deadline->tv_nsec - now.tv_nsec);
    return left > 0 ? left : 0;
}

/*
 * pv_cond_wait_until() - wait on @cond (a CLOCK_MONOTONIC one) until @deadline;
 * true when the deadline passed.
 *
 * A deadline that has already passed (a "do not wait" poll) returns at once:
 * pthread_cond_timedwait() with a past deadline still puts the thread to sleep
 * until a timer interrupt wakes it - a context switch and the timer slack (about
 * 50 us on Linux) for every empty poll.
 */
static inline bool
pv_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *deadline)
{
    if (pv_remaining_ns(deadline) == 0) {
        return true;
    }
    return pthread_cond_timedwait(cond, mutex, deadline) == ETIMEDOUT;
}

#endif /* PCIVIRT_UTIL_COND_H */
