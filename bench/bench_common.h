/*
 * bench/bench_common.h - what every benchmark shares: clock, repetition, output.
 *
 * Why it is shaped so.  The machine the benchmarks run on is shared (other
 * builds run beside them), so a single timing says little.  Every figure is
 * therefore (a) the median of several repetitions and (b) printed beside a
 * baseline measured in the same run by the same loop shape: the ratio between
 * the two is what the docs compare with the targets, because noise that slows
 * the path slows its baseline too.  No benchmark asserts on time; they only
 * report (issue 8: "benchmarks, not timed tests").
 *
 * Environment: PCIVIRT_BENCH_REPS (default 5) repetitions per figure;
 * PCIVIRT_BENCH_SCALE (default 1.0) multiplies iteration counts, so a run under
 * valgrind --tool=callgrind can use 0.01 and still count instructions per
 * operation exactly.
 *
 * Output: one JSON object per line, {"name", "value", "unit"}, which
 * scripts/run-bench.sh collects into build/bench/results.json.
 */
#ifndef PCIVIRT_BENCH_COMMON_H
#define PCIVIRT_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_REPS 31

/* Benchmark loops stay functions of their own, so callgrind can count them (bench/callgrind.sh). */
#if defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE __attribute__((noinline, noclone))
#endif

static inline double
bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline unsigned
bench_reps(void)
{
    const char *s = getenv("PCIVIRT_BENCH_REPS");
    long n = s != NULL ? strtol(s, NULL, 10) : 5;

    return n < 1 ? 1u : n > BENCH_MAX_REPS ? BENCH_MAX_REPS : (unsigned)n;
}

/* @n scaled by PCIVIRT_BENCH_SCALE, at least 1000. */
static inline unsigned
bench_iters(unsigned n)
{
    const char *s = getenv("PCIVIRT_BENCH_SCALE");
    double f = s != NULL ? strtod(s, NULL) : 1.0;
    double v = (double)n * (f > 0 ? f : 1.0);

    return v < 1000 ? 1000u : v > 4e9 ? 4000000000u : (unsigned)v;
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The median of @n samples (sorts @v). */
static inline double
bench_median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void
bench_emit(const char *name, double value, const char *unit)
{
    printf("{\"name\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n", name, value, unit);
    fflush(stdout);
}

/* A cheap PRNG shared by paths and their baselines, so both do the same arithmetic. */
static inline uint64_t
bench_xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Keeps a value alive so the compiler cannot drop the loop that made it. */
static inline void
bench_sink(uint64_t v)
{
    __asm__ volatile("" : : "r"(v) : "memory");
}

/*
 * The timed loop behind every per-operation figure: @iters calls of @op, each
 * given the next bench_xorshift() value from @seed and adding what it returns to
 * one sink; the result is nanoseconds per call.  A path and its baseline both go
 * through it, so they differ in @op alone.  The loop is always inlined into its
 * caller (a BENCH_NOINLINE function per figure, which callgrind counts), and @op
 * is then a constant there, which the compiler inlines as well: no indirect call
 * sits inside a nanosecond measurement (docs/PERFORMANCE.md, "The timed loop").
 */
typedef uint64_t (*bench_op)(void *ctx, uint64_t rnd);

static inline __attribute__((always_inline)) double
bench_loop(unsigned iters, uint64_t seed, bench_op op, void *ctx)
{
    uint64_t x = seed, sink = 0;
    double t0 = bench_now_ns();

    for (unsigned i = 0; i < iters; i++) {
        sink += op(ctx, bench_xorshift(&x));
    }
    bench_sink(sink);
    return (bench_now_ns() - t0) / iters;
}

/* A figure's own loop function, double name(ctx_type *c, uint64_t seed): bench_loop of
 * c->iters calls of @op on @c.  One function per figure, so callgrind counts each by name. */
#define BENCH_LOOP_FUNCTION(name, ctx_type, op)                                                                        \
    static BENCH_NOINLINE double name(ctx_type *c, uint64_t seed)                                                      \
    {                                                                                                                  \
        return bench_loop(c->iters, seed, op, c);                                                                      \
    }

#endif /* PCIVIRT_BENCH_COMMON_H */
