/*
 * tests/dev/test_sriov_runtime.c - what happens behind and around the BARs:
 * decode rules, VF/PF FLR, PM, the DMA engine through a faulting port, MSI-X
 * masking and pending bits, the privileged page clamped by the PF's limits,
 * the platform address space, resources and the bus interface.
 */
#include "dev_test.h"

#include "dev/regs.h"

#define PF 0x0300
#define S 0x150
#define VF0 0x0380
#define VF1 0x0382
#define VF2 0x0384
#define EXP 0x70 /* PCIe capability in PF and VF (synthetic/pf.dump layout) */
#define PM 0x40
#define MSIX 0x50

static struct pv_sriov_dev *
mkdev(uint16_t nvfs)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev;

    pv_profile_default(&p);
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    if (nvfs != 0) {
        assert_int_equal(pv_sriov_enable(dev, nvfs, NULL), 0);
    }
    return dev;
}

static void
test_decode_rules(void **state)
{
    struct pv_sriov_dev *dev = mkdev(4);
    uint8_t b[4];

    (void)state;
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_ID), SWVF_ID_MAGIC);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_VF_INDEX), 1);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_IDS), 0x10ed8086u);
    /* VF MSE off: nothing decodes, reads all-ones. */
    cfg_wr(dev, PF, S + 8, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_ARI);
    assert_int_equal(pv_sriov_mmio_read(dev, VF1, 0, 0, b, 4), PCIVIRT_ESTATE);
    assert_int_equal(le32_get(b), 0xffffffff);
    cfg_wr(dev, PF, S + 8, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI);
    /* The VF's own Command.Memory is not what decides (it is RsvdP). */
    assert_int_equal(cfg_rd(dev, VF1, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, 0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_ID), SWVF_ID_MAGIC);
    /* VF in D3hot: no decode; back in D0 (No_Soft_Reset): decodes, state kept. */
    mmio_wr(dev, VF1, 0, SWVF_REG_SCRATCH, 0x1234);
    cfg_wr(dev, VF1, PM + 4, 2, PCI_D3HOT);
    assert_int_equal(cfg_rd(dev, VF1, PM + 4, 2) & 3, PCI_D3HOT);
    assert_int_equal(pv_sriov_mmio_read(dev, VF1, 0, 0, b, 4), PCIVIRT_ESTATE);
    assert_int_equal(mmio_rd(dev, VF2, 0, SWVF_REG_ID), SWVF_ID_MAGIC); /* others unaffected */
    cfg_wr(dev, VF1, PM + 4, 2, PCI_D1);                                /* D1 unsupported: ignored */
    assert_int_equal(cfg_rd(dev, VF1, PM + 4, 2) & 3, PCI_D3HOT);
    cfg_wr(dev, VF1, PM + 4, 2, PCI_D0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_SCRATCH), 0x1234);
    /* Out of the per-VF window, unimplemented BAR, bad length. */
    assert_int_equal(pv_sriov_mmio_read(dev, VF1, 0, 0x4000, b, 4), PCIVIRT_ERANGE);
    assert_int_equal(pv_sriov_mmio_read(dev, VF1, 1, 0, b, 4), PCIVIRT_ERANGE);
    assert_int_equal(pv_sriov_mmio_read(dev, VF1, 0, 0, b, 0), PCIVIRT_ERANGE);
    /* PF BAR decodes only with Command.Memory. */
    assert_int_equal(pv_sriov_mmio_read(dev, PF, 0, 0, b, 4), PCIVIRT_ESTATE);
    cfg_wr(dev, PF, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(mmio_rd(dev, PF, 0, SWPF_REG_ID), SWPF_ID_MAGIC);
    assert_int_equal(mmio_rd(dev, PF, 0, SWPF_REG_TOTAL_VFS), 64);
    pv_sriov_destroy(dev);
}

static void
test_vf_flr_only_that_vf(void **state)
{
    struct pv_sriov_dev *dev = mkdev(4);

    (void)state;
    cfg_wr(dev, PF, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    mmio_wr(dev, PF, 0, SWPF_VF_TABLE + 1 * SWPF_VF_ENTRY_SIZE + SWPF_VF_MAC_LO, 0x33221100);
    mmio_wr(dev, VF1, 0, SWVF_REG_SCRATCH, 0xaaaa);
    mmio_wr(dev, VF2, 0, SWVF_REG_SCRATCH, 0xbbbb);
    cfg_wr(dev, VF1, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    cfg_wr(dev, VF2, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    /* Initiate FLR (Device Control bit 15) on VF1. */
    cfg_wr(dev, VF1, EXP + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
    assert_int_equal(cfg_rd(dev, VF1, EXP + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0); /* reads 0 */
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_SCRATCH), 0);
    assert_int_equal(cfg_rd(dev, VF1, PCI_COMMAND, 2), 0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_MAC_LO), 0x33221100); /* PF setting survives */
    assert_int_equal(mmio_rd(dev, VF2, 0, SWVF_REG_SCRATCH), 0xbbbb);    /* other VF untouched */
    assert_int_equal(cfg_rd(dev, VF2, PCI_COMMAND, 2), PCI_COMMAND_MASTER);
    assert_int_equal(cfg_rd(dev, PF, S + 8, 2), 0x19); /* PF SR-IOV state kept */
    /* The bus interface's function reset does the same. */
    assert_int_equal(pv_sriov_function_reset(dev, VF2), 0);
    assert_int_equal(mmio_rd(dev, VF2, 0, SWVF_REG_SCRATCH), 0);
    assert_int_equal(pv_sriov_function_reset(dev, 0x0381), PCIVIRT_ENOENT);
    pv_sriov_destroy(dev);
}

static void
test_pf_flr_takes_vfs_away(void **state)
{
    struct pv_sriov_dev *dev = mkdev(4);

    (void)state;
    cfg_wr(dev, PF, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    mmio_wr(dev, PF, 0, SWPF_VF_TABLE + SWPF_VF_QUEUE_LIMIT, 2);
    cfg_wr(dev, PF, EXP + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
    assert_false(pv_sriov_vf_enabled(dev));
    assert_int_equal(cfg_rd(dev, PF, S + 8, 2), PCI_SRIOV_CTRL_ARI); /* VFE, MSE clear; ARI kept */
    assert_int_equal(cfg_rd(dev, PF, S + 0x10, 2), 0);
    assert_int_equal(cfg_rd(dev, VF0, 0, 4), 0xffffffff); /* VFs gone */
    assert_int_equal(cfg_rd(dev, PF, PCI_COMMAND, 2), 0); /* raw FLR: config reset */
    cfg_wr(dev, PF, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(mmio_rd(dev, PF, 0, SWPF_VF_TABLE + SWPF_VF_QUEUE_LIMIT), SWPF_QUEUE_LIMIT_DEFAULT);
    /* PF D3hot -> D0 with No_Soft_Reset keeps state. */
    assert_int_equal(pv_sriov_enable(dev, 2, NULL), 0);
    cfg_wr(dev, PF, PM + 4, 2, PCI_D3HOT);
    assert_int_equal(pv_sriov_mmio_read(dev, PF, 0, 0, (uint8_t[4]){0}, 4), PCIVIRT_ESTATE);
    cfg_wr(dev, PF, PM + 4, 2, PCI_D0);
    assert_true(pv_sriov_vf_enabled(dev));
    pv_sriov_destroy(dev);
}

/* Without No_Soft_Reset, D3hot -> D0 is an internal reset (PCI PM 1.2 5.4.1);
 * ARI Capable Hierarchy survives because the profile sets ARI Preserved. */
static void
test_d3hot_to_d0_without_no_soft_reset(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev;

    (void)state;
    pv_profile_default(&p);
    p.pm_no_soft_reset = false;
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    assert_int_equal(pv_sriov_enable(dev, 2, NULL), 0);
    mmio_wr(dev, VF0, 0, SWVF_REG_SCRATCH, 5);
    mmio_wr(dev, VF1, 0, SWVF_REG_SCRATCH, 6);
    cfg_wr(dev, VF0, PM + 4, 2, PCI_D3HOT);
    cfg_wr(dev, VF0, PM + 4, 2, PCI_D0);
    assert_int_equal(mmio_rd(dev, VF0, 0, SWVF_REG_SCRATCH), 0); /* VF0 reset */
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_SCRATCH), 6); /* VF1 not */
    cfg_wr(dev, PF, PM + 4, 2, PCI_D3HOT);
    cfg_wr(dev, PF, PM + 4, 2, PCI_D0);
    assert_false(pv_sriov_vf_enabled(dev));
    assert_int_equal(cfg_rd(dev, PF, S + 8, 2), PCI_SRIOV_CTRL_ARI);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 128);
    pv_sriov_destroy(dev);
}

/*
 * device-model.md 12 item 1 and 7.3: without "ARI Capable Hierarchy Preserved"
 * (and without No_Soft_Reset) a PF D3hot -> D0 loses the ARI bit; offset and
 * stride go back to the non-ARI 384 / 2 and the VFs would sit on bus 04, outside
 * [bus 03-03], so enabling is refused with the arithmetic.  Restoring the ARI
 * bit first, as Linux pci_restore_iov_state does, brings offset 128 back and
 * the same enable succeeds.
 */
static void
test_ari_lost_without_preserved_then_restored(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    struct pcivirt_error err;
    uint16_t rid;

    (void)state;
    pv_profile_default(&p);
    p.pm_no_soft_reset = false;
    p.sriov_caps &= ~PCI_SRIOV_CAP_ARI_PRESERVED;
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 128);
    cfg_wr(dev, PF, PM + 4, 2, PCI_D3HOT);
    cfg_wr(dev, PF, PM + 4, 2, PCI_D0);
    assert_int_equal(cfg_rd(dev, PF, S + 8, 2) & PCI_SRIOV_CTRL_ARI, 0);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 384);
    assert_int_equal(pv_sriov_enable(dev, 8, &err), PCIVIRT_ENOSPC);
    assert_non_null(strstr(err.message, "ARI Capable Hierarchy off"));
    assert_non_null(strstr(err.message, "= 0x048e = 04:11.6")); /* 0x0300 + 384 + 7 x 2 */
    assert_non_null(strstr(err.message, "[bus 03-03]"));
    cfg_wr(dev, PF, S + 8, 2, PCI_SRIOV_CTRL_ARI);
    assert_int_equal(cfg_rd(dev, PF, S + 0x14, 2), 128);
    assert_int_equal(pv_sriov_enable(dev, 8, NULL), 0);
    assert_int_equal(pv_sriov_vf_rid(dev, 7, &rid), 0);
    assert_int_equal(rid, 0x0300 + 128 + 7 * 2);
    pv_sriov_destroy(dev);
}

static void
program_dma(struct pv_sriov_dev *dev, uint16_t vf, uint64_t src, uint64_t dst, uint32_t len, uint32_t ctrl)
{
    mmio_wr(dev, vf, 0, SWVF_REG_DMA_SRC_LO, (uint32_t)src);
    mmio_wr(dev, vf, 0, SWVF_REG_DMA_SRC_HI, (uint32_t)(src >> 32));
    mmio_wr(dev, vf, 0, SWVF_REG_DMA_DST_LO, (uint32_t)dst);
    mmio_wr(dev, vf, 0, SWVF_REG_DMA_DST_HI, (uint32_t)(dst >> 32));
    mmio_wr(dev, vf, 0, SWVF_REG_DMA_LEN, len);
    mmio_wr(dev, vf, 0, SWVF_REG_DMA_CTRL, ctrl);
    mmio_wr(dev, vf, 0, SWVF_REG_DMA_DOORBELL, SWVF_DMA_GO);
}

static void
test_dma_through_faulting_port(void **state)
{
    static struct test_mem mem;
    struct pv_dma_port port = {sizeof(port), PV_DMA_PORT_VERSION, &mem, test_mem_read, test_mem_write};
    struct pv_sriov_dev *dev = mkdev(2);
    uint8_t pattern[300];

    (void)state;
    memset(&mem, 0, sizeof(mem));
    mem.base = 0x100000;
    for (unsigned i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (uint8_t)(i * 7 + 3);
    }
    memcpy(mem.bytes, pattern, sizeof(pattern));
    pv_sriov_set_ports(dev, &port, NULL);
    /* Bus Master off: refused before any access. */
    program_dma(dev, VF1, 0x100000, 0x104000, 300, 0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_STATUS), SWVF_DMA_STS_NOMASTER);
    assert_int_equal(mem.faults, 0);
    mmio_wr(dev, VF1, 0, SWVF_REG_DMA_STATUS, 0xf); /* W1C */
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_STATUS), 0);
    cfg_wr(dev, VF1, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    program_dma(dev, VF1, 0x100000, 0x104000, 300, 0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_STATUS), SWVF_DMA_STS_DONE);
    assert_memory_equal(mem.bytes + 0x4000, pattern, sizeof(pattern));
    assert_int_equal(mem.last_rid, VF1); /* tagged with the VF's RID */
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_COUNT), 1);
    /* Destination crosses the end of the window: fault, nothing written past it. */
    mmio_wr(dev, VF1, 0, SWVF_REG_DMA_STATUS, 0xf);
    program_dma(dev, VF1, 0x100000, 0x107f00, 300, 0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_STATUS), SWVF_DMA_STS_FAULT);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_FAULT_LO), 0x107f00);
    assert_int_equal(mem.bytes[0x7f00], 0);
    /* Source outside memory entirely (another VM's address). */
    mmio_wr(dev, VF1, 0, SWVF_REG_DMA_STATUS, 0xf);
    program_dma(dev, VF1, 0x5000000000ull, 0x104000, 16, 0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_FAULT_HI), 0x50);
    /* Length 0 and above the maximum. */
    mmio_wr(dev, VF1, 0, SWVF_REG_DMA_STATUS, 0xf);
    program_dma(dev, VF1, 0x100000, 0x104000, SWVF_DMA_MAX_LEN + 1, 0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_STATUS), SWVF_DMA_STS_BADLEN);
    /* VF FLR clears every DMA register. */
    cfg_wr(dev, VF1, EXP + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_STATUS), 0);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_DMA_SRC_LO), 0);
    pv_sriov_destroy(dev);
}

static void
msix_entry(struct pv_sriov_dev *dev, uint16_t vf, unsigned v, uint64_t addr, uint32_t data, uint32_t ctrl)
{
    mmio_wr(dev, vf, 3, v * 16 + 0, (uint32_t)addr);
    mmio_wr(dev, vf, 3, v * 16 + 4, (uint32_t)(addr >> 32));
    mmio_wr(dev, vf, 3, v * 16 + 8, data);
    mmio_wr(dev, vf, 3, v * 16 + 12, ctrl);
}

static void
test_msix_masking_and_pending(void **state)
{
    static struct test_mem mem;
    static struct test_irqs irqs;
    struct pv_dma_port port = {sizeof(port), PV_DMA_PORT_VERSION, &mem, test_mem_read, test_mem_write};
    struct pv_irq_port iport = {sizeof(iport), PV_IRQ_PORT_VERSION, &irqs, test_irq_raise};
    struct pv_sriov_dev *dev = mkdev(2);

    (void)state;
    memset(&mem, 0, sizeof(mem));
    memset(&irqs, 0, sizeof(irqs));
    mem.base = 0x100000;
    pv_sriov_set_ports(dev, &port, &iport);
    /* Reset: every vector masked, PBA clear. */
    assert_int_equal(mmio_rd(dev, VF0, 3, 12), 1);
    assert_int_equal(mmio_rd(dev, VF0, 3, 0x2000), 0);
    cfg_wr(dev, VF0, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    cfg_wr(dev, VF0, MSIX + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    msix_entry(dev, VF0, 1, 0xfee00000, 0x4041, 0);
    program_dma(dev, VF0, 0x100000, 0x101000, 8, SWVF_DMA_CTRL_IRQ | (1u << SWVF_DMA_CTRL_VECTOR_SHIFT));
    assert_int_equal(irqs.n, 1);
    assert_int_equal(irqs.rid[0], VF0);
    assert_true(irqs.addr[0] == 0xfee00000);
    assert_int_equal(irqs.data[0], 0x4041);
    /* Vector masked: the message is held in the PBA and sent on unmask. */
    mmio_wr(dev, VF0, 3, 16 + 12, 1);
    program_dma(dev, VF0, 0x100000, 0x101000, 8, SWVF_DMA_CTRL_IRQ | (1u << SWVF_DMA_CTRL_VECTOR_SHIFT));
    assert_int_equal(irqs.n, 1);
    assert_int_equal(mmio_rd(dev, VF0, 3, 0x2000), 1u << 1);
    mmio_wr(dev, VF0, 3, 16 + 12, 0);
    assert_int_equal(irqs.n, 2);
    assert_int_equal(mmio_rd(dev, VF0, 3, 0x2000), 0);
    /* Function Mask in the MSI-X capability: pending, released when cleared. */
    cfg_wr(dev, VF0, MSIX + 2, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    program_dma(dev, VF0, 0x100000, 0x101000, 8, SWVF_DMA_CTRL_IRQ | (1u << SWVF_DMA_CTRL_VECTOR_SHIFT));
    assert_int_equal(irqs.n, 2);
    assert_int_equal(mmio_rd(dev, VF0, 3, 0x2000), 1u << 1);
    cfg_wr(dev, VF0, MSIX + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(irqs.n, 3);
    /* The PBA is read-only. */
    mmio_wr(dev, VF0, 3, 0x2000, 0xffffffff);
    assert_int_equal(mmio_rd(dev, VF0, 3, 0x2000), 0);
    /* FLR: table back to masked. */
    cfg_wr(dev, VF0, EXP + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
    assert_int_equal(mmio_rd(dev, VF0, 3, 16 + 12), 1);
    assert_int_equal(mmio_rd(dev, VF0, 3, 16 + 8), 0);
    pv_sriov_destroy(dev);
}

static void
test_privileged_page_and_pf_settings(void **state)
{
    struct pv_sriov_dev *dev = mkdev(2);

    (void)state;
    cfg_wr(dev, PF, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_PRIV_QUEUES), 1);
    mmio_wr(dev, VF1, 0, SWVF_REG_PRIV_QUEUES, 6);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_PRIV_QUEUES), 6);
    mmio_wr(dev, PF, 0, SWPF_VF_TABLE + SWPF_VF_ENTRY_SIZE + SWPF_VF_QUEUE_LIMIT, 4);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_PRIV_QUEUES), 4); /* lowered limit applies at once */
    mmio_wr(dev, VF1, 0, SWVF_REG_PRIV_QUEUES, 9);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_PRIV_QUEUES), 4);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_PRIV_CLAMPED), 1);
    assert_int_equal(mmio_rd(dev, PF, 0, SWPF_VF_TABLE + SWPF_VF_ENTRY_SIZE + SWPF_VF_CLAMPED), 1);
    mmio_wr(dev, VF1, 0, SWVF_REG_PRIV_RATE, 20000);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_PRIV_RATE), SWPF_RATE_LIMIT_DEFAULT);
    /* MAC: default locally administered, then what the PF assigns. */
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_MAC_LO) & 0xff, 0x02);
    mmio_wr(dev, PF, 0, SWPF_VF_TABLE + SWPF_VF_ENTRY_SIZE + SWPF_VF_MAC_LO, 0x56341202);
    mmio_wr(dev, PF, 0, SWPF_VF_TABLE + SWPF_VF_ENTRY_SIZE + SWPF_VF_MAC_HI, 0x9a78);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_MAC_LO), 0x56341202);
    assert_int_equal(mmio_rd(dev, VF1, 0, SWVF_REG_MAC_HI), 0x9a78);
    /* Sub-dword access reads the covered bytes. */
    {
        uint8_t b[2];
        assert_int_equal(pv_sriov_mmio_read(dev, VF1, 0, SWVF_REG_MAC_LO + 1, b, 2), 0);
        assert_int_equal(le16_get(b), 0x3412);
    }
    pv_sriov_destroy(dev);
}

static void
test_platform_and_rebalance(void **state)
{
    struct pv_platform *plat;
    struct pv_sriov_dev *dev = mkdev(8);
    struct pcivirt_bus_resources res;
    uint64_t pf0, vf0, len, old_vf0;
    uint8_t b[4];

    (void)state;
    assert_int_equal(pv_platform_create(NULL, &plat), 0);
    assert_int_equal(pv_sriov_assign_resources(dev, plat, NULL), 0);
    assert_int_equal(pv_sriov_query_resources(dev, &res), 0);
    assert_int_equal(res.bar[0].Type, CmResourceTypeMemory);
    len = RtlCmDecodeMemIoResource(&res.bar[0], &pf0);
    assert_int_equal(len, 0x80000);
    assert_int_equal(res.bar[1].Type, CmResourceTypeNull); /* upper half of BAR0 */
    len = RtlCmDecodeMemIoResource(&res.vf_bar[0], &vf0);
    assert_int_equal(len, 8 * 0x4000); /* NumVFs x per-VF */
    assert_true(res.vf_bar[0].Flags & CM_RESOURCE_MEMORY_PREFETCHABLE);
    assert_int_equal(res.pf_rid, PF);
    /* Host physical access routes to the right function and register. */
    assert_int_equal(pv_platform_read(plat, pf0 + SWPF_REG_ID, b, 4), 0);
    assert_int_equal(le32_get(b), SWPF_ID_MAGIC);
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(pv_platform_read(plat, vf0 + i * 0x4000 + SWVF_REG_VF_INDEX, b, 4), 0);
        assert_int_equal(le32_get(b), i);
    }
    le32_put(b, 0x77);
    assert_int_equal(pv_platform_write(plat, vf0 + 5 * 0x4000 + SWVF_REG_SCRATCH, b, 4), 0);
    assert_int_equal(mmio_rd(dev, 0x0380 + 10, 0, SWVF_REG_SCRATCH), 0x77);
    /* Slot beyond NumVFs inside the TotalVFs aperture: no function answers. */
    assert_int_equal(pv_platform_read(plat, vf0 + 8 * 0x4000, b, 4), PCIVIRT_ESTATE);
    /* Rebalance: the BARs move; the old addresses decode nothing. */
    old_vf0 = vf0;
    assert_int_equal(pv_sriov_assign_resources(dev, plat, NULL), 0);
    assert_int_equal(pv_sriov_query_resources(dev, &res), 0);
    RtlCmDecodeMemIoResource(&res.vf_bar[0], &vf0);
    assert_true(vf0 != old_vf0);
    assert_int_equal(pv_platform_read(plat, old_vf0, b, 4), PCIVIRT_ENOENT);
    assert_int_equal(pv_platform_read(plat, vf0 + 5 * 0x4000 + SWVF_REG_SCRATCH, b, 4), 0);
    assert_int_equal(le32_get(b), 0x77);
    /* Software moving a VF BAR through config moves the window too. */
    cfg_wr(dev, PF, S + 0x24, 4, 0x00000000);
    cfg_wr(dev, PF, S + 0x28, 4, 0x00000050);
    assert_int_equal(pv_platform_read(plat, 0x5000000000ull + 5 * 0x4000 + SWVF_REG_SCRATCH, b, 4), 0);
    assert_int_equal(le32_get(b), 0x77);
    pv_sriov_destroy(dev);
    assert_int_equal(pv_platform_window_count(plat), 0);
    pv_platform_destroy(plat);
}

static void
test_memory_large_resources(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    struct pv_platform *plat;
    struct pcivirt_bus_resources res;
    uint64_t start, len;

    (void)state;
    pv_profile_default(&p);
    p.vf_bar[0].size = 128ull << 20; /* 128 MiB per VF x 64 = 8 GiB aperture */
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    assert_int_equal(pv_platform_create(NULL, &plat), 0);
    assert_int_equal(pv_sriov_assign_resources(dev, plat, NULL), 0);
    assert_int_equal(pv_sriov_enable(dev, 64, NULL), 0);
    assert_int_equal(pv_sriov_query_resources(dev, &res), 0);
    assert_int_equal(res.vf_bar[0].Type, CmResourceTypeMemoryLarge);
    len = RtlCmDecodeMemIoResource(&res.vf_bar[0], &start);
    assert_true(len == 8ull << 30);
    assert_true(start >= 0x4000000000ull);
    assert_int_equal(res.vf_bar[3].Type, CmResourceTypeMemory);
    pv_sriov_destroy(dev);
    pv_platform_destroy(plat);
}

static void
test_bus_interface(void **state)
{
    struct pv_sriov_dev *dev = mkdev(0);
    PCIVIRT_BUS_INTERFACE bus;
    struct pcivirt_error err;
    uint8_t b[4];

    (void)state;
    pv_sriov_bus_interface(dev, &bus);
    assert_int_equal(bus.Size, sizeof(bus));
    assert_int_equal(bus.Version, 2);
    assert_true(bus.Size > PCIVIRT_BUS_INTERFACE_V1_SIZE);
    bus.InterfaceReference(bus.Context);
    assert_int_equal(bus.config_read(bus.Context, PF, 0, b, 4), 0);
    assert_int_equal(le32_get(b), 0x10fb8086);
    assert_int_equal(bus.config_read(bus.Context, PF, 4094, b, 4), PCIVIRT_ERANGE);
    assert_int_equal(bus.last_error(bus.Context, &err), PCIVIRT_ENOENT);
    le16_put(b, 0); /* clear ARI, then enable one VF: refused with the arithmetic */
    assert_int_equal(bus.config_write(bus.Context, PF, S + 8, b, 2), 0);
    le16_put(b, 1);
    assert_int_equal(bus.config_write(bus.Context, PF, S + 0x10, b, 2), 0);
    le16_put(b, 9);
    assert_int_equal(bus.config_write(bus.Context, PF, S + 8, b, 2), PCIVIRT_ENOSPC);
    assert_int_equal(bus.last_error(bus.Context, &err), 0);
    assert_non_null(strstr(err.message, "04:10.0"));
    assert_int_equal(bus.function_reset(bus.Context, PF), 0);
    bus.InterfaceDereference(bus.Context);
    pv_sriov_destroy(dev);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_rules),
        cmocka_unit_test(test_vf_flr_only_that_vf),
        cmocka_unit_test(test_pf_flr_takes_vfs_away),
        cmocka_unit_test(test_d3hot_to_d0_without_no_soft_reset),
        cmocka_unit_test(test_ari_lost_without_preserved_then_restored),
        cmocka_unit_test(test_dma_through_faulting_port),
        cmocka_unit_test(test_msix_masking_and_pending),
        cmocka_unit_test(test_privileged_page_and_pf_settings),
        cmocka_unit_test(test_platform_and_rebalance),
        cmocka_unit_test(test_memory_large_resources),
        cmocka_unit_test(test_bus_interface),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
