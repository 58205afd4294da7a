/*
 * vmbus/vpci_equal.c - field-by-field equality of decoded vPCI messages and replies.
 *
 * Round-trip checks (tests, the fuzzer) need "the same message", which memcmp over
 * structs with padding cannot promise; these compare exactly the fields the
 * message's type gives meaning to, nothing else.
 */
#include <string.h>

#include "vmbus/vpci_msg.h"

static bool
fn_equal(const struct vpci_fn_desc *a, const struct vpci_fn_desc *b)
{
    return a->vendor_id == b->vendor_id && a->device_id == b->device_id && a->revision == b->revision &&
           a->prog_if == b->prog_if && a->subclass == b->subclass && a->base_class == b->base_class &&
           a->subsystem == b->subsystem && a->slot == b->slot && a->serial == b->serial && a->flags == b->flags &&
           a->numa_node == b->numa_node;
}

static bool
cm_equal(const struct vpci_cm_desc *a, const struct vpci_cm_desc *b)
{
    return a->type == b->type && a->share == b->share && a->flags == b->flags && a->start == b->start &&
           a->length == b->length && a->extra == b->extra;
}

static bool
cm6_equal(const struct vpci_cm_desc *a, const struct vpci_cm_desc *b)
{
    for (unsigned i = 0; i < VPCI_BAR_COUNT; i++) {
        if (!cm_equal(&a[i], &b[i])) {
            return false;
        }
    }
    return true;
}

static bool
mapping_equal(const struct vpci_msi_mapping *a, const struct vpci_msi_mapping *b)
{
    return a->vector_count == b->vector_count && a->data == b->data && a->address == b->address;
}

static bool
msi_equal(uint32_t type, const struct vpci_msi_request *a, const struct vpci_msi_request *b)
{
    if (a->vector != b->vector || a->delivery_mode != b->delivery_mode || a->vector_count != b->vector_count) {
        return false;
    }
    if (type == PCI_CREATE_INTERRUPT_MESSAGE) {
        return a->cpu_mask == b->cpu_mask;
    }
    if (a->processor_count != b->processor_count || a->processor_count > VPCI_MSI_MAX_PROCESSORS) {
        return false;
    }
    return memcmp(a->processors, b->processors, a->processor_count * sizeof(a->processors[0])) == 0;
}

static bool
relations_equal(const struct vpci_msg *a, const struct vpci_msg *b)
{
    if (a->u.relations.count != b->u.relations.count || a->u.relations.count > VPCI_SLOT_COUNT) {
        return false;
    }
    for (uint32_t i = 0; i < a->u.relations.count; i++) {
        if (!fn_equal(&a->u.relations.fn[i], &b->u.relations.fn[i])) {
            return false;
        }
    }
    return true;
}

bool
vpci_msg_equal(const struct vpci_msg *a, const struct vpci_msg *b)
{
    if (a->type != b->type || a->slot != b->slot) {
        return false;
    }
    switch (a->type) {
    case PCI_BUS_RELATIONS:
    case PCI_BUS_RELATIONS2: return relations_equal(a, b);
    case PCI_QUERY_PROTOCOL_VERSION: return a->u.version == b->u.version;
    case PCI_POWER_STATE_CHANGE: return a->u.power_state == b->u.power_state;
    case PCI_BUS_D0ENTRY: return a->u.mmio_base == b->u.mmio_base;
    case PCI_EJECTION_COMPLETE: return a->u.eject_status == b->u.eject_status;
    case PCI_INVALIDATE_BLOCK: return a->u.block_mask == b->u.block_mask;
    case PCI_READ_BLOCK:
        return a->u.block.block_id == b->u.block.block_id && a->u.block.byte_count == b->u.block.byte_count;
    case PCI_WRITE_BLOCK:
        return a->u.block.block_id == b->u.block.block_id && a->u.block.byte_count == b->u.block.byte_count &&
               a->u.block.byte_count <= VPCI_BLOCK_MAX &&
               memcmp(a->u.block.data, b->u.block.data, a->u.block.byte_count) == 0;
    case PCI_RESOURCES_ASSIGNED:
    case PCI_RESOURCES_ASSIGNED2:
    case PCI_RESOURCES_ASSIGNED3:
        return a->u.resources.msi_count == b->u.resources.msi_count &&
               cm6_equal(a->u.resources.desc, b->u.resources.desc);
    case PCI_CREATE_INTERRUPT_MESSAGE:
    case PCI_CREATE_INTERRUPT_MESSAGE2:
    case PCI_CREATE_INTERRUPT_MESSAGE3: return msi_equal(a->type, &a->u.msi, &b->u.msi);
    case PCI_DELETE_INTERRUPT_MESSAGE:
    case PCI_DELETE_INTERRUPT_MESSAGE2: return mapping_equal(&a->u.mapping, &b->u.mapping);
    default: return true; /* {type, slot} or type only */
    }
}

bool
vpci_reply_equal(const struct vpci_reply *a, const struct vpci_reply *b)
{
    if (a->request_type != b->request_type || a->status != b->status) {
        return false;
    }
    if (!NT_SUCCESS(a->status)) {
        return true;
    }
    switch (a->request_type) {
    case PCI_QUERY_PROTOCOL_VERSION: return a->u.version == b->u.version;
    case PCI_QUERY_RESOURCE_REQUIREMENTS: return memcmp(a->u.probed_bar, b->u.probed_bar, sizeof(a->u.probed_bar)) == 0;
    case PCI_READ_BLOCK:
        return a->u.read_block.byte_count == b->u.read_block.byte_count &&
               a->u.read_block.byte_count <= VPCI_BLOCK_MAX &&
               memcmp(a->u.read_block.data, b->u.read_block.data, a->u.read_block.byte_count) == 0;
    case PCI_POWER_STATE_CHANGE: return a->u.power.slot == b->u.power.slot && a->u.power.state == b->u.power.state;
    case PCI_CREATE_INTERRUPT_MESSAGE:
    case PCI_CREATE_INTERRUPT_MESSAGE2:
    case PCI_CREATE_INTERRUPT_MESSAGE3: return mapping_equal(&a->u.mapping, &b->u.mapping);
    case PCI_RESOURCES_ASSIGNED:
    case PCI_RESOURCES_ASSIGNED2:
    case PCI_RESOURCES_ASSIGNED3:
    case PCI_QUERY_RESOURCE_RESOURCES:
        if (a->u.resources.translated != b->u.resources.translated) {
            return false;
        }
        return !a->u.resources.translated ||
               (a->u.resources.slot == b->u.resources.slot && cm6_equal(a->u.resources.desc, b->u.resources.desc));
    default: return true;
    }
}
