/*
 * Helpers shared by jose_jwk.c and jose_jws.c only; not part of the
 * public JOSE interface (gh_jose.h).
 */
#ifndef GH_JOSE_INT_H
#define GH_JOSE_INT_H

#include <stddef.h>

struct json_object;

/*
 * Parse len bytes as one strict JSON value (RFC 8259, UTF-8, depth <= 16,
 * nothing but whitespace after it) and refuse an object, at any depth,
 * with a repeated member name.  Returns a new object or NULL.
 */
struct json_object *gh_jose_json_parse(const char *s, size_t len);

/*
 * The string member key of obj in *out (borrowed).  Returns 0 when absent
 * (*out NULL), 1 when a string without NUL, -1 when of another type or
 * holding a NUL.
 */
int gh_jose_json_str(struct json_object *obj, const char *key,
    const char **out);

/* Serialize obj compactly without escaping '/'; borrowed from obj. */
const char *gh_jose_json_compact(struct json_object *obj, size_t *len);

/* Add the string member k = v to o (a copy).  Returns 0 or -1 on ENOMEM. */
int gh_jose_json_add_str(struct json_object *o, const char *k, const char *v);

#endif
