/*
 * dev/resources.c - resource assignment, platform windows, query_resources.
 *
 * The BAR registers are the truth for where a function decodes: whenever a BAR
 * or the System Page Size changes (a config hook) or resources are assigned, the
 * device re-derives its platform windows from the registers.  A PF BAR is one
 * window; a VF BAR aperture is one window of TotalVFs per-VF slots (Linux
 * reserves the aperture for TotalVFs), so routing a host physical address costs
 * the same for 1 or 65,535 VFs.  Decode rules are applied when an access
 * arrives, not by mapping and unmapping windows.
 */
#include "dev/dev_internal.h"

#include <string.h>

#include "util/le.h"

static uint64_t
bar_addr(const struct pci_config *cfg, uint32_t reg, bool is64)
{
    uint64_t a = dev_cfg32(cfg, reg) & PCI_BASE_ADDRESS_MEM_MASK;

    return is64 ? a | (uint64_t)dev_cfg32(cfg, reg + 4) << 32 : a;
}

static uint64_t
pf_bar_addr(const struct pv_sriov_dev *dev, unsigned i)
{
    return bar_addr(&dev->pf_cfg, PCI_BASE_ADDRESS_0 + 4 * i, dev->prof.pf_bar[i].is64);
}

static uint64_t
vf_bar_addr(const struct pv_sriov_dev *dev, unsigned i)
{
    return bar_addr(&dev->pf_cfg, dev->sriov + PCI_SRIOV_BAR + 4 * i, dev->prof.vf_bar[i].is64);
}

void
dev_windows_unmap(struct pv_sriov_dev *dev)
{
    for (unsigned i = 0; i < 6 && dev->plat != NULL; i++) {
        if (dev->pf_win[i]) {
            pv_platform_unmap(dev->plat, dev->pf_win[i]);
        }
        if (dev->vf_win[i]) {
            pv_platform_unmap(dev->plat, dev->vf_win[i]);
        }
        dev->pf_win[i] = dev->vf_win[i] = 0;
    }
}

void
dev_windows_sync(struct pv_sriov_dev *dev)
{
    if (dev->plat == NULL) {
        return;
    }
    dev_windows_unmap(dev);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t a = pf_bar_addr(dev, i), size = dev_pf_bar_size(dev, i);

        if (size != 0 && a != 0) {
            /* An overlapping address (software programmed a clash) stays unmapped. */
            pv_platform_map(dev->plat, a, size, 1, i, &dev_pf_window_ops, dev, &dev->pf_win[i]);
        }
        a = vf_bar_addr(dev, i);
        size = dev_vf_bar_size_now(dev, i);
        if (size != 0 && a != 0) {
            pv_platform_map(dev->plat, a, size, dev->prof.total_vfs, i, &dev_vf_window_ops, dev, &dev->vf_win[i]);
        }
    }
}

static uint64_t
pow2_ceil(uint64_t v)
{
    uint64_t p = 16;

    while (p < v && p != 0) {
        p <<= 1;
    }
    return p;
}

/* Like a PCI bridge: only prefetchable 64-bit BARs go above 4 GiB; the
 * non-prefetchable window is 32-bit (PCI-to-PCI Bridge spec 3.2.5.8). */
static bool
wants_64bit_window(const struct pv_bar_desc *b)
{
    return b->is64 && b->prefetch;
}

static void
free_allocs(struct pv_platform *plat, const uint64_t *a, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (a[i] != 0) {
            pv_platform_free(plat, a[i]);
        }
    }
}

static int
alloc_all(struct pv_sriov_dev *dev, struct pv_platform *plat, uint64_t *pf, uint64_t *vf, struct pcivirt_error *err)
{
    int rc = 0;

    for (unsigned i = 0; rc == 0 && i < 6; i++) {
        uint64_t size = dev_pf_bar_size(dev, i), vsize = dev_vf_bar_size_now(dev, i);

        if (size != 0) {
            rc = pv_platform_alloc(plat, size, wants_64bit_window(&dev->prof.pf_bar[i]), &pf[i], err);
        }
        if (rc == 0 && vsize != 0) {
            rc = pv_platform_alloc(plat, pow2_ceil(vsize * dev->prof.total_vfs),
                                   wants_64bit_window(&dev->prof.vf_bar[i]), &vf[i], err);
        }
        if (rc != 0) {
            pcivirt_error_locate(err, dev->prof.name, 0, size != 0 && pf[i] == 0 ? "PF BAR" : "VF BAR");
        }
    }
    if (rc != 0) {
        free_allocs(plat, pf, 6);
        free_allocs(plat, vf, 6);
    }
    return rc;
}

static void
program_bar(struct pci_config *cfg, uint32_t reg, uint64_t a, bool is64)
{
    pci_config_write(cfg, reg, 4, (uint32_t)a, NULL);
    if (is64) {
        pci_config_write(cfg, reg + 4, 4, (uint32_t)(a >> 32), NULL);
    }
}

int
pv_sriov_assign_resources(struct pv_sriov_dev *dev, struct pv_platform *plat, struct pcivirt_error *err)
{
    uint64_t pf[6] = {0}, vf[6] = {0};
    int rc;

    pv_rwlock_wrlock(&dev->lock);
    rc = alloc_all(dev, plat, pf, vf, err);
    if (rc == 0) {
        if (dev->plat != NULL && dev->plat != plat) {
            dev_windows_unmap(dev);
            free_allocs(dev->plat, dev->pf_alloc, 6);
            free_allocs(dev->plat, dev->vf_alloc, 6);
            memset(dev->pf_alloc, 0, sizeof(dev->pf_alloc));
            memset(dev->vf_alloc, 0, sizeof(dev->vf_alloc));
        }
        dev->plat = plat;
        for (unsigned i = 0; i < 6; i++) {
            if (pf[i] != 0) {
                program_bar(&dev->pf_cfg, PCI_BASE_ADDRESS_0 + 4 * i, pf[i], dev->prof.pf_bar[i].is64);
            }
            if (vf[i] != 0) {
                program_bar(&dev->pf_cfg, dev->sriov + PCI_SRIOV_BAR + 4 * i, vf[i], dev->prof.vf_bar[i].is64);
            }
        }
        pci_config_write(&dev->pf_cfg, PCI_COMMAND, 2, dev_cfg16(&dev->pf_cfg, PCI_COMMAND) | PCI_COMMAND_MEMORY, NULL);
        free_allocs(plat, dev->pf_alloc, 6); /* the old ranges go only after the new ones are taken */
        free_allocs(plat, dev->vf_alloc, 6);
        memcpy(dev->pf_alloc, pf, sizeof(pf));
        memcpy(dev->vf_alloc, vf, sizeof(vf));
        dev_windows_sync(dev);
    }
    pv_rwlock_wrunlock(&dev->lock);
    return rc;
}

static void
describe(CM_PARTIAL_RESOURCE_DESCRIPTOR *d, uint64_t start, uint64_t len, bool prefetch)
{
    memset(d, 0, sizeof(*d));
    if (len == 0) {
        d->Type = CmResourceTypeNull;
        return;
    }
    d->ShareDisposition = CmResourceShareDeviceExclusive;
    d->Flags = CM_RESOURCE_MEMORY_READ_WRITE | (prefetch ? CM_RESOURCE_MEMORY_PREFETCHABLE : 0);
    RtlCmEncodeMemIoResource(d, len > 0xffffffffull ? CmResourceTypeMemoryLarge : CmResourceTypeMemory, len, start);
}

int
pv_sriov_query_resources(struct pv_sriov_dev *dev, struct pcivirt_bus_resources *out)
{
    uint32_t n;

    memset(out, 0, sizeof(*out));
    pv_rwlock_rdlock(&dev->lock);
    n = dev_cfg16(&dev->pf_cfg, dev->sriov + PCI_SRIOV_NUM_VF);
    n = n != 0 && n <= dev->prof.total_vfs ? n : dev->prof.total_vfs;
    for (unsigned i = 0; i < 6; i++) {
        uint64_t a = pf_bar_addr(dev, i), va = vf_bar_addr(dev, i);

        describe(&out->bar[i], a, a != 0 ? dev_pf_bar_size(dev, i) : 0, dev->prof.pf_bar[i].prefetch);
        describe(&out->vf_bar[i], va, va != 0 ? dev_vf_bar_size_now(dev, i) * n : 0, dev->prof.vf_bar[i].prefetch);
    }
    out->segment = dev->prof.segment;
    out->pf_rid = dev->prof.pf_rid;
    out->secondary_bus = dev->secondary_bus;
    out->subordinate_bus = dev->subordinate_bus;
    pv_rwlock_rdunlock(&dev->lock);
    return 0;
}
