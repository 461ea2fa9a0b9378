/*
 * TLS contexts (OpenSSL 3, TLS 1.2 minimum) for servers and clients, and
 * the mutual-TLS identity of Gatehouse components: the one subjectAltName
 * URI gatehouse://ROLE/ENV/NODE of a verified certificate, and the check
 * of that identity against an endpoint's allow list.  Contexts returned
 * here belong to the caller (SSL_CTX_free); nothing else is allocated.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/gh_tls.h"

#define GH_URI_PREFIX "gatehouse://"

static void
tls_err(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s: %s", what, file ? " " : "", file ? file : "",
		    buf[0] ? buf : "failed");
}

static SSL_CTX *
ctx_base(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		tls_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		tls_err(err, errlen, "TLS 1.2 minimum", NULL);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

static int
load_pair(SSL_CTX *ctx, const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		tls_err(err, errlen, "certificate", cert_file);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, "private key", key_file);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "key does not match certificate", cert_file);
		return -1;
	}
	return 0;
}

SSL_CTX *
gh_tls_server_ctx(const char *cert_file, const char *key_file, const char *client_ca,
    char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "gatehouse";
	SSL_CTX *ctx;

	if (cert_file == NULL || key_file == NULL) {
		snprintf(err, errlen, "a server needs a certificate and a key");
		return NULL;
	}
	if ((ctx = ctx_base(TLS_server_method(), err, errlen)) == NULL)
		return NULL;
	if (load_pair(ctx, cert_file, key_file, err, errlen) < 0)
		goto fail;
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (client_ca != NULL) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			tls_err(err, errlen, "client CA", client_ca);
			goto fail;
		}
		names = SSL_load_client_CA_file(client_ca);
		if (names == NULL) {
			tls_err(err, errlen, "client CA names", client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
gh_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
    char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((cert_file == NULL) != (key_file == NULL)) {
		snprintf(err, errlen, "a client certificate needs both the certificate and the key");
		return NULL;
	}
	if ((ctx = ctx_base(TLS_client_method(), err, errlen)) == NULL)
		return NULL;
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			tls_err(err, errlen, "CA bundle", ca_file);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_err(err, errlen, "system CA store", NULL);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cert_file != NULL && load_pair(ctx, cert_file, key_file, err, errlen) < 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static int
id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '-';
}

/* Copy the part s[0..n) into out[outlen] after checking it.  0 ok, -1 bad. */
static int
id_part(const char *s, size_t n, char *out, size_t outlen)
{
	if (n == 0 || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!id_char_ok(s[i]))
			return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* Parse "gatehouse://ROLE/ENV/NODE" of length n.  0 ok, -1 malformed. */
static int
parse_uri(const char *uri, size_t n, struct gh_peer_id *out)
{
	size_t plen = strlen(GH_URI_PREFIX);
	const char *p, *end = uri + n, *s1, *s2;

	if (n <= plen || memcmp(uri, GH_URI_PREFIX, plen) != 0)
		return -1;
	p = uri + plen;
	s1 = memchr(p, '/', (size_t)(end - p));
	if (s1 == NULL)
		return -1;
	s2 = memchr(s1 + 1, '/', (size_t)(end - s1 - 1));
	if (s2 == NULL)
		return -1;
	if (id_part(p, (size_t)(s1 - p), out->role, sizeof(out->role)) < 0 ||
	    id_part(s1 + 1, (size_t)(s2 - s1 - 1), out->env, sizeof(out->env)) < 0 ||
	    id_part(s2 + 1, (size_t)(end - s2 - 1), out->node, sizeof(out->node)) < 0)
		return -1;
	return 0;
}

int
gh_tls_peer_id_from_cert(X509 *cert, struct gh_peer_id *out)
{
	GENERAL_NAMES *names;
	struct gh_peer_id id;
	int found = 0, bad = 0;

	if (cert == NULL)
		return -1;
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (names == NULL)
		return -1;
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		const char *s;
		size_t n;

		if (gn->type != GEN_URI)
			continue;
		s = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
		n = (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier);
		if (n < strlen(GH_URI_PREFIX) || strncmp(s, GH_URI_PREFIX, strlen(GH_URI_PREFIX)) != 0)
			continue;
		/* A second gatehouse:// identity makes the certificate ambiguous. */
		if (found++ > 0 || parse_uri(s, n, &id) < 0)
			bad = 1;
	}
	GENERAL_NAMES_free(names);
	if (found == 0 || bad) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	*out = id;
	return 0;
}

int
gh_tls_peer_id(SSL *ssl, struct gh_peer_id *out)
{
	X509 *cert;
	int rc;

	if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return -1;
	cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL)
		return -1;
	rc = gh_tls_peer_id_from_cert(cert, out);
	X509_free(cert);
	return rc;
}

/* Whether s[0..n) equals the NUL-terminated word. */
static int
span_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

int
gh_mtls_allowed(const struct gh_peer_id *id, const char *allow)
{
	const char *p = allow;

	if (id == NULL || allow == NULL || id->role[0] == '\0')
		return 0;
	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *e = p, *slash;

		while (n > 0 && (*e == ' ' || *e == '\t')) {
			e++;
			n--;
		}
		while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t'))
			n--;
		slash = memchr(e, '/', n);
		if (slash == NULL) {
			if (n > 0 && span_is(e, n, id->role))
				return 1;
		} else {
			size_t rl = (size_t)(slash - e), el = n - rl - 1;
			if (rl > 0 && span_is(e, rl, id->role) &&
			    (span_is(slash + 1, el, "*") || (el > 0 && span_is(slash + 1, el, id->env))))
				return 1;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}
