/*
 * pf/conform/conform.c - the check table and the runner (see conform.h).
 *
 * Every check runs in a world of its own (env_create/env_destroy), so one
 * driver's failure cannot leak into the next verdict; a verifier report during a
 * check fails it even if its own expectations held.
 */
#include <stdlib.h>
#include <string.h>

#include "pf/conform/checks.h"
#include "util/alloc.h"

static const struct check_entry *const groups[] = {conform_checks_ioctl, conform_checks_pnp, conform_checks_iface};

static struct pf_conform_check table[64];
static size_t table_len;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* The table is a flattened, read-only copy of the three groups, built once. */
static void
build_table(void)
{
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        for (const struct check_entry *e = groups[g]; e->fn != NULL && table_len < 64; e++) {
            table[table_len++] = e->info;
        }
    }
}

static const struct check_entry *
entry_of(const char *id)
{
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        for (const struct check_entry *e = groups[g]; e->fn != NULL; e++) {
            if (strcmp(e->info.id, id) == 0) {
                return e;
            }
        }
    }
    return NULL;
}

const struct pf_conform_check *
pf_conform_checks(size_t *count)
{
    pthread_once(&table_once, build_table);
    *count = table_len;
    return table;
}

const char *
st_name(NTSTATUS st)
{
    static _Thread_local char buf[16];
    const char *n = pcivirt_ntstatus_name(st);

    if (n != NULL) {
        return n;
    }
    snprintf(buf, sizeof(buf), "0x%08x", (unsigned)st);
    return buf;
}

const char *
pf_conform_verdict_name(enum pf_conform_verdict v)
{
    switch (v) {
    case PF_CONFORM_PASS: return "pass";
    case PF_CONFORM_FAIL: return "fail";
    case PF_CONFORM_NOT_APPLICABLE: return "n/a";
    default: return "error";
    }
}

static bool
selected(const char *id, const char *only)
{
    size_t n;

    if (only == NULL) {
        return true;
    }
    n = strlen(only);
    return strcmp(id, only) == 0 || (n > 0 && only[n - 1] == '.' && strncmp(id, only, n) == 0);
}

static void
run_one(const struct pf_conform_options *opt, const struct pf_conform_check *c, struct pf_conform_result *r)
{
    const struct check_entry *e = entry_of(c->id);
    struct env *env = e != NULL ? pv_calloc(1, sizeof(*env)) : NULL;

    r->check = c;
    r->verdict = PF_CONFORM_HARNESS_ERROR;
    if (env == NULL) {
        snprintf(r->reason, sizeof(r->reason), "out of memory");
        return;
    }
    if (env_create(env, opt, e->world) != 0) {
        snprintf(r->reason, sizeof(r->reason), "could not build the world: %s", env->error);
    } else {
        e->fn(env, r);
        env_release_stuck(env);
        if (r->verdict == PF_CONFORM_PASS && env->verifier_reports != 0) {
            r->verdict = PF_CONFORM_FAIL;
            snprintf(r->reason, sizeof(r->reason), "%s", env->verifier_first);
        }
    }
    env_destroy(env);
    if (!env->leak) {
        pv_free(env);
    }
}

static void
count(struct pf_conform_report *rep, enum pf_conform_verdict v)
{
    switch (v) {
    case PF_CONFORM_PASS: rep->passed++; break;
    case PF_CONFORM_FAIL: rep->failed++; break;
    case PF_CONFORM_NOT_APPLICABLE: rep->not_applicable++; break;
    default: rep->errors++; break;
    }
}

NTSTATUS
pf_conform_run(const struct pf_conform_options *opt, const char *only, struct pf_conform_report **out)
{
    struct pf_conform_options o = {0};
    const struct pf_conform_check *checks;
    struct pf_conform_report *rep;
    size_t n, sel = 0;

    *out = NULL;
    if (opt != NULL) {
        o = *opt;
    }
    o.settle_ms = o.settle_ms ? o.settle_ms : 150;
    o.release_ms = o.release_ms ? o.release_ms : 3000;
    checks = pf_conform_checks(&n);
    for (size_t i = 0; i < n; i++) {
        sel += selected(checks[i].id, only);
    }
    if (sel == 0) {
        return STATUS_NOT_FOUND;
    }
    rep = pv_calloc(1, sizeof(*rep));
    if (rep == NULL || (rep->results = pv_calloc(sel, sizeof(*rep->results))) == NULL) {
        pv_free(rep);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    for (size_t i = 0; i < n; i++) {
        if (selected(checks[i].id, only)) {
            run_one(&o, &checks[i], &rep->results[rep->count]);
            count(rep, rep->results[rep->count].verdict);
            rep->count++;
        }
    }
    *out = rep;
    return STATUS_SUCCESS;
}

void
pf_conform_report_free(struct pf_conform_report *report)
{
    if (report == NULL) {
        return;
    }
    pv_free(report->results);
    pv_free(report);
}
