/*
 * tools/run_world.c - building and tearing down the machine a scenario describes.
 *
 * The machine is the shared world (tools/world.h: the same bring-up the tests
 * and benchmarks use); this file maps a scenario onto its steps and points
 * every failure at the scenario field behind it.  Bring-up order:
 *   runtime host (virtual or monotonic clock, verifier on, reports counted),
 *   the shared platform address space, the reference PF driver loaded ->
 *   the stack (vsp/stack.h) created on that host: its clock is the host's, so a
 *   virtual-clock run advances PF driver timers and stack deadlines together ->
 *   per device: profile (built-in or dump), software device with the stack's
 *   IOMMU ports, resources, VFs enabled the way Linux's sriov_enable does (so a
 *   refused enable shows the device's own arithmetic), a bus PDO exporting the
 *   device's bus interface, the reference PF driver added as its FDO, started ->
 *   the stack started: it discovers each PF through the device-interface
 *   registry, binds and ATTACHes it (the runner only waits and maps instance ids
 *   to the stack's PF ids) -> VMs with their channels -> the initial assignments
 *   -> the guests' bus drivers started.
 * Teardown is the reverse: guests stop, VMs go, the stack shuts down (DETACH,
 * held requests cancelled, tables dereferenced) - then the PF driver must hold no
 * interface reference and have delivered every event it raised - the event log
 * is kept, the stack is destroyed, each device node removed through the PnP
 * manager, the runtime host destroyed (its verifier must have stayed silent),
 * then devices and platform.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lspci_model.h"
#include "pf/pf.h"
#include "run_internal.h"
#include "util/alloc.h"

#define RUN_LOG_CAPACITY 65536u
#define RUN_DISCOVERY_MS 5000u

static void
on_report(void *ctx, const struct wdf_verifier_report *rep)
{
    struct run *r = ctx;

    pthread_mutex_lock(&r->lock);
    if (r->verifier_reports++ == 0) {
        snprintf(r->verifier_first, sizeof(r->verifier_first), "%s on %.60s (ioctl 0x%08x): %.200s", rep->rule_name,
                 rep->device, rep->ioctl, rep->message);
    }
    pthread_mutex_unlock(&r->lock);
}

static int fail_at(struct run *r, struct run_error *err, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A bring-up error; with @path it points into the scenario file (scenario_where). */
static int
fail_at(struct run *r, struct run_error *err, int code, const char *path, const char *fmt, ...)
{
    unsigned line = 0, col = 0;
    size_t n = 0;
    va_list ap;

    err->exit_code = code;
    if (path != NULL && scenario_where(r->sc, path, &line, &col)) {
        n = (size_t)snprintf(err->message, sizeof(err->message), "%s:%u:%u: %s: ", r->sc->file, line, col, path);
    } else if (path != NULL) {
        n = (size_t)snprintf(err->message, sizeof(err->message), "%s: %s: ", r->sc->file, path);
    }
    if (n < sizeof(err->message)) {
        va_start(ap, fmt);
        vsnprintf(err->message + n, sizeof(err->message) - n, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void
device_path(size_t i, const char *field, char *buf, size_t size)
{
    snprintf(buf, size, "devices[%zu].%s", i, field);
}

/* The profile of scenario device @i, placed where the scenario says. */
static int
device_profile(struct run *r, size_t i, struct run_error *err)
{
    const struct scenario_device *sd = &r->sc->devices[i];
    struct run_dev *d = &r->devs[i];
    struct lspci_spec spec = {.num_vfs = sd->num_vfs, .ari = -1};
    struct pcivirt_error e;
    char fn[24], path[64];
    unsigned line;

    if (sd->source == SCENARIO_SOURCE_DUMP && sd->has_pf) {
        snprintf(fn, sizeof(fn), "%04x:%02x:%02x.%x", sd->pf_segment, sd->pf_bus, sd->pf_device, sd->pf_function);
        spec.function = fn;
    }
    snprintf(path, sizeof(path), "builtin:%s", sd->builtin);
    spec.device = sd->source == SCENARIO_SOURCE_BUILTIN ? path : sd->dump_path;
    if (lspci_model_profile(&spec, d->prof, &line, &e) != CLI_EXIT_OK) {
        device_path(i, sd->source == SCENARIO_SOURCE_BUILTIN ? "source" : "num_vfs", path, sizeof(path));
        if (strstr(e.message, "TotalVFs") == NULL) {
            device_path(i, "source", path, sizeof(path));
        }
        return fail_at(r, err, CLI_EXIT_USAGE, path, "%s", e.message);
    }
    if (sd->source == SCENARIO_SOURCE_BUILTIN) {
        uint8_t bus = sd->has_pf ? sd->pf_bus : (sd->has_bus_range ? sd->bus_first : 1);

        d->prof->segment = sd->has_pf ? sd->pf_segment : 0;
        d->prof->pf_rid =
            sd->has_pf ? (uint16_t)(bus << 8 | sd->pf_device << 3 | sd->pf_function) : (uint16_t)(bus << 8);
    }
    if (sd->ari && !d->prof->has_ari) {
        device_path(i, "ari", path, sizeof(path));
        return fail_at(r, err, CLI_EXIT_USAGE, path,
                       "%s: the PF has no ARI extended capability (0x000e), so ARI Capable Hierarchy cannot be set; "
                       "use \"ari\": false",
                       d->prof->name);
    }
    d->prof->ari_forwarding = sd->ari;
    if (sd->has_bus_range) {
        if (sd->bus_first != d->prof->pf_rid >> 8) {
            device_path(i, "bus_range", path, sizeof(path));
            return fail_at(r, err, CLI_EXIT_USAGE, path, "the range must start at the PF's bus %02x",
                           d->prof->pf_rid >> 8);
        }
        d->prof->bus_range_set = true;
        d->prof->secondary_bus = sd->bus_first;
        d->prof->subordinate_bus = sd->bus_last;
    }
    return 0;
}

/*
 * Device @i in the world: software device with the stack's ports, resources,
 * VFs enabled the way Linux's sriov_enable does (so a refused enable shows the
 * device's own arithmetic), its PDO, the PF driver started.  A failure points
 * at the scenario field that caused it.
 */
static int
device_add(struct run *r, size_t i, struct run_error *err)
{
    struct run_dev *d = &r->devs[i];
    const struct world_pf_config pc = {.prof = d->prof, .tag_instance = true, .enable_vfs = (uint16_t)d->sd->num_vfs};
    struct world_error we;
    char path[64];

    if (world_pf_add(r->world, &pc, &we) < 0) {
        switch (we.step) {
        case WORLD_STEP_DEVICE:
            device_path(i, "source", path, sizeof(path));
            return fail_at(r, err, CLI_EXIT_USAGE, path, "%s", we.message);
        case WORLD_STEP_ENABLE:
            device_path(i, d->sd->has_bus_range ? "bus_range" : "num_vfs", path, sizeof(path));
            return fail_at(r, err, CLI_EXIT_FAILED, path, "device '%s' refused to enable its VFs: %s", d->sd->name,
                           we.message);
        case WORLD_STEP_PF_START:
            return fail_at(r, err, CLI_EXIT_FAILED, NULL, "device '%s': %s", d->sd->name, we.message);
        default: return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", we.message);
        }
    }
    d->dev = world_pf_dev(r->world, (unsigned)i);
    d->node = world_pf_node(r->world, (unsigned)i);
    d->pfdev = world_pf_device(r->world, (unsigned)i);
    d->num_vfs = (uint16_t)d->sd->num_vfs;
    d->pf_rid = pv_sriov_pf_rid(d->dev);
    snprintf(d->instance, sizeof(d->instance), "%s", world_pf_instance(r->world, (unsigned)i));
    return 0;
}

/* Block ids the scenario uses besides the driver's own 0 and 1 (docs/PF-DRIVER.md). */
static void
define_blocks(struct run *r, struct run_dev *d)
{
    const struct scenario *sc = r->sc;

    for (size_t w = 0; w < sc->n_workloads; w++) {
        for (size_t o = 0; o < sc->workloads[w].n_ops; o++) {
            const struct scenario_op *op = &sc->workloads[w].ops[o];

            if (op->kind >= SCENARIO_OP_BLOCK_READ && op->kind <= SCENARIO_OP_BLOCK_EXCHANGE && op->block > 1) {
                pf_admin_define_block(d->pfdev, op->block, true);
            }
        }
    }
    for (size_t s = 0; s < sc->n_steps; s++) {
        if (sc->steps[s].action == SCENARIO_ACT_PF_BLOCK_CHANGE && sc->steps[s].block > 1) {
            pf_admin_define_block(d->pfdev, sc->steps[s].block, true);
        }
    }
}

/* Discovery is the stack's: start it, wait for every PF to be bound and attached, learn their ids. */
static int
start_stack(struct run *r, struct run_error *err)
{
    struct world_error we;

    if (world_stack_start(r->world, &we) != 0) {
        if (we.step == WORLD_STEP_DISCOVERY && we.pf >= 0) {
            return fail_at(r, err, CLI_EXIT_FAILED, NULL, "the stack did not discover device '%s'",
                           r->devs[we.pf].sd->name);
        }
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", we.message);
    }
    for (size_t i = 0; i < r->n_devs; i++) {
        r->devs[i].pf_id = world_pf_id(r->world, (unsigned)i);
        define_blocks(r, &r->devs[i]);
    }
    return 0;
}

/* VMs with their guest buses, the initial assignments, then the guests started. */
static int
make_vms(struct run *r, struct run_error *err)
{
    struct world_error we;

    for (size_t i = 0; i < r->n_vms; i++) {
        r->vms[i].sv = &r->sc->vms[i];
        if (run_guest_create(r, &r->vms[i], &we) != 0) {
            return we.step == WORLD_STEP_VM
                       ? fail_at(r, err, CLI_EXIT_FAILED, NULL, "cannot create VM '%s'", r->vms[i].sv->name)
                       : fail_at(r, err, CLI_EXIT_FAILED, NULL, "guest bring-up failed: %s", we.message);
        }
    }
    for (size_t i = 0; i < r->sc->n_assignments; i++) {
        const struct scenario_assignment *a = &r->sc->assignments[i];
        struct run_dev *d = &r->devs[a->device];
        int rc = vsp_stack_assign(r->stack, d->pf_id, (uint16_t)a->vf, r->vms[a->vm].svm, NULL);

        if (rc != 0) {
            return fail_at(r, err, CLI_EXIT_FAILED, NULL, "the stack refused to assign VF %u of '%s' to '%s' (%s)",
                           a->vf, d->sd->name, r->vms[a->vm].sv->name, pcivirt_strerror(rc));
        }
    }
    for (size_t i = 0; i < r->n_vms; i++) {
        if (run_guest_start(&r->vms[i], &we) != 0) {
            return fail_at(r, err, CLI_EXIT_FAILED, NULL, "guest bring-up failed: %s", we.message);
        }
    }
    return 0;
}

/* The world without devices: runtime host, platform, the PF driver loaded, the stack created. */
static int
make_host(struct run *r, struct run_error *err)
{
    struct world_config cfg;
    struct world_error we;

    memset(&cfg, 0, sizeof(cfg));
    cfg.clock = r->sc->options.clock == SCENARIO_CLOCK_VIRTUAL ? WDF_CLOCK_VIRTUAL : WDF_CLOCK_MONOTONIC;
    cfg.on_report = on_report;
    cfg.report_ctx = r;
    cfg.log_capacity = RUN_LOG_CAPACITY;
    cfg.discovery_ms = RUN_DISCOVERY_MS;
    cfg.policy.query_stop_timeout_ns = (uint64_t)r->sc->timing.query_stop_timeout_ms * VSP_NS_PER_MS;
    cfg.policy.on_no_answer =
        r->sc->timing.on_timeout == SCENARIO_POLICY_VETO ? VSP_STOP_VETO : VSP_STOP_SURPRISE_REMOVE;
    cfg.policy.eject_timeout_ns = (uint64_t)r->sc->timing.eject_window_ms * VSP_NS_PER_MS;
    if (world_open(&cfg, &r->world, &we) != 0) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", we.message);
    }
    if (run_events_init(r) != 0) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", "out of memory (platform)");
    }
    r->host = world_host(r->world);
    r->plat = world_platform(r->world);
    r->stack = world_stack(r->world);
    r->log = vsp_stack_log(r->stack);
    r->vmm = vsp_stack_vmm(r->stack);
    r->vpci = vsp_stack_vpci(r->stack);
    vsp_event_log_set_listener(r->log, run_on_event, r);
    return 0;
}

int
run_world_build(struct run *r, struct run_error *err)
{
    int rc = make_host(r, err);

    for (size_t i = 0; rc == 0 && i < r->n_devs; i++) {
        r->devs[i].sd = &r->sc->devices[i];
        r->devs[i].pf_id = (int)i;
        r->devs[i].prof = pv_calloc(1, sizeof(*r->devs[i].prof));
        rc = r->devs[i].prof == NULL ? fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", "out of memory") : 0;
        rc = rc != 0 ? rc : device_profile(r, i, err);
        rc = rc != 0 ? rc : device_add(r, i, err);
    }
    rc = rc != 0 ? rc : start_stack(r, err);
    return rc != 0 ? rc : make_vms(r, err);
}

struct run_vm *
run_vm_by_id(struct run *r, int vm_id)
{
    for (size_t i = 0; i < r->n_vms; i++) {
        if (r->vms[i].vm != NULL && vsp_vm_id(r->vms[i].vm) == vm_id) {
            return &r->vms[i];
        }
    }
    return NULL;
}

struct run_vm *
run_holder(struct run *r, struct run_dev *d, uint32_t vf)
{
    struct vsp_vf_info info;

    if (vsp_vmm_vf_info(r->vmm, d->pf_id, (uint16_t)vf, &info) != 0 || info.state != VSP_VF_ASSIGNED) {
        return NULL;
    }
    return run_vm_by_id(r, info.vm);
}

void
run_advance(struct run *r, uint64_t ns)
{
    if (r->sc->options.clock == SCENARIO_CLOCK_VIRTUAL) {
        wdf_host_clock_advance(r->host, ns);
    } else {
        uint64_t end = wdf_host_now(r->host) + ns;

        while (wdf_host_now(r->host) < end) {
            struct timespec ts = {0, 10 * 1000000L};

            nanosleep(&ts, NULL);
            run_progress(r, "waiting");
        }
    }
    if (r->stack != NULL) {
        vsp_stack_tick(r->stack);
    }
}

/*
 * The world destroyed the devices (after the host: the PDOs hold the bus
 * interface until their removal).  The records stay (names, PF location,
 * counts) for the summary.
 */
static void
forget_devices(struct run *r)
{
    for (size_t i = 0; i < r->n_devs; i++) {
        pv_free(r->devs[i].prof);
        r->devs[i].dev = NULL;
        r->devs[i].prof = NULL;
        r->devs[i].node = NULL;
        r->devs[i].pfdev = NULL;
    }
}

/* What the PF driver says about itself once the stack let go: events delivered once, no references. */
static void
check_pf_after_release(struct run *r, struct run_dev *d)
{
    struct pf_admin_status s;

    if (d->removed || d->pfdev == NULL || !NT_SUCCESS(pf_admin_status(d->pfdev, &s))) {
        return;
    }
    run_check(r, RUN_INV_EXACTLY_ONCE, s.events_raised == s.events_delivered,
              "%s: the PF raised %u events and delivered %u", d->sd->name, s.events_raised, s.events_delivered);
    run_check(r, RUN_INV_TEARDOWN, s.interface_refs == 0 && !s.attached,
              "%s: after the stack let go the PF holds %d interface references%s", d->sd->name, s.interface_refs,
              s.attached ? " and is still attached" : "");
}

/* Keep the log: the summary and --events are written after the stack is gone. */
static void
keep_events(struct run *r)
{
    size_t held = vsp_event_log_held(r->log);

    for (int t = 0; t <= VSP_EV_TYPE_COUNT; t++) {
        r->final_totals[t] = vsp_event_log_total(r->log, (enum vsp_event_type)t);
    }
    r->final_dropped = vsp_event_log_dropped(r->log);
    r->final_events = pv_calloc(held != 0 ? held : 1, sizeof(*r->final_events));
    r->n_final = r->final_events != NULL ? vsp_event_log_snapshot(r->log, r->final_events, held) : 0;
}

uint64_t
run_total(struct run *r, enum vsp_event_type type)
{
    return r->log != NULL ? vsp_event_log_total(r->log, type) : r->final_totals[type];
}

void
run_world_teardown(struct run *r)
{
    for (size_t i = 0; i < r->n_vms; i++) {
        struct vsp_vpci_stats hs;

        if (r->vms[i].host != NULL) {
            vsp_vpci_host_stats(r->vms[i].host, &hs);
            r->vms[i].mmio_direct = hs.mmio_direct;
            r->vms[i].mmio_trapped = hs.mmio_trapped;
        }
        run_guest_stop(&r->vms[i]);
        world_vm_destroy(r->vms[i].wv);
        r->vms[i].wv = NULL;
        r->vms[i].svm = NULL;
        r->vms[i].vm = NULL;
        r->vms[i].host = NULL;
        r->vms[i].guest_ch = NULL;
    }
    if (r->stack != NULL) {
        vsp_stack_shutdown(r->stack);
        for (size_t i = 0; i < r->n_devs && r->devs != NULL; i++) {
            check_pf_after_release(r, &r->devs[i]);
        }
        keep_events(r);
        vsp_event_log_set_listener(r->log, NULL, NULL);
        run_print_events(r);
        world_stack_down(r->world);
    }
    r->stack = NULL;
    r->log = NULL;
    r->vmm = NULL;
    r->vpci = NULL;
    for (size_t i = 0; i < r->n_devs && r->devs != NULL; i++) {
        if (r->devs[i].node != NULL && !r->devs[i].removed) {
            wdf_pnp_remove_device(r->devs[i].node);
        }
    }
    world_destroy(r->world);
    r->world = NULL;
    r->host = NULL;
    if (r->devs != NULL) {
        forget_devices(r);
    }
    r->plat = NULL;
}
