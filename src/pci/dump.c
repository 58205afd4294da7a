/*
 * pci/dump.c - reading and writing lspci -xxxx text (grammar in pci/dump.h).
 *
 * The reader works on a memory buffer line by line, with the same line-length
 * limit as pciutils (a line must fit in 253 characters plus the newline), so
 * that a file we accept is one lspci -F accepts and means the same bytes.
 * Each line is classified once - function address, empty, hex, or other text -
 * and only hex lines are parsed further; the parse cannot read past the line,
 * since every step checks the character it looks at.
 */
#include "pci/dump.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define DUMP_LINE_MAX 253u /* characters before the newline */
#define DUMP_FILE_MAX (64u * 1024u * 1024u)

/* Whether @s (of @n chars) starts with @pat: '#' a hex digit, others literal. */
static bool
matches(const char *s, size_t n, const char *pat)
{
    size_t i = 0;

    for (; pat[i] != '\0'; i++) {
        if (i >= n || (pat[i] == '#' ? !isxdigit((unsigned char)s[i]) : pat[i] != s[i])) {
            return false;
        }
    }
    return true;
}

static unsigned
hexval(char c)
{
    return isdigit((unsigned char)c) ? (unsigned)(c - '0') : (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

/* Value of @n hex digits at @s. */
static uint32_t
hexn(const char *s, size_t n)
{
    uint32_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = (v << 4) | hexval(s[i]);
    }
    return v;
}

/*
 * Parse a function address line into @a; return the length of the address
 * prefix including its space, or 0 when the line is not an address line.  The
 * function is one decimal digit (pciutils reads it with %d).
 */
static size_t
parse_addr(const char *s, size_t n, struct pci_addr *a)
{
    static const char *const pats[] = {"##:##.# ", "####:##:##.# ", "#####:##:##.# "};

    for (unsigned k = 0; k < 3; k++) {
        size_t plen = strlen(pats[k]);
        size_t dom = k == 0 ? 0 : (k == 1 ? 4 : 5);
        const char *p = s + (dom ? dom + 1 : 0);

        if (!matches(s, n, pats[k]) || !isdigit((unsigned char)p[6])) {
            continue;
        }
        memset(a, 0, sizeof(*a));
        a->has_domain = dom != 0;
        a->domain = hexn(s, dom);
        a->bus = (uint8_t)hexn(p, 2);
        a->dev = (uint8_t)hexn(p + 3, 2);
        a->fn = (uint8_t)(p[6] - '0');
        return plen;
    }
    return 0;
}

/* Length of a hex-line prefix "<2..8 hex digits>: ", or 0. */
static size_t
hex_prefix(const char *s, size_t n)
{
    size_t d = 0;

    while (d < n && d < 9 && isxdigit((unsigned char)s[d])) {
        d++;
    }
    if (d < 2 || d > 8 || d + 1 >= n || s[d] != ':' || s[d + 1] != ' ') {
        return 0;
    }
    return d;
}

/* Parser state. */
struct parser {
    const char *name;
    unsigned line;
    struct pci_dump *dump;
    struct pci_dump_func *cur; /* NULL outside a function */
    struct pcivirt_error *err;
};

static int
fail(struct parser *ps, int code, const char *field, const char *what)
{
    pcivirt_error_locate(ps->err, ps->name ? ps->name : "<dump>", ps->line, field);
    return pcivirt_error_set(ps->err, code, "%s:%u: %s", ps->name ? ps->name : "<dump>", ps->line, what);
}

/* Parse the bytes of a hex line at @s (after "xx: ") into the current function. */
static int
parse_hex_bytes(struct parser *ps, uint32_t off, const char *s, size_t n)
{
    size_t i = 0;

    while (i + 1 < n && isxdigit((unsigned char)s[i]) && isxdigit((unsigned char)s[i + 1]) &&
           (i + 2 == n || s[i + 2] == ' ')) {
        if (off >= 4096) {
            return fail(ps, PCIVIRT_ERANGE, "offset", "at most 4096 bytes of config space are supported");
        }
        ps->cur->bytes[off++] = (uint8_t)hexn(s + i, 2);
        if (off > ps->cur->len) {
            ps->cur->len = off;
        }
        i += 2;
        if (i < n) {
            i++;
        }
    }
    if (i < n) {
        char what[192];

        snprintf(what, sizeof(what),
                 "malformed hex line: '%c' after %zu characters of byte data (expected two "
                 "hex digits, then one space or the end of the line)",
                 isprint((unsigned char)s[i]) ? s[i] : '?', i);
        return fail(ps, PCIVIRT_EFORMAT, "hex byte", what);
    }
    return 0;
}

/* Start a new function at the address line. */
static int
start_function(struct parser *ps, const struct pci_addr *a, const char *desc, size_t dlen)
{
    struct pci_dump_func *f;
    char *d = pv_malloc(dlen + 1);
    int rc;

    if (d == NULL) {
        return fail(ps, PCIVIRT_ENOMEM, "function", "out of memory");
    }
    memcpy(d, desc, dlen);
    d[dlen] = '\0';
    /* A CR inside the text (only one before the newline is dropped) would not
     * survive our own export; the description carries no meaning for lspci. */
    for (char *c = strchr(d, '\r'); c != NULL; c = strchr(c, '\r')) {
        *c = ' ';
    }
    rc = pci_dump_add(ps->dump, a, NULL, NULL, 0);
    if (rc != 0) {
        pv_free(d);
        return fail(ps, rc, "function", "cannot add function");
    }
    f = ps->dump->funcs[ps->dump->count - 1];
    pv_free(f->desc);
    f->desc = d;
    f->line = ps->line;
    ps->cur = f;
    return 0;
}

/* Classify and handle one line (without its newline). */
static int
parse_line(struct parser *ps, const char *s, size_t n)
{
    struct pci_addr a;
    size_t k;

    if (n > 0 && s[n - 1] == '\r') {
        n--;
    }
    if (memchr(s, '\0', n) != NULL) {
        return fail(ps, PCIVIRT_EFORMAT, "line", "NUL character in line");
    }
    k = parse_addr(s, n, &a);
    if (k != 0) {
        return start_function(ps, &a, s + k, n - k);
    }
    if (n == 0) {
        ps->cur = NULL; /* an empty line ends the function */
        return 0;
    }
    k = hex_prefix(s, n);
    if (ps->cur == NULL || k == 0) {
        return 0; /* decoded text, or hex outside a function: ignored as lspci does */
    }
    return parse_hex_bytes(ps, hexn(s, k), s + k + 2, n - k - 2);
}

int
pci_dump_parse(const char *text, size_t len, const char *name, struct pci_dump **out, struct pcivirt_error *err)
{
    struct parser ps = {.name = name, .err = err};
    size_t pos = 0;
    int rc;

    if (out == NULL || (text == NULL && len != 0)) {
        return PCIVIRT_EINVAL;
    }
    *out = NULL;
    rc = pci_dump_create(&ps.dump);
    if (rc != 0) {
        return rc;
    }
    while (pos < len && rc == 0) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

        ps.line++;
        if (nl == NULL || n > DUMP_LINE_MAX) {
            rc = fail(&ps, PCIVIRT_EFORMAT, "line",
                      nl ? "line too long (more than 253 characters)" : "last line is not terminated by a newline");
            break;
        }
        rc = parse_line(&ps, text + pos, n);
        pos += n + 1;
    }
    if (rc != 0) {
        pci_dump_destroy(ps.dump);
        return rc;
    }
    *out = ps.dump;
    return 0;
}

int
pci_dump_load(const char *path, struct pci_dump **out, struct pcivirt_error *err)
{
    FILE *f;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;

    if (path == NULL || out == NULL) {
        return PCIVIRT_EINVAL;
    }
    *out = NULL;
    f = fopen(path, "rb");
    if (f == NULL) {
        pcivirt_error_locate(err, path, 0, "file");
        return pcivirt_error_set(err, PCIVIRT_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    for (;;) {
        if (len == cap) {
            char *nb;

            if (cap >= DUMP_FILE_MAX) {
                rc = PCIVIRT_ERANGE;
                pcivirt_error_locate(err, path, 0, "file");
                pcivirt_error_set(err, rc, "%s: larger than %u bytes", path, DUMP_FILE_MAX);
                goto out_free;
            }
            cap = cap ? cap * 2 : 65536;
            nb = pv_realloc(buf, cap);
            if (nb == NULL) {
                rc = pcivirt_error_set(err, PCIVIRT_ENOMEM, "%s: out of memory", path);
                goto out_free;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);

        len += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        pcivirt_error_locate(err, path, 0, "file");
        rc = pcivirt_error_set(err, PCIVIRT_EIO, "%s: read error", path);
        goto out_free;
    }
    rc = pci_dump_parse(buf, len, path, out, err);
out_free:
    pv_free(buf);
    fclose(f);
    return rc;
}

int
pci_dump_create(struct pci_dump **out)
{
    if (out == NULL) {
        return PCIVIRT_EINVAL;
    }
    *out = pv_calloc(1, sizeof(**out));
    return *out ? 0 : PCIVIRT_ENOMEM;
}

void
pci_dump_destroy(struct pci_dump *dump)
{
    if (dump == NULL) {
        return;
    }
    for (size_t i = 0; i < dump->count; i++) {
        pv_free(dump->funcs[i]->desc);
        pv_free(dump->funcs[i]);
    }
    pv_free(dump->funcs);
    pv_free(dump);
}

/* Make room for one more function pointer. */
static int
grow(struct pci_dump *dump)
{
    struct pci_dump_func **nf;
    size_t ncap;

    if (dump->count < dump->cap) {
        return 0;
    }
    ncap = dump->cap ? dump->cap * 2 : 8;
    nf = pv_realloc(dump->funcs, ncap * sizeof(*nf));
    if (nf == NULL) {
        return PCIVIRT_ENOMEM;
    }
    dump->funcs = nf;
    dump->cap = ncap;
    return 0;
}

int
pci_dump_add(struct pci_dump *dump, const struct pci_addr *addr, const char *desc, const uint8_t *bytes, uint32_t len)
{
    struct pci_dump_func *f;

    if (dump == NULL || addr == NULL || addr->fn > 9 || addr->domain > 0xfffff || len > 4096 ||
        (len && bytes == NULL)) {
        return PCIVIRT_EINVAL;
    }
    if (desc != NULL && (strpbrk(desc, "\r\n") != NULL || strlen(desc) > DUMP_LINE_MAX - 14)) {
        return PCIVIRT_EINVAL;
    }
    if (grow(dump) != 0) {
        return PCIVIRT_ENOMEM;
    }
    f = pv_malloc(sizeof(*f));
    if (f == NULL) {
        return PCIVIRT_ENOMEM;
    }
    f->desc = pv_strdup(desc ? desc : "");
    if (f->desc == NULL) {
        pv_free(f);
        return PCIVIRT_ENOMEM;
    }
    f->addr = *addr;
    f->addr.has_domain = addr->has_domain || addr->domain != 0;
    f->line = 0;
    f->len = len;
    memset(f->bytes, 0xff, sizeof(f->bytes));
    if (len) {
        memcpy(f->bytes, bytes, len);
    }
    dump->funcs[dump->count++] = f;
    return 0;
}

/* Append one function's text at @p; return the bytes written. */
static size_t
format_func(const struct pci_dump_func *f, char *p, size_t room)
{
    size_t n;

    if (f->addr.has_domain) {
        n = (size_t)snprintf(p, room, "%04x:%02x:%02x.%u %s\n", f->addr.domain, f->addr.bus, f->addr.dev, f->addr.fn,
                             f->desc);
    } else {
        n = (size_t)snprintf(p, room, "%02x:%02x.%u %s\n", f->addr.bus, f->addr.dev, f->addr.fn, f->desc);
    }
    for (uint32_t off = 0; off < f->len; off += 16) {
        n += (size_t)snprintf(p + n, room - n, "%02x:", off);
        for (uint32_t i = off; i < f->len && i < off + 16; i++) {
            n += (size_t)snprintf(p + n, room - n, " %02x", f->bytes[i]);
        }
        n += (size_t)snprintf(p + n, room - n, "\n");
    }
    n += (size_t)snprintf(p + n, room - n, "\n");
    return n;
}

int
pci_dump_export(const struct pci_dump *dump, char **out, size_t *out_len)
{
    size_t room = 1, n = 0;
    char *buf;

    if (dump == NULL || out == NULL) {
        return PCIVIRT_EINVAL;
    }
    for (size_t i = 0; i < dump->count; i++) {
        /* address line + 54 per 16-byte line (3-digit offset) + blank line */
        room += 16 + strlen(dump->funcs[i]->desc) + 2 + 54 * ((dump->funcs[i]->len + 15) / 16) + 1;
    }
    buf = pv_malloc(room);
    if (buf == NULL) {
        return PCIVIRT_ENOMEM;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < dump->count; i++) {
        n += format_func(dump->funcs[i], buf + n, room - n);
    }
    *out = buf;
    if (out_len != NULL) {
        *out_len = n;
    }
    return 0;
}

int
pci_dump_save(const struct pci_dump *dump, const char *path, struct pcivirt_error *err)
{
    char *text;
    size_t len;
    FILE *f;
    int rc = pci_dump_export(dump, &text, &len);

    if (rc != 0) {
        return pcivirt_error_set(err, rc, "cannot format dump");
    }
    pcivirt_error_locate(err, path, 0, "file");
    f = fopen(path, "wb");
    if (f == NULL) {
        rc = pcivirt_error_set(err, PCIVIRT_EIO, "%s: cannot create: %s", path, strerror(errno));
    } else {
        if (fwrite(text, 1, len, f) != len) {
            rc = pcivirt_error_set(err, PCIVIRT_EIO, "%s: write error: %s", path, strerror(errno));
        }
        if (fclose(f) != 0 && rc == 0) {
            rc = pcivirt_error_set(err, PCIVIRT_EIO, "%s: close error: %s", path, strerror(errno));
        }
    }
    pv_free(text);
    return rc;
}

void
pci_addr_format(const struct pci_addr *addr, char *buf, size_t size)
{
    snprintf(buf, size, "%04x:%02x:%02x.%x", addr->domain, addr->bus, addr->dev, addr->fn);
}
