/*
 * dev/sriov_dev.c - the PF, its SR-IOV capability, the VFs' config, FLR and PM.
 *
 * Two config layouts per device (pci/config.h): the PF's own, and one shared by
 * every VF.  The registers are the only state: hooks on the SR-IOV capability
 * read NumVFs, Control and System Page Size back from the PF's bytes after the
 * engine merged a write, and store First VF Offset / VF Stride with a device-side
 * poke, so nothing can drift from what software reads.
 *
 * Decisions on behaviour the spec leaves undefined (docs/DEVICE.md):
 *  - NumVFs, System Page Size and ARI Capable Hierarchy written while VF Enable
 *    = 1 keep their old value (PCIe 9.3.3.3.5/9.3.3.10/9.3.3.13: "undefined").
 *  - A VF Enable 0->1 whose geometry is unusable (NumVFs 0 or > TotalVFs, a zero
 *    offset/stride, the last VF beyond the bus range) is refused: the rest of the
 *    Control write takes effect, VF Enable reads 0, the config write returns the
 *    error and pv_sriov_last_error() explains it.
 *  - A System Page Size that is not exactly one supported bit is ignored.
 *  - PMCSR writes of D1/D2 on a function that does not support them are ignored.
 */
#include "dev/dev_internal.h"

#include <assert.h>
#include <string.h>

#include "util/alloc.h"
#include "util/le.h"

uint16_t
dev_cfg16(const struct pci_config *cfg, uint32_t off)
{
    return le16_get(pci_config_bytes(cfg) + off);
}

uint32_t
dev_cfg32(const struct pci_config *cfg, uint32_t off)
{
    return le32_get(pci_config_bytes(cfg) + off);
}

static uint16_t
sriov16(const struct pv_sriov_dev *dev, uint32_t reg)
{
    return dev_cfg16(&dev->pf_cfg, dev->sriov + reg);
}

bool
dev_vfs_live(const struct pv_sriov_dev *dev)
{
    return dev->vfs != NULL;
}

uint16_t
dev_vf_rid(const struct pv_sriov_dev *dev, uint32_t index)
{
    return (uint16_t)dev_vf_rid_unbounded(dev->prof.pf_rid, sriov16(dev, PCI_SRIOV_VF_OFFSET),
                                          sriov16(dev, PCI_SRIOV_VF_STRIDE), index);
}

/* PCIe 9.3.3.3.4 / device-model.md 6 rule 5, 7.3: VF Enable, VF MSE and the VF in D0. */
bool
dev_vf_decodes(const struct pv_sriov_dev *dev, uint32_t index)
{
    uint16_t ctrl = sriov16(dev, PCI_SRIOV_CTRL);

    if (!(ctrl & PCI_SRIOV_CTRL_VFE) || !(ctrl & PCI_SRIOV_CTRL_MSE) || index >= dev->nvfs) {
        return false;
    }
    return (dev_cfg16(&dev->vfs[index].cfg, dev->vf_pm + PCI_PM_CTRL) & PCI_PM_CTRL_STATE_MASK) == PCI_D0;
}

bool
dev_pf_decodes(const struct pv_sriov_dev *dev)
{
    if (!(dev_cfg16(&dev->pf_cfg, PCI_COMMAND) & PCI_COMMAND_MEMORY)) {
        return false;
    }
    return dev->pf_pm == 0 || (dev_cfg16(&dev->pf_cfg, dev->pf_pm + PCI_PM_CTRL) & PCI_PM_CTRL_STATE_MASK) == PCI_D0;
}

uint64_t
dev_vf_bar_size_now(const struct pv_sriov_dev *dev, unsigned bar)
{
    if (bar >= 6 || dev->prof.vf_bar[bar].size == 0) {
        return 0;
    }
    return dev_vf_bar_size(dev->prof.vf_bar[bar].size, dev_cfg32(&dev->pf_cfg, dev->sriov + PCI_SRIOV_SYS_PGSIZE));
}

/* The PF register BAR holds a settings table for every possible VF. */
static uint64_t
pf_regs_bar_size(const struct pv_profile *p)
{
    uint64_t need = SWPF_VF_TABLE + (uint64_t)p->total_vfs * SWPF_VF_ENTRY_SIZE, size = 0x4000;

    while (size < need || size < p->pf_bar[p->pf_regs_bar].size) {
        size <<= 1;
    }
    return size;
}

uint64_t
dev_pf_bar_size(const struct pv_sriov_dev *dev, unsigned bar)
{
    if (bar >= 6 || dev->prof.pf_bar[bar].size == 0) {
        return 0;
    }
    return (int)bar == dev->prof.pf_regs_bar ? pf_regs_bar_size(&dev->prof) : dev->prof.pf_bar[bar].size;
}

void
dev_record_error(struct pv_sriov_dev *dev, const struct pcivirt_error *err)
{
    dev->last_error = *err;
    dev->have_last_error = true;
}

void
dev_outbox_flush(struct pv_sriov_dev *dev, struct outbox *ob)
{
    (void)dev;
    for (unsigned i = 0; i < ob->n; i++) {
        if (ob->have_irq) {
            ob->irq.raise(ob->irq.ctx, ob->msg[i].rid, ob->msg[i].addr, ob->msg[i].data);
        }
    }
    ob->n = 0;
}

/* ---- VFs appear and vanish ---------------------------------------------------- */

static void
vfs_destroy(struct pv_sriov_dev *dev)
{
    if (dev->vfs == NULL) {
        return;
    }
    for (uint32_t i = 0; i < dev->nvfs; i++) {
        dev_vf_state_free(dev, &dev->vfs[i]);
        pci_config_fini(&dev->vfs[i].cfg);
    }
    pv_free(dev->vfs);
    dev->vfs = NULL;
    dev->nvfs = 0;
    dev->generation++;
}

/* PCIe 9.3.3.3.1: VF Enable 0->1 creates NumVFs VFs, in D0, with reset values. */
static int
vfs_create(struct pv_sriov_dev *dev, uint32_t n)
{
    dev->vfs = pv_calloc(n, sizeof(*dev->vfs));
    if (dev->vfs == NULL) {
        return PCIVIRT_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        pci_config_init(&dev->vfs[i].cfg, dev->vf_layout, &dev->vfs[i]);
    }
    dev->nvfs = n;
    dev->generation++;
    return 0;
}

/* Store First VF Offset / VF Stride for the current ARI bit and NumVFs (9.3.3.8-9). */
int
dev_update_offset_stride(struct pv_sriov_dev *dev)
{
    uint16_t off, stride;
    bool ari = (sriov16(dev, PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_ARI) != 0;
    int rc;

    pv_profile_geometry(&dev->prof, ari, sriov16(dev, PCI_SRIOV_NUM_VF), &off, &stride);
    rc = pci_config_poke(&dev->pf_cfg, dev->sriov + PCI_SRIOV_VF_OFFSET, 2, off);
    return rc != 0 ? rc : pci_config_poke(&dev->pf_cfg, dev->sriov + PCI_SRIOV_VF_STRIDE, 2, stride);
}

void
dev_geometry_of(const struct pv_sriov_dev *dev, struct dev_vf_geometry *geo)
{
    geo->pf_rid = dev->prof.pf_rid;
    geo->offset = sriov16(dev, PCI_SRIOV_VF_OFFSET);
    geo->stride = sriov16(dev, PCI_SRIOV_VF_STRIDE);
    geo->num_vfs = sriov16(dev, PCI_SRIOV_NUM_VF);
    geo->ari = (sriov16(dev, PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_ARI) != 0;
    geo->secondary_bus = dev->secondary_bus;
    geo->subordinate_bus = dev->subordinate_bus;
}

/* The checks of a VF Enable 0->1 (Linux sriov_enable, device-model.md 4.2, 5.3). */
static int
check_enable(struct pv_sriov_dev *dev, struct pcivirt_error *err)
{
    struct dev_vf_geometry geo;

    dev_geometry_of(dev, &geo);
    if (geo.num_vfs > dev->prof.total_vfs) {
        pcivirt_error_locate(err, dev->prof.name, 0, "NumVFs");
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "can't enable %u VFs: NumVFs is above TotalVFs %u",
                                 (unsigned)geo.num_vfs, (unsigned)dev->prof.total_vfs);
    }
    return dev_geometry_check(&geo, err);
}

static int
vf_enable(struct pv_sriov_dev *dev, struct pci_config *cfg, uint16_t ctrl, struct pcivirt_error *err)
{
    struct pcivirt_error local;
    int rc;

    pcivirt_error_clear(&local);
    rc = check_enable(dev, &local);
    if (rc == 0) {
        rc = vfs_create(dev, sriov16(dev, PCI_SRIOV_NUM_VF));
        if (rc != 0) {
            pcivirt_error_set(&local, rc, "can't enable %u VFs: out of memory", sriov16(dev, PCI_SRIOV_NUM_VF));
        }
    }
    if (rc != 0) {
        pci_config_poke(cfg, dev->sriov + PCI_SRIOV_CTRL, 2, ctrl & ~PCI_SRIOV_CTRL_VFE);
        dev_record_error(dev, &local);
        if (err != NULL) {
            *err = local;
        }
    }
    return rc;
}

int
dev_hook_sriov_ctrl(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev = opaque;
    uint32_t reg = dev->sriov + PCI_SRIOV_CTRL;
    uint16_t old = (uint16_t)pci_hook_old(ev, cfg, reg, 2), ctrl = dev_cfg16(cfg, reg);

    if ((old & PCI_SRIOV_CTRL_VFE) && ((old ^ ctrl) & PCI_SRIOV_CTRL_ARI)) {
        ctrl = (uint16_t)((ctrl & ~PCI_SRIOV_CTRL_ARI) | (old & PCI_SRIOV_CTRL_ARI));
        pci_config_poke(cfg, reg, 2, ctrl); /* ARI may not change while VFs exist (9.3.3.3.5) */
    }
    if ((old ^ ctrl) & PCI_SRIOV_CTRL_ARI) {
        dev_update_offset_stride(dev);
    }
    if (!(old & PCI_SRIOV_CTRL_VFE) && (ctrl & PCI_SRIOV_CTRL_VFE)) {
        return vf_enable(dev, cfg, ctrl, err);
    }
    if ((old & PCI_SRIOV_CTRL_VFE) && !(ctrl & PCI_SRIOV_CTRL_VFE)) {
        vfs_destroy(dev);
    }
    return 0;
}

int
dev_hook_num_vfs(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev = opaque;
    uint32_t reg = dev->sriov + PCI_SRIOV_NUM_VF;

    (void)err;
    if (sriov16(dev, PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_VFE) {
        pci_config_poke(cfg, reg, 2, pci_hook_old(ev, cfg, reg, 2)); /* 9.3.3.7: RO while enabled */
        return 0;
    }
    dev_update_offset_stride(dev);
    return 0;
}

/* Narrow each VF BAR's address mask to the per-VF size at the current page size. */
void
dev_apply_vf_bar_masks(struct pv_sriov_dev *dev)
{
    for (unsigned i = 0; i < 6; i++) {
        uint64_t size = dev_vf_bar_size_now(dev, i), mask = ~(size - 1);
        uint32_t reg = dev->sriov + PCI_SRIOV_BAR + 4 * i;
        uint32_t lo;

        if (size == 0) {
            continue;
        }
        lo = (uint32_t)mask & PCI_BASE_ADDRESS_MEM_MASK;
        pci_layout_set_wmask(dev->pf_layout, reg, 4, lo);
        pci_config_poke(&dev->pf_cfg, reg, 4, (dev_cfg32(&dev->pf_cfg, reg) & (lo | 0xf)));
        if (dev->prof.vf_bar[i].is64) {
            pci_layout_set_wmask(dev->pf_layout, reg + 4, 4, (uint32_t)(mask >> 32));
            pci_config_poke(&dev->pf_cfg, reg + 4, 4, dev_cfg32(&dev->pf_cfg, reg + 4) & (uint32_t)(mask >> 32));
            i++;
        }
    }
}

int
dev_hook_sys_page_size(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev = opaque;
    uint32_t reg = dev->sriov + PCI_SRIOV_SYS_PGSIZE;
    uint32_t old = pci_hook_old(ev, cfg, reg, 4), v = pci_hook_written(ev, reg, 4);
    struct pcivirt_error local;

    /* Judge the value software meant: the old bytes with the written ones in place. */
    for (unsigned i = 0; i < 4; i++) {
        if (!pci_hook_touches(ev, reg + i, 1)) {
            v |= old & (0xffu << (8 * i));
        }
    }
    if (old == dev_cfg32(cfg, reg) && v == old) {
        return 0;
    }
    if ((sriov16(dev, PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_VFE) || !dev_one_bit(v) ||
        (v & dev->prof.supported_page_sizes) == 0) {
        pci_config_poke(cfg, reg, 4, old);
        pcivirt_error_clear(&local);
        pcivirt_error_locate(&local, dev->prof.name, 0, "System Page Size");
        pcivirt_error_set(&local, PCIVIRT_EINVAL,
                          "System Page Size 0x%x ignored: it must be exactly one of the "
                          "supported sizes 0x%x and VF Enable must be 0",
                          v, dev->prof.supported_page_sizes);
        dev_record_error(dev, &local);
        if (err != NULL) {
            *err = local;
        }
        return PCIVIRT_EINVAL;
    }
    dev_apply_vf_bar_masks(dev);
    dev_windows_sync(dev);
    return 0;
}

int
dev_hook_bars(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    (void)cfg;
    (void)ev;
    (void)err;
    dev_windows_sync(opaque);
    return 0;
}

/* ---- reset and power ---------------------------------------------------------- */

/*
 * PF FLR / internal reset: PCIe 9.2.1.2 and device-model.md 7.2 - the PF's config
 * returns to reset values, VF Enable clears and the VFs disappear, the PF-side
 * settings are lost.  ARI Capable Hierarchy is not affected by FLR (9.3.3.3.5);
 * after a D3hot->D0 reset it survives only when ARI Capable Hierarchy Preserved.
 */
void
dev_pf_reset(struct pv_sriov_dev *dev, bool keep_ari)
{
    uint16_t ari = sriov16(dev, PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_ARI;

    vfs_destroy(dev);
    dev_settings_free(dev);
    pci_config_reset(&dev->pf_cfg);
    if (keep_ari) {
        pci_config_poke(&dev->pf_cfg, dev->sriov + PCI_SRIOV_CTRL, 2,
                        (sriov16(dev, PCI_SRIOV_CTRL) & ~PCI_SRIOV_CTRL_ARI) | ari);
    }
    dev_apply_vf_bar_masks(dev);
    dev_update_offset_stride(dev);
    dev_windows_sync(dev);
}

/* VF FLR: that VF only (device-model.md 7.2); PF-side settings stay. */
void
dev_vf_reset(struct pv_sriov_dev *dev, struct vf_slot *slot)
{
    dev_vf_state_free(dev, slot);
    pci_config_reset(&slot->cfg);
}

int
dev_hook_pf_devctl(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev = opaque;

    (void)cfg;
    (void)err;
    if (pci_hook_written(ev, dev->pf_exp + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR) {
        dev_pf_reset(dev, true);
    }
    return 0;
}

int
dev_hook_vf_devctl(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev = opaque;

    (void)err;
    if (pci_hook_written(ev, dev->vf_exp + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR) {
        dev_vf_reset(dev, pci_config_owner(cfg));
    }
    return 0;
}

/* PMCSR: refuse unsupported states; D3hot->D0 without No_Soft_Reset resets (PCI PM 1.2 5.4.1). */
static int
pm_transition(struct pci_config *cfg, const struct pci_hook_event *ev, uint16_t pm, bool *reset)
{
    uint16_t pmc = dev_cfg16(cfg, pm + PCI_PM_PMC);
    uint16_t old = (uint16_t)pci_hook_old(ev, cfg, pm + PCI_PM_CTRL, 2), now = dev_cfg16(cfg, pm + PCI_PM_CTRL);
    unsigned from = old & PCI_PM_CTRL_STATE_MASK, to = now & PCI_PM_CTRL_STATE_MASK;

    *reset = false;
    if ((to == PCI_D1 && !(pmc & PCI_PM_PMC_D1)) || (to == PCI_D2 && !(pmc & PCI_PM_PMC_D2))) {
        pci_config_poke(cfg, pm + PCI_PM_CTRL, 2, (now & ~PCI_PM_CTRL_STATE_MASK) | from);
        return 0;
    }
    *reset = from == PCI_D3HOT && to == PCI_D0 && !(now & PCI_PM_CTRL_NO_SOFT_RESET);
    return 0;
}

int
dev_hook_pf_pm(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev = opaque;
    bool reset;

    (void)err;
    pm_transition(cfg, ev, dev->pf_pm, &reset);
    if (reset) {
        dev_pf_reset(dev, (dev_cfg32(cfg, dev->sriov + PCI_SRIOV_CAP) & PCI_SRIOV_CAP_ARI_PRESERVED) != 0);
    }
    return 0;
}

int
dev_hook_vf_pm(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev = opaque;
    bool reset;

    (void)err;
    pm_transition(cfg, ev, dev->vf_pm, &reset);
    if (reset) {
        dev_vf_reset(dev, pci_config_owner(cfg));
    }
    return 0;
}

int
dev_hook_vf_msix(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev = opaque;
    struct vf_slot *slot = pci_config_owner(cfg);

    (void)ev;
    (void)err;
    if (dev->outbox != NULL) {
        dev_vf_msix_release(dev, (uint32_t)(slot - dev->vfs), dev->outbox);
    }
    return 0;
}

/* ---- create / destroy ---------------------------------------------------------- */

static int
check_profile(const struct pv_profile *p, struct pcivirt_error *err)
{
    const char *field = NULL;

    if (p->total_vfs == 0 || p->initial_vfs > p->total_vfs) {
        field = "TotalVFs";
    } else if (!dev_one_bit(p->system_page_size) || !(p->system_page_size & p->supported_page_sizes)) {
        field = "System Page Size";
    } else if (p->vf_msix_bar >= 0 && (p->vf_msix_vectors == 0 || p->vf_msix_vectors > PV_VF_MSIX_MAX)) {
        field = "vf_msix_vectors";
    } else if (p->bus_range_set && (p->secondary_bus != (p->pf_rid >> 8) || p->subordinate_bus < p->secondary_bus)) {
        field = "bus range";
    } else if (p->vf_regs_bar >= 6 || p->vf_msix_bar >= 6 || p->pf_regs_bar >= 6 ||
               (p->vf_regs_bar >= 0 && p->vf_bar[p->vf_regs_bar].size < SWVF_REGS_SIZE) ||
               (p->pf_regs_bar >= 0 && p->pf_bar[p->pf_regs_bar].size == 0)) {
        field = "register BAR";
    }
    if (field == NULL) {
        return 0;
    }
    pcivirt_error_locate(err, p->name, 0, field);
    return pcivirt_error_set(err, PCIVIRT_EINVAL, "%s: profile field %s is inconsistent", p->name, field);
}

int
pv_sriov_create(const struct pv_profile *prof, struct pv_sriov_dev **out, struct pcivirt_error *err)
{
    struct pv_sriov_dev *dev;
    int rc;

    *out = NULL;
    rc = check_profile(prof, err);
    if (rc != 0) {
        return rc;
    }
    dev = pv_calloc(1, sizeof(*dev));
    if (dev == NULL) {
        return PCIVIRT_ENOMEM;
    }
    if (pv_rwlock_init(&dev->lock) != 0) {
        pv_free(dev);
        return PCIVIRT_ENOMEM;
    }
    dev->prof = *prof;
    dev->secondary_bus = (uint8_t)(prof->pf_rid >> 8);
    dev->subordinate_bus = prof->bus_range_set ? prof->subordinate_bus : pv_profile_default_subordinate(prof);
    dev->nchunks = (prof->total_vfs + SETTINGS_CHUNK - 1) / SETTINGS_CHUNK;
    dev->settings = pv_calloc(dev->nchunks, sizeof(*dev->settings));
    rc = dev->settings == NULL ? PCIVIRT_ENOMEM : dev_build_layouts(dev, err);
    if (rc != 0) {
        pv_sriov_destroy(dev);
        return rc;
    }
    *out = dev;
    return 0;
}

void
pv_sriov_destroy(struct pv_sriov_dev *dev)
{
    if (dev == NULL) {
        return;
    }
    assert(atomic_load(&dev->refs) == 0);
    dev_windows_unmap(dev);
    if (dev->plat != NULL) {
        for (unsigned i = 0; i < 6; i++) {
            pv_platform_free(dev->plat, dev->pf_alloc[i]);
            pv_platform_free(dev->plat, dev->vf_alloc[i]);
        }
    }
    vfs_destroy(dev);
    if (dev->settings != NULL) {
        dev_settings_free(dev);
        pv_free(dev->settings);
    }
    pci_config_fini(&dev->pf_cfg);
    pci_layout_unref(dev->pf_layout);
    pci_layout_unref(dev->vf_layout);
    pv_rwlock_destroy(&dev->lock);
    pv_free(dev);
}

const struct pv_profile *
pv_sriov_profile(const struct pv_sriov_dev *dev)
{
    return &dev->prof;
}

uint16_t
pv_sriov_pf_rid(const struct pv_sriov_dev *dev)
{
    return dev->prof.pf_rid;
}

uint16_t
pv_sriov_segment(const struct pv_sriov_dev *dev)
{
    return dev->prof.segment;
}

void
pv_sriov_set_ports(struct pv_sriov_dev *dev, const struct pv_dma_port *dma, const struct pv_irq_port *irq)
{
    pv_rwlock_wrlock(&dev->lock);
    dev->have_dma = dma != NULL && dma->size >= sizeof(struct pv_dma_port) && dma->dma_read && dma->dma_write;
    if (dev->have_dma) {
        dev->dma = *dma;
    }
    dev->have_irq = irq != NULL && irq->size >= sizeof(struct pv_irq_port) && irq->raise;
    if (dev->have_irq) {
        dev->irq = *irq;
    }
    pv_rwlock_wrunlock(&dev->lock);
}

bool
pv_sriov_vf_enabled(struct pv_sriov_dev *dev)
{
    bool on;

    pv_rwlock_rdlock(&dev->lock);
    on = (sriov16(dev, PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_VFE) != 0;
    pv_rwlock_rdunlock(&dev->lock);
    return on;
}

int
pv_sriov_vf_rid(struct pv_sriov_dev *dev, uint32_t index, uint16_t *rid)
{
    int rc = PCIVIRT_ENOENT;

    pv_rwlock_rdlock(&dev->lock);
    if (dev_vfs_live(dev) && index < dev->nvfs) {
        *rid = dev_vf_rid(dev, index);
        rc = 0;
    }
    pv_rwlock_rdunlock(&dev->lock);
    return rc;
}

void
pv_sriov_geometry(struct pv_sriov_dev *dev, struct dev_vf_geometry *geo)
{
    pv_rwlock_rdlock(&dev->lock);
    dev_geometry_of(dev, geo);
    pv_rwlock_rdunlock(&dev->lock);
}

int
pv_sriov_last_error(struct pv_sriov_dev *dev, struct pcivirt_error *out)
{
    int rc = PCIVIRT_ENOENT;

    pv_rwlock_rdlock(&dev->lock);
    if (dev->have_last_error) {
        *out = dev->last_error;
        rc = 0;
    }
    pv_rwlock_rdunlock(&dev->lock);
    return rc;
}
