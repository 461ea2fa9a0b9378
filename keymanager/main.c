/*
 * gatehouse-keymanager: start-up and shutdown.  Reads the node
 * configuration, loads the signing keys, binds the public port (9445,
 * HTTPS), the internal port (9447, mutual TLS) and the management port
 * (19445, loopback HTTP), drops privileges and runs the loop until
 * SIGTERM or SIGINT, then shuts the servers down gracefully.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gh_codec.h"
#include "core/gh_config.h"
#include "core/gh_log.h"
#include "core/gh_proc.h"
#include "core/gh_tls.h"
#include "keymanager/km.h"

struct km km;

static struct gh_http_server *servers[3];
static struct gh_router *routers[3];
static SSL_CTX *ctx_public, *ctx_internal;
static int pending_shutdowns;

static void
shutdown_done(void *arg)
{
	(void)arg;
	if (--pending_shutdowns == 0)
		event_base_loopexit(km.base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	gh_log_info("shutdown", NULL, "signal %d: finishing requests in flight", (int)sig);
	pending_shutdowns = 0;
	for (int i = 0; i < 3; i++)
		if (servers[i] != NULL)
			pending_shutdowns++;
	for (int i = 0; i < 3; i++)
		if (servers[i] != NULL)
			gh_http_server_shutdown(servers[i], 5000, shutdown_done, NULL);
}

static struct gh_http_server *
server_start(const char *name, const char *addr, int port, SSL_CTX *ssl, const char *allow,
    struct gh_router *r, int with_proxies)
{
	struct gh_http_server_cfg cfg;
	struct gh_http_server *srv;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	gh_http_limits_default(&cfg.limits);
	cfg.limits.max_header_bytes = (size_t)gh_settings_int(km.cfg, "http.max_header_bytes");
	cfg.limits.max_headers = (size_t)gh_settings_int(km.cfg, "http.max_headers");
	cfg.limits.max_body_bytes = (size_t)gh_settings_int(km.cfg, "http.max_body_bytes");
	cfg.limits.header_timeout_ms = (int)gh_settings_int(km.cfg, "http.header_timeout");
	cfg.limits.idle_timeout_ms = (int)gh_settings_int(km.cfg, "http.idle_timeout");
	cfg.name = name;
	cfg.ssl = ssl;
	cfg.mtls_allow = allow;
	cfg.trusted_proxies = with_proxies ? gh_settings_str(km.cfg, "http.trusted_proxies") : NULL;
	cfg.handler = gh_router_handler;
	cfg.arg = r;
	srv = gh_http_server_new(km.base, &cfg);
	if (srv == NULL || gh_http_server_listen(srv, addr, port, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse-keymanager: %s port %s:%d: %s\n", name, addr, port,
		    srv ? err : "out of memory");
		gh_http_server_free(srv);
		return NULL;
	}
	gh_log_info("listening", NULL, "%s on %s:%d", name, addr, gh_http_server_port(srv));
	return srv;
}

static int
tls_setup(void)
{
	const char *dir = gh_settings_str(km.cfg, "node.data_dir");
	char crt[600], key[600], ca[600], err[256];

	snprintf(crt, sizeof(crt), "%s/pki/keymanager.crt", dir);
	snprintf(key, sizeof(key), "%s/pki/keymanager.key", dir);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", dir);
	ctx_public = gh_tls_server_ctx(crt, key, NULL, err, sizeof(err));
	if (ctx_public == NULL) {
		fprintf(stderr, "gatehouse-keymanager: TLS: %s (run gatehouse init first)\n", err);
		return -1;
	}
	ctx_internal = gh_tls_server_ctx(crt, key, ca, err, sizeof(err));
	if (ctx_internal == NULL) {
		fprintf(stderr, "gatehouse-keymanager: internal TLS: %s\n", err);
		return -1;
	}
	return 0;
}

static int
keys_initial_load(void)
{
	char err[256];
	struct gh_pg *db = gh_pg_connect(km.conninfo, err, sizeof(err));
	int rc;

	if (db == NULL) {
		fprintf(stderr, "gatehouse-keymanager: database: %s\n", err);
		return -1;
	}
	rc = km_keys_load(db);
	if (rc != 0)
		fprintf(stderr, "gatehouse-keymanager: no usable signing key in the database "
		    "(run gatehouse init --first; check keys.signing_kek)\n");
	gh_pg_close(db);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "usage: gatehouse-keymanager [--config FILE]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = GH_CONFIG_DEFAULT, *listen_addr, *run_as;
	struct event *sigterm = NULL, *sigint = NULL;
	char err[256];
	int o, rc = 1, lvl;

	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (o != 'c') {
			usage();
			return 2;
		}
		config = optarg;
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	km.cfg = gh_config_load(config, GH_COMP_KEYMANAGER);
	if (km.cfg == NULL)
		return 1;
	lvl = gh_log_level_parse(gh_settings_str(km.cfg, "log.level"));
	gh_log_init("keymanager", 2, lvl < 0 ? GH_LOG_INFO : (enum gh_log_level)lvl);
	gh_proc_ignore_sigpipe();
	evthread_use_pthreads();
	km.issuer = gh_settings_str(km.cfg, "keymanager.public_url");
	km.token_alg = gh_jose_alg_from_name(gh_settings_str(km.cfg, "keys.token_alg"));
	km.access_ttl = gh_settings_int(km.cfg, "keymanager.access_token_ttl") / 1000;
	km.refresh_ttl = gh_settings_int(km.cfg, "keymanager.refresh_token_ttl") / 1000;
	km.code_ttl = gh_settings_int(km.cfg, "keymanager.code_ttl") / 1000;
	km.lock_failures = (int)gh_settings_int(km.cfg, "keymanager.lockout_failures");
	km.lock_window = gh_settings_int(km.cfg, "keymanager.lockout_window") / 1000;
	km.lock_duration = gh_settings_int(km.cfg, "keymanager.lockout_duration") / 1000;
	gh_ldap_config_from_settings(km.cfg, &km.ldap_cfg);
	if (gh_config_kek(km.cfg, km.kek) != 0) {
		fprintf(stderr, "gatehouse-keymanager: %s: keys.signing_kek missing or malformed "
		    "(gatehouse init --first writes it)\n", config);
		goto out;
	}
	km.conninfo = gh_pg_conninfo(km.cfg);
	if (km.conninfo == NULL || tls_setup() != 0 || keys_initial_load() != 0)
		goto out;
	km.base = event_base_new();
	km.pool = gh_pg_pool_new(km.base, km.conninfo, (int)gh_settings_int(km.cfg, "keymanager.workers"));
	if (km.base == NULL || km.pool == NULL)
		goto out;
	gh_call_init(&(struct gh_call_svc){ .name = "gatehouse-keymanager", .pool = km.pool,
	    .before = km_call_before, .requests = &km.metrics.requests });
	for (int i = 0; i < 3; i++)
		routers[i] = gh_router_new();
	km_oauth_routes(routers[0]);
	km_endpoint_routes(routers[0]);
	km_dcr_routes(routers[0]);
	km_internal_routes(routers[1]);
	km_internal_introspect_routes(routers[1]);
	km_mgmt_routes(routers[2]);
	listen_addr = gh_settings_str(km.cfg, "keymanager.listen");
	servers[0] = server_start("public", listen_addr, (int)gh_settings_int(km.cfg, "keymanager.port"),
	    ctx_public, NULL, routers[0], 1);
	servers[1] = server_start("internal", listen_addr,
	    (int)gh_settings_int(km.cfg, "keymanager.internal_port"), ctx_internal,
	    "portal,publisher,gw-internal,gw-external", routers[1], 0);
	servers[2] = server_start("management", gh_settings_str(km.cfg, "keymanager.mgmt_listen"),
	    (int)gh_settings_int(km.cfg, "keymanager.mgmt_port"), NULL, NULL, routers[2], 0);
	if (servers[0] == NULL || servers[1] == NULL || servers[2] == NULL)
		goto out;
	run_as = gh_settings_str(km.cfg, "node.run_as");
	if (getuid() == 0 && gh_proc_drop_privileges(run_as, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse-keymanager: %s\n", err);
		goto out;
	}
	sigterm = evsignal_new(km.base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(km.base, SIGINT, on_signal, NULL);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL))
		goto out;
	gh_log_info("ready", NULL, "issuer %s, tokens %s", km.issuer, gh_jose_alg_name(km.token_alg));
	event_base_dispatch(km.base);
	rc = 0;
out:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	/* The pool first: its cancelled jobs still answer on live connections. */
	gh_pg_pool_free(km.pool);
	for (int i = 0; i < 3; i++) {
		gh_http_server_free(servers[i]);
		gh_router_free(routers[i]);
	}
	if (km.base)
		event_base_free(km.base);
	SSL_CTX_free(ctx_public);
	SSL_CTX_free(ctx_internal);
	km_keys_free();
	km_lock_free();
	km_client_cache_free();
	if (km.conninfo)
		gh_free_secret(km.conninfo);
	explicit_bzero(km.kek, sizeof(km.kek));
	gh_settings_free(km.cfg);
	return rc;
}
