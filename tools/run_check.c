/*
 * tools/run_check.c - invariants, the printed timeline and the summary of a run.
 *
 * A check is one fact (run_check): it is counted under its invariant, and a
 * failure is printed at once under the step that found it, with its reason, so
 * the timeline reads as "what happened, and what was wrong with it".  Passing
 * facts are only counted: a run checks thousands of them.
 *
 * The stack's events reach the timeline through the log's listener into a
 * bounded queue that each step drains after it ran, so every step is followed
 * by exactly the decisions the stack took during it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "run_internal.h"
#include "util/alloc.h"

#define RUN_PENDING_MAX 4096u

static const char *const inv_names[RUN_INV_COUNT] = {
    [RUN_INV_STEPS] = "every timeline step could be executed",
    [RUN_INV_GUEST_OPS] = "guest driver operations saw what the device holds",
    [RUN_INV_DMA] = "every DMA landed in its own VM's memory and nowhere else",
    [RUN_INV_MAC] = "each guest read the MAC the PF set, before and after invalidation",
    [RUN_INV_IRQ] = "every interrupt reached only its own VM",
    [RUN_INV_PREDICTED] = "each step's predicted outcome matched what the stack did",
    [RUN_INV_EXACTLY_ONCE] = "events were delivered exactly once",
    [RUN_INV_HANDOFF] = "every VF leaving a VM was reset and checked clean",
    [RUN_INV_TEARDOWN] = "nothing leaked at teardown (verifier clean, references released)",
};

static const char *const inv_ids[RUN_INV_COUNT] = {
    [RUN_INV_STEPS] = "steps",
    [RUN_INV_GUEST_OPS] = "guest-ops",
    [RUN_INV_DMA] = "dma-isolation",
    [RUN_INV_MAC] = "mac",
    [RUN_INV_IRQ] = "irq-isolation",
    [RUN_INV_PREDICTED] = "predicted",
    [RUN_INV_EXACTLY_ONCE] = "exactly-once",
    [RUN_INV_HANDOFF] = "clean-handoff",
    [RUN_INV_TEARDOWN] = "teardown",
};

const char *
run_inv_name(enum run_inv inv)
{
    return inv < RUN_INV_COUNT ? inv_ids[inv] : "?";
}

const char *
run_inv_description(enum run_inv inv)
{
    return inv < RUN_INV_COUNT ? inv_names[inv] : "?";
}

static const char *
paint(const struct run *r, bool ok)
{
    if (!r->opt.color) {
        return ok ? "pass" : "FAIL";
    }
    return ok ? "\033[32mpass\033[0m" : "\033[1;31mFAIL\033[0m";
}

int
run_printf(struct run *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (r->opt.out == NULL) {
        return 0;
    }
    if (r->opt.progress != NULL) {
        fputs("\r\033[K", r->opt.progress); /* the progress line gives way to output */
    }
    va_start(ap, fmt);
    n = vfprintf(r->opt.out, fmt, ap);
    va_end(ap);
    return n;
}

bool
run_check(struct run *r, enum run_inv inv, bool ok, const char *fmt, ...)
{
    struct run_inv_state *s = &r->inv[inv];
    char msg[320];
    va_list ap;

    s->checked++;
    if (ok) {
        return true;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (s->failed++ == 0) {
        snprintf(s->first, sizeof(s->first), "%s", msg);
    }
    run_printf(r, "      %s [%s] %s\n", paint(r, false), inv_ids[inv], msg);
    return false;
}

bool
run_all_held(const struct run *r)
{
    for (unsigned i = 0; i < RUN_INV_COUNT; i++) {
        if (r->inv[i].failed != 0) {
            return false;
        }
    }
    return true;
}

/* splitmix64: the one generator every seeded value comes from. */
uint64_t
run_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A locally administered unicast MAC from the seed (02:xx:...). */
void
run_mac_seeded(const struct run *r, uint64_t salt, uint8_t mac[6])
{
    uint64_t st = r->sc->options.seed ^ (salt * 0x100000001B3ull) ^ r->step;
    uint64_t v = run_rand(&st);

    mac[0] = 0x02;
    for (int i = 1; i < 6; i++) {
        mac[i] = (uint8_t)(v >> (8 * i));
    }
}

void
run_progress(struct run *r, const char *what)
{
    static const long interval_ns = 100 * 1000000L;
    struct timespec ts;
    long long now;

    if (r->opt.progress == NULL) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (now - r->progress_ns < interval_ns) {
        return;
    }
    r->progress_ns = now;
    fprintf(r->opt.progress, "\r\033[K[%zu/%zu] %s", r->step + 1, r->sc->n_steps, what);
    fflush(r->opt.progress);
}

/* ---- the timeline ---------------------------------------------------------------------- */

void
run_on_event(void *ctx, const struct vsp_event *ev)
{
    struct run *r = ctx;

    pthread_mutex_lock(&r->lock);
    if (r->pending != NULL && r->n_pending < RUN_PENDING_MAX) {
        r->pending[r->n_pending++] = *ev;
    } else {
        r->pending_dropped++;
    }
    pthread_mutex_unlock(&r->lock);
}

int
run_events_init(struct run *r)
{
    r->pending = pv_calloc(RUN_PENDING_MAX, sizeof(*r->pending));
    return r->pending != NULL ? 0 : PCIVIRT_ENOMEM;
}

/* Print (sorted by sequence) and forget the events the stack added since the last call. */
void
run_print_events(struct run *r)
{
    struct vsp_event *ev = NULL;
    size_t n;
    uint64_t dropped;

    pthread_mutex_lock(&r->lock);
    n = r->n_pending;
    dropped = r->pending_dropped;
    r->pending_dropped = 0;
    if (n != 0 && (ev = pv_malloc(n * sizeof(*ev))) != NULL) {
        memcpy(ev, r->pending, n * sizeof(*ev));
    }
    r->n_pending = 0;
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 1; ev != NULL && i < n; i++) {
        for (size_t k = i; k > 0 && ev[k - 1].seq > ev[k].seq; k--) {
            struct vsp_event t = ev[k];

            ev[k] = ev[k - 1];
            ev[k - 1] = t;
        }
    }
    for (size_t i = 0; ev != NULL && i < n && !r->opt.quiet; i++) {
        char line[256];

        vsp_event_format(&ev[i], line, sizeof(line));
        run_printf(r, "    %s\n", line);
    }
    if (dropped != 0 && !r->opt.quiet) {
        run_printf(r, "    (%llu more events not shown; --events has them)\n", (unsigned long long)dropped);
    }
    pv_free(ev);
}

/* ---- the summary ------------------------------------------------------------------------ */

static void
print_vm(struct run *r, struct run_vm *v)
{
    char mis[96];

    scenario_misbehave_format(v->sv->misbehave, mis, sizeof(mis));
    run_printf(r, "  %-10s vPCI %u.%u, misbehaviour: %s\n", v->sv->name, v->version >> 16, v->version & 0xFFFF, mis);
    run_printf(r,
               "             VFs gained %llu, lost %llu; %llu operations; DMA %llu bytes (%llu faults); "
               "blocks %llu; MAC changes %llu; invalidations %llu\n",
               (unsigned long long)v->vfs_gained, (unsigned long long)v->vfs_lost, (unsigned long long)v->ops,
               (unsigned long long)v->dma_bytes, (unsigned long long)v->dma_faults, (unsigned long long)v->blocks,
               (unsigned long long)v->macs, (unsigned long long)v->invalidations);
    run_printf(r,
               "             interrupts %llu (%llu for vectors it does not own); register accesses %llu "
               "(direct %llu, trapped %llu); malformed packets sent %llu\n",
               (unsigned long long)v->irqs, (unsigned long long)v->irqs_foreign, (unsigned long long)v->mmio,
               (unsigned long long)v->mmio_direct, (unsigned long long)v->mmio_trapped,
               (unsigned long long)v->malformed_sent);
}

static void
print_counts(struct run *r)
{
    unsigned col = 0;

    run_printf(r, "\nStack events:");
    for (int t = 0; t < VSP_EV_TYPE_COUNT; t++) {
        uint64_t n = run_total(r, (enum vsp_event_type)t);

        if (n != 0) {
            run_printf(r, "%s %s %llu", col++ % 6 == 0 ? "\n  " : ",", vsp_event_type_name((enum vsp_event_type)t),
                       (unsigned long long)n);
        }
    }
    run_printf(r, "\n  total %llu, dropped from the log %llu; runtime verifier reports %llu\n",
               (unsigned long long)run_total(r, VSP_EV_TYPE_COUNT), (unsigned long long)r->final_dropped,
               (unsigned long long)r->verifier_reports);
}

void
run_print_summary(struct run *r)
{
    bool held = run_all_held(r);

    run_printf(r, "\nSummary of '%s'\n\nWhat each VM saw:\n", r->sc->name);
    for (size_t i = 0; i < r->n_vms; i++) {
        print_vm(r, &r->vms[i]);
    }
    print_counts(r);
    run_printf(r, "\nInvariants:\n");
    for (unsigned i = 0; i < RUN_INV_COUNT; i++) {
        const struct run_inv_state *s = &r->inv[i];

        run_printf(r, "  %s  %-14s %-66s %llu checked, %llu failed\n", paint(r, s->failed == 0), inv_ids[i],
                   inv_names[i], (unsigned long long)s->checked, (unsigned long long)s->failed);
        if (s->failed != 0) {
            run_printf(r, "        first: %s\n", s->first);
        }
    }
    run_printf(r, "\nResult: %s\n", held ? "every invariant held" : "an invariant failed (exit 1)");
}
