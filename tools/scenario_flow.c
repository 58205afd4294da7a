/*
 * tools/scenario_flow.c - workloads and the timeline of a scenario.
 *
 * The timeline is checked by playing it against a small model of who holds which
 * VF: the initial assignments, then each step in order.  That catches what a
 * per-field check cannot - ejecting a VF the VM no longer holds, assigning one
 * that is taken, touching a device after its surprise removal - and it yields the
 * outcome the scenario predicts for each step (a rebalance that times out and is
 * vetoed, an eject that ends in forced removal), which the runner compares with
 * what the stack actually did.  The model follows contract.md §7.2: a VM ignoring
 * query-stop makes the broker time out, then apply timing.on_timeout.
 */
#include <string.h>

#include "pcivirt/error.h"
#include "scenario_internal.h"
#include "util/alloc.h"

static const char *const op_names[SCENARIO_OP_COUNT_] = {
    "enumerate", "bar-setup", "dma", "block-read", "block-write", "block-exchange", "pf-set-mac", "interrupts", "mmio",
};

/* Members each op accepts, by kind. */
static const char *const op_keys[SCENARIO_OP_COUNT_][4] = {
    [SCENARIO_OP_ENUMERATE] = {"op", NULL},
    [SCENARIO_OP_BAR_SETUP] = {"op", NULL},
    [SCENARIO_OP_DMA] = {"op", "size", "count", NULL},
    [SCENARIO_OP_BLOCK_READ] = {"op", "block", "length", NULL},
    [SCENARIO_OP_BLOCK_WRITE] = {"op", "block", "length", NULL},
    [SCENARIO_OP_BLOCK_EXCHANGE] = {"op", "block", "length", NULL},
    [SCENARIO_OP_PF_SET_MAC] = {"op", "mac", NULL},
    [SCENARIO_OP_INTERRUPTS] = {"op", "count", NULL},
    [SCENARIO_OP_MMIO] = {"op", "count", NULL},
};

static const char *const action_names[SCENARIO_ACT_COUNT_] = {
    "workload", "rebalance", "surprise-remove", "eject", "assign", "guest", "pf-block-change", "pf-set-mac", "wait",
};

/* Members each timeline step accepts, by action. */
static const char *const action_keys[SCENARIO_ACT_COUNT_][7] = {
    [SCENARIO_ACT_WORKLOAD] = {"action", "note", "vms", NULL},
    [SCENARIO_ACT_REBALANCE] = {"action", "note", "device", "move_bars", NULL},
    [SCENARIO_ACT_SURPRISE_REMOVE] = {"action", "note", "device", NULL},
    [SCENARIO_ACT_EJECT] = {"action", "note", "vm", "device", "vf", NULL},
    [SCENARIO_ACT_ASSIGN] = {"action", "note", "vm", "device", "vf", NULL},
    [SCENARIO_ACT_GUEST] = {"action", "note", "vm", "misbehave", NULL},
    [SCENARIO_ACT_PF_BLOCK_CHANGE] = {"action", "note", "device", "vf", "block", "length", NULL},
    [SCENARIO_ACT_PF_SET_MAC] = {"action", "note", "device", "vf", "mac", NULL},
    [SCENARIO_ACT_WAIT] = {"action", "note", "ms", NULL},
};

#define MAX_COUNT 1000000u
#define MAX_DMA_SIZE (16u << 20)
#define BLOCK_MAX 128u     /* VPCI_MAX_READ_WRITE_BLOCK_SIZE (contract.md §6.3) */
#define INVALIDATE_MAX 63u /* the invalidation mask is 64 bits (contract.md §4.7) */

const char *
scenario_op_name(enum scenario_op_kind kind)
{
    return (unsigned)kind < SCENARIO_OP_COUNT_ ? op_names[kind] : "?";
}

const char *
scenario_action_name(enum scenario_action action)
{
    return (unsigned)action < SCENARIO_ACT_COUNT_ ? action_names[action] : "?";
}

static int
parse_op(struct sc_ctx *c, json_t *obj, struct scenario_op *op)
{
    int kind = 0;
    int rc = sc_get_enum(c, obj, "op", true, op_names, SCENARIO_OP_COUNT_, &kind);

    if (rc != 0 || (rc = sc_check_keys(c, obj, op_keys[kind])) != 0) {
        return rc;
    }
    op->kind = (enum scenario_op_kind)kind;
    op->count = 1;
    op->length = BLOCK_MAX;
    switch (op->kind) {
    case SCENARIO_OP_DMA:
        if ((rc = sc_get_u32(c, obj, "size", true, 1, MAX_DMA_SIZE, &op->size)) != 0) {
            return rc;
        }
        return sc_get_u32(c, obj, "count", false, 1, MAX_COUNT, &op->count);
    case SCENARIO_OP_BLOCK_READ:
    case SCENARIO_OP_BLOCK_WRITE:
    case SCENARIO_OP_BLOCK_EXCHANGE:
        if ((rc = sc_get_u32(c, obj, "block", true, 0, UINT32_MAX, &op->block)) != 0) {
            return rc;
        }
        return sc_get_u32(c, obj, "length", false, 1, BLOCK_MAX, &op->length);
    case SCENARIO_OP_PF_SET_MAC: return sc_get_mac(c, obj, "mac", &op->has_mac, op->mac);
    case SCENARIO_OP_INTERRUPTS:
    case SCENARIO_OP_MMIO: return sc_get_u32(c, obj, "count", false, 1, MAX_COUNT, &op->count);
    default: return 0;
    }
}

static int
parse_workload(struct sc_ctx *c, json_t *obj, size_t i)
{
    static const char *const keys[] = {"name", "iterations", "ops", NULL};
    struct scenario_workload *w = &c->sc->workloads[i];
    struct sc_names taken = {c->sc->workloads, i, sizeof(*w), "workload"};
    json_t *ops;
    int rc;

    w->iterations = 1;
    if ((rc = sc_check_keys(c, obj, keys)) != 0 || (rc = sc_get_name(c, obj, "name", &taken, w->name)) != 0 ||
        (rc = sc_get_u32(c, obj, "iterations", false, 1, MAX_COUNT, &w->iterations)) != 0 ||
        (rc = sc_get_array(c, obj, "ops", true, 1, SCENARIO_MAX_OPS, &ops)) != 0 ||
        (rc = sc_alloc_section(c, "ops", json_array_size(ops), sizeof(*w->ops), (void **)&w->ops)) != 0) {
        return rc;
    }
    w->n_ops = json_array_size(ops);
    sc_push_key(c, "ops");
    for (size_t k = 0; k < w->n_ops; k++) {
        json_t *op = json_array_get(ops, k);
        sc_push_index(c, k);
        if (!json_is_object(op)) {
            return sc_fail(c, "expected an object such as {\"op\": \"enumerate\"}");
        }
        if ((rc = parse_op(c, op, &w->ops[k])) != 0) {
            return rc;
        }
        sc_pop(c);
    }
    sc_pop(c);
    return 0;
}

int
sc_parse_workloads(struct sc_ctx *c, json_t *root)
{
    json_t *arr;
    int rc = sc_get_array(c, root, "workloads", false, 0, SCENARIO_MAX_WORKLOADS, &arr);

    if (rc != 0 || arr == NULL) {
        return rc;
    }
    if ((rc = sc_alloc_section(c, "workloads", json_array_size(arr), sizeof(struct scenario_workload),
                               (void **)&c->sc->workloads)) != 0) {
        return rc;
    }
    c->sc->n_workloads = json_array_size(arr);
    return sc_each_object(c, arr, "workloads", parse_workload);
}

/* ---- the timeline model ------------------------------------------------------------------- */

struct holding {
    size_t device;
    uint32_t vf;
    size_t vm;
};

struct sim {
    struct holding *h;
    size_t n;
    size_t removed_at[SCENARIO_MAX_DEVICES]; /* step that surprise-removed the device, or NONE */
    uint32_t *misbehave;                     /* per VM, current */
};

static size_t
sim_find(const struct sim *s, size_t device, uint32_t vf)
{
    for (size_t k = 0; k < s->n; k++) {
        if (s->h[k].device == device && s->h[k].vf == vf) {
            return k;
        }
    }
    return SCENARIO_NONE;
}

static void
sim_drop(struct sim *s, size_t k)
{
    s->h[k] = s->h[--s->n];
}

static int
sim_init(struct sc_ctx *c, struct sim *s)
{
    const struct scenario *sc = c->sc;

    memset(s, 0, sizeof(*s));
    for (size_t d = 0; d < SCENARIO_MAX_DEVICES; d++) {
        s->removed_at[d] = SCENARIO_NONE;
    }
    s->h = pv_calloc(sc->n_assignments + sc->n_steps + 1, sizeof(*s->h));
    s->misbehave = pv_calloc(sc->n_vms + 1, sizeof(*s->misbehave));
    if (s->h == NULL || s->misbehave == NULL) {
        sc_push_key(c, "timeline");
        return sc_fail_code(c, PCIVIRT_ENOMEM, false, "out of memory");
    }
    for (size_t a = 0; a < sc->n_assignments; a++) {
        s->h[s->n++] = (struct holding){sc->assignments[a].device, sc->assignments[a].vf, sc->assignments[a].vm};
    }
    for (size_t v = 0; v < sc->n_vms; v++) {
        s->misbehave[v] = sc->vms[v].misbehave;
    }
    return 0;
}

static void
sim_fini(struct sim *s)
{
    pv_free(s->h);
    pv_free(s->misbehave);
}

/* "device": a known device that is still present. */
static int
get_device(struct sc_ctx *c, json_t *obj, const struct sim *s, struct scenario_step *st)
{
    struct sc_names devs = {c->sc->devices, c->sc->n_devices, sizeof(struct scenario_device), "device"};
    int rc = sc_get_ref(c, obj, "device", true, &devs, &st->device);

    if (rc == 0 && s->removed_at[st->device] != SCENARIO_NONE) {
        sc_push_key(c, "device");
        return sc_fail(c, "device '%s' is gone: timeline[%zu] surprise-removed it", c->sc->devices[st->device].name,
                       s->removed_at[st->device]);
    }
    return rc;
}

/* "device" and "vf": an existing VF of a present device. */
static int
get_device_vf(struct sc_ctx *c, json_t *obj, const struct sim *s, struct scenario_step *st)
{
    int rc;

    if ((rc = get_device(c, obj, s, st)) != 0 || (rc = sc_get_u32(c, obj, "vf", true, 0, 65534, &st->vf)) != 0) {
        return rc;
    }
    const struct scenario_device *d = &c->sc->devices[st->device];
    if (st->vf >= d->num_vfs) {
        sc_push_key(c, "vf");
        return sc_fail(c, "VF %u does not exist: device '%s' enables %u VFs", st->vf, d->name, d->num_vfs);
    }
    return 0;
}

static int
get_vm(struct sc_ctx *c, json_t *obj, struct scenario_step *st)
{
    struct sc_names vms = {c->sc->vms, c->sc->n_vms, sizeof(struct scenario_vm), "VM"};
    return sc_get_ref(c, obj, "vm", true, &vms, &st->vm);
}

static int
step_workload(struct sc_ctx *c, json_t *obj, struct scenario_step *st)
{
    struct sc_names vms = {c->sc->vms, c->sc->n_vms, sizeof(struct scenario_vm), "VM"};
    json_t *arr;
    int rc = sc_get_array(c, obj, "vms", false, 1, SCENARIO_MAX_VMS, &arr);

    if (rc != 0 || (rc = sc_alloc_section(c, "vms", c->sc->n_vms, sizeof(size_t), (void **)&st->vms)) != 0) {
        return rc;
    }
    if (arr == NULL) {
        for (size_t v = 0; v < c->sc->n_vms; v++) {
            if (c->sc->vms[v].workload != SCENARIO_NONE) {
                st->vms[st->n_vms++] = v;
            }
        }
        return 0;
    }
    sc_push_key(c, "vms");
    for (size_t k = 0; k < json_array_size(arr); k++) {
        size_t v = SCENARIO_NONE;
        sc_push_index(c, k);
        if ((rc = sc_match_ref(c, json_array_get(arr, k), &vms, &v)) != 0) {
            return rc;
        }
        for (size_t j = 0; j < st->n_vms; j++) {
            if (st->vms[j] == v) {
                return sc_fail(c, "VM '%s' is listed twice", c->sc->vms[v].name);
            }
        }
        if (c->sc->vms[v].workload == SCENARIO_NONE) {
            return sc_fail(c, "VM '%s' has no workload to run (give it one in vms[%zu].workload)", c->sc->vms[v].name,
                           v);
        }
        st->vms[st->n_vms++] = v;
        sc_pop(c);
    }
    sc_pop(c);
    return 0;
}

/* contract.md §7.2: silent holders time out; then veto, or lose their VFs and the stop proceeds. */
static int
step_rebalance(struct sc_ctx *c, json_t *obj, struct sim *s, struct scenario_step *st)
{
    int rc;

    st->move_bars = true;
    if ((rc = get_device(c, obj, s, st)) != 0 || (rc = sc_get_bool(c, obj, "move_bars", &st->move_bars)) != 0) {
        return rc;
    }
    for (size_t k = 0; k < s->n; k++) {
        if (s->h[k].device == st->device && (s->misbehave[s->h[k].vm] & SCENARIO_GUEST_IGNORE_QUERY_STOP)) {
            st->expect_timeout = true;
        }
    }
    st->expect_veto = st->expect_timeout && c->sc->timing.on_timeout == SCENARIO_POLICY_VETO;
    if (st->expect_timeout && !st->expect_veto) {
        for (size_t k = s->n; k-- > 0;) {
            if (s->h[k].device == st->device && (s->misbehave[s->h[k].vm] & SCENARIO_GUEST_IGNORE_QUERY_STOP)) {
                sim_drop(s, k);
            }
        }
    }
    return 0;
}

static int
step_surprise_remove(struct sc_ctx *c, json_t *obj, struct sim *s, struct scenario_step *st, size_t i)
{
    int rc = get_device(c, obj, s, st);

    if (rc != 0) {
        return rc;
    }
    s->removed_at[st->device] = i;
    for (size_t k = s->n; k-- > 0;) {
        if (s->h[k].device == st->device) {
            sim_drop(s, k);
        }
    }
    return 0;
}

static int
step_eject_or_assign(struct sc_ctx *c, json_t *obj, struct sim *s, struct scenario_step *st)
{
    const struct scenario *sc = c->sc;
    int rc;

    if ((rc = get_vm(c, obj, st)) != 0 || (rc = get_device_vf(c, obj, s, st)) != 0) {
        return rc;
    }
    size_t k = sim_find(s, st->device, st->vf);
    const char *dev = sc->devices[st->device].name;
    sc_push_key(c, "vf");
    if (st->action == SCENARIO_ACT_ASSIGN) {
        if (k != SCENARIO_NONE) {
            return sc_fail(c, "VF %u of device '%s' is held by VM '%s' at this point; eject it first", st->vf, dev,
                           sc->vms[s->h[k].vm].name);
        }
        s->h[s->n++] = (struct holding){st->device, st->vf, st->vm};
    } else {
        if (k == SCENARIO_NONE) {
            return sc_fail(c, "VF %u of device '%s' is not held by VM '%s' at this point (it is unassigned)", st->vf,
                           dev, sc->vms[st->vm].name);
        }
        if (s->h[k].vm != st->vm) {
            return sc_fail(c, "VF %u of device '%s' is not held by VM '%s' at this point (VM '%s' holds it)", st->vf,
                           dev, sc->vms[st->vm].name, sc->vms[s->h[k].vm].name);
        }
        st->expect_forced = (s->misbehave[st->vm] & SCENARIO_GUEST_IGNORE_EJECT) != 0;
        sim_drop(s, k);
    }
    sc_pop(c);
    return 0;
}

static int
step_fields(struct sc_ctx *c, json_t *obj, struct sim *s, struct scenario_step *st, size_t i)
{
    int rc;

    switch (st->action) {
    case SCENARIO_ACT_WORKLOAD: return step_workload(c, obj, st);
    case SCENARIO_ACT_REBALANCE: return step_rebalance(c, obj, s, st);
    case SCENARIO_ACT_SURPRISE_REMOVE: return step_surprise_remove(c, obj, s, st, i);
    case SCENARIO_ACT_EJECT:
    case SCENARIO_ACT_ASSIGN: return step_eject_or_assign(c, obj, s, st);
    case SCENARIO_ACT_GUEST:
        if ((rc = get_vm(c, obj, st)) != 0 || (rc = sc_get_misbehave(c, obj, "misbehave", true, &st->misbehave)) != 0) {
            return rc;
        }
        s->misbehave[st->vm] = st->misbehave;
        return 0;
    case SCENARIO_ACT_PF_BLOCK_CHANGE:
        st->length = 8;
        if ((rc = get_device_vf(c, obj, s, st)) != 0 ||
            (rc = sc_get_u32(c, obj, "block", true, 0, INVALIDATE_MAX, &st->block)) != 0) {
            return rc;
        }
        return sc_get_u32(c, obj, "length", false, 1, BLOCK_MAX, &st->length);
    case SCENARIO_ACT_PF_SET_MAC:
        if ((rc = get_device_vf(c, obj, s, st)) != 0) {
            return rc;
        }
        return sc_get_mac(c, obj, "mac", &st->has_mac, st->mac);
    case SCENARIO_ACT_WAIT:
    default: return sc_get_u32(c, obj, "ms", true, 0, 86400000, &st->wait_ms);
    }
}

static int
parse_step(struct sc_ctx *c, json_t *obj, struct sim *s, size_t i)
{
    struct scenario_step *st = &c->sc->steps[i];
    int action = 0;
    int rc;

    st->device = SCENARIO_NONE;
    st->vm = SCENARIO_NONE;
    if ((rc = sc_get_enum(c, obj, "action", true, action_names, SCENARIO_ACT_COUNT_, &action)) != 0 ||
        (rc = sc_check_keys(c, obj, action_keys[action])) != 0) {
        return rc;
    }
    st->action = (enum scenario_action)action;
    if ((rc = sc_get_text(c, obj, "note", &st->note)) != 0) {
        return rc;
    }
    return step_fields(c, obj, s, st, i);
}

/* No "timeline": every VM with a workload runs it once. */
static int
default_timeline(struct sc_ctx *c)
{
    struct scenario *sc = c->sc;
    int rc = sc_alloc_section(c, "timeline", 1, sizeof(*sc->steps), (void **)&sc->steps);

    if (rc != 0) {
        return rc;
    }
    for (size_t v = 0; v < sc->n_vms && sc->n_steps == 0; v++) {
        sc->n_steps = sc->vms[v].workload != SCENARIO_NONE ? 1 : 0;
    }
    if (sc->n_steps == 0) {
        return 0;
    }
    sc->steps[0].action = SCENARIO_ACT_WORKLOAD;
    sc->steps[0].device = SCENARIO_NONE;
    sc->steps[0].vm = SCENARIO_NONE;
    return step_workload(c, NULL, &sc->steps[0]);
}

int
sc_parse_timeline(struct sc_ctx *c, json_t *root)
{
    struct sim s;
    json_t *arr;
    int rc = sc_get_array(c, root, "timeline", false, 0, SCENARIO_MAX_STEPS, &arr);

    if (rc != 0) {
        return rc;
    }
    if (arr == NULL) {
        return default_timeline(c);
    }
    if ((rc = sc_alloc_section(c, "timeline", json_array_size(arr), sizeof(struct scenario_step),
                               (void **)&c->sc->steps)) != 0) {
        return rc;
    }
    c->sc->n_steps = json_array_size(arr);
    if ((rc = sim_init(c, &s)) != 0) {
        sim_fini(&s);
        return rc;
    }
    sc_push_key(c, "timeline");
    for (size_t i = 0; i < c->sc->n_steps && rc == 0; i++) {
        json_t *obj = json_array_get(arr, i);
        sc_push_index(c, i);
        rc = json_is_object(obj) ? parse_step(c, obj, &s, i)
                                 : sc_fail(c, "expected an object such as {\"action\": \"workload\"}");
        if (rc == 0) {
            sc_pop(c);
        }
    }
    if (rc == 0) {
        sc_pop(c);
    }
    sim_fini(&s);
    return rc;
}
