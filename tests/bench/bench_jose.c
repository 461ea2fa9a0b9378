/*
 * JOSE benchmark for tests/bench/foundation.sh: compact JWS sign and
 * verify rates through gh_jws_sign() and gh_jws_verify() for RS256,
 * ES256 and EdDSA.  Each algorithm signs one typical access-token payload
 * (about 400 bytes of token for ES256 and EdDSA) and verifies it against
 * a JWKS of two keys of that algorithm read back from JSON text, the
 * signing key second, as a gateway would.  Rates are operations per
 * second of process CPU time, the divisor `openssl speed` uses too.
 * Prints "bench: NAME VALUE UNIT" lines; exits 1 when anything fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "core/gh_jose.h"

/* A typical access token's claims; the same bytes for every algorithm. */
static const char claims_json[] =
    "{\"iss\":\"https://gw.example.com/oauth2/token\",\"sub\":\"alice@example.com\","
    "\"aud\":\"Xq3hbJ9xT5lN2pW7\",\"exp\":1900000000,\"iat\":1700000000,"
    "\"jti\":\"6f1c0f4e-8f2b-4a7d-9a51\",\"scope\":\"read write\"}";

/* Clock checks happen once per this many operations. */
#define BATCH 16

/* One algorithm's keys: priv holds both private keys, pub the same two read back from a JWKS. */
struct bench_keys {
	enum gh_jose_alg	 alg;
	struct gh_jwks		*priv;
	struct gh_jwks		*pub;
	const struct gh_jwk	*signer;	/* borrowed from priv */
};

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
keys_clear(struct bench_keys *k)
{
	gh_jwks_free(k->priv);
	gh_jwks_free(k->pub);
	memset(k, 0, sizeof(*k));
}

/* Fill k for alg: two fresh keys, the JWKS text of their public halves parsed back.  0 or -1. */
static int
keys_make(struct bench_keys *k, enum gh_jose_alg alg)
{
	struct gh_jwk *key = NULL;
	struct json_object *j = NULL;
	enum gh_jose_err err = GH_JOSE_OK;
	const char *text;
	const char *suffix[2] = { "old", "cur" };
	char kid[64];
	size_t skipped = 0;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	k->priv = gh_jwks_new();
	if (k->priv == NULL)
		goto fail;
	for (int i = 0; i < 2; i++) {
		snprintf(kid, sizeof(kid), "bench-%s-%s", gh_jose_alg_name(alg), suffix[i]);
		key = gh_jwk_generate(alg, kid);
		if (key == NULL || gh_jwks_add(k->priv, key) < 0)
			goto fail;
		key = NULL;
	}
	k->signer = k->priv->keys[1];
	j = gh_jwks_to_json(k->priv);
	if (j == NULL)
		goto fail;
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	k->pub = gh_jwks_parse(text, strlen(text), &skipped, &err);
	if (k->pub == NULL || k->pub->count != 2 || skipped != 0)
		goto fail;
	json_object_put(j);
	return 0;
fail:
	fprintf(stderr, "bench_jose: %s: could not build the key set (%s)\n",
	    gh_jose_alg_name(alg), gh_jose_strerror(err));
	gh_jwk_free(key);
	json_object_put(j);
	keys_clear(k);
	return -1;
}

/* Check that token verifies with the right key and claims, and that a changed signature does not.  0 or -1. */
static int
check_token(const struct bench_keys *k, const char *token)
{
	struct gh_jws jws;
	struct json_object *sub;
	enum gh_jose_err err;
	size_t len = strlen(token);
	char *bad;
	int ok;

	memset(&jws, 0, sizeof(jws));
	err = gh_jws_verify(token, len, k->pub, &jws);
	ok = err == GH_JOSE_OK && jws.key == k->pub->keys[1] && jws.claims != NULL &&
	    json_object_object_get_ex(jws.claims, "sub", &sub) &&
	    strcmp(json_object_get_string(sub), "alice@example.com") == 0;
	gh_jws_clear(&jws);
	if (!ok) {
		fprintf(stderr, "bench_jose: %s: a fresh token does not verify (%s)\n",
		    gh_jose_alg_name(k->alg), gh_jose_strerror(err));
		return -1;
	}
	bad = strdup(token);
	if (bad == NULL)
		return -1;
	/* A character in the middle of the signature, changed to another base64url one. */
	{
		char *sig = strrchr(bad, '.') + 1;
		size_t mid = strlen(sig) / 2;
		sig[mid] = sig[mid] == 'A' ? 'B' : 'A';
	}
	err = gh_jws_verify(bad, len, k->pub, NULL);
	free(bad);
	if (err != GH_JOSE_ESIG) {
		fprintf(stderr, "bench_jose: %s: a changed signature gave %s, not a bad signature\n",
		    gh_jose_alg_name(k->alg), gh_jose_strerror(err));
		return -1;
	}
	return 0;
}

/* Sign the claims for at least seconds of CPU time; ops per CPU second, or -1. */
static double
rate_sign(const struct bench_keys *k, double seconds)
{
	double start = cpu_seconds(), elapsed;
	long ops = 0;

	do {
		for (int i = 0; i < BATCH; i++) {
			enum gh_jose_err err = GH_JOSE_OK;
			char *t = gh_jws_sign(k->signer, claims_json, sizeof(claims_json) - 1, &err);

			if (t == NULL) {
				fprintf(stderr, "bench_jose: %s: sign failed (%s)\n",
				    gh_jose_alg_name(k->alg), gh_jose_strerror(err));
				return -1;
			}
			free(t);
		}
		ops += BATCH;
		elapsed = cpu_seconds() - start;
	} while (elapsed < seconds);
	return (double)ops / elapsed;
}

/* Verify token, claims handed back and released, for at least seconds of CPU time; ops per CPU second, or -1. */
static double
rate_verify(const struct bench_keys *k, const char *token, double seconds)
{
	size_t len = strlen(token);
	double start = cpu_seconds(), elapsed;
	long ops = 0;

	do {
		for (int i = 0; i < BATCH; i++) {
			struct gh_jws jws;
			enum gh_jose_err err;

			memset(&jws, 0, sizeof(jws));
			err = gh_jws_verify(token, len, k->pub, &jws);
			if (err != GH_JOSE_OK || jws.claims == NULL) {
				fprintf(stderr, "bench_jose: %s: verify failed (%s)\n",
				    gh_jose_alg_name(k->alg), gh_jose_strerror(err));
				gh_jws_clear(&jws);
				return -1;
			}
			gh_jws_clear(&jws);
		}
		ops += BATCH;
		elapsed = cpu_seconds() - start;
	} while (elapsed < seconds);
	return (double)ops / elapsed;
}

/* Check, then measure sign and verify of one algorithm and print its lines.  0 or -1. */
static int
run_alg(enum gh_jose_alg alg, const char *name, double seconds)
{
	struct bench_keys k;
	enum gh_jose_err err = GH_JOSE_OK;
	char *token = NULL;
	double sign, verify;
	int rc = -1;

	if (keys_make(&k, alg) < 0)
		return -1;
	token = gh_jws_sign(k.signer, claims_json, sizeof(claims_json) - 1, &err);
	if (token == NULL) {
		fprintf(stderr, "bench_jose: %s: sign failed (%s)\n", name, gh_jose_strerror(err));
		goto out;
	}
	if (check_token(&k, token) < 0)
		goto out;
	sign = rate_sign(&k, seconds);
	if (sign < 0)
		goto out;
	verify = rate_verify(&k, token, seconds);
	if (verify < 0)
		goto out;
	printf("bench: jose_%s_token_size %zu bytes\n", name, strlen(token));
	printf("bench: jose_%s_sign %.0f ops/s\n", name, sign);
	printf("bench: jose_%s_verify %.0f ops/s\n", name, verify);
	fflush(stdout);
	rc = 0;
out:
	free(token);
	keys_clear(&k);
	return rc;
}

int
main(int argc, char **argv)
{
	static const enum gh_jose_alg algs[] = { GH_JOSE_RS256, GH_JOSE_ES256, GH_JOSE_EDDSA };
	static const char *const names[] = { "rs256", "es256", "eddsa" };
	double seconds = 2.0;
	char *end;

	if (argc > 2) {
		fprintf(stderr, "usage: bench_jose [SECONDS]\n");
		return 2;
	}
	if (argc == 2) {
		seconds = strtod(argv[1], &end);
		if (*argv[1] == '\0' || *end != '\0' || !(seconds > 0 && seconds <= 60)) {
			fprintf(stderr, "usage: bench_jose [SECONDS]  (0 < SECONDS <= 60)\n");
			return 2;
		}
	}
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (run_alg(algs[i], names[i], seconds) < 0)
			return 1;
	return 0;
}
