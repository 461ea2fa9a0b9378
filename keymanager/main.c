/*
 * gatehouse-keymanager: start-up and shutdown.  Reads the node
 * configuration, loads the signing keys, binds the public port (9445,
 * HTTPS), the internal port (9447, mutual TLS) and the management port
 * (19445, loopback HTTP), drops privileges and runs the loop until
 * SIGTERM or SIGINT, then shuts the servers down gracefully.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_config.h"
#include "core/gh_log.h"
#include "core/gh_proc.h"
#include "core/gh_service.h"
#include "core/gh_tls.h"
#include "keymanager/km.h"

struct km km;

#define PROG "gatehouse-keymanager"

static struct gh_http_server *servers[3];
static struct gh_router *routers[3];
static SSL_CTX *ctx_public, *ctx_internal;

static int
tls_setup(void)
{
	ctx_public = gh_service_tls(km.cfg, PROG, "keymanager", 0);
	ctx_internal = ctx_public ? gh_service_tls(km.cfg, PROG, "keymanager", 1) : NULL;
	return ctx_internal != NULL ? 0 : -1;
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

int
main(int argc, char **argv)
{
	const char *config, *listen_addr;
	int rc = 1, lvl;

	if (gh_service_args(argc, argv, PROG, &config) != 0)
		return 2;
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
	    .before = km_call_before, .requests = &km.metrics.requests,
	    .latency = &km.metrics.latency });
	for (int i = 0; i < 3; i++)
		routers[i] = gh_router_new();
	km_oauth_routes(routers[0]);
	km_endpoint_routes(routers[0]);
	km_dcr_routes(routers[0]);
	km_internal_routes(routers[1]);
	km_internal_introspect_routes(routers[1]);
	km_mgmt_routes(routers[2]);
	listen_addr = gh_settings_str(km.cfg, "keymanager.listen");
	servers[0] = gh_service_listen(km.base, km.cfg, PROG, "public", listen_addr,
	    (int)gh_settings_int(km.cfg, "keymanager.port"), ctx_public, NULL, routers[0], 1);
	servers[1] = gh_service_listen(km.base, km.cfg, PROG, "internal", listen_addr,
	    (int)gh_settings_int(km.cfg, "keymanager.internal_port"), ctx_internal,
	    "portal,publisher,gw-internal,gw-external", routers[1], 0);
	servers[2] = gh_service_listen(km.base, km.cfg, PROG, "management",
	    gh_settings_str(km.cfg, "keymanager.mgmt_listen"),
	    (int)gh_settings_int(km.cfg, "keymanager.mgmt_port"), NULL, NULL, routers[2], 0);
	if (servers[0] == NULL || servers[1] == NULL || servers[2] == NULL)
		goto out;
	if (gh_service_drop(km.cfg, PROG) != 0)
		goto out;
	gh_log_info("ready", NULL, "issuer %s, tokens %s", km.issuer, gh_jose_alg_name(km.token_alg));
	rc = gh_service_run(km.base, servers, 3) == 0 ? 0 : 1;
out:
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
