/*
 * tools/run_world.c - building and tearing down the machine a scenario describes.
 *
 * Bring-up order:
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

static int
device_build(struct run *r, size_t i, struct run_error *err)
{
    struct run_dev *d = &r->devs[i];
    struct pcivirt_error e;
    struct pv_dma_port dma;
    struct pv_irq_port irq;
    char path[64];

    pcivirt_error_clear(&e);
    if (pv_sriov_create(d->prof, &d->dev, &e) != 0) {
        device_path(i, "source", path, sizeof(path));
        return fail_at(r, err, CLI_EXIT_USAGE, path, "%s", e.message);
    }
    vsp_stack_ports(r->stack, &dma, &irq);
    pv_sriov_set_ports(d->dev, &dma, &irq);
    if (pv_sriov_assign_resources(d->dev, r->plat, &e) != 0) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "resource assignment: %s", e.message);
    }
    if (d->sd->num_vfs != 0 && pv_sriov_enable(d->dev, (uint16_t)d->sd->num_vfs, &e) != 0) {
        device_path(i, d->sd->has_bus_range ? "bus_range" : "num_vfs", path, sizeof(path));
        return fail_at(r, err, CLI_EXIT_FAILED, path, "device '%s' refused to enable its VFs: %s", d->sd->name,
                       e.message);
    }
    d->num_vfs = (uint16_t)d->sd->num_vfs;
    d->pf_rid = pv_sriov_pf_rid(d->dev);
    pv_sriov_bus_interface(d->dev, &d->bus);
    return 0;
}

/* The PDO exporting the bus interface, the reference PF driver as its FDO, started. */
static int
device_node(struct run *r, size_t i, struct run_error *err)
{
    struct run_dev *d = &r->devs[i];
    struct pcivirt_bus_resources res;
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&d->bus};
    struct wdf_pdo_config cfg;
    char hwid[48];
    NTSTATUS st;

    pv_sriov_query_resources(d->dev, &res);
    snprintf(hwid, sizeof(hwid), "PCI\\VEN_%04X&DEV_%04X", d->prof->vendor_id, d->prof->device_id);
    snprintf(d->instance, sizeof(d->instance), "%04x:%02x:%02x.%x-%zu", res.segment, res.pf_rid >> 8,
             (res.pf_rid >> 3) & 0x1f, res.pf_rid & 7, i);
    memset(&cfg, 0, sizeof(cfg));
    cfg.hardware_id = hwid;
    cfg.instance_id = d->instance;
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    st = wdf_pdo_create(r->host, &cfg, &d->node);
    st = NT_SUCCESS(st) ? wdf_node_add_driver(d->node, r->pfdrv, WDF_ROLE_FUNCTION) : st;
    if (NT_SUCCESS(st)) {
        d->pfdev = wdf_node_device(d->node, WDF_ROLE_FUNCTION);
        st = wdf_pnp_start(d->node);
    }
    if (!NT_SUCCESS(st)) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "device '%s': the PF driver did not start (0x%08x)", d->sd->name,
                       (unsigned)st);
    }
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
    if (vsp_stack_start(r->stack) != 0) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", "the stack did not start");
    }
    if (!vsp_stack_wait_pfs(r->stack, (unsigned)r->n_devs, RUN_DISCOVERY_MS)) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "the stack did not bind and attach all %zu PFs within %u ms",
                       r->n_devs, RUN_DISCOVERY_MS);
    }
    for (size_t i = 0; i < r->n_devs; i++) {
        struct run_dev *d = &r->devs[i];

        d->pf_id = vsp_stack_pf_find(r->stack, d->instance);
        if (d->pf_id < 0) {
            return fail_at(r, err, CLI_EXIT_FAILED, NULL, "the stack did not discover device '%s'", d->sd->name);
        }
        define_blocks(r, d);
    }
    return 0;
}

static void
irq_sink(void *ctx, uint32_t vector, uint32_t dest)
{
    struct run_vm *v = ctx;
    bool own = false;

    (void)dest;
    for (unsigned s = 0; s < GVPCI_SLOTS && v->bus != NULL; s++) {
        struct swvf *f = swvf_of(gvpci_bus_dev(v->bus, s));

        own = own || (f != NULL && f->vector == vector);
    }
    v->irqs++;
    if (!own) {
        v->irqs_foreign++;
    }
    if (v->bus != NULL) {
        gvpci_bus_deliver_irq(v->bus, vector);
    }
}

static int
make_vm(struct run *r, struct run_vm *v, struct run_error *err)
{
    struct vsp_stack_vm_config vmc = {
        .name = v->sv->name, .memory_bytes = (uint64_t)v->sv->memory_mib << 20, .irq_sink = irq_sink, .irq_ctx = v};

    v->run = r;
    v->mem_bytes = vmc.memory_bytes;
    v->misbehave = v->sv->misbehave;
    if (vsp_stack_vm_create(r->stack, &vmc, &v->svm) != 0) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "cannot create VM '%s'", v->sv->name);
    }
    v->vm = vsp_stack_vm_vm(v->svm);
    v->host = vsp_stack_vm_host(v->svm);
    v->guest_ch = vsp_stack_vm_channel(v->svm);
    return 0;
}

static int
make_vms(struct run *r, struct run_error *err)
{
    for (size_t i = 0; i < r->n_vms; i++) {
        r->vms[i].sv = &r->sc->vms[i];
        if (make_vm(r, &r->vms[i], err) != 0) {
            return err->exit_code;
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
        char why[256] = "";

        if (run_guest_start(r, &r->vms[i], why, sizeof(why)) != 0) {
            return fail_at(r, err, CLI_EXIT_FAILED, NULL, "guest bring-up failed: %s", why);
        }
    }
    return 0;
}

static int
make_host(struct run *r, struct run_error *err)
{
    struct wdf_host_config hc;
    struct vsp_stack_config sc;

    memset(&hc, 0, sizeof(hc));
    hc.clock = r->sc->options.clock == SCENARIO_CLOCK_VIRTUAL ? WDF_CLOCK_VIRTUAL : WDF_CLOCK_MONOTONIC;
    hc.on_report = on_report;
    hc.report_ctx = r;
    if (!NT_SUCCESS(wdf_host_create(&hc, &r->host))) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", "cannot create the runtime host");
    }
    wdf_thread_bind(r->host);
    if (pv_platform_create(NULL, &r->plat) != 0 || run_events_init(r) != 0) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", "out of memory (platform)");
    }
    if (!NT_SUCCESS(wdf_driver_load(r->host, "pcivirt_pf", PfDriverEntry, &r->pfdrv))) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", "the reference PF driver did not load");
    }
    memset(&sc, 0, sizeof(sc));
    sc.host = r->host;
    sc.platform = r->plat;
    sc.log_capacity = RUN_LOG_CAPACITY;
    sc.policy.query_stop_timeout_ns = (uint64_t)r->sc->timing.query_stop_timeout_ms * VSP_NS_PER_MS;
    sc.policy.on_no_answer =
        r->sc->timing.on_timeout == SCENARIO_POLICY_VETO ? VSP_STOP_VETO : VSP_STOP_SURPRISE_REMOVE;
    sc.policy.eject_timeout_ns = (uint64_t)r->sc->timing.eject_window_ms * VSP_NS_PER_MS;
    if (vsp_stack_create(&sc, &r->stack) != 0) {
        return fail_at(r, err, CLI_EXIT_FAILED, NULL, "%s", "cannot create the virtualization stack");
    }
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
        rc = rc != 0 ? rc : device_build(r, i, err);
        rc = rc != 0 ? rc : device_node(r, i, err);
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
 * Devices go after the host: the PDOs hold the bus interface until their
 * removal.  The records stay (names, PF location, counts) for the summary.
 */
static void
destroy_devices(struct run *r)
{
    for (size_t i = 0; i < r->n_devs; i++) {
        pv_sriov_destroy(r->devs[i].dev);
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
        vsp_stack_vm_destroy(r->vms[i].svm);
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
        vsp_stack_destroy(r->stack);
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
    wdf_host_destroy(r->host);
    wdf_thread_bind(NULL);
    r->host = NULL;
    if (r->devs != NULL) {
        destroy_devices(r);
    }
    pv_platform_destroy(r->plat);
    r->plat = NULL;
}
