/*
 * dev/regs.h - the register map behind the software SR-IOV device's BARs.
 *
 * This header is the contract between the device model and the drivers written
 * against it: the guest's sample VF driver (VF BAR0, MSI-X in the VF MSI-X BAR)
 * and the reference PF driver (PF BAR0 per-VF settings, the privileged page it
 * traps).  Constants only, so layers above may include it without touching the
 * device's internals.  docs/DEVICE.md describes each register in prose.
 *
 * All registers are 32-bit little-endian; 1-, 2- and 8-byte accesses read or
 * write the covered bytes of the 32-bit registers (an 8-byte access is two
 * dword accesses, low first).  Unlisted offsets read 0 and ignore writes.
 */
#ifndef PCIVIRT_DEV_REGS_H
#define PCIVIRT_DEV_REGS_H

/* ---- VF BAR0: identification, scratch, DMA engine (page 0) ---------------- */
#define SWVF_REG_ID 0x0000        /* RO: SWVF_ID_MAGIC */
#define SWVF_ID_MAGIC 0x31465650u /* "PVF1" in memory order */
#define SWVF_REG_VERSION 0x0004   /* RO: register-map version, 0x00010000 */
#define SWVF_VERSION 0x00010000u
#define SWVF_REG_VF_INDEX 0x0008     /* RO: zero-based VF index within its PF */
#define SWVF_REG_IDS 0x000c          /* RO: PF Vendor ID (15:0) | VF Device ID (31:16) */
#define SWVF_REG_SCRATCH 0x0010      /* RW: free for the driver; 0 after FLR */
#define SWVF_REG_MAC_LO 0x0018       /* RO: MAC bytes 0..3 as the PF assigned them */
#define SWVF_REG_MAC_HI 0x001c       /* RO: MAC bytes 4..5 in bits 15:0 */
#define SWVF_REG_MSIX_VECTORS 0x0020 /* RO: number of MSI-X vectors */

#define SWVF_REG_DMA_SRC_LO 0x0100 /* RW: source IOVA (guest address), low/high */
#define SWVF_REG_DMA_SRC_HI 0x0104
#define SWVF_REG_DMA_DST_LO 0x0108 /* RW: destination IOVA */
#define SWVF_REG_DMA_DST_HI 0x010c
#define SWVF_REG_DMA_LEN 0x0110      /* RW: bytes to copy, 1..SWVF_DMA_MAX_LEN */
#define SWVF_REG_DMA_CTRL 0x0114     /* RW: see SWVF_DMA_CTRL_* */
#define SWVF_REG_DMA_DOORBELL 0x0118 /* WO: write SWVF_DMA_GO to start; reads 0 */
#define SWVF_REG_DMA_STATUS 0x011c   /* RW1C: see SWVF_DMA_STS_* */
#define SWVF_REG_DMA_FAULT_LO 0x0120 /* RO: IOVA of the last fault */
#define SWVF_REG_DMA_FAULT_HI 0x0124
#define SWVF_REG_DMA_COUNT 0x0128 /* RO: transfers completed since the last reset */

#define SWVF_DMA_MAX_LEN 0x10000u /* 64 KiB per doorbell */
#define SWVF_DMA_GO 0x1u
#define SWVF_DMA_CTRL_IRQ 0x1u /* raise MSI-X vector (bits 15:8) when the transfer ends */
#define SWVF_DMA_CTRL_VECTOR_SHIFT 8
#define SWVF_DMA_CTRL_VECTOR_MASK 0xff00u
#define SWVF_DMA_CTRL_MASK 0xff01u    /* writable bits */
#define SWVF_DMA_STS_DONE 0x1u        /* RW1C: the last transfer completed */
#define SWVF_DMA_STS_FAULT 0x2u       /* RW1C: the DMA port refused an access (IOMMU fault) */
#define SWVF_DMA_STS_BADLEN 0x4u      /* RW1C: the doorbell rang with a length of 0 or > max */
#define SWVF_DMA_STS_NOMASTER 0x8u    /* RW1C: the doorbell rang while Bus Master Enable was 0 */
#define SWVF_DMA_STS_BUSY 0x80000000u /* RO: a transfer is in flight */
#define SWVF_DMA_STS_W1C 0xfu

/* ---- VF BAR0 page 1: privileged registers (the PF traps this page) -------- */
#define SWVF_PRIV_PAGE 0x1000
#define SWVF_PRIV_PAGE_SIZE 0x1000
#define SWVF_REG_PRIV_QUEUES 0x1000  /* RW: queue pairs in use; the device clamps to the PF's limit */
#define SWVF_REG_PRIV_RATE 0x1004    /* RW: transmit rate in Mbit/s; clamped to the PF's limit */
#define SWVF_REG_PRIV_CLAMPED 0x1008 /* RO: writes the device had to clamp since the last reset */

#define SWVF_REGS_SIZE 0x2000 /* bytes of VF BAR0 used by the register file */

/* ---- VF MSI-X (default profile: VF BAR3, like the 82599) ----------------- */
#define SWVF_MSIX_TABLE_OFFSET 0x0000
#define SWVF_MSIX_PBA_OFFSET 0x2000
#define SWVF_MSIX_ENTRY_SIZE 16    /* addr lo, addr hi, data, vector control */
#define SWVF_MSIX_CTRL_MASKED 0x1u /* vector control bit 0 */
#define SWVF_MSIX_VECTORS_DEFAULT 3

/* ---- PF BAR0: identity and per-VF settings ------------------------------- */
#define SWPF_REG_ID 0x0000            /* RO: SWPF_ID_MAGIC */
#define SWPF_ID_MAGIC 0x31465056u     /* "VPF1" in memory order */
#define SWPF_REG_VERSION 0x0004       /* RO: 0x00010000 */
#define SWPF_REG_TOTAL_VFS 0x0008     /* RO: TotalVFs */
#define SWPF_REG_VF_ENTRY_SIZE 0x000c /* RO: SWPF_VF_ENTRY_SIZE */
#define SWPF_REG_SCRATCH 0x0010       /* RW */

#define SWPF_VF_TABLE 0x1000 /* per-VF settings, one entry per VF up to TotalVFs */
#define SWPF_VF_ENTRY_SIZE 0x20
#define SWPF_VF_MAC_LO 0x00      /* RW: MAC bytes 0..3 */
#define SWPF_VF_MAC_HI 0x04      /* RW: MAC bytes 4..5 in bits 15:0 */
#define SWPF_VF_QUEUE_LIMIT 0x08 /* RW: highest PRIV_QUEUES value the VF may use (default 8) */
#define SWPF_VF_RATE_LIMIT 0x0c  /* RW: highest PRIV_RATE value in Mbit/s (default 10000) */
#define SWPF_VF_CLAMPED 0x10     /* RO: mirror of the VF's PRIV_CLAMPED counter */

#define SWPF_QUEUE_LIMIT_DEFAULT 8u
#define SWPF_RATE_LIMIT_DEFAULT 10000u

#endif /* PCIVIRT_DEV_REGS_H */
