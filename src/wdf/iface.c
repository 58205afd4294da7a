/*
 * wdf/iface.c - the device-interface registry: instances a driver registers,
 * their enabled state, enumeration by class, and arrival/removal notifications.
 *
 * This is how the virtualization stack finds PFs (contract.md 3.1 step 1): it
 * enumerates GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE or waits for arrivals.
 * Notifications run on the host's serial notification lane, in the order the
 * state changes happened, never on the PnP thread, so a client may open a target
 * or send IOCTLs from its callback (as Windows' PnP notification callbacks run on
 * a system worker thread).  A symbolic link names an instance:
 * "\\??\\<instance id>#{class guid}[\\<reference string>]".
 */
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

struct wdf_devif {
    struct list_node node;
    GUID cls;
    char link[WDF_LINK_MAX];
    struct wdf_device *dev;
    struct wdf_node *devnode;
    bool enabled;
};

struct wdf_notification {
    struct list_node node;
    struct wdf_host *host;
    GUID cls;
    wdf_interface_change_fn fn;
    void *ctx;
    bool dead;
    bool self_free;
    unsigned pending;
};

struct notify_msg {
    struct wdf_notification *n;
    GUID cls;
    bool arrival;
    char link[WDF_LINK_MAX];
};

static void
guid_text(const GUID *g, char *out, size_t len)
{
    snprintf(out, len, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", g->Data1, g->Data2, g->Data3, g->Data4[0],
             g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

/* ASCII rendering of a reference string; false if it is not plain ASCII or too long. */
static bool
ref_text(PCUNICODE_STRING ref, char *out, size_t len)
{
    size_t n;

    out[0] = '\0';
    if (ref == NULL || ref->Length == 0) {
        return true;
    }
    n = ref->Length / sizeof(WCHAR);
    if (ref->Buffer == NULL || n + 1 > len) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (ref->Buffer[i] == 0 || ref->Buffer[i] > 0x7e || ref->Buffer[i] == '\\') {
            return false;
        }
        out[i] = (char)ref->Buffer[i];
    }
    out[n] = '\0';
    return true;
}

static void
notify_run(struct wdf_host *host, void *arg)
{
    struct notify_msg *m = arg;
    struct wdf_notification *n = m->n;
    bool dead, free_it;

    pthread_mutex_lock(&host->mu);
    dead = n->dead;
    pthread_mutex_unlock(&host->mu);
    if (!dead) {
        n->fn(n->ctx, &m->cls, m->link, m->arrival);
    }
    pthread_mutex_lock(&host->mu);
    n->pending--;
    free_it = n->self_free && n->pending == 0;
    pthread_cond_broadcast(&host->cv);
    pthread_mutex_unlock(&host->mu);
    pv_free(m);
    if (free_it) {
        pv_free(n);
    }
}

static void
post_change_locked(struct wdf_host *host, struct wdf_notification *n, const struct wdf_devif *di, bool arrival)
{
    struct notify_msg *m = pv_calloc(1, sizeof(*m));

    if (m == NULL) {
        return;
    }
    m->n = n;
    m->cls = di->cls;
    m->arrival = arrival;
    memcpy(m->link, di->link, sizeof(m->link));
    n->pending++;
    if (!wdf_post_notify_locked(host, notify_run, m)) {
        n->pending--;
        pv_free(m);
    }
}

static void
set_enabled_locked(struct wdf_host *host, struct wdf_devif *di, bool enabled)
{
    struct list_node *pos;

    if (di->enabled == enabled) {
        return;
    }
    di->enabled = enabled;
    list_for_each(pos, &host->notifications)
    {
        struct wdf_notification *n = list_entry(pos, struct wdf_notification, node);
        if (!n->dead && IsEqualGUID(&n->cls, &di->cls)) {
            post_change_locked(host, n, di, enabled);
        }
    }
}

NTSTATUS
WdfDeviceCreateDeviceInterface(WDFDEVICE Device, const GUID *InterfaceClassGUID, PCUNICODE_STRING ReferenceString)
{
    struct wdf_device *dev = (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "WdfDeviceCreateDeviceInterface");
    char g[40], ref[64];
    struct wdf_devif *di;
    struct list_node *pos;
    struct wdf_host *host;
    bool enable;

    if (dev == NULL || InterfaceClassGUID == NULL || !ref_text(ReferenceString, ref, sizeof(ref))) {
        return STATUS_INVALID_PARAMETER;
    }
    host = dev->obj.host;
    di = pv_calloc(1, sizeof(*di));
    if (di == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    guid_text(InterfaceClassGUID, g, sizeof(g));
    snprintf(di->link, sizeof(di->link), "\\??\\%s#%s%s%s", dev->node->instance_id, g, ref[0] ? "\\" : "", ref);
    di->cls = *InterfaceClassGUID;
    di->dev = dev;
    di->devnode = dev->node;
    pthread_mutex_lock(&host->mu);
    list_for_each(pos, &host->ifaces)
    {
        if (strcmp(list_entry(pos, struct wdf_devif, node)->link, di->link) == 0) {
            pthread_mutex_unlock(&host->mu);
            pv_free(di);
            return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    list_add_tail(&host->ifaces, &di->node);
    /* Registered on a started device (KMDF allows it): enable at once. */
    enable = dev->in_d0;
    if (enable) {
        set_enabled_locked(host, di, true);
    }
    pthread_mutex_unlock(&host->mu);
    return STATUS_SUCCESS;
}

VOID
WdfDeviceSetDeviceInterfaceState(WDFDEVICE Device, const GUID *InterfaceClassGUID, PCUNICODE_STRING ReferenceString,
                                 BOOLEAN IsInterfaceEnabled)
{
    struct wdf_device *dev =
        (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "WdfDeviceSetDeviceInterfaceState");
    char g[40], ref[64], link[WDF_LINK_MAX];
    struct list_node *pos;

    if (dev == NULL || InterfaceClassGUID == NULL || !ref_text(ReferenceString, ref, sizeof(ref))) {
        return;
    }
    guid_text(InterfaceClassGUID, g, sizeof(g));
    snprintf(link, sizeof(link), "\\??\\%s#%s%s%s", dev->node->instance_id, g, ref[0] ? "\\" : "", ref);
    pthread_mutex_lock(&dev->obj.host->mu);
    list_for_each(pos, &dev->obj.host->ifaces)
    {
        struct wdf_devif *di = list_entry(pos, struct wdf_devif, node);
        if (di->dev == dev && strcmp(di->link, link) == 0) {
            set_enabled_locked(dev->obj.host, di, IsInterfaceEnabled != FALSE);
        }
    }
    pthread_mutex_unlock(&dev->obj.host->mu);
}

void
wdf_iface_set_device_state(struct wdf_device *dev, bool enabled)
{
    struct wdf_host *host = dev->obj.host;
    struct list_node *pos;

    pthread_mutex_lock(&host->mu);
    list_for_each(pos, &host->ifaces)
    {
        struct wdf_devif *di = list_entry(pos, struct wdf_devif, node);
        if (di->dev == dev) {
            set_enabled_locked(host, di, enabled);
        }
    }
    pthread_mutex_unlock(&host->mu);
}

void
wdf_iface_drop_device(struct wdf_device *dev)
{
    struct list_node *pos, *tmp;

    list_for_each_safe(pos, tmp, &dev->obj.host->ifaces)
    {
        struct wdf_devif *di = list_entry(pos, struct wdf_devif, node);
        if (di->dev == dev) {
            set_enabled_locked(dev->obj.host, di, false);
            list_del_init(&di->node);
            pv_free(di);
        }
    }
}

struct wdf_node *
wdf_iface_lookup_locked(struct wdf_host *host, const char *link)
{
    struct list_node *pos;

    list_for_each(pos, &host->ifaces)
    {
        struct wdf_devif *di = list_entry(pos, struct wdf_devif, node);
        if (di->enabled && strcmp(di->link, link) == 0) {
            return di->devnode;
        }
    }
    return NULL;
}

NTSTATUS
wdf_interface_list(struct wdf_host *host, const GUID *class_guid, char ***links)
{
    size_t count = 0, bytes = 0;
    struct list_node *pos;
    char **arr, *p;

    if (host == NULL || class_guid == NULL || links == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *links = NULL;
    pthread_mutex_lock(&host->mu);
    list_for_each(pos, &host->ifaces)
    {
        struct wdf_devif *di = list_entry(pos, struct wdf_devif, node);
        if (di->enabled && IsEqualGUID(&di->cls, class_guid)) {
            count++;
            bytes += strlen(di->link) + 1;
        }
    }
    arr = pv_malloc((count + 1) * sizeof(char *) + bytes);
    if (arr == NULL) {
        pthread_mutex_unlock(&host->mu);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    p = (char *)(arr + count + 1);
    count = 0;
    list_for_each(pos, &host->ifaces)
    {
        struct wdf_devif *di = list_entry(pos, struct wdf_devif, node);
        if (di->enabled && IsEqualGUID(&di->cls, class_guid)) {
            size_t l = strlen(di->link) + 1;
            memcpy(p, di->link, l);
            arr[count++] = p;
            p += l;
        }
    }
    arr[count] = NULL;
    pthread_mutex_unlock(&host->mu);
    *links = arr;
    return STATUS_SUCCESS;
}

void
wdf_interface_list_free(char **links)
{
    pv_free(links);
}

NTSTATUS
wdf_interface_register_notification(struct wdf_host *host, const GUID *class_guid, bool include_existing,
                                    wdf_interface_change_fn fn, void *ctx, struct wdf_notification **out)
{
    struct wdf_notification *n;
    struct list_node *pos;

    if (out == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *out = NULL;
    if (host == NULL || class_guid == NULL || fn == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    n = pv_calloc(1, sizeof(*n));
    if (n == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    list_init(&n->node);
    n->host = host;
    n->cls = *class_guid;
    n->fn = fn;
    n->ctx = ctx;
    pthread_mutex_lock(&host->mu);
    list_add_tail(&host->notifications, &n->node);
    if (include_existing) {
        list_for_each(pos, &host->ifaces)
        {
            struct wdf_devif *di = list_entry(pos, struct wdf_devif, node);
            if (di->enabled && IsEqualGUID(&di->cls, class_guid)) {
                post_change_locked(host, n, di, true);
            }
        }
    }
    pthread_mutex_unlock(&host->mu);
    *out = n;
    return STATUS_SUCCESS;
}

void
wdf_interface_unregister_notification(struct wdf_notification *n)
{
    struct list_node *pos, *tmp;
    struct wdf_host *host;

    if (n == NULL) {
        return;
    }
    host = n->host;
    pthread_mutex_lock(&host->mu);
    n->dead = true;
    if (list_linked(&n->node)) {
        list_del_init(&n->node);
    }
    list_for_each_safe(pos, tmp, &host->notify_work)
    {
        struct wdf_work *w = list_entry(pos, struct wdf_work, node);
        struct notify_msg *m = w->arg;
        if (w->fn == notify_run && m->n == n) {
            list_del_init(&w->node);
            n->pending--;
            pv_free(m);
            pv_free(w);
        }
    }
    if (pthread_equal(pthread_self(), host->notify_thread) && n->pending > 0) {
        /* Called from its own upcall: notify_run frees it when the upcall returns. */
        n->self_free = true;
        pthread_mutex_unlock(&host->mu);
        return;
    }
    while (n->pending > 0) {
        wdf_wait_locked(host, WDF_NO_DEADLINE, false, false);
    }
    pthread_mutex_unlock(&host->mu);
    pv_free(n);
}

void
wdf_iface_free_all(struct wdf_host *host)
{
    struct list_node *n;

    pthread_mutex_lock(&host->mu);
    while ((n = list_pop_head(&host->ifaces)) != NULL) {
        pv_free(list_entry(n, struct wdf_devif, node));
    }
    while ((n = list_pop_head(&host->notifications)) != NULL) {
        struct wdf_notification *no = list_entry(n, struct wdf_notification, node);
        if (no->pending == 0) {
            pv_free(no);
        } else {
            no->dead = true;
            no->self_free = true;
        }
    }
    pthread_mutex_unlock(&host->mu);
}
