/*
 * vsp/intercept.c - per-VF trap bitmaps with a seqlock (vsp/intercept.h).
 *
 * Each BAR has one array of 64-bit words; page p uses bits 2*(p%32) (read) and
 * 2*(p%32)+1 (write) of word p/32, so one load answers both directions.  Words
 * and the sequence counter are C11 atomics: the writer makes the counter odd,
 * rewrites words with relaxed stores, then makes it even with a release store;
 * a reader loads the counter (acquire), the word (relaxed), fences and loads
 * the counter again, retrying on odd or changed values.
 */
#include "vsp/intercept.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "util/alloc.h"

#define PAGES_PER_WORD 32u

struct bar_bits {
    uint64_t pages; /* pages tracked */
    _Atomic uint64_t *words;
    void *alloc;                  /* the allocation behind @words, for pv_free(); NULL when inline */
    _Atomic uint64_t inline_word; /* @words for BARs of up to 32 pages: no extra cache line */
};

struct vsp_intercept_map {
    pthread_mutex_t write_lock;
    _Atomic uint64_t seq;
    struct bar_bits bar[PCI_TYPE0_ADDRESSES];
};

int
vsp_intercept_create(const uint64_t bar_size[PCI_TYPE0_ADDRESSES], struct vsp_intercept_map **out)
{
    struct vsp_intercept_map *map;

    if (bar_size == NULL || out == NULL) {
        return PCIVIRT_EINVAL;
    }
    map = pv_calloc(1, sizeof(*map));
    if (map == NULL) {
        return PCIVIRT_ENOMEM;
    }
    pthread_mutex_init(&map->write_lock, NULL);
    atomic_init(&map->seq, 0);
    for (unsigned b = 0; b < PCI_TYPE0_ADDRESSES; b++) {
        uint64_t pages = (bar_size[b] + VSP_PAGE_BYTES - 1) / VSP_PAGE_BYTES;

        if (pages > VSP_INTERCEPT_MAX_BAR_PAGES) {
            pages = VSP_INTERCEPT_MAX_BAR_PAGES;
        }
        if (pages == 0) {
            continue;
        }
        map->bar[b].pages = pages;
        atomic_init(&map->bar[b].inline_word, 0);
        if (pages <= PAGES_PER_WORD) {
            map->bar[b].words = &map->bar[b].inline_word;
            continue;
        }
        map->bar[b].alloc = pv_calloc((size_t)((pages + PAGES_PER_WORD - 1) / PAGES_PER_WORD), sizeof(uint64_t));
        map->bar[b].words = map->bar[b].alloc;
        if (map->bar[b].alloc == NULL) {
            vsp_intercept_destroy(map);
            return PCIVIRT_ENOMEM;
        }
    }
    *out = map;
    return 0;
}

void
vsp_intercept_destroy(struct vsp_intercept_map *map)
{
    if (map == NULL) {
        return;
    }
    for (unsigned b = 0; b < PCI_TYPE0_ADDRESSES; b++) {
        pv_free(map->bar[b].alloc);
    }
    pthread_mutex_destroy(&map->write_lock);
    pv_free(map);
}

static int
check_range(const struct vsp_intercept_map *map, unsigned b, ULONG i, const SRIOV_MITIGATED_RANGES_OUTPUT *r,
            struct pcivirt_error *err)
{
    if (r->PageCount == 0 || r->PageCount > VSP_INTERCEPT_MAX_RANGE_PAGES) {
        pcivirt_error_locate(err, NULL, 0, "PageCount");
        return pcivirt_error_set(err, PCIVIRT_EINVAL,
                                 "BAR %u range %" PRIu32 ": PageCount %" PRIu32
                                 " outside 1..%u (contract.md 4.9: at most 2 GiB per range)",
                                 b, (uint32_t)i, (uint32_t)r->PageCount, VSP_INTERCEPT_MAX_RANGE_PAGES);
    }
    if (r->BasePageNumber >= map->bar[b].pages || r->PageCount > map->bar[b].pages - r->BasePageNumber) {
        pcivirt_error_locate(err, NULL, 0, "BasePageNumber");
        return pcivirt_error_set(
            err, PCIVIRT_ERANGE,
            "BAR %u range %" PRIu32 ": pages %" PRIu64 "+%" PRIu32 " beyond the BAR's %" PRIu64 " pages", b,
            (uint32_t)i, (uint64_t)r->BasePageNumber, (uint32_t)r->PageCount, map->bar[b].pages);
    }
    return 0;
}

static int
check_all(const struct vsp_intercept_map *map, const SRIOV_MITIGATED_RANGES_OUTPUT *const ranges[],
          const ULONG counts[], struct pcivirt_error *err)
{
    for (unsigned b = 0; b < PCI_TYPE0_ADDRESSES; b++) {
        if (counts[b] != 0 && ranges[b] == NULL) {
            return pcivirt_error_set(err, PCIVIRT_EINVAL, "BAR %u: %" PRIu32 " ranges but no array", b,
                                     (uint32_t)counts[b]);
        }
        for (ULONG i = 0; i < counts[b]; i++) {
            int rc = check_range(map, b, i, &ranges[b][i], err);

            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

static void
write_begin(struct vsp_intercept_map *map)
{
    pthread_mutex_lock(&map->write_lock);
    atomic_fetch_add_explicit(&map->seq, 1, memory_order_relaxed); /* odd: readers retry */
    atomic_thread_fence(memory_order_release);
}

static void
write_end(struct vsp_intercept_map *map)
{
    atomic_fetch_add_explicit(&map->seq, 1, memory_order_release); /* even again */
    pthread_mutex_unlock(&map->write_lock);
}

static void
clear_words(struct vsp_intercept_map *map)
{
    for (unsigned b = 0; b < PCI_TYPE0_ADDRESSES; b++) {
        uint64_t nwords = (map->bar[b].pages + PAGES_PER_WORD - 1) / PAGES_PER_WORD;

        for (uint64_t w = 0; w < nwords; w++) {
            atomic_store_explicit(&map->bar[b].words[w], 0, memory_order_relaxed);
        }
    }
}

static void
set_range(struct bar_bits *bits, const SRIOV_MITIGATED_RANGES_OUTPUT *r)
{
    uint64_t flags = (r->InterceptReads ? VSP_TRAP_READ : 0) | (r->InterceptWrites ? VSP_TRAP_WRITE : 0);

    if (flags == 0) {
        return;
    }
    for (uint64_t p = r->BasePageNumber; p < r->BasePageNumber + r->PageCount; p++) {
        atomic_fetch_or_explicit(&bits->words[p / PAGES_PER_WORD], flags << (2 * (p % PAGES_PER_WORD)),
                                 memory_order_relaxed);
    }
}

int
vsp_intercept_replace(struct vsp_intercept_map *map,
                      const SRIOV_MITIGATED_RANGES_OUTPUT *const ranges[PCI_TYPE0_ADDRESSES],
                      const ULONG counts[PCI_TYPE0_ADDRESSES], struct pcivirt_error *err)
{
    int rc;

    if (map == NULL || ranges == NULL || counts == NULL) {
        return PCIVIRT_EINVAL;
    }
    rc = check_all(map, ranges, counts, err);
    if (rc != 0) {
        return rc;
    }
    write_begin(map);
    clear_words(map);
    for (unsigned b = 0; b < PCI_TYPE0_ADDRESSES; b++) {
        for (ULONG i = 0; i < counts[b]; i++) {
            set_range(&map->bar[b], &ranges[b][i]);
        }
    }
    write_end(map);
    return 0;
}

void
vsp_intercept_clear(struct vsp_intercept_map *map)
{
    write_begin(map);
    clear_words(map);
    write_end(map);
}

/* The two flag bits of @page, read consistently against concurrent rebuilds. */
static unsigned
page_flags(const struct vsp_intercept_map *map, const struct bar_bits *bits, uint64_t page)
{
    /* The map is logically const for readers; the atomics need a mutable pointer. */
    struct vsp_intercept_map *m = (struct vsp_intercept_map *)(uintptr_t)map;
    uint64_t s1, s2, word;

    do {
        s1 = atomic_load_explicit(&m->seq, memory_order_acquire);
        word = atomic_load_explicit(&bits->words[page / PAGES_PER_WORD], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        s2 = atomic_load_explicit(&m->seq, memory_order_relaxed);
    } while ((s1 & 1) != 0 || s1 != s2);
    return (unsigned)(word >> (2 * (page % PAGES_PER_WORD))) & 3u;
}

unsigned
vsp_intercept_lookup(const struct vsp_intercept_map *map, unsigned bar, uint64_t offset)
{
    uint64_t page = offset / VSP_PAGE_BYTES;

    if (bar >= PCI_TYPE0_ADDRESSES || page >= map->bar[bar].pages) {
        return 0;
    }
    return page_flags(map, &map->bar[bar], page);
}

bool
vsp_intercept_traps(const struct vsp_intercept_map *map, unsigned bar, uint64_t offset, uint32_t len, bool write)
{
    unsigned want = write ? VSP_TRAP_WRITE : VSP_TRAP_READ;
    uint64_t last = offset + (len > 8 ? 8 : len == 0 ? 1 : len) - 1;

    if (last < offset) {
        last = UINT64_MAX;
    }
    if ((vsp_intercept_lookup(map, bar, offset) & want) != 0) {
        return true;
    }
    /* An access of at most 8 bytes touches at most two pages. */
    return last / VSP_PAGE_BYTES != offset / VSP_PAGE_BYTES && (vsp_intercept_lookup(map, bar, last) & want) != 0;
}

uint64_t
vsp_intercept_generation(const struct vsp_intercept_map *map)
{
    struct vsp_intercept_map *m = (struct vsp_intercept_map *)(uintptr_t)map;

    return atomic_load(&m->seq) / 2;
}

uint64_t
vsp_intercept_trapped_pages(const struct vsp_intercept_map *map, unsigned bar)
{
    uint64_t n = 0;

    if (bar >= PCI_TYPE0_ADDRESSES) {
        return 0;
    }
    for (uint64_t p = 0; p < map->bar[bar].pages; p++) {
        n += page_flags(map, &map->bar[bar], p) != 0;
    }
    return n;
}
