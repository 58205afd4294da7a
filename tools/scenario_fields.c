/*
 * tools/scenario_fields.c - typed field readers and error positions for the scenario parser.
 *
 * Every field of the schema goes through one of these readers, so type checks,
 * range messages, "did you mean" suggestions and positions are uniform: a reader
 * pushes the member's key on the context's path, validates, and pops it again on
 * success.  On failure the path is left as it was at the failure, which is what
 * the error reports.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pcivirt/error.h"
#include "scenario_internal.h"
#include "util/alloc.h"

void
sc_push_key(struct sc_ctx *c, const char *key)
{
    if (c->path.depth < JSON_PATH_MAX) {
        c->path.elem[c->path.depth].key = key;
        c->path.elem[c->path.depth].index = 0;
    }
    c->path.depth++;
}

void
sc_push_index(struct sc_ctx *c, size_t index)
{
    if (c->path.depth < JSON_PATH_MAX) {
        c->path.elem[c->path.depth].key = NULL;
        c->path.elem[c->path.depth].index = index;
    }
    c->path.depth++;
}

void
sc_pop(struct sc_ctx *c)
{
    if (c->path.depth > 0) {
        c->path.depth--;
    }
}

/* Position of the current path, or of its nearest ancestor present in the text. */
static void
locate_current(const struct sc_ctx *c, bool at_key, unsigned *line, unsigned *column)
{
    struct json_path p = c->path;
    size_t off;

    if (p.depth > JSON_PATH_MAX) {
        p.depth = JSON_PATH_MAX;
    }
    while (!json_locate(c->text, c->len, &p, at_key, &off)) {
        if (p.depth == 0) {
            *line = 0;
            *column = 0;
            return;
        }
        p.depth--;
        at_key = false;
    }
    json_line_column(c->text, c->len, off, line, column);
}

int
sc_fail_code(struct sc_ctx *c, int code, bool at_key, const char *fmt, ...)
{
    struct scenario_error *e = c->err;
    va_list ap;

    if (e == NULL) {
        return code;
    }
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    locate_current(c, at_key, &e->line, &e->column);
    json_path_format(&c->path, e->path, sizeof(e->path));
    return code;
}

/* Optimal string alignment distance, case-insensitive; large for long words. */
static size_t
edit_distance(const char *a, const char *b)
{
    enum { MAXLEN = 48 };
    size_t la = strlen(a);
    size_t lb = strlen(b);
    size_t d[MAXLEN + 1][MAXLEN + 1];

    if (la > MAXLEN || lb > MAXLEN) {
        return SIZE_MAX;
    }
    for (size_t i = 0; i <= la; i++) {
        d[i][0] = i;
    }
    for (size_t j = 0; j <= lb; j++) {
        d[0][j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]);
            int cb = tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + (ca != cb);
            best = d[i - 1][j] + 1 < best ? d[i - 1][j] + 1 : best;
            best = d[i][j - 1] + 1 < best ? d[i][j - 1] + 1 : best;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < best) {
                best = d[i - 2][j - 2] + 1;
            }
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* One word a prefix of the other ("memory" for "memory_mib") counts as one edit when it is not too short. */
static size_t
distance(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    size_t d = edit_distance(a, b);

    if (d > 1 && (la < lb ? la : lb) >= 4 && strncasecmp(a, b, la < lb ? la : lb) == 0) {
        d = 1;
    }
    return d;
}

/* A suggestion is close when at most 2 edits away and not more than half the word. */
static bool
close_enough(const char *word, size_t dist)
{
    size_t len = strlen(word);
    return dist <= 2 && dist * 2 <= (len > 1 ? len : 2);
}

const char *
sc_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;

    for (size_t i = 0; i < n; i++) {
        size_t d = distance(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best != NULL && close_enough(word, best_d) ? best : NULL;
}

static const char *
suggest_name(const char *word, const struct sc_names *names)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;

    for (size_t i = 0; i < names->count; i++) {
        size_t d = distance(word, sc_name_at(names, i));
        if (d < best_d) {
            best_d = d;
            best = sc_name_at(names, i);
        }
    }
    return best != NULL && close_enough(word, best_d) ? best : NULL;
}

const char *
sc_hint(char *buf, size_t size, const char *suggestion)
{
    if (suggestion == NULL) {
        buf[0] = '\0';
    } else {
        snprintf(buf, size, " (did you mean '%s'?)", suggestion);
    }
    return buf;
}

const char *
sc_printable(const char *s, char *buf, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; s[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (o + 8 >= size) {
            snprintf(buf + o, size - o, "...");
            return buf;
        }
        if (ch < 0x20 || ch == 0x7F || ch == '\'') {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
        } else {
            buf[o++] = (char)ch;
        }
    }
    buf[o] = '\0';
    return buf;
}

size_t
sc_find(const struct sc_names *names, const char *name)
{
    for (size_t i = 0; i < names->count; i++) {
        if (strcmp(sc_name_at(names, i), name) == 0) {
            return i;
        }
    }
    return SCENARIO_NONE;
}

const char *
sc_name_at(const struct sc_names *names, size_t i)
{
    return (const char *)names->base + i * names->stride;
}

static void
list_names(const char *const *names, size_t n, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && o < size; i++) {
        int k = snprintf(buf + o, size - o, "%s%s", i == 0 ? "" : ", ", names[i]);
        if (k < 0) {
            return;
        }
        o += (size_t)k;
    }
}

int
sc_check_keys(struct sc_ctx *c, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    size_t n = 0;

    while (allowed[n] != NULL) {
        n++;
    }
    json_object_foreach(obj, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(allowed[i], key) != 0) {
            i++;
        }
        if (i < n) {
            continue;
        }
        char hint[96];
        char shown[80];
        char list[512];
        const char *s = sc_suggest(key, allowed, n);
        sc_printable(key, shown, sizeof(shown));
        list_names(allowed, n, list, sizeof(list));
        sc_push_key(c, key);
        int rc =
            s != NULL
                ? sc_fail_code(c, PCIVIRT_EFORMAT, true, "unknown field '%s'%s", shown, sc_hint(hint, sizeof(hint), s))
                : sc_fail_code(c, PCIVIRT_EFORMAT, true, "unknown field '%s' (allowed here: %s)", shown, list);
        if (c->err != NULL) {
            /* The path shows the printable form of the key, not raw control bytes. */
            c->path.elem[c->path.depth - 1].key = shown;
            json_path_format(&c->path, c->err->path, sizeof(c->err->path));
        }
        return rc;
    }
    return 0;
}

/* Each element of array @key of the root, as an object, handed to @fn with its index. */
int
sc_each_object(struct sc_ctx *c, json_t *arr, const char *key, int (*fn)(struct sc_ctx *, json_t *, size_t))
{
    int rc;

    sc_push_key(c, key);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *obj = json_array_get(arr, i);
        sc_push_index(c, i);
        if (!json_is_object(obj)) {
            return sc_fail(c, "expected an object");
        }
        if ((rc = fn(c, obj, i)) != 0) {
            return rc;
        }
        sc_pop(c);
    }
    sc_pop(c);
    return 0;
}

/* Allocate @n zeroed elements of @size for a section; ENOMEM reported at the section. */
int
sc_alloc_section(struct sc_ctx *c, const char *key, size_t n, size_t size, void **out)
{
    *out = pv_calloc(n > 0 ? n : 1, size);
    if (*out == NULL) {
        sc_push_key(c, key);
        return sc_fail_code(c, PCIVIRT_ENOMEM, false, "out of memory");
    }
    return 0;
}

static const char *
type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL:
    default: return "null";
    }
}

/* Push @key and fetch it; *v = NULL (and path popped) when absent and optional. */
static int
member(struct sc_ctx *c, json_t *obj, const char *key, bool required, json_t **v)
{
    *v = json_object_get(obj, key);
    sc_push_key(c, key);
    if (*v == NULL) {
        if (required) {
            return sc_fail(c, "missing required field '%s'", key);
        }
        sc_pop(c);
    }
    return 0;
}

static int
want_type(struct sc_ctx *c, json_t *v, json_type type, const char *expected)
{
    bool ok = json_typeof(v) == type || (type == JSON_TRUE && json_is_boolean(v));
    return ok ? 0 : sc_fail(c, "expected %s, found %s", expected, type_name(v));
}

int
sc_get_u64(struct sc_ctx *c, json_t *obj, const char *key, bool required, uint64_t min, uint64_t max, uint64_t *out)
{
    json_t *v;
    int rc = member(c, obj, key, required, &v);

    if (rc != 0 || v == NULL) {
        return rc;
    }
    if ((rc = want_type(c, v, JSON_INTEGER, "an integer")) != 0) {
        return rc;
    }
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max) {
        return sc_fail(c, "%" JSON_INTEGER_FORMAT " is out of range %" PRIu64 "..%" PRIu64, x, min, max);
    }
    *out = (uint64_t)x;
    sc_pop(c);
    return 0;
}

int
sc_get_u32(struct sc_ctx *c, json_t *obj, const char *key, bool required, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v = *out;
    int rc = sc_get_u64(c, obj, key, required, min, max, &v);

    if (rc == 0) {
        *out = (uint32_t)v;
    }
    return rc;
}

int
sc_get_bool(struct sc_ctx *c, json_t *obj, const char *key, bool *out)
{
    json_t *v;
    int rc = member(c, obj, key, false, &v);

    if (rc != 0 || v == NULL) {
        return rc;
    }
    if ((rc = want_type(c, v, JSON_TRUE, "true or false")) != 0) {
        return rc;
    }
    *out = json_is_true(v);
    sc_pop(c);
    return 0;
}

int
sc_get_string(struct sc_ctx *c, json_t *obj, const char *key, bool required, size_t max_len, const char **out)
{
    json_t *v;
    int rc = member(c, obj, key, required, &v);

    if (rc != 0 || v == NULL) {
        return rc;
    }
    if ((rc = want_type(c, v, JSON_STRING, "a string")) != 0) {
        return rc;
    }
    if (json_string_length(v) > max_len) {
        return sc_fail(c, "is %zu bytes long; at most %zu allowed", json_string_length(v), max_len);
    }
    *out = json_string_value(v);
    sc_pop(c);
    return 0;
}

int
sc_get_text(struct sc_ctx *c, json_t *obj, const char *key, char **out)
{
    const char *s = NULL;
    int rc = sc_get_string(c, obj, key, false, SCENARIO_TEXT_MAX, &s);

    if (rc != 0 || s == NULL) {
        return rc;
    }
    *out = pv_strdup(s);
    if (*out == NULL) {
        sc_push_key(c, key);
        return sc_fail_code(c, PCIVIRT_ENOMEM, false, "out of memory");
    }
    return 0;
}

/* Validate @v (at the current path) as one of @names; @what names it in messages. */
static int
match_enum(struct sc_ctx *c, json_t *v, const char *what, const char *const *names, size_t n, int *out)
{
    char hint[96];
    char shown[80];
    char list[512];
    int rc = want_type(c, v, JSON_STRING, "a string");

    if (rc != 0) {
        return rc;
    }
    const char *s = json_string_value(v);
    for (size_t i = 0; i < n; i++) {
        if (names[i] != NULL && strcmp(names[i], s) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    list_names(names, n, list, sizeof(list));
    return sc_fail(c, "unknown %s '%s'%s; one of: %s", what, sc_printable(s, shown, sizeof(shown)),
                   sc_hint(hint, sizeof(hint), sc_suggest(s, names, n)), list);
}

int
sc_get_enum(struct sc_ctx *c, json_t *obj, const char *key, bool required, const char *const *names, size_t n, int *out)
{
    json_t *v;
    int rc = member(c, obj, key, required, &v);

    if (rc != 0 || v == NULL) {
        return rc;
    }
    if ((rc = match_enum(c, v, key, names, n, out)) != 0) {
        return rc;
    }
    sc_pop(c);
    return 0;
}

static bool
valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= SCENARIO_NAME_MAX || !isalnum((unsigned char)s[0])) {
        return false;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int
sc_get_name(struct sc_ctx *c, json_t *obj, const char *key, const struct sc_names *taken, char out[SCENARIO_NAME_MAX])
{
    const char *s = NULL;
    char shown[80];
    int rc = sc_get_string(c, obj, key, true, 256, &s);

    if (rc != 0) {
        return rc;
    }
    sc_push_key(c, key);
    if (!valid_name(s)) {
        return sc_fail(c,
                       "'%s' is not a valid name: 1..%d characters of letters, digits, '_', '.', '-', "
                       "starting with a letter or digit",
                       sc_printable(s, shown, sizeof(shown)), SCENARIO_NAME_MAX - 1);
    }
    size_t prev = sc_find(taken, s);
    if (prev != SCENARIO_NONE) {
        return sc_fail(c, "duplicate %s name '%s' (already used by %s[%zu])", taken->what, s,
                       c->path.elem[0].key != NULL ? c->path.elem[0].key : "?", prev);
    }
    memcpy(out, s, strlen(s) + 1);
    sc_pop(c);
    return 0;
}

int
sc_match_ref(struct sc_ctx *c, json_t *v, const struct sc_names *names, size_t *out)
{
    char shown[80];
    char hint[96];
    int rc = want_type(c, v, JSON_STRING, "a string");

    if (rc != 0) {
        return rc;
    }
    const char *s = json_string_value(v);
    *out = sc_find(names, s);
    if (*out == SCENARIO_NONE) {
        return sc_fail(c, "unknown %s '%s'%s", names->what, sc_printable(s, shown, sizeof(shown)),
                       sc_hint(hint, sizeof(hint), suggest_name(s, names)));
    }
    return 0;
}

int
sc_get_ref(struct sc_ctx *c, json_t *obj, const char *key, bool required, const struct sc_names *names, size_t *out)
{
    json_t *v;
    int rc = member(c, obj, key, required, &v);

    if (rc != 0 || v == NULL) {
        return rc;
    }
    if ((rc = sc_match_ref(c, v, names, out)) != 0) {
        return rc;
    }
    sc_pop(c);
    return 0;
}

int
sc_get_array(struct sc_ctx *c, json_t *obj, const char *key, bool required, size_t min, size_t max, json_t **out)
{
    json_t *v;
    int rc = member(c, obj, key, required, &v);

    *out = NULL;
    if (rc != 0 || v == NULL) {
        return rc;
    }
    if ((rc = want_type(c, v, JSON_ARRAY, "an array")) != 0) {
        return rc;
    }
    size_t n = json_array_size(v);
    if (n < min) {
        return sc_fail(c, "has %zu entries; at least %zu needed", n, min);
    }
    if (n > max) {
        return sc_fail(c, "has %zu entries; at most %zu allowed", n, max);
    }
    *out = v;
    sc_pop(c);
    return 0;
}

int
sc_get_object(struct sc_ctx *c, json_t *obj, const char *key, bool required, json_t **out)
{
    json_t *v;
    int rc = member(c, obj, key, required, &v);

    *out = NULL;
    if (rc != 0 || v == NULL) {
        return rc;
    }
    if ((rc = want_type(c, v, JSON_OBJECT, "an object")) != 0) {
        return rc;
    }
    *out = v;
    sc_pop(c);
    return 0;
}

int
sc_get_mac(struct sc_ctx *c, json_t *obj, const char *key, bool *has, uint8_t mac[6])
{
    const char *s = NULL;
    char shown[80];
    unsigned b[6];
    int used = 0;
    int rc = sc_get_string(c, obj, key, false, 64, &s);

    if (rc != 0 || s == NULL) {
        return rc;
    }
    sc_push_key(c, key);
    if (strlen(s) != 17 ||
        sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &used) != 6 || used != 17 ||
        strspn(s, "0123456789abcdefABCDEF:") != 17) {
        return sc_fail(c, "'%s' is not a MAC address; write six hex pairs such as 02:00:00:00:00:01",
                       sc_printable(s, shown, sizeof(shown)));
    }
    if (b[0] & 1) {
        return sc_fail(c, "%s is a multicast address; a VF needs a unicast MAC (first octet even)", s);
    }
    if ((b[0] | b[1] | b[2] | b[3] | b[4] | b[5]) == 0) {
        return sc_fail(c, "00:00:00:00:00:00 is not a usable MAC address");
    }
    for (size_t i = 0; i < 6; i++) {
        mac[i] = (uint8_t)b[i];
    }
    *has = true;
    sc_pop(c);
    return 0;
}

const char *const sc_misbehave_names[SC_MISBEHAVE_COUNT] = {"ignore-query-stop", "ignore-eject", "malformed-packets",
                                                            "dma-outside"};

int
sc_get_misbehave(struct sc_ctx *c, json_t *obj, const char *key, bool required, uint32_t *bits)
{
    json_t *arr;
    size_t n = SC_MISBEHAVE_COUNT;
    int rc = sc_get_array(c, obj, key, required, 0, n, &arr);

    if (rc != 0 || arr == NULL) {
        return rc;
    }
    sc_push_key(c, key);
    *bits = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        int which = 0;
        sc_push_index(c, i);
        if ((rc = match_enum(c, json_array_get(arr, i), "behaviour", sc_misbehave_names, n, &which)) != 0) {
            return rc;
        }
        if (*bits & 1u << which) {
            return sc_fail(c, "'%s' is listed twice", sc_misbehave_names[which]);
        }
        *bits |= 1u << which;
        sc_pop(c);
    }
    sc_pop(c);
    return 0;
}
