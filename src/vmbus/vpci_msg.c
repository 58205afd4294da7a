/*
 * vmbus/vpci_msg.c - the message table and the decoders of the vPCI protocol.
 *
 * One table row per message id (contract.md 8.3) says which way it travels, the
 * protocol version it needs, whether its sender waits for a completion and the
 * length bounds of its payload.  Decoding is table check first (id, direction,
 * version, length), then one small function per layout that reads fields through
 * util/le.h and checks their ranges.  Lengths: a payload arrives padded to 8, so a
 * message of n bytes is accepted with n .. round_up(max, 8) bytes; variable-length
 * messages (BUS_RELATIONS, WRITE_BLOCK) are bounded again by their own count.
 * Every reject names the message and the rule in a static string.
 */
#include <string.h>

#include "util/le.h"
#include "vmbus/vpci_msg.h"

struct msg_info {
    uint32_t type;
    const char *name;
    uint8_t dir;    /* enum vpci_dir */
    bool reply;     /* sender sets completion-requested and waits */
    bool supported; /* false: known id, answered STATUS_NOT_SUPPORTED */
    uint32_t min_version;
    uint16_t min_len;
    uint16_t max_len; /* unpadded; 0 = bounded by the message's own count */
};

#define G2H VPCI_GUEST_TO_HOST
#define H2G VPCI_HOST_TO_GUEST
#define V(minor) PCI_MAKE_VERSION(1, minor)

/* Indexed by id - PCI_MESSAGE_BASE. */
static const struct msg_info msg_table[] = {
    {PCI_BUS_RELATIONS, "PCI_BUS_RELATIONS", H2G, false, true, V(0), VPCI_RELATIONS_OFF_DESC, 0},
    {PCI_QUERY_BUS_RELATIONS, "PCI_QUERY_BUS_RELATIONS", G2H, false, true, V(0), 4, 4},
    {PCI_INVALIDATE_DEVICE, "PCI_INVALIDATE_DEVICE", H2G, false, false, V(0), 4, 0},
    {PCI_INVALIDATE_BUS, "PCI_INVALIDATE_BUS", H2G, false, false, V(0), 4, 0},
    {PCI_POWER_STATE_CHANGE, "PCI_POWER_STATE_CHANGE", G2H, true, true, V(0), VPCI_POWER_MIN_SIZE, VPCI_POWER_SIZE},
    {PCI_QUERY_RESOURCE_REQUIREMENTS, "PCI_QUERY_RESOURCE_REQUIREMENTS", G2H, true, true, V(0), VPCI_RESREQ_SIZE,
     VPCI_RESREQ_SIZE},
    {PCI_QUERY_RESOURCE_RESOURCES, "PCI_QUERY_RESOURCE_RESOURCES", G2H, true, true, V(0), VPCI_GETRES_SIZE,
     VPCI_GETRES_SIZE},
    {PCI_BUS_D0ENTRY, "PCI_BUS_D0ENTRY", G2H, true, true, V(0), VPCI_D0ENTRY_SIZE, VPCI_D0ENTRY_SIZE},
    {PCI_BUS_D0EXIT, "PCI_BUS_D0EXIT", G2H, true, true, V(0), VPCI_D0EXIT_SIZE, VPCI_D0EXIT_SIZE},
    {PCI_READ_BLOCK, "PCI_READ_BLOCK", G2H, true, true, V(0), VPCI_READ_BLOCK_SIZE, VPCI_READ_BLOCK_SIZE},
    {PCI_WRITE_BLOCK, "PCI_WRITE_BLOCK", G2H, true, true, V(0), VPCI_WRITE_BLOCK_OFF_DATA + 1,
     VPCI_WRITE_BLOCK_MAX_SIZE + VPCI_WRITE_BLOCK_LINUX_SLACK},
    {PCI_EJECT, "PCI_EJECT", H2G, false, true, V(0), VPCI_EJECT_SIZE, VPCI_EJECT_SIZE},
    {PCI_QUERY_STOP, "PCI_QUERY_STOP", H2G, true, true, V(0), VPCI_CHILD_MSG_SIZE, VPCI_CHILD_MSG_SIZE},
    {PCI_REENABLE, "PCI_REENABLE", H2G, false, true, V(0), VPCI_CHILD_MSG_SIZE, VPCI_CHILD_MSG_SIZE},
    {PCI_QUERY_STOP_FAILED, "PCI_QUERY_STOP_FAILED", H2G, false, true, V(0), VPCI_CHILD_MSG_SIZE, VPCI_CHILD_MSG_SIZE},
    {PCI_EJECTION_COMPLETE, "PCI_EJECTION_COMPLETE", G2H, false, true, V(0), VPCI_EJECT_COMPLETE_SIZE,
     VPCI_EJECT_COMPLETE_SIZE},
    {PCI_RESOURCES_ASSIGNED, "PCI_RESOURCES_ASSIGNED", G2H, true, true, V(0), VPCI_RES_HEADER_SIZE, VPCI_RES_SIZE},
    {PCI_RESOURCES_RELEASED, "PCI_RESOURCES_RELEASED", G2H, false, true, V(0), VPCI_CHILD_MSG_SIZE,
     VPCI_CHILD_MSG_SIZE},
    {PCI_INVALIDATE_BLOCK, "PCI_INVALIDATE_BLOCK", H2G, false, true, V(0), VPCI_INVALIDATE_SIZE, VPCI_INVALIDATE_SIZE},
    {PCI_QUERY_PROTOCOL_VERSION, "PCI_QUERY_PROTOCOL_VERSION", G2H, true, true, V(0), VPCI_VERSION_SIZE,
     VPCI_VERSION_SIZE},
    {PCI_CREATE_INTERRUPT_MESSAGE, "PCI_CREATE_INTERRUPT_MESSAGE", G2H, true, true, V(0), VPCI_CREATE_INT_SIZE,
     VPCI_CREATE_INT_SIZE},
    {PCI_DELETE_INTERRUPT_MESSAGE, "PCI_DELETE_INTERRUPT_MESSAGE", G2H, false, true, V(0), VPCI_DELETE_INT_SIZE,
     VPCI_DELETE_INT_SIZE},
    {PCI_RESOURCES_ASSIGNED2, "PCI_RESOURCES_ASSIGNED2", G2H, true, true, V(2), VPCI_RES_HEADER_SIZE, VPCI_RES2_SIZE},
    {PCI_CREATE_INTERRUPT_MESSAGE2, "PCI_CREATE_INTERRUPT_MESSAGE2", G2H, true, true, V(2), VPCI_CREATE_INT2_SIZE,
     VPCI_CREATE_INT2_MAX_SIZE},
    {PCI_DELETE_INTERRUPT_MESSAGE2, "PCI_DELETE_INTERRUPT_MESSAGE2", G2H, false, true, V(2), VPCI_DELETE_INT_SIZE,
     VPCI_DELETE_INT_SIZE},
    {PCI_BUS_RELATIONS2, "PCI_BUS_RELATIONS2", H2G, false, true, V(3), VPCI_RELATIONS_OFF_DESC, 0},
    {PCI_RESOURCES_ASSIGNED3, "PCI_RESOURCES_ASSIGNED3", G2H, true, true, V(4), VPCI_RES_HEADER_SIZE, VPCI_RES3_SIZE},
    {PCI_CREATE_INTERRUPT_MESSAGE3, "PCI_CREATE_INTERRUPT_MESSAGE3", G2H, true, true, V(4), VPCI_CREATE_INT3_SIZE,
     VPCI_CREATE_INT3_MAX_SIZE},
    {PCI_RESET_DEVICE, "PCI_RESET_DEVICE", G2H, true, true, V(5), VPCI_CHILD_MSG_SIZE, VPCI_CHILD_MSG_SIZE},
    {PCI_VPCI_TDISP_COMMAND, "PCI_VPCI_TDISP_COMMAND", G2H, true, false, V(6), 4, 0},
};

_Static_assert(sizeof(msg_table) / sizeof(msg_table[0]) == PCI_MESSAGE_LAST - PCI_MESSAGE_BASE + 1,
               "one row per message id");

static const struct msg_info *
msg_lookup(uint32_t type)
{
    const struct msg_info *info;

    if (type < PCI_MESSAGE_BASE || type > PCI_MESSAGE_LAST) {
        return NULL;
    }
    info = &msg_table[type - PCI_MESSAGE_BASE];
    return info->type == type ? info : NULL;
}

static size_t
round8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

static NTSTATUS
bad(const char **reason, const char *why)
{
    if (reason != NULL) {
        *reason = why;
    }
    return STATUS_BAD_DATA;
}

bool
vpci_msg_dir(uint32_t type, enum vpci_dir *dir)
{
    const struct msg_info *info = msg_lookup(type);

    if (info == NULL || !info->supported) {
        return false;
    }
    if (dir != NULL) {
        *dir = (enum vpci_dir)info->dir;
    }
    return true;
}

uint32_t
vpci_msg_min_version(uint32_t type)
{
    const struct msg_info *info = msg_lookup(type);

    return info != NULL ? info->min_version : UINT32_MAX;
}

bool
vpci_msg_expects_reply(uint32_t type)
{
    const struct msg_info *info = msg_lookup(type);

    return info != NULL && info->reply;
}

const char *
vpci_msg_name(uint32_t type)
{
    const struct msg_info *info = msg_lookup(type);

    return info != NULL ? info->name : NULL;
}

bool
vpci_version_known(uint32_t version)
{
    return version >= PCI_PROTOCOL_VERSION_1_0 && version <= PCI_PROTOCOL_VERSION_1_6;
}

/* ---- per-layout decoders (length already within the table's bounds) ---- */

static NTSTATUS
decode_slot(const uint8_t *p, struct vpci_msg *m, const char **reason)
{
    m->slot = le32_get(p + VPCI_MSG_OFF_SLOT);
    if (!vpci_slot_valid(m->slot)) {
        return bad(reason, "slot has reserved bits 8-31 set");
    }
    return STATUS_SUCCESS;
}

static void
read_fn(const uint8_t *p, bool v2, struct vpci_fn_desc *fn)
{
    fn->vendor_id = le16_get(p + VPCI_FN_OFF_VENDOR);
    fn->device_id = le16_get(p + VPCI_FN_OFF_DEVICE);
    fn->revision = p[VPCI_FN_OFF_REVISION];
    fn->prog_if = p[VPCI_FN_OFF_PROG_IF];
    fn->subclass = p[VPCI_FN_OFF_SUBCLASS];
    fn->base_class = p[VPCI_FN_OFF_BASE_CLASS];
    fn->subsystem = le32_get(p + VPCI_FN_OFF_SUBSYSTEM);
    fn->slot = le32_get(p + VPCI_FN_OFF_SLOT);
    fn->serial = le32_get(p + VPCI_FN_OFF_SERIAL);
    fn->flags = v2 ? le32_get(p + VPCI_FN2_OFF_FLAGS) : 0;
    fn->numa_node = v2 ? le16_get(p + VPCI_FN2_OFF_NUMA) : 0;
}

static NTSTATUS
decode_relations(const uint8_t *p, size_t len, struct vpci_msg *m, const char **reason)
{
    bool v2 = m->type == PCI_BUS_RELATIONS2;
    size_t desc = v2 ? VPCI_FN_DESC2_SIZE : VPCI_FN_DESC_SIZE;
    uint32_t count = le32_get(p + VPCI_RELATIONS_OFF_COUNT);
    uint8_t seen[VPCI_SLOT_COUNT / 8] = {0};

    if (count > VPCI_SLOT_COUNT) {
        return bad(reason, "bus relations: device_count above 256 slots");
    }
    /* count <= 256 and desc <= 28, so the product cannot overflow. */
    if (len < VPCI_RELATIONS_OFF_DESC + count * desc) {
        return bad(reason, "bus relations: device_count exceeds the descriptors present");
    }
    if (len > round8(VPCI_RELATIONS_OFF_DESC + count * desc)) {
        return bad(reason, "bus relations: bytes beyond device_count descriptors");
    }
    m->u.relations.count = count;
    for (uint32_t i = 0; i < count; i++) {
        struct vpci_fn_desc *fn = &m->u.relations.fn[i];

        read_fn(p + VPCI_RELATIONS_OFF_DESC + i * desc, v2, fn);
        if (!vpci_slot_valid(fn->slot)) {
            return bad(reason, "bus relations: a descriptor's slot has reserved bits set");
        }
        if (seen[fn->slot / 8] & (1u << (fn->slot % 8))) {
            return bad(reason, "bus relations: two descriptors for the same slot");
        }
        seen[fn->slot / 8] |= (uint8_t)(1u << (fn->slot % 8));
        if ((fn->flags & ~VPCI_FN2_FLAGS_KNOWN) != 0) {
            return bad(reason, "bus relations 2: unknown descriptor flag bits");
        }
    }
    return STATUS_SUCCESS;
}

static void
read_cm(const uint8_t *p, struct vpci_cm_desc *cm)
{
    cm->type = p[VPCI_CM_OFF_TYPE];
    cm->share = p[VPCI_CM_OFF_SHARE];
    cm->flags = le16_get(p + VPCI_CM_OFF_FLAGS);
    cm->start = le64_get(p + VPCI_CM_OFF_START);
    cm->length = le32_get(p + VPCI_CM_OFF_LENGTH);
    cm->extra = le32_get(p + VPCI_CM_OFF_EXTRA);
}

/* A BAR resource from a guest: Null, Memory, or MemoryLarge with exactly one LARGE flag. */
static const char *
check_bar_cm(const struct vpci_cm_desc *cm)
{
    unsigned large = cm->flags & CM_RESOURCE_MEMORY_LARGE;

    switch (cm->type) {
    case CmResourceTypeNull: return NULL;
    case CmResourceTypeMemory: return large == 0 ? NULL : "resources assigned: Memory descriptor with a LARGE flag";
    case CmResourceTypeMemoryLarge:
        if (large == CM_RESOURCE_MEMORY_LARGE_40 || large == CM_RESOURCE_MEMORY_LARGE_48 ||
            large == CM_RESOURCE_MEMORY_LARGE_64) {
            return NULL;
        }
        return "resources assigned: MemoryLarge descriptor without exactly one LARGE flag";
    default: return "resources assigned: descriptor type is not Null, Memory or MemoryLarge";
    }
}

static NTSTATUS
decode_resources(const uint8_t *p, struct vpci_msg *m, const char **reason)
{
    m->u.resources.msi_count = le32_get(p + VPCI_RES_OFF_MSI_COUNT);
    if (m->u.resources.msi_count != 0) {
        if (reason != NULL) {
            *reason = "resources assigned: MSI resources are not served here; use CREATE_INTERRUPT_MESSAGE";
        }
        return STATUS_NOT_SUPPORTED;
    }
    for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
        const char *why;

        read_cm(p + VPCI_RES_OFF_DESC + i * VPCI_CM_DESC_SIZE, &m->u.resources.desc[i]);
        why = check_bar_cm(&m->u.resources.desc[i]);
        if (why != NULL) {
            return bad(reason, why);
        }
    }
    return STATUS_SUCCESS;
}

static NTSTATUS
check_msi_common(const struct vpci_msi_request *msi, bool v1, const char **reason)
{
    if (msi->vector_count < 1 || msi->vector_count > VPCI_MSI_MAX_VECTORS) {
        return bad(reason, "create interrupt: vector_count outside 1..32");
    }
    if (msi->delivery_mode > VPCI_MSI_DELIVERY_LOWEST) {
        return bad(reason, "create interrupt: unknown delivery mode");
    }
    if (!v1 && (msi->processor_count < 1 || msi->processor_count > VPCI_MSI_MAX_PROCESSORS)) {
        return bad(reason, "create interrupt: processor_count outside 1..32");
    }
    return STATUS_SUCCESS;
}

static NTSTATUS
decode_msi(const uint8_t *p, struct vpci_msg *m, const char **reason)
{
    const uint8_t *d = p + VPCI_INT_OFF_DESC;
    struct vpci_msi_request *msi = &m->u.msi;
    const uint8_t *procs;

    if (m->type == PCI_CREATE_INTERRUPT_MESSAGE) {
        msi->vector = d[VPCI_MSI1_OFF_VECTOR];
        msi->delivery_mode = d[VPCI_MSI1_OFF_DELIVERY];
        msi->vector_count = le16_get(d + VPCI_MSI1_OFF_VECTOR_COUNT);
        msi->cpu_mask = le64_get(d + VPCI_MSI1_OFF_CPU_MASK);
        return check_msi_common(msi, true, reason);
    }
    if (m->type == PCI_CREATE_INTERRUPT_MESSAGE2) {
        msi->vector = d[VPCI_MSI2_OFF_VECTOR];
        msi->delivery_mode = d[VPCI_MSI2_OFF_DELIVERY];
        msi->vector_count = le16_get(d + VPCI_MSI2_OFF_VECTOR_COUNT);
        msi->processor_count = le16_get(d + VPCI_MSI2_OFF_PROC_COUNT);
        procs = d + VPCI_MSI2_OFF_PROC_ARRAY;
    } else {
        msi->vector = le32_get(d + VPCI_MSI3_OFF_VECTOR);
        msi->delivery_mode = d[VPCI_MSI3_OFF_DELIVERY];
        msi->vector_count = le16_get(d + VPCI_MSI3_OFF_VECTOR_COUNT);
        msi->processor_count = le16_get(d + VPCI_MSI3_OFF_PROC_COUNT);
        procs = d + VPCI_MSI3_OFF_PROC_ARRAY;
    }
    if (check_msi_common(msi, false, reason) != STATUS_SUCCESS) {
        return STATUS_BAD_DATA;
    }
    for (unsigned i = 0; i < msi->processor_count; i++) {
        msi->processors[i] = le16_get(procs + 2 * i);
    }
    return STATUS_SUCCESS;
}

static void
read_mapping(const uint8_t *d, struct vpci_msi_mapping *map)
{
    map->vector_count = le16_get(d + VPCI_TRAN_INT_OFF_VECTOR_COUNT);
    map->data = le32_get(d + VPCI_TRAN_INT_OFF_DATA);
    map->address = le64_get(d + VPCI_TRAN_INT_OFF_ADDRESS);
}

static NTSTATUS
decode_block(const uint8_t *p, size_t len, struct vpci_msg *m, const char **reason)
{
    bool write = m->type == PCI_WRITE_BLOCK;

    m->u.block.block_id = le32_get(p + VPCI_READ_BLOCK_OFF_BLOCK_ID);
    m->u.block.byte_count = le32_get(p + VPCI_READ_BLOCK_OFF_BYTES);
    if (m->u.block.byte_count < 1 || m->u.block.byte_count > VPCI_BLOCK_MAX) {
        return bad(reason,
                   write ? "write block: byte_count outside 1..128" : "read block: bytes_requested outside 1..128");
    }
    if (!write) {
        return STATUS_SUCCESS;
    }
    /* contract.md 8.3: rely on byte_count, never on the (padded, slack-carrying) length. */
    if (len < VPCI_WRITE_BLOCK_OFF_DATA + (size_t)m->u.block.byte_count) {
        return bad(reason, "write block: byte_count beyond the payload");
    }
    memcpy(m->u.block.data, p + VPCI_WRITE_BLOCK_OFF_DATA, m->u.block.byte_count);
    return STATUS_SUCCESS;
}

static NTSTATUS
decode_d0_entry(const uint8_t *p, struct vpci_msg *m, const char **reason)
{
    m->u.mmio_base = le64_get(p + VPCI_D0ENTRY_OFF_MMIO_BASE);
    if (m->u.mmio_base % VPCI_CONFIG_WINDOW_ALIGN != 0) {
        return bad(reason, "bus D0 entry: config window GPA is not 4 KiB aligned");
    }
    if (m->u.mmio_base > UINT64_MAX - VPCI_CONFIG_WINDOW_SIZE + 1) {
        return bad(reason, "bus D0 entry: config window wraps the address space");
    }
    return STATUS_SUCCESS;
}

static NTSTATUS
decode_child(const uint8_t *p, struct vpci_msg *m, const char **reason)
{
    NTSTATUS st = decode_slot(p, m, reason);

    if (st != STATUS_SUCCESS) {
        return st;
    }
    switch (m->type) {
    case PCI_POWER_STATE_CHANGE:
        m->u.power_state = le32_get(p + VPCI_POWER_OFF_STATE);
        if (m->u.power_state < PowerDeviceD0 || m->u.power_state > PowerDeviceD3) {
            return bad(reason, "power state change: state outside D0 (1) .. D3 (4)");
        }
        return STATUS_SUCCESS;
    case PCI_EJECTION_COMPLETE: m->u.eject_status = le32_get(p + VPCI_EJECT_COMPLETE_OFF_STATUS); return STATUS_SUCCESS;
    case PCI_INVALIDATE_BLOCK: m->u.block_mask = le64_get(p + VPCI_INVALIDATE_OFF_MASK); return STATUS_SUCCESS;
    case PCI_RESOURCES_ASSIGNED:
    case PCI_RESOURCES_ASSIGNED2:
    case PCI_RESOURCES_ASSIGNED3: return decode_resources(p, m, reason);
    case PCI_CREATE_INTERRUPT_MESSAGE:
    case PCI_CREATE_INTERRUPT_MESSAGE2:
    case PCI_CREATE_INTERRUPT_MESSAGE3: return decode_msi(p, m, reason);
    case PCI_DELETE_INTERRUPT_MESSAGE:
    case PCI_DELETE_INTERRUPT_MESSAGE2: read_mapping(p + VPCI_INT_OFF_DESC, &m->u.mapping); return STATUS_SUCCESS;
    default: return STATUS_SUCCESS; /* {type, slot} only */
    }
}

static NTSTATUS
decode_body(const uint8_t *p, size_t len, struct vpci_msg *m, const char **reason)
{
    NTSTATUS st;

    switch (m->type) {
    case PCI_BUS_RELATIONS:
    case PCI_BUS_RELATIONS2: return decode_relations(p, len, m, reason);
    case PCI_QUERY_BUS_RELATIONS:
    case PCI_BUS_D0EXIT: return STATUS_SUCCESS;
    case PCI_BUS_D0ENTRY: return decode_d0_entry(p, m, reason);
    case PCI_QUERY_PROTOCOL_VERSION: m->u.version = le32_get(p + VPCI_VERSION_OFF_VERSION); return STATUS_SUCCESS;
    case PCI_READ_BLOCK:
    case PCI_WRITE_BLOCK:
        st = decode_block(p, len, m, reason);
        if (st == STATUS_SUCCESS) {
            m->slot = le32_get(p + VPCI_READ_BLOCK_OFF_SLOT);
            if (!vpci_slot_valid(m->slot)) {
                return bad(reason, "block: slot has reserved bits 8-31 set");
            }
        }
        return st;
    default: return decode_child(p, m, reason);
    }
}

/* Table checks: known id, served, direction, version, length bounds. */
static NTSTATUS
check_header(enum vpci_dir from, uint32_t version, const struct msg_info *info, size_t len, const char **reason)
{
    if (info == NULL) {
        return bad(reason, "unknown vPCI message id");
    }
    if (!info->supported) {
        if (reason != NULL) {
            *reason = "vPCI message id known but not served by pcivirt";
        }
        return STATUS_NOT_SUPPORTED;
    }
    if (info->dir != (uint8_t)from) {
        return bad(reason, from == VPCI_GUEST_TO_HOST ? "host-to-guest message sent by the guest"
                                                      : "guest-to-host message sent by the host");
    }
    if (version != VPCI_VERSION_ANY && version < info->min_version) {
        return bad(reason, "message not valid at the negotiated protocol version");
    }
    if (len < info->min_len) {
        return bad(reason, "payload shorter than the message");
    }
    if (info->max_len != 0 && len > round8(info->max_len)) {
        return bad(reason, "payload longer than the message");
    }
    return STATUS_SUCCESS;
}

NTSTATUS
vpci_msg_decode(enum vpci_dir from, uint32_t version, const uint8_t *payload, size_t len, struct vpci_msg *out,
                const char **reason)
{
    NTSTATUS st;

    memset(out, 0, sizeof(*out));
    if (reason != NULL) {
        *reason = NULL;
    }
    if (payload == NULL || len < 4) {
        return bad(reason, "payload shorter than a message id");
    }
    out->type = le32_get(payload + VPCI_MSG_OFF_TYPE);
    st = check_header(from, version, msg_lookup(out->type), len, reason);
    if (st != STATUS_SUCCESS) {
        return st;
    }
    return decode_body(payload, len, out, reason);
}

/* ---- replies ---- */

static NTSTATUS
decode_reply_body(const struct vpci_msg *req, const uint8_t *p, size_t len, struct vpci_reply *r, const char **reason)
{
    switch (req->type) {
    case PCI_QUERY_PROTOCOL_VERSION:
        if (len > round8(VPCI_VERSION_REPLY_SIZE)) {
            return bad(reason, "version reply longer than 8 bytes");
        }
        r->u.version = len >= VPCI_VERSION_REPLY_SIZE ? le32_get(p + VPCI_VERSION_REPLY_OFF_VERSION) : 0;
        return STATUS_SUCCESS;
    case PCI_QUERY_RESOURCE_REQUIREMENTS:
        if (len < VPCI_RESREQ_REPLY_SIZE || len > round8(VPCI_RESREQ_REPLY_SIZE)) {
            return bad(reason, "resource requirements reply is not 28 bytes");
        }
        for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
            r->u.probed_bar[i] = le32_get(p + VPCI_RESREQ_REPLY_OFF_BARS + 4 * i);
        }
        return STATUS_SUCCESS;
    case PCI_READ_BLOCK:
        if (len > round8(4 + VPCI_BLOCK_MAX)) {
            return bad(reason, "read block reply longer than 4 + 128 bytes");
        }
        /* contract.md 8.7: bytes returned = min(requested, payload - 4). */
        r->u.read_block.byte_count = (uint32_t)(len - 4);
        if (r->u.read_block.byte_count > req->u.block.byte_count) {
            r->u.read_block.byte_count = req->u.block.byte_count;
        }
        if (r->u.read_block.byte_count == 0) {
            return bad(reason, "read block reply: success without data");
        }
        memcpy(r->u.read_block.data, p + VPCI_READ_BLOCK_REPLY_OFF_DATA, r->u.read_block.byte_count);
        return STATUS_SUCCESS;
    case PCI_POWER_STATE_CHANGE:
        if (len > round8(VPCI_POWER_REPLY_SIZE)) {
            return bad(reason, "power state reply longer than 16 bytes");
        }
        if (len >= VPCI_POWER_REPLY_SIZE) {
            r->u.power.slot = le32_get(p + VPCI_POWER_REPLY_OFF_SLOT);
            r->u.power.state = le32_get(p + VPCI_POWER_REPLY_OFF_STATE);
        }
        return STATUS_SUCCESS;
    case PCI_CREATE_INTERRUPT_MESSAGE:
    case PCI_CREATE_INTERRUPT_MESSAGE2:
    case PCI_CREATE_INTERRUPT_MESSAGE3:
        if (len < VPCI_CREATE_INT_REPLY_SIZE || len > round8(VPCI_CREATE_INT_REPLY_SIZE)) {
            return bad(reason, "create interrupt reply is not 24 bytes");
        }
        read_mapping(p + VPCI_CREATE_INT_REPLY_OFF_DESC, &r->u.mapping);
        return STATUS_SUCCESS;
    case PCI_RESOURCES_ASSIGNED:
    case PCI_RESOURCES_ASSIGNED2:
    case PCI_RESOURCES_ASSIGNED3:
        if (len > round8(VPCI_RES_REPLY_SIZE)) {
            return bad(reason, "resources assigned reply longer than 136 bytes");
        }
        if (len < VPCI_RES_REPLY_SIZE) {
            return STATUS_SUCCESS; /* status only, as Linux reads it */
        }
        if (le32_get(p + VPCI_RES_REPLY_OFF_MSI_COUNT) != 0) {
            return bad(reason, "resources assigned reply carries MSI resources nobody asked for");
        }
        r->u.resources.translated = true;
        r->u.resources.slot = le32_get(p + VPCI_RES_REPLY_OFF_SLOT);
        for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
            read_cm(p + VPCI_RES_REPLY_OFF_DESC + i * VPCI_CM_DESC_SIZE, &r->u.resources.desc[i]);
        }
        return STATUS_SUCCESS;
    case PCI_QUERY_RESOURCE_RESOURCES:
        if (len < VPCI_GETRES_REPLY_SIZE || len > round8(VPCI_GETRES_REPLY_SIZE)) {
            return bad(reason, "query resources reply is not 132 bytes");
        }
        if (le32_get(p + VPCI_GETRES_REPLY_OFF_COUNT) != VPCI_BAR_COUNT) {
            return bad(reason, "query resources reply: descriptor count is not 6");
        }
        r->u.resources.translated = true;
        r->u.resources.slot = req->slot;
        for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
            read_cm(p + VPCI_GETRES_REPLY_OFF_DESC + i * VPCI_CM_DESC_SIZE, &r->u.resources.desc[i]);
        }
        return STATUS_SUCCESS;
    default:
        if (len > 8) {
            return bad(reason, "status-only reply longer than 8 bytes");
        }
        return STATUS_SUCCESS;
    }
}

NTSTATUS
vpci_reply_decode(const struct vpci_msg *req, const uint8_t *payload, size_t len, struct vpci_reply *out,
                  const char **reason)
{
    memset(out, 0, sizeof(*out));
    if (reason != NULL) {
        *reason = NULL;
    }
    if (req == NULL || msg_lookup(req->type) == NULL) {
        return bad(reason, "reply to an unknown request");
    }
    out->request_type = req->type;
    if (payload == NULL || len < VPCI_REPLY_STATUS_SIZE) {
        return bad(reason, "reply shorter than its 32-bit status");
    }
    out->status = (NTSTATUS)le32_get(payload + VPCI_REPLY_OFF_STATUS);
    if (!NT_SUCCESS(out->status)) {
        /* A failure carries nothing else the receiver may use; bound the length only. */
        return len <= round8(VPCI_MSG_MAX_SIZE) ? STATUS_SUCCESS : bad(reason, "failure reply too long");
    }
    return decode_reply_body(req, payload, len, out, reason);
}
