/*
 * util/abi.c - compile-time pins of the contract's x64 layouts and codes.
 *
 * Every size, alignment and field offset of contract.md sections 1.1, 1.4, 1.5, 1.6
 * and 5, the constants of 1.3 and 1.6, every IOCTL code of sections 4.1 and 8.9 are
 * asserted here, in the library's normal build, so a header edit that breaks the
 * Windows ABI cannot compile.  GUID byte order is a property of memory, not of a
 * constant expression, so tests/abi/test_layout.c checks it at run time against
 * the contract's byte strings, with the codes recomputed independently.  LP64 and
 * LLP64 agree on all of these because the headers never use `long`; the tables
 * hold pointers, so the library builds only for 64-bit targets, as the contract's
 * x64 layouts require.
 */
#include <stddef.h>

#include "pcivirt/pcivirt.h"
#include "pcivirt/vpci.h"

#define SIZE(t, n) _Static_assert(sizeof(t) == (n), "sizeof(" #t ") != " #n)
#define ALIGN(t, n) _Static_assert(_Alignof(t) == (n), "_Alignof(" #t ") != " #n)
#define OFF(t, f, n) _Static_assert(offsetof(t, f) == (n), "offsetof(" #t ", " #f ") != " #n)
#define CODE(c, v) _Static_assert((c) == (v), #c " != " #v)

/* contract.md 1.1: fixed-width NT scalars (Windows x64 is LLP64) */
SIZE(UCHAR, 1);
SIZE(UINT8, 1);
SIZE(BOOLEAN, 1);
SIZE(USHORT, 2);
SIZE(UINT16, 2);
SIZE(ULONG, 4);
SIZE(LONG, 4);
SIZE(ULONG64, 8);
SIZE(ULONGLONG, 8);
SIZE(UINT64, 8);
ALIGN(ULONG64, 8);
SIZE(NTSTATUS, 4);
SIZE(PVOID, 8);
SIZE(DEVICE_POWER_STATE, 4);
SIZE(SRIOV_PF_EVENT, 4);
SIZE(PHYSICAL_ADDRESS, 8);
ALIGN(PHYSICAL_ADDRESS, 8);
_Static_assert(TRUE == 1 && FALSE == 0, "BOOLEAN TRUE/FALSE");
_Static_assert((NTSTATUS)-1 < 0, "NTSTATUS is signed (NT_SUCCESS is >= 0)");

/* contract.md 1.3: the CTL_CODE ingredients and IRP codes */
CODE(FILE_DEVICE_UNKNOWN, 0x22);
CODE(FILE_DEVICE_BUS_EXTENDER, 0x2A);
CODE(FILE_DEVICE_VPCI, 0x2A);
CODE(METHOD_BUFFERED, 0);
CODE(METHOD_IN_DIRECT, 1);
CODE(METHOD_OUT_DIRECT, 2);
CODE(METHOD_NEITHER, 3);
CODE(FILE_ANY_ACCESS, 0);
CODE(FILE_READ_ACCESS, 1);
CODE(FILE_READ_DATA, 1);
CODE(FILE_WRITE_ACCESS, 2);
CODE(FILE_WRITE_DATA, 2);
CODE(IRP_MJ_DEVICE_CONTROL, 0x0E);
CODE(IRP_MJ_INTERNAL_DEVICE_CONTROL, 0x0F);
CODE(IRP_MN_START_DEVICE, 0x00);
CODE(IRP_MN_QUERY_REMOVE_DEVICE, 0x01);
CODE(IRP_MN_REMOVE_DEVICE, 0x02);
CODE(IRP_MN_CANCEL_REMOVE_DEVICE, 0x03);
CODE(IRP_MN_STOP_DEVICE, 0x04);
CODE(IRP_MN_QUERY_STOP_DEVICE, 0x05);
CODE(IRP_MN_CANCEL_STOP_DEVICE, 0x06);
CODE(IRP_MN_QUERY_INTERFACE, 0x08);
CODE(IRP_MN_SURPRISE_REMOVAL, 0x17);

/* contract.md 1.4 */
SIZE(GUID, 16);
OFF(GUID, Data1, 0);
OFF(GUID, Data2, 4);
OFF(GUID, Data3, 6);
OFF(GUID, Data4, 8);
SIZE(LUID, 8);
ALIGN(LUID, 4);
OFF(LUID, LowPart, 0);
OFF(LUID, HighPart, 4);
_Static_assert(PowerDeviceUnspecified == 0 && PowerDeviceD0 == 1 && PowerDeviceD1 == 2 && PowerDeviceD2 == 3 &&
                   PowerDeviceD3 == 4 && PowerDeviceMaximum == 5,
               "DEVICE_POWER_STATE");
CODE(PCI_TYPE0_ADDRESSES, 6);
CODE(PCI_TYPE0_BAR_COUNT, 6);

/* contract.md 1.5: every table starts with this 32-byte header */
#define INTERFACE_HEADER(t)                                                                                            \
    OFF(t, Size, 0);                                                                                                   \
    OFF(t, Version, 2);                                                                                                \
    OFF(t, Context, 8);                                                                                                \
    OFF(t, InterfaceReference, 16);                                                                                    \
    OFF(t, InterfaceDereference, 24)

SIZE(INTERFACE, 32);
ALIGN(INTERFACE, 8);
INTERFACE_HEADER(INTERFACE);

/* contract.md 1.6: pack(4), 20 bytes */
SIZE(CM_PARTIAL_RESOURCE_DESCRIPTOR, 20);
ALIGN(CM_PARTIAL_RESOURCE_DESCRIPTOR, 4);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, Type, 0);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, ShareDisposition, 1);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, Flags, 2);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u, 4);
SIZE(((CM_PARTIAL_RESOURCE_DESCRIPTOR *)0)->u, 16);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Generic.Start, 4);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Generic.Length, 12);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Port.Start, 4);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Port.Length, 12);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Memory.Start, 4);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Memory.Length, 12);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Interrupt.Level, 4);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Interrupt.Vector, 8);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Interrupt.Affinity, 12);
SIZE(KAFFINITY, 8);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Memory40.Start, 4);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Memory40.Length40, 12);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Memory48.Start, 4);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Memory48.Length48, 12);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Memory64.Start, 4);
OFF(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Memory64.Length64, 12);
CODE(CmResourceTypeNull, 0);
CODE(CmResourceTypePort, 1);
CODE(CmResourceTypeInterrupt, 2);
CODE(CmResourceTypeMemory, 3);
CODE(CmResourceTypeDma, 4);
CODE(CmResourceTypeDeviceSpecific, 5);
CODE(CmResourceTypeBusNumber, 6);
CODE(CmResourceTypeMemoryLarge, 7);
CODE(CmResourceTypeNonArbitrated, 128);
CODE(CmResourceTypeConfigData, 128);
CODE(CmResourceTypeDevicePrivate, 129);
CODE(CmResourceTypePcCardConfig, 130);
CODE(CmResourceTypeMfCardConfig, 131);
CODE(CmResourceTypeConnection, 132);
CODE(CmResourceShareUndetermined, 0);
CODE(CmResourceShareDeviceExclusive, 1);
CODE(CmResourceShareDriverExclusive, 2);
CODE(CmResourceShareShared, 3);
CODE(CM_RESOURCE_MEMORY_READ_WRITE, 0x0000);
CODE(CM_RESOURCE_MEMORY_READ_ONLY, 0x0001);
CODE(CM_RESOURCE_MEMORY_WRITE_ONLY, 0x0002);
CODE(CM_RESOURCE_MEMORY_PREFETCHABLE, 0x0004);
CODE(CM_RESOURCE_MEMORY_COMBINEDWRITE, 0x0008);
CODE(CM_RESOURCE_MEMORY_24, 0x0010);
CODE(CM_RESOURCE_MEMORY_CACHEABLE, 0x0020);
CODE(CM_RESOURCE_MEMORY_WINDOW_DECODE, 0x0040);
CODE(CM_RESOURCE_MEMORY_BAR, 0x0080);
CODE(CM_RESOURCE_MEMORY_COMPAT_FOR_INACCESSIBLE_RANGE, 0x0100);
CODE(CM_RESOURCE_MEMORY_LARGE_40, 0x0200);
CODE(CM_RESOURCE_MEMORY_LARGE_48, 0x0400);
CODE(CM_RESOURCE_MEMORY_LARGE_64, 0x0800);
CODE(CM_RESOURCE_MEMORY_LARGE, 0x0E00);

/* contract.md 4.1: effective codes, the method argument ignored; 8.9: the guest's */
CODE(IOCTL_SRIOV_NOTIFICATION, 0x00226044u);
CODE(IOCTL_SRIOV_EVENT_COMPLETE, 0x00226048u);
CODE(IOCTL_SRIOV_ATTACH, 0x0022604Cu);
CODE(IOCTL_SRIOV_DETACH, 0x00226050u);
CODE(IOCTL_SRIOV_INVALIDATE_BLOCK, 0x00226054u);
CODE(IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT, 0x00226058u);
CODE(IOCTL_SRIOV_QUERY_MITIGATED_RANGES, 0x0022605Cu);
CODE(IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, 0x00226060u);
CODE(IOCTL_SRIOV_PROXY_QUERY_LUID, 0x00226064u);
CODE(IOCTL_VPCI_INVALIDATE_BLOCK, 0x002AC007u);
CODE(IOCTL_VPCI_READ_BLOCK, 0x002AC00Bu);
CODE(IOCTL_VPCI_WRITE_BLOCK, 0x002AC00Fu);

/* contract.md 2 */
CODE(VPCI_MAX_READ_WRITE_BLOCK_SIZE, 128);
CODE(SRIOV_INVALIDATE_BLOCK_ALL_VFS, 0xFFFF);

/* contract.md 5, row by row: size / alignment, then every field offset */
_Static_assert(SriovEventPfQueryStopDevice == 0 && SriovEventPfRestart == 1 && SriovEventPfMaximum == 2,
               "SRIOV_PF_EVENT");

SIZE(SRIOV_PNP_EVENT_COMPLETE, 4);
ALIGN(SRIOV_PNP_EVENT_COMPLETE, 4);
OFF(SRIOV_PNP_EVENT_COMPLETE, QueryStatus, 0);

SIZE(SRIOV_INVALIDATE_BLOCK, 16);
ALIGN(SRIOV_INVALIDATE_BLOCK, 8);
OFF(SRIOV_INVALIDATE_BLOCK, VfIndex, 0);
OFF(SRIOV_INVALIDATE_BLOCK, BlockMask, 8);

SIZE(SRIOV_MITIGATED_RANGE_COUNT_INPUT, 2);
ALIGN(SRIOV_MITIGATED_RANGE_COUNT_INPUT, 2);
OFF(SRIOV_MITIGATED_RANGE_COUNT_INPUT, VfIndex, 0);

SIZE(SRIOV_MITIGATED_RANGE_COUNT_OUTPUT, 24);
ALIGN(SRIOV_MITIGATED_RANGE_COUNT_OUTPUT, 4);
OFF(SRIOV_MITIGATED_RANGE_COUNT_OUTPUT, RangeCount, 0);

SIZE(SRIOV_MITIGATED_RANGES_INPUT, 4);
ALIGN(SRIOV_MITIGATED_RANGES_INPUT, 2);
OFF(SRIOV_MITIGATED_RANGES_INPUT, VfIndex, 0);
OFF(SRIOV_MITIGATED_RANGES_INPUT, BarNumber, 2);

SIZE(SRIOV_MITIGATED_RANGES_OUTPUT, 16);
ALIGN(SRIOV_MITIGATED_RANGES_OUTPUT, 8);
OFF(SRIOV_MITIGATED_RANGES_OUTPUT, BasePageNumber, 0);
OFF(SRIOV_MITIGATED_RANGES_OUTPUT, PageCount, 8);
OFF(SRIOV_MITIGATED_RANGES_OUTPUT, InterceptReads, 12);
OFF(SRIOV_MITIGATED_RANGES_OUTPUT, InterceptWrites, 13);

SIZE(SRIOV_MITIGATED_RANGE_UPDATE_INPUT, 2);
ALIGN(SRIOV_MITIGATED_RANGE_UPDATE_INPUT, 2);
OFF(SRIOV_MITIGATED_RANGE_UPDATE_INPUT, VfIndex, 0);

SIZE(SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT, 2);
ALIGN(SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT, 2);
OFF(SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT, VfIndex, 0);

SIZE(SRIOV_PROXY_QUERY_LUID_OUTPUT, 8);
ALIGN(SRIOV_PROXY_QUERY_LUID_OUTPUT, 4);
OFF(SRIOV_PROXY_QUERY_LUID_OUTPUT, DeviceLuid, 0);

SIZE(VPCI_PNP_ID, 12);
ALIGN(VPCI_PNP_ID, 2);
OFF(VPCI_PNP_ID, VendorID, 0);
OFF(VPCI_PNP_ID, DeviceID, 2);
OFF(VPCI_PNP_ID, RevisionID, 4);
OFF(VPCI_PNP_ID, ProgIf, 5);
OFF(VPCI_PNP_ID, SubClass, 6);
OFF(VPCI_PNP_ID, BaseClass, 7);
OFF(VPCI_PNP_ID, SubVendorID, 8);
OFF(VPCI_PNP_ID, SubSystemID, 10);

/* The v1 layout, asserted on v1 and on the v2 prefix (a v2 table is handed to a v1 consumer by Size). */
#define SRIOV_V1_LAYOUT(t)                                                                                             \
    INTERFACE_HEADER(t);                                                                                               \
    OFF(t, ReadVfConfig, 32);                                                                                          \
    OFF(t, WriteVfConfig, 40);                                                                                         \
    OFF(t, ReadVfConfigBlock, 48);                                                                                     \
    OFF(t, WriteVfConfigBlock, 56);                                                                                    \
    OFF(t, QueryProbedBars, 64);                                                                                       \
    OFF(t, GetVendorAndDevice, 72);                                                                                    \
    OFF(t, GetDeviceLocation, 80);                                                                                     \
    OFF(t, ResetVf, 88);                                                                                               \
    OFF(t, SetVfPowerState, 96);                                                                                       \
    OFF(t, GetResourceForBar, 104);                                                                                    \
    OFF(t, QueryLuid, 112)

SIZE(SRIOV_DEVICE_INTERFACE_STANDARD, 120);
ALIGN(SRIOV_DEVICE_INTERFACE_STANDARD, 8);
SRIOV_V1_LAYOUT(SRIOV_DEVICE_INTERFACE_STANDARD);

SIZE(SRIOV_DEVICE_INTERFACE_STANDARD_2, 144);
ALIGN(SRIOV_DEVICE_INTERFACE_STANDARD_2, 8);
SRIOV_V1_LAYOUT(SRIOV_DEVICE_INTERFACE_STANDARD_2);
OFF(SRIOV_DEVICE_INTERFACE_STANDARD_2, QueryProbedBars_2, 120);
OFF(SRIOV_DEVICE_INTERFACE_STANDARD_2, QueryVfLuid, 128);
OFF(SRIOV_DEVICE_INTERFACE_STANDARD_2, QueryLuidVf, 136);

SIZE(MITIGABLE_DEVICE_INTERFACE, 40);
ALIGN(MITIGABLE_DEVICE_INTERFACE, 8);
INTERFACE_HEADER(MITIGABLE_DEVICE_INTERFACE);
OFF(MITIGABLE_DEVICE_INTERFACE, ReadWriteMitigatedRegister, 32);

SIZE(VPCI_INTERFACE_STANDARD, 56);
ALIGN(VPCI_INTERFACE_STANDARD, 8);
INTERFACE_HEADER(VPCI_INTERFACE_STANDARD);
OFF(VPCI_INTERFACE_STANDARD, WriteVfConfigBlock, 32);
OFF(VPCI_INTERFACE_STANDARD, ReadVfConfigBlock, 40);
OFF(VPCI_INTERFACE_STANDARD, SerialNumber, 48);

SIZE(VPCI_READ_BLOCK_INPUT, 8);
ALIGN(VPCI_READ_BLOCK_INPUT, 4);
OFF(VPCI_READ_BLOCK_INPUT, BlockId, 0);
OFF(VPCI_READ_BLOCK_INPUT, BytesRequested, 4);

SIZE(VPCI_WRITE_BLOCK_INPUT, 8); /* 8 + n: Data[] is a flexible array member */
ALIGN(VPCI_WRITE_BLOCK_INPUT, 4);
OFF(VPCI_WRITE_BLOCK_INPUT, BlockId, 0);
OFF(VPCI_WRITE_BLOCK_INPUT, DataLength, 4);
OFF(VPCI_WRITE_BLOCK_INPUT, Data, 8);

SIZE(VPCI_INVALIDATE_BLOCK_OUTPUT, 8);
ALIGN(VPCI_INVALIDATE_BLOCK_OUTPUT, 8);
OFF(VPCI_INVALIDATE_BLOCK_OUTPUT, BlockMask, 0);

/* The translation unit must not be empty. */
int pcivirt_abi_pinned(void);

int
pcivirt_abi_pinned(void)
{
    return 1;
}
