/*
 * pcivirt/pcivirt.h - the SR-IOV virtualization contract of Windows' pcivirt.h.
 *
 * Every identifier of the Windows header, with the x64 layouts, so that a PF driver
 * written against the WDK header compiles unchanged.  The numbers come from
 * ../shared/spec/contract.md sections 2 to 6; tests/abi/ pins each size, offset and
 * code with a static assertion.
 *
 * Two traps this header keeps faithfully:
 *  - The IOCTL helper macro of the Windows header ignores its method argument, so all
 *    nine codes are METHOD_BUFFERED (contract.md 4.1); the declared method is kept
 *    only as documentation.
 *  - SRIOV_DEVICE_INTERFACE_STANDARD_2 reuses the version-1 GUID; which table a
 *    requester gets depends only on the Size it asks for (contract.md 3.2).
 */
#ifndef PCIVIRT_PCIVIRT_H
#define PCIVIRT_PCIVIRT_H

#include "pcivirt/nt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- identifiers (contract.md 2) --------------------------------------------- */

/* {A13A7A93-11F0-4BD2-A9F5-6B5C5B88527D}: device-interface class of SR-IOV PFs. */
DEFINE_GUID(GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, 0xa13a7a93, 0x11f0, 0x4bd2, 0xa9, 0xf5, 0x6b, 0x5c, 0x5b, 0x88,
            0x52, 0x7d);

/* {937EE9B6-0ED3-411C-982B-1F564AFBABD3}: query-interface GUID of the SR-IOV table (v1 and v2). */
DEFINE_GUID(GUID_SRIOV_DEVICE_INTERFACE_STANDARD, 0x937ee9b6, 0x0ed3, 0x411c, 0x98, 0x2b, 0x1f, 0x56, 0x4a, 0xfb, 0xab,
            0xd3);

/* {ADFD9567-4245-497E-8572-78D45C1622B8}: query-interface GUID of the mitigable-device table. */
DEFINE_GUID(GUID_MITIGABLE_DEVICE_INTERFACE, 0xadfd9567, 0x4245, 0x497e, 0x85, 0x72, 0x78, 0xd4, 0x5c, 0x16, 0x22,
            0xb8);

/* {0DB3E0F9-3536-4213-9572-AD77E224BE27}: defined by the header, undocumented (contract.md 10.12). */
DEFINE_GUID(GUID_DEVINTERFACE_DIRECTLY_ASSIGNABLE_DEVICE, 0x0db3e0f9, 0x3536, 0x4213, 0x95, 0x72, 0xad, 0x77, 0xe2,
            0x24, 0xbe, 0x27);

#define VPCI_MAX_READ_WRITE_BLOCK_SIZE 128
#define SRIOV_INVALIDATE_BLOCK_ALL_VFS 0xFFFF

/* ---- IOCTL codes (contract.md 4.1): the method argument is ignored ------------ */

#define SRIOV_CTL_CODE(Index, Method) CTL_CODE(FILE_DEVICE_UNKNOWN, 0x810 + (Index), METHOD_BUFFERED, FILE_READ_DATA)

#define IOCTL_SRIOV_NOTIFICATION SRIOV_CTL_CODE(1, METHOD_OUT_DIRECT)              /* 0x00226044 */
#define IOCTL_SRIOV_EVENT_COMPLETE SRIOV_CTL_CODE(2, METHOD_IN_DIRECT)             /* 0x00226048 */
#define IOCTL_SRIOV_ATTACH SRIOV_CTL_CODE(3, METHOD_IN_DIRECT)                     /* 0x0022604C */
#define IOCTL_SRIOV_DETACH SRIOV_CTL_CODE(4, METHOD_IN_DIRECT)                     /* 0x00226050 */
#define IOCTL_SRIOV_INVALIDATE_BLOCK SRIOV_CTL_CODE(5, METHOD_BUFFERED)            /* 0x00226054 */
#define IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT SRIOV_CTL_CODE(6, METHOD_BUFFERED) /* 0x00226058 */
#define IOCTL_SRIOV_QUERY_MITIGATED_RANGES SRIOV_CTL_CODE(7, METHOD_BUFFERED)      /* 0x0022605C */
#define IOCTL_SRIOV_MITIGATED_RANGE_UPDATE SRIOV_CTL_CODE(8, METHOD_BUFFERED)      /* 0x00226060 */
#define IOCTL_SRIOV_PROXY_QUERY_LUID SRIOV_CTL_CODE(9, METHOD_BUFFERED)            /* 0x00226064 */

/* ---- structures (contract.md 5) ---------------------------------------------- */

typedef enum _SRIOV_PF_EVENT {
    SriovEventPfQueryStopDevice = 0,
    SriovEventPfRestart = 1,
    SriovEventPfMaximum = 2
} SRIOV_PF_EVENT,
    *PSRIOV_PF_EVENT;

typedef struct _SRIOV_PNP_EVENT_COMPLETE {
    NTSTATUS QueryStatus;
} SRIOV_PNP_EVENT_COMPLETE, *PSRIOV_PNP_EVENT_COMPLETE;

typedef struct _SRIOV_INVALIDATE_BLOCK {
    USHORT VfIndex;
    UINT64 BlockMask;
} SRIOV_INVALIDATE_BLOCK, *PSRIOV_INVALIDATE_BLOCK;

typedef struct _SRIOV_MITIGATED_RANGE_COUNT_INPUT {
    USHORT VfIndex;
} SRIOV_MITIGATED_RANGE_COUNT_INPUT, *PSRIOV_MITIGATED_RANGE_COUNT_INPUT;

typedef struct _SRIOV_MITIGATED_RANGE_COUNT_OUTPUT {
    ULONG RangeCount[PCI_TYPE0_ADDRESSES];
} SRIOV_MITIGATED_RANGE_COUNT_OUTPUT, *PSRIOV_MITIGATED_RANGE_COUNT_OUTPUT;

typedef struct _SRIOV_MITIGATED_RANGES_INPUT {
    USHORT VfIndex;
    UCHAR BarNumber;
} SRIOV_MITIGATED_RANGES_INPUT, *PSRIOV_MITIGATED_RANGES_INPUT;

typedef struct _SRIOV_MITIGATED_RANGES_OUTPUT {
    ULONG64 BasePageNumber;
    ULONG PageCount;
    BOOLEAN InterceptReads;
    BOOLEAN InterceptWrites;
} SRIOV_MITIGATED_RANGES_OUTPUT, *PSRIOV_MITIGATED_RANGES_OUTPUT;

typedef struct _SRIOV_MITIGATED_RANGE_UPDATE_INPUT {
    USHORT VfIndex;
} SRIOV_MITIGATED_RANGE_UPDATE_INPUT, *PSRIOV_MITIGATED_RANGE_UPDATE_INPUT;

typedef struct _SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT {
    USHORT VfIndex;
} SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT, *PSRIOV_MITIGATED_RANGE_UPDATE_OUTPUT;

typedef struct _SRIOV_PROXY_QUERY_LUID_OUTPUT {
    LUID DeviceLuid;
} SRIOV_PROXY_QUERY_LUID_OUTPUT, *PSRIOV_PROXY_QUERY_LUID_OUTPUT;

/* In the 2016 header, absent from current WDKs (contract.md 10.11). */
typedef struct _VPCI_PNP_ID {
    USHORT VendorID;
    USHORT DeviceID;
    UCHAR RevisionID;
    UCHAR ProgIf;
    UCHAR SubClass;
    UCHAR BaseClass;
    USHORT SubVendorID;
    USHORT SubSystemID;
} VPCI_PNP_ID, *PVPCI_PNP_ID;

/* ---- callbacks (contract.md 6); mind the argument orders ---------------------- */

typedef _Function_class_(SRIOV_READ_CONFIG) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_READ_CONFIG(_In_ PVOID Context, _Out_writes_bytes_(Length) PVOID Data, _In_ USHORT VfIndex, _In_ ULONG Offset,
                      _In_ ULONG Length);
typedef SRIOV_READ_CONFIG *PSRIOV_READ_CONFIG;

typedef _Function_class_(SRIOV_WRITE_CONFIG) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_WRITE_CONFIG(_In_ PVOID Context, _In_reads_bytes_(Length) const VOID *Data, _In_ USHORT VfIndex,
                       _In_ ULONG Offset, _In_ ULONG Length);
typedef SRIOV_WRITE_CONFIG *PSRIOV_WRITE_CONFIG;

typedef _Function_class_(SRIOV_READ_BLOCK) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_READ_BLOCK(_In_ PVOID Context, _In_ USHORT VfIndex, _In_ ULONG BlockId,
                     _Out_writes_bytes_(Length) PVOID Buffer, _In_ ULONG Length);
typedef SRIOV_READ_BLOCK *PSRIOV_READ_BLOCK;

typedef _Function_class_(SRIOV_WRITE_BLOCK) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_WRITE_BLOCK(_In_ PVOID Context, _In_ USHORT VfIndex, _In_ ULONG BlockId,
                      _In_reads_bytes_(Length) PVOID Buffer, _In_ ULONG Length);
typedef SRIOV_WRITE_BLOCK *PSRIOV_WRITE_BLOCK;

typedef _Function_class_(SRIOV_QUERY_PROBED_BARS) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_QUERY_PROBED_BARS(_In_ PVOID Context, _Out_writes_(PCI_TYPE0_ADDRESSES) PULONG BaseRegisterValues);
typedef SRIOV_QUERY_PROBED_BARS *PSRIOV_QUERY_PROBED_BARS;

typedef _Function_class_(SRIOV_QUERY_PROBED_BARS_2) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_QUERY_PROBED_BARS_2(_In_ PVOID Context, _In_ USHORT VfIndex,
                              _Out_writes_(PCI_TYPE0_ADDRESSES) PULONG BaseRegisterValues);
typedef SRIOV_QUERY_PROBED_BARS_2 *PSRIOV_QUERY_PROBED_BARS_2;

typedef _Function_class_(SRIOV_GET_VENDOR_AND_DEVICE_IDS) _IRQL_requires_(PASSIVE_LEVEL) VOID
    SRIOV_GET_VENDOR_AND_DEVICE_IDS(_In_ PVOID Context, _In_ USHORT VfIndex, _Out_ PUSHORT VendorId,
                                    _Out_ PUSHORT DeviceId);
typedef SRIOV_GET_VENDOR_AND_DEVICE_IDS *PSRIOV_GET_VENDOR_AND_DEVICE_IDS;

typedef _Function_class_(SRIOV_GET_DEVICE_LOCATION) _IRQL_requires_(PASSIVE_LEVEL) VOID
    SRIOV_GET_DEVICE_LOCATION(_In_ PVOID Context, _In_ USHORT VfIndex, _Out_ PUINT16 SegmentNumber,
                              _Out_ PUINT8 BusNumber, _Out_ PUINT8 FunctionNumber);
typedef SRIOV_GET_DEVICE_LOCATION *PSRIOV_GET_DEVICE_LOCATION;

typedef _Function_class_(SRIOV_RESET_FUNCTION) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_RESET_FUNCTION(_In_ PVOID Context, _In_ USHORT VfIndex);
typedef SRIOV_RESET_FUNCTION *PSRIOV_RESET_FUNCTION;

typedef _Function_class_(SRIOV_SET_POWER_STATE) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_SET_POWER_STATE(_In_ PVOID Context, _In_ USHORT VfIndex, _In_ DEVICE_POWER_STATE PowerState,
                          _In_ BOOLEAN Wake);
typedef SRIOV_SET_POWER_STATE *PSRIOV_SET_POWER_STATE;

typedef _Function_class_(SRIOV_GET_RESOURCE_FOR_BAR) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_GET_RESOURCE_FOR_BAR(_In_ PVOID Context, _In_ USHORT VfIndex, _In_ USHORT BarIndex,
                               _Out_ PCM_PARTIAL_RESOURCE_DESCRIPTOR Resource);
typedef SRIOV_GET_RESOURCE_FOR_BAR *PSRIOV_GET_RESOURCE_FOR_BAR;

typedef _Function_class_(SRIOV_QUERY_LUID) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_QUERY_LUID(_In_ PVOID Context, _Out_ PLUID Luid);
typedef SRIOV_QUERY_LUID *PSRIOV_QUERY_LUID;

typedef _Function_class_(SRIOV_QUERY_VF_LUID) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_QUERY_VF_LUID(_In_ PVOID Context, _In_ USHORT VfIndex, _Out_ PLUID Luid);
typedef SRIOV_QUERY_VF_LUID *PSRIOV_QUERY_VF_LUID;

typedef _Function_class_(SRIOV_QUERY_LUID_VF) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_QUERY_LUID_VF(_In_ PVOID Context, _In_ LUID Luid, _Out_ PUSHORT VfIndex);
typedef SRIOV_QUERY_LUID_VF *PSRIOV_QUERY_LUID_VF;

/* Documented as not supported; in no table (contract.md 6.11).  Never called. */
typedef _Function_class_(SRIOV_GET_MMIO_REQUIREMENTS) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    SRIOV_GET_MMIO_REQUIREMENTS(_In_ PVOID Context, _In_ USHORT VfIndex, _In_ ULONG BlockId,
                                _Out_writes_bytes_(Length) PVOID Buffer, _In_ ULONG Length);
typedef SRIOV_GET_MMIO_REQUIREMENTS *PSRIOV_GET_MMIO_REQUIREMENTS;

typedef _Function_class_(READ_WRITE_MITIGATED_REGISTER) _IRQL_requires_(PASSIVE_LEVEL) NTSTATUS
    READ_WRITE_MITIGATED_REGISTER(_In_ PVOID Context, _In_ USHORT VfIndex, _In_ BOOLEAN Read,
                                  _In_range_(0, 5) USHORT BarIndex, _In_ ULONGLONG Offset,
                                  _In_range_(1, 8) ULONG Length, _Inout_updates_bytes_(Length) PUCHAR Data);
typedef READ_WRITE_MITIGATED_REGISTER *PREAD_WRITE_MITIGATED_REGISTER;

/* ---- interface tables -------------------------------------------------------- */

typedef struct _SRIOV_DEVICE_INTERFACE_STANDARD {
    USHORT Size;
    USHORT Version;
    PVOID Context;
    PINTERFACE_REFERENCE InterfaceReference;
    PINTERFACE_DEREFERENCE InterfaceDereference;
    PSRIOV_READ_CONFIG ReadVfConfig;
    PSRIOV_WRITE_CONFIG WriteVfConfig;
    PSRIOV_READ_BLOCK ReadVfConfigBlock;
    PSRIOV_WRITE_BLOCK WriteVfConfigBlock;
    PSRIOV_QUERY_PROBED_BARS QueryProbedBars;
    PSRIOV_GET_VENDOR_AND_DEVICE_IDS GetVendorAndDevice;
    PSRIOV_GET_DEVICE_LOCATION GetDeviceLocation;
    PSRIOV_RESET_FUNCTION ResetVf;
    PSRIOV_SET_POWER_STATE SetVfPowerState;
    PSRIOV_GET_RESOURCE_FOR_BAR GetResourceForBar;
    PSRIOV_QUERY_LUID QueryLuid;
} SRIOV_DEVICE_INTERFACE_STANDARD, *PSRIOV_DEVICE_INTERFACE_STANDARD;

/* Same GUID as version 1; a separate type keeps sizeof(version 1) at 120. */
typedef struct _SRIOV_DEVICE_INTERFACE_STANDARD_2 {
    USHORT Size;
    USHORT Version;
    PVOID Context;
    PINTERFACE_REFERENCE InterfaceReference;
    PINTERFACE_DEREFERENCE InterfaceDereference;
    PSRIOV_READ_CONFIG ReadVfConfig;
    PSRIOV_WRITE_CONFIG WriteVfConfig;
    PSRIOV_READ_BLOCK ReadVfConfigBlock;
    PSRIOV_WRITE_BLOCK WriteVfConfigBlock;
    PSRIOV_QUERY_PROBED_BARS QueryProbedBars;
    PSRIOV_GET_VENDOR_AND_DEVICE_IDS GetVendorAndDevice;
    PSRIOV_GET_DEVICE_LOCATION GetDeviceLocation;
    PSRIOV_RESET_FUNCTION ResetVf;
    PSRIOV_SET_POWER_STATE SetVfPowerState;
    PSRIOV_GET_RESOURCE_FOR_BAR GetResourceForBar;
    PSRIOV_QUERY_LUID QueryLuid;
    PSRIOV_QUERY_PROBED_BARS_2 QueryProbedBars_2;
    PSRIOV_QUERY_VF_LUID QueryVfLuid;
    PSRIOV_QUERY_LUID_VF QueryLuidVf;
} SRIOV_DEVICE_INTERFACE_STANDARD_2, *PSRIOV_DEVICE_INTERFACE_STANDARD_2;

typedef struct _MITIGABLE_DEVICE_INTERFACE {
    USHORT Size;
    USHORT Version;
    PVOID Context;
    PINTERFACE_REFERENCE InterfaceReference;
    PINTERFACE_DEREFERENCE InterfaceDereference;
    PREAD_WRITE_MITIGATED_REGISTER ReadWriteMitigatedRegister;
} MITIGABLE_DEVICE_INTERFACE, *PMITIGABLE_DEVICE_INTERFACE;

#define SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_1 1
#define SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2 2 /* our choice: contract.md 3.2 [I] */

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_PCIVIRT_H */
