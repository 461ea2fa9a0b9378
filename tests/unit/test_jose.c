/*
 * Unit tests of core/jose_jwk.c and core/jose_jws.c: the RFC 7515 (A.2
 * RS256, A.3 ES256), RFC 8037 (Ed25519) and RFC 7638 (thumbprint) test
 * vectors; sign/verify round trips for the three algorithms through PEM
 * and JWKS; and the refusals an edge must make (alg none, HS256 keyed
 * with a public key, alg/key mismatch, kid games, damaged signatures,
 * malformed structure, hostile JWKs) and the JWT claim checks.
 */
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_jose.h"
#include "th.h"

/* RFC 7515 Appendix A.2: the RSA key, the JWS and its signature. */
static const char rfc7515_a2_jwk[] =
    "{\"kty\":\"RSA\","
    "\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwO"
    "WvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-"
    "KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5Ih"
    "lJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FR"
    "WyuXpoQ\","
    "\"e\":\"AQAB\","
    "\"d\":\"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97I"
    "jlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bK"
    "VRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanr"
    "C4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8b"
    "GUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOV"
    "RuOopznQ\","
    "\"p\":\"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdi"
    "YrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1Q"
    "lQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc\","
    "\"q\":\"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxa"
    "ewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsR"
    "LtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc\","
    "\"dp\":\"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3Q"
    "CLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpd"
    "Th_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0\","
    "\"dq\":\"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa"
    "7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IK"
    "hGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU\","
    "\"qi\":\"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2o"
    "y26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOg"
    "o1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U\"}";

/* The payload of RFC 7515 A.1-A.3, CRLF and all. */
static const char rfc7515_payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n"
    " \"http://example.com/is_root\":true}";

static const char rfc7515_a2_input[] =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlL"
    "mNvbS9pc19yb290Ijp0cnVlfQ";

static const char rfc7515_a2_sig[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHI"
    "m4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB"
    "--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN938"
    "3LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QO"
    "YEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/* RFC 7515 Appendix A.3: the P-256 key and the JWS. */
static const char rfc7515_a3_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";

static const char rfc7515_a3_jws[] =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlL"
    "mNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQ"
    "xfKTUJqPP3-Kg6NU1Q";

/* RFC 8037 Appendix A.1 (key), A.3 (thumbprint), A.4 (JWS). */
static const char rfc8037_a1_jwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char rfc8037_a1_x[] =
    "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
static const char rfc8037_a3_thumbprint[] =
    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
static const char rfc8037_a4_payload[] = "Example of Ed25519 signing";
static const char rfc8037_a4_jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt"
    "9g7sVvpAr_MuM0KAg";

/* RFC 7638 §3.1: the JWK and its thumbprint. */
static const char rfc7638_jwk[] =
    "{\"kty\":\"RSA\","
    "\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAA"
    "tVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5J"
    "sGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaS"
    "qzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
    "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJ"
    "zKnqDKgw\","
    "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
static const char rfc7638_thumbprint[] =
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static struct json_object *
parse(const char *s)
{
	return json_tokener_parse(s);
}

static struct gh_jwk *
jwk_private(const char *json)
{
	struct json_object *o = parse(json);
	struct gh_jwk *k = gh_jwk_from_json_private(o, NULL);

	json_object_put(o);
	return k;
}

static struct gh_jwk *
jwk_public(const char *json, enum gh_jose_err *err)
{
	struct json_object *o = parse(json);
	struct gh_jwk *k = gh_jwk_from_json(o, err);

	json_object_put(o);
	return k;
}

/* b64url(header).b64url(payload).b64url(sig) from raw parts; malloc'd. */
static char *
make_token(const char *header, const char *payload,
    const unsigned char *sig, size_t siglen)
{
	char *h = gh_b64url_encode(header, strlen(header));
	char *p = gh_b64url_encode(payload, strlen(payload));
	char *s = gh_b64url_encode(sig, siglen);
	char *out = NULL;

	if (asprintf(&out, "%s.%s.%s", h, p, s) < 0)
		out = NULL;
	free(h);
	free(p);
	free(s);
	return out;
}

static enum gh_jose_err
verify_set(const char *token, const struct gh_jwks *set)
{
	return gh_jws_verify(token, strlen(token), set, NULL);
}

static enum gh_jose_err
verify_key(const char *token, const struct gh_jwk *key)
{
	return gh_jws_verify_key(token, strlen(token), key, NULL);
}

static void
test_rfc7515_a2(void)
{
	struct gh_jwk *key, *pub;
	struct json_object *hdr, *v;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *b64, *token, *want;
	struct gh_jws jws;

	TH_TEST("RFC 7515 A.2 RS256");
	key = jwk_private(rfc7515_a2_jwk);
	TH_CHECK(key != NULL);
	if (key == NULL)
		return;
	TH_CHECK_EQ_INT(key->alg, GH_JOSE_RS256);
	TH_CHECK(key->priv != NULL && key->kid == NULL);
	/* PKCS#1 v1.5 is deterministic: the signature matches exactly. */
	TH_CHECK(gh_jws_sign_raw(key, rfc7515_a2_input,
	    strlen(rfc7515_a2_input), &sig, &siglen) == GH_JOSE_OK);
	TH_CHECK_EQ_INT(siglen, 256);
	b64 = gh_b64url_encode(sig, siglen);
	TH_CHECK_EQ_STR(b64, rfc7515_a2_sig);
	free(b64);
	free(sig);

	/* The whole compact JWS, built from header object and payload. */
	hdr = parse("{\"alg\":\"RS256\"}");
	token = gh_jws_sign_with_header(key, hdr, rfc7515_payload,
	    strlen(rfc7515_payload), NULL);
	json_object_put(hdr);
	if (asprintf(&want, "%s.%s", rfc7515_a2_input, rfc7515_a2_sig) < 0)
		want = NULL;
	TH_CHECK_EQ_STR(token, want);
	free(token);

	/* Verified with the public JWK (d and the CRT members ignored). */
	pub = jwk_public(rfc7515_a2_jwk, NULL);
	TH_CHECK(pub != NULL && pub->priv == NULL);
	TH_CHECK_EQ_INT(gh_jws_verify_key(want, strlen(want), pub, &jws),
	    GH_JOSE_OK);
	TH_CHECK(jws.payload_len == strlen(rfc7515_payload) &&
	    memcmp(jws.payload, rfc7515_payload, jws.payload_len) == 0);
	TH_CHECK(jws.claims != NULL &&
	    json_object_object_get_ex(jws.claims, "iss", &v) &&
	    strcmp(json_object_get_string(v), "joe") == 0);
	TH_CHECK(jws.key == pub);
	gh_jws_clear(&jws);
	TH_CHECK(jws.header == NULL && jws.payload == NULL);
	/* The RFC's token has expired since 2011. */
	{
		struct gh_jwt_expect ex = { 0 };
		struct gh_jws j2;

		TH_CHECK(verify_key(want, pub) == GH_JOSE_OK);
		gh_jws_verify_key(want, strlen(want), pub, &j2);
		TH_CHECK_EQ_INT(gh_jwt_check_claims(j2.claims, &ex),
		    GH_JOSE_EEXPIRED);
		ex.now = 1300819379;
		TH_CHECK_EQ_INT(gh_jwt_check_claims(j2.claims, &ex),
		    GH_JOSE_OK);
		gh_jws_clear(&j2);
	}
	free(want);
	gh_jwk_free(pub);
	gh_jwk_free(key);
}

static void
test_rfc7515_a3(void)
{
	struct gh_jwk *key, *pub;
	struct json_object *j, *v;
	char *t1, *t2;
	struct gh_jws jws;

	TH_TEST("RFC 7515 A.3 ES256");
	pub = jwk_public(rfc7515_a3_jwk, NULL);
	key = jwk_private(rfc7515_a3_jwk);
	TH_CHECK(pub != NULL && key != NULL);
	if (pub == NULL || key == NULL)
		goto out;
	TH_CHECK_EQ_INT(pub->alg, GH_JOSE_ES256);
	TH_CHECK_EQ_INT(gh_jws_verify_key(rfc7515_a3_jws,
	    strlen(rfc7515_a3_jws), pub, &jws), GH_JOSE_OK);
	TH_CHECK(jws.payload_len == strlen(rfc7515_payload) &&
	    memcmp(jws.payload, rfc7515_payload, jws.payload_len) == 0);
	gh_jws_clear(&jws);

	/* ECDSA is randomized: ours differ each time and both verify. */
	t1 = gh_jws_sign(key, rfc7515_payload, strlen(rfc7515_payload), NULL);
	t2 = gh_jws_sign(key, rfc7515_payload, strlen(rfc7515_payload), NULL);
	TH_CHECK(t1 != NULL && t2 != NULL && strcmp(t1, t2) != 0);
	TH_CHECK(t1 != NULL && strlen(strrchr(t1, '.') + 1) == 86);
	TH_CHECK_EQ_INT(verify_key(t1, pub), GH_JOSE_OK);
	TH_CHECK_EQ_INT(verify_key(t2, pub), GH_JOSE_OK);
	free(t1);
	free(t2);

	/* The exported JWK carries the RFC's coordinates, never d. */
	j = gh_jwk_to_json(key);
	TH_CHECK(json_object_object_get_ex(j, "x", &v) && strcmp(
	    json_object_get_string(v),
	    "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU") == 0);
	TH_CHECK(json_object_object_get_ex(j, "y", &v) && strcmp(
	    json_object_get_string(v),
	    "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0") == 0);
	TH_CHECK(json_object_object_get_ex(j, "crv", &v) &&
	    strcmp(json_object_get_string(v), "P-256") == 0);
	TH_CHECK(json_object_object_get_ex(j, "alg", &v) &&
	    strcmp(json_object_get_string(v), "ES256") == 0);
	TH_CHECK(!json_object_object_get_ex(j, "d", NULL));
	json_object_put(j);
out:
	gh_jwk_free(pub);
	gh_jwk_free(key);
}

static void
test_rfc8037(void)
{
	struct gh_jwk *key, *pub;
	struct json_object *hdr, *j, *v;
	char tp[GH_JWK_THUMBPRINT_LEN + 1], *token;
	struct gh_jws jws;

	TH_TEST("RFC 8037 A.1-A.5 Ed25519");
	key = jwk_private(rfc8037_a1_jwk);
	pub = jwk_public(rfc8037_a1_jwk, NULL);
	TH_CHECK(key != NULL && pub != NULL);
	if (key == NULL || pub == NULL)
		goto out;
	TH_CHECK_EQ_INT(key->alg, GH_JOSE_EDDSA);
	/* A.2/A.3: the public JWK and its thumbprint. */
	j = gh_jwk_to_json(pub);
	TH_CHECK(json_object_object_get_ex(j, "kty", &v) &&
	    strcmp(json_object_get_string(v), "OKP") == 0);
	TH_CHECK(json_object_object_get_ex(j, "crv", &v) &&
	    strcmp(json_object_get_string(v), "Ed25519") == 0);
	TH_CHECK(json_object_object_get_ex(j, "x", &v) &&
	    strcmp(json_object_get_string(v), rfc8037_a1_x) == 0);
	TH_CHECK(!json_object_object_get_ex(j, "d", NULL));
	json_object_put(j);
	TH_CHECK(gh_jwk_thumbprint(pub, tp) == 0);
	TH_CHECK_EQ_STR(tp, rfc8037_a3_thumbprint);
	TH_CHECK(gh_jwk_thumbprint(key, tp) == 0);
	TH_CHECK_EQ_STR(tp, rfc8037_a3_thumbprint);
	/* A.4: Ed25519 is deterministic, the JWS matches exactly. */
	hdr = parse("{\"alg\":\"EdDSA\"}");
	token = gh_jws_sign_with_header(key, hdr, rfc8037_a4_payload,
	    strlen(rfc8037_a4_payload), NULL);
	json_object_put(hdr);
	TH_CHECK_EQ_STR(token, rfc8037_a4_jws);
	free(token);
	/* A.5: verification, with a payload that is not JSON. */
	TH_CHECK_EQ_INT(gh_jws_verify_key(rfc8037_a4_jws,
	    strlen(rfc8037_a4_jws), pub, &jws), GH_JOSE_OK);
	TH_CHECK(jws.claims == NULL);
	TH_CHECK(jws.payload != NULL &&
	    strcmp((char *)jws.payload, rfc8037_a4_payload) == 0);
	gh_jws_clear(&jws);
out:
	gh_jwk_free(key);
	gh_jwk_free(pub);
}

static void
test_rfc7638(void)
{
	struct gh_jwk *key;
	char tp[GH_JWK_THUMBPRINT_LEN + 1];

	TH_TEST("RFC 7638 3.1 thumbprint");
	key = jwk_public(rfc7638_jwk, NULL);
	TH_CHECK(key != NULL);
	if (key == NULL)
		return;
	TH_CHECK_EQ_STR(key->kid, "2011-04-29");
	TH_CHECK_EQ_INT(key->alg, GH_JOSE_RS256);
	TH_CHECK(gh_jwk_thumbprint(key, tp) == 0);
	TH_CHECK_EQ_STR(tp, rfc7638_thumbprint);
	gh_jwk_free(key);
}

static const enum gh_jose_alg algs[3] = {
	GH_JOSE_RS256, GH_JOSE_ES256, GH_JOSE_EDDSA
};

static void
test_round_trips(struct gh_jwk *keys[3])
{
	struct json_object *claims, *set_json, *v;
	struct gh_jwks *set, *parsed;
	struct gh_jws jws;
	char tp[GH_JWK_THUMBPRINT_LEN + 1], *token, *pem;
	const char *text;
	size_t i, skipped = 99;
	enum gh_jose_err err;

	TH_TEST("generated keys");
	for (i = 0; i < 3; i++) {
		TH_CHECK(keys[i] != NULL && keys[i]->alg == algs[i] &&
		    keys[i]->priv != NULL && keys[i]->pub != NULL);
		TH_CHECK(gh_jwk_thumbprint(keys[i], tp) == 0);
		TH_CHECK_EQ_STR(keys[i]->kid, tp);
		TH_CHECK_EQ_STR(keys[i]->use, "sig");
	}

	TH_TEST("sign/verify round trip per alg, through a JWKS");
	set = gh_jwks_new();
	claims = parse("{\"iss\":\"https://gh.test\",\"sub\":\"alice\","
	    "\"aud\":[\"api\",\"portal\"],\"exp\":4102444800,"
	    "\"url\":\"http://x/y\"}");
	for (i = 0; i < 3; i++) {
		struct gh_jwk *pubonly;

		pem = gh_jwk_public_pem(keys[i]);
		pubonly = gh_jwk_from_pem(pem, strlen(pem), keys[i]->kid);
		free(pem);
		TH_CHECK(pubonly != NULL && pubonly->priv == NULL &&
		    pubonly->alg == algs[i]);
		TH_CHECK(gh_jwks_add(set, pubonly) == 0);
	}
	TH_CHECK_EQ_INT(set->count, 3);
	for (i = 0; i < 3; i++) {
		struct gh_jwt_expect ex = { 0 };

		token = gh_jws_sign_claims(keys[i], claims, &err);
		TH_CHECK(token != NULL && err == GH_JOSE_OK);
		TH_CHECK_EQ_INT(gh_jws_verify(token, strlen(token), set, &jws),
		    GH_JOSE_OK);
		TH_CHECK(jws.key == set->keys[i]);
		TH_CHECK(json_object_object_get_ex(jws.header, "typ", &v) &&
		    strcmp(json_object_get_string(v), "JWT") == 0);
		TH_CHECK(json_object_object_get_ex(jws.header, "kid", &v) &&
		    strcmp(json_object_get_string(v), keys[i]->kid) == 0);
		TH_CHECK(json_object_object_get_ex(jws.claims, "url", &v) &&
		    strcmp(json_object_get_string(v), "http://x/y") == 0);
		ex.iss = "https://gh.test";
		ex.aud = "portal";
		ex.require_exp = 1;
		TH_CHECK_EQ_INT(gh_jwt_check_claims(jws.claims, &ex),
		    GH_JOSE_OK);
		gh_jws_clear(&jws);
		/* The same token against the key alone. */
		TH_CHECK_EQ_INT(verify_key(token, keys[i]), GH_JOSE_OK);
		free(token);
	}

	TH_TEST("JWKS serialize -> parse -> verify");
	set_json = gh_jwks_to_json(set);
	text = json_object_to_json_string_ext(set_json,
	    JSON_C_TO_STRING_PRETTY);
	TH_CHECK(strstr(text, "\"d\"") == NULL);
	parsed = gh_jwks_parse(text, strlen(text), &skipped, &err);
	TH_CHECK(parsed != NULL && err == GH_JOSE_OK && skipped == 0);
	TH_CHECK(parsed != NULL && parsed->count == 3);
	for (i = 0; parsed != NULL && i < 3; i++) {
		const struct gh_jwk *k = gh_jwks_find(parsed, keys[i]->kid);

		TH_CHECK(k != NULL && k->alg == algs[i] && k->priv == NULL);
		token = gh_jws_sign(keys[i], "hello", 5, NULL);
		TH_CHECK_EQ_INT(verify_set(token, parsed), GH_JOSE_OK);
		free(token);
	}
	TH_CHECK(gh_jwks_find(parsed, "nope") == NULL);
	gh_jwks_free(parsed);
	json_object_put(set_json);

	TH_TEST("private PEM round trip");
	for (i = 0; i < 3; i++) {
		struct gh_jwk *back;

		pem = gh_jwk_private_pem(keys[i]);
		TH_CHECK(pem != NULL &&
		    strstr(pem, "-----BEGIN PRIVATE KEY-----") != NULL);
		back = gh_jwk_from_pem(pem, strlen(pem), NULL);
		gh_free_secret(pem);
		TH_CHECK(back != NULL && back->priv != NULL &&
		    back->alg == algs[i]);
		TH_CHECK(back != NULL && strcmp(back->kid, keys[i]->kid) == 0);
		token = gh_jws_sign(back, "x", 1, NULL);
		TH_CHECK_EQ_INT(verify_set(token, set), GH_JOSE_OK);
		free(token);
		gh_jwk_free(back);
	}
	/* A public-only key cannot sign. */
	TH_CHECK(gh_jws_sign(set->keys[0], "x", 1, &err) == NULL &&
	    err == GH_JOSE_EKEY);
	TH_CHECK(gh_jwk_private_pem(set->keys[0]) == NULL);
	TH_CHECK(gh_jwk_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n", 58, NULL) == NULL);
	json_object_put(claims);
	gh_jwks_free(set);
}

/* A copy of token with one bit flipped in the decoded part (0, 1, 2). */
static char *
flip_bit(const char *token, int part, size_t byte)
{
	const char *d1 = strchr(token, '.'), *d2 = strchr(d1 + 1, '.');
	const char *start[3] = { token, d1 + 1, d2 + 1 };
	size_t len[3] = { (size_t)(d1 - token), (size_t)(d2 - d1 - 1),
	    strlen(d2 + 1) };
	char *enc[3], *out = NULL;
	unsigned char *raw;
	size_t n, i;

	for (i = 0; i < 3; i++)
		enc[i] = strndup(start[i], len[i]);
	if (gh_b64url_decode(enc[part], len[part], &raw, &n) == 0 && n > byte) {
		raw[byte] ^= 0x01;
		free(enc[part]);
		enc[part] = gh_b64url_encode(raw, n);
	}
	free(raw);
	if (asprintf(&out, "%s.%s.%s", enc[0], enc[1], enc[2]) < 0)
		out = NULL;
	for (i = 0; i < 3; i++)
		free(enc[i]);
	return out;
}

static char *
hs256_token(const char *header, const char *payload, const void *key,
    size_t keylen)
{
	char *h = gh_b64url_encode(header, strlen(header));
	char *p = gh_b64url_encode(payload, strlen(payload));
	char *input = NULL, *out = NULL, *s;
	unsigned char mac[32];
	size_t maclen = 0;

	if (asprintf(&input, "%s.%s", h, p) > 0 &&
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
	    (unsigned char *)input, strlen(input), mac, sizeof(mac),
	    &maclen) != NULL) {
		s = gh_b64url_encode(mac, maclen);
		if (asprintf(&out, "%s.%s", input, s) < 0)
			out = NULL;
		free(s);
	}
	free(input);
	free(h);
	free(p);
	return out;
}

static void
test_refusals(struct gh_jwk *keys[3])
{
	struct gh_jwk *rsa = keys[0], *ec = keys[1], *ed = keys[2], *ec2;
	struct gh_jwks *set = gh_jwks_new(), *one = gh_jwks_new();
	struct json_object *hdr;
	unsigned char zeros[64] = { 0 }, *sig;
	size_t siglen, i;
	char *t, *good, *pem, *hdrjson, *big;
	struct gh_jws jws;

	/* The verifier's set holds public copies of the three keys. */
	for (i = 0; i < 3; i++) {
		struct json_object *j = gh_jwk_to_json(keys[i]);

		gh_jwks_add(set, gh_jwk_from_json(j, NULL));
		json_object_put(j);
	}
	ec2 = gh_jwk_generate(GH_JOSE_ES256, "second-ec");
	{
		struct json_object *j = gh_jwk_to_json(ec);

		TH_CHECK(gh_jwks_add(one, gh_jwk_from_json(j, NULL)) == 0);
		json_object_put(j);
	}

	TH_TEST("alg none");
	t = make_token("{\"alg\":\"none\"}", "{\"sub\":\"x\"}", NULL, 0);
	TH_CHECK_EQ_INT(verify_set(t, one), GH_JOSE_EALG);
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_EALG);
	free(t);
	if (asprintf(&hdrjson, "{\"alg\":\"none\",\"kid\":\"%s\"}",
	    ec->kid) < 0)
		hdrjson = NULL;
	t = make_token(hdrjson, "{\"sub\":\"x\"}", zeros, 64);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EALG);
	free(t);
	free(hdrjson);
	t = make_token("{\"alg\":\"None\"}", "{}", zeros, 64);
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_EALG);
	free(t);
	t = make_token("{\"typ\":\"JWT\"}", "{}", zeros, 64);
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_EALG);
	free(t);

	TH_TEST("HS256 keyed with the RSA public key PEM");
	pem = gh_jwk_public_pem(rsa);
	if (asprintf(&hdrjson, "{\"alg\":\"HS256\",\"typ\":\"JWT\","
	    "\"kid\":\"%s\"}", rsa->kid) < 0)
		hdrjson = NULL;
	t = hs256_token(hdrjson, "{\"sub\":\"admin\"}", pem, strlen(pem));
	TH_CHECK(t != NULL);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EALG);
	TH_CHECK_EQ_INT(verify_key(t, rsa), GH_JOSE_EALG);
	free(t);
	free(hdrjson);
	free(pem);

	TH_TEST("header alg RS256 against the ES256 key");
	hdr = json_object_new_object();
	json_object_object_add(hdr, "kid", json_object_new_string(ec->kid));
	t = gh_jws_sign_with_header(rsa, hdr, "{}", 2, NULL);
	json_object_put(hdr);
	TH_CHECK(t != NULL);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EALG);
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_EALG);
	TH_CHECK_EQ_INT(verify_key(t, rsa), GH_JOSE_EKID);
	free(t);
	/* ES256 against EdDSA and the other way round. */
	hdr = json_object_new_object();
	json_object_object_add(hdr, "kid", json_object_new_string(ed->kid));
	t = gh_jws_sign_with_header(ec, hdr, "{}", 2, NULL);
	json_object_put(hdr);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EALG);
	free(t);
	/* The signer refuses a header alg that is not the key's. */
	{
		enum gh_jose_err err;

		hdr = parse("{\"alg\":\"HS256\"}");
		TH_CHECK(gh_jws_sign_with_header(ec, hdr, "{}", 2, &err) ==
		    NULL && err == GH_JOSE_EALG);
		json_object_put(hdr);
	}

	TH_TEST("kid: wrong, unknown, missing");
	/* Signed by ec2, claiming ec's kid: the signature fails. */
	hdr = json_object_new_object();
	json_object_object_add(hdr, "kid", json_object_new_string(ec->kid));
	t = gh_jws_sign_with_header(ec2, hdr, "{}", 2, NULL);
	json_object_put(hdr);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
	free(t);
	t = gh_jws_sign(ec2, "{}", 2, NULL);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EKID);
	TH_CHECK_EQ_INT(verify_set(t, one), GH_JOSE_EKID);
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_EKID);
	free(t);
	hdr = json_object_new_object();
	t = gh_jws_sign_with_header(ec, hdr, "{}", 2, NULL);
	json_object_put(hdr);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EKID);	/* 3 keys */
	TH_CHECK_EQ_INT(verify_set(t, one), GH_JOSE_OK);	/* 1 key */
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_OK);
	free(t);
	t = make_token("{\"alg\":\"ES256\",\"kid\":7}", "{}", zeros, 64);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);
	t = make_token("{\"alg\":\"ES256\",\"kid\":\"a\\u0000b\"}", "{}",
	    zeros, 64);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);

	TH_TEST("damaged signatures");
	for (i = 0; i < 3; i++) {
		size_t n;

		good = gh_jws_sign(keys[i], "{\"sub\":\"x\"}", 11, NULL);
		TH_CHECK_EQ_INT(verify_set(good, set), GH_JOSE_OK);
		n = strlen(good);
		t = strndup(good, n - 2);	/* shorter, valid base64url */
		TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
		free(t);
		t = strndup(good, n - 4);
		TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
		free(t);
		t = strndup(good, strrchr(good, '.') - good + 1); /* empty */
		TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
		free(t);
		t = flip_bit(good, 2, 0);
		TH_CHECK(t != NULL && strcmp(t, good) != 0);
		TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
		free(t);
		t = flip_bit(good, 2, 40);
		TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
		free(t);
		t = flip_bit(good, 1, 3);	/* payload */
		TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
		free(t);
		free(good);
	}
	/* RS256: 342 characters; 341 is no base64url length at all. */
	good = gh_jws_sign(rsa, "{}", 2, NULL);
	t = strndup(good, strlen(good) - 1);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);
	free(good);

	TH_TEST("ES256 signature length must be 64");
	if (asprintf(&hdrjson, "{\"alg\":\"ES256\",\"kid\":\"%s\"}",
	    ec->kid) < 0)
		hdrjson = NULL;
	t = make_token(hdrjson, "{}", zeros, 64);	/* r = s = 0 */
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
	free(t);
	/* A real ES256 signature in DER form instead of R||S. */
	{
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		unsigned char der[80];
		size_t derlen = sizeof(der);
		char *h64 = gh_b64url_encode(hdrjson, strlen(hdrjson)), *input;

		if (asprintf(&input, "%s.e30", h64) < 0)
			input = NULL;
		TH_CHECK(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL,
		    ec->priv) == 1 && EVP_DigestSign(m, der, &derlen,
		    (unsigned char *)input, strlen(input)) == 1);
		TH_CHECK(derlen != 64);
		t = make_token(hdrjson, "{}", der, derlen);
		TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ESIG);
		free(t);
		free(input);
		free(h64);
		EVP_MD_CTX_free(m);
	}
	TH_CHECK(gh_jws_sign_raw(ec, "abc", 3, &sig, &siglen) == GH_JOSE_OK);
	TH_CHECK_EQ_INT(siglen, 64);
	TH_CHECK_EQ_INT(gh_jws_verify_raw(ec, "abc", 3, sig, 64), GH_JOSE_OK);
	TH_CHECK_EQ_INT(gh_jws_verify_raw(ec, "abc", 3, sig, 63), GH_JOSE_ESIG);
	{
		unsigned char longer[65];

		memcpy(longer, sig, 64);
		longer[64] = 0;
		TH_CHECK_EQ_INT(gh_jws_verify_raw(ec, "abc", 3, longer, 65),
		    GH_JOSE_ESIG);
	}
	free(sig);
	free(hdrjson);

	TH_TEST("structure");
	good = gh_jws_sign(ec, "{}", 2, NULL);
	TH_CHECK_EQ_INT(verify_set(good, set), GH_JOSE_OK);
	t = strndup(good, strrchr(good, '.') - good);		/* 2 parts */
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);
	if (asprintf(&t, "%s.e30", good) < 0)			/* 4 parts */
		t = NULL;
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);
	if (asprintf(&t, "%s.", good) < 0)
		t = NULL;
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);
	TH_CHECK_EQ_INT(verify_set("", set), GH_JOSE_EFORMAT);
	TH_CHECK_EQ_INT(verify_set("..", set), GH_JOSE_EFORMAT);
	TH_CHECK_EQ_INT(verify_set("abc", set), GH_JOSE_EFORMAT);
	TH_CHECK_EQ_INT(gh_jws_verify(NULL, 0, set, NULL), GH_JOSE_EFORMAT);
	/* Invalid base64url in each part. */
	t = strdup(good);
	t[3] = '+';
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	t[3] = good[3];
	*(strrchr(t, '.') + 5) = '/';
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);
	if (asprintf(&t, "%s==", good) < 0)			/* padding */
		t = NULL;
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);
	t = strdup(good);
	*(strchr(t, '.') + 1) = '*';
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_EFORMAT);
	free(t);
	/* A NUL inside the given length. */
	t = strdup(good);
	t[5] = '\0';
	TH_CHECK_EQ_INT(gh_jws_verify(t, strlen(good), set, NULL),
	    GH_JOSE_EFORMAT);
	free(t);
	free(good);
	/* Headers that are not a JSON object, or not strict JSON. */
	{
		static const char *const bad_headers[] = {
			"not json",
			"[\"alg\",\"ES256\"]",
			"\"ES256\"",
			"",
			"{\"alg\":\"ES256\"",
			"{\"alg\":\"ES256\"}x",
			"{\"alg\":\"ES256\",}",
			"{'alg':'ES256'}",
			"{\"alg\":\"ES256\",\"alg\":\"none\"}",
			"{\"alg\":\"ES256\",\"x\":{\"a\":1,\"a\":2}}",
			"{\"alg\":\"ES\xff\"}",
			"{\"alg\":256}",
		};

		for (i = 0; i < sizeof(bad_headers) / sizeof(*bad_headers);
		    i++) {
			t = make_token(bad_headers[i], "{}", zeros, 64);
			TH_CHECK_MSG(verify_key(t, ec) == GH_JOSE_EFORMAT,
			    "header %zu", i);
			free(t);
		}
	}
	t = make_token("{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", "{}",
	    zeros, 64);
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_ECRIT);
	free(t);
	t = make_token("{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"]}",
	    "{}", zeros, 64);
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_ECRIT);
	free(t);
	/* Whitespace around a valid header is still JSON. */
	t = make_token(" {\"alg\":\"ES256\"} ", "{}", zeros, 64);
	TH_CHECK_EQ_INT(verify_key(t, ec), GH_JOSE_ESIG);
	free(t);

	TH_TEST("size bound");
	big = malloc(13001);
	memset(big, 'a', 13000);
	big[0] = '"';
	big[12999] = '"';
	big[13000] = '\0';
	t = gh_jws_sign(ed, big, 13000, NULL);
	TH_CHECK(t != NULL && strlen(t) > GH_JWS_MAX);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_ETOOBIG);
	free(t);
	t = gh_jws_sign(ed, big, 11000, NULL);
	TH_CHECK(t != NULL && strlen(t) <= GH_JWS_MAX);
	TH_CHECK_EQ_INT(verify_set(t, set), GH_JOSE_OK);
	free(t);
	free(big);

	TH_TEST("verdict without output, output empty on failure");
	t = gh_jws_sign(ed, "{}", 2, NULL);
	t[strlen(t) - 3] ^= 0x20;
	memset(&jws, 0xa5, sizeof(jws));
	TH_CHECK(gh_jws_verify(t, strlen(t), set, &jws) != GH_JOSE_OK);
	TH_CHECK(jws.header == NULL && jws.claims == NULL &&
	    jws.payload == NULL && jws.key == NULL);
	free(t);

	gh_jwk_free(ec2);
	gh_jwks_free(set);
	gh_jwks_free(one);
}

/*
 * Every one-character change and every truncation of a valid token is
 * refused, except changes to the unused low bits of a part's last
 * character (NOTES.md: those spell the same bytes).  Run under ASan, this
 * is also the "never crash on hostile input" check.
 */
static void
test_mutations(struct gh_jwk *key, const struct gh_jwks *set)
{
	static const char repl[] = "A_-.=+/\"\0\xff";
	char *good = gh_jws_sign(key, "{\"sub\":\"m\"}", 11, NULL), *t;
	size_t n = strlen(good), i, r, wrong = 0, tried = 0;
	int last;

	TH_TEST("one-character mutations and truncations");
	t = malloc(n + 1);
	for (i = 0; i < n; i++) {
		last = i + 1 == n || good[i + 1] == '.';
		for (r = 0; r < sizeof(repl) - 1; r++) {
			if (repl[r] == good[i])
				continue;
			memcpy(t, good, n + 1);
			t[i] = repl[r];
			tried++;
			if (gh_jws_verify(t, n, set, NULL) == GH_JOSE_OK &&
			    !(last && repl[r] != '.' && repl[r] != '=' &&
			    repl[r] != '+' && repl[r] != '/'))
				wrong++;
		}
		/* Truncated to i bytes. */
		tried++;
		if (gh_jws_verify(good, i, set, NULL) == GH_JOSE_OK)
			wrong++;
	}
	TH_CHECK_MSG(wrong == 0, "%zu of %zu mutants verified", wrong, tried);
	TH_CHECK(tried > 8 * n);
	free(t);
	free(good);
}

static enum gh_jose_err
jwk_err(const char *json)
{
	enum gh_jose_err err = GH_JOSE_OK;
	struct gh_jwk *k = jwk_public(json, &err);

	if (k != NULL) {
		gh_jwk_free(k);
		return GH_JOSE_OK;
	}
	return err;
}

static void
test_jwk_refusals(void)
{
	static const char x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
	static const char y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
	char *j, *n1024, *n0;
	struct json_object *o;
	unsigned char *n;
	size_t nlen, skipped = 0;
	struct gh_jwks *set;
	enum gh_jose_err err;
	size_t i;

	TH_TEST("JWK members checked");
#define EC_JWK(extra, xx, yy) \
	(asprintf(&j, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"," \
	    "\"y\":\"%s\"%s}", (xx), (yy), (extra)) < 0 ? NULL : j)
	TH_CHECK_EQ_INT(jwk_err(EC_JWK("", x, y)), GH_JOSE_OK);
	free(j);
	TH_CHECK_EQ_INT(jwk_err(EC_JWK(",\"alg\":\"ES256\",\"use\":\"sig\"",
	    x, y)), GH_JOSE_OK);
	free(j);
	TH_CHECK_EQ_INT(jwk_err(EC_JWK(",\"alg\":\"RS256\"", x, y)),
	    GH_JOSE_EKEY);
	free(j);
	TH_CHECK_EQ_INT(jwk_err(EC_JWK(",\"use\":\"enc\"", x, y)),
	    GH_JOSE_EKEY);
	free(j);
	TH_CHECK_EQ_INT(jwk_err(EC_JWK(",\"kid\":5", x, y)), GH_JOSE_EFORMAT);
	free(j);
	TH_CHECK_EQ_INT(jwk_err(EC_JWK(",\"kid\":\"\"", x, y)),
	    GH_JOSE_EFORMAT);
	free(j);
	/* y changed: not a point of the curve. */
	TH_CHECK_EQ_INT(jwk_err(EC_JWK("", x,
	    "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5b0")), GH_JOSE_EFORMAT);
	free(j);
	/* Only unused low bits of the last character changed: same y. */
	TH_CHECK_EQ_INT(jwk_err(EC_JWK("", x,
	    "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1")), GH_JOSE_OK);
	free(j);
	/* x of 31 bytes, padded base64url, standard alphabet. */
	TH_CHECK_EQ_INT(jwk_err(EC_JWK("", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8T"
	    "us9uPHvRVE", y)), GH_JOSE_EFORMAT);
	free(j);
	TH_CHECK_EQ_INT(jwk_err(EC_JWK("", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus"
	    "9uPHvRVEU=", y)), GH_JOSE_EFORMAT);
	free(j);
	TH_CHECK_EQ_INT(jwk_err(EC_JWK("", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus"
	    "9uPHvRVE+", y)), GH_JOSE_EFORMAT);
	free(j);
	TH_CHECK_EQ_INT(jwk_err("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"a\","
	    "\"y\":\"b\"}"), GH_JOSE_EKEY);
	TH_CHECK_EQ_INT(jwk_err("{\"kty\":\"oct\",\"k\":\"AAAA\"}"),
	    GH_JOSE_EKEY);
	TH_CHECK_EQ_INT(jwk_err("{\"kty\":\"OKP\",\"crv\":\"X25519\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"),
	    GH_JOSE_EKEY);
	TH_CHECK_EQ_INT(jwk_err("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}"),
	    GH_JOSE_EFORMAT);
	TH_CHECK_EQ_INT(jwk_err("{\"crv\":\"Ed25519\",\"x\":\"AAAA\"}"),
	    GH_JOSE_EFORMAT);
	TH_CHECK_EQ_INT(jwk_err("[]"), GH_JOSE_EFORMAT);
	TH_CHECK_EQ_INT(jwk_err("{\"kty\":\"RSA\",\"e\":\"AQAB\"}"),
	    GH_JOSE_EFORMAT);
	TH_CHECK_EQ_INT(jwk_err("{\"kty\":\"RSA\",\"alg\":\"PS256\","
	    "\"n\":\"AQAB\",\"e\":\"AQAB\"}"), GH_JOSE_EKEY);

	/* RSA: a 1024-bit modulus, a leading zero octet, an even e. */
	o = parse(rfc7638_jwk);
	gh_b64url_decode(json_object_get_string(json_object_object_get(o,
	    "n")), strlen(json_object_get_string(json_object_object_get(o,
	    "n"))), &n, &nlen);
	json_object_put(o);
	n1024 = gh_b64url_encode(n, 128);
	{
		unsigned char *z = malloc(nlen + 1);

		z[0] = 0;
		memcpy(z + 1, n, nlen);
		n0 = gh_b64url_encode(z, nlen + 1);
		free(z);
	}
	free(n);
	if (asprintf(&j, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}",
	    n1024) < 0)
		j = NULL;
	TH_CHECK_EQ_INT(jwk_err(j), GH_JOSE_EKEY);
	free(j);
	if (asprintf(&j, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}",
	    n0) < 0)
		j = NULL;
	TH_CHECK_EQ_INT(jwk_err(j), GH_JOSE_EFORMAT);
	free(j);
	if (asprintf(&j, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAA\"}",
	    n0 + 2) < 0)
		j = NULL;
	TH_CHECK_EQ_INT(jwk_err(j), GH_JOSE_EFORMAT);
	free(j);
	free(n0);

	TH_TEST("private JWK must match its public part");
	{
		/* RFC 8037's d with another key's x. */
		struct gh_jwk *k;

		o = parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
		    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"}");
		k = gh_jwk_from_json_private(o, &err);
		TH_CHECK(k == NULL && err == GH_JOSE_EKEY);
		json_object_put(o);
		o = parse(rfc7638_jwk);		/* no d at all */
		k = gh_jwk_from_json_private(o, &err);
		TH_CHECK(k == NULL && err == GH_JOSE_EFORMAT);
		json_object_put(o);
		/* A.3's point with a d changed in its last bits. */
		o = parse("{\"kty\":\"EC\",\"crv\":\"P-256\","
		    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
		    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
		    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LM\"}");
		k = gh_jwk_from_json_private(o, &err);
		TH_CHECK(k == NULL);
		json_object_put(o);
	}

	TH_TEST("JWKS parsing");
	if (asprintf(&j, "{\"keys\":[%s,{\"kty\":\"oct\",\"k\":\"AAAA\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"enc\",\"x\":\"%s\","
	    "\"y\":\"%s\"},%s]}", rfc7638_jwk, x, y, rfc8037_a1_jwk) < 0)
		j = NULL;
	set = gh_jwks_parse(j, strlen(j), &skipped, &err);
	TH_CHECK(set != NULL && err == GH_JOSE_OK);
	TH_CHECK(set != NULL && set->count == 2 && skipped == 2);
	TH_CHECK(gh_jwks_find(set, "2011-04-29") != NULL);
	/* The RFC 8037 JWK has no kid: a token without kid is ambiguous. */
	TH_CHECK_EQ_INT(verify_set(rfc8037_a4_jws, set), GH_JOSE_EKID);
	gh_jwks_free(set);
	free(j);
	if (asprintf(&j, "{\"keys\":[%s,%s]}", rfc7638_jwk, rfc7638_jwk) < 0)
		j = NULL;
	TH_CHECK(gh_jwks_parse(j, strlen(j), NULL, &err) == NULL &&
	    err == GH_JOSE_EKID);
	free(j);
	if (asprintf(&j, "{\"keys\":[%s,%s]}", rfc7638_jwk,
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}")
	    < 0)
		j = NULL;
	TH_CHECK(gh_jwks_parse(j, strlen(j), NULL, &err) == NULL &&
	    err == GH_JOSE_EFORMAT);
	free(j);
	TH_CHECK(gh_jwks_parse("{\"keys\":{}}", 11, NULL, &err) == NULL);
	TH_CHECK(gh_jwks_parse("{\"key\":[]}", 10, NULL, &err) == NULL);
	TH_CHECK(gh_jwks_parse("{\"keys\":[]", 10, NULL, &err) == NULL);
	set = gh_jwks_parse("{\"keys\":[]}", 11, NULL, &err);
	TH_CHECK(set != NULL && set->count == 0);
	TH_CHECK_EQ_INT(verify_set(rfc8037_a4_jws, set), GH_JOSE_EKID);
	gh_jwks_free(set);
	{
		size_t len = 0, cap = 16 + 70 * 20;
		char *s = malloc(cap);

		len += (size_t)sprintf(s, "{\"keys\":[");
		for (i = 0; i < GH_JWKS_MAX_KEYS + 1; i++)
			len += (size_t)sprintf(s + len, "%s{\"kty\":\"oct\"}",
			    i ? "," : "");
		sprintf(s + len, "]}");
		TH_CHECK(gh_jwks_parse(s, strlen(s), NULL, &err) == NULL &&
		    err == GH_JOSE_ETOOBIG);
		free(s);
	}
	free(n1024);
#undef EC_JWK
}

static void
test_claims(void)
{
	struct gh_jwt_expect ex = { 0 };
	struct json_object *c;

	TH_TEST("claims");
	ex.now = 1000000;
	ex.leeway = 30;
#define CHECK_CLAIMS(json, want) do {					\
	c = parse(json);						\
	TH_CHECK_MSG(gh_jwt_check_claims(c, &ex) == (want), "%s", json); \
	json_object_put(c);						\
} while (0)
	CHECK_CLAIMS("{\"exp\":1000100,\"nbf\":999900,\"iat\":999900}",
	    GH_JOSE_OK);
	CHECK_CLAIMS("{\"exp\":999000}", GH_JOSE_EEXPIRED);
	CHECK_CLAIMS("{\"exp\":999970}", GH_JOSE_EEXPIRED);	/* edge */
	CHECK_CLAIMS("{\"exp\":999971}", GH_JOSE_OK);		/* leeway */
	CHECK_CLAIMS("{\"exp\":999980.5}", GH_JOSE_OK);
	CHECK_CLAIMS("{\"nbf\":1000100}", GH_JOSE_ENOTYET);
	CHECK_CLAIMS("{\"nbf\":1000030}", GH_JOSE_OK);
	CHECK_CLAIMS("{\"iat\":1000100}", GH_JOSE_EIAT);
	CHECK_CLAIMS("{\"exp\":\"1000100\"}", GH_JOSE_ECLAIMS);
	CHECK_CLAIMS("{\"exp\":true}", GH_JOSE_ECLAIMS);
	CHECK_CLAIMS("{\"nbf\":null}", GH_JOSE_ECLAIMS);
	CHECK_CLAIMS("{\"iat\":[1]}", GH_JOSE_ECLAIMS);
	CHECK_CLAIMS("[]", GH_JOSE_ECLAIMS);
	TH_CHECK_EQ_INT(gh_jwt_check_claims(NULL, &ex), GH_JOSE_ECLAIMS);
	ex.require_exp = 1;
	CHECK_CLAIMS("{\"sub\":\"x\"}", GH_JOSE_ECLAIMS);
	ex.require_exp = 0;

	ex.iss = "https://gh.test";
	ex.aud = "api";
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\",\"aud\":\"api\"}",
	    GH_JOSE_OK);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\",\"aud\":[\"x\",\"api\"]}",
	    GH_JOSE_OK);
	CHECK_CLAIMS("{\"iss\":\"https://evil.test\",\"aud\":\"api\"}",
	    GH_JOSE_EISS);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test/\",\"aud\":\"api\"}",
	    GH_JOSE_EISS);
	CHECK_CLAIMS("{\"aud\":\"api\"}", GH_JOSE_EISS);
	CHECK_CLAIMS("{\"iss\":1,\"aud\":\"api\"}", GH_JOSE_ECLAIMS);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\",\"aud\":\"apix\"}",
	    GH_JOSE_EAUD);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\",\"aud\":[\"x\",\"y\"]}",
	    GH_JOSE_EAUD);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\",\"aud\":[]}", GH_JOSE_EAUD);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\"}", GH_JOSE_EAUD);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\",\"aud\":\"api\\u0000x\"}",
	    GH_JOSE_EAUD);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\",\"aud\":[\"api\",1]}",
	    GH_JOSE_ECLAIMS);
	CHECK_CLAIMS("{\"iss\":\"https://gh.test\",\"aud\":{\"a\":\"api\"}}",
	    GH_JOSE_ECLAIMS);
	/* Order: time first, then issuer, then audience. */
	CHECK_CLAIMS("{\"exp\":1,\"iss\":\"no\",\"aud\":\"no\"}",
	    GH_JOSE_EEXPIRED);
	CHECK_CLAIMS("{\"iss\":\"no\",\"aud\":\"no\"}", GH_JOSE_EISS);
#undef CHECK_CLAIMS
	TH_CHECK_EQ_STR(gh_jose_strerror(GH_JOSE_EEXPIRED), "expired");
	TH_CHECK_EQ_STR(gh_jose_alg_name(GH_JOSE_EDDSA), "EdDSA");
	TH_CHECK_EQ_INT(gh_jose_alg_from_name("none"), GH_JOSE_ALG_UNKNOWN);
	TH_CHECK_EQ_INT(gh_jose_alg_from_name("es256"), GH_JOSE_ALG_UNKNOWN);
}

/* Raw RSA (no padding) with key's private half over em of k bytes: the signature of exactly em. */
static unsigned char *
rsa_raw_sign(const struct gh_jwk *key, const unsigned char *em, size_t k)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, key->priv, NULL);
	unsigned char *sig = malloc(k);
	size_t n = k;

	if (c == NULL || sig == NULL || EVP_PKEY_sign_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) != 1 || EVP_PKEY_sign(c, sig, &n, em, k) != 1 ||
	    n != k) {
		free(sig);
		sig = NULL;
	}
	EVP_PKEY_CTX_free(c);
	return sig;
}

/* RS256 verification (the direct public-key operation): exactly RFC 8017's encoding passes. */
static void
test_rs256_encoding(const struct gh_jwk *key)
{
	static const unsigned char info[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
		0x01, 0x05, 0x00, 0x04, 0x20,
	};
	unsigned char em[512], md[32], *sig = NULL, *raw;
	size_t k = (size_t)EVP_PKEY_get_size(key->pub), siglen = 0, ps = k - 3 - 19 - 32;
	BIGNUM *n = NULL;

	TH_TEST("RS256: the signature of a message, and each byte of it changed");
	TH_CHECK(k >= 256 && k <= sizeof(em));
	TH_CHECK(gh_jws_sign_raw(key, "abc", 3, &sig, &siglen) == GH_JOSE_OK && siglen == k);
	TH_CHECK_EQ_INT(gh_jws_verify_raw(key, "abc", 3, sig, siglen), GH_JOSE_OK);
	TH_CHECK_EQ_INT(gh_jws_verify_raw(key, "abd", 3, sig, siglen), GH_JOSE_ESIG);
	for (size_t i = 0; sig != NULL && i < k; i += 37) {
		sig[i] ^= 0x10;
		TH_CHECK_EQ_INT(gh_jws_verify_raw(key, "abc", 3, sig, siglen), GH_JOSE_ESIG);
		sig[i] ^= 0x10;
	}
	TH_CHECK_EQ_INT(gh_jws_verify_raw(key, "abc", 3, sig, siglen), GH_JOSE_OK);
	free(sig);

	TH_TEST("RS256: signature representatives 0, 1, n and above n");
	memset(em, 0, k);
	TH_CHECK_EQ_INT(gh_jws_verify_raw(key, "abc", 3, em, k), GH_JOSE_ESIG);
	em[k - 1] = 1;
	TH_CHECK_EQ_INT(gh_jws_verify_raw(key, "abc", 3, em, k), GH_JOSE_ESIG);
	memset(em, 0xff, k);
	TH_CHECK_EQ_INT(gh_jws_verify_raw(key, "abc", 3, em, k), GH_JOSE_ESIG);
	TH_CHECK(EVP_PKEY_get_bn_param(key->pub, "n", &n) == 1 && BN_bn2binpad(n, em, (int)k) == (int)k);
	TH_CHECK_EQ_INT(gh_jws_verify_raw(key, "abc", 3, em, k), GH_JOSE_ESIG);
	/* n + the valid signature's value would be the same residue: refused as out of range */
	BN_free(n);

	TH_TEST("RS256: encodings made by hand, only RFC 8017's exact one passes");
	TH_CHECK(gh_sha256("abc", 3, md) == 0);
	em[0] = 0;
	em[1] = 1;
	memset(em + 2, 0xff, ps);
	em[2 + ps] = 0;
	memcpy(em + 3 + ps, info, 19);
	memcpy(em + 3 + ps + 19, md, 32);
	raw = rsa_raw_sign(key, em, k);
	TH_CHECK(raw != NULL && gh_jws_verify_raw(key, "abc", 3, raw, k) == GH_JOSE_OK);
	free(raw);
	em[2 + ps / 2] = 0xfe;                  /* a padding byte not FF */
	raw = rsa_raw_sign(key, em, k);
	TH_CHECK(raw != NULL && gh_jws_verify_raw(key, "abc", 3, raw, k) == GH_JOSE_ESIG);
	free(raw);
	em[2 + ps / 2] = 0xff;
	em[1] = 2;                              /* block type 2 */
	raw = rsa_raw_sign(key, em, k);
	TH_CHECK(raw != NULL && gh_jws_verify_raw(key, "abc", 3, raw, k) == GH_JOSE_ESIG);
	free(raw);
	em[1] = 1;
	/* DigestInfo without the NULL parameters, two more padding bytes */
	memset(em + 2, 0xff, ps + 2);
	em[2 + ps + 2] = 0;
	memcpy(em + 3 + ps + 2, "\x30\x2f\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x04\x20", 17);
	memcpy(em + 3 + ps + 2 + 17, md, 32);
	raw = rsa_raw_sign(key, em, k);
	TH_CHECK(raw != NULL && gh_jws_verify_raw(key, "abc", 3, raw, k) == GH_JOSE_ESIG);
	free(raw);
	/* SHA-1's DigestInfo around the first 20 bytes of the SHA-256 */
	memset(em + 2, 0xff, k - 2);
	em[k - 36] = 0;
	memcpy(em + k - 35, "\x30\x21\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00\x04\x14", 15);
	memcpy(em + k - 20, md, 20);
	raw = rsa_raw_sign(key, em, k);
	TH_CHECK(raw != NULL && gh_jws_verify_raw(key, "abc", 3, raw, k) == GH_JOSE_ESIG);
	free(raw);
}

int
main(void)
{
	struct gh_jwk *keys[3];
	size_t i;

	test_rfc7515_a2();
	test_rfc7515_a3();
	test_rfc8037();
	test_rfc7638();
	for (i = 0; i < 3; i++)
		keys[i] = gh_jwk_generate(algs[i], NULL);
	test_round_trips(keys);
	test_rs256_encoding(keys[0]);
	test_refusals(keys);
	{
		struct gh_jwks *set = gh_jwks_new();

		for (i = 0; i < 3; i++) {
			char *pem = gh_jwk_public_pem(keys[i]);

			gh_jwks_add(set, gh_jwk_from_pem(pem, strlen(pem),
			    keys[i]->kid));
			free(pem);
		}
		for (i = 0; i < 3; i++)
			test_mutations(keys[i], set);
		gh_jwks_free(set);
	}
	test_jwk_refusals();
	test_claims();
	for (i = 0; i < 3; i++)
		gh_jwk_free(keys[i]);
	TH_END();
}
