/*
 * vsp/iommu.c - DMA translation and interrupt remapping (vsp/iommu.h).
 *
 * Mappings of a domain are kept sorted by IOVA in an array and found by binary
 * search; overlap is refused at map time, so a translation of a range walks
 * adjacent mappings in order.  A DMA is done in two passes under the shared
 * lock: first every byte of the range is translated and checked, then the
 * data moves; so a fault never leaves a partial write behind.  Faults are
 * described into a local record under the lock and logged after it is dropped
 * (the log's listener may call back into the stack).
 */
#include "vsp/iommu.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "pcivirt/error.h"
#include "util/alloc.h"

#define PAGE_MASK ((uint64_t)VSP_PAGE_SIZE - 1)
#define MAX_MAPPINGS 65536u

struct mapping {
    uint64_t iova;
    uint64_t len;
    uint64_t gpa;
    unsigned perm;
};

struct irte {
    bool valid;
    uint16_t rid;
    uint32_t vector;
    uint32_t dest;
};

struct vsp_domain {
    struct vsp_iommu *iommu;
    int vm_id;
    struct vsp_gmem *mem;
    struct mapping *maps; /* sorted by iova, non-overlapping */
    size_t nmaps;
    size_t cap_maps;
    size_t max_maps;
    struct irte *irtes;
    uint32_t irte_count;
    uint32_t irte_hint; /* where the next free search starts */
    vsp_irq_sink_fn *irq_sink;
    void *irq_ctx;
    size_t attached; /* requesters routed here */
};

struct rid_entry {
    struct vsp_domain *dom;
    int pf;
    int vf;
};

struct vsp_iommu {
    pthread_rwlock_t lock;
    struct vsp_event_log *log;
    struct rid_entry *bus[256]; /* bus → 256 devfn entries, allocated on first attach */
    size_t domains;
    _Atomic uint64_t dma_ok, dma_faults, msi_ok, msi_faults;
};

/* What went wrong, described under the lock and logged after it. */
struct fault {
    int pf, vf, vm;
    uint64_t addr;
    char why[96];
};

int
vsp_iommu_create(struct vsp_event_log *log, struct vsp_iommu **out)
{
    struct vsp_iommu *iommu;

    if (out == NULL) {
        return PCIVIRT_EINVAL;
    }
    iommu = pv_calloc(1, sizeof(*iommu));
    if (iommu == NULL) {
        return PCIVIRT_ENOMEM;
    }
    pthread_rwlock_init(&iommu->lock, NULL);
    iommu->log = log;
    *out = iommu;
    return 0;
}

void
vsp_iommu_destroy(struct vsp_iommu *iommu)
{
    if (iommu == NULL) {
        return;
    }
    for (size_t b = 0; b < 256; b++) {
        pv_free(iommu->bus[b]);
    }
    pthread_rwlock_destroy(&iommu->lock);
    pv_free(iommu);
}

int
vsp_domain_create(struct vsp_iommu *iommu, const struct vsp_domain_config *cfg, struct vsp_domain **out)
{
    struct vsp_domain *dom;

    if (iommu == NULL || cfg == NULL || out == NULL || cfg->mem == NULL || cfg->max_mappings == 0 ||
        cfg->max_mappings > MAX_MAPPINGS || cfg->irte_count == 0 || cfg->irte_count > VSP_IRTE_MAX) {
        return PCIVIRT_EINVAL;
    }
    dom = pv_calloc(1, sizeof(*dom));
    if (dom == NULL) {
        return PCIVIRT_ENOMEM;
    }
    dom->irtes = pv_calloc(cfg->irte_count, sizeof(*dom->irtes));
    if (dom->irtes == NULL) {
        pv_free(dom);
        return PCIVIRT_ENOMEM;
    }
    dom->iommu = iommu;
    dom->vm_id = cfg->vm_id;
    dom->mem = cfg->mem;
    dom->max_maps = cfg->max_mappings;
    dom->irte_count = cfg->irte_count;
    dom->irq_sink = cfg->irq_sink;
    dom->irq_ctx = cfg->irq_ctx;
    pthread_rwlock_wrlock(&iommu->lock);
    iommu->domains++;
    pthread_rwlock_unlock(&iommu->lock);
    *out = dom;
    return 0;
}

void
vsp_domain_destroy(struct vsp_domain *dom)
{
    struct vsp_iommu *iommu;

    if (dom == NULL) {
        return;
    }
    iommu = dom->iommu;
    pthread_rwlock_wrlock(&iommu->lock);
    for (size_t b = 0; b < 256 && dom->attached > 0; b++) {
        for (size_t d = 0; iommu->bus[b] != NULL && d < 256; d++) {
            if (iommu->bus[b][d].dom == dom) {
                iommu->bus[b][d].dom = NULL;
                dom->attached--;
            }
        }
    }
    iommu->domains--;
    pthread_rwlock_unlock(&iommu->lock);
    pv_free(dom->maps);
    pv_free(dom->irtes);
    pv_free(dom);
}

int
vsp_domain_vm(const struct vsp_domain *dom)
{
    return dom->vm_id;
}

/* Index of the first mapping whose end is above @iova (lock held). */
static size_t
map_search(const struct vsp_domain *dom, uint64_t iova)
{
    size_t lo = 0, hi = dom->nmaps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct mapping *m = &dom->maps[mid];

        if (m->iova + m->len <= iova) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static int
map_check_args(const struct vsp_domain *dom, uint64_t iova, uint64_t gpa, uint64_t len, unsigned perm)
{
    if (len == 0 || (iova | gpa | len) & PAGE_MASK || perm == 0 || (perm & ~VSP_DMA_RW) != 0) {
        return PCIVIRT_EINVAL;
    }
    if (iova + len < iova || !vsp_gmem_range_ok(dom->mem, gpa, len)) {
        return PCIVIRT_ERANGE;
    }
    return 0;
}

/* Insert at @pos (lock held, capacity checked).  Return: 0 or PCIVIRT_ENOMEM. */
static int
map_insert(struct vsp_domain *dom, size_t pos, const struct mapping *m)
{
    if (dom->nmaps == dom->cap_maps) {
        size_t cap = dom->cap_maps == 0 ? 4 : dom->cap_maps * 2;
        struct mapping *grown = pv_realloc(dom->maps, cap * sizeof(*grown));

        if (grown == NULL) {
            return PCIVIRT_ENOMEM;
        }
        dom->maps = grown;
        dom->cap_maps = cap;
    }
    memmove(&dom->maps[pos + 1], &dom->maps[pos], (dom->nmaps - pos) * sizeof(*m));
    dom->maps[pos] = *m;
    dom->nmaps++;
    return 0;
}

int
vsp_domain_map(struct vsp_domain *dom, uint64_t iova, uint64_t gpa, uint64_t len, unsigned perm)
{
    struct mapping m = {iova, len, gpa, perm};
    size_t pos;
    int rc = map_check_args(dom, iova, gpa, len, perm);

    if (rc != 0) {
        return rc;
    }
    pthread_rwlock_wrlock(&dom->iommu->lock);
    pos = map_search(dom, iova);
    if (pos < dom->nmaps && dom->maps[pos].iova < iova + len) {
        rc = PCIVIRT_EOVERLAP;
    } else if (dom->nmaps >= dom->max_maps) {
        rc = PCIVIRT_ENOSPC;
    } else {
        rc = map_insert(dom, pos, &m);
    }
    pthread_rwlock_unlock(&dom->iommu->lock);
    return rc;
}

int
vsp_domain_map_identity(struct vsp_domain *dom, unsigned perm)
{
    return vsp_domain_map(dom, 0, 0, vsp_gmem_size(dom->mem), perm);
}

int
vsp_domain_unmap(struct vsp_domain *dom, uint64_t iova, uint64_t len)
{
    size_t pos;
    int rc = PCIVIRT_ENOENT;

    pthread_rwlock_wrlock(&dom->iommu->lock);
    pos = map_search(dom, iova);
    if (pos < dom->nmaps && dom->maps[pos].iova == iova && dom->maps[pos].len == len) {
        memmove(&dom->maps[pos], &dom->maps[pos + 1], (dom->nmaps - pos - 1) * sizeof(dom->maps[0]));
        dom->nmaps--;
        rc = 0;
    }
    pthread_rwlock_unlock(&dom->iommu->lock);
    return rc;
}

/* The entry for @rid, or NULL if its bus table does not exist (lock held). */
static struct rid_entry *
rid_lookup(const struct vsp_iommu *iommu, uint16_t rid)
{
    struct rid_entry *tbl = iommu->bus[rid >> 8];

    return tbl == NULL ? NULL : &tbl[rid & 0xFF];
}

int
vsp_iommu_attach(struct vsp_iommu *iommu, uint16_t rid, struct vsp_domain *dom, int pf, int vf)
{
    struct rid_entry *e;
    int rc = 0;

    if (iommu == NULL || dom == NULL || dom->iommu != iommu) {
        return PCIVIRT_EINVAL;
    }
    pthread_rwlock_wrlock(&iommu->lock);
    if (iommu->bus[rid >> 8] == NULL) {
        iommu->bus[rid >> 8] = pv_calloc(256, sizeof(struct rid_entry));
    }
    e = rid_lookup(iommu, rid);
    if (e == NULL) {
        rc = PCIVIRT_ENOMEM;
    } else if (e->dom != NULL) {
        rc = PCIVIRT_EBUSY;
    } else {
        e->dom = dom;
        e->pf = pf;
        e->vf = vf;
        dom->attached++;
    }
    pthread_rwlock_unlock(&iommu->lock);
    return rc;
}

int
vsp_iommu_detach(struct vsp_iommu *iommu, uint16_t rid)
{
    struct rid_entry *e;
    int rc = PCIVIRT_ENOENT;

    pthread_rwlock_wrlock(&iommu->lock);
    e = rid_lookup(iommu, rid);
    if (e != NULL && e->dom != NULL) {
        e->dom->attached--;
        e->dom = NULL;
        rc = 0;
    }
    pthread_rwlock_unlock(&iommu->lock);
    return rc;
}

struct vsp_domain *
vsp_iommu_domain_of(struct vsp_iommu *iommu, uint16_t rid)
{
    struct rid_entry *e;
    struct vsp_domain *dom;

    pthread_rwlock_rdlock(&iommu->lock);
    e = rid_lookup(iommu, rid);
    dom = e == NULL ? NULL : e->dom;
    pthread_rwlock_unlock(&iommu->lock);
    return dom;
}

static void
fault_init(struct fault *f, const struct rid_entry *e, uint64_t addr)
{
    f->pf = e == NULL ? VSP_EV_NONE : e->pf;
    f->vf = e == NULL ? VSP_EV_NONE : e->vf;
    f->vm = (e == NULL || e->dom == NULL) ? VSP_EV_NONE : e->dom->vm_id;
    f->addr = addr;
    f->why[0] = 0;
}

/*
 * Check that every byte of [@iova, @iova + @len) is mapped with @perm in the
 * domain of @e (lock held).  Return: 0, or PCIVIRT_EACCES with @f->why filled.
 */
static int
dma_validate(const struct rid_entry *e, uint64_t iova, size_t len, unsigned perm, struct fault *f)
{
    const struct vsp_domain *dom = e == NULL ? NULL : e->dom;
    uint64_t at = iova;
    size_t left = len;

    if (dom == NULL) {
        snprintf(f->why, sizeof(f->why), "requester not attached to any domain");
        return PCIVIRT_EACCES;
    }
    for (size_t pos = map_search(dom, at); left > 0; pos++) {
        const struct mapping *m = pos < dom->nmaps ? &dom->maps[pos] : NULL;
        uint64_t chunk;

        if (m == NULL || m->iova > at) {
            f->addr = at;
            snprintf(f->why, sizeof(f->why), "IOVA 0x%" PRIx64 " not mapped", at);
            return PCIVIRT_EACCES;
        }
        if ((m->perm & perm) != perm) {
            f->addr = at;
            snprintf(f->why, sizeof(f->why), "IOVA 0x%" PRIx64 " mapped without %s permission", at,
                     perm == VSP_DMA_WRITE ? "write" : "read");
            return PCIVIRT_EACCES;
        }
        chunk = m->iova + m->len - at;
        if (chunk >= left) {
            return 0;
        }
        at += chunk;
        left -= (size_t)chunk;
    }
    return 0;
}

/* Move the data of a validated DMA (lock held).  @write selects the direction. */
static int
dma_copy(const struct vsp_domain *dom, uint64_t iova, uint8_t *buf, size_t len, bool write)
{
    for (size_t pos = map_search(dom, iova); len > 0; pos++) {
        const struct mapping *m = &dom->maps[pos];
        uint64_t room = m->iova + m->len - iova;
        size_t n = room < len ? (size_t)room : len;
        uint64_t gpa = m->gpa + (iova - m->iova);
        int rc = write ? vsp_gmem_write(dom->mem, gpa, buf, n) : vsp_gmem_read(dom->mem, gpa, buf, n);

        if (rc != 0) {
            return rc;
        }
        buf += n;
        iova += n;
        len -= n;
    }
    return 0;
}

static void
log_dma_fault(struct vsp_iommu *iommu, const struct fault *f, uint16_t rid, size_t len, bool write)
{
    atomic_fetch_add(&iommu->dma_faults, 1);
    vsp_event_log_add(iommu->log, VSP_EV_IOMMU_FAULT, f->pf, f->vf, f->vm, STATUS_SUCCESS, f->addr,
                      "DMA %s of %zu bytes by %02x:%02x.%x blocked: %s", write ? "write" : "read", len, rid >> 8,
                      (rid >> 3) & 0x1F, rid & 7, f->why);
}

static int
dma(struct vsp_iommu *iommu, uint16_t rid, uint64_t iova, uint8_t *buf, size_t len, bool write)
{
    struct fault f;
    const struct rid_entry *e;
    int rc;

    if (iommu == NULL || buf == NULL || len == 0) {
        return PCIVIRT_EINVAL;
    }
    pthread_rwlock_rdlock(&iommu->lock);
    e = rid_lookup(iommu, rid);
    fault_init(&f, e, iova);
    rc = dma_validate(e, iova, len, write ? VSP_DMA_WRITE : VSP_DMA_READ, &f);
    if (rc == 0) {
        rc = dma_copy(e->dom, iova, buf, len, write);
    }
    pthread_rwlock_unlock(&iommu->lock);
    if (rc == PCIVIRT_EACCES) {
        if (!write) {
            memset(buf, 0xFF, len);
        }
        log_dma_fault(iommu, &f, rid, len, write);
    } else if (rc == 0) {
        atomic_fetch_add(&iommu->dma_ok, 1);
    }
    return rc;
}

int
vsp_iommu_dma_read(struct vsp_iommu *iommu, uint16_t rid, uint64_t iova, void *buf, size_t len)
{
    return dma(iommu, rid, iova, buf, len, false);
}

int
vsp_iommu_dma_write(struct vsp_iommu *iommu, uint16_t rid, uint64_t iova, const void *buf, size_t len)
{
    /* dma() only reads from @buf when writing; the cast keeps one code path. */
    return dma(iommu, rid, iova, (uint8_t *)(uintptr_t)buf, len, true);
}

int
vsp_domain_irte_alloc(struct vsp_domain *dom, uint16_t rid, uint32_t vector, uint32_t dest, uint32_t *handle)
{
    int rc = PCIVIRT_ENOSPC;

    if (dom == NULL || handle == NULL) {
        return PCIVIRT_EINVAL;
    }
    pthread_rwlock_wrlock(&dom->iommu->lock);
    for (uint32_t i = 0; i < dom->irte_count; i++) {
        uint32_t h = (dom->irte_hint + i) % dom->irte_count;
        struct irte *t = &dom->irtes[h];

        if (!t->valid) {
            *t = (struct irte){true, rid, vector, dest};
            dom->irte_hint = (h + 1) % dom->irte_count;
            *handle = h;
            rc = 0;
            break;
        }
    }
    pthread_rwlock_unlock(&dom->iommu->lock);
    return rc;
}

int
vsp_domain_irte_free(struct vsp_domain *dom, uint16_t rid, uint32_t handle)
{
    int rc = PCIVIRT_ENOENT;

    pthread_rwlock_wrlock(&dom->iommu->lock);
    if (handle < dom->irte_count && dom->irtes[handle].valid && dom->irtes[handle].rid == rid) {
        dom->irtes[handle].valid = false;
        rc = 0;
    }
    pthread_rwlock_unlock(&dom->iommu->lock);
    return rc;
}

unsigned
vsp_domain_irte_free_rid(struct vsp_domain *dom, uint16_t rid)
{
    unsigned n = 0;

    pthread_rwlock_wrlock(&dom->iommu->lock);
    for (uint32_t i = 0; i < dom->irte_count; i++) {
        if (dom->irtes[i].valid && dom->irtes[i].rid == rid) {
            dom->irtes[i].valid = false;
            n++;
        }
    }
    pthread_rwlock_unlock(&dom->iommu->lock);
    return n;
}

unsigned
vsp_domain_irte_count_rid(struct vsp_domain *dom, uint16_t rid)
{
    unsigned n = 0;

    pthread_rwlock_rdlock(&dom->iommu->lock);
    for (uint32_t i = 0; i < dom->irte_count; i++) {
        n += dom->irtes[i].valid && dom->irtes[i].rid == rid;
    }
    pthread_rwlock_unlock(&dom->iommu->lock);
    return n;
}

void
vsp_msi_compose(uint32_t handle, uint64_t *address, uint32_t *data)
{
    /* VT-d remappable format: handle[14:0] in bits 19:5, handle[15] in bit 2; no subhandle. */
    *address = VSP_MSI_ADDR_BASE | ((uint64_t)(handle & 0x7FFF) << 5) | VSP_MSI_REMAPPABLE |
               ((uint64_t)((handle >> 15) & 1) << 2);
    *data = 0;
}

/* Decode and check an MSI against @e's IRTE table (lock held); fills *t on success. */
static int
msi_check(const struct rid_entry *e, uint16_t rid, uint64_t address, uint32_t data, struct irte *t, struct fault *f)
{
    uint32_t handle;

    if (e == NULL || e->dom == NULL) {
        snprintf(f->why, sizeof(f->why), "requester not attached to any domain");
        return PCIVIRT_EACCES;
    }
    if ((address & ~(uint64_t)0xFFFFFFFFu) != 0 || (address & VSP_MSI_ADDR_MASK) != VSP_MSI_ADDR_BASE) {
        snprintf(f->why, sizeof(f->why), "address 0x%" PRIx64 " outside the MSI window", address);
        return PCIVIRT_EACCES;
    }
    if ((address & VSP_MSI_REMAPPABLE) == 0) {
        snprintf(f->why, sizeof(f->why), "compatibility-format interrupt blocked");
        return PCIVIRT_EACCES;
    }
    handle = (uint32_t)((address >> 5) & 0x7FFF) | (uint32_t)(((address >> 2) & 1) << 15);
    if (address & VSP_MSI_SHV) {
        handle = (handle + (data & 0xFFFF)) & 0xFFFF;
    }
    if (handle >= e->dom->irte_count || !e->dom->irtes[handle].valid) {
        snprintf(f->why, sizeof(f->why), "handle %" PRIu32 " not present in the VM's IRTE table", handle);
        return PCIVIRT_EACCES;
    }
    if (e->dom->irtes[handle].rid != rid) {
        snprintf(f->why, sizeof(f->why), "handle %" PRIu32 " belongs to requester %04x (source-id check)", handle,
                 e->dom->irtes[handle].rid);
        return PCIVIRT_EACCES;
    }
    *t = e->dom->irtes[handle];
    return 0;
}

int
vsp_iommu_msi(struct vsp_iommu *iommu, uint16_t rid, uint64_t address, uint32_t data)
{
    const struct rid_entry *e;
    vsp_irq_sink_fn *sink = NULL;
    void *sink_ctx = NULL;
    struct irte t;
    struct fault f;
    int rc;

    pthread_rwlock_rdlock(&iommu->lock);
    e = rid_lookup(iommu, rid);
    fault_init(&f, e, address);
    rc = msi_check(e, rid, address, data, &t, &f);
    if (rc == 0) {
        sink = e->dom->irq_sink;
        sink_ctx = e->dom->irq_ctx;
    }
    pthread_rwlock_unlock(&iommu->lock);
    if (rc != 0) {
        atomic_fetch_add(&iommu->msi_faults, 1);
        vsp_event_log_add(iommu->log, VSP_EV_IRQ_FAULT, f.pf, f.vf, f.vm, STATUS_SUCCESS, address,
                          "MSI by %02x:%02x.%x (data 0x%" PRIx32 ") blocked: %s", rid >> 8, (rid >> 3) & 0x1F, rid & 7,
                          data, f.why);
        return rc;
    }
    atomic_fetch_add(&iommu->msi_ok, 1);
    if (sink != NULL) {
        sink(sink_ctx, t.vector, t.dest);
    }
    return 0;
}

void
vsp_iommu_get_stats(struct vsp_iommu *iommu, struct vsp_iommu_stats *out)
{
    out->dma_ok = atomic_load(&iommu->dma_ok);
    out->dma_faults = atomic_load(&iommu->dma_faults);
    out->msi_ok = atomic_load(&iommu->msi_ok);
    out->msi_faults = atomic_load(&iommu->msi_faults);
}

static int
port_dma_read(void *ctx, uint16_t rid, uint64_t iova, void *buf, uint32_t len)
{
    return vsp_iommu_dma_read(ctx, rid, iova, buf, len);
}

static int
port_dma_write(void *ctx, uint16_t rid, uint64_t iova, const void *buf, uint32_t len)
{
    return vsp_iommu_dma_write(ctx, rid, iova, buf, len);
}

static int
port_raise(void *ctx, uint16_t rid, uint64_t address, uint32_t data)
{
    return vsp_iommu_msi(ctx, rid, address, data);
}

void
vsp_iommu_dma_port(struct vsp_iommu *iommu, struct pv_dma_port *port)
{
    memset(port, 0, sizeof(*port));
    port->size = sizeof(*port);
    port->version = PV_DMA_PORT_VERSION;
    port->ctx = iommu;
    port->dma_read = port_dma_read;
    port->dma_write = port_dma_write;
}

void
vsp_iommu_irq_port(struct vsp_iommu *iommu, struct pv_irq_port *port)
{
    memset(port, 0, sizeof(*port));
    port->size = sizeof(*port);
    port->version = PV_IRQ_PORT_VERSION;
    port->ctx = iommu;
    port->raise = port_raise;
}
