/*
 * gatehouse init --first [--role ROLE]: make the first node of a
 * deployment (--role writes node.role; only that role's certificates are
 * issued).  --enroll joins another node (cmd/enroll.c).  Each step
 * checks what is already there and only adds what is missing, so a second
 * run changes nothing and says so:
 *   1. the internal CA (its key stays on this node, 0600) and this node's
 *      component certificates named gatehouse://ROLE/ENV/NODE;
 *   2. the key that encrypts token-signing keys, appended to the node's
 *      configuration file, which is made 0600;
 *   3. the database schema (versioned migrations);
 *   4. the first token-signing keys (RS256 and ES256), sealed under that
 *      key and stored in PostgreSQL;
 *   5. the super tenant's LDAP subtree, its role groups and an admin user
 *      whose password is given or generated and printed once;
 *   6. the web UIs' login clients (gatehouse-devportal,
 *      gatehouse-publisher-console), redirect URIs from node.hostnames and
 *      the portal's and publisher's ports (updated when those change).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/node.h"
#include "cmd/supervise.h"
#include "core/gh_codec.h"
#include "core/gh_jose.h"
#include "core/gh_pki.h"
#include "core/gh_tls.h"
#include "core/gh_settings.h"
#include "ldap/gh_ldap.h"
#include "pg/gh_pg.h"
#include "pg/gh_web.h"

#define CA_DAYS 3650
#define CERT_DAYS 825

struct init_ctx {
	struct gh_settings *cfg;
	const char *config_path;
	char pki_dir[512];
	int changes;
};

static const char *const default_roles[] = { "admin", "creator", "publisher", "subscriber", NULL };

static int
file_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* 1 when the certificate at path names role and env (gatehouse://ROLE/ENV/NODE). */
static int
cert_names(const char *path, const char *role, const char *env)
{
	struct gh_peer_id id;
	X509 *x = NULL;
	FILE *f = fopen(path, "r");
	int ok = 0;

	if (f == NULL)
		return 0;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x != NULL && gh_tls_peer_id_from_cert(x, &id) == 0)
		ok = strcmp(id.role, role) == 0 && strcmp(id.env, env) == 0;
	X509_free(x);
	return ok;
}

static int
step_pki(struct init_ctx *c)
{
	char ca_key[600], ca_crt[600], key[600], crt[600], err[256], fp[65];
	const char *comps[8][2];
	const char *names[33];
	char *hosts, *save = NULL;
	size_t n, nn = 0;
	int rc = -1;

	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", c->pki_dir);
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", c->pki_dir);
	if (!file_exists(ca_crt)) {
		if (gh_pki_ca_create("Gatehouse internal CA", CA_DAYS, ca_key, ca_crt, err, sizeof(err)) != 0) {
			fprintf(stderr, "gatehouse init: CA: %s\n", err);
			return -1;
		}
		gh_pki_fingerprint(ca_crt, fp);
		printf("created   internal CA %s (sha256 %s)\n", ca_crt, fp);
		c->changes++;
	} else {
		printf("unchanged internal CA %s\n", ca_crt);
	}
	hosts = strdup(gh_settings_str(c->cfg, "node.hostnames"));
	if (hosts == NULL)
		return -1;
	for (char *h = strtok_r(hosts, ", ", &save); h != NULL && nn < 32; h = strtok_r(NULL, ", ", &save))
		names[nn++] = h;
	names[nn] = NULL;
	n = gh_pki_role_components(gh_settings_str(c->cfg, "node.role"), NULL, comps, 8);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s/%s.key", c->pki_dir, comps[i][0]);
		snprintf(crt, sizeof(crt), "%s/%s.crt", c->pki_dir, comps[i][0]);
		if (file_exists(crt) && file_exists(key)) {
			if (cert_names(crt, comps[i][0], comps[i][1])) {
				printf("unchanged certificate %s\n", crt);
				continue;
			}
			/* made by an older version for another environment name: issue it again */
			printf("replacing certificate %s (it does not name %s/%s)\n", crt, comps[i][0], comps[i][1]);
		}
		unlink(key);
		if (gh_pki_issue(ca_key, ca_crt, comps[i][0], comps[i][1],
		    gh_settings_str(c->cfg, "node.name"), names, CERT_DAYS, key, crt, err, sizeof(err)) != 0) {
			fprintf(stderr, "gatehouse init: certificate for %s: %s\n", comps[i][0], err);
			goto out;
		}
		printf("created   certificate %s (gatehouse://%s/%s/%s)\n", crt, comps[i][0],
		    comps[i][1], gh_settings_str(c->cfg, "node.name"));
		c->changes++;
	}
	rc = 0;
out:
	free(hosts);
	return rc;
}

static int
step_kek(struct init_ctx *c, unsigned char kek[GH_SECRETBOX_KEYLEN])
{
	unsigned char raw[GH_SECRETBOX_KEYLEN];
	char *b64;
	FILE *f;
	int rc;

	if (gh_settings_is_set(c->cfg, "keys.signing_kek")) {
		printf("unchanged signing-key encryption key (in %s)\n", c->config_path);
		if (gh_config_kek(c->cfg, kek) != 0) {
			fprintf(stderr, "gatehouse init: keys.signing_kek is not 32 bytes of base64; "
			    "remove the line to have a new key generated (only before any signing key exists)\n");
			return -1;
		}
		return 0;
	}
	if (gh_random_bytes(raw, sizeof(raw)) != 0)
		return -1;
	b64 = gh_b64_encode(raw, sizeof(raw));
	if (b64 == NULL)
		return -1;
	if (chmod(c->config_path, 0600) != 0) {
		fprintf(stderr, "gatehouse init: chmod %s: %s\n", c->config_path, strerror(errno));
		gh_free_secret(b64);
		return -1;
	}
	f = fopen(c->config_path, "a");
	rc = f != NULL && fprintf(f, "\n# written by gatehouse init: encrypts the token-signing keys; back it up\n"
	    "[keys]\nsigning_kek = %s\n", b64) > 0;
	if (f == NULL || fclose(f) != 0 || !rc) {
		fprintf(stderr, "gatehouse init: cannot append to %s: %s\n", c->config_path, strerror(errno));
		gh_free_secret(b64);
		return -1;
	}
	gh_settings_set(c->cfg, "keys.signing_kek", b64, "init", NULL);
	gh_free_secret(b64);
	memcpy(kek, raw, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	printf("created   signing-key encryption key (appended to %s, now mode 0600)\n", c->config_path);
	c->changes++;
	return 0;
}

static int
signing_key_add(struct gh_pg *db, enum gh_jose_alg alg, const unsigned char kek[GH_SECRETBOX_KEYLEN])
{
	struct gh_jwk *k = gh_jwk_generate(alg, NULL);
	char tp[GH_JWK_THUMBPRINT_LEN + 1];
	char *pem = NULL;
	unsigned char *box = NULL;
	size_t boxlen = 0;
	struct json_object *jwk = NULL;
	PGresult *res = NULL;
	int rc = -1;

	if (k == NULL || gh_jwk_thumbprint(k, tp) != 0)
		goto out;
	free(k->kid);
	k->kid = strdup(tp);
	pem = gh_jwk_private_pem(k);
	jwk = gh_jwk_to_json(k);
	if (k->kid == NULL || pem == NULL || jwk == NULL ||
	    gh_secretbox_seal(kek, tp, strlen(tp), pem, strlen(pem), &box, &boxlen) != 0)
		goto out;
	{
		const char *params[4] = { tp, gh_jose_alg_name(alg),
		    json_object_to_json_string_ext(jwk, JSON_C_TO_STRING_PLAIN), (const char *)box };
		size_t lens[4] = { strlen(tp), strlen(params[1]), strlen(params[2]), boxlen };
		int bin[4] = { 0, 0, 0, 1 };
		res = gh_pg_exec_len(db, "INSERT INTO gh_signing_keys (kid, alg, public_jwk, private_key_enc) "
		    "VALUES ($1, $2, $3::jsonb, $4)", 4, params, lens, bin);
	}
	if (res == NULL) {
		fprintf(stderr, "gatehouse init: storing signing key: %s\n", gh_pg_errmsg(db));
		goto out;
	}
	printf("created   token-signing key %s kid %s (sealed in the database)\n", gh_jose_alg_name(alg), tp);
	rc = 0;
out:
	PQclear(res);
	json_object_put(jwk);
	if (pem != NULL)
		gh_free_secret(pem);
	free(box);
	gh_jwk_free(k);
	return rc;
}

static int
step_database(struct init_ctx *c, const unsigned char kek[GH_SECRETBOX_KEYLEN])
{
	char *ci = gh_pg_conninfo(c->cfg), err[256];
	struct gh_pg *db;
	int applied, rc = -1;
	static const enum gh_jose_alg algs[] = { GH_JOSE_RS256, GH_JOSE_ES256 };

	if (ci == NULL) {
		fprintf(stderr, "gatehouse init: db.* settings too long\n");
		return -1;
	}
	db = gh_pg_connect(ci, err, sizeof(err));
	gh_free_secret(ci);
	if (db == NULL) {
		fprintf(stderr, "gatehouse init: database: %s\n", err);
		return -1;
	}
	applied = gh_pg_migrate_schema(db);
	if (applied < 0) {
		fprintf(stderr, "gatehouse init: migrations: %s\n", gh_pg_errmsg(db));
		goto out;
	}
	if (applied > 0) {
		printf("created   database schema (%d migration%s applied)\n", applied, applied == 1 ? "" : "s");
		c->changes++;
	} else {
		printf("unchanged database schema (up to date)\n");
	}
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const char *p[1] = { gh_jose_alg_name(algs[i]) };
		int64_t count = 0;
		if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_signing_keys WHERE alg = $1 AND status = 'active'",
		    1, p, &count) != 0) {
			fprintf(stderr, "gatehouse init: signing keys: %s\n", gh_pg_errmsg(db));
			goto out;
		}
		if (count > 0) {
			printf("unchanged token-signing key %s\n", p[0]);
			continue;
		}
		if (signing_key_add(db, algs[i], kek) != 0)
			goto out;
		c->changes++;
	}
	rc = 0;
out:
	gh_pg_close(db);
	return rc;
}

static char *
admin_password(const char *file, int *generated)
{
	char buf[512];
	const char *env = getenv("GATEHOUSE_ADMIN_PASSWORD");
	FILE *f;

	*generated = 0;
	if (file != NULL) {
		size_t n;
		f = fopen(file, "r");
		if (f == NULL) {
			fprintf(stderr, "gatehouse init: %s: %s\n", file, strerror(errno));
			return NULL;
		}
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '\0') {
			fprintf(stderr, "gatehouse init: %s holds an empty password\n", file);
			return NULL;
		}
		return strdup(buf);
	}
	if (env != NULL && env[0] != '\0')
		return strdup(env);
	*generated = 1;
	return gh_random_b64url(15);
}

static int
step_ldap(struct init_ctx *c, const char *pwfile)
{
	struct gh_ldap_config lc = { 0 };
	struct gh_ldap *ld;
	struct gh_ldap_result r = { 0 };
	int rc = -1, x;

	gh_ldap_config_from_settings(c->cfg, &lc);
	ld = gh_ldap_new(&lc);
	if (ld == NULL || gh_ldap_connect(ld) != GH_LDAP_OK) {
		fprintf(stderr, "gatehouse init: LDAP %s: cannot bind as %s\n", lc.uri, lc.bind_dn);
		goto out;
	}
	x = gh_ldap_tenant_create(ld, GH_LDAP_SUPER_TENANT);
	if (x == GH_LDAP_OK) {
		printf("created   LDAP tenant %s\n", GH_LDAP_SUPER_TENANT);
		c->changes++;
	} else if (x == GH_LDAP_EXISTS) {
		printf("unchanged LDAP tenant %s\n", GH_LDAP_SUPER_TENANT);
	} else {
		fprintf(stderr, "gatehouse init: LDAP tenant: %s\n", gh_ldap_rc_str(x));
		goto out;
	}
	for (size_t i = 0; default_roles[i] != NULL; i++) {
		x = gh_ldap_group_create(ld, GH_LDAP_SUPER_TENANT, default_roles[i]);
		if (x == GH_LDAP_OK) {
			printf("created   LDAP role %s\n", default_roles[i]);
			c->changes++;
		} else if (x != GH_LDAP_EXISTS) {
			fprintf(stderr, "gatehouse init: LDAP role %s: %s\n", default_roles[i], gh_ldap_rc_str(x));
			goto out;
		}
	}
	x = gh_ldap_user_find(ld, GH_LDAP_SUPER_TENANT, "admin", NULL, &r);
	if (x == GH_LDAP_OK && r.n > 0) {
		printf("unchanged admin user (password not changed)\n");
	} else {
		struct gh_ldap_user_info info = { "admin", "admin", NULL };
		int generated;
		char *pw = admin_password(pwfile, &generated);
		if (pw == NULL)
			goto out;
		x = gh_ldap_user_create(ld, GH_LDAP_SUPER_TENANT, "admin", &info, pw, strlen(pw));
		if (x == GH_LDAP_OK)
			x = gh_ldap_group_add_member(ld, GH_LDAP_SUPER_TENANT, "admin", "admin");
		if (x != GH_LDAP_OK) {
			fprintf(stderr, "gatehouse init: admin user: %s\n", gh_ldap_rc_str(x));
			gh_free_secret(pw);
			goto out;
		}
		if (generated)
			printf("created   admin user 'admin' with password (shown once): %s\n", pw);
		else
			printf("created   admin user 'admin' with the given password\n");
		gh_free_secret(pw);
		c->changes++;
	}
	rc = 0;
out:
	gh_ldap_result_free(&r);
	gh_ldap_free(ld);
	return rc;
}

/*
 * "https://H:PORT/PATH" for every name of node.hostnames, and "https://H/PATH" too (the name
 * behind the DMZ load balancer on 443), space-separated (malloc'd).
 */
static char *
web_redirects(const char *hostnames, int64_t port, const char *path)
{
	char buf[4096], names[1024], *save = NULL;
	size_t n = 0;

	buf[0] = '\0';
	snprintf(names, sizeof(names), "%s", hostnames);
	for (char *h = strtok_r(names, ", ", &save); h != NULL; h = strtok_r(NULL, ", ", &save)) {
		int v6 = strchr(h, ':') != NULL;
		int w = snprintf(buf + n, sizeof(buf) - n, "%shttps://%s%s%s:%lld%s", n ? " " : "",
		    v6 ? "[" : "", h, v6 ? "]" : "", (long long)port, path);

		if (w < 0 || (size_t)w >= sizeof(buf) - n)
			return NULL;
		n += (size_t)w;
		if (port == 443)
			continue;
		w = snprintf(buf + n, sizeof(buf) - n, " https://%s%s%s%s", v6 ? "[" : "", h, v6 ? "]" : "", path);
		if (w < 0 || (size_t)w >= sizeof(buf) - n)
			return NULL;
		n += (size_t)w;
	}
	return n ? strdup(buf) : NULL;
}

static int
step_web_clients(struct init_ctx *c, const unsigned char kek[GH_SECRETBOX_KEYLEN])
{
	static const struct { const char *ui, *client, *port, *path; } uis[] = {
		{ "devportal", GH_WEB_DEVPORTAL_CLIENT, "portal.port", "/devportal/callback" },
		{ "publisher", GH_WEB_PUBLISHER_CLIENT, "publisher.port", "/publisher/callback" },
	};
	struct gh_settings *all = gh_config_load(c->config_path, GH_COMP_ALL);
	char *ci = gh_pg_conninfo(c->cfg), err[256];
	struct gh_pg *db = NULL;
	int rc = -1;

	if (all == NULL || ci == NULL)
		goto out;
	db = gh_pg_connect(ci, err, sizeof(err));
	if (db == NULL) {
		fprintf(stderr, "gatehouse init: database: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < sizeof(uis) / sizeof(uis[0]); i++) {
		char *r = web_redirects(gh_settings_str(c->cfg, "node.hostnames"),
		    gh_settings_int(all, uis[i].port), uis[i].path);
		int x;

		if (r == NULL) {
			fprintf(stderr, "gatehouse init: node.hostnames gives no redirect URI for %s\n", uis[i].client);
			goto out;
		}
		x = gh_web_client_register(db, kek, uis[i].ui, uis[i].client, r);
		if (x < 0) {
			fprintf(stderr, "gatehouse init: login client %s: %s\n", uis[i].client, gh_pg_errmsg(db));
			free(r);
			goto out;
		}
		printf("%s login client %s (%s)\n", x == 0 ? "unchanged" : x == 1 ? "created  " : "updated  ",
		    uis[i].client, r);
		if (x > 0)
			c->changes++;
		free(r);
	}
	rc = 0;
out:
	gh_pg_close(db);
	if (ci != NULL)
		gh_free_secret(ci);
	gh_settings_free(all);
	return rc;
}

/* --first --role ROLE: write node.role into the file, or check that the file says the same.  0 or -1. */
static int
init_role(const char *path, const char *role)
{
	static const char *const name = "node.role";
	size_t n = 0;
	const struct gh_setting_def *defs = gh_config_table(GH_COMP_NODE, &n);
	struct gh_settings *s = gh_settings_new(defs, n);
	char *errs = NULL;
	int rc = -1;

	if (s == NULL)
		return -1;
	if (gh_settings_set(s, name, role, "--role", &errs) != 0) {
		fprintf(stderr, "gatehouse init: %s", errs ? errs : "bad --role\n");
		goto out;
	}
	if (strncmp(role, "gateway-", 8) == 0) {
		fprintf(stderr, "gatehouse init: a gateway node cannot be a deployment's first node; "
		    "make a control-plane or all-in-one node first and enrol the gateway\n");
		goto out;
	}
	if (gh_conf_file_sets(path, name) == 1) {
		gh_settings_free(s);
		s = gh_config_load(path, GH_COMP_NODE);
		if (s == NULL)
			return -1;
		if (strcmp(gh_settings_str(s, name), role) == 0) {
			printf("unchanged role %s\n", role);
			rc = 0;
		} else {
			fprintf(stderr, "gatehouse init: %s says node.role = %s but --role is %s: change one of them\n",
			    path, gh_settings_str(s, name), role);
		}
		goto out;
	}
	if (gh_conf_file_append(path, "written by gatehouse init --first --role", &name, &role, 1) != 0)
		goto out;
	printf("created   role %s (node.role in %s)\n", role, path);
	rc = 0;
out:
	free(errs);
	gh_settings_free(s);
	return rc;
}

#define INIT_USAGE "usage: gatehouse init --first [--role ROLE] [--config FILE] [--admin-password-file FILE]\n" \
	"       gatehouse init --enroll URL --token TOKEN [--role ROLE] [--config FILE] " \
	"[--ca-fingerprint sha256:HEX]\n"

int
gh_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "first", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "admin-password-file", required_argument, NULL, 'p' },
		{ "role", required_argument, NULL, 'r' },
		{ "enroll", required_argument, NULL, 'e' },
		{ "token", required_argument, NULL, 't' },
		{ "ca-fingerprint", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL, *enroll = NULL, *token = NULL, *fp = NULL;
	struct init_ctx c = { 0 };
	unsigned char kek[GH_SECRETBOX_KEYLEN];
	const char *pwfile = NULL;
	int first = 0, o, rc = 1;

	c.config_path = GH_CONFIG_DEFAULT;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'f': first = 1; break;
		case 'c': c.config_path = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'r': role = optarg; break;
		case 'e': enroll = optarg; break;
		case 't': token = optarg; break;
		case 'F': fp = optarg; break;
		default:
			fprintf(stderr, INIT_USAGE);
			return 2;
		}
	}
	if (enroll != NULL || token != NULL || fp != NULL) {
		if (first || enroll == NULL || token == NULL || pwfile != NULL || optind != argc) {
			fprintf(stderr, INIT_USAGE "  (--enroll joins a deployment with a token; --first makes its first node)\n");
			return 2;
		}
		return gh_cmd_enroll(c.config_path, enroll, token, fp, role);
	}
	if (!first || optind != argc) {
		fprintf(stderr, INIT_USAGE "  (--first makes a deployment's first node; other nodes join by enrolment)\n");
		return 2;
	}
	if (role != NULL && init_role(c.config_path, role) != 0)
		return 1;
	/* the whole file first: a mistake in any section stops init before it makes anything */
	c.cfg = gh_config_load(c.config_path, GH_COMP_ALL);
	if (c.cfg == NULL)
		return 1;
	gh_settings_free(c.cfg);
	gh_node_user_ensure();
	c.cfg = gh_config_load(c.config_path, GH_COMP_NODE);
	if (c.cfg == NULL)
		return 1;
	if (strncmp(gh_settings_str(c.cfg, "node.role"), "gateway-", 8) == 0) {
		fprintf(stderr, "gatehouse init: a gateway node cannot be a deployment's first node; "
		    "make a control-plane or all-in-one node first and enrol the gateway\n");
		goto out;
	}
	if (gh_node_secrets_check(c.cfg, c.config_path, "gatehouse init", 0) != 0)
		goto out;
	snprintf(c.pki_dir, sizeof(c.pki_dir), "%s/pki", gh_settings_str(c.cfg, "node.data_dir"));
	if (sv_mkdirs(c.pki_dir, 0700) != 0) {
		fprintf(stderr, "gatehouse init: %s: %s\n", c.pki_dir, strerror(errno));
		goto out;
	}
	if (step_pki(&c) != 0 || step_kek(&c, kek) != 0)
		goto out;
	if (gh_node_embedded_for_init(c.cfg, c.config_path) != 0)
		goto out;
	if (step_database(&c, kek) != 0 || step_ldap(&c, pwfile) != 0 || step_web_clients(&c, kek) != 0)
		goto out;
	if (gh_node_files_own(c.cfg, c.config_path) != 0)
		goto out;
	if (c.changes == 0)
		printf("gatehouse init: this node is already initialised; nothing changed\n");
	else
		printf("gatehouse init: done (%d change%s)\n", c.changes, c.changes == 1 ? "" : "s");
	rc = 0;
out:
	gh_node_embedded_done();
	explicit_bzero(kek, sizeof(kek));
	gh_settings_free(c.cfg);
	return rc;
}
