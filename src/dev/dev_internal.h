/*
 * dev/dev_internal.h - the software SR-IOV device's insides, shared by its files.
 *
 * sriov_dev.c   creation, SR-IOV / PM / FLR side-effect hooks;
 * layout.c      the PF and VF config layouts (built-in or from a dump);
 * access.c      routing by RID, config/MMIO entry points, enable/disable;
 * vf_regs.c     what sits behind the BARs: VF register file, DMA engine, MSI-X,
 *               PF per-VF settings;
 * resources.c   resource assignment, platform windows, query_resources, export;
 * bus_iface.c   the pcivirt/bus.h table.
 *
 * Sparse VFs: a VF is a 32-byte slot (its pci_config, which reads the shared VF
 * layout until a write changes a byte, and a pointer to register-file state
 * allocated on the first MMIO write).  The slot array is allocated at VF Enable
 * and freed at VF disable, so an untouched VF costs sizeof(struct vf_slot).
 * PF-side per-VF settings (MAC, limits) live in 256-VF chunks allocated on the
 * first PF write to that chunk; they survive VF FLR and VF disable and are
 * cleared by PF FLR.
 */
#ifndef PCIVIRT_DEV_DEV_INTERNAL_H
#define PCIVIRT_DEV_DEV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "pci/caps.h"
#include "pci/config.h"
#include "util/rwlock.h"

#define SETTINGS_CHUNK 256u
#define OUTBOX_MAX (PV_VF_MSIX_MAX + 1)

/* VF register-file state, allocated on the first MMIO write; FLR frees it. */
struct vf_state {
    uint32_t scratch;
    uint32_t dma_src_lo, dma_src_hi, dma_dst_lo, dma_dst_hi, dma_len, dma_ctrl;
    uint32_t dma_status, dma_fault_lo, dma_fault_hi, dma_count;
    uint32_t priv_queues, priv_rate, priv_clamped;
    bool dma_busy;
    uint64_t serial; /* unique per allocation: an in-flight DMA finds its VF again */
    uint64_t pba[(PV_VF_MSIX_MAX + 63) / 64];
    uint8_t msix[]; /* vectors x 16 bytes */
};

struct vf_slot {
    struct pci_config cfg; /* per-VF config (copy on write) */
    struct vf_state *st;   /* NULL: reset values */
};

struct vf_settings {
    uint8_t mac[6];
    bool mac_set;
    uint32_t queue_limit;
    uint32_t rate_limit;
};

/* Interrupt messages collected under the lock, raised after it is dropped. */
struct outbox {
    bool have_irq; /* the interrupt port, copied under the lock */
    struct pv_irq_port irq;
    unsigned n;
    struct {
        uint16_t rid;
        uint64_t addr;
        uint32_t data;
    } msg[OUTBOX_MAX];
};

/* An empty outbox: only the fields a flush reads (the message array is 1.6 KiB). */
static inline void
outbox_init(struct outbox *ob)
{
    ob->have_irq = false;
    ob->n = 0;
}

struct pv_sriov_dev {
    struct pv_rwlock lock; /* striped: readers on different CPUs share no written line */
    struct pv_profile prof;
    uint8_t secondary_bus, subordinate_bus;

    struct pci_layout *pf_layout;
    struct pci_config pf_cfg;
    uint16_t sriov;         /* SR-IOV capability offset in the PF */
    uint16_t pf_pm, pf_exp; /* 0 when absent */
    uint64_t pf_reset_image_len;
    uint8_t *pf_reset_image; /* power-on bytes for PF FLR */

    struct pci_layout *vf_layout;
    uint16_t vf_pm, vf_exp, vf_msix;

    struct vf_slot *vfs; /* NumVFs slots while VF Enable = 1, else NULL */
    uint32_t nvfs;       /* slots allocated (NumVFs at enable) */
    uint64_t generation; /* bumped whenever VFs appear, vanish or reset */

    struct vf_settings **settings; /* (TotalVFs + 255) / 256 chunk pointers */
    uint32_t nchunks;
    size_t settings_bytes;
    size_t vf_state_bytes;
    uint32_t vf_states;
    uint64_t state_serial;
    uint32_t pf_scratch;

    struct pv_dma_port dma;
    struct pv_irq_port irq;
    bool have_dma, have_irq;

    struct pv_platform *plat;
    uint64_t pf_alloc[6], vf_alloc[6]; /* platform allocations (0: none) */
    uint64_t pf_win[6], vf_win[6];     /* platform window handles (0: none) */
    struct outbox *outbox;             /* set while a write holds the lock */

    struct pcivirt_error last_error;
    bool have_last_error;
    atomic_int refs;
};

/* ---- sriov_dev.c ---- */
uint16_t dev_cfg16(const struct pci_config *cfg, uint32_t off);
uint32_t dev_cfg32(const struct pci_config *cfg, uint32_t off);
bool dev_vfs_live(const struct pv_sriov_dev *dev);
bool dev_vf_decodes(const struct pv_sriov_dev *dev, uint32_t index);
bool dev_pf_decodes(const struct pv_sriov_dev *dev);
uint64_t dev_vf_bar_size_now(const struct pv_sriov_dev *dev, unsigned bar);
uint64_t dev_pf_bar_size(const struct pv_sriov_dev *dev, unsigned bar);
uint16_t dev_vf_rid(const struct pv_sriov_dev *dev, uint32_t index);
void dev_record_error(struct pv_sriov_dev *dev, const struct pcivirt_error *err);
void dev_outbox_flush(struct pv_sriov_dev *dev, struct outbox *ob);
void dev_apply_vf_bar_masks(struct pv_sriov_dev *dev);
void dev_geometry_of(const struct pv_sriov_dev *dev, struct dev_vf_geometry *geo);
int dev_update_offset_stride(struct pv_sriov_dev *dev);
void dev_pf_reset(struct pv_sriov_dev *dev, bool keep_ari);
void dev_vf_reset(struct pv_sriov_dev *dev, struct vf_slot *slot);
/* Config side-effect hooks (pci/config.h pci_config_hook_fn), registered by layout.c. */
int dev_hook_sriov_ctrl(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev,
                        struct pcivirt_error *err);
int dev_hook_num_vfs(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err);
int dev_hook_sys_page_size(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev,
                           struct pcivirt_error *err);
int dev_hook_bars(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err);
int dev_hook_pf_devctl(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev,
                       struct pcivirt_error *err);
int dev_hook_vf_devctl(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev,
                       struct pcivirt_error *err);
int dev_hook_pf_pm(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err);
int dev_hook_vf_pm(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err);
int dev_hook_vf_msix(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err);

/* ---- layout.c ---- */
int dev_build_layouts(struct pv_sriov_dev *dev, struct pcivirt_error *err);

/* ---- vf_regs.c ---- */
int dev_vf_mmio_read(struct pv_sriov_dev *dev, uint32_t index, unsigned bar, uint64_t off, void *data, uint32_t len);
/* Called with the write lock held; may drop and retake it to run a DMA. */
int dev_vf_mmio_write_locked(struct pv_sriov_dev *dev, uint32_t index, unsigned bar, uint64_t off, const void *data,
                             uint32_t len, struct outbox *ob);
int dev_pf_mmio_read(struct pv_sriov_dev *dev, unsigned bar, uint64_t off, void *data, uint32_t len);
int dev_pf_mmio_write_locked(struct pv_sriov_dev *dev, unsigned bar, uint64_t off, const void *data, uint32_t len);
void dev_vf_state_free(struct pv_sriov_dev *dev, struct vf_slot *slot);
void dev_vf_msix_release(struct pv_sriov_dev *dev, uint32_t index, struct outbox *ob);
void dev_settings_free(struct pv_sriov_dev *dev);
const struct vf_settings *dev_settings_get(const struct pv_sriov_dev *dev, uint32_t index, struct vf_settings *tmp);

/* ---- resources.c ---- */
void dev_windows_sync(struct pv_sriov_dev *dev);
void dev_windows_unmap(struct pv_sriov_dev *dev);
extern const struct pv_mmio_ops dev_pf_window_ops;
extern const struct pv_mmio_ops dev_vf_window_ops;

#endif /* PCIVIRT_DEV_DEV_INTERNAL_H */
