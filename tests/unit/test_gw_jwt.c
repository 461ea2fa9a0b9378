/*
 * Unit tests of the gateway's token verification (gateway/jwt.c), its
 * per-worker verified-token cache and the failed-authentication limiter
 * (gateway/authfail.c): valid access tokens and API keys, more than 30
 * forged or unusable tokens refused, jku/x5u/jwk/x5c headers never
 * fetched (a listener sees no connection), revocations and not-before
 * times checked on every use, the cache's hits, expiry and bound, and the
 * one-pass digests of a token (cache key and signing input) gw_jwt_verify_md uses.
 * The two store lookups jwt.c uses are stood in for here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_codec.h"
#include "core/gh_jose.h"
#include "gateway/auth.h"
#include "th.h"

#define ISS "https://km.test:9445/oauth2/token"

/* ---- the store's revocation lookups, stood in for ---- */

static const char *revoked_jti = "revoked-jti";
static const char *nb_client = "client-regenerated";
static int64_t nb_time;

int
gw_store_jti_revoked(const struct gw_store *s, const char *jti)
{
	(void)s;
	return strcmp(jti, revoked_jti) == 0;
}

int64_t
gw_store_client_not_before(const struct gw_store *s, const char *client_id)
{
	(void)s;
	return strcmp(client_id, nb_client) == 0 ? nb_time : 0;
}

/* ---- token making ---- */

static struct gh_jwk *es, *rs, *evil;
static struct gh_jwks *set;
static int64_t now;

static char *
b64(const char *s)
{
	return gh_b64url_encode(s, strlen(s));
}

/* header.payload.signature with the signature of signer, an HMAC with secret, or none. */
static char *
mk(const char *hdr, const char *payload, const struct gh_jwk *signer, const char *hs_secret, size_t hs_len)
{
	char *h = b64(hdr), *p = b64(payload), *sig = NULL, *out;
	size_t ilen = strlen(h) + 1 + strlen(p);
	char *input = malloc(ilen + 1);
	unsigned char *raw = NULL, mac[32];
	size_t rawlen = 0;
	unsigned int maclen = 0;

	snprintf(input, ilen + 1, "%s.%s", h, p);
	if (signer != NULL && gh_jws_sign_raw(signer, input, ilen, &raw, &rawlen) == GH_JOSE_OK) {
		sig = gh_b64url_encode(raw, rawlen);
	} else if (hs_secret != NULL) {
		HMAC(EVP_sha256(), hs_secret, (int)hs_len, (const unsigned char *)input, ilen, mac, &maclen);
		sig = gh_b64url_encode(mac, maclen);
	} else {
		sig = strdup("");
	}
	out = malloc(ilen + strlen(sig) + 2);
	sprintf(out, "%s.%s", input, sig);
	free(h);
	free(p);
	free(sig);
	free(raw);
	free(input);
	return out;
}

/* Claims of a gateway access token with overrides: extra is spliced in after the defaults. */
static char *
claims(const char *iss, const char *aud, int64_t exp, const char *jti, const char *extra)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"alice@acme.com\",\"aud\":\"%s\",\"exp\":%lld,"
	    "\"iat\":%lld,\"nbf\":%lld,\"jti\":\"%s\",\"client_id\":\"client-1\",\"azp\":\"client-1\","
	    "\"scope\":\"read write\",\"tenant\":\"acme.com\",\"application\":{\"id\":\"app-1\",\"name\":\"App\","
	    "\"tier\":\"Gold\",\"owner\":\"alice@acme.com\",\"tenant\":\"acme.com\"},\"keytype\":\"SANDBOX\"%s}",
	    iss, aud, (long long)exp, (long long)now, (long long)now, jti, extra ? extra : "");
	return buf;
}

static char *
good_claims(void)
{
	return claims(ISS, GW_AUD_GATEWAY, now + 3600, "jti-1", NULL);
}

static const char *
es_hdr(void)
{
	return "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
}

static enum gw_verdict
verify(const char *tok, struct gw_principal *p, const char **why)
{
	return gw_jwt_verify(tok, strlen(tok), set, ISS, now, p, why);
}

static int forged_refused;
static int lfd = -1;            /* the listener that no header may make us call */

/* A token that must be refused; counts it. */
static void
refuse(const char *name, char *tok)
{
	struct gw_principal p;
	const char *why = NULL;
	enum gw_verdict v;

	memset(&p, 0, sizeof(p));
	TH_TEST(name);
	v = verify(tok, &p, &why);
	TH_CHECK_MSG(v != GW_TOK_OK, "%s was accepted", name);
	TH_CHECK(p.kind == 0 && p.scope == NULL);
	if (v != GW_TOK_OK)
		forged_refused++;
	gw_principal_reset(&p);
	free(tok);
}

/* ---- tests ---- */

static void
test_valid(void)
{
	struct gw_principal p;
	const char *why = NULL;
	char *t;

	memset(&p, 0, sizeof(p));
	TH_TEST("valid ES256 access token");
	t = mk(es_hdr(), good_claims(), es, NULL, 0);
	TH_CHECK_EQ_INT(verify(t, &p, &why), GW_TOK_OK);
	TH_CHECK_EQ_INT(p.kind, 1);
	TH_CHECK_EQ_STR(p.sub, "alice@acme.com");
	TH_CHECK_EQ_STR(p.tenant, "acme.com");
	TH_CHECK_EQ_STR(p.client_id, "client-1");
	TH_CHECK_EQ_STR(p.jti, "jti-1");
	TH_CHECK_EQ_STR(p.app_id, "app-1");
	TH_CHECK_EQ_STR(p.app_tier, "Gold");
	TH_CHECK_EQ_STR(p.key_type, "SANDBOX");
	TH_CHECK_EQ_STR(p.scope, "read write");
	TH_CHECK_EQ_INT(p.exp, now + 3600);
	TH_CHECK_EQ_INT(p.iat, now);
	TH_CHECK_EQ_INT(gw_principal_live(NULL, &p, &why), 0);
	gw_principal_reset(&p);
	free(t);

	TH_TEST("valid RS256 token; jku, x5u, jwk, x5c headers ignored");
	t = mk("{\"alg\":\"RS256\",\"kid\":\"k2\",\"jku\":\"http://127.0.0.1:1/jwks\",\"x5u\":\"http://127.0.0.1:1/c\"}",
	    good_claims(), rs, NULL, 0);
	TH_CHECK_EQ_INT(verify(t, &p, &why), GW_TOK_OK);
	gw_principal_reset(&p);
	free(t);

	TH_TEST("expired within the 60 s leeway is still accepted");
	t = mk(es_hdr(), claims(ISS, GW_AUD_GATEWAY, now - 30, "jti-1", NULL), es, NULL, 0);
	TH_CHECK_EQ_INT(verify(t, &p, &why), GW_TOK_OK);
	gw_principal_reset(&p);
	free(t);

	TH_TEST("aud as an array containing the gateway audience");
	t = mk(es_hdr(), "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"gatehouse-gateway\"],\"exp\":9999999999,"
	    "\"jti\":\"j\",\"sub\":\"bob\"}", es, NULL, 0);
	TH_CHECK_EQ_INT(verify(t, &p, &why), GW_TOK_OK);
	TH_CHECK_EQ_STR(p.tenant, "carbon.super");
	TH_CHECK_EQ_STR(p.scope, "");
	TH_CHECK_EQ_STR(p.app_id, "");
	gw_principal_reset(&p);
	free(t);

	TH_TEST("an API key (token_type apiKey) is kind 3, without client_id");
	t = mk(es_hdr(), "{\"iss\":\"" ISS "\",\"sub\":\"alice@acme.com\",\"aud\":\"gatehouse-gateway\",\"exp\":9999999999,"
	    "\"iat\":1,\"nbf\":1,\"jti\":\"ak-1\",\"token_type\":\"apiKey\",\"keytype\":\"PRODUCTION\","
	    "\"application\":{\"id\":\"app-9\",\"name\":\"A\",\"tier\":\"Unlimited\",\"owner\":\"alice@acme.com\","
	    "\"tenant\":\"acme.com\"},\"tenant\":\"acme.com\"}", es, NULL, 0);
	TH_CHECK_EQ_INT(verify(t, &p, &why), GW_TOK_OK);
	TH_CHECK_EQ_INT(p.kind, 3);
	TH_CHECK_EQ_STR(p.client_id, "");
	TH_CHECK_EQ_STR(p.app_id, "app-9");
	TH_CHECK_EQ_STR(p.key_type, "PRODUCTION");
	gw_principal_reset(&p);
	free(t);

	TH_TEST("gw_jwt_shaped");
	TH_CHECK(gw_jwt_shaped("a.b.c", 5));
	TH_CHECK(!gw_jwt_shaped("a.b.", 4));
	TH_CHECK(!gw_jwt_shaped(".b.c", 4));
	TH_CHECK(!gw_jwt_shaped("a..c", 4));
	TH_CHECK(!gw_jwt_shaped("a.b.c.d", 7));
	TH_CHECK(!gw_jwt_shaped("abcdef", 6));
}

static void
test_forged(int listener)
{
	char *pem = gh_jwk_public_pem(rs), *espem = gh_jwk_public_pem(es), *t, *hdr, *big;
	struct json_object *jwk = gh_jwk_to_json(rs), *ejwk = gh_jwk_to_json(evil);
	const char *jwktext = json_object_to_json_string_ext(jwk, JSON_C_TO_STRING_PLAIN);
	char buf[8192], *h, *p;
	const char *nones[] = { "none", "None", "NONE", "nOnE", "NoNe" };
	struct gw_principal pr;
	const char *why;
	size_t n;

	for (size_t i = 0; i < sizeof(nones) / sizeof(nones[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"alg\":\"%s\",\"kid\":\"k1\"}", nones[i]);
		refuse("alg none (any case), empty signature", mk(buf, good_claims(), NULL, NULL, 0));
	}
	refuse("alg none, no kid", mk("{\"alg\":\"none\"}", good_claims(), NULL, NULL, 0));
	refuse("HS256 signed with the RSA public key (PEM)",
	    mk("{\"alg\":\"HS256\",\"kid\":\"k2\"}", good_claims(), NULL, pem, strlen(pem)));
	refuse("HS256 signed with the RSA public key (JWK)",
	    mk("{\"alg\":\"HS256\",\"kid\":\"k2\"}", good_claims(), NULL, jwktext, strlen(jwktext)));
	refuse("HS256 signed with the EC public key (PEM)",
	    mk("{\"alg\":\"HS256\",\"kid\":\"k1\"}", good_claims(), NULL, espem, strlen(espem)));
	refuse("HS512 signed with the RSA public key (PEM)",
	    mk("{\"alg\":\"HS512\",\"kid\":\"k2\"}", good_claims(), NULL, pem, strlen(pem)));
	refuse("HS256 with no kid", mk("{\"alg\":\"HS256\"}", good_claims(), NULL, pem, strlen(pem)));
	/* stripped signature: the signing input plus a dot, and without the dot */
	t = mk(es_hdr(), good_claims(), es, NULL, 0);
	*(strrchr(t, '.') + 1) = '\0';
	refuse("stripped signature (trailing dot)", t);
	t = mk(es_hdr(), good_claims(), es, NULL, 0);
	*strrchr(t, '.') = '\0';
	refuse("stripped signature (2 segments)", t);
	t = mk("{\"alg\":\"ES256\",\"kid\":\"nope\"}", good_claims(), es, NULL, 0);
	TH_TEST("unknown kid asks for the JWKS");
	memset(&pr, 0, sizeof(pr));
	TH_CHECK_EQ_INT(verify(t, &pr, &why), GW_TOK_UNKNOWN_KID);
	refuse("unknown kid", t);
	refuse("kid with path traversal",
	    mk("{\"alg\":\"ES256\",\"kid\":\"../../../../../etc/passwd\"}", good_claims(), es, NULL, 0));
	refuse("kid /dev/null", mk("{\"alg\":\"ES256\",\"kid\":\"/dev/null\"}", good_claims(), es, NULL, 0));
	refuse("kid with an SQL quote", mk("{\"alg\":\"ES256\",\"kid\":\"k1' OR '1'='1\"}", good_claims(), es, NULL, 0));
	/* attacker's key announced in headers: never fetched, never trusted */
	snprintf(buf, sizeof(buf), "{\"alg\":\"ES256\",\"kid\":\"k1\",\"jku\":\"http://127.0.0.1:%d/jwks\"}", listener);
	refuse("jku to the attacker's JWKS, signed by the attacker", mk(buf, good_claims(), evil, NULL, 0));
	snprintf(buf, sizeof(buf), "{\"alg\":\"ES256\",\"kid\":\"evil\",\"jku\":\"http://127.0.0.1:%d/jwks\"}", listener);
	refuse("jku with the attacker's kid", mk(buf, good_claims(), evil, NULL, 0));
	snprintf(buf, sizeof(buf), "{\"alg\":\"ES256\",\"kid\":\"k1\",\"x5u\":\"http://127.0.0.1:%d/cert.pem\"}", listener);
	refuse("x5u to the attacker's certificate", mk(buf, good_claims(), evil, NULL, 0));
	hdr = malloc(4096);
	snprintf(hdr, 4096, "{\"alg\":\"ES256\",\"jwk\":%s}",
	    json_object_to_json_string_ext(ejwk, JSON_C_TO_STRING_PLAIN));
	refuse("embedded jwk of the attacker (no kid)", mk(hdr, good_claims(), evil, NULL, 0));
	snprintf(hdr, 4096, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"jwk\":%s}",
	    json_object_to_json_string_ext(ejwk, JSON_C_TO_STRING_PLAIN));
	refuse("embedded jwk of the attacker with our kid", mk(hdr, good_claims(), evil, NULL, 0));
	refuse("x5c chain of the attacker", mk("{\"alg\":\"ES256\",\"kid\":\"k1\",\"x5c\":[\"MIIB\"]}",
	    good_claims(), evil, NULL, 0));
	free(hdr);
	/* ECDSA r = s = 0 */
	h = b64(es_hdr());
	p = b64(good_claims());
	{
		unsigned char zero[64] = { 0 };
		char *z = gh_b64url_encode(zero, sizeof(zero));
		t = malloc(strlen(h) + strlen(p) + strlen(z) + 3);
		sprintf(t, "%s.%s.%s", h, p, z);
		refuse("ECDSA r = s = 0", t);
		free(z);
	}
	{
		/* r = s = n, the order of P-256 */
		static const unsigned char n256[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9,
			0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
		unsigned char rsn[64];
		char *z;
		memcpy(rsn, n256, 32);
		memcpy(rsn + 32, n256, 32);
		z = gh_b64url_encode(rsn, sizeof(rsn));
		t = malloc(strlen(h) + strlen(p) + strlen(z) + 3);
		sprintf(t, "%s.%s.%s", h, p, z);
		refuse("ECDSA r = s = n", t);
		free(z);
	}
	free(h);
	free(p);
	refuse("alg RS256 on the ES256 key", mk("{\"alg\":\"RS256\",\"kid\":\"k1\"}", good_claims(), rs, NULL, 0));
	refuse("alg ES256 on the RS256 key", mk("{\"alg\":\"ES256\",\"kid\":\"k2\"}", good_claims(), es, NULL, 0));
	refuse("signed by another key under our kid", mk(es_hdr(), good_claims(), evil, NULL, 0));
	refuse("crit header", mk("{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}", good_claims(), es, NULL, 0));
	refuse("duplicate alg member", mk("{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"k1\"}", good_claims(), es, NULL, 0));
	/* tampered payload: a valid token whose claims were changed after signing */
	t = mk(es_hdr(), good_claims(), es, NULL, 0);
	{
		char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
		char *np = b64(claims(ISS, GW_AUD_GATEWAY, now + 3600, "jti-1", ",\"admin\":true"));
		char *t2 = malloc(strlen(t) + strlen(np) + 2);
		*d1 = '\0';
		sprintf(t2, "%s.%s%s", t, np, d2);
		refuse("payload changed after signing", t2);
		free(np);
	}
	free(t);
	refuse("expired", mk(es_hdr(), claims(ISS, GW_AUD_GATEWAY, now - 120, "j", NULL), es, NULL, 0));
	refuse("nbf in the future", mk(es_hdr(), claims(ISS, GW_AUD_GATEWAY, now + 3600, "j", ",\"nbf\":9999999999"),
	    es, NULL, 0));
	refuse("iat in the future", mk(es_hdr(), claims(ISS, GW_AUD_GATEWAY, now + 3600, "j", ",\"iat\":9999999999"),
	    es, NULL, 0));
	refuse("no exp", mk(es_hdr(), "{\"iss\":\"" ISS "\",\"aud\":\"gatehouse-gateway\",\"jti\":\"j\"}", es, NULL, 0));
	refuse("exp as a string", mk(es_hdr(), "{\"iss\":\"" ISS "\",\"aud\":\"gatehouse-gateway\",\"jti\":\"j\","
	    "\"exp\":\"9999999999\"}", es, NULL, 0));
	refuse("wrong iss", mk(es_hdr(), claims("https://evil.test/oauth2/token", GW_AUD_GATEWAY, now + 3600, "j", NULL),
	    es, NULL, 0));
	refuse("wrong aud", mk(es_hdr(), claims(ISS, "someone-else", now + 3600, "j", NULL), es, NULL, 0));
	refuse("a management token (aud gatehouse-management)",
	    mk(es_hdr(), claims(ISS, "gatehouse-management", now + 3600, "j", NULL), es, NULL, 0));
	refuse("aud array without the gateway", mk(es_hdr(), "{\"iss\":\"" ISS "\",\"aud\":[\"gatehouse-management\"],"
	    "\"exp\":9999999999,\"jti\":\"j\"}", es, NULL, 0));
	refuse("no jti", mk(es_hdr(), "{\"iss\":\"" ISS "\",\"aud\":\"gatehouse-gateway\",\"exp\":9999999999}", es, NULL, 0));
	refuse("claims not an object", mk(es_hdr(), "[1,2,3]", es, NULL, 0));
	refuse("application claim not an object", mk(es_hdr(), claims(ISS, GW_AUD_GATEWAY, now + 3600, "j",
	    ",\"application\":\"app-1\""), es, NULL, 0));
	refuse("keytype neither PRODUCTION nor SANDBOX", mk(es_hdr(), claims(ISS, GW_AUD_GATEWAY, now + 3600, "j",
	    ",\"keytype\":\"ADMIN\""), es, NULL, 0));
	snprintf(buf, sizeof(buf), ",\"sub\":\"%0300d\"", 7);
	refuse("sub too long for the gateway", mk(es_hdr(), claims(ISS, GW_AUD_GATEWAY, now + 3600, "j", buf), es, NULL, 0));
	/* shapes */
	t = mk(es_hdr(), good_claims(), es, NULL, 0);
	big = malloc(strlen(t) + 8);
	sprintf(big, "%s.AAAA", t);
	refuse("4 segments", big);
	big = malloc(strlen(t) + 8);
	sprintf(big, "%s", t);
	big[3] = '+';
	refuse("non-base64url character '+'", big);
	big = malloc(strlen(t) + 8);
	sprintf(big, "%s", t);
	big[5] = '*';
	refuse("non-base64url character '*'", big);
	big = malloc(strlen(t) + 8);
	sprintf(big, "%s=", t);
	refuse("base64 padding", big);
	big = malloc(strlen(t) + 8);
	sprintf(big, "%s", t);
	big[4] = ' ';
	refuse("a space inside", big);
	free(t);
	refuse("empty", strdup(""));
	refuse("dots only", strdup(".."));
	n = 1024 * 1024;
	big = malloc(n + 1);
	memset(big, 'A', n);
	big[100] = '.';
	big[200] = '.';
	big[n] = '\0';
	refuse("a 1 MB token", big);
	n = GW_TOKEN_MAX + 1;
	big = malloc(n + 1);
	memset(big, 'A', n);
	big[100] = '.';
	big[200] = '.';
	big[n] = '\0';
	TH_TEST("just over 8 KiB: refused before decoding");
	memset(&pr, 0, sizeof(pr));
	why = NULL;
	TH_CHECK_EQ_INT(gw_jwt_verify(big, n, set, ISS, now, &pr, &why), GW_TOK_INVALID);
	TH_CHECK(why != NULL && strstr(why, "too long") != NULL);
	refuse("just over 8 KiB", big);
	TH_TEST("no keys yet");
	t = mk(es_hdr(), good_claims(), es, NULL, 0);
	TH_CHECK(gw_jwt_verify(t, strlen(t), NULL, ISS, now, &pr, &why) != GW_TOK_OK);
	free(t);

	TH_TEST("at least 30 forged tokens refused");
	TH_CHECK_MSG(forged_refused >= 30, "only %d", forged_refused);
	TH_TEST("jku, x5u, jwk: nothing connected to the listener");
	{
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int c = accept(lfd, (struct sockaddr *)&a, &al);
		TH_CHECK_MSG(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "a connection arrived");
		if (c >= 0)
			close(c);
	}
	json_object_put(jwk);
	json_object_put(ejwk);
	free(pem);
	free(espem);
}

static void
test_live(void)
{
	struct gw_principal p;
	const char *why = NULL;
	char *t;

	memset(&p, 0, sizeof(p));
	TH_TEST("a revoked jti is refused on use");
	t = mk(es_hdr(), claims(ISS, GW_AUD_GATEWAY, now + 3600, "revoked-jti", NULL), es, NULL, 0);
	TH_CHECK_EQ_INT(verify(t, &p, &why), GW_TOK_OK);
	TH_CHECK_EQ_INT(gw_principal_live(NULL, &p, &why), -1);
	TH_CHECK(why != NULL && strstr(why, "revoked") != NULL);
	gw_principal_reset(&p);
	free(t);

	TH_TEST("an API key revoked by jti");
	t = mk(es_hdr(), "{\"iss\":\"" ISS "\",\"aud\":\"gatehouse-gateway\",\"exp\":9999999999,\"jti\":\"revoked-jti\","
	    "\"token_type\":\"apiKey\"}", es, NULL, 0);
	TH_CHECK_EQ_INT(verify(t, &p, &why), GW_TOK_OK);
	TH_CHECK_EQ_INT(p.kind, 3);
	TH_CHECK_EQ_INT(gw_principal_live(NULL, &p, &why), -1);
	TH_CHECK(strstr(why, "API key") != NULL);
	gw_principal_reset(&p);
	free(t);

	TH_TEST("a token issued before its client's not-before");
	nb_time = now + 1;
	{
		char c2[512];
		snprintf(c2, sizeof(c2), "{\"iss\":\"" ISS "\",\"aud\":\"gatehouse-gateway\",\"exp\":9999999999,"
		    "\"jti\":\"j2\",\"iat\":%lld,\"client_id\":\"client-regenerated\"}", (long long)now);
		t = mk(es_hdr(), c2, es, NULL, 0);
	}
	TH_CHECK_EQ_INT(verify(t, &p, &why), GW_TOK_OK);
	TH_CHECK_EQ_STR(p.client_id, "client-regenerated");
	TH_CHECK_EQ_INT(gw_principal_live(NULL, &p, &why), -1);
	nb_time = now;   /* issued in the same second as the regeneration: still good (iat >= not-before) */
	TH_CHECK_EQ_INT(gw_principal_live(NULL, &p, &why), 0);
	gw_principal_reset(&p);
	free(t);
}

static void
fill(struct gw_principal *p, const char *jti, int64_t exp)
{
	memset(p, 0, sizeof(*p));
	p->kind = 1;
	snprintf(p->sub, sizeof(p->sub), "alice");
	snprintf(p->tenant, sizeof(p->tenant), "acme.com");
	snprintf(p->client_id, sizeof(p->client_id), "client-1");
	snprintf(p->jti, sizeof(p->jti), "%s", jti);
	snprintf(p->app_id, sizeof(p->app_id), "app-1");
	snprintf(p->key_type, sizeof(p->key_type), "PRODUCTION");
	snprintf(p->app_name, sizeof(p->app_name), "App");
	snprintf(p->app_tier, sizeof(p->app_tier), "Gold");
	snprintf(p->app_owner, sizeof(p->app_owner), "alice");
	snprintf(p->app_tenant, sizeof(p->app_tenant), "acme.com");
	p->scope = strdup("read write");
	p->exp = exp;
	p->iat = 42;
}

static void
test_cache(void)
{
	struct gw_token_cache *c = gw_token_cache_new(4);
	struct gw_principal in, out;
	int64_t t0 = 1000000;
	char key[32];

	memset(&out, 0, sizeof(out));
	TH_TEST("cache: hit gives the verified summary");
	fill(&in, "j-a", 2000);
	gw_token_cache_put(c, "token-a", 7, t0 + 5000, &in);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "token-a", 7, t0, &out), 1);
	TH_CHECK_EQ_INT(out.kind, 1);
	TH_CHECK_EQ_STR(out.jti, "j-a");
	TH_CHECK_EQ_STR(out.scope, "read write");
	TH_CHECK_EQ_STR(out.app_tier, "Gold");
	TH_CHECK_EQ_STR(out.key_type, "PRODUCTION");
	TH_CHECK_EQ_INT(out.exp, 2000);
	TH_CHECK_EQ_INT(out.iat, 42);
	TH_TEST("cache: the exact bytes only (a prefix, a variant are misses)");
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "token-", 6, t0, &out), 0);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "token-b", 7, t0, &out), 0);
	TH_TEST("cache: an entry is not used past its time, and is dropped");
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "token-a", 7, t0 + 5000, &out), 0);
	TH_CHECK_EQ_INT(gw_token_cache_count(c), 0);
	gw_principal_reset(&in);

	TH_TEST("cache: bounded, the oldest goes first");
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "tok-%d", i);
		fill(&in, key, 2000);
		gw_token_cache_put(c, key, strlen(key), t0 + 60000, &in);
		gw_principal_reset(&in);
	}
	TH_CHECK_EQ_INT(gw_token_cache_count(c), 4);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "tok-0", 5, t0, &out), 0);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "tok-1", 5, t0, &out), 0);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "tok-2", 5, t0, &out), 1);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "tok-5", 5, t0, &out), 1);
	TH_CHECK_EQ_STR(out.jti, "tok-5");
	TH_TEST("cache: a key stored again replaces its entry");
	fill(&in, "again", 2000);
	gw_token_cache_put(c, "tok-5", 5, t0 + 60000, &in);
	gw_principal_reset(&in);
	TH_CHECK_EQ_INT(gw_token_cache_count(c), 4);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "tok-5", 5, t0, &out), 1);
	TH_CHECK_EQ_STR(out.jti, "again");
	TH_TEST("cache: a negative entry");
	gw_token_cache_put(c, "inactive", 8, t0 + 100, NULL);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "inactive", 8, t0, &out), -1);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "inactive", 8, t0 + 100, &out), 0);
	gw_principal_reset(&out);
	gw_token_cache_free(c);

	TH_TEST("cache: a summary longer than a slot's room, and the longest fields, survive intact");
	c = gw_token_cache_new(2);
	fill(&in, "long", 2000);
	free(in.scope);
	in.scope = malloc(3001);
	TH_CHECK(in.scope != NULL);
	if (in.scope != NULL) {
		memset(in.scope, 's', 3000);
		in.scope[3000] = '\0';
	}
	memset(in.sub, 'u', sizeof(in.sub) - 1);
	in.sub[sizeof(in.sub) - 1] = '\0';
	memset(in.app_owner, 'o', sizeof(in.app_owner) - 1);
	in.app_owner[sizeof(in.app_owner) - 1] = '\0';
	gw_token_cache_put(c, "long-token", 10, t0 + 60000, &in);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "long-token", 10, t0, &out), 1);
	TH_CHECK(out.scope != NULL && in.scope != NULL && strcmp(out.scope, in.scope) == 0);
	TH_CHECK_EQ_STR(out.sub, in.sub);
	TH_CHECK_EQ_STR(out.app_owner, in.app_owner);
	TH_CHECK_EQ_STR(out.jti, "long");
	TH_TEST("cache: a long entry replaced by a short one, then evicted (no leak under ASan)");
	gw_principal_reset(&in);
	fill(&in, "short", 2000);
	gw_token_cache_put(c, "long-token", 10, t0 + 60000, &in);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "long-token", 10, t0, &out), 1);
	TH_CHECK_EQ_STR(out.jti, "short");
	TH_CHECK_EQ_STR(out.scope, "read write");
	gw_token_cache_put(c, "b", 1, t0 + 60000, &in);
	gw_token_cache_put(c, "c", 1, t0 + 60000, &in);
	TH_CHECK_EQ_INT(gw_token_cache_count(c), 2);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "long-token", 10, t0, &out), 0);
	TH_TEST("cache: keys differing in one byte of a 1 KB token are different entries");
	{
		char t1[1024], t2[1024];

		memset(t1, 'a', sizeof(t1));
		memcpy(t2, t1, sizeof(t2));
		t2[700] = 'b';
		gw_token_cache_put(c, t1, sizeof(t1), t0 + 60000, &in);
		TH_CHECK_EQ_INT(gw_token_cache_get(c, t2, sizeof(t2), t0, &out), 0);
		TH_CHECK_EQ_INT(gw_token_cache_get(c, t1, sizeof(t1) - 1, t0, &out), 0);
		TH_CHECK_EQ_INT(gw_token_cache_get(c, t1, sizeof(t1), t0, &out), 1);
	}
	gw_principal_reset(&in);
	gw_principal_reset(&out);
	gw_token_cache_free(c);

	TH_TEST("cache of size 0 keeps nothing");
	c = gw_token_cache_new(0);
	fill(&in, "x", 2000);
	gw_token_cache_put(c, "k", 1, t0 + 1000, &in);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "k", 1, t0, &out), 0);
	gw_principal_reset(&in);
	gw_token_cache_free(c);

	TH_TEST("cache: many entries in a larger table");
	c = gw_token_cache_new(1000);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "many-%d", i);
		fill(&in, key, 2000);
		gw_token_cache_put(c, key, strlen(key), t0 + 60000, &in);
		gw_principal_reset(&in);
	}
	TH_CHECK_EQ_INT(gw_token_cache_count(c), 1000);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "many-1999", 9, t0, &out), 0);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "many-2000", 9, t0, &out), 1);
	TH_CHECK_EQ_INT(gw_token_cache_get(c, "many-2999", 9, t0, &out), 1);
	gw_principal_reset(&out);
	gw_token_cache_free(c);
}

/* The cache key of a JWS (gw_token_cache_digest_jws: its signing input's digest) and gw_jwt_verify_md. */
static void
test_digest_jws(void)
{
	struct gw_token_cache *c = gw_token_cache_new(16);
	struct gw_principal p, in, out;
	const char *why = NULL;
	unsigned char d[32], md[32], want_d[32], want_md[32];
	size_t klen = 0;
	char *tok[2];
	const char *names[2] = { "RS256", "ES256" };
	int64_t t0 = 1700000000000LL;

	memset(&p, 0, sizeof(p));
	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	tok[0] = mk("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k2\"}", good_claims(), rs, NULL, 0);
	tok[1] = mk(es_hdr(), good_claims(), es, NULL, 0);
	for (int i = 0; i < 2; i++) {
		size_t len = strlen(tok[i]), in_len = (size_t)(strrchr(tok[i], '.') - tok[i]);

		TH_TEST(names[i]);
		TH_CHECK_EQ_INT(gw_token_cache_digest_jws(c, tok[i], len, d, &klen), 1);
		TH_CHECK_EQ_INT((long long)klen, (long long)in_len);
		TH_CHECK_EQ_INT(gh_sha256(tok[i], in_len, want_md), 0);
		TH_CHECK(memcmp(d, want_md, 32) == 0);
		memcpy(md, d, 32);
		TH_CHECK_EQ_INT(gw_jwt_verify_md(tok[i], len, md, set, ISS, now, &p, &why), GW_TOK_OK);
		gw_principal_reset(&p);
		TH_CHECK_EQ_INT(gw_jwt_verify_md(tok[i], len, NULL, set, ISS, now, &p, &why), GW_TOK_OK);
		gw_principal_reset(&p);
		/* a digest that is not the signing input's: the signature does not verify */
		md[5] ^= 1;
		TH_CHECK_EQ_INT(gw_jwt_verify_md(tok[i], len, md, set, ISS, now, &p, &why), GW_TOK_INVALID);
		TH_CHECK_EQ_STR(why, "The token's signature is invalid");
		gw_principal_reset(&p);
	}
	TH_TEST("digest_jws: fewer than two dots, the whole token's digest");
	TH_CHECK_EQ_INT(gw_token_cache_digest_jws(c, "abc.def", 7, d, &klen), 0);
	TH_CHECK_EQ_INT((long long)klen, 7);
	TH_CHECK_EQ_INT(gw_token_cache_digest(c, "abc.def", 7, want_d), 0);
	TH_CHECK(memcmp(d, want_d, 32) == 0);

	TH_TEST("digest and tail: only the same signature bytes hit");
	snprintf(in.sub, sizeof(in.sub), "alice");
	snprintf(in.jti, sizeof(in.jti), "j-1");
	in.kind = 1;
	in.scope = strdup("a b");
	TH_CHECK_EQ_INT(gw_token_cache_digest_jws(c, tok[0], strlen(tok[0]), d, &klen), 1);
	gw_token_cache_put_dt(c, d, tok[0] + klen, strlen(tok[0]) - klen, t0 + 60000, &in);
	TH_CHECK_EQ_INT(gw_token_cache_get_dt(c, d, tok[0] + klen, strlen(tok[0]) - klen, t0, &out), 1);
	TH_CHECK_EQ_STR(out.sub, "alice");
	TH_CHECK_EQ_STR(out.scope, "a b");
	gw_principal_reset(&out);
	{
		size_t tl = strlen(tok[0]) - klen;
		char *other = strdup(tok[0] + klen);

		/* another signature on the same signing input (the last byte, or one bit of it) */
		other[tl - 1] = other[tl - 1] == 'A' ? 'B' : 'A';
		TH_CHECK_EQ_INT(gw_token_cache_get_dt(c, d, other, tl, t0, &out), 0);
		TH_CHECK_EQ_INT(gw_token_cache_get_dt(c, d, tok[0] + klen, tl - 1, t0, &out), 0);
		TH_CHECK_EQ_INT(gw_token_cache_get_dt(c, d, NULL, 0, t0, &out), 0);
		TH_CHECK_EQ_INT(gw_token_cache_get_d(c, d, t0, &out), 0);
		/* stored under the other tail too: two entries, each found by its own */
		gw_token_cache_put_dt(c, d, other, tl, t0 + 60000, NULL);
		TH_CHECK_EQ_INT(gw_token_cache_get_dt(c, d, other, tl, t0, &out), -1);
		TH_CHECK_EQ_INT(gw_token_cache_get_dt(c, d, tok[0] + klen, tl, t0, &out), 1);
		gw_principal_reset(&out);
		free(other);
	}
	free(in.scope);
	TH_TEST("digest_jws: a cache of size 0 hashes nothing");
	gw_token_cache_free(c);
	c = gw_token_cache_new(0);
	TH_CHECK_EQ_INT(gw_token_cache_digest_jws(c, tok[0], strlen(tok[0]), d, &klen), -1);
	gw_token_cache_free(c);
	free(tok[0]);
	free(tok[1]);
}

static void
test_authfail(void)
{
	int64_t t0 = 60000LL * 1000 + 30000;    /* half-way through a minute */
	int ra = 0;

	gw_authfail_init(5);
	TH_TEST("limiter: under the limit");
	for (int i = 0; i < 4; i++)
		gw_authfail_note("192.0.2.7", t0);
	TH_CHECK_EQ_INT(gw_authfail_blocked("192.0.2.7", t0, &ra), 0);
	TH_TEST("limiter: at the limit, with Retry-After");
	gw_authfail_note("192.0.2.7", t0);
	TH_CHECK_EQ_INT(gw_authfail_blocked("192.0.2.7", t0, &ra), 1);
	TH_CHECK(ra >= 1 && ra <= 61);
	TH_TEST("limiter: another address is not blocked");
	TH_CHECK_EQ_INT(gw_authfail_blocked("192.0.2.8", t0, &ra), 0);
	TH_CHECK_EQ_INT(gw_authfail_blocked("::ffff:192.0.2.7", t0, &ra), 1);
	TH_TEST("limiter: the sliding minute (half of the last minute still counts)");
	TH_CHECK_EQ_INT(gw_authfail_blocked("192.0.2.7", t0 + 30000, &ra), 1);    /* 5 + 0, the next minute starts */
	TH_CHECK_EQ_INT(gw_authfail_blocked("192.0.2.7", t0 + 60000, &ra), 0);    /* 5 × 1/2 */
	TH_CHECK_EQ_INT(gw_authfail_blocked("192.0.2.7", t0 + 120000, &ra), 0);
	TH_TEST("limiter: IPv6 counted per /64");
	for (int i = 0; i < 5; i++) {
		char a[64];
		snprintf(a, sizeof(a), "2001:db8:1:2::%x", i + 1);
		gw_authfail_note(a, t0);
	}
	TH_CHECK_EQ_INT(gw_authfail_blocked("2001:db8:1:2:ffff::1", t0, &ra), 1);
	TH_CHECK_EQ_INT(gw_authfail_blocked("2001:db8:1:3::1", t0, &ra), 0);
	TH_TEST("limiter: a non-address is never blocked");
	gw_authfail_note("not an address", t0);
	TH_CHECK_EQ_INT(gw_authfail_blocked("not an address", t0, &ra), 0);
	TH_CHECK_EQ_INT(gw_authfail_blocked(NULL, t0, &ra), 0);
	TH_TEST("limiter: many addresses do not break it");
	for (int i = 0; i < 100000; i++) {
		char a[64];
		snprintf(a, sizeof(a), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		gw_authfail_note(a, t0);
	}
	gw_authfail_init(5);
	for (int i = 0; i < 5; i++)
		gw_authfail_note("198.51.100.1", t0);
	TH_CHECK_EQ_INT(gw_authfail_blocked("198.51.100.1", t0, &ra), 1);
}

int
main(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int port = 0;

	now = (int64_t)time(NULL);
	es = gh_jwk_generate(GH_JOSE_ES256, "k1");
	rs = gh_jwk_generate(GH_JOSE_RS256, "k2");
	evil = gh_jwk_generate(GH_JOSE_ES256, "evil");
	set = gh_jwks_new();
	{
		char *pe = gh_jwk_public_pem(es), *pr = gh_jwk_public_pem(rs);
		gh_jwks_add(set, gh_jwk_from_pem(pe, strlen(pe), "k1"));
		gh_jwks_add(set, gh_jwk_from_pem(pr, strlen(pr), "k2"));
		free(pe);
		free(pr);
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 8) == 0 &&
	    getsockname(lfd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	TH_TEST("set-up");
	TH_CHECK(es != NULL && rs != NULL && evil != NULL && set != NULL && set->count == 2 && port > 0);
	test_valid();
	test_forged(port);
	test_live();
	test_cache();
	test_digest_jws();
	test_authfail();
	close(lfd);
	gh_jwks_free(set);
	gh_jwk_free(es);
	gh_jwk_free(rs);
	gh_jwk_free(evil);
	TH_END();
}
