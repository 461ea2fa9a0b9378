/*
 * JOSE on OpenSSL 3: JSON Web Keys (RFC 7517/7518/8037), key sets,
 * RFC 7638 thumbprints, JWS compact serialization (RFC 7515) for RS256,
 * ES256 and EdDSA (Ed25519), and the JWT time/issuer/audience checks
 * (RFC 7519).
 *
 * Every key carries one algorithm, fixed when the key is made or read;
 * a token's "alg" header is only ever compared with it, never used to
 * choose how to verify.  Keys, sets and tokens from outside are treated
 * as hostile: sizes are bounded and every member is checked.
 *
 * Ownership: functions returning a pointer hand over something the caller
 * frees with the matching *_free (json-c objects: json_object_put; char *:
 * free, or gh_free_secret for private-key PEM).  Arguments are borrowed
 * unless a comment says a function takes ownership.
 */
#ifndef GH_JOSE_H
#define GH_JOSE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct json_object;

/* Largest compact token gh_jws_verify looks at. */
#define GH_JWS_MAX 16384
/* Length of an RFC 7638 SHA-256 thumbprint in base64url, without NUL. */
#define GH_JWK_THUMBPRINT_LEN 43
/* Longest kid accepted or produced. */
#define GH_JWK_KID_MAX 255
/* Most keys in one JWKS. */
#define GH_JWKS_MAX_KEYS 64

enum gh_jose_alg {
	GH_JOSE_ALG_UNKNOWN = 0,
	GH_JOSE_RS256,		/* RSASSA-PKCS1-v1_5 SHA-256, RSA >= 2048 bits */
	GH_JOSE_ES256,		/* ECDSA P-256 SHA-256, raw R||S signatures */
	GH_JOSE_EDDSA		/* Ed25519 */
};

enum gh_jose_err {
	GH_JOSE_OK = 0,
	GH_JOSE_EFORMAT,	/* not three base64url parts; header not a JSON
				 * object; bad JSON; a member of the wrong type */
	GH_JOSE_ETOOBIG,	/* token over GH_JWS_MAX, or set too large */
	GH_JOSE_EALG,		/* alg missing, unknown, "none", HS*, or not the
				 * key's fixed alg */
	GH_JOSE_ECRIT,		/* a "crit" header (no extension is understood) */
	GH_JOSE_EKID,		/* kid needed but absent, or no key has it */
	GH_JOSE_ESIG,		/* signature of the wrong length or invalid */
	GH_JOSE_EKEY,		/* a key unusable for the operation (no private
				 * part, bad JWK member, unsupported type) */
	GH_JOSE_EINTERNAL,	/* memory or OpenSSL failure */
	GH_JOSE_EEXPIRED,	/* claims: now >= exp + leeway */
	GH_JOSE_ENOTYET,	/* claims: now + leeway < nbf */
	GH_JOSE_EIAT,		/* claims: iat in the future beyond leeway */
	GH_JOSE_EISS,		/* claims: iss missing or different */
	GH_JOSE_EAUD,		/* claims: aud missing or not containing ours */
	GH_JOSE_ECLAIMS		/* claims: not an object, a required claim
				 * missing, or a claim of the wrong type */
};

/* A short constant English name for an error code ("expired", ...). */
const char *gh_jose_strerror(enum gh_jose_err err);

/* "RS256", "ES256", "EdDSA"; NULL for GH_JOSE_ALG_UNKNOWN. */
const char *gh_jose_alg_name(enum gh_jose_alg alg);

/* The algorithm called name (exact, case-sensitive); UNKNOWN otherwise. */
enum gh_jose_alg gh_jose_alg_from_name(const char *name);

struct gh_jwk {
	char			*kid;	/* NULL when the key has none */
	enum gh_jose_alg	 alg;	/* fixed; decides how to sign/verify */
	char			*use;	/* "sig" */
	EVP_PKEY		*pub;	/* public key only; always set */
	EVP_PKEY		*priv;	/* private key, or NULL */
};

/*
 * Generate a key for alg (RSA 2048, P-256 or Ed25519).  kid is copied;
 * NULL sets the kid to the key's RFC 7638 thumbprint.  Returns the key
 * (gh_jwk_free) or NULL.
 */
struct gh_jwk *gh_jwk_generate(enum gh_jose_alg alg, const char *kid);

/* Free a key and its EVP_PKEYs; NULL is ignored. */
void gh_jwk_free(struct gh_jwk *key);

/*
 * Read a key from PEM of len bytes: a private key (PKCS#8 or traditional,
 * unencrypted) or a public key (SubjectPublicKeyInfo).  The algorithm is
 * that of the key type (RSA >= 2048 bits: RS256; P-256: ES256; Ed25519:
 * EdDSA); other types are refused.  kid as for gh_jwk_generate.  Returns
 * the key or NULL.
 */
struct gh_jwk *gh_jwk_from_pem(const char *pem, size_t len, const char *kid);

/*
 * The private key as unencrypted PKCS#8 PEM (malloc'd; the caller frees
 * it with gh_free_secret), or NULL when the key has no private part.
 */
char *gh_jwk_private_pem(const struct gh_jwk *key);

/* The public key as SubjectPublicKeyInfo PEM (malloc'd), or NULL. */
char *gh_jwk_public_pem(const struct gh_jwk *key);

/*
 * The public JWK {"kty","kid","use":"sig","alg", n/e | crv/x/y | crv/x}
 * as a new json-c object (json_object_put), or NULL.  kid is left out
 * when the key has none.  Never contains private members.
 */
struct json_object *gh_jwk_to_json(const struct gh_jwk *key);

/*
 * Read a public JWK.  kty must be RSA (n, e; n >= 2048 bits, no leading
 * zero octets), EC (crv P-256, x and y of 32 bytes, a point on the curve)
 * or OKP (crv Ed25519, x of 32 bytes).  "alg", when present, must be the
 * one algorithm of that key type; "use", when present, must be "sig";
 * "kid", when present, a string of 1..GH_JWK_KID_MAX bytes without NUL.
 * Private members ("d", ...) are ignored: the key has no private part.
 * Returns the key or NULL, with *err (may be NULL) set: EFORMAT for a
 * malformed member, EKEY for an unsupported or unusable key.
 */
struct gh_jwk *gh_jwk_from_json(struct json_object *jwk,
    enum gh_jose_err *err);

/*
 * Read a private JWK: as gh_jwk_from_json plus "d" (and for RSA either
 * none or all of p, q, dp, dq, qi).  The private key must match the
 * public members.  For importing keys and the RFC test vectors.
 */
struct gh_jwk *gh_jwk_from_json_private(struct json_object *jwk,
    enum gh_jose_err *err);

/*
 * The RFC 7638 SHA-256 thumbprint of the key's public members, base64url,
 * into out (GH_JWK_THUMBPRINT_LEN + 1 bytes).  Returns 0 or -1.
 */
int gh_jwk_thumbprint(const struct gh_jwk *key,
    char out[GH_JWK_THUMBPRINT_LEN + 1]);

struct gh_jwks {
	struct gh_jwk	**keys;
	size_t		  count;
};

/* An empty set (gh_jwks_free), or NULL. */
struct gh_jwks *gh_jwks_new(void);

/* Free the set and every key in it; NULL is ignored. */
void gh_jwks_free(struct gh_jwks *set);

/*
 * Add key to set, which takes ownership of it on success only.  Refuses
 * (-1) a key whose kid another key of the set already has, and a set
 * that already holds GH_JWKS_MAX_KEYS keys.  Returns 0 or -1.
 */
int gh_jwks_add(struct gh_jwks *set, struct gh_jwk *key);

/* The key whose kid is kid (exact), or NULL; borrowed from the set. */
const struct gh_jwk *gh_jwks_find(const struct gh_jwks *set, const char *kid);

/*
 * Read {"keys":[...]}.  Keys that are well-formed but not for us (use
 * other than "sig", an alg or kty/crv we do not implement, such as
 * RSA-OAEP, oct or P-384) are skipped and counted in *skipped (may be
 * NULL); a malformed key of a type we implement, a duplicate kid, or
 * more than GH_JWKS_MAX_KEYS entries refuse the whole set.  Returns the
 * set (possibly empty) or NULL with *err (may be NULL) set.
 */
struct gh_jwks *gh_jwks_from_json(struct json_object *jwks, size_t *skipped,
    enum gh_jose_err *err);

/*
 * As gh_jwks_from_json, from len bytes of strict JSON text (at most 1 MiB,
 * no repeated member names; else EFORMAT).
 */
struct gh_jwks *gh_jwks_parse(const char *json, size_t len, size_t *skipped,
    enum gh_jose_err *err);

/* {"keys":[public JWKs]} as a new json-c object, or NULL. */
struct json_object *gh_jwks_to_json(const struct gh_jwks *set);

/*
 * Sign input (len bytes) with the key's fixed algorithm; the signature is
 * in its JWS form (RS256: modulus-sized; ES256: 64-byte R||S; EdDSA: 64
 * bytes).  *sig is malloc'd.  Returns OK, EKEY (no private part) or
 * EINTERNAL.
 */
enum gh_jose_err gh_jws_sign_raw(const struct gh_jwk *key, const void *input,
    size_t len, unsigned char **sig, size_t *siglen);

/*
 * Verify a JWS-form signature over input with the key's fixed algorithm.
 * Returns OK or ESIG (wrong length included).
 */
enum gh_jose_err gh_jws_verify_raw(const struct gh_jwk *key,
    const void *input, size_t len, const unsigned char *sig, size_t siglen);

/*
 * A compact JWS of payload (len bytes) with the header
 * {"alg":<key's alg>,"typ":"JWT","kid":<key's kid>} (kid left out when
 * the key has none).  Returns the malloc'd token, or NULL with *err (may
 * be NULL) set.
 */
char *gh_jws_sign(const struct gh_jwk *key, const void *payload, size_t len,
    enum gh_jose_err *err);

/* gh_jws_sign of claims serialized as compact JSON (a JWT). */
char *gh_jws_sign_claims(const struct gh_jwk *key, struct json_object *claims,
    enum gh_jose_err *err);

/*
 * A compact JWS with the caller's header object, serialized as compact
 * JSON in its own member order.  Its "alg" must be absent (the key's alg
 * is added last) or equal to the key's alg (else EALG).  The header is
 * borrowed and may be modified (alg added).
 */
char *gh_jws_sign_with_header(const struct gh_jwk *key,
    struct json_object *header, const void *payload, size_t len,
    enum gh_jose_err *err);

/* What gh_jws_verify hands back on success; release with gh_jws_clear. */
struct gh_jws {
	struct json_object	*header;	/* the protected header object */
	struct json_object	*claims;	/* the payload as a JSON object,
						 * or NULL when it is not one */
	unsigned char		*payload;	/* decoded payload + NUL */
	size_t			 payload_len;
	const struct gh_jwk	*key;		/* the key that verified,
						 * borrowed from the set */
};

/*
 * Verify a compact JWS of len bytes against a key set, cheapest checks
 * first: size (<= GH_JWS_MAX, else ETOOBIG), no NUL, exactly three
 * base64url parts, the header a JSON object without duplicate members
 * (EFORMAT), no "crit" (ECRIT), "alg" a known name (EALG), the key: by
 * "kid" when present, else the only key of a one-key set (EKID); the
 * header alg equal to that key's fixed alg (EALG); the signature of the
 * exact length for the alg and valid (ESIG).  On OK *out is filled and
 * owned by the caller (gh_jws_clear); on failure *out is left empty.
 * out may be NULL when only the verdict matters.
 */
enum gh_jose_err gh_jws_verify(const char *token, size_t len,
    const struct gh_jwks *set, struct gh_jws *out);

/*
 * As gh_jws_verify with one key: a token "kid" is then only required to
 * equal the key's kid when both have one.
 */
enum gh_jose_err gh_jws_verify_key(const char *token, size_t len,
    const struct gh_jwk *key, struct gh_jws *out);

/*
 * As gh_jws_verify, with the same checks and verdicts, for hot paths: no
 * JSON object is built (the header is read by gh_json_fast_object, or
 * parsed when it is outside that reader's subset) and the decoded payload
 * goes to the caller's buf of cap bytes (ETOOBIG when it would not fit;
 * len / 4 * 3 + 3 bytes always do), its length to *paylen.  *key, when
 * not NULL, gets the key that verified (borrowed from set).
 */
enum gh_jose_err gh_jws_verify_payload(const char *token, size_t len,
    const struct gh_jwks *set, unsigned char *buf, size_t cap, size_t *paylen,
    const struct gh_jwk **key);

/*
 * gh_jws_verify_payload for a caller that already hashed the token: input_md,
 * when not NULL, is the SHA-256 of the signing input (the token up to its
 * second '.'), used by the SHA-256 algorithms (RS256, ES256) instead of
 * hashing it again.  A wrong input_md makes the signature fail (ESIG).
 */
enum gh_jose_err gh_jws_verify_payload_md(const char *token, size_t len,
    const struct gh_jwks *set, const unsigned char *input_md, unsigned char *buf, size_t cap,
    size_t *paylen, const struct gh_jwk **key);

/*
 * The payload of a verified token as the JSON object gh_jws_verify puts
 * in claims (the same strict parse: no duplicate member at any depth):
 * a new reference, or NULL when it is not a JSON object.
 */
struct json_object *gh_jws_claims_parse(const unsigned char *payload, size_t len);

/* Put the JSON objects and free the payload of a verified token. */
void gh_jws_clear(struct gh_jws *jws);

/* What the claims of a JWT must satisfy; zero-initialize, then set. */
struct gh_jwt_expect {
	int64_t		 now;		/* seconds since the epoch; 0: time() */
	int64_t		 leeway;	/* seconds of clock skew tolerated */
	const char	*iss;		/* required issuer, or NULL */
	const char	*aud;		/* required audience, or NULL */
	int		 require_exp;	/* exp must be present */
};

/*
 * Check claims (the JSON object of a verified JWT): exp, nbf and iat,
 * when present, must be numbers (ECLAIMS); now >= exp + leeway is
 * EEXPIRED; now + leeway < nbf is ENOTYET; now + leeway < iat is EIAT;
 * a missing exp with require_exp is ECLAIMS; iss must equal expect->iss
 * (EISS); aud, a string or an array of strings, must be or contain
 * expect->aud (EAUD).  Returns OK or the first failing code in that order.
 */
enum gh_jose_err gh_jwt_check_claims(struct json_object *claims,
    const struct gh_jwt_expect *expect);

#endif
