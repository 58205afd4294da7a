/*
 * pf/conform/env.c - building and tearing down one check's world (see env.h).
 *
 * Order: host (virtual clock, verifier reports counted here) -> platform and
 * software device (default 82599-class profile, resources assigned, VFs left
 * disabled: enabling them is the PF driver's job) -> PDO exporting the device's
 * bus interface -> driver loaded and added -> start -> the driver's
 * GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE instance opened twice (kernel-mode VSP,
 * user-mode proxy) -> the SR-IOV table queried as version 2 and the mitigable
 * table.  Teardown is the reverse; the device is destroyed only after the host
 * (and with it every holder of the bus interface) is gone.
 */
#include "pf/conform/env.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pf/pf.h"
#include "util/cond.h"
#include "util/thread.h"

extern const struct pf_conform_admin pcivirt_pf_conform_admin;

void
env_sleep_ms(uint32_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void
on_report(void *ctx, const struct wdf_verifier_report *r)
{
    struct env *env = ctx;

    pthread_mutex_lock(&env->report_lock);
    if (env->verifier_reports++ == 0) {
        snprintf(env->verifier_first, sizeof(env->verifier_first), "verifier: %s on %.60s (ioctl 0x%08x): %.200s",
                 r->rule_name, r->device, r->ioctl, r->message);
    }
    pthread_mutex_unlock(&env->report_lock);
}

static int
fail(struct env *env, const char *what, long code)
{
    snprintf(env->error, sizeof(env->error), "%.200s (0x%08lx)", what, (unsigned long)code);
    return -1;
}

static int
make_device(struct env *env, env_profile_fn *tune)
{
    struct pv_profile prof;
    struct pcivirt_error err;

    pv_profile_default(&prof);
    prof.initial_vfs = 8; /* enough VFs to tell them apart, few enough to be quick */
    if (tune != NULL) {
        tune(&prof);
    }
    if (pv_platform_create(NULL, &env->plat) != 0) {
        return fail(env, "platform", 0);
    }
    if (pv_sriov_create(&prof, &env->dev, &err) != 0) {
        return fail(env, err.message, err.code);
    }
    if (pv_sriov_assign_resources(env->dev, env->plat, &err) != 0) {
        return fail(env, err.message, err.code);
    }
    pv_sriov_bus_interface(env->dev, &env->bus);
    return 0;
}

static int
make_node(struct env *env)
{
    struct pcivirt_bus_resources res;
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&env->bus};
    struct wdf_pdo_config cfg;
    NTSTATUS st;

    pv_sriov_query_resources(env->dev, &res);
    memset(&cfg, 0, sizeof(cfg));
    cfg.hardware_id = "PCI\\VEN_8086&DEV_10FB";
    cfg.instance_id = "0000:03:00.0";
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    st = wdf_pdo_create(env->host, &cfg, &env->node);
    return NT_SUCCESS(st) ? 0 : fail(env, "wdf_pdo_create", st);
}

/* The port driver a lower-filter PF sits under: an FDO with no queues (requests pass down). */
static NTSTATUS
port_device_add(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    WDFDEVICE device;

    return WdfDeviceCreate(&DeviceInit, WDF_NO_OBJECT_ATTRIBUTES, &device);
}

static NTSTATUS
port_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;
    WDFDRIVER driver;

    WDF_DRIVER_CONFIG_INIT(&config, port_device_add);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, &driver);
}

static int
add_port_fdo(struct env *env)
{
    struct wdf_driver_module *port;
    NTSTATUS st = wdf_driver_load(env->host, "pcivirt_port", port_driver_entry, &port);

    st = NT_SUCCESS(st) ? wdf_node_add_driver(env->node, port, WDF_ROLE_FUNCTION) : st;
    return NT_SUCCESS(st) ? 0 : fail(env, "port driver FDO", st);
}

static int
load_driver(struct env *env)
{
    const char *name = env->opt->lower_filter ? "pcivirt_pfFilter" : "pcivirt_pf";
    enum wdf_stack_role role = env->opt->lower_filter ? WDF_ROLE_LOWER_FILTER : WDF_ROLE_FUNCTION;
    NTSTATUS st;

    if (env->opt->driver_path != NULL) {
        st = wdf_driver_load_module(env->host, name, env->opt->driver_path, &env->driver);
        if (NT_SUCCESS(st)) {
            env->module_handle = dlopen(env->opt->driver_path, RTLD_NOW | RTLD_NOLOAD);
            env->admin = env->module_handle != NULL ? dlsym(env->module_handle, "pcivirt_pf_conform_admin") : NULL;
        }
    } else {
        st = wdf_driver_load(env->host, name, PfDriverEntry, &env->driver);
        env->admin = &pcivirt_pf_conform_admin;
    }
    if (!NT_SUCCESS(st)) {
        return fail(env, "driver load", st);
    }
    if (env->admin != NULL && env->admin->size < sizeof(*env->admin)) {
        env->admin = NULL;
    }
    st = wdf_node_add_driver(env->node, env->driver, role);
    if (!NT_SUCCESS(st)) {
        return fail(env, "EvtDriverDeviceAdd", st);
    }
    env->device = wdf_node_device(env->node, role);
    if (env->opt->lower_filter && add_port_fdo(env) != 0) {
        return -1;
    }
    st = wdf_pnp_start(env->node);
    return NT_SUCCESS(st) ? 0 : fail(env, "start", st);
}

static int
open_targets(struct env *env)
{
    char **links = NULL;
    NTSTATUS st = wdf_interface_list(env->host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, &links);

    if (!NT_SUCCESS(st) || links == NULL || links[0] == NULL) {
        wdf_interface_list_free(links);
        return fail(env, "no GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE instance after start", st);
    }
    st = wdf_target_open(env->host, links[0], KernelMode, NULL, NULL, &env->kernel);
    if (NT_SUCCESS(st)) {
        st = wdf_target_open(env->host, links[0], UserMode, NULL, NULL, &env->user);
    }
    wdf_interface_list_free(links);
    if (!NT_SUCCESS(st)) {
        return fail(env, "wdf_target_open", st);
    }
    st = wdf_target_query_interface(env->kernel, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (INTERFACE *)&env->sriov,
                                    sizeof(env->sriov), SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2, NULL);
    env->have_sriov = NT_SUCCESS(st);
    st = wdf_target_query_interface(env->kernel, &GUID_MITIGABLE_DEVICE_INTERFACE, (INTERFACE *)&env->mitigable,
                                    sizeof(env->mitigable), 1, NULL);
    env->have_mitigable = NT_SUCCESS(st);
    return 0;
}

int
env_create(struct env *env, const struct pf_conform_options *opt, env_profile_fn *tune)
{
    struct wdf_host_config hc;
    struct dev_vf_geometry geo;

    memset(env, 0, sizeof(*env));
    env->opt = opt;
    pthread_mutex_init(&env->report_lock, NULL);
    memset(&hc, 0, sizeof(hc));
    hc.clock = WDF_CLOCK_VIRTUAL;
    hc.on_report = on_report;
    hc.report_ctx = env;
    if (!NT_SUCCESS(wdf_host_create(&hc, &env->host))) {
        return fail(env, "wdf_host_create", 0);
    }
    wdf_thread_bind(env->host);
    if (make_device(env, tune) != 0 || make_node(env) != 0 || load_driver(env) != 0 || open_targets(env) != 0) {
        return -1;
    }
    pv_sriov_geometry(env->dev, &geo);
    env->num_vfs = pv_sriov_vf_enabled(env->dev) ? geo.num_vfs : 0;
    return 0;
}

void
env_destroy(struct env *env)
{
    if (env->leak) {
        return; /* a driver thread is stuck inside the host: leave it all (reported by the check) */
    }
    if (env->have_sriov) {
        env->sriov.InterfaceDereference(env->sriov.Context);
    }
    if (env->have_mitigable) {
        env->mitigable.InterfaceDereference(env->mitigable.Context);
    }
    /*
     * Cancel what is still held one request at a time before closing: the
     * runtime's target close walks its list of requests while completing them
     * (reported to the runtime's author), so it is given none.
     */
    for (unsigned i = 0; i < env->n_ios; i++) {
        if (env->ios[i].sent && !cio_done(&env->ios[i])) {
            cio_cancel(&env->ios[i]);
            cio_wait(&env->ios[i], env->opt->release_ms);
        }
    }
    wdf_target_close(env->kernel);
    wdf_target_close(env->user);
    for (unsigned i = 0; i < env->n_jobs; i++) {
        if (env->jobs[i].started) {
            pthread_join(env->jobs[i].thread, NULL);
        }
    }
    for (unsigned i = 0; i < env->n_ios; i++) {
        wdf_io_release(env->ios[i].io); /* before the host: an io refers to it */
    }
    wdf_host_destroy(env->host);
    wdf_thread_bind(NULL);
    for (unsigned i = 0; i < env->n_ios; i++) {
        pthread_mutex_destroy(&env->ios[i].lock);
        pthread_cond_destroy(&env->ios[i].cond);
    }
    if (env->module_handle != NULL) {
        dlclose(env->module_handle);
    }
    pv_sriov_destroy(env->dev);
    pv_platform_destroy(env->plat);
    pthread_mutex_destroy(&env->report_lock);
}

NTSTATUS
env_ioctl(struct env *env, bool user, UCHAR major, ULONG code, const void *in, size_t in_len, void *out, size_t out_len,
          ULONG_PTR *info)
{
    uint64_t timeout = (uint64_t)env->opt->release_ms * 1000000ull;

    return wdf_target_send_sync(user ? env->user : env->kernel, major, code, in, in_len, out, out_len, timeout, info);
}

static void
cio_complete(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information)
{
    struct cio *c = ctx;

    pthread_mutex_lock(&c->lock);
    c->status = status;
    c->info = information;
    c->done = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

struct cio *
env_ioctl_async(struct env *env, ULONG code, const void *in, size_t in_len, size_t out_len, NTSTATUS *status)
{
    struct cio *c;
    NTSTATUS st;

    if (env->n_ios >= ENV_MAX_IO || out_len > sizeof(c->out)) {
        *status = STATUS_INSUFFICIENT_RESOURCES;
        return NULL;
    }
    c = &env->ios[env->n_ios++];
    pthread_mutex_init(&c->lock, NULL);
    pv_cond_init_monotonic(&c->cond);
    memset(c->out, 0xA5, sizeof(c->out));
    st = wdf_target_send_async(env->kernel, IRP_MJ_DEVICE_CONTROL, code, in, in_len, c->out, out_len, cio_complete, c,
                               &c->io);
    *status = st;
    if (st != STATUS_PENDING) {
        c->done = true;
        c->status = st;
        return NULL;
    }
    c->sent = true;
    return c;
}

bool
cio_wait(struct cio *c, uint32_t ms)
{
    struct timespec until = pv_deadline_ms(ms);
    bool done;

    pthread_mutex_lock(&c->lock);
    while (!c->done && !pv_cond_wait_until(&c->cond, &c->lock, &until)) {
    }
    done = c->done;
    pthread_mutex_unlock(&c->lock);
    return done;
}

bool
cio_done(struct cio *c)
{
    return cio_wait(c, 0);
}

void
cio_cancel(struct cio *c)
{
    if (c != NULL && c->io != NULL) {
        wdf_io_cancel(c->io);
    }
}

static void *
job_main(void *arg)
{
    struct pnp_job *job = arg;

    pv_thread_name("pv-conform-pnp", -1);
    wdf_thread_bind(job->env->host);
    job->status = job->env_op != NULL ? job->env_op(job->env) : job->op(job->env->node);
    __atomic_store_n(&job->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static struct pnp_job *
job_start(struct env *env, NTSTATUS (*op)(struct wdf_node *node), NTSTATUS (*env_op)(struct env *env))
{
    struct pnp_job *job;

    if (env->n_jobs >= sizeof(env->jobs) / sizeof(env->jobs[0])) {
        return NULL;
    }
    job = &env->jobs[env->n_jobs++];
    job->env = env;
    job->op = op;
    job->env_op = env_op;
    job->started = pthread_create(&job->thread, NULL, job_main, job) == 0;
    return job->started ? job : NULL;
}

struct pnp_job *
env_pnp_start(struct env *env, NTSTATUS (*op)(struct wdf_node *node))
{
    return job_start(env, op, NULL);
}

struct pnp_job *
env_run(struct env *env, NTSTATUS (*fn)(struct env *env))
{
    return job_start(env, NULL, fn);
}

bool
env_pnp_wait(struct pnp_job *job, uint32_t ms)
{
    for (uint32_t waited = 0;; waited += 5) {
        if (__atomic_load_n(&job->done, __ATOMIC_SEQ_CST)) {
            return true;
        }
        if (waited >= ms) {
            return false;
        }
        env_sleep_ms(5);
    }
}

void
env_pf_waiting(struct env *env)
{
    /* A driver that bounds its wait sleeps on the host clock; others get a moment. */
    if (!wdf_host_wait_sleepers(env->host, 1, env->opt->settle_ms)) {
        env_sleep_ms(env->opt->settle_ms);
    }
}

void
env_release_stuck(struct env *env)
{
    for (unsigned i = 0; i < env->n_jobs; i++) {
        if (env->jobs[i].started && !__atomic_load_n(&env->jobs[i].done, __ATOMIC_SEQ_CST)) {
            wdf_host_clock_advance(env->host, 3600ull * 1000000000ull);
            if (!env_pnp_wait(&env->jobs[i], env->opt->release_ms)) {
                env->leak = true;
            }
        }
    }
}

int
env_vf_rid(struct env *env, uint16_t vf, uint16_t *rid)
{
    return pv_sriov_vf_rid(env->dev, vf, rid);
}
