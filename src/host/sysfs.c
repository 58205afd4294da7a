/*
 * host/sysfs.c - bounded, root-relative reads of sysfs-shaped files.
 *
 * Everything here is a thin, defensive wrapper over open/read/readlink: short
 * reads are normal (sysfs answers an unprivileged config read with 64 bytes), a
 * record device (/dev/kmsg) is read without blocking until it has nothing more,
 * and link targets are resolved with realpath() and then checked to stay inside
 * the root, so a snapshot cannot make the survey read outside it by accident.
 */
#include "host/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

int
host_root_open(struct host_root *root, const char *dir)
{
    char real[PATH_MAX];

    if (realpath(dir, real) == NULL) {
        return errno;
    }
    if (strcmp(real, "/") == 0) {
        root->path[0] = '\0';
        return 0;
    }
    if (strlen(real) >= sizeof(root->path)) {
        return ENAMETOOLONG;
    }
    snprintf(root->path, sizeof(root->path), "%.*s", (int)sizeof(root->path) - 1, real);
    return 0;
}

int
host_path(const struct host_root *root, const char *rel, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", root->path, rel);

    return (n < 0 || (size_t)n >= cap) ? ENAMETOOLONG : 0;
}

int
host_read_bytes(const struct host_root *root, const char *rel, uint8_t *buf, size_t cap, size_t *got, size_t *size)
{
    char p[HOST_PATH_MAX];
    struct stat st;
    size_t n = 0;
    int fd, rc = host_path(root, rel, p, sizeof(p));

    *got = 0;
    if (rc != 0) {
        return rc;
    }
    fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return errno;
    }
    if (size != NULL) {
        *size = (fstat(fd, &st) == 0 && st.st_size > 0) ? (size_t)st.st_size : 0;
    }
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = errno;
            break;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    *got = n;
    return rc;
}

int
host_read_text(const struct host_root *root, const char *rel, char *buf, size_t cap)
{
    size_t got = 0;
    int rc;

    if (cap == 0) {
        return EINVAL;
    }
    rc = host_read_bytes(root, rel, (uint8_t *)buf, cap - 1, &got, NULL);
    buf[got] = '\0';
    if (rc != 0) {
        return rc;
    }
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' ')) {
        buf[--got] = '\0';
    }
    return 0;
}

int
host_read_long(const struct host_root *root, const char *rel, long *value)
{
    char buf[64], *end;
    int rc = host_read_text(root, rel, buf, sizeof(buf));

    if (rc != 0) {
        return rc;
    }
    errno = 0;
    *value = strtol(buf, &end, 0);
    if (errno != 0 || end == buf || (*end != '\0' && *end != '\n')) {
        return EINVAL;
    }
    return 0;
}

int
host_read_log(const struct host_root *root, const char *rel, size_t cap, char **out)
{
    char p[HOST_PATH_MAX];
    size_t n = 0;
    char *buf;
    int fd, rc = host_path(root, rel, p, sizeof(p));

    *out = NULL;
    if (rc != 0) {
        return rc;
    }
    fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return errno;
    }
    buf = pv_malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return ENOMEM;
    }
    while (n < cap) {
        /* /dev/kmsg hands out one record per read; EPIPE means a record was overwritten. */
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && (errno == EINTR || errno == EPIPE)) {
            continue;
        }
        if (r <= 0) {
            if (r < 0 && errno != EAGAIN && n == 0) {
                rc = errno;
            }
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (rc != 0) {
        pv_free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

int
host_resolve(const struct host_root *root, const char *rel, char *out, size_t cap)
{
    char p[HOST_PATH_MAX], real[PATH_MAX];
    size_t rl = strlen(root->path);
    int rc = host_path(root, rel, p, sizeof(p));

    if (rc != 0) {
        return rc;
    }
    if (realpath(p, real) == NULL) {
        return errno;
    }
    if (strncmp(real, root->path, rl) != 0 || (real[rl] != '/' && real[rl] != '\0')) {
        return EXDEV;
    }
    if (strlen(real + rl) >= cap) {
        return ENAMETOOLONG;
    }
    snprintf(out, cap, "%s", real + rl);
    return 0;
}

int
host_link_base(const struct host_root *root, const char *rel, char *out, size_t cap)
{
    char p[HOST_PATH_MAX], target[PATH_MAX];
    const char *base;
    ssize_t n;
    int rc = host_path(root, rel, p, sizeof(p));

    if (rc != 0) {
        return rc;
    }
    n = readlink(p, target, sizeof(target) - 1);
    if (n < 0) {
        return errno;
    }
    target[n] = '\0';
    while (n > 1 && target[n - 1] == '/') {
        target[--n] = '\0';
    }
    base = strrchr(target, '/');
    base = base != NULL ? base + 1 : target;
    if (strlen(base) >= cap) {
        return ENAMETOOLONG;
    }
    snprintf(out, cap, "%s", base);
    return 0;
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
host_list_dir(const struct host_root *root, const char *rel, char ***names, size_t *count)
{
    char p[HOST_PATH_MAX];
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    DIR *d;
    int rc = host_path(root, rel, p, sizeof(p));

    *names = NULL;
    *count = 0;
    if (rc != 0) {
        return rc;
    }
    d = opendir(p);
    if (d == NULL) {
        return errno;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = pv_realloc(v, ncap * sizeof(*v));
            if (nv == NULL) {
                goto fail_nomem;
            }
            v = nv;
            cap = ncap;
        }
        v[n] = pv_strdup(e->d_name);
        if (v[n] == NULL) {
            goto fail_nomem;
        }
        n++;
    }
    closedir(d);
    if (n > 1) {
        qsort(v, n, sizeof(*v), compare_names);
    }
    *names = v;
    *count = n;
    return 0;

fail_nomem:
    closedir(d);
    host_free_names(v, n);
    return ENOMEM;
}

void
host_free_names(char **names, size_t count)
{
    if (names == NULL) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        pv_free(names[i]);
    }
    pv_free(names);
}

bool
host_exists(const struct host_root *root, const char *rel)
{
    char p[HOST_PATH_MAX];
    struct stat st;

    return host_path(root, rel, p, sizeof(p)) == 0 && stat(p, &st) == 0;
}
