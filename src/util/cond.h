/*
 * util/cond.h - condition variables whose timed waits run on CLOCK_MONOTONIC.
 *
 * Every timed wait in the project measures real time with CLOCK_MONOTONIC (a
 * wall-clock step must not stretch or cut a deadline), so every condition
 * variable that is waited on with a deadline is created on that clock.  One
 * helper, so the runtime, the channel layer and the stack create them alike.
 */
#ifndef PCIVIRT_UTIL_COND_H
#define PCIVIRT_UTIL_COND_H

#include <pthread.h>
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

#endif /* PCIVIRT_UTIL_COND_H */
