/*
 * gatehouse restore DIR [--config FILE]: bring a backup made by `gatehouse
 * backup` into a fresh node (node.data_dir missing or empty).  Every file
 * of the manifest is checked (size and SHA-256) before anything changes;
 * a damaged backup is refused whole.  FILE is the new node's configuration
 * (the backup's own is written there when FILE does not exist); it gets
 * the backup's keys.signing_kek (refused when it has another).  Then the
 * CA and certificates go to node.data_dir/pki, the directory is recreated
 * (slapadd into a new embedded slapd, or added under an external one's
 * empty ldap.base_dn, moved there from the backup's base when they
 * differ), the database is recreated (pg_restore into an
 * embedded cluster made for it, or into the configured empty database, in
 * one transaction) and brought to this version's schema.  When a step
 * fails, what was made on this node is removed again.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/node.h"
#include "cmd/supervise.h"
#include "core/gh_codec.h"
#include "pg/gh_pg.h"

struct rs {
	struct sv_node node;
	const char *dir, *config;
	struct json_object *manifest;
	struct gh_settings *bcfg;      /* the backup's configuration */
	int made_config, made_data, up;
};

static int
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static int
dir_empty(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *e;
	int empty = 1;

	if (d == NULL)
		return errno == ENOENT;
	while ((e = readdir(d)) != NULL)
		empty &= strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

static const char *
mstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

/* Check every file of the manifest and that the needed ones are there.  0 or -1 (printed). */
static int
verify(struct rs *r)
{
	static const char *const needed[] = { SV_DB_DUMP, SV_LDAP_LDIF, SV_CONFIG, SV_PKI "/ca.key",
		SV_PKI "/ca.crt" };
	char path[900];
	struct json_object *files;
	int bad = 0;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", r->dir, SV_MANIFEST);
	r->manifest = json_object_from_file(path);
	if (r->manifest == NULL || mstr(r->manifest, "format") == NULL ||
	    strcmp(mstr(r->manifest, "format"), "gatehouse-backup-1") != 0 ||
	    !json_object_object_get_ex(r->manifest, "files", &files) ||
	    !json_object_is_type(files, json_type_array)) {
		fprintf(stderr, "gatehouse restore: %s is missing or not a gatehouse backup manifest\n", path);
		return -1;
	}
	n = json_object_array_length(files);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(files, i), *b;
		const char *rel = mstr(e, "path"), *sum = mstr(e, "sha256");
		char hex[65];
		int64_t size;

		if (rel == NULL || sum == NULL || rel[0] == '/' || strstr(rel, "..") != NULL ||
		    !json_object_object_get_ex(e, "bytes", &b)) {
			fprintf(stderr, "gatehouse restore: the manifest's entry %zu is malformed\n", i);
			bad = 1;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", r->dir, rel);
		if (sv_file_sha256(path, hex, &size) != 0) {
			fprintf(stderr, "gatehouse restore: %s: %s\n", path, strerror(errno));
			bad = 1;
		} else if (strcmp(hex, sum) != 0 || size != json_object_get_int64(b)) {
			fprintf(stderr, "gatehouse restore: %s does not match its checksum in the manifest "
			    "(the backup is damaged or was changed)\n", path);
			bad = 1;
		}
	}
	for (size_t k = 0; k < sizeof(needed) / sizeof(needed[0]); k++) {
		int found = 0;

		for (size_t i = 0; i < n; i++)
			found |= mstr(json_object_array_get_idx(files, i), "path") != NULL &&
			    strcmp(mstr(json_object_array_get_idx(files, i), "path"), needed[k]) == 0;
		if (!found) {
			fprintf(stderr, "gatehouse restore: the backup has no %s\n", needed[k]);
			bad = 1;
		}
	}
	if (bad)
		fprintf(stderr, "gatehouse restore: refused; nothing was changed\n");
	return bad ? -1 : 0;
}

/* The target configuration: made from the backup's when missing; the backup's KEK in it. */
static int
config_prepare(struct rs *r)
{
	char path[900];
	const char *bkek, *kek;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", r->dir, SV_CONFIG);
	r->bcfg = gh_config_load(path, GH_COMP_ALL);
	if (r->bcfg == NULL)
		return -1;
	bkek = gh_settings_str(r->bcfg, "keys.signing_kek");
	if (bkek == NULL) {
		fprintf(stderr, "gatehouse restore: the backup's configuration has no keys.signing_kek: "
		    "its token-signing keys could not be opened\n");
		return -1;
	}
	if (!exists(r->config)) {
		if (sv_copy_file(path, r->config, 0600) != 0)
			return -1;
		r->made_config = 1;
		printf("created   %s (the backup's configuration)\n", r->config);
	}
	if (sv_node_load(&r->node, r->config, "gatehouse restore") != 0)
		return -1;
	kek = gh_settings_str(r->node.cfg, "keys.signing_kek");
	if (kek != NULL && strcmp(kek, bkek) != 0) {
		fprintf(stderr, "gatehouse restore: %s has another keys.signing_kek than the backup: remove "
		    "that line (the backup's key is needed to open its signing keys)\n", r->config);
		return -1;
	}
	if (kek == NULL) {
		if (chmod(r->config, 0600) != 0 || (f = fopen(r->config, "a")) == NULL) {
			fprintf(stderr, "gatehouse restore: %s: %s\n", r->config, strerror(errno));
			return -1;
		}
		fprintf(f, "\n# written by gatehouse restore: the backup's key of the token-signing keys\n"
		    "[keys]\nsigning_kek = %s\n", bkek);
		if (fclose(f) != 0)
			return -1;
		printf("updated   %s: keys.signing_kek from the backup\n", r->config);
		sv_node_free(&r->node);
		if (sv_node_load(&r->node, r->config, "gatehouse restore") != 0)
			return -1;
	}
	if (strncmp(r->node.role, "gateway-", 8) == 0) {
		fprintf(stderr, "gatehouse restore: %s is a gateway node's configuration; restore into a "
		    "control-plane or all-in-one node\n", r->config);
		return -1;
	}
	if (gh_settings_int(r->node.cfg, "node.embedded_ldap") && mstr(r->manifest, "ldap_base_dn") != NULL &&
	    strcasecmp(mstr(r->manifest, "ldap_base_dn"), gh_settings_str(r->node.cfg, "ldap.base_dn")) != 0) {
		fprintf(stderr, "gatehouse restore: the backup's directory is under %s but ldap.base_dn is %s\n",
		    mstr(r->manifest, "ldap_base_dn"), gh_settings_str(r->node.cfg, "ldap.base_dn"));
		return -1;
	}
	return gh_node_secrets_check(r->node.cfg, r->config, "gatehouse restore", 1);
}

static int
pki_restore(struct rs *r)
{
	char src[700], dst[700], s[1000], d[1000];
	DIR *dp;
	struct dirent *e;
	int rc = 0;

	snprintf(src, sizeof(src), "%s/%s", r->dir, SV_PKI);
	snprintf(dst, sizeof(dst), "%s/pki", r->node.data_dir);
	if (mkdir(r->node.data_dir, 0755) != 0 && errno != EEXIST)
		return -1;
	if (mkdir(dst, 0700) != 0) {
		fprintf(stderr, "gatehouse restore: %s: %s\n", dst, strerror(errno));
		return -1;
	}
	dp = opendir(src);
	if (dp == NULL)
		return -1;
	while (rc == 0 && (e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 5 || e->d_name[0] == '.')
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, e->d_name);
		snprintf(d, sizeof(d), "%s/%s", dst, e->d_name);
		rc = sv_copy_file(s, d, strcmp(e->d_name + l - 4, ".key") == 0 ? 0600 : 0644);
	}
	closedir(dp);
	if (rc == 0)
		printf("restored  the CA and the node's certificates into %s\n", dst);
	return rc;
}

/* Operational attributes an LDAP add refuses (slapcat writes them). */
static int
operational(const char *line)
{
	static const char *const ops[] = { "structuralObjectClass", "entryUUID", "creatorsName",
		"createTimestamp", "entryCSN", "modifiersName", "modifyTimestamp", "contextCSN",
		"hasSubordinates", "subschemaSubentry", "entryDN", "pwdChangedTime", NULL };

	for (size_t i = 0; ops[i] != NULL; i++) {
		size_t l = strlen(ops[i]);
		if (strncasecmp(line, ops[i], l) == 0 && line[l] == ':')
			return 1;
	}
	return 0;
}

/* ldapsearch/ldapadd through ldap.bind_dn; argument list head into argv.  Returns its length. */
static int
ldap_args(struct rs *r, const char *tool, const char *pwf, const char **argv)
{
	int k = 0;

	argv[k++] = tool;
	argv[k++] = "-x";
	argv[k++] = "-H";
	argv[k++] = gh_settings_str(r->node.cfg, "ldap.uri");
	argv[k++] = "-D";
	argv[k++] = gh_settings_str(r->node.cfg, "ldap.bind_dn");
	argv[k++] = "-y";
	argv[k++] = pwf;
	if (gh_settings_int(r->node.cfg, "ldap.starttls"))
		argv[k++] = "-ZZ";
	return k;
}

/*
 * The backup's directory under another base: a value "attr: X" whose DN X
 * is old_base or ends in ",old_base" (dn, member, ...) is written under
 * new_base into out (len bytes); other lines are copied.
 */
static void
rebase(const char *line, size_t len, char *out, const char *old_base, const char *new_base)
{
	const char *colon = strchr(line, ':');
	size_t ol = strlen(old_base), vl;
	const char *v;

	snprintf(out, len, "%s", line);
	if (colon == NULL || colon[1] != ' ' || strcasecmp(old_base, new_base) == 0)
		return;
	v = colon + 2;
	vl = strlen(v);
	if (vl < ol || strcasecmp(v + vl - ol, old_base) != 0 || (vl > ol && v[vl - ol - 1] != ','))
		return;
	snprintf(out, len, "%.*s%s", (int)(vl - ol + (size_t)(v - line)), line, new_base);
}

static int
ldap_restore_external(struct rs *r)
{
	const char *base = gh_settings_str(r->node.cfg, "ldap.base_dn");
	const char *pw = gh_settings_str(r->node.cfg, "ldap.bind_password");
	char pwf[900], out[900], in[900], ldif[900], *line = NULL, line_out[8192];
	const char *old_base = mstr(r->manifest, "ldap_base_dn");
	const char *argv[24];
	struct sv_cmd c = { 0 };
	int k, base_exists, rc = -1, skip = 0;
	size_t cap = 0;
	ssize_t len;
	FILE *f = NULL, *o = NULL;
	struct stat st;

	snprintf(pwf, sizeof(pwf), "%s/.restore-ldap.pw", r->node.data_dir);
	snprintf(out, sizeof(out), "%s/.restore-ldap.out", r->node.data_dir);
	snprintf(in, sizeof(in), "%s/.restore-ldap.ldif", r->node.data_dir);
	snprintf(ldif, sizeof(ldif), "%s/%s", r->dir, SV_LDAP_LDIF);
	f = fopen(pwf, "w");
	if (f == NULL || fchmod(fileno(f), 0600) != 0 || fputs(pw ? pw : "", f) < 0 || fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	/* the base entry, and whether anything is under it */
	k = ldap_args(r, "/usr/bin/ldapsearch", pwf, argv);
	argv[k++] = "-LLL";
	argv[k++] = "-b";
	argv[k++] = base;
	argv[k++] = "-s";
	argv[k++] = "base";
	argv[k++] = "dn";
	argv[k] = NULL;
	c.argv = argv;
	c.out_path = out;
	c.log_path = "/dev/null";
	base_exists = sv_cmd_run(&r->node, &c) == 0;
	argv[k - 2] = "one";
	if (base_exists && (sv_cmd_run(&r->node, &c) != 0 || stat(out, &st) != 0 || st.st_size > 0)) {
		fprintf(stderr, "gatehouse restore: the directory under %s is not empty: restore needs an "
		    "empty ldap.base_dn\n", base);
		goto out;
	}
	if (!base_exists && old_base != NULL && strcasecmp(old_base, base) != 0) {
		fprintf(stderr, "gatehouse restore: the backup's directory is under %s; to move it under %s, "
		    "create the entry %s first\n", old_base, base, base);
		goto out;
	}
	/* the export without operational attributes, and without the base entry when it exists */
	f = fopen(ldif, "r");
	o = fopen(in, "w");
	if (f == NULL || o == NULL || fchmod(fileno(o), 0600) != 0)
		goto out;
	while ((len = getline(&line, &cap, f)) != -1) {
		if (len <= 1) {
			if (!skip)
				fputc('\n', o);
			skip = 0;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (old_base != NULL)
			rebase(line, sizeof(line_out), line_out, old_base, base);
		else
			snprintf(line_out, sizeof(line_out), "%s", line);
		if (strncasecmp(line_out, "dn: ", 4) == 0)
			skip = base_exists && strcasecmp(line_out + 4, base) == 0;
		if (!skip && !operational(line_out))
			fprintf(o, "%s\n", line_out);
	}
	if (fclose(o) != 0) {
		o = NULL;
		goto out;
	}
	o = NULL;
	k = ldap_args(r, "/usr/bin/ldapadd", pwf, argv);
	argv[k++] = "-f";
	argv[k++] = in;
	argv[k] = NULL;
	c.out_path = "/dev/null";
	c.log_path = out;
	if (sv_cmd_run(&r->node, &c) != 0) {
		fprintf(stderr, "gatehouse restore: ldapadd under %s failed (see %s)\n", base, out);
		goto out;
	}
	unlink(out);
	printf("restored  the directory under %s\n", base);
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (o != NULL)
		fclose(o);
	free(line);
	unlink(pwf);
	unlink(in);
	return rc;
}

static int
ldap_restore_embedded(struct rs *r)
{
	char sd[600], confd[700], ldif[900], log[700];
	const char *argv[] = { "/usr/sbin/slapadd", "-n1", "-F", confd, "-l", ldif, NULL };
	struct sv_cmd c = { .argv = argv, .log_path = log };

	sv_slapd_dir(&r->node, sd, sizeof(sd));
	snprintf(confd, sizeof(confd), "%s/slapd.d", sd);
	snprintf(ldif, sizeof(ldif), "%s/%s", r->dir, SV_LDAP_LDIF);
	snprintf(log, sizeof(log), "%s/slapadd.log", sd);
	if (sv_cmd_run(&r->node, &c) != 0 || sv_chown_tree(&r->node, sd) != 0) {
		fprintf(stderr, "gatehouse restore: slapadd of the directory failed (see %s)\n", log);
		return -1;
	}
	printf("restored  the directory under %s (embedded slapd)\n", gh_settings_str(r->node.cfg, "ldap.base_dn"));
	return 0;
}

static int
db_restore(struct rs *r)
{
	char *ci = gh_pg_conninfo(r->node.cfg), err[256], pgr[600], dump[900], log[900], envbuf[2048];
	const char *env[8];
	const char *argv[] = { pgr, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
		"--no-password", "-d", gh_settings_str(r->node.cfg, "db.name"), dump, NULL };
	struct sv_cmd c = { .argv = argv, .env = env, .out_path = "/dev/null", .log_path = log };
	struct gh_pg *db = ci ? gh_pg_connect(ci, err, sizeof(err)) : NULL;
	int64_t ver = 0, tables = 0;
	int applied, rc = -1;

	if (db == NULL) {
		fprintf(stderr, "gatehouse restore: database: %s\n", ci ? err : "db.* settings too long");
		goto out;
	}
	if (gh_pg_schema_version(db, &ver) != 0 || gh_pg_query_int64(db,
	    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", 0, NULL, &tables) < 0)
		goto out;
	if (ver != 0 || tables != 0) {
		fprintf(stderr, "gatehouse restore: database %s is not empty (%lld tables, schema version %lld): "
		    "restore needs an empty database\n", gh_settings_str(r->node.cfg, "db.name"),
		    (long long)tables, (long long)ver);
		goto out;
	}
	snprintf(pgr, sizeof(pgr), "%s/pg_restore", gh_settings_str(r->node.cfg, "node.pg_bin"));
	snprintf(dump, sizeof(dump), "%s/%s", r->dir, SV_DB_DUMP);
	snprintf(log, sizeof(log), "%s/.pg_restore.log", r->node.data_dir);
	if (sv_pg_env(&r->node, envbuf, sizeof(envbuf), env) != 0)
		goto out;
	if (sv_cmd_run(&r->node, &c) != 0) {
		fprintf(stderr, "gatehouse restore: pg_restore failed (nothing of it was kept; see %s)\n", log);
		goto out;
	}
	unlink(log);
	applied = gh_pg_migrate_schema(db);
	if (applied < 0 || gh_pg_schema_version(db, &ver) != 0) {
		fprintf(stderr, "gatehouse restore: migrations: %s\n", gh_pg_errmsg(db));
		goto out;
	}
	printf("restored  the database %s (schema version %lld%s)\n", gh_settings_str(r->node.cfg, "db.name"),
	    (long long)ver, applied > 0 ? ", upgraded from the backup's" : "");
	rc = 0;
out:
	explicit_bzero(envbuf, sizeof(envbuf));
	if (rc != 0 && db != NULL && gh_pg_errmsg(db)[0] != '\0')
		fprintf(stderr, "gatehouse restore: %s\n", gh_pg_errmsg(db));
	gh_pg_close(db);
	if (ci != NULL)
		gh_free_secret(ci);
	return rc;
}

/* After a failure: take away what this run made on the node. */
static void
undo(struct rs *r)
{
	if (r->up)
		sv_embedded_down(&r->node);
	r->up = 0;
	if (r->made_data) {
		const char *argv[] = { "/bin/rm", "-rf", "--one-file-system", r->node.data_dir, NULL };
		struct sv_cmd c = { .argv = argv };

		sv_cmd_run(&r->node, &c);
		fprintf(stderr, "gatehouse restore: removed %s again\n", r->node.data_dir);
	}
	if (r->made_config) {
		unlink(r->config);
		fprintf(stderr, "gatehouse restore: removed %s again\n", r->config);
	}
}

static int
usage(void)
{
	fprintf(stderr, "usage: gatehouse restore DIR [--config FILE]\n");
	return 2;
}

int
gh_cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct rs r;
	int o, rc = 1;

	memset(&r, 0, sizeof(r));
	r.config = GH_CONFIG_DEFAULT;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (o != 'c')
			return usage();
		r.config = optarg;
	}
	if (optind != argc - 1)
		return usage();
	r.dir = argv[optind];
	umask(022);     /* the data folder must stay reachable by node.run_as; secrets get 0600 each */
	if (verify(&r) != 0)
		goto out;
	printf("gatehouse restore: %s verified (backup of node %s, %s, schema version %lld)\n", r.dir,
	    mstr(r.manifest, "node") ? mstr(r.manifest, "node") : "?", mstr(r.manifest, "created") ?
	    mstr(r.manifest, "created") : "?", (long long)json_object_get_int64(
	    json_object_object_get(r.manifest, "schema_version")));
	if (config_prepare(&r) != 0)
		goto fail;
	if (!dir_empty(r.node.data_dir)) {
		fprintf(stderr, "gatehouse restore: %s (node.data_dir) is not empty: restore needs a fresh "
		    "node\n", r.node.data_dir);
		goto fail;
	}
	r.made_data = 1;
	if (pki_restore(&r) != 0 || sv_embedded_prepare(&r.node, 1) != 0)
		goto fail;
	if (gh_settings_int(r.node.cfg, "node.embedded_ldap") && ldap_restore_embedded(&r) != 0)
		goto fail;
	if (sv_embedded_up(&r.node) != 0)
		goto fail;
	r.up = 1;
	if (!gh_settings_int(r.node.cfg, "node.embedded_ldap") && ldap_restore_external(&r) != 0)
		goto fail;
	if (db_restore(&r) != 0)
		goto fail;
	sv_embedded_down(&r.node);
	r.up = 0;
	if (gh_node_files_own(r.node.cfg, r.config) != 0)
		goto fail;
	printf("gatehouse restore: done; start the node with: gatehouse run --config %s\n", r.config);
	rc = 0;
	goto out;
fail:
	undo(&r);
	fprintf(stderr, "gatehouse restore: failed\n");
out:
	json_object_put(r.manifest);
	gh_settings_free(r.bcfg);
	sv_node_free(&r.node);
	return rc;
}
