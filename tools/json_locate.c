/*
 * tools/json_locate.c - position index over JSON text (see json_locate.h).
 *
 * The scanner knows just enough JSON to step over values: strings (with escapes),
 * brackets, commas, colons and bare scalars.  Skipping a value is iterative, with
 * a depth counter instead of recursion, so even text nested thousands of levels
 * deep costs no stack.  Every read is bounds-checked against the length; any
 * surprise ends the walk with "not found" rather than a guess.
 */
#include "json_locate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct scan {
    const char *t;
    size_t n;
    size_t i;
};

static void
skip_ws(struct scan *s)
{
    while (s->i < s->n) {
        char c = s->t[s->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        s->i++;
    }
}

static bool
at(const struct scan *s, char c)
{
    return s->i < s->n && s->t[s->i] == c;
}

/* Step over a string starting at its opening quote. */
static bool
skip_string(struct scan *s)
{
    s->i++;
    while (s->i < s->n) {
        char c = s->t[s->i];
        if (c == '\\') {
            s->i += 2;
            continue;
        }
        s->i++;
        if (c == '"') {
            return true;
        }
    }
    return false;
}

/* Characters that end a bare scalar; NUL counts (strchr finds the terminator). */
static bool
is_delimiter(char c)
{
    return strchr(" \t\r\n,:[]{}\"", c) != NULL;
}

/* Step over one whole value (scalar, string, object or array), iteratively. */
static bool
skip_value(struct scan *s)
{
    size_t depth = 0;

    for (;;) {
        skip_ws(s);
        if (s->i >= s->n) {
            return false;
        }
        char c = s->t[s->i];
        if (c == '{' || c == '[') {
            depth++;
            s->i++;
            continue;
        }
        if (c == ',' || c == ':') {
            if (depth == 0) {
                return false;
            }
            s->i++;
            continue;
        }
        if (c == '}' || c == ']') {
            if (depth == 0) {
                return false;
            }
            depth--;
            s->i++;
        } else if (c == '"') {
            if (!skip_string(s)) {
                return false;
            }
        } else {
            size_t start = s->i;
            while (s->i < s->n && !is_delimiter(s->t[s->i])) {
                s->i++;
            }
            if (s->i == start) {
                return false;
            }
        }
        if (depth == 0) {
            return true;
        }
    }
}

static int
hex4(const struct scan *s, size_t pos, unsigned *out)
{
    unsigned v = 0;

    if (pos + 4 > s->n) {
        return -1;
    }
    for (size_t k = 0; k < 4; k++) {
        char c = s->t[pos + k];
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t
utf8_encode(unsigned cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Decode one escape (s->i at the backslash) into @out; returns its byte count or
 * 0 when malformed.  \uD83D\uDE00-style pairs become one code point.
 */
static size_t
decode_escape(struct scan *s, unsigned char out[4])
{
    static const char plain[] = "\"\\/bfnrt";
    static const char value[] = "\"\\/\b\f\n\r\t";
    unsigned cp;
    unsigned lo;

    if (s->i + 1 >= s->n) {
        return 0;
    }
    char e = s->t[s->i + 1];
    const char *p = strchr(plain, e);
    if (e != '\0' && p != NULL) {
        out[0] = (unsigned char)value[p - plain];
        s->i += 2;
        return 1;
    }
    if (e != 'u' || hex4(s, s->i + 2, &cp) != 0) {
        return 0;
    }
    s->i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && s->i + 1 < s->n && s->t[s->i] == '\\' && s->t[s->i + 1] == 'u' &&
        hex4(s, s->i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        s->i += 6;
    }
    return utf8_encode(cp, out);
}

/* Compare the string at s->i (its opening quote) with @key, stepping over it. */
static bool
key_equals(struct scan *s, const char *key, bool *equal)
{
    size_t k = 0;
    bool eq = true;

    s->i++;
    while (s->i < s->n) {
        unsigned char buf[4];
        size_t m;
        char c = s->t[s->i];
        if (c == '"') {
            s->i++;
            *equal = eq && key[k] == '\0';
            return true;
        }
        if (c == '\\') {
            m = decode_escape(s, buf);
            if (m == 0) {
                return false;
            }
        } else {
            buf[0] = (unsigned char)c;
            m = 1;
            s->i++;
        }
        for (size_t j = 0; j < m && eq; j++) {
            if ((unsigned char)key[k] != buf[j] || key[k] == '\0') {
                eq = false;
            } else {
                k++;
            }
        }
    }
    return false;
}

/* With s->i at '{', move to the value of member @key (or its key when @want_key). */
static bool
enter_member(struct scan *s, const char *key, bool want_key)
{
    s->i++;
    for (;;) {
        bool equal = false;
        skip_ws(s);
        if (!at(s, '"')) {
            return false;
        }
        size_t key_start = s->i;
        if (!key_equals(s, key, &equal)) {
            return false;
        }
        skip_ws(s);
        if (!at(s, ':')) {
            return false;
        }
        s->i++;
        skip_ws(s);
        if (equal) {
            if (want_key) {
                s->i = key_start;
            }
            return true;
        }
        if (!skip_value(s)) {
            return false;
        }
        skip_ws(s);
        if (!at(s, ',')) {
            return false;
        }
        s->i++;
    }
}

/* With s->i at '[', move to element @index. */
static bool
enter_element(struct scan *s, size_t index)
{
    s->i++;
    for (size_t k = 0;; k++) {
        skip_ws(s);
        if (s->i >= s->n || s->t[s->i] == ']') {
            return false;
        }
        if (k == index) {
            return true;
        }
        if (!skip_value(s)) {
            return false;
        }
        skip_ws(s);
        if (!at(s, ',')) {
            return false;
        }
        s->i++;
    }
}

bool
json_locate(const char *text, size_t len, const struct json_path *path, bool want_key, size_t *offset)
{
    struct scan s = {text, len, 0};

    if (path->depth > JSON_PATH_MAX) {
        return false;
    }
    skip_ws(&s);
    for (size_t d = 0; d < path->depth; d++) {
        const struct json_path_elem *e = &path->elem[d];
        bool last = d + 1 == path->depth;
        bool found;
        skip_ws(&s);
        if (e->key != NULL) {
            found = at(&s, '{') && enter_member(&s, e->key, want_key && last);
        } else {
            found = at(&s, '[') && enter_element(&s, e->index);
        }
        if (!found) {
            return false;
        }
    }
    if (s.i >= s.n) {
        return false;
    }
    *offset = s.i;
    return true;
}

void
json_line_column(const char *text, size_t len, size_t offset, unsigned *line, unsigned *column)
{
    unsigned l = 1;
    unsigned c = 1;

    if (offset > len) {
        offset = len;
    }
    for (size_t i = 0; i < offset; i++) {
        unsigned char b = (unsigned char)text[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *column = c;
}

/* Length of the valid UTF-8 sequence at @p (RFC 3629 section 4), 0 if invalid. */
static size_t
utf8_sequence(const unsigned char *p, size_t left)
{
    unsigned char b = p[0];
    size_t need;
    unsigned min;
    unsigned cp;

    if (b < 0x80) {
        return b == 0 ? 0 : 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        need = 2, min = 0x80, cp = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 3, min = 0x800, cp = b & 0x0Fu;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4, min = 0x10000, cp = b & 0x07u;
    } else {
        return 0;
    }
    if (left < need) {
        return 0;
    }
    for (size_t k = 1; k < need; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[k] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return need;
}

bool
json_utf8_check(const char *text, size_t len, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;

    while (i < len) {
        size_t m = utf8_sequence(p + i, len - i);
        if (m == 0) {
            *bad = i;
            return false;
        }
        i += m;
    }
    return true;
}

void
json_path_format(const struct json_path *path, char *buf, size_t size)
{
    size_t used = 0;

    if (size == 0) {
        return;
    }
    buf[0] = '\0';
    for (size_t d = 0; d < path->depth && d < JSON_PATH_MAX && used < size; d++) {
        const struct json_path_elem *e = &path->elem[d];
        int n;
        if (e->key != NULL) {
            n = snprintf(buf + used, size - used, "%s%s", d == 0 ? "" : ".", e->key);
        } else {
            n = snprintf(buf + used, size - used, "[%zu]", e->index);
        }
        if (n < 0) {
            return;
        }
        used += (size_t)n;
    }
}

static bool
parse_index(const char **s, size_t *out)
{
    const char *p = *s;
    size_t v = 0;

    if (*p < '0' || *p > '9') {
        return false;
    }
    while (*p >= '0' && *p <= '9') {
        if (v > (SIZE_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + (size_t)(*p - '0');
        p++;
    }
    if (*p != ']') {
        return false;
    }
    *s = p + 1;
    *out = v;
    return true;
}

bool
json_path_parse(const char *s, struct json_path *path, char *scratch, size_t scratch_size)
{
    size_t used = 0;
    bool need_key = false;

    path->depth = 0;
    while (*s != '\0') {
        if (path->depth == JSON_PATH_MAX) {
            return false;
        }
        struct json_path_elem *e = &path->elem[path->depth];
        if (*s == '[') {
            s++;
            e->key = NULL;
            if (need_key || !parse_index(&s, &e->index)) {
                return false;
            }
        } else {
            size_t n = strcspn(s, ".[]");
            if (n == 0 || used + n + 1 > scratch_size || (path->depth > 0 && !need_key)) {
                return false;
            }
            memcpy(scratch + used, s, n);
            scratch[used + n] = '\0';
            e->key = scratch + used;
            used += n + 1;
            s += n;
        }
        path->depth++;
        need_key = *s == '.';
        if (need_key) {
            s++;
            if (*s == '\0') {
                return false;
            }
        }
    }
    return true;
}
