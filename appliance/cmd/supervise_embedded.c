/*
 * The all-in-one node's embedded PostgreSQL 15 and slapd, under
 * node.data_dir: made once (initdb; a generated cn=config whose suffix is
 * ldap.base_dn and whose root is ldap.bind_dn with ldap.bind_password),
 * owned by node.run_as, and started for a while by the commands that need
 * them while `gatehouse run` is not running (init, backup, restore).
 * PostgreSQL trusts only its own socket folder (the superuser postgres,
 * for the bootstrap); TCP logins need a password (scram-sha-256).
 */
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/node.h"
#include "cmd/supervise.h"
#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "pg/gh_pg.h"

#define SLAPADD_BIN "/usr/sbin/slapadd"
#define ARGON2_MODULE "/usr/lib/ldap/argon2.so"

void
sv_pg_dir(const struct sv_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s/pg", n->data_dir);
}

void
sv_slapd_dir(const struct sv_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s/slapd", n->data_dir);
}

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int
pg_prepare(struct sv_node *n)
{
	char dir[600], data[700], ver[720], log[720];
	const char *argv[] = { NULL, "-D", data, "-U", "postgres", "--auth-local=trust",
		"--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", NULL };
	char initdb[600];
	struct sv_cmd c = { 0 };

	sv_pg_dir(n, dir, sizeof(dir));
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(ver, sizeof(ver), "%s/PG_VERSION", data);
	if (exists(ver))
		return 0;
	snprintf(initdb, sizeof(initdb), "%s/initdb", gh_settings_str(n->cfg, "node.pg_bin"));
	argv[0] = initdb;
	snprintf(log, sizeof(log), "%s/initdb.log", dir);
	if (sv_mkdirs(dir, 0700) != 0 || sv_chown_tree(n, dir) != 0) {
		fprintf(stderr, "gatehouse: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	c.argv = argv;
	c.as_user = 1;
	c.cwd = dir;
	c.log_path = log;
	if (sv_cmd_run(n, &c) != 0) {
		fprintf(stderr, "gatehouse: initdb of the embedded PostgreSQL failed (see %s; every folder "
		    "above %s must be reachable by user %s)\n", log, dir, gh_settings_str(n->cfg, "node.run_as"));
		return -1;
	}
	printf("created   embedded PostgreSQL cluster %s\n", data);
	return 0;
}

/* {SSHA} of pw: base64(SHA1(pw || salt) || salt), malloc'd. */
static char *
ssha(const char *pw)
{
	unsigned char buf[20 + 8], salt[8];
	unsigned int len = 20;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *b64, *out = NULL;
	int ok;

	if (md == NULL || gh_random_bytes(salt, sizeof(salt)) != 0) {
		EVP_MD_CTX_free(md);
		return NULL;
	}
	ok = EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(md, pw, strlen(pw)) == 1 &&
	    EVP_DigestUpdate(md, salt, sizeof(salt)) == 1 && EVP_DigestFinal_ex(md, buf, &len) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return NULL;
	memcpy(buf + 20, salt, sizeof(salt));
	b64 = gh_b64_encode(buf, sizeof(buf));
	if (b64 != NULL && (out = malloc(strlen(b64) + 8)) != NULL)
		sprintf(out, "{SSHA}%s", b64);
	free(b64);
	return out;
}

/* The entry of the suffix base (dc=, o= or ou= first), as LDIF into f.  0 or -1. */
static int
base_entry(FILE *f, const char *base)
{
	char attr[16], val[256];
	const char *eq = strchr(base, '='), *comma;

	if (eq == NULL || eq - base >= (long)sizeof(attr))
		return -1;
	comma = strchr(eq, ',');
	snprintf(attr, sizeof(attr), "%.*s", (int)(eq - base), base);
	snprintf(val, sizeof(val), "%.*s", (int)(comma ? comma - eq - 1 : (long)strlen(eq + 1)), eq + 1);
	fprintf(f, "dn: %s\n", base);
	if (strcmp(attr, "dc") == 0)
		fprintf(f, "objectClass: dcObject\nobjectClass: organization\ndc: %s\no: %s\n", val, val);
	else if (strcmp(attr, "o") == 0)
		fprintf(f, "objectClass: organization\no: %s\n", val);
	else if (strcmp(attr, "ou") == 0)
		fprintf(f, "objectClass: organizationalUnit\nou: %s\n", val);
	else
		return -1;
	return 0;
}

static int
slapd_prepare(struct sv_node *n, int no_base)
{
	char dir[600], confd[700], db[700], ldif[700], log[700];
	const char *base = gh_settings_str(n->cfg, "ldap.base_dn");
	int argon = exists(ARGON2_MODULE), rc = -1;
	char *hash = NULL;
	FILE *f;

	sv_slapd_dir(n, dir, sizeof(dir));
	snprintf(confd, sizeof(confd), "%s/slapd.d", dir);
	if (exists(confd))
		return 0;
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(ldif, sizeof(ldif), "%s/config.ldif", dir);
	snprintf(log, sizeof(log), "%s/slapadd.log", dir);
	if (sv_mkdirs(dir, 0700) != 0 || sv_mkdirs(confd, 0700) != 0 || sv_mkdirs(db, 0700) != 0) {
		fprintf(stderr, "gatehouse: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	hash = ssha(gh_settings_str(n->cfg, "ldap.bind_password"));
	f = fopen(ldif, "w");
	if (hash == NULL || f == NULL)
		goto out;
	fchmod(fileno(f), 0600);
	fprintf(f, "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: %s/slapd.pid\n\n"
	    "dn: cn=module{0},cn=config\nobjectClass: olcModuleList\ncn: module{0}\n"
	    "olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\n%s\n"
	    "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n"
	    "include: file:///etc/ldap/schema/core.ldif\n\n"
	    "include: file:///etc/ldap/schema/cosine.ldif\n\n"
	    "include: file:///etc/ldap/schema/inetorgperson.ldif\n\n"
	    "include: file:///etc/ldap/schema/nis.ldif\n\n"
	    "dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\n"
	    "objectClass: olcFrontendConfig\nolcDatabase: {-1}frontend\n%s\n"
	    "dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\nolcDatabase: {0}config\n"
	    "olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth "
	    "manage by * none\n\n"
	    "dn: olcDatabase={1}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\n"
	    "olcDatabase: {1}mdb\nolcSuffix: %s\nolcRootDN: %s\nolcRootPW: %s\nolcDbDirectory: %s\n"
	    "olcDbMaxSize: 1073741824\nolcDbIndex: objectClass eq\nolcDbIndex: uid eq\n"
	    "olcDbIndex: member eq\n"
	    "olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none\n"
	    "olcAccess: {1}to * by self read by users read by * none\n",
	    dir, argon ? "olcModuleLoad: argon2\n" : "", argon ? "olcPasswordHash: {ARGON2}\n" : "",
	    base, gh_settings_str(n->cfg, "ldap.bind_dn"), hash, db);
	if (fclose(f) != 0)
		goto out;
	f = NULL;
	{
		const char *argv[] = { SLAPADD_BIN, "-n0", "-F", confd, "-l", ldif, NULL };
		struct sv_cmd c = { .argv = argv, .log_path = log };

		if (sv_cmd_run(n, &c) != 0) {
			fprintf(stderr, "gatehouse: slapadd of the embedded slapd's configuration failed (see %s)\n", log);
			goto out;
		}
	}
	if (!no_base) {
		char bl[700];
		const char *argv[] = { SLAPADD_BIN, "-n1", "-F", confd, "-l", bl, NULL };
		struct sv_cmd c = { .argv = argv, .log_path = log };

		snprintf(bl, sizeof(bl), "%s/base.ldif", dir);
		f = fopen(bl, "w");
		if (f == NULL || base_entry(f, base) != 0) {
			fprintf(stderr, "gatehouse: ldap.base_dn '%s' must start with dc=, o= or ou= for the "
			    "embedded slapd\n", base);
			goto out;
		}
		fclose(f);
		f = NULL;
		if (sv_cmd_run(n, &c) != 0) {
			fprintf(stderr, "gatehouse: slapadd of %s failed (see %s)\n", base, log);
			goto out;
		}
		unlink(bl);
	}
	if (sv_chown_tree(n, dir) != 0)
		goto out;
	printf("created   embedded slapd %s (suffix %s)\n", confd, base);
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	unlink(ldif);
	free(hash);
	if (rc != 0 && exists(confd)) {
		/* half made: the next try starts again */
		const char *argv[] = { "/bin/rm", "-rf", confd, NULL };
		struct sv_cmd c = { .argv = argv };
		sv_cmd_run(n, &c);
	}
	return rc;
}

int
sv_embedded_prepare(struct sv_node *n, int no_base)
{
	if (gh_settings_int(n->cfg, "node.embedded_db") && pg_prepare(n) != 0)
		return -1;
	if (gh_settings_int(n->cfg, "node.embedded_ldap") && slapd_prepare(n, no_base) != 0)
		return -1;
	return 0;
}

int
sv_pg_bootstrap(struct sv_node *n)
{
	char dir[600], ci[800], err[256], port[16];
	const char *user = gh_settings_str(n->cfg, "db.user"), *name = gh_settings_str(n->cfg, "db.name");
	const char *pw = gh_settings_str(n->cfg, "db.password");
	struct gh_pg *db;
	PGresult *r = NULL;
	int64_t one;
	int rc = -1, x;

	sv_pg_dir(n, dir, sizeof(dir));
	snprintf(port, sizeof(port), "%lld", gh_settings_int(n->cfg, "db.port"));
	snprintf(ci, sizeof(ci), "host='%s' port=%s user=postgres dbname=postgres", dir, port);
	db = gh_pg_connect(ci, err, sizeof(err));
	if (db == NULL) {
		fprintf(stderr, "gatehouse: embedded PostgreSQL: %s\n", err);
		return -1;
	}
	{
		const char *p[1] = { user };
		x = gh_pg_query_int64(db, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, p, &one);
	}
	if (x < 0)
		goto out;
	{
		const char *p[2] = { user, pw };
		r = gh_pg_exec(db, x == 0 ? "SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)" :
		    "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)", 2, p);
	}
	if (r == NULL || gh_pg_cmd(db, gh_pg_get(r, 0, 0), 0, NULL, NULL) != 0)
		goto out;
	if (x != 0)
		printf("created   database login %s\n", user);
	PQclear(r);
	r = NULL;
	{
		const char *p[1] = { name };
		x = gh_pg_query_int64(db, "SELECT 1 FROM pg_database WHERE datname = $1", 1, p, &one);
	}
	if (x < 0)
		goto out;
	if (x != 0) {
		const char *p[2] = { name, user };
		r = gh_pg_exec(db, "SELECT format('CREATE DATABASE %I OWNER %I', $1::text, $2::text)", 2, p);
		if (r == NULL || gh_pg_cmd(db, gh_pg_get(r, 0, 0), 0, NULL, NULL) != 0)
			goto out;
		printf("created   database %s\n", name);
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "gatehouse: embedded PostgreSQL: %s\n", gh_pg_errmsg(db));
	PQclear(r);
	gh_pg_close(db);
	return rc;
}

/* Wait for p to answer, or to exit.  0 when it answers. */
static int
wait_up(struct sv_node *n, struct sv_proc *p)
{
	int64_t end = sv_now_ms() + gh_settings_int(n->cfg, "node.start_timeout");
	int st;

	while (sv_now_ms() < end) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			fprintf(stderr, "gatehouse: the embedded %s exited during start-up (see %s)\n", p->name,
			    p->kind == SV_POSTGRES ? "pg/postgresql.log" : "slapd/slapd.log");
			p->pid = 0;
			sv_pidfile_remove(n, p->name);
			return -1;
		}
		if (sv_healthy(n, p))
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "gatehouse: the embedded %s did not answer within node.start_timeout\n", p->name);
	return -1;
}

int
sv_embedded_up(struct sv_node *n)
{
	for (size_t i = 0; i < n->n; i++) {
		struct sv_proc *p = &n->procs[i];
		char dir[600];

		if (p->kind == SV_DAEMON)
			continue;
		p->pid = 0;
		if (sv_pidfile_read(n, p->name) != 0 || sv_healthy(n, p))
			continue;      /* gatehouse run has it */
		if (p->kind == SV_POSTGRES)
			sv_pg_dir(n, dir, sizeof(dir));
		else
			sv_slapd_dir(n, dir, sizeof(dir));
		snprintf(p->log, sizeof(p->log), "%s/%s.log", dir, p->name);
		if (sv_spawn(n, p) != 0 || wait_up(n, p) != 0)
			goto fail;
	}
	if (sv_node_find(n, "postgresql") != NULL && sv_pg_bootstrap(n) != 0)
		goto fail;
	return 0;
fail:
	sv_embedded_down(n);
	return -1;
}

void
sv_embedded_down(struct sv_node *n)
{
	for (size_t i = n->n; i-- > 0;) {
		struct sv_proc *p = &n->procs[i];
		int64_t end = sv_now_ms() + gh_settings_int(n->cfg, "node.stop_timeout");
		int st;

		if (p->kind == SV_DAEMON || p->pid <= 0)
			continue;
		kill(p->pid, p->stop_sig);
		while (waitpid(p->pid, &st, WNOHANG) == 0) {
			if (sv_now_ms() > end) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &st, 0);
				break;
			}
			usleep(50000);
		}
		sv_pidfile_remove(n, p->name);
		p->pid = 0;
	}
}

static struct sv_node init_node;
static int init_up;

int
gh_node_embedded_for_init(const struct gh_settings *cfg, const char *config_path)
{
	if (!gh_settings_int(cfg, "node.embedded_db") && !gh_settings_int(cfg, "node.embedded_ldap"))
		return 0;
	if (sv_node_load(&init_node, config_path, "gatehouse init") != 0)
		return -1;
	if (sv_embedded_prepare(&init_node, 0) != 0 || sv_embedded_up(&init_node) != 0) {
		sv_node_free(&init_node);
		return -1;
	}
	init_up = 1;
	return 0;
}

void
gh_node_embedded_done(void)
{
	if (!init_up)
		return;
	sv_embedded_down(&init_node);
	sv_node_free(&init_node);
	init_up = 0;
}
