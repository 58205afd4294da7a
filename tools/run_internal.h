/*
 * tools/run_internal.h - the executor's own structures, shared by tools/run_*.c.
 *
 * Files: run_world.c builds and tears down the machine around the stack facade
 * (vsp/stack.h: discovery, brokers, VMs); run_guest.c is a VM (its platform
 * callbacks, its bus driver), run_ops.c what its VF driver does (the workload
 * operations and their oracles, the hostile extras); run_steps.c executes
 * timeline steps, run_rebalance.c the rebalance through the stack's broker;
 * run_check.c keeps the invariants and prints the summary.
 *
 * Every check an operation makes goes through run_check(): one call per
 * checked fact, naming the invariant, so the summary's counts are the number of
 * facts checked, and a failure carries a one-line reason.
 */
#ifndef PCIVIRT_TOOLS_RUN_INTERNAL_H
#define PCIVIRT_TOOLS_RUN_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev/platform.h"
#include "dev/profile.h"
#include "dev/sriov_dev.h"
#include "guest/swvf.h"
#include "guest/vpci_bus.h"
#include "pcivirt/wdf.h"
#include "run.h"
#include "vsp/events.h"
#include "vsp/iommu.h"
#include "vsp/pfif.h"
#include "vsp/stack.h"
#include "vsp/vmm.h"
#include "vsp/vpci_host.h"
#include "world.h"

/* Bounds on waiting for a guest: one poll, rounds of polls (the world's settle uses the same), one request. */
#define RUN_POLL_NS WORLD_POLL_NS
#define RUN_SETTLE_ROUNDS WORLD_SETTLE_ROUNDS
#define RUN_WAIT_NS (5 * (int64_t)VSP_NS_PER_S)

/* The invariants a run checks (docs/CLI.md "pcivirt run"). */
enum run_inv {
    RUN_INV_STEPS,        /* every step could be executed */
    RUN_INV_GUEST_OPS,    /* the guest drivers' operations did what the device says */
    RUN_INV_DMA,          /* DMA landed in its own VM's memory and nowhere else */
    RUN_INV_MAC,          /* each guest read the MAC the PF set, before and after invalidation */
    RUN_INV_IRQ,          /* every interrupt reached only its own VM */
    RUN_INV_PREDICTED,    /* each step's predicted outcome matched what the stack did */
    RUN_INV_EXACTLY_ONCE, /* events (PF notifications, invalidations) delivered exactly once */
    RUN_INV_HANDOFF,      /* every VF leaving a VM was reset and checked clean */
    RUN_INV_TEARDOWN,     /* nothing leaked at teardown (verifier clean, references released) */
    RUN_INV_COUNT
};

struct run_inv_state {
    uint64_t checked;
    uint64_t failed;
    char first[320]; /* the first failure's reason */
};

/* A scenario device; dev, node and pfdev are borrowed from the world (tools/world.h). */
struct run_dev {
    const struct scenario_device *sd;
    struct pv_profile *prof;
    struct pv_sriov_dev *dev;
    struct wdf_node *node;
    WDFDEVICE pfdev; /* the reference PF driver's device (pf_admin_*) */
    int pf_id;       /* the stack's PF id */
    uint16_t num_vfs;
    uint16_t pf_rid; /* the PF's routing ID (kept after the device is gone) */
    bool removed;    /* surprise-removed: no step may use it */
    char instance[32];
};

/* A scenario VM; svm, vm, host, guest_ch and bus are borrowed from its world VM. */
struct run_vm {
    const struct scenario_vm *sv;
    struct run *run;
    struct world_vm *wv;      /* the world's VM: the stack's VM and the guest bus */
    struct vsp_stack_vm *svm; /* the stack's VM: owns vm, host and the channel */
    struct vsp_vm *vm;
    struct vsp_vpci_host *host;
    struct vmbus_channel *guest_ch;
    struct gvpci_bus *bus; /* NULL once the guest stopped */
    uint32_t misbehave;
    uint64_t mem_bytes;
    /* what the VM saw */
    uint64_t irqs;         /* interrupts its controller received */
    uint64_t irqs_foreign; /* ... for a vector none of its devices owns */
    uint64_t ops, dma_bytes, dma_faults, blocks, macs, invalidations, mmio, malformed_sent;
    uint64_t vfs_gained, vfs_lost;
    uint32_t version;                   /* negotiated vPCI protocol version */
    uint64_t mmio_direct, mmio_trapped; /* from its vPCI host, kept at teardown */
};

struct run {
    const struct scenario *sc;
    struct run_options opt;
    struct world *world; /* the machine (tools/world.h); host, stack and plat are borrowed from it */
    struct wdf_host *host;
    struct vsp_stack *stack;
    struct vsp_event_log *log; /* the stack's parts (borrowed) */
    struct vsp_vpci *vpci;
    struct vsp_vmm *vmm;
    struct pv_platform *plat;
    /* the event log as it was when the stack went away (summary, --events) */
    struct vsp_event *final_events;
    size_t n_final;
    uint64_t final_totals[VSP_EV_TYPE_COUNT + 1];
    uint64_t final_dropped;
    struct run_dev *devs;
    size_t n_devs;
    struct run_vm *vms;
    size_t n_vms;
    pthread_mutex_t lock; /* verifier reports, irq accounting from device threads */
    bool lock_ready;
    uint64_t verifier_reports;
    char verifier_first[320];
    struct run_inv_state inv[RUN_INV_COUNT];
    uint64_t printed_seq;      /* last event already shown in the timeline */
    size_t step;               /* current step (progress) */
    long long progress_ns;     /* when the progress line was last drawn */
    struct vsp_event *pending; /* events added since the last print (listener) */
    size_t n_pending;
    uint64_t pending_dropped;
    bool torn_down;
};

/* ---- run_world.c ---- */
int run_world_build(struct run *r, struct run_error *err);
void run_world_teardown(struct run *r);
/* run_advance() - let @ns of stack time pass (virtual: instant; real: sleep), then apply deadlines. */
void run_advance(struct run *r, uint64_t ns);
struct run_vm *run_vm_by_id(struct run *r, int vm_id);
/* run_holder() - the VM holding VF @vf of @d now (the stack's VM manager), or NULL. */
struct run_vm *run_holder(struct run *r, struct run_dev *d, uint32_t vf);

/* run_total() - events of @type so far (VSP_EV_TYPE_COUNT: all), also after the stack is gone. */
uint64_t run_total(struct run *r, enum vsp_event_type type);

/* ---- run_rebalance.c ---- */
void run_rebalance(struct run *r, const struct scenario_step *st);

/* ---- run_guest.c (the VM) and run_ops.c (what its driver does) ---- */
/* run_guest_create() - the world VM of scenario VM @v: in the stack, its guest bus created (not started). */
int run_guest_create(struct run *r, struct run_vm *v, struct world_error *err);
/* run_guest_start() - start and settle @v's guest bus; count the VFs it gained. */
int run_guest_start(struct run_vm *v, struct world_error *err);
/* run_guest_stop() - stop and destroy @v's guest bus (the VM stays). */
void run_guest_stop(struct run_vm *v);
/* run_guest_set_misbehave() - @v misbehaves as @misbehave (SCENARIO_GUEST_*) from now on; its bus keeps running. */
void run_guest_set_misbehave(struct run_vm *v, uint32_t misbehave);
/* run_guest_settle() - poll the guest until its bus matches the stack's view (bounded). */
bool run_guest_settle(struct run_vm *v);
/* run_guest_workload() - the VM's workload once over every VF it holds. */
void run_guest_workload(struct run *r, struct run_vm *v);
/* run_guest_pf_set_mac() - the PF gives VF @vf of @d a MAC; the holder must re-read it. */
void run_guest_pf_set_mac(struct run *r, struct run_dev *d, uint32_t vf, const uint8_t *mac, bool has_mac);
struct gvpci_dev *run_guest_find(struct run_vm *v, int pf, uint32_t vf);
void run_guest_poll(struct run_vm *v);
/* run_guest_invalidations() - PCI_INVALIDATE_BLOCK messages @v's bus has received so far. */
uint64_t run_guest_invalidations(struct run_vm *v);
void run_guests_poll(struct run *r);

/*
 * run_await_logged() - wait (bounded: RUN_SETTLE_ROUNDS x RUN_POLL_NS) until the
 * stack's log holds more than @before events of @type.  An event the stack logs
 * after the guest saw its effect (PCI_INVALIDATE_BLOCK is logged once sent) must
 * be in the log before the runner's next step, or the timeline would show the
 * next step's events first.  Returns whether it came.
 */
bool run_await_logged(struct run *r, enum vsp_event_type type, uint64_t before);

/* ---- run_steps.c ---- */
void run_step(struct run *r, const struct scenario_step *st);
/* run_eject() - orderly removal of VF @vf of @d from @v, judged against @expect_forced. */
void run_eject(struct run *r, struct run_vm *v, struct run_dev *d, uint32_t vf, bool expect_forced, const char *why);
/* run_eject_all() - teardown: eject every VF still held. */
void run_eject_all(struct run *r);

/* ---- run_check.c ---- */
bool run_check(struct run *r, enum run_inv inv, bool ok, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
const char *run_inv_name(enum run_inv inv);        /* "dma-isolation" */
const char *run_inv_description(enum run_inv inv); /* "every DMA landed in its own VM's memory ..." */
void run_print_events(struct run *r);
void run_print_summary(struct run *r);
bool run_all_held(const struct run *r);
int run_events_init(struct run *r);
/* run_on_event() - the event log's listener: queue for the next run_print_events(). */
void run_on_event(void *ctx, const struct vsp_event *ev);
void run_mac_seeded(const struct run *r, uint64_t salt, uint8_t mac[6]);
uint64_t run_rand(uint64_t *state);
int run_printf(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void run_progress(struct run *r, const char *what);

#endif /* PCIVIRT_TOOLS_RUN_INTERNAL_H */
