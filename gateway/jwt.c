/*
 * JWT access tokens and API keys: verification against the key manager's
 * JWKS (the algorithm fixed by the key; jku, x5u, jwk and x5c headers are
 * never looked at, let alone fetched), the claims a gateway requires, the
 * checks that must run on every use (revoked jti, client not-before), and
 * the per-worker cache of verified credentials.  The cache is keyed by the
 * SHA-256 of the exact token bytes (as good as the bytes themselves; a
 * spelling variant is only a miss, NOTES.md) in fixed-size slots of one
 * array, and holds the verified claims summary until the token expires;
 * it never stands in for the revocation checks.  Also used by
 * introspect.c.  A JWS is keyed by the SHA-256 of its signing input (the
 * digest its signature check needs anyway) plus its exact signature text,
 * kept in the slot, so its bytes are hashed once.  The cache belongs to
 * one worker and takes no lock.
 * Claims of the usual shape are read without json-c (gw_claims_fast);
 * anything else takes the json-c route, which gives the exact reason.
 */
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "gateway/auth.h"

int
gw_jwt_shaped(const char *tok, size_t len)
{
	const char *d1, *d2, *end = tok + len;

	/* three non-empty parts: memchr runs far faster than a byte loop */
	if (len == 0 || (d1 = memchr(tok, '.', len)) == NULL || d1 == tok ||
	    (d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL ||
	    d2 == d1 + 1 || d2 + 1 == end)
		return 0;
	return memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) == NULL;
}

void
gw_principal_reset(struct gw_principal *p)
{
	free(p->scope);
	if (p->roles != NULL) {
		for (size_t i = 0; p->roles[i] != NULL; i++)
			free(p->roles[i]);
		free(p->roles);
	}
	memset(p, 0, sizeof(*p));
}

/* Copy a string claim into a field: 0 (absent: ""), -1 when not a string or too long. */
static int
copy_claim(struct json_object *o, const char *name, char *dst, size_t cap)
{
	struct json_object *v;
	const char *s;
	size_t n;

	dst[0] = '\0';
	if (o == NULL || !json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= cap || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

static int
int_claim(struct json_object *o, const char *name, int64_t *out)
{
	struct json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

int
gw_principal_from_claims(struct json_object *claims, int kind, struct gw_principal *p,
    const char **why)
{
	struct json_object *app = NULL, *v;
	const char *scope = NULL;

	gw_principal_reset(p);
	*why = "The token's claims are malformed";
	if (claims == NULL || !json_object_is_type(claims, json_type_object))
		return -1;
	p->kind = kind;
	if (copy_claim(claims, "sub", p->sub, sizeof(p->sub)) != 0 ||
	    copy_claim(claims, "tenant", p->tenant, sizeof(p->tenant)) != 0 ||
	    copy_claim(claims, "client_id", p->client_id, sizeof(p->client_id)) != 0 ||
	    copy_claim(claims, "jti", p->jti, sizeof(p->jti)) != 0 ||
	    copy_claim(claims, "keytype", p->key_type, sizeof(p->key_type)) != 0 ||
	    int_claim(claims, "exp", &p->exp) != 0 || int_claim(claims, "iat", &p->iat) != 0)
		goto fail;
	if (p->client_id[0] == '\0' && copy_claim(claims, "azp", p->client_id, sizeof(p->client_id)) != 0)
		goto fail;
	if (p->jti[0] == '\0') {
		*why = "The token has no jti";
		goto fail;
	}
	if (json_object_object_get_ex(claims, "scope", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string))
			goto fail;
		scope = json_object_get_string(v);
	}
	if (json_object_object_get_ex(claims, "application", &app) && !json_object_is_type(app, json_type_null)) {
		if (!json_object_is_type(app, json_type_object))
			goto fail;
		if (copy_claim(app, "id", p->app_id, sizeof(p->app_id)) != 0 ||
		    copy_claim(app, "name", p->app_name, sizeof(p->app_name)) != 0 ||
		    copy_claim(app, "tier", p->app_tier, sizeof(p->app_tier)) != 0 ||
		    copy_claim(app, "owner", p->app_owner, sizeof(p->app_owner)) != 0 ||
		    copy_claim(app, "tenant", p->app_tenant, sizeof(p->app_tenant)) != 0)
			goto fail;
	}
	if (p->tenant[0] == '\0')
		snprintf(p->tenant, sizeof(p->tenant), "%s", p->app_tenant[0] ? p->app_tenant : "carbon.super");
	if (p->app_id[0] != '\0' && p->key_type[0] == '\0')
		snprintf(p->key_type, sizeof(p->key_type), "PRODUCTION");
	if (p->key_type[0] != '\0' && strcmp(p->key_type, "PRODUCTION") != 0 &&
	    strcmp(p->key_type, "SANDBOX") != 0) {
		*why = "The token's keytype is neither PRODUCTION nor SANDBOX";
		goto fail;
	}
	p->scope = strdup(scope != NULL ? scope : "");
	if (p->scope == NULL)
		goto fail;
	return 0;
fail:
	gw_principal_reset(p);
	return -1;
}

/* Claims gw_claims_fast reads, in this order. */
enum { C_EXP, C_NBF, C_IAT, C_ISS, C_AUD, C_SUB, C_TENANT, C_CLIENT, C_AZP, C_JTI, C_KEYTYPE,
	C_SCOPE, C_APP, C_TOKTYPE, NCLAIMS };
static const char *const claim_names[NCLAIMS] = {
	"exp", "nbf", "iat", "iss", "aud", "sub", "tenant", "client_id", "azp", "jti", "keytype",
	"scope", "application", "token_type",
};
enum { A_ID, A_NAME, A_TIER, A_OWNER, A_TENANT, NAPP };
static const char *const app_names[NAPP] = { "id", "name", "tier", "owner", "tenant" };

/* A string claim (absent or null: "") into dst of cap bytes; 0, or -1 when it does not fit. */
static int
fast_str(const struct gh_json_val *v, char *dst, size_t cap)
{
	dst[0] = '\0';
	if (v->kind == GH_JV_ABSENT || v->kind == GH_JV_NULL)
		return 0;
	if (v->kind != GH_JV_STR || v->n >= cap)
		return -1;
	memcpy(dst, v->p, v->n);
	dst[v->n] = '\0';
	return 0;
}

static int
fast_eq(const struct gh_json_val *v, const char *s)
{
	return v->kind == GH_JV_STR && strlen(s) == v->n && memcmp(v->p, s, v->n) == 0;
}

/*
 * The claims of a verified token read without json-c, for the common case
 * only: returns 0 with *p filled when every check passes (exactly what
 * gh_jwt_check_claims and gw_principal_from_claims would accept and fill),
 * -1 when anything is unusual or wrong (text outside gh_json_fast_object's
 * subset, a type or value a check would refuse, an audience array): then
 * the json-c route runs and gives the verdict and its reason.
 */
static int
gw_claims_fast(const char *json, size_t len, const char *issuer, int64_t now,
    struct gw_principal *p)
{
	struct gh_json_val c[NCLAIMS], a[NAPP];
	const struct gh_json_val *v;
	int64_t leeway = GW_JWT_LEEWAY;

	if (gh_json_fast_object(json, len, claim_names, NCLAIMS, c) != 0)
		return -1;
	/* gh_jwt_check_claims: exp required; nbf and iat when present; iss; aud */
	if (c[C_EXP].kind != GH_JV_INT || now - leeway >= c[C_EXP].i)
		return -1;
	if (c[C_NBF].kind != GH_JV_ABSENT && (c[C_NBF].kind != GH_JV_INT || now + leeway < c[C_NBF].i))
		return -1;
	if (c[C_IAT].kind != GH_JV_ABSENT && (c[C_IAT].kind != GH_JV_INT || now + leeway < c[C_IAT].i))
		return -1;
	if (!fast_eq(&c[C_ISS], issuer) || !fast_eq(&c[C_AUD], GW_AUD_GATEWAY))
		return -1;
	/* gw_principal_from_claims */
	gw_principal_reset(p);
	p->kind = fast_eq(&c[C_TOKTYPE], "apiKey") ? 3 : 1;
	if (c[C_TOKTYPE].kind != GH_JV_ABSENT && c[C_TOKTYPE].kind != GH_JV_NULL &&
	    c[C_TOKTYPE].kind != GH_JV_STR)
		goto fail;
	if (fast_str(&c[C_SUB], p->sub, sizeof(p->sub)) != 0 ||
	    fast_str(&c[C_TENANT], p->tenant, sizeof(p->tenant)) != 0 ||
	    fast_str(&c[C_CLIENT], p->client_id, sizeof(p->client_id)) != 0 ||
	    fast_str(&c[C_JTI], p->jti, sizeof(p->jti)) != 0 ||
	    fast_str(&c[C_KEYTYPE], p->key_type, sizeof(p->key_type)) != 0)
		goto fail;
	p->exp = c[C_EXP].i;
	p->iat = c[C_IAT].kind == GH_JV_INT ? c[C_IAT].i : 0;
	if (p->client_id[0] == '\0' && fast_str(&c[C_AZP], p->client_id, sizeof(p->client_id)) != 0)
		goto fail;
	if (p->jti[0] == '\0')
		goto fail;
	v = &c[C_SCOPE];
	if (v->kind != GH_JV_ABSENT && v->kind != GH_JV_NULL && v->kind != GH_JV_STR)
		goto fail;
	v = &c[C_APP];
	if (v->kind == GH_JV_OBJ) {
		if (gh_json_fast_object(v->p, v->n, app_names, NAPP, a) != 0 ||
		    fast_str(&a[A_ID], p->app_id, sizeof(p->app_id)) != 0 ||
		    fast_str(&a[A_NAME], p->app_name, sizeof(p->app_name)) != 0 ||
		    fast_str(&a[A_TIER], p->app_tier, sizeof(p->app_tier)) != 0 ||
		    fast_str(&a[A_OWNER], p->app_owner, sizeof(p->app_owner)) != 0 ||
		    fast_str(&a[A_TENANT], p->app_tenant, sizeof(p->app_tenant)) != 0)
			goto fail;
	} else if (v->kind != GH_JV_ABSENT && v->kind != GH_JV_NULL) {
		goto fail;
	}
	if (p->tenant[0] == '\0')
		snprintf(p->tenant, sizeof(p->tenant), "%s", p->app_tenant[0] ? p->app_tenant : "carbon.super");
	if (p->app_id[0] != '\0' && p->key_type[0] == '\0')
		snprintf(p->key_type, sizeof(p->key_type), "PRODUCTION");
	if (p->key_type[0] != '\0' && strcmp(p->key_type, "PRODUCTION") != 0 &&
	    strcmp(p->key_type, "SANDBOX") != 0)
		goto fail;
	v = &c[C_SCOPE];
	if ((p->scope = v->kind == GH_JV_STR ? strndup(v->p, v->n) : strdup("")) == NULL)
		goto fail;
	return 0;
fail:
	gw_principal_reset(p);
	return -1;
}

enum gw_verdict
gw_jwt_verify(const char *tok, size_t len, const struct gh_jwks *jwks, const char *issuer, int64_t now,
    struct gw_principal *p, const char **why)
{
	return gw_jwt_verify_md(tok, len, NULL, jwks, issuer, now, p, why);
}

enum gw_verdict
gw_jwt_verify_md(const char *tok, size_t len, const unsigned char *input_md, const struct gh_jwks *jwks,
    const char *issuer, int64_t now, struct gw_principal *p, const char **why)
{
	struct gh_jwt_expect ex;
	struct json_object *claims = NULL;
	enum gh_jose_err err;
	const char *tt;
	unsigned char payload[GW_TOKEN_MAX / 4 * 3 + 4];
	size_t paylen = 0;
	enum gw_verdict v = GW_TOK_INVALID;

	gw_principal_reset(p);
	if (len > GW_TOKEN_MAX) {
		*why = "The token is too long";
		return GW_TOK_INVALID;
	}
	if (!gw_jwt_shaped(tok, len)) {
		*why = "The token is not a JWT";
		return GW_TOK_INVALID;
	}
	if (jwks == NULL || issuer == NULL || issuer[0] == '\0') {
		*why = "No signing keys are known yet";
		return GW_TOK_UNKNOWN_KID;
	}
	if (now == 0)
		now = (int64_t)time(NULL);
	err = gh_jws_verify_payload_md(tok, len, jwks, input_md, payload, sizeof(payload), &paylen, NULL);
	if (err == GH_JOSE_EKID) {
		*why = "The token's signing key is not known";
		return GW_TOK_UNKNOWN_KID;
	}
	if (err != GH_JOSE_OK) {
		*why = err == GH_JOSE_ESIG ? "The token's signature is invalid" :
		    err == GH_JOSE_EALG ? "The token's algorithm is not its key's" :
		    "The token is malformed";
		return GW_TOK_INVALID;
	}
	if (gw_claims_fast((const char *)payload, paylen, issuer, now, p) == 0)
		return GW_TOK_OK;
	/* Anything unusual: json-c, gh_jwt_check_claims and the exact reason. */
	claims = gh_jws_claims_parse(payload, paylen);
	memset(&ex, 0, sizeof(ex));
	ex.now = now;
	ex.leeway = GW_JWT_LEEWAY;
	ex.iss = issuer;
	ex.aud = GW_AUD_GATEWAY;
	ex.require_exp = 1;
	err = claims == NULL ? GH_JOSE_ECLAIMS : gh_jwt_check_claims(claims, &ex);
	if (err != GH_JOSE_OK) {
		*why = err == GH_JOSE_EEXPIRED ? "The token expired" :
		    err == GH_JOSE_ENOTYET ? "The token is not valid yet" :
		    err == GH_JOSE_EIAT ? "The token was issued in the future" :
		    err == GH_JOSE_EISS ? "The token's issuer is not the key manager" :
		    err == GH_JOSE_EAUD ? "The token is not meant for the gateways" :
		    "The token's claims are malformed";
		goto out;
	}
	tt = gh_json_str(claims, "token_type");
	if (gw_principal_from_claims(claims, tt != NULL && strcmp(tt, "apiKey") == 0 ? 3 : 1, p, why) != 0)
		goto out;
	v = GW_TOK_OK;
out:
	json_object_put(claims);
	return v;
}

int
gw_principal_live(const struct gw_store *s, const struct gw_principal *p, const char **why)
{
	int64_t nb;

	if (p->jti[0] != '\0' && gw_store_jti_revoked(s, p->jti)) {
		*why = p->kind == 3 ? "The API key was revoked" : "The token was revoked";
		return -1;
	}
	if (p->client_id[0] != '\0' && (nb = gw_store_client_not_before(s, p->client_id)) > 0 &&
	    p->iat < nb) {
		*why = "The token was issued before its application's keys were revoked or regenerated";
		return -1;
	}
	return 0;
}

/* ---- the cache ---- */

#define NIL UINT32_MAX
#define TC_INLINE 632                   /* the tail and the summary's strings, inline up to this
                                           (an RS256 signature's 343 bytes and typically ~250) */

/* The verified summary's strings, packed NUL-terminated, in inl (or big when longer). */
enum { F_SUB, F_TENANT, F_CLIENT, F_JTI, F_APP, F_KEYTYPE, F_SCOPE, F_APPNAME, F_APPTIER, F_APPOWNER,
	F_APPTENANT, NFIELDS };

/*
 * One fixed-size slot of the cache's single array (736 bytes): the key is
 * the SHA-256 of the exact credential bytes (collision-resistant, so a
 * digest match is a byte match), never the credential itself; or, for a
 * JWS, the SHA-256 of its signing input and its tail (from the second
 * '.': the signature), kept as bytes at the start of the packed text and
 * compared exactly.
 */
struct tc_entry {
	unsigned char digest[32];
	int64_t until_ms;
	int64_t exp, iat;
	uint32_t next;                  /* bucket chain */
	uint8_t used;                   /* 0: slot empty */
	uint8_t kind;                   /* 0: a negative entry */
	uint16_t off[NFIELDS];          /* offsets of the strings in the packed text */
	uint16_t tail_len;              /* the tail's bytes at the start of the packed text */
	char *big;                      /* malloc'd packed text when longer than TC_INLINE, else NULL */
	char inl[TC_INLINE];
};

struct gw_token_cache {
	struct tc_entry *e;
	size_t max, count, ring;        /* ring: the next slot to (re)use */
	uint32_t *buckets;
	size_t nbuckets;                /* a power of two */
	uint64_t seed;
	EVP_MD *md;                     /* SHA-256, fetched once */
	EVP_MD_CTX *mdctx;              /* reused: the cache belongs to one thread */
};

static uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* The bucket of a digest: mixed with the cache's secret seed (chains cannot be aimed at). */
static uint64_t
bucket_hash(const struct gw_token_cache *c, const unsigned char d[32])
{
	uint64_t a, b;

	memcpy(&a, d, 8);
	memcpy(&b, d + 8, 8);
	return mix64(a ^ c->seed) ^ mix64(b + c->seed);
}

/* SHA-256 of key into d; 0 or -1. */
static int
digest(struct gw_token_cache *c, const void *key, size_t klen, unsigned char d[32])
{
	unsigned int n = 0;

	if (EVP_DigestInit_ex2(c->mdctx, c->md, NULL) != 1 || EVP_DigestUpdate(c->mdctx, key, klen) != 1 ||
	    EVP_DigestFinal_ex(c->mdctx, d, &n) != 1 || n != 32)
		return -1;
	return 0;
}

struct gw_token_cache *
gw_token_cache_new(size_t max)
{
	struct gw_token_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->max = max;
	if (max == 0)
		return c;
	c->nbuckets = 16;
	while (c->nbuckets < max)
		c->nbuckets <<= 1;
	/* calloc: the pages of slots never used are never touched (the ring fills the array in order) */
	c->e = calloc(max, sizeof(*c->e));
	c->buckets = malloc(c->nbuckets * sizeof(*c->buckets));
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->mdctx = EVP_MD_CTX_new();
	if (c->e == NULL || c->buckets == NULL || c->md == NULL || c->mdctx == NULL ||
	    gh_random_bytes(&c->seed, sizeof(c->seed)) != 0) {
		gw_token_cache_free(c);
		return NULL;
	}
	for (size_t i = 0; i < c->nbuckets; i++)
		c->buckets[i] = NIL;
	return c;
}

static void
slot_clear(struct gw_token_cache *c, uint32_t i)
{
	struct tc_entry *e = &c->e[i];
	uint32_t *pp;

	if (!e->used)
		return;
	pp = &c->buckets[bucket_hash(c, e->digest) & (c->nbuckets - 1)];
	while (*pp != NIL && *pp != i)
		pp = &c->e[*pp].next;
	if (*pp == i)
		*pp = e->next;
	free(e->big);
	explicit_bzero(e, sizeof(*e));
	c->count--;
}

void
gw_token_cache_free(struct gw_token_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; c->e != NULL && i < c->max; i++)
		free(c->e[i].big);
	if (c->e != NULL)
		explicit_bzero(c->e, c->max * sizeof(*c->e));
	free(c->e);
	free(c->buckets);
	EVP_MD_CTX_free(c->mdctx);
	EVP_MD_free(c->md);
	free(c);
}

size_t
gw_token_cache_count(const struct gw_token_cache *c)
{
	return c == NULL ? 0 : c->count;
}

static const char *
text_of(const struct tc_entry *e)
{
	return e->big != NULL ? e->big : e->inl;
}

static uint32_t
lookup(struct gw_token_cache *c, const unsigned char d[32], const char *tail, size_t tail_len, uint64_t h)
{
	for (uint32_t i = c->buckets[h & (c->nbuckets - 1)]; i != NIL; i = c->e[i].next) {
		const struct tc_entry *e = &c->e[i];

		if (memcmp(e->digest, d, 32) == 0 && e->tail_len == tail_len &&
		    (tail_len == 0 || memcmp(text_of(e), tail, tail_len) == 0))
			return i;
	}
	return NIL;
}

static void
field(char *dst, size_t cap, const struct tc_entry *e, int f)
{
	const char *v = text_of(e) + e->off[f];
	size_t n = strlen(v);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

int
gw_token_cache_digest(struct gw_token_cache *c, const void *key, size_t klen, unsigned char d[32])
{
	if (c == NULL || c->max == 0)
		return -1;
	return digest(c, key, klen, d);
}

int
gw_token_cache_digest_jws(struct gw_token_cache *c, const char *tok, size_t len, unsigned char d[32],
    size_t *key_len)
{
	const char *d1, *d2;

	*key_len = len;
	if (c == NULL || c->max == 0)
		return -1;
	if ((d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL)
		return digest(c, tok, len, d) == 0 ? 0 : -1;
	*key_len = (size_t)(d2 - tok);
	return digest(c, tok, *key_len, d) == 0 ? 1 : -1;
}

int
gw_token_cache_get(struct gw_token_cache *c, const void *key, size_t klen, int64_t now_ms,
    struct gw_principal *out)
{
	unsigned char d[32];

	if (gw_token_cache_digest(c, key, klen, d) != 0)
		return 0;
	return gw_token_cache_get_d(c, d, now_ms, out);
}

int
gw_token_cache_get_d(struct gw_token_cache *c, const unsigned char d[32], int64_t now_ms,
    struct gw_principal *out)
{
	return gw_token_cache_get_dt(c, d, NULL, 0, now_ms, out);
}

int
gw_token_cache_get_dt(struct gw_token_cache *c, const unsigned char d[32], const char *tail, size_t tail_len,
    int64_t now_ms, struct gw_principal *out)
{
	uint32_t i;
	struct tc_entry *e;

	if (c == NULL || c->max == 0 || tail_len > UINT16_MAX)
		return 0;
	if ((i = lookup(c, d, tail, tail_len, bucket_hash(c, d))) == NIL)
		return 0;
	e = &c->e[i];
	if (now_ms >= e->until_ms) {
		slot_clear(c, i);
		return 0;
	}
	if (e->kind == 0)
		return -1;
	gw_principal_reset(out);
	out->scope = strdup(text_of(e) + e->off[F_SCOPE]);
	if (out->scope == NULL)
		return 0;
	out->kind = e->kind;
	out->exp = e->exp;
	out->iat = e->iat;
	field(out->sub, sizeof(out->sub), e, F_SUB);
	field(out->tenant, sizeof(out->tenant), e, F_TENANT);
	field(out->client_id, sizeof(out->client_id), e, F_CLIENT);
	field(out->jti, sizeof(out->jti), e, F_JTI);
	field(out->app_id, sizeof(out->app_id), e, F_APP);
	field(out->key_type, sizeof(out->key_type), e, F_KEYTYPE);
	field(out->app_name, sizeof(out->app_name), e, F_APPNAME);
	field(out->app_tier, sizeof(out->app_tier), e, F_APPTIER);
	field(out->app_owner, sizeof(out->app_owner), e, F_APPOWNER);
	field(out->app_tenant, sizeof(out->app_tenant), e, F_APPTENANT);
	return 1;
}

void
gw_token_cache_put(struct gw_token_cache *c, const void *key, size_t klen, int64_t until_ms,
    const struct gw_principal *p)
{
	unsigned char d[32];

	if (gw_token_cache_digest(c, key, klen, d) == 0)
		gw_token_cache_put_d(c, d, until_ms, p);
}

void
gw_token_cache_put_d(struct gw_token_cache *c, const unsigned char d[32], int64_t until_ms,
    const struct gw_principal *p)
{
	gw_token_cache_put_dt(c, d, NULL, 0, until_ms, p);
}

void
gw_token_cache_put_dt(struct gw_token_cache *c, const unsigned char d[32], const char *tail, size_t tail_len,
    int64_t until_ms, const struct gw_principal *p)
{
	const char *f[NFIELDS];
	size_t len[NFIELDS], total = tail_len, at = tail_len;
	struct tc_entry *e;
	char *big = NULL, *text;
	uint64_t h;
	uint32_t i;

	if (c == NULL || c->max == 0)
		return;
	memset(f, 0, sizeof(f));
	if (p != NULL) {
		f[F_SUB] = p->sub;
		f[F_TENANT] = p->tenant;
		f[F_CLIENT] = p->client_id;
		f[F_JTI] = p->jti;
		f[F_APP] = p->app_id;
		f[F_KEYTYPE] = p->key_type;
		f[F_SCOPE] = p->scope != NULL ? p->scope : "";
		f[F_APPNAME] = p->app_name;
		f[F_APPTIER] = p->app_tier;
		f[F_APPOWNER] = p->app_owner;
		f[F_APPTENANT] = p->app_tenant;
	}
	for (int k = 0; k < NFIELDS; k++) {
		len[k] = f[k] != NULL ? strlen(f[k]) : 0;
		total += len[k] + 1;
	}
	if (total > UINT16_MAX)
		return;                 /* a scope or tail too long to be worth caching */
	if (total > TC_INLINE && (big = malloc(total)) == NULL)
		return;
	h = bucket_hash(c, d);
	if ((i = lookup(c, d, tail, tail_len, h)) == NIL) {
		i = (uint32_t)c->ring;  /* the oldest entry goes */
		c->ring = (c->ring + 1) % c->max;
	}
	slot_clear(c, i);
	e = &c->e[i];
	e->big = big;
	text = big != NULL ? big : e->inl;
	if (tail_len > 0)
		memcpy(text, tail, tail_len);
	e->tail_len = (uint16_t)tail_len;
	for (int k = 0; k < NFIELDS; k++) {
		e->off[k] = (uint16_t)at;
		if (len[k] > 0)
			memcpy(text + at, f[k], len[k]);
		text[at + len[k]] = '\0';
		at += len[k] + 1;
	}
	memcpy(e->digest, d, 32);
	e->used = 1;
	e->until_ms = until_ms;
	e->kind = (uint8_t)(p != NULL ? p->kind : 0);
	e->exp = p != NULL ? p->exp : 0;
	e->iat = p != NULL ? p->iat : 0;
	e->next = c->buckets[h & (c->nbuckets - 1)];
	c->buckets[h & (c->nbuckets - 1)] = i;
	c->count++;
}
