/*
 * The node's backend-JWT key and the X-JWT-Assertion header.  At start
 * the key is read from node.data_dir/{zone}-backend-key.pem (0600) or
 * made (EC P-256) and written there; its kid is the RFC 7638 thumbprint.
 * gw.backend_key/backend_kid hold it; the feed thread registers the
 * public half (backend-keys) and the management port serves it (/jwks).
 * Assertions are cached per worker (backend_jwt.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "gateway/backend_jwt.h"
#include "gateway/gw.h"

#define BJWT_SLOTS 1024
#define BJWT_LIFE 900                   /* seconds */
#define BJWT_MARGIN 30                  /* re-sign when less than this is left */

struct bjwt_slot {
	char *key;
	char *token;
	int64_t exp;
};

struct gw_bjwt_cache {
	struct bjwt_slot slot[BJWT_SLOTS];
};

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > 65536 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf == NULL)
		goto out;
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		gh_free_secret_n(buf, (size_t)n + 1);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = (size_t)n;
out:
	fclose(f);
	return buf;
}

/* Write pem to path with mode 0600 (a temporary file renamed over it).  0 or -1. */
static int
write_key(const char *path, const char *pem)
{
	char tmp[700];
	size_t len = strlen(pem);
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, pem, len) == (ssize_t)len && fsync(fd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int
gw_backend_jwt_init(void)
{
	const char *dir = gh_settings_str(gw.cfg, "node.data_dir");
	char path[640], *pem;
	struct gh_jwk *k = NULL;
	struct stat st;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s-backend-key.pem", dir ? dir : ".", gw_zone.name);
	pem = read_file(path, &len);
	if (pem != NULL) {
		k = gh_jwk_from_pem(pem, len, NULL);
		gh_free_secret_n(pem, len + 1);
		if (k == NULL || k->alg != GH_JOSE_ES256 || k->priv == NULL) {
			fprintf(stderr, "gatehouse-%s: %s is not an EC P-256 private key\n", gw_zone.name, path);
			gh_jwk_free(k);
			return -1;
		}
		if (stat(path, &st) == 0 && (st.st_mode & 077) != 0 && chmod(path, 0600) != 0)
			gh_log_warn("backend-key", NULL, "%s is readable by others and cannot be changed", path);
	} else {
		if (errno != ENOENT) {
			fprintf(stderr, "gatehouse-%s: %s: %s\n", gw_zone.name, path, strerror(errno));
			return -1;
		}
		k = gh_jwk_generate(GH_JOSE_ES256, NULL);
		pem = k ? gh_jwk_private_pem(k) : NULL;
		if (pem == NULL || write_key(path, pem) != 0) {
			fprintf(stderr, "gatehouse-%s: cannot write the backend-JWT key %s: %s\n", gw_zone.name,
			    path, strerror(errno));
			gh_free_secret(pem);
			gh_jwk_free(k);
			return -1;
		}
		gh_free_secret(pem);
		gh_log_info("backend-key", NULL, "made a new backend-JWT key %s", k->kid);
	}
	gw.backend_key = k;
	snprintf(gw.backend_kid, sizeof(gw.backend_kid), "%s", k->kid ? k->kid : "");
	return 0;
}

struct gw_bjwt_cache *
gw_bjwt_cache_new(void)
{
	return calloc(1, sizeof(struct gw_bjwt_cache));
}

void
gw_bjwt_cache_free(struct gw_bjwt_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < BJWT_SLOTS; i++) {
		free(c->slot[i].key);
		free(c->slot[i].token);
	}
	free(c);
}

static void
claim(struct json_object *o, const char *name, const char *value)
{
	if (value != NULL)
		json_object_object_add(o, name, json_object_new_string(value));
}

static char *
sign(const struct gw_req *r, int64_t now, int64_t exp)
{
	const struct gw_api *api = r->match.api;
	const struct gw_principal *p = &r->who;
	struct json_object *c = json_object_new_object();
	char iss[192], *jti = gh_random_hex(16), *tok = NULL;
	const char *W = "http://wso2.org/claims/";
	char name[96];

	if (c == NULL || jti == NULL)
		goto out;
	snprintf(iss, sizeof(iss), "gatehouse-gateway/%s", gw.env ? gw.env : "");
	claim(c, "iss", iss);
	claim(c, "sub", p->sub[0] ? p->sub : NULL);
	json_object_object_add(c, "iat", json_object_new_int64(now));
	json_object_object_add(c, "exp", json_object_new_int64(exp));
	claim(c, "jti", jti);
	claim(c, "scope", p->scope ? p->scope : "");
	claim(c, "client_id", p->client_id[0] ? p->client_id : NULL);
	claim(c, "gateway_node", gw.node);
#define WC(n, v) do { snprintf(name, sizeof(name), "%s%s", W, n); claim(c, name, v); } while (0)
	WC("apiname", api->name);
	WC("apicontext", api->context);
	WC("version", api->version);
	WC("applicationid", r->app ? r->app->id : (p->app_id[0] ? p->app_id : NULL));
	WC("applicationname", r->app ? r->app->name : NULL);
	WC("applicationtier", r->app ? r->app->tier : NULL);
	WC("subscriber", r->app ? r->app->owner : NULL);
	WC("tier", r->sub ? r->sub->tier : NULL);
	WC("keytype", p->key_type[0] ? p->key_type : NULL);
	WC("usertype", p->kind == 4 ? "APPLICATION_USER" : r->app ? "APPLICATION" : "ANONYMOUS");
	WC("enduser", p->sub[0] ? p->sub : NULL);
	WC("enduserTenant", p->tenant[0] ? p->tenant : NULL);
#undef WC
	tok = gh_jws_sign_claims(gw.backend_key, c, NULL);
out:
	json_object_put(c);
	free(jti);
	return tok;
}

const char *
gw_backend_jwt_assertion(struct gw_bjwt_cache *c, const struct gw_req *r)
{
	const struct gw_principal *p = &r->who;
	char key[1400];
	int64_t now = (int64_t)time(NULL), exp = now + BJWT_LIFE;
	uint64_t h = 1469598103934665603ULL;
	struct bjwt_slot *s;
	char *tok;

	if (gw.backend_key == NULL || r->match.api == NULL)
		return NULL;
	/* a verified principal: the token's jti when it has one, else who and which application */
	snprintf(key, sizeof(key), "%s|%d|%s|%s|%s|%s|%s|%s", r->match.api->id, p->kind, p->jti, p->sub,
	    p->tenant, p->app_id, p->key_type, r->sub ? r->sub->tier : "");
	for (const char *q = key; *q; q++)
		h = (h ^ (unsigned char)*q) * 1099511628211ULL;
	s = &c->slot[h % BJWT_SLOTS];
	if (s->key != NULL && s->exp - now > BJWT_MARGIN && strcmp(s->key, key) == 0)
		return s->token;
	if (p->exp > 0 && p->exp < exp)
		exp = p->exp > now ? p->exp : now + 1;
	tok = sign(r, now, exp);
	if (tok == NULL)
		return NULL;
	free(s->key);
	free(s->token);
	s->key = strdup(key);
	s->token = tok;
	s->exp = exp;
	if (s->key == NULL) {
		/* keep the token for this call; the slot just never matches */
		s->exp = 0;
	}
	return s->token;
}
