/*
 * Fuzz target for the text codecs of core/codec.c that read untrusted
 * bytes: form bodies (gh_form_parse), Authorization values
 * (gh_http_basic_parse, gh_http_bearer_parse), base64url and base64
 * decoding, percent-decoding and the UTF-8 check.  The input is used
 * whole for each; the header parsers get a NUL-terminated copy, as a
 * header value always is.  Everything returned is freed here.
 */
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
codecs(const char *s, size_t n)
{
	unsigned char *out = NULL, small[64];
	char *text = NULL;
	size_t olen = 0;

	if (gh_b64url_decode(s, n, &out, &olen) == 0)
		free(out);
	(void)gh_b64url_decode_buf(s, n, small, sizeof(small), &olen);
	if (gh_b64_decode(s, n, &out, &olen) == 0)
		free(out);
	if (gh_pct_decode(s, n, 1, &text, &olen) == 0)
		free(text);
	if (gh_pct_decode(s, n, 0, &text, &olen) == 0)
		free(text);
	(void)gh_utf8_valid(s, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct gh_form form = { NULL, 0 };
	char *z, *user = NULL, *password = NULL;
	const char *token = NULL;
	size_t tlen = 0;

	if (gh_form_parse(s, size, 16, &form) == 0) {
		(void)gh_form_get(&form, "grant_type");
		(void)gh_form_count(&form, "scope");
	}
	gh_form_free(&form);
	codecs(s, size);

	z = malloc(size + 1);
	if (z == NULL)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	if (gh_http_basic_parse(z, &user, &password) == 0) {
		free(user);
		gh_free_secret(password);
	}
	(void)gh_http_bearer_parse(z, &token, &tlen);
	free(z);
	return 0;
}
