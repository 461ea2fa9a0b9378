/*
 * TLS contexts for servers and clients (OpenSSL 3), and the mutual-TLS
 * identity of Gatehouse components: every component certificate carries
 * a subjectAltName URI gatehouse://ROLE/ENVIRONMENT/NODE (ENVIRONMENT is
 * "-" for components that serve no gateway environment).  Roles:
 * publisher, portal, keymanager, trafficmanager, gw-internal,
 * gw-external, node (the gatehouse command itself).
 */
#ifndef GH_TLS_H
#define GH_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

struct gh_peer_id {
	char role[32];
	char env[64];
	char node[64];
};

/*
 * Server context from PEM files.  client_ca: when not NULL, a client
 * certificate signed by that CA is required (SSL_VERIFY_PEER |
 * FAIL_IF_NO_PEER_CERT); when NULL none is asked.  TLS 1.2 minimum.
 * Returns a new context, or NULL with a message in err.
 */
SSL_CTX *gh_tls_server_ctx(const char *cert_file, const char *key_file,
    const char *client_ca, char *err, size_t errlen);

/*
 * Client context.  ca_file: the CA bundle to verify servers with (NULL:
 * the system store).  cert_file/key_file: the client certificate for
 * mutual TLS (both NULL: none).  Returns NULL with err on failure.
 */
SSL_CTX *gh_tls_client_ctx(const char *ca_file, const char *cert_file,
    const char *key_file, char *err, size_t errlen);

/*
 * Parse the gatehouse:// URI SAN of cert into out.  ROLE, ENV and NODE
 * must be non-empty, of [A-Za-z0-9._-] (so ENV may be "-"), and fit the
 * fields.  0 ok, -1 when there is none, it is malformed, or the
 * certificate carries more than one gatehouse:// URI (out is zeroed).
 */
int gh_tls_peer_id_from_cert(X509 *cert, struct gh_peer_id *out);

/* Identity of the verified peer of ssl (verify result must be OK).  0 ok, -1 otherwise. */
int gh_tls_peer_id(SSL *ssl, struct gh_peer_id *out);

/*
 * Whether id may use an endpoint.  allow is a comma-separated list of
 * ROLE or ROLE/ENV entries (blanks around entries ignored); an ENV of
 * "*" matches every environment and a bare ROLE means the same.  So the
 * list of "gw-internal/" plus "*" and "portal" allows every internal
 * gateway and the portal, "gw-external/dmz" only the DMZ gateways.
 * Matching is exact and case-sensitive.  1 allowed, 0 not (also for a
 * NULL id or list).
 */
int gh_mtls_allowed(const struct gh_peer_id *id, const char *allow);

#endif
