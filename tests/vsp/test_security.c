/*
 * tests/vsp/test_security.c - a malicious guest against the stack (issue 6 "Security
 * invariants").
 *
 * Two VMs: A (the attacker) holds VF 2, B (the victim) holds VF 3, both at their
 * bus's slot 0.  A speaks the raw protocol and drives its own VF in every way a
 * guest can: config window with any slot value, blocks for any slot, BARs placed
 * anywhere (including over host physical addresses it might guess), DMA to any
 * address, MSI-X messages copied from B, forged acknowledgments and deletions,
 * floods.  Each test then checks the victim's state directly on the device, in
 * B's memory, in the test PF and in B's interrupt sink - never through A's view.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vpci_fixture.h"

#define VF_A 2u
#define VF_B 3u
#define BAR0_GPA 0xE0000000ull
#define BAR3_GPA 0xE0100000ull

struct sec {
    struct fx f;    /* current VM: A */
    struct fx_vm b; /* the victim (swap in to act as B) */
};

/* Negotiate, relations, requirements, D0, resources, BARs: the current VM's slot 0 up. */
static void
up(struct fx *f)
{
    struct vpci_msg m = {.type = PCI_QUERY_BUS_RELATIONS};
    struct vpci_reply r;

    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    assert_int_equal(vpci_chan_send(f->guest, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.u.relations.count, 1);
    assert_int_equal(fx_slot_msg(f, PCI_QUERY_RESOURCE_REQUIREMENTS, 0, &r), STATUS_SUCCESS);
    assert_int_equal(fx_d0(f, FX_WINDOW), STATUS_SUCCESS);
    assert_int_equal(fx_slot_msg(f, PCI_RESOURCES_ASSIGNED2, 0, &r), STATUS_SUCCESS);
    fx_cfg_write(f, 0, 0x04, 0, 2);
    fx_cfg_write(f, 0, 0x10, (uint32_t)BAR0_GPA, 4);
    fx_cfg_write(f, 0, 0x14, (uint32_t)(BAR0_GPA >> 32), 4);
    fx_cfg_write(f, 0, 0x1C, (uint32_t)BAR3_GPA, 4);
    fx_cfg_write(f, 0, 0x20, (uint32_t)(BAR3_GPA >> 32), 4);
    fx_cfg_write(f, 0, 0x04, 0x0006, 2);
}

static int
setup(void **state)
{
    struct sec *s = pv_calloc(1, sizeof(*s));

    assert_non_null(s);
    assert_int_equal(fx_init(&s->f, false), 0);
    assert_int_equal(fx_add_vm(&s->f, "victim", &s->b), 0);
    assert_int_equal(vsp_vmm_assign(s->f.vmm, 0, VF_A, s->f.vm, NULL), 0);
    assert_int_equal(vsp_vmm_assign(s->f.vmm, 0, VF_B, s->b.vm, NULL), 0);
    up(&s->f);
    fx_swap(&s->f, &s->b);
    up(&s->f);
    fx_swap(&s->f, &s->b);
    *state = s;
    return 0;
}

static int
teardown(void **state)
{
    struct sec *s = *state;

    fx_del_vm(&s->b);
    fx_fini(&s->f);
    pv_free(s);
    return 0;
}

static void
config_snapshot(struct fx *f, uint16_t rid, uint8_t out[4096])
{
    assert_int_equal(pv_sriov_config_read(f->pf.dev, rid, 0, out, 4096), 0);
}

static void
test_config_of_others_unreachable(void **state)
{
    struct sec *s = *state;
    struct fx *f = &s->f;
    static uint8_t vf_b[4096], pf[4096], vf_b2[4096], pf2[4096];
    static const uint32_t sels[] = {1, 2, 3, 31, 0x20, 0x21, 0x23, 0xE0, 0x100, 0x103, 0xFFFFFFFFu};

    config_snapshot(f, tpf_rid(&f->pf, VF_B), vf_b);
    config_snapshot(f, pv_sriov_pf_rid(f->pf.dev), pf);
    /* Every slot value that is not A's own device: reads all-ones, writes go nowhere. */
    for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
        for (uint32_t off = 0; off < 0x1000; off += 4) {
            fx_cfg_write(f, sels[i], off, 0xFFFFFFFFu, 4);
        }
        assert_int_equal(fx_cfg_read(f, sels[i], 0x00, 4), 0xFFFFFFFFu);
        assert_int_equal(fx_cfg_read(f, sels[i], 0x2C, 4), 0xFFFFFFFFu);
    }
    /* A's own VF, every register all-ones (even FLR and the BARs): its own business. */
    for (uint32_t off = 0x40; off < 0x1000; off += 4) {
        fx_cfg_write(f, 0, off, 0xFFFFFFFFu, 4);
    }
    config_snapshot(f, tpf_rid(&f->pf, VF_B), vf_b2);
    config_snapshot(f, pv_sriov_pf_rid(f->pf.dev), pf2);
    assert_memory_equal(vf_b2, vf_b, sizeof(vf_b));
    assert_memory_equal(pf2, pf, sizeof(pf));
    /* B's own config still works. */
    fx_swap(f, &s->b);
    assert_int_equal(fx_cfg_read(f, 0, 0x00, 4), (uint32_t)f->pf.prof.vf_device_id << 16 | f->pf.prof.vendor_id);
    fx_swap(f, &s->b);
}

static void
test_blocks_of_others_unreachable(void **state)
{
    struct sec *s = *state;
    struct fx *f = &s->f;
    uint8_t data[128];

    memset(data, 0xEE, sizeof(data));
    for (uint32_t slot = 0; slot < 32; slot++) {
        struct vpci_msg m = {.type = PCI_READ_BLOCK, .slot = slot};
        struct vpci_msg w = {.type = PCI_WRITE_BLOCK, .slot = slot};
        struct vpci_reply r;
        NTSTATUS st;

        m.u.block.block_id = TPF_BLOCK_MAC;
        m.u.block.byte_count = 128;
        st = fx_request(f, &m, &r);
        if (slot == 0) {
            assert_int_equal(st, STATUS_SUCCESS);
            assert_int_equal(r.u.read_block.data[5], VF_A); /* A's own MAC, never B's */
        } else {
            assert_int_equal(st, STATUS_NO_SUCH_DEVICE);
        }
        w.u.block.block_id = TPF_BLOCK_VF;
        w.u.block.byte_count = 128;
        memcpy(w.u.block.data, data, 128);
        st = fx_request(f, &w, &r);
        assert_int_equal(st, slot == 0 ? STATUS_SUCCESS : STATUS_NO_SUCH_DEVICE);
    }
    assert_int_equal(f->pf.blk_len[VF_B][TPF_BLOCK_VF], 0);
    assert_int_equal(f->pf.blk[VF_B][TPF_BLOCK_MAC][5], VF_B);
}

static void
test_bars_reach_only_own_vf(void **state)
{
    struct sec *s = *state;
    struct fx *f = &s->f;
    CM_PARTIAL_RESOURCE_DESCRIPTOR res;
    struct pcivirt_bus_resources pres;
    ULONGLONG host_b = 0, host_pf = 0;
    uint8_t reg[4];

    /* Guess B's host physical BAR address and place A's BAR0 exactly there. */
    assert_int_equal(f->pf.sriov.GetResourceForBar(&f->pf, VF_B, 0, &res), STATUS_SUCCESS);
    RtlCmDecodeMemIoResource(&res, &host_b);
    fx_cfg_write(f, 0, 0x04, 0, 2);
    fx_cfg_write(f, 0, 0x10, (uint32_t)host_b, 4);
    fx_cfg_write(f, 0, 0x14, (uint32_t)(host_b >> 32), 4);
    fx_cfg_write(f, 0, 0x04, 0x0006, 2);
    assert_int_equal(fx_mmio_read32(f, host_b + SWVF_REG_VF_INDEX), VF_A);
    assert_int_equal(fx_mmio_write32(f, host_b + SWVF_REG_SCRATCH, 0x0BADF00D), 0);
    pv_sriov_mmio_read(f->pf.dev, tpf_rid(&f->pf, VF_B), 0, SWVF_REG_SCRATCH, reg, 4);
    assert_int_equal(le32_get(reg), 0); /* B's VF untouched */
    pv_sriov_mmio_read(f->pf.dev, tpf_rid(&f->pf, VF_A), 0, SWVF_REG_SCRATCH, reg, 4);
    assert_int_equal(le32_get(reg), 0x0BADF00D);
    /* The PF's own BAR, by host physical address: nothing decodes it for a guest. */
    pv_sriov_query_resources(f->pf.dev, &pres);
    RtlCmDecodeMemIoResource(&pres.bar[0], &host_pf);
    assert_true(host_pf != 0);
    assert_int_equal(vsp_vpci_host_mmio_write(f->host, host_pf + SWPF_REG_SCRATCH, reg, 4), PCIVIRT_ENOENT);
    assert_int_equal(fx_mmio_read32(f, host_pf + SWPF_REG_ID), 0xFFFFFFFFu);
    /* B still sees its VF at its own address. */
    fx_swap(f, &s->b);
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_VF_INDEX), VF_B);
    fx_swap(f, &s->b);
}

static void
dma(struct fx *f, uint64_t src, uint64_t dst, uint32_t len, uint32_t ctrl)
{
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_STATUS, SWVF_DMA_STS_W1C);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_SRC_LO, (uint32_t)src);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_SRC_HI, (uint32_t)(src >> 32));
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_DST_LO, (uint32_t)dst);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_DST_HI, (uint32_t)(dst >> 32));
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_LEN, len);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_CTRL, ctrl);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_DOORBELL, SWVF_DMA_GO);
}

static void
test_dma_confined_to_own_memory(void **state)
{
    struct sec *s = *state;
    struct fx *f = &s->f;
    struct vsp_gmem *mem_b = vsp_vm_memory(s->b.vm);
    uint8_t secret[64], got[64], zero[64] = {0};

    memset(secret, 0x5E, sizeof(secret));
    assert_int_equal(vsp_gmem_write(mem_b, 0x5000, secret, sizeof(secret)), 0);
    /* A copies "B's" address: it is A's own (zero) memory at that GPA. */
    dma(f, 0x5000, 0x6000, sizeof(got), 0);
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_DMA_STATUS) & SWVF_DMA_STS_DONE, SWVF_DMA_STS_DONE);
    assert_int_equal(vsp_gmem_read(vsp_vm_memory(f->vm), 0x6000, got, sizeof(got)), 0);
    assert_memory_equal(got, zero, sizeof(got));
    assert_int_equal(vsp_gmem_read(mem_b, 0x6000, got, sizeof(got)), 0);
    assert_memory_equal(got, zero, sizeof(got));
    /* Past the end of A's RAM, and at addresses far above: faults, nothing written. */
    dma(f, 0x5000, FX_MEM - 32, sizeof(got), 0);
    assert_true(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_DMA_STATUS) & SWVF_DMA_STS_FAULT);
    dma(f, 0x1000000000ull, 0x6000, sizeof(got), 0);
    assert_true(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_DMA_STATUS) & SWVF_DMA_STS_FAULT);
    assert_int_equal(vsp_gmem_read(vsp_vm_memory(f->vm), FX_MEM - 32, got, 32), 0);
    assert_memory_equal(got, zero, 32);
    assert_int_equal(vsp_gmem_read(mem_b, 0x5000, got, sizeof(got)), 0);
    assert_memory_equal(got, secret, sizeof(got));
    assert_true(vsp_event_log_total(f->log, VSP_EV_IOMMU_FAULT) >= 2);
}

static NTSTATUS
create_irq(struct fx *f, uint32_t vector, struct vpci_reply *r)
{
    struct vpci_msg m = {.type = PCI_CREATE_INTERRUPT_MESSAGE2, .slot = 0};

    m.u.msi.vector = vector;
    m.u.msi.vector_count = 1;
    m.u.msi.processor_count = 1;
    return fx_request(f, &m, r);
}

static void
program_msix(struct fx *f, const struct vpci_msi_mapping *mp)
{
    fx_mmio_write32(f, BAR3_GPA + 0, (uint32_t)mp->address);
    fx_mmio_write32(f, BAR3_GPA + 4, (uint32_t)(mp->address >> 32));
    fx_mmio_write32(f, BAR3_GPA + 8, mp->data);
    fx_mmio_write32(f, BAR3_GPA + 12, 0);
    fx_cfg_write(f, 0, 0x50 + 2, 0x8000, 2); /* MSI-X capability of the default profile's VF */
}

static void
test_interrupts_of_others_unreachable(void **state)
{
    struct sec *s = *state;
    struct fx *f = &s->f;
    struct vpci_reply rb, r;
    struct vpci_msg del;

    assert_int_equal(fx_cfg_read(f, 0, 0x50, 1), 0x11); /* the capability program_msix() assumes */
    fx_swap(f, &s->b);
    assert_int_equal(create_irq(f, 0x44, &rb), STATUS_SUCCESS);
    fx_swap(f, &s->b);
    /* A programs B's message into its own VF: remapping refuses it (source ID, domain). */
    program_msix(f, &rb.u.mapping);
    dma(f, 0x1000, 0x2000, 16, SWVF_DMA_CTRL_IRQ);
    assert_int_equal(s->b.irqs, 0);
    assert_int_equal(f->irqs, 0);
    assert_true(vsp_event_log_total(f->log, VSP_EV_IRQ_FAULT) >= 1);
    /* A tries to delete B's entry: refused (logged), B's entry survives. */
    del = (struct vpci_msg){.type = PCI_DELETE_INTERRUPT_MESSAGE, .slot = 0, .u.mapping = rb.u.mapping};
    assert_int_equal(vpci_chan_send(f->guest, &del, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS); /* ordering fence */
    fx_swap(f, &s->b);
    program_msix(f, &rb.u.mapping);
    dma(f, 0x1000, 0x2000, 16, SWVF_DMA_CTRL_IRQ);
    fx_swap(f, &s->b);
    assert_int_equal(s->b.irqs, 1); /* B's sink counts into s->b whichever VM is current */
    /* A cannot take more remapping entries than its table (256) holds: refused, not grown. */
    int granted = 0;

    for (int i = 0; i < 300; i++) {
        NTSTATUS st = create_irq(f, 0x30 + (uint32_t)(i % 200), &r);

        if (!NT_SUCCESS(st)) {
            assert_int_equal(st, STATUS_INSUFFICIENT_RESOURCES);
            continue;
        }
        granted++;
    }
    assert_int_equal(granted, 256);
}

static void
test_forged_eject_ack(void **state)
{
    struct sec *s = *state;
    struct fx *f = &s->f;
    struct vpci_msg m = {.type = PCI_EJECTION_COMPLETE, .slot = 0};
    struct vsp_vf_info info;

    assert_int_equal(vsp_vmm_eject(f->vmm, 0, VF_B, "test"), 0);
    /* A acknowledges "slot 0" - its own slot, not being ejected: refused. */
    assert_int_equal(vpci_chan_send(f->guest, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, VF_B, &info), 0);
    assert_int_equal(info.state, VSP_VF_EJECTING);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, VF_A, &info), 0);
    assert_int_equal(info.state, VSP_VF_ASSIGNED);
    assert_int_equal(f->pf.resets, 0);
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
test_flood_does_not_starve_others(void **state)
{
    struct sec *s = *state;
    struct fx *f = &s->f;
    uint8_t junk[64];
    unsigned busy = 0;
    uint64_t worst = 0;

    memset(junk, 0xA5, sizeof(junk));
    le32_put(junk, 0x4249FFFFu);
    for (int i = 0; i < 4000; i++) {
        if (vmbus_channel_send(f->guest, junk, sizeof(junk), 0) == STATUS_DEVICE_BUSY) {
            busy++;
        }
        if (i % 250 == 0) {
            uint64_t t0 = now_ms();

            fx_swap(f, &s->b);
            assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
            fx_swap(f, &s->b);
            worst = now_ms() - t0 > worst ? now_ms() - t0 : worst;
        }
    }
    assert_true(worst < 1000); /* B's requests answered while A floods */
    /* A's own host drained the flood and still answers A. */
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    /* The log stayed bounded: old records dropped, totals exact. */
    assert_true(vsp_event_log_held(f->log) <= 4096);
    assert_true(vsp_event_log_total(f->log, VSP_EV_BAD_PACKET) + busy >= 4000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_of_others_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocks_of_others_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bars_reach_only_own_vf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_confined_to_own_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupts_of_others_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_eject_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_does_not_starve_others, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
