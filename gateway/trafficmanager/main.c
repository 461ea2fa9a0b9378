/*
 * gatehouse-trafficmanager: start-up and shutdown.  Reads the node
 * configuration, binds the gateway-facing port (9611, HTTPS with client
 * certificates of the node's CA, gateways' only) and the management port
 * (19611, loopback HTTP), drops privileges and runs until SIGTERM or
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
#include "gateway/trafficmanager/tm.h"

#define PROG "gatehouse-trafficmanager"

struct tmgr tmgr;

int
tm_peer_is_gateway(struct gh_http_req *req)
{
	if (req->has_peer_id && (strcmp(req->peer_id.role, "gw-internal") == 0 ||
	    strcmp(req->peer_id.role, "gw-external") == 0))
		return 1;
	gh_log_warn("peer_refused", req->request_id, "client %s: not a gateway's certificate",
	    req->client_addr);
	gh_http_respond_error(req, 403, "Forbidden", "Only gateway certificates may call the traffic manager");
	return 0;
}

int
main(int argc, char **argv)
{
	const char *config;
	struct gh_http_server *servers[2] = { NULL, NULL };
	struct gh_router *routers[2] = { NULL, NULL };
	int rc = 1, lvl;

	if (gh_service_args(argc, argv, PROG, &config) != 0)
		return 2;
	tmgr.cfg = gh_config_load(config, GH_COMP_TRAFFICMANAGER);
	if (tmgr.cfg == NULL)
		return 1;
	lvl = gh_log_level_parse(gh_settings_str(tmgr.cfg, "log.level"));
	gh_log_init("trafficmanager", 2, lvl < 0 ? GH_LOG_INFO : (enum gh_log_level)lvl);
	gh_proc_ignore_sigpipe();
	evthread_use_pthreads();
	tmgr.retention_ms = gh_settings_int(tmgr.cfg, "trafficmanager.retention");
	tmgr.max_batch_bytes = (size_t)gh_settings_int(tmgr.cfg, "trafficmanager.max_batch_bytes");
	tmgr.conninfo = gh_pg_conninfo(tmgr.cfg);
	tmgr.tls = gh_service_tls(tmgr.cfg, PROG, "trafficmanager", 1);
	if (tmgr.conninfo == NULL || tmgr.tls == NULL)
		goto out;
	tmgr.base = event_base_new();
	if (tmgr.base == NULL)
		goto out;
	tmgr.pool = gh_pg_pool_new(tmgr.base, tmgr.conninfo, (int)gh_settings_int(tmgr.cfg, "trafficmanager.workers"));
	if (tmgr.pool == NULL)
		goto out;
	gh_call_init(&(struct gh_call_svc){ .name = PROG, .pool = tmgr.pool, .requests = &tmgr.metrics.batches,
	    .latency = &tmgr.metrics.latency });
	if (tm_sync_init() != 0)
		goto out;
	for (int i = 0; i < 2; i++)
		if ((routers[i] = gh_router_new()) == NULL)
			goto out;
	tm_sync_routes(routers[0]);
	tm_events_routes(routers[0]);
	tm_mgmt_routes(routers[1]);
	servers[0] = gh_service_listen_body(tmgr.base, tmgr.cfg, PROG, "gateways",
	    gh_settings_str(tmgr.cfg, "trafficmanager.listen"),
	    (int)gh_settings_int(tmgr.cfg, "trafficmanager.port"), tmgr.tls, NULL, routers[0], 0,
	    tmgr.max_batch_bytes);
	servers[1] = gh_service_listen(tmgr.base, tmgr.cfg, PROG, "management",
	    gh_settings_str(tmgr.cfg, "trafficmanager.mgmt_listen"),
	    (int)gh_settings_int(tmgr.cfg, "trafficmanager.mgmt_port"), NULL, NULL, routers[1], 0);
	if (servers[0] == NULL || servers[1] == NULL)
		goto out;
	if (gh_service_drop(tmgr.cfg, PROG) != 0)
		goto out;
	if (tm_retention_start() != 0)
		goto out;
	gh_log_info("ready", NULL, "retention %lld s", (long long)(tmgr.retention_ms / 1000));
	rc = gh_service_run(tmgr.base, servers, 2) == 0 ? 0 : 1;
	tm_retention_stop();
out:
	gh_pg_pool_free(tmgr.pool);
	for (int i = 0; i < 2; i++) {
		gh_http_server_free(servers[i]);
		gh_router_free(routers[i]);
	}
	tm_sync_shutdown();
	if (tmgr.base != NULL)
		event_base_free(tmgr.base);
	SSL_CTX_free(tmgr.tls);
	if (tmgr.conninfo != NULL)
		gh_free_secret(tmgr.conninfo);
	gh_settings_free(tmgr.cfg);
	return rc;
}
