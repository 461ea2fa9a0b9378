/*
 * Start-up and shutdown shared by the control-plane daemons (gh_service.h):
 * listeners configured from the node file, TLS contexts from the node's
 * PKI folder, /health, the privilege drop, a graceful stop on SIGTERM and
 * reloads on SIGHUP.  A watched TLS context takes its certificate from a
 * per-handshake callback, so a reload swaps the pair for new handshakes
 * while open connections go on.  The servers and contexts stay the
 * caller's to free.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_config.h"
#include "core/gh_log.h"
#include "core/gh_proc.h"
#include "core/gh_service.h"
#include "core/gh_tls.h"

#define MAX_WATCHED 16

/* The configuration file of gh_service_args, read again by reloads. */
static const char *svc_config;

/* Servers whose trusted proxies follow http.trusted_proxies. */
static struct gh_http_server *proxied[MAX_WATCHED];
static size_t nproxied;

/* A watched server context and the pair its handshakes take. */
struct tls_watch {
	SSL_CTX *ctx;
	char crt[600], key[600];
	X509 *cert;
	EVP_PKEY *pkey;
	STACK_OF(X509) *chain;
};
static struct tls_watch watches[MAX_WATCHED];
static size_t nwatches;
static pthread_rwlock_t watch_lock = PTHREAD_RWLOCK_INITIALIZER;

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
	if (with_proxies && nproxied < MAX_WATCHED)
		proxied[nproxied++] = srv;
	return srv;
}

/* Load the chain file crt (leaf first) and the key file key, matching.  0 or -1 with err. */
static int
pair_load(const char *crt, const char *key, X509 **cert, EVP_PKEY **pkey, STACK_OF(X509) **chain,
    char *err, size_t errlen)
{
	FILE *f = fopen(crt, "r");
	X509 *x;

	*cert = NULL;
	*pkey = NULL;
	*chain = NULL;
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", crt, strerror(errno));
		return -1;
	}
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	*chain = sk_X509_new_null();
	while (*cert != NULL && *chain != NULL && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(*chain, x) == 0)
			X509_free(x);
	ERR_clear_error();      /* the end of the file reads as an error */
	fclose(f);
	if (*cert == NULL || *chain == NULL) {
		snprintf(err, errlen, "%s: no PEM certificate", crt);
		goto fail;
	}
	f = fopen(key, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", key, strerror(errno));
		goto fail;
	}
	*pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (*pkey == NULL || X509_check_private_key(*cert, *pkey) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: no PEM private key matching %s", key, crt);
		goto fail;
	}
	return 0;
fail:
	X509_free(*cert);
	EVP_PKEY_free(*pkey);
	sk_X509_pop_free(*chain, X509_free);
	*cert = NULL;
	*pkey = NULL;
	*chain = NULL;
	return -1;
}

/* 1 when x is in sk. */
static int
chain_has(STACK_OF(X509) *sk, X509 *x)
{
	for (int i = 0; sk != NULL && i < sk_X509_num(sk); i++)
		if (X509_cmp(sk_X509_value(sk, i), x) == 0)
			return 1;
	return 0;
}

/*
 * Every handshake of a watched context: take the pair loaded last
 * (references), plus what the program added to the context's chain after
 * loading it (the publisher's feed port sends the CA certificate).
 */
static int
watch_cert_cb(SSL *ssl, void *arg)
{
	struct tls_watch *w = arg;
	STACK_OF(X509) *extra = NULL;
	int ok = 1;

	pthread_rwlock_rdlock(&watch_lock);
	if (w->cert != NULL && SSL_use_cert_and_key(ssl, w->cert, w->pkey, w->chain, 1) != 1)
		ok = 0;
	if (ok && w->cert != NULL && SSL_CTX_get0_chain_certs(w->ctx, &extra) == 1)
		for (int i = 0; extra != NULL && i < sk_X509_num(extra); i++)
			if (!chain_has(w->chain, sk_X509_value(extra, i)) &&
			    SSL_add1_chain_cert(ssl, sk_X509_value(extra, i)) != 1)
				ok = 0;
	pthread_rwlock_unlock(&watch_lock);
	return ok;
}

int
gh_service_tls_watch(SSL_CTX *ctx, const char *crt, const char *key)
{
	struct tls_watch *w;
	char err[700];

	if (ctx == NULL || nwatches >= MAX_WATCHED) {
		gh_log_error("tls_watch", NULL, "cannot watch more TLS contexts");
		return -1;
	}
	w = &watches[nwatches];
	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	snprintf(w->crt, sizeof(w->crt), "%s", crt);
	snprintf(w->key, sizeof(w->key), "%s", key);
	if (pair_load(w->crt, w->key, &w->cert, &w->pkey, &w->chain, err, sizeof(err)) != 0) {
		gh_log_error("tls_watch", NULL, "%s", err);
		return -1;
	}
	SSL_CTX_set_cert_cb(ctx, watch_cert_cb, w);
	nwatches++;
	return 0;
}

/* Load every watched pair again; a pair that fails keeps the one in use. */
static void
watches_reload(void)
{
	for (size_t i = 0; i < nwatches; i++) {
		struct tls_watch *w = &watches[i];
		X509 *cert, *old_cert;
		EVP_PKEY *pkey, *old_pkey;
		STACK_OF(X509) *chain, *old_chain;
		char err[700];

		if (pair_load(w->crt, w->key, &cert, &pkey, &chain, err, sizeof(err)) != 0) {
			gh_log_error("reload", NULL, "TLS certificate not reloaded, the old one stays: %s", err);
			continue;
		}
		pthread_rwlock_wrlock(&watch_lock);
		old_cert = w->cert;
		old_pkey = w->pkey;
		old_chain = w->chain;
		w->cert = cert;
		w->pkey = pkey;
		w->chain = chain;
		pthread_rwlock_unlock(&watch_lock);
		X509_free(old_cert);
		EVP_PKEY_free(old_pkey);
		sk_X509_pop_free(old_chain, X509_free);
		gh_log_info("reload", NULL, "TLS certificate %s loaded", w->crt);
	}
}

const char *
gh_service_intern(const char *s)
{
	static const char *kept[64];
	static size_t nkept;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	const char *out = NULL;

	if (s == NULL)
		return NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nkept && out == NULL; i++)
		if (strcmp(kept[i], s) == 0)
			out = kept[i];
	if (out == NULL && nkept < sizeof(kept) / sizeof(kept[0]) && (out = strdup(s)) != NULL)
		kept[nkept++] = out;
	pthread_mutex_unlock(&lock);
	return out;
}

struct gh_settings *
gh_service_reload(enum gh_component comp)
{
	struct gh_settings *s;
	int lvl;

	if (svc_config == NULL)
		return NULL;
	s = gh_config_load(svc_config, comp);
	if (s == NULL) {
		gh_log_error("reload", NULL, "%s is not valid (errors above): nothing reloaded", svc_config);
		return NULL;
	}
	gh_log_info("reload", NULL, "%s read again: log level %s", svc_config,
	    gh_settings_str(s, "log.level"));
	lvl = gh_log_level_parse(gh_settings_str(s, "log.level"));
	if (lvl >= 0)
		gh_log_init(NULL, 2, (enum gh_log_level)lvl);
	if (nproxied > 0) {
		const char *tp = gh_service_intern(gh_settings_str(s, "http.trusted_proxies"));

		for (size_t i = 0; i < nproxied && tp != NULL; i++)
			gh_http_server_set_trusted_proxies(proxied[i], tp);
	}
	watches_reload();
	return s;
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
	if (ctx == NULL) {
		fprintf(stderr, "%s: TLS: %s (run gatehouse init first)\n", prog, err);
		return NULL;
	}
	if (gh_service_tls_watch(ctx, crt, key) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
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
	/* the certificate it presents is re-read on reload too */
	if (ctx != NULL && comp != NULL && gh_service_tls_watch(ctx, crt, key) != 0) {
		fprintf(stderr, "%s: TLS client: cannot watch %s\n", prog, crt);
		SSL_CTX_free(ctx);
		return NULL;
	}
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
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "%s: PR_SET_NO_NEW_PRIVS: %s\n", prog, strerror(errno));
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

static void (*reload_hook)(const struct gh_settings *s, void *arg);
static void *reload_arg;

void
gh_service_on_reload(void (*fn)(const struct gh_settings *s, void *arg), void *arg)
{
	reload_hook = fn;
	reload_arg = arg;
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct gh_settings *s;

	(void)sig;
	(void)what;
	(void)arg;
	gh_log_info("reload", NULL, "SIGHUP: reloading");
	s = gh_service_reload(GH_COMP_NODE);
	if (s != NULL && reload_hook != NULL)
		reload_hook(s, reload_arg);
	gh_settings_free(s);
}

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
	struct event *hup = evsignal_new(base, SIGHUP, on_hup, NULL);
	int rc = -1;

	if (term != NULL && intr != NULL && hup != NULL && evsignal_add(term, NULL) == 0 &&
	    evsignal_add(intr, NULL) == 0 && evsignal_add(hup, NULL) == 0) {
		event_base_dispatch(base);
		rc = 0;
	}
	if (term != NULL)
		event_free(term);
	if (intr != NULL)
		event_free(intr);
	if (hup != NULL)
		event_free(hup);
	return rc;
}

int
gh_service_args(int argc, char **argv, const char *prog, const char **config)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	*config = GH_CONFIG_DEFAULT;
	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (o == 'V') {
			printf("%s %s\n", prog, GH_VERSION);
			exit(0);
		}
		if (o != 'c')
			goto usage;
		*config = optarg;
	}
	if (optind != argc)
		goto usage;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "%s: PR_SET_NO_NEW_PRIVS: %s\n", prog, strerror(errno));
		return 2;
	}
	svc_config = *config;
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
