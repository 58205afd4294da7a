/*
 * tools/scenario.c - loading a scenario: bytes to a validated struct scenario.
 *
 * The pipeline is deliberately linear: bound the size, check the encoding (so a
 * bad byte is reported at its own position, not somewhere inside jansson), let
 * jansson parse with duplicate keys rejected, then validate section by section
 * in dependency order - options, timing, devices, workloads, VMs (which name
 * workloads), assignments (which name VMs and devices), timeline (which names
 * everything and is simulated step by step, scenario_flow.c).  Nothing of the
 * jansson tree survives: the result owns plain C data only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcivirt/error.h"
#include "scenario_internal.h"
#include "util/alloc.h"

struct builtin_profile {
    const char *name;
    uint32_t total_vfs;
};

/* The device model's built-in profiles (issue 4: an 82599-class NIC with TotalVFs 64). */
static const struct builtin_profile builtin_profiles[] = {
    {"82599", 64},
};

static const char *const clock_names[] = {"virtual", "real"};
static const char *const policy_names[] = {"veto", "surprise-remove"};

/* Known vPCI protocol versions, 0x00010000 + index (contract.md §8.3). */
static const char *const vpci_versions[] = {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6"};
#define VPCI_VERSION_DEFAULT 4 /* 1.4: the first version Linux offers */

static void
error_start(struct scenario_error *err, const char *file)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        snprintf(err->file, sizeof(err->file), "%s", file);
    }
}

static int error_plain(struct scenario_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
error_plain(struct scenario_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

static int error_at(struct scenario_error *err, const char *text, size_t len, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
error_at(struct scenario_error *err, const char *text, size_t len, size_t offset, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = PCIVIRT_EFORMAT;
        json_line_column(text, len, offset, &err->line, &err->column);
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return PCIVIRT_EFORMAT;
}

/*
 * jansson's position is just past the token it choked on; when its "near '...'"
 * text is that token, report where the token starts, as every other error does.
 */
static int
syntax_error(const char *text, size_t len, const json_error_t *je, struct scenario_error *err)
{
    size_t pos = je->position > 0 && (size_t)je->position <= len ? (size_t)je->position : 0;
    const char *near = strstr(je->text, " near '");
    size_t start = pos;
    size_t tlen = 0;
    bool matched = false;

    if (near != NULL) {
        near += 7;
        tlen = strlen(near);
        if (tlen > 1 && near[tlen - 1] == '\'') {
            tlen--;
            matched = tlen <= pos && memcmp(text + pos - tlen, near, tlen) == 0;
        }
    }
    if (matched) {
        start = pos - tlen;
    } else {
        /* No usable "near": when the position ends a bare token (a number, a literal), back up to its start. */
        while (start > 0 && strchr(" \t\r\n,:[]{}\"", text[start - 1]) == NULL) {
            start--;
        }
    }
    switch (json_error_code(je)) {
    case json_error_duplicate_key:
        return error_at(err, text, len, start, "duplicate key %.*s: each key may appear once in an object", (int)tlen,
                        near != NULL ? near : "");
    case json_error_stack_overflow:
        return error_at(err, text, len, start, "nested more than %d levels deep", JSON_PARSER_MAX_DEPTH);
    default: return error_at(err, text, len, start, "JSON syntax error: %s", je->text);
    }
}

static bool
blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (strchr(" \t\r\n", text[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/* Encoding and emptiness, before jansson sees the text. */
static int
check_text(const char *text, size_t len, struct scenario_error *err)
{
    size_t bad;

    if (!json_utf8_check(text, len, &bad)) {
        if (text[bad] == '\0') {
            return error_at(err, text, len, bad, "NUL byte: a scenario file is UTF-8 text");
        }
        return error_at(err, text, len, bad, "byte 0x%02x is not valid UTF-8: a scenario file is UTF-8 text",
                        (unsigned char)text[bad]);
    }
    if (blank(text, len)) {
        return error_at(err, text, len, len,
                        "the input is empty; a scenario is a JSON object such as {\"pcivirt-scenario\": %d, ...}",
                        SCENARIO_VERSION);
    }
    return 0;
}

static char *
default_name(const char *file)
{
    const char *base = strrchr(file, '/');
    char buf[SCENARIO_NAME_MAX * 4];

    base = base != NULL ? base + 1 : file;
    snprintf(buf, sizeof(buf), "%s", base);
    size_t n = strlen(buf);
    if (n > 5 && strcmp(buf + n - 5, ".json") == 0) {
        buf[n - 5] = '\0';
    }
    if (buf[0] == '<' && strlen(buf) > 2 && buf[strlen(buf) - 1] == '>') {
        memmove(buf, buf + 1, strlen(buf));
        buf[strlen(buf) - 1] = '\0';
    }
    return pv_strdup(buf[0] != '\0' ? buf : "scenario");
}

static int
parse_version(struct sc_ctx *c, json_t *root)
{
    json_t *v = json_object_get(root, "pcivirt-scenario");

    sc_push_key(c, "pcivirt-scenario");
    if (v == NULL) {
        return sc_fail(c, "missing required field 'pcivirt-scenario' (the format version, %d)", SCENARIO_VERSION);
    }
    if (!json_is_integer(v)) {
        return sc_fail(c, "the format version must be the integer %d", SCENARIO_VERSION);
    }
    if (json_integer_value(v) != SCENARIO_VERSION) {
        return sc_fail(c, "unsupported format version %" JSON_INTEGER_FORMAT "; this pcivirt reads version %d",
                       json_integer_value(v), SCENARIO_VERSION);
    }
    c->sc->version = SCENARIO_VERSION;
    sc_pop(c);
    return 0;
}

static int
parse_options(struct sc_ctx *c, json_t *root)
{
    static const char *const keys[] = {"clock", "seed", NULL};
    json_t *o;
    int clock = SCENARIO_CLOCK_VIRTUAL;
    int rc = sc_get_object(c, root, "options", false, &o);

    c->sc->options.clock = SCENARIO_CLOCK_VIRTUAL;
    c->sc->options.seed = 1;
    if (rc != 0 || o == NULL) {
        return rc;
    }
    sc_push_key(c, "options");
    if ((rc = sc_check_keys(c, o, keys)) != 0 ||
        (rc = sc_get_enum(c, o, "clock", false, clock_names, 2, &clock)) != 0 ||
        (rc = sc_get_u64(c, o, "seed", false, 0, INT64_MAX, &c->sc->options.seed)) != 0) {
        return rc;
    }
    c->sc->options.clock = (enum scenario_clock)clock;
    sc_pop(c);
    return 0;
}

static int
parse_timing(struct sc_ctx *c, json_t *root)
{
    static const char *const keys[] = {"query_stop_timeout_ms", "eject_window_ms", "on_timeout", NULL};
    struct scenario_timing *t = &c->sc->timing;
    json_t *o;
    int policy = SCENARIO_POLICY_VETO;
    int rc = sc_get_object(c, root, "timing", false, &o);

    t->query_stop_timeout_ms = 5000;
    t->eject_window_ms = 60000;
    t->on_timeout = SCENARIO_POLICY_VETO;
    if (rc != 0 || o == NULL) {
        return rc;
    }
    sc_push_key(c, "timing");
    if ((rc = sc_check_keys(c, o, keys)) != 0 ||
        (rc = sc_get_u32(c, o, "query_stop_timeout_ms", false, 1, 3600000, &t->query_stop_timeout_ms)) != 0 ||
        (rc = sc_get_u32(c, o, "eject_window_ms", false, 1, 3600000, &t->eject_window_ms)) != 0 ||
        (rc = sc_get_enum(c, o, "on_timeout", false, policy_names, 2, &policy)) != 0) {
        return rc;
    }
    t->on_timeout = (enum scenario_policy)policy;
    sc_pop(c);
    return 0;
}

static int
hexval(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                     : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                     : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                              : 16;
        if (d == 16) {
            return -1;
        }
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* "[DDDD:]BB:DD.F" in hex, as lspci prints it. */
static bool
parse_bdf(const char *s, struct scenario_device *d)
{
    unsigned seg = 0;
    unsigned bus;
    unsigned dev;
    unsigned fn;
    size_t n = strlen(s);

    if (n == 12) {
        if (s[4] != ':' || hexval(s, 4, &seg) != 0) {
            return false;
        }
        s += 5;
        n -= 5;
    }
    if (n != 7 || s[2] != ':' || s[5] != '.' || hexval(s, 2, &bus) != 0 || hexval(s + 3, 2, &dev) != 0 ||
        hexval(s + 6, 1, &fn) != 0 || dev > 0x1f || fn > 7) {
        return false;
    }
    d->pf_segment = (uint16_t)seg;
    d->pf_bus = (uint8_t)bus;
    d->pf_device = (uint8_t)dev;
    d->pf_function = (uint8_t)fn;
    d->has_pf = true;
    return true;
}

static int
resolve_dump(struct sc_ctx *c, struct scenario_device *d, const char *path)
{
    struct stat st;
    size_t need = strlen(c->base_dir) + strlen(path) + 2;

    d->dump_path = pv_malloc(need);
    if (d->dump_path == NULL) {
        return sc_fail_code(c, PCIVIRT_ENOMEM, false, "out of memory");
    }
    if (path[0] == '/') {
        snprintf(d->dump_path, need, "%s", path);
    } else {
        snprintf(d->dump_path, need, "%s/%s", c->base_dir, path);
    }
    if (stat(d->dump_path, &st) != 0) {
        return sc_fail_code(c, PCIVIRT_ENOENT, false, "dump file '%s' (resolved to '%s'): %s", path, d->dump_path,
                            strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return sc_fail_code(c, PCIVIRT_ENOENT, false, "dump file '%s' (resolved to '%s') is not a regular file", path,
                            d->dump_path);
    }
    return 0;
}

static int
parse_source(struct sc_ctx *c, json_t *obj, struct scenario_device *d, uint32_t *total_vfs)
{
    const char *s = NULL;
    const char *names[sizeof(builtin_profiles) / sizeof(builtin_profiles[0])];
    size_t n = sizeof(names) / sizeof(names[0]);
    char hint[96];
    char shown[80];
    int rc = sc_get_string(c, obj, "source", true, 4096, &s);

    if (rc != 0) {
        return rc;
    }
    sc_push_key(c, "source");
    if (s[0] == '\0') {
        return sc_fail(c, "empty; write \"builtin:NAME\" or the path of an lspci -xxxx dump");
    }
    if (strncmp(s, "builtin:", 8) != 0) {
        d->source = SCENARIO_SOURCE_DUMP;
        *total_vfs = 65535;
        rc = resolve_dump(c, d, s);
        if (rc == 0) {
            sc_pop(c);
        }
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = builtin_profiles[i].name;
        if (strcmp(s + 8, names[i]) == 0) {
            d->source = SCENARIO_SOURCE_BUILTIN;
            snprintf(d->builtin, sizeof(d->builtin), "%s", names[i]);
            *total_vfs = builtin_profiles[i].total_vfs;
            sc_pop(c);
            return 0;
        }
    }
    return sc_fail(c, "unknown built-in profile '%s'%s; built-in profiles: builtin:%s",
                   sc_printable(s + 8, shown, sizeof(shown)), sc_hint(hint, sizeof(hint), sc_suggest(s + 8, names, n)),
                   names[0]);
}

static int
parse_bus_range(struct sc_ctx *c, json_t *obj, struct scenario_device *d)
{
    static const char *const keys[] = {"first", "last", NULL};
    uint32_t first = 0;
    uint32_t last = 0;
    json_t *o;
    int rc = sc_get_object(c, obj, "bus_range", false, &o);

    if (rc != 0 || o == NULL) {
        return rc;
    }
    sc_push_key(c, "bus_range");
    if ((rc = sc_check_keys(c, o, keys)) != 0 || (rc = sc_get_u32(c, o, "first", true, 0, 255, &first)) != 0 ||
        (rc = sc_get_u32(c, o, "last", true, 0, 255, &last)) != 0) {
        return rc;
    }
    if (last < first) {
        sc_push_key(c, "last");
        return sc_fail(c, "bus %u is below the first bus %u", last, first);
    }
    if (d->has_pf && d->pf_bus != first) {
        sc_push_key(c, "first");
        return sc_fail(c, "the PF at bus %02x sits on the root port's secondary bus, so first must be %u, not %u",
                       d->pf_bus, d->pf_bus, first);
    }
    d->has_bus_range = true;
    d->bus_first = (uint8_t)first;
    d->bus_last = (uint8_t)last;
    sc_pop(c);
    return 0;
}

static int
parse_device(struct sc_ctx *c, json_t *obj, size_t i)
{
    static const char *const keys[] = {"name", "source", "pf", "num_vfs", "ari", "bus_range", NULL};
    struct scenario_device *d = &c->sc->devices[i];
    struct sc_names taken = {c->sc->devices, i, sizeof(*d), "device"};
    const char *pf = NULL;
    char shown[80];
    uint32_t total = 0;
    int rc;

    d->ari = true;
    if ((rc = sc_check_keys(c, obj, keys)) != 0 || (rc = sc_get_name(c, obj, "name", &taken, d->name)) != 0 ||
        (rc = parse_source(c, obj, d, &total)) != 0 || (rc = sc_get_string(c, obj, "pf", false, 64, &pf)) != 0) {
        return rc;
    }
    if (pf != NULL && !parse_bdf(pf, d)) {
        sc_push_key(c, "pf");
        return sc_fail(c, "'%s' is not a PCI location; write BB:DD.F or DDDD:BB:DD.F in hex, e.g. 01:00.0",
                       sc_printable(pf, shown, sizeof(shown)));
    }
    if ((rc = sc_get_u32(c, obj, "num_vfs", true, 0, 65535, &d->num_vfs)) != 0) {
        return rc;
    }
    if (d->num_vfs > total) {
        sc_push_key(c, "num_vfs");
        return sc_fail(c, "builtin:%s has TotalVFs %u; %u VFs cannot be enabled", d->builtin, total, d->num_vfs);
    }
    if ((rc = sc_get_bool(c, obj, "ari", &d->ari)) != 0 || (rc = parse_bus_range(c, obj, d)) != 0) {
        return rc;
    }
    return 0;
}

static int
parse_devices(struct sc_ctx *c, json_t *root)
{
    json_t *arr;
    int rc = sc_get_array(c, root, "devices", true, 1, SCENARIO_MAX_DEVICES, &arr);

    if (rc != 0 || (rc = sc_alloc_section(c, "devices", json_array_size(arr), sizeof(struct scenario_device),
                                          (void **)&c->sc->devices)) != 0) {
        return rc;
    }
    c->sc->n_devices = json_array_size(arr);
    return sc_each_object(c, arr, "devices", parse_device);
}

/* Every DMA buffer pair (source and destination) must fit in the VM's memory. */
static int
check_dma_fits(struct sc_ctx *c, const struct scenario_vm *vm)
{
    const struct scenario_workload *w = &c->sc->workloads[vm->workload];
    uint64_t memory = (uint64_t)vm->memory_mib << 20;

    for (size_t k = 0; k < w->n_ops; k++) {
        if (w->ops[k].kind == SCENARIO_OP_DMA && 2 * (uint64_t)w->ops[k].size > memory) {
            sc_push_key(c, "workload");
            return sc_fail(c,
                           "workload '%s' (ops[%zu]) moves %u-byte DMA buffers; a source and a destination "
                           "need %llu bytes but the VM has %u MiB",
                           w->name, k, w->ops[k].size, 2 * (unsigned long long)w->ops[k].size, vm->memory_mib);
        }
    }
    return 0;
}

static int
parse_vm(struct sc_ctx *c, json_t *obj, size_t i)
{
    static const char *const keys[] = {"name", "memory_mib", "vpci_version", "misbehave", "workload", NULL};
    struct scenario_vm *vm = &c->sc->vms[i];
    struct sc_names taken = {c->sc->vms, i, sizeof(*vm), "VM"};
    struct sc_names workloads = {c->sc->workloads, c->sc->n_workloads, sizeof(struct scenario_workload), "workload"};
    int version = VPCI_VERSION_DEFAULT;
    int rc;

    vm->memory_mib = 64;
    vm->workload = SCENARIO_NONE;
    if ((rc = sc_check_keys(c, obj, keys)) != 0 || (rc = sc_get_name(c, obj, "name", &taken, vm->name)) != 0 ||
        (rc = sc_get_u32(c, obj, "memory_mib", false, 1, 4096, &vm->memory_mib)) != 0 ||
        (rc = sc_get_enum(c, obj, "vpci_version", false, vpci_versions,
                          sizeof(vpci_versions) / sizeof(vpci_versions[0]), &version)) != 0 ||
        (rc = sc_get_misbehave(c, obj, "misbehave", false, &vm->misbehave)) != 0 ||
        (rc = sc_get_ref(c, obj, "workload", false, &workloads, &vm->workload)) != 0) {
        return rc;
    }
    vm->vpci_version = 0x00010000u + (uint32_t)version;
    return vm->workload != SCENARIO_NONE ? check_dma_fits(c, vm) : 0;
}

static int
parse_vms(struct sc_ctx *c, json_t *root)
{
    json_t *arr;
    int rc = sc_get_array(c, root, "vms", false, 0, SCENARIO_MAX_VMS, &arr);

    if (rc != 0 || arr == NULL) {
        return rc;
    }
    if ((rc = sc_alloc_section(c, "vms", json_array_size(arr), sizeof(struct scenario_vm), (void **)&c->sc->vms)) !=
        0) {
        return rc;
    }
    c->sc->n_vms = json_array_size(arr);
    return sc_each_object(c, arr, "vms", parse_vm);
}

static int
parse_assignment(struct sc_ctx *c, json_t *obj, size_t i)
{
    static const char *const keys[] = {"vm", "device", "vf", NULL};
    struct scenario *sc = c->sc;
    struct scenario_assignment *a = &sc->assignments[i];
    struct sc_names vms = {sc->vms, sc->n_vms, sizeof(struct scenario_vm), "VM"};
    struct sc_names devs = {sc->devices, sc->n_devices, sizeof(struct scenario_device), "device"};
    int rc;

    if ((rc = sc_check_keys(c, obj, keys)) != 0 || (rc = sc_get_ref(c, obj, "vm", true, &vms, &a->vm)) != 0 ||
        (rc = sc_get_ref(c, obj, "device", true, &devs, &a->device)) != 0 ||
        (rc = sc_get_u32(c, obj, "vf", true, 0, 65534, &a->vf)) != 0) {
        return rc;
    }
    const struct scenario_device *d = &sc->devices[a->device];
    sc_push_key(c, "vf");
    if (a->vf >= d->num_vfs) {
        return d->num_vfs == 0 ? sc_fail(c, "device '%s' enables no VFs (num_vfs is 0)", d->name)
                               : sc_fail(c, "VF %u does not exist: device '%s' enables %u VFs (0..%u)", a->vf, d->name,
                                         d->num_vfs, d->num_vfs - 1);
    }
    for (size_t k = 0; k < i; k++) {
        if (sc->assignments[k].device == a->device && sc->assignments[k].vf == a->vf) {
            return sc_fail(c, "VF %u of device '%s' is already assigned to VM '%s' by assignments[%zu]", a->vf, d->name,
                           sc->vms[sc->assignments[k].vm].name, k);
        }
    }
    sc_pop(c);
    return 0;
}

static int
parse_assignments(struct sc_ctx *c, json_t *root)
{
    json_t *arr;
    int rc = sc_get_array(c, root, "assignments", false, 0, SCENARIO_MAX_ASSIGNMENTS, &arr);

    if (rc != 0 || arr == NULL) {
        return rc;
    }
    if ((rc = sc_alloc_section(c, "assignments", json_array_size(arr), sizeof(struct scenario_assignment),
                               (void **)&c->sc->assignments)) != 0) {
        return rc;
    }
    c->sc->n_assignments = json_array_size(arr);
    return sc_each_object(c, arr, "assignments", parse_assignment);
}

static int
parse_root(struct sc_ctx *c, json_t *root)
{
    static const char *const keys[] = {"pcivirt-scenario", "name",     "description", "options",
                                       "timing",           "devices",  "vms",         "workloads",
                                       "assignments",      "timeline", NULL};
    const char *name = NULL;
    int rc;

    if (!json_is_object(root)) {
        return sc_fail(c, "a scenario is a JSON object {...}, not an array");
    }
    if ((rc = parse_version(c, root)) != 0 || (rc = sc_check_keys(c, root, keys)) != 0 ||
        (rc = sc_get_string(c, root, "name", false, SCENARIO_TEXT_MAX, &name)) != 0 ||
        (rc = sc_get_text(c, root, "description", &c->sc->description)) != 0) {
        return rc;
    }
    c->sc->name = name != NULL ? pv_strdup(name) : default_name(c->sc->file);
    if (c->sc->name == NULL) {
        return sc_fail_code(c, PCIVIRT_ENOMEM, false, "out of memory");
    }
    if ((rc = parse_options(c, root)) != 0 || (rc = parse_timing(c, root)) != 0 || (rc = parse_devices(c, root)) != 0 ||
        (rc = sc_parse_workloads(c, root)) != 0 || (rc = parse_vms(c, root)) != 0 ||
        (rc = parse_assignments(c, root)) != 0 || (rc = sc_parse_timeline(c, root)) != 0) {
        return rc;
    }
    return 0;
}

/* Validate the parsed tree into a new scenario that owns a copy of the text. */
static int
build(const char *name, const char *base_dir, const char *text, size_t len, json_t *root, struct scenario **out,
      struct scenario_error *err)
{
    struct scenario *sc = pv_calloc(1, sizeof(*sc));
    struct sc_ctx c = {text, len, base_dir != NULL ? base_dir : ".", sc, err, {0}};
    int rc;

    if (sc == NULL || (sc->file = pv_strdup(name)) == NULL || (sc->text = pv_malloc(len + 1)) == NULL) {
        scenario_destroy(sc);
        return error_plain(err, PCIVIRT_ENOMEM, "out of memory");
    }
    memcpy(sc->text, text, len);
    sc->text[len] = '\0';
    sc->text_len = len;
    rc = parse_root(&c, root);
    if (rc != 0) {
        scenario_destroy(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

int
scenario_load_buffer(const char *name, const char *base_dir, const void *buf, size_t len, struct scenario **out,
                     struct scenario_error *err)
{
    const char *text = buf;
    json_error_t je;
    int rc;

    *out = NULL;
    name = name != NULL ? name : "<buffer>";
    error_start(err, name);
    if (len > SCENARIO_MAX_FILE_BYTES) {
        return error_plain(err, PCIVIRT_ERANGE, "is %zu bytes; scenario files are limited to 1 MiB (%u bytes)", len,
                           SCENARIO_MAX_FILE_BYTES);
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3; /* a UTF-8 byte order mark: not part of the JSON text */
        len -= 3;
    }
    if ((rc = check_text(text, len, err)) != 0) {
        return rc;
    }
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        return syntax_error(text, len, &je, err);
    }
    rc = build(name, base_dir, text, len, root, out, err);
    json_decref(root);
    return rc;
}

/* Read at most SCENARIO_MAX_FILE_BYTES + 1 bytes, so "too large" needs no trust in st_size. */
static int
read_bounded(int fd, char *buf, size_t *len, struct scenario_error *err)
{
    size_t got = 0;

    while (got <= SCENARIO_MAX_FILE_BYTES) {
        ssize_t n = read(fd, buf + got, SCENARIO_MAX_FILE_BYTES + 1 - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return error_plain(err, PCIVIRT_EIO, "cannot read: %s", strerror(errno));
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    if (got > SCENARIO_MAX_FILE_BYTES) {
        return error_plain(err, PCIVIRT_ERANGE, "is larger than 1 MiB (%u bytes), the limit for scenario files",
                           SCENARIO_MAX_FILE_BYTES);
    }
    *len = got;
    return 0;
}

static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;

    if (slash == NULL) {
        return pv_strdup(".");
    }
    if (slash == path) {
        return pv_strdup("/");
    }
    dir = pv_malloc((size_t)(slash - path) + 1);
    if (dir != NULL) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    return dir;
}

int
scenario_load_file(const char *path, struct scenario **out, struct scenario_error *err)
{
    struct stat st;
    char *buf = NULL;
    char *dir = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    error_start(err, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return error_plain(err, errno == ENOENT ? PCIVIRT_ENOENT : PCIVIRT_EIO, "cannot open: %s", strerror(errno));
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = error_plain(err, PCIVIRT_EIO, "is a directory, not a scenario file");
        goto out_close;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > (off_t)SCENARIO_MAX_FILE_BYTES) {
        rc = error_plain(err, PCIVIRT_ERANGE, "is %lld bytes; scenario files are limited to 1 MiB (%u bytes)",
                         (long long)st.st_size, SCENARIO_MAX_FILE_BYTES);
        goto out_close;
    }
    buf = pv_malloc(SCENARIO_MAX_FILE_BYTES + 1);
    dir = dir_of(path);
    if (buf == NULL || dir == NULL) {
        rc = error_plain(err, PCIVIRT_ENOMEM, "out of memory");
        goto out_free;
    }
    if ((rc = read_bounded(fd, buf, &len, err)) == 0) {
        rc = scenario_load_buffer(path, dir, buf, len, out, err);
    }
out_free:
    pv_free(dir);
    pv_free(buf);
out_close:
    close(fd);
    return rc;
}

int
scenario_load_default(struct scenario **out, struct scenario_error *err)
{
    const char *text = scenario_default_text();
    return scenario_load_buffer("<default>", ".", text, strlen(text), out, err);
}

void
scenario_destroy(struct scenario *sc)
{
    if (sc == NULL) {
        return;
    }
    for (size_t i = 0; sc->devices != NULL && i < sc->n_devices; i++) {
        pv_free(sc->devices[i].dump_path);
    }
    for (size_t i = 0; sc->workloads != NULL && i < sc->n_workloads; i++) {
        pv_free(sc->workloads[i].ops);
    }
    for (size_t i = 0; sc->steps != NULL && i < sc->n_steps; i++) {
        pv_free(sc->steps[i].note);
        pv_free(sc->steps[i].vms);
    }
    pv_free(sc->devices);
    pv_free(sc->vms);
    pv_free(sc->assignments);
    pv_free(sc->workloads);
    pv_free(sc->steps);
    pv_free(sc->description);
    pv_free(sc->name);
    pv_free(sc->file);
    pv_free(sc->text);
    pv_free(sc);
}

bool
scenario_where(const struct scenario *sc, const char *path, unsigned *line, unsigned *column)
{
    struct json_path p;
    char scratch[256];
    size_t off;

    if (sc == NULL || sc->text == NULL || !json_path_parse(path, &p, scratch, sizeof(scratch)) ||
        !json_locate(sc->text, sc->text_len, &p, false, &off)) {
        return false;
    }
    json_line_column(sc->text, sc->text_len, off, line, column);
    return true;
}

void
scenario_error_format(const struct scenario_error *err, char *buf, size_t size)
{
    char pos[32] = "";

    if (size == 0) {
        return;
    }
    if (err->line > 0) {
        snprintf(pos, sizeof(pos), ":%u:%u", err->line, err->column);
    }
    snprintf(buf, size, "%s%s: %s%s%s", err->file, pos, err->path, err->path[0] != '\0' ? ": " : "", err->message);
}

const char *
scenario_policy_name(enum scenario_policy policy)
{
    return (unsigned)policy < 2 ? policy_names[policy] : "?";
}

const char *
scenario_clock_name(enum scenario_clock clock)
{
    return (unsigned)clock < 2 ? clock_names[clock] : "?";
}

void
scenario_misbehave_format(uint32_t bits, char *buf, size_t size)
{
    size_t o = 0;

    if (size == 0) {
        return;
    }
    snprintf(buf, size, "none");
    for (size_t i = 0; i < SC_MISBEHAVE_COUNT && o < size; i++) {
        if (bits & 1u << i) {
            int n = snprintf(buf + o, size - o, "%s%s", o == 0 ? "" : ",", sc_misbehave_names[i]);
            if (n < 0) {
                return;
            }
            o += (size_t)n;
        }
    }
}
