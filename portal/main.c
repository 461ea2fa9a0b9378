/*
 * gatehouse-portal: start-up and shutdown.  Reads the node configuration
 * and its sites, binds the REST port (9444, HTTPS) and the management port
 * (19444, loopback HTTP), drops privileges and runs until SIGTERM or
 * SIGINT.
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
#include "portal/account.h"
#include "portal/portal.h"
#include "portal/ui.h"

#define PROG "gatehouse-portal"

struct portal portal;

int
main(int argc, char **argv)
{
	const char *config, *why;
	struct gh_http_server *servers[2] = { NULL, NULL };
	struct gh_router *routers[2] = { NULL, NULL };
	char jwks[600];
	unsigned char kek[GH_CONFIG_KEK_LEN];
	int rc = 1, lvl;

	if (gh_service_args(argc, argv, PROG, &config) != 0)
		return 2;
	portal.cfg = gh_config_load(config, GH_COMP_PORTAL);
	if (portal.cfg == NULL)
		return 1;
	if (portal_sites_parse(gh_settings_str(portal.cfg, "portal.sites"), &why) != 0) {
		fprintf(stderr, PROG ": %s: portal.sites: %s\n", config, why);
		gh_settings_free(portal.cfg);
		return 1;
	}
	lvl = gh_log_level_parse(gh_settings_str(portal.cfg, "log.level"));
	gh_log_init("portal", 2, lvl < 0 ? GH_LOG_INFO : (enum gh_log_level)lvl);
	gh_proc_ignore_sigpipe();
	evthread_use_pthreads();
	gh_ldap_config_from_settings(portal.cfg, &portal.ldap_cfg);
	portal.km_url = gh_settings_str(portal.cfg, "cluster.keymanager_url");
	portal.km_internal_url = gh_settings_str(portal.cfg, "cluster.keymanager_internal_url");
	portal.conninfo = gh_pg_conninfo(portal.cfg);
	portal.tls_public = gh_service_tls(portal.cfg, PROG, "portal", 0);
	portal.tls_km = gh_service_tls_client(portal.cfg, PROG, "portal");
	if (portal.conninfo == NULL || portal.tls_public == NULL || portal.tls_km == NULL)
		goto out;
	snprintf(jwks, sizeof(jwks), "%s/oauth2/jwks", portal.km_url);
	portal.mauth = gh_mauth_new(portal.km_url, GH_AUD_MANAGEMENT, jwks, portal.tls_km);
	/* The web UI's sessions seal their tokens under keys.signing_kek (pg/gh_web.h). */
	if (gh_config_kek(portal.cfg, kek) == 0) {
		gh_web_init("devportal", PORTAL_UI_COOKIE, kek);
		explicit_bzero(kek, sizeof(kek));
	} else {
		gh_log_warn("config", NULL, "keys.signing_kek is not set: the web UI cannot sign users in");
		gh_web_init("devportal", PORTAL_UI_COOKIE, NULL);
	}
	portal.base = event_base_new();
	if (portal.mauth == NULL || portal.base == NULL)
		goto out;
	portal.pool = gh_pg_pool_new(portal.base, portal.conninfo,
	    (int)gh_settings_int(portal.cfg, "portal.workers"));
	if (portal.pool == NULL)
		goto out;
	gh_call_init(&(struct gh_call_svc){ .name = PROG, .pool = portal.pool,
	    .requests = &portal.metrics.requests,
	    .latency = &portal.metrics.latency });
	for (int i = 0; i < 2; i++)
		if ((routers[i] = gh_router_new()) == NULL)
			goto out;
	portal_api_routes(routers[0]);
	portal_analytics_routes(routers[0]);
	portal_account_routes(routers[0]);
	portal_ui_routes(routers[0]);
	portal_mgmt_routes(routers[1]);
	servers[0] = gh_service_listen(portal.base, portal.cfg, PROG, "rest",
	    gh_settings_str(portal.cfg, "portal.listen"),
	    (int)gh_settings_int(portal.cfg, "portal.port"), portal.tls_public, NULL, routers[0], 1);
	servers[1] = gh_service_listen(portal.base, portal.cfg, PROG, "management",
	    gh_settings_str(portal.cfg, "portal.mgmt_listen"),
	    (int)gh_settings_int(portal.cfg, "portal.mgmt_port"), NULL, NULL, routers[1], 0);
	if (servers[0] == NULL || servers[1] == NULL)
		goto out;
	if (gh_service_drop(portal.cfg, PROG) != 0)
		goto out;
	gh_log_info("ready", NULL, "%zu site%s, key manager %s", portal.nsites,
	    portal.nsites == 1 ? "" : "s", portal.km_url);
	rc = gh_service_run(portal.base, servers, 2) == 0 ? 0 : 1;
out:
	gh_pg_pool_free(portal.pool);
	for (int i = 0; i < 2; i++) {
		gh_http_server_free(servers[i]);
		gh_router_free(routers[i]);
	}
	if (portal.base != NULL)
		event_base_free(portal.base);
	gh_mauth_free(portal.mauth);
	SSL_CTX_free(portal.tls_public);
	SSL_CTX_free(portal.tls_km);
	if (portal.conninfo != NULL)
		gh_free_secret(portal.conninfo);
	gh_settings_free(portal.cfg);
	return rc;
}
