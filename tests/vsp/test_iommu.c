/*
 * tests/vsp/test_iommu.c - DMA confinement and interrupt remapping.
 *
 * Oracles: guest memory is read back directly through vsp/gmem.h (not through
 * the IOMMU) to see where a DMA landed or that it landed nowhere; expected
 * guest addresses are computed by the test from the mapping it installed; the
 * MSI address format is decoded by the test's own arithmetic (VT-d layout)
 * rather than by the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pcivirt/error.h"
#include "util/alloc.h"
#include "vsp/iommu.h"

#define RID_A 0x0110 /* 01:02.0 */
#define RID_B 0x0111 /* 01:02.1 */
#define RID_C 0x0218 /* 02:03.0 */

struct sink {
    int calls;
    uint32_t vector, dest;
};

static void
sink_fn(void *ctx, uint32_t vector, uint32_t dest)
{
    struct sink *s = ctx;

    s->calls++;
    s->vector = vector;
    s->dest = dest;
}

struct fixture {
    struct vsp_manual_clock mc;
    struct vsp_event_log *log;
    struct vsp_iommu *iommu;
    struct vsp_gmem *mem[2];
    struct vsp_domain *dom[2];
    struct sink sink[2];
};

static int
setup(void **state)
{
    struct fixture *fx = test_calloc(1, sizeof(*fx));

    vsp_manual_clock_init(&fx->mc, 0);
    assert_int_equal(vsp_event_log_create(&fx->mc.clock, 64, &fx->log), 0);
    assert_int_equal(vsp_iommu_create(fx->log, &fx->iommu), 0);
    for (int i = 0; i < 2; i++) {
        struct vsp_domain_config cfg = {
            .vm_id = i + 1, .max_mappings = 8, .irte_count = 16, .irq_sink = sink_fn, .irq_ctx = &fx->sink[i]};

        assert_int_equal(vsp_gmem_create(1u << 20, &fx->mem[i]), 0);
        cfg.mem = fx->mem[i];
        assert_int_equal(vsp_domain_create(fx->iommu, &cfg, &fx->dom[i]), 0);
    }
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    for (int i = 0; i < 2; i++) {
        vsp_domain_destroy(fx->dom[i]);
        vsp_gmem_destroy(fx->mem[i]);
    }
    vsp_iommu_destroy(fx->iommu);
    vsp_event_log_destroy(fx->log);
    test_free(fx);
    return 0;
}

static int
mem_is_zero(struct vsp_gmem *mem, uint64_t gpa, size_t len)
{
    uint8_t b[256];

    assert_true(len <= sizeof(b));
    assert_int_equal(vsp_gmem_read(mem, gpa, b, len), 0);
    for (size_t i = 0; i < len; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

static void
test_dma_lands_in_own_vm_only(void **state)
{
    struct fixture *fx = *state;
    const char msg[] = "hello from VF A";
    char got[sizeof(msg)];

    assert_int_equal(vsp_domain_map_identity(fx->dom[0], VSP_DMA_RW), 0);
    assert_int_equal(vsp_domain_map_identity(fx->dom[1], VSP_DMA_RW), 0);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, fx->dom[0], 0, 0), 0);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_C, fx->dom[1], 0, 1), 0);
    assert_ptr_equal(vsp_iommu_domain_of(fx->iommu, RID_A), fx->dom[0]);
    assert_null(vsp_iommu_domain_of(fx->iommu, RID_B));

    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_A, 0x4000, msg, sizeof(msg)), 0);
    assert_int_equal(vsp_gmem_read(fx->mem[0], 0x4000, got, sizeof(got)), 0);
    assert_memory_equal(got, msg, sizeof(msg));
    assert_true(mem_is_zero(fx->mem[1], 0x4000, sizeof(msg)));
    /* The same IOVA from the VF of VM 2 reads VM 2's memory, not VM 1's. */
    memset(got, 0x77, sizeof(got));
    assert_int_equal(vsp_iommu_dma_read(fx->iommu, RID_C, 0x4000, got, sizeof(got)), 0);
    assert_true(got[0] == 0 && got[sizeof(got) - 1] == 0);
    assert_int_equal(vsp_event_log_total(fx->log, VSP_EV_IOMMU_FAULT), 0);
}

static void
test_fault_outside_domain_writes_nothing(void **state)
{
    struct fixture *fx = *state;
    uint8_t buf[64], got[64];
    struct vsp_event ev;
    struct vsp_iommu_stats st;
    const uint64_t size = 1u << 20;

    memset(buf, 0xEE, sizeof(buf));
    assert_int_equal(vsp_domain_map_identity(fx->dom[0], VSP_DMA_RW), 0);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, fx->dom[0], 3, 7), 0);
    /* Straddles the end of VM memory: the in-range half must stay untouched. */
    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_A, size - 32, buf, 64), PCIVIRT_EACCES);
    assert_true(mem_is_zero(fx->mem[0], size - 32, 32));
    assert_int_equal(vsp_gmem_resident_pages(fx->mem[0]), 0);
    assert_true(vsp_event_log_find(fx->log, VSP_EV_IOMMU_FAULT, 3, 7, 1, &ev));
    assert_int_equal(ev.detail, size); /* the first byte that did not translate */
    assert_non_null(strstr(ev.reason, "not mapped"));
    /* A read fault returns all-ones. */
    assert_int_equal(vsp_iommu_dma_read(fx->iommu, RID_A, size, got, 8), PCIVIRT_EACCES);
    assert_int_equal(got[0], 0xFF);
    assert_int_equal(got[7], 0xFF);
    /* A peer's BAR (MMIO, never in a domain) is unreachable: no direct VF-to-VF. */
    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_A, 0xF0000000ull, buf, 4), PCIVIRT_EACCES);
    /* Unattached requester: blocked. */
    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_B, 0x1000, buf, 4), PCIVIRT_EACCES);
    assert_true(vsp_event_log_find(fx->log, VSP_EV_IOMMU_FAULT, VSP_EV_NONE, VSP_EV_NONE, VSP_EV_NONE, &ev));
    assert_int_equal(ev.vm, VSP_EV_NONE);
    assert_non_null(strstr(ev.reason, "01:02.1"));
    assert_true(mem_is_zero(fx->mem[0], 0x1000, 4));
    vsp_iommu_get_stats(fx->iommu, &st);
    assert_int_equal(st.dma_faults, 4);
    assert_int_equal(st.dma_ok, 0);
    /* After detach, the former owner's DMA faults. */
    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_A, 0x1000, buf, 4), 0);
    assert_int_equal(vsp_iommu_detach(fx->iommu, RID_A), 0);
    assert_int_equal(vsp_iommu_detach(fx->iommu, RID_A), PCIVIRT_ENOENT);
    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_A, 0x2000, buf, 4), PCIVIRT_EACCES);
    assert_true(mem_is_zero(fx->mem[0], 0x2000, 4));
    assert_int_equal(vsp_event_log_total(fx->log, VSP_EV_IOMMU_FAULT), 5);
}

static void
test_explicit_mappings(void **state)
{
    struct fixture *fx = *state;
    uint8_t buf[0x20], got[0x10];

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i + 1);
    }
    /* IOVA 0x10000..0x11fff → GPA 0x3000; IOVA 0x12000..0x12fff → GPA 0x8000 (read-only). */
    assert_int_equal(vsp_domain_map(fx->dom[0], 0x10000, 0x3000, 0x2000, VSP_DMA_RW), 0);
    assert_int_equal(vsp_domain_map(fx->dom[0], 0x12000, 0x8000, 0x1000, VSP_DMA_READ), 0);
    assert_int_equal(vsp_domain_map(fx->dom[0], 0x11000, 0x0, 0x1000, VSP_DMA_RW), PCIVIRT_EOVERLAP);
    assert_int_equal(vsp_domain_map(fx->dom[0], 0x20001, 0x0, 0x1000, VSP_DMA_RW), PCIVIRT_EINVAL);
    assert_int_equal(vsp_domain_map(fx->dom[0], 0x20000, 0x0, 0x1000, 0), PCIVIRT_EINVAL);
    assert_int_equal(vsp_domain_map(fx->dom[0], 0x20000, 0xFF000, 0x2000, VSP_DMA_RW), PCIVIRT_ERANGE);
    assert_int_equal(vsp_domain_map(fx->dom[0], UINT64_MAX - 0xFFF, 0, 0x2000, VSP_DMA_RW), PCIVIRT_ERANGE);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, fx->dom[0], 0, 0), 0);

    /* Within the RW mapping, at its end: GPA = 0x3000 + (0x11ff0 - 0x10000). */
    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_A, 0x11ff0, buf, 0x10), 0);
    assert_int_equal(vsp_gmem_read(fx->mem[0], 0x3000 + 0x1ff0, got, 0x10), 0);
    assert_memory_equal(got, buf, 0x10);
    /* Spanning into the read-only mapping: a write faults as a whole. */
    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_A, 0x11ff8, buf + 0x10, 0x10), PCIVIRT_EACCES);
    assert_int_equal(vsp_gmem_read(fx->mem[0], 0x3000 + 0x1ff8, got, 8), 0);
    assert_memory_equal(got, buf + 8, 8); /* unchanged from the first write */
    assert_true(mem_is_zero(fx->mem[0], 0x8000, 8));
    /* A read spanning both mappings stitches GPA 0x4ff8.. and 0x8000.. */
    assert_int_equal(vsp_gmem_write(fx->mem[0], 0x8000, "\xA1\xA2\xA3\xA4", 4), 0);
    assert_int_equal(vsp_iommu_dma_read(fx->iommu, RID_A, 0x11ffc, got, 8), 0);
    assert_memory_equal(got, buf + 0xc, 4);
    assert_memory_equal(got + 4, "\xA1\xA2\xA3\xA4", 4);
    /* Unmap needs the exact range; afterwards the IOVA faults. */
    assert_int_equal(vsp_domain_unmap(fx->dom[0], 0x10000, 0x1000), PCIVIRT_ENOENT);
    assert_int_equal(vsp_domain_unmap(fx->dom[0], 0x10000, 0x2000), 0);
    assert_int_equal(vsp_iommu_dma_read(fx->iommu, RID_A, 0x10000, got, 4), PCIVIRT_EACCES);
}

static void
test_mapping_bound(void **state)
{
    struct fixture *fx = *state;

    for (uint64_t i = 0; i < 8; i++) {
        assert_int_equal(vsp_domain_map(fx->dom[1], (8 - i) * 0x10000, i * 0x1000, 0x1000, VSP_DMA_RW), 0);
    }
    assert_int_equal(vsp_domain_map(fx->dom[1], 0x100000, 0, 0x1000, VSP_DMA_RW), PCIVIRT_ENOSPC);
}

static void
test_attach_rules(void **state)
{
    struct fixture *fx = *state;
    uint8_t b = 1;

    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, fx->dom[0], 0, 0), 0);
    /* A requester is never in two domains. */
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, fx->dom[1], 0, 0), PCIVIRT_EBUSY);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, NULL, 0, 0), PCIVIRT_EINVAL);
    /* Destroying a domain detaches its requesters. */
    assert_int_equal(vsp_domain_map_identity(fx->dom[0], VSP_DMA_RW), 0);
    vsp_domain_destroy(fx->dom[0]);
    fx->dom[0] = NULL;
    assert_null(vsp_iommu_domain_of(fx->iommu, RID_A));
    assert_int_equal(vsp_iommu_dma_write(fx->iommu, RID_A, 0, &b, 1), PCIVIRT_EACCES);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, fx->dom[1], 0, 0), 0);
}

/* The VT-d remappable-format decode, written independently of the code under test. */
static uint32_t
decode_handle(uint64_t addr)
{
    return (uint32_t)(((addr >> 5) & 0x7FFF) | (((addr >> 2) & 1) << 15));
}

static void
test_interrupt_remapping(void **state)
{
    struct fixture *fx = *state;
    uint32_t ha, hb, hc, data;
    uint64_t addr_a, addr;
    struct vsp_event ev;

    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, fx->dom[0], 0, 0), 0);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_B, fx->dom[0], 0, 1), 0);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_C, fx->dom[1], 0, 2), 0);
    assert_int_equal(vsp_domain_irte_alloc(fx->dom[0], RID_A, 0x41, 2, &ha), 0);
    assert_int_equal(vsp_domain_irte_alloc(fx->dom[0], RID_B, 0x42, 0, &hb), 0);
    vsp_msi_compose(ha, &addr_a, &data);
    assert_int_equal(addr_a & 0xFFF00000u, 0xFEE00000u);
    assert_true(addr_a & 0x10);
    assert_int_equal(decode_handle(addr_a), ha);

    /* The owner's message raises its vector in its VM. */
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_A, addr_a, data), 0);
    assert_int_equal(fx->sink[0].calls, 1);
    assert_int_equal(fx->sink[0].vector, 0x41);
    assert_int_equal(fx->sink[0].dest, 2);
    /* Another VF of the same VM replaying it fails the source-id check. */
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_B, addr_a, data), PCIVIRT_EACCES);
    assert_true(vsp_event_log_find(fx->log, VSP_EV_IRQ_FAULT, 0, 1, 1, &ev));
    assert_non_null(strstr(ev.reason, "source-id"));
    /* A VF of another VM sending it is looked up in its own (empty) table. */
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_C, addr_a, data), PCIVIRT_EACCES);
    assert_int_equal(fx->sink[1].calls, 0);
    /* Once VM 2 has its own entry at the same handle, RID_C reaches VM 2 only. */
    assert_int_equal(vsp_domain_irte_alloc(fx->dom[1], RID_C, 0x99, 0, &hc), 0);
    vsp_msi_compose(hc, &addr, &data);
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_C, addr, data), 0);
    assert_int_equal(fx->sink[1].vector, 0x99);
    assert_int_equal(fx->sink[0].calls, 1);
    /* Compatibility format, outside the window, an out-of-range handle: all blocked. */
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_A, 0xFEE00000u, 0x41), PCIVIRT_EACCES);
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_A, 0x1000, 0), PCIVIRT_EACCES);
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_A, 0x1FEE00010ull, 0), PCIVIRT_EACCES);
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_A, 0xFEE00000u | (200u << 5) | 0x10, 0), PCIVIRT_EACCES);
    /* Subhandle: base handle 0 + data 1 selects entry 1 = RID_B's, refused for RID_A, OK for RID_B. */
    assert_int_equal(hb, 1);
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_A, 0xFEE00000u | 0x10 | 0x08, 1), PCIVIRT_EACCES);
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_B, 0xFEE00000u | 0x10 | 0x08, 1), 0);
    assert_int_equal(fx->sink[0].vector, 0x42);
    /* Freeing: only the owner's entries, and the message stops working. */
    assert_int_equal(vsp_domain_irte_free(fx->dom[0], RID_B, ha), PCIVIRT_ENOENT);
    assert_int_equal(vsp_domain_irte_count_rid(fx->dom[0], RID_A), 1);
    assert_int_equal(vsp_domain_irte_free_rid(fx->dom[0], RID_A), 1);
    assert_int_equal(vsp_domain_irte_count_rid(fx->dom[0], RID_A), 0);
    assert_int_equal(vsp_iommu_msi(fx->iommu, RID_A, addr_a, 0), PCIVIRT_EACCES);
    assert_int_equal(vsp_domain_irte_free(fx->dom[0], RID_B, hb), 0);
    assert_int_equal(vsp_event_log_total(fx->log, VSP_EV_IRQ_FAULT), 8);
}

static void
test_irte_table_full(void **state)
{
    struct fixture *fx = *state;
    uint32_t h, seen = 0;

    for (int i = 0; i < 16; i++) {
        assert_int_equal(vsp_domain_irte_alloc(fx->dom[0], RID_A, (uint32_t)i, 0, &h), 0);
        assert_true(h < 16);
        assert_false(seen & (1u << h));
        seen |= 1u << h;
    }
    assert_int_equal(vsp_domain_irte_alloc(fx->dom[0], RID_A, 99, 0, &h), PCIVIRT_ENOSPC);
}

static void
test_create_alloc_failures(void **state)
{
    struct fixture *fx = *state;
    struct vsp_domain_config cfg = {.vm_id = 9, .mem = fx->mem[0], .max_mappings = 1, .irte_count = 1};
    struct vsp_domain *dom;
    struct vsp_iommu *iommu;

    for (long n = 0; n < 2; n++) {
        dom = NULL;
        pv_alloc_fail_after(n, 0);
        assert_int_equal(vsp_domain_create(fx->iommu, &cfg, &dom), PCIVIRT_ENOMEM);
        pv_alloc_fail_after(-1, 0);
        assert_null(dom);
    }
    pv_alloc_fail_after(0, 0);
    assert_int_equal(vsp_iommu_create(NULL, &iommu), PCIVIRT_ENOMEM);
    /* Attach needs a bus table: its failure leaves nothing attached. */
    pv_alloc_fail_after(0, 0);
    assert_int_equal(vsp_iommu_attach(fx->iommu, 0x4200, fx->dom[0], 0, 0), PCIVIRT_ENOMEM);
    pv_alloc_fail_after(-1, 0);
    assert_null(vsp_iommu_domain_of(fx->iommu, 0x4200));
    cfg.irte_count = VSP_IRTE_MAX + 1;
    assert_int_equal(vsp_domain_create(fx->iommu, &cfg, &dom), PCIVIRT_EINVAL);
}

/* The ops tables the device consumes reach the same checks. */
static void
test_device_ports(void **state)
{
    struct fixture *fx = *state;
    struct pv_dma_port dma;
    struct pv_irq_port irq;
    uint8_t b = 0x5C, got = 0;
    uint64_t addr;
    uint32_t data, h;

    vsp_iommu_dma_port(fx->iommu, &dma);
    vsp_iommu_irq_port(fx->iommu, &irq);
    assert_int_equal(dma.size, sizeof(dma));
    assert_int_equal(dma.version, PV_DMA_PORT_VERSION);
    assert_int_equal(irq.version, PV_IRQ_PORT_VERSION);
    assert_int_equal(vsp_domain_map_identity(fx->dom[0], VSP_DMA_RW), 0);
    assert_int_equal(vsp_iommu_attach(fx->iommu, RID_A, fx->dom[0], 0, 0), 0);
    assert_int_equal(dma.dma_write(dma.ctx, RID_A, 0x2000, &b, 1), 0);
    assert_int_equal(vsp_gmem_read(fx->mem[0], 0x2000, &got, 1), 0);
    assert_int_equal(got, 0x5C);
    assert_int_equal(dma.dma_read(dma.ctx, RID_A, 0x2000, &got, 1), 0);
    assert_int_equal(dma.dma_write(dma.ctx, RID_B, 0x2000, &b, 1), PCIVIRT_EACCES);
    assert_int_equal(vsp_domain_irte_alloc(fx->dom[0], RID_A, 0x61, 0, &h), 0);
    vsp_msi_compose(h, &addr, &data);
    assert_int_equal(irq.raise(irq.ctx, RID_A, addr, data), 0);
    assert_int_equal(fx->sink[0].vector, 0x61);
    assert_int_equal(irq.raise(irq.ctx, RID_B, addr, data), PCIVIRT_EACCES);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dma_lands_in_own_vm_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_outside_domain_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_mappings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapping_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_remapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_irte_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_alloc_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_ports, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
