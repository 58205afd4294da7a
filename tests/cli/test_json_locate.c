/*
 * tests/cli/test_json_locate.c - the position index the scenario parser reports with.
 *
 * Offsets are checked against strstr() over the test's own text, UTF-8 verdicts
 * against RFC 3629's table of well-formed byte sequences (section 4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_locate.h"

static void
test_locator(void **state)
{
    static const char t[] = "{ \"a\": [1, {\"b\\\"\": \"x]\"}, [[]], {\"c\": {}}], \"\\ud83d\\ude00\": true }";
    struct json_path p;
    char scratch[64];
    size_t off;

    assert_true(json_path_parse("a[3].c", &p, scratch, sizeof(scratch)));
    assert_true(json_locate(t, strlen(t), &p, false, &off));
    assert_int_equal(off, (size_t)(strstr(t, "{}") - t));
    assert_true(json_locate(t, strlen(t), &p, true, &off));
    assert_int_equal(off, (size_t)(strstr(t, "\"c\"") - t));
    assert_true(json_path_parse("a[1].b\"", &p, scratch, sizeof(scratch)));
    assert_true(json_locate(t, strlen(t), &p, false, &off));
    assert_int_equal(off, (size_t)(strstr(t, "\"x]\"") - t));
    /* A key spelled with a surrogate pair matches its UTF-8 form. */
    p.depth = 1;
    p.elem[0].key = "\xf0\x9f\x98\x80";
    assert_true(json_locate(t, strlen(t), &p, false, &off));
    assert_int_equal(off, (size_t)(strstr(t, "true") - t));
    assert_true(json_path_parse("a[4]", &p, scratch, sizeof(scratch)));
    assert_false(json_locate(t, strlen(t), &p, false, &off));
    /* Cut text: never found, never read past the end. */
    assert_true(json_path_parse("a[3].c", &p, scratch, sizeof(scratch)));
    for (size_t n = 0; n < strlen(t); n++) {
        char *cut = malloc(n + 1);
        memcpy(cut, t, n);
        bool found = json_locate(cut, n, &p, false, &off);
        assert_true(!found || off < n);
        free(cut);
    }
    char buf[64];
    assert_true(json_path_parse("x[0][12].y", &p, scratch, sizeof(scratch)));
    json_path_format(&p, buf, sizeof(buf));
    assert_string_equal(buf, "x[0][12].y");
    assert_false(json_path_parse("x..y", &p, scratch, sizeof(scratch)));
    assert_false(json_path_parse("x[1]y", &p, scratch, sizeof(scratch)));
    assert_false(json_path_parse("x[-1]", &p, scratch, sizeof(scratch)));
    assert_false(json_path_parse("x.", &p, scratch, sizeof(scratch)));
    assert_false(json_path_parse("a.b.c.d.e.f.g.h.i", &p, scratch, sizeof(scratch)));
}

static void
test_utf8(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        bool ok;
        size_t bad;
    } cases[] = {
        {"plain ascii", 11, true, 0},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, true, 0}, /* U+00E9, U+20AC, U+1F600 */
        {"\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7, true, 0},         /* U+FFFF, U+10FFFF */
        {"ab\xc0\xaf", 4, false, 2},                          /* overlong '/' */
        {"\xe0\x80\x80", 3, false, 0},                        /* overlong NUL, 3 bytes */
        {"x\xed\xbf\xbf", 4, false, 1},                       /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4, false, 0},                    /* U+110000 */
        {"\xf5\x80\x80\x80", 4, false, 0},                    /* lead byte never valid */
        {"\x80", 1, false, 0},                                /* lone continuation */
        {"ok\xe2\x82", 4, false, 2},                          /* cut short */
        {"a\0b", 3, false, 1},                                /* NUL: not text */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t bad = 99;
        assert_int_equal(json_utf8_check(cases[i].bytes, cases[i].len, &bad), cases[i].ok);
        if (!cases[i].ok) {
            assert_int_equal(bad, cases[i].bad);
        }
    }
}

static void
test_line_column(void **state)
{
    static const char t[] = "ab\n\xc3\xa9x\r\ny";
    unsigned line;
    unsigned column;

    json_line_column(t, strlen(t), 0, &line, &column);
    assert_int_equal(line, 1);
    assert_int_equal(column, 1);
    json_line_column(t, strlen(t), 5, &line, &column); /* 'x' after a two-byte character */
    assert_int_equal(line, 2);
    assert_int_equal(column, 2);
    json_line_column(t, strlen(t), strlen(t) - 1, &line, &column);
    assert_int_equal(line, 3);
    assert_int_equal(column, 1);
    json_line_column(t, strlen(t), 1000, &line, &column); /* clamped to the end */
    assert_int_equal(line, 3);
    assert_int_equal(column, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locator),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_line_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
