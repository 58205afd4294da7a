/*
 * pcivirt/vpci.h - the guest-side counterpart of pcivirt.h (Windows' vpci.h).
 *
 * What a VF driver inside a VM sees of its virtual PCI bus: the query-interface
 * table for configuration blocks (note that Write precedes Read, the opposite of
 * the host-side SR-IOV table), the block IOCTL payloads and codes.  Layouts follow
 * ../shared/spec/contract.md sections 5, 6.13 and 8.9.
 */
#ifndef PCIVIRT_VPCI_H
#define PCIVIRT_VPCI_H

#include "pcivirt/nt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* {C066F39A-DE00-4667-8941-3368ED5D83B5}: guest VPCI bus type. */
DEFINE_GUID(GUID_BUS_VPCI, 0xc066f39a, 0xde00, 0x4667, 0x89, 0x41, 0x33, 0x68, 0xed, 0x5d, 0x83, 0xb5);

/* {12E65E71-B651-4067-831A-1383203CB0CB}: guest query-interface GUID. */
DEFINE_GUID(GUID_VPCI_INTERFACE_STANDARD, 0x12e65e71, 0xb651, 0x4067, 0x83, 0x1a, 0x13, 0x83, 0x20, 0x3c, 0xb0, 0xcb);

/* {57863182-C948-4692-97E3-34B57662A3E0}: guest device interface. */
DEFINE_GUID(GUID_DEVINTERFACE_VPCI, 0x57863182, 0xc948, 0x4692, 0x97, 0xe3, 0x34, 0xb5, 0x76, 0x62, 0xa3, 0xe0);

/* {44C4F61D-4444-4400-9D52-802E27EDE19F}: VMBus offer class of the PCI pass-through channel. */
DEFINE_GUID(GUID_VMBUS_PCI_PASSTHROUGH, 0x44c4f61d, 0x4444, 0x4400, 0x9d, 0x52, 0x80, 0x2e, 0x27, 0xed, 0xe1, 0x9f);

#define FILE_DEVICE_VPCI FILE_DEVICE_BUS_EXTENDER

#define VPCI_CTL_CODE(n) CTL_CODE(FILE_DEVICE_VPCI, (n), METHOD_NEITHER, FILE_READ_ACCESS | FILE_WRITE_ACCESS)
#define IOCTL_VPCI_INVALIDATE_BLOCK VPCI_CTL_CODE(1) /* 0x002AC007 */
#define IOCTL_VPCI_READ_BLOCK VPCI_CTL_CODE(2)       /* 0x002AC00B */
#define IOCTL_VPCI_WRITE_BLOCK VPCI_CTL_CODE(3)      /* 0x002AC00F */

typedef _Function_class_(VPCI_READ_BLOCK) _IRQL_requires_max_(APC_LEVEL) NTSTATUS
    VPCI_READ_BLOCK(_In_ PVOID Context, _In_ ULONG BlockId, _Out_writes_bytes_(Length) PVOID Buffer, _In_ ULONG Length);
typedef VPCI_READ_BLOCK *PVPCI_READ_BLOCK;

typedef _Function_class_(VPCI_WRITE_BLOCK) _IRQL_requires_max_(APC_LEVEL) NTSTATUS
    VPCI_WRITE_BLOCK(_In_ PVOID Context, _In_ ULONG BlockId, _In_reads_bytes_(Length) PVOID Buffer, _In_ ULONG Length);
typedef VPCI_WRITE_BLOCK *PVPCI_WRITE_BLOCK;

typedef struct _VPCI_INTERFACE_STANDARD {
    USHORT Size;
    USHORT Version;
    PVOID Context;
    PINTERFACE_REFERENCE InterfaceReference;
    PINTERFACE_DEREFERENCE InterfaceDereference;
    PVPCI_WRITE_BLOCK WriteVfConfigBlock;
    PVPCI_READ_BLOCK ReadVfConfigBlock;
    UINT32 SerialNumber;
} VPCI_INTERFACE_STANDARD, *PVPCI_INTERFACE_STANDARD;

typedef struct _VPCI_READ_BLOCK_INPUT {
    ULONG BlockId;
    ULONG BytesRequested;
} VPCI_READ_BLOCK_INPUT, *PVPCI_READ_BLOCK_INPUT;

/* 8 + DataLength bytes (contract.md 5).  C++ has no flexible array member; g++ and
 * clang++ accept one as an extension, so -Wpedantic is quieted for this type only. */
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
typedef struct _VPCI_WRITE_BLOCK_INPUT {
    ULONG BlockId;
    ULONG DataLength;
    UCHAR Data[];
} VPCI_WRITE_BLOCK_INPUT, *PVPCI_WRITE_BLOCK_INPUT;
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

typedef struct _VPCI_INVALIDATE_BLOCK_OUTPUT {
    UINT64 BlockMask;
} VPCI_INVALIDATE_BLOCK_OUTPUT, *PVPCI_INVALIDATE_BLOCK_OUTPUT;

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_VPCI_H */
