/*
 * tools/run_bind.c - how the stack reaches each PF in a run.
 *
 * The stack reaches a PF only through its device interface and query-interface
 * tables (DESIGN.md; contract.md 3, 4): the runner finds the
 * GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE instance of the device's node in the
 * runtime's registry, opens it as a kernel-mode client, queries the SR-IOV table
 * asking for version 2 (144 bytes) then version 1, and the mitigable table;
 * binds them (vsp_pf_create), registers the PF with the registry and its VFs
 * (routing IDs from GetDeviceLocation) with the VM manager; and keeps one
 * IOCTL_SRIOV_INVALIDATE_BLOCK outstanding, whose completions are forwarded to
 * the guests (vsp_vpci_invalidate) before the next one is sent (contract.md 4.7).
 *
 * This is the part of PF discovery the runner needs to assign VFs and deliver
 * invalidations.  The PnP broker (ATTACH, NOTIFICATION, the query-stop fan-out)
 * is the stack's (src/vsp); a rebalance step refuses to run without it rather
 * than pretend (run_steps.c).
 */
#include <stdio.h>
#include <string.h>

#include "run_internal.h"
#include "util/alloc.h"

struct run_bind {
    struct run *r;
    struct run_dev *d;
    struct wdf_target *target;
    SRIOV_DEVICE_INTERFACE_STANDARD_2 sriov;
    bool have_sriov;
    MITIGABLE_DEVICE_INTERFACE mitig;
    bool have_mitig;
    struct vsp_pf *pf;
    bool registered; /* in the registry and the VM manager */
    pthread_mutex_t lock;
    bool closing;
    struct wdf_io *inv_io;
    SRIOV_INVALIDATE_BLOCK inv_out;
};

static void inval_post(struct run_bind *b);

static void
inval_done(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR info)
{
    struct run_bind *b = ctx;
    SRIOV_INVALIDATE_BLOCK ib;
    bool again;

    (void)io;
    pthread_mutex_lock(&b->lock);
    ib = b->inv_out;
    again = !b->closing && NT_SUCCESS(status);
    pthread_mutex_unlock(&b->lock);
    if (NT_SUCCESS(status) && info >= sizeof(ib)) {
        vsp_vpci_invalidate(b->r->vpci, b->d->pf_id, &ib);
    }
    if (again) {
        inval_post(b);
    }
}

/* One INVALIDATE_BLOCK outstanding (the previous handle is released first). */
static void
inval_post(struct run_bind *b)
{
    struct wdf_io *old;
    NTSTATUS st;

    pthread_mutex_lock(&b->lock);
    old = b->inv_io;
    b->inv_io = NULL;
    pthread_mutex_unlock(&b->lock);
    wdf_io_release(old);
    memset(&b->inv_out, 0, sizeof(b->inv_out));
    pthread_mutex_lock(&b->lock);
    if (!b->closing) {
        st = wdf_target_send_async(b->target, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_INVALIDATE_BLOCK, NULL, 0,
                                   &b->inv_out, sizeof(b->inv_out), inval_done, b, &b->inv_io);
        if (st != STATUS_PENDING) {
            b->inv_io = NULL;
        }
    }
    pthread_mutex_unlock(&b->lock);
}

/* The interface instance of @d's node: "\??\<instance id>#{class}". */
static int
open_target(struct run *r, struct run_dev *d, struct run_bind *b, char *why, size_t why_len)
{
    char **links = NULL, prefix[64];
    NTSTATUS st = wdf_interface_list(r->host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, &links);
    const char *link = NULL;

    snprintf(prefix, sizeof(prefix), "\\??\\%s#", d->instance);
    for (size_t i = 0; NT_SUCCESS(st) && links != NULL && links[i] != NULL; i++) {
        if (strncmp(links[i], prefix, strlen(prefix)) == 0) {
            link = links[i];
        }
    }
    st = link != NULL ? wdf_target_open(r->host, link, KernelMode, NULL, NULL, &b->target) : STATUS_NOT_FOUND;
    wdf_interface_list_free(links);
    if (!NT_SUCCESS(st)) {
        snprintf(why, why_len, "device '%s': no GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE instance to open (0x%08x)",
                 d->sd->name, (unsigned)st);
        return -1;
    }
    return 0;
}

static int
query_tables(struct run_bind *b, char *why, size_t why_len)
{
    NTSTATUS st = wdf_target_query_interface(b->target, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD,
                                             (INTERFACE *)&b->sriov, VSP_SRIOV_V2_SIZE,
                                             SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2, NULL);

    if (!NT_SUCCESS(st)) {
        st = wdf_target_query_interface(b->target, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (INTERFACE *)&b->sriov,
                                        VSP_SRIOV_V1_SIZE, SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_1, NULL);
    }
    if (!NT_SUCCESS(st)) {
        snprintf(why, why_len, "device '%s': query-interface for the SR-IOV table failed (0x%08x)", b->d->sd->name,
                 (unsigned)st);
        return -1;
    }
    b->have_sriov = true;
    st = wdf_target_query_interface(b->target, &GUID_MITIGABLE_DEVICE_INTERFACE, (INTERFACE *)&b->mitig,
                                    sizeof(b->mitig), 1, NULL);
    b->have_mitig = NT_SUCCESS(st);
    return 0;
}

static int
register_pf(struct run *r, struct run_bind *b, char *why, size_t why_len)
{
    struct vsp_pf_tables t = {.sriov = &b->sriov, .mitigable = b->have_mitig ? &b->mitig : NULL};
    struct run_dev *d = b->d;
    struct pcivirt_error e;
    uint16_t *rids = NULL;
    int rc;

    pcivirt_error_clear(&e);
    rc = vsp_pf_create(d->pf_id, &t, d->num_vfs, r->log, &b->pf, &e);
    if (rc == 0 && d->num_vfs != 0) {
        rids = pv_calloc(d->num_vfs, sizeof(*rids));
        rc = rids == NULL ? PCIVIRT_ENOMEM : 0;
    }
    for (uint16_t i = 0; rc == 0 && i < d->num_vfs; i++) {
        uint16_t seg;

        rc = vsp_pf_vf_rid(b->pf, i, &seg, &rids[i]);
    }
    rc = rc != 0 ? rc : vsp_pfs_add(r->pfs, b->pf);
    rc = rc != 0 ? rc : vsp_vmm_add_pf(r->vmm, d->pf_id, d->num_vfs, rids);
    pv_free(rids);
    if (rc != 0) {
        snprintf(why, why_len, "device '%s': %s%s%s", d->sd->name, pcivirt_strerror(rc), e.message[0] ? ": " : "",
                 e.message);
        return -1;
    }
    b->registered = true;
    vsp_event_log_add(r->log, VSP_EV_PF_ARRIVAL, d->pf_id, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, d->num_vfs,
                      "%s: interface opened, SR-IOV table v%u%s", d->sd->name, vsp_pf_is_v2(b->pf) ? 2u : 1u,
                      b->have_mitig ? ", mitigable table" : "");
    return 0;
}

int
run_bind_pf(struct run *r, struct run_dev *d, char *why, size_t why_len)
{
    struct run_bind *b = pv_calloc(1, sizeof(*b));

    if (b == NULL) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    b->r = r;
    b->d = d;
    pthread_mutex_init(&b->lock, NULL);
    d->bind = b;
    if (open_target(r, d, b, why, why_len) != 0 || query_tables(b, why, why_len) != 0 ||
        register_pf(r, b, why, why_len) != 0) {
        return -1;
    }
    inval_post(b);
    return 0;
}

void
run_unbind_pf(struct run *r, struct run_dev *d)
{
    struct run_bind *b = d->bind;
    struct wdf_io *io;

    if (b == NULL) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    b->closing = true;
    io = b->inv_io;
    pthread_mutex_unlock(&b->lock);
    if (io != NULL) {
        wdf_io_cancel(io);
    }
    wdf_target_close(b->target); /* waits for the held request's completion */
    pthread_mutex_lock(&b->lock);
    io = b->inv_io;
    b->inv_io = NULL;
    pthread_mutex_unlock(&b->lock);
    wdf_io_release(io);
    if (b->registered && r->vmm != NULL) {
        vsp_vmm_remove_pf(r->vmm, d->pf_id, "the stack releases the PF");
        vsp_pfs_remove(r->pfs, d->pf_id);
    }
    vsp_pf_put(b->pf);
    if (b->have_sriov) {
        b->sriov.InterfaceDereference(b->sriov.Context);
    }
    if (b->have_mitig) {
        b->mitig.InterfaceDereference(b->mitig.Context);
    }
    pthread_mutex_destroy(&b->lock);
    pv_free(b);
    d->bind = NULL;
}
