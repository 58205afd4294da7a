/*
 * tests/host/tree.h - build sysfs-shaped trees in a temporary directory.
 *
 * The survey reads files only, so its tests build the same layout the kernel
 * shows (ROOT/sys/devices/pci0000:00/<bridge>/<bdf>/ with config, class, vendor,
 * device, resource, enable, msi_irqs/, iommu_group link; ROOT/sys/bus/pci/devices
 * links; ROOT/sys/kernel/iommu_groups; ROOT/sys/class/iommu) from real dumps in
 * ../shared/data.  Header-only so each test file can use it; every helper fails
 * the test on an I/O error rather than returning one.
 */
#ifndef PCIVIRT_TESTS_HOST_TREE_H
#define PCIVIRT_TESTS_HOST_TREE_H

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Paths here are short temporary names; truncation is checked by the writes failing. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

struct tree {
    char root[PATH_MAX];
};

static void
tree_mkdirs(const char *path)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

static void __attribute__((format(printf, 4, 0)))
tree_path(const struct tree *t, char *out, size_t cap, const char *fmt, va_list ap)
{
    char rel[PATH_MAX];

    vsnprintf(rel, sizeof(rel), fmt, ap);
    snprintf(out, cap, "%s/%s", t->root, rel);
}

static void __attribute__((format(printf, 4, 5)))
tree_write(const struct tree *t, const void *data, size_t len, const char *fmt, ...)
{
    char p[PATH_MAX], dir[PATH_MAX];
    va_list ap;
    FILE *f;

    va_start(ap, fmt);
    tree_path(t, p, sizeof(p), fmt, ap);
    va_end(ap);
    snprintf(dir, sizeof(dir), "%s", p);
    *strrchr(dir, '/') = '\0';
    tree_mkdirs(dir);
    f = fopen(p, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "tree_write %s: %s\n", p, strerror(errno));
        abort();
    }
    fclose(f);
}

#define tree_text(t, text, ...) tree_write((t), (text), strlen(text), __VA_ARGS__)

static void __attribute__((format(printf, 3, 4)))
tree_link(const struct tree *t, const char *target, const char *fmt, ...)
{
    char p[PATH_MAX], dir[PATH_MAX];
    va_list ap;

    va_start(ap, fmt);
    tree_path(t, p, sizeof(p), fmt, ap);
    va_end(ap);
    snprintf(dir, sizeof(dir), "%s", p);
    *strrchr(dir, '/') = '\0';
    tree_mkdirs(dir);
    if (symlink(target, p) != 0) {
        fprintf(stderr, "tree_link %s: %s\n", p, strerror(errno));
        abort();
    }
}

static void __attribute__((format(printf, 2, 3))) tree_dir(const struct tree *t, const char *fmt, ...)
{
    char p[PATH_MAX];
    va_list ap;

    va_start(ap, fmt);
    tree_path(t, p, sizeof(p), fmt, ap);
    va_end(ap);
    tree_mkdirs(p);
}

static void
tree_init(struct tree *t)
{
    snprintf(t->root, sizeof(t->root), "/tmp/pcivirt-survey-XXXXXX");
    if (mkdtemp(t->root) == NULL) {
        abort();
    }
    tree_dir(t, "sys/bus/pci/devices");
    tree_dir(t, "sys/devices/pci0000:00");
    tree_dir(t, "sys/kernel/iommu_groups");
    tree_dir(t, "sys/class/iommu");
}

/* Relative depth of "sys/devices/<parent>/<bdf>" seen from sys/bus/pci/devices. */
struct tree_fn {
    const char *parent; /* "pci0000:00" or "pci0000:00/0000:00:01.0" */
    const char *bdf;
    const unsigned char *cfg;
    size_t cfg_len;
    unsigned long class_code;
    unsigned vendor, device;
    const char *resource; /* text of the resource file, NULL: 13 zero lines */
    int enable;
    int msi_irqs; /* entries in msi_irqs/, -1: no directory */
};

static void
tree_add_fn(const struct tree *t, const struct tree_fn *f)
{
    char dir[PATH_MAX], target[PATH_MAX], num[64];
    static const char zero_line[] = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
    char zeros[sizeof(zero_line) * 13 + 1] = "";

    snprintf(dir, sizeof(dir), "sys/devices/%s/%s", f->parent, f->bdf);
    tree_write(t, f->cfg, f->cfg_len, "%s/config", dir);
    snprintf(num, sizeof(num), "0x%06lx\n", f->class_code);
    tree_text(t, num, "%s/class", dir);
    snprintf(num, sizeof(num), "0x%04x\n", f->vendor);
    tree_text(t, num, "%s/vendor", dir);
    snprintf(num, sizeof(num), "0x%04x\n", f->device);
    tree_text(t, num, "%s/device", dir);
    snprintf(num, sizeof(num), "%d\n", f->enable);
    tree_text(t, num, "%s/enable", dir);
    for (int i = 0; i < 13; i++) {
        strcat(zeros, zero_line);
    }
    tree_text(t, f->resource ? f->resource : zeros, "%s/resource", dir);
    for (int i = 0; i < f->msi_irqs; i++) {
        snprintf(num, sizeof(num), "%d", 40 + i);
        tree_text(t, "msi\n", "%s/msi_irqs/%s", dir, num);
    }
    /* sys/bus/pci/devices/<bdf> -> ../../../devices/<parent>/<bdf> */
    snprintf(target, sizeof(target), "../../../devices/%s/%s", f->parent, f->bdf);
    tree_link(t, target, "sys/bus/pci/devices/%s", f->bdf);
}

/* Put @bdf (its device directory under @parent) into IOMMU group @group. */
static void
tree_group(const struct tree *t, int group, const char *parent, const char *bdf)
{
    char target[PATH_MAX];
    int depth = 3; /* sys/devices/pciDDDD:BB/<bdf> below root: count the parent's slashes */

    for (const char *p = parent; *p; p++) {
        depth += *p == '/';
    }
    target[0] = '\0';
    for (int i = 0; i < depth; i++) {
        strcat(target, "../");
    }
    snprintf(target + strlen(target), sizeof(target) - strlen(target), "kernel/iommu_groups/%d", group);
    tree_link(t, target, "sys/devices/%s/%s/iommu_group", parent, bdf);
    snprintf(target, sizeof(target), "../../../../devices/%s/%s", parent, bdf);
    tree_link(t, target, "sys/kernel/iommu_groups/%d/devices/%s", group, bdf);
}

static int
tree_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
tree_destroy(struct tree *t)
{
    nftw(t->root, tree_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* PCIVIRT_TESTS_HOST_TREE_H */
