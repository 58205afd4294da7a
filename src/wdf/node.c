/*
 * wdf/node.c - device nodes: the PDO a bus model creates, its resources and the
 * query-interface tables it answers, and the stack of devices above it.
 *
 * A node is the unit the PnP manager works on: one PDO owned by the bus model,
 * an optional lower filter and a function driver above it (contract.md 3.1: the
 * SR-IOV interface may come from the FDO or from a lower filter under a port
 * driver).  Resources are double-buffered: the lists handed to
 * EvtDevicePrepareHardware stay valid until the next start, and new resources
 * (rebalance) only take effect at that start.
 */
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

static void
reslist_clear(struct wdf_reslist *l)
{
    pv_free(l->d);
    l->d = NULL;
    l->count = 0;
    l->magic = WDF_RESLIST_MAGIC;
}

static NTSTATUS
reslist_copy(struct wdf_reslist *l, const CM_PARTIAL_RESOURCE_DESCRIPTOR *d, ULONG count)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR *copy = NULL;

    if (count > 4096) {
        return STATUS_INVALID_PARAMETER;
    }
    if (count != 0) {
        copy = pv_malloc(count * sizeof(*copy));
        if (copy == NULL) {
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        memcpy(copy, d, count * sizeof(*copy));
    }
    reslist_clear(l);
    l->d = copy;
    l->count = count;
    return STATUS_SUCCESS;
}

static NTSTATUS
copy_pdo_interfaces(struct wdf_node *node, const struct wdf_pdo_config *cfg)
{
    if (cfg->interface_count == 0) {
        return STATUS_SUCCESS;
    }
    node->pdo_ifaces = pv_calloc(cfg->interface_count, sizeof(*node->pdo_ifaces));
    if (node->pdo_ifaces == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    for (size_t i = 0; i < cfg->interface_count; i++) {
        const struct wdf_pdo_interface *pi = &cfg->interfaces[i];
        if (pi->type == NULL || pi->table == NULL || pi->table->Size < sizeof(INTERFACE)) {
            return STATUS_INVALID_PARAMETER;
        }
        node->pdo_ifaces[i].type = *pi->type;
        node->pdo_ifaces[i].table = pv_malloc(pi->table->Size);
        if (node->pdo_ifaces[i].table == NULL) {
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        memcpy(node->pdo_ifaces[i].table, pi->table, pi->table->Size);
        node->pdo_iface_count = i + 1;
    }
    return STATUS_SUCCESS;
}

static void
node_free(struct wdf_node *node)
{
    if (node == NULL) {
        return;
    }
    for (size_t i = 0; i < node->pdo_iface_count; i++) {
        pv_free(node->pdo_ifaces[i].table);
    }
    pv_free(node->pdo_ifaces);
    reslist_clear(&node->raw);
    reslist_clear(&node->translated);
    reslist_clear(&node->next_raw);
    reslist_clear(&node->next_translated);
    pthread_mutex_destroy(&node->pnp_mu);
    pv_free(node);
}

static bool
instance_in_use_locked(struct wdf_host *host, const char *id)
{
    struct list_node *pos;

    list_for_each(pos, &host->nodes)
    {
        if (strcmp(list_entry(pos, struct wdf_node, node)->instance_id, id) == 0) {
            return true;
        }
    }
    return false;
}

static NTSTATUS
pdo_config_check(const struct wdf_pdo_config *cfg)
{
    if (cfg == NULL || cfg->hardware_id == NULL || cfg->instance_id == NULL || cfg->instance_id[0] == '\0' ||
        strlen(cfg->instance_id) >= WDF_NAME_MAX || strlen(cfg->hardware_id) >= WDF_NAME_MAX * 2) {
        return STATUS_INVALID_PARAMETER;
    }
    if (cfg->resource_count != 0 && (cfg->raw == NULL || cfg->translated == NULL)) {
        return STATUS_INVALID_PARAMETER;
    }
    if (cfg->interface_count != 0 && cfg->interfaces == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

NTSTATUS
wdf_pdo_create(struct wdf_host *host, const struct wdf_pdo_config *cfg, struct wdf_node **out)
{
    struct wdf_node *node;
    NTSTATUS st;

    if (out == NULL || host == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *out = NULL;
    st = pdo_config_check(cfg);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    node = pv_calloc(1, sizeof(*node));
    if (node == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (pthread_mutex_init(&node->pnp_mu, NULL) != 0) {
        pv_free(node);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    list_init(&node->node);
    node->host = host;
    node->state = WDF_PNP_ADDED;
    node->raw.magic = node->translated.magic = WDF_RESLIST_MAGIC;
    node->next_raw.magic = node->next_translated.magic = WDF_RESLIST_MAGIC;
    snprintf(node->instance_id, sizeof(node->instance_id), "%s", cfg->instance_id);
    snprintf(node->hardware_id, sizeof(node->hardware_id), "%s", cfg->hardware_id);
    st = copy_pdo_interfaces(node, cfg);
    if (NT_SUCCESS(st)) {
        st = wdf_node_set_resources(node, cfg->raw, cfg->translated, cfg->resource_count);
    }
    if (!NT_SUCCESS(st)) {
        node_free(node);
        return st;
    }
    pthread_mutex_lock(&host->mu);
    if (instance_in_use_locked(host, node->instance_id)) {
        pthread_mutex_unlock(&host->mu);
        node_free(node);
        return STATUS_OBJECT_NAME_COLLISION;
    }
    list_add_tail(&host->nodes, &node->node);
    pthread_mutex_unlock(&host->mu);
    *out = node;
    return STATUS_SUCCESS;
}

NTSTATUS
wdf_node_set_resources(struct wdf_node *node, const CM_PARTIAL_RESOURCE_DESCRIPTOR *raw,
                       const CM_PARTIAL_RESOURCE_DESCRIPTOR *translated, ULONG count)
{
    struct wdf_reslist r = {WDF_RESLIST_MAGIC, 0, NULL};
    struct wdf_reslist t = {WDF_RESLIST_MAGIC, 0, NULL};
    NTSTATUS st;

    if (node == NULL || (count != 0 && (raw == NULL || translated == NULL))) {
        return STATUS_INVALID_PARAMETER;
    }
    st = reslist_copy(&r, raw, count);
    if (NT_SUCCESS(st)) {
        st = reslist_copy(&t, translated, count);
    }
    if (!NT_SUCCESS(st)) {
        reslist_clear(&r);
        return st;
    }
    pthread_mutex_lock(&node->host->mu);
    reslist_clear(&node->next_raw);
    reslist_clear(&node->next_translated);
    node->next_raw = r;
    node->next_translated = t;
    node->next_set = true;
    pthread_mutex_unlock(&node->host->mu);
    return STATUS_SUCCESS;
}

void
wdf_node_take_resources(struct wdf_node *node)
{
    pthread_mutex_lock(&node->host->mu);
    if (node->next_set) {
        reslist_clear(&node->raw);
        reslist_clear(&node->translated);
        node->raw = node->next_raw;
        node->translated = node->next_translated;
        node->next_raw.d = node->next_translated.d = NULL;
        node->next_raw.count = node->next_translated.count = 0;
        node->next_set = false;
    }
    pthread_mutex_unlock(&node->host->mu);
}

ULONG
WdfCmResourceListGetCount(WDFCMRESLIST List)
{
    const struct wdf_reslist *l = (const struct wdf_reslist *)List;

    return l != NULL && l->magic == WDF_RESLIST_MAGIC ? l->count : 0;
}

PCM_PARTIAL_RESOURCE_DESCRIPTOR
WdfCmResourceListGetDescriptor(WDFCMRESLIST List, ULONG Index)
{
    struct wdf_reslist *l = (struct wdf_reslist *)List;

    if (l == NULL || l->magic != WDF_RESLIST_MAGIC || Index >= l->count) {
        return NULL;
    }
    return &l->d[Index];
}

WDFDEVICE
wdf_node_device(struct wdf_node *node, enum wdf_stack_role role)
{
    WDFDEVICE d;

    if (node == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&node->host->mu);
    d = (WDFDEVICE)node->stack[role == WDF_ROLE_FUNCTION ? 2 : 1];
    pthread_mutex_unlock(&node->host->mu);
    return d;
}

const char *
wdf_node_instance_id(const struct wdf_node *node)
{
    return node != NULL ? node->instance_id : NULL;
}

enum wdf_pnp_state
wdf_node_state(struct wdf_node *node)
{
    enum wdf_pnp_state s;

    if (node == NULL) {
        return WDF_PNP_REMOVED;
    }
    pthread_mutex_lock(&node->host->mu);
    s = node->state;
    pthread_mutex_unlock(&node->host->mu);
    return s;
}

struct wdf_device *
wdf_node_top(struct wdf_node *node)
{
    for (int i = WDF_STACK_MAX - 1; i >= 1; i--) {
        if (node->stack[i] != NULL) {
            return node->stack[i];
        }
    }
    return NULL;
}

struct wdf_device *
wdf_device_below(struct wdf_device *dev)
{
    for (int i = dev->level - 1; i >= 1; i--) {
        if (dev->node->stack[i] != NULL) {
            return dev->node->stack[i];
        }
    }
    return NULL;
}

void
wdf_node_free_all(struct wdf_host *host)
{
    struct list_node *n;

    for (;;) {
        pthread_mutex_lock(&host->mu);
        n = list_pop_head(&host->nodes);
        pthread_mutex_unlock(&host->mu);
        if (n == NULL) {
            break;
        }
        struct wdf_node *node = list_entry(n, struct wdf_node, node);
        pthread_mutex_lock(&node->pnp_mu);
        if (node->state == WDF_PNP_STARTED || node->state == WDF_PNP_STOP_PENDING || node->state == WDF_PNP_STOPPED) {
            node->state = WDF_PNP_REMOVE_PENDING; /* teardown: nobody is asked */
        }
        pthread_mutex_unlock(&node->pnp_mu);
        if (wdf_node_state(node) != WDF_PNP_REMOVED) {
            (void)wdf_pnp_remove(node);
        }
        node_free(node);
    }
}
