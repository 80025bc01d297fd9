/*
 * json.h — a small streaming JSON writer for the --json output of the ffdb
 * tool (info, stat, buckets, check, scan).
 *
 * The writer keeps the commas and indentation straight; strings are escaped
 * as JSON requires (quotes, backslashes, control characters), and bytes that
 * are not valid UTF-8 are written as \u00XX so the output always parses.
 * Binary keys and values are turned into escaped or hex text by the caller
 * before they get here. Writes to one FILE, never reads.
 */
#ifndef FFDB_TOOL_JSON_H
#define FFDB_TOOL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
    FILE *f;
    int depth;
    int count[JSON_MAX_DEPTH]; /* values written at each open level */
    int after_key;             /* the next value completes a "key": pair */
};

void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
/* The key of the next member of the open object. */
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const void *s, size_t len);
void json_u64(struct json *j, uint64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* Ends the document with a newline. */
void json_end(struct json *j);

/* Shorthands for "key": value members. */
void json_kv_str(struct json *j, const char *key, const char *s);
void json_kv_u64(struct json *j, const char *key, uint64_t v);
void json_kv_double(struct json *j, const char *key, double v);
void json_kv_bool(struct json *j, const char *key, int v);

#endif /* FFDB_TOOL_JSON_H */
