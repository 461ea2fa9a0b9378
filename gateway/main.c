/*
 * gatehouse-gw-internal / gatehouse-gw-external: start-up and shutdown.
 * Reads the node file (this zone's section), loads its configuration from
 * the data feed (or the copy on disk), refuses an environment of the other
 * zone, binds the public listeners on every worker (SO_REUSEPORT) and the
 * management port, drops privileges, starts the workers, and on SIGTERM
 * drains them; SIGHUP reloads what the zone reads from disk (GeoIP).
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gh_config.h"
#include "core/gh_log.h"
#include "core/gh_proc.h"
#include "core/gh_service.h"
#include "core/gh_tls.h"
#include "gateway/gw.h"
#include "gateway/gw_main.h"

static char prog[64];

static int
tls_setup(void)
{
	const char *dir = gh_settings_str(gw.cfg, "node.data_dir");
	const char *crt = gw_setting_str("tls_cert"), *key = gw_setting_str("tls_key");
	char dcrt[600], dkey[600], ca[600], err[256];

	snprintf(dcrt, sizeof(dcrt), "%s/pki/%s.crt", dir, gw_zone.name);
	snprintf(dkey, sizeof(dkey), "%s/pki/%s.key", dir, gw_zone.name);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", dir);
	gw.tls_public = gh_tls_server_ctx(crt ? crt : dcrt, key ? key : dkey, NULL, err, sizeof(err));
	if (gw.tls_public == NULL) {
		fprintf(stderr, "%s: public TLS: %s (run gatehouse init first, or set %s.tls_cert and tls_key)\n",
		    prog, err, gw_zone.name);
		return -1;
	}
	gw.tls_internal = gh_tls_client_ctx(ca, dcrt, dkey, err, sizeof(err));
	if (gw.tls_internal == NULL) {
		fprintf(stderr, "%s: the gateway certificate for the feed and the key manager: %s\n", prog, err);
		return -1;
	}
	/* Backends: the system's CAs, and the node's CA for backends in the LAN. */
	gw.tls_upstream = gh_tls_client_ctx(NULL, NULL, NULL, err, sizeof(err));
	if (gw.tls_upstream == NULL || SSL_CTX_load_verify_locations(gw.tls_upstream, ca, NULL) != 1) {
		fprintf(stderr, "%s: backend TLS: %s\n", prog, err);
		return -1;
	}
	return 0;
}

/*
 * SIGHUP: the node file again (log level; this zone's trusted_proxies on
 * every worker's listeners), the public certificate and key (watched since
 * the drop), then the zone's own files (GeoIP).  Open connections go on.
 */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct gh_settings *s;

	(void)sig;
	(void)what;
	(void)arg;
	gh_log_info("reload", NULL, "SIGHUP: reloading");
	s = gh_service_reload(gw_zone.kind == GW_ZONE_INTERNAL ? GH_COMP_GW_INTERNAL : GH_COMP_GW_EXTERNAL);
	if (s != NULL) {
		char name[64];
		const char *tp;

		snprintf(name, sizeof(name), "%s.trusted_proxies", gw_zone.name);
		tp = gh_service_intern(gh_settings_str(s, name));
		if (tp != NULL)
			gw_proxy_set_trusted(tp);
		for (int i = 0; i < gw.nworkers && tp != NULL; i++) {
			if (gw.workers[i]->https != NULL)
				gh_http_server_set_trusted_proxies(gw.workers[i]->https, tp);
			if (gw.workers[i]->http != NULL)
				gh_http_server_set_trusted_proxies(gw.workers[i]->http, tp);
		}
		gh_settings_free(s);
	}
	gw_zone_reload();
}

/*
 * At the drop: have reloads re-read the public listener's certificate and
 * key, and the gateway certificate it presents to the feed, the key
 * manager and the traffic manager.
 */
static int
tls_watch(void)
{
	const char *dir = gh_settings_str(gw.cfg, "node.data_dir");
	const char *crt = gw_setting_str("tls_cert"), *key = gw_setting_str("tls_key");
	char dcrt[600], dkey[600];

	snprintf(dcrt, sizeof(dcrt), "%s/pki/%s.crt", dir, gw_zone.name);
	snprintf(dkey, sizeof(dkey), "%s/pki/%s.key", dir, gw_zone.name);
	if (gh_service_tls_watch(gw.tls_internal, dcrt, dkey) != 0)
		return -1;
	return gh_service_tls_watch(gw.tls_public, crt ? crt : dcrt, key ? key : dkey);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	gh_log_info("shutdown", NULL, "signal %d: finishing requests in flight", (int)sig);
	event_base_loopexit(arg, NULL);
}

/* Check that the environment the feed describes is of this zone's type. */
static int
zone_check(void)
{
	struct gw_store *s = gw_store_acquire();
	int ok;

	if (s == NULL)
		return -1;
	ok = s->env_type != NULL && strcmp(s->env_type, gw_zone.env_type) == 0;
	if (!ok)
		fprintf(stderr, "%s: environment '%s' is of type '%s'; %s serves only environments "
		    "of type '%s' (set %s.environment to one of those)\n", prog, gw.env,
		    s->env_type ? s->env_type : "?", prog, gw_zone.env_type, gw_zone.name);
	gw_store_unref(s);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *config;
	struct gh_router *mr = NULL;
	struct gh_http_server *mgmt = NULL;
	struct event_base *base = NULL;
	struct event *sig[3] = { NULL, NULL, NULL };
	int rc = 1, lvl, n, feed = 0, workers = 0;
	long cpus;

	snprintf(prog, sizeof(prog), "gatehouse-%s", gw_zone.name);
	if (gh_service_args(argc, argv, prog, &config) != 0)
		return 2;
	gw.cfg = gh_config_load(config, gw_zone.kind == GW_ZONE_INTERNAL ? GH_COMP_GW_INTERNAL :
	    GH_COMP_GW_EXTERNAL);
	if (gw.cfg == NULL)
		return 1;
	lvl = gh_log_level_parse(gh_settings_str(gw.cfg, "log.level"));
	gh_log_init(gw_zone.name, 2, lvl < 0 ? GH_LOG_INFO : (enum gh_log_level)lvl);
	gh_proc_ignore_sigpipe();
	evthread_use_pthreads();
	gw.env = gw_setting_str("environment");
	snprintf(gw.node, sizeof(gw.node), "%s", gh_settings_str(gw.cfg, "node.name"));
	pthread_rwlock_init(&gw.jwks_lock, NULL);
	if (tls_setup() != 0 || gw_zone_init(gw.cfg) != 0 || gw_backend_jwt_init() != 0 ||
	    gw_authn_init() != 0 || gw_proxy_init() != 0 || gw_throttle_init() != 0 ||
	    gw_analytics_init() != 0)
		goto out;
	if (gw_feed_start() != 0) {
		fprintf(stderr, "%s: no configuration: environment '%s' could be loaded neither from the "
		    "data feed (%s) nor from a snapshot on disk\n", prog, gw.env,
		    gh_settings_str(gw.cfg, "cluster.feed_url"));
		goto out;
	}
	feed = 1;
	if (zone_check() != 0 || gw_tmsync_start() != 0)
		goto out;
	gw.ready = 1;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	n = (int)gw_setting_int("workers");
	if (n <= 0)
		n = cpus > 0 ? (int)cpus : 1;
	base = event_base_new();
	mr = gh_router_new();
	if (base == NULL || mr == NULL || gw_workers_start(n) != 0)
		goto out;
	workers = 1;
	gw_mgmt_routes(mr);
	mgmt = gh_service_listen(base, gw.cfg, prog, "management", gw_setting_str("mgmt_listen"),
	    (int)gw_setting_int("mgmt_port"), NULL, NULL, mr, 0);
	/* the shipper and the workers' spool files after the drop: the spool is node.run_as's */
	if (mgmt == NULL || tls_watch() != 0 || gh_service_drop(gw.cfg, prog) != 0 || gw_ship_start() != 0 ||
	    gw_workers_run() != 0)
		goto out;
	sig[0] = evsignal_new(base, SIGTERM, on_term, base);
	sig[1] = evsignal_new(base, SIGINT, on_term, base);
	sig[2] = evsignal_new(base, SIGHUP, on_hup, NULL);
	for (int i = 0; i < 3; i++)
		if (sig[i] == NULL || evsignal_add(sig[i], NULL) != 0)
			goto out;
	gh_log_info("ready", NULL, "environment %s, %d worker%s", gw.env, n, n == 1 ? "" : "s");
	event_base_dispatch(base);
	rc = 0;
out:
	if (workers)
		gw_workers_stop();
	if (feed)
		gw_feed_stop();
	gw_tmsync_stop();
	gw_zone_shutdown();
	gw_analytics_shutdown();
	gw_ship_stop();
	for (int i = 0; i < 3; i++)
		if (sig[i] != NULL)
			event_free(sig[i]);
	gh_http_server_free(mgmt);
	gh_router_free(mr);
	if (base != NULL)
		event_base_free(base);
	SSL_CTX_free(gw.tls_public);
	SSL_CTX_free(gw.tls_internal);
	SSL_CTX_free(gw.tls_upstream);
	gh_settings_free(gw.cfg);
	return rc;
}
