/*
 * vmbus/sync.h - bounded waits on the monotonic clock.
 *
 * Every wait in the channel layer has a deadline: a caller passes a relative
 * timeout in nanoseconds (0 = do not wait; there is deliberately no "forever"),
 * which becomes an absolute CLOCK_MONOTONIC deadline so that spurious wake-ups and
 * repeated waits never stretch it.  Condition variables are created on the same
 * clock (util/cond.h).
 */
#ifndef PCIVIRT_VMBUS_SYNC_H
#define PCIVIRT_VMBUS_SYNC_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* vmbus_deadline() - now + @timeout_ns on CLOCK_MONOTONIC; a negative timeout counts as 0. */
static inline struct timespec
vmbus_deadline(int64_t timeout_ns)
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

/* vmbus_remaining_ns() - nanoseconds left until @deadline, 0 when it has passed. */
static inline int64_t
vmbus_remaining_ns(const struct timespec *deadline)
{
    struct timespec now;
    int64_t left;

    clock_gettime(CLOCK_MONOTONIC, &now);
    left = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 + (deadline->tv_nsec - now.tv_nsec);
    return left > 0 ? left : 0;
}

/*
 * vmbus_cond_wait_until() - wait on @cond until @deadline; true when the deadline passed.
 *
 * A deadline that has already passed (a "do not wait" poll) returns at once:
 * pthread_cond_timedwait() with a past deadline still puts the thread to sleep
 * until a timer interrupt wakes it - a context switch and the timer slack (about
 * 50 us on Linux) for every empty poll.
 */
static inline bool
vmbus_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *deadline)
{
    if (vmbus_remaining_ns(deadline) == 0) {
        return true;
    }
    return pthread_cond_timedwait(cond, mutex, deadline) == ETIMEDOUT;
}

#endif /* PCIVIRT_VMBUS_SYNC_H */
