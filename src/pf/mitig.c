/*
 * pf/mitig.c - mitigated-range bookkeeping (see pf/mitig.h).
 *
 * A range list is an array sorted by (bar, base_page), built once per change
 * and shared by pointer: the default list, or a per-VF override.  Readers take
 * the read side of a rwlock; a change swaps the list under the write side.
 *
 * The grace list of a VF (docs/CONTRACT-DECISIONS.md, 6.12) is the
 * concatenation of the lists it had since the stack last caught up with it,
 * newest last; it is only searched, never reported, so it need not be sorted
 * and its entries may overlap.  It is capped at PF_MITIG_GRACE_MAX entries
 * (the oldest go first) so a VF nobody watches cannot make it grow.
 */
#include "pf/mitig.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

struct range_list {
    unsigned n;
    struct pf_mitig_range r[];
};

struct pf_mitig {
    pthread_rwlock_t lock;
    uint16_t num_vfs;
    struct range_list *dflt;
    struct range_list **own;   /* per VF, NULL = default */
    struct range_list **grace; /* per VF, NULL = no grace: lists in force before a change */
    uint64_t *dirty;           /* bitmap */
};

struct pf_mitig *
pf_mitig_create(uint16_t num_vfs)
{
    struct pf_mitig *m = pv_calloc(1, sizeof(*m));
    unsigned n = num_vfs ? num_vfs : 1;

    if (m == NULL) {
        return NULL;
    }
    m->num_vfs = num_vfs;
    m->own = pv_calloc(n, sizeof(*m->own));
    m->grace = pv_calloc(n, sizeof(*m->grace));
    m->dirty = pv_calloc((n + 63) / 64, sizeof(*m->dirty));
    if (m->own == NULL || m->grace == NULL || m->dirty == NULL) {
        pv_free(m->own);
        pv_free(m->grace);
        pv_free(m->dirty);
        pv_free(m);
        return NULL;
    }
    pthread_rwlock_init(&m->lock, NULL);
    return m;
}

void
pf_mitig_destroy(struct pf_mitig *m)
{
    if (m == NULL) {
        return;
    }
    for (unsigned i = 0; i < m->num_vfs; i++) {
        pv_free(m->own[i]);
        pv_free(m->grace[i]);
    }
    pv_free(m->own);
    pv_free(m->grace);
    pv_free(m->dirty);
    pv_free(m->dflt);
    pthread_rwlock_destroy(&m->lock);
    pv_free(m);
}

static int
cmp_range(const void *a, const void *b)
{
    const struct pf_mitig_range *x = a, *y = b;

    if (x->bar != y->bar) {
        return x->bar < y->bar ? -1 : 1;
    }
    return x->base_page < y->base_page ? -1 : x->base_page > y->base_page;
}

static unsigned
pieces(const struct pf_mitig_range *r)
{
    return (unsigned)((r->page_count + PF_MITIG_MAX_PAGES_PER_RANGE - 1) / PF_MITIG_MAX_PAGES_PER_RANGE);
}

/* Validate, split into <= 2 GiB pieces, sort, refuse overlaps. */
static NTSTATUS
build_list(const struct pf_mitig_range *in, unsigned n, struct range_list **out)
{
    unsigned total = 0, k = 0;
    struct range_list *l;

    for (unsigned i = 0; i < n; i++) {
        if (in[i].bar >= PCI_TYPE0_ADDRESSES || in[i].page_count == 0 ||
            (!in[i].intercept_reads && !in[i].intercept_writes) ||
            in[i].base_page + in[i].page_count < in[i].base_page || in[i].page_count > (1ull << 40)) {
            return STATUS_INVALID_PARAMETER;
        }
        total += pieces(&in[i]);
        if (total > PF_MITIG_MAX_RANGES) {
            return STATUS_INVALID_PARAMETER;
        }
    }
    l = pv_malloc(sizeof(*l) + (total ? total : 1) * sizeof(l->r[0]));
    if (l == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    for (unsigned i = 0; i < n; i++) {
        for (uint64_t done = 0; done < in[i].page_count; done += PF_MITIG_MAX_PAGES_PER_RANGE) {
            uint64_t left = in[i].page_count - done;

            l->r[k] = in[i];
            l->r[k].base_page = in[i].base_page + done;
            l->r[k].page_count = left < PF_MITIG_MAX_PAGES_PER_RANGE ? left : PF_MITIG_MAX_PAGES_PER_RANGE;
            k++;
        }
    }
    l->n = k;
    qsort(l->r, k, sizeof(l->r[0]), cmp_range);
    for (unsigned i = 1; i < k; i++) {
        if (l->r[i].bar == l->r[i - 1].bar && l->r[i - 1].base_page + l->r[i - 1].page_count > l->r[i].base_page) {
            pv_free(l);
            return STATUS_INVALID_PARAMETER;
        }
    }
    *out = l;
    return STATUS_SUCCESS;
}

static const struct range_list *
list_of(const struct pf_mitig *m, uint16_t vf)
{
    return m->own[vf] != NULL ? m->own[vf] : m->dflt;
}

/* @old grace followed by @cur, the newest PF_MITIG_GRACE_MAX entries; NULL when both are empty (*@ok). */
static struct range_list *
grace_grow(const struct range_list *old, const struct range_list *cur, bool *ok)
{
    unsigned a = old != NULL ? old->n : 0, b = cur != NULL ? cur->n : 0, skip = 0;
    struct range_list *l;

    *ok = true;
    if (a + b == 0) {
        return NULL;
    }
    if (a + b > PF_MITIG_GRACE_MAX) {
        skip = a + b - PF_MITIG_GRACE_MAX;
    }
    l = pv_malloc(sizeof(*l) + (a + b - skip) * sizeof(l->r[0]));
    if (l == NULL) {
        *ok = false;
        return NULL;
    }
    l->n = 0;
    for (unsigned i = skip; i < a + b; i++) {
        l->r[l->n++] = i < a ? old->r[i] : cur->r[i - a];
    }
    return l;
}

/* The new grace list of every VF the change touches (lock held); false on no memory (nothing kept). */
static bool
grace_build(struct pf_mitig *m, bool all, uint16_t vf, struct range_list **out)
{
    unsigned lo = all ? 0 : vf, hi = all ? m->num_vfs : (unsigned)vf + 1u;
    bool ok = true;

    for (unsigned i = lo; i < hi && ok; i++) {
        out[i - lo] = grace_grow(m->grace[i], list_of(m, (uint16_t)i), &ok);
    }
    for (unsigned i = lo; i < hi && !ok; i++) {
        pv_free(out[i - lo]);
    }
    return ok;
}

NTSTATUS
pf_mitig_set(struct pf_mitig *m, uint16_t vf, const struct pf_mitig_range *ranges, unsigned n)
{
    struct range_list *l = NULL, **grace;
    bool all = vf == SRIOV_INVALIDATE_BLOCK_ALL_VFS;
    NTSTATUS st;

    if ((!all && vf >= m->num_vfs) || (n != 0 && ranges == NULL)) {
        return STATUS_INVALID_PARAMETER;
    }
    st = build_list(ranges, n, &l);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    grace = pv_calloc(all ? (m->num_vfs ? m->num_vfs : 1u) : 1u, sizeof(*grace));
    pthread_rwlock_wrlock(&m->lock);
    if (grace == NULL || !grace_build(m, all, vf, grace)) {
        pthread_rwlock_unlock(&m->lock);
        pv_free(grace);
        pv_free(l);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (all) {
        pv_free(m->dflt);
        m->dflt = l;
        for (unsigned i = 0; i < m->num_vfs; i++) {
            pv_free(m->own[i]);
            m->own[i] = NULL;
            pv_free(m->grace[i]);
            m->grace[i] = grace[i];
            m->dirty[i / 64] |= 1ull << (i % 64);
        }
    } else {
        pv_free(m->own[vf]);
        m->own[vf] = l;
        pv_free(m->grace[vf]);
        m->grace[vf] = grace[0];
        m->dirty[vf / 64] |= 1ull << (vf % 64);
    }
    pthread_rwlock_unlock(&m->lock);
    pv_free(grace);
    return STATUS_SUCCESS;
}

NTSTATUS
pf_mitig_count(struct pf_mitig *m, uint16_t vf, ULONG count[PCI_TYPE0_ADDRESSES])
{
    const struct range_list *l;

    if (vf >= m->num_vfs || count == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    memset(count, 0, sizeof(ULONG) * PCI_TYPE0_ADDRESSES);
    pthread_rwlock_rdlock(&m->lock);
    l = list_of(m, vf);
    for (unsigned i = 0; l != NULL && i < l->n; i++) {
        count[l->r[i].bar]++;
    }
    pthread_rwlock_unlock(&m->lock);
    return STATUS_SUCCESS;
}

NTSTATUS
pf_mitig_ranges(struct pf_mitig *m, uint16_t vf, uint8_t bar, SRIOV_MITIGATED_RANGES_OUTPUT *out, ULONG cap,
                ULONG *n_out)
{
    const struct range_list *l;
    ULONG n = 0;

    if (vf >= m->num_vfs || bar >= PCI_TYPE0_ADDRESSES || n_out == NULL || (cap != 0 && out == NULL)) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_rwlock_rdlock(&m->lock);
    l = list_of(m, vf);
    for (unsigned i = 0; l != NULL && i < l->n; i++) {
        n += l->r[i].bar == bar;
    }
    *n_out = n;
    if (n > cap) {
        pthread_rwlock_unlock(&m->lock);
        return STATUS_BUFFER_TOO_SMALL;
    }
    n = 0;
    for (unsigned i = 0; l != NULL && i < l->n; i++) {
        if (l->r[i].bar == bar) {
            memset(&out[n], 0, sizeof(out[n]));
            out[n].BasePageNumber = l->r[i].base_page;
            out[n].PageCount = (ULONG)l->r[i].page_count;
            out[n].InterceptReads = l->r[i].intercept_reads;
            out[n].InterceptWrites = l->r[i].intercept_writes;
            n++;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return STATUS_SUCCESS;
}

/* Whether one range of @l holds the whole access with the right intercept flag. */
static bool
list_covers(const struct range_list *l, uint8_t bar, uint64_t offset, uint32_t length, bool read)
{
    for (unsigned i = 0; l != NULL && i < l->n; i++) {
        const struct pf_mitig_range *r = &l->r[i];
        uint64_t lo = r->base_page * PF_MITIG_PAGE_SIZE;
        uint64_t hi = lo + r->page_count * PF_MITIG_PAGE_SIZE;

        if (r->bar == bar && offset >= lo && offset + length <= hi &&
            (read ? r->intercept_reads : r->intercept_writes)) {
            return true;
        }
    }
    return false;
}

bool
pf_mitig_covers(struct pf_mitig *m, uint16_t vf, uint8_t bar, uint64_t offset, uint32_t length, bool read)
{
    bool ok;

    if (vf >= m->num_vfs || bar >= PCI_TYPE0_ADDRESSES || length == 0 || offset + length < offset) {
        return false;
    }
    pthread_rwlock_rdlock(&m->lock);
    ok = list_covers(list_of(m, vf), bar, offset, length, read) || list_covers(m->grace[vf], bar, offset, length, read);
    pthread_rwlock_unlock(&m->lock);
    return ok;
}

void
pf_mitig_end_grace(struct pf_mitig *m, uint16_t vf)
{
    if (vf >= m->num_vfs) {
        return;
    }
    pthread_rwlock_wrlock(&m->lock);
    pv_free(m->grace[vf]);
    m->grace[vf] = NULL;
    pthread_rwlock_unlock(&m->lock);
}

bool
pf_mitig_is_dirty(struct pf_mitig *m, uint16_t vf)
{
    bool d;

    if (vf >= m->num_vfs) {
        return false;
    }
    pthread_rwlock_rdlock(&m->lock);
    d = (m->dirty[vf / 64] >> (vf % 64)) & 1;
    pthread_rwlock_unlock(&m->lock);
    return d;
}

bool
pf_mitig_take_dirty(struct pf_mitig *m, uint16_t vf)
{
    bool d;

    if (vf >= m->num_vfs) {
        return false;
    }
    pthread_rwlock_wrlock(&m->lock);
    d = (m->dirty[vf / 64] >> (vf % 64)) & 1;
    m->dirty[vf / 64] &= ~(1ull << (vf % 64));
    pthread_rwlock_unlock(&m->lock);
    return d;
}
