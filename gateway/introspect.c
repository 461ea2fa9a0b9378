/*
 * Opaque access tokens: asked of the key manager's internal port
 * (POST {introspectUrl}, mutual TLS with the gateway certificate,
 * {"token": ...} → RFC 7662 answer) on the worker's own asynchronous
 * client; the request waits (GW_AGAIN) and the answer resumes it.  Each
 * worker caches answers keyed by the token's SHA-256: an active token
 * until min(exp, now + introspect_cache), an inactive one for a few
 * seconds.  Revocations and not-before times are checked on every use
 * (authn.c), never cached.  A key manager that cannot answer gives 503.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "gateway/auth.h"

#define INACTIVE_KEEP_MS 5000

struct gw_introspect_cache {
	struct gw_token_cache *c;
	int64_t keep_ms;                /* introspect_cache */
};

/* One introspection in flight. */
struct icall {
	struct gw_req *r;
	unsigned char key[32];
};

struct gw_introspect_cache *
gw_introspect_cache_new(size_t max)
{
	struct gw_introspect_cache *ic = calloc(1, sizeof(*ic));

	if (ic == NULL)
		return NULL;
	ic->keep_ms = gw.cfg != NULL ? gw_setting_int("introspect_cache") : 60000;
	ic->c = gw_token_cache_new(ic->keep_ms > 0 ? max : 0);
	if (ic->c == NULL) {
		free(ic);
		return NULL;
	}
	return ic;
}

void
gw_introspect_cache_free(struct gw_introspect_cache *ic)
{
	if (ic == NULL)
		return;
	gw_token_cache_free(ic->c);
	free(ic);
}

static int
aud_ok(struct json_object *o)
{
	struct json_object *a;

	if (!json_object_object_get_ex(o, "aud", &a))
		return 0;
	if (json_object_is_type(a, json_type_string))
		return strcmp(json_object_get_string(a), GW_AUD_GATEWAY) == 0;
	if (!json_object_is_type(a, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		if (json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), GW_AUD_GATEWAY) == 0)
			return 1;
	}
	return 0;
}

/* The key manager's answer → GW_OK (r->who filled), or a refusal. */
static enum gw_rc
answer(struct gw_req *r, const unsigned char key[32], const struct gh_httpc_resp *resp)
{
	struct gw_introspect_cache *ic = r->w->opaque;
	struct json_object *o;
	const char *why = NULL, *cwhy = NULL, *iss;
	int64_t now = gw_auth_now_ms(), until;
	int active = 0;
	enum gw_rc rc;

	if (resp->error != GH_HTTPC_OK)
		return gw_authn_unavailable(r, "The key manager could not be reached to check the token");
	if (resp->status != 200)
		return gw_authn_unavailable(r, "The key manager could not check the token");
	o = gh_json_parse_object(resp->body != NULL ? (const char *)resp->body : "", resp->body_len, &why);
	if (o == NULL || gh_json_bool(o, "active", &active) != 0) {
		json_object_put(o);
		return gw_authn_unavailable(r, "The key manager's introspection answer is malformed");
	}
	iss = gh_json_str(o, "iss");
	if (!active)
		why = "The token is not active";
	else if (!aud_ok(o))
		why = "The token is not meant for the gateways";
	else if (iss != NULL && r->store->issuer != NULL && strcmp(iss, r->store->issuer) != 0)
		why = "The token's issuer is not the key manager";
	else if (gw_principal_from_claims(o, 2, &r->who, &cwhy) != 0)
		why = cwhy;
	else if (r->who.exp != 0 && r->who.exp * 1000 <= now)
		why = "The token expired";
	json_object_put(o);
	if (why != NULL) {
		gw_principal_reset(&r->who);
		if (ic != NULL)
			gw_token_cache_put(ic->c, key, 32, now + (ic->keep_ms < INACTIVE_KEEP_MS ? ic->keep_ms :
			    INACTIVE_KEEP_MS), NULL);
		return gw_authn_refuse(r, 0, why);
	}
	if (ic != NULL) {
		until = now + ic->keep_ms;
		if (r->who.exp != 0 && r->who.exp * 1000 < until)
			until = r->who.exp * 1000;
		gw_token_cache_put(ic->c, key, 32, until, &r->who);
	}
	rc = gw_authn_accept(r);
	return rc;
}

static void
on_answer(struct gh_httpc_resp *resp, void *arg)
{
	struct icall *call = arg;
	struct gw_req *r = call->r;
	enum gw_rc rc;

	r->phase_ctx = NULL;
	if (resp->error != GH_HTTPC_OK && r->http != NULL)
		gh_log_warn("introspect", r->http->request_id, "key manager: %s",
		    resp->errstr ? resp->errstr : "error");
	rc = answer(r, call->key, resp);
	explicit_bzero(call->key, sizeof(call->key));
	free(call);
	gw_pipeline_resume(r, rc);
}

enum gw_rc
gw_introspect(struct gw_req *r, const char *tok, size_t len)
{
	struct gw_worker *w = r->w;
	struct gw_introspect_cache *ic = w->opaque;
	struct gh_http_header hdrs[2] = {
		{ "Content-Type", "application/json" },
		{ "Accept", "application/json" },
	};
	struct gh_httpc_opts opts = { 2000, 5000 };
	const char *url = r->store->introspect_url;
	unsigned char key[32];
	struct icall *call;
	char *body;
	size_t blen;
	enum gw_rc rc;
	int hit;

	if (len == 0 || len > GW_TOKEN_MAX)
		return gw_authn_refuse(r, 0, "The token is malformed");
	for (size_t i = 0; i < len; i++)
		if (tok[i] == '"' || tok[i] == '\\' || (unsigned char)tok[i] < 0x20)
			return gw_authn_refuse(r, 0, "The token is malformed");
	if (gh_sha256(tok, len, key) != 0)
		return GW_ERROR;
	hit = gw_token_cache_get(ic != NULL ? ic->c : NULL, key, sizeof(key), gw_auth_now_ms(), &r->who);
	if (hit == 1)
		return gw_authn_accept(r);
	if (hit == -1)
		return gw_authn_refuse(r, 0, "The token is not active");
	if ((rc = gw_authn_limit(r)) != GW_OK)
		return rc;
	if (url == NULL || url[0] == '\0' || w->km == NULL)
		return gw_authn_unavailable(r, "No key manager is configured to check opaque tokens");
	blen = len + 12;
	body = malloc(blen + 1);
	call = calloc(1, sizeof(*call));
	if (body == NULL || call == NULL) {
		free(body);
		free(call);
		return GW_ERROR;
	}
	snprintf(body, blen + 1, "{\"token\":\"%.*s\"}", (int)len, tok);
	call->r = r;
	memcpy(call->key, key, sizeof(key));
	r->phase_ctx = call;
	if (gh_httpc_request_opts(w->km, &opts, "POST", url, hdrs, 2, body, blen, on_answer, call) != 0) {
		r->phase_ctx = NULL;
		free(call);
		gh_free_secret_n(body, blen);
		return gw_authn_unavailable(r, "The key manager's introspection URL is unusable");
	}
	gh_free_secret_n(body, blen);
	return GW_AGAIN;
}
