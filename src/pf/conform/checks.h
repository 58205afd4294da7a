/*
 * pf/conform/checks.h - what a conformance check looks like inside the suite.
 *
 * A check gets a freshly built world and its result record, and sets a verdict
 * with a one-line reason.  FAILF records the first failure and returns; every
 * expectation names what was sent and what came back, so a report line alone
 * says what the driver did wrong.
 */
#ifndef PCIVIRT_PF_CONFORM_CHECKS_H
#define PCIVIRT_PF_CONFORM_CHECKS_H

#include <stdio.h>

#include "pf/conform/env.h"

typedef void check_fn(struct env *env, struct pf_conform_result *r);

struct check_entry {
    struct pf_conform_check info;
    check_fn *fn;
    env_profile_fn *world; /* NULL: the default device; else how this check's device differs */
};

/* The three groups, each a table terminated by a NULL fn. */
extern const struct check_entry conform_checks_ioctl[];
extern const struct check_entry conform_checks_pnp[];
extern const struct check_entry conform_checks_iface[];

/* st_name() - "STATUS_X" or the hex value, in a static per-thread buffer. */
const char *st_name(NTSTATUS st);

#define PASSF(...)                                                                                                     \
    do {                                                                                                               \
        snprintf(r->reason, sizeof(r->reason), __VA_ARGS__);                                                           \
        r->verdict = PF_CONFORM_PASS;                                                                                  \
    } while (0)

#define FAILF(...)                                                                                                     \
    do {                                                                                                               \
        snprintf(r->reason, sizeof(r->reason), __VA_ARGS__);                                                           \
        r->verdict = PF_CONFORM_FAIL;                                                                                  \
        return;                                                                                                        \
    } while (0)

#define NAF(...)                                                                                                       \
    do {                                                                                                               \
        snprintf(r->reason, sizeof(r->reason), __VA_ARGS__);                                                           \
        r->verdict = PF_CONFORM_NOT_APPLICABLE;                                                                        \
        return;                                                                                                        \
    } while (0)

#define EXPECT_ST(expr, want, ...)                                                                                     \
    do {                                                                                                               \
        NTSTATUS _got = (expr);                                                                                        \
        if (_got != (want)) {                                                                                          \
            char _what[200];                                                                                           \
            snprintf(_what, sizeof(_what), __VA_ARGS__);                                                               \
            FAILF("%s: got %s, want %s", _what, st_name(_got), st_name(want));                                         \
        }                                                                                                              \
    } while (0)

#define EXPECT(cond, ...)                                                                                              \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            FAILF(__VA_ARGS__);                                                                                        \
        }                                                                                                              \
    } while (0)

#endif /* PCIVIRT_PF_CONFORM_CHECKS_H */
