/*
 * pf/cfgview.c - the guest's view of VF config space (see pf/cfgview.h).
 *
 * Built in three steps at create time: walk VF 0's capability chains (bounded,
 * refusing loops and pointers into the header), turn the walk into "regions"
 * (one per capability, in address order, each clipped at the next one), and
 * paint four per-byte maps from the permission tables of pf/cfgperm.c: virt,
 * write, w1c and effect.  The chains are then re-linked in the template so that
 * hidden capabilities disappear.  Accesses afterwards are table lookups:
 *
 *   read:  value = (device & ~virt) | (virtual & virt)
 *   write: virtual bits  <- data where virt & write
 *          device bits   <- data where ~virt & write, the rest of the chunk
 *                           written back unchanged except W1C bits (written 0)
 *          anything else is dropped.
 *
 * Locking: one reader-writer lock (util/rwlock.h, striped by CPU) protects the
 * per-VF copies and the read-modify-write of pass-through chunks.  Reads - the
 * hot path, a guest's every config access - take it shared and write no cache
 * line another CPU's reader writes, so concurrent guests scale; writes, FLR
 * and resets take it exclusive (rare, and short).  It replaced 64 striped
 * mutexes, whose lock words two readers of the same stripe bounced between
 * cores (docs/PERFORMANCE.md, benchmark 5).  No lock is held across anything
 * but a bus access, which never blocks indefinitely (pcivirt/bus.h).
 */
#include "pf/cfgview.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "pcivirt/error.h"
#include "pf/cfgperm.h"
#include "util/alloc.h"
#include "util/le.h"
#include "util/rwlock.h"

#define REGION_NONE 0xFFFF
#define MAX_REGIONS 1024 /* 48 standard + 960 extended capabilities at most */

struct region {
    uint16_t start;
    uint16_t length;
    uint16_t cap_id;
    bool extended;
    bool hidden;
    const struct pf_perm_table *table;
};

struct pf_cfgview {
    struct pf_cfg_io io;
    struct pf_cfg_identity id;
    uint16_t num_vfs;
    unsigned n_regions;
    struct region regions[MAX_REGIONS];
    uint16_t chain[MAX_REGIONS]; /* region indexes in walk order */
    unsigned n_chain;
    uint16_t map[PF_CFG_SPACE_SIZE];
    uint8_t virt[PF_CFG_SPACE_SIZE];
    uint8_t write[PF_CFG_SPACE_SIZE];
    uint8_t w1c[PF_CFG_SPACE_SIZE];
    uint8_t effect[PF_CFG_SPACE_SIZE];
    uint8_t templ[PF_CFG_SPACE_SIZE];
    uint8_t **vconf; /* per VF; NULL until the guest writes a virtual bit */
    struct pv_rwlock lock;
    bool lock_ready;
};

/* ---- building the layout ---------------------------------------------------- */

static uint16_t
std_cap_length(const uint8_t *hw, uint16_t at, uint8_t id)
{
    const struct pf_perm_table *t = pf_perm_table_find(id, false);
    uint16_t ctrl;

    switch (id) {
    case PF_CAP_MSI:
        /* PCI 3.0 6.8.1: 64-bit adds 4 bytes, per-vector masking adds 10. */
        ctrl = le16_get(hw + at + 2);
        return (uint16_t)(10 + ((ctrl & 0x0080) ? 4 : 0) + ((ctrl & 0x0100) ? 10 : 0));
    case PF_CAP_VNDR: return hw[at + 2] < 3 ? 3 : hw[at + 2];
    default: return t != NULL && t->length != 0 ? t->length : 0;
    }
}

static int
add_region(struct pf_cfgview *v, uint16_t start, uint16_t length, uint16_t id, bool ext)
{
    const struct pf_perm_table *t = pf_perm_table_find(id, ext);
    struct region *r;

    if (v->n_regions >= MAX_REGIONS) {
        return -1;
    }
    for (unsigned i = 0; i < v->n_regions; i++) {
        if (v->regions[i].start == start) {
            return -1; /* a chain that revisits a capability: stop there */
        }
    }
    r = &v->regions[v->n_regions];
    r->start = start;
    r->length = length;
    r->cap_id = id;
    r->extended = ext;
    r->table = t;
    r->hidden = t != NULL && t->hidden;
    if (id != PF_CAP_HEADER) {
        v->chain[v->n_chain++] = (uint16_t)v->n_regions;
    }
    v->n_regions++;
    return 0;
}

static void
walk_std(struct pf_cfgview *v, const uint8_t *hw)
{
    unsigned budget = 48; /* (256 - 64) / 4 distinct dword slots */
    uint8_t ptr;

    if (!(le16_get(hw + PF_CFG_STATUS) & PF_CFG_STATUS_CAP_LIST)) {
        return;
    }
    ptr = hw[PF_CFG_CAP_PTR] & 0xFC;
    while (ptr != 0 && budget-- > 0) {
        if (ptr < 0x40 || add_region(v, ptr, std_cap_length(hw, ptr, hw[ptr]), hw[ptr], false) != 0) {
            return;
        }
        ptr = hw[ptr + 1] & 0xFC;
    }
}

static void
walk_ext(struct pf_cfgview *v, const uint8_t *hw)
{
    unsigned budget = (PF_CFG_SPACE_SIZE - 0x100) / 4;
    uint16_t off = 0x100;

    while (budget-- > 0) {
        uint32_t h = le32_get(hw + off);
        const struct pf_perm_table *t = pf_perm_table_find((uint16_t)(h & 0xFFFF), true);

        if (h == 0 || h == 0xFFFFFFFF) {
            return;
        }
        if (add_region(v, off, t != NULL ? t->length : 0, (uint16_t)(h & 0xFFFF), true) != 0) {
            return;
        }
        off = (uint16_t)((h >> 20) & 0xFFC);
        if (off < 0x100) {
            return; /* 0 ends the chain; anything else below 0x100 is malformed */
        }
    }
}

/* Clip every region at the next one in address order and at its space's end. */
static void
clip_regions(struct pf_cfgview *v)
{
    for (unsigned i = 0; i < v->n_regions; i++) {
        struct region *r = &v->regions[i];
        uint32_t limit = r->extended ? PF_CFG_SPACE_SIZE : (r->cap_id == PF_CAP_HEADER ? 0x40 : 0x100);
        uint32_t end = r->length != 0 ? (uint32_t)r->start + r->length : limit;

        for (unsigned j = 0; j < v->n_regions; j++) {
            uint32_t s = v->regions[j].start;

            if (s > r->start && s < end) {
                end = s;
            }
        }
        if (end > limit) {
            end = limit;
        }
        r->length = (uint16_t)(end - r->start);
    }
}

static void
paint_region(struct pf_cfgview *v, unsigned idx)
{
    const struct region *r = &v->regions[idx];

    for (uint32_t b = r->start; b < (uint32_t)r->start + r->length; b++) {
        v->map[b] = (uint16_t)idx;
        v->virt[b] = r->hidden ? 0xFF : 0;
        v->write[b] = 0;
        v->w1c[b] = 0;
    }
    if (r->hidden || r->table == NULL) {
        return;
    }
    for (unsigned l = 0; l < r->table->n_lines; l++) {
        const struct pf_perm_line *ln = &r->table->lines[l];

        for (unsigned k = 0; k < ln->width; k++) {
            uint32_t b = (uint32_t)r->start + ln->offset + k;

            if (ln->offset + k >= r->length) {
                break;
            }
            v->virt[b] |= (uint8_t)(ln->virt >> (8 * k));
            v->write[b] |= (uint8_t)(ln->write >> (8 * k));
            v->w1c[b] |= (uint8_t)(ln->w1c >> (8 * k));
            if (ln->effect != PF_PERM_PLAIN && ((ln->virt | ln->write) >> (8 * k)) & 0xFF) {
                v->effect[b] = ln->effect;
            }
        }
    }
}

/* Re-link the chains in the template so hidden capabilities vanish. */
static void
relink(struct pf_cfgview *v)
{
    uint8_t last_std = 0;
    int last_ext = -1;
    bool any_std = false;

    for (unsigned i = v->n_chain; i-- > 0;) {
        const struct region *r = &v->regions[v->chain[i]];

        if (r->hidden) {
            continue;
        }
        if (!r->extended) {
            v->virt[r->start + 1] = 0xFF;
            v->templ[r->start + 1] = last_std;
            last_std = (uint8_t)r->start;
            any_std = true;
        } else {
            uint32_t keep = le32_get(v->templ + r->start) & 0x000FFFFF;

            le32_put(v->templ + r->start, keep | ((uint32_t)(last_ext < 0 ? 0 : last_ext) << 20));
            v->virt[r->start + 2] |= 0xF0;
            v->virt[r->start + 3] = 0xFF;
            last_ext = r->start;
        }
    }
    v->templ[PF_CFG_CAP_PTR] = last_std;
    if (!any_std) {
        v->virt[PF_CFG_STATUS] |= PF_CFG_STATUS_CAP_LIST;
        v->templ[PF_CFG_STATUS] &= (uint8_t)~PF_CFG_STATUS_CAP_LIST;
    }
    if (v->map[0x100] != REGION_NONE && v->regions[v->map[0x100]].hidden) {
        /* The first extended capability is hidden: a null header points on (as vfio). */
        le32_put(v->templ + 0x100, (uint32_t)(last_ext < 0 ? 0 : last_ext) << 20);
    }
}

/* BAR write masks from QueryProbedBars: the guest sizes BARs against them. */
static void
paint_bars(struct pf_cfgview *v)
{
    for (unsigned i = 0; i < 6; i++) {
        uint32_t p = v->id.probed_bars[i];
        uint32_t off = PF_CFG_BAR0 + 4 * i;
        bool upper = i > 0 && (v->id.probed_bars[i - 1] & 0x7) == 0x4;
        uint32_t wmask = upper ? p : (p & 1 ? p & ~3u : p & ~0xFu);
        uint32_t type = upper ? 0 : p & ~wmask;

        le32_put(v->templ + off, type);
        le32_put(v->write + off, wmask);
    }
    le16_put(v->templ + PF_CFG_VENDOR_ID, v->id.vendor_id);
    le16_put(v->templ + PF_CFG_VENDOR_ID + 2, v->id.device_id);
}

static NTSTATUS
build_layout(struct pf_cfgview *v)
{
    uint8_t *hw = pv_malloc(PF_CFG_SPACE_SIZE);

    if (hw == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (v->io.read(v->io.ctx, 0, 0, hw, PF_CFG_SPACE_SIZE) != 0) {
        pv_free(hw);
        return STATUS_DEVICE_NOT_READY;
    }
    /* Bytes no capability claims read 0 and ignore writes (no device-private leaks). */
    for (unsigned b = 0; b < PF_CFG_SPACE_SIZE; b++) {
        v->map[b] = REGION_NONE;
        v->virt[b] = 0xFF;
    }
    add_region(v, 0, 0x40, PF_CAP_HEADER, false);
    walk_std(v, hw);
    walk_ext(v, hw);
    clip_regions(v);
    for (unsigned i = 0; i < v->n_regions; i++) {
        paint_region(v, i);
    }
    /*
     * Template: virtual bits of a capability start at the device's value (the PF's
     * settings, VF RsvdP); virtual header fields, hidden and unclaimed bytes start 0.
     */
    for (unsigned b = 0; b < PF_CFG_SPACE_SIZE; b++) {
        uint16_t r = v->map[b];

        v->templ[b] = r == REGION_NONE || r == 0 || v->regions[r].hidden ? 0 : hw[b];
    }
    paint_bars(v);
    relink(v);
    pv_free(hw);
    return STATUS_SUCCESS;
}

/* ---- create / destroy ----------------------------------------------------------- */

NTSTATUS
pf_cfgview_create(const struct pf_cfg_io *io, uint16_t num_vfs, const struct pf_cfg_identity *id,
                  struct pf_cfgview **out)
{
    struct pf_cfgview *v;
    NTSTATUS st;

    *out = NULL;
    if (num_vfs == 0 || io == NULL || io->read == NULL || io->write == NULL || id == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    v = pv_calloc(1, sizeof(*v));
    if (v == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    v->io = *io;
    v->id = *id;
    v->num_vfs = num_vfs;
    if (pv_rwlock_init(&v->lock) != 0) {
        st = STATUS_INSUFFICIENT_RESOURCES;
        goto fail;
    }
    v->lock_ready = true;
    v->vconf = pv_calloc(num_vfs, sizeof(*v->vconf));
    if (v->vconf == NULL) {
        st = STATUS_INSUFFICIENT_RESOURCES;
        goto fail;
    }
    st = build_layout(v);
    if (!NT_SUCCESS(st)) {
        goto fail;
    }
    *out = v;
    return STATUS_SUCCESS;
fail:
    pf_cfgview_destroy(v);
    return st;
}

void
pf_cfgview_destroy(struct pf_cfgview *v)
{
    if (v == NULL) {
        return;
    }
    if (v->vconf != NULL) {
        for (unsigned i = 0; i < v->num_vfs; i++) {
            pv_free(v->vconf[i]);
        }
        pv_free(v->vconf);
    }
    if (v->lock_ready) {
        pv_rwlock_destroy(&v->lock);
    }
    pv_free(v);
}

void
pf_cfgview_reset_vf(struct pf_cfgview *v, uint16_t vf)
{
    if (v == NULL || vf >= v->num_vfs) {
        return;
    }
    pv_rwlock_wrlock(&v->lock);
    pv_free(v->vconf[vf]);
    v->vconf[vf] = NULL;
    pv_rwlock_wrunlock(&v->lock);
}

/* ---- accesses ------------------------------------------------------------------ */

/* Largest aligned chunk at @off (4, 2 or 1) inside [off, end) and one region. */
static uint32_t
chunk_size(const struct pf_cfgview *v, uint32_t off, uint32_t end)
{
    static const uint32_t sizes[] = {4, 2};

    for (unsigned i = 0; i < 2; i++) {
        uint32_t n = sizes[i];

        if (off % n == 0 && off + n <= end && v->map[off] == v->map[off + n - 1]) {
            return n;
        }
    }
    return 1;
}

static bool
any_bits(const uint8_t *mask, uint32_t off, uint32_t n, uint8_t invert)
{
    for (uint32_t i = 0; i < n; i++) {
        if ((uint8_t)(mask[off + i] ^ invert) != 0) {
            return true;
        }
    }
    return false;
}

static NTSTATUS
check_args(const struct pf_cfgview *v, uint16_t vf, uint32_t offset, const void *data, uint32_t length)
{
    if (v == NULL || data == NULL || vf >= v->num_vfs || length == 0 || length > PF_CFG_SPACE_SIZE ||
        offset >= PF_CFG_SPACE_SIZE || offset + length > PF_CFG_SPACE_SIZE) {
        return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

NTSTATUS
pf_cfgview_read(struct pf_cfgview *v, uint16_t vf, uint32_t offset, void *data, uint32_t length)
{
    NTSTATUS st = check_args(v, vf, offset, data, length);
    uint8_t *out = data;
    uint32_t end = offset + length;

    if (!NT_SUCCESS(st)) {
        return st;
    }
    pv_rwlock_rdlock(&v->lock);
    for (uint32_t off = offset; off < end;) {
        uint32_t n = chunk_size(v, off, end);
        const uint8_t *vc = v->vconf[vf] != NULL ? v->vconf[vf] : v->templ;
        uint8_t hw[4] = {0};

        if (any_bits(v->virt, off, n, 0xFF) && v->io.read(v->io.ctx, vf, (uint16_t)off, hw, n) != 0) {
            st = STATUS_DEVICE_NOT_READY;
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            out[off - offset + i] = (uint8_t)((hw[i] & ~v->virt[off + i]) | (vc[off + i] & v->virt[off + i]));
        }
        off += n;
    }
    pv_rwlock_rdunlock(&v->lock);
    return st;
}

static NTSTATUS
write_hw_chunk(struct pf_cfgview *v, uint16_t vf, uint32_t off, uint32_t n, const uint8_t *in)
{
    uint8_t hw[4];

    if (v->io.read(v->io.ctx, vf, (uint16_t)off, hw, n) != 0) {
        return STATUS_DEVICE_NOT_READY;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t pass = (uint8_t)(v->write[off + i] & ~v->virt[off + i]);

        hw[i] = (uint8_t)((in[i] & pass) | (hw[i] & ~pass & ~v->w1c[off + i]));
    }
    return v->io.write(v->io.ctx, vf, (uint16_t)off, hw, n) != 0 ? STATUS_DEVICE_NOT_READY : STATUS_SUCCESS;
}

static NTSTATUS
write_virt_chunk(struct pf_cfgview *v, uint16_t vf, uint32_t off, uint32_t n, const uint8_t *in, bool *flr)
{
    uint8_t *vc = v->vconf[vf];

    if (vc == NULL) {
        vc = pv_malloc(PF_CFG_SPACE_SIZE);
        if (vc == NULL) {
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        memcpy(vc, v->templ, PF_CFG_SPACE_SIZE);
        v->vconf[vf] = vc;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t m = (uint8_t)(v->write[off + i] & v->virt[off + i]);

        vc[off + i] = (uint8_t)((vc[off + i] & ~m) | (in[i] & m));
        if (v->effect[off + i] == PF_PERM_FLR && (in[i] & m & (PF_EXP_DEVCTL_FLR >> 8))) {
            *flr = true;
        }
    }
    return STATUS_SUCCESS;
}

NTSTATUS
pf_cfgview_write(struct pf_cfgview *v, uint16_t vf, uint32_t offset, const void *data, uint32_t length)
{
    NTSTATUS st = check_args(v, vf, offset, data, length);
    const uint8_t *in = data;
    uint32_t end = offset + length;
    bool flr = false;

    if (!NT_SUCCESS(st)) {
        return st;
    }
    pv_rwlock_wrlock(&v->lock);
    for (uint32_t off = offset; off < end && NT_SUCCESS(st);) {
        uint32_t n = chunk_size(v, off, end);
        uint8_t hw_mask[4], virt_mask[4];

        for (uint32_t i = 0; i < n; i++) {
            hw_mask[i] = (uint8_t)(v->write[off + i] & ~v->virt[off + i]);
            virt_mask[i] = (uint8_t)(v->write[off + i] & v->virt[off + i]);
        }
        if (any_bits(hw_mask, 0, n, 0)) {
            st = write_hw_chunk(v, vf, off, n, in + (off - offset));
        }
        if (NT_SUCCESS(st) && any_bits(virt_mask, 0, n, 0)) {
            st = write_virt_chunk(v, vf, off, n, in + (off - offset), &flr);
        }
        off += n;
    }
    if (flr) {
        /* Initiate FLR (PCIe 6.0 7.5.3.4): reset the function; virtual state returns to defaults. */
        pv_free(v->vconf[vf]);
        v->vconf[vf] = NULL;
        if (v->io.reset != NULL && v->io.reset(v->io.ctx, vf) != 0) {
            st = STATUS_DEVICE_NOT_READY;
        }
    }
    pv_rwlock_wrunlock(&v->lock);
    return st;
}

int
pf_cfgview_perm(const struct pf_cfgview *v, uint32_t offset, struct pf_cfg_perm_byte *out)
{
    uint16_t r;

    if (v == NULL || out == NULL || offset >= PF_CFG_SPACE_SIZE) {
        return PCIVIRT_ERANGE;
    }
    r = v->map[offset];
    out->virt = v->virt[offset];
    out->write = v->write[offset];
    out->w1c = v->w1c[offset];
    out->hidden = r != REGION_NONE && v->regions[r].hidden;
    out->cap_id = r == REGION_NONE ? 0xFFFE : v->regions[r].cap_id;
    out->extended = r != REGION_NONE && v->regions[r].extended;
    return 0;
}
