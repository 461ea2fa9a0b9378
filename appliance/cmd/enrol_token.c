/*
 * gatehouse enrolment-token --role ROLE [--environment ENV]
 * [--expires-in SECONDS] [--config FILE]: issue an enrolment token on the
 * deployment's first node, straight into the database.  This is how the
 * first key-manager node of a fully distributed deployment is enrolled:
 * the admin API (/api/am/admin/v4/enrolment-tokens) needs a management
 * token, and so a key manager, which does not exist yet.  Only the node
 * that holds the CA key may do it.  The token is printed once; only its
 * SHA-256 is stored, exactly as the admin API stores its own.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/node.h"
#include "core/gh_codec.h"
#include "core/gh_config.h"
#include "core/gh_pki.h"
#include "pg/gh_pg.h"

#define USAGE "usage: gatehouse enrolment-token --role ROLE [--environment ENV] [--expires-in SECONDS] " \
	"[--config FILE]\n"

static const char *const roles[] = { "all-in-one", "control-plane", "publisher", "portal", "keymanager",
	"trafficmanager", "gateway-internal", "gateway-external", NULL };

/* The SHA-256 fingerprint (hex) of the PEM certificate in path.  0, or -1 after printing why. */
static int
file_fingerprint(const char *path, char fp[65])
{
	FILE *f = fopen(path, "r");
	char buf[16384];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "gatehouse enrolment-token: %s: cannot read it (run gatehouse init --first)\n", path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (gh_pki_fingerprint_pem(buf, fp) != 0) {
		fprintf(stderr, "gatehouse enrolment-token: %s: not a PEM certificate\n", path);
		return -1;
	}
	return 0;
}

int
gh_cmd_enrolment_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' }, { "environment", required_argument, NULL, 'e' },
		{ "expires-in", required_argument, NULL, 'x' }, { "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = GH_CONFIG_DEFAULT, *role = NULL, *env = NULL, *dir;
	long expires = 3600;
	struct gh_settings *cfg = NULL;
	struct gh_pg *db = NULL;
	PGresult *res = NULL;
	char *ci = NULL, *token = NULL, *end, path[600], fp[65], hash[65], exp[24], err[256];
	int opt, known = 0, gateway, rc = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': role = optarg; break;
		case 'e': env = optarg; break;
		case 'c': config = optarg; break;
		case 'x':
			expires = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || expires < 60 || expires > 86400) {
				fprintf(stderr, "gatehouse enrolment-token: --expires-in takes 60 to 86400 seconds\n");
				return 2;
			}
			break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	for (size_t i = 0; role != NULL && roles[i] != NULL; i++)
		known |= strcmp(role, roles[i]) == 0;
	if (optind != argc || !known) {
		fprintf(stderr, USAGE "  ROLE: all-in-one, control-plane, publisher, portal, keymanager, "
		    "trafficmanager, gateway-internal or gateway-external\n");
		return 2;
	}
	gateway = strncmp(role, "gateway-", 8) == 0;
	if (gateway != (env != NULL)) {
		fprintf(stderr, "gatehouse enrolment-token: %s\n", gateway ? "--environment (the gateway "
		    "environment the node will serve) is required for a gateway role" :
		    "--environment is only for gateway roles");
		return 2;
	}
	if ((cfg = gh_config_load(config, GH_COMP_NODE)) == NULL)
		return 1;
	dir = gh_settings_str(cfg, "node.data_dir");
	snprintf(path, sizeof(path), "%s/pki/ca.key", dir);
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "gatehouse enrolment-token: %s: this node holds no CA key; issue tokens on the "
		    "deployment's first node, or with the admin API\n", path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/pki/ca.crt", dir);
	if (file_fingerprint(path, fp) != 0)
		goto out;
	if ((ci = gh_pg_conninfo(cfg)) == NULL || (db = gh_pg_connect(ci, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatehouse enrolment-token: database: %s\n", ci ? err : "no settings");
		goto out;
	}
	if (gateway) {
		const char *q[1] = { env };
		const char *want = strcmp(role, "gateway-external") == 0 ? "external" : "internal";

		res = gh_pg_exec(db, "SELECT type FROM gh_environments WHERE name = $1", 1, q);
		if (res == NULL || gh_pg_nrows(res) != 1 || strcmp(gh_pg_get(res, 0, 0), want) != 0) {
			fprintf(stderr, "gatehouse enrolment-token: %s: no %s gateway environment of that name\n",
			    env, want);
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	token = gh_enrol_token_new(fp);
	if (token == NULL || gh_sha256_hex(token, strlen(token), hash) != 0)
		goto out;
	{
		const char *q[5] = { hash, role, env, "gatehouse enrolment-token", gh_pg_i64(exp, expires) };

		res = gh_pg_exec(db, "INSERT INTO gh_enrolment_tokens (id, hash, role, environment, created_by, "
		    "expires_at) VALUES (gen_random_uuid()::text, $1, $2, $3, $4, "
		    "now() + make_interval(secs => $5::int)) RETURNING id", 5, q);
	}
	if (res == NULL || gh_pg_nrows(res) != 1) {
		fprintf(stderr, "gatehouse enrolment-token: database: the token could not be stored\n");
		goto out;
	}
	printf("token           %s\nrole            %s%s%s\nexpires in      %ld s\nca fingerprint  sha256:%s\n"
	    "enrol with      gatehouse init --enroll https://THIS-NODE:FEED-PORT --token TOKEN\n",
	    token, role, env ? " " : "", env ? env : "", expires, fp);
	rc = 0;
out:
	if (res != NULL)
		PQclear(res);
	gh_pg_close(db);
	if (token != NULL)
		gh_free_secret(token);
	if (ci != NULL)
		gh_free_secret(ci);
	gh_settings_free(cfg);
	return rc;
}
