/*
 * Strict JSON parsing and typed member access for request bodies.  json-c
 * is lenient by default (it accepts trailing text, single quotes and
 * comments); here a body is one strict value or it is refused.
 */
#include <stdio.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"

/*
 * json-c's strict mode still takes single-quoted strings: refuse any
 * character outside a double-quoted string that JSON does not allow
 * there (quotes, comments, bare words other than true/false/null are
 * left to the tokener).  Returns 0 when the text is acceptable.
 */
static int
json_prescan(const char *p, size_t len)
{
	int in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '\'' || c == '/' || c == '#')
			return -1;
	}
	return 0;
}

struct json_object *
gh_json_parse(const void *buf, size_t len, const char **why)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;

	*why = NULL;
	if (buf == NULL || len == 0) {
		*why = "The request body is empty; a JSON document is expected";
		return NULL;
	}
	if (memchr(buf, '\0', len) != NULL || len > (size_t)0x7fffffff ||
	    json_prescan(buf, len) != 0) {
		*why = "The request body is not valid JSON text";
		return NULL;
	}
	tok = json_tokener_new_ex(GH_JSON_MAX_DEPTH);
	if (tok == NULL) {
		*why = "Out of memory";
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		*why = "The JSON document is truncated";
		goto fail;
	}
	if (jerr != json_tokener_success) {
		*why = jerr == json_tokener_error_depth ?
		    "The JSON document is nested too deeply" : "The request body is not valid JSON";
		goto fail;
	}
	/* Only whitespace may follow the value. */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
		char c = ((const char *)buf)[i];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			*why = "Unexpected text after the JSON document";
			goto fail;
		}
	}
	json_tokener_free(tok);
	return o;
fail:
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

struct json_object *
gh_json_parse_object(const void *buf, size_t len, const char **why)
{
	struct json_object *o = gh_json_parse(buf, len, why);

	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		*why = "A JSON object is expected";
		return NULL;
	}
	return o;
}

const char *
gh_json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
gh_json_int(struct json_object *o, const char *key, long long *out)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

int
gh_json_bool(struct json_object *o, const char *key, int *out)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

struct json_object *
gh_json_array(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* 1 for the bytes gh_json_buf_str() must not copy as they are: NUL ends, the rest are escaped. */
static const unsigned char json_esc[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
	[0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
	[0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
	[0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
	[0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

int
gh_json_buf_str(struct gh_json_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	if (b->len + 2 >= b->cap)
		return b->overflow = -1;
	b->buf[b->len++] = '"';
	for (;;) {
		/* Copy the run of bytes that need no escaping in one go. */
		const unsigned char *q = p;

		while (!json_esc[*q])
			q++;
		if (q > p) {
			size_t n = (size_t)(q - p);

			if (b->len + n + 6 >= b->cap)
				return b->overflow = -1;
			memcpy(b->buf + b->len, p, n);
			b->len += n;
			p = q;
		}
		if (*p == '\0')
			break;
		if (b->len + 7 >= b->cap)
			return b->overflow = -1;
		if (*p == '"' || *p == '\\') {
			b->buf[b->len++] = '\\';
			b->buf[b->len++] = (char)*p;
		} else {
			b->buf[b->len++] = '\\';
			b->buf[b->len++] = 'u';
			b->buf[b->len++] = '0';
			b->buf[b->len++] = '0';
			b->buf[b->len++] = hex[*p >> 4];
			b->buf[b->len++] = hex[*p & 15];
		}
		p++;
	}
	b->buf[b->len++] = '"';
	b->buf[b->len] = '\0';
	return 0;
}

int
gh_json_buf_raw(struct gh_json_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 >= b->cap)
		return b->overflow = -1;
	memcpy(b->buf + b->len, s, n + 1);
	b->len += n;
	return 0;
}

int
gh_json_buf_member(struct gh_json_buf *b, const char *key, const char *value)
{
	if (b->len > 1 && b->buf[b->len - 1] != '{')
		gh_json_buf_raw(b, ",");
	gh_json_buf_str(b, key);
	gh_json_buf_raw(b, ":");
	return gh_json_buf_str(b, value);
}

int
gh_json_buf_member_int(struct gh_json_buf *b, const char *key, long long value)
{
	char num[GH_DEC_LEN];
	const char *d = gh_dec(value, num, NULL);

	if (b->len > 1 && b->buf[b->len - 1] != '{')
		gh_json_buf_raw(b, ",");
	gh_json_buf_str(b, key);
	gh_json_buf_raw(b, ":");
	return gh_json_buf_raw(b, d);
}

/* ---- the fast reader (gh_json_fast_object) ---- */

static const char *
fj_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* 1 for the bytes a string of the subset holds as they are: printable ASCII but '"' and '\\'. */
static const unsigned char fj_plain[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1,     /* not 0x22 '"' nor 0x5c '\\' */
};

/* A string at *pp (its opening quote) in the subset: 0 and its bytes, or -1. */
static int
fj_string(const char **pp, const char *end, const char **v, size_t *n)
{
	const char *p = *pp + 1, *q = p;

	while (q < end && fj_plain[(unsigned char)*q])
		q++;
	if (q >= end || *q != '"')
		return -1;      /* the end, a control or non-ASCII byte, or an escape */
	*v = p;
	*n = (size_t)(q - p);
	*pp = q + 1;
	return 0;
}

static int fj_object(const char **pp, const char *end, int depth, const char *const *names,
    size_t nnames, struct gh_json_val *out);

/* One value at *pp (no leading whitespace) into *v; 0 or -1. */
static int
fj_value(const char **pp, const char *end, int depth, struct gh_json_val *v)
{
	const char *p = *pp, *start = p;
	long long x = 0;
	int neg = 0, nd = 0;

	if (p >= end)
		return -1;
	v->i = 0;
	switch (*p) {
	case '"':
		v->kind = GH_JV_STR;
		return fj_string(pp, end, &v->p, &v->n);
	case '{':
		v->kind = GH_JV_OBJ;
		if (fj_object(pp, end, depth + 1, NULL, 0, NULL) != 0)
			return -1;
		break;
	case '[':
		v->kind = GH_JV_ARR;
		if (depth + 1 > GH_JSON_FAST_DEPTH)
			return -1;
		p = fj_ws(p + 1, end);
		if (p < end && *p == ']') {
			*pp = p + 1;
			break;
		}
		for (;;) {
			struct gh_json_val el;

			if (fj_value(&p, end, depth + 1, &el) != 0)
				return -1;
			p = fj_ws(p, end);
			if (p < end && *p == ',') {
				p = fj_ws(p + 1, end);
				continue;
			}
			if (p < end && *p == ']')
				break;
			return -1;
		}
		*pp = p + 1;
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = { "true", "false", "null" };
		int k = *p == 't' ? 0 : *p == 'f' ? 1 : 2;
		size_t ln = strlen(lit[k]);

		if ((size_t)(end - p) < ln || memcmp(p, lit[k], ln) != 0)
			return -1;
		v->kind = k == 2 ? GH_JV_NULL : GH_JV_BOOL;
		v->i = k == 0;
		*pp = p + ln;
		break;
	}
	default:
		if (*p == '-') {
			neg = 1;
			p++;
		}
		if (p >= end || *p < '0' || *p > '9')
			return -1;
		if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
			return -1;      /* a leading zero */
		while (p < end && *p >= '0' && *p <= '9') {
			if (++nd > 18)
				return -1;
			x = x * 10 + (*p - '0');
			p++;
		}
		if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
			return -1;      /* not an integer: the full parser decides */
		v->kind = GH_JV_INT;
		v->i = neg ? -x : x;
		*pp = p;
		break;
	}
	v->p = start;
	v->n = (size_t)(*pp - start);
	return 0;
}

/* An object at *pp (its '{'); members named in names go to out.  0 or -1. */
static int
fj_object(const char **pp, const char *end, int depth, const char *const *names, size_t nnames,
    struct gh_json_val *out)
{
	const char *p = *pp, *seen[GH_JSON_FAST_MEMBERS];
	size_t seen_n[GH_JSON_FAST_MEMBERS], nseen = 0;

	if (depth > GH_JSON_FAST_DEPTH || p >= end || *p != '{')
		return -1;
	p = fj_ws(p + 1, end);
	if (p < end && *p == '}') {
		*pp = p + 1;
		return 0;
	}
	for (;;) {
		struct gh_json_val v;
		const char *name;
		size_t nlen, k;

		if (p >= end || *p != '"' || fj_string(&p, end, &name, &nlen) != 0 ||
		    nseen == GH_JSON_FAST_MEMBERS)
			return -1;
		for (k = 0; k < nseen; k++)
			if (seen_n[k] == nlen && seen[k][0] == name[0] && memcmp(seen[k], name, nlen) == 0)
				return -1;      /* a repeated name */
		seen[nseen] = name;
		seen_n[nseen++] = nlen;
		p = fj_ws(p, end);
		if (p >= end || *p != ':')
			return -1;
		p = fj_ws(p + 1, end);
		if (fj_value(&p, end, depth, &v) != 0)
			return -1;
		/* names[k] is this name: the same first nlen bytes and no more (no strlen per member) */
		for (k = 0; k < nnames; k++)
			if (nlen > 0 && names[k][0] == name[0] && strncmp(names[k], name, nlen) == 0 &&
			    names[k][nlen] == '\0') {
				out[k] = v;
				break;
			}
		p = fj_ws(p, end);
		if (p < end && *p == ',') {
			p = fj_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			break;
		return -1;
	}
	*pp = p + 1;
	return 0;
}

int
gh_json_fast_object(const char *s, size_t len, const char *const *names, size_t nnames,
    struct gh_json_val *out)
{
	const char *p, *end = s + len;

	if (s == NULL || len == 0 || len > 65536)
		return -1;
	for (size_t k = 0; k < nnames; k++)
		memset(&out[k], 0, sizeof(out[k]));
	p = fj_ws(s, end);
	if (fj_object(&p, end, 1, names, nnames, out) != 0)
		return -1;
	return fj_ws(p, end) == end ? 0 : -1;
}
