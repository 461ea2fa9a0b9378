/*
 * The node configuration table: one file per node, read by the gatehouse
 * command and by each component.  The table below is the contract of
 * that file; `gatehouse check-config --list` prints it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/node.h"
#include "core/gh_settings.h"

const struct gh_setting_def gh_node_settings[] = {
	{ "node.name", GH_SET_STR, "node1", 0, 0, NULL, 0,
	    "this node's name, unique in the deployment (certificate names)" },
	{ "node.role", GH_SET_ENUM, "all-in-one", 0, 0,
	    "all-in-one|control-plane|publisher|portal|keymanager|trafficmanager|gateway-internal|gateway-external",
	    0, "processes this node runs (DESIGN.md deployment patterns)" },
	{ "node.data_dir", GH_SET_PATH, "/var/lib/gatehouse", 0, 0, NULL, 0,
	    "certificates, keys and local state" },
	{ "node.hostnames", GH_SET_STR, "localhost,127.0.0.1", 0, 0, NULL, 0,
	    "comma-separated DNS names and addresses put in this node's certificates" },
	{ "db.host", GH_SET_STR, "127.0.0.1", 0, 0, NULL, 0, "PostgreSQL host or socket folder" },
	{ "db.port", GH_SET_PORT, "5432", 0, 0, NULL, 0, "PostgreSQL port" },
	{ "db.name", GH_SET_STR, "gatehouse", 0, 0, NULL, 0, "database name" },
	{ "db.user", GH_SET_STR, "gatehouse", 0, 0, NULL, 0, "database user" },
	{ "db.password", GH_SET_STR, NULL, 0, 0, NULL, GH_SET_SECRET, "database password" },
	{ "db.sslmode", GH_SET_ENUM, "prefer", 0, 0, "disable|prefer|require|verify-full", 0,
	    "libpq sslmode" },
	{ "ldap.uri", GH_SET_STR, "ldap://127.0.0.1:389", 0, 0, NULL, 0, "LDAP server URI" },
	{ "ldap.base_dn", GH_SET_STR, "dc=gatehouse", 0, 0, NULL, 0, "base of the directory tree" },
	{ "ldap.bind_dn", GH_SET_STR, "cn=admin,dc=gatehouse", 0, 0, NULL, 0, "service bind DN" },
	{ "ldap.bind_password", GH_SET_STR, NULL, 0, 0, NULL, GH_SET_SECRET, "service bind password" },
	{ "ldap.starttls", GH_SET_BOOL, "off", 0, 0, NULL, 0, "StartTLS on ldap:// URIs" },
	{ "ldap.ca_file", GH_SET_PATH, NULL, 0, 0, NULL, 0, "CA bundle for the LDAP server" },
	{ "keys.signing_kek", GH_SET_STR, NULL, 0, 0, NULL, GH_SET_SECRET,
	    "base64 key that encrypts token-signing keys (written by gatehouse init)" },
	{ "keys.token_alg", GH_SET_ENUM, "RS256", 0, 0, "RS256|ES256", 0,
	    "algorithm of access tokens" },
	{ "keymanager.public_url", GH_SET_URL, "https://localhost:9445", 0, 0, NULL, 0,
	    "issuer URL, the same on every key manager node" },
	{ "log.level", GH_SET_ENUM, "info", 0, 0, "debug|info|warn|error", 0, "minimum log level" },
	{ "http.max_header_bytes", GH_SET_SIZE, "16k", 1024, 1048576, NULL, 0,
	    "request line and headers (431 beyond)" },
	{ "http.max_headers", GH_SET_INT, "100", 1, 1000, NULL, 0, "header fields (431 beyond)" },
	{ "http.max_body_bytes", GH_SET_SIZE, "1m", 0, 1073741824LL, NULL, 0, "request body (413 beyond)" },
	{ "http.header_timeout", GH_SET_DURATION, "10s", 100, 300000, NULL, 0,
	    "time to receive a request's headers (408 beyond)" },
	{ "http.idle_timeout", GH_SET_DURATION, "60s", 100, 3600000, NULL, 0,
	    "idle keep-alive connections are closed after this" },
	{ "http.trusted_proxies", GH_SET_STR, "", 0, 0, NULL, 0,
	    "load-balancer addresses whose X-Forwarded-For is believed" },
	{ "feed.retention", GH_SET_DURATION, "7d", 60000, 365LL * 86400000, NULL, 0,
	    "how long the data feed keeps events" },
};

const size_t gh_node_settings_count = sizeof(gh_node_settings) / sizeof(gh_node_settings[0]);

struct gh_settings *
gh_node_config_load(const char *path)
{
	struct gh_settings *s = gh_settings_new(gh_node_settings, gh_node_settings_count);
	char *errors = NULL;
	int n;

	if (s == NULL)
		return NULL;
	n = gh_settings_load(s, path, &errors);
	if (n > 0) {
		fputs(errors, stderr);
		fprintf(stderr, "%s: %d error%s\n", path, n, n == 1 ? "" : "s");
		free(errors);
		gh_settings_free(s);
		return NULL;
	}
	return s;
}
