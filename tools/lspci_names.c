/*
 * tools/lspci_names.c - one pass over pci.ids answering a batch of lookups.
 *
 * The file's grammar (pci.ids header comment): "vvvv  name" starts a vendor,
 * "\tdddd  name" a device of it, "\t\tssss ssss  name" a subsystem of that
 * device; "C cc  name" starts a class, "\tss  name" a subclass, "\t\tpp  name" a
 * programming interface.  '#' lines are comments.  Anything else ends a section.
 */
#include "lspci_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum section { SEC_NONE, SEC_VENDOR, SEC_CLASS };

struct cursor {
    enum section sec;
    unsigned top; /* current vendor or class id */
    unsigned mid; /* current device or subclass id */
    bool mid_valid;
};

static void
copy_name(char *dst, const char *src)
{
    size_t n = strcspn(src, "\r\n");

    if (n >= LSPCI_NAME_MAX) {
        n = LSPCI_NAME_MAX - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Parse "<hex digits>  name": the id in @id, the name's start returned (NULL: not such a line). */
static const char *
parse_entry(const char *s, unsigned digits, unsigned *id)
{
    char *end;
    unsigned long v;

    for (unsigned i = 0; i < digits; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))) {
            return NULL;
        }
    }
    v = strtoul(s, &end, 16);
    if (end != s + digits || end[0] != ' ' || end[1] != ' ') {
        return NULL;
    }
    *id = (unsigned)v;
    return end + 2;
}

/* "ssss ssss  name" (subvendor, subdevice). */
static bool
parse_subsystem(const char *s, unsigned *a, unsigned *b, const char **name)
{
    char first[8];

    if (strlen(s) < 11 || s[4] != ' ') {
        return false;
    }
    memcpy(first, s, 4);
    strcpy(first + 4, "  ");
    if (parse_entry(first, 4, a) == NULL) {
        return false;
    }
    *name = parse_entry(s + 5, 4, b);
    return *name != NULL;
}

static void
vendor_line(const struct cursor *c, unsigned tabs, const char *s, struct lspci_ident *ids, size_t n)
{
    unsigned a, b;
    const char *name;

    for (size_t i = 0; i < n; i++) {
        struct lspci_ident *q = &ids[i];

        if (tabs == 0) {
            if (q->vendor == c->top && !q->vendor_name[0]) {
                copy_name(q->vendor_name, s);
            }
            if (q->subvendor == c->top && !q->subvendor_name[0]) {
                copy_name(q->subvendor_name, s);
            }
        } else if (tabs == 1 && q->vendor == c->top && q->device == c->mid && !q->device_name[0]) {
            copy_name(q->device_name, s);
        } else if (tabs == 2 && q->vendor == c->top && q->device == c->mid && parse_subsystem(s, &a, &b, &name) &&
                   a == q->subvendor && b == q->subdevice) {
            copy_name(q->subsystem_name, name);
        }
    }
}

static void
class_line(const struct cursor *c, unsigned tabs, unsigned id, const char *name, struct lspci_ident *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct lspci_ident *q = &ids[i];
        unsigned cls = q->class_code >> 16, sub = (q->class_code >> 8) & 0xff, pi = q->class_code & 0xff;

        if (cls != c->top) {
            continue;
        }
        if (tabs == 0) {
            copy_name(q->class_name, name);
        } else if (tabs == 1 && sub == id) {
            copy_name(q->subclass_name, name);
        } else if (tabs == 2 && sub == c->mid && pi == id) {
            copy_name(q->progif_name, name);
        }
    }
}

/* Interpret one line of the file, moving the cursor between sections. */
static void
one_line(struct cursor *c, const char *line, struct lspci_ident *ids, size_t n)
{
    unsigned tabs = 0, id;
    const char *s = line, *name;

    while (*s == '\t') {
        s++;
        tabs++;
    }
    if (*s == '#' || *s == '\n' || *s == '\0') {
        return;
    }
    if (tabs == 0 && s[0] == 'C' && s[1] == ' ' && (name = parse_entry(s + 2, 2, &id)) != NULL) {
        *c = (struct cursor){SEC_CLASS, id, 0, false};
        class_line(c, 0, id, name, ids, n);
    } else if (tabs == 0 && (name = parse_entry(s, 4, &id)) != NULL) {
        *c = (struct cursor){SEC_VENDOR, id, 0, false};
        vendor_line(c, 0, name, ids, n);
    } else if (tabs == 0) {
        c->sec = SEC_NONE;
    } else if (tabs == 1 && c->sec != SEC_NONE && (name = parse_entry(s, c->sec == SEC_VENDOR ? 4 : 2, &id)) != NULL) {
        c->mid = id;
        c->mid_valid = true;
        if (c->sec == SEC_VENDOR) {
            vendor_line(c, 1, name, ids, n);
        } else {
            class_line(c, 1, id, name, ids, n);
        }
    } else if (tabs == 2 && c->mid_valid && c->sec == SEC_VENDOR) {
        vendor_line(c, 2, s, ids, n);
    } else if (tabs == 2 && c->mid_valid && c->sec == SEC_CLASS && (name = parse_entry(s, 2, &id)) != NULL) {
        class_line(c, 2, id, name, ids, n);
    }
}

bool
lspci_names_resolve(const char *path, struct lspci_ident *ids, size_t n)
{
    struct cursor c = {SEC_NONE, 0, 0, false};
    char line[1024];
    FILE *f;

    for (size_t i = 0; i < n; i++) {
        ids[i].vendor_name[0] = ids[i].device_name[0] = ids[i].subvendor_name[0] = '\0';
        ids[i].subsystem_name[0] = ids[i].class_name[0] = ids[i].subclass_name[0] = '\0';
        ids[i].progif_name[0] = '\0';
    }
    f = path != NULL ? fopen(path, "r") : NULL;
    if (f == NULL) {
        return false;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        one_line(&c, line, ids, n);
    }
    fclose(f);
    return true;
}

void
lspci_name_device(const struct lspci_ident *id, char *buf, size_t size)
{
    if (id->vendor_name[0] && id->device_name[0]) {
        snprintf(buf, size, "%s %s", id->vendor_name, id->device_name);
    } else if (id->vendor_name[0]) {
        snprintf(buf, size, "%s Device %04x", id->vendor_name, id->device);
    } else {
        snprintf(buf, size, "Device %04x:%04x", id->vendor, id->device);
    }
}

void
lspci_name_class(const struct lspci_ident *id, char *buf, size_t size)
{
    unsigned cs = id->class_code >> 8;

    if (id->subclass_name[0]) {
        snprintf(buf, size, "%s", id->subclass_name);
    } else if (id->class_name[0]) {
        snprintf(buf, size, "%s [%04x]", id->class_name, cs);
    } else {
        snprintf(buf, size, "Class %04x", cs);
    }
}

/* lspci -nn (pciutils' PCI_LOOKUP_MIXED): the name, then the ids in brackets. */
void
lspci_name_device_nn(const struct lspci_ident *id, char *buf, size_t size)
{
    if (id->vendor_name[0] && id->device_name[0]) {
        snprintf(buf, size, "%s %s [%04x:%04x]", id->vendor_name, id->device_name, id->vendor, id->device);
    } else if (id->vendor_name[0]) {
        snprintf(buf, size, "%s Device [%04x:%04x]", id->vendor_name, id->vendor, id->device);
    } else {
        snprintf(buf, size, "Device [%04x:%04x]", id->vendor, id->device);
    }
}

void
lspci_name_class_nn(const struct lspci_ident *id, char *buf, size_t size)
{
    unsigned cs = id->class_code >> 8;

    if (id->subclass_name[0] || id->class_name[0]) {
        snprintf(buf, size, "%s [%04x]", id->subclass_name[0] ? id->subclass_name : id->class_name, cs);
    } else {
        snprintf(buf, size, "Class [%04x]", cs);
    }
}

void
lspci_name_subsystem(const struct lspci_ident *id, char *buf, size_t size)
{
    if (id->subvendor_name[0] && id->subsystem_name[0]) {
        snprintf(buf, size, "%s %s", id->subvendor_name, id->subsystem_name);
    } else if (id->subvendor_name[0]) {
        snprintf(buf, size, "%s Device %04x", id->subvendor_name, id->subdevice);
    } else {
        snprintf(buf, size, "Device %04x:%04x", id->subvendor, id->subdevice);
    }
}
