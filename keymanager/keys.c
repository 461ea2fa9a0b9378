/*
 * Token-signing keys.  They live in gh_signing_keys, private halves sealed
 * with the node's key-encryption key, so every key manager node signs with
 * the same keys.  This module keeps them in memory behind a read-write
 * lock: the newest active key of each algorithm signs; every key that is
 * active or retired but not past its not_after is published in the JWKS
 * and verifies.  Workers reload when the copy is old or a kid is unknown.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "keymanager/km.h"

struct km_keys {
	struct gh_jwks *set;                 /* published keys (with private halves) */
	const struct gh_jwk *current[4];     /* signer per enum gh_jose_alg */
	char *jwks_json;
	int64_t loaded_ms;
};

static pthread_rwlock_t keys_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
keys_destroy(struct km_keys *k)
{
	if (k == NULL)
		return;
	gh_jwks_free(k->set);
	free(k->jwks_json);
	free(k);
}

/* Build a new key table from the database.  NULL on error or when no key can sign. */
static struct km_keys *
keys_read(struct gh_pg *db)
{
	struct km_keys *k = calloc(1, sizeof(*k));
	PGresult *res;
	struct json_object *js;
	int n;

	if (k == NULL || (k->set = gh_jwks_new()) == NULL)
		goto fail;
	res = gh_pg_exec(db, "SELECT kid, alg, private_key_enc, status FROM gh_signing_keys "
	    "WHERE status = 'active' OR not_after > now() ORDER BY created_at", 0, NULL);
	if (res == NULL)
		goto fail;
	n = gh_pg_nrows(res);
	for (int i = 0; i < n; i++) {
		const char *kid = gh_pg_get(res, i, 0);
		enum gh_jose_alg alg = gh_jose_alg_from_name(gh_pg_get(res, i, 1));
		size_t enclen = 0, pemlen = 0;
		unsigned char *enc = gh_pg_get_bytea(res, i, 2, &enclen), *pem = NULL;
		struct gh_jwk *jwk = NULL;

		if (enc != NULL && gh_secretbox_open(km.kek, kid, strlen(kid), enc, enclen, &pem, &pemlen) == 0)
			jwk = gh_jwk_from_pem((const char *)pem, pemlen, kid);
		if (pem != NULL)
			gh_free_secret_n(pem, pemlen);
		free(enc);
		if (jwk == NULL || jwk->alg != alg || gh_jwks_add(k->set, jwk) != 0) {
			gh_log_error("signing_key", NULL, "key %s cannot be opened with this node's "
			    "keys.signing_kek; skipped", kid);
			gh_jwk_free(jwk);
			continue;
		}
		if (strcmp(gh_pg_get(res, i, 3), "active") == 0)
			k->current[alg] = jwk;  /* ordered by age: the newest active wins */
	}
	PQclear(res);
	js = gh_jwks_to_json(k->set);
	k->jwks_json = js ? strdup(json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN)) : NULL;
	json_object_put(js);
	if (k->jwks_json == NULL || (k->current[GH_JOSE_RS256] == NULL && k->current[GH_JOSE_ES256] == NULL))
		goto fail;
	k->loaded_ms = now_ms();
	return k;
fail:
	keys_destroy(k);
	return NULL;
}

int
km_keys_load(struct gh_pg *db)
{
	struct km_keys *k = keys_read(db), *old;

	if (k == NULL)
		return -1;
	pthread_rwlock_wrlock(&keys_lock);
	old = km.keys;
	km.keys = k;
	pthread_rwlock_unlock(&keys_lock);
	keys_destroy(old);
	return 0;
}

void
km_keys_refresh(struct gh_pg *db, int64_t max_age_ms)
{
	int64_t loaded;

	pthread_rwlock_rdlock(&keys_lock);
	loaded = km.keys ? km.keys->loaded_ms : 0;
	pthread_rwlock_unlock(&keys_lock);
	if (now_ms() - loaded < max_age_ms)
		return;
	/* One reload at a time; the others keep using the current table. */
	if (pthread_mutex_trylock(&reload_lock) != 0)
		return;
	km_keys_load(db);
	pthread_mutex_unlock(&reload_lock);
}

int
km_keys_fresh(int64_t max_age_ms)
{
	int64_t loaded;

	pthread_rwlock_rdlock(&keys_lock);
	loaded = km.keys ? km.keys->loaded_ms : 0;
	pthread_rwlock_unlock(&keys_lock);
	return now_ms() - loaded < max_age_ms;
}

void
km_keys_free(void)
{
	keys_destroy(km.keys);
	km.keys = NULL;
}

char *
km_keys_sign(struct json_object *claims, enum gh_jose_alg alg)
{
	enum gh_jose_err err;
	char *tok = NULL;

	if (alg == GH_JOSE_ALG_UNKNOWN)
		alg = km.token_alg;
	pthread_rwlock_rdlock(&keys_lock);
	if (km.keys != NULL && km.keys->current[alg] != NULL)
		tok = gh_jws_sign_claims(km.keys->current[alg], claims, &err);
	pthread_rwlock_unlock(&keys_lock);
	return tok;
}

char *
km_keys_sign_text(const char *payload, size_t len, enum gh_jose_alg alg)
{
	enum gh_jose_err err;
	char *tok = NULL;

	if (alg == GH_JOSE_ALG_UNKNOWN)
		alg = km.token_alg;
	pthread_rwlock_rdlock(&keys_lock);
	if (km.keys != NULL && km.keys->current[alg] != NULL)
		tok = gh_jws_sign(km.keys->current[alg], payload, len, &err);
	pthread_rwlock_unlock(&keys_lock);
	return tok;
}

enum gh_jose_err
km_keys_verify(const char *token, size_t len, struct gh_jws *out)
{
	enum gh_jose_err err = GH_JOSE_EKID;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&keys_lock);
	if (km.keys != NULL)
		err = gh_jws_verify(token, len, km.keys->set, out);
	out->key = NULL;  /* the table may be swapped after the lock is released */
	pthread_rwlock_unlock(&keys_lock);
	return err;
}

char *
km_keys_jwks_json(void)
{
	char *s = NULL;

	pthread_rwlock_rdlock(&keys_lock);
	if (km.keys != NULL)
		s = strdup(km.keys->jwks_json);
	pthread_rwlock_unlock(&keys_lock);
	return s;
}

struct rotate_ctx {
	enum gh_jose_alg alg;
	int64_t ttl;
	struct gh_jwk *key;
	unsigned char *box;
	size_t boxlen;
	char *jwk_json;
};

static int
rotate_tx(struct gh_pg *db, void *arg)
{
	struct rotate_ctx *r = arg;
	char ttl[24], payload[256];
	const char *alg = gh_jose_alg_name(r->alg);
	const char *p2[2] = { alg, ttl };
	const char *p4[4] = { r->key->kid, alg, r->jwk_json, (const char *)r->box };
	size_t lens[4] = { strlen(r->key->kid), strlen(alg), strlen(r->jwk_json), r->boxlen };
	int bin[4] = { 0, 0, 0, 1 };
	PGresult *res;

	snprintf(ttl, sizeof(ttl), "%lld", (long long)r->ttl);
	if (gh_pg_cmd(db, "UPDATE gh_signing_keys SET status = 'retired', "
	    "not_after = now() + make_interval(secs => $2::bigint) WHERE alg = $1 AND status = 'active'",
	    2, p2, NULL) != 0)
		return -1;
	res = gh_pg_exec_len(db, "INSERT INTO gh_signing_keys (kid, alg, public_jwk, private_key_enc) "
	    "VALUES ($1, $2, $3::jsonb, $4)", 4, p4, lens, bin);
	if (res == NULL)
		return -1;
	PQclear(res);
	snprintf(payload, sizeof(payload), "{\"kid\":\"%s\",\"alg\":\"%s\"}", r->key->kid, alg);
	return gh_outbox_append(db, "*", "signing_key.rotated", payload, NULL);
}

int
km_keys_rotate(struct gh_pg *db, enum gh_jose_alg alg, int64_t max_token_ttl)
{
	struct rotate_ctx r = { .alg = alg, .ttl = max_token_ttl };
	struct json_object *js = NULL;
	char *pem = NULL;
	int rc = -1;

	r.key = gh_jwk_generate(alg, NULL);
	if (r.key == NULL || (pem = gh_jwk_private_pem(r.key)) == NULL ||
	    (js = gh_jwk_to_json(r.key)) == NULL ||
	    (r.jwk_json = strdup(json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN))) == NULL ||
	    gh_secretbox_seal(km.kek, r.key->kid, strlen(r.key->kid), pem, strlen(pem), &r.box, &r.boxlen) != 0)
		goto out;
	if (gh_pg_run_tx(db, 0, rotate_tx, &r) != 0)
		goto out;
	gh_log_info("signing_key_rotated", NULL, "%s key %s signs from now on", gh_jose_alg_name(alg), r.key->kid);
	rc = km_keys_load(db);
out:
	if (pem != NULL)
		gh_free_secret(pem);
	json_object_put(js);
	free(r.jwk_json);
	free(r.box);
	gh_jwk_free(r.key);
	return rc;
}
