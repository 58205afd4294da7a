/*
 * vsp/clock.h - the time source the virtualization stack reads.
 *
 * Every deadline in the stack (the eject acknowledgment window, the broker's
 * query-stop timeout) and every event-log time stamp is taken from one clock
 * object supplied at creation.  It is a plain function pointer pair rather than
 * a dependency on a particular runtime so that the stack's bookkeeping modules
 * can be tested with a hand-driven virtual clock, and so that the runtime's
 * replaceable clock (src/wdf) plugs in by wrapping its "now" call.
 */
#ifndef PCIVIRT_VSP_CLOCK_H
#define PCIVIRT_VSP_CLOCK_H

#include <stdint.h>

/*
 * A monotonic clock: now_ns(ctx) returns nanoseconds since an arbitrary origin,
 * never decreasing.  Both members must be set (ctx may be NULL if now_ns ignores it).
 */
struct vsp_clock {
    uint64_t (*now_ns)(void *ctx);
    void *ctx;
};

/* vsp_clock_now() - read @clock. */
static inline uint64_t
vsp_clock_now(const struct vsp_clock *clock)
{
    return clock->now_ns(clock->ctx);
}

/*
 * vsp_clock_monotonic() - a clock on CLOCK_MONOTONIC, for production use.
 *
 * Return: a pointer to a constant clock object (stateless, shareable).
 */
const struct vsp_clock *vsp_clock_monotonic(void);

/*
 * A virtual clock a test or a scenario advances by hand.  Initialize with
 * vsp_manual_clock_init(); its .clock member is what the stack consumes.  The
 * time is read and advanced atomically, so any thread may advance it.
 */
struct vsp_manual_clock {
    struct vsp_clock clock;
    _Atomic uint64_t now;
};

/* vsp_manual_clock_init() - set @mc to time @start_ns and wire its .clock. */
void vsp_manual_clock_init(struct vsp_manual_clock *mc, uint64_t start_ns);

/* vsp_manual_clock_advance() - move @mc forward by @delta_ns; returns the new time. */
uint64_t vsp_manual_clock_advance(struct vsp_manual_clock *mc, uint64_t delta_ns);

#define VSP_NS_PER_MS UINT64_C(1000000)
#define VSP_NS_PER_S UINT64_C(1000000000)

#endif /* PCIVIRT_VSP_CLOCK_H */
