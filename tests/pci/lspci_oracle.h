/*
 * tests/pci/lspci_oracle.h - run the real lspci on a dump and split its output.
 *
 * lspci (pciutils, a build dependency) is the independent oracle for the finder,
 * the dump reader and everything the model exports.  This header runs
 * `lspci ARGS -F FILE`, keeps stdout (stderr carries a harmless libkmod warning on
 * this machine), splits it into one block per device and pulls the capability
 * offsets out of the "Capabilities: [...]" lines.  Test-only code: plain malloc,
 * fail fast with cmocka asserts.
 */
#ifndef PCIVIRT_TESTS_PCI_LSPCI_ORACLE_H
#define PCIVIRT_TESTS_PCI_LSPCI_ORACLE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct lspci_dev {
    char addr[24]; /* as lspci prints it: "03:00.0" or "0001:03:00.0" */
    char *body;    /* the device's lines, header included */
};

struct lspci_out {
    int status; /* exit status of lspci */
    size_t n;
    struct lspci_dev *dev;
};

/* One capability line as lspci printed it. */
struct lspci_cap {
    unsigned offset;
    int version; /* -1 for standard capabilities */
    int broken;  /* "<chain looped>", "<chain broken>" or "<unreadable>" */
};

static inline void
lspci_free(struct lspci_out *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->dev[i].body);
    }
    free(o->dev);
    memset(o, 0, sizeof(*o));
}

static inline void
lspci_add_line(struct lspci_out *o, const char *line)
{
    if (line[0] != '\t' && line[0] != '\n' && line[0] != ' ') {
        o->dev = realloc(o->dev, (o->n + 1) * sizeof(*o->dev));
        assert_non_null(o->dev);
        memset(&o->dev[o->n], 0, sizeof(o->dev[o->n]));
        sscanf(line, "%23s", o->dev[o->n].addr);
        o->dev[o->n].body = calloc(1, 1);
        o->n++;
    }
    if (o->n == 0) {
        return;
    }
    struct lspci_dev *d = &o->dev[o->n - 1];
    size_t a = strlen(d->body), b = strlen(line);
    d->body = realloc(d->body, a + b + 1);
    assert_non_null(d->body);
    memcpy(d->body + a, line, b + 1);
}

/* Run `lspci @args -F @path`; stdout split by device. */
static inline void
lspci_run(const char *args, const char *path, struct lspci_out *o)
{
    char cmd[4200], line[8192];
    FILE *p;

    memset(o, 0, sizeof(*o));
    snprintf(cmd, sizeof(cmd), "lspci %s -F '%s' 2>/dev/null", args, path);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        lspci_add_line(o, line);
    }
    o->status = pclose(p);
}

/* The device block whose address is @addr (the @nth with that address), or NULL. */
static inline const struct lspci_dev *
lspci_find(const struct lspci_out *o, const char *addr, unsigned nth)
{
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->dev[i].addr, addr) == 0 && nth-- == 0) {
            return &o->dev[i];
        }
    }
    return NULL;
}

/* Capability lines of a device block, in order; returns the count (<= max). */
static inline unsigned
lspci_caps(const struct lspci_dev *d, struct lspci_cap *out, unsigned max)
{
    unsigned n = 0;
    const char *s;

    if (d == NULL) {
        return 0;
    }
    s = d->body;

    while ((s = strstr(s, "\tCapabilities: [")) != NULL && n < max) {
        unsigned off = 0;
        int ver = -1;
        const char *eol = strchr(s, '\n');
        const char *p = s + strlen("\tCapabilities: [");

        if (sscanf(p, "%x v%d]", &off, &ver) < 1) {
            s = p;
            continue;
        }
        out[n].offset = off;
        out[n].version = strchr(p, ']') && memchr(p, 'v', (size_t)(strchr(p, ']') - p)) ? ver : -1;
        out[n].broken = 0;
        for (const char *q = p; q && *q && (eol == NULL || q < eol); q++) {
            if (*q == '<' && (strncmp(q, "<chain", 6) == 0 || strncmp(q, "<unreadable", 11) == 0)) {
                out[n].broken = 1;
            }
        }
        n++;
        s = p;
    }
    return n;
}

/* Whether @line (a substring) appears in the device block. */
static inline int
lspci_has(const struct lspci_dev *d, const char *text)
{
    return d != NULL && strstr(d->body, text) != NULL;
}

#endif /* PCIVIRT_TESTS_PCI_LSPCI_ORACLE_H */
