/*
 * tools/json_locate.h - find where a JSON value starts in the text it was parsed from.
 *
 * jansson reports a line and column only for syntax errors; once a document has
 * parsed, its values carry no position.  A scenario error must still name the
 * line and column of the offending field, so this module indexes positions over
 * the original text: given a path of object keys and array indexes it walks the
 * text with a small scanner (skipping whole values without building anything)
 * and returns the byte offset where the addressed value - or its key - starts.
 * It is a position indexer, not a second parser: the data still come from
 * jansson, and the text is expected to be the one jansson accepted.  On text that
 * is not well-formed the scanner stays inside the buffer and reports "not found".
 *
 * Columns count characters, not bytes (a UTF-8 sequence is one column), the way
 * jansson counts them, so both sources of positions agree.
 */
#ifndef PCIVIRT_TOOLS_JSON_LOCATE_H
#define PCIVIRT_TOOLS_JSON_LOCATE_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest path the locator follows; the scenario schema needs four levels. */
#define JSON_PATH_MAX 8

/* One step of a path: an object member (@key != NULL) or an array element. */
struct json_path_elem {
    const char *key;
    size_t index;
};

struct json_path {
    size_t depth;
    struct json_path_elem elem[JSON_PATH_MAX];
};

/**
 * json_locate() - byte offset where the value (or its key) at @path starts.
 * @text: the JSON text; need not be NUL-terminated.
 * @len: its length in bytes.
 * @path: members and indexes from the root; depth 0 addresses the root value.
 * @want_key: when the last step is an object member, return the offset of the
 *            key's opening quote instead of the value's first byte.
 * @offset: receives the offset on success.
 *
 * Return: true when found; false when the path does not exist in the text or the
 * text is not well-formed JSON.
 */
bool json_locate(const char *text, size_t len, const struct json_path *path, bool want_key, size_t *offset);

/**
 * json_line_column() - 1-based line and character column of byte @offset.
 * @text: the text; @len its length.  @offset may equal @len (end of text).
 * @line: receives the line (lines end at '\n').
 * @column: receives the column; a UTF-8 continuation byte does not start a column.
 */
void json_line_column(const char *text, size_t len, size_t offset, unsigned *line, unsigned *column);

/**
 * json_utf8_check() - find the first byte that is not part of valid UTF-8 text.
 * @text: the bytes; @len their count.
 * @bad: receives the offset of the first offending byte (a NUL byte counts as
 *       offending: scenario files are text).
 *
 * Overlong forms, surrogates (U+D800..U+DFFF) and values above U+10FFFF are invalid,
 * as RFC 3629 section 3 requires.
 *
 * Return: true when the whole buffer is valid UTF-8 without NUL bytes.
 */
bool json_utf8_check(const char *text, size_t len, size_t *bad);

/**
 * json_path_format() - render @path as `devices[1].bus_range.first`.
 * @path: the path; @buf receives the text, truncated to @size (always terminated
 *        when @size > 0).
 */
void json_path_format(const struct json_path *path, char *buf, size_t size);

/**
 * json_path_parse() - the inverse of json_path_format().
 * @s: a path such as `vms[2].name` or `timeline[0]`; "" is the root.
 * @path: receives the steps; keys point into @scratch.
 * @scratch: storage for the keys (NUL-separated), @scratch_size bytes.
 *
 * Keys are runs of characters other than '.', '[' and ']'.
 *
 * Return: true when @s is well-formed, not deeper than JSON_PATH_MAX and its keys
 * fit in @scratch.
 */
bool json_path_parse(const char *s, struct json_path *path, char *scratch, size_t scratch_size);

#endif /* PCIVIRT_TOOLS_JSON_LOCATE_H */
