/*
 * tests/dev/dev_test.h - helpers shared by the device tests: config accessors by
 * routing ID, a guest-memory DMA port that faults outside its window, and an
 * interrupt port that records messages.
 */
#ifndef PCIVIRT_TESTS_DEV_TEST_H
#define PCIVIRT_TESTS_DEV_TEST_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/sriov_dev.h"
#include "pci/caps.h"
#include "pci/regs.h"
#include "util/le.h"

static inline uint32_t
cfg_rd(struct pv_sriov_dev *dev, uint16_t rid, uint16_t off, unsigned len)
{
    uint8_t b[4] = {0};

    assert_int_equal(pv_sriov_config_read(dev, rid, off, b, len), 0);
    return (uint32_t)le_get(b, len);
}

static inline int
cfg_wr(struct pv_sriov_dev *dev, uint16_t rid, uint16_t off, unsigned len, uint32_t v)
{
    uint8_t b[4];

    le_put(b, len, v);
    return pv_sriov_config_write(dev, rid, off, b, len);
}

static inline uint32_t
mmio_rd(struct pv_sriov_dev *dev, uint16_t rid, unsigned bar, uint64_t off)
{
    uint8_t b[4];

    assert_int_equal(pv_sriov_mmio_read(dev, rid, bar, off, b, 4), 0);
    return le32_get(b);
}

static inline void
mmio_wr(struct pv_sriov_dev *dev, uint16_t rid, unsigned bar, uint64_t off, uint32_t v)
{
    uint8_t b[4];

    le32_put(b, v);
    assert_int_equal(pv_sriov_mmio_write(dev, rid, bar, off, b, 4), 0);
}

/* Guest memory: [base, base + size); anything else faults. */
struct test_mem {
    uint64_t base;
    uint8_t bytes[0x8000];
    unsigned faults;
    uint16_t last_rid;
    pthread_mutex_t *lock; /* optional: the port is called without the device lock */
};

static inline int
test_mem_check(struct test_mem *m, uint16_t rid, uint64_t iova, uint32_t len)
{
    m->last_rid = rid;
    if (iova < m->base || iova + len > m->base + sizeof(m->bytes) || iova + len < iova) {
        m->faults++;
        return PCIVIRT_EACCES;
    }
    return 0;
}

static inline int
test_mem_read(void *ctx, uint16_t rid, uint64_t iova, void *buf, uint32_t len)
{
    struct test_mem *m = ctx;
    int rc;

    if (m->lock != NULL) {
        pthread_mutex_lock(m->lock);
    }
    rc = test_mem_check(m, rid, iova, len);
    if (rc == 0) {
        memcpy(buf, m->bytes + (iova - m->base), len);
    }
    if (m->lock != NULL) {
        pthread_mutex_unlock(m->lock);
    }
    return rc;
}

static inline int
test_mem_write(void *ctx, uint16_t rid, uint64_t iova, const void *buf, uint32_t len)
{
    struct test_mem *m = ctx;
    int rc;

    if (m->lock != NULL) {
        pthread_mutex_lock(m->lock);
    }
    rc = test_mem_check(m, rid, iova, len);
    if (rc == 0) {
        memcpy(m->bytes + (iova - m->base), buf, len);
    }
    if (m->lock != NULL) {
        pthread_mutex_unlock(m->lock);
    }
    return rc;
}

struct test_irqs {
    unsigned n;
    uint16_t rid[16];
    uint64_t addr[16];
    uint32_t data[16];
};

static inline int
test_irq_raise(void *ctx, uint16_t rid, uint64_t addr, uint32_t data)
{
    struct test_irqs *q = ctx;

    if (q->n < 16) {
        q->rid[q->n] = rid;
        q->addr[q->n] = addr;
        q->data[q->n] = data;
    }
    q->n++;
    return 0;
}

#endif /* PCIVIRT_TESTS_DEV_TEST_H */
