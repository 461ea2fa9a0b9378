/*
 * Tests of core/tls.c and of the HTTP server over TLS.  Unit part:
 * gh_mtls_allowed() and the parsing of gatehouse:// subjectAltName URIs
 * from certificates built here (malformed ones included).  Server part
 * (needs the PEM files that tests/foundation/21-tls.t makes with the
 * openssl CLI, folder in argv[1]): HTTPS, mutual TLS with the identity
 * seen by the handler, and refusal of a foreign CA, of no certificate
 * and of a role the endpoint does not allow (403).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/gh_http.h"
#include "core/gh_log.h"
#include "core/gh_tls.h"
#include "th.h"
#include "th_http.h"

static const char *dir;
static SSL_CTX *ctx_plain, *ctx_mtls;
static struct gh_http_server *s_tls, *s_mtls, *s_open;
static int p_tls, p_mtls, p_open;

/* ---- unit: allow lists and SAN parsing ------------------------------- */

static void
test_allowed(void)
{
	struct gh_peer_id gi = { "gw-internal", "lan", "node1" };
	struct gh_peer_id ge = { "gw-external", "dmz", "node2" };
	struct gh_peer_id po = { "portal", "-", "node1" };

	TH_TEST("gh_mtls_allowed");
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "gw-internal/*,portal"), 1);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&po, "gw-internal/*,portal"), 1);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&ge, "gw-internal/*,portal"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&ge, "gw-external/dmz"), 1);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&ge, "gw-external/lan"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&ge, " publisher , gw-external/dmz "), 1);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "gw-internal"), 1);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&po, "portal/-"), 1);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&po, "portal/lan"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "gw-int"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "gw-internal-x/*"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "GW-INTERNAL/*"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "gw-internal/la"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "gw-internal/"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "*"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, "/*"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, ""), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, ",,"), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(&gi, NULL), 0);
	TH_CHECK_EQ_INT(gh_mtls_allowed(NULL, "gw-internal/*"), 0);
}

/* A certificate (unsigned; parsing does not verify) with the given URI SANs, and a DNS one. */
static X509 *
cert_with_uris(const char *const *uris, const size_t *lens, int n)
{
	X509 *x = X509_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *dns = GENERAL_NAME_new();
	ASN1_IA5STRING *ds = ASN1_IA5STRING_new();

	ASN1_STRING_set(ds, "localhost", 9);
	GENERAL_NAME_set0_value(dns, GEN_DNS, ds);
	sk_GENERAL_NAME_push(gens, dns);
	for (int i = 0; i < n; i++) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		ASN1_STRING_set(s, uris[i], (int)lens[i]);
		GENERAL_NAME_set0_value(gn, GEN_URI, s);
		sk_GENERAL_NAME_push(gens, gn);
	}
	X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
	GENERAL_NAMES_free(gens);
	return x;
}

static int
parse_one(const char *uri, size_t len, struct gh_peer_id *id)
{
	X509 *x = cert_with_uris(&uri, &len, 1);
	int rc = gh_tls_peer_id_from_cert(x, id);

	X509_free(x);
	return rc;
}

#define URI(s) parse_one(s, sizeof(s) - 1, &id)

static void
test_peer_id_parse(void)
{
	struct gh_peer_id id;
	X509 *x;

	TH_TEST("peer id: well-formed");
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal/lan/node1"), 0);
	TH_CHECK_EQ_STR(id.role, "gw-internal");
	TH_CHECK_EQ_STR(id.env, "lan");
	TH_CHECK_EQ_STR(id.node, "node1");
	TH_CHECK_EQ_INT(URI("gatehouse://keymanager/-/n_2.example"), 0);
	TH_CHECK_EQ_STR(id.env, "-");
	TH_CHECK_EQ_STR(id.node, "n_2.example");

	TH_TEST("peer id: malformed URIs refused");
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal/lan"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal/lan/node1/extra"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal/lan/node1/"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse:///lan/node1"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal//node1"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal/lan/"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw internal/lan/node1"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal/lan/node1?x=1"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal/lan/node%31"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal/lan/node1\0.evil"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://gw-internal\0/lan/node1"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://user@gw-internal/lan/node1"), -1);
	TH_CHECK_EQ_INT(URI("GATEHOUSE://gw-internal/lan/node1"), -1);
	TH_CHECK_EQ_INT(URI("https://gw-internal/lan/node1"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/lan/node1"), -1);
	TH_CHECK_EQ_INT(URI("gatehouse://r/e/n\xc3\xa9"), -1);
	TH_CHECK(id.role[0] == '\0');

	TH_TEST("peer id: certificate without / with two identities");
	x = cert_with_uris(NULL, NULL, 0);
	TH_CHECK_EQ_INT(gh_tls_peer_id_from_cert(x, &id), -1);
	X509_free(x);
	x = X509_new();
	TH_CHECK_EQ_INT(gh_tls_peer_id_from_cert(x, &id), -1);
	X509_free(x);
	TH_CHECK_EQ_INT(gh_tls_peer_id_from_cert(NULL, &id), -1);
	{
		const char *two[] = { "gatehouse://gw-internal/lan/a", "gatehouse://portal/-/b" };
		size_t lens[] = { strlen(two[0]), strlen(two[1]) };
		x = cert_with_uris(two, lens, 2);
		TH_CHECK_EQ_INT(gh_tls_peer_id_from_cert(x, &id), -1);
		X509_free(x);
	}
	{
		const char *mix[] = { "https://example.com/x", "gatehouse://portal/-/b" };
		size_t lens[] = { strlen(mix[0]), strlen(mix[1]) };
		x = cert_with_uris(mix, lens, 2);
		TH_CHECK_EQ_INT(gh_tls_peer_id_from_cert(x, &id), 0);
		TH_CHECK_EQ_STR(id.role, "portal");
		X509_free(x);
	}
}

static void
test_ctx_errors(void)
{
	char err[256] = "";
	SSL_CTX *c;

	TH_TEST("context errors");
	c = gh_tls_server_ctx("/nonexistent/cert.pem", "/nonexistent/key.pem", NULL, err, sizeof(err));
	TH_CHECK(c == NULL);
	TH_CHECK(strstr(err, "/nonexistent/cert.pem") != NULL);
	err[0] = '\0';
	c = gh_tls_client_ctx(NULL, "/x.pem", NULL, err, sizeof(err));
	TH_CHECK(c == NULL && err[0] != '\0');
	c = gh_tls_client_ctx(NULL, NULL, NULL, err, sizeof(err));
	TH_CHECK(c != NULL);
	if (c != NULL) {
		TH_CHECK_EQ_INT(SSL_CTX_get_min_proto_version(c), TLS1_2_VERSION);
		SSL_CTX_free(c);
	}
}

/* ---- server over TLS --------------------------------------------------- */

static char *
path(const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

static void
handler(struct gh_http_req *req, void *arg)
{
	struct json_object *o = json_object_new_object();
	char peer[200] = "";

	(void)arg;
	if (req->has_peer_id)
		snprintf(peer, sizeof(peer), "%s/%s/%s", req->peer_id.role, req->peer_id.env,
		    req->peer_id.node);
	json_object_object_add(o, "tls", json_object_new_int(req->tls));
	json_object_object_add(o, "has_peer_id", json_object_new_int(req->has_peer_id));
	json_object_object_add(o, "peer_id", json_object_new_string(peer));
	gh_http_respond_json(req, 200, o);
	json_object_put(o);
}

static struct gh_http_server *
start_one(SSL_CTX *ssl, const char *allow, int *port)
{
	struct gh_http_server_cfg cfg;
	struct gh_http_server *s;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "tls-test";
	gh_http_limits_default(&cfg.limits);
	cfg.limits.header_timeout_ms = 2000;
	cfg.ssl = ssl;
	cfg.mtls_allow = allow;
	cfg.handler = handler;
	s = gh_http_server_new(th_base, &cfg);
	if (s == NULL || gh_http_server_listen(s, "127.0.0.1", 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "listen: %s\n", err);
		*port = -1;
		return s;
	}
	*port = gh_http_server_port(s);
	return s;
}

static void
start_servers(void *arg)
{
	(void)arg;
	s_tls = start_one(ctx_plain, NULL, &p_tls);
	s_mtls = start_one(ctx_mtls, "gw-internal/*,portal", &p_mtls);
	s_open = start_one(ctx_mtls, NULL, &p_open);
}

static void
free_servers(void *arg)
{
	(void)arg;
	gh_http_server_free(s_tls);
	gh_http_server_free(s_mtls);
	gh_http_server_free(s_open);
}

/* Connect with TLS; 0 when the client-side handshake succeeded. */
static int
tls_open(struct th_cli *c, int port, SSL_CTX *cctx)
{
	if (th_cli_open(c, port) < 0)
		return -1;
	c->ssl = SSL_new(cctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set1_host(c->ssl, "localhost");
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* One GET; status or -1 when the handshake or the response failed. */
static int
tls_get(int port, SSL_CTX *cctx, struct th_resp *r, int *closed)
{
	struct th_cli c;
	int st = -1;

	*closed = 0;
	memset(r, 0, sizeof(*r));
	if (tls_open(&c, port, cctx) == 0 &&
	    th_cli_sends(&c, "GET /who HTTP/1.1\r\nHost: localhost\r\n\r\n") == 0 &&
	    th_cli_read_resp(&c, r, 0) == 0) {
		st = r->status;
		*closed = th_cli_closed(&c, 300);
	}
	ERR_clear_error();
	th_cli_close(&c);
	return st;
}

static SSL_CTX *
client(const char *ca, const char *cert, const char *key)
{
	char err[256];
	SSL_CTX *c = gh_tls_client_ctx(ca ? path(ca) : NULL, cert ? path(cert) : NULL,
	    key ? path(key) : NULL, err, sizeof(err));

	if (c == NULL)
		fprintf(stderr, "client ctx: %s\n", err);
	return c;
}

static const char *
jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void
test_server(void)
{
	char err[256];
	SSL_CTX *c_none, *c_int, *c_ext, *c_foreign, *c_wrongca;
	struct th_resp r;
	struct json_object *o;
	int closed;

	TH_TEST("server contexts");
	ctx_plain = gh_tls_server_ctx(path("server.pem"), path("server.key"), NULL, err, sizeof(err));
	TH_CHECK_MSG(ctx_plain != NULL, "%s", err);
	ctx_mtls = gh_tls_server_ctx(path("server.pem"), path("server.key"), path("ca.pem"),
	    err, sizeof(err));
	TH_CHECK_MSG(ctx_mtls != NULL, "%s", err);
	TH_CHECK(gh_tls_server_ctx(path("server.pem"), path("int.key"), NULL, err, sizeof(err)) == NULL);
	c_none = client("ca.pem", NULL, NULL);
	c_int = client("ca.pem", "int.pem", "int.key");
	c_ext = client("ca.pem", "ext.pem", "ext.key");
	c_foreign = client("ca.pem", "foreign.pem", "foreign.key");
	c_wrongca = client("foreign-ca.pem", NULL, NULL);
	TH_CHECK(c_none && c_int && c_ext && c_foreign && c_wrongca);
	if (!ctx_plain || !ctx_mtls || !c_none || !c_int || !c_ext || !c_foreign || !c_wrongca)
		return;

	th_loop_run(start_servers, NULL);
	TH_CHECK(p_tls > 0 && p_mtls > 0 && p_open > 0);

	TH_TEST("HTTPS");
	TH_CHECK_EQ_INT(tls_get(p_tls, c_none, &r, &closed), 200);
	o = json_tokener_parse(r.body);
	TH_CHECK_EQ_STR(jstr(o, "tls"), "1");
	TH_CHECK_EQ_STR(jstr(o, "has_peer_id"), "0");
	json_object_put(o);
	TH_CHECK(!closed);

	TH_TEST("HTTPS keep-alive and pipelining");
	{
		struct th_cli c;
		TH_CHECK(tls_open(&c, p_tls, c_none) == 0);
		TH_CHECK(th_cli_sends(&c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
		TH_CHECK(th_cli_sends(&c, "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
		TH_CHECK(th_cli_closed(&c, 2000));
		th_cli_close(&c);
	}

	TH_TEST("HTTPS: the client refuses a server from another CA");
	TH_CHECK_EQ_INT(tls_get(p_tls, c_wrongca, &r, &closed), -1);

	TH_TEST("HTTPS: plain HTTP on the TLS port gets nothing");
	{
		struct th_cli c;
		TH_CHECK(th_cli_open(&c, p_tls) == 0);
		TH_CHECK(th_cli_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) < 0);
		th_cli_close(&c);
	}

	TH_TEST("mTLS: allowed role");
	TH_CHECK_EQ_INT(tls_get(p_mtls, c_int, &r, &closed), 200);
	o = json_tokener_parse(r.body);
	TH_CHECK_EQ_STR(jstr(o, "has_peer_id"), "1");
	TH_CHECK_EQ_STR(jstr(o, "peer_id"), "gw-internal/lan/node1");
	json_object_put(o);

	TH_TEST("mTLS: role not allowed gets 403");
	TH_CHECK_EQ_INT(tls_get(p_mtls, c_ext, &r, &closed), 403);
	o = json_tokener_parse(r.body);
	TH_CHECK(o != NULL && strcmp(jstr(o, "code"), "403") == 0);
	json_object_put(o);
	TH_CHECK_EQ_STR(th_resp_header(&r, "Content-Type"), "application/json");
	TH_CHECK(closed);

	TH_TEST("mTLS: certificate from another CA refused in the handshake");
	TH_CHECK_EQ_INT(tls_get(p_mtls, c_foreign, &r, &closed), -1);
	TH_CHECK(r.status <= 0);

	TH_TEST("mTLS: no client certificate refused");
	TH_CHECK_EQ_INT(tls_get(p_mtls, c_none, &r, &closed), -1);

	TH_TEST("mTLS without an allow list: identity passed on");
	TH_CHECK_EQ_INT(tls_get(p_open, c_ext, &r, &closed), 200);
	o = json_tokener_parse(r.body);
	TH_CHECK_EQ_STR(jstr(o, "peer_id"), "gw-external/dmz/node2");
	json_object_put(o);
	TH_CHECK_EQ_INT(tls_get(p_open, c_foreign, &r, &closed), -1);

	TH_TEST("curl over mutual TLS");
	{
		char cmd[2048], out[4096] = "";
		FILE *f;
		size_t n;

		snprintf(cmd, sizeof(cmd), "curl -sS --max-time 5 --cacert %s --cert %s --key %s "
		    "-H 'X-Request-ID: curl-1' -d 'a=1' https://127.0.0.1:%d/who 2>&1",
		    path("ca.pem"), path("int.pem"), path("int.key"), p_mtls);
		f = popen(cmd, "r");
		n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
		out[n] = '\0';
		TH_CHECK(f != NULL && pclose(f) == 0);
		TH_CHECK_MSG(strstr(out, "\"peer_id\":\"gw-internal/lan/node1\"") != NULL, "%s", out);
		snprintf(cmd, sizeof(cmd), "curl -sS --max-time 5 --cacert %s --cert %s --key %s "
		    "-o /dev/null -w '%%{http_code}' https://127.0.0.1:%d/who 2>/dev/null",
		    path("ca.pem"), path("ext.pem"), path("ext.key"), p_mtls);
		f = popen(cmd, "r");
		n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
		out[n] = '\0';
		if (f != NULL)
			pclose(f);
		TH_CHECK_EQ_STR(out, "403");
	}

	th_loop_run(free_servers, NULL);
	SSL_CTX_free(c_none);
	SSL_CTX_free(c_int);
	SSL_CTX_free(c_ext);
	SSL_CTX_free(c_foreign);
	SSL_CTX_free(c_wrongca);
}

int
main(int argc, char **argv)
{
	gh_log_init("test_tls", 2, GH_LOG_WARN);
	test_allowed();
	test_peer_id_parse();
	test_ctx_errors();
	TH_TEST("certificate folder given");
	TH_CHECK(argc > 1);
	if (argc > 1) {
		dir = argv[1];
		th_loop_start();
		test_server();
		th_loop_stop();
	}
	SSL_CTX_free(ctx_plain);
	SSL_CTX_free(ctx_mtls);
	TH_END();
}
