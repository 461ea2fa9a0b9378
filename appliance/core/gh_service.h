/*
 * What every control-plane daemon (publisher, portal; the key manager
 * keeps its own copy from before) does around its routes: listeners with
 * the node's http.* limits, a TLS server context from the node's PKI
 * folder, the management port's /health, the privilege drop after binding,
 * and a loop that SIGTERM or SIGINT ends by draining every listener.
 */
#ifndef GH_SERVICE_H
#define GH_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "core/gh_http.h"
#include "core/gh_router.h"
#include "core/gh_settings.h"

struct event_base;
enum gh_component;

/* The version of every binary of this build (gatehouse --version, gatehouse status). */
#define GH_VERSION "0.8.0"

/*
 * Listen on addr:port with cfg's http.* limits, routing through r.  ssl
 * (NULL: plain HTTP) and mtls_allow (NULL: no client certificate check)
 * are borrowed; with_proxies takes http.trusted_proxies.  Logs the port.
 * Returns the server, or NULL after printing "prog: name port ...: why".
 */
struct gh_http_server *gh_service_listen(struct event_base *base, const struct gh_settings *cfg,
    const char *prog, const char *name, const char *addr, int port, SSL_CTX *ssl,
    const char *mtls_allow, struct gh_router *r, int with_proxies);

/* The same with a body limit other than http.max_body_bytes (413 beyond). */
struct gh_http_server *gh_service_listen_body(struct event_base *base, const struct gh_settings *cfg,
    const char *prog, const char *name, const char *addr, int port, SSL_CTX *ssl,
    const char *mtls_allow, struct gh_router *r, int with_proxies, size_t max_body_bytes);

/*
 * TLS server context of component comp from node.data_dir/pki/COMP.crt
 * and .key; with client_ca, client certificates signed by the node's CA
 * are required.  The context is watched (gh_service_tls_watch): a reload
 * re-reads its certificate and key.  NULL after printing why.
 */
SSL_CTX *gh_service_tls(const struct gh_settings *cfg, const char *prog, const char *comp,
    int client_ca);

/*
 * TLS client context trusting the node's CA, presenting comp's certificate
 * (NULL: none); the certificate is watched, as a server's, for reloads.
 */
SSL_CTX *gh_service_tls_client(const struct gh_settings *cfg, const char *prog, const char *comp);

/*
 * Watch a server context whose certificate chain is the PEM file crt and
 * key the PEM file key (both copied): from now on every handshake takes
 * the pair most recently loaded, and gh_service_reload loads them again
 * (a failed load keeps the pair in use).  Call it before the listeners
 * accept.  0, or -1 after logging why (the context is left as it was).
 */
int gh_service_tls_watch(SSL_CTX *ctx, const char *crt, const char *key);

/*
 * Parse the daemon's command line: [--config FILE] (default
 * GH_CONFIG_DEFAULT) into *config, which gh_service_reload reads again;
 * --version prints GH_VERSION and exits 0.  Sets PR_SET_NO_NEW_PRIVS
 * before any thread exists, so that every thread of the daemon has it.
 * 0, or the exit status 2 after printing the usage line.
 */
int gh_service_args(int argc, char **argv, const char *prog, const char **config);

/*
 * A latency histogram for /metrics (Prometheus buckets in seconds:
 * GH_HIST_BOUNDS_US below); updated with atomics from any thread.
 */
#define GH_HIST_NB 14
#define GH_HIST_BOUNDS_US { 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, \
	500000, 1000000, 2500000, 5000000, 10000000 }
struct gh_hist {
	uint64_t b[GH_HIST_NB + 1];     /* per bucket (not cumulative); the last is +Inf */
	uint64_t count, sum_us;
};

/* Count one observation of us microseconds in h (negative counts as 0). */
void gh_hist_observe(struct gh_hist *h, int64_t us);

/* Microseconds of CLOCK_MONOTONIC (for latencies). */
int64_t gh_mono_us(void);

/* One counter or gauge of a /metrics page. */
struct gh_metric {
	const char *name, *help;
	const uint64_t *counter;        /* a counter read atomically, or NULL ... */
	int64_t gauge;                  /* ... for a gauge of this value */
};

/*
 * Append histogram h as Prometheus text (name_bucket{le=...}, _sum, _count,
 * in seconds) to buf, which holds used bytes of len; the output is cut at
 * a whole line when it does not fit.  Returns the new used length.
 */
size_t gh_service_metrics_hist(char *buf, size_t len, size_t used, const char *name,
    const char *help, const struct gh_hist *h);

/*
 * Render metrics in Prometheus text format into buf (len bytes; output cut
 * at a whole line when it does not fit).  Returns the length written.
 */
size_t gh_service_metrics(char *buf, size_t len, const struct gh_metric *m, size_t n);

/* Add GET /health answering {"status":"UP","component":component} to r (static string). */
void gh_service_health_route(struct gh_router *r, const char *component);

/*
 * Drop to node.run_as when running as root (no supplementary groups), and
 * set PR_SET_NO_NEW_PRIVS in any case.  0, or -1 after printing why.
 */
int gh_service_drop(const struct gh_settings *cfg, const char *prog);

/*
 * Reload what may change at run time, as SIGHUP does: read the file given
 * to gh_service_args again with comp's table and apply log.level, the
 * trusted proxies of the servers listened with with_proxies
 * (http.trusted_proxies), and the certificate and key of every watched
 * TLS context.  Connections already open are not touched.  Returns the
 * freshly read settings for the caller's own reloads (caller frees), or
 * NULL when the file is now invalid (logged; everything stays as it was).
 */
struct gh_settings *gh_service_reload(enum gh_component comp);

/*
 * A copy of s that lives as long as the process (the same text gives the
 * same copy), for values handed to servers that borrow them; NULL stays
 * NULL.  NULL also when out of memory.
 */
const char *gh_service_intern(const char *s);

/*
 * Run base until SIGTERM or SIGINT, then shut the n servers down (5 s of
 * grace for requests in flight) and return; SIGHUP calls
 * gh_service_reload(GH_COMP_NODE) and, when set, the hook of
 * gh_service_on_reload.  0, or -1 when the signal events could not be set up.
 */
int gh_service_run(struct event_base *base, struct gh_http_server **servers, size_t n);

/*
 * A daemon's own reload work after gh_service_run's reload: fn(settings,
 * arg) with the freshly read settings (borrowed for the call).  One hook.
 */
void gh_service_on_reload(void (*fn)(const struct gh_settings *s, void *arg), void *arg);

#endif
