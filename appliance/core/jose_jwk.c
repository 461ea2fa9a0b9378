/*
 * JSON Web Keys on OpenSSL 3: generating, reading and writing keys (PEM,
 * JWK, JWKS) and their RFC 7638 thumbprints.  A struct gh_jwk owns two
 * EVP_PKEYs: a public-only copy used for verifying and exporting, and
 * the private key (or NULL) used for signing.  Its algorithm is decided
 * here, from the key type, and never changes afterwards.  JWK members
 * coming from outside are checked strictly before OpenSSL sees them.
 */
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_jose.h"
#include "core/jose_int.h"

#define RSA_MIN_BITS	2048
#define RSA_MAX_BITS	8192
#define PEM_MAX		65536

static const char *const err_names[] = {
	[GH_JOSE_OK] = "ok",
	[GH_JOSE_EFORMAT] = "malformed",
	[GH_JOSE_ETOOBIG] = "too large",
	[GH_JOSE_EALG] = "algorithm refused",
	[GH_JOSE_ECRIT] = "unsupported critical header",
	[GH_JOSE_EKID] = "unknown key id",
	[GH_JOSE_ESIG] = "invalid signature",
	[GH_JOSE_EKEY] = "unusable key",
	[GH_JOSE_EINTERNAL] = "internal error",
	[GH_JOSE_EEXPIRED] = "expired",
	[GH_JOSE_ENOTYET] = "not yet valid",
	[GH_JOSE_EIAT] = "issued in the future",
	[GH_JOSE_EISS] = "wrong issuer",
	[GH_JOSE_EAUD] = "wrong audience",
	[GH_JOSE_ECLAIMS] = "invalid claims",
};

const char *
gh_jose_strerror(enum gh_jose_err err)
{
	if ((unsigned)err >= sizeof(err_names) / sizeof(err_names[0]))
		return "unknown error";
	return err_names[err];
}

const char *
gh_jose_alg_name(enum gh_jose_alg alg)
{
	switch (alg) {
	case GH_JOSE_RS256:
		return "RS256";
	case GH_JOSE_ES256:
		return "ES256";
	case GH_JOSE_EDDSA:
		return "EdDSA";
	default:
		return NULL;
	}
}

enum gh_jose_alg
gh_jose_alg_from_name(const char *name)
{
	if (name == NULL)
		return GH_JOSE_ALG_UNKNOWN;
	if (strcmp(name, "RS256") == 0)
		return GH_JOSE_RS256;
	if (strcmp(name, "ES256") == 0)
		return GH_JOSE_ES256;
	if (strcmp(name, "EdDSA") == 0)
		return GH_JOSE_EDDSA;
	return GH_JOSE_ALG_UNKNOWN;
}

/* The one algorithm a key of this type and size may be used with. */
static enum gh_jose_alg
alg_of_pkey(EVP_PKEY *pk)
{
	char group[64];

	if (EVP_PKEY_is_a(pk, "RSA")) {
		int bits = EVP_PKEY_get_bits(pk);

		if (bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS)
			return GH_JOSE_RS256;
		return GH_JOSE_ALG_UNKNOWN;
	}
	if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    NULL) == 1 && (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0))
			return GH_JOSE_ES256;
		return GH_JOSE_ALG_UNKNOWN;
	}
	if (EVP_PKEY_is_a(pk, "ED25519"))
		return GH_JOSE_EDDSA;
	return GH_JOSE_ALG_UNKNOWN;
}

/* A new EVP_PKEY holding only the public half of pk, or NULL. */
static EVP_PKEY *
pkey_public_copy(EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub;
	int n;

	if ((n = i2d_PUBKEY(pk, &der)) <= 0)
		return NULL;
	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	return pub;
}

static int
kid_valid(const char *kid)
{
	size_t n = strnlen(kid, GH_JWK_KID_MAX + 1);

	return n > 0 && n <= GH_JWK_KID_MAX;
}

/*
 * Wrap pub (and priv, may be NULL) into a key; takes ownership of both
 * EVP_PKEYs on success and on failure.  A NULL kid becomes the key's
 * thumbprint when tp_kid is set and stays NULL otherwise.
 */
static struct gh_jwk *
jwk_new(EVP_PKEY *pub, EVP_PKEY *priv, enum gh_jose_alg alg, const char *kid,
    int tp_kid)
{
	char tp[GH_JWK_THUMBPRINT_LEN + 1];
	struct gh_jwk *key;

	if ((key = calloc(1, sizeof(*key))) == NULL)
		goto fail;
	key->pub = pub;
	key->priv = priv;
	key->alg = alg;
	pub = priv = NULL;
	if ((key->use = strdup("sig")) == NULL)
		goto fail;
	if (kid == NULL && tp_kid) {
		if (gh_jwk_thumbprint(key, tp) != 0)
			goto fail;
		kid = tp;
	}
	if (kid != NULL &&
	    (!kid_valid(kid) || (key->kid = strdup(kid)) == NULL))
		goto fail;
	return key;
fail:
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	gh_jwk_free(key);
	return NULL;
}

void
gh_jwk_free(struct gh_jwk *key)
{
	if (key == NULL)
		return;
	free(key->kid);
	free(key->use);
	EVP_PKEY_free(key->pub);
	EVP_PKEY_free(key->priv);
	free(key);
}

/* Make a key from a full (private) EVP_PKEY; takes ownership of priv. */
static struct gh_jwk *
jwk_from_private(EVP_PKEY *priv, const char *kid)
{
	enum gh_jose_alg alg;
	EVP_PKEY *pub;

	if ((alg = alg_of_pkey(priv)) == GH_JOSE_ALG_UNKNOWN ||
	    (pub = pkey_public_copy(priv)) == NULL) {
		EVP_PKEY_free(priv);
		return NULL;
	}
	return jwk_new(pub, priv, alg, kid, 1);
}

struct gh_jwk *
gh_jwk_generate(enum gh_jose_alg alg, const char *kid)
{
	EVP_PKEY *pk = NULL;

	if (kid != NULL && !kid_valid(kid))
		return NULL;
	switch (alg) {
	case GH_JOSE_RS256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_MIN_BITS);
		break;
	case GH_JOSE_ES256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case GH_JOSE_EDDSA:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		return NULL;
	}
	if (pk == NULL)
		return NULL;
	return jwk_from_private(pk, kid);
}

/* Never prompt for a passphrase: encrypted PEM is refused. */
static int
pem_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

struct gh_jwk *
gh_jwk_from_pem(const char *pem, size_t len, const char *kid)
{
	enum gh_jose_alg alg;
	EVP_PKEY *pk = NULL;
	BIO *bio;

	if (pem == NULL || len == 0 || len > PEM_MAX ||
	    (kid != NULL && !kid_valid(kid)))
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, pem_no_passphrase, NULL);
	BIO_free(bio);
	if (pk != NULL)
		return jwk_from_private(pk, kid);
	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PUBKEY(bio, NULL, pem_no_passphrase, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		ERR_clear_error();
		return NULL;
	}
	if ((alg = alg_of_pkey(pk)) == GH_JOSE_ALG_UNKNOWN) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return jwk_new(pk, NULL, alg, kid, 1);
}

/* Copy a memory BIO's contents into a malloc'd string. */
static char *
bio_to_string(BIO *bio)
{
	char *data, *out;
	long n;

	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		return NULL;
	if ((out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	return out;
}

char *
gh_jwk_private_pem(const struct gh_jwk *key)
{
	char *out = NULL;
	BIO *bio;

	if (key == NULL || key->priv == NULL)
		return NULL;
	/* secmem: the BIO's buffer is cleansed when freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, key->priv, NULL, NULL, 0, NULL,
	    NULL) == 1)
		out = bio_to_string(bio);
	BIO_free(bio);
	return out;
}

char *
gh_jwk_public_pem(const struct gh_jwk *key)
{
	char *out = NULL;
	BIO *bio;

	if (key == NULL || key->pub == NULL)
		return NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, key->pub) == 1)
		out = bio_to_string(bio);
	BIO_free(bio);
	return out;
}

/* A BIGNUM parameter of pk as unpadded big-endian base64url. */
static char *
bn_param_b64url(EVP_PKEY *pk, const char *name, int pad)
{
	unsigned char buf[RSA_MAX_BITS / 8];
	BIGNUM *bn = NULL;
	char *out = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return NULL;
	n = pad > 0 ? pad : BN_num_bytes(bn);
	if (n > 0 && (size_t)n <= sizeof(buf) && BN_bn2binpad(bn, buf, n) == n)
		out = gh_b64url_encode(buf, (size_t)n);
	BN_free(bn);
	return out;
}

/*
 * The public members of key as base64url: RSA n and e, EC x and y, OKP x
 * (*m2 NULL).  Both malloc'd.  Returns 0 or -1.
 */
static int
jwk_public_members(const struct gh_jwk *key, char **m1, char **m2)
{
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);

	*m1 = *m2 = NULL;
	switch (key->alg) {
	case GH_JOSE_RS256:
		*m1 = bn_param_b64url(key->pub, OSSL_PKEY_PARAM_RSA_N, 0);
		*m2 = bn_param_b64url(key->pub, OSSL_PKEY_PARAM_RSA_E, 0);
		break;
	case GH_JOSE_ES256:
		*m1 = bn_param_b64url(key->pub, OSSL_PKEY_PARAM_EC_PUB_X, 32);
		*m2 = bn_param_b64url(key->pub, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		break;
	case GH_JOSE_EDDSA:
		if (EVP_PKEY_get_raw_public_key(key->pub, raw, &rawlen) != 1 ||
		    rawlen != sizeof(raw))
			return -1;
		if ((*m1 = gh_b64url_encode(raw, rawlen)) == NULL)
			return -1;
		return 0;
	default:
		return -1;
	}
	if (*m1 == NULL || *m2 == NULL) {
		free(*m1);
		free(*m2);
		*m1 = *m2 = NULL;
		return -1;
	}
	return 0;
}

int
gh_jwk_thumbprint(const struct gh_jwk *key,
    char out[GH_JWK_THUMBPRINT_LEN + 1])
{
	unsigned char md[32];
	char *m1, *m2, *json = NULL, *b64 = NULL;
	int n = -1, rc = -1;

	if (key == NULL || jwk_public_members(key, &m1, &m2) != 0)
		return -1;
	/* RFC 7638 §3.2: required members only, sorted, no whitespace. */
	switch (key->alg) {
	case GH_JOSE_RS256:
		n = asprintf(&json, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    m2, m1);
		break;
	case GH_JOSE_ES256:
		n = asprintf(&json, "{\"crv\":\"P-256\",\"kty\":\"EC\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", m1, m2);
		break;
	default:
		n = asprintf(&json, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\","
		    "\"x\":\"%s\"}", m1);
		break;
	}
	if (n < 0) {
		json = NULL;
		goto out;
	}
	if (gh_sha256(json, (size_t)n, md) != 0 ||
	    (b64 = gh_b64url_encode(md, sizeof(md))) == NULL ||
	    strlen(b64) != GH_JWK_THUMBPRINT_LEN)
		goto out;
	memcpy(out, b64, GH_JWK_THUMBPRINT_LEN + 1);
	rc = 0;
out:
	free(json);
	free(b64);
	free(m1);
	free(m2);
	return rc;
}

struct json_object *
gh_jwk_to_json(const struct gh_jwk *key)
{
	struct json_object *o = NULL;
	char *m1 = NULL, *m2 = NULL;
	int bad = 0;

	if (key == NULL || jwk_public_members(key, &m1, &m2) != 0)
		return NULL;
	if ((o = json_object_new_object()) == NULL)
		goto fail;
	switch (key->alg) {
	case GH_JOSE_RS256:
		bad |= gh_jose_json_add_str(o, "kty", "RSA");
		break;
	case GH_JOSE_ES256:
		bad |= gh_jose_json_add_str(o, "kty", "EC");
		bad |= gh_jose_json_add_str(o, "crv", "P-256");
		break;
	default:
		bad |= gh_jose_json_add_str(o, "kty", "OKP");
		bad |= gh_jose_json_add_str(o, "crv", "Ed25519");
		break;
	}
	if (key->kid != NULL)
		bad |= gh_jose_json_add_str(o, "kid", key->kid);
	bad |= gh_jose_json_add_str(o, "use", "sig");
	bad |= gh_jose_json_add_str(o, "alg", gh_jose_alg_name(key->alg));
	if (key->alg == GH_JOSE_RS256) {
		bad |= gh_jose_json_add_str(o, "n", m1);
		bad |= gh_jose_json_add_str(o, "e", m2);
	} else {
		bad |= gh_jose_json_add_str(o, "x", m1);
		if (m2 != NULL)
			bad |= gh_jose_json_add_str(o, "y", m2);
	}
	if (bad)
		goto fail;
	free(m1);
	free(m2);
	return o;
fail:
	json_object_put(o);
	free(m1);
	free(m2);
	return NULL;
}

/*
 * Decode the base64url string member name of jwk into a malloc'd buffer
 * of 1..max bytes (exactly max when exact).  Returns 0, or -1 (absent,
 * wrong type, bad base64url or length) with nothing allocated.
 */
static int
member_bytes(struct json_object *jwk, const char *name, size_t max, int exact,
    unsigned char **out, size_t *outlen)
{
	const char *s;

	*out = NULL;
	*outlen = 0;
	if (gh_jose_json_str(jwk, name, &s) != 1)
		return -1;
	if (strlen(s) > (max + 2) / 3 * 4 ||
	    gh_b64url_decode(s, strlen(s), out, outlen) != 0)
		return -1;
	if (*outlen == 0 || *outlen > max || (exact && *outlen != max)) {
		gh_free_secret_n(*out, *outlen);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* What a JWK says about itself before any key material is read. */
struct jwk_meta {
	enum gh_jose_alg	 alg;
	const char		*kid;
};

/*
 * Check kty/crv/alg/use/kid.  Returns OK, EFORMAT (malformed member) or
 * EKEY (a key type, curve, alg or use we do not implement).
 */
static enum gh_jose_err
jwk_meta(struct json_object *jwk, struct jwk_meta *m)
{
	const char *kty, *crv, *alg, *use;
	enum gh_jose_alg want;

	if (!json_object_is_type(jwk, json_type_object))
		return GH_JOSE_EFORMAT;
	if (gh_jose_json_str(jwk, "kty", &kty) != 1 ||
	    gh_jose_json_str(jwk, "alg", &alg) < 0 ||
	    gh_jose_json_str(jwk, "use", &use) < 0 ||
	    gh_jose_json_str(jwk, "kid", &m->kid) < 0 ||
	    (m->kid != NULL && !kid_valid(m->kid)))
		return GH_JOSE_EFORMAT;
	if (strcmp(kty, "RSA") == 0)
		want = GH_JOSE_RS256;
	else if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		if (gh_jose_json_str(jwk, "crv", &crv) != 1)
			return GH_JOSE_EFORMAT;
		if (strcmp(kty, "EC") == 0 && strcmp(crv, "P-256") == 0)
			want = GH_JOSE_ES256;
		else if (strcmp(kty, "OKP") == 0 && strcmp(crv, "Ed25519") == 0)
			want = GH_JOSE_EDDSA;
		else
			return GH_JOSE_EKEY;
	} else
		return GH_JOSE_EKEY;
	if (alg != NULL && gh_jose_alg_from_name(alg) != want)
		return GH_JOSE_EKEY;
	if (use != NULL && strcmp(use, "sig") != 0)
		return GH_JOSE_EKEY;
	m->alg = want;
	return GH_JOSE_OK;
}

/* Push the base64url member name as a BIGNUM; tracks it for freeing. */
static int
push_bn(OSSL_PARAM_BLD *bld, struct json_object *jwk, const char *name,
    const char *param, size_t max, BIGNUM **keep)
{
	unsigned char *b;
	size_t n;

	if (member_bytes(jwk, name, max, 0, &b, &n) != 0)
		return -1;
	*keep = BN_bin2bn(b, (int)n, NULL);
	gh_free_secret_n(b, n);
	if (*keep == NULL || OSSL_PARAM_BLD_push_BN(bld, param, *keep) != 1)
		return -1;
	return 0;
}

/* Whether the first byte of base64url member name is zero. */
static int
leading_zero(struct json_object *jwk, const char *name)
{
	unsigned char *b;
	size_t n;
	int z;

	if (member_bytes(jwk, name, RSA_MAX_BITS / 8, 0, &b, &n) != 0)
		return 1;
	z = b[0] == 0;
	gh_free_secret_n(b, n);
	return z;
}

static EVP_PKEY *
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		return NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, selection, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

#define RSA_NPRIV 6
static const char *const rsa_priv_members[RSA_NPRIV] = {
	"d", "p", "q", "dp", "dq", "qi"
};
static const char *const rsa_priv_params[RSA_NPRIV] = {
	OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
	OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1
};

/* RSA key from n, e (and the private members when priv). */
static EVP_PKEY *
rsa_from_jwk(struct json_object *jwk, int priv, enum gh_jose_err *err)
{
	BIGNUM *bn[2 + RSA_NPRIV] = { NULL };
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pk = NULL;
	size_t i, nmembers = 2;
	int bits;

	*err = GH_JOSE_EFORMAT;
	if (leading_zero(jwk, "n") || leading_zero(jwk, "e"))
		return NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (push_bn(bld, jwk, "n", OSSL_PKEY_PARAM_RSA_N, RSA_MAX_BITS / 8,
	    &bn[0]) != 0 ||
	    push_bn(bld, jwk, "e", OSSL_PKEY_PARAM_RSA_E, 8, &bn[1]) != 0 ||
	    !BN_is_odd(bn[1]) || BN_is_one(bn[1]))
		goto out;
	if (priv) {
		/* d alone, or d with every CRT member ("oth" refused). */
		nmembers = json_object_object_get_ex(jwk, "p", NULL) ||
		    json_object_object_get_ex(jwk, "q", NULL) ||
		    json_object_object_get_ex(jwk, "dp", NULL) ||
		    json_object_object_get_ex(jwk, "dq", NULL) ||
		    json_object_object_get_ex(jwk, "qi", NULL) ?
		    2 + RSA_NPRIV : 3;
		if (json_object_object_get_ex(jwk, "oth", NULL))
			goto out;
		for (i = 2; i < nmembers; i++)
			if (push_bn(bld, jwk, rsa_priv_members[i - 2],
			    rsa_priv_params[i - 2], RSA_MAX_BITS / 8,
			    &bn[i]) != 0)
				goto out;
	}
	bits = BN_num_bits(bn[0]);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		*err = GH_JOSE_EKEY;
		goto out;
	}
	pk = pkey_fromdata("RSA", bld,
	    priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
out:
	for (i = 0; i < nmembers; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	if (pk != NULL)
		*err = GH_JOSE_OK;
	return pk;
}

/* P-256 key from x, y (and d when priv); the point must be on the curve. */
static EVP_PKEY *
ec_from_jwk(struct json_object *jwk, int priv, enum gh_jose_err *err)
{
	unsigned char *x = NULL, *y = NULL, pt[65];
	size_t xl, yl;
	BIGNUM *d = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	*err = GH_JOSE_EFORMAT;
	if (member_bytes(jwk, "x", 32, 1, &x, &xl) != 0 ||
	    member_bytes(jwk, "y", 32, 1, &y, &yl) != 0)
		goto out;
	pt[0] = 0x04;
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt, sizeof(pt)) != 1)
		goto out;
	if (priv) {
		unsigned char *db;
		size_t dl;

		if (member_bytes(jwk, "d", 32, 1, &db, &dl) != 0)
			goto out;
		d = BN_bin2bn(db, (int)dl, NULL);
		gh_free_secret_n(db, dl);
		if (d == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1)
			goto out;
	}
	pk = pkey_fromdata("EC", bld,
	    priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
	if (pk == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
	    EVP_PKEY_public_check(ctx) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	free(x);
	free(y);
	if (pk != NULL)
		*err = GH_JOSE_OK;
	return pk;
}

/* Ed25519 key from x, or from d checked against x when priv. */
static EVP_PKEY *
ed25519_from_jwk(struct json_object *jwk, int priv, enum gh_jose_err *err)
{
	unsigned char *x = NULL, *d = NULL, derived[32];
	size_t xl, dl = 0, derivedlen = sizeof(derived);
	EVP_PKEY *pk = NULL;

	*err = GH_JOSE_EFORMAT;
	if (member_bytes(jwk, "x", 32, 1, &x, &xl) != 0)
		goto out;
	if (!priv) {
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
		goto out;
	}
	if (member_bytes(jwk, "d", 32, 1, &d, &dl) != 0 ||
	    (pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d,
	    dl)) == NULL)
		goto out;
	if (EVP_PKEY_get_raw_public_key(pk, derived, &derivedlen) != 1 ||
	    !gh_ct_equal(derived, derivedlen, x, xl)) {
		*err = GH_JOSE_EKEY;
		EVP_PKEY_free(pk);
		pk = NULL;
	}
out:
	gh_free_secret_n(d, dl);
	free(x);
	if (pk != NULL)
		*err = GH_JOSE_OK;
	return pk;
}

static EVP_PKEY *
pkey_from_jwk(struct json_object *jwk, enum gh_jose_alg alg, int priv,
    enum gh_jose_err *err)
{
	EVP_PKEY *pk;

	switch (alg) {
	case GH_JOSE_RS256:
		pk = rsa_from_jwk(jwk, priv, err);
		break;
	case GH_JOSE_ES256:
		pk = ec_from_jwk(jwk, priv, err);
		break;
	default:
		pk = ed25519_from_jwk(jwk, priv, err);
		break;
	}
	ERR_clear_error();
	return pk;
}

struct gh_jwk *
gh_jwk_from_json(struct json_object *jwk, enum gh_jose_err *err)
{
	enum gh_jose_err dummy, e;
	struct jwk_meta m = { GH_JOSE_ALG_UNKNOWN, NULL };
	struct gh_jwk *key;
	EVP_PKEY *pub;

	if (err == NULL)
		err = &dummy;
	if ((e = jwk_meta(jwk, &m)) != GH_JOSE_OK) {
		*err = e;
		return NULL;
	}
	if ((pub = pkey_from_jwk(jwk, m.alg, 0, err)) == NULL)
		return NULL;
	/* A JWK without kid gets none: nothing is invented for outsiders. */
	if ((key = jwk_new(pub, NULL, m.alg, m.kid, 0)) == NULL) {
		*err = GH_JOSE_EINTERNAL;
		return NULL;
	}
	*err = GH_JOSE_OK;
	return key;
}

/* Sign and verify a fixed message: proves priv and pub belong together. */
static int
keys_match(const struct gh_jwk *key)
{
	static const char msg[] = "gatehouse key pair check";
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int ok;

	ok = gh_jws_sign_raw(key, msg, sizeof(msg) - 1, &sig, &siglen) ==
	    GH_JOSE_OK && gh_jws_verify_raw(key, msg, sizeof(msg) - 1, sig,
	    siglen) == GH_JOSE_OK;
	free(sig);
	return ok;
}

struct gh_jwk *
gh_jwk_from_json_private(struct json_object *jwk, enum gh_jose_err *err)
{
	enum gh_jose_err dummy;
	struct gh_jwk *key;
	EVP_PKEY *priv;

	if (err == NULL)
		err = &dummy;
	if ((key = gh_jwk_from_json(jwk, err)) == NULL)
		return NULL;
	if ((priv = pkey_from_jwk(jwk, key->alg, 1, err)) == NULL)
		goto fail;
	key->priv = priv;
	if (!keys_match(key)) {
		*err = GH_JOSE_EKEY;
		goto fail;
	}
	return key;
fail:
	gh_jwk_free(key);
	return NULL;
}

struct gh_jwks *
gh_jwks_new(void)
{
	return calloc(1, sizeof(struct gh_jwks));
}

void
gh_jwks_free(struct gh_jwks *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->count; i++)
		gh_jwk_free(set->keys[i]);
	free(set->keys);
	free(set);
}

int
gh_jwks_add(struct gh_jwks *set, struct gh_jwk *key)
{
	struct gh_jwk **keys;

	if (set == NULL || key == NULL || set->count >= GH_JWKS_MAX_KEYS)
		return -1;
	if (key->kid != NULL && gh_jwks_find(set, key->kid) != NULL)
		return -1;
	keys = realloc(set->keys, (set->count + 1) * sizeof(*keys));
	if (keys == NULL)
		return -1;
	set->keys = keys;
	set->keys[set->count++] = key;
	return 0;
}

const struct gh_jwk *
gh_jwks_find(const struct gh_jwks *set, const char *kid)
{
	size_t i;

	if (set == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < set->count; i++)
		if (set->keys[i]->kid != NULL &&
		    strcmp(set->keys[i]->kid, kid) == 0)
			return set->keys[i];
	return NULL;
}

struct gh_jwks *
gh_jwks_from_json(struct json_object *jwks, size_t *skipped,
    enum gh_jose_err *err)
{
	enum gh_jose_err dummy, e;
	struct json_object *arr;
	struct gh_jwks *set;
	struct gh_jwk *key;
	size_t i, n, skip = 0;

	if (err == NULL)
		err = &dummy;
	*err = GH_JOSE_EFORMAT;
	if (skipped != NULL)
		*skipped = 0;
	if (!json_object_is_type(jwks, json_type_object) ||
	    !json_object_object_get_ex(jwks, "keys", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return NULL;
	if ((n = json_object_array_length(arr)) > GH_JWKS_MAX_KEYS) {
		*err = GH_JOSE_ETOOBIG;
		return NULL;
	}
	if ((set = gh_jwks_new()) == NULL) {
		*err = GH_JOSE_EINTERNAL;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		key = gh_jwk_from_json(json_object_array_get_idx(arr, i), &e);
		if (key == NULL && e == GH_JOSE_EKEY) {
			skip++;
			continue;
		}
		if (key == NULL) {
			*err = e;
			goto fail;
		}
		if (gh_jwks_add(set, key) != 0) {
			gh_jwk_free(key);
			*err = GH_JOSE_EKID;
			goto fail;
		}
	}
	if (skipped != NULL)
		*skipped = skip;
	*err = GH_JOSE_OK;
	return set;
fail:
	gh_jwks_free(set);
	return NULL;
}

struct gh_jwks *
gh_jwks_parse(const char *json, size_t len, size_t *skipped,
    enum gh_jose_err *err)
{
	struct json_object *o;
	struct gh_jwks *set;

	if (skipped != NULL)
		*skipped = 0;
	if (json == NULL || (o = gh_jose_json_parse(json, len)) == NULL) {
		if (err != NULL)
			*err = GH_JOSE_EFORMAT;
		return NULL;
	}
	set = gh_jwks_from_json(o, skipped, err);
	json_object_put(o);
	return set;
}

struct json_object *
gh_jwks_to_json(const struct gh_jwks *set)
{
	struct json_object *o, *arr, *k;
	size_t i;

	if (set == NULL || (o = json_object_new_object()) == NULL)
		return NULL;
	if ((arr = json_object_new_array()) == NULL ||
	    json_object_object_add(o, "keys", arr) != 0) {
		json_object_put(arr);
		goto fail;
	}
	for (i = 0; i < set->count; i++) {
		if ((k = gh_jwk_to_json(set->keys[i])) == NULL)
			goto fail;
		if (json_object_array_add(arr, k) != 0) {
			json_object_put(k);
			goto fail;
		}
	}
	return o;
fail:
	json_object_put(o);
	return NULL;
}
