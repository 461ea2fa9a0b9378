/*
 * Byte and text codecs shared by every component: base64 and base64url,
 * percent-decoding and application/x-www-form-urlencoded bodies, the
 * credentials of the HTTP Basic and Bearer schemes, constant-time
 * comparison, random bytes and SHA-256.
 *
 * Ownership: a function returning char * or filling a char ** / unsigned
 * char ** hands over a malloc'd, NUL-terminated buffer that the caller
 * free()s (or gh_free_secret()s when it held a secret).  On error nothing
 * is allocated and the out-parameters are set to NULL.  Inputs are always
 * borrowed.  Decoders take an explicit length and treat a NUL byte in the
 * input as invalid.
 */
#ifndef GH_CODEC_H
#define GH_CODEC_H

#include <stddef.h>

/* Largest Authorization header value gh_http_basic_parse accepts. */
#define GH_BASIC_MAX 8192
/* Largest Bearer token gh_http_bearer_parse accepts. */
#define GH_BEARER_MAX 16384

/*
 * base64url (RFC 4648 §5) without padding.  Returns a malloc'd string of
 * length ceil(4*len/3), or NULL when memory runs out.
 */
char *gh_b64url_encode(const void *data, size_t len);

/*
 * Decode unpadded base64url of slen bytes into a malloc'd buffer (with an
 * extra NUL after the data, not counted in *outlen).  Refuses '=' padding,
 * any character outside [A-Za-z0-9_-] and a length of 4k+1.  Accepts
 * non-zero unused low bits in the last character: a JWT's last character
 * has up to 16 spellings that decode to the same bytes (NOTES.md), so
 * never key anything on the encoded form.  Returns 0, or -1 (out NULL).
 */
int gh_b64url_decode(const char *s, size_t slen, unsigned char **out,
    size_t *outlen);

/*
 * The same decoding into a caller buffer of cap bytes (no NUL added).
 * Returns 0 and sets *outlen, or -1 when invalid or when it would not fit.
 */
int gh_b64url_decode_buf(const char *s, size_t slen, unsigned char *buf,
    size_t cap, size_t *outlen);

/* Standard base64 (RFC 4648 §4) with '=' padding; malloc'd, NULL on ENOMEM. */
char *gh_b64_encode(const void *data, size_t len);

/*
 * Decode padded standard base64: the length must be a multiple of 4 and
 * '=' may only end the input (at most two).  Unused low bits are accepted
 * as for base64url.  Out as gh_b64url_decode.  Returns 0 or -1.
 */
int gh_b64_decode(const char *s, size_t slen, unsigned char **out,
    size_t *outlen);

/* Lower-case hex of len bytes into out, which holds 2*len+1 bytes. */
void gh_hex_encode(const void *data, size_t len, char *out);

/*
 * value in decimal, NUL-terminated, at the end of buf (GH_DEC_LEN bytes):
 * returns where the digits start (inside buf); *len gets their count when
 * len is not NULL.  No locale, no snprintf.
 */
#define GH_DEC_LEN 24
const char *gh_dec(long long value, char buf[GH_DEC_LEN], size_t *len);

/*
 * Percent-decode len bytes (RFC 3986); with plus_is_space a '+' becomes a
 * space (form bodies).  Refuses a '%' not followed by two hex digits, %00
 * and a raw NUL.  *out is malloc'd and NUL-terminated.  Returns 0 or -1.
 */
int gh_pct_decode(const char *s, size_t len, int plus_is_space, char **out,
    size_t *outlen);

/* Whether len bytes are well-formed UTF-8 (no overlongs, no surrogates). */
int gh_utf8_valid(const char *s, size_t len);

struct gh_form_pair {
	char	*name;		/* decoded, NUL-terminated, owned by the form */
	char	*value;		/* decoded ("" for "name" without '=') */
};

struct gh_form {
	struct gh_form_pair	*pairs;
	size_t			 count;
};

/*
 * Parse an application/x-www-form-urlencoded body of len bytes into *form
 * (which the caller then releases with gh_form_free, also after failure).
 * Pairs are split on '&', empty segments skipped, name and value
 * percent-decoded with '+' as space; the order and duplicates are kept.
 * Refuses an invalid escape, a NUL, and more than max_pairs pairs.
 * Returns 0 or -1.
 */
int gh_form_parse(const char *body, size_t len, size_t max_pairs,
    struct gh_form *form);

/* The value of the first pair called name, or NULL; borrowed from form. */
const char *gh_form_get(const struct gh_form *form, const char *name);

/* How many pairs are called name (OAuth refuses repeated parameters). */
size_t gh_form_count(const struct gh_form *form, const char *name);

/* Free every pair; form itself (caller memory) is left empty. */
void gh_form_free(struct gh_form *form);

/*
 * Parse an Authorization header value "Basic <base64(user:password)>".
 * The scheme is case-insensitive and followed by exactly one space; the
 * credentials are padded standard base64 and decode to well-formed UTF-8
 * without NUL or control characters, split at the first ':' (required),
 * with a non-empty user.  The password may be empty: callers that bind
 * with it must refuse that themselves.  *user and *password are malloc'd;
 * free the password with gh_free_secret.  Returns 0 or -1.
 */
int gh_http_basic_parse(const char *value, char **user, char **password);

/*
 * Parse an Authorization header value "Bearer <token68>": scheme
 * case-insensitive, exactly one space, then 1*[A-Za-z0-9-._~+/] *"=" up to
 * the end, at most GH_BEARER_MAX bytes.  *token points into value (not
 * copied) and *token_len is its length.  Returns 0 or -1.
 */
int gh_http_bearer_parse(const char *value, const char **token,
    size_t *token_len);

/*
 * Compare secrets in time independent of their contents (CRYPTO_memcmp).
 * Lengths are compared first, so only the length can leak.  Returns 1
 * when equal, 0 otherwise (also when either pointer is NULL).
 */
int gh_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
int gh_ct_streq(const char *a, const char *b);

/* Fill buf with len bytes from RAND_bytes.  Returns 0 or -1. */
int gh_random_bytes(void *buf, size_t len);

/* nbytes random bytes as lower-case hex (malloc'd), NULL on failure. */
char *gh_random_hex(size_t nbytes);

/* nbytes random bytes as unpadded base64url (malloc'd), NULL on failure. */
char *gh_random_b64url(size_t nbytes);

/* SHA-256 of len bytes into out[32].  Returns 0 or -1. */
int gh_sha256(const void *data, size_t len, unsigned char out[32]);

/* SHA-256 as 64 lower-case hex digits and a NUL into out.  Returns 0 or -1. */
int gh_sha256_hex(const void *data, size_t len, char out[65]);

/* explicit_bzero then free a NUL-terminated secret; NULL is ignored. */
void gh_free_secret(char *s);

/* explicit_bzero len bytes then free; NULL is ignored. */
void gh_free_secret_n(void *p, size_t len);

#endif
