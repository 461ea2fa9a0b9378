/*
 * JWS compact serialization (RFC 7515) and JWT claim checks (RFC 7519).
 * Signing and verifying always use the key's fixed algorithm; a token's
 * header "alg" is only compared with it.  Verification runs the cheap
 * structural checks before any public-key operation, since forged tokens
 * cost the verifier as much as real ones.  Also holds the strict JSON
 * reader the JOSE code uses for untrusted headers, claims and key sets.
 */
#include <json-c/json.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_jose.h"
#include "core/gh_json.h"
#include "core/jose_int.h"

#define JSON_MAX_DEPTH	16
#define ES256_PART	32
#define LEEWAY_MAX	(365L * 86400)

/* How many member names the JSON text s (already validated) holds. */
static size_t
count_members_text(const char *s, size_t len)
{
	size_t i = 0, j, n = 0;

	while (i < len) {
		const char *q = memchr(s + i, '"', len - i);

		if (q == NULL)
			break;
		/* The closing quote: one not escaped by an odd run of '\\'. */
		for (i = (size_t)(q - s) + 1; i < len; i = (size_t)(q - s) + 1) {
			size_t bs = 0;

			if ((q = memchr(s + i, '"', len - i)) == NULL) {
				i = len;
				break;
			}
			while (q - bs > s && q[-1 - (ptrdiff_t)bs] == '\\')
				bs++;
			if (bs % 2 == 0) {
				i = (size_t)(q - s);
				break;
			}
		}
		i++;
		for (j = i; j < len && (s[j] == ' ' || s[j] == '\t' ||
		    s[j] == '\n' || s[j] == '\r'); j++)
			;
		if (j < len && s[j] == ':')
			n++;
	}
	return n;
}

/* How many members the parsed tree holds, at every depth. */
static size_t
count_members_tree(struct json_object *o)
{
	size_t n = 0, i, len;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			n += 1 + count_members_tree(v);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		len = json_object_array_length(o);
		for (i = 0; i < len; i++)
			n += count_members_tree(json_object_array_get_idx(o, i));
	}
	return n;
}

/* Each thread's tokener, reset and reused by every parse (freed at exit). */
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static pthread_key_t tok_key;
static int tok_key_ok;
static __thread struct json_tokener *tok_tls;

static void
tok_free(void *tok)
{
	json_tokener_free(tok);
}

static void
tok_init(void)
{
	tok_key_ok = pthread_key_create(&tok_key, tok_free) == 0;
}

/* A reset tokener for one parse: the thread's (*own 0) or a new one. */
static struct json_tokener *
tok_get(int *own)
{
	struct json_tokener *tok;

	*own = 0;
	pthread_once(&tok_once, tok_init);
	if ((tok = tok_tls) != NULL) {
		tok_tls = NULL;		/* taken: a nested parse gets its own */
		json_tokener_reset(tok);
		return tok;
	}
	if ((tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	if (tok_key_ok && pthread_getspecific(tok_key) == NULL &&
	    pthread_setspecific(tok_key, tok) == 0)
		return tok;		/* the thread's from now on */
	*own = 1;
	return tok;
}

/* Give back what tok_get returned. */
static void
tok_put(struct json_tokener *tok, int own)
{
	if (own)
		json_tokener_free(tok);
	else
		tok_tls = tok;
}

struct json_object *
gh_jose_json_parse(const char *s, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;
	size_t end;
	int own;

	if (s == NULL || len == 0 || len > GH_JWS_MAX * 64 ||
	    memchr(s, '\0', len) != NULL)
		return NULL;
	if ((tok = tok_get(&own)) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success)
		goto bad;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (s[end] != ' ' && s[end] != '\t' && s[end] != '\n' &&
		    s[end] != '\r')
			goto bad;
	/* json-c keeps the last of repeated names: count to find them. */
	if (count_members_text(s, len) != count_members_tree(o))
		goto bad;
	tok_put(tok, own);
	return o;
bad:
	json_object_put(o);
	tok_put(tok, own);
	return NULL;
}

int
gh_jose_json_str(struct json_object *obj, const char *key, const char **out)
{
	struct json_object *v;
	const char *s;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return -1;
	*out = s;
	return 1;
}

const char *
gh_jose_json_compact(struct json_object *obj, size_t *len)
{
	const char *s;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, len);
	return s;
}

/* The exact signature length of alg with key, or 0. */
static size_t
sig_length(const struct gh_jwk *key)
{
	int n;

	switch (key->alg) {
	case GH_JOSE_RS256:
		n = EVP_PKEY_get_size(key->pub);
		return n > 0 ? (size_t)n : 0;
	case GH_JOSE_ES256:
		return 2 * ES256_PART;
	case GH_JOSE_EDDSA:
		return 64;
	default:
		return 0;
	}
}

/* DER ECDSA-Sig-Value to raw R||S (64 bytes).  Returns 0 or -1. */
static int
ecdsa_der_to_raw(const unsigned char *der, size_t len, unsigned char *raw)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	int rc = -1;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, ES256_PART) == ES256_PART &&
	    BN_bn2binpad(s, raw + ES256_PART, ES256_PART) == ES256_PART)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

enum gh_jose_err
gh_jws_sign_raw(const struct gh_jwk *key, const void *input, size_t len,
    unsigned char **sig, size_t *siglen)
{
	const EVP_MD *md;
	EVP_MD_CTX *mctx = NULL;
	unsigned char *buf = NULL, *raw = NULL;
	size_t n = 0;
	enum gh_jose_err rc = GH_JOSE_EINTERNAL;

	if (sig == NULL || siglen == NULL)
		return GH_JOSE_EINTERNAL;
	*sig = NULL;
	*siglen = 0;
	if (key == NULL || key->priv == NULL || sig_length(key) == 0)
		return GH_JOSE_EKEY;
	md = key->alg == GH_JOSE_EDDSA ? NULL : EVP_sha256();
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mctx, NULL, md, NULL, key->priv) != 1 ||
	    EVP_DigestSign(mctx, NULL, &n, input, len) != 1 ||
	    (buf = malloc(n)) == NULL ||
	    EVP_DigestSign(mctx, buf, &n, input, len) != 1)
		goto out;
	if (key->alg == GH_JOSE_ES256) {
		if ((raw = malloc(2 * ES256_PART)) == NULL ||
		    ecdsa_der_to_raw(buf, n, raw) != 0)
			goto out;
		free(buf);
		buf = raw;
		raw = NULL;
		n = 2 * ES256_PART;
	}
	if (n != sig_length(key))
		goto out;
	*sig = buf;
	*siglen = n;
	buf = NULL;
	rc = GH_JOSE_OK;
out:
	free(raw);
	free(buf);
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return rc;
}

/*
 * Ready verification contexts, per thread: a verify of RS256 or ES256
 * hashes with a prefetched SHA-256 and checks the digest with an
 * EVP_PKEY_CTX initialised once for the key, so it does no algorithm or
 * decoder fetch and no context set-up.  An RSA key's slot also holds its
 * modulus, exponent and Montgomery context, and the thread a BN_CTX, so
 * that RS256 runs the public-key operation itself (BN_mod_exp_mont, as
 * OpenSSL's own RSA code does) and compares the result with the
 * EMSA-PKCS1-v1_5 encoding of the digest (RFC 8017 8.2.2), with no
 * per-verify allocation, lock, provider dispatch or error-queue work.  A
 * slot holds a reference to its EVP_PKEY (inside the EVP_PKEY_CTX), so a
 * key freed meanwhile stays alive until its slot is reused and its
 * address cannot come back as another key's.  Keys themselves are only
 * read.
 */
#define VC_SLOTS	8
#define RSA_FAST_MAX	512		/* modulus bytes (4096 bits) the direct RS256 check takes */

struct vc_slot {
	const EVP_PKEY	*pkey;		/* NULL: empty */
	EVP_PKEY_CTX	*pctx;
	BIGNUM		*n, *e;		/* an RSA key's, or NULL: the EVP route */
	BN_MONT_CTX	*mont;		/* of n */
	int		 k;		/* n's length in bytes */
};

struct vc_cache {
	struct vc_slot	 s[VC_SLOTS];
	unsigned	 next;		/* the slot to reuse on a miss */
	BN_CTX		*bn;		/* the thread's, for the RSA operation */
};

static pthread_once_t vc_once = PTHREAD_ONCE_INIT;
static pthread_key_t vc_key;
static int vc_ok;
static EVP_MD *vc_sha256;		/* fetched once, never freed */
static __thread struct vc_cache *vc_tls;

static void
vc_slot_clear(struct vc_slot *sl)
{
	EVP_PKEY_CTX_free(sl->pctx);
	BN_free(sl->n);
	BN_free(sl->e);
	BN_MONT_CTX_free(sl->mont);
	memset(sl, 0, sizeof(*sl));
}

static void
vc_free(void *arg)
{
	struct vc_cache *c = arg;

	for (size_t i = 0; i < VC_SLOTS; i++)
		vc_slot_clear(&c->s[i]);
	BN_CTX_free(c->bn);
	free(c);
}

static void
vc_init(void)
{
	if ((vc_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return;
	if (pthread_key_create(&vc_key, vc_free) != 0) {
		EVP_MD_free(vc_sha256);
		vc_sha256 = NULL;
		return;
	}
	vc_ok = 1;
}

/*
 * An RSA key's modulus, exponent and Montgomery context into sl, for
 * rsa_verify_direct, with the checks OpenSSL's public operation makes
 * (odd n, 0 < e < n, e of at most 64 bits above 3072-bit moduli); on any
 * failure or another shape sl->n stays NULL (the EVP route).
 */
static void
vc_rsa_prepare(struct vc_slot *sl, EVP_PKEY *pkey, BN_CTX *bn)
{
	BIGNUM *n = NULL, *e = NULL;
	BN_MONT_CTX *mont = NULL;

	if (bn == NULL || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 || !BN_is_odd(n) ||
	    BN_num_bytes(n) > RSA_FAST_MAX || BN_is_zero(e) || BN_is_negative(e) ||
	    BN_ucmp(n, e) <= 0 || (BN_num_bits(n) > 3072 && BN_num_bits(e) > 64) ||
	    (mont = BN_MONT_CTX_new()) == NULL || BN_MONT_CTX_set(mont, n, bn) != 1)
		goto fail;
	sl->n = n;
	sl->e = e;
	sl->mont = mont;
	sl->k = BN_num_bytes(n);
	return;
fail:
	BN_free(n);
	BN_free(e);
	BN_MONT_CTX_free(mont);
	ERR_clear_error();
}

/* This thread's verify slot for pkey (borrowed), or NULL. */
static struct vc_slot *
vc_get(EVP_PKEY *pkey, BN_CTX **bn)
{
	struct vc_cache *c;
	struct vc_slot *sl;
	EVP_PKEY_CTX *pctx;

	pthread_once(&vc_once, vc_init);
	if (!vc_ok)
		return NULL;
	if ((c = vc_tls) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return NULL;
		if (pthread_setspecific(vc_key, c) != 0) {
			free(c);
			return NULL;
		}
		c->bn = BN_CTX_new();
		vc_tls = c;
	}
	*bn = c->bn;
	for (size_t i = 0; i < VC_SLOTS; i++)
		if (c->s[i].pkey == pkey)
			return &c->s[i];
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_verify_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, vc_sha256) != 1 ||
	    (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)) {
		EVP_PKEY_CTX_free(pctx);
		ERR_clear_error();
		return NULL;
	}
	sl = &c->s[c->next];
	c->next = (c->next + 1) % VC_SLOTS;
	vc_slot_clear(sl);
	sl->pkey = pkey;
	sl->pctx = pctx;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA)
		vc_rsa_prepare(sl, pkey, c->bn);
	return sl;
}

/*
 * RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 8.2.2): the
 * signature as an integer s < n, m = s^e mod n, and m's k bytes equal to
 * 00 01 FF..FF 00 || DigestInfo(SHA-256) || md.  Returns 1 when they do,
 * 0 otherwise.
 */
static int
rsa_verify_direct(const struct vc_slot *sl, BN_CTX *bn, const unsigned char *sig, size_t siglen,
    const unsigned char md[32])
{
	static const unsigned char sha256_info[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
		0x01, 0x05, 0x00, 0x04, 0x20,
	};
	unsigned char em[RSA_FAST_MAX], want[RSA_FAST_MAX];
	size_t k = (size_t)sl->k, ps = k - 3 - sizeof(sha256_info) - 32;
	BIGNUM *s, *m;
	int ok = 0;

	if (siglen != k || k < 11 + sizeof(sha256_info) + 32)
		return 0;
	BN_CTX_start(bn);
	if ((s = BN_CTX_get(bn)) == NULL || (m = BN_CTX_get(bn)) == NULL ||
	    BN_bin2bn(sig, (int)siglen, s) == NULL || BN_ucmp(s, sl->n) >= 0 ||
	    BN_mod_exp_mont(m, s, sl->e, sl->n, bn, sl->mont) != 1 ||
	    BN_bn2binpad(m, em, (int)k) != (int)k)
		goto out;
	want[0] = 0x00;
	want[1] = 0x01;
	memset(want + 2, 0xff, ps);
	want[2 + ps] = 0x00;
	memcpy(want + 3 + ps, sha256_info, sizeof(sha256_info));
	memcpy(want + 3 + ps + sizeof(sha256_info), md, 32);
	ok = memcmp(em, want, k) == 0;   /* public values: no constant-time compare needed */
out:
	BN_CTX_end(bn);
	return ok;
}

/*
 * Raw R||S (64 bytes) to the DER ECDSA-Sig-Value in der (72 bytes at
 * most), without leading zero octets beyond the one a set top bit needs.
 * Returns the length.
 */
static size_t
ecdsa_raw_to_der_buf(const unsigned char *raw, unsigned char *der)
{
	size_t o = 2;

	der[0] = 0x30;
	for (int k = 0; k < 2; k++) {
		const unsigned char *v = raw + k * ES256_PART;
		size_t n = ES256_PART;

		while (n > 1 && *v == 0) {
			v++;
			n--;
		}
		der[o++] = 0x02;
		der[o++] = (unsigned char)(n + (*v & 0x80 ? 1 : 0));
		if (*v & 0x80)
			der[o++] = 0;
		memcpy(der + o, v, n);
		o += n;
	}
	der[1] = (unsigned char)(o - 2);
	return o;
}

/* gh_jws_verify_raw, with input's SHA-256 already known when md is not NULL. */
static enum gh_jose_err
verify_raw_md(const struct gh_jwk *key, const void *input, size_t len, const unsigned char *input_md,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *mctx = NULL;
	struct vc_slot *sl;
	BN_CTX *bn = NULL;
	unsigned char md[32], der[2 + 2 * (3 + ES256_PART)];
	const unsigned char *vsig = sig;
	size_t vlen = siglen;
	int ok = 0;

	if (key == NULL || key->pub == NULL || sig == NULL)
		return GH_JOSE_ESIG;
	if (siglen == 0 || siglen != sig_length(key))
		return GH_JOSE_ESIG;
	if (key->alg == GH_JOSE_EDDSA) {
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, key->pub) == 1 &&
		    EVP_DigestVerify(mctx, sig, siglen, input, len) == 1;
		EVP_MD_CTX_free(mctx);
		goto out;
	}
	if (key->alg == GH_JOSE_ES256) {
		vlen = ecdsa_raw_to_der_buf(sig, der);
		vsig = der;
	}
	if (input_md != NULL)
		memcpy(md, input_md, sizeof(md));
	else if (gh_sha256(input, len, md) != 0)
		goto out;
	if ((sl = vc_get(key->pub, &bn)) == NULL)
		goto out;
	if (key->alg == GH_JOSE_RS256 && sl->n != NULL)
		ok = rsa_verify_direct(sl, bn, sig, siglen, md);
	else
		ok = EVP_PKEY_verify(sl->pctx, vsig, vlen, md, sizeof(md)) == 1;
out:
	if (!ok || ERR_peek_error() != 0)
		ERR_clear_error();
	return ok ? GH_JOSE_OK : GH_JOSE_ESIG;
}

enum gh_jose_err
gh_jws_verify_raw(const struct gh_jwk *key, const void *input, size_t len,
    const unsigned char *sig, size_t siglen)
{
	return verify_raw_md(key, input, len, NULL, sig, siglen);
}

int
gh_jose_json_add_str(struct json_object *o, const char *k, const char *v)
{
	struct json_object *s;

	if ((s = json_object_new_string(v)) == NULL)
		return -1;
	if (json_object_object_add(o, k, s) != 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

/* header.payload.signature from the JSON text of header and raw payload. */
static char *
jws_compact(const struct gh_jwk *key, const char *hdr, size_t hdrlen,
    const void *payload, size_t len, enum gh_jose_err *err)
{
	char *h64 = NULL, *p64 = NULL, *s64 = NULL, *out = NULL;
	unsigned char *sig = NULL;
	size_t hl, pl, sl, siglen = 0;

	*err = GH_JOSE_EINTERNAL;
	if ((h64 = gh_b64url_encode(hdr, hdrlen)) == NULL ||
	    (p64 = gh_b64url_encode(payload, len)) == NULL)
		goto out;
	hl = strlen(h64);
	pl = strlen(p64);
	if ((out = malloc(hl + pl + 2)) == NULL)
		goto out;
	memcpy(out, h64, hl);
	out[hl] = '.';
	memcpy(out + hl + 1, p64, pl + 1);
	if ((*err = gh_jws_sign_raw(key, out, hl + 1 + pl, &sig, &siglen)) !=
	    GH_JOSE_OK)
		goto fail;
	*err = GH_JOSE_EINTERNAL;
	if ((s64 = gh_b64url_encode(sig, siglen)) == NULL)
		goto fail;
	sl = strlen(s64);
	{
		char *grown = realloc(out, hl + pl + sl + 3);

		if (grown == NULL)
			goto fail;
		out = grown;
	}
	out[hl + 1 + pl] = '.';
	memcpy(out + hl + pl + 2, s64, sl + 1);
	*err = GH_JOSE_OK;
	goto out;
fail:
	free(out);
	out = NULL;
out:
	free(h64);
	free(p64);
	free(s64);
	free(sig);
	return out;
}

char *
gh_jws_sign_with_header(const struct gh_jwk *key, struct json_object *header,
    const void *payload, size_t len, enum gh_jose_err *err)
{
	enum gh_jose_err dummy;
	const char *alg, *hdr;
	size_t hdrlen;
	int has;

	if (err == NULL)
		err = &dummy;
	*err = GH_JOSE_EKEY;
	if (key == NULL || key->priv == NULL)
		return NULL;
	*err = GH_JOSE_EFORMAT;
	if (!json_object_is_type(header, json_type_object) ||
	    (payload == NULL && len != 0))
		return NULL;
	if ((has = gh_jose_json_str(header, "alg", &alg)) < 0)
		return NULL;
	if (has && gh_jose_alg_from_name(alg) != key->alg) {
		*err = GH_JOSE_EALG;
		return NULL;
	}
	*err = GH_JOSE_EINTERNAL;
	if (!has && gh_jose_json_add_str(header, "alg", gh_jose_alg_name(key->alg)) != 0)
		return NULL;
	if ((hdr = gh_jose_json_compact(header, &hdrlen)) == NULL)
		return NULL;
	return jws_compact(key, hdr, hdrlen, payload != NULL ? payload : "",
	    len, err);
}

char *
gh_jws_sign(const struct gh_jwk *key, const void *payload, size_t len,
    enum gh_jose_err *err)
{
	enum gh_jose_err dummy;
	struct json_object *h;
	char *out = NULL;

	if (err == NULL)
		err = &dummy;
	*err = GH_JOSE_EKEY;
	if (key == NULL || key->priv == NULL)
		return NULL;
	*err = GH_JOSE_EINTERNAL;
	if ((h = json_object_new_object()) == NULL)
		return NULL;
	if (gh_jose_json_add_str(h, "alg", gh_jose_alg_name(key->alg)) == 0 &&
	    gh_jose_json_add_str(h, "typ", "JWT") == 0 &&
	    (key->kid == NULL || gh_jose_json_add_str(h, "kid", key->kid) == 0))
		out = gh_jws_sign_with_header(key, h, payload, len, err);
	json_object_put(h);
	return out;
}

char *
gh_jws_sign_claims(const struct gh_jwk *key, struct json_object *claims,
    enum gh_jose_err *err)
{
	const char *s;
	size_t n;

	if (!json_object_is_type(claims, json_type_object) ||
	    (s = gh_jose_json_compact(claims, &n)) == NULL) {
		if (err != NULL)
			*err = GH_JOSE_EFORMAT;
		return NULL;
	}
	return gh_jws_sign(key, s, n, err);
}

void
gh_jws_clear(struct gh_jws *jws)
{
	if (jws == NULL)
		return;
	json_object_put(jws->header);
	json_object_put(jws->claims);
	free(jws->payload);
	memset(jws, 0, sizeof(*jws));
}

/* Where jws_verify puts the decoded payload: out (malloc'd) or buf. */
struct jws_sink {
	struct gh_jws	*out;		/* NULL: no JSON objects wanted */
	unsigned char	*buf;		/* the payload, when not NULL */
	size_t		 cap;
	size_t		*len;
	const struct gh_jwk **key;
	const unsigned char *input_md;	/* SHA-256 of the signing input, or NULL */
};

/*
 * The header's alg and kid without building a JSON object, in alg and
 * kid (NUL-terminated; kid "" with *has_kid 0 when absent).  Returns OK,
 * ECRIT, EALG or EFORMAT as the json-c route of jws_verify would, or
 * EINTERNAL when the header is outside gh_json_fast_object's subset (or
 * its alg or kid too long for the buffers): then that route decides.
 */
static enum gh_jose_err
header_fast(const char *hdr, size_t hdrlen, char *alg, size_t algcap, char *kid,
    size_t kidcap, int *has_kid)
{
	static const char *const names[] = { "crit", "alg", "kid" };
	struct gh_json_val v[3];

	if (gh_json_fast_object(hdr, hdrlen, names, 3, v) != 0)
		return GH_JOSE_EINTERNAL;
	if (v[0].kind != GH_JV_ABSENT)
		return GH_JOSE_ECRIT;
	if (v[1].kind == GH_JV_ABSENT)
		return GH_JOSE_EALG;
	if (v[1].kind != GH_JV_STR || (v[2].kind != GH_JV_ABSENT && v[2].kind != GH_JV_STR))
		return GH_JOSE_EFORMAT;
	if (v[1].n >= algcap || v[2].n >= kidcap)
		return GH_JOSE_EINTERNAL;
	memcpy(alg, v[1].p, v[1].n);
	alg[v[1].n] = '\0';
	if (v[2].n > 0)
		memcpy(kid, v[2].p, v[2].n);
	kid[v[2].n] = '\0';
	*has_kid = v[2].kind == GH_JV_STR;
	return GH_JOSE_OK;
}

/*
 * The verification shared by the entry points: keys/nkeys is the set to
 * pick from; with single set, keys[0] is used whatever the token's kid
 * unless both carry one and they differ.  sink says where the results go.
 */
static enum gh_jose_err
jws_verify(const char *token, size_t len, struct gh_jwk *const *keys,
    size_t nkeys, int single, const struct jws_sink *sink)
{
	const char *d1, *d2, *algname = NULL, *kid = NULL;
	unsigned char hdrbuf[512], sigbuf[1024];
	unsigned char *hdr = NULL, *payload = NULL, *sig = NULL;
	unsigned char *hdr_heap = NULL, *sig_heap = NULL;
	size_t hdrlen, paylen, siglen, i, hl64, sl64, pl64;
	struct json_object *header = NULL;
	const struct gh_jwk *key = NULL;
	struct gh_jws *out = sink->out;
	char fast_alg[32], fast_kid[256];
	enum gh_jose_alg alg;
	enum gh_jose_err rc = GH_JOSE_EFORMAT;
	int has, fast_has_kid = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (token == NULL)
		return GH_JOSE_EFORMAT;
	if (len > GH_JWS_MAX)
		return GH_JOSE_ETOOBIG;
	/* Exactly three parts of base64url characters. */
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) ==
	    NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) !=
	    NULL)
		return GH_JOSE_EFORMAT;
	if (d1 == token)
		return GH_JOSE_EFORMAT;
	/*
	 * Decoding checks the alphabet; header and signature go to the stack
	 * when they fit, the payload is kept for the caller (in its buffer
	 * when it gave one).
	 */
	hl64 = (size_t)(d1 - token);
	sl64 = len - (size_t)(d2 + 1 - token);
	pl64 = (size_t)(d2 - d1 - 1);
	if (hl64 / 4 * 3 + 2 <= sizeof(hdrbuf) - 1)
		hdr = hdrbuf;
	else if ((hdr = hdr_heap = malloc(hl64 / 4 * 3 + 3)) == NULL)
		goto out;
	if (sl64 / 4 * 3 + 2 <= sizeof(sigbuf))
		sig = sigbuf;
	else if ((sig = sig_heap = malloc(sl64 / 4 * 3 + 2)) == NULL)
		goto out;
	if (gh_b64url_decode_buf(token, hl64, hdr, hl64 / 4 * 3 + 2,
	    &hdrlen) != 0 ||
	    gh_b64url_decode_buf(d2 + 1, sl64, sig, sl64 / 4 * 3 + 2,
	    &siglen) != 0)
		goto out;
	if (sink->buf != NULL) {
		if (pl64 / 4 * 3 + 3 > sink->cap) {
			rc = GH_JOSE_ETOOBIG;
			goto out;
		}
		if (gh_b64url_decode_buf(d1 + 1, pl64, sink->buf, sink->cap, &paylen) != 0)
			goto out;
	} else if (gh_b64url_decode(d1 + 1, pl64, &payload, &paylen) != 0) {
		goto out;
	}
	hdr[hdrlen] = '\0';
	rc = GH_JOSE_EINTERNAL;
	if (out == NULL)
		rc = header_fast((const char *)hdr, hdrlen, fast_alg, sizeof(fast_alg), fast_kid,
		    sizeof(fast_kid), &fast_has_kid);
	if (rc == GH_JOSE_OK) {
		algname = fast_alg;
		kid = fast_has_kid ? fast_kid : NULL;
	} else if (rc != GH_JOSE_EINTERNAL) {
		goto out;
	} else {
		rc = GH_JOSE_EFORMAT;
		if ((header = gh_jose_json_parse((char *)hdr, hdrlen)) == NULL ||
		    !json_object_is_type(header, json_type_object))
			goto out;
		if (json_object_object_get_ex(header, "crit", NULL)) {
			rc = GH_JOSE_ECRIT;
			goto out;
		}
		if ((has = gh_jose_json_str(header, "alg", &algname)) < 0)
			goto out;
		rc = GH_JOSE_EALG;
		if (has == 0)
			goto out;
		rc = GH_JOSE_EFORMAT;
		if (gh_jose_json_str(header, "kid", &kid) < 0)
			goto out;
	}
	rc = GH_JOSE_EALG;
	if ((alg = gh_jose_alg_from_name(algname)) == GH_JOSE_ALG_UNKNOWN)
		goto out;
	rc = GH_JOSE_EKID;
	if (single) {
		key = keys[0];
		if (kid != NULL && key->kid != NULL && strcmp(kid, key->kid) != 0)
			goto out;
	} else if (kid != NULL) {
		for (i = 0; i < nkeys && key == NULL; i++)
			if (keys[i]->kid != NULL &&
			    strcmp(keys[i]->kid, kid) == 0)
				key = keys[i];
		if (key == NULL)
			goto out;
	} else {
		if (nkeys != 1)
			goto out;
		key = keys[0];
	}
	/* The key decides the algorithm; the token may only agree. */
	rc = GH_JOSE_EALG;
	if (alg != key->alg)
		goto out;
	rc = verify_raw_md(key, token, (size_t)(d2 - token), sink->input_md, sig, siglen);
	if (rc != GH_JOSE_OK)
		goto out;
	if (sink->key != NULL)
		*sink->key = key;
	if (sink->len != NULL)
		*sink->len = paylen;
	if (out != NULL) {
		out->header = header;
		header = NULL;
		out->claims = gh_jws_claims_parse(payload, paylen);
		out->payload = payload;
		out->payload_len = paylen;
		payload = NULL;
		out->key = key;
	}
out:
	json_object_put(header);
	free(hdr_heap);
	free(payload);
	free(sig_heap);
	return rc;
}

struct json_object *
gh_jws_claims_parse(const unsigned char *payload, size_t len)
{
	struct json_object *o = gh_jose_json_parse((const char *)payload, len);

	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

enum gh_jose_err
gh_jws_verify_payload(const char *token, size_t len, const struct gh_jwks *set,
    unsigned char *buf, size_t cap, size_t *paylen, const struct gh_jwk **key)
{
	return gh_jws_verify_payload_md(token, len, set, NULL, buf, cap, paylen, key);
}

enum gh_jose_err
gh_jws_verify_payload_md(const char *token, size_t len, const struct gh_jwks *set,
    const unsigned char *input_md, unsigned char *buf, size_t cap, size_t *paylen,
    const struct gh_jwk **key)
{
	struct jws_sink sink = { NULL, buf, cap, paylen, key, input_md };

	if (buf == NULL || paylen == NULL)
		return GH_JOSE_EINTERNAL;
	*paylen = 0;
	if (key != NULL)
		*key = NULL;
	if (set == NULL || set->count == 0)
		return GH_JOSE_EKID;
	return jws_verify(token, len, set->keys, set->count, 0, &sink);
}

enum gh_jose_err
gh_jws_verify(const char *token, size_t len, const struct gh_jwks *set,
    struct gh_jws *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (set == NULL || set->count == 0)
		return GH_JOSE_EKID;
	struct jws_sink sink = { out, NULL, 0, NULL, NULL, NULL };

	return jws_verify(token, len, set->keys, set->count, 0, &sink);
}

enum gh_jose_err
gh_jws_verify_key(const char *token, size_t len, const struct gh_jwk *key,
    struct gh_jws *out)
{
	struct gh_jwk *one[1];
	struct jws_sink sink = { out, NULL, 0, NULL, NULL, NULL };

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (key == NULL)
		return GH_JOSE_EKID;
	one[0] = (struct gh_jwk *)(uintptr_t)key;
	return jws_verify(token, len, one, 1, 1, &sink);
}

/*
 * A NumericDate claim: 0 absent, 1 present (in *v, whole seconds rounded
 * down), -1 of the wrong type or out of range.
 */
static int
numeric_date(struct json_object *claims, const char *name, int64_t *v)
{
	struct json_object *o;
	double d;

	if (!json_object_object_get_ex(claims, name, &o))
		return 0;
	if (json_object_is_type(o, json_type_int)) {
		*v = json_object_get_int64(o);
		return 1;
	}
	if (!json_object_is_type(o, json_type_double))
		return -1;
	d = json_object_get_double(o);
	if (!isfinite(d) || d < -9.0e18 || d > 9.0e18)
		return -1;
	*v = (int64_t)d;
	if ((double)*v > d)
		(*v)--;
	return 1;
}

/* Whether aud (a string or an array of strings) holds want: 1, 0 or -1. */
static int
aud_contains(struct json_object *claims, const char *want)
{
	struct json_object *aud, *el;
	const char *s;
	size_t i, n;
	int found = 0;

	if (!json_object_object_get_ex(claims, "aud", &aud))
		return 0;
	if (json_object_is_type(aud, json_type_string)) {
		s = json_object_get_string(aud);
		return strlen(s) == (size_t)json_object_get_string_len(aud) &&
		    strcmp(s, want) == 0;
	}
	if (!json_object_is_type(aud, json_type_array))
		return -1;
	n = json_object_array_length(aud);
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(aud, i);
		if (!json_object_is_type(el, json_type_string))
			return -1;
		s = json_object_get_string(el);
		if (strlen(s) == (size_t)json_object_get_string_len(el) &&
		    strcmp(s, want) == 0)
			found = 1;
	}
	return found;
}

enum gh_jose_err
gh_jwt_check_claims(struct json_object *claims,
    const struct gh_jwt_expect *expect)
{
	int64_t now, leeway, exp = 0, nbf = 0, iat = 0;
	const char *iss;
	int has;

	if (expect == NULL || !json_object_is_type(claims, json_type_object))
		return GH_JOSE_ECLAIMS;
	now = expect->now != 0 ? expect->now : (int64_t)time(NULL);
	leeway = expect->leeway;
	if (leeway < 0)
		leeway = 0;
	if (leeway > LEEWAY_MAX)
		leeway = LEEWAY_MAX;

	if ((has = numeric_date(claims, "exp", &exp)) < 0)
		return GH_JOSE_ECLAIMS;
	if (has == 0 && expect->require_exp)
		return GH_JOSE_ECLAIMS;
	if (has == 1 && now - leeway >= exp)
		return GH_JOSE_EEXPIRED;
	if ((has = numeric_date(claims, "nbf", &nbf)) < 0)
		return GH_JOSE_ECLAIMS;
	if (has == 1 && now + leeway < nbf)
		return GH_JOSE_ENOTYET;
	if ((has = numeric_date(claims, "iat", &iat)) < 0)
		return GH_JOSE_ECLAIMS;
	if (has == 1 && now + leeway < iat)
		return GH_JOSE_EIAT;
	if (expect->iss != NULL) {
		if ((has = gh_jose_json_str(claims, "iss", &iss)) < 0)
			return GH_JOSE_ECLAIMS;
		if (has == 0 || strcmp(iss, expect->iss) != 0)
			return GH_JOSE_EISS;
	}
	if (expect->aud != NULL) {
		if ((has = aud_contains(claims, expect->aud)) < 0)
			return GH_JOSE_ECLAIMS;
		if (has == 0)
			return GH_JOSE_EAUD;
	}
	return GH_JOSE_OK;
}
