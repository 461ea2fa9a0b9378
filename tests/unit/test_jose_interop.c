/*
 * JOSE interoperability, our half.  `test_jose_interop make DIR` makes an
 * RS256, an ES256 and an EdDSA key, writes their public JWKS
 * (DIR/jwks.json), their private keys (DIR/KID.pem) and one signed JWT per
 * key (DIR/ours.txt: "KID TOKEN" lines) for other libraries to verify.
 * `test_jose_interop verify DIR FILE` verifies every "KID TOKEN" line of
 * FILE (tokens made by other libraries with those private keys) against
 * the JWKS, and expects lines starting with "bad" to be refused.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/gh_jose.h"
#include "th.h"

static const enum gh_jose_alg algs[] = { GH_JOSE_RS256, GH_JOSE_ES256, GH_JOSE_EDDSA };

static int
write_file(const char *dir, const char *name, const char *text)
{
	char p[600];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void
make(const char *dir)
{
	struct gh_jwks *set = gh_jwks_new();
	char path[600];
	FILE *ours;
	struct json_object *js;

	snprintf(path, sizeof(path), "%s/ours.txt", dir);
	ours = fopen(path, "w");
	for (size_t i = 0; i < 3; i++) {
		struct gh_jwk *k = gh_jwk_generate(algs[i], gh_jose_alg_name(algs[i]));
		struct json_object *claims = json_object_new_object();
		enum gh_jose_err e;
		char *pem, *tok, name[64];

		TH_CHECK(k != NULL);
		if (k == NULL)
			continue;
		json_object_object_add(claims, "iss", json_object_new_string("https://gatehouse.test"));
		json_object_object_add(claims, "sub", json_object_new_string("alice@acme.com"));
		json_object_object_add(claims, "aud", json_object_new_string("gatehouse-gateway"));
		json_object_object_add(claims, "exp", json_object_new_int64(time(NULL) + 600));
		tok = gh_jws_sign_claims(k, claims, &e);
		TH_CHECK(tok != NULL);
		fprintf(ours, "%s %s\n", k->kid, tok ? tok : "-");
		pem = gh_jwk_private_pem(k);
		snprintf(name, sizeof(name), "%s.pem", k->kid);
		TH_CHECK(pem != NULL && write_file(dir, name, pem) == 0);
		free(pem);
		free(tok);
		json_object_put(claims);
		TH_CHECK(gh_jwks_add(set, k) == 0);
	}
	fclose(ours);
	js = gh_jwks_to_json(set);
	TH_CHECK(write_file(dir, "jwks.json", json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN)) == 0);
	json_object_put(js);
	gh_jwks_free(set);
}

static void
verify(const char *dir, const char *file)
{
	char path[600], line[20000];
	FILE *f;
	long len;
	char *text;
	struct gh_jwks *set;
	enum gh_jose_err e;
	size_t skipped, n = 0;

	snprintf(path, sizeof(path), "%s/jwks.json", dir);
	f = fopen(path, "r");
	if (f == NULL) {
		TH_CHECK(f != NULL);
		return;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	TH_CHECK(fread(text, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	set = gh_jwks_parse(text, (size_t)len, &skipped, &e);
	free(text);
	TH_CHECK(set != NULL);
	f = fopen(file, "r");
	TH_CHECK(f != NULL);
	while (set != NULL && f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *sp = strchr(line, ' ');
		struct gh_jws jws;
		int bad = strncmp(line, "bad", 3) == 0;

		if (sp == NULL)
			continue;
		*sp++ = '\0';
		sp[strcspn(sp, "\r\n")] = '\0';
		e = gh_jws_verify(sp, strlen(sp), set, &jws);
		TH_CHECK_MSG(bad ? e != GH_JOSE_OK : e == GH_JOSE_OK, "%s: %s", line, gh_jose_strerror(e));
		if (e == GH_JOSE_OK) {
			struct json_object *v;
			TH_CHECK(json_object_object_get_ex(jws.claims, "sub", &v) &&
			    strcmp(json_object_get_string(v), "alice@acme.com") == 0);
			gh_jws_clear(&jws);
		}
		n++;
	}
	TH_CHECK(n >= 3);
	if (f != NULL)
		fclose(f);
	gh_jwks_free(set);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "make") == 0)
		make(argv[2]);
	else if (argc == 4 && strcmp(argv[1], "verify") == 0)
		verify(argv[2], argv[3]);
	else
		TH_CHECK(!"usage: test_jose_interop make DIR | verify DIR FILE");
	TH_END();
}
