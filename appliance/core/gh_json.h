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

/*
 * A reader for small machine-written JSON objects on hot paths (token
 * headers and claims), without building json-c objects.  It reads a
 * subset of JSON exactly: strings of printable ASCII without escapes,
 * integers of at most 18 digits (no fraction or exponent), true, false,
 * null, arrays and objects nested at most GH_JSON_FAST_DEPTH deep, at most
 * GH_JSON_FAST_MEMBERS members per object, no repeated member name in any
 * object.  Anything outside that subset (valid JSON or not) is left to a
 * full parser: the reader never refuses what JSON allows, it only defers.
 */
#define GH_JSON_FAST_DEPTH   8
#define GH_JSON_FAST_MEMBERS 32

enum gh_json_kind {
	GH_JV_ABSENT = 0, GH_JV_NULL, GH_JV_BOOL, GH_JV_INT, GH_JV_STR, GH_JV_OBJ, GH_JV_ARR,
};

/* One member value: STR p/n are the string's bytes; OBJ and ARR p/n its whole text. */
struct gh_json_val {
	enum gh_json_kind kind;
	const char *p;
	size_t n;
	long long i;                    /* INT: the value; BOOL: 0 or 1 */
};

/*
 * Read s[0..len) as one JSON object (whitespace around it allowed) and
 * fill out[k] with the member named names[k] (kind GH_JV_ABSENT when it
 * is not there) for k < nnames; out points into s.  Returns 0, or -1 when
 * s is outside the subset above or not JSON (then out is undefined and
 * the caller parses s with a full parser).
 */
int gh_json_fast_object(const char *s, size_t len, const char *const *names, size_t nnames,
    struct gh_json_val *out);

#endif
