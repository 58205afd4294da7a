/*
 * dev/access.c - the device's entry points: routing by RID, config and MMIO
 * accesses, FLR, enable/disable, memory accounting.
 *
 * Routing is O(1): a RID is the PF's, or (RID - PF RID - offset) / stride names a
 * VF when it divides evenly and is below NumVFs (dev_vf_index_of_rid).  A RID with
 * no enabled function behind it reads all-ones and drops writes, as an
 * Unsupported Request does on PCIe.
 */
#include "dev/dev_internal.h"

#include <stdio.h>
#include <string.h>

#include "pci/dump.h"
#include "util/le.h"

enum target { T_NONE, T_PF, T_VF };

/* Every access routes through here: read only the two registers the inverse needs. */
static enum target
resolve(const struct pv_sriov_dev *dev, uint16_t rid, uint32_t *index)
{
    const uint8_t *pf = pci_config_bytes(&dev->pf_cfg) + dev->sriov;
    struct dev_vf_geometry geo = {.pf_rid = dev->prof.pf_rid, .num_vfs = (uint16_t)dev->nvfs};

    if (rid == dev->prof.pf_rid) {
        return T_PF;
    }
    if (dev->vfs == NULL) {
        return T_NONE;
    }
    geo.offset = le16_get(pf + PCI_SRIOV_VF_OFFSET);
    geo.stride = le16_get(pf + PCI_SRIOV_VF_STRIDE);
    return dev_vf_index_of_rid(&geo, rid, index) ? T_VF : T_NONE;
}

static int
check_cfg_access(uint16_t offset, uint32_t length)
{
    if (length == 0 || length > PCI_CFG_SIZE_EXT || (uint32_t)offset + length > PCI_CFG_SIZE_EXT) {
        return PCIVIRT_ERANGE;
    }
    return 0;
}

int
pv_sriov_config_read(struct pv_sriov_dev *dev, uint16_t rid, uint16_t offset, void *data, uint32_t length)
{
    uint32_t index = 0;
    int rc = check_cfg_access(offset, length);

    if (rc != 0) {
        return rc;
    }
    pv_rwlock_rdlock(&dev->lock);
    switch (resolve(dev, rid, &index)) {
    case T_PF: rc = pci_config_read_bytes(&dev->pf_cfg, offset, data, length); break;
    case T_VF: rc = pci_config_read_bytes(&dev->vfs[index].cfg, offset, data, length); break;
    default: memset(data, 0xff, length); break;
    }
    pv_rwlock_rdunlock(&dev->lock);
    return rc;
}

int
pv_sriov_config_write(struct pv_sriov_dev *dev, uint16_t rid, uint16_t offset, const void *data, uint32_t length)
{
    struct outbox ob;
    struct pci_config *cfg = NULL;
    uint32_t index = 0;
    int rc = check_cfg_access(offset, length);

    outbox_init(&ob);
    if (rc != 0) {
        return rc;
    }
    pv_rwlock_wrlock(&dev->lock);
    switch (resolve(dev, rid, &index)) {
    case T_PF: cfg = &dev->pf_cfg; break;
    case T_VF: cfg = &dev->vfs[index].cfg; break;
    default: break;
    }
    if (cfg != NULL) {
        dev->outbox = &ob;
        rc = pci_config_write_bytes(cfg, offset, data, length, NULL);
        dev->outbox = NULL;
    }
    pv_rwlock_wrunlock(&dev->lock);
    dev_outbox_flush(dev, &ob);
    return rc;
}

/* Which BAR of which function, and whether it decodes; fills @size. */
static int
mmio_check(struct pv_sriov_dev *dev, enum target t, uint32_t index, unsigned bar, uint64_t offset, uint32_t length)
{
    uint64_t size;

    if (bar >= 6 || length == 0 || length > 8) {
        return PCIVIRT_ERANGE;
    }
    size = t == T_PF ? dev_pf_bar_size(dev, bar) : dev_vf_bar_size_now(dev, bar);
    if (size == 0 || offset >= size || length > size - offset) {
        return PCIVIRT_ERANGE;
    }
    if (t == T_PF ? !dev_pf_decodes(dev) : !dev_vf_decodes(dev, index)) {
        return PCIVIRT_ESTATE;
    }
    return 0;
}

int
pv_sriov_mmio_read(struct pv_sriov_dev *dev, uint16_t rid, unsigned bar, uint64_t offset, void *data, uint32_t length)
{
    uint32_t index = 0;
    enum target t;
    int rc;

    pv_rwlock_rdlock(&dev->lock);
    t = resolve(dev, rid, &index);
    rc = t == T_NONE ? PCIVIRT_ESTATE : mmio_check(dev, t, index, bar, offset, length);
    if (rc == 0) {
        rc = t == T_PF ? dev_pf_mmio_read(dev, bar, offset, data, length)
                       : dev_vf_mmio_read(dev, index, bar, offset, data, length);
    } else if (length <= 8) {
        memset(data, 0xff, length);
    }
    pv_rwlock_rdunlock(&dev->lock);
    return rc;
}

int
pv_sriov_mmio_write(struct pv_sriov_dev *dev, uint16_t rid, unsigned bar, uint64_t offset, const void *data,
                    uint32_t length)
{
    struct outbox ob;
    uint32_t index = 0;
    enum target t;
    int rc;

    outbox_init(&ob);
    pv_rwlock_wrlock(&dev->lock);
    t = resolve(dev, rid, &index);
    rc = t == T_NONE ? PCIVIRT_ESTATE : mmio_check(dev, t, index, bar, offset, length);
    if (rc == 0) {
        rc = t == T_PF ? dev_pf_mmio_write_locked(dev, bar, offset, data, length)
                       : dev_vf_mmio_write_locked(dev, index, bar, offset, data, length, &ob);
    }
    pv_rwlock_wrunlock(&dev->lock);
    dev_outbox_flush(dev, &ob);
    return rc;
}

/*
 * The bus driver's function reset (Linux pci_reset_function): for a VF, an FLR
 * through its Device Control; for the PF, save the BARs, FLR (VFs go away), and
 * restore the BARs and Command so the PF keeps its assigned resources.
 */
int
pv_sriov_function_reset(struct pv_sriov_dev *dev, uint16_t rid)
{
    uint8_t bars[24], cmd[2];
    uint32_t index = 0;
    enum target t;
    int rc = 0;

    pv_rwlock_wrlock(&dev->lock);
    t = resolve(dev, rid, &index);
    if (t == T_VF) {
        dev_vf_reset(dev, &dev->vfs[index]);
    } else if (t == T_PF) {
        pci_config_read_bytes(&dev->pf_cfg, PCI_BASE_ADDRESS_0, bars, sizeof(bars));
        pci_config_read_bytes(&dev->pf_cfg, PCI_COMMAND, cmd, sizeof(cmd));
        dev_pf_reset(dev, true);
        rc = pci_config_write_bytes(&dev->pf_cfg, PCI_BASE_ADDRESS_0, bars, sizeof(bars), NULL);
        rc = rc != 0 ? rc : pci_config_write_bytes(&dev->pf_cfg, PCI_COMMAND, cmd, sizeof(cmd), NULL);
    } else {
        rc = PCIVIRT_ENOENT;
    }
    pv_rwlock_wrunlock(&dev->lock);
    return rc;
}

static int
write_sriov(struct pv_sriov_dev *dev, uint32_t reg, uint16_t v, struct pcivirt_error *err)
{
    return pci_config_write(&dev->pf_cfg, dev->sriov + reg, 2, v, err);
}

int
pv_sriov_enable(struct pv_sriov_dev *dev, uint16_t num_vfs, struct pcivirt_error *err)
{
    uint16_t ctrl;
    int rc;

    pv_rwlock_wrlock(&dev->lock);
    ctrl = dev_cfg16(&dev->pf_cfg, dev->sriov + PCI_SRIOV_CTRL);
    if (ctrl & PCI_SRIOV_CTRL_VFE) {
        pv_rwlock_wrunlock(&dev->lock);
        return pcivirt_error_set(err, PCIVIRT_EBUSY, "VFs are already enabled (NumVFs %u)", (unsigned)dev->nvfs);
    }
    rc = write_sriov(dev, PCI_SRIOV_NUM_VF, num_vfs, err);
    rc = rc != 0 ? rc : write_sriov(dev, PCI_SRIOV_CTRL, ctrl | PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE, err);
    pv_rwlock_wrunlock(&dev->lock);
    return rc;
}

void
pv_sriov_disable(struct pv_sriov_dev *dev)
{
    uint16_t ctrl;

    pv_rwlock_wrlock(&dev->lock);
    ctrl = dev_cfg16(&dev->pf_cfg, dev->sriov + PCI_SRIOV_CTRL);
    write_sriov(dev, PCI_SRIOV_CTRL, ctrl & ~(PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE), NULL);
    write_sriov(dev, PCI_SRIOV_NUM_VF, 0, NULL);
    pv_rwlock_wrunlock(&dev->lock);
}

void
pv_sriov_memory(struct pv_sriov_dev *dev, struct pv_sriov_memory *out)
{
    memset(out, 0, sizeof(*out));
    pv_rwlock_rdlock(&dev->lock);
    out->num_vfs = dev->nvfs;
    out->vf_table_bytes = (size_t)dev->nvfs * sizeof(struct vf_slot);
    out->vf_state_bytes = dev->vf_state_bytes;
    out->settings_bytes = dev->settings_bytes;
    for (uint32_t i = 0; i < dev->nvfs; i++) {
        size_t priv = pci_config_private_bytes(&dev->vfs[i].cfg);

        out->vf_config_bytes += priv;
        out->vfs_touched += (priv != 0 || dev->vfs[i].st != NULL) ? 1 : 0;
    }
    pv_rwlock_rdunlock(&dev->lock);
}

static void
rid_addr(const struct pv_sriov_dev *dev, uint16_t rid, struct pci_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->domain = dev->prof.segment;
    a->has_domain = dev->prof.segment != 0;
    a->bus = (uint8_t)(rid >> 8);
    a->dev = (uint8_t)((rid >> 3) & 0x1f);
    a->fn = (uint8_t)(rid & 7);
}

int
pv_sriov_export(struct pv_sriov_dev *dev, struct pci_dump *dump, uint32_t max_vfs)
{
    struct pci_addr a;
    char desc[96];
    int rc;

    pv_rwlock_rdlock(&dev->lock);
    rid_addr(dev, dev->prof.pf_rid, &a);
    snprintf(desc, sizeof(desc), "pcivirt PF %04x:%04x (%.60s)", dev->prof.vendor_id, dev->prof.device_id,
             dev->prof.name);
    rc = pci_dump_add(dump, &a, desc, pci_config_bytes(&dev->pf_cfg), PCI_CFG_SIZE_EXT);
    for (uint32_t i = 0; rc == 0 && i < dev->nvfs && i < max_vfs; i++) {
        rid_addr(dev, dev_vf_rid(dev, i), &a);
        snprintf(desc, sizeof(desc), "pcivirt VF %u of %04x:%04x", i, dev->prof.vendor_id, dev->prof.vf_device_id);
        rc = pci_dump_add(dump, &a, desc, pci_config_bytes(&dev->vfs[i].cfg), PCI_CFG_SIZE_EXT);
    }
    pv_rwlock_rdunlock(&dev->lock);
    return rc;
}

/* ---- platform windows: an access by slot index instead of routing ID ---------- */

/*
 * A read through a platform window.  Reads raise no interrupt, so they have no
 * outbox: zeroing one (1.6 KiB) per read cost more than the read itself
 * (docs/PERFORMANCE.md, benchmark 2).
 */
static int
window_read(struct pv_sriov_dev *dev, bool vf, uint32_t index, unsigned bar, uint64_t off, void *rd, uint32_t len)
{
    int rc;

    pv_rwlock_rdlock(&dev->lock);
    rc = vf && (dev->vfs == NULL || index >= dev->nvfs) ? PCIVIRT_ESTATE
                                                        : mmio_check(dev, vf ? T_VF : T_PF, index, bar, off, len);
    if (rc == 0) {
        rc = vf ? dev_vf_mmio_read(dev, index, bar, off, rd, len) : dev_pf_mmio_read(dev, bar, off, rd, len);
    } else {
        memset(rd, 0xff, len);
    }
    pv_rwlock_rdunlock(&dev->lock);
    return rc;
}

static int
window_write(struct pv_sriov_dev *dev, bool vf, uint32_t index, unsigned bar, uint64_t off, const void *wr,
             uint32_t len)
{
    struct outbox ob;
    int rc;

    outbox_init(&ob);
    pv_rwlock_wrlock(&dev->lock);
    rc = vf && (dev->vfs == NULL || index >= dev->nvfs) ? PCIVIRT_ESTATE
                                                        : mmio_check(dev, vf ? T_VF : T_PF, index, bar, off, len);
    if (rc == 0) {
        rc = vf ? dev_vf_mmio_write_locked(dev, index, bar, off, wr, len, &ob)
                : dev_pf_mmio_write_locked(dev, bar, off, wr, len);
    }
    pv_rwlock_wrunlock(&dev->lock);
    dev_outbox_flush(dev, &ob);
    return rc;
}

static int
pf_win_read(void *ctx, uint32_t index, unsigned bar, uint64_t off, void *data, uint32_t len)
{
    return window_read(ctx, false, index, bar, off, data, len);
}

static int
pf_win_write(void *ctx, uint32_t index, unsigned bar, uint64_t off, const void *data, uint32_t len)
{
    return window_write(ctx, false, index, bar, off, data, len);
}

static int
vf_win_read(void *ctx, uint32_t index, unsigned bar, uint64_t off, void *data, uint32_t len)
{
    return window_read(ctx, true, index, bar, off, data, len);
}

static int
vf_win_write(void *ctx, uint32_t index, unsigned bar, uint64_t off, const void *data, uint32_t len)
{
    return window_write(ctx, true, index, bar, off, data, len);
}

const struct pv_mmio_ops dev_pf_window_ops = {pf_win_read, pf_win_write};
const struct pv_mmio_ops dev_vf_window_ops = {vf_win_read, vf_win_write};
