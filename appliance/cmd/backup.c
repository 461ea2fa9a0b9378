/*
 * gatehouse backup DIR [--config FILE]: what a node needs to come back, as
 * DESIGN.md lists it — PostgreSQL (pg_dump custom format: one consistent
 * snapshot), the directory (slapcat of the embedded slapd, or an LDIF
 * export of an external one through ldap.bind_dn), the CA key and
 * certificate with the node's other certificates and keys, and the node's
 * configuration (which holds keys.signing_kek, the key that encrypts the
 * token-signing keys).  DIR is made 0700, every file 0600, and
 * manifest.json lists each file with its size and SHA-256, which
 * `gatehouse restore` checks before it changes anything.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/node.h"
#include "cmd/supervise.h"
#include "core/gh_codec.h"
#include "core/gh_service.h"
#include "pg/gh_pg.h"

int
sv_file_sha256(const char *path, char hex[65], int64_t *size)
{
	unsigned char buf[65536], md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok;
	ssize_t n;

	*size = 0;
	ok = fd >= 0 && c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
	while (ok && (n = read(fd, buf, sizeof(buf))) > 0) {
		ok = EVP_DigestUpdate(c, buf, (size_t)n) == 1;
		*size += n;
	}
	ok = ok && n == 0 && EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 32;
	if (ok)
		gh_hex_encode(md, 32, hex);
	EVP_MD_CTX_free(c);
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

int
sv_copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	ssize_t n = 0;

	if (in < 0) {
		fprintf(stderr, "gatehouse: %s: %s\n", src, strerror(errno));
		return -1;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0 || fchmod(out, mode) != 0)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto out;
	if (n == 0 && fsync(out) == 0)
		rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "gatehouse: copying %s to %s: %s\n", src, dst, strerror(errno));
	close(in);
	if (out >= 0)
		close(out);
	return rc;
}

int
sv_pg_env(const struct sv_node *n, char *buf, size_t len, const char *env[8])
{
	const char *names[] = { "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSSLMODE", "PGPASSWORD" };
	char port[16];
	const char *vals[6];
	size_t used = 0, k = 0;

	snprintf(port, sizeof(port), "%lld", gh_settings_int(n->cfg, "db.port"));
	vals[0] = gh_settings_str(n->cfg, "db.host");
	vals[1] = port;
	vals[2] = gh_settings_str(n->cfg, "db.name");
	vals[3] = gh_settings_str(n->cfg, "db.user");
	vals[4] = gh_settings_str(n->cfg, "db.sslmode");
	vals[5] = gh_settings_str(n->cfg, "db.password");
	for (size_t i = 0; i < 6; i++) {
		int w;

		if (vals[i] == NULL)
			continue;
		w = snprintf(buf + used, len - used, "%s=%s", names[i], vals[i]);
		if (w < 0 || (size_t)w >= len - used)
			return -1;
		env[k++] = buf + used;
		used += (size_t)w + 1;
	}
	env[k] = NULL;
	return 0;
}

/* Copy a helper's messages to our stderr. */
static void
show_file(const char *path)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
	unlink(path);
}

struct bk {
	struct sv_node node;
	char dir[600];
	struct json_object *files;
};

/* Record file rel (under the backup folder) in the manifest, mode 0600. */
static int
record(struct bk *b, const char *rel, const char *what)
{
	char path[900], hex[65];
	int64_t size;
	struct json_object *e;

	snprintf(path, sizeof(path), "%s/%s", b->dir, rel);
	if (chmod(path, 0600) != 0 || sv_file_sha256(path, hex, &size) != 0) {
		fprintf(stderr, "gatehouse backup: %s: %s\n", path, strerror(errno));
		return -1;
	}
	e = json_object_new_object();
	json_object_object_add(e, "path", json_object_new_string(rel));
	json_object_object_add(e, "what", json_object_new_string(what));
	json_object_object_add(e, "bytes", json_object_new_int64(size));
	json_object_object_add(e, "sha256", json_object_new_string(hex));
	json_object_array_add(b->files, e);
	printf("  %-28s %10lld bytes  %s\n", rel, (long long)size, what);
	return 0;
}

static int
dump_db(struct bk *b)
{
	char pgdump[600], out[700], log[700], envbuf[2048];
	const char *env[8];
	const char *argv[] = { pgdump, "--format=custom", "--no-password", NULL };
	struct sv_cmd c = { 0 };

	snprintf(pgdump, sizeof(pgdump), "%s/pg_dump", gh_settings_str(b->node.cfg, "node.pg_bin"));
	snprintf(out, sizeof(out), "%s/%s", b->dir, SV_DB_DUMP);
	snprintf(log, sizeof(log), "%s/.pg_dump.log", b->dir);
	if (sv_pg_env(&b->node, envbuf, sizeof(envbuf), env) != 0)
		return -1;
	c.argv = argv;
	c.env = env;
	c.out_path = out;
	c.log_path = log;
	if (sv_cmd_run(&b->node, &c) != 0) {
		fprintf(stderr, "gatehouse backup: pg_dump of %s failed:\n", gh_settings_str(b->node.cfg, "db.name"));
		show_file(log);
		return -1;
	}
	unlink(log);
	explicit_bzero(envbuf, sizeof(envbuf));
	return record(b, SV_DB_DUMP, "PostgreSQL, pg_dump custom format (one snapshot)");
}

/* Write the LDAP bind password to a 0600 file (ldapsearch -y reads it verbatim). */
static int
pw_file(const char *path, const char *pw)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t l = strlen(pw);
	int ok = fd >= 0 && write(fd, pw, l) == (ssize_t)l;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static int
dump_ldap(struct bk *b)
{
	char out[700], log[700];
	struct sv_cmd c = { 0 };
	int rc;

	snprintf(out, sizeof(out), "%s/%s", b->dir, SV_LDAP_LDIF);
	snprintf(log, sizeof(log), "%s/.ldap.log", b->dir);
	c.out_path = out;
	c.log_path = log;
	if (gh_settings_int(b->node.cfg, "node.embedded_ldap")) {
		char sd[600], confd[700];
		const char *argv[] = { "/usr/sbin/slapcat", "-n1", "-F", confd, "-o", "ldif-wrap=no", NULL };

		sv_slapd_dir(&b->node, sd, sizeof(sd));
		snprintf(confd, sizeof(confd), "%s/slapd.d", sd);
		c.argv = argv;
		c.as_user = 1;          /* mdb's lock file stays the slapd user's */
		rc = sv_cmd_run(&b->node, &c);
	} else {
		char pwf[700], cacert[700] = "";
		const char *env[2] = { NULL, NULL };
		const char *argv[20];
		int k = 0;

		snprintf(pwf, sizeof(pwf), "%s/.ldap.pw", b->dir);
		if (pw_file(pwf, gh_settings_str(b->node.cfg, "ldap.bind_password") ?
		    gh_settings_str(b->node.cfg, "ldap.bind_password") : "") != 0)
			return -1;
		argv[k++] = "/usr/bin/ldapsearch";
		argv[k++] = "-LLL";
		argv[k++] = "-x";
		argv[k++] = "-H";
		argv[k++] = gh_settings_str(b->node.cfg, "ldap.uri");
		argv[k++] = "-D";
		argv[k++] = gh_settings_str(b->node.cfg, "ldap.bind_dn");
		argv[k++] = "-y";
		argv[k++] = pwf;
		argv[k++] = "-o";
		argv[k++] = "ldif-wrap=no";
		if (gh_settings_int(b->node.cfg, "ldap.starttls"))
			argv[k++] = "-ZZ";
		argv[k++] = "-b";
		argv[k++] = gh_settings_str(b->node.cfg, "ldap.base_dn");
		argv[k++] = "(objectClass=*)";
		argv[k++] = "*";
		argv[k] = NULL;
		if (gh_settings_str(b->node.cfg, "ldap.ca_file") != NULL) {
			snprintf(cacert, sizeof(cacert), "LDAPTLS_CACERT=%s", gh_settings_str(b->node.cfg, "ldap.ca_file"));
			env[0] = cacert;
		}
		c.argv = argv;
		c.env = env;
		rc = sv_cmd_run(&b->node, &c);
		unlink(pwf);
	}
	if (rc != 0) {
		fprintf(stderr, "gatehouse backup: the directory export failed:\n");
		show_file(log);
		return -1;
	}
	unlink(log);
	return record(b, SV_LDAP_LDIF, gh_settings_int(b->node.cfg, "node.embedded_ldap") ?
	    "LDAP, slapcat of the embedded slapd" : "LDAP, LDIF export under ldap.base_dn");
}

static int
copy_pki(struct bk *b)
{
	char src[600], dir[700], s[1000], d[1000], rel[300];
	DIR *dp;
	struct dirent *e;
	int rc = 0, ca = 0;

	snprintf(src, sizeof(src), "%s/pki", b->node.data_dir);
	snprintf(dir, sizeof(dir), "%s/%s", b->dir, SV_PKI);
	if (mkdir(dir, 0700) != 0) {
		fprintf(stderr, "gatehouse backup: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	dp = opendir(src);
	if (dp == NULL) {
		fprintf(stderr, "gatehouse backup: %s: %s\n", src, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 5 || (strcmp(e->d_name + l - 4, ".key") != 0 && strcmp(e->d_name + l - 4, ".crt") != 0))
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, e->d_name);
		snprintf(d, sizeof(d), "%s/%s", dir, e->d_name);
		snprintf(rel, sizeof(rel), "%s/%s", SV_PKI, e->d_name);
		ca += strcmp(e->d_name, "ca.key") == 0 || strcmp(e->d_name, "ca.crt") == 0;
		rc = sv_copy_file(s, d, 0600) == 0 ? record(b, rel, strcmp(e->d_name, "ca.key") == 0 ?
		    "the internal CA's private key" : strcmp(e->d_name, "ca.crt") == 0 ?
		    "the internal CA's certificate" : "a component's certificate or key") : -1;
	}
	closedir(dp);
	if (rc == 0 && ca != 2) {
		fprintf(stderr, "gatehouse backup: %s holds no CA key and certificate: back up the "
		    "deployment's first node (the one made by gatehouse init --first)\n", src);
		rc = -1;
	}
	return rc;
}

static int
schema_version(struct bk *b, int64_t *v)
{
	char *ci = gh_pg_conninfo(b->node.cfg), err[256];
	struct gh_pg *db = ci ? gh_pg_connect(ci, err, sizeof(err)) : NULL;
	int rc = db != NULL && gh_pg_schema_version(db, v) == 0 ? 0 : -1;

	if (db == NULL)
		fprintf(stderr, "gatehouse backup: database: %s\n", ci ? err : "db.* settings too long");
	gh_pg_close(db);
	if (ci != NULL)
		gh_free_secret(ci);
	return rc;
}

static int
usage(void)
{
	fprintf(stderr, "usage: gatehouse backup DIR [--config FILE]\n");
	return 2;
}

int
gh_cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct bk b;
	const char *config = GH_CONFIG_DEFAULT;
	struct json_object *m = NULL;
	char path[900], when[32];
	int64_t ver = 0;
	time_t now = time(NULL);
	struct tm tm;
	int o, rc = 1, up = 0, made = 0;
	DIR *d;

	memset(&b, 0, sizeof(b));
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (o != 'c')
			return usage();
		config = optarg;
	}
	if (optind != argc - 1)
		return usage();
	snprintf(b.dir, sizeof(b.dir), "%s", argv[optind]);
	if (sv_node_load(&b.node, config, "gatehouse backup") != 0)
		return 1;
	if (strncmp(b.node.role, "gateway-", 8) == 0) {
		fprintf(stderr, "gatehouse backup: a gateway node holds no database or directory: back up "
		    "a control-plane or all-in-one node\n");
		goto out;
	}
	umask(077);
	if ((d = opendir(b.dir)) != NULL) {
		struct dirent *e;
		int empty = 1;

		while ((e = readdir(d)) != NULL)
			empty &= strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
		closedir(d);
		if (!empty) {
			fprintf(stderr, "gatehouse backup: %s is not empty: give a new folder\n", b.dir);
			goto out;
		}
	} else if (mkdir(b.dir, 0700) != 0) {
		fprintf(stderr, "gatehouse backup: %s: %s\n", b.dir, strerror(errno));
		goto out;
	}
	made = 1;
	if (chmod(b.dir, 0700) != 0)
		goto out;
	if (sv_embedded_up(&b.node) != 0)
		goto out;
	up = 1;
	b.files = json_object_new_array();
	printf("gatehouse backup: node %s (%s) into %s\n", gh_settings_str(b.node.cfg, "node.name"),
	    b.node.role, b.dir);
	/* the directory first: an entry added meanwhile without its row is harmless (sign-up) */
	if (dump_ldap(&b) != 0 || dump_db(&b) != 0 || schema_version(&b, &ver) != 0 || copy_pki(&b) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", b.dir, SV_CONFIG);
	if (sv_copy_file(config, path, 0600) != 0 ||
	    record(&b, SV_CONFIG, "the node's configuration, with keys.signing_kek") != 0)
		goto out;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	m = json_object_new_object();
	json_object_object_add(m, "format", json_object_new_string("gatehouse-backup-1"));
	json_object_object_add(m, "gatehouse", json_object_new_string(GH_VERSION));
	json_object_object_add(m, "created", json_object_new_string(when));
	json_object_object_add(m, "node", json_object_new_string(gh_settings_str(b.node.cfg, "node.name")));
	json_object_object_add(m, "role", json_object_new_string(b.node.role));
	json_object_object_add(m, "schema_version", json_object_new_int64(ver));
	json_object_object_add(m, "ldap_base_dn", json_object_new_string(gh_settings_str(b.node.cfg, "ldap.base_dn")));
	json_object_object_add(m, "ldap_export", json_object_new_string(
	    gh_settings_int(b.node.cfg, "node.embedded_ldap") ? "slapcat" : "ldapsearch"));
	json_object_object_add(m, "files", b.files);
	b.files = NULL;
	snprintf(path, sizeof(path), "%s/%s", b.dir, SV_MANIFEST);
	if (json_object_to_file_ext(path, m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) != 0 ||
	    chmod(path, 0600) != 0) {
		fprintf(stderr, "gatehouse backup: %s: %s\n", path, strerror(errno));
		goto out;
	}
	printf("gatehouse backup: done (schema version %lld); %s lists every file with its SHA-256\n",
	    (long long)ver, SV_MANIFEST);
	rc = 0;
out:
	if (rc != 0 && made)
		fprintf(stderr, "gatehouse backup: failed; %s is incomplete, delete it\n", b.dir);
	json_object_put(m);
	json_object_put(b.files);
	if (up)
		sv_embedded_down(&b.node);
	sv_node_free(&b.node);
	return rc;
}
