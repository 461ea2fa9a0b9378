/*
 * Request-body helpers every service's handlers share: the strict JSON
 * object of a call's body, typed reads of its members, and the checks of
 * text, names and identifiers that decide what a string member may hold.
 * The members returned are borrowed from the parsed object; the checks
 * keep no state.
 */
#include <json-c/json.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "pg/gh_call.h"

struct json_object *
gh_call_body(struct gh_call *c, int ctype_status)
{
	struct json_object *o;
	const char *why = NULL;

	if (!gh_call_ctype_is(c, "application/json")) {
		gh_reply_error(c, ctype_status, ctype_status == 415 ? "Unsupported Media Type" : "Bad Request",
		    "The Content-Type must be application/json");
		return NULL;
	}
	o = gh_json_parse_object(c->body, c->body_len, &why);
	if (o == NULL)
		gh_reply_error(c, 400, "Bad Request", why);
	return o;
}

int
gh_body_member(struct json_object *o, const char *key, int type, struct json_object **out)
{
	struct json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 1;
	if (!json_object_is_type(v, (enum json_type)type))
		return -1;
	*out = v;
	return 0;
}

int
gh_body_str(struct json_object *o, const char *key, const char **out)
{
	struct json_object *v;
	const char *s;
	int rc = gh_body_member(o, key, json_type_string, &v);

	*out = NULL;
	if (rc != 0)
		return rc;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return -1;
	*out = s;
	return 0;
}

int
gh_body_text_ok(const char *s, size_t max, int flags)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0)
		return (flags & GH_BODY_EMPTY_OK) != 0;
	if (len > max || !gh_utf8_valid(s, len))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((flags & GH_BODY_MULTILINE) && (ch == '\n' || ch == '\t' || ch == '\r'))
			continue;
		if (ch < 0x20 || ch == 0x7f)
			return 0;
	}
	return 1;
}

int
gh_body_chars_ok(const char *s, size_t max, const char *extra)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    strchr(extra, ch) != NULL))
			return 0;
	}
	return 1;
}

int
gh_body_name_ok(const char *s, size_t max)
{
	return gh_body_chars_ok(s, max, " _.-");
}

int
gh_body_id_ok(const char *s)
{
	return gh_body_chars_ok(s, 128, "_.:-");
}
