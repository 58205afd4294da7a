/*
 * tests/oom/oom.h - the allocation-failure loop every tests/oom/ file runs.
 *
 * Why it is shaped so.  Issue 8 asks that create, enable and assign paths be
 * driven "through every failing allocation" and fail cleanly: an error code, no
 * leak, no half-built state.  The loop (SQLite's OOM test idea, on
 * util/alloc.h's pv_alloc_fail_after()) runs a path once without injection to
 * get a reference fingerprint of what it builds, then for n = 0, 1, 2, ... lets
 * n allocations succeed and fails the next one - once ("transient") and from
 * then on ("sticky") - until a run completes without any injected failure.
 * After every run it checks, independently of the code under test:
 *
 *  - a run that hit an injected failure either returned the path's
 *    out-of-memory code with no object handed out, or succeeded with an object
 *    whose fingerprint equals the reference (a recovered allocation is fine, a
 *    silently degraded object is not);
 *  - right after a failed run, the same path without injection succeeds and
 *    builds the reference again (nothing global was left half-changed);
 *  - leaks are LeakSanitizer's job: `CI=true make asan` runs these tests with
 *    detect_leaks=1, so memory a failed path forgot to free fails the test.
 *
 * A path is a build function (returns its code, hands out one object or
 * nothing), a fingerprint function (appends text describing the object; run
 * without injection) and a destroy function.
 */
#ifndef PCIVIRT_TESTS_OOM_H
#define PCIVIRT_TESTS_OOM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pcivirt/error.h"
#include "util/alloc.h"

#define OOM_FP_MAX 65536u
#define OOM_MAX_STEPS 20000L

struct oom_fp {
    char text[OOM_FP_MAX];
    size_t len;
};

/* Append to a fingerprint (printf-style); overflow fails the test. */
static inline void __attribute__((format(printf, 2, 3))) oom_fp_add(struct oom_fp *fp, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(fp->text + fp->len, sizeof(fp->text) - fp->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(fp->text) - fp->len);
    fp->len += (size_t)n;
}

/* Append a byte range as a 64-bit FNV-1a digest (compact, and any change shows). */
static inline void
oom_fp_bytes(struct oom_fp *fp, const char *what, const void *p, size_t len)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h = (h ^ b[i]) * 0x100000001b3ull;
    }
    oom_fp_add(fp, "%s:%zu:%016llx;", what, len, (unsigned long long)h);
}

struct oom_path {
    const char *name;
    /* Build the object into *obj; return 0 or an error code (then *obj must stay NULL). */
    int (*build)(void *fixture, void **obj);
    void (*fingerprint)(void *fixture, void *obj, struct oom_fp *fp);
    void (*destroy)(void *fixture, void *obj);
    int enomem; /* the path's out-of-memory code (PCIVIRT_ENOMEM, or an NTSTATUS) */
    /*
     * Known open finding (docs/HARDENING.md): the path may succeed with a result
     * that differs from the reference after an injected failure.  Such runs are
     * counted and reported instead of failing; every other rule still holds.
     */
    bool known_degrades;
};

/* Runs that succeeded with a degraded result (only counted for known_degrades paths). */
static long oom_degraded_runs;

/* Build, fingerprint and destroy once without injection; the build must succeed. */
static inline void
oom_reference(const struct oom_path *p, void *fixture, struct oom_fp *fp)
{
    void *obj = NULL;
    int rc = p->build(fixture, &obj);

    if (rc != 0) {
        fail_msg("%s: build without injection failed (%d)", p->name, rc);
    }
    fp->len = 0;
    fp->text[0] = '\0';
    p->fingerprint(fixture, obj, fp);
    p->destroy(fixture, obj);
}

/* One injected run; returns true when no allocation was failed (the loop is done). */
static inline bool
oom_one(const struct oom_path *p, void *fixture, long n, bool sticky, const struct oom_fp *ref, struct oom_fp *fp)
{
    unsigned long before = pv_alloc_failures();
    void *obj = NULL;
    bool injected;
    int rc;

    pv_alloc_fail_after(n, sticky);
    rc = p->build(fixture, &obj);
    pv_alloc_fail_after(-1, 0);
    injected = pv_alloc_failures() != before;
    if (rc != 0) {
        if (!injected || rc != p->enomem || obj != NULL) {
            fail_msg("%s: n=%ld %s: returned %d (expected %d), injected %d, object %p", p->name, n,
                     sticky ? "sticky" : "transient", rc, p->enomem, injected, obj);
        }
        /* A clean failure leaves nothing behind: the path works again at once. */
        oom_reference(p, fixture, fp);
    } else {
        fp->len = 0;
        fp->text[0] = '\0';
        p->fingerprint(fixture, obj, fp);
        p->destroy(fixture, obj);
    }
    if (fp->len != ref->len || memcmp(fp->text, ref->text, fp->len) != 0) {
        size_t d = 0;

        if (p->known_degrades && rc == 0) {
            oom_degraded_runs++;
            return !injected;
        }

        while (d < fp->len && d < ref->len && fp->text[d] == ref->text[d]) {
            d++;
        }
        d = d > 80 ? d - 80 : 0;
        fail_msg("%s: n=%ld %s: result differs from the reference\n got: ...%.300s\nwant: ...%.300s", p->name, n,
                 sticky ? "sticky" : "transient", fp->text + d, ref->text + d);
    }
    return !injected;
}

/*
 * oom_run() - the loop; returns how many allocations the path makes (the n of
 * the first clean run), which must be at least @min_allocs so a test can fail
 * when the injection did not reach the path at all.
 */
static inline long
oom_run(const struct oom_path *p, void *fixture, long min_allocs)
{
    static struct oom_fp ref, fp;
    long clean_at[2] = {-1, -1};

    oom_degraded_runs = 0;
    oom_reference(p, fixture, &ref);
    for (int mode = 0; mode < 2; mode++) {
        for (long n = 0; n < OOM_MAX_STEPS; n++) {
            if (oom_one(p, fixture, n, mode == 1, &ref, &fp)) {
                clean_at[mode] = n;
                break;
            }
        }
        if (clean_at[mode] < 0) {
            fail_msg("%s: still failing after %ld allocations", p->name, OOM_MAX_STEPS);
        }
    }
    if (clean_at[1] < min_allocs) {
        fail_msg("%s: only %ld allocations were failed (expected at least %ld)", p->name, clean_at[1], min_allocs);
    }
    print_message("%s: %ld allocations, each failed in turn (transient and sticky)\n", p->name, clean_at[1]);
    if (oom_degraded_runs > 0) {
        print_message("%s: KNOWN FINDING: %ld injected runs succeeded with a degraded result\n", p->name,
                      oom_degraded_runs);
    }
    return clean_at[1];
}

#endif /* PCIVIRT_TESTS_OOM_H */
