/*
 * host/sysfs.h - bounded, root-relative reads of sysfs-shaped files.
 *
 * The survey runs against the live "/" and against captured snapshots, so every
 * path is relative to a root and every read is bounded (sysfs attributes are at
 * most a page; config space at most 4 KiB; a kernel log is capped).  Functions
 * report errno-style failures to the caller, which turns them into "could not see"
 * notes: in the survey an unreadable file is a fact about the run, not an error.
 */
#ifndef PCIVIRT_HOST_SYSFS_H
#define PCIVIRT_HOST_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_PATH_MAX 1024

/* A root directory: "" for the live "/" (so paths stay "/sys/..."), else its realpath. */
struct host_root {
    char path[HOST_PATH_MAX];
};

/**
 * host_root_open() - resolve @dir into @root.
 * Return: 0, or a positive errno (ENOENT, ENAMETOOLONG, ...).
 */
int host_root_open(struct host_root *root, const char *dir);

/**
 * host_path() - ROOT + @rel (rel starts with '/') into @out.
 * Return: 0, or ENAMETOOLONG.
 */
int host_path(const struct host_root *root, const char *rel, char *out, size_t cap);

/**
 * host_read_text() - read a small text file (at most @cap - 1 bytes, NUL-terminated,
 * trailing newline removed).
 * Return: 0, or a positive errno.
 */
int host_read_text(const struct host_root *root, const char *rel, char *buf, size_t cap);

/**
 * host_read_long() - read a file holding one integer (decimal or 0x hex).
 * Return: 0, a positive errno, or EINVAL when the text is not a number.
 */
int host_read_long(const struct host_root *root, const char *rel, long *value);

/**
 * host_read_bytes() - read up to @cap bytes of a binary file.
 * @got: bytes read.  @size: the file's st_size (sysfs reports the full config
 *       size even when an unprivileged read stops at 64 bytes).
 * Return: 0, or a positive errno.
 */
int host_read_bytes(const struct host_root *root, const char *rel, uint8_t *buf, size_t cap, size_t *got, size_t *size);

/**
 * host_read_log() - read a text file or a record device such as /dev/kmsg,
 * without blocking, up to @cap bytes (the rest is dropped).
 * @out: receives a NUL-terminated pv_malloc() buffer.
 * Return: 0, or a positive errno.
 */
int host_read_log(const struct host_root *root, const char *rel, size_t cap, char **out);

/**
 * host_resolve() - resolve the symbolic links of ROOT+@rel and give the result
 * relative to the root ("/sys/devices/...").
 * Return: 0, a positive errno, or EXDEV when the target leaves the root.
 */
int host_resolve(const struct host_root *root, const char *rel, char *out, size_t cap);

/**
 * host_link_base() - the last component of the target of the link ROOT+@rel.
 * Return: 0, or a positive errno.
 */
int host_link_base(const struct host_root *root, const char *rel, char *out, size_t cap);

/**
 * host_list_dir() - the entries of ROOT+@rel (no "." or ".."), sorted.
 * @names: receives a pv_malloc() array of pv_strdup() strings, freed by host_free_names().
 * Return: 0, a positive errno, or ENOMEM.
 */
int host_list_dir(const struct host_root *root, const char *rel, char ***names, size_t *count);

/* host_free_names() - free what host_list_dir() returned. */
void host_free_names(char **names, size_t count);

/* host_exists() - whether ROOT+@rel exists (links followed). */
bool host_exists(const struct host_root *root, const char *rel);

#endif /* PCIVIRT_HOST_SYSFS_H */
