/*
 * Unit tests of core/codec.c: RFC 4648 vectors for base64 and base64url,
 * strict decoding, percent-decoding and form bodies, HTTP Basic and
 * Bearer credentials (good and hostile), constant-time compare, random
 * and SHA-256 helpers.
 */
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "th.h"

/* A string literal and its length. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* RFC 4648 §10. */
static const struct {
	const char *raw, *b64, *b64url;
} rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static int
b64_dec_eq(const char *in, const char *want, size_t wantlen, int url)
{
	unsigned char *out = NULL;
	size_t n = 0;
	int ok, rc;

	rc = url ? gh_b64url_decode(in, strlen(in), &out, &n) :
	    gh_b64_decode(in, strlen(in), &out, &n);
	ok = rc == 0 && n == wantlen && memcmp(out, want, n) == 0 &&
	    out[n] == '\0';
	free(out);
	return ok;
}

static int
b64url_refused(const char *in)
{
	unsigned char *out = (unsigned char *)"x";
	size_t n = 7;
	int rc = gh_b64url_decode(in, strlen(in), &out, &n);

	return rc == -1 && out == NULL;
}

static int
b64_refused(const char *in)
{
	unsigned char *out = (unsigned char *)"x";
	size_t n = 7;
	int rc = gh_b64_decode(in, strlen(in), &out, &n);

	return rc == -1 && out == NULL;
}

static void
test_base64(void)
{
	size_t i;
	char *s;
	unsigned char bin[256], buf[8];
	size_t n;

	TH_TEST("rfc4648 vectors");
	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const char *raw = rfc4648[i].raw;

		s = gh_b64_encode(raw, strlen(raw));
		TH_CHECK_EQ_STR(s, rfc4648[i].b64);
		free(s);
		s = gh_b64url_encode(raw, strlen(raw));
		TH_CHECK_EQ_STR(s, rfc4648[i].b64url);
		free(s);
		TH_CHECK(b64_dec_eq(rfc4648[i].b64, raw, strlen(raw), 0));
		TH_CHECK(b64_dec_eq(rfc4648[i].b64url, raw, strlen(raw), 1));
	}

	TH_TEST("alphabets differ on 62/63");
	bin[0] = 0xfb;
	bin[1] = 0xff;
	bin[2] = 0xbf;
	s = gh_b64_encode(bin, 3);
	TH_CHECK_EQ_STR(s, "+/+/");
	free(s);
	s = gh_b64url_encode(bin, 3);
	TH_CHECK_EQ_STR(s, "-_-_");
	free(s);
	TH_CHECK(b64_dec_eq("-_-_", (char *)bin, 3, 1));
	TH_CHECK(b64_dec_eq("+/+/", (char *)bin, 3, 0));
	TH_CHECK(b64url_refused("+/+/"));
	TH_CHECK(b64_refused("-_-_"));

	TH_TEST("binary round trip");
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i <= sizeof(bin); i += 17) {
		s = gh_b64url_encode(bin, i);
		TH_CHECK(s != NULL && b64_dec_eq(s, (char *)bin, i, 1));
		free(s);
		s = gh_b64_encode(bin, i);
		TH_CHECK(s != NULL && b64_dec_eq(s, (char *)bin, i, 0));
		free(s);
	}

	TH_TEST("base64url refusals");
	TH_CHECK(b64url_refused("Zg=="));	/* padding */
	TH_CHECK(b64url_refused("Zg="));
	TH_CHECK(b64url_refused("Z"));		/* 4k+1 */
	TH_CHECK(b64url_refused("Zm9vY"));
	TH_CHECK(b64url_refused("Zm 9v"));	/* space */
	TH_CHECK(b64url_refused("Zm9v\n"));
	TH_CHECK(b64url_refused("Zm.v"));
	{
		unsigned char *out = NULL;

		TH_CHECK(gh_b64url_decode("Zm\0v", 4, &out, &n) == -1);
		TH_CHECK(out == NULL);
	}

	TH_TEST("non-canonical trailing bits are accepted (documented)");
	TH_CHECK(b64_dec_eq("Zh", "f", 1, 1));	/* 'h' = 'g' + low bits */
	TH_CHECK(b64_dec_eq("Zm9", "fo", 2, 1));
	TH_CHECK(b64_dec_eq("Zh==", "f", 1, 0));

	TH_TEST("base64 refusals");
	TH_CHECK(b64_refused("Zg"));		/* padding required */
	TH_CHECK(b64_refused("Zg="));
	TH_CHECK(b64_refused("Zg==="));
	TH_CHECK(b64_refused("Z==="));
	TH_CHECK(b64_refused("===="));
	TH_CHECK(b64_refused("Zm=v"));
	TH_CHECK(b64_refused("Zg==Zg=="));	/* padding mid-stream */
	TH_CHECK(b64_refused("Zm9v "));

	TH_TEST("decode into a buffer");
	TH_CHECK(gh_b64url_decode_buf("Zm9vYmE", 7, buf, sizeof(buf), &n) == 0);
	TH_CHECK(n == 5 && memcmp(buf, "fooba", 5) == 0);
	TH_CHECK(gh_b64url_decode_buf("Zm9vYmFy", 8, buf, 5, &n) == -1);
	TH_CHECK(gh_b64url_decode_buf("Zm9vYmFy", 8, buf, 6, &n) == 0);
}

static int
pct_eq(const char *in, int plus, const char *want, size_t wantlen)
{
	char *out = NULL;
	size_t n = 0;
	int ok;

	ok = gh_pct_decode(in, strlen(in), plus, &out, &n) == 0 &&
	    n == wantlen && memcmp(out, want, n) == 0;
	free(out);
	return ok;
}

static int
pct_refused(const char *in)
{
	char *out = (char *)"x";

	return gh_pct_decode(in, strlen(in), 1, &out, NULL) == -1 &&
	    out == NULL;
}

static void
test_percent_and_form(void)
{
	struct gh_form f;

	TH_TEST("percent-decoding");
	TH_CHECK(pct_eq("a%20b", 0, "a b", 3));
	TH_CHECK(pct_eq("a+b", 0, "a+b", 3));
	TH_CHECK(pct_eq("a+b", 1, "a b", 3));
	TH_CHECK(pct_eq("%2B%2b", 1, "++", 2));
	TH_CHECK(pct_eq("%C3%A9", 0, "\xc3\xa9", 2));
	TH_CHECK(pct_eq("", 0, "", 0));
	TH_CHECK(pct_refused("%"));
	TH_CHECK(pct_refused("%2"));
	TH_CHECK(pct_refused("a%2"));
	TH_CHECK(pct_refused("%G0"));
	TH_CHECK(pct_refused("%0g"));
	TH_CHECK(pct_refused("%00"));
	TH_CHECK(pct_refused("%%41"));
	{
		char *out = NULL;

		TH_CHECK(gh_pct_decode("a\0b", 3, 0, &out, NULL) == -1);
	}

	TH_TEST("form: ordinary body");
	TH_CHECK(gh_form_parse(S("grant_type=client_credentials&"
	    "scope=a+b%20c"), 16, &f) == 0);
	TH_CHECK_EQ_INT(f.count, 2);
	TH_CHECK_EQ_STR(gh_form_get(&f, "grant_type"), "client_credentials");
	TH_CHECK_EQ_STR(gh_form_get(&f, "scope"), "a b c");
	TH_CHECK(gh_form_get(&f, "nope") == NULL);
	gh_form_free(&f);
	TH_CHECK(f.pairs == NULL && f.count == 0);

	TH_TEST("form: edge cases");
	TH_CHECK(gh_form_parse(S(""), 4, &f) == 0 && f.count == 0);
	gh_form_free(&f);
	TH_CHECK(gh_form_parse(S("&&a=1&&b&=x&"), 8, &f) == 0);
	TH_CHECK_EQ_INT(f.count, 3);
	TH_CHECK_EQ_STR(gh_form_get(&f, "a"), "1");
	TH_CHECK_EQ_STR(gh_form_get(&f, "b"), "");
	TH_CHECK_EQ_STR(gh_form_get(&f, ""), "x");
	gh_form_free(&f);
	TH_CHECK(gh_form_parse(S("a=1=2&a=3"), 8, &f) == 0);
	TH_CHECK_EQ_STR(gh_form_get(&f, "a"), "1=2");
	TH_CHECK_EQ_INT(gh_form_count(&f, "a"), 2);
	TH_CHECK_EQ_STR(f.pairs[1].value, "3");
	gh_form_free(&f);
	TH_CHECK(gh_form_parse(S("na%6De=v%61l;x"), 8, &f) == 0);
	TH_CHECK_EQ_STR(gh_form_get(&f, "name"), "val;x");
	gh_form_free(&f);

	TH_TEST("form: refusals");
	TH_CHECK(gh_form_parse(S("a=%zz"), 8, &f) == -1 && f.count == 0);
	TH_CHECK(gh_form_parse(S("a=1&b=%00"), 8, &f) == -1 && f.pairs == NULL);
	TH_CHECK(gh_form_parse("a=1&b\0=2", 8, 8, &f) == -1);
	TH_CHECK(gh_form_parse(S("a=1&b=2&c=3"), 2, &f) == -1);
	TH_CHECK(gh_form_parse(S("a=1&b=2&&&"), 2, &f) == 0 && f.count == 2);
	gh_form_free(&f);
	TH_CHECK(gh_form_parse(S("a%=1"), 2, &f) == -1);
}

static int
basic_ok(const char *hdr, const char *user, const char *pass)
{
	char *u = NULL, *p = NULL;
	int ok;

	ok = gh_http_basic_parse(hdr, &u, &p) == 0 && u != NULL && p != NULL &&
	    strcmp(u, user) == 0 && strcmp(p, pass) == 0;
	free(u);
	gh_free_secret(p);
	return ok;
}

static int
basic_refused(const char *hdr)
{
	char *u = (char *)"x", *p = (char *)"y";

	return gh_http_basic_parse(hdr, &u, &p) == -1 && u == NULL &&
	    p == NULL;
}

static void
test_basic(void)
{
	char *big;

	TH_TEST("basic: good");
	/* RFC 7617 §2: Aladdin:open sesame. */
	TH_CHECK(basic_ok("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin",
	    "open sesame"));
	TH_CHECK(basic_ok("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin",
	    "open sesame"));
	TH_CHECK(basic_ok("BASIC QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin",
	    "open sesame"));
	/* "a:b:c": the password keeps later colons. */
	TH_CHECK(basic_ok("Basic YTpiOmM=", "a", "b:c"));
	/* "user:" - empty password is parsed; callers refuse it. */
	TH_CHECK(basic_ok("Basic dXNlcjo=", "user", ""));
	/* RFC 7617 §2.1 UTF-8 example: test:123£ */
	TH_CHECK(basic_ok("Basic dGVzdDoxMjPCow==", "test", "123\xc2\xa3"));

	TH_TEST("basic: refusals");
	TH_CHECK(basic_refused(NULL));
	TH_CHECK(basic_refused(""));
	TH_CHECK(basic_refused("Basic"));
	TH_CHECK(basic_refused("Basic "));
	TH_CHECK(basic_refused("Basic  QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
	TH_CHECK(basic_refused("Basic\tQWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
	TH_CHECK(basic_refused("Basix QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
	TH_CHECK(basic_refused("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
	TH_CHECK(basic_refused("BasicQWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
	/* "Aladdinopen sesame": no colon */
	TH_CHECK(basic_refused("Basic QWxhZGRpbm9wZW4gc2VzYW1l"));
	/* ":pw": empty user */
	TH_CHECK(basic_refused("Basic OnB3"));
	/* invalid base64: bad char, missing padding, trailing space */
	TH_CHECK(basic_refused("Basic QWxhZGRpbjpvcGVu*HNlc2FtZQ=="));
	TH_CHECK(basic_refused("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ"));
	TH_CHECK(basic_refused("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== "));
	TH_CHECK(basic_refused("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=a="));
	/* "a:b\0c" (NUL), "a:b\nc" (LF), "a\x7f:b" (DEL), "a:b\x1b" (ESC) */
	TH_CHECK(basic_refused("Basic YTpiAGM="));
	TH_CHECK(basic_refused("Basic YTpiCmM="));
	TH_CHECK(basic_refused("Basic YX86Yg=="));
	TH_CHECK(basic_refused("Basic YTpiGw=="));
	/* "a:\xff\xfe" invalid UTF-8; "a:\xc0\xaf" overlong '/' */
	TH_CHECK(basic_refused("Basic YTr//g=="));
	TH_CHECK(basic_refused("Basic YTrArw=="));
	/* oversized header */
	big = malloc(GH_BASIC_MAX + 16);
	memcpy(big, "Basic ", 6);
	memset(big + 6, 'Q', GH_BASIC_MAX + 4);
	big[GH_BASIC_MAX + 8] = '\0';
	TH_CHECK(basic_refused(big));
	free(big);
}

static int
bearer_ok(const char *hdr, const char *want)
{
	const char *t = NULL;
	size_t n = 0;

	return gh_http_bearer_parse(hdr, &t, &n) == 0 && n == strlen(want) &&
	    memcmp(t, want, n) == 0 && t >= hdr && t + n == hdr + strlen(hdr);
}

static int
bearer_refused(const char *hdr)
{
	const char *t = "x";
	size_t n = 3;

	return gh_http_bearer_parse(hdr, &t, &n) == -1 && t == NULL && n == 0;
}

static void
test_bearer(void)
{
	char *big;

	TH_TEST("bearer: good");
	TH_CHECK(bearer_ok("Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"));
	TH_CHECK(bearer_ok("bearer abc", "abc"));
	TH_CHECK(bearer_ok("BEARER abc", "abc"));
	TH_CHECK(bearer_ok("Bearer a+b/c~d==", "a+b/c~d=="));
	TH_CHECK(bearer_ok("Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig",
	    "eyJhbGciOiJFUzI1NiJ9.e30.sig"));

	TH_TEST("bearer: refusals");
	TH_CHECK(bearer_refused(NULL));
	TH_CHECK(bearer_refused(""));
	TH_CHECK(bearer_refused("Bearer"));
	TH_CHECK(bearer_refused("Bearer "));
	TH_CHECK(bearer_refused("Bearer  abc"));
	TH_CHECK(bearer_refused("Bearer\tabc"));
	TH_CHECK(bearer_refused("Bearerabc"));
	TH_CHECK(bearer_refused("Basic abc"));
	TH_CHECK(bearer_refused("Bearer abc "));
	TH_CHECK(bearer_refused("Bearer a bc"));
	TH_CHECK(bearer_refused("Bearer a,b"));
	TH_CHECK(bearer_refused("Bearer a=b"));
	TH_CHECK(bearer_refused("Bearer ==="));
	TH_CHECK(bearer_refused("Bearer a\"b"));
	TH_CHECK(bearer_refused("Bearer \xc3\xa9"));
	big = malloc(GH_BEARER_MAX + 16);
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'a', GH_BEARER_MAX + 1);
	big[GH_BEARER_MAX + 8] = '\0';
	TH_CHECK(bearer_refused(big));
	big[GH_BEARER_MAX + 7] = '\0';		/* exactly the limit */
	TH_CHECK(bearer_ok(big, big + 7));
	free(big);
}

static void
test_crypto_helpers(void)
{
	char hex[65], *a, *b;
	unsigned char z[32] = { 0 }, r[32] = { 0 };
	size_t i;
	int nonzero = 0;

	TH_TEST("constant-time compare");
	TH_CHECK(gh_ct_streq("secret", "secret") == 1);
	TH_CHECK(gh_ct_streq("secret", "secreT") == 0);
	TH_CHECK(gh_ct_streq("secret", "secret2") == 0);
	TH_CHECK(gh_ct_streq("", "") == 1);
	TH_CHECK(gh_ct_streq(NULL, "") == 0);
	TH_CHECK(gh_ct_equal("ab\0c", 4, "ab\0c", 4) == 1);
	TH_CHECK(gh_ct_equal("ab\0c", 4, "ab\0d", 4) == 0);

	TH_TEST("sha256 (FIPS 180-2 vectors)");
	TH_CHECK(gh_sha256_hex("abc", 3, hex) == 0);
	TH_CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	TH_CHECK(gh_sha256_hex("", 0, hex) == 0);
	TH_CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");

	TH_TEST("random");
	TH_CHECK(gh_random_bytes(r, sizeof(r)) == 0);
	for (i = 0; i < sizeof(r); i++)
		nonzero |= r[i] != z[i];
	TH_CHECK(nonzero);
	a = gh_random_hex(16);
	b = gh_random_hex(16);
	TH_CHECK(a != NULL && b != NULL && strlen(a) == 32 &&
	    strspn(a, "0123456789abcdef") == 32 && strcmp(a, b) != 0);
	free(a);
	free(b);
	a = gh_random_b64url(32);
	TH_CHECK(a != NULL && strlen(a) == 43);
	free(a);
	TH_CHECK(gh_random_hex(0) == NULL);

	TH_TEST("utf-8");
	TH_CHECK(gh_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	TH_CHECK(!gh_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	TH_CHECK(!gh_utf8_valid("\xe0\x80\xaf", 3));	/* overlong */
	TH_CHECK(!gh_utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	TH_CHECK(!gh_utf8_valid("\xc3", 1));		/* truncated */
}

static void
test_dec(void)
{
	char b[GH_DEC_LEN];
	size_t n;

	TH_TEST("gh_dec: decimal without snprintf");
	TH_CHECK_EQ_STR(gh_dec(0, b, &n), "0");
	TH_CHECK(n == 1);
	TH_CHECK_EQ_STR(gh_dec(1234567, b, &n), "1234567");
	TH_CHECK(n == 7);
	TH_CHECK_EQ_STR(gh_dec(-42, b, NULL), "-42");
	TH_CHECK_EQ_STR(gh_dec(9223372036854775807LL, b, &n), "9223372036854775807");
	TH_CHECK(n == 19);
	TH_CHECK_EQ_STR(gh_dec(-9223372036854775807LL - 1, b, &n), "-9223372036854775808");
	TH_CHECK(n == 20);
}

int
main(void)
{
	test_dec();
	test_base64();
	test_percent_and_form();
	test_basic();
	test_bearer();
	test_crypto_helpers();
	TH_END();
}
