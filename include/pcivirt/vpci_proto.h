/*
 * pcivirt/vpci_proto.h - the wire format of the Hyper-V PCI pass-through channel.
 *
 * A guest's virtual PCI bus talks to the virtualization stack over one VMBus
 * channel of class {44C4F61D-4444-4400-9D52-802E27EDE19F} (contract.md 8.1).  Every
 * packet is a 16-byte VMBus descriptor followed by a payload padded to 8 bytes
 * (8.2); the payload of an in-band packet starts with a 32-bit message id from
 * PCI_MESSAGE_BASE (8.3), a completion's payload with a 32-bit NTSTATUS.
 *
 * Why byte offsets and not packed structs: every layout here is given as offset
 * constants into a little-endian byte buffer, read and written only through
 * util/le.h by src/vmbus's encoders and decoders.  A packed struct would invite
 * pointer casts into received bytes (unaligned, host-endian, and trusting the
 * length), which is exactly what a hostile peer exploits (../shared/STYLE.md
 * rule 4).  The constants are static-asserted below to be contiguous and to add up
 * to the sizes in contract.md 8.3 and Appendix B; tests/vmbus/test_layout.c checks
 * them again against the contract's written offsets.
 *
 * Names follow Linux's pci-hyperv (the contract's primary names); layouts the
 * contract does not give are marked "[I] pcivirt's choice" and explained in
 * docs/VPCI-PROTOCOL.md.
 */
#ifndef PCIVIRT_VPCI_PROTO_H
#define PCIVIRT_VPCI_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- VMBus packet framing (contract.md 8.1, 8.2) ------------------------------ */

#define VMBUS_PKT_DESC_SIZE 16u /* {u16 type, u16 offset8, u16 len8, u16 flags, u64 trans id} */
#define VMBUS_PKT_OFF_TYPE 0u
#define VMBUS_PKT_OFF_OFFSET8 2u /* payload offset from the packet start, in 8-byte units */
#define VMBUS_PKT_OFF_LEN8 4u    /* whole packet length (descriptor + padded payload) / 8 */
#define VMBUS_PKT_OFF_FLAGS 6u
#define VMBUS_PKT_OFF_TRANS_ID 8u
#define VMBUS_PKT_ALIGN 8u /* payloads are padded to 8 bytes */

#define VMBUS_PKT_TYPE_INBAND 6u      /* VM_PKT_DATA_INBAND */
#define VMBUS_PKT_TYPE_COMPLETION 11u /* VM_PKT_COMP */
#define VMBUS_PKT_FLAG_COMPLETION_REQUESTED 1u

#define VMBUS_RING_SIZE (16u * 1024u) /* per direction, as current Linux (8.1) */
/* Ring cost of a packet: its padded length plus the 8-byte trailer VMBus keeps after it. */
#define VMBUS_RING_TRAILER 8u
/* The largest packet one ring of VMBUS_RING_SIZE bytes can carry. */
#define VMBUS_PKT_MAX (VMBUS_RING_SIZE - VMBUS_RING_TRAILER)

/* ---- message ids (contract.md 8.3) -------------------------------------------- */

#define PCI_MESSAGE_BASE 0x42490000u
#define PCI_BUS_RELATIONS (PCI_MESSAGE_BASE + 0x00u)
#define PCI_QUERY_BUS_RELATIONS (PCI_MESSAGE_BASE + 0x01u)
#define PCI_INVALIDATE_DEVICE (PCI_MESSAGE_BASE + 0x02u) /* OpenVMM name only; unused */
#define PCI_INVALIDATE_BUS (PCI_MESSAGE_BASE + 0x03u)    /* OpenVMM name only; unused */
#define PCI_POWER_STATE_CHANGE (PCI_MESSAGE_BASE + 0x04u)
#define PCI_QUERY_RESOURCE_REQUIREMENTS (PCI_MESSAGE_BASE + 0x05u)
#define PCI_QUERY_RESOURCE_RESOURCES (PCI_MESSAGE_BASE + 0x06u) /* OpenVMM: GET_RESOURCES */
#define PCI_BUS_D0ENTRY (PCI_MESSAGE_BASE + 0x07u)
#define PCI_BUS_D0EXIT (PCI_MESSAGE_BASE + 0x08u)
#define PCI_READ_BLOCK (PCI_MESSAGE_BASE + 0x09u)
#define PCI_WRITE_BLOCK (PCI_MESSAGE_BASE + 0x0Au)
#define PCI_EJECT (PCI_MESSAGE_BASE + 0x0Bu)
#define PCI_QUERY_STOP (PCI_MESSAGE_BASE + 0x0Cu)
#define PCI_REENABLE (PCI_MESSAGE_BASE + 0x0Du)
#define PCI_QUERY_STOP_FAILED (PCI_MESSAGE_BASE + 0x0Eu)
#define PCI_EJECTION_COMPLETE (PCI_MESSAGE_BASE + 0x0Fu)
#define PCI_RESOURCES_ASSIGNED (PCI_MESSAGE_BASE + 0x10u)
#define PCI_RESOURCES_RELEASED (PCI_MESSAGE_BASE + 0x11u)
#define PCI_INVALIDATE_BLOCK (PCI_MESSAGE_BASE + 0x12u)
#define PCI_QUERY_PROTOCOL_VERSION (PCI_MESSAGE_BASE + 0x13u)
#define PCI_CREATE_INTERRUPT_MESSAGE (PCI_MESSAGE_BASE + 0x14u)
#define PCI_DELETE_INTERRUPT_MESSAGE (PCI_MESSAGE_BASE + 0x15u)
#define PCI_RESOURCES_ASSIGNED2 (PCI_MESSAGE_BASE + 0x16u)
#define PCI_CREATE_INTERRUPT_MESSAGE2 (PCI_MESSAGE_BASE + 0x17u)
#define PCI_DELETE_INTERRUPT_MESSAGE2 (PCI_MESSAGE_BASE + 0x18u)
#define PCI_BUS_RELATIONS2 (PCI_MESSAGE_BASE + 0x19u)
#define PCI_RESOURCES_ASSIGNED3 (PCI_MESSAGE_BASE + 0x1Au)
#define PCI_CREATE_INTERRUPT_MESSAGE3 (PCI_MESSAGE_BASE + 0x1Bu)
#define PCI_RESET_DEVICE (PCI_MESSAGE_BASE + 0x1Cu)       /* OpenVMM, protocol 1.5 */
#define PCI_VPCI_TDISP_COMMAND (PCI_MESSAGE_BASE + 0x1Du) /* OpenVMM only; unsupported here */
#define PCI_MESSAGE_LAST PCI_VPCI_TDISP_COMMAND

/* ---- protocol versions (contract.md 8.3) ---------------------------------------- */

#define PCI_MAKE_VERSION(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define PCI_PROTOCOL_VERSION_1_0 PCI_MAKE_VERSION(1, 0) /* Win8 (OpenVMM) */
#define PCI_PROTOCOL_VERSION_1_1 PCI_MAKE_VERSION(1, 1) /* Win10 */
#define PCI_PROTOCOL_VERSION_1_2 PCI_MAKE_VERSION(1, 2) /* RS1 */
#define PCI_PROTOCOL_VERSION_1_3 PCI_MAKE_VERSION(1, 3) /* Vibranium */
#define PCI_PROTOCOL_VERSION_1_4 PCI_MAKE_VERSION(1, 4) /* WS2022 "Fe" */
#define PCI_PROTOCOL_VERSION_1_5 PCI_MAKE_VERSION(1, 5) /* "GE": adds RESET_DEVICE */
#define PCI_PROTOCOL_VERSION_1_6 PCI_MAKE_VERSION(1, 6) /* "DT" */
#define PCI_PROTOCOL_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define PCI_PROTOCOL_VERSION_MINOR(v) ((uint32_t)(v)&0xFFFFu)

/* ---- slot encoding, "wslot" (contract.md 8.3) ----------------------------------- */

#define VPCI_SLOT_DEVICE_MASK 0x1Fu /* bits 0-4 */
#define VPCI_SLOT_FUNCTION_SHIFT 5u /* bits 5-7 */
#define VPCI_SLOT_FUNCTION_MASK 0x7u
#define VPCI_SLOT_RESERVED_MASK 0xFFFFFF00u /* bits 8-31 must be zero */
#define VPCI_SLOT_COUNT 256u                /* 32 devices x 8 functions */

/* vpci_slot_make() - the wslot of @device (0..31) and @function (0..7); excess bits are dropped. */
static inline uint32_t
vpci_slot_make(unsigned device, unsigned function)
{
    return (uint32_t)(device & VPCI_SLOT_DEVICE_MASK) |
           ((uint32_t)(function & VPCI_SLOT_FUNCTION_MASK) << VPCI_SLOT_FUNCTION_SHIFT);
}

/* vpci_slot_device() - bits 0-4 of @slot. */
static inline unsigned
vpci_slot_device(uint32_t slot)
{
    return slot & VPCI_SLOT_DEVICE_MASK;
}

/* vpci_slot_function() - bits 5-7 of @slot. */
static inline unsigned
vpci_slot_function(uint32_t slot)
{
    return (slot >> VPCI_SLOT_FUNCTION_SHIFT) & VPCI_SLOT_FUNCTION_MASK;
}

/* vpci_slot_valid() - true when the reserved bits 8-31 of @slot are zero. */
static inline bool
vpci_slot_valid(uint32_t slot)
{
    return (slot & VPCI_SLOT_RESERVED_MASK) == 0;
}

/* vpci_slot_to_devfn() - Linux's devfn (device << 3 | function) of a wslot. */
static inline unsigned
vpci_slot_to_devfn(uint32_t slot)
{
    return (vpci_slot_device(slot) << 3) | vpci_slot_function(slot);
}

/* ---- common message prefix ------------------------------------------------------- */

#define VPCI_MSG_OFF_TYPE 0u     /* u32 message id, every in-band message */
#define VPCI_MSG_OFF_SLOT 4u     /* u32 wslot, every per-child message */
#define VPCI_CHILD_MSG_SIZE 8u   /* {type, slot}: RESOURCES_RELEASED, EJECT, RESET_DEVICE, ... */
#define VPCI_REPLY_OFF_STATUS 0u /* s32 NTSTATUS, every completion */
#define VPCI_REPLY_STATUS_SIZE 4u

/* ---- PCI_BUS_RELATIONS / PCI_BUS_RELATIONS2 (host -> guest) ------------------------ */

#define VPCI_RELATIONS_OFF_COUNT 4u
#define VPCI_RELATIONS_OFF_DESC 8u
#define VPCI_FN_DESC_SIZE 20u  /* v1 function description */
#define VPCI_FN_DESC2_SIZE 28u /* v2: v1 + flags + NUMA node */
#define VPCI_FN_OFF_VENDOR 0u
#define VPCI_FN_OFF_DEVICE 2u
#define VPCI_FN_OFF_REVISION 4u
#define VPCI_FN_OFF_PROG_IF 5u
#define VPCI_FN_OFF_SUBCLASS 6u
#define VPCI_FN_OFF_BASE_CLASS 7u
#define VPCI_FN_OFF_SUBSYSTEM 8u /* sub-vendor in the low 16 bits, subsystem in the high 16 */
#define VPCI_FN_OFF_SLOT 12u
#define VPCI_FN_OFF_SERIAL 16u
#define VPCI_FN2_OFF_FLAGS 20u
#define VPCI_FN2_OFF_NUMA 24u
#define VPCI_FN2_OFF_RESERVED 26u
#define VPCI_FN2_FLAG_NUMA_AFFINITY 0x1u
#define VPCI_FN2_FLAGS_KNOWN VPCI_FN2_FLAG_NUMA_AFFINITY

/* ---- PCI_POWER_STATE_CHANGE (guest -> host) + reply -------------------------------- */

#define VPCI_POWER_OFF_STATE 8u /* u32, Windows numbering: D0 = 1 .. D3 = 4 */
#define VPCI_POWER_OFF_RESERVED 12u
#define VPCI_POWER_SIZE 16u
#define VPCI_POWER_MIN_SIZE 12u /* OpenVMM reads {type, slot, state} only */
#define VPCI_POWER_REPLY_OFF_SLOT 4u
#define VPCI_POWER_REPLY_OFF_STATE 8u /* resultant state */
#define VPCI_POWER_REPLY_OFF_RESERVED 12u
#define VPCI_POWER_REPLY_SIZE 16u

/* ---- PCI_QUERY_RESOURCE_REQUIREMENTS (guest -> host) + reply ------------------------- */

#define VPCI_RESREQ_SIZE 8u
#define VPCI_RESREQ_REPLY_OFF_BARS 4u /* u32 probed_bar[6]: the PF's QueryProbedBars values */
#define VPCI_BAR_COUNT 6u
#define VPCI_RESREQ_REPLY_SIZE 28u

/* ---- PCI_QUERY_RESOURCE_RESOURCES (guest -> host) + reply ----------------------------- */

#define VPCI_GETRES_OFF_RESERVED 8u /* u64 reserved[3] */
#define VPCI_GETRES_SIZE 32u
/* Reply, [I] pcivirt's choice: status, then OpenVMM's resource list {u16 version, u16 revision,
 * u32 count, six CM descriptors}. */
#define VPCI_GETRES_REPLY_OFF_VERSION 4u
#define VPCI_GETRES_REPLY_OFF_REVISION 6u
#define VPCI_GETRES_REPLY_OFF_COUNT 8u
#define VPCI_GETRES_REPLY_OFF_DESC 12u
#define VPCI_GETRES_REPLY_SIZE 132u

/* ---- CM_PARTIAL_RESOURCE_DESCRIPTOR on the wire (contract.md 1.6) -------------------- */

#define VPCI_CM_DESC_SIZE 20u
#define VPCI_CM_OFF_TYPE 0u
#define VPCI_CM_OFF_SHARE 1u
#define VPCI_CM_OFF_FLAGS 2u
#define VPCI_CM_OFF_START 4u   /* u.Memory.Start (u64) */
#define VPCI_CM_OFF_LENGTH 12u /* u.Memory.Length / Length40/48/64 (u32) */
#define VPCI_CM_OFF_EXTRA 16u  /* last 4 bytes of the union (high half of u.Interrupt.Affinity) */

/* ---- PCI_BUS_D0ENTRY / PCI_BUS_D0EXIT (guest -> host) --------------------------------- */

#define VPCI_D0ENTRY_OFF_RESERVED 4u
#define VPCI_D0ENTRY_OFF_MMIO_BASE 8u /* u64 GPA of the 8 KiB config window */
#define VPCI_D0ENTRY_SIZE 16u
#define VPCI_D0EXIT_SIZE 4u
#define VPCI_CONFIG_WINDOW_SIZE 0x2000u /* page 0: slot select; page 1: config space (8.4) */
#define VPCI_CONFIG_WINDOW_ALIGN 0x1000u
#define VPCI_CONFIG_WINDOW_SLOT_OFF 0x0u
#define VPCI_CONFIG_WINDOW_CONFIG_OFF 0x1000u

/* ---- PCI_READ_BLOCK / PCI_WRITE_BLOCK (guest -> host) ----------------------------------- */

#define VPCI_BLOCK_MAX 128u /* HV_CONFIG_BLOCK_SIZE_MAX; VPCI_MAX_READ_WRITE_BLOCK_SIZE */
#define VPCI_READ_BLOCK_OFF_BLOCK_ID 4u
#define VPCI_READ_BLOCK_OFF_SLOT 8u
#define VPCI_READ_BLOCK_OFF_BYTES 12u
#define VPCI_READ_BLOCK_SIZE 16u
#define VPCI_READ_BLOCK_REPLY_OFF_DATA 4u
#define VPCI_WRITE_BLOCK_OFF_BLOCK_ID 4u
#define VPCI_WRITE_BLOCK_OFF_SLOT 8u
#define VPCI_WRITE_BLOCK_OFF_BYTE_COUNT 12u
#define VPCI_WRITE_BLOCK_OFF_DATA 16u
#define VPCI_WRITE_BLOCK_MAX_SIZE 144u /* 16 + 128 */
/* Linux sends 16 + n + 4 bytes (contract.md 8.3); the host relies on byte_count only. */
#define VPCI_WRITE_BLOCK_LINUX_SLACK 4u

/* ---- PCI_EJECT (host -> guest), PCI_EJECTION_COMPLETE (guest -> host) ------------------ */

#define VPCI_EJECT_SIZE 8u
#define VPCI_EJECT_COMPLETE_OFF_STATUS 8u
#define VPCI_EJECT_COMPLETE_SIZE 12u

/* ---- PCI_RESOURCES_ASSIGNED / 2 / 3 (guest -> host) ----------------------------------- */

#define VPCI_RES_OFF_DESC 8u        /* six 20-byte CM descriptors, 120 bytes */
#define VPCI_RES_OFF_MSI_COUNT 128u /* u32 number of MSI resources that follow the header */
#define VPCI_RES_OFF_RESERVED 132u
#define VPCI_RES_HEADER_SIZE 136u /* OpenVMM's DeviceTranslate; MSI resources start here */
#define VPCI_RES_SIZE 148u        /* v1 as Linux sends it (reserved[4]) */
#define VPCI_RES2_SIZE 202u       /* v2 as Linux sends it (reserved[70]) */
/* v3 (protocol 1.4): [I] pcivirt's choice, the v2 size; Linux never sends it. */
#define VPCI_RES3_SIZE VPCI_RES2_SIZE
/* Reply: status, then (optionally) OpenVMM's translated form {slot, six descriptors, msi count,
 * reserved}; a status-only reply is what Linux reads. */
#define VPCI_RES_REPLY_OFF_SLOT 4u
#define VPCI_RES_REPLY_OFF_DESC 8u
#define VPCI_RES_REPLY_OFF_MSI_COUNT 128u
#define VPCI_RES_REPLY_SIZE 136u

/* ---- PCI_INVALIDATE_BLOCK (host -> guest) --------------------------------------------- */

#define VPCI_INVALIDATE_OFF_MASK 8u
#define VPCI_INVALIDATE_SIZE 16u

/* ---- PCI_QUERY_PROTOCOL_VERSION (guest -> host) + reply --------------------------------- */

#define VPCI_VERSION_OFF_VERSION 4u
#define VPCI_VERSION_SIZE 8u
#define VPCI_VERSION_REPLY_OFF_VERSION 4u /* OpenVMM adds the version it prefers; optional */
#define VPCI_VERSION_REPLY_SIZE 8u

/* ---- interrupts (guest -> host): Linux hv_msi_desc / desc2 / desc3, tran_int_desc ------- */

#define VPCI_INT_OFF_DESC 8u
/* v1 MSI descriptor (16 bytes) */
#define VPCI_MSI1_OFF_VECTOR 0u       /* u8 */
#define VPCI_MSI1_OFF_DELIVERY 1u     /* u8 */
#define VPCI_MSI1_OFF_VECTOR_COUNT 2u /* u16 */
#define VPCI_MSI1_OFF_RESERVED 4u     /* u32 */
#define VPCI_MSI1_OFF_CPU_MASK 8u     /* u64 */
#define VPCI_MSI1_SIZE 16u
#define VPCI_CREATE_INT_SIZE 24u
/* v2 MSI descriptor (70 bytes; OpenVMM appends a u16 reserved: 72) */
#define VPCI_MSI2_OFF_VECTOR 0u       /* u8 */
#define VPCI_MSI2_OFF_DELIVERY 1u     /* u8 */
#define VPCI_MSI2_OFF_VECTOR_COUNT 2u /* u16 */
#define VPCI_MSI2_OFF_PROC_COUNT 4u   /* u16 */
#define VPCI_MSI2_OFF_PROC_ARRAY 6u   /* u16[32] */
#define VPCI_MSI2_SIZE 70u
#define VPCI_CREATE_INT2_SIZE 78u
#define VPCI_CREATE_INT2_MAX_SIZE 80u
/* v3 MSI descriptor (74 bytes; OpenVMM appends a u16 reserved: 76) */
#define VPCI_MSI3_OFF_VECTOR 0u       /* u32 */
#define VPCI_MSI3_OFF_DELIVERY 4u     /* u8 */
#define VPCI_MSI3_OFF_RESERVED 5u     /* u8 */
#define VPCI_MSI3_OFF_VECTOR_COUNT 6u /* u16 */
#define VPCI_MSI3_OFF_PROC_COUNT 8u   /* u16 */
#define VPCI_MSI3_OFF_PROC_ARRAY 10u  /* u16[32] */
#define VPCI_MSI3_SIZE 74u
#define VPCI_CREATE_INT3_SIZE 82u
#define VPCI_CREATE_INT3_MAX_SIZE 84u
#define VPCI_MSI_MAX_PROCESSORS 32u
#define VPCI_MSI_MAX_VECTORS 32u /* multi-MSI limit */
#define VPCI_MSI_DELIVERY_FIXED 0u
#define VPCI_MSI_DELIVERY_LOWEST 1u
/* The host's answer (tran_int_desc), also the body of DELETE_INTERRUPT_MESSAGE(2). */
#define VPCI_TRAN_INT_OFF_RESERVED 0u     /* u16 */
#define VPCI_TRAN_INT_OFF_VECTOR_COUNT 2u /* u16 */
#define VPCI_TRAN_INT_OFF_DATA 4u         /* u32 MSI data */
#define VPCI_TRAN_INT_OFF_ADDRESS 8u      /* u64 MSI address */
#define VPCI_TRAN_INT_SIZE 16u
#define VPCI_CREATE_INT_REPLY_OFF_RESERVED 4u
#define VPCI_CREATE_INT_REPLY_OFF_DESC 8u
#define VPCI_CREATE_INT_REPLY_SIZE 24u
#define VPCI_DELETE_INT_SIZE 24u /* DELETE2: [I] same layout (OpenVMM parses both alike) */

/* ---- size pins: each layout is contiguous and adds up to the contract's numbers ------ */

#ifdef __cplusplus
#define VPCI_PIN(c) static_assert(c, #c)
#else
#define VPCI_PIN(c) _Static_assert(c, #c)
#endif
VPCI_PIN(VMBUS_PKT_OFF_TRANS_ID + 8u == VMBUS_PKT_DESC_SIZE);
VPCI_PIN(VPCI_FN_OFF_SERIAL + 4u == VPCI_FN_DESC_SIZE);
VPCI_PIN(VPCI_FN2_OFF_RESERVED + 2u == VPCI_FN_DESC2_SIZE);
VPCI_PIN(VPCI_POWER_OFF_RESERVED + 4u == VPCI_POWER_SIZE);
VPCI_PIN(VPCI_RESREQ_REPLY_OFF_BARS + 4u * VPCI_BAR_COUNT == VPCI_RESREQ_REPLY_SIZE);
VPCI_PIN(VPCI_GETRES_OFF_RESERVED + 3u * 8u == VPCI_GETRES_SIZE);
VPCI_PIN(VPCI_GETRES_REPLY_OFF_DESC + VPCI_BAR_COUNT * VPCI_CM_DESC_SIZE == VPCI_GETRES_REPLY_SIZE);
VPCI_PIN(VPCI_CM_OFF_EXTRA + 4u == VPCI_CM_DESC_SIZE);
VPCI_PIN(VPCI_D0ENTRY_OFF_MMIO_BASE + 8u == VPCI_D0ENTRY_SIZE);
VPCI_PIN(VPCI_READ_BLOCK_OFF_BYTES + 4u == VPCI_READ_BLOCK_SIZE);
VPCI_PIN(VPCI_WRITE_BLOCK_OFF_DATA + VPCI_BLOCK_MAX == VPCI_WRITE_BLOCK_MAX_SIZE);
VPCI_PIN(VPCI_EJECT_COMPLETE_OFF_STATUS + 4u == VPCI_EJECT_COMPLETE_SIZE);
VPCI_PIN(VPCI_RES_OFF_DESC + VPCI_BAR_COUNT * VPCI_CM_DESC_SIZE == VPCI_RES_OFF_MSI_COUNT);
VPCI_PIN(VPCI_RES_OFF_MSI_COUNT + 4u + 4u * 4u == VPCI_RES_SIZE);
VPCI_PIN(VPCI_RES_OFF_MSI_COUNT + 4u + 70u == VPCI_RES2_SIZE);
VPCI_PIN(VPCI_RES_OFF_RESERVED + 4u == VPCI_RES_HEADER_SIZE);
VPCI_PIN(VPCI_RES_REPLY_OFF_DESC + VPCI_BAR_COUNT * VPCI_CM_DESC_SIZE == VPCI_RES_REPLY_OFF_MSI_COUNT);
VPCI_PIN(VPCI_RES_REPLY_OFF_MSI_COUNT + 8u == VPCI_RES_REPLY_SIZE);
VPCI_PIN(VPCI_INVALIDATE_OFF_MASK + 8u == VPCI_INVALIDATE_SIZE);
VPCI_PIN(VPCI_MSI1_OFF_CPU_MASK + 8u == VPCI_MSI1_SIZE);
VPCI_PIN(VPCI_INT_OFF_DESC + VPCI_MSI1_SIZE == VPCI_CREATE_INT_SIZE);
VPCI_PIN(VPCI_MSI2_OFF_PROC_ARRAY + 2u * VPCI_MSI_MAX_PROCESSORS == VPCI_MSI2_SIZE);
VPCI_PIN(VPCI_INT_OFF_DESC + VPCI_MSI2_SIZE == VPCI_CREATE_INT2_SIZE);
VPCI_PIN(VPCI_MSI3_OFF_PROC_ARRAY + 2u * VPCI_MSI_MAX_PROCESSORS == VPCI_MSI3_SIZE);
VPCI_PIN(VPCI_INT_OFF_DESC + VPCI_MSI3_SIZE == VPCI_CREATE_INT3_SIZE);
VPCI_PIN(VPCI_TRAN_INT_OFF_ADDRESS + 8u == VPCI_TRAN_INT_SIZE);
VPCI_PIN(VPCI_CREATE_INT_REPLY_OFF_DESC + VPCI_TRAN_INT_SIZE == VPCI_CREATE_INT_REPLY_SIZE);
VPCI_PIN(VPCI_INT_OFF_DESC + VPCI_TRAN_INT_SIZE == VPCI_DELETE_INT_SIZE);
VPCI_PIN(VPCI_RELATIONS_OFF_DESC + VPCI_SLOT_COUNT * VPCI_FN_DESC2_SIZE <= VMBUS_PKT_MAX - VMBUS_PKT_DESC_SIZE);
#undef VPCI_PIN

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_VPCI_PROTO_H */
