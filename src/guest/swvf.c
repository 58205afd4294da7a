/*
 * guest/swvf.c - the sample VF driver (guest/swvf.h).
 *
 * Every step goes through the guest bus API only (config window, BAR MMIO, blocks,
 * interrupt messages), never around it, so what the driver sees is exactly what
 * the stack lets a guest see.  A failed step fails the probe with the bus's error
 * and leaves the device as it found it.
 */
#include "guest/swvf.h"

#include <string.h>

#include "dev/regs.h"
#include "util/alloc.h"

#define CAP_MSIX 0x11u
#define CMD_MEMORY 0x0002u
#define CMD_MASTER 0x0004u

/* Size one BAR (and its upper half) the classic way; Memory Space must be off. */
static int
size_bar(struct gvpci_dev *dev, unsigned i, bool is64, uint64_t *size)
{
    uint32_t lo = 0, hi = 0xFFFFFFFFu, save_lo = 0, save_hi = 0;
    uint32_t reg = 0x10 + 4 * i;
    int rc = gvpci_cfg_read(dev, reg, 4, &save_lo);

    rc = rc != 0 ? rc : gvpci_cfg_write(dev, reg, 4, 0xFFFFFFFFu);
    rc = rc != 0 ? rc : gvpci_cfg_read(dev, reg, 4, &lo);
    if (rc == 0 && is64) {
        rc = gvpci_cfg_read(dev, reg + 4, 4, &save_hi);
        rc = rc != 0 ? rc : gvpci_cfg_write(dev, reg + 4, 4, 0xFFFFFFFFu);
        rc = rc != 0 ? rc : gvpci_cfg_read(dev, reg + 4, 4, &hi);
        rc = rc != 0 ? rc : gvpci_cfg_write(dev, reg + 4, 4, save_hi);
    }
    rc = rc != 0 ? rc : gvpci_cfg_write(dev, reg, 4, save_lo);
    *size = (lo & ~0xFu) == 0 ? 0 : ~(((uint64_t)hi << 32) | (lo & ~0xFu)) + 1;
    return rc;
}

/* Size every BAR and check it fits what the bus placed (sizes rounded to pages, 8.5). */
static int
size_bars(struct swvf *s)
{
    uint32_t cmd;
    int rc = gvpci_cfg_read(s->dev, 0x04, 2, &cmd);

    rc = rc != 0 ? rc : gvpci_cfg_write(s->dev, 0x04, 2, cmd & ~CMD_MEMORY);
    for (unsigned i = 0; rc == 0 && i < 6; i++) {
        uint32_t v;
        uint64_t gpa, placed;

        rc = gvpci_cfg_read(s->dev, 0x10 + 4 * i, 4, &v);
        if (rc != 0 || (v & 0x1u) != 0) {
            continue;
        }
        rc = size_bar(s->dev, i, (v & 0x6u) == 0x4u, &s->bar_size[i]);
        gvpci_bar(s->dev, i, &gpa, &placed);
        if (rc == 0 && (s->bar_size[i] > placed || (placed == 0) != (s->bar_size[i] == 0))) {
            rc = PCIVIRT_EFORMAT;
        }
        if ((v & 0x6u) == 0x4u) {
            i++;
        }
    }
    return rc != 0 ? rc : gvpci_cfg_write(s->dev, 0x04, 2, cmd | CMD_MEMORY);
}

static int
read_mac(struct swvf *s)
{
    uint8_t buf[128];
    uint32_t got = 0;
    int rc = gvpci_read_block(s->dev, buf, sizeof(buf), SWVF_BLOCK_MAC, &got);

    if (rc == 0 && got < 6) {
        rc = PCIVIRT_EIO;
    }
    if (rc == 0) {
        memcpy(s->mac, buf, 6);
        s->mac_reads++;
        s->mac_stale = false;
    }
    return rc;
}

/* Runs from the bus's message loop: only note it (8.7: defer the work). */
static void
on_invalidate(void *ctx, uint64_t mask)
{
    struct swvf *s = ctx;

    s->last_mask = mask;
    if (mask & (1ull << SWVF_BLOCK_MAC)) {
        s->mac_stale = true;
    }
}

/* One vector, in MSI-X entry 0, unmasked; MSI-X enabled. */
static int
setup_msix(struct swvf *s)
{
    uint32_t cap = gvpci_find_cap(s->dev, CAP_MSIX);
    uint32_t tbl = 0, ctl = 0;
    int rc;

    if (cap == 0) {
        return PCIVIRT_ENOENT;
    }
    rc = gvpci_cfg_read(s->dev, cap + 4, 4, &tbl);
    rc = rc != 0 ? rc : gvpci_cfg_read(s->dev, cap + 2, 2, &ctl);
    rc = rc != 0 ? rc : gvpci_create_msi(s->dev, &s->vector, &s->msi_address, &s->msi_data);
    if (rc != 0) {
        return rc;
    }
    s->msix_bar = (int)(tbl & 0x7u);
    s->msix_table = tbl & ~0x7u;
    rc = gvpci_mmio_write32(s->dev, (unsigned)s->msix_bar, s->msix_table + 0, (uint32_t)s->msi_address);
    rc = rc != 0
             ? rc
             : gvpci_mmio_write32(s->dev, (unsigned)s->msix_bar, s->msix_table + 4, (uint32_t)(s->msi_address >> 32));
    rc = rc != 0 ? rc : gvpci_mmio_write32(s->dev, (unsigned)s->msix_bar, s->msix_table + 8, s->msi_data);
    rc = rc != 0 ? rc : gvpci_mmio_write32(s->dev, (unsigned)s->msix_bar, s->msix_table + 12, 0);
    rc = rc != 0 ? rc : gvpci_cfg_write(s->dev, cap + 2, 2, (ctl | 0x8000u) & ~0x4000u);
    if (rc != 0) {
        gvpci_delete_msi(s->dev, s->msi_address, s->msi_data);
    }
    return rc;
}

static int
probe(struct gvpci_dev *dev)
{
    struct swvf *s = pv_calloc(1, sizeof(*s));
    uint32_t id = 0, cmd = 0;
    int rc;

    if (s == NULL) {
        return PCIVIRT_ENOMEM;
    }
    s->dev = dev;
    rc = size_bars(s);
    rc = rc != 0 ? rc : gvpci_mmio_read32(dev, 0, SWVF_REG_ID, &id);
    if (rc == 0 && id != SWVF_ID_MAGIC) {
        rc = PCIVIRT_ENOENT;
    }
    rc = rc != 0 ? rc : gvpci_mmio_read32(dev, 0, SWVF_REG_VF_INDEX, &s->vf_index);
    rc = rc != 0 ? rc : read_mac(s);
    rc = rc != 0 ? rc : setup_msix(s);
    rc = rc != 0 ? rc : gvpci_cfg_read(dev, 0x04, 2, &cmd);
    rc = rc != 0 ? rc : gvpci_cfg_write(dev, 0x04, 2, cmd | CMD_MASTER);
    if (rc != 0) {
        pv_free(s);
        return rc;
    }
    gvpci_reg_block_invalidate(dev, s, on_invalidate);
    gvpci_dev_set_drvdata(dev, s);
    return 0;
}

static void
remove_dev(struct gvpci_dev *dev)
{
    struct swvf *s = gvpci_dev_drvdata(dev);
    uint32_t cap = gvpci_find_cap(dev, CAP_MSIX), ctl = 0, cmd = 0;

    if (s == NULL) {
        return;
    }
    gvpci_reg_block_invalidate(dev, NULL, NULL);
    if (cap != 0 && gvpci_cfg_read(dev, cap + 2, 2, &ctl) == 0) {
        gvpci_cfg_write(dev, cap + 2, 2, ctl & ~0x8000u);
    }
    if (gvpci_cfg_read(dev, 0x04, 2, &cmd) == 0) {
        gvpci_cfg_write(dev, 0x04, 2, cmd & ~(CMD_MASTER | CMD_MEMORY));
    }
    gvpci_delete_msi(dev, s->msi_address, s->msi_data);
    gvpci_dev_set_drvdata(dev, NULL);
    pv_free(s);
}

static void
work(struct gvpci_dev *dev)
{
    struct swvf *s = gvpci_dev_drvdata(dev);

    if (s != NULL && s->mac_stale) {
        read_mac(s);
    }
}

static NTSTATUS
query_stop(struct gvpci_dev *dev)
{
    struct swvf *s = gvpci_dev_drvdata(dev);

    if (s == NULL) {
        return STATUS_SUCCESS;
    }
    s->query_stops++;
    s->stopped = NT_SUCCESS(s->stop_answer);
    return s->stop_answer;
}

static void
restart(struct gvpci_dev *dev, bool restarted)
{
    struct swvf *s = gvpci_dev_drvdata(dev);
    uint32_t id = 0;

    if (s == NULL) {
        return;
    }
    s->stopped = false;
    if (!restarted) {
        s->stop_cancels++;
        return;
    }
    s->restarts++;
    s->id_after_restart = gvpci_mmio_read32(dev, 0, SWVF_REG_ID, &id) == 0 && id == SWVF_ID_MAGIC;
    /*
     * The MAC is not re-read here: a PF that changed it while the device was
     * stopped owes an invalidation, which it coalesces and never drops
     * (contract.md 4.7), and which arrives as PCI_INVALIDATE_BLOCK like any
     * other.  Re-reading on every restart would hide a lost invalidation from
     * the tests and send every VM's block read to the PF at the same moment.
     */
}

static void
irq(struct gvpci_dev *dev, uint32_t vector)
{
    struct swvf *s = gvpci_dev_drvdata(dev);

    if (s != NULL && vector == s->vector) {
        s->irqs++;
    }
}

void
swvf_driver_init(struct gvpci_driver *drv, uint16_t vendor, uint16_t device)
{
    *drv = (struct gvpci_driver){.name = "swvf",
                                 .vendor_id = vendor,
                                 .device_id = device,
                                 .probe = probe,
                                 .remove = remove_dev,
                                 .work = work,
                                 .irq = irq,
                                 .query_stop = query_stop,
                                 .restart = restart};
}

struct swvf *
swvf_of(struct gvpci_dev *dev)
{
    return dev != NULL ? gvpci_dev_drvdata(dev) : NULL;
}

int
swvf_dma(struct gvpci_dev *dev, uint64_t src, uint64_t dst, uint32_t len, bool want_irq)
{
    struct swvf *s = swvf_of(dev);
    uint32_t status = 0;
    int rc;

    if (len == 0 || len > SWVF_DMA_MAX_LEN) {
        return PCIVIRT_EINVAL;
    }
    if (s != NULL && s->stopped) {
        return PCIVIRT_ESTATE; /* agreed to a stop: the device may be gone until REENABLE */
    }
    rc = gvpci_mmio_write32(dev, 0, SWVF_REG_DMA_STATUS, SWVF_DMA_STS_W1C);
    rc = rc != 0 ? rc : gvpci_mmio_write32(dev, 0, SWVF_REG_DMA_SRC_LO, (uint32_t)src);
    rc = rc != 0 ? rc : gvpci_mmio_write32(dev, 0, SWVF_REG_DMA_SRC_HI, (uint32_t)(src >> 32));
    rc = rc != 0 ? rc : gvpci_mmio_write32(dev, 0, SWVF_REG_DMA_DST_LO, (uint32_t)dst);
    rc = rc != 0 ? rc : gvpci_mmio_write32(dev, 0, SWVF_REG_DMA_DST_HI, (uint32_t)(dst >> 32));
    rc = rc != 0 ? rc : gvpci_mmio_write32(dev, 0, SWVF_REG_DMA_LEN, len);
    rc = rc != 0 ? rc : gvpci_mmio_write32(dev, 0, SWVF_REG_DMA_CTRL, want_irq ? SWVF_DMA_CTRL_IRQ : 0);
    rc = rc != 0 ? rc : gvpci_mmio_write32(dev, 0, SWVF_REG_DMA_DOORBELL, SWVF_DMA_GO);
    rc = rc != 0 ? rc : gvpci_mmio_read32(dev, 0, SWVF_REG_DMA_STATUS, &status);
    if (rc != 0) {
        return rc;
    }
    if (status & SWVF_DMA_STS_FAULT) {
        return PCIVIRT_EACCES;
    }
    return (status & SWVF_DMA_STS_DONE) ? 0 : PCIVIRT_EIO;
}
