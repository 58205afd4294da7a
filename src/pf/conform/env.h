/*
 * pf/conform/env.h - one check's world, and the helpers checks use to act like
 * the virtualization stack (asynchronous IOCTLs, PnP operations on a thread).
 *
 * Waits that decide a verdict are in real milliseconds and always bounded: "must
 * complete" waits up to release_ms, "must not complete" watches for settle_ms.
 * The host runs on a virtual clock, so a driver's own safety timeouts never fire
 * by accident; env_release_stuck() advances the clock to set a stuck driver free
 * before the world is torn down.
 */
#ifndef PCIVIRT_PF_CONFORM_ENV_H
#define PCIVIRT_PF_CONFORM_ENV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev/platform.h"
#include "dev/sriov_dev.h"
#include "pf/conform/conform.h"

#define ENV_MAX_IO 64

/* An asynchronous request and its completion. */
struct cio {
    struct wdf_io *io;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool sent;
    bool done;
    NTSTATUS status;
    ULONG_PTR info;
    uint8_t out[256];
};

/* A PnP operation running on its own thread (PnP calls block). */
struct pnp_job {
    pthread_t thread;
    struct env *env;
    NTSTATUS (*op)(struct wdf_node *node);
    NTSTATUS (*env_op)(struct env *env); /* instead of @op: e.g. a blocking ATTACH */
    NTSTATUS status;
    volatile int done;
    bool started;
};

struct env {
    const struct pf_conform_options *opt;
    struct wdf_host *host;
    struct pv_platform *plat;
    struct pv_sriov_dev *dev;
    PCIVIRT_BUS_INTERFACE bus;
    struct wdf_node *node;
    struct wdf_driver_module *driver;
    WDFDEVICE device; /* the PF driver's device (for admin hooks) */
    const struct pf_conform_admin *admin;
    void *module_handle;                     /* dlopen reference for the admin hooks */
    struct wdf_target *kernel;               /* the VSP's handle */
    struct wdf_target *user;                 /* the proxy's handle */
    SRIOV_DEVICE_INTERFACE_STANDARD_2 sriov; /* queried as v2 (144 bytes) */
    bool have_sriov;
    MITIGABLE_DEVICE_INTERFACE mitigable;
    bool have_mitigable;
    uint16_t num_vfs; /* read from the device's registers */
    struct cio ios[ENV_MAX_IO];
    unsigned n_ios;
    struct pnp_job jobs[8];
    unsigned n_jobs;
    volatile unsigned verifier_reports;
    char verifier_first[WDF_VERIFIER_TEXT_MAX + 64];
    pthread_mutex_t report_lock;
    bool leak; /* a driver kept a thread stuck: do not tear down */
    char error[256];
};

/* Changes a check makes to the default device profile before the world is built. */
typedef void env_profile_fn(struct pv_profile *prof);

/*
 * env_create() - build the world; on failure env->error says why.  Return 0 or -1.
 * @tune: NULL, or changes to the default profile (e.g. a VF BAR above 4 GiB).
 */
int env_create(struct env *env, const struct pf_conform_options *opt, env_profile_fn *tune);

/* env_destroy() - close, remove the device, unload, free (unless env->leak). */
void env_destroy(struct env *env);

/* Synchronous IOCTL from the VSP (kernel) or the proxy (user) target. */
NTSTATUS env_ioctl(struct env *env, bool user, UCHAR major, ULONG code, const void *in, size_t in_len, void *out,
                   size_t out_len, ULONG_PTR *info);

/* Asynchronous IOCTL from the kernel target; NULL when out of slots or the send failed at once (then *status). */
struct cio *env_ioctl_async(struct env *env, ULONG code, const void *in, size_t in_len, size_t out_len,
                            NTSTATUS *status);

/* cio_wait() - wait up to @ms real milliseconds for completion.  Return true when done. */
bool cio_wait(struct cio *c, uint32_t ms);

/* cio_done() - completed already. */
bool cio_done(struct cio *c);

/* cio_cancel() - ask the driver to cancel. */
void cio_cancel(struct cio *c);

/* Start a PnP operation on a thread; wait for it (real ms). */
struct pnp_job *env_pnp_start(struct env *env, NTSTATUS (*op)(struct wdf_node *node));
bool env_pnp_wait(struct pnp_job *job, uint32_t ms);

/* Run @fn(@env) on a thread, e.g. an IOCTL whose handler may block (ATTACH). */
struct pnp_job *env_run(struct env *env, NTSTATUS (*fn)(struct env *env));

/* env_pf_waiting() - give the driver time to reach its wait after a PnP IRP arrived. */
void env_pf_waiting(struct env *env);

/* env_release_stuck() - advance the virtual clock a long way and wait for jobs; marks leak if still stuck. */
void env_release_stuck(struct env *env);

/* The VF's routing ID as the device computes it (independent oracle). */
int env_vf_rid(struct env *env, uint16_t vf, uint16_t *rid);

/* env_sleep_ms() - real sleep. */
void env_sleep_ms(uint32_t ms);

#endif /* PCIVIRT_PF_CONFORM_ENV_H */
