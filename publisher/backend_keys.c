/*
 * POST /internal/data/v1/backend-keys {"kid", "jwk"}: a gateway registers
 * the public key with which it signs backend JWTs.  The environment and
 * node come from its certificate; the JWK must be public (private members
 * refused) and readable by gh_jwk_from_json (RSA >= 2048, P-256, Ed25519),
 * and is stored re-serialized so that only well-formed public members
 * reach gh_backend_keys, from which the key manager publishes
 * /oauth2/jwks/backend/{environment}.  201 created (or replaced by the
 * same node), 200 unchanged, 409 when another node holds the kid.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_jose.h"
#include "core/gh_json.h"
#include "publisher/pub_feed.h"

#define KEYS_PER_ENV_MAX 64

static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL };

struct key_put {
	const char *env, *node, *kid, *jwk;
	struct gh_call *c;
	int outcome;            /* 201 created/replaced, 200 unchanged, 409 another node's kid or too many */
	const char *why;
};

static int
key_put_tx(struct gh_pg *db, void *arg)
{
	struct key_put *k = arg;
	const char *p[4] = { k->env, k->kid, k->jwk, k->node };
	struct json_object *d;
	PGresult *res;
	int64_t n = 0;
	char actor[200];

	k->outcome = 0;
	res = gh_pg_exec(db, "SELECT node, jwk = $3::jsonb FROM gh_backend_keys WHERE environment = $1 "
	    "AND kid = $2 FOR UPDATE", 3, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) == 1) {
		int same_node = strcmp(gh_pg_get(res, 0, 0), k->node) == 0;
		int same_key = strcmp(gh_pg_get(res, 0, 1), "t") == 0;
		PQclear(res);
		if (!same_node) {
			k->outcome = 409;
			k->why = "Another gateway node of this environment registered this kid";
			return 1;
		}
		if (same_key) {
			k->outcome = 200;
			return 0;
		}
		if (gh_pg_cmd(db, "UPDATE gh_backend_keys SET jwk = $3::jsonb, created_at = now() "
		    "WHERE environment = $1 AND kid = $2", 3, p, NULL) != 0)
			return -1;
	} else {
		PQclear(res);
		if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_backend_keys WHERE environment = $1", 1, p, &n) != 0)
			return -1;
		if (n >= KEYS_PER_ENV_MAX) {
			k->outcome = 409;
			k->why = "This environment holds the most backend keys it may publish";
			return 1;
		}
		if (gh_pg_cmd(db, "INSERT INTO gh_backend_keys (environment, node, kid, jwk) "
		    "VALUES ($1, $4, $2, $3::jsonb)", 4, p, NULL) != 0)
			return -1;
	}
	k->outcome = 201;
	snprintf(actor, sizeof(actor), "gateway %s/%s", k->env, k->node);
	d = json_object_new_object();
	json_object_object_add(d, "environment", json_object_new_string(k->env));
	json_object_object_add(d, "node", json_object_new_string(k->node));
	gh_call_audit(db, k->c, "publisher", actor, NULL, "backend_key.register", k->kid,
	    NULL, d);
	json_object_put(d);
	return 0;
}

static void
backend_key_post(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = NULL, *jwk = NULL, *pubj = NULL, *v = NULL;
	struct gh_jwk *key = NULL;
	struct key_put k = { 0 };
	const char *kid = NULL, *why = NULL;
	char *text = NULL;
	int rc;

	if (!c->has_peer_id || (strcmp(c->peer_id.role, "gw-internal") != 0 &&
	    strcmp(c->peer_id.role, "gw-external") != 0) || c->peer_id.env[0] == '\0' || c->peer_id.node[0] == '\0') {
		gh_reply_error(c, 403, "Forbidden", "Only gateway certificates naming an environment and a node "
		    "may register backend keys");
		return;
	}
	if (!gh_call_ctype_is(c, "application/json")) {
		gh_reply_error(c, 415, "Unsupported Media Type", "The Content-Type must be application/json");
		return;
	}
	o = gh_json_parse_object(c->body ? c->body : "", c->body_len, &why);
	if (o == NULL) {
		gh_reply_error(c, 400, "Bad Request", why);
		return;
	}
	kid = gh_json_str(o, "kid");
	if (kid == NULL || kid[0] == '\0' || strlen(kid) > GH_JWK_KID_MAX) {
		gh_reply_error(c, 400, "Bad Request", "kid (a string of 1 to 255 characters) is required");
		goto out;
	}
	for (const char *s = kid; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
			gh_reply_error(c, 400, "Bad Request", "kid must be printable ASCII without blanks");
			goto out;
		}
	if (!json_object_object_get_ex(o, "jwk", &jwk) || !json_object_is_type(jwk, json_type_object)) {
		gh_reply_error(c, 400, "Bad Request", "jwk (a public JWK object) is required");
		goto out;
	}
	for (size_t i = 0; private_members[i] != NULL; i++)
		if (json_object_object_get_ex(jwk, private_members[i], NULL)) {
			gh_reply_error(c, 400, "Bad Request", "jwk must be a public key: private members are refused");
			goto out;
		}
	if (json_object_object_get_ex(jwk, "kid", &v) && (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), kid) != 0)) {
		gh_reply_error(c, 400, "Bad Request", "jwk.kid, when present, must equal kid");
		goto out;
	}
	key = gh_jwk_from_json(jwk, NULL);
	if (key == NULL) {
		gh_reply_error(c, 400, "Bad Request", "jwk must be an RSA (2048 bits or more), EC P-256 or "
		    "OKP Ed25519 public key for signing");
		goto out;
	}
	free(key->kid);
	key->kid = strdup(kid);
	if (key->kid == NULL || (pubj = gh_jwk_to_json(key)) == NULL ||
	    (text = strdup(json_object_to_json_string_ext(pubj, JSON_C_TO_STRING_PLAIN))) == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	k.env = c->peer_id.env;
	k.node = c->peer_id.node;
	k.kid = kid;
	k.jwk = text;
	k.c = c;
	rc = gh_pg_run_tx(db, 0, key_put_tx, &k);
	if (rc == 1)
		gh_reply_error(c, k.outcome, "Conflict", k.why);
	else if (rc != 0)
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	else {
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "environment", json_object_new_string(k.env));
		json_object_object_add(r, "node", json_object_new_string(k.node));
		json_object_object_add(r, "kid", json_object_new_string(kid));
		json_object_object_add(r, "jwk", json_object_get(pubj));
		gh_reply_json(c, k.outcome, r);
		json_object_put(r);
	}
out:
	free(text);
	json_object_put(pubj);
	gh_jwk_free(key);
	json_object_put(o);
}

void
pub_feed_backend_key_routes(struct gh_router *r)
{
	gh_call_route(r, "POST", PUB_FEED_BASE "/backend-keys", backend_key_post);
}
