/*
 * util/nt.c - the NT helpers declared in pcivirt/nt.h: status names and the
 * MemoryLarge encode/decode pair (contract.md 1.6).
 *
 * A MemoryLarge descriptor stores its length shifted right by 8, 16 or 32 bits
 * depending on which CM_RESOURCE_MEMORY_LARGE_* flag is set; the dropped low bits
 * are zero.  Code that divides or offsets a descriptor's length must decode to 64
 * bits, compute, and encode again; the docs' example driver gets this wrong
 * (contract.md 6.9).
 */
#include "pcivirt/nt.h"

const char *
pcivirt_ntstatus_name(NTSTATUS status)
{
    static const struct {
        NTSTATUS value;
        const char *name;
    } names[] = {
        {STATUS_SUCCESS, "STATUS_SUCCESS"},
        {STATUS_TIMEOUT, "STATUS_TIMEOUT"},
        {STATUS_PENDING, "STATUS_PENDING"},
        {STATUS_BUFFER_OVERFLOW, "STATUS_BUFFER_OVERFLOW"},
        {STATUS_DEVICE_BUSY, "STATUS_DEVICE_BUSY"},
        {STATUS_UNSUCCESSFUL, "STATUS_UNSUCCESSFUL"},
        {STATUS_NOT_IMPLEMENTED, "STATUS_NOT_IMPLEMENTED"},
        {STATUS_INVALID_PARAMETER, "STATUS_INVALID_PARAMETER"},
        {STATUS_NO_SUCH_DEVICE, "STATUS_NO_SUCH_DEVICE"},
        {STATUS_INVALID_DEVICE_REQUEST, "STATUS_INVALID_DEVICE_REQUEST"},
        {STATUS_BUFFER_TOO_SMALL, "STATUS_BUFFER_TOO_SMALL"},
        {STATUS_SHARING_VIOLATION, "STATUS_SHARING_VIOLATION"},
        {STATUS_DELETE_PENDING, "STATUS_DELETE_PENDING"},
        {STATUS_REVISION_MISMATCH, "STATUS_REVISION_MISMATCH"},
        {STATUS_INSUFFICIENT_RESOURCES, "STATUS_INSUFFICIENT_RESOURCES"},
        {STATUS_DEVICE_NOT_READY, "STATUS_DEVICE_NOT_READY"},
        {STATUS_IO_TIMEOUT, "STATUS_IO_TIMEOUT"},
        {STATUS_NOT_SUPPORTED, "STATUS_NOT_SUPPORTED"},
        {STATUS_CANCELLED, "STATUS_CANCELLED"},
        {STATUS_INVALID_DEVICE_STATE, "STATUS_INVALID_DEVICE_STATE"},
        {STATUS_INVALID_BUFFER_SIZE, "STATUS_INVALID_BUFFER_SIZE"},
        {STATUS_NOT_FOUND, "STATUS_NOT_FOUND"},
        {STATUS_DEVICE_REMOVED, "STATUS_DEVICE_REMOVED"},
        {STATUS_BAD_DATA, "STATUS_BAD_DATA"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].value == status) {
            return names[i].name;
        }
    }
    return NULL;
}

static unsigned
large_shift(USHORT flags)
{
    switch (flags & CM_RESOURCE_MEMORY_LARGE) {
    case CM_RESOURCE_MEMORY_LARGE_40: return 8;
    case CM_RESOURCE_MEMORY_LARGE_48: return 16;
    case CM_RESOURCE_MEMORY_LARGE_64: return 32;
    default: return 0;
    }
}

ULONGLONG
RtlCmDecodeMemIoResource(const CM_PARTIAL_RESOURCE_DESCRIPTOR *Descriptor, PULONGLONG Start)
{
    ULONGLONG length = 0;
    unsigned shift;

    if (Start != NULL) {
        *Start = 0;
    }
    switch (Descriptor->Type) {
    case CmResourceTypePort:
    case CmResourceTypeMemory: length = Descriptor->u.Generic.Length; break;
    case CmResourceTypeMemoryLarge:
        shift = large_shift(Descriptor->Flags);
        if (shift == 0) {
            return 0;
        }
        /* Length40, Length48 and Length64 share one ULONG at offset 12. */
        length = (ULONGLONG)Descriptor->u.Memory40.Length40 << shift;
        break;
    default: return 0;
    }
    if (Start != NULL) {
        *Start = (ULONGLONG)Descriptor->u.Generic.Start.QuadPart;
    }
    return length;
}

NTSTATUS
RtlCmEncodeMemIoResource(PCM_PARTIAL_RESOURCE_DESCRIPTOR Descriptor, UCHAR Type, ULONGLONG Length, ULONGLONG Start)
{
    static const struct {
        unsigned shift;
        USHORT flag;
    } large[] = {
        {8, CM_RESOURCE_MEMORY_LARGE_40},
        {16, CM_RESOURCE_MEMORY_LARGE_48},
        {32, CM_RESOURCE_MEMORY_LARGE_64},
    };

    switch (Type) {
    case CmResourceTypePort:
    case CmResourceTypeMemory:
        if (Length > 0xFFFFFFFFull) {
            return STATUS_INVALID_PARAMETER;
        }
        Descriptor->Type = Type;
        Descriptor->Flags &= (USHORT)~CM_RESOURCE_MEMORY_LARGE;
        Descriptor->u.Generic.Start.QuadPart = (LONGLONG)Start;
        Descriptor->u.Generic.Length = (ULONG)Length;
        return STATUS_SUCCESS;
    case CmResourceTypeMemoryLarge:
        for (size_t i = 0; i < sizeof(large) / sizeof(large[0]); i++) {
            ULONGLONG scaled = Length >> large[i].shift;

            if ((scaled << large[i].shift) != Length || scaled > 0xFFFFFFFFull || Length == 0) {
                continue;
            }
            Descriptor->Type = Type;
            Descriptor->Flags = (USHORT)((Descriptor->Flags & ~CM_RESOURCE_MEMORY_LARGE) | large[i].flag);
            Descriptor->u.Memory40.Start.QuadPart = (LONGLONG)Start;
            Descriptor->u.Memory40.Length40 = (ULONG)scaled;
            return STATUS_SUCCESS;
        }
        return STATUS_INVALID_PARAMETER;
    default: return STATUS_INVALID_PARAMETER;
    }
}
