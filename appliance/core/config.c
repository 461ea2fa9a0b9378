/*
 * The settings tables of every binary, and the loader of the node's one
 * configuration file.  Each binary reads the node table plus its own
 * (component settings are named COMPONENT.*); the others' names are
 * skipped as foreign.  `gatehouse check-config` validates against all of
 * them; `--list` prints them.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_config.h"

static const struct gh_setting_def node_settings[] = {
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
	{ "node.run_as", GH_SET_STR, "gatehouse", 0, 0, NULL, 0,
	    "user the daemons switch to after binding their ports (when started as root); "
	    "the default is nobody where no user gatehouse exists (gatehouse init makes it)" },
	{ "node.embedded_db", GH_SET_BOOL, "off", 0, 0, NULL, 0,
	    "all-in-one: PostgreSQL under node.data_dir/pg on db.host:db.port, made by gatehouse "
	    "init and started and stopped by gatehouse run (db.user and db.password are its login)" },
	{ "node.embedded_ldap", GH_SET_BOOL, "off", 0, 0, NULL, 0,
	    "all-in-one: slapd under node.data_dir/slapd on ldap.uri, made by gatehouse init and "
	    "started and stopped by gatehouse run (ldap.bind_dn and bind_password are its root)" },
	{ "node.pg_bin", GH_SET_PATH, "/usr/lib/postgresql/15/bin", 0, 0, NULL, 0,
	    "PostgreSQL's programs (postgres, initdb, pg_dump, pg_restore)" },
	{ "node.log_dir", GH_SET_PATH, NULL, 0, 0, NULL, 0,
	    "gatehouse run writes each process's log to LOG_DIR/NAME.log (default: its own stderr, "
	    "the journal under systemd)" },
	{ "node.without", GH_SET_STR, "", 0, 0, NULL, 0,
	    "processes of the role this node does not run, comma-separated (e.g. trafficmanager on "
	    "the second all-in-one node of an active/active pair)" },
	{ "node.start_timeout", GH_SET_DURATION, "60s", 1000, 3600000, NULL, 0,
	    "gatehouse run: how long a process may take to answer /health" },
	{ "node.stop_timeout", GH_SET_DURATION, "30s", 1000, 3600000, NULL, 0,
	    "gatehouse run: how long a process may take to stop before SIGKILL" },
	{ "cluster.keymanager_url", GH_SET_URL, "https://localhost:9445", 0, 0, NULL, 0,
	    "the key manager's public URL: token issuer and JWKS (equals keymanager.public_url)" },
	{ "cluster.keymanager_internal_url", GH_SET_URL, "https://localhost:9447", 0, 0, NULL, 0,
	    "the key manager's internal API (mutual TLS)" },
	{ "cluster.feed_url", GH_SET_URL, "https://localhost:9446", 0, 0, NULL, 0,
	    "the publisher's data feed (mutual TLS)" },
	{ "cluster.trafficmanager_url", GH_SET_STR, "https://localhost:9611", 0, 0, NULL, 0,
	    "the traffic manager (mutual TLS): cluster-wide throttling and analytics ('none': "
	    "each gateway counts alone and keeps its analytics spool)" },
};

static const struct gh_setting_def keymanager_settings[] = {
	{ "keymanager.listen", GH_SET_STR, "0.0.0.0", 0, 0, NULL, 0, "address of the public and internal ports" },
	{ "keymanager.port", GH_SET_PORT, "9445", 0, 0, NULL, 0, "public OAuth2 port (HTTPS)" },
	{ "keymanager.internal_port", GH_SET_PORT, "9447", 0, 0, NULL, 0, "internal API port (HTTPS, mutual TLS)" },
	{ "keymanager.mgmt_listen", GH_SET_STR, "127.0.0.1", 0, 0, NULL, 0, "address of the management port" },
	{ "keymanager.mgmt_port", GH_SET_PORT, "19445", 0, 0, NULL, 0, "management port (/health, /metrics)" },
	{ "keymanager.public_url", GH_SET_URL, "https://localhost:9445", 0, 0, NULL, 0,
	    "issuer URL, the same on every key manager node" },
	{ "keymanager.workers", GH_SET_INT, "4", 1, 64, NULL, 0, "worker threads (database, LDAP, signing)" },
	{ "keymanager.access_token_ttl", GH_SET_DURATION, "1h", 1000, 86400000LL * 365, NULL, 0, "access token lifetime" },
	{ "keymanager.refresh_token_ttl", GH_SET_DURATION, "1d", 1000, 86400000LL * 365, NULL, 0, "refresh token lifetime" },
	{ "keymanager.code_ttl", GH_SET_DURATION, "5m", 1000, 3600000, NULL, 0, "authorization code lifetime" },
	{ "keymanager.lockout_failures", GH_SET_INT, "5", 1, 1000, NULL, 0,
	    "failures within the window that lock a client, user or address out" },
	{ "keymanager.lockout_window", GH_SET_DURATION, "5m", 1000, 86400000, NULL, 0, "window counting failures" },
	{ "keymanager.lockout_duration", GH_SET_DURATION, "15m", 1000, 86400000, NULL, 0, "how long a lock-out lasts" },
};

static const struct gh_setting_def publisher_settings[] = {
	{ "publisher.listen", GH_SET_STR, "0.0.0.0", 0, 0, NULL, 0, "address of the REST and feed ports" },
	{ "publisher.port", GH_SET_PORT, "9443", 0, 0, NULL, 0,
	    "publisher and admin REST API, web console (HTTPS)" },
	{ "publisher.feed_port", GH_SET_PORT, "9446", 0, 0, NULL, 0,
	    "gateway data feed and enrolment (HTTPS, mutual TLS except enrolment)" },
	{ "publisher.mgmt_listen", GH_SET_STR, "127.0.0.1", 0, 0, NULL, 0, "address of the management port" },
	{ "publisher.mgmt_port", GH_SET_PORT, "19443", 0, 0, NULL, 0, "management port (/health, /metrics)" },
	{ "publisher.workers", GH_SET_INT, "4", 1, 64, NULL, 0, "worker threads (database)" },
	{ "publisher.max_revisions", GH_SET_INT, "5", 1, 100, NULL, 0, "revisions kept per API" },
	{ "publisher.feed_poll_timeout", GH_SET_DURATION, "30s", 100, 300000, NULL, 0,
	    "longest wait of an events long-poll" },
};

static const struct gh_setting_def portal_settings[] = {
	{ "portal.listen", GH_SET_STR, "0.0.0.0", 0, 0, NULL, 0, "address of the REST port" },
	{ "portal.port", GH_SET_PORT, "9444", 0, 0, NULL, 0, "DevPortal REST API and web UI (HTTPS)" },
	{ "portal.mgmt_listen", GH_SET_STR, "127.0.0.1", 0, 0, NULL, 0, "address of the management port" },
	{ "portal.mgmt_port", GH_SET_PORT, "19444", 0, 0, NULL, 0, "management port (/health, /metrics)" },
	{ "portal.workers", GH_SET_INT, "4", 1, 64, NULL, 0, "worker threads (database, LDAP)" },
	{ "portal.sites", GH_SET_STR, "*=*", 0, 0, NULL, 0,
	    "sites by host name and the environments each lists: "
	    "'portal.example.com=External; *=Internal,External' ('*' any host, any environment)" },
};

static const struct gh_setting_def trafficmanager_settings[] = {
	{ "trafficmanager.listen", GH_SET_STR, "0.0.0.0", 0, 0, NULL, 0,
	    "address of the gateway-facing port" },
	{ "trafficmanager.port", GH_SET_PORT, "9611", 0, 0, NULL, 0,
	    "throttle sync and analytics events from gateways (HTTPS, mutual TLS)" },
	{ "trafficmanager.mgmt_listen", GH_SET_STR, "127.0.0.1", 0, 0, NULL, 0, "address of the management port" },
	{ "trafficmanager.mgmt_port", GH_SET_PORT, "19611", 0, 0, NULL, 0, "management port (/health, /metrics)" },
	{ "trafficmanager.workers", GH_SET_INT, "2", 1, 64, NULL, 0, "worker threads (database writes)" },
	{ "trafficmanager.retention", GH_SET_DURATION, "30d", 60000, 3650LL * 86400000, NULL, 0,
	    "analytics events and rollups older than this are dropped" },
	{ "trafficmanager.max_batch_bytes", GH_SET_SIZE, "8m", 1024, 268435456LL, NULL, 0,
	    "largest analytics batch or sync body accepted (413 beyond)" },
};

static const struct gh_setting_def gw_internal_settings[] = {
	{ "gw-internal.environment", GH_SET_STR, "Internal", 0, 0, NULL, 0,
	    "the gateway environment this node serves (one of the publisher's environments, of type internal)" },
	{ "gw-internal.listen", GH_SET_STR, "0.0.0.0", 0, 0, NULL, 0, "address of the public listeners" },
	{ "gw-internal.https_port", GH_SET_PORT, "8244", 0, 0, NULL, 0, "public HTTPS port" },
	{ "gw-internal.mgmt_listen", GH_SET_STR, "127.0.0.1", 0, 0, NULL, 0, "address of the management port" },
	{ "gw-internal.mgmt_port", GH_SET_PORT, "18244", 0, 0, NULL, 0, "management port (/health, /metrics, /jwks)" },
	{ "gw-internal.workers", GH_SET_INT, "0", 0, 256, NULL, 0, "worker threads (0: one per core)" },
	{ "gw-internal.tls_cert", GH_SET_PATH, NULL, 0, 0, NULL, 0,
	    "certificate of the public listener (default: the node's gw-internal certificate)" },
	{ "gw-internal.tls_key", GH_SET_PATH, NULL, 0, 0, NULL, GH_SET_SECRET, "its private key" },
	{ "gw-internal.trusted_proxies", GH_SET_STR, "", 0, 0, NULL, 0,
	    "load-balancer addresses or CIDR blocks whose X-Forwarded-For is believed" },
	{ "gw-internal.max_header_bytes", GH_SET_SIZE, "16k", 1024, 1048576, NULL, 0, "request line and headers (431 beyond)" },
	{ "gw-internal.max_body_bytes", GH_SET_SIZE, "10m", 0, 1073741824LL, NULL, 0,
	    "request body unless the API sets maxRequestBodyBytes (413 beyond)" },
	{ "gw-internal.header_timeout", GH_SET_DURATION, "10s", 100, 300000, NULL, 0, "time to receive the headers (408)" },
	{ "gw-internal.idle_timeout", GH_SET_DURATION, "60s", 100, 3600000, NULL, 0, "idle keep-alive connections closed after" },
	{ "gw-internal.upstream_connect_timeout", GH_SET_DURATION, "5s", 10, 300000, NULL, 0, "backend connect timeout (504)" },
	{ "gw-internal.upstream_timeout", GH_SET_DURATION, "60s", 10, 3600000, NULL, 0, "backend response timeout (504)" },
	{ "gw-internal.upstream_eject", GH_SET_DURATION, "10s", 100, 3600000, NULL, 0,
	    "how long a failing endpoint is left out" },
	{ "gw-internal.token_cache_entries", GH_SET_INT, "100000", 0, 100000000, NULL, 0,
	    "verified tokens kept per node (bounds memory)" },
	{ "gw-internal.introspect_cache", GH_SET_DURATION, "60s", 0, 3600000, NULL, 0, "opaque tokens' introspection kept for" },
	{ "gw-internal.auth_failures_per_min", GH_SET_INT, "600", 1, 10000000, NULL, 0,
	    "failed authentications per client address per minute before 429" },
	{ "gw-internal.jwks_url", GH_SET_URL, NULL, 0, 0, NULL, 0,
	    "the key manager's JWKS as this gateway reaches it (a DMZ gateway through its own route "
	    "to the LAN; default: the URL the data feed announces, from the key manager's public_url)" },
	{ "gw-internal.snapshot_file", GH_SET_PATH, NULL, 0, 0, NULL, 0,
	    "last feed snapshot on disk (default: node.data_dir/gw-internal-snapshot.json)" },
	{ "gw-internal.spool_dir", GH_SET_PATH, NULL, 0, 0, NULL, 0,
	    "analytics spool folder (default: node.data_dir/spool-gw-internal)" },
	{ "gw-internal.sync_interval", GH_SET_DURATION, "100ms", 10, 10000, NULL, 0,
	    "how often throttling counter deltas go to the traffic manager" },
	{ "gw-internal.analytics_batch", GH_SET_INT, "1000", 1, 100000, NULL, 0,
	    "analytics events per batch shipped to the traffic manager" },
	{ "gw-internal.analytics_interval", GH_SET_DURATION, "1s", 10, 600000, NULL, 0,
	    "how often the analytics spool is shipped to the traffic manager" },
	{ "gw-internal.access_log", GH_SET_BOOL, "on", 0, 0, NULL, 0, "one JSON access-log line per request (stderr)" },
	{ "gw-internal.http_port", GH_SET_INT, "8281", 0, 65535, NULL, 0, "plain-HTTP port (0: none)" },
	{ "gw-internal.basic_cache", GH_SET_DURATION, "30s", 0, 3600000, NULL, 0,
	    "a successful Basic login is remembered (salted hash) for" },
};

static const struct gh_setting_def gw_external_settings[] = {
	{ "gw-external.environment", GH_SET_STR, "External", 0, 0, NULL, 0,
	    "the gateway environment this node serves (one of the publisher's environments, of type external)" },
	{ "gw-external.listen", GH_SET_STR, "0.0.0.0", 0, 0, NULL, 0, "address of the public listeners" },
	{ "gw-external.https_port", GH_SET_PORT, "8243", 0, 0, NULL, 0, "public HTTPS port" },
	{ "gw-external.mgmt_listen", GH_SET_STR, "127.0.0.1", 0, 0, NULL, 0, "address of the management port" },
	{ "gw-external.mgmt_port", GH_SET_PORT, "18243", 0, 0, NULL, 0, "management port (/health, /metrics, /jwks)" },
	{ "gw-external.workers", GH_SET_INT, "0", 0, 256, NULL, 0, "worker threads (0: one per core)" },
	{ "gw-external.tls_cert", GH_SET_PATH, NULL, 0, 0, NULL, 0,
	    "certificate of the public listener (default: the node's gw-external certificate)" },
	{ "gw-external.tls_key", GH_SET_PATH, NULL, 0, 0, NULL, GH_SET_SECRET, "its private key" },
	{ "gw-external.trusted_proxies", GH_SET_STR, "", 0, 0, NULL, 0,
	    "load-balancer addresses or CIDR blocks whose X-Forwarded-For is believed" },
	{ "gw-external.max_header_bytes", GH_SET_SIZE, "8k", 1024, 1048576, NULL, 0, "request line and headers (431 beyond)" },
	{ "gw-external.max_body_bytes", GH_SET_SIZE, "1m", 0, 1073741824LL, NULL, 0,
	    "request body unless the API sets maxRequestBodyBytes (413 beyond)" },
	{ "gw-external.header_timeout", GH_SET_DURATION, "5s", 100, 300000, NULL, 0, "time to receive the headers (408)" },
	{ "gw-external.idle_timeout", GH_SET_DURATION, "30s", 100, 3600000, NULL, 0, "idle keep-alive connections closed after" },
	{ "gw-external.upstream_connect_timeout", GH_SET_DURATION, "5s", 10, 300000, NULL, 0, "backend connect timeout (504)" },
	{ "gw-external.upstream_timeout", GH_SET_DURATION, "60s", 10, 3600000, NULL, 0, "backend response timeout (504)" },
	{ "gw-external.upstream_eject", GH_SET_DURATION, "10s", 100, 3600000, NULL, 0,
	    "how long a failing endpoint is left out" },
	{ "gw-external.token_cache_entries", GH_SET_INT, "100000", 0, 100000000, NULL, 0,
	    "verified tokens kept per node (bounds memory)" },
	{ "gw-external.introspect_cache", GH_SET_DURATION, "60s", 0, 3600000, NULL, 0, "opaque tokens' introspection kept for" },
	{ "gw-external.auth_failures_per_min", GH_SET_INT, "600", 1, 10000000, NULL, 0,
	    "failed authentications per client address per minute before 429" },
	{ "gw-external.jwks_url", GH_SET_URL, NULL, 0, 0, NULL, 0,
	    "the key manager's JWKS as this gateway reaches it (a DMZ gateway through its own route "
	    "to the LAN; default: the URL the data feed announces, from the key manager's public_url)" },
	{ "gw-external.snapshot_file", GH_SET_PATH, NULL, 0, 0, NULL, 0,
	    "last feed snapshot on disk (default: node.data_dir/gw-external-snapshot.json)" },
	{ "gw-external.spool_dir", GH_SET_PATH, NULL, 0, 0, NULL, 0,
	    "analytics spool folder (default: node.data_dir/spool-gw-external)" },
	{ "gw-external.sync_interval", GH_SET_DURATION, "100ms", 10, 10000, NULL, 0,
	    "how often throttling counter deltas go to the traffic manager" },
	{ "gw-external.analytics_batch", GH_SET_INT, "1000", 1, 100000, NULL, 0,
	    "analytics events per batch shipped to the traffic manager" },
	{ "gw-external.analytics_interval", GH_SET_DURATION, "1s", 10, 600000, NULL, 0,
	    "how often the analytics spool is shipped to the traffic manager" },
	{ "gw-external.access_log", GH_SET_BOOL, "on", 0, 0, NULL, 0, "one JSON access-log line per request (stderr)" },
	{ "gw-external.geoip_db", GH_SET_PATH, NULL, 0, 0, NULL, 0,
	    "MaxMind country database for per-API geoRestriction (reloaded on SIGHUP)" },
};

static const struct {
	const struct gh_setting_def *defs;
	size_t n;
	const char *prefix;
} tables[GH_COMP_COUNT] = {
	[GH_COMP_NODE] = { node_settings, sizeof(node_settings) / sizeof(node_settings[0]), NULL },
	[GH_COMP_KEYMANAGER] = { keymanager_settings,
	    sizeof(keymanager_settings) / sizeof(keymanager_settings[0]), "keymanager." },
	[GH_COMP_PUBLISHER] = { publisher_settings,
	    sizeof(publisher_settings) / sizeof(publisher_settings[0]), "publisher." },
	[GH_COMP_PORTAL] = { portal_settings,
	    sizeof(portal_settings) / sizeof(portal_settings[0]), "portal." },
	[GH_COMP_GW_INTERNAL] = { gw_internal_settings,
	    sizeof(gw_internal_settings) / sizeof(gw_internal_settings[0]), "gw-internal." },
	[GH_COMP_GW_EXTERNAL] = { gw_external_settings,
	    sizeof(gw_external_settings) / sizeof(gw_external_settings[0]), "gw-external." },
	[GH_COMP_TRAFFICMANAGER] = { trafficmanager_settings,
	    sizeof(trafficmanager_settings) / sizeof(trafficmanager_settings[0]), "trafficmanager." },
};

/* Known component prefixes (also of tables that later binaries add). */
static const char *const all_prefixes[] = { "keymanager.", "publisher.", "portal.", "gw-internal.",
	"gw-external.", "trafficmanager.", NULL };

static struct gh_setting_def *merged[GH_COMP_COUNT + 1];
static size_t merged_n[GH_COMP_COUNT + 1];
static const char *foreign[GH_COMP_COUNT + 1][8];

const struct gh_setting_def *
gh_config_table(enum gh_component comp, size_t *n)
{
	size_t total = 0, k = 0, f = 0;

	if (merged[comp] != NULL) {
		*n = merged_n[comp];
		return merged[comp];
	}
	for (int i = 0; i < GH_COMP_COUNT; i++)
		if (i == GH_COMP_NODE || i == (int)comp || comp == GH_COMP_ALL)
			total += tables[i].n;
	merged[comp] = calloc(total ? total : 1, sizeof(struct gh_setting_def));
	if (merged[comp] == NULL)
		return NULL;
	for (int i = 0; i < GH_COMP_COUNT; i++) {
		if (!(i == GH_COMP_NODE || i == (int)comp || comp == GH_COMP_ALL))
			continue;
		memcpy(merged[comp] + k, tables[i].defs, tables[i].n * sizeof(struct gh_setting_def));
		k += tables[i].n;
	}
	for (size_t i = 0; all_prefixes[i] != NULL; i++) {
		int own = comp == GH_COMP_ALL || (comp < GH_COMP_COUNT && tables[comp].prefix != NULL &&
		    strcmp(tables[comp].prefix, all_prefixes[i]) == 0);
		/* check-config knows every table that exists; prefixes without a table yet are foreign */
		if (comp == GH_COMP_ALL) {
			own = 0;
			for (int t = 0; t < GH_COMP_COUNT; t++)
				if (tables[t].prefix != NULL && strcmp(tables[t].prefix, all_prefixes[i]) == 0)
					own = 1;
		}
		if (!own)
			foreign[comp][f++] = all_prefixes[i];
	}
	merged_n[comp] = k;
	*n = k;
	return merged[comp];
}

struct gh_settings *
gh_config_load(const char *path, enum gh_component comp)
{
	size_t nd;
	const struct gh_setting_def *defs = gh_config_table(comp, &nd);
	struct gh_settings *s = defs ? gh_settings_new(defs, nd) : NULL;
	char *errors = NULL;
	int n;

	if (s == NULL)
		return NULL;
	/* node.run_as: gatehouse where that user exists, else nobody (unless the file says) */
	if (getpwnam("gatehouse") == NULL)
		gh_settings_set(s, "node.run_as", "nobody", "default", NULL);
	gh_settings_set_foreign(s, foreign[comp]);
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

int
gh_config_kek(const struct gh_settings *s, unsigned char kek[GH_CONFIG_KEK_LEN])
{
	const char *b64 = gh_settings_str(s, "keys.signing_kek");
	unsigned char *raw = NULL;
	size_t len = 0;

	if (b64 == NULL)
		return -1;
	if (gh_b64_decode(b64, strlen(b64), &raw, &len) != 0 || len != GH_CONFIG_KEK_LEN) {
		if (raw != NULL)
			gh_free_secret_n(raw, len);
		return -1;
	}
	memcpy(kek, raw, GH_CONFIG_KEK_LEN);
	gh_free_secret_n(raw, len);
	return 0;
}
