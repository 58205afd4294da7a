/*
 * vsp/events.c - the bounded, thread-safe event ring of vsp/events.h.
 *
 * One mutex guards the ring; records are copied in and out whole, so a reader
 * never sees a half-written record.  The listener is called after the lock is
 * dropped with a private copy of the record, so it may call back into the log.
 */
#include "vsp/events.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "pcivirt/error.h"
#include "util/alloc.h"

#define EVENT_LOG_MAX_CAPACITY (1u << 20)

struct vsp_event_log {
    const struct vsp_clock *clock;
    pthread_mutex_t lock;
    struct vsp_event *ring;
    size_t capacity;
    size_t head; /* index of the oldest held record */
    size_t held;
    uint64_t next_seq;
    uint64_t dropped;
    uint64_t totals[VSP_EV_TYPE_COUNT];
    vsp_event_listener_fn *listener;
    void *listener_ctx;
};

static const char *const type_names[VSP_EV_TYPE_COUNT] = {
    [VSP_EV_PF_ARRIVAL] = "pf-arrival",
    [VSP_EV_PF_REMOVAL] = "pf-removal",
    [VSP_EV_ATTACH] = "attach",
    [VSP_EV_DETACH] = "detach",
    [VSP_EV_VM_CREATE] = "vm-create",
    [VSP_EV_VM_DESTROY] = "vm-destroy",
    [VSP_EV_ASSIGN] = "assign",
    [VSP_EV_EJECT] = "eject",
    [VSP_EV_EJECT_ACK] = "eject-ack",
    [VSP_EV_TIMEOUT] = "timeout",
    [VSP_EV_FORCED_REMOVAL] = "forced-removal",
    [VSP_EV_SURPRISE_REMOVAL] = "surprise-removal",
    [VSP_EV_QUERY_STOP] = "query-stop",
    [VSP_EV_VM_ANSWER] = "vm-answer",
    [VSP_EV_VETO] = "veto",
    [VSP_EV_EVENT_COMPLETE] = "event-complete",
    [VSP_EV_RESTART] = "restart",
    [VSP_EV_RESET] = "reset",
    [VSP_EV_HANDOFF_CLEAN] = "handoff-clean",
    [VSP_EV_HANDOFF_DIRTY] = "handoff-dirty",
    [VSP_EV_IOMMU_FAULT] = "iommu-fault",
    [VSP_EV_IRQ_FAULT] = "irq-fault",
    [VSP_EV_INTERCEPT_UPDATE] = "intercept-update",
    [VSP_EV_INVALIDATE] = "invalidate",
    [VSP_EV_BAD_PACKET] = "bad-packet",
    [VSP_EV_GUEST_ERROR] = "guest-error",
    [VSP_EV_PF_ERROR] = "pf-error",
};

const char *
vsp_event_type_name(enum vsp_event_type type)
{
    if ((unsigned)type >= VSP_EV_TYPE_COUNT) {
        return "unknown";
    }
    return type_names[type];
}

int
vsp_event_log_create(const struct vsp_clock *clock, size_t capacity, struct vsp_event_log **out)
{
    struct vsp_event_log *log;

    if (clock == NULL || out == NULL || capacity == 0 || capacity > EVENT_LOG_MAX_CAPACITY) {
        return PCIVIRT_EINVAL;
    }
    log = pv_calloc(1, sizeof(*log));
    if (log == NULL) {
        return PCIVIRT_ENOMEM;
    }
    log->ring = pv_calloc(capacity, sizeof(*log->ring));
    if (log->ring == NULL) {
        pv_free(log);
        return PCIVIRT_ENOMEM;
    }
    pthread_mutex_init(&log->lock, NULL);
    log->clock = clock;
    log->capacity = capacity;
    log->next_seq = 1;
    *out = log;
    return 0;
}

void
vsp_event_log_destroy(struct vsp_event_log *log)
{
    if (log == NULL) {
        return;
    }
    pthread_mutex_destroy(&log->lock);
    pv_free(log->ring);
    pv_free(log);
}

/* Store @ev (seq filled in here) into the ring; called with the lock held. */
static void
ring_push(struct vsp_event_log *log, struct vsp_event *ev)
{
    size_t slot;

    ev->seq = log->next_seq++;
    if (log->held == log->capacity) {
        log->ring[log->head] = *ev;
        log->head = (log->head + 1) % log->capacity;
        log->dropped++;
    } else {
        slot = (log->head + log->held) % log->capacity;
        log->ring[slot] = *ev;
        log->held++;
    }
    log->totals[ev->type]++;
}

uint64_t
vsp_event_log_add(struct vsp_event_log *log, enum vsp_event_type type, int pf, int vf, int vm, NTSTATUS status,
                  uint64_t detail, const char *fmt, ...)
{
    struct vsp_event ev;
    vsp_event_listener_fn *listener;
    void *listener_ctx;
    va_list ap;

    if (log == NULL) {
        return 0;
    }
    memset(&ev, 0, sizeof(ev));
    ev.type = (unsigned)type < VSP_EV_TYPE_COUNT ? type : VSP_EV_GUEST_ERROR;
    ev.pf = pf;
    ev.vf = vf;
    ev.vm = vm;
    ev.status = status;
    ev.detail = detail;
    va_start(ap, fmt);
    vsnprintf(ev.reason, sizeof(ev.reason), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log->lock);
    ev.time_ns = vsp_clock_now(log->clock);
    ring_push(log, &ev);
    listener = log->listener;
    listener_ctx = log->listener_ctx;
    pthread_mutex_unlock(&log->lock);

    if (listener != NULL) {
        listener(listener_ctx, &ev);
    }
    return ev.seq;
}

void
vsp_event_log_set_listener(struct vsp_event_log *log, vsp_event_listener_fn *fn, void *ctx)
{
    pthread_mutex_lock(&log->lock);
    log->listener = fn;
    log->listener_ctx = ctx;
    pthread_mutex_unlock(&log->lock);
}

size_t
vsp_event_log_held(struct vsp_event_log *log)
{
    size_t n;

    pthread_mutex_lock(&log->lock);
    n = log->held;
    pthread_mutex_unlock(&log->lock);
    return n;
}

uint64_t
vsp_event_log_dropped(struct vsp_event_log *log)
{
    uint64_t n;

    pthread_mutex_lock(&log->lock);
    n = log->dropped;
    pthread_mutex_unlock(&log->lock);
    return n;
}

uint64_t
vsp_event_log_total(struct vsp_event_log *log, enum vsp_event_type type)
{
    uint64_t n = 0;

    pthread_mutex_lock(&log->lock);
    if (type == VSP_EV_TYPE_COUNT) {
        n = log->next_seq - 1;
    } else if ((unsigned)type < VSP_EV_TYPE_COUNT) {
        n = log->totals[type];
    }
    pthread_mutex_unlock(&log->lock);
    return n;
}

size_t
vsp_event_log_snapshot(struct vsp_event_log *log, struct vsp_event *out, size_t max)
{
    size_t n;

    pthread_mutex_lock(&log->lock);
    n = log->held < max ? log->held : max;
    for (size_t i = 0; i < n; i++) {
        out[i] = log->ring[(log->head + i) % log->capacity];
    }
    pthread_mutex_unlock(&log->lock);
    return n;
}

static bool
event_matches(const struct vsp_event *ev, enum vsp_event_type type, int pf, int vf, int vm)
{
    return ev->type == type && (pf == VSP_EV_NONE || ev->pf == pf) && (vf == VSP_EV_NONE || ev->vf == vf) &&
           (vm == VSP_EV_NONE || ev->vm == vm);
}

bool
vsp_event_log_find(struct vsp_event_log *log, enum vsp_event_type type, int pf, int vf, int vm, struct vsp_event *out)
{
    bool found = false;

    pthread_mutex_lock(&log->lock);
    for (size_t i = log->held; i-- > 0;) {
        const struct vsp_event *ev = &log->ring[(log->head + i) % log->capacity];

        if (event_matches(ev, type, pf, vf, vm)) {
            if (out != NULL) {
                *out = *ev;
            }
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&log->lock);
    return found;
}

/* "pf3" or "-" into @buf. */
static const char *
id_text(char *buf, size_t len, const char *prefix, int32_t id)
{
    if (id == VSP_EV_NONE) {
        snprintf(buf, len, "%s-", prefix);
    } else {
        snprintf(buf, len, "%s%" PRId32, prefix, id);
    }
    return buf;
}

static const char *
status_text(char *buf, size_t len, NTSTATUS status)
{
    const char *name = pcivirt_ntstatus_name(status);

    if (name != NULL) {
        return name;
    }
    snprintf(buf, len, "0x%08" PRIX32, (uint32_t)status);
    return buf;
}

int
vsp_event_format(const struct vsp_event *ev, char *buf, size_t len)
{
    char pf[16], vf[16], vm[16], st[16];

    return snprintf(buf, len, "%6" PRIu64 ".%09" PRIu64 "  %-16s %-6s %-8s %-5s %-28s %s", ev->time_ns / 1000000000u,
                    ev->time_ns % 1000000000u, vsp_event_type_name(ev->type), id_text(pf, sizeof(pf), "pf", ev->pf),
                    id_text(vf, sizeof(vf), "vf", ev->vf), id_text(vm, sizeof(vm), "vm", ev->vm),
                    status_text(st, sizeof(st), ev->status), ev->reason);
}

static json_t *
id_json(int32_t id)
{
    return id == VSP_EV_NONE ? json_null() : json_integer(id);
}

json_t *
vsp_event_to_json(const struct vsp_event *ev)
{
    char st[16];

    /* json_pack with "o" steals the references and fails cleanly on NULL ones. */
    return json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:s, s:I, s:s}", "seq", (json_int_t)ev->seq, "time_ns",
                     (json_int_t)ev->time_ns, "type", vsp_event_type_name(ev->type), "pf", id_json(ev->pf), "vf",
                     id_json(ev->vf), "vm", id_json(ev->vm), "status", status_text(st, sizeof(st), ev->status),
                     "detail", (json_int_t)ev->detail, "reason", ev->reason);
}

static int
write_one_json(const struct vsp_event *ev, FILE *fp)
{
    json_t *obj = vsp_event_to_json(ev);
    int rc;

    if (obj == NULL) {
        return PCIVIRT_ENOMEM;
    }
    rc = json_dumpf(obj, fp, JSON_COMPACT) == 0 && fputc('\n', fp) != EOF ? 0 : PCIVIRT_EIO;
    json_decref(obj);
    return rc;
}

/*
 * Copy the held record with sequence number @seq, or the oldest held one if
 * @seq was overwritten meanwhile.  Held records carry consecutive numbers, so
 * the slot is computed, not searched.  Return: false when none is that new.
 */
static bool
copy_from_seq(struct vsp_event_log *log, uint64_t seq, struct vsp_event *out)
{
    bool have = false;
    uint64_t oldest;

    pthread_mutex_lock(&log->lock);
    oldest = log->next_seq - log->held;
    if (seq < oldest) {
        seq = oldest;
    }
    if (seq < log->next_seq) {
        *out = log->ring[(log->head + (size_t)(seq - oldest)) % log->capacity];
        have = true;
    }
    pthread_mutex_unlock(&log->lock);
    return have;
}

int
vsp_event_log_write_jsonl(struct vsp_event_log *log, FILE *fp)
{
    struct vsp_event ev;
    uint64_t seq = 1;
    int rc;

    /* One record at a time, so the lock is never held across a file write. */
    while (copy_from_seq(log, seq, &ev)) {
        rc = write_one_json(&ev, fp);
        if (rc != 0) {
            return rc;
        }
        seq = ev.seq + 1;
    }
    return 0;
}
