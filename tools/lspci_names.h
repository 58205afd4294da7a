/*
 * tools/lspci_names.h - vendor, device and class names from pciutils' pci.ids.
 *
 * Why it is shaped so.  `pcivirt lspci` prints names the way lspci does, but the
 * name database is not ours to ship: pciutils installs /usr/share/misc/pci.ids and
 * we read it at run time when it is there.  A device shows at most two identity
 * tuples (its PF and its VFs), so instead of loading 1.3 MB into a table we answer
 * a small batch of queries in one pass over the file.  When the file is missing
 * every name stays empty and the callers fall back to numbers exactly as lspci
 * does without a database ("Class 0200: Device 8086:10c9").
 *
 * The fallbacks mirror lspci 3.9.0's (checked against `lspci -F` in
 * tests/cli/test_lspci.c): a vendor without the device gives "Vendor Device dddd",
 * an unknown vendor "Device vvvv:dddd"; a known class without the subclass gives
 * "Class name [ccss]", an unknown class "Class ccss".
 */
#ifndef PCIVIRT_TOOLS_LSPCI_NAMES_H
#define PCIVIRT_TOOLS_LSPCI_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LSPCI_IDS_DEFAULT "/usr/share/misc/pci.ids"
#define LSPCI_NAME_MAX 160

/* One identity to name: ids in, names out ("" when pci.ids has none). */
struct lspci_ident {
    uint16_t vendor, device, subvendor, subdevice;
    uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
    char vendor_name[LSPCI_NAME_MAX];
    char device_name[LSPCI_NAME_MAX];
    char subvendor_name[LSPCI_NAME_MAX];
    char subsystem_name[LSPCI_NAME_MAX];
    char class_name[LSPCI_NAME_MAX];
    char subclass_name[LSPCI_NAME_MAX];
    char progif_name[LSPCI_NAME_MAX];
};

/**
 * lspci_names_resolve() - fill the names of @n identities from the pci.ids file
 * at @path in one pass.
 * Return: true when the file was read; false when it could not be opened (every
 * name is then empty, which is not an error: lspci -n output results).
 */
bool lspci_names_resolve(const char *path, struct lspci_ident *ids, size_t n);

/* lspci_name_device() - "Vendor Device" with lspci's fallbacks, into @buf. */
void lspci_name_device(const struct lspci_ident *id, char *buf, size_t size);

/* lspci_name_class() - the class as lspci's default listing prints it. */
void lspci_name_class(const struct lspci_ident *id, char *buf, size_t size);

/* lspci_name_device_nn(), lspci_name_class_nn() - the same as lspci -nn shows them: "Name [8086:10fb]". */
void lspci_name_device_nn(const struct lspci_ident *id, char *buf, size_t size);
void lspci_name_class_nn(const struct lspci_ident *id, char *buf, size_t size);

/* lspci_name_subsystem() - the "Subsystem:" text of lspci -v. */
void lspci_name_subsystem(const struct lspci_ident *id, char *buf, size_t size);

#endif /* PCIVIRT_TOOLS_LSPCI_NAMES_H */
