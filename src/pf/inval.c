/*
 * pf/inval.c - invalidation-mask coalescing (see pf/inval.h).
 *
 * 8 bytes of mask plus one dirty bit per VF; the dirty bitmap is scanned a word
 * at a time from a rotating cursor, so a take costs O(NumVFs / 64) at worst.
 */
#include "pf/inval.h"

#include "util/alloc.h"

struct pf_inval {
    uint16_t num_vfs;
    uint32_t cursor;
    uint64_t all_mask;
    uint64_t *mask;  /* per VF */
    uint64_t *dirty; /* bitmap */
    unsigned n_dirty_words;
};

struct pf_inval *
pf_inval_create(uint16_t num_vfs)
{
    struct pf_inval *c = pv_calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->num_vfs = num_vfs;
    c->n_dirty_words = (num_vfs + 63u) / 64u;
    c->mask = pv_calloc(num_vfs ? num_vfs : 1, sizeof(*c->mask));
    c->dirty = pv_calloc(c->n_dirty_words ? c->n_dirty_words : 1, sizeof(*c->dirty));
    if (c->mask == NULL || c->dirty == NULL) {
        pf_inval_destroy(c);
        return NULL;
    }
    return c;
}

void
pf_inval_destroy(struct pf_inval *c)
{
    if (c == NULL) {
        return;
    }
    pv_free(c->mask);
    pv_free(c->dirty);
    pv_free(c);
}

bool
pf_inval_post(struct pf_inval *c, uint16_t vf, uint64_t mask)
{
    if (mask == 0) {
        return pf_inval_pending(c);
    }
    if (vf == SRIOV_INVALIDATE_BLOCK_ALL_VFS) {
        c->all_mask |= mask;
        return true;
    }
    if (vf >= c->num_vfs) {
        return false;
    }
    c->mask[vf] |= mask;
    c->dirty[vf / 64] |= 1ull << (vf % 64);
    return true;
}

bool
pf_inval_pending(const struct pf_inval *c)
{
    if (c->all_mask != 0) {
        return true;
    }
    for (unsigned w = 0; w < c->n_dirty_words; w++) {
        if (c->dirty[w] != 0) {
            return true;
        }
    }
    return false;
}

/* Clear bits covered by a delivered ALL_VFS mask from every VF. */
static void
absorb_all(struct pf_inval *c, uint64_t delivered)
{
    for (unsigned w = 0; w < c->n_dirty_words; w++) {
        uint64_t bits = c->dirty[w];

        while (bits != 0) {
            unsigned vf = w * 64 + (unsigned)__builtin_ctzll(bits);

            bits &= bits - 1;
            c->mask[vf] &= ~delivered;
            if (c->mask[vf] == 0) {
                c->dirty[w] &= ~(1ull << (vf % 64));
            }
        }
    }
}

static int
next_dirty(const struct pf_inval *c)
{
    for (uint32_t i = 0; i < c->num_vfs; i++) {
        uint32_t vf = (c->cursor + i) % c->num_vfs;
        uint64_t word = c->dirty[vf / 64] >> (vf % 64);

        if (word == 0) {
            /* skip to the next word boundary, but not past the wrap to VF 0 */
            uint32_t skip = 63 - (vf % 64);

            if (vf + skip >= c->num_vfs) {
                skip = c->num_vfs - 1 - vf;
            }
            i += skip;
            continue;
        }
        return (int)(vf + (unsigned)__builtin_ctzll(word));
    }
    return -1;
}

bool
pf_inval_take(struct pf_inval *c, uint16_t *vf, uint64_t *mask)
{
    int v;

    if (c->all_mask != 0) {
        *vf = SRIOV_INVALIDATE_BLOCK_ALL_VFS;
        *mask = c->all_mask;
        absorb_all(c, c->all_mask);
        c->all_mask = 0;
        return true;
    }
    v = next_dirty(c);
    if (v < 0) {
        return false;
    }
    *vf = (uint16_t)v;
    *mask = c->mask[v];
    c->mask[v] = 0;
    c->dirty[v / 64] &= ~(1ull << (v % 64));
    c->cursor = ((uint32_t)v + 1) % c->num_vfs;
    return true;
}
