/*
 * wdf/object.c - the object model: header, typed context, parent/child tree,
 * references, deletion.
 *
 * Each object is one allocation: the type's struct (which starts with struct
 * wdf_obj), a small header, then the driver's context.  The header lets
 * WdfObjectContextGetObject() go from a context pointer back to the object - the
 * counted interface reference functions rely on that (contract.md 7.6).
 *
 * Lifetime follows KMDF: WdfObjectDelete() runs children's teardown first, then
 * the object's EvtCleanupCallback; the memory (and EvtDestroyCallback) goes when
 * the last reference is dropped.  Creation holds one reference.
 */
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

#define CTX_ALIGN 16u

static size_t
align_up(size_t v)
{
    return (v + CTX_ALIGN - 1) & ~(size_t)(CTX_ALIGN - 1);
}

static size_t
context_size(PWDF_OBJECT_ATTRIBUTES attrs)
{
    size_t sz;

    if (attrs == NULL || attrs->ContextTypeInfo == NULL) {
        return 0;
    }
    sz = attrs->ContextTypeInfo->ContextSize;
    if (attrs->ContextSizeOverride > sz) {
        sz = attrs->ContextSizeOverride;
    }
    return sz;
}

static bool
attrs_valid(PWDF_OBJECT_ATTRIBUTES attrs)
{
    if (attrs == NULL) {
        return true;
    }
    if (attrs->Size != sizeof(*attrs)) {
        return false;
    }
    if (attrs->ContextTypeInfo != NULL && attrs->ContextTypeInfo->ContextName == NULL) {
        return false;
    }
    return true;
}

NTSTATUS
wdf_obj_alloc(struct wdf_host *host, enum wdf_obj_type type, size_t size, PWDF_OBJECT_ATTRIBUTES attrs,
              struct wdf_obj *parent, struct wdf_obj **out)
{
    size_t head = align_up(size);
    size_t hdr = align_up(sizeof(struct wdf_ctx_hdr));
    size_t csz = context_size(attrs);
    struct wdf_obj *obj;

    *out = NULL;
    if (!attrs_valid(attrs)) {
        return STATUS_INVALID_PARAMETER;
    }
    if (attrs != NULL && (attrs->SynchronizationScope == WdfSynchronizationScopeDevice ||
                          attrs->SynchronizationScope == WdfSynchronizationScopeQueue)) {
        return STATUS_NOT_SUPPORTED;
    }
    obj = pv_calloc(1, head + hdr + (csz != 0 ? align_up(csz) : 0));
    if (obj == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    obj->magic = WDF_OBJ_MAGIC;
    obj->type = type;
    obj->host = host;
    obj->refs = 1;
    list_init(&obj->children);
    list_init(&obj->sibling);
    list_init(&obj->free_node);
    if (parent == NULL && attrs != NULL && attrs->ParentObject != NULL) {
        parent = wdf_obj_check(attrs->ParentObject, 0, "ParentObject");
    }
    obj->parent = parent;
    if (attrs != NULL) {
        obj->cleanup = attrs->EvtCleanupCallback;
        obj->destroy = attrs->EvtDestroyCallback;
    }
    if (csz != 0) {
        struct wdf_ctx_hdr *h = (struct wdf_ctx_hdr *)((char *)obj + head);
        h->magic = WDF_CTX_MAGIC;
        h->obj = obj;
        obj->ctx = (char *)obj + head + hdr;
        obj->ctx_type = attrs->ContextTypeInfo;
    }
    *out = obj;
    return STATUS_SUCCESS;
}

void
wdf_obj_link(struct wdf_obj *obj)
{
    if (obj->parent != NULL) {
        list_add_tail(&obj->parent->children, &obj->sibling);
    }
}

void
wdf_obj_free_unlinked(struct wdf_obj *obj)
{
    if (obj != NULL) {
        obj->magic = WDF_DEAD_MAGIC;
        pv_free(obj);
    }
}

void
wdf_obj_ref_locked(struct wdf_obj *obj)
{
    obj->refs++;
}

void
wdf_obj_unref_locked(struct wdf_obj *obj, struct list_node *to_free)
{
    if (obj->refs == 0) {
        return;
    }
    if (--obj->refs == 0) {
        list_add_tail(to_free, &obj->free_node);
    }
}

void
wdf_obj_free_list(struct list_node *to_free)
{
    struct list_node *n;

    while ((n = list_pop_head(to_free)) != NULL) {
        struct wdf_obj *obj = list_entry(n, struct wdf_obj, free_node);
        struct wdf_host *prev = wdf_enter(obj->host);
        if (obj->destroy != NULL) {
            obj->destroy(obj);
        }
        wdf_leave(prev);
        if (obj->free_fn != NULL) {
            obj->free_fn(obj);
        }
        obj->magic = WDF_DEAD_MAGIC;
        pv_free(obj);
    }
}

void
wdf_obj_unref(struct wdf_obj *obj)
{
    struct list_node to_free;

    list_init(&to_free);
    pthread_mutex_lock(&obj->host->mu);
    wdf_obj_unref_locked(obj, &to_free);
    pthread_mutex_unlock(&obj->host->mu);
    wdf_obj_free_list(&to_free);
}

struct wdf_device *
wdf_obj_device(struct wdf_obj *obj)
{
    /* No lock: parent is set at creation and never changes, and an object is
     * deleted before the parent it hangs under. */
    while (obj != NULL && obj->type != WDF_T_DEVICE) {
        obj = obj->parent;
    }
    return (struct wdf_device *)obj;
}

struct wdf_obj *
wdf_obj_check(void *handle, enum wdf_obj_type type, const char *api)
{
    struct wdf_obj *obj = handle;

    if (obj == NULL) {
        wdf_report(wdf_current_host(), WDF_RULE_BAD_HANDLE, NULL, 0, 0, "%s: NULL handle", api);
        return NULL;
    }
    if (obj->magic != WDF_OBJ_MAGIC) {
        wdf_report(wdf_current_host(), WDF_RULE_BAD_HANDLE, NULL, 0, 0, "%s: %p is not a live object", api, handle);
        return NULL;
    }
    if (type != 0 && obj->type != type) {
        wdf_report(obj->host, WDF_RULE_BAD_HANDLE, NULL, 0, 0, "%s: handle of type %d, expected %d", api,
                   (int)obj->type, (int)type);
        return NULL;
    }
    return obj;
}

static void
delete_tree(struct wdf_obj *obj)
{
    struct wdf_host *host = obj->host;
    struct wdf_host *prev;

    pthread_mutex_lock(&host->mu);
    if (obj->deleted) {
        pthread_mutex_unlock(&host->mu);
        return;
    }
    obj->deleted = true;
    for (;;) {
        struct list_node *n = list_pop_head(&obj->children);
        if (n == NULL) {
            break;
        }
        pthread_mutex_unlock(&host->mu);
        delete_tree(list_entry(n, struct wdf_obj, sibling));
        pthread_mutex_lock(&host->mu);
    }
    if (list_linked(&obj->sibling)) {
        list_del_init(&obj->sibling);
    }
    pthread_mutex_unlock(&host->mu);
    if (obj->on_delete != NULL) {
        obj->on_delete(obj);
    }
    prev = wdf_enter(host);
    if (obj->cleanup != NULL) {
        obj->cleanup(obj);
    }
    wdf_leave(prev);
    wdf_obj_unref(obj);
}

void
wdf_obj_delete(struct wdf_obj *obj)
{
    delete_tree(obj);
}

VOID
WdfObjectDelete(WDFOBJECT Object)
{
    struct wdf_obj *obj = wdf_obj_check(Object, 0, "WdfObjectDelete");

    if (obj == NULL) {
        return;
    }
    if (obj->type == WDF_T_DEVICE || obj->type == WDF_T_REQUEST || obj->type == WDF_T_DRIVER) {
        wdf_report(obj->host, WDF_RULE_BAD_HANDLE, NULL, 0, 0,
                   "WdfObjectDelete: a %s is deleted by the framework, not the driver",
                   obj->type == WDF_T_DEVICE    ? "device"
                   : obj->type == WDF_T_REQUEST ? "request"
                                                : "driver");
        return;
    }
    delete_tree(obj);
}

VOID
WdfObjectReference(WDFOBJECT Handle)
{
    struct wdf_obj *obj = wdf_obj_check(Handle, 0, "WdfObjectReference");

    if (obj != NULL) {
        pthread_mutex_lock(&obj->host->mu);
        wdf_obj_ref_locked(obj);
        pthread_mutex_unlock(&obj->host->mu);
    }
}

VOID
WdfObjectDereference(WDFOBJECT Handle)
{
    struct wdf_obj *obj = wdf_obj_check(Handle, 0, "WdfObjectDereference");

    if (obj != NULL) {
        wdf_obj_unref(obj);
    }
}

PVOID
WdfObjectGetTypedContextWorker(WDFOBJECT Handle, PCWDF_OBJECT_CONTEXT_TYPE_INFO TypeInfo)
{
    struct wdf_obj *obj = wdf_obj_check(Handle, 0, "WdfObjectGetTypedContext");

    if (obj == NULL || obj->ctx == NULL || TypeInfo == NULL) {
        return NULL;
    }
    if (obj->ctx_type == TypeInfo || obj->ctx_type == TypeInfo->UniqueType) {
        return obj->ctx;
    }
    if (obj->ctx_type->ContextSize == TypeInfo->ContextSize &&
        strcmp(obj->ctx_type->ContextName, TypeInfo->ContextName) == 0) {
        return obj->ctx;
    }
    return NULL;
}

WDFOBJECT
WdfObjectContextGetObject(PVOID ContextPointer)
{
    const struct wdf_ctx_hdr *h;

    if (ContextPointer == NULL) {
        return NULL;
    }
    h = (const struct wdf_ctx_hdr *)((const char *)ContextPointer - align_up(sizeof(struct wdf_ctx_hdr)));
    if (h->magic != WDF_CTX_MAGIC || h->obj == NULL || h->obj->ctx != ContextPointer) {
        return NULL;
    }
    return h->obj;
}
