/*
 * tests/vsp/test_events.c - the event log: ordering, bounds, time stamps, JSON.
 *
 * Oracles: the virtual clock's values set by the test; the JSON lines parsed
 * back with jansson (an independent parser) and compared field by field; the
 * ring's drop arithmetic computed from the number of events added.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pcivirt/error.h"
#include "vsp/events.h"

static void
test_create_bounds(void **state)
{
    struct vsp_manual_clock mc;
    struct vsp_event_log *log = NULL;

    (void)state;
    vsp_manual_clock_init(&mc, 0);
    assert_int_equal(vsp_event_log_create(&mc.clock, 0, &log), PCIVIRT_EINVAL);
    assert_int_equal(vsp_event_log_create(&mc.clock, (1u << 20) + 1, &log), PCIVIRT_EINVAL);
    assert_int_equal(vsp_event_log_create(NULL, 4, &log), PCIVIRT_EINVAL);
    assert_null(log);
    vsp_event_log_destroy(NULL);
    /* A NULL log swallows events. */
    assert_int_equal(vsp_event_log_add(NULL, VSP_EV_ASSIGN, 0, 0, 0, STATUS_SUCCESS, 0, "x"), 0);
}

static void
test_ring_drops_oldest(void **state)
{
    struct vsp_manual_clock mc;
    struct vsp_event_log *log;
    struct vsp_event evs[8];

    (void)state;
    vsp_manual_clock_init(&mc, 1000);
    assert_int_equal(vsp_event_log_create(&mc.clock, 4, &log), 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(
            vsp_event_log_add(log, i % 2 ? VSP_EV_ASSIGN : VSP_EV_RESET, 0, i, 1, STATUS_SUCCESS, 0, "event %d", i),
            (uint64_t)i + 1);
        vsp_manual_clock_advance(&mc, 10);
    }
    assert_int_equal(vsp_event_log_held(log), 4);
    assert_int_equal(vsp_event_log_dropped(log), 10 - 4);
    assert_int_equal(vsp_event_log_total(log, VSP_EV_TYPE_COUNT), 10);
    assert_int_equal(vsp_event_log_total(log, VSP_EV_ASSIGN), 5);
    assert_int_equal(vsp_event_log_total(log, VSP_EV_RESET), 5);
    assert_int_equal(vsp_event_log_snapshot(log, evs, 8), 4);
    for (int i = 0; i < 4; i++) {
        /* The survivors are events 6..9, oldest first, stamped by the clock. */
        assert_int_equal(evs[i].seq, 7 + i);
        assert_int_equal(evs[i].vf, 6 + i);
        assert_int_equal(evs[i].time_ns, 1000 + 10 * (6 + i));
        char want[32];
        snprintf(want, sizeof(want), "event %d", 6 + i);
        assert_string_equal(evs[i].reason, want);
    }
    assert_int_equal(vsp_event_log_snapshot(log, evs, 2), 2);
    assert_int_equal(evs[1].seq, 8);
    vsp_event_log_destroy(log);
}

static void
test_find_and_truncation(void **state)
{
    struct vsp_manual_clock mc;
    struct vsp_event_log *log;
    struct vsp_event ev;
    char longreason[400];

    (void)state;
    vsp_manual_clock_init(&mc, 0);
    assert_int_equal(vsp_event_log_create(&mc.clock, 16, &log), 0);
    vsp_event_log_add(log, VSP_EV_IOMMU_FAULT, 1, 2, 3, STATUS_SUCCESS, 0x1000, "first");
    vsp_event_log_add(log, VSP_EV_IOMMU_FAULT, 1, 5, 4, STATUS_SUCCESS, 0x2000, "second");
    vsp_event_log_add(log, VSP_EV_VETO, 1, VSP_EV_NONE, 4, STATUS_UNSUCCESSFUL, 0, "veto");
    assert_true(vsp_event_log_find(log, VSP_EV_IOMMU_FAULT, VSP_EV_NONE, VSP_EV_NONE, VSP_EV_NONE, &ev));
    assert_string_equal(ev.reason, "second");
    assert_true(vsp_event_log_find(log, VSP_EV_IOMMU_FAULT, 1, 2, VSP_EV_NONE, &ev));
    assert_int_equal(ev.detail, 0x1000);
    assert_false(vsp_event_log_find(log, VSP_EV_IOMMU_FAULT, 1, 2, 4, &ev));
    assert_false(vsp_event_log_find(log, VSP_EV_RESET, VSP_EV_NONE, VSP_EV_NONE, VSP_EV_NONE, NULL));
    memset(longreason, 'x', sizeof(longreason) - 1);
    longreason[sizeof(longreason) - 1] = 0;
    vsp_event_log_add(log, VSP_EV_GUEST_ERROR, 0, 0, 0, STATUS_BAD_DATA, 0, "%s", longreason);
    assert_true(vsp_event_log_find(log, VSP_EV_GUEST_ERROR, 0, 0, 0, &ev));
    assert_int_equal(strlen(ev.reason), VSP_EVENT_REASON_MAX - 1);
    vsp_event_log_destroy(log);
}

static int listened;

static void
listener(void *ctx, const struct vsp_event *ev)
{
    struct vsp_event_log *log = ctx;

    listened++;
    /* Calling back into the log from the listener must not deadlock. */
    assert_true(vsp_event_log_held(log) >= 1);
    assert_int_equal(ev->type, VSP_EV_ATTACH);
}

static void
test_listener(void **state)
{
    struct vsp_manual_clock mc;
    struct vsp_event_log *log;

    (void)state;
    vsp_manual_clock_init(&mc, 0);
    assert_int_equal(vsp_event_log_create(&mc.clock, 2, &log), 0);
    vsp_event_log_set_listener(log, listener, log);
    vsp_event_log_add(log, VSP_EV_ATTACH, 0, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, 0, "a");
    vsp_event_log_add(log, VSP_EV_ATTACH, 0, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, 0, "b");
    vsp_event_log_set_listener(log, NULL, NULL);
    vsp_event_log_add(log, VSP_EV_DETACH, 0, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, 0, "c");
    assert_int_equal(listened, 2);
    vsp_event_log_destroy(log);
}

static void
test_jsonl_roundtrip(void **state)
{
    struct vsp_manual_clock mc;
    struct vsp_event_log *log;
    char *text = NULL;
    size_t text_len = 0;
    FILE *fp;

    (void)state;
    vsp_manual_clock_init(&mc, 5 * 1000000000ull + 7);
    assert_int_equal(vsp_event_log_create(&mc.clock, 8, &log), 0);
    vsp_event_log_add(log, VSP_EV_TIMEOUT, 2, 7, 1, STATUS_IO_TIMEOUT, 60, "eject window of \"60 s\" ran out");
    vsp_manual_clock_advance(&mc, 3);
    vsp_event_log_add(log, VSP_EV_ATTACH, 2, VSP_EV_NONE, VSP_EV_NONE, (NTSTATUS)0xC0001234, 0, "odd status");
    fp = open_memstream(&text, &text_len);
    assert_non_null(fp);
    assert_int_equal(vsp_event_log_write_jsonl(log, fp), 0);
    fclose(fp);

    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    *nl = 0;
    json_error_t jerr;
    json_t *a = json_loads(text, 0, &jerr);
    json_t *b = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &jerr);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(a, "seq")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "time_ns")), 5000000007ll);
    assert_string_equal(json_string_value(json_object_get(a, "type")), "timeout");
    assert_int_equal(json_integer_value(json_object_get(a, "pf")), 2);
    assert_int_equal(json_integer_value(json_object_get(a, "vf")), 7);
    assert_int_equal(json_integer_value(json_object_get(a, "vm")), 1);
    assert_string_equal(json_string_value(json_object_get(a, "status")), "STATUS_IO_TIMEOUT");
    assert_int_equal(json_integer_value(json_object_get(a, "detail")), 60);
    assert_string_equal(json_string_value(json_object_get(a, "reason")), "eject window of \"60 s\" ran out");
    assert_true(json_is_null(json_object_get(b, "vf")));
    assert_true(json_is_null(json_object_get(b, "vm")));
    assert_string_equal(json_string_value(json_object_get(b, "status")), "0xC0001234");
    assert_int_equal(json_integer_value(json_object_get(b, "time_ns")), 5000000010ll);
    json_decref(a);
    json_decref(b);
    free(text);

    /* The timeline line carries the same facts. */
    struct vsp_event ev;
    char line[256];
    assert_true(vsp_event_log_find(log, VSP_EV_TIMEOUT, 2, 7, 1, &ev));
    vsp_event_format(&ev, line, sizeof(line));
    assert_non_null(strstr(line, "     5.000000007  timeout"));
    assert_non_null(strstr(line, "pf2"));
    assert_non_null(strstr(line, "vf7"));
    assert_non_null(strstr(line, "vm1"));
    assert_non_null(strstr(line, "STATUS_IO_TIMEOUT"));
    assert_string_equal(vsp_event_type_name(VSP_EV_TYPE_COUNT), "unknown");
    vsp_event_log_destroy(log);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_bounds),       cmocka_unit_test(test_ring_drops_oldest),
        cmocka_unit_test(test_find_and_truncation), cmocka_unit_test(test_listener),
        cmocka_unit_test(test_jsonl_roundtrip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
