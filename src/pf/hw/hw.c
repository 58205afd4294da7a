/*
 * pf/hw/hw.c - the device binding (see pf/hw/hw.h).
 *
 * SR-IOV capability layout (PCIe Base 6.0 9.3.3): +0x08 Control (VF Enable bit 0,
 * VF MSE bit 3), +0x0C InitialVFs, +0x0E TotalVFs, +0x10 NumVFs, +0x14 First VF
 * Offset, +0x16 VF Stride, +0x1A VF Device ID, +0x24.. VF BAR0-5.
 */
#include "pf/hw/hw.h"

#include <string.h>

#include "dev/regs.h"
#include "pcivirt/error.h"
#include "pcivirt/wdf.h"
#include "util/le.h"

#define ECAP_SRIOV 0x0010
#define SRIOV_CTRL 0x08
#define SRIOV_CTRL_VFE 0x0001
#define SRIOV_CTRL_MSE 0x0008
#define SRIOV_INITIAL_VFS 0x0C
#define SRIOV_TOTAL_VFS 0x0E
#define SRIOV_NUM_VFS 0x10
#define SRIOV_VF_OFFSET 0x14
#define SRIOV_VF_STRIDE 0x16
#define SRIOV_VF_DID 0x1A
#define SRIOV_VF_BAR0 0x24

NTSTATUS
pf_hw_bind(struct pf_hw *hw, void *wdf_device)
{
    NTSTATUS st;

    memset(hw, 0, sizeof(*hw));
    st = WdfFdoQueryForInterface((WDFDEVICE)wdf_device, &GUID_PCIVIRT_BUS_INTERFACE, (PINTERFACE)&hw->bus,
                                 (USHORT)sizeof(hw->bus), PCIVIRT_BUS_INTERFACE_VERSION, NULL);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    hw->bound = true;
    /* Append-only table (pcivirt/bus.h): version 1 is enough; later members are checked by Size. */
    if (hw->bus.Size < PCIVIRT_BUS_INTERFACE_V1_SIZE || hw->bus.config_read == NULL || hw->bus.config_write == NULL ||
        hw->bus.mmio_read == NULL || hw->bus.mmio_write == NULL || hw->bus.query_resources == NULL) {
        pf_hw_unbind(hw);
        return STATUS_REVISION_MISMATCH;
    }
    return STATUS_SUCCESS;
}

void
pf_hw_unbind(struct pf_hw *hw)
{
    if (hw->bound && hw->bus.InterfaceDereference != NULL) {
        hw->bus.InterfaceDereference(hw->bus.Context);
    }
    hw->bound = false;
}

static int
pf_cfg(const struct pf_hw *hw, uint16_t off, void *data, uint32_t len)
{
    return hw->bus.config_read(hw->bus.Context, hw->res.pf_rid, off, data, len);
}

static uint16_t
pf_cfg16(const struct pf_hw *hw, uint16_t off)
{
    uint8_t b[2] = {0xFF, 0xFF};

    pf_cfg(hw, off, b, 2);
    return le16_get(b);
}

/* Walk the PF's extended capabilities (bounded) for SR-IOV. */
static uint16_t
find_sriov(const struct pf_hw *hw)
{
    uint16_t off = 0x100;

    for (unsigned budget = (4096 - 256) / 4; budget > 0 && off >= 0x100; budget--) {
        uint8_t b[4];
        uint32_t h;

        if (pf_cfg(hw, off, b, 4) != 0) {
            return 0;
        }
        h = le32_get(b);
        if (h == 0 || h == 0xFFFFFFFF) {
            return 0;
        }
        if ((h & 0xFFFF) == ECAP_SRIOV) {
            return off;
        }
        off = (uint16_t)((h >> 20) & 0xFFC);
    }
    return 0;
}

static NTSTATUS
enable_vfs(struct pf_hw *hw, uint16_t requested)
{
    uint16_t ctrl = pf_cfg16(hw, hw->sriov + SRIOV_CTRL);
    uint16_t initial = pf_cfg16(hw, hw->sriov + SRIOV_INITIAL_VFS);
    uint16_t n = requested != 0 ? requested : (initial != 0 ? initial : hw->total_vfs);
    uint8_t b[2];
    int rc;

    if (ctrl & SRIOV_CTRL_VFE) {
        return STATUS_SUCCESS; /* already enabled (by the bus or a previous start) */
    }
    if (n == 0 || n > hw->total_vfs) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    le16_put(b, n);
    rc = hw->bus.config_write(hw->bus.Context, hw->res.pf_rid, hw->sriov + SRIOV_NUM_VFS, b, 2);
    le16_put(b, (uint16_t)(ctrl | SRIOV_CTRL_VFE | SRIOV_CTRL_MSE));
    rc = rc != 0 ? rc : hw->bus.config_write(hw->bus.Context, hw->res.pf_rid, hw->sriov + SRIOV_CTRL, b, 2);
    if (rc == PCIVIRT_ENOMEM) {
        return STATUS_INSUFFICIENT_RESOURCES; /* the bus could not build the VFs: say so, not "bad state" */
    }
    return (pf_cfg16(hw, hw->sriov + SRIOV_CTRL) & SRIOV_CTRL_VFE) ? STATUS_SUCCESS : STATUS_INVALID_DEVICE_STATE;
}

static void
read_vf_bars(struct pf_hw *hw)
{
    for (unsigned i = 0; i < 6; i++) {
        uint8_t b[4];
        ULONGLONG len = RtlCmDecodeMemIoResource(&hw->res.vf_bar[i], NULL);

        pf_cfg(hw, (uint16_t)(hw->sriov + SRIOV_VF_BAR0 + 4 * i), b, 4);
        hw->vf_bar_regs[i] = le32_get(b);
        hw->vf_bar_size[i] = hw->num_vfs != 0 && len % hw->num_vfs == 0 ? len / hw->num_vfs : 0;
    }
}

NTSTATUS
pf_hw_start(struct pf_hw *hw, uint16_t requested)
{
    NTSTATUS st;
    uint8_t b[4];

    if (!hw->bound) {
        return STATUS_DEVICE_NOT_READY;
    }
    /* The PF's routing ID comes with the resources; read them first for it. */
    if (hw->bus.query_resources(hw->bus.Context, &hw->res) != 0) {
        return STATUS_DEVICE_NOT_READY;
    }
    hw->vendor_id = pf_cfg16(hw, 0x00);
    hw->sriov = find_sriov(hw);
    if (hw->sriov == 0) {
        return STATUS_NOT_SUPPORTED;
    }
    hw->total_vfs = pf_cfg16(hw, hw->sriov + SRIOV_TOTAL_VFS);
    st = enable_vfs(hw, requested);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    hw->num_vfs = pf_cfg16(hw, hw->sriov + SRIOV_NUM_VFS);
    /*
     * First VF Offset and VF Stride are functions of NumVFs and ARI Capable
     * Hierarchy (PCIe 6.0 9.3.3.9, 9.3.3.10), which this driver set just now and
     * never changes until the next start: read them with NumVFs, once, rather
     * than twice per guest config access (docs/PERFORMANCE.md, benchmark 1).
     */
    hw->vf_offset = pf_cfg16(hw, hw->sriov + SRIOV_VF_OFFSET);
    hw->vf_stride = pf_cfg16(hw, hw->sriov + SRIOV_VF_STRIDE);
    hw->vf_device_id = pf_cfg16(hw, hw->sriov + SRIOV_VF_DID);
    if (hw->num_vfs == 0 || hw->bus.query_resources(hw->bus.Context, &hw->res) != 0) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    read_vf_bars(hw);
    hw->swdev =
        hw->bus.mmio_read(hw->bus.Context, hw->res.pf_rid, 0, SWPF_REG_ID, b, 4) == 0 && le32_get(b) == SWPF_ID_MAGIC;
    return STATUS_SUCCESS;
}

int
pf_hw_vf_rid(const struct pf_hw *hw, uint16_t vf, uint16_t *rid)
{
    uint32_t r;

    if (vf >= hw->num_vfs) {
        return PCIVIRT_ERANGE;
    }
    /* The SR-IOV formula (device-model.md 5.1) with the offset and stride read at start. */
    r = (uint32_t)hw->res.pf_rid + hw->vf_offset + (uint32_t)vf * hw->vf_stride;
    if (r > 0xFFFF) {
        return PCIVIRT_ERANGE;
    }
    *rid = (uint16_t)r;
    return 0;
}

int
pf_hw_vf_config_read(void *ctx, uint16_t vf, uint16_t offset, void *data, uint32_t length)
{
    const struct pf_hw *hw = ctx;
    uint16_t rid;
    int rc = pf_hw_vf_rid(hw, vf, &rid);

    return rc != 0 ? rc : hw->bus.config_read(hw->bus.Context, rid, offset, data, length);
}

int
pf_hw_vf_config_write(void *ctx, uint16_t vf, uint16_t offset, const void *data, uint32_t length)
{
    const struct pf_hw *hw = ctx;
    uint16_t rid;
    int rc = pf_hw_vf_rid(hw, vf, &rid);

    return rc != 0 ? rc : hw->bus.config_write(hw->bus.Context, rid, offset, data, length);
}

int
pf_hw_vf_reset(void *ctx, uint16_t vf)
{
    const struct pf_hw *hw = ctx;
    uint16_t rid;
    int rc = pf_hw_vf_rid(hw, vf, &rid);

    if (rc != 0) {
        return rc;
    }
    return hw->bus.function_reset != NULL ? hw->bus.function_reset(hw->bus.Context, rid) : PCIVIRT_ENOTSUP;
}

int
pf_hw_vf_mmio(const struct pf_hw *hw, uint16_t vf, bool read, unsigned bar, uint64_t offset, void *data,
              uint32_t length)
{
    uint16_t rid;
    int rc = pf_hw_vf_rid(hw, vf, &rid);

    if (rc != 0) {
        return rc;
    }
    return read ? hw->bus.mmio_read(hw->bus.Context, rid, bar, offset, data, length)
                : hw->bus.mmio_write(hw->bus.Context, rid, bar, offset, data, length);
}

static int
pf_bar0_write32(const struct pf_hw *hw, uint64_t off, uint32_t v)
{
    uint8_t b[4];

    le32_put(b, v);
    return hw->bus.mmio_write(hw->bus.Context, hw->res.pf_rid, 0, off, b, 4);
}

static int
pf_bar0_read32(const struct pf_hw *hw, uint64_t off, uint32_t *v)
{
    uint8_t b[4];
    int rc = hw->bus.mmio_read(hw->bus.Context, hw->res.pf_rid, 0, off, b, 4);

    *v = le32_get(b);
    return rc;
}

int
pf_hw_set_vf_settings(const struct pf_hw *hw, uint16_t vf, const uint8_t mac[6], uint32_t queue_limit,
                      uint32_t rate_limit)
{
    uint64_t e = SWPF_VF_TABLE + (uint64_t)vf * SWPF_VF_ENTRY_SIZE;
    int rc;

    if (!hw->swdev) {
        return PCIVIRT_ENOTSUP;
    }
    if (vf >= hw->num_vfs) {
        return PCIVIRT_ERANGE;
    }
    rc = pf_bar0_write32(hw, e + SWPF_VF_MAC_LO, le32_get(mac));
    if (rc == 0) {
        rc = pf_bar0_write32(hw, e + SWPF_VF_MAC_HI, le16_get(mac + 4));
    }
    if (rc == 0 && queue_limit != 0) {
        rc = pf_bar0_write32(hw, e + SWPF_VF_QUEUE_LIMIT, queue_limit);
    }
    if (rc == 0 && rate_limit != 0) {
        rc = pf_bar0_write32(hw, e + SWPF_VF_RATE_LIMIT, rate_limit);
    }
    return rc;
}

int
pf_hw_get_vf_settings(const struct pf_hw *hw, uint16_t vf, uint8_t mac[6], uint32_t *queue_limit, uint32_t *rate_limit)
{
    uint64_t e = SWPF_VF_TABLE + (uint64_t)vf * SWPF_VF_ENTRY_SIZE;
    uint32_t lo = 0, hi = 0;
    int rc;

    if (!hw->swdev) {
        return PCIVIRT_ENOTSUP;
    }
    if (vf >= hw->num_vfs) {
        return PCIVIRT_ERANGE;
    }
    rc = pf_bar0_read32(hw, e + SWPF_VF_MAC_LO, &lo);
    rc = rc != 0 ? rc : pf_bar0_read32(hw, e + SWPF_VF_MAC_HI, &hi);
    rc = rc != 0 ? rc : pf_bar0_read32(hw, e + SWPF_VF_QUEUE_LIMIT, queue_limit);
    rc = rc != 0 ? rc : pf_bar0_read32(hw, e + SWPF_VF_RATE_LIMIT, rate_limit);
    le32_put(mac, lo);
    le16_put(mac + 4, (uint16_t)hi);
    return rc;
}
