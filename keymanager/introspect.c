/*
 * Token introspection (RFC 7662) and revocation (RFC 7009) on the public
 * port, for authenticated clients, and the gateways' introspection on the
 * internal mutual-TLS port.  A tenant's client sees only its own tenant's
 * tokens as active; the gateways (gw-internal, gw-external certificates)
 * see every tenant.  Revocation writes the revoked jtis and their
 * token.revoked events for the gateways in one transaction.  Validation
 * itself is validate.c; JWKS and metadata are discovery.c.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "keymanager/km.h"
#include "keymanager/oauth.h"

#define FORM_MAX_PAIRS 32

/* Members of the token's claims copied into an RFC 7662 answer. */
static const char *const answer_claims[] = {
	"scope", "client_id", "exp", "iat", "nbf", "sub", "aud", "iss", "jti", "tenant",
	"application", "keytype",
};

/* The RFC 7662 answer for t (new object; json_object_put). */
static struct json_object *
introspection_answer(const struct km_token_info *t)
{
	struct json_object *o = json_object_new_object(), *v;

	json_object_object_add(o, "active", json_object_new_boolean(t->active));
	if (!t->active || t->claims == NULL)
		return o;
	for (size_t i = 0; i < sizeof(answer_claims) / sizeof(answer_claims[0]); i++)
		if (json_object_object_get_ex(t->claims, answer_claims[i], &v))
			json_object_object_add(o, answer_claims[i], json_object_get(v));
	if (json_object_object_get_ex(t->claims, "sub", &v))
		json_object_object_add(o, "username", json_object_get(v));
	json_object_object_add(o, "token_type",
	    json_object_new_string(t->is_refresh ? "refresh_token" : "Bearer"));
	return o;
}

static void
reply_answer(struct gh_call *c, const struct km_token_info *t)
{
	struct json_object *o = introspection_answer(t);

	gh_reply_json(c, 200, o);
	json_object_put(o);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_reply_header(c, "Pragma", "no-cache");
}

/*
 * The common start of introspection and revocation: the form, the
 * calling client, the token parameter, and what the token is.  0 with *f,
 * *cl and *t to release (gh_form_free, km_client_clear,
 * km_token_info_clear); -1 replied, nothing to release.
 */
static int
client_token(struct gh_call *c, struct gh_pg *db, struct gh_form *f, struct km_client *cl,
    struct km_token_info *t)
{
	const char *token;

	memset(t, 0, sizeof(*t));
	if (km_oauth_form_parse(c, f) != 0)
		return -1;
	if (km_client_authenticate(c, db, f, cl) != 0)
		goto fail_form;
	token = gh_form_get(f, "token");
	if (token == NULL) {
		gh_reply_oauth_error(c, 400, "invalid_request", "The token parameter is missing");
		goto fail;
	}
	if (km_token_inspect(db, token, gh_form_get(f, "token_type_hint"), t) != 0) {
		gh_reply_oauth_error(c, 503, "temporarily_unavailable", "The token could not be checked");
		goto fail;
	}
	return 0;
fail:
	km_token_info_clear(t);
	km_client_clear(cl);
fail_form:
	gh_form_free(f);
	return -1;
}

/* POST /oauth2/introspect */
static void
introspect(struct gh_call *c, struct gh_pg *db)
{
	struct gh_form f;
	struct km_client cl;
	struct km_token_info t;

	KM_COUNT(introspections);
	if (client_token(c, db, &f, &cl, &t) != 0)
		return;
	/* A tenant's client sees other tenants' tokens as inactive. */
	if (t.active && (t.tenant == NULL || cl.tenant == NULL || strcmp(t.tenant, cl.tenant) != 0))
		km_token_info_clear(&t);
	reply_answer(c, &t);
	km_token_info_clear(&t);
	km_client_clear(&cl);
	gh_form_free(&f);
}

struct revoke_ctx {
	const struct km_token_info *t;
	const char *tenant;
	int64_t revoked;        /* access tokens newly revoked */
	int64_t refresh;        /* refresh tokens newly revoked */
};

/* One access token by its jti. */
static int
revoke_access_tx(struct gh_pg *db, void *arg)
{
	struct revoke_ctx *r = arg;
	int n = km_revoke_jti(db, "token.revoked", r->t->jti, r->t->client_id, r->tenant, r->t->exp);

	if (n < 0)
		return -1;
	r->revoked = n;
	return 0;
}

/* A refresh token: its whole family, refresh and access tokens. */
static int
revoke_family_tx(struct gh_pg *db, void *arg)
{
	struct revoke_ctx *r = arg;
	int n = km_revoke_family(db, r->t->family_id, r->tenant, &r->refresh);

	if (n < 0)
		return -1;
	r->revoked = n;
	return 0;
}

/*
 * POST /oauth2/revoke.  Unknown, invalid and expired tokens answer 200
 * (RFC 7009 §2.2).  A token issued to another client is left alone and
 * also answers 200: the server revokes only tokens issued to the caller
 * (§2.1), and the answer does not tell others' tokens from unknown ones.
 */
static void
revoke(struct gh_call *c, struct gh_pg *db)
{
	struct gh_form f;
	struct km_client cl;
	struct km_token_info t;
	struct revoke_ctx r = { 0 };
	struct json_object *d = NULL;
	int rc;

	KM_COUNT(revocations);
	if (client_token(c, db, &f, &cl, &t) != 0)
		return;
	if (!t.active)
		goto done;
	if (t.client_id == NULL || strcmp(t.client_id, cl.client_id) != 0) {
		d = json_object_new_object();
		json_object_object_add(d, "reason", json_object_new_string("token of another client"));
		km_audit(db, c, cl.client_id, cl.tenant, "token.revoke", t.jti ? t.jti : t.family_id,
		    "failure", d);
		goto done;
	}
	r.t = &t;
	r.tenant = t.tenant ? t.tenant : cl.tenant;
	if (t.is_refresh && t.family_id != NULL)
		rc = gh_pg_run_tx(db, 0, revoke_family_tx, &r);
	else if (t.jti != NULL)
		rc = gh_pg_run_tx(db, 0, revoke_access_tx, &r);
	else
		goto done;
	if (rc != 0) {
		gh_log_error("token_revoke", c->request_id, "revocation for %s failed: %s", cl.client_id,
		    gh_pg_errmsg(db));
		gh_reply_oauth_error(c, 503, "temporarily_unavailable", "The token could not be revoked");
		goto out;
	}
	d = json_object_new_object();
	json_object_object_add(d, "token_type", json_object_new_string(t.is_refresh ? "refresh_token" : "access_token"));
	json_object_object_add(d, "access_tokens_revoked", json_object_new_int64(r.revoked));
	if (t.is_refresh)
		json_object_object_add(d, "refresh_tokens_revoked", json_object_new_int64(r.refresh));
	km_audit(db, c, cl.client_id, r.tenant, "token.revoke",
	    t.is_refresh ? t.family_id : t.jti, "success", d);
done:
	gh_reply_raw(c, 200, NULL, NULL, 0);
	gh_reply_header(c, "Cache-Control", "no-store");
out:
	json_object_put(d);
	km_token_info_clear(&t);
	km_client_clear(&cl);
	gh_form_free(&f);
}

/*
 * POST /internal/km/v1/introspect: gateways only (their certificate's
 * role), every tenant.  Body form or JSON {"token", "token_type_hint"}.
 */
static void
internal_introspect(struct gh_call *c, struct gh_pg *db)
{
	struct gh_form f;
	struct json_object *o = NULL;
	struct km_token_info t;
	const char *token = NULL, *hint = NULL, *why = NULL;

	KM_COUNT(introspections);
	memset(&f, 0, sizeof(f));
	memset(&t, 0, sizeof(t));
	if (!c->has_peer_id || (strcmp(c->peer_id.role, "gw-internal") != 0 &&
	    strcmp(c->peer_id.role, "gw-external") != 0)) {
		gh_reply_error(c, 403, "Forbidden", "Only gateways may introspect tokens on this port");
		return;
	}
	if (gh_call_ctype_is(c, "application/json")) {
		o = gh_json_parse_object(c->body ? c->body : "", c->body_len, &why);
		if (o == NULL) {
			gh_reply_error(c, 400, "Bad Request", why);
			return;
		}
		token = gh_json_str(o, "token");
		hint = gh_json_str(o, "token_type_hint");
	} else if (gh_call_ctype_is(c, "application/x-www-form-urlencoded")) {
		if (gh_form_parse(c->body ? c->body : "", c->body_len, FORM_MAX_PAIRS, &f) != 0 ||
		    gh_form_count(&f, "token") > 1 || gh_form_count(&f, "token_type_hint") > 1) {
			gh_reply_error(c, 400, "Bad Request", "Malformed form body or a repeated parameter");
			goto out;
		}
		token = gh_form_get(&f, "token");
		hint = gh_form_get(&f, "token_type_hint");
	} else {
		gh_reply_error(c, 400, "Bad Request",
		    "The body must be application/json or application/x-www-form-urlencoded");
		return;
	}
	if (token == NULL) {
		gh_reply_error(c, 400, "Bad Request", "The token member is missing");
		goto out;
	}
	if (km_token_inspect(db, token, hint, &t) != 0) {
		gh_reply_error(c, 503, "Service Unavailable", "The token could not be checked");
		goto out;
	}
	reply_answer(c, &t);
out:
	km_token_info_clear(&t);
	json_object_put(o);
	gh_form_free(&f);
}

void
km_endpoint_routes(struct gh_router *pub)
{
	gh_call_route(pub, "POST", "/oauth2/introspect", introspect);
	gh_call_route(pub, "POST", "/oauth2/revoke", revoke);
	km_discovery_routes(pub);
}

void
km_internal_introspect_routes(struct gh_router *internal)
{
	gh_call_route(internal, "POST", "/internal/km/v1/introspect", internal_introspect);
}
