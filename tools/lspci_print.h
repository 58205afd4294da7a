/*
 * tools/lspci_print.h - the output forms of `pcivirt lspci`.
 *
 * Why it is shaped so.  Each form copies a convention someone already reads: the
 * listing, -n, -t and the -x/-xxx/-xxxx dumps are lspci's (byte for byte where
 * lspci has the same information, so `lspci -F` reads our dumps and prints the
 * same tree), --dot is Graphviz, --json is for scripts.  VFs are named the way
 * lspci names them on a live Linux host, where the kernel reports the PF's vendor
 * and the VF Device ID from the SR-IOV capability; their config bytes (in the hex
 * dumps) read Vendor/Device ffff as the hardware does (PCIe 9.3.4.1.1).
 *
 * A view holds the resolved names of the two identities (PF, VFs) so that a
 * listing of 65,535 VFs does not look anything up twice.
 */
#ifndef PCIVIRT_TOOLS_LSPCI_PRINT_H
#define PCIVIRT_TOOLS_LSPCI_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "lspci_model.h"
#include "lspci_names.h"

struct lspci_opts {
    unsigned numeric;     /* -n: 1 ids only; -nn: 2 names and ids */
    bool tree;            /* -t */
    bool verbose;         /* -v */
    bool dot;             /* --dot */
    bool json;            /* --json */
    unsigned hex;         /* 0, or 64 / 256 / 4096 bytes (-x / -xxx / -xxxx) */
    const char *ids_path; /* pci.ids; NULL: LSPCI_IDS_DEFAULT */
};

struct lspci_view {
    const struct lspci_model *m;
    const struct lspci_opts *o;
    struct lspci_ident id[2]; /* [0] the PF, [1] the VFs as Linux reports them */
    bool have_ids;            /* pci.ids was read */
};

/**
 * lspci_view_init() - read the identities from the device and resolve names.
 * Return: 0, or a device error code.
 */
int lspci_view_init(struct lspci_view *v, const struct lspci_model *m, const struct lspci_opts *o);

/* The identity of function @i (the PF's or the VFs'). */
const struct lspci_ident *lspci_view_ident(const struct lspci_view *v, size_t i);

/* lspci_print_list() - one line per function; -v details and -x dumps after it. Return: 0 or -1 (write error). */
int lspci_print_list(const struct lspci_view *v, FILE *out);

/* lspci_print_tree() - the tree of lspci -t for these functions.  Return: 0 or -1. */
int lspci_print_tree(const struct lspci_view *v, FILE *out);

/*
 * lspci_print_list_n(), lspci_print_tree_n() - the same for the functions of
 * @n devices together (a scenario's topology), in (segment, routing ID) order
 * and with their buses merged, as lspci shows one machine.  Return: 0 or -1.
 */
int lspci_print_list_n(const struct lspci_view *v, size_t n, FILE *out);
int lspci_print_tree_n(const struct lspci_view *v, size_t n, FILE *out);

/* lspci_print_dot() - PF -> VF (-> VM holding it) as a Graphviz digraph.  Return: 0 or -1. */
int lspci_print_dot(const struct lspci_view *v, FILE *out);
/* lspci_print_dot_n() - @n devices in one graph (VM nodes shared).  Return: 0 or -1. */
int lspci_print_dot_n(const struct lspci_view *v, size_t n, FILE *out);

/* lspci_print_json() - everything as one JSON document (docs/CLI.md).  Return: 0 or -1. */
int lspci_print_json(const struct lspci_view *v, FILE *out);

#endif /* PCIVIRT_TOOLS_LSPCI_PRINT_H */
