/*
 * vsp/gmem.c - sparse guest memory (vsp/gmem.h).
 *
 * Radix layout: top[gpa >> 30] → mid[(gpa >> 21) & 511] → page[(gpa >> 12) & 511].
 * Only the top array is sized by the configuration (one pointer per GiB, at most
 * 256 Ki pointers for 256 TiB); the lower tables and the pages are allocated on
 * first write.  A write materialises all pages it needs first and copies only
 * when every allocation succeeded, so a failed write changes nothing.  One mutex
 * serialises accesses; memory traffic in this model is driver set-up and DMA
 * descriptors, not a hot path worth a lock-free table.
 */
#include "vsp/gmem.h"

#include <pthread.h>
#include <string.h>

#include "pcivirt/error.h"
#include "util/alloc.h"

#define LEVEL_BITS 9
#define LEVEL_ENTRIES (1u << LEVEL_BITS)
#define MID_SHIFT (VSP_PAGE_SHIFT + LEVEL_BITS) /* 2 MiB */
#define TOP_SHIFT (MID_SHIFT + LEVEL_BITS)      /* 1 GiB */

struct gmem_leaf {
    uint8_t *page[LEVEL_ENTRIES];
};

struct gmem_mid {
    struct gmem_leaf *leaf[LEVEL_ENTRIES];
};

struct vsp_gmem {
    uint64_t size;
    size_t top_entries;
    size_t resident;
    pthread_mutex_t lock;
    struct gmem_mid **top;
};

int
vsp_gmem_create(uint64_t size, struct vsp_gmem **out)
{
    struct vsp_gmem *mem;

    if (out == NULL || size == 0 || size % VSP_PAGE_SIZE != 0 || size > VSP_GMEM_MAX_SIZE) {
        return PCIVIRT_EINVAL;
    }
    mem = pv_calloc(1, sizeof(*mem));
    if (mem == NULL) {
        return PCIVIRT_ENOMEM;
    }
    mem->size = size;
    mem->top_entries = (size_t)((size + (1ull << TOP_SHIFT) - 1) >> TOP_SHIFT);
    mem->top = pv_calloc(mem->top_entries, sizeof(*mem->top));
    if (mem->top == NULL) {
        pv_free(mem);
        return PCIVIRT_ENOMEM;
    }
    pthread_mutex_init(&mem->lock, NULL);
    *out = mem;
    return 0;
}

static void
free_mid(struct gmem_mid *mid)
{
    for (size_t j = 0; j < LEVEL_ENTRIES; j++) {
        struct gmem_leaf *leaf = mid->leaf[j];

        if (leaf == NULL) {
            continue;
        }
        for (size_t k = 0; k < LEVEL_ENTRIES; k++) {
            pv_free(leaf->page[k]);
        }
        pv_free(leaf);
    }
    pv_free(mid);
}

void
vsp_gmem_destroy(struct vsp_gmem *mem)
{
    if (mem == NULL) {
        return;
    }
    for (size_t i = 0; mem->top != NULL && i < mem->top_entries; i++) {
        if (mem->top[i] != NULL) {
            free_mid(mem->top[i]);
        }
    }
    pv_free(mem->top);
    pthread_mutex_destroy(&mem->lock);
    pv_free(mem);
}

uint64_t
vsp_gmem_size(const struct vsp_gmem *mem)
{
    return mem->size;
}

size_t
vsp_gmem_resident_pages(struct vsp_gmem *mem)
{
    size_t n;

    pthread_mutex_lock(&mem->lock);
    n = mem->resident;
    pthread_mutex_unlock(&mem->lock);
    return n;
}

int
vsp_gmem_range_ok(const struct vsp_gmem *mem, uint64_t gpa, uint64_t len)
{
    return len != 0 && gpa < mem->size && len <= mem->size - gpa;
}

/* The page holding @gpa, or NULL if it was never written; lock held. */
static uint8_t *
page_lookup(const struct vsp_gmem *mem, uint64_t gpa)
{
    const struct gmem_mid *mid = mem->top[gpa >> TOP_SHIFT];
    const struct gmem_leaf *leaf;

    if (mid == NULL) {
        return NULL;
    }
    leaf = mid->leaf[(gpa >> MID_SHIFT) & (LEVEL_ENTRIES - 1)];
    if (leaf == NULL) {
        return NULL;
    }
    return leaf->page[(gpa >> VSP_PAGE_SHIFT) & (LEVEL_ENTRIES - 1)];
}

/* Materialise the page holding @gpa; lock held.  Return: 0 or PCIVIRT_ENOMEM. */
static int
page_populate(struct vsp_gmem *mem, uint64_t gpa)
{
    struct gmem_mid **midp = &mem->top[gpa >> TOP_SHIFT];
    struct gmem_leaf **leafp;
    uint8_t **pagep;

    if (*midp == NULL && (*midp = pv_calloc(1, sizeof(**midp))) == NULL) {
        return PCIVIRT_ENOMEM;
    }
    leafp = &(*midp)->leaf[(gpa >> MID_SHIFT) & (LEVEL_ENTRIES - 1)];
    if (*leafp == NULL && (*leafp = pv_calloc(1, sizeof(**leafp))) == NULL) {
        return PCIVIRT_ENOMEM;
    }
    pagep = &(*leafp)->page[(gpa >> VSP_PAGE_SHIFT) & (LEVEL_ENTRIES - 1)];
    if (*pagep == NULL) {
        *pagep = pv_calloc(1, VSP_PAGE_SIZE);
        if (*pagep == NULL) {
            return PCIVIRT_ENOMEM;
        }
        mem->resident++;
    }
    return 0;
}

static int
check_access(const struct vsp_gmem *mem, uint64_t gpa, const void *buf, size_t len)
{
    if (mem == NULL || buf == NULL || len == 0) {
        return PCIVIRT_EINVAL;
    }
    return vsp_gmem_range_ok(mem, gpa, len) ? 0 : PCIVIRT_ERANGE;
}

int
vsp_gmem_read(struct vsp_gmem *mem, uint64_t gpa, void *buf, size_t len)
{
    uint8_t *dst = buf;
    int rc = check_access(mem, gpa, buf, len);

    if (rc != 0) {
        return rc;
    }
    pthread_mutex_lock(&mem->lock);
    while (len > 0) {
        size_t in_page = VSP_PAGE_SIZE - (size_t)(gpa & (VSP_PAGE_SIZE - 1));
        size_t n = len < in_page ? len : in_page;
        const uint8_t *page = page_lookup(mem, gpa);

        if (page == NULL) {
            memset(dst, 0, n);
        } else {
            memcpy(dst, page + (gpa & (VSP_PAGE_SIZE - 1)), n);
        }
        dst += n;
        gpa += n;
        len -= n;
    }
    pthread_mutex_unlock(&mem->lock);
    return 0;
}

int
vsp_gmem_write(struct vsp_gmem *mem, uint64_t gpa, const void *buf, size_t len)
{
    const uint8_t *src = buf;
    uint64_t first, last;
    int rc = check_access(mem, gpa, buf, len);

    if (rc != 0) {
        return rc;
    }
    first = gpa & ~(uint64_t)(VSP_PAGE_SIZE - 1);
    last = (gpa + len - 1) & ~(uint64_t)(VSP_PAGE_SIZE - 1);
    pthread_mutex_lock(&mem->lock);
    for (uint64_t p = first; p <= last; p += VSP_PAGE_SIZE) {
        rc = page_populate(mem, p);
        if (rc != 0) {
            /* Pages populated so far are zero: reading them is unchanged. */
            pthread_mutex_unlock(&mem->lock);
            return rc;
        }
    }
    while (len > 0) {
        size_t in_page = VSP_PAGE_SIZE - (size_t)(gpa & (VSP_PAGE_SIZE - 1));
        size_t n = len < in_page ? len : in_page;

        memcpy(page_lookup(mem, gpa) + (gpa & (VSP_PAGE_SIZE - 1)), src, n);
        src += n;
        gpa += n;
        len -= n;
    }
    pthread_mutex_unlock(&mem->lock);
    return 0;
}
