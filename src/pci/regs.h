/*
 * pci/regs.h - register offsets and bit values of PCI/PCIe config space.
 *
 * One flat list of numbers, named after the register, so that every other file
 * spells a register the same way and a reader can check each value against the
 * PCIe Base Specification (chapter 7 header and capability structures, chapter 9
 * SR-IOV) or ../shared/spec/device-model.md.  Offsets inside a capability are
 * relative to the capability's start.  Values only: no structs, no bitfields
 * (../shared/STYLE.md rule 4) - registers are accessed with util/le.h.
 */
#ifndef PCIVIRT_PCI_REGS_H
#define PCIVIRT_PCI_REGS_H

/* ---- config space sizes ------------------------------------------------------- */
#define PCI_CFG_SIZE_COMPAT 64u    /* the part every header type shares (and lspci -x) */
#define PCI_CFG_SIZE 256u          /* conventional PCI config space */
#define PCI_CFG_SIZE_EXT 4096u     /* PCIe extended config space */
#define PCI_CAP_MIN_OFFSET 0x40u   /* first byte a standard capability may use */
#define PCI_ECAP_MIN_OFFSET 0x100u /* first byte an extended capability may use */

/* ---- the common header (PCI Local Bus 3.0 6.1; PCIe Base 7.5.1.1) -------------- */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS 0x06
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_STATUS_PARITY 0x0100 /* Master Data Parity Error, RW1C */
#define PCI_STATUS_SIG_TARGET_ABORT 0x0800
#define PCI_STATUS_REC_TARGET_ABORT 0x1000
#define PCI_STATUS_REC_MASTER_ABORT 0x2000
#define PCI_STATUS_SIG_SYSTEM_ERROR 0x4000
#define PCI_STATUS_DETECTED_PARITY 0x8000
#define PCI_STATUS_W1C 0xf900 /* the RW1C error bits above */
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a /* sub-class (0x0a) and base class (0x0b) */
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_HEADER_TYPE_MASK 0x7f
#define PCI_HEADER_TYPE_NORMAL 0x00
#define PCI_HEADER_TYPE_BRIDGE 0x01
#define PCI_HEADER_TYPE_CARDBUS 0x02
#define PCI_HEADER_TYPE_MULTIFUNC 0x80
#define PCI_BIST 0x0f

/* Type 0 header. */
#define PCI_BASE_ADDRESS_0 0x10 /* BARn at 0x10 + 4n, n = 0..5 */
#define PCI_BASE_ADDRESS_SPACE_IO 0x01
#define PCI_BASE_ADDRESS_MEM_TYPE_MASK 0x06 /* bits 2:1: 00 32-bit, 10 64-bit, 01 and 11 reserved */
#define PCI_BASE_ADDRESS_MEM_TYPE_32 0x00
#define PCI_BASE_ADDRESS_MEM_TYPE_64 0x04
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x08
#define PCI_BASE_ADDRESS_MEM_MASK 0xfffffff0u
#define PCI_BASE_ADDRESS_IO_MASK 0xfffffffcu
#define PCI_CARDBUS_CIS 0x28
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_ROM_ADDRESS_ENABLE 0x01
#define PCI_ROM_ADDRESS_MASK 0xfffff800u
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CB_CAPABILITY_LIST 0x14 /* CardBus (type 2) headers keep it here */
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_MIN_GNT 0x3e
#define PCI_MAX_LAT 0x3f

/* Type 1 (bridge) header, as far as the survey needs it. */
#define PCI_PRIMARY_BUS 0x18
#define PCI_SECONDARY_BUS 0x19
#define PCI_SUBORDINATE_BUS 0x1a
#define PCI_BRIDGE_ROM_ADDRESS 0x38

/* ---- standard capability IDs and the list header ------------------------------ */
#define PCI_CAP_LIST_ID 0x00
#define PCI_CAP_LIST_NEXT 0x01
#define PCI_CAP_ID_PM 0x01
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_PCIX 0x07
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_EXP 0x10
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_EA 0x14

/* ---- Power Management (PCI PM 1.2; PCIe Base 7.5.2) --------------------------- */
#define PCI_PM_PMC 0x02
#define PCI_PM_PMC_VERSION_MASK 0x0007
#define PCI_PM_PMC_D1 0x0200
#define PCI_PM_PMC_D2 0x0400
#define PCI_PM_PMC_PME_SHIFT 11 /* PME support for D0, D1, D2, D3hot, D3cold: bits 15:11 */
#define PCI_PM_CTRL 0x04        /* PMCSR */
#define PCI_PM_CTRL_STATE_MASK 0x0003
#define PCI_PM_CTRL_NO_SOFT_RESET 0x0008
#define PCI_PM_CTRL_PME_ENABLE 0x0100
#define PCI_PM_CTRL_DATA_SEL_MASK 0x1e00
#define PCI_PM_CTRL_DATA_SCALE_MASK 0x6000
#define PCI_PM_CTRL_PME_STATUS 0x8000
#define PCI_PM_DATA 0x07
#define PCI_PM_SIZEOF 8
#define PCI_D0 0
#define PCI_D1 1
#define PCI_D2 2
#define PCI_D3HOT 3

/* ---- MSI (PCIe Base 7.7.1) ----------------------------------------------------- */
#define PCI_MSI_FLAGS 0x02
#define PCI_MSI_FLAGS_ENABLE 0x0001
#define PCI_MSI_FLAGS_QMASK 0x000e /* Multiple Message Capable, log2 */
#define PCI_MSI_FLAGS_QSIZE 0x0070 /* Multiple Message Enable, log2 */
#define PCI_MSI_FLAGS_64BIT 0x0080
#define PCI_MSI_FLAGS_MASKBIT 0x0100
#define PCI_MSI_ADDRESS_LO 0x04
#define PCI_MSI_ADDRESS_HI 0x08 /* 64-bit only */
#define PCI_MSI_DATA_32 0x08
#define PCI_MSI_DATA_64 0x0c
#define PCI_MSI_MASK_32 0x0c
#define PCI_MSI_MASK_64 0x10
#define PCI_MSI_PENDING_32 0x10
#define PCI_MSI_PENDING_64 0x14

/* ---- MSI-X (PCIe Base 7.7.2) --------------------------------------------------- */
#define PCI_MSIX_FLAGS 0x02
#define PCI_MSIX_FLAGS_QSIZE 0x07ff /* Table Size - 1 */
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE 0x04 /* BIR in bits 2:0, offset in 31:3 */
#define PCI_MSIX_PBA 0x08
#define PCI_MSIX_BIR_MASK 0x00000007u
#define PCI_MSIX_SIZEOF 12
#define PCI_MSIX_ENTRY_SIZE 16 /* table entry: addr lo, addr hi, data, vector control */
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1

/* ---- vendor-specific (PCI 3.0 6.8) ------------------------------------------- */
#define PCI_VNDR_LEN 0x02 /* byte: length of the whole capability */

/* ---- PCI Express capability (PCIe Base 7.5.3) ---------------------------------- */
#define PCI_EXP_FLAGS 0x02
#define PCI_EXP_FLAGS_VERS 0x000f
#define PCI_EXP_FLAGS_TYPE 0x00f0
#define PCI_EXP_FLAGS_TYPE_SHIFT 4
#define PCI_EXP_TYPE_ENDPOINT 0x0
#define PCI_EXP_TYPE_LEG_END 0x1
#define PCI_EXP_TYPE_ROOT_PORT 0x4
#define PCI_EXP_TYPE_UPSTREAM 0x5
#define PCI_EXP_TYPE_DOWNSTREAM 0x6
#define PCI_EXP_TYPE_PCI_BRIDGE 0x7
#define PCI_EXP_TYPE_PCIE_BRIDGE 0x8
#define PCI_EXP_TYPE_RC_END 0x9
#define PCI_EXP_TYPE_RC_EC 0xa
#define PCI_EXP_FLAGS_SLOT 0x0100
#define PCI_EXP_DEVCAP 0x04
#define PCI_EXP_DEVCAP_PAYLOAD 0x00000007u
#define PCI_EXP_DEVCAP_PHANTOM 0x00000018u
#define PCI_EXP_DEVCAP_EXT_TAG 0x00000020u
#define PCI_EXP_DEVCAP_RBER 0x00008000u
#define PCI_EXP_DEVCAP_FLR 0x10000000u /* Function Level Reset Capability, bit 28 */
#define PCI_EXP_DEVCTL 0x08
#define PCI_EXP_DEVCTL_CERE 0x0001
#define PCI_EXP_DEVCTL_NFERE 0x0002
#define PCI_EXP_DEVCTL_FERE 0x0004
#define PCI_EXP_DEVCTL_URRE 0x0008
#define PCI_EXP_DEVCTL_RELAX_EN 0x0010
#define PCI_EXP_DEVCTL_PAYLOAD 0x00e0
#define PCI_EXP_DEVCTL_EXT_TAG 0x0100
#define PCI_EXP_DEVCTL_PHANTOM 0x0200
#define PCI_EXP_DEVCTL_AUX_PME 0x0400
#define PCI_EXP_DEVCTL_NOSNOOP_EN 0x0800
#define PCI_EXP_DEVCTL_READRQ 0x7000
#define PCI_EXP_DEVCTL_BCR_FLR 0x8000 /* Initiate Function Level Reset, reads 0 */
#define PCI_EXP_DEVSTA 0x0a
#define PCI_EXP_DEVSTA_CED 0x0001
#define PCI_EXP_DEVSTA_NFED 0x0002
#define PCI_EXP_DEVSTA_FED 0x0004
#define PCI_EXP_DEVSTA_URD 0x0008
#define PCI_EXP_DEVSTA_W1C 0x000f
#define PCI_EXP_DEVSTA_AUXPD 0x0010
#define PCI_EXP_DEVSTA_TRPND 0x0020
#define PCI_EXP_LNKCAP 0x0c
#define PCI_EXP_LNKCAP_SLS 0x0000000fu
#define PCI_EXP_LNKCAP_MLW 0x000003f0u
#define PCI_EXP_LNKCTL 0x10
#define PCI_EXP_LNKSTA 0x12
#define PCI_EXP_LNKSTA_CLS 0x000f
#define PCI_EXP_LNKSTA_NLW 0x03f0
#define PCI_EXP_SLTCAP 0x14
#define PCI_EXP_SLTCTL 0x18
#define PCI_EXP_SLTSTA 0x1a
#define PCI_EXP_RTCTL 0x1c
#define PCI_EXP_RTCAP 0x1e
#define PCI_EXP_RTSTA 0x20
#define PCI_EXP_DEVCAP2 0x24
#define PCI_EXP_DEVCAP2_COMP_TMOUT_DIS 0x00000010u
#define PCI_EXP_DEVCAP2_ARI 0x00000020u /* ARI Forwarding Supported (downstream ports) */
#define PCI_EXP_DEVCTL2 0x28
#define PCI_EXP_DEVCTL2_COMP_TIMEOUT 0x000f
#define PCI_EXP_DEVCTL2_COMP_TMOUT_DIS 0x0010
#define PCI_EXP_DEVCTL2_ARI 0x0020 /* ARI Forwarding Enable */
#define PCI_EXP_DEVSTA2 0x2a
#define PCI_EXP_LNKCAP2 0x2c
#define PCI_EXP_LNKCTL2 0x30
#define PCI_EXP_LNKSTA2 0x32
#define PCI_EXP_SLTCAP2 0x34
#define PCI_EXP_SLTCTL2 0x38
#define PCI_EXP_SLTSTA2 0x3a
#define PCI_EXP_SIZEOF_V1 0x24 /* through Root Status (v1 structures) */
#define PCI_EXP_SIZEOF_V2 0x3c /* through Slot Status 2 (version 2) */

/* ---- extended capability header (PCIe Base 7.6.3) ------------------------------ */
#define PCI_ECAP_ID(hdr) ((hdr)&0xffffu)
#define PCI_ECAP_VER(hdr) (((hdr) >> 16) & 0xfu)
#define PCI_ECAP_NEXT(hdr) (((hdr) >> 20) & 0xfffu)
#define PCI_ECAP_HDR(id, ver, next) ((uint32_t)(id) | ((uint32_t)(ver) << 16) | ((uint32_t)(next) << 20))
#define PCI_ECAP_ID_ERR 0x0001
#define PCI_ECAP_ID_VC 0x0002
#define PCI_ECAP_ID_DSN 0x0003
#define PCI_ECAP_ID_VNDR 0x000b
#define PCI_ECAP_ID_ACS 0x000d
#define PCI_ECAP_ID_ARI 0x000e
#define PCI_ECAP_ID_ATS 0x000f
#define PCI_ECAP_ID_SRIOV 0x0010

/* ---- AER (PCIe Base 7.8.4; device-model.md 2.4) --------------------------------- */
#define PCI_ERR_UNCOR_STATUS 0x04
#define PCI_ERR_UNCOR_MASK 0x08
#define PCI_ERR_UNCOR_SEVER 0x0c
#define PCI_ERR_COR_STATUS 0x10
#define PCI_ERR_COR_MASK 0x14
#define PCI_ERR_CAP 0x18
#define PCI_ERR_CAP_FEP_MASK 0x0000001fu
#define PCI_ERR_CAP_ECRC_GENC 0x00000020u
#define PCI_ERR_CAP_ECRC_GENE 0x00000040u
#define PCI_ERR_CAP_ECRC_CHKC 0x00000080u
#define PCI_ERR_CAP_ECRC_CHKE 0x00000100u
#define PCI_ERR_HEADER_LOG 0x1c
#define PCI_ERR_ROOT_COMMAND 0x2c
#define PCI_ERR_ROOT_STATUS 0x30
#define PCI_ERR_ROOT_ERR_SRC 0x34
#define PCI_ERR_TLP_PREFIX_LOG 0x38
#define PCI_ERR_SIZEOF 0x48
#define PCI_ERR_UNC_SUPPORTED 0x03ff3030u /* DLP, SDES, PTLP..UR, ACSV, UIE, MBTLP, AOE, TPBE */
#define PCI_ERR_COR_SUPPORTED 0x0000f1c1u /* RxErr, BadTLP, BadDLLP, Rollover, Timeout, NonFatal, IntErr, HLO */

/* ---- Device Serial Number (PCIe Base 7.9.3) ------------------------------------ */
#define PCI_DSN_LOW 0x04
#define PCI_DSN_HIGH 0x08
#define PCI_DSN_SIZEOF 0x0c

/* ---- ACS (PCIe Base 7.7.8; device-model.md 2.2) --------------------------------- */
#define PCI_ACS_CAP 0x04
#define PCI_ACS_CTRL 0x06
#define PCI_ACS_EGRESS_VECTOR 0x08
#define PCI_ACS_SV 0x0001
#define PCI_ACS_TB 0x0002
#define PCI_ACS_RR 0x0004
#define PCI_ACS_CR 0x0008
#define PCI_ACS_UF 0x0010
#define PCI_ACS_EC 0x0020
#define PCI_ACS_DT 0x0040
#define PCI_ACS_FLAGS 0x007f
#define PCI_ACS_EGRESS_BITS_SHIFT 8 /* Egress Control Vector Size, bits 15:8 */
#define PCI_ACS_SIZEOF 0x08

/* ---- ARI (PCIe Base 7.8.7; device-model.md 2.1) --------------------------------- */
#define PCI_ARI_CAP 0x04
#define PCI_ARI_CAP_MFVC 0x0001
#define PCI_ARI_CAP_ACS 0x0002
#define PCI_ARI_CAP_NFN_SHIFT 8 /* Next Function Number, bits 15:8 */
#define PCI_ARI_CTRL 0x06
#define PCI_ARI_CTRL_MFVC 0x0001
#define PCI_ARI_CTRL_ACS 0x0002
#define PCI_ARI_CTRL_FG 0x0070 /* Function Group, bits 6:4 */
#define PCI_ARI_SIZEOF 0x08

/* ---- ATS (PCIe Base 10.5.1; device-model.md 2.3) -------------------------------- */
#define PCI_ATS_CAP 0x04
#define PCI_ATS_CAP_QDEP_MASK 0x001f
#define PCI_ATS_CAP_PAGE_ALIGNED 0x0020
#define PCI_ATS_CAP_GLOBAL_INV 0x0040
#define PCI_ATS_CTRL 0x06
#define PCI_ATS_CTRL_STU_MASK 0x001f
#define PCI_ATS_CTRL_ENABLE 0x8000
#define PCI_ATS_SIZEOF 0x08

/* ---- SR-IOV (PCIe Base 9.3.3; device-model.md 1.1-1.4) -------------------------- */
#define PCI_SRIOV_CAP 0x04
#define PCI_SRIOV_CAP_VFM 0x00000001u /* VF Migration Capable */
#define PCI_SRIOV_CAP_ARI_PRESERVED 0x00000002u
#define PCI_SRIOV_CAP_VF_10BIT_TAG 0x00000004u
#define PCI_SRIOV_CAP_INTR_SHIFT 21 /* VF Migration Interrupt Message Number */
#define PCI_SRIOV_CTRL 0x08
#define PCI_SRIOV_CTRL_VFE 0x0001  /* VF Enable */
#define PCI_SRIOV_CTRL_VFM 0x0002  /* VF Migration Enable */
#define PCI_SRIOV_CTRL_INTR 0x0004 /* VF Migration Interrupt Enable */
#define PCI_SRIOV_CTRL_MSE 0x0008  /* VF Memory Space Enable */
#define PCI_SRIOV_CTRL_ARI 0x0010  /* ARI Capable Hierarchy */
#define PCI_SRIOV_CTRL_VF_10BIT_TAG 0x0020
#define PCI_SRIOV_STATUS 0x0a
#define PCI_SRIOV_STATUS_VFM 0x0001 /* VF Migration Status, RW1C */
#define PCI_SRIOV_INITIAL_VF 0x0c
#define PCI_SRIOV_TOTAL_VF 0x0e
#define PCI_SRIOV_NUM_VF 0x10
#define PCI_SRIOV_FUNC_LINK 0x12
#define PCI_SRIOV_VF_OFFSET 0x14
#define PCI_SRIOV_VF_STRIDE 0x16
#define PCI_SRIOV_VF_DID 0x1a
#define PCI_SRIOV_SUP_PGSIZE 0x1c
#define PCI_SRIOV_SYS_PGSIZE 0x20
#define PCI_SRIOV_BAR 0x24 /* VF BARn at 0x24 + 4n */
#define PCI_SRIOV_VFM 0x3c /* VF Migration State Array Offset */
#define PCI_SRIOV_SIZEOF 0x40
#define PCI_SRIOV_SUP_PGSIZE_MINREQ 0x00000553u /* 4K 8K 64K 256K 1M 4M (device-model.md 1.1) */
#define PCI_SRIOV_NUM_BARS 6

#endif /* PCIVIRT_PCI_REGS_H */
