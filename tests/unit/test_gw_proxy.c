/*
 * The proxy, CORS, GeoIP and analytics phases in one process: a real
 * gh_http_server whose handler builds the gateway's request by hand (a
 * fixed store of four APIs, the caller's key type from a test header)
 * and runs cors → geo → proxy, against tests/lib/backend.py backends
 * (argv[1]) and a dead port.  Checks what the backend receives (headers
 * forwarded and dropped, X-Forwarded-For, X-JWT-Assertion), retries and
 * ejection, 502/504 bodies, sandbox routing, CORS, geo refusals, a client
 * going away, and the analytics spool.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_config.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "gateway/gw.h"
#include "th.h"
#include "th_http.h"

static struct gw_worker W;
static struct gw_store S;
static struct gw_api apis[4];
static struct gw_endpoint eps[4];   /* dead, prod, sandbox */
static struct gh_http_server *srv;
static int gw_port;
static char tmpdir[] = "/tmp/gh-test.gwproxy.XXXXXX";
static char prod_log[600], sand_log[600];
static pid_t be_pids[2];
static int requests;
static char log_path[600];

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
t_abort(struct gh_http_req *req, void *arg)
{
	struct gw_req *r = arg;

	(void)req;
	r->http = NULL;
	if (r->status == 0)
		r->status = 499;
}

static void
handler(struct gh_http_req *req, void *arg)
{
	struct gw_req *r = calloc(1, sizeof(*r));
	const char *kt = gh_http_req_header(req, "x-test-key"), *who = gh_http_req_header(req, "x-test-sub");
	enum gw_rc rc;
	int i;

	(void)arg;
	requests++;
	r->w = &W;
	r->http = req;
	r->store = &S;
	r->t_start_us = mono_us();
	req->on_abort = t_abort;
	req->abort_arg = r;
	i = req->path[1] >= '1' && req->path[1] <= '4' && req->path[2] == '/' ? req->path[1] - '1' : 0;
	r->match.api = &apis[i];
	r->match.rest = strdup(req->path + 2);
	snprintf(r->who.key_type, sizeof(r->who.key_type), "%s", kt ? kt : "PRODUCTION");
	snprintf(r->who.sub, sizeof(r->who.sub), "%s", who ? who : "bob");
	snprintf(r->who.jti, sizeof(r->who.jti), "jti-%s", who ? who : "bob");
	r->who.kind = 1;
	gw_analytics_begin(r);
	if ((rc = gw_phase_cors(r)) != GW_OK || (rc = gw_phase_geo(r)) != GW_OK ||
	    (rc = gw_phase_proxy(r)) == GW_AGAIN) {
		if (rc != GW_AGAIN && rc != GW_OK)
			gw_pipeline_resume(r, rc);
		return;
	}
	gw_pipeline_resume(r, rc);
}

static void
worker_init(void *arg)
{
	struct gh_http_server_cfg c;
	char err[256];

	(void)arg;
	W.base = th_base;
	TH_CHECK_EQ_INT(gw_proxy_worker_init(&W), 0);
	memset(&c, 0, sizeof(c));
	c.name = "test";
	c.handler = handler;
	c.trusted_proxies = "127.0.0.2";
	srv = gh_http_server_new(th_base, &c);
	TH_CHECK(srv != NULL && gh_http_server_listen(srv, "127.0.0.1", 0, err, sizeof(err)) == 0);
	gw_port = gh_http_server_port(srv);
}

static void
worker_free(void *arg)
{
	(void)arg;
	gh_http_server_free(srv);
	gw_proxy_worker_free(&W);
}

/* Start backend.py NAME; returns its port. */
static int
backend(const char *py, const char *name, const char *log, pid_t *pid)
{
	int p[2], port = 0;
	char line[64];
	FILE *f;

	if (pipe(p) != 0)
		return 0;
	*pid = fork();
	if (*pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl("/usr/bin/python3", "python3", py, name, "0", log, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	if (f != NULL && fgets(line, sizeof(line), f) != NULL)
		sscanf(line, "READY %d", &port);
	if (f != NULL)
		fclose(f);
	return port;
}

static void
endpoint(struct gw_endpoint *e, int port, const char *base)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, base);
	e->url = strdup(url);
	e->scheme = "http";
	e->host = "127.0.0.1";
	e->port = port;
	e->base_path = (char *)base;
}

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* One request from source address src ("127.0.0.1" or "127.0.0.2"). */
static int
ask(const char *src, const char *req, struct th_resp *resp, int head)
{
	struct th_cli c;
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };
	int rc;

	memset(&c, 0, sizeof(c));
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, src, &sa.sin_addr);
	bind(c.fd, (struct sockaddr *)&sa, sizeof(sa));
	sa.sin_port = htons((uint16_t)gw_port);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(c.fd);
		return -1;
	}
	th_cli_sends(&c, req);
	rc = th_cli_read_resp(&c, resp, head);
	th_cli_close(&c);
	return rc == 0 ? resp->status : -1;
}

static int
lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, ch;

	while (f != NULL && (ch = fgetc(f)) != EOF)
		n += ch == '\n';
	if (f != NULL)
		fclose(f);
	return n;
}

/* The last request the backend recorded (json_object_put). */
static struct json_object *
last(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *keep = NULL;
	size_t cap = 0;
	struct json_object *o;

	while (f != NULL && getline(&line, &cap, f) > 0) {
		free(keep);
		keep = strdup(line);
	}
	if (f != NULL)
		fclose(f);
	free(line);
	o = keep ? json_tokener_parse(keep) : NULL;
	free(keep);
	return o;
}

static const char *
hdr(struct json_object *req, const char *name)
{
	struct json_object *h = NULL;

	if (req == NULL || !json_object_object_get_ex(req, "headers", &h))
		return NULL;
	return gh_json_str(h, name);
}

static void
setup(const char *py)
{
	char conf[700], cmd[800];
	FILE *f;
	int prod, sand;
	static char *fr[] = { "FR", NULL };
	static char *origins[] = { "https://portal.example", NULL };

	TH_CHECK(mkdtemp(tmpdir) != NULL);
	snprintf(log_path, sizeof(log_path), "%s/gw.log", tmpdir);
	gh_log_init("gw-external", open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600), GH_LOG_INFO);
	snprintf(conf, sizeof(conf), "%s/gatehouse.conf", tmpdir);
	f = fopen(conf, "w");
	fprintf(f, "[node]\nname = test-node\ndata_dir = %s\n[gw-external]\nupstream_connect_timeout = 500ms\n"
	    "upstream_timeout = 1s\nupstream_eject = 1s\ntrusted_proxies = 127.0.0.2\naccess_log = on\n", tmpdir);
	fclose(f);
	gw.cfg = gh_config_load(conf, GH_COMP_GW_EXTERNAL);
	TH_CHECK(gw.cfg != NULL);
	gw.env = "External";
	snprintf(gw.node, sizeof(gw.node), "test-node");
	TH_CHECK_EQ_INT(gw_backend_jwt_init(), 0);
	TH_CHECK(gw.backend_key != NULL && gw.backend_kid[0] != '\0');
	snprintf(cmd, sizeof(cmd), "%s/gw-external-backend-key.pem", tmpdir);
	{
		struct stat st;

		TH_CHECK(stat(cmd, &st) == 0 && (st.st_mode & 0777) == 0600);
	}
	TH_CHECK_EQ_INT(gw_proxy_init(), 0);
	TH_CHECK_EQ_INT(gw_analytics_init(), 0);
	snprintf(prod_log, sizeof(prod_log), "%s/prod.log", tmpdir);
	snprintf(sand_log, sizeof(sand_log), "%s/sand.log", tmpdir);
	prod = backend(py, "prod", prod_log, &be_pids[0]);
	sand = backend(py, "sandbox", sand_log, &be_pids[1]);
	TH_CHECK(prod > 0 && sand > 0);
	endpoint(&eps[0], free_port(), "");
	endpoint(&eps[1], prod, "");
	endpoint(&eps[2], sand, "/sb");
	endpoint(&eps[3], prod, "");
	for (int i = 0; i < 4; i++) {
		apis[i].id = "api";
		apis[i].name = "Pizza";
		apis[i].tenant = "carbon.super";
		apis[i].context = "/pizza";
		apis[i].version = "1.0.0";
		apis[i].prod = &eps[i == 0 ? 0 : 3];
		apis[i].nprod = i == 0 ? 2 : 1;
	}
	apis[0].sand = &eps[2];
	apis[0].nsand = 1;
	apis[0].backend_jwt = 1;
	apis[0].cors.enabled = 1;
	apis[0].cors.origins = origins;
	apis[0].cors.allow_credentials = 1;
	apis[2].geo_mode = 1;
	apis[2].geo_countries = fr;
	apis[3].geo_mode = 2;
	apis[3].geo_countries = fr;
	S.refs = 1 << 30;
	th_loop_start();
	th_loop_run(worker_init, NULL);
}

static void
test_forwarding(void)
{
	struct th_resp resp;
	struct json_object *b;
	struct gh_jws jws;
	const char *a;

	TH_TEST("headers forwarded and dropped; retry on another endpoint");
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /1/items/7?x=1&y=%20z HTTP/1.1\r\nHost: api.example\r\n"
	    "Authorization: Bearer secret\r\napikey: k\r\nX-JWT-Assertion: forged\r\nX-Custom: v1\r\n"
	    "Proxy-Authorization: Basic eDp5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: h\r\nTE: trailers\r\n"
	    "X-Forwarded-For: 6.6.6.6\r\nX-Request-ID: req-123\r\nUser-Agent: tester/1\r\n\r\n", &resp, 0), 200);
	b = last(prod_log);
	TH_CHECK_EQ_STR(gh_json_str(b, "path"), "/items/7");
	TH_CHECK_EQ_STR(gh_json_str(b, "query"), "x=1&y=%20z");
	TH_CHECK_EQ_STR(hdr(b, "x-custom"), "v1");
	TH_CHECK(hdr(b, "authorization") == NULL);
	TH_CHECK(hdr(b, "apikey") == NULL);
	TH_CHECK(hdr(b, "proxy-authorization") == NULL);
	TH_CHECK(hdr(b, "x-hop") == NULL);
	TH_CHECK(hdr(b, "te") == NULL);
	TH_CHECK_EQ_STR(hdr(b, "x-forwarded-for"), "127.0.0.1");      /* untrusted peer: its XFF ignored */
	TH_CHECK_EQ_STR(hdr(b, "x-forwarded-proto"), "http");
	TH_CHECK_EQ_STR(hdr(b, "x-forwarded-host"), "api.example");
	TH_CHECK_EQ_STR(hdr(b, "x-request-id"), "req-123");
	TH_CHECK_EQ_STR(hdr(b, "user-agent"), "tester/1");
	TH_CHECK(hdr(b, "host") != NULL && strncmp(hdr(b, "host"), "127.0.0.1:", 10) == 0);
	a = hdr(b, "x-jwt-assertion");
	memset(&jws, 0, sizeof(jws));
	TH_CHECK(a != NULL && strcmp(a, "forged") != 0 &&
	    gh_jws_verify_key(a, strlen(a), gw.backend_key, &jws) == GH_JOSE_OK);
	TH_CHECK_EQ_STR(jws.claims ? gh_json_str(jws.claims, "sub") : NULL, "bob");
	TH_CHECK_EQ_STR(jws.claims ? gh_json_str(jws.claims, "http://wso2.org/claims/apicontext") : NULL, "/pizza");
	gh_jws_clear(&jws);
	json_object_put(b);
	TH_CHECK_EQ_STR(th_resp_header(&resp, "X-Request-ID"), "req-123");
	TH_CHECK_EQ_STR(th_resp_header(&resp, "Content-Type"), "application/json");
	TH_CHECK(strstr(resp.head, "Content-Type") == strstr(resp.head, "Content-Type") &&
	    strstr(strstr(resp.head, "Content-Type") + 1, "Content-Type") == NULL);

	TH_TEST("X-Forwarded-For through a trusted proxy");
	TH_CHECK_EQ_INT(ask("127.0.0.2", "GET /1/xff HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n",
	    &resp, 0), 200);
	b = last(prod_log);
	TH_CHECK_EQ_STR(hdr(b, "x-forwarded-for"), "203.0.113.7, 127.0.0.2");
	json_object_put(b);

	TH_TEST("request body");
	TH_CHECK_EQ_INT(ask("127.0.0.1", "POST /1/orders HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", &resp, 0), 200);
	b = last(prod_log);
	TH_CHECK_EQ_STR(gh_json_str(b, "body"), "hello world");
	TH_CHECK_EQ_STR(hdr(b, "content-length"), "11");
	TH_CHECK(hdr(b, "transfer-encoding") == NULL);
	json_object_put(b);
}

static void
test_errors(void)
{
	struct th_resp resp;
	int n502 = 0, n200 = 0, before;

	TH_TEST("ejection: a POST (never retried) avoids the dead endpoint while it is ejected");
	/* GETs that meet the dead endpoint are retried on the live one, and eject it */
	for (int i = 0; i < 2; i++)
		n200 += ask("127.0.0.1", "GET /1/g HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0) == 200;
	TH_CHECK_EQ_INT(n200, 2);
	n200 = 0;
	/* while it is ejected, POSTs all reach the live one */
	for (int i = 0; i < 4; i++)
		n200 += ask("127.0.0.1", "POST /1/p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &resp, 0) == 200;
	TH_CHECK_EQ_INT(n200, 4);
	usleep(1100 * 1000);
	/* ejection over: round-robin gives the dead one a POST again, which is not retried */
	for (int i = 0; i < 2; i++)
		if (ask("127.0.0.1", "POST /1/p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &resp, 0) == 502) {
			n502++;
			TH_CHECK(strstr(resp.body, "Error connecting to the back end") != NULL);
		}
	TH_CHECK_EQ_INT(n502, 1);

	TH_TEST("502 and 504");
	/* streamed: the backend's head went out, so its death cuts the client's response */
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /2/die HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0), -1);
	TH_TEST("streamed: HEAD keeps the backend's Content-Length, a GET gets its bytes");
	TH_CHECK_EQ_INT(ask("127.0.0.1", "HEAD /2/stream/5000 HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 1), 200);
	TH_CHECK_EQ_STR(th_resp_header(&resp, "Content-Length"), "5000");
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /2/stream/5000 HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0), 200);
	TH_CHECK_EQ_INT(resp.body_len, 5000);
	TH_CHECK(resp.body[0] == 's' && resp.body[4999] == 's');
	TH_CHECK_EQ_STR(th_resp_header(&resp, "Content-Type"), "application/octet-stream");
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /2/slow/1500 HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0), 504);
	TH_CHECK(strstr(resp.body, "\"code\":101504") != NULL);
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /2/status/503 HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0), 503);

	TH_TEST("sandbox keys");
	before = lines(sand_log);
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /1/s HTTP/1.1\r\nHost: a\r\nX-Test-Key: SANDBOX\r\n\r\n", &resp, 0), 200);
	TH_CHECK_EQ_INT(lines(sand_log), before + 1);
	{
		struct json_object *b = last(sand_log);

		TH_CHECK_EQ_STR(gh_json_str(b, "path"), "/sb/s");
		json_object_put(b);
	}
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /2/s HTTP/1.1\r\nHost: a\r\nX-Test-Key: SANDBOX\r\n\r\n", &resp, 0), 401);
	TH_CHECK(strstr(resp.body, "900901") != NULL);
}

static void
test_cors_geo(void)
{
	struct th_resp resp;
	int before = lines(prod_log);

	TH_TEST("CORS");
	TH_CHECK_EQ_INT(ask("127.0.0.1", "OPTIONS /1/x HTTP/1.1\r\nHost: a\r\nOrigin: https://portal.example\r\n"
	    "Access-Control-Request-Method: POST\r\n\r\n", &resp, 0), 204);
	TH_CHECK_EQ_STR(th_resp_header(&resp, "Access-Control-Allow-Origin"), "https://portal.example");
	TH_CHECK(th_resp_header(&resp, "Access-Control-Allow-Methods") != NULL);
	TH_CHECK_EQ_STR(th_resp_header(&resp, "Access-Control-Allow-Credentials"), "true");
	TH_CHECK_EQ_INT(ask("127.0.0.1", "OPTIONS /1/x HTTP/1.1\r\nHost: a\r\nOrigin: https://evil.example\r\n"
	    "Access-Control-Request-Method: POST\r\n\r\n", &resp, 0), 204);
	TH_CHECK(th_resp_header(&resp, "Access-Control-Allow-Origin") == NULL);
	TH_CHECK_EQ_INT(lines(prod_log), before);      /* preflights never reach the backend */
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /1/x HTTP/1.1\r\nHost: a\r\nOrigin: https://portal.example\r\n\r\n",
	    &resp, 0), 200);
	TH_CHECK_EQ_STR(th_resp_header(&resp, "Access-Control-Allow-Origin"), "https://portal.example");
	TH_CHECK_EQ_STR(th_resp_header(&resp, "Vary"), "Origin");

	TH_TEST("GeoIP: allow mode refuses an unknown country, deny mode lets it in");
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /3/x HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0), 403);
	TH_CHECK(strstr(resp.body, "900806") != NULL);
	TH_CHECK_EQ_INT(ask("127.0.0.1", "GET /4/x HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0), 200);
}

static void
test_gone(void)
{
	struct th_cli c;

	TH_TEST("a client that goes away while the backend works");
	TH_CHECK_EQ_INT(th_cli_open(&c, gw_port), 0);
	th_cli_sends(&c, "GET /2/slow/300 HTTP/1.1\r\nHost: a\r\nX-Request-ID: gone-1\r\n\r\n");
	usleep(50 * 1000);
	th_cli_close(&c);
	usleep(500 * 1000);
	TH_CHECK(1);
}

static void
test_spool(void)
{
	char path[700], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int n = 0, seen_req = 0, seen_gone = 0;

	TH_TEST("analytics: one event per request");
	th_loop_run(worker_free, NULL);
	gw_analytics_shutdown();
	snprintf(path, sizeof(path), "%s/spool-gw-external/spool-00000000.jsonl", tmpdir);
	f = fopen(path, "r");
	TH_CHECK(f != NULL);
	while (f != NULL && getline(&line, &cap, f) > 0) {
		struct json_object *o = json_tokener_parse(line);
		const char *id = o ? gh_json_str(o, "correlationId") : NULL;

		n++;
		if (id != NULL && strcmp(id, "req-123") == 0) {
			seen_req = 1;
			TH_CHECK_EQ_STR(gh_json_str(o, "apiName"), "Pizza");
			TH_CHECK_EQ_STR(gh_json_str(o, "apiContext"), "/pizza");
			TH_CHECK_EQ_STR(gh_json_str(o, "userAgent"), "tester/1");
			TH_CHECK_EQ_STR(gh_json_str(o, "userIp"), "127.0.0.1");
			TH_CHECK_EQ_STR(gh_json_str(o, "gatewayNode"), "test-node");
			TH_CHECK_EQ_STR(gh_json_str(o, "environment"), "External");
			TH_CHECK_EQ_STR(gh_json_str(o, "keyType"), "PRODUCTION");
			TH_CHECK(gh_json_str(o, "id") != NULL && strlen(gh_json_str(o, "id")) == 32);
			TH_CHECK(json_object_get_int(json_object_object_get(o, "proxyResponseCode")) == 200);
			TH_CHECK(json_object_get_int(json_object_object_get(o, "targetResponseCode")) == 200);
			TH_CHECK(json_object_object_get(o, "timestamp") != NULL);
		}
		if (id != NULL && strcmp(id, "gone-1") == 0) {
			seen_gone = 1;
			TH_CHECK(json_object_get_int(json_object_object_get(o, "proxyResponseCode")) == 499);
		}
		json_object_put(o);
	}
	if (f != NULL)
		fclose(f);
	free(line);
	line = NULL;
	cap = 0;
	TH_CHECK_EQ_INT(n, requests);
	TH_CHECK(seen_req && seen_gone);

	TH_TEST("access log: one gw_access JSON line per request (beside the server's own access line)");
	n = 0;
	f = fopen(log_path, "r");
	while (f != NULL && getline(&line, &cap, f) > 0) {
		struct json_object *o = json_tokener_parse(line);
		const char *ev = o ? gh_json_str(o, "event") : NULL;

		TH_CHECK_MSG(o != NULL, "not JSON: %s", line);
		if (ev != NULL && strcmp(ev, "gw_access") == 0) {
			n++;
			if (strcmp(gh_json_str(o, "request_id") ? gh_json_str(o, "request_id") : "", "req-123") == 0) {
				TH_CHECK_EQ_STR(gh_json_str(o, "path"), "/1/items/7");
				TH_CHECK_EQ_STR(gh_json_str(o, "method"), "GET");
				TH_CHECK(json_object_get_int(json_object_object_get(o, "status")) == 200);
			}
		}
		json_object_put(o);
	}
	if (f != NULL)
		fclose(f);
	free(line);
	TH_CHECK_EQ_INT(n, requests);
}

int
main(int argc, char **argv)
{
	char cmd[800];

	if (argc < 2) {
		fprintf(stderr, "usage: test_gw_proxy tests/lib/backend.py\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setup(argv[1]);
	test_forwarding();
	test_errors();
	test_cors_geo();
	test_gone();
	test_spool();
	th_loop_stop();
	for (int i = 0; i < 2; i++) {
		kill(be_pids[i], SIGTERM);
		waitpid(be_pids[i], NULL, 0);
	}
	gh_jwk_free(gw.backend_key);
	gh_settings_free(gw.cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	TH_END();
}
