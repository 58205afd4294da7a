/*
 * vsp/clock.c - the monotonic and the hand-driven clock of vsp/clock.h.
 */
#include "vsp/clock.h"

#include <stdatomic.h>
#include <time.h>

static uint64_t
monotonic_now(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * VSP_NS_PER_S + (uint64_t)ts.tv_nsec;
}

const struct vsp_clock *
vsp_clock_monotonic(void)
{
    static const struct vsp_clock clock = {monotonic_now, NULL};

    return &clock;
}

static uint64_t
manual_now(void *ctx)
{
    struct vsp_manual_clock *mc = ctx;

    return atomic_load(&mc->now);
}

void
vsp_manual_clock_init(struct vsp_manual_clock *mc, uint64_t start_ns)
{
    mc->clock.now_ns = manual_now;
    mc->clock.ctx = mc;
    atomic_init(&mc->now, start_ns);
}

uint64_t
vsp_manual_clock_advance(struct vsp_manual_clock *mc, uint64_t delta_ns)
{
    return atomic_fetch_add(&mc->now, delta_ns) + delta_ns;
}
