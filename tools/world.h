/*
 * tools/world.h - the whole modelled machine, built one way for everybody: the
 * runner (tools/run_world.c), the tests (tests/guest, tests/stress,
 * tests/regress) and the benchmarks (bench/bench_world.h).
 *
 * Why it is shaped so.  A "world" is the runtime host (src/wdf), a platform
 * address space with software SR-IOV devices on it (src/dev), each behind a
 * PDO exporting the device's bus interface with the reference PF driver
 * (src/pf) as its FDO, the virtualization stack (src/vsp) discovering those
 * PFs, and VMs whose guests run the vPCI bus driver and the sample VF driver
 * (src/guest).  Guest and stack may never include each other
 * (scripts/check-layers.sh), so the piece that joins them - a guest's MMIO
 * exits into its VM's vPCI host, its DMA into the VM's memory, the VM's
 * interrupt controller calling the guest bus - can only live above both: here,
 * in the command's layer, which tests, benchmarks and fuzzers link too.
 *
 * Two ways in.  world_create() builds the common machine in one call (one
 * default device, the stack started, VMs each holding one VF with their guests
 * up).  The step functions (world_open, world_pf_add, world_stack_start,
 * world_vm_add, world_vm_start, world_stack_down/up) are the same code in
 * pieces, for callers that do something in between (the runner points each
 * failure at its scenario field; the stress test gives every VF a MAC before
 * the stack attaches and re-attaches stacks).  Every failure names its step in
 * a struct world_error; nothing here asserts, prints or exits - the caller
 * decides (cmocka assertion, exit code, fatal benchmark error).
 *
 * Ownership.  The world owns everything it built; callers may keep borrowed
 * pointers (accessors below) until the part goes away.  world_destroy()
 * accepts NULL and a half-built world (any step may have failed) and frees
 * all of it, newest first: guests, stack (and with it the VMs), runtime host
 * (device nodes, drivers), devices, platform.
 *
 * Threads.  A world is built and torn down on one thread, which it binds to
 * the runtime host (wdf_thread_bind).  The platform callbacks run on whatever
 * thread the guest calls from; the interrupt sink on the thread that rang the
 * doorbell.
 */
#ifndef PCIVIRT_TOOLS_WORLD_H
#define PCIVIRT_TOOLS_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/platform.h"
#include "dev/profile.h"
#include "dev/sriov_dev.h"
#include "guest/vpci_bus.h"
#include "pcivirt/wdf.h"
#include "vsp/stack.h"

/* Defaults: VFs of the default device, guest RAM, the wait for discovery, one guest poll, settle rounds. */
#define WORLD_DEFAULT_VFS 8u
#define WORLD_DEFAULT_MEMORY (64ull << 20)
#define WORLD_DISCOVERY_MS 10000u
#define WORLD_POLL_NS (20 * (int64_t)VSP_NS_PER_MS)
#define WORLD_SETTLE_ROUNDS 150

struct world;
struct world_vm;

/* The step a bring-up failed in (world_error.step). */
enum world_step {
    WORLD_STEP_NONE,
    WORLD_STEP_ARGS,        /* a configuration the world cannot build */
    WORLD_STEP_MEMORY,      /* out of memory for the world's own records */
    WORLD_STEP_HOST,        /* runtime host */
    WORLD_STEP_PLATFORM,    /* platform address space */
    WORLD_STEP_PF_DRIVER,   /* the reference PF driver did not load */
    WORLD_STEP_STACK,       /* the stack could not be created */
    WORLD_STEP_DEVICE,      /* the software device refused the profile (message: why) */
    WORLD_STEP_RESOURCES,   /* resource assignment on the platform (message: why) */
    WORLD_STEP_ENABLE,      /* the device refused to enable VFs (message: why) */
    WORLD_STEP_PF_START,    /* PDO, FDO or start (code: the NTSTATUS) */
    WORLD_STEP_STACK_START, /* the stack did not start */
    WORLD_STEP_DISCOVERY,   /* not every PF bound and attached in time, or one not found */
    WORLD_STEP_VM,          /* the stack refused the VM */
    WORLD_STEP_ASSIGN,      /* the stack refused the assignment (code: PCIVIRT_E*) */
    WORLD_STEP_GUEST,       /* the guest bus could not be created or its driver registered */
    WORLD_STEP_GUEST_START, /* the guest bus did not start (message: the bus's reason) */
    WORLD_STEP_GUEST_SETTLE /* the guest's VF drivers did not come up within the bound */
};

struct world_error {
    enum world_step step;
    long code;         /* PCIVIRT_E*, NTSTATUS or 0, as the step says */
    int pf, vm;        /* index of the PF / VM concerned, or -1 */
    char message[320]; /* one line, names what failed */
};

/* world_step_name() - "guest bus start" and so on, for messages. */
const char *world_step_name(enum world_step step);

/* Called, besides the world's own count, for each verifier report (any thread, host mutex held). */
typedef void world_report_fn(void *ctx, const struct wdf_verifier_report *rep);

/* Called on each interrupt the VM's controller receives, before the guest bus gets it. */
typedef void world_irq_fn(void *ctx, struct world_vm *vm, uint32_t vector);

struct world_pf_config {
    const struct pv_profile *prof; /* copied; NULL: the default profile with @initial_vfs */
    uint16_t initial_vfs;          /* with the default profile; 0: WORLD_DEFAULT_VFS */
    const char *hardware_id;       /* NULL: "PCI\VEN_<vendor>&DEV_<device>" of the profile */
    const char *instance_id;       /* NULL: the PF's location "SSSS:BB:DD.F" (see @tag_instance) */
    bool tag_instance;             /* with the derived id: append "-<PF index>" (several alike devices) */
    uint16_t enable_vfs;           /* enable as Linux sriov_enable would before the driver starts; 0: no */
};

struct world_vm_config {
    const char *name;                      /* NULL: the stack's "vm<id>" */
    uint64_t memory_bytes;                 /* 0: WORLD_DEFAULT_MEMORY */
    int pf, vf;                            /* assign VF @vf of PF @pf (world index) at once; @vf < 0: nothing */
    uint32_t versions[GVPCI_MAX_VERSIONS]; /* offer list; all zero: the guest's default */
    int64_t wait_ns;                       /* guest request bound; 0: the guest's default */
    bool ignore_eject;                     /* misbehaving guest: never answers PCI_EJECT */
    bool ignore_query_stop;                /* misbehaving guest: never answers PCI_QUERY_STOP */
    world_irq_fn *on_irq;                  /* NULL: none */
    void *irq_ctx;
};

struct world_config {
    enum wdf_clock_kind clock; /* WDF_CLOCK_MONOTONIC or WDF_CLOCK_VIRTUAL */
    bool verifier_off;         /* the runtime's verifier is on unless this is set */
    world_report_fn *on_report;
    void *report_ctx;
    bool no_stack;                  /* the PFs only: no virtualization stack, no VMs */
    struct vsp_stack_policy policy; /* the stack's */
    size_t log_capacity;            /* the stack's event log; 0: its default */
    unsigned discovery_ms;          /* bound on discovery; 0: WORLD_DISCOVERY_MS */
    /* What world_create() builds on top of world_open(). */
    struct world_pf_config pf; /* its one device */
    unsigned n_vms;
    const struct world_vm_config *vms;
};

/**
 * world_create() - the whole machine of @cfg: world_open(), one PF (@cfg->pf),
 * the stack started and the PF discovered (unless @cfg->no_stack), every VM of
 * @cfg->vms added with its VF assigned and its guest started and settled.
 * @out: receives the world, or NULL on failure (everything built is freed).
 * @err: filled on failure (may be NULL).
 * Return: 0 or -1.
 */
int world_create(const struct world_config *cfg, struct world **out, struct world_error *err);

/**
 * world_open() - runtime host (bound to this thread), platform, the reference
 * PF driver loaded, the stack created but not started (unless @cfg->no_stack).
 * Only @cfg's host and stack fields are used.  Return: 0 or -1 (then *@out is
 * NULL and nothing is left).
 */
int world_open(const struct world_config *cfg, struct world **out, struct world_error *err);

/**
 * world_pf_add() - a software device on the platform (the stack's IOMMU ports
 * plugged in when there is a stack), resources assigned, VFs enabled if asked,
 * its PDO exporting the bus interface, the reference PF driver added as FDO
 * and started.  The stack discovers it at world_stack_start().
 * Return: the PF's world index (0, 1, ...), or -1.  A device that failed stays
 * in the world (index err->pf) until world_destroy().
 */
int world_pf_add(struct world *w, const struct world_pf_config *pc, struct world_error *err);

/**
 * world_stack_start() - start the stack, wait (real time, bounded) until every
 * PF is bound and attached, and learn each PF's stack id.  Return: 0 or -1.
 */
int world_stack_start(struct world *w, struct world_error *err);

/**
 * world_vm_add() - a VM in the stack, the VF of @vc assigned, and its guest
 * vPCI bus created on the VM's channel with the sample VF driver registered
 * for every distinct VF identity among the world's PFs (not started).
 * @out: NULL, or receives the VM - also when it failed half-way: it stays in
 * the world (world_vm_destroy, world_stack_down or world_destroy free it).
 * Return: 0 or -1.
 */
int world_vm_add(struct world *w, const struct world_vm_config *vc, struct world_vm **out, struct world_error *err);

/**
 * world_vm_start() - start the guest bus (negotiation, D0, relations, probes)
 * and settle it (world_vm_settle).  Return: 0 or -1.
 */
int world_vm_start(struct world_vm *vm, struct world_error *err);

/**
 * world_vm_settle() - poll the guest (WORLD_SETTLE_ROUNDS of WORLD_POLL_NS at
 * most) until its children are exactly the stack's exposures of the VM, each
 * assigned one with its VF driver bound.  Return: whether they are.
 */
bool world_vm_settle(struct world_vm *vm);

/* world_vm_stop() - stop the guest bus (D0 exit) and destroy it; the VM stays.  NULL accepted. */
void world_vm_stop(struct world_vm *vm);

/* world_vm_destroy() - world_vm_stop(), then the VM leaves the stack and the world.  NULL accepted. */
void world_vm_destroy(struct world_vm *vm);

/**
 * world_stack_down() - the guest buses and the VMs go, the devices' IOMMU
 * ports are unplugged, the stack is destroyed (DETACH if still attached).  The
 * devices and the PF drivers stay.  No-op without a stack.
 */
void world_stack_down(struct world *w);

/**
 * world_stack_up() - a new stack with @policy on the same host and platform
 * (ports plugged in), started, its PFs discovered: a re-attach after
 * world_stack_down().  Return: 0 or -1.
 */
int world_stack_up(struct world *w, const struct vsp_stack_policy *policy, struct world_error *err);

/**
 * world_pf_move_resources() - what a rebalance's resource move does (runs on
 * the stack's rebalance thread): with @move, new resources for the device on
 * the platform; then the node is told the device's resources.  Return: 0 or -1.
 */
int world_pf_move_resources(struct world *w, unsigned pf, bool move);

/* world_destroy() - free everything, newest first.  NULL and half-built worlds accepted. */
void world_destroy(struct world *w);

/* ---- accessors (borrowed; valid while the part exists) -------------------------------------------- */

/* The machine around one PF under short names, for code that uses them all the time (world_parts()). */
struct world_parts {
    struct wdf_host *host;
    struct pv_platform *plat;
    struct vsp_stack *s; /* NULL without a stack */
    struct pv_sriov_dev *dev;
    const struct pv_profile *prof;
    struct wdf_node *node;
    WDFDEVICE device; /* the PF driver's device (pf_admin_*) */
    int pf;           /* the stack's PF id; -1 before discovery */
};

/* world_parts() - fill @out for PF @pf; call again after world_stack_down/up (the stack changed). */
void world_parts(const struct world *w, unsigned pf, struct world_parts *out);

struct wdf_host *world_host(const struct world *w);
struct pv_platform *world_platform(const struct world *w);
struct vsp_stack *world_stack(const struct world *w); /* NULL without a stack */
unsigned world_pf_count(const struct world *w);
struct pv_sriov_dev *world_pf_dev(const struct world *w, unsigned pf);
const struct pv_profile *world_pf_profile(const struct world *w, unsigned pf);
const PCIVIRT_BUS_INTERFACE *world_pf_bus(const struct world *w, unsigned pf);
struct wdf_node *world_pf_node(const struct world *w, unsigned pf);
WDFDEVICE world_pf_device(const struct world *w, unsigned pf); /* the PF driver's device (pf_admin_*) */
const char *world_pf_instance(const struct world *w, unsigned pf);
int world_pf_id(const struct world *w, unsigned pf); /* the stack's PF id; -1 before discovery */
unsigned world_vm_count(const struct world *w);
struct world_vm *world_vm_at(const struct world *w, unsigned i);

struct vsp_stack_vm *world_vm_stack_vm(const struct world_vm *vm);
struct vsp_vm *world_vm_vm(const struct world_vm *vm);
struct vsp_vpci_host *world_vm_host(const struct world_vm *vm);    /* the VM's MMIO exits */
struct vmbus_channel *world_vm_channel(const struct world_vm *vm); /* the guest end */
struct gvpci_bus *world_vm_bus(const struct world_vm *vm);         /* NULL once stopped */
uint32_t world_vm_slot(const struct world_vm *vm); /* the vPCI slot of the VF assigned at world_vm_add */

#endif /* PCIVIRT_TOOLS_WORLD_H */
