/*
 * pcivirt/wdf.h - a small KMDF-style runtime: objects, PnP, device interfaces,
 * query interfaces, I/O queues and requests, locks, events, work items, timers.
 *
 * Why it is shaped so.  The pcivirt.h contract lives between two kernel components
 * that Windows' PnP and I/O managers connect (../shared/spec/contract.md 3, 4, 7).
 * A PF driver written for pcivirt should read like the KMDF code of the docs'
 * example and compile unchanged where it uses only what is declared here, so the
 * driver-facing half of this header keeps the real KMDF/WDM names, structures and
 * initialisation macros (style-anchors.md F).  Everything around the drivers - the
 * host that plays the PnP manager, the bus model that creates PDOs, the device-
 * interface registry, and the client side the virtualization stack uses to open a
 * target, query interfaces and send IOCTLs - is pcivirt's own snake_case API
 * (prefix wdf_), declared in pcivirt/wdf_host.h, which this header includes at
 * its end.  The few pcivirt extensions a driver itself calls
 * (wdf_query_interface_requested, wdf_interface_reference/dereference) are here.
 *
 * Threads.  All callbacks run at "PASSIVE_LEVEL" on ordinary threads and may run
 * concurrently (parallel dispatch is the default, contract.md 4.2).  A runtime
 * call that can block (KeWaitForSingleObject, WdfWaitLockAcquire with a timeout
 * other than zero, a synchronous send, WdfTimerStop/WdfWorkItemFlush with wait)
 * must not be made while holding a WDFSPINLOCK or WDFWAITLOCK; the verifier
 * reports it.  docs/RUNTIME.md states every locking rule.
 *
 * Time.  Every timeout and timer uses the host's clock, real or virtual; relative
 * timeouts are negative LONGLONG counts of 100 ns as in NT, absolute ones positive
 * counts of 100 ns since the clock's epoch.
 *
 * Host binding.  Each host is independent (no global state).  Runtime calls made
 * from a driver callback know their host through the object they are given;
 * KeInitializeEvent and the wait functions, which take no object, use the host
 * the calling thread is running a callback for (or was bound to with
 * wdf_thread_bind()).
 */
#ifndef PCIVIRT_WDF_H
#define PCIVIRT_WDF_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/nt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- scalar types and status values the runtime adds to pcivirt/nt.h ---- */

typedef uintptr_t ULONG_PTR, *PULONG_PTR;
typedef char CCHAR;
typedef CCHAR KPROCESSOR_MODE;
typedef LONG KPRIORITY;
typedef const char *PCSTR;
typedef LONGLONG *PLONGLONG;

#define KernelMode ((KPROCESSOR_MODE)0)
#define UserMode ((KPROCESSOR_MODE)1)

#define IO_NO_INCREMENT 0

#ifndef STATUS_NO_MORE_ENTRIES
#define STATUS_NO_MORE_ENTRIES ((NTSTATUS)0x8000001A)
#endif
#ifndef STATUS_OBJECT_NAME_NOT_FOUND
#define STATUS_OBJECT_NAME_NOT_FOUND ((NTSTATUS)0xC0000034)
#endif
#ifndef STATUS_OBJECT_NAME_COLLISION
#define STATUS_OBJECT_NAME_COLLISION ((NTSTATUS)0xC0000035)
#endif
#ifndef STATUS_INVALID_HANDLE
#define STATUS_INVALID_HANDLE ((NTSTATUS)0xC0000008)
#endif
#ifndef STATUS_ACCESS_DENIED
#define STATUS_ACCESS_DENIED ((NTSTATUS)0xC0000022)
#endif
#ifndef STATUS_DRIVER_ENTRYPOINT_NOT_FOUND
#define STATUS_DRIVER_ENTRYPOINT_NOT_FOUND ((NTSTATUS)0xC0000263)
#endif
#ifndef STATUS_DLL_NOT_FOUND
#define STATUS_DLL_NOT_FOUND ((NTSTATUS)0xC0000135)
#endif

/* Counted UTF-16 string.  Only used for reference strings and registry paths. */
typedef struct _UNICODE_STRING {
    USHORT Length;        /* bytes, without a terminator */
    USHORT MaximumLength; /* bytes */
    WCHAR *Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

/* The driver object the host passes to DriverEntry; opaque to drivers. */
typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;

/* DriverEntry: the one symbol a driver module exports. */
typedef NTSTATUS DRIVER_INITIALIZE(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;

/* ---- the slice of the WDM IRP that a preprocess callback uses ---------------- */

typedef struct _IO_STATUS_BLOCK {
    NTSTATUS Status;
    ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

typedef struct _IO_STACK_LOCATION {
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    UCHAR Flags;
    UCHAR Control;
    union {
        struct {
            const GUID *InterfaceType;
            USHORT Size;
            USHORT Version;
            PINTERFACE Interface;
            PVOID InterfaceSpecificData;
        } QueryInterface;
        struct {
            ULONG OutputBufferLength;
            ULONG InputBufferLength;
            ULONG IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl;
    } Parameters;
} IO_STACK_LOCATION, *PIO_STACK_LOCATION;

struct pcivirt_irp_private;

/*
 * An I/O request packet as far as a driver may look into it: the status block,
 * the requestor mode and one stack location.  The rest is the runtime's.
 */
typedef struct _IRP {
    IO_STATUS_BLOCK IoStatus;
    KPROCESSOR_MODE RequestorMode;
    BOOLEAN PendingReturned;
    struct pcivirt_irp_private *Private;
} IRP, *PIRP;

/**
 * IoGetCurrentIrpStackLocation() - the stack location for the driver holding @Irp.
 */
PCIVIRT_API PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(PIRP Irp);

/**
 * IoCompleteRequest() - complete @Irp with Irp->IoStatus.  The IRP must not be
 * touched afterwards.  Completing twice is reported by the verifier and ignored.
 */
PCIVIRT_API VOID IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost);

/**
 * IoMarkIrpPending() - the dispatcher will return STATUS_PENDING and complete
 * @Irp later (possibly from another thread).
 */
PCIVIRT_API VOID IoMarkIrpPending(PIRP Irp);

/* The runtime keeps one stack location per IRP, so these only document intent. */
PCIVIRT_API VOID IoSkipCurrentIrpStackLocation(PIRP Irp);
PCIVIRT_API VOID IoCopyCurrentIrpStackLocationToNext(PIRP Irp);

/* ---- handles -------------------------------------------------------------------- */

typedef void *WDFOBJECT, **PWDFOBJECT;
typedef struct WDFDRIVER__ *WDFDRIVER;
typedef struct WDFDEVICE__ *WDFDEVICE;
typedef struct WDFQUEUE__ *WDFQUEUE;
typedef struct WDFREQUEST__ *WDFREQUEST;
typedef struct WDFWAITLOCK__ *WDFWAITLOCK;
typedef struct WDFSPINLOCK__ *WDFSPINLOCK;
typedef struct WDFWORKITEM__ *WDFWORKITEM;
typedef struct WDFTIMER__ *WDFTIMER;
typedef struct WDFCMRESLIST__ *WDFCMRESLIST;
typedef struct WDFDEVICE_INIT WDFDEVICE_INIT, *PWDFDEVICE_INIT;

#define WDF_NO_HANDLE NULL
#define WDF_NO_OBJECT_ATTRIBUTES NULL
#define WDF_NO_EVENT_CALLBACK NULL

typedef enum _WDF_TRI_STATE { WdfFalse = 0, WdfTrue = 1, WdfUseDefault = 2 } WDF_TRI_STATE;

/* ---- object attributes and typed contexts --------------------------------------- */

typedef VOID EVT_WDF_OBJECT_CONTEXT_CLEANUP(WDFOBJECT Object);
typedef EVT_WDF_OBJECT_CONTEXT_CLEANUP *PFN_WDF_OBJECT_CONTEXT_CLEANUP;
typedef VOID EVT_WDF_OBJECT_CONTEXT_DESTROY(WDFOBJECT Object);
typedef EVT_WDF_OBJECT_CONTEXT_DESTROY *PFN_WDF_OBJECT_CONTEXT_DESTROY;

typedef enum _WDF_EXECUTION_LEVEL {
    WdfExecutionLevelInvalid = 0,
    WdfExecutionLevelInheritFromParent,
    WdfExecutionLevelPassive,
    WdfExecutionLevelDispatch
} WDF_EXECUTION_LEVEL;

/*
 * Only None and InheritFromParent (which resolves to None) are supported: the
 * runtime never serializes callbacks on the driver's behalf; a create call given
 * Device or Queue scope fails with STATUS_NOT_SUPPORTED.
 */
typedef enum _WDF_SYNCHRONIZATION_SCOPE {
    WdfSynchronizationScopeInvalid = 0,
    WdfSynchronizationScopeInheritFromParent,
    WdfSynchronizationScopeDevice,
    WdfSynchronizationScopeQueue,
    WdfSynchronizationScopeNone
} WDF_SYNCHRONIZATION_SCOPE;

typedef struct _WDF_OBJECT_CONTEXT_TYPE_INFO {
    ULONG Size;
    const char *ContextName;
    size_t ContextSize;
    const struct _WDF_OBJECT_CONTEXT_TYPE_INFO *UniqueType;
    PVOID EvtDriverGetUniqueContextType;
} WDF_OBJECT_CONTEXT_TYPE_INFO, *PWDF_OBJECT_CONTEXT_TYPE_INFO;
typedef const WDF_OBJECT_CONTEXT_TYPE_INFO *PCWDF_OBJECT_CONTEXT_TYPE_INFO;

typedef struct _WDF_OBJECT_ATTRIBUTES {
    ULONG Size;
    PFN_WDF_OBJECT_CONTEXT_CLEANUP EvtCleanupCallback;
    PFN_WDF_OBJECT_CONTEXT_DESTROY EvtDestroyCallback;
    WDF_EXECUTION_LEVEL ExecutionLevel;
    WDF_SYNCHRONIZATION_SCOPE SynchronizationScope;
    WDFOBJECT ParentObject;
    size_t ContextSizeOverride;
    PCWDF_OBJECT_CONTEXT_TYPE_INFO ContextTypeInfo;
} WDF_OBJECT_ATTRIBUTES, *PWDF_OBJECT_ATTRIBUTES;

static inline VOID
WDF_OBJECT_ATTRIBUTES_INIT(PWDF_OBJECT_ATTRIBUTES Attributes)
{
    RtlZeroMemory(Attributes, sizeof(*Attributes));
    Attributes->Size = sizeof(*Attributes);
    Attributes->ExecutionLevel = WdfExecutionLevelInheritFromParent;
    Attributes->SynchronizationScope = WdfSynchronizationScopeInheritFromParent;
}

#define WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype) _WDF_##_contexttype##_TYPE_INFO
#define WDF_GET_CONTEXT_TYPE_INFO(_contexttype) (&WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype))

/**
 * WdfObjectGetTypedContextWorker() - the context of type @TypeInfo on @Handle.
 *
 * Types are matched by name and size (each translation unit has its own copy of
 * the type-info object).  Return: the context, or NULL if @Handle has no context
 * of that type.
 */
PCIVIRT_API PVOID WdfObjectGetTypedContextWorker(WDFOBJECT Handle, PCWDF_OBJECT_CONTEXT_TYPE_INFO TypeInfo);

/*
 * WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(T, Fn): declares the type info of T and a
 * typed accessor `T *Fn(WDFOBJECT)`, as KMDF does.
 */
#define WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(_contexttype, _castingfunction)                                             \
    static const WDF_OBJECT_CONTEXT_TYPE_INFO WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype)                                 \
        PCIVIRT_GUID_UNUSED = {sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO), #_contexttype, sizeof(_contexttype),              \
                               &WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype), NULL};                                       \
    static inline _contexttype *_castingfunction(WDFOBJECT Handle)                                                     \
    {                                                                                                                  \
        return (_contexttype *)WdfObjectGetTypedContextWorker(Handle, WDF_GET_CONTEXT_TYPE_INFO(_contexttype));        \
    }

#define WDF_DECLARE_CONTEXT_TYPE(_contexttype)                                                                         \
    WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(_contexttype, WdfObjectGet_##_contexttype)

#define WdfObjectGetTypedContext(handle, type)                                                                         \
    ((type *)WdfObjectGetTypedContextWorker((WDFOBJECT)(handle), WDF_GET_CONTEXT_TYPE_INFO(type)))

#define WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(_attributes, _contexttype)                                              \
    ((_attributes)->ContextTypeInfo = WDF_GET_CONTEXT_TYPE_INFO(_contexttype)->UniqueType)

#define WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(_attributes, _contexttype)                                             \
    do {                                                                                                               \
        WDF_OBJECT_ATTRIBUTES_INIT(_attributes);                                                                       \
        WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(_attributes, _contexttype);                                             \
    } while (0)

/**
 * WdfObjectDelete() - delete @Object and its children (children first; each
 * object's EvtCleanupCallback runs, EvtDestroyCallback when the last reference
 * goes).  Devices are deleted by the PnP manager, not by this call (reported).
 */
PCIVIRT_API VOID WdfObjectDelete(WDFOBJECT Object);

/* WdfObjectReference()/WdfObjectDereference(): keep an object's memory alive. */
PCIVIRT_API VOID WdfObjectReference(WDFOBJECT Handle);
PCIVIRT_API VOID WdfObjectDereference(WDFOBJECT Handle);

/**
 * WdfObjectContextGetObject() - the object owning context memory @ContextPointer.
 * As in KMDF, @ContextPointer must be a pointer a context accessor returned (the
 * runtime reads a header just before it); NULL gives NULL.
 * Return: the object, or NULL if the header does not match.
 */
PCIVIRT_API WDFOBJECT WdfObjectContextGetObject(PVOID ContextPointer);

/* ---- driver ------------------------------------------------------------------------ */

typedef NTSTATUS EVT_WDF_DRIVER_DEVICE_ADD(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit);
typedef EVT_WDF_DRIVER_DEVICE_ADD *PFN_WDF_DRIVER_DEVICE_ADD;
typedef VOID EVT_WDF_DRIVER_UNLOAD(WDFDRIVER Driver);
typedef EVT_WDF_DRIVER_UNLOAD *PFN_WDF_DRIVER_UNLOAD;

typedef struct _WDF_DRIVER_CONFIG {
    ULONG Size;
    PFN_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd;
    PFN_WDF_DRIVER_UNLOAD EvtDriverUnload;
    ULONG DriverInitFlags;
    ULONG DriverPoolTag;
} WDF_DRIVER_CONFIG, *PWDF_DRIVER_CONFIG;

static inline VOID
WDF_DRIVER_CONFIG_INIT(PWDF_DRIVER_CONFIG Config, PFN_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd)
{
    RtlZeroMemory(Config, sizeof(*Config));
    Config->Size = sizeof(*Config);
    Config->EvtDriverDeviceAdd = EvtDriverDeviceAdd;
}

/**
 * WdfDriverCreate() - create the framework driver object; call once from DriverEntry.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (bad config or no device-add
 * callback), STATUS_INVALID_DEVICE_STATE (second call), STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS WdfDriverCreate(PDRIVER_OBJECT DriverObject, PCUNICODE_STRING RegistryPath,
                                     PWDF_OBJECT_ATTRIBUTES DriverAttributes, PWDF_DRIVER_CONFIG DriverConfig,
                                     WDFDRIVER *Driver);

/* ---- resources --------------------------------------------------------------------- */

/* WdfCmResourceListGetCount()/GetDescriptor(): the raw or translated list at start. */
PCIVIRT_API ULONG WdfCmResourceListGetCount(WDFCMRESLIST List);
PCIVIRT_API PCM_PARTIAL_RESOURCE_DESCRIPTOR WdfCmResourceListGetDescriptor(WDFCMRESLIST List, ULONG Index);

/* ---- device init and PnP/power callbacks ----------------------------------------- */

typedef enum _WDF_POWER_DEVICE_STATE {
    WdfPowerDeviceInvalid = 0,
    WdfPowerDeviceD0,
    WdfPowerDeviceD1,
    WdfPowerDeviceD2,
    WdfPowerDeviceD3,
    WdfPowerDeviceD3Final,
    WdfPowerDevicePrepareForHibernation,
    WdfPowerDeviceMaximum
} WDF_POWER_DEVICE_STATE;

typedef NTSTATUS EVT_WDF_DEVICE_PREPARE_HARDWARE(WDFDEVICE Device, WDFCMRESLIST ResourcesRaw,
                                                 WDFCMRESLIST ResourcesTranslated);
typedef EVT_WDF_DEVICE_PREPARE_HARDWARE *PFN_WDF_DEVICE_PREPARE_HARDWARE;
typedef NTSTATUS EVT_WDF_DEVICE_RELEASE_HARDWARE(WDFDEVICE Device, WDFCMRESLIST ResourcesTranslated);
typedef EVT_WDF_DEVICE_RELEASE_HARDWARE *PFN_WDF_DEVICE_RELEASE_HARDWARE;
typedef NTSTATUS EVT_WDF_DEVICE_D0_ENTRY(WDFDEVICE Device, WDF_POWER_DEVICE_STATE PreviousState);
typedef EVT_WDF_DEVICE_D0_ENTRY *PFN_WDF_DEVICE_D0_ENTRY;
typedef NTSTATUS EVT_WDF_DEVICE_D0_EXIT(WDFDEVICE Device, WDF_POWER_DEVICE_STATE TargetState);
typedef EVT_WDF_DEVICE_D0_EXIT *PFN_WDF_DEVICE_D0_EXIT;
typedef VOID EVT_WDF_DEVICE_SURPRISE_REMOVAL(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SURPRISE_REMOVAL *PFN_WDF_DEVICE_SURPRISE_REMOVAL;
typedef NTSTATUS EVT_WDF_DEVICE_QUERY_STOP(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_QUERY_STOP *PFN_WDF_DEVICE_QUERY_STOP;
typedef NTSTATUS EVT_WDF_DEVICE_QUERY_REMOVE(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_QUERY_REMOVE *PFN_WDF_DEVICE_QUERY_REMOVE;
typedef NTSTATUS EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT *PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT;
typedef VOID EVT_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP *PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP;

/*
 * Order (KMDF's): start runs bottom-up through the stack, each device
 * PrepareHardware -> D0Entry -> (first start only) SelfManagedIoInit, then its
 * power-managed queues start and its device interfaces are enabled.  Stop runs
 * top-down: power-managed queues stop, D0Exit(D3), ReleaseHardware.  Surprise
 * removal: SurpriseRemoval, interfaces disabled, D0Exit(D3Final), ReleaseHardware.
 * Remove: (if still started) D0Exit(D3Final), ReleaseHardware; SelfManagedIoCleanup;
 * interfaces disabled; queues purged; the device object deleted.
 */
typedef struct _WDF_PNPPOWER_EVENT_CALLBACKS {
    ULONG Size;
    PFN_WDF_DEVICE_D0_ENTRY EvtDeviceD0Entry;
    PFN_WDF_DEVICE_D0_EXIT EvtDeviceD0Exit;
    PFN_WDF_DEVICE_PREPARE_HARDWARE EvtDevicePrepareHardware;
    PFN_WDF_DEVICE_RELEASE_HARDWARE EvtDeviceReleaseHardware;
    PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT EvtDeviceSelfManagedIoInit;
    PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP EvtDeviceSelfManagedIoCleanup;
    PFN_WDF_DEVICE_SURPRISE_REMOVAL EvtDeviceSurpriseRemoval;
    PFN_WDF_DEVICE_QUERY_REMOVE EvtDeviceQueryRemove;
    PFN_WDF_DEVICE_QUERY_STOP EvtDeviceQueryStop;
} WDF_PNPPOWER_EVENT_CALLBACKS, *PWDF_PNPPOWER_EVENT_CALLBACKS;

static inline VOID
WDF_PNPPOWER_EVENT_CALLBACKS_INIT(PWDF_PNPPOWER_EVENT_CALLBACKS Callbacks)
{
    RtlZeroMemory(Callbacks, sizeof(*Callbacks));
    Callbacks->Size = sizeof(*Callbacks);
}

typedef enum _WDF_DEVICE_IO_TYPE {
    WdfDeviceIoUndefined = 0,
    WdfDeviceIoNeither,
    WdfDeviceIoBuffered,
    WdfDeviceIoDirect,
    WdfDeviceIoBufferedOrDirect = 4
} WDF_DEVICE_IO_TYPE;

/* WdfFdoInitSetFilter() - the device being added is a (lower or upper) filter. */
PCIVIRT_API VOID WdfFdoInitSetFilter(PWDFDEVICE_INIT DeviceInit);

/* WdfDeviceInitSetPnpPowerEventCallbacks() - copy @Callbacks into @DeviceInit. */
PCIVIRT_API VOID WdfDeviceInitSetPnpPowerEventCallbacks(PWDFDEVICE_INIT DeviceInit,
                                                        PWDF_PNPPOWER_EVENT_CALLBACKS Callbacks);

/* WdfDeviceInitSetIoType() - only WdfDeviceIoBuffered is modelled; others are recorded. */
PCIVIRT_API VOID WdfDeviceInitSetIoType(PWDFDEVICE_INIT DeviceInit, WDF_DEVICE_IO_TYPE IoType);

typedef NTSTATUS EVT_WDFDEVICE_WDM_IRP_PREPROCESS(WDFDEVICE Device, PIRP Irp);
typedef EVT_WDFDEVICE_WDM_IRP_PREPROCESS *PFN_WDFDEVICE_WDM_IRP_PREPROCESS;

/**
 * WdfDeviceInitAssignWdmIrpPreprocessCallback() - see PnP IRPs before the framework.
 * @MajorFunction: IRP_MJ_PNP (the only major the runtime routes through this hook).
 * @MinorFunctions: the minors to see (e.g. IRP_MN_QUERY_STOP_DEVICE); NULL = all.
 *
 * The callback may block (the PnP manager waits; PnP IRPs per device are
 * serialized).  It then either completes the IRP itself (set Irp->IoStatus.Status,
 * IoCompleteRequest, return that status: a failure on a query vetoes it, and the
 * PnP manager sends the matching CANCEL), or hands it on with
 * IoSkipCurrentIrpStackLocation + return WdfDeviceWdmDispatchPreprocessedIrp(),
 * or marks it pending, returns STATUS_PENDING and does either later on another
 * thread.  Return: STATUS_SUCCESS, STATUS_INVALID_PARAMETER.
 */
PCIVIRT_API NTSTATUS WdfDeviceInitAssignWdmIrpPreprocessCallback(PWDFDEVICE_INIT DeviceInit,
                                                                 PFN_WDFDEVICE_WDM_IRP_PREPROCESS Callback,
                                                                 UCHAR MajorFunction, PUCHAR MinorFunctions,
                                                                 ULONG NumMinorFunctions);

/**
 * WdfDeviceWdmDispatchPreprocessedIrp() - let the framework process @Irp (its
 * callbacks, then the lower devices).  Completes the IRP; returns its status.
 */
PCIVIRT_API NTSTATUS WdfDeviceWdmDispatchPreprocessedIrp(WDFDEVICE Device, PIRP Irp);

/**
 * WdfDeviceCreate() - create the device object for @*DeviceInit and attach it to
 * the stack.  On success *DeviceInit is owned by the runtime and set to NULL.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER; STATUS_INVALID_DEVICE_STATE
 * (called twice, or outside EvtDriverDeviceAdd); STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS WdfDeviceCreate(PWDFDEVICE_INIT *DeviceInit, PWDF_OBJECT_ATTRIBUTES DeviceAttributes,
                                     WDFDEVICE *Device);

/* WdfDeviceGetDriver() - the driver that created @Device. */
PCIVIRT_API WDFDRIVER WdfDeviceGetDriver(WDFDEVICE Device);

/**
 * WdfDeviceCreateDeviceInterface() - register an interface of class @InterfaceClassGUID.
 * @ReferenceString: NULL, or an ASCII-only UTF-16 string appended to the link.
 *
 * The instance is enabled when the device starts and disabled on removal.
 * Return: STATUS_SUCCESS; STATUS_OBJECT_NAME_COLLISION (same class and reference
 * string twice); STATUS_INVALID_PARAMETER; STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS WdfDeviceCreateDeviceInterface(WDFDEVICE Device, const GUID *InterfaceClassGUID,
                                                    PCUNICODE_STRING ReferenceString);

/* WdfDeviceSetDeviceInterfaceState() - enable or disable one registered instance. */
PCIVIRT_API VOID WdfDeviceSetDeviceInterfaceState(WDFDEVICE Device, const GUID *InterfaceClassGUID,
                                                  PCUNICODE_STRING ReferenceString, BOOLEAN IsInterfaceEnabled);

/* ---- query interfaces (contract.md 1.5, 3.2) -------------------------------------- */

typedef NTSTATUS EVT_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST(WDFDEVICE Device, LPGUID InterfaceType,
                                                                PINTERFACE ExposedInterface,
                                                                PVOID ExposedInterfaceSpecificData);
typedef EVT_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST *PFN_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST;

typedef struct _WDF_QUERY_INTERFACE_CONFIG {
    ULONG Size;
    PINTERFACE Interface;
    const GUID *InterfaceType;
    BOOLEAN SendQueryToParentStack;
    PFN_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST EvtDeviceProcessQueryInterfaceRequest;
    BOOLEAN ImportInterface;
} WDF_QUERY_INTERFACE_CONFIG, *PWDF_QUERY_INTERFACE_CONFIG;

static inline VOID
WDF_QUERY_INTERFACE_CONFIG_INIT(PWDF_QUERY_INTERFACE_CONFIG InterfaceConfig, PINTERFACE Interface,
                                const GUID *InterfaceType,
                                PFN_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST EvtDeviceProcessQueryInterfaceRequest)
{
    RtlZeroMemory(InterfaceConfig, sizeof(*InterfaceConfig));
    InterfaceConfig->Size = sizeof(*InterfaceConfig);
    InterfaceConfig->Interface = Interface;
    InterfaceConfig->InterfaceType = InterfaceType;
    InterfaceConfig->EvtDeviceProcessQueryInterfaceRequest = EvtDeviceProcessQueryInterfaceRequest;
}

/**
 * WdfDeviceAddQueryInterface() - answer IRP_MN_QUERY_INTERFACE for a GUID.
 *
 * The runtime copies Interface->Size bytes of the table now.  On a query for
 * InterfaceType (contract.md 1.5): if the registered Size <= the requested Size
 * and the registered Version <= the requested Version, it copies exactly the
 * registered Size bytes into the requester's buffer, calls the optional
 * EvtDeviceProcessQueryInterfaceRequest (which may fill more of the buffer, up to
 * the requested Size - see wdf_query_interface_requested()), and on success calls
 * the table's InterfaceReference; otherwise the query fails with
 * STATUS_INVALID_BUFFER_SIZE.  With ImportInterface the rule and copy are skipped
 * and the callback alone fills the requester's buffer.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (Size < sizeof(INTERFACE), no
 * GUID, neither a table nor a callback); STATUS_OBJECT_NAME_COLLISION (GUID
 * registered twice on this device); STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS WdfDeviceAddQueryInterface(WDFDEVICE Device, PWDF_QUERY_INTERFACE_CONFIG InterfaceConfig);

/**
 * wdf_query_interface_requested() - inside EvtDeviceProcessQueryInterfaceRequest,
 * the Size and Version the requester asked for (pcivirt extension [I]; KMDF's
 * callback sees only the copied table).  This is how a PF serves the v1 (120 byte)
 * and v2 (144 byte) SR-IOV tables under one GUID (contract.md 3.2).
 * Return: STATUS_SUCCESS, or STATUS_INVALID_DEVICE_STATE if @ExposedInterface is
 * not the buffer of a query in progress on @Device.
 */
PCIVIRT_API NTSTATUS wdf_query_interface_requested(WDFDEVICE Device, const INTERFACE *ExposedInterface, USHORT *Size,
                                                   USHORT *Version);

/**
 * WdfFdoQueryForInterface() - send IRP_MN_QUERY_INTERFACE to the device below
 * @Fdo (down to the PDO), e.g. for GUID_PCIVIRT_BUS_INTERFACE (pcivirt/bus.h).
 * Return: the exporter's status; STATUS_NOT_SUPPORTED if no device below exports
 * @InterfaceType; STATUS_INVALID_BUFFER_SIZE by the size/version rule.
 */
PCIVIRT_API NTSTATUS WdfFdoQueryForInterface(WDFDEVICE Fdo, const GUID *InterfaceType, PINTERFACE Interface,
                                             USHORT Size, USHORT Version, PVOID InterfaceSpecificData);

/*
 * Reference functions for a driver's exported table: KMDF's no-ops, and counted
 * ones (pcivirt) for a table whose Context is a runtime object context (typically
 * the device context).  The counted pair keeps the device's memory - and so the
 * table and its Context - alive until the last dereference (contract.md 7.6), and
 * the verifier reports a dereference below zero.
 */
PCIVIRT_API VOID WdfDeviceInterfaceReferenceNoOp(PVOID Context);
PCIVIRT_API VOID WdfDeviceInterfaceDereferenceNoOp(PVOID Context);
PCIVIRT_API VOID wdf_interface_reference(PVOID Context);
PCIVIRT_API VOID wdf_interface_dereference(PVOID Context);

/* ---- queues and requests ------------------------------------------------------------ */

typedef enum _WDF_IO_QUEUE_DISPATCH_TYPE {
    WdfIoQueueDispatchInvalid = 0,
    WdfIoQueueDispatchSequential,
    WdfIoQueueDispatchParallel,
    WdfIoQueueDispatchManual,
    WdfIoQueueDispatchMax
} WDF_IO_QUEUE_DISPATCH_TYPE;

typedef enum _WDF_REQUEST_TYPE {
    WdfRequestTypeCreate = 0x0,
    WdfRequestTypeClose = 0x2,
    WdfRequestTypeRead = 0x3,
    WdfRequestTypeWrite = 0x4,
    WdfRequestTypeDeviceControl = 0xE,
    WdfRequestTypeDeviceControlInternal = 0xF,
    WdfRequestTypeMax
} WDF_REQUEST_TYPE;

typedef VOID EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength,
                                                size_t InputBufferLength, ULONG IoControlCode);
typedef EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL *PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL;
typedef VOID EVT_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength,
                                                         size_t InputBufferLength, ULONG IoControlCode);
typedef EVT_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL *PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL;
typedef VOID EVT_WDF_IO_QUEUE_IO_DEFAULT(WDFQUEUE Queue, WDFREQUEST Request);
typedef EVT_WDF_IO_QUEUE_IO_DEFAULT *PFN_WDF_IO_QUEUE_IO_DEFAULT;
typedef VOID EVT_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE(WDFQUEUE Queue, WDFREQUEST Request);
typedef EVT_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE *PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE;

typedef struct _WDF_IO_QUEUE_CONFIG {
    ULONG Size;
    WDF_IO_QUEUE_DISPATCH_TYPE DispatchType;
    WDF_TRI_STATE PowerManaged;
    BOOLEAN AllowZeroLengthRequests;
    BOOLEAN DefaultQueue;
    PFN_WDF_IO_QUEUE_IO_DEFAULT EvtIoDefault;
    PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL EvtIoDeviceControl;
    PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL EvtIoInternalDeviceControl;
    PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE EvtIoCanceledOnQueue;
    union {
        struct {
            ULONG NumberOfPresentedRequests; /* 0 or (ULONG)-1: unlimited */
        } Parallel;
    } Settings;
} WDF_IO_QUEUE_CONFIG, *PWDF_IO_QUEUE_CONFIG;

static inline VOID
WDF_IO_QUEUE_CONFIG_INIT(PWDF_IO_QUEUE_CONFIG Config, WDF_IO_QUEUE_DISPATCH_TYPE DispatchType)
{
    RtlZeroMemory(Config, sizeof(*Config));
    Config->Size = sizeof(*Config);
    Config->PowerManaged = WdfUseDefault;
    Config->DispatchType = DispatchType;
    if (DispatchType == WdfIoQueueDispatchParallel) {
        Config->Settings.Parallel.NumberOfPresentedRequests = (ULONG)-1;
    }
}

static inline VOID
WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(PWDF_IO_QUEUE_CONFIG Config, WDF_IO_QUEUE_DISPATCH_TYPE DispatchType)
{
    WDF_IO_QUEUE_CONFIG_INIT(Config, DispatchType);
    Config->DefaultQueue = TRUE;
}

/**
 * WdfIoQueueCreate() - create a queue on @Device (its parent).
 *
 * PowerManaged WdfUseDefault means TRUE for a function driver and FALSE for a
 * filter (KMDF's rule).  A power-managed queue presents (or, if manual, hands
 * out) requests only while the device is in D0; a non-power-managed one always.
 * A default queue receives every request type without its own queue (see
 * WdfDeviceConfigureRequestDispatching).  Requests arriving for a type the queue
 * has no callback for are completed with STATUS_INVALID_DEVICE_REQUEST.
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (bad config, a dispatching
 * queue without callbacks); STATUS_OBJECT_NAME_COLLISION (second default queue);
 * STATUS_NOT_SUPPORTED (synchronization scope); STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS WdfIoQueueCreate(WDFDEVICE Device, PWDF_IO_QUEUE_CONFIG Config,
                                      PWDF_OBJECT_ATTRIBUTES QueueAttributes, WDFQUEUE *Queue);

/* WdfDeviceConfigureRequestDispatching() - route @RequestType of @Device to @Queue. */
PCIVIRT_API NTSTATUS WdfDeviceConfigureRequestDispatching(WDFDEVICE Device, WDFQUEUE Queue,
                                                          WDF_REQUEST_TYPE RequestType);

PCIVIRT_API WDFQUEUE WdfDeviceGetDefaultQueue(WDFDEVICE Device);
PCIVIRT_API WDFDEVICE WdfIoQueueGetDevice(WDFQUEUE Queue);

/**
 * WdfIoQueueRetrieveNextRequest() - take the oldest request from a manual queue.
 * Return: STATUS_SUCCESS; STATUS_NO_MORE_ENTRIES (empty, or power-managed and the
 * device is not in D0); STATUS_INVALID_DEVICE_REQUEST (not a manual queue).
 */
PCIVIRT_API NTSTATUS WdfIoQueueRetrieveNextRequest(WDFQUEUE Queue, WDFREQUEST *OutRequest);

/* WdfIoQueuePurgeSynchronously() - cancel every queued request (STATUS_CANCELLED). */
PCIVIRT_API VOID WdfIoQueuePurgeSynchronously(WDFQUEUE Queue);

/* WdfIoQueueStart() - accept and present requests again after a purge. */
PCIVIRT_API VOID WdfIoQueueStart(WDFQUEUE Queue);

typedef struct _WDF_REQUEST_PARAMETERS {
    USHORT Size;
    UCHAR MinorFunction;
    WDF_REQUEST_TYPE Type;
    union {
        struct {
            size_t OutputBufferLength;
            size_t InputBufferLength;
            ULONG IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl;
    } Parameters;
} WDF_REQUEST_PARAMETERS, *PWDF_REQUEST_PARAMETERS;

static inline VOID
WDF_REQUEST_PARAMETERS_INIT(PWDF_REQUEST_PARAMETERS Parameters)
{
    RtlZeroMemory(Parameters, sizeof(*Parameters));
    Parameters->Size = sizeof(*Parameters);
}

/* WdfRequestGetParameters() - Type tells DeviceControl from DeviceControlInternal. */
PCIVIRT_API VOID WdfRequestGetParameters(WDFREQUEST Request, PWDF_REQUEST_PARAMETERS Parameters);

/* WdfRequestGetRequestorMode() - KernelMode or UserMode: who built the request. */
PCIVIRT_API KPROCESSOR_MODE WdfRequestGetRequestorMode(WDFREQUEST Request);

PCIVIRT_API WDFQUEUE WdfRequestGetIoQueue(WDFREQUEST Request);

/**
 * WdfRequestRetrieveInputBuffer()/WdfRequestRetrieveOutputBuffer() - the system
 * buffer (METHOD_BUFFERED: one buffer of max(in, out) bytes, the same pointer for
 * input and output, contract.md 1.3).
 * @Length: optional; receives the input (or output) length.
 * Return: STATUS_SUCCESS; STATUS_BUFFER_TOO_SMALL if that length is 0 or below
 * @MinimumRequiredLength; STATUS_INVALID_DEVICE_STATE on a completed request.
 */
PCIVIRT_API NTSTATUS WdfRequestRetrieveInputBuffer(WDFREQUEST Request, size_t MinimumRequiredLength, PVOID *Buffer,
                                                   size_t *Length);
PCIVIRT_API NTSTATUS WdfRequestRetrieveOutputBuffer(WDFREQUEST Request, size_t MinimumRequiredSize, PVOID *Buffer,
                                                    size_t *Length);

/**
 * WdfRequestComplete()/WdfRequestCompleteWithInformation() - finish a request
 * the driver owns.  At most min(Information, OutputBufferLength) bytes are copied
 * back to the requester (contract.md 1.3).  The handle is dead afterwards.
 */
PCIVIRT_API VOID WdfRequestComplete(WDFREQUEST Request, NTSTATUS Status);
PCIVIRT_API VOID WdfRequestCompleteWithInformation(WDFREQUEST Request, NTSTATUS Status, ULONG_PTR Information);
PCIVIRT_API VOID WdfRequestSetInformation(WDFREQUEST Request, ULONG_PTR Information);
PCIVIRT_API ULONG_PTR WdfRequestGetInformation(WDFREQUEST Request);

/**
 * WdfRequestForwardToIoQueue() - move a request the driver owns into another
 * queue of the same device.  Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER (not
 * a queue); STATUS_INVALID_DEVICE_REQUEST (the queue it came from, a queue of
 * another device); STATUS_INVALID_DEVICE_STATE (the destination was purged and
 * not restarted, or is being deleted; the request is not the driver's - still queued,
 * or marked cancelable (unmark it first, as KMDF requires) - or completed, which
 * the verifier reports as forward-completed-request).
 */
PCIVIRT_API NTSTATUS WdfRequestForwardToIoQueue(WDFREQUEST Request, WDFQUEUE DestinationQueue);

typedef VOID EVT_WDF_REQUEST_CANCEL(WDFREQUEST Request);
typedef EVT_WDF_REQUEST_CANCEL *PFN_WDF_REQUEST_CANCEL;

/**
 * WdfRequestMarkCancelableEx() - let the sender's cancel reach @EvtRequestCancel
 * while the driver holds the request outside a queue.  Return: STATUS_SUCCESS;
 * STATUS_CANCELLED if the request was already cancelled (the driver completes it).
 */
PCIVIRT_API NTSTATUS WdfRequestMarkCancelableEx(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel);

/**
 * WdfRequestUnmarkCancelable() - take back a request marked cancelable.
 * Return: STATUS_SUCCESS (the cancel routine will not run); STATUS_CANCELLED (it
 * runs or has run - then only the cancel routine may complete the request).
 */
PCIVIRT_API NTSTATUS WdfRequestUnmarkCancelable(WDFREQUEST Request);

/* WdfRequestIsCanceled() - the sender asked for cancellation. */
PCIVIRT_API BOOLEAN WdfRequestIsCanceled(WDFREQUEST Request);

/* ---- wait locks, spin locks, events ---------------------------------------------- */

/* Timeout helpers: relative (negative) counts of 100 ns, as NT does. */
#define WDF_REL_TIMEOUT_IN_SEC(s) ((LONGLONG)(s) * -10000000LL)
#define WDF_REL_TIMEOUT_IN_MS(ms) ((LONGLONG)(ms) * -10000LL)
#define WDF_REL_TIMEOUT_IN_US(us) ((LONGLONG)(us) * -10LL)
#define WDF_ABS_TIMEOUT_IN_SEC(s) ((LONGLONG)(s)*10000000LL)
#define WDF_ABS_TIMEOUT_IN_MS(ms) ((LONGLONG)(ms)*10000LL)

PCIVIRT_API NTSTATUS WdfWaitLockCreate(PWDF_OBJECT_ATTRIBUTES LockAttributes, WDFWAITLOCK *Lock);

/**
 * WdfWaitLockAcquire() - take @Lock.
 * @Timeout: NULL waits forever; 0 only tries; otherwise NT timeout on the host clock.
 * Return: STATUS_SUCCESS or STATUS_TIMEOUT.
 */
PCIVIRT_API NTSTATUS WdfWaitLockAcquire(WDFWAITLOCK Lock, PLONGLONG Timeout);
PCIVIRT_API VOID WdfWaitLockRelease(WDFWAITLOCK Lock);

PCIVIRT_API NTSTATUS WdfSpinLockCreate(PWDF_OBJECT_ATTRIBUTES SpinLockAttributes, WDFSPINLOCK *SpinLock);
PCIVIRT_API VOID WdfSpinLockAcquire(WDFSPINLOCK SpinLock);
PCIVIRT_API VOID WdfSpinLockRelease(WDFSPINLOCK SpinLock);

typedef enum _EVENT_TYPE { NotificationEvent = 0, SynchronizationEvent = 1 } EVENT_TYPE;
typedef enum _KWAIT_REASON { Executive = 0 } KWAIT_REASON;

/* A kernel event: plain memory the driver embeds; no destroy call (as in NT). */
typedef struct _KEVENT {
    void *Host;
    volatile LONG State;
    LONG Type;
    ULONG Magic;
} KEVENT, *PKEVENT, *PRKEVENT;

/* KeInitializeEvent() - set up @Event on the calling thread's host. */
PCIVIRT_API VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);

/* KeSetEvent() - signal; wakes all waiters (notification) or one (synchronization).
 * Return: the previous state. */
PCIVIRT_API LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
PCIVIRT_API VOID KeClearEvent(PRKEVENT Event);
PCIVIRT_API LONG KeResetEvent(PRKEVENT Event);
PCIVIRT_API LONG KeReadStateEvent(PRKEVENT Event);

/**
 * KeWaitForSingleObject() - wait for a KEVENT.
 * @Timeout: NULL waits forever; otherwise an NT timeout on the host clock.
 * Return: STATUS_SUCCESS; STATUS_TIMEOUT; STATUS_INVALID_PARAMETER (not an
 * initialized event, or no host for the calling thread).
 */
PCIVIRT_API NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                           BOOLEAN Alertable, PLARGE_INTEGER Timeout);

/* ---- work items and timers ---------------------------------------------------------- */

typedef VOID EVT_WDF_WORKITEM(WDFWORKITEM WorkItem);
typedef EVT_WDF_WORKITEM *PFN_WDF_WORKITEM;

typedef struct _WDF_WORKITEM_CONFIG {
    ULONG Size;
    PFN_WDF_WORKITEM EvtWorkItemFunc;
    BOOLEAN AutomaticSerialization;
} WDF_WORKITEM_CONFIG, *PWDF_WORKITEM_CONFIG;

static inline VOID
WDF_WORKITEM_CONFIG_INIT(PWDF_WORKITEM_CONFIG Config, PFN_WDF_WORKITEM EvtWorkItemFunc)
{
    RtlZeroMemory(Config, sizeof(*Config));
    Config->Size = sizeof(*Config);
    Config->EvtWorkItemFunc = EvtWorkItemFunc;
    Config->AutomaticSerialization = TRUE;
}

/**
 * WdfWorkItemCreate() - a work item; Attributes->ParentObject is required (a
 * device, queue or other object).  Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER;
 * STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS WdfWorkItemCreate(PWDF_WORKITEM_CONFIG Config, PWDF_OBJECT_ATTRIBUTES Attributes,
                                       WDFWORKITEM *WorkItem);
/* WdfWorkItemEnqueue() - run once on a host worker; enqueuing a queued item is a no-op. */
PCIVIRT_API VOID WdfWorkItemEnqueue(WDFWORKITEM WorkItem);
PCIVIRT_API WDFOBJECT WdfWorkItemGetParentObject(WDFWORKITEM WorkItem);
/* WdfWorkItemFlush() - wait until the item is neither queued nor running. */
PCIVIRT_API VOID WdfWorkItemFlush(WDFWORKITEM WorkItem);

typedef VOID EVT_WDF_TIMER(WDFTIMER Timer);
typedef EVT_WDF_TIMER *PFN_WDF_TIMER;

typedef struct _WDF_TIMER_CONFIG {
    ULONG Size;
    PFN_WDF_TIMER EvtTimerFunc;
    ULONG Period; /* ms; 0 = one-shot */
    BOOLEAN AutomaticSerialization;
    ULONG TolerableDelay;
} WDF_TIMER_CONFIG, *PWDF_TIMER_CONFIG;

static inline VOID
WDF_TIMER_CONFIG_INIT(PWDF_TIMER_CONFIG Config, PFN_WDF_TIMER EvtTimerFunc)
{
    RtlZeroMemory(Config, sizeof(*Config));
    Config->Size = sizeof(*Config);
    Config->EvtTimerFunc = EvtTimerFunc;
    Config->AutomaticSerialization = TRUE;
}

static inline VOID
WDF_TIMER_CONFIG_INIT_PERIODIC(PWDF_TIMER_CONFIG Config, PFN_WDF_TIMER EvtTimerFunc, LONG Period)
{
    WDF_TIMER_CONFIG_INIT(Config, EvtTimerFunc);
    Config->Period = (ULONG)Period;
}

/* WdfTimerCreate() - as WdfWorkItemCreate; the timer fires on the host clock. */
PCIVIRT_API NTSTATUS WdfTimerCreate(PWDF_TIMER_CONFIG Config, PWDF_OBJECT_ATTRIBUTES Attributes, WDFTIMER *Timer);

/**
 * WdfTimerStart() - (re)arm; @DueTime is an NT timeout (negative relative).
 * Return: TRUE if the timer was already armed (it is re-armed).
 */
PCIVIRT_API BOOLEAN WdfTimerStart(WDFTIMER Timer, LONGLONG DueTime);

/**
 * WdfTimerStop() - disarm; with @Wait, also wait for a running callback.
 * Return: TRUE if the timer was armed.
 */
PCIVIRT_API BOOLEAN WdfTimerStop(WDFTIMER Timer, BOOLEAN Wait);
PCIVIRT_API WDFOBJECT WdfTimerGetParentObject(WDFTIMER Timer);

#ifdef __cplusplus
}
#endif

/* The host API (wdf_*), for the stack, the bus model and tests; see wdf_host.h. */
#include "pcivirt/wdf_host.h"

#endif /* PCIVIRT_WDF_H */
