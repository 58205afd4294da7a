/*
 * vsp/pfif.c - the PF binding and registry (vsp/pfif.h).
 *
 * Every wrapper checks VfIndex against the NumVFs the binding was created with
 * before calling the PF: the PF checks again (contract.md 6), but a stack that
 * forwarded an index it never exposed would be trusting the PF to catch the
 * stack's own bug.  The registry is a small array under a mutex: lookups happen
 * when a VM's bus changes, not per guest access (the vPCI host caches its
 * references), so nothing here is on a hot path.
 */
#include "vsp/pfif.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/le.h"

struct vsp_pf {
    int id;
    atomic_int refs;
    uint16_t num_vfs;
    bool v2;
    bool has_mitig;
    SRIOV_DEVICE_INTERFACE_STANDARD_2 t; /* v2 members zero for a v1 table */
    MITIGABLE_DEVICE_INTERFACE m;
    struct vsp_event_log *log;
    pthread_mutex_t map_lock; /* creation of the per-VF trap maps */
    struct vsp_intercept_map *_Atomic *maps;
};

struct vsp_pfs {
    pthread_mutex_t lock;
    struct vsp_pf *pf[VSP_PF_MAX];
};

/* ---- creation ---------------------------------------------------------------- */

/* The members of the v1 table the stack calls; all must be non-NULL. */
static int
check_members(const SRIOV_DEVICE_INTERFACE_STANDARD_2 *t, struct pcivirt_error *err)
{
    static const struct {
        size_t off;
        const char *name;
    } need[] = {
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, ReadVfConfig), "ReadVfConfig"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, WriteVfConfig), "WriteVfConfig"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, ReadVfConfigBlock), "ReadVfConfigBlock"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, WriteVfConfigBlock), "WriteVfConfigBlock"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, QueryProbedBars), "QueryProbedBars"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, GetVendorAndDevice), "GetVendorAndDevice"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, GetDeviceLocation), "GetDeviceLocation"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, ResetVf), "ResetVf"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, SetVfPowerState), "SetVfPowerState"},
        {offsetof(SRIOV_DEVICE_INTERFACE_STANDARD_2, GetResourceForBar), "GetResourceForBar"},
    };

    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        void *fn;

        memcpy(&fn, (const uint8_t *)t + need[i].off, sizeof(fn));
        if (fn == NULL) {
            return pcivirt_error_set(err, PCIVIRT_EINVAL, "SR-IOV interface member %s is NULL", need[i].name);
        }
    }
    if (t->Version == 0) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "SR-IOV interface Version is 0");
    }
    return 0;
}

/* Copy the SR-IOV table by its Size (contract.md 3.2: the Size decides v1 or v2). */
static int
copy_sriov(struct vsp_pf *pf, const void *table, struct pcivirt_error *err)
{
    USHORT size;

    if (table == NULL) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "no SR-IOV interface table");
    }
    memcpy(&size, table, sizeof(size));
    if (size >= VSP_SRIOV_V2_SIZE) {
        memcpy(&pf->t, table, VSP_SRIOV_V2_SIZE);
        pf->v2 = pf->t.QueryProbedBars_2 != NULL;
    } else if (size == VSP_SRIOV_V1_SIZE) {
        memcpy(&pf->t, table, VSP_SRIOV_V1_SIZE);
    } else {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "SR-IOV interface Size %u is neither %u (v1) nor %u (v2)", size,
                                 VSP_SRIOV_V1_SIZE, VSP_SRIOV_V2_SIZE);
    }
    return check_members(&pf->t, err);
}

static int
copy_mitigable(struct vsp_pf *pf, const MITIGABLE_DEVICE_INTERFACE *m, struct pcivirt_error *err)
{
    if (m == NULL) {
        return 0;
    }
    if (m->Size < sizeof(*m) || m->ReadWriteMitigatedRegister == NULL) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "mitigable interface: Size %u or NULL ReadWriteMitigatedRegister",
                                 m->Size);
    }
    pf->m = *m;
    pf->has_mitig = true;
    return 0;
}

int
vsp_pf_create(int id, const struct vsp_pf_tables *tables, uint16_t num_vfs, struct vsp_event_log *log,
              struct vsp_pf **out, struct pcivirt_error *err)
{
    struct vsp_pf *pf;
    int rc;

    if (tables == NULL || out == NULL || num_vfs == 0 || id < 0) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "PF %d: bad arguments (NumVFs %u)", id, num_vfs);
    }
    pf = pv_calloc(1, sizeof(*pf));
    if (pf == NULL) {
        return PCIVIRT_ENOMEM;
    }
    pf->id = id;
    pf->num_vfs = num_vfs;
    pf->log = log;
    atomic_init(&pf->refs, 1);
    pthread_mutex_init(&pf->map_lock, NULL);
    rc = copy_sriov(pf, tables->sriov, err);
    rc = rc != 0 ? rc : copy_mitigable(pf, tables->mitigable, err);
    if (rc == 0) {
        pf->maps = pv_calloc(num_vfs, sizeof(*pf->maps));
        rc = pf->maps == NULL ? PCIVIRT_ENOMEM : 0;
    }
    if (rc != 0) {
        pv_free(pf->maps);
        pthread_mutex_destroy(&pf->map_lock);
        pv_free(pf);
        return rc;
    }
    if (pf->t.InterfaceReference != NULL) {
        pf->t.InterfaceReference(pf->t.Context);
    }
    if (pf->has_mitig && pf->m.InterfaceReference != NULL) {
        pf->m.InterfaceReference(pf->m.Context);
    }
    *out = pf;
    return 0;
}

struct vsp_pf *
vsp_pf_get(struct vsp_pf *pf)
{
    atomic_fetch_add(&pf->refs, 1);
    return pf;
}

void
vsp_pf_put(struct vsp_pf *pf)
{
    if (pf == NULL || atomic_fetch_sub(&pf->refs, 1) != 1) {
        return;
    }
    for (uint32_t i = 0; i < pf->num_vfs; i++) {
        vsp_intercept_destroy(atomic_load(&pf->maps[i]));
    }
    if (pf->has_mitig && pf->m.InterfaceDereference != NULL) {
        pf->m.InterfaceDereference(pf->m.Context);
    }
    if (pf->t.InterfaceDereference != NULL) {
        pf->t.InterfaceDereference(pf->t.Context);
    }
    pv_free(pf->maps);
    pthread_mutex_destroy(&pf->map_lock);
    pv_free(pf);
}

int
vsp_pf_id(const struct vsp_pf *pf)
{
    return pf->id;
}

uint16_t
vsp_pf_num_vfs(const struct vsp_pf *pf)
{
    return pf->num_vfs;
}

bool
vsp_pf_is_v2(const struct vsp_pf *pf)
{
    return pf->v2;
}

bool
vsp_pf_has_mitigable(const struct vsp_pf *pf)
{
    return pf->has_mitig;
}

/* ---- wrappers ------------------------------------------------------------------ */

NTSTATUS
vsp_pf_read_config(struct vsp_pf *pf, uint16_t vf, uint32_t offset, void *data, uint32_t length)
{
    if (vf >= pf->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    return pf->t.ReadVfConfig(pf->t.Context, data, vf, offset, length);
}

NTSTATUS
vsp_pf_write_config(struct vsp_pf *pf, uint16_t vf, uint32_t offset, const void *data, uint32_t length)
{
    if (vf >= pf->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    return pf->t.WriteVfConfig(pf->t.Context, data, vf, offset, length);
}

NTSTATUS
vsp_pf_read_block(struct vsp_pf *pf, uint16_t vf, uint32_t block_id, void *buf, uint32_t length)
{
    if (vf >= pf->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    return pf->t.ReadVfConfigBlock(pf->t.Context, vf, block_id, buf, length);
}

NTSTATUS
vsp_pf_write_block(struct vsp_pf *pf, uint16_t vf, uint32_t block_id, const void *buf, uint32_t length)
{
    if (vf >= pf->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    /* The table's prototype takes a non-const PVOID; the PF must not write it (contract.md 6.3). */
    return pf->t.WriteVfConfigBlock(pf->t.Context, vf, block_id, (void *)(uintptr_t)buf, length);
}

void
vsp_pf_ids(struct vsp_pf *pf, uint16_t vf, uint16_t *vendor, uint16_t *device)
{
    *vendor = 0xFFFF;
    *device = 0xFFFF;
    if (vf < pf->num_vfs) {
        pf->t.GetVendorAndDevice(pf->t.Context, vf, vendor, device);
    }
}

int
vsp_pf_vf_rid(struct vsp_pf *pf, uint16_t vf, uint16_t *segment, uint16_t *rid)
{
    UINT16 seg = 0xFFFF;
    UINT8 bus = 0xFF;
    UINT8 fn = 0xFF;

    if (vf >= pf->num_vfs) {
        return PCIVIRT_ERANGE;
    }
    pf->t.GetDeviceLocation(pf->t.Context, vf, &seg, &bus, &fn);
    *segment = seg;
    *rid = (uint16_t)((bus << 8) | fn);
    return 0;
}

NTSTATUS
vsp_pf_reset_vf(struct vsp_pf *pf, uint16_t vf)
{
    if (vf >= pf->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    return pf->t.ResetVf(pf->t.Context, vf);
}

NTSTATUS
vsp_pf_set_power(struct vsp_pf *pf, uint16_t vf, DEVICE_POWER_STATE state, bool wake)
{
    if (vf >= pf->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    return pf->t.SetVfPowerState(pf->t.Context, vf, state, wake ? TRUE : FALSE);
}

NTSTATUS
vsp_pf_resource_for_bar(struct vsp_pf *pf, uint16_t vf, uint16_t bar, CM_PARTIAL_RESOURCE_DESCRIPTOR *res)
{
    memset(res, 0, sizeof(*res));
    if (vf >= pf->num_vfs || bar >= PCI_TYPE0_ADDRESSES) {
        return STATUS_INVALID_PARAMETER;
    }
    return pf->t.GetResourceForBar(pf->t.Context, vf, bar, res);
}

NTSTATUS
vsp_pf_mitigated(struct vsp_pf *pf, uint16_t vf, bool read, uint16_t bar, uint64_t offset, uint32_t length,
                 uint8_t *data)
{
    if (!pf->has_mitig) {
        return STATUS_NOT_SUPPORTED;
    }
    if (vf >= pf->num_vfs || bar >= PCI_TYPE0_ADDRESSES || length < 1 || length > 8) {
        return STATUS_INVALID_PARAMETER;
    }
    return pf->m.ReadWriteMitigatedRegister(pf->m.Context, vf, read ? TRUE : FALSE, bar, offset, length, data);
}

/* ---- probed BARs (contract.md 6.4, 8.5) ---------------------------------------------- */

/* Size of a memory BAR from its (possibly 64-bit) mask; 0 when the mask has holes. */
static uint64_t
mask_size(uint64_t mask)
{
    uint64_t size = ~mask + 1;

    if (size == 0 || (size & (size - 1)) != 0) {
        return 0;
    }
    return size;
}

int
vsp_vf_bars_decode(const uint32_t probed[PCI_TYPE0_ADDRESSES], struct vsp_vf_bars *out, struct pcivirt_error *err)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->probed, probed, sizeof(out->probed));
    for (unsigned i = 0; i < PCI_TYPE0_ADDRESSES; i++) {
        uint32_t v = probed[i];
        uint64_t mask;

        if (v == 0) {
            continue;
        }
        if (v & 0x1u) {
            return pcivirt_error_set(err, PCIVIRT_EFORMAT, "BAR%u: probed value 0x%08x is an I/O BAR", i, v);
        }
        if ((v & 0x6u) == 0x4u) {
            if (i + 1 >= PCI_TYPE0_ADDRESSES) {
                return pcivirt_error_set(err, PCIVIRT_EFORMAT, "BAR%u: 64-bit BAR in the last slot", i);
            }
            mask = ((uint64_t)probed[i + 1] << 32) | (v & ~0xFu);
            out->is64[i] = true;
            out->upper[i + 1] = true;
        } else if ((v & 0x6u) == 0) {
            mask = 0xFFFFFFFF00000000ull | (v & ~0xFu);
        } else {
            return pcivirt_error_set(err, PCIVIRT_EFORMAT, "BAR%u: reserved type bits in 0x%08x", i, v);
        }
        out->size[i] = mask_size(mask);
        if (out->size[i] == 0) {
            return pcivirt_error_set(err, PCIVIRT_EFORMAT, "BAR%u: probed value 0x%08x is not a contiguous mask", i, v);
        }
        if (out->is64[i]) {
            i++;
        }
    }
    return 0;
}

NTSTATUS
vsp_pf_bars(struct vsp_pf *pf, uint16_t vf, struct vsp_vf_bars *out)
{
    ULONG probed[PCI_TYPE0_ADDRESSES] = {0};
    struct pcivirt_error err;
    NTSTATUS st;

    memset(out, 0, sizeof(*out));
    if (vf >= pf->num_vfs) {
        return STATUS_INVALID_PARAMETER;
    }
    st = pf->v2 ? pf->t.QueryProbedBars_2(pf->t.Context, vf, probed) : pf->t.QueryProbedBars(pf->t.Context, probed);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (vsp_vf_bars_decode(probed, out, &err) != 0) {
        vsp_event_log_add(pf->log, VSP_EV_GUEST_ERROR, pf->id, vf, VSP_EV_NONE, STATUS_BAD_DATA, 0,
                          "PF's probed BARs refused: %s", err.message);
        return STATUS_BAD_DATA;
    }
    return STATUS_SUCCESS;
}

struct vsp_intercept_map *
vsp_pf_intercept(struct vsp_pf *pf, uint16_t vf)
{
    struct vsp_intercept_map *map;
    struct vsp_vf_bars bars;

    if (vf >= pf->num_vfs) {
        return NULL;
    }
    map = atomic_load(&pf->maps[vf]);
    if (map != NULL) {
        return map;
    }
    pthread_mutex_lock(&pf->map_lock);
    map = atomic_load(&pf->maps[vf]);
    if (map == NULL && NT_SUCCESS(vsp_pf_bars(pf, vf, &bars)) && vsp_intercept_create(bars.size, &map) == 0) {
        atomic_store(&pf->maps[vf], map);
    }
    pthread_mutex_unlock(&pf->map_lock);
    return map;
}

/* ---- registry ------------------------------------------------------------------------- */

int
vsp_pfs_create(struct vsp_pfs **out)
{
    struct vsp_pfs *pfs = pv_calloc(1, sizeof(*pfs));

    if (pfs == NULL) {
        return PCIVIRT_ENOMEM;
    }
    pthread_mutex_init(&pfs->lock, NULL);
    *out = pfs;
    return 0;
}

void
vsp_pfs_destroy(struct vsp_pfs *pfs)
{
    if (pfs == NULL) {
        return;
    }
    for (unsigned i = 0; i < VSP_PF_MAX; i++) {
        vsp_pf_put(pfs->pf[i]);
    }
    pthread_mutex_destroy(&pfs->lock);
    pv_free(pfs);
}

int
vsp_pfs_add(struct vsp_pfs *pfs, struct vsp_pf *pf)
{
    int rc = 0;

    if (pf->id >= (int)VSP_PF_MAX) {
        return PCIVIRT_ENOSPC;
    }
    pthread_mutex_lock(&pfs->lock);
    if (pfs->pf[pf->id] != NULL) {
        rc = PCIVIRT_EEXIST;
    } else {
        pfs->pf[pf->id] = vsp_pf_get(pf);
    }
    pthread_mutex_unlock(&pfs->lock);
    return rc;
}

int
vsp_pfs_remove(struct vsp_pfs *pfs, int id)
{
    struct vsp_pf *pf = NULL;

    if (id < 0 || id >= (int)VSP_PF_MAX) {
        return PCIVIRT_ENOENT;
    }
    pthread_mutex_lock(&pfs->lock);
    pf = pfs->pf[id];
    pfs->pf[id] = NULL;
    pthread_mutex_unlock(&pfs->lock);
    vsp_pf_put(pf);
    return pf != NULL ? 0 : PCIVIRT_ENOENT;
}

struct vsp_pf *
vsp_pfs_find(struct vsp_pfs *pfs, int id)
{
    struct vsp_pf *pf = NULL;

    if (id < 0 || id >= (int)VSP_PF_MAX) {
        return NULL;
    }
    pthread_mutex_lock(&pfs->lock);
    if (pfs->pf[id] != NULL) {
        pf = vsp_pf_get(pfs->pf[id]);
    }
    pthread_mutex_unlock(&pfs->lock);
    return pf;
}

/* ---- vf_ops for the VM manager ------------------------------------------------------------ */

static NTSTATUS
ops_reset(void *ctx, int id, uint16_t vf)
{
    struct vsp_pf *pf = vsp_pfs_find(ctx, id);
    NTSTATUS st;

    if (pf == NULL) {
        return STATUS_NO_SUCH_DEVICE;
    }
    st = vsp_pf_reset_vf(pf, vf);
    vsp_pf_put(pf);
    return st;
}

/* Find capability @want in the guest's view of the VF's config; 0 when absent. */
static uint8_t
find_cap(struct vsp_pf *pf, uint16_t vf, uint8_t want)
{
    uint8_t pos = 0;
    uint8_t hdr[2];

    if (!NT_SUCCESS(vsp_pf_read_config(pf, vf, 0x34, &pos, 1))) {
        return 0;
    }
    /* 48 is the most capabilities 192 bytes can hold: a looping chain ends here. */
    for (unsigned n = 0; n < 48 && pos >= 0x40; n++) {
        pos &= 0xFC;
        if (!NT_SUCCESS(vsp_pf_read_config(pf, vf, pos, hdr, 2))) {
            return 0;
        }
        if (hdr[0] == want) {
            return pos;
        }
        pos = hdr[1];
    }
    return 0;
}

static bool
cap_enabled(struct vsp_pf *pf, uint16_t vf, uint8_t cap, uint16_t bit)
{
    uint8_t pos = find_cap(pf, vf, cap);
    uint8_t ctl[2] = {0, 0};

    return pos != 0 && NT_SUCCESS(vsp_pf_read_config(pf, vf, pos + 2u, ctl, 2)) && (le16_get(ctl) & bit) != 0;
}

static bool
check_config_clean(struct vsp_pf *pf, uint16_t vf, char *why, size_t len)
{
    uint8_t cmd[2];

    if (!NT_SUCCESS(vsp_pf_read_config(pf, vf, 0x04, cmd, 2))) {
        snprintf(why, len, "ReadVfConfig of Command failed");
        return false;
    }
    if (le16_get(cmd) & 0x0006u) {
        snprintf(why, len, "Command 0x%04x still has Memory Space or Bus Master enabled", le16_get(cmd));
        return false;
    }
    if (cap_enabled(pf, vf, 0x11, 0x8000u)) {
        snprintf(why, len, "MSI-X still enabled");
        return false;
    }
    if (cap_enabled(pf, vf, 0x05, 0x0001u)) {
        snprintf(why, len, "MSI still enabled");
        return false;
    }
    return true;
}

static bool
ops_check_clean(void *ctx, int id, uint16_t vf, char *why, size_t len)
{
    struct vsp_pf *pf = vsp_pfs_find(ctx, id);
    bool clean;

    if (pf == NULL) {
        snprintf(why, len, "PF %d is gone", id);
        return false;
    }
    clean = check_config_clean(pf, vf, why, len);
    vsp_pf_put(pf);
    return clean;
}

const struct vsp_vf_ops *
vsp_pfs_vf_ops(void)
{
    static const struct vsp_vf_ops ops = {.reset = ops_reset, .check_clean = ops_check_clean};

    return &ops;
}
