/*
 * vmbus/vpci_encode.c - encoders of the vPCI protocol, resource-descriptor
 * conversion, and message equality.
 *
 * Encoders write the contract's size of each message (contract.md 8.3, Appendix
 * B: READ_BLOCK 16, WRITE_BLOCK 16 + n, RESOURCES_ASSIGNED 148 / 202, ...) into a
 * zeroed buffer through util/le.h.  Rather than restate every range rule, an
 * encoder runs the matching decoder over its own output and refuses the message
 * (STATUS_INVALID_PARAMETER) when the decoder would: so whatever one end sends, the
 * other end accepts and decodes to the same fields, by construction.
 */
#include <string.h>

#include "util/le.h"
#include "vmbus/vpci_msg.h"

static void
write_fn(uint8_t *p, bool v2, const struct vpci_fn_desc *fn)
{
    le16_put(p + VPCI_FN_OFF_VENDOR, fn->vendor_id);
    le16_put(p + VPCI_FN_OFF_DEVICE, fn->device_id);
    p[VPCI_FN_OFF_REVISION] = fn->revision;
    p[VPCI_FN_OFF_PROG_IF] = fn->prog_if;
    p[VPCI_FN_OFF_SUBCLASS] = fn->subclass;
    p[VPCI_FN_OFF_BASE_CLASS] = fn->base_class;
    le32_put(p + VPCI_FN_OFF_SUBSYSTEM, fn->subsystem);
    le32_put(p + VPCI_FN_OFF_SLOT, fn->slot);
    le32_put(p + VPCI_FN_OFF_SERIAL, fn->serial);
    if (v2) {
        le32_put(p + VPCI_FN2_OFF_FLAGS, fn->flags);
        le16_put(p + VPCI_FN2_OFF_NUMA, fn->numa_node);
    }
}

static void
write_cm(uint8_t *p, const struct vpci_cm_desc *cm)
{
    p[VPCI_CM_OFF_TYPE] = cm->type;
    p[VPCI_CM_OFF_SHARE] = cm->share;
    le16_put(p + VPCI_CM_OFF_FLAGS, cm->flags);
    le64_put(p + VPCI_CM_OFF_START, cm->start);
    le32_put(p + VPCI_CM_OFF_LENGTH, cm->length);
    le32_put(p + VPCI_CM_OFF_EXTRA, cm->extra);
}

static void
write_mapping(uint8_t *d, const struct vpci_msi_mapping *map)
{
    le16_put(d + VPCI_TRAN_INT_OFF_VECTOR_COUNT, map->vector_count);
    le32_put(d + VPCI_TRAN_INT_OFF_DATA, map->data);
    le64_put(d + VPCI_TRAN_INT_OFF_ADDRESS, map->address);
}

/* The encoded (unpadded) length of @m; 0 for an id that cannot be encoded. */
static size_t
msg_length(const struct vpci_msg *m)
{
    switch (m->type) {
    case PCI_BUS_RELATIONS:
    case PCI_BUS_RELATIONS2:
        if (m->u.relations.count > VPCI_SLOT_COUNT) {
            return 0;
        }
        return VPCI_RELATIONS_OFF_DESC +
               m->u.relations.count * (m->type == PCI_BUS_RELATIONS2 ? VPCI_FN_DESC2_SIZE : VPCI_FN_DESC_SIZE);
    case PCI_QUERY_BUS_RELATIONS:
    case PCI_BUS_D0EXIT: return 4;
    case PCI_POWER_STATE_CHANGE: return VPCI_POWER_SIZE;
    case PCI_QUERY_RESOURCE_REQUIREMENTS: return VPCI_RESREQ_SIZE;
    case PCI_QUERY_RESOURCE_RESOURCES: return VPCI_GETRES_SIZE;
    case PCI_BUS_D0ENTRY: return VPCI_D0ENTRY_SIZE;
    case PCI_READ_BLOCK: return VPCI_READ_BLOCK_SIZE;
    case PCI_WRITE_BLOCK:
        if (m->u.block.byte_count < 1 || m->u.block.byte_count > VPCI_BLOCK_MAX) {
            return 0;
        }
        return VPCI_WRITE_BLOCK_OFF_DATA + m->u.block.byte_count;
    case PCI_EJECT:
    case PCI_QUERY_STOP:
    case PCI_REENABLE:
    case PCI_QUERY_STOP_FAILED:
    case PCI_RESOURCES_RELEASED:
    case PCI_RESET_DEVICE: return VPCI_CHILD_MSG_SIZE;
    case PCI_EJECTION_COMPLETE: return VPCI_EJECT_COMPLETE_SIZE;
    case PCI_RESOURCES_ASSIGNED: return VPCI_RES_SIZE;
    case PCI_RESOURCES_ASSIGNED2: return VPCI_RES2_SIZE;
    case PCI_RESOURCES_ASSIGNED3: return VPCI_RES3_SIZE;
    case PCI_INVALIDATE_BLOCK: return VPCI_INVALIDATE_SIZE;
    case PCI_QUERY_PROTOCOL_VERSION: return VPCI_VERSION_SIZE;
    case PCI_CREATE_INTERRUPT_MESSAGE: return VPCI_CREATE_INT_SIZE;
    case PCI_CREATE_INTERRUPT_MESSAGE2: return VPCI_CREATE_INT2_SIZE;
    case PCI_CREATE_INTERRUPT_MESSAGE3: return VPCI_CREATE_INT3_SIZE;
    case PCI_DELETE_INTERRUPT_MESSAGE:
    case PCI_DELETE_INTERRUPT_MESSAGE2: return VPCI_DELETE_INT_SIZE;
    default: return 0;
    }
}

static void
write_msi(uint8_t *p, const struct vpci_msg *m)
{
    uint8_t *d = p + VPCI_INT_OFF_DESC;
    const struct vpci_msi_request *msi = &m->u.msi;
    unsigned count = msi->processor_count > VPCI_MSI_MAX_PROCESSORS ? VPCI_MSI_MAX_PROCESSORS : msi->processor_count;
    uint8_t *procs;

    if (m->type == PCI_CREATE_INTERRUPT_MESSAGE) {
        d[VPCI_MSI1_OFF_VECTOR] = (uint8_t)msi->vector;
        d[VPCI_MSI1_OFF_DELIVERY] = msi->delivery_mode;
        le16_put(d + VPCI_MSI1_OFF_VECTOR_COUNT, msi->vector_count);
        le64_put(d + VPCI_MSI1_OFF_CPU_MASK, msi->cpu_mask);
        return;
    }
    if (m->type == PCI_CREATE_INTERRUPT_MESSAGE2) {
        d[VPCI_MSI2_OFF_VECTOR] = (uint8_t)msi->vector;
        d[VPCI_MSI2_OFF_DELIVERY] = msi->delivery_mode;
        le16_put(d + VPCI_MSI2_OFF_VECTOR_COUNT, msi->vector_count);
        le16_put(d + VPCI_MSI2_OFF_PROC_COUNT, msi->processor_count);
        procs = d + VPCI_MSI2_OFF_PROC_ARRAY;
    } else {
        le32_put(d + VPCI_MSI3_OFF_VECTOR, msi->vector);
        d[VPCI_MSI3_OFF_DELIVERY] = msi->delivery_mode;
        le16_put(d + VPCI_MSI3_OFF_VECTOR_COUNT, msi->vector_count);
        le16_put(d + VPCI_MSI3_OFF_PROC_COUNT, msi->processor_count);
        procs = d + VPCI_MSI3_OFF_PROC_ARRAY;
    }
    for (unsigned i = 0; i < count; i++) {
        le16_put(procs + 2 * i, msi->processors[i]);
    }
}

static void
write_body(uint8_t *p, const struct vpci_msg *m)
{
    switch (m->type) {
    case PCI_BUS_RELATIONS:
    case PCI_BUS_RELATIONS2: {
        bool v2 = m->type == PCI_BUS_RELATIONS2;

        le32_put(p + VPCI_RELATIONS_OFF_COUNT, m->u.relations.count);
        for (uint32_t i = 0; i < m->u.relations.count; i++) {
            write_fn(p + VPCI_RELATIONS_OFF_DESC + i * (v2 ? VPCI_FN_DESC2_SIZE : VPCI_FN_DESC_SIZE), v2,
                     &m->u.relations.fn[i]);
        }
        return;
    }
    case PCI_QUERY_BUS_RELATIONS:
    case PCI_BUS_D0EXIT: return;
    case PCI_BUS_D0ENTRY: le64_put(p + VPCI_D0ENTRY_OFF_MMIO_BASE, m->u.mmio_base); return;
    case PCI_QUERY_PROTOCOL_VERSION: le32_put(p + VPCI_VERSION_OFF_VERSION, m->u.version); return;
    case PCI_READ_BLOCK:
    case PCI_WRITE_BLOCK:
        le32_put(p + VPCI_READ_BLOCK_OFF_BLOCK_ID, m->u.block.block_id);
        le32_put(p + VPCI_READ_BLOCK_OFF_SLOT, m->slot);
        le32_put(p + VPCI_READ_BLOCK_OFF_BYTES, m->u.block.byte_count);
        if (m->type == PCI_WRITE_BLOCK) {
            memcpy(p + VPCI_WRITE_BLOCK_OFF_DATA, m->u.block.data, m->u.block.byte_count);
        }
        return;
    default: break;
    }
    le32_put(p + VPCI_MSG_OFF_SLOT, m->slot);
    switch (m->type) {
    case PCI_POWER_STATE_CHANGE: le32_put(p + VPCI_POWER_OFF_STATE, m->u.power_state); return;
    case PCI_EJECTION_COMPLETE: le32_put(p + VPCI_EJECT_COMPLETE_OFF_STATUS, m->u.eject_status); return;
    case PCI_INVALIDATE_BLOCK: le64_put(p + VPCI_INVALIDATE_OFF_MASK, m->u.block_mask); return;
    case PCI_RESOURCES_ASSIGNED:
    case PCI_RESOURCES_ASSIGNED2:
    case PCI_RESOURCES_ASSIGNED3:
        for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
            write_cm(p + VPCI_RES_OFF_DESC + i * VPCI_CM_DESC_SIZE, &m->u.resources.desc[i]);
        }
        le32_put(p + VPCI_RES_OFF_MSI_COUNT, m->u.resources.msi_count);
        return;
    case PCI_CREATE_INTERRUPT_MESSAGE:
    case PCI_CREATE_INTERRUPT_MESSAGE2:
    case PCI_CREATE_INTERRUPT_MESSAGE3: write_msi(p, m); return;
    case PCI_DELETE_INTERRUPT_MESSAGE:
    case PCI_DELETE_INTERRUPT_MESSAGE2: write_mapping(p + VPCI_INT_OFF_DESC, &m->u.mapping); return;
    default: return; /* {type, slot} */
    }
}

NTSTATUS
vpci_msg_encode(const struct vpci_msg *msg, uint8_t *buf, size_t cap, size_t *out_len)
{
    enum vpci_dir dir;
    struct vpci_msg check;
    size_t len;

    if (msg == NULL || !vpci_msg_dir(msg->type, &dir) || (len = msg_length(msg)) == 0) {
        return STATUS_INVALID_PARAMETER;
    }
    if (buf == NULL || cap < len) {
        return STATUS_BUFFER_TOO_SMALL;
    }
    memset(buf, 0, len);
    le32_put(buf + VPCI_MSG_OFF_TYPE, msg->type);
    write_body(buf, msg);
    if (vpci_msg_decode(dir, VPCI_VERSION_ANY, buf, len, &check, NULL) != STATUS_SUCCESS) {
        return STATUS_INVALID_PARAMETER;
    }
    if (out_len != NULL) {
        *out_len = len;
    }
    return STATUS_SUCCESS;
}

/* The encoded length of a successful reply's body; failures are 4 bytes. */
static size_t
reply_length(const struct vpci_reply *r)
{
    switch (r->request_type) {
    case PCI_QUERY_PROTOCOL_VERSION: return VPCI_VERSION_REPLY_SIZE;
    case PCI_QUERY_RESOURCE_REQUIREMENTS: return VPCI_RESREQ_REPLY_SIZE;
    case PCI_READ_BLOCK:
        if (r->u.read_block.byte_count < 1 || r->u.read_block.byte_count > VPCI_BLOCK_MAX) {
            return 0;
        }
        return VPCI_READ_BLOCK_REPLY_OFF_DATA + r->u.read_block.byte_count;
    case PCI_POWER_STATE_CHANGE: return VPCI_POWER_REPLY_SIZE;
    case PCI_CREATE_INTERRUPT_MESSAGE:
    case PCI_CREATE_INTERRUPT_MESSAGE2:
    case PCI_CREATE_INTERRUPT_MESSAGE3: return VPCI_CREATE_INT_REPLY_SIZE;
    case PCI_RESOURCES_ASSIGNED:
    case PCI_RESOURCES_ASSIGNED2:
    case PCI_RESOURCES_ASSIGNED3: return r->u.resources.translated ? VPCI_RES_REPLY_SIZE : VPCI_REPLY_STATUS_SIZE;
    case PCI_QUERY_RESOURCE_RESOURCES: return VPCI_GETRES_REPLY_SIZE;
    default: return VPCI_REPLY_STATUS_SIZE;
    }
}

static void
write_reply_body(uint8_t *p, const struct vpci_reply *r)
{
    switch (r->request_type) {
    case PCI_QUERY_PROTOCOL_VERSION: le32_put(p + VPCI_VERSION_REPLY_OFF_VERSION, r->u.version); return;
    case PCI_QUERY_RESOURCE_REQUIREMENTS:
        for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
            le32_put(p + VPCI_RESREQ_REPLY_OFF_BARS + 4 * i, r->u.probed_bar[i]);
        }
        return;
    case PCI_READ_BLOCK:
        memcpy(p + VPCI_READ_BLOCK_REPLY_OFF_DATA, r->u.read_block.data, r->u.read_block.byte_count);
        return;
    case PCI_POWER_STATE_CHANGE:
        le32_put(p + VPCI_POWER_REPLY_OFF_SLOT, r->u.power.slot);
        le32_put(p + VPCI_POWER_REPLY_OFF_STATE, r->u.power.state);
        return;
    case PCI_CREATE_INTERRUPT_MESSAGE:
    case PCI_CREATE_INTERRUPT_MESSAGE2:
    case PCI_CREATE_INTERRUPT_MESSAGE3: write_mapping(p + VPCI_CREATE_INT_REPLY_OFF_DESC, &r->u.mapping); return;
    case PCI_RESOURCES_ASSIGNED:
    case PCI_RESOURCES_ASSIGNED2:
    case PCI_RESOURCES_ASSIGNED3:
        if (r->u.resources.translated) {
            le32_put(p + VPCI_RES_REPLY_OFF_SLOT, r->u.resources.slot);
            for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
                write_cm(p + VPCI_RES_REPLY_OFF_DESC + i * VPCI_CM_DESC_SIZE, &r->u.resources.desc[i]);
            }
        }
        return;
    case PCI_QUERY_RESOURCE_RESOURCES:
        le16_put(p + VPCI_GETRES_REPLY_OFF_VERSION, 1);
        le16_put(p + VPCI_GETRES_REPLY_OFF_REVISION, 1);
        le32_put(p + VPCI_GETRES_REPLY_OFF_COUNT, VPCI_BAR_COUNT);
        for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
            write_cm(p + VPCI_GETRES_REPLY_OFF_DESC + i * VPCI_CM_DESC_SIZE, &r->u.resources.desc[i]);
        }
        return;
    default: return;
    }
}

NTSTATUS
vpci_reply_encode(const struct vpci_reply *reply, uint8_t *buf, size_t cap, size_t *out_len)
{
    struct vpci_msg req;
    struct vpci_reply check;
    size_t len;

    if (reply == NULL || vpci_msg_name(reply->request_type) == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    len = NT_SUCCESS(reply->status) ? reply_length(reply) : VPCI_REPLY_STATUS_SIZE;
    if (len == 0) {
        return STATUS_INVALID_PARAMETER;
    }
    if (buf == NULL || cap < len) {
        return STATUS_BUFFER_TOO_SMALL;
    }
    memset(buf, 0, len);
    le32_put(buf + VPCI_REPLY_OFF_STATUS, (uint32_t)reply->status);
    if (NT_SUCCESS(reply->status)) {
        write_reply_body(buf, reply);
    }
    memset(&req, 0, sizeof(req));
    req.type = reply->request_type;
    req.u.block.byte_count = VPCI_BLOCK_MAX;
    if (vpci_reply_decode(&req, buf, len, &check, NULL) != STATUS_SUCCESS) {
        return STATUS_INVALID_PARAMETER;
    }
    if (out_len != NULL) {
        *out_len = len;
    }
    return STATUS_SUCCESS;
}

/* ---- CM descriptor conversion (contract.md 1.6) ---- */

void
vpci_cm_to_nt(const struct vpci_cm_desc *wire, CM_PARTIAL_RESOURCE_DESCRIPTOR *nt)
{
    memset(nt, 0, sizeof(*nt));
    nt->Type = wire->type;
    nt->ShareDisposition = wire->share;
    nt->Flags = wire->flags;
    switch (wire->type) {
    case CmResourceTypeInterrupt:
        nt->u.Interrupt.Level = (ULONG)wire->start;
        nt->u.Interrupt.Vector = (ULONG)(wire->start >> 32);
        nt->u.Interrupt.Affinity = (KAFFINITY)wire->length | ((KAFFINITY)wire->extra << 32);
        break;
    case CmResourceTypeDevicePrivate:
        nt->u.DevicePrivate.Data[0] = (ULONG)wire->start;
        nt->u.DevicePrivate.Data[1] = (ULONG)(wire->start >> 32);
        nt->u.DevicePrivate.Data[2] = wire->length;
        break;
    default: /* Null, Port, Memory, MemoryLarge: Start and Length */
        nt->u.Memory.Start.QuadPart = (LONGLONG)wire->start;
        nt->u.Memory.Length = wire->length;
        break;
    }
}

void
vpci_cm_from_nt(const CM_PARTIAL_RESOURCE_DESCRIPTOR *nt, struct vpci_cm_desc *wire)
{
    memset(wire, 0, sizeof(*wire));
    wire->type = nt->Type;
    wire->share = nt->ShareDisposition;
    wire->flags = nt->Flags;
    switch (nt->Type) {
    case CmResourceTypeInterrupt:
        wire->start = (uint64_t)nt->u.Interrupt.Level | ((uint64_t)nt->u.Interrupt.Vector << 32);
        wire->length = (uint32_t)nt->u.Interrupt.Affinity;
        wire->extra = (uint32_t)(nt->u.Interrupt.Affinity >> 32);
        break;
    case CmResourceTypeDevicePrivate:
        wire->start = (uint64_t)nt->u.DevicePrivate.Data[0] | ((uint64_t)nt->u.DevicePrivate.Data[1] << 32);
        wire->length = nt->u.DevicePrivate.Data[2];
        break;
    default:
        wire->start = (uint64_t)nt->u.Memory.Start.QuadPart;
        wire->length = nt->u.Memory.Length;
        break;
    }
}
