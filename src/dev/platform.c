/*
 * dev/platform.c - host physical address space: allocator and window decoder.
 *
 * Both tables are small sorted arrays (a handful of entries per device), so
 * first-fit allocation and binary-search lookup are simple and fast; the number
 * of VFs never enters either, because a VF aperture is a single window.
 */
#include "dev/platform.h"

#include <pthread.h>
#include <string.h>

#include "util/alloc.h"

struct window {
    uint64_t base;
    uint64_t end; /* exclusive */
    uint64_t slot_size;
    unsigned bar;
    uint64_t handle;
    const struct pv_mmio_ops *ops;
    void *ctx;
};

struct range {
    uint64_t base;
    uint64_t size;
};

struct pv_platform {
    struct pv_platform_config cfg;
    pthread_rwlock_t lock;
    struct window *win; /* sorted by base */
    unsigned nwin, capwin;
    struct range *used; /* sorted by base */
    unsigned nused, capused;
    uint64_t next_handle;
};

void
pv_platform_config_default(struct pv_platform_config *cfg)
{
    cfg->mmio32_base = 0xc0000000ull;
    cfg->mmio32_size = 0x40000000ull;
    cfg->mmio64_base = 0x4000000000ull;
    cfg->mmio64_size = 0x10000000000ull;
}

int
pv_platform_create(const struct pv_platform_config *cfg, struct pv_platform **out)
{
    struct pv_platform *plat;
    struct pv_platform_config def;

    *out = NULL;
    if (cfg == NULL) {
        pv_platform_config_default(&def);
        cfg = &def;
    }
    if (cfg->mmio32_size == 0 || cfg->mmio32_base + cfg->mmio32_size < cfg->mmio32_base ||
        cfg->mmio32_base + cfg->mmio32_size > 0x100000000ull ||
        cfg->mmio64_base + cfg->mmio64_size < cfg->mmio64_base) {
        return PCIVIRT_EINVAL;
    }
    plat = pv_calloc(1, sizeof(*plat));
    if (plat == NULL) {
        return PCIVIRT_ENOMEM;
    }
    plat->cfg = *cfg;
    plat->next_handle = 1;
    pthread_rwlock_init(&plat->lock, NULL);
    *out = plat;
    return 0;
}

void
pv_platform_destroy(struct pv_platform *plat)
{
    if (plat == NULL) {
        return;
    }
    pthread_rwlock_destroy(&plat->lock);
    pv_free(plat->win);
    pv_free(plat->used);
    pv_free(plat);
}

/* Grow an array of @elem-byte items to hold one more. */
static int
grow(void **arr, unsigned *cap, unsigned n, size_t elem)
{
    void *p;
    unsigned ncap;

    if (n < *cap) {
        return 0;
    }
    ncap = *cap ? *cap * 2 : 8;
    p = pv_realloc(*arr, ncap * elem);
    if (p == NULL) {
        return PCIVIRT_ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

/* First fit of an aligned @size in [lo, hi) among the sorted used ranges. */
static bool
fit(const struct pv_platform *plat, uint64_t lo, uint64_t hi, uint64_t size, uint64_t *addr, unsigned *pos)
{
    uint64_t cand = (lo + size - 1) & ~(size - 1);
    unsigned i;

    for (i = 0; i <= plat->nused; i++) {
        uint64_t gap_end = i < plat->nused ? plat->used[i].base : hi;

        if (gap_end > hi) {
            gap_end = hi;
        }
        if (cand >= lo && cand + size > cand && cand + size <= gap_end) {
            *addr = cand;
            *pos = i;
            return true;
        }
        if (i < plat->nused) {
            uint64_t after = plat->used[i].base + plat->used[i].size;

            if (after > cand) {
                cand = (after + size - 1) & ~(size - 1);
            }
        }
    }
    return false;
}

int
pv_platform_alloc(struct pv_platform *plat, uint64_t size, bool is64, uint64_t *addr, struct pcivirt_error *err)
{
    const struct pv_platform_config *c = &plat->cfg;
    unsigned pos = 0;
    bool ok = false;
    int rc;

    if (size < 16 || (size & (size - 1)) != 0) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "BAR size 0x%llx is not a power of two >= 16",
                                 (unsigned long long)size);
    }
    pthread_rwlock_wrlock(&plat->lock);
    rc = grow((void **)&plat->used, &plat->capused, plat->nused, sizeof(*plat->used));
    if (rc == 0 && is64 && c->mmio64_size != 0) {
        ok = fit(plat, c->mmio64_base, c->mmio64_base + c->mmio64_size, size, addr, &pos);
    }
    if (rc == 0 && !ok) {
        ok = fit(plat, c->mmio32_base, c->mmio32_base + c->mmio32_size, size, addr, &pos);
    }
    if (rc == 0 && ok) {
        memmove(&plat->used[pos + 1], &plat->used[pos], (plat->nused - pos) * sizeof(*plat->used));
        plat->used[pos].base = *addr;
        plat->used[pos].size = size;
        plat->nused++;
    }
    pthread_rwlock_unlock(&plat->lock);
    if (rc != 0) {
        return rc;
    }
    if (!ok) {
        return pcivirt_error_set(err, PCIVIRT_ENOSPC, "no room for a 0x%llx-byte %s BAR in the MMIO windows",
                                 (unsigned long long)size, is64 ? "64-bit" : "32-bit");
    }
    return 0;
}

void
pv_platform_free(struct pv_platform *plat, uint64_t addr)
{
    pthread_rwlock_wrlock(&plat->lock);
    for (unsigned i = 0; i < plat->nused; i++) {
        if (plat->used[i].base == addr) {
            memmove(&plat->used[i], &plat->used[i + 1], (plat->nused - i - 1) * sizeof(*plat->used));
            plat->nused--;
            break;
        }
    }
    pthread_rwlock_unlock(&plat->lock);
}

/* Index of the first window whose end is above @addr (binary search). */
static unsigned
first_above(const struct pv_platform *plat, uint64_t addr)
{
    unsigned lo = 0, hi = plat->nwin;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (plat->win[mid].end <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int
pv_platform_map(struct pv_platform *plat, uint64_t base, uint64_t slot_size, uint32_t count, unsigned bar,
                const struct pv_mmio_ops *ops, void *ctx, uint64_t *handle)
{
    uint64_t len;
    unsigned pos;
    int rc;

    if (slot_size == 0 || count == 0 || slot_size > UINT64_MAX / count) {
        return PCIVIRT_EINVAL;
    }
    len = slot_size * count;
    if (base + len < base) {
        return PCIVIRT_EINVAL;
    }
    pthread_rwlock_wrlock(&plat->lock);
    pos = first_above(plat, base);
    if (pos < plat->nwin && plat->win[pos].base < base + len) {
        rc = PCIVIRT_EOVERLAP;
    } else {
        rc = grow((void **)&plat->win, &plat->capwin, plat->nwin, sizeof(*plat->win));
    }
    if (rc == 0) {
        memmove(&plat->win[pos + 1], &plat->win[pos], (plat->nwin - pos) * sizeof(*plat->win));
        plat->win[pos] = (struct window){base, base + len, slot_size, bar, plat->next_handle, ops, ctx};
        *handle = plat->next_handle++;
        plat->nwin++;
    }
    pthread_rwlock_unlock(&plat->lock);
    return rc;
}

void
pv_platform_unmap(struct pv_platform *plat, uint64_t handle)
{
    pthread_rwlock_wrlock(&plat->lock);
    for (unsigned i = 0; i < plat->nwin; i++) {
        if (plat->win[i].handle == handle) {
            memmove(&plat->win[i], &plat->win[i + 1], (plat->nwin - i - 1) * sizeof(*plat->win));
            plat->nwin--;
            break;
        }
    }
    pthread_rwlock_unlock(&plat->lock);
}

bool
pv_platform_lookup(struct pv_platform *plat, uint64_t addr, struct pv_platform_hit *hit)
{
    const struct window *w;
    bool found = false;
    unsigned pos;

    pthread_rwlock_rdlock(&plat->lock);
    pos = first_above(plat, addr);
    if (pos < plat->nwin && plat->win[pos].base <= addr) {
        uint64_t rel;

        w = &plat->win[pos];
        rel = addr - w->base;
        hit->ctx = w->ctx;
        hit->ops = w->ops;
        hit->bar = w->bar;
        hit->index = (uint32_t)(rel / w->slot_size);
        hit->offset = rel % w->slot_size;
        hit->slot_size = w->slot_size;
        hit->window_base = w->base;
        found = true;
    }
    pthread_rwlock_unlock(&plat->lock);
    return found;
}

static int
route(struct pv_platform *plat, uint64_t addr, uint32_t length, struct pv_platform_hit *hit)
{
    if (length == 0 || length > 8) {
        return PCIVIRT_EINVAL;
    }
    if (!pv_platform_lookup(plat, addr, hit)) {
        return PCIVIRT_ENOENT;
    }
    if (hit->offset + length > hit->slot_size) {
        return PCIVIRT_ERANGE;
    }
    return 0;
}

int
pv_platform_read(struct pv_platform *plat, uint64_t addr, void *data, uint32_t length)
{
    struct pv_platform_hit hit;
    int rc = route(plat, addr, length, &hit);

    if (rc != 0) {
        if (length <= 8) {
            memset(data, 0xff, length);
        }
        return rc;
    }
    return hit.ops->read(hit.ctx, hit.index, hit.bar, hit.offset, data, length);
}

int
pv_platform_write(struct pv_platform *plat, uint64_t addr, const void *data, uint32_t length)
{
    struct pv_platform_hit hit;
    int rc = route(plat, addr, length, &hit);

    if (rc != 0) {
        return rc;
    }
    return hit.ops->write(hit.ctx, hit.index, hit.bar, hit.offset, data, length);
}

unsigned
pv_platform_window_count(struct pv_platform *plat)
{
    unsigned n;

    pthread_rwlock_rdlock(&plat->lock);
    n = plat->nwin;
    pthread_rwlock_unlock(&plat->lock);
    return n;
}
