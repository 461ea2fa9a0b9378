/*
 * Worker threads: each owns an event_base, its public listeners (the
 * same ports for every worker, SO_REUSEPORT: the kernel spreads the
 * connections), its upstream and key-manager clients and its caches.  A
 * 100 ms tick moves the worker to a newly published store; between ticks
 * gw_worker_store compares one atomic generation number, so the hot path
 * takes no lock.  gw_workers_start/stop are called by main.c only.
 */
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_log.h"
#include "gateway/gw.h"
#include "gateway/gw_main.h"

struct gw_store *
gw_worker_store(struct gw_worker *w)
{
	uint64_t gen = gw_store_generation();

	if (w->store == NULL || gen != w->store_gen) {
		struct gw_store *s = gw_store_acquire();

		if (s != NULL) {
			if (w->store != NULL)
				gw_store_unref(w->store);
			w->store = s;
			w->store_gen = s->generation;
		}
	}
	return w->store;
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gw_worker_store(arg);
}

static void
server_done(void *arg)
{
	struct gw_worker *w = arg;

	if (--w->pending_shutdowns == 0)
		event_base_loopexit(w->base, NULL);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_worker *w = arg;
	(void)fd;
	(void)what;
	w->pending_shutdowns = (w->https != NULL) + (w->http != NULL);
	if (w->pending_shutdowns == 0) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	if (w->http != NULL)
		gh_http_server_shutdown(w->http, 5000, server_done, w);
	if (w->https != NULL)
		gh_http_server_shutdown(w->https, 5000, server_done, w);
}

/* The HTTP server's before_send hook: analytics events are on disk before their responses leave. */
static void
before_send(void *arg)
{
	gw_analytics_worker_flush(arg);
}

static struct gh_http_server *
listen_one(struct gw_worker *w, SSL_CTX *ssl, int port, char *err, size_t errlen)
{
	struct gh_http_server_cfg c;
	struct gh_http_server *srv;

	memset(&c, 0, sizeof(c));
	gh_http_limits_default(&c.limits);
	c.limits.max_header_bytes = (size_t)gw_setting_int("max_header_bytes");
	c.limits.max_body_bytes = (size_t)gw_setting_int("max_body_bytes");
	c.limits.header_timeout_ms = (int)gw_setting_int("header_timeout");
	c.limits.idle_timeout_ms = (int)gw_setting_int("idle_timeout");
	c.limits.max_headers = (size_t)gh_settings_int(gw.cfg, "http.max_headers");
	c.name = ssl ? "https" : "http";
	c.ssl = ssl;
	c.trusted_proxies = gw_setting_str("trusted_proxies");
	c.handler = gw_pipeline_start;
	c.head_hook = gw_pipeline_head;
	c.arg = w;
	c.before_send = before_send;
	c.reuseport = 1;
	c.no_access_log = 1;    /* analytics.c writes the gateway's own "gw_access" line */
	srv = gh_http_server_new(w->base, &c);
	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (gh_http_server_listen(srv, gw_setting_str("listen"), port, err, errlen) != 0) {
		gh_http_server_free(srv);
		return NULL;
	}
	return srv;
}

static void *
worker_main(void *arg)
{
	struct gw_worker *w = arg;
	struct timeval tv = { 0, 100000 };

	if (gw_authn_worker_init(w) != 0 || gw_proxy_worker_init(w) != 0) {
		gh_log_error("worker", NULL, "worker %d: set-up failed", w->id);
		return NULL;
	}
	w->tick = event_new(w->base, -1, EV_PERSIST, tick, w);
	if (w->tick != NULL)
		event_add(w->tick, &tv);
	gw_worker_store(w);
	event_base_dispatch(w->base);
	if (w->tick != NULL)
		event_free(w->tick);
	gh_http_server_free(w->https);
	gh_http_server_free(w->http);
	w->https = w->http = NULL;
	/* authn first: freeing its clients resumes waiting requests, which end in analytics */
	gw_authn_worker_free(w);
	gw_proxy_worker_free(w);
	gw_analytics_worker_free(w);
	if (w->store != NULL)
		gw_store_unref(w->store);
	w->store = NULL;
	return NULL;
}

static struct event **stop_events;

int
gw_workers_start(int n)
{
	char err[256];
	int https_port = (int)gw_setting_int("https_port");
	int http_port = gw_zone.allows_plain ? (int)gw_setting_int("http_port") : 0;

	gw.workers = calloc((size_t)n, sizeof(*gw.workers));
	stop_events = calloc((size_t)n, sizeof(*stop_events));
	if (gw.workers == NULL || stop_events == NULL)
		return -1;
	gw.nworkers = n;
	/* Bind every listener first (as root, before the privilege drop); threads start after. */
	for (int i = 0; i < n; i++) {
		struct gw_worker *w = calloc(1, sizeof(*w));

		if (w == NULL)
			return -1;
		gw.workers[i] = w;
		w->id = i;
		w->base = event_base_new();
		if (w->base == NULL)
			return -1;
		stop_events[i] = event_new(w->base, -1, 0, stop_cb, w);
		if (gw.tls_public != NULL &&
		    (w->https = listen_one(w, gw.tls_public, https_port, err, sizeof(err))) == NULL) {
			fprintf(stderr, "gatehouse-%s: HTTPS port %d: %s\n", gw_zone.name, https_port, err);
			return -1;
		}
		if (http_port > 0 && (w->http = listen_one(w, NULL, http_port, err, sizeof(err))) == NULL) {
			fprintf(stderr, "gatehouse-%s: HTTP port %d: %s\n", gw_zone.name, http_port, err);
			return -1;
		}
	}
	if (gw.nworkers > 0 && gw.workers[0]->https != NULL)
		gh_log_info("listening", NULL, "https on %s:%d, %d worker%s", gw_setting_str("listen"),
		    gh_http_server_port(gw.workers[0]->https), n, n == 1 ? "" : "s");
	if (http_port > 0)
		gh_log_info("listening", NULL, "http on %s:%d", gw_setting_str("listen"), http_port);
	return 0;
}

int
gw_workers_run(void)
{
	/*
	 * Spool files are opened here, after the privilege drop: the folder then
	 * belongs to node.run_as, and a root without CAP_DAC_OVERRIDE (the systemd
	 * unit's bounding set) could not create files in it.
	 */
	for (int i = 0; i < gw.nworkers; i++)
		if (gw_analytics_worker_init(gw.workers[i]) != 0)
			return -1;
	for (int i = 0; i < gw.nworkers; i++)
		if (pthread_create(&gw.workers[i]->thread, NULL, worker_main, gw.workers[i]) != 0)
			return -1;
	return 0;
}

void
gw_workers_stop(void)
{
	for (int i = 0; i < gw.nworkers; i++)
		if (stop_events != NULL && stop_events[i] != NULL)
			event_active(stop_events[i], 0, 0);
	for (int i = 0; i < gw.nworkers; i++)
		if (gw.workers[i]->thread)
			pthread_join(gw.workers[i]->thread, NULL);
	for (int i = 0; i < gw.nworkers; i++) {
		struct gw_worker *w = gw.workers[i];

		if (stop_events[i] != NULL)
			event_free(stop_events[i]);
		gw_analytics_worker_free(w);    /* a worker that never ran (its thread frees its own) */
		gh_http_server_free(w->https);
		gh_http_server_free(w->http);
		if (w->base != NULL)
			event_base_free(w->base);
		free(w);
	}
	free(gw.workers);
	free(stop_events);
	gw.workers = NULL;
	stop_events = NULL;
	gw.nworkers = 0;
}
