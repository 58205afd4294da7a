/*
 * pci/dump.h - config dumps in the text format of `lspci -xxxx`, read by `lspci -F`.
 *
 * Why it is shaped so.  The dump text is the project's interchange format with
 * the outside world: real hardware captures (../shared/data) become device
 * profiles, and everything the model builds is exported so the real lspci can
 * decode it as an independent oracle.  The reader therefore accepts exactly the
 * grammar pciutils' dump reader accepts (facts from pciutils lib/dump.c and the
 * probes in ../shared/data/synthetic/format-cases):
 *
 *  - a function starts with "BB:DD.F " or "DDDD:BB:DD.F " (also a 5-digit
 *    domain): two hex digits for bus and device, one decimal digit 0-9 for the
 *    function, and a space (the description after it is kept but not needed);
 *  - a hex line is 2 to 8 hex digits, ": ", then bytes "xx" separated by single
 *    spaces (any count; the offset continues across the line, later lines may
 *    overwrite earlier bytes); the offset must stay below 4096;
 *  - an empty line ends the function, so hex lines after it are ignored; every
 *    other line (the decoded text of lspci -vvv) is ignored;
 *  - CR before LF is dropped; a line of 254 characters or more, or a last line
 *    without a newline, is an error;
 *  - bytes never given read 0xff; a function's length is its highest given
 *    offset + 1 (lspci refuses to read beyond it).
 *
 * lspci's errors are "Malformed line", "line too long or unterminated" and "At
 * most 4096 bytes"; ours name the input, the 1-based line and the field.  A
 * function with no hex line is kept with length 0 (lspci lists it as ffff:ffff).
 *
 * The writer prints what lspci -xxxx prints: the address ("%02x:%02x.%x", with
 * "%04x:" in front when the function has a domain), a space and the description,
 * then "%02x:" offset lines of 16 bytes, and an empty line after each function.
 * Parsing what we export gives back the same bytes, and exporting that again the
 * same text (tests/pci/test_dump.c).
 */
#ifndef PCIVIRT_PCI_DUMP_H
#define PCIVIRT_PCI_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/error.h"

/* A function address as the dump spells it (values as parsed; dev may exceed 31). */
struct pci_addr {
    uint32_t domain; /* up to 5 hex digits in the dump */
    uint8_t bus;
    uint8_t dev;
    uint8_t fn;      /* 0..9 in the dump grammar */
    bool has_domain; /* the dump line spelled the domain */
};

/* One function of a dump. */
struct pci_dump_func {
    struct pci_addr addr;
    unsigned line;       /* 1-based line of the address line (0 when built in memory) */
    char *desc;          /* the text after "addr " (never NULL) */
    uint32_t len;        /* bytes given: highest offset + 1, 0..4096 */
    uint8_t bytes[4096]; /* 0xff where not given */
};

/* A parsed or built dump: functions in file order (duplicates kept, as lspci does). */
struct pci_dump {
    size_t count;
    size_t cap;
    struct pci_dump_func **funcs;
};

/**
 * pci_dump_parse() - parse dump text.
 * @text, @len: the text (need not be NUL-terminated).
 * @name: the input's name for errors (a path, "<stdin>"); may be NULL.
 * @out: receives the dump (destroy with pci_dump_destroy()).
 * @err: on error: where = @name, line, field ("line", "hex byte", "offset") and
 *       a message saying what was wrong.
 *
 * Return: 0; PCIVIRT_EFORMAT (malformed hex line, line too long or unterminated);
 * PCIVIRT_ERANGE (an offset at or past 4096); PCIVIRT_EINVAL (NULL arguments);
 * PCIVIRT_ENOMEM.  Nothing is returned in @out on error.
 */
int pci_dump_parse(const char *text, size_t len, const char *name, struct pci_dump **out, struct pcivirt_error *err);

/**
 * pci_dump_load() - read and parse a file (at most 64 MiB).
 * Return: as pci_dump_parse(), plus PCIVIRT_EIO (cannot open/read, errno text in
 * the message) and PCIVIRT_ERANGE for a larger file.
 */
int pci_dump_load(const char *path, struct pci_dump **out, struct pcivirt_error *err);

/* pci_dump_create() - an empty dump to fill with pci_dump_add().  Return: 0 or
 * PCIVIRT_ENOMEM / PCIVIRT_EINVAL. */
int pci_dump_create(struct pci_dump **out);

/* pci_dump_destroy() - free a dump; accepts NULL. */
void pci_dump_destroy(struct pci_dump *dump);

/**
 * pci_dump_add() - append a function.
 * @addr: its address (fn 0..9 and domain <= 0xfffff so the text reads back).
 * @desc: description (may be NULL: empty; must not contain a newline).
 * @bytes, @len: 0..4096 config bytes (usually 64, 256 or 4096).
 *
 * Return: 0; PCIVIRT_EINVAL (bad address, length or description); PCIVIRT_ENOMEM.
 */
int pci_dump_add(struct pci_dump *dump, const struct pci_addr *addr, const char *desc, const uint8_t *bytes,
                 uint32_t len);

/**
 * pci_dump_export() - the dump as lspci -xxxx text.
 * @out, @out_len: receive a NUL-terminated pv_malloc'd string and its length
 *                 (free with pv_free()).
 * Return: 0; PCIVIRT_EINVAL; PCIVIRT_ENOMEM.
 */
int pci_dump_export(const struct pci_dump *dump, char **out, size_t *out_len);

/* pci_dump_save() - export into a file.  Return: 0; PCIVIRT_EIO with the errno text
 * in @err; PCIVIRT_ENOMEM. */
int pci_dump_save(const struct pci_dump *dump, const char *path, struct pcivirt_error *err);

/* pci_addr_format() - "%04x:%02x:%02x.%x" (STYLE rule 14) into @buf (>= 16 bytes). */
void pci_addr_format(const struct pci_addr *addr, char *buf, size_t size);

#endif /* PCIVIRT_PCI_DUMP_H */
