/*
 * The foundation's pieces together: certificates from our own CA
 * (core/pki.c), a server context requiring them (core/tls.c), the HTTP
 * server with an endpoint allow list, and our HTTP client presenting a
 * component certificate.  A portal may call, a gateway may not (403), a
 * certificate from another CA cannot connect, and the handler sees the
 * caller's gatehouse:// identity.  Usage: test_mtls_pki DIR
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>

#include "core/gh_http.h"
#include "core/gh_log.h"
#include "core/gh_pki.h"
#include "core/gh_tls.h"
#include "th.h"
#include "th_http.h"

static struct gh_http_server *srv;
static SSL_CTX *srv_ctx;
static char dir[400];

static void
who_handler(struct gh_http_req *req, void *arg)
{
	char body[256];

	(void)arg;
	snprintf(body, sizeof(body), "{\"role\":\"%s\",\"env\":\"%s\",\"node\":\"%s\"}",
	    req->has_peer_id ? req->peer_id.role : "", req->has_peer_id ? req->peer_id.env : "",
	    req->has_peer_id ? req->peer_id.node : "");
	gh_http_respond(req, 200, "application/json", body, strlen(body));
}

static void
start_server(void *arg)
{
	struct gh_http_server_cfg cfg = { 0 };
	char err[256];

	(void)arg;
	gh_http_limits_default(&cfg.limits);
	cfg.name = "km-internal";
	cfg.ssl = srv_ctx;
	cfg.mtls_allow = "portal,publisher";
	cfg.handler = who_handler;
	srv = gh_http_server_new(th_base, &cfg);
	if (srv == NULL || gh_http_server_listen(srv, "127.0.0.1", 0, err, sizeof(err)) != 0)
		fprintf(stderr, "listen: %s\n", err);
}

static void
stop_server(void *arg)
{
	(void)arg;
	gh_http_server_free(srv);
}

static char *
path(const char *name)
{
	static char bufs[16][512];
	static int i;
	char *p = bufs[i++ % 16];

	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static int
fetch_as(const char *who, int port, struct gh_httpc_resp *out)
{
	struct gh_httpc_cfg cfg = { 0 };
	char url[128], err[256], crt[64], key[64];
	int rc;

	snprintf(crt, sizeof(crt), "%s.crt", who);
	snprintf(key, sizeof(key), "%s.key", who);
	cfg.ssl = gh_tls_client_ctx(path("ca.crt"), who ? path(crt) : NULL, who ? path(key) : NULL,
	    err, sizeof(err));
	cfg.connect_timeout_ms = 3000;
	cfg.timeout_ms = 3000;
	if (cfg.ssl == NULL) {
		fprintf(stderr, "client ctx: %s\n", err);
		return -1;
	}
	snprintf(url, sizeof(url), "https://localhost:%d/internal/km/v1/introspect", port);
	rc = gh_httpc_fetch(&cfg, "GET", url, NULL, 0, NULL, 0, out);
	SSL_CTX_free(cfg.ssl);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *names[] = { "localhost", "127.0.0.1", NULL };
	struct gh_httpc_resp r;
	char err[256];
	int port;

	signal(SIGPIPE, SIG_IGN);
	gh_log_init("test", open("/dev/null", O_WRONLY), GH_LOG_ERROR);
	snprintf(dir, sizeof(dir), "%s", argc > 1 ? argv[1] : "/tmp");
	TH_TEST("issue certificates from our CA");
	TH_CHECK(gh_pki_ca_create("CA", 10, path("ca.key"), path("ca.crt"), err, sizeof(err)) == 0);
	TH_CHECK(gh_pki_issue(path("ca.key"), path("ca.crt"), "keymanager", "-", "n1", names, 10,
	    path("km.key"), path("km.crt"), err, sizeof(err)) == 0);
	TH_CHECK(gh_pki_issue(path("ca.key"), path("ca.crt"), "portal", "-", "n1", names, 10,
	    path("portal.key"), path("portal.crt"), err, sizeof(err)) == 0);
	TH_CHECK(gh_pki_issue(path("ca.key"), path("ca.crt"), "gw-external", "dmz", "n2", names, 10,
	    path("gw.key"), path("gw.crt"), err, sizeof(err)) == 0);
	TH_CHECK(gh_pki_ca_create("Rogue", 10, path("rogue-ca.key"), path("rogue-ca.crt"), err, sizeof(err)) == 0);
	TH_CHECK(gh_pki_issue(path("rogue-ca.key"), path("rogue-ca.crt"), "portal", "-", "evil", names, 10,
	    path("rogue.key"), path("rogue.crt"), err, sizeof(err)) == 0);

	srv_ctx = gh_tls_server_ctx(path("km.crt"), path("km.key"), path("ca.crt"), err, sizeof(err));
	TH_CHECK_MSG(srv_ctx != NULL, "%s", err);
	if (srv_ctx == NULL)
		TH_END();
	th_loop_start();
	th_loop_run(start_server, NULL);
	port = gh_http_server_port(srv);

	TH_TEST("an allowed component is served and identified");
	TH_CHECK(fetch_as("portal", port, &r) == 0 && r.error == GH_HTTPC_OK && r.status == 200);
	TH_CHECK(r.body != NULL && strstr((char *)r.body, "\"role\":\"portal\"") &&
	    strstr((char *)r.body, "\"node\":\"n1\""));
	gh_httpc_resp_clear(&r);

	TH_TEST("a component whose role is not allowed gets 403");
	TH_CHECK(fetch_as("gw", port, &r) == 0 && r.status == 403);
	TH_CHECK(r.body != NULL && strstr((char *)r.body, "\"code\":403"));
	gh_httpc_resp_clear(&r);

	TH_TEST("a certificate from another CA cannot connect");
	fetch_as("rogue", port, &r);
	TH_CHECK(r.error == GH_HTTPC_ECONNECT || r.error == GH_HTTPC_ECLOSED);
	gh_httpc_resp_clear(&r);

	TH_TEST("no client certificate cannot connect");
	fetch_as(NULL, port, &r);
	TH_CHECK(r.error == GH_HTTPC_ECONNECT || r.error == GH_HTTPC_ECLOSED);
	gh_httpc_resp_clear(&r);

	th_loop_run(stop_server, NULL);
	th_loop_stop();
	SSL_CTX_free(srv_ctx);
	TH_END();
}
