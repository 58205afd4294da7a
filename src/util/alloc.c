/*
 * util/alloc.c - the allocation wrappers of util/alloc.h.
 *
 * The countdown is an atomic so that allocation-failure tests also work while
 * other threads allocate; a disarmed countdown costs one relaxed load.
 */
#include "util/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;
static atomic_int fail_sticky;
static atomic_ulong fail_total;

static int
should_fail(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);

    if (n < 0) {
        return 0;
    }
    for (;;) {
        if (n == 0) {
            if (!atomic_load(&fail_sticky)) {
                atomic_store(&fail_countdown, -1);
            }
            atomic_fetch_add(&fail_total, 1);
            return 1;
        }
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) {
            return 0;
        }
        if (n < 0) {
            return 0;
        }
    }
}

void
pv_alloc_fail_after(long n, int sticky)
{
    atomic_store(&fail_sticky, sticky != 0);
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

unsigned long
pv_alloc_failures(void)
{
    return atomic_load(&fail_total);
}

void *
pv_malloc(size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(size ? size : 1);
}

void *
pv_calloc(size_t nmemb, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    if (nmemb == 0 || size == 0) {
        return calloc(1, 1);
    }
    return calloc(nmemb, size);
}

void *
pv_realloc(void *ptr, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(ptr, size ? size : 1);
}

char *
pv_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = pv_malloc(n);

    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

void
pv_free(void *ptr)
{
    free(ptr);
}
