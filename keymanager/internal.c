/*
 * The key manager's internal API (port 9447, mutual TLS): this file
 * registers the routes of its modules (internal_clients.c: OAuth clients
 * of application keys; internal_tokens.c: tokens and API keys minted for
 * the portal; internal_users.c: sign-up, tenants, passwords, roles) and
 * holds the request-input checks they share with client registration
 * (dcr.c).  Each handler checks its caller's certificate role itself.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "keymanager/internal.h"

int
km_in_url_ok(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > KM_IN_URL_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
km_in_user_ok(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > 100)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		int alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '@' && ch != '+' && ch != '-')))
			return 0;
	}
	return 1;
}

static const char *const grants_allowed[] = {
	"client_credentials", "password", "authorization_code", "refresh_token", NULL
};

int
km_in_grant_add(char *out, size_t outlen, const char *g, const char **why)
{
	size_t len = strlen(out), glen = strlen(g);
	int known = 0;

	for (size_t i = 0; grants_allowed[i] != NULL; i++)
		known |= strcmp(grants_allowed[i], g) == 0;
	if (!known) {
		*why = strcmp(g, "implicit") == 0 ?
		    "The implicit grant is not offered (use authorization_code with PKCE)" :
		    "Unknown grant type; allowed: client_credentials, password, authorization_code, refresh_token";
		return -1;
	}
	for (const char *p = out; (p = strstr(p, g)) != NULL; p += glen)
		if ((p == out || p[-1] == ' ') && (p[glen] == ' ' || p[glen] == '\0'))
			return 0;
	if (len + (len ? 1 : 0) + glen + 1 > outlen) {
		*why = "Too many grant types";
		return -1;
	}
	snprintf(out + len, outlen - len, "%s%s", len ? " " : "", g);
	return 0;
}

int
km_in_require_role(struct gh_call *c, const char *roles)
{
	size_t rl;
	const char *p;

	if (!c->has_peer_id || c->peer_id.role[0] == '\0')
		goto refuse;
	rl = strlen(c->peer_id.role);
	for (p = roles; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n == rl && strncmp(p, c->peer_id.role, n) == 0)
			return 0;
		p += n;
		if (*p == ',')
			p++;
	}
refuse:
	gh_reply_error(c, 403, "Forbidden", "This internal API is not open to the caller's certificate role");
	return -1;
}

const char *
km_in_actor(const struct gh_call *c, char *buf, size_t len)
{
	if (c->has_peer_id)
		snprintf(buf, len, "%s:%s", c->peer_id.role, c->peer_id.node);
	else
		snprintf(buf, len, "unknown");
	return buf;
}

int
km_in_tenant_active(struct gh_pg *db, const char *tenant)
{
	const char *p[1] = { tenant };
	int64_t n = 0;

	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_tenants WHERE domain = $1 AND status = 'active'",
	    1, p, &n) != 0)
		return -1;
	return n > 0;
}

struct json_object *
km_in_jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

void
km_internal_routes(struct gh_router *r)
{
	km_internal_client_routes(r);
	km_internal_token_routes(r);
	km_internal_user_routes(r);
}
