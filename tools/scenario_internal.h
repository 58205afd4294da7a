/*
 * tools/scenario_internal.h - what the scenario parser's files share.
 *
 * Validation walks the jansson tree section by section while keeping the JSON path
 * of the value being checked.  Every typed reader (sc_get_u32(), sc_get_enum(), ...)
 * pushes the member's key, checks type and range, and on failure fills the error
 * with the path and the position json_locate() finds for it.  The first error
 * stops the parse: one precise message beats a cascade of consequential ones.
 */
#ifndef PCIVIRT_TOOLS_SCENARIO_INTERNAL_H
#define PCIVIRT_TOOLS_SCENARIO_INTERNAL_H

#include <jansson.h>

#include "json_locate.h"
#include "scenario.h"

struct sc_ctx {
    const char *text; /* the text jansson parsed (a UTF-8 BOM already skipped) */
    size_t len;
    const char *base_dir; /* for relative dump paths */
    struct scenario *sc;
    struct scenario_error *err;
    struct json_path path; /* of the value being validated */
};

/* A table of named things (devices, VMs, workloads): each element starts with char name[]. */
struct sc_names {
    const void *base;
    size_t count;
    size_t stride;
    const char *what; /* "device", "VM", "workload" */
};

void sc_push_key(struct sc_ctx *c, const char *key);
void sc_push_index(struct sc_ctx *c, size_t index);
void sc_pop(struct sc_ctx *c);

/* Record an error at the current path (its value; at_key: its key).  Returns @code. */
int sc_fail_code(struct sc_ctx *c, int code, bool at_key, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define sc_fail(c, ...) sc_fail_code((c), PCIVIRT_EFORMAT, false, __VA_ARGS__)

/* Closest candidate to @word (edit distance, case-insensitive), or NULL when none is close. */
const char *sc_suggest(const char *word, const char *const *cands, size_t n);

/* " (did you mean 'x'?)" or "" into @buf. */
const char *sc_hint(char *buf, size_t size, const char *suggestion);

/* @s made printable and short for a message (control bytes as \xNN, long text cut). */
const char *sc_printable(const char *s, char *buf, size_t size);

/* Reject members of @obj not in @allowed (NULL-terminated), suggesting a close one. */
int sc_check_keys(struct sc_ctx *c, json_t *obj, const char *const *allowed);

/* Typed members of @obj.  Absent optional members leave the default in *out. */
int sc_get_u32(struct sc_ctx *c, json_t *obj, const char *key, bool required, uint32_t min, uint32_t max,
               uint32_t *out);
int sc_get_u64(struct sc_ctx *c, json_t *obj, const char *key, bool required, uint64_t min, uint64_t max,
               uint64_t *out);
int sc_get_bool(struct sc_ctx *c, json_t *obj, const char *key, bool *out);
int sc_get_string(struct sc_ctx *c, json_t *obj, const char *key, bool required, size_t max_len, const char **out);
int sc_get_text(struct sc_ctx *c, json_t *obj, const char *key, char **out); /* optional, copied */
int sc_get_enum(struct sc_ctx *c, json_t *obj, const char *key, bool required, const char *const *names, size_t n,
                int *out);
int sc_get_name(struct sc_ctx *c, json_t *obj, const char *key, const struct sc_names *taken,
                char out[SCENARIO_NAME_MAX]);
int sc_get_ref(struct sc_ctx *c, json_t *obj, const char *key, bool required, const struct sc_names *names,
               size_t *out);
/* @v (at the current path) as the name of one of @names; *out its index. */
int sc_match_ref(struct sc_ctx *c, json_t *v, const struct sc_names *names, size_t *out);
int sc_get_array(struct sc_ctx *c, json_t *obj, const char *key, bool required, size_t min, size_t max, json_t **out);
int sc_get_object(struct sc_ctx *c, json_t *obj, const char *key, bool required, json_t **out);
int sc_get_mac(struct sc_ctx *c, json_t *obj, const char *key, bool *has, uint8_t mac[6]);
int sc_get_misbehave(struct sc_ctx *c, json_t *obj, const char *key, bool required, uint32_t *bits);

/* Each element of @arr (the member @key of the current object) as an object, to @fn. */
int sc_each_object(struct sc_ctx *c, json_t *arr, const char *key, int (*fn)(struct sc_ctx *, json_t *, size_t));

/* pv_calloc() @n (at least 1) elements of @size for section @key; ENOMEM reported there. */
int sc_alloc_section(struct sc_ctx *c, const char *key, size_t n, size_t size, void **out);

/* Spellings of the SCENARIO_GUEST_* bits, bit i = name i. */
#define SC_MISBEHAVE_COUNT 4
extern const char *const sc_misbehave_names[SC_MISBEHAVE_COUNT];

/* Name lookup in a table; SCENARIO_NONE when absent. */
size_t sc_find(const struct sc_names *names, const char *name);
const char *sc_name_at(const struct sc_names *names, size_t i);

/* Sections in the order scenario.c parses them (scenario_flow.c). */
int sc_parse_workloads(struct sc_ctx *c, json_t *root);
int sc_parse_timeline(struct sc_ctx *c, json_t *root);

#endif /* PCIVIRT_TOOLS_SCENARIO_INTERNAL_H */
