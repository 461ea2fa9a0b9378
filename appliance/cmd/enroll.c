/*
 * gatehouse init --enroll URL --token T: join a deployment.  The node
 * reads the TLS chain of the server unverified and goes on only when it
 * holds the CA that the token (or --ca-fingerprint) pins; the request then
 * goes over TLS verified against that CA alone.  Keys are made here and
 * never leave the node.  Nothing is written until every certificate in
 * the answer checks out; then keys, certificates, the CA and the settings
 * the file lacks are written (the file 0600).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cmd/node.h"
#include "cmd/supervise.h"
#include "core/gh_codec.h"
#include "core/gh_http.h"
#include "core/gh_jose.h"
#include "core/gh_json.h"
#include "core/gh_pki.h"
#include "core/gh_tls.h"

#define ENROLL_PATH "/internal/enroll/v1"
#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_S 15
#define COMPS_MAX 8

struct comp_key {
	const char *name;               /* component: node, publisher, gw-external, ... */
	char *key_pem;                  /* secret: gh_free_secret */
	char *csr_pem;
	char *cert_pem;                 /* from the answer */
};

struct enrol {
	const char *config_path, *url, *token, *role;
	char want_fp[65];
	char node[64];
	char full_url[1200];
	struct gh_settings *cfg;        /* the file's node settings (or the defaults when it is new) */
	int file_exists;
	X509 *ca;                       /* the CA the server presented with the pinned fingerprint */
	struct comp_key comps[COMPS_MAX];
	size_t ncomps;
	struct json_object *answer;
};

/* ---- the configuration file ---- */

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
gh_conf_file_sets(const char *path, const char *name)
{
	char line[4096], section[128] = "", full[300];
	FILE *f = fopen(path, "r");
	int found = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *p = trim(line), *eq;

		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			char *close = strchr(p, ']');
			if (close != NULL) {
				*close = '\0';
				snprintf(section, sizeof(section), "%s", trim(p + 1));
			}
			continue;
		}
		if ((eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		p = trim(p);
		snprintf(full, sizeof(full), "%s%s%s", section, section[0] ? "." : "", p);
		found = strcmp(full, name) == 0;
	}
	fclose(f);
	return found;
}

/* 1 when a value can be written quoted on one line. */
static int
value_writable(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int
gh_conf_file_append(const char *path, const char *comment, const char *const *names,
    const char *const *values, size_t n)
{
	char section[128] = "";
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	FILE *f;
	int ok = 1;

	if (fd < 0 || fchmod(fd, 0600) != 0) {
		fprintf(stderr, "gatehouse init: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	f = fdopen(fd, "a");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	if (comment != NULL)
		ok = fprintf(f, "\n# %s\n", comment) > 0;
	for (size_t i = 0; ok && i < n; i++) {
		const char *dot = strchr(names[i], '.');
		size_t sl = dot ? (size_t)(dot - names[i]) : 0;

		if (dot == NULL || sl >= sizeof(section) || !value_writable(values[i]))
			continue;
		if (strlen(section) != sl || strncmp(section, names[i], sl) != 0) {
			snprintf(section, sizeof(section), "%.*s", (int)sl, names[i]);
			ok = fprintf(f, "[%s]\n", section) > 0;
		}
		ok = ok && fprintf(f, "%s = \"", dot + 1) > 0;
		for (const char *v = values[i]; ok && *v; v++)
			ok = (*v == '"' || *v == '\\' ? fputc('\\', f) != EOF : 1) && fputc(*v, f) != EOF;
		ok = ok && fputs("\"\n", f) != EOF;
	}
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "gatehouse init: cannot append to %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- files ---- */

/* Write text to path with mode (a temporary file renamed over it).  0, or -1 after printing why. */
static int
file_write(const char *path, const char *text, mode_t mode)
{
	char tmp[700];
	size_t len = strlen(text);
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd >= 0) {
		if (write(fd, text, len) == (ssize_t)len && fsync(fd) == 0)
			rc = 0;
		close(fd);
	}
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0) {
		fprintf(stderr, "gatehouse init: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

/* ---- the server's CA ---- */

/* "sha256:AB:CD..." or hex in any case -> 64 lowercase hex digits.  0 or -1. */
static int
fingerprint_normalize(const char *in, char out[65])
{
	size_t n = 0;

	if (strncasecmp(in, "sha256:", 7) == 0)
		in += 7;
	for (; *in; in++) {
		char ch = *in;
		if (ch == ':')
			continue;
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) || n >= 64)
			return -1;
		out[n++] = ch;
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

/* A TCP connection to host:port within CONNECT_TIMEOUT_MS, with I/O timeouts.  fd or -1. */
static int
tcp_connect(const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	char ps[8];
	int fd = -1, e;

	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%d", port);
	if ((e = getaddrinfo(host, ps, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(e));
		return -1;
	}
	snprintf(err, errlen, "cannot connect to %s port %d", host, port);
	for (struct addrinfo *a = ai; a != NULL && fd < 0; a = a->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof(e);
		int fl;

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		e = 0;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (errno != EINPROGRESS || poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1 ||
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0 || e != 0) {
				if (e != 0)
					snprintf(err, errlen, "cannot connect to %s port %d: %s", host, port, strerror(e));
				close(fd);
				fd = -1;
				continue;
			}
		}
		fcntl(fd, F_SETFL, fl);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	freeaddrinfo(ai);
	return fd;
}

/*
 * Read the chain the server at u sends (TLS without verification) and
 * return the CA certificate in it whose fingerprint is want (a new
 * reference), or NULL with err naming what the server presented.
 */
static X509 *
server_ca(const struct gh_httpc_url *u, const char *want, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	STACK_OF(X509) *chain;
	X509 *found = NULL;
	char seen[400] = "";
	int fd = tcp_connect(u->host, u->port, err, errlen);

	if (fd < 0)
		return NULL;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || (!u->host_ip && SSL_set_tlsext_host_name(ssl, u->host) != 1))
		goto out;
	if (SSL_connect(ssl) != 1) {
		snprintf(err, errlen, "TLS handshake with %s port %d failed", u->host, u->port);
		goto out;
	}
	chain = SSL_get_peer_cert_chain(ssl);
	for (int i = 0; chain != NULL && i < sk_X509_num(chain) && found == NULL; i++) {
		X509 *x = sk_X509_value(chain, i);
		char fp[65];

		if (gh_pki_fingerprint_x509(x, fp) != 0)
			continue;
		if (strcmp(fp, want) == 0 && X509_check_ca(x) >= 1 && X509_up_ref(x) == 1)
			found = x;
		else if (strlen(seen) + 80 < sizeof(seen))
			snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s sha256:%s", seen[0] ? "," : "", fp);
	}
	if (found == NULL)
		snprintf(err, errlen, "the server's certificate chain (%s) holds no CA certificate of fingerprint "
		    "sha256:%s", seen[0] ? seen + 1 : "empty", want);
out:
	if (found == NULL && err[0] == '\0')
		snprintf(err, errlen, "TLS with %s port %d failed", u->host, u->port);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
	return found;
}

/* ---- the request ---- */

/* The node's name: node.name when the file sets it, else the host name's first label. */
static void
node_name(struct enrol *e)
{
	char h[256] = "";
	size_t n = 0;

	if (gh_conf_file_sets(e->config_path, "node.name") == 1) {
		snprintf(e->node, sizeof(e->node), "%s", gh_settings_str(e->cfg, "node.name"));
		return;
	}
	gethostname(h, sizeof(h) - 1);
	for (const char *p = h; *p && *p != '.' && n < sizeof(e->node) - 1; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
			e->node[n++] = *p;
	e->node[n] = '\0';
	if (n == 0)
		snprintf(e->node, sizeof(e->node), "node");
}

static int
make_requests(struct enrol *e)
{
	static const char *const every[] = { "node", "publisher", "portal", "keymanager", "trafficmanager",
		"gw-internal", "gw-external" };
	const char *comps[COMPS_MAX][2];
	size_t n;
	char err[256], cn[160];

	if (e->role != NULL) {
		n = gh_pki_role_components(e->role, NULL, comps, COMPS_MAX);
	} else {
		/* the token decides the role: a request for every component, the answer picks */
		n = sizeof(every) / sizeof(every[0]);
		for (size_t i = 0; i < n; i++)
			comps[i][0] = every[i];
	}
	for (size_t i = 0; i < n; i++) {
		struct comp_key *k = &e->comps[e->ncomps];

		k->name = comps[i][0];
		snprintf(cn, sizeof(cn), "%s.%s", k->name, e->node);
		if (gh_pki_csr_make(cn, &k->key_pem, &k->csr_pem, err, sizeof(err)) != 0) {
			fprintf(stderr, "gatehouse init: key for %s: %s\n", k->name, err);
			return -1;
		}
		e->ncomps++;
	}
	return 0;
}

static char *
request_body(struct enrol *e)
{
	struct json_object *o = json_object_new_object(), *csrs = json_object_new_object();
	struct json_object *names = json_object_new_array();
	char *hosts = strdup(gh_settings_str(e->cfg, "node.hostnames")), *save = NULL, *out = NULL;

	if (o == NULL || csrs == NULL || names == NULL || hosts == NULL)
		goto out;
	for (char *h = strtok_r(hosts, ", ", &save); h != NULL; h = strtok_r(NULL, ", ", &save))
		json_object_array_add(names, json_object_new_string(h));
	for (size_t i = 0; i < e->ncomps; i++)
		json_object_object_add(csrs, e->comps[i].name, json_object_new_string(e->comps[i].csr_pem));
	json_object_object_add(o, "token", json_object_new_string(e->token));
	json_object_object_add(o, "node", json_object_new_string(e->node));
	if (e->role != NULL)
		json_object_object_add(o, "role", json_object_new_string(e->role));
	json_object_object_add(o, "hostnames", names);
	json_object_object_add(o, "csrs", csrs);
	names = csrs = NULL;
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(names);
	json_object_put(csrs);
	json_object_put(o);
	free(hosts);
	return out;
}

static int
post_request(struct enrol *e)
{
	struct gh_http_header h[1] = { { "Content-Type", "application/json" } };
	struct gh_httpc_cfg hc = { 0 };
	struct gh_httpc_resp r = { 0 };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char *body = request_body(e);
	const char *why = NULL;
	int rc = -1;

	if (ctx == NULL || body == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), e->ca) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	hc.ssl = ctx;
	hc.connect_timeout_ms = CONNECT_TIMEOUT_MS;
	hc.timeout_ms = IO_TIMEOUT_S * 1000;
	if (gh_httpc_fetch(&hc, "POST", e->full_url, h, 1, body, strlen(body), &r) != 0) {
		fprintf(stderr, "gatehouse init: %s: %s (nothing written)\n", e->full_url, r.errstr ? r.errstr : "failed");
		goto out;
	}
	e->answer = r.body ? gh_json_parse_object(r.body, r.body_len, &why) : NULL;
	if (r.status != 200) {
		const char *d = e->answer ? gh_json_str(e->answer, "description") : NULL;
		fprintf(stderr, "gatehouse init: the server refused the enrolment (%d): %s (nothing written)\n",
		    r.status, d ? d : "no description");
		goto out;
	}
	if (e->answer == NULL) {
		fprintf(stderr, "gatehouse init: the server's answer is not a JSON object (nothing written)\n");
		goto out;
	}
	rc = 0;
out:
	gh_httpc_resp_clear(&r);
	if (body != NULL)
		gh_free_secret(body);
	SSL_CTX_free(ctx);
	return rc;
}

/* ---- the answer ---- */

/* 0 when pem is a certificate of e's CA, for key k, naming component comp.  Else -1 with why. */
static int
cert_check(struct enrol *e, const struct comp_key *k, const char *pem, const char **why)
{
	BIO *b = BIO_new_mem_buf(pem, -1), *kb = BIO_new_mem_buf(k->key_pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	struct gh_peer_id id;
	int rc = -1;

	*why = "does not parse";
	if (x == NULL || key == NULL)
		goto out;
	*why = "is not signed by the pinned CA";
	if (X509_verify(x, X509_get0_pubkey(e->ca)) != 1)
		goto out;
	*why = "is not for the key made here";
	if (X509_check_private_key(x, key) != 1)
		goto out;
	*why = "does not name this component and node";
	if (gh_tls_peer_id_from_cert(x, &id) != 0 || strcmp(id.role, k->name) != 0 || strcmp(id.node, e->node) != 0)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(key);
	X509_free(x);
	BIO_free(b);
	BIO_free(kb);
	ERR_clear_error();
	return rc;
}

static int
answer_check(struct enrol *e, const char **role, const char **env)
{
	struct json_object *certs = NULL;
	const char *ca = gh_json_str(e->answer, "ca"), *why;
	char fp[65];
	size_t n = 0;

	*role = gh_json_str(e->answer, "role");
	*env = gh_json_str(e->answer, "environment");
	if (*role == NULL || (e->role != NULL && strcmp(*role, e->role) != 0)) {
		fprintf(stderr, "gatehouse init: the answer names no role or another one (nothing written)\n");
		return -1;
	}
	if (ca == NULL || gh_pki_fingerprint_pem(ca, fp) != 0 || strcmp(fp, e->want_fp) != 0) {
		fprintf(stderr, "gatehouse init: the answer's CA certificate is not the pinned one (nothing written)\n");
		return -1;
	}
	if (!json_object_object_get_ex(e->answer, "certificates", &certs) ||
	    !json_object_is_type(certs, json_type_object)) {
		fprintf(stderr, "gatehouse init: the answer holds no certificates (nothing written)\n");
		return -1;
	}
	json_object_object_foreach(certs, name, val) {
		struct comp_key *k = NULL;

		for (size_t i = 0; i < e->ncomps; i++)
			if (strcmp(e->comps[i].name, name) == 0)
				k = &e->comps[i];
		if (k == NULL || !json_object_is_type(val, json_type_string)) {
			fprintf(stderr, "gatehouse init: the answer holds a certificate for '%s', not asked for "
			    "(nothing written)\n", name);
			return -1;
		}
		if (cert_check(e, k, json_object_get_string(val), &why) != 0) {
			fprintf(stderr, "gatehouse init: the certificate for %s %s (nothing written)\n", name, why);
			return -1;
		}
		k->cert_pem = strdup(json_object_get_string(val));
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "gatehouse init: the answer holds no certificates (nothing written)\n");
		return -1;
	}
	return 0;
}

/* A gateway's backend-JWT key (gateway/backend_jwt.c reads it; made here so every key is made at init). */
static int
backend_key(const char *dir, const char *zone)
{
	char path[700];
	struct gh_jwk *k;
	char *pem;
	int rc;

	snprintf(path, sizeof(path), "%s/%s-backend-key.pem", dir, zone);
	if (access(path, F_OK) == 0) {
		printf("unchanged backend-JWT key %s\n", path);
		return 0;
	}
	k = gh_jwk_generate(GH_JOSE_ES256, NULL);
	pem = k ? gh_jwk_private_pem(k) : NULL;
	rc = pem != NULL ? file_write(path, pem, 0600) : -1;
	if (rc == 0)
		printf("created   backend-JWT key %s (kid %s; the gateway registers it at start)\n", path,
		    k->kid ? k->kid : "?");
	if (pem != NULL)
		gh_free_secret(pem);
	gh_jwk_free(k);
	return rc;
}

static int
write_all(struct enrol *e, const char *role, const char *env)
{
	const char *dir = gh_settings_str(e->cfg, "node.data_dir");
	char pki[600], path[700], comment[1400];
	const char *names[64], *values[64];
	struct json_object *settings = NULL;
	size_t n = 0;
	time_t now = time(NULL);
	struct tm tm;

	snprintf(pki, sizeof(pki), "%s/pki", dir);
	if (sv_mkdirs(pki, 0700) != 0) {
		fprintf(stderr, "gatehouse init: %s: %s\n", pki, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < e->ncomps; i++) {
		struct comp_key *k = &e->comps[i];

		if (k->cert_pem == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s.key", pki, k->name);
		if (file_write(path, k->key_pem, 0600) != 0)
			return -1;
		snprintf(path, sizeof(path), "%s/%s.crt", pki, k->name);
		if (file_write(path, k->cert_pem, 0644) != 0)
			return -1;
		printf("created   certificate %s (gatehouse://%s/%s/%s)\n", path, k->name,
		    strncmp(k->name, "gw-", 3) == 0 && env ? env : "-", e->node);
	}
	snprintf(path, sizeof(path), "%s/ca.crt", pki);
	if (file_write(path, gh_json_str(e->answer, "ca"), 0644) != 0)
		return -1;
	printf("created   CA certificate %s (sha256 %s)\n", path, e->want_fp);
	if (strcmp(role, "gateway-external") == 0 || strcmp(role, "gateway-internal") == 0)
		if (backend_key(dir, strcmp(role, "gateway-external") == 0 ? "gw-external" : "gw-internal") != 0)
			return -1;
	if (gh_conf_file_sets(e->config_path, "node.role") != 1) {
		names[n] = "node.role";
		values[n++] = role;
	}
	if (gh_conf_file_sets(e->config_path, "node.name") != 1) {
		names[n] = "node.name";
		values[n++] = e->node;
	}
	if (json_object_object_get_ex(e->answer, "settings", &settings) && json_object_is_type(settings, json_type_object)) {
		json_object_object_foreach(settings, name, val) {
			if (n >= 64 || !json_object_is_type(val, json_type_string) || strchr(name, '.') == NULL)
				continue;
			if (gh_conf_file_sets(e->config_path, name) == 1) {
				printf("unchanged %s (the file sets it)\n", name);
				continue;
			}
			names[n] = name;
			values[n++] = json_object_get_string(val);
		}
	}
	gmtime_r(&now, &tm);
	snprintf(comment, sizeof(comment), "written by gatehouse init --enroll %s on %04d-%02d-%02d", e->url,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if (gh_conf_file_append(e->config_path, comment, names, values, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		printf("created   setting %s (in %s, mode 0600)\n", names[i], e->config_path);
	return 0;
}

/* ---- the command ---- */

static int
enrol_setup(struct enrol *e, const char *fp_arg)
{
	char tfp[65], afp[65];
	struct stat st;

	if (gh_enrol_token_parse(e->token, tfp) != 0) {
		fprintf(stderr, "gatehouse init: --token is not an enrolment token (ghe1.FINGERPRINT.SECRET, "
		    "issued by POST /api/am/admin/v4/enrolment-tokens)\n");
		return 2;
	}
	snprintf(e->want_fp, sizeof(e->want_fp), "%s", tfp);
	if (fp_arg != NULL) {
		if (fingerprint_normalize(fp_arg, afp) != 0) {
			fprintf(stderr, "gatehouse init: --ca-fingerprint must be sha256: and 64 hex digits\n");
			return 2;
		}
		if (strcmp(afp, tfp) != 0) {
			fprintf(stderr, "gatehouse init: the token is for the CA sha256:%s but --ca-fingerprint says "
			    "sha256:%s: refusing to enrol (nothing written)\n", tfp, afp);
			return 1;
		}
	}
	e->file_exists = stat(e->config_path, &st) == 0;
	if (e->file_exists) {
		e->cfg = gh_config_load(e->config_path, GH_COMP_NODE);
	} else {
		size_t n;
		const struct gh_setting_def *defs = gh_config_table(GH_COMP_NODE, &n);
		e->cfg = gh_settings_new(defs, n);
	}
	if (e->cfg == NULL)
		return 1;
	if (e->role != NULL && gh_conf_file_sets(e->config_path, "node.role") == 1 &&
	    strcmp(gh_settings_str(e->cfg, "node.role"), e->role) != 0) {
		fprintf(stderr, "gatehouse init: %s says node.role = %s but --role is %s: change one of them\n",
		    e->config_path, gh_settings_str(e->cfg, "node.role"), e->role);
		return 1;
	}
	if (e->role == NULL && gh_conf_file_sets(e->config_path, "node.role") == 1)
		e->role = gh_settings_str(e->cfg, "node.role");
	node_name(e);
	return 0;
}

int
gh_cmd_enroll(const char *config_path, const char *url, const char *token, const char *fp_arg,
    const char *role)
{
	struct enrol e = { 0 };
	struct gh_httpc_url u = { 0 };
	const char *arole = NULL, *aenv = NULL;
	char err[600] = "", pki_ca[700];
	int rc;

	e.config_path = config_path;
	e.url = url;
	e.token = token;
	e.role = role;
	if ((rc = enrol_setup(&e, fp_arg)) != 0)
		goto out;
	rc = 1;
	snprintf(pki_ca, sizeof(pki_ca), "%s/pki/ca.crt", gh_settings_str(e.cfg, "node.data_dir"));
	if (access(pki_ca, F_OK) == 0) {
		printf("gatehouse init: this node is already initialised (%s exists); nothing changed\n", pki_ca);
		rc = 0;
		goto out;
	}
	if (gh_httpc_url_parse(url, &u) != 0 || !u.https) {
		fprintf(stderr, "gatehouse init: --enroll must be the https:// URL of the publisher's feed port "
		    "(https://HOST:9446)\n");
		rc = 2;
		goto out;
	}
	snprintf(e.full_url, sizeof(e.full_url), "%s%s", url,
	    strcmp(u.target, "/") == 0 ? (url[strlen(url) - 1] == '/' ? ENROLL_PATH + 1 : ENROLL_PATH) : "");
	e.ca = server_ca(&u, e.want_fp, err, sizeof(err));
	if (e.ca == NULL) {
		fprintf(stderr, "gatehouse init: refusing to enrol with %s: %s (nothing written)\n", url, err);
		goto out;
	}
	printf("verified  the server's CA (sha256 %s)\n", e.want_fp);
	if (make_requests(&e) != 0 || post_request(&e) != 0 || answer_check(&e, &arole, &aenv) != 0)
		goto out;
	if (write_all(&e, arole, aenv) != 0)
		goto out;
	printf("gatehouse init: enrolled node %s as %s%s%s\n", e.node, arole, aenv ? " of " : "", aenv ? aenv : "");
	rc = 0;
out:
	for (size_t i = 0; i < e.ncomps; i++) {
		if (e.comps[i].key_pem != NULL)
			gh_free_secret(e.comps[i].key_pem);
		free(e.comps[i].csr_pem);
		free(e.comps[i].cert_pem);
	}
	json_object_put(e.answer);
	X509_free(e.ca);
	gh_httpc_url_clear(&u);
	gh_settings_free(e.cfg);
	return rc;
}
