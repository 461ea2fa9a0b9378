/*
 * Codecs for bytes on the wire: base64 and base64url, percent-decoding,
 * form bodies, HTTP Basic and Bearer credentials, plus the small crypto
 * helpers (constant-time compare, RAND_bytes, SHA-256) every component
 * needs.  Everything here is a pure function over caller buffers; results
 * are malloc'd and owned by the caller (see gh_codec.h), and buffers that
 * held secrets are wiped before they are freed.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of each byte in the standard and the URL alphabets, or -1. */
static const signed char b64_dec_std[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
static const signed char b64_dec_url[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static char *
b64_encode(const void *data, size_t len, const char *alpha, int pad)
{
	const unsigned char *p = data;
	size_t olen, i, o = 0;
	char *out;

	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	olen = (len + 2) / 3 * 4;
	if ((out = malloc(olen + 1)) == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
		    p[i + 2];
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

char *
gh_b64url_encode(const void *data, size_t len)
{
	return b64_encode(data, len, b64_url, 0);
}

char *
gh_b64_encode(const void *data, size_t len)
{
	return b64_encode(data, len, b64_std, 1);
}

/*
 * Decode the unpadded characters s[0..n) of one alphabet into buf (cap
 * bytes).  n % 4 == 1 can never be produced by an encoder and is refused.
 */
static int
b64_decode_core(const char *s, size_t n, int url, unsigned char *buf,
    size_t cap, size_t *outlen)
{
	const signed char *t = url ? b64_dec_url : b64_dec_std;
	const unsigned char *p = (const unsigned char *)s;
	size_t need, i, o = 0;
	int a, b, c, d;

	if (n % 4 == 1)
		return -1;
	need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (need > cap)
		return -1;
	/* Four characters to three bytes; any -1 makes the OR negative. */
	for (i = 0; i + 4 <= n; i += 4) {
		a = t[p[i]];
		b = t[p[i + 1]];
		c = t[p[i + 2]];
		d = t[p[i + 3]];
		if ((a | b | c | d) < 0)
			return -1;
		buf[o] = (unsigned char)(a << 2 | b >> 4);
		buf[o + 1] = (unsigned char)((b & 15) << 4 | c >> 2);
		buf[o + 2] = (unsigned char)((c & 3) << 6 | d);
		o += 3;
	}
	/* The last two or three characters; unused low bits are ignored. */
	if (n - i >= 2) {
		a = t[p[i]];
		b = t[p[i + 1]];
		c = n - i == 3 ? t[p[i + 2]] : 0;
		if ((a | b | c) < 0)
			return -1;
		buf[o++] = (unsigned char)(a << 2 | b >> 4);
		if (n - i == 3)
			buf[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
	}
	*outlen = o;
	return 0;
}

int
gh_b64url_decode_buf(const char *s, size_t slen, unsigned char *buf,
    size_t cap, size_t *outlen)
{
	if (s == NULL || outlen == NULL || (buf == NULL && cap != 0))
		return -1;
	return b64_decode_core(s, slen, 1, buf, cap, outlen);
}

static int
b64_decode_alloc(const char *s, size_t n, int url, unsigned char **out,
    size_t *outlen)
{
	size_t cap = n / 4 * 3 + 3;
	unsigned char *buf;

	if ((buf = malloc(cap + 1)) == NULL)
		return -1;
	if (b64_decode_core(s, n, url, buf, cap, outlen) != 0) {
		free(buf);
		return -1;
	}
	buf[*outlen] = '\0';
	*out = buf;
	return 0;
}

int
gh_b64url_decode(const char *s, size_t slen, unsigned char **out,
    size_t *outlen)
{
	size_t dummy;

	if (out == NULL)
		return -1;
	*out = NULL;
	if (outlen == NULL)
		outlen = &dummy;
	*outlen = 0;
	if (s == NULL)
		return -1;
	return b64_decode_alloc(s, slen, 1, out, outlen);
}

int
gh_b64_decode(const char *s, size_t slen, unsigned char **out,
    size_t *outlen)
{
	size_t dummy, n = slen;

	if (out == NULL)
		return -1;
	*out = NULL;
	if (outlen == NULL)
		outlen = &dummy;
	*outlen = 0;
	if (s == NULL || slen % 4 != 0)
		return -1;
	if (n > 0 && s[n - 1] == '=')
		n--;
	if (n > 0 && s[n - 1] == '=')
		n--;
	/* Padding must complete the last quantum exactly. */
	if (slen - n != (4 - n % 4) % 4)
		return -1;
	return b64_decode_alloc(s, n, 0, out, outlen);
}

const char *
gh_dec(long long value, char buf[GH_DEC_LEN], size_t *len)
{
	unsigned long long v = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
	size_t i = GH_DEC_LEN - 1;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (value < 0)
		buf[--i] = '-';
	if (len != NULL)
		*len = GH_DEC_LEN - 1 - i;
	return buf + i;
}

void
gh_hex_encode(const void *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
gh_pct_decode(const char *s, size_t len, int plus_is_space, char **out,
    size_t *outlen)
{
	size_t i, o = 0;
	char *buf;
	int hi, lo;

	if (out == NULL)
		return -1;
	*out = NULL;
	if (s == NULL || len == SIZE_MAX)
		return -1;
	if ((buf = malloc(len + 1)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			goto bad;
		if (c == '+' && plus_is_space) {
			buf[o++] = ' ';
			continue;
		}
		if (c != '%') {
			buf[o++] = (char)c;
			continue;
		}
		if (len - i < 3)
			goto bad;
		if ((hi = hex_value((unsigned char)s[i + 1])) < 0 ||
		    (lo = hex_value((unsigned char)s[i + 2])) < 0)
			goto bad;
		if (hi == 0 && lo == 0)
			goto bad;
		buf[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	buf[o] = '\0';
	*out = buf;
	if (outlen != NULL)
		*outlen = o;
	return 0;
bad:
	free(buf);
	return -1;
}

int
gh_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
gh_form_parse(const char *body, size_t len, size_t max_pairs,
    struct gh_form *form)
{
	size_t pos = 0;

	if (form == NULL)
		return -1;
	form->pairs = NULL;
	form->count = 0;
	if (body == NULL && len != 0)
		return -1;
	while (pos < len) {
		const char *seg = body + pos, *amp, *eq;
		size_t seglen, nlen, vlen;
		struct gh_form_pair *pairs;

		amp = memchr(seg, '&', len - pos);
		seglen = amp != NULL ? (size_t)(amp - seg) : len - pos;
		pos += seglen + 1;
		if (seglen == 0)
			continue;
		if (form->count >= max_pairs)
			goto bad;
		pairs = realloc(form->pairs,
		    (form->count + 1) * sizeof(*form->pairs));
		if (pairs == NULL)
			goto bad;
		form->pairs = pairs;
		eq = memchr(seg, '=', seglen);
		nlen = eq != NULL ? (size_t)(eq - seg) : seglen;
		vlen = eq != NULL ? seglen - nlen - 1 : 0;
		pairs[form->count].name = NULL;
		pairs[form->count].value = NULL;
		if (gh_pct_decode(seg, nlen, 1, &pairs[form->count].name,
		    NULL) != 0 ||
		    gh_pct_decode(eq != NULL ? eq + 1 : "", vlen, 1,
		    &pairs[form->count].value, NULL) != 0) {
			free(pairs[form->count].name);
			goto bad;
		}
		form->count++;
	}
	return 0;
bad:
	gh_form_free(form);
	return -1;
}

const char *
gh_form_get(const struct gh_form *form, const char *name)
{
	size_t i;

	for (i = 0; form != NULL && name != NULL && i < form->count; i++)
		if (strcmp(form->pairs[i].name, name) == 0)
			return form->pairs[i].value;
	return NULL;
}

size_t
gh_form_count(const struct gh_form *form, const char *name)
{
	size_t i, n = 0;

	for (i = 0; form != NULL && name != NULL && i < form->count; i++)
		if (strcmp(form->pairs[i].name, name) == 0)
			n++;
	return n;
}

void
gh_form_free(struct gh_form *form)
{
	size_t i;

	if (form == NULL)
		return;
	for (i = 0; i < form->count; i++) {
		gh_free_secret(form->pairs[i].name);
		gh_free_secret(form->pairs[i].value);
	}
	free(form->pairs);
	form->pairs = NULL;
	form->count = 0;
}

/* ASCII case-insensitive "scheme + one SP" prefix; returns the rest. */
static const char *
auth_scheme(const char *value, const char *scheme)
{
	size_t i, n = strlen(scheme);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)scheme[i])
			return NULL;
	}
	if (value[n] != ' ')
		return NULL;
	return value + n + 1;
}

int
gh_http_basic_parse(const char *value, char **user, char **password)
{
	unsigned char *dec = NULL;
	const char *b64;
	char *colon;
	size_t declen = 0, i, ulen;

	if (user == NULL || password == NULL)
		return -1;
	*user = *password = NULL;
	if (value == NULL || strnlen(value, GH_BASIC_MAX + 1) > GH_BASIC_MAX)
		return -1;
	if ((b64 = auth_scheme(value, "basic")) == NULL)
		return -1;
	if (*b64 == '\0' || gh_b64_decode(b64, strlen(b64), &dec, &declen) != 0)
		return -1;
	for (i = 0; i < declen; i++)
		if (dec[i] < 0x20 || dec[i] == 0x7f)
			goto bad;
	if (!gh_utf8_valid((const char *)dec, declen))
		goto bad;
	if ((colon = memchr(dec, ':', declen)) == NULL)
		goto bad;
	ulen = (size_t)(colon - (char *)dec);
	if (ulen == 0)
		goto bad;
	if ((*user = strndup((char *)dec, ulen)) == NULL ||
	    (*password = strdup(colon + 1)) == NULL)
		goto bad;
	gh_free_secret_n(dec, declen);
	return 0;
bad:
	free(*user);
	*user = NULL;
	gh_free_secret_n(dec, declen);
	return -1;
}

static int
token68_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~' || c == '+' || c == '/';
}

int
gh_http_bearer_parse(const char *value, const char **token,
    size_t *token_len)
{
	const char *t;
	size_t n, i;

	if (token == NULL || token_len == NULL)
		return -1;
	*token = NULL;
	*token_len = 0;
	if (value == NULL || (t = auth_scheme(value, "bearer")) == NULL)
		return -1;
	if ((n = strnlen(t, GH_BEARER_MAX + 1)) > GH_BEARER_MAX)
		return -1;
	for (i = 0; i < n && token68_char((unsigned char)t[i]); i++)
		;
	if (i == 0)
		return -1;
	while (i < n && t[i] == '=')
		i++;
	if (i != n)
		return -1;
	*token = t;
	*token_len = n;
	return 0;
}

int
gh_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (a == NULL || b == NULL || alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

int
gh_ct_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	return gh_ct_equal(a, strlen(a), b, strlen(b));
}

int
gh_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	/* RAND_bytes takes an int: feed it in slices. */
	while (len > 0) {
		int n = len > 1 << 20 ? 1 << 20 : (int)len;

		if (RAND_bytes(p, n) != 1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

char *
gh_random_hex(size_t nbytes)
{
	unsigned char *raw;
	char *out = NULL;

	if (nbytes == 0 || nbytes > 1 << 20 || (raw = malloc(nbytes)) == NULL)
		return NULL;
	if (gh_random_bytes(raw, nbytes) == 0 &&
	    (out = malloc(2 * nbytes + 1)) != NULL)
		gh_hex_encode(raw, nbytes, out);
	gh_free_secret_n(raw, nbytes);
	return out;
}

char *
gh_random_b64url(size_t nbytes)
{
	unsigned char *raw;
	char *out = NULL;

	if (nbytes == 0 || nbytes > 1 << 20 || (raw = malloc(nbytes)) == NULL)
		return NULL;
	if (gh_random_bytes(raw, nbytes) == 0)
		out = gh_b64url_encode(raw, nbytes);
	gh_free_secret_n(raw, nbytes);
	return out;
}

static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha_key;
static EVP_MD *sha_md;			/* fetched once, never freed */
static __thread EVP_MD_CTX *sha_ctx;	/* this thread's, reused */

static void
sha_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
sha_init(void)
{
	sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (pthread_key_create(&sha_key, sha_ctx_free) != 0) {
		EVP_MD_free(sha_md);
		sha_md = NULL;
	}
}

int
gh_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	/*
	 * No algorithm fetch and no context allocation per call: the digest
	 * is fetched once, and each thread keeps one context (freed when the
	 * thread ends).
	 */
	pthread_once(&sha_once, sha_init);
	if (sha_md == NULL)
		goto slow;
	if (sha_ctx == NULL) {
		if ((sha_ctx = EVP_MD_CTX_new()) == NULL)
			goto slow;
		if (pthread_setspecific(sha_key, sha_ctx) != 0) {
			EVP_MD_CTX_free(sha_ctx);
			sha_ctx = NULL;
			goto slow;
		}
	}
	if (EVP_DigestInit_ex(sha_ctx, sha_md, NULL) != 1 ||
	    EVP_DigestUpdate(sha_ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(sha_ctx, out, &n) != 1 || n != 32)
		return -1;
	return 0;
slow:
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	return 0;
}

int
gh_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];

	if (gh_sha256(data, len, md) != 0)
		return -1;
	gh_hex_encode(md, sizeof(md), out);
	return 0;
}

void
gh_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void
gh_free_secret_n(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}
