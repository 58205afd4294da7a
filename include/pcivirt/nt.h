/*
 * pcivirt/nt.h - the slice of the Windows NT base that the pcivirt.h contract needs.
 *
 * The contract between a PF driver and the virtualization stack is written in NT
 * types.  Windows x64 is LLP64 and Linux x86_64 is LP64, so every NT type is spelled
 * here with a fixed-width type: ULONG is 32 bits, never `unsigned long`.  Layouts that
 * cross the contract are pinned by static assertions in tests/abi/ and in this header,
 * following ../shared/spec/contract.md section 1.
 *
 * SAL annotations and the function-class macros of the WDK are defined away so that
 * WDK-style declarations compile unchanged.
 *
 * GUIDs are defined with DEFINE_GUID as `static const` objects (one copy per
 * translation unit) and compared by value with IsEqualGUID, so no INITGUID dance is
 * needed.
 */
#ifndef PCIVIRT_NT_H
#define PCIVIRT_NT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pcivirt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- scalar types (contract.md 1.1) ---------------------------------------- */

typedef void VOID;
typedef void *PVOID;
typedef char CHAR;
typedef uint8_t UCHAR, *PUCHAR;
typedef uint8_t BOOLEAN, *PBOOLEAN;
typedef uint8_t UINT8, *PUINT8;
typedef uint16_t USHORT, *PUSHORT;
typedef uint16_t UINT16, *PUINT16;
typedef uint16_t WCHAR;
typedef uint32_t ULONG, *PULONG;
typedef uint32_t UINT32, *PUINT32;
typedef int32_t LONG, *PLONG;
typedef int32_t INT32;
typedef uint64_t ULONG64, *PULONG64;
typedef uint64_t ULONGLONG, *PULONGLONG;
typedef uint64_t UINT64, *PUINT64;
typedef int64_t LONG64, LONGLONG;
typedef size_t SIZE_T;
typedef uint64_t KAFFINITY;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* ---- annotations defined away ---------------------------------------------- */

#define _In_
#define _In_opt_
#define _Out_
#define _Out_opt_
#define _Inout_
#define _Inout_opt_
#define _In_z_
#define _In_range_(lo, hi)
#define _In_reads_(n)
#define _In_reads_bytes_(n)
#define _In_reads_opt_(n)
#define _Out_writes_(n)
#define _Out_writes_bytes_(n)
#define _Out_writes_bytes_all_(n)
#define _Out_writes_bytes_to_(n, m)
#define _Inout_updates_bytes_(n)
#define _Field_size_(n)
#define _Field_size_bytes_(n)
#define _Outptr_
#define _Outptr_opt_
#define _Success_(x)
#define _When_(c, a)
#define _Must_inspect_result_
#define _Use_decl_annotations_
#define _IRQL_requires_(x)
#define _IRQL_requires_max_(x)
#define _IRQL_requires_min_(x)
#define _IRQL_requires_same_
#define _IRQL_always_function_max_(x)
#define _Function_class_(x)
#define _Dispatch_type_(x)
#define _Requires_lock_held_(x)
#define _Requires_lock_not_held_(x)
#define _Acquires_lock_(x)
#define _Releases_lock_(x)
#define _Analysis_assume_(x)
#define __drv_dispatchType(x)

/* The rest of the SAL vocabulary KMDF samples and WDK headers put on driver code. */
#define _In_opt_z_
#define _In_reads_bytes_opt_(n)
#define _In_reads_opt_z_(n)
#define _Out_writes_opt_(n)
#define _Out_writes_bytes_opt_(n)
#define _Out_writes_bytes_all_opt_(n)
#define _Out_writes_bytes_to_opt_(n, m)
#define _Out_writes_to_(n, m)
#define _Inout_updates_(n)
#define _Inout_updates_opt_(n)
#define _Inout_updates_bytes_opt_(n)
#define _Inout_updates_bytes_all_(n)
#define _Outptr_result_maybenull_
#define _Outptr_opt_result_maybenull_
#define _Outptr_result_buffer_(n)
#define _Outptr_result_bytebuffer_(n)
#define _Out_range_(lo, hi)
#define _Field_range_(lo, hi)
#define _Ret_range_(lo, hi)
#define _Deref_out_range_(lo, hi)
#define _Ret_maybenull_
#define _Ret_notnull_
#define _Check_return_
#define _Null_terminated_
#define _Printf_format_string_
#define _Pre_
#define _Post_
#define _Pre_satisfies_(c)
#define _Post_satisfies_(c)
#define _At_(target, a)
#define _Strict_type_match_
#define _Reserved_
#define _Frees_ptr_
#define _Frees_ptr_opt_
#define _Post_writable_byte_size_(n)
#define _Requires_exclusive_lock_held_(x)
#define _Requires_shared_lock_held_(x)
#define _Guarded_by_(x)
#define _Interlocked_
#define _IRQL_raises_(x)
#define _IRQL_saves_
#define _IRQL_restores_
#define _IRQL_saves_global_(kind, param)
#define _IRQL_restores_global_(kind, param)
#define _IRQL_lowers_
#define _Kernel_requires_resource_held_(x)
#define _Kernel_float_saved_
#define _Kernel_float_restored_
#define _Kernel_float_used_
#define __drv_aliasesMem
#define __drv_allocatesMem(kind)
#define __drv_freesMem(kind)
#define __drv_maxIRQL(x)
#define __drv_requiresIRQL(x)
#define __drv_sameIRQL
#define __drv_when(c, a)

#define NTAPI
#define NTSYSAPI
#define EXTERN_C extern
#define FORCEINLINE static inline
#define DECLSPEC_ALIGN(x) __attribute__((aligned(x)))
#define PAGED_CODE() ((void)0)
#define UNREFERENCED_PARAMETER(p) ((void)(p))

#define PASSIVE_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2

/* ---- NTSTATUS (contract.md 1.2) ---------------------------------------------- */

typedef int32_t NTSTATUS, *PNTSTATUS;

#define NT_SUCCESS(s) (((NTSTATUS)(s)) >= 0)
#define NT_INFORMATION(s) ((((ULONG)(s)) >> 30) == 1)
#define NT_WARNING(s) ((((ULONG)(s)) >> 30) == 2)
#define NT_ERROR(s) ((((ULONG)(s)) >> 30) == 3)

#define STATUS_SUCCESS ((NTSTATUS)0x00000000)
#define STATUS_TIMEOUT ((NTSTATUS)0x00000102)
#define STATUS_PENDING ((NTSTATUS)0x00000103)
#define STATUS_BUFFER_OVERFLOW ((NTSTATUS)0x80000005)
#define STATUS_DEVICE_BUSY ((NTSTATUS)0x80000011)
#define STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001)
#define STATUS_NOT_IMPLEMENTED ((NTSTATUS)0xC0000002)
#define STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000D)
#define STATUS_NO_SUCH_DEVICE ((NTSTATUS)0xC000000E)
#define STATUS_INVALID_DEVICE_REQUEST ((NTSTATUS)0xC0000010)
#define STATUS_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023)
#define STATUS_SHARING_VIOLATION ((NTSTATUS)0xC0000043)
#define STATUS_DELETE_PENDING ((NTSTATUS)0xC0000056)
#define STATUS_REVISION_MISMATCH ((NTSTATUS)0xC0000059)
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009A)
#define STATUS_DEVICE_NOT_READY ((NTSTATUS)0xC00000A3)
#define STATUS_IO_TIMEOUT ((NTSTATUS)0xC00000B5)
#define STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BB)
#define STATUS_CANCELLED ((NTSTATUS)0xC0000120)
#define STATUS_INVALID_DEVICE_STATE ((NTSTATUS)0xC0000184)
#define STATUS_INVALID_BUFFER_SIZE ((NTSTATUS)0xC0000206)
#define STATUS_NOT_FOUND ((NTSTATUS)0xC0000225)
#define STATUS_DEVICE_REMOVED ((NTSTATUS)0xC00002B6)
#define STATUS_BAD_DATA ((NTSTATUS)0xC000090B)

/**
 * pcivirt_ntstatus_name() - the symbolic name of an NTSTATUS value.
 * @status: any value.
 *
 * Return: "STATUS_..." for every value listed above, otherwise NULL.
 */
PCIVIRT_API const char *pcivirt_ntstatus_name(NTSTATUS status);

/* ---- GUID and LUID (contract.md 1.4) ----------------------------------------- */

typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID, *PGUID, *LPGUID;
typedef const GUID *LPCGUID, *REFGUID;

#if defined(__GNUC__)
#define PCIVIRT_GUID_UNUSED __attribute__((unused))
#else
#define PCIVIRT_GUID_UNUSED
#endif

/* Each translation unit gets its own constant; GUIDs are compared by value. */
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                                                   \
    static const GUID name PCIVIRT_GUID_UNUSED = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}

static inline int
IsEqualGUID(const GUID *a, const GUID *b)
{
    return memcmp(a, b, sizeof(GUID)) == 0;
}
#define InlineIsEqualGUID IsEqualGUID

typedef struct _LUID {
    ULONG LowPart;
    LONG HighPart;
} LUID, *PLUID;

/* ---- power states ------------------------------------------------------------ */

typedef enum _DEVICE_POWER_STATE {
    PowerDeviceUnspecified = 0,
    PowerDeviceD0,
    PowerDeviceD1,
    PowerDeviceD2,
    PowerDeviceD3,
    PowerDeviceMaximum
} DEVICE_POWER_STATE,
    *PDEVICE_POWER_STATE;

/* ---- the INTERFACE header (contract.md 1.5) ---------------------------------- */

typedef VOID (*PINTERFACE_REFERENCE)(PVOID Context);
typedef VOID (*PINTERFACE_DEREFERENCE)(PVOID Context);

typedef struct _INTERFACE {
    USHORT Size;
    USHORT Version;
    PVOID Context;
    PINTERFACE_REFERENCE InterfaceReference;
    PINTERFACE_DEREFERENCE InterfaceDereference;
} INTERFACE, *PINTERFACE;

/* ---- IOCTL codes (contract.md 1.3) ------------------------------------------- */

#define CTL_CODE(DeviceType, Function, Method, Access)                                                                 \
    (((ULONG)(DeviceType) << 16) | ((ULONG)(Access) << 14) | ((ULONG)(Function) << 2) | (ULONG)(Method))

#define DEVICE_TYPE_FROM_CTL_CODE(c) (((ULONG)(c)&0xffff0000u) >> 16)
#define METHOD_FROM_CTL_CODE(c) ((ULONG)(c)&3u)

#define FILE_DEVICE_UNKNOWN 0x00000022
#define FILE_DEVICE_BUS_EXTENDER 0x0000002a

#define METHOD_BUFFERED 0
#define METHOD_IN_DIRECT 1
#define METHOD_OUT_DIRECT 2
#define METHOD_NEITHER 3

#define FILE_ANY_ACCESS 0
#define FILE_READ_ACCESS 0x0001
#define FILE_WRITE_ACCESS 0x0002
#define FILE_READ_DATA 0x0001
#define FILE_WRITE_DATA 0x0002

#define IRP_MJ_DEVICE_CONTROL 0x0e
#define IRP_MJ_INTERNAL_DEVICE_CONTROL 0x0f
#define IRP_MJ_PNP 0x1b

#define IRP_MN_START_DEVICE 0x00
#define IRP_MN_QUERY_REMOVE_DEVICE 0x01
#define IRP_MN_REMOVE_DEVICE 0x02
#define IRP_MN_CANCEL_REMOVE_DEVICE 0x03
#define IRP_MN_STOP_DEVICE 0x04
#define IRP_MN_QUERY_STOP_DEVICE 0x05
#define IRP_MN_CANCEL_STOP_DEVICE 0x06
#define IRP_MN_QUERY_INTERFACE 0x08
#define IRP_MN_SURPRISE_REMOVAL 0x17

/* ---- PHYSICAL_ADDRESS and CM_PARTIAL_RESOURCE_DESCRIPTOR (contract.md 1.6) ---- */

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

#define CmResourceTypeNull 0
#define CmResourceTypePort 1
#define CmResourceTypeInterrupt 2
#define CmResourceTypeMemory 3
#define CmResourceTypeDma 4
#define CmResourceTypeDeviceSpecific 5
#define CmResourceTypeBusNumber 6
#define CmResourceTypeMemoryLarge 7
#define CmResourceTypeNonArbitrated 128
#define CmResourceTypeConfigData 128
#define CmResourceTypeDevicePrivate 129
#define CmResourceTypePcCardConfig 130
#define CmResourceTypeMfCardConfig 131
#define CmResourceTypeConnection 132

#define CmResourceShareUndetermined 0
#define CmResourceShareDeviceExclusive 1
#define CmResourceShareDriverExclusive 2
#define CmResourceShareShared 3

#define CM_RESOURCE_MEMORY_READ_WRITE 0x0000
#define CM_RESOURCE_MEMORY_READ_ONLY 0x0001
#define CM_RESOURCE_MEMORY_WRITE_ONLY 0x0002
#define CM_RESOURCE_MEMORY_WRITEABILITY_MASK 0x0003
#define CM_RESOURCE_MEMORY_PREFETCHABLE 0x0004
#define CM_RESOURCE_MEMORY_COMBINEDWRITE 0x0008
#define CM_RESOURCE_MEMORY_24 0x0010
#define CM_RESOURCE_MEMORY_CACHEABLE 0x0020
#define CM_RESOURCE_MEMORY_WINDOW_DECODE 0x0040
#define CM_RESOURCE_MEMORY_BAR 0x0080
#define CM_RESOURCE_MEMORY_COMPAT_FOR_INACCESSIBLE_RANGE 0x0100
#define CM_RESOURCE_MEMORY_LARGE 0x0E00
#define CM_RESOURCE_MEMORY_LARGE_40 0x0200
#define CM_RESOURCE_MEMORY_LARGE_48 0x0400
#define CM_RESOURCE_MEMORY_LARGE_64 0x0800

#define CM_RESOURCE_MEMORY_LARGE_40_MAXLEN 0x000000FFFFFFFF00ull
#define CM_RESOURCE_MEMORY_LARGE_48_MAXLEN 0x0000FFFFFFFF0000ull
#define CM_RESOURCE_MEMORY_LARGE_64_MAXLEN 0xFFFFFFFF00000000ull

#pragma pack(push, 4)
typedef struct _CM_PARTIAL_RESOURCE_DESCRIPTOR {
    UCHAR Type;
    UCHAR ShareDisposition;
    USHORT Flags;
    union {
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length;
        } Generic;
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length;
        } Port;
        struct {
            ULONG Level;
            ULONG Vector;
            KAFFINITY Affinity;
        } Interrupt;
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length;
        } Memory;
        struct {
            ULONG Channel;
            ULONG Port;
            ULONG Reserved1;
        } Dma;
        struct {
            ULONG Data[3];
        } DevicePrivate;
        struct {
            ULONG Start;
            ULONG Length;
            ULONG Reserved;
        } BusNumber;
        struct {
            ULONG DataSize;
            ULONG Reserved1;
            ULONG Reserved2;
        } DeviceSpecificData;
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length40;
        } Memory40;
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length48;
        } Memory48;
        struct {
            PHYSICAL_ADDRESS Start;
            ULONG Length64;
        } Memory64;
    } u;
} CM_PARTIAL_RESOURCE_DESCRIPTOR, *PCM_PARTIAL_RESOURCE_DESCRIPTOR;
#pragma pack(pop)

/**
 * RtlCmDecodeMemIoResource() - the 64-bit start and length of a memory or port
 * descriptor, undoing the MemoryLarge length scaling (contract.md 1.6).
 * @Descriptor: a Port, Memory or MemoryLarge descriptor.
 * @Start: optional; receives the start address.
 *
 * Return: the length in bytes; 0 for any other type or an invalid LARGE flag set.
 */
PCIVIRT_API ULONGLONG RtlCmDecodeMemIoResource(const CM_PARTIAL_RESOURCE_DESCRIPTOR *Descriptor, PULONGLONG Start);

/**
 * RtlCmEncodeMemIoResource() - fill a Port, Memory or MemoryLarge descriptor.
 * @Descriptor: the descriptor to update; Type, Flags (the LARGE bits) and u are written,
 *              the other flag bits and ShareDisposition are kept.
 * @Type: CmResourceTypePort, CmResourceTypeMemory or CmResourceTypeMemoryLarge.
 * @Length: length in bytes.
 * @Start: start address.
 *
 * For MemoryLarge the smallest of LARGE_40/48/64 that represents @Length exactly is used.
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for another type, a Port or Memory
 * length above 4 GiB - 1, or a MemoryLarge length no scaling represents exactly.
 */
PCIVIRT_API NTSTATUS RtlCmEncodeMemIoResource(PCM_PARTIAL_RESOURCE_DESCRIPTOR Descriptor, UCHAR Type, ULONGLONG Length,
                                              ULONGLONG Start);

/* ---- PCI constants ----------------------------------------------------------- */

#define PCI_TYPE0_ADDRESSES 6
#define PCI_TYPE0_BAR_COUNT 6

#define RtlZeroMemory(d, n) memset((d), 0, (n))
#define RtlCopyMemory(d, s, n) memcpy((d), (s), (n))
#define RtlFillMemory(d, n, v) memset((d), (v), (n))
#define RtlEqualMemory(a, b, n) (memcmp((a), (b), (n)) == 0)

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_NT_H */
