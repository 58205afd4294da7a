/*
 * tests/pci/test_config.c - the mask model and the single write path.
 *
 * The expected values are computed independently of the engine: a plain
 * reference merge (QEMU's rule, written out again here) over shadow arrays,
 * and hand-derived register values from the PCI specification.  The exhaustive
 * test walks every offset with every length 1..4 (and beyond the end) and checks
 * each answer against that shadow model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pci/config.h"
#include "pci/regs.h"
#include "util/alloc.h"

static struct pci_layout *
make_layout(uint32_t size)
{
    struct pci_layout *l = NULL;

    assert_int_equal(pci_layout_create(size, &l), 0);
    return l;
}

static void
test_layout_create_rejects_bad_sizes(void **state)
{
    struct pci_layout *l = (struct pci_layout *)1;

    (void)state;
    assert_int_equal(pci_layout_create(128, &l), PCIVIRT_EINVAL);
    assert_null(l);
    assert_int_equal(pci_layout_create(4095, &l), PCIVIRT_EINVAL);
    assert_int_equal(pci_layout_create(256, NULL), PCIVIRT_EINVAL);
    pci_layout_unref(NULL);
    pci_config_fini(NULL);
    pci_config_destroy(NULL);
}

/* RO bits keep their value, RW bits take the new one, W1C bits clear on 1. */
static void
test_ro_rw_w1c_merge(void **state)
{
    struct pci_layout *l = make_layout(256);
    struct pci_config cfg;
    uint32_t v;

    (void)state;
    assert_int_equal(pci_layout_set(l, 0x40, 4, 0xa5a5f0f0u), 0);
    assert_int_equal(pci_layout_set_wmask(l, 0x40, 4, 0x0000ff00u), 0);
    assert_int_equal(pci_layout_set_w1cmask(l, 0x40, 4, 0x00f00000u | 0x000000f0u), 0);
    pci_config_init(&cfg, l, NULL);
    /* byte0: W1C 0xf0 with value 0xf0 written 0x30: clears 0x30 -> 0xc0.
     * byte1: RW: takes 0x12.  byte2: W1C nibble 0xf0 of 0xa5 written 0xff -> 0x05.
     * byte3: RO 0xa5. */
    assert_int_equal(pci_config_write(&cfg, 0x40, 4, 0x00ff1230u, NULL), 0);
    assert_int_equal(pci_config_read(&cfg, 0x40, 4, &v), 0);
    assert_int_equal(v, 0xa50512c0u);
    /* Writing 0 to W1C bits leaves them. */
    assert_int_equal(pci_config_write(&cfg, 0x40, 1, 0x00, NULL), 0);
    assert_int_equal(pci_config_read(&cfg, 0x40, 1, &v), 0);
    assert_int_equal(v, 0xc0);
    /* Setting a bit writable clears its W1C-ness (never both). */
    assert_int_equal(pci_layout_set_wmask(l, 0x40, 1, 0x80), 0);
    assert_int_equal(pci_layout_w1cmask(l)[0x40], 0x70);
    pci_config_fini(&cfg);
    pci_layout_unref(l);
}

/* Copy on write: an untouched function holds no bytes; a no-op write allocates nothing. */
static void
test_copy_on_write(void **state)
{
    struct pci_layout *l = make_layout(4096);
    struct pci_config a, b;
    uint32_t v;

    (void)state;
    pci_layout_set(l, 0x04, 2, 0x0000);
    pci_layout_set_wmask(l, 0x04, 2, 0x0006);
    pci_layout_set(l, 0x00, 4, 0x10fb8086u);
    pci_config_init(&a, l, NULL);
    pci_config_init(&b, l, NULL);
    assert_true(sizeof(struct pci_config) <= 32);
    assert_int_equal(pci_config_private_bytes(&a), 0);
    /* Read-only target: no allocation. */
    assert_int_equal(pci_config_write(&a, 0x00, 4, 0xffffffffu, NULL), 0);
    assert_int_equal(pci_config_private_bytes(&a), 0);
    /* Same value again: no allocation. */
    assert_int_equal(pci_config_write(&a, 0x04, 2, 0x0000, NULL), 0);
    assert_int_equal(pci_config_private_bytes(&a), 0);
    /* A changing write copies; the other function still sees the template. */
    assert_int_equal(pci_config_write(&a, 0x04, 2, 0x0006, NULL), 0);
    assert_int_equal(pci_config_private_bytes(&a), 4096);
    assert_int_equal(pci_config_read(&b, 0x04, 2, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(pci_config_read(&a, 0x04, 2, &v), 0);
    assert_int_equal(v, 6);
    assert_int_equal(pci_config_read(&a, 0x00, 4, &v), 0);
    assert_int_equal(v, 0x10fb8086u);
    /* Reset returns to the template. */
    pci_config_reset(&a);
    assert_int_equal(pci_config_private_bytes(&a), 0);
    assert_int_equal(pci_config_read(&a, 0x04, 2, &v), 0);
    assert_int_equal(v, 0);
    /* Poke ignores masks, stays shared when equal to the template. */
    assert_int_equal(pci_config_poke(&b, 0x00, 2, 0x8086), 0);
    assert_int_equal(pci_config_private_bytes(&b), 0);
    assert_int_equal(pci_config_poke(&b, 0x00, 2, 0xffff), 0);
    assert_int_equal(pci_config_read(&b, 0x00, 4, &v), 0);
    assert_int_equal(v, 0x10fbffffu);
    pci_config_fini(&a);
    pci_config_fini(&b);
    pci_layout_unref(l);
}

/* An allocation failure on copy-on-write leaves the function unchanged and runs no hook. */
static int hook_calls;

static int
count_hook(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    hook_calls++;
    return 0;
}

static void
test_cow_allocation_failure(void **state)
{
    struct pci_layout *l = make_layout(256);
    struct pci_config cfg;
    uint32_t v;

    (void)state;
    pci_layout_set_wmask(l, 0x40, 4, 0xffffffffu);
    assert_int_equal(pci_layout_add_hook(l, 0x40, 4, count_hook, NULL), 0);
    pci_config_init(&cfg, l, NULL);
    hook_calls = 0;
    pv_alloc_fail_after(0, 1);
    assert_int_equal(pci_config_write(&cfg, 0x40, 4, 0x12345678u, NULL), PCIVIRT_ENOMEM);
    pv_alloc_fail_after(-1, 0);
    assert_int_equal(hook_calls, 0);
    assert_int_equal(pci_config_read(&cfg, 0x40, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(pci_config_write(&cfg, 0x40, 4, 0x12345678u, NULL), 0);
    assert_int_equal(hook_calls, 1);
    pci_config_fini(&cfg);
    pci_layout_unref(l);
}

/* ---- hooks ------------------------------------------------------------------------- */

struct hook_log {
    char order[32];
    unsigned n;
    uint32_t seen_new; /* value of the hooked dword when the hook ran */
    uint32_t seen_old;
    uint32_t seen_written;
};

static int
hook_a(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct hook_log *log = pci_config_owner(cfg);
    uint32_t v;

    log->order[log->n++] = *(const char *)opaque;
    pci_config_read(cfg, ev->hook_offset, 4, &v);
    log->seen_new = v;
    log->seen_old = pci_hook_old(ev, cfg, ev->hook_offset, 4);
    log->seen_written = pci_hook_written(ev, ev->hook_offset, 4);
    return 0;
}

static int
hook_refuse(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    struct hook_log *log = pci_config_owner(cfg);

    log->order[log->n++] = *(const char *)opaque;
    return pcivirt_error_set(err, PCIVIRT_ESTATE, "refused by %c", *(const char *)opaque);
}

static void
test_hooks_run_after_merge_in_offset_order(void **state)
{
    struct pci_layout *l = make_layout(256);
    struct pci_config cfg;
    struct hook_log log = {0};
    struct pcivirt_error err = {0};
    static char A = 'A', B = 'B', C = 'C', D = 'D';

    (void)state;
    pci_layout_set(l, 0x48, 4, 0x11110000u);
    pci_layout_set_wmask(l, 0x48, 4, 0x0000ffffu);
    /* Registered out of order: C at 0x50, A at 0x48, B at 0x48 (after A), D at 0x60. */
    assert_int_equal(pci_layout_add_hook(l, 0x50, 4, hook_a, &C), 0);
    assert_int_equal(pci_layout_add_hook(l, 0x48, 4, hook_a, &A), 0);
    assert_int_equal(pci_layout_add_hook(l, 0x48, 2, hook_refuse, &B), 0);
    assert_int_equal(pci_layout_add_hook(l, 0x60, 4, hook_a, &D), 0);
    assert_int_equal(pci_layout_add_hook(l, 0xfe, 4, hook_a, &D), PCIVIRT_ERANGE);
    assert_int_equal(pci_layout_add_hook(l, 0x40, 4, NULL, NULL), PCIVIRT_EINVAL);
    pci_config_init(&cfg, l, &log);

    /* A 2-byte write at 0x4b..0x4c? Use a byte run 0x48..0x53 touching A, B, C. */
    uint8_t run[12] = {0x34, 0x12, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(pci_config_write_bytes(&cfg, 0x48, run, sizeof(run), &err), PCIVIRT_ESTATE);
    assert_string_equal(err.message, "refused by B");
    assert_int_equal(log.n, 3);
    assert_memory_equal(log.order, "ABC", 3);
    /* Hook A saw merged bytes (RO upper half kept), the old value and the raw write. */
    /* The last hook to record was C (0x50), so check A through a separate write. */
    log.n = 0;
    assert_int_equal(pci_config_write(&cfg, 0x4a, 2, 0xffff, NULL), 0);
    assert_int_equal(log.n, 1); /* only A overlaps 0x4a..0x4b (B covers 0x48..0x49) */
    assert_int_equal(log.order[0], 'A');
    assert_int_equal(log.seen_new, 0x11111234u);
    assert_int_equal(log.seen_old, 0x11111234u);
    assert_int_equal(log.seen_written, 0xffff0000u);
    log.n = 0;
    assert_int_equal(pci_config_write(&cfg, 0x48, 1, 0x99, NULL), PCIVIRT_ESTATE);
    assert_memory_equal(log.order, "AB", 2);
    assert_int_equal(log.seen_new, 0x11111299u);
    assert_int_equal(log.seen_old, 0x11111234u);
    /* No overlap: no hook. */
    log.n = 0;
    assert_int_equal(pci_config_write(&cfg, 0x54, 4, 1, NULL), 0);
    assert_int_equal(log.n, 0);
    pci_config_fini(&cfg);
    pci_layout_unref(l);
}

/* ---- every offset and length has a defined answer -------------------------------------- */

/* The reference merge, independent of the engine's code. */
static void
shadow_write(uint8_t *sh, const uint8_t *wm, const uint8_t *w1c, uint32_t off, unsigned len, uint32_t val)
{
    for (unsigned i = 0; i < len; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i));
        uint8_t keep = sh[off + i] & (uint8_t)~wm[off + i];
        uint8_t next = (uint8_t)(keep | (b & wm[off + i]));

        sh[off + i] = (uint8_t)(next & ~(b & w1c[off + i]));
    }
}

static void
exhaustive(uint32_t size)
{
    struct pci_layout *l = make_layout(size);
    struct pci_config cfg;
    uint8_t shadow[4096], wm[4096], w1c[4096];
    uint32_t seed = 12345;

    for (uint32_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        shadow[i] = (uint8_t)(seed >> 16);
        wm[i] = (uint8_t)(seed >> 8);
        w1c[i] = (uint8_t)(~wm[i] & (seed >> 24));
        pci_layout_set(l, i, 1, shadow[i]);
        pci_layout_set_wmask(l, i, 1, wm[i]);
        pci_layout_set_w1cmask(l, i, 1, w1c[i]);
    }
    pci_config_init(&cfg, l, NULL);
    for (uint32_t off = 0; off < size + 8; off++) {
        for (unsigned len = 0; len <= 5; len++) {
            uint32_t v = 0x5a5a5a5a, val = off * 0x01010101u ^ len;
            int rc = pci_config_read(&cfg, off, len, &v);
            bool fits = len >= 1 && len <= 4 && off + len <= size;

            if (len == 0 || len > 4) {
                assert_int_equal(rc, PCIVIRT_EINVAL);
                assert_int_equal(pci_config_write(&cfg, off, len, val, NULL), PCIVIRT_EINVAL);
                continue;
            }
            if (!fits) {
                assert_int_equal(rc, PCIVIRT_ERANGE);
                assert_int_equal(v, 0xffffffffu);
                assert_int_equal(pci_config_write(&cfg, off, len, val, NULL), PCIVIRT_ERANGE);
                continue;
            }
            uint32_t want = 0;
            for (unsigned i = 0; i < len; i++) {
                want |= (uint32_t)shadow[off + i] << (8 * i);
            }
            assert_int_equal(rc, 0);
            assert_int_equal(v, want);
            assert_int_equal(pci_config_write(&cfg, off, len, val, NULL), 0);
            shadow_write(shadow, wm, w1c, off, len, val);
        }
    }
    assert_memory_equal(pci_config_bytes(&cfg), shadow, size);
    /* Byte runs: any length, inside or not. */
    uint8_t buf[4200];
    assert_int_equal(pci_config_read_bytes(&cfg, 0, buf, size), 0);
    assert_memory_equal(buf, shadow, size);
    assert_int_equal(pci_config_read_bytes(&cfg, size - 3, buf, 4), PCIVIRT_ERANGE);
    assert_int_equal(buf[0], 0xff);
    assert_int_equal(pci_config_read_bytes(&cfg, 0xffffffffu, buf, 2), PCIVIRT_ERANGE);
    assert_int_equal(pci_config_write_bytes(&cfg, size, buf, 1, NULL), PCIVIRT_ERANGE);
    assert_int_equal(pci_config_write_bytes(&cfg, 1, buf, size, NULL), PCIVIRT_ERANGE);
    assert_int_equal(pci_config_write_bytes(&cfg, 0, buf, 0, NULL), PCIVIRT_EINVAL);
    assert_int_equal(pci_config_poke(&cfg, size - 1, 2, 0), PCIVIRT_ERANGE);
    assert_int_equal(pci_config_read(&cfg, 0xfffffffeu, 4, (uint32_t[]){0}), PCIVIRT_ERANGE);
    pci_config_fini(&cfg);
    pci_layout_unref(l);
}

static void
test_every_offset_and_length_256(void **state)
{
    (void)state;
    exhaustive(256);
}

static void
test_every_offset_and_length_4096(void **state)
{
    (void)state;
    exhaustive(4096);
}

/* ---- header and BARs ---------------------------------------------------------------- */

static void
test_type0_header_and_bar_sizing(void **state)
{
    struct pci_layout *l = make_layout(256);
    struct pci_header_params hp = {
        .vendor_id = 0x8086, .device_id = 0x10fb, .revision = 1, .class_code = 0x020000, .interrupt_pin = 1};
    struct pcivirt_error err = {0};
    struct pci_config cfg;
    uint32_t v;

    (void)state;
    assert_int_equal(pci_layout_init_type0(l, &hp), 0);
    assert_int_equal(pci_layout_add_bar(l, 0, 0x80000, PCI_BAR_MEM64, &err), 0);
    assert_int_equal(pci_layout_add_bar(l, 1, 0x1000, PCI_BAR_MEM32, &err), PCIVIRT_EEXIST);
    assert_int_equal(pci_layout_add_bar(l, 2, 0x20, PCI_BAR_IO, &err), 0);
    assert_int_equal(pci_layout_add_bar(l, 4, 0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, &err), 0);
    assert_int_equal(pci_layout_add_bar(l, 5, 0x4000, PCI_BAR_MEM64, &err), PCIVIRT_EINVAL);
    assert_int_equal(pci_layout_add_bar(l, 3, 0x3000, PCI_BAR_MEM32, &err), PCIVIRT_EINVAL);
    assert_non_null(strstr(err.message, "BAR3"));
    pci_config_init(&cfg, l, NULL);
    /* Sizing probe (PCI Local Bus 6.2.5.1): all ones, read back ~(size-1) | type. */
    for (unsigned bar = 0; bar < 6; bar++) {
        pci_config_write(&cfg, PCI_BASE_ADDRESS_0 + 4 * bar, 4, 0xffffffffu, NULL);
    }
    pci_config_read(&cfg, 0x10, 4, &v);
    assert_int_equal(v, 0xfff80004u);
    pci_config_read(&cfg, 0x14, 4, &v);
    assert_int_equal(v, 0xffffffffu);
    pci_config_read(&cfg, 0x18, 4, &v);
    assert_int_equal(v, 0xffffffe1u);
    pci_config_read(&cfg, 0x1c, 4, &v);
    assert_int_equal(v, 0);
    pci_config_read(&cfg, 0x20, 4, &v);
    assert_int_equal(v, 0xffffc00cu);
    /* Header: IDs read-only, Command's writable bits only, Status error bits RW1C. */
    pci_config_write(&cfg, 0x00, 4, 0, NULL);
    pci_config_read(&cfg, 0x00, 4, &v);
    assert_int_equal(v, 0x10fb8086u);
    pci_config_write(&cfg, PCI_COMMAND, 2, 0xffff, NULL);
    pci_config_read(&cfg, PCI_COMMAND, 2, &v);
    assert_int_equal(v, 0x0547);
    pci_config_poke(&cfg, PCI_STATUS, 2, 0xf910);
    pci_config_write(&cfg, PCI_STATUS, 2, 0x2000, NULL);
    pci_config_read(&cfg, PCI_STATUS, 2, &v);
    assert_int_equal(v, 0xd910);
    pci_config_read(&cfg, PCI_REVISION_ID, 4, &v);
    assert_int_equal(v, 0x02000001u);
    pci_config_read(&cfg, PCI_INTERRUPT_PIN, 1, &v);
    assert_int_equal(v, 1);
    pci_config_fini(&cfg);
    pci_layout_unref(l);
}

int
main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_create_rejects_bad_sizes),
        cmocka_unit_test(test_ro_rw_w1c_merge),
        cmocka_unit_test(test_copy_on_write),
        cmocka_unit_test(test_cow_allocation_failure),
        cmocka_unit_test(test_hooks_run_after_merge_in_offset_order),
        cmocka_unit_test(test_every_offset_and_length_256),
        cmocka_unit_test(test_every_offset_and_length_4096),
        cmocka_unit_test(test_type0_header_and_bar_sizing),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
