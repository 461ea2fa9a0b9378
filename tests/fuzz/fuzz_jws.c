/*
 * Fuzz target for JOSE input handling (core/jose_jws.c, jose_jwk.c): the
 * input is a compact JWS checked with gh_jws_verify() against a fixed set
 * of three keys (RS256, ES256, EdDSA, generated once at start-up), and
 * with gh_jws_verify_key() against each key alone; a token that verifies
 * has its claims checked.  The same bytes are read as a JWKS by
 * gh_jwks_parse().  Since random bytes never carry a valid signature,
 * the input is also signed as a payload with the EdDSA key and that
 * token verified, so the claims of accepted tokens are fuzzed too.
 * Everything returned is released here.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/gh_jose.h"
#include "fuzz.h"

static struct gh_jwks *set;
static struct gh_jwk *keys[3];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct {
		enum gh_jose_alg alg;
		const char *kid;
	} want[] = {
		{ GH_JOSE_RS256, "rsa-1" },
		{ GH_JOSE_ES256, "ec-1" },
		{ GH_JOSE_EDDSA, "ed-1" },
	};

	(void)argc;
	(void)argv;
	set = gh_jwks_new();
	if (set == NULL)
		abort();
	for (size_t i = 0; i < 3; i++) {
		struct gh_jwk *k = gh_jwk_generate(want[i].alg, want[i].kid);

		if (k == NULL || gh_jwks_add(set, k) != 0)
			abort();
		keys[i] = k;     /* borrowed from the set */
	}
	return 0;
}

static void
verified(struct gh_jws *jws)
{
	struct gh_jwt_expect ex = { 0 };

	if (jws->claims != NULL) {
		ex.now = 1700000000;
		ex.leeway = 60;
		ex.iss = "https://gatehouse.test/oauth2/token";
		ex.aud = "fuzz";
		(void)gh_jwt_check_claims(jws->claims, &ex);
	}
	gh_jws_clear(jws);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct gh_jws jws = { 0 };
	struct gh_jwks *parsed;
	size_t skipped = 0;
	enum gh_jose_err err = GH_JOSE_OK;
	char *tok;

	if (gh_jws_verify(s, size, set, &jws) == GH_JOSE_OK)
		verified(&jws);
	for (size_t i = 0; i < 3; i++) {
		struct gh_jws one = { 0 };

		if (gh_jws_verify_key(s, size, keys[i], &one) == GH_JOSE_OK)
			verified(&one);
	}
	tok = gh_jws_sign(keys[2], data, size, &err);
	if (tok != NULL) {
		struct gh_jws own = { 0 };

		if (gh_jws_verify(tok, strlen(tok), set, &own) == GH_JOSE_OK)
			verified(&own);
		else if (strlen(tok) <= GH_JWS_MAX)
			abort();     /* our own token must verify */
		free(tok);
	}
	parsed = gh_jwks_parse(s, size, &skipped, &err);
	if (parsed != NULL) {
		struct json_object *back = gh_jwks_to_json(parsed);

		for (size_t i = 0; i < parsed->count; i++) {
			char tp[GH_JWK_THUMBPRINT_LEN + 1];

			(void)gh_jwk_thumbprint(parsed->keys[i], tp);
		}
		json_object_put(back);
		gh_jwks_free(parsed);
	}
	return 0;
}
