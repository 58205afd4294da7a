/*
 * pf/blocks.c - the configuration-block store (see pf/blocks.h).
 *
 * Declarations live in one small array (ids are few; lookups are a linear scan
 * of at most PF_BLOCK_MAX_IDS entries).  Each VF has a lazily allocated array of
 * slots parallel to the declarations, grown when a later declaration appears;
 * a slot with `own` false falls back to the PF-wide default slot.  One mutex
 * guards everything; callbacks run after it is dropped so the driver may take
 * its own locks in them.
 */
#include "pf/blocks.h"

#include <pthread.h>
#include <string.h>

#include "util/alloc.h"

struct slot {
    bool own;
    uint8_t length;
    uint8_t data[VPCI_MAX_READ_WRITE_BLOCK_SIZE];
};

struct decl {
    uint32_t id;
    bool vf_writable;
    struct slot dflt;
};

struct vf_blocks {
    unsigned n_slots;
    struct slot slots[];
};

struct pf_blocks {
    pthread_mutex_t lock;
    uint16_t num_vfs;
    unsigned n_decls;
    struct decl decls[PF_BLOCK_MAX_IDS];
    struct vf_blocks **vfs;
    pf_blocks_changed_fn *changed;
    pf_blocks_written_fn *written;
    void *ctx;
};

NTSTATUS
pf_blocks_create(uint16_t num_vfs, pf_blocks_changed_fn *changed, pf_blocks_written_fn *written, void *ctx,
                 struct pf_blocks **out)
{
    struct pf_blocks *b = pv_calloc(1, sizeof(*b));

    *out = NULL;
    if (b == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    b->vfs = pv_calloc(num_vfs ? num_vfs : 1, sizeof(*b->vfs));
    if (b->vfs == NULL) {
        pv_free(b);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    pthread_mutex_init(&b->lock, NULL);
    b->num_vfs = num_vfs;
    b->changed = changed;
    b->written = written;
    b->ctx = ctx;
    *out = b;
    return STATUS_SUCCESS;
}

void
pf_blocks_destroy(struct pf_blocks *b)
{
    if (b == NULL) {
        return;
    }
    for (unsigned i = 0; i < b->num_vfs; i++) {
        pv_free(b->vfs[i]);
    }
    pv_free(b->vfs);
    pthread_mutex_destroy(&b->lock);
    pv_free(b);
}

uint16_t
pf_blocks_num_vfs(const struct pf_blocks *b)
{
    return b->num_vfs;
}

static int
find_decl(const struct pf_blocks *b, uint32_t id)
{
    for (unsigned i = 0; i < b->n_decls; i++) {
        if (b->decls[i].id == id) {
            return (int)i;
        }
    }
    return -1;
}

NTSTATUS
pf_blocks_define(struct pf_blocks *b, uint32_t id, bool vf_writable)
{
    NTSTATUS st = STATUS_SUCCESS;
    int d;

    pthread_mutex_lock(&b->lock);
    d = find_decl(b, id);
    if (d >= 0) {
        b->decls[d].vf_writable = vf_writable;
    } else if (b->n_decls >= PF_BLOCK_MAX_IDS) {
        st = STATUS_INSUFFICIENT_RESOURCES;
    } else {
        memset(&b->decls[b->n_decls], 0, sizeof(b->decls[0]));
        b->decls[b->n_decls].id = id;
        b->decls[b->n_decls].vf_writable = vf_writable;
        b->n_decls++;
    }
    pthread_mutex_unlock(&b->lock);
    return st;
}

/* The slot VF @vf sees for declaration @d (its own or the default). */
static const struct slot *
visible_slot(const struct pf_blocks *b, uint16_t vf, int d)
{
    const struct vf_blocks *v = b->vfs[vf];

    if (v != NULL && (unsigned)d < v->n_slots && v->slots[d].own) {
        return &v->slots[d];
    }
    return &b->decls[d].dflt;
}

/* VF @vf's own slot for @d, allocating or growing its array. */
static struct slot *
own_slot(struct pf_blocks *b, uint16_t vf, int d)
{
    struct vf_blocks *v = b->vfs[vf];
    unsigned want = b->n_decls;

    if (v == NULL || (unsigned)d >= v->n_slots) {
        struct vf_blocks *n = pv_realloc(v, sizeof(*v) + want * sizeof(struct slot));

        if (n == NULL) {
            return NULL;
        }
        for (unsigned i = v == NULL ? 0 : n->n_slots; i < want; i++) {
            n->slots[i].own = false;
        }
        n->n_slots = want;
        b->vfs[vf] = v = n;
    }
    return &v->slots[d];
}

static NTSTATUS
check_vf_access(const struct pf_blocks *b, uint16_t vf, const void *buf, uint32_t length)
{
    /* contract.md 6.3 and 10.4: accept 1..128, reject 0 and anything larger. */
    if (vf >= b->num_vfs || buf == NULL || length == 0 || length > VPCI_MAX_READ_WRITE_BLOCK_SIZE) {
        return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

NTSTATUS
pf_blocks_read(struct pf_blocks *b, uint16_t vf, uint32_t id, void *buf, uint32_t length)
{
    NTSTATUS st = check_vf_access(b, vf, buf, length);
    const struct slot *s;
    int d;

    if (!NT_SUCCESS(st)) {
        return st;
    }
    pthread_mutex_lock(&b->lock);
    d = find_decl(b, id);
    if (d < 0) {
        pthread_mutex_unlock(&b->lock);
        return STATUS_INVALID_PARAMETER;
    }
    s = visible_slot(b, vf, d);
    memset(buf, 0, length);
    memcpy(buf, s->data, s->length < length ? s->length : length);
    pthread_mutex_unlock(&b->lock);
    return STATUS_SUCCESS;
}

NTSTATUS
pf_blocks_write(struct pf_blocks *b, uint16_t vf, uint32_t id, const void *buf, uint32_t length)
{
    NTSTATUS st = check_vf_access(b, vf, buf, length);
    struct slot *s;
    int d;

    if (!NT_SUCCESS(st)) {
        return st;
    }
    pthread_mutex_lock(&b->lock);
    d = find_decl(b, id);
    if (d < 0) {
        st = STATUS_INVALID_PARAMETER;
    } else if (!b->decls[d].vf_writable) {
        st = STATUS_NOT_SUPPORTED;
    } else if ((s = own_slot(b, vf, d)) == NULL) {
        st = STATUS_INSUFFICIENT_RESOURCES;
    } else {
        s->own = true;
        s->length = (uint8_t)length;
        memcpy(s->data, buf, length);
    }
    pthread_mutex_unlock(&b->lock);
    if (NT_SUCCESS(st) && b->written != NULL) {
        b->written(b->ctx, vf, id, buf, length);
    }
    return st;
}

static NTSTATUS
set_locked(struct pf_blocks *b, uint16_t vf, int d, const void *data, uint32_t length)
{
    struct slot *s;

    if (vf == SRIOV_INVALIDATE_BLOCK_ALL_VFS) {
        for (unsigned i = 0; i < b->num_vfs; i++) {
            if (b->vfs[i] != NULL && (unsigned)d < b->vfs[i]->n_slots) {
                b->vfs[i]->slots[d].own = false;
            }
        }
        s = &b->decls[d].dflt;
    } else if ((s = own_slot(b, vf, d)) == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    s->own = vf != SRIOV_INVALIDATE_BLOCK_ALL_VFS;
    s->length = (uint8_t)length;
    memset(s->data, 0, sizeof(s->data));
    if (length != 0) {
        memcpy(s->data, data, length);
    }
    return STATUS_SUCCESS;
}

NTSTATUS
pf_blocks_set(struct pf_blocks *b, uint16_t vf, uint32_t id, const void *data, uint32_t length)
{
    NTSTATUS st;
    int d;

    if ((vf >= b->num_vfs && vf != SRIOV_INVALIDATE_BLOCK_ALL_VFS) || length > VPCI_MAX_READ_WRITE_BLOCK_SIZE ||
        (length != 0 && data == NULL)) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&b->lock);
    d = find_decl(b, id);
    st = d < 0 ? STATUS_INVALID_PARAMETER : set_locked(b, vf, d, data, length);
    pthread_mutex_unlock(&b->lock);
    if (NT_SUCCESS(st) && id < PF_BLOCK_INVALIDATABLE && b->changed != NULL) {
        b->changed(b->ctx, vf, 1ull << id);
    }
    return st;
}

NTSTATUS
pf_blocks_get(struct pf_blocks *b, uint16_t vf, uint32_t id, void *buf, uint32_t cap, uint32_t *length_out)
{
    const struct slot *s;
    int d;

    if (vf >= b->num_vfs || (cap != 0 && buf == NULL)) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&b->lock);
    d = find_decl(b, id);
    if (d < 0) {
        pthread_mutex_unlock(&b->lock);
        return STATUS_INVALID_PARAMETER;
    }
    s = visible_slot(b, vf, d);
    memcpy(buf, s->data, s->length < cap ? s->length : cap);
    if (length_out != NULL) {
        *length_out = s->length;
    }
    pthread_mutex_unlock(&b->lock);
    return STATUS_SUCCESS;
}

void
pf_blocks_reset_vf(struct pf_blocks *b, uint16_t vf)
{
    if (b == NULL || vf >= b->num_vfs) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    pv_free(b->vfs[vf]);
    b->vfs[vf] = NULL;
    pthread_mutex_unlock(&b->lock);
}
