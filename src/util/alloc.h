/*
 * util/alloc.h - allocation with fault injection.
 *
 * All library allocations go through pv_malloc() and friends so that a test can
 * make the Nth allocation fail and check that every create, enable and assign
 * path unwinds cleanly (../shared/STYLE.md rule 13, SQLite's OOM loop).  The
 * counter is global and atomic; fault injection is a test-only facility, so it
 * does not break the "no global state" rule for anything a user configures.
 */
#ifndef PCIVIRT_UTIL_ALLOC_H
#define PCIVIRT_UTIL_ALLOC_H

#include <stddef.h>

void *pv_malloc(size_t size);
void *pv_calloc(size_t nmemb, size_t size);
void *pv_realloc(void *ptr, size_t size);
char *pv_strdup(const char *s);
void pv_free(void *ptr);

/**
 * pv_alloc_fail_after() - arm fault injection.
 * @n: number of allocations that still succeed; the next one fails, and so does
 *     every later one while @sticky is true.  A negative @n disarms.
 * @sticky: keep failing after the first injected failure.
 */
void pv_alloc_fail_after(long n, int sticky);

/* pv_alloc_failures() - how many allocations fault injection has failed so far. */
unsigned long pv_alloc_failures(void);

#endif /* PCIVIRT_UTIL_ALLOC_H */
