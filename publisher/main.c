/*
 * gatehouse-publisher: start-up and shutdown.  Reads the node
 * configuration, binds the REST port (9443, HTTPS), the feed port (9446,
 * HTTPS: gateway certificates of the node's CA, except for enrolment) and
 * the management port (19443, loopback HTTP), listens on the outbox for
 * the feed, drops privileges and runs until SIGTERM or SIGINT.  The REST port also serves
 * the web console (/publisher/, ui.c) with sessions sealed under
 * keys.signing_kek.
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
#include "publisher/pub.h"
#include "publisher/pub_admin.h"
#include "publisher/pub_enrol.h"
#include "publisher/ui.h"

#define PROG "gatehouse-publisher"

struct pub pub;

int
main(int argc, char **argv)
{
	const char *config, *addr;
	struct gh_http_server *servers[3] = { NULL, NULL, NULL };
	struct gh_router *routers[3] = { NULL, NULL, NULL };
	char jwks[600];
	unsigned char kek[GH_CONFIG_KEK_LEN];
	int rc = 1, lvl;

	if (gh_service_args(argc, argv, PROG, &config) != 0)
		return 2;
	pub.cfg = gh_config_load(config, GH_COMP_PUBLISHER);
	if (pub.cfg == NULL)
		return 1;
	lvl = gh_log_level_parse(gh_settings_str(pub.cfg, "log.level"));
	gh_log_init("publisher", 2, lvl < 0 ? GH_LOG_INFO : (enum gh_log_level)lvl);
	gh_proc_ignore_sigpipe();
	evthread_use_pthreads();
	pub.km_url = gh_settings_str(pub.cfg, "cluster.keymanager_url");
	pub.km_internal_url = gh_settings_str(pub.cfg, "cluster.keymanager_internal_url");
	pub.max_revisions = (int)gh_settings_int(pub.cfg, "publisher.max_revisions");
	pub.feed_retention = gh_settings_int(pub.cfg, "feed.retention") / 1000;
	pub.feed_poll_ms = (int)gh_settings_int(pub.cfg, "publisher.feed_poll_timeout");
	pub.conninfo = gh_pg_conninfo(pub.cfg);
	pub.tls_public = gh_service_tls(pub.cfg, PROG, "publisher", 0);
	pub.tls_feed = gh_service_tls(pub.cfg, PROG, "publisher", 1);
	pub.tls_km = gh_service_tls_client(pub.cfg, PROG, "publisher");
	if (pub.conninfo == NULL || pub.tls_public == NULL || pub.tls_feed == NULL || pub.tls_km == NULL)
		goto out;
	if (pub_enroll_init(pub.tls_feed) != 0)
		goto out;
	snprintf(jwks, sizeof(jwks), "%s/oauth2/jwks", pub.km_url);
	pub.mauth = gh_mauth_new(pub.km_url, GH_AUD_MANAGEMENT, jwks, pub.tls_km);
	/* The console's sessions seal their tokens under keys.signing_kek (pg/gh_web.h). */
	if (gh_config_kek(pub.cfg, kek) == 0) {
		gh_web_init("publisher", PUB_UI_COOKIE, kek);
		explicit_bzero(kek, sizeof(kek));
	} else {
		gh_log_warn("config", NULL, "keys.signing_kek is not set: the console cannot sign users in");
		gh_web_init("publisher", PUB_UI_COOKIE, NULL);
	}
	pub.base = event_base_new();
	if (pub.mauth == NULL || pub.base == NULL)
		goto out;
	pub.pool = gh_pg_pool_new(pub.base, pub.conninfo,
	    (int)gh_settings_int(pub.cfg, "publisher.workers"));
	pub.listener = gh_outbox_listener_new(pub.base, pub.conninfo, pub_feed_notify, NULL);
	if (pub.pool == NULL || pub.listener == NULL)
		goto out;
	gh_call_init(&(struct gh_call_svc){ .name = PROG, .pool = pub.pool,
	    .requests = &pub.metrics.requests,
	    .latency = &pub.metrics.latency });
	for (int i = 0; i < 3; i++)
		if ((routers[i] = gh_router_new()) == NULL)
			goto out;
	pub_api_routes(routers[0]);
	pub_admin_routes(routers[0]);
	pub_analytics_routes(routers[0]);
	pub_admin_user_routes(routers[0]);
	pub_admin_enrol_routes(routers[0]);
	pub_ui_routes(routers[0]);
	pub_feed_routes(routers[1]);
	pub_enroll_routes(routers[1]);
	pub_mgmt_routes(routers[2]);
	addr = gh_settings_str(pub.cfg, "publisher.listen");
	servers[0] = gh_service_listen(pub.base, pub.cfg, PROG, "rest", addr,
	    (int)gh_settings_int(pub.cfg, "publisher.port"), pub.tls_public, NULL, routers[0], 1);
	servers[1] = pub_enroll_feed_listen(pub.base, addr, (int)gh_settings_int(pub.cfg, "publisher.feed_port"),
	    pub.tls_feed, routers[1]);
	servers[2] = gh_service_listen(pub.base, pub.cfg, PROG, "management",
	    gh_settings_str(pub.cfg, "publisher.mgmt_listen"),
	    (int)gh_settings_int(pub.cfg, "publisher.mgmt_port"), NULL, NULL, routers[2], 0);
	if (servers[0] == NULL || servers[1] == NULL || servers[2] == NULL)
		goto out;
	if (gh_service_drop(pub.cfg, PROG) != 0)
		goto out;
	gh_log_info("ready", NULL, "key manager %s", pub.km_url);
	rc = gh_service_run(pub.base, servers, 3) == 0 ? 0 : 1;
out:
	pub_feed_shutdown();
	/* The pool first: its cancelled jobs still answer on live connections. */
	gh_pg_pool_free(pub.pool);
	gh_outbox_listener_free(pub.listener);
	for (int i = 0; i < 3; i++) {
		gh_http_server_free(servers[i]);
		gh_router_free(routers[i]);
	}
	if (pub.base != NULL)
		event_base_free(pub.base);
	gh_mauth_free(pub.mauth);
	SSL_CTX_free(pub.tls_public);
	SSL_CTX_free(pub.tls_feed);
	SSL_CTX_free(pub.tls_km);
	pub_enroll_shutdown();
	if (pub.conninfo != NULL)
		gh_free_secret(pub.conninfo);
	gh_settings_free(pub.cfg);
	return rc;
}
