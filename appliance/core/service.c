/*
 * Start-up and shutdown shared by the control-plane daemons (gh_service.h):
 * listeners configured from the node file, TLS contexts from the node's
 * PKI folder, /health, the privilege drop, and a graceful stop on SIGTERM.
 * The servers and contexts stay the caller's to free.
 */
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_config.h"
#include "core/gh_log.h"
#include "core/gh_proc.h"
#include "core/gh_service.h"
#include "core/gh_tls.h"

struct gh_http_server *
gh_service_listen(struct event_base *base, const struct gh_settings *cfg, const char *prog,
    const char *name, const char *addr, int port, SSL_CTX *ssl, const char *mtls_allow,
    struct gh_router *r, int with_proxies)
{
	return gh_service_listen_body(base, cfg, prog, name, addr, port, ssl, mtls_allow, r,
	    with_proxies, (size_t)gh_settings_int(cfg, "http.max_body_bytes"));
}

struct gh_http_server *
gh_service_listen_body(struct event_base *base, const struct gh_settings *cfg, const char *prog,
    const char *name, const char *addr, int port, SSL_CTX *ssl, const char *mtls_allow,
    struct gh_router *r, int with_proxies, size_t max_body_bytes)
{
	struct gh_http_server_cfg sc;
	struct gh_http_server *srv;
	char err[256];

	memset(&sc, 0, sizeof(sc));
	gh_http_limits_default(&sc.limits);
	sc.limits.max_header_bytes = (size_t)gh_settings_int(cfg, "http.max_header_bytes");
	sc.limits.max_headers = (size_t)gh_settings_int(cfg, "http.max_headers");
	sc.limits.max_body_bytes = max_body_bytes;
	sc.limits.header_timeout_ms = (int)gh_settings_int(cfg, "http.header_timeout");
	sc.limits.idle_timeout_ms = (int)gh_settings_int(cfg, "http.idle_timeout");
	sc.name = name;
	sc.ssl = ssl;
	sc.mtls_allow = mtls_allow;
	sc.trusted_proxies = with_proxies ? gh_settings_str(cfg, "http.trusted_proxies") : NULL;
	sc.handler = gh_router_handler;
	sc.arg = r;
	srv = gh_http_server_new(base, &sc);
	if (srv == NULL || gh_http_server_listen(srv, addr, port, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s port %s:%d: %s\n", prog, name, addr, port,
		    srv ? err : "out of memory");
		gh_http_server_free(srv);
		return NULL;
	}
	gh_log_info("listening", NULL, "%s on %s:%d", name, addr, gh_http_server_port(srv));
	return srv;
}

static void
pki_paths(const struct gh_settings *cfg, const char *comp, char crt[600], char key[600], char ca[600])
{
	const char *dir = gh_settings_str(cfg, "node.data_dir");

	snprintf(crt, 600, "%s/pki/%s.crt", dir, comp);
	snprintf(key, 600, "%s/pki/%s.key", dir, comp);
	snprintf(ca, 600, "%s/pki/ca.crt", dir);
}

SSL_CTX *
gh_service_tls(const struct gh_settings *cfg, const char *prog, const char *comp, int client_ca)
{
	char crt[600], key[600], ca[600], err[256];
	SSL_CTX *ctx;

	pki_paths(cfg, comp, crt, key, ca);
	ctx = gh_tls_server_ctx(crt, key, client_ca ? ca : NULL, err, sizeof(err));
	if (ctx == NULL)
		fprintf(stderr, "%s: TLS: %s (run gatehouse init first)\n", prog, err);
	return ctx;
}

SSL_CTX *
gh_service_tls_client(const struct gh_settings *cfg, const char *prog, const char *comp)
{
	char crt[600], key[600], ca[600], err[256];
	SSL_CTX *ctx;

	pki_paths(cfg, comp ? comp : "node", crt, key, ca);
	ctx = gh_tls_client_ctx(ca, comp ? crt : NULL, comp ? key : NULL, err, sizeof(err));
	if (ctx == NULL)
		fprintf(stderr, "%s: TLS client: %s\n", prog, err);
	return ctx;
}

static void
health(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char body[160];
	int n;

	(void)m;
	n = snprintf(body, sizeof(body), "{\"status\":\"UP\",\"component\":\"%s\"}", (const char *)arg);
	gh_http_respond(req, 200, "application/json", body, (size_t)n);
}

void
gh_service_health_route(struct gh_router *r, const char *component)
{
	gh_router_add(r, "GET", "/health", health, (void *)component);
}

int
gh_service_drop(const struct gh_settings *cfg, const char *prog)
{
	char err[256];

	if (getuid() == 0 && gh_proc_drop_privileges(gh_settings_str(cfg, "node.run_as"), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	return 0;
}

struct run_state {
	struct event_base *base;
	struct gh_http_server **servers;
	size_t n;
	int pending;
};

static void
shutdown_done(void *arg)
{
	struct run_state *st = arg;

	if (--st->pending == 0)
		event_base_loopexit(st->base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run_state *st = arg;

	(void)what;
	if (st->pending > 0)
		return;
	gh_log_info("shutdown", NULL, "signal %d: finishing requests in flight", (int)sig);
	for (size_t i = 0; i < st->n; i++)
		if (st->servers[i] != NULL)
			st->pending++;
	if (st->pending == 0) {
		event_base_loopexit(st->base, NULL);
		return;
	}
	for (size_t i = 0; i < st->n; i++)
		if (st->servers[i] != NULL)
			gh_http_server_shutdown(st->servers[i], 5000, shutdown_done, st);
}

int
gh_service_run(struct event_base *base, struct gh_http_server **servers, size_t n)
{
	struct run_state st = { base, servers, n, 0 };
	struct event *term = evsignal_new(base, SIGTERM, on_signal, &st);
	struct event *intr = evsignal_new(base, SIGINT, on_signal, &st);
	int rc = -1;

	if (term != NULL && intr != NULL && evsignal_add(term, NULL) == 0 &&
	    evsignal_add(intr, NULL) == 0) {
		event_base_dispatch(base);
		rc = 0;
	}
	if (term != NULL)
		event_free(term);
	if (intr != NULL)
		event_free(intr);
	return rc;
}

int
gh_service_args(int argc, char **argv, const char *prog, const char **config)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	*config = GH_CONFIG_DEFAULT;
	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (o != 'c')
			goto usage;
		*config = optarg;
	}
	if (optind == argc)
		return 0;
usage:
	fprintf(stderr, "usage: %s [--config FILE]\n", prog);
	return 2;
}

static const int64_t hist_bounds[GH_HIST_NB] = GH_HIST_BOUNDS_US;

void
gh_hist_observe(struct gh_hist *h, int64_t us)
{
	size_t i = 0;

	if (us < 0)
		us = 0;
	while (i < GH_HIST_NB && us > hist_bounds[i])
		i++;
	__atomic_add_fetch(&h->b[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->sum_us, (uint64_t)us, __ATOMIC_RELAXED);
}

int64_t
gh_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

size_t
gh_service_metrics_hist(char *buf, size_t len, size_t used, const char *name, const char *help,
    const struct gh_hist *h)
{
	uint64_t cum = 0, sum = __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
	size_t start = used;
	int k;

	if (used >= len)
		return used;
	k = snprintf(buf + used, len - used, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	if (k < 0 || (size_t)k >= len - used)
		goto cut;
	used += (size_t)k;
	for (size_t i = 0; i <= GH_HIST_NB; i++) {
		cum += __atomic_load_n(&h->b[i], __ATOMIC_RELAXED);
		if (i < GH_HIST_NB)
			k = snprintf(buf + used, len - used, "%s_bucket{le=\"%g\"} %llu\n", name,
			    (double)hist_bounds[i] / 1e6, (unsigned long long)cum);
		else
			k = snprintf(buf + used, len - used, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
			    "%s_count %llu\n", name, (unsigned long long)cum, name, (double)sum / 1e6,
			    name, (unsigned long long)cum);
		if (k < 0 || (size_t)k >= len - used)
			goto cut;
		used += (size_t)k;
	}
	return used;
cut:
	buf[start] = '\0';
	return start;
}

size_t
gh_service_metrics(char *buf, size_t len, const struct gh_metric *m, size_t n)
{
	size_t used = 0;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k;

		if (m[i].counter != NULL)
			k = snprintf(buf + used, len - used, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
			    m[i].name, m[i].help, m[i].name, m[i].name,
			    (unsigned long long)__atomic_load_n(m[i].counter, __ATOMIC_RELAXED));
		else
			k = snprintf(buf + used, len - used, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n",
			    m[i].name, m[i].help, m[i].name, m[i].name, (long long)m[i].gauge);
		if (k < 0 || (size_t)k >= len - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)k;
	}
	return used;
}
