/*
 * tests/pci/test_caps_real.c - the finder on real hardware dumps, against lspci.
 *
 * For every function of every capture in ../shared/data/pciutils-tests, the
 * synthetic SR-IOV dumps and this machine's own dump, the capability chains our
 * walker finds (offsets, order, extended versions) must equal what the real
 * `lspci -vvv -F` lists.  Where lspci marks a chain "<chain looped>"/"<chain
 * broken>", our walker must report an error and agree on everything before it.
 * The raw sysfs config files of this machine are walked too and compared with
 * lspci's view of the same functions in the host dump.
 */
#include <dirent.h>

#include "lspci_oracle.h"
#include "pci/caps.h"
#include "pci/dump.h"

#define DATA PCIVIRT_SHARED_DIR "/data"

static unsigned checked_functions;
static unsigned checked_caps;

/* lspci prints every domain once any function has a non-zero one. */
static void
addr_key(const struct pci_addr *a, bool domains, char *buf, size_t size)
{
    if (domains) {
        snprintf(buf, size, "%04x:%02x:%02x.%u", a->domain, a->bus, a->dev, a->fn);
    } else {
        snprintf(buf, size, "%02x:%02x.%u", a->bus, a->dev, a->fn);
    }
}

/* Compare one chain kind of one function. */
static void
compare_chain(const char *file, const char *addr, bool ext, const uint8_t *cfg, size_t len, const struct lspci_cap *lc,
              unsigned ln)
{
    struct pci_cap_entry ours[PCI_CAP_EXT_MAX];
    struct pcivirt_error err = {0};
    unsigned n = 0, want = 0;
    int broken = 0;
    int rc = ext ? pci_cap_walk_ext(cfg, len, ours, PCI_CAP_EXT_MAX, &n, &err)
                 : pci_cap_walk_std(cfg, len, ours, PCI_CAP_EXT_MAX, &n, &err);
    struct lspci_cap theirs[PCI_CAP_EXT_MAX];

    for (unsigned i = 0; i < ln; i++) {
        if ((lc[i].version >= 0) == ext) {
            if (lc[i].broken) {
                broken = 1;
                break;
            }
            theirs[want++] = lc[i];
        }
    }
    if (broken ? rc == 0 : rc != 0) {
        fail_msg("%s %s %s chain: lspci %s, walker rc %d (%s)", file, addr, ext ? "extended" : "standard",
                 broken ? "reports a broken chain" : "walks it cleanly", rc, err.message);
    }
    if (n != want) {
        fail_msg("%s %s %s chain: walker found %u capabilities, lspci %u", file, addr, ext ? "extended" : "standard", n,
                 want);
    }
    for (unsigned i = 0; i < n; i++) {
        if (ours[i].offset != theirs[i].offset || (ext && ours[i].version != theirs[i].version)) {
            fail_msg("%s %s: capability %u at 0x%x v%u, lspci at 0x%x v%d", file, addr, i, ours[i].offset,
                     ours[i].version, theirs[i].offset, theirs[i].version);
        }
    }
    checked_caps += n;
}

static void
check_file(const char *path)
{
    struct pci_dump *d = NULL;
    struct pcivirt_error err = {0};
    struct lspci_out out;
    struct lspci_cap lc[PCI_CAP_EXT_MAX + PCI_CAP_STD_MAX];

    if (pci_dump_load(path, &d, &err) != 0) {
        fail_msg("%s: %s", path, err.message);
    }
    lspci_run("-vvv", path, &out);
    assert_int_equal(out.status, 0);
    assert_int_equal(out.n, d->count);
    bool domains = false;
    for (size_t i = 0; i < d->count; i++) {
        domains |= d->funcs[i]->addr.domain != 0;
    }
    for (size_t i = 0; i < d->count; i++) {
        const struct pci_dump_func *f = d->funcs[i];
        char key[24];
        unsigned nth = 0, ln;

        addr_key(&f->addr, domains, key, sizeof(key));
        for (size_t j = 0; j < i; j++) {
            nth += d->funcs[j]->addr.domain == f->addr.domain && d->funcs[j]->addr.bus == f->addr.bus &&
                   d->funcs[j]->addr.dev == f->addr.dev && d->funcs[j]->addr.fn == f->addr.fn;
        }
        const struct lspci_dev *ld = lspci_find(&out, key, nth);
        if (ld == NULL) {
            fail_msg("%s: lspci does not list %s", path, key);
        }
        ln = lspci_caps(ld, lc, PCI_CAP_EXT_MAX + PCI_CAP_STD_MAX);
        compare_chain(path, key, false, f->bytes, f->len, lc, ln);
        if (pci_cfg_has_ext(f->bytes, f->len)) {
            compare_chain(path, key, true, f->bytes, f->len, lc, ln);
        } else {
            for (unsigned k = 0; k < ln; k++) {
                assert_true(lc[k].version < 0); /* lspci gates extended caps the same way */
            }
        }
        checked_functions++;
    }
    lspci_free(&out);
    pci_dump_destroy(d);
}

static void
check_dir(const char *dir, const char *suffix)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    unsigned files = 0;

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL) {
        char path[4096];
        size_t n = strlen(e->d_name), s = strlen(suffix);

        if (e->d_name[0] == '.' || n < s || strcmp(e->d_name + n - s, suffix) != 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        check_file(path);
        files++;
    }
    closedir(dp);
    assert_true(files > 0);
}

static void
test_pciutils_captures_match_lspci(void **state)
{
    (void)state;
    checked_functions = checked_caps = 0;
    check_dir(DATA "/pciutils-tests", "");
    /* The captures hold well over a hundred functions and several hundred capabilities. */
    print_message("checked %u functions, %u capabilities\n", checked_functions, checked_caps);
    assert_true(checked_functions > 100);
    assert_true(checked_caps > 300);
}

static void
test_synthetic_and_host_dumps_match_lspci(void **state)
{
    (void)state;
    check_dir(DATA "/synthetic", ".dump");
    check_file(DATA "/this-host/lspci-xxxx.dump");
}

/* The raw sysfs config files of this machine walk like lspci's view of the host dump. */
static void
test_host_sysfs_config_files(void **state)
{
    static const char *const names[] = {"00:00.0", "00:01.0", "00:02.0", "00:03.0", "00:04.0", "00:05.0"};
    struct lspci_out out;
    struct lspci_cap lc[PCI_CAP_EXT_MAX];

    (void)state;
    lspci_run("-vvv", DATA "/this-host/lspci-xxxx.dump", &out);
    for (unsigned i = 0; i < 6; i++) {
        char path[512];
        uint8_t buf[4096];
        FILE *f;
        size_t len;
        const struct lspci_dev *ld = lspci_find(&out, names[i], 0);

        snprintf(path, sizeof(path), DATA "/this-host/config-0000:%s.bin", names[i]);
        f = fopen(path, "rb");
        assert_non_null(f);
        len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        assert_true(len == 256 || len == 4096);
        assert_non_null(ld);
        unsigned ln = lspci_caps(ld, lc, PCI_CAP_EXT_MAX);
        compare_chain(path, names[i], false, buf, len, lc, ln);
        if (pci_cfg_has_ext(buf, len)) {
            compare_chain(path, names[i], true, buf, len, lc, ln);
        }
    }
    lspci_free(&out);
}

int
main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pciutils_captures_match_lspci),
        cmocka_unit_test(test_synthetic_and_host_dumps_match_lspci),
        cmocka_unit_test(test_host_sysfs_config_files),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
