/*
 * bench/bench_world.h - the whole machine for the path benchmarks (issue 8
 * benchmarks 1, 4 and 5): the software device in a runtime host, the REAL
 * reference PF driver (src/pf) on it, the virtualization stack (src/vsp)
 * discovering it, and N VMs, each running the guest vPCI bus driver and the
 * sample VF driver (src/guest) on its own VF.  The bring-up is the one
 * tests/guest/test_stack.c uses; here a failure is fatal (exit 1) because a
 * benchmark with a half-built world would measure nothing.
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
#include "vsp/stack.h"

#define BW_MAX_VMS 64
#define BW_MEM (64u << 20)
#define BW_LOW_BASE 0xF0000000ull
#define BW_LOW_SIZE 0x08000000ull
#define BW_HIGH_BASE 0x100000000ull
#define BW_HIGH_SIZE 0x40000000ull
#define BW_REAL_MS 10000u

struct bw_world;

struct bw_guest {
    struct bw_world *w;
    struct vsp_stack_vm *vm;
    struct vsp_vpci_host *host; /* the VM's MMIO exits */
    struct gvpci_bus *bus;
    struct gvpci_driver drv;
    uint16_t vf;
    uint32_t slot;
    pthread_t poller;
    bool polling;
};

struct bw_world {
    struct wdf_host *host;
    struct pv_platform *plat;
    struct pv_sriov_dev *dev;
    struct pv_profile prof;
    PCIVIRT_BUS_INTERFACE bus;
    struct wdf_node *node;
    struct wdf_driver_module *drv;
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

static inline int
bw_mmio_read(void *ctx, uint64_t gpa, void *data, uint32_t len)
{
    return vsp_vpci_host_mmio_read(((struct bw_guest *)ctx)->host, gpa, data, len);
}

static inline int
bw_mmio_write(void *ctx, uint64_t gpa, const void *data, uint32_t len)
{
    return vsp_vpci_host_mmio_write(((struct bw_guest *)ctx)->host, gpa, data, len);
}

static inline int
bw_mem_read(void *ctx, uint64_t gpa, void *data, size_t len)
{
    return vsp_gmem_read(vsp_vm_memory(vsp_stack_vm_vm(((struct bw_guest *)ctx)->vm)), gpa, data, len);
}

static inline int
bw_mem_write(void *ctx, uint64_t gpa, const void *data, size_t len)
{
    return vsp_gmem_write(vsp_vm_memory(vsp_stack_vm_vm(((struct bw_guest *)ctx)->vm)), gpa, data, len);
}

static inline void
bw_irq_sink(void *ctx, uint32_t vector, uint32_t dest)
{
    struct bw_guest *g = ctx;

    (void)dest;
    gvpci_bus_deliver_irq(g->bus, vector);
}

static inline void
bw_make_device(struct bw_world *w, unsigned nvfs)
{
    struct pcivirt_bus_resources res;
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&w->bus};
    struct wdf_pdo_config cfg;

    pv_profile_default(&w->prof);
    w->prof.initial_vfs = (uint16_t)nvfs;
    BW_CHECK(pv_platform_create(NULL, &w->plat) == 0, "platform");
    BW_CHECK(pv_sriov_create(&w->prof, &w->dev, NULL) == 0, "device");
    BW_CHECK(pv_sriov_assign_resources(w->dev, w->plat, NULL) == 0, "resources");
    pv_sriov_bus_interface(w->dev, &w->bus);
    pv_sriov_query_resources(w->dev, &res);
    memset(&cfg, 0, sizeof(cfg));
    cfg.hardware_id = "PCI\\VEN_8086&DEV_10FB";
    cfg.instance_id = "0000:03:00.0";
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    BW_CHECK(wdf_pdo_create(w->host, &cfg, &w->node) == STATUS_SUCCESS, "PDO");
}

/* VM @i with VF @vf assigned, its guest bus started and the VF driver bound. */
static inline void
bw_start_guest(struct bw_world *w, unsigned i, uint16_t vf)
{
    struct bw_guest *g = &w->guest[i];
    char name[16];
    struct vsp_stack_vm_config vc = {.name = name, .memory_bytes = BW_MEM, .irq_sink = bw_irq_sink, .irq_ctx = g};
    struct gvpci_config gc = {.platform = {.ctx = g,
                                           .mmio_read = bw_mmio_read,
                                           .mmio_write = bw_mmio_write,
                                           .mem_read = bw_mem_read,
                                           .mem_write = bw_mem_write,
                                           .mmio_low_base = BW_LOW_BASE,
                                           .mmio_low_size = BW_LOW_SIZE,
                                           .mmio_high_base = BW_HIGH_BASE,
                                           .mmio_high_size = BW_HIGH_SIZE}};
    struct pcivirt_error err;

    snprintf(name, sizeof(name), "vm%u", i);
    g->w = w;
    g->vf = vf;
    BW_CHECK(vsp_stack_vm_create(w->s, &vc, &g->vm) == 0, "VM");
    g->host = vsp_stack_vm_host(g->vm);
    BW_CHECK(vsp_stack_assign(w->s, w->pf, vf, g->vm, &g->slot) == 0, "assign");
    gc.channel = vsp_stack_vm_channel(g->vm);
    BW_CHECK(gvpci_bus_create(&gc, &g->bus) == 0, "guest bus");
    swvf_driver_init(&g->drv, w->prof.vendor_id, w->prof.vf_device_id);
    BW_CHECK(gvpci_bus_register_driver(g->bus, &g->drv) == 0, "guest driver");
    BW_CHECK(gvpci_bus_start(g->bus, &err) == 0, "guest bus start");
    BW_CHECK(swvf_of(gvpci_bus_dev(g->bus, g->slot)) != NULL, "guest VF driver probe");
}

/* The world with @nguests VMs (VM i holds VF i); @nvfs VFs enabled (>= @nguests). */
static inline struct bw_world *
bw_world_new(unsigned nguests, unsigned nvfs)
{
    struct bw_world *w = pv_calloc(1, sizeof(*w));
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL, .verifier_off = true};
    struct vsp_stack_config sc;
    struct pv_dma_port dma;
    struct pv_irq_port irq;

    BW_CHECK(w != NULL && nguests <= BW_MAX_VMS && nvfs >= nguests, "world arguments");
    BW_CHECK(wdf_host_create(&hc, &w->host) == STATUS_SUCCESS, "runtime host");
    wdf_thread_bind(w->host);
    bw_make_device(w, nvfs);
    sc = (struct vsp_stack_config){.host = w->host, .platform = w->plat, .policy = {.on_no_answer = VSP_STOP_VETO}};
    BW_CHECK(vsp_stack_create(&sc, &w->s) == 0, "stack");
    vsp_stack_ports(w->s, &dma, &irq);
    pv_sriov_set_ports(w->dev, &dma, &irq);
    BW_CHECK(wdf_driver_load(w->host, "pcivirt_pf", PfDriverEntry, &w->drv) == STATUS_SUCCESS, "PF driver load");
    BW_CHECK(wdf_node_add_driver(w->node, w->drv, WDF_ROLE_FUNCTION) == STATUS_SUCCESS, "PF driver add");
    BW_CHECK(wdf_pnp_start(w->node) == STATUS_SUCCESS, "PF start");
    BW_CHECK(vsp_stack_start(w->s) == 0, "stack start");
    BW_CHECK(vsp_stack_wait_pfs(w->s, 1, BW_REAL_MS), "PF discovery");
    w->pf = vsp_stack_pf_find(w->s, "0000:03:00.0");
    BW_CHECK(w->pf >= 0, "PF lookup");
    for (unsigned i = 0; i < nguests; i++) {
        bw_start_guest(w, i, (uint16_t)i);
        w->nguests++;
    }
    return w;
}

static inline void *
bw_poller(void *arg)
{
    struct bw_guest *g = arg;

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
    for (unsigned i = 0; i < w->nguests; i++) {
        gvpci_bus_destroy(w->guest[i].bus);
    }
    pv_sriov_set_ports(w->dev, NULL, NULL);
    vsp_stack_destroy(w->s);
    wdf_host_destroy(w->host);
    wdf_thread_bind(NULL);
    pv_sriov_destroy(w->dev);
    pv_platform_destroy(w->plat);
    pv_free(w);
}

/* The guest's VF device on VM @i. */
static inline struct gvpci_dev *
bw_gdev(struct bw_world *w, unsigned i)
{
    return gvpci_bus_dev(w->guest[i].bus, w->guest[i].slot);
}

#endif /* PCIVIRT_BENCH_WORLD_H */
