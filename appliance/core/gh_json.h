/*
 * JSON helpers on json-c: strict parsing of request bodies (one value,
 * nothing after it, bounded depth, no NUL) and typed member reads that
 * tell "absent" from "wrong type".
 */
#ifndef GH_JSON_H
#define GH_JSON_H

#include <stddef.h>
#include <json-c/json.h>

#define GH_JSON_MAX_DEPTH 32

/*
 * Parse buf[0..len) as exactly one JSON value in strict mode.  Returns a
 * new reference (caller puts it), or NULL with *why set to a static
 * explanation suitable for an error "description".
 */
struct json_object *gh_json_parse(const void *buf, size_t len, const char **why);

/* Same, and the value must be an object. */
struct json_object *gh_json_parse_object(const void *buf, size_t len, const char **why);

/* Member key as a string; NULL when absent, null or not a string. */
const char *gh_json_str(struct json_object *o, const char *key);

/* Member key as an integer / boolean.  0 ok, 1 absent or null, -1 wrong type. */
int gh_json_int(struct json_object *o, const char *key, long long *out);
int gh_json_bool(struct json_object *o, const char *key, int *out);

/* Member key as an array; NULL when absent or not an array. */
struct json_object *gh_json_array(struct json_object *o, const char *key);

/*
 * Writing small JSON documents straight into a caller's buffer, for hot
 * paths where building json-c objects costs more than the work (token
 * claims).  Strings are escaped (", \\ and control characters; UTF-8
 * passes through).  Every call returns 0, or -1 once the buffer is full
 * (then overflow stays set and the text must not be used).
 */
struct gh_json_buf {
	char *buf;
	size_t cap, len;
	int overflow;
};

int gh_json_buf_str(struct gh_json_buf *b, const char *s);          /* "s" */
int gh_json_buf_raw(struct gh_json_buf *b, const char *s);          /* s as is: punctuation, numbers */
/* "key":"value" inside an object, with the comma when one is needed. */
int gh_json_buf_member(struct gh_json_buf *b, const char *key, const char *value);
int gh_json_buf_member_int(struct gh_json_buf *b, const char *key, long long value);

#endif
