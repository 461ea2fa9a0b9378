/*
 * Enrolment, POST /internal/enroll/v1 on the feed port: one transaction
 * marks the token used (unused, unexpired, unrevoked, of the asked role)
 * and signs the node's requests with the CA key loaded at start (first
 * node only); the reply adds the CA and the settings the role needs.
 * Failures are counted per client address (429 past the limit).  The
 * feed port's gate, which admits every other path only with a gateway
 * certificate, lives here too.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/pem.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "core/gh_pki.h"
#include "core/gh_service.h"
#include "publisher/pub_enrol.h"

#define ENROLL_BODY_MAX (64 * 1024)
#define ENROLL_CERT_DAYS 825
#define ENROLL_NAMES_MAX 16
#define ENROLL_FAIL_MAX 10              /* failed attempts per address ... */
#define ENROLL_FAIL_WINDOW_S 60         /* ... per this many seconds */
#define RL_SLOTS 256
#define FEED_ALLOW "gw-internal,gw-external"

struct rl_slot {
	char addr[64];
	int64_t start_s;
	int failures;
};

static struct {
	struct gh_pki_ca *ca;           /* NULL: no CA key on this node */
	char fingerprint[65];
	pthread_mutex_t rl_mu;
	struct rl_slot rl[RL_SLOTS];
} enr = { .rl_mu = PTHREAD_MUTEX_INITIALIZER };

static const char *const node_roles[] = { "all-in-one", "control-plane", "publisher", "portal",
	"keymanager", "trafficmanager", "gateway-internal", "gateway-external", NULL };

int
pub_enroll_role_known(const char *role)
{
	for (size_t i = 0; role != NULL && node_roles[i] != NULL; i++)
		if (strcmp(role, node_roles[i]) == 0)
			return 1;
	return 0;
}

int
pub_enroll_role_is_gateway(const char *role)
{
	return role != NULL && (strcmp(role, "gateway-internal") == 0 || strcmp(role, "gateway-external") == 0);
}

const char *
pub_enroll_ca_fingerprint(void)
{
	return enr.fingerprint;
}

int
pub_enroll_init(SSL_CTX *feed_tls)
{
	const char *dir = gh_settings_str(pub.cfg, "node.data_dir");
	char crt[600], key[600], err[256];
	X509 *x = NULL;
	FILE *f;

	snprintf(crt, sizeof(crt), "%s/pki/ca.crt", dir);
	snprintf(key, sizeof(key), "%s/pki/ca.key", dir);
	f = fopen(crt, "r");
	if (f != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (x == NULL || gh_pki_fingerprint_x509(x, enr.fingerprint) != 0) {
		fprintf(stderr, "gatehouse-publisher: cannot read the node CA certificate %s "
		    "(run gatehouse init first)\n", crt);
		X509_free(x);
		return -1;
	}
	/* The CA goes in the chain the feed port sends: a joining node checks its fingerprint. */
	if (SSL_CTX_add1_chain_cert(feed_tls, x) != 1) {
		fprintf(stderr, "gatehouse-publisher: cannot add the CA certificate to the feed port's chain\n");
		X509_free(x);
		return -1;
	}
	X509_free(x);
	SSL_CTX_set_verify(feed_tls, SSL_VERIFY_PEER, NULL);
	if (access(key, F_OK) != 0) {
		gh_log_info("enrolment", NULL, "no CA key on this node (%s): enrolment is done at the first node", key);
		return 0;
	}
	enr.ca = gh_pki_ca_load(key, crt, err, sizeof(err));
	if (enr.ca == NULL)
		gh_log_warn("enrolment", NULL, "the CA key cannot be loaded, enrolment answers 503: %s", err);
	return 0;
}

void
pub_enroll_shutdown(void)
{
	gh_pki_ca_free(enr.ca);
	enr.ca = NULL;
}

/* ---- failed attempts per client address ---- */

static struct rl_slot *
rl_find(const char *addr)
{
	uint32_t h = 2166136261u;

	for (const char *p = addr; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &enr.rl[h % RL_SLOTS];
}

/* 1 (and *retry seconds) when addr is past the limit.  Any thread. */
static int
rl_blocked(const char *addr, int *retry)
{
	int64_t now = gh_mono_us() / 1000000;
	struct rl_slot *s;
	int blocked = 0;

	pthread_mutex_lock(&enr.rl_mu);
	s = rl_find(addr);
	if (strcmp(s->addr, addr) == 0 && now - s->start_s < ENROLL_FAIL_WINDOW_S &&
	    s->failures >= ENROLL_FAIL_MAX) {
		blocked = 1;
		*retry = (int)(ENROLL_FAIL_WINDOW_S - (now - s->start_s));
	}
	pthread_mutex_unlock(&enr.rl_mu);
	return blocked;
}

static void
rl_fail(const char *addr)
{
	int64_t now = gh_mono_us() / 1000000;
	struct rl_slot *s;

	pthread_mutex_lock(&enr.rl_mu);
	s = rl_find(addr);
	if (strcmp(s->addr, addr) != 0 || now - s->start_s >= ENROLL_FAIL_WINDOW_S) {
		snprintf(s->addr, sizeof(s->addr), "%s", addr);
		s->start_s = now;
		s->failures = 0;
	}
	s->failures++;
	pthread_mutex_unlock(&enr.rl_mu);
}

/* ---- the request ---- */

struct enroll {
	struct gh_call *c;
	const char *token, *node, *role, *csr;
	struct json_object *csrs;       /* component -> PEM (borrowed), or NULL */
	const char *names[ENROLL_NAMES_MAX + 1];
	char hash[65];
	/* results (reset by each run of the transaction) */
	int status;                     /* 0 enrolled; 400, 401, 403 refused */
	char why[300];
	char id[64], role_out[32], env[70];
	struct json_object *certs;
};

static int
ident_ok(const char *s, size_t max)
{
	return s != NULL && gh_body_chars_ok(s, max, "._-");
}

/* 1 when s is a DNS name or an IP address that a certificate may carry. */
static int
hostname_ok(const char *s)
{
	unsigned char buf[16];

	if (s == NULL)
		return 0;
	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return 1;
	return gh_body_chars_ok(s, 253, ".-") && s[0] != '-' && s[0] != '.';
}

static void
audit(struct gh_pg *db, struct enroll *e, const char *target, const char *outcome, size_t ncomps)
{
	struct json_object *d = json_object_new_object();
	char actor[120];

	snprintf(actor, sizeof(actor), "node %s", e->node);
	json_object_object_add(d, "node", json_object_new_string(e->node));
	if (e->role_out[0] != '\0' || e->role != NULL)
		json_object_object_add(d, "role", json_object_new_string(e->role_out[0] ? e->role_out : e->role));
	if (e->env[0] != '\0' && strcmp(e->env, "-") != 0)
		json_object_object_add(d, "environment", json_object_new_string(e->env));
	if (e->status != 0)
		json_object_object_add(d, "status", json_object_new_int(e->status));
	else
		json_object_object_add(d, "certificates", json_object_new_int((int)ncomps));
	gh_call_audit(db, e->c, "publisher", actor, NULL, "enrolment.redeem", target, outcome, d);
	json_object_put(d);
}

static int
enroll_tx(struct gh_pg *db, void *arg)
{
	struct enroll *e = arg;
	const char *p[4] = { e->hash, e->node, e->c->client_addr, e->role };
	const char *comps[8][2];
	PGresult *res;
	size_t n;

	e->status = 0;
	e->why[0] = e->id[0] = e->role_out[0] = e->env[0] = '\0';
	json_object_put(e->certs);
	e->certs = NULL;
	res = gh_pg_exec(db, "UPDATE gh_enrolment_tokens SET used_at = now(), used_by_node = $2, used_from = $3 "
	    "WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() "
	    "AND ($4::text IS NULL OR role = $4::text) RETURNING id, role, coalesce(environment, '-')", 4, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) == 0) {
		int64_t live = 0;

		PQclear(res);
		if (e->role != NULL && gh_pg_query_int64(db, "SELECT count(*) FROM gh_enrolment_tokens WHERE hash = $1 "
		    "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()", 1, p, &live) != 0)
			return -1;
		e->status = live > 0 ? 403 : 401;
		return 1;
	}
	snprintf(e->id, sizeof(e->id), "%s", gh_pg_get(res, 0, 0));
	snprintf(e->role_out, sizeof(e->role_out), "%s", gh_pg_get(res, 0, 1));
	snprintf(e->env, sizeof(e->env), "%s", gh_pg_get(res, 0, 2));
	PQclear(res);
	n = gh_pki_role_components(e->role_out, pub_enroll_role_is_gateway(e->role_out) ? e->env : NULL, comps, 8);
	e->certs = json_object_new_object();
	if (n == 0 || e->certs == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = NULL;
		const char *req = e->csr;
		char err[200], *pem;

		if (e->csrs != NULL)
			req = json_object_object_get_ex(e->csrs, comps[i][0], &v) && json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : NULL;
		if (req == NULL) {
			e->status = 400;
			snprintf(e->why, sizeof(e->why), "csrs.%s (a PEM certificate request) is required for role %s",
			    comps[i][0], e->role_out);
			return 1;
		}
		pem = gh_pki_ca_sign(enr.ca, req, comps[i][0], comps[i][1], e->node, e->names, ENROLL_CERT_DAYS,
		    err, sizeof(err));
		if (pem == NULL) {
			e->status = 400;
			snprintf(e->why, sizeof(e->why), "%s%s: %s", e->csrs ? "csrs." : "csr",
			    e->csrs ? comps[i][0] : "", err);
			return 1;
		}
		json_object_object_add(e->certs, comps[i][0], json_object_new_string(pem));
		free(pem);
	}
	audit(db, e, e->id, NULL, n);
	return 0;
}

/* Add setting name of the publisher's configuration to o when it has a value. */
static void
setting_add(struct json_object *o, const char *name, const char *as)
{
	const char *v = gh_settings_str(pub.cfg, name);

	if (v != NULL && v[0] != '\0')
		json_object_object_add(o, as ? as : name, json_object_new_string(v));
}

/* What a node of role needs in its configuration besides certificates. */
static struct json_object *
settings_for(const char *role, const char *env)
{
	static const char *const cluster[] = { "cluster.keymanager_url", "cluster.keymanager_internal_url",
		"cluster.feed_url", "cluster.trafficmanager_url", NULL };
	static const char *const db[] = { "db.host", "db.port", "db.name", "db.user", "db.password", "db.sslmode",
		NULL };
	static const char *const ldap[] = { "ldap.uri", "ldap.base_dn", "ldap.bind_dn", "ldap.bind_password",
		"ldap.starttls", NULL };
	static const char *const keys[] = { "keys.signing_kek", "keys.token_alg", NULL };
	struct json_object *o = json_object_new_object();
	int gw = pub_enroll_role_is_gateway(role), tm = strcmp(role, "trafficmanager") == 0;

	for (size_t i = 0; cluster[i] != NULL; i++)
		setting_add(o, cluster[i], NULL);
	if (gw) {
		int ext = strcmp(role, "gateway-external") == 0;

		json_object_object_add(o, ext ? "gw-external.environment" : "gw-internal.environment",
		    json_object_new_string(env));
		/* gw-internal (LAN) checks Basic credentials against LDAP; gw-external (DMZ) gets nothing more */
		for (size_t i = 0; !ext && ldap[i] != NULL; i++)
			setting_add(o, ldap[i], NULL);
		return o;
	}
	for (size_t i = 0; db[i] != NULL; i++)
		setting_add(o, db[i], NULL);
	if (tm)
		return o;
	for (size_t i = 0; ldap[i] != NULL; i++)
		setting_add(o, ldap[i], NULL);
	for (size_t i = 0; keys[i] != NULL; i++)
		setting_add(o, keys[i], NULL);
	/* every key manager node signs with one issuer: the cluster's */
	if (strcmp(role, "keymanager") == 0 || strcmp(role, "control-plane") == 0 || strcmp(role, "all-in-one") == 0)
		setting_add(o, "cluster.keymanager_url", "keymanager.public_url");
	return o;
}

static void
reply_enrolled(struct gh_call *c, struct enroll *e)
{
	struct json_object *o = json_object_new_object();
	char fp[80];

	snprintf(fp, sizeof(fp), "sha256:%s", enr.fingerprint);
	json_object_object_add(o, "node", json_object_new_string(e->node));
	json_object_object_add(o, "role", json_object_new_string(e->role_out));
	json_object_object_add(o, "environment", strcmp(e->env, "-") == 0 ? NULL : json_object_new_string(e->env));
	json_object_object_add(o, "certificates", json_object_get(e->certs));
	json_object_object_add(o, "ca", json_object_new_string(gh_pki_ca_pem(enr.ca)));
	json_object_object_add(o, "caFingerprint", json_object_new_string(fp));
	json_object_object_add(o, "settings", settings_for(e->role_out, e->env));
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_reply_json(c, 200, o);
	json_object_put(o);
}

/* Read and check the body into e.  0, or -1 after replying 400/415. */
static int
enroll_parse(struct gh_call *c, struct json_object *o, struct enroll *e)
{
	static const char *const members[] = { "token", "node", "role", "hostnames", "csr", "csrs", NULL };
	struct json_object *v = NULL;
	size_t nn = 0;

	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; members[i] != NULL && strcmp(key, members[i]) != 0; i++)
			;
		if (members[i] == NULL) {
			gh_reply_error(c, 400, "Bad Request", "Unknown member: token, node, role, hostnames, csr and csrs "
			    "are known");
			return -1;
		}
	}
	if (gh_body_str(o, "token", &e->token) != 0 || e->token == NULL || strlen(e->token) > 200) {
		gh_reply_error(c, 400, "Bad Request", "token (the enrolment token) is required");
		return -1;
	}
	if (gh_body_str(o, "node", &e->node) != 0 || !ident_ok(e->node, 63)) {
		gh_reply_error(c, 400, "Bad Request", "node (this node's name: 1 to 63 of A-Z a-z 0-9 . _ -) is required");
		return -1;
	}
	if (gh_body_str(o, "role", &e->role) < 0 || (e->role != NULL && !pub_enroll_role_known(e->role))) {
		gh_reply_error(c, 400, "Bad Request", "role must be all-in-one, control-plane, publisher, portal, "
		    "keymanager, trafficmanager, gateway-internal or gateway-external");
		return -1;
	}
	if (gh_body_member(o, "hostnames", json_type_array, &v) < 0 ||
	    (v != NULL && json_object_array_length(v) > ENROLL_NAMES_MAX)) {
		gh_reply_error(c, 400, "Bad Request", "hostnames must be an array of at most 16 names");
		return -1;
	}
	for (size_t i = 0; v != NULL && i < json_object_array_length(v); i++) {
		struct json_object *h = json_object_array_get_idx(v, i);
		const char *s = json_object_is_type(h, json_type_string) ? json_object_get_string(h) : NULL;

		if (!hostname_ok(s)) {
			gh_reply_error(c, 400, "Bad Request", "hostnames: each must be a DNS name or an IP address");
			return -1;
		}
		e->names[nn++] = s;
	}
	e->names[nn] = NULL;
	if (gh_body_str(o, "csr", &e->csr) < 0 || gh_body_member(o, "csrs", json_type_object, &e->csrs) < 0 ||
	    (e->csr == NULL) == (e->csrs == NULL)) {
		gh_reply_error(c, 400, "Bad Request", "csr (one PEM certificate request or public key for every "
		    "component) or csrs (an object: component -> PEM) is required, not both");
		return -1;
	}
	if (e->csr != NULL) {
		char err[200];
		if (gh_pki_request_check(e->csr, err, sizeof(err)) != 0) {
			char why[260];
			snprintf(why, sizeof(why), "csr: %s", err);
			gh_reply_error(c, 400, "Bad Request", why);
			return -1;
		}
	}
	return 0;
}

static void
enroll(struct gh_call *c, struct gh_pg *db)
{
	struct enroll e = { 0 };
	struct json_object *o;
	char fp[65];
	int rc;

	e.c = c;
	if (enr.ca == NULL) {
		gh_reply_error(c, 503, "Service Unavailable", "This publisher holds no CA key: enrol with the "
		    "publisher of the deployment's first node");
		return;
	}
	if ((o = gh_call_body(c, 415)) == NULL)
		return;
	if (enroll_parse(c, o, &e) != 0)
		goto out;
	if (gh_enrol_token_parse(e.token, fp) != 0) {
		gh_reply_error(c, 400, "Bad Request", "token is not an enrolment token (ghe1.FINGERPRINT.SECRET)");
		goto out;
	}
	if (gh_sha256_hex(e.token, strlen(e.token), e.hash) != 0) {
		gh_reply_error(c, 500, "Internal Server Error", "Hashing failed");
		goto out;
	}
	/* A token of another deployment's CA is unknown here, as any other. */
	if (strcmp(fp, enr.fingerprint) != 0) {
		e.status = 401;
		rc = 1;
	} else {
		rc = gh_pg_run_tx(db, 0, enroll_tx, &e);
	}
	if (rc < 0) {
		gh_log_error("enrolment", c->request_id, "database: %s %s", gh_pg_sqlstate(db), gh_pg_errmsg(db));
		gh_reply_error(c, strncmp(gh_pg_sqlstate(db), "08", 2) == 0 ? 503 : 500, "Service Unavailable",
		    "The database is unavailable");
		goto out;
	}
	if (e.status == 401 || e.status == 403) {
		audit(db, &e, "-", "refused", 0);
		gh_log_warn("enrolment", c->request_id, "node %s from %s: refused (%d)", e.node, c->client_addr, e.status);
		if (e.status == 401)
			gh_reply_error(c, 401, "Unauthorized", "The enrolment token is unknown, used, revoked or expired");
		else
			gh_reply_error(c, 403, "Forbidden", "The enrolment token is for another role");
		goto out;
	}
	if (e.status == 400) {
		gh_reply_error(c, 400, "Bad Request", e.why);
		goto out;
	}
	gh_log_info("enrolment", c->request_id, "node %s enrolled as %s%s%s from %s", e.node, e.role_out,
	    strcmp(e.env, "-") ? " of " : "", strcmp(e.env, "-") ? e.env : "", c->client_addr);
	reply_enrolled(c, &e);
out:
	json_object_put(e.certs);
	json_object_put(o);
}

/* On a worker: the enrolment; refusals count against the client address. */
static void
enroll_work(struct gh_call *c, struct gh_pg *db)
{
	enroll(c, db);
	if (c->status == 400 || c->status == 401 || c->status == 403 || c->status == 415)
		rl_fail(c->client_addr);
}

/* On the loop: an address past its failures gets 429 before any work. */
static int
enroll_fast(struct gh_call *c)
{
	char ra[16];
	int retry = 0;

	if (!rl_blocked(c->client_addr, &retry))
		return 0;
	snprintf(ra, sizeof(ra), "%d", retry > 0 ? retry : 1);
	gh_reply_header(c, "Retry-After", ra);
	gh_reply_error(c, 429, "Too Many Requests", "Too many failed enrolments from this address; try again later");
	return 1;
}

void
pub_enroll_routes(struct gh_router *r)
{
	gh_call_route_fast(r, "POST", PUB_ENROLL_PATH, enroll_fast, enroll_work);
}

/* ---- the feed port's gate ---- */

static int
gate_open(const struct gh_http_req *req)
{
	return strcmp(req->path, PUB_ENROLL_PATH) == 0 ||
	    (req->has_peer_id && gh_mtls_allowed(&req->peer_id, FEED_ALLOW));
}

/* After the head: enrolment bodies are small; a refused request is answered before its body. */
static void
feed_head(struct gh_http_req *req, void *arg)
{
	(void)arg;
	if (strcmp(req->path, PUB_ENROLL_PATH) == 0)
		req->max_body_bytes = ENROLL_BODY_MAX;
	else if (!gate_open(req))
		req->stream_body = 1;
}

static void
feed_gate(struct gh_http_req *req, void *router)
{
	if (!gate_open(req)) {
		gh_http_respond_error(req, 403, "Forbidden", "A gateway certificate of this deployment is required "
		    "on this port (only " PUB_ENROLL_PATH " is open)");
		return;
	}
	gh_router_dispatch(router, req);
}

struct gh_http_server *
pub_enroll_feed_listen(struct event_base *base, const char *addr, int port, SSL_CTX *ssl, struct gh_router *r)
{
	struct gh_http_server_cfg sc;
	struct gh_http_server *srv;
	char err[256];

	memset(&sc, 0, sizeof(sc));
	gh_http_limits_default(&sc.limits);
	sc.limits.max_header_bytes = (size_t)gh_settings_int(pub.cfg, "http.max_header_bytes");
	sc.limits.max_headers = (size_t)gh_settings_int(pub.cfg, "http.max_headers");
	sc.limits.max_body_bytes = (size_t)gh_settings_int(pub.cfg, "http.max_body_bytes");
	sc.limits.header_timeout_ms = (int)gh_settings_int(pub.cfg, "http.header_timeout");
	sc.limits.idle_timeout_ms = (int)gh_settings_int(pub.cfg, "http.idle_timeout");
	sc.name = "feed";
	sc.ssl = ssl;
	sc.handler = feed_gate;
	sc.head_hook = feed_head;
	sc.arg = r;
	srv = gh_http_server_new(base, &sc);
	if (srv == NULL || gh_http_server_listen(srv, addr, port, err, sizeof(err)) != 0) {
		fprintf(stderr, "gatehouse-publisher: feed port %s:%d: %s\n", addr, port, srv ? err : "out of memory");
		gh_http_server_free(srv);
		return NULL;
	}
	gh_log_info("listening", NULL, "feed and enrolment on %s:%d", addr, gh_http_server_port(srv));
	return srv;
}
