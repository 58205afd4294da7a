/*
 * bench/bench_world.h - the whole machine for the path benchmarks (issue 8
 * benchmarks 1, 4 and 5): the software device in a runtime host, the REAL
 * reference PF driver (src/pf) on it, the virtualization stack (src/vsp)
 * discovering it, and N VMs, each running the guest vPCI bus driver and the
 * sample VF driver (src/guest) on its own VF.  The bring-up is the shared
 * one of tools/world.h (the runner's and the tests'); this header only keeps
 * the names the benchmarks use as borrowed pointers, and makes a failure fatal
 * (exit 1) because a benchmark with a half-built world would measure nothing.
 *
 * Guest MMIO exits are in-process calls into the VM's vPCI host
 * (vsp_vpci_host_mmio_read/_write), as a trap into the host is on Hyper-V: the
 * config window is MMIO, not a channel message.  The channel carries only the
 * protocol messages (relations, D0, resources, query-stop, ...); a guest answers
 * them from bw_guest_poll() or from its own polling thread (bw_pollers_start()).
 *
 * The host runs on the virtual clock (no stack deadline can pass by itself) with
 * the runtime's verifier off, as a production host would.
 */
#ifndef PCIVIRT_BENCH_WORLD_H
#define PCIVIRT_BENCH_WORLD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "guest/swvf.h"
#include "guest/vpci_bus.h"
#include "pf/pf.h"
#include "util/alloc.h"
#include "util/thread.h"
#include "vsp/stack.h"
#include "world.h"

#define BW_MAX_VMS 64
#define BW_LOW_BASE 0xF0000000ull /* the guests' low MMIO window (tools/world.c, 64 MiB VMs) */
#define BW_REAL_MS WORLD_DISCOVERY_MS

struct bw_world;

/* One VM: borrowed from the shared world, plus its polling thread. */
struct bw_guest {
    struct bw_world *w;
    struct world_vm *wv;
    struct vsp_stack_vm *vm;
    struct vsp_vpci_host *host; /* the VM's MMIO exits */
    struct gvpci_bus *bus;
    uint16_t vf;
    uint32_t slot;
    pthread_t poller;
    bool polling;
};

/* The shared world (tools/world.h) and borrowed pointers into it, under the names the benchmarks use. */
struct bw_world {
    struct world *world;
    struct wdf_host *host;
    struct pv_platform *plat;
    struct pv_sriov_dev *dev;
    PCIVIRT_BUS_INTERFACE bus;
    struct wdf_node *node;
    struct vsp_stack *s;
    int pf;
    unsigned nguests;
    atomic_bool stop_polling;
    struct bw_guest guest[BW_MAX_VMS];
};

static inline void
bw_die(const char *what)
{
    fprintf(stderr, "bench: %s failed\n", what);
    exit(1);
}

#define BW_CHECK(cond, what)                                                                                           \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            bw_die(what);                                                                                              \
        }                                                                                                              \
    } while (0)

static inline void
bw_borrow(struct bw_world *w)
{
    w->host = world_host(w->world);
    w->plat = world_platform(w->world);
    w->dev = world_pf_dev(w->world, 0);
    w->bus = *world_pf_bus(w->world, 0);
    w->node = world_pf_node(w->world, 0);
    w->s = world_stack(w->world);
    w->pf = world_pf_id(w->world, 0);
    for (unsigned i = 0; i < w->nguests; i++) {
        struct bw_guest *g = &w->guest[i];

        g->w = w;
        g->wv = world_vm_at(w->world, i);
        g->vm = world_vm_stack_vm(g->wv);
        g->host = world_vm_host(g->wv);
        g->bus = world_vm_bus(g->wv);
        g->vf = (uint16_t)i;
        g->slot = world_vm_slot(g->wv);
        BW_CHECK(swvf_of(gvpci_bus_dev(g->bus, g->slot)) != NULL, "guest VF driver probe");
    }
}

/* The world with @nguests VMs (VM i, "vm<i>", holds VF i); @nvfs VFs enabled (>= @nguests). */
static inline struct bw_world *
bw_world_new(unsigned nguests, unsigned nvfs)
{
    struct bw_world *w = pv_calloc(1, sizeof(*w));
    struct world_vm_config vms[BW_MAX_VMS];
    char names[BW_MAX_VMS][16];
    struct world_config cfg = {.clock = WDF_CLOCK_VIRTUAL,
                               .verifier_off = true,
                               .policy = {.on_no_answer = VSP_STOP_VETO},
                               .pf = {.initial_vfs = (uint16_t)nvfs},
                               .n_vms = nguests,
                               .vms = vms};
    struct world_error err;

    BW_CHECK(w != NULL && nguests <= BW_MAX_VMS && nvfs >= nguests && nvfs != 0, "world arguments");
    memset(vms, 0, sizeof(vms));
    for (unsigned i = 0; i < nguests; i++) {
        snprintf(names[i], sizeof(names[i]), "vm%u", i);
        vms[i] = (struct world_vm_config){.name = names[i], .pf = 0, .vf = (int)i};
    }
    if (world_create(&cfg, &w->world, &err) != 0) {
        fprintf(stderr, "bench: world: %s: %s\n", world_step_name(err.step), err.message);
        exit(1);
    }
    w->nguests = nguests;
    bw_borrow(w);
    return w;
}

static inline void *
bw_poller(void *arg)
{
    struct bw_guest *g = arg;

    pv_thread_name("bw-guest", (int)g->vf);
    while (!atomic_load(&g->w->stop_polling)) {
        gvpci_bus_poll(g->bus, 50 * (int64_t)VSP_NS_PER_MS); /* wakes at once on a message */
    }
    return NULL;
}

/* Each guest answers its channel from a thread of its own (a vCPU), as a VM would. */
static inline void
bw_pollers_start(struct bw_world *w)
{
    atomic_store(&w->stop_polling, false);
    for (unsigned i = 0; i < w->nguests; i++) {
        BW_CHECK(pthread_create(&w->guest[i].poller, NULL, bw_poller, &w->guest[i]) == 0, "poller thread");
        w->guest[i].polling = true;
    }
}

static inline void
bw_pollers_stop(struct bw_world *w)
{
    atomic_store(&w->stop_polling, true);
    for (unsigned i = 0; i < w->nguests; i++) {
        if (w->guest[i].polling) {
            pthread_join(w->guest[i].poller, NULL);
            w->guest[i].polling = false;
        }
    }
}

static inline void
bw_world_free(struct bw_world *w)
{
    bw_pollers_stop(w);
    world_destroy(w->world);
    pv_free(w);
}

/* The guest's VF device on VM @i. */
static inline struct gvpci_dev *
bw_gdev(struct bw_world *w, unsigned i)
{
    return gvpci_bus_dev(w->guest[i].bus, w->guest[i].slot);
}

#endif /* PCIVIRT_BENCH_WORLD_H */
